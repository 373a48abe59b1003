// VMASK (wordlight/vmask.h): the word-mask layer of wordlight-cnn and
// wordlight-bilstm ("vmask": {"hidden": H}). Its config key and tensors load
// and save; at inference the model reads p_keep x; the information-
// bottleneck penalty and its gradient against finite differences of an
// independent double-precision computation; the training loss's gradient
// against finite differences; hard Gumbel-softmax samples keep a word with
// probability p_keep; the beta schedule; LRP passes the mask by the gate
// rule (relevance conserved); and a tiny model trained here learns to keep
// the one informative word.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "check_util.h"
#include "tiny_models.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/safetensors.h"
#include "wordlight/train.h"
#include "wordlight/vmask.h"

using namespace wordlight;

namespace {

const char* kVmaskCnn = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2], "num_labels": 2, "max_length": 16, "vmask": {"hidden": 5}})";
const char* kPlainCnn = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2], "num_labels": 2, "max_length": 16})";
const char* kVmaskBiLstm = R"({"model_type": "wordlight-bilstm", "vocab_size": 12, "embedding_dim": 8,
  "hidden_size": 6, "num_labels": 3, "max_length": 16, "vmask": {"hidden": 4}})";

// A checkpoint whose biases are not zero (random_checkpoint's are), so
// that every term of the layer is exercised.
SafetensorsFile checkpoint_with_biases(const ModelConfig& cfg, uint64_t seed) {
  SafetensorsFile st = random_checkpoint(cfg, seed);
  std::mt19937_64 rng(seed + 99);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (const std::string& name : st.names)
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      for (float& v : st.tensors.at(name).values) v = u(rng);
    }
  return st;
}

std::vector<float> logits_of(const Model& m, const std::vector<float>& emb, const TokenBatch& b) {
  Graph<float> g;
  Var y = m.forward(g, g.input(Shape{b.B, b.T, m.embedding_dim()}, emb.data(), false), b);
  return std::vector<float>(g.value(y), g.value(y) + g.numel(y));
}

const ModelParameter& param(const std::vector<ModelParameter>& ps, const std::string& name) {
  for (const ModelParameter& p : ps)
    if (p.name == name) return p;
  throw Error("no parameter " + name);
}

// The mask in double, written from the reference code (mask_cnn_model.py):
// p = softmax(hidden2p(tanh(linear(x))))[keep], the penalty the mean over
// real tokens of p log p + (1 - p) log(1 - p).
struct RefMask {
  int D = 0, H = 0;
  std::vector<double> w1, b1, w2, b2;
  double keep(const double* x) const {
    double z[2] = {b2[0], b2[1]};
    for (int h = 0; h < H; ++h) {
      double a = b1[h];
      for (int d = 0; d < D; ++d) a += w1[h * D + d] * x[d];
      a = std::tanh(a);
      z[0] += w2[h] * a;
      z[1] += w2[H + h] * a;
    }
    const double m = std::max(z[0], z[1]);
    return std::exp(z[1] - m) / (std::exp(z[0] - m) + std::exp(z[1] - m));
  }
  double penalty(const std::vector<double>& x, const std::vector<uint8_t>& mask) const {
    double s = 0;
    int n = 0;
    for (size_t t = 0; t < mask.size(); ++t) {
      if (!mask[t]) continue;
      const double p = keep(x.data() + t * D);
      s += p * std::log(p) + (1 - p) * std::log(1 - p);
      ++n;
    }
    return s / n;
  }
};

RefMask ref_mask(Model& m) {
  const std::vector<ModelParameter> ps = m.parameters();
  RefMask r;
  const ModelParameter& w1 = param(ps, VmaskLayer::kLinearWeight);
  r.H = static_cast<int>(w1.shape[0]);
  r.D = static_cast<int>(w1.shape[1]);
  auto get = [&](const char* n) {
    const ModelParameter& p = param(ps, n);
    return std::vector<double>(p.data, p.data + p.numel());
  };
  r.w1 = get(VmaskLayer::kLinearWeight);
  r.b1 = get(VmaskLayer::kLinearBias);
  r.w2 = get(VmaskLayer::kOutWeight);
  r.b2 = get(VmaskLayer::kOutBias);
  return r;
}

