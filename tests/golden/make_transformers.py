#!/usr/bin/python3
"""Writes tiny random transformer checkpoints in the Hugging Face layout and
their reference outputs, computed by an independent implementation in plain
PyTorch (Debian's python3-torch; the `transformers` package is not available
here, so the architectures are written out below from the Hugging Face
modelling code's definitions).

For each architecture, tests/golden/transformers/<name>/ gets:
  config.json, model.safetensors, vocab.txt (WordPiece) or vocab.json +
  merges.txt (byte-level BPE), and golden.json with the token ids, the
  attention mask, the logits, and the gradient of one logit (classification)
  or one masked-position score (masked LM) with respect to the input word
  embeddings (the output of the word-embedding lookup, before position and
  token-type embeddings are added).

Run:  /usr/bin/python3 tests/golden/make_transformers.py
The tests only read the files; this script is not needed to run them.
"""
import json
import math
import os
import struct

import torch

torch.manual_seed(20261122)
torch.set_default_dtype(torch.float64)  # references in double, stored as float32 values

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "transformers")

WORDS = ["the", "movie", "was", "great", "bad", "not", "very", "fun", "plot", "acting", "boring", "and", "but",
         "a", "film", "love", "hate", "good", "story", "it", "is", "##s", "##ing", "##ed", "!", ".", ","]


def write_safetensors(path, tensors):
    """tensors: list of (name, float tensor); stored as F32 (the format of
    the Hugging Face safetensors library: u64 header size, JSON header padded
    with spaces to 8 bytes, then the data)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rnd(*shape, std=0.2):
    # Round through float32 so that the stored weights are exactly the ones
    # the reference computed with.
    return (torch.randn(*shape) * std).to(torch.float32).to(torch.float64)


def dense(w, prefix, out, inp):
    """A linear layer's random weight (out, inp) and bias into w, in that order."""
    w[prefix + "weight"] = rnd(out, inp)
    w[prefix + "bias"] = rnd(out, std=0.05)


def layer_norm_params(w, prefix, C):
    """A LayerNorm's random weight (about 1) and bias into w, in that order."""
    w[prefix + "weight"] = 1 + rnd(C, std=0.1)
    w[prefix + "bias"] = rnd(C, std=0.1)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def attention(x, mask, wq, bq, wk, bk, wv, bv, heads):
    B, T, C = x.shape
    dh = C // heads
    q = (x @ wq.T + bq).view(B, T, heads, dh).transpose(1, 2)
    k = (x @ wk.T + bk).view(B, T, heads, dh).transpose(1, 2)
    v = (x @ wv.T + bv).view(B, T, heads, dh).transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(dh)
    s = s.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
    p = torch.softmax(s, -1)
    return (p @ v).transpose(1, 2).reshape(B, T, C)


