#pragma once
// LRP composites (Zennit's word): a named table mapping op kinds of the tape
// to LRP rules (LrpRule, graph.h); op kinds a composite does not list keep
// their ordinary gradient (add, maxpool's winner, softmax, slice, concat...).
// The lrp method's `composite` option picks one; each architecture group
// declares its default in the registry's option facts (registry.cpp), and
// layer-/neuron-relevance use that same default.
//
//   arras2016-cnn   epsilon on the convolutions and the classifier, identity
//                   on ReLU (Arras et al. 2016/2017, "What is relevant in a
//                   text document?"); the `rule` option replaces epsilon by
//                   z-plus or alpha-beta on those layers
//   arras2017-lstm  epsilon on the linear maps, identity on tanh and the
//                   sigmoid gates, signal-take-all on the gate products
//                   (Arras et al. 2017, "Explaining recurrent neural network
//                   predictions in sentiment analysis")
//   attnlrp         epsilon on linear layers and on LayerNorm with 1/std held
//                   constant, identity on GELU/tanh/ReLU, uniform split of
//                   the products (q.k, P v), softmax by its gradient rule
//                   (Achtibat et al. 2024; LXT's efficient rules at eps 0)
//   cp-lrp          attnlrp with the attention probabilities held constant
//                   (Ali et al. 2022)
#include <string>
#include <utility>
#include <vector>

#include "wordlight/graph.h"

namespace wordlight::explain_detail {

struct LrpComposite {
  const char* name;
  const char* description;
  std::vector<std::pair<OpKind, LrpRule>> rules;
};

// Every composite, in the order above.
const std::vector<LrpComposite>& lrp_composites();
// The composite of that name; throws wordlight::Error naming the known ones.
const LrpComposite& lrp_composite(const std::string& name);
// A rule by its name (epsilon, z-plus, alpha-beta, identity, uniform, gate,
// attnlrp, cp-lrp, gradient); throws wordlight::Error naming the known ones.
LrpRule parse_lrp_rule(const std::string& name);
// The composite's table as LrpOptions (every op kind it does not list:
// gradient), with the numeric parameters left at their defaults.
LrpOptions lrp_options(const LrpComposite& c);
// The default composite of an architecture group ("cnn", "bilstm",
// "transformer", "decoder"): the lrp method's `composite` default there.
std::string default_lrp_composite(const std::string& architecture);

}  // namespace wordlight::explain_detail
