#!/usr/bin/env bash
# What the benchmarks' peers need, installed when missing (idempotent; run
# by `./build.sh bench` and bench/speed_report.sh):
#   apt: python3-torch (torch_ig.py, integrated_hessians_torch.py,
#        bert_to_onnx.py), python3-onnx (bert_to_onnx.py: the ONNX file ORT
#        runs), libopenblas0-openmp (torch's GEMMs on its own OpenMP threads;
#        torch_ig.py prefers it), python3-matplotlib python3-tqdm
#        python3-packaging (what `import captum.attr` loads: Captum itself runs
#        from a checkout outside the repository, CAPTUM_DIR; converged_captum.py)
#   npm: onnxruntime-web, pinned to ORT_VERSION (default 1.30.0, the version
#        issue 20 measured), into build/bench/npm-ort (not the repository's
#        node_modules: the bench's peer is not a dependency of the package);
#        bench/wasm_vs_ort.mjs reads it from ORT_WEB_DIR.
# Prints the ORT_WEB_DIR to use on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION=${ORT_VERSION:-1.30.0}
missing=()
for p in python3-torch python3-onnx libopenblas0-openmp python3-matplotlib python3-tqdm python3-packaging; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]} (apt)" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"; } >/dev/null
fi
ORT_DIR=build/bench/npm-ort
have=$(node -p "try { require('./$ORT_DIR/node_modules/onnxruntime-web/package.json').version } catch (e) { '' }")
if [ "$have" != "$ORT_VERSION" ]; then
  echo "bench: installing onnxruntime-web@$ORT_VERSION into $ORT_DIR (npm)" >&2
  mkdir -p "$ORT_DIR"
  [ -f "$ORT_DIR/package.json" ] || echo '{"private": true}' >"$ORT_DIR/package.json"
  (cd "$ORT_DIR" && npm install --no-audit --no-fund --save-exact "onnxruntime-web@$ORT_VERSION" >/dev/null)
fi
echo "$ORT_DIR"
