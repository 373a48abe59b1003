#!/usr/bin/env bash
# The perturbation family's benchmark (issue 15; `./build.sh bench
# perturbation`): accuracy per model evaluation against exact Shapley values
# and speed, ours against Captum when CAPTUM_PATH points to a checkout
# (fetched outside the repository; the benchmark fetches nothing). JSON
# lines in build/bench/perturbation.jsonl, tables on stdout.
#
#   accuracy  sst2-bert, sst2-bilstm, 20news-cnn: COUNT texts (default 20) of
#             MIN_WORDS..MAX_WORDS words (default 8..14, the issue's range:
#             exact values by enumeration cost 2^M evaluations per text, at
#             most 16,382), budgets 64/256/1024; texts:
#             SST-2 dev sentences, 20 Newsgroups test lines.
#   speed     sst2-bert, a 50-word text, 1 thread: kernel-shap 128 and
#             auto, lime 1000, input-marginalization (models/sst2-bert-mlm)
#             natively, in wasm under node (bench/perturbation_wasm.mjs: the
#             JS engine on WASM_DIST/WASM_BUILD.wasm, default
#             wasm/dist/wordlight-simd.wasm, when built), and
#             Captum KernelShap 128 on PyTorch.
# Variables: BUILD (native build dir, default build/cmake-native), COUNT,
# MIN_WORDS, MAX_WORDS, BUDGETS, MODELS (names under models/), CAPTUM_PATH,
# WASM_DIST, WASM_BUILD, SKIP_ACCURACY=1, SKIP_SPEED=1, CASES (speed cases, default all:
# kernel-shap-128,kernel-shap-128-remove,kernel-shap-auto,lime-1000,input-marginalization), OUT (the JSON lines, default
# build/bench/perturbation.jsonl, emptied first), WORK (texts and dumps, default build/bench/perturbation).
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
BUILD=${BUILD:-build/cmake-native}
BIN=$BUILD/bench/perturbation_bench
COUNT=${COUNT:-20}
MIN_WORDS=${MIN_WORDS:-8}
MAX_WORDS=${MAX_WORDS:-14}
BUDGETS=${BUDGETS:-64,256,1024}
MODELS=${MODELS:-"sst2-bert sst2-bilstm 20news-cnn"}
CASES=${CASES:-kernel-shap-128,kernel-shap-128-remove,kernel-shap-auto,lime-1000,input-marginalization}
OUT=${OUT:-build/bench/perturbation.jsonl}
WORK=${WORK:-build/bench/perturbation}
[ -x "$BIN" ] || { echo "bench/perturbation.sh: $BIN is missing (build the perturbation_bench target)" >&2; exit 1; }
mkdir -p "$WORK" "$(dirname "$OUT")"
: > "$OUT"

# Texts: SST-2 dev sentences; 20 Newsgroups test lines that read as prose.
cut -f1 ../shared/data/sst2/dev.tsv | tail -n +2 > "$WORK/sst2.txt"
if [ ! -s "$WORK/20news.txt" ]; then
  /usr/bin/python3 - "$WORK/20news.txt" <<'EOF'
import re, sys, tarfile
out, n = open(sys.argv[1], "w"), 0
with tarfile.open("../shared/data/20news/20news-bydate.tar.gz") as tf:
    for m in tf:
        if not m.isfile() or "20news-bydate-test/" not in m.name:
            continue
        body = tf.extractfile(m).read().decode("latin-1").split("\n\n", 1)[-1]
        for line in body.split("\n"):
            line = line.strip()
            if re.fullmatch(r"[A-Za-z][A-Za-z ,.'?!-]{30,120}", line) and not line.startswith(("In article", "From")):
                out.write(line + "\n")
                n += 1
        if n >= 400:
            break
EOF
fi

captum=0
if [ -n "${CAPTUM_PATH:-}" ] && [ -d "$CAPTUM_PATH/captum" ]; then captum=1; else
  echo "note: CAPTUM_PATH is not set to a Captum checkout: the Captum columns are skipped" >&2; fi

if [ -z "${SKIP_ACCURACY:-}" ]; then
  for m in $MODELS; do
    [ -f "models/$m/model.safetensors" ] || { echo "note: models/$m is missing, skipped" >&2; continue; }
    texts=$WORK/sst2.txt
    [ "$m" = 20news-cnn ] && texts=$WORK/20news.txt
    echo "== accuracy: $m ($COUNT texts of $MIN_WORDS-$MAX_WORDS words, budgets $BUDGETS)" >&2
    "$BIN" --mode accuracy --model "models/$m" --name "$m" --texts "$texts" --count "$COUNT" \
      --min-words "$MIN_WORDS" --max-words "$MAX_WORDS" --budgets "$BUDGETS" --dump "$WORK/$m.dump.json" \
      --out "$OUT" > /dev/null
    if [ $captum = 1 ]; then
      /usr/bin/python3 bench/perturbation_captum.py --model "models/$m" --name "$m" --dump "$WORK/$m.dump.json" \
        --budgets "$BUDGETS" --out "$OUT" > /dev/null
    fi
  done
