#!/usr/bin/env bash
# ./build.sh bench scale: wordlight evaluate over MPI ranks on this machine
# (issue 22). Documents per second for 1 process x C threads against
# mpirun -np C x 1 thread (C = the cores; the same cores used either way),
# and the cost of the distribution: with a method that costs almost nothing
# (the random control alone, --metrics time), the time per document that
# handing it out and confirming it adds (chunks of 1, the worst case), and
# the merge at the end (rank files -> results.jsonl, results.json, report).
# Workload: models/sst2-bilstm, occlusion, 64 synthetic reviews of ~60 words
# (the words of SST-2; the cost depends on the length, not the meaning).
# Prints a table; JSON lines in build/bench/scale.jsonl. docs/cluster.md
# turns the numbers into a scaling estimate.
set -euo pipefail
cd "$(dirname "$0")/.."
WL=${WL:-build/cmake-native/wordlight}
MODEL=${MODEL:-models/sst2-bilstm}
N=${N:-64}
N_CHEAP=${N_CHEAP:-$((N * 4))}
CORES=${CORES:-$(nproc)}
OUT=build/bench/scale.jsonl
mkdir -p build/bench
if ! ldd "$WL" | grep -q libmpi; then
  echo "bench scale: $WL is not an MPI build (install libopenmpi-dev: ./build.sh setup; then ./build.sh native)" >&2
  exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca plm isolated --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
GEN='
const s = ["a gorgeous , witty , seductive movie", "the plot is nothing but boilerplate clichés from start to finish",
  "it is not a bad film , just a very dull one", "an utterly charming and hilarious film that reminded me of why i love movies",
  "the acting is terrible and the story makes no sense", "a masterpiece of quiet , patient observation",
  "too long , too slow and too pleased with itself", "funny , touching and smartly written"];
let out = "";
for (let i = 0; i < +process.argv[2]; i++) {
  let t = [];
  for (let k = 0; k < 8; k++) t.push(s[(i * 3 + k * 5) % s.length]);
  out += JSON.stringify({id: "r" + i, text: t.join(" . "), label: i % 2}) + "\n";
}
require("fs").writeFileSync(process.argv[1], out);'
node -e "$GEN" "$T/data.jsonl" "$N"
node -e "$GEN" "$T/cheap.jsonl" "$N_CHEAP"

now() { date +%s.%N; }
# run NAME PROCESSES THREADS METHODS METRICS [extra...]
run() {
  local name=$1 np=$2 threads=$3 methods=$4 metrics=$5
  shift 5
  local data=${DATA:-data} n=$N
  [ "$data" = data ] || n=$N_CHEAP
  local args=(evaluate --model "$MODEL" --data "jsonl:$T/$data.jsonl" --methods "$methods" --metrics "$metrics"
    --threads "$threads" --out "$T/$name" "$@")
  local t0 t1
  t0=$(now)
  if [ "$np" = 0 ]; then
    "$WL" "${args[@]}" >"$T/$name.out" 2>"$T/$name.err"
  else
    WORDLIGHT_MPI_STATS=1 "${MPIRUN[@]}" -np "$np" "$WL" "${args[@]}" >"$T/$name.out" 2>"$T/$name.err"
  fi
  t1=$(now)
  node -e '
const [name, np, threads, n, t0, t1, file, errfile] = process.argv.slice(1);
const o = JSON.parse(require("fs").readFileSync(file, "utf8").trim().split("\n").pop());
// the ranks but 0: documents, chunks and the time spent waiting for a chunk
let wd = 0, wc = 0, ww = 0;
for (const m of require("fs").readFileSync(errfile, "utf8").matchAll(/mpi-stats: rank \d+: (\d+) documents in (\d+) chunks, ([0-9.]+) s waiting/g)) {
  wd += +m[1]; wc += +m[2]; ww += +m[3];
}
const wall = t1 - t0;
// seconds: the documents (and, single-process, the summary) without starting up and loading the model and data
const secs = o.seconds + (o.merge_seconds ?? 0);
const r = {bench: "scale", run: name, processes: Math.max(1, +np), threads: +threads, documents: +n, wall_seconds: +wall.toFixed(3),
  seconds: +secs.toFixed(3), docs_per_second: +(n / secs).toFixed(3), distribution_seconds: o.merge_seconds === undefined ? null : o.seconds,
  messages: o.messages ?? null, merge_seconds: o.merge_seconds ?? null,
  remote_documents: wd || null, remote_chunks: wc || null, wait_seconds_per_chunk: wc ? +(ww / wc).toFixed(6) : null};
console.log(JSON.stringify(r));' "$name" "$np" "$threads" "$n" "$t0" "$t1" "$T/$name.out" "$T/$name.err" | tee -a "$OUT"
}

rm -f "$OUT"
echo "== occlusion on $N reviews, $MODEL; $CORES cores"
run single "0" "$CORES" occlusion time
run mpi "$CORES" 1 occlusion time
run single1 "0" 1 occlusion time
echo "== the cost of the distribution itself: the random control alone on $N_CHEAP reviews, chunks of 1"
DATA=cheap run cheap_single "0" 1 random time
DATA=cheap run cheap_mpi "$CORES" 1 random time --chunk 1
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const by = Object.fromEntries(rows.map(r => [r.run, r]));
const n = by.single.documents;
console.log("\n| run | processes x threads | documents/s | seconds (documents) | wall s (with start-up) |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.run} | ${r.processes} x ${r.threads} | ${r.docs_per_second} | ${r.seconds} | ${r.wall_seconds} |`);
const perDoc = by.single1.seconds / n;
const cheap1 = by.cheap_single.seconds / by.cheap_single.documents;
// what handing out a chunk costs a rank: from asking to getting it (chunks of 1: per document)
const over = by.cheap_mpi.wait_seconds_per_chunk;
const out = {bench: "scale-summary", occlusion_seconds_per_document_1_thread: +perDoc.toFixed(4),
  mpi_speedup_vs_threads: +(by.mpi.docs_per_second / by.single.docs_per_second).toFixed(3),
  distribution_overhead_seconds_per_chunk: over, chunks_measured: by.cheap_mpi.remote_chunks,
  cheap_document_seconds_1_thread: +cheap1.toFixed(5), default_chunk_wait_seconds: by.mpi.wait_seconds_per_chunk,
  merge_seconds: by.cheap_mpi.merge_seconds, merge_seconds_per_document: +(by.cheap_mpi.merge_seconds / by.cheap_mpi.documents).toFixed(6)};
console.log("\n" + JSON.stringify(out));
require("fs").appendFileSync(process.argv[1], JSON.stringify(out) + "\n");' "$OUT"
