// Exports of every view: a standalone SVG (the page rasterises it to PNG),
// a self-contained HTML snippet (inline styles only) and JSON. Every export
// carries its colour bar and says what the colours mean (for / against, or
// importance for unsigned scores); words the model did not read (unknown to
// its vocabulary, or past its length limit) are drawn grey and marked "not
// read by this model", and the unread tail wraps like the rest of the text.
// Strings are escaped here, because these are files, not DOM.
import { UNREAD_BG, UNREAD_FG, formatScore, legendMeaning, legendStops, legendTicks, maxAbs, niceScale, scoreColours } from './colour.js';
import { resultKind, resultScores } from './names.js';
import { tailStart, unreadInfo, unreadSentence, wordUnknown } from './unread.js';

export const NOT_READ = 'not read by this model';
const INK = '#161b26';
const MUTED = '#4a5468';
export const EXPORT_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif';

export function escapeXml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// The text as runs: words (with their score; `unread` when the model saw
// its unknown token), the gaps between them, and the unread tail
// (`truncated`).
export function runs(result, scores) {
  const text = result.text;
  const cut = tailStart(result);
  const words = result.words.map((w, i) => ({ w, s: scores ? scores[i] : w.score })).sort((a, b) => a.w.begin - b.w.begin);
  const out = [];
  let at = 0;
  for (const { w, s } of words) {
    if (w.begin > at) out.push({ text: text.slice(at, w.begin) });
    out.push({ text: text.slice(w.begin, w.end), score: s, word: w, unread: wordUnknown(result, w) });
    at = Math.max(at, w.end);
  }
  if (at < text.length) {
    const from = cut >= at ? cut : -1;
    if (from < 0) out.push({ text: text.slice(at) });
    else {
      if (from > at) out.push({ text: text.slice(at, from) });
      out.push({ text: text.slice(from), truncated: true });
    }
  }
  return out;
}

// A multi-label model's labels are independent (each its own probability),
// so the title names every label above 50%, not one "prediction".
function predictedPart(p, labels = []) {
  const pc = (v) => `${(100 * v).toFixed(1)}%`;
  if (!p.multi_label) return `predicted "${p.label_name}" (${pc(p.probabilities[p.label])})`;
  const above = p.probabilities.map((v, i) => [v, i]).filter(([v]) => v > 0.5).sort((a, b) => b[0] - a[0]);
  const named = (i) => labels[i] ?? (i === p.label ? p.label_name : i === p.target ? p.target_name : `label ${i}`);
  return above.length
    ? `multi-label: ${above.map(([v, i]) => `"${named(i)}" ${pc(v)}`).join(', ')} above 50%`
    : `multi-label: no label above 50% (highest "${p.label_name}" ${pc(p.probabilities[p.label])})`;
}

export function title(result, modelName, methodLabel, labels = []) {
  const p = result.prediction;
  const kind = resultKind(result);
  const what = result.explains?.title || (kind !== 'output' && result.title) || (kind === 'neuron' ? `what drives ${result.unit || 'the neuron'}` : `explaining "${p.target_name}"`);
  const parts = [modelName, methodLabel || result.method, what, predictedPart(p, labels)];
  return parts.filter(Boolean).join(' \u00b7 ');
}

