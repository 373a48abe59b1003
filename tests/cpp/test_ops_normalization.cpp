// Row-wise normalisations: softmax, log-softmax, cross-entropy, layer norm.
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

// Row lengths below, at and past the SIMD widths (4 lanes, 8-lane reductions).
const int64_t kSizes[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000};

// ---------------------------------------------------------------- softmax helpers

OpUnderTest softmax_op(bool log, int64_t R, int64_t C) {
  const Backend be = Backend::reference;
  const size_t n = static_cast<size_t>(R * C);
  auto fwd = [=](const double* x) {
    std::vector<double> y(n);
    ops::softmax_forward<double>(be, log, R, C, x, y.data());
    return y;
  };
  OpUnderTest op;
  op.in_sizes = {n};
  op.out_size = n;
  op.forward = [=](const OpUnderTest::Ins& x, double* y) { ops::softmax_forward<double>(be, log, R, C, x[0], y); };
  op.tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, double* dy) {
    ops::softmax_tangent<double>(be, log, R, C, K, fwd(x[0]).data(), dx[0], dy);
  };
  op.backward = [=](const OpUnderTest::Ins& x, const double* gy, const OpUnderTest::Outs& gx) {
    ops::softmax_backward<double>(be, log, R, C, fwd(x[0]).data(), gy, gx[0]);
  };
  op.backward_tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, const double* gy,
                            const double* dgy, const OpUnderTest::Outs& dgx) {
    ops::softmax_backward_tangent<double>(be, log, R, C, K, fwd(x[0]).data(), dx[0], gy, dgy, dgx[0]);
  };
  return op;
}

template <class T>
struct Outs {
  std::vector<T> y, dy, gx, dgx;
};

template <class T>
std::vector<T> cast(const std::vector<float>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
Outs<T> run_softmax(Backend be, bool log, int64_t R, int64_t C, int K, uint64_t seed) {
  const int64_t n = R * C;
  const auto x = cast<T>(wltest::random_vecf(n, seed, -4.f, 4.f)), dx = cast<T>(wltest::random_vecf(K * n, seed + 1)),
             gy = cast<T>(wltest::random_vecf(n, seed + 2)), dgy = cast<T>(wltest::random_vecf(K * n, seed + 3));
  Outs<T> o;
  o.y.resize(n);
  o.dy.resize(K * n);
  o.gx.assign(n, T(0.5));
  o.dgx.assign(K * n, T(-0.25));
  ops::softmax_forward<T>(be, log, R, C, x.data(), o.y.data());
  // Derivatives from the double reference's y cast to T, so that both
  // backends differentiate at the same point.
  std::vector<double> xd(x.begin(), x.end()), yd(n);
  ops::softmax_forward<double>(Backend::reference, log, R, C, xd.data(), yd.data());
  const std::vector<T> y(yd.begin(), yd.end());
  ops::softmax_tangent<T>(be, log, R, C, K, y.data(), dx.data(), o.dy.data());
  ops::softmax_backward<T>(be, log, R, C, y.data(), gy.data(), o.gx.data());
  ops::softmax_backward_tangent<T>(be, log, R, C, K, y.data(), dx.data(), gy.data(), dgy.data(), o.dgx.data());
  return o;
}

}  // namespace

// ---------------------------------------------------------------- softmax

TEST(Softmax, DerivativesMatchFiniteDifferences) {
  for (bool log : {false, true}) {
    for (int64_t C : {1, 2, 5, 9}) {
      SCOPED_TRACE(std::string(log ? "log_softmax" : "softmax") + " C=" + std::to_string(C));
      const int64_t R = 3;
      wltest::check_op_derivatives(softmax_op(log, R, C), {wltest::random_vec(R * C, 50 + C, -2.0, 2.0)});
    }
  }
}

