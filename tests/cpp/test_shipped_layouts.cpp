// The DistilBERT and RoBERTa layouts on trained weights (issue 17: every
// supported layout shipped trained), not only on the random tiny models of
// the golden tests: models/agnews-distilbert (DistilBertForSequenceClassification,
// WordPiece, 4 classes) and models/sst2-roberta (RobertaForSequenceClassification,
// byte-level BPE with <s> ... </s>) load with their own tokenizers, and
// - LRP, with AttnLRP (the transformers' default) and CP-LRP, conserves:
//   the words' scores plus what the method says the rest absorbed (biases,
//   epsilon, position embeddings, the softmax remainder, the special tokens)
//   add up to the explained logit, for the predicted class and another;
// - Integrated Gradients' completeness gap is below 1% of f(x) - f(x')
//   at 64 steps, and its adaptive default converges;
// - the explained value is the model's own logit for that class.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tiny_models.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;
using wltest::find_check;

namespace {

struct Case {
  const char* name;
  ModelFamily family;
  std::vector<std::string> texts;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"agnews-distilbert",
       ModelFamily::DistilBert,
       {"Shares of the oil company fell sharply after it reported lower quarterly profits.",
        "The striker scored twice as the home team won the championship final.",
        "It's the first time the software maker has released an update for its browser."}},
      {"sst2-roberta",
       ModelFamily::Roberta,
       {"a gripping , funny and deeply moving film .", "The plot is thin and the acting is worse.",
        "Not bad at all: I expected a dull sequel and got a clever, moving story."}},
  };
  return c;
}

LoadedModel load(const Case& c) { return load_model_directory(std::string(WORDLIGHT_SOURCE_DIR) + "/models/" + c.name); }

double words_sum(const Explanation& e) {
  double s = 0;
  for (const WordScore& w : e.words) s += w.score;
  return s;
}

double absorbed_sum(const Explanation& e) {
  double s = 0;
  for (const ExplanationCheck& c : e.checks)
    if (c.name.rfind("absorbed:", 0) == 0) s += c.value;
  return s;
}

}  // namespace

TEST(ShippedLayouts, LoadWithTheirFamilyAndTokenizer) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const LoadedModel m = load(c);
    EXPECT_EQ(m.model->config().family, c.family);
    const Encoding enc = m.tokenizer->encode("Not bad at all.");
    ASSERT_GE(enc.ids.size(), 3u);
    // [CLS] ... [SEP] for DistilBERT, <s> ... </s> for RoBERTa.
    const std::string first = m.tokenizer->id_to_token(enc.ids.front()), last = m.tokenizer->id_to_token(enc.ids.back());
    if (c.family == ModelFamily::Roberta) {
      EXPECT_EQ(first, "<s>");
      EXPECT_EQ(last, "</s>");
      EXPECT_EQ(m.tokenizer->id_to_token(enc.ids[2]), "\xC4\xA0" "bad") << "byte-level BPE marks the space";
    } else {
      EXPECT_EQ(first, "[CLS]");
      EXPECT_EQ(last, "[SEP]");
      EXPECT_EQ(m.tokenizer->id_to_token(enc.ids[1]), "not") << "lower-cased WordPiece";
    }
  }
}

TEST(ShippedLayouts, LrpConservesOnTrainedWeights) {
  for (const Case& c : cases()) {
    const LoadedModel m = load(c);
    const int labels = m.model->config().num_labels;
    for (const std::string& text : c.texts)
      for (const char* variant : {"", "variant=cp-lrp"}) {
        const Explanation p = wltest::explain_text(*m.model, *m.tokenizer, text, "lrp", variant);
        for (int target : {p.prediction.label, (p.prediction.label + 1) % labels}) {
          SCOPED_TRACE(std::string(c.name) + " [" + variant + "] target " + std::to_string(target) + ": " + text);
          const Explanation e = wltest::explain_text(*m.model, *m.tokenizer, text, "lrp", variant, target);
          const double f = e.prediction.explained_value;
          EXPECT_EQ(e.prediction.target, target);
          EXPECT_NEAR(f, e.prediction.logits.at(static_cast<size_t>(target)), 1e-4 * (1 + std::fabs(f)));
          ASSERT_FALSE(e.words.empty());
          double mag = 0;
          for (const WordScore& w : e.words) {
            ASSERT_TRUE(std::isfinite(w.score)) << w.text;
            mag += std::fabs(w.score);
          }
          EXPECT_GT(mag, 1e-6) << "the words carry relevance";
          // Float throughout on trained weights: 1e-4 of the scale.
          EXPECT_NEAR(words_sum(e) + absorbed_sum(e), f, 1e-4 * (1 + std::fabs(f) + mag));
          const ExplanationCheck* gap = find_check(e, "conservation-gap");
          ASSERT_NE(gap, nullptr);
          EXPECT_TRUE(std::isfinite(gap->value));
          ASSERT_NE(find_check(e, "absorbed:special-tokens"), nullptr) << "the template's special tokens are told apart";
          if (variant[0] == '\0') EXPECT_NE(find_check(e, "absorbed:softmax"), nullptr) << "AttnLRP's softmax remainder";
        }
      }
  }
}

TEST(ShippedLayouts, IntegratedGradientsIsCompleteAndConverges) {
  for (const Case& c : cases()) {
    const LoadedModel m = load(c);
    for (const std::string& text : c.texts) {
      SCOPED_TRACE(std::string(c.name) + ": " + text);
      const Explanation e = wltest::explain_text(*m.model, *m.tokenizer, text, "integrated-gradients", "steps=64,adaptive=false");
      ASSERT_FALSE(e.checks.empty());
      EXPECT_LT(e.checks[0].relative, 0.01) << "gap " << e.checks[0].value << " of " << e.checks[0].reference;
      EXPECT_GT(std::fabs(e.checks[0].reference), 1e-3) << "f(x) - f(baseline) is not zero";
      const Explanation d = wltest::explain_text(*m.model, *m.tokenizer, text, "integrated-gradients");
      EXPECT_TRUE(d.convergence.converged) << "steps " << d.convergence.steps << " gap " << d.convergence.gap;
      EXPECT_LT(d.checks.at(0).relative, 0.01);
    }
  }
}
