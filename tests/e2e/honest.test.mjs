// The page never misleads (issue 13), in Debian's chromium: unsigned scores
// on their own scale with an "importance" legend; neuron explanations titled
// by their neuron; only the options that apply offered, and a hostile link
// repaired with notices; errors and progress inside the viewport at a
// laptop's and a phone's size; unread words marked; every view exported in
// every format (the files opened and checked); a link restoring every
// setting; the model downloaded once. Screenshots of every view at both
// sizes land in build/e2e/views/.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SHOTS, heatmapWords, openPage, servedPage } from './page_util.mjs';
import { PUOR, maxAbs, niceScale, scoreColours } from '../../web/src/colour.js';
import { buildManifest } from '../../web/tools/manifest.mjs';

const env = servedPage('honest');
const { missing } = env;
const MODELS = path.join(ROOT, 'models');
const MANIFEST = buildManifest(MODELS);
const DEFAULT = MANIFEST.default;
const HAS_BERT = MANIFEST.models.some((m) => m.name === 'sst2-bert');
const HAS_CNN = MANIFEST.models.some((m) => m.name === '20news-cnn');
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const hashOf = (o) => '#' + new URLSearchParams(o).toString();

async function setOption(page, name, value) {
  await page.evaluate(() => (document.querySelector('#options-box').open = true));
  const input = page.locator(`#opt-${name}`);
  if ((await input.getAttribute('type')) === 'checkbox') await input.setChecked(value === true || value === 'true');
  else {
    await input.fill(String(value));
    await input.dispatchEvent('change');
  }
}

const waitIdle = (page) => page.waitForFunction(() => window.wordlightPage && !window.wordlightPage.job, null, { timeout: 240_000 });

// A download started by clicking `selector` -> its bytes.
async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) };
}

// The rectangle of an element, and whether all of it is inside the viewport.
async function inViewport(page, selector) {
  return page.evaluate((sel) => {
    const r = document.querySelector(sel).getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height, inside: r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth };
  }, selector);
}

