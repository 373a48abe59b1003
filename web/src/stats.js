// Small statistics for comparing explanations.

// Ranks (1 = smallest), ties get the mean of their ranks.
export function ranks(values) {
  const idx = values.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const r = new Array(values.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) ++j;
    const mean = (i + j) / 2 + 1;
    for (let k = i; k <= j; ++k) r[idx[k][1]] = mean;
    i = j + 1;
  }
  return r;
}

export function pearson(a, b) {
  const n = a.length;
  if (n !== b.length) throw new Error('pearson: lengths differ');
  if (n < 2) return NaN;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; ++i) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return sab / Math.sqrt(saa * sbb);
}

// Spearman's rank correlation (Pearson on tie-averaged ranks); NaN when
// either side is constant or there are fewer than two values.
export function spearman(a, b) {
  return pearson(ranks(a), ranks(b));
}

// Word scores from token scores (a layer's row): each word gets the sum of
// its tokens' scores.
export function wordScoresFromTokens(tokenScores, words) {
  return words.map((w) => w.tokens.reduce((s, t) => s + (tokenScores[t] ?? 0), 0));
}

// Indices of the words from the most to the least relevant (score
// descending; ties by position).
export function order(scores) {
  return scores.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map((x) => x[1]);
}

// The text without the words whose indices are in `removed` (a Set), with
// the whitespace around each removed word collapsed to one space.
export function removeWords(text, words, removed) {
  let out = '';
  let at = 0;
  for (let i = 0; i < words.length; ++i) {
    if (!removed.has(i)) continue;
    out += text.slice(at, words[i].begin);
    at = words[i].end;
  }
  out += text.slice(at);
  return out.replace(/[ \t]{2,}/g, ' ').trim();
}

// The text with word i replaced by `by` (an empty string deletes it).
export function replaceWord(text, word, by) {
  const before = text.slice(0, word.begin);
  const after = text.slice(word.end);
  if (by === '') return (before.replace(/[ \t]+$/, '') + (after.startsWith(' ') || !before ? after : ' ' + after)).replace(/^[ \t]+/, '');
  return before + by + after;
}

// Area under a deletion curve (trapezoid rule over x in [0, 1]).
export function area(points) {
  let a = 0;
  for (let i = 1; i < points.length; ++i) a += ((points[i].x - points[i - 1].x) * (points[i].y + points[i - 1].y)) / 2;
  return a;
}