TEST(Softmax, NullTangentsMeanZero) {
  const int64_t R = 2, C = 4;
  const int K = 2;
  for (bool log : {false, true}) {
    const auto x = wltest::random_vec(R * C, 1), dx = wltest::random_vec(K * R * C, 2),
               gy = wltest::random_vec(R * C, 3), dgy = wltest::random_vec(K * R * C, 4);
    std::vector<double> y(R * C);
    const Backend be = Backend::reference;
    ops::softmax_forward<double>(be, log, R, C, x.data(), y.data());
    std::vector<double> dy(K * R * C, 9.0);
    ops::softmax_tangent<double>(be, log, R, C, K, y.data(), nullptr, dy.data());
    for (double v : dy) EXPECT_EQ(v, 0.0);
    std::vector<double> full(K * R * C, 0.0), a(K * R * C, 0.0), b(K * R * C, 0.0);
    ops::softmax_backward_tangent<double>(be, log, R, C, K, y.data(), dx.data(), gy.data(), dgy.data(),
                                          full.data());
    ops::softmax_backward_tangent<double>(be, log, R, C, K, y.data(), nullptr, gy.data(), dgy.data(), a.data());
    ops::softmax_backward_tangent<double>(be, log, R, C, K, y.data(), dx.data(), gy.data(), nullptr, b.data());
    for (size_t i = 0; i < full.size(); ++i) EXPECT_NEAR(full[i], a[i] + b[i], 1e-14);
  }
}

// Tolerance: the fast path differs by fast_math's exp (<= 1 ulp) and by
// float reductions over the row (8 partial sums): a few float ulps per
// output, 2e-6 relative; outputs that are differences of O(1) terms
// (gy - <y, gy>, dx - <p, dx>) get 1e-6 absolute.
TEST(Softmax, FastMatchesReferenceOnAwkwardSizes) {
  const int K = 3;
  for (bool log : {false, true}) {
    for (int64_t C : kSizes) {
      SCOPED_TRACE(std::string(log ? "log_softmax" : "softmax") + " C=" + std::to_string(C));
      const auto fast = run_softmax<float>(Backend::fast, log, 3, C, K, 60 + C);
      const auto ref = run_softmax<double>(Backend::reference, log, 3, C, K, 60 + C);
      EXPECT_TRUE(all_close(fast.y, ref.y, 2e-6, 1e-6)) << "forward";
      EXPECT_TRUE(all_close(fast.dy, ref.dy, 2e-6, 1e-6)) << "tangent";
      EXPECT_TRUE(all_close(fast.gx, ref.gx, 2e-6, 1e-6)) << "backward";
      EXPECT_TRUE(all_close(fast.dgx, ref.dgx, 2e-6, 1e-6)) << "backward tangent";
    }
  }
}

TEST(Softmax, KnownValues) {
  const Backend be = Backend::reference;
  // A constant row gives the uniform distribution; log-softmax gives -log C.
  for (Backend b : {Backend::reference, Backend::fast}) {
    const std::vector<float> x(7, 3.25f);
    std::vector<float> y(7), ly(7);
    ops::softmax_forward<float>(b, false, 1, 7, x.data(), y.data());
    ops::softmax_forward<float>(b, true, 1, 7, x.data(), ly.data());
    for (int c = 0; c < 7; ++c) {
      EXPECT_NEAR(y[c], 1.0 / 7, 1e-7);
      EXPECT_NEAR(ly[c], -std::log(7.0), 1e-6);
    }
  }
  // Large logits do not overflow: softmax(1000, 1001) = (1, e) / (1 + e).
  const std::vector<double> x = {1000.0, 1001.0};
  std::vector<double> y(2), ly(2);
  ops::softmax_forward<double>(be, false, 1, 2, x.data(), y.data());
  ops::softmax_forward<double>(be, true, 1, 2, x.data(), ly.data());
  const double e = std::exp(1.0);
  EXPECT_NEAR(y[0], 1 / (1 + e), 1e-15);
  EXPECT_NEAR(y[1], e / (1 + e), 1e-15);
  EXPECT_NEAR(ly[0], -std::log1p(e), 1e-15);
  // ... also in float, where 1000 + log(1 + e) would lose log's digits.
  const std::vector<float> xf = {1000.f, 1001.f};
  std::vector<float> lyf(2);
  ops::softmax_forward<float>(Backend::fast, true, 1, 2, xf.data(), lyf.data());
  EXPECT_NEAR(lyf[0], -std::log1p(e), 1e-6);
  EXPECT_NEAR(lyf[1], 1 - std::log1p(e), 1e-6);
  // Rows sum to 1.
  const auto xr = wltest::random_vec(4 * 6, 77, -5, 5);
  std::vector<double> yr(4 * 6);
  ops::softmax_forward<double>(be, false, 4, 6, xr.data(), yr.data());
  for (int r = 0; r < 4; ++r) {
    double s = 0;
    for (int c = 0; c < 6; ++c) s += yr[r * 6 + c];
    EXPECT_NEAR(s, 1.0, 1e-15);
  }
}

