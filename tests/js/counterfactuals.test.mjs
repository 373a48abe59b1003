// model.counterfactuals (issue 19) through the JS API in node (single-threaded
// build): the generator table, every generator on every shipped classifier
// (small searches), each counterfactual really flipping model.predict, its
// edits pointing at the words they name in both texts (string offsets),
// locked words never edited nor considered, minimal sets, progress, abort
// and errors.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { MODELS, shippedMaskedLMs, shippedModels } from './wasm_util.mjs';

const ST = { threads: 1 };
const TEXT = 'a gripping, funny and moving film — “not” dull 🎬';
const SMALL = {
  hotflip: { positions: 4, maxFlips: 2 },
  'ablation-flip': { positions: 4, maxDeletions: 2 },
  'mlm-edits': { positions: 2, fills: 3, maxEvaluations: 12 },
};
let mlm;

beforeAll(async () => {
  const lms = shippedMaskedLMs();
  expect(lms.length).toBeGreaterThan(0);
  mlm = await wordlight.load(path.join(MODELS, lms[0]), ST);
});
afterAll(async () => {
  await wordlight.shutdown();
});

function expectSound(text, r, label, locked = []) {
  const sets = [];
  for (const c of r.counterfactuals) {
    expect(c.prediction.label).not.toBe(label);
    for (const e of c.edits) {
      expect(text.slice(e.begin, e.end)).toBe(e.original);
      expect(c.text.slice(e.new_begin, e.new_end)).toBe(e.replacement);
      expect(e.deleted).toBe(e.replacement === '');
      expect(locked).not.toContain(e.word);
    }
    sets.push(new Set(c.edits.map((e) => e.word)));
  }
  for (const a of sets)
    for (const b of sets) if (a.size < b.size) expect([...a].every((w) => b.has(w))).toBe(false);
}

describe('the generator table', () => {
  it('lists the three generators with typed options', async () => {
    const gens = await wordlight.generators(ST);
    expect(gens.map((g) => g.name)).toEqual(['hotflip', 'ablation-flip', 'mlm-edits']);
    for (const g of gens) {
      expect(g.title.length).toBeGreaterThan(0);
      expect(g.cost.length).toBeGreaterThan(0);
      for (const o of g.options) if (o.type === 'integer') expect(o.min).toBeLessThanOrEqual(o.default);
    }
    expect(gens.find((g) => g.name === 'mlm-edits').needs_mlm).toBe(true);
    expect(gens.find((g) => g.name === 'hotflip').options.find((o) => o.name === 'positions').default).toBe(10);
  });
});

describe.each(shippedModels())('counterfactuals on %s', (name) => {
  let model, pred;
  beforeAll(async () => {
    model = await wordlight.load(path.join(MODELS, name), ST);
    pred = await model.predict(TEXT);
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it.each(Object.keys(SMALL))('%s: every counterfactual flips model.predict and its edits are where they say', async (gen) => {
    const progress = [];
    const r = await model.counterfactuals(TEXT, {
      generator: gen,
      ...SMALL[gen],
      maskedLm: gen === 'mlm-edits' ? mlm : undefined,
      onProgress: (p) => progress.push(p),
    });
    expect(r.generator).toBe(gen);
    expect(r.text).toBe(TEXT);
    expect(r.prediction.label).toBe(pred.label);
    for (const w of r.words) expect(TEXT.slice(w.begin, w.end)).toBe(w.text);
    expectSound(TEXT, r, pred.label);
    for (const c of r.counterfactuals) expect((await model.predict(c.text)).label).toBe(c.prediction.label);
    expect(r.texts_tried).toBeLessThanOrEqual(r.search_size);
    expect(r.model_evaluations).toBeGreaterThan(r.texts_tried);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1).done).toBe(r.model_evaluations);
    if (gen === 'mlm-edits') {
      expect(r.mlm_evaluations).toBeGreaterThan(0);
      expect(r.candidates.length).toBe(r.positions.length);
      for (const c of r.counterfactuals)
        for (const e of c.edits) expect(r.candidates[r.positions.indexOf(e.word)]).toContain(e.replacement);
    }
  });

  it('locked words are neither considered nor edited', async () => {
    const first = await model.counterfactuals(TEXT, { generator: 'ablation-flip', ...SMALL['ablation-flip'] });
    const locked = first.positions.slice(0, 2);
    const r = await model.counterfactuals(TEXT, { generator: 'ablation-flip', ...SMALL['ablation-flip'], locked });
    expect(r.locked).toEqual([...locked].sort((a, b) => a - b));
    for (const w of locked) expect(r.positions).not.toContain(w);
    expectSound(TEXT, r, pred.label, locked);
  });
});

describe('errors and abort', () => {
  let model;
  beforeAll(async () => {
    model = await wordlight.load(path.join(MODELS, shippedModels()[0]), ST);
  });

  it('rejects what it cannot do, saying why', async () => {
    await expect(model.counterfactuals(TEXT, { generator: 'hotflop' })).rejects.toThrow(/unknown counterfactual generator 'hotflop'/);
    await expect(model.counterfactuals(TEXT, { generator: 'mlm-edits' })).rejects.toThrow(/needs a masked language model/);
    await expect(model.counterfactuals(TEXT, { positions: 0 })).rejects.toThrow(/out of range/);
    await expect(model.counterfactuals(TEXT, { locked: 'a' })).rejects.toThrow(TypeError);
    await expect(model.counterfactuals(TEXT, { locked: [999] })).rejects.toThrow(/out of range/);
    await expect(model.counterfactuals(42)).rejects.toThrow(TypeError);
  });

  it('an aborted search rejects with AbortError, and the model still works', async () => {
    const ac = new AbortController();
    const run = model.counterfactuals(TEXT, {
      generator: 'ablation-flip',
      batchSize: 1,
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const r = await model.counterfactuals(TEXT, { generator: 'hotflip', positions: 2, maxFlips: 1 });
    expect(r.generator).toBe('hotflip');
  });
});
