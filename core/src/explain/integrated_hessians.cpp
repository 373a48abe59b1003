// Integrated Hessians (Janizek, Sturmfels & Lee, "Explaining Explanations:
// Axiomatic Feature Interactions for Deep Networks", JMLR 2021): how much
// word j changes the Integrated Gradients attribution of word i.
//
// The definition, its reduction to single integrals over t = a b and the
// quadrature rules are in explain.h (integrated_hessians). Here:
//   - log_weight_gauss: Gauss rules for the weights -ln t and -t ln t;
//   - integrated_hessians: the driver over a BatchHvpFunction;
//   - the registry entry: the model's target output with exact Hessian-
//     vector products (forward-over-reverse on the tape), ReLU smoothing,
//     baselines (averaged: expected Hessians), the token and word matrices,
//     and the checks.
//
// Cost. For a text of W explained tokens and S Hessian path points, one pass
// takes N path points (rows of one batch) and K directions (one per token,
// Delta restricted to that token's embedding): one primal forward and
// backward on N rows, shared by all K directions, then the forward tangent
// and the tangent of the backward pass with K N rows stacked into every
// GEMM. A tangent row costs about as much as a primal row of forward plus
// backward, so the whole matrix costs about S (1 + c W) forward-backward
// passes (c ~ 1..2), S ceil(W / K) primal passes when the directions do not
// fit in memory at once, plus the S gradient-only points of the first-order
// term (gauss rule). It grows linearly in the words and in the steps; the
// double-backward way (path_explain: one backward of the gradient per word,
// each re-running the primal graph) costs about S W (2 + 3) passes.
#include <algorithm>
#include <cmath>
#include <map>

#include "explain_internal.h"
#include "wordlight/predict.h"
#include "method_entry.h"
#include "wordlight/memory_budget.h"

