// Our own architectures, wordlight-cnn and wordlight-bilstm, against an
// independent PyTorch implementation: tests/golden/make_ours.py wrote tiny
// random checkpoints, the logits, and the gradient of the explained logit
// with respect to the input word embeddings, computing each text on its own
// and unpadded (so the golden values check our padding semantics too).
// Then: padded batches against single texts, second derivatives (zero for
// the piecewise-linear CNN, exact against finite differences for the
// BiLSTM), and the errors of broken checkpoints and configs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "check_util.h"
#include "golden_util.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"

using namespace wordlight;
using wltest::all_close;

namespace {

std::string golden_dir(const std::string& name) { return wltest::golden_dir("ours", name); }
using wltest::golden_batch;
using wltest::read_json;

// Texts given by their real tokens, right-padded with id 0 to `T` (at least
// the longest text).
TokenBatch pad_texts(const std::vector<std::vector<int32_t>>& texts, int T) {
  TokenBatch b;
  b.B = static_cast<int>(texts.size());
  b.T = T;
  for (const auto& t : texts) {
    for (int i = 0; i < T; ++i) {
      const bool real = i < static_cast<int>(t.size());
      b.ids.push_back(real ? t[i] : 0);
      b.mask.push_back(real ? 1 : 0);
    }
  }
  return b;
}

struct Result {
  std::vector<float> logits;  // (B, L)
  std::vector<float> grad;    // (B, T, D): d sum_b logits[b, target[b]] / d word embeddings
};

// Runs the model on word embeddings `emb` (B, T, D) and differentiates
// sum_b logits[b, target[b]].
Result run(const Model& model, const TokenBatch& batch, const std::vector<float>& emb,
           const std::vector<int32_t>& target, Backend be) {
  Graph<float> g(be);
  Var x = g.input(Shape{batch.B, batch.T, model.embedding_dim()}, emb.data());
  Var logits = model.forward(g, x, batch);
  EXPECT_EQ(g.shape(logits), (Shape{batch.B, model.output_dim()}));
  g.backward(g.sum(g.pick(logits, target.data())));
  Result r;
  r.logits.assign(g.value(logits), g.value(logits) + g.numel(logits));
  r.grad.assign(g.grad(x), g.grad(x) + g.numel(x));
  return r;
}

std::vector<float> embed(const Model& model, const TokenBatch& batch) {
  std::vector<float> e(static_cast<size_t>(batch.B) * batch.T * model.embedding_dim());
  model.embed(batch, e.data());
  return e;
}

void check_golden(const std::string& name, Backend be) {
  SCOPED_TRACE(name);
  const std::string dir = golden_dir(name);
  auto model = load_model_directory(dir).model;
  const auto gold = read_json(dir + "/golden.json");
  const TokenBatch batch = golden_batch(gold);
  const auto target = gold["target"].get<std::vector<int32_t>>();
  const Result r = run(*model, batch, embed(*model, batch), target, be);
  // The bars of the transformer goldens: 1e-5 relative for logits, 1e-4 for
  // gradients, with absolute floors for values near zero.
  EXPECT_TRUE(all_close(r.logits, gold["logits"].get<std::vector<double>>(), 1e-5, 2e-6)) << "logits";
  EXPECT_TRUE(all_close(r.grad, gold["grad_word_embeddings"].get<std::vector<double>>(), 1e-4, 1e-5))
      << "gradient w.r.t. word embeddings";
}

// Runs the batch, then each text alone and unpadded, and expects the same
// logits and gradients; gradients at padding positions must be exactly 0.
// The padding positions' embeddings are set to noise first: the models must
// ignore whatever the caller puts there.
void check_padded_equals_single(const std::string& name, const std::vector<std::vector<int32_t>>& texts, int T,
                                Backend be) {
  SCOPED_TRACE(name);
  auto model = load_model_directory(golden_dir(name)).model;
  const int D = model->embedding_dim(), L = model->output_dim();
  const TokenBatch batch = pad_texts(texts, T);
  std::vector<float> emb = embed(*model, batch);
  const std::vector<float> noise = wltest::random_vecf(emb.size(), 77, -3.f, 3.f);
  for (size_t i = 0; i < batch.mask.size(); ++i)
    if (!batch.mask[i]) std::copy(noise.begin() + i * D, noise.begin() + (i + 1) * D, emb.begin() + i * D);
  std::vector<int32_t> target(batch.B);
  for (int b = 0; b < batch.B; ++b) target[b] = b % L;
  const Result all = run(*model, batch, emb, target, be);

  for (int b = 0; b < batch.B; ++b) {
    SCOPED_TRACE("text " + std::to_string(b));
    const int n = static_cast<int>(texts[b].size());
    const TokenBatch one = pad_texts({texts[b]}, n);
    const Result single = run(*model, one, embed(*model, one), {target[b]}, be);
    const std::vector<float> logits(all.logits.begin() + b * L, all.logits.begin() + (b + 1) * L);
    // Not bit-identical: a GEMM over B rows may sum in another order than
    // over 1 row; float rounding of O(1) values.
    EXPECT_TRUE(all_close(logits, single.logits, 1e-5, 1e-6)) << "logits";
    const auto row = all.grad.begin() + static_cast<size_t>(b) * T * D;
    EXPECT_TRUE(all_close(std::vector<float>(row, row + n * D), single.grad, 1e-5, 1e-6)) << "gradient";
    for (size_t i = static_cast<size_t>(n) * D; i < static_cast<size_t>(T) * D; ++i)
      ASSERT_EQ(row[i], 0.f) << "gradient at padding position " << i / D;
  }
}

// The explained scalar of a fresh forward pass at emb: sum_b logits[b, target[b]].
struct Explained {
  Graph<float> g;
  Var x, logits, y;
  Explained(const Model& model, const TokenBatch& batch, const std::vector<float>& emb,
            const std::vector<int32_t>& target, Backend be)
      : g(be) {
    x = g.input(Shape{batch.B, batch.T, model.embedding_dim()}, emb.data());
    logits = model.forward(g, x, batch);
    y = g.sum(g.pick(logits, target.data()));
  }
};

std::vector<float> logits_at(const Model& model, const TokenBatch& batch, const std::vector<float>& emb, Backend be) {
  Graph<float> g(be);
  Var x = g.input(Shape{batch.B, batch.T, model.embedding_dim()}, emb.data());
  Var l = model.forward(g, x, batch);
  return std::vector<float>(g.value(l), g.value(l) + g.numel(l));
}

std::vector<float> axpy(const std::vector<float>& x, float a, const float* v) {
  std::vector<float> r(x);
  for (size_t i = 0; i < r.size(); ++i) r[i] += a * v[i];
  return r;
}

const std::vector<Backend> kBackends = {Backend::fast, Backend::reference};

}  // namespace

