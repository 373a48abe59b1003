// The heatmap: the user's text with each word (or sub-word token) on the
// diverging scale, a legend with the scale's numbers, and a tooltip that
// gives the exact score and the token pieces on hover and on focus.
// Keyboard: Tab reaches the words (one tab stop), arrows move between them.
import { h, replace, clear } from './dom.js';
import { UNREAD_BG, UNREAD_FG, formatScore, legendGradient, legendTicks, maxAbs, niceScale, scoreColours } from './colour.js';
import { resultScores } from './names.js';
import { tailStart, tokenUnknown, wordUnknown } from './unread.js';

export const NOT_READ = 'not read by this model';

// The tooltip is one element for the page.
let tip = null;
function tooltip() {
  if (!tip) {
    tip = h('div', { class: 'tooltip', role: 'tooltip', id: 'wl-tooltip', hidden: true });
    document.body.append(tip);
  }
  return tip;
}

export function hideTooltip() {
  if (tip) tip.hidden = true;
}

function showTooltip(anchor, lines) {
  const t = tooltip();
  replace(
    t,
    lines.map((l) => h('div', { class: l.class || '' }, l.parts ? l.parts : l.text)),
  );
  t.hidden = false;
  const r = anchor.getBoundingClientRect();
  const tw = t.offsetWidth, th = t.offsetHeight;
  let x = r.left + r.width / 2 - tw / 2;
  x = Math.max(8, Math.min(window.innerWidth - tw - 8, x));
  let y = r.top - th - 8;
  if (y < 8) y = r.bottom + 8;
  t.style.left = `${x + window.scrollX}px`;
  t.style.top = `${y + window.scrollY}px`;
}

function describe(score, target, scores = 'signed') {
  if (scores === 'unsigned') return score === 0 ? 'no importance' : 'importance';
  if (score === 0) return 'no effect';
  return `${score > 0 ? 'for' : 'against'} \u201c${target}\u201d`;
}

// Roving tab index over the items of a container.
export function keyboardNav(container, selector) {
  container.addEventListener('keydown', (ev) => {
    const items = [...container.querySelectorAll(selector)];
    const i = items.indexOf(document.activeElement);
    if (i < 0) return;
    let j = i;
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') j = Math.min(items.length - 1, i + 1);
    else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = items.length - 1;
    else if (ev.key === 'Escape') return hideTooltip();
    else return;
    ev.preventDefault();
    items[i].tabIndex = -1;
    items[j].tabIndex = 0;
    items[j].focus();
  });
}

function attachTooltip(el, lines) {
  const show = () => showTooltip(el, lines());
  el.addEventListener('mouseenter', show);
  el.addEventListener('focus', show);
  el.addEventListener('mouseleave', () => document.activeElement !== el && hideTooltip());
  el.addEventListener('blur', hideTooltip);
}

