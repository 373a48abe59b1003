// Integrated Hessians (core/src/explain/integrated_hessians.cpp):
//  - the Gauss rules for the weights -ln t and -t ln t (a 2-point rule
//    derived here by hand, moments exact to degree 2n - 1);
//  - the building block on analytic functions with closed forms
//    (x1 x2, polynomials), interaction completeness, row sums = IG,
//    symmetry, errors falling with the steps for every rule, batching and
//    direction chunks giving the same matrix, progress and cancelling;
//  - the method on tiny models and the shipped ones (completeness gap,
//    the word matrix merged from the token one, ReLU smoothing), and golden
//    values of an independent PyTorch double-backward implementation
//    (tests/golden/make_integrated_hessians.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "golden_util.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "tiny_models.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

// ------------------------------------------------------------ analytic functions
// f(x) = sum_m c_m prod_i x_i^p_mi, with its exact gradient and Hessian.
struct Polynomial {
  int n = 0;
  std::vector<double> coef;
  std::vector<std::vector<int>> powers;  // per monomial, n exponents

  double value(const double* x) const {
    double s = 0;
    for (size_t m = 0; m < coef.size(); ++m) {
      double v = coef[m];
      for (int i = 0; i < n; ++i) v *= std::pow(x[i], powers[m][i]);
      s += v;
    }
    return s;
  }
  // d/dx_i (and d/dx_j) of monomial m at x.
  double mono_derivative(size_t m, const double* x, int i, int j = -1) const {
    std::vector<int> p = powers[m];
    double c = coef[m];
    for (int k : {i, j}) {
      if (k < 0) continue;
      if (p[k] == 0) return 0;
      c *= p[k];
      --p[k];
    }
    for (int k = 0; k < n; ++k) c *= std::pow(x[k], p[k]);
    return c;
  }
  double grad(const double* x, int i) const {
    double s = 0;
    for (size_t m = 0; m < coef.size(); ++m) s += mono_derivative(m, x, i);
    return s;
  }
  double hess(const double* x, int i, int j) const {
    double s = 0;
    for (size_t m = 0; m < coef.size(); ++m) s += mono_derivative(m, x, i, j);
    return s;
  }
  // The closed form of Gamma with a zero baseline: a monomial of degree d
  // has df/dx_i (t x) = t^(d-1) df/dx_i (x) and d2f (t x) = t^(d-2) d2f (x),
  // and int_0^1 t^k (-ln t) dt = 1 / (k + 1)^2, so its share of
  //   Gamma_ij = x_i x_j d2f/dx_i dx_j (x) / d^2 + [i == j] x_i df/dx_i (x) / d^2.
  std::vector<double> closed_form(const double* x) const {
    std::vector<double> g(static_cast<size_t>(n * n), 0.0);
    for (size_t m = 0; m < coef.size(); ++m) {
      int d = 0;
      for (int p : powers[m]) d += p;
      if (d == 0) continue;
      const double dd = static_cast<double>(d) * d;
      for (int i = 0; i < n; ++i) {
        g[static_cast<size_t>(i * n + i)] += x[i] * mono_derivative(m, x, i) / dd;
        for (int j = 0; j < n; ++j) g[static_cast<size_t>(i * n + j)] += x[i] * x[j] * mono_derivative(m, x, i, j) / dd;
      }
    }
    return g;
  }
};

// Any f given its value, gradient and Hessian, as a BatchHvpFunction.
struct Analytic {
  int n;
  std::function<double(const double*)> f;
  std::function<void(const double*, double*)> grad;          // (n)
  std::function<void(const double*, double*)> hessian;       // (n, n)
  int calls = 0;

  BatchHvpFunction function() {
    return [this](int N, const float* x, int K, const float* V, double* out, float* g, float* hv) {
      ++calls;
      std::vector<double> xd(static_cast<size_t>(n)), gd(static_cast<size_t>(n)), H(static_cast<size_t>(n * n));
      for (int p = 0; p < N; ++p) {
        for (int i = 0; i < n; ++i) xd[static_cast<size_t>(i)] = x[p * n + i];
        out[p] = f(xd.data());
        if (g) {
          grad(xd.data(), gd.data());
          for (int i = 0; i < n; ++i) g[p * n + i] = static_cast<float>(gd[static_cast<size_t>(i)]);
        }
        if (K > 0 && hv) {
          hessian(xd.data(), H.data());
          for (int k = 0; k < K; ++k)
            for (int i = 0; i < n; ++i) {
              double s = 0;
              for (int j = 0; j < n; ++j) s += H[static_cast<size_t>(i * n + j)] * V[k * n + j];
              hv[(static_cast<size_t>(k) * N + p) * n + i] = static_cast<float>(s);
            }
        }
      }
    };
  }
};

