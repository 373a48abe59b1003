// summarize(): the records of a run -> results.json: the run's facts, one
// section per metric family (each family's summary is defined in its file
// under families/, walked here through metric_families()), and the ranking
// of the methods on every ranked metric, with the mean rank per group.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "metric_family.h"
#include "wordlight/error.h"
#include "wordlight/evaluate.h"

namespace wordlight {

std::string summarize(const std::vector<DocumentRecord>& records_in, const EvalOptions& o, const SummaryInfo& info) {
  std::vector<const DocumentRecord*> recs;
  size_t left_out = 0;
  for (const DocumentRecord& r : records_in) {
    if (r.error.empty())
      recs.push_back(&r);
    else
      ++left_out;
  }
  std::sort(recs.begin(), recs.end(), [](const DocumentRecord* a, const DocumentRecord* b) { return a->index < b->index; });
  using namespace evaluation;
  const std::vector<std::string>& methods = o.methods;
  const int C = static_cast<int>(info.label_names.size());
  std::vector<RankedMetric> ranked;

  Json j;
  j["model"] = info.model;
  j["data"] = info.data;
  j["command"] = info.command;
  j["deletion_mode"] = info.deletion_mode;
  j["label_names"] = info.label_names;
  j["dataset_size"] = info.dataset_size;
  j["n"] = recs.size();
  j["left_out"] = left_out;
  size_t n_correct = 0, n_trunc = 0;
  double tokens = 0, words = 0;
  for (const DocumentRecord* r : recs) {
    n_correct += r->predicted == r->label;
    n_trunc += r->truncated;
    tokens += r->tokens;
    words += static_cast<double>(r->words.size());
  }
  j["accuracy"] = num(recs.empty() ? kNaN : static_cast<double>(n_correct) / static_cast<double>(recs.size()));
  j["truncated"] = n_trunc;
  j["mean_tokens"] = num(recs.empty() ? kNaN : tokens / static_cast<double>(recs.size()));
  j["mean_words"] = num(recs.empty() ? kNaN : words / static_cast<double>(recs.size()));
  j["methods"] = methods;
  Json options = Json::object();
  for (const auto& kv : o.method_options) {
    Json m = Json::object();
    for (const auto& ov : kv.second) m[ov.first] = ov.second;
    options[kv.first] = m;
  }
  j["method_options"] = options;
  j["metrics"] = std::vector<std::string>(o.metrics.begin(), o.metrics.end());

  // One section per metric family the run computed, in the table's order.
  const SummaryContext ctx{recs, o, info, C};
  for (const MetricFamily& f : metric_families())
    if (o.metrics.count(f.name)) j[f.name] = f.summarize(ctx, ranked);

  // ---------------------------------------------------------- ranking
  Json rk = Json::array();
  std::map<std::string, std::map<std::string, std::vector<double>>> group_ranks;  // group -> method -> ranks
  for (const RankedMetric& rm : ranked) {
    // Ranked on the values as the report prints them (3 decimals, 4 for
    // seconds), so that methods equal to the shown precision (LRP-epsilon and
    // gradient x input on a ReLU CNN) tie instead of being ordered by noise.
    const double scale = rm.group == "cost" ? 1e4 : 1e3;
    std::vector<std::pair<double, std::string>> v;
    for (const auto& kv : rm.values)
      if (std::isfinite(kv.second)) {
        const double shown = std::round(kv.second * scale) / scale;
        v.emplace_back(rm.better == "higher" ? -shown : shown, kv.first);
      }
    std::sort(v.begin(), v.end());
    Json ranks = Json::object(), values = Json::object();
    for (size_t i = 0; i < v.size();) {
      size_t k = i;
      while (k + 1 < v.size() && v[k + 1].first == v[i].first) ++k;
      const double r = (static_cast<double>(i) + static_cast<double>(k)) / 2 + 1;
      for (size_t t = i; t <= k; ++t) {
        ranks[v[t].second] = r;
        group_ranks[rm.group][v[t].second].push_back(r);
      }
      i = k + 1;
    }
    for (const auto& kv : rm.values) values[kv.first] = num(kv.second);
    rk.push_back({{"metric", rm.name}, {"group", rm.group}, {"better", rm.better}, {"values", values}, {"rank", ranks}});
  }
  j["ranking"] = rk;
  Json mean_rank = Json::object();
  for (const auto& g : group_ranks) {
    Json per = Json::object();
    for (const auto& kv : g.second) per[kv.first] = num(mean_of(kv.second));
    mean_rank[g.first] = per;
  }
  j["mean_rank"] = mean_rank;
  return j.dump(1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace wordlight
