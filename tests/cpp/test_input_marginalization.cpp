// input-marginalization (issue 15) against a value computed by hand: a tiny
// random classifier and a tiny masked LM whose candidate probabilities are
// known exactly (its word embeddings, which its decoder shares, are zero,
// so its logits at every position are the decoder bias we set). The
// expected score replaces the word in the *text* and runs predict(), apart
// from the method's token-id surgery.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tiny_models.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/predict.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

const char* kBertClassifier = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 2})";
const char* kCnnClassifier = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2], "num_labels": 2, "max_length": 16})";
const char* kBertMlm = R"({"architectures": ["BertForMaskedLM"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0})";

// Decoder bias per id of kTinyPieceVocab:
// [PAD] [UNK] [CLS] [SEP] [MASK] the film is un ##believ ##able good
const float kBias[12] = {-9, -3, -9, -9, -9, 1.5f, 1.0f, 0.2f, -0.5f, 0.8f, -1.0f, 0.6f};

wltest::Tiny known_mlm() {
  wltest::Tiny m = wltest::tiny_model(kBertMlm, 5);
  for (ModelParameter& p : m.model->parameters()) {
    if (p.name.find("word_embeddings") != std::string::npos) std::fill(p.data, p.data + p.numel(), 0.f);
    if (p.name == "cls.predictions.bias" || p.name == "cls.predictions.decoder.bias")
      std::copy(kBias, kBias + 12, p.data);
  }
  m.model->parameters_changed();
  return m;
}

// The MLM's probability of each id: softmax of the bias.
std::vector<double> known_p() {
  double z = 0;
  for (float b : kBias) z += std::exp(static_cast<double>(b));
  std::vector<double> p;
  for (float b : kBias) p.push_back(std::exp(static_cast<double>(b)) / z);
  return p;
}

wltest::Tiny classifier(const char* config) {
  wltest::Tiny t = wltest::tiny_model(config, 21);
  if (t.model->config().is_transformer()) {  // scaled up so that words matter
    for (ModelParameter& p : t.model->parameters())
      if (p.name.find("LayerNorm") == std::string::npos)
        for (int64_t i = 0; i < p.numel(); ++i) p.data[i] *= 30.f;
    t.model->parameters_changed();
  }
  return t;
}

double log2_odds(double p) { return std::log2(p / (1 - p)); }

double prob(const wltest::Tiny& c, const std::string& text, int target) {
  return predict(*c.model, *c.tok, text).prediction.probabilities[static_cast<size_t>(target)];
}

using wltest::find_check;

Explanation run_im(const wltest::Tiny& c, const wltest::Tiny& mlm, const std::string& text, const std::string& options) {
  ExplainRequest r;
  r.method = "input-marginalization";
  r.options = parse_option_list(options);
  r.masked_lm = mlm.model.get();
  r.masked_lm_tokenizer = mlm.tok.get();
  return explain(*c.model, *c.tok, text, r);
}

// Whole-word candidates of the tiny vocabulary: (id, text).
const std::vector<std::pair<int, std::string>> kWhole = {{5, "the"}, {6, "film"}, {7, "is"}, {8, "un"}, {11, "good"}};

struct Case {
  const char* config;
  const char* text;
  const char* options;
  double sigma;
  int max_candidates;
  bool exclude_original;
};

class InputMarginalization : public ::testing::TestWithParam<Case> {};

