// The "How this works" panel's pictures, built from result objects in the
// shape the JS API returns (no DOM: the pictures are plain data until the
// page turns them into SVG elements).
import { describe, expect, it } from 'vitest';

import { CONTENT, NOISY_COPIES, caveatsFor, checkLines, extrasNeeded, teachPicture } from '../../web/src/teach/index.js';
import { findAll, textOf, toMarkup } from '../../web/src/teach/vnode.js';
import { igPathPicture, ihArcsPicture, pathPoints, strongestPairs } from '../../web/src/teach/path.js';
import { occlusionPicture, occludedOutputs } from '../../web/src/teach/occlusion.js';
import { flowLevels, layerRow, lrpFlowPicture } from '../../web/src/teach/lrp.js';
import { noisePicture, slopePicture } from '../../web/src/teach/gradient.js';
import { FOR, AGAINST, IMPORTANCE } from '../../web/src/teach/common.js';

const HOSTILE = '<img src=x onerror=alert(1)>';

// A result of `method` on `text` (words split at spaces, one token each
// but for the words listed in `split`, which get two).
function result(method, { text = `a gripping ${HOSTILE} film`, scores, options = {}, split = [], extra = {} } = {}) {
  const words = [];
  const tokens = [];
  const re = /\S+/g;
  let m;
  let i = 0;
  while ((m = re.exec(text))) {
    const score = scores ? scores[i] : (i % 2 ? -1 : 1) * (0.2 + 0.3 * i);
    const tk = [];
    const pieces = split.includes(i) ? [m[0].slice(0, 2), '##' + m[0].slice(2)] : [m[0]];
    for (const p of pieces) {
      tk.push(tokens.length);
      tokens.push({ token: p, id: tokens.length, begin: m.index, end: m.index + m[0].length, word: i, special: false, score: score / pieces.length });
    }
    words.push({ text: m[0], begin: m.index, end: m.index + m[0].length, score, tokens: tk });
    ++i;
  }
  return {
    method,
    options,
    text,
    prediction: { label: 1, label_name: 'positive', logits: [-1, 2], probabilities: [0.05, 0.95], target: 1, target_name: 'positive', output: 'logit', explained_value: 2 },
    tokens,
    words,
    checks: [],
    model_evaluations: 1,
    seconds: 0.01,
    truncated: false,
    ...extra,
  };
}

const points = (poly) => poly.attrs.points.split(' ').map((p) => p.split(',').map(Number));
const byClass = (tree, cls) => findAll(tree, (n) => String(n.attrs.class || '').split(' ').includes(cls));

