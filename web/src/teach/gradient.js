// Gradient methods: the local slope at the text (gradient, gradient x
// input, saliency, where squaring loses the sign) and what SmoothGrad's
// noise does (the slope at each noisy copy, and their mean).
import { v, fit, signed, num } from './vnode.js';
import { AGAINST, FOR, INK, LINE, MUTED, MAX_ROWS, barColour, extent, isUnsigned, maxAbsOf, measureOr, outputName, scaler, svgRoot, text, wordsOf } from './common.js';

// Word scores of another result, by word index (the same text: same words).
function scoresByWord(other, n) {
  if (!other?.words || other.words.length !== n) return null;
  return other.words.map((w) => (Number.isFinite(w.score) ? w.score : 0));
}

function labelColumn(words, measure, W) {
  return Math.min(Math.max(56, ...words.map((w) => measure(w.text) + 10)), Math.round(W * 0.3));
}

// One row per word: the word, the local slope drawn as a tilted segment
// (from this result for gradient, from a plain gradient of the same text
// for saliency and gradient x input), and the method's score as a bar:
// diverging from 0 for signed scores, from 0 to the right in the
// sequential colour for magnitudes.
export function slopePicture(r, opts = {}, extra = {}) {
  const W = Math.max(300, opts.width || 640);
  const measure = measureOr(opts, 12);
  const all = wordsOf(r);
  const words = all.slice(0, MAX_ROWS);
  const unsigned = isUnsigned(r);
  const slopes = r.method === 'gradient' ? words.map((w) => w.score) : scoresByWord(extra.gradient, all.length)?.slice(0, MAX_ROWS);
  const rowH = 24, top = 34;
  const labelW = labelColumn(words, measure, W);
  const glyphX = 8 + labelW + 6, glyphW = slopes ? 46 : 0;
  const barX = glyphX + glyphW + 10, barEnd = W - 60;
  const scores = words.map((w) => w.score);
  const sMax = maxAbsOf(scores) || 1;
  const gMax = slopes ? maxAbsOf(slopes) || 1 : 1;
  const zero = unsigned ? barX : (barX + barEnd) / 2;
  const half = unsigned ? barEnd - barX : (barEnd - barX) / 2;
  const nodes = [
    text(8, 14, 'word', { 'font-size': 11, fill: MUTED }),
    slopes ? text(glyphX, 14, 'slope', { 'font-size': 11, fill: MUTED }) : null,
    text(barX, 14, unsigned ? `${scoreName(r)} (importance: a size, never a direction)` : `${scoreName(r)} (\u2212 against, + for)`, { 'font-size': 11, fill: MUTED }),
    v('line', { x1: zero, y1: top - 4, x2: zero, y2: top + words.length * rowH, stroke: LINE }),
  ];
  words.forEach((w, i) => {
    const cy = top + i * rowH + rowH / 2;
    nodes.push(text(8 + labelW, cy + 4, fit(w.text, labelW - 4, measure), { 'text-anchor': 'end', class: 'slope-word' }));
    if (slopes) {
      const g = slopes[i];
      const ang = Math.atan((g / gMax) * 1.2); // +-50 degrees at the largest slope
      const dx = 16 * Math.cos(ang), dy = 16 * Math.sin(ang);
      const cx = glyphX + glyphW / 2;
      nodes.push(
        v(
          'g',
          { class: 'slope-glyph', 'data-slope': g },
          v('circle', { cx, cy, r: 2.2, fill: INK }),
          v('line', { x1: cx - dx, y1: cy + dy, x2: cx + dx, y2: cy - dy, stroke: g >= 0 ? FOR : AGAINST, 'stroke-width': 2.2, 'stroke-linecap': 'round' }),
          v('title', {}, `${w.text}: slope ${signed(g, 3)} (the ${outputName(r)} ${g >= 0 ? 'rises' : 'falls'} as this word's embedding grows along itself)`),
        ),
      );
    }
    const len = (Math.abs(w.score) / sMax) * half;
    const x = unsigned || w.score >= 0 ? zero : zero - len;
    nodes.push(
      v('rect', { class: 'score-bar', x, y: cy - 7, width: Math.max(0.5, len), height: 14, fill: barColour(w.score, unsigned), 'fill-opacity': 0.85, 'data-score': w.score }, v('title', {}, `${w.text}: ${signed(w.score, 4)}`)),
    );
    // The number right of the bar, or right of 0 for a bar going left.
    nodes.push(text(unsigned || w.score >= 0 ? x + len + 4 : zero + 4, cy + 4, unsigned ? num(w.score, 2) : signed(w.score, 2), { 'font-size': 10, fill: MUTED }));
  });
  let y = top + words.length * rowH + 6;
  if (all.length > words.length) {
    nodes.push(text(8, y + 10, `${all.length - words.length} more words not drawn`, { 'font-size': 11, fill: MUTED }));
    y += 18;
  }
  return svgRoot(W, y + 4, `${scoreName(r)} of each word of this text${slopes ? ', with the local slope' : ''}`, nodes);
}