// Lays out runs into lines no wider than `width`, breaking at whitespace
// (the gaps and the unread tail wrap word by word; a word wider than a
// line is cut into pieces) and at line breaks. measure(text) -> width in px.
export function layout(rs, measure, width, lineHeight) {
  const lines = [[]];
  let x = 0;
  const pad = 3;
  const newLine = () => {
    lines.push([]);
    x = 0;
  };
  for (const r of rs) {
    if (r.score === undefined) {
      for (const part of r.text.split(/(\n|[ \t\r\f\v\u00a0]+)/)) {
        if (!part) continue;
        if (part === '\n') {
          newLine();
          continue;
        }
        if (/^\s+$/.test(part)) {
          if (x === 0) continue;
          const w = measure(' ');
          if (x + w > width) newLine();
          else x += w;
          continue;
        }
        // A word of the gap or the tail: wraps; one wider than a line is split.
        let rest = part;
        while (rest) {
          let take = rest;
          if (measure(take) > width) {
            const chars = [...rest];
            let n = chars.length;
            while (n > 1 && measure(chars.slice(0, n).join('')) > width - x) n--;
            if (x > 0 && measure(chars.slice(0, n).join('')) > width - x) {
              newLine();
              continue;
            }
            take = chars.slice(0, n).join('');
          }
          const w = measure(take);
          if (x > 0 && x + w > width) newLine();
          lines.at(-1).push({ ...r, text: take, x, w });
          x += w;
          rest = rest.slice(take.length);
        }
      }
    } else {
      const w = Math.min(width, measure(r.text) + 2 * pad);
      if (x > 0 && x + w > width) newLine();
      lines.at(-1).push({ ...r, x, w, pad });
      x += w;
    }
  }
  return lines.map((items, i) => ({ y: i * lineHeight, items }));
}

// A rough width for when there is no canvas (node tests).
export function approxMeasure(fontSize) {
  return (t) => [...t].length * fontSize * 0.56;
}

// ------------------------------------------------------------ SVG pieces

let gradientId = 0;

// A colour bar with five numbers and what the colours mean -> { parts, height }.
export function svgLegend({ x, y, width, scale, scores = 'signed', target = '', unread = false, note = '' }) {
  const id = `wl-scale-${++gradientId}`;
  const barW = Math.min(320, width);
  const parts = [`<defs><linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0">`];
  for (const s of legendStops(scores)) parts.push(`<stop offset="${s.offset.toFixed(2)}" stop-color="${s.hex}"/>`);
  parts.push('</linearGradient></defs>');
  parts.push(`<rect x="${x}" y="${y}" width="${barW}" height="12" rx="3" fill="url(#${id})" stroke="#c5cad6" stroke-width="0.5"/>`);
  legendTicks(scale, 4, scores).forEach((v, i) => {
    const tx = x + (barW * i) / 4;
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    const label = scores === 'unsigned' ? formatScore(v).replace('+', '') : formatScore(v);
    parts.push(`<text x="${tx.toFixed(1)}" y="${y + 28}" font-size="11" fill="${MUTED}" text-anchor="${anchor}">${escapeXml(label)}</text>`);
  });
  let ty = y + 46;
  parts.push(`<text x="${x}" y="${ty}" font-size="11" fill="${MUTED}">${escapeXml(legendMeaning(scores, target))}</text>`);
  if (note) {
    ty += 16;
    parts.push(`<text x="${x}" y="${ty}" font-size="11" fill="${MUTED}">${escapeXml(note)}</text>`);
  }
  if (unread) {
    ty += 18;
    parts.push(`<rect x="${x}" y="${ty - 10}" width="14" height="12" rx="2" fill="${UNREAD_BG}" stroke="${MUTED}" stroke-dasharray="2 2" stroke-width="0.8"/>`);
    parts.push(`<text x="${x + 20}" y="${ty}" font-size="11" fill="${MUTED}">${escapeXml(`grey, dashed: ${NOT_READ} (unknown to its vocabulary, or past its length limit)`)}</text>`);
  }
  return { parts, height: ty - y + 8 };
}