Analytic of_polynomial(const Polynomial& P) {
  Analytic a;
  a.n = P.n;
  a.f = [P](const double* x) { return P.value(x); };
  a.grad = [P](const double* x, double* g) {
    for (int i = 0; i < P.n; ++i) g[i] = P.grad(x, i);
  };
  a.hessian = [P](const double* x, double* H) {
    for (int i = 0; i < P.n; ++i)
      for (int j = 0; j < P.n; ++j) H[i * P.n + j] = P.hess(x, i, j);
  };
  return a;
}

// A smooth non-polynomial function: f = exp(x0 x1 / 2) + sin(x2) x0 + tanh(x1 + x3) x2.
Analytic smooth4() {
  Analytic a;
  a.n = 4;
  a.f = [](const double* x) { return std::exp(x[0] * x[1] / 2) + std::sin(x[2]) * x[0] + std::tanh(x[1] + x[3]) * x[2]; };
  a.grad = [](const double* x, double* g) {
    const double e = std::exp(x[0] * x[1] / 2), th = std::tanh(x[1] + x[3]), s2 = 1 - th * th;
    g[0] = e * x[1] / 2 + std::sin(x[2]);
    g[1] = e * x[0] / 2 + s2 * x[2];
    g[2] = std::cos(x[2]) * x[0] + th;
    g[3] = s2 * x[2];
  };
  a.hessian = [](const double* x, double* H) {
    const double e = std::exp(x[0] * x[1] / 2), th = std::tanh(x[1] + x[3]), s2 = 1 - th * th;
    const double ds2 = -2 * th * s2;  // d/du (1 - tanh^2 u)
    for (int i = 0; i < 16; ++i) H[i] = 0;
    auto set = [&](int i, int j, double v) { H[i * 4 + j] = H[j * 4 + i] = v; };
    set(0, 0, e * x[1] * x[1] / 4);
    set(0, 1, e * (0.5 + x[0] * x[1] / 4));
    set(0, 2, std::cos(x[2]));
    set(1, 1, e * x[0] * x[0] / 4 + ds2 * x[2]);
    set(1, 2, s2);
    set(1, 3, ds2 * x[2]);
    set(2, 2, -std::sin(x[2]) * x[0]);
    set(2, 3, s2);
    set(3, 3, ds2 * x[2]);
  };
  return a;
}

std::vector<int32_t> identity_groups(int n) {
  std::vector<int32_t> g(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) g[static_cast<size_t>(i)] = i;
  return g;
}

IhOptions opts(IhRule rule, int steps, int batch = 8, int max_dir = 0) {
  IhOptions o;
  o.rule = rule;
  o.steps = steps;
  o.batch_size = batch;
  o.max_directions = max_dir;
  return o;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}
double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::fabs(v));
  return m;
}

}  // namespace

