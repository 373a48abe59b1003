// LRP: the relevance flowing down the layers, from the explained output
// at the top to the input tokens at the bottom, with what each layer
// holds in all and what was absorbed on the way (biases, the epsilon
// stabiliser, LayerNorm's shift...). The layers come from a
// layer-relevance explanation of the same text and options (or the
// result's own `layers`).
import { v, fit, num, signed } from './vnode.js';
import { AGAINST, FOR, INK, LINE, MUTED, colours, maxAbsOf, measureOr, outputName, svgRoot, text } from './common.js';

const MAX_TOKENS = 64;

// A layer's token relevances in the explained output's units: rows that
// were normalised (l1, max-abs) are scaled back so that they sum to the
// layer's total.
export function layerRow(L, normalise) {
  const xs = (L.token_scores || []).map((x) => (Number.isFinite(x) ? x : 0));
  if (!normalise || normalise === 'none' || !Number.isFinite(L.total)) return xs;
  const s = xs.reduce((a, b) => a + b, 0);
  return Math.abs(s) > 1e-12 ? xs.map((x) => (x * L.total) / s) : xs;
}

// The levels drawn, top to bottom: [{ name, scores|null, total, absorbed }].
// Relevance absorbed at a level: the layer's own `absorbed` where the
// module reports it, else the drop of the total from the level above.
export function flowLevels(r, layersResult) {
  const levels = [];
  const neuron = r.method === 'neuron-relevance';
  const c = (r.checks || []).find((x) => x.name === 'conservation-gap');
  const top = neuron ? (c && Number.isFinite(c.reference) ? c.reference : null) : r.prediction?.explained_value;
  levels.push({ name: neuron ? String(r.unit || r.explains?.unit || 'the neuron') : 'output', scores: null, total: top, absorbed: null, kind: 'output' });
  const src = layersResult?.layers?.length ? layersResult : r.layers?.length ? r : null;
  if (src && !neuron) {
    const normalise = src.options?.normalise;
    for (const L of [...src.layers].reverse()) {
      const scores = layerRow(L, normalise);
      const total = Number.isFinite(L.total) ? L.total : scores.reduce((a, b) => a + b, 0);
      levels.push({ name: String(L.layer), scores, total, absorbed: Number.isFinite(L.absorbed) ? L.absorbed : null, kind: 'layer' });
    }
  }
  const input = (r.tokens || []).map((t) => (Number.isFinite(t.score) ? t.score : 0));
  levels.push({ name: 'input tokens', scores: input, total: input.reduce((a, b) => a + b, 0), absorbed: null, kind: 'input' });
  // A recurrent layer's two directions are side by side, not one after
  // the other, and their states over time are no cut through the network:
  // no drop is computed across them.
  const parallel = (L) => /(^|\.)(forward|backward)$/.test(L.name);
  for (let i = 1; i < levels.length; ++i) {
    const L = levels[i];
    L.parallel = parallel(L);
    if (L.absorbed === null && !L.parallel && !parallel(levels[i - 1]) && Number.isFinite(levels[i - 1].total) && Number.isFinite(L.total)) L.absorbedFromAbove = levels[i - 1].total - L.total;
  }
  return levels;
}

