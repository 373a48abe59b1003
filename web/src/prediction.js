// The prediction under the text (the top classes with their
// probabilities, and the share of the text the model did not read), redrawn
// as the text changes. Sets app.predictNow (app.js); returns predictSoon.
import { h, replace, debounce } from './dom.js';
import { unreadFromTokens, unreadSentence } from './unread.js';

export function installPrediction(app, el) {
  let predictSeq = 0;
  const percent = (v) => (v > 0 && v < 0.001 ? '<0.1%' : `${(100 * v).toFixed(1)}%`);

  function renderPrediction(p, unread) {
    const probs = p.probabilities.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
    const shown = probs.slice(0, 5);
    replace(
      el.prediction,
      h('div', { class: 'pred-label' }, 'Predicted: ', h('strong', { text: p.label_name }), ` (${(100 * p.probabilities[p.label]).toFixed(1)}%)`),
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
    if (auto) auto.textContent = `the predicted class (${p.label_name})`;
  }

  app.predictNow = predictNow;
  return { predictSoon };
}
