// The Vulkan backend's ops against the scalar reference (ops.h in double),
// forward and backward, at sizes below, at and past the GEMM tile (64) and
// the reduction width (128). Runs on whatever device Device::open picks:
// Mesa's lavapipe in CI. With no Vulkan device at all the tests are skipped
// with the reason, except under CI=true, where a missing lavapipe is a
// setup failure and fails them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/gpu.h"
#include "wordlight/ops.h"
#include "gpu_test_util.h"

using namespace wordlight;
using gpu::Buffer;
using gpu::Device;

namespace {

std::vector<double> rnd(int64_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(u(g));  // representable in float
  return v;
}

Buffer up(Device& d, const std::vector<double>& v) {
  Buffer b = d.alloc(static_cast<int64_t>(v.size()));
  std::vector<float> f(v.begin(), v.end());
  d.upload(b, f.data(), static_cast<int64_t>(f.size()));
  return b;
}
std::vector<double> down(Device& d, const Buffer& b, int64_t n) {
  std::vector<float> f(static_cast<size_t>(n));
  d.download(b, f.data(), n);
  return std::vector<double>(f.begin(), f.end());
}

// |got - want| <= tol (1 + |want|), element by element, naming the first miss.
void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << " [" << i << "] = " << got[i];
    ASSERT_LE(std::fabs(got[i] - want[i]), tol * (1 + std::fabs(want[i])))
        << what << " [" << i << "]: device " << got[i] << ", reference " << want[i];
  }
}

}  // namespace

TEST(GpuDevice, ListsAndOpensTheBestDevice) {
  NEED_DEVICE();
  const auto all = gpu::list_devices();
  ASSERT_FALSE(all.empty());
  EXPECT_GE(dev->info().index, 0);
  EXPECT_FALSE(dev->info().name.empty());
  // The best device is the first of its type rank: no listed device is a
  // better type than the chosen one.
  auto rank = [](const std::string& t) {
    return t == "discrete" ? 0 : t == "integrated" ? 1 : t == "virtual" ? 2 : t == "cpu" ? 3 : 4;
  };
  for (const auto& d : all) EXPECT_GE(rank(d.type), rank(dev->info().type)) << d.name;
  try {
    Device::open(static_cast<int>(all.size()));
    FAIL() << "opened a device past the last one";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no such device"), std::string::npos) << e.what();
  }
}

// Devices and buffers are released when the last handle goes (no cycle
// keeps a VkDevice alive): many opens in a row do not run out of anything.
TEST(GpuDevice, OpensAndClosesRepeatedly) {
  NEED_DEVICE();
  for (int i = 0; i < 20; ++i) {
    auto d = Device::open(dev->info().index);
    Buffer b = d->alloc(1 << 16);
    d->fill(b, 1 << 16, 2.0f);
    float x = 0;
    d->download(b, &x, 1, 12345);
    ASSERT_EQ(x, 2.0f);
  }
  // A buffer may outlive its Device handle.
  Buffer kept;
  {
    auto d = Device::open(dev->info().index);
    kept = d->alloc(10);
  }
  EXPECT_EQ(kept.size(), 10);
}

TEST(GpuDevice, ParsesDeviceNames) {
  EXPECT_EQ(gpu::parse_device("cpu").kind, gpu::DeviceKind::cpu);
  EXPECT_EQ(gpu::parse_device("auto").kind, gpu::DeviceKind::automatic);
  EXPECT_EQ(gpu::parse_device("vulkan").index, -1);
  EXPECT_EQ(gpu::parse_device("vulkan:2").index, 2);
  EXPECT_EQ(gpu::parse_device("vulkan:2").str(), "vulkan:2");
  for (const char* bad : {"cuda", "vulkan:", "vulkan:x", "vulkan:-1", ""}) {
    try {
      gpu::parse_device(bad, "--device");
      FAIL() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--device"), std::string::npos) << e.what();
    }
  }
}

