// What if > Find counterfactuals (issue 19): the smallest edits that flip
// the decision, by a generator the user picks (HotFlip, ablation flip,
// MLM-guided edits: model.counterfactuals in the worker), with words the
// user locks by clicking them (never edited). Each counterfactual is listed
// with its edits highlighted (deleted and inserted text), its new
// prediction and cost; one click loads it into What if, which predicts and
// explains it. Every text is shown as text (never as markup).
import { h, replace, clear } from '../dom.js';

// Text `t` with the edits of a counterfactual marked, as nodes: the
// original words struck out next to their replacements.
// edits: [{ begin, end, original, replacement }] in the original text.
export function editedNodes(t, edits) {
  const out = [];
  let at = 0;
  for (const e of [...edits].sort((a, b) => a.begin - b.begin)) {
    if (e.begin > at) out.push(t.slice(at, e.begin));
    out.push(h('del', { class: 'cf-del', text: e.original }));
    if (e.replacement) out.push(h('ins', { class: 'cf-ins', text: e.replacement }));
    at = e.end;
  }
  if (at < t.length) out.push(t.slice(at));
  return out;
}

// opts: { text() (the text What if shows), words() ([{ begin, end }] of
// it), load(text) (show and explain a counterfactual in What if) }.
export function createCounterfactualSection(app, { text, words, load }) {
  let generators = null;   // wordlight.generators(), once
  let locked = new Set();  // word indices
  let lockedFor = '';      // the text the locks are of
  let result = null;

  const genSel = h('select', { id: 'cf-generator', 'aria-label': 'Counterfactual generator', onchange: () => describe() });
  const genHint = h('p', { class: 'hint', id: 'cf-generator-hint' });
  const findBtn = h('button', { type: 'button', class: 'primary small', id: 'cf-find', text: 'Find counterfactuals', onclick: () => find() });
  const locks = h('div', { class: 'cf-locks', id: 'cf-locks', role: 'group', 'aria-label': 'Words: press one to lock it (never edited)' });
  const out = h('div', { class: 'cf-results', id: 'cf-results', 'aria-live': 'polite' });
  const section = h('div', { class: 'sub', id: 'cf-section' },
    h('div', { class: 'view-head' }, h('h2', { text: 'Find counterfactuals' }), findBtn),
    h('p', { class: 'hint', text: 'The smallest edits that change the prediction. Press words to lock them: a locked word is never edited.' }),
    h('label', { for: 'cf-generator', text: 'Generator ' }), genSel, genHint,
    locks, out);

  async function fillGenerators() {
    if (generators) return;
    try {
      generators = await app.api.generators();
    } catch (e) {
      app.showError(e.message);
      return;
    }
    clear(genSel);
    for (const g of generators) genSel.append(h('option', { value: g.name, text: g.title }));
    describe();
  }

  function describe() {
    const g = generators?.find((x) => x.name === genSel.value);
    replace(genHint, g ? `${g.description}. Cost: ${g.cost}.` : '');
  }

  function renderLocks() {
    const t = text();
    if (t !== lockedFor) {
      locked = new Set();
      lockedFor = t;
    }
    clear(locks);
    words().forEach((w, i) => {
      const word = t.slice(w.begin, w.end);
      locks.append(h('button', {
        type: 'button',
        class: ['cf-lock', locked.has(i) && 'locked'],
        'aria-pressed': String(locked.has(i)),
        'aria-label': `${word}: ${locked.has(i) ? 'locked, press to unlock' : 'press to lock'}`,
        dataset: { word: String(i) },
        text: word,
        onclick: () => {
          if (locked.has(i)) locked.delete(i);
          else locked.add(i);
          renderLocks();
          locks.querySelector(`[data-word="${i}"]`)?.focus();
        },
      }));
    });
  }

  async function find() {
    const t = text();
    if (!app.model || !t.trim()) return;
    await fillGenerators();
    const g = generators?.find((x) => x.name === genSel.value);
    if (!g) return;
    try {
      const r = await app.runJob(`Finding counterfactuals (${g.title})\u2026`, async (signal, progress) =>
        app.model.counterfactuals(t, {
          generator: g.name,
          locked: [...locked].sort((a, b) => a - b),
          ...(g.needs_mlm ? { maskedLm: await app.maskedLm(progress) } : {}),
          signal,
          onProgress: ({ done, total }) => progress(`${g.title}: ${done} of ${total} model evaluations`, done, total),
        }));
      if (!r) return;
      result = r;
      render();
    } catch (e) {
      app.showError(e.message);
    }
  }

  function render() {
    clear(out);
    if (!result) return;
    const r = result, n = r.counterfactuals.length;
    out.append(h('p', { class: 'hint', id: 'cf-summary',
      text: `${r.title}: ${n ? `${n} counterfactual${n > 1 ? 's' : ''}` : 'no counterfactual found'} for \u201c${r.prediction.label_name}\u201d, ` +
        `${r.model_evaluations} model evaluations${r.locked.length ? `, ${r.locked.length} word${r.locked.length > 1 ? 's' : ''} locked` : ''}. Words ranked by ${r.ranking}.` }));
    if (!n) return;
    out.append(h('ol', { class: 'cf-list' }, ...r.counterfactuals.map((c, i) => h('li', { class: 'cf-item', dataset: { index: String(i) } },
      h('p', { class: 'cf-text' }, ...editedNodes(r.text, c.edits)),
      h('p', { class: 'cf-pred' },
        '\u2192 ', h('b', { text: c.prediction.label_name }), ` (${(100 * c.probability).toFixed(1)}%), ${c.edits.length} edit${c.edits.length > 1 ? 's' : ''}`,
        c.fluency !== undefined ? `, fluency ${c.fluency.toFixed(2)} (pseudo-log-likelihood)` : '', ' ',
        h('button', { type: 'button', class: 'secondary small cf-load', text: 'Load and explain', 'aria-label': `Load counterfactual ${i + 1} into What if and explain it`,
          onclick: () => load(c.text) }))))));
  }

  return {
    section,
    // What if shows another text (maybe a loaded counterfactual): its words
    // to lock; the results stay until the text on the left or the model changes.
    refresh() {
      fillGenerators();
      renderLocks();
    },
    invalidate() {
      result = null;
      render();
    },
  };
}