// The words of a result on its scale -> { parts, height }.
export function svgWords(result, { x, y, width, measure, fontSize = 18, scale, scores, wordScores }) {
  const lineHeight = Math.round(fontSize * 1.9);
  const lines = layout(runs(result, wordScores), measure, width, lineHeight);
  const parts = [];
  for (const line of lines) {
    const ly = y + line.y;
    for (const it of line.items) {
      if (it.score === undefined) {
        const fill = it.truncated ? '#6b7385' : INK;
        const deco = it.truncated ? ' text-decoration="line-through"' : '';
        parts.push(
          `<text x="${(x + it.x).toFixed(1)}" y="${(ly + fontSize).toFixed(1)}" font-size="${fontSize}" fill="${fill}"${deco} xml:space="preserve">${escapeXml(it.text)}${it.truncated ? `<title>${NOT_READ} (past its length limit)</title>` : ''}</text>`,
        );
        continue;
      }
      const c = it.unread ? { bg: UNREAD_BG, fg: UNREAD_FG } : scoreColours(it.score, scale, scores);
      const tip = it.unread ? `${it.text}: ${NOT_READ} (unknown to its vocabulary)` : `${it.text}: ${formatScore(it.score, 4)}`;
      const stroke = it.unread ? ` stroke="${MUTED}" stroke-dasharray="3 2" stroke-width="0.8"` : '';
      parts.push(
        `<g${it.unread ? ' class="unread"' : ''}><title>${escapeXml(tip)}</title>` +
          `<rect x="${(x + it.x).toFixed(1)}" y="${(ly - 4).toFixed(1)}" width="${it.w.toFixed(1)}" height="${fontSize + 12}" rx="4" fill="${c.bg}"${stroke}/>` +
          `<text x="${(x + it.x + it.pad).toFixed(1)}" y="${(ly + fontSize).toFixed(1)}" font-size="${fontSize}" fill="${c.fg}" xml:space="preserve">${escapeXml(it.text)}</text></g>`,
      );
    }
  }
  // The cut, said in words after the text.
  let height = lines.length * lineHeight;
  if (runs(result).some((r) => r.truncated)) {
    parts.push(`<text x="${x}" y="${(y + height + 12).toFixed(1)}" font-size="12" fill="${MUTED}">${escapeXml(`\u2702 struck-through grey: ${NOT_READ} (the text was cut at its length limit)`)}</text>`);
    height += 20;
  }
  return { parts, height };
}

