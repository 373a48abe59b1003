// wordlight-bilstm: the bidirectional LSTM classifier of Li et al. 2016 as
// explained by Arras et al. 2017:
//
//   word embeddings (B, T, D)
//   -> forward LSTM reads tokens first to last,  h_fwd after the last token
//   -> backward LSTM reads tokens last to first, h_bwd after the first token
//   -> logits = classifier.forward(h_fwd) + classifier.backward(h_bwd)  (B, L)
//
// Each direction is a PyTorch LSTM cell, gates in PyTorch's order i, f, g, o:
//   z = x W_ih^T + h W_hh^T + bias               (B, 4H), bias = b_ih + b_hh
//   i, f, o = sigmoid(z_i, z_f, z_o), g = tanh(z_g)
//   c' = f c + i g,  h' = o tanh(c')
// The input projections x W_ih^T + bias of all time steps are one linear over
// the B*T rows; each step adds only h W_hh^T.
//
// Padding. A padded example must give exactly its unpadded result, so at a
// padding position the state is carried, not updated:
//   h = m h' + (1 - m) h,  c = m c' + (1 - m) c   (m: the (B, 1) mask column)
// with m and 1 - m constants from the mask. The backward direction starts at
// position T - 1 with a zero state, which the carry keeps at zero through
// the trailing padding until the text's last real token. Since m is 0 or 1
// the carry is exact, and gradients at padding positions are exactly 0.
// Steps where every text is real skip the carry, and steps where every text
// is padding are skipped altogether: both give the same values.
#include <string>
#include <vector>

#include "wordlight/model.h"
#include "wordlight/vmask.h"
#include "model_internal.h"

