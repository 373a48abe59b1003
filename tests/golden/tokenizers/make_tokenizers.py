#!/usr/bin/python3
"""Writes the tokenizer fixtures that tests/js/tokenizer_compare.test.mjs
runs through both our tokenizers and Hugging Face's (@huggingface/transformers).

There is no model hub here, so the files are made from SST text the way
Hugging Face's own tools would lay them out:

bert_wordpiece/  tokenizer.json in the exact layout of bert-base-uncased
                 (BertNormalizer lowercase + strip accents, BertPreTokenizer,
                 WordPiece, TemplateProcessing [CLS] $A [SEP], WordPiece
                 decoder), tokenizer_config.json, config.json
bert_vocab/      the same vocabulary as a plain vocab.txt (BertTokenizer's
                 route: the test converts it the way transformers'
                 BertConverter does), tokenizer_config.json, config.json
roberta_bpe/     tokenizer.json in the layout of roberta-base (ByteLevel
                 pre-tokenizer without prefix space, BPE, RobertaProcessing
                 <s> $A </s>, special tokens <s> <pad> </s> <unk> <mask>),
                 tokenizer_config.json, config.json
roberta_files/   the same BPE as vocab.json + merges.txt (RobertaTokenizer's
                 route), tokenizer_config.json, config.json

The WordPiece vocabulary is counted: every character seen (alone and as
"##c"), the most frequent words, and the most frequent word beginnings and
"##" endings of the rarer words, plus a few letters of other scripts so that
Greek, Cyrillic, CJK and Hangul text is not all [UNK]. The BPE merges are
learned by plain byte-level BPE (most frequent pair first, ties broken by
the pair itself) over the GPT-2 pre-tokenisation of the same text. Both read
SST from ../shared/data (nothing of it is copied here but these counts).

Run from anywhere: /usr/bin/python3 tests/golden/tokenizers/make_tokenizers.py
[--sst PATH]... (default: the SST-2 training sentences and the cased SST
training trees). The output is deterministic.
"""
import argparse
import collections
import heapq
import json
import os
import re
import sys
import unicodedata

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden_common import bytes_to_unicode, is_bert_punct, wordpiece_tokenizer_json  # noqa: E402  (the shared parts of the Python scripts)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "sst"))

N_WORDS = 2200           # whole words in the WordPiece vocabulary
N_PREFIXES = 400         # word-initial pieces of the rarer words
N_SUFFIXES = 600         # "##" continuation pieces of the rarer words
N_MERGES = 1800          # BPE merges
EXTRA_CHARS = ("北京电影中文日本語東好的是人大小一" "αβγδεηικλμνοπρστυφω" "абвгдеиклмнопрстуя"
               "\u1100\u1102\u1103\u1105\u1106\u1107\u1109\u110b\u110c\u1112"  # Hangul leading jamo
               "\u1161\u1165\u1169\u116e\u1173\u1175"                          # vowels
               "\u11a8\u11ab\u11af\u11b7\u11bc"                                # trailing jamo
               "♥❤☺★")
