#pragma once
// Vectorisable float maths for Backend::fast (private to core/src/ops).
//
// Every function here is branch-free straight-line code on one float: both
// sides of a case split are computed and the result is picked by a bit blend
// (select below), bit casts go through memcpy, rounding to an integer uses
// the 1.5 * 2^23 trick instead of a float->int conversion. Called from a
// plain loop over arrays, GCC (-O3 -march=x86-64-v2) turns them into SSE4
// code and clang (-O3 -msimd128) into wasm v128 code (checked with
// -fopt-info-vec / -Rpass=loop-vectorize and objdump). The one intrinsic is
// f32x4.pmax in max8, a select clang does not vectorise for wasm.
// No -ffast-math is assumed: inf and NaN behave as IEEE says (NaN in, NaN out;
// overflow gives inf; underflow gives denormals, then 0).
//
// Accuracy against the double std:: functions rounded to float, measured on
// every 7th float of the whole range (denormal results included); the tests
// in tests/cpp/test_ops_misc.cpp hold these bounds on their samples:
//   exp <= 1 ulp; tanh, log1p_unit, norm_pdf <= 2 ulp;
//   sigmoid, softplus <= 3 ulp; tanh_deriv <= 5 ulp;
//   erf <= 4.2e-7 absolute; gelu <= 8 ulp on x >= -1, 2.1e-7 |x| absolute below;
//   norm_cdf <= 8 ulp (< 6e-7 relative): Numerical Recipes' erfc fit
//     (1.2e-7) plus the float evaluation of its exponent polynomial. The
//     tails keep their relative accuracy (erfc is exp(-z^2 + P(t)) with z^2
//     carried exactly, never 1 - erf) down to where Phi(x) itself becomes a
//     denormal float (x < -12.9).
// The reductions at the end keep 8 partial sums so that they vectorise
// without reassociation flags.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "wordlight/backend.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

// WL_FM_WIDE: natively on x86-64 with GCC, a function so marked is compiled
// three times, for AVX-512, AVX2 and the baseline of the build (SSE4 under
// -march=x86-64-v2), and the loader picks the widest the CPU has (ifunc).
// Contraction into FMA is off in the clones, so each computes exactly the
// bits of the baseline: same IEEE operations in the same order, 16 or 8
// lanes at a time instead of 4 (gelu: 2.6x faster with AVX-512).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WL_FM_WIDE __attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off")))
#else
#define WL_FM_WIDE
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WL_FM_INLINE inline __attribute__((always_inline))
#define WL_FM_LOOP inline __attribute__((noinline)) WL_FM_WIDE
#else
#define WL_FM_INLINE inline
#define WL_FM_LOOP inline
#endif

namespace wordlight::fast_math {

WL_FM_INLINE uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
WL_FM_INLINE float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
WL_FM_INLINE float abs(float x) { return float_of(bits_of(x) & 0x7fffffffu); }
// c ? a : b on bits, both sides evaluated. GCC (under the default
// -ftrapping-math) will not if-convert a ternary whose arms hold float
// arithmetic, and then refuses to vectorise the loop; a bit blend it keeps.
WL_FM_INLINE float select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return float_of((bits_of(a) & m) | (bits_of(b) & ~m));
}

// exp(hi + lo) where hi may be large and lo is a correction whose own
// rounding must not be amplified (used for exp(-z^2) with z^2 split exactly).
// Cody-Waite reduction hi + lo = n ln2 + r, |r| <= ln2 / 2, Cephes' expf
// polynomial for exp(r) (1e-9 relative on the interval), and the scale 2^n
// applied as two factors 2^(n/2) so that denormal results are rounded once.
WL_FM_INLINE float exp_hl(float hi, float lo) {
  const float kMax = 88.8f;    // exp overflows above 88.72
  const float kMin = -104.0f;  // exp(-104) rounds to 0
  const float s = hi + lo;
  float sc = select(s > kMax, kMax, s);  // comparisons with NaN are false:
  sc = select(sc < kMin, kMin, sc);      // NaN passes through
  const bool saturated = sc != s;
  hi = select(saturated, sc, hi);
  lo = select(saturated, 0.0f, lo);
  // Adding 1.5 * 2^23 rounds to the nearest integer, which then sits in the
  // low mantissa bits of t: n without a float->int conversion.
  const float kMagic = 12582912.0f;
  const float t = sc * 1.44269504088896341f + kMagic;
  const float n = t - kMagic;
  const int32_t ni = static_cast<int32_t>(bits_of(t) - bits_of(kMagic));
  // ln2 = C1 + C2 with C1 exact in 9 bits, so hi - n C1 is exact.
  const float r = ((hi - n * 0.693359375f) + lo) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t n1 = ni >> 1;  // n in [-150, 128]: both halves are normal scales
  const int32_t n2 = ni - n1;
  const float scale1 = float_of(static_cast<uint32_t>(n1 + 127) << 23);
  const float scale2 = float_of(static_cast<uint32_t>(n2 + 127) << 23);
  return (p * scale1) * scale2;
}

