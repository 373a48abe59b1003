#include "wordlight/text_escape.h"

#include "wordlight/json_limits.h"

namespace wordlight {

namespace {

void hex_byte(unsigned char c, std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_length(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  return first_invalid_utf8(s.data() + i, n) < 0 ? n : 0;
}

}  // namespace

std::string terminal_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) hex_byte(c, out);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t n = utf8_length(s, i);
    if (n == 0) {  // not UTF-8: a lone byte (0x9B alone is CSI on 8-bit terminals)
      hex_byte(c, out);
      ++i;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {  // C1 control U+0080-U+009F
      hex_byte(c, out);
      hex_byte(static_cast<unsigned char>(s[i + 1]), out);
      i += 2;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace wordlight