describe('Integrated Gradients: the path picture', () => {
  const alphas = [0.0199, 0.1017, 0.2372, 0.4083, 0.5917, 0.7628, 0.8983, 0.9801];
  const weights = [0.0506, 0.1112, 0.1569, 0.1813, 0.1813, 0.1569, 0.1112, 0.0506];
  // A saturating output: f rises early on the path and flattens.
  const f = alphas.map((a) => -0.5 + 2.5 * (1 - Math.exp(-5 * a)));
  const r = result('integrated-gradients', {
    options: { baseline: 'unk', steps: '8' },
    extra: {
      path: { alphas, weights, f, f_baseline: -0.5, f_input: 2 },
      checks: [{ name: 'completeness-gap', value: 0.001, reference: 2.5, relative: 0.0004, description: '' }],
      convergence: { adaptive: true, steps: 8, gap: 0.0004, change: 0.003, tolerance: 0.01, converged: true },
    },
  });

  it('has one marker per quadrature point, sized by its weight', () => {
    const pic = igPathPicture(r, { width: 640 });
    const dots = byClass(pic, 'quad-point');
    expect(dots).toHaveLength(alphas.length);
    const radius = dots.map((d) => d.attrs.r);
    // The middle points weigh most.
    expect(radius[3]).toBeGreaterThan(radius[0]);
    expect(dots.map((d) => d.attrs['data-alpha'])).toEqual(alphas);
  });

  it('draws a polyline through f(baseline), f at every point and f(input), on one linear scale', () => {
    const pic = igPathPicture(r, { width: 640 });
    const [poly] = byClass(pic, 'f-path');
    const pts = points(poly);
    const fs = [-0.5, ...f, 2];
    expect(pts).toHaveLength(fs.length);
    // x grows with alpha; y is an affine, decreasing function of f.
    for (let k = 1; k < pts.length; ++k) expect(pts[k][0]).toBeGreaterThan(pts[k - 1][0]);
    const slope = (pts[pts.length - 1][1] - pts[0][1]) / (fs[fs.length - 1] - fs[0]);
    expect(slope).toBeLessThan(0);
    for (let k = 0; k < pts.length; ++k) expect(pts[k][1]).toBeCloseTo(pts[0][1] + slope * (fs[k] - fs[0]), 1);
    // The markers sit on the line.
    const dots = byClass(pic, 'quad-point');
    dots.forEach((d, k) => {
      expect(d.attrs.cx).toBeCloseTo(pts[k + 1][0], 1);
      expect(d.attrs.cy).toBeCloseTo(pts[k + 1][1], 1);
    });
  });

  it('draws the integrand with an area of f(x) - f(baseline)', () => {
    const pic = igPathPicture(r, { width: 640 });
    const bars = byClass(pic, 'integrand');
    expect(bars).toHaveLength(alphas.length + 1);
    // Saturation: the slope is steepest at the start of the path.
    const heights = bars.map((b) => b.attrs.height);
    expect(heights[0]).toBeGreaterThan(heights[heights.length - 1]);
    const area = bars.map((b) => Number(/area ([+\u2212-][\d.]+)/.exec(textOf(b))[1].replace('\u2212', '-'))).reduce((a, b) => a + b, 0);
    expect(area).toBeCloseTo(2.5, 1);
  });

  it('shows the text at the start, middle and end of the path, escaped', () => {
    const pic = igPathPicture(r, { width: 640 });
    const words = byClass(pic, 'path-word');
    expect(words.some((w) => textOf(w).includes('[UNK]'))).toBe(true);
    expect(textOf(pic)).toContain('gripping');
    const svg = toMarkup(pic);
    expect(svg).not.toContain('<img');
    expect(svg).toContain('>&lt;img<');
    expect(svg).toContain('>onerror=alert(1)&gt;<');
  });

  it('falls back to the ends without a path (from the completeness check)', () => {
    const { path, ...old } = r;
    expect(pathPoints(old)).toBeNull();
    const pic = igPathPicture(old, { width: 400 });
    expect(byClass(pic, 'quad-point')).toHaveLength(0);
    expect(byClass(pic, 'no-path')).toHaveLength(1);
    expect(points(byClass(pic, 'f-path')[0])).toHaveLength(2);
    expect(textOf(pic)).toContain('\u22120.5'); // f(x') = 2 - 2.5
  });

  it('says what its convergence check reached', () => {
    const lines = checkLines(r);
    const conv = lines.find((l) => l.name === 'convergence');
    expect(conv.value).toMatch(/reached with 8 steps/);
    expect(conv.good).toBe(true);
    expect(lines.find((l) => l.name === 'completeness-gap').value).toMatch(/0\.04%/);
  });
});

describe('Integrated Hessians: the arcs', () => {
  const n = 5;
  const M = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0.5 - 0.2 * i : 0.01 * (i + j))));
  M[1][3] = M[3][1] = -0.4; // the strongest pair, against
  const r = result('integrated-hessians', { text: 'not bad at all <b>', extra: { interactions: { words: M, tokens: M } } });

  it('draws the strongest pairs as arcs, coloured by sign', () => {
    const pic = ihArcsPicture(r, { width: 640, arcs: 3 });
    const arcs = byClass(pic, 'ih-arc');
    expect(arcs).toHaveLength(3);
    expect([arcs[0].attrs['data-i'], arcs[0].attrs['data-j']]).toEqual([1, 3]);
    expect(arcs[0].attrs.stroke).toBe(AGAINST);
    expect(arcs[1].attrs.stroke).toBe(FOR);
    expect(Number(arcs[0].attrs['stroke-width'])).toBeGreaterThan(Number(arcs[2].attrs['stroke-width']));
    expect(strongestPairs(M, 100)).toHaveLength((n * (n - 1)) / 2);
    expect(textOf(pic)).toContain('bad');
    expect(toMarkup(pic)).toContain('&lt;b&gt;');
  });

  it('reads word_interactions too', () => {
    const { interactions, ...rest } = r;
    const pic = teachPicture({ ...rest, word_interactions: M }, {}, { width: 500 });
    expect(byClass(pic, 'ih-arc')).toHaveLength(8);
  });
});

