// The Data set tab (issue 19) in Debian's chromium: a dropped CSV with a
// hostile text and a hostile label shows them literally (no markup, no
// script); "Predict all" gives in the table what model.predict gives; the
// accuracy and confusion matrix count the labelled rows; filters (label,
// word, wrong only) and a saved slice narrow and count as computed here;
// the per-class top words come out; the CSV export opens with the
// predictions; and no request leaves the page while the data set is
// processed. A screenshot lands in build/e2e/dataset.png.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openPage, servedPage, shot } from './page_util.mjs';
import { spearman, splitDelimited } from '../../web/src/dataset.js';

const env = servedPage('dataset');

const HOSTILE_TEXT = '<img src=x onerror="window.__pwned=1"> a <b>bold</b> film';
const HOSTILE_LABEL = '<script>window.__pwned=2</script>';
const CSV =
  'text,label\n' +
  `"${HOSTILE_TEXT.replace(/"/g, '""')}","${HOSTILE_LABEL}"\n` +
  'a gripping and funny film,positive\n' +
  'dull and lifeless,negative\n' +
  'the worst film of the year,negative\n' +
  'a moving tribute,positive\n';

const waitIdle = (page) => page.waitForFunction(() => window.wordlightPage && !window.wordlightPage.job && window.wordlightPage.model, null, { timeout: 240_000 });

