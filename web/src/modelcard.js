// "About this model": the model card of the loaded shipped model
// (models/NAME/README.md: its data, accuracy, negation-suite score,
// training time and known weaknesses), fetched when the reader opens it.
// A card is model text: it is parsed here into a few kinds of blocks
// (headings, paragraphs, lists, tables, code) and drawn as text nodes only,
// never as HTML, so a card cannot put markup, scripts or links in the page.
// parseCard and cardFacts are pure (tests/js/web_modelcard.test.mjs);
// installModelCard is the page's part.
import { h, replace } from './dom.js';

// ------------------------------------------------------------ parsing

// Front matter: `key: value` lines between the first two `---` lines
// (every value of a repeated key kept, in order).
function frontMatter(markdown) {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(markdown);
  const fields = {};
  if (!m) return { fields, body: markdown };
  for (const line of m[1].split(/\r?\n/)) {
    const kv = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line);
    if (kv) (fields[kv[1]] ||= []).push(kv[2]);
  }
  return { fields, body: markdown.slice(m[0].length) };
}

// Inline marks -> [{ text, code?, strong? }]: `code`, **strong**, *em* and
// [text](target) (the text only: a card's links point into the repository,
// which the page does not serve). Underscores stay (file and key names).
export function parseInline(text) {
  const out = [];
  const push = (t, mark) => {
    if (!t) return;
    const last = out[out.length - 1];
    if (last && !mark && !last.code && !last.strong) last.text += t;
    else out.push({ text: t, ...mark });
  };
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]*)\]\([^)\s]*\)/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    push(text.slice(at, m.index));
    if (m[1] !== undefined) push(m[1], { code: true });
    else if (m[2] !== undefined) push(m[2], { strong: true });
    else push(m[3] ?? m[4]);
    at = m.index + m[0].length;
  }
  push(text.slice(at));
  return out;
}

const cells = (line) =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => parseInline(c.trim()));

// markdown -> { fields, blocks }: blocks of { type: 'heading', level, inline }
// | { type: 'paragraph', inline } | { type: 'list', items: [inline] }
// | { type: 'table', head: [inline], rows: [[inline]] } | { type: 'code', text }.
export function parseCard(markdown) {
  const { fields, body } = frontMatter(String(markdown ?? ''));
  const lines = body.split(/\r?\n/);
  const blocks = [];
  let para = null;
  let list = null;
  const end = () => {
    if (para) blocks.push({ type: 'paragraph', inline: parseInline(para.join(' ')) });
    if (list) blocks.push({ type: 'list', items: list.map((i) => parseInline(i)) });
    para = list = null;
  };
  for (let i = 0; i < lines.length; ++i) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      end();
      const code = [];
      while (++i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i]);
      blocks.push({ type: 'code', text: code.join('\n') });
      continue;
    }
    const head = /^(#{1,6})\s+(.*)$/.exec(line);
    if (head) {
      end();
      blocks.push({ type: 'heading', level: head[1].length, inline: parseInline(head[2].trim()) });
      continue;
    }
    if (/^\s*\|/.test(line)) {
      end();
      const rows = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(lines[i++]);
      --i;
      const isRule = (r) => /^\s*\|?[\s:|-]+\|?\s*$/.test(r) && r.includes('-');
      const [first, ...rest] = rows;
      blocks.push({ type: 'table', head: cells(first), rows: rest.filter((r) => !isRule(r)).map(cells) });
      continue;
    }
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (item) {
      if (para) end();
      (list ||= []).push(item[1]);
      continue;
    }
    if (!line.trim()) {
      end();
      continue;
    }
    if (list) list[list.length - 1] += ' ' + line.trim(); // a list item's next line
    else (para ||= []).push(line.trim());
  }
  end();
  return { fields, blocks };
}

// ------------------------------------------------------------ facts

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const count = (n) => Number(n).toLocaleString('en');

