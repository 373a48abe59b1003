// model.predictBatch and model.explainBatch (issue 19: the data-set view's
// Predict all / Explain all in one call) through the JS API in node
// (single-threaded build), on every shipped classifier: each text gets what
// model.predict / model.explain give it alone (padded batches of any size,
// texts sorted by length inside), in order, with string offsets into the
// caller's text (emoji, lone surrogate); a text without tokens gets
// { error } (the message predict/explain alone reject with) and the others
// are still done; progress in texts; abort; type
// errors before the module is asked.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { MODELS, shippedModels } from './wasm_util.mjs';

const ST = { threads: 1 };
const TEXTS = [
  'a gripping, funny and moving film',
  '   ',
  'dull 🎬 “not” <script>alert(1)</script> and a very long sentence that goes on and on about the plot',
  'bad',
  'lone \ud800 surrogate, then good acting',
  'the best film of the year',
  '',
  'it is neither good nor bad , just there !',
];
// What a call on one text gives: its result, or { error } with its message.
const alone = (f) => f().catch((e) => ({ error: e.message }));

afterAll(async () => {
  await wordlight.shutdown();
});

describe.each(shippedModels())('%s', (name) => {
  it('predictBatch gives each text its own prediction, in order, at any batch size', async () => {
    const model = await wordlight.load(path.join(MODELS, name), ST);
    const one = [];
    for (const t of TEXTS) one.push(await alone(() => model.predict(t)));
    for (const batchSize of [1, 3, 16]) {
      const seen = [];
      const got = await model.predictBatch(TEXTS, { batchSize, onProgress: (p) => seen.push(p) });
      expect(got).toHaveLength(TEXTS.length);
      got.forEach((p, i) => {
        if (one[i].error) {
          expect(p.error).toBe(one[i].error);
          return;
        }
        expect(p.error).toBeUndefined();
        expect(p.label).toBe(one[i].label);
        expect(p.num_tokens).toBe(one[i].num_tokens);
        p.logits.forEach((v, c) => expect(Math.abs(v - one[i].logits[c])).toBeLessThan(1e-4 * (1 + Math.abs(v))));
      });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.at(-1)).toEqual({ done: TEXTS.length, total: TEXTS.length });
      for (let k = 1; k < seen.length; ++k) expect(seen[k].done).toBeGreaterThan(seen[k - 1].done);
    }
    await model.dispose();
  });

  it('explainBatch is explain per text, string offsets included', async () => {
    const model = await wordlight.load(path.join(MODELS, name), ST);
    const got = await model.explainBatch(TEXTS, { method: 'gradient-x-input' });
    expect(got).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; ++i) {
      const one = await alone(() => model.explain(TEXTS[i], { method: 'gradient-x-input' }));
      if (one.error) {
        expect(got[i].error).toBe(one.error);
        continue;
      }
      expect(got[i].text).toBe(TEXTS[i]);
      expect(got[i].prediction.label).toBe(one.prediction.label);
      expect(got[i].words.map((w) => [w.text, w.begin, w.end, w.score])).toEqual(one.words.map((w) => [w.text, w.begin, w.end, w.score]));
      // String offsets into the caller's text (a lone surrogate reaches the module as U+FFFD).
      for (const w of got[i].words) expect(TEXTS[i].slice(w.begin, w.end).replace(/[\ud800-\udfff]/gu, '\ufffd')).toBe(w.text);
    }
    await model.dispose();
  });
});

describe('errors and abort', () => {
  it('refuses what is not an array of strings, an unknown method, and stops when aborted', async () => {
    const model = await wordlight.load(path.join(MODELS, shippedModels()[0]), ST);
    await expect(model.predictBatch('a text')).rejects.toThrow(/array of strings/);
    await expect(model.predictBatch(['a', 3])).rejects.toThrow(/texts\[1\] must be a string/);
    await expect(model.predictBatch(['a'], { batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(model.explainBatch(['a'], { method: 'no-such-method' })).rejects.toThrow(/no-such-method/);
    const ac = new AbortController();
    const many = Array.from({ length: 40 }, (_, i) => `film number ${i} is good`);
    const run = model.explainBatch(many, {
      method: 'gradient-x-input',
      signal: ac.signal,
      onProgress: ({ done }) => done >= 2 && ac.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // The model still answers afterwards.
    expect((await model.predictBatch(['good'])).length).toBe(1);
    await model.dispose();
  });
});
