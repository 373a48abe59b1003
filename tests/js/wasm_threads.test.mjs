// The pthreads build against the single-threaded one: the same predictions
// and explanations within float tolerance, and the threaded build's own
// cancel and memory behaviour.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { GOLDEN, MODELS, TEXT, maxAbs, shippedModels, worstRatio } from './wasm_util.mjs';

const ST = { threads: 1 };
const MT = { threads: 2 };
afterAll(() => wordlight.shutdown());

const requests = [
  { method: 'gradient-x-input' },
  { method: 'integrated-gradients', steps: 8 },
  { method: 'smoothgrad', samples: 4 },
  { method: 'occlusion' },
  { method: 'lrp' },
];

describe('threaded and single-threaded builds', () => {
  it('node picks the pthreads build for more than one thread', async () => {
    expect(wordlight.threadsSupported()).toBe(true);
    const m = await wordlight.load(path.join(GOLDEN, 'ours/cnn'), MT);
    expect(m.info.build).toBe('wordlight-simd-threads');
    expect(m.info.threads).toBe(2);
    await m.dispose();
  });

  for (const name of shippedModels()) {
    it(`give the same results on ${name}`, async () => {
      const dir = path.join(MODELS, name);
      const [st, mt] = [await wordlight.load(dir, ST), await wordlight.load(dir, MT)];
      try {
        expect(st.info.build).toBe('wordlight-simd');
        const [p1, p2] = [await st.predict(TEXT), await mt.predict(TEXT)];
        expect(p2.label).toBe(p1.label);
        expect(worstRatio(p2.logits, p1.logits, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        for (const r of requests) {
          const [a, b] = [await st.explain(TEXT, r), await mt.explain(TEXT, r)];
          const sa = a.tokens.map((t) => t.score);
          const sb = b.tokens.map((t) => t.score);
          expect(maxAbs(sa)).toBeGreaterThan(0);
          expect(worstRatio(sb, sa, 1e-4, 1e-5 * maxAbs(sa)), `${name}: ${r.method}`).toBeLessThanOrEqual(1);
          expect(b.model_evaluations).toBe(a.model_evaluations);
        }
      } finally {
        await st.dispose();
        await mt.dispose();
      }
    });
  }

  it('cancel mid-run, then explain again, in the threaded build', async () => {
    const m = await wordlight.load(path.join(MODELS, shippedModels()[0]), MT);
    try {
      const request = { method: 'integrated-gradients', steps: 48, batchSize: 4 };
      const reference = await m.explain(TEXT, request);
      const ac = new AbortController();
      let last = null;
      await expect(
        m.explain(TEXT, {
          ...request,
          signal: ac.signal,
          onProgress: (p) => {
            last = p;
            if (p.done >= 6) ac.abort();
          },
        }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(last.done).toBeLessThan(last.total);
      const again = await m.explain(TEXT, request);
      const s0 = reference.tokens.map((t) => t.score);
      expect(worstRatio(again.tokens.map((t) => t.score), s0, 1e-6, 1e-7 * maxAbs(s0))).toBeLessThanOrEqual(1);
    } finally {
      await m.dispose();
    }
  });

  it('the threaded heap does not grow across load/dispose cycles', async () => {
    const dir = path.join(GOLDEN, 'ours/bilstm');
    const warm = await wordlight.load(dir, MT);
    await warm.explain('the movie', { method: 'integrated-gradients', steps: 4 });
    await warm.dispose();
    const start = await wordlight.memory(MT);
    for (let i = 0; i < 30; ++i) {
      const m = await wordlight.load(dir, MT);
      await m.explain('the movie', { method: 'integrated-gradients', steps: 4 });
      await m.dispose();
    }
    const end = await wordlight.memory(MT);
    expect(end.heapSize).toBe(start.heapSize);
    expect(end.heapInUse).toBe(start.heapInUse);
  });
});
