#pragma once
// What the generators of core/src/counterfactual share: the search state
// (the text, its words, the model run on edited texts in batches, progress
// and cancel) and the minimal-set search over combinations.
#include <string>
#include <utility>
#include <vector>

#include "wordlight/counterfactual.h"

namespace wordlight::cf_detail {

// One edit of a candidate: a word and its replacement ("" deletes it).
using Choice = std::vector<std::pair<int32_t, std::string>>;

struct Search {
  const Model& model;
  const Tokenizer& tokenizer;
  const std::string& text;
  const CounterfactualRequest& request;
  const MethodOptions& options;
  const Encoding& enc;
  CounterfactualResult& r;
  int64_t planned = 0;  // model evaluations planned in all (progress total)

  long long integer(const std::string& name) const;
  const std::string& str(const std::string& name) const;
  bool locked(int32_t word) const;
  void check_cancel() const;
  void progress() const;
  // Predictions of texts, run through the classifier in one padded batch.
  std::vector<Prediction> predict(const std::vector<std::string>& texts);
  // Word scores by an explanation method (its defaults), into r.words;
  // counted in r.model_evaluations. Returns whether they are signed.
  bool rank_by_method(const std::string& method);
  // rank_by_method(method), then the k unlocked words of largest score
  // (signed scores) or largest |score| (unsigned), best first.
  std::vector<int32_t> most_relevant_unlocked(const std::string& method, int k);
};

// The text with the edits of `choice` applied (words by their spans);
// deleting a word also drops the white space after it.
std::string apply_edits(const std::string& text, const std::vector<WordScore>& words, const Choice& choice,
                        std::vector<CounterfactualEdit>* edits);

// The minimal-set search: combinations of `positions` (indices into
// s.r.words) of size 1 .. max_size in order of size (lexicographic in the
// positions' order within a size), each position taking every one of its
// options (options[i] for positions[i]; "" deletes). A combination whose
// words include those of a flip found before is skipped. Stops after
// max_found flips (finish_level: at the end of the size where that
// happened) or when `cap` texts have been tried (s.r.capped).
void search(Search& s, const std::vector<int32_t>& positions, const std::vector<std::vector<std::string>>& options,
            int max_size, int max_found, bool finish_level, int64_t cap);
// sum_{j=1..max_size} C(n, j) m^j (saturating).
int64_t search_size(int n, int m, int max_size);

void run_hotflip(Search& s);
void run_ablation_flip(Search& s);
void run_mlm_edits(Search& s);

}  // namespace wordlight::cf_detail
