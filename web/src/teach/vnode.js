// The pictures of the "How this works" panel are built as plain data
// (v('svg', attrs, ...children)) by pure functions, so Vitest can check
// them in node without a DOM. toDom() turns them into SVG/HTML elements
// through createElementNS and text nodes (never innerHTML: a word from
// the user's text cannot become markup); toMarkup() writes them as
// escaped SVG text (tests, and any future export).

const SVG_NS = 'http://www.w3.org/2000/svg';

export function v(tag, attrs, ...children) {
  return { tag, attrs: attrs || {}, children: children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false) };
}

export function escapeXml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// Attribute values are numbers or text; numbers get at most 2 decimals.
function attrValue(x) {
  if (typeof x === 'number') return Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '0';
  return String(x);
}

export function toMarkup(node) {
  if (typeof node === 'string' || typeof node === 'number') return escapeXml(node);
  const attrs = Object.entries(node.attrs)
    .filter(([, x]) => x !== undefined && x !== null && x !== false)
    .map(([k, x]) => ` ${k}="${escapeXml(attrValue(x))}"`)
    .join('');
  const ns = node.tag === 'svg' && !('xmlns' in node.attrs) ? ` xmlns="${SVG_NS}"` : '';
  return `<${node.tag}${ns}${attrs}>${node.children.map(toMarkup).join('')}</${node.tag}>`;
}

// Every element in the tree (depth first) for which pred(node) holds.
export function findAll(node, pred, out = []) {
  if (typeof node !== 'object' || !node) return out;
  if (pred(node)) out.push(node);
  for (const c of node.children) findAll(c, pred, out);
  return out;
}

// All the text of a tree, in order.
export function textOf(node) {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  return node.children.map(textOf).join(node.tag === 'text' || node.tag === 'tspan' ? '' : ' ');
}

export function toDom(node, doc = globalThis.document) {
  if (typeof node === 'string' || typeof node === 'number') return doc.createTextNode(String(node));
  const el = doc.createElementNS(SVG_NS, node.tag);
  for (const [k, x] of Object.entries(node.attrs)) if (x !== undefined && x !== null && x !== false) el.setAttribute(k, attrValue(x));
  for (const c of node.children) el.append(toDom(c, doc));
  return el;
}

// Text width without a DOM: average glyph widths of a sans-serif face
// (the page passes a canvas measure instead).
export function approxMeasure(fontSize) {
  return (t) => {
    let w = 0;
    for (const ch of String(t)) w += /[ilI.,:;'|!\s]/.test(ch) ? 0.3 : /[mwMW@]/.test(ch) ? 0.85 : /[A-Z0-9]/.test(ch) ? 0.64 : 0.54;
    return w * fontSize;
  };
}

// Cuts t with an ellipsis to fit `width` pixels.
export function fit(t, width, measure) {
  t = String(t);
  if (measure(t) <= width) return t;
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (measure(t.slice(0, mid) + '\u2026') <= width) lo = mid;
    else hi = mid - 1;
  }
  return t.slice(0, lo) + '\u2026';
}

// A short signed number (as the page's formatScore, with a real minus).
export function num(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '\u2013';
  if (x === 0) return '0';
  const a = Math.abs(x);
  const sign = x < 0 ? '\u2212' : '';
  if (a < 1e-3 || a >= 1e5) return sign + a.toExponential(digits - 1).replace(/\.?0+e/, 'e').replace('e-', 'e\u2212').replace('e+', 'e');
  return sign + Number(a.toPrecision(digits)).toString();
}

export function signed(x, digits = 3) {
  const s = num(x, digits);
  return Number.isFinite(x) && x > 0 ? '+' + s : s;
}

export function pct(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '\u2013';
  const a = 100 * Math.abs(x);
  if (a > 0 && a < 0.01) return '<0.01%';
  return `${Number(a.toPrecision(digits))}%`;
}
