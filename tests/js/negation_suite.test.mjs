// The negation suite of the model cards (tests/models/negation_suite.jsonl,
// scored by tests/models/score_suite.mjs from `wordlight evaluate
// --predictions`, re-measured against each SST-2 card by
// tests/models/check_cards.sh): the suite is well formed, the scorer counts
// pairs and phenomena as it says, and --predictions writes one line per
// example of the data, in its order, that agrees with the printed accuracy.
// WORDLIGHT_CLI picks another binary (default: build/native/wordlight).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readJsonl, scoreSuite, formatScores } from '../models/score_suite.mjs';
import { MODELS, NATIVE_CLI, ROOT } from './wasm_util.mjs';

const CLI = process.env.WORDLIGHT_CLI || NATIVE_CLI;
const SUITE = path.join(ROOT, 'tests/models/negation_suite.jsonl');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'wl-suite-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the negation suite', () => {
  const suite = readJsonl(SUITE);

  it('is 40+ sentences in minimal pairs of opposite labels, each pair one phenomenon', () => {
    expect(suite.length).toBeGreaterThanOrEqual(40);
    const pairs = new Map();
    for (const s of suite) {
      expect(Object.keys(s).sort()).toEqual(['label', 'pair', 'phenomenon', 'text']);
      expect(['positive', 'negative']).toContain(s.label);
      expect(['negation', 'contrast', 'intensifier']).toContain(s.phenomenon);
      expect(s.text.trim().length).toBeGreaterThan(0);
      pairs.set(s.pair, [...(pairs.get(s.pair) || []), s]);
    }
    for (const [id, [a, b, ...rest]] of pairs) {
      expect(rest, id).toEqual([]);
      expect(b, id).toBeTruthy();
      expect(a.label, id).not.toBe(b.label);
      expect(a.phenomenon, id).toBe(b.phenomenon);
      expect(a.text, id).not.toBe(b.text);
    }
    expect(new Set(suite.map((s) => s.text)).size).toBe(suite.length);
    for (const p of ['negation', 'contrast', 'intensifier'])
      expect(suite.filter((s) => s.phenomenon === p).length).toBeGreaterThanOrEqual(12);
  });

  it('is scored per sentence, per pair (both right) and per phenomenon', () => {
    const mini = [
      { text: 'a', label: 'positive', pair: 'p1', phenomenon: 'negation' },
      { text: 'b', label: 'negative', pair: 'p1', phenomenon: 'negation' },
      { text: 'c', label: 'positive', pair: 'p2', phenomenon: 'contrast' },
      { text: 'd', label: 'negative', pair: 'p2', phenomenon: 'contrast' },
    ];
    const pred = (got) => mini.map((s, i) => ({ index: i, label: s.label, predicted: got[i], correct: got[i] === s.label }));
    // Everything called positive: half the sentences, no pair.
    expect(scoreSuite(mini, pred(['positive', 'positive', 'positive', 'positive']))).toEqual({
      accuracy: 0.5, pairs: 0, negation: 0.5, contrast: 0.5, n: 4,
    });
    const s = scoreSuite(mini, pred(['positive', 'negative', 'negative', 'negative']));
    expect(s).toEqual({ accuracy: 0.75, pairs: 0.5, negation: 1, contrast: 0.5, n: 4 });
    expect(formatScores(s)).toBe('accuracy=0.750000 pairs=0.500000 negation=1.000000 contrast=0.500000 n=4');
    // Predictions that do not belong to the suite are refused.
    expect(() => scoreSuite(mini, pred(['positive', 'negative', 'positive']).slice(0, 3))).toThrow(/3 predictions for 4/);
    expect(() => scoreSuite(mini, [{ index: 0, left_out: true }, ...pred(['positive', 'negative', 'positive', 'negative']).slice(1)]))
      .toThrow(/sentence 1 has no prediction/);
  });
});

describe('wordlight evaluate --predictions', () => {
  it('writes one line per example, in the data order, agreeing with the accuracy; a text without tokens is left out', () => {
    const data = path.join(tmp, 'data.jsonl');
    const rows = [
      { text: 'a wonderful , moving film', label: 'positive' },
      { text: '', label: 'negative' },
      { text: 'dull , lifeless and far too long', label: 'negative' },
      { text: 'dull , lifeless and far too long', label: 'positive' },
      { text: 'a wonderful , moving film with great acting', label: 1 },
    ];
    writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = path.join(tmp, 'pred.jsonl');
    const r = spawnSync(CLI, ['evaluate', '--model', path.join(MODELS, 'sst2-bilstm'), '--data', `jsonl:${data}`,
      '--threads', '1', '--batch-size', '2', '--predictions', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.n).toBe(4);
    expect(summary.left_out).toBe(1);
    const preds = readJsonl(out);
    expect(preds.map((p) => p.index)).toEqual([0, 1, 2, 3, 4]);
    expect(preds[1]).toEqual({ index: 1, label: 'negative', left_out: true });
    expect(preds[4].label).toBe('positive'); // the index 1 as the model names it
    const kept = preds.filter((p) => !p.left_out);
    for (const p of kept) expect(p.correct).toBe(p.predicted === p.label);
    // The same text with opposite labels: one of them is right.
    expect(preds[2].predicted).toBe(preds[3].predicted);
    expect(preds[2].correct).not.toBe(preds[3].correct);
    expect(summary.accuracy).toBeCloseTo(kept.filter((p) => p.correct).length / kept.length, 6);
  });

  it('is refused with --methods', () => {
    const r = spawnSync(CLI, ['evaluate', '--model', path.join(MODELS, 'sst2-bilstm'), '--data', `jsonl:${SUITE}`,
      '--methods', 'gradient', '--out', path.join(tmp, 'o'), '--predictions', path.join(tmp, 'p.jsonl')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--predictions goes with the accuracy/);
  });
});

