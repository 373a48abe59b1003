// "About this model" in Debian's chromium (web/src/modelcard.js): opening it
// shows the loaded model's card, with its measured numbers (accuracy, the
// negation-suite score) and its sections as text; another model loaded
// while it is open brings that model's card; a card with markup in it
// (served here in place of the real one) shows the markup as text and runs
// nothing. Screenshot: build/e2e/modelcard.png.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, openPage, servedPage, shot } from './page_util.mjs';
import { cardFacts, parseCard } from '../../web/src/modelcard.js';

const env = servedPage('modelcard');
const { missing } = env;
const card = (name) => fs.readFileSync(path.join(ROOT, 'models', name, 'README.md'), 'utf8');
const hashOf = (o) => '#' + new URLSearchParams(o).toString();

const loaded = (page, name) =>
  page.waitForFunction((n) => document.body.dataset.model === n && window.wordlightPage && !window.wordlightPage.job, name, { timeout: 240_000 });

async function openCard(page) {
  await page.click('#model-card > summary');
  await page.waitForFunction(() => document.querySelector('#model-card .model-card-body h3, #model-card .model-card-body p:not(.hint)'), null, { timeout: 60_000 });
}

const cardFactsShown = (page) =>
  page.$$eval('#model-card dl.card-facts > dt', (dts) => dts.map((dt) => ({ label: dt.textContent, value: dt.nextElementSibling.textContent })));

describe.skipIf(!!missing)('About this model', () => {
  it("shows the loaded model's card: its numbers, the negation suite, its sections; and the next model's", async () => {
    // bypassCSP: for axe-core's script, injected below.
    const { page, context, log } = await openPage(env.browser, env.server.url, { hash: hashOf({ model: 'sst2-bert' }), bypassCSP: true });
    await loaded(page, 'sst2-bert');
    expect(await page.isVisible('#model-card > summary')).toBe(true);
    expect(await page.$$eval('summary', (ss) => ss.filter((x) => x.textContent === 'About this model').length)).toBe(1);
    await openCard(page);
    const bert = parseCard(card('sst2-bert'));
    expect(await cardFactsShown(page)).toEqual(cardFacts(bert.fields));
    expect((await cardFactsShown(page)).some((f) => f.label === 'Negation and contrast suite')).toBe(true);
    // The card's "#" is an h3 and its "##" h4s, below the page's own headings.
    expect(await page.textContent('#model-card h3')).toBe('sst2-bert');
    const headings = await page.$$eval('#model-card h4', (hs) => hs.map((x) => x.textContent));
    expect(headings).toEqual(bert.blocks.filter((b) => b.type === 'heading' && b.level === 2).map((b) => b.inline.map((s) => s.text).join('')));
    expect(headings).toContain('Negation and contrast');
    const body = await page.textContent('#model-card');
    expect(body).toMatch(/Training time/);
    expect(body).toMatch(/27 of 48/);
    expect(await page.$$eval('#model-card table', (t) => t.length)).toBeGreaterThanOrEqual(2);
    await shot(page, 'modelcard.png');
    // The open card passes axe-core's WCAG 2.1 A/AA rules (tables, headings, its scrolling box).
    await page.addScriptTag({ content: fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8') });
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run('#model-card', { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return r.violations.map((x) => `${x.id}: ${x.help}`);
    });
    expect(violations).toEqual([]);

    // Another model, the card still open: its own card.
    await page.selectOption('#model', 'sst2-bilstm');
    await loaded(page, 'sst2-bilstm');
    await page.waitForFunction(() => document.querySelector('#model-card h3')?.textContent === 'sst2-bilstm', null, { timeout: 60_000 });
    expect(await cardFactsShown(page)).toEqual(cardFacts(parseCard(card('sst2-bilstm')).fields));
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('shows the markup of a hostile card as text and runs none of it', async () => {
    const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const hostile = [
      '---', 'model: sst2-bert', `eval: sst2:{DATA}/${evil} accuracy=0.5 n=2`, '---',
      `# ${evil}`, '', `A paragraph ${evil} with [a link](javascript:window.__pwned=3) and **bold** \`code\`.`, '',
      `| ${evil} |`, '| --- |', `| ${evil} |`, '', '```html', evil, '```',
    ].join('\n');
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(240_000);
    await context.route('**/models/sst2-bert/README.md', (route) => route.fulfill({ status: 200, contentType: 'text/markdown', body: hostile }));
    const page = await context.newPage();
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    await page.goto(env.server.url + hashOf({ model: 'sst2-bert' }));
    await loaded(page, 'sst2-bert');
    await openCard(page);
    const shown = await page.evaluate(() => {
      const c = document.querySelector('#model-card');
      return {
        h3: c.querySelector('h3')?.textContent,
        elements: [...c.querySelectorAll('img, script, a, iframe, object')].length,
        text: c.textContent,
        pwned: window.__pwned ?? null,
      };
    });
    expect(shown.h3).toBe(evil);
    expect(shown.elements).toBe(0);
    expect(shown.text.split(evil).length - 1).toBeGreaterThanOrEqual(5); // heading, paragraph, 2 cells, code (and the fact)
    expect(shown.pwned).toBe(null);
    expect(dialogs).toEqual([]);
    await context.close();
  }, 600_000);
});
