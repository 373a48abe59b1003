// confidence (Atanasova et al. 2020, "A Diagnostic Study of Explainability
// Techniques for Text Classification", confidence indication).
//
// Per document: each other class c (all of them for up to 3 classes, else
// the 2 most probable other ones) is explained too, and the features are
// d_c = sum_w |s_w(predicted) - s_w(c)|. Summary: a linear regression from
// [max_c d_c, mean_c d_c, min_c d_c] to the predicted probability, its mean
// absolute error (5-fold cross-validated; lower is better); a regression on
// no feature, predicting the mean, is the reference.
#include <algorithm>
#include <cmath>

#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

void confidence_prepare(DocumentContext& d) {
  const std::vector<float>& p = d.record.probabilities;
  std::vector<int> order;
  for (int c = 0; c < d.classes; ++c)
    if (c != d.record.predicted) order.push_back(c);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)]; });
  if (d.classes > 3) order.resize(std::min<size_t>(order.size(), 2));
  d.other_classes = order;
}

ReadPerturbed confidence_per_method(MethodContext& c) {
  const DocumentContext& d = c.doc;
  for (size_t k = 0; k < d.other_classes.size(); ++k) {
    const std::vector<double> sc =
        c.is_random ? random_scores(d.words, d.options.seed, d.record.index, static_cast<int>(k) + 1)
                    : word_scores(d.explain(c.method, d.other_classes[k]));
    double sum = 0;
    for (size_t w = 0; w < d.words; ++w) sum += std::fabs(c.record.scores[w] - sc[w]);
    c.record.confidence_features.push_back(round6(sum));
  }
  return nullptr;
}

Json confidence_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  Json c;
  Json mae = Json::object();
  RankedMetric rm{"confidence indication MAE", "diagnostic", "lower", {}};
  std::vector<double> y;
  for (const DocumentRecord* r : s.records) y.push_back(r->probabilities[static_cast<size_t>(r->predicted)]);
  for (const std::string& m : s.options.methods) {
    std::vector<std::vector<double>> X;
    for (const DocumentRecord* r : s.records) {
      const std::vector<double>& f = r->methods.at(m).confidence_features;
      if (f.empty()) {
        X.push_back({0, 0, 0});
        continue;
      }
      const double mx = *std::max_element(f.begin(), f.end()), mn = *std::min_element(f.begin(), f.end());
      X.push_back({mx, mean_of(f), mn});
    }
    const double e = s.records.size() >= 2 ? cross_validated_mae(X, y, 5) : kNaN;
    mae[m] = num(e);
    rm.values[m] = e;
  }
  std::vector<std::vector<double>> none(y.size());
  c["mae"] = mae;
  c["mae_without_saliency"] = num(y.size() >= 2 ? cross_validated_mae(none, y, 5) : kNaN);
  ranked.push_back(rm);
  return c;
}

}  // namespace evaluation
}  // namespace wordlight
