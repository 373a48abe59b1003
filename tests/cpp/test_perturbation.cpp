// The perturbation family (issue 15): kernel-shap, shapley-sampling, lime,
// partition-shap (Owen values against brute force over the orders that
// keep the hierarchy's groups together).
// On analytic set functions: KernelSHAP with the whole budget equals the
// Shapley values computed here by brute force over every coalition,
// additive models give their terms, symmetric features equal values, a
// dummy feature 0, efficiency to float precision; Shapley sampling's error
// shrinks with the permutations; LIME recovers a linear model's weights;
// coalitions evaluated once each, in bounded batches, with progress and
// cancel; the same seed gives the same answer. On tiny BERT, CNN and
// BiLSTM models: each absent strategy (mask, remove, attention-off, pad,
// zero, unk) gives the model the input it describes: exact KernelSHAP
// through explain() equals brute-force Shapley values of the model run
// here on inputs built by hand (token ids, attention masks, zeroed
// embeddings).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "tiny_models.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/perturbation.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

// ------------------------------------------------------------ analytic set functions
using SetFn = std::function<double(const std::vector<int>& z)>;

CoalitionFunction as_coalitions(int M, const SetFn& g, int64_t* calls = nullptr, int* max_batch = nullptr,
                                std::set<std::vector<int>>* seen = nullptr, bool* repeated = nullptr) {
  return [=](int N, const uint8_t* masks, double* out) {
    if (max_batch) *max_batch = std::max(*max_batch, N);
    for (int r = 0; r < N; ++r) {
      std::vector<int> z(masks + static_cast<size_t>(r) * M, masks + static_cast<size_t>(r + 1) * M);
      if (seen && !seen->insert(z).second && repeated) *repeated = true;
      out[r] = g(z);
    }
    if (calls) *calls += N;
  };
}

// Shapley values by their definition: sum over coalitions S without i of
// |S|! (M - |S| - 1)! / M! (g(S + i) - g(S)).
std::vector<double> brute_force_shapley(int M, const SetFn& g) {
  std::vector<double> fact(static_cast<size_t>(M + 1), 1.0);
  for (int i = 1; i <= M; ++i) fact[static_cast<size_t>(i)] = fact[static_cast<size_t>(i - 1)] * i;
  std::vector<double> phi(static_cast<size_t>(M), 0.0);
  for (uint32_t s = 0; s < (1u << M); ++s) {
    std::vector<int> z(static_cast<size_t>(M));
    int size = 0;
    for (int i = 0; i < M; ++i) size += z[static_cast<size_t>(i)] = (s >> i) & 1;
    const double gs = g(z);
    for (int i = 0; i < M; ++i) {
      if (z[static_cast<size_t>(i)]) continue;
      std::vector<int> zi = z;
      zi[static_cast<size_t>(i)] = 1;
      phi[static_cast<size_t>(i)] += fact[static_cast<size_t>(size)] * fact[static_cast<size_t>(M - size - 1)] /
                                     fact[static_cast<size_t>(M)] * (g(zi) - gs);
    }
  }
  return phi;
}

// Owen values by their definition: the mean marginal contribution over
// the orders of the features in which every group of the hierarchy is
// contiguous (g tabulated over all 2^M coalitions first).
std::vector<double> brute_force_owen(int M, const Hierarchy& tree, const SetFn& g) {
  std::vector<double> table(size_t{1} << M);
  for (uint32_t s = 0; s < (1u << M); ++s) {
    std::vector<int> z(static_cast<size_t>(M));
    for (int i = 0; i < M; ++i) z[static_cast<size_t>(i)] = (s >> i) & 1;
    table[s] = g(z);
  }
  std::vector<std::vector<int>> groups;
  std::vector<std::vector<int>> leaves(static_cast<size_t>(2 * M - 1));
  for (int i = 0; i < M; ++i) leaves[static_cast<size_t>(i)] = {i};
  for (size_t k = 0; k < tree.size(); ++k) {
    auto& l = leaves[static_cast<size_t>(M) + k];
    for (int c : tree[k]) l.insert(l.end(), leaves[static_cast<size_t>(c)].begin(), leaves[static_cast<size_t>(c)].end());
    groups.push_back(l);
  }
  std::vector<int> order(static_cast<size_t>(M));
  for (int i = 0; i < M; ++i) order[static_cast<size_t>(i)] = i;
  std::vector<double> phi(static_cast<size_t>(M), 0.0);
  int64_t count = 0;
  do {
    std::vector<int> pos(static_cast<size_t>(M));
    for (int j = 0; j < M; ++j) pos[static_cast<size_t>(order[static_cast<size_t>(j)])] = j;
    bool ok = true;
    for (const auto& gr : groups) {
      int lo = M, hi = -1;
      for (int i : gr) lo = std::min(lo, pos[static_cast<size_t>(i)]), hi = std::max(hi, pos[static_cast<size_t>(i)]);
      ok = ok && hi - lo + 1 == static_cast<int>(gr.size());
    }
    if (!ok) continue;
    ++count;
    uint32_t s = 0;
    for (int j = 0; j < M; ++j) {
      const uint32_t t = s | (1u << order[static_cast<size_t>(j)]);
      phi[static_cast<size_t>(order[static_cast<size_t>(j)])] += table[t] - table[s];
      s = t;
    }
  } while (std::next_permutation(order.begin(), order.end()));
  for (double& v : phi) v /= static_cast<double>(count);
  return phi;
}