namespace wordlight {


namespace {

struct Linear {
  int O = 0, I = 0;
  std::vector<float> w, b;  // w: (O, I), b: (O)
  PackedLinear packed;
};

struct Direction {
  Linear input;       // W_ih (4H, D) with the summed bias (4H)
  Linear recurrent;   // W_hh (4H, H), no bias
  Linear classifier;  // (L, H), (L)
};

Var linear(Graph<float>& g, Var x, const Linear& l) {
  Var b = l.b.empty() ? Var{} : g.parameter(Shape{l.O}, l.b.data());
  return g.linear(x, g.parameter(Shape{l.O, l.I}, l.w.data(), &l.packed), b);
}

// The recurrent state of one direction; an invalid Var stands for zeros
// (before the first real token), which saves the ops that would multiply
// by them.
struct State {
  Var h, c;  // (B, H) each
};

// Per time step: the mask column m (B, 1) and 1 - m as floats, and whether
// the step is all real or all padding.
struct StepMask {
  std::vector<float> m, keep;  // m, 1 - m
  bool all_real = true, all_pad = true;
};

std::vector<StepMask> step_masks(const TokenBatch& batch) {
  std::vector<StepMask> steps(batch.T);
  for (int t = 0; t < batch.T; ++t) {
    StepMask& s = steps[t];
    for (int b = 0; b < batch.B; ++b) {
      const bool real = batch.mask[static_cast<size_t>(b) * batch.T + t] != 0;
      s.m.push_back(real ? 1.f : 0.f);
      s.keep.push_back(real ? 0.f : 1.f);
      s.all_real = s.all_real && real;
      s.all_pad = s.all_pad && !real;
    }
  }
  return steps;
}

// new_v where the token is real, old where it is padding; old invalid = 0.
Var carry(Graph<float>& g, Var new_v, Var old, const StepMask& s) {
  if (s.all_real) return new_v;
  const int B = static_cast<int>(s.m.size());
  Var kept_new = g.mul(new_v, g.constant(Shape{B, 1}, s.m.data()));
  if (!old.valid()) return kept_new;
  return g.add(kept_new, g.mul(old, g.constant(Shape{B, 1}, s.keep.data())));
}

// One LSTM step. z_x: (B, 4H) the input projection of this step.
State lstm_step(Graph<float>& g, Var z_x, const State& prev, const Linear& recurrent, int H) {
  Var z = prev.h.valid() ? g.add(z_x, linear(g, prev.h, recurrent)) : z_x;
  Var i = g.sigmoid(g.slice(z, 1, 0, H));
  Var f = g.sigmoid(g.slice(z, 1, H, 2 * H));
  Var gg = g.tanh(g.slice(z, 1, 2 * H, 3 * H));
  Var o = g.sigmoid(g.slice(z, 1, 3 * H, 4 * H));
  Var c = g.mul(i, gg);
  if (prev.c.valid()) c = g.add(g.mul(f, prev.c), c);
  return State{g.mul(o, g.tanh(c)), c};
}

// Runs one direction over x (B, T, D) and returns its final h (B, H).
Var run_direction(Graph<float>& g, Var x, const Direction& dir, const std::vector<StepMask>& steps, bool reverse,
                  int H, const std::string& mark_name) {
  const int64_t B = g.shape(x)[0], T = g.shape(x)[1], D = g.shape(x)[2];
  // One GEMM for the input projections of every step: (B*T, D) -> (B, T, 4H).
  Var zx = g.reshape(linear(g, g.reshape(x, Shape{B * T, D}), dir.input), Shape{B, T, 4 * H});
  State s;
  for (int64_t n = 0; n < T; ++n) {
    const int64_t t = reverse ? T - 1 - n : n;
    const StepMask& sm = steps[t];
    if (sm.all_pad) continue;
    Var z_t = g.reshape(g.slice(zx, 1, t, t + 1), Shape{B, 4 * H});
    const State next = lstm_step(g, z_t, s, dir.recurrent, H);
    s = State{carry(g, next.h, s.h, sm), carry(g, next.c, s.c, sm)};
    g.mark(mark_name, s.h, static_cast<int>(t));  // the state after reading token t
  }
  return s.h;  // valid: check_rows_have_tokens guarantees a real token
}

class BiLstmModel : public Model {
 public:
  BiLstmModel(const ModelConfig& cfg, const SafetensorsFile& st) : st_(&st) {
    config_ = cfg;
    detail::require_at_least(cfg, "vocab_size", cfg.vocab_size, 2);  // <pad> and <unk>
    detail::require_at_least(cfg, "embedding_dim", cfg.embedding_dim, 1);
    detail::require_at_least(cfg, "hidden_size", cfg.lstm_hidden_size, 1);
    detail::require_at_least(cfg, "num_labels", cfg.num_labels, 1);
    V_ = cfg.vocab_size;
    D_ = cfg.embedding_dim;
    H_ = cfg.lstm_hidden_size;
    L_ = cfg.num_labels;
    emb_ = take("embeddings.weight", {V_, D_});
    if (cfg.vmask_hidden > 0) {
      vmask_ = std::make_unique<VmaskLayer>(cfg, st);
      attach_part("vmask");  // the `vmask` method applies (registry.cpp's kPartFacts)
    }
    fwd_ = direction("forward");
    bwd_ = direction("backward");
    st_ = nullptr;  // the checkpoint is only read during construction
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
    const std::vector<StepMask> steps = step_masks(batch);
    g.mark("embeddings", word_emb);
    Var x = word_emb;
    if (vmask_) {  // VMASK's word mask (wordlight/vmask.h); padding is carried over anyway
      x = vmask_->apply(g, x);
      g.mark("vmask", x);
    }
    Var h_fwd = run_direction(g, x, fwd_, steps, /*reverse=*/false, H_, "lstm.forward");
    Var h_bwd = run_direction(g, x, bwd_, steps, /*reverse=*/true, H_, "lstm.backward");
    if (g.training && config_.dropout > 0.f) {
      h_fwd = g.dropout(h_fwd, config_.dropout, g.next_dropout_seed());
      h_bwd = g.dropout(h_bwd, config_.dropout, g.next_dropout_seed());
    }
    return g.add(linear(g, h_fwd, fwd_.classifier), linear(g, h_bwd, bwd_.classifier));
  }