function svgDoc(W, H, font, head, parts) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.ceil(H)}" viewBox="0 0 ${W} ${Math.ceil(H)}" font-family="${escapeXml(font)}">`,
    `<title>${escapeXml(head)}</title>`,
    `<rect width="${W}" height="${Math.ceil(H)}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

const readScale = (result, scores) => niceScale(maxAbs((scores || result.words.map((w) => w.score)).filter((_, i) => !wordUnknown(result, result.words[i]))));
const hasUnread = (result) => result.words.some((w) => wordUnknown(result, w)) || tailStart(result) >= 0;

// ------------------------------------------------------- the Words view

export function toSvg(result, { modelName = '', methodLabel = '', labels = [], measure, width = 760, fontSize = 18, font = 'system-ui, sans-serif' } = {}) {
  measure = measure || approxMeasure(fontSize);
  const scores = resultScores(result);
  const m = readScale(result);
  const margin = 20;
  const head = title(result, modelName, methodLabel, labels);
  const parts = [`<text x="${margin}" y="${margin + 12}" font-size="13" fill="${MUTED}">${escapeXml(head)}</text>`];
  let y = margin + 30;
  const unreadLine = unreadSentence(unreadInfo(result));
  if (unreadLine) {
    parts.push(`<text x="${margin}" y="${y + 4}" font-size="12" fill="${MUTED}">${escapeXml(unreadLine)}</text>`);
    y += 20;
  }
  const words = svgWords(result, { x: margin, y, width, measure, fontSize, scale: m, scores });
  parts.push(...words.parts);
  y += words.height + 14;
  const legend = svgLegend({ x: margin, y, width, scale: m, scores, target: result.prediction.target_name, unread: hasUnread(result) });
  parts.push(...legend.parts);
  return svgDoc(width + 2 * margin, y + legend.height + 10, font, head, parts);
}

// ------------------------------------------------------------ HTML pieces

function htmlLegend({ scale, scores = 'signed', target = '', unread = false, note = '' }) {
  const grad = `linear-gradient(to right, ${legendStops(scores).map((s) => `${s.hex} ${(100 * s.offset).toFixed(0)}%`).join(', ')})`;
  const ticks = legendTicks(scale, 4, scores).map((v) => `<span>${escapeXml(scores === 'unsigned' ? formatScore(v).replace('+', '') : formatScore(v))}</span>`).join('');
  return (
    `<div class="wl-legend" style="font-size:12px;color:${MUTED};margin-top:0.5em">` +
    `<div style="width:20em;max-width:100%;height:0.8em;border:1px solid #c5cad6;border-radius:3px;background:${grad}"></div>` +
    `<div style="width:20em;max-width:100%;display:flex;justify-content:space-between">${ticks}</div>` +
    `<div>${escapeXml(legendMeaning(scores, target) + (note ? ` \u00b7 ${note}` : ''))}</div>` +
    (unread ? `<div><span style="display:inline-block;width:1em;height:0.8em;background:${UNREAD_BG};border:1px dashed ${MUTED}"></span> ${escapeXml(`grey, dashed: ${NOT_READ}`)}</div>` : '') +
    `</div>`
  );
}

function htmlWords(result, { scale, scores, wordScores }) {
  return runs(result, wordScores)
    .map((r) => {
      if (r.truncated)
        return `<span title="${escapeXml(`${NOT_READ} (past its length limit)`)}" data-unread="truncated" style="color:#6b7385;text-decoration:line-through dotted">` +
          `<span style="font-size:0.75em;text-decoration:none;display:inline-block">\u2702 ${escapeXml(NOT_READ)}: </span>${escapeXml(r.text)}</span>`;
      if (r.score === undefined) return escapeXml(r.text);
      if (r.unread)
        return `<span title="${escapeXml(`${r.text}: ${NOT_READ} (unknown to its vocabulary)`)}" data-unread="unknown" style="background:${UNREAD_BG};color:${UNREAD_FG};border:1px dashed ${MUTED};padding:0.1em 0.2em;border-radius:0.25em">${escapeXml(r.text)}</span>`;
      const c = scoreColours(r.score, scale, scores);
      return `<span title="${escapeXml(`${r.text}: ${formatScore(r.score, 4)}`)}" style="background:${c.bg};color:${c.fg};padding:0.1em 0.2em;border-radius:0.25em">${escapeXml(r.text)}</span>`;
    })
    .join('');
}

const FIGURE = `font:16px/1.9 system-ui,sans-serif;color:${INK};background:#fff;margin:0;padding:0.75em`;

// A self-contained HTML snippet (inline styles only) to paste into a page.
export function toHtml(result, { modelName = '', methodLabel = '', labels = [] } = {}) {
  const scores = resultScores(result);
  const m = readScale(result);
  const unreadLine = unreadSentence(unreadInfo(result));
  return (
    `<figure style="${FIGURE}">` +
    `<p style="margin:0;white-space:pre-wrap">${htmlWords(result, { scale: m, scores })}</p>` +
    (unreadLine ? `<p style="margin:0;font-size:12px;color:${MUTED}">${escapeXml(unreadLine)}</p>` : '') +
    htmlLegend({ scale: m, scores, target: result.prediction.target_name, unread: hasUnread(result) }) +
    `<figcaption style="font-size:12px;color:${MUTED}">${escapeXml(title(result, modelName, methodLabel, labels))} (wordlight)</figcaption></figure>\n`
  );
}

// The legend of an export, as data: the scale, its colours and their meaning.
export function legendJson(scale, scores = 'signed', target = '') {
  return { scores, range: scores === 'unsigned' ? [0, scale] : [-scale, scale], colours: legendStops(scores).map((s) => s.hex), meaning: legendMeaning(scores, target) };
}

export function toJson(result, { modelName = '' } = {}) {
  const scores = resultScores(result);
  const info = unreadInfo(result);
  return JSON.stringify({ model: modelName, view: 'words', ...result, scores, unread: result.unread || info, legend: legendJson(readScale(result), scores, result.prediction.target_name) }, null, 2) + '\n';
}

// A file name from the model, the method (or view) and the start of the text.
export function fileStem(result, modelName, what) {
  const words = result.text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32).replace(/-$/, '');
  return ['wordlight', modelName, what || result.method, words].filter(Boolean).join('_').replace(/[^A-Za-z0-9_.-]/g, '-');
}

