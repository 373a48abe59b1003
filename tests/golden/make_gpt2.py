#!/usr/bin/python3
"""Writes tiny random GPT-2 checkpoints in the Hugging Face layout
(GPT2ForSequenceClassification and GPT2LMHeadModel) and their reference
outputs, computed by an independent GPT-2 in plain PyTorch written here from
the formulas of the Hugging Face modelling code (Debian's python3-torch; the
`transformers` package is not available here):

  x = wte[ids] + wpe[0..T-1]
  per block (pre-LayerNorm):
    x = x + c_proj(causal_attention(c_attn(ln_1(x))))
    x = x + mlp.c_proj(gelu_new(mlp.c_fc(ln_2(x))))
  h = ln_f(x)
  LM head:          logits = h wte^T                       (tied)
  classifier:       logits = score(h[b, last real token])  (no bias)

Conv1D layers (c_attn, c_proj, c_fc) store their weight as (in, out) and
compute x W + b; gelu_new is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
The weights are random and not small (std 0.2, LayerNorm scales around 1),
so that every term matters in the logits.

tests/golden/transformers/gpt2-cls and gpt2-lm get config.json,
model.safetensors, vocab.json + merges.txt (a byte-level BPE vocabulary: the
256 byte symbols, merges for a few words, <|endoftext|>), and golden.json in
the format of make_transformers.py: token ids, attention mask, the logits,
and the gradient of the explained scalar (sum_b logits[b, target[b]] for the
classifier, sum_b logits[b, 1, target[b]] for the LM) with respect to the
input word embeddings (the wte rows, before wpe is added). The second
sequence of each batch is padded on the right with <|endoftext|>.

Run:  /usr/bin/python3 tests/golden/make_gpt2.py
The tests only read the files; this script is not needed to run them.
"""
import json
import math
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_transformers import write_golden, write_safetensors  # noqa: E402  (the same writers)
from golden_common import bytes_to_unicode  # noqa: E402  (the shared parts of the Python scripts)

torch.manual_seed(20261206)
torch.set_default_dtype(torch.float64)  # references in double, stored as float32 values

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "transformers")

WORDS = ["the", "movie", "was", "great", "bad", "not", "very", "fun", "plot", "acting", "boring", "and", "but",
         "film", "love", "good", "story", "it", "is"]


def bpe_files():
    """vocab (token -> id) and merges: the byte symbols in byte order, then
    each word (with and without the leading-space symbol) merged left to
    right, then <|endoftext|>."""
    b2u = bytes_to_unicode()
    vocab = [b2u[b] for b in range(256)]
    merges = []
    for w in WORDS:
        for form in ["\u0120" + w, w]:
            cur = form[0]
            for ch in form[1:]:
                m = (cur, ch)
                cur = cur + ch
                if m not in merges:
                    merges.append(m)
                if cur not in vocab:
                    vocab.append(cur)
    vocab.append("<|endoftext|>")
    return {t: i for i, t in enumerate(vocab)}, merges


