#!/usr/bin/python3
"""LXT's efficient AttnLRP rules applied to an independent PyTorch BERT that
reads the shipped models/sst2-bert, for tests/cpp/test_lrp_lxt.cpp.

LXT (rachtibat/LRP-eXplains-Transformers, lxt/efficient: rules.py,
patches.py, models/bert.py; Achtibat et al., "AttnLRP: Attention-Aware
Layer-Wise Relevance Propagation for Transformers", ICML 2024) computes
AttnLRP as gradient x input with the backward pass of a few ops replaced.
Its patched BERT (eager attention path) does exactly this:

  - divide_gradient(q @ k^T, 2)    uniform rule on the q.k product (its
                                   gradient halved on the way back)
  - divide_gradient(P @ v, 2)      uniform rule on the P.v product
  - softmax                        untouched: its ordinary gradient, so the
                                   relevance of the scores s is
                                   s * p * (g - sum_j p_j g_j), the Taylor
                                   form of AttnLRP Prop. 3.1 (with its bias
                                   term absorbed)
  - identity_rule_implicit(act, x) on the GELU of the feed-forward block and
                                   on the pooler's tanh: gradient replaced
                                   by act(x) / (x + 1e-10)
  - LayerNorm                      (x - mean) / stop_gradient(std) * w + b
  - dropout                        the identity
  - linear layers                  untouched: their ordinary gradient (LRP-0;
                                   no epsilon)

The relevance of an input is input * gradient; LXT's examples read it at
the word embeddings (the lookup's output, before position and token-type
embeddings are added). The functions below are written from those
definitions (no LXT code is copied; LXT needs Hugging Face transformers,
which Debian does not package). The BERT forward is written from the
Hugging Face BertForSequenceClassification definition, in float64 on the
float16 weights of the checkpoint.

Besides the token relevances this writes where the rest of the logit goes
under these rules, per layer: the biases of the linear layers (b * dL/db),
LayerNorm's shift (beta * dL/dbeta), the softmax's non-conservation
(R(P) - R(s) inside each attention), and the position and token-type
embeddings (e * dL/de); with the word relevances they sum to the logit.
And, for the per-op comparison that found why wordlight's AttnLRP differed
from this (see core/src/explain/lrp_method.cpp), the relevance sum_tc a_tc G_tc at
each marked layer (embeddings, layer.0 .. layer.3).

Run:  /usr/bin/python3 tests/golden/make_lxt_golden.py
      (writes tests/golden/lxt/sst2-bert.json; about a second)
      /usr/bin/python3 tests/golden/make_lxt_golden.py --bias-factor
      (writes nothing; prints how much of the logit reaches the tokens when
      the biases and LayerNorm shifts share their relevance out to their
      inputs, Arras et al.'s bias factor 1: 27.5% and 63.5% on the two
      sentences against LXT's 29.3% and 58.2%, since the softmaxes absorb
      most of the rest; so wordlight offers no such variant on transformers)
The C++ test only reads the JSON; this script is not needed to run it.
"""
import json
import math
import os
import sys
import unicodedata

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import read_safetensors, split_punctuation, wordpiece_word  # noqa: E402  (the shared parts of the Python scripts)

torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = os.path.join(ROOT, "models", "sst2-bert")
OUT = os.path.join(HERE, "lxt")
TEXTS = [
    "A gripping, funny and beautifully acted film, though the ending drags a little.",  # the page's default
    "Not bad at all: I expected a dull sequel, but it is sharp and warm.",
]


# ---------------------------------------------------------------- BERT's tokenizer (basic + WordPiece)
def basic_words(text):
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return split_punctuation(text)


def wordpiece(text, vocab):
    ids = [vocab["[CLS]"]]
    for word in basic_words(text):
        pieces = wordpiece_word(word, vocab)
        ids += [vocab["[UNK]"]] if pieces is None else pieces
    return ids + [vocab["[SEP]"]]