// ------------------------------------------------------------------ golden

class OursGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(OursGolden, LogitsAndGradientsMatchPyTorchFast) { check_golden(GetParam(), Backend::fast); }
TEST_P(OursGolden, LogitsAndGradientsMatchPyTorchReference) { check_golden(GetParam(), Backend::reference); }

INSTANTIATE_TEST_SUITE_P(Checkpoints, OursGolden, ::testing::Values("cnn", "bilstm"));

// ------------------------------------------------------------------ padding

// Texts of 7, 2 and 1 tokens: the shorter two are shorter than the CNN's
// widest kernel (3), padded by 5 and 6 positions and by 2 more on top.
const std::vector<std::vector<int32_t>> kTexts = {{2, 3, 4, 7, 8, 5, 25}, {17, 9}, {12}};

TEST(WordlightCnn, PaddedBatchEqualsSingleTexts) {
  for (Backend be : kBackends) {
    check_padded_equals_single("cnn", kTexts, 7, be);
    check_padded_equals_single("cnn", kTexts, 9, be);
  }
}

TEST(WordlightBiLstm, PaddedBatchEqualsSingleTexts) {
  for (Backend be : kBackends) {
    check_padded_equals_single("bilstm", kTexts, 7, be);
    check_padded_equals_single("bilstm", kTexts, 9, be);
  }
}

// ------------------------------------------------------------------ second derivatives

