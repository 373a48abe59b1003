#!/usr/bin/env bash
# models/sst2-bert-mlm and models/sst2-bert: a small BERT (4 layers, 256
# hidden, 4 heads, 1024 feed-forward, 128 positions) with a WordPiece
# vocabulary of 8,000 pieces learned by `wordlight wordpiece` from the same
# text it is pre-trained on, whole-word pieces initialised from GloVe 6B 100d:
#   1. masked-LM pre-training (15% of the pieces, 80/10/10) on the 20,000
#      IMDB training reviews and the 8,544 SST training sentences, for a
#      fixed time budget (PRETRAIN_MINUTES, default 35);
#   2. fine-tuning for sentiment on GLUE SST-2's training phrases
#      (sst2/train.tsv), early stopping on the held-out GLUE training
#      phrases (sst2/dev.tsv); accuracy reported on GLUE's SST-2 dev set
#      (sst2/test.tsv here, 872 sentences), which training never sees.
# Usage: models/recipes/sst2-bert.sh [OUT_ROOT]   (default models/)
source "$(dirname "$0")/common.sh"
OUT_ROOT="${1:-$ROOT/models}"
WORK="$CACHE/work/sst2-bert"
mkdir -p "$WORK" "$OUT_ROOT"
ensure_cli
IMDB="$(ensure_imdb)"
GLOVE="$(ensure_glove)"
TEXTS="imdb:$IMDB/train,sst2:$DATA/sst/stsa.fine.train"
start=$(now)
"$WL" wordpiece --data "$TEXTS" --vocab-size 8000 --out "$WORK/vocab.txt"
# Whole-word pieces start from their GloVe vectors (100 -> 256 dims by a
# fixed orthonormal map); continuation pieces start random.
"$WL" init --config "$ROOT/models/recipes/sst2-bert-mlm.json" --vocab "$WORK/vocab.txt" --vectors "$GLOVE" \
  --out "$WORK/mlm-init" --seed 1
"$WL" pretrain --model "$WORK/mlm-init" --data "$TEXTS" --dev "sst2:$DATA/sst/stsa.fine.dev" --out "$OUT_ROOT/sst2-bert-mlm" \
  --max-minutes "${PRETRAIN_MINUTES:-35}" --batch-size 64 --max-length 128 --lr 5e-4 --warmup 0.06 \
  --seed 1 --f16 --log-every 100 --save-every 500 --threads "$THREADS"
log "pre-training took $(( $(now) - start )) s"
mid=$(now)
"$WL" init --config "$ROOT/models/recipes/sst2-bert.json" --vocab "$WORK/vocab.txt" --from "$OUT_ROOT/sst2-bert-mlm" \
  --out "$WORK/cls-init" --seed 1
"$WL" train --model "$WORK/cls-init" --train "sst2:$DATA/sst2/train.tsv" --dev "sst2:$DATA/sst2/dev.tsv" \
  --out "$OUT_ROOT/sst2-bert" --epochs "${EPOCHS:-3}" --batch-size 32 --lr 1e-4 --warmup 0.1 --patience 1 \
  --seed 1 --f16 --log-every 200 --threads "$THREADS"
log "fine-tuning took $(( $(now) - mid )) s; all $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT_ROOT/sst2-bert" --data "sst2:$DATA/sst2/test.tsv" --threads "$THREADS"
