// topwords: per class, the words with the largest summed relevance over
// the correctly classified documents of that class (not ranked: a picture
// of what each method finds, as Arras et al. 2017's word lists).
#include <algorithm>
#include <unordered_map>

#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

Json topwords_summary(const SummaryContext& s, std::vector<RankedMetric>&) {
  const int C = s.classes;
  Json tw = Json::object();
  for (const std::string& m : s.options.methods) {
    if (m == "random") continue;
    Json per = Json::object();
    for (int c = 0; c < C; ++c) {
      std::unordered_map<std::string, std::pair<double, int>> sum;
      for (const DocumentRecord* r : s.records) {
        if (r->label != c || r->predicted != c) continue;
        const std::vector<double>& sc = r->methods.at(m).scores;
        for (size_t w = 0; w < r->words.size(); ++w) {
          auto& e = sum[lower(r->words[w])];
          e.first += sc[w];
          e.second += 1;
        }
      }
      std::vector<std::pair<std::string, std::pair<double, int>>> v(sum.begin(), sum.end());
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        return a.second.first != b.second.first ? a.second.first > b.second.first : a.first < b.first;
      });
      Json list = Json::array();
      for (size_t i = 0; i < v.size() && i < 10; ++i) list.push_back({v[i].first, num(v[i].second.first), v[i].second.second});
      per[s.info.label_names[static_cast<size_t>(c)]] = list;
    }
    tw[m] = per;
  }
  return tw;
}

}  // namespace evaluation
}  // namespace wordlight
