// predict_batch and explain_batch (issue 19, the data-set view's "Predict
// all" / "Explain all" in one call): on a tiny CNN, BiLSTM and BERT, texts
// of different lengths run through padded batches give each text the
// prediction predict() gives it alone, in the order given, whatever the
// batch size; a text without tokens gets its error and the others are
// still predicted; progress counts texts up to their number; a set cancel
// flag throws Cancelled; explain_batch gives each text explain()'s scores,
// refuses an unknown method once, and keeps a row's error to that row.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "tiny_models.h"
#include "wordlight/predict.h"

using namespace wordlight;

namespace {

const char* kCnn = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2], "num_labels": 2, "max_length": 16})";
const char* kBiLstm = R"({"model_type": "wordlight-bilstm", "vocab_size": 12, "embedding_dim": 8,
  "hidden_size": 6, "num_labels": 3, "max_length": 16, "id2label": {"0": "neg", "1": "neu", "2": "pos"}})";
const char* kBert = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 2})";

const std::vector<std::string> kTexts = {
    "the film is good",  "bad",          "the film is not a very good film , !", "   ",
    "good good bad the", "unbelievable", "is the film good ?",                   "film",
};

class PredictBatch : public ::testing::TestWithParam<const char*> {};

TEST_P(PredictBatch, EachTextAsPredictedAlone) {
  const wltest::Tiny t = wltest::tiny_model(GetParam(), 7);
  for (int batch_size : {1, 3, 16}) {
    std::vector<int64_t> seen;
    ExplainControl c;
    c.progress = [&](int64_t done, int64_t total) {
      EXPECT_EQ(total, static_cast<int64_t>(kTexts.size()));
      seen.push_back(done);
    };
    const std::vector<BatchPrediction> got = predict_batch(*t.model, *t.tok, kTexts, -1, batch_size, c);
    ASSERT_EQ(got.size(), kTexts.size());
    for (size_t i = 0; i < kTexts.size(); ++i) {
      SCOPED_TRACE(kTexts[i] + " at batch size " + std::to_string(batch_size));
      if (kTexts[i].find_first_not_of(' ') == std::string::npos) {
        EXPECT_FALSE(got[i].ok);
        EXPECT_NE(got[i].error.find("no tokens"), std::string::npos) << got[i].error;
        continue;
      }
      ASSERT_TRUE(got[i].ok) << got[i].error;
      const TextPrediction one = predict(*t.model, *t.tok, kTexts[i]);
      const Prediction& a = got[i].prediction.prediction;
      EXPECT_EQ(a.label, one.prediction.label);
      EXPECT_EQ(a.label_name, one.prediction.label_name);
      EXPECT_EQ(got[i].prediction.num_tokens, one.num_tokens);
      ASSERT_EQ(a.logits.size(), one.prediction.logits.size());
      for (size_t c2 = 0; c2 < a.logits.size(); ++c2) {
        EXPECT_NEAR(a.logits[c2], one.prediction.logits[c2], 1e-5 * (1 + std::abs(one.prediction.logits[c2])));
        EXPECT_NEAR(a.probabilities[c2], one.prediction.probabilities[c2], 1e-6);
      }
    }
    ASSERT_FALSE(seen.empty());
    for (size_t k = 1; k < seen.size(); ++k) EXPECT_GT(seen[k], seen[k - 1]);
    EXPECT_EQ(seen.back(), static_cast<int64_t>(kTexts.size()));
  }
}

