// The web page's own logic, without a browser: the colour scale and its
// contrast, number formatting, rank correlation, URL state, option parsing,
// exports (escaping), word deletion, the model manifest.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { PUOR, contrast, divergingRgb, formatScore, hexToRgb, legendTicks, niceScale, scoreColours } from '../../web/src/colour.js';
import { area, order, pearson, ranks, removeWords, replaceWord, spearman, wordScoresFromTokens } from '../../web/src/stats.js';
import { cleanOptions, decodeState, encodeState, parseOption } from '../../web/src/state.js';
import { escapeXml, fileStem, layout, runs, toHtml, toJson, toSvg } from '../../web/src/export.js';
import { missingModelFiles } from '../../web/src/files.js';
import { buildManifest, firstParagraph, parseEval, parseFrontMatter } from '../../web/tools/manifest.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// A small explanation in the shape the JS API returns.
function result(text = 'a <b>bold</b> & "quoted" film', scores = [0.5, -1.25, 2, 0.01, -0.3]) {
  const words = [];
  const re = /\S+/g;
  let m;
  while ((m = re.exec(text))) words.push({ text: m[0], begin: m.index, end: m.index + m[0].length });
  return {
    method: 'integrated-gradients',
    options: {},
    text,
    prediction: { label: 1, label_name: 'positive', logits: [0, 1], probabilities: [0.27, 0.73], target: 1, target_name: 'positive', output: 'logit', explained_value: 1 },
    tokens: words.map((w, i) => ({ token: w.text, id: i, begin: w.begin, end: w.end, word: i, special: false, score: scores[i] })),
    words: words.map((w, i) => ({ ...w, score: scores[i], tokens: [i] })),
    checks: [],
    model_evaluations: 1,
    seconds: 0.01,
    truncated: false,
  };
}

