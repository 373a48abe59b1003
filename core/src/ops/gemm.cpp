// GEMM: the scalar reference, the dispatch, and the native fast path
// (OpenBLAS). The wasm fast path lives in gemm_wasm_simd.cpp.
#include "wordlight/gemm.h"

#include <string>

#include "wordlight/error.h"
#include "wordlight/thread_pool.h"

#ifdef WORDLIGHT_OPENBLAS
#include <cblas.h>
#endif

namespace wordlight {

template <class T>
void gemm_reference(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
                    int ldb, T beta, T* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      // Accumulate in double so the reference is a good oracle for float.
      double acc = 0;
      for (int p = 0; p < K; ++p) {
        T a = trans_a ? A[static_cast<size_t>(p) * lda + i] : A[static_cast<size_t>(i) * lda + p];
        T b = trans_b ? B[static_cast<size_t>(j) * ldb + p] : B[static_cast<size_t>(p) * ldb + j];
        acc += static_cast<double>(a) * static_cast<double>(b);
      }
      T& c = C[static_cast<size_t>(i) * ldc + j];
      // beta == 0 must ignore C (it may hold NaN garbage), as BLAS does.
      c = static_cast<T>(alpha * acc + (beta == T(0) ? T(0) : beta * c));
    }
  }
}
template void gemm_reference<float>(bool, bool, int, int, int, float, const float*, int, const float*, int, float,
                                    float*, int);
template void gemm_reference<double>(bool, bool, int, int, int, double, const double*, int, const double*, int,
                                     double, double*, int);

template <>
void gemm<float>(Backend be, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  if (be == Backend::fast)
    gemm_fast(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    gemm_reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
template <>
void gemm<double>(Backend, bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda,
                  const double* B, int ldb, double beta, double* C, int ldc) {
  if (M == 0 || N == 0) return;
  gemm_reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#ifdef WORDLIGHT_OPENBLAS
void gemm_fast(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
  // The default pool sets OpenBLAS's thread count when it is created; make
  // sure that happened before the first GEMM (else OpenBLAS uses every core).
  static const bool pool_ready = (default_pool(), true);
  (void)pool_ready;
  if (M == 0 || N == 0) return;
  if (K == 0) {  // OpenBLAS handles it, but be explicit about beta == 0
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) {
        float& c = C[static_cast<size_t>(i) * ldc + j];
        c = beta == 0.f ? 0.f : beta * c;
      }
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}

PackedB pack_b(bool trans_b, int K, int N, const float* B, int ldb) {
  // OpenBLAS packs internally on every call and has no persistent packing
  // API; keep op(B) as a contiguous row-major (K x N) copy.
  PackedB p;
  p.K = K;
  p.N = N;
  p.data.resize(static_cast<size_t>(K) * N);
  for (int k = 0; k < K; ++k)
    for (int n = 0; n < N; ++n)
      p.data[static_cast<size_t>(k) * N + n] =
          trans_b ? B[static_cast<size_t>(n) * ldb + k] : B[static_cast<size_t>(k) * ldb + n];
  return p;
}

void gemm_packed(bool trans_a, int M, float alpha, const float* A, int lda, const PackedB& B, float beta, float* C,
                 int ldc) {
  gemm_fast(trans_a, false, M, B.N, B.K, alpha, A, lda, B.data.data(), B.N, beta, C, ldc);
}

const char* gemm_fast_name() { return "openblas"; }
#endif

#ifndef __EMSCRIPTEN__
// The relaxed-SIMD kernel is wasm's (gemm_wasm_simd.cpp).
bool set_gemm_relaxed(bool) { return false; }
bool gemm_relaxed_active() { return false; }
const char* gemm_relaxed_status() { return "native build (the relaxed-SIMD kernel is wasm's)"; }
#endif

PackedLinear pack_linear(int O, int I, const float* w) {
  PackedLinear p;
  p.nt = pack_b(true, I, O, w, I);   // w^T: (I x O)
  p.nn = pack_b(false, O, I, w, I);  // w:   (O x I)
  return p;
}

}  // namespace wordlight