namespace wordlight {

using namespace explain_detail;

IhRule parse_ih_rule(const std::string& name) {
  if (name == "gauss") return IhRule::gauss;
  if (name == "riemann") return IhRule::riemann;
  if (name == "monte-carlo") return IhRule::monte_carlo;
  throw Error("integrated hessians: rule '" + name + "' is not one of gauss, riemann, monte-carlo");
}

namespace {

// Eigenvalues of the symmetric tridiagonal matrix (diagonal d, off-diagonal
// e[i] between i and i + 1, e[n - 1] unused) by the implicit QL method, and
// the first component of each normalised eigenvector in z (only the first
// row of the eigenvector matrix is carried: Golub-Welsch needs no more).
void tridiagonal_eigen(std::vector<double>& d, std::vector<double> e, std::vector<double>& z) {
  const int n = static_cast<int>(d.size());
  z.assign(static_cast<size_t>(n), 0.0);
  z[0] = 1;
  e.resize(static_cast<size_t>(n), 0.0);
  e[static_cast<size_t>(n - 1)] = 0;
  for (int l = 0; l < n; ++l) {
    int iter = 0, m;
    do {
      for (m = l; m < n - 1; ++m) {
        const double dd = std::fabs(d[m]) + std::fabs(d[m + 1]);
        if (std::fabs(e[m]) <= 1e-16 * dd) break;
      }
      if (m != l) {
        if (iter++ == 100) throw Error("integrated hessians: the quadrature eigenvalues did not converge");
        double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
        double r = std::hypot(g, 1.0);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
        double s = 1, c = 1, p = 0;
        int i;
        for (i = m - 1; i >= l; --i) {
          double f = s * e[i];
          const double b = c * e[i];
          e[i + 1] = (r = std::hypot(f, g));
          if (r == 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2.0 * c * b;
          d[i + 1] = g + (p = s * r);
          g = c * r - b;
          f = z[i + 1];
          z[i + 1] = s * z[i] + c * f;
          z[i] = c * z[i] - s * f;
        }
        if (r == 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m != l);
  }
}

}  // namespace

Quadrature log_weight_gauss(int n, int power) {
  if (n < 1) throw Error("integrated hessians: a Gauss rule needs at least 1 point, got " + std::to_string(n));
  if (power != 0 && power != 1) throw Error("integrated hessians: log weight power must be 0 or 1");
  // A discrete measure with the moments of t^power (-ln t) dt up to degree
  // 2n - 1: t^power (-ln t) dt is the law of t = a b for a, b uniform
  // (weighted by (a b)^power), and a g-point Gauss-Legendre rule in a and
  // in b integrates (a b)^(k + power) exactly while k + power <= 2g - 1.
  const Quadrature gl = ig_quadrature(IgRule::gauss_legendre, n + 2);
  std::vector<double> x, w;
  for (size_t a = 0; a < gl.alphas.size(); ++a)
    for (size_t b = 0; b < gl.alphas.size(); ++b) {
      const double t = gl.alphas[a] * gl.alphas[b];
      x.push_back(t);
      w.push_back(gl.weights[a] * gl.weights[b] * (power ? t : 1.0));
    }
  double mu0 = 0;
  for (double v : w) mu0 += v;
  // Stieltjes procedure with orthonormal polynomials (no under- or
  // overflow): the three-term recurrence t q_k = b_k q_(k-1) + a_k q_k + b_(k+1) q_(k+1).
  const size_t M = x.size();
  std::vector<double> q(M, 1.0 / std::sqrt(mu0)), q_prev(M, 0.0), r(M);
  std::vector<double> diag(static_cast<size_t>(n)), off(static_cast<size_t>(n), 0.0);
  double b_k = 0;
  for (int k = 0; k < n; ++k) {
    double a_k = 0;
    for (size_t i = 0; i < M; ++i) a_k += w[i] * x[i] * q[i] * q[i];
    diag[static_cast<size_t>(k)] = a_k;
    if (k == n - 1) break;
    double norm = 0;
    for (size_t i = 0; i < M; ++i) {
      r[i] = (x[i] - a_k) * q[i] - b_k * q_prev[i];
      norm += w[i] * r[i] * r[i];
    }
    b_k = std::sqrt(norm);
    off[static_cast<size_t>(k)] = b_k;
    for (size_t i = 0; i < M; ++i) {
      q_prev[i] = q[i];
      q[i] = r[i] / b_k;
    }
  }
  std::vector<double> z;
  tridiagonal_eigen(diag, off, z);
  std::vector<size_t> order(static_cast<size_t>(n));
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return diag[a] < diag[b]; });
  Quadrature out;
  for (size_t i : order) {
    out.alphas.push_back(diag[i]);
    out.weights.push_back(mu0 * z[i] * z[i]);
  }
  return out;
}

std::vector<IhPathPoint> ih_path_points(IhRule rule, int steps, uint64_t seed) {
  if (steps < 1) throw Error("integrated hessians: steps must be at least 1, got " + std::to_string(steps));
  std::vector<IhPathPoint> pts;
  switch (rule) {
    case IhRule::gauss: {
      const Quadrature second = log_weight_gauss(steps, 1), first = log_weight_gauss(steps, 0);
      for (size_t k = 0; k < second.alphas.size(); ++k) pts.push_back({second.alphas[k], 0.0, second.weights[k]});
      for (size_t k = 0; k < first.alphas.size(); ++k) pts.push_back({first.alphas[k], first.weights[k], 0.0});
      break;
    }
    case IhRule::riemann: {
      // Midpoints a = (i + 1/2) / m, b = (j + 1/2) / m: a b = (2i + 1)(2j + 1) / (4 m^2),
      // so equal products are found exactly by their integer numerator.
      const long m = std::max(1L, std::lround(std::sqrt(static_cast<double>(steps))));
      std::map<long, int> count;
      for (long i = 0; i < m; ++i)
        for (long j = 0; j < m; ++j) ++count[(2 * i + 1) * (2 * j + 1)];
      const double cell = 1.0 / static_cast<double>(m * m);
      for (const auto& kv : count) {
        const double t = static_cast<double>(kv.first) * cell / 4.0;
        pts.push_back({t, kv.second * cell, t * kv.second * cell});
      }
      break;
    }
    case IhRule::monte_carlo: {
      Rng rng(seed);
      for (int k = 0; k < steps; ++k) {
        const double t = rng.uniform() * rng.uniform();
        pts.push_back({t, 1.0 / steps, t / steps});
      }
      break;
    }
  }
  return pts;
}

int64_t ih_evaluations(const IhOptions& o) {
  return static_cast<int64_t>(ih_path_points(o.rule, o.steps, o.seed).size()) + 2;
}

IhResult integrated_hessians(const BatchHvpFunction& f, int64_t n, const float* input, const float* baseline,
                             const std::vector<int32_t>& group, int groups, const IhOptions& o,
                             const ExplainControl& control, int64_t progress_offset, int64_t progress_total) {
  if (n <= 0) throw Error("integrated hessians: the input is empty");
  if (static_cast<int64_t>(group.size()) != n)
    throw Error("integrated hessians: " + std::to_string(group.size()) + " group ids for " + std::to_string(n) +
                " features");
  if (groups < 1) throw Error("integrated hessians: no feature groups to explain");
  for (int32_t g : group)
    if (g < -1 || g >= groups)
      throw Error("integrated hessians: group id " + std::to_string(g) + " is outside [-1, " +
                  std::to_string(groups) + ")");
  if (o.batch_size < 1)
    throw Error("integrated hessians: batch size must be at least 1, got " + std::to_string(o.batch_size));
  const std::vector<IhPathPoint> pts = ih_path_points(o.rule, o.steps, o.seed);
  const int64_t total = progress_total > 0 ? progress_total : progress_offset + static_cast<int64_t>(pts.size()) + 2;
  int64_t done = progress_offset;
  auto check_cancel = [&] {
    if (control.cancel && control.cancel->load()) throw Cancelled();
  };
  auto report = [&](int64_t k) {
    done += k;
    if (control.progress) control.progress(done, std::max(total, done));
  };

  const size_t N1 = static_cast<size_t>(n), G = static_cast<size_t>(groups);
  std::vector<double> delta(N1);
  for (size_t i = 0; i < N1; ++i) delta[i] = static_cast<double>(input[i]) - baseline[i];
  // Directions (G, n): Delta restricted to each group.
  std::vector<float> V(G * N1, 0.f);
  for (size_t i = 0; i < N1; ++i)
    if (group[i] >= 0) V[static_cast<size_t>(group[i]) * N1 + i] = input[i] - baseline[i];

  IhResult r;
  r.groups = groups;
  check_cancel();
  {
    std::vector<float> ends(2 * N1);
    std::copy(input, input + n, ends.begin());
    std::copy(baseline, baseline + n, ends.begin() + static_cast<long>(N1));
    double out[2];
    f(2, ends.data(), 0, nullptr, out, nullptr, nullptr);
    r.f_input = out[0];
    r.f_baseline = out[1];
    r.evaluations += 2;
    report(2);
  }

  std::vector<double> gamma(G * G, 0.0);
  std::vector<IhPathPoint> hess, grad_only;
  for (const IhPathPoint& p : pts) (p.w_second != 0 ? hess : grad_only).push_back(p);
  const int Kc = o.max_directions > 0 ? std::min(o.max_directions, groups) : groups;
  const int B = o.batch_size;
  std::vector<float> xs, grads, hv;
  std::vector<double> outs;
  // Fills xs with the path points [k0, k0 + nb) of `list`.
  auto fill_points = [&](const std::vector<IhPathPoint>& list, int k0, int nb) {
    xs.resize(static_cast<size_t>(nb) * N1);
    for (int j = 0; j < nb; ++j) {
      const float t = static_cast<float>(list[static_cast<size_t>(k0 + j)].t);
      float* x = xs.data() + static_cast<size_t>(j) * N1;
      for (size_t i = 0; i < N1; ++i) x[i] = baseline[i] + t * (input[i] - baseline[i]);
    }
  };
  // The first-order term, on the diagonal: w_first Delta_i df/dx_i summed per group.
  auto add_first_order = [&](const std::vector<IhPathPoint>& list, int k0, int nb) {
    for (int j = 0; j < nb; ++j) {
      const double w = list[static_cast<size_t>(k0 + j)].w_first;
      if (w == 0) continue;
      const float* g = grads.data() + static_cast<size_t>(j) * N1;
      for (size_t i = 0; i < N1; ++i)
        if (group[i] >= 0) gamma[static_cast<size_t>(group[i]) * (G + 1)] += w * delta[i] * g[i];
    }
  };

  // Hessian points: one pass per (batch of points, chunk of directions).
  for (int k0 = 0; k0 < static_cast<int>(hess.size()); k0 += B) {
    const int nb = std::min(B, static_cast<int>(hess.size()) - k0);
    fill_points(hess, k0, nb);
    outs.resize(static_cast<size_t>(nb));
    grads.resize(static_cast<size_t>(nb) * N1);
    for (int d0 = 0; d0 < groups; d0 += Kc) {
      check_cancel();
      const int K = std::min(Kc, groups - d0);
      hv.resize(static_cast<size_t>(K) * nb * N1);
      f(nb, xs.data(), K, V.data() + static_cast<size_t>(d0) * N1, outs.data(), grads.data(), hv.data());
      if (d0 == 0) add_first_order(hess, k0, nb);
      // Gamma_IJ += w_second sum_{i in I} Delta_i (H V_J)_i
      for (int k = 0; k < K; ++k) {
        const size_t J = static_cast<size_t>(d0 + k);
        for (int j = 0; j < nb; ++j) {
          const double w = hess[static_cast<size_t>(k0 + j)].w_second;
          const float* h = hv.data() + (static_cast<size_t>(k) * nb + j) * N1;
          for (size_t i = 0; i < N1; ++i)
            if (group[i] >= 0) gamma[static_cast<size_t>(group[i]) * G + J] += w * delta[i] * h[i];
        }
      }
    }
    r.evaluations += nb;
    r.hessian_points += nb;
    report(nb);
  }
  // Gradient-only points (the first-order term of the gauss rule).
  for (int k0 = 0; k0 < static_cast<int>(grad_only.size()); k0 += B) {
    check_cancel();
    const int nb = std::min(B, static_cast<int>(grad_only.size()) - k0);
    fill_points(grad_only, k0, nb);
    outs.resize(static_cast<size_t>(nb));
    grads.resize(static_cast<size_t>(nb) * N1);
    f(nb, xs.data(), 0, nullptr, outs.data(), grads.data(), nullptr);
    add_first_order(grad_only, k0, nb);
    r.evaluations += nb;
    report(nb);
  }

  r.interactions = std::move(gamma);
  r.row_sums.assign(G, 0.0);
  double sum = 0;
  for (size_t I = 0; I < G; ++I) {
    for (size_t J = 0; J < G; ++J) r.row_sums[I] += r.interactions[I * G + J];
    sum += r.row_sums[I];
  }
  r.gap = sum - (r.f_input - r.f_baseline);
  return r;
}

namespace explain_detail {

namespace {

// The classifier's target output on N copies of one text with other word
// embeddings, with exact Hessian-vector products: forward and backward once
// for the N rows, then K tangent directions through both (rows are
// independent examples, so the Hessian of the sum over rows is block
// diagonal and direction k seeded on every row gives each row's own H V_k).
class ModelHvp {
 public:
  ModelHvp(const Model& m, const std::vector<int32_t>& ids, int target, bool probability, double softplus_beta)
      : m_(m), ids_(ids), target_(target), probability_(probability) {
    g_.relu_softplus_beta = softplus_beta;
  }

