// Our tokenizers against Hugging Face's: every text of tokenizer_texts.mjs
// (hand-written edge cases, and SST, IMDB and AG News samples read from
// ../shared/data) goes through `wordlight tokenize` and through
// @huggingface/transformers, for the fixtures of tests/golden/tokenizers/
// (a BERT WordPiece tokenizer.json, the same vocabulary as a bare vocab.txt,
// a RoBERTa byte-level BPE tokenizer.json, and the same as vocab.json +
// merges.txt; plus the tiny tokenizers of tests/golden/io/). Token ids and
// token strings must be identical, and so must the ids after truncation
// (--max-length) as the Python tokenizers truncate.
//
// Offsets: transformers.js does not report offsets, so the expected offsets
// are rebuilt here from Hugging Face's tokens by the rules of the Rust
// `tokenizers` library that Python's fast tokenizers run (every normalised
// character keeps the span of the original character it came from; a
// token's span runs from its first character's start to its last one's
// end; ByteLevel's trim_offsets drops the spaces that "Ġ" stands for; added
// tokens span their content). Ours must equal them in UTF-16 code units,
// and our code point offsets ("char_offsets", what Python's offset_mapping
// gives) must equal them in code points.
//
// Where transformers.js itself departs from the Rust library, the reference
// follows Rust (each place is marked "JS != Rust" below):
//   - BertNormalizer lower-cases the whole string with toLowerCase(), which
//     turns a final capital sigma into "ς"; Rust lower-cases each character
//     alone ("σ").
//   - BertNormalizer pads CJK ideographs with spaces looking at UTF-16 code
//     units, so ideographs beyond the BMP (U+20000...) are not padded; and
//     its ranges are Python's (Extension E from U+2B820), where Rust's start
//     Extension E at U+2B920.
//   - JS's \s (BertPreTokenizer, ByteLevel's regex) counts U+FEFF as white
//     space and not U+0085; Rust (Oniguruma, char::is_whitespace) the other
//     way round. (The lstrip of <mask> trims with JS's \s too; that is not
//     patched, and no text puts U+FEFF or U+0085 just before a <mask>.)
//   - BertNormalizer's clean_text drops Cc, Cf, Co and Cs; Rust's is_other()
//     is meant to take Cn (unassigned) too, as ours does. No text here holds
//     a code point unassigned in Unicode 14 (our tables), so that is left
//     untested.
// The reference patches those spots of the transformers.js tokenizer object
// (see patchToRust) rather than excusing differences; without the patches
// the Greek and beyond-the-BMP CJK texts differ.
//
// Environment: WORDLIGHT_BIN (default build/native/wordlight),
// WORDLIGHT_DATA (default ../shared/data).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { AutoTokenizer, BertTokenizer, RobertaTokenizer } from "@huggingface/transformers";
import { describe, expect, test } from "vitest";

import { readLocalModelsOnly } from "./hf_local.mjs";
import { HANDWRITTEN, corpusTexts, flattenCategories } from "./tokenizer_texts.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURES = path.join(ROOT, "tests", "golden", "tokenizers");
const BIN = process.env.WORDLIGHT_BIN ?? path.join(ROOT, "build", "native", "wordlight");
const DATA = process.env.WORDLIGHT_DATA ?? path.resolve(ROOT, "..", "shared", "data");

readLocalModelsOnly(FIXTURES);

// ---------------------------------------------------------------- texts

const corpus = corpusTexts(DATA);
const CATEGORIES = [...HANDWRITTEN, ...corpus.found];
const { texts: TEXTS, categoryOf: CATEGORY_OF } = flattenCategories(CATEGORIES);

// ---------------------------------------------------------------- Unicode helpers

