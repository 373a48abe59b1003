#!/usr/bin/python3
"""Converged Integrated Gradients against Captum's default (issue 20, target 4).

Ours: `explain(integrated-gradients)` with the registry's defaults, timed in
process by build/.../bench/converged_bench (no CLI start-up, no model load):
adaptive steps (16 Gauss-Legendre points, then 32, 64, ... until the
completeness gap and the change of the scores from the previous level are
both below 1%), [UNK] baseline on the text's tokens ([CLS]/[SEP] keep
theirs), the predicted class's logit, batches of 16 points.
Captum: IntegratedGradients with its defaults (n_steps=50,
method='gausslegendre', internal_batch_size=None: all 50 points in one
batch) on the word embeddings of the same BERT in eager PyTorch (the model of
bench/torch_ig.py, same weights), same baseline, target = the predicted class
(one forward first, as a user does), return_convergence_delta=True (its
completeness check: two more forwards), token scores summed over the
embedding dims. Both at the same thread counts (torch.set_num_threads and
OpenBLAS's own), one after the other in this one command.

Per sentence: the steps ours needed, our relative completeness gap, Captum's
(|delta| / |f(x) - f(b)|, the same normalisation), both times and
captum/ours; per set and thread count the median, geometric mean and worst
(smallest) ratio; and how many sentences Captum's default leaves above a 1%
gap.

Sentences: GLUE SST-2 dev (../shared/data/sst2/test.tsv), the first
--short of 8-30 words and the first --long of at least --long-words words
(about 45-60 tokens).

Before timing, it checks that both compute the same thing:
  * the token ids are the same (ours' from the explanation), and the logits
    equal to 1e-4;
  * ours at adaptive=false,steps=50,batch-size=50 (Gauss-Legendre, [UNK]) equals
    Captum's default scores to 1e-4 of max |score|;
  * on the first --reference-texts of each set: ours (defaults) and Captum's
    default against Captum at --reference-steps points (internal batches of
    64): max |s - ref| / max |ref| (ours must be within the 1% tolerance).

  CAPTUM_DIR=/work/peers/captum /usr/bin/python3 bench/converged_captum.py \\
      [--bench build/cmake-native/bench/converged_bench] [--model models/sst2-bert] \\
      [--threads 1,2] [--short 20] [--long 8] [--repeats 3] [--out build/bench/converged.jsonl]

Captum runs from a checkout outside this repository (CAPTUM_DIR; CAPTUM_PATH,
the perturbation bench's name, also works), e.g.
  git clone https://github.com/pytorch/captum /work/peers/captum
It imports captum.attr, which needs matplotlib, tqdm and packaging
(bench/bench_deps.sh installs python3-matplotlib python3-tqdm
python3-packaging through apt). Debian's torch 1.13 runs Captum 0.8.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
# torch_ig re-executes this script with OpenBLAS's OpenMP variant first on the
# library path (torch's threads then run the GEMMs) and sets
# OMP_WAIT_POLICY=PASSIVE, before torch loads: the same torch as its bench.
from torch_ig import Bert, loaded_blas, matmul_gflops, thread_setter  # noqa: E402

import torch  # noqa: E402

TOL = 0.01


def captum_dir():
    d = os.environ.get("CAPTUM_DIR") or os.environ.get("CAPTUM_PATH")
    if not d or not os.path.isfile(os.path.join(d, "captum", "attr", "__init__.py")):
        sys.exit("converged_captum.py: set CAPTUM_DIR to a Captum checkout outside this repository, e.g.\n"
                 "  git clone https://github.com/pytorch/captum /work/peers/captum\n"
                 "  CAPTUM_DIR=/work/peers/captum ./build.sh bench converged\n"
                 f"(CAPTUM_DIR is {'unset' if not d else repr(d) + ', which has no captum/attr'})")
    return d


def sentences(path, n, lo, hi):
    out = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            s = line.rstrip("\n").split("\t")[0].strip()
            if lo <= len(s.split()) <= hi:
                out.append(s)
            if len(out) == n:
                break
    return out


def run_ours(bench, model, texts_file, threads, repeats, options=""):
    out = texts_file + ".ours.jsonl"
    if os.path.exists(out):
        os.unlink(out)
    cmd = [bench, "--model", model, "--texts", texts_file, "--threads", threads, "--repeats", str(repeats),
           "--out", out]
    if options:
        cmd += ["--options", options]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"converged_captum.py: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    with open(out, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    os.unlink(out)
    return rows


class Ours:
    """converged_bench --texts -: one process per thread count and options; each sentence written to its stdin
    is timed there (one warm-up call first) and answered with its JSON line."""

    def __init__(self, bench, model, threads, repeats, options=""):
        cmd = [bench, "--model", model, "--texts", "-", "--threads", str(threads), "--repeats", str(repeats),
               "--out", "-"] + (["--options", options] if options else [])
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, encoding="utf-8")
        self.cmd = cmd

    def time(self, text):
        self.p.stdin.write(json.dumps(text, ensure_ascii=False) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit(f"converged_captum.py: {' '.join(self.cmd)} stopped (exit {self.p.wait()})")
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        if self.p.wait(timeout=60) != 0:
            sys.exit(f"converged_captum.py: {' '.join(self.cmd)} failed (exit {self.p.returncode})")


def max_rel_err(got, ref):
    big = max(abs(float(v)) for v in ref) or 1e-12
    return max(abs(float(a) - float(b)) for a, b in zip(got, ref)) / big


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=os.path.join(ROOT, "build/cmake-native/bench/converged_bench"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models/sst2-bert"))
    ap.add_argument("--data", default=os.path.join(ROOT, "../shared/data/sst2/test.tsv"),
                    help="GLUE SST-2 dev (this repository's shared data calls it test.tsv)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--short", type=int, default=20, help="sentences of 8-30 words")
    ap.add_argument("--long", type=int, default=8, help="sentences of at least --long-words words")
    ap.add_argument("--long-words", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per sentence (median)")
    ap.add_argument("--reference-steps", type=int, default=256)
    ap.add_argument("--reference-texts", type=int, default=2, help="per set; 0 skips the reference check")
    ap.add_argument("--variant", default="steps=16",
                    help="also time ours with these options over the defaults ('' skips): what another default "
                         "would give (steps=16: the adaptive levels 16, 32, ..., the default before it became 8)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build/bench/converged.jsonl"))
    ap.add_argument("--blas", choices=["openmp", "default"], default="openmp", help="as in torch_ig.py")
    o = ap.parse_args()
    sys.path.insert(0, captum_dir())
    import captum
    from captum.attr import IntegratedGradients

    if not os.access(o.bench, os.X_OK):
        sys.exit(f"converged_captum.py: {o.bench} is not built (cmake --build BUILD --target converged_bench)")
    sets = [("short", s) for s in sentences(o.data, o.short, 8, 30)]
    sets += [("long", s) for s in sentences(o.data, o.long, o.long_words, 10 ** 6)]
    if not sets:
        sys.exit(f"converged_captum.py: no sentences in {o.data}")
    os.makedirs(os.path.dirname(os.path.abspath(o.out)), exist_ok=True)
    texts_file = os.path.splitext(os.path.abspath(o.out))[0] + "-texts.txt"
    with open(texts_file, "w", encoding="utf-8") as f:
        for _, s in sets:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")

    # ---- torch's threads and BLAS, as torch_ig.py sets them
    use_threads = thread_setter()
    libs = loaded_blas()
    use_threads(1)
    print(f"torch {torch.__version__}, captum {captum.__version__} ({os.path.dirname(captum.__file__)}); BLAS: "
          f"{', '.join(libs) or 'none found'}; 512^3 matmul at 1 thread {matmul_gflops():.1f} GFLOP/s; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    model = Bert(o.model)

    def forward(x):
        return model.forward(x, torch.ones(x.shape[0], x.shape[1], dtype=torch.long))

    ig = IntegratedGradients(forward)

    # ---- what both compute: the same ids, logits, baseline and scores
    fixed = run_ours(o.bench, o.model, texts_file, "1", 1, "adaptive=false,steps=50,batch-size=50")
    default = run_ours(o.bench, o.model, texts_file, "1", 1)
    variant = run_ours(o.bench, o.model, texts_file, "1", 1, o.variant) if o.variant else [None] * len(default)
    opts = default[0]["explanation"]["options"]
    if (opts["rule"], opts["output"], opts["baseline"]) != ("gauss-legendre", "logit", "unk"):
        sys.exit(f"converged_captum.py: the registry's defaults changed ({opts}); this bench builds Captum's "
                 "baseline and output for rule=gauss-legendre, output=logit, baseline=unk")
    cases = []
    for i, (fx, dflt, var) in enumerate(zip(fixed, default, variant)):
        e = fx["explanation"]
        ids = torch.tensor([t["id"] for t in e["tokens"]], dtype=torch.long)
        base_ids = torch.tensor([fx["unk_id"] if t["word"] >= 0 else t["id"] for t in e["tokens"]],
                                dtype=torch.long)
        with torch.no_grad():
            x = model.embed(ids[None])
            b = model.embed(base_ids[None])
            logits = forward(x)[0]
            fb = forward(b)[0]
        target = int(logits.argmax())
        dl = float((logits.double() - torch.tensor(e["prediction"]["logits"], dtype=torch.float64)).abs().max())
        if dl > 1e-4 or target != e["prediction"]["target"]:
            sys.exit(f"converged_captum.py: sentence {i}: logits differ by {dl:.2e} (targets {target}, "
                     f"{e['prediction']['target']}): not the same model")
        attr, delta = ig.attribute(x, baselines=b, target=target, return_convergence_delta=True)
        cs = attr[0].sum(-1).double()
        ours50 = [t["score"] for t in e["tokens"]]
        d50 = max_rel_err(ours50, cs.tolist())
        if d50 > 1e-4:
            sys.exit(f"converged_captum.py: sentence {i}: our 50-point scores differ from Captum's default by "
                     f"{d50:.2e} of the largest: not the same computation")
        ref_f = float(logits[target] - fb[target])
        # Captum's defaults all the way (baselines=None: zero embeddings on every token, [CLS]/[SEP] too):
        # its completeness gap, the trust finding (not timed)
        _, delta0 = ig.attribute(x, target=target, return_convergence_delta=True)
        with torch.no_grad():
            f0 = forward(torch.zeros_like(x))[0, target]
        gap0 = abs(float(delta0[0])) / max(abs(float(logits[target] - f0)), 1e-9)
        cases.append(dict(set=sets[i][0], text=sets[i][1], ids=ids, base_ids=base_ids, target=target,
                          tokens=len(ids), words=len(sets[i][1].split()), d50=d50,
                          captum_gap=abs(float(delta[0])) / max(abs(ref_f), 1e-9), captum_scores=cs,
                          ours_scores=[t["score"] for t in dflt["explanation"]["tokens"]], ref_f=ref_f,
                          variant_scores=var and [t["score"] for t in var["explanation"]["tokens"]],
                          captum_gap_zero=gap0))
    print(f"checks: {len(cases)} sentences: ids and predicted class equal, logits to 1e-4; our 50-point "
          f"Gauss-Legendre scores equal Captum's default to {max(c['d50'] for c in cases):.1e} of the largest")
    if o.reference_texts > 0:
        for name in ("short", "long"):
            for c in [c for c in cases if c["set"] == name][:o.reference_texts]:
                with torch.no_grad():
                    x, b = model.embed(c["ids"][None]), model.embed(c["base_ids"][None])
                ref = ig.attribute(x, baselines=b, target=c["target"], n_steps=o.reference_steps,
                                   internal_batch_size=64)[0].sum(-1).double().tolist()
                c["ours_ref_err"] = max_rel_err(c["ours_scores"], ref)
                c["captum_ref_err"] = max_rel_err(c["captum_scores"].tolist(), ref)
                c["variant_ref_err"] = c["variant_scores"] and max_rel_err(c["variant_scores"], ref)
                print(f"check against Captum at {o.reference_steps} points ({name}, {c['tokens']} tokens): ours "
                      f"(defaults) {c['ours_ref_err']:.1e}, Captum's default {c['captum_ref_err']:.1e}"
                      + (f", ours with {o.variant} {c['variant_ref_err']:.1e}" if o.variant else "")
                      + " of the largest score")
                if c["ours_ref_err"] > TOL:
                    sys.exit("converged_captum.py: our adaptive scores are further than the tolerance from the "
                             "reference")

    # ---- timing, per thread count and sentence: ours (a process of its own that reads the sentences from
    # stdin and times each in process), ours with the variant's options, then Captum, right after each other,
    # so that load from other work on the machine falls on all of them alike
    def captum_default(c):
        with torch.no_grad():
            x = model.embed(c["ids"][None])
            target = int(forward(x)[0].argmax())
            b = model.embed(c["base_ids"][None])
        attr, delta = ig.attribute(x, baselines=b, target=target, return_convergence_delta=True)
        return attr[0].sum(-1), delta

    rows = []
    for n in [int(t) for t in o.threads.split(",")]:
        procs = [Ours(o.bench, o.model, n, o.repeats)] + ([Ours(o.bench, o.model, n, o.repeats, o.variant)]
                                                         if o.variant else [])
        use_threads(n)
        captum_default(cases[0])  # warm-up
        for i, c in enumerate(cases):
            r, v = [p.time(c["text"]) for p in procs] + ([None] if not o.variant else [])
            times, cpu = [], []
            for _ in range(o.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                captum_default(c)
                cpu.append(time.process_time() - c0)
                times.append(time.perf_counter() - t0)
            cs = statistics.median(times)
            rows.append(dict(set=c["set"], index=i, threads=n, tokens=c["tokens"], words=c["words"],
                             steps=r["steps"], tried=r["tried"], evaluations=r["evaluations"], gap=r["gap"],
                             change=r["change"], converged=r["converged"], ours_seconds=r["seconds"],
                             captum_seconds=cs, captum_gap=c["captum_gap"], ratio=cs / r["seconds"],
                             ours_cpu_seconds=r["cpu_seconds"], captum_cpu_seconds=statistics.median(cpu),
                             cpu_ratio=statistics.median(cpu) / r["cpu_seconds"],
                             ours_ref_err=c.get("ours_ref_err"), captum_ref_err=c.get("captum_ref_err"),
                             captum_gap_zero=c["captum_gap_zero"], variant=o.variant or None,
                             variant_steps=v and v["steps"], variant_evaluations=v and v["evaluations"],
                             variant_gap=v and v["gap"], variant_seconds=v and v["seconds"],
                             variant_ratio=v and cs / v["seconds"], variant_ref_err=c.get("variant_ref_err")))
        for p in procs:
            p.close()

    # ---- report
    with open(o.out, "a", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({"bench": "converged", "platform": "native", "impl": "ours-native-vs-captum",
                                "model": o.model, "repeats": o.repeats, "captum_steps": 50, "tolerance": TOL,
                                "torch": torch.__version__, "captum": captum.__version__, **r}) + "\n")
    v = o.variant
    print(f"\nConverged IG (ours: registry defaults, adaptive from 8 Gauss-Legendre points, tolerance {TOL:g}) "
          "against Captum's default IntegratedGradients (50 Gauss-Legendre points, one batch, the same [UNK] "
          f"baseline), median of {o.repeats} calls, seconds; gaps relative to |f(x) - f(b)|. 'zero-b gap': "
          "Captum's defaults all the way (baselines=None: zero embeddings on every token)"
          + (f"; 'v': ours with {v} (not the default)" if v else ""))
    print(f"{'set':<6}{'#':>3}{'tokens':>7}{'thr':>4}{'steps':>6}{'evals':>6}{'our gap %':>10}"
          f"{'captum gap %':>13}{'zero-b gap %':>13}{'ours s':>8}{'captum s':>9}{'captum/ours':>12}{'cpu':>6}"
          + (f"{'v steps':>8}{'v s':>8}{'captum/v':>9}" if v else ""))
    for r in rows:
        print(f"{r['set']:<6}{r['index']:>3}{r['tokens']:>7}{r['threads']:>4}{r['steps']:>6}{r['evaluations']:>6}"
              f"{100 * r['gap']:>10.5f}{100 * r['captum_gap']:>13.5f}{100 * r['captum_gap_zero']:>13.3f}"
              f"{r['ours_seconds']:>8.3f}{r['captum_seconds']:>9.3f}{r['ratio']:>12.2f}{r['cpu_ratio']:>6.2f}"
              + (f"{r['variant_steps']:>8}{r['variant_seconds']:>8.3f}{r['variant_ratio']:>9.2f}" if v else ""))

    def stats(xs):
        return statistics.median(xs), math.exp(sum(map(math.log, xs)) / len(xs)), min(xs)

    print("\ncaptum/ours (> 1: ours is faster) of the wall-clock times: median, geometric mean, worst; "
          "'cpu': the geometric mean of the ratio of the process CPU times (less sensitive to other work on the "
          "machine at 1 thread)"
          + (f"; and the same for ours with {v}" if v else ""))
    print(f"{'set':<6}{'threads':>8}{'n':>4}{'tokens':>8}{'steps':>7}{'median':>8}{'geomean':>9}{'worst':>7}{'cpu':>6}"
          + (f"{'v median':>10}{'v geomean':>11}{'v worst':>9}" if v else ""))
    with open(o.out, "a", encoding="utf-8") as f:
        for name in ("short", "long", "all"):
            for n in sorted({r["threads"] for r in rows}):
                sel = [r for r in rows if r["threads"] == n and (name == "all" or r["set"] == name)]
                if not sel:
                    continue
                md, gm, wo = stats([r["ratio"] for r in sel])
                cg = stats([r["cpu_ratio"] for r in sel])[1]
                s = dict(set=name, threads=n, n=len(sel), tokens=[min(r["tokens"] for r in sel),
                                                                  max(r["tokens"] for r in sel)],
                         steps=sorted({r["steps"] for r in sel}), median_ratio=md, geomean_ratio=gm, worst_ratio=wo,
                         cpu_geomean_ratio=cg,
                         captum_above_tol=sum(r["captum_gap"] > TOL for r in sel),
                         captum_zero_above_tol=sum(r["captum_gap_zero"] > TOL for r in sel),
                         ours_above_tol=sum(r["gap"] > TOL for r in sel),
                         max_captum_gap=max(r["captum_gap"] for r in sel),
                         max_captum_gap_zero=max(r["captum_gap_zero"] for r in sel), max_gap=max(r["gap"] for r in sel))
                if v:
                    vm, vg, vw = stats([r["variant_ratio"] for r in sel])
                    s.update(variant=v, variant_steps=sorted({r["variant_steps"] for r in sel}),
                             variant_median_ratio=vm, variant_geomean_ratio=vg, variant_worst_ratio=vw,
                             variant_above_tol=sum(r["variant_gap"] > TOL for r in sel))
                f.write(json.dumps({"bench": "converged-summary", "platform": "native", "model": o.model,
                                    "tolerance": TOL, **s}) + "\n")
                print(f"{name:<6}{n:>8}{s['n']:>4}{'%d-%d' % tuple(s['tokens']):>8}"
                      f"{'/'.join(map(str, s['steps'])):>7}{md:>8.2f}{gm:>9.2f}{wo:>7.2f}{cg:>6.2f}"
                      + (f"{vm:>10.2f}{vg:>11.2f}{vw:>9.2f}" if v else ""))
    first = [r for r in rows if r["threads"] == rows[0]["threads"]]
    print(f"Completeness gap above {TOL:g}: ours {sum(r['gap'] > TOL for r in first)} of {len(first)} sentences "
          f"(largest {100 * max(r['gap'] for r in first):.4f}%); Captum's default with our [UNK] baseline "
          f"{sum(r['captum_gap'] > TOL for r in first)} (largest {100 * max(r['captum_gap'] for r in first):.4f}%); "
          f"Captum's defaults with its zero baseline {sum(r['captum_gap_zero'] > TOL for r in first)} (largest "
          f"{100 * max(r['captum_gap_zero'] for r in first):.2f}%)"
          + (f"; ours with {v} {sum(r['variant_gap'] > TOL for r in first)}" if v else "") + f". JSON lines: {o.out}")

if __name__ == "__main__":
    main()