// ------------------------------------------------------------ quadrature
TEST(IntegratedHessiansQuadrature, TwoPointRulesDerivedByHand) {
  // The monic orthogonal polynomial t^2 + a t + b of a weight with moments
  // m_k solves m_2 + a m_1 + b m_0 = 0, m_3 + a m_2 + b m_1 = 0; its roots
  // are the nodes, and the weights solve w1 + w2 = m_0, w1 t1 + w2 t2 = m_1.
  for (int power : {0, 1}) {
    SCOPED_TRACE(power);
    auto mom = [&](int k) { return 1.0 / ((k + 1.0 + power) * (k + 1.0 + power)); };
    const double m0 = mom(0), m1 = mom(1), m2 = mom(2), m3 = mom(3);
    const double det = m1 * m1 - m0 * m2;
    const double a = (-m2 * m1 + m0 * m3) / det, b = (-m1 * m3 + m2 * m2) / det;
    const double disc = std::sqrt(a * a - 4 * b);
    const double t1 = (-a - disc) / 2, t2 = (-a + disc) / 2;
    const double w2 = (m1 - m0 * t1) / (t2 - t1), w1 = m0 - w2;
    const Quadrature q = log_weight_gauss(2, power);
    ASSERT_EQ(q.alphas.size(), 2u);
    EXPECT_NEAR(q.alphas[0], t1, 1e-14);
    EXPECT_NEAR(q.alphas[1], t2, 1e-14);
    EXPECT_NEAR(q.weights[0], w1, 1e-14);
    EXPECT_NEAR(q.weights[1], w2, 1e-14);
  }
  // Abramowitz & Stegun, table 25.7 (-ln t, n = 2): 0.112008806166976, 0.602276908118738;
  // weights 0.718539319030384, 0.281460680969616.
  const Quadrature q = log_weight_gauss(2, 0);
  EXPECT_NEAR(q.alphas[0], 0.112008806166976, 1e-14);
  EXPECT_NEAR(q.alphas[1], 0.602276908118738, 1e-14);
  EXPECT_NEAR(q.weights[0], 0.718539319030384, 1e-14);
  EXPECT_NEAR(q.weights[1], 0.281460680969616, 1e-14);
}

TEST(IntegratedHessiansQuadrature, GaussRulesAreExactToDegreeTwoNMinusOne) {
  for (int power : {0, 1})
    for (int n : {1, 3, 8, 16, 33, 64, 128}) {
      SCOPED_TRACE("power " + std::to_string(power) + " n " + std::to_string(n));
      const Quadrature q = log_weight_gauss(n, power);
      ASSERT_EQ(q.alphas.size(), static_cast<size_t>(n));
      for (size_t k = 0; k < q.alphas.size(); ++k) {
        EXPECT_GT(q.alphas[k], 0.0);
        EXPECT_LT(q.alphas[k], 1.0);
        EXPECT_GT(q.weights[k], 0.0);
        if (k) {
          EXPECT_GT(q.alphas[k], q.alphas[k - 1]);
        }
      }
      for (int k = 0; k <= 2 * n - 1; ++k) {
        double s = 0;
        for (size_t i = 0; i < q.alphas.size(); ++i) s += q.weights[i] * std::pow(q.alphas[i], k);
        const double exact = 1.0 / ((k + 1.0 + power) * (k + 1.0 + power));
        ASSERT_NEAR(s / exact, 1.0, 1e-11) << "degree " << k;
      }
      // Not exact one degree further (a Gauss rule, not more; visible for small n).
      if (n > 16) continue;
      double s = 0;
      for (size_t i = 0; i < q.alphas.size(); ++i) s += q.weights[i] * std::pow(q.alphas[i], 2 * n);
      EXPECT_GT(std::fabs(s * (2 * n + 1.0 + power) * (2 * n + 1.0 + power) - 1.0), 1e-15);
    }
}

