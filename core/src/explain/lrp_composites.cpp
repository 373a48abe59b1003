// The LRP composites: named tables of rules per op kind (lrp_composites.h).
#include "lrp_composites.h"

#include "explain_internal.h"

namespace wordlight::explain_detail {

const std::vector<LrpComposite>& lrp_composites() {
  // The transformers' two composites differ in the attention rule only.
  auto transformer = [](const char* name, const char* description, LrpRule attention) {
    return LrpComposite{name,
                        description,
                        {{OpKind::linear, LrpRule::epsilon},
                         {OpKind::layernorm, LrpRule::epsilon},
                         {OpKind::unary, LrpRule::identity},
                         {OpKind::binary, LrpRule::uniform},
                         {OpKind::matmul, LrpRule::uniform},
                         {OpKind::attention, attention}}};
  };
  static const std::vector<LrpComposite> table = {
      // The gate rule on products reaches only a VMASK layer's p_keep * x
      // (wordlight/vmask.h: signal-take-all, the mask network gets no
      // relevance); the CNN's other products multiply by constants.
      {"arras2016-cnn",
       "CNN: epsilon (or the `rule` option) on convolutions and linear layers, identity on ReLU, signal-take-all "
       "on a VMASK layer's mask",
       {{OpKind::conv1d, LrpRule::epsilon},
        {OpKind::linear, LrpRule::epsilon},
        {OpKind::unary, LrpRule::identity},
        {OpKind::binary, LrpRule::gate}}},
      {"arras2017-lstm", "BiLSTM: epsilon on the linear maps, signal-take-all on the gate products",
       {{OpKind::linear, LrpRule::epsilon},
        {OpKind::unary, LrpRule::identity},
        {OpKind::binary, LrpRule::gate},
        {OpKind::matmul, LrpRule::gate}}},
      transformer("attnlrp", "transformers: AttnLRP (uniform rule on the attention products, softmax by its gradient)",
                  LrpRule::attnlrp),
      transformer("cp-lrp", "transformers: CP-LRP (attention probabilities held constant)", LrpRule::cp_lrp),
  };
  return table;
}

const LrpComposite& lrp_composite(const std::string& name) {
  std::string known;
  for (const LrpComposite& c : lrp_composites()) {
    if (name == c.name) return c;
    known += known.empty() ? c.name : std::string(", ") + c.name;
  }
  throw Error("lrp: unknown composite '" + name + "' (known: " + known + ")");
}

LrpRule parse_lrp_rule(const std::string& name) {
  std::string known;
  for (int r = 0; r < kLrpRules; ++r) {
    const LrpRule rule = static_cast<LrpRule>(r);
    if (name == lrp_rule_name(rule)) return rule;
    known += known.empty() ? lrp_rule_name(rule) : std::string(", ") + lrp_rule_name(rule);
  }
  throw Error("lrp: unknown rule '" + name + "' (known: " + known + ")");
}

LrpOptions lrp_options(const LrpComposite& c) {
  LrpOptions o = LrpOptions::all_gradient();
  for (const auto& [op, rule] : c.rules) o.set({op}, rule);
  return o;
}

std::string default_lrp_composite(const std::string& architecture) {
  return resolve_options("lrp", {}, architecture).at("composite");
}

}  // namespace wordlight::explain_detail
