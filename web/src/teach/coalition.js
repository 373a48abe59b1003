// The perturbation family (kernel-shap, shapley-sampling, partition-shap,
// lime): a waterfall from the output with every word absent to the output
// of the whole text, one step per word. For the Shapley family the steps
// add up exactly (efficiency: f(empty) + sum of the values = f(x)); for
// LIME they are a linear fit's weights, from its intercept to its local
// prediction, which may miss f(x) (its R^2 says by how much).
import { v, fit, num, signed } from './vnode.js';
import { AGAINST, FOR, INK, LINE, MUTED, MAX_ROWS, check, extent, measureOr, outputName, scaler, svgRoot, text, wordsOf } from './common.js';

// { base, end, fx, rows: [{ index, text, score, from, to }], kind } from a result.
export function waterfall(r) {
  const fx = r.prediction?.explained_value;
  const words = wordsOf(r);
  const sum = words.reduce((a, w) => a + w.score, 0);
  const lime = r.method === 'lime';
  const empty = check(r, 'f-empty')?.value;
  const intercept = check(r, 'intercept')?.value;
  const base = lime && Number.isFinite(intercept) ? intercept : Number.isFinite(empty) ? empty : fx - sum;
  let at = base;
  const rows = words.map((w) => {
    const from = at;
    at += w.score;
    return { ...w, from, to: at };
  });
  return { base, end: at, fx, rows, kind: lime ? 'fit' : 'shapley' };
}

export function coalitionPicture(r, opts = {}) {
  const W = Math.max(300, opts.width || 640);
  const measure = measureOr(opts, 12);
  const small = measureOr(opts, 10);
  const wf = waterfall(r);
  const all = wf.rows;
  const rows = all.slice(0, MAX_ROWS);
  const labelW = Math.min(W * 0.3, Math.max(60, ...rows.map((x) => measure(x.text) + 8)));
  const xs = scaler(extent([wf.base, wf.end, wf.fx, ...rows.map((x) => x.to)], false), [labelW + 8, W - (W < 480 ? 20 : 50)]);
  const rowH = 22, top = 52;
  const startName = wf.kind === 'fit' ? 'the fit with every word absent (its intercept)' : 'every word absent';
  const nodes = [
    text(8, 14, fit(`from the ${outputName(r)} with ${startName} to the whole text, one word at a time`, W - 16, measureOr(opts, 11)), { 'font-size': 11, fill: MUTED }),
    v('line', { x1: xs(wf.base), y1: 22, x2: xs(wf.base), y2: top + rows.length * rowH, stroke: MUTED, 'stroke-dasharray': '2 3' }),
    text(xs(wf.base) + 4, 32, `start ${num(wf.base, 3)}`, { 'font-size': 10, fill: MUTED }),
    v('line', { class: 'fx-line', x1: xs(wf.fx), y1: 36, x2: xs(wf.fx), y2: top + rows.length * rowH + 6, stroke: INK, 'stroke-dasharray': '4 3' }),
    text(xs(wf.fx) + 4, 46, `f(x) = ${num(wf.fx, 4)}`, { 'font-size': 10, fill: INK }),
  ];
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const colour = row.score >= 0 ? FOR : AGAINST;
    nodes.push(text(labelW, y + 14, fit(row.text, labelW - 8, measure), { 'text-anchor': 'end', fill: row.unknown ? MUTED : INK }));
    nodes.push(
      v(
        'g',
        { class: 'coalition-row', 'data-word': i, 'data-from': row.from, 'data-to': row.to },
        v('rect', { x: Math.min(xs(row.from), xs(row.to)), y: y + 4, width: Math.max(1, Math.abs(xs(row.to) - xs(row.from))), height: 14, fill: colour, 'fill-opacity': 0.8 }),
        v('title', {}, `\u201c${row.text}\u201d adds ${signed(row.score, 4)}: ${num(row.from, 4)} \u2192 ${num(row.to, 4)}`),
      ),
    );
    if (i + 1 < rows.length) nodes.push(v('line', { x1: xs(row.to), y1: y + 18, x2: xs(row.to), y2: y + rowH + 4, stroke: LINE }));
    const label = signed(row.score, 2);
    const right = Math.max(xs(row.from), xs(row.to)) + 4;
    const fits = right + small(label) <= W - 2;
    nodes.push(text(fits ? right : Math.min(xs(row.from), xs(row.to)) - 4, y + 15, label, { 'font-size': 10, fill: MUTED, 'text-anchor': fits ? 'start' : 'end' }));
  });
  let y = top + rows.length * rowH + 14;
  if (all.length > rows.length) {
    nodes.push(text(8, y, `${all.length - rows.length} more words not drawn`, { 'font-size': 11, fill: MUTED }));
    y += 16;
  }
  const miss = wf.end - wf.fx;
  const endLine =
    wf.kind === 'fit'
      ? `the fit ends at ${num(wf.end, 4)}; the model says ${num(wf.fx, 4)} (a miss of ${signed(miss, 3)})`
      : `the steps end at ${num(wf.end, 4)}; f(x) = ${num(wf.fx, 4)} (efficiency gap ${signed(miss, 2)})`;
  nodes.push(text(8, y, fit(endLine, W - 16, measureOr(opts, 11)), { 'font-size': 11, fill: MUTED }));
  return svgRoot(W, y + 8, `${r.method} on this text: a waterfall of the word scores from ${num(wf.base, 3)} to ${num(wf.end, 3)}`, nodes);
}
