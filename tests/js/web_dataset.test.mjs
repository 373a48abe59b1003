// The data-set view's logic (web/src/dataset.js, issue 19): reading CSV /
// TSV / JSONL with hostile texts and labels kept literally, label ids,
// accuracy and the confusion matrix, filters, slices, sorting, the per-class
// top words by the CLI's rule (computed here a second way), Spearman's
// correlation, and the CSV export's quoting.
import { describe, expect, it } from 'vitest';

import {
  csvField, filterRows, labelIndex, metrics, parseDataset, pca2d, sliceMetrics, sortRows, spearman, splitDelimited, tableCsv,
  topWords, unitRows,
} from '../../web/src/dataset.js';
import { decodeState, encodeState } from '../../web/src/state.js';
import { pcaData, pcaSvg } from '../../web/src/views/dataset_pca.js';

const LABELS = ['negative', 'positive'];
const pred = (label, p) => ({ label, label_name: LABELS[label], probabilities: label ? [1 - p, p] : [p, 1 - p] });

describe('reading a dropped file', () => {
  it('CSV with quotes, commas, newlines and hostile text kept literally', () => {
    const csv = 'text,label\r\n"<img src=x onerror=alert(1)>, ""quoted""",positive\n"two\nlines",0\nplain,"<b>neg</b>"\n';
    const d = parseDataset('x.csv', csv);
    expect(d.hasLabels).toBe(true);
    expect(d.rows.map((r) => r.text)).toEqual(['<img src=x onerror=alert(1)>, "quoted"', 'two\nlines', 'plain']);
    expect(d.rows.map((r) => r.label)).toEqual(['positive', '0', '<b>neg</b>']);
    expect(labelIndex('positive', LABELS)).toBe(1);
    expect(labelIndex('0', LABELS)).toBe(0);
    expect(labelIndex('<b>neg</b>', LABELS)).toBe(-1);
    expect(labelIndex('7', LABELS)).toBe(-1);
  });

  it('TSV as GLUE writes it (sentence, label), no label column, JSONL with rationales', () => {
    const tsv = parseDataset('dev.tsv', 'sentence\tlabel\nthe film\t1\nbad\t0\n');
    expect(tsv.rows).toEqual([
      { text: 'the film', label: '1', rationale: null },
      { text: 'bad', label: '0', rationale: null },
    ]);
    const bare = parseDataset('texts.tsv', 'text\na\nb\n');
    expect(bare.hasLabels).toBe(false);
    expect(bare.rows.length).toBe(2);
    const j = parseDataset('d.jsonl', '{"text": "good", "label": 1, "rationale": [[0, 4]]}\n\n"just text"\n');
    expect(j.rows).toEqual([
      { text: 'good', label: '1', rationale: [[0, 4]] },
      { text: 'just text', label: null, rationale: null },
    ]);
    expect(() => parseDataset('d.jsonl', '{"text": "a"}\n{broken\n')).toThrow(/d.jsonl: line 2 is not valid JSON/);
    expect(() => parseDataset('d.jsonl', '{"text": 3}\n')).toThrow(/line 1: the text is not a string/);
    expect(() => splitDelimited('"open', ',')).toThrow(/quoted field/);
  });
});

describe('metrics, filters, slices', () => {
  const rows = [
    { index: 0, text: 'good film', label: 'positive', pred: pred(1, 0.9), pred2: pred(1, 0.8) },
    { index: 1, text: 'bad film indeed', label: 'negative', pred: pred(1, 0.6), pred2: pred(0, 0.7) },
    { index: 2, text: 'dull', label: 'negative', pred: pred(0, 0.95), pred2: pred(0, 0.9) },
    { index: 3, text: 'fine', label: 'weird', pred: pred(0, 0.55), pred2: pred(1, 0.6) },
  ];
  it('accuracy and the confusion matrix (gold rows, predicted columns); unknown labels counted apart', () => {
    const m = metrics(rows, LABELS);
    expect(m).toMatchObject({ n: 3, correct: 2, unknown: 1 });
    expect(m.accuracy).toBeCloseTo(2 / 3);
    expect(m.confusion).toEqual([[1, 1], [0, 1]]);
  });
  it('filters by label, prediction, disagreement, confidence, length and word; sorting is stable', () => {
    expect(filterRows(rows, { label: 0 }, LABELS).map((r) => r.index)).toEqual([1, 2]);
    expect(filterRows(rows, { predicted: 1 }, LABELS).map((r) => r.index)).toEqual([0, 1]);
    expect(filterRows(rows, { disagree: true }, LABELS).map((r) => r.index)).toEqual([1, 3]);
    expect(filterRows(rows, { wrong: true }, LABELS).map((r) => r.index)).toEqual([1]);
    expect(filterRows(rows, { minConfidence: 0.9 }, LABELS).map((r) => r.index)).toEqual([0, 2]);
    expect(filterRows(rows, { minLength: 2 }, LABELS).map((r) => r.index)).toEqual([0, 1]);
    expect(filterRows(rows, { word: 'FILM' }, LABELS).map((r) => r.index)).toEqual([0, 1]);
    expect(sortRows(rows, 'confidence', true).map((r) => r.index)).toEqual([2, 0, 1, 3]);
    expect(sortRows(rows, 'length').map((r) => r.index)).toEqual([2, 3, 0, 1]);
  });
  it('slices: a named filter each, with its metrics', () => {
    const s = sliceMetrics(rows, [{ name: 'films', filter: { word: 'film' } }, { name: 'short', filter: { maxLength: 1 } }], LABELS);
    expect(s[0]).toMatchObject({ name: 'films', rows: 2, n: 2, correct: 1 });
    expect(s[1]).toMatchObject({ name: 'short', rows: 2, n: 1, correct: 1 });
  });
});

