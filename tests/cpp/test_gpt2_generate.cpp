// Generation (issue 21) on the tiny GPT-2 LM of
// tests/golden/transformers/gpt2-lm: the key/value cache gives the logits
// of a full recomputation at every position and the same tokens, greedy and
// sampled; sampling is seeded; stop tokens, stop strings, max new tokens,
// the model's last position and cancelling end it; GPT-2 trains (the
// Conv1D weights' gradients against finite differences, the causal-LM loss
// falls). Explaining generation: test_gpt2_explain_generation.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "check_util.h"
#include "golden_util.h"
#include "gpt2_test_util.h"
#include "wordlight/generate.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/pretrain.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

using namespace wordlight;

namespace {

using wltest::Lm;
using wltest::log_softmax_row;
Lm load_lm() { return wltest::load_golden_lm(); }

}  // namespace

TEST(Gpt2Decode, CacheGivesTheFullRecomputationsLogitsAtEveryPosition) {
  Lm l = load_lm();
  const int V = l.model->output_dim();
  const std::vector<int32_t> ids = {375, 300, 12, 301, 7, 302, 99, 303, 5, 304, 1, 2, 3};
  const std::vector<float> full = full_logits(*l.model, ids);
  // One token at a time, and in uneven chunks (4, 1, 5, 3).
  for (const std::vector<int>& chunks : {std::vector<int>(ids.size(), 1), std::vector<int>{4, 1, 5, 3}}) {
    auto dec = l.model->start_decoding();
    std::vector<float> logits(static_cast<size_t>(V));
    int at = 0;
    double worst = 0;
    for (int n : chunks) {
      dec->append(ids.data() + at, n, logits.data());
      at += n;
      ASSERT_EQ(dec->length(), at);
      for (int v = 0; v < V; ++v)
        worst = std::max(worst, std::fabs(double(logits[size_t(v)]) - full[size_t(at - 1) * V + size_t(v)]));
    }
    EXPECT_LT(worst, 2e-5) << chunks.size() << " chunks";
  }
  auto dec = l.model->start_decoding();
  std::vector<float> logits(static_cast<size_t>(V));
  const int32_t bad = V;
  EXPECT_ERROR_CONTAINS(dec->append(&bad, 1, logits.data()), "outside the vocabulary");
  std::vector<int32_t> many(25, 3);
  EXPECT_ERROR_CONTAINS(dec->append(many.data(), 25, logits.data()), "exceed the model's maximum of 24");
}

TEST(Gpt2Decode, GreedyAndSampledTokensEqualFullRecomputation) {
  Lm l = load_lm();
  const int V = l.model->output_dim();
  for (int sample = 0; sample < 2; ++sample) {
    GenerateOptions o;
    o.max_new_tokens = 12;
    o.ignore_eos = true;
    o.sample = sample == 1;
    o.seed = 7;
    o.temperature = 1.3;
    const Generation gen = generate(*l.model, *l.tok, "the movie was", o);
    ASSERT_EQ(gen.tokens.size(), 12u);
    EXPECT_EQ(gen.stopped_by, "max_new_tokens");
    EXPECT_TRUE(gen.bos);
    EXPECT_EQ(gen.prompt_ids[0], 375);
    const std::vector<int32_t> ids = gen.ids();
    const std::vector<float> full = full_logits(*l.model, ids);
    const size_t P = gen.prompt_ids.size();
    for (size_t t = 0; t < gen.tokens.size(); ++t) {
      const float* row = full.data() + (P + t - 1) * size_t(V);
      const std::vector<double> lp = log_softmax_row(row, V);
      if (!o.sample) EXPECT_EQ(gen.tokens[t].id, std::max_element(row, row + V) - row) << "token " << t;
      EXPECT_NEAR(gen.tokens[t].logprob, lp[size_t(gen.tokens[t].id)], 1e-4) << "token " << t;
      double h = 0;
      for (double x : lp) h -= std::exp(x) * x;
      EXPECT_NEAR(gen.tokens[t].entropy, h, 1e-4);
    }
  }
}

