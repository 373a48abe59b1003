// The page: wiring between the controls, the wordlight JS API (which runs
// the wasm module in a Web Worker) and the views. All text from the user
// or from model files reaches the DOM through dom.js (text nodes only).
import './style.css';
import { $, h, replace, clear, debounce, download } from './dom.js';
import { formatScore } from './colour.js';
import { renderHeatmap, renderLegend, hideTooltip } from './heatmap.js';
import { decodeState, encodeState, parseOption, repairOptions, VIEWS } from './state.js';
import { EXPORT_FONT, fileStem, toHtml, toJson, toSvg } from './export.js';
import { architectureGroup, checkName, checkVerdict, explainedPhrase, methodName, requestOptions, resolveMethods, resultScores, resultTitle, setRegistry } from './names.js';
import { unreadFromTokens, unreadInfo, unreadSentence, wordUnknown } from './unread.js';
import { createCompareView } from './views/compare.js';
import { createLayersView } from './views/layers.js';
import { createWhatIfView } from './views/whatif.js';
import { createInteractionsView } from './views/interactions.js';
import { showTeach } from './teach/index.js';
import { fetchModelFiles, filesFromDrop, filesFromInput, missingModelFiles } from './files.js';

// Milliseconds from the start of the navigation to each stage of the
// first explanation (read by the end-to-end test).
const timings = {};
const mark = (name) => {
  if (!(name in timings)) timings[name] = Math.round(performance.now());
};
// The list of models downloads while the JS API module loads.
const manifestRequest = fetch(new URL('models/index.json', document.baseURI));
manifestRequest.catch(() => {});
const api = await import(/* @vite-ignore */ new URL('wordlight/wordlight.mjs', document.baseURI).href);

const el = {
  runtime: $('#runtime'),
  model: $('#model'),
  openFolder: $('#open-folder'),
  openFiles: $('#open-files'),
  folderInput: $('#model-folder'),
  filesInput: $('#model-files'),
  modelInfo: $('#model-info'),
  text: $('#text'),
  prediction: $('#prediction'),
  method: $('#method'),
  methodDesc: $('#method-desc'),
  options: $('#options'),
  optionsSummary: $('#options-summary'),
  target: $('#target'),
  explain: $('#explain'),
  stale: $('#stale'),
  progress: $('#progress'),
  progressLabel: $('#progress-label'),
  progressBar: $('#progress-bar'),
  cancel: $('#cancel'),
  error: $('#error'),
  errorText: $('#error-text'),
  notices: $('#notices'),
  status: $('#status'),
  resultTitle: $('#result-title'),
  heatmap: $('#heatmap'),
  legend: $('#legend'),
  facts: $('#facts'),
  scoreTable: $('#score-table'),
  showTokens: $('#show-tokens'),
  showNumbers: $('#show-numbers'),
  drop: $('#drop'),
};

// ------------------------------------------------------------------ state
const DEFAULT_METHOD = 'integrated-gradients';
const app = {
  api,
  manifest: { default: null, models: [] },
  methods: [], // the registry (wordlight.methods())
  modelMethods: [], // the registry resolved for the loaded model (model.methods())
  model: null, // the loaded wordlight model
  modelName: '',
  modelEntry: null, // manifest entry, or { name, local: true }
  labels: [],
  state: { model: '', method: 'integrated-gradients', options: {}, target: '', view: 'explain', tokens: false, numbers: false, compare: [], ihSteps: '', layersMode: '', text: '' },
  result: null,
  resultKey: '',
  lastSeconds: 0,
  job: null,
  listeners: [],
};
app.timings = timings;
window.wordlightPage = app; // for the console and the end-to-end tests

// A method as it applies to the loaded model (its options filtered, the
// effective defaults and choices), or the registry's entry before a model.
app.method = (name) => (app.modelMethods.length ? app.modelMethods : app.methods).find((m) => m.name === name);
app.globalMethod = (name) => app.methods.find((m) => m.name === name);
app.applicable = (name) => {
  const m = app.method(name);
  return !!m && m.applicable !== false;
};
app.text = () => el.text.value;
app.targetArg = () => (app.state.target === '' ? undefined : Number(app.state.target));
// The options sent with an explanation by `name`: the user's (for the
// method picked on the left) and the model's effective defaults. Every view
// sends the same for the same method.
app.explainOptions = (name = app.state.method, extra = {}) =>
  requestOptions(app.method(name), app.globalMethod(name), { ...(name === app.state.method ? app.state.options : {}), ...extra });

