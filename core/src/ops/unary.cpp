// Element-wise non-linearities: relu, softplus_beta, gelu (erf form), tanh,
// sigmoid, gelu_tanh (GPT-2's gelu_new). Every function is driven by f(x), f'(x) and f''(x):
//   tangent          dy  = f'(x) dx
//   backward         gx += f'(x) gy
//   backward tangent dgx += f'(x) dgy + f''(x) gy dx
// The derivatives are recomputed from x (y is not read and may be null):
// the forms used below (e.g. 1 - tanh^2 = 4e / (1 + e)^2) keep their relative
// accuracy where a formula in y would cancel (tanh(x) rounding to 1).
//
// relu's kink: f'(0) = 0 (the convention of PyTorch), f'' = 0 everywhere.
//
// gelu_tanh, with u = c (x + a x^3), c = sqrt(2/pi), a = 0.044715:
//   f   = 0.5 x (1 + tanh u) = x sigmoid(2u)   (no cancellation in the left tail)
//   f'  = sigmoid(2u) + 0.5 x (1 - tanh^2 u) u'
//   f'' = (1 - tanh^2 u) (u' + 0.5 x (u'' - 2 tanh(u) u'^2))
// with u' = c (1 + 3 a x^2), u'' = 6 c a x and 1 - tanh^2 u = 4e / (1 + e)^2,
// e = exp(-2|u|). The fast path forms 2u in double and hands exp the exact
// split hi + lo (|2u| reaches 25 at |x| = 6, where a float 2u would cost
// 4e-6 relative in the exponential).
//
// Backend::reference evaluates the std:: functions per element in T;
// Backend::fast (float) runs the branch-free approximations of fast_math.h
// in loops over chunks of kChunk elements, which the compiler vectorises.
#include <cmath>
#include <string>
#include <type_traits>

#include "fast_math.h"
#include "wordlight/error.h"
#include "wordlight/op_profile.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

namespace fm = fast_math;

// Derivatives are computed for kChunk elements at a time into stack buffers:
// small enough for L1, long enough to amortise the loop overhead.
constexpr int64_t kChunk = 256;

void check_params(const UnaryParams& p, const char* fn) {
  if (p.kind == Unary::softplus && !(p.beta > 0 && std::isfinite(p.beta)))
    throw Error(std::string(fn) + " (softplus): beta must be positive and finite, got " + std::to_string(p.beta));
}

// ---------------------------------------------------------------- reference
// Scalar std:: formulas. Softplus and sigmoid split on the sign so that exp
// never overflows; Phi uses erfc so that the left tail keeps its digits.
template <class T>
T ref_value(const UnaryParams& p, T x) {
  switch (p.kind) {
    case Unary::relu:
      return x < T(0) ? T(0) : x;
    case Unary::softplus: {
      const T b = static_cast<T>(p.beta), u = b * x;
      return ((u > T(0) ? u : T(0)) + std::log1p(std::exp(-std::fabs(u)))) / b;
    }
    case Unary::gelu:
      return x * T(0.5) * std::erfc(-x * T(0.70710678118654752440));
    case Unary::tanh:
      return std::tanh(x);
    case Unary::sigmoid: {
      const T e = std::exp(-std::fabs(x));
      return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    }
    case Unary::gelu_tanh: {
      const T u2 = T(1.59576912160573071176) * x * (T(1) + T(0.044715) * x * x);  // 2u
      const T e = std::exp(-std::fabs(u2));
      return x * (u2 >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e));
    }
  }
  return x;
}

