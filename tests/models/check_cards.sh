#!/usr/bin/env bash
# Re-measures the accuracy that each shipped model's card (models/*/README.md)
# claims, from the shipped files, with `wordlight evaluate`. A card declares
# its evaluations in its front matter, one line each:
#   eval: <data spec> accuracy=<fraction> n=<examples>
# where the data spec may use {DATA} (../shared/data), {NEWS20} (the
# unpacked 20 Newsgroups folder) and {IMDB} (the unpacked IMDB folder).
# The accuracy must match to 0.001 (float summation order may flip a
# borderline example between builds) and n exactly.
source "$(cd "$(dirname "$0")/../.." && pwd)/models/recipes/common.sh"
ensure_cli
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
done
echo "model cards: $checked evaluations checked, $failed failed"
[ "$failed" -eq 0 ] && [ "$checked" -gt 0 ]
