// DiffMask (wordlight/diffmask.h) and learned parts (Model::parts(),
// MethodInfo::requires_part): the hard concrete gate's moments against
// Monte Carlo; a tiny BERT whose class one word decides, whose trained
// probes keep that word and drop the others; probes refused on another
// model's weights with a message that says so; the registry telling why
// the method is missing where the part is.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "check_util.h"
#include "tiny_models.h"
#include "wordlight/diffmask.h"
#include "wordlight/explain.h"
#include "wordlight/model_files.h"
#include "wordlight/safetensors.h"
#include "wordlight/splitmix64.h"
#include "wordlight/train.h"

using namespace wordlight;

namespace {

// ------------------------------------------------------------------ hard concrete
TEST(DiffMaskHardConcrete, MomentsMatchSampling) {
  const HardConcrete wide{0.2, -0.1, 1.1};  // r > 1: P(z = 1) > 0
  for (const HardConcrete& hc : {HardConcrete{}, wide, HardConcrete{0.5, -0.2, 1.2}})
    for (double la : {-2.0, -0.3, 0.0, 1.5, 4.0}) {
      SplitMix64 rng{static_cast<uint64_t>(1000 * la + 7)};
      const int n = 200000;
      double mean = 0, zero = 0, one = 0, nonzero = 0;
      for (int i = 0; i < n; ++i) {
        double u = rng.uniform();
        u = std::min(std::max(u, 1e-12), 1 - 1e-12);
        const double z = hard_concrete_sample(la, u, hc);
        ASSERT_GE(z, 0.0);
        ASSERT_LE(z, 1.0);
        mean += z / n;
        zero += (z == 0) / double(n);
        one += (z == 1) / double(n);
        nonzero += (z > 0) / double(n);
      }
      // 5 standard errors of a proportion / a mean of values in [0, 1].
      const double se = 5 * 0.5 / std::sqrt(double(n));
      const std::string at = "log_alpha " + std::to_string(la) + ", l " + std::to_string(hc.l) + ", r " +
                             std::to_string(hc.r) + ", beta " + std::to_string(hc.beta);
      EXPECT_NEAR(mean, hard_concrete_mean(la, hc), se) << at;
      EXPECT_NEAR(zero, hard_concrete_p_zero(la, hc), se) << at;
      // At r = 1 the gate reaches 1 only where the sigmoid rounds to 1 (a
      // floating-point atom, not the distribution's): compared where r > 1.
      if (hc.r > 1) EXPECT_NEAR(one, hard_concrete_p_one(la, hc), se) << at;
      // The expected L0 (the penalty) is P(z != 0).
      EXPECT_NEAR(nonzero, hard_concrete_p_nonzero(la, hc), se) << at;
      EXPECT_NEAR(hard_concrete_p_nonzero(la, hc), 1 - hard_concrete_p_zero(la, hc), 1e-12) << at;
    }
  // r = 1: the gate is never exactly 1; a large log_alpha keeps almost surely.
  EXPECT_EQ(hard_concrete_p_one(3.0), 0.0);
  EXPECT_GT(hard_concrete_p_nonzero(5.0), 0.99);
  EXPECT_LT(hard_concrete_p_nonzero(-5.0), 0.01);
}

// ------------------------------------------------------------------ a tiny task
// Texts of "the", "film", "is" (ids 5, 6, 7); positive iff "good" (11) is
// among them: one word decides the class.
EncodedSet one_word_task(int n, uint64_t seed) {
  SplitMix64 r{seed};
  EncodedSet s;
  for (int i = 0; i < n; ++i) {
    const int len = 3 + static_cast<int>(r.below(4));
    std::vector<int32_t> ids = {2};
    const bool pos = r.below(2) == 1;
    const int at = static_cast<int>(r.below(size_t(len)));
    for (int k = 0; k < len; ++k) ids.push_back(pos && k == at ? 11 : 5 + static_cast<int32_t>(r.below(3)));
    ids.push_back(3);
    s.ids.push_back(ids);
    s.labels.push_back(pos ? 1 : 0);
  }
  return s;
}

struct TrainedTiny {
  wltest::Tiny t;
  std::string config;
};

TrainedTiny trained_classifier(uint64_t seed) {
  TrainedTiny r{wltest::tiny_model(wltest::kTinyBert, seed), wltest::kTinyBert};
  TrainOptions o;
  o.epochs = 8;
  o.batch_size = 16;
  o.lr = 3e-3;
  o.seed = seed;
  const EncodedSet train = one_word_task(256, seed + 1), dev = one_word_task(64, seed + 2);
  train_classifier(*r.t.model, train, nullptr, o);
  EXPECT_GE(evaluate_accuracy(*r.t.model, dev, 32), 0.95);
  return r;
}

// The model's files in memory (what the page hands the module).
ModelFiles files_of(Model& model, const std::string& config) {
  ModelFiles f;
  f["config.json"] = config;
  const std::vector<uint8_t> st = write_safetensors(checkpoint_tensors(model));
  f["model.safetensors"] = std::string(st.begin(), st.end());
  f["vocab.txt"] = wltest::kTinyPieceVocab;
  return f;
}

void add_diffmask(ModelFiles& f, const DiffMask& dm) {
  const std::vector<uint8_t> st = write_safetensors(dm.tensors());
  f["diffmask.safetensors"] = std::string(st.begin(), st.end());
  f["diffmask.json"] = dm.config_json();
}

TEST(DiffMask, KeepsTheDecidingWordAndDropsTheOthers) {
  TrainedTiny c = trained_classifier(21);
  Model& model = *c.t.model;
  DiffMask dm = DiffMask::fresh(model, 4, 5);
  EXPECT_EQ(dm.config.layers, 2);  // the embeddings and the one layer
  dm.config.model_hash = diffmask_weights_hash(model);
  const EncodedSet data = one_word_task(256, 99);
  DiffMaskTrainOptions o;
  o.batch_size = 16;
  o.lr = 1e-2;
  o.lr_placeholder = 1e-2;
  o.max_steps = 600;
  o.warmup = 20;
  o.seed = 3;
  DiffMaskTrainState st;
  train_diffmask(model, dm, data.ids, 0, o, st);
  EXPECT_EQ(st.step, 600);

  // Through the loader and the registry, as every shell runs it.
  ModelFiles f = files_of(model, c.config);
  add_diffmask(f, dm);
  LoadedModel m = load_model_files(std::move(f), "tiny");
  ASSERT_TRUE(m.model->has_part("diffmask")) << m.model->part_refused("diffmask");
  double good = 0, others = 0;
  int n_good = 0, n_others = 0;
  for (const char* text : {"the film is good", "good film", "the good film is the film", "film is film good the"}) {
    const Explanation e = wltest::explain_text(*m.model, *m.tokenizer, text, "diffmask");
    EXPECT_EQ(e.prediction.label, 1) << text;
    ASSERT_EQ(e.layers.size(), 2u);
    EXPECT_EQ(e.layers[0].layer, "embeddings");
    EXPECT_FALSE(e.signed_scores);
    for (size_t t = 0; t < e.tokens.size(); ++t) {
      // keep_1 = keep_0 * P(z_1 > 0) <= keep_0; the word scores read the last row.
      EXPECT_LE(e.layers[1].token_scores[t], e.layers[0].token_scores[t] + 1e-12);
      EXPECT_DOUBLE_EQ(e.tokens[t].score, e.layers[1].token_scores[t]);
    }
    for (const WordScore& w : e.words) {
      EXPECT_GE(w.score, 0.0);
      EXPECT_LE(w.score, 1.0);
      if (w.text == "good") {
        good += w.score;
        ++n_good;
      } else {
        others += w.score;
        ++n_others;
      }
    }
    const ExplanationCheck* kl = wltest::find_check(e, "masked-kl");
    ASSERT_NE(kl, nullptr);
    EXPECT_GE(kl->value, 0.0);
  }
  good /= n_good;
  others /= n_others;
  EXPECT_GT(good, 0.5) << "mean keep probability of 'good'";
  EXPECT_LT(others, 0.5) << "mean keep probability of the other words";
  EXPECT_GT(good - others, 0.4);

  // The selection criteria: at the last layer, masking keeps the prediction.
  const std::vector<DiffMaskEvalLayer> ev = evaluate_diffmask(*m.model, dm, data.ids, 0, 32);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_GE(ev[1].agreement, 0.9);
  EXPECT_LT(ev[1].l0, 0.8);
}

// A run stopped and resumed from its state (probes, multipliers, Adam's
// moments) ends where the uninterrupted run ends: batches, layers and
// gate noise are functions of the seed and the step.
TEST(DiffMask, ResumedRunEqualsTheUninterruptedOne) {
  wltest::Tiny t = wltest::tiny_model(wltest::kTinyBert, 7);
  const EncodedSet data = one_word_task(64, 5);
  DiffMaskTrainOptions o;
  o.batch_size = 8;
  o.lr = 1e-2;
  o.warmup = 3;
  o.seed = 11;
  o.max_steps = 24;
  DiffMask whole = DiffMask::fresh(*t.model, 4, 2), parts = whole;
  DiffMaskTrainState sw, sp;
  int calls = 0;
  DiffMaskTrainCallbacks cb;
  cb.on_step = [&](const DiffMaskProgress& p, const DiffMaskTrainState&) {
    ++calls;
    EXPECT_GE(p.kl, 0.0);
    EXPECT_GE(p.layer, 0);
    EXPECT_LT(p.layer, 2);
  };
  o.log_every = 4;
  train_diffmask(*t.model, whole, data.ids, 0, o, sw, cb);
  EXPECT_EQ(calls, 6);
  o.max_steps = 10;
  train_diffmask(*t.model, parts, data.ids, 0, o, sp);
  EXPECT_EQ(sp.step, 10);
  o.max_steps = 24;
  train_diffmask(*t.model, parts, data.ids, 0, o, sp);
  EXPECT_EQ(sp.step, 24);
  EXPECT_EQ(sp.lambdas, sw.lambdas);
  EXPECT_EQ(sp.layer_steps, sw.layer_steps);
  for (size_t i = 0; i < whole.probes.size(); ++i) {
    EXPECT_EQ(parts.probes[i].v1, whole.probes[i].v1);
    EXPECT_EQ(parts.probes[i].bias, whole.probes[i].bias);
  }
  EXPECT_EQ(parts.placeholder, whole.placeholder);
  // And the probes did move.
  const DiffMask fresh = DiffMask::fresh(*t.model, 4, 2);
  EXPECT_NE(whole.probes[0].v1, fresh.probes[0].v1);
  EXPECT_NE(whole.placeholder, fresh.placeholder);
}

// ------------------------------------------------------------------ another model's probes
TEST(DiffMask, RefusedOnAnotherModelsWeights) {
  wltest::Tiny a = wltest::tiny_model(wltest::kTinyBert, 1), b = wltest::tiny_model(wltest::kTinyBert, 2);
  DiffMask dm = DiffMask::fresh(*a.model, 4, 1);
  dm.config.model_hash = diffmask_weights_hash(*a.model);
  EXPECT_NE(dm.config.model_hash, diffmask_weights_hash(*b.model));
  const std::vector<uint8_t> bytes = write_safetensors(dm.tensors());
  const std::string st(bytes.begin(), bytes.end()), js = dm.config_json();
  EXPECT_NO_THROW(read_diffmask(st, js, *a.model, "a"));
  EXPECT_ERROR_CONTAINS(read_diffmask(st, js, *b.model, "b"), "b/diffmask.safetensors was trained for another model");
  EXPECT_ERROR_CONTAINS(read_diffmask(st, js, *b.model, "b"), "wordlight train-diffmask");

  // Beside model b's files: b loads, without the part, and says why.
  ModelFiles f = files_of(*b.model, wltest::kTinyBert);
  add_diffmask(f, dm);
  LoadedModel m = load_model_files(std::move(f), "b");
  EXPECT_FALSE(m.model->has_part("diffmask"));
  EXPECT_NE(m.model->part_refused("diffmask").find("trained for another model"), std::string::npos);
  std::string why;
  EXPECT_FALSE(method_applies(method_info("diffmask"), *m.model, &why));
  EXPECT_NE(why.find("trained for another model"), std::string::npos) << why;
  EXPECT_ERROR_CONTAINS(wltest::explain_text(*m.model, *m.tokenizer, "the film", "diffmask"),
                        "trained for another model");

  // A file for another width or depth is refused by its shapes.
  wltest::Tiny wide = wltest::tiny_model(R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
  "intermediate_size": 16, "max_position_embeddings": 16, "num_labels": 2})", 3);
  EXPECT_ERROR_CONTAINS(read_diffmask(st, js, *wide.model, "w"), "the model has 2 of width 8");
}