template <class T>
void ref_derivs(const UnaryParams& p, T x, T* d1, T* d2) {
  T f1 = 0, f2 = 0;
  switch (p.kind) {
    case Unary::relu:
      f1 = x > T(0) ? T(1) : T(0);  // kink: f'(0) = 0
      break;
    case Unary::softplus: {
      // f' = sigmoid(beta x), f'' = beta sigmoid(u) sigmoid(-u) = beta e / (1 + e)^2
      const T b = static_cast<T>(p.beta), u = b * x;
      const T e = std::exp(-std::fabs(u)), r = T(1) / (T(1) + e);
      f1 = u >= T(0) ? r : e * r;
      f2 = b * e * r * r;
      break;
    }
    case Unary::gelu: {
      // f' = Phi + x phi, f'' = phi (2 - x^2)
      const T cdf = T(0.5) * std::erfc(-x * T(0.70710678118654752440));
      const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
      f1 = cdf + x * pdf;
      f2 = pdf * (T(2) - x * x);
      break;
    }
    case Unary::tanh: {
      // f' = 1 - t^2 = 4e / (1 + e)^2 with e = exp(-2|x|), f'' = -2 t f'
      const T e = std::exp(T(-2) * std::fabs(x)), r = T(1) / (T(1) + e);
      f1 = T(4) * e * r * r;
      f2 = T(-2) * std::tanh(x) * f1;
      break;
    }
    case Unary::sigmoid: {
      // f' = s (1 - s) = e / (1 + e)^2 with e = exp(-|x|), f'' = f' (1 - 2 s)
      const T e = std::exp(-std::fabs(x)), r = T(1) / (T(1) + e);
      const T s = x >= T(0) ? r : e * r;
      f1 = e * r * r;
      f2 = f1 * (T(1) - T(2) * s);
      break;
    }
    case Unary::gelu_tanh: {
      const T c = T(0.79788456080286535588), a = T(0.044715);
      const T u = c * x * (T(1) + a * x * x);
      const T du = c * (T(1) + T(3) * a * x * x), d2u = T(6) * c * a * x;
      const T e = std::exp(T(-2) * std::fabs(u)), r = T(1) / (T(1) + e);
      const T s = u >= T(0) ? r : e * r;            // sigmoid(2u)
      const T sech2 = T(4) * e * r * r;             // 1 - tanh^2 u
      const T t = (u >= T(0) ? T(1) : T(-1)) * (T(1) - e) * r;  // tanh u
      f1 = s;
      f2 = T(0);
      if (sech2 > T(0)) {  // far out sech2 is 0 and u'^2 may be inf
        f1 += T(0.5) * x * sech2 * du;
        f2 = sech2 * (du + T(0.5) * x * (d2u - T(2) * t * du * du));
      }
      break;
    }
  }
  if (d1) *d1 = f1;
  if (d2) *d2 = f2;
}

// ---------------------------------------------------------------- fast (float)
// Same formulas with fast_math's approximations. One branch-free loop per
// kind, so that each loop vectorises.
// x, y: (m)
WL_FM_WIDE void fast_values(const UnaryParams& p, int64_t m, const float* x, float* y) {
  switch (p.kind) {
    case Unary::relu:
      for (int64_t i = 0; i < m; ++i) y[i] = fm::select(x[i] < 0.0f, 0.0f, x[i]);
      return;
    case Unary::softplus: {
      const float b = static_cast<float>(p.beta), inv_b = static_cast<float>(1.0 / p.beta);
      for (int64_t i = 0; i < m; ++i) y[i] = fm::softplus(b * x[i]) * inv_b;
      return;
    }
    case Unary::gelu:
      fm::gelu_n(m, x, y);
      return;
    case Unary::tanh:
      fm::tanh_n(m, x, y);
      return;
    case Unary::sigmoid:
      fm::sigmoid_n(m, x, y);
      return;
    case Unary::gelu_tanh:
      for (int64_t i = 0; i < m; ++i) {
        const double xd = x[i];
        const double u2 = 1.59576912160573071176 * xd * (1.0 + 0.044715 * xd * xd);
        const double neg = -std::fabs(u2);
        const float hi = static_cast<float>(neg), lo = static_cast<float>(neg - static_cast<double>(hi));
        const float e = fm::exp_hl(hi, lo), r = 1.0f / (1.0f + e);
        y[i] = x[i] * fm::select(u2 >= 0.0, r, e * r);
      }
      return;
  }
}

