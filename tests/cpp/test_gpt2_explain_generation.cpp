// Explaining generation (issue 21) on the tiny GPT-2 LM of
// tests/golden/transformers/gpt2-lm: each generated token's attribution
// over the earlier tokens is a lower-triangular matrix whose rows explain
// log p(token | prefix) (the LRP family: the token's logit); IG closes its
// completeness gap on every row; the first token's share is reported; a
// contrast token explains p(token) - p(contrast).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "check_util.h"
#include "golden_util.h"
#include "gpt2_test_util.h"
#include "wordlight/generate.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

using wltest::Lm;
using wltest::log_softmax_row;
Lm load_lm() { return wltest::load_golden_lm(); }

}  // namespace

// ---------------------------------------------------------------- explaining
TEST(Gpt2ExplainGeneration, RowsAreLowerTriangularAndExplainTheLogProbability) {
  Lm l = load_lm();
  GenerateOptions o;
  o.max_new_tokens = 4;
  o.ignore_eos = true;
  const Generation gen = generate(*l.model, *l.tok, "the movie", o);
  const int S = static_cast<int>(gen.prompt_ids.size() + gen.tokens.size());
  for (const std::string method : {"gradient-x-input", "occlusion", "lrp"}) {
    SCOPED_TRACE(method);
    GenerationExplainRequest r;
    r.method = method;
    const GenerationExplanation ex = explain_generation(*l.model, *l.tok, gen, r);
    ASSERT_EQ(ex.targets.size(), 4u);
    ASSERT_EQ(ex.matrix.size(), size_t(4 * S));
    for (size_t row = 0; row < 4; ++row) {
      const int pos = static_cast<int>(gen.prompt_ids.size()) + ex.targets[row];
      double total = 0;
      for (int c = 0; c < S; ++c) {
        const double v = ex.matrix[row * size_t(S) + size_t(c)];
        if (c >= pos) EXPECT_EQ(v, 0.0) << "row " << row << " source " << c;
        total += std::fabs(v);
      }
      EXPECT_GT(total, 0.0);
      EXPECT_NEAR(ex.first_share[row], std::fabs(ex.matrix[row * size_t(S)]) / total, 1e-12);
      if (method == "lrp") {  // the LRP family explains the logit
        EXPECT_EQ(ex.score, "logit");
        const std::vector<float> full = full_logits(*l.model, gen.ids());
        EXPECT_NEAR(ex.explained[row], full[size_t(pos - 1) * l.model->output_dim() + size_t(gen.tokens[row].id)], 1e-4);
      } else {
        EXPECT_EQ(ex.score, "log-prob");
        EXPECT_NEAR(ex.explained[row], gen.tokens[size_t(ex.targets[row])].logprob, 1e-4);
      }
    }
  }
}

TEST(Gpt2ExplainGeneration, IntegratedGradientsCloseTheGapOnEveryRow) {
  Lm l = load_lm();
  GenerateOptions o;
  o.max_new_tokens = 3;
  o.ignore_eos = true;
  const Generation gen = generate(*l.model, *l.tok, "a bad film", o);
  GenerationExplainRequest r;
  r.method = "integrated-gradients";
  const GenerationExplanation ex = explain_generation(*l.model, *l.tok, gen, r);
  const int S = static_cast<int>(ex.source_tokens.size());
  ASSERT_EQ(ex.targets.size(), 3u);
  for (size_t row = 0; row < 3; ++row) {
    EXPECT_EQ(ex.check_name[row], "completeness-gap");
    EXPECT_LT(ex.check_relative[row], 0.01) << "row " << row;
    double sum = 0;
    for (int c = 0; c < S; ++c) sum += ex.matrix[row * size_t(S) + size_t(c)];
    EXPECT_NE(sum, 0.0);
  }
}

