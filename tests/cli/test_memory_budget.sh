#!/usr/bin/env bash
# The memory budget from the CLI (issue 14): under an address-space limit
# (ulimit -v) that the largest options would blow through on their own
# (integrated-gradients steps=4096,batch-size=4096 took 10 GB on
# sst2-bert), IG, SmoothGrad and Integrated Hessians at their largest batch
# sizes finish, in batches that fit: with the default budget (read from the
# limit) and with a small memory-mb; a budget too small for one row is
# refused with a message saying so, before any pass. The smallest shipped
# model (sst2-bilstm) on a short text keeps it to seconds; there a single
# batch of 4096 rows needs ~2.5 GB, over the 1.2 GB limit.
#
# usage: test_memory_budget.sh WORDLIGHT_BINARY
set -uo pipefail
WL=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODEL=$ROOT/models/sst2-bilstm
TEXT="a wonderfully acted , deeply moving and very funny film"
LIMIT_KB=$((1200 * 1024))
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# AddressSanitizer reserves terabytes of address space: no ulimit -v there
# (the budget's own arithmetic is the same; the limit's check is left to
# the plain build).
ULIMIT="ulimit -v $LIMIT_KB"
if ldd "$WL" 2>/dev/null | grep -q libasan || nm -C "$WL" 2>/dev/null | grep -q __asan_init; then
  echo "note: an AddressSanitizer build: running without ulimit -v"
  ULIMIT=true
fi
export OPENBLAS_NUM_THREADS=1
run() {  # name, method, options: explain under the limit, JSON to $T/name.json
  local name=$1 method=$2 options=$3
  (eval "$ULIMIT" && exec "$WL" explain --model "$MODEL" --method "$method" --options "$options" --text "$TEXT" --json) \
    >"$T/$name.json" 2>"$T/$name.err"
  echo $?
}

# 1. Without the budget's batching the largest options do not fit: a
# memory-mb above the limit lets batch-size 4096 run as asked, and fails.
# (Without ulimit -v, under AddressSanitizer, nothing bounds it: the plain
# build's run of this script checks it.)
if [ "$ULIMIT" != true ]; then
  rc=$(run unbounded integrated-gradients "steps=4096,batch-size=4096,adaptive=false,memory-mb=100000")
  [ "$rc" != 0 ] || fail "IG with 4096 rows a batch fitted under ulimit -v $LIMIT_KB kB: the test does not test the budget"
  echo "without a budget: exit $rc ($(head -c 200 "$T/unbounded.err"))"
fi

# 2. The largest options finish, with the default budget (from the limit)
# and with a small one.
for budget in "" ",memory-mb=64"; do
  for case in "integrated-gradients steps=4096,batch-size=4096,adaptive=false" \
    "smoothgrad samples=4096,batch-size=4096" \
    "integrated-hessians steps=256,batch-size=4096,adaptive=false,ig-check=false"; do
    set -- $case
    name="$1${budget//[,=]/-}"
    rc=$(run "$name" "$1" "$2$budget")
    [ "$rc" = 0 ] || fail "$1 $2$budget under ulimit -v: exit $rc: $(cat "$T/$name.err")"
    grep -q '"words"' "$T/$name.json" || fail "$1 $2$budget: no explanation in the output"
    echo "ok: $1 $2$budget"
  done
done

# 3. A budget too small for one row: a clear message, before any pass.
rc=$(run tiny integrated-gradients "steps=4096,batch-size=4096,memory-mb=0.01")
[ "$rc" != 0 ] || fail "memory-mb=0.01 was accepted"
grep -q "integrated-gradients: one row of [0-9]* tokens needs about .* MiB of working memory, more than the budget of 0.01 MiB (memory-mb)" \
  "$T/tiny.err" || fail "memory-mb=0.01: unclear message: $(cat "$T/tiny.err")"
echo "ok: $(cat "$T/tiny.err")"

# 4. evaluate --memory-mb: the budget reaches every method and the
# deletion passes; too small a one is refused the same way.
printf '%s\n' '{"text": "a wonderfully acted , deeply moving film", "label": 1}' \
  '{"text": "a dull , lifeless and tedious mess", "label": 0}' >"$T/data.jsonl"
evaluate() {  # budget, out: evaluate two texts with IG under the limit
  (eval "$ULIMIT" && exec "$WL" evaluate --model "$MODEL" --data "jsonl:$T/data.jsonl" --methods integrated-gradients \
    --options "integrated-gradients:steps=4096,batch-size=4096,adaptive=false" --metrics deletion \
    --batch-size 4096 --memory-mb "$1" --out "$T/$2") >"$T/$2.log" 2>&1
  echo $?
}
rc=$(evaluate 64 eval64)
[ "$rc" = 0 ] || fail "evaluate --memory-mb 64: exit $rc: $(tail -5 "$T/eval64.log")"
grep -q '"integrated-gradients"' "$T/eval64/results.json" || fail "evaluate --memory-mb 64: no IG results"
echo "ok: evaluate --memory-mb 64"
rc=$(evaluate 0.01 eval-tiny)
[ "$rc" != 0 ] || fail "evaluate --memory-mb 0.01 was accepted"
grep -q "needs about .* MiB of working memory, more than the budget of 0.01 MiB (memory-mb)" "$T/eval-tiny.log" ||
  fail "evaluate --memory-mb 0.01: unclear message: $(tail -5 "$T/eval-tiny.log")"
echo "ok: evaluate --memory-mb 0.01 refused: $(grep -m1 'memory-mb' "$T/eval-tiny.log")"
echo "PASS"