export function lrpFlowPicture(r, layersResult, opts = {}) {
  const W = Math.max(300, opts.width || 640);
  const measure = measureOr(opts, 11);
  const levels = flowLevels(r, layersResult);
  const toks = (r.tokens || []).slice(0, MAX_TOKENS);
  const n = Math.max(1, toks.length);
  const labelW = Math.min(96, Math.max(58, ...levels.map((L) => measure(L.name) + 10)));
  const rightW = W < 480 ? 84 : 150;
  const gridX = 8 + labelW, gridW = W - 16 - labelW - rightW;
  const colW = gridW / n;
  const rowH = 30, gap = 16, top = 44;
  const totScale = maxAbsOf(levels.map((L) => L.total)) || 1;
  const nodes = [
    text(8, 14, 'level', { 'font-size': 11, fill: MUTED }),
    text(W - 8, 14, 'in all \u00b7 absorbed', { 'font-size': 11, fill: MUTED, 'text-anchor': 'end' }),
    text(gridX, 32, fit('relevance of each token (each row on its own scale)', gridW, measure), { 'font-size': 11, fill: MUTED }),
  ];
  levels.forEach((L, li) => {
    const y = top + li * (rowH + gap);
    nodes.push(text(8 + labelW - 6, y + rowH / 2 + 4, fit(L.name, labelW - 8, measure), { 'text-anchor': 'end', 'font-size': 11, class: 'flow-level' }));
    if (li > 0) {
      // An arrow down from the level above.
      const ax = gridX + gridW / 2;
      nodes.push(v('path', { d: `M ${ax} ${y - gap + 2} L ${ax} ${y - 3} M ${ax - 4} ${y - 7} L ${ax} ${y - 3} L ${ax + 4} ${y - 7}`, stroke: MUTED, fill: 'none', 'stroke-width': 1.2 }));
    }
    if (!L.scores) {
      nodes.push(
        v('rect', { class: 'flow-output', x: gridX, y, width: gridW, height: rowH, rx: 5, fill: '#fbe3c8', stroke: FOR }),
        text(gridX + gridW / 2, y + rowH / 2 + 4, (() => {
          const long = `${L.name === 'output' ? `f(x): the ${outputName(r)}` : L.name} = ${num(L.total, 4)}`;
          return measure(long) <= gridW - 8 ? long : fit(`${L.name === 'output' ? 'f(x)' : L.name} = ${num(L.total, 4)}`, gridW - 8, measure);
        })(), { 'text-anchor': 'middle', 'font-size': 12 }),
      );
    } else {
      const row = L.scores.slice(0, n);
      const scale = maxAbsOf(row) || 1;
      row.forEach((x, ti) => {
        const c = colours(x, scale, false);
        nodes.push(
          v('rect', { class: 'flow-cell', 'data-level': li, x: gridX + ti * colW, y, width: Math.max(0.5, colW - 1), height: rowH, fill: c.bg }, v('title', {}, `${L.name} \u00b7 ${toks[ti]?.token ?? ti}: ${signed(x, 3)}`)),
        );
      });
    }
    // The total, on one scale for every level, and what was lost.
    const bx = W - 8 - rightW + 4, bw = rightW - 12;
    const len = Number.isFinite(L.total) ? (Math.abs(L.total) / totScale) * bw : 0;
    nodes.push(v('rect', { x: bx, y: y + 4, width: Math.max(0.5, len), height: 9, fill: (L.total ?? 0) >= 0 ? FOR : AGAINST, 'fill-opacity': 0.75, class: 'flow-total', 'data-total': L.total }));
    const lost = L.absorbed ?? L.absorbedFromAbove;
    nodes.push(text(bx, y + 26, `${num(L.total, 3)}${Number.isFinite(lost) && li > 0 ? ` \u00b7 ${signed(lost, 2)}` : ''}`, { 'font-size': 10, fill: INK, class: 'flow-absorbed' }));
  });
  // Token labels under the grid.
  let y = top + levels.length * (rowH + gap) - gap + 6;
  const rotate = colW < 34 || toks.some((t) => measure(t.token) > colW - 2);
  const angle = colW < 16 ? -90 : -55;
  const size = colW < 12 ? 9 : 10;
  toks.forEach((t, ti) => {
    const x = gridX + ti * colW + colW / 2 + (angle === -90 ? size / 3 : 0);
    const label = fit(t.token, rotate ? 70 : colW - 2, measure);
    nodes.push(text(x, y + 10, label, { 'font-size': size, fill: t.special ? MUTED : INK, 'text-anchor': rotate ? 'end' : 'middle', transform: rotate ? `rotate(${angle} ${x.toFixed(1)} ${y + 6})` : null, class: 'flow-token' }));
  });
  y += rotate ? 72 : 18;

  if ((r.tokens || []).length > toks.length) {
    nodes.push(text(8, y + 6, `${r.tokens.length - toks.length} more tokens not drawn`, { 'font-size': 11, fill: MUTED }));
    y += 16;
  }
  nodes.push(v('line', { x1: gridX, y1: y, x2: gridX + gridW, y2: y, stroke: LINE }));
  const pic = svgRoot(W, y + 6, r.method === 'neuron-relevance' ? 'Relevance flowing from the neuron to the input tokens of this text' : `Relevance flowing from the output down ${levels.length - 2} layers to the input tokens of this text`, nodes);
  // Said under the picture (HTML wraps; SVG text does not).
  pic.notes = [];
  if (levels.some((L) => L.parallel)) pic.notes.push('The two directions of the LSTM sit side by side, not one after the other, and their states over time are no cut through the network: no drop is shown across them.');
  if (r.method === 'lrp' && layersResult?.layers?.length) pic.notes.push('The layers come from a layer-relevance run on the same text with the same epsilon; the input row is this LRP result.');
  if (r.method === 'neuron-relevance') pic.notes.push('Neuron relevance starts from one neuron, so there are no layers above it to draw.');
  return pic;
}
