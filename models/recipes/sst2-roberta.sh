#!/usr/bin/env bash
# models/sst2-roberta: a small RoBERTa-layout sentiment classifier
# (RobertaForSequenceClassification: 3 layers, 256 wide, 4 heads, 1024
# feed-forward, 128 positions after RoBERTa's offset of 2) with a byte-level
# BPE vocabulary (vocab.json + merges.txt, <s> ... </s> around the text):
#   1. a byte-level BPE of 8,000 tokens (<s> <pad> </s> <unk>, 256 bytes,
#      the merges, <mask> last) learned by learn_bpe.py --roberta from the
#      20,000 IMDB training reviews and the 8,544 SST training sentences;
#   2. word-initial tokens ("Ġgood") and whole words initialised from GloVe
#      6B 100d (`init --vectors`), the rest random; no masked-LM stage;
#   3. fine-tuning for sentiment on GLUE SST-2's training phrases
#      (sst2/train.tsv) for one epoch (EPOCHS; a second did not fit the
#      35-minute budget on the shared machine), the held-out GLUE training
#      phrases (sst2/dev.tsv) measured after each; accuracy reported on
#      GLUE's SST-2 dev set (sst2/test.tsv here, 872 sentences) and the
#      1,821 SST test sentences, which training never sees.
# The BPE step (pure Python) runs once and is kept in the cache.
# Usage: models/recipes/sst2-roberta.sh [OUT_ROOT]   (default models/)
source "$(dirname "$0")/common.sh"
OUT_ROOT="${1:-$ROOT/models}"
WORK="$CACHE/work/sst2-roberta"
mkdir -p "$WORK" "$OUT_ROOT"
ensure_cli
IMDB="$(ensure_imdb)"
GLOVE="$(ensure_glove)"
start=$(now)
if [ ! -s "$WORK/bpe/merges.txt" ]; then
  find "$IMDB/train" -name '*.txt' | sort | xargs awk '{print}' > "$WORK/imdb_train.txt"
  cut -f2- -d' ' "$DATA/sst/stsa.fine.train" > "$WORK/sst_train.txt"
  python3 "$ROOT/models/recipes/learn_bpe.py" --roberta --vocab-size 8000 --out "$WORK/bpe" \
    "$WORK/imdb_train.txt" "$WORK/sst_train.txt"
fi
"$WL" init --config "$ROOT/models/recipes/sst2-roberta.json" --vocab "$WORK/bpe/vocab.json" --vectors "$GLOVE" \
  --out "$WORK/init" --seed 1
"$WL" train --model "$WORK/init" --train "sst2:$DATA/sst2/train.tsv" --dev "sst2:$DATA/sst2/dev.tsv" \
  --out "$OUT_ROOT/sst2-roberta" --epochs "${EPOCHS:-1}" --batch-size 32 --lr 3e-4 --warmup 0.1 \
  --seed 1 --f16 --log-every 200 --threads "$THREADS"
log "training took $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT_ROOT/sst2-roberta" --data "sst2:$DATA/sst2/test.tsv" --threads "$THREADS"
