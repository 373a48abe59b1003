// The colour scales of the heatmaps. Signed scores (evidence for or
// against) use a diverging scale, ColorBrewer PuOr (purple - white -
// orange), which stays distinguishable for the common colour-vision
// deficiencies and in greyscale by lightness: evidence for the explained
// class is orange, evidence against it purple; the scale is symmetric
// around 0 and scaled by the largest |score| shown. Unsigned scores
// (magnitudes: saliency, SmoothGrad squared) use a sequential scale,
// ColorBrewer GnBu (white to dark blue-green), from 0 to the largest score,
// in neither of the diverging scale's colours: they say how much a word
// mattered, never for or against.

// ColorBrewer PuOr, 11 classes, from the orange end to the purple end.
export const PUOR = [
  '#7f3b08', '#b35806', '#e08214', '#fdb863', '#fee0b6', '#f7f7f7',
  '#d8daeb', '#b2abd2', '#8073ac', '#542788', '#2d004b',
];

export function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function rgbToHex([r, g, b]) {
  return '#' + [r, g, b].map((x) => Math.round(Math.max(0, Math.min(255, x))).toString(16).padStart(2, '0')).join('');
}

const STOPS = PUOR.map(hexToRgb);

// ColorBrewer GnBu, 9 classes, from the light end to the dark end.
export const GNBU = ['#f7fcf0', '#e0f3db', '#ccebc5', '#a8ddb5', '#7bccc4', '#4eb3d3', '#2b8cbe', '#0868ac', '#084081'];
const SEQ = GNBU.map(hexToRgb);

// v in [0, 1] (|v| for a negative, clamped) -> [r, g, b]: 0 near-white, 1 dark blue-green.
export function sequentialRgb(v) {
  if (!Number.isFinite(v)) v = 0;
  v = Math.min(1, Math.abs(v));
  const pos = v * (SEQ.length - 1);
  const i = Math.min(SEQ.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = SEQ[i], b = SEQ[i + 1];
  return [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * f);
}

// Words the model does not read (its unknown token, or past the cut): no
// colour of either scale.
export const UNREAD_BG = '#eceef2';
export const UNREAD_FG = '#4a5468';

// v in [-1, 1] (clamped) -> [r, g, b]: +1 dark orange, 0 near-white, -1 dark purple.
export function divergingRgb(v) {
  if (!Number.isFinite(v)) v = 0;
  v = Math.max(-1, Math.min(1, v));
  const pos = ((1 - v) / 2) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = STOPS[i], b = STOPS[i + 1];
  return [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * f);
}

// WCAG 2 relative luminance and contrast ratio.
export function luminance([r, g, b]) {
  const lin = (c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a, b) {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

// Black, not the page's ink (#161b26): between black and white one of the
// two always has at least 4.58:1 against any background (WCAG AA needs 4.5),
// and the page's ink would fall to 4.15 on the scale's middle purples.
const INK = [0, 0, 0];
const WHITE = [255, 255, 255];

// Background and text colour for a score, scaled by max |score|: the text
// colour is whichever of black and white contrasts more. scores: 'signed'
// (diverging scale) or 'unsigned' (sequential scale).
export function scoreColours(score, maxAbs, scores = 'signed') {
  const v = maxAbs > 0 ? score / maxAbs : 0;
  const bg = scores === 'unsigned' ? sequentialRgb(v) : divergingRgb(v);
  const fg = contrast(bg, INK) >= contrast(bg, WHITE) ? INK : WHITE;
  return { bg: rgbToHex(bg), fg: rgbToHex(fg), v };
}

export function maxAbs(values) {
  let m = 0;
  for (const x of values) if (Number.isFinite(x) && Math.abs(x) > m) m = Math.abs(x);
  return m;
}

// A short signed number: 3 significant digits, exponent form for the tiny
// and huge; "0" for zero.
export function formatScore(x, digits = 3) {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  const sign = x < 0 ? '\u2212' : '+';
  if (a < 1e-3 || a >= 1e5) return sign + a.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return sign + Number(a.toPrecision(digits)).toString();
}

// The scale's top: max |score| rounded up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
// times a power of ten, so the legend reads in round numbers.
export function niceScale(max) {
  if (!(max > 0) || !Number.isFinite(max)) return 0;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= max * (1 - 1e-9)) return m * p;
  return 10 * p;
}

// The legend's tick values: -max .. +max in `n` steps (n even); 0 .. max
// for unsigned scores.
export function legendTicks(max, n = 4, scores = 'signed') {
  const out = [];
  const lo = scores === 'unsigned' ? 0 : -max;
  for (let i = 0; i <= n; ++i) out.push(lo + ((max - lo) * i) / n);
  return out;
}

// The legend bar's colours, left to right: [{ offset in [0, 1], hex }].
export function legendStops(scores = 'signed', steps = 11) {
  const out = [];
  for (let i = 0; i < steps; ++i) {
    const f = i / (steps - 1);
    out.push({ offset: f, hex: rgbToHex(scores === 'unsigned' ? sequentialRgb(f) : divergingRgb(-1 + 2 * f)) });
  }
  return out;
}

// CSS linear-gradient for the legend bar: purple (left, against) to orange
// (right, for); white to blue-green (0 to the most important) when unsigned.
export function legendGradient(steps = 11, scores = 'signed') {
  return `linear-gradient(to right, ${legendStops(scores, steps).map((s) => `${s.hex} ${(100 * s.offset).toFixed(1)}%`).join(', ')})`;
}

// What the colours mean, in words, for a legend or an export.
export function legendMeaning(scores, target) {
  if (scores === 'unsigned') return 'importance (a magnitude: how much, not which way): white = none, dark blue-green = the most';
  return `orange = evidence for${target ? ` \u201c${target}\u201d` : ''}, purple = against, white = none`;
}
