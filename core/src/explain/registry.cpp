// The method registry, option checking, word merging and explain() itself.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "explain_internal.h"
#include "wordlight/device_tape.h"
#include "wordlight/memory_budget.h"

namespace wordlight {

using namespace explain_detail;

namespace explain_detail {

OptionSpec int_option(const std::string& name, long long def, long long min, long long max, const std::string& desc) {
  OptionSpec s;
  s.name = name;
  s.type = OptionType::integer;
  s.default_value = std::to_string(def);
  s.min = static_cast<double>(min);
  s.max = static_cast<double>(max);
  s.description = desc;
  return s;
}

OptionSpec num_option(const std::string& name, double def, double min, double max, const std::string& desc) {
  OptionSpec s;
  s.name = name;
  s.type = OptionType::number;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", def);
  s.default_value = buf;
  s.min = min;
  s.max = max;
  s.description = desc;
  return s;
}

OptionSpec bool_option(const std::string& name, bool def, const std::string& desc) {
  OptionSpec s;
  s.name = name;
  s.type = OptionType::boolean;
  s.default_value = def ? "true" : "false";
  s.description = desc;
  return s;
}

OptionSpec choice_option(const std::string& name, const std::string& def, std::vector<std::string> choices,
                         const std::string& desc) {
  OptionSpec s;
  s.name = name;
  s.type = OptionType::choice;
  s.default_value = def;
  s.choices = std::move(choices);
  s.description = desc;
  return s;
}

const std::string& ResolvedOptions::str(const std::string& name) const {
  auto it = v_.find(name);
  if (it == v_.end()) throw Error(method_ + ": internal: option '" + name + "' is not resolved");
  return it->second;
}
long long ResolvedOptions::integer(const std::string& name) const { return std::stoll(str(name)); }
double ResolvedOptions::number(const std::string& name) const { return std::strtod(str(name).c_str(), nullptr); }
bool ResolvedOptions::boolean(const std::string& name) const { return str(name) == "true"; }

}  // namespace explain_detail

const char* option_type_name(OptionType t) {
  switch (t) {
    case OptionType::integer:
      return "integer";
    case OptionType::number:
      return "number";
    case OptionType::boolean:
      return "boolean";
    case OptionType::choice:
      return "choice";
  }
  return "?";
}

namespace {

std::vector<OptionSpec> common_options() {
  return {choice_option("output", "logit", {"logit", "probability"},
                        "what is explained: the target class's logit or its softmax probability"),
          choice_option("merge", "sum", {"sum", "mean", "max-abs"},
                        "how the scores of a word's sub-word tokens make the word's score"),
          // The memory budget (memory_budget.h): batches are as large as fit.
          num_option("memory-mb", 0, 0, 1048576,
                     "working memory for a batch in MiB (batch-size is a cap; 0: half of the free memory, natively, "
                     "or of the wasm heap's room)")};
}

// The facts of each method that every view reads: one row per method.
// (Kept here, in one list, rather than in the method files, so that a
// reader sees every method's kind of numbers side by side.)
struct MethodFacts {
  const char* name;
  const char* title;
  bool signed_scores;
  const char* explains;
  const char* cost;
};
const MethodFacts kFacts[] = {
    {"gradient", "Gradient", true, "output", "1 forward + 1 backward"},
    {"saliency", "Saliency (squared gradient)", false, "output", "1 forward + 1 backward"},
    {"gradient-x-input", "Gradient \u00d7 Input", true, "output", "1 forward + 1 backward"},
    {"integrated-gradients", "Integrated Gradients", true, "output",
     "steps forwards + backwards per baseline (adaptive: grows until converged)"},
    {"smoothgrad", "SmoothGrad", true, "output", "samples forwards + backwards"},
    {"smoothgrad-squared", "SmoothGrad squared", false, "output", "samples forwards + backwards"},
    {"occlusion", "Occlusion", true, "output", "one forward per word (window)"},
    {"lrp", "Layer-wise Relevance Propagation", true, "output", "1 forward + 1 modified backward"},
    {"layer-relevance", "Relevance per layer", true, "layers", "1 forward + 1 modified backward"},
    {"neuron-relevance", "Neuron relevance", true, "neuron", "1 forward + 1 modified backward"},
    {"integrated-hessians", "Integrated Hessians", true, "output",
     "steps x (1 + words) forward-mode passes per baseline (adaptive: grows until converged)"},
    {"kernel-shap", "KernelSHAP", true, "output",
     "samples + 1 forwards (auto: 2 x words + 2048, at most 2^words - 1; batched)"},
    {"shapley-sampling", "Shapley value sampling", true, "output",
     "at most permutations x (words - 1) + 1 forwards (batched)"},
    {"lime", "LIME", true, "output", "samples - 1 forwards (batched)"},
    {"partition-shap", "Partition SHAP (Owen values)", true, "output", "at most max-evals forwards (batched)"},
    {"input-marginalization", "Input marginalization", true, "output",
     "words masked-LM passes + at most words x max-candidates forwards (batched)"},
    {"diffmask", "DiffMask (learned keep probabilities)", false, "output",
     "1 forward of the model and its probes + 1 forward (the check)"},
    {"vmask", "VMASK (the model's word mask)", false, "output", "the mask's MLP over the words + 1 forward (the check)"},
};

// Methods that apply only to models that carry a learned part
// (Model::parts(): loaded from files next to the model, or declared by its
// config), and how to get the part: the reason method_applies() gives
// where it is missing.
struct PartFacts {
  const char* method;
  const char* part;
  const char* hint;
};
const PartFacts kPartFacts[] = {
    {"diffmask", "diffmask",
     "a DiffMask file trained for this model (diffmask.safetensors + diffmask.json next to it): wordlight "
     "train-diffmask --model DIR --data SPEC --out DIR/diffmask.safetensors (models/recipes/sst2-bert-diffmask.sh)"},
    {"vmask", "vmask",
     "a model trained with a VMASK layer (config key \"vmask\": {\"hidden\": H}; wordlight train adds its loss), "
     "such as models/sst2-cnn-vmask (models/recipes/sst2-cnn.sh vmask)"},
};

// Options that apply to some architecture groups only, and per-group
// choices and defaults. What does not apply is never offered.
struct OptionFacts {
  const char* method;  // "*": every method that has the option
  const char* option;
  std::vector<std::string> applies_to;  // empty: every group
  const char* group;                    // for the per-group fields below; nullptr: none
  std::vector<std::string> choices;     // empty: all
  const char* default_value;            // nullptr: the general default
};
const std::vector<OptionFacts>& option_facts() {
  static const std::vector<OptionFacts> f = {
      // Path baselines: word-level models have no [MASK]; transformers start
      // from [UNK] (the embedding of "a word the model does not know"):
      // from all-zero embeddings the path crosses a region far from any
      // real input (word embeddings are ~10x the position + type ones on
      // sst2-bert), where the output changes sharply near t = 0.05 and the
      // quadrature needs many more points.
      {"integrated-gradients", "baseline", {}, "cnn", {"zero", "pad", "unk", "random-words"}, nullptr},
      {"integrated-gradients", "baseline", {}, "bilstm", {"zero", "pad", "unk", "random-words"}, nullptr},
      {"integrated-gradients", "baseline", {}, "transformer", {}, "unk"},
      {"integrated-hessians", "baseline", {}, "cnn", {"zero", "pad", "unk", "random-words"}, nullptr},
      {"integrated-hessians", "baseline", {}, "bilstm", {"zero", "pad", "unk", "random-words"}, nullptr},
      {"integrated-hessians", "baseline", {}, "transformer", {}, "unk"},
      {"occlusion", "mode", {}, "cnn", {"remove", "unk", "pad", "zero"}, nullptr},
      {"occlusion", "mode", {}, "bilstm", {"remove", "unk", "pad", "zero"}, nullptr},
      // Decoders (GPT-2): no [MASK] and no unknown token (byte-level BPE
      // reads every byte); paths start from the pad token (<|endoftext|>
      // unless the model names another), a real embedding as [UNK] is for
      // the encoders; absent words are removed (a causal model reads any
      // length) or replaced by the pad token or zeros.
      {"integrated-gradients", "baseline", {}, "decoder", {"zero", "pad", "random-words"}, "pad"},
      {"integrated-hessians", "baseline", {}, "decoder", {"zero", "pad", "random-words"}, "pad"},
      {"occlusion", "mode", {}, "decoder", {"remove", "pad", "zero"}, nullptr},
      {"*", "absent", {}, "decoder", {"remove", "pad", "zero"}, "remove"},
      {"lrp", "epsilon", {}, "decoder", {}, "0"},
      {"layer-relevance", "epsilon", {}, "decoder", {}, "0"},
      {"neuron-relevance", "epsilon", {}, "decoder", {}, "0"},
      // Perturbation methods: an absent word stays as close to the training
      // distribution as the model allows: transformers read [MASK] (what
      // pre-training taught them to read as "a word is missing here",
      // positions unchanged); the CNN and BiLSTM were trained with <pad>
      // (a zero embedding) filling their batches.
      {"kernel-shap", "absent", {}, "cnn", {"pad", "zero", "remove", "unk"}, "pad"},
      {"kernel-shap", "absent", {}, "bilstm", {"pad", "zero", "remove", "unk"}, "pad"},
      {"kernel-shap", "absent", {}, "transformer", {"mask", "remove", "attention-off", "unk"}, "mask"},
      {"shapley-sampling", "absent", {}, "cnn", {"pad", "zero", "remove", "unk"}, "pad"},
      {"shapley-sampling", "absent", {}, "bilstm", {"pad", "zero", "remove", "unk"}, "pad"},
      {"shapley-sampling", "absent", {}, "transformer", {"mask", "remove", "attention-off", "unk"}, "mask"},
      {"lime", "absent", {}, "cnn", {"pad", "zero", "remove", "unk"}, "pad"},
      {"lime", "absent", {}, "bilstm", {"pad", "zero", "remove", "unk"}, "pad"},
      {"lime", "absent", {}, "transformer", {"mask", "remove", "attention-off", "unk"}, "mask"},
      {"partition-shap", "absent", {}, "cnn", {"pad", "zero", "remove", "unk"}, "pad"},
      {"partition-shap", "absent", {}, "bilstm", {"pad", "zero", "remove", "unk"}, "pad"},
      {"partition-shap", "absent", {}, "transformer", {"mask", "remove", "attention-off", "unk"}, "mask"},
      // LRP: z+ and alpha-beta are rules for the CNN's layers; the BiLSTM's
      // rules (Arras et al. 2017) have a bias factor; transformers choose
      // how attention is treated.
      {"lrp", "rule", {"cnn"}, nullptr, {}, nullptr},
      {"lrp", "alpha", {"cnn"}, nullptr, {}, nullptr},
      {"lrp", "bias-factor", {"bilstm"}, nullptr, {}, nullptr},
      {"lrp", "variant", {"transformer", "decoder"}, nullptr, {}, nullptr},
      {"lrp", "output", {"cnn", "transformer", "decoder"}, nullptr, {}, nullptr},
      // Input marginalization's weight of evidence is defined on the
      // class's probability (Kim et al. 2020): its one choice.
      {"input-marginalization", "output", {}, nullptr, {"probability"}, "probability"},
      // DiffMask's probes keep the predicted distribution (a KL bound), not
      // one output; a word's keep probability is its tokens' mean.
      {"diffmask", "output", {}, nullptr, {"probability"}, "probability"},
      {"diffmask", "merge", {}, nullptr, {}, "mean"},
      // VMASK's p_keep is a probability per token: a word's is its tokens' mean.
      {"vmask", "merge", {}, nullptr, {}, "mean"},
  };
  return f;
}

// Options of a signed method whose values make its scores magnitudes.
void add_unsigned_when(MethodInfo& m) {
  for (const OptionSpec& o : m.options)
    if (o.name == "reduce") m.unsigned_when["reduce"] = "l2";
}

void apply_facts(MethodInfo& m) {
  for (const MethodFacts& f : kFacts)
    if (m.name == f.name) {
      m.title = f.title;
      m.signed_scores = f.signed_scores;
      m.explains = f.explains;
      m.cost = f.cost;
    }
  if (m.title.empty()) m.title = m.name;
  for (const PartFacts& f : kPartFacts)
    if (m.name == f.method) {
      m.requires_part = f.part;
      m.part_hint = f.hint;
    }
  if (m.signed_scores) add_unsigned_when(m);
  for (const OptionFacts& f : option_facts()) {
    if (std::string(f.method) != "*" && m.name != f.method) continue;
    for (OptionSpec& o : m.options) {
      if (o.name != f.option) continue;
      if (!f.applies_to.empty()) o.applies_to = f.applies_to;
      if (f.group) {
        OptionSpec::PerArchitecture& pa = o.by_architecture[f.group];
        if (!f.choices.empty()) pa.choices = f.choices;
        if (f.default_value) pa.default_value = f.default_value;
      } else {
        if (!f.choices.empty()) o.choices = f.choices;
        if (f.default_value) o.default_value = f.default_value;
      }
    }
  }
}

struct Registry {
  std::vector<MethodEntry> entries;
  std::vector<MethodInfo> infos;
};

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    for (auto* part : {&gradient_methods, &integrated_gradients_methods, &integrated_hessians_methods,
                       &smoothgrad_methods, &occlusion_methods, &lrp_methods, &layer_relevance_methods,
                       &kernel_shap_methods, &shapley_sampling_methods, &lime_methods,
                       &partition_shap_methods, &input_marginalization_methods, &diffmask_methods,
                       &vmask_methods})
      for (MethodEntry& m : (*part)()) {
        for (OptionSpec& o : common_options()) m.info.options.push_back(std::move(o));
        apply_facts(m.info);
        reg.entries.push_back(std::move(m));
      }
    for (const MethodEntry& m : reg.entries) reg.infos.push_back(m.info);
    return reg;
  }();
  return r;
}

