// Dropout, concat / slice, and the accuracy of fast_math's approximations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "../../core/src/ops/fast_math.h"
#include "check_util.h"
#include "wordlight/error.h"
#include "wordlight/ops.h"
#include "wordlight/splitmix64.h"

using namespace wordlight;
using wltest::all_close;
using wltest::OpUnderTest;

// ---------------------------------------------------------------- dropout

// The reference is splitmix64 as published (Vigna,
// prng.di.unimi.it/splitmix64.c), the sequential generator of
// wordlight/splitmix64.h: independent of the op's counter-based form
// (dropout.cpp), which must give the same draws.
TEST(Dropout, MaskIsSplitMix64OfSeedAndIndex) {
  // The reference generator's first output for seed 0 is the published value.
  SplitMix64 check{0};
  ASSERT_EQ(check.next(), 0xe220a8397b1dcdafull);
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xdeadbeefcafef00dull}) {
    for (double p : {0.1, 0.5, 0.9}) {
      const int64_t n = 1000;
      std::vector<float> x(n, 1.f), y(n);
      std::vector<uint8_t> mask(n);
      ops::dropout_forward<float>(n, p, seed, x.data(), y.data(), mask.data());
      SplitMix64 g{seed};
      for (int64_t i = 0; i < n; ++i) {
        const double u = static_cast<double>(g.next() >> 11) * 0x1.0p-53;
        ASSERT_EQ(mask[i], u >= p ? 1 : 0) << "seed " << seed << " p " << p << " i " << i;
      }
    }
  }
}

TEST(Dropout, KeepsOneMinusPAndScales) {
  const int64_t n = 200000;
  const double p = 0.3;
  const auto x = wltest::random_vec(n, 5);
  std::vector<double> y(n);
  std::vector<uint8_t> mask(n);
  ops::dropout_forward<double>(n, p, 123, x.data(), y.data(), mask.data());
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    kept += mask[i];
    EXPECT_EQ(y[i], mask[i] ? x[i] * (1.0 / (1.0 - p)) : 0.0);
  }
  // Binomial(n, 0.7): standard deviation sqrt(n p (1 - p)) ~ 205, allow 5 of them.
  EXPECT_NEAR(static_cast<double>(kept), n * (1 - p), 5 * std::sqrt(n * p * (1 - p)));
  // Different seeds give different masks; p = 0 keeps everything unscaled.
  std::vector<uint8_t> mask2(n);
  ops::dropout_forward<double>(n, p, 124, x.data(), nullptr, mask2.data());
  EXPECT_NE(mask, mask2);
  ops::dropout_forward<double>(n, 0.0, 7, x.data(), y.data(), mask.data());
  EXPECT_EQ(y, x);
}

TEST(Dropout, DerivativesMatchFiniteDifferences) {
  const int64_t n = 50;
  const double p = 0.4;
  std::vector<uint8_t> mask(n);
  std::vector<double> tmp(n);
  ops::dropout_forward<double>(n, p, 99, tmp.data(), nullptr, mask.data());
  OpUnderTest op;
  op.in_sizes = {static_cast<size_t>(n)};
  op.out_size = static_cast<size_t>(n);
  op.forward = [=](const OpUnderTest::Ins& x, double* y) { ops::dropout_forward<double>(n, p, 99, x[0], y, nullptr); };
  op.tangent = [=](const OpUnderTest::Ins&, int K, const OpUnderTest::Ins& dx, double* dy) {
    ops::dropout_apply<double>(n, K, p, mask.data(), dx[0], dy, false);
  };
  op.backward = [=](const OpUnderTest::Ins&, const double* gy, const OpUnderTest::Outs& gx) {
    ops::dropout_apply<double>(n, 1, p, mask.data(), gy, gx[0], true);
  };
  // Linear op: the backward tangent is the backward applied to dgy.
  op.backward_tangent = [=](const OpUnderTest::Ins&, int K, const OpUnderTest::Ins&, const double*, const double* dgy,
                            const OpUnderTest::Outs& dgx) {
    ops::dropout_apply<double>(n, K, p, mask.data(), dgy, dgx[0], true);
  };
  wltest::check_op_derivatives(op, {wltest::random_vec(n, 8)});
}

