// Embedding lookup y[r, :] = table[ids[r], :]. Linear in the table, so the
// tangent is the same gather applied to each direction of dtable, the
// backward is a scatter-add of rows, and the backward tangent is the same
// scatter-add applied to each direction of dgy (it does not depend on
// dtable: the second derivative is zero).
#include <algorithm>
#include <cstring>
#include <string>

#include "wordlight/error.h"
#include "wordlight/op_profile.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

// Every id must lie in [0, V): checked before anything is read or written,
// so a bad id never touches memory outside the table.
void check_ids(const char* fn, int64_t n, const int32_t* ids, int64_t V, int64_t D, int K) {
  if (n < 0 || V < 0 || D < 0 || K < 0)
    throw Error(std::string(fn) + ": negative dimension (n=" + std::to_string(n) + ", V=" + std::to_string(V) +
                ", D=" + std::to_string(D) + ", K=" + std::to_string(K) + ")");
  for (int64_t r = 0; r < n; ++r)
    if (ids[r] < 0 || ids[r] >= V)
      throw Error(std::string(fn) + ": id " + std::to_string(ids[r]) + " at position " + std::to_string(r) +
                  " is outside the vocabulary [0, " + std::to_string(V) + ")");
}

// y (n, D) = rows ids of table (V, D)
template <class T>
void gather_rows(int64_t n, const int32_t* ids, int64_t D, const T* table, T* y) {
  for (int64_t r = 0; r < n; ++r) std::copy(table + ids[r] * D, table + (ids[r] + 1) * D, y + r * D);
}

// table (V, D) rows ids += g (n, D); repeated ids add up.
template <class T>
void scatter_add_rows(int64_t n, const int32_t* ids, int64_t D, const T* g, T* table) {
  for (int64_t r = 0; r < n; ++r) {
    T* dst = table + ids[r] * D;
    const T* src = g + r * D;
    for (int64_t j = 0; j < D; ++j) dst[j] += src[j];
  }
}

}  // namespace

template <class T>
void embedding_forward(int64_t n, const int32_t* ids, int64_t V, int64_t D, const T* table, T* y) {
  OpScope prof("embedding.fwd", 0, n, D);
  check_ids("embedding_forward", n, ids, V, D, 1);
  gather_rows(n, ids, D, table, y);
}

// dtable: (K, V, D) or null; dy: (K, n, D)
template <class T>
void embedding_tangent(int64_t n, const int32_t* ids, int64_t V, int64_t D, int K, const T* dtable, T* dy) {
  OpScope prof("embedding.tangent", 0, int64_t(K) * n, D);
  check_ids("embedding_tangent", n, ids, V, D, K);
  if (!dy) return;
  if (!dtable) {
    std::memset(dy, 0, sizeof(T) * static_cast<size_t>(int64_t(K) * n * D));
    return;
  }
  for (int k = 0; k < K; ++k) gather_rows(n, ids, D, dtable + k * V * D, dy + k * n * D);
}

// gy: (n, D), gtable: (V, D)
template <class T>
void embedding_backward(int64_t n, const int32_t* ids, int64_t V, int64_t D, const T* gy, T* gtable) {
  OpScope prof("embedding.bwd", 0, n, D);
  check_ids("embedding_backward", n, ids, V, D, 1);
  if (!gy || !gtable) return;
  scatter_add_rows(n, ids, D, gy, gtable);
}

// dgy: (K, n, D) or null, dgtable: (K, V, D)
template <class T>
void embedding_backward_tangent(int64_t n, const int32_t* ids, int64_t V, int64_t D, int K, const T* dgy,
                                T* dgtable) {
  OpScope prof("embedding.bwd_tangent", 0, int64_t(K) * n, D);
  check_ids("embedding_backward_tangent", n, ids, V, D, K);
  if (!dgy || !dgtable) return;
  for (int k = 0; k < K; ++k) scatter_add_rows(n, ids, D, dgy + k * n * D, dgtable + k * V * D);
}

#define WL_INSTANTIATE_EMBEDDING(T)                                                                           \
  template void embedding_forward<T>(int64_t, const int32_t*, int64_t, int64_t, const T*, T*);                \
  template void embedding_tangent<T>(int64_t, const int32_t*, int64_t, int64_t, int, const T*, T*);           \
  template void embedding_backward<T>(int64_t, const int32_t*, int64_t, int64_t, const T*, T*);               \
  template void embedding_backward_tangent<T>(int64_t, const int32_t*, int64_t, int64_t, int, const T*, T*);
WL_INSTANTIATE_EMBEDDING(float)
WL_INSTANTIATE_EMBEDDING(double)
#undef WL_INSTANTIATE_EMBEDDING

}  // namespace wordlight::ops
