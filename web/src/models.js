// The model picker: the shipped models (models/index.json) and the user's
// own model folder (open, or drop anywhere on the page; read in the
// browser, never uploaded), their examples and description, and loading a
// model into the wasm module with the registry resolved for it. Sets
// app.loadModel (app.js); returns fillModels, shippedFiles and runtimeText
// for the start-up in main.js.
import { $, h, replace, clear } from './dom.js';
import { repairOptions } from './state.js';
import { methodName, setRegistry } from './names.js';
import { fetchModelFiles, filesFromDrop, filesFromInput, missingModelFiles } from './files.js';
import { DEFAULT_METHOD } from './app.js';

// An example of the manifest: { text, label } (or a plain string).
export const exampleText = (e) => (typeof e === 'string' ? e : e?.text ?? '');

export function installModelPicker(app, el) {
  function fillModels() {
    clear(el.model);
    const shipped = h('optgroup', { label: 'Shipped with wordlight' });
    for (const m of app.manifest.models) shipped.append(h('option', { value: m.name, text: m.kind === 'causal-lm' ? `${m.name} (language model)` : `${m.name} (${m.labels.length} classes)` }));
    el.model.append(shipped);
    if (app.modelEntry?.local) {
      el.model.append(h('optgroup', { label: 'Your model (local)' }, h('option', { value: 'local:', text: app.modelEntry.name })));
      el.model.value = 'local:';
    } else {
      el.model.value = app.modelName;
    }
  }

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
    );
    // "About this model" (the whole card) is modelcard.js's, under this line.
  }

  function runtimeText() {
    const info = app.model?.info;
    const iso = globalThis.crossOriginIsolated === true;
    if (!info) return app.api.simdSupported() ? 'WebAssembly SIMD' : 'no WebAssembly SIMD';
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
        const model = await app.api.load(source, {
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
    // The methods and options as they apply to this model (the registry
    // resolved by the module for its architecture).
    let resolved;
    try {
      resolved = await m.methods();
    } catch (e) {
      m.dispose().catch(() => {});
      app.showError(`Could not read the methods for ${entry.name}: ${e.message}`);
      fillModels();
      return false;
    }
    if (old) old.dispose().catch(() => {});
    app.modelMethods = resolved;
    setRegistry(app.modelMethods);
    app.model = m;
    app.modelName = entry.name;
    app.modelEntry = entry;
    // A causal LM's outputs are its vocabulary, not classes: it has none to pick.
    app.labels = m.info.head === 'causal-lm' ? [] : m.info.labels?.length ? m.info.labels : entry.labels || [];
    app.result = null;
    app.resultKey = '';
    fillModels();
    app.fillTargets();
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
    app.fillMethods();
    app.fillOptions();
    if (changes.length) app.notice([`Changed for ${entry.name}:`, ...changes]);
    el.runtime.textContent = runtimeText();
    document.body.dataset.model = entry.name;
    app.emit('model');
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
      app.saveStateSoon();
      app.predictNow();
      app.afterChange();
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
      app.saveStateSoon();
      app.predictNow();
      app.afterChange();
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

  app.loadModel = loadModel;
  return { fillModels, shippedFiles, runtimeText };
}
