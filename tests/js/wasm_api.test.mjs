// The JS API of the wasm module (wasm/wordlight.mjs) in node, single-threaded
// build: every registered method on every shipped model, the result shape,
// offsets, errors, cancelling, and memory across load/dispose cycles.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngine } from '../../wasm/engine.mjs';
import * as wordlight from '../../wasm/wordlight.mjs';
import { GOLDEN, MODELS, ROOT, TEXT, maxAbs, shippedMaskedLMs, shippedModels, smallOptions } from './wasm_util.mjs';

const ST = { threads: 1 };
const models = shippedModels();
let methods;

beforeAll(async () => {
  methods = await wordlight.methods(ST);
});
afterAll(async () => {
  await wordlight.shutdown();
});

function readDir(dir, names) {
  const m = new Map();
  for (const n of names) m.set(n, new Uint8Array(readFileSync(path.join(dir, n))));
  return m;
}

describe('the method registry', () => {
  it('lists every method with typed options, defaults and ranges', () => {
    expect(methods.length).toBeGreaterThanOrEqual(8);
    const names = methods.map((m) => m.name);
    for (const n of ['gradient', 'saliency', 'gradient-x-input', 'integrated-gradients', 'smoothgrad', 'occlusion', 'lrp'])
      expect(names).toContain(n);
    expect(new Set(names).size).toBe(names.length);
    for (const m of methods) {
      expect(typeof m.description).toBe('string');
      expect(m.description.length).toBeGreaterThan(0);
      expect(typeof m.word_level).toBe('boolean');
      for (const o of m.options) {
        expect(['integer', 'number', 'boolean', 'choice']).toContain(o.type);
        if (o.type === 'integer' || o.type === 'number') {
          expect(typeof o.default).toBe('number');
          expect(o.min).toBeLessThanOrEqual(o.default);
          expect(o.default).toBeLessThanOrEqual(o.max);
          if (o.type === 'integer') expect(Number.isInteger(o.default)).toBe(true);
        } else if (o.type === 'choice') {
          expect(o.choices).toContain(o.default);
        } else {
          expect(typeof o.default).toBe('boolean');
        }
      }
      // The common options close every list.
      expect(m.options.map((o) => o.name).slice(-3)).toEqual(['output', 'merge', 'memory-mb']);
    }
    const ig = methods.find((m) => m.name === 'integrated-gradients');
    const steps = ig.options.find((o) => o.name === 'steps');
    // Adaptive by default: the first try, doubled until converged.
    expect(steps).toMatchObject({ type: 'integer', default: 8, min: 1 });
    expect(ig.options.find((o) => o.name === 'adaptive')).toMatchObject({ type: 'boolean', default: true });
    // The memory budget (issue 14): 0 is the machine's default (half of the
    // wasm heap's room); batch-size is only a cap under it.
    expect(ig.options.find((o) => o.name === 'memory-mb')).toMatchObject({ type: 'number', default: 0, min: 0 });
  });
});