// Interactions of every order; feature 5 is a dummy, features 1 and 2 symmetric.
double game(const std::vector<int>& z) {
  return 0.3 + 1.5 * z[0] - 0.7 * z[3] + 2.0 * z[1] * z[2] + 0.9 * z[0] * z[3] * z[4] - 1.1 * z[4] * z[6] +
         0.4 * z[1] + 0.4 * z[2] + (z[0] + z[1] + z[2] + z[3] + z[4] + z[6] >= 4 ? 0.8 : 0.0);
}
const int kGameM = 7;

std::vector<double> additive_weights(int M) {
  std::vector<double> w(static_cast<size_t>(M));
  for (int i = 0; i < M; ++i) w[static_cast<size_t>(i)] = std::sin(1.7 * i + 0.3) * (1 + i % 3);
  return w;
}
SetFn additive(const std::vector<double>& w, double b) {
  return [w, b](const std::vector<int>& z) {
    double v = b;
    for (size_t i = 0; i < w.size(); ++i) v += w[i] * z[i];
    return v;
  };
}

double rms_error(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / static_cast<double>(a.size()));
}

TEST(KernelShap, WholeBudgetIsExactShapley) {
  const std::vector<double> exact = brute_force_shapley(kGameM, game);
  int64_t calls = 0;
  std::set<std::vector<int>> seen;
  bool repeated = false;
  CoalitionRun run;
  run.batch_size = 16;
  const ShapleyResult r =
      kernel_shap(as_coalitions(kGameM, game, &calls, nullptr, &seen, &repeated), kGameM, 0, 1, run);
  EXPECT_EQ(kernel_shap_auto_samples(kGameM), (1 << kGameM) - 2);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.samples, (1 << kGameM) - 2);
  EXPECT_EQ(calls, 1 << kGameM);  // every coalition, the full and empty ones included, once
  EXPECT_FALSE(repeated);
  for (int i = 0; i < kGameM; ++i) EXPECT_NEAR(r.values[static_cast<size_t>(i)], exact[static_cast<size_t>(i)], 1e-10) << i;
  EXPECT_NEAR(r.values[5], 0.0, 1e-10);             // dummy
  EXPECT_NEAR(r.values[1], r.values[2], 1e-10);     // symmetric
  EXPECT_NEAR(r.gap, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.f_full, game(std::vector<int>(kGameM, 1)));
  EXPECT_DOUBLE_EQ(r.f_empty, game(std::vector<int>(kGameM, 0)));
  // A budget past 2^M - 2 changes nothing.
  const ShapleyResult r2 = kernel_shap(as_coalitions(kGameM, game), kGameM, 100000, 9, run);
  for (int i = 0; i < kGameM; ++i) EXPECT_NEAR(r2.values[static_cast<size_t>(i)], exact[static_cast<size_t>(i)], 1e-10);
}

TEST(KernelShap, AdditiveModelGivesItsTermsFromFewSamples) {
  const int M = 24;
  const std::vector<double> w = additive_weights(M);
  CoalitionRun run;
  run.batch_size = 32;
  int max_batch = 0;
  const ShapleyResult r = kernel_shap(as_coalitions(M, additive(w, -0.4), nullptr, &max_batch), M, 120, 3, run);
  EXPECT_FALSE(r.exact);
  EXPECT_EQ(r.samples, 120);
  EXPECT_LE(max_batch, 32);
  for (int i = 0; i < M; ++i) EXPECT_NEAR(r.values[static_cast<size_t>(i)], w[static_cast<size_t>(i)], 1e-9) << i;
}

