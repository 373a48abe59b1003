#!/usr/bin/python3
"""Writes the tiny tokenizer fixtures under tests/golden/io/ (run from anywhere).

bert_tiny/     vocab.txt, tokenizer.json (BertNormalizer lowercase, WordPiece),
               tokenizer_config.json, config.json
roberta_tiny/  vocab.json, merges.txt, tokenizer.json (ByteLevel BPE,
               RobertaProcessing), config.json
words_tiny/    vocab.txt (<pad>, <unk>, then words), config.json (wordlight-cnn)

The vocabularies are made up and small; the expected tokenizations in
tests/cpp/test_tokenizers.cpp are derived by hand from them.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden_common import roberta_bpe_vocab, roberta_tokenizer_json, wordpiece_tokenizer_json  # noqa: E402  (the shared parts of the Python scripts)

HERE = os.path.dirname(os.path.abspath(__file__))

BERT_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "hello", "world", ",", "!", ".", "'", "?",
    "na", "##ive", "cafe", "北", "京", "don", "t", "the",
    "un", "##aff", "##able", "##a", "a", "play", "##ing", "##s", "movie",
    "is", "great", "i", "love", "it", "ελ", "ελλ", "##ηνικα", "한", "ᄒ", "##ᅡ", "##ᆫ", "x",
]

# Byte-level BPE: every byte symbol, then the merges' results.
BPE_MERGES = [
    ("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"),
    ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "d"), ("Ġwor", "ld"),
    ("Ġ", "t"), ("h", "i"), ("Ġt", "hi"), ("Ġthi", "s"),
    ("Ġ", "i"), ("Ġi", "s"), ("'", "s"), ("Ġ", "1"), ("Ġ1", "2"),
    ("Ã", "©"), ("c", "a"), ("ca", "f"), ("caf", "Ã©"),
]

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

def bert():
    d = os.path.join(HERE, "bert_tiny")
    write(os.path.join(d, "vocab.txt"), "\n".join(BERT_VOCAB) + "\n")
    tok = wordpiece_tokenizer_json({t: i for i, t in enumerate(BERT_VOCAB)})
    write(os.path.join(d, "tokenizer.json"), json.dumps(tok, ensure_ascii=False, indent=1) + "\n")
    write(os.path.join(d, "tokenizer_config.json"), json.dumps({"do_lower_case": True, "model_max_length": 512}) + "\n")
    cfg = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": len(BERT_VOCAB),
           "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
           "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
           "pad_token_id": 0, "id2label": {"0": "NEGATIVE", "1": "POSITIVE"},
           "label2id": {"NEGATIVE": 0, "POSITIVE": 1}}
    write(os.path.join(d, "config.json"), json.dumps(cfg, indent=1) + "\n")

def roberta():
    d = os.path.join(HERE, "roberta_tiny")
    vocab = roberta_bpe_vocab(BPE_MERGES)
    tokens = list(vocab)
    write(os.path.join(d, "vocab.json"), json.dumps(vocab, ensure_ascii=False) + "\n")
    write(os.path.join(d, "merges.txt"), "#version: 0.2\n" + "".join("%s %s\n" % m for m in BPE_MERGES))
    tok = roberta_tokenizer_json(vocab, BPE_MERGES)
    write(os.path.join(d, "tokenizer.json"), json.dumps(tok, ensure_ascii=False, indent=1) + "\n")
    cfg = {"architectures": ["RobertaForMaskedLM"], "model_type": "roberta", "vocab_size": len(tokens),
           "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
           "max_position_embeddings": 14, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
           "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
    write(os.path.join(d, "config.json"), json.dumps(cfg, indent=1) + "\n")

WORDS = ["<pad>", "<unk>", "the", "movie", "is", "n't", "'s", "it", "do", "ca", "good", "bad", ",", ".", "!",
         "``", "''", "-lrb-", "-rrb-", "mr.", "well-made", "film", "a", "--", "...", "not", "funny", "?", "café"]

def words():
    d = os.path.join(HERE, "words_tiny")
    write(os.path.join(d, "vocab.txt"), "\n".join(WORDS) + "\n")
    cfg = {"model_type": "wordlight-cnn", "vocab_size": len(WORDS), "embedding_dim": 4, "num_filters": 2,
           "kernel_size": [2, 3], "num_labels": 2, "id2label": {"0": "negative", "1": "positive"},
           "max_length": 12}
    write(os.path.join(d, "config.json"), json.dumps(cfg, indent=1) + "\n")

if __name__ == "__main__":
    bert()
    roberta()
    words()