TEST(Softmax, EmptyRowsThrow) {
  std::vector<double> x(4), y(4);
  const Backend be = Backend::reference;
  EXPECT_ERROR_CONTAINS(ops::softmax_forward<double>(be, false, 2, 0, x.data(), y.data()),
                        "softmax_forward: need R >= 0 rows and C >= 1 columns, got (R, C) = (2, 0)");
  EXPECT_ERROR_CONTAINS(ops::softmax_tangent<double>(be, true, 2, 0, 1, y.data(), x.data(), y.data()),
                        "log_softmax_tangent: need R >= 0 rows and C >= 1 columns");
  EXPECT_ERROR_CONTAINS(ops::softmax_backward<double>(be, false, -1, 2, y.data(), x.data(), y.data()),
                        "softmax_backward: need R >= 0 rows");
  EXPECT_ERROR_CONTAINS(
      ops::softmax_backward_tangent<double>(be, true, 1, 0, 1, y.data(), x.data(), x.data(), x.data(), y.data()),
      "log_softmax_backward_tangent: need R >= 0 rows");
}

// ---------------------------------------------------------------- cross-entropy

namespace {

// The loss as a function of the logits; labels and class weights are fixed.
OpUnderTest cross_entropy_op(int64_t R, int64_t C, std::vector<int32_t> labels, std::vector<double> w) {
  const Backend be = Backend::reference;
  const size_t n = static_cast<size_t>(R * C);
  auto probs_of = [=](const double* x) {
    std::vector<double> p(n);
    double loss = 0;
    ops::cross_entropy_forward<double>(be, R, C, x, labels.data(), w.empty() ? nullptr : w.data(), p.data(), &loss);
    return p;
  };
  OpUnderTest op;
  op.in_sizes = {n};
  op.out_size = 1;
  op.forward = [=](const OpUnderTest::Ins& x, double* y) {
    std::vector<double> p(n);
    ops::cross_entropy_forward<double>(be, R, C, x[0], labels.data(), w.empty() ? nullptr : w.data(), p.data(), y);
  };
  op.tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, double* dy) {
    ops::cross_entropy_tangent<double>(be, R, C, K, probs_of(x[0]).data(), labels.data(),
                                       w.empty() ? nullptr : w.data(), dx[0], dy);
  };
  op.backward = [=](const OpUnderTest::Ins& x, const double* gy, const OpUnderTest::Outs& gx) {
    ops::cross_entropy_backward<double>(be, R, C, probs_of(x[0]).data(), labels.data(),
                                        w.empty() ? nullptr : w.data(), gy[0], gx[0]);
  };
  op.backward_tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, const double* gy,
                            const double* dgy, const OpUnderTest::Outs& dgx) {
    ops::cross_entropy_backward_tangent<double>(be, R, C, K, probs_of(x[0]).data(), labels.data(),
                                                w.empty() ? nullptr : w.data(), dx[0], gy[0], dgy, dgx[0]);
  };
  return op;
}

template <class T>
struct CeOuts {
  T loss = 0;
  std::vector<T> probs, dloss, gx, dgx;
};
template <class T>
CeOuts<T> run_cross_entropy(Backend be, int64_t R, int64_t C, int K, const std::vector<int32_t>& labels,
                            const std::vector<float>& w, uint64_t seed) {
  const int64_t n = R * C;
  const auto x = cast<T>(wltest::random_vecf(n, seed, -4.f, 4.f)), dx = cast<T>(wltest::random_vecf(K * n, seed + 1)),
             dgloss = cast<T>(wltest::random_vecf(K, seed + 2));
  const auto wt = cast<T>(w);
  const T gloss = T(0.75);
  CeOuts<T> o;
  o.probs.resize(n);
  o.dloss.resize(K);
  o.gx.assign(n, T(0.5));
  o.dgx.assign(K * n, T(-0.25));
  ops::cross_entropy_forward<T>(be, R, C, x.data(), labels.data(), wt.data(), o.probs.data(), &o.loss);
  ops::cross_entropy_tangent<T>(be, R, C, K, o.probs.data(), labels.data(), wt.data(), dx.data(), o.dloss.data());
  ops::cross_entropy_backward<T>(be, R, C, o.probs.data(), labels.data(), wt.data(), gloss, o.gx.data());
  ops::cross_entropy_backward_tangent<T>(be, R, C, K, o.probs.data(), labels.data(), wt.data(), dx.data(), gloss,
                                         dgloss.data(), o.dgx.data());
  return o;
}

}  // namespace

