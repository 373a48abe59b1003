#!/usr/bin/python3
"""Golden explanations from an independent PyTorch implementation (Debian's
python3-torch), for tests/cpp/test_explain_golden.cpp.

The tiny checkpoints that make_transformers.py and make_ours.py wrote
(tests/golden/transformers/{bert,distilbert,roberta}-cls, tests/golden/ours/
{cnn,bilstm}) are loaded here into plain PyTorch code written below from the
architectures' definitions (nothing of wordlight's C++ is reused), run in
double precision on one text each, and explained with the methods of
core/include/wordlight/explain.h:

  gradient            g_t . x_t / |x_t| (reduce=along-input), |g_t| (l2)
  saliency            sum_d g_td^2
  gradient-x-input    sum_d x_td g_td
  integrated-gradients sum_d (x_td - b_td) sum_k w_k df/dx_td(b + a_k (x - b)),
                      with the quadrature nodes a_k and weights w_k of the
                      rule (Gauss-Legendre from numpy's leggauss, trapezoid,
                      left); the baseline replaces the text's tokens only
                      (special tokens keep their embeddings)
  occlusion           f(x) - f(x with the word occluded), shared evenly by
                      the word's tokens
  lrp                 sum_d R_td at the word embeddings

x_t is token t's word embedding (the lookup's output, before position and
token-type embeddings are added); f is the target's logit (or its softmax
probability, output=probability).

LRP, "gradient x input with the backward pass of some ops replaced" (the
efficient formulation of Zennit and LXT), written here with detach tricks:
each op is rewritten as an expression with the same value whose ordinary
gradient is the rule's modified gradient G, and R(x) = x * G(x).

  epsilon rule on y = W x + b (linear, convolution, and LayerNorm once its
      1/std is a constant: Bach et al. 2015, Montavon et al. 2019):
      y' = y * s + (y - y * s).detach(),  s = (y / (y + eps sign y)).detach()
      (sign 0 = +1), so R(x_i) = sum_j x_i w_ji / (y_j + eps sign y_j) R(y_j)
  z+ / alpha-beta on a layer (CNN; Bach et al. 2015 eq. 60, bias parts in
      the denominators):  z+_j = sum_i (x_i w_ji)^+ + b_j^+, z-_j likewise,
      y' = alpha z+ (y / z+).detach() - beta z- (y / z-).detach(); z+ is
      W+ x+ + W- x- + b+ as a function of x (clamps), so that
      R(x_i) = sum_j (alpha (x_i w_ji)^+ / z+_j - beta (x_i w_ji)^- / z-_j) R(y_j)
  identity rule on element-wise non-linearities (GELU, tanh, ReLU; AttnLRP
      Prop. 3.2): y' = x * (f(x) / x).detach(), R(x) = R(y)
  LayerNorm (AttnLRP; Ali et al. 2022's LN rule): the standard deviation
      detached, then the epsilon rule on the resulting linear map
  softmax (AttnLRP Prop. 3.1): R(s_i) = s_i (R(p_i) - p_i sum_j R(p_j)),
      which is gradient x input of the softmax: its ordinary gradient
  q.k^T and P.v (AttnLRP Prop. 3.3, uniform rule on a product of two
      inputs, relevance split evenly): a @ b = (a @ b.detach() + a.detach() @ b) / 2
  CP-LRP (Ali et al. 2022): P.detach() @ v (attention weights constant)
  sums (residual connections, position + word embeddings): ordinary gradient
      (the epsilon-0 rule: relevance in proportion to the summands)

BiLSTM: the LRP of Arras et al. 2017, written out from their LRP_for_LSTM
code (lrp_linear with eps and bias_factor; signal-take-all through the
gates; the output layer one linear map over [h_fwd, h_bwd] with the two
directions' biases summed). One choice differs from their code, as in
wordlight's documentation (core/src/explain/lrp_method.cpp): their zero initial
state is counted among the N units that share the bias and epsilon terms
(so with bias_factor 1 a share is lost at the first step); here it is not
(COUNT_INITIAL_STATE = False). With bias_factor 0 the two agree exactly.

Writes tests/golden/explain/<model>.json: the text, its token ids, the
logits, and for each case (method, options, target) the per-token scores,
the explained value and the method's check.

Run:  /usr/bin/python3 tests/golden/make_explain_golden.py
      /usr/bin/python3 tests/golden/make_explain_golden.py --sensitivity
          (writes nothing; prints how far plausible rule mistakes move the
          AttnLRP scores, to show the golden values tell them apart)
The tests only read the files; this script is not needed to run them.

With epsilon=0, wordlight's default on transformers, the transformer LRP
here is what LXT's efficient AttnLRP computes (plain gradient through
linear layers, divide_gradient(., 2) on the two attention products,
LayerNorm's std under stop_gradient, identity rule on the activations;
make_lxt_golden.py checks that on the shipped sst2-bert); epsilon > 0 adds
the epsilon rule on the linear layers and LayerNorms. The CNN and the
BiLSTM default to epsilon 1e-3.
"""
import json
import math
import os
import re
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import read_json, read_safetensors, split_punctuation, wordpiece_word  # noqa: E402  (the shared parts of the Python scripts)

torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "explain")
COUNT_INITIAL_STATE = False


# ---------------------------------------------------------------- tokenizers (the few rules these texts need)
PUNCT = re.compile(r"[^\w\s]")


def split_words(text):
    """Whitespace, then punctuation as words of its own (BERT's basic
    tokenizer, and the word-level tokenizer on these texts)."""
    return split_punctuation(text.lower(), PUNCT.match)


def wordpiece(text, vocab):
    """-> ids, word index of each token (-1: special)."""
    ids, words = [vocab["[CLS]"]], [-1]
    for w, word in enumerate(split_words(text)):
        pieces = wordpiece_word(word, vocab)
        assert pieces is not None, f"{word} has no WordPiece split in the tiny vocabulary"
        ids += pieces
        words += [w] * len(pieces)
    return ids + [vocab["[SEP]"]], words + [-1]


def bpe_whole_words(text, vocab):
    """Byte-level BPE pre-tokenisation (GPT-2 pattern, no prefix space), each
    piece looked up whole (the tiny vocabulary has no merges)."""
    pieces = re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+", text)
    ids, words = [vocab["<s>"]], [-1]
    for w, p in enumerate(pieces):
        tok = p.replace(" ", "\u0120")
        assert tok in vocab, tok
        ids.append(vocab[tok])
        words.append(w)
    return ids + [vocab["</s>"]], words + [-1]


def word_level(text, vocab):
    ids, words = [], []
    for w, word in enumerate(split_words(text)):
        assert word in vocab, word
        ids.append(vocab[word])
        words.append(w)
    return ids, words


# ---------------------------------------------------------------- LRP building blocks
class Rules:
    """Ordinary forward ops (lrp=None) or their LRP forms with detach tricks."""

    def __init__(self, lrp=None, eps=0.0, rule="epsilon", alpha=2.0, std_constant=True, halve_products=True):
        self.lrp, self.eps, self.rule, self.alpha = lrp, eps, rule, alpha
        # Switched off only by --sensitivity, to see how far a wrong rule lands.
        self.std_constant, self.halve_products = std_constant, halve_products

    def stabilise(self, y):
        """epsilon rule on a layer linear in its input: value y, gradient s * dy."""
        if not self.lrp or self.eps == 0:
            return y
        sign = torch.where(y >= 0, torch.ones_like(y), -torch.ones_like(y))
        s = (y / (y + self.eps * sign)).detach()
        return y * s + (y - y * s).detach()

    def layer(self, x, w, b, f):
        """y = f(x, w) + b with f linear in x (a dense layer or a convolution)."""
        y = f(x, w) + b
        if not self.lrp or self.rule == "epsilon":
            return self.stabilise(y)
        alpha = 1.0 if self.rule == "z-plus" else self.alpha
        beta = alpha - 1.0
        xp, xn = x.clamp(min=0), x.clamp(max=0)
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        zp = f(xp, wp) + f(xn, wn) + b.clamp(min=0)
        zn = f(xp, wn) + f(xn, wp) + b.clamp(max=0)
        ratio = lambda z: torch.where(z != 0, y / torch.where(z != 0, z, torch.ones_like(z)), torch.zeros_like(z))
        out = alpha * zp * ratio(zp).detach()
        if beta != 0:
            out = out - beta * zn * ratio(zn).detach()
        return out + (y - out).detach()  # the value stays y exactly

    def linear(self, x, w, b):
        return self.layer(x, w, b, lambda xx, ww: xx @ ww.T)

    def act(self, f, x):
        y = f(x)
        if not self.lrp:
            return y
        safe = torch.where(x != 0, x, torch.ones_like(x))
        return x * torch.where(x != 0, y / safe, torch.zeros_like(x)).detach()

    def layer_norm(self, x, w, b, eps):
        mu = x.mean(-1, keepdim=True)
        std = torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + eps)
        if self.lrp and self.std_constant:
            std = std.detach()
        return self.stabilise((x - mu) / std * w + b)

    def product(self, a, b):
        """a @ b for the attention products."""
        if self.lrp == "attnlrp" and self.halve_products:
            return 0.5 * (a @ b.detach()) + 0.5 * (a.detach() @ b)
        return a @ b

    def weighted_values(self, p, v):
        if self.lrp == "cp-lrp":
            return p.detach() @ v
        return self.product(p, v)


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