TEST(Dropout, ApplyTreatsNullInputAsZero) {
  const int64_t n = 6;
  const int K = 2;
  const std::vector<uint8_t> mask = {1, 0, 1, 1, 0, 1};
  std::vector<float> y(K * n, 3.f);
  ops::dropout_apply<float>(n, K, 0.5, mask.data(), nullptr, y.data(), true);
  for (float v : y) EXPECT_EQ(v, 3.f);
  ops::dropout_apply<float>(n, K, 0.5, mask.data(), nullptr, y.data(), false);
  for (float v : y) EXPECT_EQ(v, 0.f);
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  ops::dropout_apply<float>(n, K, 0.5, mask.data(), x.data(), y.data(), false);
  EXPECT_EQ(y, (std::vector<float>{2, 0, 6, 8, 0, 12, 14, 0, 18, 20, 0, 24}));
  ops::dropout_apply<float>(n, K, 0.5, mask.data(), x.data(), nullptr, false);  // null output: skipped
}

TEST(Dropout, PMustBeInZeroOne) {
  std::vector<float> x(4), y(4);
  std::vector<uint8_t> mask(4);
  EXPECT_ERROR_CONTAINS(ops::dropout_forward<float>(4, 1.0, 0, x.data(), y.data(), mask.data()),
                        "dropout_forward: p = 1.000000 is outside [0, 1)");
  EXPECT_ERROR_CONTAINS(ops::dropout_forward<float>(4, -0.1, 0, x.data(), y.data(), mask.data()),
                        "dropout_forward: p = -0.100000 is outside [0, 1)");
  EXPECT_ERROR_CONTAINS(ops::dropout_forward<float>(4, std::nan(""), 0, x.data(), y.data(), mask.data()),
                        "dropout_forward: p = nan is outside [0, 1)");
  EXPECT_ERROR_CONTAINS(ops::dropout_apply<float>(4, 1, 1.5, mask.data(), x.data(), y.data(), false),
                        "dropout_apply: p = 1.500000 is outside [0, 1)");
}

// ---------------------------------------------------------------- concat / slice

namespace {

OpUnderTest concat_op(std::vector<Shape> shapes, int axis) {
  OpUnderTest op;
  Shape ys = shapes[0];
  const int a = axis < 0 ? axis + ys.rank : axis;
  ys.dims[a] = 0;
  for (const auto& s : shapes) {
    op.in_sizes.push_back(static_cast<size_t>(s.numel()));
    ys.dims[a] += s.dims[a];
  }
  op.out_size = static_cast<size_t>(ys.numel());
  const int m = static_cast<int>(shapes.size());
  std::vector<size_t> sizes = op.in_sizes;
  const size_t ny = op.out_size;
  op.forward = [=](const OpUnderTest::Ins& x, double* y) {
    ops::concat_forward<double>(m, shapes.data(), axis, x.data(), y);
  };
  // Linear: the tangent is the op on each direction k.
  op.tangent = [=](const OpUnderTest::Ins&, int K, const OpUnderTest::Ins& dx, double* dy) {
    for (int k = 0; k < K; ++k) {
      std::vector<const double*> xs(m);
      for (int i = 0; i < m; ++i) xs[i] = dx[i] + k * sizes[i];
      ops::concat_forward<double>(m, shapes.data(), axis, xs.data(), dy + k * ny);
    }
  };
  op.backward = [=](const OpUnderTest::Ins&, const double* gy, const OpUnderTest::Outs& gx) {
    ops::concat_backward<double>(m, shapes.data(), axis, gy, gx.data());
  };
  op.backward_tangent = [=](const OpUnderTest::Ins&, int K, const OpUnderTest::Ins&, const double*,
                            const double* dgy, const OpUnderTest::Outs& dgx) {
    for (int k = 0; k < K; ++k) {
      std::vector<double*> gs(m);
      for (int i = 0; i < m; ++i) gs[i] = dgx[i] + k * sizes[i];
      ops::concat_backward<double>(m, shapes.data(), axis, dgy + k * ny, gs.data());
    }
  };
  return op;
}

OpUnderTest slice_op(Shape xs, int axis, int64_t start, int64_t end) {
  OpUnderTest op;
  const int a = axis < 0 ? axis + xs.rank : axis;
  Shape ys = xs;
  ys.dims[a] = end - start;
  const size_t nx = static_cast<size_t>(xs.numel()), ny = static_cast<size_t>(ys.numel());
  op.in_sizes = {nx};
  op.out_size = ny;
  op.forward = [=](const OpUnderTest::Ins& x, double* y) {
    ops::slice_forward<double>(xs, axis, start, end, x[0], y);
  };
  op.tangent = [=](const OpUnderTest::Ins&, int K, const OpUnderTest::Ins& dx, double* dy) {
    for (int k = 0; k < K; ++k) ops::slice_forward<double>(xs, axis, start, end, dx[0] + k * nx, dy + k * ny);
  };
  op.backward = [=](const OpUnderTest::Ins&, const double* gy, const OpUnderTest::Outs& gx) {
    ops::slice_backward<double>(xs, axis, start, end, gy, gx[0]);
  };
  op.backward_tangent = [=](const OpUnderTest::Ins&, int K, const OpUnderTest::Ins&, const double*,
                            const double* dgy, const OpUnderTest::Outs& dgx) {
    for (int k = 0; k < K; ++k) ops::slice_backward<double>(xs, axis, start, end, dgy + k * ny, dgx[0] + k * nx);
  };
  return op;
}

}  // namespace

