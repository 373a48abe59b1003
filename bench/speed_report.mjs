#!/usr/bin/env node
// The tables of bench/speed_report.sh (issue 20) from the JSON lines it
// wrote: node bench/speed_report.mjs [DIR (build/bench/speed)].
// Every GFLOP/s figure stands next to its fraction of the ceiling measured
// in the same run: natively the f32x8 FMA bound (OpenBLAS's instruction),
// in wasm the f32x4 mul+add bound (SIMD128 has no FMA); n threads on n
// cores get n times the 1-thread bound.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? 'build/bench/speed';
const read = (name) => {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l));
};
const fmt = (v, d = 2) => (v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));
const pct = (v) => (v === undefined || v === null || !Number.isFinite(v) ? '-' : `${(100 * v).toFixed(0)}%`);
function table(title, header, rows, note) {
  console.log(`\n${title}`);
  const w = header.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c]).length)));
  const line = (r) => r.map((s, c) => (c === 0 ? String(s).padEnd(w[c]) : String(s).padStart(w[c]))).join('  ');
  console.log(line(header));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
  if (note) console.log(note);
}

if (fs.existsSync(path.join(dir, 'header.txt'))) process.stdout.write('\n' + fs.readFileSync(path.join(dir, 'header.txt'), 'utf8'));

// ------------------------------------------------------------------ 1. ceilings and GEMM
const gemm = read('gemm.jsonl');
const relaxed = read('gemm_relaxed.jsonl');
const peak = (rows, platform, metric) => rows.find((r) => r.platform === platform && r.metric === metric)?.value;
const ceil = {
  nativeFma: peak(gemm, 'native', 'fma_peak'),
  nativeMuladd: peak(gemm, 'native', 'muladd_peak'),
  wasm: peak(gemm, 'wasm', 'muladd_peak'),
  relaxed: peak(relaxed, 'wasm', 'relaxed_peak'),
};
const nativeCeil = (threads) => (ceil.nativeFma ?? NaN) * threads;
const wasmCeil = (threads) => (ceil.wasm ?? NaN) * threads;
table('1. Ceilings measured in this run (1 thread; n threads count n times)', ['bound', 'GFLOP/s'], [
  ['native f32x8 FMA (AVX2: the ceiling of OpenBLAS and of our native path)', fmt(ceil.nativeFma)],
  ['native f32x4 mul+add (SSE, for comparison)', fmt(ceil.nativeMuladd)],
  ['wasm f32x4 mul+add (SIMD128: the ceiling of our wasm kernel)', fmt(ceil.wasm)],
  ['wasm f32x4.relaxed_madd (the ceiling of the relaxed-SIMD kernel)', fmt(ceil.relaxed)],
], 'Each bound is measured once, at the start; a fraction over 100% below means the machine was busier then ' +
  'than during that measurement (other work on it): on a shared machine read the ratios, not the fractions.');
const gemmRows = gemm
  .filter((r) => r.metric === 'gflops')
  .map((r) => {
    const c = r.platform === 'native' ? nativeCeil(r.threads) : wasmCeil(r.threads);
    return [r.case, r.impl, r.threads, fmt(r.value, 1), pct(r.value / c)];
  });
table('1. GEMM (C = A B, MxKxN): GFLOP/s and fraction of the ceiling', ['case', 'impl', 'threads', 'GFLOP/s', 'of ceiling'],
  gemmRows, 'ours-wasm: B packed once (linear layers); ours-wasm-unpacked: gemm_fast (attention products, dW).');

