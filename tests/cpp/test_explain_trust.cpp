// What keeps an explanation from misleading: the registry's facts (signed
// or unsigned scores, what is explained, which options apply to which
// architecture), adaptive path methods that converge by default, and
// words the model did not read marked as such.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "check_util.h"
#include "evaluation_report.h"
#include "tiny_models.h"
#include "wordlight/evaluate.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

using wltest::kTinyBert, wltest::kTinyBiLstm, wltest::kTinyCnn;  // the shared tiny configs

using wltest::Tiny;

Explanation run(const Tiny& t, const std::string& text, const std::string& method, const std::string& options = "",
                int target = -1, int max_length = -1) {
  return wltest::explain_text(*t.model, *t.tok, text, method, options, target, max_length);
}

using wltest::error_of;

using wltest::find_check;

}  // namespace

// ------------------------------------------------------------ facts
TEST(ExplainFacts, EveryMethodSaysWhatItsNumbersAre) {
  for (const MethodInfo& m : explanation_methods()) {
    SCOPED_TRACE(m.name);
    EXPECT_FALSE(m.title.empty());
    EXPECT_NE(m.title, m.name) << "a display name, not the id";
    EXPECT_FALSE(m.cost.empty());
    EXPECT_TRUE(m.explains == "output" || m.explains == "neuron" || m.explains == "layers") << m.explains;
  }
  EXPECT_FALSE(method_info("saliency").signed_scores);
  EXPECT_FALSE(method_info("smoothgrad-squared").signed_scores);
  EXPECT_TRUE(method_info("integrated-gradients").signed_scores);
  EXPECT_EQ(method_info("neuron-relevance").explains, "neuron");
  EXPECT_EQ(method_info("layer-relevance").explains, "layers");
  // gradient's reduce=l2 is a norm: a magnitude.
  const MethodInfo& g = method_info("gradient");
  EXPECT_TRUE(scores_are_signed(g, resolve_options("gradient", {})));
  EXPECT_FALSE(scores_are_signed(g, resolve_options("gradient", {{"reduce", "l2"}})));
}

TEST(ExplainFacts, ResultsCarryTheFactsAndTitles) {
  const Tiny bert = wltest::tiny_model(kTinyBert, 3);
  const Explanation sal = run(bert, "the film is good", "saliency");
  EXPECT_FALSE(sal.signed_scores);
  for (const WordScore& w : sal.words) EXPECT_GE(w.score, 0.0);
  const nlohmann::json j = nlohmann::json::parse(explanation_to_json(sal));
  EXPECT_EQ(j["scores"], "unsigned");
  EXPECT_EQ(j["explains"], "output");
  EXPECT_EQ(j["title"], "Why '" + sal.prediction.target_name + "'?");
  const Explanation ig = run(bert, "the film is good", "integrated-gradients");
  EXPECT_TRUE(ig.signed_scores);
  const int other = 1 - ig.prediction.label;
  const Explanation not_pred = run(bert, "the film is good", "gradient", "", other);
  EXPECT_NE(not_pred.title.find("not the predicted class"), std::string::npos) << not_pred.title;
  // A neuron's explanation is titled by its neuron, never by the class.
  const Explanation n = run(bert, "the film is good", "neuron-relevance");
  EXPECT_EQ(n.explains, "neuron");
  EXPECT_FALSE(n.unit.empty());
  EXPECT_EQ(n.title, "What drives " + n.unit + "?");
  EXPECT_EQ(n.title.find("Why"), std::string::npos);
}

