#pragma once
// Dense single-precision GEMM, the op that carries the work.
//   C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C
// row-major, leading dimensions in elements. op(X) = X or X^T.
//
// Three implementations, same contract:
//   gemm_reference  plain triple loop (also templated for double), the oracle
//   gemm_fast       natively: OpenBLAS cblas_sgemm; in wasm: our register-
//                   blocked SIMD128 micro-kernel, packing B on the fly
//   gemm_packed     B packed once (weights at model load), then many calls
#include <cstddef>
#include <vector>

#include "wordlight/backend.h"

namespace wordlight {

template <class T>
void gemm_reference(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda,
                    const T* B, int ldb, T beta, T* C, int ldc);

void gemm_fast(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc);

// Dispatch: float + Backend::fast -> gemm_fast; everything else -> reference.
template <class T>
void gemm(Backend be, bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda,
          const T* B, int ldb, T beta, T* C, int ldc);

// op(B) (K x N) packed once into the layout the micro-kernel streams. Natively
// (OpenBLAS) it keeps a plain row-major copy of op(B).
struct PackedB {
  int K = 0, N = 0;
  std::vector<float> data;
};
PackedB pack_b(bool trans_b, int K, int N, const float* B, int ldb);
// C (M x N) = alpha * op(A) * Bpacked + beta * C
void gemm_packed(bool trans_a, int M, float alpha, const float* A, int lda, const PackedB& B, float beta,
                 float* C, int ldc);

// A linear layer's weight w (O x I) packed for both directions it is used in:
//   forward  y = x w^T  -> nt = pack of w^T (I x O)
//   backward gx = gy w  -> nn = pack of w   (O x I)
struct PackedLinear {
  PackedB nt, nn;
};
PackedLinear pack_linear(int O, int I, const float* w);

// Name of the fast implementation the calling thread uses ("openblas",
// "wasm-simd128", "wasm-relaxed-simd": the relaxed-SIMD kernel, see below).
const char* gemm_fast_name();

// wasm only: the relaxed-SIMD kernel (core/src/ops/wasm_relaxed/, f32x4
// fused multiply-add) replaces the SIMD128 micro-kernel on every thread whose
// JS engine validates it, unless turned off here (on by default). Its sums
// round once per multiply-add where the CPU has FMA, so results can differ
// from the SIMD128 kernel's in the last bits. set_gemm_relaxed returns the
// previous setting; gemm_relaxed_active says whether the calling thread
// uses it now (false natively and in builds without the kernel);
// gemm_relaxed_status says why not, or "active".
bool set_gemm_relaxed(bool on);
bool gemm_relaxed_active();
const char* gemm_relaxed_status();

}  // namespace wordlight
