// The page never misleads (issue 13), its logic without a browser: unsigned
// scores on a sequential scale whose legend says "importance"; the registry's
// facts (titles, what is explained) read from the registry, with no copy
// of them in the page (options per architecture: wasm_facts.test.mjs, the
// module's own resolution); a hostile link's options repaired with a
// sentence per change; unread words marked in every export; every view's
// export in SVG, HTML and JSON with its colour bar; the link keeps every
// setting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';

import { GNBU, PUOR, contrast, divergingRgb, hexToRgb, legendMeaning, legendTicks, scoreColours, sequentialRgb } from '../../web/src/colour.js';
import { explainsKind, methodName, requestOptions, resultScores, resultTitle, setRegistry } from '../../web/src/names.js';
import { decodeState, encodeState, repairOptions, checkInteger } from '../../web/src/state.js';
import { compareExport, curveExport, layout, matrixExport, runs, toHtml, toJson, toSvg } from '../../web/src/export.js';
import { predictionHeadline } from '../../web/src/prediction.js';
import { tailStart, unreadFromTokens, unreadInfo, unreadSentence, wordUnknown } from '../../web/src/unread.js';

// The page reads the facts of a method from the module's registry, as it
// does in the browser (no copy of them in the page or here).
let REAL = [];
beforeAll(async () => {
  REAL = await wordlight.methods({ threads: 1 });
  setRegistry(REAL);
});
afterAll(async () => {
  await wordlight.shutdown();
});

function result(text, scores, extra = {}) {
  const words = [];
  const re = /\S+/g;
  let m;
  while ((m = re.exec(text))) words.push({ begin: m.index, end: m.index + m[0].length });
  return {
    method: 'integrated-gradients',
    options: {},
    text,
    prediction: { label: 1, label_name: 'positive', logits: [0, 1], probabilities: [0.27, 0.73], target: 1, target_name: 'positive', output: 'logit', explained_value: 1 },
    tokens: words.map((w, i) => ({ token: text.slice(w.begin, w.end).toLowerCase(), id: i + 5, begin: w.begin, end: w.end, word: i, special: false, score: scores[i] })),
    words: words.map((w, i) => ({ ...w, score: scores[i], tokens: [i] })),
    checks: [],
    model_evaluations: 1,
    seconds: 0.01,
    truncated: false,
    ...extra,
  };
}

const PUOR_SET = new Set(PUOR);
const lum = (rgb) => rgb.reduce((a, b) => a + b, 0);

describe('unsigned scores', () => {
  it('get a sequential scale in neither of the diverging scale\'s colours, darker as the score grows', () => {
    expect(sequentialRgb(0).map(Math.round)).toEqual(hexToRgb(GNBU[0]));
    expect(sequentialRgb(1).map(Math.round)).toEqual(hexToRgb(GNBU.at(-1)));
    for (let v = 0; v < 1; v += 0.05) expect(lum(sequentialRgb(v + 0.05))).toBeLessThan(lum(sequentialRgb(v)) + 1e-9);
    for (let i = 1; i <= 20; ++i) {
      const c = scoreColours(i / 20, 1, 'unsigned');
      expect(PUOR_SET.has(c.bg)).toBe(false);
      // Never the orange (for) or the purple (against) of the signed scale.
      // PuOr's oranges and purples both have more red than green; GnBu never.
      const [r, g] = hexToRgb(c.bg);
      expect(g).toBeGreaterThanOrEqual(r);
      expect(contrast(hexToRgb(c.bg), hexToRgb(c.fg))).toBeGreaterThanOrEqual(4.5);
      expect(c.bg).not.toBe(scoreColours(i / 20, 1).bg);
    }
    expect(legendTicks(2, 4, 'unsigned')).toEqual([0, 0.5, 1, 1.5, 2]);
  });

  it('are said to be importance, never for or against, in the legend and every export', () => {
    expect(legendMeaning('unsigned', 'positive')).toMatch(/importance/);
    expect(legendMeaning('unsigned', 'positive')).not.toMatch(/\bfor\b|against/);
    expect(legendMeaning('signed', 'positive')).toMatch(/for .*positive.*against/);
    const r = result('the ending drags a little', [0.1, 0.2, 3, 0.4, 0.05], { method: 'saliency' });
    expect(resultScores(r)).toBe('unsigned');
    expect(resultScores({ ...r, method: 'integrated-gradients' })).toBe('signed');
    expect(resultScores({ ...r, method: 'integrated-gradients', scores: 'unsigned' })).toBe('unsigned');
    expect(resultScores({ ...r, method: 'gradient', options: { reduce: 'l2' } })).toBe('unsigned');
    const svg = toSvg(r);
    const html = toHtml(r);
    const json = JSON.parse(toJson(r));
    for (const out of [svg, html]) {
      expect(out).toMatch(/importance/);
      expect(out).not.toMatch(/against|evidence for|orange/);
      // The strongest word ("drags") is on the dark end of the sequential scale.
      expect(out).toContain(scoreColours(3, 3, 'unsigned').bg);
      for (const c of PUOR.filter((x) => x !== '#f7f7f7')) expect(out).not.toContain(c);
    }
    expect(json.scores).toBe('unsigned');
    expect(json.legend.range[0]).toBe(0);
    expect(json.legend.meaning).toMatch(/importance/);
  });
});