# ---------------------------------------------------------------- models: f(word embeddings (T, D), rules) -> logits (L)
class Checkpoint:
    """A model directory's config.json and weights (float64)."""

    def __init__(self, d):
        self.cfg = read_json(os.path.join(d, "config.json"))
        self.w = read_safetensors(os.path.join(d, "model.safetensors"), torch.float64)


class OurModel(Checkpoint):
    """Our CNN and BiLSTM: a word-embedding table and num_labels outputs."""

    def __init__(self, d):
        super().__init__(d)
        self.word = self.w["embeddings.weight"]
        self.labels = self.cfg["num_labels"]

    def embed(self, ids):
        return self.word[torch.tensor(ids)]


class Transformer(Checkpoint):
    """BERT, DistilBERT and RoBERTa sequence classifiers (the Hugging Face
    modelling code's definitions), one unpadded text."""

    def __init__(self, d):
        super().__init__(d)
        self.family = self.cfg["model_type"]
        c = self.cfg
        if self.family == "distilbert":
            self.heads, self.layers, self.ln_eps = c["n_heads"], c["n_layers"], 1e-12
        else:
            self.heads, self.layers, self.ln_eps = c["num_attention_heads"], c["num_hidden_layers"], c["layer_norm_eps"]
        self.labels = len(c["id2label"])
        pre = {"bert": "bert.", "roberta": "roberta.", "distilbert": "distilbert."}[self.family]
        self.word = self.w[pre + "embeddings.word_embeddings.weight"]
        self.pre = pre

    def embed(self, ids):
        return self.word[torch.tensor(ids)]

    def attention(self, r, x, wq, bq, wk, bk, wv, bv):
        T, C = x.shape
        H = self.heads
        dh = C // H
        q = r.linear(x, wq, bq).view(T, H, dh).transpose(0, 1)  # (H, T, dh)
        k = r.linear(x, wk, bk).view(T, H, dh).transpose(0, 1)
        v = r.linear(x, wv, bv).view(T, H, dh).transpose(0, 1)
        s = r.product(q, k.transpose(-1, -2)) / math.sqrt(dh)
        p = torch.softmax(s, -1)
        return r.weighted_values(p, v).transpose(0, 1).reshape(T, C)

    def forward(self, x, r):
        w, pre = self.w, self.pre
        T = x.shape[0]
        if self.family == "roberta":
            pos = torch.arange(T) + self.cfg["pad_token_id"] + 1  # no padding: pad + 1, pad + 2, ...
        else:
            pos = torch.arange(T)
        h = x + w[pre + "embeddings.position_embeddings.weight"][pos]
        if self.family != "distilbert":
            h = h + w[pre + "embeddings.token_type_embeddings.weight"][0]
        h = r.layer_norm(h, w[pre + "embeddings.LayerNorm.weight"], w[pre + "embeddings.LayerNorm.bias"], self.ln_eps)
        for i in range(self.layers):
            if self.family == "distilbert":
                l = f"distilbert.transformer.layer.{i}."
                names = [l + "attention." + n for n in ("q_lin", "k_lin", "v_lin", "out_lin")]
                ln1, ffn1, ffn2, ln2 = l + "sa_layer_norm", l + "ffn.lin1", l + "ffn.lin2", l + "output_layer_norm"
            else:
                l = f"{pre}encoder.layer.{i}."
                names = [l + "attention.self." + n for n in ("query", "key", "value")] + [l + "attention.output.dense"]
                ln1, ffn1, ffn2 = l + "attention.output.LayerNorm", l + "intermediate.dense", l + "output.dense"
                ln2 = l + "output.LayerNorm"
            qkv = [w[n + s] for n in names[:3] for s in (".weight", ".bias")]
            a = r.linear(self.attention(r, h, *qkv), w[names[3] + ".weight"], w[names[3] + ".bias"])
            h = r.layer_norm(h + a, w[ln1 + ".weight"], w[ln1 + ".bias"], self.ln_eps)
            f = r.act(gelu, r.linear(h, w[ffn1 + ".weight"], w[ffn1 + ".bias"]))
            f = r.linear(f, w[ffn2 + ".weight"], w[ffn2 + ".bias"])
            h = r.layer_norm(h + f, w[ln2 + ".weight"], w[ln2 + ".bias"], self.ln_eps)
        c = h[0]
        if self.family == "bert":
            c = r.act(torch.tanh, r.linear(c, w["bert.pooler.dense.weight"], w["bert.pooler.dense.bias"]))
            return r.linear(c, w["classifier.weight"], w["classifier.bias"])
        if self.family == "distilbert":
            c = r.act(torch.relu, r.linear(c, w["pre_classifier.weight"], w["pre_classifier.bias"]))
            return r.linear(c, w["classifier.weight"], w["classifier.bias"])
        c = r.act(torch.tanh, r.linear(c, w["classifier.dense.weight"], w["classifier.dense.bias"]))
        return r.linear(c, w["classifier.out_proj.weight"], w["classifier.out_proj.bias"])


