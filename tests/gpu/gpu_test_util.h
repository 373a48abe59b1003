#pragma once
// What the GPU test files share: the best Vulkan device, opened once per
// test binary, and the rule when there is none: skip with the reason,
// except under CI=true (where lavapipe, mesa-vulkan-drivers, is installed
// by ./build.sh setup), where the test fails.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "wordlight/error.h"
#include "wordlight/gpu.h"

namespace gpu_test {

inline bool in_ci() {
  const char* c = std::getenv("CI");
  return c && (std::strcmp(c, "true") == 0 || std::strcmp(c, "1") == 0);
}

// Null when no device opens; why() says why.
inline std::string& why() {
  static std::string w;
  return w;
}
inline const std::shared_ptr<wordlight::gpu::Device>& device() {
  static std::shared_ptr<wordlight::gpu::Device> d;
  if (!d && why().empty()) {
    try {
      d = wordlight::gpu::Device::open(-1);
    } catch (const wordlight::Error& e) {
      why() = e.what();
    }
  }
  return d;
}

// Sets an environment variable for its lifetime (the driver list, the
// memory limit), restoring what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

}  // namespace gpu_test

// Declares `dev_ptr` (shared) and `dev` (raw) for the test body.
#define NEED_DEVICE()                                                                                 \
  const std::shared_ptr<wordlight::gpu::Device>& dev_ptr = gpu_test::device();                        \
  wordlight::gpu::Device* dev = dev_ptr.get();                                                        \
  (void)dev;                                                                                          \
  if (!dev) {                                                                                         \
    if (gpu_test::in_ci())                                                                            \
      FAIL() << "CI=true but no Vulkan device (lavapipe: mesa-vulkan-drivers): " << gpu_test::why(); \
    GTEST_SKIP() << "no Vulkan device: " << gpu_test::why();                                          \
  }