TEST(GpuDevice, MemoryLimitGivesAClearError) {
  NEED_DEVICE();
  setenv("WORDLIGHT_VULKAN_MEMORY_LIMIT", "64k", 1);
  std::shared_ptr<Device> small;
  try {
    small = Device::open(dev->info().index);
  } catch (...) {
    unsetenv("WORDLIGHT_VULKAN_MEMORY_LIMIT");
    throw;
  }
  unsetenv("WORDLIGHT_VULKAN_MEMORY_LIMIT");
  EXPECT_EQ(small->memory_limit(), 64u * 1024);
  Buffer ok = small->alloc(1000);  // 4 kB fits
  try {
    small->alloc(100000);
    FAIL() << "allocated 400 kB under a 64 kB limit";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("out of device memory"), std::string::npos) << m;
    EXPECT_NE(m.find(dev->info().name), std::string::npos) << m;
    EXPECT_NE(m.find("WORDLIGHT_VULKAN_MEMORY_LIMIT"), std::string::npos) << m;
  }
}

// No Vulkan driver at all (the loader pointed at a driver file that does not
// exist): vulkan is an Error that says so, auto falls back to the CPU with
// the same reason, cpu never touches Vulkan.
TEST(GpuDevice, NoDeviceIsAnErrorAndOnlyAutoFallsBack) {
  const char* old = std::getenv("VK_ICD_FILENAMES");
  const std::string saved = old ? old : "";
  setenv("VK_ICD_FILENAMES", "/nonexistent/wordlight_no_driver.json", 1);
  std::string err, reason = "unset";
  std::shared_ptr<Device> got_auto, got_cpu;
  try {
    gpu::open_device(gpu::parse_device("vulkan"));
  } catch (const Error& e) {
    err = e.what();
  }
  got_auto = gpu::open_device(gpu::parse_device("auto"), &reason);
  got_cpu = gpu::open_device(gpu::parse_device("cpu"), &reason);
  const std::string cpu_reason = reason;
  got_auto = gpu::open_device(gpu::parse_device("auto"), &reason);
  if (old) setenv("VK_ICD_FILENAMES", saved.c_str(), 1);
  else unsetenv("VK_ICD_FILENAMES");
  EXPECT_NE(err.find("vulkan"), std::string::npos) << err;
  EXPECT_TRUE(err.find("no Vulkan") != std::string::npos || err.find("vkCreateInstance") != std::string::npos)
      << err;
  EXPECT_EQ(got_auto, nullptr);
  EXPECT_EQ(reason, err);
  EXPECT_EQ(got_cpu, nullptr);
  EXPECT_EQ(cpu_reason, "");
}