std::string known_methods() {
  std::string s;
  for (const MethodInfo& m : registry().infos) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

const MethodEntry& entry(const std::string& name) {
  for (const MethodEntry& m : registry().entries)
    if (m.info.name == name) return m;
  throw Error("unknown explanation method '" + name + "'; known methods: " + known_methods());
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Shortest text that reads back the same.
  for (int p = 1; p <= 17; ++p) {
    char b2[64];
    std::snprintf(b2, sizeof b2, "%.*g", p, v);
    if (std::strtod(b2, nullptr) == v) return b2;
  }
  return buf;
}

std::string check_value(const std::string& method, const OptionSpec& o, const std::string& value) {
  const std::string where = method + ": option " + o.name + " = '" + value + "'";
  switch (o.type) {
    case OptionType::boolean: {
      if (value == "true" || value == "1" || value == "yes" || value == "on") return "true";
      if (value == "false" || value == "0" || value == "no" || value == "off") return "false";
      throw Error(where + " is not a boolean (true or false)");
    }
    case OptionType::choice: {
      for (const std::string& c : o.choices)
        if (c == value) return value;
      std::string list;
      for (const std::string& c : o.choices) list += (list.empty() ? "" : ", ") + c;
      throw Error(where + " is not one of " + list);
    }
    case OptionType::integer:
    case OptionType::number: {
      const char* begin = value.c_str();
      char* end = nullptr;
      const double v = value.empty() ? 0 : std::strtod(begin, &end);
      if (value.empty() || end != begin + value.size() || !std::isfinite(v)) throw Error(where + " is not a number");
      if (o.type == OptionType::integer && v != std::floor(v)) throw Error(where + " is not an integer");
      if (v < o.min || v > o.max)
        throw Error(where + " is out of range [" + format_number(o.min) + ", " + format_number(o.max) + "]");
      return o.type == OptionType::integer ? std::to_string(static_cast<long long>(v)) : format_number(v);
    }
  }
  return value;
}

}  // namespace

