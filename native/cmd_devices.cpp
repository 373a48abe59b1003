// `wordlight devices`: the Vulkan devices this build sees (issue 23), the one
// `--device vulkan` would pick, and, with --check, a small GEMM on a device
// compared with the CPU's (a quick look that a driver computes right).
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cli.h"
#include "wordlight/error.h"
#include "wordlight/gpu.h"
#include "wordlight/ops.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

int cmd_devices(const Args& a) {
  const gpu::DeviceRequest env = gpu::device_from_env();
  std::printf("WORDLIGHT_DEVICE: %s\n", env.str().c_str());
  if (!gpu::built_with_vulkan()) {
    std::printf("this build has no Vulkan backend (WORDLIGHT_VULKAN=OFF): only the CPU\n");
    return a.has("check") ? 1 : 0;
  }
  const auto all = gpu::list_devices();
  if (all.empty()) std::printf("no Vulkan device found (the lavapipe CPU device comes with mesa-vulkan-drivers)\n");
  for (const auto& d : all)
    std::printf("vulkan:%d  %-10s %8.1f GiB  %s%s\n", d.index, d.type.c_str(), d.memory_bytes / 1073741824.0,
                terminal_escape(d.name).c_str(), d.cooperative_matrix ? "  (VK_KHR_cooperative_matrix)" : "");
  if (!a.has("check")) return 0;
  const gpu::DeviceRequest r = gpu::parse_device(a.get("check"), "--check");
  std::string why;
  auto dev = gpu::open_device(r, &why);
  if (!dev) {
    std::printf("check: running on the CPU%s%s\n", why.empty() ? "" : ": ", terminal_escape(why).c_str());
    return r.kind == gpu::DeviceKind::cpu ? 0 : 1;
  }
  const int64_t M = 300, N = 257, K = 129;
  std::mt19937 g(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(M * K), w(N * K), y(M * N), want(M * N);
  for (auto& v : x) v = u(g);
  for (auto& v : w) v = u(g);
  ops::linear_forward<float>(Backend::reference, M, K, N, x.data(), w.data(), nullptr, want.data());
  gpu::Buffer bx = dev->alloc(M * K), bw = dev->alloc(N * K), by = dev->alloc(M * N);
  dev->upload(bx, x.data(), M * K);
  dev->upload(bw, w.data(), N * K);
  dev->linear_forward(M, K, N, bx, bw, nullptr, by);
  dev->download(by, y.data(), M * N);
  double err = 0;
  for (int64_t i = 0; i < M * N; ++i) err = std::max(err, static_cast<double>(std::fabs(y[i] - want[i])));
  const bool ok = err < 1e-3;
  std::printf("check on vulkan:%d (%s): linear %lldx%lldx%lld, max |device - cpu| = %.2e: %s\n", dev->info().index,
              terminal_escape(dev->info().name).c_str(), (long long)M, (long long)K, (long long)N, err,
              ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}

const RegisterCommand reg_devices({"devices",
                                   "devices     list the Vulkan devices (--device vulkan:N); --check cpu|vulkan|vulkan:N|auto\n"
                                   "runs a small linear layer there against the CPU",
                                   {"check"},
                                   {},
                                   cmd_devices,
                                   1});

}  // namespace
