// Ablation flip (LIT's ablation_flip.py): delete the fewest of the
// `positions` most relevant words (by an explanation method of the user's
// choice) that flips the decision, up to max-deletions at once; supersets
// of a flip are never tried, so every result is minimal.
#include <algorithm>
#include <cmath>

#include "counterfactual_internal.h"

namespace wordlight::cf_detail {

void run_ablation_flip(Search& s) {
  CounterfactualResult& r = s.r;
  const int k = static_cast<int>(s.integer("positions")), max_del = static_cast<int>(s.integer("max-deletions"));
  s.planned = 1 + search_size(k, 1, max_del);
  const std::vector<int32_t> order = s.most_relevant_unlocked(s.str("method"), k);
  r.positions = order;
  const std::vector<std::vector<std::string>> options(order.size(), std::vector<std::string>{""});
  r.search_size = search_size(static_cast<int>(order.size()), 1, max_del);
  s.planned = r.model_evaluations + r.search_size;
  search(s, order, options, max_del, static_cast<int>(s.integer("max-counterfactuals")), false, r.search_size);
}

}  // namespace wordlight::cf_detail