for (const name of models) {
  describe(`model ${name}`, () => {
    let model;
    // The shipped masked LM (models/sst2-bert-mlm): input-marginalization's
    // second model, passed to every method as the native smoke test does.
    let mlm;
    beforeAll(async () => {
      const lms = shippedMaskedLMs();
      expect(lms.length, 'a shipped masked LM (models/sst2-bert-mlm)').toBeGreaterThan(0);
      mlm = await wordlight.load(path.join(MODELS, lms.includes('sst2-bert-mlm') ? 'sst2-bert-mlm' : lms[0]), ST);
      const progress = [];
      model = await wordlight.load(path.join(MODELS, name), { ...ST, onProgress: (p) => progress.push(p) });
      expect(progress.at(-1)).toEqual({ stage: 'model', done: 1, total: 1 });
      expect(progress.some((p) => p.stage === 'files' && p.file === 'model.safetensors')).toBe(true);
    });
    afterAll(async () => {
      await model?.dispose();
      await mlm?.dispose();
    });

    it('describes itself', () => {
      const cfg = JSON.parse(readFileSync(path.join(MODELS, name, 'config.json'), 'utf8'));
      expect(model.info.head).toBe('sequence-classification');
      expect(model.info.num_labels).toBe(cfg.num_labels ?? Object.keys(cfg.id2label).length);
      expect(model.info.labels.length).toBe(model.info.num_labels);
      expect(model.info.build).toBe('wordlight-simd');
      expect(model.info.threads).toBe(1);
      expect(model.info.parameters).toBeGreaterThan(1000);
    });

    it('predicts', async () => {
      const p = await model.predict(TEXT);
      expect(p.logits.length).toBe(model.info.num_labels);
      const sum = p.probabilities.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      const argmax = p.logits.indexOf(Math.max(...p.logits));
      expect(p.label).toBe(argmax);
      expect(p.label_name).toBe(model.info.labels[argmax]);
      expect(p.truncated).toBe(false);
    });

    it('tokenizes with string and byte offsets', async () => {
      const t = await model.tokenize(TEXT);
      const bytes = new TextEncoder().encode(TEXT);
      const dec = new TextDecoder();
      expect(t.ids.length).toBe(t.tokens.length);
      for (let i = 0; i < t.words.length; ++i) {
        const [b, e] = t.words[i];
        const [bb, be] = t.byte_words[i];
        expect(TEXT.slice(b, e)).toBe(dec.decode(bytes.subarray(bb, be)));
      }
    });

    // Every registered method, with small option values.
    it('runs every registered method from JS with the documented result shape', async () => {
      const p = await model.predict(TEXT);
      const bytes = new TextEncoder().encode(TEXT);
      const dec = new TextDecoder();
      // Methods that need a learned part the model lacks (diffmask) say so in model.methods().
      const applicable = new Set((await model.methods()).filter((x) => x.applicable !== false).map((x) => x.name));
      for (const m of methods) {
        if (!applicable.has(m.name)) continue;
        const opts = smallOptions(m);
        const progress = [];
        const e = await model.explain(TEXT, { method: m.name, ...opts, maskedLm: mlm, onProgress: (x) => progress.push(x) });
        const where = `${m.name} on ${name}`;
        expect(e.method, where).toBe(m.name);
        expect(Object.keys(e.options).sort(), where).toEqual(m.options.map((o) => o.name).sort());
        for (const [k, v] of Object.entries(opts)) expect(e.options[k], where).toBe(String(v));
        expect(e.text).toBe(TEXT);
        // The prediction is the model's.
        expect(e.prediction.label, where).toBe(p.label);
        expect(e.prediction.target, where).toBe(p.label);
        expect(e.prediction.logits, where).toEqual(p.logits);
        // What is explained: the default logit, except where a method is
        // defined on the probability (input-marginalization's weight of
        // evidence), which it then says in its options and prediction.
        expect(e.prediction.output, where).toBe(e.options.output);
        if (m.name === 'input-marginalization' || m.name === 'diffmask') expect(e.prediction.output, where).toBe('probability');
        else expect(e.prediction.output, where).toBe('logit');
        const explained = e.prediction.output === 'logit' ? p.logits[p.label] : p.probabilities[p.label];
        expect(e.prediction.explained_value, where).toBeCloseTo(explained, 5);
        // Tokens and words.
        expect(e.tokens.length, where).toBeGreaterThan(5);
        expect(e.words.length, where).toBeGreaterThan(5);
        for (const t of e.tokens) {
          expect(typeof t.token).toBe('string');
          expect(Number.isInteger(t.id)).toBe(true);
          expect(Number.isFinite(t.score), `${where}: token ${t.token} score ${t.score}`).toBe(true);
          expect(t.special).toBe(t.word < 0);
          if (!t.special) expect(e.words[t.word].tokens).toContain(e.tokens.indexOf(t));
        }
        for (let i = 0; i < e.words.length; ++i) {
          const w = e.words[i];
          // String offsets slice the JS string; byte offsets the UTF-8 bytes.
          expect(TEXT.slice(w.begin, w.end), where).toBe(w.text);
          expect(dec.decode(bytes.subarray(w.byte_begin, w.byte_end)), where).toBe(w.text);
          expect(Number.isFinite(w.score), where).toBe(true);
          expect(w.tokens.length).toBeGreaterThan(0);
          for (const ti of w.tokens) expect(e.tokens[ti].word).toBe(i);
          if (!m.word_level) {
            // merge=sum: a word's score is the sum of its tokens' (mean: their mean).
            const s = w.tokens.reduce((a, ti) => a + e.tokens[ti].score, 0);
            expect(w.score, where).toBeCloseTo(e.options.merge === 'mean' ? s / w.tokens.length : s, 6);
          }
        }
        expect(maxAbs(e.tokens.map((t) => t.score)), `${where}: all scores are zero`).toBeGreaterThan(0);
        if (m.check) expect(e.checks.map((c) => c.name), where).toContain(m.check);
        for (const c of e.checks) expect(typeof c.name).toBe('string');
        expect(e.model_evaluations, where).toBeGreaterThanOrEqual(1);
        expect(e.seconds).toBeGreaterThanOrEqual(0);
        expect(e.truncated).toBe(false);
        // Progress, when reported, counts up to its total.
        for (let i = 1; i < progress.length; ++i) expect(progress[i].done).toBeGreaterThanOrEqual(progress[i - 1].done);
        for (const x of progress) expect(x.done).toBeLessThanOrEqual(x.total);
        if (progress.length) expect(progress.at(-1).done, where).toBe(progress.at(-1).total);
      }
    });

    it('input-marginalization without a masked LM rejects saying it needs one', async () => {
      await expect(model.explain(TEXT, { method: 'input-marginalization' })).rejects.toThrow(/needs a masked language model/);
      // The model stays usable.
      expect((await model.predict(TEXT)).logits.length).toBe(model.info.num_labels);
    });

    it('explains another class, named or by id', async () => {
      const p = await model.predict(TEXT);
      const other = (p.label + 1) % model.info.num_labels;
      const byName = await model.explain(TEXT, { method: 'gradient-x-input', target: model.info.labels[other] });
      const byId = await model.explain(TEXT, { method: 'gradient-x-input', target: other });
      expect(byName.prediction.target).toBe(other);
      expect(byName.prediction.explained_value).toBeCloseTo(p.logits[other], 5);
      expect(byId.tokens.map((t) => t.score)).toEqual(byName.tokens.map((t) => t.score));
      await expect(model.explain(TEXT, { target: 'no-such-label' })).rejects.toThrow(/no-such-label.*labels/);
    });
  });
}

