// Integrated Gradients (Sundararajan et al. 2017):
//   IG_i = (x_i - b_i) * integral_0^1 df/dx_i (b + a (x - b)) da
// with the integral by a quadrature rule over `steps` points, all path
// points run through the model as batches. Completeness: sum_i IG_i =
// f(x) - f(b) up to the quadrature error, reported as the check
// "completeness-gap". With baseline=random-words, IG is averaged over
// several baselines (expected gradients with a fixed quadrature).
#include <algorithm>
#include <cmath>
#include <map>

#include "explain_internal.h"
#include "method_entry.h"
#include "wordlight/memory_budget.h"

namespace wordlight {

using namespace explain_detail;

IgRule parse_ig_rule(const std::string& name) {
  if (name == "left") return IgRule::left;
  if (name == "right") return IgRule::right;
  if (name == "midpoint") return IgRule::midpoint;
  if (name == "trapezoid") return IgRule::trapezoid;
  if (name == "gauss-legendre") return IgRule::gauss_legendre;
  throw Error("integration rule '" + name + "' is not one of left, right, midpoint, trapezoid, gauss-legendre");
}

Quadrature ig_quadrature(IgRule rule, int steps) {
  if (steps < 1) throw Error("integrated gradients: steps must be at least 1, got " + std::to_string(steps));
  Quadrature q;
  const double n = steps;
  switch (rule) {
    case IgRule::left:
    case IgRule::right:
    case IgRule::midpoint: {
      const double off = rule == IgRule::left ? 0.0 : rule == IgRule::right ? 1.0 : 0.5;
      for (int k = 0; k < steps; ++k) {
        q.alphas.push_back((k + off) / n);
        q.weights.push_back(1.0 / n);
      }
      break;
    }
    case IgRule::trapezoid: {
      if (steps < 2)
        throw Error("integrated gradients: the trapezoid rule needs at least 2 steps, got " + std::to_string(steps));
      for (int k = 0; k < steps; ++k) {
        q.alphas.push_back(k / (n - 1));
        q.weights.push_back((k == 0 || k == steps - 1 ? 0.5 : 1.0) / (n - 1));
      }
      break;
    }
    case IgRule::gauss_legendre: {
      // Nodes of the Legendre polynomial P_n by Newton's method from
      // Tricomi's initial guesses, mapped from [-1, 1] to [0, 1].
      q.alphas.assign(static_cast<size_t>(steps), 0.0);
      q.weights.assign(static_cast<size_t>(steps), 0.0);
      const int m = (steps + 1) / 2;
      const double pi = 3.14159265358979323846;
      for (int i = 0; i < m; ++i) {
        double z = std::cos(pi * (i + 0.75) / (n + 0.5)), pp = 1;
        for (int it = 0; it < 100; ++it) {
          double p1 = 1, p2 = 0;
          for (int j = 1; j <= steps; ++j) {
            const double p3 = p2;
            p2 = p1;
            p1 = ((2.0 * j - 1.0) * z * p2 - (j - 1.0) * p3) / j;
          }
          pp = n * (z * p1 - p2) / (z * z - 1.0);
          const double z1 = z;
          z = z1 - p1 / pp;
          if (std::fabs(z - z1) < 1e-15) break;
        }
        const double w = 2.0 / ((1.0 - z * z) * pp * pp);
        q.alphas[static_cast<size_t>(i)] = 0.5 * (1.0 - z);
        q.alphas[static_cast<size_t>(steps - 1 - i)] = 0.5 * (1.0 + z);
        q.weights[static_cast<size_t>(i)] = q.weights[static_cast<size_t>(steps - 1 - i)] = 0.5 * w;
      }
      break;
    }
  }
  return q;
}

IgResult integrated_gradients(const BatchFunction& f, int64_t n, const float* input, const float* baseline, IgRule rule,
                              int steps, int batch_size, const ExplainControl& control, int64_t progress_offset,
                              int64_t progress_total) {
  if (n <= 0) throw Error("integrated gradients: the input is empty");
  if (batch_size < 1)
    throw Error("integrated gradients: batch size must be at least 1, got " + std::to_string(batch_size));
  const Quadrature q = ig_quadrature(rule, steps);
  const int64_t total = progress_total > 0 ? progress_total : progress_offset + steps + 2;
  int64_t done = progress_offset;
  auto check_cancel = [&] {
    if (control.cancel && control.cancel->load()) throw Cancelled();
  };
  auto report = [&](int64_t k) {
    done += k;
    if (control.progress) control.progress(done, std::max(total, done));
  };
  IgResult r;
  const size_t N1 = static_cast<size_t>(n);
  // The two ends, one batch without gradients.
  check_cancel();
  {
    std::vector<float> ends(2 * N1);
    std::copy(input, input + n, ends.begin());
    std::copy(baseline, baseline + n, ends.begin() + static_cast<long>(N1));
    double out[2];
    f(2, ends.data(), out, nullptr);
    r.f_input = out[0];
    r.f_baseline = out[1];
    r.evaluations += 2;
    report(2);
  }
  std::vector<double> acc(N1, 0.0);
  const int B = std::min(batch_size, steps);
  std::vector<float> xs(static_cast<size_t>(B) * N1), grads(static_cast<size_t>(B) * N1);
  std::vector<double> outs(static_cast<size_t>(B));
  for (int k0 = 0; k0 < steps; k0 += B) {
    check_cancel();
    const int nb = std::min(B, steps - k0);
    for (int j = 0; j < nb; ++j) {
      const float a = static_cast<float>(q.alphas[static_cast<size_t>(k0 + j)]);
      float* x = xs.data() + static_cast<size_t>(j) * N1;
      for (size_t i = 0; i < N1; ++i) x[i] = baseline[i] + a * (input[i] - baseline[i]);
    }
    f(nb, xs.data(), outs.data(), grads.data());
    for (int j = 0; j < nb; ++j) {
      const double w = q.weights[static_cast<size_t>(k0 + j)];
      const float* gr = grads.data() + static_cast<size_t>(j) * N1;
      for (size_t i = 0; i < N1; ++i) acc[i] += w * gr[i];
    }
    r.evaluations += nb;
    report(nb);
  }
  r.attributions.resize(N1);
  double sum = 0;
  for (size_t i = 0; i < N1; ++i) {
    r.attributions[i] = (static_cast<double>(input[i]) - baseline[i]) * acc[i];
    sum += r.attributions[i];
  }
  r.gap = sum - (r.f_input - r.f_baseline);
  return r;
}

namespace explain_detail {

bool ig_rule_nests(IgRule rule) { return rule == IgRule::left || rule == IgRule::right || rule == IgRule::trapezoid; }

int ig_next_steps(IgRule rule, int steps) { return rule == IgRule::trapezoid ? 2 * steps - 1 : 2 * steps; }

double relative_change(const std::vector<double>& a, const std::vector<double>& b, double scale_floor) {
  double diff = 0, big = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    big = std::max(big, std::fabs(b[i]));
  }
  return diff / std::max({big, scale_floor, 1e-12});
}

namespace {

// The path of one baseline, kept across the adaptive levels: the weighted
// gradient sum of the current rule (per embedding value) and the explained
// output at every point evaluated (for the integrand picture).
struct BaselinePath {
  const float* baseline = nullptr;
  double f_baseline = 0;
  std::vector<double> acc;
  std::map<long long, double> f_at;  // key: round(alpha * 2^40)
};

long long alpha_key(double a) { return std::llround(a * 1099511627776.0); }

class IgRunner {
 public:
  IgRunner(ModelTarget& t, int batch) : t_(t), batch_(batch), n_(static_cast<size_t>(t.T()) * t.D()) {}

