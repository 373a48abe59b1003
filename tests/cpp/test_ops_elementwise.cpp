// Element-wise ops: unary non-linearities and broadcasting add / mul.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "check_util.h"
#include "wordlight/error.h"
#include "wordlight/ops.h"

using namespace wordlight;
using wltest::all_close;
using wltest::OpUnderTest;

namespace {

// Sizes below, at and past the SIMD widths (4 floats in SSE / wasm v128, 8
// in the 8-lane reductions) and the 256-element chunk of the unary kernels.
const int64_t kSizes[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000};

struct NamedUnary {
  const char* name;
  ops::UnaryParams p;
};
std::vector<NamedUnary> all_unary() {
  return {{"relu", {ops::Unary::relu, 1.0}},       {"softplus_b1", {ops::Unary::softplus, 1.0}},
          {"softplus_b3.5", {ops::Unary::softplus, 3.5}}, {"gelu", {ops::Unary::gelu, 1.0}},
          {"tanh", {ops::Unary::tanh, 1.0}},       {"sigmoid", {ops::Unary::sigmoid, 1.0}},
          {"gelu_tanh", {ops::Unary::gelu_tanh, 1.0}}};
}

// The op as seen by the derivative checker, in double on the reference.
// y is computed and passed as a caller would (the op does not need it).
OpUnderTest unary_op(ops::UnaryParams p, size_t n) {
  const Backend be = Backend::reference;
  auto fwd = [=](const double* x) {
    std::vector<double> y(n);
    ops::unary_forward<double>(be, p, n, x, y.data());
    return y;
  };
  OpUnderTest op;
  op.in_sizes = {n};
  op.out_size = n;
  op.forward = [=](const OpUnderTest::Ins& x, double* y) { ops::unary_forward<double>(be, p, n, x[0], y); };
  op.tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, double* dy) {
    ops::unary_tangent<double>(be, p, n, K, x[0], fwd(x[0]).data(), dx[0], dy);
  };
  op.backward = [=](const OpUnderTest::Ins& x, const double* gy, const OpUnderTest::Outs& gx) {
    ops::unary_backward<double>(be, p, n, x[0], fwd(x[0]).data(), gy, gx[0]);
  };
  op.backward_tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, const double* gy,
                            const double* dgy, const OpUnderTest::Outs& dgx) {
    ops::unary_backward_tangent<double>(be, p, n, K, x[0], fwd(x[0]).data(), dx[0], gy, dgy, dgx[0]);
  };
  return op;
}

// Outputs of all four functions for one input set, in T.
template <class T>
struct UnaryRun {
  std::vector<T> y, dy, gx, dgx;
};
template <class T>
UnaryRun<T> run_unary(Backend be, ops::UnaryParams p, int K, const std::vector<float>& x,
                      const std::vector<float>& dx, const std::vector<float>& gy, const std::vector<float>& dgy) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<T> xs(x.begin(), x.end()), dxs(dx.begin(), dx.end()), gys(gy.begin(), gy.end()),
      dgys(dgy.begin(), dgy.end());
  UnaryRun<T> r;
  r.y.resize(n);
  r.dy.resize(K * n);
  r.gx.assign(n, T(0.5));  // non-zero: the backward must add to it
  r.dgx.assign(K * n, T(-0.25));
  ops::unary_forward<T>(be, p, n, xs.data(), r.y.data());
  ops::unary_tangent<T>(be, p, n, K, xs.data(), r.y.data(), dxs.data(), r.dy.data());
  ops::unary_backward<T>(be, p, n, xs.data(), r.y.data(), gys.data(), r.gx.data());
  ops::unary_backward_tangent<T>(be, p, n, K, xs.data(), r.y.data(), dxs.data(), gys.data(), dgys.data(),
                                 r.dgx.data());
  return r;
}

}  // namespace

// ---------------------------------------------------------------- unary: derivatives