for (const name of shippedMaskedLMs()) {
  describe(`masked LM ${name}`, () => {
    it('loads, tokenizes, and refuses to predict or explain with a clear message', async () => {
      const model = await wordlight.load(path.join(MODELS, name), ST);
      try {
        expect(model.info.head).toBe('masked-lm');
        await expect(model.predict(TEXT)).rejects.toThrow(/is not a sequence classifier/);
        await expect(model.explain(TEXT, { method: 'gradient' })).rejects.toThrow(/is not a sequence classifier/);
      } finally {
        await model.dispose();
      }
    });
  });
}

describe('string offsets', () => {
  let model;
  beforeAll(async () => {
    model = await wordlight.load(path.join(MODELS, models.includes('sst2-bilstm') ? 'sst2-bilstm' : models[0]), ST);
  });
  afterAll(() => model?.dispose());

  it('slice the JS string to the word after astral characters, accents and lone surrogates', async () => {
    const text = '😀😀 café \uD800 déjà vu — fun 🎬 film';
    const e = await model.explain(text, { method: 'gradient' });
    const words = e.words.map((w) => [w.text, text.slice(w.begin, w.end)]);
    for (const [t, s] of words) if (!t.includes('\uFFFD')) expect(s).toBe(t);
    const fun = e.words.find((w) => w.text === 'fun');
    expect(fun.begin).toBe(text.indexOf('fun'));
    expect(fun.byte_begin).toBe(new TextEncoder().encode(text.slice(0, text.indexOf('fun'))).length);
    const film = e.words.find((w) => w.text === 'film');
    expect(text.slice(film.begin, film.end)).toBe('film');
  });
});

