// Shared by the end-to-end suites: build the page (Vite) into build/e2e/,
// serve it with the preview server (the COOP/COEP headers of
// `./build.sh serve`) on a free port, and drive Debian's chromium with
// playwright-core.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CONFIG = path.join(ROOT, 'web/vite.config.mjs');
export const SHOTS = path.join(ROOT, 'build/e2e');
export const CHROMIUM = process.env.WORDLIGHT_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Why the suite cannot run here, or null.
// Under CI=true a missing prerequisite is a failure, not a skip: build.sh
// installs chromium and builds wasm/dist, so its absence there is a broken setup.
export function missingPrerequisite() {
  let why = null;
  if (!fs.existsSync(CHROMIUM)) why = `${CHROMIUM} is not installed (apt: chromium)`;
  else if (!fs.existsSync(path.join(ROOT, 'wasm/dist/wordlight-simd.wasm'))) why = 'wasm/dist has no build (./build.sh wasm)';
  if (why && process.env.CI === 'true') throw new Error(`e2e prerequisite missing under CI: ${why}`);
  return why;
}

// Builds the page into build/e2e/<suite> (one folder per suite: vitest runs
// the suites at the same time) and starts the preview server on a free
// port -> { url, origin, close() }.
// WORDLIGHT_E2E_URL: drive a page served elsewhere instead (while
// developing: a server already running, no build).
export async function startPage(suite) {
  if (process.env.WORDLIGHT_E2E_URL) {
    const url = process.env.WORDLIGHT_E2E_URL;
    return { url, origin: new URL(url).origin, close: async () => {} };
  }
  const { build, preview } = await import('vite');
  const OUT = path.join(ROOT, 'build/e2e', `web-${suite}`);
  await build({ configFile: CONFIG, logLevel: 'error', build: { outDir: OUT, emptyOutDir: true } });
  const port = await freePort();
  const server = await preview({
    configFile: CONFIG,
    logLevel: 'error',
    build: { outDir: OUT },
    preview: { port, strictPort: true, host: '127.0.0.1', open: false },
  });
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    origin: new URL(url).origin,
    close: () => new Promise((resolve) => server.httpServer.close(() => resolve())),
  };
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// The page of one suite, served, and chromium, for a whole test file: call
// it at the file's top level. -> { missing, server, browser }: `missing` is
// missingPrerequisite()'s answer (then nothing is started: skip the suite on
// it); server ({ url, origin }) and browser are set before the first test
// and closed after the last.
export function servedPage(suite) {
  const env = { missing: missingPrerequisite(), server: null, browser: null };
  if (env.missing) console.warn(`e2e: skipped: ${env.missing}`);
  beforeAll(async () => {
    if (env.missing) return;
    env.server = await startPage(suite);
    env.browser = await launch();
  }, 600_000);
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

// A new page that fails the test on any dialog (alert/confirm/prompt) and
// records console errors and page errors.
// bypassCSP: for a test that injects a script of its own (axe-core), which
// the page's Content-Security-Policy would refuse.
export async function openPage(browser, url, { viewport = { width: 1280, height: 900 }, hash = '', bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, bypassCSP });
  // Generous: the machine may be busy with builds and trainings.
  context.setDefaultTimeout(240_000);
  const page = await context.newPage();
  const log = { dialogs: [], errors: [] };
  page.on('dialog', (d) => {
    log.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => log.errors.push(e.message));
  await page.goto(url + hash);
  return { context, page, log };
}

// Waits until the heatmap shows an explanation of `text` (or of anything
// when text is undefined) -> [{ text, score }].
export async function heatmapWords(page, text, timeout = 240_000) {
  await page.waitForFunction(
    (t) => {
      const words = document.querySelectorAll('#heatmap .w');
      const r = window.wordlightPage?.result;
      return words.length > 0 && r && (t === undefined || r.text === t) && !document.querySelector('#heatmap.stale');
    },
    text,
    { timeout },
  );
  return page.$$eval('#heatmap .w', (els) => els.map((e) => ({ text: e.querySelector('.wt').textContent, score: Number(e.dataset.score) })));
}

export function shot(page, name, opts = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  return page.screenshot({ path: path.join(SHOTS, name), fullPage: true, ...opts });
}