class Cnn(OurModel):
    """Arras et al. 2016: "full" convolutions (padding k - 1) over the word
    embeddings, ReLU, max over time, the filters concatenated, a linear
    classifier. Our checkpoint stores the kernels channels-last (F, k, D)."""

    def __init__(self, d):
        super().__init__(d)
        self.kernels = self.cfg["kernel_size"]

    def forward(self, x, r):
        pooled = []
        for i, k in enumerate(self.kernels):
            w = self.w[f"convs.{i}.weight"].permute(0, 2, 1)  # (F, D, k), PyTorch's layout
            b = self.w[f"convs.{i}.bias"]
            conv = lambda xx, ww, k=k: torch.nn.functional.conv1d(xx.t()[None], ww, None, padding=k - 1)[0].t()
            y = r.layer(x, w, b, conv)  # (T + k - 1, F)
            pooled.append(torch.relu(y).max(dim=0).values)  # ReLU: identity rule = its gradient; max: to the winner
        return r.linear(torch.cat(pooled), self.w["classifier.weight"], self.w["classifier.bias"])


class BiLstm(OurModel):
    """Two unidirectional LSTMs (PyTorch gate order i, f, g, o; our checkpoint
    stores one summed bias), the backward one reading the text from the end;
    each last hidden state through its own linear layer, the two summed."""

    def __init__(self, d):
        super().__init__(d)
        self.H = self.cfg["hidden_size"]
        self.lstm = {}
        for dname in ("forward", "backward"):
            m = torch.nn.LSTM(self.cfg["embedding_dim"], self.H, batch_first=True)
            with torch.no_grad():
                m.weight_ih_l0.copy_(self.w[f"lstm.{dname}.weight_ih"])
                m.weight_hh_l0.copy_(self.w[f"lstm.{dname}.weight_hh"])
                m.bias_ih_l0.copy_(self.w[f"lstm.{dname}.bias"])
                m.bias_hh_l0.zero_()
            self.lstm[dname] = m


    def forward(self, x, r):
        assert not r.lrp, "the BiLSTM's LRP is lstm_lrp below"
        _, (hf, _) = self.lstm["forward"](x[None])
        _, (hb, _) = self.lstm["backward"](x.flip(0)[None])
        w = self.w
        return hf[0, 0] @ w["classifier.forward.weight"].T + w["classifier.forward.bias"] + \
            hb[0, 0] @ w["classifier.backward.weight"].T + w["classifier.backward.bias"]

    # -------- Arras et al. 2017, after their LRP_for_LSTM (numpy) code
    @staticmethod
    def lrp_linear(hin, w, b, hout, rout, n_units, eps, bias_factor):
        """hin (D), w (D, M) [their layout], b (M), hout (M), rout (M) -> rin (D)."""
        sign_out = np.where(hout[None, :] >= 0, 1.0, -1.0)
        numer = (w * hin[:, None]) + (bias_factor * (b[None, :] * 1.0 + eps * sign_out * 1.0) / n_units)
        denom = hout[None, :] + (eps * sign_out * 1.0)
        message = (numer / denom) * rout[None, :]
        return message.sum(axis=1)

    def lstm_lrp(self, x, target, eps, bias_factor):
        x = x.detach().numpy()
        T, D = x.shape
        H = self.H
        w = {k: v.numpy() for k, v in self.w.items()}
        sig = lambda z: 1.0 / (1.0 + np.exp(-z))
        runs = {}
        for dname, xs in (("forward", x), ("backward", x[::-1])):
            Wx, Wh, b = w[f"lstm.{dname}.weight_ih"], w[f"lstm.{dname}.weight_hh"], w[f"lstm.{dname}.bias"]
            h = np.zeros((T + 1, H))  # index -1 (= T): the zero initial state
            c = np.zeros((T + 1, H))
            gates_pre = np.zeros((T, 4 * H))
            gates = np.zeros((T, 4 * H))
            for t in range(T):
                gates_pre[t] = Wx @ xs[t] + Wh @ h[t - 1] + b
                gates[t, :H] = sig(gates_pre[t, :H])                # i
                gates[t, H:2 * H] = sig(gates_pre[t, H:2 * H])      # f
                gates[t, 2 * H:3 * H] = np.tanh(gates_pre[t, 2 * H:3 * H])  # g
                gates[t, 3 * H:] = sig(gates_pre[t, 3 * H:])        # o
                c[t] = gates[t, H:2 * H] * c[t - 1] + gates[t, :H] * gates[t, 2 * H:3 * H]
                h[t] = gates[t, 3 * H:] * np.tanh(c[t])
            runs[dname] = dict(x=xs, h=h, c=c, gates_pre=gates_pre, gates=gates, Wx=Wx, Wh=Wh, b=b)
        # Output layer: one linear map over [h_fwd(T-1), h_bwd(T-1)], biases summed.
        hcat = np.concatenate([runs["forward"]["h"][T - 1], runs["backward"]["h"][T - 1]])
        wcat = np.concatenate([w["classifier.forward.weight"], w["classifier.backward.weight"]], axis=1)  # (L, 2H)
        bsum = w["classifier.forward.bias"] + w["classifier.backward.bias"]
        s = wcat @ hcat + bsum
        mask = np.zeros(self.labels)
        mask[target] = 1.0
        rh_last = self.lrp_linear(hcat, wcat.T, bsum, s, s * mask, 2 * H, eps, bias_factor)
        Rx = np.zeros((T, D))
        ig, fg, gg = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
        for k, dname in enumerate(("forward", "backward")):
            run = runs[dname]
            h, c, gates, gates_pre, xs = run["h"], run["c"], run["gates"], run["gates_pre"], run["x"]
            Wg_x, Wg_h, bg = run["Wx"][gg], run["Wh"][gg], run["b"][gg]
            Rh = np.zeros((T + 1, H))
            Rc = np.zeros((T + 1, H))
            Rg = np.zeros((T, H))
            Rxs = np.zeros((T, D))
            Rh[T - 1] = rh_last[k * H:(k + 1) * H]
            for t in reversed(range(T)):
                first = t == 0 and not COUNT_INITIAL_STATE
                Rc[t] += Rh[t]
                n_cell = H if first else 2 * H
                if not first:
                    Rc[t - 1] = self.lrp_linear(gates[t, fg] * c[t - 1], np.identity(H), np.zeros(H), c[t], Rc[t],
                                                n_cell, eps, bias_factor)
                Rg[t] = self.lrp_linear(gates[t, ig] * gates[t, gg], np.identity(H), np.zeros(H), c[t], Rc[t],
                                        n_cell, eps, bias_factor)
                n_gate = D if first else D + H
                Rxs[t] = self.lrp_linear(xs[t], Wg_x.T, bg, gates_pre[t, gg], Rg[t], n_gate, eps, bias_factor)
                if not first:
                    Rh[t - 1] = self.lrp_linear(h[t - 1], Wg_h.T, bg, gates_pre[t, gg], Rg[t], n_gate, eps,
                                                bias_factor)
            Rx += Rxs if dname == "forward" else Rxs[::-1]
        return torch.from_numpy(Rx), float(s[target])


