// Texts for tokenizer_compare.test.mjs: hand-written edge cases (committed
// here) and samples of the real data sets, read at run time from
// ../shared/data (never copied into the repository).
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const long = (s, n) => s.repeat(n);

// [category, texts]
export const HANDWRITTEN = [
  ["empty and tiny", ["", "a", "A", ".", " ", "  ", "\n", "\t", "x y", "I", "!?", "'", "''", "\"", "``"]],
  ["plain sentences", [
    "The movie was great.",
    "Hello, World!",
    "It's a wonderful, heartfelt film -- and I loved every minute of it.",
    "This film is not good; it's not even bad, it's just boring.",
    "An unaffable, self-important bore of a movie.",
    "The acting is superb, the script is sharp and the direction is confident.",
    "I wouldn't recommend it to anyone, except maybe my worst enemy.",
    "Worst. Movie. Ever.",
    "A masterpiece!!! 10/10 would watch again",
    "They don't make 'em like they used to.",
    "rock'n'roll isn't dead, y'all",
    "She said: \"I can't believe it's not butter.\"",
    "Mr. Smith goes to Washington (1939) is a classic.",
    "U.S.A. vs. U.K.: who wins?",
    "e.g., i.e., etc.",
    "What's up?! What'll it be? We've, they're, I'm, you'd",
    "IT'S ALL IN CAPITALS AND IT'S LOUD",
    "mIxEd CaSe WoRdS aNd ThInGs",
    "The 1990s were the best; the 2000s, not so much.",
    "Pi is 3.14159, a million is 1,000,000 and 2nd place is fine.",
  ]],
  ["punctuation", [
    "Wait... what?!?!",
    "Well -- I guess -- it's fine...",
    "Hyphenated-words, under_scores and slashes/backslashes\\",
    "Email me at someone@example.com or visit https://example.com/path?q=1&r=2#frag",
    "#hashtag @mention $100 50% a&b a*b ~tilde^caret |pipe| <angle> {brace} [bracket]",
    "“Smart quotes” and ‘single ones’ — with em-dashes – and en-dashes…",
    "«Guillemets» ¿Qué? ¡Sí! ·middle dot· •bullet• †dagger‡ §section¶",
    "!!!???...,,,;;;:::",
    "a.b.c.d",
    "(parenthetical (nested) remark)",
    "1-800-555-0199 or +44 (0)20 7946 0958",
    "C++ and C# and F# and .NET",
    "**bold** and _italic_ and `code`",
    "&amp; &lt;b&gt; &#39; &quot;",
    "semi;colon:colon,comma.period",
    "-LRB- parenthesised -RRB- in PTB style",
    "`` quoted '' PTB style",
  ]],
  ["accents and other Latin", [
    "Naïve café résumé façade jalapeño",
    "Ångström, Zürich, São Paulo, Dvořák, Łódź, Kraków",
    "Crème brûlée à la carte, déjà vu, über, señor",
    "Straße, ẞ, Maß and Fuß",
    "İstanbul, ıstanbul, ISTANBUL, Diyarbakır",
    "ﬁne ﬂowers ﬀ ﬃ (ligatures)",
    "ǅemal and ǆ and Ǆ (titlecase digraphs)",
    "The Kelvin sign K, the Ohm sign Ω and the Angstrom sign Å",
    "e\u0301 is e with a combining acute; n\u0303 is n with a tilde",
    "A\u030A\u0301 stacked marks and Z\u0335\u0336 strokes",
    "\u0301\u0302 marks alone \u0301 and a \u0301\u0302 b",
    "Tiếng Việt có dấu: Người ta nói rằng",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！",
    "x² + y³ = z¹, ½ + ¼ = ¾, Ⅻ and ⅻ",
    "µ (micro) vs μ (mu), ª and º ordinals",
    "Œuvre, æther, Ørsted, þorn, ðe, ŋ",
    "Ελληνικά: Η ταινία ήταν ΠΟΛΥ καλή, ΟΔΟΣ και λόγος.",
    "ΣΊΣΥΦΟΣ and ΣΑΣ and Σ alone",
    "Кино было очень хорошим! ФИЛЬМ, фильмы, Ёжик",
    "Ꭰꭰ Cherokee, Ა Georgian Mtavruli, Ա Armenian",
  ]],
  ["emoji and symbols", [
    "I loved it 😀😀😀",
    "great😀movie",
    "thumbs up 👍🏽 and a family 👨‍👩‍👧 and flags 🇫🇷🇯🇵",
    "hearts ❤️ ❤ ♥ and keycap 1️⃣ and ©️",
    "🎬🍿 movie night 🎥",
    "©®™ €£¥₹ °C → ← ∑∞ ≠≤≥ ♪♫ ☺★",
    "bad movie 👎👎 (0/10)",
    "🙂🙃😉😊😇🥲",
  ]],
  ["CJK, Hangul, kana", [
    "北京欢迎你",
    "I love 北京 duck and 日本語 text",
    "日本語のテキストです。カタカナとひらがな",
    "这部电影很好看！我非常喜欢。",
    "電影、「好」『的』。",
    "한국어 텍스트: 영화가 정말 좋았어요",
    "한 and 한국 and ᄒ",
    "豈 更 車 (compatibility ideographs)",
    "𠀀𠀁 and 𩸽 (ideographs beyond the BMP)",
    "\u{2B820}\u{2B821} and \u{2B920}\u{2B921} (Extension E, both sides of U+2B920)",
    "\u{2CEA1}\u{30000} (the end of Extension E, and Extension G)",
    "中文English混合mixed文本",
    "１２３ＡＢＣ北京",
  ]],
  ["other scripts", [
    "مرحبا بالعالم! هذا فيلم رائع",
    "שלום עולם, סרט מצוין",
    "नमस्ते दुनिया, यह फ़िल्म अच्छी है",
    "สวัสดีครับ หนังเรื่องนี้ดีมาก",
    "ქართული ენა",
    "Հայերեն լեզու",
    "Arabic-Indic digits ٣٤٥ and circled ①②③",
  ]],
  ["white space oddities", [
    "  leading and trailing  ",
    "multiple     spaces    between",
    "tabs\tbetween\t\twords",
    "new\nlines\n\nand\r\nCRLF\rCR",
    "\n\nstarts with newlines",
    "ends with newlines\n\n",
    "no\u00a0break\u00a0spaces",
    "em\u2003space and ideographic\u3000space",
    "zero\u200bwidth\u200bspace",
    "zero\u200dwidth\u200cjoiners",
    "byte\ufefforder\ufeffmark",
    "next\u0085line",
    "line\u2028separator and paragraph\u2029separator",
    "vertical\u000btab and form\u000cfeed",
    "soft\u00adhyphen",
    "left\u200fto\u200eright marks",
    "   \t\n  ",
    " a ",
    "a  b   c    d",
    " \u00a0 \u2003 ",
    "a \n b\t \tc  \r\n  d",
    "a\u00a0\u00a0b \u00a0c",
    " \ufeff word \u0085 word",
    "trailing crlf\r\n",
  ]],
  ["control and replacement characters", [
    "nul\u0000char",
    "bell\u0007and\u001bescape",
    "unit\u001fseparator",
    "replacement \ufffd character",
    "private \ue000 use",
    "delete\u007fchar",
  ]],
  ["long words", [
    long("a", 99),
    long("a", 100),
    long("a", 101),
    long("a", 150) + " and then a normal sentence",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    long("1234567890", 12),
    "sooooooooooooooo goooooooooooooood",
    long("ha", 60) + "!",
    long("é", 101),
    long("e\u0301", 60),
    long("北", 120),
    "https://www.example.com/a/very/long/url/that/goes/on/and/on/" + long("x", 80) + "?query=string",
    long("the quick brown fox jumps over the lazy dog ", 30),
  ]],
  ["special tokens typed in the text", [
    "[MASK]",
    "the [MASK] was great",
    "[CLS] hello [SEP]",
    "[mask] lower-case is not the mask",
    "[PAD][UNK][MASK]",
    "x[MASK]y",
    "<mask>",
    "Hello <mask>!",
    "Hello   <mask> world",
    "Hello\t\n<mask>",
    "<mask><mask> <mask>",
    "<s>hello</s>",
    "<pad> and <unk>",
    "<s> [SEP] </s> [CLS]",
    "< mask >",
    "   <mask>",
    "<mask>   end",
    "a\u3000<mask>b",
    "aaaa[MASK]bbbb",
    " [MASK] ",
  ]],
  ["review fragments", [
    "This movie was terrible.<br /><br />The acting was wooden and the plot made no sense.",
    "*** SPOILERS *** The butler did it.",
    "I give it 3/10 stars... maybe 4/10 if I'm generous.",
    "B-movie fans will love this one (I certainly did!!!)",
    "A \"must-see\" -- NOT.",
    "Directed by Jean-Luc Godard in 1965; starring Anna Karina.",
    "It's the '80s all over again: big hair, synths & neon.",
    "OMG!!!1! best film evar lol :) :-( ;-) :D <3",
    "Rating: ★★★★☆ (4 out of 5)",
    "The DVD extras include a 45-min. making-of & deleted scenes.",
  ]],
];