// Two rows, the second padded: ids and mask.
TokenBatch two_rows() {
  TokenBatch b;
  b.B = 2;
  b.T = 5;
  b.ids = {2, 3, 4, 5, 9, 7, 6, 11, 0, 0};
  b.mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  return b;
}

}  // namespace

TEST(VmaskConfig, ParsesTheKeyAndRefusesBadForms) {
  EXPECT_EQ(parse_model_config(kVmaskCnn, "c").vmask_hidden, 5);
  EXPECT_EQ(parse_model_config(kPlainCnn, "c").vmask_hidden, 0);
  const std::string base = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
    "num_filters": 6, "kernel_size": 2, "num_labels": 2, "vmask": )";
  for (const char* bad : {"3", "{}", R"({"hidden": 0})", R"({"hidden": 4, "width": 2})", R"({"hidden": "4"})"})
    EXPECT_ERROR_CONTAINS(parse_model_config(base + bad + "}", "c"), "vmask");
}

TEST(VmaskModel, LoadsAndSavesTheLayerRoundTrip) {
  for (const char* json : {kVmaskCnn, kVmaskBiLstm}) {
    const ModelConfig cfg = parse_model_config(json, "test config");
    const SafetensorsFile st = checkpoint_with_biases(cfg, 3);
    auto model = make_model(cfg, st);
    ASSERT_NE(model->vmask(), nullptr);
    EXPECT_EQ(model->vmask()->hidden(), cfg.vmask_hidden);
    const std::vector<ModelParameter> ps = model->parameters();
    ASSERT_EQ(ps.size(), st.names.size());
    for (const char* n : {VmaskLayer::kLinearWeight, VmaskLayer::kLinearBias, VmaskLayer::kOutWeight,
                          VmaskLayer::kOutBias})
      EXPECT_EQ(std::vector<float>(param(ps, n).data, param(ps, n).data + param(ps, n).numel()), st.get(n).values)
          << n;
    EXPECT_EQ(param(ps, VmaskLayer::kLinearWeight).shape, (std::vector<int64_t>{cfg.vmask_hidden, 8}));
    EXPECT_EQ(param(ps, VmaskLayer::kOutWeight).shape, (std::vector<int64_t>{2, cfg.vmask_hidden}));
    // Written and read back: the same logits.
    const std::vector<uint8_t> bytes = write_safetensors(checkpoint_tensors(*model));
    auto again = make_model(cfg, load_safetensors(bytes.data(), bytes.size(), "round trip"));
    const TokenBatch b = two_rows();
    std::vector<float> emb(static_cast<size_t>(b.B) * b.T * 8);
    model->embed(b, emb.data());
    EXPECT_EQ(logits_of(*model, emb, b), logits_of(*again, emb, b)) << cfg.architecture;
    // A checkpoint without the layer's tensors is refused by name.
    SafetensorsFile plain;
    plain.source = "plain.safetensors";
    for (const std::string& n : st.names)
      if (n.rfind("vmask.", 0) != 0) {
        plain.names.push_back(n);
        plain.tensors[n] = st.get(n);
      }
    EXPECT_ERROR_CONTAINS(make_model(cfg, plain), "vmask.linear.weight");
  }
}

TEST(VmaskModel, InferenceReadsKeepProbabilityTimesTheEmbedding) {
  // The mask CNN on x equals the same CNN without the mask on p_keep x,
  // with p_keep from the double-precision reference.
  const ModelConfig cfg = parse_model_config(kVmaskCnn, "c");
  const SafetensorsFile st = checkpoint_with_biases(cfg, 7);
  auto masked = make_model(cfg, st);
  auto plain = make_model(parse_model_config(kPlainCnn, "c"), st);
  ASSERT_EQ(plain->vmask(), nullptr);
  const RefMask ref = ref_mask(*masked);
  const TokenBatch b = two_rows();
  std::vector<float> emb(static_cast<size_t>(b.B) * b.T * 8);
  masked->embed(b, emb.data());
  const std::vector<float> keep = vmask_keep_probabilities(*masked, emb, b);
  ASSERT_EQ(keep.size(), b.ids.size());
  std::vector<float> scaled(emb);
  for (size_t t = 0; t < keep.size(); ++t) {
    const std::vector<double> x(emb.begin() + t * 8, emb.begin() + (t + 1) * 8);
    const double p = ref.keep(x.data());
    EXPECT_NEAR(keep[t], p, 1e-6);
    EXPECT_GT(p, 0.0);
    EXPECT_LT(p, 1.0);
    for (int d = 0; d < 8; ++d) scaled[t * 8 + d] = static_cast<float>(emb[t * 8 + d] * p);
  }
  EXPECT_TRUE(wltest::all_close(wltest::to_double(logits_of(*masked, emb, b)), wltest::to_double(logits_of(*plain, scaled, b)), 1e-5, 1e-5)) << "mask CNN vs plain CNN on p x";
  EXPECT_ERROR_CONTAINS(vmask_keep_probabilities(*plain, emb, b), "no VMASK layer");
}

