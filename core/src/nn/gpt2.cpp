// GPT-2 in the Hugging Face layout, unmodified (GPT2LMHeadModel and
// GPT2ForSequenceClassification), built on the tape (graph.h):
//
//   x = wte[ids] + wpe[0..T-1]
//   per block:  x = x + c_proj(attention(c_attn(ln_1(x))))      causal
//               x = x + mlp.c_proj(act(mlp.c_fc(ln_2(x))))      act: gelu_new
//   h = ln_f(x)
//   GPT2LMHeadModel:                logits = h wte^T (lm_head tied to wte)  (B, T, V)
//   GPT2ForSequenceClassification:  logits = score(h at the last real token)  (B, L)
//
// Pre-LayerNorm blocks; position ids 0..T-1 whatever the mask (as GPT2Model
// without position_ids); padding on the right is never seen by a real token
// (causal attention), and masked keys get probability 0.
//
// Conv1D: GPT-2's c_attn, c_proj, c_fc store their weight as (in, out),
// y = x W + b, the transpose of nn.Linear's (out, in). The checkpoint's
// tensors are kept as stored (parameters() lists them under their names and
// shapes, so a saved model is a Hugging Face checkpoint again) and the model
// computes with transposed, packed copies (the linear op's layout);
// parameters_changed() re-derives them. c_attn's (C, 3C) splits into q, k
// and v, columns [0, C), [C, 2C), [2C, 3C).
//
// The classifier reads the last real token of each row (the last position
// whose mask is 1), which is Hugging Face's "last non-pad token" for
// right-padded batches.
//
// Training (g.params_require_grad): the packed copies are only for
// inference. A training graph multiplies by the Conv1D weights as stored,
// x (N, I) @ W (I, O) + b, so that each weight's gradient lands on the
// checkpoint's own tensor (Graph::accumulate_parameter_grad finds it by its
// data pointer); c_attn runs as one (C, 3C) product sliced into q, k, v.
// Dropout is not applied (the configs' resid/attn/embd_pdrop are ignored).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "wordlight/error.h"
#include "wordlight/model.h"
#include "dense_layers.h"
#include "model_internal.h"