// ---------------------------------------------------------------- Compare

// results: explanations of one text by several methods, each on its own
// scale; rho: Spearman matrix; names: display names.
export function compareExport(results, { modelName = '', names = [], rho = [], measure, width = 760, font = EXPORT_FONT } = {}) {
  measure = measure || approxMeasure(16);
  const target = results[0]?.prediction.target_name ?? '';
  const head = `${modelName} \u00b7 compare ${results.length} methods \u00b7 explaining "${target}"`;
  const rows = results.map((r, i) => {
    const scores = resultScores(r);
    return { r, name: names[i] || r.method, scores, scale: readScale(r) };
  });
  const svg = () => {
    const margin = 20;
    const parts = [`<text x="${margin}" y="${margin + 12}" font-size="13" fill="${MUTED}">${escapeXml(head)}</text>`];
    let y = margin + 34;
    for (const row of rows) {
      parts.push(`<text x="${margin}" y="${y}" font-size="14" font-weight="700" fill="${INK}">${escapeXml(`${row.name} (${row.scores === 'unsigned' ? 'importance' : 'signed'}, own scale)`)}</text>`);
      y += 8;
      const w = svgWords(row.r, { x: margin, y, width, measure, fontSize: 16, scale: row.scale, scores: row.scores });
      parts.push(...w.parts);
      y += w.height + 8;
      const l = svgLegend({ x: margin, y, width, scale: row.scale, scores: row.scores, target, unread: hasUnread(row.r) });
      parts.push(...l.parts);
      y += l.height + 16;
    }
    if (rho.length) {
      parts.push(`<text x="${margin}" y="${y}" font-size="13" font-weight="700" fill="${INK}">Spearman rank correlation of the word scores</text>`);
      y += 22;
      const colW = Math.min(130, (width - 150) / rows.length);
      rows.forEach((row, j) => parts.push(`<text x="${(margin + 150 + j * colW).toFixed(1)}" y="${y}" font-size="11" fill="${MUTED}">${escapeXml(row.name.slice(0, 18))}</text>`));
      y += 18;
      rows.forEach((row, i) => {
        parts.push(`<text x="${margin}" y="${y}" font-size="11" fill="${MUTED}">${escapeXml(row.name.slice(0, 24))}</text>`);
        rows.forEach((_, j) => {
          const v = rho[i]?.[j];
          parts.push(`<text x="${(margin + 150 + j * colW).toFixed(1)}" y="${y}" font-size="12" fill="${INK}">${Number.isFinite(v) ? v.toFixed(2) : 'n/a'}</text>`);
        });
        y += 18;
      });
    }
    return svgDoc(width + 40, y + 10, font, head, parts);
  };
  const html = () =>
    `<figure style="${FIGURE}">` +
    rows
      .map(
        (row) =>
          `<div style="margin:0 0 0.8em"><div style="font-weight:700;font-size:14px">${escapeXml(row.name)}</div>` +
          `<p style="margin:0;white-space:pre-wrap">${htmlWords(row.r, { scale: row.scale, scores: row.scores })}</p>` +
          htmlLegend({ scale: row.scale, scores: row.scores, target, unread: hasUnread(row.r) }) +
          `</div>`,
      )
      .join('') +
    (rho.length
      ? `<table style="border-collapse:collapse;font-size:12px"><caption style="text-align:left">Spearman rank correlation of the word scores</caption><tr><th></th>${rows.map((r) => `<th>${escapeXml(r.name)}</th>`).join('')}</tr>` +
        rows.map((r, i) => `<tr><th style="text-align:left">${escapeXml(r.name)}</th>${rows.map((_, j) => `<td style="padding:0 0.5em">${Number.isFinite(rho[i]?.[j]) ? rho[i][j].toFixed(2) : 'n/a'}</td>`).join('')}</tr>`).join('') +
        `</table>`
      : '') +
    `<figcaption style="font-size:12px;color:${MUTED}">${escapeXml(head)} (wordlight)</figcaption></figure>\n`;
  const json = () =>
    JSON.stringify(
      { model: modelName, view: 'compare', text: results[0]?.text, target, methods: rows.map((row) => ({ name: row.name, ...row.r, scores: row.scores, legend: legendJson(row.scale, row.scores, target) })), spearman: rho },
      null,
      2,
    ) + '\n';
  return { svg, html, json };
}

