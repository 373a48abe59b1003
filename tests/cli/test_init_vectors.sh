#!/usr/bin/env bash
# `wordlight init --vectors` on a byte-level BPE vocabulary (RoBERTa's, as
# models/recipes/sst2-roberta.sh builds it): a word-initial entry ("Ġgood")
# starts from the vector of its word without the space mark, a cased entry
# ("ĠGood", "Good") from the lower-cased word when only that is there, an
# entry inside a word and one GloVe lacks stay random, and the padding row
# is zero. With vectors as wide as the model the rows are the vectors
# themselves. Also checks that learn_bpe.py --roberta puts RoBERTa's
# special tokens where roberta-base has them (<s> <pad> </s> <unk> first,
# <mask> last) and that the model loads with that vocabulary.
#
# usage: test_init_vectors.sh WORDLIGHT_BINARY
set -euo pipefail
WL=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for i in 1 2 3; do echo "good film. Good film, bad film; goodness"; done > "$T/text.txt"
python3 "$ROOT/models/recipes/learn_bpe.py" --roberta --vocab-size 290 --out "$T/bpe" "$T/text.txt" > /dev/null
# 8-dimensional vectors, GloVe's text format: "good" and "film" only.
printf 'good 1 2 3 4 5 6 7 8\nfilm -1 0.5 0 0 2 0 0 -3\nunused 9 9 9 9 9 9 9 9\n' > "$T/vectors.txt"
cat > "$T/config.json" <<'EOF'
{"model_type": "roberta", "architectures": ["RobertaForSequenceClassification"], "num_labels": 2,
 "vocab_size": 290, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
 "intermediate_size": 16, "max_position_embeddings": 20, "type_vocab_size": 1, "pad_token_id": 1}
EOF
"$WL" init --config "$T/config.json" --vocab "$T/bpe/vocab.json" --vectors "$T/vectors.txt" --out "$T/model" --seed 3 2> "$T/init.log"
"$WL" tokenize --model "$T/model" --text "Good film" > /dev/null
python3 - "$T/model/model.safetensors" "$T/model/vocab.json" <<'EOF'
import json, struct, sys
st, vocab_path = sys.argv[1], sys.argv[2]
vocab = json.load(open(vocab_path, encoding="utf-8"))
ids = sorted(vocab.items(), key=lambda kv: kv[1])
assert [t for t, _ in ids[:4]] == ["<s>", "<pad>", "</s>", "<unk>"], ids[:4]
assert ids[-1][0] == "<mask>" and ids[-1][1] == len(vocab) - 1, ids[-1]
raw = open(st, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
t = header["roberta.embeddings.word_embeddings.weight"]
assert t["dtype"] == "F32" and t["shape"] == [290, 8], t
b, e = t["data_offsets"]
data = raw[8 + n + b:8 + n + e]
def row(tok):
    i = vocab[tok]
    return list(struct.unpack("<8f", data[i * 32:(i + 1) * 32]))
good, film = [1, 2, 3, 4, 5, 6, 7, 8], [-1, 0.5, 0, 0, 2, 0, 0, -3]
G = "\u0120"
checks = {"good": good, G + "film": film, G + "Good": good, "Good": good}
for tok, want in checks.items():
    assert tok in vocab, f"{tok!r} is not in the learned vocabulary"
    assert row(tok) == want, (tok, row(tok))
assert row("<pad>") == [0.0] * 8, row("<pad>")
# "Ġbad" has no vector (GloVe here lacks "bad"); "ness" (inside "goodness") neither.
for tok in (G + "bad", "ness"):
    if tok in vocab:
        r = row(tok)
        assert r not in (good, film) and any(abs(x) > 0 for x in r), (tok, r)
print("ok")
EOF
grep -Eq "vectors for [1-9][0-9]* of [0-9]+ vocabulary entries" "$T/init.log" || { cat "$T/init.log" >&2; exit 1; }
echo "ok: init --vectors maps byte-level BPE entries to their words"
