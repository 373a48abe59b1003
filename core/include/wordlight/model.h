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

class Model {
 public:
  virtual ~Model() = default;
  const ModelConfig& config() const { return config_; }
  // Width of a word embedding (hidden_size for transformers).
  virtual int embedding_dim() const = 0;
  // Number of outputs per example (labels) or per position (vocabulary).
  virtual int output_dim() const = 0;
  // out: (B, T, D) word embeddings of batch.ids. Throws on an id outside the
  // vocabulary, naming it.
  virtual void embed(const TokenBatch& batch, float* out) const = 0;
  // word_emb: (B, T, D) -> logits.
  virtual Var forward(Graph<float>& g, Var word_emb, const TokenBatch& batch) const = 0;

 protected:
  ModelConfig config_;
};

// Builds the model that config.json names from the checkpoint's tensors
// (Hugging Face names). Missing or mis-shaped tensors throw Error naming the
// checkpoint, the tensor and the expected shape.
std::unique_ptr<Model> make_model(const ModelConfig& config, const SafetensorsFile& weights);

// Convenience: config.json + model.safetensors of a directory.
std::unique_ptr<Model> load_model_dir(const std::string& dir);

}  // namespace wordlight