// ------------------------------------------------------------- matrices

// A cell's number in a few characters: .31, −.072, 1.5, 7.6e−4.
export function compactNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  const sign = v < 0 ? '\u2212' : '';
  if (a >= 0.01 && a < 10) return sign + a.toPrecision(2).replace(/^0\./, '.');
  if (a >= 10 && a < 1000) return sign + Math.round(a);
  return sign + a.toExponential(1).replace('e-', 'e\u2212').replace('e+', 'e');
}

// A labelled matrix of coloured cells (Layers: layers x words, each row on
// its own scale; Interactions: words x words, one scale off the diagonal).
// spec: { head, rowLabels, colLabels, values[i][j], rowScale(i) | scale,
// scores, note, extraCol: { label, values[i] }, diagonalOff, unreadCols: Set }
export function matrixExport(spec, { modelName = '', json = {}, measure, font = EXPORT_FONT } = {}) {
  measure = measure || approxMeasure(12);
  const { head, rowLabels, colLabels, values, scores = 'signed', note = '' } = spec;
  const scaleOf = (i) => (spec.rowScale ? spec.rowScale(i) : spec.scale);
  const unreadCols = spec.unreadCols || new Set();
  const unreadRows = spec.unreadRows || new Set();
  const un = (i, j) => unreadCols.has(j) || unreadRows.has(i);
  const cellColour = (i, j) => {
    if (un(i, j)) return { bg: UNREAD_BG, fg: UNREAD_FG };
    if (spec.diagonalOff && i === j) return { bg: '#ffffff', fg: INK };
    return scoreColours(values[i][j], scaleOf(i), scores);
  };
  const fmt = compactNumber;
  const svg = () => {
    const margin = 20;
    const rowW = Math.max(60, ...rowLabels.map((l) => measure(String(l)) + 12));
    const cell = 44;
    const colH = Math.min(140, Math.max(40, ...colLabels.map((l) => measure(String(l)) + 10)));
    const extraW = spec.extraCol ? 90 : 0;
    const W = margin * 2 + rowW + cell * colLabels.length + extraW;
    const parts = [`<text x="${margin}" y="${margin + 12}" font-size="13" fill="${MUTED}">${escapeXml(head)}</text>`];
    const top = margin + 30 + colH;
    colLabels.forEach((l, j) => {
      const cx = margin + rowW + j * cell + cell / 2;
      parts.push(`<text transform="translate(${cx.toFixed(1)} ${top - 6}) rotate(-55)" font-size="12" fill="${unreadCols.has(j) ? '#6b7385' : INK}">${escapeXml(l)}${unreadCols.has(j) ? `<title>${NOT_READ}</title>` : ''}</text>`);
    });
    if (spec.extraCol) parts.push(`<text x="${margin + rowW + cell * colLabels.length + 6}" y="${top - 6}" font-size="11" fill="${MUTED}">${escapeXml(spec.extraCol.label)}</text>`);
    rowLabels.forEach((l, i) => {
      const y = top + i * 26;
      parts.push(`<text x="${margin}" y="${y + 17}" font-size="12" fill="${unreadRows.has(i) ? '#6b7385' : INK}">${escapeXml(l)}${unreadRows.has(i) ? `<title>${NOT_READ}</title>` : ''}</text>`);
      colLabels.forEach((_, j) => {
        const c = cellColour(i, j);
        const v = values[i][j];
        const dash = un(i, j) ? ` stroke="${MUTED}" stroke-dasharray="2 2" stroke-width="0.6"` : spec.diagonalOff && i === j ? ' stroke="#161b26" stroke-width="1"' : '';
        parts.push(
          `<g><title>${escapeXml(`${l} \u00b7 ${colLabels[j]}: ${un(i, j) ? NOT_READ : formatScore(v, 4)}`)}</title><rect x="${margin + rowW + j * cell}" y="${y}" width="${cell - 2}" height="24" fill="${c.bg}"${dash}/>` +
            `<text x="${margin + rowW + j * cell + (cell - 2) / 2}" y="${y + 16}" font-size="10" text-anchor="middle" fill="${c.fg}">${un(i, j) ? '' : escapeXml(fmt(v))}</text></g>`,
        );
      });
      if (spec.extraCol) parts.push(`<text x="${margin + rowW + cell * colLabels.length + 6}" y="${y + 16}" font-size="11" fill="${INK}">${escapeXml(fmt(spec.extraCol.values[i]))}</text>`);
    });
    let y = top + rowLabels.length * 26 + 16;
    const legendScale = spec.rowScale ? 1 : spec.scale;
    const l = svgLegend({ x: margin, y, width: W - 2 * margin, scale: legendScale, scores, target: spec.target || '', unread: unreadCols.size > 0, note });
    parts.push(...l.parts);
    y += l.height;
    return svgDoc(Math.max(W, 420), y + 10, font, head, parts);
  };
  const html = () => {
    const th = (l, j) => `<th style="padding:2px 4px;font-weight:500;${unreadCols.has(j) ? 'color:#6b7385' : ''}"${unreadCols.has(j) ? ` title="${NOT_READ}"` : ''}>${escapeXml(l)}</th>`;
    const rowsHtml = rowLabels
      .map(
        (l, i) =>
          `<tr><th style="text-align:left;padding:2px 6px;font-weight:500">${escapeXml(l)}</th>` +
          colLabels
            .map((_, j) => {
              const c = cellColour(i, j);
              const u = un(i, j);
              return `<td title="${escapeXml(`${l} \u00b7 ${colLabels[j]}: ${u ? NOT_READ : formatScore(values[i][j], 4)}`)}" style="background:${c.bg};color:${c.fg};padding:2px 4px;text-align:center;font-size:11px${u ? `;border:1px dashed ${MUTED}` : ''}">${u ? '' : escapeXml(fmt(values[i][j]))}</td>`;
            })
            .join('') +
          (spec.extraCol ? `<td style="padding:2px 6px;font-size:11px">${escapeXml(fmt(spec.extraCol.values[i]))}</td>` : '') +
          `</tr>`,
      )
      .join('');
    return (
      `<figure style="${FIGURE}"><table style="border-collapse:collapse;font-size:12px"><tr><th></th>${colLabels.map(th).join('')}${spec.extraCol ? `<th style="padding:2px 6px">${escapeXml(spec.extraCol.label)}</th>` : ''}</tr>${rowsHtml}</table>` +
      htmlLegend({ scale: spec.rowScale ? 1 : spec.scale, scores, target: spec.target || '', unread: unreadCols.size > 0, note }) +
      `<figcaption style="font-size:12px;color:${MUTED}">${escapeXml(head)} (wordlight)</figcaption></figure>\n`
    );
  };
  const jsonOut = () =>
    JSON.stringify(
      {
        model: modelName,
        head,
        rows: rowLabels,
        columns: colLabels,
        values,
        not_read_columns: [...unreadCols],
        ...(spec.extraCol ? { [spec.extraCol.key || spec.extraCol.label]: spec.extraCol.values } : {}),
        legend: { ...legendJson(spec.rowScale ? 1 : spec.scale, scores, spec.target || ''), ...(note ? { note } : {}) },
        ...json,
      },
      null,
      2,
    ) + '\n';
  return { svg, html, json: jsonOut };
}

