#pragma once
// SplitMix64 (Steele, Lea and Flood 2014; Vigna's splitmix64.c): a fixed,
// platform-independent sequential generator (std's distributions differ
// between standard libraries), cheap to seed per segment or per call. The
// sampling of generation and the masking of pre-training draw from it, so
// a seed gives the same tokens and masks natively and in wasm.
#include <cstddef>
#include <cstdint>

namespace wordlight {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) from the top 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); the modulo bias is below 2^-40 for any n used here.
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

}  // namespace wordlight