TEST(VmaskLoss, PenaltyAndItsGradientMatchFiniteDifferences) {
  const ModelConfig cfg = parse_model_config(kVmaskCnn, "c");
  auto model = make_model(cfg, checkpoint_with_biases(cfg, 11));
  const RefMask ref = ref_mask(*model);
  const TokenBatch b = two_rows();
  std::vector<float> emb(static_cast<size_t>(b.B) * b.T * 8);
  model->embed(b, emb.data());
  Graph<float> g;
  g.params_require_grad = true;
  Var x = g.input(Shape{b.B, b.T, 8}, emb.data(), true);
  Var pen = model->vmask()->penalty(g, x, b);
  g.backward(pen);
  const std::vector<double> x0 = wltest::to_double(emb);
  const double want = ref.penalty(x0, b.mask);
  EXPECT_NEAR(g.value(pen)[0], want, 1e-6);
  EXPECT_LT(want, 0.0);
  EXPECT_GT(want, -std::log(2.0));
  // d penalty / d x: padding gets exactly 0.
  const double h = 1e-6;
  std::vector<double> fd(x0.size());
  for (size_t i = 0; i < x0.size(); ++i) {
    std::vector<double> xp = x0, xm = x0;
    xp[i] += h;
    xm[i] -= h;
    fd[i] = (ref.penalty(xp, b.mask) - ref.penalty(xm, b.mask)) / (2 * h);
  }
  EXPECT_TRUE(wltest::all_close(wltest::to_double(std::vector<float>(g.grad(x), g.grad(x) + x0.size())), fd, 1e-4, 1e-4)) << "d penalty / d x";
  for (size_t i = 8 * 8; i < x0.size(); ++i) EXPECT_EQ(g.grad(x)[i], 0.f) << "padding position";
  // d penalty / d (each mask parameter).
  for (const ModelParameter& p : model->parameters()) {
    if (p.name.rfind("vmask.", 0) != 0) continue;
    std::vector<float> got(static_cast<size_t>(p.numel()), 0.f);
    ASSERT_TRUE(g.accumulate_parameter_grad(p.data, p.numel(), got.data())) << p.name;
    std::vector<double> want_g(got.size());
    for (int64_t k = 0; k < p.numel(); ++k) {
      RefMask rp = ref, rm = ref;
      std::vector<double>* vp = p.name == VmaskLayer::kLinearWeight ? &rp.w1
                                : p.name == VmaskLayer::kLinearBias ? &rp.b1
                                : p.name == VmaskLayer::kOutWeight  ? &rp.w2
                                                                    : &rp.b2;
      std::vector<double>* vm = p.name == VmaskLayer::kLinearWeight ? &rm.w1
                                : p.name == VmaskLayer::kLinearBias ? &rm.b1
                                : p.name == VmaskLayer::kOutWeight  ? &rm.w2
                                                                    : &rm.b2;
      (*vp)[k] += h;
      (*vm)[k] -= h;
      want_g[k] = (rp.penalty(x0, b.mask) - rm.penalty(x0, b.mask)) / (2 * h);
    }
    EXPECT_TRUE(wltest::all_close(wltest::to_double(got), want_g, 1e-4, 1e-4)) << p.name;
  }
}