describe.skipIf(env.missing)('the Data set tab', () => {
  it('reads a dropped CSV literally, predicts, filters, slices, explains and exports without a request', async () => {
    const { context, page, log } = await openPage(env.browser, env.server.url);
    await waitIdle(page);
    await page.click('#tab-dataset');
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setInputFiles('#ds-file', { name: 'hostile.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await page.waitForSelector('#ds-table .ds-row');
    const texts = await page.$$eval('#ds-table .ds-text', (els) => els.map((e) => e.textContent));
    expect(texts[0]).toBe(HOSTILE_TEXT);
    const labels = await page.$$eval('#ds-table .ds-label', (els) => els.map((e) => e.textContent));
    expect(labels[0]).toBe(HOSTILE_LABEL);
    expect(await page.$$eval('#ds-table img, #ds-table b, #ds-table script', (els) => els.length)).toBe(0);

    await page.click('#ds-predict');
    await page.waitForFunction(() => document.querySelectorAll('#ds-table .ds-pred').length && [...document.querySelectorAll('#ds-table .ds-pred')].every((e) => e.textContent));
    await waitIdle(page);
    // The table's predictions are model.predict's.
    const shown = await page.$$eval('#ds-table .ds-row', (rows) => rows.map((r) => [r.querySelector('.ds-text').textContent, r.querySelector('.ds-pred').textContent]));
    const direct = await page.evaluate(async (ts) => {
      const out = [];
      for (const t of ts) out.push((await window.wordlightPage.model.predict(t)).label_name);
      return out;
    }, shown.map((s) => s[0]));
    expect(shown.map((s) => s[1])).toEqual(direct);
    // Accuracy over the 4 rows whose label the model has (the hostile label is not one).
    const modelLabels = await page.evaluate(() => window.wordlightPage.labels);
    const gold = ['positive', 'negative', 'negative', 'positive'];
    const labelled = gold.every((g) => modelLabels.includes(g));
    if (labelled) {
      const correct = gold.filter((g, i) => direct[i + 1] === g).length;
      expect(await page.textContent('#ds-accuracy')).toContain(`(${correct} of 4)`);
      const cells = await page.$$eval('#ds-confusion td', (els) => els.map((e) => Number(e.textContent)));
      expect(cells.reduce((a, b) => a + b, 0)).toBe(4);
    }

    // Filters: a word, then wrong only; a slice saved and counted.
    await page.fill('#ds-f-word', 'film');
    expect(await page.$$eval('#ds-table .ds-row', (r) => r.length)).toBe(3);
    await page.fill('#ds-slice-name', 'films');
    await page.click('#ds-slice-save');
    expect(await page.$$eval('#ds-slice-table td', (els) => els.map((e) => e.textContent).slice(0, 2))).toEqual(['films', '3']);
    await page.fill('#ds-f-word', '');
    if (labelled) {
      await page.check('#ds-f-wrong');
      const wrong = gold.filter((g, i) => direct[i + 1] !== g).length;
      expect(await page.$$eval('#ds-table .ds-row', (r) => r.length)).toBe(wrong);
      await page.uncheck('#ds-f-wrong');
    }

    // Global explanations: top words per class.
    await page.selectOption('#ds-method', 'gradient-x-input');
    await page.click('#ds-explain');
    await page.waitForSelector('#ds-top .ds-top-word');
    await waitIdle(page);
    expect(await page.$$eval('#ds-top .ds-top-class', (els) => els.length)).toBe(modelLabels.length);
    // The document-vector PCA: one dot per row, and its SVG export.
    expect(await page.$$eval('#ds-pca .pca-dot', (els) => els.length)).toBe(5);
    const [svgDl] = await Promise.all([page.waitForEvent('download'), page.click('#export-dataset-pca-svg')]);
    const svg = fs.readFileSync(await svgDl.path(), 'utf8');
    expect((svg.match(/class="pca-dot"/g) || []).length).toBe(5);
    expect(svg).not.toContain('<script');
    // The link has the file's name and the view's settings, never a row.
    await page.fill('#ds-f-word', 'lifeless');
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('ds.word') === 'lifeless');
    const link = new URLSearchParams(new URL(page.url()).hash.slice(1));
    expect(link.get('ds.file')).toBe('hostile.csv');
    expect(decodeURIComponent(page.url())).not.toContain('tribute');
    await page.fill('#ds-f-word', '');

    // The CSV export opens, with the predictions.
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('#ds-export-csv')]);
    const rows = splitDelimited(fs.readFileSync(await d.path(), 'utf8'), ',');
    expect(rows[0].slice(0, 5)).toEqual(['index', 'text', 'label', 'predicted', 'confidence']);
    expect(rows[1][1]).toBe(HOSTILE_TEXT);
    expect(rows.slice(1).map((r) => r[3])).toEqual(direct);

    expect(requests.filter((u) => !u.startsWith('blob:'))).toEqual([]);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(log.dialogs).toEqual([]);
    expect(log.errors).toEqual([]);
    await shot(page, 'dataset.png');
    await context.close();
  });
  it('puts a second model side by side: both predictions, disagreements, both explanations with their Spearman correlation', async () => {
    const hash = '#' + new URLSearchParams({ model: 'sst2-bilstm', view: 'dataset', method: 'gradient-x-input' }).toString();
    const { context, page, log } = await openPage(env.browser, env.server.url, { hash });
    await waitIdle(page);
    await page.click('#tab-dataset');
    await page.setInputFiles('#ds-file', { name: 'two.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await page.waitForSelector('#ds-table .ds-row');
    expect(await page.$$eval('#ds-model2 option', (els) => els.map((e) => e.value))).toContain('sst2-bert');
    await page.selectOption('#ds-model2', 'sst2-bert');
    await waitIdle(page);
    await page.click('#ds-predict');
    await page.waitForFunction(() => [...document.querySelectorAll('#ds-table .ds-pred2')].length && [...document.querySelectorAll('#ds-table .ds-pred2')].every((e) => e.textContent));
    await waitIdle(page);
    const shown = await page.$$eval('#ds-table .ds-row', (rows) =>
      rows.map((r) => [r.querySelector('.ds-text').textContent, r.querySelector('.ds-pred').textContent, r.querySelector('.ds-pred2').textContent]));
    // The second column is sst2-bert's model.predict, loaded on its own here.
    const direct = await page.evaluate(async (ts) => {
      const m = await window.wordlightPage.api.load(new URL('models/sst2-bert/', document.baseURI).href, { name: 'sst2-bert' });
      const out = [];
      for (const t of ts) out.push((await m.predict(t)).label_name);
      await m.dispose();
      return out;
    }, shown.map((r) => r[0]));
    expect(shown.map((r) => r[2])).toEqual(direct);
    const disagree = shown.filter((r) => r[1] !== r[2]).length;
    expect(await page.textContent('#ds-accuracy-2')).toContain(`agree on ${shown.length - disagree} of ${shown.length} rows`);
    await page.check('#ds-f-disagree');
    expect(await page.$$eval('#ds-table .ds-row', (r) => r.length)).toBe(disagree);
    await page.uncheck('#ds-f-disagree');

    // A row opens in Words: both explanations, one above the other, and their Spearman correlation.
    const row = 2;
    await page.locator('#ds-table .ds-row').nth(row).click();
    await page.waitForFunction((t) => {
      const box = document.querySelector('#second-explanation');
      return box && !box.hidden && box.dataset.text === t && box.querySelector('#heatmap-2 .w') && window.wordlightPage.result?.text === t;
    }, shown[row][0], { timeout: 240_000 });
    await waitIdle(page);
    const rho = await page.$eval('#second-spearman', (e) => [e.dataset.rho, e.dataset.n]);
    const both = await page.evaluate(async (t) => {
      const m = await window.wordlightPage.api.load(new URL('models/sst2-bert/', document.baseURI).href, { name: 'sst2-bert' });
      const a = await window.wordlightPage.model.explain(t, { method: 'gradient-x-input' });
      const b = await m.explain(t, { method: 'gradient-x-input' });
      await m.dispose();
      return [a.words, b.words];
    }, shown[row][0]);
    const at = new Map(both[1].map((w) => [`${w.begin}:${w.end}`, w.score]));
    const common = both[0].filter((w) => at.has(`${w.begin}:${w.end}`));
    expect(Number(rho[1])).toBe(common.length);
    const expected = spearman(common.map((w) => w.score), common.map((w) => at.get(`${w.begin}:${w.end}`)));
    if (expected === null) expect(rho[0]).toBe('');
    else expect(Number(rho[0])).toBeCloseTo(expected, 5);
    // The first heatmap is above the second.
    const y1 = await page.$eval('#heatmap', (e) => e.getBoundingClientRect().top);
    const y2 = await page.$eval('#heatmap-2', (e) => e.getBoundingClientRect().top);
    expect(y2).toBeGreaterThan(y1);
    expect(log.dialogs).toEqual([]);
    expect(log.errors).toEqual([]);
    await shot(page, 'dataset-two-models.png');
    await context.close();
  }, 600_000);
  it('takes its settings from a link (never the data) and offers the shipped example', async () => {
    const hash = '#' + new URLSearchParams({ model: 'sst2-bilstm', view: 'dataset', 'ds.word': 'film', 'ds.file': 'mine.csv', 'ds.model2': 'sst2-bert', 'ds.wrong': '1' }).toString();
    const { context, page, log } = await openPage(env.browser, env.server.url, { hash });
    await waitIdle(page);
    await page.waitForFunction(() => document.querySelector('#ds-model2')?.value === 'sst2-bert' && !window.wordlightPage.job, null, { timeout: 240_000 });
    expect(await page.inputValue('#ds-f-word')).toBe('film');
    expect(await page.isChecked('#ds-f-wrong')).toBe(true);
    expect(await page.textContent('#ds-info')).toContain('mine.csv');
    await page.click('#ds-example');
    await page.waitForFunction(() => document.querySelector('#ds-info').textContent.includes('sst2-dev-300.tsv'));
    expect(await page.textContent('#ds-info')).toContain('sst2-dev-300.tsv: 300 rows, with labels');
    // The link's filters still apply: rows with "film" (none is wrong before Predict all).
    expect(await page.textContent('#ds-count')).toMatch(/^0 of 300 rows/);
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('ds.file') === 'sst2-dev-300.tsv');
    expect(log.dialogs).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);
});