# ---------------------------------------------------------------- methods
def output_of(model, x, target, probability, r=None):
    logits = model.forward(x, r or Rules())
    return torch.softmax(logits, -1)[target] if probability else logits[target]


def value_and_grad(model, x, target, probability):
    x = x.clone().requires_grad_(True)
    y = output_of(model, x, target, probability)
    (g,) = torch.autograd.grad(y, x)
    return float(y), g


def quadrature(rule, steps):
    if rule == "gauss-legendre":
        z, wt = np.polynomial.legendre.leggauss(steps)
        return (z + 1) / 2, wt / 2
    if rule == "trapezoid":
        a = np.arange(steps) / (steps - 1)
        wt = np.full(steps, 1.0 / (steps - 1))
        wt[0] = wt[-1] = 0.5 / (steps - 1)
        return a, wt
    off = {"left": 0.0, "right": 1.0, "midpoint": 0.5}[rule]
    return (np.arange(steps) + off) / steps, np.full(steps, 1.0 / steps)


def baseline_of(model, ids, words, kind, special):
    x = model.embed(ids)
    text = torch.tensor([w >= 0 for w in words])
    if kind == "zero":
        b = torch.zeros_like(x)
    else:
        b = model.embed([special[kind]] * len(ids))
    return torch.where(text[:, None], b, x)