// x, d1, d2: (m)
WL_FM_WIDE void fast_derivs(const UnaryParams& p, int64_t m, const float* x, float* d1, float* d2) {
  switch (p.kind) {
    case Unary::relu:
      for (int64_t i = 0; i < m; ++i) {
        d1[i] = fm::select(x[i] > 0.0f, 1.0f, 0.0f);
        d2[i] = 0.0f;
      }
      return;
    case Unary::softplus: {
      const float b = static_cast<float>(p.beta);
      for (int64_t i = 0; i < m; ++i) {
        const float u = b * x[i];
        const float e = fm::exp(-fm::abs(u)), r = 1.0f / (1.0f + e);
        d1[i] = fm::select(u >= 0.0f, r, e * r);
        d2[i] = b * e * r * r;
      }
      return;
    }
    case Unary::gelu:
      for (int64_t i = 0; i < m; ++i) {
        const float xi = x[i];
        const float cdf = fm::norm_cdf(xi), pdf = fm::norm_pdf(xi);
        d1[i] = cdf + xi * pdf;
        d2[i] = pdf * (2.0f - xi * xi);
      }
      return;
    case Unary::tanh:
      for (int64_t i = 0; i < m; ++i) {
        const float f1 = fm::tanh_deriv(x[i]);
        d1[i] = f1;
        d2[i] = -2.0f * fm::tanh(x[i]) * f1;
      }
      return;
    case Unary::sigmoid:
      for (int64_t i = 0; i < m; ++i) {
        const float e = fm::exp(-fm::abs(x[i])), r = 1.0f / (1.0f + e);
        const float s = fm::select(x[i] >= 0.0f, r, e * r);
        const float f1 = e * r * r;
        d1[i] = f1;
        d2[i] = f1 * (1.0f - 2.0f * s);
      }
      return;
    case Unary::gelu_tanh:
      for (int64_t i = 0; i < m; ++i) {
        const float xi = x[i];
        const double xd = xi;
        const double u2 = 1.59576912160573071176 * xd * (1.0 + 0.044715 * xd * xd);  // 2u
        const double neg = -std::fabs(u2);
        const float hi = static_cast<float>(neg), lo = static_cast<float>(neg - static_cast<double>(hi));
        const float e = fm::exp_hl(hi, lo), r = 1.0f / (1.0f + e);
        const bool pos = u2 >= 0.0;
        const float s = fm::select(pos, r, e * r);
        const float sech2 = 4.0f * e * r * r;
        const float t = fm::select(pos, 1.0f, -1.0f) * ((1.0f - e) * r);
        const float du = 0.79788456080286535588f * (1.0f + 0.134145f * xi * xi);
        const float d2u = 0.21406444881780076f * xi;  // 6 c a
        const bool live = sech2 > 0.0f;      // far out sech2 is 0 and du^2 may be inf
        d1[i] = s + fm::select(live, 0.5f * xi * sech2 * du, 0.0f);
        d2[i] = fm::select(live, sech2 * (du + 0.5f * xi * (d2u - 2.0f * t * du * du)), 0.0f);
      }
      return;
  }
}

// gx += gelu'(x) gy for the erf GELU, with Phi(x) read back from the
// forward's output y = x Phi(x): gelu' = Phi + x phi then costs one exp (phi)
// instead of two (erfc for Phi, and phi), which halved the backward's share
// of an IG call (issue 20's profile). Where y / x loses Phi it takes the
// limits: |x| < 2^-10 (y may be 0 or denormal): Phi = 1/2 + x phi(0), off by
// x^3 / 15 < 1e-10; x > 8: Phi = 1 in float; x < -20: Phi = 0 in float (and
// inf / inf is never formed). In the left tail y carries the forward's erf
// error (fast_math.h: absolute), so Phi read back is absolute there too.
// x, y, gy, gx: (n)
WL_FM_WIDE void fast_gelu_backward(int64_t n, const float* x, const float* y, const float* gy, float* gx) {
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x[i];
    const bool small = fm::abs(xi) < 0.0009765625f;
    float cdf = fm::select(small, 0.5f + 0.39894228040143268f * xi, y[i] / fm::select(small, 1.0f, xi));
    cdf = fm::select(xi > 8.0f, 1.0f, cdf);
    cdf = fm::select(xi < -20.0f, 0.0f, cdf);
    // phi without norm_pdf's exact split of x^2: its rounding costs phi up to
    // x^2 / 2 * 2^-24 relative (1e-6 at |x| = 6, where x phi is 1e-7 of the
    // O(1) Phi term), and the split was a fifth of this loop's time.
    gx[i] += (cdf + xi * (0.39894228040143268f * fm::exp(-0.5f * (xi * xi)))) * gy[i];
  }
}

// ---------------------------------------------------------------- dispatch
// x, y: (m)
template <class T>
void values(Backend be, const UnaryParams& p, int64_t m, const T* x, T* y) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) return fast_values(p, m, x, y);
  }
  for (int64_t i = 0; i < m; ++i) y[i] = ref_value(p, x[i]);
}

// x, d1, d2: (m), m <= kChunk
template <class T>
void derivs(Backend be, const UnaryParams& p, int64_t m, const T* x, T* d1, T* d2) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) return fast_derivs(p, m, x, d1, d2);
  }
  for (int64_t i = 0; i < m; ++i) ref_derivs(p, x[i], &d1[i], &d2[i]);
}

// The profile's name of a unary op (string literals: OpScope keeps the pointer).
// phase: 0 forward, 1 tangent, 2 backward, 3 backward tangent.
const char* unary_op_name(Unary k, int i) {
  static const char* const names[6][4] = {
      {"relu.fwd", "relu.tangent", "relu.bwd", "relu.bwd_tangent"},
      {"softplus.fwd", "softplus.tangent", "softplus.bwd", "softplus.bwd_tangent"},
      {"gelu.fwd", "gelu.tangent", "gelu.bwd", "gelu.bwd_tangent"},
      {"tanh.fwd", "tanh.tangent", "tanh.bwd", "tanh.bwd_tangent"},
      {"sigmoid.fwd", "sigmoid.tangent", "sigmoid.bwd", "sigmoid.bwd_tangent"},
      {"gelu_tanh.fwd", "gelu_tanh.tangent", "gelu_tanh.bwd", "gelu_tanh.bwd_tangent"}};
  const int ki = static_cast<int>(k);
  return ki >= 0 && ki < 6 ? names[ki][i] : "unary";
}

}  // namespace

