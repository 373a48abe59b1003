// summarize(): the records of a run -> results.json, every metric per
// method and the ranking of the methods. Definitions (the per-document
// parts are in document.cpp):
//
//   deletion      Arras et al. 2016/2017: accuracy over the initially
//                 correct documents after deleting k words (decreasing
//                 relevance), and over the initially misclassified ones
//                 (increasing relevance), for each k of the steps. Ranked by
//                 the mean over the steps k > 0 (correct: lower is better;
//                 misclassified: higher is better).
//   eraser        DeYoung et al. 2020: mean comprehensiveness and
//                 sufficiency per bin; AOPC = their mean over the bins.
//   plausibility  DeYoung et al. 2020 (documents with a human rationale):
//                 token precision / recall / F1 of the top-k words, k the
//                 data set's mean rationale length in words (rounded, >= 1),
//                 averaged over documents; IoU F1: the top-k words' runs
//                 matched to the rationale's runs at IoU >= 0.5, counted
//                 over the data set (micro); AUPRC of the soft scores,
//                 averaged over documents. Atanasova et al. 2020's agreement
//                 with human rationales: MAP, the mean over documents of
//                 the average precision of the scores.
//   confidence    Atanasova et al. 2020, confidence indication: see
//                 document.cpp; MAE of a 5-fold cross-validated linear
//                 regression (a regression on no feature, predicting the
//                 mean, is the reference).
//   faithfulness  Atanasova et al. 2020: macro-F1 against the gold labels
//                 with the top 0, 10, ..., 100% words deleted; the area
//                 under that curve, x in [0, 1] (lower is better).
//   consistency   Atanasova et al. 2020. Dataset consistency: pairs of
//                 similar documents (each of 1,000 spread over the run, with the one
//                 of highest word-type Jaccard overlap); Spearman's rho,
//                 over the pairs, between the distance of the model's
//                 activations (here the output layer: mean |logit
//                 difference|; the paper uses every layer's) and the
//                 distance of the explanations (mean over the shared word
//                 types of |difference| of the scores, each document's
//                 scores divided by their largest magnitude). Rationale
//                 consistency: the same over documents between the two
//                 models' activations and the two explanations (needs a
//                 second model of the same architecture, another seed).
//                 Higher rho: more consistent.
//   time          mean seconds and model evaluations per explanation.
//   docvectors    Arras et al. 2017: d = sum_w R_w x_w per document
//                 (uniform: sum_w x_w), scaled to unit length;
//                 leave-one-out kNN accuracy (gold labels, Euclidean) for
//                 several k, the "explanatory power index" = its maximum;
//                 2-D PCA of the vectors for the plot.
//   topwords      per class, the words with the largest summed relevance
//                 over the correctly classified documents of that class.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "wordlight/error.h"
#include "wordlight/evaluate.h"