def explain(model, ids, words, special, method, opts, target):
    """-> token scores, explained value, check (name, value) or None."""
    probability = opts.get("output") == "probability"
    x = model.embed(ids)
    if method in ("gradient", "saliency", "gradient-x-input"):
        f, g = value_and_grad(model, x, target, probability)
        if method == "saliency":
            return (g * g).sum(-1), f, None
        if method == "gradient-x-input":
            return (g * x).sum(-1), f, None
        reduce = opts.get("reduce", "along-input")
        if reduce == "l2":
            return g.norm(dim=-1), f, None
        assert reduce == "along-input"
        return (g * x).sum(-1) / x.norm(dim=-1), f, None
    if method == "integrated-gradients":
        b = baseline_of(model, ids, words, opts.get("baseline", "zero"), special)
        alphas, weights = quadrature(opts.get("rule", "gauss-legendre"), int(opts.get("steps", 32)))
        acc = torch.zeros_like(x)
        for a, wt in zip(alphas, weights):
            _, g = value_and_grad(model, b + float(a) * (x - b), target, probability)
            acc += float(wt) * g
        attr = ((x - b) * acc).sum(-1)
        with torch.no_grad():
            f, fb = float(output_of(model, x, target, probability)), float(output_of(model, b, target, probability))
        return attr, f, ("completeness-gap", float(attr.sum()) - (f - fb))
    if method == "occlusion":
        assert opts.get("window", "1") == "1"
        mode = opts["mode"]
        with torch.no_grad():
            f = float(output_of(model, x, target, probability))
            scores = torch.zeros(len(ids))
            for w in sorted(set(w for w in words if w >= 0)):
                pos = [i for i, ww in enumerate(words) if ww == w]
                if mode == "zero":
                    xo = x.clone()
                    xo[pos] = 0
                elif mode == "remove":
                    xo = model.embed([t for i, t in enumerate(ids) if i not in pos])
                else:
                    xo = model.embed([special[mode] if i in pos else t for i, t in enumerate(ids)])
                drop = f - float(output_of(model, xo, target, probability))
                scores[pos] = drop / len(pos)
        return scores, f, None
    if method == "lrp":
        # wordlight's default epsilon: 0 on transformers (LXT's efficient
        # AttnLRP has no stabiliser), 1e-3 on the CNN and the BiLSTM.
        eps = float(opts.get("epsilon", 0.0 if isinstance(model, Transformer) else 1e-3))
        if isinstance(model, BiLstm):
            R, f = model.lstm_lrp(x, target, eps, float(opts.get("bias-factor", 0)))
        else:
            r = Rules(lrp=opts.get("variant", "attnlrp"), eps=eps, rule=opts.get("rule", "epsilon"),
                      alpha=float(opts.get("alpha", 2)))
            xr = x.clone().requires_grad_(True)
            y = output_of(model, xr, target, False, r)
            (G,) = torch.autograd.grad(y, xr)
            R, f = x * G, float(y)
        scores = R.sum(-1)
        return scores, f, ("conservation-gap", float(scores.sum()) - f)
    raise ValueError(method)


