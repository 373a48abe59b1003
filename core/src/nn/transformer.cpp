// Transformer encoders in the Hugging Face layouts of BERT, DistilBERT and
// RoBERTa (post-LayerNorm blocks), with the sequence-classification and
// masked-LM heads of each family, built on the tape (graph.h).
#include <cmath>
#include <string>

#include "wordlight/error.h"
#include "wordlight/model.h"
#include "dense_layers.h"
#include "model_internal.h"

namespace wordlight {
namespace {

using Linear = detail::DenseLinear;  // w: (O, I), b: (O)
using Norm = detail::LayerNormParams;

struct Block {
  Linear q, k, v, out, ffn1, ffn2;
  Norm ln_attn, ln_out;
};

// Tensor names per family. `p` is the encoder prefix ("bert.", "roberta.",
// "distilbert." or "" for a checkpoint saved from the bare encoder).
// The names inside one block: a table with a row per family.
struct BlockNames {
  const char* layers;  // after the encoder prefix; then the block's index
  const char *q, *k, *v, *out, *ln_attn, *ffn1, *ffn2, *ln_out;
};
const BlockNames kDistilBertBlock = {"transformer.layer.", "attention.q_lin.",   "attention.k_lin.",
                                     "attention.v_lin.",   "attention.out_lin.", "sa_layer_norm.",
                                     "ffn.lin1.",          "ffn.lin2.",          "output_layer_norm."};
const BlockNames kBertBlock = {"encoder.layer.",         "attention.self.query.",       "attention.self.key.",
                               "attention.self.value.",  "attention.output.dense.",     "attention.output.LayerNorm.",
                               "intermediate.dense.",    "output.dense.",               "output.LayerNorm."};

struct Names : BlockNames {
  std::string word, pos, type, emb_ln;
  std::string layer_prefix;
  std::string layer(int i) const { return layer_prefix + std::to_string(i) + "."; }
};

Names names_for(ModelFamily f, const std::string& p) {
  Names n;
  static_cast<BlockNames&>(n) = f == ModelFamily::DistilBert ? kDistilBertBlock : kBertBlock;
  n.word = p + "embeddings.word_embeddings.weight";
  n.pos = p + "embeddings.position_embeddings.weight";
  n.type = p + "embeddings.token_type_embeddings.weight";
  n.emb_ln = p + "embeddings.LayerNorm.";
  n.layer_prefix = p + n.layers;
  return n;
}

class TransformerModel : public Model {
 public:
  TransformerModel(const ModelConfig& cfg, const SafetensorsFile& st) : st_(&st) {
    config_ = cfg;
    C_ = cfg.hidden_size;
    H_ = cfg.num_attention_heads;
    if (C_ <= 0 || H_ <= 0 || C_ % H_ != 0)
      throw Error(cfg.source + ": hidden size " + std::to_string(C_) + " is not a multiple of " +
                  std::to_string(H_) + " attention heads");
    if (cfg.hidden_act == "gelu")
      act_ = ops::Unary::gelu;
    else if (cfg.hidden_act == "gelu_new" || cfg.hidden_act == "gelu_pytorch_tanh")
      act_ = ops::Unary::gelu_tanh;
    else if (cfg.hidden_act == "relu")
      act_ = ops::Unary::relu;
    else
      throw Error(cfg.source + ": hidden_act '" + cfg.hidden_act +
                  "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)");

    const std::string fam = cfg.family == ModelFamily::Bert         ? "bert."
                            : cfg.family == ModelFamily::DistilBert ? "distilbert."
                                                                     : "roberta.";
    const std::string prefix = st.has(fam + "embeddings.word_embeddings.weight") ? fam : "";
    const Names n = names_for(cfg.family, prefix);

    V_ = cfg.vocab_size;
    word_ = take(n.word, {V_, C_});
    pos_ = take(n.pos, {cfg.max_position_embeddings, C_});
    if (cfg.family != ModelFamily::DistilBert && cfg.type_vocab_size > 0) type_ = take(n.type, {cfg.type_vocab_size, C_});
    emb_ln_ = norm(n.emb_ln);
    names_ = n;
    for (int i = 0; i < cfg.num_hidden_layers; ++i) {
      const std::string l = n.layer(i);
      Block b;
      b.q = linear(l + n.q, C_, C_);
      b.k = linear(l + n.k, C_, C_);
      b.v = linear(l + n.v, C_, C_);
      b.out = linear(l + n.out, C_, C_);
      b.ln_attn = norm(l + n.ln_attn);
      b.ffn1 = linear(l + n.ffn1, cfg.intermediate_size, C_);
      b.ffn2 = linear(l + n.ffn2, C_, cfg.intermediate_size);
      b.ln_out = norm(l + n.ln_out);
      blocks_.push_back(std::move(b));
    }

    L_ = cfg.num_labels;
    if (cfg.head == ModelHead::SequenceClassification) {
      if (cfg.family == ModelFamily::Bert) {
        head1_name_ = prefix + "pooler.dense.";
        head2_name_ = "classifier.";
      } else if (cfg.family == ModelFamily::DistilBert) {
        head1_name_ = "pre_classifier.";
        head2_name_ = "classifier.";
      } else {
        head1_name_ = "classifier.dense.";
        head2_name_ = "classifier.out_proj.";
      }
      head1_ = linear(head1_name_, C_, C_);
      head2_ = linear(head2_name_, L_, C_);
    } else {
      std::string dense, ln, decoder, bias;
      if (cfg.family == ModelFamily::Bert) {
        dense = "cls.predictions.transform.dense.";
        ln = "cls.predictions.transform.LayerNorm.";
        decoder = "cls.predictions.decoder.weight";
        bias = st.has("cls.predictions.decoder.bias") ? "cls.predictions.decoder.bias" : "cls.predictions.bias";
      } else if (cfg.family == ModelFamily::DistilBert) {
        dense = "vocab_transform.";
        ln = "vocab_layer_norm.";
        decoder = "vocab_projector.weight";
        bias = "vocab_projector.bias";
      } else {
        dense = "lm_head.dense.";
        ln = "lm_head.layer_norm.";
        decoder = "lm_head.decoder.weight";
        bias = st.has("lm_head.decoder.bias") ? "lm_head.decoder.bias" : "lm_head.bias";
      }
      head1_name_ = dense;
      mlm_ln_name_ = ln;
      decoder_name_ = decoder;
      decoder_bias_name_ = bias;
      head1_ = linear(dense, C_, C_);
      mlm_ln_ = norm(ln);
      // The decoder is tied to the word embeddings; checkpoints may or may
      // not store the tied copy. A stored copy equal to the embeddings is
      // the tie saved twice: the model keeps one table, so that training
      // keeps the two tied. Only a different stored decoder is kept apart.
      decoder_.O = V_;
      decoder_.I = C_;
      if (st.has(decoder)) {
        std::vector<float> w = take(decoder, {V_, C_});
        if (w != word_) decoder_.w = std::move(w);
      }
      decoder_.b = take(bias, {V_});
      decoder_.packed = pack_linear(V_, C_, decoder_weights());
    }
    st_ = nullptr;  // the checkpoint is only read during construction
  }

