// The prediction under the text (the top classes with their
// probabilities, and the share of the text the model did not read), redrawn
// as the text changes. Sets app.predictNow (app.js); returns predictSoon.
import { h, replace, debounce } from './dom.js';
import { unreadFromTokens, unreadSentence } from './unread.js';

const pct1 = (v) => `${(100 * v).toFixed(1)}%`;

// The line above the bars. A multi-label model (config problem_type
// multi_label_classification; the core marks its predictions multi_label)
// gives each label its own probability: several can hold at once and they
// need not add up to 100%, so "Predicted: X" would hide the others.
export function predictionHeadline(p, labels = []) {
  const name = (i) => labels[i] ?? (i === p.label ? p.label_name : String(i));
  if (!p.multi_label) return { lead: 'Predicted: ', strong: p.label_name, tail: ` (${pct1(p.probabilities[p.label])})`, note: '' };
  const above = p.probabilities.map((v, i) => [v, i]).filter(([v]) => v > 0.5).sort((a, b) => b[0] - a[0]);
  const note = 'Multi-label model: each label has its own probability; several can hold, and they need not add up to 100%.';
  if (!above.length) return { lead: 'No label above 50%', strong: '', tail: ` (the most probable: ${name(p.label)}, ${pct1(p.probabilities[p.label])})`, note };
  return {
    lead: above.length === 1 ? 'Label above 50%: ' : `${above.length} labels above 50%: `,
    strong: above.map(([, i]) => name(i)).join(', '),
    tail: '',
    note,
  };
}

export function installPrediction(app, el) {
  let predictSeq = 0;
  const percent = (v) => (v > 0 && v < 0.001 ? '<0.1%' : `${(100 * v).toFixed(1)}%`);

  function renderPrediction(p, unread) {
    const probs = p.probabilities.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
    const shown = probs.slice(0, 5);
    replace(
      el.prediction,
      ((hd) => [
        h('div', { class: 'pred-label' }, hd.lead, hd.strong ? h('strong', { text: hd.strong }) : null, hd.tail),
        hd.note ? h('div', { class: 'pred-more', text: hd.note }) : null,
      ])(predictionHeadline(p, app.labels)),
      shown.map(([v, i]) =>
        h(
          'div',
          { class: ['prob', i === p.label ? 'top' : ''], role: 'img', 'aria-label': `${app.labels[i] ?? i}: ${percent(v)}` },
          h('span', { class: 'name', text: app.labels[i] ?? String(i), title: app.labels[i] ?? String(i) }),
          h('span', { class: 'track' }, h('span', { class: 'fill', style: { width: `${(100 * v).toFixed(1)}%`, display: 'block' } })),
          h('span', { class: 'pct', text: percent(v) }),
        ),
      ),
      probs.length > shown.length ? h('div', { class: 'pred-more', text: `${probs.length - shown.length} more classes, each at most ${percent(probs[shown.length][0])}` }) : null,
      unread && unreadSentence(unread)
        ? h('div', { class: 'pred-unread', id: 'pred-unread', dataset: { share: String(unread.share) } },
            h('span', { class: 'swatch unread', 'aria-hidden': 'true' }), ' ', unreadSentence(unread),
            unread.unknown.length ? ` Unknown: ${unread.unknown.slice(0, 6).join(', ')}${unread.unknown.length > 6 ? ', \u2026' : ''}.` : '')
        : p.truncated ? h('div', { class: 'pred-more', text: `The text was cut to ${p.num_tokens} tokens.` }) : null,
    );
    updateTargetLabel(p);
  }

  async function predictNow() {
    if (!app.model) return;
    const seq = ++predictSeq;
    if (app.model.info.head === 'causal-lm') {
      replace(el.prediction, h('span', { class: 'hint', text: `${app.modelName} is a language model: it continues the text (the Generate tab); it has no classes to predict.` }));
      return;
    }
    const text = app.text();
    if (!text.trim()) {
      replace(el.prediction, h('span', { class: 'hint', text: 'Type a text to see the prediction.' }));
      return;
    }
    try {
      const [p, tok] = await Promise.all([app.model.predict(text), app.model.tokenize(text).catch(() => null)]);
      if (seq === predictSeq) renderPrediction(p, p.unread ? { ...p.unread, unknown: tok ? unreadFromTokens(text, tok).unknown : [] } : tok ? unreadFromTokens(text, tok) : null);
    } catch (e) {
      if (seq === predictSeq) replace(el.prediction, h('span', { class: 'error', text: e.message }));
    }
  }
  const predictSoon = debounce(predictNow, 120);

  function updateTargetLabel(p) {
    const auto = el.target.querySelector('option[value=""]');
    if (auto) auto.textContent = p.multi_label ? `the most probable label (${p.label_name})` : `the predicted class (${p.label_name})`;
  }

  app.predictNow = predictNow;
  return { predictSoon };
}