namespace wordlight {

namespace {

using Json = nlohmann::ordered_json;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

Json num(double v) {
  if (!std::isfinite(v)) return nullptr;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return std::strtod(buf, nullptr);
}

Json nums(const std::vector<double>& v) {
  Json a = Json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  size_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) {
      s += x;
      ++n;
    }
  return n ? s / static_cast<double>(n) : kNaN;
}

std::vector<double> normalised(const std::vector<double>& s) {
  double mx = 0;
  for (double v : s) mx = std::max(mx, std::fabs(v));
  std::vector<double> o(s);
  if (mx > 0)
    for (double& v : o) v /= mx;
  return o;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

double logit_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += std::fabs(static_cast<double>(a[i]) - b[i]);
  return a.empty() ? 0 : s / static_cast<double>(a.size());
}

// At most `cap` of n items, evenly spread (the records are sorted by index
// and data sets are often sorted by class: the first ones would be one class).
std::vector<size_t> spread(size_t n, size_t cap) {
  std::vector<size_t> pick;
  if (n <= cap) {
    for (size_t i = 0; i < n; ++i) pick.push_back(i);
  } else {
    for (size_t i = 0; i < cap; ++i) pick.push_back(i * n / cap);
  }
  return pick;
}

struct RankedMetric {
  std::string name, group, better;  // better: "higher" / "lower"
  std::map<std::string, double> values;
};

}  // namespace

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
  auto has = [&](const char* m) { return o.metrics.count(m) > 0; };
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

  // ---------------------------------------------------------- deletion
  if (has("deletion")) {
    Json d;
    d["steps"] = o.deletion_steps;
    Json corr = Json::object(), wrong = Json::object();
    size_t nc = 0, nw = 0;
    for (const DocumentRecord* r : recs) (r->predicted == r->label ? nc : nw)++;
    RankedMetric rc{"deletion: accuracy, correct docs (mean over k > 0)", "faithfulness", "lower", {}};
    RankedMetric rw{"deletion: accuracy, misclassified docs (mean over k > 0)", "faithfulness", "higher", {}};
    for (const std::string& m : methods) {
      std::vector<double> c(o.deletion_steps.size(), 0.0), w(o.deletion_steps.size(), 0.0);
      for (const DocumentRecord* r : recs) {
        const MethodRecord& mr = r->methods.at(m);
        if (mr.deletion.size() != o.deletion_steps.size()) throw Error("record " + std::to_string(r->index) + ": deletion steps differ from the run's");
        std::vector<double>& dst = r->predicted == r->label ? c : w;
        for (size_t k = 0; k < dst.size(); ++k) dst[k] += mr.deletion[k] == r->label;
      }
      for (double& v : c) v = nc ? v / static_cast<double>(nc) : kNaN;
      for (double& v : w) v = nw ? v / static_cast<double>(nw) : kNaN;
      corr[m] = nums(c);
      wrong[m] = nums(w);
      auto mean_after0 = [&](const std::vector<double>& v) {
        std::vector<double> t;
        for (size_t k = 0; k < v.size(); ++k)
          if (o.deletion_steps[k] > 0) t.push_back(v[k]);
        return mean_of(t);
      };
      rc.values[m] = mean_after0(c);
      rw.values[m] = mean_after0(w);
    }
    d["correct"] = {{"n", nc}, {"accuracy", corr}};
    d["misclassified"] = {{"n", nw}, {"accuracy", wrong}};
    j["deletion"] = d;
    ranked.push_back(rc);
    if (nw) ranked.push_back(rw);
  }

  // ---------------------------------------------------------- ERASER
  if (has("eraser")) {
    Json e;
    e["percents"] = o.eraser_percents;
    Json comp = Json::object(), suff = Json::object(), ac = Json::object(), as = Json::object();
    RankedMetric rc{"ERASER comprehensiveness AOPC", "faithfulness", "higher", {}};
    RankedMetric rs{"ERASER sufficiency AOPC", "faithfulness", "lower", {}};
    for (const std::string& m : methods) {
      std::vector<double> c(o.eraser_percents.size(), 0.0), s(o.eraser_percents.size(), 0.0);
      for (const DocumentRecord* r : recs) {
        const MethodRecord& mr = r->methods.at(m);
        for (size_t k = 0; k < c.size() && k < mr.comprehensiveness.size(); ++k) {
          c[k] += mr.comprehensiveness[k];
          s[k] += mr.sufficiency[k];
        }
      }
      for (double& v : c) v /= std::max<size_t>(1, recs.size());
      for (double& v : s) v /= std::max<size_t>(1, recs.size());
      comp[m] = nums(c);
      suff[m] = nums(s);
      ac[m] = num(mean_of(c));
      as[m] = num(mean_of(s));
      rc.values[m] = mean_of(c);
      rs.values[m] = mean_of(s);
    }
    e["comprehensiveness"] = comp;
    e["sufficiency"] = suff;
    e["aopc_comprehensiveness"] = ac;
    e["aopc_sufficiency"] = as;
    j["eraser"] = e;
    ranked.push_back(rc);
    ranked.push_back(rs);
  }

  // ---------------------------------------------------------- plausibility
  if (has("plausibility")) {
    std::vector<const DocumentRecord*> with;
    double rat_words = 0;
    for (const DocumentRecord* r : recs) {
      int n = 0;
      for (uint8_t v : r->rationale) n += v != 0;
      if (n > 0) {
        with.push_back(r);
        rat_words += n;
      }
    }
    Json p;
    p["n"] = with.size();
    if (!with.empty()) {
      const int k = std::max(1, static_cast<int>(std::lround(rat_words / static_cast<double>(with.size()))));
      p["k"] = k;
      Json tp = Json::object(), tr = Json::object(), tf = Json::object(), iou = Json::object(), au = Json::object(),
           map = Json::object();
      RankedMetric r_tf{"token F1 (top-k words vs human rationale)", "plausibility", "higher", {}};
      RankedMetric r_iou{"IoU F1 (>= 0.5)", "plausibility", "higher", {}};
      RankedMetric r_au{"AUPRC", "plausibility", "higher", {}};
      RankedMetric r_map{"MAP (agreement with human rationales)", "plausibility", "higher", {}};
      for (const std::string& m : methods) {
        std::vector<double> P, R, F, A, AP;
        IouCounts counts;
        for (const DocumentRecord* r : with) {
          const std::vector<double>& s = r->methods.at(m).scores;
          const std::vector<uint8_t> top = top_k_mask(s, std::min<int>(k, static_cast<int>(s.size())));
          const PrecisionRecall pr = token_prf(top, r->rationale);
          P.push_back(pr.precision);
          R.push_back(pr.recall);
          F.push_back(pr.f1);
          counts += iou_match(mask_runs(top), mask_runs(r->rationale), 0.5);
          A.push_back(auprc(s, r->rationale));
          AP.push_back(average_precision(s, r->rationale));
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
    } else {
      p["note"] = "no document of the data has a human rationale";
    }
    j["plausibility"] = p;
  }

  // ---------------------------------------------------------- confidence indication
  if (has("confidence")) {
    Json c;
    Json mae = Json::object();
    RankedMetric rm{"confidence indication MAE", "diagnostic", "lower", {}};
    std::vector<double> y;
    for (const DocumentRecord* r : recs) y.push_back(r->probabilities[static_cast<size_t>(r->predicted)]);
    for (const std::string& m : methods) {
      std::vector<std::vector<double>> X;
      for (const DocumentRecord* r : recs) {
        const std::vector<double>& f = r->methods.at(m).confidence_features;
        if (f.empty()) {
          X.push_back({0, 0, 0});
          continue;
        }
        const double mx = *std::max_element(f.begin(), f.end()), mn = *std::min_element(f.begin(), f.end());
        X.push_back({mx, mean_of(f), mn});
      }
      const double e = recs.size() >= 2 ? cross_validated_mae(X, y, 5) : kNaN;
      mae[m] = num(e);
      rm.values[m] = e;
    }
    std::vector<std::vector<double>> none(y.size());
    c["mae"] = mae;
    c["mae_without_saliency"] = num(y.size() >= 2 ? cross_validated_mae(none, y, 5) : kNaN);
    j["confidence"] = c;
    ranked.push_back(rm);
  }

  // ---------------------------------------------------------- faithfulness (Atanasova)
  if (has("faithfulness")) {
    Json f;
    std::vector<double> xs;
    for (int q = 0; q <= 10; ++q) xs.push_back(q / 10.0);
    f["percents"] = std::vector<int>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    Json curves = Json::object(), auc = Json::object();
    RankedMetric rf{"faithfulness: area under the macro-F1 masking curve", "faithfulness", "lower", {}};
    std::vector<int> gold;
    for (const DocumentRecord* r : recs) gold.push_back(r->label);
    for (const std::string& m : methods) {
      std::vector<double> ys;
      for (int q = 0; q <= 10; ++q) {
        std::vector<int> pred;
        for (const DocumentRecord* r : recs) pred.push_back(r->methods.at(m).faithfulness.at(static_cast<size_t>(q)));
        ys.push_back(macro_f1(pred, gold, C));
      }
      curves[m] = nums(ys);
      const double a = trapezoid_area(xs, ys);
      auc[m] = num(a);
      rf.values[m] = a;
    }
    f["macro_f1"] = curves;
    f["auc"] = auc;
    j["faithfulness"] = f;
    ranked.push_back(rf);
  }

  // ---------------------------------------------------------- consistency
  if (has("consistency")) {
    Json c;
    const std::vector<size_t> pick = spread(recs.size(), 1000);
    const size_t N = pick.size();
    std::vector<const DocumentRecord*> sub;
    for (size_t i : pick) sub.push_back(recs[i]);
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
    c["pairs"] = pairs.size();
    Json ds = Json::object(), rs = Json::object();
    RankedMetric rd{"dataset consistency (Spearman rho)", "diagnostic", "higher", {}};
    RankedMetric rr{"rationale consistency (Spearman rho)", "diagnostic", "higher", {}};
    bool have_model2 = false;
    for (const std::string& m : methods) {
      std::vector<double> act, sal;
      for (const auto& pr : pairs) {
        const DocumentRecord& a = *sub[pr.first];
        const DocumentRecord& b = *sub[pr.second];
        auto by_type = [&](const DocumentRecord& r) {
          const std::vector<double> s = normalised(r.methods.at(m).scores);
          std::map<std::string, std::pair<double, int>> t;
          for (size_t w = 0; w < r.words.size(); ++w) {
            auto& e = t[lower(r.words[w])];
            e.first += s[w];
            e.second += 1;
          }
          return t;
        };
        const auto ta = by_type(a), tb = by_type(b);
        double d = 0;
        int n = 0;
        for (const auto& kv : ta) {
          auto it = tb.find(kv.first);
          if (it == tb.end()) continue;
          d += std::fabs(kv.second.first / kv.second.second - it->second.first / it->second.second);
          ++n;
        }
        if (n == 0) continue;
        act.push_back(logit_distance(a.logits, b.logits));
        sal.push_back(d / n);
      }
      const double rho = spearman(act, sal);
      ds[m] = num(rho);
      rd.values[m] = rho;
      // Rationale consistency: over documents, model vs model2.
      std::vector<double> act2, sal2;
      for (const DocumentRecord* r : recs) {
        const MethodRecord& mr = r->methods.at(m);
        if (mr.scores2.size() != mr.scores.size() || r->logits2.empty()) continue;
        const std::vector<double> a = normalised(mr.scores), b = normalised(mr.scores2);
        double d = 0;
        for (size_t w = 0; w < a.size(); ++w) d += std::fabs(a[w] - b[w]);
        act2.push_back(logit_distance(r->logits, r->logits2));
        sal2.push_back(a.empty() ? 0 : d / static_cast<double>(a.size()));
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
    j["consistency"] = c;
    ranked.push_back(rd);
    if (have_model2) ranked.push_back(rr);
  }

  // ---------------------------------------------------------- time
  if (has("time")) {
    Json t = Json::object(), ev = Json::object();
    RankedMetric rt{"seconds per explanation", "cost", "lower", {}};
    for (const std::string& m : methods) {
      if (m == "random") continue;
      std::vector<double> s, e;
      for (const DocumentRecord* r : recs) {
        s.push_back(r->methods.at(m).seconds);
        e.push_back(static_cast<double>(r->methods.at(m).evaluations));
      }
      t[m] = num(mean_of(s));
      ev[m] = num(mean_of(e));
      rt.values[m] = mean_of(s);
    }
    j["time"] = {{"seconds_per_explanation", t}, {"evaluations_per_explanation", ev}};
    ranked.push_back(rt);
  }

  // ---------------------------------------------------------- document vectors
  if (has("docvectors")) {
    const std::vector<size_t> pick = spread(recs.size(), 3000);
    const size_t N = pick.size();
    const std::vector<int> ks = {1, 3, 5, 7, 10, 15, 20};
    std::vector<int> labels;
    for (size_t i : pick) labels.push_back(recs[i]->label);
    Json knn = Json::object(), epi = Json::object(), pca = Json::object();
    RankedMetric re{"document vectors: kNN accuracy (explanatory power)", "diagnostic", "higher", {}};
    std::vector<std::string> kinds = methods;
    kinds.push_back("uniform");
    for (const std::string& m : kinds) {
      std::vector<std::vector<double>> rows;
      for (size_t i : pick) {
        std::vector<double> v = m == "uniform" ? recs[i]->uniform_docvec : recs[i]->methods.at(m).docvec;
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
    j["docvectors"] = {{"n", N}, {"ks", ks}, {"knn_accuracy", knn}, {"explanatory_power", epi}, {"pca", pca}};
    ranked.push_back(re);
  }

  // ---------------------------------------------------------- top words
  if (has("topwords")) {
    Json tw = Json::object();
    for (const std::string& m : methods) {
      if (m == "random") continue;
      Json per = Json::object();
      for (int c = 0; c < C; ++c) {
        std::unordered_map<std::string, std::pair<double, int>> sum;
        for (const DocumentRecord* r : recs) {
          if (r->label != c || r->predicted != c) continue;
          const std::vector<double>& s = r->methods.at(m).scores;
          for (size_t w = 0; w < r->words.size(); ++w) {
            auto& e = sum[lower(r->words[w])];
            e.first += s[w];
            e.second += 1;
          }
        }
        std::vector<std::pair<std::string, std::pair<double, int>>> v(sum.begin(), sum.end());
        std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
          return a.second.first != b.second.first ? a.second.first > b.second.first : a.first < b.first;
        });
        Json list = Json::array();
        for (size_t i = 0; i < v.size() && i < 10; ++i) list.push_back({v[i].first, num(v[i].second.first), v[i].second.second});
        per[c < C ? info.label_names[static_cast<size_t>(c)] : std::to_string(c)] = list;
      }
      tw[m] = per;
    }
    j["topwords"] = tw;
  }

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
