#pragma once
// A classifier's prediction on a text, and a plain batch forward pass over
// token ids: what the shells (the wasm module, scripts) call when they want
// the model's output without an explanation.
#include <cstdint>
#include <string>
#include <vector>

#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

struct TextPrediction {
  // label, label_name, logits, probabilities; target = label, output
  // "logit", explained_value = the label's logit.
  Prediction prediction;
  int num_tokens = 0;       // special tokens included
  bool truncated = false;   // the text did not fit the model; `notice` says so
  std::string notice;
};

// Runs a sequence classifier on `text` (max_length in tokens as in
// ExplainRequest). Throws Error for a masked-LM head or a text without
// tokens.
TextPrediction predict(const Model& model, const Tokenizer& tokenizer, const std::string& text, int max_length = -1);
// {"label", "label_name", "logits", "probabilities", "num_tokens", "truncated"[, "notice"]}
std::string prediction_to_json(const TextPrediction& p, int indent = -1);

struct BatchForward {
  std::vector<int64_t> logits_shape;  // (B, num_labels), or (B, T, vocab) for masked LMs
  std::vector<float> logits;
  // When targets were given: d sum_b logits[b, targets[b]] / d word
  // embeddings, (B, T, D). Classifiers only.
  std::vector<float> input_gradient;
};

// The model on a padded batch of token ids (TokenBatch), with the gradient
// of the targets' logits with respect to the word embeddings when `targets`
// (B of them) is not empty.
BatchForward forward_batch(const Model& model, const TokenBatch& batch, const std::vector<int32_t>& targets = {});

}  // namespace wordlight
