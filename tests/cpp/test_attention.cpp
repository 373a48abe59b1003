// attention_probabilities() / text_attention() (issue 19, the page's
// attention view): on tiny random BERT, DistilBERT, RoBERTa and GPT-2 models,
// every real query's row sums to 1 in every layer and head, padding keys get
// 0, GPT-2's later keys get 0 (causal), a padded row's probabilities equal
// the row's alone, recording does not change the logits, one entry of the
// tiny BERT equals softmax(q k^T / sqrt(Dh)) computed by hand from its
// weights, CNNs are refused, and the JSON escapes the text's tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tiny_models.h"
#include "wordlight/attention.h"
#include "wordlight/predict.h"

using namespace wordlight;

namespace {

const char* kDistil = R"({"architectures":["DistilBertForSequenceClassification"],"model_type":"distilbert",
  "dim":16,"hidden_dim":32,"n_heads":4,"n_layers":2,"max_position_embeddings":16,"vocab_size":12})";
const char* kRoberta = R"({"architectures":["RobertaForSequenceClassification"],"model_type":"roberta",
  "hidden_size":16,"intermediate_size":32,"num_attention_heads":2,"num_hidden_layers":2,
  "max_position_embeddings":20,"vocab_size":12,"type_vocab_size":1,"pad_token_id":1})";
const char* kGpt2 = R"({"architectures":["GPT2ForSequenceClassification"],"model_type":"gpt2","vocab_size":12,
  "n_positions":16,"n_embd":16,"n_layer":2,"n_head":2,"pad_token_id":0,"num_labels":2})";

// Two rows: 6 real tokens, and 3 real tokens then padding.
TokenBatch two_rows(int32_t pad) {
  TokenBatch b;
  b.B = 2;
  b.T = 6;
  b.ids = {2, 5, 6, 7, 11, 3, 2, 6, 3, pad, pad, pad};
  b.mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  return b;
}

class Attention : public ::testing::TestWithParam<const char*> {};

TEST_P(Attention, RowsSumToOneAndMasksGiveZero) {
  const wltest::Tiny t = wltest::tiny_model(GetParam(), 11);
  const ModelConfig& cfg = t.model->config();
  const TokenBatch batch = two_rows(cfg.pad_token_id);
  const AttentionProbabilities a = attention_probabilities(*t.model, batch);
  ASSERT_EQ(a.layers, cfg.num_hidden_layers);
  ASSERT_EQ(a.heads, cfg.num_attention_heads);
  ASSERT_EQ(a.B, 2);
  ASSERT_EQ(a.T, 6);
  ASSERT_EQ(a.probs.size(), static_cast<size_t>(a.layers) * 2 * a.heads * 6 * 6);
  const bool causal = cfg.is_decoder();
  for (int l = 0; l < a.layers; ++l)
    for (int b = 0; b < 2; ++b)
      for (int h = 0; h < a.heads; ++h)
        for (int i = 0; i < 6; ++i) {
          if (!batch.mask[b * 6 + i]) continue;  // a padding query's row is not used
          double sum = 0;
          int nonzero = 0;
          for (int j = 0; j < 6; ++j) {
            const float p = a.at(l, b, h, i, j);
            EXPECT_GE(p, 0.f);
            sum += p;
            nonzero += p > 0;
            if (!batch.mask[b * 6 + j] || (causal && j > i)) {
              EXPECT_EQ(p, 0.f) << "layer " << l << " row " << b << " head " << h << " query " << i << " key " << j;
            }
          }
          EXPECT_NEAR(sum, 1.0, 1e-5) << "layer " << l << " row " << b << " head " << h << " query " << i;
          EXPECT_GE(nonzero, causal ? 1 : 2);  // random weights: not a one-hot row
        }

  // The padded row's real block equals the same tokens run alone.
  TokenBatch alone;
  alone.B = 1;
  alone.T = 3;
  alone.ids = {2, 6, 3};
  alone.mask = {1, 1, 1};
  const AttentionProbabilities s = attention_probabilities(*t.model, alone);
  for (int l = 0; l < a.layers; ++l)
    for (int h = 0; h < a.heads; ++h)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) EXPECT_NEAR(a.at(l, 1, h, i, j), s.at(l, 0, h, i, j), 1e-5);
}

TEST_P(Attention, RecordingLeavesTheForwardAlone) {
  const wltest::Tiny t = wltest::tiny_model(GetParam(), 12);
  const TokenBatch batch = two_rows(t.model->config().pad_token_id);
  const BatchForward before = forward_batch(*t.model, batch);
  (void)attention_probabilities(*t.model, batch);
  const BatchForward after = forward_batch(*t.model, batch);
  EXPECT_EQ(before.logits, after.logits);
}

