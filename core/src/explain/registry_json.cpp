// The method registry as JSON, and option values given as a JSON object:
// what the JS API (wasm/) exchanges with the core.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "wordlight/explain.h"
#include "wordlight/json_limits.h"

namespace wordlight {

namespace {
using json = nlohmann::ordered_json;

json typed_default(const OptionSpec& o) {
  switch (o.type) {
    case OptionType::integer:
      return std::stoll(o.default_value);
    case OptionType::number:
      return std::strtod(o.default_value.c_str(), nullptr);
    case OptionType::boolean:
      return o.default_value == "true";
    case OptionType::choice:
      return o.default_value;
  }
  return o.default_value;
}
}  // namespace

namespace {
// One method as JSON; with `architecture` set, resolved for that group:
// only the options that apply, with the group's choices and default, and
// "applicable" / "why".
// With `model`, also its learned parts (MethodInfo::requires_part).
json method_json(const MethodInfo& m, const std::string& architecture, const Model* model = nullptr) {
  json opts = json::array();
  for (const OptionSpec& o : m.options) {
    const bool applies = o.applies_to.empty() ||
                         std::find(o.applies_to.begin(), o.applies_to.end(), architecture) != o.applies_to.end();
    if (!architecture.empty() && !applies) continue;
    OptionSpec r = o;
    if (!architecture.empty()) {
      auto pa = o.by_architecture.find(architecture);
      if (pa != o.by_architecture.end()) {
        if (!pa->second.choices.empty()) r.choices = pa->second.choices;
        if (!pa->second.default_value.empty()) r.default_value = pa->second.default_value;
      }
    }
    json j;
    j["name"] = r.name;
    j["type"] = option_type_name(r.type);
    j["default"] = typed_default(r);
    if (r.type == OptionType::integer || r.type == OptionType::number) {
      j["min"] = r.min;
      j["max"] = r.max;
    }
    if (r.type == OptionType::choice) j["choices"] = r.choices;
    j["description"] = r.description;
    if (architecture.empty()) {
      if (!o.applies_to.empty()) j["applies_to"] = o.applies_to;
      if (!o.by_architecture.empty()) {
        json by = json::object();
        for (const auto& kv : o.by_architecture) {
          json a = json::object();
          if (!kv.second.choices.empty()) a["choices"] = kv.second.choices;
          if (!kv.second.default_value.empty()) a["default"] = kv.second.default_value;
          by[kv.first] = a;
        }
        j["by_architecture"] = by;
      }
    }
    opts.push_back(std::move(j));
  }
  json out = {{"name", m.name},
              {"title", m.title},
              {"description", m.description},
              {"scores", m.signed_scores ? "signed" : "unsigned"},
              {"explains", m.explains},
              {"word_level", m.word_level},
              {"check", m.check},
              {"cost", m.cost}};
  if (!m.unsigned_when.empty()) out["unsigned_when"] = m.unsigned_when;
  if (!m.requires_part.empty()) {
    out["requires_part"] = m.requires_part;
    out["part_hint"] = m.part_hint;
  }
  if (architecture.empty()) {
    out["applies_to"] =
        m.applies_to.empty() ? std::vector<std::string>{"cnn", "bilstm", "transformer", "decoder"} : m.applies_to;
  } else {
    std::string why;
    const bool ok = model ? method_applies(m, *model, &why) : method_applies(m, architecture, &why);
    out["applicable"] = ok;
    if (!ok) out["why"] = why;
  }
  out["options"] = std::move(opts);
  return out;
}
}  // namespace

std::string explanation_methods_to_json(int indent) {
  json out = json::array();
  for (const MethodInfo& m : explanation_methods()) out.push_back(method_json(m, ""));
  return out.dump(indent);
}

std::string explanation_methods_to_json(const std::string& architecture, int indent) {
  if (architecture != "cnn" && architecture != "bilstm" && architecture != "transformer" && architecture != "decoder")
    throw Error("architecture group '" + architecture + "' is not one of cnn, bilstm, transformer, decoder");
  json out = json::array();
  for (const MethodInfo& m : explanation_methods()) out.push_back(method_json(m, architecture));
  return out.dump(indent);
}

std::string explanation_methods_to_json(const Model& model, int indent) {
  const std::string architecture = architecture_group(model.config());
  json out = json::array();
  for (const MethodInfo& m : explanation_methods()) out.push_back(method_json(m, architecture, &model));
  return out.dump(indent);
}

MethodOptions parse_option_json(const std::string& json_text) {
  json j;
  check_json_depth(json_text, "options");
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(std::string("options: not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) throw Error("options: must be a JSON object of name: value");
  MethodOptions out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    const std::string& k = it.key();
    if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else if (v.is_boolean()) {
      out[k] = v.get<bool>() ? "true" : "false";
    } else if (v.is_number_integer()) {
      out[k] = v.is_number_unsigned() ? std::to_string(v.get<unsigned long long>()) : std::to_string(v.get<long long>());
    } else if (v.is_number_float()) {
      const double d = v.get<double>();
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      out[k] = buf;
    } else {
      throw Error("options: option '" + k + "' must be a number, a boolean or a string, got " + v.type_name());
    }
  }
  return out;
}

}  // namespace wordlight
