// Words the model did not read: words it maps to its unknown token (it saw
// [UNK], not the word), and the tail of a text cut at the model's length.
// They are marked "not read by this model" in every view and export and
// never coloured as evidence. The result's own fields (`words[i].unknown`,
// `tokens[i].unknown`, `unread`) are used when the module gives them; the
// fallbacks read the token strings.

const UNK_TOKENS = new Set(['[UNK]', '<unk>', '<UNK>', '[unk]']);

export function tokenUnknown(t) {
  if (!t) return false;
  if (typeof t.unknown === 'boolean') return t.unknown;
  return !t.special && UNK_TOKENS.has(t.token);
}

export function wordUnknown(result, w) {
  if (typeof w.unknown === 'boolean') return w.unknown;
  return (w.tokens || []).some((i) => tokenUnknown(result.tokens?.[i]));
}

// UTF-8 byte offset -> string offset in text.
export function byteToStringOffset(text, byte) {
  if (!(byte >= 0)) return -1;
  let b = 0;
  for (let i = 0; i < text.length; ) {
    if (b >= byte) return i;
    const cp = text.codePointAt(i);
    b += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return text.length;
}

// Where the unread tail starts (a string offset), or -1 when the whole text was read.
export function tailStart(result) {
  const text = result.text || '';
  if (result.unread && result.unread.truncated_from >= 0) return byteToStringOffset(text, result.unread.truncated_from);
  if (!result.truncated) return -1;
  let at = 0;
  for (const w of result.words || []) at = Math.max(at, w.end);
  return text.slice(at).trim() ? at : -1;
}

// -> { words, unknown_words, truncated_words, share, unknown: [word text] }
export function unreadInfo(result) {
  const words = result.words || [];
  const unknown = words.filter((w) => wordUnknown(result, w)).map((w) => result.text.slice(w.begin, w.end));
  const u = result.unread || {};
  const start = tailStart(result);
  const truncated = Number.isFinite(u.truncated_words) ? u.truncated_words : start >= 0 ? result.text.slice(start).split(/\s+/).filter(Boolean).length : 0;
  const n = Number.isFinite(u.words) ? u.words : words.length;
  const nu = Number.isFinite(u.unknown_words) ? u.unknown_words : unknown.length;
  const share = Number.isFinite(u.share) ? u.share : n + truncated > 0 ? (nu + truncated) / (n + truncated) : 0;
  return { words: n, unknown_words: nu, truncated_words: truncated, share, unknown };
}

// One line for the prediction and the exports, or '' when everything was read.
export function unreadSentence(info) {
  if (!info.unknown_words && !info.truncated_words) return '';
  const parts = [];
  if (info.unknown_words) parts.push(`${info.unknown_words} word${info.unknown_words === 1 ? '' : 's'} unknown to its vocabulary`);
  if (info.truncated_words) parts.push(`${info.truncated_words} word${info.truncated_words === 1 ? '' : 's'} past its length limit`);
  return `Not read by this model: ${(100 * info.share).toFixed(info.share < 0.1 ? 1 : 0)}% of the words (${parts.join(', ')}).`;
}

// The same facts from model.tokenize(text) (for the prediction, before any
// explanation): { ids, tokens, word_ids, special, words: [[begin, end]], truncated, unknown? }.
export function unreadFromTokens(text, tok) {
  const words = tok.words || [];
  const unknownWord = new Array(words.length).fill(false);
  (tok.tokens || []).forEach((t, i) => {
    const w = tok.word_ids?.[i];
    const unk = Array.isArray(tok.unknown) ? !!tok.unknown[i] : !tok.special?.[i] && UNK_TOKENS.has(t);
    if (unk && w >= 0 && w < words.length) unknownWord[w] = true;
  });
  let at = 0;
  for (const [, e] of words) at = Math.max(at, e);
  const truncated = tok.truncated ? text.slice(at).split(/\s+/).filter(Boolean).length : 0;
  const nu = unknownWord.filter(Boolean).length;
  const n = words.length;
  return {
    words: n,
    unknown_words: nu,
    truncated_words: truncated,
    share: n + truncated > 0 ? (nu + truncated) / (n + truncated) : 0,
    unknown: words.filter((_, i) => unknownWord[i]).map(([b, e]) => text.slice(b, e)),
  };
}