TEST(Concat, DerivativesMatchFiniteDifferences) {
  struct Case {
    std::vector<Shape> shapes;
    int axis;
  };
  const std::vector<Case> cases = {{{{2, 1, 3}, {2, 2, 3}, {2, 4, 3}}, 1},
                                   {{{1, 3}, {2, 3}}, 0},
                                   {{{2, 3, 1}, {2, 3, 2}}, -1},
                                   {{{5}}, 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE("axis " + std::to_string(c.axis) + " first " + c.shapes[0].str());
    const auto op = concat_op(c.shapes, c.axis);
    std::vector<std::vector<double>> x;
    for (size_t i = 0; i < op.in_sizes.size(); ++i) x.push_back(wltest::random_vec(op.in_sizes[i], 500 + i));
    wltest::check_op_derivatives(op, x);
  }
}

TEST(Slice, DerivativesMatchFiniteDifferences) {
  wltest::check_op_derivatives(slice_op({3, 5, 2}, 1, 1, 4), {wltest::random_vec(30, 600)});
  wltest::check_op_derivatives(slice_op({3, 5, 2}, 0, 2, 3), {wltest::random_vec(30, 601)});
  wltest::check_op_derivatives(slice_op({3, 5, 2}, -1, 0, 1), {wltest::random_vec(30, 602)});
  wltest::check_op_derivatives(slice_op({4}, 0, 0, 4), {wltest::random_vec(4, 603)});
}

TEST(ConcatSlice, KnownValuesAndRoundTrip) {
  // [[1, 2], [3, 4]] ++ [[5], [6]] along axis 1 = [[1, 2, 5], [3, 4, 6]]
  const std::vector<float> a = {1, 2, 3, 4}, b = {5, 6};
  const Shape shapes[2] = {{2, 2}, {2, 1}};
  const float* xs[2] = {a.data(), b.data()};
  std::vector<float> y(6);
  ops::concat_forward<float>(2, shapes, 1, xs, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 5, 3, 4, 6}));
  // A null input is zeros.
  const float* xs_null[2] = {a.data(), nullptr};
  ops::concat_forward<float>(2, shapes, -1, xs_null, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 0, 3, 4, 0}));
  // Slicing the pieces back out recovers them.
  const std::vector<float> joined = {1, 2, 5, 3, 4, 6};
  std::vector<float> a2(4), b2(2);
  ops::slice_forward<float>({2, 3}, 1, 0, 2, joined.data(), a2.data());
  ops::slice_forward<float>({2, 3}, 1, 2, 3, joined.data(), b2.data());
  EXPECT_EQ(a2, a);
  EXPECT_EQ(b2, b);
  // concat_backward accumulates the matching block into each gradient; null ones are skipped.
  std::vector<float> ga(4, 1.f);
  float* gs[2] = {ga.data(), nullptr};
  ops::concat_backward<float>(2, shapes, 1, joined.data(), gs);
  EXPECT_EQ(ga, (std::vector<float>{2, 3, 4, 5}));
  // slice_backward scatter-adds into [start, end) and leaves the rest alone.
  std::vector<float> gx(6, 1.f);
  ops::slice_backward<float>({2, 3}, 1, 1, 3, a.data(), gx.data());
  EXPECT_EQ(gx, (std::vector<float>{1, 2, 3, 1, 4, 5}));
  // An empty slice is allowed and writes nothing.
  ops::slice_forward<float>({2, 3}, 1, 1, 1, joined.data(), nullptr);
}

