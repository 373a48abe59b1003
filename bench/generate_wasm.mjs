// Generation in wasm under node (issue 21): ms per generated token of
// model.generate through the JS API (wasm/wordlight.mjs, in the calling
// thread, 1 thread), greedy, --new tokens (default 20, EOS ignored), without
// an explanation and with each of --methods explaining every generated
// token's log-probability over every earlier token (the methods' defaults:
// integrated-gradients is adaptive, its steps grow until each row's
// completeness gap is small). One warm-up, then the median of --repeats runs.
// The one-backward methods (gradient, saliency, gradient-x-input, lrp) batch
// the rows of the explanation (rows = target positions); each is also run
// with batchRows: false (one backward per generated token, "naive"), and the
// table says how many backward passes each took.
// Prints a table and, with --out, JSON lines.
//
//   node --no-experimental-fetch bench/generate_wasm.mjs [--model models/gpt2-small]
//       [--prompt TEXT] [--new 20] [--methods gradient-x-input,integrated-gradients,lrp]
//       [--build wordlight-simd] [--repeats 3] [--out FILE.jsonl]
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import * as wordlight from '../wasm/wordlight.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const modelDir = path.resolve(args.model || 'models/gpt2-small');
const prompt = args.prompt || 'The movie was one of the best films of the year, and the acting';
const maxNewTokens = Number(args.new || 20);
const methods = (args.methods || 'gradient-x-input,integrated-gradients,lrp').split(',').filter(Boolean);
const repeats = Number(args.repeats || 3);
const opts = { threads: 1, ...(args.build ? { build: args.build } : {}) };

const model = await wordlight.load(modelDir, opts);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
const BATCHED = new Set(['gradient', 'saliency', 'gradient-x-input', 'lrp']);
const runs = [null, ...methods.flatMap((m) => (BATCHED.has(m) ? [{ m, batchRows: true }, { m, batchRows: false }] : [{ m }]))];
for (const run of runs) {
  const method = run?.m ?? null;
  const explain = method ? { method, ...(run.batchRows === false ? { batchRows: false } : {}) } : null;
  const options = { maxNewTokens, ignoreEos: true, ...(explain ? { explain } : {}) };
  let g = await model.generate(prompt, options); // warm-up
  const ms = [];
  for (let r = 0; r < repeats; ++r) {
    const t0 = performance.now();
    g = await model.generate(prompt, options);
    ms.push(performance.now() - t0);
  }
  const n = g.tokens.length;
  const m = median(ms);
  const row = {
    bench: 'generate-wasm',
    model: path.basename(modelDir),
    build: model.info.build,
    threads: model.info.threads,
    prompt_tokens: g.prompt_tokens.length,
    new_tokens: n,
    explain: method ? `${method}${run.batchRows === false ? ' (naive)' : ''}` : 'none',
    ms_total: +m.toFixed(1),
    ms_per_token: +(m / n).toFixed(2),
    repeats,
  };
  if (method) {
    const e = g.explanation;
    row.targets = e.targets.length;
    const gaps = e.check_relative.filter((v) => v !== null && Number.isFinite(v));
    if (gaps.length) row.max_check_relative = Math.max(...gaps);
    row.check = e.check[0];
    if (e.options?.steps !== undefined) row.steps = e.options.steps;
    row.backward_passes = e.backward_passes;
  }
  rows.push(row);
  if (args.out) appendFileSync(args.out, JSON.stringify(row) + '\n');
}
await model.dispose();
await wordlight.shutdown();

const base = rows[0].ms_per_token;
console.log(`model.generate, ${rows[0].model}, ${rows[0].build}, ${rows[0].threads} thread, ` +
  `${rows[0].prompt_tokens} prompt tokens (BOS included), ${maxNewTokens} new tokens, median of ${repeats}`);
console.log('explain                          ms/token   x no-explain   ms total   backwards');
for (const r of rows)
  console.log(`${r.explain.padEnd(31)} ${String(r.ms_per_token).padStart(9)} ${(r.ms_per_token / base).toFixed(1).padStart(14)} ${String(r.ms_total).padStart(10)} ${String(r.backward_passes || '').padStart(11)}` +
    (r.max_check_relative !== undefined ? `   (largest row ${r.check}, relative: ${r.max_check_relative.toExponential(2)})` : ''));
