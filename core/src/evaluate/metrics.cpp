// The metrics of evaluate.h on plain numbers: rankings, precision-recall,
// IoU matching, macro-F1, least squares, Spearman, PCA, kNN.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "wordlight/error.h"
#include "wordlight/evaluate.h"

namespace wordlight {

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}

std::vector<int> rank_by_score(const std::vector<double>& scores, bool decreasing) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return decreasing ? scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]
                      : scores[static_cast<size_t>(a)] < scores[static_cast<size_t>(b)];
  });
  return order;
}

int top_percent_count(int n, double percent) {
  if (n <= 0 || percent <= 0) return 0;
  const int k = static_cast<int>(std::lround(static_cast<double>(n) * percent / 100.0));
  return std::min(n, std::max(1, k));
}

std::vector<uint8_t> top_k_mask(const std::vector<double>& scores, int k) {
  std::vector<uint8_t> m(scores.size(), 0);
  const std::vector<int> order = rank_by_score(scores, true);
  for (int i = 0; i < k && i < static_cast<int>(order.size()); ++i) m[static_cast<size_t>(order[static_cast<size_t>(i)])] = 1;
  return m;
}

std::vector<std::pair<int, int>> mask_runs(const std::vector<uint8_t>& mask) {
  std::vector<std::pair<int, int>> runs;
  const int n = static_cast<int>(mask.size());
  for (int i = 0; i < n;) {
    if (!mask[static_cast<size_t>(i)]) {
      ++i;
      continue;
    }
    int j = i;
    while (j < n && mask[static_cast<size_t>(j)]) ++j;
    runs.emplace_back(i, j);
    i = j;
  }
  return runs;
}

PrecisionRecall token_prf(const std::vector<uint8_t>& predicted, const std::vector<uint8_t>& gold) {
  if (predicted.size() != gold.size()) throw Error("token_prf: masks of different lengths");
  double tp = 0, np = 0, ng = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    tp += predicted[i] && gold[i];
    np += predicted[i] != 0;
    ng += gold[i] != 0;
  }
  PrecisionRecall r;
  r.precision = np > 0 ? tp / np : 0;
  r.recall = ng > 0 ? tp / ng : 0;
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0;
  return r;
}

IouCounts& IouCounts::operator+=(const IouCounts& o) {
  matched_predicted += o.matched_predicted;
  predicted += o.predicted;
  matched_gold += o.matched_gold;
  gold += o.gold;
  return *this;
}

PrecisionRecall IouCounts::prf() const {
  PrecisionRecall r;
  r.precision = predicted > 0 ? static_cast<double>(matched_predicted) / static_cast<double>(predicted) : 0;
  r.recall = gold > 0 ? static_cast<double>(matched_gold) / static_cast<double>(gold) : 0;
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0;
  return r;
}

double span_iou(std::pair<int, int> a, std::pair<int, int> b) {
  const int inter = std::max(0, std::min(a.second, b.second) - std::max(a.first, b.first));
  const int uni = (a.second - a.first) + (b.second - b.first) - inter;
  return uni > 0 ? static_cast<double>(inter) / uni : 0;
}

IouCounts iou_match(const std::vector<std::pair<int, int>>& predicted, const std::vector<std::pair<int, int>>& gold,
                    double threshold) {
  IouCounts c;
  c.predicted = static_cast<int64_t>(predicted.size());
  c.gold = static_cast<int64_t>(gold.size());
  for (const auto& p : predicted) {
    bool hit = false;
    for (const auto& g : gold) hit = hit || span_iou(p, g) >= threshold;
    c.matched_predicted += hit;
  }
  for (const auto& g : gold) {
    bool hit = false;
    for (const auto& p : predicted) hit = hit || span_iou(p, g) >= threshold;
    c.matched_gold += hit;
  }
  return c;
}