class Bertish:
    """BERT and RoBERTa share the encoder; they differ in embeddings'
    position ids, tokenizer, and heads."""

    def __init__(self, family, head, V, C=16, L=2, H=2, F=32, P=40, types=2, labels=3, eps=1e-12, pad=0):
        self.family, self.head, self.V, self.C, self.L, self.H, self.F = family, head, V, C, L, H, F
        self.P, self.types, self.labels, self.eps, self.pad = P, types, labels, eps, pad
        pre = "bert" if family == "bert" else "roberta"
        self.pre = pre
        w = {}
        e = f"{pre}.embeddings."
        w[e + "word_embeddings.weight"] = rnd(V, C)
        w[e + "position_embeddings.weight"] = rnd(P, C)
        w[e + "token_type_embeddings.weight"] = rnd(types, C)
        layer_norm_params(w, e + "LayerNorm.", C)
        for i in range(L):
            l = f"{pre}.encoder.layer.{i}."
            for n in ("query", "key", "value"):
                dense(w, l + f"attention.self.{n}.", C, C)
            dense(w, l + "attention.output.dense.", C, C)
            layer_norm_params(w, l + "attention.output.LayerNorm.", C)
            dense(w, l + "intermediate.dense.", F, C)
            dense(w, l + "output.dense.", C, F)
            layer_norm_params(w, l + "output.LayerNorm.", C)
        if head == "cls":
            if family == "bert":
                dense(w, "bert.pooler.dense.", C, C)
                dense(w, "classifier.", labels, C)
            else:
                dense(w, "classifier.dense.", C, C)
                dense(w, "classifier.out_proj.", labels, C)
        else:
            if family == "bert":
                dense(w, "cls.predictions.transform.dense.", C, C)
                layer_norm_params(w, "cls.predictions.transform.LayerNorm.", C)
                w["cls.predictions.bias"] = rnd(V, std=0.05)
            else:
                dense(w, "lm_head.dense.", C, C)
                layer_norm_params(w, "lm_head.layer_norm.", C)
                w["lm_head.bias"] = rnd(V, std=0.05)
        self.w = w

    def position_ids(self, ids):
        if self.family == "bert":
            return torch.arange(ids.shape[1]).expand_as(ids)
        # RoBERTa: positions count non-padding tokens from padding_idx + 1.
        m = (ids != self.pad).long()
        return torch.cumsum(m, 1) * m + self.pad

    def forward(self, word_emb, ids, mask):
        w, e = self.w, f"{self.pre}.embeddings."
        x = word_emb + w[e + "position_embeddings.weight"][self.position_ids(ids)] + \
            w[e + "token_type_embeddings.weight"][torch.zeros_like(ids)]
        x = layer_norm(x, w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"], self.eps)
        for i in range(self.L):
            l = f"{self.pre}.encoder.layer.{i}."
            a = attention(x, mask, *(w[l + f"attention.self.{n}.{p}"] for n in ("query", "key", "value")
                                     for p in ("weight", "bias")), self.H)
            a = a @ w[l + "attention.output.dense.weight"].T + w[l + "attention.output.dense.bias"]
            x = layer_norm(x + a, w[l + "attention.output.LayerNorm.weight"], w[l + "attention.output.LayerNorm.bias"],
                           self.eps)
            f = gelu(x @ w[l + "intermediate.dense.weight"].T + w[l + "intermediate.dense.bias"])
            f = f @ w[l + "output.dense.weight"].T + w[l + "output.dense.bias"]
            x = layer_norm(x + f, w[l + "output.LayerNorm.weight"], w[l + "output.LayerNorm.bias"], self.eps)
        if self.head == "cls":
            c = x[:, 0]
            if self.family == "bert":
                c = torch.tanh(c @ w["bert.pooler.dense.weight"].T + w["bert.pooler.dense.bias"])
                return c @ w["classifier.weight"].T + w["classifier.bias"]
            c = torch.tanh(c @ w["classifier.dense.weight"].T + w["classifier.dense.bias"])
            return c @ w["classifier.out_proj.weight"].T + w["classifier.out_proj.bias"]
        we = w[e + "word_embeddings.weight"]
        if self.family == "bert":
            t = gelu(x @ w["cls.predictions.transform.dense.weight"].T + w["cls.predictions.transform.dense.bias"])
            t = layer_norm(t, w["cls.predictions.transform.LayerNorm.weight"],
                           w["cls.predictions.transform.LayerNorm.bias"], self.eps)
            return t @ we.T + w["cls.predictions.bias"]  # decoder tied to the word embeddings
        t = gelu(x @ w["lm_head.dense.weight"].T + w["lm_head.dense.bias"])
        t = layer_norm(t, w["lm_head.layer_norm.weight"], w["lm_head.layer_norm.bias"], self.eps)
        return t @ we.T + w["lm_head.bias"]

    def config(self):
        arch = {("bert", "cls"): "BertForSequenceClassification", ("bert", "mlm"): "BertForMaskedLM",
                ("roberta", "cls"): "RobertaForSequenceClassification",
                ("roberta", "mlm"): "RobertaForMaskedLM"}[(self.family, self.head)]
        c = {"architectures": [arch], "model_type": self.family, "vocab_size": self.V, "hidden_size": self.C,
             "num_hidden_layers": self.L, "num_attention_heads": self.H, "intermediate_size": self.F,
             "hidden_act": "gelu", "max_position_embeddings": self.P, "type_vocab_size": self.types,
             "layer_norm_eps": self.eps, "pad_token_id": self.pad, "hidden_dropout_prob": 0.1,
             "attention_probs_dropout_prob": 0.1}
        if self.head == "cls":
            c["id2label"] = {str(i): f"LABEL_{i}" for i in range(self.labels)}
            c["label2id"] = {f"LABEL_{i}": i for i in range(self.labels)}
        if self.family == "roberta":
            c["bos_token_id"], c["eos_token_id"] = 0, 2
        return c


class DistilBertish:
    def __init__(self, head, V, C=16, L=2, H=2, F=32, P=40, labels=3):
        self.head, self.V, self.C, self.L, self.H, self.F, self.P, self.labels = head, V, C, L, H, F, P, labels
        w = {}
        e = "distilbert.embeddings."
        w[e + "word_embeddings.weight"] = rnd(V, C)
        w[e + "position_embeddings.weight"] = rnd(P, C)
        layer_norm_params(w, e + "LayerNorm.", C)
        for i in range(L):
            l = f"distilbert.transformer.layer.{i}."
            for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
                dense(w, l + f"attention.{n}.", C, C)
            layer_norm_params(w, l + "sa_layer_norm.", C)
            dense(w, l + "ffn.lin1.", F, C)
            dense(w, l + "ffn.lin2.", C, F)
            layer_norm_params(w, l + "output_layer_norm.", C)
        if head == "cls":
            dense(w, "pre_classifier.", C, C)
            dense(w, "classifier.", labels, C)
        else:
            dense(w, "vocab_transform.", C, C)
            layer_norm_params(w, "vocab_layer_norm.", C)
            w["vocab_projector.bias"] = rnd(V, std=0.05)
        self.w = w

    def forward(self, word_emb, ids, mask):
        w, eps = self.w, 1e-12
        x = word_emb + w["distilbert.embeddings.position_embeddings.weight"][torch.arange(ids.shape[1])][None]
        x = layer_norm(x, w["distilbert.embeddings.LayerNorm.weight"], w["distilbert.embeddings.LayerNorm.bias"], eps)
        for i in range(self.L):
            l = f"distilbert.transformer.layer.{i}."
            a = attention(x, mask, *(w[l + f"attention.{n}.{p}"] for n in ("q_lin", "k_lin", "v_lin")
                                     for p in ("weight", "bias")), self.H)
            a = a @ w[l + "attention.out_lin.weight"].T + w[l + "attention.out_lin.bias"]
            x = layer_norm(x + a, w[l + "sa_layer_norm.weight"], w[l + "sa_layer_norm.bias"], eps)
            f = gelu(x @ w[l + "ffn.lin1.weight"].T + w[l + "ffn.lin1.bias"])
            f = f @ w[l + "ffn.lin2.weight"].T + w[l + "ffn.lin2.bias"]
            x = layer_norm(x + f, w[l + "output_layer_norm.weight"], w[l + "output_layer_norm.bias"], eps)
        if self.head == "cls":
            c = torch.relu(x[:, 0] @ w["pre_classifier.weight"].T + w["pre_classifier.bias"])
            return c @ w["classifier.weight"].T + w["classifier.bias"]
        t = gelu(x @ w["vocab_transform.weight"].T + w["vocab_transform.bias"])
        t = layer_norm(t, w["vocab_layer_norm.weight"], w["vocab_layer_norm.bias"], eps)
        return t @ w["distilbert.embeddings.word_embeddings.weight"].T + w["vocab_projector.bias"]

    def config(self):
        c = {"architectures": ["DistilBertForSequenceClassification" if self.head == "cls" else "DistilBertForMaskedLM"],
             "model_type": "distilbert", "vocab_size": self.V, "dim": self.C, "n_layers": self.L,
             "n_heads": self.H, "hidden_dim": self.F, "activation": "gelu", "max_position_embeddings": self.P,
             "sinusoidal_pos_embds": False, "pad_token_id": 0, "dropout": 0.1, "attention_dropout": 0.1,
             "seq_classif_dropout": 0.2}
        if self.head == "cls":
            c["id2label"] = {str(i): f"LABEL_{i}" for i in range(self.labels)}
            c["label2id"] = {f"LABEL_{i}": i for i in range(self.labels)}
        return c


def wordpiece_vocab():
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS


def bpe_files():
    # A small byte-level BPE vocabulary: the 256 byte symbols are not all
    # needed for the golden ids (they are chosen directly), so the vocab holds
    # the specials and the words with the GPT-2 space marker.
    toks = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + [w for w in WORDS if not w.startswith("##")] + \
           ["\u0120" + w for w in WORDS if w.isalpha()]
    return toks


def make(name, model, vocab_kind, ids, mask, target):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    cfg = model.config()
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), sorted(model.w.items()))
    if vocab_kind == "wordpiece":
        with open(os.path.join(d, "vocab.txt"), "w") as f:
            f.write("\n".join(wordpiece_vocab()) + "\n")
    else:
        toks = bpe_files()
        with open(os.path.join(d, "vocab.json"), "w") as f:
            json.dump({t: i for i, t in enumerate(toks)}, f)
        with open(os.path.join(d, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n")
    wname = [k for k in model.w if k.endswith("word_embeddings.weight")][0]
    out, emb = write_golden(d, model, wname, ids, mask, target)
    print(f"{name}: logits {tuple(out.shape)}, |grad| {emb.grad.norm():.4f}")


def write_golden(d, model, word_table, ids, mask, target):
    """d/golden.json: the logits of `ids` and the gradient of the explained
    scalar at the word embeddings (rows of model.w[word_table]) -> (logits,
    embeddings). The explained scalar: logit[b, target[b]] summed over the
    batch for a classifier; for a language model, the score of token
    target[b] at position 1. Shared with make_gpt2.py."""
    ids_t = torch.tensor(ids)
    mask_t = torch.tensor(mask)
    emb = model.w[word_table][ids_t].clone().requires_grad_(True)
    out = model.forward(emb, ids_t, mask_t)
    if out.dim() == 2:
        y = sum(out[b, target[b]] for b in range(len(ids)))
    else:
        y = sum(out[b, 1, target[b]] for b in range(len(ids)))
    y.backward()
    golden = {"input_ids": ids, "attention_mask": mask, "target": target, "logits_shape": list(out.shape),
              "logits": out.detach().flatten().tolist(), "explained": "sum_b logits[b, target[b]]"
              if out.dim() == 2 else "sum_b logits[b, 1, target[b]]",
              "grad_word_embeddings_shape": list(emb.shape), "grad_word_embeddings": emb.grad.flatten().tolist()}
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(golden, f)
    return out, emb


def main():
    V_wp = len(wordpiece_vocab())
    V_bpe = len(bpe_files())
    # Two sequences, the second padded: checks masking and position ids.
    ids_wp = [[2, 5, 6, 7, 8, 21, 3], [2, 9, 10, 3, 0, 0, 0]]
    mask = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]]
    ids_bpe = [[0, 5, 40, 41, 42, 30, 2], [0, 6, 43, 2, 1, 1, 1]]
    make("bert-cls", Bertish("bert", "cls", V_wp), "wordpiece", ids_wp, mask, [0, 2])
    make("bert-mlm", Bertish("bert", "mlm", V_wp), "wordpiece", ids_wp, mask, [7, 9])
    make("distilbert-cls", DistilBertish("cls", V_wp), "wordpiece", ids_wp, mask, [1, 0])
    make("distilbert-mlm", DistilBertish("mlm", V_wp), "wordpiece", ids_wp, mask, [11, 12])
    make("roberta-cls", Bertish("roberta", "cls", V_bpe, pad=1, types=1, eps=1e-5), "bpe", ids_bpe, mask, [2, 1])
    make("roberta-mlm", Bertish("roberta", "mlm", V_bpe, pad=1, types=1, eps=1e-5), "bpe", ids_bpe, mask, [8, 9])


if __name__ == "__main__":
    main()