// ----------------------------------------------------------- errors, jobs
// Errors and progress show in the status box next to the result (sticky
// in the viewport: see style.css), announced to screen readers (role=alert;
// the progress label is aria-live). An error stays until the next run or
// until dismissed; notices (a repaired link, a missing model) stay until
// dismissed.
function revealStatus() {
  // The box is sticky (wide screens) or fixed (phones); if a scrolled
  // container still hides it, bring it into view.
  requestAnimationFrame(() => {
    const r = el.status.getBoundingClientRect();
    if (r.height && (r.top < 0 || r.bottom > window.innerHeight)) el.status.scrollIntoView({ block: 'nearest' });
  });
}
app.showError = (msg) => {
  el.errorText.textContent = String(msg);
  el.error.hidden = false;
  revealStatus();
};
app.clearError = () => {
  el.error.hidden = true;
  el.errorText.textContent = '';
};
$('#error-dismiss').addEventListener('click', () => app.clearError());
// msg: a sentence, or [heading, ...items] for one notice with a list.
app.notice = (msg, { kind = 'notice' } = {}) => {
  const [head, ...items] = [].concat(msg).map(String);
  const box = h(
    'div',
    { class: ['notice-item', kind], role: kind === 'error' ? 'alert' : 'status' },
    h('div', { class: 'notice-text' }, head, items.length ? h('ul', {}, items.map((t) => h('li', { text: t }))) : null),
    h('button', { type: 'button', class: 'link dismiss', text: 'Dismiss', 'aria-label': 'Dismiss this notice', onclick: () => box.remove() }),
  );
  el.notices.append(box);
  revealStatus();
  return box;
};

function progressShow(label) {
  el.progressLabel.textContent = label;
  el.progressBar.classList.add('indeterminate');
  el.progressBar.removeAttribute('aria-valuenow');
  el.progressBar.querySelector('.fill').style.width = '';
  el.progress.hidden = false;
  revealStatus();
}
function progressSet(label, done, total) {
  el.progressBar.classList.remove('indeterminate');
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  el.progressBar.querySelector('.fill').style.width = `${pct.toFixed(1)}%`;
  el.progressBar.setAttribute('aria-valuenow', pct.toFixed(0));
  el.progressLabel.textContent = label;
}

// One long-running task at a time (an explanation, a comparison, ...): a new
// one cancels the one before. fn(signal, progress(label, done, total)).
// Resolves to fn's value, or to null when cancelled or superseded.
app.job = null;
app.runJob = async (label, fn) => {
  if (app.job) app.job.ac.abort(new Error('superseded'));
  const ac = new AbortController();
  const job = { ac, label };
  app.job = job;
  const timer = setTimeout(() => app.job === job && progressShow(label), 150);
  try {
    return await fn(ac.signal, (text, done, total) => {
      if (app.job !== job) return;
      clearTimeout(timer);
      if (el.progress.hidden) progressShow(text);
      progressSet(text, done, total);
    });
  } catch (e) {
    if (e && e.name === 'AbortError') {
      if (ac.signal.reason?.message !== 'superseded') setStale('Cancelled. Press Explain to run again.');
      return null;
    }
    throw e;
  } finally {
    clearTimeout(timer);
    if (app.job === job) {
      app.job = null;
      el.progress.hidden = true;
    }
  }
};
el.cancel.addEventListener('click', () => app.job?.ac.abort(new Error('cancelled by you')));

function setStale(msg) {
  el.stale.textContent = msg || '';
  el.stale.hidden = !msg;
  // With nothing explained yet, say it where the explanation would be.
  if (msg && !app.result) replace(el.heatmap, h('p', { class: 'placeholder', text: msg }));
}

// ------------------------------------------------------------- URL state
function saveState() {
  const st = { ...app.state, numbers: el.showNumbers.checked, text: app.text(), model: app.modelEntry?.local ? '' : app.modelName };
  history.replaceState(null, '', '#' + encodeState(st));
}
const saveStateSoon = debounce(saveState, 300);
app.saveState = saveState;
app.saveStateSoon = saveStateSoon;

// ------------------------------------------------------------- prediction
let predictSeq = 0;
const percent = (v) => (v > 0 && v < 0.001 ? '<0.1%' : `${(100 * v).toFixed(1)}%`);

function renderPrediction(p, unread) {
  const probs = p.probabilities.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
  const shown = probs.slice(0, 5);
  replace(
    el.prediction,
    h('div', { class: 'pred-label' }, 'Predicted: ', h('strong', { text: p.label_name }), ` (${(100 * p.probabilities[p.label]).toFixed(1)}%)`),
    shown.map(([v, i]) =>
      h(
        'div',
        { class: ['prob', i === p.label ? 'top' : ''], role: 'img', 'aria-label': `${app.labels[i] ?? i}: ${percent(v)}` },
        h('span', { class: 'name', text: app.labels[i] ?? String(i), title: app.labels[i] ?? String(i) }),
        h('span', { class: 'track' }, h('span', { class: 'fill', style: { width: `${(100 * v).toFixed(1)}%`, display: 'block' } })),
        h('span', { class: 'pct', text: percent(v) }),
      ),
    ),
    probs.length > shown.length ? h('div', { class: 'pred-more', text: `${probs.length - shown.length} more classes, each at most ${percent(probs[shown.length][0])}` }) : null,
    unread && unreadSentence(unread)
      ? h('div', { class: 'pred-unread', id: 'pred-unread', dataset: { share: String(unread.share) } },
          h('span', { class: 'swatch unread', 'aria-hidden': 'true' }), ' ', unreadSentence(unread),
          unread.unknown.length ? ` Unknown: ${unread.unknown.slice(0, 6).join(', ')}${unread.unknown.length > 6 ? ', \u2026' : ''}.` : '')
      : p.truncated ? h('div', { class: 'pred-more', text: `The text was cut to ${p.num_tokens} tokens.` }) : null,
  );
  updateTargetLabel(p);
}