PrCurve precision_recall_curve(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  if (scores.size() != labels.size()) throw Error("precision_recall_curve: scores and labels of different lengths");
  PrCurve c;
  double positives = 0;
  for (uint8_t l : labels) positives += l != 0;
  c.recall.push_back(0);
  c.precision.push_back(1);
  if (positives == 0) return c;
  const std::vector<int> order = rank_by_score(scores, true);
  double tp = 0, n = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t w = static_cast<size_t>(order[i]);
    tp += labels[w] != 0;
    n += 1;
    // A threshold takes every tied score at once: emit a point only after
    // the last of a run of equal scores.
    if (i + 1 < order.size() && scores[static_cast<size_t>(order[i + 1])] == scores[w]) continue;
    c.recall.push_back(tp / positives);
    c.precision.push_back(tp / n);
  }
  return c;
}

double average_precision(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  const PrCurve c = precision_recall_curve(scores, labels);
  if (c.recall.size() < 2) return kNaN;
  double ap = 0;
  for (size_t i = 1; i < c.recall.size(); ++i) ap += (c.recall[i] - c.recall[i - 1]) * c.precision[i];
  return ap;
}

double auprc(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  const PrCurve c = precision_recall_curve(scores, labels);
  if (c.recall.size() < 2) return kNaN;
  return trapezoid_area(c.recall, c.precision);
}

double macro_f1(const std::vector<int>& predicted, const std::vector<int>& gold, int classes) {
  if (predicted.size() != gold.size()) throw Error("macro_f1: predictions and labels of different lengths");
  double sum = 0;
  int present = 0;
  for (int c = 0; c < classes; ++c) {
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
      const bool p = predicted[i] == c, g = gold[i] == c;
      tp += p && g;
      fp += p && !g;
      fn += !p && g;
    }
    if (tp + fp + fn == 0) continue;  // the class occurs in neither
    ++present;
    sum += 2 * tp / (2 * tp + fp + fn);
  }
  return present ? sum / present : 0;
}

double trapezoid_area(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw Error("trapezoid_area: x and y of different lengths");
  double a = 0;
  for (size_t i = 1; i < x.size(); ++i) a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return a;
}

namespace {

// Solves the symmetric positive definite system A x = b (n x n) by Cholesky.
std::vector<double> solve_spd(std::vector<double> A, std::vector<double> b, int n) {
  for (int j = 0; j < n; ++j) {
    double d = A[static_cast<size_t>(j) * n + j];
    for (int k = 0; k < j; ++k) d -= A[static_cast<size_t>(j) * n + k] * A[static_cast<size_t>(j) * n + k];
    if (!(d > 0)) throw Error("fit_linear: the normal equations are singular");
    d = std::sqrt(d);
    A[static_cast<size_t>(j) * n + j] = d;
    for (int i = j + 1; i < n; ++i) {
      double s = A[static_cast<size_t>(i) * n + j];
      for (int k = 0; k < j; ++k) s -= A[static_cast<size_t>(i) * n + k] * A[static_cast<size_t>(j) * n + k];
      A[static_cast<size_t>(i) * n + j] = s / d;
    }
  }
  for (int i = 0; i < n; ++i) {
    double s = b[static_cast<size_t>(i)];
    for (int k = 0; k < i; ++k) s -= A[static_cast<size_t>(i) * n + k] * b[static_cast<size_t>(k)];
    b[static_cast<size_t>(i)] = s / A[static_cast<size_t>(i) * n + i];
  }
  for (int i = n - 1; i >= 0; --i) {
    double s = b[static_cast<size_t>(i)];
    for (int k = i + 1; k < n; ++k) s -= A[static_cast<size_t>(k) * n + i] * b[static_cast<size_t>(k)];
    b[static_cast<size_t>(i)] = s / A[static_cast<size_t>(i) * n + i];
  }
  return b;
}

LinearFit fit_rows(const std::vector<std::vector<double>>& X, const std::vector<double>& y,
                   const std::vector<size_t>& rows) {
  const int p = X.empty() ? 0 : static_cast<int>(X[0].size());
  const int n = p + 1;  // features, then the intercept
  std::vector<double> A(static_cast<size_t>(n) * n, 0.0), b(static_cast<size_t>(n), 0.0);
  for (size_t r : rows) {
    std::vector<double> z(X[r]);
    z.push_back(1.0);
    for (int i = 0; i < n; ++i) {
      b[static_cast<size_t>(i)] += z[static_cast<size_t>(i)] * y[r];
      for (int j = 0; j < n; ++j) A[static_cast<size_t>(i) * n + j] += z[static_cast<size_t>(i)] * z[static_cast<size_t>(j)];
    }
  }
  double diag = 0;
  for (int i = 0; i < n; ++i) diag += A[static_cast<size_t>(i) * n + i];
  const double ridge = 1e-9 * (diag / n) + 1e-300;
  for (int i = 0; i < p; ++i) A[static_cast<size_t>(i) * n + i] += ridge;  // not on the intercept
  const std::vector<double> x = solve_spd(A, b, n);
  LinearFit f;
  f.coef.assign(x.begin(), x.begin() + p);
  f.intercept = x[static_cast<size_t>(p)];
  return f;
}

double predict_fit(const LinearFit& f, const std::vector<double>& x) {
  double v = f.intercept;
  for (size_t i = 0; i < f.coef.size(); ++i) v += f.coef[i] * x[i];
  return v;
}

void check_xy(const std::vector<std::vector<double>>& X, const std::vector<double>& y) {
  if (X.size() != y.size()) throw Error("fit_linear: X and y of different lengths");
  if (X.empty()) throw Error("fit_linear: no data");
  for (const auto& r : X)
    if (r.size() != X[0].size()) throw Error("fit_linear: rows of different widths");
}

}  // namespace

