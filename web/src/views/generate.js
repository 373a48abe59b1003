// Generate: a causal language model (GPT2LMHeadModel, e.g. gpt2-small)
// continues the page's text. Tokens appear as they are generated (the JS
// API's progress carries each one), then each generated token is explained
// over every earlier token, prompt and generated prefix, by the method
// picked on the left (inseq's target_attributions: a targets x sources
// matrix, lower-triangular). Click a generated token for the heatmap of
// what drove it; its step scores (probability, entropy) and the first
// token's share of its attribution are shown as numbers (AttnLRP and other
// methods pile relevance on the first token, an attention sink: LXT's
// README warns of it), the full matrix is a view of its own, and the whole
// generation exports as JSON, CSV or the matrix as a picture.
import { h, replace, clear } from '../dom.js';
import { formatScore, maxAbs, scoreColours } from '../colour.js';
import { renderLegend } from '../heatmap.js';
import { checkName, checkVerdict, explainsOutput, methodName } from '../names.js';
import { NEEDS_MASKED_LM } from '../maskedlm.js';
import { csvField } from '../dataset.js';
import { matrixExport } from '../export.js';

export const FALLBACK_METHOD = 'integrated-gradients';
const MAX_NEW = 100;

// Whether the loaded model generates (a causal LM) rather than classifies.
export const isCausalLm = (app) => app.model?.info?.head === 'causal-lm';

// A token's text as shown: visible spaces at the edges would vanish, so a
// leading space stays (pre-wrap) and a newline is drawn as ↵.
export const shownToken = (t) => String(t).replace(/\r?\n/g, '\u21b5');

// The method that explains each generated token: the one picked on the
// left when it explains an output and needs no second model, else
// FALLBACK_METHOD -> { method, note }.
export function generationMethod(app) {
  const m = app.state.method;
  const info = app.method(m);
  if (info && app.applicable(m) && explainsOutput(info) && !NEEDS_MASKED_LM.has(m)) return { method: m, note: '' };
  return { method: FALLBACK_METHOD, note: `${methodName(m)} does not explain generated tokens here; ${methodName(FALLBACK_METHOD)} does.` };
}

// CSV of a generation: one line per (generated token, source token) pair of
// the explanation, with the step scores; every field quoted as needed.
export function generationCsv(g) {
  const e = g.explanation;
  const head = ['target', 'target_token', 'probability', 'entropy', 'first_token_share', 'source', 'source_token', 'attribution'];
  const lines = [head.join(',')];
  if (!e) {
    g.tokens.forEach((t, i) => lines.push([i, csvField(t.text), t.probability, t.entropy, '', '', '', ''].join(',')));
    return lines.join('\n') + '\n';
  }
  e.targets.forEach((ti, r) => {
    const t = g.tokens[ti];
    const pos = e.prompt_length + ti;
    for (let c = 0; c < pos; ++c)
      lines.push([ti, csvField(t.text), t.probability, t.entropy, e.first_token_share[r] ?? '', c, csvField(e.sources[c]), e.matrix[r][c] ?? ''].join(','));
  });
  return lines.join('\n') + '\n';
}

