// Occlusion: the texts with one word (or a window of words) occluded and
// the output the model gives each; a word's score is the drop
// f(x) - f(x with the word occluded), so f of the occluded text is
// f(x) - score (with a window of k words, the mean over the k windows that
// cover the word).
import { v, fit, signed, num } from './vnode.js';
import { AGAINST, FOR, INK, LINE, MUTED, MAX_ROWS, extent, measureOr, outputName, scaler, svgRoot, text, wordsOf } from './common.js';

const STAND_IN = { mask: '[MASK]', unk: '[UNK]', pad: '[PAD]' };

// [{ index, text, score, occluded: f(x) - score, before, after }] per word.
export function occludedOutputs(r) {
  const fx = r.prediction?.explained_value;
  const words = wordsOf(r);
  const raw = r.words || [];
  // The text between words as typed (spaces, none before a comma), when
  // the result has offsets; else a space.
  const sep = (i) => (typeof r.text === 'string' && raw[i] && raw[i + 1] && Number.isInteger(raw[i].end) && Number.isInteger(raw[i + 1].begin) ? r.text.slice(raw[i].end, raw[i + 1].begin).replace(/\s+/g, ' ') : ' ');
  return words.map((w, i) => ({
    ...w,
    occluded: fx - w.score,
    before: words.slice(0, i).map((x, j) => x.text + sep(j)),
    after: words.slice(i + 1).map((x, j) => sep(i + j) + x.text),
  }));
}

// A line of text around the occluded word that fits `width`: as many
// neighbours on each side as fit.
function snippet(row, mode, width, measure) {
  const mid = STAND_IN[mode] || row.text;
  let b = 0, a = 0;
  const make = () => ({
    before: (row.before.length > b ? '\u2026 ' : '') + row.before.slice(row.before.length - b).join(''),
    after: row.after.slice(0, a).join('') + (row.after.length > a ? ' \u2026' : ''),
  });
  for (let grow = true; grow; ) {
    grow = false;
    for (const side of ['b', 'a']) {
      const nb = side === 'b' ? b + 1 : b, na = side === 'a' ? a + 1 : a;
      if ((side === 'b' && nb > row.before.length) || (side === 'a' && na > row.after.length)) continue;
      const [ob, oa] = [b, a];
      [b, a] = [nb, na];
      const s = make();
      if (measure(s.before + mid + s.after) <= width) grow = true;
      else [b, a] = [ob, oa];
    }
  }
  return { ...make(), mid };
}

export function occlusionPicture(r, opts = {}) {
  const W = Math.max(300, opts.width || 640);
  const measure = measureOr(opts, 12);
  const mode = r.options?.mode ?? 'remove';
  const windowSize = Number(r.options?.window ?? 1);
  const fx = r.prediction?.explained_value;
  const all = occludedOutputs(r);
  const rows = all.slice(0, MAX_ROWS);
  const xs = scaler(extent([fx, ...rows.map((x) => x.occluded)], false), [12, W - (W < 480 ? 24 : 60)]);
  const small = measureOr(opts, 10);
  const rowH = 40, top = 46;
  const nodes = [
    text(8, 14, fit(`each row: the text with one ${windowSize > 1 ? `window of ${windowSize} words` : 'word'} ${mode === 'remove' ? 'removed' : mode === 'zero' ? 'zeroed' : `replaced by ${STAND_IN[mode] || mode}`}, and the ${outputName(r)} the model gives it`, W - 16, measureOr(opts, 11)), { 'font-size': 11, fill: MUTED }),
    v('line', { class: 'fx-line', x1: xs(fx), y1: 22, x2: xs(fx), y2: 36, stroke: INK, 'stroke-dasharray': '4 3' }),
    text(xs(fx) + 4, 32, `f(x) = ${num(fx, 4)}: the whole text`, { 'font-size': 11, fill: INK }),
  ];
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const sn = snippet(row, mode, W - 24, measure);
    nodes.push(
      v(
        'text',
        { x: 8, y: y + 12, 'font-size': 12, fill: MUTED, class: 'occluded-text', 'xml:space': 'preserve' },
        v('tspan', {}, sn.before),
        v('tspan', { fill: INK, 'font-weight': 600, 'text-decoration': mode === 'remove' || mode === 'zero' ? 'line-through' : null }, sn.mid),
        v('tspan', {}, sn.after),
      ),
    );
    const xa = xs(fx), xb = xs(row.occluded);
    nodes.push(v('line', { x1: xa, y1: y + 16, x2: xa, y2: y + 32, stroke: INK, 'stroke-dasharray': '3 2' }));
    const colour = row.score >= 0 ? FOR : AGAINST;
    nodes.push(
      v(
        'g',
        { class: 'occlusion-row', 'data-occluded': row.occluded, 'data-word': i },
        v('line', { x1: xa, y1: y + 24, x2: xb, y2: y + 24, stroke: colour, 'stroke-width': 6, 'stroke-opacity': 0.8 }),
        v('circle', { cx: xb, cy: y + 24, r: 4, fill: colour }),
        v('title', {}, `without \u201c${row.text}\u201d: f = ${num(row.occluded, 4)}, a drop of ${signed(row.score, 3)}`),
      ),
    );
    const label = `${num(row.occluded, 3)} (${row.score >= 0 ? 'drop' : 'rise'} ${num(Math.abs(row.score), 2)})`;
    const right = Math.max(xa, xb) + 8;
    const fits = right + small(label) <= W - 4;
    nodes.push(text(fits ? right : Math.min(xa, xb) - 8, y + 28, label, { 'font-size': 10, fill: MUTED, 'text-anchor': fits ? 'start' : 'end' }));
  });
  let y = top + rows.length * rowH;
  if (all.length > rows.length) {
    nodes.push(text(8, y + 10, `${all.length - rows.length} more words not drawn`, { 'font-size': 11, fill: MUTED }));
    y += 18;
  }
  nodes.push(v('line', { x1: 12, y1: y + 2, x2: W - 60, y2: y + 2, stroke: LINE }));
  return svgRoot(W, y + 8, `Occlusion on this text: the ${outputName(r)} with each word occluded, against ${num(fx, 3)} for the whole text`, nodes);
}