TEST(ConcatSlice, BadArgumentsThrow) {
  std::vector<float> buf(64);
  const float* xs[3] = {buf.data(), buf.data(), buf.data()};
  float* gs[3] = {buf.data(), buf.data(), buf.data()};
  const Shape good[2] = {{2, 3}, {2, 5}};
  EXPECT_ERROR_CONTAINS(ops::concat_forward<float>(2, good, 2, xs, buf.data()),
                        "concat_forward: axis 2 is out of range for shape (2, 3)");
  EXPECT_ERROR_CONTAINS(ops::concat_forward<float>(2, good, -3, xs, buf.data()),
                        "concat_forward: axis -3 is out of range for shape (2, 3)");
  EXPECT_ERROR_CONTAINS(ops::concat_forward<float>(2, good, 0, xs, buf.data()),
                        "concat_forward: input 1 has shape (2, 5) but input 0 has (2, 3); all dims but axis 0 must match");
  const Shape ranks[2] = {{2, 3}, {2, 3, 1}};
  EXPECT_ERROR_CONTAINS(ops::concat_backward<float>(2, ranks, 1, buf.data(), gs),
                        "concat_backward: input 1 has shape (2, 3, 1) but input 0 has (2, 3)");
  EXPECT_ERROR_CONTAINS(ops::concat_forward<float>(0, good, 0, xs, buf.data()),
                        "concat_forward: needs at least one input, got 0");
  EXPECT_ERROR_CONTAINS(ops::slice_forward<float>({2, 3}, 1, 2, 4, buf.data(), buf.data()),
                        "slice_forward: [start, end) = [2, 4) is out of range for axis 1 of shape (2, 3)");
  EXPECT_ERROR_CONTAINS(ops::slice_forward<float>({2, 3}, 1, 2, 1, buf.data(), buf.data()),
                        "slice_forward: [start, end) = [2, 1) is out of range");
  EXPECT_ERROR_CONTAINS(ops::slice_forward<float>({2, 3}, 0, -1, 1, buf.data(), buf.data()),
                        "slice_forward: [start, end) = [-1, 1) is out of range for axis 0 of shape (2, 3)");
  EXPECT_ERROR_CONTAINS(ops::slice_backward<float>({2, 3}, 2, 0, 1, buf.data(), buf.data()),
                        "slice_backward: axis 2 is out of range for shape (2, 3)");
  EXPECT_ERROR_CONTAINS(ops::slice_backward<float>({4}, 0, 0, 5, buf.data(), buf.data()),
                        "slice_backward: [start, end) = [0, 5) is out of range for axis 0 of shape (4,)");
}

// ---------------------------------------------------------------- fast_math accuracy

namespace {

namespace fm = wordlight::fast_math;

// Distance in units in the last place: the number of floats between a and b
// (0 when equal, also for two NaNs or two equal infinities). It measures
// denormals correctly too.
double ulp_distance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : 1e30;
  auto ordered = [](float x) {
    int32_t i;
    std::memcpy(&i, &x, sizeof i);
    return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : static_cast<int64_t>(i);
  };
  const int64_t d = ordered(a) - ordered(b);
  return static_cast<double>(d < 0 ? -d : d);
}

struct Accuracy {
  double max_ulp = 0;
  float worst_x = 0;
};

