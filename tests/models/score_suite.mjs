// Scores a model on a suite of minimal pairs (negation_suite.jsonl) from
// the per-example predictions of `wordlight evaluate --predictions`:
//   node score_suite.mjs SUITE.jsonl PREDICTIONS.jsonl
// prints one line of `key=value`: accuracy (every sentence), pairs (the
// fraction of pairs with both sentences right), then the accuracy of each
// phenomenon (negation, contrast, intensifier, in the suite's order), and n.
// Fractions with 6 decimals, as the cards write them.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

export function readJsonl(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not JSON (${e.message})`);
      }
    });
}

// suite: [{text, label, pair, phenomenon}], preds: [{index, label, predicted, correct} | {index, left_out}]
export function scoreSuite(suite, preds) {
  if (preds.length !== suite.length) throw new Error(`${preds.length} predictions for ${suite.length} suite sentences`);
  const pairs = new Map();
  const phen = new Map();
  let right = 0;
  suite.forEach((s, i) => {
    const p = preds[i];
    if (p.index !== i || p.left_out) throw new Error(`suite sentence ${i + 1} has no prediction`);
    if (p.label !== s.label) throw new Error(`prediction ${i + 1} is for label ${p.label}, the suite says ${s.label}`);
    const ok = p.predicted === s.label;
    right += ok;
    if (!pairs.has(s.pair)) pairs.set(s.pair, []);
    pairs.get(s.pair).push(ok);
    if (!phen.has(s.phenomenon)) phen.set(s.phenomenon, [0, 0]);
    const c = phen.get(s.phenomenon);
    c[0] += ok;
    c[1] += 1;
  });
  for (const [id, oks] of pairs) if (oks.length !== 2) throw new Error(`pair ${id} has ${oks.length} sentences, not 2`);
  const out = { accuracy: right / suite.length, pairs: [...pairs.values()].filter((o) => o[0] && o[1]).length / pairs.size };
  for (const [name, [r, n]] of phen) out[name] = r / n;
  out.n = suite.length;
  return out;
}

export const formatScores = (s) =>
  Object.entries(s)
    .map(([k, v]) => `${k}=${k === 'n' ? v : v.toFixed(6)}`)
    .join(' ');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [suiteFile, predFile] = process.argv.slice(2);
  if (!suiteFile || !predFile) {
    console.error('usage: node score_suite.mjs SUITE.jsonl PREDICTIONS.jsonl');
    process.exit(2);
  }
  console.log(formatScores(scoreSuite(readJsonl(suiteFile), readJsonl(predFile))));
}