EXTRA_WORDS = ["北京", "ελ", "ελλ", "##ηνικα", "кино", "фильм", "##ы"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_json(path, obj, indent=None):
    write(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def read_sentences(paths):
    """Sentences of stsa.* files ("label sentence") and PTB tree files."""
    out = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                if line.startswith("("):
                    leaves = re.findall(r"\(\d+ ([^()]+)\)", line)
                    out.append(" ".join(leaves))
                else:
                    out.append(line.split(" ", 1)[1] if " " in line else "")
    return out


# ---------------------------------------------------------------- WordPiece

def bert_words(text):
    """BertNormalizer (lowercase, strip accents) + BertPreTokenizer."""
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()
    words, cur = [], []
    for c in text:
        if c.isspace():
            if cur:
                words.append("".join(cur))
            cur = []
        elif is_bert_punct(c):
            if cur:
                words.append("".join(cur))
            cur = []
            words.append(c)
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


def wordpiece_vocab(sentences):
    counts = collections.Counter(w for s in sentences for w in bert_words(s))
    chars = sorted({c for w in counts for c in w} | set(EXTRA_CHARS))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += chars + ["##" + c for c in chars]
    by_freq = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = [w for w, _ in by_freq if len(w) > 1][:N_WORDS]
    vocab += top
    rare = [(w, n) for w, n in by_freq if len(w) > 3 and w not in set(top)]
    pre, suf = collections.Counter(), collections.Counter()
    for w, n in rare:
        for k in range(2, min(6, len(w) - 1) + 1):
            pre[w[:k]] += n
            suf["##" + w[-k:]] += n
    vocab += [p for p, _ in sorted(pre.items(), key=lambda kv: (-kv[1], kv[0]))[:N_PREFIXES]]
    vocab += [s for s, _ in sorted(suf.items(), key=lambda kv: (-kv[1], kv[0]))[:N_SUFFIXES]]
    vocab += EXTRA_WORDS
    seen, out = set(), []
    for t in vocab:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def bert_config(vocab_size):
    return {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": vocab_size,
            "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
            "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
            "hidden_act": "gelu", "pad_token_id": 0, "id2label": {"0": "negative", "1": "positive"},
            "label2id": {"negative": 0, "positive": 1}}


def write_bert(vocab):
    tok = wordpiece_tokenizer_json({t: i for i, t in enumerate(vocab)})
    config = {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
              "model_max_length": 512, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]",
              "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
              "clean_up_tokenization_spaces": True}
    d = os.path.join(HERE, "bert_wordpiece")
    write_json(os.path.join(d, "tokenizer.json"), tok, indent=1)
    write_json(os.path.join(d, "tokenizer_config.json"), config, indent=1)
    write_json(os.path.join(d, "config.json"), bert_config(len(vocab)), indent=1)
    d = os.path.join(HERE, "bert_vocab")
    write(os.path.join(d, "vocab.txt"), "".join(t + "\n" for t in vocab))
    write_json(os.path.join(d, "tokenizer_config.json"), config, indent=1)
    write_json(os.path.join(d, "config.json"), bert_config(len(vocab)), indent=1)


# ---------------------------------------------------------------- byte-level BPE

def char_kind(c):
    if c.isspace():
        return "s"
    cat = unicodedata.category(c)
    return "l" if cat[0] == "L" else "n" if cat[0] == "N" else "o"


def gpt2_pieces(text):
    """'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    out, i, n = [], 0, len(text)
    while i < n:
        m = re.match(r"'(?:s|t|re|ve|m|ll|d)", text[i:])
        if m:
            out.append(m.group(0))
            i += len(m.group(0))
            continue
        j = i + 1 if text[i] == " " and i + 1 < n else i
        k = char_kind(text[j])
        if k != "s":
            e = j
            while e < n and char_kind(text[e]) == k:
                e += 1
            out.append(text[i:e])
            i = e
            continue
        e = i
        while e < n and text[e].isspace():
            e += 1
        if e < n and e - i > 1:
            e -= 1
        out.append(text[i:e])
        i = e
    return out


def learn_bpe(sentences):
    b2u = bytes_to_unicode()
    words = collections.Counter()
    for s in sentences:
        for p in gpt2_pieces(s):
            words["".join(b2u[b] for b in p.encode("utf-8"))] += 1
    # Incremental pair counts: word symbols, pair -> count, pair -> words.
    syms = {w: list(w) for w in words}
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for w, n in words.items():
        s = syms[w]
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += n
            where[(a, b)].add(w)
    # A max-heap of (-count, pair) with lazy deletion: an entry whose count
    # is stale is re-pushed with the current count when it surfaces.
    heap = [(-n, p) for p, n in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while heap and len(merges) < N_MERGES:
        neg, best = heapq.heappop(heap)
        n_now = pairs.get(best, 0)
        if -neg != n_now:
            if n_now > 0:
                heapq.heappush(heap, (-n_now, best))
            continue
        if n_now < 2:
            break
        merges.append(best)
        a, b = best
        for w in list(where[best]):
            s, n = syms[w], words[w]
            for x, y in zip(s, s[1:]):
                pairs[(x, y)] -= n
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            syms[w] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += n
                where[(x, y)].add(w)
                heapq.heappush(heap, (-pairs[(x, y)], (x, y)))
        del pairs[best]
        del where[best]
    return merges


def roberta_config(vocab_size):
    return {"architectures": ["RobertaForSequenceClassification"], "model_type": "roberta",
            "vocab_size": vocab_size, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 16, "max_position_embeddings": 514, "type_vocab_size": 1,
            "layer_norm_eps": 1e-5, "hidden_act": "gelu", "pad_token_id": 1, "bos_token_id": 0,
            "eos_token_id": 2, "id2label": {"0": "negative", "1": "positive"},
            "label2id": {"negative": 0, "positive": 1}}


def write_roberta(merges):
    b2u = bytes_to_unicode()
    tokens = ["<s>", "<pad>", "</s>", "<unk>"] + [b2u[b] for b in range(256)]
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            seen.add(a + b)
            tokens.append(a + b)
    tokens.append("<mask>")
    ids = {t: i for i, t in enumerate(tokens)}

    def added(t, lstrip=False, normalized=True):
        return {"id": ids[t], "content": t, "single_word": False, "lstrip": lstrip, "rstrip": False,
                "normalized": normalized, "special": True}

    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added("<s>"), added("<pad>"), added("</s>"), added("<unk>"),
                         added("<mask>", lstrip=True, normalized=False)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", ids["</s>"]], "cls": ["<s>", ids["<s>"]],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": ids, "merges": ["%s %s" % m for m in merges]},
    }
    config = {"add_prefix_space": False, "trim_offsets": True, "errors": "replace", "model_max_length": 512,
              "tokenizer_class": "RobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
              "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
              "mask_token": "<mask>", "clean_up_tokenization_spaces": True}
    d = os.path.join(HERE, "roberta_bpe")
    write_json(os.path.join(d, "tokenizer.json"), tok, indent=1)
    write_json(os.path.join(d, "tokenizer_config.json"), config, indent=1)
    write_json(os.path.join(d, "config.json"), roberta_config(len(tokens)), indent=1)
    d = os.path.join(HERE, "roberta_files")
    write_json(os.path.join(d, "vocab.json"), ids)
    write(os.path.join(d, "merges.txt"), "#version: 0.2\n" + "".join("%s %s\n" % m for m in merges))
    write_json(os.path.join(d, "tokenizer_config.json"), config, indent=1)
    write_json(os.path.join(d, "config.json"), roberta_config(len(tokens)), indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sst", action="append",
                    help="SST file(s): stsa.* sentences or PTB trees (default: %s/stsa.binary.train and "
                         "%s/train.txt)" % (SHARED, SHARED))
    args = ap.parse_args()
    paths = args.sst or [os.path.join(SHARED, "stsa.binary.train"), os.path.join(SHARED, "train.txt")]
    sentences = read_sentences(paths)
    vocab = wordpiece_vocab(sentences)
    write_bert(vocab)
    merges = learn_bpe(sentences)
    write_roberta(merges)
    print("%d sentences -> WordPiece vocabulary of %d, %d BPE merges" % (len(sentences), len(vocab), len(merges)))


if __name__ == "__main__":
    main()
