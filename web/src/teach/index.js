// "How this works": a disclosure panel under the explanation that teaches
// the method that made it, to a student who has never seen it: what it
// computes (in words and in symbols), a picture of the mechanism made from
// this very text and result, what its check means, where it is known to
// mislead, and its sources. main.js calls showTeach(app, mount, result)
// whenever an explanation is shown; the panel computes what its picture
// needs beyond the result (a plain gradient, noisy copies, the layers)
// only while it is open.
import './teach.css';
import { h, replace, clear } from '../dom.js';
import { checkVerdict, methodName } from '../names.js';
import { toDom, num, pct, signed } from './vnode.js';
import { isUnsigned, wordsOf } from './common.js';
import { CONTENT, NO_CHECK, checkMeaning } from './content.js';
import { igPathPicture, ihArcsPicture } from './path.js';
import { slopePicture, noisePicture } from './gradient.js';
import { occlusionPicture } from './occlusion.js';
import { lrpFlowPicture } from './lrp.js';
import { coalitionPicture } from './coalition.js';
import { marginalizationPicture } from './marginalization.js';

export { CONTENT };

// Noisy copies drawn for SmoothGrad's picture (one model evaluation each).
export const NOISY_COPIES = 6;

// The explanations a method's picture needs beyond the result itself, as
// [{ key, method, options }] (options as the API takes them; `known` is
// the registry's option list of each method, to pass only what applies).
export function extrasNeeded(r, known = {}) {
  const o = r.options || {};
  const pick = (method, names, fixed = {}) => {
    const specs = known[method];
    const out = {};
    for (const n of names) if (o[n] !== undefined && (!specs || specs.some((s) => s.name === n))) out[n] = o[n];
    for (const [k, x] of Object.entries(fixed)) if (!specs || specs.some((s) => s.name === k)) out[k] = x;
    return out;
  };
  switch (r.method) {
    case 'saliency':
    case 'gradient-x-input':
      return [{ key: 'gradient', method: 'gradient', options: pick('gradient', ['output', 'merge'], { reduce: 'along-input' }) }];
    case 'smoothgrad':
    case 'smoothgrad-squared': {
      const sq = r.method === 'smoothgrad-squared';
      const shared = sq ? ['output', 'merge'] : ['output', 'merge', 'reduce'];
      const list = [{ key: 'plain', method: sq ? 'saliency' : 'gradient', options: pick(sq ? 'saliency' : 'gradient', shared) }];
      const seed0 = Number(o.seed ?? 1);
      for (let k = 0; k < NOISY_COPIES; ++k)
        list.push({ key: `sample${k}`, method: r.method, options: pick(r.method, [...shared, 'noise'], { samples: 1, seed: seed0 + 1000 + k }) });
      return list;
    }
    case 'lrp':
      return [{ key: 'layers', method: 'layer-relevance', options: pick('layer-relevance', ['epsilon', 'output', 'merge'], { mode: 'lrp', normalise: 'none', 'top-k': 0 }) }];
    case 'layer-relevance':
      // The result's own rows are drawn (scaled back to the layers' totals).
      return [];
    default:
      return [];
  }
}

// The picture of a result (a vnode tree; see vnode.js), given the extra
// explanations extrasNeeded() asked for, by key.
export function teachPicture(r, extras = {}, opts = {}) {
  switch (r.method) {
    case 'integrated-gradients':
      return igPathPicture(r, opts);
    case 'integrated-hessians':
      return ihArcsPicture(r, opts);
    case 'occlusion':
      return occlusionPicture(r, opts);
    case 'smoothgrad':
    case 'smoothgrad-squared':
      return noisePicture(r, opts, { plain: extras.plain, samples: Object.keys(extras).filter((k) => k.startsWith('sample')).sort().map((k) => extras[k]) });
    case 'lrp':
    case 'layer-relevance':
    case 'neuron-relevance':
      return lrpFlowPicture(r, extras.layers, opts);
    case 'kernel-shap':
    case 'shapley-sampling':
    case 'partition-shap':
    case 'lime':
      return coalitionPicture(r, opts);
    case 'input-marginalization':
      return marginalizationPicture(r, opts);
    case 'gradient':
    case 'saliency':
    case 'gradient-x-input':
    default:
      return slopePicture(r, opts, { gradient: extras.gradient });
  }
}