describe('colour scale', () => {
  it('runs from purple (against) through near-white to orange (for)', () => {
    expect(divergingRgb(1).map(Math.round)).toEqual(hexToRgb(PUOR[0]));
    expect(divergingRgb(-1).map(Math.round)).toEqual(hexToRgb(PUOR[10]));
    expect(divergingRgb(0).map(Math.round)).toEqual(hexToRgb(PUOR[5]));
    expect(divergingRgb(5)).toEqual(divergingRgb(1));
    expect(divergingRgb(NaN)).toEqual(divergingRgb(0));
    // Lightness falls monotonically away from 0 on both sides.
    const lum = (v) => { const [r, g, b] = divergingRgb(v); return r + g + b; };
    for (let v = 0; v < 1; v += 0.05) {
      expect(lum(v + 0.05)).toBeLessThan(lum(v) + 1e-9);
      expect(lum(-v - 0.05)).toBeLessThan(lum(-v) + 1e-9);
    }
  });

  it('picks a text colour with WCAG AA contrast (4.5:1) everywhere on the scale', () => {
    for (let i = -100; i <= 100; ++i) {
      const c = scoreColours(i / 100, 1);
      expect(contrast(hexToRgb(c.bg), hexToRgb(c.fg)), `v=${i / 100}`).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('rounds the scale up to a round number and ticks it symmetrically', () => {
    expect(niceScale(1.98)).toBe(2);
    expect(niceScale(0.0123)).toBeCloseTo(0.015, 12);
    expect(niceScale(3)).toBe(3);
    expect(niceScale(0)).toBe(0);
    expect(legendTicks(2)).toEqual([-2, -1, 0, 1, 2]);
  });

  it('formats scores with their sign', () => {
    expect(formatScore(0)).toBe('0');
    expect(formatScore(1.23456)).toBe('+1.23');
    expect(formatScore(-0.5)).toBe('\u22120.5');
    expect(formatScore(-6e-7, 2)).toBe('\u22126e-7');
    expect(formatScore(123456)).toBe('+1.23e+5');
  });
});

describe('statistics', () => {
  it('ranks with ties averaged and correlates ranks (Spearman)', () => {
    expect(ranks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.8207826816681233
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(0.9933992677987828, 12);
  });

  it('merges token scores into words, orders words, integrates curves', () => {
    expect(wordScoresFromTokens([1, 2, 3, 4], [{ tokens: [0] }, { tokens: [1, 2] }, { tokens: [3] }])).toEqual([1, 5, 4]);
    expect(order([0.1, 3, -2, 3])).toEqual([1, 3, 0, 2]);
    expect(area([{ x: 0, y: 1 }, { x: 0.5, y: 0 }, { x: 1, y: 0 }])).toBeCloseTo(0.25, 12);
  });

  it('deletes and replaces words by their offsets', () => {
    const text = 'a truly great, moving film';
    const words = [[0, 1], [2, 7], [8, 13], [13, 14], [15, 21], [22, 26]].map(([begin, end]) => ({ begin, end }));
    expect(removeWords(text, words, new Set([1, 4]))).toBe('a great, film');
    expect(removeWords(text, words, new Set([0, 1, 2, 3, 4, 5]))).toBe('');
    expect(replaceWord(text, words[2], 'dull')).toBe('a truly dull, moving film');
    expect(replaceWord(text, words[1], '')).toBe('a great, moving film');
    expect(replaceWord(text, words[0], '')).toBe('truly great, moving film');
  });
});

describe('URL state', () => {
  it('round-trips through the fragment, text with any characters', () => {
    const st = { model: 'sst2-bilstm', method: 'lrp', options: { epsilon: 0.01, rule: 'z-plus' }, target: '1', view: 'compare', tokens: true, compare: ['lrp', 'occlusion'], text: 'a & b = <c> #1 \u00e9\u{1F600}\n?' };
    const back = decodeState('#' + encodeState(st));
    expect(back).toEqual({ ...st, options: { epsilon: '0.01', rule: 'z-plus' } });
    expect(decodeState('#view=nonsense').view).toBe('explain');
    expect(decodeState('')).toEqual({ options: {} });
  });

  it('checks option values against the registry', () => {
    const steps = { name: 'steps', type: 'integer', default: 32, min: 1, max: 4096 };
    expect(parseOption(steps, '64')).toEqual({ value: 64 });
    expect(parseOption(steps, '0').error).toMatch(/at least 1/);
    expect(parseOption(steps, '1.5').error).toMatch(/whole number/);
    const noise = { name: 'noise', type: 'number', default: 0.1, min: 0, max: 10 };
    expect(parseOption(noise, '0.25')).toEqual({ value: 0.25 });
    expect(parseOption(noise, 'abc').error).toBeTruthy();
    const rule = { name: 'rule', type: 'choice', default: 'left', choices: ['left', 'right'] };
    expect(parseOption(rule, 'right')).toEqual({ value: 'right' });
    expect(parseOption(rule, '<x>').error).toMatch(/one of left, right/);
    expect(parseOption({ name: 'b', type: 'boolean', default: true }, 'false')).toEqual({ value: false });
    const method = { options: [steps, noise, rule] };
    expect(cleanOptions(method, { steps: '32', noise: '0.5', rule: 'bad', unknown: '1' })).toEqual({ noise: 0.5 });
  });
});

describe('exports', () => {
  it('escapes every string in SVG and HTML', () => {
    const r = result();
    r.prediction.target_name = '<img src=x onerror=alert(1)>';
    const svg = toSvg(r, { modelName: 'm<1>' });
    const html = toHtml(r, { modelName: 'm<1>' });
    for (const out of [svg, html]) {
      expect(out).not.toContain('<b>');
      expect(out).not.toContain('<img');
      expect(out).toContain('&lt;b&gt;bold&lt;/b&gt;');
      expect(out).toContain('&amp;');
    }
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(escapeXml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });

  it('colours the words in the SVG by their scores on a round scale', () => {
    const r = result('good bad', [1, -2]);
    const svg = toSvg(r);
    expect(svg).toContain(scoreColours(1, 2).bg);
    expect(svg).toContain(scoreColours(-2, 2).bg);
    expect(svg).toContain('+2</text>');
  });

  it('lays words out in lines no wider than asked', () => {
    const r = result('one two three four five six seven eight nine ten', new Array(10).fill(1));
    const lines = layout(runs(r), (t) => t.length * 10, 120, 30);
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) for (const it of l.items) expect(it.x + it.w).toBeLessThanOrEqual(120 + 1e-9);
    const texts = lines.flatMap((l) => l.items.filter((i) => i.score !== undefined).map((i) => i.text));
    expect(texts.join(' ')).toBe(r.text);
  });

  it('writes JSON with the model name and a safe file name', () => {
    const r = result();
    expect(JSON.parse(toJson(r, { modelName: 'sst2-bilstm' })).model).toBe('sst2-bilstm');
    expect(fileStem(r, 'sst2-bilstm')).toMatch(/^wordlight_sst2-bilstm_integrated-gradients_a-b-bold-b-quoted-film$/);
  });
});

describe('model files and the manifest', () => {
  it('says which model files are missing', () => {
    expect(missingModelFiles(['config.json', 'model.safetensors', 'vocab.txt'])).toBeNull();
    expect(missingModelFiles(['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'])).toBeNull();
    expect(missingModelFiles(['config.json', 'vocab.txt'])).toMatch(/model\.safetensors is missing/);
    expect(missingModelFiles(['config.json', 'model.safetensors'])).toMatch(/no tokenizer/);
    expect(missingModelFiles(['config.json', 'pytorch_model.bin', 'vocab.txt'])).toMatch(/safetensors/);
  });

  it('reads model cards', () => {
    const card = '---\nmodel: x\narchitecture: bert\neval: sst2:{DATA}/sst/test accuracy=0.9 n=10\neval: sst2:{DATA}/sst/dev accuracy=0.8 n=5\n---\n# x\n\nA *small* [model](http://example.com).\n\n## More\n';
    const { fields, body } = parseFrontMatter(card);
    expect(fields.model).toBe('x');
    expect(fields.eval).toHaveLength(2);
    expect(parseEval(fields.eval[0])).toEqual({ data: 'sst2:sst/test', task: 'sst2', accuracy: 0.9, n: 10 });
    expect(firstParagraph(body)).toBe('A small model.');
  });

  it('lists the shipped classifiers, the default first, and the language models for Generate', () => {
    const m = buildManifest(path.join(ROOT, 'models'));
    expect(m.models.length).toBeGreaterThanOrEqual(1);
    expect(m.default).toBe(m.models[0].name);
    for (const e of m.models) {
      expect(e.files).toContain('config.json');
      expect(e.files).toContain('model.safetensors');
      expect(e.example.length).toBeGreaterThan(10);
      const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', e.name, 'config.json'), 'utf8'));
      if (/LMHeadModel|CausalLM/.test([].concat(config.architectures || []).join(' '))) {
        // A causal LM: prompts, no classes, never the default, no classifier accuracy.
        expect(e.kind).toBe('causal-lm');
        expect(e.labels).toEqual([]);
        expect(e.task).toBe('generate');
        expect(e.accuracy).toBeNull();
        expect(e.name).not.toBe(m.default);
      } else {
        expect(e.kind).toBe('classifier');
        expect(e.labels.length).toBeGreaterThanOrEqual(2);
      }
    }
    const names = m.models.map((e) => e.name);
    expect(names).not.toContain('sst2-bert-mlm');
    expect(names).toContain('gpt2-small');
    // The default is the most accurate SST model on the test set all their
    // cards report (SST's 1,821 test sentences), not a fixed name.
    const sst = m.models.filter((e) => e.task === 'sst2');
    const on = (e) => e.evals.find((v) => v.data === 'sst2:sst/stsa.binary.test')?.accuracy ?? -1;
    if (sst.length && sst.every((e) => on(e) >= 0)) expect(on(m.models.find((e) => e.name === m.default))).toBe(Math.max(...sst.map(on)));
    for (const e of m.models.filter((x) => x.kind === 'classifier')) for (const x of e.examples) expect(e.labels).toContain(x.label);
  });
});
