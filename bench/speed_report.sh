#!/usr/bin/env bash
# Every table of issue 20 (speed) from one run, side by side, each GFLOP/s
# figure next to its fraction of the ceiling measured in the same run:
#
#   1. ceilings and GEMM: the f32x4 mul+add bound (wasm SIMD128's ceiling,
#      natively and in wasm) and the f32x8 FMA bound (OpenBLAS's, natively),
#      GEMM at the shapes of sst2-bert and BERT-base (gemm_bench)
#   2. per-op profile of one sst2-bert forward (batch 1) and one IG call (50
#      points in one batch), 64 tokens, 1 thread, natively and in wasm
#      (explain_bench --profile; wordlight/op_profile.h)
#   3. forward in wasm against ONNX Runtime Web (pinned version) at 16, 64,
#      128 tokens, 1 and 2 threads (wasm_vs_ort.mjs)
#   4. Integrated Gradients (50 points, one batch) natively, in wasm and in
#      PyTorch, 32 and 64 tokens, 1 and 2 threads (explain_bench, torch_ig.py)
#   5. Integrated Hessians (16 Gauss points) natively and in wasm against
#      PyTorch's double backward, 16 and 32 words (sst2-bilstm)
#   6. relaxed SIMD against SIMD (gemm_bench.js with and without node's
#      --experimental-wasm-relaxed-simd: the relaxed kernel module or SIMD128)
#   7. peak memory of IG-50 at 64 tokens natively, in wasm and in PyTorch
#   8. converged IG: the registry's default (adaptive) against Captum's default
#      IntegratedGradients (50 Gauss-Legendre points) on SST-2 sentences, 1
#      and 2 threads (converged_bench, converged_captum.py; needs CAPTUM_DIR, a
#      Captum checkout outside the repository, else skipped)
#
#   bench/speed_report.sh            (about 6-10 minutes on a quiet 2-core machine, builds not counted)
#
# It installs what it needs first (bench/bench_deps.sh, idempotent):
# python3-torch, python3-onnx and libopenblas0-openmp through apt when
# missing, onnxruntime-web $ORT_VERSION (pinned) into build/bench/npm-ort;
# and it builds the targets it
# runs (NATIVE_BUILD, default build/cmake-native; WASM_BUILD, default
# build/cmake-wasm-mt; the JS API's wasm/dist through build/cmake-wasm and
# WASM_BUILD). JSON lines go to build/bench/speed/, the tables to stdout
# (bench/speed_report.mjs). Times are wall clock: on a shared machine
# compare the ratios of one run, and read the ceiling rows as the gauge of
# how much of the CPU the run got. SKIP=ort,ih,dist,converged leaves parts out (dist:
# the wasm/dist build, when another build owns it); QUICK=1 runs every part
# on the smallest case (1 thread, 32 tokens, 16 words, ORT at 16 tokens), a
# check that the script works, not a report.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
log() { printf '\033[1m== %s\033[0m\n' "$*"; }
skip() { [[ ",${SKIP:-}," == *",$1,"* ]]; }

NATIVE_BUILD=${NATIVE_BUILD:-build/cmake-native}
WASM_BUILD=${WASM_BUILD:-build/cmake-wasm-mt}
ORT_VERSION=${ORT_VERSION:-1.30.0}
OUT=build/bench/speed
MODEL=${MODEL:-models/sst2-bert}
IH_MODEL=${IH_MODEL:-models/sst2-bilstm}
JOBS=${JOBS:-2}
NODE="node --no-experimental-fetch"
THREADS=1,2 TOKENS=32,64 REPEATS=3 IH_WORDS=16,32 ORT_LENGTHS=16,64,128 ORT_SECONDS=1
CONVERGED="--short 10 --long 4 --repeats 2 --reference-texts 1"
if [ "${QUICK:-0}" = 1 ]; then
  THREADS=1 TOKENS=32 REPEATS=1 IH_WORDS=16 ORT_LENGTHS=16 ORT_SECONDS=0.3
  CONVERGED="--short 2 --long 1 --repeats 1 --reference-texts 1"