// Convolution, max-pooling, concatenation and the classifier are linear in
// the embeddings where the argmax and the ReLU pattern are fixed, so the
// Hessian of a logit is exactly zero. To show that the zero comes from the
// model and not from HVP machinery that does nothing on this graph, the same
// tape also gives the HVP of the smooth y2 = sum(logits^2), which must equal
// 2 J^T (J v), with J v taken by finite differences of the forward pass
// (exact up to rounding on this locally linear function) and J^T u by the
// backward pass.
TEST(WordlightCnn, ReluCnnHasZeroHessianVectorProducts) {
  auto model = load_model_directory(golden_dir("cnn")).model;
  const TokenBatch batch = pad_texts(kTexts, 7);
  const std::vector<float> emb = embed(*model, batch);
  const int K = 2;
  const int64_t n = static_cast<int64_t>(emb.size());
  for (Backend be : kBackends) {
    SCOPED_TRACE(be == Backend::fast ? "fast" : "reference");
    Explained e(*model, batch, emb, {0, 1, 2}, be);
    Graph<float>& g = e.g;
    const std::vector<float> V = wltest::random_vecf(K * n, 5);
    std::vector<float> HV(K * n, 1.f), grad(n);
    hessian_vector_products(g, e.y, e.x, K, V.data(), HV.data(), grad.data());
    EXPECT_GT(std::count_if(grad.begin(), grad.end(), [](float v) { return v != 0.f; }), n / 4)
        << "the gradient must flow";
    for (int64_t i = 0; i < K * n; ++i) ASSERT_EQ(HV[i], 0.f) << "HV entry " << i;

    Var y2 = g.sum(g.mul(e.logits, e.logits));
    std::vector<float> HV2(K * n);
    hessian_vector_products(g, y2, e.x, K, V.data(), HV2.data());
    const int64_t nl = g.numel(e.logits);
    // The forward tangent on the tape is J v (K, B, L); copied before the
    // backward passes below reuse the tape.
    const std::vector<float> jv_tape(g.tangent(e.logits), g.tangent(e.logits) + K * nl);
    for (int k = 0; k < K; ++k) {
      SCOPED_TRACE("direction " + std::to_string(k));
      // Small enough that no ReLU or argmax flips for these directions (the
      // check below would catch it), large enough that float rounding of the
      // O(1) logits, ~1e-7 / h, stays far below the tolerance.
      const float h = 1e-2f;
      const auto lp = logits_at(*model, batch, axpy(emb, h, V.data() + k * n), be);
      const auto lm = logits_at(*model, batch, axpy(emb, -h, V.data() + k * n), be);
      std::vector<float> jv(nl), seed(nl);  // J v by finite differences, and 2 J v
      for (int64_t j = 0; j < nl; ++j) {
        jv[j] = (lp[j] - lm[j]) / (2 * h);
        seed[j] = 2.f * jv[j];
      }
      const std::vector<float> jv_k(jv_tape.begin() + k * nl, jv_tape.begin() + (k + 1) * nl);
      EXPECT_TRUE(all_close(jv_k, jv, 1e-3, 5e-4)) << "tangent J v vs finite differences";
      g.backward(e.logits, seed.data());
      const std::vector<float> want(g.grad(e.x), g.grad(e.x) + n);
      const std::vector<float> got(HV2.begin() + k * n, HV2.begin() + (k + 1) * n);
      EXPECT_TRUE(all_close(got, want, 1e-3, 5e-4)) << "HVP of sum(logits^2) vs 2 J^T J v";
      EXPECT_GT(std::count_if(got.begin(), got.end(), [](float v) { return v != 0.f; }), n / 4);
    }
  }
}