TEST(CrossEntropy, DerivativesMatchFiniteDifferences) {
  const int64_t R = 4, C = 5;
  const std::vector<int32_t> labels = {0, 3, 4, 3};
  const auto x = wltest::random_vec(R * C, 90, -2.0, 2.0);
  {
    SCOPED_TRACE("unweighted");
    wltest::check_op_derivatives(cross_entropy_op(R, C, labels, {}), {x});
  }
  {
    SCOPED_TRACE("class weights");
    wltest::check_op_derivatives(cross_entropy_op(R, C, labels, {0.5, 2.0, 1.0, 0.25, 3.0}), {x});
  }
}

TEST(CrossEntropy, KnownValues) {
  const Backend be = Backend::reference;
  // Uniform logits: loss = log C whatever the labels and weights.
  {
    const std::vector<double> x(3 * 4, 0.7), w = {1, 2, 3, 4};
    const std::vector<int32_t> labels = {0, 2, 3};
    std::vector<double> p(12);
    double loss = 0;
    ops::cross_entropy_forward<double>(be, 3, 4, x.data(), labels.data(), w.data(), p.data(), &loss);
    EXPECT_NEAR(loss, std::log(4.0), 1e-15);
    for (double v : p) EXPECT_NEAR(v, 0.25, 1e-16);
  }
  // PyTorch's weighted mean, by hand: rows x0 = (0, 0) label 0 (w = 1):
  // nll = ln 2; x1 = (ln 3, 0) label 1 (w = 3): p = 1/4, nll = ln 4.
  // loss = (ln 2 + 3 ln 4) / (1 + 3) = 7/4 ln 2.
  {
    const std::vector<double> x = {0.0, 0.0, std::log(3.0), 0.0}, w = {1.0, 3.0};
    const std::vector<int32_t> labels = {0, 1};
    std::vector<double> p(4);
    double loss = 0;
    ops::cross_entropy_forward<double>(be, 2, 2, x.data(), labels.data(), w.data(), p.data(), &loss);
    EXPECT_NEAR(loss, 1.75 * std::log(2.0), 1e-15);
    // backward: gx_r = w_r / W (p_r - onehot): row 1 -> 3/4 (3/4, -3/4)
    std::vector<double> gx(4, 0.0);
    ops::cross_entropy_backward<double>(be, 2, 2, p.data(), labels.data(), w.data(), 1.0, gx.data());
    EXPECT_NEAR(gx[0], 0.25 * (0.5 - 1), 1e-15);
    EXPECT_NEAR(gx[1], 0.25 * 0.5, 1e-15);
    EXPECT_NEAR(gx[2], 0.75 * 0.75, 1e-15);
    EXPECT_NEAR(gx[3], 0.75 * (0.25 - 1), 1e-15);
  }
  // Confident and right: loss ~ 0, no overflow at large logits.
  {
    const std::vector<float> x = {1000.f, -1000.f};
    const std::vector<int32_t> labels = {0};
    std::vector<float> p(2);
    float loss = -1;
    ops::cross_entropy_forward<float>(Backend::fast, 1, 2, x.data(), labels.data(), nullptr, p.data(), &loss);
    EXPECT_EQ(loss, 0.0f);
    EXPECT_EQ(p[0], 1.0f);
  }
}

// Tolerance: as softmax (fast exp, float row reductions), plus the sum of R
// rows in double: 2e-6 relative, 1e-6 absolute.
TEST(CrossEntropy, FastMatchesReferenceOnAwkwardSizes) {
  const int K = 3;
  const int64_t R = 5;
  for (int64_t C : kSizes) {
    SCOPED_TRACE("C=" + std::to_string(C));
    std::vector<int32_t> labels(R);
    for (int64_t r = 0; r < R; ++r) labels[r] = static_cast<int32_t>((r * 7 + 3) % C);
    const auto w = wltest::random_vecf(C, 100 + C, 0.2f, 2.f);
    const auto fast = run_cross_entropy<float>(Backend::fast, R, C, K, labels, w, 110 + C);
    const auto ref = run_cross_entropy<double>(Backend::reference, R, C, K, labels, w, 110 + C);
    EXPECT_NEAR(fast.loss, ref.loss, 2e-6 * std::fabs(ref.loss) + 1e-6) << "forward";
    EXPECT_TRUE(all_close(fast.probs, ref.probs, 2e-6, 1e-6)) << "probs";
    EXPECT_TRUE(all_close(fast.dloss, ref.dloss, 2e-6, 1e-6)) << "tangent";
    EXPECT_TRUE(all_close(fast.gx, ref.gx, 2e-6, 1e-6)) << "backward";
    EXPECT_TRUE(all_close(fast.dgx, ref.dgx, 2e-6, 1e-6)) << "backward tangent";
  }
}

