// Every view exports PNG, SVG, HTML and JSON through the same buttons:
// getExport() -> { stem, svg(measure), html(), json() } or null (app.js
// Export). Sets app.exportRow, app.measure and app.exportFont; the file
// formats themselves are in export.js.
import { h, download } from './dom.js';
import { EXPORT_FONT } from './export.js';

export function measureFor(fontSize, font) {
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${fontSize}px ${font}`;
  return (t) => ctx.measureText(t).width;
}

async function svgToPng(svg) {
  const img = new Image();
  img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
  await img.decode();
  const scale = 2;
  const canvas = h('canvas', { width: img.width * scale, height: img.height * scale });
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

export function installExports(app) {
  app.measure = measureFor;
  app.exportFont = EXPORT_FONT;

  app.doExport = async (getExport, format) => {
    const x = getExport();
    if (!x) {
      app.showError('Nothing to export yet: compute this view first.');
      return;
    }
    try {
      if (format === 'svg') download(x.stem + '.svg', x.svg(), 'image/svg+xml');
      else if (format === 'html') download(x.stem + '.html', x.html(), 'text/html');
      else if (format === 'json') download(x.stem + '.json', x.json(), 'application/json');
      else download(x.stem + '.png', await svgToPng(x.svg()));
    } catch (e) {
      app.showError(`Could not export: ${e.message}`);
    }
  };

  // A row of export buttons for a view (ids: export-<view>-<format>).
  app.exportRow = (view, getExport) =>
    h(
      'div',
      { class: 'export-row' },
      h('span', { class: 'hint', text: 'Export' }),
      ['png', 'svg', 'html', 'json'].map((f) =>
        h('button', { type: 'button', class: 'secondary small', id: `export-${view}-${f}`, text: f.toUpperCase(), 'aria-label': `Export this view as ${f.toUpperCase()}`, onclick: () => app.doExport(getExport, f) }),
      ),
    );
}
