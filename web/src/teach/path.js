// Path methods: Integrated Gradients (the straight path from the baseline
// to the input, the explained output along it at the quadrature points,
// and the integrand) and Integrated Hessians (arcs between the words that
// change each other's importance).
import { v, fit, num, signed } from './vnode.js';
import { AGAINST, FOR, INK, LINE, MUTED, MAX_ROWS, check, extent, maxAbsOf, measureOr, outputName, scaler, svgRoot, text, wordsOf } from './common.js';

// The points of f along the path, from the result: [{ alpha, f, weight }]
// sorted by alpha, plus the end points. null when the module does not
// report the path.
export function pathPoints(r) {
  const p = r?.path;
  if (!p || !Array.isArray(p.alphas) || !Array.isArray(p.f) || p.alphas.length !== p.f.length || !p.alphas.length) return null;
  const pts = p.alphas.map((alpha, k) => ({ alpha, f: p.f[k], weight: Array.isArray(p.weights) ? p.weights[k] : 1 / p.alphas.length, k }));
  pts.sort((a, b) => a.alpha - b.alpha);
  const fx = Number.isFinite(p.f_input) ? p.f_input : r.prediction?.explained_value;
  let f0 = p.f_baseline;
  if (!Number.isFinite(f0)) {
    const c = check(r, 'completeness-gap');
    f0 = c && Number.isFinite(c.reference) ? fx - c.reference : NaN;
  }
  return { points: pts, f0, fx };
}

// f(x') and f(x) when the path is not reported: the completeness check's
// reference is f(x) - f(x').
function endsOnly(r) {
  const fx = r.prediction?.explained_value;
  const c = check(r, 'completeness-gap') || check(r, 'interaction-completeness-gap');
  const f0 = c && Number.isFinite(c.reference) ? fx - c.reference : NaN;
  return { points: [], f0, fx };
}

function baselineLabel(r) {
  const b = r.options?.baseline ?? 'zero';
  return { zero: 'all-zero embeddings', pad: '[PAD] embeddings', mask: '[MASK] embeddings', unk: '[UNK] embeddings', 'random-words': 'random words (averaged)' }[b] || String(b);
}
function baselineToken(r) {
  const b = r.options?.baseline ?? 'zero';
  return { pad: '[PAD]', mask: '[MASK]', unk: '[UNK]', 'random-words': '?' }[b] || '';
}

// The text at alpha = 0, 1/2 and 1: every word's embedding moving on a
// straight line from the baseline's to its own (drawn as fading in).
function pathStrip(r, x0, y0, width, measure) {
  const words = wordsOf(r);
  const out = [];
  const rows = [
    { alpha: 0, label: `\u03b1 = 0: x\u2032, ${baselineLabel(r)}` },
    { alpha: 0.5, label: '\u03b1 = \u00bd: x\u2032 + \u00bd(x \u2212 x\u2032)' },
    { alpha: 1, label: '\u03b1 = 1: x, the text' },
  ];
  const tok = baselineToken(r);
  const maxLines = 2;
  let y = y0;
  for (const row of rows) {
    out.push(text(x0, y + 11, row.label, { 'font-size': 11, fill: MUTED }));
    y += 16;
    let x = x0;
    let line = 0;
    let shown = 0;
    for (const w of words) {
      const wt = Math.max(measure(w.text), tok && row.alpha === 0 ? measure(tok) : 0) + 8;
      if (x + wt > x0 + width - 14 && x > x0) {
        if (line + 1 >= maxLines) break;
        ++line;
        x = x0;
        y += 22;
      }
      const label = row.alpha === 0 ? tok : w.text;
      out.push(
        v(
          'g',
          { class: 'path-word', 'data-alpha': row.alpha },
          v('rect', { x, y, width: wt, height: 18, rx: 4, fill: row.alpha === 0 ? '#fff' : '#dfe7f3', 'fill-opacity': row.alpha === 0 ? 1 : row.alpha, stroke: '#8a94a8', 'stroke-dasharray': row.alpha === 0 ? '3 2' : null }),
          label ? text(x + 4, y + 13, label, { 'fill-opacity': row.alpha === 0 ? 0.6 : Math.max(0.35, row.alpha) }) : null,
        ),
      );
      x += wt + 4;
      ++shown;
    }
    if (shown < words.length) out.push(text(Math.min(x, x0 + width - 10), y + 13, '\u2026', { fill: MUTED }));
    y += 24;
  }
  return { nodes: out, height: y - y0 };
}