TEST(UnaryOps, DerivativesMatchFiniteDifferences) {
  for (const auto& u : all_unary()) {
    SCOPED_TRACE(u.name);
    const size_t n = 40;
    std::vector<double> x = wltest::random_vec(n, 7, -3.0, 3.0);
    if (u.p.kind == ops::Unary::relu) {
      // ReLU is not differentiable at 0 (the op uses f'(0) = 0): keep the
      // sample points at least 0.1 from the kink, well past the FD step 1e-5.
      // This skips only the kink itself.
      for (auto& v : x) v = (v < 0 ? -0.1 : 0.1) + v * (2.9 / 3.0);
    }
    wltest::check_op_derivatives(unary_op(u.p, n), {x});
  }
}

TEST(UnaryOps, DerivativesAtLargeArguments) {
  // Saturated regions: sigmoid / tanh / softplus tails and gelu's left tail.
  for (const auto& u : all_unary()) {
    if (u.p.kind == ops::Unary::relu) continue;  // covered above; no kink out here
    SCOPED_TRACE(u.name);
    std::vector<double> x = {-9.0, -6.5, -4.0, 4.0, 6.5, 9.0};
    wltest::CheckOptions o;
    o.atol = 1e-10;  // the derivatives themselves are small here
    wltest::check_op_derivatives(unary_op(u.p, x.size()), {x}, o);
  }
}

TEST(UnaryOps, DerivativesHelperMatchesTangentAndBackwardTangent) {
  // unary_derivatives(x) = (f', f'') is what tangent and backward tangent use.
  for (const auto& u : all_unary()) {
    SCOPED_TRACE(u.name);
    for (double x : {-2.5, -0.7, 0.3, 1.9}) {
      double d1 = 0, d2 = 0, y = 0, dy = 0, gx = 0, dgx = 0;
      const double one = 1.0, zero = 0.0;
      ops::unary_derivatives<double>(u.p, x, &d1, &d2);
      ops::unary_forward<double>(Backend::reference, u.p, 1, &x, &y);
      ops::unary_tangent<double>(Backend::reference, u.p, 1, 1, &x, &y, &one, &dy);
      // with gy = 1, dx = 1, dgy = 0: dgx = f''
      ops::unary_backward_tangent<double>(Backend::reference, u.p, 1, 1, &x, &y, &one, &one, &zero, &dgx);
      ops::unary_backward<double>(Backend::reference, u.p, 1, &x, &y, &one, &gx);
      EXPECT_DOUBLE_EQ(dy, d1);
      EXPECT_DOUBLE_EQ(gx, d1);
      EXPECT_DOUBLE_EQ(dgx, d2);
      double only_d1 = 0;
      ops::unary_derivatives<double>(u.p, x, &only_d1, nullptr);  // null outputs are skipped
      EXPECT_DOUBLE_EQ(only_d1, d1);
    }
  }
}

TEST(UnaryOps, NullTangentsMeanZero) {
  const ops::UnaryParams p{ops::Unary::gelu, 1.0};
  const int64_t n = 9;
  const int K = 2;
  std::vector<double> x = wltest::random_vec(n, 3), dx = wltest::random_vec(K * n, 4), gy = wltest::random_vec(n, 5),
                      dgy = wltest::random_vec(K * n, 6);
  const Backend be = Backend::reference;
  // tangent with dx = null writes zeros
  std::vector<double> dy(K * n, 7.0);
  ops::unary_tangent<double>(be, p, n, K, x.data(), nullptr, nullptr, dy.data());
  for (double v : dy) EXPECT_EQ(v, 0.0);
  // backward with gy = null leaves gx alone
  std::vector<double> gx(n, 3.0);
  ops::unary_backward<double>(be, p, n, x.data(), nullptr, nullptr, gx.data());
  for (double v : gx) EXPECT_EQ(v, 3.0);
  // backward tangent: the dgy term and the curvature term add up
  std::vector<double> full(K * n, 0.0), only_dgy(K * n, 0.0), only_curv(K * n, 0.0);
  ops::unary_backward_tangent<double>(be, p, n, K, x.data(), nullptr, dx.data(), gy.data(), dgy.data(),
                                      full.data());
  ops::unary_backward_tangent<double>(be, p, n, K, x.data(), nullptr, dx.data(), nullptr, dgy.data(),
                                      only_dgy.data());
  ops::unary_backward_tangent<double>(be, p, n, K, x.data(), nullptr, dx.data(), gy.data(), nullptr,
                                      only_curv.data());
  std::vector<double> sum(K * n);
  for (int64_t i = 0; i < K * n; ++i) sum[i] = only_dgy[i] + only_curv[i];
  EXPECT_TRUE(all_close(sum, full, 1e-14, 1e-15));
  std::vector<double> none(K * n, 1.0);
  ops::unary_backward_tangent<double>(be, p, n, K, x.data(), nullptr, nullptr, gy.data(), nullptr, none.data());
  for (double v : none) EXPECT_EQ(v, 1.0);
  // outputs may be null
  ops::unary_forward<double>(be, p, n, x.data(), nullptr);
  ops::unary_tangent<double>(be, p, n, K, x.data(), nullptr, dx.data(), nullptr);
}

