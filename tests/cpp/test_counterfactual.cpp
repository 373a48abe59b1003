// Counterfactual generators (issue 19) on a CNN built by hand where one
// word decides the class: "good" alone makes the text positive, "bad"
// alone negative, every other word is neutral. HotFlip replaces "good" by
// "bad" and nothing else; ablation flip deletes "good" (and, with two of
// them, both together and never one); locked words are never edited;
// every result really flips (checked with predict()) and no result is a
// superset of another; the MLM search's fills are the masked LM's top m
// at each masked word (computed here from the MLM's logits); HotFlip's
// replacements are whole words (no "##" pieces) on a tiny BERT; progress,
// cancel, determinism and option errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "tiny_models.h"
#include "wordlight/counterfactual.h"
#include "wordlight/model.h"
#include "wordlight/predict.h"

using namespace wordlight;

namespace {

// Word embeddings (D = 3): good (1, 0, 1), bad (0, 1, 1), other words
// (0, 0, 1). Kernel-1 filters: f0 = ReLU(e0 - e1 - 0.5 e2) fires on "good"
// only (0.5), f1 = ReLU(e1 - e0 - 0.5 e2) on "bad" only (0.5); max over
// time; logit(pos) = f0, logit(neg) = f1 + 0.25. So a text is positive iff
// it has "good" and no "bad"; every neutral word's filters are below 0
// (no gradient), so only "good" can be moved by a first-order step.
const char* kDecisiveCnn = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 3,
  "num_filters": 2, "kernel_size": [1], "num_labels": 2, "max_length": 16,
  "id2label": {"0": "neg", "1": "pos"}})";

wltest::Tiny decisive_cnn() {
  wltest::Tiny t = wltest::tiny_model(kDecisiveCnn, 1);
  const int32_t good = t.tok->token_to_id("good"), bad = t.tok->token_to_id("bad");
  for (ModelParameter& p : t.model->parameters()) {
    std::fill(p.data, p.data + p.numel(), 0.f);
    if (p.name == "embeddings.weight") {
      for (int v = 2; v < 12; ++v) p.data[v * 3 + 2] = 1.f;  // <pad> and <unk> stay 0
      p.data[good * 3 + 0] = 1.f;
      p.data[bad * 3 + 1] = 1.f;
    } else if (p.name == "convs.0.weight") {  // (F=2, k=1, D=3)
      const float w[6] = {1, -1, -0.5f, -1, 1, -0.5f};
      std::copy(w, w + 6, p.data);
    } else if (p.name == "classifier.weight") {  // (L=2, 2): neg <- f1, pos <- f0
      p.data[0 * 2 + 1] = 1.f;
      p.data[1 * 2 + 0] = 1.f;
    } else if (p.name == "classifier.bias") {
      p.data[0] = 0.25f;
    }
  }
  t.model->parameters_changed();
  return t;
}

int label_of(const wltest::Tiny& t, const std::string& text) { return predict(*t.model, *t.tok, text).prediction.label; }

// Every counterfactual flips (by predict()), its edits point at what they
// say, locked words are untouched, and none is a superset of another.
void expect_sound(const wltest::Tiny& t, const CounterfactualResult& r) {
  const int original = label_of(t, r.text);
  EXPECT_EQ(r.prediction.label, original);
  std::vector<std::set<int32_t>> sets;
  for (const Counterfactual& c : r.counterfactuals) {
    EXPECT_NE(label_of(t, c.text), original) << c.text;
    EXPECT_EQ(c.prediction.label, label_of(t, c.text));
    std::set<int32_t> ws;
    for (const CounterfactualEdit& e : c.edits) {
      EXPECT_EQ(r.text.substr(e.span.begin, e.span.end - e.span.begin), e.original);
      EXPECT_EQ(c.text.substr(e.new_span.begin, e.new_span.end - e.new_span.begin), e.replacement);
      EXPECT_TRUE(std::find(r.locked.begin(), r.locked.end(), e.word) == r.locked.end()) << "locked word edited";
      ws.insert(e.word);
    }
    EXPECT_EQ(ws.size(), c.edits.size());
    sets.push_back(ws);
  }
  for (size_t i = 0; i < sets.size(); ++i)
    for (size_t j = 0; j < sets.size(); ++j)
      if (i != j && sets[i].size() < sets[j].size())
        EXPECT_FALSE(std::includes(sets[j].begin(), sets[j].end(), sets[i].begin(), sets[i].end()))
            << "counterfactual " << j << " is a superset of " << i;
}