const std::vector<MethodInfo>& explanation_methods() { return registry().infos; }

const MethodInfo& method_info(const std::string& name) { return entry(name).info; }

std::string architecture_group(const ModelConfig& config) {
  switch (config.family) {
    case ModelFamily::WordlightCnn:
      return "cnn";
    case ModelFamily::WordlightBiLstm:
      return "bilstm";
    case ModelFamily::Gpt2:
      return "decoder";  // causal transformers: their own baselines (no [MASK], no [UNK])
    default:
      return "transformer";
  }
}

bool method_applies(const MethodInfo& m, const std::string& architecture, std::string* why) {
  if (m.applies_to.empty() ||
      std::find(m.applies_to.begin(), m.applies_to.end(), architecture) != m.applies_to.end())
    return true;
  if (why) {
    std::string list;
    for (size_t i = 0; i < m.applies_to.size(); ++i)
      list += (i == 0 ? "" : ", ") + std::string(m.applies_to[i] == "cnn" ? "CNN" : m.applies_to[i] == "bilstm" ? "BiLSTM" : m.applies_to[i]);
    *why = m.name + " applies to " + list + " models only";
  }
  return false;
}

bool method_applies(const MethodInfo& m, const Model& model, std::string* why) {
  if (!method_applies(m, architecture_group(model.config()), why)) return false;
  if (m.requires_part.empty() || model.has_part(m.requires_part)) return true;
  if (why) {
    const std::string refused = model.part_refused(m.requires_part);
    *why = m.name + " needs " + (m.part_hint.empty() ? "the learned part '" + m.requires_part + "'" : m.part_hint) +
           (refused.empty() ? "" : "; this model's " + m.requires_part + " files were refused: " + refused);
  }
  return false;
}