// ---------------------------------------------------------------- unary: fast vs reference

// Tolerance: fast_math's functions are within 8 float ulps (6e-7 relative)
// of the exact ones (see FastMath tests); each output here combines at most
// three of them with a few float roundings, so 2e-6 relative. Where terms
// cancel (gelu' crosses zero at x = -0.75; dgx sums two products) the error
// is absolute, a few ulps of the O(1) summands: atol 1e-6.
TEST(UnaryOps, FastMatchesReferenceOnAwkwardSizes) {
  const int K = 3;
  for (const auto& u : all_unary()) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(std::string(u.name) + " n=" + std::to_string(n));
      const auto x = wltest::random_vecf(n, 11 + n, -6.f, 6.f);
      const auto dx = wltest::random_vecf(K * n, 12 + n), gy = wltest::random_vecf(n, 13 + n),
                 dgy = wltest::random_vecf(K * n, 14 + n);
      const auto fast = run_unary<float>(Backend::fast, u.p, K, x, dx, gy, dgy);
      const auto ref = run_unary<double>(Backend::reference, u.p, K, x, dx, gy, dgy);
      const auto fref = run_unary<float>(Backend::reference, u.p, K, x, dx, gy, dgy);
      EXPECT_TRUE(all_close(fast.y, ref.y, 2e-6, 1e-6)) << "forward";
      EXPECT_TRUE(all_close(fast.dy, ref.dy, 2e-6, 1e-6)) << "tangent";
      EXPECT_TRUE(all_close(fast.gx, ref.gx, 2e-6, 1e-6)) << "backward";
      EXPECT_TRUE(all_close(fast.dgx, ref.dgx, 2e-6, 1e-6)) << "backward tangent";
      // The float reference (std:: in float) meets the same bound.
      EXPECT_TRUE(all_close(fref.y, ref.y, 2e-6, 1e-6)) << "float reference forward";
      EXPECT_TRUE(all_close(fref.dgx, ref.dgx, 2e-6, 1e-6)) << "float reference backward tangent";
    }
  }
}

