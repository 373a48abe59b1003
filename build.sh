#!/usr/bin/env bash
# wordlight: the one entry point.
#   ./build.sh setup         install apt + npm dependencies (idempotent, fast when done)
#   ./build.sh native        build the native core, tests and CLI (build/native/wordlight)
#   ./build.sh wasm          build the core, tests and JS API module (wasm/dist) to SIMD WebAssembly (single-threaded and pthreads)
#   ./build.sh test          setup + build + every test suite (native ctest, the same tests in wasm under node)
#   ./build.sh serve         setup + build the wasm module and the page, serve the demo on localhost:8080
#   ./build.sh web           build the page (web/, Vite) into build/web
#   ./build.sh bench [name]  run benchmarks (gemm, explain, perturbation, integrated-hessians, convergence, converged,
#                            wasm-vs-ort, counterfactuals, generate, speed (issue 20's report: bench/speed_report.sh); all by default;
#                            scale: MPI ranks), tables on stdout, JSON lines in build/bench/; the peers' packages
#                            (torch, onnx, onnxruntime-web pinned) are installed by bench/bench_deps.sh
#   ./build.sh fuzz [secs]   libFuzzer + ASan/UBSan on every file reader (secs each, default 60), then the C++ tests under ASan/UBSan
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export NODE_PATH=/usr/share/nodejs
JOBS=${JOBS:-$(nproc)}

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

APT_PACKAGES=(cmake ninja-build g++ clang emscripten binaryen libopenblas-dev nlohmann-json3-dev googletest
  libgtest-dev clang-19 lld-19 chromium openmpi-bin libopenmpi-dev libvulkan-dev glslc mesa-vulkan-drivers vulkan-tools)

