#pragma once
// Limits on untrusted JSON (model files, data sets, option objects).
//
// nlohmann-json parses iteratively, but copying, comparing or dumping a
// value recurses once per level of nesting: a file holding 100,000 nested
// arrays would overflow the stack (a crash natively, a JS RangeError and a
// leaked heap in wasm). So every reader checks the nesting of the raw text
// first, with a loop (no recursion), and refuses anything deeper than
// kMaxJsonDepth before nlohmann sees it.
#include <cstddef>
#include <string>

namespace wordlight {

// Deeper than any real config.json, tokenizer.json or safetensors header
// (they nest 4 or 5 levels).
constexpr int kMaxJsonDepth = 64;

// Throws Error "<source>: JSON nests deeper than 64 levels (at byte N);
// refusing it" when the text's arrays and objects nest deeper than
// max_depth. Text that is not JSON is left to the parser to reject.
void check_json_depth(const char* text, size_t size, const std::string& source, int max_depth = kMaxJsonDepth);
inline void check_json_depth(const std::string& text, const std::string& source, int max_depth = kMaxJsonDepth) {
  check_json_depth(text.data(), text.size(), source, max_depth);
}

// Bytes that are not valid UTF-8 (overlong forms, surrogates, code points
// past U+10FFFF, truncated sequences): the offset of the first bad byte, or
// -1 when all of it is valid.
long long first_invalid_utf8(const char* text, size_t size);

}  // namespace wordlight
