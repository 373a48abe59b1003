// wordlight info       what this build uses (GEMM implementation, threads)
// wordlight selfcheck  a small transformer block through every pass of the
//                      core; first and second derivatives checked against
//                      finite differences
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "cli.h"
#include "wordlight/gemm.h"
#include "wordlight/graph.h"
#include "wordlight/thread_pool.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

int cmd_info(const Args&) {
  std::printf("wordlight core\n  gemm fast path: %s\n  threads: %d\n", gemm_fast_name(), num_threads());
  return 0;
}

// A one-block transformer encoder over 12 "word" embeddings of width 32 with
// random weights; the scalar is the log-probability of class 1.
struct Demo {
  static constexpr int T = 12, C = 32, H = 4, F = 64, L = 2;
  std::vector<std::vector<double>> w;
  explicit Demo(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n(0.0, 1.0);
    auto mk = [&](size_t sz, double sd) {
      std::vector<double> v(sz);
      for (auto& x : v) x = n(rng) * sd;
      return v;
    };
    const double s = 1.0 / std::sqrt(double(C));
    w = {mk(C * C, s), mk(C, .02), mk(C * C, s), mk(C, .02), mk(C * C, s), mk(C, .02), mk(C * C, s), mk(C, .02),
         mk(F * C, s), mk(F, .02), mk(C * F, 1.0 / std::sqrt(double(F))), mk(C, .02), mk(L * C, s), mk(L, .02)};
  }
  template <class T_>
  Var forward(Graph<T_>& g, Var x, std::vector<std::vector<T_>>& store) const {
    store.clear();
    for (auto& v : w) store.emplace_back(v.begin(), v.end());
    std::vector<T_> ones(C, T_(1)), zeros(C, T_(0));
    store.push_back(ones);
    store.push_back(zeros);
    auto P = [&](size_t i, Shape s) { return g.parameter(s, store[i].data()); };
    Var q = g.linear(x, P(0, {C, C}), P(1, {C})), k = g.linear(x, P(2, {C, C}), P(3, {C}));
    Var v = g.linear(x, P(4, {C, C}), P(5, {C}));
    Var a = g.linear(g.attention(q, k, v, H), P(6, {C, C}), P(7, {C}));
    Var h = g.layernorm(g.add(x, a), P(14, {C}), P(15, {C}), T_(1e-12));
    Var f = g.linear(g.gelu(g.linear(h, P(8, {F, C}), P(9, {F}))), P(10, {C, F}), P(11, {C}));
    h = g.layernorm(g.add(h, f), P(14, {C}), P(15, {C}), T_(1e-12));
    Var cls = g.reshape(g.slice(h, 1, 0, 1), Shape{1, C});
    Var lp = g.log_softmax(g.linear(cls, P(12, {L, C}), P(13, {L})));
    const int32_t target = 1;
    return g.sum(g.pick(lp, &target));
  }
};

int cmd_selfcheck(const Args&) {
  Demo demo(7);
  std::mt19937_64 rng(11);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<double> x(Demo::T * Demo::C), v(x.size());
  for (auto& e : x) e = n(rng);
  for (auto& e : v) e = n(rng);
  const Shape xs{1, Demo::T, Demo::C};

  // float, fast path: value, gradient, and H v
  std::vector<float> xf(x.begin(), x.end()), vf(v.begin(), v.end()), hv(x.size()), grad(x.size());
  std::vector<std::vector<float>> storef;
  Graph<float> gf;
  auto t0 = std::chrono::steady_clock::now();
  Var xv = gf.input(xs, xf.data());
  Var y = demo.forward(gf, xv, storef);
  const float fx = gf.value(y)[0];
  hessian_vector_products(gf, y, xv, 1, vf.data(), hv.data(), grad.data());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // double reference: finite differences of the gradient along v
  auto grad_at = [&](const std::vector<double>& at) {
    Graph<double> g(Backend::reference);
    std::vector<std::vector<double>> store;
    Var xi = g.input(xs, at.data());
    Var yi = demo.forward(g, xi, store);
    g.backward(yi);
    return std::vector<double>(g.grad(xi), g.grad(xi) + at.size());
  };
  const double h = 1e-5;
  std::vector<double> xp = x, xm = x;
  for (size_t i = 0; i < x.size(); ++i) {
    xp[i] += h * v[i];
    xm[i] -= h * v[i];
  }
  auto gp = grad_at(xp), gm = grad_at(xm), g0 = grad_at(x);
  double err_h = 0, norm_h = 0, err_g = 0, norm_g = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double fd = (gp[i] - gm[i]) / (2 * h);
    err_h = std::max(err_h, std::fabs(hv[i] - fd));
    norm_h = std::max(norm_h, std::fabs(fd));
    err_g = std::max(err_g, std::fabs(grad[i] - g0[i]));
    norm_g = std::max(norm_g, std::fabs(g0[i]));
  }

  std::printf("wordlight selfcheck: one transformer block (T=%d, width %d, %d heads), random weights\n", Demo::T,
              Demo::C, Demo::H);
  std::printf("  gemm fast path          %s, %d thread(s)\n", gemm_fast_name(), num_threads());
  std::printf("  log p(class 1)          %.6f\n", fx);
  std::printf("  gradient x input per token (float, fast path):\n   ");
  for (int t = 0; t < Demo::T; ++t) {
    double s = 0;
    for (int c = 0; c < Demo::C; ++c) s += grad[t * Demo::C + c] * xf[t * Demo::C + c];
    std::printf(" %+.4f", s);
  }
  std::printf("\n  gradient: max |float fast - double reference| = %.2e (max |grad| %.2e)\n", err_g, norm_g);
  std::printf("  H v exact (forward-over-reverse) vs FD of gradients in double: max error %.2e (max |Hv| %.2e)\n",
              err_h, norm_h);
  std::printf("  forward + gradient + H v took %.2f ms\n", ms);
  const bool ok = err_g <= 1e-4 * (1 + norm_g) && err_h <= 1e-3 * (1 + norm_h);
  std::printf("  %s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}

const RegisterCommand reg_info({"info", "info        print the build's GEMM implementation and thread count", {}, {}, cmd_info, 0});
const RegisterCommand reg_selfcheck(
    {"selfcheck",
     "selfcheck   run a small transformer block through forward, gradient and exact\n"
     "Hessian-vector products; compare with finite differences",
     {}, {}, cmd_selfcheck, 1});

}  // namespace
