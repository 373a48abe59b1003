// KernelSHAP (Lundberg & Lee 2017), shap's KernelExplainer estimator
// (shap/explainers/_kernel.py): the Shapley values are the weighted least
// squares fit of f over coalitions with the Shapley kernel weights
// (M - 1) / (C(M, s) s (M - s)), the empty and the full coalition held
// exactly (the values sum to f(x) - f(empty)). Subset sizes are taken from
// both ends (size s with its complements, size M - s) and enumerated whole
// while the budget covers their share of the kernel; the rest are drawn as
// (coalition, complement) pairs with sizes in proportion to the kernel,
// a repeated draw adding weight to its first copy. Budget `samples`
// (distinct coalitions besides the full and empty ones); 0 = auto =
// 2 M + 2048 capped at 2^M - 2, and at 2^M - 2 every coalition is
// enumerated: the result is the exact Shapley value (check exact-shapley).
// Unlike shap's default, no l1 feature selection: every word gets a value.
//
// Features, absent words and batching: perturbation_internal.h.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "perturbation_internal.h"

namespace wordlight {

int64_t kernel_shap_auto_samples(int M) {
  int64_t s = 2LL * M + 2048;
  if (M < 62) s = std::min(s, (int64_t{1} << M) - 2);
  return std::max<int64_t>(s, 0);
}

namespace {

double binom(int n, int k) {
  double r = 1;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return std::round(r) < 9e15 ? std::round(r) : r;
}

}  // namespace

ShapleyResult kernel_shap(const CoalitionFunction& f, int M, int64_t samples, uint64_t seed, const CoalitionRun& run) {
  using explain_detail::Rng;
  ShapleyResult r;
  r.values.assign(static_cast<size_t>(std::max(M, 0)), 0.0);
  if (M <= 0) return r;
  const size_t m = static_cast<size_t>(M);
  const int64_t all = M < 62 ? (int64_t{1} << M) - 2 : std::numeric_limits<int64_t>::max();
  if (samples <= 0) samples = kernel_shap_auto_samples(M);
  samples = std::min(samples, all);

  std::vector<uint8_t> masks(2 * m, 0);  // row 0 empty, row 1 full
  std::fill(masks.begin() + static_cast<long>(m), masks.end(), 1);
  std::vector<double> weights;  // per coalition row from 2 on
  auto add = [&](const std::vector<uint8_t>& mk, double w) {
    masks.insert(masks.end(), mk.begin(), mk.end());
    weights.push_back(w);
  };

  const int nss = M / 2;              // ceil((M - 1) / 2) subset sizes
  const int npaired = (M - 1) / 2;    // of which have a distinct complement size
  std::vector<double> wv(static_cast<size_t>(nss));
  double wsum = 0;
  for (int i = 0; i < nss; ++i) {
    wv[static_cast<size_t>(i)] = (M - 1.0) / ((i + 1.0) * (M - i - 1.0));
    if (i < npaired) wv[static_cast<size_t>(i)] *= 2;
    wsum += wv[static_cast<size_t>(i)];
  }
  for (double& w : wv) w /= wsum;

  int64_t left = samples;
  int full_sizes = 0;
  std::vector<double> rem = wv;
  for (int size = 1; size <= nss; ++size) {
    double nsub = binom(M, size);
    const bool paired = size <= npaired;
    if (paired) nsub *= 2;
    if (!(static_cast<double>(left) * rem[static_cast<size_t>(size - 1)] / nsub >= 1 - 1e-8)) break;
    ++full_sizes;
    left -= static_cast<int64_t>(nsub);
    const double rs = rem[static_cast<size_t>(size - 1)];
    if (rs < 1)
      for (double& w : rem) w /= 1 - rs;
    double w = wv[static_cast<size_t>(size - 1)] / binom(M, size);
    if (paired) w /= 2;
    // Every subset of `size`, in lexicographic order of its indices.
    std::vector<int> idx(static_cast<size_t>(size));
    for (int i = 0; i < size; ++i) idx[static_cast<size_t>(i)] = i;
    std::vector<uint8_t> mk(m);
    for (;;) {
      std::fill(mk.begin(), mk.end(), 0);
      for (int i : idx) mk[static_cast<size_t>(i)] = 1;
      add(mk, w);
      if (paired) {
        for (uint8_t& b : mk) b = b ? 0 : 1;
        add(mk, w);
      }
      int i = size - 1;
      while (i >= 0 && idx[static_cast<size_t>(i)] == M - size + i) --i;
      if (i < 0) break;
      ++idx[static_cast<size_t>(i)];
      for (int j = i + 1; j < size; ++j) idx[static_cast<size_t>(j)] = idx[static_cast<size_t>(j - 1)] + 1;
    }
  }
  const size_t nfixed = weights.size();
  r.exact = full_sizes == nss;
  if (!r.exact && left > 0) {
    std::vector<double> p(wv.begin() + full_sizes, wv.end());
    for (int i = full_sizes; i < npaired; ++i) p[static_cast<size_t>(i - full_sizes)] /= 2;
    double ps = 0;
    for (double v : p) ps += v;
    std::vector<double> cum(p.size());
    double c = 0;
    for (size_t i = 0; i < p.size(); ++i) cum[i] = (c += p[i] / ps);
    Rng rng(seed);
    std::map<std::vector<uint8_t>, size_t> used;  // sampled coalition -> its weight's index
    std::vector<int> perm(m);
    std::vector<uint8_t> mk(m);
    const int64_t draws = 4 * left;
    for (int64_t d = 0; d < draws && left > 0; ++d) {
      const double u = rng.uniform();
      size_t k = 0;
      while (k + 1 < cum.size() && u >= cum[k]) ++k;
      const int size = static_cast<int>(k) + full_sizes + 1;
      // The first `size` of a random permutation (Fisher-Yates, only as far as needed).
      for (int i = 0; i < M; ++i) perm[static_cast<size_t>(i)] = i;
      for (int i = 0; i < size; ++i) std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(i + static_cast<int>(rng.below(static_cast<uint64_t>(M - i))))]);
      std::fill(mk.begin(), mk.end(), 0);
      for (int i = 0; i < size; ++i) mk[static_cast<size_t>(perm[static_cast<size_t>(i)])] = 1;
      auto it = used.find(mk);
      const bool fresh = it == used.end();
      size_t at = 0;
      if (fresh) {
        at = weights.size();
        used.emplace(mk, at);
        add(mk, 1.0);
        --left;
      } else {
        at = it->second;
        weights[at] += 1.0;
      }
      if (left > 0 && size <= npaired) {
        for (uint8_t& b : mk) b = b ? 0 : 1;
        if (fresh) {
          add(mk, 1.0);
          --left;
        } else {
          weights[at + 1] += 1.0;
        }
      }
    }
    double weight_left = 0, sampled = 0;
    for (int i = full_sizes; i < nss; ++i) weight_left += wv[static_cast<size_t>(i)];
    for (size_t i = nfixed; i < weights.size(); ++i) sampled += weights[i];
    if (sampled > 0)
      for (size_t i = nfixed; i < weights.size(); ++i) weights[i] *= weight_left / sampled;
  }

  std::vector<double> y;
  r.evaluations = evaluate_coalitions(f, M, masks, run, y);
  r.f_empty = y[0];
  r.f_full = y[1];
  const size_t S = weights.size();
  r.samples = static_cast<int64_t>(S);
  const double delta = r.f_full - r.f_empty;
  if (M == 1) {
    r.values[0] = delta;
    r.exact = true;
    return r;
  }
  // Efficiency eliminates the last value: phi_last = delta - sum(others);
  // rows x_k = m_k - m_last, targets y - f_empty - m_last delta.
  const int n = M - 1;
  std::vector<double> A(static_cast<size_t>(n) * n, 0.0), b(static_cast<size_t>(n), 0.0);
  std::vector<double> x(static_cast<size_t>(n));
  std::vector<int> nz;
  for (size_t s = 0; s < S; ++s) {
    const uint8_t* mk = masks.data() + (s + 2) * m;
    const double last = mk[m - 1];
    const double t = y[s + 2] - r.f_empty - last * delta, w = weights[s];
    nz.clear();
    for (int k = 0; k < n; ++k) {
      x[static_cast<size_t>(k)] = mk[k] - last;
      if (x[static_cast<size_t>(k)] != 0) nz.push_back(k);
    }
    for (int i : nz) {
      const double wxi = w * x[static_cast<size_t>(i)];
      b[static_cast<size_t>(i)] += wxi * t;
      for (int j : nz) A[static_cast<size_t>(i) * n + j] += wxi * x[static_cast<size_t>(j)];
    }
  }
  const std::vector<double> phi = explain_detail::solve_psd(A, b, n);
  double sum = 0;
  for (int k = 0; k < n; ++k) {
    r.values[static_cast<size_t>(k)] = phi[static_cast<size_t>(k)];
    sum += phi[static_cast<size_t>(k)];
  }
  r.values[m - 1] = delta - sum;
  explain_detail::set_efficiency_gap(r);
  return r;
}

