#!/usr/bin/python3
"""How good would a teacher made of our shipped SST-2 models be? (issue 17)

Distilling an ensemble into sst2-bert can only be expected to reach what the
ensemble itself reaches. This script measures that: every model's accuracy on
a binary SST-2 file (GLUE dev by default) and that of every combination of
two or more models, averaging their positive-class probabilities. The
probabilities come from the CLI (`wordlight explain --method gradient
--json`, whose "prediction" is the model's forward), so they are the ones
`wordlight evaluate` scores.

  models/recipes/ensemble_accuracy.py [--data ../shared/data/sst2/test.tsv]
      [--models sst2-bilstm,sst2-cnn,sst2-bert,sst2-roberta,sst2-cnn-vmask,gpt2-sst2]
      [--cli build/native/wordlight]

Caveat printed with the table: choosing the best combination on the same
872 sentences it is scored on flatters it; it is an upper bound for a
teacher, not a held-out figure.
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_tsv(path):
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        header = next(f).rstrip("\n").split("\t")
        if header[:2] != ["sentence", "label"]:
            sys.exit(f"{path}: expected a GLUE SST-2 file (sentence<TAB>label header)")
        for n, line in enumerate(f, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or parts[1] not in ("0", "1"):
                sys.exit(f"{path}:{n}: expected sentence<TAB>0|1")
            texts.append(parts[0])
            labels.append(int(parts[1]))
    return texts, labels


def positive_probabilities(cli, model, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
        path = f.name
    try:
        out = subprocess.run([cli, "explain", "--model", model, "--method", "gradient", "--input", path, "--json"],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    probs = [json.loads(line)["prediction"]["probabilities"][1] for line in out.splitlines() if line.strip()]
    if len(probs) != len(texts):
        sys.exit(f"{model}: {len(probs)} predictions for {len(texts)} texts")
    return probs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "sst2", "test.tsv"))
    ap.add_argument("--models", default="sst2-bilstm,sst2-cnn,sst2-bert,sst2-roberta,sst2-cnn-vmask,gpt2-sst2")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "native", "wordlight"))
    a = ap.parse_args()
    if not os.access(a.cli, os.X_OK):
        sys.exit(f"no CLI at {a.cli}: build it first (./build.sh native) or pass --cli")
    texts, labels = read_tsv(a.data)
    names = [m.strip() for m in a.models.split(",") if m.strip()]
    probs = {}
    for m in names:
        path = m if os.path.isdir(m) else os.path.join(ROOT, "models", m)
        probs[m] = positive_probabilities(a.cli, path, texts)

    def accuracy(combo):
        right = sum((sum(probs[m][i] for m in combo) / len(combo) > 0.5) == bool(labels[i]) for i in range(len(labels)))
        return right / len(labels)

    rows = [(accuracy(c), c) for r in range(1, len(names) + 1) for c in itertools.combinations(names, r)]
    print(f"{len(labels)} sentences of {a.data}; ensembles average the positive-class probability")
    print(f"{'accuracy':>8}  models")
    for acc, c in sorted(rows, key=lambda x: -x[0]):
        print(f"{acc:8.4f}  {' + '.join(c)}")
    print("(the best combination is chosen on the same sentences it is scored on: an upper bound for a teacher)")


if __name__ == "__main__":
    main()
