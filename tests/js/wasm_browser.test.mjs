// The JS API in a real browser (Debian's chromium driven by playwright-core):
// the module runs in a Web Worker, the page stays responsive, a model loads
// from a URL and from dropped Files, cancelling works with and without
// shared memory, and a cross-origin isolated page gets the pthreads build.
// The numbers must match the same build under node.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { MODELS, ROOT, TEXT, maxAbs, shippedModels, worstRatio } from './wasm_util.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const MODEL = shippedModels().includes('sst2-bilstm') ? 'sst2-bilstm' : shippedModels()[0];

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

// A static server of the repository. isolated: the headers that make a page
// cross-origin isolated (SharedArrayBuffer, so the pthreads build).
function serve(isolated) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const headers = isolated
      ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
      : {};
    if (url.pathname === '/') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>wordlight test</title>');
      return;
    }
    const file = path.join(ROOT, decodeURIComponent(url.pathname));
    if (!file.startsWith(ROOT + path.sep) || !existsSync(file) || !/^\/(wasm|models)\//.test(url.pathname)) {
      res.writeHead(404, headers);
      res.end();
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Content-Length': body.length,
    });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let playwright = null;
try {
  playwright = await import('playwright-core');
} catch {
  playwright = null;
}
const canRun = !!playwright && existsSync(CHROMIUM);

