// Dropout (training only): y = x mask / (1 - p), mask_i ~ Bernoulli(1 - p).
//
// The mask comes from a counter-based generator: draw i is the i-th output
// of splitmix64 seeded with `seed`, i.e. mix(seed + (i + 1) * golden_gamma),
// so it depends on (seed, i) alone. The same seed gives the same mask
// natively and in wasm, in any order and on any number of threads.
// Element i is kept when its top 53 bits, read as a uniform u in [0, 1),
// satisfy u >= p.
#include <cmath>
#include <string>

#include "wordlight/error.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

// The i-th output (from 0) of splitmix64 (Steele, Lea and Flood; Vigna's
// reference constants).
uint64_t splitmix64_at(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void check_p(const char* fn, double p) {
  if (!(p >= 0.0 && p < 1.0))
    throw Error(std::string(fn) + ": p = " + std::to_string(p) + " is outside [0, 1)");
}

}  // namespace

// x, y, mask: (n)
template <class T>
void dropout_forward(int64_t n, double p, uint64_t seed, const T* x, T* y, uint8_t* mask) {
  check_p("dropout_forward", p);
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(splitmix64_at(seed, static_cast<uint64_t>(i)) >> 11) * 0x1.0p-53;
    const bool keep = u >= p;
    if (mask) mask[i] = keep ? 1 : 0;
    if (y) y[i] = keep ? x[i] * scale : T(0);
  }
}

// mask: (n); x, y: (K, n). x null means zero.
template <class T>
void dropout_apply(int64_t n, int K, double p, const uint8_t* mask, const T* x, T* y, bool accumulate) {
  check_p("dropout_apply", p);
  if (!y) return;
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (int k = 0; k < K; ++k) {
    T* yk = y + k * n;
    if (!x) {
      if (!accumulate)
        for (int64_t i = 0; i < n; ++i) yk[i] = T(0);
      continue;
    }
    const T* xk = x + k * n;
    if (accumulate)
      for (int64_t i = 0; i < n; ++i) yk[i] += mask[i] ? xk[i] * scale : T(0);
    else
      for (int64_t i = 0; i < n; ++i) yk[i] = mask[i] ? xk[i] * scale : T(0);
  }
}

#define WL_INSTANTIATE(T)                                                                    \
  template void dropout_forward<T>(int64_t, double, uint64_t, const T*, T*, uint8_t*);       \
  template void dropout_apply<T>(int64_t, int, double, const uint8_t*, const T*, T*, bool);
WL_INSTANTIATE(float)
WL_INSTANTIATE(double)
#undef WL_INSTANTIATE

}  // namespace wordlight::ops