TEST(ExplainFacts, OnlyOptionsThatApplyToTheArchitecture) {
  const Tiny cnn = wltest::tiny_model(kTinyCnn, 3), lstm = wltest::tiny_model(kTinyBiLstm, 4),
             bert = wltest::tiny_model(kTinyBert, 5);
  EXPECT_EQ(architecture_group(cnn.model->config()), "cnn");
  EXPECT_EQ(architecture_group(lstm.model->config()), "bilstm");
  EXPECT_EQ(architecture_group(bert.model->config()), "transformer");
  // Per-architecture defaults: transformers integrate from [UNK], word models from zero.
  EXPECT_EQ(resolve_options("integrated-gradients", {}, "transformer").at("baseline"), "unk");
  EXPECT_EQ(resolve_options("integrated-gradients", {}, "bilstm").at("baseline"), "zero");
  EXPECT_EQ(resolve_options("integrated-hessians", {}, "transformer").at("baseline"), "unk");
  EXPECT_EQ(run(bert, "the film", "integrated-gradients").options.at("baseline"), "unk");
  // Options for another architecture are refused with a message that says so.
  std::string m = error_of([&] { run(lstm, "the film", "lrp", "rule=z-plus"); });
  EXPECT_NE(m.find("applies to CNN models only, not to BiLSTM ones"), std::string::npos) << m;
  m = error_of([&] { run(bert, "the film", "lrp", "bias-factor=1"); });
  EXPECT_NE(m.find("applies to BiLSTM models only"), std::string::npos) << m;
  m = error_of([&] { run(cnn, "the film", "integrated-gradients", "baseline=mask"); });
  EXPECT_NE(m.find("does not apply to CNN models"), std::string::npos) << m;
  EXPECT_NO_THROW(run(cnn, "the film", "lrp", "rule=alpha-beta"));
  // The registry resolved for an architecture offers only what applies.
  const nlohmann::json lj = nlohmann::json::parse(explanation_methods_to_json("bilstm"));
  const nlohmann::json cj = nlohmann::json::parse(explanation_methods_to_json("cnn"));
  const nlohmann::json tj = nlohmann::json::parse(explanation_methods_to_json("transformer"));
  auto method = [](const nlohmann::json& list, const std::string& name) {
    for (const auto& x : list)
      if (x["name"] == name) return x;
    return nlohmann::json();
  };
  auto option = [](const nlohmann::json& m, const std::string& name) {
    for (const auto& o : m["options"])
      if (o["name"] == name) return o;
    return nlohmann::json();
  };
  EXPECT_TRUE(option(method(lj, "lrp"), "rule").is_null());
  EXPECT_TRUE(option(method(lj, "lrp"), "variant").is_null());
  EXPECT_FALSE(option(method(lj, "lrp"), "bias-factor").is_null());
  EXPECT_EQ(option(method(cj, "lrp"), "rule")["choices"].size(), 3u);
  EXPECT_FALSE(option(method(tj, "lrp"), "variant").is_null());
  EXPECT_EQ(option(method(tj, "integrated-gradients"), "baseline")["default"], "unk");
  EXPECT_EQ(option(method(lj, "integrated-gradients"), "baseline")["choices"],
            (std::vector<std::string>{"zero", "pad", "unk", "random-words"}));
  EXPECT_EQ(method(lj, "saliency")["scores"], "unsigned");
  EXPECT_TRUE(method(lj, "lrp")["applicable"].get<bool>());
  // The general registry lists the per-architecture facts.
  const nlohmann::json all = nlohmann::json::parse(explanation_methods_to_json());
  EXPECT_EQ(option(method(all, "lrp"), "rule")["applies_to"], (std::vector<std::string>{"cnn"}));
  EXPECT_EQ(option(method(all, "integrated-gradients"), "baseline")["by_architecture"]["transformer"]["default"],
            "unk");
  EXPECT_THROW(explanation_methods_to_json("gpt"), Error);
}

// ------------------------------------------------------------ unread words
TEST(ExplainUnread, UnknownWordsAndTheTruncatedTailAreMarked) {
  const Tiny lstm = wltest::tiny_model(kTinyBiLstm, 4), bert = wltest::tiny_model(kTinyBert, 5);
  // "zebra" and "日本語" are not in the tiny vocabularies.
  Explanation e = run(lstm, "the zebra film is good", "gradient");
  ASSERT_EQ(e.words.size(), 5u);
  EXPECT_TRUE(e.words[1].unknown);
  EXPECT_FALSE(e.words[0].unknown);
  EXPECT_TRUE(e.tokens[static_cast<size_t>(e.words[1].tokens[0])].unknown);
  EXPECT_EQ(e.unread.unknown_words, 1);
  EXPECT_EQ(e.unread.truncated_words, 0);
  EXPECT_EQ(e.unread.truncated_from, -1);
  EXPECT_NEAR(e.unread.share, 1.0 / 5.0, 1e-12);
  // BERT's pre-tokenizer makes each CJK character a word; none is in the vocabulary.
  e = run(bert, "the film 日本語 is good", "gradient");
  int unknown = 0;
  for (const WordScore& w : e.words) unknown += w.unknown ? 1 : 0;
  EXPECT_EQ(unknown, 3);
  EXPECT_EQ(e.unread.unknown_words, 3);
  for (const TokenScore& t : e.tokens) EXPECT_FALSE(t.special && t.unknown);
  // Truncation: [CLS] the film is [SEP] with max_length 5; "good film" unread.
  e = run(bert, "the film is good film", "gradient", "", -1, 5);
  EXPECT_TRUE(e.truncated);
  EXPECT_EQ(e.unread.words, 3);
  EXPECT_EQ(e.unread.truncated_words, 2);
  EXPECT_EQ(e.unread.truncated_from, 12);
  EXPECT_NEAR(e.unread.share, 2.0 / 5.0, 1e-12);
  const nlohmann::json j = nlohmann::json::parse(explanation_to_json(e));
  EXPECT_EQ(j["unread"]["truncated_words"], 2);
  EXPECT_EQ(j["unread"]["truncated_from"], 12);
  EXPECT_EQ(j["words"][0]["unknown"], false);
}