bool scores_are_signed(const MethodInfo& m, const MethodOptions& resolved) {
  if (!m.signed_scores) return false;
  for (const auto& kv : m.unsigned_when) {
    auto it = resolved.find(kv.first);
    if (it != resolved.end() && it->second == kv.second) return false;
  }
  return true;
}

namespace {
// "CNN", "BiLSTM", "transformer": as people write them, for messages.
std::string group_display(const std::string& g) {
  return g == "cnn" ? "CNN" : g == "bilstm" ? "BiLSTM" : g;
}
std::string groups_display(const std::vector<std::string>& gs) {
  std::string s;
  for (size_t i = 0; i < gs.size(); ++i)
    s += (i == 0 ? "" : i + 1 == gs.size() ? " and " : ", ") + group_display(gs[i]);
  return s;
}
bool option_applies(const OptionSpec& o, const std::string& architecture) {
  return o.applies_to.empty() ||
         std::find(o.applies_to.begin(), o.applies_to.end(), architecture) != o.applies_to.end();
}
}  // namespace

MethodOptions resolve_options(const std::string& method, const MethodOptions& given, const std::string& architecture) {
  const MethodInfo& info = method_info(method);
  std::string why;
  if (!method_applies(info, architecture, &why)) throw Error(why);
  MethodOptions general;  // what resolve_options() checks with the general specs
  for (const auto& kv : given) {
    for (const OptionSpec& o : info.options) {
      if (o.name != kv.first) continue;
      if (!option_applies(o, architecture))
        throw Error(method + ": option " + o.name + " applies to " + groups_display(o.applies_to) +
                    " models only, not to " + group_display(architecture) + " ones");
      auto pa = o.by_architecture.find(architecture);
      if (pa != o.by_architecture.end() && !pa->second.choices.empty() &&
          std::find(pa->second.choices.begin(), pa->second.choices.end(), kv.second) == pa->second.choices.end()) {
        std::string list;
        for (const std::string& c : pa->second.choices) list += (list.empty() ? "" : ", ") + c;
        throw Error(method + ": option " + o.name + " = '" + kv.second + "' does not apply to " +
                    group_display(architecture) + " models; there it is one of " + list);
      }
    }
  }
  MethodOptions with_defaults = given;
  for (const OptionSpec& o : info.options) {
    if (with_defaults.count(o.name) || !option_applies(o, architecture)) continue;
    auto pa = o.by_architecture.find(architecture);
    if (pa != o.by_architecture.end() && !pa->second.default_value.empty())
      with_defaults[o.name] = pa->second.default_value;
  }
  return resolve_options(method, with_defaults);
}

