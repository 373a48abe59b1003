// The tape on the device (wordlight/device_tape.h) against the CPU tape:
// a graph with every op kind the shipped models use (and matmul, which has
// no device kernel and runs on the CPU for its node) is built twice, once
// on the CPU and once deferred on the device; forward values, gradients,
// LRP relevances and LRP's absorbed records must agree. Skipped with the
// reason when no Vulkan device exists, failed then under CI=true.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <tuple>
#include <random>
#include <string>
#include <vector>

#include "wordlight/device_tape.h"
#include "wordlight/error.h"
#include "wordlight/gpu.h"
#include "wordlight/graph.h"
#include "gpu_test_util.h"

using namespace wordlight;

namespace {

std::vector<float> rnd(int64_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(g);
  return v;
}

// A small model touching every op kind: embedding + input, a conv1d and
// max pool branch, a transformer block (linear, attention with a padding
// mask, layernorm, gelu, residual adds, a mul gate), a matmul (no device
// kernel), slice / concat / reshape / scale / tanh, a classifier and
// softmax / pick / sum.
struct Net {
  static constexpr int B = 2, T = 5, D = 8, H = 2, C = 3, V = 11;
  std::vector<float> table = rnd(V * D, 1), wq = rnd(D * D, 2, 0.5f), wk = rnd(D * D, 3, 0.5f),
                     wv = rnd(D * D, 4, 0.5f), wo = rnd(D * D, 5, 0.5f), bo = rnd(D, 6, 0.1f),
                     gamma = rnd(D, 7, 0.5f), beta = rnd(D, 8, 0.1f), wc = rnd(D * 3 * D, 9, 0.4f),
                     bc = rnd(D, 10, 0.1f), wf = rnd(C * 3 * D, 11, 0.5f), bf = rnd(C, 12, 0.1f),
                     x = rnd(B * T * D, 13);
  std::vector<int32_t> ids{1, 4, 7, 2, 0, 3, 3, 9, 10, 0};
  std::vector<uint8_t> mask{1, 1, 1, 1, 0, 1, 1, 1, 1, 1};
  std::vector<int32_t> target{2, 0};
  Net() {
    for (auto& v : gamma) v += 1.f;
  }

  Var in, out, score;
  void build(Graph<float>& g) {
    in = g.input(Shape{B, T, D}, x.data(), true);
    Var e = g.embedding(g.parameter(Shape{V, D}, table.data()), ids.data(), Shape{B, T});
    Var h = g.add(in, e);
    auto lin = [&](Var v, const std::vector<float>& w, const float* b) {
      return g.linear(v, g.parameter(Shape{D, D}, w.data()), b ? g.parameter(Shape{D}, b) : Var{});
    };
    Var a = g.attention(lin(h, wq, nullptr), lin(h, wk, nullptr), lin(h, wv, nullptr), H, mask.data());
    Var r = g.add(h, lin(a, wo, bo.data()));
    Var n = g.layernorm(r, g.parameter(Shape{D}, gamma.data()), g.parameter(Shape{D}, beta.data()), 1e-5f);
    Var f = g.mul(g.gelu(n), g.sigmoid(n));
    Var c = g.conv1d(f, g.parameter(Shape{D, 3, D}, wc.data()), g.parameter(Shape{D}, bc.data()), 1);
    Var p = g.reshape(g.max_over_time(g.relu(c)), Shape{B, D});
    Var m = g.matmul(n, n, false, true);                             // (B, T, T): no device kernel
    Var ms = g.reshape(g.slice(g.softmax(m), 1, 0, 1), Shape{B, T});  // (B, T)
    Var first = g.reshape(g.slice(n, 1, 0, 1), Shape{B, D});
    Var feat = g.concat({p, g.tanh(first), g.scale(g.slice(g.concat({ms, ms}, 1), 1, 2, 2 + D), 0.5f)}, 1);
    out = g.linear(feat, g.parameter(Shape{C, 3 * D}, wf.data()), g.parameter(Shape{C}, bf.data()));
    score = g.sum(g.pick(g.log_softmax(out), target.data()));
  }
};

// The same net built on a CPU graph and, deferred, on a device graph.
struct Both {
  Net net, dnet;
  Graph<float> cpu, g;
  gpu::DeviceTape tape;
  explicit Both(const std::shared_ptr<gpu::Device>& d) : tape(d) {
    net.build(cpu);
    tape.attach(g);
    dnet.build(g);
  }
};

void expect_close(const float* got, const float* want, int64_t n, double tol, const std::string& what) {
  ASSERT_TRUE(got && want) << what;
  double scale = 0;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << " [" << i << "]";
    ASSERT_LE(std::fabs(got[i] - want[i]), tol * (1 + scale)) << what << " [" << i << "]: device " << got[i]
                                                              << ", cpu " << want[i];
  }
}

}  // namespace

