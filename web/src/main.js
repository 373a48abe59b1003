// The page: main.js only wires. It builds the `app` object (app.js, the
// contract every module uses), installs the page's services (status.js:
// errors and the one running job; exports.js: the export buttons), the
// controls on the left (models.js: the model picker; options.js: method,
// options and class; prediction.js), the views (views/index.js: Words,
// Compare, Layers, What if, Interactions; views/README.md says how to add
// one), the tabs, the URL state and the start-up. All text from the user
// or from model files reaches the DOM through dom.js (text nodes only).
import './style.css';
import { $, debounce } from './dom.js';
import { hideTooltip } from './heatmap.js';
import { decodeState, encodeState, repairOptions, VIEWS } from './state.js';
import { methodName, setRegistry } from './names.js';
import { createApp } from './app.js';
import { installStatus } from './status.js';
import { installExports } from './exports.js';
import { installOptionsForm } from './options.js';
import { installPrediction } from './prediction.js';
import { exampleText, installModelPicker } from './models.js';
import { installModelCard } from './modelcard.js';
import { VIEW_MODULES } from './views/index.js';

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
  errorDismiss: $('#error-dismiss'),
  notices: $('#notices'),
  status: $('#status'),
  heatmap: $('#heatmap'),
  showTokens: $('#show-tokens'),
  showNumbers: $('#show-numbers'),
  drop: $('#drop'),
};

const app = createApp(api, el);
app.timings = timings; // the same object: the Words view adds 'heatmap'
window.wordlightPage = app; // for the console and the end-to-end tests

// ------------------------------------------------------------- URL state
function saveState() {
  const st = { ...app.state, numbers: el.showNumbers.checked, text: app.text(), model: app.modelEntry?.local ? '' : app.modelName };
  history.replaceState(null, '', '#' + encodeState(st));
}
app.saveState = saveState;
app.saveStateSoon = debounce(saveState, 300);

// -------------------------------------------------- services and controls
installStatus(app, el);
installExports(app);
const { predictSoon } = installPrediction(app, el);
installOptionsForm(app, el);
const picker = installModelPicker(app, el);
installModelCard(app, el);

// ------------------------------------------------------------------ views
const views = app.views;
for (const { name, create } of VIEW_MODULES) views[name] = create(app, $(`#view-${name}`));

// An explanation is rerun by itself after a change when the last one was
// quick; a slow one waits for the Explain button.
const AUTO_SECONDS = 2.5;
const explainSoon = debounce(() => app.explainNow(), 450);
const viewSoon = debounce(() => views[app.state.view]?.refresh(false), 600);
app.requestExplain = (reason) => {
  if (!app.model) return;
  if (reason === 'text' && app.lastSeconds > AUTO_SECONDS) {
    app.setStale(`The text changed. Press Explain (the last run took ${app.lastSeconds.toFixed(1)} s).`);
    return;
  }
  if (app.state.view !== 'explain') viewSoon();
  else explainSoon();
};
el.explain.addEventListener('click', () => {
  explainSoon.cancel();
  views[app.state.view].refresh(true);
});

// A text set by the page (an example, What if's "use this text") is
// explained whatever the last run took.
app.setText = (text) => {
  el.text.value = text;
  onTextChanged('set');
};

const tabs = [...document.querySelectorAll('[role="tab"]')];
function showView(view, { focus = false } = {}) {
  if (!VIEWS.includes(view)) view = 'explain';
  // A language model has no classes to explain: only Generate applies (the other tabs are disabled).
  const causal = app.model?.info?.head === 'causal-lm';
  if (causal) view = 'generate';
  for (const t of tabs) t.disabled = causal && t.dataset.view !== 'generate';
  app.state.view = view;
  hideTooltip();
  for (const t of tabs) {
    const on = t.dataset.view === view;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    if (on && focus) t.focus();
    $(`#view-${t.dataset.view}`).hidden = !on;
  }
  app.saveStateSoon();
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

// After a model is loaded: every view hears of the text, the shown one computes.
app.afterChange = () => {
  app.emit('text');
  // To a language model and back: Generate, then Words.
  const causal = app.model?.info?.head === 'causal-lm';
  if (causal || tabs.some((t) => t.disabled)) return showView(causal ? 'generate' : 'explain');
  views[app.state.view].refresh(app.state.view === 'explain');
};

function onTextChanged(reason = 'text') {
  app.saveStateSoon();
  predictSoon();
  app.emit('text');
  app.requestExplain(reason);
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
    if (!(await app.loadModel(wanted, wanted))) return;
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
  for (const v of Object.values(views)) {
    const r = v.acceptState?.(st);
    if (r) changes.push(...r);
  }
  app.fillMethods();
  app.fillOptions();
  app.fillTargets();
  if (st.text !== undefined) el.text.value = st.text;
  if (changes.length) app.notice(['This link asked for settings that do not apply here; it was repaired (the address bar has the repaired link):', ...changes]);
  app.predictNow();
  showView(st.view || 'explain');
  if (changes.length) saveState();
}

// ------------------------------------------------------------------ start
const { fillModels, shippedFiles, runtimeText } = picker;
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
  app.fillMethods();
  // Stays until dismissed (a later run's error does not clear it).
  if (st.model && entry?.name !== st.model) app.notice(`The link names a model that is not here (\u201c${st.model}\u201d); showing ${entry?.name ?? 'none'}.`, { kind: 'error' });
  fillModels();
  if (!entry) {
    el.runtime.textContent = runtimeText();
    app.showError('No shipped model was found. Open your own model folder.');
    return;
  }
  if (st.text === undefined) st.text = exampleText(entry.examples?.[0] ?? entry.example);
  if (!(await app.loadModel(entry, entry))) return;
  mark('model');
  await applyState(st);
}

start().catch((e) => app.showError(e.message));