CounterfactualResult run(const wltest::Tiny& t, const std::string& text, const std::string& gen,
                         MethodOptions opts = {}, std::vector<int32_t> locked = {}) {
  CounterfactualRequest r;
  r.generator = gen;
  r.options = std::move(opts);
  r.locked = std::move(locked);
  return find_counterfactuals(*t.model, *t.tok, text, r);
}

}  // namespace

TEST(Counterfactual, TheDecisiveCnnDecidesByOneWord) {
  const wltest::Tiny t = decisive_cnn();
  EXPECT_EQ(label_of(t, "the film is good"), 1);
  EXPECT_EQ(label_of(t, "the film is bad"), 0);
  EXPECT_EQ(label_of(t, "the film is"), 0);
  EXPECT_EQ(label_of(t, "good film , good"), 1);
  EXPECT_EQ(label_of(t, "film , good"), 1);
}

TEST(Counterfactual, HotFlipReplacesTheDecisiveWordOnly) {
  const wltest::Tiny t = decisive_cnn();
  const CounterfactualResult r = run(t, "the film is good", "hotflip");
  expect_sound(t, r);
  // Only "good" has a gradient; its best replacement is "bad".
  ASSERT_EQ(r.positions, std::vector<int32_t>{3});
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_EQ(r.candidates[0], std::vector<std::string>{"bad"});
  ASSERT_EQ(r.counterfactuals.size(), 1u);
  const Counterfactual& c = r.counterfactuals[0];
  EXPECT_EQ(c.text, "the film is bad");
  ASSERT_EQ(c.edits.size(), 1u);
  EXPECT_EQ(c.edits[0].original, "good");
  EXPECT_EQ(c.edits[0].replacement, "bad");
  EXPECT_EQ(c.prediction.label_name, "neg");
  EXPECT_EQ(r.model_evaluations, 1 + 1 + 1);  // the prediction, the backward pass, one text
  EXPECT_EQ(r.texts_tried, 1);
}

TEST(Counterfactual, HotFlipRespectsLocks) {
  const wltest::Tiny t = decisive_cnn();
  const CounterfactualResult none = run(t, "the film is good", "hotflip", {}, {3});
  EXPECT_TRUE(none.counterfactuals.empty());
  EXPECT_TRUE(none.positions.empty());
  // Locking other words changes nothing; they stay as typed.
  const CounterfactualResult r = run(t, "the film is good", "hotflip", {}, {0, 1});
  expect_sound(t, r);
  ASSERT_EQ(r.counterfactuals.size(), 1u);
  EXPECT_EQ(r.counterfactuals[0].text, "the film is bad");
  EXPECT_EQ(r.locked, (std::vector<int32_t>{0, 1}));
  EXPECT_THROW(run(t, "the film is good", "hotflip", {}, {4}), Error);
}