  std::vector<ModelParameter> parameters() override {
    std::vector<ModelParameter> ps;
    ps.push_back({"embeddings.weight", {V_, D_}, emb_.data()});
    if (vmask_) vmask_->append_parameters(ps);
    for (auto* d : {&fwd_, &bwd_}) {
      const std::string which = d == &fwd_ ? "forward" : "backward";
      const std::string p = "lstm." + which + ".", c = "classifier." + which + ".";
      ps.push_back({p + "weight_ih", {4 * H_, D_}, d->input.w.data()});
      ps.push_back({p + "bias", {4 * H_}, d->input.b.data()});
      ps.push_back({p + "weight_hh", {4 * H_, H_}, d->recurrent.w.data()});
      ps.push_back({c + "weight", {L_, H_}, d->classifier.w.data()});
      ps.push_back({c + "bias", {L_}, d->classifier.b.data()});
    }
    return ps;
  }
  std::string word_embedding_name() const override { return "embeddings.weight"; }
  const VmaskLayer* vmask() const override { return vmask_.get(); }
  void parameters_changed() override {
    if (vmask_) vmask_->parameters_changed();
    for (auto* d : {&fwd_, &bwd_})
      for (Linear* l : {&d->input, &d->recurrent, &d->classifier}) l->packed = pack_linear(l->O, l->I, l->w.data());
  }

 private:
  std::vector<float> take(const std::string& name, std::vector<int64_t> shape) const {
    return detail::take_tensor(*st_, config_, name, shape);
  }
  Linear linear_from(const std::string& w_name, const std::string& b_name, int O, int I) const {
    Linear l;
    l.O = O;
    l.I = I;
    l.w = take(w_name, {O, I});
    if (!b_name.empty()) l.b = take(b_name, {O});
    l.packed = pack_linear(O, I, l.w.data());
    return l;
  }
  // `which` is "forward" or "backward".
  Direction direction(const std::string& which) const {
    const std::string p = "lstm." + which + ".", c = "classifier." + which + ".";
    Direction d;
    d.input = linear_from(p + "weight_ih", p + "bias", 4 * H_, D_);
    d.recurrent = linear_from(p + "weight_hh", "", 4 * H_, H_);
    d.classifier = linear_from(c + "weight", c + "bias", L_, H_);
    return d;
  }

  const SafetensorsFile* st_;  // only during construction
  int V_ = 0, D_ = 0, H_ = 0, L_ = 0;
  std::vector<float> emb_;  // (V, D)
  Direction fwd_, bwd_;
  std::unique_ptr<VmaskLayer> vmask_;  // null without the config key "vmask"
};

}  // namespace

std::vector<detail::TensorSpec> bilstm_layout(const ModelConfig& cfg) {
  const int V = cfg.vocab_size, D = cfg.embedding_dim, H = cfg.lstm_hidden_size, L = cfg.num_labels;
  std::vector<detail::TensorSpec> t;
  t.push_back({"embeddings.weight", {V, D}, detail::TensorInit::embedding});
  for (detail::TensorSpec& s : detail::vmask_layout(cfg)) t.push_back(std::move(s));
  for (const char* which : {"forward", "backward"}) {
    const std::string p = std::string("lstm.") + which + ".", c = std::string("classifier.") + which + ".";
    t.push_back({p + "weight_ih", {4 * H, D}});
    t.push_back({p + "bias", {4 * H}});
    t.push_back({p + "weight_hh", {4 * H, H}});
    t.push_back({c + "weight", {L, H}});
    t.push_back({c + "bias", {L}});
  }
  return t;
}

std::unique_ptr<Model> make_bilstm_model(const ModelConfig& config, const SafetensorsFile& weights) {
  return std::make_unique<BiLstmModel>(config, weights);
}

}  // namespace wordlight