TEST(UnaryOps, FastIsAccurateFarOutInBothTails) {
  // Relative accuracy where the values are tiny or huge (normal floats); the
  // absolute floor 1e-37 only excuses results that are denormal in float.
  const std::vector<float> x = {-100.f, -85.f, -50.f, -20.f, -12.f, -5.f, -1e-3f, 0.f,
                                1e-3f,  5.f,   12.f,  20.f,  50.f,  85.f, 100.f,  1e6f};
  const int64_t n = static_cast<int64_t>(x.size());
  const std::vector<float> ones(n, 1.f), zeros(n, 0.f);
  for (const auto& u : all_unary()) {
    SCOPED_TRACE(u.name);
    // tangent with dx = 1 is f'; backward tangent with gy = dx = 1, dgy = 0 is f''
    const auto fast = run_unary<float>(Backend::fast, u.p, 1, x, ones, zeros, zeros);
    const auto ref = run_unary<double>(Backend::reference, u.p, 1, x, ones, zeros, zeros);
    if (u.p.kind == ops::Unary::gelu) {
      // gelu's forward is x (1 + erf(x / sqrt 2)) / 2, as PyTorch computes it
      // (fast_math.h): relative where 1 + erf does not cancel, and on the left
      // tail erf's absolute error, 2.1e-7 |x| (gelu' keeps norm_cdf's tails).
      for (int64_t i = 0; i < n; ++i) {
        const double tol = x[i] >= -1.f ? 2e-6 * std::fabs(ref.y[i]) + 1e-37 : 2.2e-7 * std::fabs(x[i]);
        EXPECT_LE(std::fabs(fast.y[i] - ref.y[i]), tol) << "f at x = " << x[i];
      }
    } else {
      EXPECT_TRUE(all_close(fast.y, ref.y, 2e-6, 1e-37)) << "f";
    }
    EXPECT_TRUE(all_close(fast.dy, ref.dy, 2e-6, 1e-37)) << "f'";
    std::vector<float> d2f(n);
    std::vector<double> d2r(n);
    std::vector<float> xs(x);
    std::vector<double> xd(x.begin(), x.end());
    ops::unary_backward_tangent<float>(Backend::fast, u.p, n, 1, xs.data(), nullptr, ones.data(), ones.data(),
                                       nullptr, d2f.data());
    std::vector<double> onesd(n, 1.0);
    ops::unary_backward_tangent<double>(Backend::reference, u.p, n, 1, xd.data(), nullptr, onesd.data(),
                                        onesd.data(), nullptr, d2r.data());
    // f'' of sigmoid / softplus is f' (1 - 2s), whose second factor cancels
    // near 0 (absolute error ~1e-7): atol 1e-6 as above.
    EXPECT_TRUE(all_close(d2f, d2r, 2e-6, u.p.kind == ops::Unary::relu ? 0.0 : 1e-6)) << "f''";
  }
}

// ---------------------------------------------------------------- unary: known values