TEST(CrossEntropy, BadLabelsAndWeightsThrow) {
  const Backend be = Backend::reference;
  std::vector<double> x(6), p(6), g(6), d(2);
  double loss = 0;
  const std::vector<int32_t> high = {0, 5}, low = {-1, 0};
  EXPECT_ERROR_CONTAINS(
      ops::cross_entropy_forward<double>(be, 2, 3, x.data(), high.data(), nullptr, p.data(), &loss),
      "cross_entropy_forward: row 1 has label 5, outside [0, 3)");
  EXPECT_ERROR_CONTAINS(ops::cross_entropy_forward<double>(be, 2, 3, x.data(), low.data(), nullptr, p.data(), &loss),
                        "cross_entropy_forward: row 0 has label -1");
  EXPECT_ERROR_CONTAINS(
      ops::cross_entropy_tangent<double>(be, 2, 3, 1, p.data(), high.data(), nullptr, x.data(), d.data()),
      "cross_entropy_tangent: row 1 has label 5");
  EXPECT_ERROR_CONTAINS(ops::cross_entropy_backward<double>(be, 2, 3, p.data(), high.data(), nullptr, 1.0, g.data()),
                        "cross_entropy_backward: row 1 has label 5");
  EXPECT_ERROR_CONTAINS(ops::cross_entropy_backward_tangent<double>(be, 2, 3, 1, p.data(), high.data(), nullptr,
                                                                    x.data(), 1.0, d.data(), g.data()),
                        "cross_entropy_backward_tangent: row 1 has label 5");
  // All labelled rows weighted 0 (or no rows): the mean is undefined.
  const std::vector<int32_t> ok = {0, 2};
  const std::vector<double> w = {0.0, 1.0, 0.0};
  EXPECT_ERROR_CONTAINS(ops::cross_entropy_forward<double>(be, 2, 3, x.data(), ok.data(), w.data(), p.data(), &loss),
                        "cross_entropy_forward: the labelled rows have total weight 0");
  EXPECT_ERROR_CONTAINS(ops::cross_entropy_forward<double>(be, 0, 3, x.data(), ok.data(), nullptr, p.data(), &loss),
                        "total weight 0 (R = 0)");
  EXPECT_ERROR_CONTAINS(ops::cross_entropy_forward<double>(be, 2, 0, x.data(), ok.data(), nullptr, p.data(), &loss),
                        "cross_entropy_forward: need R >= 0 rows and C >= 1 classes, got (R, C) = (2, 0)");
}

// ---------------------------------------------------------------- layer norm

namespace {

const double kEps = 1e-5;

// Inputs x (R, C), gamma (C), beta (C), all differentiable.
OpUnderTest layernorm_op(int64_t R, int64_t C) {
  const Backend be = Backend::reference;
  const size_t n = static_cast<size_t>(R * C);
  struct Saved {
    std::vector<double> mean, rstd;
  };
  auto save = [=](const OpUnderTest::Ins& x) {
    Saved s{std::vector<double>(R), std::vector<double>(R)};
    ops::layernorm_forward<double>(be, R, C, kEps, x[0], x[1], x[2], nullptr, s.mean.data(), s.rstd.data());
    return s;
  };
  OpUnderTest op;
  op.in_sizes = {n, static_cast<size_t>(C), static_cast<size_t>(C)};
  op.out_size = n;
  op.forward = [=](const OpUnderTest::Ins& x, double* y) {
    std::vector<double> mean(R), rstd(R);
    ops::layernorm_forward<double>(be, R, C, kEps, x[0], x[1], x[2], y, mean.data(), rstd.data());
  };
  op.tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, double* dy) {
    const Saved s = save(x);
    ops::layernorm_tangent<double>(be, R, C, K, x[0], x[1], s.mean.data(), s.rstd.data(), dx[0], dx[1], dx[2], dy);
  };
  op.backward = [=](const OpUnderTest::Ins& x, const double* gy, const OpUnderTest::Outs& gx) {
    const Saved s = save(x);
    ops::layernorm_backward<double>(be, R, C, x[0], x[1], s.mean.data(), s.rstd.data(), gy, gx[0], gx[1], gx[2]);
  };
  op.backward_tangent = [=](const OpUnderTest::Ins& x, int K, const OpUnderTest::Ins& dx, const double* gy,
                            const double* dgy, const OpUnderTest::Outs& dgx) {
    const Saved s = save(x);
    ops::layernorm_backward_tangent<double>(be, R, C, K, x[0], x[1], s.mean.data(), s.rstd.data(), dx[0], dx[1],
                                            gy, dgy, dgx[0], dgx[1], dgx[2]);
  };
  return op;
}

