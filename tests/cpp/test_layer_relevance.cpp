// Neuron and layer relevance (core/src/explain/layer_relevance.cpp):
// - LRP-0 on the bias-free CNN conserves relevance through every layer: the
//   totals of "embeddings", "conv.0", "pooled" all equal the logit;
// - gradient x activation at the input layer is the gradient-x-input method;
// - rows normalised per layer (l1: sum |r| = 1; max-abs: max |r| = 1);
// - top neurons are sorted by |relevance| and really are the largest;
// - a neuron's gradient x activation at the input matches finite
//   differences of that neuron's activation (tiny BERT, every layer);
// - LRP-0 of a pooled CNN neuron sums to its activation (bias-free);
// - the BiLSTM's recurrent layers give one row entry per token, and the
//   neuron of a recurrent layer defaults to the state the classifier reads;
// - clear errors for a layer or neuron that does not exist.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "check_util.h"
#include "wordlight/explain.h"
#include "wordlight/graph.h"
#include "wordlight/model.h"
#include "tiny_models.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

const char* kCnnConfig = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [2], "num_labels": 2, "max_length": 16})";
const char* kBiLstmConfig = R"({"model_type": "wordlight-bilstm", "vocab_size": 12, "embedding_dim": 8,
  "hidden_size": 6, "num_labels": 2, "max_length": 16})";
const char* kBertConfig = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 2})";

using wltest::Tiny;
Tiny tiny(const char* config, uint64_t seed) { return wltest::tiny_model(config, seed); }

Explanation run(const Tiny& t, const std::string& text, const std::string& method, const std::string& options = "") {
  return wltest::explain_text(*t.model, *t.tok, text, method, options);
}

using wltest::error_of;

const LayerScores& layer(const Explanation& e, const std::string& name) {
  for (const LayerScores& l : e.layers)
    if (l.layer == name) return l;
  throw Error("no layer " + name);
}

// The activation of one neuron (summed over positions, or at `position`)
// of a marked layer for word embeddings `emb`, computed here from the
// graph's marks, independently of the method.
double neuron_activation(const Model& m, const std::vector<int32_t>& ids, const std::vector<float>& emb,
                         const std::string& name, int neuron) {
  const TokenBatch b = wltest::one_row(ids);
  Graph<float> g;
  Var x = g.input(Shape{1, b.T, m.embedding_dim()}, emb.data(), false);
  m.forward(g, x, b);
  for (const auto& mk : g.marks()) {
    if (mk.layer != name) continue;
    const int64_t C = g.shape(mk.v)[-1], P = g.numel(mk.v) / C;
    double s = 0;
    for (int64_t p = 0; p < P; ++p) s += g.value(mk.v)[p * C + neuron];
    return s;
  }
  throw Error("no mark " + name);
}

std::vector<float> embed(const Model& m, const std::vector<int32_t>& ids) { return wltest::embed_ids(m, ids); }

}  // namespace

TEST(LayerRelevance, LrpZeroConservesThroughEveryLayerOfTheBiasFreeCnn) {
  const Tiny t = tiny(kCnnConfig, 3);
  const Explanation e = run(t, "the film is not very good", "layer-relevance", "epsilon=0,normalise=none,top-k=3");
  ASSERT_EQ(e.layers.size(), 3u);
  EXPECT_EQ(e.layers[0].layer, "embeddings");
  EXPECT_EQ(e.layers[1].layer, "conv.0");
  EXPECT_EQ(e.layers[2].layer, "pooled");
  const double f = e.prediction.explained_value;
  ASSERT_GT(std::fabs(f), 1e-3);
  for (const LayerScores& l : e.layers) EXPECT_NEAR(l.total, f, 1e-4 * (1 + std::fabs(f))) << l.layer;
  // The input row is the token scores, and its sum is the output.
  double s = 0;
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    EXPECT_NEAR(e.layers[0].token_scores[i], e.tokens[i].score, 1e-9);
    s += e.tokens[i].score;
  }
  EXPECT_NEAR(s, f, 1e-4 * (1 + std::fabs(f)));
  EXPECT_TRUE(e.layers[1].token_scores.empty()) << "window positions are not tokens";
  EXPECT_TRUE(e.layers[2].token_scores.empty());
  EXPECT_EQ(e.layers[2].neurons, 6);
}

