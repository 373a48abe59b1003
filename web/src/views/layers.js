// Layers: the relevance of each word at every layer (layer-relevance, a
// layers x words matrix), each layer's most relevant neurons, and for a
// picked neuron the words that drive it (neuron-relevance). Where the model
// carries DiffMask's probes, the mode picker also offers their gates: the
// diffmask method's per-layer keep probabilities (where the decision forms).
import { h, replace, clear } from '../dom.js';
import { formatScore, maxAbs, scoreColours } from '../colour.js';
import { NOT_READ, renderHeatmap, renderLegend } from '../heatmap.js';
import { wordScoresFromTokens } from '../stats.js';
import { methodName, resultScores, resultTitle } from '../names.js';
import { matrixExport } from '../export.js';
import { wordUnknown } from '../unread.js';
import { keyedRun } from './keyed.js';

// The mode option of layer-relevance as the registry resolves it for the
// loaded model (its choices are shown as the registry spells them, as in
// the options form); none when the module has no such option.
function modeSpec(app) {
  const o = app.method('layer-relevance')?.options?.find((x) => x.name === 'mode');
  const spec = o?.choices?.length ? o : { name: 'mode', choices: [], default: '' };
  return app.applicable('diffmask') ? { ...spec, choices: [...spec.choices, DIFFMASK] } : spec;
}
// The mode that shows DiffMask's gates instead of relevance.
const DIFFMASK = 'diffmask gates';

// A cell's number in a few characters: .31, −.072, 1.5, 2e−3.
function compact(v) {
  const a = Math.abs(v);
  const sign = v < 0 ? '\u2212' : '';
  if (a >= 0.01 && a < 10) return sign + a.toPrecision(2).replace(/^0\./, '.');
  return sign + a.toExponential(0).replace('e-', 'e\u2212').replace('e+', 'e');
}