TEST(KernelShap, SampledBudgetKeepsEfficiencyAndIsDeterministic) {
  const int M = 14;
  SetFn g = [](const std::vector<int>& z) {
    double v = 0;
    for (int i = 0; i + 1 < 14; ++i) v += (i % 3 - 1) * z[static_cast<size_t>(i)] * (1 + z[static_cast<size_t>(i + 1)]);
    return std::tanh(v);
  };
  const std::vector<double> exact = brute_force_shapley(M, g);
  CoalitionRun run;
  const ShapleyResult a = kernel_shap(as_coalitions(M, g), M, 300, 5, run);
  const ShapleyResult b = kernel_shap(as_coalitions(M, g), M, 300, 5, run);
  const ShapleyResult c = kernel_shap(as_coalitions(M, g), M, 300, 6, run);
  EXPECT_FALSE(a.exact);
  EXPECT_LE(std::fabs(a.gap), 1e-12);
  EXPECT_EQ(a.values, b.values);
  EXPECT_NE(a.values, c.values);
  // More budget, closer to the exact values (mean over seeds).
  double e_small = 0, e_large = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    e_small += rms_error(kernel_shap(as_coalitions(M, g), M, 64, seed, run).values, exact);
    e_large += rms_error(kernel_shap(as_coalitions(M, g), M, 4096, seed, run).values, exact);
  }
  EXPECT_LT(e_large, 0.5 * e_small);
}

TEST(ShapleySampling, ConvergesToExactValues) {
  const std::vector<double> exact = brute_force_shapley(kGameM, game);
  CoalitionRun run;
  for (bool anti : {false, true}) {
    double e_few = 0, e_many = 0, se_few = 0, se_many = 0;
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      const ShapleyResult few = shapley_sampling(as_coalitions(kGameM, game), kGameM, 8, anti, seed, run);
      const ShapleyResult many = shapley_sampling(as_coalitions(kGameM, game), kGameM, 512, anti, seed, run);
      EXPECT_NEAR(few.gap, 0.0, 1e-12);
      EXPECT_NEAR(many.gap, 0.0, 1e-12);
      EXPECT_EQ(few.values[5], 0.0);  // a dummy's changes are all 0
      EXPECT_EQ(few.standard_errors[5], 0.0);
      e_few += rms_error(few.values, exact);
      e_many += rms_error(many.values, exact);
      se_few += *std::max_element(few.standard_errors.begin(), few.standard_errors.end());
      se_many += *std::max_element(many.standard_errors.begin(), many.standard_errors.end());
    }
    // 64x the permutations: errors and standard errors ~8x smaller.
    EXPECT_LT(e_many, e_few / 4) << anti;
    EXPECT_GT(se_many, se_few / 16) << anti;
    EXPECT_LT(se_many, se_few / 5) << anti;
  }
}

TEST(ShapleySampling, AdditiveExactAndCoalitionsEvaluatedOnce) {
  const int M = 9;
  const std::vector<double> w = additive_weights(M);
  int64_t calls = 0;
  std::set<std::vector<int>> seen;
  bool repeated = false;
  CoalitionRun run;
  run.have_full = true;
  run.f_full = additive(w, 0.2)(std::vector<int>(M, 1));
  const ShapleyResult r =
      shapley_sampling(as_coalitions(M, additive(w, 0.2), &calls, nullptr, &seen, &repeated), M, 6, false, 2, run);
  EXPECT_FALSE(repeated);
  EXPECT_LE(calls, 6 * (M - 1) + 1);  // the empty once, the full known
  EXPECT_EQ(calls, r.evaluations);
  for (int i = 0; i < M; ++i) {
    EXPECT_NEAR(r.values[static_cast<size_t>(i)], w[static_cast<size_t>(i)], 1e-12);
    EXPECT_NEAR(r.standard_errors[static_cast<size_t>(i)], 0.0, 1e-12);
  }
}