fi

# ------------------------------------------------------------------ setup
t_setup=$(date +%s)
ORT_WEB_DIR=$(ORT_VERSION=$ORT_VERSION bench/bench_deps.sh | tail -1)
export ORT_WEB_DIR

configure() {  # dir, cmake command...
  local dir=$1
  shift
  [ -f "$dir/build.ninja" ] || "$@" -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
}
log "building what the report runs ($NATIVE_BUILD, $WASM_BUILD, wasm/dist)"
configure "$NATIVE_BUILD" cmake
cmake --build "$NATIVE_BUILD" -j "$JOBS" --target wordlight explain_bench gemm_bench integrated_hessians_bench \
  converged_bench
configure "$WASM_BUILD" emcmake cmake -DWORDLIGHT_WASM_THREADS=ON
cmake --build "$WASM_BUILD" -j "$JOBS" --target explain_bench gemm_bench integrated_hessians_bench
if ! skip ort && ! skip dist; then
  configure build/cmake-wasm emcmake cmake
  cmake --build build/cmake-wasm -j "$JOBS" --target wordlight_wasm
  cmake --build "$WASM_BUILD" -j "$JOBS" --target wordlight_wasm
fi
CLI=$NATIVE_BUILD/wordlight
[ -x "$CLI" ] || CLI=build/native/wordlight  # build/cmake-native puts its CLI there
NB=$NATIVE_BUILD/bench
WB=$WASM_BUILD/bench
echo "setup and builds: $(($(date +%s) - t_setup)) s (not part of the report's time)"