TEST(UnaryOps, KnownValues) {
  auto f = [](ops::UnaryParams p, double x, Backend be = Backend::reference) {
    double y = 0;
    ops::unary_forward<double>(be, p, 1, &x, &y);
    return y;
  };
  auto ff = [](ops::UnaryParams p, float x) {
    float y = 0;
    ops::unary_forward<float>(Backend::fast, p, 1, &x, &y);
    return y;
  };
  const ops::UnaryParams gelu{ops::Unary::gelu, 1.0}, sp1{ops::Unary::softplus, 1.0},
      sig{ops::Unary::sigmoid, 1.0}, th{ops::Unary::tanh, 1.0}, relu{ops::Unary::relu, 1.0};
  EXPECT_NEAR(f(gelu, 1.0), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(ff(gelu, 1.f), 0.8413447460685429, 1e-6);
  EXPECT_NEAR(f(gelu, -1.0), -1.0 + 0.8413447460685429, 1e-15);  // gelu(x) - gelu(-x) = x
  // GPT-2's gelu_new, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), from Python's math.tanh
  const ops::UnaryParams gelu_tanh{ops::Unary::gelu_tanh, 1.0};
  EXPECT_NEAR(f(gelu_tanh, 1.0), 0.8411919906082768, 1e-15);
  EXPECT_NEAR(f(gelu_tanh, -1.0), -0.15880800939172324, 1e-15);
  EXPECT_NEAR(f(gelu_tanh, 2.5), 2.484915733910001, 1e-15);
  EXPECT_NEAR(ff(gelu_tanh, 1.f), 0.8411919906082768, 1e-6);
  EXPECT_NEAR(f(sp1, 0.0), std::log(2.0), 1e-15);
  EXPECT_NEAR(ff(sp1, 0.f), std::log(2.0), 1e-7);
  EXPECT_EQ(f(sig, 0.0), 0.5);
  EXPECT_EQ(ff(sig, 0.f), 0.5f);
  EXPECT_EQ(f(th, 0.0), 0.0);
  EXPECT_NEAR(f(th, 1.0), (std::exp(2.0) - 1) / (std::exp(2.0) + 1), 1e-15);
  EXPECT_EQ(f(relu, -2.0), 0.0);
  EXPECT_EQ(f(relu, 2.5), 2.5);

  double d1 = 0, d2 = 0;
  ops::unary_derivatives<double>(sig, 0.0, &d1, &d2);
  EXPECT_DOUBLE_EQ(d1, 0.25);
  EXPECT_DOUBLE_EQ(d2, 0.0);
  ops::unary_derivatives<double>(th, 0.0, &d1, &d2);
  EXPECT_DOUBLE_EQ(d1, 1.0);
  EXPECT_DOUBLE_EQ(d2, 0.0);
  ops::unary_derivatives<double>(gelu, 0.0, &d1, &d2);
  EXPECT_DOUBLE_EQ(d1, 0.5);
  EXPECT_NEAR(d2, std::sqrt(2.0 / std::acos(-1.0)), 1e-15);  // 2 phi(0)
  ops::unary_derivatives<double>({ops::Unary::softplus, 4.0}, 0.0, &d1, &d2);
  EXPECT_DOUBLE_EQ(d1, 0.5);
  EXPECT_DOUBLE_EQ(d2, 1.0);  // beta / 4
  // relu's kink convention: f'(0) = 0, as PyTorch; f'' = 0 everywhere.
  ops::unary_derivatives<double>(relu, 0.0, &d1, &d2);
  EXPECT_EQ(d1, 0.0);
  EXPECT_EQ(d2, 0.0);
  ops::unary_derivatives<double>(relu, 1e-300, &d1, &d2);
  EXPECT_EQ(d1, 1.0);
}

TEST(UnaryOps, SoftplusTendsToReluAsBetaGrows) {
  // 0 <= softplus_beta(x) - relu(x) <= ln 2 / beta, with equality at x = 0.
  const auto xs = wltest::random_vec(200, 21, -3.0, 3.0);
  for (double beta : {1.0, 10.0, 100.0, 1e4, 1e8}) {
    SCOPED_TRACE(beta);
    const ops::UnaryParams p{ops::Unary::softplus, beta};
    for (double x : xs) {
      double y = 0;
      ops::unary_forward<double>(Backend::reference, p, 1, &x, &y);
      const double gap = y - (x > 0 ? x : 0);
      EXPECT_GE(gap, -4e-16 * std::fabs(x));  // (beta x) / beta rounds
      EXPECT_LE(gap, std::log(2.0) / beta * (1 + 1e-12));
    }
    double x0 = 0, y0 = 0;
    ops::unary_forward<double>(Backend::reference, p, 1, &x0, &y0);
    EXPECT_NEAR(y0, std::log(2.0) / beta, 1e-15 / beta);
    float xf = 0.5f, yf = 0;  // and the fast path does not overflow at beta x = 5e7
    ops::unary_forward<float>(Backend::fast, p, 1, &xf, &yf);
    EXPECT_NEAR(yf, 0.5f + std::log1p(std::exp(-beta * 0.5)) / beta, 1e-7);
  }
}

TEST(UnaryOps, SoftplusRejectsNonPositiveBeta) {
  double x = 1, y = 0, g = 1, d1 = 0;
  for (double beta : {0.0, -1.0, double(INFINITY), double(NAN)}) {
    const ops::UnaryParams p{ops::Unary::softplus, beta};
    EXPECT_ERROR_CONTAINS(ops::unary_forward<double>(Backend::reference, p, 1, &x, &y),
                          "unary_forward (softplus): beta must be positive and finite");
    EXPECT_ERROR_CONTAINS(ops::unary_tangent<double>(Backend::reference, p, 1, 1, &x, &y, &x, &y),
                          "unary_tangent (softplus): beta");
    EXPECT_ERROR_CONTAINS(ops::unary_backward<double>(Backend::reference, p, 1, &x, &y, &g, &y),
                          "unary_backward (softplus): beta");
    EXPECT_ERROR_CONTAINS(
        ops::unary_backward_tangent<double>(Backend::reference, p, 1, 1, &x, &y, &x, &g, &g, &y),
        "unary_backward_tangent (softplus): beta");
    EXPECT_ERROR_CONTAINS(ops::unary_derivatives<double>(p, x, &d1, nullptr), "unary_derivatives (softplus): beta");
  }
  ops::UnaryParams zero_beta{ops::Unary::softplus, 0.0};
  EXPECT_ERROR_CONTAINS(ops::unary_forward<double>(Backend::reference, zero_beta, 1, &x, &y), "got 0");
}

// ---------------------------------------------------------------- binary

namespace {

struct ShapePair {
  Shape a, b;
};
std::vector<ShapePair> broadcast_cases() {
  return {{{2, 3}, {2, 3}},       {{2, 1, 4}, {3, 1}}, {{4}, {2, 3, 4}}, {{1}, {2, 3}},
          {{2, 3, 1}, {1, 3, 5}}, {Shape{}, {3}},      {{3, 1}, {1}}};
}

OpUnderTest binary_op(ops::Binary bop, Shape as, Shape bs) {
  const Backend be = Backend::reference;
  const Shape ys = broadcast_shapes(as, bs, "test");
  OpUnderTest op;
  op.in_sizes = {static_cast<size_t>(as.numel()), static_cast<size_t>(bs.numel())};
  op.out_size = static_cast<size_t>(ys.numel());
  op.forward = [=](const OpUnderTest::Ins& x, double* y) {
    ops::binary_forward<double>(be, bop, as, bs, x[0], x[1], y);
  };
  op.tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, double* dy) {
    ops::binary_tangent<double>(be, bop, as, bs, K, x[0], x[1], dx[0], dx[1], dy);
  };
  op.backward = [=](const OpUnderTest::Ins& x, const double* gy, const OpUnderTest::Outs& gx) {
    ops::binary_backward<double>(be, bop, as, bs, x[0], x[1], gy, gx[0], gx[1]);
  };
  op.backward_tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, const double* gy,
                            const double* dgy, const OpUnderTest::Outs& dgx) {
    ops::binary_backward_tangent<double>(be, bop, as, bs, K, x[0], x[1], dx[0], dx[1], gy, dgy, dgx[0], dgx[1]);
  };
  return op;
}