const isWhite = (c) => /^\p{White_Space}$/u.test(c);
const isOther = (c) => /^\p{C}$/u.test(c); // Cc Cf Cs Co Cn, as Rust's is_other()
const isBertPunct = (c) => {
  const cp = c.codePointAt(0);
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) ||
    /^\p{P}$/u.test(c);
};
// Rust's is_chinese_char: its CJK Extension E range starts at U+2B920 (the
// Python BertTokenizer's, and transformers.js's, at U+2B820).
const isChineseChar = (cp) =>
  (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);

// Code points of s[begin, end) with their UTF-16 spans.
function codePoints(s, begin = 0, end = s.length) {
  const out = [];
  for (let i = begin; i < end; ) {
    const cp = s.codePointAt(i);
    const n = cp > 0xffff ? 2 : 1;
    out.push({ c: String.fromCodePoint(cp), cp, s: i, e: i + n });
    i += n;
  }
  return out;
}

// UTF-8 byte offset -> UTF-16 offset and -> code point offset.
function offsetMaps(text) {
  const byteToUtf16 = new Map([[0, 0]]);
  const utf16ToCp = new Map([[0, 0]]);
  let bytes = 0;
  let cps = 0;
  for (const { c, e } of codePoints(text)) {
    bytes += Buffer.byteLength(c, "utf8");
    ++cps;
    byteToUtf16.set(bytes, e);
    utf16ToCp.set(e, cps);
  }
  return { byteToUtf16, utf16ToCp };
}

// ---------------------------------------------------------------- the reference

// transformers.js where it departs from the Rust library (see the header).
function patchToRust(tok) {
  const t = tok._tokenizer;
  const n = t.normalizer;
  if (n && n.config?.type === "BertNormalizer") {
    n.normalize = (text) => {
      const cfg = n.config;
      const strip = cfg.strip_accents ?? cfg.lowercase;
      let out = "";
      for (const { c, cp } of codePoints(text)) {
        let x = c;
        if (cfg.clean_text) {
          if (cp === 0 || cp === 0xfffd || (isOther(c) && c !== "\t" && c !== "\n" && c !== "\r")) continue;
          if (isWhite(c)) x = " ";
        }
        if (strip) x = x.normalize("NFD").replace(/\p{Mn}/gu, ""); // JS != Rust: order and per character
        if (cfg.lowercase) x = [...x].map((ch) => ch.toLowerCase()).join(""); // JS != Rust: final sigma
        if (cfg.handle_chinese_chars && isChineseChar(cp)) x = ` ${x} `; // JS != Rust: beyond the BMP
        out += x;
      }
      return out;
    };
  }
  const p = t.pre_tokenizer;
  if (p && p.constructor.name.startsWith("BertPreTokenizer")) {
    // JS != Rust: \s
    const P = "\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E";
    const re = new RegExp(`[^\\p{White_Space}${P}]+|[${P}]`, "gu");
    p.pre_tokenize_text = (text) => text.match(re) || [];
  }
  if (p && p.constructor.name.startsWith("ByteLevel")) {
    // JS != Rust: \s
    p.pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
  }
  return tok;
}

// Leftmost-longest matches of the added tokens in the raw text (Rust's
// AddedVocabulary), with lstrip / rstrip taking the white space beside them.
function splitAdded(text, added) {
  const sections = [];
  let start = 0;
  for (let i = 0; i < text.length; ) {
    let best = null;
    for (const a of added) if (text.startsWith(a.content, i) && (!best || a.content.length > best.content.length)) best = a;
    if (!best) {
      ++i;
      continue;
    }
    if (best.single_word) throw new Error("single_word added tokens are not modelled");
    let ms = i;
    let me = i + best.content.length;
    if (best.lstrip) while (ms > start && isWhite(text[ms - 1])) --ms;
    if (best.rstrip) while (me < text.length && isWhite(text[me])) ++me;
    if (start < ms) sections.push({ start, end: ms });
    // Offsets: the content (ByteLevel's trim_offsets removes the stripped
    // spaces; no BERT token strips).
    sections.push({ start: i, end: i + best.content.length, token: best });
    start = i = me;
  }
  if (start < text.length) sections.push({ start, end: text.length });
  return sections;
}

