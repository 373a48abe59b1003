// LayerNorm over the last dimension (biased variance, as PyTorch):
//   xhat = (x - mean) rstd,  rstd = 1 / sqrt(var + eps),  y = xhat gamma + beta.
// Per row, with m(.) the mean over the C columns:
//   tangent   dxhat = rstd (dx - m(dx) - xhat m(xhat dx)),  drstd = -rstd^2 m(xhat dx)
//             dy = dxhat gamma + xhat dgamma + dbeta
//   backward  a = gy gamma,  gx += rstd (a - m(a) - xhat m(a xhat)),
//             ggamma += sum_rows gy xhat,  gbeta += sum_rows gy
//   backward tangent: the exact differential of the backward along
//             (dx, dgamma, dgy), with da = dgy gamma + gy dgamma:
//             dgx += drstd (a - m(a) - xhat m(a xhat))
//                  + rstd (da - m(da) - dxhat m(a xhat) - xhat (m(da xhat) + m(a dxhat)))
//             dggamma += sum_rows dgy xhat + gy dxhat,  dgbeta += sum_rows dgy
// beta enters neither backward, so it has no tangent input there.
//
// The loops are plain element-wise passes; Backend::fast differs from the
// reference only in the row reductions (8-lane float partial sums in place
// of double sums).
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

template <class T>
void check_args(const char* fn, int64_t R, int64_t C, T eps) {
  if (R < 0 || C < 1)
    throw Error(std::string(fn) + ": need R >= 0 rows and C >= 1 columns, got (R, C) = (" + std::to_string(R) +
                ", " + std::to_string(C) + ")");
  if (!(eps >= T(0)))
    throw Error(std::string(fn) + ": eps must be >= 0, got " + std::to_string(static_cast<double>(eps)));
}

// xhat = (x - mean) rstd   x, xhat: (C)
template <class T>
void normalise_row(int64_t C, const T* x, T mean, T rstd, T* xhat) {
  for (int64_t c = 0; c < C; ++c) xhat[c] = (x[c] - mean) * rstd;
}

// dxhat = rstd (dx - m(dx) - xhat m(xhat dx)); returns m(xhat dx).
// xhat, dx, dxhat: (C)
template <class T>
T normalise_tangent_row(Backend be, int64_t C, const T* xhat, T rstd, const T* dx, T* dxhat) {
  const T inv_c = T(1) / static_cast<T>(C);
  const T mdx = static_cast<T>(fm::row_sum(be, C, dx)) * inv_c;
  const T mxd = static_cast<T>(fm::row_dot(be, C, xhat, dx)) * inv_c;
  for (int64_t c = 0; c < C; ++c) dxhat[c] = rstd * (dx[c] - mdx - xhat[c] * mxd);
  return mxd;
}

}  // namespace

// x, y: (R, C); gamma: (C); beta: (C) or null; mean, rstd: (R) or null
template <class T>
void layernorm_forward(Backend be, int64_t R, int64_t C, T eps, const T* x, const T* gamma, const T* beta, T* y,
                       T* mean, T* rstd) {
  OpScope prof("layernorm.fwd", 0, R, C);
  check_args("layernorm_forward", R, C, eps);
  T* xc = scratch<T>(0, C);
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    // Two passes (mean, then the centred sum of squares): no cancellation
    // for rows with a large mean.
    const T mu = static_cast<T>(fm::row_sum(be, C, xr) / static_cast<double>(C));
    for (int64_t c = 0; c < C; ++c) xc[c] = xr[c] - mu;
    const double var = fm::row_dot(be, C, xc, xc) / static_cast<double>(C);
    const T rs = static_cast<T>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    if (mean) mean[r] = mu;
    if (rstd) rstd[r] = rs;
    if (!y) continue;
    T* yr = y + r * C;
    if (beta)
      for (int64_t c = 0; c < C; ++c) yr[c] = xc[c] * rs * gamma[c] + beta[c];
    else
      for (int64_t c = 0; c < C; ++c) yr[c] = xc[c] * rs * gamma[c];
  }
}

// x: (R, C); gamma: (C); mean, rstd: (R); dx, dy: (K, R, C); dgamma, dbeta: (K, C) or null
template <class T>
void layernorm_tangent(Backend be, int64_t R, int64_t C, int K, const T* x, const T* gamma, const T* mean,
                       const T* rstd, const T* dx, const T* dgamma, const T* dbeta, T* dy) {
  OpScope prof("layernorm.tangent", 0, int64_t(K) * R, C);
  check_args("layernorm_tangent", R, C, T(0));
  if (!dy) return;
  const int64_t n = R * C;
  T* xhat = scratch<T>(0, C);
  T* dxhat = scratch<T>(1, C);
  for (int64_t r = 0; r < R; ++r) {
    normalise_row(C, x + r * C, mean[r], rstd[r], xhat);
    for (int k = 0; k < K; ++k) {
      T* out = dy + k * n + r * C;
      if (dx) {
        normalise_tangent_row(be, C, xhat, rstd[r], dx + k * n + r * C, dxhat);
        for (int64_t c = 0; c < C; ++c) out[c] = dxhat[c] * gamma[c];
      } else {
        for (int64_t c = 0; c < C; ++c) out[c] = T(0);
      }
      if (dgamma) {
        const T* dg = dgamma + k * C;
        for (int64_t c = 0; c < C; ++c) out[c] += xhat[c] * dg[c];
      }
      if (dbeta) {
        const T* db = dbeta + k * C;
        for (int64_t c = 0; c < C; ++c) out[c] += db[c];
      }
    }
  }
}

