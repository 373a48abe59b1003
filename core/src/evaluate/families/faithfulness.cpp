// faithfulness (Atanasova et al. 2020, "A Diagnostic Study of
// Explainability Techniques for Text Classification", sec. 3.1).
//
// Per document: the predicted class after deleting ("masking") the top 0,
// 10, ..., 100% of words by the method's scores. Summary: macro-F1 of
// those predictions against the gold labels at each step and the area
// under that curve, x in [0, 1] (lower: more faithful).
#include <cmath>

#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

ReadPerturbed faithfulness_per_method(MethodContext& c) {
  const DocumentContext& d = c.doc;
  const size_t first = c.copies->size();
  for (int q = 0; q <= 10; ++q)
    c.perturb(first_of(c.decreasing, static_cast<int>(std::lround(static_cast<double>(d.words) * q / 10.0)), d.words));
  MethodRecord* mr = &c.record;
  const int C = d.classes;
  return [mr, first, C](const PerturbedRow& row) {
    for (size_t q = 0; q <= 10; ++q) mr->faithfulness.push_back(argmax(row(first + q), C));
  };
}

Json faithfulness_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  Json f;
  std::vector<double> xs;
  for (int q = 0; q <= 10; ++q) xs.push_back(q / 10.0);
  f["percents"] = std::vector<int>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  Json curves = Json::object(), auc = Json::object();
  RankedMetric rf{"faithfulness: area under the macro-F1 masking curve", "faithfulness", "lower", {}};
  std::vector<int> gold;
  for (const DocumentRecord* r : s.records) gold.push_back(r->label);
  for (const std::string& m : s.options.methods) {
    std::vector<double> ys;
    for (int q = 0; q <= 10; ++q) {
      std::vector<int> pred;
      for (const DocumentRecord* r : s.records) pred.push_back(r->methods.at(m).faithfulness.at(static_cast<size_t>(q)));
      ys.push_back(macro_f1(pred, gold, s.classes));
    }
    curves[m] = nums(ys);
    const double a = trapezoid_area(xs, ys);
    auc[m] = num(a);
    rf.values[m] = a;
  }
  f["macro_f1"] = curves;
  f["auc"] = auc;
  ranked.push_back(rf);
  return f;
}

}  // namespace evaluation
}  // namespace wordlight