namespace wordlight {
namespace {

using Linear = detail::DenseLinear;  // w: (O, I), b: (O)
using Norm = detail::LayerNormParams;

// One Conv1D as stored: weight (I, O) and bias (O).
struct Conv1D {
  int I = 0, O = 0;
  std::vector<float> w, b;
};

struct Block {
  Norm ln_1, ln_2;
  Conv1D c_attn, c_proj, c_fc, mlp_proj;  // as stored
  Linear q, k, v, proj, fc, out;          // computed from them
};

// Columns [c0, c0 + O) of a Conv1D as an (O, I) linear layer.
void to_linear(const Conv1D& c, int c0, int O, Linear& l) {
  l.O = O;
  l.I = c.I;
  l.w.resize(static_cast<size_t>(O) * c.I);
  l.b.assign(c.b.begin() + c0, c.b.begin() + c0 + O);
  for (int i = 0; i < c.I; ++i)
    for (int o = 0; o < O; ++o)
      l.w[static_cast<size_t>(o) * c.I + i] = c.w[static_cast<size_t>(i) * c.O + c0 + o];
  l.packed = pack_linear(l.O, l.I, l.w.data());
}

class Gpt2Model : public Model {
 public:
  Gpt2Model(const ModelConfig& cfg, const SafetensorsFile& st) : st_(&st) {
    config_ = cfg;
    if (cfg.family != ModelFamily::Gpt2) throw Error(cfg.source + ": not a GPT-2 config");
    if (cfg.head != ModelHead::CausalLM && cfg.head != ModelHead::SequenceClassification)
      throw Error(cfg.source + ": GPT-2 has a causal-LM or a sequence-classification head");
    C_ = cfg.hidden_size;
    H_ = cfg.num_attention_heads;
    V_ = cfg.vocab_size;
    F_ = cfg.intermediate_size;
    P_ = cfg.max_position_embeddings;
    detail::require_at_least(cfg, "n_embd", C_, 1);
    detail::require_at_least(cfg, "n_head", H_, 1);
    detail::require_at_least(cfg, "n_positions", P_, 1);
    if (C_ % H_ != 0)
      throw Error(cfg.source + ": n_embd " + std::to_string(C_) + " is not divisible by n_head " + std::to_string(H_));
    const std::string& act = cfg.hidden_act;
    if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast")
      act_ = ops::Unary::gelu_tanh;
    else if (act == "gelu")
      act_ = ops::Unary::gelu;
    else if (act == "relu")
      act_ = ops::Unary::relu;
    else if (act == "tanh")
      act_ = ops::Unary::tanh;
    else
      throw Error(cfg.source + ": activation_function '" + act +
                  "' is not supported (gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, tanh)");

    // GPT2LMHeadModel and the classifier save the body under "transformer.";
    // the original "gpt2" checkpoint (GPT2Model) has no prefix.
    prefix_ = st.has("transformer.wte.weight") || !st.has("wte.weight") ? "transformer." : "";
    wte_ = take(prefix_ + "wte.weight", {V_, C_});
    wpe_ = take(prefix_ + "wpe.weight", {P_, C_});
    for (int i = 0; i < cfg.num_hidden_layers; ++i) {
      const std::string l = layer(i);
      Block b;
      b.ln_1 = norm(l + "ln_1.");
      b.c_attn = conv(l + "attn.c_attn.", C_, 3 * C_);
      b.c_proj = conv(l + "attn.c_proj.", C_, C_);
      b.ln_2 = norm(l + "ln_2.");
      b.c_fc = conv(l + "mlp.c_fc.", C_, F_);
      b.mlp_proj = conv(l + "mlp.c_proj.", F_, C_);
      blocks_.push_back(std::move(b));
    }
    ln_f_ = norm(prefix_ + "ln_f.");
    L_ = cfg.num_labels;
    if (cfg.head == ModelHead::SequenceClassification) {
      score_.O = L_;
      score_.I = C_;
      score_.w = take("score.weight", {L_, C_});  // nn.Linear(n_embd, num_labels, bias=False)
    } else if (!cfg.tie_word_embeddings) {
      lm_head_ = take("lm_head.weight", {V_, C_});
    }
    // With tie_word_embeddings (the default) lm_head is wte, whatever copy
    // the checkpoint stored, as in Hugging Face's tie_weights().
    st_ = nullptr;
    parameters_changed();
  }

  int embedding_dim() const override { return C_; }
  int output_dim() const override { return config_.head == ModelHead::CausalLM ? V_ : L_; }

  void embed(const TokenBatch& batch, float* out) const override {
    detail::embed_ids(config_, wte_, V_, C_, batch, out);
  }

  Var forward(Graph<float>& g, Var word_emb, const TokenBatch& batch) const override {
    Var x = body(g, word_emb, batch);
    const int B = batch.B, T = batch.T;
    if (config_.head == ModelHead::CausalLM)
      return g.linear(x, g.parameter(Shape{V_, C_}, lm_head_weights(), &lm_head_packed_));
    // The hidden state of each row's last real token: rows b * T + last(b)
    // of x as (B*T, C), gathered (the backward scatters into them).
    thread_local std::vector<int32_t> last;
    last.assign(static_cast<size_t>(B), 0);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t)
        if (batch.mask[static_cast<size_t>(b) * T + t]) last[static_cast<size_t>(b)] = b * T + t;
    Var pooled = g.embedding(g.reshape(x, Shape{static_cast<int64_t>(B) * T, C_}), last.data(), Shape{B});
    return g.linear(pooled, g.parameter(Shape{L_, C_}, score_.w.data(), &score_.packed));
  }