template <class T>
struct LnOuts {
  std::vector<T> y, mean, rstd, dy, gx, ggamma, gbeta, dgx, dggamma, dgbeta;
};
template <class T>
LnOuts<T> run_layernorm(Backend be, int64_t R, int64_t C, int K, uint64_t seed) {
  const int64_t n = R * C;
  const auto x = cast<T>(wltest::random_vecf(n, seed, -3.f, 5.f)),
             gamma = cast<T>(wltest::random_vecf(C, seed + 1, 0.5f, 1.5f)),
             beta = cast<T>(wltest::random_vecf(C, seed + 2)), dx = cast<T>(wltest::random_vecf(K * n, seed + 3)),
             dgamma = cast<T>(wltest::random_vecf(K * C, seed + 4)),
             dbeta = cast<T>(wltest::random_vecf(K * C, seed + 5)), gy = cast<T>(wltest::random_vecf(n, seed + 6)),
             dgy = cast<T>(wltest::random_vecf(K * n, seed + 7));
  const T eps = T(1e-5);
  LnOuts<T> o;
  o.y.resize(n);
  o.mean.resize(R);
  o.rstd.resize(R);
  o.dy.resize(K * n);
  o.gx.assign(n, T(0.5));
  o.ggamma.assign(C, T(0.5));
  o.gbeta.assign(C, T(0.5));
  o.dgx.assign(K * n, T(-0.25));
  o.dggamma.assign(K * C, T(-0.25));
  o.dgbeta.assign(K * C, T(-0.25));
  ops::layernorm_forward<T>(be, R, C, eps, x.data(), gamma.data(), beta.data(), o.y.data(), o.mean.data(),
                            o.rstd.data());
  ops::layernorm_tangent<T>(be, R, C, K, x.data(), gamma.data(), o.mean.data(), o.rstd.data(), dx.data(),
                            dgamma.data(), dbeta.data(), o.dy.data());
  ops::layernorm_backward<T>(be, R, C, x.data(), gamma.data(), o.mean.data(), o.rstd.data(), gy.data(), o.gx.data(),
                             o.ggamma.data(), o.gbeta.data());
  ops::layernorm_backward_tangent<T>(be, R, C, K, x.data(), gamma.data(), o.mean.data(), o.rstd.data(), dx.data(),
                                     dgamma.data(), gy.data(), dgy.data(), o.dgx.data(), o.dggamma.data(),
                                     o.dgbeta.data());
  return o;
}

}  // namespace

TEST(LayerNorm, DerivativesMatchFiniteDifferences) {
  for (int64_t C : {1, 2, 6}) {
    SCOPED_TRACE("C=" + std::to_string(C));
    const int64_t R = 3;
    wltest::check_op_derivatives(layernorm_op(R, C), {wltest::random_vec(R * C, 200 + C, -2.0, 2.0),
                                                      wltest::random_vec(C, 201 + C, 0.5, 1.5),
                                                      wltest::random_vec(C, 202 + C)});
  }
}

