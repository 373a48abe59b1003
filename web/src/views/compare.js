// Compare: two to four methods on the same text and class, side by side,
// with Spearman's rank correlation between their word scores.
import { h, replace, clear } from '../dom.js';
import { formatScore, scoreColours } from '../colour.js';
import { renderHeatmap, renderLegend } from '../heatmap.js';
import { spearman } from '../stats.js';
import { explainsOutput, methodName, resultScores, shortMethodName } from '../names.js';
import { compareExport } from '../export.js';
import { NEEDS_MASKED_LM } from '../maskedlm.js';

const DEFAULT_PICKS = ['gradient-x-input', 'integrated-gradients', 'lrp', 'occlusion'];

export function createCompareView(app, panel) {
  let picks = [];
  let key = '';
  let results = [];
  const pickBox = h('fieldset', { class: 'method-picks', 'aria-describedby': 'cmp-hint' });
  const out = h('div', { class: 'cmp-out', 'aria-live': 'polite' });
  const runBtn = h('button', { type: 'button', class: 'primary small', text: 'Compare', onclick: () => refresh(true) });
  const hint = h('p', { class: 'hint', id: 'cmp-hint' });
  let rhos = [];
  const exportRow = app.exportRow('compare', () =>
    results.length
      ? {
          stem: `wordlight_${app.modelName}_compare`.replace(/[^A-Za-z0-9_.-]/g, '-'),
          ...compareExport(results, { modelName: app.modelName, names: results.map((r) => methodName(r.method)), rho: rhos, measure: app.measure(16, app.exportFont), font: app.exportFont }),
        }
      : null,
  );

  panel.append(
    h('div', { class: 'view-head' }, h('h2', { text: 'Compare methods' }), runBtn),
    h('p', { class: 'hint', text: 'The same text and class through two to four methods, each with its default options (the method picked on the left keeps yours). Each row has its own colour scale; the table gives Spearman\u2019s rank correlation of their word scores.' }),
    pickBox,
    hint,
    out,
    exportRow,
  );

  function fillPicks() {
    clear(pickBox);
    pickBox.append(h('legend', { class: 'visually-hidden', text: 'Methods to compare' }));
    const available = offered();
    if (!picks.length) picks = DEFAULT_PICKS.filter((n) => available.some((m) => m.name === n));
    for (const m of available) {
      const box = h('input', {
        type: 'checkbox',
        value: m.name,
        checked: picks.includes(m.name),
        onchange: (ev) => {
          if (ev.target.checked) picks.push(m.name);
          else picks = picks.filter((n) => n !== m.name);
          picks = available.map((x) => x.name).filter((n) => picks.includes(n));
          app.state.compare = [...picks];
          // In the address bar at once, not at the next explanation.
          app.saveState();
          sync();
        },
      });
      pickBox.append(h('label', { title: m.description }, box, shortMethodName(m)));
    }
    sync();
  }
  // The methods that can be compared on the loaded model: those that apply
  // to it and explain the class's output.
  function offered() {
    const list = app.modelMethods?.length ? app.modelMethods : app.methods;
    return list.filter((m) => m.applicable !== false && explainsOutput(m));
  }
  function sync() {
    for (const box of pickBox.querySelectorAll('input')) box.disabled = !box.checked && picks.length >= 4;
    runBtn.disabled = picks.length < 2;
    hint.textContent = picks.length < 2 ? 'Pick at least two methods.' : picks.length >= 4 ? 'Four methods at most.' : '';
  }

  const currentKey = () => JSON.stringify([app.modelName, app.text(), app.state.target, picks, app.state.method, app.state.options]);

  async function refresh(force) {
    if (!app.methods.length) return;
    if (!pickBox.querySelector('input')) fillPicks();
    if (picks.length < 2) return;
    if (!force && key === currentKey()) return;
    const text = app.text();
    if (!text.trim()) return;
    const k = currentKey();
    const names = [...picks];
    app.clearError();
    try {
      const got = await app.runJob('Comparing…', async (signal, progress) => {
        const rs = [];
        for (let i = 0; i < names.length; ++i) {
          const label = `Comparing: ${methodName(names[i])} (${i + 1} of ${names.length})`;
          progress(label, i, names.length);
          rs.push(
            await app.model.explain(text, {
              method: names[i],
              target: app.targetArg(),
              ...app.explainOptions(names[i]),
              ...(NEEDS_MASKED_LM.has(names[i]) ? { maskedLm: await app.maskedLm(progress) } : {}),
              signal,
              onProgress: ({ done, total }) => progress(label, i + done / total, names.length),
            }),
          );
        }
        return rs;
      });
      if (!got) return;
      results = got;
      key = k;
      render();
    } catch (e) {
      app.showError(e.message);
    }
  }

  function render() {
    if (!results.length) return;
    const target = results[0].prediction.target_name;
    const rows = results.map((r) => {
      const scores = resultScores(r);
      const hm = h('div', { class: 'heatmap small', 'aria-label': `${methodName(r.method)}: words coloured by ${scores === 'unsigned' ? 'importance' : 'score'}`, dataset: { scores } });
      const { scale, unread } = renderHeatmap(hm, r, { target });
      const legend = h('div', { class: 'legend small' });
      renderLegend(legend, scale, target, { scores, unread });
      const range = scores === 'unsigned' ? `importance 0 to ${formatScore(scale).slice(1)}` : `scale \u00b1${formatScore(scale).slice(1)}`;
      return h(
        'div',
        { class: 'cmp-row', dataset: { method: r.method, scores } },
        h('div', { class: 'cmp-name' }, methodName(r.method), h('span', { text: `${range} \u00b7 ${(1000 * r.seconds).toFixed(0)} ms` })),
        h('div', {}, hm, legend),
      );
    });
    const scores = results.map((r) => r.words.map((w) => w.score));
    rhos = results.map((_, i) => results.map((__, j) => spearman(scores[i], scores[j])));
    const corr = h(
      'table',
      { class: 'data corr' },
      h('caption', { class: 'visually-hidden', text: 'Spearman rank correlation between the methods\u2019 word scores' }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Spearman \u03c1' }), results.map((r) => h('th', { scope: 'col', class: 'num', text: shortMethodName(r.method) })))),
      h(
        'tbody',
        {},
        results.map((a, i) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row', text: shortMethodName(a.method) }),
            results.map((b, j) => {
              const rho = spearman(scores[i], scores[j]);
              const c = scoreColours(Number.isFinite(rho) ? rho : 0, 1.6);
              return h('td', { class: 'num', style: { background: c.bg, color: c.fg }, dataset: { rho: String(rho) }, text: Number.isFinite(rho) ? rho.toFixed(2) : 'n/a' });
            }),
          ),
        ),
      ),
    );
    replace(
      out,
      h('p', { class: 'hint', text: `Explaining \u201c${target}\u201d; signed methods: orange for, purple against; unsigned ones (importance): white to blue-green. Grey, dashed: not read by this model.` }),
      rows,
      h('h3', { text: 'Rank correlation of the word scores' }),
      h('div', { class: 'scroll' }, corr),
      results[0].words.length < 3 ? h('p', { class: 'hint', text: 'With fewer than three words a rank correlation says little.' }) : null,
    );
  }

  return {
    panel,
    // A link's compared methods, checked against those offered -> notices.
    acceptState(st) {
      const list = (st.compare || []).filter((n) => app.applicable(n) && app.method(n) && offered().some((m) => m.name === n));
      const changes = [];
      for (const n of st.compare || []) if (!list.includes(n)) changes.push(`Compare: \u201c${n}\u201d is not a method that can be compared on this model: left out.`);
      app.state.compare = [...new Set(list)].slice(0, 4);
      this.setPicks(app.state.compare);
      return changes;
    },
    setPicks(list) {
      if (list?.length) picks = list.filter((n) => offered().some((m) => m.name === n));
      if (app.methods.length) fillPicks();
    },
    offers(name) {
      return offered().some((m) => m.name === name);
    },
    invalidate(what) {
      if (what === 'model') {
        // The new model may not offer every pick.
        picks = picks.filter((n) => offered().some((m) => m.name === n));
        clear(pickBox);
      }
      if (results.length && key !== currentKey()) out.classList.add('stale');
    },
    refresh(force) {
      out.classList.remove('stale');
      return refresh(force);
    },
  };
}