describe.skipIf(!canRun)('in Chromium, in a Web Worker', () => {
  let browser, plain, isolated, reference;

  beforeAll(async () => {
    plain = await serve(false);
    isolated = await serve(true);
    browser = await playwright.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    // The same explanation under node (single-threaded build) to compare.
    const m = await wordlight.load(path.join(MODELS, MODEL), { threads: 1 });
    reference = await m.explain(TEXT, { method: 'integrated-gradients', steps: 16 });
    await m.dispose();
  });
  afterAll(async () => {
    await browser?.close();
    plain?.close();
    isolated?.close();
    await wordlight.shutdown();
  });

  async function open(server) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    // The API as the page would import it (a string: the test file's own
    // imports are rewritten by Vitest).
    await page.addScriptTag({ type: 'module', content: "import * as wl from '/wasm/wordlight.mjs'; window.wl = wl;" });
    await page.waitForFunction(() => !!window.wl);
    return { page, errors };
  }

  function expectSameAsNode(e) {
    const ref = reference.tokens.map((t) => t.score);
    expect(e.tokens.map((t) => t.id)).toEqual(reference.tokens.map((t) => t.id));
    expect(worstRatio(e.prediction.logits, reference.prediction.logits, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    expect(worstRatio(e.tokens.map((t) => t.score), ref, 1e-4, 1e-5 * maxAbs(ref))).toBeLessThanOrEqual(1);
  }

  it('loads from a URL, explains in a worker with progress, the page stays responsive', async () => {
    const { page, errors } = await open(plain);
    const r = await page.evaluate(
      async ({ model, text }) => {
        const wl = window.wl;
        const loadProgress = [];
        const m = await wl.load(`/models/${model}/`, { onProgress: (p) => loadProgress.push(p) });
        const progress = [];
        // A timer on the page keeps ticking while the worker computes.
        let ticks = 0;
        const timer = setInterval(() => ticks++, 5);
        const long = await m.explain(text, { method: 'integrated-gradients', steps: 1024, batchSize: 8, onProgress: (p) => progress.push(p) });
        clearInterval(timer);
        const e = await m.explain(text, { method: 'integrated-gradients', steps: 16 });
        const p = await m.predict(text);
        const out = {
          isolated: self.crossOriginIsolated,
          info: m.info,
          ticks,
          seconds: long.seconds,
          progress,
          loadProgress,
          e,
          p,
          slices: e.words.map((w) => [w.text, text.slice(w.begin, w.end)]),
        };
        await m.dispose();
        return out;
      },
      { model: MODEL, text: TEXT },
    );
    expect(errors).toEqual([]);
    expect(r.isolated).toBe(false);
    expect(r.info.build).toBe('wordlight-simd');
    expect(r.loadProgress.some((p) => p.stage === 'files' && p.file === 'model.safetensors')).toBe(true);
    expect(r.progress.length).toBeGreaterThan(10);
    expect(r.progress.at(-1).done).toBe(r.progress.at(-1).total);
    // A 5 ms timer over a run of r.seconds: far more than a few ticks.
    expect(r.ticks).toBeGreaterThan(Math.min(20, (r.seconds * 1000) / 20));
    expectSameAsNode(r.e);
    for (const [a, b] of r.slices) expect(b).toBe(a);
    expect(r.p.logits).toEqual(r.e.prediction.logits);
  });

  it('cancels without shared memory (the worker restarts) and the model stays usable', async () => {
    const { page, errors } = await open(plain);
    const r = await page.evaluate(
      async ({ model, text }) => {
        const wl = window.wl;
        const m = await wl.load(`/models/${model}/`);
        const ac = new AbortController();
        let error = null;
        const t0 = performance.now();
        let abortedAt = 0;
        try {
          await m.explain(text, {
            method: 'integrated-gradients',
            steps: 4096,
            batchSize: 8,
            signal: ac.signal,
            onProgress: (p) => {
              if (p.done >= 16 && !abortedAt) {
                abortedAt = performance.now();
                ac.abort();
              }
            },
          });
        } catch (e) {
          error = { name: e.name, message: e.message };
        }
        const rejectedAfter = performance.now() - abortedAt;
        const e = await m.explain(text, { method: 'integrated-gradients', steps: 16 });
        await m.dispose();
        return { error, rejectedAfter, total: performance.now() - t0, e };
      },
      { model: MODEL, text: TEXT },
    );
    expect(errors).toEqual([]);
    expect(r.error).toEqual({ name: 'AbortError', message: 'explanation cancelled' });
    expect(r.rejectedAfter).toBeLessThan(100);
    expectSameAsNode(r.e);
  });

  it('a cross-origin isolated page gets the pthreads build; cancel by shared flag', async () => {
    const { page, errors } = await open(isolated);
    const r = await page.evaluate(
      async ({ model, text }) => {
        const wl = window.wl;
        const m = await wl.load(`/models/${model}/`, { threads: 2 });
        const ac = new AbortController();
        let error = null;
        let last = null;
        try {
          await m.explain(text, {
            method: 'integrated-gradients',
            steps: 4096,
            batchSize: 8,
            signal: ac.signal,
            onProgress: (p) => {
              last = p;
              if (p.done >= 16) ac.abort();
            },
          });
        } catch (e) {
          error = { name: e.name, message: e.message };
        }
        const e = await m.explain(text, { method: 'integrated-gradients', steps: 16 });
        const out = { isolated: self.crossOriginIsolated, info: m.info, error, last, e };
        await m.dispose();
        return out;
      },
      { model: MODEL, text: TEXT },
    );
    expect(errors).toEqual([]);
    expect(r.isolated).toBe(true);
    expect(r.info.build).toBe('wordlight-simd-threads');
    expect(r.info.threads).toBe(2);
    expect(r.error).toEqual({ name: 'AbortError', message: 'explanation cancelled' });
    expect(r.last.done).toBeLessThan(r.last.total);
    expectSameAsNode(r.e);
  });

  it('runs on the page itself with { worker: false }', async () => {
    const { page, errors } = await open(plain);
    const r = await page.evaluate(
      async ({ model, text }) => {
        const wl = window.wl;
        const m = await wl.load(`/models/${model}/`, { worker: false, threads: 1 });
        const e = await m.explain(text, { method: 'integrated-gradients', steps: 16 });
        await m.dispose();
        return { e, workers: performance.getEntriesByType('resource').filter((x) => /worker\.js/.test(x.name)).length };
      },
      { model: MODEL, text: TEXT },
    );
    expect(errors).toEqual([]);
    expect(r.workers).toBe(0);
    expectSameAsNode(r.e);
  });

  it('loads dropped Files, and a corrupted one rejects with the message', async () => {
    const { page, errors } = await open(plain);
    const r = await page.evaluate(
      async ({ model, text }) => {
        const wl = window.wl;
        const names = ['config.json', 'model.safetensors', 'vocab.txt'];
        const files = [];
        for (const n of names) files.push(new File([await (await fetch(`/models/${model}/${n}`)).arrayBuffer()], n));
        const m = await wl.load(files, { name: model });
        const e = await m.explain(text, { method: 'integrated-gradients', steps: 16 });
        await m.dispose();
        const broken = files.map((f) => (f.name === 'model.safetensors' ? new File([f.slice(0, 1000)], f.name) : f));
        let error = null;
        try {
          await wl.load(broken);
        } catch (err) {
          error = err.message;
        }
        const methods = await wl.methods();
        return { e, error, methods: methods.map((x) => x.name) };
      },
      { model: MODEL, text: TEXT },
    );
    expect(errors).toEqual([]);
    expectSameAsNode(r.e);
    expect(r.error).toMatch(/model\.safetensors/);
    expect(r.methods).toContain('integrated-gradients');
  });
});
