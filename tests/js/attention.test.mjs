// model.attention (issue 19, the page's Attention tab) through the JS API in
// node (single-threaded build), on every shipped model: transformers give
// [layer][head][query][key] with the config's numbers of layers and heads,
// the tokens model.tokenize gives, every row summing to 1 and, for GPT-2,
// nothing on later keys (causal); the text's own characters come back as
// typed (a hostile one too); the CNN and BiLSTM are refused with why; a
// text that is not a string is a TypeError before the module is asked.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { MODELS } from './wasm_util.mjs';

const ST = { threads: 1 };
const TEXT = 'a gripping <b>funny</b> film';
const config = (name) => JSON.parse(readFileSync(path.join(MODELS, name, 'config.json'), 'utf8'));
const models = readdirSync(MODELS).filter((d) => existsSync(path.join(MODELS, d, 'config.json'))).sort();
const isTransformer = (d) => ['bert', 'distilbert', 'roberta', 'gpt2'].includes(config(d).model_type);
const transformers = models.filter(isTransformer);
const others = models.filter((d) => !isTransformer(d));

afterAll(async () => {
  await wordlight.shutdown();
});

it('finds transformers and models without attention among the shipped ones', () => {
  expect(transformers.length).toBeGreaterThan(0);
  expect(others.length).toBeGreaterThan(0);
});

describe.each(transformers)('%s', (name) => {
  const cfg = config(name);
  it('gives each layer and head a row-stochastic matrix over the tokens', async () => {
    const model = await wordlight.load(path.join(MODELS, name), ST);
    const r = await model.attention(TEXT);
    const tok = await model.tokenize(TEXT);
    expect(r.layers).toBe(cfg.num_hidden_layers ?? cfg.n_layer ?? cfg.n_layers); // BERT, RoBERTa; GPT-2; DistilBERT
    expect(r.heads).toBe(cfg.num_attention_heads ?? cfg.n_head ?? cfg.n_heads);
    expect(r.tokens).toEqual(tok.tokens);
    const T = r.tokens.length;
    expect(r.attention).toHaveLength(r.layers);
    const causal = cfg.model_type === 'gpt2';
    let offDiagonal = 0;
    for (const layer of r.attention) {
      expect(layer).toHaveLength(r.heads);
      for (const head of layer) {
        expect(head).toHaveLength(T);
        head.forEach((row, i) => {
          expect(row).toHaveLength(T);
          const sum = row.reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - 1)).toBeLessThan(1e-4);
          row.forEach((p, j) => {
            expect(p).toBeGreaterThanOrEqual(0);
            if (causal && j > i) expect(p).toBe(0);
            if (j !== i) offDiagonal += p;
          });
        });
      }
    }
    expect(offDiagonal).toBeGreaterThan(0); // not all identity
    // The text's characters as typed: '<' is a token's text, not markup.
    expect(r.texts).toContain('<');
    expect(r.texts.join('').replace(/\s+/g, '')).toBe(TEXT.replace(/\s+/g, ''));
    await model.dispose();
  });
});

describe.each(others)('%s', (name) => {
  it('is refused: no attention', async () => {
    const model = await wordlight.load(path.join(MODELS, name), ST);
    await expect(model.attention(TEXT)).rejects.toThrow(/no attention/);
    await model.dispose();
  });
});

it('refuses a text that is not a string before the module is asked', async () => {
  const model = await wordlight.load(path.join(MODELS, 'sst2-bert'), ST);
  await expect(model.attention(42)).rejects.toThrow(TypeError);
});