// What this result says about its own check, as lines of text.
export function checkLines(r) {
  const lines = [];
  for (const c of r.checks || []) {
    const meaning = checkMeaning(c.name);
    const rel = Number.isFinite(c.relative) ? ` (${pct(c.relative)} of ${num(c.reference, 4)})` : '';
    lines.push({ name: c.name, value: `${c.name.replace(/-/g, ' ')}: ${signed(c.value, 3)}${rel}`, meaning: meaning || c.description || '', good: checkVerdict(c) });
  }
  const cv = r.convergence;
  if (cv && typeof cv === 'object') {
    const tol = Number.isFinite(cv.tolerance) ? cv.tolerance : 0.01;
    lines.push({
      name: 'convergence',
      value:
        `convergence: ${cv.converged ? 'reached' : 'not reached'} with ${cv.steps} steps${cv.adaptive ? ' (adaptive: the steps doubled until both numbers fell below the tolerance)' : ''}; ` +
        `completeness gap ${pct(cv.gap)}, change of the scores from ${Math.max(1, Math.round((cv.steps || 2) / 2))} to ${cv.steps} steps ${pct(cv.change)}; tolerance ${pct(tol)}`,
      meaning: 'The gap alone can be small while the scores are still moving; converged means both the gap and the change of the scores between n/2 and n steps are below the tolerance.',
      good: cv.converged === true,
    });
  }
  if (!lines.length) lines.push({ name: 'none', value: NO_CHECK[r.method] || 'This method reports no check.', meaning: '', good: null });
  return lines;
}

// Where this result in particular may mislead: sub-words merged into
// words, words the model cannot read, a cut text, unsigned scores, the
// baseline.
export function caveatsFor(r) {
  const out = [];
  const words = wordsOf(r);
  const split = words.filter((w) => w.tokens.length > 1);
  if (split.length) {
    const ex = split.slice(0, 3).map((w) => `\u201c${w.text}\u201d = ${w.tokens.map((t) => r.tokens?.[t]?.token ?? '?').join(' + ')}`);
    out.push(`Sub-word merging: ${split.length} word${split.length > 1 ? 's were' : ' was'} split into pieces (${ex.join('; ')}); a word\u2019s score is the ${r.options?.merge ?? 'sum'} of its pieces\u2019 scores, and the pieces can disagree.`);
  }
  const unknown = words.filter((w) => w.unknown || w.tokens.some((t) => /^(\[UNK\]|<unk>)$/.test(r.tokens?.[t]?.token ?? '')));
  if (unknown.length)
    out.push(`Not read by this model: ${unknown.length} word${unknown.length > 1 ? 's' : ''} (${unknown.slice(0, 4).map((w) => `\u201c${w.text}\u201d`).join(', ')}) became the unknown token; their scores are about the unknown token, not the word.`);
  const u = r.unread;
  if (u && Number(u.truncated_words) > 0) out.push(`The text was cut: ${u.truncated_words} word${u.truncated_words > 1 ? 's' : ''} at the end were not read and have no score.`);
  else if (r.truncated) out.push('The text was cut: its end was not read and has no score.');
  if (isUnsigned(r)) out.push('These scores are magnitudes: no colour or bar here means \u201cfor\u201d or \u201cagainst\u201d.');
  if (['integrated-gradients', 'integrated-hessians'].includes(r.method) && r.options?.baseline)
    out.push(`This run\u2019s baseline: ${r.options.baseline}; the scores explain f(x) \u2212 f(baseline), not f(x).`);
  return out;
}

// ------------------------------------------------------------------ panel
let panel = null;

function typed(spec, value) {
  if (!spec) return value;
  if (spec.type === 'integer' || spec.type === 'number') return Number(value);
  if (spec.type === 'boolean') return value === true || value === 'true';
  return String(value);
}