// Max ulp error of f against ref (computed in double, rounded to float) over
// `n` evenly spaced points of [lo, hi] and, for intervals away from 0, over
// points evenly spaced in the bit patterns (which samples every binade).
Accuracy measure(float lo, float hi, const std::function<float(float)>& f, const std::function<double(double)>& ref,
                 int n = 100000) {
  Accuracy acc;
  auto visit = [&](float x) {
    const double u = ulp_distance(f(x), static_cast<float>(ref(static_cast<double>(x))));
    if (u > acc.max_ulp) {
      acc.max_ulp = u;
      acc.worst_x = x;
    }
  };
  for (int i = 0; i <= n; ++i) visit(lo + (hi - lo) * static_cast<float>(static_cast<double>(i) / n));
  if (lo * hi > 0) {
    uint32_t a, b;
    std::memcpy(&a, &lo, 4);
    std::memcpy(&b, &hi, 4);
    if (a > b) std::swap(a, b);
    const uint32_t step = (b - a) / static_cast<uint32_t>(n) + 1;
    for (uint32_t u = a; u <= b && u >= a; u += step) {
      float x;
      std::memcpy(&x, &u, 4);
      visit(x);
    }
  }
  return acc;
}

double exact_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double exact_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * std::acos(-1.0)); }
double exact_softplus(double x) { return std::fmax(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
double exact_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double exact_tanh_deriv(double x) {
  const double c = std::cosh(x);
  return 1.0 / (c * c);
}

#define EXPECT_ULP(lo, hi, f, ref, bound)                                                     \
  do {                                                                                        \
    const Accuracy a_ = measure(lo, hi, f, ref);                                              \
    EXPECT_LE(a_.max_ulp, bound) << #f " on [" << (lo) << ", " << (hi) << "]: worst at x = " \
                                 << a_.worst_x;                                               \
  } while (0)

}  // namespace

// The bounds are the maxima measured on every 7th float of the whole range
// (these tests sample fewer points): exp is within 1 ulp everywhere,
// denormal results included; the others combine a few operations, and
// norm_cdf carries the 1.2e-7 relative error of the erfc fit plus the
// float evaluation of its exponent polynomial (<= 8 ulp, < 6e-7 relative).
TEST(FastMath, ExpWithinOneUlpIncludingDenormalsAndOverflow) {
  auto f = [](float x) { return fm::exp(x); };
  auto ref = [](double x) { return std::exp(x); };
  EXPECT_ULP(-1.f, 1.f, f, ref, 1);
  EXPECT_ULP(-87.f, 88.f, f, ref, 1);
  EXPECT_ULP(-104.f, -87.3f, f, ref, 1);  // denormal results
  EXPECT_ULP(88.f, 89.f, f, ref, 1);      // the overflow edge (FLT_MAX / inf)
  EXPECT_ULP(1e-30f, 1e-3f, f, ref, 1);   // tiny arguments
  EXPECT_ULP(-1e-3f, -1e-30f, f, ref, 1);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fm::exp(89.f), inf);
  EXPECT_EQ(fm::exp(1e30f), inf);
  EXPECT_EQ(fm::exp(inf), inf);
  EXPECT_EQ(fm::exp(-105.f), 0.f);
  EXPECT_EQ(fm::exp(-1e30f), 0.f);
  EXPECT_EQ(fm::exp(-inf), 0.f);
  EXPECT_EQ(fm::exp(0.f), 1.f);
  EXPECT_TRUE(std::isnan(fm::exp(std::nanf(""))));
}

