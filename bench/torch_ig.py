#!/usr/bin/python3
"""The peer of bench/explain_bench.cpp: the same Integrated Gradients in
PyTorch CPU (Debian's python3-torch 1.13), same weights, same token ids, same
thread counts, written as a user would in a few lines of eager PyTorch.

  /usr/bin/python3 bench/torch_ig.py --model DIR --inputs FILE.json \
      [--threads 1,2] [--repeats N] [--out FILE.jsonl] [--cli build/native/wordlight]
      [--device cpu|cuda]

--device cuda (issue 23's GPU comparison): the same computation in fp32 on
the GPU (impl torch-cuda; each timed call ends with torch.cuda.synchronize).

--inputs is what `explain_bench --inputs-out` wrote (texts and their token
ids). Before timing, the script checks that it computes what we compute:
  * the BLAS torch calls is OpenBLAS (the library mapped into the process,
    and a 512^3 matmul's GFLOP/s), not the reference BLAS;
  * for each text, our CLI's token ids and logits (`wordlight explain
    --method gradient --json`) equal the ones here (logits to 1e-4);
  * our CLI's integrated-gradients token scores (steps=50, batch-size=50)
    equal the ones computed here (to 1e-4 of the largest |score| + 1e-6).

What is timed, per thread count and text (median of --repeats after a
warm-up), mirroring explain(method=integrated-gradients) (see
core/src/explain/integrated_gradients.cpp, model_target.cpp):
  ig       forward of the text (batch 1, no grad) for the predicted class;
           f at the input and the baseline (batch 2, no grad); the 50
           Gauss-Legendre path points as one batch (forward, then backward
           of the sum of the target logits to the word embeddings; weights
           need no gradient); attributions (x - b) * sum_k w_k grad_k summed
           over the embedding dims. Baseline: zero word embeddings for the
           text's tokens, [CLS]/[SEP] keep theirs.
  forward  embedding lookup + forward of the text, batch 1, torch.no_grad()
The model: BertForSequenceClassification as Hugging Face defines it (post-LN,
GELU with erf, additive attention mask, pooler tanh), eval mode.
"""
import argparse
import ctypes
import json
import math
import os
import subprocess
import sys
import time

# Before torch loads (both are read when the libraries load):
#  * OpenBLAS's OpenMP variant (libopenblas0-openmp) when installed: it runs
#    on torch's own OpenMP threads, so torch.set_num_threads governs the
#    GEMMs too (the pthreads variant, the default alternative when our build
#    installs it, keeps a second pool). The script re-executes itself with
#    that variant first on the library path; --blas default skips this.
#  * OMP_WAIT_POLICY=PASSIVE unless set: libgomp's default spin-waiting made
#    the 2-thread runs up to 5x slower than 1 thread here on a 2-core machine
#    shared with other work (our pool spins only briefly, then sleeps), which
#    would measure the machine's load, not torch.
OPENMP_BLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
if ("--blas=default" not in sys.argv and not ("--blas" in sys.argv[:-1] and
                                              sys.argv[sys.argv.index("--blas") + 1] == "default")
        and os.environ.get("WORDLIGHT_TORCH_IG_REEXEC") is None and os.path.exists(OPENMP_BLAS + "/libblas.so.3")):
    lib_path = os.environ.get("LD_LIBRARY_PATH")
    env = dict(os.environ, WORDLIGHT_TORCH_IG_REEXEC="1",
               LD_LIBRARY_PATH=OPENMP_BLAS + (":" + lib_path if lib_path else ""))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from golden_common import read_safetensors  # noqa: E402  (the shared parts of the Python scripts)

STEPS = 50


