#pragma once
// Attention weights of a transformer (BERT, DistilBERT, RoBERTa, GPT-2):
// softmax(q k^T / sqrt(Dh)) of every layer and head, as its forward
// computes them. They are what the model mixes, not an explanation of its
// prediction (Jain & Wallace 2019; Wiegreffe & Pinter 2019): the page's
// attention view says so, and no method here ranks words by them.
#include <cstdint>
#include <string>
#include <vector>

#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

// probs: (layers, B, heads, T, T), query i's row over keys j; each row of
// a real query sums to 1, padding keys get exactly 0, and GPT-2's keys
// after the query (causal) too. A padding query's row is whatever the
// kernel gives it (its keys are still masked); callers ignore it.
struct AttentionProbabilities {
  int layers = 0, B = 0, heads = 0, T = 0;
  std::vector<float> probs;
  float at(int layer, int b, int head, int i, int j) const {
    return probs[((((static_cast<size_t>(layer) * B + b) * heads + head) * T + i) * T + j)];
  }
};

// One forward of `model` on `batch` with the attention probabilities of each
// layer recorded; the logits are the same as forward()'s (the probabilities
// come from the same kernel, run again on the same queries and keys). Throws
// for models without attention (our CNN and BiLSTM).
AttentionProbabilities attention_probabilities(const Model& model, const TokenBatch& batch);

// One text's attention, for the page's attention view and model.attention().
struct TextAttention {
  int layers = 0, heads = 0, T = 0;
  std::vector<std::string> tokens;  // the vocabulary strings ("##ing", "Ġworld", "[CLS]")
  std::vector<std::string> texts;   // each token's bytes of the text; "" for special tokens
  std::vector<uint8_t> special;     // 1: inserted by the tokenizer
  std::vector<float> probs;         // (layers, heads, T, T)
  bool truncated = false;
  std::string notice;
  float at(int layer, int head, int i, int j) const {
    return probs[(((static_cast<size_t>(layer) * heads + head) * T + i) * T + j)];
  }
};

TextAttention text_attention(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                             int max_length = -1);

// {"layers", "heads", "tokens", "texts", "special", "attention": [layer][head][i][j],
//  "truncated", "notice"?}; strings are JSON-escaped (invalid UTF-8 replaced).
std::string text_attention_to_json(const TextAttention& a, int indent = -1);

}  // namespace wordlight
