#!/usr/bin/python3
"""Integrated Hessians the path_explain way, in PyTorch (Debian's
python3-torch), for the side-by-side timing with wordlight's native
implementation (bench/integrated_hessians_bench.cpp).

path_explain (EmbeddingExplainerTorch.interactions, use_expectation=False)
samples k pairs (alpha, beta) from a sqrt(k) x sqrt(k) grid with end points
(_sample_alphas(use_product=True)), runs the model on x' + alpha beta (x - x')
with create_graph, forms each token's IG integrand sum_d df/du (z - x') and
takes one double backward per token with respect to z = x' + beta (x - x').
Here all k samples go through the model as one batch (path_explain's text
example uses batch size 1; batching only helps PyTorch), float32, on the
CPU with the given number of threads.

Input: the JSON that `integrated_hessians_bench --dump FILE` writes (token
ids, explained positions, target, softplus temperature and wordlight's
reference matrix, gauss rule with 128 steps). Output: one JSON line per
sentence and k: seconds (best of --reps), the error max |Gamma - ref| /
max |ref| and the completeness gap.

  /usr/bin/python3 bench/integrated_hessians_torch.py DUMP.json [--samples 16,64,256] [--threads 1] [--reps 2]

First it runs the same formula on wordlight's own gauss path points (same
steps, same quadrature error: a pure speed comparison), then the
path_explain grid with each number of samples.

Models: wordlight-cnn (softplus instead of ReLU, as wordlight smooths it),
wordlight-bilstm, and BERT checkpoints in the Hugging Face layout
(tests/golden/make_transformers.py's reference forward pass).
"""
import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
# torch_ig re-executes this script with OpenBLAS's OpenMP variant first on the
# library path and OMP_WAIT_POLICY=PASSIVE, before torch loads, so that
# torch.set_num_threads(--threads) governs the BLAS too: with the default
# (pthreads) OpenBLAS the "1 thread" run used both cores (process CPU time
# twice the wall time), which flattered PyTorch's wall clock and inflated the
# CPU-time ratio.
import torch_ig  # noqa: E402,F401  (for that re-execution)

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from golden_common import read_safetensors  # noqa: E402  (the shared parts of the Python scripts)


def load(model_dir, beta):
    """-> (embedding table, f(u: (P, T, D), ids) -> logits (P, L))."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    kind = cfg["model_type"]
    if kind == "wordlight-cnn":
        ks = cfg["kernel_size"] if isinstance(cfg["kernel_size"], list) else [cfg["kernel_size"]]
        convs = [(w[f"convs.{i}.weight"].permute(0, 2, 1).contiguous(), w[f"convs.{i}.bias"], k)
                 for i, k in enumerate(ks)]

        def act(v):
            return torch.nn.functional.softplus(v, beta=beta, threshold=1e9) if beta > 0 else torch.relu(v)

        def f(u, ids):
            x = u.transpose(1, 2)  # (P, D, T)
            pooled = [act(torch.nn.functional.conv1d(x, cw, cb, padding=k - 1)).max(dim=2).values
                      for cw, cb, k in convs]
            return torch.cat(pooled, 1) @ w["classifier.weight"].t() + w["classifier.bias"]
        return w["embeddings.weight"], f
    if kind == "wordlight-bilstm":
        D, H = cfg["embedding_dim"], cfg["hidden_size"]
        lstms = {}
        for d in ("forward", "backward"):
            m = torch.nn.LSTM(D, H, batch_first=True)
            with torch.no_grad():
                m.weight_ih_l0.copy_(w[f"lstm.{d}.weight_ih"])
                m.weight_hh_l0.copy_(w[f"lstm.{d}.weight_hh"])
                m.bias_ih_l0.copy_(w[f"lstm.{d}.bias"])
                m.bias_hh_l0.zero_()
            for p in m.parameters():
                p.requires_grad_(False)
            lstms[d] = m

        def f(u, ids):
            _, (hf, _) = lstms["forward"](u)
            _, (hb, _) = lstms["backward"](u.flip(1))
            return hf[0] @ w["classifier.forward.weight"].t() + w["classifier.forward.bias"] + \
                hb[0] @ w["classifier.backward.weight"].t() + w["classifier.backward.bias"]
        return w["embeddings.weight"], f
    if kind == "bert":
        import make_transformers as mt
        torch.set_default_dtype(torch.float32)
        m = mt.Bertish.__new__(mt.Bertish)
        m.family, m.head, m.pre = "bert", "cls", "bert"
        m.L, m.H = cfg["num_hidden_layers"], cfg["num_attention_heads"]
        m.eps, m.pad = cfg.get("layer_norm_eps", 1e-12), cfg.get("pad_token_id", 0)
        m.w = w

        def f(u, ids):
            P = u.shape[0]
            idt = torch.tensor([ids]).expand(P, -1)
            return m.forward(u, idt, torch.ones_like(idt))
        return w["bert.embeddings.word_embeddings.weight"], f
    raise SystemExit(f"{model_dir}: model_type {kind} is not supported here")


def grid(k):
    """path_explain's _sample_alphas(k, use_expectation=False, use_product=True)."""
    s = int(np.ceil(np.sqrt(k)))
    pts = np.linspace(0.0, 1.0, s, endpoint=True).astype(np.float32)
    idx = np.round(np.linspace(0.0, s * s - 1, k, endpoint=True)).astype(int)
    ones = np.ones(s, dtype=np.float32)
    beta = np.outer(pts, ones).flatten()[idx]
    alpha = np.outer(ones, pts).flatten()[idx]
    return torch.tensor(alpha), torch.tensor(beta)