TEST(IntegratedHessiansQuadrature, PathPointsOfEachRule) {
  // gauss: steps Hessian points and steps gradient points.
  const auto g = ih_path_points(IhRule::gauss, 5, 1);
  ASSERT_EQ(g.size(), 10u);
  int hess = 0;
  for (const auto& p : g) hess += p.w_second != 0;
  EXPECT_EQ(hess, 5);
  // riemann: a 4 x 4 midpoint grid has 10 distinct products a b, whose
  // weights sum to 1 (first order) and to int a b = 1/4 (second order).
  const auto r = ih_path_points(IhRule::riemann, 16, 1);
  EXPECT_EQ(r.size(), 10u);
  double s1 = 0, s2 = 0;
  for (const auto& p : r) s1 += p.w_first, s2 += p.w_second;
  EXPECT_NEAR(s1, 1.0, 1e-15);
  EXPECT_NEAR(s2, 0.25, 1e-15);
  // monte-carlo: seeded.
  const auto m1 = ih_path_points(IhRule::monte_carlo, 7, 3), m2 = ih_path_points(IhRule::monte_carlo, 7, 3),
             m3 = ih_path_points(IhRule::monte_carlo, 7, 4);
  ASSERT_EQ(m1.size(), 7u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(m1[i].t, m2[i].t);
  EXPECT_NE(m1[0].t, m3[0].t);
  EXPECT_THROW(parse_ih_rule("simpson"), Error);
}

// ------------------------------------------------------------ analytic functions
TEST(IntegratedHessiansAnalytic, ProductOfTwoMatchesTheClosedForm) {
  // f = x1 x2, baseline b: Gamma_12 = Gamma_21 = D1 D2 / 4,
  // Gamma_11 = D1 (b2 + D2 / 4), Gamma_22 = D2 (b1 + D1 / 4).
  Polynomial P;
  P.n = 2;
  P.coef = {1.0};
  P.powers = {{1, 1}};
  Analytic a = of_polynomial(P);
  const std::vector<float> x = {1.5f, -2.0f}, b = {0.5f, 0.25f};
  const double D1 = 1.0, D2 = -2.25;
  for (IhRule rule : {IhRule::gauss, IhRule::riemann}) {
    const IhResult r = integrated_hessians(a.function(), 2, x.data(), b.data(), identity_groups(2), 2,
                                           opts(rule, rule == IhRule::gauss ? 1 : 64));
    // gauss is exact with one point (the integrands are of degree <= 1 in t);
    // the midpoint grid has error O(1/m^2) on the first-order term.
    const double tol = rule == IhRule::gauss ? 1e-6 : 2e-3;
    EXPECT_NEAR(r.interactions[1], D1 * D2 / 4, tol);
    EXPECT_NEAR(r.interactions[2], D1 * D2 / 4, tol);
    EXPECT_NEAR(r.interactions[0], D1 * (0.25 + D2 / 4), tol);
    EXPECT_NEAR(r.interactions[3], D2 * (0.5 + D1 / 4), tol);
    EXPECT_NEAR(r.f_input - r.f_baseline, 1.5 * -2.0 - 0.5 * 0.25, 1e-6);
    EXPECT_NEAR(r.gap, 0.0, tol);
  }
}

TEST(IntegratedHessiansAnalytic, PolynomialsMatchTheClosedForm) {
  // Degree up to 4 (exact with 3 Gauss points: degree 3 in t for the gradient).
  Polynomial P;
  P.n = 4;
  P.coef = {2.0, -1.5, 0.75, 1.0, -0.5, 3.0};
  P.powers = {{2, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 0, 3}, {1, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 2, 0}};
  Analytic a = of_polynomial(P);
  const std::vector<float> x = {0.8f, -1.1f, 0.6f, 1.3f}, zero(4, 0.f);
  std::vector<double> xd(x.begin(), x.end());
  const std::vector<double> want = P.closed_form(xd.data());
  const IhResult r = integrated_hessians(a.function(), 4, x.data(), zero.data(), identity_groups(4), 4,
                                         opts(IhRule::gauss, 3));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(r.interactions[i], want[i], 2e-6 * (1 + std::fabs(want[i])));
  EXPECT_NEAR(r.gap, 0.0, 1e-5);
  // With fewer points the degree-4 monomial is no longer exact: a real error.
  const IhResult r1 = integrated_hessians(a.function(), 4, x.data(), zero.data(), identity_groups(4), 4,
                                          opts(IhRule::gauss, 1));
  EXPECT_GT(max_abs_diff(r1.interactions, want), 1e-3);
  // Groups: features {0, 1} and {2, 3}; the group matrix is the sum of the blocks.
  const std::vector<int32_t> groups = {0, 0, 1, 1};
  const IhResult rg = integrated_hessians(a.function(), 4, x.data(), zero.data(), groups, 2, opts(IhRule::gauss, 3));
  for (int I = 0; I < 2; ++I)
    for (int J = 0; J < 2; ++J) {
      double s = 0;
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
          if (groups[static_cast<size_t>(i)] == I && groups[static_cast<size_t>(j)] == J) s += want[static_cast<size_t>(i * 4 + j)];
      EXPECT_NEAR(rg.interactions[static_cast<size_t>(I * 2 + J)], s, 1e-5 * (1 + std::fabs(s)));
    }
  // A feature in no group: no row, no column, and it stays at its input value.
  const std::vector<int32_t> partial = {0, 1, -1, 2};
  const IhResult rp = integrated_hessians(a.function(), 4, x.data(), zero.data(), partial, 3, opts(IhRule::gauss, 3));
  EXPECT_EQ(rp.interactions.size(), 9u);
}

TEST(IntegratedHessiansAnalytic, CompletenessRowSumsAndSymmetryWithinAShrinkingQuadratureError) {
  Analytic a = smooth4();
  const std::vector<float> x = {1.2f, -0.7f, 0.9f, 0.4f}, b = {-0.3f, 0.2f, 0.1f, -0.5f};
  const IhResult ref = integrated_hessians(a.function(), 4, x.data(), b.data(), identity_groups(4), 4,
                                           opts(IhRule::gauss, 64));
  // IG of the same function, accurately.
  BatchFunction fg = [&](int N, const float* xs, double* out, float* g) {
    a.function()(N, xs, 0, nullptr, out, g, nullptr);
  };
  const IgResult ig = integrated_gradients(fg, 4, x.data(), b.data(), IgRule::gauss_legendre, 64, 16);
  EXPECT_NEAR(ref.gap, 0.0, 1e-5);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(ref.row_sums[static_cast<size_t>(i)], ig.attributions[static_cast<size_t>(i)], 1e-5);
    for (int j = 0; j < 4; ++j)
      EXPECT_NEAR(ref.interactions[static_cast<size_t>(i * 4 + j)], ref.interactions[static_cast<size_t>(j * 4 + i)],
                  1e-6);
  }
  // Errors against the reference fall with the steps, for every rule.
  for (IhRule rule : {IhRule::gauss, IhRule::riemann, IhRule::monte_carlo}) {
    SCOPED_TRACE(static_cast<int>(rule));
    std::vector<double> errs, gaps;
    const std::vector<int> steps =
        rule == IhRule::gauss ? std::vector<int>{1, 2, 4} : std::vector<int>{4, 64, 1024};
    for (int s : steps) {
      const IhResult r = integrated_hessians(a.function(), 4, x.data(), b.data(), identity_groups(4), 4,
                                             opts(rule, s, 64));
      errs.push_back(max_abs_diff(r.interactions, ref.interactions));
      gaps.push_back(std::fabs(r.gap));
    }
    EXPECT_LT(errs[1], errs[0]);
    EXPECT_LT(errs[2], errs[1]);
    if (rule == IhRule::gauss) {
      EXPECT_LT(errs[2], 1e-4);  // 4 Hessian points
      EXPECT_LT(gaps[2], 1e-4);
    }
  }
}