// Random strings over characters that stress the rules (white space of
// every kind, punctuation, marks, case mappings, CJK, Hangul, emoji,
// controls, pieces of special tokens), from a fixed seed. Only code points
// assigned before Unicode 14 (our tables' version), so that every side
// agrees on their categories.
const FUZZ_PIECES = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ..."     ", "\t", "\n", "\r", "\u000b", "\u000c", "\u00a0", "\u1680", "\u2002", "\u2009", "\u200a", "\u2028",
  "\u2029", "\u202f", "\u205f", "\u3000", "\u0085", "\ufeff", "\u200b", "\u200c", "\u200d", "\u00ad",
  ..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "¡", "¿", "«", "»", "“", "”", "‘", "’", "—", "–", "…", "·", "•", "、", "。", "「", "」",
  "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "n't",
  ..."éèêëÉÈÊËàâäÀÂÄçÇñÑöÖüÜßẞøØåÅæÆœŒıİĳǅǆǄﬁﬂ", "\u212a", "\u2126", "\u212b", "µ", "ª", "²", "½", "Ⅻ", "ⅻ",
  "\u0301", "\u0300", "\u0302", "\u0308", "\u0327", "\u0335", "\u20dd", "\u0903", "\u093f", "\u094d",
  ..."ΑΒΓΔΣσςΩωάέΐΰ", ..."АБВЖЁёжщЯя", ..."אבגשת", ..."ابتثج", ..."कखगनमस्ते", ..."กขคสวัสดี",
  ..."北京电影中文日本語豈更車", "\u{20000}", "\u{2A6D6}", "\u{2B740}", "\u{2B81D}", "\u{2B820}", "\u{2B91F}", "\u{2B920}",
  "\u{2CEA1}", "\u{2F800}", "\u3400", "\u4DB5", "\u9FFF", "\uF900", "\uFAFF",
  ..."ぁあアカタカナー한국어한각힣", ..."ＡＢＣａｂｃ１２３！？",
  "😀", "👍", "🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "❤", "♥", "☺", "★", "1️⃣", "©", "®", "™", "€", "£", "¥", "°", "→", "∑", "∞", "≠",
  "\u0000", "\u0001", "\u0007", "\u001b", "\u001f", "\u007f", "\u0080", "\u009f", "\ufffd", "\ue000", "\u{10FFFD}",
  "\u200e", "\u200f", "\u2060", "\ufe0f",
  "[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", "<mask>", "<s>", "</s>", "<pad>", "<unk>", "##", "Ġ", "Ċ",
  "the", "movie", "film", "great", "bad", "not", "very", "good", "boring", "un", "able", "ing", "ness", "http://x.io",
];

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fuzzTexts(n, seed = 20240601) {
  const rand = mulberry32(seed);
  const out = [];
  for (let i = 0; i < n; ++i) {
    const len = 1 + Math.floor(rand() * (i % 10 === 0 ? 200 : 30));
    let t = "";
    for (let k = 0; k < len; ++k) t += FUZZ_PIECES[Math.floor(rand() * FUZZ_PIECES.length)];
    out.push(t);
  }
  return out;
}