TEST(GpuTape, ForwardAndBackwardEqualTheCpuTape) {
  NEED_DEVICE();
  Both b(dev_ptr);
  auto& [net, dnet, cpu, g, tape] = b;
  cpu.backward(net.score);
  EXPECT_TRUE(g.deferred());
  EXPECT_THROW(g.backward(dnet.score), Error);  // the CPU pass refuses device values
  const uint64_t subs = dev->submissions();
  tape.forward(g, {dnet.out, dnet.score});
  expect_close(g.value(dnet.out), cpu.value(net.out), cpu.numel(net.out), 1e-5, "logits");
  expect_close(g.value(dnet.score), cpu.value(net.score), 1, 1e-5, "score");
  tape.backward(g, dnet.score, nullptr, {dnet.in});
  expect_close(g.grad(dnet.in), cpu.grad(net.in), cpu.numel(net.in), 1e-5, "input gradient");
  // matmul ran on the CPU, alone: one op, forward and backward.
  EXPECT_EQ(tape.stats().cpu_ops, std::set<std::string>{"matmul"});
  EXPECT_EQ(tape.stats().cpu_nodes, 2);
  EXPECT_GT(tape.stats().device_nodes, 40);
  // Far fewer submissions than ops: uploads, the matmul's round trips, the reads.
  EXPECT_LT(dev->submissions() - subs, 25u);
}

TEST(GpuTape, LrpBackwardAndItsAccountEqualTheCpuTape) {
  NEED_DEVICE();
  for (int composite = 0; composite < 3; ++composite) {
    LrpOptions o;  // default: epsilon, identity, uniform, attnlrp
    o.epsilon = 1e-2;
    if (composite == 1) o.set({OpKind::attention}, LrpRule::cp_lrp).set({OpKind::binary}, LrpRule::gate);
    if (composite == 2) o.set({OpKind::linear, OpKind::conv1d}, LrpRule::z_plus);  // CPU per node
    Both b(dev_ptr);
    auto& [net, dnet, cpu, g, tape] = b;
    std::vector<LrpAbsorbed> want;
    cpu.lrp_backward(net.out, o, nullptr, &want);
    tape.forward(g, {});
    std::vector<LrpAbsorbed> got;
    tape.lrp_backward(g, dnet.out, o, nullptr, &got, {dnet.in});
    const std::string what = "composite " + std::to_string(composite);
    expect_close(g.grad(dnet.in), cpu.grad(net.in), cpu.numel(net.in), 1e-4, what + ": relevance gradient");
    // Records keyed by node, sink and constant operand; a record of float
    // rounding noise on one side only (an op whose total is 1e-9, not 0)
    // compares with 0.
    std::map<std::tuple<int, int, int>, std::pair<double, double>> by;
    double total = 0;
    for (const auto& r : want) {
      by[{r.node, static_cast<int>(r.sink), static_cast<int>(r.constant_op)}].second += r.relevance;
      total += std::fabs(r.relevance);
    }
    for (const auto& r : got) by[{r.node, static_cast<int>(r.sink), static_cast<int>(r.constant_op)}].first += r.relevance;
    ASSERT_GT(total, 0.1) << what;
    for (const auto& [k, v] : by)
      EXPECT_NEAR(v.first, v.second, 1e-4 * (1 + total))
          << what << ": node " << std::get<0>(k) << " sink " << std::get<1>(k) << " constant " << std::get<2>(k);
    if (composite == 2) EXPECT_TRUE(tape.stats().cpu_ops.count("linear (z-plus)")) << what;
    else EXPECT_FALSE(tape.stats().cpu_ops.count("linear (epsilon)")) << what;
  }
}

TEST(GpuTape, ToHostMakesAnOrdinaryGraph) {
  NEED_DEVICE();
  Both b(dev_ptr);
  auto& [net, dnet, cpu, g, tape] = b;
  cpu.backward(net.score);
  tape.to_host(g);
  EXPECT_FALSE(g.deferred());
  g.backward(dnet.score);  // on the CPU, from the device's values and saved buffers
  expect_close(g.grad(dnet.in), cpu.grad(net.in), cpu.numel(net.in), 1e-5, "input gradient after to_host");
}

TEST(GpuTape, ParametersAreUploadedOncePerDevice) {
  NEED_DEVICE();
  Net net;
  gpu::DeviceTape tape(dev_ptr);
  Graph<float> g;
  tape.attach(g);
  net.build(g);
  tape.forward(g, {});
  const int64_t first = tape.stats().uploads;
  tape.attach(g);
  net.build(g);
  tape.forward(g, {net.score});
  // The second pass uploads only the input, the ids, the mask, the pick's
  // indices and the matmul's result (computed on the CPU).
  EXPECT_EQ(tape.stats().uploads - first, 5);
  net.wf[0] += 1.f;  // a changed weight at the same address is uploaded again
  tape.attach(g);
  net.build(g);
  tape.forward(g, {});
  EXPECT_EQ(tape.stats().uploads - first, 5 + 6);
}

TEST(GpuTape, OutOfDeviceMemoryIsADeviceError) {
  NEED_DEVICE();
  std::shared_ptr<gpu::Device> small;
  {
    gpu_test::ScopedEnv limit("WORDLIGHT_VULKAN_MEMORY_LIMIT", "4k");
    small = gpu::Device::open(-1);
  }
  Net net;
  gpu::DeviceTape tape(small);
  Graph<float> g;
  tape.attach(g);
  net.build(g);
  try {
    tape.forward(g, {net.score});
    FAIL() << "expected out of device memory";
  } catch (const gpu::DeviceError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("out of device memory"), std::string::npos) << m;
    EXPECT_NE(m.find(small->info().name), std::string::npos) << m;
  }
}
