#!/usr/bin/python3
"""The Captum peer of bench/perturbation_bench.cpp (issue 15): Captum's
KernelShap and ShapleyValueSampling on the same model (PyTorch, the weights
of the model directory: bench/integrated_hessians_torch.py's reference
forward passes), the same texts, the same masking (an absent word's tokens
replaced by the absent id: [MASK] for BERT, <pad> for the CNN / BiLSTM;
special tokens always present), the same explained output (the target
logit), at the same budgets.

  CAPTUM_PATH=/work/peers/captum /usr/bin/python3 bench/perturbation_captum.py \
      --model DIR --dump FILE.json [--budgets 64,256,1024] [--name NAME] [--out FILE.jsonl]
  ... --speed --model DIR --text-ids FILE.json --samples 128   (timing only)

Captum runs from a checkout outside the repository (CAPTUM_PATH); without it
the script prints a notice and exits 0. Captum's KernelShap fits with
scikit-learn and Captum imports tqdm (Debian's python3-sklearn, python3-tqdm;
the Captum checkout of 2025-10, faac0877, runs on Debian's torch 1.13). Budgets: KernelShap n_samples = B
(B forward rows), ShapleyValueSampling n_samples = max(1, B // M)
permutations (M + 1 rows each). perturbations_per_eval = 128 (our
batch-size in the accuracy runs). Error of a text: |estimate - exact|_2 /
|exact|_2 over the words, exact from wordlight's enumeration (--dump of
perturbation_bench); seeds: torch.manual_seed(text index).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dump")
    ap.add_argument("--budgets", default="64,256,1024")
    ap.add_argument("--name")
    ap.add_argument("--out")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    cp = os.environ.get("CAPTUM_PATH")
    if not cp or not os.path.isdir(os.path.join(cp, "captum")):
        print("perturbation_captum.py: CAPTUM_PATH is not a Captum checkout: the Captum column is skipped",
              file=sys.stderr)
        return 0
    sys.path.insert(0, cp)
    from captum.attr import KernelShap, ShapleyValueSampling
    import integrated_hessians_torch as ref

    torch.set_num_threads(1)
    table, f = ref.load(a.model, 0.0)
    name = a.name or a.model

    def emit(obj):
        line = json.dumps(obj)
        print(line, flush=True)
        if a.out:
            with open(a.out, "a") as o:
                o.write(line + "\n")

    dump = json.load(open(a.dump))
    texts = dump["texts"]

    def explainer_for(t):
        ids = t["ids"]
        word_pos = [i for i, w in enumerate(t["word_of_token"]) if w >= 0]
        full = torch.tensor(ids)
        pos = torch.tensor(word_pos)
        target = t["target"]

        def forward(inp):  # inp: (P, n word tokens) ids -> (P,) target logits
            P = inp.shape[0]
            seq = full.unsqueeze(0).repeat(P, 1)
            seq[:, pos] = inp
            with torch.no_grad():
                return f(table[seq], ids)[:, target]
        x = full[pos].unsqueeze(0)
        base = torch.full_like(x, t["absent_id"])
        mask = torch.tensor([t["word_of_token"][i] for i in word_pos]).unsqueeze(0)
        return forward, x, base, mask

    if a.speed:
        t = texts[0]
        forward, x, base, mask = explainer_for(t)
        ks = KernelShap(forward)
        secs, cpu = [], []
        for r in range(a.repeats + 1):
            torch.manual_seed(r)
            t0, c0 = time.perf_counter(), time.process_time()
            ks.attribute(x, baselines=base, feature_mask=mask, n_samples=a.samples, perturbations_per_eval=32)
            secs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        secs, cpu = sorted(secs[1:]), sorted(cpu[1:])
        emit({"bench": "perturbation", "kind": "speed", "impl": "captum-torch", "model": name,
              "case": f"kernel-shap-{a.samples}", "words": int(mask.max()) + 1, "tokens": len(t["ids"]),
              "evaluations": a.samples, "seconds": round(secs[len(secs) // 2], 4),
              "cpu_seconds": round(cpu[len(cpu) // 2], 4), "threads": 1})
        return 0

    budgets = [int(b) for b in a.budgets.split(",")]
    for method in ("KernelShap", "ShapleyValueSampling"):
        for B in budgets:
            err, evals = 0.0, 0.0
            for i, t in enumerate(texts):
                forward, x, base, mask = explainer_for(t)
                M = int(mask.max()) + 1
                calls = [0]

                def counted(inp, forward=forward):
                    calls[0] += inp.shape[0]
                    return forward(inp)
                torch.manual_seed(i)
                if method == "KernelShap":
                    attr = KernelShap(counted).attribute(x, baselines=base, feature_mask=mask, n_samples=B,
                                                         perturbations_per_eval=128)
                else:
                    attr = ShapleyValueSampling(counted).attribute(x, baselines=base, feature_mask=mask,
                                                                   n_samples=max(1, B // M),
                                                                   perturbations_per_eval=128)
                # One value per word: the attribution of any of its tokens (Captum gives each token its group's).
                est = [0.0] * M
                for k, w in enumerate(mask[0].tolist()):
                    est[w] = float(attr[0, k])
                ex = t["exact"]
                num = sum((e - v) ** 2 for e, v in zip(est, ex))
                den = sum(v * v for v in ex)
                err += (num / den) ** 0.5 if den > 0 else num ** 0.5
                evals += calls[0]
            n = len(texts)
            emit({"bench": "perturbation", "kind": "accuracy", "impl": "captum-torch", "model": name,
                  "method": "kernel-shap" if method == "KernelShap" else "shapley-sampling", "budget": B,
                  "texts": n, "evaluations": round(evals / n, 1), "rel_error": round(err / n, 6)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