describe('errors', () => {
  const dir = path.join(MODELS, models.includes('sst2-bilstm') ? 'sst2-bilstm' : models[0]);
  const names = ['config.json', 'model.safetensors', 'vocab.txt'];
  let model;
  let baseline;
  beforeAll(async () => {
    // One load and dispose first, so lazily built statics are counted.
    const m = await wordlight.load(dir, ST);
    await m.explain('warm up', { method: 'occlusion' }).catch(() => {});
    await m.dispose();
    baseline = (await wordlight.memory(ST)).heapInUse;
    model = await wordlight.load(dir, ST);
  });
  afterAll(() => model?.dispose());

  async function expectRejectsWithoutLeak(promise, re) {
    const before = (await wordlight.memory(ST)).heapInUse;
    await expect(promise).rejects.toThrow(re);
    expect((await wordlight.memory(ST)).heapInUse).toBe(before);
  }

  it('a corrupted model rejects with the C++ message and leaves nothing allocated', async () => {
    const files = readDir(dir, names);
    const st = files.get('model.safetensors');
    const cases = [
      [new Map([...files, ['model.safetensors', st.subarray(0, st.length >> 1)]]), /model\.safetensors/],
      [new Map([...files, ['model.safetensors', st.subarray(0, 5)]]), /model\.safetensors/],
      [new Map([...files, ['model.safetensors', new Uint8Array(st).fill(0x7b, 8, 40)]]), /model\.safetensors/],
      [new Map([...files, ['config.json', new TextEncoder().encode('{"model_type": ')]]), /config\.json: not valid JSON/],
      [new Map([...files].filter(([n]) => n !== 'vocab.txt')), /no tokenizer found/],
      [new Map([...files].filter(([n]) => n !== 'model.safetensors')), /model\.safetensors is missing/],
    ];
    for (const [f, re] of cases) {
      const before = (await wordlight.memory(ST)).heapInUse;
      await expect(wordlight.load(f, { ...ST, name: 'broken' })).rejects.toThrow(re);
      expect((await wordlight.memory(ST)).heapInUse, String(re)).toBe(before);
    }
    await expect(wordlight.load(path.join(MODELS, 'no-such-model'), ST)).rejects.toThrow(/no such model directory/);
    expect((await wordlight.memory(ST)).models).toBe(1);
  });

  it('a bad request rejects with the C++ message and the model stays usable', async () => {
    await expectRejectsWithoutLeak(model.explain('fine film', { method: 'no-such-method' }), /unknown explanation method 'no-such-method'; known methods: gradient/);
    await expectRejectsWithoutLeak(
      model.explain('fine film', { method: 'integrated-gradients', steps: 0 }),
      /integrated-gradients: option steps = '0' is out of range \[1, 4096\]/,
    );
    await expectRejectsWithoutLeak(model.explain('fine film', { method: 'gradient', nope: 1 }), /gradient has no option 'nope'/);
    await expectRejectsWithoutLeak(model.explain('fine film', { method: 'smoothgrad', noise: 'loud' }), /not a number/);
    await expectRejectsWithoutLeak(model.explain('   ', { method: 'gradient' }), /no tokens/);
    await expectRejectsWithoutLeak(model.predict(''), /no tokens/);
    const p = await model.predict('a fine film');
    expect(p.logits.length).toBe(model.info.num_labels);
  });

  it('camelCase option names reach the kebab-case options', async () => {
    const e = await model.explain('a fine film', { method: 'integrated-gradients', steps: 3, batchSize: 2, baseline: 'pad' });
    expect(e.options['batch-size']).toBe('2');
    expect(e.options.baseline).toBe('pad');
  });

  it('a file past the memory cap rejects with an out-of-memory Error, before allocating', async () => {
    // The engine under the API, to hand it a 5 GiB "file" without having one.
    const engine = await createEngine({ build: 'wordlight-simd', distUrl: path.join(ROOT, 'wasm/dist') });
    try {
      const before = engine.memory().heapInUse;
      const huge = { length: 5 * 2 ** 30, set: () => expect.unreachable('a 5 GiB file was staged') };
      const files = new Map([['config.json', new TextEncoder().encode('{}')], ['model.safetensors', huge]]);
      let err = null;
      try {
        engine.loadFiles(files, 'huge', 1);
      } catch (e) {
        err = e;
      }
      expect(err?.message).toMatch(/^model\.safetensors \(5120 MiB\) does not fit in the WebAssembly memory: its cap is \d+ MiB/);
      expect(err.code).toBe('out-of-memory');
      expect(engine.memory().heapInUse).toBe(before);
    } finally {
      engine.shutdown();
    }
  });

  it('a disposed model rejects', async () => {
    const m = await wordlight.load(dir, ST);
    await m.dispose();
    await expect(m.predict('a fine film')).rejects.toThrow(/disposed/);
  });

  it('without WebAssembly SIMD, load says so', async () => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    try {
      expect(wordlight.simdSupported()).toBe(false);
      await expect(wordlight.load(dir, ST)).rejects.toThrow(/needs WebAssembly SIMD/);
    } finally {
      WebAssembly.validate = validate;
    }
    expect(wordlight.simdSupported()).toBe(true);
  });

  it('nothing is left allocated once every model is disposed', async () => {
    await model.dispose();
    model = null;
    expect((await wordlight.memory(ST)).models).toBe(0);
    expect((await wordlight.memory(ST)).heapInUse).toBe(baseline);
  });
});