TEST(Counterfactual, AblationFlipFindsOnlyMinimalDeletions) {
  const wltest::Tiny t = decisive_cnn();
  const CounterfactualResult one = run(t, "the film is good", "ablation-flip", {{"method", "occlusion"}});
  expect_sound(t, one);
  ASSERT_EQ(one.counterfactuals.size(), 1u);
  EXPECT_EQ(one.counterfactuals[0].text, "the film is");
  EXPECT_TRUE(one.counterfactuals[0].edits[0].replacement.empty());
  // Two "good": neither alone flips, both together do; no superset of
  // {good, good} is tried, every smaller set is.
  const CounterfactualResult two = run(t, "good film , good", "ablation-flip", {{"method", "occlusion"}});
  expect_sound(t, two);
  ASSERT_EQ(two.counterfactuals.size(), 1u);
  EXPECT_EQ(two.counterfactuals[0].text, "film ,");
  ASSERT_EQ(two.counterfactuals[0].edits.size(), 2u);
  EXPECT_EQ(two.counterfactuals[0].edits[0].word, 0);
  EXPECT_EQ(two.counterfactuals[0].edits[1].word, 3);
  // 4 words: 4 singles + 6 pairs + 4 triples + 1 quadruple = 15; the 3
  // triples and the quadruple holding both "good" are skipped.
  EXPECT_EQ(two.search_size, 15);
  EXPECT_EQ(two.texts_tried, 15 - 2 - 1);
  // Locked: the first "good" stays, so nothing flips.
  const CounterfactualResult locked = run(t, "good film , good", "ablation-flip", {{"method", "occlusion"}}, {0});
  EXPECT_TRUE(locked.counterfactuals.empty());
  for (int32_t w : locked.positions) EXPECT_NE(w, 0);
}

TEST(Counterfactual, MlmEditsFillsComeFromTheMaskedLmsTopM) {
  const wltest::Tiny t = decisive_cnn();
  const char* mlm_config = R"({"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 10,
    "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
    "max_position_embeddings": 16, "hidden_dropout_prob": 0.0})";
  const ModelConfig cfg = parse_model_config(mlm_config, "test mlm config");
  auto mlm = make_model(cfg, random_checkpoint(cfg, 7));
  auto mtok = make_wordpiece_from_vocab_txt("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nfilm\nis\ngood\nbad\n",
                                            WordPieceOptions{}, "test mlm vocab.txt");
  CounterfactualRequest req;
  req.generator = "mlm-edits";
  req.options = {{"method", "occlusion"}, {"positions", "2"}, {"fills", "2"}};
  EXPECT_THROW(find_counterfactuals(*t.model, *t.tok, "the film is good", req), Error);  // no MLM given
  req.mlm = mlm.get();
  req.mlm_tokenizer = mtok.get();
  const std::string text = "the film is good";
  const CounterfactualResult r = find_counterfactuals(*t.model, *t.tok, text, req);
  expect_sound(t, r);
  ASSERT_EQ(r.positions.size(), 2u);
  EXPECT_EQ(r.positions[0], 3);  // "good" speaks for the prediction
  // The MLM's top 2 whole words at both masked words at once, computed here.
  Encoding enc = mtok->encode(text);
  for (int32_t w : r.positions) enc.ids[static_cast<size_t>(w) + 1] = mtok->special_tokens().mask_id;
  TokenBatch b;
  b.B = 1;
  b.T = static_cast<int>(enc.ids.size());
  b.ids = enc.ids;
  b.mask.assign(enc.ids.size(), 1);
  const BatchForward f = forward_batch(*mlm, b);
  const std::vector<std::string> words = {"the", "film", "is", "good"};
  for (size_t k = 0; k < r.positions.size(); ++k) {
    const int pos = r.positions[k] + 1;
    std::vector<std::pair<float, int>> cand;
    for (int v = 5; v < 10; ++v)
      if (mtok->id_to_token(v) != words[static_cast<size_t>(r.positions[k])])
        cand.push_back({-f.logits[static_cast<size_t>(pos) * 10 + v], v});
    std::sort(cand.begin(), cand.end());
    const std::vector<std::string> top = {mtok->id_to_token(cand[0].second), mtok->id_to_token(cand[1].second)};
    EXPECT_EQ(r.candidates[k], top) << "position " << k;
  }
  for (const Counterfactual& c : r.counterfactuals) {
    EXPECT_TRUE(c.has_fluency);
    EXPECT_LT(c.fluency, 0);
    for (const CounterfactualEdit& e : c.edits) {
      const auto it = std::find(r.positions.begin(), r.positions.end(), e.word);
      ASSERT_NE(it, r.positions.end());
      const auto& fills = r.candidates[static_cast<size_t>(it - r.positions.begin())];
      EXPECT_NE(std::find(fills.begin(), fills.end(), e.replacement), fills.end()) << e.replacement;
    }
  }
  EXPECT_EQ(r.search_size, 2 * 2 + 1 * 4);
  // With every whole word as a fill, "bad" is among them: a flip is found.
  req.options["fills"] = "4";
  const CounterfactualResult all = find_counterfactuals(*t.model, *t.tok, text, req);
  expect_sound(t, all);
  bool good_to_bad = false;
  for (const Counterfactual& c : all.counterfactuals) good_to_bad = good_to_bad || c.text == "the film is bad";
  EXPECT_TRUE(good_to_bad);
  // The cap stops the search and says so.
  req.options["max-evaluations"] = "3";
  const CounterfactualResult capped = find_counterfactuals(*t.model, *t.tok, "film is the", req);
  EXPECT_TRUE(capped.capped);
  EXPECT_EQ(capped.texts_tried, 3);
  EXPECT_NE(capped.notice.find("cap"), std::string::npos);
}