// The exact HVP (forward-over-reverse) of the explained logit against
// finite differences of the gradient, H v ~ (grad(x + h v) - grad(x - h v))
// / 2h, Richardson-extrapolated over h and h/2 so that the truncation error
// is O(h^4) (~1e-5 at h = 0.05 for these O(1) weights) instead of O(h^2).
// The model is float only, so the gradients carry rounding of about 1e-7
// relative; divided by the steps that is ~1e-5 of the gradient's scale.
// Both errors are two orders of magnitude below the tolerance of 2e-3 of
// the largest |Hv| entry, while a missing or wrong second-order term (a
// gate's curvature, the recurrence) changes Hv at the scale of Hv itself.
TEST(WordlightBiLstm, HessianVectorProductsMatchFiniteDifferencesOfGradients) {
  auto model = load_model_directory(golden_dir("bilstm")).model;
  const TokenBatch batch = pad_texts(kTexts, 8);
  const std::vector<float> emb = embed(*model, batch);
  const std::vector<int32_t> target = {2, 0, 1};
  const int K = 2;
  const int64_t n = static_cast<int64_t>(emb.size());
  const int D = model->embedding_dim();
  const std::vector<float> V = wltest::random_vecf(K * n, 9);
  for (Backend be : kBackends) {
    SCOPED_TRACE(be == Backend::fast ? "fast" : "reference");
    Explained e(*model, batch, emb, target, be);
    std::vector<float> HV(K * n);
    hessian_vector_products(e.g, e.y, e.x, K, V.data(), HV.data());

    auto grad_at = [&](const std::vector<float>& at) { return run(*model, batch, at, target, be).grad; };
    for (int k = 0; k < K; ++k) {
      SCOPED_TRACE("direction " + std::to_string(k));
      const float* v = V.data() + k * n;
      auto central = [&](float h) {
        const auto gp = grad_at(axpy(emb, h, v)), gm = grad_at(axpy(emb, -h, v));
        std::vector<double> d(n);
        for (int64_t i = 0; i < n; ++i) d[i] = (static_cast<double>(gp[i]) - gm[i]) / (2.0 * h);
        return d;
      };
      const float h = 0.05f;
      const auto d1 = central(h), d2 = central(h / 2);
      std::vector<double> fd(n);
      for (int64_t i = 0; i < n; ++i) fd[i] = (4.0 * d2[i] - d1[i]) / 3.0;
      const std::vector<float> got(HV.begin() + k * n, HV.begin() + (k + 1) * n);
      double scale = 0;
      for (double x : fd) scale = std::max(scale, std::fabs(x));
      ASSERT_GT(scale, 1e-2) << "the BiLSTM must have curvature";
      EXPECT_TRUE(all_close(got, fd, 0.0, 2e-3 * scale)) << "exact HVP vs Richardson FD of gradients";
      // Padding positions have no gradient anywhere, so no curvature either.
      for (int64_t i = 0; i < n; ++i) {
        if (batch.mask[i / D]) continue;
        ASSERT_EQ(got[i], 0.f) << "HV at padding entry " << i;
      }
    }
    // The Hessian is symmetric: v1 . H v0 == v0 . H v1.
    double a = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
      a += static_cast<double>(V[n + i]) * HV[i];
      b += static_cast<double>(V[i]) * HV[n + i];
    }
    EXPECT_NEAR(a, b, 1e-4 * (std::fabs(a) + std::fabs(b)) + 1e-6) << "symmetry of the Hessian";
  }
}

// ------------------------------------------------------------------ errors

