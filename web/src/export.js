// Exports of an explanation: a standalone SVG (also rasterised to PNG by the
// page), a self-contained HTML snippet, and the JSON result. Strings are
// escaped here, because these are files, not DOM.
import { formatScore, legendTicks, maxAbs, niceScale, rgbToHex, divergingRgb, scoreColours } from './colour.js';

export function escapeXml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// The text as runs: words (with their score) and the gaps between them.
export function runs(result) {
  const text = result.text;
  const words = [...result.words].sort((a, b) => a.begin - b.begin);
  const out = [];
  let at = 0;
  for (const w of words) {
    if (w.begin > at) out.push({ text: text.slice(at, w.begin) });
    out.push({ text: text.slice(w.begin, w.end), score: w.score, word: w });
    at = Math.max(at, w.end);
  }
  if (at < text.length) out.push({ text: text.slice(at), truncated: !!result.truncated });
  return out;
}

export function title(result, modelName, methodLabel) {
  const p = result.prediction;
  const parts = [modelName, methodLabel || result.method, `explaining "${p.target_name}"`, `predicted "${p.label_name}" (${(100 * p.probabilities[p.label]).toFixed(1)}%)`];
  return parts.filter(Boolean).join(' \u00b7 ');
}

// Lays out runs into lines no wider than `width`, breaking at whitespace
// gaps and line breaks. measure(text) -> width in px.
export function layout(rs, measure, width, lineHeight) {
  const lines = [[]];
  let x = 0;
  const pad = 3;
  for (const r of rs) {
    if (r.score === undefined) {
      const parts = r.text.split(/(\n)/);
      for (const part of parts) {
        if (part === '\n') {
          lines.push([]);
          x = 0;
          continue;
        }
        const t = part.replace(/\s+/g, ' ');
        if (!t) continue;
        const w = measure(t);
        if (x + w > width && t.trim() === '') {
          lines.push([]);
          x = 0;
          continue;
        }
        if (x === 0 && t.trim() === '') continue;
        lines.at(-1).push({ ...r, text: t, x, w });
        x += w;
      }
    } else {
      const w = measure(r.text) + 2 * pad;
      if (x > 0 && x + w > width) {
        lines.push([]);
        x = 0;
      }
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

export function toSvg(result, { modelName = '', methodLabel = '', measure, width = 760, fontSize = 18, font = 'system-ui, sans-serif' } = {}) {
  measure = measure || approxMeasure(fontSize);
  const m = niceScale(maxAbs(result.words.map((w) => w.score)));
  const lineHeight = Math.round(fontSize * 1.9);
  const margin = 20;
  const header = 30;
  const lines = layout(runs(result), measure, width, lineHeight);
  const textHeight = lines.length * lineHeight;
  const legendY = margin + header + textHeight + 14;
  const H = legendY + 56;
  const W = width + 2 * margin;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${escapeXml(font)}">`,
  );
  out.push(`<title>${escapeXml(title(result, modelName, methodLabel))}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${margin}" y="${margin + 12}" font-size="13" fill="#4a5468">${escapeXml(title(result, modelName, methodLabel))}</text>`);
  for (const line of lines) {
    const y = margin + header + line.y;
    for (const it of line.items) {
      if (it.score === undefined) {
        out.push(
          `<text x="${(margin + it.x).toFixed(1)}" y="${(y + fontSize).toFixed(1)}" font-size="${fontSize}" fill="#161b26" xml:space="preserve">${escapeXml(it.text)}</text>`,
        );
        continue;
      }
      const c = scoreColours(it.score, m);
      out.push(
        `<g><title>${escapeXml(`${it.text}: ${formatScore(it.score, 4)}`)}</title>` +
          `<rect x="${(margin + it.x).toFixed(1)}" y="${(y - 4).toFixed(1)}" width="${it.w.toFixed(1)}" height="${fontSize + 12}" rx="4" fill="${c.bg}"/>` +
          `<text x="${(margin + it.x + it.pad).toFixed(1)}" y="${(y + fontSize).toFixed(1)}" font-size="${fontSize}" fill="${c.fg}" xml:space="preserve">${escapeXml(it.text)}</text></g>`,
      );
    }
  }
  // Legend: gradient bar with five numbers.
  const barW = Math.min(320, width);
  out.push('<defs><linearGradient id="wl-scale" x1="0" x2="1" y1="0" y2="0">');
  for (let i = 0; i <= 10; ++i) {
    const v = -1 + i / 5;
    out.push(`<stop offset="${(i / 10).toFixed(2)}" stop-color="${rgbToHex(divergingRgb(v))}"/>`);
  }
  out.push('</linearGradient></defs>');
  out.push(`<rect x="${margin}" y="${legendY}" width="${barW}" height="12" rx="3" fill="url(#wl-scale)" stroke="#c5cad6" stroke-width="0.5"/>`);
  legendTicks(m).forEach((v, i) => {
    const x = margin + (barW * i) / 4;
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    out.push(`<text x="${x.toFixed(1)}" y="${legendY + 28}" font-size="11" fill="#4a5468" text-anchor="${anchor}">${escapeXml(formatScore(v))}</text>`);
  });
  out.push(
    `<text x="${margin + barW + 14}" y="${legendY + 11}" font-size="11" fill="#4a5468">purple: against \u00b7 orange: for "${escapeXml(result.prediction.target_name)}"</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}

// A self-contained HTML snippet (inline styles only) to paste into a page.
export function toHtml(result, { modelName = '', methodLabel = '' } = {}) {
  const m = niceScale(maxAbs(result.words.map((w) => w.score)));
  const spans = runs(result).map((r) => {
    if (r.score === undefined) return escapeXml(r.text);
    const c = scoreColours(r.score, m);
    const label = `${r.text}: ${formatScore(r.score, 4)}`;
    return `<span title="${escapeXml(label)}" style="background:${c.bg};color:${c.fg};padding:0.1em 0.2em;border-radius:0.25em">${escapeXml(r.text)}</span>`;
  });
  return (
    `<figure style="font:16px/1.9 system-ui,sans-serif;color:#161b26;background:#fff;margin:0;padding:0.75em">` +
    `<p style="margin:0;white-space:pre-wrap">${spans.join('')}</p>` +
    `<figcaption style="font-size:12px;color:#4a5468">${escapeXml(title(result, modelName, methodLabel))}; ` +
    `orange: evidence for, purple: against; scale \u00b1${escapeXml(formatScore(m).replace('+', ''))} (wordlight)</figcaption></figure>\n`
  );
}

export function toJson(result, { modelName = '' } = {}) {
  return JSON.stringify({ model: modelName, ...result }, null, 2) + '\n';
}

// A file name from the model, the method and the start of the text.
export function fileStem(result, modelName) {
  const words = result.text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32).replace(/-$/, '');
  return ['wordlight', modelName, result.method, words].filter(Boolean).join('_').replace(/[^A-Za-z0-9_.-]/g, '-');
}
