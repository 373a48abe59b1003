#!/usr/bin/env bash
# The CLI under MPI (issue 22), on one machine: `wordlight evaluate` and
# `wordlight explain --input --out` with 3 ranks give the results of a
# single process; a rank that dies mid-run under mpirun --enable-recovery
# is reported with the documents left undone while the others finish; under
# plain mpirun (which stops the job) the run fails; a rerun with another
# number of ranks (2, 1) completes them; a torn per-rank line is dropped and
# its document redone. Tiny: the 30-word CNN of tests/golden/ours/cnn on 24
# short texts, a few seconds in all.
#
# usage: test_mpi.sh WORDLIGHT_BINARY MPI(ON|OFF)
# Exit 77 (ctest: skipped, with the reason printed) when the build has no MPI.
set -euo pipefail
WL=$1
MPI=${2:-OFF}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "${MPI^^}" in
  ON | 1 | TRUE | YES) ;;
  *) MPI=OFF ;;
esac
if [ "$MPI" = OFF ]; then
  echo "SKIPPED: this build has no MPI (WORDLIGHT_MPI is off: install libopenmpi-dev, ./build.sh setup does)"
  exit 77
fi
if ! command -v mpirun >/dev/null; then
  echo "SKIPPED: mpirun is not installed (openmpi-bin; ./build.sh setup installs it)"
  exit 77
fi
MODEL=$ROOT/tests/golden/ours/cnn
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Open MPI as root (CI containers), more ranks than cores, this machine only
# (plm isolated: no ssh needed), no network probing.
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca plm isolated --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
export OMPI_MCA_rmaps_base_oversubscribe=1
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

node -e '
const w = ["the movie was great fun", "the plot was dull and boring", "not very good but funny",
  "i love this film , a good story", "acting bad , story bad", "it is a fun movie !", "boring , dull , hate it",
  "the film '"'"'s acting was great", "not bad and not dull", "a very funny plot", "hate the acting , love the story",
  "great great great film"];
let out = "", ex = "";
for (let i = 0; i < 24; i++) {
  const t = w[i % 12] + (i >= 12 ? " and the story" : "");
  out += JSON.stringify({id: "doc" + i, text: t, label: i % 3, rationales: [[0, t.indexOf(" ")]]}) + "\n";
  ex += JSON.stringify(i === 5 ? {notext: 1} : {text: t}) + "\n";
}
require("fs").writeFileSync(process.argv[1] + "/data.jsonl", out);
require("fs").writeFileSync(process.argv[1] + "/texts.jsonl", ex);' "$T"

EVAL=(evaluate --model "$MODEL" --data "jsonl:$T/data.jsonl" --methods saliency,occlusion --options occlusion:mode=zero
  --metrics deletion,eraser,plausibility,confidence,faithfulness,consistency,docvectors,topwords --deletion-steps 0,1,2,3
  --threads 1)

# results.json of two runs equal, but for "command" (it names the --out folder).
same_results() {
  node -e '
const fs = require("fs");
const a = JSON.parse(fs.readFileSync(process.argv[1])), b = JSON.parse(fs.readFileSync(process.argv[2]));
delete a.command; delete b.command;
if (JSON.stringify(a) !== JSON.stringify(b)) { console.error("results.json differ:", process.argv[1], process.argv[2]); process.exit(1); }
// every document once in results.jsonl, none missing
const idx = fs.readFileSync(process.argv[2].replace(/results\.json$/, "results.jsonl"), "utf8").trim().split("\n").map(l => JSON.parse(l).index);
if (new Set(idx).size !== idx.length || idx.length !== 24) { console.error("results.jsonl indices:", idx.join(",")); process.exit(1); }
' "$1" "$2" || fail "$2 differs from $1"
  ! ls "$(dirname "$2")"/results.rank-*.jsonl >/dev/null 2>&1 || fail "rank files left in $(dirname "$2")"
}

echo "== single process"
"$WL" "${EVAL[@]}" --out "$T/single" >"$T/single.out" 2>"$T/single.err" || { cat "$T/single.err"; fail "single run"; }

echo "== 3 ranks, chunks of 2"
"${MPIRUN[@]}" -np 3 "$WL" "${EVAL[@]}" --out "$T/mpi3" --chunk 2 >"$T/mpi3.out" 2>"$T/mpi3.err" ||
  { cat "$T/mpi3.err"; fail "mpirun -np 3"; }
same_results "$T/single/results.json" "$T/mpi3/results.json"
grep -q '"ranks":3' "$T/mpi3.out" || fail "3 ranks expected: $(cat "$T/mpi3.out")"
grep -q 'evaluate: 24/24 documents' "$T/mpi3.err" || fail "no progress line on rank 0: $(cat "$T/mpi3.err")"

