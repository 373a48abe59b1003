// views/attention.js's pure parts: one head's matrix as given, "all heads"
// as the element-wise mean (rows still sum to 1), and a token's label (its
// text as typed, the vocabulary string for a special token).
import { describe, expect, it } from 'vitest';

import { attentionMatrix, tokenLabel } from '../../web/src/views/attention.js';

const r = {
  layers: 1,
  heads: 2,
  tokens: ['[CLS]', 'good', '[SEP]'],
  texts: ['', 'Good', ''],
  attention: [
    [
      [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]],
      [[0, 1, 0], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]],
    ],
  ],
};

describe('attention view', () => {
  it('gives one head as is and the mean of all heads', () => {
    expect(attentionMatrix(r, 0, '1')).toBe(r.attention[0][1]);
    const m = attentionMatrix(r, 0, 'mean');
    expect(m[0]).toEqual([0.5, 0.5, 0]);
    expect(m[1][2]).toBeCloseTo(0.4, 12);
    for (const row of m) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
  it('labels tokens by their text, special tokens by their vocabulary string', () => {
    expect([0, 1, 2].map((i) => tokenLabel(r, i))).toEqual(['[CLS]', 'Good', '[SEP]']);
  });
});