describe('the registry\'s facts', () => {
  const REGISTRY = [
    { name: 'saliency', title: 'Saliency', scores: 'unsigned', explains: 'output', options: [] },
    { name: 'neuron-relevance', title: 'Neuron relevance', scores: 'signed', explains: 'neuron', options: [] },
    {
      name: 'lrp',
      title: 'LRP',
      scores: 'signed',
      explains: 'output',
      options: [
        { name: 'rule', type: 'choice', default: 'epsilon', choices: ['epsilon', 'z-plus', 'alpha-beta'], by_architecture: { bilstm: { default: 'epsilon', choices: ['epsilon'] }, transformer: { default: 'epsilon', choices: ['epsilon'] } } },
        { name: 'variant', type: 'choice', default: 'attnlrp', choices: ['attnlrp', 'cp-lrp'], applies_to: ['transformer'] },
      ],
    },
    { name: 'only-cnn', title: 'Only CNN', applies_to: ['cnn'], options: [] },
  ];

  it('are read from the registry: titles, signed or not, what is explained', () => {
    setRegistry(REGISTRY);
    expect(methodName('saliency')).toBe('Saliency');
    expect(explainsKind('neuron-relevance')).toBe('neuron');
    expect(explainsKind('lrp')).toBe('output');
    expect(resultScores({ method: 'saliency' })).toBe('unsigned');
    setRegistry([]);
    // The page keeps no copy of the facts: a method the registry does not
    // list is shown by its own name, as signed scores of the output.
    expect(methodName('integrated-gradients')).toBe('integrated-gradients');
    expect(explainsKind('layer-relevance')).toBe('output');
    expect(resultScores({ method: 'saliency' })).toBe('signed');
    // A result that says what its numbers are is drawn as it says.
    expect(resultScores({ method: 'smoothgrad-squared', scores: 'unsigned' })).toBe('unsigned');
    setRegistry(REAL);
    expect(methodName('integrated-gradients')).toBe('Integrated Gradients');
    expect(explainsKind('layer-relevance')).toBe('layers');
    expect(resultScores({ method: 'smoothgrad-squared' })).toBe('unsigned');
  });

  it('send the per-model defaults that differ from the registry\'s, and the user\'s choices', () => {
    const global = { options: [{ name: 'baseline', default: 'zero' }, { name: 'steps', default: 16 }] };
    const resolved = { options: [{ name: 'baseline', default: 'unk' }, { name: 'steps', default: 16 }] };
    expect(requestOptions(resolved, global, {})).toEqual({ baseline: 'unk' });
    expect(requestOptions(resolved, global, { steps: 8, baseline: 'zero' })).toEqual({ baseline: 'zero', steps: 8 });
  });

  it('title an explanation by what it explains: a neuron is never "Why positive?"', () => {
    const r = result('good film', [1, 2]);
    expect(resultTitle(r)).toBe('Why \u201cpositive\u201d?');
    const neuron = { ...r, method: 'neuron-relevance', unit: 'neuron 17 of layer.3' };
    expect(resultTitle(neuron)).toBe('What drives neuron 17 of layer.3?');
    expect(resultTitle({ ...neuron, explains: { kind: 'neuron', title: 'What drives neuron 17 of layer.3?' } })).not.toMatch(/positive/);
    expect(resultTitle({ ...r, method: 'layer-relevance' })).toMatch(/layers/);
    // The module's own title and kind (explains: 'neuron', title: ...).
    expect(resultTitle({ ...r, method: 'gradient', explains: 'neuron', title: 'What drives layer.0 neuron 2?' })).toBe('What drives layer.0 neuron 2?');
    expect(resultTitle({ ...r, explains: 'output', title: 'anything' })).toBe('Why \u201cpositive\u201d?');
  });
});