  // The causal-LM head at the flat positions b * T + t only: (P, V). For
  // language-model training (the next token's logits at each position) and
  // for generation, which needs the last position's alone.
  Var forward_masked_lm(Graph<float>& g, Var word_emb, const TokenBatch& batch,
                        const std::vector<int32_t>& positions) const override {
    if (config_.head != ModelHead::CausalLM) throw Error(config_.architecture + " has no language-model head");
    Var x = body(g, word_emb, batch);
    const int64_t N = static_cast<int64_t>(batch.B) * batch.T;
    for (int32_t p : positions)
      if (p < 0 || p >= N) throw Error("forward (LM head): position " + std::to_string(p) + " outside the batch");
    Var h = g.embedding(g.reshape(x, Shape{N, C_}), positions.data(), Shape{static_cast<int64_t>(positions.size())});
    return g.linear(h, g.parameter(Shape{V_, C_}, lm_head_weights(), g.params_require_grad ? nullptr : &lm_head_packed_));
  }

  // Embeddings and blocks, then ln_f: (B, T, C).
  Var body(Graph<float>& g, Var word_emb, const TokenBatch& batch) const {
    detail::check_token_batch(batch);
    detail::check_rows_have_tokens(batch);
    const int B = batch.B, T = batch.T;
    detail::check_word_emb(g, word_emb, batch, C_);
    if (T > P_)
      throw Error("forward: " + std::to_string(T) + " tokens exceed the model's maximum of " + std::to_string(P_));

    thread_local std::vector<int32_t> pos_ids;
    pos_ids.resize(static_cast<size_t>(B) * T);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) pos_ids[static_cast<size_t>(b) * T + t] = t;
    Var x = g.add(word_emb, g.embedding(g.parameter(Shape{P_, C_}, wpe_.data()), pos_ids.data(), Shape{B, T}));
    g.mark("embeddings", x);
    const int Dh = C_ / H_;
    const bool train = g.params_require_grad;
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const Block& blk = blocks_[i];
      Var h = layer_norm(g, x, blk.ln_1);
      Var q, k, v;
      if (train) {
        Var qkv = conv1d(g, h, blk.c_attn);
        q = g.slice(qkv, 2, 0, C_);
        k = g.slice(qkv, 2, C_, 2 * C_);
        v = g.slice(qkv, 2, 2 * C_, 3 * C_);
      } else {
        q = lin(g, h, blk.q);
        k = lin(g, h, blk.k);
        v = lin(g, h, blk.v);
      }
      // The attention op divides the scores by sqrt(head size); GPT-2 may
      // leave that out or also divide by the layer's index + 1.
      double qs = 1.0;
      if (!config_.scale_attn_weights) qs *= std::sqrt(static_cast<double>(Dh));
      if (config_.scale_attn_by_inverse_layer_idx) qs /= static_cast<double>(i + 1);
      if (qs != 1.0) q = g.scale(q, static_cast<float>(qs));
      detail::record_attention(g, q, k, v, H_, batch.mask.data(), /*causal=*/true);
      Var att = g.attention(q, k, v, H_, batch.mask.data(), /*causal=*/true);
      Var a = train ? conv1d(g, att, blk.c_proj) : lin(g, att, blk.proj);
      x = g.add(x, a);
      g.forward_boundary({x});  // a tape that keeps only what backward reads frees the rest here
      Var n2 = layer_norm(g, x, blk.ln_2);
      Var m = train ? conv1d(g, g.unary(conv1d(g, n2, blk.c_fc), {act_, 1.0}), blk.mlp_proj)
                    : lin(g, g.unary(lin(g, n2, blk.fc), {act_, 1.0}), blk.out);
      x = g.add(x, m);
      g.forward_boundary({x});
      g.mark("layer." + std::to_string(i), x);
    }
    return layer_norm(g, x, ln_f_);
  }

  std::unique_ptr<DecoderState> start_decoding() const override;

  std::vector<ModelParameter> parameters() override {
    std::vector<ModelParameter> ps;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float>& v) {
      ps.push_back(ModelParameter{name, std::move(shape), v.data()});
    };
    auto add_norm = [&](const std::string& p, Norm& n) {
      add(p + "weight", {C_}, n.gamma);
      add(p + "bias", {C_}, n.beta);
    };
    auto add_conv = [&](const std::string& p, Conv1D& c) {
      add(p + "weight", {c.I, c.O}, c.w);
      add(p + "bias", {c.O}, c.b);
    };
    add(prefix_ + "wte.weight", {V_, C_}, wte_);
    add(prefix_ + "wpe.weight", {P_, C_}, wpe_);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const std::string l = layer(static_cast<int>(i));
      Block& b = blocks_[i];
      add_norm(l + "ln_1.", b.ln_1);
      add_conv(l + "attn.c_attn.", b.c_attn);
      add_conv(l + "attn.c_proj.", b.c_proj);
      add_norm(l + "ln_2.", b.ln_2);
      add_conv(l + "mlp.c_fc.", b.c_fc);
      add_conv(l + "mlp.c_proj.", b.mlp_proj);
    }
    add_norm(prefix_ + "ln_f.", ln_f_);
    if (config_.head == ModelHead::SequenceClassification)
      add("score.weight", {L_, C_}, score_.w);
    else if (!lm_head_.empty())
      add("lm_head.weight", {V_, C_}, lm_head_);
    return ps;
  }

  std::string word_embedding_name() const override { return prefix_ + "wte.weight"; }

  void parameters_changed() override {
    for (Block& b : blocks_) {
      to_linear(b.c_attn, 0, C_, b.q);
      to_linear(b.c_attn, C_, C_, b.k);
      to_linear(b.c_attn, 2 * C_, C_, b.v);
      to_linear(b.c_proj, 0, C_, b.proj);
      to_linear(b.c_fc, 0, F_, b.fc);
      to_linear(b.mlp_proj, 0, C_, b.out);
    }
    if (config_.head == ModelHead::SequenceClassification)
      score_.packed = pack_linear(L_, C_, score_.w.data());
    else
      lm_head_packed_ = pack_linear(V_, C_, lm_head_weights());
  }

 private:
  std::string layer(int i) const { return prefix_ + "h." + std::to_string(i) + "."; }
  std::vector<float> take(const std::string& name, const std::vector<int64_t>& shape) const {
    return detail::take_tensor(*st_, config_, name, shape);
  }
  Conv1D conv(const std::string& p, int I, int O) const {
    Conv1D c;
    c.I = I;
    c.O = O;
    c.w = take(p + "weight", {I, O});
    c.b = take(p + "bias", {O});
    return c;
  }
  Norm norm(const std::string& p) const {
    Norm n;
    n.gamma = take(p + "weight", {C_});
    n.beta = take(p + "bias", {C_});
    return n;
  }
  static Var lin(Graph<float>& g, Var x, const Linear& l) { return detail::apply_linear(g, x, l); }
  // x: (B, T, I) -> x W + b: (B, T, O), on the stored (I, O) weight.
  static Var conv1d(Graph<float>& g, Var x, const Conv1D& c) {
    const Shape s = g.shape(x);  // a copy: pushing nodes may move the graph's
    const int64_t N = s.numel() / c.I;
    Var y = g.matmul(g.reshape(x, Shape{N, c.I}), g.parameter(Shape{c.I, c.O}, c.w.data()));
    y = g.add(y, g.parameter(Shape{c.O}, c.b.data()));
    return g.reshape(y, Shape{s[0], s[1], c.O});
  }
  Var layer_norm(Graph<float>& g, Var x, const Norm& n) const {
    return detail::apply_layer_norm(g, x, n, C_, config_.layer_norm_eps);
  }
  const float* lm_head_weights() const { return lm_head_.empty() ? wte_.data() : lm_head_.data(); }

  friend class Gpt2Decoder;
  const SafetensorsFile* st_;  // only during construction
  int C_ = 0, H_ = 0, V_ = 0, F_ = 0, P_ = 0, L_ = 0;
  ops::Unary act_ = ops::Unary::gelu_tanh;
  std::string prefix_;
  std::vector<float> wte_, wpe_, lm_head_;  // lm_head_ empty: tied to wte_
  PackedLinear lm_head_packed_;
  std::vector<Block> blocks_;
  Norm ln_f_;
  Linear score_;  // classifier: (L, C), no bias
};