// Integrated Gradients: the path, the output along it with one marker per
// quadrature point (its area ~ the point's weight), and the integrand
// (the slope of that curve) whose area is f(x) - f(x').
export function igPathPicture(r, opts = {}) {
  const W = Math.max(300, opts.width || 640);
  const measure = measureOr(opts, 12);
  const data = pathPoints(r) || endsOnly(r);
  const hasPath = data.points.length > 0;
  const strip = pathStrip(r, 8, 6, W - 16, measure);
  const nodes = [...strip.nodes];
  let y = strip.height + 16;

  // The output along the path.
  const left = 28, right = W - 12;
  const chartH = 150;
  const all = [data.f0, data.fx, ...data.points.map((p) => p.f)];
  const ys = scaler(extent(all, false), [y + chartH, y + 8]);
  const xs = scaler([0, 1], [left, right]);
  nodes.push(text(8, y, `f along the path: the ${outputName(r)}`, { 'font-size': 12, 'font-weight': 600 }));
  y += 6;
  const line = [];
  if (Number.isFinite(data.f0)) line.push([0, data.f0]);
  for (const p of data.points) line.push([p.alpha, p.f]);
  if (Number.isFinite(data.fx)) line.push([1, data.fx]);
  // Axes.
  nodes.push(v('line', { x1: left, y1: y + chartH, x2: right, y2: y + chartH, stroke: LINE }));
  nodes.push(v('line', { x1: left, y1: y + 8, x2: left, y2: y + chartH, stroke: LINE }));
  for (const a of [0, 0.25, 0.5, 0.75, 1]) nodes.push(text(xs(a), y + chartH + 14, String(a), { 'font-size': 10, fill: MUTED, 'text-anchor': 'middle' }));
  nodes.push(text(right, y + chartH + 26, '\u03b1 (0: baseline x\u2032, 1: input x)', { 'font-size': 10, fill: MUTED, 'text-anchor': 'end' }));
  // Both end values labelled at the right, where the curve ends at f(x):
  // f(x) on the side away from f(x'), f(x') on its own line.
  const fxAbove = !(ys(data.fx) > ys(data.f0));
  for (const [val, name, above] of [[data.f0, 'f(x\u2032)', !fxAbove], [data.fx, 'f(x)', fxAbove]]) {
    if (!Number.isFinite(val)) continue;
    nodes.push(v('line', { x1: left, y1: ys(val), x2: right, y2: ys(val), stroke: MUTED, 'stroke-dasharray': '4 3', 'stroke-width': 0.8 }));
    nodes.push(text(right - 2, ys(val) + (above ? -5 : 13), `${name} = ${num(val, 3)}`, { 'font-size': 10, fill: MUTED, 'text-anchor': 'end', class: 'end-label' }));
  }
  if (line.length >= 2)
    nodes.push(
      v('polyline', {
        class: 'f-path',
        points: line.map(([a, f]) => `${xs(a).toFixed(2)},${ys(f).toFixed(2)}`).join(' '),
        fill: 'none',
        stroke: hasPath ? INK : MUTED,
        'stroke-width': 1.6,
        'stroke-dasharray': hasPath ? null : '6 4',
      }),
    );
  const wmax = Math.max(1e-12, ...data.points.map((p) => Math.abs(p.weight)));
  for (const p of data.points)
    nodes.push(
      v(
        'circle',
        { class: 'quad-point', cx: xs(p.alpha), cy: ys(p.f), r: 2.2 + 3.8 * Math.sqrt(Math.abs(p.weight) / wmax), fill: '#1f5fa8', 'fill-opacity': 0.85, 'data-alpha': p.alpha, 'data-f': p.f },
        v('title', {}, `\u03b1 = ${num(p.alpha, 4)}, weight ${num(p.weight, 3)}: f = ${num(p.f, 4)}`),
      ),
    );
  if (!hasPath) nodes.push(text(left + 8, y + 24, 'This module does not report the points along the path: only the ends are drawn.', { 'font-size': 11, fill: MUTED, class: 'no-path' }));
  y += chartH + 40;

  // The integrand: the curve's slope between neighbouring points.
  if (line.length >= 2) {
    const segs = [];
    for (let i = 1; i < line.length; ++i) {
      const da = line[i][0] - line[i - 1][0];
      if (da > 1e-9) segs.push({ a0: line[i - 1][0], a1: line[i][0], slope: (line[i][1] - line[i - 1][1]) / da });
    }
    const h2 = 90;
    nodes.push(text(8, y, 'the integrand: the slope of f along the path', { 'font-size': 12, 'font-weight': 600 }));
    nodes.push(text(8, y + 15, 'df/d\u03b1 = \u03a3\u1d62 (x\u1d62 \u2212 x\u2032\u1d62)\u00b7\u2202f/\u2202x\u1d62; its area is f(x) \u2212 f(x\u2032)', { 'font-size': 11, fill: MUTED }));
    y += 22;
    const sy = scaler(extent(segs.map((s) => s.slope), true), [y + h2, y + 4]);
    nodes.push(v('line', { x1: left, y1: sy(0), x2: right, y2: sy(0), stroke: LINE }));
    nodes.push(text(left - 4, sy(0) + 4, '0', { 'font-size': 10, fill: MUTED, 'text-anchor': 'end' }));
    for (const sg of segs) {
      const ya = sy(sg.slope), yb = sy(0);
      nodes.push(
        v(
          'rect',
          { class: 'integrand', x: xs(sg.a0), width: Math.max(0.8, xs(sg.a1) - xs(sg.a0) - 0.5), y: Math.min(ya, yb), height: Math.max(0.5, Math.abs(ya - yb)), fill: sg.slope >= 0 ? FOR : AGAINST, 'fill-opacity': 0.75 },
          v('title', {}, `\u03b1 ${num(sg.a0, 3)} to ${num(sg.a1, 3)}: slope ${signed(sg.slope, 3)}, area ${signed(sg.slope * (sg.a1 - sg.a0), 3)}`),
        ),
      );
    }
    y += h2 + 10;
  }
  const label = hasPath
    ? `Integrated Gradients on this text: the ${outputName(r)} along the straight path from the baseline (${num(data.f0)}) to the input (${num(data.fx)}), at ${data.points.length} quadrature points`
    : `Integrated Gradients on this text: the path from the baseline (${num(data.f0)}) to the input (${num(data.fx)})`;
  return svgRoot(W, Math.ceil(y + 4), label, nodes);
}

