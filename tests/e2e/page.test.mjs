// End to end: the built page in Debian's chromium (headless, playwright-core),
// served like `./build.sh serve` does (cross-origin isolated), computing with
// the real wasm module. Screenshots go to build/e2e/.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SHOTS, heatmapWords, openPage, servedPage, shot } from './page_util.mjs';

const env = servedPage('page');
const { missing } = env;

const MODELS = path.join(ROOT, 'models');
const HOSTILE = '<img src=x onerror=alert(1)>';

const timings = {};

afterAll(async () => {
  if (Object.keys(timings).length) {
    fs.mkdirSync(SHOTS, { recursive: true });
    fs.writeFileSync(path.join(SHOTS, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
  }
});

async function setOption(page, name, value) {
  await page.evaluate(() => (document.querySelector('#options-box').open = true));
  const input = page.locator(`#opt-${name}`);
  await input.fill(String(value));
  await input.dispatchEvent('change');
}

async function pickMethod(page, name) {
  await page.selectOption('#method', name);
}

describe.skipIf(!!missing)('the page', () => {
  it('opens on the default model with the example already explained', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url);
    const words = await heatmapWords(page);
    const info = await page.evaluate(() => ({
      firstHeatmapMs: Number(document.documentElement.dataset.firstHeatmapMs),
      stages: window.wordlightPage.timings,
      isolated: crossOriginIsolated,
      runtime: document.querySelector('#runtime').textContent,
      model: document.querySelector('#model').value,
      build: window.wordlightPage.model.info.build,
      title: document.querySelector('#result-title').textContent,
      legend: [...document.querySelectorAll('.legend-ticks span')].map((e) => e.textContent),
      prediction: document.querySelector('#prediction').textContent,
      manifest: window.wordlightPage.manifest,
    }));
    // Milliseconds from the navigation's start: the first heatmap, and the
    // stages before it (script running, model list, files, module, model).
    timings.firstHeatmapMs = info.firstHeatmapMs;
    timings.stagesMs = info.stages;
    timings.model = info.model;
    timings.build = info.build;
    // The most accurate shipped model on its task (web/tools/manifest.mjs).
    const { buildManifest } = await import('../../web/tools/manifest.mjs');
    expect(info.model).toBe(buildManifest(MODELS).default);
    expect(info.isolated).toBe(true);
    expect(info.build).toBe('wordlight-simd-threads');
    expect(info.runtime).toMatch(/threads/);
    expect(words.length).toBeGreaterThan(3);
    expect(words.every((w) => Number.isFinite(w.score))).toBe(true);
    expect(words.some((w) => w.score !== 0)).toBe(true);
    expect(info.legend).toHaveLength(5);
    expect(await page.locator('#summary').textContent()).toMatch(/Most for it: .+\(\+/);
    expect(info.prediction).toMatch(/Predicted:/);
    expect(log.errors).toEqual([]);
    await shot(page, 'page.png');
    // An example text is explained when picked; an empty text clears the heatmap.
    const example = info.manifest.models.find((m) => m.name === info.model).examples[1].text;
    await page.locator('#examples button').nth(1).click();
    expect(await page.inputValue('#text')).toBe(example);
    await heatmapWords(page, example);
    await page.fill('#text', '');
    await page.locator('#heatmap .placeholder').waitFor({ timeout: 240_000 });
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.locator('#examples button').first().click();
    await heatmapWords(page, info.manifest.models.find((m) => m.name === info.model).examples[0].text);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    await shot(page, 'page-phone.png');
    await context.close();
  }, 600_000);

  it('explains a typed sentence with Integrated Gradients: the same scores as the JS API', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url);
    await heatmapWords(page);
    const model = await page.evaluate(() => window.wordlightPage.modelName);
    await pickMethod(page, 'gradient-x-input');
    const text = 'An unexpectedly tender, clever little movie with a dull first act.';
    await page.fill('#text', text);
    await pickMethod(page, 'integrated-gradients');
    await setOption(page, 'steps', 24);
    // The explanation with all three changes (earlier ones may land first).
    await page.waitForFunction(
      (t) => { const r = window.wordlightPage.result; return r?.text === t && r.method === 'integrated-gradients' && r.options.steps === '24'; },
      text,
      { timeout: 240_000 },
    );
    const words = await heatmapWords(page, text);
    const state = await page.evaluate(() => ({
      method: window.wordlightPage.result.method,
      options: window.wordlightPage.result.options,
      predicted: window.wordlightPage.result.prediction.label_name,
      hash: location.hash,
    }));
    expect(state.method).toBe('integrated-gradients');
    expect(state.options.steps).toBe('24');
    expect(decodeURIComponent(state.hash)).toContain('o.steps=24');

    // The same request through the JS API in node (single-threaded build).
    const wordlight = await import('../../wasm/wordlight.mjs');
    const m = await wordlight.load(path.join(MODELS, model), { threads: 1 });
    try {
      const ref = await m.explain(text, { method: 'integrated-gradients', steps: 24 });
      expect(words.map((w) => w.text)).toEqual(ref.words.map((w) => text.slice(w.begin, w.end)));
      const scale = Math.max(...ref.words.map((w) => Math.abs(w.score)));
      for (let i = 0; i < words.length; ++i) expect(Math.abs(words[i].score - ref.words[i].score)).toBeLessThan(1e-4 * scale + 1e-6);
    } finally {
      await m.dispose();
      await wordlight.shutdown();
    }
    // The prediction follows the text.
    await expect.poll(() => page.locator('#prediction').textContent(), { timeout: 240_000 }).toMatch(/Predicted:/);
    // Tokens view and numbers.
    await page.check('#show-tokens');
    expect(await page.locator('#heatmap .w').count()).toBeGreaterThanOrEqual(words.length);
    await page.uncheck('#show-tokens');
    // The other class: its explanation, and the class in the URL.
    const labels = await page.evaluate(() => window.wordlightPage.labels);
    const other = labels.findIndex((l) => l !== state.predicted);
    await page.selectOption('#target', String(other));
    await page.waitForFunction((t) => window.wordlightPage.result?.prediction.target === t, other, { timeout: 240_000 });
    expect(await page.locator('#result-title').textContent()).toContain(labels[other]);
    expect(decodeURIComponent(await page.evaluate(() => location.hash))).toContain(`class=${other}`);
    await page.selectOption('#target', '');
    await page.waitForFunction((t) => window.wordlightPage.result?.prediction.target !== t, other, { timeout: 240_000 });
    // Keyboard: Tab to the words, arrows move, focus shows the tooltip.
    await page.locator('#heatmap .w').first().focus();
    await page.keyboard.press('ArrowRight');
    const focused = await page.evaluate(() => document.activeElement.getAttribute('aria-label'));
    expect(focused).toContain(words[1].text);
    expect(await page.locator('#wl-tooltip').isVisible()).toBe(true);
    await shot(page, 'page-ig.png');
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('shows progress for a long method and cancels it; the next run works', async () => {
    const { page, context } = await openPage(env.browser, env.server.url);
    await heatmapWords(page);
    await setOption(page, 'steps', 4096);
    await page.locator('#progress').waitFor({ state: 'visible', timeout: 240_000 });
    await page.waitForFunction(() => Number(document.querySelector('#progress-bar').getAttribute('aria-valuenow')) > 0, null, { timeout: 240_000 });
    await shot(page, 'page-progress.png');
    await page.click('#cancel');
    await page.locator('#progress').waitFor({ state: 'hidden', timeout: 240_000 });
    expect(await page.locator('#stale').textContent()).toMatch(/Cancelled/);
    expect(await page.locator('#error').isHidden()).toBe(true);
    // The model is still usable.
    await setOption(page, 'steps', 8);
    await page.waitForFunction(() => window.wordlightPage.result?.options.steps === '8', null, { timeout: 240_000 });
    await context.close();
  }, 600_000);

  it('says clearly what is wrong with a broken model folder', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url);
    await heatmapWords(page);
    const dir = path.join(MODELS, 'sst2-bilstm');
    const config = fs.readFileSync(path.join(dir, 'config.json'));
    const vocab = fs.readFileSync(path.join(dir, 'vocab.txt'));
    const weights = fs.readFileSync(path.join(dir, 'model.safetensors'));
    const file = (name, buffer) => ({ name, mimeType: 'application/octet-stream', buffer });

    await page.setInputFiles('#model-files', [file('config.json', config), file('vocab.txt', vocab)]);
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 240_000 }).toMatch(/model\.safetensors is missing/);

    await page.setInputFiles('#model-files', [file('config.json', config), file('vocab.txt', vocab), file('model.safetensors', weights.subarray(0, 4096))]);
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 240_000 }).toMatch(/model\.safetensors.*truncated/);
    await shot(page, 'page-bad-model.png');

    await page.setInputFiles('#model-files', [file('config.json', Buffer.from('{"model_type": "wordlight-bilstm",')), file('vocab.txt', vocab), file('model.safetensors', weights)]);
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 240_000 }).toMatch(/config\.json: not valid JSON/);
    // The shipped model is still loaded and working.
    expect(await page.evaluate(() => window.wordlightPage.modelName)).toBe(await page.locator('#model').inputValue());
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('opens a model folder dropped on the page, locally', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url);
    await heatmapWords(page);
    const dir = path.join(MODELS, '20news-cnn');
    const files = ['config.json', 'vocab.txt', 'model.safetensors', 'README.md'].map((name) => ({
      name,
      b64: fs.readFileSync(path.join(dir, name)).toString('base64'),
    }));
    const requestsBefore = [];
    page.on('request', (r) => requestsBefore.push(r.url()));
    // A drop as the browser makes it, with the files in its DataTransfer.
    await page.evaluate((list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name));
      for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, files);
    await page.waitForFunction(() => window.wordlightPage.modelEntry?.local === true, null, { timeout: 240_000 });
    expect(await page.locator('#drop').isHidden()).toBe(true);
    expect(await page.locator('#model option:checked').textContent()).toBe('your model');
    expect(await page.locator('#model-info').textContent()).toMatch(/loaded from your disk/);
    await page.fill('#text', 'The shuttle launch was delayed by a problem with the engines.');
    await heatmapWords(page, 'The shuttle launch was delayed by a problem with the engines.');
    await expect.poll(() => page.locator('#prediction').textContent(), { timeout: 240_000 }).toMatch(/sci\.space/);
    // Nothing was fetched for it: the files came from the drop.
    expect(requestsBefore.filter((u) => u.includes('/models/'))).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('shows hostile text and hostile class names literally, never as HTML', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url);
    await heatmapWords(page);
    await page.fill('#text', HOSTILE);
    await heatmapWords(page, HOSTILE);
    const heat = await page.locator('#heatmap').textContent();
    expect(heat.replace(/\s+/g, '')).toContain(HOSTILE.replace(/\s+/g, ''));
    expect(await page.evaluate(() => document.querySelectorAll('img, script:not([src]), [onerror]').length)).toBe(0);

    // A model whose class names are markup: a copy of sst2-bilstm.
    const dir = path.join(MODELS, 'sst2-bilstm');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const evil = ['<img src=x onerror=alert(2)>', '<script>alert(3)</script>'];
    config.id2label = { 0: evil[0], 1: evil[1] };
    config.label2id = { [evil[0]]: 0, [evil[1]]: 1 };
    await page.setInputFiles('#model-files', [
      { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(config)) },
      { name: 'vocab.txt', mimeType: 'text/plain', buffer: fs.readFileSync(path.join(dir, 'vocab.txt')) },
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: fs.readFileSync(path.join(dir, 'model.safetensors')) },
    ]);
    await page.waitForFunction(() => window.wordlightPage.modelEntry?.local === true, null, { timeout: 240_000 });
    await page.fill('#text', `${HOSTILE} a wonderful film`);
    await heatmapWords(page, `${HOSTILE} a wonderful film`);
    await expect.poll(() => page.locator('#prediction').textContent(), { timeout: 240_000 }).toContain(evil[1]);
    expect(await page.locator('#target').textContent()).toContain(evil[0]);
    expect(await page.locator('#result-title').textContent()).toContain(evil[1]);
    expect(await page.evaluate(() => document.querySelectorAll('img, [onerror]').length)).toBe(0);
    await shot(page, 'page-hostile.png');
    expect(log.dialogs).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('makes no request except for its own files, and never sends the text', async () => {
    const requests = [];
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(240_000);
    // Every request of the page and its workers passes here; a foreign one is
    // recorded and blocked.
    await context.route('**/*', (route) => {
      const u = route.request().url();
      requests.push(u);
      if (new URL(u).origin === env.server.origin || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
      return route.abort();
    });
    const page = await context.newPage();
    await page.goto(env.server.url);
    await heatmapWords(page);
    const secret = 'my private diary entry about zebras';
    await page.fill('#text', secret);
    await heatmapWords(page, secret);
    for (const view of ['compare', 'layers', 'whatif', 'interactions']) {
      await page.click(`#tab-${view}`);
      await page.waitForFunction(() => !window.wordlightPage.job, null, { timeout: 240_000 });
    }
    await page.waitForTimeout(500);
    const foreign = requests.filter((u) => !(new URL(u).origin === env.server.origin || u.startsWith('data:') || u.startsWith('blob:')));
    expect(foreign).toEqual([]);
    expect(requests.filter((u) => /zebra|diary/i.test(decodeURIComponent(u)))).toEqual([]);
    expect(requests.length).toBeGreaterThan(3);
    await context.close();
  }, 600_000);

  it('compares methods, shows layers, what-if and interactions', async () => {
    const { page, context, log } = await openPage(env.browser, env.server.url);
    await heatmapWords(page);

    await page.click('#tab-compare');
    await page.waitForSelector('#view-compare table.corr td[data-rho]', { timeout: 240_000 });
    const rho = await page.$$eval('#view-compare td[data-rho]', (tds) => tds.map((t) => Number(t.dataset.rho)));
    const n = Math.round(Math.sqrt(rho.length));
    expect(n).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < n; ++i) expect(rho[i * n + i]).toBeCloseTo(1, 6);
    expect(await page.locator('#view-compare .cmp-row').count()).toBe(n);
    await shot(page, 'page-compare.png');

    await page.click('#tab-layers');
    await page.waitForSelector('#layers-matrix tbody tr', { timeout: 240_000 });
    expect(await page.locator('#layers-matrix tbody tr').count()).toBeGreaterThanOrEqual(2);
    await page.locator('#layers-matrix .rowbtn').last().click();
    await page.locator('#view-layers .neurons button').first().click();
    await page.waitForSelector('#neuron-heatmap .w', { timeout: 240_000 });
    await shot(page, 'page-layers.png');

    await page.click('#tab-whatif');
    await page.waitForSelector('#view-whatif .chip', { timeout: 240_000 });
    await page.waitForSelector('#deletion-chart polyline', { timeout: 240_000 });
    const before = Number(await page.locator('#view-whatif .delta').getAttribute('data-probability'));
    // Replace the most positive word of the main explanation.
    const words = await page.$$eval('#view-whatif .chip', (els) => els.map((e) => e.textContent));
    const r = await page.evaluate(() => window.wordlightPage.result.words.map((w) => w.score));
    const top = r.indexOf(Math.max(...r));
    await page.locator('#view-whatif .chip').nth(top).click();
    await page.fill('#whatif-input', 'boring');
    await page.press('#whatif-input', 'Enter');
    await page.waitForFunction((b) => Number(document.querySelector('#view-whatif .delta').dataset.probability) !== b, before, { timeout: 240_000 });
    const after = Number(await page.locator('#view-whatif .delta').getAttribute('data-probability'));
    expect(after).not.toBe(before);
    await shot(page, 'page-whatif.png');

    await page.click('#tab-interactions');
    await page.waitForSelector('#ih-matrix tbody tr', { timeout: 240_000 });
    const rows = await page.locator('#ih-matrix tbody tr').count();
    const ih = await page.evaluate(() => document.querySelectorAll('#ih-matrix tbody tr')[0].querySelectorAll('td').length);
    expect(rows).toBeGreaterThanOrEqual(2);
    expect(ih).toBe(rows);
    await page.locator('#ih-matrix .rowbtn').first().click();
    await page.waitForSelector('#ih-heatmap .w', { timeout: 240_000 });
    await shot(page, 'page-interactions.png');
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('keeps its state in the URL fragment and exports the explanation', async () => {
    const text = 'The shuttle launch was delayed by a problem with the engines.';
    const hash = '#' + new URLSearchParams({ model: '20news-cnn', method: 'lrp', text }).toString();
    const { page, context, log } = await openPage(env.browser, env.server.url, { hash });
    const words = await heatmapWords(page, text);
    expect(await page.locator('#model').inputValue()).toBe('20news-cnn');
    expect(await page.locator('#method').inputValue()).toBe('lrp');
    expect(words.map((w) => w.text).join(' ')).toContain('shuttle');
    await expect.poll(() => page.locator('#prediction').textContent(), { timeout: 240_000 }).toMatch(/sci\.space/);

    const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const parsed = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
    expect(parsed.model).toBe('20news-cnn');
    expect(parsed.method).toBe('lrp');
    expect(parsed.words.length).toBe(words.length);
    const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#export-svg')]);
    const svgText = fs.readFileSync(await svg.path(), 'utf8');
    expect(svgText).toMatch(/^<svg /);
    expect(svgText).toContain('shuttle');
    fs.writeFileSync(path.join(SHOTS, 'export.svg'), svgText);
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
    const pngBytes = fs.readFileSync(await png.path());
    expect(pngBytes.subarray(1, 4).toString()).toBe('PNG');
    fs.writeFileSync(path.join(SHOTS, 'export.png'), pngBytes);
    const [html] = await Promise.all([page.waitForEvent('download'), page.click('#export-html')]);
    expect(fs.readFileSync(await html.path(), 'utf8')).toContain('<figure');
    await shot(page, 'page-20news.png');
    expect(log.errors).toEqual([]);
    await context.close();
  }, 600_000);
});
