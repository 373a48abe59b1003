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
#
# Continuing a run (on this or another machine; the cache does not travel,
# the shipped masked-LM twin does): CONTINUE_FROM=models/sst2-bert-mlm keeps
# its vocabulary and weights (no wordpiece, no init) and pre-trains it on for
# PRETRAIN_MINUTES more on all the IMDB reviews (train, val and test of the
# tarball: 50,000) and the SST training sentences, with a fresh optimizer and
# schedule (seed CONTINUE_SEED, default 2, so it sees new masks), optionally
# WHOLE_WORD=1 (--whole-word); then fine-tunes as below. Repeat with the new
# twin (or a run's last --save-every checkpoint, written to its
# OUT_ROOT/sst2-bert-mlm every 100 steps) to go on. Give a scratch OUT_ROOT
# and replace models/ only when GLUE dev improves; each run's numbers go
# into the cards' history (models/sst2-bert/README.md).
source "$(dirname "$0")/common.sh"
OUT_ROOT="${1:-$ROOT/models}"
WORK="$CACHE/work/sst2-bert"
mkdir -p "$WORK" "$OUT_ROOT"
ensure_cli
IMDB="$(ensure_imdb)"
[ -n "${CONTINUE_FROM:-}" ] || GLOVE="$(ensure_glove)"
TEXTS="imdb:$IMDB/train,sst2:$DATA/sst/stsa.fine.train"
start=$(now)
if [ -n "${CONTINUE_FROM:-}" ]; then
  # --out may be the twin itself: pre-train a copy.
  rm -rf "$WORK/mlm-start" && cp -r "$CONTINUE_FROM" "$WORK/mlm-start"
  cp "$WORK/mlm-start/vocab.txt" "$WORK/vocab.txt"
  ALL_TEXTS="imdb:$IMDB/train,imdb:$IMDB/val,imdb:$IMDB/test,sst2:$DATA/sst/stsa.fine.train"
  "$WL" pretrain --model "$WORK/mlm-start" --data "$ALL_TEXTS" --dev "sst2:$DATA/sst/stsa.fine.dev" \
    --out "$OUT_ROOT/sst2-bert-mlm" --max-minutes "${PRETRAIN_MINUTES:-35}" --batch-size 64 --max-length 128 \
    --lr 5e-4 --warmup 0.06 --seed "${CONTINUE_SEED:-2}" ${WHOLE_WORD:+--whole-word} --f16 --log-every 20 \
    --save-every 100 --threads "$THREADS"
else
  "$WL" wordpiece --data "$TEXTS" --vocab-size 8000 --out "$WORK/vocab.txt"
  # Whole-word pieces start from their GloVe vectors (100 -> 256 dims by a
  # fixed orthonormal map); continuation pieces start random.
  "$WL" init --config "$ROOT/models/recipes/sst2-bert-mlm.json" --vocab "$WORK/vocab.txt" --vectors "$GLOVE" \
    --out "$WORK/mlm-init" --seed 1
  "$WL" pretrain --model "$WORK/mlm-init" --data "$TEXTS" --dev "sst2:$DATA/sst/stsa.fine.dev" --out "$OUT_ROOT/sst2-bert-mlm" \
    --max-minutes "${PRETRAIN_MINUTES:-35}" --batch-size 64 --max-length 128 --lr 5e-4 --warmup 0.06 \
    --seed 1 --f16 --log-every 100 --save-every 500 --threads "$THREADS"
fi
log "pre-training took $(( $(now) - start )) s"
mid=$(now)
"$WL" init --config "$ROOT/models/recipes/sst2-bert.json" --vocab "$WORK/vocab.txt" --from "$OUT_ROOT/sst2-bert-mlm" \
  --out "$WORK/cls-init" --seed 1
"$WL" train --model "$WORK/cls-init" --train "sst2:$DATA/sst2/train.tsv" --dev "sst2:$DATA/sst2/dev.tsv" \
  --out "$OUT_ROOT/sst2-bert" --epochs "${EPOCHS:-3}" --batch-size 32 --lr 1e-4 --warmup 0.1 --patience 1 \
  --seed 1 --f16 --log-every 200 --threads "$THREADS"
log "fine-tuning took $(( $(now) - mid )) s; all $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT_ROOT/sst2-bert" --data "sst2:$DATA/sst2/test.tsv" --threads "$THREADS"