TEST(GpuOps, GemmStridedBatchedAwkwardSizes) {
  NEED_DEVICE();
  for (int64_t M : {1, 63, 64, 65, 130})
    for (int64_t N : {1, 64, 65})
      for (int64_t K : {1, 15, 16, 17, 129})
        for (int t = 0; t < 4; ++t) {
          const bool ta = t & 1, tb = t & 2;
          const int64_t batch = (M == 63) ? 3 : 1;
          ops::MatmulDims md;
          md.batch = batch, md.M = M, md.N = N, md.K = K, md.trans_a = ta, md.trans_b = tb;
          auto A = rnd(batch * M * K, 1 + M + N + K), B = rnd(batch * K * N, 7 + M * N + K);
          auto C0 = rnd(batch * M * N, 3);
          std::vector<double> want(C0.size());
          ops::matmul_forward<double>(Backend::reference, md, A.data(), B.data(), want.data());
          for (size_t i = 0; i < want.size(); ++i) want[i] = 0.5 * want[i] + C0[i];  // alpha 0.5, accumulate
          gpu::GemmArgs g;
          g.M = M, g.N = N, g.K = K, g.batch = batch, g.alpha = 0.5f, g.accumulate = true;
          g.a.sb = M * K, g.a.sr = ta ? 1 : K, g.a.sc = ta ? M : 1;
          g.b.sb = K * N, g.b.sr = tb ? 1 : N, g.b.sc = tb ? K : 1;
          g.c.sb = M * N, g.c.sr = N, g.c.sc = 1;
          Buffer a = up(*dev, A), b = up(*dev, B), c = up(*dev, C0);
          dev->gemm(g, a, b, c);
          expect_close(down(*dev, c, batch * M * N), want, 2e-5,
                       "gemm M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                           " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
          if (HasFatalFailure()) return;
        }
}

TEST(GpuOps, LinearForwardBackward) {
  NEED_DEVICE();
  struct S { int64_t R, I, O; };
  for (S s : {S{1, 1, 1}, S{3, 5, 7}, S{64, 64, 64}, S{65, 17, 129}, S{130, 70, 33}}) {
    const std::string what = "linear R=" + std::to_string(s.R) + " I=" + std::to_string(s.I) + " O=" +
                             std::to_string(s.O);
    auto x = rnd(s.R * s.I, 11), w = rnd(s.O * s.I, 12), b = rnd(s.O, 13), gy = rnd(s.R * s.O, 14);
    std::vector<double> y(s.R * s.O), gx = rnd(s.R * s.I, 15), gw = rnd(s.O * s.I, 16), gb = rnd(s.O, 17);
    Buffer dx = up(*dev, x), dw = up(*dev, w), db = up(*dev, b), dgy = up(*dev, gy), dy = dev->alloc(s.R * s.O);
    Buffer dgx = up(*dev, gx), dgw = up(*dev, gw), dgb = up(*dev, gb);  // backward accumulates onto these
    ops::linear_forward<double>(Backend::reference, s.R, s.I, s.O, x.data(), w.data(), b.data(), y.data());
    ops::linear_backward<double>(Backend::reference, s.R, s.I, s.O, x.data(), w.data(), gy.data(), gx.data(),
                                 gw.data(), gb.data());
    dev->linear_forward(s.R, s.I, s.O, dx, dw, &db, dy);
    dev->linear_backward(s.R, s.I, s.O, dx, dw, dgy, &dgx, &dgw, &dgb);
    expect_close(down(*dev, dy, s.R * s.O), y, 2e-5, what + " y");
    expect_close(down(*dev, dgx, s.R * s.I), gx, 2e-5, what + " gx");
    expect_close(down(*dev, dgw, s.O * s.I), gw, 2e-5, what + " gw");
    expect_close(down(*dev, dgb, s.O), gb, 2e-5, what + " gb");
    if (HasFatalFailure()) return;
  }
}

TEST(GpuOps, UnaryForwardBackwardEveryKind) {
  NEED_DEVICE();
  const int64_t n = 1000;
  auto x = rnd(n, 21, 6.0);
  x[0] = 0, x[1] = 40, x[2] = -40, x[3] = 1e-3;  // the kink, saturation, the tails
  auto gy = rnd(n, 22);
  for (ops::Unary k : {ops::Unary::relu, ops::Unary::softplus, ops::Unary::gelu, ops::Unary::tanh,
                       ops::Unary::sigmoid, ops::Unary::gelu_tanh}) {
    const ops::UnaryParams p{k, k == ops::Unary::softplus ? 2.5 : 1.0};
    std::vector<double> y(n), gx = rnd(n, 23);
    ops::unary_forward<double>(Backend::reference, p, n, x.data(), y.data());
    ops::unary_backward<double>(Backend::reference, p, n, x.data(), y.data(), gy.data(), gx.data());
    Buffer dx = up(*dev, x), dy = dev->alloc(n), dgy = up(*dev, gy), dgx = up(*dev, rnd(n, 23));
    dev->unary_forward(p, n, dx, dy);
    dev->unary_backward(p, n, dx, dgy, dgx);
    const std::string what = "unary kind " + std::to_string(static_cast<int>(k));
    expect_close(down(*dev, dy, n), y, 1e-5, what + " y");
    expect_close(down(*dev, dgx, n), gx, 1e-5, what + " gx");
    if (HasFatalFailure()) return;
  }
}

TEST(GpuOps, SoftmaxAndLogSoftmaxForwardBackward) {
  NEED_DEVICE();
  for (bool log : {false, true})
    for (int64_t C : {1, 5, 127, 128, 129, 300}) {
      const int64_t R = 7;
      auto x = rnd(R * C, 31 + C, 8.0), gy = rnd(R * C, 32);
      std::vector<double> y(R * C), gx = rnd(R * C, 33);
      ops::softmax_forward<double>(Backend::reference, log, R, C, x.data(), y.data());
      ops::softmax_backward<double>(Backend::reference, log, R, C, y.data(), gy.data(), gx.data());
      Buffer dx = up(*dev, x), dy = dev->alloc(R * C), dgy = up(*dev, gy), dgx = up(*dev, rnd(R * C, 33));
      dev->softmax_forward(log, R, C, dx, dy);
      dev->softmax_backward(log, R, C, dy, dgy, dgx);
      const std::string what = std::string(log ? "log_softmax" : "softmax") + " C=" + std::to_string(C);
      expect_close(down(*dev, dy, R * C), y, 1e-5, what + " y");
      expect_close(down(*dev, dgx, R * C), gx, 1e-5, what + " gx");
      if (HasFatalFailure()) return;
    }
}

TEST(GpuOps, LayerNormForwardBackward) {
  NEED_DEVICE();
  for (int64_t C : {1, 3, 127, 128, 129, 300})
    for (bool with_beta : {true, false}) {
      const int64_t R = 9;
      auto x = rnd(R * C, 41 + C, 3.0), gamma = rnd(C, 42), beta = rnd(C, 43), gy = rnd(R * C, 44);
      for (auto& v : x) v += 2.0;  // an offset the mean must remove
      std::vector<double> y(R * C), mean(R), rstd(R), gx = rnd(R * C, 45), gg = rnd(C, 46), gbt = rnd(C, 47);
      const double eps = 1e-5;
      ops::layernorm_forward<double>(Backend::reference, R, C, eps, x.data(), gamma.data(),
                                     with_beta ? beta.data() : nullptr, y.data(), mean.data(), rstd.data());
      ops::layernorm_backward<double>(Backend::reference, R, C, x.data(), gamma.data(), mean.data(), rstd.data(),
                                      gy.data(), gx.data(), gg.data(), gbt.data());
      Buffer dx = up(*dev, x), dg = up(*dev, gamma), db = up(*dev, beta), dy = dev->alloc(R * C);
      Buffer dm = dev->alloc(R), dr = dev->alloc(R), dgy = up(*dev, gy);
      Buffer dgx = up(*dev, rnd(R * C, 45)), dgg = up(*dev, rnd(C, 46)), dgb = up(*dev, rnd(C, 47));
      dev->layernorm_forward(R, C, static_cast<float>(eps), dx, dg, with_beta ? &db : nullptr, dy, dm, dr);
      dev->layernorm_backward(R, C, dx, dg, dm, dr, dgy, &dgx, &dgg, &dgb);
      const std::string what = "layernorm C=" + std::to_string(C) + (with_beta ? "" : " no beta");
      expect_close(down(*dev, dy, R * C), y, 2e-5, what + " y");
      expect_close(down(*dev, dm, R), mean, 2e-5, what + " mean");
      expect_close(down(*dev, dr, R), rstd, 2e-4, what + " rstd");
      // C = 1: x - mean is 0 up to rounding, and rstd = 1/sqrt(eps) magnifies
      // float rounding of the difference; the reference is exact there.
      const double tol = C == 1 ? 5e-2 : 1e-4;
      expect_close(down(*dev, dgx, R * C), gx, tol, what + " gx");
      expect_close(down(*dev, dgg, C), gg, tol, what + " ggamma");
      expect_close(down(*dev, dgb, C), gbt, 2e-5, what + " gbeta");
      if (HasFatalFailure()) return;
    }
}

TEST(GpuOps, EmbeddingGatherAndScatter) {
  NEED_DEVICE();
  const int64_t V = 50, D = 70, n = 300;
  std::vector<int32_t> ids(n);
  for (int64_t t = 0; t < n; ++t) ids[t] = static_cast<int32_t>((t * 37 + t / 7) % V);  // repeats
  auto table = rnd(V * D, 51), gy = rnd(n * D, 52);
  std::vector<double> y(n * D), gt = rnd(V * D, 53);
  ops::embedding_forward<double>(n, ids.data(), V, D, table.data(), y.data());
  ops::embedding_backward<double>(n, ids.data(), V, D, gy.data(), gt.data());
  Buffer di = dev->alloc(n), dt = up(*dev, table), dy = dev->alloc(n * D), dgy = up(*dev, gy);
  Buffer dgt = up(*dev, rnd(V * D, 53));
  dev->upload(di, ids.data(), n);
  dev->embedding_forward(n, di, V, D, dt, dy);
  dev->embedding_backward(n, di, V, D, dgy, dgt);
  expect_close(down(*dev, dy, n * D), y, 0, "embedding y");
  expect_close(down(*dev, dgt, V * D), gt, 1e-5, "embedding gtable");
}

TEST(GpuOps, AttentionWithPaddingMaskForwardBackward) {
  NEED_DEVICE();
  struct S { int64_t B, T, H, Dh; bool causal; };
  for (S s : {S{2, 1, 1, 3, false}, S{2, 5, 2, 3, false}, S{3, 64, 2, 16, false}, S{2, 65, 3, 8, false},
              S{2, 70, 2, 5, true}}) {
    ops::AttentionDims d;
    d.B = s.B, d.T = s.T, d.H = s.H, d.Dh = s.Dh, d.causal = s.causal;
    const int64_t n = s.B * s.T * s.H * s.Dh, np = s.B * s.H * s.T * s.T;
    auto q = rnd(n, 61, 2.0), k = rnd(n, 62, 2.0), v = rnd(n, 63), go = rnd(n, 64);
    // Item 0 reads every token; the others end in padding (at least one real key).
    std::vector<uint8_t> mask(s.B * s.T, 1);
    std::vector<int32_t> mask_i(s.B * s.T, 1);
    for (int64_t b = 1; b < s.B; ++b)
      for (int64_t t = std::max<int64_t>(1, s.T - 3 * b); t < s.T; ++t) mask[b * s.T + t] = 0, mask_i[b * s.T + t] = 0;
    std::vector<double> probs(np), out(n), gq = rnd(n, 65), gk = rnd(n, 66), gv = rnd(n, 67);
    ops::attention_forward<double>(Backend::reference, d, q.data(), k.data(), v.data(), mask.data(), probs.data(),
                                   out.data());
    ops::attention_backward<double>(Backend::reference, d, q.data(), k.data(), v.data(), probs.data(), go.data(),
                                    gq.data(), gk.data(), gv.data());
    Buffer dq = up(*dev, q), dk = up(*dev, k), dv = up(*dev, v), dgo = up(*dev, go), dm = dev->alloc(s.B * s.T);
    dev->upload(dm, mask_i.data(), s.B * s.T);
    Buffer dp = dev->alloc(np), dout = dev->alloc(n);
    Buffer dgq = up(*dev, rnd(n, 65)), dgk = up(*dev, rnd(n, 66)), dgv = up(*dev, rnd(n, 67));
    dev->attention_forward(d, dq, dk, dv, &dm, dp, dout);
    dev->attention_backward(d, dq, dk, dv, dp, dgo, &dgq, &dgk, &dgv);
    const std::string what = "attention B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) + " H=" +
                             std::to_string(s.H) + " Dh=" + std::to_string(s.Dh) + (s.causal ? " causal" : "");
    expect_close(down(*dev, dp, np), probs, 1e-5, what + " probs");
    expect_close(down(*dev, dout, n), out, 2e-5, what + " out");
    expect_close(down(*dev, dgq, n), gq, 5e-5, what + " gq");
    expect_close(down(*dev, dgk, n), gk, 5e-5, what + " gk");
    expect_close(down(*dev, dgv, n), gv, 5e-5, what + " gv");
    if (HasFatalFailure()) return;
  }
}

TEST(GpuOps, BinaryBroadcastingScaleSum) {
  NEED_DEVICE();
  struct S { Shape a, b; };
  for (const S& s : {S{{2, 3, 4}, {4}}, S{{2, 1, 4}, {3, 1}}, S{{5}, {1}}, S{{1}, {5}}, S{{2, 3}, {2, 3}},
                     S{{3, 1, 70}, {1, 65, 1}}, S{{1}, {1}}}) {
    const Shape ys = broadcast_shapes(s.a, s.b, "test");
    for (ops::Binary op : {ops::Binary::add, ops::Binary::mul}) {
      const std::string what = std::string(op == ops::Binary::add ? "add " : "mul ") + s.a.str() + " " + s.b.str();
      auto a = rnd(s.a.numel(), 81), b = rnd(s.b.numel(), 82), gy = rnd(ys.numel(), 83);
      std::vector<double> y(ys.numel()), ga = rnd(s.a.numel(), 84), gb = rnd(s.b.numel(), 85);
      ops::binary_forward<double>(Backend::reference, op, s.a, s.b, a.data(), b.data(), y.data());
      ops::binary_backward<double>(Backend::reference, op, s.a, s.b, a.data(), b.data(), gy.data(), ga.data(),
                                   gb.data());
      Buffer da = up(*dev, a), db = up(*dev, b), dy = dev->alloc(ys.numel()), dgy = up(*dev, gy);
      Buffer dga = up(*dev, rnd(s.a.numel(), 84)), dgb = up(*dev, rnd(s.b.numel(), 85));
      dev->binary_forward(op, s.a, s.b, da, db, dy);
      dev->binary_backward(op, s.a, s.b, da, db, dgy, &dga, &dgb);
      expect_close(down(*dev, dy, ys.numel()), y, 1e-6, what + " y");
      expect_close(down(*dev, dga, s.a.numel()), ga, 1e-5, what + " ga");
      expect_close(down(*dev, dgb, s.b.numel()), gb, 1e-5, what + " gb");
      if (HasFatalFailure()) return;
    }
  }
  const int64_t n = 1000;
  auto x = rnd(n, 86), g0 = rnd(n, 87);
  Buffer dx = up(*dev, x), dy = dev->alloc(n), dg = up(*dev, g0), ds = dev->alloc(1), dgs = up(*dev, {0.75});
  dev->scale_forward(n, -1.5f, dx, dy);
  dev->scale_backward(n, -1.5f, dx, dg);  // gx += s gy, with gy = x
  dev->sum_forward(n, dx, ds);
  auto y = down(*dev, dy, n), g = down(*dev, dg, n), sm = down(*dev, ds, 1);
  double want_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_NEAR(y[i], -1.5 * x[i], 1e-6);
    ASSERT_NEAR(g[i], g0[i] - 1.5 * x[i], 1e-6);
    want_sum += x[i];
  }
  EXPECT_NEAR(sm[0], want_sum, 1e-4);
  dev->sum_backward(n, dgs, dg);
  auto g2 = down(*dev, dg, n);
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(g2[i], g[i] + 0.75, 1e-6);
}

