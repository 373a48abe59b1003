// eraser (DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate
// Rationalized NLP Models", sec. 4.2).
//
// Per document and method, r_k the top k% words by the method's scores,
// k in eraser_percents ({1, 5, 10, 20, 50}), p the model's probability of
// the class it predicted on the full text x:
//   comprehensiveness_k = p(x) - p(x \ r_k)   (higher: more faithful)
//   sufficiency_k       = p(x) - p(r_k)       (lower: more faithful)
// Summary: their means over the documents per bin; AOPC = the mean over
// the bins (the ERASER scorer's aggregate), which is ranked.
#include <algorithm>

#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

ReadPerturbed eraser_per_method(MethodContext& c) {
  const DocumentContext& d = c.doc;
  const size_t first = c.copies->size();
  for (double pc : d.options.eraser_percents) {
    const int k = top_percent_count(static_cast<int>(d.words), pc);
    std::vector<uint8_t> top = first_of(c.decreasing, k, d.words);
    c.perturb(top);  // x \ r_k
    for (uint8_t& v : top) v = !v;
    c.perturb(top);  // r_k alone
  }
  MethodRecord* mr = &c.record;
  const size_t bins = d.options.eraser_percents.size();
  const int predicted = d.record.predicted;
  const double p0 = d.record.probabilities[static_cast<size_t>(predicted)];
  return [mr, first, bins, predicted, p0](const PerturbedRow& row) {
    for (size_t i = 0; i < bins; ++i) {
      mr->comprehensiveness.push_back(round6(p0 - row(first + 2 * i)[predicted]));
      mr->sufficiency.push_back(round6(p0 - row(first + 2 * i + 1)[predicted]));
    }
  };
}

Json eraser_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  const EvalOptions& o = s.options;
  Json e;
  e["percents"] = o.eraser_percents;
  Json comp = Json::object(), suff = Json::object(), ac = Json::object(), as = Json::object();
  RankedMetric rc{"ERASER comprehensiveness AOPC", "faithfulness", "higher", {}};
  RankedMetric rs{"ERASER sufficiency AOPC", "faithfulness", "lower", {}};
  for (const std::string& m : o.methods) {
    std::vector<double> c(o.eraser_percents.size(), 0.0), su(o.eraser_percents.size(), 0.0);
    for (const DocumentRecord* r : s.records) {
      const MethodRecord& mr = r->methods.at(m);
      for (size_t k = 0; k < c.size() && k < mr.comprehensiveness.size(); ++k) {
        c[k] += mr.comprehensiveness[k];
        su[k] += mr.sufficiency[k];
      }
    }
    for (double& v : c) v /= static_cast<double>(std::max<size_t>(1, s.records.size()));
    for (double& v : su) v /= static_cast<double>(std::max<size_t>(1, s.records.size()));
    comp[m] = nums(c);
    suff[m] = nums(su);
    ac[m] = num(mean_of(c));
    as[m] = num(mean_of(su));
    rc.values[m] = mean_of(c);
    rs.values[m] = mean_of(su);
  }
  e["comprehensiveness"] = comp;
  e["sufficiency"] = suff;
  e["aopc_comprehensiveness"] = ac;
  e["aopc_sufficiency"] = as;
  ranked.push_back(rc);
  ranked.push_back(rs);
  return e;
}

}  // namespace evaluation
}  // namespace wordlight