# ---------------------------------------------------------------- LXT's rules (written from lxt/efficient/rules.py)
class DivideGradient(torch.autograd.Function):
    """Uniform rule: identity forward, gradient divided by `factor`."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.factor, None


class IdentityRule(torch.autograd.Function):
    """Identity rule on an element-wise f: gradient f(x) / (x + 1e-10)."""

    @staticmethod
    def forward(ctx, x, fn):
        y = fn(x)
        ctx.save_for_backward(y / (x + 1e-10))
        return y

    @staticmethod
    def backward(ctx, g):
        return ctx.saved_tensors[0] * g, None


def divide_gradient(x, factor=2):
    return DivideGradient.apply(x, factor)


def identity_rule(fn, x):
    return IdentityRule.apply(x, fn)


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


# ---------------------------------------------------------------- BERT with LXT's patches
class LxtBert:
    def __init__(self, d):
        with open(os.path.join(d, "config.json")) as f:
            self.cfg = json.load(f)
        self.w = read_safetensors(os.path.join(d, "model.safetensors"), torch.float64)
        with open(os.path.join(d, "vocab.txt"), encoding="utf-8") as f:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
        c = self.cfg
        self.H, self.L, self.eps = c["num_attention_heads"], c["num_hidden_layers"], c["layer_norm_eps"]
        # Every bias and LayerNorm shift becomes a leaf with a gradient, so
        # that b * dL/db is the relevance it absorbed.
        self.leaves = {}
        for k, v in self.w.items():
            if k.endswith(".bias"):
                self.leaves[k] = v.clone().requires_grad_(True)

    def p(self, name):
        return self.leaves.get(name, self.w[name])

    def linear(self, x, pre):
        return x @ self.w[pre + ".weight"].T + self.p(pre + ".bias")

    def layer_norm(self, x, pre):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        std = (var + self.eps).sqrt()
        return (x - mean) / std.detach() * self.w[pre + ".weight"] + self.p(pre + ".bias")

    def attention(self, x, pre, taps, lay):
        T, C = x.shape
        H = self.H
        dh = C // H
        q = self.linear(x, pre + "self.query").view(T, H, dh).transpose(0, 1)
        k = self.linear(x, pre + "self.key").view(T, H, dh).transpose(0, 1)
        v = self.linear(x, pre + "self.value").view(T, H, dh).transpose(0, 1)
        s = divide_gradient(q @ k.transpose(-1, -2), 2) / math.sqrt(dh)
        s.retain_grad()
        p = torch.softmax(s, -1)
        p.retain_grad()
        taps[f"softmax.{lay}"] = (s, p)
        return divide_gradient(p @ v, 2).transpose(0, 1).reshape(T, C)

    def forward(self, ids, taps):
        w = self.w
        T = len(ids)
        e = "bert.embeddings."
        word = w[e + "word_embeddings.weight"][torch.tensor(ids)].clone().requires_grad_(True)
        pos = w[e + "position_embeddings.weight"][:T].clone().requires_grad_(True)
        typ = w[e + "token_type_embeddings.weight"][0].clone().requires_grad_(True)
        taps["inputs"] = (word, pos, typ)
        h = self.layer_norm(word + pos + typ, e + "LayerNorm")
        h.retain_grad()
        taps["embeddings"] = h
        for i in range(self.L):
            l = f"bert.encoder.layer.{i}."
            a = self.linear(self.attention(h, l + "attention.", taps, i), l + "attention.output.dense")
            h = self.layer_norm(h + a, l + "attention.output.LayerNorm")
            f = identity_rule(gelu, self.linear(h, l + "intermediate.dense"))
            f = self.linear(f, l + "output.dense")
            h = self.layer_norm(h + f, l + "output.LayerNorm")
            h.retain_grad()
            taps[f"layer.{i}"] = h
        c = identity_rule(torch.tanh, self.linear(h[0], "bert.pooler.dense"))
        return self.linear(c, "classifier")


def explain(model, text):
    ids = model.wordpiece(text) if hasattr(model, "wordpiece") else wordpiece(text, model.vocab)
    taps = {}
    logits = model.forward(ids, taps)
    target = int(torch.argmax(logits))
    for leaf in model.leaves.values():
        leaf.grad = None
    logits[target].backward()
    word, pos, typ = taps["inputs"]
    tokens = (word * word.grad).sum(-1)
    absorbed = {"biases": {}, "layernorm-shift": {}, "softmax": {}}

    def where(name):  # the layer a parameter belongs to, named as wordlight marks them
        if name.startswith("bert.embeddings."):
            return "embeddings"
        if name.startswith("bert.encoder.layer."):
            return "layer." + name.split(".")[3]
        return "head"

    for name, leaf in model.leaves.items():
        if leaf.grad is None:
            continue
        kind = "layernorm-shift" if "LayerNorm" in name else "biases"
        r = float((leaf * leaf.grad).sum())
        absorbed[kind][where(name)] = absorbed[kind].get(where(name), 0.0) + r
    for i in range(model.L):
        s, p = taps[f"softmax.{i}"]
        absorbed["softmax"][f"layer.{i}"] = float((p * p.grad).sum() - (s * s.grad).sum())
    r_pos = float((pos * pos.grad).sum())
    r_type = float((typ * typ.grad).sum())
    layers = {"embeddings": float((taps["embeddings"] * taps["embeddings"].grad).sum())}
    for i in range(model.L):
        h = taps[f"layer.{i}"]
        layers[f"layer.{i}"] = float((h * h.grad).sum())
    kinds = {k: sum(v.values()) for k, v in absorbed.items()}
    kinds["position-embeddings"] = r_pos
    kinds["token-type-embeddings"] = r_type
    logit = float(logits[target])
    total = float(tokens.sum()) + sum(kinds.values())
    assert abs(total - logit) < 1e-9 * (1 + abs(logit)), (total, logit)
    return {
        "text": text,
        "input_ids": ids,
        "logits": [float(v) for v in logits.detach()],
        "target": target,
        "explained": logit,
        "token_relevance": [float(v) for v in tokens.detach()],
        "word_relevance_sum": float(tokens.sum()),
        "absorbed": kinds,
        "absorbed_per_layer": absorbed,
        "layer_relevance": layers,
    }


# ---------------------------------------------------------------- --bias-factor (a measurement, writes nothing)
class _LinearBiasShared(torch.autograd.Function):
    """y = x W^T + b whose bias relevance sum_j b_j G_j (per row) is shared
    equally by the row's I inputs (Arras et al.'s bias factor 1): the
    gradient of x_i gains share / x_i (lost where x_i = 0)."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w, b)
        return x @ w.T + b

    @staticmethod
    def backward(ctx, g):
        x, w, b = ctx.saved_tensors
        share = (g * b).sum(-1, keepdim=True) / x.shape[-1]
        safe = torch.where(x != 0, x, torch.ones_like(x))
        return g @ w + torch.where(x != 0, share / safe, torch.zeros_like(x)), None, None