async function predictNow() {
  if (!app.model) return;
  const seq = ++predictSeq;
  const text = app.text();
  if (!text.trim()) {
    replace(el.prediction, h('span', { class: 'hint', text: 'Type a text to see the prediction.' }));
    return;
  }
  try {
    const [p, tok] = await Promise.all([app.model.predict(text), app.model.tokenize(text).catch(() => null)]);
    if (seq === predictSeq) renderPrediction(p, p.unread ? { ...p.unread, unknown: tok ? unreadFromTokens(text, tok).unknown : [] } : tok ? unreadFromTokens(text, tok) : null);
  } catch (e) {
    if (seq === predictSeq) replace(el.prediction, h('span', { class: 'error', text: e.message }));
  }
}
const predictSoon = debounce(predictNow, 120);

function updateTargetLabel(p) {
  const auto = el.target.querySelector('option[value=""]');
  if (auto) auto.textContent = `the predicted class (${p.label_name})`;
}

// ------------------------------------------------------------ the method
// Only the methods that apply to the loaded model are offered.
function fillMethods() {
  clear(el.method);
  const list = app.modelMethods.length ? app.modelMethods : app.methods;
  for (const m of list) if (m.applicable !== false) el.method.append(h('option', { value: m.name, text: methodName(m) }));
  el.method.value = app.state.method;
}

function fillOptions() {
  const m = app.method(app.state.method);
  el.methodDesc.textContent = m ? m.description : '';
  clear(el.options);
  if (!m) return;
  for (const spec of m.options) {
    const id = `opt-${spec.name}`;
    const cur = spec.name in app.state.options ? app.state.options[spec.name] : spec.default;
    const err = h('p', { class: 'opt-err', hidden: true, id: `${id}-err` });
    const commit = (raw) => {
      const r = parseOption(spec, raw);
      if (r.error) {
        err.textContent = r.error;
        err.hidden = false;
        return;
      }
      err.hidden = true;
      if (String(r.value) === String(spec.default)) delete app.state.options[spec.name];
      else app.state.options[spec.name] = r.value;
      updateOptionsSummary();
      saveStateSoon();
      requestExplain('options');
    };
    let control;
    if (spec.type === 'choice') {
      control = h(
        'select',
        { id, onchange: (ev) => commit(ev.target.value), 'aria-describedby': `${id}-desc` },
        spec.choices.map((c) => h('option', { value: c, text: c, selected: String(c) === String(cur) })),
      );
    } else if (spec.type === 'boolean') {
      control = h('input', { type: 'checkbox', id, checked: cur === true || cur === 'true', onchange: (ev) => commit(String(ev.target.checked)), 'aria-describedby': `${id}-desc` });
    } else {
      const step = spec.type === 'integer' ? 1 : 'any';
      const num = h('input', { type: 'number', id, value: String(cur), min: spec.min, max: spec.max, step, 'aria-describedby': `${id}-desc` });
      const useRange = spec.type === 'integer' && spec.max !== undefined && spec.min !== undefined && spec.max - spec.min <= 4096 && spec.max <= 4096;
      if (useRange) {
        // A slider over a sensible part of the range; the number box takes any value.
        const hi = Math.min(spec.max, Math.max(64, Number(spec.default) * 8));
        const range = h('input', { type: 'range', min: spec.min, max: hi, step: 1, value: String(Math.min(hi, Number(cur))), 'aria-label': `${spec.name} slider`, tabindex: -1 });
        range.addEventListener('input', () => (num.value = range.value));
        range.addEventListener('change', () => commit(range.value));
        num.addEventListener('change', () => {
          range.value = num.value;
          commit(num.value);
        });
        control = h('div', { class: 'pair' }, range, num);
      } else {
        num.addEventListener('change', () => commit(num.value));
        control = h('div', { class: 'pair' }, num);
      }
    }
    const range = spec.min !== undefined ? ` (${spec.min} to ${spec.max}; default ${spec.default})` : ` (default ${spec.default})`;
    el.options.append(
      h('div', { class: 'opt' }, h('label', { for: id, text: spec.name }), control, h('p', { class: 'opt-desc', id: `${id}-desc`, text: spec.description + range }), err),
    );
  }
  el.options.append(
    h('div', {}, h('button', { type: 'button', class: 'secondary small', text: 'Reset to defaults', onclick: () => {
      app.state.options = {};
      fillOptions();
      saveStateSoon();
      requestExplain('options');
    } })),
  );
  updateOptionsSummary();
}

function updateOptionsSummary() {
  const m = app.method(app.state.method);
  const changed = Object.entries(app.state.options);
  el.optionsSummary.textContent = !m?.options.length
    ? 'No options'
    : changed.length
      ? `Options: ${changed.map(([k, v]) => `${k}=${v}`).join(', ')}`
      : `Options (${m.options.length}, all at their defaults)`;
}

el.method.addEventListener('change', () => {
  app.state.method = el.method.value;
  app.state.options = {};
  fillOptions();
  saveStateSoon();
  requestExplain('method');
});

// ------------------------------------------------------------- the class
function fillTargets() {
  clear(el.target);
  el.target.append(h('option', { value: '', text: 'the predicted class' }));
  app.labels.forEach((l, i) => el.target.append(h('option', { value: String(i), text: l })));
  if (app.state.target !== '' && !(Number(app.state.target) >= 0 && Number(app.state.target) < app.labels.length)) app.state.target = '';
  el.target.value = app.state.target;
}
el.target.addEventListener('change', () => {
  app.state.target = el.target.value;
  saveStateSoon();
  requestExplain('target');
  emit('target');
});

