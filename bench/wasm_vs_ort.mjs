// Our wasm forward pass against ONNX Runtime Web's (npm onnxruntime-web,
// wasm backend, SIMD) on the same BERT weights, in node, side by side:
// sequence lengths 16, 64, 128 (batch 1), 1 and 2 threads. Also the time to
// load the model (files read, weights converted and packed).
//
//   node bench/wasm_vs_ort.mjs [--model DIR] [--lengths 16,64,128] [--threads 1,2] [--seconds 2]
//
// DIR defaults to models/sst2-bert; while that is not shipped, a stand-in
// with the same config (models/recipes/sst2-bert.json) and random weights
// is made with `wordlight init` under build/bench/cache/ (same shapes, so
// the same work). The ONNX file is written there too, by
// bench/bert_to_onnx.py (Debian's python3-torch and python3-onnx). Needs
// ./build.sh native and ./build.sh wasm first. Prints a table; JSON lines
// go to build/bench/wasm_vs_ort.jsonl (--out FILE elsewhere).
//
// onnxruntime-web: from ORT_WEB_DIR when set (a folder whose node_modules
// holds it: bench/speed_report.sh installs a pinned version into
// build/bench/npm-ort), else the repository's node_modules. Each row says
// which version ran (ort_version).
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, 'build/bench/cache');
const OUT = path.resolve(arg('out', path.join(ROOT, 'build/bench/wasm_vs_ort.jsonl')));

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : def;
}

// ------------------------------------------------------------------ setup
function standIn() {
  const dir = path.join(CACHE, 'sst2-bert-random');
  if (existsSync(path.join(dir, 'model.safetensors'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  mkdirSync(path.join(CACHE, 'bert-vocab-8000'), { recursive: true });
  const vocab = path.join(CACHE, 'bert-vocab-8000', 'vocab.txt'); // init counts a vocab.txt's lines
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (let i = words.length; i < 8000; ++i) words.push('w' + i);
  writeFileSync(vocab, words.join('\n') + '\n');
  execFileSync(path.join(ROOT, 'build/native/wordlight'), [
    'init', '--config', path.join(ROOT, 'models/recipes/sst2-bert.json'), '--vocab', vocab, '--out', dir, '--seed', '1',
  ], { stdio: 'inherit' });
  return dir;
}

function onnxFor(dir) {
  const onnx = path.join(CACHE, path.basename(dir) + '.onnx');
  const st = path.join(dir, 'model.safetensors');
  if (!existsSync(onnx) || statSync(onnx).mtimeMs < statSync(st).mtimeMs) {
    mkdirSync(CACHE, { recursive: true });
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench/bert_to_onnx.py'), dir, onnx], { stdio: 'inherit' });
  }
  return onnx;
}

// Multiply-adds x 2 of one forward pass of batch 1, T tokens.
function flops(cfg, T) {
  const C = cfg.hidden_size, F = cfg.intermediate_size, L = cfg.num_hidden_layers;
  return L * (8 * T * C * C + 4 * T * T * C + 4 * T * C * F) + 2 * C * C + 2 * C * cfg.num_labels;
}

async function timeIt(fn, seconds) {
  for (let i = 0; i < 3; ++i) await fn();
  const t = [];
  const end = performance.now() + seconds * 1000;
  while (t.length < 5 || (performance.now() < end && t.length < 200)) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { median: t[t.length >> 1], runs: t.length };
}

// ------------------------------------------------------------------ one thread count (a child process: ORT reads numThreads once)
// onnxruntime-web's entry for node and its version: from ORT_WEB_DIR, else as node resolves it from here.
function ortEntry() {
  const base = process.env.ORT_WEB_DIR ? path.resolve(process.env.ORT_WEB_DIR, 'package.json') : import.meta.url;
  const req = createRequire(base);
  const main = req.resolve('onnxruntime-web');
  let dir = path.dirname(main);
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return { url: pathToFileURL(main).href, version: JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version };
}

async function measure(dir, onnx, threads, lengths, seconds) {
  const wordlight = await import('../wasm/wordlight.mjs');
  const entry = ortEntry();
  const ortModule = await import(entry.url);
  const ort = ortModule.default ?? ortModule;
  const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));

  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  const sess = await ort.InferenceSession.create(readFileSync(onnx), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });

  // Load time: the second load (the module itself is already compiled).
  await (await wordlight.load(dir, { threads })).dispose();
  const t0 = performance.now();
  const model = await wordlight.load(dir, { threads });
  const loadMs = performance.now() - t0;

  const rows = [];
  for (const T of lengths) {
    const ids = new Int32Array(T);
    ids[0] = 2;
    for (let i = 1; i < T - 1; ++i) ids[i] = 5 + ((i * 7919) % (cfg.vocab_size - 5));
    ids[T - 1] = 3;
    const mask = new Uint8Array(T).fill(1);
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, T]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
    };
    // The same model: the logits agree.
    const ours = (await model.forward({ ids, mask, batch: 1, length: T })).logits;
    const theirs = (await sess.run(feeds)).logits.data;
    let diff = 0;
    for (let i = 0; i < ours.length; ++i) diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
    const a = await timeIt(() => model.forward({ ids, mask, batch: 1, length: T }), seconds);
    const b = await timeIt(() => sess.run(feeds), seconds);
    const f = flops(cfg, T);
    rows.push({
      bench: 'wasm_vs_ort', model: path.basename(dir), threads, build: model.info.build, T,
      ours_ms: a.median, ort_ms: b.median, ours_gflops: f / a.median / 1e6, ort_gflops: f / b.median / 1e6,
      speedup: b.median / a.median, max_logit_diff: diff, load_ms: loadMs, runs: [a.runs, b.runs],
      ort_version: entry.version,
    });
  }
  await model.dispose();
  await wordlight.shutdown();
  await sess.release();
  process.stdout.write(JSON.stringify(rows) + '\n');
}