  int embedding_dim() const override { return C_; }
  int output_dim() const override { return config_.head == ModelHead::MaskedLM ? V_ : L_; }

  void embed(const TokenBatch& batch, float* out) const override {
    detail::embed_ids(config_, word_, V_, C_, batch, out);
  }

  Var forward(Graph<float>& g, Var word_emb, const TokenBatch& batch) const override {
    Var x = encode(g, word_emb, batch);
    if (config_.head == ModelHead::MaskedLM) return masked_lm_head(g, x);
    Var cls = g.reshape(g.slice(x, 1, 0, 1), Shape{batch.B, C_});
    Var h = lin(g, cls, head1_);
    h = config_.family == ModelFamily::DistilBert ? g.relu(h) : g.tanh(h);
    return lin(g, drop(g, h), head2_);
  }

  Var forward_masked_lm(Graph<float>& g, Var word_emb, const TokenBatch& batch,
                        const std::vector<int32_t>& positions) const override {
    if (config_.head != ModelHead::MaskedLM) return Model::forward_masked_lm(g, word_emb, batch, positions);
    const int64_t n = static_cast<int64_t>(batch.B) * batch.T;
    for (int32_t p : positions)
      if (p < 0 || p >= n || !batch.mask[static_cast<size_t>(p)])
        throw Error("forward_masked_lm: position " + std::to_string(p) + " is not a real token of the (" +
                    std::to_string(batch.B) + ", " + std::to_string(batch.T) + ") batch");
    Var x = encode(g, word_emb, batch);
    // The hidden states as (B*T, C) rows; embedding() gathers the chosen
    // rows (its backward scatters their gradients back).
    Var rows = g.embedding(g.reshape(x, Shape{n, C_}), positions.data(),
                           Shape{static_cast<int64_t>(positions.size())});
    return masked_lm_head(g, rows);
  }