template <class T>
struct BinaryRun {
  std::vector<T> y, dy, ga, gb, dga, dgb;
};
template <class T>
BinaryRun<T> run_binary(Backend be, ops::Binary op, const Shape& as, const Shape& bs, int K, uint64_t seed) {
  const Shape ys = broadcast_shapes(as, bs, "test");
  const int64_t na = as.numel(), nb = bs.numel(), ny = ys.numel();
  auto v = [&](int64_t n, uint64_t s) {
    auto f = wltest::random_vecf(n, seed + s);
    return std::vector<T>(f.begin(), f.end());
  };
  const auto a = v(na, 1), b = v(nb, 2), da = v(K * na, 3), db = v(K * nb, 4), gy = v(ny, 5), dgy = v(K * ny, 6);
  BinaryRun<T> r;
  r.y.resize(ny);
  r.dy.resize(K * ny);
  r.ga.assign(na, T(0.5));
  r.gb.assign(nb, T(-0.5));
  r.dga.assign(K * na, T(0.25));
  r.dgb.assign(K * nb, T(-0.25));
  ops::binary_forward<T>(be, op, as, bs, a.data(), b.data(), r.y.data());
  ops::binary_tangent<T>(be, op, as, bs, K, a.data(), b.data(), da.data(), db.data(), r.dy.data());
  ops::binary_backward<T>(be, op, as, bs, a.data(), b.data(), gy.data(), r.ga.data(), r.gb.data());
  ops::binary_backward_tangent<T>(be, op, as, bs, K, a.data(), b.data(), da.data(), db.data(), gy.data(),
                                  dgy.data(), r.dga.data(), r.dgb.data());
  return r;
}

}  // namespace