TEST(GpuOps, SliceConcatPick) {
  NEED_DEVICE();
  const Shape xs{3, 70, 5};
  auto x = rnd(xs.numel(), 91);
  for (int axis : {0, 1, 2, -1})
    for (auto se : {std::pair<int64_t, int64_t>{0, 1}, {1, 3}, {0, 3}}) {
      const int a = axis < 0 ? axis + xs.rank : axis;
      const int64_t start = se.first, end = std::min<int64_t>(se.second, xs.dims[a]);
      Shape ys = xs;
      ys.dims[a] = end - start;
      std::vector<double> y(ys.numel()), gx = rnd(xs.numel(), 92);
      auto gy = rnd(ys.numel(), 93);
      ops::slice_forward<double>(xs, axis, start, end, x.data(), y.data());
      ops::slice_backward<double>(xs, axis, start, end, gy.data(), gx.data());
      Buffer dx = up(*dev, x), dy = dev->alloc(ys.numel()), dgy = up(*dev, gy), dgx = up(*dev, rnd(xs.numel(), 92));
      dev->slice_forward(xs, axis, start, end, dx, dy);
      dev->slice_backward(xs, axis, start, end, dgy, dgx);
      const std::string what = "slice axis " + std::to_string(axis) + " [" + std::to_string(start) + ", " +
                               std::to_string(end) + ")";
      expect_close(down(*dev, dy, ys.numel()), y, 0, what + " y");
      expect_close(down(*dev, dgx, xs.numel()), gx, 1e-6, what + " gx");
      if (HasFatalFailure()) return;
    }
  for (int axis : {0, 1, 2}) {
    std::vector<Shape> shapes{{2, 3, 4}, {2, 3, 4}, {2, 3, 4}};
    for (int i = 0; i < 3; ++i) shapes[i].dims[axis] = i + 1;
    std::vector<std::vector<double>> xs3, gxs3;
    std::vector<const double*> xp;
    std::vector<double*> gp;
    int64_t total = 0;
    for (int i = 0; i < 3; ++i) {
      xs3.push_back(rnd(shapes[i].numel(), 100 + i));
      gxs3.push_back(rnd(shapes[i].numel(), 110 + i));
      total += shapes[i].numel();
    }
    for (int i = 0; i < 3; ++i) xp.push_back(xs3[i].data()), gp.push_back(gxs3[i].data());
    std::vector<double> y(total);
    auto gy = rnd(total, 120);
    ops::concat_forward<double>(3, shapes.data(), axis, xp.data(), y.data());
    ops::concat_backward<double>(3, shapes.data(), axis, gy.data(), gp.data());
    std::vector<Buffer> bx, bg;
    for (int i = 0; i < 3; ++i) bx.push_back(up(*dev, xs3[i])), bg.push_back(up(*dev, rnd(shapes[i].numel(), 110 + i)));
    Buffer dy = dev->alloc(total), dgy = up(*dev, gy);
    dev->concat_forward(shapes, axis, {&bx[0], &bx[1], &bx[2]}, dy);
    dev->concat_backward(shapes, axis, dgy, {&bg[0], &bg[1], &bg[2]});
    expect_close(down(*dev, dy, total), y, 0, "concat axis " + std::to_string(axis));
    for (int i = 0; i < 3; ++i)
      expect_close(down(*dev, bg[i], shapes[i].numel()), gxs3[i], 1e-6, "concat backward input " + std::to_string(i));
  }
  const int64_t R = 300, C = 7;
  auto px = rnd(R * C, 130), pgy = rnd(R, 131);
  std::vector<int32_t> idx(R);
  for (int64_t r = 0; r < R; ++r) idx[r] = static_cast<int32_t>((r * 5) % C);
  std::vector<double> py(R), pgx = rnd(R * C, 132);
  for (int64_t r = 0; r < R; ++r) py[r] = px[r * C + idx[r]], pgx[r * C + idx[r]] += pgy[r];
  Buffer di = dev->alloc(R), dx = up(*dev, px), dy = dev->alloc(R), dgy = up(*dev, pgy), dgx = up(*dev, rnd(R * C, 132));
  dev->upload(di, idx.data(), R);
  dev->pick_forward(R, C, di, dx, dy);
  dev->pick_backward(R, C, di, dgy, dgx);
  expect_close(down(*dev, dy, R), py, 0, "pick y");
  expect_close(down(*dev, dgx, R * C), pgx, 1e-6, "pick gx");
}

