// The wasm column of bench/perturbation.sh's speed table: the same cases as
// perturbation_bench --mode speed, through the JS engine (wasm/engine.mjs)
// in node, in the calling thread, 1 thread: sst2-bert on a 50-word text,
// kernel-shap 128 and auto, lime 1000, and input-marginalization (sigma
// 1e-5) when --mlm is given and the module has it. One warm-up, then the
// median of --repeats runs. JSON lines as the native bench.
//
//   node --no-experimental-fetch bench/perturbation_wasm.mjs --model models/sst2-bert \
//       --texts FILE [--mlm models/sst2-bert-mlm] [--dist wasm/dist] [--build wordlight-simd-threads]
//       [--repeats 3] [--out FILE.jsonl] [--cases kernel-shap-128,...]
// --build: which built module of --dist (the pthreads build also runs with 1 thread).
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createEngine } from '../wasm/engine.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const dist = path.resolve(args.dist || 'wasm/dist');
const build = args.build || 'wordlight-simd';
const repeats = Number(args.repeats || 3);
const words = [];
for (const line of readFileSync(args.texts, 'utf8').split('\n'))
  for (const w of line.trim().split(/\s+/)) if (w && words.length < 50) words.push(w);
const text = words.join(' ');

const engine = await createEngine({ build, distUrl: dist });
const model = await engine.load(path.resolve(args.model) + '/', { threads: 1 });
const mlm = args.mlm ? await engine.load(path.resolve(args.mlm) + '/', { threads: 1 }) : null;
const cases = [
  ['kernel-shap-128', 'kernel-shap', { samples: 128 }],
  ['kernel-shap-128-remove', 'kernel-shap', { samples: 128, absent: 'remove' }],
  ['kernel-shap-auto', 'kernel-shap', {}],
  ['lime-1000', 'lime', { samples: 1000 }],
];
const known = JSON.parse(engine.M.methodsJson()).map((m) => m.name);
if (mlm && known.includes('input-marginalization')) cases.push(['input-marginalization', 'input-marginalization', { sigma: 1e-5 }]);
const only = args.cases ? args.cases.split(',') : null;
for (const [label, method, options] of cases) {
  if (only && !only.includes(label)) continue;
  const request = { method, options, ...(method === 'input-marginalization' ? { maskedLm: mlm.id } : {}) };
  const warm = engine.explain(model.id, text, request);
  const secs = [], cpu = [];
  for (let r = 0; r < repeats; ++r) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    engine.explain(model.id, text, request);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    secs.push((performance.now() - t0) / 1000);
  }
  secs.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const line = JSON.stringify({
    bench: 'perturbation', kind: 'speed', impl: 'ours-wasm', model: args.name || 'sst2-bert', case: label, build,
    words: warm.words.length, tokens: warm.tokens.length, evaluations: warm.model_evaluations,
    seconds: Number(secs[Math.floor(secs.length / 2)].toFixed(4)), cpu_seconds: Number(cpu[Math.floor(cpu.length / 2)].toFixed(4)), threads: 1,
  });
  console.log(line);
  if (args.out) appendFileSync(args.out, line + '\n');
}
// The pthreads build's idle workers would keep node running after the last case.
process.exit(0);