TEST(Lime, RecoversLinearWeights) {
  const int M = 10;
  const std::vector<double> w = additive_weights(M);
  CoalitionRun run;
  const LimeResult exact = lime(as_coalitions(M, additive(w, 0.7)), M, 400, 25, 0.0, 4, run);
  for (int i = 0; i < M; ++i) EXPECT_NEAR(exact.weights[static_cast<size_t>(i)], w[static_cast<size_t>(i)], 1e-9);
  EXPECT_NEAR(exact.intercept, 0.7, 1e-9);
  EXPECT_NEAR(exact.score, 1.0, 1e-12);
  // lime's alpha = 1 shrinks the weights a little.
  const LimeResult ridge = lime(as_coalitions(M, additive(w, 0.7)), M, 1000, 25, 1.0, 4, run);
  for (int i = 0; i < M; ++i) {
    EXPECT_NEAR(ridge.weights[static_cast<size_t>(i)], w[static_cast<size_t>(i)], 0.03 * std::fabs(w[static_cast<size_t>(i)]) + 1e-3);
  }
  EXPECT_GT(ridge.score, 0.999);
  EXPECT_NEAR(ridge.local_prediction, additive(w, 0.7)(std::vector<int>(M, 1)), 0.05);
  // Same seed, same answer; a nonlinear model's fit is imperfect.
  const LimeResult again = lime(as_coalitions(M, additive(w, 0.7)), M, 1000, 25, 1.0, 4, run);
  EXPECT_EQ(ridge.weights, again.weights);
  const LimeResult nl = lime(as_coalitions(kGameM, game), kGameM, 500, 25, 1.0, 4, run);
  EXPECT_LT(nl.score, 0.999);
  EXPECT_GT(nl.score, 0.0);
}

TEST(Coalitions, BatchesProgressAndCancel) {
  const int M = 5;
  std::vector<uint8_t> masks;
  for (int r = 0; r < 40; ++r)
    for (int i = 0; i < M; ++i) masks.push_back(static_cast<uint8_t>(((r % 13) >> i) & 1));  // 13 distinct
  int64_t calls = 0;
  int max_batch = 0;
  CoalitionRun run;
  run.batch_size = 4;
  std::vector<std::pair<int64_t, int64_t>> seen;
  run.control.progress = [&](int64_t done, int64_t total) { seen.emplace_back(done, total); };
  std::vector<double> out;
  const SetFn g = [](const std::vector<int>& z) { return z[0] + 2.0 * z[1] + 4.0 * z[2] + 8.0 * z[3] + 16.0 * z[4]; };
  EXPECT_EQ(evaluate_coalitions(as_coalitions(M, g, &calls, &max_batch), M, masks, run, out), 13);
  EXPECT_EQ(calls, 13);
  EXPECT_LE(max_batch, 4);
  const std::vector<std::pair<int64_t, int64_t>> expected = {{4, 13}, {8, 13}, {12, 13}, {13, 13}};
  EXPECT_EQ(seen, expected);
  for (int r = 0; r < 40; ++r) EXPECT_EQ(out[static_cast<size_t>(r)], r % 13);
  std::atomic<bool> cancel{false};
  run.control.cancel = &cancel;
  run.control.progress = [&](int64_t done, int64_t) {
    if (done >= 8) cancel = true;
  };
  calls = 0;
  EXPECT_THROW(evaluate_coalitions(as_coalitions(M, g, &calls), M, masks, run, out), Cancelled);
  EXPECT_EQ(calls, 8);
}

// Coalitions drawn with their complements (as KernelSHAP draws them) go to
// the model in batches of about the same number of present words, so that a
// batch of removed-word texts is not padded to a full-length one; each row
// still gets its own coalition's value.
TEST(Coalitions, BatchesHoldCoalitionsOfAboutTheSameSize) {
  const int M = 6;
  std::vector<uint8_t> masks;
  for (int c : {1, 3, 2, 5, 4, 9, 8, 16, 17, 32, 33, 7}) {
    for (int i = 0; i < M; ++i) masks.push_back(static_cast<uint8_t>((c >> i) & 1));
    for (int i = 0; i < M; ++i) masks.push_back(static_cast<uint8_t>(((c >> i) & 1) ^ 1));  // its complement
  }
  std::vector<int> sizes;  // present words of each row sent, in order
  const CoalitionFunction f = [&](int N, const uint8_t* mk, double* out) {
    for (int j = 0; j < N; ++j) {
      int present = 0, code = 0;
      for (int i = 0; i < M; ++i) {
        present += mk[j * M + i];
        code |= mk[j * M + i] << i;
      }
      sizes.push_back(present);
      out[j] = code;
    }
  };
  CoalitionRun run;
  run.batch_size = 5;
  std::vector<double> out;
  EXPECT_EQ(evaluate_coalitions(f, M, masks, run, out), 24);
  EXPECT_TRUE(std::is_sorted(sizes.begin(), sizes.end()));
  for (size_t r = 0; r < out.size(); ++r) {
    int code = 0;
    for (int i = 0; i < M; ++i) code |= masks[r * M + static_cast<size_t>(i)] << i;
    EXPECT_EQ(out[r], code) << "row " << r;
  }
}