TEST(VmaskLoss, TheTrainingObjectivesGradientMatchesFiniteDifferences) {
  // loss = CE(model at p x) + beta * penalty, in explanation mode (the
  // Gumbel samples of training have no derivative to check; their
  // straight-through gradient is the soft sample's, tested below): the
  // gradient the tape gives every mask parameter against central
  // differences of the same float computation.
  const ModelConfig cfg = parse_model_config(kVmaskCnn, "c");
  auto model = make_model(cfg, checkpoint_with_biases(cfg, 13));
  const TokenBatch b = two_rows();
  std::vector<float> emb(static_cast<size_t>(b.B) * b.T * 8);
  model->embed(b, emb.data());
  const std::vector<int32_t> labels{1, 0};
  const float beta = 0.7f;
  auto loss = [&](Graph<float>& g) {
    Var x = g.input(Shape{b.B, b.T, 8}, emb.data(), false);
    Var ce = g.cross_entropy(model->forward(g, x, b), labels.data());
    return g.add(ce, g.scale(model->vmask()->penalty(g, x, b), beta));
  };
  Graph<float> g;
  g.params_require_grad = true;
  Var l = loss(g);
  g.backward(l);
  for (ModelParameter p : model->parameters()) {
    if (p.name.rfind("vmask.", 0) != 0) continue;
    std::vector<float> got(static_cast<size_t>(p.numel()), 0.f);
    ASSERT_TRUE(g.accumulate_parameter_grad(p.data, p.numel(), got.data())) << p.name;
    std::vector<double> fd(got.size());
    const float h = 1e-2f;
    for (int64_t k = 0; k < p.numel(); ++k) {
      const float keep = p.data[k];
      double f[2];
      for (int s = 0; s < 2; ++s) {
        p.data[k] = keep + (s ? -h : h);
        model->parameters_changed();
        Graph<float> gf;
        f[s] = gf.value(loss(gf))[0];
      }
      p.data[k] = keep;
      model->parameters_changed();
      fd[k] = (f[0] - f[1]) / (2.0 * h);
    }
    EXPECT_TRUE(wltest::all_close(wltest::to_double(got), fd, 2e-2, 2e-2)) << p.name;
  }
}

TEST(VmaskTraining, HardGumbelSamplesKeepAWordWithProbabilityPKeep) {
  const ModelConfig cfg = parse_model_config(kVmaskCnn, "c");
  auto model = make_model(cfg, checkpoint_with_biases(cfg, 17));
  const TokenBatch b = wltest::one_row({2, 5, 6, 9});
  std::vector<float> emb(4 * 8);
  model->embed(b, emb.data());
  const std::vector<float> keep = vmask_keep_probabilities(*model, emb, b);
  const int N = 4000;
  std::vector<int> kept(4, 0);
  for (int n = 0; n < N; ++n) {
    Graph<float> g;
    g.training = true;
    g.set_dropout_seed(static_cast<uint64_t>(n) * 7 + 1);
    Var x = g.input(Shape{1, 4, 8}, emb.data(), false);
    Var y = model->vmask()->apply(g, x);
    const float* v = g.value(y);
    for (int t = 0; t < 4; ++t) {
      // r is 0 or 1 exactly: the word whole or nothing.
      const bool whole = std::equal(v + t * 8, v + t * 8 + 8, emb.begin() + t * 8);
      const bool none = std::all_of(v + t * 8, v + t * 8 + 8, [](float f) { return f == 0.f; });
      ASSERT_TRUE(whole || none) << "token " << t;
      kept[t] += whole;
    }
  }
  for (int t = 0; t < 4; ++t) {
    const double p = keep[t], sd = std::sqrt(p * (1 - p) / N);
    EXPECT_NEAR(static_cast<double>(kept[t]) / N, p, 5 * sd + 1e-3) << "token " << t;
  }
  // The straight-through gradient: d sum(x') / d x at a sample is r (the
  // signal) plus the soft sample's derivative through the mask network,
  // which is not zero (the mask learns through it).
  Graph<float> g;
  g.training = true;
  g.params_require_grad = true;
  g.set_dropout_seed(5);
  Var x = g.input(Shape{1, 4, 8}, emb.data(), false);
  g.backward(g.sum(model->vmask()->apply(g, x)));
  const std::vector<ModelParameter> ps = model->parameters();
  const ModelParameter& w2 = param(ps, VmaskLayer::kOutWeight);
  std::vector<float> gw(static_cast<size_t>(w2.numel()), 0.f);
  ASSERT_TRUE(g.accumulate_parameter_grad(w2.data, w2.numel(), gw.data()));
  EXPECT_GT(std::fabs(gw[0]) + std::fabs(gw[w2.numel() - 1]), 1e-6);
}