HANDWRITTEN.push(["random strings (fixed seed)", fuzzTexts(300)]);

// ---------------------------------------------------------------- data sets

function sampleEvery(items, n) {
  if (items.length <= n) return items;
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step)]);
}

function readLines(file) {
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
}

// Sentences of the SST-2 test set (lower-cased, tokenised).
function sstBinary(dir, n) {
  const f = path.join(dir, "sst", "stsa.binary.test");
  if (!fs.existsSync(f)) return null;
  return sampleEvery(readLines(f).map((l) => l.slice(l.indexOf(" ") + 1)), n);
}

// Cased SST sentences: the leaves of the test set's PTB trees.
function sstTrees(dir, n) {
  const f = path.join(dir, "sst", "test.txt");
  if (!fs.existsSync(f)) return null;
  const leaves = (l) => [...l.matchAll(/\(\d+ ([^()]+)\)/g)].map((m) => m[1]).join(" ");
  return sampleEvery(readLines(f).map(leaves), n);
}

// AG News headlines and descriptions (cased news text, HTML entities).
function agNews(dir, n) {
  const f = path.join(dir, "agnews", "test.tsv");
  if (!fs.existsSync(f)) return null;
  return sampleEvery(readLines(f).slice(1).map((l) => l.split("\t")[0]), n);
}