  void operator()(int N, const float* x, int K, const float* V, double* out, float* grad, float* hv) {
    if (N <= 0) return;
    const int T = static_cast<int>(ids_.size()), D = m_.embedding_dim();
    const size_t n = static_cast<size_t>(T) * D;
    TokenBatch b;
    b.B = N;
    b.T = T;
    for (int i = 0; i < N; ++i) b.ids.insert(b.ids.end(), ids_.begin(), ids_.end());
    b.mask.assign(b.ids.size(), 1);
    g_.clear();
    const bool need_grad = grad != nullptr || (K > 0 && hv != nullptr);
    Var xv = g_.input(Shape{N, T, D}, x, need_grad);
    Var logits = m_.forward(g_, xv, b);
    const std::vector<int32_t> idx(static_cast<size_t>(N), target_);
    Var y = g_.pick(!probability_ ? logits : is_multi_label(m_.config()) ? g_.sigmoid(logits) : g_.softmax(logits), idx.data());
    const float* yv = g_.value(y);
    for (int i = 0; i < N; ++i) out[i] = yv[i];
    evaluations_ += N;
    if (!need_grad) return;
    Var s = g_.sum(y);
    if (K > 0 && hv) {
      // Each direction (n) repeated on every row: (K, N, n).
      rep_.resize(static_cast<size_t>(K) * N * n);
      for (int k = 0; k < K; ++k)
        for (int j = 0; j < N; ++j)
          std::copy(V + static_cast<size_t>(k) * n, V + static_cast<size_t>(k + 1) * n,
                    rep_.begin() + static_cast<long>((static_cast<size_t>(k) * N + j) * n));
      grad_.resize(static_cast<size_t>(N) * n);
      hessian_vector_products(g_, s, xv, K, rep_.data(), hv, grad_.data());
      if (grad) std::copy(grad_.begin(), grad_.end(), grad);
    } else {
      g_.backward(s);
      const float* gr = g_.grad(xv);
      std::copy(gr, gr + static_cast<size_t>(N) * n, grad);
    }
  }