// ------------------------------------------------------------------ 2. per-op profile
const prof = read('profile.jsonl');
const KINDS = [
  ['GEMM: linear forward', (o) => o === 'linear.fwd.gemm'],
  ['GEMM: linear backward dX', (o) => o === 'linear.bwd.gemm_dx'],
  ['GEMM: linear backward dW', (o) => o === 'linear.bwd.gemm_dw'],
  ['GEMM: attention per-head products', (o) => /^attention\.(fwd\.(qk|pv)|bwd\.gemm)/.test(o)],
  ['GEMM: packing A / B (wasm)', (o) => o.startsWith('gemm.pack')],
  ['softmax in attention (+ backward)', (o) => /^attention\.(fwd|bwd)\.softmax/.test(o)],
  ['LayerNorm', (o) => o.startsWith('layernorm.')],
  ['GELU', (o) => o.startsWith('gelu')],
  ['bias adds (linear)', (o) => /^linear\..*bias/.test(o)],
  ['residual adds, other element-wise', (o) => o.startsWith('binary.')],
  ['tanh (pooler), embedding, other', () => true],
];
const kindOf = (op) => KINDS.find(([, f]) => f(op))[0];
for (const measure of ['forward', 'ig']) {
  const groups = new Map(); // platform -> {wall, kinds: Map}
  for (const r of prof.filter((p) => p.measure === measure)) {
    const g = groups.get(r.platform) ?? { wall: r.wall_seconds, tokens: r.tokens, gflop: r.model_gflop, kinds: new Map() };
    const k = g.kinds.get(kindOf(r.op)) ?? { s: 0, f: 0 };
    k.s += r.seconds;
    k.f += r.flops;
    g.kinds.set(kindOf(r.op), k);
    groups.set(r.platform, g);
  }
  if (!groups.size) continue;
  const plats = [...groups.keys()];
  const rows = [];
  const ceilOf = (p) => (p === 'native' ? nativeCeil(1) : wasmCeil(1));
  for (const [name] of KINDS) {
    const row = [name];
    for (const p of plats) {
      const k = groups.get(p).kinds.get(name);
      const gf = k && k.f > 0 ? k.f / k.s / 1e9 : undefined;
      row.push(k ? fmt(k.s * 1e3, 1) : '-', k ? pct(k.s / groups.get(p).wall) : '-', gf ? fmt(gf, 1) : '', gf ? pct(gf / ceilOf(p)) : '');
    }
    rows.push(row);
  }
  const outside = ['outside ops (tape, allocation, zeroing, explain)'];
  const total = ['whole call (wall)'];
  for (const p of plats) {
    const g = groups.get(p);
    const inOps = [...g.kinds.values()].reduce((a, k) => a + k.s, 0);
    outside.push(fmt((g.wall - inOps) * 1e3, 1), pct((g.wall - inOps) / g.wall), '', '');
    const gf = g.gflop / g.wall;
    total.push(fmt(g.wall * 1e3, 1), '100%', fmt(gf, 1), pct(gf / ceilOf(p)));
  }
  rows.push(outside, total);
  const header = ['op kind'];
  for (const p of plats) header.push(`${p} ms`, '%', 'GFLOP/s', 'of ceil');
  const tokens = groups.get(plats[0]).tokens;
  table(`2. Per-op profile: one ${measure === 'ig' ? 'IG call (50 points in one batch, + the 3 forwards of explain)' : 'forward (batch 1)'}, ` +
    `${tokens} tokens, 1 thread`, header, rows,
    'ms: exclusive time in the op (wordlight/op_profile.h); GFLOP/s over the time of the products alone.');
  // GEMM detail by shape
  const detail = [];
  for (const p of plats) {
    const es = prof.filter((r) => r.measure === measure && r.platform === p && r.flops > 0).sort((a, b) => b.seconds - a.seconds);
    for (const r of es.slice(0, 8))
      detail.push([p, r.op, `${r.m}x${r.k}x${r.n}`, r.calls, fmt(r.seconds * 1e3, 1), fmt(r.gflops, 1), pct(r.gflops / ceilOf(p))]);
  }
  table(`2. ... the products by shape (${measure}; the largest 8 per platform)`, ['platform', 'op', 'MxKxN', 'calls', 'ms', 'GFLOP/s', 'of ceil'], detail);
}

// ------------------------------------------------------------------ 3. forward vs ORT Web
const ort = read('wasm_vs_ort.jsonl');
if (ort.length)
  table(`3. Forward in wasm against ONNX Runtime Web ${ort[0].ort_version ?? ''} (batch 1, medians)`,
    ['threads', 'T', 'ours ms', 'GFLOP/s', 'of ceil', 'ORT ms', 'GFLOP/s', 'of ceil', 'ours faster by'],
    ort.map((r) => [r.threads, r.T, fmt(r.ours_ms), fmt(r.ours_gflops, 1), pct(r.ours_gflops / wasmCeil(r.threads)),
      fmt(r.ort_ms), fmt(r.ort_gflops, 1), pct(r.ort_gflops / wasmCeil(r.threads)), `${fmt(r.speedup)}x`]),
    'goal: ours >= 1.5x at every length and thread count; each >= 85% of the wasm ceiling.');
else console.log('\n3. Forward against ONNX Runtime Web: not run');