def interactions(f, ids, target, x, base, explained, k):
    T = x.shape[0]
    alpha, beta = grid(k)
    delta = (x - base)[None]
    z = (base[None] + beta[:, None, None] * delta).detach().requires_grad_(True)
    u = base[None] + alpha[:, None, None] * (z - base[None])
    y = f(u, ids)[:, target]
    (gu,) = torch.autograd.grad(y.sum(), u, create_graph=True)
    a = (gu * (z - base[None])).sum(-1)  # (k, T)
    gamma = torch.zeros(T, T)
    for i in explained:  # one double backward per token
        (gz,) = torch.autograd.grad(a[:, i].sum(), z, retain_graph=True)
        gamma[i] = (gz * delta).sum(-1).mean(0)
    keep = torch.zeros(T)
    keep[explained] = 1
    return (gamma * keep[None, :]).detach()


def interactions_gauss(f, ids, target, x, base, explained, points):
    """The same formula on wordlight's own path points (gauss rule: t, w_first,
    w_second), so both sides have the same quadrature error: the gradient at
    the gradient points, and at the Hessian points one double backward per
    token of sum_d df/du_id Delta_id."""
    T = x.shape[0]
    pts = torch.tensor(points, dtype=torch.float64)
    delta = (x - base)[None]
    keep = torch.zeros(T)
    keep[explained] = 1
    gamma = torch.zeros(T, T, dtype=torch.float64)
    first, second = pts[pts[:, 2] == 0], pts[pts[:, 2] != 0]
    u = (base[None] + first[:, 0, None, None].float() * delta).requires_grad_(True)
    (g,) = torch.autograd.grad(f(u, ids)[:, target].sum(), u)
    gamma += torch.diag(((g * delta).sum(-1).double() * first[:, 1, None]).sum(0))
    u = (base[None] + second[:, 0, None, None].float() * delta).requires_grad_(True)
    (g,) = torch.autograd.grad(f(u, ids)[:, target].sum(), u, create_graph=True)
    a = (g * delta).sum(-1)  # (S, T)
    for i in explained:  # one double backward per token
        (h,) = torch.autograd.grad(a[:, i].sum(), u, retain_graph=True)
        gamma[i] += ((h * delta).sum(-1).double() * second[:, 2, None]).sum(0)
    return (gamma * keep[None, :].double()).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--samples", default="16,64,256")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for case in json.load(open(a.dump)):
        table, f = load(case["model"], case["softplus_beta"])
        ids, explained, target = case["ids"], case["explained"], case["target"]
        x = table[torch.tensor(ids)]
        base = x.clone()
        base[explained] = 0
        ref = torch.tensor(case["reference"]).view(len(ids), len(ids))
        with torch.no_grad():
            fx, fb = f(x[None], ids)[0, target].item(), f(base[None], ids)[0, target].item()
        runs = [("gauss", case["steps"])] + [("path-explain-grid", int(s)) for s in a.samples.split(",") if s]
        for rule, k in runs:
            best = best_cpu = math.inf
            for _ in range(a.reps):
                t0, c0 = time.perf_counter(), time.process_time()
                if rule == "gauss":
                    g = interactions_gauss(f, ids, target, x, base, explained, case["gauss_points"])
                else:
                    g = interactions(f, ids, target, x, base, explained, k)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            err = ((g.double() - ref.double()).abs().max() / ref.double().abs().max()).item()
            gap = abs(g.double().sum().item() - (fx - fb)) / abs(fx - fb)
            print(json.dumps({"bench": "integrated_hessians", "platform": "native", "impl": "pytorch-double-backward",
                              "model": case["model"], "words": case["words"], "tokens": len(explained),
                              "rule": rule, "samples": k, "threads": a.threads, "seconds": round(best, 4),
                              "cpu_seconds": round(best_cpu, 4),
                              "error_vs_128": float(f"{err:.3e}"), "completeness_gap": float(f"{gap:.3e}"),
                              "wordlight_steps": case["steps"], "wordlight_seconds": case["wordlight_seconds"]}),
                  flush=True)


if __name__ == "__main__":
    main()