describe('a link\'s options', () => {
  const lrp = { name: 'lrp', options: [{ name: 'rule', type: 'choice', default: 'epsilon', choices: ['epsilon'] }, { name: 'epsilon', type: 'number', default: 0.001, min: 0, max: 1000 }] };
  const all = { name: 'lrp', options: [...lrp.options, { name: 'variant', type: 'choice', default: 'attnlrp', choices: ['attnlrp', 'cp-lrp'] }] };

  it('are repaired with a sentence for each change, and what applies is kept', () => {
    const r = repairOptions(lrp, { rule: 'z-plus', epsilon: '5000', variant: 'cp-lrp', bogus: '<img src=x>', ok: undefined }, { methodLabel: 'LRP', all });
    expect(r.options).toEqual({});
    expect(r.changes).toHaveLength(5);
    expect(r.changes.join(' ')).toMatch(/rule=z-plus is not possible/);
    expect(r.changes.join(' ')).toMatch(/epsilon=5000 .*at most 1000/);
    expect(r.changes.join(' ')).toMatch(/variant does not apply to this model/);
    expect(repairOptions(lrp, { epsilon: '0.5' }).options).toEqual({ epsilon: 0.5 });
    expect(repairOptions(lrp, { epsilon: '0.001' })).toEqual({ options: {}, changes: [] });
    expect(checkInteger('300', 1, 256).error).toMatch(/above 256/);
    expect(checkInteger('8', 1, 256)).toEqual({ value: 8 });
  });

  it('the link keeps every setting: numbers, tokens, compare picks, Interactions steps, Layers mode', () => {
    const st = { model: 'sst2-bilstm', method: 'lrp', options: { epsilon: 0.5 }, target: '1', view: 'layers', tokens: true, numbers: true, compare: ['occlusion', 'lrp'], ihSteps: '24', layersMode: 'gradient-x-activation', text: 'a & b' };
    const back = decodeState('#' + encodeState(st));
    expect(back).toEqual({ ...st, options: { epsilon: '0.5' } });
  });
});

