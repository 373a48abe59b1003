// SmoothGrad (Smilkov et al. 2017) on the word embeddings: gradients at
// `samples` noisy copies of the input, x + N(0, sigma^2) with sigma = noise
// * (max - min) of the text's embedding values, averaged.
//   smoothgrad          per token: the mean gradient map read as the
//                       gradient method reads it (option reduce; default
//                       along the word's embedding direction)
//   smoothgrad-squared  per token: sum_d mean_s g_s,td^2 (Hooker et al. 2019)
// Noise is added to the text's tokens only; special tokens keep their
// embeddings. The noisy copies run through the model as batches.
#include <algorithm>
#include <cmath>

#include "explain_internal.h"
#include "method_entry.h"
#include "wordlight/memory_budget.h"

namespace wordlight::explain_detail {

namespace {

template <bool Squared>
void run(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  const int S = static_cast<int>(ctx.opts.integer("samples"));
  const int B = rows_that_fit(t.model().config(), t.T(), RowPass::backward, ctx.opts.number("memory-mb"),
                              std::min(S, static_cast<int>(ctx.opts.integer("batch-size"))), Squared ? "smoothgrad-squared" : "smoothgrad");
  const double noise = ctx.opts.number("noise");
  Rng rng(static_cast<uint64_t>(ctx.opts.integer("seed")));
  const int T = t.T(), D = t.D();
  const size_t n = static_cast<size_t>(T) * D;
  const std::vector<float>& x = t.embeddings();
  float lo = 0, hi = 0;
  bool first = true;
  for (int i = 0; i < T; ++i) {
    if (ctx.enc.word_ids[static_cast<size_t>(i)] < 0) continue;
    for (int d = 0; d < D; ++d) {
      const float v = x[static_cast<size_t>(i) * D + d];
      lo = first ? v : std::min(lo, v);
      hi = first ? v : std::max(hi, v);
      first = false;
    }
  }
  const double sigma = noise * (static_cast<double>(hi) - lo);
  t.set_total(S);
  std::vector<double> acc(n, 0.0);
  std::vector<float> xs(static_cast<size_t>(B) * n), grads(static_cast<size_t>(B) * n);
  std::vector<double> outs(static_cast<size_t>(B));
  for (int s0 = 0; s0 < S; s0 += B) {
    t.check_cancel();
    const int nb = std::min(B, S - s0);
    for (int j = 0; j < nb; ++j) {
      float* xj = xs.data() + static_cast<size_t>(j) * n;
      for (int i = 0; i < T; ++i) {
        const bool text = ctx.enc.word_ids[static_cast<size_t>(i)] >= 0;
        for (int d = 0; d < D; ++d) {
          const size_t k = static_cast<size_t>(i) * D + d;
          xj[k] = text ? static_cast<float>(x[k] + sigma * rng.normal()) : x[k];
        }
      }
    }
    t.eval(nb, xs.data(), outs.data(), grads.data());
    for (int j = 0; j < nb; ++j) {
      const float* gj = grads.data() + static_cast<size_t>(j) * n;
      for (size_t k = 0; k < n; ++k) acc[k] += Squared ? static_cast<double>(gj[k]) * gj[k] : gj[k];
    }
    t.advance(nb);
  }
  for (double& v : acc) v /= S;
  const std::vector<double> tok =
      Squared ? sum_over_dims(acc, T, D) : reduce_gradient(acc, x, T, D, ctx.opts.str("reduce"));
  for (int i = 0; i < T; ++i) e.tokens[static_cast<size_t>(i)].score = tok[static_cast<size_t>(i)];
}

std::vector<OptionSpec> options() {
  return {int_option("samples", 16, 1, 4096, "noisy copies of the input"),
          num_option("noise", 0.1, 0.0, 10.0, "noise standard deviation relative to the embeddings' range (max - min)"),
          int_option("seed", 1, 0, 2147483647, "seed of the noise"),
          int_option("batch-size", 16, 1, 4096, "noisy copies run through the model at once (bounds memory)")};
}

}  // namespace

std::vector<MethodEntry> smoothgrad_methods() {
  std::vector<OptionSpec> with_reduce = options();
  with_reduce.insert(with_reduce.begin(), reduce_option());
  return {
      method_entry("smoothgrad",
                   "SmoothGrad: gradient averaged over noisy copies of the embeddings, read per word as by gradient",
                   run<false>, std::move(with_reduce)),
      method_entry("smoothgrad-squared",
                   "SmoothGrad-squared: squared gradient averaged over noisy copies, summed over dimensions",
                   run<true>, options()),
  };
}

}  // namespace wordlight::explain_detail
