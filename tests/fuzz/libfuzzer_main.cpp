// One libFuzzer binary per reader (WL_FUZZ_TARGET names it, see
// fuzz_targets.h), built with AddressSanitizer and UBSan by
// `./build.sh fuzz`. The custom mutator is the structure-aware one of the
// ctest suite (nesting, offsets, dtypes, shapes, NaN, UTF-8, duplicates),
// mixed with libFuzzer's own byte-level mutations.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_targets.h"

#ifndef WL_FUZZ_TARGET
#error "define WL_FUZZ_TARGET as one of the names in wlfuzz::targets()"
#endif

namespace {

wlfuzz::Target target() {
  static const wlfuzz::Target t = [] {
    for (const auto& ti : wlfuzz::targets())
      if (std::string(ti.name) == WL_FUZZ_TARGET) return ti.target;
    std::abort();
  }();
  return t;
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    wlfuzz::run(target(), std::string(reinterpret_cast<const char*>(data), size));
  } catch (const wordlight::Error&) {
    // refused with a message: the expected outcome for a bad input
  }
  // Anything else (another exception, a crash, a sanitizer report) escapes
  // and libFuzzer records the input as a finding.
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  wlfuzz::Rng rng(seed);
  if (rng() % 4 == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::string in(reinterpret_cast<const char*>(data), size);
  if (in.empty() || rng() % 16 == 0) {
    const auto seeds = wlfuzz::seeds(target());
    in = seeds[rng() % seeds.size()];
  }
  std::string out = wlfuzz::mutate(target(), in, rng, 1 + static_cast<int>(rng() % 3));
  if (out.size() > max_size) out.resize(max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
