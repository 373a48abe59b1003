// The gradient at the input, three ways of reading it per token:
//   gradient           signed, option reduce:
//                        along-input (default)  g_t . x_t / |x_t|, the
//                            derivative along the word's own embedding
//                            direction (0 for an all-zero embedding)
//                        sum   sum_d df/dx_td; beware: identically 0 on
//                            transformers, whose LayerNorm right after the
//                            embeddings is invariant to adding the same
//                            constant to every dimension
//                        l2    |g_t| (unsigned)
//   saliency           sum_d (df/dx_td)^2, sensitivity analysis (Arras et al.)
//   gradient-x-input   sum_d x_td df/dx_td
// All three cost one forward and one backward pass (the prediction's).
#include <cmath>

#include "explain_internal.h"
#include "method_entry.h"

namespace wordlight::explain_detail {

namespace {

enum class Reading { gradient, squared, times_input };

template <Reading R>
void run(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  t.set_total(1);
  const std::vector<float>& g = t.input_gradient();
  const std::vector<float>& x = t.embeddings();
  const int T = t.T(), D = t.D();
  std::vector<double> map(g.size());
  for (size_t k = 0; k < g.size(); ++k)
    map[k] = R == Reading::gradient ? g[k] : R == Reading::squared ? double(g[k]) * g[k] : double(g[k]) * x[k];
  const std::vector<double> s =
      R == Reading::gradient ? reduce_gradient(map, x, T, D, ctx.opts.str("reduce")) : sum_over_dims(map, T, D);
  for (int i = 0; i < T; ++i) e.tokens[static_cast<size_t>(i)].score = s[static_cast<size_t>(i)];
  t.advance(1);
}

}  // namespace

std::vector<double> reduce_gradient(const std::vector<double>& g, const std::vector<float>& x, int T, int D,
                                    const std::string& reduce) {
  std::vector<double> out(static_cast<size_t>(T));
  for (int i = 0; i < T; ++i) {
    double s = 0, gx = 0, gg = 0, xx = 0;
    for (int d = 0; d < D; ++d) {
      const size_t k = static_cast<size_t>(i) * D + d;
      const double gd = g[k], xd = x[k];
      s += gd;
      gx += gd * xd;
      gg += gd * gd;
      xx += xd * xd;
    }
    out[static_cast<size_t>(i)] = reduce == "sum"  ? s
                                  : reduce == "l2" ? std::sqrt(gg)
                                  : xx > 0         ? gx / std::sqrt(xx)
                                                   : 0.0;
  }
  return out;
}

OptionSpec reduce_option() {
  return choice_option(
      "reduce", "along-input", {"along-input", "sum", "l2"},
      "per word: derivative along its embedding's direction, sum over dimensions (0 on transformers), or L2 norm");
}

std::vector<MethodEntry> gradient_methods() {
  return {
      method_entry("gradient", "gradient of the output at each word's embedding, read as one signed number (reduce)",
                   run<Reading::gradient>, {reduce_option()}),
      method_entry("saliency",
                   "sensitivity analysis: squared L2 norm of the gradient over each word's embedding (Arras et al.)",
                   run<Reading::squared>, {}),
      method_entry("gradient-x-input", "gradient times the word embedding, summed over the embedding dimensions",
                   run<Reading::times_input>, {}),
  };
}

}  // namespace wordlight::explain_detail