  // acc (+)= sum_k weights[k] grad f(b + alphas[k] (x - b)), in batches.
  void add_points(BaselinePath& p, const std::vector<double>& alphas, const std::vector<double>& weights) {
    const float* x0 = t_.embeddings().data();
    const int steps = static_cast<int>(alphas.size());
    const int B = std::max(1, std::min(batch_, steps));
    xs_.resize(static_cast<size_t>(B) * n_);
    grads_.resize(static_cast<size_t>(B) * n_);
    outs_.resize(static_cast<size_t>(B));
    for (int k0 = 0; k0 < steps; k0 += B) {
      t_.check_cancel();
      const int nb = std::min(B, steps - k0);
      for (int j = 0; j < nb; ++j) {
        const float a = static_cast<float>(alphas[static_cast<size_t>(k0 + j)]);
        float* x = xs_.data() + static_cast<size_t>(j) * n_;
        for (size_t i = 0; i < n_; ++i) x[i] = p.baseline[i] + a * (x0[i] - p.baseline[i]);
      }
      t_.eval(nb, xs_.data(), outs_.data(), grads_.data());
      for (int j = 0; j < nb; ++j) {
        const double w = weights[static_cast<size_t>(k0 + j)];
        const float* gr = grads_.data() + static_cast<size_t>(j) * n_;
        for (size_t i = 0; i < n_; ++i) p.acc[i] += w * gr[i];
        p.f_at[alpha_key(alphas[static_cast<size_t>(k0 + j)])] = outs_[static_cast<size_t>(j)];
      }
      t_.advance(nb);
    }
  }

