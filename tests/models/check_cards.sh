#!/usr/bin/env bash
# Re-measures the accuracy that each shipped model's card (models/*/README.md)
# claims, from the shipped files, with `wordlight evaluate`. A card declares
# its evaluations in its front matter, one line each:
#   eval: <data spec> accuracy=<fraction> n=<examples>
# where the data spec may use {DATA} (../shared/data), {NEWS20} (the
# unpacked 20 Newsgroups folder) and {IMDB} (the unpacked IMDB folder).
# The accuracy must match to 0.001 (float summation order may flip a
# borderline example between builds) and n exactly.
# A card of an SST-2 model also declares its score on the hand-written
# minimal pairs of tests/models/negation_suite.jsonl (negation, "but"
# contrast, intensifiers), measured the same way and scored per pair and per
# phenomenon by score_suite.mjs:
#   suite: {ROOT}/tests/models/negation_suite.jsonl accuracy=<f> pairs=<f> negation=<f> ... n=<sentences>
# Every key must match (fractions to 0.001, n exactly). An SST-2 model is
# one whose eval lines measure it on SST data (sst2: specs on sst/ or sst2/).
source "$(cd "$(dirname "$0")/../.." && pwd)/models/recipes/common.sh"
ensure_cli
# A classifier (not a masked or causal LM) measured on SST data.
is_sst2_classifier() {  # dir card
  ! grep -Eq '"[A-Za-z0-9]*(ForMaskedLM|LMHeadModel|ForCausalLM|ForPreTraining)"' "$1/config.json" &&
    grep -Eq '^eval: sst2:\{DATA\}/sst2?/' "$2"
}
cards=("$ROOT"/models/*/README.md)
checked=0
failed=0
for card in "${cards[@]}"; do
  [ -f "$card" ] || continue
  dir="$(dirname "$card")"
  name="$(basename "$dir")"
  [ -f "$dir/config.json" ] || { echo "FAIL $name: a card without config.json" >&2; failed=$((failed + 1)); continue; }
  # Only the front matter (between the first two '---' lines) declares evaluations.
  evals="$(awk 'NR==1 && $0!="---"{exit} NR>1 && $0=="---"{exit} NR>1 && /^eval: /{sub(/^eval: /,""); print}' "$card")"
  if [ -z "$evals" ]; then
    echo "FAIL $name: the card declares no 'eval:' line in its front matter" >&2
    failed=$((failed + 1))
    continue
  fi
  while read -r spec acc n; do
    acc="${acc#accuracy=}"
    n="${n#n=}"
    case "$spec" in *"{NEWS20}"*) spec="${spec//\{NEWS20\}/$(ensure_20news)}" ;; esac
    case "$spec" in *"{IMDB}"*) spec="${spec//\{IMDB\}/$(ensure_imdb)}" ;; esac
    spec="${spec//\{DATA\}/$DATA}"
    out="$("$WL" evaluate --model "$dir" --data "$spec" --threads "$THREADS")"
    got_acc="$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' <<<"$out")"
    got_n="$(sed -n 's/.*"n": \([0-9]*\).*/\1/p' <<<"$out")"
    if awk -v a="$got_acc" -v b="$acc" 'BEGIN{d=a-b; if (d<0) d=-d; exit !(d<=0.001)}' && [ "$got_n" = "$n" ]; then
      echo "ok   $name on $spec: accuracy $got_acc (card: $acc), n $got_n"
    else
      echo "FAIL $name on $spec: measured accuracy $got_acc n $got_n, the card says $acc n $n" >&2
      failed=$((failed + 1))
    fi
    checked=$((checked + 1))
  done <<<"$evals"
  suites="$(awk 'NR==1 && $0!="---"{exit} NR>1 && $0=="---"{exit} NR>1 && /^suite: /{sub(/^suite: /,""); print}' "$card")"
  if [ -z "$suites" ] && is_sst2_classifier "$dir" "$card"; then
    echo "FAIL $name: an SST-2 classifier whose card declares no 'suite:' line (tests/models/negation_suite.jsonl)" >&2
    failed=$((failed + 1))
  fi
  while read -r file want; do
    [ -n "$file" ] || continue
    file="${file//\{ROOT\}/$ROOT}"
    preds="$(mktemp)"
    "$WL" evaluate --model "$dir" --data "jsonl:$file" --threads "$THREADS" --predictions "$preds" >/dev/null
    got="$(node "$ROOT/tests/models/score_suite.mjs" "$file" "$preds")"
    rm -f "$preds"
    if node -e '
      const parse = (s) => Object.fromEntries(s.trim().split(/\s+/).map((kv) => kv.split("=")));
      const [want, got] = [parse(process.argv[1]), parse(process.argv[2])];
      const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
      const bad = [...keys].filter((k) => !(k in want) || !(k in got) ||
        (k === "n" ? want[k] !== got[k] : !(Math.abs(Number(want[k]) - Number(got[k])) <= 0.001)));
      process.exit(bad.length ? 1 : 0);' "$want" "$got"; then
      echo "ok   $name on $(basename "$file"): $got"
    else
      echo "FAIL $name on $(basename "$file"): measured $got, the card says $want" >&2
      failed=$((failed + 1))
    fi
    checked=$((checked + 1))
  done <<<"$suites"
done
echo "model cards: $checked evaluations checked, $failed failed"
[ "$failed" -eq 0 ] && [ "$checked" -gt 0 ]