# ------------------------------------------------------------------ the runs
t0=$(date +%s)
mkdir -p "$OUT"
rm -f "$OUT"/*.jsonl
if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "bench/speed_report.sh: $MODEL/model.safetensors is missing" >&2
  exit 1
fi
{
  echo "speed report: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (modified tree)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node $(node --version); emscripten $(emcc --version 2>/dev/null | head -1 | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1); onnxruntime-web $ORT_VERSION$([ "${QUICK:-0}" = 1 ] && echo '; QUICK=1: smallest cases only, not a report')"
  echo "model $MODEL; IH model $IH_MODEL; builds $NATIVE_BUILD, $WASM_BUILD"
} | tee "$OUT/header.txt"

GEMM_CASES=64x768x768,64x256x1024,64x1024x256,3200x256x256,3200x256x1024,64x64x64
log "1. ceilings and GEMM: native"
$NB/gemm_bench --quick --threads $THREADS --cases $GEMM_CASES --impl ours-native,openblas --out "$OUT/gemm.jsonl" >/dev/null
log "1. ceilings and GEMM: wasm"
$NODE $WB/gemm_bench.js --quick --threads $THREADS --cases $GEMM_CASES --impl ours-wasm,ours-wasm-unpacked \
  --out "$OUT/gemm.jsonl" >/dev/null
# The same build with node's relaxed-SIMD flag: its GEMMs then run the
# relaxed kernel module (core/src/ops/wasm_relaxed/), picked at load.
log "6. relaxed SIMD: the same GEMMs with node --experimental-wasm-relaxed-simd"
$NODE --experimental-wasm-relaxed-simd $WB/gemm_bench.js --quick --threads $THREADS --cases $GEMM_CASES \
  --impl ours-wasm,ours-wasm-unpacked --out "$OUT/gemm_relaxed.jsonl" >/dev/null

log "2. per-op profile (64 tokens, 1 thread): native, wasm"
$NB/explain_bench --model "$MODEL" --threads 1 --tokens 64 --repeats 1 --measures forward,ig \
  --profile "$OUT/profile.jsonl" >/dev/null
$NODE $WB/explain_bench.js --model "$MODEL" --threads 1 --tokens 64 --repeats 1 --measures forward,ig \
  --profile "$OUT/profile.jsonl" >/dev/null

log "4. Integrated Gradients and forward: native, wasm, PyTorch ($TOKENS tokens; $THREADS threads)"
$NB/explain_bench --model "$MODEL" --threads $THREADS --tokens $TOKENS --repeats $REPEATS --measures ig,forward \
  --out "$OUT/explain.jsonl" --inputs-out "$OUT/explain-inputs.json" >/dev/null
$NODE $WB/explain_bench.js --model "$MODEL" --threads $THREADS --tokens $TOKENS --repeats $REPEATS --measures ig,forward \
  --out "$OUT/explain.jsonl" >/dev/null
/usr/bin/python3 bench/torch_ig.py --model "$MODEL" --inputs "$OUT/explain-inputs.json" --threads $THREADS --repeats $REPEATS \
  --out "$OUT/explain.jsonl" --cli "$CLI" | grep -E '^(check|torch |512)' || true

log "7. peak memory of IG-50 at 64 tokens: native, wasm, PyTorch (each its own process)"
$NB/explain_bench --model "$MODEL" --tokens 64 --memory "$OUT/memory.jsonl" --inputs-out "$OUT/memory-inputs.json" \
  >/dev/null
$NODE $WB/explain_bench.js --model "$MODEL" --tokens 64 --memory "$OUT/memory.jsonl" >/dev/null
/usr/bin/python3 bench/torch_ig.py --model "$MODEL" --inputs "$OUT/memory-inputs.json" --cli "" \
  --memory "$OUT/memory.jsonl" >/dev/null

if ! skip ort; then
  log "3. forward: wasm against ONNX Runtime Web $ORT_VERSION ($ORT_LENGTHS tokens; $THREADS threads)"
  $NODE bench/wasm_vs_ort.mjs --model "$MODEL" --lengths $ORT_LENGTHS --threads $THREADS --seconds $ORT_SECONDS \
    --out "$OUT/wasm_vs_ort.jsonl" >/dev/null
fi

log "6. relaxed SIMD: IG, the forward and the forward against ORT Web with node --experimental-wasm-relaxed-simd"
$NODE --experimental-wasm-relaxed-simd $WB/explain_bench.js --model "$MODEL" --threads $THREADS --tokens $TOKENS \
  --repeats $REPEATS --measures ig,forward --out "$OUT/explain_relaxed.jsonl" >/dev/null
if ! skip ort; then
  $NODE --experimental-wasm-relaxed-simd bench/wasm_vs_ort.mjs --model "$MODEL" --lengths $ORT_LENGTHS \
    --threads $THREADS --seconds $ORT_SECONDS --out "$OUT/wasm_vs_ort_relaxed.jsonl" >/dev/null
fi

if ! skip ih; then
  log "5. Integrated Hessians (16 points): native, wasm, PyTorch double backward ($IH_WORDS words)"
  $NB/integrated_hessians_bench --model "$IH_MODEL" --words $IH_WORDS --steps 16 --reps 2 --reference-steps 0 \
    --dump "$OUT/ih-dump.json" >>"$OUT/ih.jsonl"
  $NODE $WB/integrated_hessians_bench.js --model "$IH_MODEL" --words $IH_WORDS --steps 16 --reps 1 \
    --reference-steps 0 >>"$OUT/ih.jsonl"
  /usr/bin/python3 bench/integrated_hessians_torch.py "$OUT/ih-dump.json" --samples 16 --threads 1 >>"$OUT/ih.jsonl"
fi

if ! skip converged; then
  if [ -n "${CAPTUM_DIR:-${CAPTUM_PATH:-}}" ]; then
    log "8. converged IG (registry defaults) against Captum's default IntegratedGradients ($THREADS threads)"
    /usr/bin/python3 bench/converged_captum.py --bench "$NB/converged_bench" --model "$MODEL" --threads $THREADS \
      $CONVERGED --out "$OUT/converged.jsonl" | grep -E '^(torch |checks|check )' || true
  else
    echo "8. converged IG against Captum: skipped (CAPTUM_DIR is not set to a Captum checkout; see bench/README.md)"
  fi
fi

echo "report runs: $(($(date +%s) - t0)) s"
node bench/speed_report.mjs "$OUT"