TEST(GpuOps, Conv1dAndMaxPoolForwardBackward) {
  NEED_DEVICE();
  struct S { int64_t B, T, Cin, Cout, W, pad; };
  for (S s : {S{1, 1, 1, 1, 1, 0}, S{2, 9, 3, 5, 3, 1}, S{3, 70, 17, 65, 5, 2}, S{2, 4, 8, 4, 5, 2}, S{2, 66, 64, 64, 2, 0}}) {
    ops::Conv1dDims d;
    d.B = s.B, d.T = s.T, d.Cin = s.Cin, d.Cout = s.Cout, d.W = s.W, d.pad = s.pad;
    const int64_t To = d.t_out(), nx = s.B * s.T * s.Cin, nw = s.Cout * s.W * s.Cin, ny = s.B * To * s.Cout;
    auto x = rnd(nx, 141), w = rnd(nw, 142), b = rnd(s.Cout, 143), gy = rnd(ny, 144);
    std::vector<double> y(ny), gx = rnd(nx, 145), gw = rnd(nw, 146), gb = rnd(s.Cout, 147);
    ops::conv1d_forward<double>(Backend::reference, d, x.data(), w.data(), b.data(), y.data());
    ops::conv1d_backward<double>(Backend::reference, d, x.data(), w.data(), gy.data(), gx.data(), gw.data(), gb.data());
    Buffer dx = up(*dev, x), dw = up(*dev, w), db = up(*dev, b), dy = dev->alloc(ny), dgy = up(*dev, gy);
    Buffer dgx = up(*dev, rnd(nx, 145)), dgw = up(*dev, rnd(nw, 146)), dgb = up(*dev, rnd(s.Cout, 147));
    dev->conv1d_forward(d, dx, dw, &db, dy);
    dev->conv1d_backward(d, dx, dw, dgy, &dgx, &dgw, &dgb);
    const std::string what = "conv1d T=" + std::to_string(s.T) + " Cin=" + std::to_string(s.Cin) + " Cout=" +
                             std::to_string(s.Cout) + " W=" + std::to_string(s.W) + " pad=" + std::to_string(s.pad);
    expect_close(down(*dev, dy, ny), y, 2e-5, what + " y");
    expect_close(down(*dev, dgx, nx), gx, 2e-5, what + " gx");
    expect_close(down(*dev, dgw, nw), gw, 2e-5, what + " gw");
    expect_close(down(*dev, dgb, s.Cout), gb, 2e-5, what + " gb");
    if (HasFatalFailure()) return;
  }
  struct P { int64_t B, T, C, window, stride; };
  for (P s : {P{2, 9, 3, 9, 1}, P{3, 70, 65, 70, 1}, P{2, 10, 4, 3, 1}, P{2, 11, 5, 3, 2}}) {
    ops::PoolDims d;
    d.B = s.B, d.T = s.T, d.C = s.C, d.window = s.window, d.stride = s.stride;
    const int64_t nx = s.B * s.T * s.C, ny = s.B * d.t_out() * s.C;
    auto x = rnd(nx, 151), gy = rnd(ny, 152);
    for (int64_t i = 0; i < nx; i += 7) x[i] = x[i / 2];  // ties: the first winner must win
    std::vector<double> y(ny), gx = rnd(nx, 153);
    std::vector<int32_t> am(ny);
    ops::maxpool_forward<double>(d, x.data(), y.data(), am.data());
    ops::maxpool_backward<double>(d, am.data(), gy.data(), gx.data());
    Buffer dx = up(*dev, x), dy = dev->alloc(ny), da = dev->alloc(ny), dgy = up(*dev, gy), dgx = up(*dev, rnd(nx, 153));
    dev->maxpool_forward(d, dx, dy, da);
    dev->maxpool_backward(d, da, dgy, dgx);
    const std::string what = "maxpool T=" + std::to_string(s.T) + " window=" + std::to_string(s.window) +
                             " stride=" + std::to_string(s.stride);
    expect_close(down(*dev, dy, ny), y, 0, what + " y");
    std::vector<float> af(ny);
    dev->download(da, af.data(), ny);
    std::vector<int32_t> got(ny);
    std::memcpy(got.data(), af.data(), sizeof(int32_t) * ny);
    EXPECT_EQ(got, am) << what << " argmax";
    expect_close(down(*dev, dgx, nx), gx, 1e-6, what + " gx");
    if (HasFatalFailure()) return;
  }
}