function scoreName(r) {
  return { gradient: 'gradient', saliency: 'saliency \u2016\u2207f\u2016\u00b2', 'gradient-x-input': 'gradient \u00d7 input', smoothgrad: 'SmoothGrad', 'smoothgrad-squared': 'SmoothGrad\u00b2' }[r.method] || r.method;
}

// SmoothGrad: for each word, the score at each noisy copy of the text
// (grey dots, one per copy: extra.samples, results of one copy each), the
// score without noise (a black tick: extra.plain) and their average,
// which is the method's score (the coloured diamond).
export function noisePicture(r, opts = {}, extra = {}) {
  const W = Math.max(300, opts.width || 640);
  const measure = measureOr(opts, 12);
  const all = wordsOf(r);
  const words = all.slice(0, MAX_ROWS);
  const unsigned = isUnsigned(r);
  const samples = (extra.samples || []).map((s) => scoresByWord(s, all.length)).filter(Boolean);
  const plain = scoresByWord(extra.plain, all.length);
  const values = [...words.map((w) => w.score), ...samples.flatMap((s) => s.slice(0, words.length)), ...(plain ? plain.slice(0, words.length) : [])];
  const rowH = 24, top = 34;
  const labelW = labelColumn(words, measure, W);
  const x0 = 8 + labelW + 10, x1 = W - 16;
  const xs = scaler(extent(values, true), [x0, x1]);
  const nodes = [
    text(8, 14, 'word', { 'font-size': 11, fill: MUTED }),
    text(x0, 14, `\u25cb each of ${samples.length} noisy copies \u00b7 | no noise \u00b7 \u25c6 ${r.method === 'smoothgrad-squared' ? 'SmoothGrad\u00b2' : 'SmoothGrad'} (the result)`, { 'font-size': 11, fill: MUTED }),
    v('line', { x1: xs(0), y1: top - 4, x2: xs(0), y2: top + words.length * rowH, stroke: LINE }),
  ];
  words.forEach((w, i) => {
    const cy = top + i * rowH + rowH / 2;
    nodes.push(text(8 + labelW, cy + 4, fit(w.text, labelW - 4, measure), { 'text-anchor': 'end', class: 'noise-word' }));
    nodes.push(v('line', { x1: x0, y1: cy, x2: x1, y2: cy, stroke: '#eef0f5' }));
    samples.forEach((s, k) =>
      nodes.push(v('circle', { class: 'noise-sample', cx: xs(s[i]), cy: cy + ((k % 3) - 1) * 3, r: 3, fill: 'none', stroke: '#7d8598', 'stroke-width': 1 }, v('title', {}, `${w.text}, noisy copy ${k + 1}: ${signed(s[i], 3)}`))),
    );
    if (plain) nodes.push(v('line', { class: 'plain-grad', x1: xs(plain[i]), y1: cy - 8, x2: xs(plain[i]), y2: cy + 8, stroke: INK, 'stroke-width': 2 }, v('title', {}, `${w.text}, without noise: ${signed(plain[i], 3)}`)));
    const cx = xs(w.score);
    nodes.push(
      v('path', { class: 'smooth-mean', d: `M ${cx} ${cy - 6} L ${cx + 6} ${cy} L ${cx} ${cy + 6} L ${cx - 6} ${cy} Z`, fill: barColour(w.score, unsigned), stroke: '#fff', 'stroke-width': 1 }, v('title', {}, `${w.text}: ${signed(w.score, 4)} (the average)`)),
    );
  });
  let y = top + words.length * rowH + 6;
  if (all.length > words.length) {
    nodes.push(text(8, y + 10, `${all.length - words.length} more words not drawn`, { 'font-size': 11, fill: MUTED }));
    y += 18;
  }
  return svgRoot(W, y + 4, `What the noise does on this text: each word's score at ${samples.length} noisy copies, without noise, and their average`, nodes);
}
