// The page's "About this model" (web/src/modelcard.js): a model card parsed
// into blocks of plain text (markup in a card stays text), and the card's
// measured numbers in words, on the shipped cards and on made-up ones.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cardFacts, parseCard, parseInline } from '../../web/src/modelcard.js';
import { MODELS } from './wasm_util.mjs';

const text = (spans) => spans.map((s) => s.text).join('');

describe('model cards in the page', () => {
  it('inline marks: code, strong, emphasis and links become text spans', () => {
    expect(parseInline('a `b_c` **d** *e* [f](../g/README.md) h_i')).toEqual([
      { text: 'a ' }, { text: 'b_c', code: true }, { text: ' ' }, { text: 'd', strong: true }, { text: ' e f h_i' },
    ]);
  });

  it('blocks: headings, paragraphs joined, list items with their next lines, tables without the rule, code', () => {
    const card = parseCard([
      '---', 'model: x', 'eval: sst2:{DATA}/sst2/test.tsv accuracy=0.821101 n=872', 'eval: sst2:{DATA}/sst/stsa.binary.test accuracy=0.814388 n=1821', '---',
      '# x', '', 'First line', 'second line.', '', '- one', '  continued', '- two', '',
      '| a | b |', '| --- | --- |', '| 1 | **2** |', '', '```sh', 'run <this>', '```', 'last',
    ].join('\n'));
    expect(card.fields.eval).toHaveLength(2);
    expect(card.blocks.map((b) => b.type)).toEqual(['heading', 'paragraph', 'list', 'table', 'code', 'paragraph']);
    expect(text(card.blocks[1].inline)).toBe('First line second line.');
    expect(card.blocks[2].items.map(text)).toEqual(['one continued', 'two']);
    expect(card.blocks[3].head.map(text)).toEqual(['a', 'b']);
    expect(card.blocks[3].rows.map((r) => r.map(text))).toEqual([['1', '2']]);
    expect(card.blocks[4].text).toBe('run <this>');
  });

  it('markup in a card stays text', () => {
    const evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
    const card = parseCard(`# ${evil}\n\n${evil}\n\n| ${evil} |\n| --- |\n| [${evil}](javascript:void) |`);
    for (const b of card.blocks) {
      const spans = b.inline ?? [...b.head, ...b.rows.flat()].flat();
      for (const s of spans) expect(Object.keys(s).every((k) => ['text', 'code', 'strong'].includes(k))).toBe(true);
    }
    expect(text(card.blocks[1].inline)).toBe(evil);
    expect(text(card.blocks[2].rows[0][0])).toBe(evil); // the link's text only, not its target
  });

  it("facts: each eval line's accuracy and the negation suite's score", () => {
    const facts = cardFacts({
      eval: ['sst2:{DATA}/sst/stsa.binary.test accuracy=0.860516 n=1821', 'not an eval line'],
      suite: ['{ROOT}/tests/models/negation_suite.jsonl accuracy=0.833333 pairs=0.666667 negation=0.937500 contrast=0.812500 intensifier=0.750000 n=48'],
    });
    expect(facts).toEqual([
      { label: 'Accuracy on sst/stsa.binary.test', value: '86.1% of 1,821' },
      { label: 'Negation and contrast suite', value: '40 of 48 sentences right, 16 of 24 pairs both right (negation 93.8%, contrast 81.3%, intensifier 75.0%)' },
    ]);
  });

  it('every shipped card parses; the SST-2 classifiers show their suite score and the section that explains it', () => {
    for (const name of ['sst2-bert', 'sst2-bilstm']) {
      const card = parseCard(readFileSync(path.join(MODELS, name, 'README.md'), 'utf8'));
      const facts = cardFacts(card.fields);
      expect(facts.some((f) => f.label === 'Negation and contrast suite' && / of 48 sentences right/.test(f.value)), name).toBe(true);
      const i = card.blocks.findIndex((b) => b.type === 'heading' && text(b.inline) === 'Negation and contrast');
      expect(i, name).toBeGreaterThan(0);
      expect(card.blocks.slice(i).some((b) => b.type === 'table'), name).toBe(true);
    }
    for (const name of ['20news-cnn', 'gpt2-small', 'sst2-bert-mlm']) {
      const card = parseCard(readFileSync(path.join(MODELS, name, 'README.md'), 'utf8'));
      expect(card.blocks[0], name).toMatchObject({ type: 'heading', level: 1 });
      expect(cardFacts(card.fields).length, name).toBeGreaterThan(0);
    }
  });
});
