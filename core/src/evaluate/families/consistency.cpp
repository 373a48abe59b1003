// consistency (Atanasova et al. 2020, "A Diagnostic Study of
// Explainability Techniques for Text Classification").
//
// Dataset consistency: pairs of similar documents (each of 1,000 spread
// over the run, with the one of highest word-type Jaccard overlap);
// Spearman's rho, over the pairs, between the distance of the model's
// activations (here the output layer: mean |logit difference|; the paper
// uses every layer's) and the distance of the explanations (mean over the
// shared word types of |difference| of the scores, each document's scores
// divided by their largest magnitude). Needs nothing per document.
//
// Rationale consistency: the same over documents between the two models'
// activations and the two explanations. Per document: each method's
// explanation by a second model of the same architecture (another seed,
// EvalOptions::model2). Higher rho: more consistent.
#include <algorithm>
#include <cmath>
#include <set>

#include "../metric_family.h"

namespace wordlight {
namespace evaluation {

namespace {

std::vector<double> normalised(const std::vector<double>& s) {
  double mx = 0;
  for (double v : s) mx = std::max(mx, std::fabs(v));
  std::vector<double> o(s);
  if (mx > 0)
    for (double& v : o) v /= mx;
  return o;
}

double logit_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += std::fabs(static_cast<double>(a[i]) - b[i]);
  return a.empty() ? 0 : s / static_cast<double>(a.size());
}

// Each document paired with its nearest neighbour by word-type Jaccard overlap.
std::vector<std::pair<size_t, size_t>> similar_pairs(const std::vector<const DocumentRecord*>& sub) {
  const size_t N = sub.size();
  std::vector<std::vector<std::string>> types(N);
  for (size_t i = 0; i < N; ++i) {
    std::set<std::string> s;
    for (const std::string& w : sub[i]->words) s.insert(lower(w));
    types[i].assign(s.begin(), s.end());
  }
  std::vector<std::pair<size_t, size_t>> pairs;
  std::set<std::pair<size_t, size_t>> seen;
  for (size_t i = 0; i < N; ++i) {
    double best = 0;
    size_t bj = i;
    for (size_t k = 0; k < N; ++k) {
      if (k == i) continue;
      size_t inter = 0, a = 0, b = 0;
      while (a < types[i].size() && b < types[k].size()) {
        const int cmp = types[i][a].compare(types[k][b]);
        if (cmp == 0) {
          ++inter;
          ++a;
          ++b;
        } else if (cmp < 0) {
          ++a;
        } else {
          ++b;
        }
      }
      const double jac = static_cast<double>(inter) / static_cast<double>(types[i].size() + types[k].size() - inter);
      if (jac > best) {
        best = jac;
        bj = k;
      }
    }
    if (bj != i && seen.insert({std::min(i, bj), std::max(i, bj)}).second) pairs.emplace_back(std::min(i, bj), std::max(i, bj));
  }
  return pairs;
}

}  // namespace

ReadPerturbed consistency_per_method(MethodContext& c) {
  DocumentContext& d = c.doc;
  if (!d.options.model2 || !d.options.tokenizer2) return nullptr;
  if (c.is_random) {
    c.record.scores2 = random_scores(d.words, d.options.seed + 1, d.record.index, 0);
  } else {
    const Explanation e2 = d.explain2(c.method, d.record.predicted);
    if (e2.words.size() == d.words) c.record.scores2 = word_scores(e2);
    if (d.record.logits2.empty()) d.record.logits2 = e2.prediction.logits;
  }
  return nullptr;
}

Json consistency_summary(const SummaryContext& s, std::vector<RankedMetric>& ranked) {
  Json c;
  const std::vector<size_t> pick = spread(s.records.size(), 1000);
  std::vector<const DocumentRecord*> sub;
  for (size_t i : pick) sub.push_back(s.records[i]);
  const std::vector<std::pair<size_t, size_t>> pairs = similar_pairs(sub);
  c["pairs"] = pairs.size();
  Json ds = Json::object(), rs = Json::object();
  RankedMetric rd{"dataset consistency (Spearman rho)", "diagnostic", "higher", {}};
  RankedMetric rr{"rationale consistency (Spearman rho)", "diagnostic", "higher", {}};
  bool have_model2 = false;
  for (const std::string& m : s.options.methods) {
    std::vector<double> act, sal;
    for (const auto& pr : pairs) {
      const DocumentRecord& a = *sub[pr.first];
      const DocumentRecord& b = *sub[pr.second];
      auto by_type = [&](const DocumentRecord& r) {
        const std::vector<double> sc = normalised(r.methods.at(m).scores);
        std::map<std::string, std::pair<double, int>> t;
        for (size_t w = 0; w < r.words.size(); ++w) {
          auto& e = t[lower(r.words[w])];
          e.first += sc[w];
          e.second += 1;
        }
        return t;
      };
      const auto ta = by_type(a), tb = by_type(b);
      double dist = 0;
      int n = 0;
      for (const auto& kv : ta) {
        auto it = tb.find(kv.first);
        if (it == tb.end()) continue;
        dist += std::fabs(kv.second.first / kv.second.second - it->second.first / it->second.second);
        ++n;
      }
      if (n == 0) continue;
      act.push_back(logit_distance(a.logits, b.logits));
      sal.push_back(dist / n);
    }
    const double rho = spearman(act, sal);
    ds[m] = num(rho);
    rd.values[m] = rho;
    // Rationale consistency: over documents, model vs model2.
    std::vector<double> act2, sal2;
    for (const DocumentRecord* r : s.records) {
      const MethodRecord& mr = r->methods.at(m);
      if (mr.scores2.size() != mr.scores.size() || r->logits2.empty()) continue;
      const std::vector<double> a = normalised(mr.scores), b = normalised(mr.scores2);
      double dist = 0;
      for (size_t w = 0; w < a.size(); ++w) dist += std::fabs(a[w] - b[w]);
      act2.push_back(logit_distance(r->logits, r->logits2));
      sal2.push_back(a.empty() ? 0 : dist / static_cast<double>(a.size()));
    }
    if (!act2.empty()) {
      have_model2 = true;
      const double rho2 = spearman(act2, sal2);
      rs[m] = num(rho2);
      rr.values[m] = rho2;
    }
  }
  c["dataset"] = ds;
  if (have_model2) {
    c["rationale"] = rs;
  } else {
    c["rationale"] = nullptr;
    c["rationale_note"] = "no second model of the same architecture was given (--model2)";
  }
  ranked.push_back(rd);
  if (have_model2) ranked.push_back(rr);
  return c;
}

}  // namespace evaluation
}  // namespace wordlight
