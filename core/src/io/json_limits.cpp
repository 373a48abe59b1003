#include "wordlight/json_limits.h"

#include "wordlight/error.h"

namespace wordlight {

void check_json_depth(const char* text, size_t size, const std::string& source, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth)
          throw Error(source + ": JSON nests deeper than " + std::to_string(max_depth) + " levels (at byte " +
                      std::to_string(i) + "); refusing it");
        break;
      case ']':
      case '}':
        // Unbalanced text is the parser's to reject; never go negative.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
}

long long first_invalid_utf8(const char* text, size_t size) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  size_t i = 0;
  while (i < size) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;       // no overlong forms
      else if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;       // no overlong forms
      else if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return static_cast<long long>(i);
    }
    if (i + n > size) return static_cast<long long>(i);
    if (s[i + 1] < lo || s[i + 1] > hi) return static_cast<long long>(i);
    for (size_t k = 2; k < n; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return static_cast<long long>(i);
    i += n;
  }
  return -1;
}

}  // namespace wordlight
