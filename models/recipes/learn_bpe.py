#!/usr/bin/env python3
"""A byte-level BPE vocabulary (GPT-2's scheme) learned from text files.

Writes vocab.json and merges.txt in the Hugging Face / OpenAI GPT-2 layout:
the 256 byte symbols (GPT-2's bytes_to_unicode map), then one token per merge
in the order learned, then <|endoftext|> last (as in GPT-2). Words are
pre-tokenized with GPT-2's regular expression; merges repeatedly join the most
frequent adjacent pair (ties: the pair that sorts first), as tokenizers'
BpeTrainer does, until vocab_size tokens. Deterministic.

With --roberta, RoBERTa's special tokens instead: <s> <pad> </s> <unk> first
(ids 0-3, as in roberta-base), then the bytes and merges, <mask> last.

Usage: learn_bpe.py --vocab-size N [--roberta] --out DIR FILE... ("-" reads stdin)
Each input line is one text (IMDB's "<br />" is read as a space).
"""
import argparse
import collections
import json
import os
import sys

import regex  # Debian's python3-regex: \p{L} and \p{N} as GPT-2's pattern needs

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
from golden_common import bytes_to_unicode  # noqa: E402  (the shared parts of the Python scripts)

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab-size", type=int, required=True)
    ap.add_argument("--min-frequency", type=int, default=2)
    ap.add_argument("--roberta", action="store_true", help="RoBERTa's special tokens instead of <|endoftext|>")
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    b2u = bytes_to_unicode()
    counts = collections.Counter()
    for f in a.files:
        fh = sys.stdin if f == "-" else open(f, encoding="utf-8", errors="replace")
        for line in fh:
            line = line.rstrip("\n").replace("<br />", " ")
            for w in PAT.findall(line):
                counts["".join(b2u[b] for b in w.encode("utf-8"))] += 1
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pairs[p] += freq[i]
            where[p].add(i)
    alphabet = [b2u[b] for b in range(256)]
    first = ["<s>", "<pad>", "</s>", "<unk>"] if a.roberta else []
    vocab = {s: i for i, s in enumerate(first + alphabet)}
    merges = []
    target = a.vocab_size - 1  # <|endoftext|> (<mask>) last
    while len(vocab) < target and pairs:
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        (x, y), c = best
        if c < a.min_frequency:
            break
        merges.append((x, y))
        new = x + y
        vocab.setdefault(new, len(vocab))
        for i in sorted(where.pop((x, y), ())):
            w = words[i]
            for p in zip(w, w[1:]):
                pairs[p] -= freq[i]
                if pairs[p] <= 0:
                    del pairs[p]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == x and w[j + 1] == y:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pairs[p] += freq[i]
                where[p].add(i)
        pairs.pop((x, y), None)
    vocab["<mask>" if a.roberta else "<|endoftext|>"] = len(vocab)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(a.out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for x, y in merges:
            f.write(f"{x} {y}\n")
    print(json.dumps({"vocab_size": len(vocab), "merges": len(merges), "words": len(counts)}))


if __name__ == "__main__":
    main()