// ------------------------------------------------------------ adaptive path methods
TEST(ExplainAdaptive, IntegratedGradientsConvergesByDefaultAndSaysSo) {
  for (const char* config : {kTinyCnn, kTinyBiLstm, kTinyBert}) {
    const Tiny t = wltest::tiny_model(config, 7);
    SCOPED_TRACE(t.model->config().model_type);
    const Explanation e = run(t, "the film is not good", "integrated-gradients");
    const Convergence& c = e.convergence;
    ASSERT_TRUE(c.present);
    EXPECT_TRUE(c.adaptive);
    ASSERT_GE(c.tried.size(), 2u) << "the change needs two step counts";
    for (size_t i = 1; i < c.tried.size(); ++i) EXPECT_EQ(c.tried[i], 2 * c.tried[i - 1]);
    EXPECT_EQ(c.steps, c.tried.back());
    EXPECT_EQ(c.tolerance, 0.01);
    EXPECT_TRUE(c.converged) << "gap " << c.gap << " change " << c.change << " at " << c.steps;
    EXPECT_LE(c.gap, 0.01);
    EXPECT_GE(c.change, 0.0);
    EXPECT_LE(c.change, 0.01);
    const ExplanationCheck* gap = find_check(e, "completeness-gap");
    ASSERT_NE(gap, nullptr);
    EXPECT_NEAR(gap->relative, c.gap, 1e-9 + 1e-6 * c.gap);
    ASSERT_NE(find_check(e, "step-change"), nullptr);
    // Gauss-Legendre points do not nest: every level is computed afresh.
    int64_t points = 0;
    for (int k : c.tried) points += k;
    EXPECT_EQ(e.model_evaluations, 1 + 1 + points);
    // The integrand for the picture: one value per point of the final rule.
    ASSERT_EQ(e.path.alphas.size(), static_cast<size_t>(c.steps));
    ASSERT_EQ(e.path.f.size(), e.path.alphas.size());
    for (double v : e.path.f) EXPECT_TRUE(std::isfinite(v));
    EXPECT_NEAR(e.path.f_input, e.prediction.explained_value, 1e-9);
  }
}

TEST(ExplainAdaptive, NestedRulesReuseTheirPoints) {
  const Tiny t = wltest::tiny_model(kTinyBert, 7);
  // Trapezoid 3 -> 5 -> 9 -> ...: each level adds the midpoints only.
  const Explanation e =
      run(t, "the film is not good", "integrated-gradients", "rule=trapezoid,steps=3,tolerance=0.001");
  const Convergence& c = e.convergence;
  ASSERT_GE(c.tried.size(), 2u);
  EXPECT_EQ(c.tried[0], 3);
  for (size_t i = 1; i < c.tried.size(); ++i) EXPECT_EQ(c.tried[i], 2 * c.tried[i - 1] - 1);
  EXPECT_EQ(e.model_evaluations, 1 + 1 + c.steps) << "every point computed once";
  // The reused sum equals a fresh run at the final step count.
  const Explanation f = run(t, "the film is not good", "integrated-gradients",
                            "rule=trapezoid,adaptive=false,steps=" + std::to_string(c.steps));
  for (size_t i = 0; i < e.tokens.size(); ++i) EXPECT_NEAR(e.tokens[i].score, f.tokens[i].score, 1e-6);
  // Its path holds both ends: f(baseline) at 0 and f(input) at 1.
  EXPECT_EQ(e.path.alphas.front(), 0.0);
  EXPECT_EQ(e.path.alphas.back(), 1.0);
  EXPECT_NEAR(e.path.f.front(), e.path.f_baseline, 1e-6);
  EXPECT_NEAR(e.path.f.back(), e.path.f_input, 1e-4);
  // Left and right rules nest under doubling too.
  for (const char* rule : {"left", "right"}) {
    const Explanation l = run(t, "the film is not good", "integrated-gradients",
                              std::string("rule=") + rule + ",steps=4,tolerance=0.001");
    EXPECT_EQ(l.model_evaluations, 1 + 1 + l.convergence.steps) << rule;
    const Explanation lf = run(t, "the film is not good", "integrated-gradients",
                               std::string("rule=") + rule + ",adaptive=false,steps=" +
                                   std::to_string(l.convergence.steps));
    for (size_t i = 0; i < l.tokens.size(); ++i) EXPECT_NEAR(l.tokens[i].score, lf.tokens[i].score, 1e-6) << rule;
  }
}