// ----------------------------------------------------------- explanation
function explainKey() {
  return JSON.stringify([app.modelName, app.state.method, app.state.options, app.state.target, app.text()]);
}

app.explainNow = async () => {
  if (!app.model) return;
  const text = app.text();
  if (!text.trim()) {
    app.result = null;
    app.resultKey = '';
    el.heatmap.removeAttribute('role');
    replace(el.heatmap, h('p', { class: 'placeholder', text: 'Type a text to see which words matter.' }));
    clear(el.legend);
    clear(el.facts);
    return;
  }
  app.clearError();
  setStale('');
  const key = explainKey();
  const method = app.state.method;
  const started = performance.now();
  try {
    const r = await app.runJob(`${methodName(method)}…`, (signal, progress) =>
      app.model.explain(text, {
        method,
        target: app.targetArg(),
        ...app.explainOptions(method),
        signal,
        onProgress: ({ done, total }) => progress(`${methodName(method)}: ${done} of ${total}`, done, total),
      }),
    );
    if (!r) return;
    app.lastSeconds = (performance.now() - started) / 1000;
    app.result = r;
    app.resultKey = key;
    renderExplanation();
    if (!document.documentElement.dataset.firstHeatmapMs) {
      const ms = performance.now(); // from the navigation's start
      document.documentElement.dataset.firstHeatmapMs = ms.toFixed(0);
      mark('heatmap');
      performance.mark('wordlight-first-heatmap');
    }
  } catch (e) {
    app.showError(e.message);
  }
};

// An explanation is rerun by itself after a change when the last one was
// quick; a slow one waits for the Explain button.
const AUTO_SECONDS = 2.5;
const explainSoon = debounce(() => app.explainNow(), 450);
function requestExplain(reason) {
  if (!app.model) return;
  if (reason === 'text' && app.lastSeconds > AUTO_SECONDS) {
    setStale(`The text changed. Press Explain (the last run took ${app.lastSeconds.toFixed(1)} s).`);
    return;
  }
  if (app.state.view !== 'explain') viewSoon();
  else explainSoon();
}
const viewSoon = debounce(() => views[app.state.view]?.refresh(false), 600);
function markStale() {
  if (app.resultKey && app.resultKey !== explainKey()) el.heatmap.classList.add('stale');
}
el.explain.addEventListener('click', () => {
  explainSoon.cancel();
  if (app.state.view === 'explain') app.explainNow();
  else views[app.state.view].refresh(true);
});

function renderExplanation() {
  const r = app.result;
  if (!r) return;
  hideTooltip();
  el.heatmap.classList.remove('stale');
  const p = r.prediction;
  const auto = app.state.target === '';
  const scores = resultScores(r);
  el.resultTitle.textContent = resultTitle(r, { auto });
  const hm = renderHeatmap(el.heatmap, r, { tokens: app.state.tokens, numbers: el.showNumbers.checked });
  renderLegend(el.legend, hm.scale, p.target_name, { scores, unread: hm.unread });
  el.heatmap.dataset.scores = scores;

  // For screen readers: the strongest words, as a sentence (unread words left out).
  const info = unreadInfo(r);
  const unknownSet = new Set(info.unknown);
  const ranked = r.words.map((w) => [w.score, r.text.slice(w.begin, w.end)]).filter(([, t]) => !unknownSet.has(t)).sort((a, b) => b[0] - a[0]);
  const strongest = (list) => list.slice(0, 3).map(([v, t]) => `${t} (${formatScore(v, 2)})`).join(', ');
  $('#summary').textContent =
    scores === 'unsigned'
      ? `${methodName(r.method)}: importance for \u201c${p.target_name}\u201d (a magnitude, not a direction). Most important: ${strongest(ranked) || 'none'}.`
      : `${methodName(r.method)} explained ${explainedPhrase(r)}. Most for it: ${strongest(ranked.filter(([v]) => v > 0)) || 'none'}. ` +
        `Most against it: ${strongest(ranked.filter(([v]) => v < 0).reverse()) || 'none'}.`;

  const sum = r.words.reduce((s, w) => s + w.score, 0);
  const facts = [
    h('span', {}, h('b', { text: methodName(r.method) })),
    h('span', {}, `explains ${explainedPhrase(r)} = `, h('b', { text: p.explained_value.toFixed(3) })),
    h('span', {}, scores === 'unsigned' ? 'importance (unsigned) in all ' : 'sum of word scores ', h('b', { text: formatScore(sum, 4) })),
  ];
  if (r.convergence) {
    const c = r.convergence;
    facts.push(h('span', { title: `completeness gap ${(100 * c.gap).toPrecision(2)}%, change of the scores from ${c.steps / 2} to ${c.steps} steps ${(100 * c.change).toPrecision(2)}%, tolerance ${(100 * c.tolerance).toPrecision(2)}%` },
      `${c.adaptive ? 'adaptive: ' : ''}${c.steps} steps, `, h('b', { class: c.converged ? 'ok' : 'warn', text: c.converged ? 'converged' : 'not converged' })));
  }
  for (const c of r.checks || []) {
    const good = checkVerdict(c);
    facts.push(
      h('span', { title: c.description }, `${checkName(c.name)}: `, h('b', { class: good === true ? 'ok' : good === false ? 'warn' : '', text: formatScore(c.value, 2) }), ` (${(100 * Math.abs(c.relative)).toPrecision(2)}% of ${formatScore(c.reference, 3)})`),
    );
  }
  facts.push(h('span', { text: `${r.model_evaluations} model evaluation${r.model_evaluations === 1 ? '' : 's'} in ${(1000 * r.seconds).toFixed(0)} ms` }));
  replace(el.facts, facts);
  const unreadLine = unreadSentence(info);
  if (unreadLine || r.notice)
    el.facts.append(
      h('p', { class: 'notice', id: 'unread-notice' },
        unreadLine
          ? `${unreadLine} ${
              info.unknown_words && info.truncated_words
                ? 'Words in grey, dashed boxes and the struck-through tail are not coloured: the model did not read them, so they are not evidence.'
                : info.unknown_words
                  ? 'Words in grey, dashed boxes are not coloured: the model did not read them, so they are not evidence.'
                  : 'The struck-through tail is not coloured: the model did not read it.'
            }`
          : '',
        r.notice && !unreadLine ? r.notice : ''),
    );

  // Scores as text.
  const rows = r.words
    .map((w, i) => ({ w, i }))
    .sort((a, b) => b.w.score - a.w.score)
    .map(({ w, i }, rank) =>
      h(
        'tr',
        {},
        h('td', { class: 'num', text: String(rank + 1) }),
        h('td', { text: r.text.slice(w.begin, w.end) }),
        h('td', { class: 'num', text: wordUnknown(r, w) ? 'not read by this model' : w.score.toPrecision(6) }),
        h('td', { text: w.tokens.map((t) => r.tokens[t].token).join(' ') }),
        h('td', { class: 'num', text: String(i + 1) }),
      ),
    );
  replace(
    el.scoreTable,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'data' },
        h('caption', { class: 'visually-hidden', text: 'Word scores, most positive first' }),
        h('thead', {}, h('tr', {}, ['rank', 'word', 'score', 'tokens', 'position'].map((t) => h('th', { scope: 'col', text: t, class: ['rank', 'score', 'position'].includes(t) ? 'num' : '' })))),
        h('tbody', {}, rows),
      ),
    ),
  );
  showTeach(app, $('#teach'), r);
  document.body.dataset.explained = String(Date.now());
}

