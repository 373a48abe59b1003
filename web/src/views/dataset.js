// Data set (issue 19): a CSV / TSV / JSONL file the user drops (or picks),
// read in the page and never sent anywhere; every row predicted in the
// worker (progress, cancel); accuracy and the confusion matrix when the
// rows have labels; a table filtered by label, prediction, confidence,
// length and a word, sorted, a row opening in the Words view; the per-class
// top words of a method over all rows (the CLI's evaluation rule); named
// slices with their metrics; the table as CSV. The logic is ../dataset.js.
import { h, replace, clear } from '../dom.js';
import { methodName, explainsOutput, resultScores } from '../names.js';
import { renderHeatmap, renderLegend } from '../heatmap.js';
import { pcaData, pcaElement, pcaExport } from './dataset_pca.js';
import { NEEDS_MASKED_LM } from '../maskedlm.js';
import {
  filterRows, labelIndex, metrics, parseDataset, sliceMetrics, sortRows, spearman, tableCsv, topWords,
} from '../dataset.js';

const SHOWN = 200;  // rows drawn in the table (the filter narrows the rest)

export function createDatasetView(app, panel) {
  let data = null;          // { name, rows: [{ index, text, label, rationale, pred, explanation }], hasLabels }
  let predictedFor = '';    // the model the predictions are of
  let explainedWith = '';   // model + method of the explanations
  let slices = [];
  const filter = { label: -1, predicted: -1, word: '', wrong: false, disagree: false, minConfidence: undefined, sort: 'index', desc: false };
  let second = null;        // { name, model }: the model side by side (a second shipped classifier)
  let predicted2For = '';   // the second model the pred2 are of
  let linkFile = '';        // the file a link named (its rows are not in the link)

  const file = h('input', { type: 'file', id: 'ds-file', accept: '.csv,.tsv,.jsonl,.ndjson,.txt', onchange: () => file.files[0] && readFile(file.files[0]) });
  const drop = h('div', { class: 'ds-drop', id: 'ds-drop', tabindex: '0' },
    h('label', { for: 'ds-file', text: 'Drop a CSV, TSV or JSONL file here, or pick one: ' }), file,
    h('p', { class: 'hint', text: 'Columns: text (or sentence), optionally label and rationale. The file is read in this page and never uploaded.' }),
    h('button', { type: 'button', class: 'secondary small', id: 'ds-example', text: 'Or use the example: 300 SST-2 dev sentences', onclick: () => loadExample() }));
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
  const pcaOut = h('div', { class: 'ds-pca', id: 'ds-pca-box' });
  let pca = null;           // pcaData of the explained rows
  const pcaExportRow = app.exportRow('dataset-pca', () =>
    pca ? { stem: `wordlight_${app.modelName}_${data?.name ?? ''}_pca`.replace(/[^A-Za-z0-9_.-]/g, '-'), ...pcaExport(pca, { modelName: app.modelName, method: methodName(explainedWith.split('|').pop()), file: data?.name ?? '' }) } : null);
  const labelSel = h('select', { id: 'ds-f-label', 'aria-label': 'Label', onchange: () => { filter.label = Number(labelSel.value); changed(); } });
  const predSel = h('select', { id: 'ds-f-pred', 'aria-label': 'Prediction', onchange: () => { filter.predicted = Number(predSel.value); changed(); } });
  const wordIn = h('input', { type: 'search', id: 'ds-f-word', placeholder: 'a word', 'aria-label': 'Rows with the word', oninput: () => { filter.word = wordIn.value.trim(); changed(); } });
  const wrongBox = h('input', { type: 'checkbox', id: 'ds-f-wrong', onchange: () => { filter.wrong = wrongBox.checked; changed(); } });
  const confIn = h('input', { type: 'number', id: 'ds-f-conf', min: '0', max: '1', step: '0.05', placeholder: '0.5', 'aria-label': 'Confidence at least',
    oninput: () => { const v = parseFloat(confIn.value); filter.minConfidence = Number.isFinite(v) ? v : undefined; changed(); } });
  const model2Sel = h('select', { id: 'ds-model2', 'aria-label': 'Second model, side by side', onchange: () => pickSecond(model2Sel.value) });
  const disagreeBox = h('input', { type: 'checkbox', id: 'ds-f-disagree', onchange: () => { filter.disagree = disagreeBox.checked; changed(); } });
  const sortSel = h('select', { id: 'ds-sort', 'aria-label': 'Sort by', onchange: () => { [filter.sort, filter.desc] = sortSel.value.split(':'); filter.desc = filter.desc === 'desc'; changed(); } },
    ...[['index:asc', 'file order'], ['confidence:desc', 'confidence, high first'], ['confidence:asc', 'confidence, low first'], ['length:desc', 'length, long first'], ['length:asc', 'length, short first']]
      .map(([v, t]) => h('option', { value: v, text: t })));
  const sliceName = h('input', { type: 'text', id: 'ds-slice-name', placeholder: 'slice name', 'aria-label': 'Slice name' });
  const sliceBtn = h('button', { type: 'button', class: 'small', id: 'ds-slice-save', text: 'Save filter as slice', onclick: () => saveSlice() });
  const slicesOut = h('div', { class: 'ds-slices', id: 'ds-slices' });
  const count = h('p', { class: 'hint', id: 'ds-count' });
  const table = h('table', { class: 'ds-table', id: 'ds-table' });

  panel.append(
    h('div', { class: 'view-head' }, h('h2', { text: 'Data set' }), predictBtn),
    drop,
    h('p', { class: 'ds-second' }, h('label', { for: 'ds-model2', text: 'Side by side with ' }), model2Sel,
      h('span', { class: 'hint', text: ' (a second model: both predictions in the table, both explanations in Words)' })),
    info, metricsOut,
    h('div', { class: 'ds-global' }, h('label', { for: 'ds-method', text: 'Top words per class by ' }), methodSel, explainBtn),
    topOut,
    h('div', { class: 'sub' }, h('h3', { text: 'Document vectors (PCA)' }),
      h('p', { class: 'hint', text: 'After Explain all: each row as the sum of its word embeddings weighted by their scores (Arras et al. 2017), scaled to unit length, on the first two principal components; one dot per row, coloured by class.' }),
      pcaOut, pcaExportRow),
    h('fieldset', { class: 'ds-filters' }, h('legend', { text: 'Filter' }),
      h('label', {}, 'label ', labelSel), h('label', {}, 'predicted ', predSel), h('label', {}, 'word ', wordIn),
      h('label', {}, 'confidence \u2265 ', confIn), h('label', {}, wrongBox, ' wrong only'), h('label', {}, disagreeBox, ' the two models disagree'), h('label', {}, 'sort ', sortSel),
      sliceName, sliceBtn),
    slicesOut, count, table,
    h('div', { class: 'export-row' }, h('span', { text: 'Export the table: ' }), csvBtn),
  );

  // The view's settings into the link (app.state.dataset -> ds.* in the
  // fragment): second model, file name, filters. Never the rows.
  function saveLink() {
    app.state.dataset = {
      model2: second?.name, file: data?.name ?? linkFile,
      label: filter.label >= 0 ? app.labels[filter.label] : undefined,
      pred: filter.predicted >= 0 ? app.labels[filter.predicted] : undefined,
      word: filter.word, wrong: filter.wrong ? '1' : undefined, disagree: filter.disagree ? '1' : undefined,
      conf: filter.minConfidence, sort: filter.sort !== 'index' || filter.desc ? `${filter.sort}:${filter.desc ? 'desc' : 'asc'}` : undefined,
    };
    app.saveStateSoon?.();
  }

  function changed() {
    saveLink();
    drawTable();
  }

  async function readFile(f) {
    app.clearError();
    try {
      loadText(f.name, await f.text());
    } catch (e) {
      app.showError(e.message);
    }
  }

  // The shipped example: 300 SST-2 dev sentences of 8 words or more, with their labels (assets/).
  async function loadExample() {
    app.clearError();
    try {
      const { default: text } = await import('../assets/sst2-dev-300.tsv?raw');
      loadText('sst2-dev-300.tsv', text);
    } catch (e) {
      app.showError(e.message);
    }
  }

  function loadText(name, content) {
    const parsed = parseDataset(name, content);
    data = { name, hasLabels: parsed.hasLabels, rows: parsed.rows.map((r, index) => ({ ...r, index, pred: null, explanation: null })) };
    predictedFor = explainedWith = predicted2For = '';
    slices = [];
    replace(info, `${name}: ${data.rows.length} rows${data.hasLabels ? ', with labels' : ', no labels'}.`);
    linkFile = '';
    saveLink();
    sync();
  }

  const modelKey = () => app.modelName + '|' + (app.model?.info?.name ?? '');

  function fillSelects() {
    const labels = app.labels;
    for (const [sel, cur] of [[labelSel, filter.label], [predSel, filter.predicted]]) {
      clear(sel);
      sel.append(h('option', { value: '-1', text: 'any' }), ...labels.map((l, i) => h('option', { value: String(i), text: l, selected: i === cur })));
    }
    const keep2 = second?.name ?? '';
    clear(model2Sel);
    model2Sel.append(h('option', { value: '', text: 'none' }),
      ...(app.manifest?.models ?? []).filter((m) => m.kind === 'classifier' && m.name !== app.modelName)
        .map((m) => h('option', { value: m.name, text: m.name, selected: m.name === keep2 })));
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
    // One call for all rows: the worker runs them in padded batches.
    const got = await app.runJob('Predicting the data set\u2026', (signal, progress) =>
      model.predictBatch(rows.map((r) => r.text), {
        signal, onProgress: ({ done, total }) => progress(`Predicted ${done} of ${total} rows`, done, total),
      }));
    if (!got) return;
    // A row without tokens keeps its error instead of a prediction.
    got.forEach((p, i) => { rows[i].pred = p.error === undefined ? p : null; rows[i].error = p.error ?? null; });
    predictedFor = key;
    if (second && !(await predictSecond())) return;
    app.timings.datasetPredictMs = performance.now() - t0;
    replace(info, `${data.name}: ${rows.length} rows predicted in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    sync();
  }

  // The second model's predictions of every row (pred2).
  async function predictSecond() {
    const rows = data.rows, two = second;
    const got = await app.runJob(`Predicting the data set with ${two.name}\u2026`, (signal, progress) =>
      two.model.predictBatch(rows.map((r) => r.text), {
        signal, onProgress: ({ done, total }) => progress(`${two.name}: predicted ${done} of ${total} rows`, done, total),
      }));
    if (!got || second !== two) return false;
    got.forEach((p, i) => { rows[i].pred2 = p.error === undefined ? p : null; });
    predicted2For = two.name;
    return true;
  }

  // A second shipped classifier, loaded next to the page's model (name '' : none).
  async function pickSecond(name) {
    const old = second;
    second = null;
    predicted2For = '';
    app.secondExplanation = null;
    if (old) old.model.dispose().catch(() => {});
    if (name) {
      try {
        const model = await app.runJob(`Loading ${name}\u2026`, () =>
          app.api.load(new URL(`models/${name}/`, document.baseURI).href, { name }));
        if (!model) return sync();
        second = { name, model };
        app.secondExplanation = secondExplanation;
        if (data && predictedFor === modelKey()) await predictSecond();
      } catch (e) {
        app.showError(`Could not load ${name}: ${e.message}`);
      }
    }
    saveLink();
    sync();
  }

  // Words: the second model's explanation of the same text by the same
  // method, under the first, with the Spearman correlation of the scores of
  // the words both models read alike (same character span).
  async function secondExplanation(box, r) {
    const two = second;
    if (!two) return;
    const method = r.method;
    const r2 = await two.model.explain(r.text, { method, ...app.explainOptions(method), target: undefined });
    if (second !== two) return;
    const at = new Map(r2.words.map((w) => [`${w.begin}:${w.end}`, w.score]));
    const pairs = r.words.filter((w) => at.has(`${w.begin}:${w.end}`) && w.score !== null && at.get(`${w.begin}:${w.end}`) !== null);
    const rho = spearman(pairs.map((w) => w.score), pairs.map((w) => at.get(`${w.begin}:${w.end}`)));
    const hm = h('div', { class: 'heatmap small', id: 'heatmap-2' });
    const legend = h('div', { class: 'legend' });
    replace(box,
      h('h3', { id: 'second-title', text: `${two.name}: ${methodName(method)}, predicted \u201c${r2.prediction.label_name}\u201d (${(100 * r2.prediction.probabilities[r2.prediction.label]).toFixed(1)}%)` }),
      hm, legend,
      h('p', { class: 'hint', id: 'second-spearman', dataset: { rho: rho === null ? '' : String(rho), n: String(pairs.length) },
        text: rho === null ? `Spearman correlation: not defined (${pairs.length} words in common).`
          : `Spearman correlation of the two models' word scores: ${rho.toFixed(3)} over ${pairs.length} words both read alike.` }));
    const { scale, unread } = renderHeatmap(hm, r2, {});
    renderLegend(legend, scale, r2.prediction.target_name, { scores: resultScores(r2), unread });
    box.dataset.text = r.text;  // what it shows (the tests wait for it)
    box.hidden = false;
  }

  async function explainAll() {
    if (!data || !app.model) return;
    const method = methodSel.value;
    if (!method) return;
    if (predictedFor !== modelKey()) await predictAll();
    if (predictedFor !== modelKey()) return;
    const rows = data.rows, model = app.model;
    const t0 = performance.now();
    // One call for all rows, each explained as model.explain would; the
    // predicted class of each row, as the CLI's evaluation explains it.
    const got = await app.runJob(`Explaining the data set (${methodName(method)})\u2026`, async (signal, progress) =>
      model.explainBatch(rows.map((r) => r.text), {
        method, ...app.explainOptions(method), target: undefined, signal, documentVectors: true,
        ...(NEEDS_MASKED_LM.has(method) ? { maskedLm: await app.maskedLm(progress) } : {}),
        onProgress: ({ done, total }) => progress(`Explained ${done} of ${total} rows`, done, total),
      }));
    if (!got) return;
    got.forEach((e, i) => {
      rows[i].explanation = e.error === undefined ? { method, words: e.words.map((w) => ({ text: w.text, score: w.score })) } : null;
      rows[i].docvec = e.error === undefined ? e.document_vector : null;
    });
    explainedWith = modelKey() + '|' + method;
    app.timings.datasetExplainMs = performance.now() - t0;
    replace(info, `${data.name}: ${rows.length} rows explained with ${methodName(method)} in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    drawTop(method);
    drawPca();
    drawTable();
  }

  function drawPca() {
    clear(pcaOut);
    pca = null;
    if (!data || !explainedWith) return;
    pca = pcaData(data.rows, app.labels, data.hasLabels && data.rows.some((r) => labelIndex(r.label, app.labels) >= 0));
    if (pca.points.length < 2) {
      pcaOut.append(h('p', { class: 'hint', text: 'Fewer than two explained rows: no plot.' }));
      return;
    }
    pcaOut.append(pcaElement(pca));
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
    if (second && predicted2For === second.name) {
      const m2 = metrics(data.rows.map((r) => ({ ...r, pred: r.pred2 })), labels);
      const both = data.rows.filter((r) => r.pred && r.pred2);
      const agree = both.filter((r) => r.pred.label_name === r.pred2.label_name).length;
      metricsOut.append(h('p', { id: 'ds-accuracy-2', text: `${second.name}: ` + (m2.accuracy === null ? 'no row has a label of this model.' : `accuracy ${(100 * m2.accuracy).toFixed(1)}% (${m2.correct} of ${m2.n})`) +
        `; the two models agree on ${agree} of ${both.length} rows.` }));
    }
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
    const two = second && predicted2For === second.name;
    count.append(`${rows.length} of ${data.rows.length} rows${rows.length > SHOWN ? `; the first ${SHOWN} shown` : ''}. Click a row to explain it in Words.`);
    table.append(h('tr', {}, ...['#', 'text', 'label', 'predicted', 'confidence', ...(two ? [`${second.name}`, 'confidence'] : [])].map((t) => h('th', { scope: 'col', text: t }))));
    for (const r of rows.slice(0, SHOWN)) {
      const p = predicted ? r.pred : null;
      const wrong = p && data.hasLabels && labelIndex(r.label, labels) >= 0 && labelIndex(r.label, labels) !== p.label;
      table.append(h('tr', { class: ['ds-row', wrong && 'wrong'], dataset: { index: String(r.index) }, tabindex: '0',
        onclick: () => open(r), onkeydown: (ev) => { if (ev.key === 'Enter') open(r); } },
      h('td', { text: String(r.index + 1) }), h('td', { class: 'ds-text' }, ...rationaleNodes(r.text, r.rationale)), h('td', { class: 'ds-label', text: r.label ?? '' }),
      h('td', { class: 'ds-pred', text: p ? p.label_name : '' }), h('td', { text: p ? p.probabilities[p.label].toFixed(3) : '' }),
      ...(two ? [h('td', { class: ['ds-pred2', p && r.pred2 && p.label_name !== r.pred2.label_name && 'disagree'], text: r.pred2 ? r.pred2.label_name : '' }),
        h('td', { text: r.pred2 ? r.pred2.probabilities[r.pred2.label].toFixed(3) : '' })] : [])));
    }
  }

  // A row's text with its rationale spans (from the file) marked.
  function rationaleNodes(t, spans) {
    if (!spans?.length) return [t];
    const out = [];
    let at = 0;
    for (const [b, e] of [...spans].sort((x, y) => x[0] - y[0])) {
      const begin = Math.max(at, Math.min(b, t.length)), end = Math.max(begin, Math.min(e, t.length));
      if (begin > at) out.push(t.slice(at, begin));
      if (end > begin) out.push(h('mark', { class: 'ds-rationale', title: 'rationale (from the file)', text: t.slice(begin, end) }));
      at = end;
    }
    if (at < t.length) out.push(t.slice(at));
    return out;
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
    const two = !!second && predicted2For === second.name;
    const csv = tableCsv(currentRows().map((r) => (predictedFor === modelKey() ? r : { ...r, pred: null })), app.labels, { second: two });
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const a = h('a', { href: url, download: `wordlight_${app.modelName}_${data.name}.csv`.replace(/[^A-Za-z0-9_.-]/g, '-') });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  return {
    panel,
    // A link's ds.* settings: filters, the second model (loaded), the file
    // name (said: the rows are never in a link) -> notices.
    acceptState(st) {
      const d = st.dataset || {};
      const changes = [];
      const cls = (name, what) => {
        if (name === undefined) return -1;
        const i = app.labels.indexOf(name);
        if (i < 0) changes.push(`Data set: the link's ${what} \u201c${name}\u201d is not a class of this model: any.`);
        return i;
      };
      filter.label = cls(d.label, 'label');
      filter.predicted = cls(d.pred, 'prediction');
      filter.word = d.word ?? '';
      filter.wrong = d.wrong === '1';
      filter.disagree = d.disagree === '1';
      const conf = Number(d.conf);
      filter.minConfidence = d.conf !== undefined && Number.isFinite(conf) ? conf : undefined;
      const [sort, dir] = String(d.sort ?? 'index:asc').split(':');
      filter.sort = ['index', 'confidence', 'length'].includes(sort) ? sort : 'index';
      filter.desc = dir === 'desc';
      wordIn.value = filter.word;
      wrongBox.checked = filter.wrong;
      disagreeBox.checked = filter.disagree;
      confIn.value = filter.minConfidence === undefined ? '' : String(filter.minConfidence);
      sortSel.value = `${filter.sort}:${filter.desc ? 'desc' : 'asc'}`;
      if (!data && d.file) {
        linkFile = d.file;
        replace(info, `The link was made with the file \u201c${d.file}\u201d: pick it again (a link never holds the data).`);
      }
      if (d.model2 && d.model2 !== second?.name) {
        const ok = (app.manifest?.models ?? []).some((m) => m.kind === 'classifier' && m.name === d.model2 && m.name !== app.modelName);
        if (ok) pickSecond(d.model2);
        else changes.push(`Data set: \u201c${d.model2}\u201d is not another shipped classifier: no second model.`);
      }
      app.state.dataset = d;
      sync();
      return changes;
    },
    invalidate(what) {
      if (what === 'model') { explainedWith = ''; clear(topOut); clear(pcaOut); pca = null; }
    },
    refresh() {
      sync();
    },
  };
}