LinearFit fit_linear(const std::vector<std::vector<double>>& X, const std::vector<double>& y) {
  check_xy(X, y);
  std::vector<size_t> rows(X.size());
  std::iota(rows.begin(), rows.end(), size_t{0});
  LinearFit f = fit_rows(X, y, rows);
  double e = 0;
  for (size_t r = 0; r < X.size(); ++r) e += std::fabs(y[r] - predict_fit(f, X[r]));
  f.mae = e / static_cast<double>(X.size());
  return f;
}

double cross_validated_mae(const std::vector<std::vector<double>>& X, const std::vector<double>& y, int folds) {
  check_xy(X, y);
  if (folds < 2 || static_cast<size_t>(folds) > X.size()) return fit_linear(X, y).mae;
  double e = 0;
  for (int k = 0; k < folds; ++k) {
    std::vector<size_t> train;
    for (size_t r = 0; r < X.size(); ++r)
      if (static_cast<int>(r % static_cast<size_t>(folds)) != k) train.push_back(r);
    const LinearFit f = fit_rows(X, y, train);
    for (size_t r = static_cast<size_t>(k); r < X.size(); r += static_cast<size_t>(folds))
      e += std::fabs(y[r] - predict_fit(f, X[r]));
  }
  return e / static_cast<double>(X.size());
}

namespace {
std::vector<double> mean_ranks(const std::vector<double>& v) {
  std::vector<int> order = rank_by_score(v, false);
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[static_cast<size_t>(order[j + 1])] == v[static_cast<size_t>(order[i])]) ++j;
    const double mean = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) r[static_cast<size_t>(order[k])] = mean;
    i = j + 1;
  }
  return r;
}
}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw Error("spearman: vectors of different lengths");
  const size_t n = a.size();
  if (n < 2) return kNaN;
  const std::vector<double> ra = mean_ranks(a), rb = mean_ranks(b);
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += ra[i];
    mb += rb[i];
  }
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0 || sbb == 0) return kNaN;
  return sab / std::sqrt(saa * sbb);
}