TEST(GpuOps, AChainOfOpsIsOneSubmission) {
  NEED_DEVICE();
  // linear -> gelu -> layernorm -> softmax recorded back to back: one
  // submission at the download, not one per op.
  const int64_t R = 33, I = 20, O = 40;
  auto x = rnd(R * I, 71), w = rnd(O * I, 72), b = rnd(O, 73), gamma = rnd(O, 74);
  Buffer dx = up(*dev, x), dw = up(*dev, w), db = up(*dev, b), dg = up(*dev, gamma);
  Buffer h = dev->alloc(R * O), a = dev->alloc(R * O), l = dev->alloc(R * O), m = dev->alloc(R), r = dev->alloc(R);
  Buffer p = dev->alloc(R * O);
  dev->flush();
  const uint64_t s0 = dev->submissions(), d0 = dev->dispatches();
  dev->linear_forward(R, I, O, dx, dw, &db, h);
  dev->unary_forward({ops::Unary::gelu, 1.0}, R * O, h, a);
  dev->layernorm_forward(R, O, 1e-5f, a, dg, nullptr, l, m, r);
  dev->softmax_forward(false, R, O, l, p);
  auto got = down(*dev, p, R * O);
  EXPECT_EQ(dev->submissions() - s0, 1u);
  EXPECT_EQ(dev->dispatches() - d0, 4u);
  std::vector<double> y1(R * O), y2(R * O), y3(R * O), y4(R * O), mm(R), rr(R);
  ops::linear_forward<double>(Backend::reference, R, I, O, x.data(), w.data(), b.data(), y1.data());
  ops::unary_forward<double>(Backend::reference, {ops::Unary::gelu, 1.0}, R * O, y1.data(), y2.data());
  ops::layernorm_forward<double>(Backend::reference, R, O, 1e-5, y2.data(), gamma.data(), nullptr, y3.data(),
                                 mm.data(), rr.data());
  ops::softmax_forward<double>(Backend::reference, false, R, O, y3.data(), y4.data());
  expect_close(got, y4, 1e-4, "chain");
}
