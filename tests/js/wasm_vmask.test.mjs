// VMASK through the JS API (issue 18): the shipped CNN trained with the word
// mask (models/sst2-cnn-vmask) carries the part 'vmask', and the vmask
// method gives each word its keep probability; its plain twin
// (models/sst2-cnn, the same CNN without the mask) is offered the method
// with the reason it does not apply, which the page's picker shows.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { MODELS, shippedModels } from './wasm_util.mjs';

const ST = { threads: 1 };
const models = shippedModels();
const byName = (list, name) => list.find((m) => m.name === name);
const TEXT = 'a gripping , funny film that is never dull';

afterAll(async () => {
  await wordlight.shutdown();
});

describe.runIf(models.includes('sst2-cnn-vmask'))('the VMASK CNN', () => {
  it('explains with its keep probabilities: unsigned, in (0, 1], the same for every class', async () => {
    const model = await wordlight.load(path.join(MODELS, 'sst2-cnn-vmask'), ST);
    try {
      expect(model.info.parts).toContain('vmask');
      const vm = byName(await model.methods(), 'vmask');
      expect(vm.applicable, vm.why).toBe(true);
      expect(vm.requires_part).toBe('vmask');
      const e = await model.explain(TEXT, { method: 'vmask' });
      expect(e.scores).toBe('unsigned');
      expect(e.words.map((w) => w.text)).toEqual(TEXT.split(' '));
      for (const w of e.words) expect(w.score > 0 && w.score <= 1, `${w.text} ${w.score}`).toBe(true);
      // The words that carry the sentiment are kept more than the function words.
      const score = (t) => e.words.find((w) => w.text === t).score;
      expect(Math.min(score('gripping'), score('funny'), score('dull'))).toBeGreaterThan(Math.max(score('a'), score(',')));
      expect(e.checks.map((c) => c.name)).toEqual(['hard-mask-change']);
      const other = await model.explain(TEXT, { method: 'vmask', target: 1 - e.prediction.target });
      expect(other.words.map((w) => w.score)).toEqual(e.words.map((w) => w.score));
      // Every other method sees the mask as part of the model's forward.
      const g = await model.explain(TEXT, { method: 'gradient-x-input' });
      expect(g.prediction.logits).toEqual(e.prediction.logits);
    } finally {
      await model.dispose();
    }
  });
});

describe.runIf(models.includes('sst2-cnn'))('the plain CNN', () => {
  it('is offered vmask with the reason it does not apply, and refuses it', async () => {
    const model = await wordlight.load(path.join(MODELS, 'sst2-cnn'), ST);
    try {
      expect(model.info.parts).toEqual([]);
      const vm = byName(await model.methods(), 'vmask');
      expect(vm.applicable).toBe(false);
      expect(vm.why).toMatch(/VMASK/);
      await expect(model.explain(TEXT, { method: 'vmask' })).rejects.toThrow(/vmask/);
    } finally {
      await model.dispose();
    }
  });
});