INSTANTIATE_TEST_SUITE_P(Families, Attention, ::testing::Values(wltest::kTinyBert, kDistil, kRoberta, kGpt2));

// One entry by hand: layer 0, head 1, query 1 -> key 3 of the tiny BERT:
// x = LayerNorm(word + position + type 0) (gamma 1, beta 0 in
// random_checkpoint, but read from the model anyway), q = W_q x + b_q,
// k = W_k x + b_k, P = softmax_j(q_i . k_j / sqrt(Dh)) over head 1's columns.
TEST(AttentionByHand, TinyBertEntry) {
  const wltest::Tiny t = wltest::tiny_model(wltest::kTinyBert, 5);
  Model& m = *t.model;
  std::map<std::string, const float*> w;
  for (const ModelParameter& p : m.parameters()) w[p.name] = p.data;
  const std::vector<int32_t> ids = {2, 5, 6, 11, 3};
  const int T = 5, C = 16, H = 2, Dh = C / H;
  const std::string e = "bert.embeddings.", l0 = "bert.encoder.layer.0.attention.self.";
  ASSERT_TRUE(w.count(e + "word_embeddings.weight") && w.count(l0 + "query.weight")) << "tensor names changed";
  std::vector<std::vector<double>> x(T, std::vector<double>(C));
  for (int t0 = 0; t0 < T; ++t0) {
    double mean = 0, var = 0;
    for (int c = 0; c < C; ++c) {
      x[t0][c] = w[e + "word_embeddings.weight"][ids[t0] * C + c] + w[e + "position_embeddings.weight"][t0 * C + c] +
                 w[e + "token_type_embeddings.weight"][c];
      mean += x[t0][c] / C;
    }
    for (int c = 0; c < C; ++c) var += (x[t0][c] - mean) * (x[t0][c] - mean) / C;
    for (int c = 0; c < C; ++c)
      x[t0][c] = (x[t0][c] - mean) / std::sqrt(var + 1e-12) * w[e + "LayerNorm.weight"][c] + w[e + "LayerNorm.bias"][c];
  }
  auto project = [&](const std::string& name, int t0, int col) {
    double s = w[name + "bias"][col];
    for (int c = 0; c < C; ++c) s += w[name + "weight"][col * C + c] * x[t0][c];
    return s;
  };
  const int head = 1, qi = 1, kj = 3;
  std::vector<double> score(T);
  for (int j = 0; j < T; ++j) {
    double s = 0;
    for (int d = 0; d < Dh; ++d) s += project(l0 + "query.", qi, head * Dh + d) * project(l0 + "key.", j, head * Dh + d);
    score[j] = s / std::sqrt(static_cast<double>(Dh));
  }
  double z = 0;
  for (double s : score) z += std::exp(s);
  const double expected = std::exp(score[kj]) / z;

  const AttentionProbabilities a = attention_probabilities(m, wltest::one_row(ids));
  EXPECT_NEAR(a.at(0, 0, head, qi, kj), expected, 1e-5);
  EXPECT_GT(expected, 0.01);  // a real entry, not a masked one
}

TEST(Attention, RefusesModelsWithoutAttention) {
  const wltest::Tiny t = wltest::tiny_model(wltest::kTinyCnn, 3);
  try {
    (void)attention_probabilities(*t.model, wltest::one_row({2, 3, 4}));
    FAIL() << "a CNN has no attention";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no attention"), std::string::npos) << e.what();
  }
}

TEST(Attention, TextJsonKeepsTokensAndShape) {
  const wltest::Tiny t = wltest::tiny_model(wltest::kTinyBert, 4);
  const std::string text = "the <b>film</b> is unbelievable";
  const TextAttention a = text_attention(*t.model, *t.tok, text);
  ASSERT_EQ(a.T, static_cast<int>(a.tokens.size()));
  ASSERT_EQ(a.texts.size(), a.tokens.size());
  EXPECT_EQ(a.tokens.front(), "[CLS]");
  EXPECT_EQ(a.special.front(), 1);
  EXPECT_EQ(a.texts.front(), "");
  const nlohmann::json j = nlohmann::json::parse(text_attention_to_json(a));
  EXPECT_EQ(j["layers"], 1);
  EXPECT_EQ(j["heads"], 2);
  ASSERT_EQ(j["attention"].size(), 1u);
  ASSERT_EQ(j["attention"][0].size(), 2u);
  ASSERT_EQ(j["attention"][0][1].size(), static_cast<size_t>(a.T));
  EXPECT_NEAR(j["attention"][0][1][2][4].get<double>(), a.at(0, 1, 2, 4), 1e-6);
  bool saw_text = false;
  for (const auto& s : j["texts"]) saw_text = saw_text || s == "<";
  EXPECT_TRUE(saw_text) << "the text's '<' is a token's text as typed";
}

}  // namespace