template <class T>
void unary_forward(Backend be, UnaryParams p, int64_t n, const T* x, T* y) {
  OpScope prof(unary_op_name(p.kind, 0), 0, n);
  check_params(p, "unary_forward");
  if (!y) return;
  values(be, p, n, x, y);
}

// x: (n); dx, dy: (K, n)
template <class T>
void unary_tangent(Backend be, UnaryParams p, int64_t n, int K, const T* x, const T* /*y*/, const T* dx, T* dy) {
  OpScope prof(unary_op_name(p.kind, 1), 0, int64_t(K) * n);
  check_params(p, "unary_tangent");
  if (!dy) return;
  if (!dx) {
    for (int64_t i = 0; i < K * n; ++i) dy[i] = T(0);
    return;
  }
  T d1[kChunk], d2[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = n - i0 < kChunk ? n - i0 : kChunk;
    derivs(be, p, m, x + i0, d1, d2);
    for (int k = 0; k < K; ++k) {
      const T* dxk = dx + k * n + i0;
      T* dyk = dy + k * n + i0;
      for (int64_t i = 0; i < m; ++i) dyk[i] = d1[i] * dxk[i];
    }
  }
}

// x, gy, gx: (n)
template <class T>
void unary_backward(Backend be, UnaryParams p, int64_t n, const T* x, const T* y, const T* gy, T* gx) {
  OpScope prof(unary_op_name(p.kind, 2), 0, n);
  check_params(p, "unary_backward");
  if (!gx || !gy) return;
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast && p.kind == Unary::gelu && y) return fast_gelu_backward(n, x, y, gy, gx);
  }
  T d1[kChunk], d2[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = n - i0 < kChunk ? n - i0 : kChunk;
    derivs(be, p, m, x + i0, d1, d2);
    for (int64_t i = 0; i < m; ++i) gx[i0 + i] += d1[i] * gy[i0 + i];
  }
}

// x, gy: (n); dx, dgy, dgx: (K, n)
template <class T>
void unary_backward_tangent(Backend be, UnaryParams p, int64_t n, int K, const T* x, const T* /*y*/, const T* dx,
                            const T* gy, const T* dgy, T* dgx) {
  OpScope prof(unary_op_name(p.kind, 3), 0, int64_t(K) * n);
  check_params(p, "unary_backward_tangent");
  const bool curvature = gy && dx;  // the f'' gy dx term
  if (!dgx || (!dgy && !curvature)) return;
  T d1[kChunk], d2[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = n - i0 < kChunk ? n - i0 : kChunk;
    derivs(be, p, m, x + i0, d1, d2);
    if (curvature)  // fold gy into f'' once for all K directions
      for (int64_t i = 0; i < m; ++i) d2[i] *= gy[i0 + i];
    for (int k = 0; k < K; ++k) {
      T* out = dgx + k * n + i0;
      if (dgy && curvature) {
        const T *a = dgy + k * n + i0, *b = dx + k * n + i0;
        for (int64_t i = 0; i < m; ++i) out[i] += d1[i] * a[i] + d2[i] * b[i];
      } else if (dgy) {
        const T* a = dgy + k * n + i0;
        for (int64_t i = 0; i < m; ++i) out[i] += d1[i] * a[i];
      } else {
        const T* b = dx + k * n + i0;
        for (int64_t i = 0; i < m; ++i) out[i] += d2[i] * b[i];
      }
    }
  }
}

template <class T>
void unary_derivatives(UnaryParams p, T x, T* d1, T* d2) {
  check_params(p, "unary_derivatives");
  ref_derivs(p, x, d1, d2);
}

#define WL_INSTANTIATE(T)                                                                                     \
  template void unary_forward<T>(Backend, UnaryParams, int64_t, const T*, T*);                                \
  template void unary_tangent<T>(Backend, UnaryParams, int64_t, int, const T*, const T*, const T*, T*);       \
  template void unary_backward<T>(Backend, UnaryParams, int64_t, const T*, const T*, const T*, T*);           \
  template void unary_backward_tangent<T>(Backend, UnaryParams, int64_t, int, const T*, const T*, const T*,   \
                                          const T*, const T*, T*);                                            \
  template void unary_derivatives<T>(UnaryParams, T, T*, T*);
WL_INSTANTIATE(float)
WL_INSTANTIATE(double)
#undef WL_INSTANTIATE

}  // namespace wordlight::ops