// Where the relevance goes, per layer: on the tiny BERT (a chain of layers)
// each layer's total is the previous one's plus what was absorbed between
// them (position and token-type embeddings into "embeddings", softmaxes,
// biases and epsilon into each block), the first layer's previous being the
// tokens' sum; the head's share is the output minus the last layer. The
// absorbed:* checks sum the same records by kind. gradient x activation
// conserves nothing and reports nothing absorbed.
TEST(LayerRelevance, AbsorbedPerLayerChainsTheLayersAndMatchesTheChecks) {
  const Tiny t = tiny(kBertConfig, 5);
  for (const std::string opts : {"normalise=none", "epsilon=0.05"}) {
    SCOPED_TRACE(opts);
    const Explanation e = run(t, "the film is not very good", "layer-relevance", opts);
    const double f = e.prediction.explained_value;
    ASSERT_EQ(e.layers.size(), 3u);  // embeddings, layer.0, layer.1
    double prev = 0, layers_absorbed = 0;
    for (const TokenScore& s : e.tokens) prev += s.score;
    for (const LayerScores& l : e.layers) {
      EXPECT_NEAR(l.total, prev + l.absorbed, 1e-7 * (1 + std::fabs(f))) << l.layer;
      prev = l.total;
      layers_absorbed += l.absorbed;
    }
    EXPECT_GT(std::fabs(e.layers[0].absorbed), 1e-7) << "position and token-type embeddings";
    EXPECT_GT(std::fabs(e.layers[1].absorbed), 1e-7) << "the softmax";
    double by_kind = 0;
    for (const ExplanationCheck& c : e.checks)
      if (c.name.rfind("absorbed:", 0) == 0 && c.name != "absorbed:special-tokens") by_kind += c.value;
    EXPECT_NEAR(layers_absorbed + (f - e.layers.back().total), by_kind, 1e-7 * (1 + std::fabs(f)));
  }
  const Explanation g = run(t, "the film is not very good", "layer-relevance", "mode=gradient-x-activation");
  for (const LayerScores& l : g.layers) EXPECT_EQ(l.absorbed, 0.0);
  for (const ExplanationCheck& c : g.checks) EXPECT_NE(c.name.rfind("absorbed:", 0), 0u);
}

// neuron-relevance with mode=lrp: the tokens and the absorbed:* checks sum
// to the neuron's activation.
TEST(NeuronRelevance, LrpTokensAndAbsorbedPartsSumToTheActivation) {
  const Tiny t = tiny(kBertConfig, 6);
  const Explanation e = run(t, "the film is not very good", "neuron-relevance", "layer=1,neuron=3");
  double tokens = 0, words = 0, absorbed = 0, gap = NAN;
  for (const TokenScore& s : e.tokens) tokens += s.score;
  for (const WordScore& w : e.words) words += w.score;
  for (const ExplanationCheck& c : e.checks) {
    if (c.name.rfind("absorbed:", 0) == 0) absorbed += c.value;
    if (c.name == "conservation-gap") gap = c.value;
  }
  // gap = tokens - activation; the special tokens' share is one of the checks
  const double activation = tokens - gap;
  EXPECT_NEAR(words + absorbed, activation, 1e-7 * (1 + std::fabs(activation)));
}

TEST(LayerRelevance, GradientTimesActivationAtTheInputIsGradientTimesInput) {
  const Tiny t = tiny(kBertConfig, 5);
  const std::string text = "the film is unbelievable good";
  const Explanation a = run(t, text, "layer-relevance", "mode=gradient-x-activation");
  const Explanation b = run(t, text, "gradient-x-input");
  ASSERT_EQ(a.tokens.size(), b.tokens.size());
  for (size_t i = 0; i < a.tokens.size(); ++i)
    EXPECT_NEAR(a.tokens[i].score, b.tokens[i].score, 1e-6 * (1 + std::fabs(b.tokens[i].score)));
  ASSERT_EQ(a.layers.size(), 3u);  // embeddings, layer.0, layer.1
  EXPECT_EQ(a.layers[1].layer, "layer.0");
  EXPECT_TRUE(a.checks.empty()) << "gradient x activation has no conservation to check";
}