  size_t n() const { return n_; }

 private:
  ModelTarget& t_;
  int batch_;
  size_t n_;
  std::vector<float> xs_, grads_;
  std::vector<double> outs_;
};

void run_ig(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  const std::string kind = ctx.opts.str("baseline");
  const int samples = kind == "random-words" ? static_cast<int>(ctx.opts.integer("baseline-samples")) : 1;
  const auto baselines =
      make_baselines(t, ctx.tokenizer, ctx.enc, kind, samples, static_cast<uint64_t>(ctx.opts.integer("seed")));
  const IgRule rule = parse_ig_rule(ctx.opts.str("rule"));
  int steps = static_cast<int>(ctx.opts.integer("steps"));
  const bool adaptive = ctx.opts.boolean("adaptive");
  const int max_steps = std::max(steps, static_cast<int>(ctx.opts.integer("max-steps")));
  const double tol = ctx.opts.number("tolerance");
  if (rule == IgRule::trapezoid && steps < 2)
    throw Error("integrated-gradients: the trapezoid rule needs at least 2 steps, got " + std::to_string(steps));
  const int T = t.T(), D = t.D();
  const double nb = static_cast<double>(baselines.size());
  const int rows = rows_that_fit(t.model().config(), T, RowPass::backward, ctx.opts.number("memory-mb"),
                                 static_cast<int>(ctx.opts.integer("batch-size")), "integrated-gradients");
  IgRunner run(t, rows);

  // The ends: the input (already run for the prediction) and each baseline.
  std::vector<BaselinePath> paths(baselines.size());
  int64_t total = 1 + static_cast<int64_t>(baselines.size()) * steps;
  t.set_total(total);
  {
    const size_t chunk = static_cast<size_t>(rows);
    for (size_t s0 = 0; s0 < baselines.size(); s0 += chunk) {
      t.check_cancel();
      const size_t nb_here = std::min(chunk, baselines.size() - s0);
      std::vector<float> ends(nb_here * run.n());
      for (size_t s = 0; s < nb_here; ++s)
        std::copy(baselines[s0 + s].begin(), baselines[s0 + s].end(), ends.begin() + static_cast<long>(s * run.n()));
      std::vector<double> out(nb_here);
      t.eval(static_cast<int>(nb_here), ends.data(), out.data(), nullptr);
      for (size_t s = 0; s < nb_here; ++s) {
        paths[s0 + s].baseline = baselines[s0 + s].data();
        paths[s0 + s].f_baseline = out[s];
        paths[s0 + s].acc.assign(run.n(), 0.0);
      }
    }
    t.advance(1);
  }
  const double f_in = t.f_input();
  double f_base = 0;
  for (const BaselinePath& p : paths) f_base += p.f_baseline / nb;
  const double reference = f_in - f_base;

  // Token scores of the current level (averaged over baselines) and its gap.
  std::vector<double> attr(run.n());
  auto level_scores = [&](double* gap_rel) {
    std::fill(attr.begin(), attr.end(), 0.0);
    const float* x0 = t.embeddings().data();
    for (const BaselinePath& p : paths)
      for (size_t i = 0; i < run.n(); ++i) attr[i] += (static_cast<double>(x0[i]) - p.baseline[i]) * p.acc[i] / nb;
    std::vector<double> tok = sum_over_dims(attr, T, D);
    double sum = 0;
    for (double v : tok) sum += v;
    *gap_rel = std::fabs(sum - reference) / std::max(std::fabs(reference), 1e-9);
    return tok;
  };

  Convergence& cv = e.convergence;
  cv.present = true;
  cv.adaptive = adaptive;
  cv.tolerance = tol;
  Quadrature q = ig_quadrature(rule, steps);
  for (BaselinePath& p : paths) run.add_points(p, q.alphas, q.weights);
  cv.tried.push_back(steps);
  double gap = 0;
  std::vector<double> tok = level_scores(&gap);
  double change = -1;
  while (adaptive) {
    const int next = ig_next_steps(rule, steps);
    if (next > max_steps) break;
    total = t.done() + static_cast<int64_t>(baselines.size()) * (ig_rule_nests(rule) ? next - steps : next);
    t.set_total(total);
    if (ig_rule_nests(rule)) {
      // The new points halve every interval: I_2m = I_m / 2 + (1 / 2m) sum g(new).
      const int m = rule == IgRule::trapezoid ? steps - 1 : steps;
      std::vector<double> alphas, weights;
      for (int k = 0; k < m; ++k) {
        alphas.push_back((2.0 * k + 1.0) / (2.0 * m));
        weights.push_back(1.0 / (2.0 * m));
      }
      for (BaselinePath& p : paths) {
        for (double& a : p.acc) a *= 0.5;
        run.add_points(p, alphas, weights);
      }
    } else {
      const Quadrature q2 = ig_quadrature(rule, next);
      for (BaselinePath& p : paths) {
        std::fill(p.acc.begin(), p.acc.end(), 0.0);
        run.add_points(p, q2.alphas, q2.weights);
      }
    }
    steps = next;
    cv.tried.push_back(steps);
    double gap2 = 0;
    std::vector<double> tok2 = level_scores(&gap2);
    change = relative_change(tok, tok2, 1e-3 * std::fabs(reference));
    tok = std::move(tok2);
    gap = gap2;
    if (gap <= tol && change <= tol) break;
  }
  cv.steps = steps;
  cv.gap = gap;
  cv.change = change;
  cv.converged = gap <= tol && (!adaptive || (change >= 0 && change <= tol));

  double sum = 0;
  for (int i = 0; i < T; ++i) {
    e.tokens[static_cast<size_t>(i)].score = tok[static_cast<size_t>(i)];
    sum += tok[static_cast<size_t>(i)];
  }
  // The integrand at the final rule's points, averaged over the baselines.
  q = ig_quadrature(rule, steps);
  e.path.alphas = q.alphas;
  e.path.weights = q.weights;
  e.path.f_baseline = f_base;
  e.path.f_input = f_in;
  for (double a : q.alphas) {
    double v = 0;
    for (const BaselinePath& p : paths) {
      auto it = p.f_at.find(alpha_key(a));
      v += (it == p.f_at.end() ? std::nan("") : it->second) / nb;
    }
    e.path.f.push_back(v);
  }
  e.checks.push_back(make_check("completeness-gap", sum - reference, reference,
                                 "sum of the scores minus (f(input) - f(baseline)); 0 for exact integration"));
  if (adaptive)
    e.checks.push_back(make_check(
        "step-change", change, tol,
        "largest change of a token's score from " +
            std::to_string(cv.tried.size() > 1 ? cv.tried[cv.tried.size() - 2] : steps) + " to " +
            std::to_string(steps) + " steps, relative to the largest score (converged below the tolerance)",
        change));
}

}  // namespace

std::vector<MethodEntry> integrated_gradients_methods() {
  return {method_entry(
      "integrated-gradients",
      "Integrated Gradients: gradients averaged along a straight path from a baseline, times (input - baseline)",
      run_ig,
      {
      // 8: the adaptive default stops after 8 + 16 points when going from 8 to
      // 16 changes no score by more than the tolerance (that change is about
      // the 8-point rule's error, far above the 16-point rule's own on these
      // smooth paths); starting at 16 did 16 + 32 points, twice the work, for
      // answers within the same tolerance (bench/converged_captum.py, issue 20).
      int_option("steps", 8, 1, 4096, "path points (gradient evaluations) per baseline; adaptive: the first try"),
      bool_option("adaptive", true,
                  "double the steps until the completeness gap and the change of the scores from the previous "
                  "steps are both below the tolerance (or max-steps is reached)"),
      int_option("max-steps", 512, 1, 4096, "adaptive: the most steps tried"),
      num_option("tolerance", 0.01, 1e-6, 1, "adaptive: relative completeness gap and score change to reach"),
      choice_option("rule", "gauss-legendre", {"left", "right", "midpoint", "trapezoid", "gauss-legendre"},
                    "quadrature rule along the path"),
      choice_option("baseline", "zero", {"zero", "pad", "mask", "unk", "random-words"},
                    "embeddings the path starts from (special tokens keep theirs)"),
      int_option("baseline-samples", 8, 1, 256, "random-words: baselines averaged (expected gradients)"),
      int_option("seed", 1, 0, 2147483647, "random-words: seed of the random baselines"),
      int_option("batch-size", 16, 1, 4096, "path points run through the model at once (bounds memory)"),
      },
      "completeness-gap")};
}

}  // namespace explain_detail

}  // namespace wordlight
