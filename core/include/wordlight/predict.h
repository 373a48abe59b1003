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

// Each label's probability from a classifier's logits (C of them): the
// softmax over the labels, or, for a config whose problem_type is
// multi_label_classification (labels that hold independently, as Hugging
// Face trains them with BCEWithLogitsLoss), each label's own sigmoid.
bool is_multi_label(const ModelConfig& config);
std::vector<float> label_probabilities(const ModelConfig& config, const float* logits, int C);

// A sequence classifier's prediction from its logits (output_dim of them):
// probabilities, label and its name; target = label, output "logit",
// explained_value = the label's logit.
Prediction prediction_from_logits(const Model& model, const float* logits);

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

// Many texts at once (the page's data-set view): each encoded, the texts
// sorted by length and run batch_size at a time (the model's forward pass
// on a padded batch), so a long list costs fewer, larger passes. A row
// whose text cannot be predicted (no tokens) gets its error, the others
// their prediction, in the order of `texts`. control: progress in texts,
// cancel checked between batches (throws Cancelled).
struct BatchPrediction {
  bool ok = false;
  TextPrediction prediction;
  std::string error;
};
std::vector<BatchPrediction> predict_batch(const Model& model, const Tokenizer& tokenizer,
                                           const std::vector<std::string>& texts, int max_length = -1,
                                           int batch_size = 16, const ExplainControl& control = {});

// Explains many texts, one explain() each, in one call (no round trip per
// row): progress in texts, cancel checked in and between them (throws
// Cancelled); a row that cannot be explained (no tokens) gets its error.
// request.control is replaced by `control`.
// document_vectors: each row also gets its document vector, sum_w score_w
// x_w (x_w: word_embeddings), as the evaluation's docvectors family (Arras
// et al. 2017), for the page's PCA scatter.
struct BatchExplanation {
  bool ok = false;
  Explanation explanation;
  std::vector<double> document_vector;
  std::string error;
};
std::vector<BatchExplanation> explain_batch(const Model& model, const Tokenizer& tokenizer,
                                            const std::vector<std::string>& texts, const ExplainRequest& request,
                                            const ExplainControl& control = {}, bool document_vectors = false);

// Each word's embedding (D values): the mean of its tokens' word embeddings
// (Explanation::words[w].tokens, ids from Explanation::tokens).
std::vector<std::vector<double>> word_embeddings(const Model& model, const Explanation& e);

// Token sequences padded on the right with the model's pad token into one
// batch (B = seqs.size(), T = the longest); an empty sequence runs as one
// padding token.
TokenBatch pad_batch(const Model& model, const std::vector<std::vector<int32_t>>& seqs);

// The model on a padded batch of token ids (TokenBatch), with the gradient
// of the targets' logits with respect to the word embeddings when `targets`
// (B of them) is not empty.
BatchForward forward_batch(const Model& model, const TokenBatch& batch, const std::vector<int32_t>& targets = {});

}  // namespace wordlight