TEST(Gpt2Decode, SamplingIsSeededAndTopKTopPNarrowIt) {
  Lm l = load_lm();
  auto run = [&](uint64_t seed, int top_k, double top_p, double temperature) {
    GenerateOptions o;
    o.max_new_tokens = 10;
    o.ignore_eos = true;
    o.sample = true;
    o.seed = seed;
    o.top_k = top_k;
    o.top_p = top_p;
    o.temperature = temperature;
    std::vector<int32_t> ids;
    for (const GeneratedToken& t : generate(*l.model, *l.tok, "a film", o).tokens) ids.push_back(t.id);
    return ids;
  };
  GenerateOptions g;
  g.max_new_tokens = 10;
  g.ignore_eos = true;
  std::vector<int32_t> greedy;
  for (const GeneratedToken& t : generate(*l.model, *l.tok, "a film", g).tokens) greedy.push_back(t.id);
  EXPECT_EQ(run(3, 0, 1.0, 1.5), run(3, 0, 1.0, 1.5));
  std::set<std::vector<int32_t>> seen;
  for (uint64_t s = 0; s < 6; ++s) seen.insert(run(s, 0, 1.0, 1.5));
  EXPECT_GE(seen.size(), 2u);  // the tiny model is nearly uniform: seeds differ
  EXPECT_EQ(run(5, 1, 1.0, 1.5), greedy);     // top-k 1 is greedy
  EXPECT_EQ(run(5, 0, 1e-9, 1.5), greedy);    // so is the smallest nucleus
  EXPECT_EQ(run(5, 0, 1.0, 1e-4), greedy);    // and a temperature near 0
  GenerateOptions bad;
  bad.sample = true;
  bad.temperature = 0;
  EXPECT_ERROR_CONTAINS(generate(*l.model, *l.tok, "a", bad), "temperature must be positive");
  bad.temperature = 1;
  bad.top_p = 0;
  EXPECT_ERROR_CONTAINS(generate(*l.model, *l.tok, "a", bad), "top-p must be in (0, 1]");
}

TEST(Gpt2Decode, StopTokensStopStringsLimitsAndCancel) {
  Lm l = load_lm();
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.ignore_eos = true;
  const Generation ref = generate(*l.model, *l.tok, "the", o);
  ASSERT_EQ(ref.tokens.size(), 8u);
  GenerateOptions s = o;
  s.stop_ids = {ref.tokens[2].id};
  const Generation a = generate(*l.model, *l.tok, "the", s);
  size_t first = 0;
  while (ref.tokens[first].id != ref.tokens[2].id) ++first;
  EXPECT_EQ(a.tokens.size(), first + 1);
  EXPECT_EQ(a.stopped_by, "stop_id");
  GenerateOptions z = o;
  z.max_new_tokens = 0;
  EXPECT_TRUE(generate(*l.model, *l.tok, "the", z).tokens.empty());
  GenerateOptions c = o;
  c.on_token = [](int i, const GeneratedToken&) { return i < 1; };
  const Generation cb = generate(*l.model, *l.tok, "the", c);
  EXPECT_EQ(cb.tokens.size(), 2u);
  EXPECT_EQ(cb.stopped_by, "callback");
  std::atomic<bool> cancel{true};
  GenerateOptions k = o;
  k.cancel = &cancel;
  const Generation cancelled = generate(*l.model, *l.tok, "the", k);
  EXPECT_TRUE(cancelled.tokens.empty());
  EXPECT_EQ(cancelled.stopped_by, "cancelled");
  GenerateOptions m = o;
  m.max_new_tokens = 100;
  const Generation longest = generate(*l.model, *l.tok, "the", m);
  EXPECT_EQ(longest.stopped_by, "max_positions");
  // Every position holds a token the model read; the last token is predicted
  // from position 24 and never fed back.
  EXPECT_EQ(longest.prompt_ids.size() + longest.tokens.size(), 24u + 1u);
  // A stop string cuts the text before it.
  std::string joined;
  for (const GeneratedToken& t : ref.tokens) joined += t.text;
  GenerateOptions st = o;
  const std::string needle = ref.tokens[4].text;
  ASSERT_FALSE(needle.empty());
  st.stop = {needle};
  const Generation sg = generate(*l.model, *l.tok, "the", st);
  EXPECT_EQ(sg.stopped_by, "stop");
  EXPECT_EQ(sg.text, joined.substr(0, joined.find(needle)));
  EXPECT_ERROR_CONTAINS(generate(*l.model, *l.tok, "the", [] {
                          GenerateOptions b;
                          b.stop_ids = {100000};
                          return b;
                        }()),
                        "outside the vocabulary");
}