setup() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
  if ((${#missing[@]})); then
    log "installing apt packages: ${missing[*]}"
    local SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    local aptlog
    aptlog=$(mktemp)
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1; then
      cat "$aptlog" >&2
      echo "setup: apt-get failed (log above)" >&2
      exit 1
    fi
    rm -f "$aptlog"
  fi
  # npm packages: only when package-lock.json changed since the last install.
  if [ -f package-lock.json ] && grep -q '"dependencies"\|"devDependencies"' package.json; then
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      log "installing npm packages"
      npm ci --ignore-scripts --no-audit --no-fund
    fi
  fi
}

cmake_build() {  # dir, generator args...
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    "$@" -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$dir" -j "$JOBS"
}

native() {
  log "native build"
  cmake_build build/cmake-native cmake
}

wasm() {
  log "wasm build (single-threaded; the JS API's wasm/dist/wordlight-simd)"
  cmake_build build/cmake-wasm emcmake cmake
  log "wasm build (pthreads; the JS API's wasm/dist/wordlight-simd-threads)"
  cmake_build build/cmake-wasm-mt emcmake cmake -DWORDLIGHT_WASM_THREADS=ON
}

run_tests() {
  local t0=$SECONDS
  log "native tests (ctest)"
  (cd build/cmake-native && ctest --output-on-failure -j "$JOBS")
  log "wasm tests under node (single-threaded build)"
  (cd build/cmake-wasm && ctest --output-on-failure)
  log "wasm tests under node (pthreads build)"
  (cd build/cmake-wasm-mt && ctest --output-on-failure)
  if [ -d tests/js ] && ls tests/js/*.test.* >/dev/null 2>&1; then
    log "JS tests (vitest)"
    npx vitest run
  fi
  log "shipped models: re-measure the accuracies their cards claim"
  tests/models/check_cards.sh
  log "all test suites passed in $((SECONDS - t0)) s"
}

bench() {
  local which=${1:-all}
  mkdir -p build/bench
  native
  if [ "$which" = scale ]; then  # MPI ranks on this machine (issue 22); needs no wasm build
    bench/scale.sh
    return
  fi
  ORT_WEB_DIR=${ORT_WEB_DIR:-$(bench/bench_deps.sh | tail -1)}  # apt/npm peers, pinned; idempotent
  export ORT_WEB_DIR
  if [ "$which" != converged ]; then  # converged: native and PyTorch only
    log "wasm build (pthreads) for benchmarks"
    cmake_build build/cmake-wasm-mt emcmake cmake -DWORDLIGHT_WASM_THREADS=ON
  fi
  case $which in
    gemm | all)
      rm -f build/bench/gemm.jsonl
      log "gemm: native"
      build/cmake-native/bench/gemm_bench --out build/bench/gemm.jsonl --threads 1,2
      log "gemm: wasm under node"
      node --no-experimental-fetch build/cmake-wasm-mt/bench/gemm_bench.js --out build/bench/gemm.jsonl --threads 1,2
      node bench/report.mjs build/bench/gemm.jsonl
      ;;&
    explain | all)
      bench/explain.sh
      ;;&
    perturbation | all)
      # Captum's column when CAPTUM_PATH points to a checkout (bench/perturbation.sh);
      # wasm: the pthreads module run with 1 thread
      WASM_DIST=wasm/dist WASM_BUILD=wordlight-simd-threads bench/perturbation.sh
      ;;&
    integrated-hessians | all)
      log "integrated-hessians: ours against PyTorch's double backward"
      rm -f build/bench/integrated_hessians.jsonl
      build/cmake-native/bench/integrated_hessians_bench --model models/sst2-bilstm --words 16,32 --steps 16 \
        --reps 3 --dump build/bench/ih-dump.json | tee -a build/bench/integrated_hessians.jsonl
      /usr/bin/python3 bench/integrated_hessians_torch.py build/bench/ih-dump.json --samples 16,256 --threads 1 |
        tee -a build/bench/integrated_hessians.jsonl
      log "integrated-hessians: wasm under node (pthreads build, 1 thread)"
      node --no-experimental-fetch build/cmake-wasm-mt/bench/integrated_hessians_bench.js --model models/sst2-bilstm \
        --words 16,32 --steps 16 --reps 1 --reference-steps 0 | tee -a build/bench/integrated_hessians.jsonl
      ;;&
    convergence | all)
      log "convergence: the path methods' adaptive defaults against a fixed reference"
      /usr/bin/python3 bench/convergence.py --model models/sst2-bert --method integrated-gradients
      ;;&
    converged | all)
      # issue 20, target 4: Captum runs from a checkout outside the repository (CAPTUM_DIR)
      if [ "$which" = converged ] || [ -n "${CAPTUM_DIR:-${CAPTUM_PATH:-}}" ]; then
        log "converged: adaptive IG (registry defaults) against Captum's default IntegratedGradients"
        rm -f build/bench/converged.jsonl
        /usr/bin/python3 bench/converged_captum.py --bench build/cmake-native/bench/converged_bench \
          --out build/bench/converged.jsonl
      else
        echo "converged: skipped (CAPTUM_DIR is not set to a Captum checkout; see bench/README.md)" >&2
      fi
      ;;&
    wasm-vs-ort | all)
      log "wasm-vs-ort: our wasm forward pass against ONNX Runtime Web"
      cmake_build build/cmake-wasm emcmake cmake
      node --no-experimental-fetch bench/wasm_vs_ort.mjs
      ;;&
    counterfactuals | all)
      bench/counterfactuals.sh
      ;;&
    generate | all)
      log "generate: GPT-2 generation in wasm under node, 1 thread, with and without an explanation"
      cmake_build build/cmake-wasm emcmake cmake
      rm -f build/bench/generate_wasm.jsonl
      node --no-experimental-fetch bench/generate_wasm.mjs --model models/gpt2-small --new 20 \
        --out build/bench/generate_wasm.jsonl
      ;;&
    speed | all)
      # issue 20's tables in one run: per-op profile, forward vs ORT Web, IG, IH, memory, ceilings
      bench/speed_report.sh
      ;;&
    gemm | explain | perturbation | integrated-hessians | convergence | converged | wasm-vs-ort | counterfactuals | generate | speed | all) ;;
    *)
      echo "unknown benchmark '$which' (known: gemm, explain, perturbation, integrated-hessians, convergence, converged, wasm-vs-ort, counterfactuals, generate, speed, scale, all)" >&2
      exit 2
      ;;
  esac
}

# The web page (web/, Vite) into build/web: static files, with the JS API,
# its wasm builds and the shipped models copied next to index.html.
web() {
  log "web page (vite) -> build/web"
  npx vite build --config web/vite.config.mjs --logLevel warn
}

# Builds the wasm module and the page, then serves build/web on localhost
# with the COOP/COEP headers that make it cross-origin isolated (threads).
serve() {
  wasm
  web
  log "serving the page (Ctrl-C stops); PORT=${PORT:-8080}"
  exec npx vite preview --config web/vite.config.mjs --host 127.0.0.1 --port "${PORT:-8080}"
}

# The readers' fuzz targets (tests/fuzz/fuzz_targets.h) as libFuzzer
# binaries with AddressSanitizer and UBSan, each run for FUZZ_SECONDS
# (default 60) from the committed corpus (tests/fuzz/corpus/<target>/, which
# the ctest suite replays) plus a working corpus in build/fuzz/work/; a
# finding lands in build/fuzz/findings/ (the other targets still run; the
# command fails at the end): copy it into tests/fuzz/corpus/<target>/ with
# the fix. Then the readers' own test suites on the same sanitized core, and
# the whole C++ test suite built with ASan/UBSan (build/asan; too slow for
# every `./build.sh test` on two cores).
fuzz() {
  local secs=${1:-${FUZZ_SECONDS:-60}}
  if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    log "installing libFuzzer (libfuzzer-14-dev libclang-rt-14-dev)"
    local SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      libfuzzer-14-dev libclang-rt-14-dev
  fi
  log "fuzz targets (clang, libFuzzer, ASan/UBSan)"
  if [ ! -f build/fuzz/build.ninja ]; then
    cmake -S tests/fuzz -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  fi
  cmake --build build/fuzz -j "$JOBS"
  mkdir -p build/fuzz/findings
  local t failed=()
  for t in safetensors config_json tokenizer_json vocab_txt vocab_json_merges jsonl; do
    log "fuzz_$t for ${secs} s"
    mkdir -p "build/fuzz/work/$t"
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
      "build/fuzz/fuzz_$t" -seed=1 -max_total_time="$secs" -max_len=262144 -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/findings/$t-" "build/fuzz/work/$t" "tests/fuzz/corpus/$t" ||
      failed+=("$t")
  done
  log "the readers' test suites under ASan/UBSan (build/fuzz/reader_tests_asan)"
  cmake --build build/fuzz -j "$JOBS" --target reader_tests_asan
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 build/fuzz/reader_tests_asan
  log "C++ tests under ASan/UBSan (build/asan)"
  if [ ! -f build/asan/build.ninja ]; then
    cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWORDLIGHT_BENCH=OFF \
      -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  fi
  # (the CLI too: ctest runs it in cli_mpi and cli_memory_budget)
  cmake --build build/asan -j "$JOBS" --target wordlight_tests wordlight
  (cd build/asan && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=0 \
    ctest --output-on-failure -j "$JOBS")
  if ((${#failed[@]})); then
    echo "fuzz: findings in ${failed[*]} (inputs in build/fuzz/findings/)" >&2
    exit 1
  fi
}

cmd=${1:-help}
shift || true
case $cmd in
  setup) setup ;;
  native) setup && native ;;
  wasm) setup && wasm ;;
  test) setup && native && wasm && run_tests ;;
  serve) setup && serve ;;
  web) setup && web ;;
  bench) setup && bench "$@" ;;
  fuzz) setup && fuzz "$@" ;;
  help | -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    echo "unknown command '$cmd'" >&2
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