// The key/value cache: per block, the keys and values of every token seen,
// (P, C) each, filled up to length(). The new tokens run through the same
// tape ops as forward() (linear, LayerNorm, gelu_new on a graph without
// gradients); only their attention is computed here, against the cache.
class Gpt2Decoder : public DecoderState {
 public:
  explicit Gpt2Decoder(const Gpt2Model& m) : m_(m) {
    const size_t n = static_cast<size_t>(m.P_) * m.C_;
    k_.assign(m.blocks_.size(), std::vector<float>(n));
    v_.assign(m.blocks_.size(), std::vector<float>(n));
  }
  int length() const override { return len_; }

  void append(const int32_t* ids, int n, float* logits) override {
    const Gpt2Model& m = m_;
    const int C = m.C_, H = m.H_, Dh = C / H, P0 = len_;
    if (n < 1) throw Error("decoding: nothing to append");
    if (P0 + n > m.P_)
      throw Error("decoding: " + std::to_string(P0 + n) + " tokens exceed the model's maximum of " +
                  std::to_string(m.P_));
    for (int i = 0; i < n; ++i)
      if (ids[i] < 0 || ids[i] >= m.V_)
        throw Error("decoding: token id " + std::to_string(ids[i]) + " is outside the vocabulary of " +
                    std::to_string(m.V_));
    Graph<float>& g = g_;
    g.clear();
    x_.resize(static_cast<size_t>(n) * C);
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < C; ++c)
        x_[static_cast<size_t>(i) * C + c] = m.wte_[static_cast<size_t>(ids[i]) * C + c] +
                                             m.wpe_[static_cast<size_t>(P0 + i) * C + c];
    Var x = g.input(Shape{1, n, C}, x_.data(), false);
    att_.resize(static_cast<size_t>(n) * C);
    scores_.resize(static_cast<size_t>(P0 + n));
    for (size_t b = 0; b < m.blocks_.size(); ++b) {
      const Block& blk = m.blocks_[b];
      Var h = m.layer_norm(g, x, blk.ln_1);
      Var q = lin(g, h, blk.q), k = lin(g, h, blk.k), v = lin(g, h, blk.v);
      float* kc = k_[b].data();
      float* vc = v_[b].data();
      std::copy(g.value(k), g.value(k) + static_cast<size_t>(n) * C, kc + static_cast<size_t>(P0) * C);
      std::copy(g.value(v), g.value(v) + static_cast<size_t>(n) * C, vc + static_cast<size_t>(P0) * C);
      // As forward(): scores q.k / sqrt(Dh), times the config's scalings.
      double qs = 1.0 / std::sqrt(static_cast<double>(Dh));
      if (!m.config_.scale_attn_weights) qs *= std::sqrt(static_cast<double>(Dh));
      if (m.config_.scale_attn_by_inverse_layer_idx) qs /= static_cast<double>(b + 1);
      const float* qv = g.value(q);
      for (int i = 0; i < n; ++i) {
        const int keys = P0 + i + 1;  // causal: itself and every earlier token
        for (int hd = 0; hd < H; ++hd) {
          const float* qi = qv + static_cast<size_t>(i) * C + hd * Dh;
          float mx = -INFINITY;
          for (int j = 0; j < keys; ++j) {
            const float* kj = kc + static_cast<size_t>(j) * C + hd * Dh;
            float s = 0;
            for (int d = 0; d < Dh; ++d) s += qi[d] * kj[d];
            s = static_cast<float>(s * qs);
            scores_[static_cast<size_t>(j)] = s;
            mx = std::max(mx, s);
          }
          float z = 0;
          for (int j = 0; j < keys; ++j) z += (scores_[static_cast<size_t>(j)] = std::exp(scores_[static_cast<size_t>(j)] - mx));
          float* out = att_.data() + static_cast<size_t>(i) * C + hd * Dh;
          std::fill(out, out + Dh, 0.f);
          for (int j = 0; j < keys; ++j) {
            const float p = scores_[static_cast<size_t>(j)] / z;
            const float* vj = vc + static_cast<size_t>(j) * C + hd * Dh;
            for (int d = 0; d < Dh; ++d) out[d] += p * vj[d];
          }
        }
      }
      Var a = lin(g, g.input(Shape{1, n, C}, att_.data(), false), blk.proj);
      x = g.add(x, a);
      Var mo = lin(g, g.unary(lin(g, m.layer_norm(g, x, blk.ln_2), blk.fc), {m.act_, 1.0}), blk.out);
      x = g.add(x, mo);
    }
    // The head on the last new token only.
    Var last = g.slice(x, 1, n - 1, n);
    last = m.layer_norm(g, last, m.ln_f_);
    Var lg = g.linear(g.reshape(last, Shape{1, C}), g.parameter(Shape{m.V_, C}, m.lm_head_weights(), &m.lm_head_packed_));
    std::copy(g.value(lg), g.value(lg) + m.V_, logits);
    len_ += n;
  }

 private:
  static Var lin(Graph<float>& g, Var x, const Linear& l) { return detail::apply_linear(g, x, l); }
  const Gpt2Model& m_;
  int len_ = 0;
  std::vector<std::vector<float>> k_, v_;  // per block: (P, C)
  std::vector<float> x_, att_, scores_;
  Graph<float> g_;
};