class Bert:
    """BertForSequenceClassification's forward on word embeddings (B, T, C)."""

    def __init__(self, d, device="cpu"):
        with open(os.path.join(d, "config.json")) as f:
            c = json.load(f)
        if c.get("model_type") != "bert":
            raise SystemExit(f"torch_ig: {d} is not a BERT model (model_type {c.get('model_type')})")
        if c.get("hidden_act", "gelu") != "gelu":
            raise SystemExit("torch_ig: only hidden_act gelu is written here")
        self.c = c
        self.heads, self.layers, self.eps = c["num_attention_heads"], c["num_hidden_layers"], c["layer_norm_eps"]
        self.w = {k: v.to(device) for k, v in read_safetensors(os.path.join(d, "model.safetensors")).items()}
        for t in self.w.values():
            t.requires_grad_(False)
        self.word = self.w["bert.embeddings.word_embeddings.weight"]

    def embed(self, ids):  # ids: (B, T) long
        return F.embedding(ids, self.word)

    def forward(self, x, mask):  # x: (B, T, C) word embeddings, mask: (B, T) 1 = real token
        w, (B, T, C) = self.w, x.shape
        H = self.heads
        dh = C // H
        e = "bert.embeddings."
        h = x + w[e + "position_embeddings.weight"][:T] + w[e + "token_type_embeddings.weight"][0]
        h = F.layer_norm(h, (C,), w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"], self.eps)
        add_mask = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min  # (B, 1, 1, T)
        for i in range(self.layers):
            p = f"bert.encoder.layer.{i}."
            lin = lambda t, n: F.linear(t, w[p + n + ".weight"], w[p + n + ".bias"])  # noqa: E731
            q = lin(h, "attention.self.query").view(B, T, H, dh).transpose(1, 2)
            k = lin(h, "attention.self.key").view(B, T, H, dh).transpose(1, 2)
            v = lin(h, "attention.self.value").view(B, T, H, dh).transpose(1, 2)
            s = q @ k.transpose(-1, -2) / math.sqrt(dh) + add_mask
            a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, C)
            h = F.layer_norm(h + lin(a, "attention.output.dense"), (C,), w[p + "attention.output.LayerNorm.weight"],
                             w[p + "attention.output.LayerNorm.bias"], self.eps)
            f = lin(F.gelu(lin(h, "intermediate.dense")), "output.dense")
            h = F.layer_norm(h + f, (C,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        pooled = torch.tanh(F.linear(h[:, 0], w["bert.pooler.dense.weight"], w["bert.pooler.dense.bias"]))
        return F.linear(pooled, w["classifier.weight"], w["classifier.bias"])


def integrated_gradients(model, ids, special, nodes, weights, batch=STEPS):
    """explain(integrated-gradients) on one text: ids (T) long, special (T) bool."""
    T = ids.shape[0]
    one = torch.ones(1, T, dtype=torch.long, device=ids.device)
    with torch.no_grad():
        x = model.embed(ids[None])  # (1, T, C)
        target = int(model.forward(x, one)[0].argmax())
        b = x * special[None, :, None]  # zero baseline on the text's tokens
        ends = model.forward(torch.cat([x, b]), one.expand(2, T))[:, target]
    acc = torch.zeros_like(x[0])
    for k0 in range(0, STEPS, batch):
        a = nodes[k0:k0 + batch, None, None]
        xs = (b + a * (x - b)).requires_grad_(True)  # (nb, T, C)
        y = model.forward(xs, one.expand(xs.shape[0], T))[:, target]
        (g,) = torch.autograd.grad(y.sum(), xs)
        acc += (weights[k0:k0 + batch, None, None] * g).sum(0)
    attr = ((x[0] - b[0]) * acc).sum(-1)
    return attr, float(ends[0] - ends[1]), target


def plain_forward(model, ids):
    with torch.no_grad():
        return model.forward(model.embed(ids[None]), torch.ones(1, ids.shape[0], dtype=torch.long, device=ids.device))


def loaded_blas():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in os.path.basename(p) or "lapack" in os.path.basename(p):
                libs.add(p)
    return sorted(libs)


def thread_setter():
    """use_threads(n): torch's threads and the BLAS's. torch.set_num_threads
    does not reach a pthreads OpenBLAS, so its own openblas_set_num_threads is
    called too (after a small matmul has loaded the library)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    set_blas_threads = None
    for p in [p for p in loaded_blas() if "openblas" in p]:
        try:
            set_blas_threads = ctypes.CDLL(p).openblas_set_num_threads
            break
        except (OSError, AttributeError):
            pass

    def use_threads(n):
        torch.set_num_threads(n)
        if set_blas_threads:
            set_blas_threads(n)

    return use_threads


def matmul_gflops(n=512, reps=5):
    a = torch.randn(n, n)
    a @ a
    best = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def forward_flops(c, T):
    H, I, L, C = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], len(c.get("id2label", {})) or 2
    return L * T * (2 * (4 * H * H + 2 * H * I) + 4 * T * H) + 2 * H * H + 2 * H * C


def cli_explain(cli, model_dir, text, method, options=None):
    cmd = [cli, "explain", "--model", model_dir, "--method", method, "--json", "--text", text]
    if options:
        cmd[4:4] = ["--options", options]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"torch_ig: {' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--inputs", required=True, help="JSON from explain_bench --inputs-out")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="")
    ap.add_argument("--cli", default="build/native/wordlight", help="our CLI, for the checks ('' skips them)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--memory", default="", help="instead of timing: the peak resident set before and after one "
                    "ig call on the first input, 1 thread, appended to this JSON-lines file (bench 'memory')")
    ap.add_argument("--blas", choices=["openmp", "default"], default="openmp",
                    help="openmp: OpenBLAS's OpenMP variant when installed (default); default: the system's libblas")
    o = ap.parse_args()
    torch.manual_seed(0)

    use_threads = thread_setter()
    libs = loaded_blas()
    openblas = [p for p in libs if "openblas" in p]
    use_threads(1)
    gf = matmul_gflops()
    print(f"torch {torch.__version__}; BLAS mapped: {', '.join(libs) or 'none found'}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print(f"512^3 matmul at 1 thread: {gf:.1f} GFLOP/s")
    if not openblas:
        print("torch_ig: WARNING: torch is not using OpenBLAS (install libopenblas0-openmp or libopenblas0-pthread);"
              " the reference BLAS makes this comparison meaningless", file=sys.stderr)

    dev = o.device
    if dev == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_ig: --device cuda, but torch sees no CUDA device")
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    impl = "torch-cuda" if dev == "cuda" else "torch"
    model = Bert(o.model, dev)
    with open(o.inputs) as f:
        inputs = json.load(f)
    z, wq = np.polynomial.legendre.leggauss(STEPS)  # gauss-legendre, the default rule
    nodes = torch.tensor((z + 1) / 2, dtype=torch.float32, device=dev)
    weights = torch.tensor(wq / 2, dtype=torch.float32, device=dev)
    cases = []
    for inp in inputs:
        ids = torch.tensor(inp["ids"], dtype=torch.long, device=dev)
        special = torch.zeros(len(inp["ids"]), dtype=torch.float32, device=dev)
        if o.cli:
            d = cli_explain(o.cli, o.model, inp["text"], "gradient")
            cli_ids = [t["id"] for t in d["tokens"]]
            if cli_ids != inp["ids"]:
                raise SystemExit(f"torch_ig: the CLI's token ids differ from the bench's for the {inp['tokens']}-token text")
            special = torch.tensor([1.0 if t["special"] else 0.0 for t in d["tokens"]], device=dev)
            ours = np.array(d["prediction"]["logits"])
            theirs = plain_forward(model, ids)[0].double().cpu().numpy()
            diff = np.abs(ours - theirs).max()
            print(f"check {inp['tokens']} tokens: logits ours {np.round(ours, 6).tolist()} torch "
                  f"{np.round(theirs, 6).tolist()}, max diff {diff:.2e}")
            if diff > 1e-4:
                raise SystemExit("torch_ig: logits differ by more than 1e-4: not the same model")
            ig = cli_explain(o.cli, o.model, inp["text"], "integrated-gradients",
                             f"steps={STEPS},batch-size={STEPS},adaptive=false,baseline=zero")
            ours_ig = np.array([t["score"] for t in ig["tokens"]])
            attr, _, _ = integrated_gradients(model, ids, special, nodes, weights)
            attr = attr.double().cpu().numpy()
            diff = np.abs(ours_ig - attr).max()
            tol = 1e-4 * np.abs(ours_ig).max() + 1e-6
            print(f"check {inp['tokens']} tokens: IG token scores max diff {diff:.2e} (tolerance {tol:.1e})")
            if diff > tol:
                raise SystemExit("torch_ig: IG scores differ from our CLI's: not the same computation")
        else:
            # without the CLI: [CLS] first and [SEP] last, as BERT encodes one text
            special[0] = special[-1] = 1.0
        cases.append((inp["tokens"], ids, special))

    if o.memory:
        import resource
        use_threads(1)
        T, ids, special = cases[0]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        t0 = time.perf_counter()
        integrated_gradients(model, ids, special, nodes, weights)
        sync()
        s = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"memory: ig (steps {STEPS}, batch {STEPS}), {T} tokens, 1 thread: peak {after:.1f} MB "
              f"({before:.1f} MB before the call, +{after - before:.1f} MB), {s:.3f} s")
        with open(o.memory, "a") as f:
            f.write(json.dumps({"bench": "memory", "platform": "native", "impl": impl, "case": f"ig{STEPS} t{T}",
                                "threads": 1, "metric": "peak_mb", "value": after, "before_mb": before,
                                "added_mb": after - before, "what": "peak resident set (getrusage)",
                                "seconds": s, "model": o.model, "torch": torch.__version__}) + "\n")
        return

    out = open(o.out, "a") if o.out else None
    print(f"torch: median of {o.repeats} repetitions after a warm-up; seconds per call")
    print(f"{'measure':<10} {'tokens':>7} {'threads':>7} {'seconds':>12} {'GFLOP/s':>10}")
    for n in [int(t) for t in o.threads.split(",")]:
        use_threads(n)
        for T, ids, special in cases:
            fwd = forward_flops(model.c, T)
            ms = [
                ("ig", lambda: integrated_gradients(model, ids, special, nodes, weights), 1, (3 + 2 * STEPS) * fwd),
                ("forward", lambda: plain_forward(model, ids), 1, fwd),
            ]
            times = {m[0]: [] for m in ms}
            calls = {}
            for name, fn, _, _ in ms:  # warm-up; forward runs several calls per repetition
                t0 = time.perf_counter()
                fn()
                sync()
                s = time.perf_counter() - t0
                calls[name] = 1 if name == "ig" else max(1, min(1000, int(0.05 / max(s, 1e-6))))
            for _ in range(o.repeats):
                for name, fn, _, _ in ms:
                    t0 = time.perf_counter()
                    for _ in range(calls[name]):
                        fn()
                    sync()
                    times[name].append((time.perf_counter() - t0) / calls[name])
            for name, _, _, flops in ms:
                s = float(np.median(times[name]))
                print(f"{name:<10} {T:>7} {n:>7} {s:>12.5f} {flops / s / 1e9:>10.2f}")
                if out:
                    out.write(json.dumps({
                        "bench": "explain", "platform": "native", "impl": impl, "threads": n,
                        "case": f"{name} t{T}", "measure": name, "tokens": T, "seconds": s, "metric": "seconds",
                        "value": s, "unit": "s", "gflop": flops / 1e9, "gflops": flops / s / 1e9, "steps": STEPS,
                        "batch_size": STEPS if name == "ig" else None, "repeats": o.repeats,
                        "calls_per_repeat": calls[name], "min_seconds": min(times[name]), "model": o.model,
                        "torch": torch.__version__, "blas": ",".join(openblas) or "not openblas",
                        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                    }) + "\n")
            sys.stdout.flush()
    if out:
        out.close()


if __name__ == "__main__":
    main()
