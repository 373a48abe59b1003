#pragma once
// What every method file builds its row of the method table and its checks
// with (method_entry.cpp), so that no file fills a MethodEntry or an
// ExplanationCheck field by field; and the placeholder token of the methods
// that occlude words.
#include <optional>
#include <string>
#include <vector>

#include "explain_internal.h"

namespace wordlight::explain_detail {

// How a method computes its scores: per token (the gradient family) or per
// word (occlusion, the perturbation family: MethodInfo::word_level).
enum class ScoredBy { token, word };

// One method's entry, built in one call by every method file: its stable
// name, one-line description, own options, the name of its own check ("":
// none) and whether it scores words. The registry adds the common options
// and the display facts (registry.cpp).
MethodEntry method_entry(const std::string& name, const std::string& description, MethodFn run,
                         std::vector<OptionSpec> options, const std::string& check = "",
                         ScoredBy scored_by = ScoredBy::token);

// A check of an explanation (Explanation::checks): relative is
// |value| / |reference|, 0 when the reference is 0, unless `relative` gives
// another (a signed score like R^2, or 0 where nothing is conserved).
ExplanationCheck make_check(const std::string& name, double value, double reference, const std::string& description,
                            std::optional<double> relative = std::nullopt);

// The token an occluded or absent word becomes: "mask" ([MASK] / <mask>),
// "unk", or "pad" (the tokenizer's, else the config's pad_token_id); -1
// when the tokenizer and config have none.
int32_t placeholder_token(const std::string& kind, const Tokenizer& tok, const ModelConfig& config);

}  // namespace wordlight::explain_detail
