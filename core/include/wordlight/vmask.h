#pragma once
// VMASK (Chen and Ji, "Learning Variational Word Masks to Improve the
// Interpretability of Neural Text Classifiers", EMNLP 2020; UVa-NLP/VMASK):
// a word-mask layer between the word embeddings and the rest of a
// wordlight-cnn or wordlight-bilstm (config key "vmask": {"hidden": H}).
//
//   x: word embeddings (B, T, D)
//   z = hidden2p(tanh(linear(x)))      (B, T, 2)   logits of (drop, keep)
//   d = z_keep - z_drop                (B, T, 1)   so p_keep = softmax(z)_keep = sigmoid(d)
//   training:  x' = r x, r = a hard Gumbel-softmax sample of (drop, keep) at
//              temperature 1, straight-through (forward: 0 or 1; backward:
//              the gradient of the soft sample sigmoid(d + g_keep - g_drop))
//   inference: x' = p_keep x
//
// The training objective adds beta * mean over real tokens of
// p log p + (1 - p) log(1 - p) (penalty()): the information-bottleneck term,
// KL(q(R | x) || Bernoulli(0.5)) up to a constant, which keeps the mask
// from keeping every word. The `vmask` explanation method reads p_keep.
//
// LRP passes the layer with the gate rule (signal-take-all, as for an
// LSTM's gates, Arras et al. 2017): x' = p * x is built as mul(p, x), the
// gate first; all of x''s relevance goes to x and none into the mask
// network, so relevance is conserved through the layer (with the gradient
// rule, x * G(x) would count it twice: once through the signal, once more
// through p's dependence on x).
#include <cstdint>
#include <string>
#include <vector>

#include "wordlight/gemm.h"
#include "wordlight/graph.h"

namespace wordlight {

struct ModelConfig;
struct ModelParameter;
struct TokenBatch;
struct SafetensorsFile;

class VmaskLayer {
 public:
  // Tensor names in model.safetensors: linear (H, D) + (H), hidden2p
  // (2, H) + (2), rows of hidden2p in the order (drop, keep) like the
  // reference code's softmax(p)[..., 1] = keep.
  static constexpr const char* kLinearWeight = "vmask.linear.weight";
  static constexpr const char* kLinearBias = "vmask.linear.bias";
  static constexpr const char* kOutWeight = "vmask.hidden2p.weight";
  static constexpr const char* kOutBias = "vmask.hidden2p.bias";

  VmaskLayer() = default;
  // Reads the four tensors (config.vmask_hidden = H, config.embedding_dim = D).
  VmaskLayer(const ModelConfig& cfg, const SafetensorsFile& st);

  int hidden() const { return H_; }
  // x: (B, T, D) -> d (B, T, 1), the keep-minus-drop logit.
  Var keep_logit(Graph<float>& g, Var x) const;
  // x: (B, T, D) -> p_keep (B, T, 1).
  Var keep_probability(Graph<float>& g, Var x) const { return g.sigmoid(keep_logit(g, x)); }
  // x: (B, T, D) -> x' (B, T, D): r x while g.training (r drawn with
  // g.next_dropout_seed()), p_keep x otherwise.
  Var apply(Graph<float>& g, Var x) const;
  // x: (B, T, D) -> scalar: mean over the batch's real tokens of
  // p log p + (1 - p) log(1 - p), p = p_keep (in [-log 2, 0]).
  Var penalty(Graph<float>& g, Var x, const TokenBatch& batch) const;

  void append_parameters(std::vector<ModelParameter>& ps);
  void parameters_changed();

 private:
  int D_ = 0, H_ = 0;
  std::vector<float> w1_, b1_, w2_, b2_;  // (H, D), (H), (2, H), (2)
  PackedLinear p1_, p2_;
};

// p_keep of every token of one batch, as plain floats (B * T, padding
// included); throws when the model has no mask layer.
class Model;
std::vector<float> vmask_keep_probabilities(const Model& model, const std::vector<float>& word_emb,
                                            const TokenBatch& batch);

}  // namespace wordlight