// ------------------------------------------------------------------ 4. IG and forward vs PyTorch
const ex = read('explain.jsonl');
const openblasRate = (threads) => {
  const rs = gemm.filter((r) => r.impl === 'openblas' && r.threads === threads && /^3200x/.test(r.case));
  return rs.length ? rs.reduce((a, r) => a + r.value, 0) / rs.length : NaN;
};
for (const measure of ['ig', 'forward']) {
  const rows = [];
  const keys = [...new Set(ex.filter((r) => r.measure === measure).map((r) => `${r.tokens} ${r.threads}`))];
  for (const key of keys) {
    const [T, th] = key.split(' ').map(Number);
    const get = (impl) => ex.find((r) => r.measure === measure && r.tokens === T && r.threads === th && r.impl === impl);
    const n = get('ours-native'), w = get('ours-wasm'), t = get('torch');
    const row = [T, th];
    for (const [r, c] of [[n, nativeCeil(th)], [w, wasmCeil(th)], [t, nativeCeil(th)]])
      row.push(r ? fmt(r.seconds, 4) : '-', r ? fmt(r.gflops, 1) : '-', r ? pct(r.gflops / c) : '-');
    row.push(n && t ? `${fmt(t.seconds / n.seconds)}x` : '-', w && t ? `${fmt(w.seconds / t.seconds)}x` : '-');
    if (measure === 'ig') row.push(n ? pct(n.gflops / openblasRate(th)) : '-');
    rows.push(row);
  }
  const header = ['tokens', 'threads', 'native s', 'GFLOP/s', 'of ceil', 'wasm s', 'GFLOP/s', 'of ceil', 'torch s',
    'GFLOP/s', 'of ceil', 'torch/native', 'wasm/torch'];
  if (measure === 'ig') header.push('native/OpenBLAS GEMM');
  if (rows.length)
    table(measure === 'ig' ? '4. Integrated Gradients, 50 points in one batch (median seconds per call)' : '4. Forward, batch 1',
      header, rows, measure === 'ig'
        ? 'goals: torch/native >= 1.5, wasm/torch <= 2, native >= 90% of OpenBLAS\'s GEMM rate (its 3200-row shapes here).'
        : undefined);
}

// ------------------------------------------------------------------ 5. Integrated Hessians
const ih = read('ih.jsonl').filter((r) => r.bench === 'integrated_hessians');
if (ih.length) {
  const words = [...new Set(ih.map((r) => r.words))];
  table(`5. Integrated Hessians, 16 Gauss points (adaptive off: the peer's points), ${ih[0].model}, 1 thread (best seconds)`,
    ['words', 'native s', 'wasm s', 'torch double backward s', 'torch/native', 'torch/native CPU s', 'wasm goal'],
    words.map((n) => {
      const nat = ih.find((r) => r.words === n && r.impl === 'wordlight' && r.platform === 'native');
      const was = ih.find((r) => r.words === n && r.impl === 'wordlight' && r.platform === 'wasm');
      const tor = ih.find((r) => r.words === n && r.impl === 'pytorch-double-backward' && r.rule === 'gauss');
      return [n, fmt(nat?.seconds, 3), fmt(was?.seconds, 3), fmt(tor?.seconds, 3),
        nat && tor ? `${fmt(tor.seconds / nat.seconds)}x` : '-',
        nat?.cpu_seconds && tor?.cpu_seconds ? `${fmt(tor.cpu_seconds / nat.cpu_seconds)}x` : '-',
        n <= 16 ? '< 2 s' : '< 8 s'];
    }),
    'goal: torch/native >= 3 at both lengths. The torch line\'s error_vs_128 in ih.jsonl is against our matrix here. ' +
    'CPU s: the best call\'s process CPU time (user + system), steadier than wall time on a shared machine.');
} else console.log('\n5. Integrated Hessians: not run');

// ------------------------------------------------------------------ 6. relaxed SIMD
if (relaxed.length) {
  const rows = relaxed
    .filter((r) => r.metric === 'gflops')
    .map((r) => {
      const s = gemm.find((g) => g.platform === 'wasm' && g.case === r.case && g.impl === r.impl && g.threads === r.threads);
      return [r.case, r.impl, r.threads, fmt(s?.value, 1), pct(s?.value / wasmCeil(r.threads)), fmt(r.value, 1),
        pct(r.value / wasmCeil(r.threads)), pct(r.value / ((ceil.relaxed ?? NaN) * r.threads)), r.fast_path ?? '?',
        s ? `${fmt(r.value / s.value)}x` : '-'];
    });
  table('6. Relaxed SIMD (f32x4.relaxed_madd) against SIMD128, GEMM in wasm',
    ['case', 'impl', 'threads', 'SIMD GFLOP/s', 'of mul+add ceil', 'relaxed GFLOP/s', 'of mul+add ceil',
      'of relaxed_madd ceil', 'kernel', 'relaxed/SIMD'], rows,
    'Same build, node with and without --experimental-wasm-relaxed-simd (Chrome and Edge have relaxed SIMD on by ' +
    'default). Compare the two ceilings of table 1: on Intel cores (2 FMA ports shared by mul and add) the ' +
    'relaxed_madd ceiling is expected near twice the mul+add one; on the AMD EPYC (Zen 3) measured on 2026-12-06 it ' +
    'was 1.23x, and the GEMMs gained 1.26-1.74x.');
} else
  console.log('\n6. Relaxed SIMD: not run');