TEST(IntegratedHessiansAnalytic, BatchesAndDirectionChunksGiveTheSameMatrix) {
  Analytic a = smooth4();
  const std::vector<float> x = {1.2f, -0.7f, 0.9f, 0.4f}, b(4, 0.f);
  const IhResult one = integrated_hessians(a.function(), 4, x.data(), b.data(), identity_groups(4), 4,
                                           opts(IhRule::gauss, 6, 64));
  a.calls = 0;
  const IhResult chunked = integrated_hessians(a.function(), 4, x.data(), b.data(), identity_groups(4), 4,
                                               opts(IhRule::gauss, 6, 4, 3));
  // 1 ends + 2 Hessian batches x 2 direction chunks + 2 gradient batches.
  EXPECT_EQ(a.calls, 1 + 4 + 2);
  EXPECT_EQ(chunked.hessian_points, 6);
  EXPECT_EQ(chunked.evaluations, 14);
  for (size_t i = 0; i < one.interactions.size(); ++i) EXPECT_NEAR(chunked.interactions[i], one.interactions[i], 1e-12);
}

TEST(IntegratedHessiansAnalytic, ProgressCancelAndErrors) {
  Analytic a = smooth4();
  const std::vector<float> x(4, 1.f), b(4, 0.f);
  std::vector<std::pair<int64_t, int64_t>> seen;
  ExplainControl ctl;
  ctl.progress = [&](int64_t done, int64_t total) { seen.emplace_back(done, total); };
  const IhOptions o = opts(IhRule::gauss, 4, 3);
  EXPECT_EQ(ih_evaluations(o), 10);
  integrated_hessians(a.function(), 4, x.data(), b.data(), identity_groups(4), 4, o, ctl);
  const std::vector<std::pair<int64_t, int64_t>> expected = {{2, 10}, {5, 10}, {6, 10}, {9, 10}, {10, 10}};
  EXPECT_EQ(seen, expected);
  std::atomic<bool> cancel{false};
  ctl.cancel = &cancel;
  ctl.progress = [&](int64_t done, int64_t) {
    if (done >= 5) cancel = true;
  };
  EXPECT_THROW(integrated_hessians(a.function(), 4, x.data(), b.data(), identity_groups(4), 4, o, ctl), Cancelled);
  EXPECT_THROW(integrated_hessians(a.function(), 4, x.data(), b.data(), {0, 1, 2}, 4, o), Error);
  EXPECT_THROW(integrated_hessians(a.function(), 4, x.data(), b.data(), {0, 1, 2, 4}, 4, o), Error);
  EXPECT_THROW(integrated_hessians(a.function(), 4, x.data(), b.data(), identity_groups(4), 4, opts(IhRule::gauss, 0)),
               Error);
}

