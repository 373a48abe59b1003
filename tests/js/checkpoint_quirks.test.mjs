// The structures of real Hugging Face checkpoints (tests/fixtures/checkpoints/,
// written by make_checkpoints.py from the documented formats) read by
// @huggingface/transformers and by our CLI: the same token ids for texts
// with added tokens typed in them (user-added, <mask> with lstrip), the
// same longest input (model_max_length, capped by the model's positions),
// and the label order and problem_type that tests/cpp/test_checkpoint_quirks.cpp
// asserts for our reading of the same config.json files. Every other text
// of tests/js/tokenizer_texts.mjs goes through tokenizer_compare.test.mjs.
// WORDLIGHT_BIN picks another binary (default: build/native/wordlight).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AutoConfig, BertTokenizer, RobertaTokenizer } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';

import { readLocalModelsOnly } from './hf_local.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = path.join(ROOT, 'tests', 'fixtures', 'checkpoints');
const BIN = process.env.WORDLIGHT_BIN ?? path.join(ROOT, 'build', 'native', 'wordlight');

readLocalModelsOnly(DIR);

const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const fromJson = (name, Class) => {
  const d = path.join(DIR, name);
  return new Class(readJson(path.join(d, 'tokenizer.json')), readJson(path.join(d, 'tokenizer_config.json')));
};

function ours(name, texts) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-ckpt-'));
  try {
    const input = path.join(tmp, 'texts.jsonl');
    fs.writeFileSync(input, texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
    const out = execFileSync(BIN, ['tokenize', '--model', path.join(DIR, name), '--jsonl', input, '--json'], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// "at most N tokens" of `wordlight tokenize`'s plain header.
function ourMaxLength(name) {
  const out = execFileSync(BIN, ['tokenize', '--model', path.join(DIR, name), '--text', 'x'], { encoding: 'utf8' });
  const m = /at most (\d+) tokens/.exec(out);
  if (!m) throw new Error(`no "at most N tokens" in: ${out}`);
  return Number(m[1]);
}

// Not "<FILM>" alone: transformers.js looks a whole normalised section up
// among all added tokens, so it finds the normalized: false "<film>" in
// "<film>" lower-cased from "<FILM>"; the Rust library (Python's fast
// tokenizers) matches such a token in the raw text only, giving "<", "film",
// ">", as ours does (tests/cpp/test_checkpoint_quirks.cpp). JS != Rust.
const ADDED_TEXTS = {
  bert_uncased: ['the <film> film', 'the <FILM> <film>!', 'a<film>b', '<film><film>', '  <film>  ', 'The Film <film>. [MASK] [CLS]'],
  roberta_base: ['the film <mask>', 'the film<mask>', '<mask> the', 'the  <mask>  film', 'Café<s>good</s>', '<MASK> <pad>'],
};

describe('checkpoint structures against @huggingface/transformers', () => {
  it('the CLI is built', () => {
    expect(fs.existsSync(BIN), `${BIN} is missing: run ./build.sh native (or set WORDLIGHT_BIN)`).toBe(true);
  });

  for (const [name, Class] of [['bert_uncased', BertTokenizer], ['roberta_base', RobertaTokenizer]]) {
    it(`${name}: added tokens typed in the text give Hugging Face's ids`, () => {
      const hf = fromJson(name, Class);
      const texts = ADDED_TEXTS[name];
      const got = ours(name, texts);
      texts.forEach((t, i) => expect(got[i].ids, JSON.stringify(t)).toEqual(hf._tokenizer.encode(t).ids));
      if (name === 'bert_uncased') expect(got[0].ids).toContain(63); // the user-added <film> itself
    });
  }

  it("the longest input: tokenizer_config.json's model_max_length, capped by the model's positions", async () => {
    for (const [name, Class, positions] of [['bert_uncased', BertTokenizer, 16], ['bert_cased', BertTokenizer, 16],
      ['roberta_base', RobertaTokenizer, 16]]) {
      const hf = fromJson(name, Class);
      expect(ourMaxLength(name), name).toBe(Math.min(hf.model_max_length, positions));
    }
    // vocab.txt + the 1e30 placeholder ("no limit"): the model's 16.
    const cfg = readJson(path.join(DIR, 'distilbert_uncased', 'tokenizer_config.json'));
    expect(cfg.model_max_length).toBeGreaterThan(1e29);
    expect(ourMaxLength('distilbert_uncased')).toBe(16);
    expect(ourMaxLength('bert_uncased')).toBe(12);
  });

  it('config.json: labels by id whatever the key order, problem_type; extra keys do not matter', async () => {
    const labels = async (name) => {
      const c = await AutoConfig.from_pretrained(name);
      const n = Object.keys(c.id2label ?? {}).length;
      return { labels: Array.from({ length: n }, (_, i) => c.id2label[i]), problem: c.problem_type, type: c.model_type };
    };
    // The lists tests/cpp/test_checkpoint_quirks.cpp expects of ours.
    expect(await labels('bert_uncased')).toEqual({ labels: ['NEGATIVE', 'POSITIVE'], problem: 'single_label_classification', type: 'bert' });
    expect(await labels('roberta_base')).toEqual({ labels: ['world', 'business', 'sports'], problem: 'multi_label_classification', type: 'roberta' });
    expect((await labels('distilbert_uncased')).labels).toEqual(['NEGATIVE', 'POSITIVE']);
  });

  it('pytorch_model.bin alone is refused, naming the conversion', () => {
    const r = spawnSync(BIN, ['explain', '--model', path.join(DIR, 'pytorch_only'), '--text', 'good film'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/model\.safetensors is missing; pytorch_model\.bin is there/);
    expect(r.stderr).toMatch(/save_file/);
  });
});
