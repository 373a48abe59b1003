"""What the Python scripts of the repository share: the scripts that write
the goldens (tests/golden), the PyTorch references of the benchmarks
(bench/*.py) and the BPE learner of the recipes (models/recipes): reading
safetensors, GPT-2's byte table, BERT's punctuation split and its
tokenizer.json.

Import it after putting this folder on sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
    from golden_common import read_safetensors, bytes_to_unicode

numpy and torch are imported only by read_safetensors, so that the tokenizer
scripts run without them.
"""
import json
import struct
import unicodedata


def bytes_to_unicode():
    """GPT-2's byte -> symbol table (encoder.py's bytes_to_unicode): the
    printable Latin-1 bytes stand for themselves, the others for 256 + n."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_safetensors(path, dtype=None):
    """A safetensors file -> {name: torch tensor} of `dtype` (torch.float32
    when None). F32, F16 and BF16 tensors (and F64, I64) are read; any other
    stored type is refused naming the tensor."""
    import numpy as np
    import torch

    stored = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8"}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        raw = data[a:b]
        if h["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif h["dtype"] in stored:
            arr = np.frombuffer(raw, dtype=stored[h["dtype"]])
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {h['dtype']} (F32, F16, BF16, F64 or I64 expected)")
        out[name] = torch.from_numpy(arr.reshape(h["shape"]).copy()).to(dtype or torch.float32)
    return out


def is_bert_punct(ch):
    """BERT's punctuation: ASCII symbols and every Unicode P* character."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def split_punctuation(text, is_punct=is_bert_punct):
    """Whitespace, then each punctuation character as a word of its own
    (BERT's basic tokenizer after its normaliser)."""
    words = []
    for chunk in text.split():
        cur = ""
        for ch in chunk:
            if is_punct(ch):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


def wordpiece_tokenizer_json(ids):
    """A tokenizers' tokenizer.json of a lower-casing BERT WordPiece
    vocabulary `ids` (token -> id, [PAD] [UNK] [CLS] [SEP] [MASK] in it)."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t in specials],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [ids["[CLS]"]], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [ids["[SEP]"]], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }



def roberta_bpe_vocab(merges):
    """RoBERTa's token order for a byte-level BPE of `merges` (pairs):
    <s> <pad> </s> <unk>, the 256 byte symbols, each merge's result once,
    <mask> -> {token: id}."""
    b2u = bytes_to_unicode()
    tokens = ["<s>", "<pad>", "</s>", "<unk>"] + [b2u[b] for b in range(256)]
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    tokens.append("<mask>")
    return {t: i for i, t in enumerate(tokens)}


def roberta_tokenizer_json(vocab, merges):
    """A tokenizers' tokenizer.json of a RoBERTa byte-level BPE: no
    normalizer, ByteLevel pre-tokenizer, RobertaProcessing, the five special
    tokens added (<mask> with lstrip)."""
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False,
              "normalized": False, "special": True} for t in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]], "cls": ["<s>", vocab["<s>"]],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": ["%s %s" % m for m in merges]},
    }

def wordpiece_word(word, vocab):
    """BERT's greedy longest-match-first WordPiece of one word -> its ids,
    or None when some part of it matches no piece of `vocab`."""
    ids, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return None
        ids.append(vocab[piece])
        start = end
    return ids