std::unique_ptr<DecoderState> Gpt2Model::start_decoding() const {
  if (config_.head != ModelHead::CausalLM)
    throw Error(config_.architecture + " is not a causal language model: it cannot generate");
  return std::make_unique<Gpt2Decoder>(*this);
}

}  // namespace

std::vector<detail::TensorSpec> gpt2_layout(const ModelConfig& cfg) {
  const int C = cfg.hidden_size, V = cfg.vocab_size, L = cfg.num_labels, F = cfg.intermediate_size;
  const std::string p = "transformer.";
  std::vector<detail::TensorSpec> t;
  auto conv = [&](const std::string& n, int I, int O) {
    t.push_back({n + "weight", {I, O}});
    t.push_back({n + "bias", {O}});
  };
  auto norm = [&](const std::string& n) {
    t.push_back({n + "weight", {C}, detail::TensorInit::ones});
    t.push_back({n + "bias", {C}});
  };
  // Both tables N(0, 0.02) as GPT2PreTrainedModel._init_weights (no
  // padding row is zeroed: GPT-2's embedding has no padding_idx).
  t.push_back({p + "wte.weight", {V, C}, detail::TensorInit::weight});
  t.push_back({p + "wpe.weight", {cfg.max_position_embeddings, C}, detail::TensorInit::weight});
  for (int i = 0; i < cfg.num_hidden_layers; ++i) {
    const std::string l = p + "h." + std::to_string(i) + ".";
    norm(l + "ln_1.");
    conv(l + "attn.c_attn.", C, 3 * C);
    conv(l + "attn.c_proj.", C, C);
    norm(l + "ln_2.");
    conv(l + "mlp.c_fc.", C, F);
    conv(l + "mlp.c_proj.", F, C);
  }
  norm(p + "ln_f.");
  if (cfg.head == ModelHead::SequenceClassification)
    t.push_back({"score.weight", {L, C}});
  else if (!cfg.tie_word_embeddings)
    t.push_back({"lm_head.weight", {V, C}});
  return t;
}

std::unique_ptr<Model> make_gpt2_model(const ModelConfig& config, const SafetensorsFile& weights) {
  return std::make_unique<Gpt2Model>(config, weights);
}

}  // namespace wordlight
