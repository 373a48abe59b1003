// plausibility (DeYoung et al. 2020; documents with a human rationale).
//
// Nothing per document beyond the scores and the rationale every record
// keeps. Summary: token precision / recall / F1 of the top-k words, k the
// data set's mean rationale length in words (rounded, >= 1), averaged over
// documents; IoU F1: the top-k words' runs matched to the rationale's runs
// at IoU >= 0.5, counted over the data set (micro); AUPRC of the soft
// scores, averaged over documents. Atanasova et al. 2020's agreement with
// human rationales: MAP, the mean over documents of the average precision
// of the scores.
#include <algorithm>

#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

Json plausibility_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  std::vector<const DocumentRecord*> with;
  double rat_words = 0;
  for (const DocumentRecord* r : s.records) {
    int n = 0;
    for (uint8_t v : r->rationale) n += v != 0;
    if (n > 0) {
      with.push_back(r);
      rat_words += n;
    }
  }
  Json p;
  p["n"] = with.size();
  if (with.empty()) {
    p["note"] = "no document of the data has a human rationale";
    return p;
  }
  const int k = std::max(1, static_cast<int>(std::lround(rat_words / static_cast<double>(with.size()))));
  p["k"] = k;
  Json tp = Json::object(), tr = Json::object(), tf = Json::object(), iou = Json::object(), au = Json::object(),
       map = Json::object();
  RankedMetric r_tf{"token F1 (top-k words vs human rationale)", "plausibility", "higher", {}};
  RankedMetric r_iou{"IoU F1 (>= 0.5)", "plausibility", "higher", {}};
  RankedMetric r_au{"AUPRC", "plausibility", "higher", {}};
  RankedMetric r_map{"MAP (agreement with human rationales)", "plausibility", "higher", {}};
  for (const std::string& m : s.options.methods) {
    std::vector<double> P, R, F, A, AP;
    IouCounts counts;
    for (const DocumentRecord* r : with) {
      const std::vector<double>& sc = r->methods.at(m).scores;
      const std::vector<uint8_t> top = top_k_mask(sc, std::min<int>(k, static_cast<int>(sc.size())));
      const PrecisionRecall pr = token_prf(top, r->rationale);
      P.push_back(pr.precision);
      R.push_back(pr.recall);
      F.push_back(pr.f1);
      counts += iou_match(mask_runs(top), mask_runs(r->rationale), 0.5);
      A.push_back(auprc(sc, r->rationale));
      AP.push_back(average_precision(sc, r->rationale));
    }
    tp[m] = num(mean_of(P));
    tr[m] = num(mean_of(R));
    tf[m] = num(mean_of(F));
    iou[m] = num(counts.prf().f1);
    au[m] = num(mean_of(A));
    map[m] = num(mean_of(AP));
    r_tf.values[m] = mean_of(F);
    r_iou.values[m] = counts.prf().f1;
    r_au.values[m] = mean_of(A);
    r_map.values[m] = mean_of(AP);
  }
  p["token_precision"] = tp;
  p["token_recall"] = tr;
  p["token_f1"] = tf;
  p["iou_f1"] = iou;
  p["auprc"] = au;
  p["map"] = map;
  ranked.push_back(r_tf);
  ranked.push_back(r_iou);
  ranked.push_back(r_au);
  ranked.push_back(r_map);
  return p;
}

}  // namespace evaluation
}  // namespace wordlight
