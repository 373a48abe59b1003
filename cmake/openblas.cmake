# OpenBLAS, the native GEMM path (the core has no portable fallback outside
# wasm): CBLAS_INCLUDE_DIR and OPENBLAS_LIB, or a fatal error saying how to
# install it. Included by the main build and tests/fuzz.
# Pin the pthread variant (Debian can also have the OpenMP one installed as
# the default alternative, for torch): CMake's build RPATH then makes the
# binaries load this exact library.
find_path(CBLAS_INCLUDE_DIR cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread NO_DEFAULT_PATH)
find_library(OPENBLAS_LIB NAMES openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread NO_DEFAULT_PATH)
if(NOT OPENBLAS_LIB OR NOT CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "OpenBLAS not found: run ./build.sh setup (installs libopenblas-dev)")
endif()
