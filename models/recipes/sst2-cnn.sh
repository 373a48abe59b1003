#!/usr/bin/env bash
# models/sst2-cnn and models/sst2-cnn-vmask: the text CNN of Kim (2014) on
# binary SST, without and with the VMASK word-mask layer of Chen and Ji
# (2020, UVa-NLP/VMASK: Linear(100 -> 100), tanh, Linear(-> 2) per word,
# trained with the information-bottleneck term, beta from 1 by the
# reference code's schedule compressed into these few epochs). Both share everything else: GloVe 6B 100d
# word embeddings (fine-tuned), 100 filters of widths 3, 4 and 5, ReLU,
# max-pooling over time, dropout 0.5, a linear layer; trained on GLUE
# SST-2's training set (phrases and sentences), early stopping on the SST
# dev sentences, the same seed, vocabulary and schedule, so that the pair
# measures what the mask changes.
# Usage: models/recipes/sst2-cnn.sh [plain|vmask] [OUT_DIR]
#   (default: plain -> models/sst2-cnn, vmask -> models/sst2-cnn-vmask)
# EPOCHS (default 5) and SEED (default 1) as in the other recipes.
source "$(dirname "$0")/common.sh"
KIND="${1:-plain}"
case "$KIND" in
  plain) NAME=sst2-cnn ;;
  vmask) NAME=sst2-cnn-vmask ;;
  *) echo "usage: $0 [plain|vmask] [OUT_DIR]" >&2; exit 2 ;;
esac
SEED="${SEED:-1}"
OUT="${2:-$ROOT/models/$NAME}"
WORK="$CACHE/work/$NAME"
mkdir -p "$WORK"
ensure_cli
GLOVE="$(ensure_glove)"
TRAIN="sst2:$DATA/sst2/train.tsv,sst2:$DATA/sst2/dev.tsv"
start=$(now)
# The BiLSTM's vocabulary rule: every word of the training data that GloVe
# knows, and words without a vector seen at least 3 times.
"$WL" vocab --data "$TRAIN" --min-count 1 --min-count-without-vector 3 --vectors "$GLOVE" --out "$WORK/vocab.txt"
VMASK_OPTS=()
if [ "$KIND" = vmask ]; then
  sed 's/"lowercase"/"vmask": {"hidden": 100}, "lowercase"/' "$ROOT/models/recipes/sst2-cnn.json" > "$WORK/config.json"
  # The reference anneals beta from 1 to 0.01 over 100 epochs (-0.099 every
  # 10); these few epochs take the same path compressed: 1, 0.67, 0.34, 0.01.
  VMASK_OPTS=(--vmask-beta 1 --vmask-beta-step 0.33 --vmask-beta-every 1 --vmask-beta-min 0.01)
else
  cp "$ROOT/models/recipes/sst2-cnn.json" "$WORK/config.json"
fi
"$WL" init --config "$WORK/config.json" --vocab "$WORK/vocab.txt" --vectors "$GLOVE" --out "$WORK/init" --seed "$SEED"
"$WL" train --model "$WORK/init" --train "$TRAIN" --dev "sst2:$DATA/sst/stsa.binary.dev" \
  --out "$OUT" --epochs "${EPOCHS:-5}" --batch-size 50 --lr 1e-3 --weight-decay 0 --warmup 0.02 --patience 2 \
  --seed "$SEED" --f16 --log-every 200 --threads "$THREADS" "${VMASK_OPTS[@]}"
log "training took $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT" --data "sst2:$DATA/sst/stsa.binary.test" --threads "$THREADS"
