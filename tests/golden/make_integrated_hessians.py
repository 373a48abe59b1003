#!/usr/bin/python3
"""Golden values for Integrated Hessians (Janizek, Sturmfels & Lee, JMLR 2021),
computed independently of wordlight in PyTorch (Debian's python3-torch), in
float64, the way path_explain computes them: by differentiating Integrated
Gradients. For a path point (alpha, beta):

  z    = x' + beta (x - x')                     (requires grad)
  u    = x' + alpha (z - x')
  a_i  = sum_d df/du_id (u) (z - x')_id          (token i's IG integrand, create_graph)
  Gamma_ij integrand = sum_d d a_i / d z_jd (x - x')_jd      (one double backward per token i)

averaged over (alpha, beta) with a product Gauss-Legendre rule on the unit
square (G x G points; the integrand is smooth in alpha and beta). This uses
neither the reduction to t = alpha beta nor the Gauss rules for -ln t that
wordlight uses, nor its tape's forward-over-reverse products.

Models: the tiny BERT classifier of tests/golden/transformers/bert-cls and the
tiny CNN of tests/golden/ours/cnn with every ReLU replaced by softplus of
temperature beta (the smoothing wordlight applies at explanation time),
rebuilt from their model.safetensors with make_transformers.py's and
make_ours.py's reference forward passes. Baseline: zero embeddings for the
text's tokens, special tokens ([CLS], [SEP]) keep theirs.

Writes tests/golden/integrated_hessians/golden.json: per case the model, the
text, the token ids (the C++ test checks its tokenizer gives the same), the
target, the wordlight options that reproduce the setting, f at the input of
the model and of the smoothed model, f at the baseline, and the
(tokens x tokens) matrix, row-major.

Run:  /usr/bin/python3 tests/golden/make_integrated_hessians.py
The tests only read the file; this script is not needed to run them.
"""
import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_ours  # noqa: E402
import make_transformers  # noqa: E402
from golden_common import read_safetensors  # noqa: E402  (the shared parts of the Python scripts)

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "integrated_hessians")
G = 24  # Gauss-Legendre points per axis


def square_rule(g):
    x, w = np.polynomial.legendre.leggauss(g)
    x, w = (x + 1) / 2, w / 2
    a = np.repeat(x, g)
    b = np.tile(x, g)
    return torch.tensor(a), torch.tensor(b), torch.tensor(np.outer(w, w).flatten())


def integrated_hessians(f, x, base, explained, g=G):
    """f: (P, T, D) -> (P); x, base: (T, D); explained: token indices with a
    direction. Returns the (T, T) matrix (zero rows/columns elsewhere)."""
    T = x.shape[0]
    alpha, beta, w = square_rule(g)
    P = alpha.shape[0]
    delta = (x - base)[None]  # (1, T, D)
    z = (base[None] + beta[:, None, None] * delta).detach().requires_grad_(True)  # (P, T, D)
    u = base[None] + alpha[:, None, None] * (z - base[None])
    y = f(u)
    (gu,) = torch.autograd.grad(y.sum(), u, create_graph=True)
    a = (gu * (z - base[None])).sum(-1)  # (P, T): token i's IG integrand
    gamma = torch.zeros(T, T)
    for i in explained:
        (gz,) = torch.autograd.grad(a[:, i].sum(), z, retain_graph=True)  # (P, T, D)
        row = (gz * delta).sum(-1)  # (P, T)
        gamma[i] = (w[:, None] * row).sum(0)
    keep = torch.zeros(T)
    keep[explained] = 1
    return gamma * keep[None, :]