export function createLayersView(app, panel) {
  let result = null;
  let selected = -1;
  let cols = [];
  let rows = [];
  const mode = h('select', { id: 'layers-mode', 'aria-label': 'relevance mode' });
  function fillModes() {
    const spec = modeSpec(app);
    const want = app.state.layersMode && spec.choices.includes(app.state.layersMode) ? app.state.layersMode : spec.default;
    replace(mode, spec.choices.map((c) => h('option', { value: c, text: c, selected: c === want })));
    mode.value = want;
  }
  mode.addEventListener('change', () => {
    app.state.layersMode = mode.value === modeSpec(app).default ? '' : mode.value;
    app.saveState();
    refresh(true);
  });
  const out = h('div', { class: 'layers-out' });
  const neuronBox = h('div', { class: 'sub', hidden: true, 'aria-live': 'polite' });
  const exportRow = app.exportRow('layers', () => (result ? layersExport() : null));

  panel.append(
    h(
      'div',
      { class: 'view-head' },
      h('h2', { text: 'Relevance through the layers' }),
      h('div', { class: 'toolbar' }, h('label', { class: 'toggle', for: 'layers-mode', text: 'mode' }), mode, h('button', { type: 'button', class: 'primary small', text: 'Compute', onclick: () => refresh(true) })),
    ),
    h('p', { class: 'hint', text: 'Each row is a layer, each column a word: how much of the explained output passes through that word at that layer (rows normalised, each on its own colour scale). Pick a layer to see its most relevant neurons, and a neuron to see which words drive it.' }),
    out,
    exportRow,
    neuronBox,
  );
  fillModes();

  const currentKey = () => JSON.stringify([app.modelName, app.text(), app.state.target, mode.value]);
  const lr = keyedRun(
    app,
    currentKey,
    (text) => (mode.value === DIFFMASK ? app.explainJob('diffmask', { text }) : app.explainJob('layer-relevance', { text, extra: { mode: mode.value, topK: 8 } })),
    (r) => {
      result = r;
      selected = -1;
      neuronBox.hidden = true;
      render();
    },
  );
  const available = () => app.applicable('layer-relevance') && app.applicable('neuron-relevance');

  async function refresh(force) {
    if (!available()) {
      replace(out, h('p', { class: 'placeholder', text: app.method('layer-relevance')?.why || 'Layer relevance does not apply to this model, or this build of the module has no layer-relevance method.' }));
      return;
    }
    return lr.refresh(force);
  }

  function render() {
    const r = result;
    // DiffMask's rows are probabilities: one scale (0..1) for every row, no neurons.
    const gates = r.method === 'diffmask';
    // Columns: the words, and special tokens ([CLS], <s>, ...) where they
    // are, since a transformer's last layers carry the relevance there.
    cols = [];
    const seen = new Set();
    r.tokens.forEach((t, i) => {
      if (t.special || t.word < 0) cols.push({ label: t.token, tokens: [i], special: true });
      else if (!seen.has(t.word)) {
        seen.add(t.word);
        const w = r.words[t.word];
        cols.push({ label: r.text.slice(w.begin, w.end), tokens: w.tokens, unread: wordUnknown(r, w) });
      }
    });
    // A word's keep probability is its tokens' mean (as the method merges them); relevance sums.
    rows = r.layers.map((L) => wordScoresFromTokens(L.token_scores, cols).map((v, i) => (gates ? v / cols[i].tokens.length : v)));
    const absorbed = r.layers.some((L) => Number.isFinite(L.absorbed));
    const scores = resultScores(r);
    const table = h(
      'table',
      { class: 'matrix', id: 'layers-matrix' },
      h('caption', { class: 'visually-hidden', text: 'Relevance of each word (columns) at each layer (rows)' }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'layer' }), cols.map((c) => h('th', { scope: 'col', class: [c.special ? 'special' : '', c.unread ? 'unread' : ''], title: c.unread ? NOT_READ : undefined }, h('span', { text: c.label }))), absorbed ? h('th', { scope: 'col', class: 'num absorbed-h', title: 'relevance absorbed at this layer (biases, LayerNorm shift, epsilon...)' }, 'absorbed', h('br'), 'here') : null)),
      h(
        'tbody',
        {},
        r.layers.map((L, li) => {
          const scale = gates ? 1 : maxAbs(rows[li]);
          return h(
            'tr',
            { class: li === selected ? 'sel' : '' },
            h('th', { scope: 'row', class: 'rowh' }, gates ? h('span', { text: L.layer }) : h('button', { type: 'button', class: 'rowbtn', text: L.layer, 'aria-label': `layer ${L.layer}: show its neurons`, onclick: () => pick(li) })),
            rows[li].map((v, wi) => {
              const word = cols[wi].label;
              if (cols[wi].unread)
                return h('td', { class: 'unread', title: `${L.layer} \u00b7 ${word}: ${NOT_READ} (unknown to its vocabulary)`, 'aria-label': `${L.layer}, ${word}: ${NOT_READ}`, tabindex: -1, text: '' });
              const c = scoreColours(v, scale, scores);
              return h('td', {
                style: { background: c.bg, color: c.fg },
                title: `${L.layer} \u00b7 ${word}: ${formatScore(v, 4)}`,
                'aria-label': `${L.layer}, ${word}: ${formatScore(v, 3)}`,
                tabindex: -1,
                onclick: gates ? undefined : () => pick(li),
                text: Math.abs(v) >= 0.25 * scale && scale > 0 ? compact(v) : '',
              });
            }),
            absorbed ? h('td', { class: 'num absorbed', title: 'relevance absorbed at this layer (biases, LayerNorm shift, epsilon...)', text: Number.isFinite(L.absorbed) ? formatScore(L.absorbed, 2) : '' }) : null,
          );
        }),
      ),
    );
    const check = r.checks?.[0];
    // Each row has its own scale: the bar reads in fractions of the row's largest |value|.
    const legend = h('div', { class: 'legend small' });
    renderLegend(legend, 1, r.prediction.target_name, { scores, unread: cols.some((c) => c.unread) });
    replace(
      out,
      h('h3', { id: 'layers-title', text: resultTitle(r) }),
      h('div', { class: 'scroll' }, table),
      legend,
      h(
        'p',
        { class: 'hint' },
        gates
          ? `${r.layers.length} rows \u00b7 row i: the probability that the word is kept by the gates of probes 0..i (DiffMask); where a row drops, that layer no longer needs the word`
          : `${r.layers.length} layers \u00b7 each row on its own scale: \u00b11 on the bar is that row\u2019s largest |value|`,
        check ? ` \u00b7 ${check.name.replace(/-/g, ' ')} ${formatScore(check.value, 2)} (${(100 * Math.abs(check.relative)).toPrecision(2)}%)` : '',
        ` \u00b7 ${(1000 * r.seconds).toFixed(0)} ms`,
      ),
    );
  }

  function pick(li) {
    selected = li;
    render();
    const L = result.layers[li];
    const num = h('input', { type: 'number', min: 0, max: L.neurons - 1, step: 1, value: String(L.top_neurons[0]?.neuron ?? 0), id: 'neuron-number', style: { width: '7em' } });
    replace(
      neuronBox,
      h('h3', { text: `Layer ${L.layer}: ${L.neurons} neurons, relevance ${formatScore(L.total, 3)} in all` }),
      h('p', { class: 'hint', text: 'Its most relevant neurons for this text (click one to see the words that drive it):' }),
      h(
        'div',
        { class: 'neurons' },
        L.top_neurons.map((n) =>
          h('button', { type: 'button', class: 'secondary small', text: `#${n.neuron} ${formatScore(n.score, 3)}`, 'aria-label': `neuron ${n.neuron}, relevance ${formatScore(n.score, 3)}`, onclick: () => showNeuron(li, n.neuron) }),
        ),
      ),
      h('div', { class: 'row' }, h('label', { for: 'neuron-number', class: 'hint', text: 'or any neuron:' }), num, h('button', { type: 'button', class: 'secondary small', text: 'Show', onclick: () => showNeuron(li, Number(num.value)) })),
      h('div', { class: 'neuron-out' }),
    );
    neuronBox.hidden = false;
  }

  async function showNeuron(li, neuron) {
    const text = result.text;
    const target = neuronBox.querySelector('.neuron-out');
    try {
      const r = await app.explainJob('neuron-relevance', { text, extra: { mode: mode.value, layer: li, neuron }, label: `Neuron ${neuron}` });
      if (!r) return;
      neuronResult = r;
      // A neuron's explanation is about the neuron, not the class.
      const unit = r.explains?.unit || r.unit || `neuron ${neuron} of ${result.layers[li].layer}`;
      if (!r.unit) r.unit = unit;
      const hm = h('div', { class: 'heatmap small', id: 'neuron-heatmap' });
      const { scale, unread } = renderHeatmap(hm, r, { target: unit });
      const legend = h('div', { class: 'legend' });
      renderLegend(legend, scale, unit, { scores: resultScores(r), unread });
      const check = r.checks?.[0];
      replace(
        target,
        h('h3', { id: 'neuron-title', text: resultTitle(r) }),
        hm,
        legend,
        check ? h('p', { class: 'hint', text: check.description + `: ${formatScore(check.value, 3)} of ${formatScore(check.reference, 3)}` }) : null,
        app.exportRow('neuron', () => neuronExport()),
      );
    } catch (e) {
      replace(target, h('p', { class: 'error', text: e.message }));
    }
  }

  let neuronResult = null;
  function layersExport() {
    const r = result;
    const unreadCols = new Set(cols.map((c, i) => (c.unread ? i : -1)).filter((i) => i >= 0));
    const absorbed = r.layers.some((L) => Number.isFinite(L.absorbed));
    return {
      stem: `wordlight_${app.modelName}_layers`.replace(/[^A-Za-z0-9_.-]/g, '-'),
      ...matrixExport(
        {
          head: `${app.modelName} \u00b7 ${r.method === 'diffmask' ? methodName('diffmask') : `${methodName('layer-relevance')} (${mode.value})`} \u00b7 ${resultTitle(r)}`,
          rowLabels: r.layers.map((L) => L.layer),
          colLabels: cols.map((c) => c.label),
          values: rows,
          rowScale: (i) => (r.method === 'diffmask' ? 1 : Math.max(...rows[i].filter((_, j) => !unreadCols.has(j)).map(Math.abs), 0) || 1),
          scores: resultScores(r),
          target: r.prediction.target_name,
          note: r.method === 'diffmask' ? 'keep probabilities, one scale 0..1' : 'each row on its own scale: \u00b11 = that row\u2019s largest |value|',
          unreadCols,
          extraCol: absorbed ? { label: 'absorbed here', key: 'absorbed', values: r.layers.map((L) => L.absorbed) } : null,
        },
        { modelName: app.modelName, json: { view: 'layers', text: r.text, mode: mode.value, title: resultTitle(r), checks: r.checks, result: r }, measure: app.measure(12, app.exportFont), font: app.exportFont },
      ),
    };
  }
  function neuronExport() {
    const r = neuronResult;
    if (!r) return null;
    return { ...app.wordsExport(r), stem: `wordlight_${app.modelName}_neuron`.replace(/[^A-Za-z0-9_.-]/g, '-') };
  }

  return {
    panel,
    get result() {
      return result;
    },
    // A link's Layers mode, checked against the modes offered -> notices.
    acceptState(st) {
      const spec = modeSpec(app);
      const changes = [];
      if (st.layersMode && !spec.choices.includes(st.layersMode)) {
        changes.push(`Layers: mode \u201c${st.layersMode}\u201d is not offered for this model: using ${spec.default}.`);
        app.state.layersMode = '';
      } else app.state.layersMode = st.layersMode && st.layersMode !== spec.default ? st.layersMode : '';
      fillModes();
      return changes;
    },
    invalidate() {
      fillModes();
      if (result && lr.stale()) out.classList.add('stale');
    },
    refresh(force) {
      out.classList.remove('stale');
      return refresh(force);
    },
  };
}