function measureFor(size) {
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${size}px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif`;
  return (t) => ctx.measureText(String(t)).width;
}

function createPanel(app, mount) {
  const button = h('button', { type: 'button', class: 'teach-toggle', id: 'teach-toggle', 'aria-expanded': 'false', 'aria-controls': 'teach-body' });
  const body = h('div', { id: 'teach-body', class: 'teach-body', hidden: true, role: 'region', 'aria-labelledby': 'teach-toggle' });
  mount.classList.add('teach');
  replace(mount, h('h3', { class: 'teach-head' }, button), body);
  const state = { result: null, open: false, seq: 0, cache: new WeakMap(), width: 0 };
  const measures = { 11: measureFor(11), 12: measureFor(12) };
  const measure = (t, size) => (measures[size] || measures[12])(t);

  const title = (r) => app.method?.(r.method)?.title || methodName(r.method);

  function setButton() {
    const r = state.result;
    button.textContent = r ? `How this works: ${title(r)}` : 'How this works';
    button.setAttribute('aria-expanded', String(state.open));
    body.hidden = !state.open;
    mount.dataset.open = String(state.open);
  }

  button.addEventListener('click', () => {
    state.open = !state.open;
    setButton();
    if (state.open) render();
  });

  async function extrasFor(r) {
    let c = state.cache.get(r);
    if (c) return c;
    const known = {};
    for (const m of app.methods || []) known[m.name] = m.options;
    const needs = extrasNeeded(r, known).filter((n) => !app.methods?.length || app.method?.(n.method));
    c = (async () => {
      const out = {};
      for (const n of needs) {
        const specs = known[n.method] || [];
        const options = {};
        for (const [k, x] of Object.entries(n.options)) options[k] = typed(specs.find((s) => s.name === k), x);
        try {
          out[n.key] = await app.model.explain(r.text, { method: n.method, target: r.prediction?.target, ...options });
        } catch (e) {
          out.error = e.message;
        }
      }
      return out;
    })();
    state.cache.set(r, c);
    return c;
  }

  async function render() {
    const r = state.result;
    if (!r || !state.open) return;
    const seq = ++state.seq;
    const c = CONTENT[r.method];
    const figure = h('figure', { class: 'teach-figure', id: 'teach-figure', 'aria-busy': 'true' }, h('p', { class: 'hint', text: 'Drawing from this text\u2026' }));
    const checks = checkLines(r);
    const caveats = caveatsFor(r);
    replace(
      body,
      h('h4', { text: 'What it computes' }),
      h('p', { text: c?.words || app.method?.(r.method)?.description || '' }),
      c?.symbols ? h('p', { class: 'teach-formula', 'aria-label': `Formula: ${c.symbols}` }, c.symbols.split(/;\s+/).map((part) => h('code', { text: part }))) : null,
      h('h4', { text: 'The picture, from this text' }),
      c?.picture ? h('p', { class: 'hint', text: c.picture }) : null,
      figure,
      h('h4', { text: 'What its check says' }),
      h(
        'ul',
        { class: 'teach-checks' },
        checks.map((l) => h('li', {}, h('b', { class: l.good === true ? 'ok' : l.good === false ? 'bad' : '', text: l.value }), l.meaning ? h('span', { text: ` \u2014 ${l.meaning}` }) : null)),
      ),
      h('h4', { text: 'Where it can mislead' }),
      h('ul', { class: 'teach-caveats' }, caveats.map((t) => h('li', { class: 'here', text: t })), (c?.misleads || []).map((t) => h('li', { text: t }))),
      c?.sources?.length ? h('h4', { text: 'Sources' }) : null,
      c?.sources?.length ? h('ul', { class: 'teach-sources' }, c.sources.map((t) => h('li', { text: t }))) : null,
    );
    const extras = await extrasFor(r);
    if (seq !== state.seq || r !== state.result) return;
    state.width = body.clientWidth;
    const width = Math.max(300, Math.min(760, body.clientWidth - 4));
    const pic = teachPicture(r, extras, { width, measure });
    replace(
      figure,
      toDom(pic),
      (pic.notes || []).map((t) => h('p', { class: 'hint teach-note', text: t })),
      h('figcaption', { class: 'hint', text: `${title(r)} on \u201c${r.text.length > 60 ? r.text.slice(0, 57) + '\u2026' : r.text}\u201d${extras.error ? ` (part of the picture could not be computed: ${extras.error})` : ''}` }),
    );
    figure.setAttribute('aria-busy', 'false');
    figure.dataset.method = r.method;
    figure.dataset.width = String(width);
  }

  // Redraw for a new width (a phone turned, a window resized).
  let resizeTimer = 0;
  new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (state.open && Math.abs(body.clientWidth - state.width) > 24) render();
    }, 200);
  }).observe(mount);

  setButton();
  return {
    show(r) {
      state.result = r;
      setButton();
      if (state.open) render();
    },
  };
}

// The one call main.js makes when an explanation is shown (r: the result,
// or null to clear).
export function showTeach(app, mount, r) {
  if (!mount) return;
  if (!panel || panel.mount !== mount) {
    clear(mount);
    panel = { mount, ...createPanel(app, mount) };
  }
  panel.show(r);
}
