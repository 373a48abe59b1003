#!/usr/bin/env bash
# One command for a machine with a real GPU (issue 23), about 10 minutes:
#   bench/gpu_check.sh
# 1. builds the Vulkan backend, its tests and the layer benchmark in
#    build/gpu-check (Release, all cores);
# 2. runs the device tests (every op against the scalar reference) on the
#    best Vulkan device (WORDLIGHT_DEVICE_INDEX=N picks another);
# 3. times a stack of BERT encoder layers forward + backward to the input
#    (the work of one IG step over a batch; IG-50 = 50 of them) on the
#    Vulkan device, on the CPU fast path (OpenBLAS) and in PyTorch CUDA fp32
#    (bench/gpu_layer_torch.py), for the sst2-bert shape (4 x 256, 4 heads)
#    and the BERT-base shape (12 x 768, 12 heads) at 64 and 256 tokens,
#    batch 8; JSON lines in build/bench/gpu_check.jsonl.
# Needs: cmake, ninja, g++, libvulkan-dev, glslc, a Vulkan driver for the
# GPU (NVIDIA: the driver's ICD), OpenBLAS, nlohmann-json, googletest;
# python3 with torch for the PyTorch column (skipped, saying so, without).
# 4. whole explanations (the tape on the device): IG-50 (50 path points as
#    one batch, zero baseline) and LRP through explain(), on the Vulkan
#    device (explain_bench --device vulkan), on the CPU (all cores) and in
#    PyTorch CUDA fp32 (torch_ig.py --device cuda, which first checks its IG
#    scores against our CLI's), on models/sst2-bert at 64 tokens (its
#    maximum is 128) and on a random BERT-base-shaped model (12 x 768,
#    build/bench/bert-base-shape) at 64 and 256 tokens; one text per call
#    (8 texts: 8 calls). Then bench/report.mjs prints the table.
# STEPS=layers or STEPS=explain runs one half only.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m== %s\033[0m\n' "$*"; }
t0=$SECONDS
missing=()
command -v glslc >/dev/null || missing+=("glslc (Debian: glslc)")
[ -f /usr/include/vulkan/vulkan.h ] || missing+=("Vulkan headers (Debian: libvulkan-dev)")
if ((${#missing[@]})); then
  echo "gpu_check: missing ${missing[*]}; ./build.sh setup installs them" >&2
  exit 1
fi
if command -v vulkaninfo >/dev/null; then vulkaninfo --summary 2>/dev/null | grep -E "deviceName|deviceType|driverName" || true; fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

log "build (build/gpu-check)"
B=build/gpu-check
[ -f $B/build.ninja ] || cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DWORDLIGHT_VULKAN=ON >/dev/null
cmake --build $B -j "$(nproc)" --target wordlight_gpu_tests gpu_layer_bench explain_bench wordlight
$B/wordlight devices --check vulkan

log "device tests"
$B/wordlight_gpu_tests --gtest_brief=1

mkdir -p build/bench
OUT=build/bench/gpu_check.jsonl
rm -f $OUT
PY=""
for p in python3 /usr/bin/python3; do
  if command -v $p >/dev/null && $p -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || echo "(no python3 with torch and CUDA: the PyTorch column is skipped)"

run() {  # name, args...
  local name=$1
  shift
  log "$name: $*"
  timeout 240 $B/bench/gpu_layer_bench "$@" --reps 3 --out $OUT || echo "gpu_layer_bench failed ($?)"
  if [ -n "$PY" ]; then timeout 120 $PY bench/gpu_layer_torch.py --device cuda "$@" --reps 5 --out $OUT || true; fi
}
if [ "${STEPS:-all}" != explain ]; then
  run "sst2-bert shape" --B 8 --T 64 --hidden 256 --heads 4 --ffn 1024 --layers 4
  run "BERT-base shape" --B 8 --T 64 --hidden 768 --heads 12 --ffn 3072 --layers 12
  run "BERT-base shape" --B 8 --T 256 --hidden 768 --heads 12 --ffn 3072 --layers 12
fi

explain_run() {  # model dir, tokens
  local inputs=build/bench/gpu_check_inputs.json
  log "IG-50 and LRP, $1, $2 tokens: vulkan, cpu ($(nproc) threads)${PY:+, torch cuda}"
  timeout 240 $B/bench/explain_bench --model "$1" --tokens "$2" --threads 1 --repeats 3 --device vulkan \
    --inputs-out $inputs --out $OUT || echo "explain_bench --device vulkan failed ($?)"
  timeout 240 $B/bench/explain_bench --model "$1" --tokens "$2" --threads "$(nproc)" --repeats 2 --out $OUT ||
    echo "explain_bench (cpu) failed ($?)"
  if [ -n "$PY" ] && [ -f $inputs ]; then
    timeout 180 $PY bench/torch_ig.py --model "$1" --inputs $inputs --device cuda --threads 1 --repeats 5 \
      --cli $B/wordlight --out $OUT || echo "torch_ig.py --device cuda failed ($?)"
  fi
}
if [ "${STEPS:-all}" != layers ]; then
  BASE=build/bench/bert-base-shape
  if [ ! -f $BASE/model.safetensors ]; then
    mkdir -p $BASE
    python3 - models/recipes/sst2-bert.json build/bench/bert-base-shape.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
         max_position_embeddings=512)
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
    $B/wordlight init --config build/bench/bert-base-shape.json --vocab models/sst2-bert/vocab.txt --out $BASE --seed 1
  fi
  explain_run models/sst2-bert 64
  explain_run $BASE 64
  explain_run $BASE 256
  command -v node >/dev/null && node bench/report.mjs $OUT || true
fi
log "done in $((SECONDS - t0)) s; JSON lines in $OUT"