TEST(FastMath, TanhAndSigmoid) {
  auto th = [](float x) { return fm::tanh(x); };
  auto th_ref = [](double x) { return std::tanh(x); };
  EXPECT_ULP(-1.f, 1.f, th, th_ref, 2);
  EXPECT_ULP(-20.f, 20.f, th, th_ref, 2);
  EXPECT_ULP(1e-30f, 0.7f, th, th_ref, 2);
  EXPECT_ULP(-0.7f, -1e-30f, th, th_ref, 2);
  auto thd = [](float x) { return fm::tanh_deriv(x); };
  EXPECT_ULP(-50.f, 50.f, thd, exact_tanh_deriv, 5);
  auto sg = [](float x) { return fm::sigmoid(x); };
  EXPECT_ULP(-20.f, 20.f, sg, exact_sigmoid, 3);
  EXPECT_ULP(-104.f, -20.f, sg, exact_sigmoid, 3);  // tiny and denormal results
  EXPECT_ULP(1e-30f, 1.f, sg, exact_sigmoid, 3);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fm::tanh(inf), 1.f);
  EXPECT_EQ(fm::tanh(-inf), -1.f);
  EXPECT_EQ(fm::tanh(1e30f), 1.f);
  EXPECT_EQ(fm::tanh_deriv(inf), 0.f);
  EXPECT_EQ(fm::sigmoid(inf), 1.f);
  EXPECT_EQ(fm::sigmoid(-inf), 0.f);
  EXPECT_TRUE(std::isnan(fm::tanh(std::nanf(""))));
  EXPECT_TRUE(std::isnan(fm::sigmoid(std::nanf(""))));
}

TEST(FastMath, Log1pAndSoftplus) {
  auto l = [](float x) { return fm::log1p_unit(x); };
  auto l_ref = [](double x) { return std::log1p(x); };
  EXPECT_ULP(0.f, 1.f, l, l_ref, 2);
  EXPECT_ULP(1e-38f, 1e-3f, l, l_ref, 2);
  EXPECT_EQ(fm::log1p_unit(1e-45f), 1e-45f);  // a denormal keeps its value
  auto sp = [](float x) { return fm::softplus(x); };
  EXPECT_ULP(-20.f, 20.f, sp, exact_softplus, 3);
  EXPECT_ULP(-104.f, -20.f, sp, exact_softplus, 3);
  EXPECT_ULP(20.f, 1e30f, sp, exact_softplus, 3);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fm::softplus(inf), inf);
  EXPECT_EQ(fm::softplus(-inf), 0.f);
  EXPECT_TRUE(std::isnan(fm::softplus(std::nanf(""))));
}

TEST(FastMath, NormalCdfPdfAndGelu) {
  auto cdf = [](float x) { return fm::norm_cdf(x); };
  auto pdf = [](float x) { return fm::norm_pdf(x); };
  auto gelu = [](float x) { return fm::gelu(x); };
  auto gelu_ref = [](double x) { return x * exact_cdf(x); };
  EXPECT_ULP(-3.f, 3.f, cdf, exact_cdf, 8);
  EXPECT_ULP(-13.f, -3.f, cdf, exact_cdf, 8);  // the left tail, down to 6e-39
  EXPECT_ULP(3.f, 10.f, cdf, exact_cdf, 8);
  EXPECT_ULP(-14.f, 14.f, pdf, exact_pdf, 2);
  // gelu is x (1 + erf(x / sqrt 2)) / 2, as PyTorch computes it: relative
  // accuracy where 1 + erf does not cancel (x >= -1), erf's absolute error
  // (<= 4.2e-7, so <= 2.1e-7 |x|) on the left tail.
  EXPECT_ULP(-1.f, 3.f, gelu, gelu_ref, 8);
  EXPECT_ULP(3.f, 1e30f, gelu, gelu_ref, 4);
  EXPECT_ULP(1e-30f, 1.f, gelu, gelu_ref, 8);
  EXPECT_ULP(-1.f, -1e-30f, gelu, gelu_ref, 8);
  double tail = 0;
  float tail_x = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = -1.f - 40.f * static_cast<float>(i) / 200000.f;  // [-41, -1]
    const double e = std::fabs(fm::gelu(x) - gelu_ref(x)) / std::fabs(x);
    if (e > tail) tail = e, tail_x = x;
  }
  EXPECT_LE(tail, 2.2e-7) << "gelu's left tail, worst at x = " << tail_x;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fm::norm_cdf(inf), 1.f);
  EXPECT_EQ(fm::norm_cdf(-inf), 0.f);
  EXPECT_EQ(fm::norm_pdf(inf), 0.f);
  EXPECT_EQ(fm::norm_pdf(-40.f), 0.f);
  EXPECT_EQ(fm::gelu(inf), inf);
  EXPECT_EQ(fm::gelu(-40.f), 0.f);
  EXPECT_TRUE(std::isnan(fm::gelu(std::nanf(""))));
}