class _ShiftShared(torch.autograd.Function):
    """u + beta (a LayerNorm's shift) with beta's relevance shared equally
    by the LayerNorm's inputs x."""

    @staticmethod
    def forward(ctx, u, x, beta):
        ctx.save_for_backward(x, beta)
        return u + beta

    @staticmethod
    def backward(ctx, g):
        x, beta = ctx.saved_tensors
        share = (g * beta).sum(-1, keepdim=True) / x.shape[-1]
        safe = torch.where(x != 0, x, torch.ones_like(x))
        return g, torch.where(x != 0, share / safe, torch.zeros_like(x)), None


class LxtBertBiasShared(LxtBert):
    def linear(self, x, pre):
        return _LinearBiasShared.apply(x, self.w[pre + ".weight"], self.w[pre + ".bias"])

    def layer_norm(self, x, pre):
        mean = x.mean(-1, keepdim=True)
        std = (((x - mean) ** 2).mean(-1, keepdim=True) + self.eps).sqrt()
        return _ShiftShared.apply((x - mean) / std.detach() * self.w[pre + ".weight"], x, self.w[pre + ".bias"])


def bias_factor():
    """How much of the logit reaches the tokens when the biases and
    LayerNorm shifts hand their relevance on to their inputs, against LXT's
    rules: a measurement for the choice not to offer that variant."""
    for cls in (LxtBert, LxtBertBiasShared):
        model = cls(MODEL)
        for text in TEXTS:
            taps = {}
            logits = model.forward(wordpiece(text, model.vocab), taps)
            target = int(torch.argmax(logits))
            logits[target].backward()
            word, pos, typ = taps["inputs"]
            tok = float((word * word.grad).sum())
            f = float(logits[target])
            print(f"{cls.__name__:18s} {text[:30]!r}: logit {f:.4f}, tokens {tok:.4f} ({tok / f:.1%}), "
                  f"position {float((pos * pos.grad).sum()):+.4f}, type {float((typ * typ.grad).sum()):+.4f}")


def write_golden(file_name, model, rules, cases):
    """tests/golden/lxt/<file_name>: the model's path, the rules in words, the cases."""
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, file_name), "w") as f:
        json.dump({"model": model, "rules": rules, "cases": cases}, f, indent=1)
        f.write("\n")


def main():
    model = LxtBert(MODEL)
    cases = [explain(model, t) for t in TEXTS]
    write_golden("sst2-bert.json", "models/sst2-bert",
                 "LXT efficient AttnLRP (lxt/efficient/models/bert.py, eager attention): divide_gradient 2 after "
                 "q.k^T and after P.v, softmax by its gradient, identity rule on GELU and the pooler's tanh, "
                 "LayerNorm std detached, linear layers by their plain gradient; float64", cases)
    for c in cases:
        tok = c["token_relevance"]
        print(f"{c['text']!r}: logit[{c['target']}] {c['explained']:.4f}, tokens sum {sum(tok):.4f} "
              f"(words {sum(tok[1:-1]):.4f}, [CLS] {tok[0]:.4f}, [SEP] {tok[-1]:.4f})")
        for k, v in c["absorbed"].items():
            print(f"   absorbed {k:24s} {v:+.4f}")
        print("   layer relevance " + ", ".join(f"{k} {v:.4f}" for k, v in c["layer_relevance"].items()))


if __name__ == "__main__":
    if "--bias-factor" in sys.argv:
        bias_factor()
    else:
        main()
