// Data set > the document vectors' PCA (issue 19), as the CLI's evaluation
// report draws it: each explained row's document vector (sum over its words
// of score x the word's embedding, from model.explainBatch), scaled to unit
// length, projected on its first two principal components, one dot per row
// coloured by class (the file's label when the rows have labels, else the
// prediction). One SVG string serves the page (parsed, every text escaped)
// and the PNG / SVG / HTML / JSON exports.
import { escapeXml, EXPORT_FONT, LINE_COLOURS } from '../export.js';
import { labelIndex, pca2d, unitRows } from '../dataset.js';

const INK = '#161b26', MUTED = '#4a5468';

// rows: [{ index, label, pred, docvec }] -> { points: [{ index, x, y, cls }], classes, by }
export function pcaData(rows, labels, hasLabels) {
  const use = rows.filter((r) => r.docvec && r.pred);
  const xy = pca2d(unitRows(use.map((r) => r.docvec)));
  const by = hasLabels ? 'label' : 'prediction';
  const points = use.map((r, i) => {
    const cls = hasLabels ? labelIndex(r.label, labels) : r.pred.label;
    return { index: r.index, x: xy[i][0], y: xy[i][1] ?? 0, cls };
  });
  return { points, classes: labels, by };
}

export function pcaSvg({ points, classes, by }, { head = '', font = EXPORT_FONT } = {}) {
  const W = 560, H = 420, L = 40, R = 16, T = 16 + (head ? 20 : 0), B = 36;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const span = (v) => {
    const lo = Math.min(...v), hi = Math.max(...v);
    return hi > lo ? [lo, hi] : [lo - 1, hi + 1];
  };
  const [x0, x1] = points.length ? span(xs) : [-1, 1], [y0, y1] = points.length ? span(ys) : [-1, 1];
  const x = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const colour = (c) => (c >= 0 ? LINE_COLOURS[c % LINE_COLOURS.length] : MUTED);
  const parts = [];
  if (head) parts.push(`<text x="${L}" y="18" font-size="13" fill="${MUTED}">${escapeXml(head)}</text>`);
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#8a93a6" stroke-width="1"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle" font-size="11" fill="${MUTED}">first principal component</text>`);
  parts.push(`<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" font-size="11" fill="${MUTED}" transform="rotate(-90 14 ${(T + H - B) / 2})">second principal component</text>`);
  for (const p of points) {
    const name = p.cls >= 0 ? classes[p.cls] : 'a label the model does not have';
    parts.push(
      `<circle class="pca-dot" data-index="${p.index}" data-cls="${p.cls}" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3" fill="${colour(p.cls)}" fill-opacity="0.7">` +
        `<title>${escapeXml(`row ${p.index + 1}: ${name}`)}</title></circle>`,
    );
  }
  // The key: which colour is which class.
  let ky = H + 8;
  const shown = [...new Set(points.map((p) => p.cls))].sort((a, b) => a - b);
  for (const c of shown) {
    const n = points.filter((p) => p.cls === c).length;
    parts.push(`<circle cx="${L + 6}" cy="${ky}" r="5" fill="${colour(c)}"/>`);
    parts.push(`<text x="${L + 18}" y="${ky + 4}" font-size="12" fill="${INK}">${escapeXml(`${c >= 0 ? classes[c] : 'other label'} (${by}): ${n} rows`)}</text>`);
    ky += 18;
  }
  const Hh = Math.ceil(ky + 6);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Hh}" viewBox="0 0 ${W} ${Hh}" font-family="${escapeXml(font)}" role="img">`,
    `<title>${escapeXml(`Document vectors, first two principal components, coloured by ${by}`)}</title>`,
    `<rect width="${W}" height="${Hh}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

// The page's copy of the SVG: parsed as XML (the string escapes every text).
export function pcaElement(data) {
  const doc = new DOMParser().parseFromString(pcaSvg(data), 'image/svg+xml');
  const el = document.importNode(doc.documentElement, true);
  el.setAttribute('id', 'ds-pca');
  el.setAttribute('class', 'chart');
  el.removeAttribute('width');
  el.removeAttribute('height');
  return el;
}

export function pcaExport(data, { modelName = '', method = '', file = '' } = {}) {
  const head = `${modelName} \u00b7 ${method} document vectors \u00b7 PCA \u00b7 ${file}`;
  return {
    svg: () => pcaSvg(data, { head }),
    html: () => `<figure style="font:16px/1.6 system-ui,sans-serif;color:${INK};background:#fff;margin:0;padding:0.75em">${pcaSvg(data)}` +
      `<figcaption style="font-size:12px;color:${MUTED}">${escapeXml(head)} (wordlight)</figcaption></figure>\n`,
    json: () => JSON.stringify({ model: modelName, view: 'dataset-pca', method, file, coloured_by: data.by, classes: data.classes,
      points: data.points.map((p) => ({ row: p.index, x: p.x, y: p.y, class: p.cls >= 0 ? data.classes[p.cls] : null })) }, null, 2) + '\n',
  };
}
