#include "unicode.h"

#include <algorithm>

namespace wordlight {
namespace unicode {

Decoded decode_utf8(const char* s, size_t n, size_t i) {
  const Decoded bad{0xFFFD, 1};
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c0 = b(i);
  if (c0 < 0x80) return {c0, 1};
  uint32_t len;
  char32_t cp, min;
  if ((c0 & 0xE0) == 0xC0) {
    len = 2, cp = c0 & 0x1F, min = 0x80;
  } else if ((c0 & 0xF0) == 0xE0) {
    len = 3, cp = c0 & 0x0F, min = 0x800;
  } else if ((c0 & 0xF8) == 0xF0) {
    len = 4, cp = c0 & 0x07, min = 0x10000;
  } else {
    return bad;
  }
  if (n - i < len) return bad;
  for (uint32_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return bad;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return bad;
  return {cp, len};
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string to_utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) append_utf8(c, out);
  return out;
}

CharClass char_class(char32_t cp) {
  if (cp >= 0x110000) return kOther;
  // Last range whose first code point is <= cp.
  const uint32_t key = (static_cast<uint32_t>(cp) << 8) | 0xFF;
  const uint32_t* end = kCategoryRanges + kCategoryRangesSize;
  const uint32_t* it = std::upper_bound(kCategoryRanges, end, key);
  return static_cast<CharClass>(*(it - 1) & 0xFF);
}

bool is_white_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

bool is_cjk_ideograph(char32_t cp) {
  // The ranges of the tokenizers library's BertNormalizer. Its CJK
  // Extension E range starts at U+2B920 where the Python BertTokenizer's
  // starts at U+2B820; we follow the fast tokenizer, as everywhere.
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_bert_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return char_class(cp) == kPunct;
}

namespace {
template <class Run>
const Run* find_run(const Run* runs, size_t n, char32_t cp) {
  const Run* end = runs + n;
  const Run* it = std::upper_bound(runs, end, cp, [](char32_t c, const Run& r) { return c < r.first; });
  if (it == runs) return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}
const MultiMap* find_multi(const MultiMap* maps, size_t n, char32_t cp) {
  const MultiMap* end = maps + n;
  const MultiMap* it = std::lower_bound(maps, end, cp, [](const MultiMap& m, char32_t c) { return m.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}
}  // namespace

void append_lower(char32_t cp, std::u32string& out) {
  if (cp < 0x80) {
    out += (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    return;
  }
  if (const LowerRun* r = find_run(kLowerRuns, kLowerRunsSize, cp)) {
    if ((cp - r->first) % r->stride == 0) {
      out += static_cast<char32_t>(static_cast<int32_t>(cp) + r->delta);
      return;
    }
  }
  if (const MultiMap* m = find_multi(kLowerMulti, kLowerMultiSize, cp)) {
    for (uint32_t k = 0; k < m->count; ++k) out += static_cast<char32_t>(m->out[k]);
    return;
  }
  out += cp;
}

void append_stripped(char32_t cp, std::u32string& out) {
  if (cp < 0x80) {
    out += cp;
    return;
  }
  // Hangul syllables decompose algorithmically (Unicode 3.12) into two or
  // three jamo, none of which is a mark.
  constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
  constexpr char32_t kVCount = 21, kTCount = 28, kSCount = 11172;
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out += kLBase + s / (kVCount * kTCount);
    out += kVBase + (s % (kVCount * kTCount)) / kTCount;
    if (s % kTCount) out += kTBase + s % kTCount;
    return;
  }
  if (char_class(cp) == kMarkNonspacing) return;
  if (const StripRun* r = find_run(kStripRuns, kStripRunsSize, cp)) {
    out += r->target;
    return;
  }
  if (const MultiMap* m = find_multi(kStripMulti, kStripMultiSize, cp)) {
    for (uint32_t k = 0; k < m->count; ++k) out += static_cast<char32_t>(m->out[k]);
    return;
  }
  out += cp;
}

}  // namespace unicode
}  // namespace wordlight
