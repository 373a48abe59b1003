#include "wordlight/finite_check.h"

#include <cmath>

#include "wordlight/error.h"

namespace wordlight {

namespace {

std::string describe(double x) { return std::isnan(x) ? "NaN" : x > 0 ? "+infinity" : "-infinity"; }

template <class T>
void check_all(const std::vector<T>& v, const std::string& what, const std::string& where) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(static_cast<double>(v[i])))
      throw Error(what + ": " + where + " " + std::to_string(i) + " is " + describe(static_cast<double>(v[i])) +
                  "; a result with non-finite numbers is refused (the model's output or the method overflowed float32)");
}

}  // namespace

void check_prediction_finite(const Prediction& p, const std::string& what) {
  for (size_t i = 0; i < p.logits.size(); ++i)
    if (!std::isfinite(p.logits[i]))
      throw Error(what + ": the model's output is not finite (logit " + std::to_string(i) + " is " +
                  describe(p.logits[i]) + "): its weights or this text overflow float32, so there is no prediction");
  check_all(p.probabilities, what, "probability");
  if (!std::isfinite(p.explained_value))
    throw Error(what + ": the explained value is " + describe(p.explained_value) + "; there is no prediction");
}

void check_explanation_finite(const Explanation& e) {
  const std::string what = e.method.empty() ? std::string("explain") : e.method;
  check_prediction_finite(e.prediction, what);
  for (size_t i = 0; i < e.tokens.size(); ++i)
    if (!std::isfinite(e.tokens[i].score))
      throw Error(what + ": the score of token " + std::to_string(i) + " is " + describe(e.tokens[i].score) +
                  "; a result with non-finite numbers is refused (the method overflowed float32)");
  for (size_t i = 0; i < e.words.size(); ++i)
    if (!std::isfinite(e.words[i].score))
      throw Error(what + ": the score of word " + std::to_string(i) + " is " + describe(e.words[i].score) +
                  "; a result with non-finite numbers is refused (the method overflowed float32)");
  check_all(e.token_interactions, what, "token interaction");
  check_all(e.word_interactions, what, "word interaction");
  for (const LayerScores& l : e.layers) {
    check_all(l.token_scores, what, l.layer + " token score");
    if (!std::isfinite(l.total)) throw Error(what + ": the total relevance of " + l.layer + " is " + describe(l.total));
  }
  for (const ExplanationCheck& c : e.checks)
    if (!std::isfinite(c.value) || !std::isfinite(c.reference))
      throw Error(what + ": its check " + c.name + " is not finite (" + describe(std::isfinite(c.value) ? c.reference : c.value) +
                  "); the method overflowed float32");
}

}  // namespace wordlight