def parse(options):
    return dict(kv.split("=", 1) for kv in options.split(",")) if options else {}


# ---------------------------------------------------------------- the golden files
TEXT_PIECES = "the movie was not boring, but the plots and filming is good!"  # sub-word splits: plot ##s, film ##ing
TEXT_BPE = "the movie was not boring, but the plot is good!"
TEXT_WORDS = "the movie was not great, but the acting is very funny!"

GRADIENT_CASES = [("gradient", ""), ("gradient", "reduce=l2"), ("saliency", ""), ("gradient-x-input", ""),
                  ("gradient-x-input", "output=probability")]


def ig_cases(mask_kind):
    return [("integrated-gradients", "rule=gauss-legendre,steps=16,baseline=zero"),
            ("integrated-gradients", f"rule=trapezoid,steps=9,baseline={mask_kind}"),
            ("integrated-gradients", "rule=left,steps=7,baseline=pad,output=probability")]


def make(name, kind, model, tokenize, text, special, cases, alt_target_cases):
    vocab_path = {"wordpiece": "vocab.txt", "bpe-whole-words": "vocab.json", "word": "vocab.txt"}[tokenize]
    d = os.path.join(HERE, kind, name)
    if vocab_path == "vocab.json":
        vocab = read_json(os.path.join(d, vocab_path))
    else:
        with open(os.path.join(d, vocab_path)) as f:
            vocab = {t: i for i, t in enumerate(f.read().split("\n")) if t}
    ids, words = {"wordpiece": wordpiece, "bpe-whole-words": bpe_whole_words, "word": word_level}[tokenize](text,
                                                                                                      vocab)
    special_ids = {k: vocab[v] for k, v in special.items()}
    with torch.no_grad():
        logits = model.forward(model.embed(ids), Rules())
    predicted = int(torch.argmax(logits))
    other = (predicted + 1) % model.labels
    out_cases = []
    for method, options, target in [(m, o, predicted) for m, o in cases] + \
                                   [(m, o, other) for m, o in alt_target_cases]:
        scores, f, check = explain(model, ids, words, special_ids, method, parse(options), target)
        c = {"method": method, "options": options, "target": target, "explained": f,
             "token_scores": [float(s) for s in scores]}
        if check:
            c["check"], c["check_value"] = check
        out_cases.append(c)
    golden = {"model": f"{kind}/{name}", "tokenizer": tokenize, "text": text, "input_ids": ids, "word_of_token": words,
              "logits": logits.tolist(), "predicted": predicted, "cases": out_cases}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(golden, f, indent=1)
    print(f"{path}: {len(ids)} tokens, {len(out_cases)} cases, {os.path.getsize(path)} bytes")


