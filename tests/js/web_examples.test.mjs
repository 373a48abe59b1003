// The page's example sentences are classified as their labels say by the
// model the page opens with (the JS API in node, single-threaded build), and
// each shipped classifier's own examples by that model. The default is the
// most accurate shipped model on its task (web/tools/manifest.mjs).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import * as wordlight from '../../wasm/wordlight.mjs';
import { buildManifest } from '../../web/tools/manifest.mjs';
import { MODELS, ROOT } from './wasm_util.mjs';

const built = existsSync(path.join(ROOT, 'wasm/dist/wordlight-simd.wasm'));
const manifest = buildManifest(MODELS);

afterAll(async () => {
  await wordlight.shutdown();
});

async function predictions(name, examples) {
  const m = await wordlight.load(path.join(MODELS, name), { threads: 1 });
  try {
    const out = [];
    for (const e of examples) out.push({ ...e, got: (await m.predict(e.text)).label_name });
    return out;
  } finally {
    await m.dispose();
  }
}

describe.skipIf(!built)('the example sentences', () => {
  it('are each classified as labelled by the model the page opens with', async () => {
    expect(manifest.default).toBeTruthy();
    const entry = manifest.models.find((m) => m.name === manifest.default);
    expect(entry.examples.length).toBeGreaterThanOrEqual(3);
    const got = await predictions(entry.name, entry.examples);
    for (const g of got) expect(g.got, `${entry.name}: "${g.text}"`).toBe(g.label);
    // And the page opens on the first of them.
    expect(entry.example).toBe(entry.examples[0].text);
  }, 300_000);

  it('of every other shipped classifier are classified as labelled by that model', async () => {
    const classifiers = manifest.models.filter((m) => m.kind === 'classifier');
    for (const entry of classifiers.filter((m) => m.name !== manifest.default && m.task !== manifest.models.find((d) => d.name === manifest.default).task)) {
      const got = await predictions(entry.name, entry.examples);
      for (const g of got) expect(g.got, `${entry.name}: "${g.text}"`).toBe(g.label);
    }
  }, 300_000);
});
