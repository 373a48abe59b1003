// Accessibility of the built page in chromium: axe-core's WCAG 2.1 A/AA
// rules (contrast included) on every view, keyboard reach of the words, and
// no sideways scrolling on a phone.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, heatmapWords, openPage, servedPage } from './page_util.mjs';

const env = servedPage('a11y');
const { missing } = env;
const AXE = path.join(ROOT, 'node_modules/axe-core/axe.min.js');

// axe-core's violations of WCAG 2.0/2.1 A and AA in the page as it is now,
// as readable lines.
async function violations(page) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: fs.readFileSync(AXE, 'utf8') });
  const v = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((x) => `${x.id} (${x.impact}): ${x.help}: ${x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  return v;
}

describe.skipIf(!!missing)('accessibility', () => {
  it('passes axe-core WCAG 2.1 AA on every view', async () => {
    const { page, context } = await openPage(env.browser, env.server.url, { bypassCSP: true });
    await heatmapWords(page);
    await page.check('#show-numbers');
    await page.evaluate(() => {
      document.querySelector('#options-box').open = true;
      document.querySelector('.score-table-box').open = true;
    });
    const found = { explain: await violations(page) };
    const ready = {
      compare: '#view-compare td[data-rho]',
      layers: '#layers-matrix tbody tr',
      whatif: '#deletion-chart polyline',
      interactions: '#ih-matrix tbody tr',
      // the default model's attention matrix, or why it has none (a BiLSTM)
      attention: '#attention-matrix tbody tr, #attention-out .placeholder',
    };
    for (const [view, sel] of Object.entries(ready)) {
      await page.click(`#tab-${view}`);
      await page.waitForSelector(sel, { timeout: 240_000 });
      found[view] = await violations(page);
    }
    for (const [view, v] of Object.entries(found)) expect(v, view).toEqual([]);
    await context.close();
  }, 600_000);

  it('passes axe-core on the Generate tab: a classifier\'s offer, then the language model\'s tokens, heatmap and matrix', async () => {
    const { page, context } = await openPage(env.browser, env.server.url, { bypassCSP: true });
    await heatmapWords(page);
    await page.click('#tab-generate');
    await page.waitForSelector('#gen-placeholder');
    expect(await violations(page)).toEqual([]);
    await page.selectOption('#model', 'gpt2-small');
    await page.waitForFunction(() => document.querySelector('#view-generate')?.dataset.generated && !window.wordlightPage.job, null, { timeout: 240_000 });
    await page.click('#gen-matrix-toggle');
    await page.waitForSelector('#gen-matrix-table');
    expect(await violations(page)).toEqual([]);
    await context.close();
  }, 600_000);

  it('passes axe-core with a repaired link\'s notice, unread words, an unsigned method and an error', async () => {
    const hash = '#' + new URLSearchParams({ method: 'saliency', 'o.bogus': '1', class: '9', text: 'A wonderful 😀 film, 日本語 and Привет.' }).toString();
    const { page, context } = await openPage(env.browser, env.server.url, { bypassCSP: true, hash });
    await page.waitForFunction(() => window.wordlightPage?.result?.method === 'saliency', null, { timeout: 240_000 });
    await page.locator('.notice-item').first().waitFor({ timeout: 240_000 });
    await page.evaluate(() => window.wordlightPage.showError('An error shown for the test.'));
    expect(await page.locator('#heatmap .w.unread').count()).toBeGreaterThan(0);
    expect(await violations(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await violations(page)).toEqual([]);
    await context.close();
  }, 600_000);

  it('reaches the words from the keyboard and announces a summary', async () => {
    const { page, context } = await openPage(env.browser, env.server.url);
    const words = await heatmapWords(page);
    // Tab from the Explain button lands on the tabs, then on the heatmap's one tab stop.
    await page.focus('#tab-explain');
    let label = '';
    for (let i = 0; i < 8 && !label.includes(':'); ++i) {
      await page.keyboard.press('Tab');
      label = (await page.evaluate(() => (document.activeElement.closest('#heatmap') ? document.activeElement.getAttribute('aria-label') : ''))) || '';
    }
    expect(label).toContain(words[0].text);
    await page.keyboard.press('End');
    expect(await page.evaluate(() => document.activeElement.getAttribute('aria-label'))).toContain(words.at(-1).text);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    expect(outline).not.toBe('none');
    expect(await page.locator('#summary').getAttribute('aria-live')).toBe('polite');
    await context.close();
  }, 600_000);

  it('fits a phone screen without sideways scrolling', async () => {
    const { page, context } = await openPage(env.browser, env.server.url, { viewport: { width: 360, height: 740 } });
    await heatmapWords(page);
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(over).toBeLessThanOrEqual(0);
    await context.close();
  }, 600_000);
});
