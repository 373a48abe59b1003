// wordlight-cnn: the text CNN of Kim 2014 as explained by Arras et al. 2016
// ("What is relevant in a text document?"):
//
//   word embeddings (B, T, D)
//   -> for each kernel width k_i: conv1d with F filters (F, k_i, D)
//      -> ReLU -> max over time                          (B, F)
//   -> concatenate over kernel widths                    (B, F * n_kernels)
//   -> linear classifier                                 (B, L)
//
// Padding. A padded batch must give each text the result it gets alone, and
// a text shorter than a kernel must still have windows, so:
//  - the embeddings at padding positions are multiplied by a constant 0
//    (the mask as a (B, T, 1) constant): padding contributes nothing, and
//    gets a zero gradient, whatever embedding the caller put there;
//  - every convolution is "full": zero padding of k - 1 on both ends, so
//    output position o covers inputs o - (k - 1) .. o, and a text of n
//    tokens has n + k - 1 windows whatever n is;
//  - a window is valid iff it covers at least one real token. Invalid
//    windows (those lying wholly in the padding; they see only zeros and
//    compute ReLU(bias)) get kInvalidWindow added after the ReLU, a
//    constant, so they never win the max over time (valid windows are >= 0
//    after the ReLU) and no gradient reaches them.
// With right padding the valid windows of a text of n tokens are exactly
// o = 0 .. n + k - 2, the windows of the unpadded text's full convolution.
#include <algorithm>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/vmask.h"
#include "model_internal.h"

