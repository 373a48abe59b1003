// Our AttnLRP against LXT's rules on the shipped BERT (issue 13, point 3).
//
// tests/golden/make_lxt_golden.py applies LXT's efficient AttnLRP rules
// (rachtibat/LRP-eXplains-Transformers, lxt/efficient/models/bert.py) to an
// independent PyTorch BERT reading models/sst2-bert, in float64, and wrote
// tests/golden/lxt/sst2-bert.json: per sentence the token ids, the logits,
// the token relevances, where the rest of the logit went (biases, LayerNorm
// shifts, softmaxes, position and token-type embeddings) and the relevance
// at each layer. Here the lrp method with its defaults (variant attnlrp,
// epsilon 0 on transformers) and layer-relevance run on the same model.
//
// Tolerance: every token within 1e-4 of the largest token relevance (the
// issue's bar). Ours computes in float32 on the same float16 weights; the
// largest error seen is 2e-7 of that scale. epsilon=1e-3 (the default
// before) is 6.4% of that scale away, CP-LRP further: the golden tells them
// apart by hundreds of tolerances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "golden_util.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

constexpr double kTol = 1e-4;  // of the largest token relevance (tokens), of |logit| (sums)

struct Bert {
  nlohmann::json gold;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
};

const Bert& bert() {
  static const Bert b = [] {
    Bert r;
    r.gold = wltest::read_json(wltest::golden_dir("lxt", "sst2-bert.json"));
    const std::string dir = std::string(WORDLIGHT_SOURCE_DIR) + "/models/sst2-bert";
    LoadedModel m = load_model_directory(dir);
    r.model = std::move(m.model);
    r.tok = std::move(m.tokenizer);
    return r;
  }();
  return b;
}

Explanation run(const std::string& method, const std::string& text, const std::string& options = "") {
  ExplainRequest r;
  r.method = method;
  r.options = parse_option_list(options);
  return explain(*bert().model, *bert().tok, text, r);
}

double check(const Explanation& e, const std::string& name) {
  for (const ExplanationCheck& c : e.checks)
    if (c.name == name) return c.value;
  ADD_FAILURE() << "no check " << name;
  return NAN;
}

// max_t |ours_t - lxt_t| / max_t |lxt_t|
double token_error(const Explanation& e, const std::vector<double>& want) {
  EXPECT_EQ(e.tokens.size(), want.size());
  double scale = 0, err = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < want.size() && i < e.tokens.size(); ++i)
    err = std::max(err, std::fabs(e.tokens[i].score - want[i]));
  return err / scale;
}

}  // namespace

TEST(LrpLxt, AttnLrpEqualsLxtsRulesTokenByTokenOnSst2Bert) {
  const auto& cases = bert().gold["cases"];
  ASSERT_GE(cases.size(), 2u);
  for (const auto& c : cases) {
    const std::string text = c["text"];
    SCOPED_TRACE(text);
    const Explanation e = run("lrp", text);
    EXPECT_EQ(e.options.at("variant"), "attnlrp");
    EXPECT_EQ(e.options.at("epsilon"), "0");
    // Same tokens, same prediction, same logit.
    const auto ids = c["input_ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(e.tokens.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(e.tokens[i].id, ids[i]) << "token " << i;
    EXPECT_EQ(e.prediction.target, c["target"].get<int>());
    const double logit = c["explained"];
    EXPECT_NEAR(e.prediction.explained_value, logit, 1e-5 * (1 + std::fabs(logit)));
    const double err = token_error(e, c["token_relevance"].get<std::vector<double>>());
    EXPECT_LT(err, kTol);
    std::printf("[ lxt golden ] \"%s\": largest token difference %.2g of the largest token\n", text.c_str(), err);
  }
}

TEST(LrpLxt, AbsorbedPartsEqualLxtsAndSumWithTheWordsToTheLogit) {
  for (const auto& c : bert().gold["cases"]) {
    const std::string text = c["text"];
    SCOPED_TRACE(text);
    const Explanation e = run("lrp", text);
    const double f = e.prediction.explained_value;
    for (const auto& kv : c["absorbed"].items())
      EXPECT_NEAR(check(e, "absorbed:" + kv.key()), kv.value().get<double>(), kTol * std::fabs(f)) << kv.key();
    EXPECT_EQ(check(e, "absorbed:epsilon"), 0.0);  // epsilon 0: nothing held back
    // The words' relevances and the absorbed parts (the special tokens'
    // among them) make up the output.
    double words = 0, special = 0, absorbed = 0;
    for (const WordScore& w : e.words) words += w.score;
    for (const TokenScore& t : e.tokens)
      if (t.special) special += t.score;
    for (const ExplanationCheck& k : e.checks)
      if (k.name.rfind("absorbed:", 0) == 0) absorbed += k.value;
    EXPECT_NEAR(words + absorbed, f, 1e-9 * (1 + std::fabs(f)));
    EXPECT_NEAR(check(e, "absorbed:special-tokens"), special, 1e-12);
    EXPECT_GT(std::fabs(special), 0.1) << "[CLS] and [SEP] hold a visible share on these sentences";
    // The gap counts every token: what the rest absorbed.
    EXPECT_NEAR(check(e, "conservation-gap"), -(absorbed - special), 1e-9 * (1 + std::fabs(f)));
  }
}

TEST(LrpLxt, LayerRelevanceEqualsLxtsAtEveryLayerAndAbsorbedChainsTheLayers) {
  for (const auto& c : bert().gold["cases"]) {
    const std::string text = c["text"];
    SCOPED_TRACE(text);
    const Explanation e = run("layer-relevance", text);
    const double f = e.prediction.explained_value;
    const auto& want = c["layer_relevance"];
    ASSERT_EQ(e.layers.size(), want.size());
    double prev = 0;
    for (const TokenScore& t : e.tokens) prev += t.score;
    double sum_absorbed = 0;
    for (const LayerScores& l : e.layers) {
      SCOPED_TRACE(l.layer);
      EXPECT_NEAR(l.total, want[l.layer].get<double>(), kTol * std::fabs(f));
      // A chain of layers: what a layer holds is what the one below holds
      // plus what the ops between them absorbed.
      EXPECT_NEAR(l.total, prev + l.absorbed, 1e-9 * (1 + std::fabs(f)));
      prev = l.total;
      sum_absorbed += l.absorbed;
    }
    // The head (pooler and classifier) absorbed the rest.
    double by_kind = 0;
    for (const ExplanationCheck& k : e.checks)
      if (k.name.rfind("absorbed:", 0) == 0 && k.name != "absorbed:special-tokens") by_kind += k.value;
    EXPECT_NEAR(sum_absorbed + (f - e.layers.back().total), by_kind, 1e-9 * (1 + std::fabs(f)));
    // The same pass as the lrp method: the same tokens.
    const Explanation l = run("lrp", text);
    for (size_t i = 0; i < e.tokens.size(); ++i) EXPECT_NEAR(e.tokens[i].score, l.tokens[i].score, 1e-12);
  }
}

TEST(LrpLxt, TheGoldenTellsEpsilonAndCpLrpApart) {
  // What a plausible mistake moves, in units of the tolerance: the golden
  // values would catch it.
  const auto& c = bert().gold["cases"][0];
  const std::string text = c["text"];
  const auto want = c["token_relevance"].get<std::vector<double>>();
  EXPECT_GT(token_error(run("lrp", text, "epsilon=0.001"), want), 100 * kTol);
  EXPECT_GT(token_error(run("lrp", text, "variant=cp-lrp"), want), 100 * kTol);
}
