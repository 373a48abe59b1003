#!/usr/bin/env bash
# Builds gemm_kernel.c into a standalone wasm module with clang-19 + wasm-ld-19
# and writes an Emscripten JS library (--js-library) that carries its bytes.
# Usage: build_kernel.sh CLANG WASM_LD THREADS(0|1) OUT.js
# THREADS=1: the module imports a shared memory (the pthreads build's).
set -euo pipefail
CLANG=$1 WASMLD=$2 THREADS=$3 OUT=$4
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(dirname "$OUT")/relaxed-kernel
mkdir -p "$TMP"
FLAGS=(--target=wasm32 -O3 -msimd128 -mrelaxed-simd -ffreestanding -nostdlib -fno-builtin)
LDFLAGS=(--no-entry --import-memory --export=compute_block --export=madd_peak -z stack-size=0 --strip-all)
if [ "$THREADS" = 1 ]; then
  FLAGS+=(-matomics -mbulk-memory)
  LDFLAGS+=(--shared-memory --max-memory=4294967296)
fi
"$CLANG" "${FLAGS[@]}" -S -o "$TMP/gemm_kernel.s" "$HERE/gemm_kernel.c"
# The module shares the engine's memory and has no stack there: its code must
# keep everything in locals.
if grep -q '__stack_pointer' "$TMP/gemm_kernel.s"; then
  echo "build_kernel.sh: gemm_kernel.c uses the shadow stack (see $TMP/gemm_kernel.s); it must not" >&2
  exit 1
fi
grep -q 'f32x4.relaxed_madd' "$TMP/gemm_kernel.s" || { echo "build_kernel.sh: no f32x4.relaxed_madd in the kernel" >&2; exit 1; }
"$CLANG" "${FLAGS[@]}" -c -o "$TMP/gemm_kernel.o" "$HERE/gemm_kernel.c"
"$WASMLD" "${LDFLAGS[@]}" -o "$TMP/gemm_kernel.wasm" "$TMP/gemm_kernel.o"
node "$HERE/make_library.js" "$TMP/gemm_kernel.wasm" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