// ------------------------------------------------------------------ the shipped probes
// models/sst2-bert ships probes trained for its weights; retraining the
// model without models/recipes/sst2-bert-diffmask.sh makes them stale,
// which this says.
TEST(DiffMask, ShippedSst2BertCarriesItsProbes) {
  const LoadedModel m = load_model_directory(std::string(WORDLIGHT_SOURCE_DIR) + "/models/sst2-bert");
  ASSERT_TRUE(m.model->has_part("diffmask"))
      << m.model->part_refused("diffmask") << " (rerun models/recipes/sst2-bert-diffmask.sh)";
  const Explanation e = wltest::explain_text(*m.model, *m.tokenizer, "a gripping , funny and deeply moving film", "diffmask");
  ASSERT_EQ(e.layers.size(), 5u);
  EXPECT_EQ(e.layers.back().layer, "layer.3");
  for (const WordScore& w : e.words) EXPECT_TRUE(w.score >= 0 && w.score <= 1) << w.text;
  const ExplanationCheck* kl = wltest::find_check(e, "masked-kl");
  ASSERT_NE(kl, nullptr);
  EXPECT_TRUE(std::isfinite(kl->value) && kl->value >= 0);
}

// ------------------------------------------------------------------ the registry
TEST(DiffMask, RegistrySaysWhyTheMethodIsMissing) {
  const MethodInfo& info = method_info("diffmask");
  EXPECT_EQ(info.requires_part, "diffmask");
  EXPECT_FALSE(info.signed_scores);
  wltest::Tiny bert = wltest::tiny_model(wltest::kTinyBert, 1), cnn = wltest::tiny_model(wltest::kTinyCnn, 1);
  std::string why;
  EXPECT_FALSE(method_applies(info, *bert.model, &why));
  EXPECT_NE(why.find("diffmask needs a DiffMask file trained for this model"), std::string::npos) << why;
  EXPECT_NE(why.find("wordlight train-diffmask"), std::string::npos) << why;
  EXPECT_FALSE(method_applies(info, *cnn.model, &why));
  EXPECT_NE(why.find("transformer"), std::string::npos) << why;
  // Every other method still applies to the BERT (no part needed).
  EXPECT_TRUE(method_applies(method_info("gradient"), *bert.model));
  EXPECT_ERROR_CONTAINS(wltest::explain_text(*bert.model, *bert.tok, "the film", "diffmask"), "wordlight train-diffmask");

  // The JSON the JS API reads: the model's view says why; the general one names the part.
  const nlohmann::json mj = nlohmann::json::parse(explanation_methods_to_json(*bert.model));
  bool found = false;
  for (const auto& m : mj)
    if (m["name"] == "diffmask") {
      found = true;
      EXPECT_EQ(m["applicable"], false);
      EXPECT_NE(m["why"].get<std::string>().find("train-diffmask"), std::string::npos);
    } else if (m["name"] == "gradient") {
      EXPECT_EQ(m["applicable"], true);
    }
  EXPECT_TRUE(found);
  const nlohmann::json all = nlohmann::json::parse(explanation_methods_to_json());
  for (const auto& m : all) {
    if (m["name"] == "diffmask") {
      EXPECT_EQ(m["requires_part"], "diffmask");
    }
  }

  // Attached, it applies (and a refusal is cleared).
  bert.model->refuse_part("diffmask", "unreadable");
  EXPECT_FALSE(method_applies(info, *bert.model, &why));
  EXPECT_NE(why.find("unreadable"), std::string::npos);
  auto dm = std::make_shared<DiffMask>(DiffMask::fresh(*bert.model, 4, 1));
  bert.model->attach_part("diffmask", dm);
  EXPECT_TRUE(method_applies(info, *bert.model, &why));
  EXPECT_EQ(bert.model->part_as<DiffMask>("diffmask"), dm.get());
  EXPECT_EQ(bert.model->parts(), std::vector<std::string>{"diffmask"});
  EXPECT_EQ(bert.model->part_refused("diffmask"), "");
}

}  // namespace
