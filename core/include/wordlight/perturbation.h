#pragma once
// The perturbation family's estimators (issue 15) as building blocks over a
// set function: M features, a coalition is a mask of M bytes (1 = the
// feature is present), and f(coalition) is the explained output of the
// text with the absent features masked (core/src/explain/perturbation.cpp
// makes that function from a model; tests use analytic ones).
//
//   kernel_shap       shap's KernelExplainer estimator (Lundberg & Lee 2017)
//   shapley_sampling  Shapley value sampling over random permutations
//                     (Castro et al. 2009; Captum's ShapleyValueSampling)
//   lime              LimeTextExplainer's sampling and weighted Ridge fit
//
// Every estimator first draws all its coalitions (seeded, with the
// platform-independent generator of the explain code, so the same seed
// gives the same coalitions natively and in wasm), then evaluates the
// distinct ones only, in batches of at most batch_size, reporting progress
// in evaluations and checking the cancel flag between batches.
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wordlight/explain.h"

namespace wordlight {

// f on N coalitions at once: masks (N, M) -> out (N).
using CoalitionFunction = std::function<void(int N, const uint8_t* masks, double* out)>;

struct CoalitionRun {
  int batch_size = 64;
  ExplainControl control;
  // f of the full coalition when already known (the prediction): it is then
  // not evaluated again, and the estimates are relative to exactly it.
  bool have_full = false;
  double f_full = 0;
};

// Distinct coalitions of masks (N, M) evaluated once each; out (N).
// Returns the number of evaluations of f (rows run).
int64_t evaluate_coalitions(const CoalitionFunction& f, int M, const std::vector<uint8_t>& masks,
                            const CoalitionRun& run, std::vector<double>& out);

struct ShapleyResult {
  std::vector<double> values;           // (M)
  std::vector<double> standard_errors;  // (M): shapley_sampling only (empty otherwise)
  double f_full = 0, f_empty = 0;
  double gap = 0;         // sum(values) - (f_full - f_empty)
  bool exact = false;     // kernel_shap: every coalition enumerated, the values are the exact Shapley values
  int64_t samples = 0;    // coalitions drawn or enumerated (full and empty excluded), repeats included
  int64_t evaluations = 0;  // distinct coalitions run through f (full excluded when have_full)
};

// The sample budget of kernel_shap's "auto": 2 M + 2048, at most 2^M - 2.
int64_t kernel_shap_auto_samples(int M);

// KernelSHAP: coalitions weighted by the Shapley kernel (M - 1) / (C(M, s)
// s (M - s)); whole subset sizes (with their complements) are enumerated
// while the budget allows, the rest drawn as (coalition, complement) pairs
// with sizes in proportion to the kernel; weighted least squares with the
// efficiency constraint sum(values) = f_full - f_empty enforced exactly
// (shap's _kernel.py, without its l1 feature selection). With samples >=
// 2^M - 2 every coalition is enumerated and the result is the exact
// Shapley value. samples <= 0: kernel_shap_auto_samples(M).
ShapleyResult kernel_shap(const CoalitionFunction& f, int M, int64_t samples, uint64_t seed, const CoalitionRun& run);

// Shapley value sampling: for each of `permutations` random orders, the
// marginal contributions f(S + i) - f(S) of the features added one by one
// to the empty coalition; values are their means, standard_errors the
// standard errors of the means. antithetic: every second order is the
// previous one reversed (the pair's mean is one sample for the standard
// error). Efficiency holds exactly (each order telescopes).
ShapleyResult shapley_sampling(const CoalitionFunction& f, int M, int permutations, bool antithetic, uint64_t seed,
                               const CoalitionRun& run);

struct LimeResult {
  std::vector<double> weights;  // (M): the Ridge coefficients
  double intercept = 0;
  double score = 0;             // weighted R^2 of the fit on the samples
  double local_prediction = 0;  // the fit at the full coalition
  double f_full = 0;
  int64_t samples = 0;
  int64_t evaluations = 0;
};

// LIME (LimeTextExplainer, lime_text.py / lime_base.py): row 0 the full
// coalition, each other row removes k ~ U{1..M} distinct random features;
// distance = 100 x the cosine distance to row 0 (1 for the empty
// coalition), weight sqrt(exp(-d^2 / width^2)); Ridge (alpha) with an
// intercept on the binary features, weighted (sklearn's centring).
LimeResult lime(const CoalitionFunction& f, int M, int samples, double kernel_width, double alpha, uint64_t seed,
                const CoalitionRun& run);

}  // namespace wordlight

namespace wordlight {

// A binary hierarchy over M features in scipy's linkage layout: merge k
// (k = 0..M-2) joins nodes merges[k][0] and merges[k][1] into node M + k
// (nodes < M are the features); the last merge is the root.
using Hierarchy = std::vector<std::array<int, 2>>;

// shap's text partition tree (maskers/_text.py partition_tree), over the
// features' texts: neighbours are merged greedily by a score that merges
// "##" pieces first, small groups before large ones, and delays merges
// across commas and semicolons, sentence ends (. ? !) and the connectors
// but / and / or.
Hierarchy text_partition_tree(const std::vector<std::string>& texts);

// Partition SHAP (shap's PartitionExplainer, fixed_context None): Owen
// values over the hierarchy. From the root, a node under a context (the
// coalition of its ancestors' siblings that are present) is split into its
// two children, each then explained under both contexts (its sibling
// absent, present) with half the weight; nodes are expanded in order of
// |change of f| x weight while the budget allows (two evaluations per
// expansion), and a node left unexpanded gives its change to its features
// in proportion to their number. Fully expanded (max_evals large enough),
// the values are the exact Owen values; efficiency holds always.
// max_evals counts the evaluations past the full coalition (the empty one
// included).
ShapleyResult partition_shap(const CoalitionFunction& f, int M, const Hierarchy& tree, int64_t max_evals,
                             const CoalitionRun& run);

}  // namespace wordlight
