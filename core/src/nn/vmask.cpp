// The VMASK word-mask layer (wordlight/vmask.h) on the tape.
#include "wordlight/vmask.h"

#include <cmath>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/splitmix64.h"
#include "model_internal.h"

namespace wordlight {

VmaskLayer::VmaskLayer(const ModelConfig& cfg, const SafetensorsFile& st) {
  detail::require_at_least(cfg, "vmask.hidden", cfg.vmask_hidden, 1);
  D_ = cfg.embedding_dim;
  H_ = cfg.vmask_hidden;
  w1_ = detail::take_tensor(st, cfg, kLinearWeight, {H_, D_});
  b1_ = detail::take_tensor(st, cfg, kLinearBias, {H_});
  w2_ = detail::take_tensor(st, cfg, kOutWeight, {2, H_});
  b2_ = detail::take_tensor(st, cfg, kOutBias, {2});
  parameters_changed();
}

Var VmaskLayer::keep_logit(Graph<float>& g, Var x) const {
  const Shape& s = g.shape(x);
  if (s.rank != 3 || s[2] != D_)
    throw Error("vmask: the word embeddings must be (B, T, " + std::to_string(D_) + ")");
  const int64_t B = s[0], T = s[1];
  Var h = g.tanh(g.linear(g.reshape(x, Shape{B * T, D_}), g.parameter(Shape{H_, D_}, w1_.data(), &p1_),
                          g.parameter(Shape{H_}, b1_.data())));
  Var z = g.linear(h, g.parameter(Shape{2, H_}, w2_.data(), &p2_), g.parameter(Shape{2}, b2_.data()));  // (BT, 2)
  // softmax over (drop, keep) picks keep with sigmoid(z_keep - z_drop).
  Var d = g.add(g.slice(z, 1, 1, 2), g.scale(g.slice(z, 1, 0, 1), -1.f));
  return g.reshape(d, Shape{B, T, 1});
}

Var VmaskLayer::apply(Graph<float>& g, Var x) const {
  Var d = keep_logit(g, x);
  if (!g.training) return g.mul(g.sigmoid(d), x);  // the gate first: LRP's gate rule (vmask.h)
  if (g.deferred()) throw Error("vmask: training needs an eager graph");
  // Hard Gumbel-softmax over (drop, keep) at temperature 1: keep iff
  // d + g_keep - g_drop > 0 (the arg-max of the perturbed logits); the
  // straight-through estimator passes the gradient of the soft sample
  // y = sigmoid(d + g_keep - g_drop): r = y + (hard - y) with the bracket
  // held constant.
  const int64_t n = g.numel(d);
  std::vector<float> noise(static_cast<size_t>(n));
  SplitMix64 rng{g.next_dropout_seed() * 0x2545f4914f6cdd1dull + 0x632be59bd9b4e019ull};
  auto gumbel = [&rng] {
    // u in (0, 1): never 0, so both logs are finite.
    const double u = (static_cast<double>(rng.next() >> 11) + 0.5) * 0x1.0p-53;
    return -std::log(-std::log(u));
  };
  for (float& v : noise) {
    const double g_drop = gumbel(), g_keep = gumbel();
    v = static_cast<float>(g_keep - g_drop);
  }
  Var y = g.sigmoid(g.add(d, g.constant(g.shape(d), noise.data())));
  const float* dv = g.value(d);
  const float* yv = g.value(y);
  std::vector<float> fix(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) fix[i] = (dv[i] + noise[i] > 0.f ? 1.f : 0.f) - yv[i];
  Var r = g.add(y, g.constant(g.shape(d), fix.data()));
  return g.mul(r, x);
}

Var VmaskLayer::penalty(Graph<float>& g, Var x, const TokenBatch& batch) const {
  Var d = keep_logit(g, x);
  // With p = sigmoid(d): log p = -softplus(-d), log(1 - p) = -softplus(d),
  // so p log p + (1 - p) log(1 - p) = -(sigmoid(d) softplus(-d) +
  // sigmoid(-d) softplus(d)), finite for every d (the reference code adds
  // 1e-8 inside the logs instead).
  Var nd = g.scale(d, -1.f);
  Var neg_entropy = g.scale(
      g.add(g.mul(g.sigmoid(d), g.softplus(nd, 1.0)), g.mul(g.sigmoid(nd), g.softplus(d, 1.0))), -1.f);
  size_t real = 0;
  for (uint8_t m : batch.mask) real += m != 0;
  if (real == 0) throw Error("vmask: the batch has no real token");
  std::vector<float> w(batch.mask.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = batch.mask[i] ? 1.f / static_cast<float>(real) : 0.f;
  if (static_cast<int64_t>(w.size()) != g.numel(d)) throw Error("vmask: the mask does not match the embeddings");
  return g.sum(g.mul(neg_entropy, g.constant(g.shape(d), w.data())));
}

void VmaskLayer::append_parameters(std::vector<ModelParameter>& ps) {
  ps.push_back({kLinearWeight, {H_, D_}, w1_.data()});
  ps.push_back({kLinearBias, {H_}, b1_.data()});
  ps.push_back({kOutWeight, {2, H_}, w2_.data()});
  ps.push_back({kOutBias, {2}, b2_.data()});
}

void VmaskLayer::parameters_changed() {
  p1_ = pack_linear(H_, D_, w1_.data());
  p2_ = pack_linear(2, H_, w2_.data());
}

std::vector<float> vmask_keep_probabilities(const Model& model, const std::vector<float>& word_emb,
                                            const TokenBatch& batch) {
  const VmaskLayer* layer = model.vmask();
  if (!layer) throw Error("vmask: " + model.config().architecture + " has no VMASK layer (config key \"vmask\")");
  const int D = model.embedding_dim();
  if (word_emb.size() != static_cast<size_t>(batch.B) * batch.T * D)
    throw Error("vmask: the embeddings do not match the batch");
  Graph<float> g;
  Var x = g.input(Shape{batch.B, batch.T, D}, word_emb.data(), false);
  Var p = layer->keep_probability(g, x);
  const float* v = g.value(p);
  return std::vector<float>(v, v + g.numel(p));
}

namespace detail {

std::vector<TensorSpec> vmask_layout(const ModelConfig& cfg) {
  if (cfg.vmask_hidden <= 0) return {};
  const int H = cfg.vmask_hidden, D = cfg.embedding_dim;
  return {{VmaskLayer::kLinearWeight, {H, D}},
          {VmaskLayer::kLinearBias, {H}},
          {VmaskLayer::kOutWeight, {2, H}},
          {VmaskLayer::kOutBias, {2}}};
}

}  // namespace detail
}  // namespace wordlight