// IMDB reviews from the tar.gz: `whole` complete reviews and `fragments`
// sentences cut from others (HTML breaks, quotes, long texts).
function imdb(dir, whole, fragments) {
  const f = path.join(dir, "imdb", "aclImdb_train20k_val5k_test25k.tar.gz");
  if (!fs.existsSync(f)) return null;
  const tar = zlib.gunzipSync(fs.readFileSync(f));
  const reviews = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const name = tar.toString("latin1", off, off + 100).replace(/\0.*$/s, "");
    if (!name) break;
    const size = parseInt(tar.toString("latin1", off + 124, off + 136).replace(/\0.*$/s, "").trim() || "0", 8);
    const type = String.fromCharCode(tar[off + 156]);
    if ((type === "0" || type === "\0") && /\/(pos|neg)\/\d+_\d+\.txt$/.test(name))
      reviews.push(tar.toString("utf8", off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  const picked = sampleEvery(reviews, whole + fragments);
  const out = [];
  let n_whole = 0;
  picked.forEach((r, i) => {
    if (i % 4 === 0 && n_whole < whole) {
      out.push(r);
      ++n_whole;
    } else {
      const sentences = r.split(/(?<=[.!?])\s+/).filter((s) => s.length > 0);
      out.push(sentences.slice(1, 4).join(" ").slice(0, 400));
    }
  });
  return out;
}

// [category, texts] pairs as one list of texts and, for each, its category.
export function flattenCategories(categories) {
  const texts = [];
  const categoryOf = [];
  for (const [name, list] of categories) {
    for (const t of list) {
      texts.push(t);
      categoryOf.push(name);
    }
  }
  return { texts, categoryOf };
}

// [category, texts] of the data sets found under `dir`, and the names of
// those that are missing.
export function corpusTexts(dir) {
  const found = [];
  const missing = [];
  for (const [name, get] of [
    ["SST-2 test sentences", () => sstBinary(dir, 100)],
    ["SST test sentences, cased (tree leaves)", () => sstTrees(dir, 100)],
    ["IMDB reviews and fragments", () => imdb(dir, 20, 70)],
    ["AG News", () => agNews(dir, 50)],
  ]) {
    const texts = get();
    if (texts) found.push([name, texts]);
    else missing.push(name);
  }
  return { found, missing };
}