// ------------------------------------------------------ the What-if curve

export const LINE_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];

// curves: [{ name, points: [{ x, y, k }], random, colour }], n words, target class.
export function curveSvgString({ curves, n, target, head = '', font = EXPORT_FONT }) {
  const W = 640, H = 300, L = 48, R = 16, T = 14 + (head ? 20 : 0), B = 42;
  const x = (v) => L + v * (W - L - R);
  const y = (v) => T + (1 - v) * (H - T - B);
  const parts = [];
  if (head) parts.push(`<text x="${L}" y="18" font-size="13" fill="${MUTED}">${escapeXml(head)}</text>`);
  for (let i = 0; i <= 4; ++i) {
    const v = i / 4;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e6e9f0" stroke-width="1"/>`);
    parts.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="${MUTED}">${(100 * v).toFixed(0)}%</text>`);
  }
  for (const k of [...new Set([0, 0.25, 0.5, 0.75, 1].map((v) => Math.round(v * n)))])
    parts.push(`<text x="${x(k / n)}" y="${H - B + 16}" text-anchor="middle" font-size="11" fill="${MUTED}">${k}</text>`);
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(0)}" y2="${y(0)}" stroke="#8a93a6" stroke-width="1"/>`);
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${y(0)}" stroke="#8a93a6" stroke-width="1"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-size="11" fill="${MUTED}">${escapeXml(`words removed, most relevant first (of ${n})`)}</text>`);
  parts.push(`<text x="12" y="${(T + H - B) / 2}" text-anchor="middle" font-size="11" fill="${MUTED}" transform="rotate(-90 12 ${(T + H - B) / 2})">${escapeXml(`p(${target})`)}</text>`);
  curves.forEach((c, i) => {
    const colour = c.colour || (c.random ? MUTED : LINE_COLOURS[i % LINE_COLOURS.length]);
    parts.push(
      `<polyline points="${c.points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="${c.random ? 1.6 : 2.2}"${c.random ? ' stroke-dasharray="5 4"' : ''}><title>${escapeXml(c.name)}</title></polyline>`,
    );
  });
  // The key: which line is which.
  let ky = H + 8;
  for (const c of curves) {
    const colour = c.colour || (c.random ? MUTED : LINE_COLOURS[curves.indexOf(c) % LINE_COLOURS.length]);
    parts.push(`<line x1="${L}" x2="${L + 26}" y1="${ky}" y2="${ky}" stroke="${colour}" stroke-width="3"${c.random ? ' stroke-dasharray="5 4"' : ''}/>`);
    parts.push(`<text x="${L + 34}" y="${ky + 4}" font-size="12" fill="${INK}">${escapeXml(`${c.name}: area ${area(c.points).toFixed(3)}`)}</text>`);
    ky += 18;
  }
  return svgDoc(W, ky + 6, font, `Probability of ${target} as words are removed`, parts);
}