echo "== rank 2 dies after 2 documents of a chunk of 4 (mpirun --enable-recovery: the others finish)"
set +e
WORDLIGHT_MPI_TEST_DIE=2:2 WORDLIGHT_MPI_TEST_SLOW_MS=300 WORDLIGHT_MPI_DEAD_AFTER=3 "${MPIRUN[@]}" --enable-recovery -np 3 "$WL" "${EVAL[@]}" \
  --out "$T/dead" --chunk 4 >"$T/dead.out" 2>"$T/dead.err"
set -e
# (Open MPI 4's mpirun exits 0 under --enable-recovery whatever the ranks
# do, so the status is not checked here; the message and the files are.)
grep -q 'rank(s) 2 stopped answering' "$T/dead.err" || { cat "$T/dead.err"; fail "no message naming the dead rank"; }
[ ! -e "$T/dead/results.json" ] || fail "results.json written with documents missing"
grep -q 'rank(s) 2 stopped answering' "$T/dead/unfinished.txt" || fail "no unfinished.txt"
! grep -q '"evaluated"' "$T/dead.out" || fail "the closing line printed with documents missing"
# The message names exactly the documents not in the merged results.jsonl.
node -e '
const fs = require("fs");
const err = fs.readFileSync(process.argv[1] + "/dead.err", "utf8");
const m = err.match(/with (\d+) of the 24 documents not done: ([^;]*);/);
if (!m) { console.error("no list of documents in:", err); process.exit(1); }
const named = [...m[2].matchAll(/doc(\d+) \(example (\d+)\)/g)].map(x => { if (+x[1] + 1 !== +x[2]) process.exit(1); return +x[1]; });
const done = fs.readFileSync(process.argv[1] + "/dead/results.jsonl", "utf8").trim().split("\n").map(l => JSON.parse(l).index);
const missing = [...Array(24).keys()].filter(i => !done.includes(i));
if (+m[1] !== missing.length || named.length !== missing.length || named.some(i => done.includes(i)) || missing.length < 1 || missing.length > 4) {
  console.error("named", named.join(","), "count", m[1], "missing", missing.join(",")); process.exit(1);
}' "$T" || fail "the dead rank's message does not name the missing documents"
echo "== rerun with 2 ranks completes them"
"${MPIRUN[@]}" -np 2 "$WL" "${EVAL[@]}" --out "$T/dead" >"$T/dead2.out" 2>"$T/dead2.err" ||
  { cat "$T/dead2.err"; fail "rerun with 2 ranks"; }
same_results "$T/single/results.json" "$T/dead/results.json"
grep -q '"resumed":2[0-3],' "$T/dead2.out" || fail "the rerun resumed too little or too much: $(cat "$T/dead2.out")"

echo "== rank 1 dies under plain mpirun (the job is stopped)"
set +e
WORDLIGHT_MPI_TEST_DIE=1:2 WORDLIGHT_MPI_TEST_SLOW_MS=300 "${MPIRUN[@]}" -np 3 "$WL" "${EVAL[@]}" --out "$T/killed" --chunk 2 >"$T/killed.out" 2>"$T/killed.err"
rc=$?
set -e
[ $rc -ne 0 ] || fail "a stopped job exited 0"
# Rank 0 names the unconfirmed documents when mpirun's SIGTERM reaches it
# before its SIGKILL (in most runs here, not all: Open MPI's timing), in
# unfinished.txt as mpirun may drop its last output. Not asserted: the
# deterministic path is --enable-recovery above. What is asserted: the
# status, and that the rerun completes the run.
if [ -e "$T/killed/unfinished.txt" ]; then
  grep -q 'not confirmed written: doc' "$T/killed/unfinished.txt" || fail "unfinished.txt without the documents"
  echo "   (rank 0 said: $(cut -c1-160 "$T/killed/unfinished.txt")...)"
else
  echo "   (rank 0 was killed before it could name the documents)"
fi
echo "== rerun in one process (no mpirun) resumes from the per-rank files"
"$WL" "${EVAL[@]}" --out "$T/killed" >"$T/killed1.out" 2>"$T/killed1.err" || { cat "$T/killed1.err"; fail "plain rerun"; }
same_results "$T/single/results.json" "$T/killed/results.json"
[ ! -e "$T/killed/unfinished.txt" ] || fail "unfinished.txt left by a finished run"

