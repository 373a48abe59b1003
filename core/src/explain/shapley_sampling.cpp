// Shapley value sampling (Castro, Gomez & Tejada 2009; Captum's
// ShapleyValueSampling, the method Atanasova et al. 2020 evaluate): for
// each of `permutations` random orders of the words, the words are added
// one by one to the empty text and each gets the change of the output it
// causes; a word's value is the mean of its changes. Each order costs M
// evaluations (the empty and the full text are shared by all orders, and
// any coalition met twice is evaluated once). Efficiency holds exactly
// (each order's changes telescope to f(x) - f(empty)). antithetic: every
// second order is the previous one reversed (the pair's mean is one sample
// for the standard error; an odd count is rounded up). The standard error
// of each word's mean is reported (WordScore::standard_error, "standard_error"
// in JSON), its largest value as the check max-standard-error.
#include <algorithm>
#include <cmath>
#include <string>

#include "perturbation_internal.h"

namespace wordlight {

ShapleyResult shapley_sampling(const CoalitionFunction& f, int M, int permutations, bool antithetic, uint64_t seed,
                               const CoalitionRun& run) {
  using explain_detail::Rng;
  ShapleyResult r;
  r.values.assign(static_cast<size_t>(std::max(M, 0)), 0.0);
  r.standard_errors.assign(r.values.size(), 0.0);
  if (M <= 0) return r;
  if (permutations < 1) permutations = 1;
  if (antithetic && permutations % 2) ++permutations;
  const size_t m = static_cast<size_t>(M), P = static_cast<size_t>(permutations);
  std::vector<std::vector<int>> orders(P, std::vector<int>(m));
  Rng rng(seed);
  for (size_t q = 0; q < P; ++q) {
    std::vector<int>& o = orders[q];
    if (antithetic && q % 2 == 1) {
      o.assign(orders[q - 1].rbegin(), orders[q - 1].rend());
      continue;
    }
    for (size_t i = 0; i < m; ++i) o[i] = static_cast<int>(i);
    for (size_t i = m - 1; i > 0; --i) std::swap(o[i], o[static_cast<size_t>(rng.below(i + 1))]);
  }
  // Rows: for each order, its prefixes of 0..M words.
  std::vector<uint8_t> masks(P * (m + 1) * m, 0);
  for (size_t q = 0; q < P; ++q)
    for (size_t j = 1; j <= m; ++j) {
      uint8_t* row = masks.data() + (q * (m + 1) + j) * m;
      std::copy(row - m, row, row);
      row[orders[q][j - 1]] = 1;
    }
  std::vector<double> y;
  r.evaluations = evaluate_coalitions(f, M, masks, run, y);
  r.f_empty = y[0];
  r.f_full = y[m];
  r.samples = static_cast<int64_t>(P * (m - 1));
  // marginal[q][i]: word i's change in order q.
  std::vector<double> marginal(P * m);
  for (size_t q = 0; q < P; ++q)
    for (size_t j = 0; j < m; ++j)
      marginal[q * m + static_cast<size_t>(orders[q][j])] = y[q * (m + 1) + j + 1] - y[q * (m + 1) + j];
  const size_t units = antithetic ? P / 2 : P;
  for (size_t i = 0; i < m; ++i) {
    std::vector<double> u(units);
    for (size_t k = 0; k < units; ++k)
      u[k] = antithetic ? 0.5 * (marginal[2 * k * m + i] + marginal[(2 * k + 1) * m + i]) : marginal[k * m + i];
    double mean = 0;
    for (double v : u) mean += v;
    mean /= static_cast<double>(units);
    double ss = 0;
    for (double v : u) ss += (v - mean) * (v - mean);
    r.values[i] = mean;
    r.standard_errors[i] = units > 1 ? std::sqrt(ss / static_cast<double>(units - 1) / static_cast<double>(units)) : 0;
  }
  explain_detail::set_efficiency_gap(r);
  return r;
}

namespace explain_detail {

namespace {

void run(MethodContext& ctx, Explanation& e) {
  const CoalitionGame g = coalition_game(ctx, e);
  const Features& feats = g.feats;
  const int M = g.size();
  const ShapleyResult r =
      shapley_sampling(g.f, M, static_cast<int>(ctx.opts.integer("permutations")), ctx.opts.boolean("antithetic"),
                       static_cast<uint64_t>(ctx.opts.integer("seed")), g.run);
  set_feature_scores(ctx, e, feats, r.values);
  // Each word's standard error (features=tokens: words of one token only).
  for (int k = 0; k < M; ++k)
    for (int32_t w : feats.words[static_cast<size_t>(k)])
      e.words[static_cast<size_t>(w)].standard_error = r.standard_errors[static_cast<size_t>(k)];
  if (feats.by_token)
    for (int k = 0; k < M; ++k) {
      const int32_t w = e.tokens[static_cast<size_t>(feats.tokens[static_cast<size_t>(k)][0])].word;
      if (w >= 0 && e.words[static_cast<size_t>(w)].tokens.size() == 1)
        e.words[static_cast<size_t>(w)].standard_error = r.standard_errors[static_cast<size_t>(k)];
    }
  e.checks.push_back(efficiency_check(r, "0 by construction"));
  size_t worst = 0;
  for (size_t i = 0; i < r.standard_errors.size(); ++i)
    if (r.standard_errors[i] > r.standard_errors[worst]) worst = i;
  e.checks.push_back(make_check("max-standard-error", r.standard_errors.empty() ? 0 : r.standard_errors[worst],
                                std::fabs(r.f_full - r.f_empty),
                                "the largest standard error of a word's value over the permutations (reference: "
                                "|f(text) - f(empty)|); shrinks like 1 / sqrt(permutations)"));
  e.checks.push_back(f_empty_check(r));
}

}  // namespace

std::vector<MethodEntry> shapley_sampling_methods() {
  return {method_entry(
      "shapley-sampling",
      "Shapley value sampling (Captum's ShapleyValueSampling): each word's mean change of the output when added to "
      "the words before it, over random orders; standard errors reported",
      run,
      perturbation_options({
          int_option("permutations", 25, 2, 100000, "random orders of the words; each costs one evaluation per word"),
          bool_option("antithetic", false, "every second order is the previous one reversed (lower variance)"),
      }),
      "efficiency-gap", ScoredBy::word)};
}

}  // namespace explain_detail
}  // namespace wordlight