function area(points) {
  let a = 0;
  for (let i = 1; i < points.length; ++i) a += ((points[i].x - points[i - 1].x) * (points[i].y + points[i - 1].y)) / 2;
  return a;
}

export function curveExport(data, { modelName = '', text = '' } = {}) {
  const head = `${modelName} \u00b7 word-deletion curve \u00b7 p("${data.target}")`;
  const svg = () => curveSvgString({ ...data, head });
  const html = () =>
    `<figure style="${FIGURE}">${curveSvgString({ ...data, head: '' })}` +
    `<table style="border-collapse:collapse;font-size:12px"><tr><th style="text-align:left">order</th><th>area under the curve</th></tr>` +
    data.curves.map((c) => `<tr><td>${escapeXml(c.name)}</td><td style="padding:0 0.6em">${area(c.points).toFixed(3)}</td></tr>`).join('') +
    `</table><figcaption style="font-size:12px;color:${MUTED}">${escapeXml(head)} (wordlight)</figcaption></figure>\n`;
  const json = () => JSON.stringify({ model: modelName, view: 'deletion-curve', text, target: data.target, words: data.n, curves: data.curves.map((c) => ({ name: c.name, random: !!c.random, area: area(c.points), points: c.points })) }, null, 2) + '\n';
  return { svg, html, json };
}
