// config.json's problem_type multi_label_classification (labels that hold
// independently, trained with BCEWithLogitsLoss in Hugging Face): each
// label's probability is its own sigmoid, not a softmax over the labels,
// in predict() and in explanations of the probability (the explained value,
// a path method's completeness, a perturbation method's outputs). The same
// weights without problem_type keep the softmax.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "tiny_models.h"
#include "wordlight/explain.h"
#include "wordlight/predict.h"

using namespace wordlight;

namespace {

const char* const kMultiLabelBert = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 3,
  "problem_type": "multi_label_classification"})";
const char* const kSingleLabelBert = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 3})";
const char* const kText = "the film is unbelievable good";

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

TEST(MultiLabel, PredictGivesEachLabelItsSigmoid) {
  const wltest::Tiny multi = wltest::tiny_model(kMultiLabelBert, 5), single = wltest::tiny_model(kSingleLabelBert, 5);
  const Prediction m = predict(*multi.model, *multi.tok, kText).prediction;
  const Prediction s = predict(*single.model, *single.tok, kText).prediction;
  ASSERT_EQ(m.logits.size(), 3u);
  ASSERT_EQ(m.probabilities.size(), 3u);
  double sum_m = 0, sum_s = 0;
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(m.logits[c], s.logits[c]) << "the same weights";
    EXPECT_NEAR(m.probabilities[c], sigmoid(m.logits[c]), 1e-6);
    sum_m += m.probabilities[c];
    sum_s += s.probabilities[c];
  }
  EXPECT_NEAR(sum_s, 1.0, 1e-6) << "softmax without problem_type";
  EXPECT_GT(std::fabs(sum_m - 1.0), 1e-3) << "independent labels need not sum to 1";
  EXPECT_EQ(m.label, s.label) << "the label is the largest logit either way";
}

TEST(MultiLabel, ExplanationsOfTheProbabilityExplainTheSigmoid) {
  const wltest::Tiny multi = wltest::tiny_model(kMultiLabelBert, 6);
  for (int target : {0, 2}) {
    SCOPED_TRACE(target);
    const Explanation g = wltest::explain_text(*multi.model, *multi.tok, kText, "gradient", "output=probability", target);
    const double logit = g.prediction.logits.at(static_cast<size_t>(target));
    EXPECT_EQ(g.prediction.output, "probability");
    EXPECT_NEAR(g.prediction.explained_value, sigmoid(logit), 1e-6);
    EXPECT_NEAR(g.prediction.probabilities.at(static_cast<size_t>(target)), sigmoid(logit), 1e-6);
    // Integrated Gradients' completeness holds for the sigmoid it explains.
    const Explanation ig =
        wltest::explain_text(*multi.model, *multi.tok, kText, "integrated-gradients", "output=probability,steps=64,adaptive=false", target);
    EXPECT_NEAR(ig.prediction.explained_value, sigmoid(logit), 1e-6);
    ASSERT_FALSE(ig.checks.empty());
    EXPECT_LT(ig.checks[0].relative, 0.01);
    // Occlusion's scores are differences of the same sigmoid: removing a
    // word changes p by its score, so every score lies in (-1, 1) and
    // f(x) - score is a probability.
    const Explanation oc = wltest::explain_text(*multi.model, *multi.tok, kText, "occlusion", "output=probability", target);
    EXPECT_NEAR(oc.prediction.explained_value, sigmoid(logit), 1e-6);
    for (const WordScore& w : oc.words) {
      const double without = oc.prediction.explained_value - w.score;
      EXPECT_GT(without, 0.0) << w.text;
      EXPECT_LT(without, 1.0) << w.text;
    }
  }
}

// Whoever shows a prediction (the page, exports, the CLI, the JS API) must
// know that the labels are independent, or it says "predicted X" of one of
// several labels that hold: the JSON carries multi_label, only when true.
TEST(MultiLabel, JsonSaysTheLabelsAreIndependent) {
  const wltest::Tiny multi = wltest::tiny_model(kMultiLabelBert, 5), single = wltest::tiny_model(kSingleLabelBert, 5);
  const auto pm = nlohmann::json::parse(prediction_to_json(predict(*multi.model, *multi.tok, kText)));
  const auto ps = nlohmann::json::parse(prediction_to_json(predict(*single.model, *single.tok, kText)));
  EXPECT_EQ(pm.value("multi_label", false), true);
  EXPECT_FALSE(ps.contains("multi_label"));
  const auto em = nlohmann::json::parse(explanation_to_json(wltest::explain_text(*multi.model, *multi.tok, kText, "gradient", "", -1)));
  const auto es = nlohmann::json::parse(explanation_to_json(wltest::explain_text(*single.model, *single.tok, kText, "gradient", "", -1)));
  EXPECT_EQ(em.at("prediction").value("multi_label", false), true);
  EXPECT_FALSE(es.at("prediction").contains("multi_label"));
}
