#include "wordlight/model_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "io_util.h"
#include "json_kind.h"
#include "wordlight/error.h"
#include "wordlight/json_limits.h"

namespace wordlight {

namespace {

using Json = nlohmann::json;

struct ArchInfo {
  const char* name;
  ModelFamily family;
  ModelHead head;
};
const ArchInfo kArchitectures[] = {
    {"BertForSequenceClassification", ModelFamily::Bert, ModelHead::SequenceClassification},
    {"BertForMaskedLM", ModelFamily::Bert, ModelHead::MaskedLM},
    {"DistilBertForSequenceClassification", ModelFamily::DistilBert, ModelHead::SequenceClassification},
    {"DistilBertForMaskedLM", ModelFamily::DistilBert, ModelHead::MaskedLM},
    {"RobertaForSequenceClassification", ModelFamily::Roberta, ModelHead::SequenceClassification},
    {"RobertaForMaskedLM", ModelFamily::Roberta, ModelHead::MaskedLM},
    {"GPT2LMHeadModel", ModelFamily::Gpt2, ModelHead::CausalLM},
    {"GPT2ForSequenceClassification", ModelFamily::Gpt2, ModelHead::SequenceClassification},
    {"wordlight-cnn", ModelFamily::WordlightCnn, ModelHead::SequenceClassification},
    {"wordlight-bilstm", ModelFamily::WordlightBiLstm, ModelHead::SequenceClassification},
};

std::string supported_list() {
  std::string s;
  for (const auto& a : kArchitectures) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

const char* json_kind(const Json& j) { return io::json_kind(j, io::JsonNumbers::integer); }

// Typed access to the top-level keys, with messages naming the file and key.
// A key set to null counts as absent (Hugging Face writes e.g.
// "problem_type": null).
struct Reader {
  const Json& j;
  const std::string& src;

  const Json* find(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(src + ": key '" + key + "' " + what);
  }
  const Json& require(const char* key) const {
    const Json* v = find(key);
    if (!v) throw Error(src + ": missing required key '" + key + "'");
    return *v;
  }
  int as_int(const char* key, const Json& v, long long lo, long long hi) const {
    long long x;
    if (v.is_number_integer()) {
      // is_number_integer() covers unsigned too; compare as unsigned first
      // so values past INT64_MAX do not wrap.
      if (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(hi))
        fail(key, "is " + std::to_string(v.get<unsigned long long>()) + "; it must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      x = v.get<long long>();
    } else {
      fail(key, std::string("must be an integer, got ") + json_kind(v));
    }
    if (x < lo || x > hi)
      fail(key, "is " + std::to_string(x) + "; it must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return static_cast<int>(x);
  }
  int req_int(const char* key, long long lo, long long hi) const { return as_int(key, require(key), lo, hi); }
  int opt_int(const char* key, int def, long long lo, long long hi) const {
    const Json* v = find(key);
    return v ? as_int(key, *v, lo, hi) : def;
  }
  double opt_number(const char* key, double def) const {
    const Json* v = find(key);
    if (!v) return def;
    if (!v->is_number()) fail(key, std::string("must be a number, got ") + json_kind(*v));
    return v->get<double>();
  }
  std::string opt_string(const char* key, const std::string& def) const {
    const Json* v = find(key);
    if (!v) return def;
    if (!v->is_string()) fail(key, std::string("must be a string, got ") + json_kind(*v));
    return v->get<std::string>();
  }
  bool opt_bool(const char* key, bool def) const {
    const Json* v = find(key);
    if (!v) return def;
    if (!v->is_boolean()) fail(key, std::string("must be true or false, got ") + json_kind(*v));
    return v->get<bool>();
  }
};

// Generous bounds: they only keep hostile or broken files from asking the
// model code for absurd allocations.
constexpr long long kMaxVocab = 10000000;
constexpr long long kMaxWidth = 65536;
constexpr long long kMaxLayers = 1024;
constexpr long long kMaxPositions = 1000000;
constexpr long long kMaxLabels = 100000;

void read_labels(const Reader& r, ModelConfig& c, bool required) {
  const Json* id2label = r.find("id2label");
  const Json* label2id = r.find("label2id");
  int n = -1;
  // Older configs save the count as "_num_labels".
  const char* count_key = r.find("num_labels") ? "num_labels" : (r.find("_num_labels") ? "_num_labels" : nullptr);
  if (count_key) n = r.as_int(count_key, *r.find(count_key), 1, kMaxLabels);

  if (id2label) {
    if (!id2label->is_object()) r.fail("id2label", std::string("must be an object, got ") + json_kind(*id2label));
    const size_t m = id2label->size();
    if (m == 0 || m > static_cast<size_t>(kMaxLabels)) r.fail("id2label", "must have between 1 and 100000 entries");
    c.id2label.assign(m, std::string());
    std::vector<bool> seen(m, false);
    for (auto it = id2label->begin(); it != id2label->end(); ++it) {
      const std::string& k = it.key();
      size_t id = 0;
      bool ok = !k.empty() && k.size() <= 6;
      for (char ch : k) {
        if (ch < '0' || ch > '9') ok = false;
        id = id * 10 + static_cast<size_t>(ch - '0');
      }
      if (!ok || id >= m || seen[id])
        r.fail("id2label", "has key '" + k + "'; keys must be the ids 0.." + std::to_string(m - 1) + ", each once");
      if (!it->is_string())
        r.fail("id2label", "value for id " + k + " must be a string, got " + json_kind(*it));
      seen[id] = true;
      c.id2label[id] = it->get<std::string>();
    }
    if (n >= 0 && n != static_cast<int>(m))
      r.fail(count_key, "is " + std::to_string(n) + " but id2label has " + std::to_string(m) + " labels");
    n = static_cast<int>(m);
  }
  if (label2id) {
    if (!label2id->is_object()) r.fail("label2id", std::string("must be an object, got ") + json_kind(*label2id));
    for (auto it = label2id->begin(); it != label2id->end(); ++it) {
      if (!it->is_number_integer())
        r.fail("label2id", "value for '" + it.key() + "' must be an integer, got " + json_kind(*it));
      c.label2id[it.key()] = r.as_int("label2id", *it, 0, kMaxLabels - 1);
    }
  }
  if (n < 0) {
    if (required) throw Error(r.src + ": missing required key 'num_labels' (or 'id2label')");
    n = 2;  // PretrainedConfig's default
  }
  c.num_labels = n;
  if (c.id2label.empty())
    for (int i = 0; i < n; ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
  if (c.label2id.empty())
    for (int i = 0; i < n; ++i) c.label2id[c.id2label[i]] = i;
  for (const auto& kv : c.label2id)
    if (kv.second >= n)
      r.fail("label2id", "maps '" + kv.first + "' to " + std::to_string(kv.second) + ", past the " +
                             std::to_string(n) + " labels");
}

// A dropout probability: only used while training, checked here so that a
// bad value is named by its key.
float read_dropout(const Reader& r, const char* key, double def) {
  const double p = r.opt_number(key, def);
  if (!(p >= 0 && p < 1)) r.fail(key, "is " + std::to_string(p) + "; it must be in [0, 1)");
  return static_cast<float>(p);
}

void read_transformer(const Reader& r, ModelConfig& c) {
  c.vocab_size = r.req_int("vocab_size", 1, kMaxVocab);
  c.max_position_embeddings = r.req_int("max_position_embeddings", 1, kMaxPositions);
  if (c.family == ModelFamily::DistilBert) {
    c.hidden_size = r.req_int("dim", 1, kMaxWidth);
    c.num_hidden_layers = r.req_int("n_layers", 1, kMaxLayers);
    c.num_attention_heads = r.req_int("n_heads", 1, kMaxWidth);
    c.intermediate_size = r.req_int("hidden_dim", 1, 4 * kMaxWidth);
    c.hidden_act = r.opt_string("activation", "gelu");
    c.sinusoidal_pos_embds = r.opt_bool("sinusoidal_pos_embds", false);
    c.type_vocab_size = 0;
    c.layer_norm_eps = 1e-12f;  // fixed in DistilBERT's modeling code
    c.dropout = read_dropout(r, "dropout", 0.1);
    c.pad_token_id = r.opt_int("pad_token_id", 0, 0, c.vocab_size - 1);
  } else {
    c.hidden_size = r.req_int("hidden_size", 1, kMaxWidth);
    c.num_hidden_layers = r.req_int("num_hidden_layers", 1, kMaxLayers);
    c.num_attention_heads = r.req_int("num_attention_heads", 1, kMaxWidth);
    c.intermediate_size = r.req_int("intermediate_size", 1, 4 * kMaxWidth);
    c.hidden_act = r.opt_string("hidden_act", "gelu");
    c.type_vocab_size = r.opt_int("type_vocab_size", 2, 0, 1000);
    const double eps = r.opt_number("layer_norm_eps", 1e-12);
    if (!(eps > 0 && eps < 1)) r.fail("layer_norm_eps", "is " + std::to_string(eps) + "; it must be in (0, 1)");
    c.layer_norm_eps = static_cast<float>(eps);
    c.dropout = read_dropout(r, "hidden_dropout_prob", 0.1);
    const int def_pad = c.family == ModelFamily::Roberta ? 1 : 0;
    c.pad_token_id = r.opt_int("pad_token_id", def_pad, 0, c.vocab_size - 1);
  }
  if (c.hidden_size % c.num_attention_heads != 0)
    throw Error(r.src + ": hidden size " + std::to_string(c.hidden_size) + " is not divisible by the number of " +
                "attention heads " + std::to_string(c.num_attention_heads));
  if (c.hidden_act.empty()) r.fail(c.family == ModelFamily::DistilBert ? "activation" : "hidden_act", "is empty");
  // RoBERTa's position ids start after the padding index (create_position_
  // ids_from_input_ids), so the first pad_token_id + 1 rows are never used
  // for real tokens.
  c.position_offset = c.family == ModelFamily::Roberta ? c.pad_token_id + 1 : 0;
  c.max_length = c.max_position_embeddings - c.position_offset;
  if (c.max_length < 2)
    r.fail("max_position_embeddings", "is " + std::to_string(c.max_position_embeddings) +
                                          ", leaving no room for a single token after the position offset");
}

// GPT-2 (GPT2Config): the Hugging Face names, the defaults of GPT2Config.
void read_gpt2(const Reader& r, ModelConfig& c) {
  c.vocab_size = r.req_int("vocab_size", 1, kMaxVocab);
  c.max_position_embeddings = r.req_int("n_positions", 1, kMaxPositions);
  c.hidden_size = r.req_int("n_embd", 1, kMaxWidth);
  c.num_hidden_layers = r.req_int("n_layer", 1, kMaxLayers);
  c.num_attention_heads = r.req_int("n_head", 1, kMaxWidth);
  c.intermediate_size = r.opt_int("n_inner", 4 * c.hidden_size, 1, 4 * kMaxWidth);  // null: 4 n_embd
  c.hidden_act = r.opt_string("activation_function", "gelu_new");
  if (c.hidden_act.empty()) r.fail("activation_function", "is empty");
  const double eps = r.opt_number("layer_norm_epsilon", 1e-5);
  if (!(eps > 0 && eps < 1)) r.fail("layer_norm_epsilon", "is " + std::to_string(eps) + "; it must be in (0, 1)");
  c.layer_norm_eps = static_cast<float>(eps);
  c.dropout = read_dropout(r, "resid_pdrop", 0.1);
  read_dropout(r, "embd_pdrop", 0.1);  // checked only: training uses resid_pdrop everywhere
  read_dropout(r, "attn_pdrop", 0.1);
  c.type_vocab_size = 0;
  c.position_offset = 0;
  c.max_length = c.max_position_embeddings;
  c.scale_attn_weights = r.opt_bool("scale_attn_weights", true);
  c.scale_attn_by_inverse_layer_idx = r.opt_bool("scale_attn_by_inverse_layer_idx", false);
  c.tie_word_embeddings = r.opt_bool("tie_word_embeddings", true);
  // 50256 (<|endoftext|>) is GPT2Config's default; a smaller vocabulary
  // without the key has no such token.
  auto special = [&](const char* key) {
    const Json* v = r.find(key);
    if (!v) return 50256 < c.vocab_size ? 50256 : -1;
    return r.as_int(key, *v, 0, c.vocab_size - 1);
  };
  c.bos_token_id = special("bos_token_id");
  c.eos_token_id = special("eos_token_id");
  c.pad_token_id = r.opt_int("pad_token_id", c.eos_token_id >= 0 ? c.eos_token_id : 0, 0, c.vocab_size - 1);
  if (c.hidden_size % c.num_attention_heads != 0)
    throw Error(r.src + ": n_embd " + std::to_string(c.hidden_size) + " is not divisible by n_head " +
                std::to_string(c.num_attention_heads));
}

void read_wordlight(const Reader& r, ModelConfig& c) {
  c.vocab_size = r.req_int("vocab_size", 2, kMaxVocab);  // at least <pad> and <unk>
  c.embedding_dim = r.req_int("embedding_dim", 1, kMaxWidth);
  c.pad_token_id = r.opt_int("pad_token_id", 0, 0, c.vocab_size - 1);
  c.max_length = r.opt_int("max_length", 512, 1, kMaxPositions);
  c.lowercase = r.opt_bool("lowercase", true);
  c.dropout = read_dropout(r, "dropout", 0.0);
  if (c.family == ModelFamily::WordlightCnn) {
    c.num_filters = r.req_int("num_filters", 1, kMaxWidth);
    const Json& k = r.require("kernel_size");
    if (k.is_array()) {
      if (k.empty() || k.size() > 64) r.fail("kernel_size", "must list between 1 and 64 kernel sizes");
      for (const Json& e : k) c.kernel_sizes.push_back(r.as_int("kernel_size", e, 1, 1000));
    } else {
      c.kernel_sizes.push_back(r.as_int("kernel_size", k, 1, 1000));
    }
  } else {
    c.lstm_hidden_size = r.req_int("hidden_size", 1, kMaxWidth);
  }
  // The VMASK word-mask layer (wordlight/vmask.h): "vmask": {"hidden": H}.
  if (const Json* v = r.find("vmask")) {
    if (!v->is_object() || v->size() != 1 || !v->contains("hidden"))
      r.fail("vmask", "must be an object {\"hidden\": H} (the mask layer's hidden width)");
    c.vmask_hidden = r.as_int("vmask.hidden", v->at("hidden"), 1, kMaxWidth);
  }
}

}  // namespace

const char* family_name(ModelFamily f) {
  switch (f) {
    case ModelFamily::Bert:
      return "bert";
    case ModelFamily::DistilBert:
      return "distilbert";
    case ModelFamily::Roberta:
      return "roberta";
    case ModelFamily::WordlightCnn:
      return "wordlight-cnn";
    case ModelFamily::WordlightBiLstm:
      return "wordlight-bilstm";
    case ModelFamily::Gpt2:
      return "gpt2";
  }
  return "unknown";
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& name) {
  check_json_depth(json_text, name);
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(name + ": must hold a JSON object, got " + json_kind(j));
  const Reader r{j, name};
  ModelConfig c;
  c.source = name;

  c.model_type = r.opt_string("model_type", "");
  if (const Json* archs = r.find("architectures")) {
    if (!archs->is_array() || archs->empty() || !(*archs)[0].is_string())
      r.fail("architectures", std::string("must be a non-empty list of strings, got ") +
                                   (archs->is_array() && !archs->empty() ? "a list whose first element is " +
                                                                               std::string(json_kind((*archs)[0]))
                                                                         : json_kind(*archs)));
    c.architecture = (*archs)[0].get<std::string>();
  } else if (c.model_type == "wordlight-cnn" || c.model_type == "wordlight-bilstm") {
    c.architecture = c.model_type;
  } else if (!c.model_type.empty()) {
    throw Error(name + ": missing required key 'architectures' (model_type '" + c.model_type +
                "' alone does not say which head the checkpoint has; supported: " + supported_list() + ")");
  } else {
    throw Error(name + ": missing required key 'architectures' (and no 'model_type')");
  }
  const ArchInfo* arch = nullptr;
  for (const auto& a : kArchitectures)
    if (c.architecture == a.name) arch = &a;
  if (!arch)
    throw Error(name + ": unknown architecture '" + c.architecture + "' in 'architectures' (supported: " +
                supported_list() + ")");
  c.family = arch->family;
  c.head = arch->head;
  if (c.model_type.empty()) {
    c.model_type = family_name(c.family);
  } else if (c.model_type != family_name(c.family)) {
    r.fail("model_type", "is '" + c.model_type + "' but architecture '" + c.architecture + "' is a " +
                             family_name(c.family) + " model");
  }

  if (c.is_decoder()) {
    read_gpt2(r, c);
  } else if (c.is_transformer()) {
    read_transformer(r, c);
  } else {
    read_wordlight(r, c);
  }
  read_labels(r, c, !c.is_transformer());
  c.problem_type = r.opt_string("problem_type", "");
  if (!c.problem_type.empty() && c.problem_type != "single_label_classification" &&
      c.problem_type != "multi_label_classification" && c.problem_type != "regression")
    r.fail("problem_type", "is '" + c.problem_type +
                               "'; expected single_label_classification, multi_label_classification or regression");
  return c;
}

ModelConfig read_model_config_file(const std::string& path) { return parse_model_config(io::read_file(path), path); }

}  // namespace wordlight