TEST(BinaryOps, DerivativesMatchFiniteDifferences) {
  for (ops::Binary bop : {ops::Binary::add, ops::Binary::mul}) {
    for (const auto& c : broadcast_cases()) {
      SCOPED_TRACE(std::string(bop == ops::Binary::add ? "add " : "mul ") + c.a.str() + " " + c.b.str());
      const auto op = binary_op(bop, c.a, c.b);
      wltest::check_op_derivatives(op, {wltest::random_vec(op.in_sizes[0], 31), wltest::random_vec(op.in_sizes[1], 32)});
    }
  }
}

TEST(BinaryOps, NullTangentsAndOutputs) {
  const Shape as{2, 3}, bs{3};
  const int K = 2;
  const auto a = wltest::random_vec(6, 1), b = wltest::random_vec(3, 2), da = wltest::random_vec(K * 6, 3),
             db = wltest::random_vec(K * 3, 4), gy = wltest::random_vec(6, 5), dgy = wltest::random_vec(K * 6, 6);
  const Backend be = Backend::reference;
  // dy = da b when db is null
  std::vector<double> dy(K * 6), expect(K * 6);
  ops::binary_tangent<double>(be, ops::Binary::mul, as, bs, K, a.data(), b.data(), da.data(), nullptr, dy.data());
  for (int k = 0; k < K; ++k)
    for (int i = 0; i < 6; ++i) expect[k * 6 + i] = da[k * 6 + i] * b[i % 3];
  EXPECT_TRUE(all_close(dy, expect, 1e-15, 0));
  // both null: zeros
  ops::binary_tangent<double>(be, ops::Binary::add, as, bs, K, a.data(), b.data(), nullptr, nullptr, dy.data());
  for (double v : dy) EXPECT_EQ(v, 0.0);
  // backward with gb null touches only ga; gy null touches nothing
  std::vector<double> ga(6, 0.0);
  ops::binary_backward<double>(be, ops::Binary::mul, as, bs, a.data(), b.data(), gy.data(), ga.data(), nullptr);
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(ga[i], gy[i] * b[i % 3]);
  std::vector<double> gb(3, 1.0);
  ops::binary_backward<double>(be, ops::Binary::mul, as, bs, a.data(), b.data(), nullptr, nullptr, gb.data());
  for (double v : gb) EXPECT_EQ(v, 1.0);
  // backward tangent of mul: the dgy term and the gy-db term add up
  std::vector<double> full(K * 6, 0.0), part1(K * 6, 0.0), part2(K * 6, 0.0);
  ops::binary_backward_tangent<double>(be, ops::Binary::mul, as, bs, K, a.data(), b.data(), da.data(), db.data(),
                                       gy.data(), dgy.data(), full.data(), nullptr);
  ops::binary_backward_tangent<double>(be, ops::Binary::mul, as, bs, K, a.data(), b.data(), da.data(), db.data(),
                                       nullptr, dgy.data(), part1.data(), nullptr);
  ops::binary_backward_tangent<double>(be, ops::Binary::mul, as, bs, K, a.data(), b.data(), da.data(), db.data(),
                                       gy.data(), nullptr, part2.data(), nullptr);
  for (int i = 0; i < K * 6; ++i) EXPECT_NEAR(full[i], part1[i] + part2[i], 1e-15);
}

