// Words: the explanation of the method picked on the left as a heatmap over
// the text (the page's first view), with its legend, facts and checks,
// "How this works", the scores as a table, and the Words export. Its
// elements are in index.html (#view-explain). Sets app.explainNow and
// app.wordsExport (app.js).
import { h, replace, clear } from '../dom.js';
import { formatScore } from '../colour.js';
import { renderHeatmap, renderLegend, hideTooltip } from '../heatmap.js';
import { fileStem, toHtml, toJson, toSvg, EXPORT_FONT } from '../export.js';
import { checkName, checkVerdict, explainedPhrase, methodName, resultScores, resultTitle } from '../names.js';
import { unreadInfo, unreadSentence, wordUnknown } from '../unread.js';
import { showTeach } from '../teach/index.js';

// What an explanation was computed for (the Words view's result is current
// when app.resultKey equals it).
export function explainKey(app) {
  return JSON.stringify([app.modelName, app.state.method, app.state.options, app.state.target, app.text()]);
}

export function createWordsView(app, panel) {
  const q = (sel) => panel.querySelector(sel);
  const el = {
    resultTitle: q('#result-title'),
    heatmap: q('#heatmap'),
    legend: q('#legend'),
    facts: q('#facts'),
    summary: q('#summary'),
    teach: q('#teach'),
    scoreTable: q('#score-table'),
    showTokens: q('#show-tokens'),
    showNumbers: q('#show-numbers'),
  };
  const explainKey_ = () => explainKey(app);
  // A second model's explanation under the first (set by the Data set view: app.secondExplanation).
  const secondBox = h('div', { class: 'second-explanation', id: 'second-explanation', hidden: true });
  el.legend.after(secondBox);

  app.explainNow = async () => {
    if (!app.model) return;
    const text = app.text();
    if (!text.trim()) {
      app.result = null;
      app.resultKey = '';
      el.heatmap.removeAttribute('role');
      replace(el.heatmap, h('p', { class: 'placeholder', text: 'Type a text to see which words matter.' }));
      clear(el.legend);
      clear(el.facts);
      return;
    }
    app.clearError();
    app.setStale('');
    const key = explainKey_();
    const method = app.state.method;
    const started = performance.now();
    try {
      const r = await app.explainJob(method, { text });
      if (!r) return;
      app.lastSeconds = (performance.now() - started) / 1000;
      app.result = r;
      app.resultKey = key;
      renderExplanation();
      secondBox.hidden = true;
      app.secondExplanation?.(secondBox, r).catch((e) => app.showError(e.message));
      if (!document.documentElement.dataset.firstHeatmapMs) {
        const ms = performance.now(); // from the navigation's start
        document.documentElement.dataset.firstHeatmapMs = ms.toFixed(0);
        if (!('heatmap' in app.timings)) app.timings.heatmap = Math.round(ms);
        performance.mark('wordlight-first-heatmap');
      }
    } catch (e) {
      app.showError(e.message);
    }
  };


  function renderExplanation() {
    const r = app.result;
    if (!r) return;
    hideTooltip();
    el.heatmap.classList.remove('stale');
    const p = r.prediction;
    const auto = app.state.target === '';
    const scores = resultScores(r);
    el.resultTitle.textContent = resultTitle(r, { auto });
    const hm = renderHeatmap(el.heatmap, r, { tokens: app.state.tokens, numbers: el.showNumbers.checked });
    renderLegend(el.legend, hm.scale, p.target_name, { scores, unread: hm.unread });
    el.heatmap.dataset.scores = scores;

    // For screen readers: the strongest words, as a sentence (unread words left out).
    const info = unreadInfo(r);
    const unknownSet = new Set(info.unknown);
    const ranked = r.words.map((w) => [w.score, r.text.slice(w.begin, w.end)]).filter(([, t]) => !unknownSet.has(t)).sort((a, b) => b[0] - a[0]);
    const strongest = (list) => list.slice(0, 3).map(([v, t]) => `${t} (${formatScore(v, 2)})`).join(', ');
    el.summary.textContent =
      scores === 'unsigned'
        ? `${methodName(r.method)}: importance for \u201c${p.target_name}\u201d (a magnitude, not a direction). Most important: ${strongest(ranked) || 'none'}.`
        : `${methodName(r.method)} explained ${explainedPhrase(r)}. Most for it: ${strongest(ranked.filter(([v]) => v > 0)) || 'none'}. ` +
          `Most against it: ${strongest(ranked.filter(([v]) => v < 0).reverse()) || 'none'}.`;

    const sum = r.words.reduce((s, w) => s + w.score, 0);
    const facts = [
      h('span', {}, h('b', { text: methodName(r.method) })),
      h('span', {}, `explains ${explainedPhrase(r)} = `, h('b', { text: p.explained_value.toFixed(3) })),
      h('span', {}, scores === 'unsigned' ? 'importance (unsigned) in all ' : 'sum of word scores ', h('b', { text: formatScore(sum, 4) })),
    ];
    if (r.convergence) {
      const c = r.convergence;
      facts.push(h('span', { title: `completeness gap ${(100 * c.gap).toPrecision(2)}%, change of the scores from ${c.steps / 2} to ${c.steps} steps ${(100 * c.change).toPrecision(2)}%, tolerance ${(100 * c.tolerance).toPrecision(2)}%` },
        `${c.adaptive ? 'adaptive: ' : ''}${c.steps} steps, `, h('b', { class: c.converged ? 'ok' : 'warn', text: c.converged ? 'converged' : 'not converged' })));
    }
    for (const c of r.checks || []) {
      const good = checkVerdict(c);
      facts.push(
        h('span', { title: c.description }, `${checkName(c.name)}: `, h('b', { class: good === true ? 'ok' : good === false ? 'warn' : '', text: formatScore(c.value, 2) }), ` (${(100 * Math.abs(c.relative)).toPrecision(2)}% of ${formatScore(c.reference, 3)})`),
      );
    }
    facts.push(h('span', { text: `${r.model_evaluations} model evaluation${r.model_evaluations === 1 ? '' : 's'} in ${(1000 * r.seconds).toFixed(0)} ms` }));
    replace(el.facts, facts);
    const unreadLine = unreadSentence(info);
    if (unreadLine || r.notice)
      el.facts.append(
        h('p', { class: 'notice', id: 'unread-notice' },
          unreadLine
            ? `${unreadLine} ${
                info.unknown_words && info.truncated_words
                  ? 'Words in grey, dashed boxes and the struck-through tail are not coloured: the model did not read them, so they are not evidence.'
                  : info.unknown_words
                    ? 'Words in grey, dashed boxes are not coloured: the model did not read them, so they are not evidence.'
                    : 'The struck-through tail is not coloured: the model did not read it.'
              }`
            : '',
          r.notice && !unreadLine ? r.notice : ''),
      );

    // Scores as text.
    const rows = r.words
      .map((w, i) => ({ w, i }))
      .sort((a, b) => b.w.score - a.w.score)
      .map(({ w, i }, rank) =>
        h(
          'tr',
          {},
          h('td', { class: 'num', text: String(rank + 1) }),
          h('td', { text: r.text.slice(w.begin, w.end) }),
          h('td', { class: 'num', text: wordUnknown(r, w) ? 'not read by this model' : w.score.toPrecision(6) }),
          h('td', { text: w.tokens.map((t) => r.tokens[t].token).join(' ') }),
          h('td', { class: 'num', text: String(i + 1) }),
        ),
      );
    replace(
      el.scoreTable,
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'data' },
          h('caption', { class: 'visually-hidden', text: 'Word scores, most positive first' }),
          h('thead', {}, h('tr', {}, ['rank', 'word', 'score', 'tokens', 'position'].map((t) => h('th', { scope: 'col', text: t, class: ['rank', 'score', 'position'].includes(t) ? 'num' : '' })))),
          h('tbody', {}, rows),
        ),
      ),
    );
    showTeach(app, el.teach, r);
    document.body.dataset.explained = String(Date.now());
  }

  el.showTokens.addEventListener('change', () => {
    app.state.tokens = el.showTokens.checked;
    app.saveStateSoon();
    renderExplanation();
  });
  el.showNumbers.addEventListener('change', () => {
    app.state.numbers = el.showNumbers.checked;
    app.saveStateSoon();
    renderExplanation();
  });

  function wordsExport(r = app.result) {
    if (!r) return null;
    const opts = { modelName: app.modelName, methodLabel: methodName(r.method), labels: app.labels };
    return {
      stem: fileStem(r, app.modelName),
      svg: () => toSvg(r, { ...opts, measure: app.measure(18, EXPORT_FONT), font: EXPORT_FONT }),
      html: () => toHtml(r, opts),
      json: () => toJson(r, opts),
    };
  }
  app.wordsExport = wordsExport;
  for (const f of ['png', 'svg', 'html', 'json']) q(`#export-${f}`).addEventListener('click', () => app.doExport(() => wordsExport(), f));
  q('#copy-link').addEventListener('click', async (ev) => {
    app.saveState();
    try {
      await navigator.clipboard.writeText(location.href);
      ev.target.textContent = 'Link copied';
    } catch {
      ev.target.textContent = 'Copy the address bar';
    }
    setTimeout(() => (ev.target.textContent = 'Copy link'), 2000);
  });

  return {
    panel,
    // A changed text greys the heatmap until it is explained again.
    invalidate(what) {
      if (what === 'text' && app.resultKey && app.resultKey !== explainKey_()) el.heatmap.classList.add('stale');
    },
    refresh(force) {
      if (force || app.resultKey !== explainKey_()) return app.explainNow();
    },
    // Redraws the last result (the numbers setting of a link).
    render: renderExplanation,
  };
}
