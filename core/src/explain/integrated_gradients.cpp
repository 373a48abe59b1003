// Integrated Gradients (Sundararajan et al. 2017):
//   IG_i = (x_i - b_i) * integral_0^1 df/dx_i (b + a (x - b)) da
// with the integral by a quadrature rule over `steps` points, all path
// points run through the model as batches. Completeness: sum_i IG_i =
// f(x) - f(b) up to the quadrature error, reported as the check
// "completeness-gap". With baseline=random-words, IG is averaged over
// several baselines (expected gradients with a fixed quadrature).
#include <algorithm>
#include <cmath>

#include "explain_internal.h"

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

namespace {

void run_ig(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  const std::string kind = ctx.opts.str("baseline");
  const int samples = kind == "random-words" ? static_cast<int>(ctx.opts.integer("baseline-samples")) : 1;
  const auto baselines =
      make_baselines(t, ctx.tokenizer, ctx.enc, kind, samples, static_cast<uint64_t>(ctx.opts.integer("seed")));
  const IgRule rule = parse_ig_rule(ctx.opts.str("rule"));
  const int steps = static_cast<int>(ctx.opts.integer("steps"));
  const int batch = static_cast<int>(ctx.opts.integer("batch-size"));
  const int64_t n = static_cast<int64_t>(t.T()) * t.D();
  const int64_t per = steps + 2, total = per * static_cast<int64_t>(baselines.size());
  std::vector<double> attr(static_cast<size_t>(n), 0.0);
  double f_base = 0, f_in = 0;
  for (size_t s = 0; s < baselines.size(); ++s) {
    const IgResult r = integrated_gradients(t.function(), n, t.embeddings().data(), baselines[s].data(), rule, steps,
                                            batch, t.control(), per * static_cast<int64_t>(s), total);
    for (size_t i = 0; i < attr.size(); ++i) attr[i] += r.attributions[i] / static_cast<double>(baselines.size());
    f_base += r.f_baseline / static_cast<double>(baselines.size());
    f_in = r.f_input;
  }
  const std::vector<double> tok = sum_over_dims(attr, t.T(), t.D());
  double sum = 0;
  for (int i = 0; i < t.T(); ++i) {
    e.tokens[static_cast<size_t>(i)].score = tok[static_cast<size_t>(i)];
    sum += tok[static_cast<size_t>(i)];
  }
  ExplanationCheck c;
  c.name = "completeness-gap";
  c.reference = f_in - f_base;
  c.value = sum - c.reference;
  c.relative = c.reference != 0 ? std::fabs(c.value) / std::fabs(c.reference) : 0;
  c.description = "sum of the scores minus (f(input) - f(baseline)); 0 for exact integration";
  e.checks.push_back(c);
}

}  // namespace

std::vector<MethodEntry> integrated_gradients_methods() {
  MethodEntry m;
  m.info.name = "integrated-gradients";
  m.info.description =
      "Integrated Gradients: gradients averaged along a straight path from a baseline, times (input - baseline)";
  m.info.check = "completeness-gap";
  m.info.options = {
      int_option("steps", 32, 1, 4096, "path points (gradient evaluations) per baseline"),
      choice_option("rule", "gauss-legendre", {"left", "right", "midpoint", "trapezoid", "gauss-legendre"},
                    "quadrature rule along the path"),
      choice_option("baseline", "zero", {"zero", "pad", "mask", "unk", "random-words"},
                    "embeddings the path starts from (special tokens keep theirs)"),
      int_option("baseline-samples", 8, 1, 256, "random-words: baselines averaged (expected gradients)"),
      int_option("seed", 1, 0, 2147483647, "random-words: seed of the random baselines"),
      int_option("batch-size", 16, 1, 4096, "path points run through the model at once (bounds memory)"),
  };
  m.run = run_ig;
  return {m};
}

}  // namespace explain_detail

}  // namespace wordlight
