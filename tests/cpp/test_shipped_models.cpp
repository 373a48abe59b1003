// The explanation axioms on the models we ship (models/*), not only on tiny
// random ones: Integrated Gradients' completeness gap is below 1% of
// |f(x) - f(baseline)| at 64 steps for a set of sentences, every registered
// method runs on every shipped classifier (the GPT-2 one, gpt2-sst2, the
// DistilBERT and RoBERTa ones, agnews-distilbert and sst2-roberta, too)
// and gives finite scores for every word, and LRP on the BiLSTM with bias
// factor 1 conserves the logit.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

const std::vector<std::string> kSentences = {
    "a gripping , funny and deeply moving film .",
    "the plot is thin and the acting is worse .",
    "it 's not a bad movie , but it is n't a good one either .",
    "The shuttle launch was delayed by a problem with the engines.",
    "I bought a new graphics card but the driver crashes under Windows.",
    "The team scored twice in the last period and won the playoff game.",
    "doctors say the new treatment may reduce the risk of heart disease",
    "What a waste of two hours!",
    "an undeniably gorgeous , terminally smitten document of a troubadour , his acolytes , and the triumph of his "
    "band .",
    "Is there any evidence for the existence of God, or is belief a matter of faith?",
};

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// The shipped classifiers that are present in this checkout.
std::vector<std::string> shipped() {
  std::vector<std::string> out;
  for (const char* name : {"20news-cnn", "sst2-bilstm", "sst2-bert", "gpt2-sst2", "agnews-distilbert", "sst2-roberta"}) {
    const std::string dir = std::string(WORDLIGHT_SOURCE_DIR) + "/models/" + name;
    if (exists(dir + "/config.json")) out.push_back(dir);
  }
  return out;
}

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
};

Loaded load(const std::string& dir) {
  LoadedModel m = load_model_directory(dir);
  return Loaded{std::move(m.model), std::move(m.tokenizer)};
}

}  // namespace

TEST(ShippedModels, TheTwoSmallModelsAreThere) {
  // The CNN and the BiLSTM are committed; a checkout without them is broken.
  const std::vector<std::string> dirs = shipped();
  ASSERT_GE(dirs.size(), 2u);
}

TEST(ShippedModels, IntegratedGradientsCompletenessBelowOnePercentAt64Steps) {
  for (const std::string& dir : shipped()) {
    const Loaded m = load(dir);
    for (const std::string& text : kSentences) {
      ExplainRequest r;
      r.method = "integrated-gradients";
      r.options = parse_option_list("steps=64,adaptive=false");
      const Explanation e = explain(*m.model, *m.tok, text, r);
      ASSERT_EQ(e.checks.size(), 1u);
      EXPECT_LT(e.checks[0].relative, 0.01) << dir << ": \"" << text << "\" gap " << e.checks[0].value << " of "
                                            << e.checks[0].reference;
    }
  }
}

TEST(ShippedModels, EveryMethodRunsOnEveryShippedModelWithFiniteWordScores) {
  // input-marginalization reads a second model: the shipped masked LM.
  const Loaded mlm = load(std::string(WORDLIGHT_SOURCE_DIR) + "/models/sst2-bert-mlm");
  for (const std::string& dir : shipped()) {
    const Loaded m = load(dir);
    const bool lstm = m.model->config().family == ModelFamily::WordlightBiLstm;
    for (const MethodInfo& info : explanation_methods()) {
      // Methods that need a learned part (diffmask) run where the model carries it.
      if (!method_applies(info, *m.model)) continue;
      ExplainRequest r;
      r.method = info.name;
      r.masked_lm = mlm.model.get();
      r.masked_lm_tokenizer = mlm.tok.get();
      // Small settings: this checks that the method runs on a real model,
      // the axioms are tested elsewhere.
      MethodOptions o;
      for (const OptionSpec& s : info.options) {
        if (s.name == "steps") o["steps"] = "4";
        if (s.name == "max-steps") o["max-steps"] = "8";
        if (s.name == "permutations") o["permutations"] = "2";
        if (s.name == "max-evals") o["max-evals"] = "20";
        if (s.name == "samples") o["samples"] = "3";
        if (s.name == "baseline-samples") o["baseline-samples"] = "2";
      }
      r.options = o;
      SCOPED_TRACE(dir + " " + info.name);
      const Explanation e = explain(*m.model, *m.tok, kSentences[0], r);
      ASSERT_FALSE(e.words.empty());
      for (const WordScore& w : e.words) {
        EXPECT_TRUE(std::isfinite(w.score)) << w.text;
        EXPECT_EQ(kSentences[0].substr(w.span.begin, w.span.end - w.span.begin), w.text);
      }
      EXPECT_GE(e.model_evaluations, 1);
    }
    if (lstm) {
      ExplainRequest r;
      r.method = "lrp";
      r.options = parse_option_list("bias-factor=1");
      const Explanation e = explain(*m.model, *m.tok, kSentences[1], r);
      EXPECT_LT(e.checks.at(0).relative, 1e-4) << "conservation with bias factor 1";
    }
  }
}

// The path methods with the defaults the page and the CLI use (adaptive
// steps, the per-architecture baseline) reach the tolerance they promise on
// every shipped classifier: the completeness gap below 1% and converged.
TEST(ShippedModels, PathMethodsConvergeWithTheirDefaults) {
  for (const std::string& dir : shipped()) {
    const Loaded m = load(dir);
    for (const char* method : {"integrated-gradients", "integrated-hessians"}) {
      SCOPED_TRACE(dir + " " + method);
      ExplainRequest r;
      r.method = method;
      const Explanation e = explain(*m.model, *m.tok, "not bad at all", r);
      EXPECT_TRUE(e.convergence.converged) << "steps " << e.convergence.steps << " gap " << e.convergence.gap
                                           << " change " << e.convergence.change;
      EXPECT_LT(e.checks.at(0).relative, 0.01) << e.checks.at(0).name;
    }
  }
}
