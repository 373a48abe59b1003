#!/usr/bin/env bash
# models/gpt2-sst2: a GPT-2 sentiment classifier (GPT2ForSequenceClassification:
# `score`, a bias-free linear layer, on the last non-pad token) fine-tuned
# from models/gpt2-small (its body and BPE vocabulary unchanged; `score`
# starts random):
#   fine-tuning on GLUE SST-2's training phrases (sst2/train.tsv), early
#   stopping on the held-out GLUE training phrases (sst2/dev.tsv); accuracy
#   reported on GLUE's SST-2 dev set (sst2/test.tsv here, 872 sentences),
#   which training never sees. EPOCHS (default 5) bounds the run.
# Usage: models/recipes/gpt2-sst2.sh [OUT_ROOT]   (default models/)
source "$(dirname "$0")/common.sh"
OUT_ROOT="${1:-$ROOT/models}"
WORK="$CACHE/work/gpt2-sst2"
mkdir -p "$WORK" "$OUT_ROOT"
ensure_cli
[ -f "$ROOT/models/gpt2-small/model.safetensors" ] || { echo "models/gpt2-small is missing (models/recipes/gpt2-small.sh)" >&2; exit 1; }
start=$(now)
"$WL" init --config "$ROOT/models/recipes/gpt2-sst2.json" --vocab "$ROOT/models/gpt2-small/vocab.json" \
  --from "$ROOT/models/gpt2-small" --out "$WORK/init" --seed 1
"$WL" train --model "$WORK/init" --train "sst2:$DATA/sst2/train.tsv" --dev "sst2:$DATA/sst2/dev.tsv" \
  --out "$OUT_ROOT/gpt2-sst2" --epochs "${EPOCHS:-5}" --batch-size 32 --lr 2e-4 --warmup 0.06 --patience 2 \
  --seed 1 --log-every 200 --threads "$THREADS"
log "fine-tuning took $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT_ROOT/gpt2-sst2" --data "sst2:$DATA/sst2/test.tsv" --threads "$THREADS"
