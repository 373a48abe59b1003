// deletion (Arras et al. 2016, "Explaining Predictions of Non-Linear
// Classifiers in NLP", sec. 5; Arras et al. 2017, PLOS ONE, "What is
// relevant in a text document?").
//
// Per document: the relevance is computed for the true class. A correctly
// classified document has its words deleted in decreasing order of
// relevance, 0, 1, 2, ... words (deletion_steps); a misclassified one in
// increasing order (the words that speak most against the true class
// first). The record keeps the predicted class after each step. The
// control deletes at random (method "random"). Deleting = the word
// embedding set to zero for the CNN / LSTM (DeletionMode).
//
// Summary: the accuracy over the initially correct documents (should fall
// fast) and over the misclassified ones (should rise fast), per step.
// Ranked by the mean over the steps k > 0 (correct: lower is better;
// misclassified: higher is better).
#include "../metric_family.h"
#include "wordlight/error.h"

namespace wordlight {
namespace evaluation {

ReadPerturbed deletion_per_method(MethodContext& c) {
  const DocumentContext& d = c.doc;
  // Scores for the true class (the random control's are its own).
  std::vector<double> true_scores = c.record.scores;
  if (!d.correct && !c.is_random) {
    true_scores = word_scores(d.explain(c.method, d.record.label));
    c.record.true_scores = true_scores;
  }
  const std::vector<int> order = rank_by_score(true_scores, d.correct);
  const size_t first = c.copies->size();
  for (int k : d.options.deletion_steps) c.perturb(first_of(order, k, d.words));
  MethodRecord* mr = &c.record;
  const size_t steps = d.options.deletion_steps.size();
  const int C = d.classes;
  return [mr, first, steps, C](const PerturbedRow& row) {
    for (size_t i = 0; i < steps; ++i) mr->deletion.push_back(argmax(row(first + i), C));
  };
}

Json deletion_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  const EvalOptions& o = s.options;
  Json d;
  d["steps"] = o.deletion_steps;
  Json corr = Json::object(), wrong = Json::object();
  size_t nc = 0, nw = 0;
  for (const DocumentRecord* r : s.records) (r->predicted == r->label ? nc : nw)++;
  RankedMetric rc{"deletion: accuracy, correct docs (mean over k > 0)", "faithfulness", "lower", {}};
  RankedMetric rw{"deletion: accuracy, misclassified docs (mean over k > 0)", "faithfulness", "higher", {}};
  auto mean_after0 = [&](const std::vector<double>& v) {
    std::vector<double> t;
    for (size_t k = 0; k < v.size(); ++k)
      if (o.deletion_steps[k] > 0) t.push_back(v[k]);
    return mean_of(t);
  };
  for (const std::string& m : o.methods) {
    std::vector<double> c(o.deletion_steps.size(), 0.0), w(o.deletion_steps.size(), 0.0);
    for (const DocumentRecord* r : s.records) {
      const MethodRecord& mr = r->methods.at(m);
      if (mr.deletion.size() != o.deletion_steps.size())
        throw Error("record " + std::to_string(r->index) + ": deletion steps differ from the run's");
      std::vector<double>& dst = r->predicted == r->label ? c : w;
      for (size_t k = 0; k < dst.size(); ++k) dst[k] += mr.deletion[k] == r->label;
    }
    for (double& v : c) v = nc ? v / static_cast<double>(nc) : kNaN;
    for (double& v : w) v = nw ? v / static_cast<double>(nw) : kNaN;
    corr[m] = nums(c);
    wrong[m] = nums(w);
    rc.values[m] = mean_after0(c);
    rw.values[m] = mean_after0(w);
  }
  d["correct"] = {{"n", nc}, {"accuracy", corr}};
  d["misclassified"] = {{"n", nw}, {"accuracy", wrong}};
  ranked.push_back(rc);
  if (nw) ranked.push_back(rw);
  return d;
}

}  // namespace evaluation
}  // namespace wordlight