  // Bytes one path point takes with its forward and backward pass (arena
  // high water of a fresh graph), for sizing the batches.
  size_t bytes_per_point(const float* x) {
    Graph<float> g;
    g.relu_softplus_beta = g_.relu_softplus_beta;
    const int T = static_cast<int>(ids_.size()), D = m_.embedding_dim();
    TokenBatch b;
    b.B = 1;
    b.T = T;
    b.ids = ids_;
    b.mask.assign(ids_.size(), 1);
    Var xv = g.input(Shape{1, T, D}, x, true);
    const int32_t idx = target_;
    Var y = g.pick(m_.forward(g, xv, b), &idx);
    g.backward(y);
    evaluations_ += 1;
    return g.arena_bytes_reserved();
  }
  int64_t evaluations() const { return evaluations_; }

 private:
  const Model& m_;
  std::vector<int32_t> ids_;
  int target_;
  bool probability_;
  Graph<float> g_;
  std::vector<float> rep_, grad_;
  int64_t evaluations_ = 0;
};

void run_ih(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  const int T = t.T(), D = t.D();
  const std::string kind = ctx.opts.str("baseline");
  const int samples = kind == "random-words" ? static_cast<int>(ctx.opts.integer("baseline-samples")) : 1;
  const uint64_t seed = static_cast<uint64_t>(ctx.opts.integer("seed"));
  const auto baselines = make_baselines(t, ctx.tokenizer, ctx.enc, kind, samples, seed);
  const bool probability = ctx.opts.str("output") == "probability";
  const double beta = ctx.opts.number("softplus-beta");
  const bool ig_check = ctx.opts.boolean("ig-check");

  // Features: the embedding dims of each text token; special tokens keep
  // their embeddings on every path (no direction, no row).
  std::vector<int> token_of_group;
  std::vector<int32_t> group(static_cast<size_t>(T) * D, -1);
  for (int i = 0; i < T; ++i) {
    if (ctx.enc.word_ids[static_cast<size_t>(i)] < 0) continue;
    for (int d = 0; d < D; ++d) group[static_cast<size_t>(i) * D + d] = static_cast<int32_t>(token_of_group.size());
    token_of_group.push_back(i);
  }
  const int W = static_cast<int>(token_of_group.size());

  ModelHvp hvp(t.model(), t.ids(), t.prediction().target, probability, beta);
  // Batches: path points per pass, and directions per pass when even one
  // point with every direction does not fit. A pass with N points and K
  // directions takes about N (1 + K) times a point's forward and backward.
  IhOptions o;
  o.rule = parse_ih_rule(ctx.opts.str("rule"));
  o.steps = static_cast<int>(ctx.opts.integer("steps"));
  o.seed = seed;
  const double budget = static_cast<double>(memory_budget_bytes(ctx.opts.number("memory-mb")));
  const double per_point = static_cast<double>(std::max<size_t>(hvp.bytes_per_point(t.embeddings().data()), 1));
  const int fit = static_cast<int>(std::floor(budget / (per_point * (1.0 + W))));
  // And at most kIhPassBytes per pass, even when the budget allows more: a
  // pass's tangents are written once and read once or twice, so a bigger
  // pass gains little per row but pays the first-touch page faults of a
  // bigger arena, and outgrows the arenas' chunk cache between calls
  // (sst2-bilstm, 32 words, 16 points in one pass: 1.4 GB, more kernel time
  // than compute). Measured there, CPU seconds per call (user + system):
  // 0.42 at 2 points per pass, 0.48 at 4, 1.2 at 8, 0.83 at 16; at 16 words
  // 0.14-0.16 at 2 to 4 and 0.18-0.19 at 8 to 16. The points are then spread evenly
  // over the passes (16 in 6, 6, 4 rather than 7, 7, 2).
  constexpr double kIhPassBytes = 256.0 * (1 << 20);
  const int fit_pass = std::max(1, static_cast<int>(std::floor(kIhPassBytes / (per_point * (1.0 + W)))));
  o.batch_size = std::max(1, std::min({static_cast<int>(ctx.opts.integer("batch-size")), fit, fit_pass}));
  if (o.steps > o.batch_size) {
    const int passes = (o.steps + o.batch_size - 1) / o.batch_size;
    o.batch_size = (o.steps + passes - 1) / passes;
  }
  o.max_directions = fit >= 1 ? 0 : std::max(1, static_cast<int>(budget / per_point) - 1);

  const bool adaptive = ctx.opts.boolean("adaptive");
  const int max_steps = std::max(o.steps, static_cast<int>(ctx.opts.integer("max-steps")));
  const double tol = ctx.opts.number("tolerance");
  const int64_t n = static_cast<int64_t>(T) * D;
  const size_t G = static_cast<size_t>(W);
  const double nb = static_cast<double>(baselines.size());
  BatchHvpFunction f = [&](int N, const float* x, int K, const float* V, double* out, float* grad, float* hv) {
    hvp(N, x, K, V, out, grad, hv);
  };
  // One level: the matrix at o.steps, averaged over the baselines.
  double f_in = 0, f_base = 0;
  int64_t done = 1;
  auto level = [&](int64_t total) {
    std::vector<double> gm(G * G, 0.0);
    f_base = 0;
    const int64_t per = ih_evaluations(o);
    for (size_t s = 0; s < baselines.size(); ++s) {
      const IhResult r = integrated_hessians(f, n, t.embeddings().data(), baselines[s].data(), group, W, o,
                                             t.control(), done + per * static_cast<int64_t>(s), total);
      for (size_t i = 0; i < gm.size(); ++i) gm[i] += r.interactions[i] / nb;
      f_in = r.f_input;
      f_base += r.f_baseline / nb;
    }
    done += per * static_cast<int64_t>(baselines.size());
    return gm;
  };
  auto gap_of = [&](const std::vector<double>& gm) {
    double sum = 0;
    for (double v : gm) sum += v;
    return std::fabs(sum - (f_in - f_base)) / std::max(std::fabs(f_in - f_base), 1e-9);
  };
  auto level_total = [&](int steps) {
    IhOptions q = o;
    q.steps = steps;
    return done + ih_evaluations(q) * static_cast<int64_t>(baselines.size()) +
           (ig_check ? (steps + 2) * static_cast<int64_t>(baselines.size()) : 0);
  };
  t.set_total(level_total(o.steps));
  t.advance(1);  // the probe above
  Convergence& cv = e.convergence;
  cv.present = true;
  cv.adaptive = adaptive;
  cv.tolerance = tol;
  std::vector<double> gamma = level(level_total(o.steps));
  cv.tried.push_back(o.steps);
  double gap = gap_of(gamma), change = -1;
  while (adaptive && 2 * o.steps <= max_steps) {
    o.steps *= 2;
    const std::vector<double> g2 = level(level_total(o.steps));
    cv.tried.push_back(o.steps);
    change = relative_change(gamma, g2, 1e-3 * std::fabs(f_in - f_base));
    gamma = g2;
    gap = gap_of(gamma);
    if (gap <= tol && change <= tol) break;
  }
  cv.steps = o.steps;
  cv.gap = gap;
  cv.change = change;
  cv.converged = gap <= tol && (!adaptive || (change >= 0 && change <= tol));
  std::vector<double> ig(G, 0.0);
  if (ig_check) {
    const int64_t total = done + (o.steps + 2) * static_cast<int64_t>(baselines.size());
    for (size_t s = 0; s < baselines.size(); ++s) {
      BatchFunction fg = [&](int N, const float* x, double* out, float* grad) {
        hvp(N, x, 0, nullptr, out, grad, nullptr);
      };
      const IgResult q = integrated_gradients(fg, n, t.embeddings().data(), baselines[s].data(),
                                              IgRule::gauss_legendre, o.steps, o.batch_size, t.control(),
                                              done + (o.steps + 2) * static_cast<int64_t>(s), total);
      const std::vector<double> tok = sum_over_dims(q.attributions, T, D);
      for (size_t k = 0; k < G; ++k) ig[k] += tok[static_cast<size_t>(token_of_group[k])] / nb;
    }
  }
  t.add_evaluations(hvp.evaluations());

  // Token matrix (T x T) and scores (row sums).
  const size_t Tn = static_cast<size_t>(T);
  e.token_interactions.assign(Tn * Tn, 0.0);
  double sum = 0, max_row_diff = 0, max_ig = 0;
  for (size_t I = 0; I < G; ++I) {
    double row = 0;
    for (size_t J = 0; J < G; ++J) {
      const double v = gamma[I * G + J];
      e.token_interactions[static_cast<size_t>(token_of_group[I]) * Tn + static_cast<size_t>(token_of_group[J])] = v;
      row += v;
    }
    e.tokens[static_cast<size_t>(token_of_group[I])].score = row;
    sum += row;
    max_row_diff = std::max(max_row_diff, std::fabs(row - ig[I]));
    max_ig = std::max(max_ig, std::fabs(ig[I]));
  }
  // Word matrix: the block of two words' tokens merged as the word scores are.
  const std::string merge = ctx.opts.str("merge");
  const size_t Wn = e.words.size();
  e.word_interactions.assign(Wn * Wn, 0.0);
  for (size_t a = 0; a < Wn; ++a)
    for (size_t b = 0; b < Wn; ++b) {
      double acc = 0, best = 0;
      size_t count = 0;
      for (int32_t ta : e.words[a].tokens)
        for (int32_t tb : e.words[b].tokens) {
          const double v = e.token_interactions[static_cast<size_t>(ta) * Tn + static_cast<size_t>(tb)];
          acc += v;
          if (std::fabs(v) > std::fabs(best)) best = v;
          ++count;
        }
      e.word_interactions[a * Wn + b] = merge == "sum" ? acc : merge == "mean" ? (count ? acc / count : 0) : best;
    }

  e.checks.push_back(
      make_check("interaction-completeness-gap", sum - (f_in - f_base), f_in - f_base,
                 "sum of the interaction matrix minus (f(input) - f(baseline)); 0 for exact integration"));
  if (ig_check)
    e.checks.push_back(
        make_check("row-sum-ig-gap", max_row_diff, max_ig,
                   "largest |row sum - Integrated Gradients attribution| (IG by Gauss-Legendre, same steps)"));
  // How far the smoothed model (every ReLU a softplus) is from the model at
  // the input, in the explained output.
  if (beta > 0)
    e.checks.push_back(
        make_check("smoothing-difference", f_in - t.f_input(), std::fabs(t.f_input()),
                   "explained output of the smoothed model (ReLU -> softplus) minus the model's, at the input"));
}

}  // namespace

std::vector<MethodEntry> integrated_hessians_methods() {
  return {method_entry(
      "integrated-hessians",
      "Integrated Hessians: pairwise word interactions whose rows sum to Integrated Gradients (exact Hessian-vector "
      "products)",
      run_ih,
      {
      int_option("steps", 16, 1, 256,
                 "Hessian path points per baseline (gauss: and as many gradient points); adaptive: the first try"),
      bool_option("adaptive", true,
                  "double the steps until the interaction completeness gap and the change of the matrix from the "
                  "previous steps are both below the tolerance (or max-steps is reached)"),
      int_option("max-steps", 128, 1, 256, "adaptive: the most steps tried"),
      num_option("tolerance", 0.01, 1e-6, 1, "adaptive: relative completeness gap and matrix change to reach"),
      choice_option("rule", "gauss", {"gauss", "riemann", "monte-carlo"},
                    "quadrature over t = alpha beta: Gauss rules for -ln t and -t ln t, the paper's grid, or "
                    "random (alpha, beta)"),
      choice_option("baseline", "zero", {"zero", "pad", "mask", "unk", "random-words"},
                    "embeddings the path starts from (special tokens keep theirs)"),
      int_option("baseline-samples", 8, 1, 256, "random-words: baselines averaged (expected Hessians)"),
      int_option("seed", 1, 0, 2147483647, "random-words baselines and the monte-carlo rule"),
      num_option("softplus-beta", 10, 0, 1e6,
                 "every ReLU becomes softplus of this temperature (0: none; ReLU nets have no curvature)"),
      int_option("batch-size", 16, 1, 4096, "most path points run through the model at once"),
      bool_option("ig-check", true, "also compute IG to check the row sums (costs steps gradient points)"),
      },
      "interaction-completeness-gap")};
}

}  // namespace explain_detail

}  // namespace wordlight