el.showTokens.addEventListener('change', () => {
  app.state.tokens = el.showTokens.checked;
  saveStateSoon();
  renderExplanation();
});
el.showNumbers.addEventListener('change', () => {
  app.state.numbers = el.showNumbers.checked;
  saveStateSoon();
  renderExplanation();
});

// ---------------------------------------------------------------- export
// Every view exports PNG, SVG, HTML and JSON through the same buttons:
// getExport() -> { stem, svg(measure), html(), json() } or null.
function measureFor(fontSize, font) {
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${fontSize}px ${font}`;
  return (t) => ctx.measureText(t).width;
}
app.measure = measureFor;
app.exportFont = EXPORT_FONT;

async function svgToPng(svg) {
  const img = new Image();
  img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
  await img.decode();
  const scale = 2;
  const canvas = h('canvas', { width: img.width * scale, height: img.height * scale });
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

async function doExport(getExport, format) {
  const x = getExport();
  if (!x) {
    app.showError('Nothing to export yet: compute this view first.');
    return;
  }
  try {
    if (format === 'svg') download(x.stem + '.svg', x.svg(), 'image/svg+xml');
    else if (format === 'html') download(x.stem + '.html', x.html(), 'text/html');
    else if (format === 'json') download(x.stem + '.json', x.json(), 'application/json');
    else download(x.stem + '.png', await svgToPng(x.svg()));
  } catch (e) {
    app.showError(`Could not export: ${e.message}`);
  }
}

// A row of export buttons for a view (ids: export-<view>-<format>).
app.exportRow = (view, getExport) =>
  h(
    'div',
    { class: 'export-row' },
    h('span', { class: 'hint', text: 'Export' }),
    ['png', 'svg', 'html', 'json'].map((f) =>
      h('button', { type: 'button', class: 'secondary small', id: `export-${view}-${f}`, text: f.toUpperCase(), 'aria-label': `Export this view as ${f.toUpperCase()}`, onclick: () => doExport(getExport, f) }),
    ),
  );

function wordsExport(r = app.result) {
  if (!r) return null;
  const opts = { modelName: app.modelName, methodLabel: methodName(r.method) };
  return {
    stem: fileStem(r, app.modelName),
    svg: () => toSvg(r, { ...opts, measure: measureFor(18, EXPORT_FONT), font: EXPORT_FONT }),
    html: () => toHtml(r, opts),
    json: () => toJson(r, opts),
  };
}
app.wordsExport = wordsExport;
for (const f of ['png', 'svg', 'html', 'json']) $(`#export-${f}`).addEventListener('click', () => doExport(() => wordsExport(), f));
$('#copy-link').addEventListener('click', async (ev) => {
  saveState();
  try {
    await navigator.clipboard.writeText(location.href);
    ev.target.textContent = 'Link copied';
  } catch {
    ev.target.textContent = 'Copy the address bar';
  }
  setTimeout(() => (ev.target.textContent = 'Copy link'), 2000);
});

// ----------------------------------------------------------------- models
function fillModels() {
  clear(el.model);
  const shipped = h('optgroup', { label: 'Shipped with wordlight' });
  for (const m of app.manifest.models) shipped.append(h('option', { value: m.name, text: `${m.name} (${m.labels.length} classes)` }));
  el.model.append(shipped);
  if (app.modelEntry?.local) {
    el.model.append(h('optgroup', { label: 'Your model (local)' }, h('option', { value: 'local:', text: app.modelEntry.name })));
    el.model.value = 'local:';
  } else {
    el.model.value = app.modelName;
  }
}

// An example of the manifest: { text, label } (or a plain string).
const exampleText = (e) => (typeof e === 'string' ? e : e?.text ?? '');
function fillExamples() {
  const list = app.modelEntry?.examples || [];
  replace(
    $('#examples'),
    list.length ? h('span', { class: 'hint', text: 'Try:' }) : null,
    list.map((e, i) => {
      const t = exampleText(e);
      const label = typeof e === 'object' && e.label ? ` (labelled ${e.label})` : '';
      return h('button', {
        type: 'button',
        class: 'example',
        title: t + label,
        text: t.length > 24 ? t.slice(0, 24).replace(/[\s,.:;]+\S*$/, '') + '\u2026' : t,
        'aria-label': `Example ${i + 1}${label}: ${t}`,
        onclick: () => app.setText(t),
      });
    }),
  );
}

function describeModel() {
  const e = app.modelEntry;
  const info = app.model?.info;
  const bits = [];
  if (info) bits.push(`${info.architecture}, ${(info.parameters / 1e6).toFixed(1)} M parameters, ${info.tokenizer} tokenizer, up to ${info.max_length} tokens`);
  if (e?.accuracy) bits.push(`${(100 * e.accuracy.value).toFixed(1)}% accuracy on ${e.accuracy.n.toLocaleString('en')} test texts`);
  if (e?.local) bits.push('loaded from your disk; nothing was uploaded');
  replace(
    el.modelInfo,
    h('span', { text: bits.join(' \u00b7 ') }),
    e?.description ? h('details', { class: 'model-about' }, h('summary', { text: 'About this model' }), h('p', { class: 'hint', text: e.description })) : null,
  );
}

function runtimeText() {
  const info = app.model?.info;
  const iso = globalThis.crossOriginIsolated === true;
  if (!info) return api.simdSupported() ? 'WebAssembly SIMD' : 'no WebAssembly SIMD';
  const threads = info.threads > 1 ? `${info.threads} threads` : '1 thread';
  return `WebAssembly SIMD \u00b7 ${threads}${!iso ? ' (page not cross-origin isolated)' : ''}`;
}

// A shipped model's files: fetched once, possibly early (while the wasm
// module starts). The promise stays here until loadModel takes the bytes:
// forgetting it as soon as the download finished made a load that started
// after the early download (the module compiled slower than the files came)
// fetch the whole model a second time.
const fetched = new Map();
function shippedFiles(entry, progress) {
  let f = fetched.get(entry.name);
  if (!f) {
    f = { listeners: new Set(), last: [0, 0] };
    f.promise = fetchModelFiles(new URL(`models/${entry.name}/`, document.baseURI), entry.files, {
      onProgress: (d, t) => {
        f.last = [d, t];
        for (const l of f.listeners) l(d, t);
      },
    });
    f.promise.catch(() => fetched.get(entry.name) === f && fetched.delete(entry.name));
    fetched.set(entry.name, f);
  }
  if (progress) {
    f.listeners.add(progress);
    progress(...f.last);
  }
  return f.promise;
}

// source: a Map of files, or a shipped model's entry (its files are
// fetched); entry: manifest entry or { name, local }.
async function loadModel(source, entry) {
  app.clearError();
  const old = app.model;
  let m;
  try {
    m = await app.runJob(`Loading ${entry.name}…`, async (signal, progress) => {
      if (source === entry) {
        source = await shippedFiles(entry, (d, t) => t > 0 && progress(`Loading ${entry.name}: ${(d / 1e6).toFixed(1)} of ${(t / 1e6).toFixed(1)} MB`, d, t));
        fetched.delete(entry.name);
      }
      if (signal.aborted) return null;
      const model = await api.load(source, {
        name: entry.name,
        onProgress: (p) => {
          if (p.stage === 'files' && p.total > 0) progress(`Reading ${entry.name}: ${p.file}`, p.done, p.total);
          else if (p.stage === 'model') progress(`Preparing ${entry.name}…`, p.done, p.total);
        },
      });
      if (signal.aborted) {
        await model.dispose();
        return null;
      }
      return model;
    });
  } catch (e) {
    app.showError(`Could not load ${entry.name}: ${e.message}`);
    fillModels();
    return false;
  }
  if (!m) return false;
  if (old) old.dispose().catch(() => {});
  // The methods and options as they apply to this model.
  let resolved = null;
  if (typeof m.methods === 'function') {
    try {
      resolved = await m.methods();
    } catch {
      resolved = null;
    }
  }
  app.modelMethods = Array.isArray(resolved) && resolved.length ? resolved : resolveMethods(app.methods, architectureGroup(m.info));
  setRegistry(app.modelMethods);
  app.model = m;
  app.modelName = entry.name;
  app.modelEntry = entry;
  app.labels = m.info.labels?.length ? m.info.labels : entry.labels || [];
  app.result = null;
  app.resultKey = '';
  fillModels();
  fillTargets();
  describeModel();
  fillExamples();
  // The method and options picked before may not apply to this model.
  const changes = [];
  if (!app.applicable(app.state.method)) {
    const why = app.method(app.state.method)?.why;
    const was = app.state.method;
    app.state.method = DEFAULT_METHOD;
    app.state.options = {};
    changes.push(`${methodName(was)} does not apply to ${entry.name}${why ? ` (${why})` : ''}: showing ${methodName(DEFAULT_METHOD)}.`);
  } else {
    const r = repairOptions(app.method(app.state.method), app.state.options, { methodLabel: methodName(app.state.method), all: app.globalMethod(app.state.method) });
    app.state.options = r.options;
    changes.push(...r.changes);
  }
  fillMethods();
  fillOptions();
  if (changes.length) app.notice([`Changed for ${entry.name}:`, ...changes]);
  el.runtime.textContent = runtimeText();
  document.body.dataset.model = entry.name;
  emit('model');
  return true;
}

el.model.addEventListener('change', async () => {
  const name = el.model.value;
  if (name === 'local:') return;
  const entry = app.manifest.models.find((m) => m.name === name);
  if (!entry) return;
  const keepText = app.text() && app.text() !== app.modelEntry?.example;
  if (await loadModel(entry, entry)) {
    if (!keepText) el.text.value = entry.example;
    saveStateSoon();
    predictNow();
    afterChange();
  }
});

async function loadLocal(files, dirName) {
  const names = [...files.keys()];
  const missing = missingModelFiles(names);
  if (missing) {
    app.showError(`Could not load ${dirName || 'that folder'}: ${missing}`);
    return;
  }
  const entry = { name: dirName || 'your model', local: true, description: '' };
  if (await loadModel(files, entry)) {
    saveStateSoon();
    predictNow();
    afterChange();
  }
}

el.openFolder.addEventListener('click', () => el.folderInput.click());
el.openFiles.addEventListener('click', () => el.filesInput.click());
for (const input of [el.folderInput, el.filesInput]) {
  input.addEventListener('change', () => {
    const { files, name } = filesFromInput(input.files);
    input.value = '';
    if (files.size) loadLocal(files, name);
  });
}

// Drag and drop a folder anywhere on the page.
let dragDepth = 0;
const hasFiles = (ev) => [...(ev.dataTransfer?.types || [])].includes('Files');
window.addEventListener('dragenter', (ev) => {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  dragDepth++;
  el.drop.hidden = false;
});
window.addEventListener('dragover', (ev) => hasFiles(ev) && ev.preventDefault());
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) el.drop.hidden = true;
});
window.addEventListener('drop', async (ev) => {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  dragDepth = 0;
  el.drop.hidden = true;
  try {
    const { files, name } = await filesFromDrop(ev.dataTransfer);
    loadLocal(files, name);
  } catch (e) {
    app.showError(e.message);
  }
});

