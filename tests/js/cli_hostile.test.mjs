// The native CLI against hostile files (issue 14), on a tiny CNN written
// here: a deeply nested config.json is refused with the loader's message
// (it was a SIGSEGV), labels with terminal escapes are printed escaped
// (--plain or not), and --input reports a bad line by the file's own line
// number and goes on with the others (exit status 1 at the end).
// WORDLIGHT_CLI picks another binary (default: build/native/wordlight).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NATIVE_CLI, TINY_CNN_CONFIG, TINY_WORD_VOCAB } from './wasm_util.mjs';

const CLI = process.env.WORDLIGHT_CLI || NATIVE_CLI;
const ESC = '\x1b';

const CONFIG = {
  ...TINY_CNN_CONFIG,
  // A label that would retitle the terminal, clear it and ring the bell.
  id2label: { 0: `neg${ESC}]0;pwned\x07${ESC}[2J${ESC}[H`, 1: 'pos' },
  label2id: { pos: 1 },
};
const VOCAB = TINY_WORD_VOCAB;
const SHAPES = [
  ['embeddings.weight', [12, 4]],
  ['convs.0.weight', [3, 2, 4]],
  ['convs.0.bias', [3]],
  ['classifier.weight', [2, 3]],
  ['classifier.bias', [2]],
];

function safetensors() {
  const h = {};
  let at = 0;
  for (const [n, s] of SHAPES) {
    const bytes = 4 * s.reduce((a, b) => a * b, 1);
    h[n] = { dtype: 'F32', shape: s, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let text = JSON.stringify(h);
  while (text.length % 8) text += ' ';
  const out = Buffer.alloc(8 + text.length + at);
  out.writeBigUInt64LE(BigInt(text.length), 0);
  out.write(text, 8, 'latin1');
  for (let i = 0; i < at / 4; ++i) out.writeFloatLE(Math.sin(i) / 2, 8 + text.length + 4 * i);
  return out;
}

let dir;
const model = (name) => path.join(dir, name);
const run = (...args) => spawnSync(CLI, args, { encoding: 'utf8' });

beforeAll(() => {
  if (!existsSync(CLI)) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'wordlight-cli-hostile-'));
  for (const [name, config] of [
    ['tiny', JSON.stringify(CONFIG)],
    ['deep', JSON.stringify(CONFIG).replace('"kernel_size":[2]', `"kernel_size":${'['.repeat(100000)}2${']'.repeat(100000)}`)],
  ]) {
    const d = model(name);
    rmSync(d, { recursive: true, force: true });
    // (mkdtemp made dir; the model folders go inside)
    spawnSync('mkdir', ['-p', d]);
    writeFileSync(path.join(d, 'config.json'), config);
    writeFileSync(path.join(d, 'vocab.txt'), VOCAB);
    writeFileSync(path.join(d, 'model.safetensors'), safetensors());
  }
  writeFileSync(
    path.join(dir, 'input.jsonl'),
    ['"the film is good"', '', '"a very bad film"', '{"text": 5}', '', 'not json', '""', '"not good"', ''].join('\n'),
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CLI))('the native CLI with hostile files', () => {
  it('refuses a config.json nested 100,000 deep with a message, not a crash', () => {
    const r = run('explain', '--model', model('deep'), '--text', 'the film');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`${model('deep').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/config\\.json: JSON nests deeper than 64 levels \\(at byte \\d+\\); refusing it`),
    );
  });

  it('prints labels with their control characters escaped, coloured or --plain', () => {
    for (const plain of [['--plain'], []]) {
      const r = run('explain', '--model', model('tiny'), '--text', 'the film is good', '--target', '0', ...plain);
      expect(r.status).toBe(0);
      const out = r.stdout;
      expect(out).toContain('neg\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H');
      // The only escape sequences left are our own colour codes (ESC [ ... m).
      expect(out.replace(/\x1b\[[0-9;]*m/g, '')).not.toContain(ESC);
      expect(out).not.toContain('\x07');
      if (plain.length) expect(out).not.toContain(ESC);
    }
    // An error message quoting a label is escaped too.
    const bad = run('explain', '--model', model('tiny'), '--text', 'the film', '--target', `x${ESC}[2J`);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('\\x1b[2J');
    expect(bad.stderr).not.toContain(ESC);
  });

  it('--input: a bad line is reported by its own line number and the others are still explained', () => {
    const r = run('explain', '--model', model('tiny'), '--input', path.join(dir, 'input.jsonl'), '--plain');
    expect(r.status).toBe(1);
    // Lines 1, 3 and 8 are explained, in order; 4 and 6 are bad, 7 has no words.
    const heat = r.stdout.split('\n').filter((l) => l.startsWith('['));
    expect(heat).toHaveLength(3);
    expect(heat[0]).toMatch(/^\[the .*\[good /);
    expect(heat[1]).toMatch(/^\[a .*\[film /);
    expect(heat[2]).toMatch(/^\[not .*\[good /);
    expect(r.stderr).toMatch(/input\.jsonl: line 4 must be a JSON string/);
    expect(r.stderr).toMatch(/input\.jsonl: line 6 is not valid JSON/);
    expect(r.stderr).toMatch(/input\.jsonl: line 7: /);
    expect(r.stderr).toMatch(/3 of the 6 texts in .*input\.jsonl could not be explained/);
  });
});
