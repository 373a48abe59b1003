// Max pooling along the sequence: x (B, T, C) -> y (B, T_out, C), windows of
// `window` steps every `stride` steps. The forward saves argmax, the winning
// t of each output (the first one on ties, as PyTorch); the op is then
// piecewise linear, so the tangent gathers dx at the winner, the backward
// scatter-adds gy to the winner, and the backward tangent scatter-adds dgy
// the same way (the second derivative is zero away from ties). A NaN in a
// window wins it, so NaN propagates to the output as in PyTorch.
#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

#include "wordlight/error.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

void check_dims(const char* fn, const PoolDims& d, int K) {
  if (d.B < 0 || d.T < 0 || d.C < 0 || K < 0)
    throw Error(std::string(fn) + ": negative dimension (B=" + std::to_string(d.B) + ", T=" + std::to_string(d.T) +
                ", C=" + std::to_string(d.C) + ", K=" + std::to_string(K) + ")");
  if (d.window < 1)
    throw Error(std::string(fn) + ": window must be at least 1 (got " + std::to_string(d.window) + ")");
  if (d.stride < 1)
    throw Error(std::string(fn) + ": stride must be at least 1 (got " + std::to_string(d.stride) + ")");
  if (d.window > d.T)
    throw Error(std::string(fn) + ": window " + std::to_string(d.window) + " is longer than the sequence (T=" +
                std::to_string(d.T) + ")");
  if (d.T > INT32_MAX) throw Error(std::string(fn) + ": sequence too long for int32 argmax (T=" + std::to_string(d.T) + ")");
}

// Calls fn(src, dst) for every output element: src = the (b, argmax, c)
// offset in x's layout, dst = the (b, t_out, c) offset in y's layout.
template <class Fn>
void for_each_winner(const PoolDims& d, const int32_t* argmax, Fn fn) {
  const int64_t To = d.t_out();
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < To; ++t) {
      const int64_t dst = (b * To + t) * d.C;
      for (int64_t c = 0; c < d.C; ++c) fn((b * d.T + argmax[dst + c]) * d.C + c, dst + c);
    }
}

}  // namespace

// x: (B, T, C); y, argmax: (B, T_out, C)
template <class T>
void maxpool_forward(const PoolDims& d, const T* x, T* y, int32_t* argmax) {
  check_dims("maxpool_forward", d, 1);
  const int64_t To = d.t_out();
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < To; ++t)
      for (int64_t c = 0; c < d.C; ++c) {
        const int64_t t0 = t * d.stride;
        int64_t best_t = t0;
        T best = x[(b * d.T + t0) * d.C + c];
        for (int64_t s = t0 + 1; s < t0 + d.window && !std::isnan(best); ++s) {
          const T v = x[(b * d.T + s) * d.C + c];
          // strictly greater: the first maximum wins; a NaN wins and stays.
          if (v > best || std::isnan(v)) {
            best = v;
            best_t = s;
          }
        }
        const int64_t o = (b * To + t) * d.C + c;
        y[o] = best;
        argmax[o] = static_cast<int32_t>(best_t);
      }
}

// dx: (K, B, T, C) or null; dy: (K, B, T_out, C)
template <class T>
void maxpool_tangent(const PoolDims& d, int K, const int32_t* argmax, const T* dx, T* dy) {
  check_dims("maxpool_tangent", d, K);
  if (!dy) return;
  const int64_t xsz = d.B * d.T * d.C, ysz = d.B * d.t_out() * d.C;
  if (!dx) {
    std::fill(dy, dy + K * ysz, T(0));
    return;
  }
  for (int k = 0; k < K; ++k) {
    const T* dxk = dx + k * xsz;
    T* dyk = dy + k * ysz;
    for_each_winner(d, argmax, [&](int64_t src, int64_t dst) { dyk[dst] = dxk[src]; });
  }
}

// gy: (B, T_out, C); gx: (B, T, C) accumulated
template <class T>
void maxpool_backward(const PoolDims& d, const int32_t* argmax, const T* gy, T* gx) {
  check_dims("maxpool_backward", d, 1);
  if (!gy || !gx) return;
  for_each_winner(d, argmax, [&](int64_t src, int64_t dst) { gx[src] += gy[dst]; });
}

// dgy: (K, B, T_out, C) or null; dgx: (K, B, T, C) accumulated
template <class T>
void maxpool_backward_tangent(const PoolDims& d, int K, const int32_t* argmax, const T* dgy, T* dgx) {
  check_dims("maxpool_backward_tangent", d, K);
  if (!dgy || !dgx) return;
  const int64_t xsz = d.B * d.T * d.C, ysz = d.B * d.t_out() * d.C;
  for (int k = 0; k < K; ++k) {
    const T* dgyk = dgy + k * ysz;
    T* dgxk = dgx + k * xsz;
    for_each_winner(d, argmax, [&](int64_t src, int64_t dst) { dgxk[src] += dgyk[dst]; });
  }
}

#define WL_INSTANTIATE_MAXPOOL(T)                                                                 \
  template void maxpool_forward<T>(const PoolDims&, const T*, T*, int32_t*);                      \
  template void maxpool_tangent<T>(const PoolDims&, int, const int32_t*, const T*, T*);           \
  template void maxpool_backward<T>(const PoolDims&, const int32_t*, const T*, T*);               \
  template void maxpool_backward_tangent<T>(const PoolDims&, int, const int32_t*, const T*, T*);
WL_INSTANTIATE_MAXPOOL(float)
WL_INSTANTIATE_MAXPOOL(double)
#undef WL_INSTANTIATE_MAXPOOL

}  // namespace wordlight::ops
