// The data-set view's top words per class (web/src/dataset.js topWords over
// the JS API's predictions and explanations, as the page computes them in
// the worker) equal the native CLI's evaluation top words
// (`wordlight evaluate --metrics topwords`) on the same rows, model and
// method (issue 19).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { topWords } from '../../web/src/dataset.js';
import { MODELS, NATIVE_CLI } from './wasm_util.mjs';

const CLI = process.env.WORDLIGHT_CLI || NATIVE_CLI;
const ROWS = [
  ['a gripping and funny film', 'positive'],
  ['dull and lifeless', 'negative'],
  ['the worst film of the year', 'negative'],
  ['a moving tribute', 'positive'],
  ['The film is not funny , and the year is long', 'negative'],
  ['funny , moving and gripping', 'positive'],
];

afterAll(async () => {
  await wordlight.shutdown();
});

it("top words per class equal the CLI's evaluation top words", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wl-topwords-'));
  try {
    writeFileSync(path.join(dir, 'd.jsonl'), ROWS.map(([text, label]) => JSON.stringify({ text, label })).join('\n') + '\n');
    const run = spawnSync(CLI, ['evaluate', '--model', path.join(MODELS, 'sst2-bilstm'), '--data', `jsonl:${path.join(dir, 'd.jsonl')}`,
      '--methods', 'gradient-x-input', '--metrics', 'topwords', '--out', path.join(dir, 'out'), '--threads', '1'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const cli = JSON.parse(readFileSync(path.join(dir, 'out/results.json'), 'utf8')).topwords['gradient-x-input'];

    const model = await wordlight.load(path.join(MODELS, 'sst2-bilstm'), { threads: 1 });
    const rows = [];
    for (const [text, label] of ROWS) {
      const pred = await model.predict(text);
      const e = await model.explain(text, { method: 'gradient-x-input' });
      rows.push({ text, label, pred, explanation: { words: e.words.map((w) => ({ text: w.text, score: w.score })) } });
    }
    const ours = topWords(rows, model.info.labels, 10);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(cli).sort());
    expect(Object.values(cli).flat().length).toBeGreaterThan(4);
    for (const cls of Object.keys(cli)) {
      expect(ours[cls].map((x) => x[0])).toEqual(cli[cls].map((x) => x[0]));
      expect(ours[cls].map((x) => x[2])).toEqual(cli[cls].map((x) => x[2]));
      ours[cls].forEach((x, i) => expect(x[1]).toBeCloseTo(cli[cls][i][1], 4));
    }
    await model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
