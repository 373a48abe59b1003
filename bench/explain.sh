#!/usr/bin/env bash
# The explanation benchmark (`./build.sh bench explain` runs it after the
# native and pthreads-wasm builds): Integrated Gradients (50 steps), a plain
# forward and LRP on models/sst2-bert, natively, in wasm under node and in
# PyTorch (IG and forward), 1 and 2 threads, then one table
# (bench/report.mjs). See bench/README.md.
#
# The vulkan column (issue 23): ig and lrp through `explain --device vulkan`
# (explain_bench --device vulkan, impl ours-vulkan, 1 CPU thread) when the
# best Vulkan device is a GPU, or when VULKAN=1 (lavapipe, the CPU
# implementation, is about a hundred times slower than the CPU path: only
# correctness is measured there, so it is left out by default); VULKAN=0
# leaves it out.
#
# The three run in ROUNDS rounds (default 2) of REPEATS repetitions each
# (default 3), native -> wasm -> torch in every round, so that a stretch of
# load from other work on the machine falls on all of them; the summary
# table takes the median over the rounds.
#
# Model: models/sst2-bert when it exists, else (it is trained by its recipe,
# which takes a while) a model of the same shape with random weights in
# build/bench/sst2-bert-shape, which times the same computation. MODEL=DIR
# picks another BERT directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
log() { printf '\033[1m== %s\033[0m\n' "$*"; }

CLI=build/native/wordlight
NATIVE=build/cmake-native/bench/explain_bench
WASM=build/cmake-wasm-mt/bench/explain_bench.js
for f in $CLI $NATIVE $WASM; do
  [ -f "$f" ] || { echo "bench/explain.sh: $f is missing (./build.sh bench explain builds it)" >&2; exit 1; }
done

model=${MODEL:-models/sst2-bert}
what="$model"
if [ -z "${MODEL:-}" ] && [ ! -f "$model/model.safetensors" ]; then
  model=build/bench/sst2-bert-shape
  what="$model: random weights in the shape of models/sst2-bert (not trained yet), timing only"
  if [ ! -f "$model/model.safetensors" ]; then
    # An 8000-piece WordPiece vocabulary learned from SST-2, as the recipe
    # learns one (from more text).
    mkdir -p build/bench/wordpiece-sst2
    $CLI wordpiece --data sst2:../shared/data/sst/stsa.binary.train --vocab-size 8000 \
      --out build/bench/wordpiece-sst2/vocab.txt >/dev/null
    $CLI init --config models/recipes/sst2-bert.json --vocab build/bench/wordpiece-sst2/vocab.txt \
      --out "$model" --seed 1
  fi
fi
log "explain: timing $what"

vulkan=${VULKAN:-}
if [ -z "$vulkan" ]; then
  vulkan=0
  $CLI devices 2>/dev/null | awk '/^vulkan:/ && $2 != "cpu" {f = 1} END {exit !f}' && vulkan=1
fi

OUT=build/bench/explain.jsonl
INPUTS=build/bench/explain-inputs.json
mkdir -p build/bench
rm -f "$OUT"
for round in $(seq "${ROUNDS:-2}"); do
  log "explain, round $round: native"
  $NATIVE --model "$model" --threads 1,2 --repeats "${REPEATS:-3}" --out "$OUT" --inputs-out "$INPUTS"
  if [ "$vulkan" = 1 ]; then
    log "explain, round $round: native, --device vulkan"
    $NATIVE --model "$model" --threads 1 --repeats "${REPEATS:-3}" --out "$OUT" --device vulkan
  fi
  log "explain, round $round: wasm under node (pthreads build)"
  node --no-experimental-fetch $WASM --model "$model" --threads 1,2 --repeats "${REPEATS:-3}" --out "$OUT"
  log "explain, round $round: PyTorch (/usr/bin/python3)"
  checks=(--cli "$CLI")  # the checks against our CLI (same ids, logits, IG scores): first round only
  [ "$round" = 1 ] || checks=(--cli "")
  /usr/bin/python3 bench/torch_ig.py --model "$model" --inputs "$INPUTS" --threads 1,2 \
    --repeats "${REPEATS:-3}" --out "$OUT" "${checks[@]}"
done
node bench/report.mjs "$OUT"
echo "model timed: $what"
