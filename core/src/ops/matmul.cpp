// Batched matmul C = op(A) op(B) with transpose flags, its tangent, backward
// and backward tangent. The product is bilinear, so every derivative is a
// sum of products of the same form with one factor swapped for a tangent or
// a cotangent:
//   dC  = op(dA) op(B) + op(A) op(dB)
//   gA  += gC op(B)^T        (stored transposed when trans_a)
//   gB  += op(A)^T gC        (stored transposed when trans_b)
//   dgA += dgC op(B)^T + gC op(dB)^T,  dgB += op(A)^T dgC + op(dA)^T gC.
#include <climits>
#include <cstring>
#include <string>

#include "wordlight/error.h"
#include "wordlight/op_profile.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

// Sizes and leading dimensions of one batch item, as stored.
struct Item {
  int64_t a, b, c;   // elements per item of A, B, C
  int lda, ldb, ldc; // row strides of A, B, C as stored
};

Item item_of(const MatmulDims& d) {
  return {d.M * d.K, d.K * d.N, d.M * d.N, static_cast<int>(d.trans_a ? d.M : d.K),
          static_cast<int>(d.trans_b ? d.K : d.N), static_cast<int>(d.N)};
}

void check_dims(const char* fn, const MatmulDims& d, int Kdir) {
  if (d.batch < 0 || d.M < 0 || d.N < 0 || d.K < 0 || Kdir < 0)
    throw Error(std::string(fn) + ": negative dimension (batch=" + std::to_string(d.batch) +
                ", M=" + std::to_string(d.M) + ", N=" + std::to_string(d.N) + ", K=" + std::to_string(d.K) +
                ", directions=" + std::to_string(Kdir) + ")");
  const int64_t stacked = d.M * (Kdir > 0 ? Kdir : 1);
  if (stacked > INT_MAX || d.N > INT_MAX || d.K > INT_MAX)
    throw Error(std::string(fn) + ": dimensions too large for GEMM (M=" + std::to_string(d.M) +
                ", N=" + std::to_string(d.N) + ", K=" + std::to_string(d.K) + ")");
}

// C (rows, N) = beta C + op(A) op(B) for one item; `rows` is M, or a multiple
// of M when A holds several items stacked (non-transposed A only).
template <class T>
void product(Backend be, const MatmulDims& d, const Item& it, int64_t rows, const T* A, const T* B, T beta, T* C) {
  gemm<T>(be, d.trans_a, d.trans_b, static_cast<int>(rows), static_cast<int>(d.N), static_cast<int>(d.K), T(1), A,
          it.lda, B, it.ldb, beta, C, it.ldc);
}

// gA += gC op(B)^T for one item, in A's stored layout:
//   A (M, K):  gA += gC (M, N) op(B)^T (N, K)
//   A (K, M):  gA += op(B) (K, N) gC^T (N, M)
template <class T>
void grad_a(Backend be, const MatmulDims& d, const Item& it, int64_t rows, const T* gC, const T* B, T* gA) {
  const int M = static_cast<int>(d.M), N = static_cast<int>(d.N), K = static_cast<int>(d.K);
  if (!d.trans_a)
    gemm<T>(be, false, !d.trans_b, static_cast<int>(rows), K, N, T(1), gC, it.ldc, B, it.ldb, T(1), gA, it.lda);
  else
    gemm<T>(be, d.trans_b, true, K, M, N, T(1), B, it.ldb, gC, it.ldc, T(1), gA, it.lda);
}

// gB += op(A)^T gC for one item, in B's stored layout:
//   B (K, N):  gB += op(A)^T (K, M) gC (M, N)
//   B (N, K):  gB += gC^T (N, M) op(A) (M, K)
template <class T>
void grad_b(Backend be, const MatmulDims& d, const Item& it, const T* A, const T* gC, T* gB) {
  const int M = static_cast<int>(d.M), N = static_cast<int>(d.N), K = static_cast<int>(d.K);
  if (!d.trans_b)
    gemm<T>(be, !d.trans_a, false, K, N, M, T(1), A, it.lda, gC, it.ldc, T(1), gB, it.ldb);
  else
    gemm<T>(be, true, d.trans_a, N, K, M, T(1), gC, it.ldc, A, it.lda, T(1), gB, it.ldb);
}

// With one batch item and A not transposed, the K directions of a stacked
// left operand (Kdir, M, .) form one (Kdir*M, .) matrix: one GEMM for all.
bool stack_directions(const MatmulDims& d) { return d.batch == 1 && !d.trans_a; }

}  // namespace