// Expected offsets (UTF-16) of the text tokens `tokens` of a WordPiece
// tokenizer with BertNormalizer `cfg`.
function wordpieceOffsets(text, tokens, cfg, added, unk, prefix) {
  const out = [];
  let k = 0;
  const strip = cfg.strip_accents ?? cfg.lowercase;
  for (const sec of splitAdded(text, added)) {
    if (sec.token) {
      out.push([sec.start, sec.end]);
      ++k;
      continue;
    }
    const norm = []; // normalised characters with the span of their source
    for (const { c, cp, s, e } of codePoints(text, sec.start, sec.end)) {
      let x = c;
      if (cfg.clean_text) {
        if (cp === 0 || cp === 0xfffd || (isOther(c) && c !== "\t" && c !== "\n" && c !== "\r")) continue;
        if (isWhite(c)) x = " ";
      }
      if (strip) x = x.normalize("NFD").replace(/\p{Mn}/gu, "");
      if (cfg.lowercase) x = [...x].map((ch) => ch.toLowerCase()).join("");
      const cjk = cfg.handle_chinese_chars && isChineseChar(cp);
      if (cjk) norm.push({ c: " ", s, e });
      for (const ch of x) norm.push({ c: ch, s, e });
      if (cjk) norm.push({ c: " ", s, e });
    }
    const words = [];
    let cur = [];
    const flush = () => {
      if (cur.length) words.push(cur);
      cur = [];
    };
    for (const ch of norm) {
      if (isWhite(ch.c)) flush();
      else if (isBertPunct(ch.c)) {
        flush();
        cur.push(ch);
        flush();
      } else cur.push(ch);
    }
    flush();
    for (const w of words) {
      if (tokens[k] === unk) {
        out.push([w[0].s, w[w.length - 1].e]);
        ++k;
        continue;
      }
      const chars = w.map((x) => x.c);
      let at = 0;
      while (at < chars.length) {
        const tok = tokens[k];
        if (tok === undefined) return { error: `ran out of tokens in word "${chars.join("")}"` };
        const piece = at > 0 && tok.startsWith(prefix) ? tok.slice(prefix.length) : tok;
        const n = [...piece].length;
        if (chars.slice(at, at + n).join("") !== piece)
          return { error: `token ${k} "${tok}" does not continue word "${chars.join("")}" at ${at}` };
        out.push([w[at].s, w[at + n - 1].e]);
        at += n;
        ++k;
      }
    }
  }
  if (k !== tokens.length) return { error: `${tokens.length - k} tokens left over` };
  return { offsets: out };
}

