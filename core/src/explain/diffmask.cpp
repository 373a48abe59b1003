// DiffMask (De Cao et al. 2020; wordlight/diffmask.h): the learned probes
// of the model's part "diffmask" read the text's hidden states and give,
// per token and per layer i, the expected keep probability
//   keep_i(t) = prod_{j <= i} P(z_j(t) > 0),
// the probability that token t's input embedding survives the gates of
// probes 0 .. i (trained so that masking what they drop keeps the
// prediction: KL(p(y|x) || p(y|x masked)) <= eps). Rows: "embeddings" (the
// embeddings' probe alone) to "layer.{L-1}" (every gate): where the rows
// fall, the layers that need the word have read it ("where the decision
// forms"). Token scores: the row of option `layer` (-1: the last, every
// layer's gate, which masks the input embeddings). Scores are
// probabilities in [0, 1] (unsigned). Cost: the probes' forward pass over
// the model's hidden states (one model forward) and one forward for the
// check.
//
// Check masked-kl: KL(p(y|x) || p(y|x')) with x' the input masked by the
// row's hard decisions (a token kept iff keep >= 1/2, else the learned
// placeholder), relative to the bound eps the probes were trained for.
#include <algorithm>
#include <cmath>

#include "explain_internal.h"
#include "method_entry.h"
#include "wordlight/diffmask.h"

namespace wordlight::explain_detail {

namespace {

std::vector<double> softmax_of(const float* z, int K) {
  std::vector<double> p(static_cast<size_t>(K));
  double mx = z[0], s = 0;
  for (int k = 1; k < K; ++k) mx = std::max(mx, double(z[k]));
  for (int k = 0; k < K; ++k) s += p[size_t(k)] = std::exp(z[k] - mx);
  for (double& v : p) v /= s;
  return p;
}

void run(MethodContext& ctx, Explanation& e) {
  const Model& model = ctx.model;
  const DiffMask* dm = model.part_as<DiffMask>("diffmask");
  if (!dm) throw Error("diffmask: the model carries no DiffMask probes");
  ModelTarget& t = ctx.target;
  // The gates keep the predicted distribution as a whole: the same for every class.
  if (t.prediction().target != t.prediction().label)
    e.notice += std::string(e.notice.empty() ? "" : " ") +
                "DiffMask's keep probabilities do not depend on the class: they are the words without which the "
                "predicted distribution stays the same, whichever class is asked for.";
  const int G = dm->config.layers, T = t.T(), D = t.D();
  const long long want = ctx.opts.integer("layer");
  if (want >= G)
    throw Error("diffmask: option layer = " + std::to_string(want) + " is out of range: the probes have gates 0 (the "
                "embeddings) to " + std::to_string(G - 1) + " (-1: every gate)");
  const int row = want < 0 ? G - 1 : static_cast<int>(want);
  t.check_cancel();
  const std::vector<std::vector<double>> keep = diffmask_keep_probabilities(model, *dm, t.ids());
  t.add_evaluations(1);
  for (int i = 0; i < G; ++i) {
    LayerScores L;
    L.layer = i == 0 ? "embeddings" : "layer." + std::to_string(i - 1);
    L.token_scores = keep[size_t(i)];
    for (double v : L.token_scores) L.total += v;
    e.layers.push_back(std::move(L));
  }
  for (int k = 0; k < T; ++k) e.tokens[size_t(k)].score = keep[size_t(row)][size_t(k)];

  // The check: the prediction with the dropped tokens masked.
  t.check_cancel();
  std::vector<float> x = t.embeddings();
  for (int k = 0; k < T; ++k)
    if (keep[size_t(row)][size_t(k)] < 0.5)
      std::copy(dm->placeholder.begin(), dm->placeholder.end(), x.begin() + static_cast<long>(k) * D);
  TokenBatch b;
  b.B = 1;
  b.T = T;
  b.ids = t.ids();
  b.mask.assign(size_t(T), 1);
  Graph<float> g;
  Var y = model.forward(g, g.input(Shape{1, T, D}, x.data(), false), b);
  t.add_evaluations(1);
  const int K = static_cast<int>(g.numel(y));
  const std::vector<double> q = softmax_of(g.value(y), K);
  const std::vector<float>& lo = t.prediction().logits;
  const std::vector<double> p = softmax_of(lo.data(), static_cast<int>(lo.size()));
  double kl = 0;
  for (int k = 0; k < K; ++k)
    if (p[size_t(k)] > 0) kl += p[size_t(k)] * (std::log(p[size_t(k)]) - std::log(std::max(q[size_t(k)], 1e-300)));
  int kept = 0;
  for (int k = 0; k < T; ++k) kept += keep[size_t(row)][size_t(k)] >= 0.5;
  e.checks.push_back(make_check("masked-kl", kl, dm->config.eps,
                                "KL(p(y|x) || p(y|x')), x' the input with the tokens of keep probability < 1/2 (" +
                                    std::to_string(T - kept) + " of " + std::to_string(T) +
                                    ") replaced by the learned placeholder; relative to the bound eps the probes "
                                    "were trained for"));
}

}  // namespace

std::vector<MethodEntry> diffmask_methods() {
  MethodEntry m = method_entry(
      "diffmask",
      "DiffMask (De Cao et al. 2020): learned probes on the hidden states give each token's probability of being "
      "kept (masking the rest keeps the prediction), at every layer",
      run,
      {int_option("layer", -1, -1, 1000,
                  "the gates the word scores are read at: 0 the embeddings' probe alone, i the probes 0..i; -1: every "
                  "layer's (the input embeddings, all gates)")},
      "masked-kl");
  m.info.applies_to = {"transformer"};
  return {std::move(m)};
}

}  // namespace wordlight::explain_detail
