// Shared by the tests/js/wasm_*.test.mjs suites: where things are, and the
// small option values that keep every method quick.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MODELS = path.join(ROOT, 'models');
export const GOLDEN = path.join(ROOT, 'tests/golden');
export const NATIVE_CLI = path.join(ROOT, 'build/native/wordlight');

// A tiny CNN's config.json (as an object) and its word-level vocab.txt, for
// the suites that write a model by hand (the hostile-input ones).
export const TINY_CNN_CONFIG = {
  model_type: 'wordlight-cnn',
  vocab_size: 12,
  embedding_dim: 4,
  num_filters: 3,
  kernel_size: [2],
  num_labels: 2,
  max_length: 16,
  id2label: { 0: 'neg', 1: 'pos' },
};
export const TINY_WORD_VOCAB = '<pad>\n<unk>\nthe\nfilm\nis\ngood\nbad\nnot\na\nvery\n,\n!\n';

// The shipped models: every directory of models/ with a config.json (a
// model that ships later is picked up without editing the tests).
function modelDirs() {
  return readdirSync(MODELS)
    .filter((d) => statSync(path.join(MODELS, d)).isDirectory() && existsSync(path.join(MODELS, d, 'config.json')))
    .sort();
}
function isMaskedLM(d) {
  const cfg = JSON.parse(readFileSync(path.join(MODELS, d, 'config.json'), 'utf8'));
  return (cfg.architectures || []).some((a) => /ForMaskedLM$/.test(a));
}
function isCausalLM(d) {
  const cfg = JSON.parse(readFileSync(path.join(MODELS, d, 'config.json'), 'utf8'));
  return (cfg.architectures || []).some((a) => /LMHeadModel$/.test(a));
}
// The shipped classifiers (what predict and explain take).
export function shippedModels() {
  return modelDirs().filter((d) => !isMaskedLM(d) && !isCausalLM(d));
}
// The shipped causal language models (gpt2-small: what generate takes).
export function shippedCausalLMs() {
  return modelDirs().filter(isCausalLM);
}
// The shipped masked language models (sst2-bert-mlm).
export function shippedMaskedLMs() {
  return modelDirs().filter(isMaskedLM);
}

// Option values that keep a method cheap: every integer option whose name
// says it counts evaluations goes down to 2 (or its minimum).
export function smallOptions(method) {
  const out = {};
  for (const o of method.options) {
    if (o.type === 'integer' && /(^|-)(steps|samples)$/.test(o.name)) out[o.name] = Math.max(o.min, 2);
  }
  return out;
}

// |a - b| <= rtol |b| + atol, elementwise; returns the worst ratio (<= 1: close).
export function worstRatio(a, b, rtol, atol) {
  if (a.length !== b.length) return Infinity;
  let w = 0;
  for (let i = 0; i < a.length; ++i) w = Math.max(w, Math.abs(a[i] - b[i]) / (rtol * Math.abs(b[i]) + atol));
  return w;
}

export function maxAbs(a) {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

// A text that exercises offsets: accents (2-byte UTF-8), a dash (3 bytes)
// and an emoji (4 bytes, 2 UTF-16 units) before words the models know.
export const TEXT = 'The naïve crew — 😀 said the launch was a great, funny success but the engine failed.';