template <class T>
void matmul_forward(Backend be, const MatmulDims& d, const T* A, const T* B, T* C) {
  OpScope prof("matmul.fwd", 2.0 * d.batch * d.M * d.N * d.K, d.batch * d.M, d.K, d.N);
  check_dims("matmul_forward", d, 1);
  const Item it = item_of(d);
  for (int64_t i = 0; i < d.batch; ++i) product(be, d, it, d.M, A + i * it.a, B + i * it.b, T(0), C + i * it.c);
}

template <class T>
void matmul_tangent(Backend be, const MatmulDims& d, int Kdir, const T* A, const T* B, const T* dA, const T* dB,
                    T* dC) {
  OpScope prof("matmul.tangent", 4.0 * Kdir * d.batch * d.M * d.N * d.K, Kdir * d.batch * d.M, d.K, d.N);
  check_dims("matmul_tangent", d, Kdir);
  if (!dC) return;
  const Item it = item_of(d);
  const int64_t n_items = int64_t(Kdir) * d.batch;  // (direction, batch) pairs, k-major
  // dC = op(dA) op(B)
  if (dA && stack_directions(d)) {
    product(be, d, it, int64_t(Kdir) * d.M, dA, B, T(0), dC);
  } else if (dA) {
    for (int64_t n = 0; n < n_items; ++n)
      product(be, d, it, d.M, dA + n * it.a, B + (n % d.batch) * it.b, T(0), dC + n * it.c);
  } else {
    std::memset(dC, 0, sizeof(T) * static_cast<size_t>(n_items * it.c));
  }
  // dC += op(A) op(dB)
  if (dB)
    for (int64_t n = 0; n < n_items; ++n)
      product(be, d, it, d.M, A + (n % d.batch) * it.a, dB + n * it.b, T(1), dC + n * it.c);
}

template <class T>
void matmul_backward(Backend be, const MatmulDims& d, const T* A, const T* B, const T* gC, T* gA, T* gB) {
  OpScope prof("matmul.bwd", 4.0 * d.batch * d.M * d.N * d.K, d.batch * d.M, d.K, d.N);
  check_dims("matmul_backward", d, 1);
  if (!gC) return;
  const Item it = item_of(d);
  for (int64_t i = 0; i < d.batch; ++i) {
    if (gA) grad_a(be, d, it, d.M, gC + i * it.c, B + i * it.b, gA + i * it.a);
    if (gB) grad_b(be, d, it, A + i * it.a, gC + i * it.c, gB + i * it.b);
  }
}

template <class T>
void matmul_backward_tangent(Backend be, const MatmulDims& d, int Kdir, const T* A, const T* B, const T* dA,
                             const T* dB, const T* gC, const T* dgC, T* dgA, T* dgB) {
  OpScope prof("matmul.bwd_tangent", 8.0 * Kdir * d.batch * d.M * d.N * d.K, Kdir * d.batch * d.M, d.K, d.N);
  check_dims("matmul_backward_tangent", d, Kdir);
  const Item it = item_of(d);
  const int64_t n_items = int64_t(Kdir) * d.batch;
  // dgA += dgC op(B)^T
  if (dgA && dgC) {
    if (stack_directions(d))
      grad_a(be, d, it, int64_t(Kdir) * d.M, dgC, B, dgA);
    else
      for (int64_t n = 0; n < n_items; ++n)
        grad_a(be, d, it, d.M, dgC + n * it.c, B + (n % d.batch) * it.b, dgA + n * it.a);
  }
  for (int64_t n = 0; n < n_items; ++n) {
    const int64_t i = n % d.batch;
    if (dgA && gC && dB) grad_a(be, d, it, d.M, gC + i * it.c, dB + n * it.b, dgA + n * it.a);  // gC op(dB)^T
    if (dgB && dgC) grad_b(be, d, it, A + i * it.a, dgC + n * it.c, dgB + n * it.b);          // op(A)^T dgC
    if (dgB && gC && dA) grad_b(be, d, it, dA + n * it.a, gC + i * it.c, dgB + n * it.b);      // op(dA)^T gC
  }
}

#define WL_INSTANTIATE_MATMUL(T)                                                                                  \
  template void matmul_forward<T>(Backend, const MatmulDims&, const T*, const T*, T*);                            \
  template void matmul_tangent<T>(Backend, const MatmulDims&, int, const T*, const T*, const T*, const T*, T*);   \
  template void matmul_backward<T>(Backend, const MatmulDims&, const T*, const T*, const T*, T*, T*);             \
  template void matmul_backward_tangent<T>(Backend, const MatmulDims&, int, const T*, const T*, const T*,         \
                                           const T*, const T*, const T*, T*, T*);
WL_INSTANTIATE_MATMUL(float)
WL_INSTANTIATE_MATMUL(double)
#undef WL_INSTANTIATE_MATMUL

}  // namespace wordlight::ops
