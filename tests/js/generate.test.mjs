// model.generate (issue 21) through the JS API in node (single-threaded
// build) on the tiny GPT-2 LM of tests/golden/transformers/gpt2-lm: greedy
// is deterministic and each token the most probable under the step scores'
// own numbers, seeded sampling repeats, stop ids and maxNewTokens end it,
// the explanation is a lower-triangular targets x sources matrix whose IG
// rows close their completeness gap (and batched rows equal one explanation
// per row), progress (with each token as it comes) and abort, and bad options
// and classifiers are refused with a message.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { GOLDEN } from './wasm_util.mjs';

const ST = { threads: 1 };
let lm;
let cls;

beforeAll(async () => {
  lm = await wordlight.load(path.join(GOLDEN, 'transformers/gpt2-lm'), ST);
  cls = await wordlight.load(path.join(GOLDEN, 'transformers/gpt2-cls'), ST);
});
afterAll(async () => {
  await wordlight.shutdown();
});

describe('model.generate', () => {
  it('greedy: deterministic, BOS first, step scores consistent', async () => {
    const a = await lm.generate('the movie was', { maxNewTokens: 6, ignoreEos: true });
    const b = await lm.generate('the movie was', { maxNewTokens: 6, ignoreEos: true });
    expect(a.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
    expect(a.tokens).toHaveLength(6);
    expect(a.stopped_by).toBe('max_new_tokens');
    expect(a.bos).toBe(true);
    expect(a.prompt_tokens[0].token).toBe('<|endoftext|>');
    expect(a.prompt).toBe('the movie was');
    expect(a.text).toBe(a.tokens.map((t) => t.text).join(''));
    for (const t of a.tokens) {
      expect(Math.abs(Math.log(t.probability) - t.logprob)).toBeLessThan(1e-6);
      expect(t.entropy).toBeGreaterThan(0);
      expect(t.entropy).toBeLessThanOrEqual(Math.log(376) + 1e-6);
    }
  });

  it('sampling repeats with a seed; top-k 1 is greedy; stop ids stop', async () => {
    const greedy = await lm.generate('a film', { maxNewTokens: 5, ignoreEos: true });
    const s1 = await lm.generate('a film', { maxNewTokens: 5, ignoreEos: true, temperature: 1.5, seed: 3 });
    const s2 = await lm.generate('a film', { maxNewTokens: 5, ignoreEos: true, temperature: 1.5, seed: 3 });
    expect(s1.tokens.map((t) => t.id)).toEqual(s2.tokens.map((t) => t.id));
    const k1 = await lm.generate('a film', { maxNewTokens: 5, ignoreEos: true, topK: 1, seed: 9 });
    expect(k1.tokens.map((t) => t.id)).toEqual(greedy.tokens.map((t) => t.id));
    const stopped = await lm.generate('a film', { maxNewTokens: 5, ignoreEos: true, stopIds: [greedy.tokens[1].id] });
    expect(stopped.stopped_by).toBe('stop_id');
    expect(stopped.tokens.length).toBeLessThanOrEqual(2);
  });

  it('explains every generated token over the earlier ones (lower-triangular, IG complete per row)', async () => {
    const g = await lm.generate('a bad film', {
      maxNewTokens: 3,
      ignoreEos: true,
      explain: { method: 'integrated-gradients' },
    });
    const e = g.explanation;
    const S = g.prompt_tokens.length + g.tokens.length;
    expect(e.sources).toHaveLength(S);
    expect(e.matrix).toHaveLength(3);
    e.matrix.forEach((row, r) => {
      const pos = e.prompt_length + e.targets[r];
      expect(row).toHaveLength(S);
      for (let c = pos; c < S; ++c) expect(row[c]).toBe(0);
      expect(row.slice(0, pos).some((v) => v !== 0)).toBe(true);
      expect(e.check[r]).toBe('completeness-gap');
      expect(e.check_relative[r]).toBeLessThan(0.01);
      expect(Math.abs(e.explained[r] - g.tokens[e.targets[r]].logprob)).toBeLessThan(1e-4);
      const total = row.reduce((s, v) => s + Math.abs(v), 0);
      expect(e.first_token_share[r]).toBeCloseTo(Math.abs(row[0]) / total, 9);
    });
  });

  it('batches the rows of a one-backward method: the same matrix in fewer backward passes', async () => {
    const g = await lm.generate('a bad film', { maxNewTokens: 5, ignoreEos: true, explain: { method: 'gradient-x-input' } });
    const n = await lm.generate('a bad film', { maxNewTokens: 5, ignoreEos: true, explain: { method: 'gradient-x-input', batchRows: false } });
    expect(g.tokens.map((t) => t.id)).toEqual(n.tokens.map((t) => t.id));
    expect(g.explanation.backward_passes).toBe(1);
    expect(n.explanation.backward_passes).toBe(5);
    g.explanation.matrix.forEach((row, r) => {
      const scale = Math.max(...n.explanation.matrix[r].map(Math.abs));
      row.forEach((v, c) => expect(Math.abs(v - n.explanation.matrix[r][c])).toBeLessThanOrEqual(1e-5 * scale));
    });
  });

  it('reports progress and can be aborted', async () => {
    const seen = [];
    const g = await lm.generate('the', { maxNewTokens: 3, ignoreEos: true, onProgress: (p) => seen.push(p) });
    // While generating, each progress carries the token just generated (a page shows them as they come).
    expect(seen.map((p) => p.done)).toEqual([1, 2, 3]);
    expect(seen.at(-1)).toMatchObject({ done: 3, total: 3 });
    expect(seen.map((p) => p.token)).toEqual(g.tokens);
    // Explaining: progress over the explained tokens, without a token.
    const ex = [];
    await lm.generate('the', { maxNewTokens: 2, ignoreEos: true, explain: { method: 'gradient-x-input' }, onProgress: (p) => ex.push(p) });
    expect(ex.filter((p) => p.token)).toHaveLength(2);
    expect(ex.filter((p) => !p.token).at(-1)).toEqual({ done: 2, total: 2 });
    const ac = new AbortController();
    ac.abort();
    await expect(lm.generate('the', { maxNewTokens: 3, signal: ac.signal })).rejects.toThrow();
  });

  it('refuses bad options and classifiers with a message', async () => {
    await expect(lm.generate('a', { temperature: 0 })).rejects.toThrow(/temperature must be a positive number/);
    await expect(lm.generate('a', { topP: 2 })).rejects.toThrow(/topP must be in/);
    await expect(lm.generate('a', { maxNewTokens: -1 })).rejects.toThrow(/maxNewTokens/);
    await expect(lm.generate(42)).rejects.toThrow(/text must be a string/);
    await expect(lm.generate('a', { explain: { method: 'nope' } })).rejects.toThrow(/nope/);
    await expect(cls.generate('a')).rejects.toThrow(/not a causal language model/);
  });
});
