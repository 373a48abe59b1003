// The npm package (issue 16): wasm/ packed with `npm pack` is what a web
// developer installs. The tarball is installed (offline, from the file)
// into two scratch projects in a temporary folder outside the repository:
// a node script that imports 'wordlight' and explains a sentence, and a
// Vite app (import * as wordlight from 'wordlight', the plugin
// 'wordlight/vite') that is built, served and opened in Chromium, where it
// explains a sentence in the package's Web Worker. Both must give the
// scores the repository's own API gives for the same sentence.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repoApi from '../../wasm/wordlight.mjs';
import { ROOT, freePort, launch, missingPrerequisite } from './page_util.mjs';

const missing = missingPrerequisite();
if (missing) console.warn(`e2e: skipped: ${missing}`);

const MODEL = 'sst2-bilstm';
const TEXT = 'a gripping, funny and honest film';
const OPTIONS = { method: 'integrated-gradients', steps: 8, adaptive: false };

let tmp;
let tarball;
let expected;

// npm, offline: the only dependency is the tarball itself.
function npm(args, cwd) {
  return execFileSync('npm', [...args, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

function project(name, files) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const pkg = { name, version: '1.0.0', private: true, type: 'module', dependencies: { wordlight: `file:${tarball}` } };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  npm(['install'], dir);
  return dir;
}

beforeAll(async () => {
  if (missing) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wordlight-npm-'));
  // The prepack script checks that the wasm builds are there (not run
  // with --ignore-scripts, so run the pack with scripts).
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp, '--loglevel=error'], { cwd: path.join(ROOT, 'wasm'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const info = JSON.parse(out)[0];
  tarball = path.join(tmp, info.filename);
  expected = { files: info.files.map((f) => f.path).sort() };
  const model = await repoApi.load(path.join(ROOT, 'models', MODEL), { threads: 1 });
  const e = await model.explain(TEXT, OPTIONS);
  expected.words = e.words.map((w) => [w.text, w.score]);
  expected.label = e.prediction.target_name;
  await model.dispose();
  await repoApi.shutdown();
}, 300_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const close = (got) => {
  expect(got.map(([t]) => t)).toEqual(expected.words.map(([t]) => t));
  got.forEach(([, s], i) => expect(s).toBeCloseTo(expected.words[i][1], 5));
};

describe.skipIf(!!missing)('the npm package', () => {
  it('packs the API, its types, the Vite plugin and both wasm builds, and nothing of the sources', () => {
    for (const f of ['package.json', 'wordlight.mjs', 'engine.mjs', 'sources.mjs', 'worker.js', 'wordlight.d.ts', 'vite.mjs', 'dist/wordlight-simd.wasm', 'dist/wordlight-simd.js', 'dist/wordlight-simd-threads.wasm'])
      expect(expected.files).toContain(f);
    expect(expected.files.some((f) => f.endsWith('.cpp'))).toBe(false);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'wasm/package.json'), 'utf8'));
    expect(pkg.name).toBe('wordlight');
    expect(pkg.private).toBeUndefined();
    expect(pkg.exports['.'].types).toBe('./wordlight.d.ts');
    for (const f of pkg.files) expect(expected.files).toContain(f);
  });

  it('works in a node script after npm install of the tarball', () => {
    const script = `import * as wordlight from 'wordlight';
const model = await wordlight.load(${JSON.stringify(path.join(ROOT, 'models', MODEL))}, { threads: 1 });
const e = await model.explain(${JSON.stringify(TEXT)}, ${JSON.stringify(OPTIONS)});
console.log(JSON.stringify({ label: e.prediction.target_name, words: e.words.map((w) => [w.text, w.score]), methods: (await wordlight.methods()).length }));
await model.dispose();
await wordlight.shutdown();
`;
    // The same use in TypeScript, checked against the package's types.
    const ts = `import * as wordlight from 'wordlight';
import type { Explanation, MethodInfo } from 'wordlight';
import vitePlugin from 'wordlight/vite';
const plugin: { name: string } = vitePlugin();
const model = await wordlight.load('m', { threads: 1 });
const e: Explanation = await model.explain('a film', { method: 'integrated-gradients', steps: 8 });
const top: string = e.words[0].text;
const score: number | null = e.words[0].score;
const methods: MethodInfo[] = await wordlight.methods();
// @ts-expect-error: the text must be a string
await model.predict(42);
export { top, score, methods, plugin };
`;
    const tsconfig = { compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['check.mts'] };
    const dir = project('node-app', { 'explain.mjs': script, 'check.mts': ts, 'tsconfig.json': JSON.stringify(tsconfig) });
    // Installed from the tarball, not linked to the repository.
    expect(fs.lstatSync(path.join(dir, 'node_modules/wordlight')).isSymbolicLink()).toBe(false);
    const got = JSON.parse(execFileSync(process.execPath, ['explain.mjs'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').at(-1));
    expect(got.label).toBe(expected.label);
    expect(got.methods).toBeGreaterThan(5);
    close(got.words);
    // `types` and `exports` resolve for TypeScript (tsc of the repository's devDependencies).
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
    } catch (e) {
      throw new Error(`tsc: ${e.stdout}${e.stderr}`);
    }
  });

  it('works in a Vite app built with the wordlight/vite plugin, in Chromium', async () => {
    const main = `import * as wordlight from 'wordlight';
const out = document.getElementById('out');
try {
  const model = await wordlight.load('./models/${MODEL}/');
  const e = await model.explain(${JSON.stringify(TEXT)}, ${JSON.stringify(OPTIONS)});
  out.textContent = JSON.stringify({ label: e.prediction.target_name, words: e.words.map((w) => [w.text, w.score]), build: model.info.build });
} catch (err) {
  out.textContent = JSON.stringify({ error: String(err && err.message || err) });
}
out.dataset.done = '1';
`;
    const dir = project('vite-app', {
      'index.html': '<!doctype html><meta charset="utf-8"><title>wordlight in a Vite app</title><pre id="out"></pre><script type="module" src="/main.js"></script>\n',
      'main.js': main,
      'vite.config.mjs': "import wordlight from 'wordlight/vite';\nexport default { plugins: [wordlight()], build: { target: 'es2022' }, logLevel: 'error' };\n",
    });
    // The model as the app's own static file (public/ is copied as is).
    const pub = path.join(dir, 'public/models', MODEL);
    fs.mkdirSync(pub, { recursive: true });
    for (const f of fs.readdirSync(path.join(ROOT, 'models', MODEL))) {
      const src = path.join(ROOT, 'models', MODEL, f);
      if (fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(pub, f));
    }
    // Vite of the repository's devDependencies, run on the scratch app.
    const { build, preview } = await import('vite');
    await build({ root: dir, configFile: path.join(dir, 'vite.config.mjs'), logLevel: 'error' });
    const built = fs.readdirSync(path.join(dir, 'dist/wordlight/dist'));
    expect(built).toContain('wordlight-simd.wasm');
    const port = await freePort();
    const server = await preview({ root: dir, configFile: path.join(dir, 'vite.config.mjs'), logLevel: 'error', preview: { port, strictPort: true, host: '127.0.0.1', open: false } });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const errors = [];
      const workers = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('worker', (w) => workers.push(new URL(w.url()).pathname));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => document.getElementById('out')?.dataset.done === '1', null, { timeout: 120_000 });
      const got = JSON.parse(await page.textContent('#out'));
      expect(got.error).toBeUndefined();
      expect(errors).toEqual([]);
      expect(got.label).toBe(expected.label);
      close(got.words);
      // The package's own worker, from where the plugin put it (not a
      // bundled copy), running the single-threaded build (no COOP/COEP here).
      expect(workers).toContain('/wordlight/worker.js');
      expect(got.build).toBe('wordlight-simd');
    } finally {
      await browser.close();
      await new Promise((resolve) => server.httpServer.close(() => resolve()));
    }
  });
});