// ------------------------------------------------------------ the method on models
namespace {

using wltest::kTinyBert, wltest::kTinyCnn;  // the shared tiny configs
// A 3-class BiLSTM without label names.
const char* kBiLstmConfig = R"({"model_type": "wordlight-bilstm", "vocab_size": 12, "embedding_dim": 8,
  "hidden_size": 6, "num_labels": 3, "max_length": 16})";

using wltest::Tiny;
Tiny tiny(const char* config, uint64_t seed) { return wltest::tiny_model(config, seed); }

Explanation run(const Model& m, const Tokenizer& tok, const std::string& text, const std::string& options,
                int target = -1) {
  ExplainRequest r;
  r.method = "integrated-hessians";
  r.options = parse_option_list(options);
  // Fixed steps from the zero baseline unless a test says otherwise (the
  // adaptive default is tested on its own below).
  r.options.emplace("adaptive", "false");
  r.options.emplace("baseline", "zero");
  r.target = target;
  return explain(m, tok, text, r);
}

const ExplanationCheck& check(const Explanation& e, const std::string& name) {
  for (const ExplanationCheck& c : e.checks)
    if (c.name == name) return c;
  throw std::runtime_error("no check " + name);
}

}  // namespace

TEST(IntegratedHessiansMethod, TinyModelsCompletenessRowSumsSymmetryAndWords) {
  struct Case {
    const char* name;
    const char* config;
    const char* text;
  };
  // The bert is the golden tiny BERT (a fresh N(0, 0.02) one is almost
  // constant in its input); its text has a word of two tokens.
  for (const Case& c : {Case{"bert", nullptr, "the films was not very fun !"},
                        Case{"cnn", kTinyCnn, "the film is not very good !"},
                        Case{"bilstm", kBiLstmConfig, "a very bad , bad film"}}) {
    SCOPED_TRACE(c.name);
    Tiny t;
    if (c.config) {
      t = tiny(c.config, 11);
    } else {
      const std::string dir = wltest::golden_dir("transformers", "bert-cls");
      LoadedModel m = load_model_directory(dir);
      t.model = std::move(m.model);
      t.tok = std::move(m.tokenizer);
    }
    const Explanation e = run(*t.model, *t.tok, c.text, "steps=16");
    const size_t T = e.tokens.size(), W = e.words.size();
    ASSERT_EQ(e.token_interactions.size(), T * T);
    ASSERT_EQ(e.word_interactions.size(), W * W);
    const ExplanationCheck& gap = check(e, "interaction-completeness-gap");
    EXPECT_LT(gap.relative, 1e-3) << gap.value << " of " << gap.reference;
    EXPECT_GT(std::fabs(gap.reference), 1e-3);
    const ExplanationCheck& rows = check(e, "row-sum-ig-gap");
    EXPECT_LT(rows.relative, 1e-3) << rows.value << " of " << rows.reference;
    double offdiag = 0, asym = 0, scale = 0;
    for (size_t i = 0; i < T; ++i) {
      double row = 0;
      for (size_t j = 0; j < T; ++j) {
        const double v = e.token_interactions[i * T + j];
        row += v;
        scale = std::max(scale, std::fabs(v));
        if (i != j) offdiag = std::max(offdiag, std::fabs(v));
        asym = std::max(asym, std::fabs(v - e.token_interactions[j * T + i]));
        if (e.tokens[i].special || e.tokens[j].special) {
          EXPECT_EQ(v, 0.0);
        }
      }
      EXPECT_NEAR(row, e.tokens[i].score, 1e-9 * (1 + std::fabs(row)));
    }
    EXPECT_GT(offdiag, 1e-4 * scale);  // real interactions, not a diagonal
    EXPECT_LT(asym, 1e-4 * scale);
    // Words: the sum of the blocks of their tokens (merge=sum).
    for (size_t a = 0; a < W; ++a)
      for (size_t b = 0; b < W; ++b) {
        double s = 0;
        for (int32_t ta : e.words[a].tokens)
          for (int32_t tb : e.words[b].tokens) s += e.token_interactions[static_cast<size_t>(ta) * T + tb];
        EXPECT_NEAR(e.word_interactions[a * W + b], s, 1e-12);
      }
    // The method's own JSON carries the matrices.
    const auto j = nlohmann::json::parse(explanation_to_json(e));
    ASSERT_TRUE(j.contains("interactions"));
    EXPECT_EQ(j["interactions"]["words"].size(), W);
    EXPECT_EQ(j["interactions"]["tokens"][0].size(), T);
    // The same matrix whatever the batch of path points.
    const Explanation e1 = run(*t.model, *t.tok, c.text, "steps=16,batch-size=1");
    for (size_t i = 0; i < T * T; ++i)
      EXPECT_NEAR(e1.token_interactions[i], e.token_interactions[i], 1e-5 * (scale + 1e-6));
  }
}