// ------------------------------------------------------------------ views
function emit(what) {
  for (const v of Object.values(views)) v.invalidate(what);
}
// A text set by the page (an example, What if's "use this text") is
// explained whatever the last run took.
app.setText = (text) => {
  el.text.value = text;
  onTextChanged('set');
};
app.views = {};
const views = app.views;
views.explain = {
  panel: $('#view-explain'),
  invalidate() {},
  refresh(force) {
    if (force || app.resultKey !== explainKey()) app.explainNow();
  },
};
views.compare = createCompareView(app, $('#view-compare'));
views.layers = createLayersView(app, $('#view-layers'));
views.whatif = createWhatIfView(app, $('#view-whatif'));
views.interactions = createInteractionsView(app, $('#view-interactions'));

const tabs = [...document.querySelectorAll('[role="tab"]')];
function showView(view, { focus = false } = {}) {
  if (!VIEWS.includes(view)) view = 'explain';
  app.state.view = view;
  hideTooltip();
  for (const t of tabs) {
    const on = t.dataset.view === view;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    if (on && focus) t.focus();
    $(`#view-${t.dataset.view}`).hidden = !on;
  }
  saveStateSoon();
  if (app.model) views[view].refresh(false);
}
for (const t of tabs) {
  t.addEventListener('click', () => showView(t.dataset.view));
  t.addEventListener('keydown', (ev) => {
    const i = tabs.indexOf(t);
    let j = -1;
    if (ev.key === 'ArrowRight') j = (i + 1) % tabs.length;
    else if (ev.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = tabs.length - 1;
    if (j < 0) return;
    ev.preventDefault();
    showView(tabs[j].dataset.view, { focus: true });
  });
}

function afterChange() {
  emit('text');
  if (app.state.view === 'explain') app.explainNow();
  else views[app.state.view].refresh(false);
}

function onTextChanged(reason = 'text') {
  saveStateSoon();
  predictSoon();
  markStale();
  emit('text');
  requestExplain(reason);
}
el.text.addEventListener('input', () => onTextChanged('text'));
el.text.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    el.explain.click();
  }
});

