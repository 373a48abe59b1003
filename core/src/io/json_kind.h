#pragma once
// What a JSON value is, for the readers' error messages ("must be a string,
// got an array"), shared by config.json, safetensors and tokenizer readers
// (internal to core/src/io). Works on nlohmann::json and ordered_json.

namespace wordlight {
namespace io {

// How finely numbers are told apart: "a number"; "an integer" or "a
// non-integer number"; and integers by sign ("an unsigned integer", "a
// negative integer") where a size is read.
enum class JsonNumbers { any, integer, sign };

template <class J>
const char* json_kind(const J& j, JsonNumbers numbers) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) {
    if (numbers == JsonNumbers::any) return "a number";
    if (j.is_number_float()) return "a non-integer number";
    if (numbers == JsonNumbers::integer) return "an integer";
    return j.is_number_unsigned() ? "an unsigned integer" : "a negative integer";
  }
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "an unsupported JSON value";
}

}  // namespace io
}  // namespace wordlight