TEST(Gpt2Decode, ClassifiersCannotGenerate) {
  const std::string dir = wltest::golden_dir("transformers", "gpt2-cls");
  auto [model, tok] = load_model_directory(dir);
  EXPECT_ERROR_CONTAINS(generate(*model, *tok, "a", GenerateOptions{}), "not a causal language model");
  EXPECT_ERROR_CONTAINS(model->start_decoding(), "cannot generate");
}

// ---------------------------------------------------------------- training
TEST(Gpt2Train, Conv1DGradientsMatchFiniteDifferences) {
  Lm l = load_lm();
  MaskedLMTrainer tr(*l.model, AdamWOptions{});
  const Segments segs = {{375, 300, 12, 301, 7, 302}, {375, 9, 8, 7}};
  const MaskedLMBatch b = make_causal_batch(segs, {0, 1}, 0);
  ASSERT_EQ(b.positions.size(), 5u + 3u);
  tr.compute_gradients(b, 1);
  auto loss = [&] {
    Graph<float> g;
    const int D = l.model->embedding_dim();
    std::vector<float> emb(size_t(b.batch.B) * b.batch.T * D);
    l.model->embed(b.batch, emb.data());
    Var x = g.input(Shape{b.batch.B, b.batch.T, D}, emb.data(), false);
    return double(g.value(g.cross_entropy(l.model->forward_masked_lm(g, x, b.batch, b.positions), b.targets.data()))[0]);
  };
  int checked = 0;
  for (const Trainer::Slot& s : tr.slots()) {
    const bool conv = s.param.name.find("c_attn.weight") != std::string::npos ||
                      s.param.name.find("mlp.c_proj.weight") != std::string::npos || s.param.name == "transformer.wte.weight";
    if (!conv) continue;
    for (int64_t i : {int64_t{3}, s.param.numel() / 2 + 1, s.param.numel() - 2}) {
      float* w = s.param.data + i;
      const float w0 = *w, h = 1e-2f;
      *w = w0 + h;
      l.model->parameters_changed();
      const double up = loss();
      *w = w0 - h;
      l.model->parameters_changed();
      const double down = loss();
      *w = w0;
      l.model->parameters_changed();
      const double fd = (up - down) / (2 * h);
      EXPECT_NEAR(s.grad[size_t(i)], fd, 2e-3 + 2e-2 * std::fabs(fd)) << s.param.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * 5);  // two blocks' c_attn and mlp.c_proj, and wte (input and tied head)
}

TEST(Gpt2Train, CausalLmLossFallsOnARepeatedBatch) {
  Lm l = load_lm();
  MaskedLMTrainer tr(*l.model, AdamWOptions{});
  const Segments segs = {{375, 300, 12, 301, 7, 302, 375}, {375, 9, 8, 7, 6, 375}};
  const MaskedLMBatch b = make_causal_batch(segs, {0, 1}, 0);
  const double first = tr.step(b, 1e-2, 1.0, 1).loss;
  double last = first;
  for (int i = 0; i < 40; ++i) last = tr.step(b, 1e-2, 1.0, 1).loss;
  EXPECT_LT(last, 0.3 * first);
  const MaskedLMStats ev = evaluate_causal_lm(*l.model, segs, 8);
  EXPECT_EQ(ev.predicted, 6 + 5);
  EXPECT_LT(ev.loss, 0.3 * first);
}