TEST(IntegratedHessiansMethod, ReluIsSmoothedAndTheDifferenceReported) {
  const Tiny t = tiny(kTinyCnn, 5);
  const std::string text = "the film is not very good !";
  // Without smoothing a ReLU CNN has no curvature: off-diagonal entries
  // vanish and the diagonal is the first-order term alone.
  const Explanation raw = run(*t.model, *t.tok, text, "steps=8,softplus-beta=0");
  const size_t T = raw.tokens.size();
  double off = 0, diag = 0;
  for (size_t i = 0; i < T; ++i)
    for (size_t j = 0; j < T; ++j)
      (i == j ? diag : off) = std::max(i == j ? diag : off, std::fabs(raw.token_interactions[i * T + j]));
  EXPECT_EQ(off, 0.0);
  EXPECT_GT(diag, 0.0);
  for (const ExplanationCheck& c : raw.checks) EXPECT_NE(c.name, "smoothing-difference");
  // Smoothed: interactions appear; the smoothed model's output gets closer
  // to the model's as beta grows.
  double prev = 1e300;
  for (double beta : {2.0, 10.0, 100.0}) {
    const Explanation e = run(*t.model, *t.tok, text, "steps=8,softplus-beta=" + std::to_string(beta));
    double o = 0;
    for (size_t i = 0; i < T; ++i)
      for (size_t j = 0; j < T; ++j)
        if (i != j) o = std::max(o, std::fabs(e.token_interactions[i * T + j]));
    EXPECT_GT(o, 0.0);
    const ExplanationCheck& s = check(e, "smoothing-difference");
    EXPECT_LT(std::fabs(s.value), prev);
    prev = std::fabs(s.value);
    std::printf("  beta %g: smoothing difference %.4g, completeness gap %.3g relative\n", beta, s.value,
                check(e, "interaction-completeness-gap").relative);
    // The sharper the softplus, the less smooth the path integrand: at
    // beta 100 eight points no longer suffice (see the steps study).
    if (beta <= 10) {
      EXPECT_LT(check(e, "interaction-completeness-gap").relative, 1e-2);
    }
  }
  // The transformer (gelu) is untouched by the smoothing: difference 0.
  const Tiny b = tiny(kTinyBert, 5);
  const Explanation eb = run(*b.model, *b.tok, "the film is good", "steps=4");
  EXPECT_EQ(check(eb, "smoothing-difference").value, 0.0);
}

