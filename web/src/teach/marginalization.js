// Input marginalization (Kim et al. 2020): for each word, the words the
// masked language model proposed in its place, each with its weight (its
// probability renormalised over the kept candidates) and the probability of
// the class with it in the word's place. p(y | x without w) is the weighted
// mean of those; the word's score is log2 odds p(y|x) - log2 odds of it.
// Hovering a word's row (its <title>) lists its top candidates and weights:
// what "marginalizing the word out" averages over.
import { v, fit, signed, num } from './vnode.js';
import { AGAINST, FOR, INK, LINE, MUTED, MAX_ROWS, measureOr, svgRoot, text, wordsOf } from './common.js';

// Candidates shown inline per row (all of the result's in the hover).
const INLINE = 3;

// [{ index, text, score, candidates: [{text, weight, probability, output}], marginal }] per word.
export function marginalRows(r) {
  const raw = r.words || [];
  return wordsOf(r).map((w, i) => {
    const cands = Array.isArray(raw[i]?.candidates) ? raw[i].candidates.filter((c) => c && typeof c.text === 'string') : [];
    // The weighted mean over the shown candidates (the result keeps the top
    // few; the score itself used every kept candidate).
    let sw = 0, sp = 0;
    for (const c of cands) if (Number.isFinite(c.weight) && Number.isFinite(c.output)) { sw += c.weight; sp += c.weight * c.output; }
    return { ...w, candidates: cands, marginal: sw > 0 ? sp / sw : null, shownWeight: sw };
  });
}

// The hover text of a row: the word, its score and its candidates.
export function candidateLines(row, py) {
  const lines = [`\u201c${row.text}\u201d: score ${signed(row.score, 3)} bits`];
  if (!row.candidates.length) lines.push('no candidate above sigma that the classifier can read: score 0');
  for (const c of row.candidates)
    lines.push(`${c.text}: weight ${(100 * c.weight).toFixed(1)}%, p(${py}) = ${num(c.output, 3)}`);
  return lines;
}

export function marginalizationPicture(r, opts = {}) {
  const W = Math.max(300, opts.width || 640);
  const measure = measureOr(opts, 12);
  const small = measureOr(opts, 10);
  const py = r.prediction?.target_name || 'y';
  const all = marginalRows(r);
  const rows = all.slice(0, MAX_ROWS);
  const rowH = 34, top = 40;
  const wordW = Math.min(140, Math.max(60, ...rows.map((x) => measure(x.text) + 8)));
  const barX = wordW + 12, barW = Math.max(120, W - barX - 150);
  const nodes = [
    text(8, 14, fit(`each row: what the masked LM would put in the word\u2019s place, bar width = weight; hover a row for its candidates and p(${py}) with each`, W - 16, measureOr(opts, 11)), { 'font-size': 11, fill: MUTED }),
    text(8, 30, fit(`score = log\u2082 odds p(${py} | text) \u2212 log\u2082 odds p(${py} | word marginalized out)`, W - 16, measureOr(opts, 11)), { 'font-size': 11, fill: MUTED }),
  ];
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const colour = row.score >= 0 ? FOR : AGAINST;
    const parts = [
      v('title', {}, candidateLines(row, py).join('\n')),
      text(8, y + 16, fit(row.text, wordW, measure), { 'font-size': 12, fill: INK, 'font-weight': 600 }),
    ];
    let x = barX;
    row.candidates.slice(0, INLINE).forEach((c) => {
      const w = Math.max(2, barW * Math.min(1, Math.max(0, c.weight)));
      parts.push(v('rect', { x, y: y + 4, width: w, height: 16, fill: c.output >= (r.prediction?.explained_value ?? 0) ? FOR : AGAINST, 'fill-opacity': 0.25, stroke: LINE }));
      if (w > 24) parts.push(text(x + 3, y + 16, fit(c.text, w - 6, small), { 'font-size': 10, fill: INK }));
      x += w;
    });
    const rest = row.candidates.slice(INLINE).reduce((s, c) => s + (Number.isFinite(c.weight) ? c.weight : 0), 0);
    if (rest > 0) parts.push(v('rect', { x, y: y + 4, width: Math.max(1, barW * Math.min(1, rest)), height: 16, fill: LINE, 'fill-opacity': 0.5 }));
    parts.push(text(barX + barW + 8, y + 16, `${signed(row.score, 2)} bits`, { 'font-size': 11, fill: colour }));
    nodes.push(v('g', { class: 'marginal-row', 'data-word': i, tabindex: 0 }, ...parts));
  });
  let y = top + rows.length * rowH;
  if (all.length > rows.length) {
    nodes.push(text(8, y + 10, `${all.length - rows.length} more words not drawn`, { 'font-size': 11, fill: MUTED }));
    y += 18;
  }
  nodes.push(v('line', { x1: 8, y1: y + 2, x2: W - 8, y2: y + 2, stroke: LINE }));
  return svgRoot(W, y + 8, `Input marginalization on this text: for each word, the words a masked language model proposed in its place and their weights`, nodes);
}
