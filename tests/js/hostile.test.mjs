// The JS API against hostile files and careless calls (issue 14), on a tiny
// CNN built here (so each load takes microseconds):
//  - every hostile model is refused with the C++ loader's message (never a
//    JS RangeError from a blown wasm stack), and a failed load frees what it
//    allocated: after many failed loads the heap in use is back at its start;
//  - non-finite outputs reject instead of resolving with null logits;
//  - texts must be strings and options are type-checked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { TINY_CNN_CONFIG, TINY_WORD_VOCAB } from './wasm_util.mjs';

const ST = { threads: 1 };
// Failed loads of each kind in the heap test (the 200): a leak of a
// few hundred bytes per load would show, and they take well under a second.
const ATTEMPTS = 200;

const CONFIG = TINY_CNN_CONFIG;
const VOCAB = TINY_WORD_VOCAB;
const SHAPES = {
  'embeddings.weight': [12, 4],
  'convs.0.weight': [3, 2, 4],
  'convs.0.bias': [3],
  'classifier.weight': [2, 3],
  'classifier.bias': [2],
};

// A safetensors file of F32 tensors; value(name, i) gives each element.
function safetensors(value = (name, i) => Math.sin(i + name.length) / 2, { header = null, trailing = 0 } = {}) {
  const names = Object.keys(SHAPES);
  const sizes = names.map((n) => SHAPES[n].reduce((a, b) => a * b, 1));
  const h = {};
  let at = 0;
  names.forEach((n, k) => {
    h[n] = { dtype: 'F32', shape: SHAPES[n], data_offsets: [at, at + 4 * sizes[k]] };
    at += 4 * sizes[k];
  });
  let text = header ?? JSON.stringify(h);
  while (text.length % 8) text += ' ';
  const hb = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + hb.length + at + trailing);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  const data = new DataView(out.buffer, 8 + hb.length);
  let off = 0;
  names.forEach((n, k) => {
    for (let i = 0; i < sizes[k]; ++i, off += 4) data.setFloat32(off, value(n, i), true);
  });
  return out;
}

function files({ config = JSON.stringify(CONFIG), vocab = VOCAB, weights = safetensors() } = {}) {
  const enc = (s) => (typeof s === 'string' ? new TextEncoder().encode(s) : s);
  return new Map([
    ['config.json', enc(config)],
    ['vocab.txt', enc(vocab)],
    ['model.safetensors', weights],
  ]);
}

const nested = (n, inner = '1') => '['.repeat(n) + inner + ']'.repeat(n);
const deepConfig = JSON.stringify(CONFIG).replace('"kernel_size":[2]', `"kernel_size":${nested(100000, '2')}`);
const deepHeader = `{"embeddings.weight": {"dtype": "F32", "shape": ${nested(100000, '12')}, "data_offsets": [0, 192]}}`;

// Each hostile kind: its files and what the message must say (the C++
// loader's words, with the file's name).
const HOSTILE = {
  'deep config.json': {
    files: () => files({ config: deepConfig }),
    message: /^evil\/config\.json: JSON nests deeper than 64 levels \(at byte \d+\); refusing it$/,
  },
  'deep safetensors header': {
    files: () => files({ weights: safetensors(undefined, { header: deepHeader }) }),
    message: /^evil\/model\.safetensors: JSON nests deeper than 64 levels \(at byte \d+\); refusing it$/,
  },
  'NaN weight': {
    files: () => files({ weights: safetensors((n, i) => (n === 'classifier.bias' && i === 1 ? NaN : 0.5)) }),
    message: /^evil\/model\.safetensors: tensor 'classifier\.bias' holds NaN at index \[1\]/,
  },
  'infinite weight': {
    files: () => files({ weights: safetensors((n, i) => (n === 'convs.0.weight' && i === 13 ? -Infinity : 0.5)) }),
    message: /tensor 'convs\.0\.weight' holds -infinity at index \[1, 1, 1\]/,
  },
  'trailing bytes': {
    files: () => files({ weights: safetensors(undefined, { trailing: 5 }) }),
    message: /^evil\/model\.safetensors: 5 trailing bytes after the data section/,
  },
  'invalid UTF-8 vocabulary': {
    files: () => files({ vocab: new Uint8Array([...new TextEncoder().encode('<pad>\n<unk>\nthe\n'), 0xff, 0x0a]) }),
    message: /^evil\/vocab\.txt: line 4 is not valid UTF-8/,
  },
};

let good;
beforeAll(async () => {
  good = await wordlight.load(files(), { ...ST, name: 'tiny' });
});
afterAll(async () => {
  await good?.dispose();
  await wordlight.shutdown();
});