TEST(LayerRelevance, RowsAreNormalisedAndTopNeuronsAreTheLargest) {
  const Tiny t = tiny(kBertConfig, 6);
  for (const std::string norm : {"l1", "max-abs"}) {
    const Explanation e = run(t, "the film is good", "layer-relevance", "top-k=4,normalise=" + norm);
    for (const LayerScores& l : e.layers) {
      ASSERT_EQ(l.token_scores.size(), e.tokens.size()) << l.layer;
      double sum = 0, mx = 0;
      for (double v : l.token_scores) {
        sum += std::fabs(v);
        mx = std::max(mx, std::fabs(v));
      }
      EXPECT_NEAR(norm == "l1" ? sum : mx, 1.0, 1e-9) << l.layer;
      ASSERT_EQ(l.top_neurons.size(), 4u);
      for (size_t k = 1; k < l.top_neurons.size(); ++k)
        EXPECT_GE(std::fabs(l.top_neurons[k - 1].score), std::fabs(l.top_neurons[k].score));
    }
  }
  // Top-k against a full listing: no neuron outside the top has a larger |score|.
  const Explanation all = run(t, "the film is good", "layer-relevance", "top-k=16");
  const Explanation top = run(t, "the film is good", "layer-relevance", "top-k=2");
  for (size_t l = 0; l < all.layers.size(); ++l) {
    ASSERT_EQ(all.layers[l].top_neurons.size(), 16u);
    EXPECT_EQ(top.layers[l].top_neurons[0].index, all.layers[l].top_neurons[0].index);
    EXPECT_EQ(top.layers[l].top_neurons[1].index, all.layers[l].top_neurons[1].index);
    double sum = 0;
    for (const NeuronScore& n : all.layers[l].top_neurons) sum += n.score;
    EXPECT_NEAR(sum, all.layers[l].total, 1e-6 * (1 + std::fabs(sum))) << "neuron scores add up to the layer's total";
  }
}

TEST(NeuronRelevance, GradientTimesActivationMatchesFiniteDifferencesOnEveryLayer) {
  const Tiny t = tiny(kBertConfig, 7);
  const std::string text = "the film is unbelievable";
  for (int li = 0; li < 3; ++li) {
    const int neuron = 3 + li;
    const Explanation e = run(t, text, "neuron-relevance",
                              "mode=gradient-x-activation,layer=" + std::to_string(li) +
                                  ",neuron=" + std::to_string(neuron));
    const std::string name = li == 0 ? "embeddings" : "layer." + std::to_string(li - 1);
    EXPECT_EQ(e.unit, name + " neuron " + std::to_string(neuron) + " (all positions)");
    std::vector<int32_t> ids;
    for (const TokenScore& ts : e.tokens) ids.push_back(ts.id);
    const std::vector<float> x = embed(*t.model, ids);
    const int D = t.model->embedding_dim();
    // sum_d x_td dA/dx_td is the derivative of A(x with x_t scaled by 1 + h) at h = 0.
    for (size_t tok = 0; tok < ids.size(); ++tok) {
      const double h = 1e-2;
      std::vector<float> up = x, dn = x;
      for (int d = 0; d < D; ++d) {
        up[tok * D + d] *= static_cast<float>(1 + h);
        dn[tok * D + d] *= static_cast<float>(1 - h);
      }
      const double fd = (neuron_activation(*t.model, ids, up, name, neuron) -
                         neuron_activation(*t.model, ids, dn, name, neuron)) /
                        (2 * h);
      EXPECT_NEAR(e.tokens[tok].score, fd, 2e-3 * (1 + std::fabs(fd))) << name << " token " << tok;
    }
    ASSERT_EQ(e.checks.size(), 1u);
    EXPECT_EQ(e.checks[0].name, "neuron-activation");
    EXPECT_NEAR(e.checks[0].value, neuron_activation(*t.model, ids, x, name, neuron), 1e-5);
  }
}

