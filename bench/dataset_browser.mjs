// The Data set tab at scale (issue 19), a benchmark, not a test: the page
// built and served as the e2e suites do, Debian's chromium, N (1,000) SST-2
// sentences dropped as a TSV, "Predict all" and "Explain all" (gradient x
// input) on a shipped model (sst2-bert). Both buttons make one call for all
// rows (model.predictBatch / model.explainBatch: the worker runs the rows
// without a round trip each, predictions in padded batches). Then, as the
// side-by-side reference, the same rows one call per row (model.predict /
// model.explain in a loop, what the tab did before). For each: wall seconds
// as the page measured them, and the CPU seconds of all of chromium's
// processes over that time (user + system, from /proc: on a shared machine
// wall time alone says little). Prints one JSON line; also the model's
// thread count and whether any request left the page.
//
//   node bench/dataset_browser.mjs [N] [model] [data.tsv] [--no-per-row]
//   (default: 1000 sst2-bert ../shared/data/sst2/dev.tsv)
import fs from 'node:fs';
import path from 'node:path';
import { launch, openPage, startPage, ROOT } from '../tests/e2e/page_util.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const perRow = !process.argv.includes('--no-per-row');
const N = Number(args[0] || 1000);
const MODEL = args[1] || 'sst2-bert';
const DATA = args[2] || path.join(ROOT, '../shared/data/sst2/dev.tsv');

const lines = fs.readFileSync(DATA, 'utf8').split('\n');
const tsv = [lines[0], ...lines.slice(1).filter((l) => l.trim()).slice(0, N)].join('\n') + '\n';
const rows = tsv.trim().split('\n').length - 1;

// CPU seconds (user + system) of everything below a process (chromium and
// its renderers, GPU and utility processes, as children of this node), the
// children they already reaped included.
const TICK = 100; // USER_HZ on Linux
function cpuSeconds(root) {
  const stat = (pid) => {
    try {
      const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
    } catch {
      return null;
    }
  };
  const all = new Map();
  for (const d of fs.readdirSync('/proc')) if (/^\d+$/.test(d)) {
    const s = stat(d);
    if (s) all.set(Number(d), s);
  }
  let ticks = 0;
  const walk = (pid) => {
    for (const [c, cs] of all)
      if (cs.ppid === pid) {
        ticks += cs.ticks + cs.reaped;
        walk(c);
      }
  };
  walk(root);
  return ticks / TICK;
}

const server = await startPage('bench-dataset');
const browser = await launch();
const pid = process.pid; // chromium runs as this process's child
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
  const phase = async (run) => {
    const c0 = pid ? cpuSeconds(pid) : NaN;
    const ms = await run();
    return { wall_s: +(ms / 1000).toFixed(2), cpu_s: +((pid ? cpuSeconds(pid) : NaN) - c0).toFixed(2) };
  };
  const out = { model: MODEL, rows };
  out.predict = await phase(async () => {
    await page.click('#ds-predict');
    await page.waitForFunction(() => window.wordlightPage.timings.datasetPredictMs !== undefined, null, { timeout: 3_600_000 });
    await idle();
    return page.evaluate(() => window.wordlightPage.timings.datasetPredictMs);
  });
  await page.selectOption('#ds-method', 'gradient-x-input');
  out.explain_gradient_x_input = await phase(async () => {
    await page.click('#ds-explain');
    await page.waitForFunction(() => window.wordlightPage.timings.datasetExplainMs !== undefined, null, { timeout: 3_600_000 });
    await idle();
    return page.evaluate(() => window.wordlightPage.timings.datasetExplainMs);
  });
  const texts = tsv.trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
  if (perRow) {
    // The reference: one call per row, as the tab did before.
    const loop = (op) => page.evaluate(async ([ts, o]) => {
      const m = window.wordlightPage.model;
      const t0 = performance.now();
      for (const t of ts) {
        if (!t.trim()) continue;
        if (o === 'predict') await m.predict(t);
        else await m.explain(t, { method: 'gradient-x-input' });
      }
      return performance.now() - t0;
    }, [texts, op]);
    out.predict_per_row = await phase(() => loop('predict'));
    out.explain_per_row = await phase(() => loop('explain'));
    out.ratio_predict = +(out.predict_per_row.wall_s / out.predict.wall_s).toFixed(2);
    out.ratio_explain = +(out.explain_per_row.wall_s / out.explain_gradient_x_input.wall_s).toFixed(2);
  }
  const r = await page.evaluate(() => ({
    threads: window.wordlightPage.model.info.threads,
    accuracy: document.querySelector('#ds-accuracy')?.textContent ?? '',
  }));
  out.threads = r.threads;
  out.accuracy = r.accuracy;
  out.load_avg_1min = +fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  out.requests = requests.filter((u) => !u.startsWith('blob:')).length;
  console.log(JSON.stringify(out));
  await context.close();
} finally {
  await browser.close();
  await server.close();
}
