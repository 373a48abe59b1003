// time: the cost of each method, mean seconds and model evaluations per
// explanation (of the predicted class), from what every record keeps.
#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

Json time_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  Json t = Json::object(), ev = Json::object();
  RankedMetric rt{"seconds per explanation", "cost", "lower", {}};
  for (const std::string& m : s.options.methods) {
    if (m == "random") continue;
    std::vector<double> sec, e;
    for (const DocumentRecord* r : s.records) {
      sec.push_back(r->methods.at(m).seconds);
      e.push_back(static_cast<double>(r->methods.at(m).evaluations));
    }
    t[m] = num(mean_of(sec));
    ev[m] = num(mean_of(e));
    rt.values[m] = mean_of(sec);
  }
  ranked.push_back(rt);
  return {{"seconds_per_explanation", t}, {"evaluations_per_explanation", ev}};
}

}  // namespace evaluation
}  // namespace wordlight