TEST(IntegratedHessiansMethod, ExpectedHessiansAverageBaselinesAndProgress) {
  const Tiny t = tiny(kBiLstmConfig, 3);
  const std::string text = "a very bad , bad film";
  std::vector<std::pair<int64_t, int64_t>> seen;
  ExplainRequest r;
  r.method = "integrated-hessians";
  r.options = parse_option_list("steps=4,baseline=random-words,baseline-samples=3");
  r.control.progress = [&](int64_t done, int64_t total) { seen.emplace_back(done, total); };
  const Explanation e = explain(*t.model, *t.tok, text, r);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().first, seen.back().second);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].first, seen[i - 1].first);
  // gap relative to the mean f(x) - f(baseline) over the three baselines
  EXPECT_LT(check(e, "interaction-completeness-gap").relative, 2e-2);
  // Averaging: the mean of three single-baseline runs is not any one of them.
  const Explanation e1 = run(*t.model, *t.tok, text, "steps=4,baseline=random-words,baseline-samples=1");
  EXPECT_GT(max_abs_diff(e.token_interactions, e1.token_interactions), 1e-6);
  std::atomic<bool> cancel{false};
  r.control.cancel = &cancel;
  r.control.progress = [&](int64_t done, int64_t) {
    if (done > 3) cancel = true;
  };
  EXPECT_THROW(explain(*t.model, *t.tok, text, r), Cancelled);
}

// ------------------------------------------------------------ shipped models
TEST(IntegratedHessiansMethod, ShippedModelsCompletenessGap) {
  struct Case {
    const char* dir;
    const char* text;
  };
  for (const Case& c : {Case{"models/20news-cnn", "The shuttle launch was delayed by a problem with the engines."},
                        Case{"models/sst2-bilstm", "a gripping , funny and ultimately moving film"}}) {
    SCOPED_TRACE(c.dir);
    const std::string dir = std::string(WORDLIGHT_SOURCE_DIR) + "/" + c.dir;
    const LoadedModel loaded = load_model_directory(dir);
    const std::unique_ptr<Model>& model = loaded.model;
    const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
    const Explanation e = run(*model, *tok, c.text, "steps=6");
    const ExplanationCheck& gap = check(e, "interaction-completeness-gap");
    std::printf("  %s: f(x) - f(0) = %.5f, completeness gap %.3g (%.3g relative), row-sum gap %.3g\n", c.dir,
                gap.reference, gap.value, gap.relative, check(e, "row-sum-ig-gap").relative);
    EXPECT_LT(gap.relative, 5e-3);
    EXPECT_LT(check(e, "row-sum-ig-gap").relative, 5e-3);
    EXPECT_GT(std::fabs(gap.reference), 0.1);
  }
}

// ------------------------------------------------------------ golden values (PyTorch double backward)
TEST(IntegratedHessiansGolden, MatchesPyTorchDoubleBackward) {
  const auto gold = wltest::read_json(wltest::golden_dir("integrated_hessians", "golden.json"));
  for (const auto& c : gold["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const std::string dir = std::string(WORDLIGHT_SOURCE_DIR) + "/tests/golden/" + c["model"].get<std::string>();
    const LoadedModel loaded = load_model_directory(dir);
    const std::unique_ptr<Model>& model = loaded.model;
    const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
    const Explanation e = run(*model, *tok, c["text"], c["options"], c["target"].get<int>());
    std::vector<int32_t> ids;
    for (const TokenScore& t : e.tokens) ids.push_back(t.id);
    ASSERT_EQ(ids, c["input_ids"].get<std::vector<int32_t>>());
    EXPECT_NEAR(e.prediction.explained_value, c["f_input_model"].get<double>(), 1e-4);
    const std::vector<double> want = c["token_interactions"].get<std::vector<double>>();
    ASSERT_EQ(e.token_interactions.size(), want.size());
    const double scale = max_abs(want);
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i)
      worst = std::max(worst, std::fabs(e.token_interactions[i] - want[i]) / (1e-3 * std::fabs(want[i]) + 1e-3 * 1e-2 * scale));
    EXPECT_LE(worst, 1.0) << "worst error / (1e-3 |want| + 1e-5 max|want|)";
    // Completeness of the reference itself (its own quadrature).
    double s = 0;
    for (double v : want) s += v;
    EXPECT_NEAR(s, c["f_input"].get<double>() - c["f_baseline"].get<double>(), 1e-6 * (1 + std::fabs(s)));
  }
}
