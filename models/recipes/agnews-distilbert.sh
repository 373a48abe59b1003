#!/usr/bin/env bash
# models/agnews-distilbert: a small DistilBERT-layout topic classifier
# (DistilBertForSequenceClassification: 3 layers, 256 wide, 4 heads, 1024
# feed-forward, 128 positions) for AG News's four classes (World, Sports,
# Business, Sci/Tech):
#   1. a WordPiece vocabulary of 6,000 pieces learned by `wordlight
#      wordpiece` from the training texts (agnews/dev.tsv: 10,001 texts
#      of the original AG News train split; the only labelled AG News text
#      here besides the test set);
#   2. whole-word pieces initialised from GloVe 6B 100d (`init --vectors`),
#      the rest random; no masked-LM stage;
#   3. fine-tuning on agnews/dev.tsv with a seeded 10% held out for early
#      stopping (--dev-fraction 0.1), texts cut at 96 pieces; accuracy
#      reported on the 7,600 texts of agnews/test.tsv, which training never
#      sees.
# Usage: models/recipes/agnews-distilbert.sh [OUT_ROOT]   (default models/)
source "$(dirname "$0")/common.sh"
OUT_ROOT="${1:-$ROOT/models}"
WORK="$CACHE/work/agnews-distilbert"
mkdir -p "$WORK" "$OUT_ROOT"
ensure_cli
GLOVE="$(ensure_glove)"
TRAIN="agnews:$DATA/agnews/dev.tsv"
start=$(now)
"$WL" wordpiece --data "$TRAIN" --vocab-size 6000 --out "$WORK/vocab.txt"
"$WL" init --config "$ROOT/models/recipes/agnews-distilbert.json" --vocab "$WORK/vocab.txt" --vectors "$GLOVE" \
  --out "$WORK/init" --seed 1
"$WL" train --model "$WORK/init" --train "$TRAIN" --dev-fraction 0.1 --out "$OUT_ROOT/agnews-distilbert" \
  --epochs "${EPOCHS:-4}" --batch-size 32 --lr 3e-4 --warmup 0.1 --patience 1 --max-length 96 \
  --seed 1 --f16 --log-every 50 --threads "$THREADS"
log "training took $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT_ROOT/agnews-distilbert" --data "agnews:$DATA/agnews/test.tsv" --threads "$THREADS"