describe.skipIf(!!missing)('the page never misleads', () => {
  it('draws an unsigned method on the sequential scale with a legend that says importance', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf({ method: 'saliency' }) });
    await page.waitForFunction(() => window.wordlightPage?.result?.method === 'saliency', null, { timeout: 240_000 });
    const words = await page.$$eval('#heatmap .w:not(.unread)', (els) => els.map((e) => ({ score: Number(e.dataset.score), bg: e.style.getPropertyValue('--bg'), label: e.getAttribute('aria-label') })));
    expect(words.length).toBeGreaterThan(3);
    const scale = niceScale(maxAbs(words.map((w) => w.score)));
    for (const w of words) {
      expect(w.score).toBeGreaterThanOrEqual(0);
      expect(w.bg).toBe(scoreColours(w.score, scale, 'unsigned').bg);
      expect(PUOR.slice(0, 5).concat(PUOR.slice(6))).not.toContain(w.bg);
      expect(w.label).not.toMatch(/\bfor\b|against/);
      expect(w.label).toMatch(/importance/);
    }
    expect(await page.getAttribute('#legend', 'data-scores')).toBe('unsigned');
    const legend = await page.locator('#legend').textContent();
    expect(legend).toMatch(/importance/);
    expect(legend).not.toMatch(/\bfor\b|against/);
    expect(await page.locator('#summary').textContent()).toMatch(/importance/);
    const svg = (await download(page, '#export-svg')).bytes.toString('utf8');
    expect(svg).toMatch(/importance/);
    expect(svg).not.toMatch(/against|evidence for/);
    // The same method in Compare keeps its scale.
    await page.evaluate(() => { location.hash = location.hash.replace(/&?compare=[^&]*/, '') + '&compare=saliency,gradient-x-input'; });
    await page.click('#tab-compare');
    await page.waitForSelector('#view-compare .cmp-row[data-method="saliency"]', { timeout: 240_000 });
    expect(await page.getAttribute('#view-compare .cmp-row[data-method="saliency"]', 'data-scores')).toBe('unsigned');
    expect(await page.locator('#view-compare .cmp-row[data-method="saliency"] .legend').textContent()).toMatch(/importance/);
    expect(await page.getAttribute('#view-compare .cmp-row[data-method="gradient-x-input"]', 'data-scores')).toBe('signed');
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('titles neuron and layer relevance by their neuron and layer, never by the class', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf({ view: 'layers' }) });
    await page.waitForSelector('#layers-matrix tbody tr', { timeout: 240_000 });
    expect(await page.locator('#layers-title').textContent()).not.toMatch(/^Why/);
    // Where the module says how much relevance each layer absorbs, a column shows it.
    const fromModule = await page.evaluate(() => window.wordlightPage.views.layers.result.layers.map((L) => L.absorbed));
    if (fromModule.some(Number.isFinite)) {
      expect(await page.locator('#layers-matrix td.absorbed').count()).toBe(fromModule.length);
      expect(await page.locator('#layers-matrix thead th.absorbed-h').innerText()).toMatch(/absorbed\s+here/);
    }
    await page.locator('#layers-matrix .rowbtn').last().click();
    await page.locator('#view-layers .neurons button').first().click();
    await page.waitForSelector('#neuron-heatmap .w', { timeout: 240_000 });
    const title = await page.locator('#neuron-title').textContent();
    expect(title).toMatch(/neuron/i);
    expect(title).not.toMatch(/^Why|positive|negative/);
    expect(await page.locator('#view-layers .neuron-out .legend').textContent()).toMatch(/neuron/);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('offers only the options that apply to the model, and repairs a hostile link with notices', async () => {
    const bilstm = MANIFEST.models.find((m) => m.name === 'sst2-bilstm') ? 'sst2-bilstm' : DEFAULT;
    const hostile = {
      model: bilstm,
      method: 'lrp',
      'o.rule': 'z-plus',
      'o.variant': 'cp-lrp',
      'o.epsilon': '99999',
      'o.<img src=x onerror=alert(1)>': '1',
      class: '7',
      'ih.steps': '100000',
      'layers.mode': 'evil',
      compare: 'lrp,occlusion,bogus',
    };
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf(hostile) });
    await page.waitForFunction(() => window.wordlightPage?.result?.method === 'lrp', null, { timeout: 240_000 });
    const group = await page.evaluate(() => window.wordlightPage.model.info.architecture_group || window.wordlightPage.model.info.architecture);
    const offered = await page.$$eval('#options .opt label', (ls) => ls.map((l) => l.textContent));
    const lrp = await page.evaluate(() => window.wordlightPage.method('lrp'));
    expect(offered).toEqual(lrp.options.map((o) => o.name));
    if (/lstm/.test(group)) {
      expect(offered).not.toContain('variant');
      expect(offered).not.toContain('alpha');
      expect(await page.$$eval('#opt-rule option', (os) => os.map((o) => o.value))).not.toContain('z-plus');
    }
    const notices = await page.$$eval('.notice-item', (els) => els.map((e) => e.textContent));
    const all = notices.join('\n');
    for (const bad of ['z-plus', 'variant', '99999', '<img src=x onerror=alert(1)>', 'class 7', '100000', 'evil', 'bogus']) expect(all).toContain(bad);
    expect(await page.evaluate(() => document.querySelectorAll('img, [onerror]').length)).toBe(0);
    expect(await page.locator('.notice-item').first().isVisible()).toBe(true);
    // Explained with what applies, and the repaired state is the link now.
    const r = await page.evaluate(() => window.wordlightPage.result.options);
    expect(r.rule ?? 'epsilon').toBe('epsilon');
    expect(r.variant ?? 'attnlrp').toBe('attnlrp');
    expect(Number(r.epsilon)).not.toBe(99999);
    await page.waitForTimeout(400);
    const hash = decodeURIComponent(await page.evaluate(() => location.hash));
    for (const bad of ['z-plus', 'cp-lrp', '99999', 'onerror', 'class=7', '100000', 'evil', 'bogus']) expect(hash).not.toContain(bad);
    expect(hash).toContain('compare=lrp,occlusion');
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'views', 'repaired-link-1280.png') });
    if (HAS_CNN) {
      // The CNN offers the rules that apply to it.
      await page.selectOption('#model', '20news-cnn');
      await page.waitForFunction(() => window.wordlightPage.modelName === '20news-cnn', null, { timeout: 240_000 });
      await page.selectOption('#method', 'lrp');
      expect(await page.$$eval('#opt-rule option', (os) => os.map((o) => o.value))).toEqual(expect.arrayContaining(['epsilon', 'z-plus', 'alpha-beta']));
    }
    expect(log.dialogs).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  for (const [name, viewport] of [['laptop', LAPTOP], ['phone', PHONE]]) {
    it(`shows errors, progress and Cancel inside the viewport (${name}, ${viewport.width}x${viewport.height}), Compare included`, async () => {
      // A long run: Integrated Gradients at a fixed 4096 steps.
      const model = HAS_BERT ? 'sst2-bert' : DEFAULT;
      const long = { model, method: 'integrated-gradients', 'o.adaptive': 'false', 'o.steps': '4096' };
      const { page, context, log } = await openPage(env.browser, env.server.url, { viewport, hash: hashOf(long) });
      await page.locator('#progress').waitFor({ state: 'visible', timeout: 240_000 });
      await page.waitForFunction(() => /Integrated/.test(document.querySelector('#progress-label').textContent), null, { timeout: 240_000 });
      const bar = await inViewport(page, '#progress');
      expect(bar.inside, JSON.stringify(bar)).toBe(true);
      expect((await inViewport(page, '#cancel')).inside).toBe(true);
      expect(await page.getAttribute('#progress-label', 'aria-live')).toBe('polite');
      await page.screenshot({ path: path.join(SHOTS, 'views', `progress-${viewport.width}.png`) });
      await page.click('#cancel');
      await page.locator('#progress').waitFor({ state: 'hidden', timeout: 240_000 });

      // An error: a model folder without its weights.
      const dir = path.join(MODELS, 'sst2-bilstm');
      await page.setInputFiles('#model-files', [
        { name: 'config.json', mimeType: 'application/json', buffer: fs.readFileSync(path.join(dir, 'config.json')) },
        { name: 'vocab.txt', mimeType: 'text/plain', buffer: fs.readFileSync(path.join(dir, 'vocab.txt')) },
      ]);
      await expect.poll(() => page.locator('#error').textContent(), { timeout: 240_000 }).toMatch(/model\.safetensors is missing/);
      const err = await inViewport(page, '#error');
      expect(err.inside, JSON.stringify(err)).toBe(true);
      expect(await page.getAttribute('#error', 'role')).toBe('alert');
      await page.screenshot({ path: path.join(SHOTS, 'views', `error-${viewport.width}.png`) });
      await page.click('#error-dismiss');
      expect(await page.locator('#error').isHidden()).toBe(true);

      // Compare: its progress (the method on the left keeps your 4096 steps).
      await page.evaluate(() => window.wordlightPage.views.compare.setPicks(['integrated-gradients', 'gradient-x-input']));
      await page.click('#tab-compare');
      await page.waitForFunction(() => !document.querySelector('#progress').hidden && /Comparing/.test(document.querySelector('#progress-label').textContent), null, { timeout: 240_000 });
      const cmp = await inViewport(page, '#progress');
      expect(cmp.inside, JSON.stringify(cmp)).toBe(true);
      await page.click('#cancel');
      await page.locator('#progress').waitFor({ state: 'hidden', timeout: 240_000 });
      expect(log.errors).toEqual([]);
      await context.close();
    }, 600_000);
  }

  it('marks words the model cannot read, and the unread tail, in every view', async () => {
    const text = 'A wonderful 😀 film, 日本語 and Привет, truly moving.';
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf({ model: DEFAULT, text }) });
    await heatmapWords(page, text);
    const unread = await page.$$eval('#heatmap .w.unread', (els) => els.map((e) => ({ text: e.textContent, label: e.getAttribute('aria-label'), bg: e.style.getPropertyValue('--bg') })));
    const known = await page.evaluate(() => window.wordlightPage.result.words.filter((w) => w.unknown === true || w.tokens.some((t) => window.wordlightPage.result.tokens[t].token === '[UNK]')).length);
    expect(unread.length).toBe(known);
    expect(unread.length).toBeGreaterThanOrEqual(2);
    for (const u of unread) {
      expect(u.label).toMatch(/not read by this model/);
      expect(PUOR).not.toContain(u.bg);
    }
    await expect.poll(() => page.locator('#pred-unread').textContent(), { timeout: 240_000 }).toMatch(/Not read by this model: \d+% of the words/);
    expect(await page.locator('#legend').textContent()).toMatch(/not read by this model/);
    const html = (await download(page, '#export-html')).bytes.toString('utf8');
    expect((html.match(/data-unread="unknown"/g) || []).length).toBe(unread.length);
    // Layers and Interactions mark their columns.
    await page.click('#tab-layers');
    await page.waitForSelector('#layers-matrix tbody tr', { timeout: 240_000 });
    expect(await page.locator('#layers-matrix thead th.unread').count()).toBe(unread.length);
    await page.click('#tab-interactions');
    await page.waitForSelector('#ih-matrix tbody tr', { timeout: 240_000 });
    expect(await page.locator('#ih-matrix thead th.unread').count()).toBe(unread.length);

    // A text longer than the model reads: the tail is marked and wraps in the export.
    const longText = 'a gripping and moving film '.repeat(40) + 'THE-UNREAD-TAIL ' + 'more words after the cut '.repeat(8);
    await page.click('#tab-explain');
    await page.fill('#text', longText);
    await heatmapWords(page, longText);
    expect(await page.locator('#heatmap .cut-mark').textContent()).toMatch(/not read by this model/);
    expect(await page.locator('#heatmap .cut').textContent()).toContain('THE-UNREAD-TAIL');
    expect(await page.locator('#unread-notice').textContent()).toMatch(/past its length limit/);
    const svg = (await download(page, '#export-svg')).bytes.toString('utf8');
    const W = Number(/width="(\d+)"/.exec(svg)[1]);
    expect(svg).toContain('not read by this model');
    expect(svg).toContain('THE-UNREAD-TAIL');
    for (const m of svg.matchAll(/<text x="([\d.]+)"[^>]*fill="#6b7385"[^>]*text-decoration="line-through"[^>]*>([^<]*)/g)) expect(Number(m[1])).toBeLessThan(W);
    fs.writeFileSync(path.join(SHOTS, 'views', 'export-truncated.svg'), svg);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('shows a multi-label model\'s labels as independent, never as one predicted class (and says so in the export)', async () => {
    // sst2-bilstm's weights under problem_type multi_label_classification:
    // each label its own sigmoid, so the two probabilities need not sum to 1.
    const dir = path.join(MODELS, 'sst2-bilstm');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    config.problem_type = 'multi_label_classification';
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf({ model: DEFAULT }) });
    await heatmapWords(page);
    await page.setInputFiles('#model-files', [
      { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(config)) },
      { name: 'vocab.txt', mimeType: 'text/plain', buffer: fs.readFileSync(path.join(dir, 'vocab.txt')) },
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: fs.readFileSync(path.join(dir, 'model.safetensors')) },
    ]);
    await page.waitForFunction(() => window.wordlightPage.modelEntry?.local === true, null, { timeout: 240_000 });
    const text = 'a wonderful, moving film';
    await page.fill('#text', text);
    await heatmapWords(page, text);
    await expect.poll(() => page.locator('#prediction').textContent(), { timeout: 240_000 }).toMatch(/each label has its own probability/);
    const shown = await page.evaluate(() => ({ text: document.querySelector('#prediction').textContent, p: window.wordlightPage.result.prediction }));
    expect(shown.p.multi_label).toBe(true);
    expect(Math.abs(shown.p.probabilities[0] + shown.p.probabilities[1] - 1)).toBeGreaterThan(1e-3);
    expect(shown.text).not.toMatch(/Predicted:/);
    expect(shown.text).toMatch(/(Label|\d labels) above 50%: positive|No label above 50%/);
    expect(await page.locator('#target').textContent()).toMatch(/the most probable label/);
    const svg = (await download(page, '#export-svg')).bytes.toString('utf8');
    expect(svg).toMatch(/multi-label: (&quot;positive&quot; [\d.]+%|no label above 50%)/);
    expect(svg).not.toMatch(/predicted &quot;/);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('exports every view in every format: Words, Compare, Layers, Interactions, the What-if curve', async () => {
    const text = 'A gripping 😀 film, though the ending drags.';
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf({ model: DEFAULT, text }) });
    await heatmapWords(page, text);
    const out = path.join(SHOTS, 'exports');
    fs.mkdirSync(out, { recursive: true });
    const views = [
      ['explain', 'export', null, 'words'],
      ['compare', 'export-compare', '#view-compare td[data-rho]', 'compare'],
      ['layers', 'export-layers', '#layers-matrix tbody tr', 'layers'],
      ['whatif', 'export-curve', '#deletion-chart polyline', 'deletion-curve'],
      ['interactions', 'export-interactions', '#ih-matrix tbody tr', 'interactions'],
    ];
    for (const [view, prefix, ready, kind] of views) {
      await page.click(`#tab-${view}`);
      if (ready) await page.waitForSelector(ready, { timeout: 240_000 });
      await waitIdle(page);
      const png = (await download(page, `#${prefix}-png`)).bytes;
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBeGreaterThan(100); // IHDR width
      expect(png.readUInt32BE(20)).toBeGreaterThan(50); // IHDR height
      const svg = (await download(page, `#${prefix}-svg`)).bytes.toString('utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), view).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      const html = (await download(page, `#${prefix}-html`)).bytes.toString('utf8');
      expect(html.startsWith('<figure')).toBe(true);
      const json = JSON.parse((await download(page, `#${prefix}-json`)).bytes.toString('utf8'));
      expect(json.view).toBe(kind);
      if (kind === 'deletion-curve') {
        expect(svg).toContain('<polyline');
        expect(html).toContain('<polyline');
        expect(json.curves.length).toBeGreaterThanOrEqual(2);
      } else {
        // The colour bar in every format, and the unread word marked.
        expect(svg).toContain('<linearGradient');
        expect(html).toContain('linear-gradient(');
        expect(JSON.stringify(json)).toMatch(/"legend"/);
        expect(svg).toContain('not read by this model');
        expect(html).toContain('not read by this model');
      }
      fs.writeFileSync(path.join(out, `${view}.svg`), svg);
      fs.writeFileSync(path.join(out, `${view}.png`), png);
      fs.writeFileSync(path.join(out, `${view}.html`), html);
    }
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('restores every setting from a link; a link naming a missing model says so until dismissed', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf({ model: DEFAULT }) });
    await heatmapWords(page);
    await page.selectOption('#method', 'lrp');
    await setOption(page, 'epsilon', 0.5);
    await page.selectOption('#target', '0');
    await page.check('#show-tokens');
    await page.check('#show-numbers');
    await page.click('#tab-layers');
    await page.waitForSelector('#layers-matrix tbody tr', { timeout: 240_000 });
    await page.selectOption('#layers-mode', 'gradient-x-activation');
    await page.click('#tab-interactions');
    await page.fill('#ih-steps', '24');
    await page.dispatchEvent('#ih-steps', 'change');
    await page.click('#tab-compare');
    await page.waitForSelector('#view-compare .method-picks input', { timeout: 240_000 });
    await waitIdle(page);
    const box = page.locator('#view-compare .method-picks input[value="saliency"]');
    if (await box.isDisabled()) await page.locator('#view-compare .method-picks input:checked').first().uncheck();
    await box.check();
    // The picks are in the address bar at once.
    const picks = await page.$$eval('#view-compare .method-picks input:checked', (els) => els.map((e) => e.value));
    expect(decodeURIComponent(await page.evaluate(() => location.hash))).toContain(`compare=${picks.join(',')}`);
    await page.click('#tab-interactions');
    await page.waitForTimeout(500);
    const hash = await page.evaluate(() => location.hash);
    await context.close();

    const again = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash });
    const p = again.page;
    await p.waitForSelector('#ih-matrix tbody tr', { timeout: 240_000 });
    const got = await p.evaluate(() => ({
      method: document.querySelector('#method').value,
      epsilon: document.querySelector('#opt-epsilon')?.value,
      target: document.querySelector('#target').value,
      tokens: document.querySelector('#show-tokens').checked,
      numbers: document.querySelector('#show-numbers').checked,
      mode: document.querySelector('#layers-mode').value,
      steps: document.querySelector('#ih-steps').value,
      tab: document.querySelector('[role=tab][aria-selected=true]').dataset.view,
      ihOptions: window.wordlightPage.views.interactions && null,
    }));
    expect(got).toMatchObject({ method: 'lrp', epsilon: '0.5', target: '0', tokens: true, numbers: true, mode: 'gradient-x-activation', steps: '24', tab: 'interactions' });
    expect(await p.evaluate(() => document.querySelector('#ih-steps').value)).toBe('24');
    await p.click('#tab-compare');
    await p.waitForSelector('#view-compare .method-picks input', { timeout: 240_000 });
    expect(await p.$$eval('#view-compare .method-picks input:checked', (els) => els.map((e) => e.value))).toEqual(picks);
    expect(await p.locator('.notice-item').count()).toBe(0);
    expect(again.log.errors).toEqual([]);
    await again.context.close();

    // A model that is not here: an error that stays through the next runs.
    const gone = await openPage(env.browser, env.server.url, { viewport: LAPTOP, hash: hashOf({ model: 'no-such-model', text: 'a fine film' }) });
    await heatmapWords(gone.page, 'a fine film');
    const note = gone.page.locator('.notice-item.error');
    await expect.poll(() => note.textContent(), { timeout: 240_000 }).toMatch(/no-such-model/);
    await gone.page.fill('#text', 'a fine and moving film');
    await heatmapWords(gone.page, 'a fine and moving film');
    await gone.page.waitForTimeout(1000);
    expect(await note.isVisible()).toBe(true);
    expect((await inViewport(gone.page, '.notice-item.error')).inside).toBe(true);
    await note.locator('button').click();
    expect(await gone.page.locator('.notice-item.error').count()).toBe(0);
    expect(gone.log.errors).toEqual([]);
    await gone.context.close();
    expect(log.errors).toEqual([]);
  }, 600_000);

  it('downloads the model once on a cold load (three cold loads)', async () => {
    for (let run = 0; run < 3; ++run) {
      const context = await env.browser.newContext({ viewport: LAPTOP });
      context.setDefaultTimeout(240_000);
      const page = await context.newPage();
      const fetched = [];
      page.on('request', (r) => /\/models\/[^/]+\/model\.safetensors$/.test(new URL(r.url()).pathname) && fetched.push(new URL(r.url()).pathname));
      await page.goto(env.server.url);
      await heatmapWords(page);
      await waitIdle(page);
      expect(fetched, `run ${run + 1}`).toEqual([`/models/${DEFAULT}/model.safetensors`]);
      await context.close();
    }
  }, 600_000);

  it('takes screenshots of every view at 1280x800 and 390x844', async () => {
    const ready = { explain: '#heatmap .w', compare: '#view-compare td[data-rho]', layers: '#neuron-heatmap .w', whatif: '#deletion-chart polyline', interactions: '#ih-heatmap .w' };
    for (const viewport of [LAPTOP, PHONE]) {
      const text = 'A gripping 😀 film, though the ending drags a little.';
      const { page, context, log } = await openPage(env.browser, env.server.url, { viewport, hash: hashOf({ model: DEFAULT, text, numbers: '1' }) });
      await heatmapWords(page, text);
      for (const view of Object.keys(ready)) {
        await page.click(`#tab-${view}`);
        if (view === 'layers') {
          await page.waitForSelector('#layers-matrix .rowbtn', { timeout: 240_000 });
          await page.locator('#layers-matrix .rowbtn').last().click();
          await page.locator('#view-layers .neurons button').first().click();
        }
        if (view === 'interactions') {
          await page.waitForSelector('#ih-matrix .rowbtn', { timeout: 240_000 });
          await page.locator('#ih-matrix .rowbtn').nth(1).click();
        }
        await page.waitForSelector(ready[view], { timeout: 240_000 });
        await waitIdle(page);
        const over = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
        expect(over, `${view} at ${viewport.width}`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: path.join(SHOTS, 'views', `${view}-${viewport.width}.png`), fullPage: true });
      }
      expect(log.errors).toEqual([]);
      await context.close();
    }
  }, 600_000);
});

fs.mkdirSync(path.join(SHOTS, 'views'), { recursive: true });
