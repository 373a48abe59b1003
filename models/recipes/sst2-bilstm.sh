#!/usr/bin/env bash
# models/sst2-bilstm: the bidirectional LSTM of Li et al. (2016) / Arras et
# al. (2017) on binary SST: GloVe 6B 100d word embeddings (fine-tuned), 150
# hidden units per direction, each direction's last state through its own
# linear layer, the two outputs summed. Trained on the phrases and sentences
# of GLUE SST-2's training set (all from SST's training split), early
# stopping on the SST dev sentences, accuracy reported on the 1,821 SST
# test sentences.
# Usage: models/recipes/sst2-bilstm.sh [OUT_DIR]   (default models/sst2-bilstm)
# SEED=N (default 1) trains the same model from another seed, e.g. the
# second model that rationale consistency (wordlight evaluate --model2)
# compares with:  SEED=2 models/recipes/sst2-bilstm.sh ~/.cache/wordlight/sst2-bilstm-seed2
source "$(dirname "$0")/common.sh"
SEED="${SEED:-1}"
OUT="${1:-$ROOT/models/sst2-bilstm}"
WORK="$CACHE/work/sst2-bilstm$([ "$SEED" = 1 ] || echo "-seed$SEED")"
mkdir -p "$WORK"
ensure_cli
GLOVE="$(ensure_glove)"
TRAIN="sst2:$DATA/sst2/train.tsv,sst2:$DATA/sst2/dev.tsv"
start=$(now)
# Every word of the training data that GloVe knows, and words without a
# vector seen at least 3 times.
"$WL" vocab --data "$TRAIN" --min-count 1 --min-count-without-vector 3 --vectors "$GLOVE" --out "$WORK/vocab.txt"
"$WL" init --config "$ROOT/models/recipes/sst2-bilstm.json" --vocab "$WORK/vocab.txt" --vectors "$GLOVE" \
  --out "$WORK/init" --seed "$SEED"
"$WL" train --model "$WORK/init" --train "$TRAIN" --dev "sst2:$DATA/sst/stsa.binary.dev" \
  --out "$OUT" --epochs "${EPOCHS:-6}" --batch-size 64 --lr 2e-3 --weight-decay 0 --warmup 0.02 --patience 2 \
  --seed "$SEED" --f16 --log-every 200 --threads "$THREADS"
log "training took $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT" --data "sst2:$DATA/sst/stsa.binary.test" --threads "$THREADS"
