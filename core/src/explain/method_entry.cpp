// The builders of the method files' table rows and checks (method_entry.h).
#include "method_entry.h"

#include <cmath>

namespace wordlight::explain_detail {

MethodEntry method_entry(const std::string& name, const std::string& description, MethodFn run,
                         std::vector<OptionSpec> options, const std::string& check, ScoredBy scored_by) {
  MethodEntry m;
  m.info.name = name;
  m.info.description = description;
  m.info.options = std::move(options);
  m.info.check = check;
  m.info.word_level = scored_by == ScoredBy::word;
  m.run = run;
  return m;
}

ExplanationCheck make_check(const std::string& name, double value, double reference, const std::string& description,
                            std::optional<double> relative) {
  ExplanationCheck c;
  c.name = name;
  c.value = value;
  c.reference = reference;
  c.relative = relative ? *relative : reference != 0 ? std::fabs(value) / std::fabs(reference) : 0;
  c.description = description;
  return c;
}

int32_t placeholder_token(const std::string& kind, const Tokenizer& tok, const ModelConfig& config) {
  const SpecialTokens& sp = tok.special_tokens();
  if (kind == "mask") return sp.mask_id;
  if (kind == "unk") return sp.unk_id;
  return sp.pad_id >= 0 ? sp.pad_id : config.pad_token_id;
}

}  // namespace wordlight::explain_detail
