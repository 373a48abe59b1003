#!/usr/bin/python3
"""Do the adaptive defaults of the path methods converge? (issue 13)

For N sentences of GLUE SST-2 dev (the first ones of 8 to 30 words), runs
`wordlight explain --json` with a method's defaults (adaptive steps) and
with a fixed reference (the same rule and baseline, --reference-steps
points, adaptive=false), and the old fixed defaults for comparison, then
reports per sentence: the steps the adaptive rule used, its completeness gap
and score change, and its error against the reference:

  max error   max_t |s_t - ref_t| / max_t |ref_t|   (token scores; for
              integrated-hessians the interaction matrix entries)
  token error the largest per-token relative error |s_t - ref_t| / |ref_t|
              over tokens whose |ref_t| is at least 5% of the largest

  ./bench/convergence.py --model models/sst2-bert --method integrated-gradients
  ./bench/convergence.py --model models/sst2-bert --method integrated-hessians --sentences 4 --reference-steps 128

JSON lines go to build/bench/convergence.jsonl (appended), a table to stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sentences(path, n):
    out = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            s = line.rstrip("\n").split("\t")[0].strip()
            if 8 <= len(s.split()) <= 30:
                out.append(s)
            if len(out) == n:
                break
    return out


def explain(cli, model, method, options, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t) + "\n")
        path = f.name
    try:
        cmd = [cli, "explain", "--model", model, "--method", method, "--input", path, "--json"]
        if options:
            cmd += ["--options", options]
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    finally:
        os.unlink(path)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip().startswith("{")]


def values(e, method):
    if method == "integrated-hessians":
        return [v for row in e["interactions"]["tokens"] for v in row]
    return [t["score"] for t in e["tokens"]]


def errors(got, ref):
    big = max(abs(v) for v in ref) or 1e-12
    max_err = max(abs(a - b) for a, b in zip(got, ref)) / big
    tok = [abs(a - b) / abs(b) for a, b in zip(got, ref) if abs(b) >= 0.05 * big]
    return max_err, max(tok) if tok else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/sst2-bert")
    ap.add_argument("--method", default="integrated-gradients",
                    choices=["integrated-gradients", "integrated-hessians"])
    ap.add_argument("--sentences", type=int, default=12)
    ap.add_argument("--reference-steps", type=int, default=256)
    ap.add_argument("--old-steps", type=int, default=None,
                    help="the fixed steps of the old default (32 for IG, 16 for IH)")
    ap.add_argument("--old-baseline", default="zero", help="the old default baseline")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build/native/wordlight"))
    ap.add_argument("--data", default=os.path.join(ROOT, "../shared/data/sst2/dev.tsv"))
    a = ap.parse_args()
    old_steps = a.old_steps or (32 if a.method == "integrated-gradients" else 16)
    texts = sentences(a.data, a.sentences)
    if not texts:
        sys.exit(f"no sentences in {a.data}")
    default = explain(a.cli, a.model, a.method, "", texts)
    base = default[0]["options"]["baseline"]
    rule = default[0]["options"]["rule"]
    ref = explain(a.cli, a.model, a.method,
                  f"adaptive=false,steps={a.reference_steps},rule={rule},baseline={base}", texts)
    old = explain(a.cli, a.model, a.method, f"adaptive=false,steps={old_steps},baseline={a.old_baseline}", texts)
    old_ref = ref if a.old_baseline == base else explain(
        a.cli, a.model, a.method, f"adaptive=false,steps={a.reference_steps},rule={rule},baseline={a.old_baseline}",
        texts)
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    print(f"{a.method} on {a.model}: defaults (baseline={base}, rule={rule}, adaptive) vs {a.reference_steps} "
          f"fixed steps; old default: {old_steps} steps from baseline={a.old_baseline} vs its own "
          f"{a.reference_steps}-step reference")
    print(f"{'#':>2} {'words':>5} {'steps':>6} {'gap %':>8} {'change %':>9} {'conv':>5} {'max err %':>10} "
          f"{'token err %':>11} | {'old gap %':>9} {'old max err %':>13} {'old token err %':>15}")
    with open(os.path.join(ROOT, "build/bench/convergence.jsonl"), "a", encoding="utf-8") as out:
        for i, (d, r, o, orf) in enumerate(zip(default, ref, old, old_ref)):
            c = d["convergence"]
            me, te = errors(values(d, a.method), values(r, a.method))
            ome, ote = errors(values(o, a.method), values(orf, a.method))
            ogap = o["checks"][0]["relative"]
            row = {"model": a.model, "method": a.method, "sentence": texts[i], "words": len(d["words"]),
                   "steps": c["steps"], "tried": c["tried"], "gap": c["gap"], "change": c["change"],
                   "converged": c["converged"], "max_error": me, "token_error": te,
                   "old_steps": old_steps, "old_baseline": a.old_baseline, "old_gap": ogap,
                   "old_max_error": ome, "old_token_error": ote, "reference_steps": a.reference_steps,
                   "model_evaluations": d["model_evaluations"], "seconds": d["seconds"]}
            out.write(json.dumps(row) + "\n")
            print(f"{i:>2} {row['words']:>5} {c['steps']:>6} {100 * c['gap']:>8.3f} {100 * c['change']:>9.3f} "
                  f"{'yes' if c['converged'] else 'NO':>5} {100 * me:>10.3f} {100 * te:>11.3f} | "
                  f"{100 * ogap:>9.3f} {100 * ome:>13.3f} {100 * ote:>15.3f}")


if __name__ == "__main__":
    main()
