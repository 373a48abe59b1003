// The Data set tab (issue 19) in Debian's chromium: a dropped CSV with a
// hostile text and a hostile label shows them literally (no markup, no
// script); "Predict all" gives in the table what model.predict gives; the
// accuracy and confusion matrix count the labelled rows; filters (label,
// word, wrong only) and a saved slice narrow and count as computed here;
// the per-class top words come out; the CSV export opens with the
// predictions; and no request leaves the page while the data set is
// processed. A screenshot lands in build/e2e/dataset.png.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, missingPrerequisite, openPage, shot, startPage } from './page_util.mjs';
import { splitDelimited } from '../../web/src/dataset.js';

const missing = missingPrerequisite();
let server;
let browser;

beforeAll(async () => {
  if (missing) return;
  server = await startPage('dataset');
  browser = await launch();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

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

describe.skipIf(missing)('the Data set tab', () => {
  it('reads a dropped CSV literally, predicts, filters, slices, explains and exports without a request', async () => {
    const { context, page, log } = await openPage(browser, server.url);
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
});