WL_FM_INLINE float exp(float x) { return exp_hl(x, 0.0f); }

// exp(-x^2 / 2 + c) with x^2 carried exactly: x = xh + xl with xh holding
// the top 12 significant bits, so xh^2 is exact and only the small
// cross terms are rounded. (Rounding x^2 directly would cost up to 1e-5
// relative error at x ~ 13, where exp(-x^2/2) is still a normal float.)
WL_FM_INLINE float exp_neg_half_sq(float x, float c) {
  // Beyond |x| = 20 the result is 0 in float; clamping keeps inf from
  // turning the split into inf - inf. (NaN passes: comparisons are false.)
  x = select(x > 20.0f, 20.0f, x);
  x = select(x < -20.0f, -20.0f, x);
  const float xh = float_of(bits_of(x) & 0xfffff000u);
  const float xl = x - xh;
  const float hi = -0.5f * (xh * xh);
  const float lo = c - (xh * xl + 0.5f * (xl * xl));
  return exp_hl(hi, lo);
}

// tanh: Cephes' odd polynomial below 0.625 (where 1 - e / 1 + e would
// cancel), (1 - e) / (1 + e) with e = exp(-2|x|) above.
WL_FM_INLINE float tanh(float x) {
  const float a = abs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float e = exp(-2.0f * a);
  const float big = (1.0f - e) / (1.0f + e);
  const float signed_big = float_of(bits_of(big) | (bits_of(x) & 0x80000000u));
  return select(a < 0.625f, small, signed_big);
}

// 1 - tanh(x)^2 = 4e / (1 + e)^2, e = exp(-2|x|): no cancellation when
// tanh(x) rounds to +-1.
WL_FM_INLINE float tanh_deriv(float x) {
  const float e = exp(-2.0f * abs(x));
  const float r = 1.0f / (1.0f + e);
  return 4.0f * e * r * r;
}

// sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, e = exp(-|x|):
// exp never overflows and tiny results keep their relative accuracy.
WL_FM_INLINE float sigmoid(float x) {
  const float e = exp(-abs(x));
  const float r = 1.0f / (1.0f + e);
  return select(x >= 0.0f, r, e * r);
}

// log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3],
// as the odd series up to s^13 (truncation < 2e-8 relative), evaluated on
// u = 2s = 2e / (2 + e) so that even the smallest denormal e keeps its value
// (e / 2 would round it away).
WL_FM_INLINE float log1p_unit(float e) {
  const float u = (2.0f * e) / (2.0f + e);
  const float z = 0.25f * (u * u);  // s^2
  float p = 1.0f / 13.0f;
  p = p * z + 1.0f / 11.0f;
  p = p * z + 1.0f / 9.0f;
  p = p * z + 1.0f / 7.0f;
  p = p * z + 1.0f / 5.0f;
  p = p * z + 1.0f / 3.0f;
  return u * (p * z) + u;
}

// log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)).
WL_FM_INLINE float softplus(float u) {
  const float pos = select(u > 0.0f, u, 0.0f);
  return pos + log1p_unit(exp(-abs(u)));
}

