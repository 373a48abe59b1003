// docvectors (Arras et al. 2017, PLOS ONE, "What is relevant in a text
// document?", sec. "Document representation").
//
// Per document: d = sum_w s_w x_w, x_w the word's embedding (the mean of
// its tokens'), and the uniform baseline sum_w x_w. Summary: the vectors
// scaled to unit length; leave-one-out kNN accuracy (gold labels,
// Euclidean) for several k, the "explanatory power index" = its maximum
// (ranked); a 2-D PCA of the vectors for the plot.
#include <cmath>

#include "../metric_family.h"
#include "wordlight/predict.h"

namespace wordlight {
namespace evaluation {

void docvectors_prepare(DocumentContext& d) {
  const int D = d.model.embedding_dim();
  const size_t W = d.words;
  std::vector<std::vector<double>>& xw = d.word_embeddings;
  xw = word_embeddings(d.model, d.base);
  xw.resize(W, std::vector<double>(static_cast<size_t>(D), 0.0));
  std::vector<double>& u = d.record.uniform_docvec;
  u.assign(static_cast<size_t>(D), 0.0);
  for (size_t w = 0; w < W; ++w)
    for (int k = 0; k < D; ++k) u[static_cast<size_t>(k)] += xw[w][static_cast<size_t>(k)];
  for (double& v : u) v = round6(v);
}

ReadPerturbed docvectors_per_method(MethodContext& c) {
  const DocumentContext& d = c.doc;
  std::vector<double>& v = c.record.docvec;
  v.assign(d.record.uniform_docvec.size(), 0.0);
  for (size_t w = 0; w < d.words; ++w)
    for (size_t k = 0; k < v.size(); ++k) v[k] += c.record.scores[w] * d.word_embeddings[w][k];
  for (double& x : v) x = round6(x);
  return nullptr;
}

Json docvectors_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  const std::vector<size_t> pick = spread(s.records.size(), 3000);
  const size_t N = pick.size();
  const std::vector<int> ks = {1, 3, 5, 7, 10, 15, 20};
  std::vector<int> labels;
  for (size_t i : pick) labels.push_back(s.records[i]->label);
  Json knn = Json::object(), epi = Json::object(), pca = Json::object();
  RankedMetric re{"document vectors: kNN accuracy (explanatory power)", "diagnostic", "higher", {}};
  std::vector<std::string> kinds = s.options.methods;
  kinds.push_back("uniform");
  for (const std::string& m : kinds) {
    std::vector<std::vector<double>> rows;
    for (size_t i : pick) {
      std::vector<double> v = m == "uniform" ? s.records[i]->uniform_docvec : s.records[i]->methods.at(m).docvec;
      double norm = 0;
      for (double x : v) norm += x * x;
      norm = std::sqrt(norm);
      if (norm > 0)
        for (double& x : v) x /= norm;
      rows.push_back(std::move(v));
    }
    const std::vector<double> acc = knn_loo_accuracy(rows, labels, ks);
    knn[m] = nums(acc);
    double best = kNaN;
    for (double a : acc)
      if (std::isfinite(a) && !(best >= a)) best = a;
    epi[m] = num(best);
    if (m != "uniform") re.values[m] = best;
    const std::vector<size_t> shown = spread(rows.size(), 1000);
    std::vector<std::vector<double>> sub;
    for (size_t i : shown) sub.push_back(rows[i]);
    const std::vector<double> xy = pca_2d(sub);
    Json pts = Json::array();
    for (size_t k = 0; k < shown.size() && 2 * k + 1 < xy.size(); ++k)
      pts.push_back({num(xy[2 * k]), num(xy[2 * k + 1]), labels[shown[k]]});
    pca[m] = pts;
  }
  ranked.push_back(re);
  return {{"n", N}, {"ks", ks}, {"knn_accuracy", knn}, {"explanatory_power", epi}, {"pca", pca}};
}

}  // namespace evaluation
}  // namespace wordlight
