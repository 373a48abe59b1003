#!/usr/bin/env python3
"""PyTorch's time for the computation of bench/gpu_layer_bench.cpp: a stack of
BERT encoder layers, forward and backward to the input (no weight gradients),
fp32, batch B of T tokens with every other text ending in padding, random
weights. Prints one line and, with --out, appends a JSON line.

    python3 bench/gpu_layer_torch.py --device cuda --B 8 --T 64 --hidden 768 --heads 12 --ffn 3072 --layers 12
"""
import argparse
import json
import math
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    for k, v in dict(B=8, T=64, hidden=768, heads=12, ffn=3072, layers=12, reps=5).items():
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--out")
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32, as the Vulkan shaders
    torch.backends.cudnn.allow_tf32 = False
    g = torch.Generator().manual_seed(42)
    D, F, H = a.hidden, a.ffn, a.heads
    Dh = D // H

    def u(*shape, s):
        return ((torch.rand(*shape, generator=g) * 2 - 1) * s).to(dev)

    sd, sf = 1 / math.sqrt(D), 1 / math.sqrt(F)
    layers = []
    for _ in range(a.layers):
        layers.append(dict(wq=u(D, D, s=sd), wk=u(D, D, s=sd), wv=u(D, D, s=sd), wo=u(D, D, s=sd),
                           w1=u(F, D, s=sd), w2=u(D, F, s=sf), bq=u(D, s=0.1), bk=u(D, s=0.1), bv=u(D, s=0.1),
                           bo=u(D, s=0.1), b1=u(F, s=0.1), b2=u(D, s=0.1), g1=1 + u(D, s=0.2), be1=u(D, s=0.1),
                           g2=1 + u(D, s=0.2), be2=u(D, s=0.1)))
    mask = torch.ones(a.B, a.T, dtype=torch.bool)
    mask[1::2, a.T - a.T // 4:] = False
    bias = torch.zeros(a.B, 1, 1, a.T).masked_fill(~mask[:, None, None, :], float("-inf")).to(dev)
    x0 = u(a.B, a.T, D, s=1.0)
    F_ = torch.nn.functional

    def heads(t):
        return t.view(a.B, a.T, H, Dh).transpose(1, 2)

    def pass_():
        x = x0.clone().requires_grad_(True)
        h = x
        for w in layers:
            q, k, v = (heads(F_.linear(h, w[n], w["b" + n[1]])) for n in ("wq", "wk", "wv"))
            p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(Dh) + bias, dim=-1)
            att = (p @ v).transpose(1, 2).reshape(a.B, a.T, D)
            h1 = F_.layer_norm(F_.linear(att, w["wo"], w["bo"]) + h, (D,), w["g1"], w["be1"], 1e-12)
            f = F_.linear(F_.gelu(F_.linear(h1, w["w1"], w["b1"])), w["w2"], w["b2"])
            h = F_.layer_norm(f + h1, (D,), w["g2"], w["be2"], 1e-12)
        (gx,) = torch.autograd.grad(h.sum(), x)
        return gx

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    pass_()
    sync()
    best = 1e30
    for _ in range(a.reps):
        t0 = time.perf_counter()
        pass_()
        sync()
        best = min(best, time.perf_counter() - t0)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"  torch {a.device:<16} {best * 1e3:9.2f} ms/pass   IG-50 on B texts ~ {50 * best:8.2f} s   ({name})")
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(dict(bench="gpu_layer_torch", B=a.B, T=a.T, layers=a.layers, hidden=D, heads=H, ffn=F,
                                    torch_ms=best * 1e3, device=name)) + "\n")


if __name__ == "__main__":
    main()
