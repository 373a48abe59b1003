// Data set (issue 19): a CSV / TSV / JSONL file the user drops (or picks),
// read in the page and never sent anywhere; every row predicted in the
// worker (progress, cancel); accuracy and the confusion matrix when the
// rows have labels; a table filtered by label, prediction, confidence,
// length and a word, sorted, a row opening in the Words view; the per-class
// top words of a method over all rows (the CLI's evaluation rule); named
// slices with their metrics; the table as CSV. The logic is ../dataset.js.
import { h, replace, clear } from '../dom.js';
import { methodName, explainsOutput } from '../names.js';
import {
  filterRows, labelIndex, metrics, parseDataset, sliceMetrics, sortRows, tableCsv, topWords,
} from '../dataset.js';

const SHOWN = 200;  // rows drawn in the table (the filter narrows the rest)

export function createDatasetView(app, panel) {
  let data = null;          // { name, rows: [{ index, text, label, rationale, pred, explanation }], hasLabels }
  let predictedFor = '';    // the model the predictions are of
  let explainedWith = '';   // model + method of the explanations
  let slices = [];
  const filter = { label: -1, predicted: -1, word: '', wrong: false, minConfidence: undefined, sort: 'index', desc: false };

  const file = h('input', { type: 'file', id: 'ds-file', accept: '.csv,.tsv,.jsonl,.ndjson,.txt', onchange: () => file.files[0] && readFile(file.files[0]) });
  const drop = h('div', { class: 'ds-drop', id: 'ds-drop', tabindex: '0' },
    h('label', { for: 'ds-file', text: 'Drop a CSV, TSV or JSONL file here, or pick one: ' }), file,
    h('p', { class: 'hint', text: 'Columns: text (or sentence), optionally label and rationale. The file is read in this page and never uploaded.' }));
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const f = ev.dataTransfer?.files?.[0];
    if (f) readFile(f);
  });
  const info = h('p', { class: 'ds-info', id: 'ds-info', 'aria-live': 'polite' });
  const predictBtn = h('button', { type: 'button', class: 'primary small', id: 'ds-predict', text: 'Predict all', disabled: true, onclick: () => predictAll() });
  const methodSel = h('select', { id: 'ds-method', 'aria-label': 'Method for the top words' });
  const explainBtn = h('button', { type: 'button', class: 'small', id: 'ds-explain', text: 'Explain all', disabled: true, onclick: () => explainAll() });
  const csvBtn = h('button', { type: 'button', class: 'small', id: 'ds-export-csv', text: 'CSV', disabled: true, onclick: () => exportCsv() });
  const metricsOut = h('div', { class: 'ds-metrics', id: 'ds-metrics' });
  const topOut = h('div', { class: 'ds-top', id: 'ds-top' });
  const labelSel = h('select', { id: 'ds-f-label', 'aria-label': 'Label', onchange: () => { filter.label = Number(labelSel.value); drawTable(); } });
  const predSel = h('select', { id: 'ds-f-pred', 'aria-label': 'Prediction', onchange: () => { filter.predicted = Number(predSel.value); drawTable(); } });
  const wordIn = h('input', { type: 'search', id: 'ds-f-word', placeholder: 'a word', 'aria-label': 'Rows with the word', oninput: () => { filter.word = wordIn.value.trim(); drawTable(); } });
  const wrongBox = h('input', { type: 'checkbox', id: 'ds-f-wrong', onchange: () => { filter.wrong = wrongBox.checked; drawTable(); } });
  const confIn = h('input', { type: 'number', id: 'ds-f-conf', min: '0', max: '1', step: '0.05', placeholder: '0.5', 'aria-label': 'Confidence at least',
    oninput: () => { const v = parseFloat(confIn.value); filter.minConfidence = Number.isFinite(v) ? v : undefined; drawTable(); } });
  const sortSel = h('select', { id: 'ds-sort', 'aria-label': 'Sort by', onchange: () => { [filter.sort, filter.desc] = sortSel.value.split(':'); filter.desc = filter.desc === 'desc'; drawTable(); } },
    ...[['index:asc', 'file order'], ['confidence:desc', 'confidence, high first'], ['confidence:asc', 'confidence, low first'], ['length:desc', 'length, long first'], ['length:asc', 'length, short first']]
      .map(([v, t]) => h('option', { value: v, text: t })));
  const sliceName = h('input', { type: 'text', id: 'ds-slice-name', placeholder: 'slice name', 'aria-label': 'Slice name' });
  const sliceBtn = h('button', { type: 'button', class: 'small', id: 'ds-slice-save', text: 'Save filter as slice', onclick: () => saveSlice() });
  const slicesOut = h('div', { class: 'ds-slices', id: 'ds-slices' });
  const count = h('p', { class: 'hint', id: 'ds-count' });
  const table = h('table', { class: 'ds-table', id: 'ds-table' });

  panel.append(
    h('div', { class: 'view-head' }, h('h2', { text: 'Data set' }), predictBtn),
    drop, info, metricsOut,
    h('div', { class: 'ds-global' }, h('label', { for: 'ds-method', text: 'Top words per class by ' }), methodSel, explainBtn),
    topOut,
    h('fieldset', { class: 'ds-filters' }, h('legend', { text: 'Filter' }),
      h('label', {}, 'label ', labelSel), h('label', {}, 'predicted ', predSel), h('label', {}, 'word ', wordIn),
      h('label', {}, 'confidence \u2265 ', confIn), h('label', {}, wrongBox, ' wrong only'), h('label', {}, 'sort ', sortSel),
      sliceName, sliceBtn),
    slicesOut, count, table,
    h('div', { class: 'export-row' }, h('span', { text: 'Export the table: ' }), csvBtn),
  );

  async function readFile(f) {
    app.clearError();
    try {
      const parsed = parseDataset(f.name, await f.text());
      data = { name: f.name, hasLabels: parsed.hasLabels, rows: parsed.rows.map((r, index) => ({ ...r, index, pred: null, explanation: null })) };
      predictedFor = explainedWith = '';
      slices = [];
      replace(info, `${f.name}: ${data.rows.length} rows${data.hasLabels ? ', with labels' : ', no labels'}.`);
      sync();
    } catch (e) {
      app.showError(e.message);
    }
  }

  const modelKey = () => app.modelName + '|' + (app.model?.info?.name ?? '');

  function fillSelects() {
    const labels = app.labels;
    for (const [sel, cur] of [[labelSel, filter.label], [predSel, filter.predicted]]) {
      clear(sel);
      sel.append(h('option', { value: '-1', text: 'any' }), ...labels.map((l, i) => h('option', { value: String(i), text: l, selected: i === cur })));
    }
    const keep = methodSel.value || 'gradient-x-input';
    clear(methodSel);
    for (const m of app.modelMethods || [])
      if (m.applicable !== false && explainsOutput(m)) methodSel.append(h('option', { value: m.name, text: methodName(m.name), selected: m.name === keep }));
  }

  function sync() {
    fillSelects();
    const have = !!data && !!app.model;
    predictBtn.disabled = !have;
    explainBtn.disabled = !have;
    csvBtn.disabled = !have;
    drawMetrics();
    drawTable();
    drawSlices();
  }

  async function predictAll() {
    if (!data || !app.model) return;
    const rows = data.rows, model = app.model, key = modelKey();
    const t0 = performance.now();
    const got = await app.runJob('Predicting the data set\u2026', async (signal, progress) => {
      const out = [];
      for (let i = 0; i < rows.length; ++i) {
        if (signal.aborted) return null;
        progress(`Predicting row ${i + 1} of ${rows.length}`, i, rows.length);
        out.push(await model.predict(rows[i].text));
      }
      return out;
    });
    if (!got) return;
    got.forEach((p, i) => { rows[i].pred = p; });
    predictedFor = key;
    app.timings.datasetPredictMs = performance.now() - t0;
    replace(info, `${data.name}: ${rows.length} rows predicted in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    sync();
  }

  async function explainAll() {
    if (!data || !app.model) return;
    const method = methodSel.value;
    if (!method) return;
    if (predictedFor !== modelKey()) await predictAll();
    if (predictedFor !== modelKey()) return;
    const rows = data.rows, model = app.model;
    const t0 = performance.now();
    const got = await app.runJob(`Explaining the data set (${methodName(method)})\u2026`, async (signal, progress) => {
      const out = [];
      for (let i = 0; i < rows.length; ++i) {
        if (signal.aborted) return null;
        progress(`Explaining row ${i + 1} of ${rows.length}`, i, rows.length);
        // The predicted class of each row, as the CLI's evaluation explains it.
        out.push(await model.explain(rows[i].text, { method, ...app.explainOptions(method), target: undefined, signal }));
      }
      return out;
    });
    if (!got) return;
    got.forEach((e, i) => { rows[i].explanation = { method, words: e.words.map((w) => ({ text: w.text, score: w.score })) }; });
    explainedWith = modelKey() + '|' + method;
    app.timings.datasetExplainMs = performance.now() - t0;
    replace(info, `${data.name}: ${rows.length} rows explained with ${methodName(method)} in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    drawTop(method);
    drawTable();
  }

  function drawMetrics() {
    clear(metricsOut);
    if (!data || predictedFor !== modelKey() || !data.hasLabels) return;
    const labels = app.labels, m = metrics(data.rows, labels);
    metricsOut.append(h('p', { id: 'ds-accuracy', text: m.accuracy === null ? 'No row has a label of this model.' : `Accuracy ${(100 * m.accuracy).toFixed(1)}% (${m.correct} of ${m.n})` + (m.unknown ? `; ${m.unknown} rows have a label the model does not have` : '') }));
    const t = h('table', { class: 'ds-confusion', id: 'ds-confusion' },
      h('caption', { text: 'Confusion matrix: rows are the labels, columns the predictions' }),
      h('tr', {}, h('th', { text: '' }), ...labels.map((l) => h('th', { scope: 'col', text: l }))),
      ...labels.map((l, g) => h('tr', {}, h('th', { scope: 'row', text: l }), ...m.confusion[g].map((n) => h('td', { text: String(n) })))));
    metricsOut.append(t);
  }

  function drawTop(method) {
    clear(topOut);
    if (!data) return;
    const tw = topWords(data.rows, app.labels, 10);
    topOut.append(h('p', { class: 'hint', text: `${methodName(method)}: per class, the words with the largest summed score over the rows ${data.hasLabels ? 'of that label predicted correctly' : 'predicted as that class'} (sum, rows).` }));
    const box = h('div', { class: 'ds-top-lists' });
    for (const [cls, list] of Object.entries(tw))
      box.append(h('div', { class: 'ds-top-class', dataset: { cls } }, h('h3', { text: cls }),
        h('ol', {}, ...list.map(([w, s, n]) => h('li', { class: 'ds-top-word', text: `${w}  ${s.toFixed(3)} (${n})` })))));
    topOut.append(box);
  }

  function currentRows() {
    return sortRows(filterRows(data.rows, filter, app.labels), filter.sort, filter.desc);
  }

  function drawTable() {
    clear(table);
    clear(count);
    if (!data) return;
    const labels = app.labels, rows = currentRows();
    const predicted = predictedFor === modelKey();
    count.append(`${rows.length} of ${data.rows.length} rows${rows.length > SHOWN ? `; the first ${SHOWN} shown` : ''}. Click a row to explain it in Words.`);
    table.append(h('tr', {}, ...['#', 'text', 'label', 'predicted', 'confidence'].map((t) => h('th', { scope: 'col', text: t }))));
    for (const r of rows.slice(0, SHOWN)) {
      const p = predicted ? r.pred : null;
      const wrong = p && data.hasLabels && labelIndex(r.label, labels) >= 0 && labelIndex(r.label, labels) !== p.label;
      table.append(h('tr', { class: ['ds-row', wrong && 'wrong'], dataset: { index: String(r.index) }, tabindex: '0',
        onclick: () => open(r), onkeydown: (ev) => { if (ev.key === 'Enter') open(r); } },
      h('td', { text: String(r.index + 1) }), h('td', { class: 'ds-text', text: r.text }), h('td', { class: 'ds-label', text: r.label ?? '' }),
      h('td', { class: 'ds-pred', text: p ? p.label_name : '' }), h('td', { text: p ? p.probabilities[p.label].toFixed(3) : '' })));
    }
  }

  function open(r) {
    document.querySelector('#tab-explain')?.click();
    app.setText(r.text);
  }

  function saveSlice() {
    if (!data) return;
    const name = sliceName.value.trim() || `slice ${slices.length + 1}`;
    slices.push({ name, filter: { ...filter } });
    sliceName.value = '';
    drawSlices();
  }

  function drawSlices() {
    clear(slicesOut);
    if (!data || !slices.length) return;
    const m = sliceMetrics(data.rows, slices, app.labels);
    slicesOut.append(h('table', { class: 'ds-slice-table', id: 'ds-slice-table' },
      h('tr', {}, ...['slice', 'rows', 'accuracy'].map((t) => h('th', { scope: 'col', text: t }))),
      ...m.map((s) => h('tr', {}, h('td', { text: s.name }), h('td', { text: String(s.rows) }),
        h('td', { text: s.accuracy === null || predictedFor !== modelKey() ? '\u2013' : `${(100 * s.accuracy).toFixed(1)}% (${s.correct} of ${s.n})` })))));
  }

  function exportCsv() {
    if (!data) return;
    const csv = tableCsv(currentRows().map((r) => (predictedFor === modelKey() ? r : { ...r, pred: null })), app.labels);
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const a = h('a', { href: url, download: `wordlight_${app.modelName}_${data.name}.csv`.replace(/[^A-Za-z0-9_.-]/g, '-') });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  return {
    panel,
    invalidate(what) {
      if (what === 'model') { explainedWith = ''; clear(topOut); }
    },
    refresh() {
      sync();
    },
  };
}
