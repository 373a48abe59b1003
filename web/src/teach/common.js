// Shared by the pictures: the words of a result, colours (diverging for
// signed scores, sequential for magnitudes), and a few SVG pieces.
import { contrast, divergingRgb, hexToRgb, rgbToHex, scoreColours } from '../colour.js';
import { v, approxMeasure } from './vnode.js';
import { methodScores } from '../names.js';

export const INK = '#161b26';
export const MUTED = '#4a5468';
export const LINE = '#c9ceda';
export const FOR = '#b35806';
export const AGAINST = '#542788';
export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif';

// Most words drawn one per row; longer texts show their first ones.
export const MAX_ROWS = 40;

export function wordText(r, w) {
  if (typeof r.text === 'string' && Number.isInteger(w.begin) && Number.isInteger(w.end) && w.end >= w.begin) return r.text.slice(w.begin, w.end);
  return w.text ?? '';
}

// [{ index, text, score, tokens, unknown }] in text order.
export function wordsOf(r) {
  return (r.words || []).map((w, index) => ({
    index,
    text: wordText(r, w),
    score: Number.isFinite(w.score) ? w.score : 0,
    tokens: w.tokens || [],
    unknown: w.unknown === true || (w.tokens || []).some((t) => r.tokens?.[t]?.unknown === true),
  }));
}

// Magnitudes (never negative): the result says so, else the registry
// (names.js reads it; the page keeps no list of its own).
export function isUnsigned(r, info) {
  const s = r?.scores ?? info?.scores;
  if (s === 'unsigned' || s === 'signed') return s === 'unsigned';
  return methodScores(r?.method ?? info?.name ?? '') === 'unsigned';
}

// ColorBrewer BuGn (5 classes, light to dark): a sequential scale that is
// neither of the diverging scale's ends (orange = for, purple = against).
const BUGN = ['#edf8fb', '#b2e2e2', '#66c2a4', '#2ca25f', '#006d2c'].map(hexToRgb);
function sequentialRgb(t) {
  t = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
  const pos = t * (BUGN.length - 1);
  const i = Math.min(BUGN.length - 2, Math.floor(pos));
  const f = pos - i;
  return [0, 1, 2].map((k) => BUGN[i][k] + (BUGN[i + 1][k] - BUGN[i][k]) * f);
}
export const IMPORTANCE = rgbToHex(sequentialRgb(0.85));

export function colours(score, scale, unsigned) {
  if (!unsigned) return scoreColours(score, scale);
  const bg = sequentialRgb(scale > 0 ? Math.abs(score) / scale : 0);
  const fg = contrast(bg, [0, 0, 0]) >= contrast(bg, [255, 255, 255]) ? [0, 0, 0] : [255, 255, 255];
  return { bg: rgbToHex(bg), fg: rgbToHex(fg) };
}

// The bar colour of a value: orange for, purple against, or the
// sequential scale's dark end for a magnitude.
export function barColour(x, unsigned) {
  if (unsigned) return IMPORTANCE;
  return x >= 0 ? FOR : AGAINST;
}
export { divergingRgb };

export function maxAbsOf(values) {
  let m = 0;
  for (const x of values) if (Number.isFinite(x) && Math.abs(x) > m) m = Math.abs(x);
  return m;
}

export function svgRoot(width, height, label, children) {
  return v(
    'svg',
    { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, 'font-family': FONT, class: 'teach-svg' },
    v('title', {}, label),
    children,
  );
}

export function text(x, y, t, attrs = {}) {
  return v('text', { x, y, 'font-size': 12, fill: INK, ...attrs }, String(t));
}

export function measureOr(opts, size) {
  return opts?.measure ? (t) => opts.measure(t, size) : approxMeasure(size);
}

// The output explained, for labels: "logit of 'positive'".
export function outputName(r) {
  const p = r?.prediction || {};
  const what = p.output === 'probability' ? 'probability' : 'logit';
  return `${what} of \u201c${p.target_name ?? p.label_name ?? '?'}\u201d`;
}

// A check by name (first match of a prefix).
export function check(r, name) {
  return (r?.checks || []).find((c) => c.name === name || c.name.startsWith(name));
}

// Extent of a list of values, padded, always containing 0 when asked.
export function extent(values, withZero = true) {
  let lo = Infinity, hi = -Infinity;
  for (const x of values) if (Number.isFinite(x)) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  if (withZero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-12) {
    hi += 0.5;
    lo -= 0.5;
  }
  const pad = 0.06 * (hi - lo);
  return [lo - (withZero && lo === 0 ? 0 : pad), hi + (withZero && hi === 0 ? 0 : pad)];
}

export function scaler([d0, d1], [r0, r1]) {
  return (x) => r0 + ((x - d0) / (d1 - d0)) * (r1 - r0);
}
