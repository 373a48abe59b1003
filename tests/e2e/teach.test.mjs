// End to end: the "How this works" panel in Debian's chromium. For every
// method the page offers, the panel opens (by keyboard once, by click),
// and its picture is made from the current text: the SVG holds the text's
// words, and its marks match the result (one marker per quadrature point,
// one row per occluded word, one level per layer...). Screenshots of the
// panel at 1280x800 and 390x844 go to build/e2e/teach-*.png.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHOTS, heatmapWords, openPage, servedPage } from './page_util.mjs';

const env = servedPage('teach');
const { missing } = env;

const TEXT = 'A gripping, funny film, though the ending drags.';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// The panel's figure for `method`, drawn at a width below `maxWidth`.
async function figureFor(page, method, maxWidth = 10_000) {
  await page.waitForFunction(
    ([m, w]) => {
      const f = document.querySelector('#teach-figure');
      return f && f.dataset.method === m && f.getAttribute('aria-busy') === 'false' && Number(f.dataset.width) <= w && f.querySelector('svg');
    },
    [method, maxWidth],
    { timeout: 240_000 },
  );
  return page.evaluate(() => {
    const f = document.querySelector('#teach-figure');
    const svg = f.querySelector('svg');
    const count = (sel) => svg.querySelectorAll(sel).length;
    const r = window.wordlightPage.result;
    return {
      svgText: svg.textContent,
      width: svg.getBoundingClientRect().width,
      panelWidth: document.querySelector('#teach').getBoundingClientRect().width,
      viewport: document.documentElement.clientWidth,
      quadPoints: count('.quad-point'),
      occlusionRows: count('.occlusion-row'),
      levels: count('.flow-level'),
      arcs: count('.ih-arc'),
      samples: count('.noise-sample'),
      bars: count('.score-bar'),
      coalitions: count('.coalition-row'),
      headings: [...document.querySelectorAll('#teach-body h4')].map((h) => h.textContent),
      sources: document.querySelectorAll('#teach-body .teach-sources li').length,
      formula: document.querySelector('#teach-body .teach-formula')?.textContent || '',
      checks: [...document.querySelectorAll('#teach-body .teach-checks li')].map((li) => li.textContent),
      result: {
        method: r.method,
        words: r.words.map((w) => r.text.slice(w.begin, w.end)),
        tokens: r.tokens.filter((t) => !t.special).map((t) => t.token),
        pathPoints: Array.isArray(r.path?.alphas) ? r.path.alphas.length : null,
        layers: r.layers?.length ?? null,
      },
    };
  });
}

describe.skipIf(!!missing)('How this works', () => {
  it('opens for every method the page offers, with a picture of the current text, at both sizes', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: DESKTOP });
    await heatmapWords(page);
    await page.fill('#text', TEXT);
    await heatmapWords(page, TEXT);
    const methods = await page.$$eval('#method option', (os) => os.filter((o) => !o.disabled).map((o) => o.value));
    expect(methods.length).toBeGreaterThanOrEqual(5);

    // The disclosure: a button in a heading, opened by the keyboard.
    const toggle = page.locator('#teach-toggle');
    await toggle.waitFor();
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator('#teach-body').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.querySelector('#teach-toggle').parentElement.tagName)).toBe('H3');
    await toggle.focus();
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    expect(await page.locator('#teach-body').isVisible()).toBe(true);

    const seen = {};
    for (const method of methods) {
      if ((await page.inputValue('#method')) !== method) await page.selectOption('#method', method);
      await page.waitForFunction((m) => window.wordlightPage.result?.method === m, method, { timeout: 240_000 });
      await heatmapWords(page, TEXT);
      if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
      expect(await toggle.textContent()).toMatch(/^How this works: /);
      const fig = await figureFor(page, method);
      seen[method] = fig;
      // The picture is made from this text: its words (or, for the LRP
      // flow, its tokens) are in the SVG.
      const units = method === 'lrp' || method === 'layer-relevance' || method === 'neuron-relevance' ? fig.result.tokens : fig.result.words;
      const wanted = units.filter((u) => /\w{3,}/.test(u)).slice(0, 4);
      expect(wanted.length, method).toBeGreaterThan(0);
      for (const u of wanted) expect(fig.svgText, `${method}: ${u}`).toContain(u);
      expect(fig.headings, method).toEqual(expect.arrayContaining(['What it computes', 'The picture, from this text', 'What its check says', 'Where it can mislead', 'Sources']));
      expect(fig.sources, method).toBeGreaterThan(0);
      expect(fig.formula, method).toMatch(/=/);
      expect(fig.checks.length, method).toBeGreaterThan(0);
      expect(fig.width).toBeLessThanOrEqual(fig.panelWidth + 1);
      // The marks match the result.
      if (method === 'integrated-gradients' && fig.result.pathPoints !== null) expect(fig.quadPoints).toBe(fig.result.pathPoints);
      if (method === 'occlusion') expect(fig.occlusionRows).toBe(Math.min(40, fig.result.words.length));
      if (method === 'integrated-hessians') expect(fig.arcs).toBeGreaterThan(0);
      if (method === 'lrp') expect(fig.levels).toBeGreaterThanOrEqual(4); // output, >= 2 layers, input
      if (method === 'layer-relevance') expect(fig.levels).toBe(fig.result.layers + 2);
      if (method === 'smoothgrad' || method === 'smoothgrad-squared') expect(fig.samples).toBe(6 * Math.min(40, fig.result.words.length));
      if (['gradient', 'saliency', 'gradient-x-input'].includes(method)) expect(fig.bars).toBe(Math.min(40, fig.result.words.length));
      if (['kernel-shap', 'shapley-sampling', 'partition-shap', 'lime'].includes(method)) expect(fig.coalitions, method).toBe(Math.min(40, fig.result.words.length));
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.locator('#teach').screenshot({ path: path.join(SHOTS, `teach-${method}.png`) });

      // On a phone: redrawn for the narrow panel, nothing wider than the screen.
      await page.setViewportSize(PHONE);
      const phone = await figureFor(page, method, 400);
      expect(phone.width).toBeLessThanOrEqual(PHONE.width);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      for (const u of wanted.slice(0, 2)) expect(phone.svgText, `${method} on a phone: ${u}`).toContain(u);
      await page.locator('#teach').screenshot({ path: path.join(SHOTS, `teach-${method}-phone.png`) });
      await page.setViewportSize(DESKTOP);
      await figureFor(page, method);
    }
    // The panel closes again.
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator('#teach-body').isHidden()).toBe(true);
    expect(log.errors).toEqual([]);
    expect(log.dialogs).toEqual([]);
    fs.writeFileSync(path.join(SHOTS, 'teach.json'), JSON.stringify(Object.fromEntries(Object.entries(seen).map(([m, f]) => [m, { ...f, svgText: undefined }])), null, 2) + '\n');
    await context.close();
  }, 1_800_000);
});