TEST(NeuronRelevance, LrpZeroOfAPooledCnnFilterSumsToItsActivation) {
  const Tiny t = tiny(kCnnConfig, 8);
  for (int neuron = 0; neuron < 6; ++neuron) {
    const Explanation e =
        run(t, "the film is not very good", "neuron-relevance", "epsilon=0,layer=-1,neuron=" + std::to_string(neuron));
    EXPECT_EQ(e.unit, "pooled neuron " + std::to_string(neuron));
    ASSERT_GE(e.checks.size(), 1u);
    EXPECT_EQ(e.checks[0].name, "conservation-gap");
    for (size_t k = 1; k < e.checks.size(); ++k) EXPECT_EQ(e.checks[k].name.rfind("absorbed:", 0), 0u);
    EXPECT_NEAR(e.checks[0].value, 0.0, 1e-5 * (1 + e.checks[0].reference)) << "neuron " << neuron;
    // A max-pooled filter reads one window of k = 2 words: at most two words get relevance.
    int nonzero = 0;
    for (const WordScore& w : e.words) nonzero += w.score != 0;
    EXPECT_LE(nonzero, 2);
  }
  // neuron=-1 picks the filter with the largest |relevance| for the prediction.
  const Explanation lr = run(t, "the film is not very good", "layer-relevance", "epsilon=0,top-k=1");
  const Explanation auto_pick = run(t, "the film is not very good", "neuron-relevance", "epsilon=0");
  EXPECT_EQ(auto_pick.unit, "pooled neuron " + std::to_string(layer(lr, "pooled").top_neurons.at(0).index));
}

TEST(NeuronRelevance, RecurrentLayersHaveOneEntryPerTokenAndReadTheFinalState) {
  const Tiny t = tiny(kBiLstmConfig, 9);
  const Explanation e = run(t, "the film is not good", "layer-relevance", "normalise=none");
  ASSERT_EQ(e.layers.size(), 3u);
  EXPECT_EQ(e.layers[1].layer, "lstm.forward");
  EXPECT_EQ(e.layers[2].layer, "lstm.backward");
  EXPECT_EQ(e.layers[1].token_scores.size(), e.tokens.size());
  EXPECT_EQ(e.layers[1].neurons, 6);
  // Forward direction: the classifier reads the state after the last token.
  const Explanation f = run(t, "the film is not good", "neuron-relevance", "layer=1,neuron=2");
  EXPECT_EQ(f.unit, "lstm.forward neuron 2 (position 4)");
  const Explanation b = run(t, "the film is not good", "neuron-relevance", "layer=2,neuron=2");
  EXPECT_EQ(b.unit, "lstm.backward neuron 2 (position 0)");
  // The forward state after token 1 depends on tokens 0 and 1 only.
  const Explanation early = run(t, "the film is not good", "neuron-relevance", "layer=1,neuron=2,position=1");
  for (size_t i = 2; i < early.tokens.size(); ++i) EXPECT_EQ(early.tokens[i].score, 0.0) << i;
  EXPECT_NE(early.tokens[0].score, 0.0);
}

TEST(NeuronRelevance, ErrorsNameTheLayersAndRanges) {
  const Tiny t = tiny(kCnnConfig, 10);
  const std::string e1 = error_of([&] { run(t, "the film", "neuron-relevance", "layer=7"); });
  EXPECT_NE(e1.find("layer 7 does not exist"), std::string::npos) << e1;
  EXPECT_NE(e1.find("0 embeddings, 1 conv.0, 2 pooled"), std::string::npos) << e1;
  const std::string e2 = error_of([&] { run(t, "the film", "neuron-relevance", "layer=2,neuron=6"); });
  EXPECT_NE(e2.find("pooled has 6 neurons (0..5), not 6"), std::string::npos) << e2;
  const std::string e3 = error_of([&] { run(t, "the film", "neuron-relevance", "layer=0,position=9"); });
  EXPECT_NE(e3.find("positions"), std::string::npos) << e3;
}