// The passes with the relaxed kernel (same build, node's flag): IG and the
// forward against the SIMD128 run of table 4 and PyTorch, and the forward
// against ORT Web (ORT runs as it chooses under the same flag).
const exr = read('explain_relaxed.jsonl');
if (exr.length) {
  const rows = [];
  for (const r of exr.filter((x) => x.platform === 'wasm')) {
    const s = ex.find((x) => x.impl === 'ours-wasm' && x.measure === r.measure && x.tokens === r.tokens && x.threads === r.threads);
    const t = ex.find((x) => x.impl === 'torch' && x.measure === r.measure && x.tokens === r.tokens && x.threads === r.threads);
    rows.push([r.measure, r.tokens, r.threads, fmt(r.seconds, 4), fmt(r.gflops, 1), pct(r.gflops / wasmCeil(r.threads)),
      pct(r.gflops / ((ceil.relaxed ?? NaN) * r.threads)), s ? `${fmt(s.seconds / r.seconds)}x` : '-',
      t ? `${fmt(r.seconds / t.seconds)}x` : '-']);
  }
  table('6. IG (50 points, one batch) and the forward in wasm with the relaxed kernel',
    ['measure', 'tokens', 'threads', 'wasm s', 'GFLOP/s', 'of mul+add ceil', 'of relaxed_madd ceil', 'SIMD128/relaxed',
      'relaxed/torch'], rows, 'goal (IG): wasm/torch <= 2.');
}
const ortr = read('wasm_vs_ort_relaxed.jsonl');
if (ortr.length)
  table('6. Forward in wasm against ONNX Runtime Web with the relaxed kernel (batch 1, medians)',
    ['threads', 'T', 'ours ms', 'GFLOP/s', 'of mul+add ceil', 'ORT ms', 'GFLOP/s', 'ours faster by'],
    ortr.map((r) => [r.threads, r.T, fmt(r.ours_ms), fmt(r.ours_gflops, 1), pct(r.ours_gflops / wasmCeil(r.threads)),
      fmt(r.ort_ms), fmt(r.ort_gflops, 1), `${fmt(r.speedup)}x`]),
    'goal: ours >= 1.5x at every length and thread count.');

// ------------------------------------------------------------------ 7. memory
const mem = read('memory.jsonl');
if (mem.length)
  table(`7. Peak memory of IG-50 (one batch of 50 points) at ${mem[0].case.split(' t')[1]} tokens, 1 thread`,
    ['impl', 'peak MB', 'before the call MB', 'added by the call MB', 'what'],
    mem.map((r) => [r.impl, fmt(r.value, 1), fmt(r.before_mb, 1), fmt(r.added_mb, 1), r.what]),
    'goal: no more than PyTorch\'s. Native and torch: the process\'s resident high-water mark; wasm: linear memory.');

// ------------------------------------------------------------------ 8. converged IG vs Captum
const conv = read('converged.jsonl');
const convSum = conv.filter((r) => r.bench === 'converged-summary');
if (convSum.length) {
  const per = conv.filter((r) => r.bench === 'converged');
  const v = convSum[0].variant;
  table('8. Converged IG (registry defaults: adaptive, tolerance 1%) against Captum\'s default IntegratedGradients ' +
    '(50 Gauss-Legendre points, one batch), natively; ratio = Captum s / ours s',
    ['set', 'threads', 'sentences', 'tokens', 'our steps', 'median', 'geomean', 'worst', 'CPU-time geomean',
      ...(v ? [`${v}: steps`, 'median', 'geomean', 'worst'] : [])],
    convSum.map((s) => [s.set, s.threads, s.n, s.tokens.join('-'), s.steps.join('/'), `${fmt(s.median_ratio)}x`,
      `${fmt(s.geomean_ratio)}x`, `${fmt(s.worst_ratio)}x`, `${fmt(s.cpu_geomean_ratio)}x`,
      ...(v ? [s.variant_steps.join('/'), `${fmt(s.variant_median_ratio)}x`, `${fmt(s.variant_geomean_ratio)}x`,
        `${fmt(s.variant_worst_ratio)}x`] : [])]),
    'goal: ours >= 2x faster. Completeness gap above 1% (first thread count): ' +
    (() => {
      const t = per.length ? per[0].threads : 0;
      const first = per.filter((r) => r.threads === t);
      const count = (k) => first.filter((r) => r[k] > 0.01).length;
      const max = (k) => Math.max(...first.map((r) => r[k]));
      return `ours ${count('gap')} of ${first.length} (largest ${pct(max('gap'))}); Captum's default with our ` +
        `[UNK] baseline ${count('captum_gap')} (largest ${fmt(100 * max('captum_gap'), 4)}%); Captum's defaults ` +
        `with its zero baseline ${count('captum_gap_zero')} (largest ${fmt(100 * max('captum_gap_zero'), 2)}%)` +
        (v ? `; ${v}: ${count('variant_gap')}` : '') + '. Per sentence: bench/converged_captum.py prints them.';
    })());
}