describe('occlusion: the occluded texts and their outputs', () => {
  const r = result('occlusion', { text: 'the ending drags a little', scores: [0.1, -0.3, -1.5, 0.05, 0.4], options: { mode: 'mask', window: '1' } });

  it('gives f(x) - score for each occluded text', () => {
    const rows = occludedOutputs(r);
    expect(rows.map((x) => x.occluded)).toEqual([1.9, 2.3, 3.5, 1.95, 1.6]);
    const pic = occlusionPicture(r, { width: 640 });
    const drawn = byClass(pic, 'occlusion-row');
    expect(drawn).toHaveLength(5);
    expect(drawn.map((d) => d.attrs['data-occluded'])).toEqual([1.9, 2.3, 3.5, 1.95, 1.6]);
    // The stand-in of mask mode, in every occluded text, with the context.
    const texts = byClass(pic, 'occluded-text').map(textOf);
    expect(texts).toHaveLength(5);
    expect(texts.every((t) => t.includes('[MASK]'))).toBe(true);
    expect(texts[2]).toMatch(/ending \[MASK\] a/);
  });

  it('fits the occluded texts on a phone', () => {
    const long = result('occlusion', { text: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen' });
    const pic = occlusionPicture(long, { width: 340 });
    for (const t of byClass(pic, 'occluded-text').map(textOf)) expect(t.length).toBeLessThan(70);
  });
});

describe('LRP: relevance flowing down the layers', () => {
  const r = result('lrp', { text: 'a fine film', scores: [0.2, 0.9, 0.3] });
  r.checks = [{ name: 'conservation-gap', value: -0.6, reference: 2, relative: 0.3, description: '' }];
  const layers = {
    method: 'layer-relevance',
    options: { normalise: 'none' },
    layers: [
      { layer: 'embeddings', token_scores: [0.3, 0.8, 0.4], total: 1.5 },
      { layer: 'layer.0', token_scores: [0.5, 0.8, 0.4], total: 1.7, absorbed: 0.11 },
      { layer: 'layer.1', token_scores: [0.9, 0.5, 0.5], total: 1.9 },
    ],
  };

  it('has the output, every layer from the top down, and the input', () => {
    const levels = flowLevels(r, layers);
    expect(levels.map((L) => L.name)).toEqual(['output', 'layer.1', 'layer.0', 'embeddings', 'input tokens']);
    expect(levels[1].absorbedFromAbove).toBeCloseTo(0.1);
    expect(levels[2].absorbed).toBe(0.11); // the module's own number wins
    expect(levels[4].total).toBeCloseTo(1.4);
    const pic = lrpFlowPicture(r, layers, { width: 640 });
    expect(byClass(pic, 'flow-cell')).toHaveLength(4 * 3);
    expect(byClass(pic, 'flow-output')).toHaveLength(1);
    expect(byClass(pic, 'flow-token').map(textOf)).toEqual(['a', 'fine', 'film']);
    expect(byClass(pic, 'flow-total').map((b) => b.attrs['data-total'])).toEqual([2, 1.9, 1.7, 1.5, levels[4].total]);
  });

  it('scales normalised rows back to their totals', () => {
    expect(layerRow({ token_scores: [0.25, -0.25, 0.5], total: 3 }, 'l1')).toEqual([1.5, -1.5, 3]);
    expect(layerRow({ token_scores: [1, 2], total: 7 }, 'none')).toEqual([1, 2]);
  });

  it('computes no drop across the two directions of an LSTM', () => {
    const bilstm = { layers: [{ layer: 'embeddings', token_scores: [1, 0, 0], total: 1 }, { layer: 'lstm.forward', token_scores: [0, 1, 0], total: -0.4 }, { layer: 'lstm.backward', token_scores: [0, 0, 1], total: 0.2 }], options: {} };
    const levels = flowLevels(r, bilstm);
    expect(levels.filter((L) => Number.isFinite(L.absorbedFromAbove)).map((L) => L.name)).toEqual(['input tokens']);
    expect(lrpFlowPicture(r, bilstm).notes.join(' ')).toMatch(/side by side/);
  });

  it('asks the layers of the same text with the same epsilon, unnormalised', () => {
    const lr = result('lrp', { options: { epsilon: '0.01', rule: 'epsilon', variant: 'attnlrp', output: 'logit', merge: 'sum' } });
    const known = { 'layer-relevance': ['mode', 'epsilon', 'normalise', 'top-k', 'output', 'merge'].map((name) => ({ name })) };
    const [need] = extrasNeeded(lr, known);
    expect(need.method).toBe('layer-relevance');
    expect(need.options).toEqual({ epsilon: '0.01', output: 'logit', merge: 'sum', mode: 'lrp', normalise: 'none', 'top-k': 0 });
  });
});

describe('gradients: the local slope and what the noise does', () => {
  const text = 'dull but clever';
  const grad = result('gradient', { text, scores: [-0.8, 0.1, 0.6] });

  it('draws saliency from zero on the sequential scale, with the signed slope beside it', () => {
    const sal = result('saliency', { text, scores: [0.64, 0.01, 0.36], extra: { scores: 'unsigned' } });
    const pic = slopePicture(sal, { width: 640 }, { gradient: grad });
    const bars = byClass(pic, 'score-bar');
    expect(bars.map((b) => b.attrs.fill)).toEqual([IMPORTANCE, IMPORTANCE, IMPORTANCE]);
    expect(new Set(bars.map((b) => b.attrs.x)).size).toBe(1);
    const glyphs = byClass(pic, 'slope-glyph');
    expect(glyphs.map((g) => g.attrs['data-slope'])).toEqual([-0.8, 0.1, 0.6]);
    expect(textOf(pic)).toMatch(/never a direction/);
    expect(caveatsFor(sal).join(' ')).toMatch(/magnitudes/);
  });

  it('draws a gradient with its own slopes, diverging from 0', () => {
    const pic = slopePicture(grad, { width: 360 });
    const bars = byClass(pic, 'score-bar');
    expect(bars.map((b) => b.attrs.fill)).toEqual([AGAINST, FOR, FOR]);
    expect(byClass(pic, 'slope-glyph')).toHaveLength(3);
  });

  it('shows each noisy copy, the noiseless gradient and the average', () => {
    const sg = result('smoothgrad', { text, scores: [-0.5, 0.2, 0.5], options: { samples: '16', noise: '0.1', seed: '1', reduce: 'along-input' } });
    const needs = extrasNeeded(sg);
    expect(needs).toHaveLength(1 + NOISY_COPIES);
    expect(needs[0]).toMatchObject({ key: 'plain', method: 'gradient', options: { reduce: 'along-input' } });
    expect(needs.slice(1).every((n) => n.method === 'smoothgrad' && n.options.samples === 1 && n.options.noise === '0.1')).toBe(true);
    expect(new Set(needs.slice(1).map((n) => n.options.seed)).size).toBe(NOISY_COPIES);
    const samples = [0, 1, 2].map((k) => result('smoothgrad', { text, scores: [-0.5 + 0.3 * k, 0.2 - 0.2 * k, 0.4] }));
    const pic = noisePicture(sg, { width: 640 }, { plain: grad, samples });
    expect(byClass(pic, 'noise-sample')).toHaveLength(3 * 3);
    expect(byClass(pic, 'plain-grad')).toHaveLength(3);
    expect(byClass(pic, 'smooth-mean')).toHaveLength(3);
  });
});

describe('the panel text', () => {
  const METHODS = ['gradient', 'saliency', 'gradient-x-input', 'integrated-gradients', 'smoothgrad', 'smoothgrad-squared', 'occlusion', 'lrp', 'layer-relevance', 'neuron-relevance', 'integrated-hessians'];

  it('teaches every method: words, symbols, a picture, caveats and sources with years', () => {
    for (const m of METHODS) {
      const c = CONTENT[m];
      expect(c, m).toBeTruthy();
      expect(c.words.length).toBeGreaterThan(40);
      expect(c.symbols).toMatch(/=/);
      expect(c.misleads.length).toBeGreaterThanOrEqual(2);
      expect(c.sources.every((s) => /(19|20)\d\d/.test(s))).toBe(true);
      const pic = teachPicture(result(m, { extra: m === 'integrated-hessians' ? { interactions: { words: [[1, 0.1, 0, 0], [0.1, 1, 0, 0], [0, 0, 1, 0.2], [0, 0, 0.2, 1]] } } : {} }), {}, { width: 390 });
      expect(pic.tag, m).toBe('svg');
      expect(textOf(pic), m).toContain('gripping');
      expect(toMarkup(pic), m).not.toContain('<img');
    }
    expect(CONTENT['integrated-gradients'].sources.join()).toMatch(/Sundararajan.*2017/);
    expect(CONTENT.lrp.sources.join()).toMatch(/Achtibat.*2024/);
  });

  it('names this text\u2019s sub-word pieces and unread words', () => {
    const r = result('gradient', { text: 'a gripping tale \u{1F600}', split: [1] });
    r.words[3].unknown = true;
    const cav = caveatsFor(r).join(' ');
    expect(cav).toMatch(/\u201cgripping\u201d = gr \+ ##ipping/);
    expect(cav).toMatch(/Not read by this model: 1 word/);
  });
});

describe('the perturbation family: a waterfall from every word absent to the text', () => {
  it('adds the Shapley values from f(empty) and ends at f(x) (efficiency)', async () => {
    const { waterfall, coalitionPicture } = await import('../../web/src/teach/coalition.js');
    // f(x) = 2, values sum to 1.5: f(empty) = 0.5.
    const r = result('kernel-shap', { text: 'not bad at all', scores: [-0.5, 1, 0.25, 0.75], extra: { checks: [{ name: 'f-empty', value: 0.5, reference: 2, relative: 0, description: '' }] } });
    const w = waterfall(r);
    expect(w.base).toBe(0.5);
    expect(w.rows.map((x) => [x.from, x.to])).toEqual([[0.5, 0], [0, 1], [1, 1.25], [1.25, 2]]);
    expect(w.end).toBe(2);
    const pic = coalitionPicture(r, { width: 640 });
    const rows = byClass(pic, 'coalition-row');
    expect(rows).toHaveLength(4);
    expect(rows.map((x) => x.attrs['data-to'])).toEqual([0, 1, 1.25, 2]);
    expect(textOf(pic)).toMatch(/efficiency gap 0\)/);
    expect(teachPicture(r).attrs).toEqual(pic.attrs);
    for (const m of ['kernel-shap', 'shapley-sampling', 'lime']) {
      expect(CONTENT[m].sources.length, m).toBeGreaterThan(0);
      expect(CONTENT[m].symbols, m).toMatch(/=/);
    }
  });

  it('starts LIME at its intercept and shows how far the fit misses f(x), escaped', async () => {
    const { coalitionPicture, waterfall } = await import('../../web/src/teach/coalition.js');
    const r = result('lime', { scores: [0.1, 0.2, 0.3, 0.4], extra: { checks: [{ name: 'intercept', value: 0.6, reference: 2, relative: 0, description: '' }] } });
    const w = waterfall(r);
    expect(w.base).toBe(0.6);
    expect(w.end).toBeCloseTo(1.6, 12);
    const markup = toMarkup(coalitionPicture(r, { width: 400 }));
    expect(markup).toContain('a miss of');
    expect(markup).not.toContain('<img');
    expect(markup).toContain('&lt;img');
  });
});
