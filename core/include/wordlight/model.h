#pragma once
// A loaded classifier or masked language model, seen the way attribution
// methods need it: the word-embedding lookup is split from the rest of the
// network, so that explanations can differentiate with respect to the
// embeddings of the words (the input of every gradient method) and replace
// them (baselines, occlusion, noise).
//
//   embed(batch)                 -> word embeddings (B, T, D) as plain floats
//   forward(g, word_emb, batch)  -> logits (B, num_labels) for classifiers,
//                                   (B, T, vocab) for masked language models
//
// Everything else the architecture adds to the word embeddings (position and
// token-type embeddings) happens inside forward(), with the model's weights
// as graph parameters (no gradients unless the graph asks for them).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wordlight/graph.h"
#include "wordlight/model_config.h"
#include "wordlight/safetensors.h"

namespace wordlight {

// A batch of token ids, padded on the right. ids: (B, T); mask: (B, T),
// 1 = real token, 0 = padding.
struct TokenBatch {
  int B = 0, T = 0;
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
};

// A trainable tensor of a model under its checkpoint (safetensors) name.
// `data` points into the model's own storage: an optimiser writes through
// it and then calls Model::parameters_changed().
struct ModelParameter {
  std::string name;            // e.g. "convs.0.weight", "bert.embeddings.word_embeddings.weight"
  std::vector<int64_t> shape;  // as in the checkpoint
  float* data = nullptr;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// Incremental decoding of a causal language model with a key/value cache:
// each append() runs only the new tokens through the network, their
// queries attending to the cached keys and values of every earlier token
// (GPT-2), instead of recomputing the whole sequence per generated token.
class DecoderState {
 public:
  virtual ~DecoderState() = default;
  // Tokens seen so far.
  virtual int length() const = 0;
  // Appends n tokens (n >= 1) and writes the next-token logits after the
  // last of them to logits (vocab_size). Throws past the model's positions.
  virtual void append(const int32_t* ids, int n, float* logits) = 0;
};

// A learned part a model carries besides its classifier weights, for the
// methods that need one (MethodInfo::requires_part): DiffMask's probes,
// trained for these weights and loaded from diffmask.* next to the model.
// Each part's type derives from this; its method reads it back with
// Model::part_as<T>(name).
struct ModelPart {
  virtual ~ModelPart() = default;
};

class Model {
 public:
  virtual ~Model() = default;
  const ModelConfig& config() const { return config_; }

  // ---------------------------------------------------------- learned parts
  // The names of the learned parts the model carries ("diffmask": loaded
  // from its files; "vmask": a layer its own config declares, attached with
  // no data by its builder), sorted. A method that requires one applies
  // only where it is (method_applies(m, model)).
  std::vector<std::string> parts() const;
  bool has_part(const std::string& name) const { return parts_.count(name) > 0; }
  // The part's data; null when absent or carried without data.
  const ModelPart* part(const std::string& name) const;
  template <class T>
  const T* part_as(const std::string& name) const { return dynamic_cast<const T*>(part(name)); }
  // Adds (or replaces) a part; data may be null (a part of the model's own
  // weights). Clears a refusal of that name.
  void attach_part(const std::string& name, std::shared_ptr<const ModelPart> data = nullptr);
  // A part's files were there but could not be used (trained for other
  // weights, unreadable): the part is absent and `why` says why, which is
  // what method_applies() then tells. "" when not refused.
  void refuse_part(const std::string& name, const std::string& why);
  std::string part_refused(const std::string& name) const;
  // Width of a word embedding (hidden_size for transformers).
  virtual int embedding_dim() const = 0;
  // Number of outputs per example (labels) or per position (vocabulary).
  virtual int output_dim() const = 0;
  // out: (B, T, D) word embeddings of batch.ids. Throws on an id outside the
  // vocabulary, naming it.
  virtual void embed(const TokenBatch& batch, float* out) const = 0;
  // word_emb: (B, T, D) -> logits.
  virtual Var forward(Graph<float>& g, Var word_emb, const TokenBatch& batch) const = 0;
  // Masked language models: the logits (P, vocab) at P positions only
  // (flat indices b * T + t of real tokens), the same rows as forward()'s
  // but with the head run on those P hidden states alone, which is what
  // masked-LM training needs (the vocabulary-sized decoder on every
  // position would cost as much as the encoder). Throws for other heads.
  virtual Var forward_masked_lm(Graph<float>& g, Var word_emb, const TokenBatch& batch,
                                const std::vector<int32_t>& positions) const {
    throw Error(config_.architecture + " has no masked-LM head");
  }

  // The VMASK word-mask layer (wordlight/vmask.h) after the word
  // embeddings, or null: wordlight-cnn and wordlight-bilstm with the config
  // key "vmask". Training adds its penalty to the loss; the `vmask` method
  // reads its keep probabilities.
  virtual const class VmaskLayer* vmask() const { return nullptr; }

  // Causal language models: a fresh key/value-cache decoder. Throws for
  // other heads.
  virtual std::unique_ptr<DecoderState> start_decoding() const {
    throw Error(config_.architecture + " is not a causal language model: it cannot generate");
  }

  // ---------------------------------------------------------- training
  // Every trainable tensor once, in checkpoint order; a tied weight (the
  // masked-LM decoder sharing the word embeddings) is listed once, under
  // its owner's name. Saving these tensors gives a checkpoint that
  // make_model() reads back. Pointers stay valid for the model's lifetime.
  virtual std::vector<ModelParameter> parameters() = 0;
  // The name (in parameters()) of the word-embedding table. embed() reads it
  // outside the graph, so its gradient is the gradient of the
  // word-embedding input scattered by token id, plus whatever the graph's
  // parameter() nodes give it (a tied decoder).
  virtual std::string word_embedding_name() const = 0;
  // Call after writing through parameters(): re-derives what the model
  // caches from its weights (the packed copies the fast GEMM path uses).
  virtual void parameters_changed() = 0;
  // Dropout: forward() drops with config().dropout only when g.training is
  // set (explanations never drop), seeding each dropout op from
  // g.next_dropout_seed() so a training run is reproducible.

 protected:
  ModelConfig config_;

 private:
  std::map<std::string, std::shared_ptr<const ModelPart>> parts_;
  std::map<std::string, std::string> refused_parts_;
};

// Builds the model that config.json names from the checkpoint's tensors
// (Hugging Face names). Missing or mis-shaped tensors throw Error naming the
// checkpoint, the tensor and the expected shape.
std::unique_ptr<Model> make_model(const ModelConfig& config, const SafetensorsFile& weights);

// Fresh weights for `config`, every tensor make_model() reads, drawn
// deterministically from `seed` (the same on every platform): transformers
// as Hugging Face initialises them (N(0, 0.02), LayerNorm 1 and 0, biases
// 0), our CNN and BiLSTM as PyTorch does (embeddings N(0, 1), weights
// U(+-1/sqrt(fan_in)), biases 0); the padding token's embedding is zero.
SafetensorsFile random_checkpoint(const ModelConfig& config, uint64_t seed);

// The model's parameters as tensors to write (write_safetensors), stored as
// `dtype` (F32, or F16 / BF16 for smaller shipped files). The pointers are
// the model's: write before changing the model.
std::vector<TensorToWrite> checkpoint_tensors(Model& model, DType dtype = DType::F32);

}  // namespace wordlight