TEST(Counterfactual, HotFlipReplacesByWholeWordsOnTinyBert) {
  const char* bert = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
    "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
    "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 2})";
  const wltest::Tiny t = wltest::tiny_model(bert, 3);
  const CounterfactualResult r = run(t, "the film is unbelievable good", "hotflip");
  expect_sound(t, r);
  EXPECT_FALSE(r.candidates.empty());
  const std::set<std::string> whole = {"the", "film", "is", "un", "good"};
  for (const auto& c : r.candidates) {
    ASSERT_EQ(c.size(), 1u);
    EXPECT_TRUE(whole.count(c[0])) << c[0];
  }
  EXPECT_EQ(whole_word_text(*t.tok, t.tok->token_to_id("##able")), "");
  EXPECT_EQ(whole_word_text(*t.tok, t.tok->token_to_id("[MASK]")), "");
  EXPECT_EQ(whole_word_text(*t.tok, t.tok->token_to_id("good")), "good");
  EXPECT_LE(r.texts_tried, r.search_size);
}

TEST(Counterfactual, DeterministicWithProgressAndCancel) {
  const wltest::Tiny t = decisive_cnn();
  const CounterfactualResult a = run(t, "good film , good", "ablation-flip");
  const CounterfactualResult b = run(t, "good film , good", "ablation-flip");
  ASSERT_EQ(a.counterfactuals.size(), b.counterfactuals.size());
  for (size_t i = 0; i < a.counterfactuals.size(); ++i) EXPECT_EQ(a.counterfactuals[i].text, b.counterfactuals[i].text);
  CounterfactualRequest req;
  req.generator = "ablation-flip";
  req.options = {{"batch-size", "2"}};
  int64_t last = 0, calls = 0;
  req.control.progress = [&](int64_t done, int64_t total) {
    EXPECT_GE(done, last);
    EXPECT_LE(done, total);
    last = done;
    ++calls;
  };
  const CounterfactualResult p = find_counterfactuals(*t.model, *t.tok, "good film , good", req);
  EXPECT_GE(calls, 6);
  EXPECT_EQ(last, p.model_evaluations);
  std::atomic<bool> cancel{true};
  req.control.cancel = &cancel;
  EXPECT_THROW(find_counterfactuals(*t.model, *t.tok, "good film , good", req), Cancelled);
}

TEST(Counterfactual, OptionsAreChecked) {
  EXPECT_THROW(resolve_generator_options("hotflop", {}), Error);
  EXPECT_THROW(resolve_generator_options("hotflip", {{"steps", "3"}}), Error);
  EXPECT_THROW(resolve_generator_options("hotflip", {{"max-flips", "9"}}), Error);
  EXPECT_THROW(resolve_generator_options("ablation-flip", {{"method", "layer-relevance"}}), Error);
  EXPECT_EQ(resolve_generator_options("hotflip", {}).at("positions"), "10");
  EXPECT_EQ(resolve_generator_options("ablation-flip", {{"method", "lime"}}).at("method"), "lime");
  EXPECT_NE(counterfactual_generators_to_json().find("\"mlm-edits\""), std::string::npos);
}