describe('hostile model files', () => {
  it('the tiny model itself loads and predicts', async () => {
    const p = await good.predict('the film is good');
    expect(p.logits.every(Number.isFinite)).toBe(true);
    expect(['neg', 'pos']).toContain(p.label_name);
  });

  for (const [kind, { files: make, message }] of Object.entries(HOSTILE)) {
    it(`${kind}: refused with the loader's message, and ${ATTEMPTS} failed loads leave the heap as it was`, async () => {
      const attempt = async () => {
        try {
          await wordlight.load(make(), { ...ST, name: 'evil' });
        } catch (e) {
          return e;
        }
        return null;
      };
      const first = await attempt();
      expect(first).toBeInstanceOf(Error);
      expect(first).not.toBeInstanceOf(RangeError);
      expect(first.message).toMatch(message);
      const before = (await wordlight.memory(ST)).heapInUse;
      for (let i = 0; i < ATTEMPTS; ++i) {
        const e = await attempt();
        expect(e?.message).toBe(first.message);
      }
      const after = (await wordlight.memory(ST)).heapInUse;
      // Before the fix a deep file leaked ~7 MB per load; allow 64 KiB of
      // allocator noise for all 200 together.
      expect(after - before).toBeLessThan(64 * 1024);
      // And the module still works.
      expect((await good.predict('a very bad film')).logits.every(Number.isFinite)).toBe(true);
    });
  }

  it('the same message as the native loader reading the same directory', async () => {
    // The directory route names files by their path, as the CLI does.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wordlight-hostile-'));
    try {
      for (const [n, b] of files({ config: deepConfig })) writeFileSync(path.join(dir, n), b);
      const e = await wordlight.load(dir, ST).catch((err) => err);
      const at = deepConfig.indexOf('['.repeat(64)) + 63; // the 65th level opens here
      expect(e.message).toBe(`${path.join(dir, 'config.json')}: JSON nests deeper than 64 levels (at byte ${at}); refusing it`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('non-finite outputs', () => {
  it('a model whose output overflows float32 rejects predict and explain instead of resolving with null', async () => {
    const huge = await wordlight.load(files({ weights: safetensors(() => 1e30) }), { ...ST, name: 'huge' });
    try {
      await expect(huge.predict('the film is good')).rejects.toThrow(/not finite/);
      for (const method of ['gradient', 'integrated-gradients', 'occlusion'])
        await expect(huge.explain('the film is good', { method })).rejects.toThrow(/not finite/);
    } finally {
      await huge.dispose();
    }
  });
});

describe('careless calls', () => {
  it('texts must be strings', async () => {
    for (const bad of [undefined, null, 42, { text: 'x' }, ['the film']]) {
      await expect(good.explain(bad)).rejects.toThrow(TypeError);
      await expect(good.predict(bad)).rejects.toThrow(/text must be a string/);
      await expect(good.tokenize(bad)).rejects.toThrow(/text must be a string/);
    }
    await expect(good.explain()).rejects.toThrow(/explain\(text\): text must be a string, got undefined/);
    await expect(good.explain(null)).rejects.toThrow(/got null/);
    // A real string still works, an empty one is the core's error.
    expect((await good.explain('the film')).words.length).toBe(2);
  });

  it('options are type-checked as the C++ API checks them', async () => {
    await expect(good.explain('the film', { maxLength: 'x' })).rejects.toThrow(/maxLength must be a whole number/);
    await expect(good.explain('the film', { maxLength: 2.5 })).rejects.toThrow(/maxLength/);
    await expect(good.predict('the film', { maxLength: '8' })).rejects.toThrow(/maxLength/);
    await expect(good.explain('the film', { method: 42 })).rejects.toThrow(/method must be a string/);
    await expect(good.explain('the film', { target: {} })).rejects.toThrow(/target must be/);
    await expect(good.explain('the film', { target: -1 })).rejects.toThrow(/target must be/);
    await expect(good.explain('the film', { method: 'integrated-gradients', steps: {} })).rejects.toThrow(
      /option 'steps' must be a finite number/,
    );
    await expect(good.explain('the film', { method: 'integrated-gradients', steps: NaN })).rejects.toThrow(/steps/);
    await expect(good.explain('the film', { onProgress: 'yes' })).rejects.toThrow(/onProgress must be a function/);
    // A value of the right JS type but out of range is the core's message.
    await expect(good.explain('the film', { method: 'integrated-gradients', steps: 0 })).rejects.toThrow(/steps/);
    // Well-typed options pass.
    const e = await good.explain('the film', { method: 'integrated-gradients', steps: 4, target: 'pos', maxLength: 8 });
    expect(e.prediction.target_name).toBe('pos');
  });
});