TEST(LayerNorm, NullTangentsMeanZero) {
  const int64_t R = 2, C = 5;
  const int K = 2;
  const Backend be = Backend::reference;
  const auto x = wltest::random_vec(R * C, 1), gamma = wltest::random_vec(C, 2, 0.5, 1.5),
             dx = wltest::random_vec(K * R * C, 3), dgamma = wltest::random_vec(K * C, 4),
             gy = wltest::random_vec(R * C, 5), dgy = wltest::random_vec(K * R * C, 6);
  std::vector<double> mean(R), rstd(R);
  ops::layernorm_forward<double>(be, R, C, kEps, x.data(), gamma.data(), nullptr, nullptr, mean.data(), rstd.data());
  // Each input tangent contributes linearly: the full call is the sum of
  // calls with one of (dx, dgamma, dgy) at a time.
  auto call = [&](const double* dxp, const double* dgp, const double* dgyp) {
    std::vector<double> dgx(K * R * C, 0.0), dgg(K * C, 0.0), dgb(K * C, 0.0);
    ops::layernorm_backward_tangent<double>(be, R, C, K, x.data(), gamma.data(), mean.data(), rstd.data(), dxp, dgp,
                                            gy.data(), dgyp, dgx.data(), dgg.data(), dgb.data());
    dgx.insert(dgx.end(), dgg.begin(), dgg.end());
    dgx.insert(dgx.end(), dgb.begin(), dgb.end());
    return dgx;
  };
  const auto full = call(dx.data(), dgamma.data(), dgy.data());
  const auto a = call(dx.data(), nullptr, nullptr), b = call(nullptr, dgamma.data(), nullptr),
             c = call(nullptr, nullptr, dgy.data()), none = call(nullptr, nullptr, nullptr);
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_NEAR(full[i], a[i] + b[i] + c[i], 1e-13);
    EXPECT_EQ(none[i], 0.0);
  }
  // tangent without any input tangent writes zeros
  std::vector<double> dy(K * R * C, 5.0);
  ops::layernorm_tangent<double>(be, R, C, K, x.data(), gamma.data(), mean.data(), rstd.data(), nullptr, nullptr,
                                 nullptr, dy.data());
  for (double v : dy) EXPECT_EQ(v, 0.0);
}

// Tolerance: the fast path differs only in the float row reductions (8
// partial sums instead of a double sum). The outputs are differences of O(1)
// terms scaled by rstd (first derivatives) or rstd^2 (the backward tangent's
// d rstd terms), so float roundings of a few ulps become
// 2e-6 relative and 2e-6 max(1, rstd^2) absolute (rstd reaches 4.3 on a
// C = 3 row here, and 1/sqrt(eps) ~ 316 on the constant C = 1 rows).
TEST(LayerNorm, FastMatchesReferenceOnAwkwardSizes) {
  const int K = 3;
  const int64_t R = 3;
  for (int64_t C : kSizes) {
    SCOPED_TRACE("C=" + std::to_string(C));
    const auto fast = run_layernorm<float>(Backend::fast, R, C, K, 300 + C);
    const auto ref = run_layernorm<double>(Backend::reference, R, C, K, 300 + C);
    double scale = 1;
    for (double r : ref.rstd) scale = std::fmax(scale, r * r);
    const double atol = 2e-6 * scale;
    EXPECT_TRUE(all_close(fast.y, ref.y, 2e-6, atol)) << "forward";
    EXPECT_TRUE(all_close(fast.mean, ref.mean, 2e-6, atol)) << "mean";
    EXPECT_TRUE(all_close(fast.rstd, ref.rstd, 2e-6, atol)) << "rstd";
    EXPECT_TRUE(all_close(fast.dy, ref.dy, 2e-6, atol)) << "tangent";
    EXPECT_TRUE(all_close(fast.gx, ref.gx, 2e-6, atol)) << "backward x";
    EXPECT_TRUE(all_close(fast.ggamma, ref.ggamma, 2e-6, atol)) << "backward gamma";
    EXPECT_TRUE(all_close(fast.gbeta, ref.gbeta, 2e-6, atol)) << "backward beta";
    EXPECT_TRUE(all_close(fast.dgx, ref.dgx, 2e-6, atol)) << "backward tangent x";
    EXPECT_TRUE(all_close(fast.dggamma, ref.dggamma, 2e-6, atol)) << "backward tangent gamma";
    EXPECT_TRUE(all_close(fast.dgbeta, ref.dgbeta, 2e-6, atol)) << "backward tangent beta";
  }
}