TEST(Gpt2ExplainGeneration, ContrastExplainsTheProbabilityDifference) {
  Lm l = load_lm();
  GenerateOptions o;
  o.max_new_tokens = 2;
  o.ignore_eos = true;
  const Generation gen = generate(*l.model, *l.tok, "the movie was", o);
  const int V = l.model->output_dim();
  GenerationExplainRequest r;
  r.method = "gradient-x-input";
  r.contrast_id = 42;
  const GenerationExplanation ex = explain_generation(*l.model, *l.tok, gen, r);
  EXPECT_EQ(ex.score, "prob-diff");
  const std::vector<float> full = full_logits(*l.model, gen.ids());
  for (size_t row = 0; row < 2; ++row) {
    const size_t pos = gen.prompt_ids.size() + size_t(ex.targets[row]);
    const std::vector<double> lp = log_softmax_row(full.data() + (pos - 1) * size_t(V), V);
    EXPECT_NEAR(ex.explained[row], std::exp(lp[size_t(gen.tokens[row].id)]) - std::exp(lp[42]), 1e-5);
  }
  r.contrast_id = -1;
  r.score = "prob-diff";
  EXPECT_ERROR_CONTAINS(explain_generation(*l.model, *l.tok, gen, r), "needs a contrast token");
  r.score = "";
  r.options["output"] = "probability";
  EXPECT_ERROR_CONTAINS(explain_generation(*l.model, *l.tok, gen, r), "not by the option 'output'");
}

TEST(Gpt2ExplainGeneration, BatchedRowsEqualOneExplanationPerRow) {
  // The one-backward methods run their rows as batches of target positions
  // (18 rows: a batch of 16 and one of 2); each row must be what the naive
  // path (one explanation per row) gives, in fewer backward passes.
  Lm l = load_lm();
  const Generation gen = wltest::greedy(l, "the movie was", 18);
  ASSERT_EQ(gen.tokens.size(), 18u);
  const size_t S = gen.prompt_ids.size() + gen.tokens.size();
  for (const std::string method : {"gradient", "saliency", "gradient-x-input", "lrp"})
    for (const std::string score : {"", "prob-diff"}) {
      SCOPED_TRACE(method + " " + score);
      GenerationExplainRequest r;
      r.method = method;
      r.score = score;
      if (!score.empty()) {  // a contrast token that was not generated: no row is identically 0
        r.contrast_id = 0;
        while (std::any_of(gen.tokens.begin(), gen.tokens.end(), [&](const GeneratedToken& t) { return t.id == r.contrast_id; }))
          ++r.contrast_id;
      }
      const GenerationExplanation batched = explain_generation(*l.model, *l.tok, gen, r);
      r.batch_rows = false;
      const GenerationExplanation naive = explain_generation(*l.model, *l.tok, gen, r);
      EXPECT_EQ(batched.backward_passes, 2);
      EXPECT_EQ(naive.backward_passes, 18);
      EXPECT_EQ(batched.options, naive.options);
      EXPECT_EQ(batched.signed_scores, naive.signed_scores);
      EXPECT_EQ(batched.score, naive.score);
      EXPECT_EQ(batched.check_name, naive.check_name);
      ASSERT_EQ(batched.matrix.size(), naive.matrix.size());
      for (size_t row = 0; row < 18; ++row) {
        double scale = 0;
        for (size_t c = 0; c < S; ++c) scale = std::max(scale, std::fabs(naive.matrix[row * S + c]));
        ASSERT_GT(scale, 0.0);
        for (size_t c = 0; c < S; ++c)
          EXPECT_NEAR(batched.matrix[row * S + c], naive.matrix[row * S + c], 1e-5 * scale) << "row " << row << " source " << c;
        EXPECT_NEAR(batched.explained[row], naive.explained[row], 1e-5 * (1 + std::fabs(naive.explained[row])));
        EXPECT_NEAR(batched.first_share[row], naive.first_share[row], 1e-5);
        EXPECT_NEAR(batched.check_relative[row], naive.check_relative[row], 1e-5);
      }
    }
  // Methods that are not one backward pass keep one explanation per row.
  GenerationExplainRequest occ;
  occ.method = "occlusion";
  EXPECT_EQ(explain_generation(*l.model, *l.tok, gen, occ).backward_passes, 0);
}