describe('words the model did not read', () => {
  // "😀" and "日本語" map to [UNK]; the text was cut after "film".
  const text = 'a 😀 film 日本語 fine and the rest was never read at all by the model because it is far too long';
  function unreadResult() {
    const r = result(text.slice(0, text.indexOf(' fine')), [0.5, 9, 1, -7]);
    r.text = text;
    r.tokens[1].token = '[UNK]';
    r.tokens[3].token = '[UNK]';
    r.truncated = true;
    return r;
  }

  it('are found from the result, or from the unknown token while the module does not say', () => {
    const r = unreadResult();
    expect(r.words.map((w) => wordUnknown(r, w))).toEqual([false, true, false, true]);
    expect(tailStart(r)).toBe(text.indexOf(' fine'));
    const info = unreadInfo(r);
    expect(info.unknown_words).toBe(2);
    expect(info.truncated_words).toBe(text.slice(text.indexOf(' fine')).trim().split(/\s+/).length);
    expect(info.share).toBeCloseTo((2 + info.truncated_words) / (4 + info.truncated_words), 12);
    expect(unreadSentence(info)).toMatch(/Not read by this model: \d+% of the words/);
    // The module's own fields win.
    r.words[0].unknown = true;
    expect(wordUnknown(r, r.words[0])).toBe(true);
    const tok = { tokens: ['[CLS]', 'a', '[UNK]', 'film', '[SEP]'], special: [true, false, false, false, true], word_ids: [-1, 0, 1, 2, -1], words: [[0, 1], [2, 4], [5, 9]], truncated: false };
    expect(unreadFromTokens('a 😀 film', tok)).toMatchObject({ words: 3, unknown_words: 1, truncated_words: 0, unknown: ['😀'] });
  });

  it('are marked "not read by this model" and never coloured as evidence, in SVG, HTML and JSON', () => {
    const r = unreadResult();
    const svg = toSvg(r);
    const html = toHtml(r);
    const json = JSON.parse(toJson(r));
    for (const out of [svg, html]) expect(out).toMatch(/not read by this model/);
    // The only negative score is an [UNK] word's: no word is purple.
    const purple = scoreColours(-7, 1).bg;
    for (const g of svg.match(/<g[ >].*?<\/g>/g)) expect(g).not.toContain(purple);
    for (const sp of html.match(/<span[^>]*>/g)) expect(sp).not.toContain(purple);
    // Each unknown word drawn grey, dashed, with its reason.
    const unreadSvg = svg.match(/<g class="unread">.*?<\/g>/g) || [];
    expect(unreadSvg).toHaveLength(2);
    for (const g of unreadSvg) expect(g).toMatch(/not read by this model.*fill="#eceef2"/);
    const unreadHtml = html.match(/<span[^>]*data-unread="unknown"[^>]*>/g) || [];
    expect(unreadHtml).toHaveLength(2);
    for (const sp of unreadHtml) expect(sp).toMatch(/not read by this model.*background:#eceef2/);
    expect(html).toContain('data-unread="unknown"');
    expect(html).toContain('data-unread="truncated"');
    expect(json.unread.unknown_words).toBe(2);
    expect(json.unread.truncated_words).toBeGreaterThan(10);
  });

  it('the unread tail wraps like the text, never past the width', () => {
    const r = unreadResult();
    const lines = layout(runs(r), (t) => [...t].length * 10, 200, 30);
    expect(lines.length).toBeGreaterThan(4);
    for (const l of lines) for (const it of l.items) expect(it.x + it.w).toBeLessThanOrEqual(200 + 1e-9);
    const tail = lines.flatMap((l) => l.items.filter((i) => i.truncated).map((i) => i.text)).join(' ');
    expect(tail.replace(/\s+/g, ' ')).toBe(text.slice(text.indexOf(' fine')).trim());
    // A word wider than a line is cut into pieces that fit.
    const long = result('x', [1]);
    long.text = 'x ' + 'y'.repeat(60);
    long.truncated = true;
    for (const l of layout(runs(long), (t) => [...t].length * 10, 200, 30)) for (const it of l.items) expect(it.x + it.w).toBeLessThanOrEqual(200 + 1e-9);
  });
});

describe('every view exports', () => {
  const hostile = '<img src=x onerror=alert(1)>';
  const a = result(`good ${hostile} film`, [1, -2, 0.5]);
  const b = { ...result(`good ${hostile} film`, [0.2, 3, 0.1]), method: 'saliency' };

  function checkAll(x, { svgHas = [], htmlHas = [] } = {}) {
    const svg = x.svg();
    const html = x.html();
    const json = JSON.parse(x.json());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    for (const out of [svg, html]) {
      expect(out).not.toContain('<img');
      expect(out).not.toMatch(/<script/i);
    }
    for (const s of svgHas) expect(svg).toContain(s);
    for (const s of htmlHas) expect(html).toContain(s);
    return { svg, html, json };
  }

  it('Compare: each method with its own colour bar, the right scale for each, and the correlations', () => {
    const { svg, html, json } = checkAll(compareExport([a, b], { modelName: 'm', names: ['Integrated Gradients', 'Saliency'], rho: [[1, -0.5], [-0.5, 1]] }), {
      svgHas: ['<linearGradient', 'Spearman', 'importance'],
      htmlHas: ['linear-gradient', 'Spearman', 'importance'],
    });
    expect((svg.match(/<linearGradient/g) || []).length).toBe(2);
    expect(json.view).toBe('compare');
    expect(json.methods.map((m) => m.scores)).toEqual(['signed', 'unsigned']);
    expect(json.methods[1].legend.meaning).toMatch(/importance/);
    expect(json.spearman[0][1]).toBe(-0.5);
  });

  it('Layers and Interactions: the matrix with its colour bar, an "absorbed here" column, unread columns marked', () => {
    const spec = {
      head: `layers ${hostile}`,
      rowLabels: ['embeddings', 'layer.0'],
      colLabels: ['good', hostile, 'film'],
      values: [[1, -2, 0.5], [0.3, 0.1, -0.2]],
      rowScale: (i) => [2, 0.3][i],
      unreadCols: new Set([1]),
      extraCol: { label: 'absorbed here', key: 'absorbed', values: [0.1, -0.05] },
      note: 'each row on its own scale',
    };
    const { svg, html, json } = checkAll(matrixExport(spec, { json: { view: 'layers' } }), { svgHas: ['<linearGradient', 'absorbed here', 'not read by this model'], htmlHas: ['linear-gradient', 'absorbed here', 'not read by this model'] });
    expect(json.view).toBe('layers');
    expect(json.absorbed).toEqual([0.1, -0.05]);
    expect(json.not_read_columns).toEqual([1]);
    expect(svg).toContain('&lt;img');
    expect(html).toContain(scoreColours(1, 2).bg);
    const ih = checkAll(matrixExport({ head: 'ih', rowLabels: ['a', 'b'], colLabels: ['a', 'b'], values: [[5, 0.2], [-0.1, 3]], scale: 0.2, diagonalOff: true }, { json: { view: 'interactions' } }), { svgHas: ['<linearGradient'] });
    expect(ih.json.legend.range).toEqual([-0.2, 0.2]);
  });

  it('the What-if curve: the lines, their key and areas', () => {
    const curves = [
      { name: 'Integrated Gradients', points: [{ x: 0, y: 0.9, k: 0 }, { x: 0.5, y: 0.3, k: 1 }, { x: 1, y: 0.2, k: 2 }] },
      { name: `random ${hostile}`, random: true, points: [{ x: 0, y: 0.9, k: 0 }, { x: 0.5, y: 0.7, k: 1 }, { x: 1, y: 0.2, k: 2 }] },
    ];
    const { svg, html, json } = checkAll(curveExport({ curves, n: 2, target: 'positive' }, { modelName: 'm', text: 'good film' }), { svgHas: ['<polyline', 'area 0.'], htmlHas: ['<svg', 'area under the curve'] });
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(html).toContain('&lt;img');
    expect(json.curves[0].area).toBeCloseTo(0.25 * 1.2 + 0.25 * 0.5, 12);
    expect(json.view).toBe('deletion-curve');
  });
});

describe('check verdicts', () => {
  it('judge only error-like checks by the 1% rule', async () => {
    const { checkVerdict } = await import('../../web/src/names.js');
    expect(checkVerdict({ name: 'completeness-gap', relative: 0.002 })).toBe(true);
    expect(checkVerdict({ name: 'conservation-gap', relative: 0.7 })).toBe(false);
    expect(checkVerdict({ name: 'efficiency-gap', relative: 0 })).toBe(true);
    expect(checkVerdict({ name: 'step-change', relative: 0.5 })).toBe(false);
    // Facts, not errors: no verdict.
    for (const name of ['r-squared', 'intercept', 'f-empty', 'exact-shapley', 'absorbed:softmax', 'local-prediction'])
      expect(checkVerdict({ name, relative: 0.92 }), name).toBe(null);
    expect(checkVerdict({ name: 'samples-per-feature', relative: 0.5 })).toBe(false);
  });
});

describe('a multi-label model (labels that hold independently)', () => {
  const labels = ['world', 'business', 'sports'];
  const single = { label: 2, label_name: 'sports', logits: [0, 1, 2], probabilities: [0.09, 0.24, 0.67], target: 2, target_name: 'sports' };
  const multi = { ...single, probabilities: [0.2, 0.81, 0.93], multi_label: true };
  it('is never shown as one predicted class: every label above 50% is named, with a note that they need not sum to 100%', () => {
    const s = predictionHeadline(single, labels);
    expect(s.lead + s.strong + s.tail).toBe('Predicted: sports (67.0%)');
    expect(s.note).toBe('');
    const m = predictionHeadline(multi, labels);
    expect(m.lead + m.strong).toBe('2 labels above 50%: sports, business');
    expect(m.note).toMatch(/each label has its own probability.*need not add up to 100%/);
    const none = predictionHeadline({ ...multi, probabilities: [0.2, 0.3, 0.45] }, labels);
    expect(none.lead + none.strong + none.tail).toBe('No label above 50% (the most probable: sports, 45.0%)');
  });
  it('exports say so in their title', () => {
    const r = result('world cup final', [0.1, 0.2, 0.3], { prediction: { ...multi, output: 'logit', explained_value: 2 } });
    expect(toSvg(r, { modelName: 'm', measure: (s) => 8 * s.length })).toMatch(/multi-label: &quot;sports&quot; 93\.0%, &quot;label 1&quot; 81\.0% above 50%/);
    const svg = toSvg(r, { modelName: 'm', labels, measure: (s) => 8 * s.length });
    expect(svg).toMatch(/multi-label: &quot;sports&quot; 93\.0%, &quot;business&quot; 81\.0% above 50%/);
    expect(toHtml(r, { modelName: 'm', labels })).toMatch(/multi-label: &quot;sports&quot; 93\.0%, &quot;business&quot; 81\.0% above 50%/);
    expect(svg).not.toMatch(/predicted &quot;sports&quot;/);
    const plain = toSvg(result('world cup final', [0.1, 0.2, 0.3]), { modelName: 'm', measure: (s) => 8 * s.length });
    expect(plain).toMatch(/predicted &quot;positive&quot; \(73\.0%\)/);
  });
});