// x, gy, gx: (R, C); gamma, ggamma, gbeta: (C); mean, rstd: (R)
template <class T>
void layernorm_backward(Backend be, int64_t R, int64_t C, const T* x, const T* gamma, const T* mean, const T* rstd,
                        const T* gy, T* gx, T* ggamma, T* gbeta) {
  OpScope prof("layernorm.bwd", 0, R, C);
  check_args("layernorm_backward", R, C, T(0));
  if (!gy) return;
  const T inv_c = T(1) / static_cast<T>(C);
  T* xhat = scratch<T>(0, C);
  T* a = scratch<T>(1, C);
  for (int64_t r = 0; r < R; ++r) {
    const T* g = gy + r * C;
    normalise_row(C, x + r * C, mean[r], rstd[r], xhat);
    if (ggamma)
      for (int64_t c = 0; c < C; ++c) ggamma[c] += g[c] * xhat[c];
    if (gbeta)
      for (int64_t c = 0; c < C; ++c) gbeta[c] += g[c];
    if (!gx) continue;
    for (int64_t c = 0; c < C; ++c) a[c] = g[c] * gamma[c];
    const T m1 = static_cast<T>(fm::row_sum(be, C, a)) * inv_c;
    const T m2 = static_cast<T>(fm::row_dot(be, C, a, xhat)) * inv_c;
    const T rs = rstd[r];
    T* out = gx + r * C;
    for (int64_t c = 0; c < C; ++c) out[c] += rs * (a[c] - m1 - xhat[c] * m2);
  }
}

// x, gy: (R, C); gamma: (C); mean, rstd: (R); dx, dgy, dgx: (K, R, C);
// dgamma, dggamma, dgbeta: (K, C). Inputs may be null (zero), outputs null (skipped).
template <class T>
void layernorm_backward_tangent(Backend be, int64_t R, int64_t C, int K, const T* x, const T* gamma,
                                const T* mean, const T* rstd, const T* dx, const T* dgamma, const T* gy,
                                const T* dgy, T* dgx, T* dggamma, T* dgbeta) {
  OpScope prof("layernorm.bwd_tangent", 0, int64_t(K) * R, C);
  check_args("layernorm_backward_tangent", R, C, T(0));
  const int64_t n = R * C;
  const T inv_c = T(1) / static_cast<T>(C);
  T* xhat = scratch<T>(0, C);
  T* a = scratch<T>(1, C);      // gy gamma
  T* dxhat = scratch<T>(2, C);  // tangent of xhat along dx_k
  T* da = scratch<T>(3, C);     // tangent of a along (dgy_k, dgamma_k)
  for (int64_t r = 0; r < R; ++r) {
    const T* g = gy ? gy + r * C : nullptr;
    const T rs = rstd[r];
    normalise_row(C, x + r * C, mean[r], rs, xhat);
    T m1 = 0, m2 = 0;
    if (g) {
      for (int64_t c = 0; c < C; ++c) a[c] = g[c] * gamma[c];
      m1 = static_cast<T>(fm::row_sum(be, C, a)) * inv_c;
      m2 = static_cast<T>(fm::row_dot(be, C, a, xhat)) * inv_c;
    }
    for (int k = 0; k < K; ++k) {
      const T* dxr = dx ? dx + k * n + r * C : nullptr;
      const T* dg = dgy ? dgy + k * n + r * C : nullptr;
      const T* dgam = dgamma ? dgamma + k * C : nullptr;
      T drs = 0;
      if (dxr) drs = -rs * rs * normalise_tangent_row(be, C, xhat, rs, dxr, dxhat);
      if (dggamma) {
        T* out = dggamma + k * C;
        if (dg)
          for (int64_t c = 0; c < C; ++c) out[c] += dg[c] * xhat[c];
        if (g && dxr)
          for (int64_t c = 0; c < C; ++c) out[c] += g[c] * dxhat[c];
      }
      if (dgbeta && dg) {
        T* out = dgbeta + k * C;
        for (int64_t c = 0; c < C; ++c) out[c] += dg[c];
      }
      if (!dgx) continue;
      for (int64_t c = 0; c < C; ++c) da[c] = T(0);
      if (dg)
        for (int64_t c = 0; c < C; ++c) da[c] += dg[c] * gamma[c];
      if (g && dgam)
        for (int64_t c = 0; c < C; ++c) da[c] += g[c] * dgam[c];
      const T dm1 = static_cast<T>(fm::row_sum(be, C, da)) * inv_c;
      T dm2 = static_cast<T>(fm::row_dot(be, C, da, xhat)) * inv_c;
      T* out = dgx + k * n + r * C;
      if (g && dxr) {
        dm2 += static_cast<T>(fm::row_dot(be, C, a, dxhat)) * inv_c;
        for (int64_t c = 0; c < C; ++c) out[c] += drs * (a[c] - m1 - xhat[c] * m2) - rs * dxhat[c] * m2;
      }
      for (int64_t c = 0; c < C; ++c) out[c] += rs * (da[c] - dm1 - xhat[c] * dm2);
    }
  }
}

#define WL_INSTANTIATE(T)                                                                                       \
  template void layernorm_forward<T>(Backend, int64_t, int64_t, T, const T*, const T*, const T*, T*, T*, T*);  \
  template void layernorm_tangent<T>(Backend, int64_t, int64_t, int, const T*, const T*, const T*, const T*,    \
                                     const T*, const T*, const T*, T*);                                        \
  template void layernorm_backward<T>(Backend, int64_t, int64_t, const T*, const T*, const T*, const T*,        \
                                      const T*, T*, T*, T*);                                                    \
  template void layernorm_backward_tangent<T>(Backend, int64_t, int64_t, int, const T*, const T*, const T*,     \
                                              const T*, const T*, const T*, const T*, const T*, T*, T*, T*);
WL_INSTANTIATE(float)
WL_INSTANTIATE(double)
#undef WL_INSTANTIATE

}  // namespace wordlight::ops