// The front matter's measured numbers, in words: each eval line's accuracy
// (a masked or causal LM's is token accuracy; the card's body says which)
// and the negation suite's score -> [{ label, value }].
export function cardFacts(fields) {
  const facts = [];
  for (const line of fields.eval || []) {
    const m = /^(\S+)\s+accuracy=([\d.]+)\s+n=(\d+)/.exec(line.trim());
    if (!m) continue;
    const data = m[1].replace(/^[a-z0-9-]+:/, '').replace(/\{[A-Z0-9_]+\}\//, '');
    facts.push({ label: `Accuracy on ${data}`, value: `${pct(Number(m[2]))} of ${count(m[3])}` });
  }
  for (const line of fields.suite || []) {
    const kv = Object.fromEntries(line.trim().split(/\s+/).slice(1).map((p) => p.split('=')));
    const n = Number(kv.n);
    if (!(n > 0) || kv.accuracy === undefined) continue;
    const parts = Object.entries(kv)
      .filter(([k]) => !['accuracy', 'pairs', 'n'].includes(k))
      .map(([k, v]) => `${k} ${pct(Number(v))}`);
    facts.push({
      label: 'Negation and contrast suite',
      value:
        `${Math.round(Number(kv.accuracy) * n)} of ${n} sentences right` +
        (kv.pairs !== undefined ? `, ${Math.round((Number(kv.pairs) * n) / 2)} of ${n / 2} pairs both right` : '') +
        (parts.length ? ` (${parts.join(', ')})` : ''),
    });
  }
  return facts;
}

// ------------------------------------------------------------ drawing

function inlineNodes(spans) {
  return spans.map((s) => (s.code ? h('code', { text: s.text }) : s.strong ? h('strong', { text: s.text }) : s.text));
}

// Headings inside the card sit below the panel's own heading level.
export function renderCard(card) {
  const out = [];
  const facts = cardFacts(card.fields);
  if (facts.length)
    out.push(h('dl', { class: 'card-facts' }, facts.map((f) => [h('dt', { text: f.label }), h('dd', { text: f.value })])));
  for (const b of card.blocks) {
    if (b.type === 'heading') out.push(h(`h${Math.min(6, b.level + 2)}`, {}, inlineNodes(b.inline)));
    else if (b.type === 'paragraph') out.push(h('p', {}, inlineNodes(b.inline)));
    else if (b.type === 'list') out.push(h('ul', {}, b.items.map((i) => h('li', {}, inlineNodes(i)))));
    else if (b.type === 'code') out.push(h('pre', {}, h('code', { text: b.text })));
    else if (b.type === 'table')
      out.push(
        h('div', { class: 'card-table' },
          h('table', {},
            h('thead', {}, h('tr', {}, b.head.map((c) => h('th', { scope: 'col' }, inlineNodes(c))))),
            h('tbody', {}, b.rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, inlineNodes(c)))))))),
      );
  }
  return out;
}

// ------------------------------------------------------------ the page

// A <details> "About this model" under the model's one-line description;
// the card is fetched the first time it is opened for a model and redrawn
// when another model is loaded while it is open. A model from the user's
// disk has no card here.
export function installModelCard(app, el) {
  // A card is long and the column narrow: it scrolls in its own box (focusable,
  // so that the keyboard can scroll it too).
  const body = h('div', {
    class: 'model-card-body',
    role: 'region',
    'aria-label': 'Model card',
    tabindex: '0',
    style: { 'max-height': '60vh', overflow: 'auto' },
  });
  const details = h('details', { id: 'model-card', class: ['model-about', 'model-card'], hidden: true },
    h('summary', { text: 'About this model' }), body);
  el.modelInfo.after(details);
  const cards = new Map(); // name -> Promise<string>
  let shown = '';

  async function update() {
    const entry = app.modelEntry;
    const name = app.modelName;
    details.hidden = !entry;
    if (!entry || !details.open || shown === name) return;
    shown = name;
    if (entry.local) {
      replace(body, h('p', { class: 'hint', text: 'A model from your disk: its card (README.md) is not read here.' }));
      return;
    }
    replace(body, h('p', { class: 'hint', text: 'Loading the model card\u2026' }));
    if (!cards.has(name))
      cards.set(name, fetch(new URL(`models/${encodeURIComponent(name)}/README.md`, document.baseURI)).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.text();
      }));
    try {
      const text = await cards.get(name);
      if (app.modelName !== name) return;
      replace(body, renderCard(parseCard(text)));
    } catch (e) {
      cards.delete(name);
      shown = '';
      if (app.modelName === name) replace(body, h('p', { class: 'hint', text: `This model has no card (${e.message}).` }));
    }
  }
  details.addEventListener('toggle', update);
  // models.js marks the loaded model on <body data-model>: a new model,
  // a new card.
  new MutationObserver(() => {
    shown = '';
    update();
  }).observe(document.body, { attributes: true, attributeFilter: ['data-model'] });
  return { update };
}
