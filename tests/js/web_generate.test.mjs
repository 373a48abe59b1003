// The Generate tab's pure logic (web/src/views/generate.js): the CSV of a
// generation (one line per generated token and earlier source, fields
// quoted against formula injection), the method that explains the tokens
// (the left's, unless it explains no output or needs a masked LM), and the
// shown form of a token.
import { describe, expect, it } from 'vitest';
import { generationCsv, generationMethod, shownToken, FALLBACK_METHOD } from '../../web/src/views/generate.js';

const gen = {
  tokens: [
    { text: ' good', probability: 0.5, entropy: 1.25 },
    { text: '=1+2', probability: 0.25, entropy: 2.5 },
  ],
  explanation: {
    prompt_length: 2,
    targets: [0, 1],
    sources: ['<|endoftext|>', 'A', ' good', '=1+2'],
    matrix: [
      [0.1, 0.9, 0, 0],
      [0.2, -0.3, 0.5, 0],
    ],
    first_token_share: [0.1, 0.2],
  },
};

describe('generationCsv', () => {
  it('has one line per (generated token, earlier source) with the matrix numbers', () => {
    const lines = generationCsv(gen).trim().split('\n');
    expect(lines[0]).toBe('target,target_token,probability,entropy,first_token_share,source,source_token,attribution');
    expect(lines).toHaveLength(1 + 2 + 3); // row 0: 2 sources, row 1: 3
    expect(lines[1]).toBe('0," good",0.5,1.25,0.1,0,"<|endoftext|>",0.1');
    expect(lines[5]).toBe(`1,"'=1+2",0.25,2.5,0.2,2," good",0.5`);
  });
  it('lists the tokens alone without an explanation', () => {
    const lines = generationCsv({ tokens: gen.tokens }).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2].startsWith(`1,"'=1+2",0.25,2.5`)).toBe(true);
  });
});

describe('generationMethod', () => {
  const app = (method, facts) => ({
    state: { method },
    method: (n) => (n === method ? { name: n, ...facts } : { name: n }),
    applicable: () => facts.applicable !== false,
  });
  it('keeps the method picked on the left when it explains an output', () => {
    expect(generationMethod(app('lrp', { explains: 'output' }))).toEqual({ method: 'lrp', note: '' });
  });
  it('falls back for a neuron, a masked-LM method or one that does not apply', () => {
    for (const a of [app('neuron-relevance', { explains: 'neuron' }), app('input-marginalization', {}), app('lime', { applicable: false })]) {
      const r = generationMethod(a);
      expect(r.method).toBe(FALLBACK_METHOD);
      expect(r.note).toMatch(/does not explain generated tokens/);
    }
  });
});

it('shows newlines as a visible mark', () => {
  expect(shownToken('a\nb\r\n')).toBe('a\u21b5b\u21b5');
});
