#pragma once
// Counterfactuals: the smallest changes of a text that flip a classifier's
// decision (the predicted class changes). Three generators, each an entry
// of one small table (name, title, options with defaults and ranges, cost),
// all with a result of one shape (CounterfactualResult):
//
//   hotflip        HotFlip (Ebrahimi et al. 2018, as LIT's hotflip.py): one
//                  backward pass of the margin (predicted class's logit
//                  minus the runner-up's); the replacement of word w is
//                  argmax_v (e_v - e_w)^T (-grad_w) over whole words of the
//                  vocabulary (e_w, grad_w: the word's first token); words
//                  ranked by |grad_w|^2 (summed over its tokens), the top
//                  `positions` considered (a word whose gradient is exactly
//                  0 gives no direction and is left out); every combination
//                  of up to `max-flips` of them in order of size.
//   ablation-flip  (LIT's ablation_flip.py): delete up to `max-deletions`
//                  of the `positions` most relevant words by an explanation
//                  method (option method; signed scores: the words that
//                  speak most for the prediction, unsigned: the largest).
//   mlm-edits      ours: rank words by an explanation method, mask the top
//                  `positions` (k) at once in a masked LM, take its top
//                  `fills` (m) whole words at each, try the combinations in
//                  order of size (sum_j C(k, j) m^j texts, capped by
//                  max-evaluations: the result says when the cap cut the
//                  search), and order the flips of each size by fluency,
//                  the MLM's pseudo-log-likelihood of the edited text.
//
// In all three: combinations are tried in order of size and a superset of
// a combination (of words) that flipped is never tried, so every result is
// minimal; words the caller locks are never edited; replacements are whole
// words of a vocabulary (a token that, tokenized alone, is itself: no "##"
// pieces, no special tokens); the search stops after max-counterfactuals
// flips (mlm-edits: after the size where it reached that many). Edited
// texts run through the model in batches of batch-size; progress is
// reported in model evaluations and cancel is checked between batches. No
// randomness is used: the same text, model and options give the same result.
#include <cstdint>
#include <string>
#include <vector>

#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

struct GeneratorInfo {
  std::string name;         // "hotflip", "ablation-flip", "mlm-edits"
  std::string title;        // "HotFlip"
  std::string description;  // one line
  std::vector<OptionSpec> options;
  std::string cost;         // one line: what a search costs, in model evaluations
  bool needs_mlm = false;   // mlm-edits: CounterfactualRequest::mlm must be set
};

// Every generator, in a stable order.
const std::vector<GeneratorInfo>& counterfactual_generators();
// Throws Error naming the unknown generator and the known ones.
const GeneratorInfo& generator_info(const std::string& name);
// Checks `given` against the generator's options (unknown, wrong type, out
// of range, not a choice: Error) and fills in the defaults.
MethodOptions resolve_generator_options(const std::string& generator, const MethodOptions& given);

struct CounterfactualEdit {
  int32_t word = -1;        // index into CounterfactualResult::words
  Span span;                // bytes of the original text
  std::string original;     // the word as typed
  std::string replacement;  // empty: deleted
  Span new_span;            // bytes of the edited text (empty at the place of a deletion)
};

struct Counterfactual {
  std::string text;                       // the edited text
  std::vector<CounterfactualEdit> edits;  // in text order
  Prediction prediction;                  // of the edited text (label, logits, probabilities)
  double probability = 0;                 // of its new label
  bool has_fluency = false;               // mlm-edits: the MLM's pseudo-log-likelihood was computed
  double fluency = 0;                     // sum over the edited text's tokens of log p(token | the rest)
  double fluency_per_token = 0;
  int64_t evaluations = 0;                // model evaluations spent when it was found
};

struct CounterfactualRequest {
  std::string generator = "hotflip";
  MethodOptions options;           // checked by resolve_generator_options
  std::vector<int32_t> locked;     // word indices (CounterfactualResult::words) never edited
  int max_length = -1;             // tokens, as ExplainRequest::max_length
  ExplainControl control;          // progress in model evaluations; cancel
  const Model* mlm = nullptr;      // mlm-edits: a masked language model
  const Tokenizer* mlm_tokenizer = nullptr;
};

struct CounterfactualResult {
  std::string generator;
  MethodOptions options;
  std::string text;
  Prediction prediction;           // of the text
  std::vector<WordScore> words;    // the text's words; score: what ranked them (|grad|^2, relevance)
  std::string ranking;             // what the scores are ("squared gradient of the margin", "gradient-x-input")
  std::vector<int32_t> positions;  // the words considered, best first
  std::vector<int32_t> locked;
  // hotflip: the replacement found for each considered word (same order as
  // positions); mlm-edits: the fills of each, best first.
  std::vector<std::vector<std::string>> candidates;
  std::vector<Counterfactual> counterfactuals;
  int64_t model_evaluations = 0;   // the classifier (ranking included)
  int64_t mlm_evaluations = 0;     // the masked LM (fills and fluency)
  int64_t texts_tried = 0;         // edited texts run through the classifier
  int64_t search_size = 0;         // texts the full search would have tried (before minimality skips)
  bool capped = false;             // max-evaluations cut the search
  bool has_fluency = false;
  double fluency = 0;              // mlm-edits: the original text's pseudo-log-likelihood
  double fluency_per_token = 0;
  std::string notice;              // truncation, cap
  double seconds = 0;
};

// Searches for counterfactuals of `text`. Throws Error for a model that is
// not a sequence classifier, a text without words, a locked index out of
// range, or mlm-edits without a masked LM; Cancelled when cancelled.
CounterfactualResult find_counterfactuals(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                          const CounterfactualRequest& request);

// Whole words of a vocabulary: the text a token stands for (byte-level BPE
// decoded, "Ġ" a space dropped) when the token is a whole word (the
// tokenizer, given that text alone, gives back exactly this token; not a
// special or unknown token; at least one letter or digit), else "".
std::string whole_word_text(const Tokenizer& tokenizer, int32_t id);

// The masked LM's top `m` whole-word fills (as whole_word_text) at each of
// `spans` of `text`, all masked at once (each span's tokens replaced by one
// mask token), best first; a fill equal to the span's text (case
// ignored) is left out. Adds the MLM passes to *evaluations.
std::vector<std::vector<std::string>> mlm_fills(const Model& mlm, const Tokenizer& mlm_tokenizer,
                                                const std::string& text, const std::vector<Span>& spans, int m,
                                                int64_t* evaluations = nullptr);
// Pseudo-log-likelihood (Salazar et al. 2020): sum over the text's tokens
// of log p(token | the text with that token masked), in batches.
double pseudo_log_likelihood(const Model& mlm, const Tokenizer& mlm_tokenizer, const std::string& text,
                             int batch_size, int* tokens = nullptr, int64_t* evaluations = nullptr);

std::string counterfactuals_to_json(const CounterfactualResult& r, int indent = -1);
// [{"name", "title", "description", "cost", "needs_mlm", "options": [...]}]
std::string counterfactual_generators_to_json(int indent = -1);

}  // namespace wordlight
