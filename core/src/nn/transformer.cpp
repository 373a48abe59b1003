// Transformer encoders in the Hugging Face layouts of BERT, DistilBERT and
// RoBERTa (post-LayerNorm blocks), with the sequence-classification and
// masked-LM heads of each family, built on the tape (graph.h).
#include <cmath>
#include <string>

#include "wordlight/error.h"
#include "wordlight/model.h"
#include "model_internal.h"

namespace wordlight {
namespace {

struct Linear {
  int O = 0, I = 0;
  std::vector<float> w, b;  // w: (O, I), b: (O)
  PackedLinear packed;
};

struct Norm {
  std::vector<float> gamma, beta;  // (C)
};

struct Block {
  Linear q, k, v, out, ffn1, ffn2;
  Norm ln_attn, ln_out;
};

// Tensor names per family. `p` is the encoder prefix ("bert.", "roberta.",
// "distilbert." or "" for a checkpoint saved from the bare encoder).
struct Names {
  std::string word, pos, type, emb_ln;
  std::string layer(int i) const { return layer_prefix + std::to_string(i) + "."; }
  std::string layer_prefix;
  std::string q, k, v, out, ln_attn, ffn1, ffn2, ln_out;
};

Names names_for(ModelFamily f, const std::string& p) {
  Names n;
  n.word = p + "embeddings.word_embeddings.weight";
  n.pos = p + "embeddings.position_embeddings.weight";
  n.type = p + "embeddings.token_type_embeddings.weight";
  n.emb_ln = p + "embeddings.LayerNorm.";
  if (f == ModelFamily::DistilBert) {
    n.layer_prefix = p + "transformer.layer.";
    n.q = "attention.q_lin.";
    n.k = "attention.k_lin.";
    n.v = "attention.v_lin.";
    n.out = "attention.out_lin.";
    n.ln_attn = "sa_layer_norm.";
    n.ffn1 = "ffn.lin1.";
    n.ffn2 = "ffn.lin2.";
    n.ln_out = "output_layer_norm.";
  } else {
    n.layer_prefix = p + "encoder.layer.";
    n.q = "attention.self.query.";
    n.k = "attention.self.key.";
    n.v = "attention.self.value.";
    n.out = "attention.output.dense.";
    n.ln_attn = "attention.output.LayerNorm.";
    n.ffn1 = "intermediate.dense.";
    n.ffn2 = "output.dense.";
    n.ln_out = "output.LayerNorm.";
  }
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
    else if (cfg.hidden_act == "relu")
      act_ = ops::Unary::relu;
    else
      throw Error(cfg.source + ": hidden_act '" + cfg.hidden_act + "' is not supported (gelu, relu)");

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
        head1_ = linear(prefix + "pooler.dense.", C_, C_);
        head2_ = linear("classifier.", L_, C_);
      } else if (cfg.family == ModelFamily::DistilBert) {
        head1_ = linear("pre_classifier.", C_, C_);
        head2_ = linear("classifier.", L_, C_);
      } else {
        head1_ = linear("classifier.dense.", C_, C_);
        head2_ = linear("classifier.out_proj.", L_, C_);
      }
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
      head1_ = linear(dense, C_, C_);
      mlm_ln_ = norm(ln);
      // The decoder is tied to the word embeddings; checkpoints may or may
      // not store the tied copy.
      decoder_.O = V_;
      decoder_.I = C_;
      decoder_.w = st.has(decoder) ? take(decoder, {V_, C_}) : word_;
      decoder_.b = take(bias, {V_});
      decoder_.packed = pack_linear(V_, C_, decoder_.w.data());
    }
    st_ = nullptr;  // the checkpoint is only read during construction
  }

  int embedding_dim() const override { return C_; }
  int output_dim() const override { return config_.head == ModelHead::MaskedLM ? V_ : L_; }

  void embed(const TokenBatch& batch, float* out) const override {
    detail::embed_ids(config_, word_, V_, C_, batch, out);
  }

  Var forward(Graph<float>& g, Var word_emb, const TokenBatch& batch) const override {
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
    x = layer_norm(g, x, emb_ln_);
    for (const Block& blk : blocks_) {
      Var q = lin(g, x, blk.q), k = lin(g, x, blk.k), v = lin(g, x, blk.v);
      Var a = lin(g, g.attention(q, k, v, H_, batch.mask.data()), blk.out);
      x = layer_norm(g, g.add(x, a), blk.ln_attn);
      Var f = lin(g, g.unary(lin(g, x, blk.ffn1), {act_, 1.0}), blk.ffn2);
      x = layer_norm(g, g.add(x, f), blk.ln_out);
    }
    if (config_.head == ModelHead::MaskedLM) {
      Var t = layer_norm(g, g.gelu(lin(g, x, head1_)), mlm_ln_);
      return lin(g, t, decoder_);
    }
    Var cls = g.reshape(g.slice(x, 1, 0, 1), Shape{B, C_});
    Var h = lin(g, cls, head1_);
    h = config_.family == ModelFamily::DistilBert ? g.relu(h) : g.tanh(h);
    return lin(g, h, head2_);
  }

 private:
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
    Norm n;
    n.gamma = take(prefix + "weight", {C_});
    n.beta = take(prefix + "bias", {C_});
    return n;
  }
  static Var param(Graph<float>& g, const std::vector<float>& v, Shape s) { return g.parameter(s, v.data()); }
  static Var lin(Graph<float>& g, Var x, const Linear& l) {
    return g.linear(x, g.parameter(Shape{l.O, l.I}, l.w.data(), &l.packed), g.parameter(Shape{l.O}, l.b.data()));
  }
  Var layer_norm(Graph<float>& g, Var x, const Norm& n) const {
    return g.layernorm(x, param(g, n.gamma, {C_}), param(g, n.beta, {C_}), config_.layer_norm_eps);
  }

  const SafetensorsFile* st_;  // only during construction
  int C_ = 0, H_ = 0, V_ = 0, L_ = 0;
  ops::Unary act_ = ops::Unary::gelu;
  std::vector<float> word_, pos_, type_;
  Norm emb_ln_, mlm_ln_;
  std::vector<Block> blocks_;
  Linear head1_, head2_, decoder_;
};

}  // namespace

std::unique_ptr<Model> make_transformer_model(const ModelConfig& config, const SafetensorsFile& weights) {
  return std::make_unique<TransformerModel>(config, weights);
}

}  // namespace wordlight
