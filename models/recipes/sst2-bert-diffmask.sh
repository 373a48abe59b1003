#!/usr/bin/env bash
# models/sst2-bert/diffmask.safetensors + diffmask.json: DiffMask's probes
# (De Cao et al. 2020, the input-attribution variant; wordlight/diffmask.h)
# for the frozen models/sst2-bert, trained on GLUE SST-2's training phrases
# (sst2/train.tsv) for a step and time budget, then measured on GLUE's SST-2
# dev set (sst2/test.tsv here, 872 sentences): per layer the KL achieved,
# the expected L0 and the fraction of tokens kept, and the agreement of
# masked and unmasked predictions (the paper's selection criteria).
# The probes belong to the model's weights (a hash in diffmask.json): run
# this again whenever models/sst2-bert is retrained.
# The reference trains its probes for many epochs at lr 3e-4 (RMSprop with
# lookahead); a CPU budget of half an hour is about one epoch of SST-2, so
# the probes' Adam runs at 2e-3 (LR) with a short warm-up.
# Usage: models/recipes/sst2-bert-diffmask.sh [MODEL_DIR]   (default models/sst2-bert)
#   STEPS (default 3000), MINUTES (default 35), THREADS, RESUME=1 to continue a run (the optimiser
#   state is kept in the cache, not next to the model).
source "$(dirname "$0")/common.sh"
MODEL="${1:-$ROOT/models/sst2-bert}"
ensure_cli
mkdir -p "$CACHE/work"
start=$(now)
resume=()
[ "${RESUME:-0}" = 1 ] && resume=(--resume)
"$WL" train-diffmask --model "$MODEL" --data "sst2:$DATA/sst2/train.tsv" --out "$MODEL/diffmask.safetensors" \
  --steps "${STEPS:-3000}" --max-minutes "${MINUTES:-35}" --batch-size 32 --lr "${LR:-2e-3}" --lr-placeholder 1e-3 \
  --lr-lambda 0.3 --eps 0.1 --warmup 50 --seed 1 --log-every 50 --checkpoint-every 100 --threads "$THREADS" \
  --state "$CACHE/work/sst2-bert-diffmask.state.safetensors" "${resume[@]}"
log "training took $(( $(now) - start )) s"
"$WL" diffmask-eval --model "$MODEL" --data "sst2:$DATA/sst2/test.tsv" --threads "$THREADS"
