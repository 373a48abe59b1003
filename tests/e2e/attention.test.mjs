// The Attention tab (issue 19) in Debian's chromium: the heading says the
// weights are not an explanation; the layer and head pickers list the
// model's layers and heads plus "all heads (mean)"; pressing a token shows
// the attention FROM it: the matrix's marked row and the arcs equal
// model.attention's row for that layer and head (the mean over heads for
// "all heads"); the hostile text's tokens are shown literally; a BiLSTM
// gets the reason there is nothing to show. A screenshot lands in
// build/e2e/attention.png.
import { describe, expect, it } from 'vitest';
import { openPage, servedPage, shot } from './page_util.mjs';

const env = servedPage('attention');
const TEXT = 'a gripping <b>funny</b> film';

describe.skipIf(env.missing)('Attention tab', () => {
  it('shows the attention from a pressed token, per layer and head', async () => {
    const hash = '#' + new URLSearchParams({ model: 'sst2-bert', view: 'attention', text: TEXT }).toString();
    const { context, page, log } = await openPage(env.browser, env.server.url, { hash });
    await page.waitForFunction(() => window.wordlightPage?.model && !window.wordlightPage.job, null, { timeout: 240_000 });
    await page.click('#tab-attention');
    await page.waitForSelector('#attention-matrix');
    expect(await page.textContent('#attention-title')).toBe('Attention weights \u2014 not an explanation of the prediction');

    const api = await page.evaluate((t) => window.wordlightPage.model.attention(t), TEXT);
    const layers = await page.$$eval('#attention-layer option', (els) => els.map((e) => e.value));
    const heads = await page.$$eval('#attention-head option', (els) => els.map((e) => [e.value, e.textContent]));
    expect(layers).toHaveLength(api.layers);
    expect(heads).toHaveLength(api.heads + 1);
    expect(heads[0]).toEqual(['mean', 'all heads (mean)']);

    // The tokens, literally (the hostile '<b>' is text, not markup).
    const shown = await page.$$eval('#attention-tokens .att-token', (els) => els.map((e) => e.textContent));
    expect(shown).toEqual(api.texts.map((t, i) => t || api.tokens[i]));
    expect(shown).toContain('<');
    expect(await page.$$eval('#view-attention b', (els) => els.length)).toBe(0);

    // Press a word, pick layer 1, head 2: the marked row and the arcs are model.attention's row.
    const from = api.texts.indexOf('funny');
    expect(from).toBeGreaterThan(0);
    await page.selectOption('#attention-layer', { value: '0' });
    await page.selectOption('#attention-head', { value: '1' });
    await page.click(`#attention-tokens .att-token[data-index="${from}"]`);
    expect(await page.getAttribute(`#attention-tokens .att-token[data-index="${from}"]`, 'aria-pressed')).toBe('true');
    const rowOf = () =>
      page.$$eval('#attention-matrix tr.from td', (els) => els.map((e) => Number(e.dataset.weight)));
    const want = api.attention[0][1][from];
    const row = await rowOf();
    expect(row).toHaveLength(want.length);
    row.forEach((w, j) => expect(w).toBeCloseTo(want[j], 6));
    expect(Number(await page.getAttribute('#attention-matrix tr.from', 'data-query'))).toBe(from);
    const arcs = await page.$$eval('#attention-arcs path', (els) => els.map((e) => [Number(e.dataset.key), Number(e.dataset.weight)]));
    expect(arcs.length).toBe(want.filter((w) => w > 0).length);
    for (const [j, w] of arcs) expect(w).toBeCloseTo(want[j], 6);
    expect(await page.textContent('#attention-caption')).toContain('layer 1, head 2');

    // All heads: the mean of the layer's heads.
    await page.selectOption('#attention-layer', { value: String(api.layers - 1) });
    await page.selectOption('#attention-head', { value: 'mean' });
    const L = api.attention[api.layers - 1];
    const mean = L[0][from].map((_, j) => L.reduce((a, hd) => a + hd[from][j], 0) / L.length);
    const meanRow = await rowOf();
    meanRow.forEach((w, j) => expect(w).toBeCloseTo(mean[j], 6));
    expect(meanRow.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    await shot(page, 'attention.png');

    expect(log.errors).toEqual([]);
    expect(log.dialogs).toEqual([]);
    await context.close();
  });

  it('says why a model without attention has none', async () => {
    const hash = '#' + new URLSearchParams({ model: 'sst2-bilstm', view: 'attention', text: TEXT }).toString();
    const { context, page, log } = await openPage(env.browser, env.server.url, { hash });
    await page.waitForFunction(() => window.wordlightPage?.model && !window.wordlightPage.job, null, { timeout: 240_000 });
    await page.click('#tab-attention');
    await page.waitForSelector('#attention-out .placeholder');
    expect(await page.textContent('#attention-out .placeholder')).toMatch(/no attention/);
    expect(await page.$$eval('#attention-matrix', (els) => els.length)).toBe(0);
    expect(log.errors).toEqual([]);
    await context.close();
  });
});