TEST(PartitionShap, FullBudgetIsExactOwenAndEfficiencyAlways) {
  const Hierarchy tree = {{0, 1}, {2, 3}, {7, 8}, {4, 5}, {10, 6}, {9, 11}};
  const std::vector<double> owen = brute_force_owen(kGameM, tree, game);
  const std::vector<double> shapley = brute_force_shapley(kGameM, game);
  int64_t calls = 0;
  std::set<std::vector<int>> seen;
  bool repeated = false;
  CoalitionRun run;
  run.batch_size = 8;
  int max_batch = 0;
  const ShapleyResult r =
      partition_shap(as_coalitions(kGameM, game, &calls, &max_batch, &seen, &repeated), kGameM, tree, 100000, run);
  EXPECT_LE(max_batch, 8);
  EXPECT_TRUE(r.exact);
  EXPECT_FALSE(repeated);
  EXPECT_EQ(calls, r.evaluations);
  for (int i = 0; i < kGameM; ++i) EXPECT_NEAR(r.values[static_cast<size_t>(i)], owen[static_cast<size_t>(i)], 1e-12) << i;
  EXPECT_NEAR(r.values[5], 0.0, 1e-12);  // dummy
  EXPECT_GT(rms_error(owen, shapley), 1e-3);  // the hierarchy matters for this game
  EXPECT_NEAR(r.gap, 0.0, 1e-12);
  // A small budget: efficiency still, at most the budget spent.
  for (int64_t budget : {1, 2, 5, 12}) {
    calls = 0;
    const ShapleyResult s = partition_shap(as_coalitions(kGameM, game, &calls), kGameM, tree, budget, run);
    EXPECT_FALSE(s.exact) << budget;
    EXPECT_LE(calls, budget + 1) << budget;  // + the full coalition, not known here
    EXPECT_NEAR(s.gap, 0.0, 1e-12) << budget;
  }
  // The full coalition known (the prediction): max_evals bounds every other evaluation.
  run.have_full = true;
  run.f_full = game(std::vector<int>(kGameM, 1));
  for (int64_t budget : {2, 3, 9, 20}) {
    calls = 0;
    const ShapleyResult s = partition_shap(as_coalitions(kGameM, game, &calls), kGameM, tree, budget, run);
    EXPECT_LE(calls, budget) << budget;
    EXPECT_GE(calls, budget - 1) << budget;  // expansions cost 2: at most one evaluation unspent
    EXPECT_NEAR(s.gap, 0.0, 1e-12) << budget;
  }
}