describe('global explanations', () => {
  it("top words follow the CLI's rule: correctly classified rows of the class, summed by lower-cased word", () => {
    const ex = (ws) => ({ words: ws.map(([text, score]) => ({ text, score })) });
    const rows = [
      { label: 'positive', pred: pred(1, 0.9), explanation: ex([['Good', 2], ['film', 0.5]]) },
      { label: 'positive', pred: pred(1, 0.8), explanation: ex([['good', 1], ['fun', 1.5]]) },
      { label: 'positive', pred: pred(0, 0.8), explanation: ex([['awful', 9]]) },  // misclassified: left out
      { label: 'negative', pred: pred(0, 0.7), explanation: ex([['dull', 1], ['film', 1]]) },
    ];
    const tw = topWords(rows, LABELS, 10);
    // By hand: positive: good 2 + 1 = 3 (2 rows), fun 1.5, film 0.5; negative: dull 1 and film 1 (ties by word).
    expect(tw.positive).toEqual([['good', 3, 2], ['fun', 1.5, 1], ['film', 0.5, 1]]);
    expect(tw.negative).toEqual([['dull', 1, 1], ['film', 1, 1]]);
    expect(topWords(rows, LABELS, 1).positive).toEqual([['good', 3, 2]]);
  });
  it("Spearman's correlation: 1 for the same order, -1 reversed, ties averaged", () => {
    expect(spearman([1, 2, 3], [10, 20, 30])).toBeCloseTo(1);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1);
    expect(spearman([1, 1, 2], [1, 2, 3])).toBeCloseTo(0.866, 3);
    expect(spearman([1], [1])).toBe(null);
  });
});

describe('export', () => {
  it('CSV fields are quoted, quotes doubled, formulas defused', () => {
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    const csv = tableCsv([{ index: 0, text: 'good\nfilm', label: '1', pred: pred(1, 0.9), explanation: null }], LABELS);
    expect(csv).toBe('"index","text","label","predicted","confidence","top_words"\r\n"0","good\nfilm","1","positive","0.9000",""\r\n');
    expect(splitDelimited(csv, ',')).toEqual([
      ['index', 'text', 'label', 'predicted', 'confidence', 'top_words'],
      ['0', 'good\nfilm', '1', 'positive', '0.9000', ''],
    ]);
  });
});

describe('document vectors (PCA) and the link', () => {
  it('PCA: the first component carries the most variance, points on a line have no second, projections are centred', () => {
    // Points on the line t * (1, 2, 2) / 3 with a little noise on the third axis.
    const rows = [-2, -1, 0, 1, 2, 3].map((t, i) => [t / 3, (2 * t) / 3, (2 * t) / 3 + (i % 2 ? 0.01 : -0.01)]);
    const xy = pca2d(rows);
    const v = (k) => xy.reduce((s, p) => s + p[k] * p[k], 0);
    expect(v(0)).toBeGreaterThan(100 * v(1));
    expect(Math.abs(xy.reduce((s, p) => s + p[0], 0))).toBeLessThan(1e-9);
    // The projection keeps the spacing along the line (unit direction): |x_i - x_j| = |t_i - t_j|.
    expect(Math.abs(xy[5][0] - xy[0][0])).toBeCloseTo(5, 1);
    // Unit rows: each of length 1 (a zero row stays zero).
    for (const r of unitRows([[3, 4], [0, 0], [1, 1]])) expect([0, 1]).toContainEqual(+Math.hypot(...r).toFixed(12));
  });

  it('the scatter colours by label (or prediction), escapes every text and has one dot per explained row', () => {
    const rows = [
      { index: 0, label: 'positive', pred: pred(1, 0.9), docvec: [1, 0, 0] },
      { index: 1, label: 'neg<ative', pred: pred(0, 0.8), docvec: [0, 1, 0] },
      { index: 2, label: '<b>x</b>', pred: pred(0, 0.7), docvec: [0, 0, 1] },
      { index: 3, label: 'positive', pred: pred(1, 0.7), docvec: null },
    ];
    const d = pcaData(rows, ['neg<ative', 'positive'], true);
    expect(d.points.map((p) => [p.index, p.cls])).toEqual([[0, 1], [1, 0], [2, -1]]);
    const svg = pcaSvg(d, { head: '<script>' });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('neg&lt;ative');
    expect((svg.match(/class="pca-dot"/g) || []).length).toBe(3);
    expect(pcaData(rows, LABELS, false).points.map((p) => p.cls)).toEqual([1, 0, 0]);
  });

  it("the view's settings go into the link as ds.* and come back; nothing else of the data", () => {
    const st = { model: 'sst2-bert', view: 'dataset', dataset: { model2: 'sst2-bilstm', file: 'my data.csv', word: 'a&b=c', wrong: '1', disagree: undefined, conf: 0.5 } };
    const hash = encodeState(st);
    expect(hash).not.toContain('disagree');
    expect(decodeState(hash).dataset).toEqual({ model2: 'sst2-bilstm', file: 'my data.csv', word: 'a&b=c', wrong: '1', conf: '0.5' });
    expect(decodeState('model=x').dataset).toBeUndefined();
  });
});