fi

if [ -z "${SKIP_SPEED:-}" ] && [ -f models/sst2-bert/model.safetensors ]; then
  mlm=()
  [ -f models/sst2-bert-mlm/model.safetensors ] && mlm=(--mlm models/sst2-bert-mlm)
  echo "== speed: sst2-bert, 50 words, 1 thread" >&2
  "$BIN" --mode speed --model models/sst2-bert --name sst2-bert --texts "$WORK/sst2.txt" "${mlm[@]}" --out "$OUT" \
    --cases "$CASES" > /dev/null
  # wasm: the JS engine on the built module (WASM_DIST, default wasm/dist; WASM_BUILD
  # wordlight-simd, or wordlight-simd-threads run with 1 thread), in node.
  WASM_DIST=${WASM_DIST:-wasm/dist}
  WASM_BUILD=${WASM_BUILD:-wordlight-simd}
  if [ -f "$WASM_DIST/$WASM_BUILD.wasm" ]; then
    node --no-experimental-fetch bench/perturbation_wasm.mjs --model models/sst2-bert --name sst2-bert \
      --texts "$WORK/sst2.txt" --dist "$WASM_DIST" --build "$WASM_BUILD" "${mlm[@]}" --out "$OUT" --cases "$CASES" \
      > /dev/null
  else
    echo "note: $WASM_DIST/$WASM_BUILD.wasm is missing (./build.sh wasm): no wasm column" >&2
  fi
  if [ $captum = 1 ]; then
    # The same 50-word text's ids, for Captum.
    "$BIN" --mode accuracy --model models/sst2-bert --name sst2-bert --texts <(
      tr '\n' ' ' < "$WORK/sst2.txt" | awk '{for (i = 1; i <= 50; i++) printf "%s ", $i; print ""}') \
      --count 1 --dump-only --dump "$WORK/speed.dump.json" > /dev/null
    [ -s "$WORK/speed.dump.json" ] && /usr/bin/python3 bench/perturbation_captum.py --speed --model models/sst2-bert \
      --name sst2-bert --dump "$WORK/speed.dump.json" --samples 128 --out "$OUT" > /dev/null
  fi
fi

/usr/bin/python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
acc = [r for r in rows if r["kind"] == "accuracy"]
if acc:
    print("accuracy: mean relative L2 error against exact Shapley values (mean model evaluations)")
    print(f"{'model':<12} {'method':<17} {'budget':>6} {'ours':>16} {'captum':>16} {'captum/ours':>11}")
    for r in acc:
        if r["impl"] == "captum-torch":
            continue
        c = next((x for x in acc if x["impl"] == "captum-torch" and x["model"] == r["model"]
                  and x["method"] == r["method"] and x["budget"] == r["budget"]), None)
        ours = f"{r['rel_error']:.4f} ({r['evaluations']:.0f})"
        cap = f"{c['rel_error']:.4f} ({c['evaluations']:.0f})" if c else "-"
        ratio = f"{c['rel_error'] / r['rel_error']:.1f}x" if c and r["rel_error"] > 0 else ("exact" if c else "-")
        print(f"{r['model']:<12} {r['method']:<17} {r['budget']:>6} {ours:>16} {cap:>16} {ratio:>11}")
sp = [r for r in rows if r["kind"] == "speed"]
if sp:
    print("\nspeed: sst2-bert, 1 thread, median wall seconds / CPU seconds (model evaluations)")
    cases = []
    for r in sp:
        if r["case"] not in cases:
            cases.append(r["case"])
    impls = ["ours-native", "ours-wasm", "captum-torch"]
    print(f"{'case':<22}" + "".join(f"{i:>26}" for i in impls) + f"{'captum/native':>16}")
    for c in cases:
        cells, by = [], {}
        for i in impls:
            r = next((x for x in sp if x["case"] == c and x["impl"] == i), None)
            by[i] = r
            cells.append(f"{r['seconds']:.3f}/{r.get('cpu_seconds', float('nan')):.3f} ({r['evaluations']})" if r else "-")
        ratio = "-"
        if by["captum-torch"] and by["ours-native"]:
            ratio = f"{by['captum-torch']['seconds'] / by['ours-native']['seconds']:.1f}x"
            if by["captum-torch"].get("cpu_seconds") and by["ours-native"].get("cpu_seconds"):
                ratio += f" / {by['captum-torch']['cpu_seconds'] / by['ours-native']['cpu_seconds']:.1f}x"
        print(f"{c:<22}" + "".join(f"{x:>26}" for x in cells) + f"{ratio:>16}")
EOF
