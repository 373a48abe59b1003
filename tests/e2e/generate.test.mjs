// The Generate tab (issue 21) in Debian's chromium with the shipped
// gpt2-small: a classifier's Generate tab offers the language model; picked,
// the page continues the prompt with tokens streamed as they come (seen in
// the DOM before the explanation ends), each generated token is explained
// over the earlier ones (a click shows its heatmap, probability, entropy and
// the first token's share, the numbers the generation's JSON holds), the
// full matrix is lower-triangular, the JSON and CSV exports hold the same
// numbers, a hostile prompt stays text, and Cancel stops a long run.
// A screenshot lands in build/e2e/generate.png.
import { describe, expect, it } from 'vitest';
import { openPage, servedPage, shot } from './page_util.mjs';

const env = servedPage('generate');

const idle = (page) => page.waitForFunction(() => window.wordlightPage?.model && !window.wordlightPage.job, null, { timeout: 240_000 });
const generated = (page) =>
  page.waitForFunction(() => document.querySelector('#view-generate')?.dataset.generated && !window.wordlightPage.job, null, { timeout: 240_000 });

async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const chunks = [];
  for await (const c of await d.createReadStream()) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

describe.skipIf(env.missing)('the Generate tab', () => {
  it('streams, explains, shows a token\u2019s heatmap and the matrix, exports, escapes and cancels', async () => {
    const { context, page, log } = await openPage(env.browser, env.server.url);
    await idle(page);
    // A classifier: Generate says what it needs and offers the language model.
    await page.click('#tab-generate');
    await page.waitForSelector('#gen-placeholder');
    expect(await page.textContent('#gen-load-lm')).toContain('gpt2-small');

    // Count the streamed tokens as they appear (before the final render replaces them).
    await page.evaluate(() => {
      window.__streamed = 0;
      new MutationObserver(() => {
        window.__streamed = Math.max(window.__streamed, document.querySelectorAll('#gen-tokens .gen-tok.streaming').length);
      }).observe(document.body, { childList: true, subtree: true });
    });
    await page.selectOption('#model', 'gpt2-small');
    await generated(page);
    // Only Generate applies to a language model; the prediction says so.
    expect(await page.$eval('#tab-explain', (t) => t.disabled)).toBe(true);
    expect(await page.$eval('#tab-generate', (t) => t.getAttribute('aria-selected'))).toBe('true');
    expect(await page.textContent('#prediction')).toContain('language model');

    const g = await page.evaluate(async () => {
      const r = await window.wordlightPage.model.generate(document.querySelector('#text').value, { maxNewTokens: 1 });
      return { prompt: r.prompt, first: r.tokens[0].id };
    });
    expect(g.prompt).toBe('This movie was');
    const n = Number(await page.$eval('#view-generate', (p) => p.dataset.generated));
    expect(n).toBeGreaterThan(0);
    expect(await page.evaluate(() => window.__streamed)).toBe(n);
    expect(await page.$$eval('#gen-tokens .gen-tok', (els) => els.length)).toBe(n);

    // The JSON export: the generation and its explanation.
    const json = JSON.parse(await download(page, '#export-generate-json'));
    const gen = json.generation;
    const e = gen.explanation;
    expect(json.model).toBe('gpt2-small');
    expect(gen.tokens).toHaveLength(n);
    expect(gen.tokens[0].id).toBe(g.first); // greedy: the same first token as a direct call
    expect(e.method).toBe('integrated-gradients');
    expect(e.matrix).toHaveLength(n);
    e.matrix.forEach((row, r) => {
      const pos = e.prompt_length + e.targets[r];
      for (let c = pos; c < row.length; ++c) expect(row[c]).toBe(0);
    });

    // The last token is selected; click the first: its heatmap over the prompt.
    await page.click('#gen-tokens .gen-tok[data-index="0"]');
    await page.waitForSelector('#gen-tokens .gen-tok.sel[data-index="0"]');
    const scored = await page.$$eval('#gen-tokens [data-score]', (els) => els.map((x) => Number(x.dataset.score)));
    expect(scored).toHaveLength(e.prompt_length);
    scored.forEach((v, c) => expect(v).toBeCloseTo(e.matrix[0][c], 9));
    expect(await page.textContent('#gen-prob')).toBe(`${(100 * gen.tokens[0].probability).toFixed(1)}%`);
    expect(await page.textContent('#gen-entropy')).toBe(`${gen.tokens[0].entropy.toFixed(3)} nats`);
    const share = Number(await page.$eval('#gen-first-share', (x) => x.dataset.share));
    expect(share).toBeCloseTo(e.first_token_share[0], 9);
    expect(share).toBeGreaterThanOrEqual(0);
    expect(share).toBeLessThanOrEqual(1);

    // The full matrix: one row per generated token, later sources blank.
    await page.click('#gen-matrix-toggle');
    await page.waitForSelector('#gen-matrix-table');
    const rows = await page.$$eval('#gen-matrix-table tbody tr', (trs) => trs.map((tr) => [tr.querySelectorAll('td[data-score]').length, tr.querySelectorAll('td.gen-future').length]));
    expect(rows).toHaveLength(n);
    rows.forEach(([past, future], r) => {
      expect(past).toBe(e.prompt_length + e.targets[r]);
      expect(past + future).toBe(e.sources.length);
    });
    await shot(page, 'generate.png');

    // CSV: one line per (token, earlier source), the same numbers.
    const csv = (await download(page, '#export-generate-csv')).trim().split('\n');
    expect(csv[0]).toBe('target,target_token,probability,entropy,first_token_share,source,source_token,attribution');
    const cells = e.targets.reduce((s, t) => s + e.prompt_length + t, 0);
    expect(csv).toHaveLength(1 + cells);
    expect(Number(csv[1].split(',').at(-1))).toBeCloseTo(e.matrix[0][0], 12);

    // A hostile prompt is shown as text, never markup.
    const hostile = '<img src=x onerror="window.__pwned=1"> the film';
    await page.fill('#text', hostile);
    await page.fill('#gen-max', '3');
    await page.click('#gen-run');
    await generated(page);
    expect(Number(await page.$eval('#view-generate', (p) => p.dataset.generated))).toBeLessThanOrEqual(3);
    expect(await page.$$eval('#view-generate img', (x) => x.length)).toBe(0);
    expect(await page.textContent('#gen-tokens')).toContain('<img');
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();

    // Cancel: a long run stops, what came stays, the page says so.
    await page.fill('#text', 'The story');
    await page.fill('#gen-max', '100');
    await page.click('#gen-run');
    await page.waitForSelector('#gen-tokens .gen-tok.streaming');
    await page.click('#cancel');
    await page.waitForFunction(() => !window.wordlightPage.job && /Cancelled|stopped by you/i.test(document.querySelector('#gen-note').textContent), null, { timeout: 240_000 });

    expect(log.dialogs).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 900_000);
});