// A pasted link (or the back button) changes the fragment.
window.addEventListener('hashchange', () => applyState(decodeState(location.hash), { reload: true }));

// A link's state, checked against the loaded model: whatever does not apply
// (a method, an option or value, a class, a compared method, a view's
// setting) is replaced by the default and said in a notice, and the
// repaired state replaces the link at once (never saved as it came).
async function applyState(st, { reload = false } = {}) {
  const wanted = st.model && app.manifest.models.find((m) => m.name === st.model);
  if (reload && st.model && !wanted) app.notice(`The link names a model that is not here (${st.model}); showing ${app.modelName || 'none'}.`, { kind: 'error' });
  if (reload && wanted && wanted.name !== app.modelName) {
    if (!(await loadModel(wanted, wanted))) return;
  }
  const changes = [];
  let method = app.state.method;
  if (st.method && st.method !== method) {
    if (!app.method(st.method)) changes.push(`The link's method \u201c${st.method}\u201d is not known: showing ${methodName(method)}.`);
    else if (!app.applicable(st.method)) {
      const why = app.method(st.method).why;
      changes.push(`${methodName(st.method)} does not apply to ${app.modelName}${why ? ` (${why})` : ''}: showing ${methodName(method)}.`);
    } else method = st.method;
  }
  app.state.method = method;
  if (st.method && st.method !== method) {
    if (Object.keys(st.options || {}).length) changes.push(`The link's options (${Object.entries(st.options).map(([k, v]) => `${k}=${v}`).join(', ')}) were for that method: dropped.`);
    app.state.options = {};
  } else {
    const r = repairOptions(app.method(method), st.options, { methodLabel: methodName(method), all: app.globalMethod(method) });
    app.state.options = r.options;
    changes.push(...r.changes);
  }
  const target = st.target ?? '';
  if (target !== '' && !(/^\d+$/.test(String(target)) && Number(target) < app.labels.length)) {
    changes.push(`The link's class ${target} is not one of this model's ${app.labels.length} classes: explaining the predicted class.`);
    app.state.target = '';
  } else app.state.target = String(target);
  app.state.tokens = !!st.tokens;
  app.state.numbers = !!st.numbers;
  el.showTokens.checked = app.state.tokens;
  el.showNumbers.checked = app.state.numbers;
  const picks = (st.compare || []).filter((n) => app.applicable(n) && app.method(n) && views.compare.offers?.(n) !== false);
  for (const n of st.compare || []) if (!picks.includes(n)) changes.push(`Compare: \u201c${n}\u201d is not a method that can be compared on this model: left out.`);
  app.state.compare = [...new Set(picks)].slice(0, 4);
  for (const v of [views.layers, views.interactions]) {
    const r = v.acceptState?.(st);
    if (r) changes.push(...r);
  }
  fillMethods();
  fillOptions();
  fillTargets();
  if (st.text !== undefined) el.text.value = st.text;
  views.compare.setPicks?.(app.state.compare);
  if (changes.length) app.notice(['This link asked for settings that do not apply here; it was repaired (the address bar has the repaired link):', ...changes]);
  predictNow();
  showView(st.view || 'explain');
  if (changes.length) saveState();
}