TEST_P(InputMarginalization, EqualsHandComputedValue) {
  const Case k = GetParam();
  const wltest::Tiny c = classifier(k.config);
  const wltest::Tiny mlm = known_mlm();
  const std::vector<double> p = known_p();
  const Explanation e = run_im(c, mlm, k.text, k.options);
  const int y = e.prediction.target;
  const std::string text = k.text;
  const double p_full = prob(c, text, y);
  EXPECT_EQ(e.options.at("output"), "probability");
  EXPECT_NEAR(e.prediction.explained_value, p_full, 1e-6);
  const bool word_model = !c.model->config().is_transformer();
  double kept_total = 0, lost_total = 0;
  int rows_max = 0;
  for (const WordScore& w : e.words) {
    // Candidates by hand: whole words above sigma, readable by the
    // classifier (the word model's vocabulary lacks "un"), most probable
    // first, at most max_candidates; the word itself left out if asked.
    std::vector<std::pair<double, std::string>> cands;
    double lost = 0;
    for (const auto& [id, word] : kWhole) {
      const double pc = p[static_cast<size_t>(id)];
      if (!(pc > k.sigma)) continue;
      if (k.exclude_original && word == w.text) continue;
      if (word_model && word == "un") {
        lost += pc;
        continue;
      }
      cands.push_back({pc, word});
    }
    std::sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    if (k.max_candidates > 0 && static_cast<int>(cands.size()) > k.max_candidates) cands.resize(static_cast<size_t>(k.max_candidates));
    rows_max += static_cast<int>(cands.size());
    double num = 0, den = 0;
    for (const auto& [pc, word] : cands) {
      const std::string replaced = text.substr(0, w.span.begin) + word + text.substr(w.span.end);
      num += pc * prob(c, replaced, y);
      den += pc;
    }
    kept_total += den;
    lost_total += lost;
    ASSERT_GT(den, 0);
    const double expected = log2_odds(p_full) - log2_odds(num / den);
    EXPECT_NEAR(w.score, expected, 1e-4 * std::max(1.0, std::fabs(expected))) << w.text;
    // The result's candidates: the hand list, in order, weights renormalised.
    ASSERT_EQ(w.candidates.size(), std::min<size_t>(cands.size(), 10)) << w.text;
    for (size_t i = 0; i < w.candidates.size(); ++i) {
      EXPECT_EQ(w.candidates[i].text, cands[i].second);
      EXPECT_NEAR(w.candidates[i].probability, cands[i].first, 1e-6);
      EXPECT_NEAR(w.candidates[i].weight, cands[i].first / den, 1e-6);
      const std::string replaced = text.substr(0, w.span.begin) + cands[i].second + text.substr(w.span.end);
      EXPECT_NEAR(w.candidates[i].output, prob(c, replaced, y), 1e-5);
    }
    double tok_sum = 0;
    for (int32_t t : w.tokens) tok_sum += e.tokens[static_cast<size_t>(t)].score;
    EXPECT_NEAR(tok_sum, w.score, 1e-9);
  }
  const double W = static_cast<double>(e.words.size());
  ASSERT_NE(find_check(e, "kept-mass"), nullptr);
  EXPECT_NEAR(find_check(e, "kept-mass")->value, kept_total / W, 1e-6);
  if (word_model) {
    ASSERT_NE(find_check(e, "mapping-lost-mass"), nullptr);
    EXPECT_NEAR(find_check(e, "mapping-lost-mass")->value, lost_total / W, 1e-6);
    EXPECT_GT(lost_total, 0);
  }
  // Cost: one MLM row per word, the probability target's own forward, the
  // distinct candidate texts (the text itself, proposed back, not rerun).
  EXPECT_GE(e.model_evaluations, static_cast<int64_t>(e.words.size()) + 1);
  EXPECT_LE(e.model_evaluations, static_cast<int64_t>(e.words.size()) + 2 + rows_max);
  // Deterministic: the same call gives the same answer, whatever the batch size.
  const Explanation again = run_im(c, mlm, k.text, std::string(k.options) + ",batch-size=3");
  for (size_t i = 0; i < e.words.size(); ++i) EXPECT_NEAR(again.words[i].score, e.words[i].score, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(
    Tiny, InputMarginalization,
    ::testing::Values(Case{kBertClassifier, "the unbelievable film is good", "", 1e-5, 100, false},
                      Case{kBertClassifier, "the unbelievable film is good", "exclude-original=true", 1e-5, 100, true},
                      Case{kBertClassifier, "the unbelievable film is good", "sigma=0.1,max-candidates=2", 0.1, 2, false},
                      Case{kCnnClassifier, "the film is not very good !", "", 1e-5, 100, false},
                      Case{kCnnClassifier, "the film is good", "max-candidates=3,exclude-original=true", 1e-5, 3, true}));

TEST(InputMarginalizationErrors, NeedsAMaskedLanguageModel) {
  const wltest::Tiny c = classifier(kBertClassifier);
  ExplainRequest r;
  r.method = "input-marginalization";
  EXPECT_THROW(explain(*c.model, *c.tok, "the film is good", r), Error);
  r.masked_lm = c.model.get();  // a classifier is no masked LM
  r.masked_lm_tokenizer = c.tok.get();
  EXPECT_THROW(explain(*c.model, *c.tok, "the film is good", r), Error);
}

// The registry says what the method explains: the probability, its only
// choice (every view and --list read the default from there), while the
// other methods keep the logit as their default.
TEST(InputMarginalizationErrors, RegistrySaysItExplainsTheProbability) {
  const MethodInfo& m = method_info("input-marginalization");
  const auto o = std::find_if(m.options.begin(), m.options.end(), [](const OptionSpec& s) { return s.name == "output"; });
  ASSERT_NE(o, m.options.end());
  EXPECT_EQ(o->default_value, "probability");
  EXPECT_EQ(o->choices, std::vector<std::string>{"probability"});
  EXPECT_EQ(resolve_options("input-marginalization", {}).at("output"), "probability");
  EXPECT_THROW(resolve_options("input-marginalization", {{"output", "logit"}}), Error);
  EXPECT_EQ(resolve_options("kernel-shap", {}).at("output"), "logit");
}

}  // namespace