TEST(ExplainAdaptive, StopsAtTheCapAndSaysItDidNotConverge) {
  const Tiny t = wltest::tiny_model(kTinyCnn, 7);
  // The CNN's ReLU and max-pooling kinks make the left rule first order:
  // 1e-6 is out of reach at 16 steps.
  const Explanation e = run(t, "the film is not good", "integrated-gradients",
                            "rule=left,steps=4,max-steps=16,tolerance=0.000001,baseline=pad");
  EXPECT_EQ(e.convergence.tried, (std::vector<int>{4, 8, 16}));
  EXPECT_EQ(e.convergence.steps, 16);
  EXPECT_FALSE(e.convergence.converged);
  const nlohmann::json j = nlohmann::json::parse(explanation_to_json(e));
  EXPECT_EQ(j["convergence"]["converged"], false);
  EXPECT_EQ(j["convergence"]["steps"], 16);
  // adaptive=false: one level, the change not measured.
  const Explanation f = run(t, "the film is not good", "integrated-gradients", "adaptive=false,steps=8");
  EXPECT_EQ(f.convergence.tried, (std::vector<int>{8}));
  EXPECT_EQ(f.convergence.change, -1);
  EXPECT_EQ(find_check(f, "step-change"), nullptr);
}

TEST(ExplainAdaptive, IntegratedHessiansConvergesByDefault) {
  for (const char* config : {kTinyBiLstm, kTinyBert}) {
    const Tiny t = wltest::tiny_model(config, 8);
    SCOPED_TRACE(t.model->config().model_type);
    const Explanation e = run(t, "the film is not good", "integrated-hessians", "max-steps=64");
    const Convergence& c = e.convergence;
    ASSERT_TRUE(c.present);
    ASSERT_GE(c.tried.size(), 2u);
    EXPECT_TRUE(c.converged) << "gap " << c.gap << " change " << c.change << " at " << c.steps;
    const ExplanationCheck* gap = find_check(e, "interaction-completeness-gap");
    ASSERT_NE(gap, nullptr);
    EXPECT_LE(gap->relative, 0.01);
    // The same method with the same options gives the same answer: the
    // row sums equal Integrated Gradients at the same (converged) steps.
    const ExplanationCheck* rows = find_check(e, "row-sum-ig-gap");
    ASSERT_NE(rows, nullptr);
    EXPECT_LE(rows->relative, 0.01);
  }
}

// ------------------------------------------------------------ the evaluation report
TEST(ExplainFacts, TheEvaluationReportDoesNotReadUnsignedScoresAsForOrAgainst) {
  const nlohmann::json acc = {{"saliency", {1.0, 0.5}}, {"gradient", {1.0, 0.6}}};
  nlohmann::json j = {{"methods", {"saliency", "gradient"}},
                      {"deletion",
                       {{"steps", {0, 1}},
                        {"correct", {{"n", 2}, {"accuracy", acc}}},
                        {"misclassified", {{"n", 1}, {"accuracy", acc}}}}},
                      {"topwords",
                       {{"saliency", {{"pos", {{"good", 1.5, 2}}}}},
                        {"gradient", {{"pos", {{"good", 0.5, 2}}}}}}}};
  const std::string h = evaluation_report_html(j.dump());
  EXPECT_NE(h.find("Unsigned methods (saliency) score importance"), std::string::npos);
  EXPECT_NE(h.find("saliency <small>(importance: unsigned"), std::string::npos);
  EXPECT_EQ(h.find("gradient <small>(importance"), std::string::npos);
}