echo "== a torn per-rank line is dropped and its document redone"
mkdir -p "$T/torn"
cp "$T/single/run.json" "$T/torn/"
sed -n '1,10p' "$T/single/results.jsonl" >"$T/torn/results.jsonl"
sed -n '11,15p' "$T/single/results.jsonl" >"$T/torn/results.rank-1.jsonl"
sed -n '16p' "$T/single/results.jsonl" | cut -c1-200 | tr -d '\n' >>"$T/torn/results.rank-1.jsonl"
sed -n '17,19p' "$T/single/results.jsonl" >"$T/torn/results.rank-4.jsonl"
"${MPIRUN[@]}" -np 3 "$WL" "${EVAL[@]}" --out "$T/torn" >"$T/torn.out" 2>"$T/torn.err" || { cat "$T/torn.err"; fail "torn rerun"; }
grep -q 'results.rank-1.jsonl: line 6: .*dropped' "$T/torn.err" || { cat "$T/torn.err"; fail "the torn line was not reported"; }
grep -q '"evaluated":6,"resumed":18' "$T/torn.out" || fail "expected 6 redone, 18 resumed: $(cat "$T/torn.out")"
same_results "$T/single/results.json" "$T/torn/results.json"

echo "== explain --input --out: 3 ranks equal one process (a bad line reported by both)"
EX=(explain --model "$MODEL" --method integrated-gradients --input "$T/texts.jsonl" --threads 1)
set +e
"$WL" "${EX[@]}" --out "$T/ex1" >"$T/ex1.out" 2>"$T/ex1.err"
rc1=$?
"${MPIRUN[@]}" -np 3 "$WL" "${EX[@]}" --out "$T/ex3" --chunk 1 >"$T/ex3.out" 2>"$T/ex3.err"
rc3=$?
set -e
[ $rc1 -eq 1 ] && [ $rc3 -eq 1 ] || { cat "$T/ex1.err" "$T/ex3.err"; fail "explain: exit $rc1 and $rc3, expected 1 (line 6 is bad)"; }
grep -q '"failed":1' "$T/ex3.out" || fail "explain -np 3: $(cat "$T/ex3.out")"
node -e '
const fs = require("fs");
const strip = (o) => { if (Array.isArray(o)) return o.map(strip); if (o && typeof o === "object") { const r = {}; for (const k of Object.keys(o)) if (k !== "seconds") r[k] = strip(o[k]); return r; } return o; };
const read = (p) => fs.readFileSync(p, "utf8").trim().split("\n").map(l => strip(JSON.parse(l)));
const a = read(process.argv[1]), b = read(process.argv[2]);
if (a.length !== 24 || JSON.stringify(a) !== JSON.stringify(b)) { console.error("explanations differ", a.length, b.length); process.exit(1); }
if (a.map(x => x.line).join(",") !== [...Array(24).keys()].map(i => i + 1).join(",")) { console.error("not in input order"); process.exit(1); }
if (!a[5].error || !a[4].explanation || a[4].explanation.words.length < 1) { console.error("line 6 should be the error"); process.exit(1); }
' "$T/ex1/explanations.jsonl" "$T/ex3/explanations.jsonl" || fail "explain under mpirun differs from one process"
! ls "$T"/ex3/explanations.rank-*.jsonl >/dev/null 2>&1 || fail "explain rank files left"

echo "== explain resumes from explanations.jsonl and a rank file with a torn line, with 2 ranks"
mkdir -p "$T/exr"
cp "$T/ex1/run.json" "$T/exr/"
sed -n '1,10p' "$T/ex1/explanations.jsonl" >"$T/exr/explanations.jsonl"
sed -n '11,14p' "$T/ex1/explanations.jsonl" >"$T/exr/explanations.rank-2.jsonl"
sed -n '15p' "$T/ex1/explanations.jsonl" | cut -c1-100 | tr -d '\n' >>"$T/exr/explanations.rank-2.jsonl"
set +e
"${MPIRUN[@]}" -np 2 "$WL" "${EX[@]}" --out "$T/exr" >"$T/exr.out" 2>"$T/exr.err"
set -e
grep -q 'explanations.rank-2.jsonl: line 5: .*dropped' "$T/exr.err" || { cat "$T/exr.err"; fail "explain: the torn line was not reported"; }
grep -q '"explained":10,"resumed":14' "$T/exr.out" || fail "explain resume: $(cat "$T/exr.out")"
cmp <(sed 's/"seconds":[0-9.e+-]*//g' "$T/ex1/explanations.jsonl") <(sed 's/"seconds":[0-9.e+-]*//g' "$T/exr/explanations.jsonl") ||
  fail "explain: the resumed explanations.jsonl differs from one process's"

echo "PASS: MPI evaluate and explain"