  std::vector<ModelParameter> parameters() override {
    std::vector<ModelParameter> ps;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float>& v) {
      ps.push_back(ModelParameter{name, std::move(shape), v.data()});
    };
    auto add_lin = [&](const std::string& p, Linear& l) {
      add(p + "weight", {l.O, l.I}, l.w);
      add(p + "bias", {l.O}, l.b);
    };
    auto add_norm = [&](const std::string& p, Norm& n) {
      add(p + "weight", {C_}, n.gamma);
      add(p + "bias", {C_}, n.beta);
    };
    const Names& n = names_;
    add(n.word, {V_, C_}, word_);
    add(n.pos, {config_.max_position_embeddings, C_}, pos_);
    if (!type_.empty()) add(n.type, {config_.type_vocab_size, C_}, type_);
    add_norm(n.emb_ln, emb_ln_);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const std::string l = n.layer(static_cast<int>(i));
      Block& b = blocks_[i];
      add_lin(l + n.q, b.q);
      add_lin(l + n.k, b.k);
      add_lin(l + n.v, b.v);
      add_lin(l + n.out, b.out);
      add_norm(l + n.ln_attn, b.ln_attn);
      add_lin(l + n.ffn1, b.ffn1);
      add_lin(l + n.ffn2, b.ffn2);
      add_norm(l + n.ln_out, b.ln_out);
    }
    add_lin(head1_name_, head1_);
    if (config_.head == ModelHead::MaskedLM) {
      add_norm(mlm_ln_name_, mlm_ln_);
      if (!decoder_.w.empty()) add(decoder_name_, {V_, C_}, decoder_.w);
      add(decoder_bias_name_, {V_}, decoder_.b);
    } else {
      add_lin(head2_name_, head2_);
    }
    return ps;
  }

  std::string word_embedding_name() const override { return names_.word; }

  void parameters_changed() override {
    auto repack = [](Linear& l) { l.packed = pack_linear(l.O, l.I, l.w.data()); };
    for (Block& b : blocks_) {
      for (Linear* l : {&b.q, &b.k, &b.v, &b.out, &b.ffn1, &b.ffn2}) repack(*l);
    }
    repack(head1_);
    if (config_.head == ModelHead::MaskedLM)
      decoder_.packed = pack_linear(V_, C_, decoder_weights());
    else
      repack(head2_);
  }