TEST(LayerNorm, KnownValues) {
  const Backend be = Backend::reference;
  // Before gamma / beta (gamma = 1, beta = 0) each row has mean 0 and
  // variance var / (var + eps) = 1 - O(eps).
  const int64_t R = 4, C = 10;
  const auto x = wltest::random_vec(R * C, 400, -3.0, 7.0);
  const std::vector<double> ones(C, 1.0);
  std::vector<double> y(R * C), mean(R), rstd(R);
  ops::layernorm_forward<double>(be, R, C, 1e-12, x.data(), ones.data(), nullptr, y.data(), mean.data(), rstd.data());
  for (int64_t r = 0; r < R; ++r) {
    double m = 0, v = 0, mx = 0;
    for (int64_t c = 0; c < C; ++c) {
      m += y[r * C + c] / C;
      mx += x[r * C + c] / C;
    }
    for (int64_t c = 0; c < C; ++c) v += (y[r * C + c] - m) * (y[r * C + c] - m) / C;
    EXPECT_NEAR(m, 0.0, 1e-15);
    EXPECT_NEAR(v, 1.0, 1e-10);
    EXPECT_NEAR(mean[r], mx, 1e-14);
  }
  // By hand: x = (1, 2, 3): mean 2, biased var 2/3, xhat = (-1, 0, 1) sqrt(3/2);
  // gamma = (2, 2, 2), beta = (1, 1, 1): y = 1 + 2 xhat.
  const std::vector<double> x3 = {1, 2, 3}, g3 = {2, 2, 2}, b3 = {1, 1, 1};
  std::vector<double> y3(3), m3(1), r3(1);
  ops::layernorm_forward<double>(be, 1, 3, 0.0, x3.data(), g3.data(), b3.data(), y3.data(), m3.data(), r3.data());
  const double s = std::sqrt(1.5);
  EXPECT_NEAR(y3[0], 1 - 2 * s, 1e-15);
  EXPECT_NEAR(y3[1], 1.0, 1e-15);
  EXPECT_NEAR(y3[2], 1 + 2 * s, 1e-15);
  EXPECT_NEAR(m3[0], 2.0, 1e-15);
  EXPECT_NEAR(r3[0], s, 1e-15);
  // A row with a large offset keeps its digits (two-pass variance).
  const std::vector<float> xf = {1e4f + 1, 1e4f + 2, 1e4f + 3};
  const std::vector<float> gf = {1, 1, 1};
  std::vector<float> yf(3), mf(1), rf(1);
  ops::layernorm_forward<float>(Backend::fast, 1, 3, 0.f, xf.data(), gf.data(), nullptr, yf.data(), mf.data(),
                                rf.data());
  EXPECT_NEAR(yf[0], -s, 1e-6);
  EXPECT_NEAR(yf[2], s, 1e-6);
}

TEST(LayerNorm, BadArgumentsThrow) {
  const Backend be = Backend::reference;
  std::vector<double> x(6), g(3), y(6), m(2), r(2);
  EXPECT_ERROR_CONTAINS(ops::layernorm_forward<double>(be, 2, 0, 1e-5, x.data(), g.data(), nullptr, y.data(),
                                                       m.data(), r.data()),
                        "layernorm_forward: need R >= 0 rows and C >= 1 columns, got (R, C) = (2, 0)");
  EXPECT_ERROR_CONTAINS(ops::layernorm_forward<double>(be, 2, 3, -1.0, x.data(), g.data(), nullptr, y.data(),
                                                       m.data(), r.data()),
                        "layernorm_forward: eps must be >= 0");
  EXPECT_ERROR_CONTAINS(ops::layernorm_tangent<double>(be, 2, 0, 1, x.data(), g.data(), m.data(), r.data(), x.data(),
                                                       nullptr, nullptr, y.data()),
                        "layernorm_tangent: need R >= 0 rows");
  EXPECT_ERROR_CONTAINS(ops::layernorm_backward<double>(be, -2, 3, x.data(), g.data(), m.data(), r.data(), x.data(),
                                                        y.data(), nullptr, nullptr),
                        "layernorm_backward: need R >= 0 rows");
  EXPECT_ERROR_CONTAINS(
      ops::layernorm_backward_tangent<double>(be, 2, 0, 1, x.data(), g.data(), m.data(), r.data(), x.data(), nullptr,
                                              x.data(), x.data(), y.data(), nullptr, nullptr),
      "layernorm_backward_tangent: need R >= 0 rows");
}
