// Transformer checkpoints in the Hugging Face layout (BERT, DistilBERT,
// RoBERTa; classification and masked-LM heads; GPT-2's classifier and LM
// head) against an independent PyTorch implementation:
// tests/golden/make_transformers.py (make_gpt2.py for GPT-2) wrote tiny random
// checkpoints, the logits, and the gradient of the explained logit with
// respect to the input word embeddings.
#include <gtest/gtest.h>

#include <string>

#include "check_util.h"
#include "golden_util.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"

using namespace wordlight;
using wltest::all_close;

namespace {

std::string golden_dir(const std::string& name) { return wltest::golden_dir("transformers", name); }
using wltest::read_json;

void check_golden(const std::string& name, Backend be) {
  SCOPED_TRACE(name);
  const std::string dir = golden_dir(name);
  auto model = load_model_directory(dir).model;
  const auto gold = read_json(dir + "/golden.json");

  const TokenBatch batch = wltest::golden_batch(gold);
  const int D = model->embedding_dim();

  std::vector<float> emb(static_cast<size_t>(batch.B) * batch.T * D);
  model->embed(batch, emb.data());
  Graph<float> g(be);
  Var x = g.input(Shape{batch.B, batch.T, D}, emb.data());
  Var logits = model->forward(g, x, batch);

  const auto want_logits = gold["logits"].get<std::vector<double>>();
  std::vector<float> got(g.value(logits), g.value(logits) + g.numel(logits));
  // 1e-5 relative (the bar); the absolute floor covers logits near
  // zero, where float rounding of O(1) terms dominates.
  EXPECT_TRUE(all_close(got, want_logits, 1e-5, 2e-6)) << "logits";

  const auto target = gold["target"].get<std::vector<int32_t>>();
  Var scalar;
  if (g.shape(logits).rank == 2) {
    scalar = g.sum(g.pick(logits, target.data()));
  } else {
    const int64_t V = g.shape(logits)[2];
    scalar = g.sum(g.pick(g.reshape(g.slice(logits, 1, 1, 2), Shape{batch.B, V}), target.data()));
  }
  g.backward(scalar);
  const auto want_grad = gold["grad_word_embeddings"].get<std::vector<double>>();
  std::vector<float> grad(g.grad(x), g.grad(x) + g.numel(x));
  EXPECT_TRUE(all_close(grad, want_grad, 1e-4, 1e-5)) << "gradient w.r.t. word embeddings";
}

}  // namespace

class TransformerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TransformerGolden, LogitsAndGradientsMatchPyTorchFast) { check_golden(GetParam(), Backend::fast); }
TEST_P(TransformerGolden, LogitsAndGradientsMatchPyTorchReference) { check_golden(GetParam(), Backend::reference); }

INSTANTIATE_TEST_SUITE_P(Checkpoints, TransformerGolden,
                         ::testing::Values("bert-cls", "bert-mlm", "distilbert-cls", "distilbert-mlm", "roberta-cls",
                                           "roberta-mlm", "gpt2-cls", "gpt2-lm"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

TEST(TransformerModel, MissingAndMisshapedTensorsNameTheTensor) {
  const std::string dir = golden_dir("bert-cls");
  ModelConfig cfg = read_model_config_file(dir + "/config.json");
  SafetensorsFile st = load_safetensors_file(dir + "/model.safetensors");
  {
    SafetensorsFile broken = st;
    broken.tensors.erase("classifier.weight");
    EXPECT_ERROR_CONTAINS(make_model(cfg, broken), "missing tensor 'classifier.weight'");
  }
  {
    ModelConfig wrong = cfg;
    wrong.intermediate_size = 31;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st),
                          "tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape (32, 16), expected (31, 16)");
  }
  {
    ModelConfig wrong = cfg;
    wrong.hidden_act = "swish";
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "hidden_act 'swish' is not supported");
  }
  auto model = make_model(cfg, st);
  TokenBatch b;
  b.B = 1;
  b.T = 2;
  b.ids = {2, 999};
  b.mask = {1, 1};
  std::vector<float> e(2 * 16);
  EXPECT_ERROR_CONTAINS(model->embed(b, e.data()), "token id 999 at position 1 is outside the vocabulary of 32");
  b.T = 41;
  b.ids.assign(41, 5);
  b.mask.assign(41, 1);
  Graph<float> g;
  std::vector<float> big(41 * 16, 0.f);
  Var x = g.input(Shape{1, 41, 16}, big.data());
  EXPECT_ERROR_CONTAINS(model->forward(g, x, b), "41 tokens exceed the model's maximum of 40");
}