def main():
    lrp_transformer = [("lrp", ""), ("lrp", "epsilon=0.001"), ("lrp", "epsilon=0.1"), ("lrp", "variant=cp-lrp"),
                       ("lrp", "variant=cp-lrp,epsilon=0.001")]
    occlusion = [("occlusion", "mode=zero"), ("occlusion", "mode=mask")]
    alt = [("gradient-x-input", ""), ("lrp", "")]
    wp_special = {"pad": "[PAD]", "mask": "[MASK]", "unk": "[UNK]"}
    for name in ("bert-cls", "distilbert-cls"):
        make(name, "transformers", Transformer(os.path.join(HERE, "transformers", name)), "wordpiece", TEXT_PIECES,
             wp_special, GRADIENT_CASES + ig_cases("mask") + occlusion + lrp_transformer, alt)
    make("roberta-cls", "transformers", Transformer(os.path.join(HERE, "transformers", "roberta-cls")),
         "bpe-whole-words", TEXT_BPE, {"pad": "<pad>", "mask": "<mask>", "unk": "<unk>"},
         GRADIENT_CASES + ig_cases("mask") + occlusion + lrp_transformer, alt)
    word_special = {"pad": "<pad>", "unk": "<unk>"}
    make("cnn", "ours", Cnn(os.path.join(HERE, "ours", "cnn")), "word", TEXT_WORDS, word_special,
         GRADIENT_CASES + ig_cases("unk") + [("occlusion", "mode=zero"), ("occlusion", "mode=unk")] +
         [("lrp", ""), ("lrp", "epsilon=0"), ("lrp", "epsilon=0.1"), ("lrp", "rule=z-plus"),
          ("lrp", "rule=alpha-beta"), ("lrp", "rule=alpha-beta,alpha=1.5")],
         alt + [("lrp", "rule=alpha-beta")])
    make("bilstm", "ours", BiLstm(os.path.join(HERE, "ours", "bilstm")), "word", TEXT_WORDS, word_special,
         GRADIENT_CASES + ig_cases("unk") + [("occlusion", "mode=zero"), ("occlusion", "mode=unk")] +
         [("lrp", ""), ("lrp", "epsilon=0"), ("lrp", "epsilon=0.1"), ("lrp", "bias-factor=1"),
          ("lrp", "bias-factor=1,epsilon=0.1")],
         alt + [("lrp", "bias-factor=1")])


def sensitivity():
    """How far plausible mistakes land from the golden scores, as a fraction
    of each explanation's largest score (the tests' tolerance is 1e-4 of a
    score plus 1e-5 of that scale)."""
    def lrp_scores(model, ids, **kw):
        x = model.embed(ids).clone().requires_grad_(True)
        logits = model.forward(x, Rules(**kw))
        (G,) = torch.autograd.grad(logits[int(torch.argmax(logits.detach()))], x)
        return (x * G).sum(-1).detach()

    def report(name, ref, alt):
        print(f"  {name:58s} {float((alt - ref).abs().max() / ref.abs().max()):.3g}")

    for name in ("bert-cls", "distilbert-cls"):
        d = os.path.join(HERE, "transformers", name)
        m = Transformer(d)
        with open(os.path.join(d, "vocab.txt")) as f:
            vocab = {t: i for i, t in enumerate(f.read().split("\n")) if t}
        ids, _ = wordpiece(TEXT_PIECES, vocab)
        print(name)
        ref = lrp_scores(m, ids, lrp="attnlrp", eps=0.0)
        report("AttnLRP vs gradient x input", ref, lrp_scores(m, ids))
        report("AttnLRP vs products not halved", ref, lrp_scores(m, ids, lrp="attnlrp", eps=0.0,
                                                                 halve_products=False))
        report("AttnLRP vs LayerNorm std not constant", ref, lrp_scores(m, ids, lrp="attnlrp", eps=0.0,
                                                                        std_constant=False))
        report("AttnLRP vs CP-LRP", ref, lrp_scores(m, ids, lrp="cp-lrp", eps=0.0))
        report("AttnLRP epsilon 0 vs 1e-3", ref, lrp_scores(m, ids, lrp="attnlrp", eps=1e-3))


if __name__ == "__main__":
    if "--sensitivity" in sys.argv:
        sensitivity()
    else:
        main()