// erfc(|x| / sqrt 2) = t exp(-x^2/2 + P(t)), t = 1 / (1 + |x| / (2 sqrt 2)):
// Numerical Recipes' erfcc (Chebyshev fit, 1.2e-7 relative for all z >= 0).
WL_FM_INLINE float erfc_abs_over_sqrt2(float x) {
  const float z = abs(x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * exp_neg_half_sq(x, p);
}

// Phi(x), the standard normal CDF: half the erfc on the left, one minus it on
// the right (so neither tail cancels).
WL_FM_INLINE float norm_cdf(float x) {
  const float h = 0.5f * erfc_abs_over_sqrt2(x);
  return select(x < 0.0f, h, 1.0f - h);
}

// phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
WL_FM_INLINE float norm_pdf(float x) { return 0.39894228040143268f * exp_neg_half_sq(x, 0.0f); }

// erf(x) = x P(x^2) / Q(x^2) on |x| < 3.9, with P of degree 6 and Q of
// degree 5 in x^2 (a rational fit to erf's relative error on [0, 4]: 2e-9
// in exact arithmetic, so what is left is the float evaluation: <= 4.2e-7
// absolute, and relative near 0); +-1 beyond 3.9, where float erf is within
// 1 ulp of 1. No exp, one division: about a third of norm_cdf's work.
WL_FM_INLINE float erf(float x) {
  float a = abs(x);
  const bool saturated = a >= 3.9f;  // false for NaN: NaN passes through
  a = select(saturated, 3.9f, a);
  const float z = a * a;
  float p = -1.3200437663934483e-08f;
  p = p * z + 4.684409849978729e-06f;
  p = p * z + 0.00037959580188106566f;
  p = p * z + 0.00384961398405799f;
  p = p * z + 0.054316739877836515f;
  p = p * z + 0.18520431717045452f;
  p = p * z + 1.1283791693694623f;
  float q = 6.310706962499958e-05f;
  q = q * z + 0.0013075525945180214f;
  q = q * z + 0.015462050888826915f;
  q = q * z + 0.1139585884031398f;
  q = q * z + 0.49746646625273994f;
  q = q * z + 1.0f;
  float e = a * (p / q);
  e = select(saturated | (e > 1.0f), 1.0f, e);
  return float_of(bits_of(e) | (bits_of(x) & 0x80000000u));
}

// gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, the erf form used by BERT
// and computed so by PyTorch. On x >= -1 within 8 ulp of the exact value; on
// the left tail, where 1 + erf cancels, its error is absolute: <= 2.1e-7 |x|
// (norm_cdf above keeps the tail's relative accuracy, at three times the
// cost: the forward of an IG call spent 7-11% of its time here).
WL_FM_INLINE float gelu(float x) { return x * (0.5f + 0.5f * erf(x * 0.70710678118654752f)); }

// ---------------------------------------------------------------- array forms
// y, x: (n). Plain loops: this is where the vectoriser sees the code above.
// They are kept out of line: inlined into a caller's row loop, clang (wasm)
// fused the exp loop with its neighbours and left it scalar.
WL_FM_LOOP void exp_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp(x[i]);
}
// y = exp(x - shift)
WL_FM_LOOP void exp_shifted_n(int64_t n, const float* x, float shift, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp(x[i] - shift);
}
WL_FM_LOOP void tanh_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh(x[i]);
}
WL_FM_LOOP void sigmoid_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}
WL_FM_LOOP void gelu_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu(x[i]);
}
WL_FM_LOOP void log1p_unit_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = log1p_unit(x[i]);
}
WL_FM_LOOP void softplus_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = softplus(x[i]);
}
WL_FM_LOOP void erf_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = erf(x[i]);
}
WL_FM_LOOP void norm_cdf_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = norm_cdf(x[i]);
}
WL_FM_LOOP void norm_pdf_n(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = norm_pdf(x[i]);
}

// ---------------------------------------------------------------- reductions
// Sums with 8 independent partial sums (one or two SIMD registers), combined
// pairwise at the end. x, y: (n).
inline float sum8(int64_t n, const float* x) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i];
  return s;
}
inline float dot8(int64_t n, const float* x, const float* y) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j] * y[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}
// n >= 1. Same semantics as the scalar m = x > m ? x : m (NaN never
// replaces a number). clang does not vectorise this select for wasm, so
// there it is written with f32x4.pmax, which is exactly that select.
inline float max8(int64_t n, const float* x) {
  float acc[8];
  int64_t i = 0;
#if defined(__wasm_simd128__)
  v128_t a = wasm_f32x4_splat(x[0]), b = a;
  for (; i + 8 <= n; i += 8) {
    a = wasm_f32x4_pmax(a, wasm_v128_load(x + i));  // pmax(a, v) = a < v ? v : a
    b = wasm_f32x4_pmax(b, wasm_v128_load(x + i + 4));
  }
  wasm_v128_store(acc, a);
  wasm_v128_store(acc + 4, b);
#else
  for (int j = 0; j < 8; ++j) acc[j] = x[0];
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] = select(x[i + j] > acc[j], x[i + j], acc[j]);
#endif
  float m = acc[0];
  for (int j = 1; j < 8; ++j) m = acc[j] > m ? acc[j] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// ---------------------------------------------------------------- dispatch
// Row reductions shared by softmax, cross-entropy and layer norm: the
// reference (and every double) sums in index order in double; float on
// Backend::fast uses the partial sums above.
template <class T>
inline double row_sum(Backend be, int64_t n, const T* x) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) return sum8(n, x);
  }
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}
template <class T>
inline double row_dot(Backend be, int64_t n, const T* x, const T* y) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) return dot8(n, x, y);
  }
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * y[i];
  return s;
}
// n >= 1
template <class T>
inline T row_max(Backend be, int64_t n, const T* x) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) return max8(n, x);
  }
  T m = x[0];
  for (int64_t i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// y = exp(x - shift), x, y: (n): std::exp for the reference and double.
template <class T>
inline void row_exp_shifted(Backend be, int64_t n, const T* x, T shift, T* y) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) return exp_shifted_n(n, x, shift, y);
  }
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - shift);
}

}  // namespace wordlight::fast_math
