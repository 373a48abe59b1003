#pragma once
// What the perturbation methods (kernel-shap, shapley-sampling, lime) share
// on the model side: the features (words, tokens, or distinct words), the
// model's output on a coalition of them with the absent ones masked as the
// `absent` option says, the common options, and writing the features'
// values back as word and token scores.
#include <string>
#include <vector>

#include "explain_internal.h"
#include "method_entry.h"
#include "wordlight/perturbation.h"

namespace wordlight::explain_detail {

struct Features {
  // Per feature: its token positions in the encoding and its words (indices
  // into Explanation::words; empty for features=tokens).
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<int32_t>> words;
  bool by_token = false;
  int size() const { return static_cast<int>(tokens.size()); }
};

// features: "words" (each word of the text) or "tokens" (each non-special
// token); bow: one feature per distinct word text (every occurrence removed
// at once; words only).
Features make_features(const Explanation& e, const std::string& features, bool bow);

// The model's explained output on coalitions of `feats`: tokens of absent
// features are
//   mask            replaced by the [MASK] / <mask> token
//   unk             replaced by the unknown token
//   pad             replaced by the padding token (attended as a real token)
//   remove          deleted (the sequence gets shorter)
//   zero            kept, their word embeddings set to zero
//   attention-off   kept, with attention mask 0 (transformers: no token
//                   attends to them; BERT's and DistilBERT's positions are
//                   unchanged, RoBERTa counts positions over attended
//                   tokens, so there the later words' positions shift as
//                   with remove; Hugging Face's RoBERTa would keep them)
// Special tokens ([CLS], [SEP]) are always present.
CoalitionFunction model_coalitions(MethodContext& ctx, const Features& feats, const std::string& absent);

// The model input for one coalition, for the absent strategies that change
// token ids or the attention mask (what model_coalitions runs): ids and
// mask (1 = attended). zero keeps every id and reports zeroed tokens in
// `zeroed`.
struct CoalitionInput {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  std::vector<uint8_t> zeroed;
};
CoalitionInput coalition_input(const ModelTarget& t, const Tokenizer& tok, const Features& feats,
                               const std::string& absent, const uint8_t* coalition);

// batch size, progress and cancel from the context; the full coalition is
// the prediction.
CoalitionRun coalition_run(MethodContext& ctx);

// What every perturbation method's run starts from: the features (options
// features, and bow when the method has it), the model's output on their
// coalitions (option absent) and how they are run (coalition_run).
struct CoalitionGame {
  Features feats;
  CoalitionFunction f;
  CoalitionRun run;
  int size() const { return feats.size(); }
};
CoalitionGame coalition_game(MethodContext& ctx, const Explanation& e, bool bow = false);

// r.gap = sum(r.values) - (r.f_full - r.f_empty), once the values are set.
void set_efficiency_gap(ShapleyResult& r);

// Word scores from feature values (each word of a feature gets its value;
// features=tokens: token values merged by the `merge` option), token
// scores shared evenly by a word's tokens (features=words).
void set_feature_scores(MethodContext& ctx, Explanation& e, const Features& feats, const std::vector<double>& values);

// features, absent, batch-size, seed.
std::vector<OptionSpec> perturbation_options();
// A method's own options, then those (without seed when it draws nothing).
std::vector<OptionSpec> perturbation_options(std::vector<OptionSpec> own, bool seeded = true);

// Solves A x = b for a symmetric positive semi-definite A (n, n) by
// Cholesky; when A is singular, the smallest ridge (from 1e-12 x the mean
// diagonal up) that makes it definite, which tends to the minimum-norm
// least-squares answer.
std::vector<double> solve_psd(std::vector<double> A, std::vector<double> b, int n);

// "2 samples per word" and the like: a check with the budget per feature.
ExplanationCheck samples_per_feature_check(int64_t samples, int M);
// The checks every Shapley-family method reports: the efficiency gap (sum of
// the values - (f(text) - f(empty)); `how` says why it is 0), f(empty)
// against f(text), and a 0/1 flag (exact values, or a fully expanded tree).
ExplanationCheck efficiency_check(const ShapleyResult& r, const std::string& how);
ExplanationCheck f_empty_check(const ShapleyResult& r);
ExplanationCheck flag_check(const std::string& name, bool on, const std::string& description);

}  // namespace wordlight::explain_detail