TEST(PartitionShap, TextTreeDelaysMergesAcrossCommasAndConnectors) {
  const Hierarchy t = text_partition_tree({"good", "film", ",", "but", "bad", "ending", "."});
  ASSERT_EQ(t.size(), 6u);
  // The root joins "good film ," and "but bad ending .".
  std::vector<std::vector<int>> leaves(13);
  for (int i = 0; i < 7; ++i) leaves[static_cast<size_t>(i)] = {i};
  for (size_t k = 0; k < t.size(); ++k)
    for (int c : t[k]) leaves[7 + k].insert(leaves[7 + k].end(), leaves[static_cast<size_t>(c)].begin(), leaves[static_cast<size_t>(c)].end());
  EXPECT_EQ(leaves[static_cast<size_t>(t[5][0])], (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(leaves[static_cast<size_t>(t[5][1])], (std::vector<int>{3, 4, 5, 6}));
  // Word pieces are merged first.
  const Hierarchy p = text_partition_tree({"the", "un", "##believ", "##able", "film"});
  EXPECT_EQ(p[0], (std::array<int, 2>{1, 2}));
  EXPECT_EQ(p[1], (std::array<int, 2>{5, 3}));
}

// ------------------------------------------------------------ tiny models
using wltest::kTinyBert, wltest::kTinyBiLstm, wltest::kTinyCnn;  // the shared tiny configs

// The target logit for ids with attention mask `mask`, embeddings of the
// ids with rows `zeroed` set to 0: computed here, apart from the explain code.
double logit_of(const Model& m, const std::vector<int32_t>& ids, const std::vector<uint8_t>& mask,
                const std::vector<uint8_t>& zeroed, int target) {
  TokenBatch b;
  b.B = 1;
  b.T = static_cast<int>(ids.size());
  b.ids = ids;
  b.mask = mask;
  const int D = m.embedding_dim();
  std::vector<float> e(ids.size() * static_cast<size_t>(D));
  m.embed(b, e.data());
  for (size_t t = 0; t < zeroed.size(); ++t)
    if (zeroed[t]) std::fill(e.begin() + static_cast<long>(t * D), e.begin() + static_cast<long>((t + 1) * D), 0.f);
  Graph<float> g;
  Var x = g.input(Shape{1, b.T, D}, e.data(), false);
  return g.value(m.forward(g, x, b))[target];
}

// The model input an absent strategy describes, built by hand from the
// encoding: ids, attention mask, zeroed rows.
double coalition_logit(const wltest::Tiny& t, const Encoding& enc, const std::vector<std::vector<int>>& feature_tokens,
                       const std::vector<int>& z, const std::string& absent, int target) {
  const SpecialTokens& sp = t.tok->special_tokens();
  std::vector<uint8_t> gone(enc.ids.size(), 0);
  for (size_t k = 0; k < z.size(); ++k)
    if (!z[k])
      for (int tk : feature_tokens[k]) gone[static_cast<size_t>(tk)] = 1;
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask, zeroed;
  for (size_t i = 0; i < enc.ids.size(); ++i) {
    int32_t id = enc.ids[i];
    if (gone[i]) {
      if (absent == "remove") continue;
      if (absent == "mask") id = sp.mask_id;
      if (absent == "unk") id = sp.unk_id;
      if (absent == "pad") id = t.model->config().pad_token_id;
    }
    ids.push_back(id);
    mask.push_back(gone[i] && absent == "attention-off" ? 0 : 1);
    zeroed.push_back(gone[i] && absent == "zero" ? 1 : 0);
  }
  if (ids.empty()) {  // every word removed from a text without special tokens: one padding token
    ids.push_back(t.model->config().pad_token_id);
    mask.push_back(1);
    zeroed.push_back(0);
  }
  return logit_of(*t.model, ids, mask, zeroed, target);
}

Explanation run(const wltest::Tiny& t, const std::string& text, const std::string& method, const std::string& options) {
  return wltest::explain_text(*t.model, *t.tok, text, method, options);
}

const ExplanationCheck& check(const Explanation& e, const std::string& name) {
  for (const ExplanationCheck& c : e.checks)
    if (c.name == name) return c;
  static ExplanationCheck none;
  ADD_FAILURE() << "no check " << name;
  return none;
}

struct AbsentCase {
  const char* config;
  const char* text;
  const char* absent;
  const char* features;
};

class ExactOnTinyModels : public ::testing::TestWithParam<AbsentCase> {};

TEST_P(ExactOnTinyModels, KernelShapEqualsBruteForceOnHandBuiltInputs) {
  const AbsentCase c = GetParam();
  const wltest::Tiny t = wltest::tiny_model(c.config, 21);
  // BERT's initial weights (N(0, 0.02)) give a near-constant output: scaled
  // up, the words matter (values ~0.1) and a wrong input shows.
  if (t.model->config().is_transformer()) {
    for (ModelParameter& p : t.model->parameters())
      if (p.name.find("LayerNorm") == std::string::npos)
        for (int64_t i = 0; i < p.numel(); ++i) p.data[i] *= 30.f;
    t.model->parameters_changed();
  }
  const Encoding enc = t.tok->encode(c.text);
  const Explanation e = run(t, c.text, "kernel-shap", std::string("absent=") + c.absent + ",features=" + c.features);
  EXPECT_EQ(e.options.at("absent"), c.absent);
  // The features: words (their tokens), or single non-special tokens.
  std::vector<std::vector<int>> feats;
  if (std::string(c.features) == "words") {
    for (const WordScore& w : e.words) feats.emplace_back(w.tokens.begin(), w.tokens.end());
  } else {
    for (size_t i = 0; i < enc.ids.size(); ++i)
      if (enc.word_ids[i] >= 0) feats.push_back({static_cast<int>(i)});
  }
  const int M = static_cast<int>(feats.size());
  ASSERT_LE(M, 10);
  const int target = e.prediction.target;
  const SetFn g = [&](const std::vector<int>& z) { return coalition_logit(t, enc, feats, z, c.absent, target); };
  const std::vector<double> exact = brute_force_shapley(M, g);
  EXPECT_EQ(check(e, "exact-shapley").value, 1.0);
  EXPECT_LT(std::fabs(check(e, "efficiency-gap").value), 1e-9);
  EXPECT_NEAR(check(e, "f-empty").value, g(std::vector<int>(static_cast<size_t>(M), 0)), 1e-4);
  EXPECT_EQ(e.model_evaluations, 1 << M);  // the prediction, then every other coalition once
  double scale = 0;
  for (double v : exact) scale = std::max(scale, std::fabs(v));
  EXPECT_GT(scale, 0.005);
  const double tol = 1e-4 * scale + 1e-6;
  double sum = 0;
  if (std::string(c.features) == "words") {
    for (int k = 0; k < M; ++k) EXPECT_NEAR(e.words[static_cast<size_t>(k)].score, exact[static_cast<size_t>(k)], tol) << k;
    for (const WordScore& w : e.words) sum += w.score;
  } else {
    for (int k = 0; k < M; ++k)
      EXPECT_NEAR(e.tokens[static_cast<size_t>(feats[static_cast<size_t>(k)][0])].score, exact[static_cast<size_t>(k)], tol) << k;
    for (const WordScore& w : e.words) sum += w.score;  // merge=sum
  }
  EXPECT_NEAR(sum, e.prediction.explained_value - check(e, "f-empty").value, 1e-6);
  // Shapley sampling on the same coalitions keeps efficiency and is near the exact values.
  const Explanation s =
      run(t, c.text, "shapley-sampling", std::string("absent=") + c.absent + ",features=" + c.features + ",permutations=200");
  EXPECT_LT(std::fabs(check(s, "efficiency-gap").value), 1e-9);
  EXPECT_NEAR(check(s, "f-empty").value, check(e, "f-empty").value, 1e-9);
  for (size_t w = 0; w < e.words.size(); ++w)
    EXPECT_NEAR(s.words[w].score, e.words[w].score, 5 * check(s, "max-standard-error").value + 1e-6) << w;
  // Partition SHAP with the default budget expands every group here: the exact Owen values.
  const Explanation p = run(t, c.text, "partition-shap", std::string("absent=") + c.absent + ",features=" + c.features);
  std::vector<std::string> texts;
  for (const auto& fk : feats) texts.push_back(std::string(c.features) == "words" ? e.words[static_cast<size_t>(&fk - feats.data())].text : p.tokens[static_cast<size_t>(fk[0])].token);
  const std::vector<double> owen = brute_force_owen(M, text_partition_tree(texts), g);
  EXPECT_EQ(check(p, "fully-expanded").value, 1.0);
  EXPECT_LT(std::fabs(check(p, "efficiency-gap").value), 1e-9);
  for (int k = 0; k < M; ++k) {
    const double got = std::string(c.features) == "words" ? p.words[static_cast<size_t>(k)].score
                                                          : p.tokens[static_cast<size_t>(feats[static_cast<size_t>(k)][0])].score;
    EXPECT_NEAR(got, owen[static_cast<size_t>(k)], tol) << k;
  }
  const Explanation l =
      run(t, c.text, "lime", std::string("absent=") + c.absent + ",features=" + c.features + ",samples=50");
  EXPECT_GE(check(l, "r-squared").value, 0.0);
}

INSTANTIATE_TEST_SUITE_P(
    Absent, ExactOnTinyModels,
    ::testing::Values(AbsentCase{kTinyBert, "the unbelievable film is good", "mask", "words"},
                      AbsentCase{kTinyBert, "the unbelievable film is good", "remove", "words"},
                      AbsentCase{kTinyBert, "the unbelievable film is good", "attention-off", "words"},
                      AbsentCase{kTinyBert, "the unbelievable film is good", "unk", "tokens"},
                      AbsentCase{kTinyCnn, "the film is not very good !", "pad", "words"},
                      AbsentCase{kTinyCnn, "the film is not very good !", "zero", "words"},
                      AbsentCase{kTinyCnn, "the film is not very good !", "remove", "words"},
                      AbsentCase{kTinyBiLstm, "a very bad , bad film", "pad", "words"},
                      AbsentCase{kTinyBiLstm, "a very bad , bad film", "remove", "words"}));

TEST(PerturbationMethods, RegistryDefaultsPerArchitecture) {
  for (const char* m : {"kernel-shap", "shapley-sampling", "lime", "partition-shap"}) {
    EXPECT_EQ(resolve_options(m, {}, "transformer").at("absent"), "mask");
    EXPECT_EQ(resolve_options(m, {}, "cnn").at("absent"), "pad");
    EXPECT_EQ(resolve_options(m, {}, "bilstm").at("absent"), "pad");
    EXPECT_THROW(resolve_options(m, {{"absent", "mask"}}, "cnn"), Error);
    EXPECT_THROW(resolve_options(m, {{"absent", "attention-off"}}, "bilstm"), Error);
    EXPECT_TRUE(method_info(m).word_level);
    EXPECT_TRUE(method_info(m).signed_scores);
  }
  EXPECT_EQ(method_info("kernel-shap").title, "KernelSHAP");
}

TEST(PerturbationMethods, SamplingMethodsOnModelsDeterministicProgressCancel) {
  const wltest::Tiny t = wltest::tiny_model(kTinyBiLstm, 5);
  const std::string text = "a very bad , bad film not good";
  for (const char* opts : {"permutations=6", "permutations=6,antithetic=true"}) {
    const Explanation a = run(t, text, "shapley-sampling", opts), b = run(t, text, "shapley-sampling", opts);
    for (size_t w = 0; w < a.words.size(); ++w) EXPECT_EQ(a.words[w].score, b.words[w].score);
    EXPECT_LT(std::fabs(check(a, "efficiency-gap").value), 1e-9);
    EXPECT_GT(check(a, "max-standard-error").value, 0.0);
    double worst = 0;
    for (const WordScore& w : a.words) {
      EXPECT_GE(w.standard_error, 0.0);
      worst = std::max(worst, w.standard_error);
    }
    EXPECT_EQ(worst, check(a, "max-standard-error").value);
    EXPECT_NE(explanation_to_json(a).find("\"standard_error\""), std::string::npos);
    EXPECT_LE(a.model_evaluations, 1 + 6 * 7 + 1);
  }
  // lime: bow gives every occurrence of a word one weight; the fit is checked.
  const Explanation l = run(t, text, "lime", "bow=true,samples=300");
  EXPECT_EQ(l.words[2].text, "bad");
  EXPECT_EQ(l.words[2].score, l.words[4].score);
  EXPECT_GE(check(l, "r-squared").value, 0.0);
  EXPECT_LE(check(l, "r-squared").value, 1.0);
  const Explanation l2 = run(t, text, "lime", "samples=300");
  EXPECT_NE(l2.words[2].score, l2.words[4].score);
  // kernel-shap with a small budget says it is sampled.
  const Explanation k = run(t, text, "kernel-shap", "samples=40,batch-size=8");
  EXPECT_EQ(check(k, "exact-shapley").value, 0.0);
  EXPECT_EQ(k.model_evaluations, 1 + 40 + 1);
  for (const WordScore& w : k.words) EXPECT_EQ(w.standard_error, -1.0);
  EXPECT_EQ(explanation_to_json(k).find("\"standard_error\""), std::string::npos);

  ExplainRequest r;
  r.method = "kernel-shap";
  r.options = {{"samples", "40"}, {"batch-size", "8"}};
  int64_t last_done = 0, last_total = 0;
  r.control.progress = [&](int64_t done, int64_t total) {
    EXPECT_GT(done, last_done);
    EXPECT_LE(done - last_done, 8);
    last_done = done;
    last_total = total;
  };
  explain(*t.model, *t.tok, text, r);
  EXPECT_EQ(last_done, 41);
  EXPECT_EQ(last_total, 41);
  std::atomic<bool> cancel{false};
  r.control.cancel = &cancel;
  r.control.progress = [&](int64_t done, int64_t) {
    if (done >= 16) cancel = true;
  };
  EXPECT_THROW(explain(*t.model, *t.tok, text, r), Cancelled);
}

}  // namespace