TEST_P(PredictBatch, ExplainBatchIsExplainPerText) {
  const wltest::Tiny t = wltest::tiny_model(GetParam(), 11);
  ExplainRequest req;
  req.method = "gradient-x-input";
  int64_t last = 0;
  ExplainControl c;
  c.progress = [&](int64_t done, int64_t total) {
    EXPECT_EQ(done, last + 1);
    EXPECT_EQ(total, static_cast<int64_t>(kTexts.size()));
    last = done;
  };
  const std::vector<BatchExplanation> got = explain_batch(*t.model, *t.tok, kTexts, req, c);
  ASSERT_EQ(got.size(), kTexts.size());
  EXPECT_EQ(last, static_cast<int64_t>(kTexts.size()));
  for (size_t i = 0; i < kTexts.size(); ++i) {
    SCOPED_TRACE(kTexts[i]);
    if (kTexts[i].find_first_not_of(' ') == std::string::npos) {
      EXPECT_FALSE(got[i].ok);
      EXPECT_NE(got[i].error.find("no tokens"), std::string::npos) << got[i].error;
      continue;
    }
    ASSERT_TRUE(got[i].ok) << got[i].error;
    const Explanation one = explain(*t.model, *t.tok, kTexts[i], req);
    const Explanation& e = got[i].explanation;
    EXPECT_EQ(e.text, kTexts[i]);
    EXPECT_EQ(e.prediction.label, one.prediction.label);
    ASSERT_EQ(e.words.size(), one.words.size());
    for (size_t w = 0; w < e.words.size(); ++w) EXPECT_EQ(e.words[w].score, one.words[w].score);
  }
}

TEST_P(PredictBatch, DocumentVectorsSumScoredWordEmbeddings) {
  const wltest::Tiny t = wltest::tiny_model(GetParam(), 5);
  ExplainRequest req;
  req.method = "gradient-x-input";
  const std::vector<BatchExplanation> got = explain_batch(*t.model, *t.tok, kTexts, req, {}, true);
  const int D = t.model->embedding_dim();
  for (size_t i = 0; i < kTexts.size(); ++i) {
    if (!got[i].ok) continue;
    SCOPED_TRACE(kTexts[i]);
    const Explanation& e = got[i].explanation;
    // The embeddings of the text's tokens, one at a time.
    std::vector<double> expect(static_cast<size_t>(D), 0.0);
    for (const WordScore& w : e.words) {
      for (int32_t ti : w.tokens) {
        TokenBatch one;
        one.B = one.T = 1;
        one.ids = {e.tokens[static_cast<size_t>(ti)].id};
        one.mask = {1};
        std::vector<float> x(static_cast<size_t>(D));
        t.model->embed(one, x.data());
        for (int k = 0; k < D; ++k) expect[static_cast<size_t>(k)] += w.score * x[static_cast<size_t>(k)] / w.tokens.size();
      }
    }
    ASSERT_EQ(got[i].document_vector.size(), static_cast<size_t>(D));
    for (int k = 0; k < D; ++k)
      EXPECT_NEAR(got[i].document_vector[static_cast<size_t>(k)], expect[static_cast<size_t>(k)],
                  1e-9 + 1e-6 * std::abs(expect[static_cast<size_t>(k)]));
  }
  // Not asked: none.
  EXPECT_TRUE(explain_batch(*t.model, *t.tok, {"the film"}, req)[0].document_vector.empty());
}

INSTANTIATE_TEST_SUITE_P(Architectures, PredictBatch, ::testing::Values(kCnn, kBiLstm, kBert));

TEST(PredictBatchErrors, CancelAndRefusals) {
  const wltest::Tiny t = wltest::tiny_model(kBert, 3);
  std::atomic<bool> cancel{true};
  ExplainControl c;
  c.cancel = &cancel;
  EXPECT_THROW(predict_batch(*t.model, *t.tok, kTexts, -1, 4, c), Cancelled);
  ExplainRequest req;
  req.method = "gradient-x-input";
  EXPECT_THROW(explain_batch(*t.model, *t.tok, kTexts, req, c), Cancelled);
  // Cancelled by the progress of the first batch: no further batch runs.
  std::atomic<bool> later{false};
  ExplainControl c2;
  c2.cancel = &later;
  int calls = 0;
  c2.progress = [&](int64_t, int64_t) {
    ++calls;
    later.store(true);
  };
  EXPECT_THROW(predict_batch(*t.model, *t.tok, kTexts, -1, 2, c2), Cancelled);
  EXPECT_EQ(calls, 1);

  req.method = "no-such-method";
  EXPECT_THROW(explain_batch(*t.model, *t.tok, kTexts, req), Error);
  req.method = "gradient-x-input";
  req.target = 5;
  EXPECT_THROW(explain_batch(*t.model, *t.tok, kTexts, req), Error);
  EXPECT_TRUE(predict_batch(*t.model, *t.tok, {}).empty());
}

}  // namespace