// fm::erf (GELU's forward) against std::erf on every 4099th float of the
// whole range, both signs (about a million points, denormals and the
// saturated tails included): <= 4.2e-7 absolute everywhere, and relative
// (<= 3e-7) near 0, where erf(x) ~ 1.128 x is small.
TEST(FastMath, ErfAgainstStdErfOverTheFloatRange) {
  double max_abs = 0, max_rel = 0;
  float abs_x = 0, rel_x = 0;
  for (uint64_t u = 0; u < 0x100000000ull; u += 4099) {
    float x;
    const uint32_t b = static_cast<uint32_t>(u);
    std::memcpy(&x, &b, 4);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(fm::erf(x)));
      continue;
    }
    const double ref = std::erf(static_cast<double>(x)), e = fm::erf(x);
    const double err = std::fabs(e - ref);
    if (err > max_abs) max_abs = err, abs_x = x;
    if (std::fabs(x) >= 1e-37f && std::fabs(x) < 0.5f && err / std::fabs(ref) > max_rel)
      max_rel = err / std::fabs(ref), rel_x = x;
    EXPECT_LE(std::fabs(e), 1.0) << x;
  }
  EXPECT_LE(max_abs, 4.2e-7) << "worst at x = " << abs_x;
  EXPECT_LE(max_rel, 3e-7) << "worst at x = " << rel_x;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fm::erf(inf), 1.f);
  EXPECT_EQ(fm::erf(-inf), -1.f);
  EXPECT_EQ(fm::erf(0.f), 0.f);
  EXPECT_EQ(fm::erf(4.f), 1.f);
  EXPECT_EQ(fm::erf(-4.f), -1.f);
}

TEST(FastMath, ArrayFormsMatchScalarFormsOnAwkwardSizes) {
  // The vectorised loops (and their scalar tails) give the very same floats
  // as the element functions: both are the same IEEE operations.
  for (int64_t n : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000}) {
    SCOPED_TRACE(n);
    const auto x = wltest::random_vecf(n, 700 + n, -20.f, 20.f);
    std::vector<float> y(n);
    fm::exp_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::exp(x[i]));
    fm::tanh_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::tanh(x[i]));
    fm::sigmoid_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::sigmoid(x[i]));
    fm::gelu_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::gelu(x[i]));
    fm::softplus_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::softplus(x[i]));
    fm::erf_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::erf(x[i]));
    fm::norm_cdf_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::norm_cdf(x[i]));
    fm::norm_pdf_n(n, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::norm_pdf(x[i]));
    const auto e = wltest::random_vecf(n, 800 + n, 0.f, 1.f);
    fm::log1p_unit_n(n, e.data(), y.data());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], fm::log1p_unit(e[i]));
  }
}

TEST(FastMath, ReductionsOnAwkwardSizes) {
  // 8 partial float sums: error of a float sum of n terms of size <= 1
  // against the double sum, bounded well inside n * 6e-8.
  for (int64_t n : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000}) {
    SCOPED_TRACE(n);
    const auto x = wltest::random_vecf(n, 900 + n), y = wltest::random_vecf(n, 901 + n);
    double s = 0, d = 0, m = -1e30;
    for (int64_t i = 0; i < n; ++i) {
      s += x[i];
      d += static_cast<double>(x[i]) * y[i];
      m = std::fmax(m, x[i]);
    }
    EXPECT_NEAR(fm::sum8(n, x.data()), s, 6e-8 * n);
    EXPECT_NEAR(fm::dot8(n, x.data(), y.data()), d, 6e-8 * n);
    EXPECT_EQ(fm::max8(n, x.data()), static_cast<float>(m));
    EXPECT_NEAR(fm::row_sum(Backend::fast, n, x.data()), s, 6e-8 * n);
    EXPECT_DOUBLE_EQ(fm::row_sum(Backend::reference, n, x.data()), s);
    EXPECT_EQ(fm::row_max(Backend::reference, n, x.data()), static_cast<float>(m));
  }
}