// The interaction matrix over words, from the result: r.interactions.words
// (or word_interactions), square, one row per word. null when missing.
export function wordInteractions(r) {
  const cand = [r?.word_interactions, r?.interactions?.words, Array.isArray(r?.interactions) ? r.interactions : null];
  for (const M of cand) if (Array.isArray(M) && M.length && M.every((row) => Array.isArray(row) && row.length === M.length)) return M;
  return null;
}

// The strongest word pairs by |M[i][j] + M[j][i]| (i < j), at most k.
export function strongestPairs(M, k = 8) {
  const pairs = [];
  for (let i = 0; i < M.length; ++i) for (let j = i + 1; j < M.length; ++j) {
    const val = (M[i][j] ?? 0) + (M[j][i] ?? 0);
    if (Number.isFinite(val) && val !== 0) pairs.push({ i, j, value: val });
  }
  pairs.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  return pairs.slice(0, k);
}

// Integrated Hessians: the words down the side, each word's own effect
// (the diagonal) as a bar, and arcs between the pairs that interact most
// (orange: together they add to the class, purple: they take away).
export function ihArcsPicture(r, opts = {}) {
  const W = Math.max(300, opts.width || 640);
  const M = wordInteractions(r);
  const words = wordsOf(r);
  const measure = measureOr(opts, 12);
  if (!M) return svgRoot(W, 40, 'No interaction matrix in this result', [text(8, 24, 'This result has no interaction matrix.', { fill: MUTED, class: 'no-path' })]);
  const n = Math.min(M.length, words.length || M.length, MAX_ROWS);
  const k = opts.arcs ?? 8;
  const pairs = strongestPairs(M.slice(0, n).map((row) => row.slice(0, n)), k);
  const rowH = 22, top = 30;
  const labelW = Math.min(150, Math.max(60, ...words.slice(0, n).map((w) => measure(w.text) + 8)));
  const barW = Math.min(120, W * 0.22);
  const x0 = 8 + labelW + 6;
  const arcX = x0 + barW + 14;
  const diag = Array.from({ length: n }, (_, i) => M[i][i]);
  const dScale = maxAbsOf(diag) || 1;
  const offScale = maxAbsOf(pairs.map((p) => p.value)) || 1;
  const nodes = [
    text(8, 14, 'word', { 'font-size': 11, fill: MUTED }),
    text(x0, 14, 'own effect \u0393\u1d62\u1d62', { 'font-size': 11, fill: MUTED }),
    text(arcX, 14, `strongest ${pairs.length} interactions \u0393\u1d62\u2c7c + \u0393\u2c7c\u1d62`, { 'font-size': 11, fill: MUTED }),
  ];
  const cy = (i) => top + i * rowH + rowH / 2;
  const mid = x0 + barW / 2;
  nodes.push(v('line', { x1: mid, y1: top - 2, x2: mid, y2: top + n * rowH, stroke: LINE }));
  for (let i = 0; i < n; ++i) {
    const w = words[i] || { text: String(i) };
    nodes.push(text(8 + labelW, cy(i) + 4, fit(w.text, labelW - 4, measure), { 'text-anchor': 'end', class: 'ih-word' }));
    const len = (Math.abs(diag[i]) / dScale) * (barW / 2);
    nodes.push(
      v('rect', { x: diag[i] >= 0 ? mid : mid - len, y: cy(i) - 6, width: Math.max(0.5, len), height: 12, fill: diag[i] >= 0 ? FOR : AGAINST, 'fill-opacity': 0.8 }, v('title', {}, `${w.text}: own effect ${signed(diag[i], 3)}`)),
    );
    nodes.push(v('circle', { cx: arcX, cy: cy(i), r: 2.5, fill: MUTED }));
  }
  const maxBulge = Math.max(30, W - arcX - 12);
  for (const p of pairs) {
    const ya = cy(p.i), yb = cy(p.j);
    const bulge = Math.min(maxBulge, 18 + (yb - ya) * 0.55);
    const wa = words[p.i]?.text ?? String(p.i), wb = words[p.j]?.text ?? String(p.j);
    nodes.push(
      v(
        'path',
        {
          class: 'ih-arc',
          d: `M ${arcX} ${ya.toFixed(1)} C ${(arcX + bulge).toFixed(1)} ${ya.toFixed(1)}, ${(arcX + bulge).toFixed(1)} ${yb.toFixed(1)}, ${arcX} ${yb.toFixed(1)}`,
          fill: 'none',
          stroke: p.value >= 0 ? FOR : AGAINST,
          'stroke-width': (1 + 5 * Math.abs(p.value) / offScale).toFixed(2),
          'stroke-opacity': 0.8,
          'data-i': p.i,
          'data-j': p.j,
        },
        v('title', {}, `${wa} \u2194 ${wb}: ${signed(p.value, 3)}`),
      ),
    );
  }
  const more = M.length > n ? [text(8, top + n * rowH + 14, `${M.length - n} more words not drawn`, { 'font-size': 11, fill: MUTED })] : [];
  return svgRoot(W, top + n * rowH + (more.length ? 24 : 8), `Integrated Hessians on this text: each word's own effect and the ${pairs.length} strongest interactions between words`, [...nodes, ...more]);
}
