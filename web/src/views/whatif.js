// What if: delete or replace a word and see the new prediction and
// explanation; and the word-deletion curve: the explained class's
// probability as the most relevant words (by each chosen method) are removed
// one by one, against removing them in random order.
import { h, s, replace, clear } from '../dom.js';
import { formatScore } from '../colour.js';
import { renderHeatmap, renderLegend } from '../heatmap.js';
import { area, order, removeWords, replaceWord } from '../stats.js';
import { explainsOutput, methodName, resultScores, shortMethodName } from '../names.js';
// Okabe-Ito, distinguishable with the common colour-vision deficiencies.
import { LINE_COLOURS, curveExport } from '../export.js';
import { NEEDS_MASKED_LM } from '../maskedlm.js';
import { createCounterfactualSection } from './counterfactuals.js';
const MAX_POINTS = 40;

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export function createWhatIfView(app, panel) {
  let edited = null; // the edited text, or null = the main text
  let words = []; // [{ begin, end }] of the edited text
  let editing = -1;
  let key = '';
  let curveKey = '';
  let curvePicks = null;

  const chips = h('div', { class: 'whatif-words', role: 'list', 'aria-label': 'Words of the text: pick one to delete or replace it' });
  const editor = h('div', { class: 'editor', hidden: true });
  const delta = h('div', { class: 'delta', 'aria-live': 'polite' });
  const hm = h('div', { class: 'heatmap small', id: 'whatif-heatmap' });
  const legend = h('div', { class: 'legend' });
  const picksBox = h('fieldset', { class: 'method-picks' });
  const curveOut = h('div', { class: 'curve-out' });
  let curveData = null;
  const curveExportRow = app.exportRow('curve', () =>
    curveData ? { stem: `wordlight_${app.modelName}_deletion-curve`.replace(/[^A-Za-z0-9_.-]/g, '-'), ...curveExport(curveData, { modelName: app.modelName, text: curveData.text }) } : null,
  );

  const cf = createCounterfactualSection(app, {
    text: () => text(),
    words: () => words,
    load: (t) => {
      edited = t;
      editing = -1;
      editor.hidden = true;
      refresh(true);
    },
  });

  panel.append(
    h(
      'div',
      { class: 'view-head' },
      h('h2', { text: 'What if a word were different?' }),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', class: 'secondary small', text: 'Reset', onclick: () => { edited = null; editing = -1; refresh(true); } }),
        h('button', { type: 'button', class: 'secondary small', text: 'Use this text', onclick: () => { if (edited !== null) { const t = edited; edited = null; app.setText(t); } } }),
      ),
    ),
    h('p', { class: 'hint', text: 'Pick a word to delete or replace it; the prediction and the explanation (the method on the left) follow.' }),
    chips,
    editor,
    delta,
    hm,
    legend,
    cf.section,
    h('div', { class: 'sub' },
      h('div', { class: 'view-head' }, h('h2', { text: 'Word-deletion curve' }), h('button', { type: 'button', class: 'primary small', text: 'Draw', onclick: () => drawCurve(true) })),
      h('p', { class: 'hint', text: 'Remove the words one by one, the most relevant first by each method: a faithful explanation makes the probability of the explained class fall fast (a small area under the curve). Random order is the reference.' }),
      picksBox,
      curveOut,
      curveExportRow,
    ),
  );

  const text = () => (edited === null ? app.text() : edited);
  const currentKey = () => JSON.stringify([app.modelName, text(), app.state.method, app.state.options, app.state.target]);

  async function refresh(force) {
    if (!app.model) return;
    fillPicks();
    if (!force && key === currentKey()) return;
    const k = currentKey();
    const t = text();
    if (!t.trim()) {
      replace(chips, h('span', { class: 'placeholder', text: 'Type a text first.' }));
      return;
    }
    try {
      const tok = await app.model.tokenize(t);
      words = tok.words.map(([begin, end]) => ({ begin, end }));
      renderChips(t);
      cf.refresh();
      const [p0, p1] = await Promise.all([app.model.predict(app.text()), app.model.predict(t)]);
      renderDelta(p0, p1);
      const r = await app.explainJob(app.state.method, { text: t });
      if (!r) return;
      key = k;
      const { scale, unread } = renderHeatmap(hm, r, {});
      renderLegend(legend, scale, r.prediction.target_name, { scores: resultScores(r), unread });
    } catch (e) {
      app.showError(e.message);
    }
    if (!curveKey) drawCurve(false);
  }

  function renderChips(t) {
    clear(chips);
    const original = app.text();
    words.forEach((w, i) => {
      const word = t.slice(w.begin, w.end);
      chips.append(
        h('button', {
          type: 'button',
          role: 'listitem',
          class: ['chip', edited !== null && !original.includes(word) ? 'changed' : ''],
          text: word,
          'aria-label': `${word}: delete or replace`,
          'aria-expanded': String(editing === i),
          onclick: () => openEditor(i, t),
        }),
      );
    });
  }

  function openEditor(i, t) {
    editing = i;
    const w = words[i];
    const input = h('input', { type: 'text', value: t.slice(w.begin, w.end), 'aria-label': 'replacement word', id: 'whatif-input' });
    const apply = (by) => {
      edited = replaceWord(t, w, by);
      editing = -1;
      editor.hidden = true;
      refresh(true);
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') apply(input.value);
      if (ev.key === 'Escape') close();
    });
    const close = () => {
      editing = -1;
      editor.hidden = true;
      chips.children[i]?.focus();
    };
    replace(
      editor,
      h('label', { for: 'whatif-input', class: 'hint', text: 'Replace with' }),
      input,
      h('button', { type: 'button', class: 'primary small', text: 'Replace', onclick: () => apply(input.value) }),
      h('button', { type: 'button', class: 'secondary small', text: 'Delete the word', onclick: () => apply('') }),
      h('button', { type: 'button', class: 'link', text: 'Cancel', onclick: close }),
    );
    editor.hidden = false;
    input.focus();
    input.select();
  }

  function renderDelta(p0, p1) {
    const ti = app.targetArg() ?? p0.label;
    const name = app.labels[ti] ?? String(ti);
    const a = p0.probabilities[ti], b = p1.probabilities[ti];
    const d = b - a;
    replace(
      delta,
      h('span', {}, `p(\u201c${name}\u201d): ${(100 * a).toFixed(1)}% \u2192 `, h('b', { text: `${(100 * b).toFixed(1)}%` }), ' ', h('span', { class: d > 0.0005 ? 'up' : d < -0.0005 ? 'down' : '', text: `(${d >= 0 ? '+' : '\u2212'}${Math.abs(100 * d).toFixed(1)} points)` })),
      h('span', {}, 'predicted: ', h('b', { text: p1.label_name }), p1.label !== p0.label ? ` (was ${p0.label_name})` : ' (unchanged)'),
      edited === null ? h('span', { class: 'hint', text: 'the text as typed on the left' }) : null,
    );
    delta.dataset.probability = String(b);
  }

  // ------------------------------------------------------- deletion curve
  function fillPicks() {
    const offered = (app.modelMethods?.length ? app.modelMethods : app.methods).filter((m) => m.applicable !== false && explainsOutput(m));
    if (!curvePicks) curvePicks = [...new Set([app.state.method, 'gradient-x-input', 'occlusion'])];
    curvePicks = curvePicks.filter((n) => offered.some((m) => m.name === n));
    clear(picksBox);
    picksBox.append(h('legend', { class: 'visually-hidden', text: 'Methods for the curve' }));
    for (const m of offered) {
      picksBox.append(
        h('label', {}, h('input', { type: 'checkbox', checked: curvePicks.includes(m.name), onchange: (ev) => {
          curvePicks = ev.target.checked ? [...curvePicks, m.name] : curvePicks.filter((n) => n !== m.name);
        } }), shortMethodName(m)),
      );
    }
  }

  async function drawCurve(force) {
    const base = app.text();
    if (!base.trim() || !curvePicks?.length) return;
    const k = JSON.stringify([app.modelName, base, app.state.target, curvePicks, app.state.options]);
    if (!force && curveKey === k) return;
    try {
      const curves = await app.runJob('Deletion curve…', async (signal, progress) => {
        const p0 = await app.model.predict(base);
        const ti = app.targetArg() ?? p0.label;
        const out = [];
        const orders = [];
        let ws = null;
        for (let i = 0; i < curvePicks.length; ++i) {
          const name = curvePicks[i];
          progress(`Deletion curve: explaining with ${methodName(name)}`, i, 2 * curvePicks.length);
          const r = await app.model.explain(base, {
            method: name,
            target: ti,
            ...app.explainOptions(name),
            ...(NEEDS_MASKED_LM.has(name) ? { maskedLm: await app.maskedLm(progress) } : {}),
            signal,
          });
          ws = r.words;
          orders.push({ name, order: order(r.words.map((w) => w.score)) });
        }
        const n = ws.length;
        const random = rng(12345);
        const randomOrders = [0, 1, 2].map(() => {
          const a = [...Array(n).keys()];
          for (let i = n - 1; i > 0; --i) {
            const j = Math.floor(random() * (i + 1));
            [a[i], a[j]] = [a[j], a[i]];
          }
          return a;
        });
        const ks = [...new Set(Array.from({ length: Math.min(n, MAX_POINTS) + 1 }, (_, i) => Math.round((i * n) / Math.min(n, MAX_POINTS))))];
        const steps = (orders.length + randomOrders.length) * ks.length;
        let step = 0;
        const curveFor = async (ord, label) => {
          const pts = [];
          for (const kk of ks) {
            progress(`Deletion curve: ${label}, ${kk} of ${n} words removed`, curvePicks.length + (curvePicks.length * ++step) / steps, 2 * curvePicks.length);
            if (signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
            const t = removeWords(base, ws, new Set(ord.slice(0, kk)));
            const p = t.trim() ? await app.model.predict(t) : null;
            pts.push({ x: kk / n, k: kk, y: p ? p.probabilities[ti] : NaN });
          }
          return pts.filter((p) => Number.isFinite(p.y));
        };
        for (let i = 0; i < orders.length; ++i) out.push({ name: methodName(orders[i].name), points: await curveFor(orders[i].order, shortMethodName(orders[i].name)) });
        const rnd = [];
        for (const o of randomOrders) rnd.push(await curveFor(o, 'random order'));
        out.push({
          name: 'random order (mean of 3)',
          random: true,
          points: rnd[0].map((p, i) => ({ ...p, y: rnd.reduce((s, c) => s + (c[i]?.y ?? p.y), 0) / rnd.length })),
        });
        return { curves: out, n, target: app.labels[ti] ?? String(ti), text: base };
      });
      if (!curves) return;
      curveKey = k;
      renderCurve(curves);
    } catch (e) {
      app.showError(e.message);
    }
  }

  function renderCurve({ curves, n, target, text: curveText }) {
    const W = 640, H = 300, L = 48, R = 16, T = 14, B = 42;
    const x = (v) => L + v * (W - L - R);
    const y = (v) => T + (1 - v) * (H - T - B);
    const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'curve-title', id: 'deletion-chart' });
    svg.append(s('title', { id: 'curve-title', text: `Probability of ${target} as words are removed` }));
    for (let i = 0; i <= 4; ++i) {
      const v = i / 4;
      svg.append(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      svg.append(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: `${(100 * v).toFixed(0)}%` }));
    }
    const xticks = [...new Set([0, 0.25, 0.5, 0.75, 1].map((v) => Math.round(v * n)))];
    for (const k of xticks) svg.append(s('text', { x: x(k / n), y: H - B + 16, 'text-anchor': 'middle', text: String(k) }));
    svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: y(0), y2: y(0) }));
    svg.append(s('line', { class: 'axis', x1: L, x2: L, y1: T, y2: y(0) }));
    svg.append(s('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle', text: `words removed, most relevant first (of ${n})` }));
    svg.append(s('text', { x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${(T + H - B) / 2})`, text: `p(${target})` }));
    curves.forEach((c, i) => {
      const colour = c.random ? '#4a5468' : LINE_COLOURS[i % LINE_COLOURS.length];
      c.colour = colour;
      svg.append(
        s('polyline', {
          points: c.points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' '),
          fill: 'none',
          stroke: colour,
          'stroke-width': c.random ? 1.6 : 2.2,
          'stroke-dasharray': c.random ? '5 4' : null,
        }),
      );
    });
    const table = h(
      'table',
      { class: 'data' },
      h('caption', { class: 'visually-hidden', text: 'Area under each deletion curve' }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'order' }), h('th', { scope: 'col', class: 'num', text: 'area under the curve' }), h('th', { scope: 'col', class: 'num', text: 'after 1 word' }))),
      h(
        'tbody',
        {},
        curves.map((c) =>
          h(
            'tr',
            {},
            h('td', {}, h('span', { class: 'key', style: { background: c.colour, display: 'inline-block', width: '1.4em', height: '0.3em', 'margin-right': '0.4em', 'vertical-align': 'middle' } }), c.name),
            h('td', { class: 'num', text: area(c.points).toFixed(3) }),
            h('td', { class: 'num', text: c.points[1] ? `${(100 * c.points[1].y).toFixed(1)}%` : '' }),
          ),
        ),
      ),
    );
    curveData = { curves: curves.map((c) => ({ name: c.name, random: !!c.random, colour: c.colour, points: c.points })), n, target, text: curveText };
    replace(curveOut, svg, h('div', { class: 'scroll' }, table));
    curveOut.dataset.curves = String(curves.length);
  }

  return {
    panel,
    invalidate(what) {
      if (what === 'text' || what === 'model') {
        edited = null;
        cf.invalidate();
      }
      if (what === 'model') curveKey = '';
      if (key !== currentKey()) hm.classList.add('stale');
    },
    refresh(force) {
      hm.classList.remove('stale');
      return refresh(force);
    },
  };
}
