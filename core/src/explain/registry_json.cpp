// The method registry as JSON, and option values given as a JSON object:
// what the JS API (wasm/) exchanges with the core.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "wordlight/explain.h"

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

std::string explanation_methods_to_json(int indent) {
  json out = json::array();
  for (const MethodInfo& m : explanation_methods()) {
    json opts = json::array();
    for (const OptionSpec& o : m.options) {
      json j;
      j["name"] = o.name;
      j["type"] = option_type_name(o.type);
      j["default"] = typed_default(o);
      if (o.type == OptionType::integer || o.type == OptionType::number) {
        j["min"] = o.min;
        j["max"] = o.max;
      }
      if (o.type == OptionType::choice) j["choices"] = o.choices;
      j["description"] = o.description;
      opts.push_back(std::move(j));
    }
    out.push_back({{"name", m.name},
                   {"description", m.description},
                   {"word_level", m.word_level},
                   {"check", m.check},
                   {"options", std::move(opts)}});
  }
  return out.dump(indent);
}

MethodOptions parse_option_json(const std::string& json_text) {
  json j;
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