MethodOptions resolve_option_specs(const std::string& owner, const std::vector<OptionSpec>& specs,
                                   const MethodOptions& given) {
  for (const auto& kv : given) {
    bool known = false;
    for (const OptionSpec& o : specs) known = known || o.name == kv.first;
    if (!known) {
      std::string list;
      for (const OptionSpec& o : specs) list += (list.empty() ? "" : ", ") + o.name;
      throw Error(owner + " has no option '" + kv.first + "'; its options: " + list);
    }
  }
  MethodOptions out;
  for (const OptionSpec& o : specs) {
    auto it = given.find(o.name);
    out[o.name] = check_value(owner, o, it == given.end() ? o.default_value : it->second);
  }
  return out;
}

MethodOptions resolve_options(const std::string& method, const MethodOptions& given) {
  return resolve_option_specs(method, method_info(method).options, given);
}

MethodOptions parse_option_list(const std::string& list) {
  MethodOptions out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(pos, comma - pos);
    // trim spaces
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0) throw Error("option '" + item + "' is not of the form name=value");
      const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
      if (out.count(k)) throw Error("option '" + k + "' is given twice");
      out[k] = v;
    }
    pos = comma + 1;
  }
  return out;
}

int parse_target(const ModelConfig& config, const std::string& label_or_id) {
  auto it = config.label2id.find(label_or_id);
  if (it != config.label2id.end()) return it->second;
  for (size_t i = 0; i < config.id2label.size(); ++i)
    if (config.id2label[i] == label_or_id) return static_cast<int>(i);
  const char* begin = label_or_id.c_str();
  char* end = nullptr;
  const long v = label_or_id.empty() ? -1 : std::strtol(begin, &end, 10);
  if (!label_or_id.empty() && end == begin + label_or_id.size() && v >= 0 && v < config.num_labels)
    return static_cast<int>(v);
  std::string labels;
  for (size_t i = 0; i < config.id2label.size(); ++i)
    labels += (labels.empty() ? "" : ", ") + std::to_string(i) + " " + config.id2label[i];
  throw Error("target '" + label_or_id + "' is neither a label nor a class id of the model; its labels: " + labels);
}