// ------------------------------------------------------------------ start
async function start() {
  if (!api.simdSupported()) {
    el.runtime.textContent = 'no WebAssembly SIMD';
    app.showError('This browser does not support WebAssembly SIMD, which wordlight needs (Chrome/Edge 91+, Firefox 89+, Safari 16.4+).');
    return;
  }
  // The module starts (worker, wasm compile) while the list of models and
  // then the first model's files download.
  mark('script');
  const methods = api.methods();
  methods.catch(() => {});
  try {
    const res = await manifestRequest;
    if (!res.ok) throw new Error(`models/index.json: HTTP ${res.status}`);
    app.manifest = await res.json();
  } catch (e) {
    app.showError(`Could not read the list of shipped models (${e.message}). You can still open your own model.`);
  }
  const st = decodeState(location.hash);
  const entry = app.manifest.models.find((m) => m.name === st.model) || app.manifest.models.find((m) => m.name === app.manifest.default) || app.manifest.models[0];
  mark('manifest');
  if (entry) shippedFiles(entry).then(() => mark('files'), () => {});
  try {
    app.methods = await methods;
    mark('module');
  } catch (e) {
    app.showError(`The wasm module did not start: ${e.message}`);
    return;
  }
  setRegistry(app.methods);
  fillMethods();
  // Stays until dismissed (a later run's error does not clear it).
  if (st.model && entry?.name !== st.model) app.notice(`The link names a model that is not here (\u201c${st.model}\u201d); showing ${entry?.name ?? 'none'}.`, { kind: 'error' });
  fillModels();
  if (!entry) {
    el.runtime.textContent = runtimeText();
    app.showError('No shipped model was found. Open your own model folder.');
    return;
  }
  if (st.text === undefined) st.text = exampleText(entry.examples?.[0] ?? entry.example);
  if (!(await loadModel(entry, entry))) return;
  mark('model');
  await applyState(st);
}

start().catch((e) => app.showError(e.message));