 private:
  // Embeddings + encoder blocks: word_emb (B, T, C) -> hidden states (B, T, C).
  Var encode(Graph<float>& g, Var word_emb, const TokenBatch& batch) const {
    detail::check_token_batch(batch);
    const int B = batch.B, T = batch.T;
    detail::check_word_emb(g, word_emb, batch, C_);
    const int max_len = config_.max_position_embeddings - config_.position_offset;
    if (T > max_len)
      throw Error("forward: " + std::to_string(T) + " tokens exceed the model's maximum of " + std::to_string(max_len));

    // Position ids: 0.. for BERT/DistilBERT; RoBERTa counts real tokens from
    // padding_idx + 1 and gives padding the padding index.
    thread_local std::vector<int32_t> pos_ids_;
    pos_ids_.resize(static_cast<size_t>(B) * T);
    for (int b = 0; b < B; ++b) {
      int count = 0;
      for (int t = 0; t < T; ++t) {
        const bool real = batch.mask[b * T + t] != 0;
        if (config_.family == ModelFamily::Roberta) {
          count += real;
          pos_ids_[b * T + t] = real ? config_.pad_token_id + count : config_.pad_token_id;
        } else {
          pos_ids_[b * T + t] = t;
        }
      }
    }
    Var x = g.add(word_emb, g.embedding(param(g, pos_, {config_.max_position_embeddings, C_}), pos_ids_.data(), Shape{B, T}));
    if (!type_.empty()) {
      // Single-sentence input: token type 0 everywhere, a (C) row broadcast.
      x = g.add(x, g.parameter(Shape{C_}, type_.data()));
    }
    x = drop(g, layer_norm(g, x, emb_ln_));
    g.mark("embeddings", x);
    int layer = 0;
    for (const Block& blk : blocks_) {
      Var q = lin(g, x, blk.q), k = lin(g, x, blk.k), v = lin(g, x, blk.v);
      detail::record_attention(g, q, k, v, H_, batch.mask.data(), /*causal=*/false);
      Var a = drop(g, lin(g, g.attention(q, k, v, H_, batch.mask.data()), blk.out));
      x = layer_norm(g, g.add(x, a), blk.ln_attn);
      g.forward_boundary({x});  // a tape that keeps only what backward reads frees the rest here
      Var f = drop(g, lin(g, g.unary(lin(g, x, blk.ffn1), {act_, 1.0}), blk.ffn2));
      x = layer_norm(g, g.add(x, f), blk.ln_out);
      g.forward_boundary({x});
      g.mark("layer." + std::to_string(layer++), x);
    }
    return x;
  }
  // The masked-LM head on hidden states (..., C) -> logits (..., V):
  // dense + GELU + LayerNorm, then the decoder (tied to the word embeddings
  // unless the checkpoint stored a different one) with its bias.
  Var masked_lm_head(Graph<float>& g, Var x) const {
    Var t = layer_norm(g, g.gelu(lin(g, x, head1_)), mlm_ln_);
    return g.linear(t, g.parameter(Shape{V_, C_}, decoder_weights(), &decoder_.packed),
                    g.parameter(Shape{V_}, decoder_.b.data()));
  }
  std::vector<float> take(const std::string& name, const std::vector<int64_t>& shape) const {
    return detail::take_tensor(*st_, config_, name, shape);
  }
  Linear linear(const std::string& prefix, int O, int I) const {
    Linear l;
    l.O = O;
    l.I = I;
    l.w = take(prefix + "weight", {O, I});
    l.b = take(prefix + "bias", {O});
    l.packed = pack_linear(O, I, l.w.data());
    return l;
  }
  Norm norm(const std::string& prefix) const {
    // Checkpoints converted from the original TensorFlow BERT (and some
    // hub files of that era) name LayerNorm's scale and shift gamma and
    // beta; transformers renames them on loading, and so do we.
    const bool old_names = !st_->has(prefix + "weight") && st_->has(prefix + "gamma");
    Norm n;
    n.gamma = take(prefix + (old_names ? "gamma" : "weight"), {C_});
    n.beta = take(prefix + (old_names ? "beta" : "bias"), {C_});
    return n;
  }
  static Var param(Graph<float>& g, const std::vector<float>& v, Shape s) { return g.parameter(s, v.data()); }
  static Var lin(Graph<float>& g, Var x, const Linear& l) { return detail::apply_linear(g, x, l); }
  // The decoder's weights: the word embeddings unless the checkpoint gave
  // it a different table.
  const float* decoder_weights() const { return decoder_.w.empty() ? word_.data() : decoder_.w.data(); }
  // Hidden dropout where the Hugging Face models apply it; a no-op unless
  // the graph is training.
  Var drop(Graph<float>& g, Var x) const {
    if (!g.training || config_.dropout == 0.f) return x;
    return g.dropout(x, config_.dropout, g.next_dropout_seed());
  }
  Var layer_norm(Graph<float>& g, Var x, const Norm& n) const {
    return detail::apply_layer_norm(g, x, n, C_, config_.layer_norm_eps);
  }