describe('cancelling', () => {
  const name = models.includes('sst2-bilstm') ? 'sst2-bilstm' : models[0];
  let model;
  beforeAll(async () => {
    model = await wordlight.load(path.join(MODELS, name), ST);
  });
  afterAll(() => model?.dispose());

  it('an abort mid-run rejects at once with AbortError, then the same explanation comes out right', async () => {
    const request = { method: 'integrated-gradients', steps: 64, batchSize: 4, adaptive: false };
    const reference = await model.explain(TEXT, request);
    const ac = new AbortController();
    const seen = [];
    const t0 = performance.now();
    const run = model.explain(TEXT, {
      ...request,
      signal: ac.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.done >= 8) ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError', message: 'explanation cancelled' });
    // Stopped at the next batch: it saw progress up to 9 of 65 and no more.
    expect(seen.at(-1).done).toBeLessThan(seen.at(-1).total);
    expect(seen.at(-1).done).toBeLessThanOrEqual(12);
    expect(performance.now() - t0).toBeLessThan(reference.seconds * 1000 + 2000);
    const again = await model.explain(TEXT, request);
    expect(again.tokens.map((t) => t.score)).toEqual(reference.tokens.map((t) => t.score));
    expect(again.checks).toEqual(reference.checks);
  });

  it('an already aborted signal rejects without running', async () => {
    const ac = new AbortController();
    ac.abort();
    let progressed = false;
    await expect(
      model.explain(TEXT, { method: 'integrated-gradients', signal: ac.signal, onProgress: () => (progressed = true) }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(progressed).toBe(false);
  });

  it('an onProgress that throws stops the run with its error', async () => {
    await expect(
      model.explain(TEXT, {
        method: 'integrated-gradients',
        onProgress: () => {
          throw new Error('listener failed');
        },
      }),
    ).rejects.toThrow('listener failed');
    const p = await model.predict(TEXT);
    expect(p.logits.length).toBe(model.info.num_labels);
  });
});

describe('memory', () => {
  it('the wasm heap does not grow across 100 load/dispose cycles of a small model', async () => {
    const dir = path.join(GOLDEN, 'ours/bilstm');
    const files = readDir(dir, ['config.json', 'model.safetensors', 'vocab.txt']);
    const warm = await wordlight.load(files, ST);
    await warm.explain('the movie', { method: 'integrated-gradients', steps: 4 });
    await warm.dispose();
    const start = await wordlight.memory(ST);
    const inUse = [];
    for (let i = 0; i < 100; ++i) {
      const m = await wordlight.load(i % 2 ? files : dir, ST);
      await m.predict('the movie');
      if (i % 10 === 0) await m.explain('the movie', { method: 'integrated-gradients', steps: 4 });
      await m.dispose();
      inUse.push((await wordlight.memory(ST)).heapInUse);
    }
    const end = await wordlight.memory(ST);
    expect(end.heapSize).toBe(start.heapSize);
    expect(end.models).toBe(0);
    expect(new Set(inUse)).toEqual(new Set([start.heapInUse]));
  });
});