// Renders `result` into `container`. opts: { tokens: show sub-word tokens,
// numbers: show each score under its word, scores: override word scores
// (array, same order as result.words), scale: max |score| for colours,
// target: class name for the labels, onWord(i, el): click/Enter on a word,
// selected: index of a highlighted word }.
export function renderHeatmap(container, result, opts = {}) {
  hideTooltip();
  clear(container);
  const text = result.text;
  const target = opts.target ?? result.prediction.target_name;
  const scores = opts.scoreKind || resultScores(result);
  const wordScores = opts.scores || result.words.map((w) => w.score);
  const tokenScores = result.tokens.map((t) => t.score);
  const wordUnread = result.words.map((w) => wordUnknown(result, w));
  const tokenUnread = result.tokens.map(tokenUnknown);
  // The scale is set by the words the model read.
  const shownScores = opts.tokens ? tokenScores.filter((_, i) => !tokenUnread[i]) : wordScores.filter((_, i) => !wordUnread[i]);
  const scale = opts.scale ?? niceScale(maxAbs(shownScores));
  const total = wordScores.reduce((s, x, i) => s + (wordUnread[i] ? 0 : Math.abs(x)), 0) || 1;
  const rankOf = new Map(
    wordScores.map((s, i) => [s, i]).filter(([, i]) => !wordUnread[i]).sort((a, b) => b[0] - a[0]).map(([, i], r) => [i, r + 1]),
  );
  const nRead = rankOf.size;
  container.classList.toggle('numbers', !!opts.numbers);
  container.setAttribute('role', 'list');
  const items = [];

  const cell = (label, score, tipLines, extra = {}) => {
    const unread = !!extra.unread;
    const c = unread ? { bg: UNREAD_BG, fg: UNREAD_FG } : scoreColours(score, scale, scores);
    const el = h(
      'span',
      {
        class: ['w', extra.class, unread ? 'unread' : score > 0 ? 'pos' : score < 0 ? 'neg' : 'zero'],
        role: 'listitem',
        tabindex: items.length === 0 ? 0 : -1,
        'aria-label': unread ? `${label}: ${NOT_READ} (unknown to its vocabulary)` : `${label}: ${formatScore(score, 3)}, ${describe(score, target, scores)}`,
        dataset: { score: String(score), ...(unread ? { unread: 'unknown' } : {}), ...extra.data },
        style: { '--bg': c.bg, '--fg': c.fg },
      },
      h('span', { class: 'wt', text: label }),
      opts.numbers ? h('span', { class: 'ws', 'aria-hidden': 'true', text: unread ? '\u2014' : formatScore(score, 2) }) : null,
    );
    attachTooltip(el, tipLines);
    if (opts.onWord && extra.index !== undefined) {
      el.addEventListener('click', () => opts.onWord(extra.index, el));
      el.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          opts.onWord(extra.index, el);
        }
      });
    }
    if (opts.selected === extra.index && extra.index !== undefined) el.classList.add('selected');
    items.push(el);
    return el;
  };

  const gap = (s) => h('span', { class: 'gap', 'aria-hidden': 'true', text: s });
  const unreadTip = (label, score, token) => [
    { class: 'tt-word', text: label },
    { class: 'tt-score', text: `${NOT_READ}: it is unknown to its vocabulary` },
    { class: 'tt-meta', text: `the model read ${token || 'its unknown token'} here; that token's score ${formatScore(score, 3)} is not evidence about this word` },
  ];

  if (!opts.tokens) {
    const words = result.words.map((w, i) => ({ ...w, i })).sort((a, b) => a.begin - b.begin);
    let at = 0;
    for (const w of words) {
      if (w.begin > at) container.append(gap(text.slice(at, w.begin)));
      const label = text.slice(w.begin, w.end);
      const score = wordScores[w.i];
      const pieces = w.tokens.map((t) => result.tokens[t]);
      const unread = wordUnread[w.i];
      container.append(
        cell(
          label,
          score,
          () =>
            unread
              ? unreadTip(label, score, pieces.find(tokenUnknown)?.token)
              : [
                  { class: 'tt-word', text: label },
                  { class: 'tt-score', text: `${formatScore(score, 6)}  ${describe(score, target, scores)}` },
                  { class: 'tt-meta', text: `rank ${rankOf.get(w.i)} of ${nRead} \u00b7 ${((100 * Math.abs(score)) / total).toFixed(1)}% of |total|` },
                  pieces.length > 1 || (pieces[0] && pieces[0].token !== label)
                    ? { class: 'tt-pieces', text: 'tokens: ' + pieces.map((p) => `${p.token} (${formatScore(p.score, 3)})`).join('  ') }
                    : null,
                ].filter(Boolean),
          { index: w.i, data: { word: String(w.i) }, unread },
        ),
      );
      at = Math.max(at, w.end);
    }
    if (at < text.length) {
      const cut = tailStart(result);
      const from = cut >= at ? cut : -1;
      if (from > at) container.append(gap(text.slice(at, from)));
      if (from >= 0) {
        container.append(
          h('span', { class: 'cut-mark', text: `\u2702 ${NOT_READ} (past its length limit):` }),
          gap(' '),
          h('span', { class: ['gap', 'cut'], title: `${NOT_READ} (past its length limit)`, dataset: { unread: 'truncated' }, text: text.slice(from) }),
        );
      } else container.append(gap(text.slice(at)));
    }
  } else {
    result.tokens.forEach((t, i) => {
      const prev = result.tokens[i - 1];
      if (i > 0 && !(prev && prev.word === t.word && t.word >= 0 && !t.special)) container.append(gap(' '));
      const w = t.word >= 0 ? result.words[t.word] : null;
      const unread = tokenUnread[i];
      container.append(
        cell(
          t.token,
          t.score,
          () =>
            unread
              ? unreadTip(w ? text.slice(w.begin, w.end) : t.token, t.score, t.token)
              : [
                  { class: 'tt-word', text: t.token },
                  { class: 'tt-score', text: `${formatScore(t.score, 6)}  ${describe(t.score, target, scores)}` },
                  { class: 'tt-meta', text: t.special ? 'special token' : `token ${i} \u00b7 id ${t.id}${w ? ` \u00b7 in \u201c${text.slice(w.begin, w.end)}\u201d` : ''}` },
                ],
          { class: t.special ? 'special' : prev && prev.word === t.word && !t.special ? 'cont' : '', index: t.word >= 0 ? t.word : undefined, data: { token: String(i) }, unread },
        ),
      );
    });
    const cut = tailStart(result);
    if (cut >= 0) container.append(gap(' '), h('span', { class: 'cut-mark', text: `\u2702 ${NOT_READ}:` }), gap(' '), h('span', { class: ['gap', 'cut'], dataset: { unread: 'truncated' }, text: text.slice(cut) }));
  }
  if (!container.dataset.nav) {
    keyboardNav(container, '.w');
    container.dataset.nav = '1';
  }
  return { scale, items, scores, unread: wordUnread.some(Boolean) || tailStart(result) >= 0 };
}