std::vector<WordScore> words_of(const Encoding& enc, const std::string& text) {
  std::vector<WordScore> words(enc.words.size());
  for (size_t w = 0; w < words.size(); ++w) {
    words[w].span = enc.words[w];
    const size_t b = std::min(enc.words[w].begin, text.size()), e = std::min(enc.words[w].end, text.size());
    words[w].text = text.substr(b, e > b ? e - b : 0);
  }
  for (size_t t = 0; t < enc.size(); ++t) {
    const int32_t w = enc.word_ids[t];
    if (w >= 0 && static_cast<size_t>(w) < words.size())
      words[static_cast<size_t>(w)].tokens.push_back(static_cast<int32_t>(t));
  }
  return words;
}

void merge_word_scores(const std::vector<TokenScore>& tokens, std::vector<WordScore>& words, const std::string& rule) {
  if (rule != "sum" && rule != "mean" && rule != "max-abs")
    throw Error("merge rule '" + rule + "' is not one of sum, mean, max-abs");
  for (WordScore& w : words) {
    double acc = 0, best = 0;
    for (int32_t t : w.tokens) {
      const double s = tokens.at(static_cast<size_t>(t)).score;
      acc += s;
      if (std::fabs(s) > std::fabs(best)) best = s;
    }
    if (rule == "sum")
      w.score = acc;
    else if (rule == "mean")
      w.score = w.tokens.empty() ? 0 : acc / static_cast<double>(w.tokens.size());
    else
      w.score = best;
  }
}

namespace {
// Tokens the tokenizer mapped to its unknown token, words holding one, and
// the words past the truncation: what the model did not read as typed.
void mark_unread(const Tokenizer& tokenizer, const Encoding& enc, const std::string& text, Explanation& e) {
  const int32_t unk = tokenizer.special_tokens().unk_id;
  for (TokenScore& t : e.tokens) t.unknown = !t.special && unk >= 0 && t.id == unk;
  Unread& u = e.unread;
  u.words = static_cast<int>(e.words.size());
  for (WordScore& w : e.words) {
    for (int32_t t : w.tokens) w.unknown = w.unknown || e.tokens.at(static_cast<size_t>(t)).unknown;
    u.unknown_words += w.unknown ? 1 : 0;
  }
  if (enc.truncated) {
    u.truncated_from = static_cast<int64_t>(enc.kept_bytes);
    std::vector<Span> all;
    tokenizer.tokenize(text, &all);
    for (const Span& s : all) u.truncated_words += s.begin >= enc.kept_bytes ? 1 : 0;
  }
  const int denom = u.words + u.truncated_words;
  u.share = denom > 0 ? static_cast<double>(u.unknown_words + u.truncated_words) / denom : 0.0;
}
}  // namespace

Explanation explain(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                    const ExplainRequest& request) {
  // The method, the head and the options are checked before encoding.
  const MethodEntry& m = entry(request.method);
  if (model.config().head != ModelHead::SequenceClassification)
    throw Error("explain: " + model.config().architecture + " is not a sequence classifier");
  std::string why;
  if (!method_applies(m.info, model, &why)) throw Error(why);
  resolve_options(m.info.name, request.options, architecture_group(model.config()));
  EncodeOptions eo;
  eo.max_length = request.max_length;
  return explain_encoded(model, tokenizer, text, tokenizer.encode(text, eo), request);
}