// GPT-2's byte-to-unicode table, reversed: symbol -> byte.
const UNICODE_TO_BYTES = (() => {
  const printable = (b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = {};
  let next = 256;
  for (let b = 0; b < 256; ++b) out[String.fromCodePoint(printable(b) ? b : next++)] = b;
  return out;
})();

// Expected offsets (UTF-16) of the text tokens of a byte-level BPE.
function bpeOffsets(text, tokens, opts, added, unicodeToBytes) {
  const out = [];
  let k = 0;
  const re = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
  for (const sec of splitAdded(text, added)) {
    if (sec.token) {
      out.push([sec.start, sec.end]);
      ++k;
      continue;
    }
    const chars = codePoints(text, sec.start, sec.end);
    if (opts.add_prefix_space && chars.length && chars[0].c !== " ")
      chars.unshift({ c: " ", s: sec.start, e: sec.start }); // no bytes of the text
    const str = chars.map((x) => x.c).join("");
    // UTF-16 index in `str` -> index into chars
    const charAt = [];
    chars.forEach((x, i) => {
      for (let j = 0; j < x.c.length; ++j) charAt.push(i);
    });
    for (const m of str.matchAll(re)) {
      // The piece's bytes, each with the character it belongs to.
      const owner = [];
      let i = m.index;
      while (i < m.index + m[0].length) {
        const ci = charAt[i];
        const nb = Buffer.byteLength(chars[ci].c, "utf8");
        for (let b = 0; b < nb; ++b) owner.push(ci);
        i += chars[ci].c.length;
      }
      let at = 0;
      while (at < owner.length) {
        const tok = tokens[k];
        if (tok === undefined) return { error: `ran out of tokens in piece ${JSON.stringify(m[0])}` };
        const nb = [...tok].length; // one symbol per byte
        if ([...tok].some((c) => unicodeToBytes[c] === undefined)) return { error: `token ${k} "${tok}" is not byte-level` };
        const first = chars[owner[at]];
        const last = chars[owner[at + nb - 1]];
        if (!last) return { error: `token ${k} "${tok}" runs past piece ${JSON.stringify(m[0])}` };
        let s = first.s;
        let e = last.e;
        if (opts.trim_offsets) {
          // ByteLevel::process_offsets
          const sym = [...tok];
          let lead = 0;
          while (lead < sym.length && (sym[lead] === "Ġ" || isWhite(sym[lead]))) ++lead;
          let trail = 0;
          while (trail < sym.length && (sym[sym.length - 1 - trail] === "Ġ" || isWhite(sym[sym.length - 1 - trail]))) ++trail;
          if (lead > 0) {
            const isFirst = out.length === 0 || s === 0;
            if (!(isFirst && opts.post_add_prefix_space && lead === 1)) s = Math.min(s + lead, e);
          }
          if (trail > 0 && e >= trail) e = Math.max(e - trail, s);
        }
        out.push([s, e]);
        at += nb;
        ++k;
      }
    }
  }
  if (k !== tokens.length) return { error: `${tokens.length - k} tokens left over` };
  return { offsets: out };
}

// ---------------------------------------------------------------- the fixtures

const readJson = (f) => JSON.parse(fs.readFileSync(f, "utf8"));

// transformers' BertConverter: vocab.txt + tokenizer_config.json -> tokenizer.json
function bertConverter(vocabTxt, config) {
  const lines = vocabTxt.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const vocab = {};
  lines.forEach((t, i) => (vocab[t] = i)); // a repeated token keeps its last line
  const cls = config.cls_token ?? "[CLS]";
  const sep = config.sep_token ?? "[SEP]";
  const specials = ["unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]
    .map((k) => config[k])
    .filter((t) => t && t in vocab);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...new Set(specials)].map((t) => ({
      id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase: config.do_lower_case ?? true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } }],
      special_tokens: {
        [cls]: { id: cls, ids: [vocab[cls]], tokens: [cls] },
        [sep]: { id: sep, ids: [vocab[sep]], tokens: [sep] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: config.unk_token ?? "[UNK]", continuing_subword_prefix: "##",
      max_input_chars_per_word: 100, vocab },
  };
}

// transformers' RobertaConverter: vocab.json + merges.txt -> tokenizer.json
// (RobertaTokenizer's <mask> strips the space before it).
function robertaConverter(vocab, mergesTxt, config) {
  const merges = mergesTxt.split("\n").filter((l, i) => l !== "" && !(i === 0 && l.startsWith("#version")));
  const tokens = ["bos_token", "pad_token", "eos_token", "unk_token", "mask_token"].map((k) => config[k]);
  const mask = config.mask_token ?? "<mask>";
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...new Set(tokens)].filter((t) => t in vocab).map((t) => ({
      id: vocab[t], content: t, single_word: false, lstrip: t === mask, rstrip: false, normalized: t !== mask,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: config.add_prefix_space ?? false, trim_offsets: true,
      use_regex: true },
    post_processor: { type: "RobertaProcessing", sep: [config.sep_token, vocab[config.sep_token]],
      cls: [config.cls_token, vocab[config.cls_token]], trim_offsets: config.trim_offsets ?? true,
      add_prefix_space: config.add_prefix_space ?? false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
      fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

// A directory's tokenizer.json (+ tokenizer_config.json when there is one).
function fromTokenizerJson(dir, Class) {
  const config = fs.existsSync(path.join(dir, "tokenizer_config.json"))
    ? readJson(path.join(dir, "tokenizer_config.json"))
    : {};
  return new Class(readJson(path.join(dir, "tokenizer.json")), config);
}

const IO_FIXTURES = path.join(ROOT, "tests", "golden", "io");
// The structures of real checkpoints (tests/fixtures/checkpoints/make_checkpoints.py):
// their models allow 16 tokens at most.
const CHECKPOINTS = path.join(ROOT, "tests", "fixtures", "checkpoints");
const checkpoint = (name, Class, what) => ({
  name: `../../fixtures/checkpoints/${name}`,
  what,
  truncateAt: 10,
  load: async () => fromTokenizerJson(path.join(CHECKPOINTS, name), Class),
});

// A tokenizer made from a fixture folder's plain files: convert(dir, config)
// gives its tokenizer.json as transformers' converters do.
const fromFiles = (name, Class, convert) => async () => {
  const d = path.join(FIXTURES, name);
  const config = readJson(path.join(d, "tokenizer_config.json"));
  return new Class(convert(d, config), config);
};

// name: the directory; truncateAt: a --max-length within the model's limit.
const FIXTURE_SPECS = [
  {
    name: "bert_wordpiece",
    what: "WordPiece tokenizer.json (BertNormalizer lowercase + strip accents)",
    load: () => AutoTokenizer.from_pretrained("bert_wordpiece"),
  },
  {
    name: "bert_vocab",
    what: "WordPiece vocab.txt + tokenizer_config.json (converted as BertConverter does)",
    load: fromFiles("bert_vocab", BertTokenizer, (d, config) =>
      bertConverter(fs.readFileSync(path.join(d, "vocab.txt"), "utf8"), config)),
  },
  {
    name: "roberta_bpe",
    what: "byte-level BPE tokenizer.json (RoBERTa)",
    load: () => AutoTokenizer.from_pretrained("roberta_bpe"),
  },
  {
    name: "roberta_files",
    what: "byte-level BPE vocab.json + merges.txt (converted as RobertaConverter does)",
    load: fromFiles("roberta_files", RobertaTokenizer, (d, config) =>
      robertaConverter(readJson(path.join(d, "vocab.json")), fs.readFileSync(path.join(d, "merges.txt"), "utf8"), config)),
  },
  {
    name: "../io/bert_tiny",
    what: "the 42-token WordPiece tokenizer.json of the C++ tests (mostly [UNK])",
    truncateAt: 10,
    load: async () => fromTokenizerJson(path.join(IO_FIXTURES, "bert_tiny"), BertTokenizer),
  },
  {
    name: "../io/roberta_tiny",
    what: "the byte-level BPE tokenizer.json of the C++ tests (22 merges)",
    truncateAt: 10,
    load: async () => fromTokenizerJson(path.join(IO_FIXTURES, "roberta_tiny"), RobertaTokenizer),
  },
  checkpoint("bert_uncased", BertTokenizer,
    "bert-base-uncased's tokenizer.json structure (TemplateProcessing with pair, truncation and padding set, a user-added token)"),
  checkpoint("bert_cased", BertTokenizer,
    "bert-base-multilingual-cased's tokenizer.json structure (no lower-casing, accents kept)"),
  {
    ...checkpoint("distilbert_uncased", BertTokenizer,
      "DistilBERT's vocab.txt + tokenizer_config.json (added_tokens_decoder, the 1e30 model_max_length)"),
    load: async () => {
      const d = path.join(CHECKPOINTS, "distilbert_uncased");
      const config = readJson(path.join(d, "tokenizer_config.json"));
      return new BertTokenizer(bertConverter(fs.readFileSync(path.join(d, "vocab.txt"), "utf8"), config), config);
    },
  },
  checkpoint("roberta_base", RobertaTokenizer, "roberta-base's tokenizer.json structure (RobertaProcessing, <mask> with lstrip)"),
];

// ---------------------------------------------------------------- ours

function runOurs(dir, texts, extra = []) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wl-tok-"));
  try {
    const input = path.join(tmp, "texts.jsonl");
    fs.writeFileSync(input, texts.map((t) => JSON.stringify(t)).join("\n") + "\n");
    const stdout = execFileSync(BIN, ["tokenize", "--model", dir, "--jsonl", input, "--json", ...extra], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    const rows = stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    if (rows.length !== texts.length) throw new Error(`wordlight tokenize gave ${rows.length} results for ${texts.length} texts`);
    return rows;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- comparison

const show = (s) => JSON.stringify(s.length > 160 ? s.slice(0, 160) + "…" : s);

function firstDiff(a, b) {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; ++i) if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return i;
  return -1;
}

function around(arr, i) {
  return JSON.stringify(arr.slice(Math.max(0, i - 3), i + 4));
}

// Compares one text; returns a description of the first difference, or null.
function compareOne(text, hf, ours, ref) {
  const d1 = firstDiff(hf.ids, ours.ids);
  const d2 = firstDiff(hf.tokens, ours.tokens);
  if (d1 >= 0 || d2 >= 0) {
    const i = Math.min(...[d1, d2].filter((x) => x >= 0));
    return `tokens differ at ${i} (of ${hf.tokens.length} HF, ${ours.tokens.length} ours)\n` +
      `      HF   ${around(hf.tokens, i)} ids ${around(hf.ids, i)}\n` +
      `      ours ${around(ours.tokens, i)} ids ${around(ours.ids, i)}`;
  }
  // Offsets of the text tokens (special tokens: [0, 0]).
  const { byteToUtf16, utf16ToCp } = offsetMaps(text);
  const expect = [];
  const textTokens = [];
  hf.tokens.forEach((t, i) => {
    if (!ours.special_mask[i]) textTokens.push(t);
  });
  const r = ref(text, textTokens);
  if (r.error) return `the reference offsets could not be rebuilt: ${r.error}`;
  let j = 0;
  for (let i = 0; i < ours.tokens.length; ++i) expect.push(ours.special_mask[i] ? [0, 0] : r.offsets[j++]);
  const got16 = ours.offsets.map(([b, e]) => [byteToUtf16.get(b), byteToUtf16.get(e)]);
  const d3 = firstDiff(expect, got16);
  if (d3 >= 0) {
    const slice = (o) => (o && o[0] !== undefined ? JSON.stringify(text.slice(o[0], o[1])) : "?");
    return `offsets differ at token ${d3} ${JSON.stringify(ours.tokens[d3])}: expected UTF-16 ${JSON.stringify(expect[d3])} ` +
      `${slice(expect[d3])}, ours ${JSON.stringify(got16[d3])} ${slice(got16[d3])} (bytes ${JSON.stringify(ours.offsets[d3])})`;
  }
  const expectCp = expect.map(([b, e]) => [utf16ToCp.get(b), utf16ToCp.get(e)]);
  const d4 = firstDiff(expectCp, ours.char_offsets);
  if (d4 >= 0)
    return `code point offsets differ at token ${d4}: expected ${JSON.stringify(expectCp[d4])}, ours ${JSON.stringify(ours.char_offsets[d4])}`;
  return null;
}

const MAX_SHOWN = 8;
const TRUNCATE_AT = 24;

describe("tokenizers match Hugging Face (@huggingface/transformers)", () => {
  test("the CLI and the fixtures are there", () => {
    expect(fs.existsSync(BIN), `${BIN} is missing: run ./build.sh native (or set WORDLIGHT_BIN)`).toBe(true);
    for (const f of FIXTURE_SPECS) expect(fs.existsSync(path.join(FIXTURES, f.name)), f.name).toBe(true);
    const counts = CATEGORIES.map(([name, texts]) => `${texts.length} ${name}`).join(", ");
    console.log(`tokenizer comparison: ${TEXTS.length} texts (${counts})`);
    if (corpus.missing.length) console.log(`  not found under ${DATA}, left out: ${corpus.missing.join(", ")}`);
  });

  for (const spec of FIXTURE_SPECS) {
    test(`${spec.name}: ${spec.what}`, async () => {
      const tok = patchToRust(await spec.load());
      const t = tok._tokenizer;
      const dir = path.join(FIXTURES, spec.name);
      const added = t.added_tokens.map((a) => ({ content: a.content, lstrip: a.lstrip, rstrip: a.rstrip,
        single_word: a.single_word }));
      const json = t.tokenizer;
      let ref;
      if (json.model.type === "WordPiece") {
        const cfg = { clean_text: true, handle_chinese_chars: true, lowercase: true, strip_accents: null,
          ...json.normalizer };
        ref = (text, tokens) => wordpieceOffsets(text, tokens, cfg, added, json.model.unk_token,
          json.model.continuing_subword_prefix ?? "##");
      } else {
        const pre = json.pre_tokenizer;
        // RobertaProcessing trims the offsets with its own add_prefix_space.
        const opts = { add_prefix_space: pre.add_prefix_space ?? false,
          trim_offsets: json.post_processor?.trim_offsets ?? true,
          post_add_prefix_space: json.post_processor?.add_prefix_space ?? pre.add_prefix_space ?? false };
        ref = (text, tokens) => bpeOffsets(text, tokens, opts, added, UNICODE_TO_BYTES);
      }

      const ours = runOurs(dir, TEXTS, ["--max-length", "0"]);
      const failures = [];
      let nTokens = 0;
      TEXTS.forEach((text, i) => {
        const hf = t.encode(text);
        nTokens += hf.ids.length;
        const diff = compareOne(text, hf, ours[i], ref);
        if (diff) failures.push(`  [${CATEGORY_OF[i]}] text ${i} ${show(text)}\n      ${diff}`);
      });

      // Truncation as the Python tokenizers do it: the first tokens of the
      // text, then the special tokens (transformers.js only cuts the list).
      const truncateAt = spec.truncateAt ?? TRUNCATE_AT;
      const truncated = runOurs(dir, TEXTS, ["--max-length", String(truncateAt)]);
      let nTruncated = 0;
      TEXTS.forEach((text, i) => {
        const full = t.encode(text).ids;
        const mask = ours[i].special_mask;
        const nSpecial = mask.reduce((a, b) => a + b, 0);
        const nPrefix = mask.indexOf(0) < 0 ? 0 : mask.indexOf(0);
        const room = truncateAt - nSpecial;
        const cut = full.length - nSpecial > room;
        const expectIds = cut ? [...full.slice(0, nPrefix + room), ...full.slice(full.length - (nSpecial - nPrefix))] : full;
        const got = truncated[i];
        if (cut) ++nTruncated;
        if (JSON.stringify(got.ids) !== JSON.stringify(expectIds) || got.truncated !== cut)
          failures.push(`  [${CATEGORY_OF[i]}] text ${i} ${show(text)}\n      with --max-length ${truncateAt}: ` +
            `expected ids ${JSON.stringify(expectIds)} (truncated: ${cut}), ours ${JSON.stringify(got.ids)} ` +
            `(truncated: ${got.truncated})`);
      });

      console.log(`${spec.name}: ${TEXTS.length} texts, ${nTokens} tokens compared (ids, tokens, offsets), ` +
        `${nTruncated} truncated at ${truncateAt}: ${failures.length} mismatches`);
      if (failures.length) {
        const shown = failures.slice(0, MAX_SHOWN).join("\n");
        const more = failures.length > MAX_SHOWN ? `\n  ... and ${failures.length - MAX_SHOWN} more` : "";
        expect.fail(`${spec.name}: ${failures.length} of ${TEXTS.length} texts differ from Hugging Face:\n${shown}${more}`);
      }
    }, 300_000);
  }
});