// ------------------------------------------------------------------ main
const lengths = arg('lengths', '16,64,128').split(',').map(Number);
const seconds = Number(arg('seconds', '2'));
if (process.argv.includes('--child')) {
  await measure(arg('model'), arg('onnx'), Number(arg('threads')), lengths, seconds);
} else {
  let dir = arg('model', path.join(ROOT, 'models/sst2-bert'));
  if (!existsSync(path.join(dir, 'model.safetensors'))) {
    console.error(`${dir} is not there: using a stand-in with its config and random weights`);
    dir = standIn();
  }
  const onnx = onnxFor(dir);
  const all = [];
  for (const threads of arg('threads', '1,2').split(',').map(Number)) {
    // execArgv: node's flags reach the child (--experimental-wasm-relaxed-simd: our relaxed kernel).
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--model', dir, '--onnx', onnx,
      '--threads', String(threads), '--lengths', lengths.join(','), '--seconds', String(seconds)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      process.exit(1);
    }
    all.push(...JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  mkdirSync(path.dirname(OUT), { recursive: true });
  rmSync(OUT, { force: true });
  for (const row of all) appendFileSync(OUT, JSON.stringify(row) + '\n');
  console.log(`model ${path.basename(dir)}; batch 1; medians; load = wordlight.load() of the model directory; ` +
    `onnxruntime-web ${all[0]?.ort_version}`);
  console.log('threads  T    ours ms  GFLOP/s   ORT ms  GFLOP/s  ours/ORT speed  max |logit diff|  load ms');
  for (const r of all)
    console.log(
      `${String(r.threads).padStart(7)} ${String(r.T).padStart(4)} ${r.ours_ms.toFixed(2).padStart(9)} ${r.ours_gflops.toFixed(1).padStart(8)}` +
        ` ${r.ort_ms.toFixed(2).padStart(8)} ${r.ort_gflops.toFixed(1).padStart(8)} ${r.speedup.toFixed(2).padStart(14)}x` +
        ` ${r.max_logit_diff.toExponential(1).padStart(17)} ${r.load_ms.toFixed(0).padStart(8)}`,
    );
}
