#!/usr/bin/env bash
# The counterfactual benchmark (issue 19): on the first N (200) SST-2 dev
# sentences and each shipped SST-2 classifier, every generator's flip rate,
# mean edits of the first counterfactual, and mean model evaluations
# (forward passes, the ranking explanation and HotFlip's backward pass
# included). LIT's HotFlip caps its search at 175 forwards; ours tries at
# most sum_{j<=3} C(10, j) = 175 edited texts too (plus the prediction and
# one backward pass). mlm-edits uses models/sst2-bert-mlm.
#
#   bench/counterfactuals.sh [N] [CLI]      (default: 200, build/native/wordlight)
# Writes build/bench/counterfactuals.jsonl (one summary per model and
# generator) and prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
CLI=${2:-build/native/wordlight}
DATA=${COUNTERFACTUAL_DATA:-sst2:../shared/data/sst2/dev.tsv}
OUT=${COUNTERFACTUAL_OUT:-build/bench/counterfactuals.jsonl}
mkdir -p "$(dirname "$OUT")"
: >"$OUT"
for model in sst2-bilstm sst2-bert; do
  for gen in hotflip ablation-flip mlm-edits; do
    extra=()
    [ "$gen" = mlm-edits ] && extra=(--mlm models/sst2-bert-mlm)
    echo "counterfactuals: $model $gen ($N texts)" >&2
    "$CLI" counterfactual --model "models/$model" --data "$DATA" --limit "$N" --generator "$gen" "${extra[@]}" \
      --threads "${THREADS:-1}" | tail -n 1 >>"$OUT"
  done
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l).summary);
console.log("| model | generator | texts | flip rate | mean edits | mean model evaluations | to first flip | mean MLM evaluations | s / text |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const s of lines)
  console.log(`| ${s.model} | ${s.generator} | ${s.texts} | ${(100 * s.flip_rate).toFixed(1)}% | ${s.mean_edits.toFixed(2)} | ` +
    `${s.mean_model_evaluations.toFixed(1)} | ${s.mean_evaluations_to_first_flip.toFixed(1)} | ${s.mean_mlm_evaluations.toFixed(1)} | ${s.mean_seconds.toFixed(3)} |`);
' "$OUT"
