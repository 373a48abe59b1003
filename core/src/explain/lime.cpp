// LIME (Ribeiro, Singh & Guestrin 2016), LimeTextExplainer's procedure
// (marcotcr/lime, lime_text.py and lime_base.py): row 0 is the text; each
// other row removes k ~ U{1..d} distinct random words (features); a row's
// distance is 100 x its cosine distance to row 0 on the binary features,
// its weight sqrt(exp(-distance^2 / kernel-width^2)); a Ridge regression
// (alpha 1, with intercept, sklearn's weighted centring) of the output on
// the binary features gives each word its weight. Checks: the fit's
// weighted R^2 (lime's `score`), its intercept and the local prediction
// (the fit at the text, against f(text)).
// Where lime surprises its users we differ: every word gets a weight (lime
// keeps 10), samples default 1000 (lime: 5000), and words are positions
// by default (bow=true is lime's default: every occurrence of a word
// removed at once, all of them sharing its weight).
#include <algorithm>
#include <cmath>
#include <string>

#include "perturbation_internal.h"

namespace wordlight {

LimeResult lime(const CoalitionFunction& f, int M, int samples, double kernel_width, double alpha, uint64_t seed,
                const CoalitionRun& run) {
  using explain_detail::Rng;
  LimeResult r;
  r.weights.assign(static_cast<size_t>(std::max(M, 0)), 0.0);
  if (M <= 0) return r;
  const size_t m = static_cast<size_t>(M), S = static_cast<size_t>(std::max(samples, 1));
  std::vector<uint8_t> masks(S * m, 1);
  Rng rng(seed);
  std::vector<int> perm(m);
  for (size_t s = 1; s < S; ++s) {
    const size_t k = 1 + static_cast<size_t>(rng.below(m));
    for (size_t i = 0; i < m; ++i) perm[i] = static_cast<int>(i);
    for (size_t i = 0; i < k; ++i) std::swap(perm[i], perm[i + static_cast<size_t>(rng.below(m - i))]);
    for (size_t i = 0; i < k; ++i) masks[s * m + static_cast<size_t>(perm[i])] = 0;
  }
  std::vector<double> y;
  r.evaluations = evaluate_coalitions(f, M, masks, run, y);
  r.f_full = y[0];
  r.samples = static_cast<int64_t>(S);
  std::vector<double> w(S);
  double W = 0;
  for (size_t s = 0; s < S; ++s) {
    size_t n = 0;
    for (size_t i = 0; i < m; ++i) n += masks[s * m + i];
    const double sim = n ? std::sqrt(static_cast<double>(n) / static_cast<double>(m)) : 0.0;
    const double d = (1 - sim) * 100;
    w[s] = std::sqrt(std::exp(-d * d / (kernel_width * kernel_width)));
    W += w[s];
  }
  // Weighted means, then the centred normal equations plus alpha I.
  std::vector<double> xbar(m, 0.0);
  double ybar = 0;
  for (size_t s = 0; s < S; ++s) {
    ybar += w[s] * y[s];
    for (size_t i = 0; i < m; ++i)
      if (masks[s * m + i]) xbar[i] += w[s];
  }
  for (double& v : xbar) v /= W;
  ybar /= W;
  std::vector<double> A(m * m, 0.0), b(m, 0.0);
  std::vector<size_t> nz;
  for (size_t s = 0; s < S; ++s) {
    nz.clear();
    for (size_t i = 0; i < m; ++i)
      if (masks[s * m + i]) nz.push_back(i);
    const double ws = w[s], dy = y[s] - ybar;
    for (size_t i : nz) {
      b[i] += ws * dy;
      for (size_t j : nz) A[i * m + j] += ws;
    }
  }
  // sum w (x - xbar)(x - xbar)^T = sum w x x^T - W xbar xbar^T; sum w (x - xbar) dy = sum w x dy (sum w dy = 0).
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < m; ++j) A[i * m + j] -= W * xbar[i] * xbar[j];
    A[i * m + i] += alpha;
  }
  r.weights = explain_detail::solve_psd(A, b, M);
  r.intercept = ybar;
  for (size_t i = 0; i < m; ++i) r.intercept -= xbar[i] * r.weights[i];
  double ss_res = 0, ss_tot = 0;
  for (size_t s = 0; s < S; ++s) {
    double pred = r.intercept;
    for (size_t i = 0; i < m; ++i)
      if (masks[s * m + i]) pred += r.weights[i];
    ss_res += w[s] * (y[s] - pred) * (y[s] - pred);
    ss_tot += w[s] * (y[s] - ybar) * (y[s] - ybar);
  }
  r.score = ss_tot > 0 ? 1 - ss_res / ss_tot : (ss_res > 0 ? 0.0 : 1.0);
  r.local_prediction = r.intercept;
  for (double v : r.weights) r.local_prediction += v;
  return r;
}

namespace explain_detail {

namespace {

void run(MethodContext& ctx, Explanation& e) {
  const CoalitionGame g = coalition_game(ctx, e, ctx.opts.boolean("bow"));
  const int M = g.size();
  const LimeResult r = lime(g.f, M, static_cast<int>(ctx.opts.integer("samples")), ctx.opts.number("kernel-width"),
                            ctx.opts.number("alpha"), static_cast<uint64_t>(ctx.opts.integer("seed")), g.run);
  set_feature_scores(ctx, e, g.feats, r.weights);
  // R^2 is its own relative (it may be negative).
  e.checks.push_back(make_check("r-squared", r.score, 1,
                                "weighted R^2 of the linear fit on the perturbed texts (lime's score): how far a "
                                "linear model of the words explains the output near the text",
                                r.score));
  e.checks.push_back(make_check("local-prediction", r.local_prediction, r.f_full,
                                "the fit at the text (reference: the model's output there)"));
  e.checks.push_back(
      make_check("intercept", r.intercept, r.f_full, "the fit's intercept: its output with every word absent"));
  if (r.samples < 2LL * M) e.checks.push_back(samples_per_feature_check(r.samples, M));
}

}  // namespace

std::vector<MethodEntry> lime_methods() {
  return {method_entry(
      "lime",
      "LIME (LimeTextExplainer): the weights of a linear model of the words fitted to the output on texts with "
      "random words removed, weighted by their closeness to the text",
      run,
      perturbation_options({
          int_option("samples", 1000, 1, 1000000, "perturbed texts (the first is the text itself)"),
          num_option("kernel-width", 25, 1e-3, 1e6, "width of the exponential kernel on 100 x the cosine distance"),
          num_option("alpha", 1, 0, 1e6, "Ridge regularisation of the fit"),
          bool_option("bow", false,
                      "bag of words (lime's default): one feature per distinct word, every occurrence removed at once"),
      }),
      "r-squared", ScoredBy::word)};
}

}  // namespace explain_detail
}  // namespace wordlight