// The legend: a gradient bar with the scale's numbers, and what the colours
// mean: for / against on the diverging scale, importance on the sequential
// one (unsigned scores); a grey swatch when some words were not read.
export function renderLegend(container, scale, target, { scores = 'signed', unread = false } = {}) {
  const ticks = legendTicks(scale, 4, scores);
  const unsigned = scores === 'unsigned';
  const bar = h(
    'div',
    { class: 'legend-scale' },
    h('div', {
      class: 'legend-bar',
      style: { background: legendGradient(11, scores) },
      role: 'img',
      'aria-label': unsigned
        ? `colour scale of importance from 0 (white) to ${formatScore(scale).replace('+', '')} (dark blue-green)`
        : `colour scale from ${formatScore(-scale)} (purple, against) through 0 (white) to ${formatScore(scale)} (orange, for)`,
    }),
    h('div', { class: 'legend-ticks', 'aria-hidden': 'true' }, ticks.map((v) => h('span', { text: unsigned ? formatScore(v).replace('+', '') : formatScore(v) }))),
  );
  container.dataset.scores = scores;
  replace(
    container,
    unsigned
      ? [h('div', { class: 'legend-label' }, h('span', { class: 'swatch low' }), ' low importance'), bar, h('div', { class: 'legend-label' }, h('span', { class: 'swatch high' }), ' high importance (a magnitude: how much, not which way)')]
      : [h('div', { class: 'legend-label' }, h('span', { class: 'swatch neg' }), ` against \u201c${target}\u201d`), bar, h('div', { class: 'legend-label' }, h('span', { class: 'swatch pos' }), ` for \u201c${target}\u201d`)],
    unread ? h('div', { class: 'legend-label' }, h('span', { class: 'swatch unread' }), ` ${NOT_READ}`) : null,
  );
}