def bert_case():
    d = os.path.join(HERE, "transformers", "bert-cls")
    w = read_safetensors(os.path.join(d, "model.safetensors"), torch.float64)
    V = w["bert.embeddings.word_embeddings.weight"].shape[0]
    m = make_transformers.Bertish("bert", "cls", V)
    assert set(m.w) == set(w), set(m.w) ^ set(w)
    m.w = w
    vocab = open(os.path.join(d, "vocab.txt")).read().split("\n")
    text = "the films was not very fun !"
    pieces = ["[CLS]", "the", "film", "##s", "was", "not", "very", "fun", "!", "[SEP]"]
    ids = [vocab.index(p) for p in pieces]
    target = 1
    idt = torch.tensor([ids])
    mask = torch.ones_like(idt)
    emb = w["bert.embeddings.word_embeddings.weight"][idt[0]]
    explained = list(range(1, len(ids) - 1))

    def f(u):
        P = u.shape[0]
        return m.forward(u, idt.expand(P, -1), mask.expand(P, -1))[:, target]

    base = emb.clone()
    base[explained] = 0
    return dict(name="bert-cls", model="transformers/bert-cls", text=text, input_ids=ids, target=target,
                options="steps=16"), f, f, emb, base, explained


def cnn_case(beta):
    d = os.path.join(HERE, "ours", "cnn")
    w = read_safetensors(os.path.join(d, "model.safetensors"), torch.float64)
    m = make_ours.Cnn()
    m.emb = w["embeddings.weight"]
    m.conv_w = [w[f"convs.{i}.weight"].permute(0, 2, 1).contiguous() for i in range(len(make_ours.KERNELS))]
    m.conv_b = [w[f"convs.{i}.bias"] for i in range(len(make_ours.KERNELS))]
    m.cls_w, m.cls_b = w["classifier.weight"], w["classifier.bias"]
    vocab = open(os.path.join(d, "vocab.txt")).read().split("\n")
    text = "the movie was not very fun !"
    ids = [vocab.index(t) for t in text.split()]
    target = 2

    def softplus(v):  # log(1 + exp(beta v)) / beta, written out (no threshold)
        return torch.relu(v) + torch.log1p(torch.exp(-torch.abs(beta * v))) / beta

    def forward(u, act):
        out = []
        for p in range(u.shape[0]):
            pooled = []
            for cw, cb, k in zip(m.conv_w, m.conv_b, make_ours.KERNELS):
                yv = torch.nn.functional.conv1d(u[p].t()[None], cw, cb, padding=k - 1)
                pooled.append(act(yv)[0].max(dim=1).values)
            out.append((torch.cat(pooled) @ m.cls_w.t() + m.cls_b)[target])
        return torch.stack(out)

    emb = m.emb[torch.tensor(ids)]
    assert torch.allclose(forward(emb[None], torch.relu)[0], m.forward_one(emb)[target])
    return dict(name="cnn-softplus", model="ours/cnn", text=text, input_ids=ids, target=target,
                options=f"steps=16,softplus-beta={beta:g}"), \
        (lambda u: forward(u, softplus)), (lambda u: forward(u, torch.relu)), emb, torch.zeros_like(emb), \
        list(range(len(ids)))


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for case, f, f_model, emb, base, explained in (bert_case(), cnn_case(4.0)):
        gamma = integrated_hessians(f, emb, base, explained)
        finer = integrated_hessians(f, emb, base, explained, g=G + 8)
        with torch.no_grad():
            fx, fb, fm = f(emb[None])[0].item(), f(base[None])[0].item(), f_model(emb[None])[0].item()
        total = gamma.sum().item()
        print(f"{case['name']}: sum Gamma {total:.10f}, f(x) - f(x') {fx - fb:.10f}, "
              f"max |Gamma({G}) - Gamma({G + 8})| {(gamma - finer).abs().max().item():.2e}, "
              f"max |Gamma| {gamma.abs().max().item():.4f}")
        case.update(f_input=fx, f_baseline=fb, f_input_model=fm, quadrature=f"Gauss-Legendre {G} x {G} on (alpha, beta)",
                    token_interactions=gamma.flatten().tolist())
        cases.append(case)
    with open(os.path.join(OUT, "golden.json"), "w") as fh:
        json.dump({"cases": cases}, fh, indent=1)


if __name__ == "__main__":
    main()
