// Attention: a transformer's attention weights for the text (model.attention),
// per layer and head or averaged over a layer's heads, FROM one token (picked
// by pressing it) to every token, as arcs and as the row of the layer's
// query x key matrix. Labelled as what it is: weights the model mixes with,
// not an explanation of its prediction (Jain & Wallace 2019; Wiegreffe &
// Pinter 2019); no ranking of words is derived from them.
import { h, s, replace } from '../dom.js';
import { keyedRun } from './keyed.js';

// The (query x key) matrix of one layer: one head's, or the mean of the
// layer's heads (head = 'mean'). Exported for the unit test.
export function attentionMatrix(r, layer, head) {
  const heads = r.attention[layer];
  if (head !== 'mean') return heads[Number(head)];
  const T = heads[0].length;
  const m = Array.from({ length: T }, () => new Array(T).fill(0));
  for (const hm of heads) for (let i = 0; i < T; ++i) for (let j = 0; j < T; ++j) m[i][j] += hm[i][j] / heads.length;
  return m;
}

// What a token is shown as: its text as typed, or the vocabulary string of
// a special token ([CLS], </s>).
export const tokenLabel = (r, i) => r.texts[i] || r.tokens[i];

const pct = (v) => (v * 100).toFixed(v >= 0.1 ? 0 : 1) + '%';