std::vector<double> pca_2d(const std::vector<std::vector<double>>& rows) {
  const size_t n = rows.size();
  if (n == 0) return {};
  const size_t d = rows[0].size();
  std::vector<double> mean(d, 0.0);
  for (const auto& r : rows) {
    if (r.size() != d) throw Error("pca_2d: rows of different widths");
    for (size_t j = 0; j < d; ++j) mean[j] += r[j];
  }
  for (double& m : mean) m /= static_cast<double>(n);
  std::vector<double> C(d * d, 0.0);
  for (const auto& r : rows)
    for (size_t i = 0; i < d; ++i) {
      const double ci = r[i] - mean[i];
      for (size_t j = i; j < d; ++j) C[i * d + j] += ci * (r[j] - mean[j]);
    }
  for (size_t i = 0; i < d; ++i)
    for (size_t j = 0; j < i; ++j) C[i * d + j] = C[j * d + i];
  std::vector<std::vector<double>> comps;
  for (int c = 0; c < 2 && static_cast<size_t>(c) < d; ++c) {
    std::vector<double> v(d);
    for (size_t j = 0; j < d; ++j) v[j] = 1.0 + 0.01 * static_cast<double>(j % 7);  // deterministic start
    double lambda = 0;
    for (int it = 0; it < 1000; ++it) {
      std::vector<double> w(d, 0.0);
      for (size_t i = 0; i < d; ++i)
        for (size_t j = 0; j < d; ++j) w[i] += C[i * d + j] * v[j];
      double norm = 0;
      for (double x : w) norm += x * x;
      norm = std::sqrt(norm);
      if (norm == 0) break;
      double change = 0;
      for (size_t j = 0; j < d; ++j) {
        w[j] /= norm;
        change += std::fabs(w[j] - v[j]);
      }
      v = w;
      lambda = norm;
      if (change < 1e-12) break;
    }
    size_t big = 0;
    for (size_t j = 0; j < d; ++j)
      if (std::fabs(v[j]) > std::fabs(v[big])) big = j;
    if (v[big] < 0)
      for (double& x : v) x = -x;
    for (size_t i = 0; i < d; ++i)
      for (size_t j = 0; j < d; ++j) C[i * d + j] -= lambda * v[i] * v[j];
    comps.push_back(v);
  }
  std::vector<double> out(n * 2, 0.0);
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < comps.size(); ++c) {
      double s = 0;
      for (size_t j = 0; j < d; ++j) s += (rows[r][j] - mean[j]) * comps[c][j];
      out[r * 2 + c] = s;
    }
  return out;
}

std::vector<double> knn_loo_accuracy(const std::vector<std::vector<double>>& rows, const std::vector<int>& labels,
                                     const std::vector<int>& ks) {
  const size_t n = rows.size();
  if (labels.size() != n) throw Error("knn_loo_accuracy: rows and labels of different lengths");
  int kmax = 0;
  for (int k : ks) kmax = std::max(kmax, k);
  std::vector<double> correct(ks.size(), 0.0);
  if (n < 2) return std::vector<double>(ks.size(), kNaN);
  int classes = 0;
  for (int l : labels) classes = std::max(classes, l + 1);
  std::vector<std::pair<double, size_t>> dist(n - 1);
  for (size_t q = 0; q < n; ++q) {
    size_t m = 0;
    for (size_t r = 0; r < n; ++r) {
      if (r == q) continue;
      double s = 0;
      for (size_t j = 0; j < rows[q].size(); ++j) {
        const double dd = rows[q][j] - rows[r][j];
        s += dd * dd;
      }
      dist[m++] = {s, r};
    }
    const size_t take = std::min(static_cast<size_t>(kmax), dist.size());
    std::partial_sort(dist.begin(), dist.begin() + static_cast<long>(take), dist.end());
    for (size_t ki = 0; ki < ks.size(); ++ki) {
      const size_t k = std::min(static_cast<size_t>(std::max(1, ks[ki])), take);
      std::vector<int> votes(static_cast<size_t>(classes), 0);
      int best = -1, best_votes = 0;
      // Walking from the nearest: a class must strictly exceed the leader to
      // replace it, so a tie goes to the class that got there first (nearer).
      for (size_t i = 0; i < k; ++i) {
        const int c = labels[dist[i].second];
        if (++votes[static_cast<size_t>(c)] > best_votes) {
          best_votes = votes[static_cast<size_t>(c)];
          best = c;
        }
      }
      correct[ki] += best == labels[q];
    }
  }
  for (double& c : correct) c /= static_cast<double>(n);
  return correct;
}

}  // namespace wordlight
