// Layers: the relevance of each word at every layer (layer-relevance, a
// layers x words matrix), each layer's most relevant neurons, and for a
// picked neuron the words that drive it (neuron-relevance).
import { h, replace, clear } from '../dom.js';
import { formatScore, maxAbs, scoreColours } from '../colour.js';
import { renderHeatmap, renderLegend } from '../heatmap.js';
import { wordScoresFromTokens } from '../stats.js';

// A cell's number in a few characters: .31, −.072, 1.5, 2e−3.
function compact(v) {
  const a = Math.abs(v);
  const sign = v < 0 ? '\u2212' : '';
  if (a >= 0.01 && a < 10) return sign + a.toPrecision(2).replace(/^0\./, '.');
  return sign + a.toExponential(0).replace('e-', 'e\u2212').replace('e+', 'e');
}

export function createLayersView(app, panel) {
  let key = '';
  let result = null;
  let selected = -1;
  const mode = h('select', { id: 'layers-mode', 'aria-label': 'relevance mode' }, h('option', { value: 'lrp', text: 'LRP' }), h('option', { value: 'gradient-x-activation', text: 'gradient \u00d7 activation' }));
  mode.addEventListener('change', () => refresh(true));
  const out = h('div', { class: 'layers-out' });
  const neuronBox = h('div', { class: 'sub', hidden: true, 'aria-live': 'polite' });

  panel.append(
    h(
      'div',
      { class: 'view-head' },
      h('h2', { text: 'Relevance through the layers' }),
      h('div', { class: 'toolbar' }, h('label', { class: 'toggle', for: 'layers-mode', text: 'mode' }), mode, h('button', { type: 'button', class: 'primary small', text: 'Compute', onclick: () => refresh(true) })),
    ),
    h('p', { class: 'hint', text: 'Each row is a layer, each column a word: how much of the explained output passes through that word at that layer (rows normalised, each on its own colour scale). Pick a layer to see its most relevant neurons, and a neuron to see which words drive it.' }),
    out,
    neuronBox,
  );

  const currentKey = () => JSON.stringify([app.modelName, app.text(), app.state.target, mode.value]);
  const available = () => app.method('layer-relevance') && app.method('neuron-relevance');

  async function refresh(force) {
    if (!available()) {
      replace(out, h('p', { class: 'placeholder', text: 'This build of the module has no layer-relevance method.' }));
      return;
    }
    if (!force && key === currentKey()) return;
    const text = app.text();
    if (!text.trim()) return;
    const k = currentKey();
    app.clearError();
    try {
      const r = await app.runJob('Layer relevance…', (signal) =>
        app.model.explain(text, { method: 'layer-relevance', mode: mode.value, target: app.targetArg(), topK: 8, signal }),
      );
      if (!r) return;
      result = r;
      key = k;
      selected = -1;
      neuronBox.hidden = true;
      render();
    } catch (e) {
      app.showError(e.message);
    }
  }

  function render() {
    const r = result;
    // Columns: the words, and special tokens ([CLS], <s>, ...) where they
    // are, since a transformer's last layers carry the relevance there.
    const cols = [];
    const seen = new Set();
    r.tokens.forEach((t, i) => {
      if (t.special || t.word < 0) cols.push({ label: t.token, tokens: [i], special: true });
      else if (!seen.has(t.word)) {
        seen.add(t.word);
        const w = r.words[t.word];
        cols.push({ label: r.text.slice(w.begin, w.end), tokens: w.tokens });
      }
    });
    const rows = r.layers.map((L) => wordScoresFromTokens(L.token_scores, cols));
    const table = h(
      'table',
      { class: 'matrix', id: 'layers-matrix' },
      h('caption', { class: 'visually-hidden', text: 'Relevance of each word (columns) at each layer (rows)' }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'layer' }), cols.map((c) => h('th', { scope: 'col', class: c.special ? 'special' : '' }, h('span', { text: c.label }))))),
      h(
        'tbody',
        {},
        r.layers.map((L, li) => {
          const scale = maxAbs(rows[li]);
          return h(
            'tr',
            { class: li === selected ? 'sel' : '' },
            h('th', { scope: 'row', class: 'rowh' }, h('button', { type: 'button', class: 'rowbtn', text: L.layer, 'aria-label': `layer ${L.layer}: show its neurons`, onclick: () => pick(li) })),
            rows[li].map((v, wi) => {
              const c = scoreColours(v, scale);
              const word = cols[wi].label;
              return h('td', {
                style: { background: c.bg, color: c.fg },
                title: `${L.layer} \u00b7 ${word}: ${formatScore(v, 4)}`,
                'aria-label': `${L.layer}, ${word}: ${formatScore(v, 3)}`,
                tabindex: -1,
                onclick: () => pick(li),
                text: Math.abs(v) >= 0.25 * scale && scale > 0 ? compact(v) : '',
              });
            }),
          );
        }),
      ),
    );
    const check = r.checks?.[0];
    replace(
      out,
      h('div', { class: 'scroll' }, table),
      h(
        'p',
        { class: 'hint' },
        `${r.layers.length} layers, explaining \u201c${r.prediction.target_name}\u201d`,
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
      const r = await app.runJob(`Neuron ${neuron}…`, (signal) =>
        app.model.explain(text, { method: 'neuron-relevance', mode: mode.value, layer: li, neuron, target: app.targetArg(), signal }),
      );
      if (!r) return;
      const hm = h('div', { class: 'heatmap small', id: 'neuron-heatmap' });
      const { scale } = renderHeatmap(hm, r, { target: r.unit || `neuron ${neuron}` });
      const legend = h('div', { class: 'legend' });
      renderLegend(legend, scale, r.unit || `neuron ${neuron}`);
      const check = r.checks?.[0];
      replace(
        target,
        h('h3', { text: `Words that drive ${r.unit || `neuron ${neuron}`}` }),
        hm,
        legend,
        check ? h('p', { class: 'hint', text: check.description + `: ${formatScore(check.value, 3)} of ${formatScore(check.reference, 3)}` }) : null,
      );
    } catch (e) {
      replace(target, h('p', { class: 'error', text: e.message }));
    }
  }

  return {
    panel,
    invalidate() {
      if (result && key !== currentKey()) out.classList.add('stale');
    },
    refresh(force) {
      out.classList.remove('stale');
      return refresh(force);
    },
  };
}
