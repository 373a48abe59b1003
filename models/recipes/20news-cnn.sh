#!/usr/bin/env bash
# models/20news-cnn: the CNN of Arras et al. (2016) on 20 Newsgroups bydate:
# GloVe 6B 100d word embeddings (fine-tuned), one width-2 convolution with
# 800 filters, ReLU, max-pooling over time, a linear layer to the 20 groups.
# E-mail headers are dropped (scikit-learn's remove=("headers",)) except the
# Subject line, so the classifier and its explanations see only what people
# wrote (no addresses, organisations or line counts). 10% of the
# training posts are held out for early stopping; the test split is only
# used to report accuracy.
# Usage: models/recipes/20news-cnn.sh [OUT_DIR]   (default models/20news-cnn)
source "$(dirname "$0")/common.sh"
OUT="${1:-$ROOT/models/20news-cnn}"
WORK="$CACHE/work/20news-cnn"
mkdir -p "$WORK"
ensure_cli
GLOVE="$(ensure_glove)"
NEWS="$(ensure_20news)"
start=$(now)
# Words seen at least twice that GloVe knows, and words without a vector seen 5 times.
"$WL" vocab --data "newsgroups-subject:$NEWS/20news-bydate-train" --min-count 2 --min-count-without-vector 5 \
  --vectors "$GLOVE" --out "$WORK/vocab.txt"
# Label names come from the data's folders when training starts.
sed 's/"lowercase"/"num_labels": 20, "lowercase"/' "$ROOT/models/recipes/20news-cnn.json" > "$WORK/config.json"
"$WL" init --config "$WORK/config.json" --vocab "$WORK/vocab.txt" --vectors "$GLOVE" --out "$WORK/init" --seed 1
"$WL" train --model "$WORK/init" --train "newsgroups-subject:$NEWS/20news-bydate-train" --dev-fraction 0.1 \
  --out "$OUT" --epochs "${EPOCHS:-8}" --batch-size 32 --lr 1e-3 --weight-decay 0 --warmup 0.05 --patience 2 \
  --seed 1 --f16 --log-every 100 --threads "$THREADS"
log "training took $(( $(now) - start )) s"
"$WL" evaluate --model "$OUT" --data "newsgroups-subject:$NEWS/20news-bydate-test" --threads "$THREADS"