namespace {

Explanation explain_on(const Model& model, const Tokenizer& tokenizer, const std::string& text, const Encoding& enc,
                       const ExplainRequest& request, gpu::DeviceTape* tape) {
  const auto t0 = std::chrono::steady_clock::now();
  const MethodEntry& m = entry(request.method);
  if (model.config().head != ModelHead::SequenceClassification)
    throw Error("explain: " + model.config().architecture + " is not a sequence classifier");
  const std::string arch = architecture_group(model.config());
  std::string missing;
  if (!method_applies(m.info, model, &missing)) throw Error(missing);
  const ResolvedOptions opts(m.info.name, resolve_options(m.info.name, request.options, arch));
  if (request.target < -1 || request.target >= model.output_dim())
    throw Error("explain: target class " + std::to_string(request.target) + " is out of range [0, " +
                std::to_string(model.output_dim() - 1) + "]");
  bool any_text = false;
  for (size_t i = 0; i < enc.size(); ++i) any_text = any_text || enc.word_ids[i] >= 0;
  if (!any_text) throw Error("explain: the text has no tokens to explain");

  if (request.control.cancel && request.control.cancel->load()) throw Cancelled();
  // Not even one row of the text fits the memory budget: said before any pass.
  rows_that_fit(model.config(), static_cast<int>(enc.size()), RowPass::backward, opts.number("memory-mb"), 1, m.info.name);
  ModelTarget target(model, enc, request.target, opts.str("output") == "probability", request.control, tape);

  Explanation e;
  e.method = m.info.name;
  e.options = opts.all();
  e.text = text;
  e.prediction = target.prediction();
  e.truncated = enc.truncated;
  e.notice = enc.notice;
  e.tokens.resize(enc.size());
  for (size_t t = 0; t < enc.size(); ++t) {
    TokenScore& ts = e.tokens[t];
    ts.token = enc.tokens[t];
    ts.id = enc.ids[t];
    ts.span = enc.offsets[t];
    ts.word = enc.word_ids[t];
    ts.special = enc.word_ids[t] < 0;
  }
  e.words = words_of(enc, text);
  e.signed_scores = scores_are_signed(m.info, e.options);
  e.explains = m.info.explains;
  mark_unread(tokenizer, enc, text, e);

  MethodContext ctx{model, tokenizer, enc, text, opts, target, request.masked_lm, request.masked_lm_tokenizer};
  m.run(ctx, e);
  if (!m.info.word_level) merge_word_scores(e.tokens, e.words, opts.str("merge"));
  const std::string why = e.prediction.target == e.prediction.label ? "Why '" + e.prediction.target_name + "'?"
                                                                    : "What speaks for '" + e.prediction.target_name +
                                                                          "' (not the predicted class)?";
  e.title = m.info.explains == "output"  ? why
            : m.info.explains == "neuron" ? "What drives " + e.unit + "?"
                                          : "Where the relevance for '" + e.prediction.target_name + "' lies, layer by layer";
  e.model_evaluations = target.evaluations();
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

}  // namespace

std::string explain_detail::run_on_device(const std::string& device, const std::string& who,
                                          const std::function<void(gpu::DeviceTape*)>& run) {
  const gpu::DeviceRequest dr = gpu::parse_device(device, who + ": device");
  std::string why;
  std::shared_ptr<gpu::Device> dev;
  try {
    dev = gpu::shared_device(dr, &why);
  } catch (const gpu::DeviceError& err) {
    throw gpu::DeviceError(who + ": device " + dr.str() + ": " + err.what());
  }
  if (dev) {
    gpu::DeviceTape tape(dev);
    try {
      run(&tape);
      std::string where = tape.device_name(), cpu;
      for (const std::string& op : tape.stats().cpu_ops) cpu += (cpu.empty() ? "" : ", ") + op;
      if (!cpu.empty()) where += "; on the CPU node by node: " + cpu;
      return where;
    } catch (const gpu::DeviceError& err) {
      if (dr.kind != gpu::DeviceKind::automatic)
        throw gpu::DeviceError(who + ": " + err.what() + " (--device auto would run it on the CPU)");
      why = err.what();
    }
  }
  run(nullptr);
  return dr.kind != gpu::DeviceKind::cpu ? "cpu (auto: " + why + ")" : "cpu";
}

// The device (ExplainRequest::device) around explain_on: a device error is
// an Error naming the device, and only auto runs the explanation again on
// the CPU, saying why in Explanation::device.
Explanation explain_encoded(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                            const Encoding& enc, const ExplainRequest& request) {
  Explanation e;
  const std::string where = explain_detail::run_on_device(
      request.device, "explain", [&](gpu::DeviceTape* tape) { e = explain_on(model, tokenizer, text, enc, request, tape); });
  e.device = where;
  return e;
}

}  // namespace wordlight