export function createGenerateView(app, panel) {
  let gen = null; // the last generation (with its explanation), or a partial one while streaming
  let streaming = null; // { prompt, tokens } while tokens arrive
  let key = '';
  let selected = -1; // the explained row shown
  let showMatrix = false;
  let busy = false; // a run is going
  let tried = false; // ran by itself once for this model
  const currentKey = () => JSON.stringify([app.modelName, app.text(), settings(), generationMethod(app).method, app.state.options]);

  const maxNew = h('input', { type: 'number', id: 'gen-max', min: 1, max: MAX_NEW, value: 20, class: 'small-num' });
  const temperature = h('input', { type: 'number', id: 'gen-temperature', min: 0, max: 5, step: 0.1, value: 0, class: 'small-num' });
  const seed = h('input', { type: 'number', id: 'gen-seed', min: 0, value: 1, class: 'small-num' });
  const explainBox = h('input', { type: 'checkbox', id: 'gen-explain', checked: true });
  const runBtn = h('button', { type: 'button', class: 'primary small', id: 'gen-run', text: 'Generate', onclick: () => refresh(true) });
  const methodLine = h('p', { class: 'hint', id: 'gen-method' });
  const note = h('p', { class: 'hint', id: 'gen-note', 'aria-live': 'polite' });
  const tokensBox = h('div', { class: 'gen-tokens', id: 'gen-tokens', 'aria-label': 'The prompt and the generated tokens' });
  const detail = h('div', { class: 'gen-detail', id: 'gen-detail', 'aria-live': 'polite' });
  const steps = h('div', { class: 'gen-steps', id: 'gen-steps' });
  const matrixBtn = h('button', { type: 'button', class: 'secondary small', id: 'gen-matrix-toggle', 'aria-expanded': 'false', text: 'Show the full matrix', onclick: () => toggleMatrix() });
  const matrixBox = h('div', { class: 'gen-matrix scroll', id: 'gen-matrix', hidden: true });
  const csvBtn = h('button', { type: 'button', class: 'secondary small', id: 'export-generate-csv', text: 'CSV', 'aria-label': 'Export this view as CSV', onclick: () => exportCsv() });
  const exportRow = app.exportRow('generate', () => matrixExportOf());
  exportRow.append(csvBtn);
  const body = h('div', { class: 'gen-body' });

  panel.append(
    h('div', { class: 'view-head' }, h('h2', { text: 'Generate' }), runBtn),
    h(
      'p',
      { class: 'hint', text: 'A language model continues the text on the left, token by token. Click a generated token to see which earlier tokens (prompt and generated prefix) drove it.' },
    ),
    body,
  );
  const controls = h(
    'div',
    { class: 'gen-controls' },
    h('label', { for: 'gen-max' }, 'New tokens ', maxNew),
    h('label', { for: 'gen-temperature', title: '0: greedy (the most probable token each time)' }, 'Temperature ', temperature),
    h('label', { for: 'gen-seed' }, 'Seed ', seed),
    h('label', { class: 'toggle' }, explainBox, ' explain each token'),
  );
  for (const i of [maxNew, temperature, seed, explainBox]) i.addEventListener('change', () => app.requestExplain('options'));

  function settings() {
    const n = Math.max(1, Math.min(MAX_NEW, Math.round(Number(maxNew.value) || 20)));
    const t = Number(temperature.value);
    const s = { maxNewTokens: n, explain: explainBox.checked };
    if (Number.isFinite(t) && t > 0) Object.assign(s, { temperature: t, seed: Math.max(0, Math.round(Number(seed.value) || 0)) });
    return s;
  }

  function placeholder() {
    const lm = app.manifest.models.find((m) => m.kind === 'causal-lm');
    replace(
      body,
      h(
        'p',
        { class: 'placeholder', id: 'gen-placeholder' },
        `${app.modelName || 'This model'} is a classifier; Generate needs a language model (GPT2LMHeadModel).`,
        lm ? ' ' : '',
        lm
          ? h('button', {
              type: 'button',
              class: 'link',
              id: 'gen-load-lm',
              text: `Load ${lm.name}`,
              onclick: async () => {
                if (await app.loadModel(lm, lm)) {
                  app.saveStateSoon();
                  app.predictNow();
                  app.afterChange();
                }
              },
            })
          : null,
      ),
    );
  }

  function layout() {
    replace(body, controls, methodLine, note, tokensBox, detail, steps, h('div', { class: 'toolbar' }, matrixBtn), matrixBox, exportRow);
  }

  // ------------------------------------------------------------ tokens
  // The prompt's tokens (the BOS token marked), then the generated ones as
  // buttons; with an explanation, the selected row colours the sources.
  function drawTokens() {
    const g = gen || streaming;
    clear(tokensBox);
    if (!g) return;
    const e = gen?.explanation;
    const row = e && selected >= 0 ? e.matrix[selected] : null;
    const scores = e?.signed === false ? 'unsigned' : 'signed';
    const rowMax = row ? maxAbs(row.slice(0, e.prompt_length + e.targets[selected])) : 0;
    const target = row ? e.prompt_length + e.targets[selected] : -1;
    const colour = (s, pos) => {
      if (!row || pos >= target) return null;
      const c = scoreColours(row[pos] ?? 0, rowMax, scores);
      s.style.background = c.bg;
      s.style.color = c.fg;
      s.dataset.score = String(row[pos] ?? 0);
      return c;
    };
    const prompt = g.prompt_tokens || [];
    prompt.forEach((t, i) => {
      const bos = g.bos && i === 0;
      const text = bos ? t.token : sourceText(g, i);
      const s = h('span', { class: ['gen-src', bos ? 'bos' : ''], text: shownToken(text), title: bos ? 'the BOS token (<|endoftext|>), put before the prompt as in training' : undefined, dataset: { pos: String(i) } });
      colour(s, i);
      tokensBox.append(s);
    });
    (g.tokens || []).forEach((t, i) => {
      const pos = prompt.length + i;
      const r = e ? e.targets.indexOf(i) : -1;
      const b = h('button', {
        type: 'button',
        class: ['gen-tok', r >= 0 && r === selected ? 'sel' : ''],
        text: shownToken(t.text),
        'aria-pressed': String(r >= 0 && r === selected),
        'aria-label': `Generated token ${i + 1}: ${t.text} (probability ${(100 * t.probability).toFixed(1)}%)`,
        title: `p = ${(100 * t.probability).toFixed(1)}%, entropy ${t.entropy.toFixed(2)} nats`,
        dataset: { index: String(i), pos: String(pos) },
        disabled: r < 0,
        onclick: () => select(r),
      });
      colour(b, pos);
      tokensBox.append(b);
    });
  }

  // A prompt token's text: the explanation's source text, else its span of
  // the prompt (UTF-8 byte offsets), else the vocabulary string.
  function sourceText(g, i) {
    if (g.explanation) return g.explanation.sources[i];
    const t = g.prompt_tokens[i];
    return t.span ? utf8Slice(g.prompt, t.span) : t.text ?? t.token;
  }

  function select(r) {
    selected = r;
    drawTokens();
    drawDetail();
    drawMatrix();
    const b = tokensBox.querySelector('.gen-tok.sel');
    if (b && document.activeElement?.classList?.contains('gen-tok')) b.focus();
  }

  // ------------------------------------------------------------ detail
  function drawDetail() {
    clear(detail);
    const e = gen?.explanation;
    if (!e || selected < 0) return;
    const ti = e.targets[selected];
    const t = gen.tokens[ti];
    const pct = (v) => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(1)}%`);
    const row = e.matrix[selected];
    const pos = e.prompt_length + ti;
    const scores = e.signed === false ? 'unsigned' : 'signed';
    const top = row
      .slice(0, pos)
      .map((v, c) => [v ?? 0, c])
      .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
      .slice(0, 3);
    const check = e.check[selected];
    const verdict = check ? checkVerdict({ name: check, relative: e.check_relative[selected] }) : null;
    replace(
      detail,
      h('h3', {}, 'Why \u201c', h('span', { class: 'gen-tokname', text: shownToken(t.text) }), `\u201d (token ${ti + 1})?`),
      h(
        'dl',
        { class: 'gen-facts' },
        h('dt', { text: 'Probability' }),
        h('dd', { id: 'gen-prob', text: pct(t.probability) }),
        h('dt', { text: 'Entropy of the next-token distribution' }),
        h('dd', { id: 'gen-entropy', text: `${t.entropy.toFixed(3)} nats` }),
        h('dt', { text: `Explained (${e.score})` }),
        h('dd', { text: formatScore(e.explained[selected] ?? NaN, 4) }),
        h('dt', { text: `Share of the first token (${gen.bos ? 'BOS' : 'the prompt\u2019s first'}) in |attribution|` }),
        h('dd', { id: 'gen-first-share', dataset: { share: String(e.first_token_share[selected] ?? '') }, text: pct(e.first_token_share[selected]) }),
        check
          ? [
              h('dt', { text: checkName(check) }),
              h('dd', { class: verdict === false ? 'bad' : '', text: e.check_relative[selected] === null ? 'n/a' : `${(100 * e.check_relative[selected]).toFixed(2)}% of the explained value` }),
            ]
          : null,
        h('dt', { text: 'Strongest earlier tokens' }),
        h('dd', { id: 'gen-top' }, top.map(([v, c], k) => [k ? ', ' : '', h('q', { text: shownToken(e.sources[c]) }), ` ${formatScore(v)}`])),
      ),
      h('div', { class: 'legend', id: 'gen-legend' }),
    );
    renderLegend(detail.querySelector('#gen-legend'), maxAbs(row.slice(0, pos)), t.text, { scores });
  }

  // The step scores of every generated token (and its first-token share).
  function drawSteps() {
    const g = gen;
    clear(steps);
    if (!g?.tokens.length) return;
    const e = g.explanation;
    const rowOf = (i) => (e ? e.targets.indexOf(i) : -1);
    steps.append(
      h(
        'details',
        { class: 'score-table-box', open: false },
        h('summary', { text: 'Step scores' }),
        h(
          'table',
          { class: 'scores', id: 'gen-steps-table' },
          h('thead', {}, h('tr', {}, ['#', 'token', 'probability', 'entropy (nats)', e ? 'first-token share' : null, e ? checkName(e.check.find(Boolean) || 'check') : null].filter(Boolean).map((x) => h('th', { scope: 'col', text: x })))),
          h(
            'tbody',
            {},
            g.tokens.map((t, i) => {
              const r = rowOf(i);
              return h(
                'tr',
                {},
                h('td', { text: String(i + 1) }),
                h('td', { class: 'mono', text: shownToken(t.text) }),
                h('td', { text: `${(100 * t.probability).toFixed(2)}%` }),
                h('td', { text: t.entropy.toFixed(3) }),
                e ? h('td', { text: r >= 0 && e.first_token_share[r] !== null ? `${(100 * e.first_token_share[r]).toFixed(1)}%` : '' }) : null,
                e ? h('td', { text: r >= 0 && e.check_relative[r] !== null ? `${(100 * e.check_relative[r]).toFixed(2)}%` : '' }) : null,
              );
            }),
          ),
        ),
      ),
    );
  }

  // ------------------------------------------------------------ matrix
  function toggleMatrix() {
    showMatrix = !showMatrix;
    matrixBtn.setAttribute('aria-expanded', String(showMatrix));
    matrixBtn.textContent = showMatrix ? 'Hide the full matrix' : 'Show the full matrix';
    drawMatrix();
  }

  function drawMatrix() {
    const e = gen?.explanation;
    matrixBox.hidden = !showMatrix || !e;
    if (matrixBox.hidden) return;
    const scores = e.signed === false ? 'unsigned' : 'signed';
    const S = e.sources.length;
    const table = h(
      'table',
      { class: 'matrix', id: 'gen-matrix-table', 'aria-label': 'Attribution of each generated token (rows) to every earlier token (columns); each row on its own scale' },
      h('thead', {}, h('tr', {}, h('th', {}), e.sources.map((s, c) => h('th', { scope: 'col', class: gen.bos && c === 0 ? 'special' : '' }, h('span', { text: shownToken(gen.bos && c === 0 ? e.source_tokens[0] : s) }))))),
      h(
        'tbody',
        {},
        e.targets.map((ti, r) => {
          const pos = e.prompt_length + ti;
          const row = e.matrix[r];
          const scale = maxAbs(row.slice(0, pos));
          return h(
            'tr',
            { class: r === selected ? 'sel' : '' },
            h('th', { scope: 'row', class: 'rowh' }, h('button', { type: 'button', class: 'rowbtn', text: shownToken(gen.tokens[ti].text), onclick: () => select(r) })),
            Array.from({ length: S }, (_, c) => {
              if (c >= pos) return h('td', { class: 'gen-future', 'aria-label': 'not an earlier token' });
              const v = row[c] ?? 0;
              const col = scoreColours(v, scale, scores);
              return h('td', { style: { background: col.bg, color: col.fg }, title: `${e.sources[c]} \u2192 ${gen.tokens[ti].text}: ${formatScore(v, 4)}`, text: formatScore(v, 2), dataset: { score: String(v) } });
            }),
          );
        }),
      ),
    );
    replace(matrixBox, table);
  }

  // --------------------------------------------------------------- export
  const stem = () => `wordlight_${app.modelName}_generate`.replace(/[^A-Za-z0-9_.-]/g, '-');
  function matrixExportOf() {
    if (!gen) return null;
    const e = gen.explanation;
    const json = { generation: gen, model: app.modelName };
    if (!e) return { stem: stem(), svg: () => '', html: () => '', json: () => JSON.stringify(json, null, 2) + '\n' };
    const values = e.targets.map((ti, r) => e.matrix[r].map((v, c) => (c < e.prompt_length + ti ? v ?? 0 : 0)));
    const x = matrixExport(
      {
        head: `${methodName(e.method)} on ${app.modelName}: each generated token (row) over the earlier tokens (${e.score})`,
        rowLabels: e.targets.map((ti) => gen.tokens[ti].text),
        colLabels: e.sources.map((s, c) => (gen.bos && c === 0 ? e.source_tokens[0] : s)),
        values,
        rowScale: (i) => maxAbs(values[i]),
        scores: e.signed === false ? 'unsigned' : 'signed',
        note: 'each row on its own scale; cells at or after the row\u2019s own position are 0',
        extraCol: { label: 'first-token share', key: 'first_token_share', values: e.first_token_share.map((v) => v ?? NaN) },
      },
      { modelName: app.modelName, measure: app.measure(12, app.exportFont), font: app.exportFont },
    );
    return { stem: stem(), svg: x.svg, html: x.html, json: () => JSON.stringify(json, null, 2) + '\n' };
  }
  function exportCsv() {
    if (!gen) return app.showError('Nothing to export yet: generate first.');
    const blob = new Blob([generationCsv(gen)], { type: 'text/csv' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: stem() + '.csv', style: { display: 'none' } });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  // -------------------------------------------------------------- compute
  function drawAll() {
    drawTokens();
    drawDetail();
    drawSteps();
    drawMatrix();
  }

  async function refresh(force) {
    if (!app.model) return;
    if (!isCausalLm(app)) return placeholder();
    if (!body.contains(controls)) layout();
    const { method, note: why } = generationMethod(app);
    const s = settings();
    methodLine.textContent = s.explain ? `Each token explained by ${methodName(method)} (the method picked on the left), over every earlier token.` : 'Tokens only (no explanation).';
    // Generating costs seconds: it runs on Generate (or Explain), or by itself
    // only the first time this model is shown.
    if (!force && (busy || tried || key === currentKey())) return;
    tried = true;
    const prompt = app.text();
    if (!prompt.trim()) {
      note.textContent = 'Type a prompt on the left.';
      return;
    }
    const k = currentKey();
    app.clearError();
    const opts = { ...app.explainOptions(method) };
    delete opts.output; // the score (log-probability) is what a generated token explains
    gen = null;
    selected = -1;
    streaming = { prompt, prompt_tokens: [], tokens: [], bos: true };
    note.textContent = why;
    panel.dataset.generated = '';
    drawAll();
    const request = {
      maxNewTokens: s.maxNewTokens,
      ...(s.temperature ? { temperature: s.temperature, seed: s.seed } : {}),
      explain: s.explain ? { method, options: opts } : null,
    };
    busy = true;
    try {
      const r = await app.runJob('Generating\u2026', async (signal, progress) => {
        // The prompt's tokens first, so that the stream shows them.
        const tok = await app.model.tokenize(prompt);
        if (streaming && streaming.prompt === prompt) {
          streaming.prompt_tokens = [{ id: -1, token: '<|endoftext|>' }, ...tok.ids.map((id, i) => ({ id, token: tok.tokens[i], text: prompt.slice(tok.offsets[i][0], tok.offsets[i][1]) }))];
          drawStreamPrompt();
        }
        return app.model.generate(prompt, {
          ...request,
          signal,
          onProgress: ({ done, total, token }) => {
            if (token) {
              streaming?.tokens.push(token);
              appendStreamed(token);
              progress(`Generating: ${done} of ${total} tokens`, done, total);
            } else progress(`Explaining: token ${done} of ${total}`, done, total);
          },
        });
      });
      if (!r) {
        // Cancelled: what came stays, marked as such.
        note.textContent = `Cancelled after ${streaming?.tokens.length ?? 0} tokens; nothing was explained.`;
        return;
      }
      gen = r;
      streaming = null;
      key = k;
      selected = r.explanation && r.explanation.targets.length ? r.explanation.targets.length - 1 : -1;
      const stop = { eos: 'the model ended the text (<|endoftext|>)', max_new_tokens: `${r.tokens.length} new tokens`, max_positions: 'the model\u2019s last position', stop: 'a stop string', stop_id: 'a stop token', cancelled: 'you (Cancel)' }[r.stopped_by] || r.stopped_by;
      const ex = r.explanation;
      note.textContent = [
        why,
        `Stopped by ${stop}; ${(1000 * r.seconds / Math.max(1, r.tokens.length)).toFixed(0)} ms per token.`,
        ex ? `Explained in ${ex.seconds.toFixed(1)} s (${ex.model_evaluations} model evaluations); the first token\u2019s mean share of |attribution|: ${ex.mean_first_token_share === null ? 'n/a' : (100 * ex.mean_first_token_share).toFixed(1) + '%'}.` : '',
      ]
        .filter(Boolean)
        .join(' ');
      panel.dataset.generated = String(r.tokens.length);
      drawAll();
    } catch (e) {
      streaming = null;
      app.showError(e.message);
    } finally {
      busy = false;
    }
  }

  // While streaming: the prompt's tokens as the tokenizer split them, and
  // each new token appended as it comes (no explanation yet).
  function drawStreamPrompt() {
    clear(tokensBox);
    streaming.prompt_tokens.forEach((t, i) =>
      tokensBox.append(h('span', { class: ['gen-src', i === 0 ? 'bos' : ''], text: shownToken(i === 0 ? t.token : t.text), dataset: { pos: String(i) } })),
    );
    for (const t of streaming.tokens) appendStreamed(t, false);
  }
  function appendStreamed(t) {
    tokensBox.append(h('span', { class: 'gen-tok streaming', text: shownToken(t.text), title: `p = ${(100 * t.probability).toFixed(1)}%, entropy ${t.entropy.toFixed(2)} nats` }));
  }

  return {
    panel,
    invalidate(what) {
      if (what === 'model') {
        gen = null;
        tried = false;
        streaming = null;
        key = '';
        clear(tokensBox);
        clear(detail);
        clear(steps);
        clear(matrixBox);
        note.textContent = '';
        return;
      }
      if (gen && key !== currentKey()) tokensBox.classList.add('stale');
    },
    refresh(force) {
      tokensBox.classList.remove('stale');
      return refresh(force);
    },
  };
}

// The UTF-8 bytes [b, e) of a string, as a string.
function utf8Slice(s, [b, e]) {
  return new TextDecoder().decode(new TextEncoder().encode(s).slice(b, e));
}
