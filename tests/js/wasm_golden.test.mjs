// The golden files of tests/golden through the wasm module (JS API, node):
// the same numbers as the independent PyTorch references the native build is
// tested against, and the same numbers as the native CLI on the shipped
// models.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { GOLDEN, MODELS, NATIVE_CLI, TEXT, maxAbs, shippedModels, worstRatio } from './wasm_util.mjs';

const ST = { threads: 1 };
afterAll(() => wordlight.shutdown());

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

// tests/golden/{transformers,ours}/<name>/golden.json: logits of a padded
// batch of ids, and the gradient of sum_b logits[b, target[b]] (classifiers)
// with respect to the word embeddings.
const modelGoldens = [];
for (const family of ['transformers', 'ours']) {
  const dir = path.join(GOLDEN, family);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir).sort())
    if (existsSync(path.join(dir, name, 'golden.json'))) modelGoldens.push(`${family}/${name}`);
}

describe('model goldens (logits and input gradients against PyTorch)', () => {
  it('finds the golden checkpoints', () => {
    expect(modelGoldens.length).toBeGreaterThanOrEqual(8);
  });
  for (const g of modelGoldens) {
    it(g, async () => {
      const dir = path.join(GOLDEN, g);
      const gold = readJson(path.join(dir, 'golden.json'));
      const model = await wordlight.load(dir, ST);
      try {
        const [B, T] = [gold.input_ids.length, gold.input_ids[0].length];
        const classifier = gold.logits_shape.length === 2;
        const r = await model.forward({
          ids: gold.input_ids.flat(),
          mask: gold.attention_mask.flat(),
          batch: B,
          length: T,
          targets: classifier ? gold.target : undefined,
        });
        expect(r.shape).toEqual(gold.logits_shape);
        // The native suite's bars (tests/cpp/test_models_golden.cpp).
        expect(worstRatio(r.logits, gold.logits, 1e-5, 2e-6), 'logits').toBeLessThanOrEqual(1);
        if (classifier) {
          expect(r.inputGradient.length).toBe(gold.grad_word_embeddings.length);
          expect(maxAbs(gold.grad_word_embeddings)).toBeGreaterThan(0);
          expect(worstRatio(r.inputGradient, gold.grad_word_embeddings, 1e-4, 1e-5), 'gradient').toBeLessThanOrEqual(1);
        }
      } finally {
        await model.dispose();
      }
    });
  }
});

// tests/golden/explain/<model>.json: explanations of one text by a PyTorch
// re-implementation of each method (tests/golden/make_explain_golden.py).
const explainDir = path.join(GOLDEN, 'explain');
// A golden whose tokenizer the native test builds by hand ("bpe-whole-words":
// the tiny RoBERTa vocabulary with merges ignored, which no model directory
// file says) cannot come through load(); its model is checked above.
const explainGoldens = existsSync(explainDir)
  ? readdirSync(explainDir)
      .filter((f) => f.endsWith('.json') && readJson(path.join(explainDir, f)).tokenizer !== 'bpe-whole-words')
      .sort()
  : [];

function parseOptions(list) {
  const out = {};
  for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

describe.skipIf(!explainGoldens.length)('explanation goldens (every case against PyTorch)', () => {
  for (const file of explainGoldens) {
    it(file, async () => {
      const gold = readJson(path.join(explainDir, file));
      const model = await wordlight.load(path.join(GOLDEN, gold.model), ST);
      try {
        for (const c of gold.cases) {
          const where = `${file}: ${c.method} ${c.options} target ${c.target}`;
          // The reference integrates with exactly the steps and from the
          // baseline it names (zero when none): no adaptive growth, no
          // per-architecture default (as tests/cpp/test_explain_golden.cpp).
          const fixed = ['integrated-gradients', 'integrated-hessians'].includes(c.method) ? { adaptive: false, baseline: 'zero' } : {};
          const e = await model.explain(gold.text, { method: c.method, target: c.target, ...fixed, ...parseOptions(c.options) });
          expect(e.tokens.map((t) => t.id), where).toEqual(gold.input_ids);
          expect(e.tokens.map((t) => t.word), where).toEqual(gold.word_of_token);
          expect(e.prediction.label, where).toBe(gold.predicted);
          expect(worstRatio(e.prediction.logits, gold.logits, 1e-5, 2e-6), where).toBeLessThanOrEqual(1);
          expect(Math.abs(e.prediction.explained_value - c.explained), where).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(c.explained)));
          // The native suite's bar (tests/cpp/test_explain_golden.cpp).
          const scale = maxAbs(c.token_scores);
          expect(scale, where).toBeGreaterThan(0);
          const got = e.tokens.map((t) => t.score);
          expect(worstRatio(got, c.token_scores, 1e-4, 1e-5 * scale), where).toBeLessThanOrEqual(1);
          if (c.check) {
            const ours = e.checks.find((k) => k.name === c.check);
            expect(ours, where).toBeTruthy();
            const tol = 1e-4 * Math.abs(c.check_value) + 1e-5 * scale * got.length + 1e-5 * Math.abs(c.explained);
            expect(Math.abs(ours.value - c.check_value), where).toBeLessThanOrEqual(tol);
          }
        }
      } finally {
        await model.dispose();
      }
    });
  }
});

// The shipped models: the wasm module and the native CLI (OpenBLAS) on the
// same text give the same tokens, logits and scores.
const cliCases = [
  ['gradient-x-input', ''],
  ['integrated-gradients', 'steps=8,baseline=pad'],
  ['occlusion', ''],
  ['lrp', ''],
];

describe.skipIf(!existsSync(NATIVE_CLI))('the native CLI and the wasm module agree', () => {
  for (const name of shippedModels()) {
    it(name, async () => {
      const dir = path.join(MODELS, name);
      const model = await wordlight.load(dir, ST);
      try {
        for (const [method, options] of cliCases) {
          const where = `${name}: ${method} ${options}`;
          const args = ['explain', '--model', dir, '--method', method, '--text', TEXT, '--json'];
          if (options) args.push('--options', options);
          const native = JSON.parse(execFileSync(NATIVE_CLI, args, { encoding: 'utf8', maxBuffer: 1 << 26 }));
          const e = await model.explain(TEXT, { method, ...parseOptions(options) });
          expect(e.tokens.map((t) => t.id), where).toEqual(native.tokens.map((t) => t.id));
          expect(e.tokens.map((t) => [t.byte_begin, t.byte_end]), where).toEqual(native.tokens.map((t) => [t.begin, t.end]));
          expect(e.words.map((w) => w.text), where).toEqual(native.words.map((w) => w.text));
          expect(e.options, where).toEqual(native.options);
          expect(worstRatio(e.prediction.logits, native.prediction.logits, 1e-5, 1e-5), where).toBeLessThanOrEqual(1);
          const want = native.tokens.map((t) => t.score);
          const scale = maxAbs(want);
          expect(scale, where).toBeGreaterThan(0);
          expect(worstRatio(e.tokens.map((t) => t.score), want, 1e-4, 1e-5 * scale), where).toBeLessThanOrEqual(1);
          expect(e.model_evaluations, where).toBe(native.model_evaluations);
        }
      } finally {
        await model.dispose();
      }
    });
  }
});