namespace explain_detail {

namespace {

void run(MethodContext& ctx, Explanation& e) {
  const CoalitionGame g = coalition_game(ctx, e);
  const int M = g.size();
  const ShapleyResult r =
      kernel_shap(g.f, M, ctx.opts.integer("samples"), static_cast<uint64_t>(ctx.opts.integer("seed")), g.run);
  set_feature_scores(ctx, e, g.feats, r.values);
  e.checks.push_back(efficiency_check(r, "enforced exactly"));
  e.checks.push_back(flag_check("exact-shapley", r.exact,
                                r.exact ? "every coalition was evaluated: these are the exact Shapley values"
                                        : std::to_string(r.samples) +
                                              " sampled coalitions: an estimate of the Shapley values"));
  e.checks.push_back(f_empty_check(r));
  if (!r.exact) e.checks.push_back(samples_per_feature_check(r.samples, M));
}

}  // namespace

std::vector<MethodEntry> kernel_shap_methods() {
  return {method_entry("kernel-shap",
                       "KernelSHAP (shap's KernelExplainer): Shapley values by weighted least squares over coalitions "
                       "of words, exact when every coalition fits the budget",
                       run,
                       perturbation_options({int_option("samples", 0, 0, 1000000,
                                                        "coalitions evaluated besides the text and the empty text; 0: "
                                                        "auto = 2 x words + 2048, at most 2^words - 2 (then the "
                                                        "values are exact)")}),
                       "efficiency-gap", ScoredBy::word)};
}

}  // namespace explain_detail
}  // namespace wordlight
