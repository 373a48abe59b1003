// Interactions (Integrated Hessians): the words x words interaction matrix
// as a heatmap, arcs between the most strongly interacting pairs over the
// text, and for a clicked word how every other word changes its importance.
import { h, s, replace, clear } from '../dom.js';
import { formatScore, scoreColours } from '../colour.js';
import { NOT_READ, renderHeatmap, renderLegend } from '../heatmap.js';
import { methodName } from '../names.js';
import { checkInteger } from '../state.js';
import { matrixExport } from '../export.js';
import { wordUnknown } from '../unread.js';
import { keyedRun } from './keyed.js';

// The steps option of integrated-hessians as the registry resolves it for
// the loaded model (range and default). Before the registry is read (or
// in a module without the method) the box takes no value: min > max.
function stepsSpec(app) {
  const o = app.method('integrated-hessians')?.options?.find((x) => x.name === 'steps');
  return o ? { min: o.min, max: o.max, default: o.default } : { min: 1, max: 0, default: '' };
}

const MAX_WORDS = 60;
const ARCS = 6;

export function createInteractionsView(app, panel) {
  let result = null;
  let selected = -1;
  // The same options as the method list sends for Integrated Hessians (its
  // per-model defaults, and yours when it is the method on the left); the
  // steps box overrides the steps only when you change it.
  const steps = h('input', { type: 'number', id: 'ih-steps', step: 1, style: { width: '5em' } });
  const stepsErr = h('span', { class: 'opt-err', id: 'ih-steps-err', hidden: true });
  function syncSteps() {
    const sp = stepsSpec(app);
    // Adaptive (the registry's default): the steps to start from; they double until converged.
    const adaptive = app.method('integrated-hessians')?.options?.some((o) => o.name === 'adaptive');
    const lab = panel.querySelector('#ih-steps-label');
    if (lab) lab.textContent = adaptive ? 'steps to start from' : 'path steps';
    steps.min = String(sp.min);
    steps.max = String(sp.max);
    const own = app.state.method === 'integrated-hessians' ? app.state.options.steps : undefined;
    steps.value = String(app.state.ihSteps !== '' && app.state.ihSteps !== undefined ? app.state.ihSteps : own ?? sp.default);
  }
  steps.addEventListener('change', () => {
    const sp = stepsSpec(app);
    const r = checkInteger(steps.value, sp.min, sp.max);
    if (r.error) {
      stepsErr.textContent = `path steps: ${sp.min} to ${sp.max}`;
      stepsErr.hidden = false;
      return;
    }
    stepsErr.hidden = true;
    app.state.ihSteps = r.value === sp.default && app.state.method !== 'integrated-hessians' ? '' : String(r.value);
    app.saveState();
  });
  const out = h('div', { class: 'ih-out' });
  const detail = h('div', { class: 'sub', hidden: true, 'aria-live': 'polite' });
  const legend = h('div', { class: 'legend' });
  const exportRow = app.exportRow('interactions', () => (result ? ihExport() : null));

  panel.append(
    h(
      'div',
      { class: 'view-head' },
      h('h2', { text: 'How words work together' }),
      h('div', { class: 'toolbar' }, h('label', { for: 'ih-steps', class: 'toggle', id: 'ih-steps-label', text: 'path steps' }), steps, stepsErr, h('button', { type: 'button', class: 'primary small', text: 'Compute', onclick: () => refresh(true) })),
    ),
    h('p', { class: 'hint', text: 'Integrated Hessians (Janizek et al. 2021): entry (i, j) is how much word j changes the importance of word i; each row sums to word i\u2019s Integrated Gradients score, and the diagonal holds each word\u2019s own effect. Click a word to see its partners.' }),
    out,
    legend,
    exportRow,
    detail,
  );
  syncSteps();

  // The steps box's value when it overrides the method's steps.
  const stepsOverride = () => (app.state.ihSteps !== '' && app.state.ihSteps !== undefined ? { steps: Number(app.state.ihSteps) } : {});
  const requestOpts = () => app.explainOptions('integrated-hessians', stepsOverride());
  const currentKey = () => JSON.stringify([app.modelName, app.text(), app.state.target, requestOpts()]);
  const ih = keyedRun(
    app,
    currentKey,
    (text) => app.explainJob('integrated-hessians', { text, extra: stepsOverride() }),
    (r) => {
      result = r;
      selected = -1;
      detail.hidden = true;
      render();
    },
  );

  async function refresh(force) {
    if (!app.applicable('integrated-hessians')) {
      replace(out, h('p', { class: 'placeholder', text: app.method('integrated-hessians')?.why || 'Integrated Hessians does not apply to this model, or this build of the module has no integrated-hessians method.' }));
      return;
    }
    syncSteps();
    return ih.refresh(force);
  }

  const wordText = (i) => result.text.slice(result.words[i].begin, result.words[i].end);
  const unreadWord = (i) => wordUnknown(result, result.words[i]);

  // Off-diagonal scale: the diagonal (main effects) is usually much larger.
  function offScale(M, unread = new Set()) {
    let m = 0;
    for (let i = 0; i < M.length; ++i) for (let j = 0; j < M.length; ++j) if (i !== j && !unread.has(i) && !unread.has(j)) m = Math.max(m, Math.abs(M[i][j]));
    return m || 1;
  }
  let lastScale = 1;

  function render() {
    const r = result;
    const M = r.interactions.words;
    const n = M.length;
    const shown = Math.min(n, MAX_WORDS);
    const scale = offScale(M, new Set(result.words.map((_, i) => i).filter(unreadWord)));
    lastScale = scale;
    const table = h(
      'table',
      { class: 'matrix', id: 'ih-matrix' },
      h('caption', { class: 'visually-hidden', text: 'Interaction of each pair of words: row word i, column word j' }),
      h('thead', {}, h('tr', {}, h('th', {}), Array.from({ length: shown }, (_, j) => h('th', { scope: 'col', class: [j === selected ? 'selcol' : '', unreadWord(j) ? 'unread' : ''], title: unreadWord(j) ? NOT_READ : undefined }, h('span', { text: wordText(j) }))))),
      h(
        'tbody',
        {},
        Array.from({ length: shown }, (_, i) =>
          h(
            'tr',
            { class: i === selected ? 'sel' : '' },
            h('th', { scope: 'row', class: 'rowh' }, h('button', { type: 'button', class: 'rowbtn', text: wordText(i), onclick: () => pick(i) })),
            Array.from({ length: shown }, (_, j) => {
              const v = M[i][j];
              if (unreadWord(i) || unreadWord(j))
                return h('td', { class: 'unread', title: `${wordText(i)} \u00d7 ${wordText(j)}: ${NOT_READ}`, 'aria-label': `${wordText(i)} with ${wordText(j)}: ${NOT_READ}`, onclick: () => pick(i) });
              const c = scoreColours(v, scale);
              return h('td', {
                class: i === j ? 'diag' : '',
                style: { background: c.bg, color: c.fg },
                title: `${wordText(i)} \u00d7 ${wordText(j)}: ${formatScore(v, 4)}${i === j ? ' (own effect; off the colour scale)' : ''}`,
                'aria-label': `${wordText(i)} with ${wordText(j)}: ${formatScore(v, 3)}`,
                onclick: () => pick(i),
              });
            }),
          ),
        ),
      ),
    );
    const checks = (r.checks || []).map((c) => `${c.name.replace(/-/g, ' ')} ${formatScore(c.value, 2)}`).join(' \u00b7 ');
    renderLegend(legend, scale, r.prediction.target_name, { unread: result.words.some((_, i) => unreadWord(i)) });
    const conv = r.convergence;
    replace(
      out,
      h('h3', { id: 'ih-title', text: r.explains?.title || `Interactions for \u201c${r.prediction.target_name}\u201d` }),
      conv ? h('p', { class: 'hint', text: `${conv.adaptive ? 'adaptive: ' : ''}${conv.steps} steps \u00b7 completeness gap ${(100 * conv.gap).toPrecision(2)}% \u00b7 change from ${conv.steps / 2} steps ${(100 * conv.change).toPrecision(2)}% \u00b7 ${conv.converged ? 'converged' : 'not converged'}` }) : null,
      arcs(M),
      h('div', { class: 'scroll' }, table),
      n > shown ? h('p', { class: 'notice', text: `The matrix shows the first ${shown} of ${n} words.` }) : null,
      h('p', { class: 'hint', text: `Colours: off-diagonal interactions, scale \u00b1${formatScore(scale, 3).slice(1)} (the outlined diagonal is off the scale) \u00b7 ${checks} \u00b7 ${r.model_evaluations} evaluations in ${(1000 * r.seconds).toFixed(0)} ms` }),
    );
  }

  // An arc diagram over the words: the strongest symmetric pairs.
  function arcs(M) {
    const n = M.length;
    const pairs = [];
    for (let i = 0; i < n; ++i) for (let j = i + 1; j < n; ++j) if (!unreadWord(i) && !unreadWord(j)) pairs.push({ i, j, v: M[i][j] + M[j][i] });
    pairs.sort((a, b) => Math.abs(b.v) - Math.abs(a.v));
    const top = pairs.slice(0, ARCS).filter((p) => p.v !== 0);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = '13px system-ui, sans-serif';
    const widths = result.words.map((_, i) => ctx.measureText(wordText(i)).width + 10);
    const xs = [];
    let x = 8;
    for (const w of widths) {
      xs.push(x + w / 2);
      x += w + 4;
    }
    const W = Math.max(x + 8, 200);
    const maxSpan = Math.max(1, ...top.map((p) => xs[p.j] - xs[p.i]));
    const arcH = Math.min(90, maxSpan / 2 + 10);
    const base = arcH + 12;
    const H = base + 24;
    const maxV = Math.max(...top.map((p) => Math.abs(p.v)), 1e-12);
    const svg = s('svg', { class: 'arcs', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `The ${top.length} most strongly interacting word pairs`, style: { 'max-width': `${W}px` } });
    for (const p of top) {
      const [x1, x2] = [xs[p.i], xs[p.j]];
      const hgt = Math.max(12, ((x2 - x1) / maxSpan) * arcH);
      const c = scoreColours(p.v, maxV);
      svg.append(
        s('path', {
          d: `M ${x1} ${base - 16} C ${x1} ${base - 16 - hgt}, ${x2} ${base - 16 - hgt}, ${x2} ${base - 16}`,
          fill: 'none',
          stroke: c.bg,
          'stroke-width': (1.5 + 4 * (Math.abs(p.v) / maxV)).toFixed(1),
          'stroke-linecap': 'round',
        }, s('title', { text: `${wordText(p.i)} \u2194 ${wordText(p.j)}: ${formatScore(p.v, 4)}` })),
      );
    }
    result.words.forEach((_, i) => {
      svg.append(s('text', { x: xs[i], y: base, 'text-anchor': 'middle', 'font-weight': i === selected ? 700 : 400, text: wordText(i) }));
    });
    const list = h(
      'ul',
      { class: 'visually-hidden' },
      top.map((p) => h('li', { text: `${wordText(p.i)} and ${wordText(p.j)}: ${formatScore(p.v, 3)}` })),
    );
    return h('div', {}, h('h3', { text: `Strongest pairs (orange: together they add evidence for \u201c${result.prediction.target_name}\u201d, purple: against)` }), h('div', { class: 'scroll' }, svg), list);
  }

  function pick(i) {
    selected = i;
    render();
    const M = result.interactions.words;
    const row = M[i].map((v, j) => (j === i ? 0 : v));
    const hm = h('div', { class: 'heatmap small clickable', id: 'ih-heatmap' });
    const { scale, unread } = renderHeatmap(hm, result, {
      scores: row,
      selected: i,
      target: wordText(i),
      onWord: (j) => pick(j),
    });
    const rowLegend = h('div', { class: 'legend' });
    renderLegend(rowLegend, scale, wordText(i), { unread });
    const partners = row.map((v, j) => [v, j]).filter(([, j]) => j !== i).sort((a, b) => Math.abs(b[0]) - Math.abs(a[0])).slice(0, 3);
    replace(
      detail,
      h('h3', { text: `How the other words change the importance of \u201c${wordText(i)}\u201d` }),
      h('p', { class: 'hint', text: `Own effect ${formatScore(M[i][i], 3)}, with all interactions ${formatScore(M[i].reduce((a, b) => a + b, 0), 3)} (its Integrated Gradients score). Strongest partners: ${partners.map(([v, j]) => `${wordText(j)} ${formatScore(v, 2)}`).join(', ')}.` }),
      hm,
      rowLegend,
    );
    detail.hidden = false;
  }

  function ihExport() {
    const r = result;
    const M = r.interactions.words;
    const n = Math.min(M.length, MAX_WORDS);
    const labels = Array.from({ length: n }, (_, i) => wordText(i));
    const unreadCols = new Set(labels.map((_, i) => i).filter(unreadWord));
    return {
      stem: `wordlight_${app.modelName}_interactions`.replace(/[^A-Za-z0-9_.-]/g, '-'),
      ...matrixExport(
        {
          head: `${app.modelName} \u00b7 ${methodName('integrated-hessians')} \u00b7 interactions for "${r.prediction.target_name}"${M.length > n ? ` (first ${n} of ${M.length} words)` : ''}`,
          rowLabels: labels,
          colLabels: labels,
          values: M.slice(0, n).map((row) => row.slice(0, n)),
          scale: lastScale,
          diagonalOff: true,
          target: r.prediction.target_name,
          note: 'off-diagonal interactions; the outlined diagonal (own effects) is off the scale',
          unreadCols,
          unreadRows: unreadCols,
        },
        { modelName: app.modelName, json: { view: 'interactions', text: r.text, options: r.options, checks: r.checks, convergence: r.convergence, interactions: r.interactions }, measure: app.measure(12, app.exportFont), font: app.exportFont },
      ),
    };
  }

  return {
    panel,
    // A link's steps, checked against the method's range -> notices.
    acceptState(st) {
      const changes = [];
      if (st.ihSteps !== undefined && st.ihSteps !== '') {
        const sp = stepsSpec(app);
        const r = checkInteger(st.ihSteps, sp.min, sp.max);
        if (r.error) {
          changes.push(`Interactions: path steps \u201c${st.ihSteps}\u201d is not possible (${r.error}; ${sp.min} to ${sp.max}): using ${sp.default}.`);
          app.state.ihSteps = '';
        } else app.state.ihSteps = String(r.value);
      } else app.state.ihSteps = '';
      syncSteps();
      return changes;
    },
    invalidate() {
      if (result && ih.stale()) out.classList.add('stale');
    },
    refresh(force) {
      out.classList.remove('stale');
      return refresh(force);
    },
  };
}
