// The registry's facts through the JS API (what the page reads so that it
// never draws a number as what it is not): signed or unsigned scores, what
// is explained, the options resolved per model, adaptive convergence, and
// the words a model did not read.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { MODELS, shippedModels } from './wasm_util.mjs';

const ST = { threads: 1 };
const models = shippedModels();
const lstmName = models.includes('sst2-bilstm') ? 'sst2-bilstm' : null;
const bertName = models.includes('sst2-bert') ? 'sst2-bert' : null;
let methods;

beforeAll(async () => {
  methods = await wordlight.methods(ST);
});
afterAll(async () => {
  await wordlight.shutdown();
});

const byName = (list, name) => list.find((m) => m.name === name);
const option = (m, name) => m.options.find((o) => o.name === name);

describe('the registry facts', () => {
  it('say which methods score magnitudes, what each explains, and where each option applies', () => {
    for (const m of methods) {
      expect(m.title, m.name).toBeTruthy();
      expect(['signed', 'unsigned'], m.name).toContain(m.scores);
      expect(['output', 'neuron', 'layers'], m.name).toContain(m.explains);
      expect(m.applies_to.length, m.name).toBeGreaterThan(0);
    }
    expect(byName(methods, 'saliency').scores).toBe('unsigned');
    expect(byName(methods, 'smoothgrad-squared').scores).toBe('unsigned');
    expect(byName(methods, 'gradient').unsigned_when).toEqual({ reduce: 'l2' });
    expect(byName(methods, 'neuron-relevance').explains).toBe('neuron');
    expect(option(byName(methods, 'lrp'), 'rule').applies_to).toEqual(['cnn']);
    expect(option(byName(methods, 'integrated-gradients'), 'baseline').by_architecture.transformer.default).toBe('unk');
  });
});

describe.runIf(lstmName)('a BiLSTM', () => {
  let model;
  beforeAll(async () => {
    model = await wordlight.load(path.join(MODELS, lstmName), ST);
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('is offered only the options that apply to it', async () => {
    expect(model.info.architecture_group).toBe('bilstm');
    const resolved = await model.methods();
    const lrp = byName(resolved, 'lrp');
    expect(lrp.applicable).toBe(true);
    expect(option(lrp, 'rule')).toBeUndefined(); // z+ and alpha-beta are the CNN's
    expect(option(lrp, 'variant')).toBeUndefined();
    expect(option(lrp, 'bias-factor')).toBeDefined();
    expect(option(byName(resolved, 'integrated-gradients'), 'baseline').choices).not.toContain('mask');
    // A method that needs a learned part the model lacks is offered with the reason (the page's picker tells it).
    const dm = byName(resolved, 'diffmask');
    expect(dm.applicable).toBe(false);
    expect(dm.why).toMatch(/applies to transformer models only/);
    expect(model.info.parts).toEqual([]);
    await expect(model.explain('a fine film', { method: 'lrp', rule: 'z-plus' })).rejects.toThrow(
      /applies to CNN models only, not to BiLSTM ones/,
    );
  });

  it('marks unsigned scores, unknown words and convergence', async () => {
    const sal = await model.explain('a fine zxqvwj film', { method: 'saliency' });
    expect(sal.scores).toBe('unsigned');
    expect(sal.title).toBe(`Why '${sal.prediction.target_name}'?`);
    const w = sal.words.find((x) => x.text === 'zxqvwj');
    expect(w.unknown).toBe(true);
    expect(sal.words.filter((x) => x.unknown).length).toBe(1);
    expect(sal.unread.unknown_words).toBe(1);
    expect(sal.unread.share).toBeCloseTo(1 / 4, 12);
    const ig = await model.explain('a fine film , though it drags', { method: 'integrated-gradients' });
    expect(ig.scores).toBe('signed');
    expect(ig.convergence.adaptive).toBe(true);
    expect(ig.convergence.converged).toBe(true);
    expect(ig.convergence.tried.length).toBeGreaterThanOrEqual(2);
    expect(ig.path.f.length).toBe(ig.convergence.steps);
    const n = await model.explain('a fine film', { method: 'neuron-relevance' });
    expect(n.explains).toBe('neuron');
    expect(n.title).toMatch(/^What drives /);
  });
});

describe.runIf(bertName)('the shipped BERT', () => {
  it('integrates from [UNK] by default and says how it converged', async () => {
    const model = await wordlight.load(path.join(MODELS, bertName), ST);
    try {
      expect(model.info.architecture_group).toBe('transformer');
      const e = await model.explain('not bad at all', { method: 'integrated-gradients' });
      expect(e.options.baseline).toBe('unk');
      expect(e.convergence.converged).toBe(true);
      expect(e.checks.find((c) => c.name === 'completeness-gap').relative).toBeLessThan(0.01);
    } finally {
      await model.dispose();
    }
  });

  // DiffMask's probes ship beside it (diffmask.safetensors + diffmask.json, fetched with its
  // files): the learned part 'diffmask', its keep probabilities per layer.
  it('carries its DiffMask probes: keep probabilities per layer, unsigned, with the masked-kl check', async () => {
    const model = await wordlight.load(path.join(MODELS, bertName), ST);
    try {
      expect(byName(methods, 'diffmask').requires_part).toBe('diffmask');
      const dm = byName(await model.methods(), 'diffmask');
      expect(dm.applicable, dm.why).toBe(true);
      expect(model.info.parts).toContain('diffmask');
      const e = await model.explain('a gripping , funny film', { method: 'diffmask' });
      expect(e.scores).toBe('unsigned');
      expect(e.layers.map((L) => L.layer)).toEqual(['embeddings', 'layer.0', 'layer.1', 'layer.2', 'layer.3']);
      for (let t = 0; t < e.tokens.length; ++t) {
        expect(e.tokens[t].score).toBe(e.layers[4].token_scores[t]);
        for (let i = 1; i < 5; ++i) expect(e.layers[i].token_scores[t]).toBeLessThanOrEqual(e.layers[i - 1].token_scores[t] + 1e-12);
      }
      for (const w of e.words) expect(w.score >= 0 && w.score <= 1).toBe(true);
      expect(e.checks.map((c) => c.name)).toEqual(['masked-kl']);
      const first = await model.explain('a gripping , funny film', { method: 'diffmask', layer: 0 });
      expect(first.tokens.map((t) => t.score)).toEqual(e.layers[0].token_scores);
    } finally {
      await model.dispose();
    }
  });
});
