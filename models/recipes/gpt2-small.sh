#!/usr/bin/env bash
# models/gpt2-small: a tiny GPT-2 (GPT2LMHeadModel: 3 layers, 128 wide, 4
# heads, 512 feed-forward, 128 positions, gelu_new, tied head) trained here
# from scratch by our own trainer (`wordlight pretrain` on a causal-LM
# config: next-token cross-entropy at every position):
#   1. a byte-level BPE vocabulary of 4,096 tokens (256 bytes, 3,839 merges,
#      <|endoftext|> last) learned by learn_bpe.py (GPT-2's pre-tokenizer
#      and byte map; HF layout vocab.json + merges.txt) from the 20,000 IMDB
#      training reviews and the 8,544 SST training sentences;
#   2. next-token training on the same texts, each between <|endoftext|>
#      tokens, segments of at most 128 tokens, for a fixed time budget
#      (PRETRAIN_MINUTES, default 68), checkpointed every 200 steps;
#      perplexity on the SST dev sentences, which training never sees.
# Usage: models/recipes/gpt2-small.sh [OUT_ROOT]   (default models/)
source "$(dirname "$0")/common.sh"
OUT_ROOT="${1:-$ROOT/models}"
WORK="$CACHE/work/gpt2"
mkdir -p "$WORK" "$OUT_ROOT"
ensure_cli
IMDB="$(ensure_imdb)"
start=$(now)
find "$IMDB/train" -name '*.txt' | sort | xargs awk '{print}' > "$WORK/imdb_train.txt"
cut -f2- -d' ' "$DATA/sst/stsa.fine.train" > "$WORK/sst_train.txt"
python3 "$ROOT/models/recipes/learn_bpe.py" --vocab-size 4096 --out "$WORK/bpe" "$WORK/imdb_train.txt" "$WORK/sst_train.txt"
"$WL" init --config "$ROOT/models/recipes/gpt2-small.json" --vocab "$WORK/bpe/vocab.json" --out "$WORK/init" --seed 1
"$WL" pretrain --model "$WORK/init" --data "imdb:$IMDB/train,sst2:$DATA/sst/stsa.fine.train" \
  --dev "sst2:$DATA/sst/stsa.fine.dev" --out "$OUT_ROOT/gpt2-small" --max-minutes "${PRETRAIN_MINUTES:-68}" \
  --batch-size 16 --max-length 128 --lr 1e-3 --warmup 0.03 --seed 1 --log-every 20 --save-every 200 \
  --threads "$THREADS"
log "training took $(( $(now) - start )) s"