def rnd(*shape, std=0.2, mean=0.0):
    # Round through float32 so that the stored weights are exactly the ones
    # the reference computed with.
    return (mean + torch.randn(*shape) * std).to(torch.float32).to(torch.float64)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class Gpt2ish:
    def __init__(self, head, V, C=16, L=2, H=2, F=None, P=24, labels=3, eps=1e-5, eos=0):
        self.head, self.V, self.C, self.L, self.H, self.F, self.P = head, V, C, L, H, F, P
        self.labels, self.eps, self.eos = labels, eps, eos
        Fi = F if F is not None else 4 * C
        w = {}
        p = "transformer."
        w[p + "wte.weight"] = rnd(V, C)
        w[p + "wpe.weight"] = rnd(P, C, std=0.1)
        for i in range(L):
            l = f"{p}h.{i}."
            for ln in ["ln_1", "ln_2"]:
                w[l + ln + ".weight"] = rnd(C, std=0.1, mean=1.0)
                w[l + ln + ".bias"] = rnd(C, std=0.1)
            w[l + "attn.c_attn.weight"] = rnd(C, 3 * C)  # Conv1D: (in, out)
            w[l + "attn.c_attn.bias"] = rnd(3 * C, std=0.1)
            w[l + "attn.c_proj.weight"] = rnd(C, C)
            w[l + "attn.c_proj.bias"] = rnd(C, std=0.1)
            w[l + "mlp.c_fc.weight"] = rnd(C, Fi)
            w[l + "mlp.c_fc.bias"] = rnd(Fi, std=0.1)
            w[l + "mlp.c_proj.weight"] = rnd(Fi, C)
            w[l + "mlp.c_proj.bias"] = rnd(C, std=0.1)
        w[p + "ln_f.weight"] = rnd(C, std=0.1, mean=1.0)
        w[p + "ln_f.bias"] = rnd(C, std=0.1)
        if head == "cls":
            w["score.weight"] = rnd(labels, C)  # nn.Linear(n_embd, num_labels, bias=False): (out, in)
        # The LM head is tied to wte and, as save_pretrained does, not stored.
        self.w = w
        self.Fi = Fi

    def forward(self, word_emb, ids, mask):
        w, C, H, p = self.w, self.C, self.H, "transformer."
        B, T = ids.shape
        dh = C // H
        x = word_emb + w[p + "wpe.weight"][torch.arange(T)][None, :, :]
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        allowed = causal[None, None, :, :] & (mask[:, None, None, :] != 0)
        for i in range(self.L):
            l = f"{p}h.{i}."
            h = layer_norm(x, w[l + "ln_1.weight"], w[l + "ln_1.bias"], self.eps)
            qkv = h @ w[l + "attn.c_attn.weight"] + w[l + "attn.c_attn.bias"]
            q, k, v = qkv.split(C, dim=-1)
            q, k, v = [t.view(B, T, H, dh).transpose(1, 2) for t in (q, k, v)]
            s = q @ k.transpose(-1, -2) / math.sqrt(dh)
            s = s.masked_fill(~allowed, float("-inf"))
            a = torch.softmax(s, -1) @ v
            a = a.transpose(1, 2).reshape(B, T, C)
            x = x + a @ w[l + "attn.c_proj.weight"] + w[l + "attn.c_proj.bias"]
            h = layer_norm(x, w[l + "ln_2.weight"], w[l + "ln_2.bias"], self.eps)
            m = gelu_new(h @ w[l + "mlp.c_fc.weight"] + w[l + "mlp.c_fc.bias"])
            x = x + m @ w[l + "mlp.c_proj.weight"] + w[l + "mlp.c_proj.bias"]
        x = layer_norm(x, w[p + "ln_f.weight"], w[p + "ln_f.bias"], self.eps)
        if self.head == "lm":
            return x @ w[p + "wte.weight"].T
        last = [max(t for t in range(T) if mask[b, t]) for b in range(B)]
        pooled = torch.stack([x[b, last[b]] for b in range(B)])
        return pooled @ w["score.weight"].T

    def config(self):
        c = {
            "architectures": ["GPT2ForSequenceClassification" if self.head == "cls" else "GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": self.V,
            "n_positions": self.P,
            "n_embd": self.C,
            "n_layer": self.L,
            "n_head": self.H,
            "n_inner": self.F,
            "activation_function": "gelu_new",
            "layer_norm_epsilon": self.eps,
            "resid_pdrop": 0.1,
            "embd_pdrop": 0.1,
            "attn_pdrop": 0.1,
            "initializer_range": 0.02,
            "scale_attn_weights": True,
            "use_cache": True,
            "bos_token_id": self.eos,
            "eos_token_id": self.eos,
        }
        if self.head == "cls":
            c["pad_token_id"] = self.eos
            c["id2label"] = {"0": "negative", "1": "neutral", "2": "positive"}
            c["label2id"] = {"negative": 0, "neutral": 1, "positive": 2}
        return c


def make(name, model, vocab, merges, ids, mask, target):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(model.config(), f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), sorted(model.w.items()))
    with open(os.path.join(d, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(d, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    out, emb = write_golden(d, model, "transformer.wte.weight", ids, mask, target)
    print(f"{name}: vocab {len(vocab)}, logits {tuple(out.shape)}, |grad| {emb.grad.norm():.4f}")


def main():
    vocab, merges = bpe_files()
    V = len(vocab)
    eos = vocab["<|endoftext|>"]
    sp = lambda w: vocab["\u0120" + w]  # noqa: E731
    # "the movie was not very good ." and "it is bad" padded with <|endoftext|>
    ids = [[vocab["the"], sp("movie"), sp("was"), sp("not"), sp("very"), sp("good"), vocab["."]],
           [vocab["it"], sp("is"), sp("bad"), eos, eos, eos, eos]]
    mask = [[1] * 7, [1, 1, 1, 0, 0, 0, 0]]
    # The classifier with n_inner given (40, not 4 x 16); the LM with n_inner
    # null (4 x n_embd).
    make("gpt2-cls", Gpt2ish("cls", V, F=40, eos=eos), vocab, merges, ids, mask, [0, 2])
    make("gpt2-lm", Gpt2ish("lm", V, eos=eos), vocab, merges, ids, mask, [sp("good"), vocab["."]])


if __name__ == "__main__":
    main()
