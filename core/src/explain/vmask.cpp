// VMASK (Chen and Ji 2020; wordlight/vmask.h): the model's own word-mask
// layer, trained with the classifier under an information bottleneck, gives
// each token the probability p_keep that the mask keeps its embedding; at
// inference the model reads p_keep x instead of x. The scores are those
// probabilities in [0, 1] (unsigned, the same for every class: the mask
// sits before the classifier and sees the word embeddings only, so the
// target changes nothing). Applies to models that carry the layer (the
// part "vmask": wordlight-cnn and wordlight-bilstm with the config key
// "vmask"). Cost: the mask's MLP over the tokens, and one forward for the
// check.
//
// Check hard-mask-change: the explained output with the mask's hard
// decisions (a token kept, x, iff p_keep >= 1/2; else dropped, 0) minus the
// output the model gives (p_keep x), relative to that output: how much the
// prediction rests on the words the mask keeps.
#include "explain_internal.h"
#include "method_entry.h"
#include "wordlight/vmask.h"

namespace wordlight::explain_detail {

namespace {

void run(MethodContext& ctx, Explanation& e) {
  const Model& model = ctx.model;
  if (!model.vmask())
    throw Error("vmask: " + model.config().architecture + " carries no VMASK layer (config key \"vmask\")");
  ModelTarget& t = ctx.target;
  const int T = t.T(), D = t.D();
  TokenBatch b;
  b.B = 1;
  b.T = T;
  b.ids = t.ids();
  b.mask.assign(static_cast<size_t>(T), 1);
  t.check_cancel();
  const std::vector<float> keep = vmask_keep_probabilities(model, t.embeddings(), b);
  int kept = 0;
  for (int k = 0; k < T; ++k) {
    e.tokens[static_cast<size_t>(k)].score = keep[static_cast<size_t>(k)];
    kept += keep[static_cast<size_t>(k)] >= 0.5f;
  }

  // The check: the mask's hard decisions instead of its probabilities. The
  // model multiplies what it gets by p_keep, so a kept token is x / p_keep
  // (then p_keep x / p_keep = x) and a dropped one 0.
  std::vector<float> x = t.embeddings();
  for (int k = 0; k < T; ++k) {
    const float p = keep[static_cast<size_t>(k)];
    for (int d = 0; d < D; ++d) x[static_cast<size_t>(k) * D + d] = p >= 0.5f ? x[static_cast<size_t>(k) * D + d] / p : 0.f;
  }
  t.check_cancel();
  double hard = 0;
  t.eval(1, x.data(), &hard, nullptr);
  const double full = t.f_input();
  e.checks.push_back(make_check("hard-mask-change", hard - full, full,
                                "the explained output with the mask's hard decisions (the " + std::to_string(kept) +
                                    " of " + std::to_string(T) +
                                    " tokens of p_keep >= 1/2 kept whole, the others dropped) minus the model's own "
                                    "(every token times p_keep)"));
}

}  // namespace

std::vector<MethodEntry> vmask_methods() {
  MethodEntry m = method_entry(
      "vmask",
      "VMASK (Chen and Ji 2020): the model's own word mask, trained with it under an information bottleneck, gives "
      "each word's probability of being kept (the same for every class)",
      run, {}, "hard-mask-change");
  m.info.applies_to = {"cnn", "bilstm"};
  return {std::move(m)};
}

}  // namespace wordlight::explain_detail