TEST(WordlightCnn, BrokenCheckpointsAndConfigsNameTheProblem) {
  const std::string dir = golden_dir("cnn");
  const ModelConfig cfg = read_model_config_file(dir + "/config.json");
  const SafetensorsFile st = load_safetensors_file(dir + "/model.safetensors");
  ASSERT_EQ(cfg.family, ModelFamily::WordlightCnn);
  ASSERT_EQ(cfg.kernel_sizes, (std::vector<int>{2, 3}));
  {
    SafetensorsFile broken = st;
    broken.tensors.erase("convs.1.bias");
    EXPECT_ERROR_CONTAINS(make_model(cfg, broken), "model.safetensors: missing tensor 'convs.1.bias' of shape (4)");
  }
  {
    ModelConfig wrong = cfg;
    wrong.num_filters = 5;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "tensor 'convs.0.weight' has shape (4, 2, 6), expected (5, 2, 6)");
  }
  {
    ModelConfig wrong = cfg;
    wrong.kernel_sizes = {2, 4};
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "tensor 'convs.1.weight' has shape (4, 3, 6), expected (4, 4, 6)");
  }
  {
    ModelConfig wrong = cfg;
    wrong.kernel_sizes = {2, 3, 4};  // one kernel more than the checkpoint has
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "missing tensor 'convs.2.weight' of shape (4, 4, 6)");
  }
  {
    ModelConfig wrong = cfg;
    wrong.num_filters = 0;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "config.json: key 'num_filters' is 0; it must be at least 1");
  }
  {
    ModelConfig wrong = cfg;
    wrong.kernel_sizes.clear();
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "config.json: key 'kernel_size' lists no kernel sizes");
  }
  {
    ModelConfig wrong = cfg;
    wrong.kernel_sizes = {2, 0};
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "config.json: key 'kernel_size' is 0; it must be at least 1");
  }
  {
    ModelConfig wrong = cfg;
    wrong.embedding_dim = -1;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "config.json: key 'embedding_dim' is -1");
  }
}

TEST(WordlightBiLstm, BrokenCheckpointsAndConfigsNameTheProblem) {
  const std::string dir = golden_dir("bilstm");
  const ModelConfig cfg = read_model_config_file(dir + "/config.json");
  const SafetensorsFile st = load_safetensors_file(dir + "/model.safetensors");
  ASSERT_EQ(cfg.family, ModelFamily::WordlightBiLstm);
  {
    SafetensorsFile broken = st;
    broken.tensors.erase("classifier.backward.bias");
    EXPECT_ERROR_CONTAINS(make_model(cfg, broken), "missing tensor 'classifier.backward.bias' of shape (3)");
  }
  {
    SafetensorsFile broken = st;
    broken.tensors.erase("lstm.backward.weight_hh");
    EXPECT_ERROR_CONTAINS(make_model(cfg, broken), "missing tensor 'lstm.backward.weight_hh' of shape (20, 5)");
  }
  {
    ModelConfig wrong = cfg;
    wrong.lstm_hidden_size = 6;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st),
                          "tensor 'lstm.forward.weight_ih' has shape (20, 6), expected (24, 6) from");
  }
  {
    ModelConfig wrong = cfg;
    wrong.num_labels = 2;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "tensor 'classifier.forward.weight' has shape (3, 5), expected (2, 5)");
  }
  {
    ModelConfig wrong = cfg;
    wrong.lstm_hidden_size = 0;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "config.json: key 'hidden_size' is 0; it must be at least 1");
  }
  {
    ModelConfig wrong = cfg;
    wrong.num_labels = 0;
    EXPECT_ERROR_CONTAINS(make_model(wrong, st), "config.json: key 'num_labels' is 0; it must be at least 1");
  }
}

// What a caller can get wrong at run time, for both models.
TEST(OursModels, BadBatchesNameTheProblem) {
  for (const std::string name : {"cnn", "bilstm"}) {
    SCOPED_TRACE(name);
    auto model = load_model_directory(golden_dir(name)).model;
    const int D = model->embedding_dim();
    TokenBatch b = pad_texts({{2, 99}}, 2);
    std::vector<float> e(2 * D);
    EXPECT_ERROR_CONTAINS(model->embed(b, e.data()), "token id 99 at position 1 is outside the vocabulary of 30");

    b = pad_texts({{2, 3}, {}}, 2);
    Graph<float> g;
    std::vector<float> zeros(2 * 2 * D, 0.f);
    Var x = g.input(Shape{2, 2, D}, zeros.data());
    EXPECT_ERROR_CONTAINS(model->forward(g, x, b), "text 1 of the batch has no real token");

    Var wrong = g.input(Shape{2, 3, D}, std::vector<float>(2 * 3 * D, 0.f).data());
    b = pad_texts({{2, 3}, {4}}, 2);
    EXPECT_ERROR_CONTAINS(model->forward(g, wrong, b), "do not match the batch (2, 2, 6)");

    b.mask.pop_back();
    EXPECT_ERROR_CONTAINS(model->forward(g, x, b), "has 4 ids and 3 mask entries");
  }
}
