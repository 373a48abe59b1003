// What if > Find counterfactuals (issue 19) in Debian's chromium: the
// generator picker lists the module's generators; words are locked by
// pressing them; the results list each counterfactual with its edits
// marked (<del>/<ins>, the texts shown literally), each flipping
// model.predict and none editing a locked word; "Load and explain" puts a
// counterfactual into What if, which predicts and explains it. A
// screenshot lands in build/e2e/counterfactuals.png.
import { describe, expect, it } from 'vitest';
import { openPage, servedPage, shot } from './page_util.mjs';

const env = servedPage('counterfactuals');
const TEXT = 'a gripping , funny and moving film <b>';

describe.skipIf(env.missing)('Find counterfactuals', () => {
  it('finds, marks and loads counterfactuals, respecting locks', async () => {
    const hash = '#' + new URLSearchParams({ model: 'sst2-bilstm', view: 'whatif', text: TEXT }).toString();
    const { context, page, log } = await openPage(env.browser, env.server.url, { hash });
    await page.waitForFunction(() => window.wordlightPage?.model && !window.wordlightPage.job, null, { timeout: 240_000 });
    await page.click('#tab-whatif');
    await page.waitForSelector('#cf-locks .cf-lock');
    await page.waitForFunction(() => document.querySelectorAll('#cf-generator option').length > 0);
    const generators = await page.$$eval('#cf-generator option', (els) => els.map((e) => e.value));
    const api = await page.evaluate(async () => (await window.wordlightPage.api.generators()).map((g) => g.name));
    expect(generators).toEqual(api);

    // Lock the word HotFlip would edit first: the most relevant for the prediction.
    const p0 = await page.evaluate((t) => window.wordlightPage.model.predict(t), TEXT);
    const free = await page.evaluate((t) => window.wordlightPage.model.counterfactuals(t, { generator: 'hotflip' }), TEXT);
    expect(free.counterfactuals.length).toBeGreaterThan(0);
    const first = free.counterfactuals[0].edits[0].word;
    await page.locator(`#cf-locks .cf-lock[data-word="${first}"]`).click();
    expect(await page.locator(`#cf-locks .cf-lock[data-word="${first}"]`).getAttribute('aria-pressed')).toBe('true');

    await page.selectOption('#cf-generator', 'hotflip');
    await page.click('#cf-find');
    await page.waitForSelector('#cf-summary');
    await page.waitForFunction(() => !window.wordlightPage.job);
    const items = await page.$$eval('#cf-results .cf-item', (els) =>
      els.map((li) => ({
        text: li.querySelector('.cf-text').textContent,
        del: [...li.querySelectorAll('del')].map((d) => d.textContent),
        ins: [...li.querySelectorAll('ins')].map((d) => d.textContent),
      })),
    );
    // The same search through the API, with the lock.
    const locked = await page.evaluate(([t, w]) => window.wordlightPage.model.counterfactuals(t, { generator: 'hotflip', locked: [w] }), [TEXT, first]);
    expect(items.length).toBe(locked.counterfactuals.length);
    for (const [i, c] of locked.counterfactuals.entries()) {
      expect(c.edits.every((e) => e.word !== first)).toBe(true);
      expect(items[i].del).toEqual([...c.edits].sort((a, b) => a.begin - b.begin).map((e) => e.original));
      expect(items[i].ins).toEqual([...c.edits].sort((a, b) => a.begin - b.begin).map((e) => e.replacement).filter(Boolean));
      const p = await page.evaluate((t) => window.wordlightPage.model.predict(t), c.text);
      expect(p.label).not.toBe(p0.label);
    }
    // The hostile word is text, not markup.
    expect(await page.$$eval('#cf-results .cf-text b', (els) => els.length)).toBe(0);
    // Each listed text is the original with every edited word followed by its replacement (<del>, <ins>), literally.
    for (const [i, c] of locked.counterfactuals.entries()) {
      let at = 0, want = '';
      for (const e of [...c.edits].sort((a, b) => a.begin - b.begin)) {
        want += TEXT.slice(at, e.begin) + e.original + e.replacement;
        at = e.end;
      }
      expect(items[i].text).toBe(want + TEXT.slice(at));
    }

    if (locked.counterfactuals.length) {
      const target = locked.counterfactuals[0];
      await page.locator('#cf-results .cf-load').first().click();
      // What if shows it, predicted and explained.
      const expected = target.prediction.probabilities[p0.label];
      await page.waitForFunction(
        (p) => Math.abs(Number(document.querySelector('#view-whatif .delta')?.dataset.probability) - p) < 1e-4 && document.querySelector('#whatif-heatmap .w'),
        expected,
        { timeout: 240_000 },
      );
      await page.waitForFunction(() => !window.wordlightPage.job);
      // Its heatmap is of the counterfactual's words, in order.
      const shownWords = await page.$$eval('#whatif-heatmap .w .wt', (els) => els.map((e) => e.textContent));
      let at = 0;
      for (const w of shownWords) {
        const i = target.text.indexOf(w, at);
        expect(i).toBeGreaterThanOrEqual(0);
        at = i + w.length;
      }
      expect(shownWords.join('')).toBe(target.text.replace(/\s+/g, ''));
      expect(await page.textContent('#view-whatif .delta')).toContain(target.prediction.label_name);
    }
    expect(log.dialogs).toEqual([]);
    expect(log.errors).toEqual([]);
    await shot(page, 'counterfactuals.png');
    await context.close();
  }, 600_000);
});