  const SafetensorsFile* st_;  // only during construction
  int C_ = 0, H_ = 0, V_ = 0, L_ = 0;
  ops::Unary act_ = ops::Unary::gelu;
  std::vector<float> word_, pos_, type_;
  Norm emb_ln_, mlm_ln_;
  std::vector<Block> blocks_;
  Linear head1_, head2_, decoder_;  // decoder_.w empty: tied to word_
  Names names_;
  std::string head1_name_, head2_name_, mlm_ln_name_, decoder_name_, decoder_bias_name_;
};

}  // namespace

std::vector<detail::TensorSpec> transformer_layout(const ModelConfig& cfg) {
  const int C = cfg.hidden_size, V = cfg.vocab_size, L = cfg.num_labels, F = cfg.intermediate_size;
  const std::string prefix = cfg.family == ModelFamily::Bert         ? "bert."
                             : cfg.family == ModelFamily::DistilBert ? "distilbert."
                                                                      : "roberta.";
  const Names n = names_for(cfg.family, prefix);
  std::vector<detail::TensorSpec> t;
  auto lin = [&](const std::string& p, int O, int I) {
    t.push_back({p + "weight", {O, I}});
    t.push_back({p + "bias", {O}});
  };
  auto norm = [&](const std::string& p) {
    t.push_back({p + "weight", {C}, detail::TensorInit::ones});
    t.push_back({p + "bias", {C}});
  };
  t.push_back({n.word, {V, C}, detail::TensorInit::embedding});
  t.push_back({n.pos, {cfg.max_position_embeddings, C}, detail::TensorInit::embedding});
  if (cfg.family != ModelFamily::DistilBert && cfg.type_vocab_size > 0)
    t.push_back({n.type, {cfg.type_vocab_size, C}, detail::TensorInit::embedding});
  norm(n.emb_ln);
  for (int i = 0; i < cfg.num_hidden_layers; ++i) {
    const std::string l = n.layer(i);
    lin(l + n.q, C, C);
    lin(l + n.k, C, C);
    lin(l + n.v, C, C);
    lin(l + n.out, C, C);
    norm(l + n.ln_attn);
    lin(l + n.ffn1, F, C);
    lin(l + n.ffn2, C, F);
    norm(l + n.ln_out);
  }
  if (cfg.head == ModelHead::SequenceClassification) {
    if (cfg.family == ModelFamily::Bert) {
      lin(prefix + "pooler.dense.", C, C);
      lin("classifier.", L, C);
    } else if (cfg.family == ModelFamily::DistilBert) {
      lin("pre_classifier.", C, C);
      lin("classifier.", L, C);
    } else {
      lin("classifier.dense.", C, C);
      lin("classifier.out_proj.", L, C);
    }
  } else if (cfg.family == ModelFamily::Bert) {
    lin("cls.predictions.transform.dense.", C, C);
    norm("cls.predictions.transform.LayerNorm.");
    t.push_back({"cls.predictions.bias", {V}});
  } else if (cfg.family == ModelFamily::DistilBert) {
    lin("vocab_transform.", C, C);
    norm("vocab_layer_norm.");
    t.push_back({"vocab_projector.bias", {V}});
  } else {
    lin("lm_head.dense.", C, C);
    norm("lm_head.layer_norm.");
    t.push_back({"lm_head.bias", {V}});
  }
  return t;
}

std::unique_ptr<Model> make_transformer_model(const ModelConfig& config, const SafetensorsFile& weights) {
  return std::make_unique<TransformerModel>(config, weights);
}

}  // namespace wordlight