namespace wordlight {


namespace {

// Far below any ReLU output, yet finite: an infinity could turn into NaN
// wherever a later pass multiplies it by zero.
constexpr float kInvalidWindow = -1e30f;

struct Conv {
  int k = 0;                  // kernel width
  std::vector<float> w, b;    // w: (F, k, D) channels-last, b: (F)
};

// mask: (B, T) -> (B, T, 1) of 1 for real tokens, 0 for padding.
std::vector<float> mask_values(const TokenBatch& batch) {
  std::vector<float> m(batch.mask.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = batch.mask[i] ? 1.f : 0.f;
  return m;
}

// -> (B, T + k - 1, 1): 0 for a valid window, kInvalidWindow for a window
// (inputs o - (k - 1) .. o) that covers no real token. `any_invalid` says
// whether there is something to add at all.
std::vector<float> window_penalty(const TokenBatch& batch, int k, bool* any_invalid) {
  const int T = batch.T, To = T + k - 1;
  std::vector<float> p(static_cast<size_t>(batch.B) * To, 0.f);
  *any_invalid = false;
  for (int b = 0; b < batch.B; ++b) {
    const uint8_t* m = batch.mask.data() + static_cast<size_t>(b) * T;
    for (int o = 0; o < To; ++o) {
      const int first = std::max(0, o - (k - 1)), last = std::min(T - 1, o);
      const bool valid = std::any_of(m + first, m + last + 1, [](uint8_t v) { return v != 0; });
      if (!valid) {
        p[static_cast<size_t>(b) * To + o] = kInvalidWindow;
        *any_invalid = true;
      }
    }
  }
  return p;
}

class CnnModel : public Model {
 public:
  CnnModel(const ModelConfig& cfg, const SafetensorsFile& st) {
    config_ = cfg;
    detail::require_at_least(cfg, "vocab_size", cfg.vocab_size, 2);  // <pad> and <unk>
    detail::require_at_least(cfg, "embedding_dim", cfg.embedding_dim, 1);
    detail::require_at_least(cfg, "num_filters", cfg.num_filters, 1);
    detail::require_at_least(cfg, "num_labels", cfg.num_labels, 1);
    if (cfg.kernel_sizes.empty()) throw Error(cfg.source + ": key 'kernel_size' lists no kernel sizes");
    V_ = cfg.vocab_size;
    D_ = cfg.embedding_dim;
    F_ = cfg.num_filters;
    L_ = cfg.num_labels;

    emb_ = detail::take_tensor(st, cfg, "embeddings.weight", {V_, D_});
    if (cfg.vmask_hidden > 0) {
      vmask_ = std::make_unique<VmaskLayer>(cfg, st);
      attach_part("vmask");  // the `vmask` method applies (registry.cpp's kPartFacts)
    }
    for (size_t i = 0; i < cfg.kernel_sizes.size(); ++i) {
      Conv c;
      c.k = cfg.kernel_sizes[i];
      detail::require_at_least(cfg, "kernel_size", c.k, 1);
      const std::string p = "convs." + std::to_string(i) + ".";
      c.w = detail::take_tensor(st, cfg, p + "weight", {F_, c.k, D_});
      c.b = detail::take_tensor(st, cfg, p + "bias", {F_});
      convs_.push_back(std::move(c));
    }
    const int features = F_ * static_cast<int>(convs_.size());
    cls_w_ = detail::take_tensor(st, cfg, "classifier.weight", {L_, features});
    cls_b_ = detail::take_tensor(st, cfg, "classifier.bias", {L_});
    cls_packed_ = pack_linear(L_, features, cls_w_.data());
  }

  int embedding_dim() const override { return D_; }
  int output_dim() const override { return L_; }

  void embed(const TokenBatch& batch, float* out) const override {
    detail::embed_ids(config_, emb_, V_, D_, batch, out);
  }

  // word_emb: (B, T, D) -> logits (B, L)
  Var forward(Graph<float>& g, Var word_emb, const TokenBatch& batch) const override {
    detail::check_token_batch(batch);
    detail::check_word_emb(g, word_emb, batch, D_);
    detail::check_rows_have_tokens(batch);
    const int B = batch.B, T = batch.T;
    const std::vector<float> m = mask_values(batch);
    Var x = g.mul(word_emb, g.constant(Shape{B, T, 1}, m.data()));  // (B, T, D), padding zeroed
    g.mark("embeddings", x);
    if (vmask_) {  // VMASK's word mask (wordlight/vmask.h); padding rows stay 0
      x = vmask_->apply(g, x);
      g.mark("vmask", x);
    }

    std::vector<Var> pooled;  // n_kernels x (B, F)
    for (const Conv& c : convs_) {
      Var w = g.parameter(Shape{F_, c.k, D_}, c.w.data());
      Var b = g.parameter(Shape{F_}, c.b.data());
      Var y = g.relu(g.conv1d(x, w, b, c.k - 1));  // (B, T + k - 1, F)
      bool any_invalid = false;
      const std::vector<float> penalty = window_penalty(batch, c.k, &any_invalid);
      if (any_invalid) y = g.add(y, g.constant(Shape{B, T + c.k - 1, 1}, penalty.data()));
      // Window positions (T + k - 1 of them) are not token positions: the
      // convolution is marked for neuron relevance, not as a token row.
      g.mark("conv." + std::to_string(&c - convs_.data()), y);
      pooled.push_back(g.reshape(g.max_over_time(y), Shape{B, F_}));
    }
    Var h = pooled.size() == 1 ? pooled[0] : g.concat(pooled, 1);  // (B, F * n_kernels)
    g.mark("pooled", h);
    // Kim 2014 drops the pooled features while training.
    if (g.training && config_.dropout > 0.f) h = g.dropout(h, config_.dropout, g.next_dropout_seed());
    const int features = F_ * static_cast<int>(convs_.size());
    return g.linear(h, g.parameter(Shape{L_, features}, cls_w_.data(), &cls_packed_),
                    g.parameter(Shape{L_}, cls_b_.data()));
  }

  std::vector<ModelParameter> parameters() override {
    std::vector<ModelParameter> ps;
    ps.push_back({"embeddings.weight", {V_, D_}, emb_.data()});
    if (vmask_) vmask_->append_parameters(ps);
    for (size_t i = 0; i < convs_.size(); ++i) {
      const std::string p = "convs." + std::to_string(i) + ".";
      ps.push_back({p + "weight", {F_, convs_[i].k, D_}, convs_[i].w.data()});
      ps.push_back({p + "bias", {F_}, convs_[i].b.data()});
    }
    const int64_t features = static_cast<int64_t>(F_) * static_cast<int64_t>(convs_.size());
    ps.push_back({"classifier.weight", {L_, features}, cls_w_.data()});
    ps.push_back({"classifier.bias", {L_}, cls_b_.data()});
    return ps;
  }
  std::string word_embedding_name() const override { return "embeddings.weight"; }
  const VmaskLayer* vmask() const override { return vmask_.get(); }
  void parameters_changed() override {
    if (vmask_) vmask_->parameters_changed();
    cls_packed_ = pack_linear(L_, F_ * static_cast<int>(convs_.size()), cls_w_.data());
  }

 private:
  int V_ = 0, D_ = 0, F_ = 0, L_ = 0;
  std::vector<float> emb_;  // (V, D)
  std::vector<Conv> convs_;
  std::vector<float> cls_w_, cls_b_;  // (L, F * n_kernels), (L)
  PackedLinear cls_packed_;
  std::unique_ptr<VmaskLayer> vmask_;  // null without the config key "vmask"
};

}  // namespace

std::vector<detail::TensorSpec> cnn_layout(const ModelConfig& cfg) {
  const int V = cfg.vocab_size, D = cfg.embedding_dim, F = cfg.num_filters, L = cfg.num_labels;
  std::vector<detail::TensorSpec> t;
  t.push_back({"embeddings.weight", {V, D}, detail::TensorInit::embedding});
  for (detail::TensorSpec& s : detail::vmask_layout(cfg)) t.push_back(std::move(s));
  for (size_t i = 0; i < cfg.kernel_sizes.size(); ++i) {
    const std::string p = "convs." + std::to_string(i) + ".";
    t.push_back({p + "weight", {F, cfg.kernel_sizes[i], D}});
    t.push_back({p + "bias", {F}});
  }
  t.push_back({"classifier.weight", {L, static_cast<int64_t>(F) * static_cast<int64_t>(cfg.kernel_sizes.size())}});
  t.push_back({"classifier.bias", {L}});
  return t;
}

std::unique_ptr<Model> make_cnn_model(const ModelConfig& config, const SafetensorsFile& weights) {
  return std::make_unique<CnnModel>(config, weights);
}

}  // namespace wordlight
