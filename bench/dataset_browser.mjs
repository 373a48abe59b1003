// The Data set tab at scale (issue 19), a benchmark, not a test: the page
// built and served as the e2e suites do, Debian's chromium, N (1,000) SST-2
// sentences dropped as a TSV, "Predict all" and "Explain all" (gradient x
// input) on a shipped model (sst2-bert); prints the seconds of each as the
// page measured them (app.timings), the model's thread count, and whether
// any request left the page.
//
//   node bench/dataset_browser.mjs [N] [model] [data.tsv]
//   (default: 1000 sst2-bert ../shared/data/sst2/dev.tsv)
import fs from 'node:fs';
import path from 'node:path';
import { launch, openPage, startPage, ROOT } from '../tests/e2e/page_util.mjs';

const N = Number(process.argv[2] || 1000);
const MODEL = process.argv[3] || 'sst2-bert';
const DATA = process.argv[4] || path.join(ROOT, '../shared/data/sst2/dev.tsv');

const lines = fs.readFileSync(DATA, 'utf8').split('\n');
const tsv = [lines[0], ...lines.slice(1).filter((l) => l.trim()).slice(0, N)].join('\n') + '\n';
const rows = tsv.trim().split('\n').length - 1;

const server = await startPage('bench-dataset');
const browser = await launch();
try {
  const hash = '#' + new URLSearchParams({ model: MODEL, view: 'dataset' }).toString();
  const { page, context } = await openPage(browser, server.url, { hash });
  const idle = () => page.waitForFunction(() => window.wordlightPage?.model && !window.wordlightPage.job, null, { timeout: 3_600_000 });
  await idle();
  await page.click('#tab-dataset');
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.setInputFiles('#ds-file', { name: 'sst2.tsv', mimeType: 'text/tab-separated-values', buffer: Buffer.from(tsv) });
  await page.waitForSelector('#ds-table .ds-row');
  await page.click('#ds-predict');
  await page.waitForFunction(() => window.wordlightPage.timings.datasetPredictMs !== undefined, null, { timeout: 3_600_000 });
  await idle();
  await page.selectOption('#ds-method', 'gradient-x-input');
  await page.click('#ds-explain');
  await page.waitForFunction(() => window.wordlightPage.timings.datasetExplainMs !== undefined, null, { timeout: 3_600_000 });
  const r = await page.evaluate(() => ({
    predictMs: window.wordlightPage.timings.datasetPredictMs,
    explainMs: window.wordlightPage.timings.datasetExplainMs,
    threads: window.wordlightPage.model.info.threads,
    accuracy: document.querySelector('#ds-accuracy')?.textContent ?? '',
  }));
  console.log(JSON.stringify({
    model: MODEL, rows, threads: r.threads,
    predict_s: +(r.predictMs / 1000).toFixed(2), explain_gradient_x_input_s: +(r.explainMs / 1000).toFixed(2),
    accuracy: r.accuracy, requests: requests.filter((u) => !u.startsWith('blob:')).length,
  }));
  await context.close();
} finally {
  await browser.close();
  await server.close();
}