TEST(VmaskTraining, BetaScheduleFollowsTheReference) {
  TrainOptions o;  // the reference's: 1, -0.099 every 10 epochs while > 0.01
  EXPECT_DOUBLE_EQ(vmask_beta_at(1, o), 1.0);
  EXPECT_DOUBLE_EQ(vmask_beta_at(10, o), 1.0);
  EXPECT_NEAR(vmask_beta_at(11, o), 0.901, 1e-12);
  EXPECT_NEAR(vmask_beta_at(21, o), 0.802, 1e-12);
  EXPECT_NEAR(vmask_beta_at(100, o), 0.109, 1e-12);
  EXPECT_NEAR(vmask_beta_at(101, o), 0.01, 1e-12);
  EXPECT_NEAR(vmask_beta_at(500, o), 0.01, 1e-12);  // never below the minimum
  o.vmask_beta_every = 1;
  o.vmask_beta_step = 0.33;
  EXPECT_NEAR(vmask_beta_at(2, o), 0.67, 1e-12);
  EXPECT_NEAR(vmask_beta_at(4, o), 0.01, 1e-12);
}

TEST(VmaskLrp, RelevancePassesTheMaskByTheGateRuleAndIsConserved) {
  // Zero biases and epsilon 0: LRP conserves the logit exactly through the
  // convolutions (tape) and the LSTMs (the explicit pass) only if the mask
  // passes relevance by the gate rule; the gradient rule would count the
  // mask network's share twice.
  for (const char* json : {kVmaskCnn, kVmaskBiLstm}) {
    wltest::Tiny t = wltest::tiny_model(json, 23);
    ASSERT_NE(t.model->vmask(), nullptr);
    const Explanation e = wltest::explain_text(*t.model, *t.tok, "the film is not very good !", "lrp", "epsilon=0");
    double sum = 0;
    for (const TokenScore& s : e.tokens) sum += s.score;
    EXPECT_NEAR(sum, e.prediction.explained_value, 1e-5 * (1 + std::fabs(e.prediction.explained_value))) << json;
  }
  // And the mask CNN's relevance of x is the plain CNN's relevance of p x.
  const ModelConfig cfg = parse_model_config(kVmaskCnn, "c");
  const SafetensorsFile st = checkpoint_with_biases(cfg, 29);
  auto masked = make_model(cfg, st);
  auto plain = make_model(parse_model_config(kPlainCnn, "c"), st);
  const TokenBatch b = wltest::one_row({2, 3, 4, 7, 5, 11});
  std::vector<float> emb(6 * 8);
  masked->embed(b, emb.data());
  const std::vector<float> keep = vmask_keep_probabilities(*masked, emb, b);
  std::vector<float> scaled(emb);
  for (size_t i = 0; i < scaled.size(); ++i) scaled[i] *= keep[i / 8];
  LrpOptions o = LrpOptions::all_gradient();
  o.set({OpKind::conv1d, OpKind::linear}, LrpRule::epsilon);
  o.set({OpKind::unary}, LrpRule::identity);
  o.set({OpKind::binary}, LrpRule::gate);
  o.epsilon = 0.01;
  auto relevance = [&](const Model& m, const std::vector<float>& in) {
    Graph<float> g;
    Var x = g.input(Shape{1, 6, 8}, in.data(), true);
    Var y = m.forward(g, x, b);
    const float seed[2] = {0.f, 1.f};
    g.lrp_backward(y, o, seed);
    std::vector<double> r(6, 0.0);
    for (size_t i = 0; i < in.size(); ++i) r[i / 8] += static_cast<double>(in[i]) * g.grad(x)[i];
    return r;
  };
  EXPECT_TRUE(wltest::all_close(relevance(*masked, emb), relevance(*plain, scaled), 1e-5, 1e-5)) << "R(x) on the mask CNN = R(p x)";
}