// Tolerance: add is exact in float; mul's outputs are at most two float
// products summed: 1e-6 relative and absolute for O(1) data. The backward
// sums up to n such products, each rounded by ~6e-8, and the sum can cancel:
// a random walk of n roundings stays below 1e-6 sqrt(n) absolute.
TEST(BinaryOps, FastMatchesReferenceOnAwkwardSizes) {
  const int K = 3;
  for (ops::Binary bop : {ops::Binary::add, ops::Binary::mul}) {
    for (int64_t n : kSizes) {
      const std::vector<ShapePair> cases = {{{n}, {n}}, {{2, n}, {2, 1}}, {{n}, {1}}, {{3, n}, {n}}};
      for (const auto& c : cases) {
        SCOPED_TRACE(c.a.str() + " " + c.b.str());
        const auto fast = run_binary<float>(Backend::fast, bop, c.a, c.b, K, 40 + n);
        const auto ref = run_binary<double>(Backend::reference, bop, c.a, c.b, K, 40 + n);
        EXPECT_TRUE(all_close(fast.y, ref.y, 1e-6, 1e-6)) << "forward";
        EXPECT_TRUE(all_close(fast.dy, ref.dy, 1e-6, 1e-6)) << "tangent";
        EXPECT_TRUE(all_close(fast.ga, ref.ga, 1e-6, 1e-6 * std::sqrt(double(n)))) << "backward a";
        EXPECT_TRUE(all_close(fast.gb, ref.gb, 1e-6, 1e-6 * std::sqrt(double(n)))) << "backward b";
        EXPECT_TRUE(all_close(fast.dga, ref.dga, 1e-6, 1e-6 * std::sqrt(double(n)))) << "backward tangent a";
        EXPECT_TRUE(all_close(fast.dgb, ref.dgb, 1e-6, 1e-6 * std::sqrt(double(n)))) << "backward tangent b";
      }
    }
  }
}

TEST(BinaryOps, KnownValues) {
  const Backend be = Backend::reference;
  const std::vector<double> a = {1, 2, 3}, b = {10};
  std::vector<double> y(3);
  ops::binary_forward<double>(be, ops::Binary::add, {3}, {1}, a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<double>{11, 12, 13}));
  // (2, 1) * (1, 3): the outer product
  const std::vector<double> col = {2, 3}, row = {1, 10, 100};
  std::vector<double> outer(6);
  ops::binary_forward<double>(be, ops::Binary::mul, {2, 1}, {1, 3}, col.data(), row.data(), outer.data());
  EXPECT_EQ(outer, (std::vector<double>{2, 20, 200, 3, 30, 300}));
  // The backward of a broadcast add sums over the broadcast dims.
  std::vector<double> gcol(2, 0.0), grow(3, 0.0);
  const std::vector<double> gy = {1, 2, 3, 4, 5, 6};
  ops::binary_backward<double>(be, ops::Binary::add, {2, 1}, {1, 3}, col.data(), row.data(), gy.data(),
                               gcol.data(), grow.data());
  EXPECT_EQ(gcol, (std::vector<double>{6, 15}));
  EXPECT_EQ(grow, (std::vector<double>{5, 7, 9}));
  // An empty dimension gives an empty output and touches nothing.
  std::vector<double> none(1, 42.0);
  ops::binary_backward<double>(be, ops::Binary::mul, {0, 3}, {3}, nullptr, row.data(), nullptr, nullptr,
                               none.data());
  EXPECT_EQ(none[0], 42.0);
}

TEST(BinaryOps, IncompatibleShapesThrow) {
  const Shape as{2, 3}, bs{4};
  std::vector<double> a(6), b(4), y(12), g(12);
  const Backend be = Backend::reference;
  EXPECT_ERROR_CONTAINS(ops::binary_forward<double>(be, ops::Binary::add, as, bs, a.data(), b.data(), y.data()),
                        "binary add: shapes (2, 3) and (4,) do not broadcast");
  EXPECT_ERROR_CONTAINS(ops::binary_tangent<double>(be, ops::Binary::mul, as, bs, 1, a.data(), b.data(), a.data(),
                                                    b.data(), y.data()),
                        "binary mul: shapes (2, 3) and (4,)");
  EXPECT_ERROR_CONTAINS(
      ops::binary_backward<double>(be, ops::Binary::mul, as, bs, a.data(), b.data(), g.data(), a.data(), b.data()),
      "binary mul: shapes (2, 3) and (4,)");
  EXPECT_ERROR_CONTAINS(ops::binary_backward_tangent<double>(be, ops::Binary::add, as, bs, 1, a.data(), b.data(),
                                                             a.data(), b.data(), g.data(), g.data(), a.data(),
                                                             b.data()),
                        "binary add: shapes (2, 3) and (4,)");
}
