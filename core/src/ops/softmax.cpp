// Softmax and log-softmax over the last dimension, row by row.
//
// With p = softmax(x) per row, <u, v> the row dot product and 1 the ones row:
//   softmax      y = p              dy = y (dx - <y, dx>)
//                gx += y (gy - <y, gy>)
//                dgx += dy (gy - <y, gy>) + y (dgy - <dy, gy> - <y, dgy>)
//   log-softmax  y = x - max - log sum exp(x - max)
//                dy = dx - <p, dx>  with p = exp(y)
//                gx += gy - p S,   S = sum gy
//                dgx += dgy - dp S - p sum dgy,  dp = p (dx - <p, dx>)
// Only y is saved: everything above is a function of y.
//
// Backend::fast (float) uses fast_math's exp and its 8-lane reductions; the
// reference uses std::exp and sums in double.
#include <cmath>
#include <string>
#include <vector>

#include "fast_math.h"
#include "row_scratch.h"
#include "wordlight/error.h"
#include "wordlight/op_profile.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

namespace fm = fast_math;

void check_dims(const char* fn, int64_t R, int64_t C) {
  if (R < 0 || C < 1)
    throw Error(std::string(fn) + ": need R >= 0 rows and C >= 1 columns, got (R, C) = (" + std::to_string(R) +
                ", " + std::to_string(C) + ")");
}

}  // namespace

// x, y: (R, C)
template <class T>
void softmax_forward(Backend be, bool log, int64_t R, int64_t C, const T* x, T* y) {
  OpScope prof("softmax.fwd", 0, R, C);
  check_dims(log ? "log_softmax_forward" : "softmax_forward", R, C);
  if (!y) return;
  T* e = scratch<T>(0, C);
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    const T m = fm::row_max(be, C, xr);  // subtracting the max keeps exp <= 1
    fm::row_exp_shifted(be, C, xr, m, e);
    const double s = fm::row_sum(be, C, e);
    if (log) {
      // (x - m) - log s, not x - (m + log s): with large logits the sum
      // m + log s would round away the digits of log s.
      const T lse = static_cast<T>(std::log(s));
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - m) - lse;
    } else {
      const T inv = static_cast<T>(1.0 / s);
      for (int64_t c = 0; c < C; ++c) yr[c] = e[c] * inv;
    }
  }
}

// y: (R, C); dx, dy: (K, R, C)
template <class T>
void softmax_tangent(Backend be, bool log, int64_t R, int64_t C, int K, const T* y, const T* dx, T* dy) {
  OpScope prof("softmax.tangent", 0, int64_t(K) * R, C);
  check_dims(log ? "log_softmax_tangent" : "softmax_tangent", R, C);
  if (!dy) return;
  const int64_t n = R * C;
  if (!dx) {
    for (int64_t i = 0; i < K * n; ++i) dy[i] = T(0);
    return;
  }
  T* p = scratch<T>(0, C);
  for (int64_t r = 0; r < R; ++r) {
    const T* yr = y + r * C;
    if (log) fm::row_exp_shifted(be, C, yr, T(0), p);
    const T* prob = log ? p : yr;
    for (int k = 0; k < K; ++k) {
      const T* dxr = dx + k * n + r * C;
      T* dyr = dy + k * n + r * C;
      const T mean = static_cast<T>(fm::row_dot(be, C, prob, dxr));  // <p, dx>
      if (log)
        for (int64_t c = 0; c < C; ++c) dyr[c] = dxr[c] - mean;
      else
        for (int64_t c = 0; c < C; ++c) dyr[c] = yr[c] * (dxr[c] - mean);
    }
  }
}