TEST(VmaskTraining, ATinyModelLearnsToKeepTheInformativeWord) {
  // Texts of 3..6 filler words with "good" (label 1) or "bad" (label 0) at
  // a random place; the fillers say nothing about the label. While
  // training, a dropped informative word costs the prediction and a dropped
  // filler nothing: the mask learns to keep the informative word, and the
  // information bottleneck leaves the fillers near 1/2. With two classes
  // the CNN makes one of them its default (max-pooled ReLU features detect
  // the other word), so only that other word must be kept: the test asks
  // for the better kept of "good" and "bad".
  wltest::Tiny t = wltest::tiny_model(R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
    "num_filters": 8, "kernel_size": [1], "num_labels": 2, "max_length": 16, "vmask": {"hidden": 8}})", 31);
  const std::vector<int32_t> fillers{2, 3, 4, 7, 8, 9, 10, 11};
  std::mt19937_64 rng(5);
  auto make = [&](size_t n) {
    EncodedSet s;
    for (size_t i = 0; i < n; ++i) {
      std::vector<int32_t> ids;
      const size_t len = 3 + rng() % 4;
      for (size_t k = 0; k < len; ++k) ids.push_back(fillers[rng() % fillers.size()]);
      const int label = static_cast<int>(rng() % 2);
      ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(rng() % (len + 1)), label == 1 ? 5 : 6);
      s.ids.push_back(ids);
      s.labels.push_back(label);
    }
    return s;
  };
  const EncodedSet train = make(2000), dev = make(200);
  TrainOptions o;
  o.epochs = 6;
  o.batch_size = 16;
  o.lr = 1e-2;
  o.seed = 3;
  // A constant beta of 0.1: at 1 the bottleneck holds every p_keep at 1/2
  // on this task (CE's gain from keeping one word of ~5 is smaller than
  // the penalty's per-token mean); the reference anneals to 0.01.
  o.vmask_beta = 0.1;
  o.vmask_beta_every = 0;
  const TrainResult r = train_classifier(*t.model, train, &dev, o);
  EXPECT_GE(r.best_dev_accuracy, 0.98);
  // p_keep of every word in its own one-word context: the informative
  // words above every filler.
  std::vector<float> keep(12);
  for (int32_t id = 2; id < 12; ++id) {
    const TokenBatch b = wltest::one_row({id});
    std::vector<float> emb(8);
    t.model->embed(b, emb.data());
    keep[id] = vmask_keep_probabilities(*t.model, emb, b)[0];
  }
  float best_filler = 0;
  for (int32_t id : fillers) best_filler = std::max(best_filler, keep[id]);
  EXPECT_GT(std::max(keep[5], keep[6]), 0.9f);
  EXPECT_GT(std::max(keep[5], keep[6]), best_filler + 0.2f)
      << "good " << keep[5] << ", bad " << keep[6] << ", best filler " << best_filler;
}

TEST(VmaskMethod, ScoresAreTheKeepProbabilitiesAndApplyOnlyWithTheLayer) {
  wltest::Tiny t = wltest::tiny_model(kVmaskCnn, 37);
  const Explanation e = wltest::explain_text(*t.model, *t.tok, "the film is not very good !", "vmask");
  std::vector<int32_t> ids;
  for (const TokenScore& s : e.tokens) ids.push_back(s.id);
  const TokenBatch b = wltest::one_row(ids);
  std::vector<float> emb(ids.size() * 8);
  t.model->embed(b, emb.data());
  const std::vector<float> keep = vmask_keep_probabilities(*t.model, emb, b);
  ASSERT_EQ(e.tokens.size(), keep.size());
  for (size_t k = 0; k < keep.size(); ++k) EXPECT_NEAR(e.tokens[k].score, keep[k], 1e-7);
  EXPECT_NE(wltest::find_check(e, "hard-mask-change"), nullptr);
  // The same scores whatever class is explained: the mask comes before the classifier.
  const Explanation other = wltest::explain_text(*t.model, *t.tok, "the film is not very good !", "vmask", "",
                                                 1 - e.prediction.target);
  for (size_t k = 0; k < keep.size(); ++k) EXPECT_EQ(other.tokens[k].score, e.tokens[k].score);
  // A model without the layer: the registry says why, explain() refuses.
  wltest::Tiny plain = wltest::tiny_model(kPlainCnn, 37);
  const MethodInfo& m = method_info("vmask");
  std::string why;
  EXPECT_FALSE(method_applies(m, *plain.model, &why));
  EXPECT_NE(why.find("VMASK"), std::string::npos) << why;
  EXPECT_TRUE(method_applies(m, *t.model, &why));
  EXPECT_ERROR_CONTAINS(wltest::explain_text(*plain.model, *plain.tok, "the film is good", "vmask"), "vmask");
  // And every other method runs on the mask model (the layer is part of its forward).
  for (const char* other_method : {"gradient", "integrated-gradients", "occlusion", "lime"})
    EXPECT_NO_THROW(wltest::explain_text(*t.model, *t.tok, "the film is good", other_method)) << other_method;
}