export function createAttentionView(app, panel) {
  let result = null;
  let from = 0;
  const layerSel = h('select', { id: 'attention-layer', 'aria-label': 'layer' });
  const headSel = h('select', { id: 'attention-head', 'aria-label': 'head' });
  const out = h('div', { class: 'attention-out', id: 'attention-out', 'aria-live': 'polite' });
  for (const sel of [layerSel, headSel]) sel.addEventListener('change', () => draw());

  panel.append(
    h(
      'div',
      { class: 'view-head' },
      h('h2', { id: 'attention-title', text: 'Attention weights \u2014 not an explanation of the prediction' }),
      h(
        'div',
        { class: 'toolbar' },
        h('label', { class: 'toggle', for: 'attention-layer', text: 'layer' }),
        layerSel,
        h('label', { class: 'toggle', for: 'attention-head', text: 'head' }),
        headSel,
      ),
    ),
    h('p', {
      class: 'hint',
      text:
        'How much each token attends to every other token: softmax(q\u00b7k/\u221ad) of the layer and head picked, read from the model\u2019s forward pass. ' +
        'These are the weights the model mixes token vectors with, not how much a word matters to the prediction: ' +
        'attention can be high on words whose removal changes nothing. Use the Words tab for explanations. Press a token to see the attention from it.',
    }),
    out,
  );

  function fillPickers(r) {
    const keepL = layerSel.value, keepH = headSel.value;
    replace(layerSel, Array.from({ length: r.layers }, (_, l) => h('option', { value: String(l), text: String(l + 1) })));
    replace(headSel, h('option', { value: 'mean', text: 'all heads (mean)' }), Array.from({ length: r.heads }, (_, k) => h('option', { value: String(k), text: String(k + 1) })));
    layerSel.value = keepL && Number(keepL) < r.layers ? keepL : String(r.layers - 1);
    headSel.value = keepH === 'mean' || (keepH && Number(keepH) < r.heads) ? keepH : 'mean';
  }

  // Arcs from the picked token to every token, their width and opacity by weight.
  function arcs(r, row) {
    const T = r.tokens.length;
    const step = 64, W = Math.max(step * T, 200), base = 150;
    const x = (i) => step / 2 + i * step;
    const svg = s('svg', { id: 'attention-arcs', width: W, height: base + 40, viewBox: `0 0 ${W} ${base + 40}`, role: 'img', 'aria-label': `attention from token ${from + 1}` });
    for (let j = 0; j < T; ++j) {
      const w = row[j];
      if (!(w > 0)) continue;
      const x1 = x(from), x2 = x(j), hgt = Math.min(base - 10, 20 + Math.abs(x2 - x1) / 2);
      const d = j === from ? `M ${x1 - 6} ${base} C ${x1 - 12} ${base - 30}, ${x1 + 12} ${base - 30}, ${x1 + 6} ${base}` : `M ${x1} ${base} C ${x1} ${base - hgt}, ${x2} ${base - hgt}, ${x2} ${base}`;
      svg.append(s('path', { d, fill: 'none', stroke: '#1f6feb', 'stroke-width': 0.5 + 8 * w, 'stroke-opacity': 0.15 + 0.85 * w, 'data-key': j, 'data-weight': w }, s('title', { text: `${tokenLabel(r, from)} \u2192 ${tokenLabel(r, j)}: ${pct(w)}` })));
    }
    for (let j = 0; j < T; ++j)
      svg.append(s('text', { x: x(j), y: base + 18, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': j === from ? 'bold' : 'normal', text: tokenLabel(r, j).slice(0, 10) }));
    return svg;
  }

  function draw() {
    const r = result;
    if (!r) return;
    const layer = Number(layerSel.value), head = headSel.value;
    const m = attentionMatrix(r, layer, head);
    from = Math.min(from, r.tokens.length - 1);
    const tokens = h(
      'div',
      { class: 'attention-tokens', id: 'attention-tokens', role: 'group', 'aria-label': 'attention from' },
      r.tokens.map((_, i) =>
        h('button', {
          type: 'button',
          class: ['att-token', r.special[i] ? 'special' : ''],
          'aria-pressed': i === from ? 'true' : 'false',
          'data-index': i,
          text: tokenLabel(r, i),
          title: r.tokens[i],
          onclick: () => {
            from = i;
            draw();
          },
        }),
      ),
    );
    const headName = head === 'mean' ? `the mean of its ${r.heads} heads` : `head ${Number(head) + 1}`;
    const caption = `Attention from \u201c${tokenLabel(r, from)}\u201d (token ${from + 1}) in layer ${layer + 1}, ${headName}`;
    // The layer's matrix, its row for the picked token marked; cells shaded by
    // weight (at most 70% blue, so the dark text keeps its contrast).
    const table = h(
      'table',
      { class: 'attention-matrix', id: 'attention-matrix' },
      h('caption', { text: 'Rows: the token attending (query); columns: the token attended to (key). Each row sums to 100%.' }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'from \\ to' }), r.tokens.map((_, j) => h('th', { scope: 'col', text: tokenLabel(r, j) })))),
      h(
        'tbody',
        {},
        m.map((row, i) =>
          h(
            'tr',
            { class: i === from ? 'from' : '', 'data-query': i },
            h('th', { scope: 'row', text: tokenLabel(r, i) }),
            row.map((w, j) => h('td', { 'data-weight': w, style: { background: `rgba(31, 111, 235, ${(0.7 * Math.min(1, w)).toFixed(3)})` }, title: pct(w), text: pct(w) })),
          ),
        ),
      ),
    );
    replace(
      out,
      r.truncated && r.notice ? h('p', { class: 'notice', text: r.notice }) : null,
      tokens,
      h('p', { class: 'attention-caption', id: 'attention-caption', text: caption }),
      h('div', { class: 'attention-arcs-box', style: { overflow: 'auto' } }, arcs(r, m[from])),
      h('div', { style: { overflow: 'auto' } }, table),
    );
  }

  const currentKey = () => JSON.stringify([app.modelName, app.text()]);

  // An error (a model without attention) is shown in the tab, for its key.
  const att = keyedRun(
    app,
    currentKey,
    (text) => app.runJob('Attention', () => app.model.attention(text)),
    (r) => {
      result = r;
      fillPickers(r);
      draw();
    },
    (e) => {
      result = null;
      replace(out, h('p', { class: 'placeholder', text: e.message }));
      return true;
    },
  );

  async function refresh(force) {
    if (!app.model) return;
    return att.refresh(force);
  }

  return {
    panel,
    invalidate() {
      if (att.stale()) out.classList.add('stale');
    },
    refresh(force) {
      out.classList.remove('stale');
      return refresh(force);
    },
  };
}