// y, gy, gx: (R, C)
template <class T>
void softmax_backward(Backend be, bool log, int64_t R, int64_t C, const T* y, const T* gy, T* gx) {
  OpScope prof("softmax.bwd", 0, R, C);
  check_dims(log ? "log_softmax_backward" : "softmax_backward", R, C);
  if (!gx || !gy) return;
  T* p = scratch<T>(0, C);
  for (int64_t r = 0; r < R; ++r) {
    const T* yr = y + r * C;
    const T* g = gy + r * C;
    T* out = gx + r * C;
    if (log) {
      fm::row_exp_shifted(be, C, yr, T(0), p);
      const T s = static_cast<T>(fm::row_sum(be, C, g));
      for (int64_t c = 0; c < C; ++c) out[c] += g[c] - p[c] * s;
    } else {
      const T s = static_cast<T>(fm::row_dot(be, C, yr, g));
      for (int64_t c = 0; c < C; ++c) out[c] += yr[c] * (g[c] - s);
    }
  }
}

// y, gy: (R, C); dx, dgy, dgx: (K, R, C)
template <class T>
void softmax_backward_tangent(Backend be, bool log, int64_t R, int64_t C, int K, const T* y, const T* dx,
                              const T* gy, const T* dgy, T* dgx) {
  OpScope prof("softmax.bwd_tangent", 0, int64_t(K) * R, C);
  check_dims(log ? "log_softmax_backward_tangent" : "softmax_backward_tangent", R, C);
  if (!dgx) return;
  const int64_t n = R * C;
  T* p = scratch<T>(0, C);   // probabilities (log-softmax only)
  T* dp = scratch<T>(1, C);  // tangent of the probabilities along dx_k
  for (int64_t r = 0; r < R; ++r) {
    const T* yr = y + r * C;
    const T* g = gy ? gy + r * C : nullptr;
    if (log) fm::row_exp_shifted(be, C, yr, T(0), p);
    const T* prob = log ? p : yr;
    // Row constants of the primal backward: S = sum gy (log), s = <y, gy> (softmax).
    const T s = !g ? T(0) : static_cast<T>(log ? fm::row_sum(be, C, g) : fm::row_dot(be, C, yr, g));
    for (int k = 0; k < K; ++k) {
      const T* dxr = dx ? dx + k * n + r * C : nullptr;
      const T* dg = dgy ? dgy + k * n + r * C : nullptr;
      T* out = dgx + k * n + r * C;
      // dp = p (dx - <p, dx>), the tangent of the probabilities.
      if (dxr && g) {
        const T mean = static_cast<T>(fm::row_dot(be, C, prob, dxr));
        for (int64_t c = 0; c < C; ++c) dp[c] = prob[c] * (dxr[c] - mean);
      }
      if (log) {
        // dgx = dgy - dp S - p sum dgy
        if (dxr && g)
          for (int64_t c = 0; c < C; ++c) out[c] -= dp[c] * s;
        if (dg) {
          const T sd = static_cast<T>(fm::row_sum(be, C, dg));
          for (int64_t c = 0; c < C; ++c) out[c] += dg[c] - p[c] * sd;
        }
      } else {
        // dgx = dy (gy - s) + y (dgy - ds),  ds = <dy, gy> + <y, dgy>
        T ds = 0;
        if (dxr && g) {
          ds += static_cast<T>(fm::row_dot(be, C, dp, g));
          for (int64_t c = 0; c < C; ++c) out[c] += dp[c] * (g[c] - s);
        }
        if (dg) {
          ds += static_cast<T>(fm::row_dot(be, C, yr, dg));
          for (int64_t c = 0; c < C; ++c) out[c] += yr[c] * dg[c];
        }
        for (int64_t c = 0; c < C; ++c) out[c] -= yr[c] * ds;
      }
    }
  }
}

#define WL_INSTANTIATE(T)                                                                                    \
  template void softmax_forward<T>(Backend, bool, int64_t, int64_t, const T*, T*);                           \
  template void softmax_tangent<T>(Backend, bool, int64_t, int64_t, int, const T*, const T*, T*);            \
  template void softmax_backward<T>(Backend, bool, int64_t, int64_t, const T*, const T*, T*);                \
  template void softmax_backward_tangent<T>(Backend, bool, int64_t, int64_t, int, const T*, const T*,        \
                                            const T*, const T*, T*);
WL_INSTANTIATE(float)
WL_INSTANTIATE(double)
#undef WL_INSTANTIATE

}  // namespace wordlight::ops
