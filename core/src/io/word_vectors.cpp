// Readers of word_vectors.h.
#include "wordlight/word_vectors.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "unicode.h"
#include "wordlight/error.h"
#include "wordlight/json_limits.h"

namespace wordlight {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open the word vectors");
  std::string s;
  f.seekg(0, std::ios::end);
  const std::streamoff n = f.tellg();
  if (n < 0) throw Error(path + ": cannot read the word vectors");
  s.resize(static_cast<size_t>(n));
  f.seekg(0);
  f.read(s.data(), n);
  if (!f) throw Error(path + ": read error");
  return s;
}

// A forward-only scanner over the JSON text: just enough of JSON for the
// wink file's layout (objects, arrays, strings, numbers), with every error
// naming the byte offset.
struct Scanner {
  const std::string& s;
  const std::string& path;
  size_t i = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path + ": byte " + std::to_string(i) + ": " + what);
  }
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  void expect(char c) {
    ws();
    if (i >= s.size() || s[i] != c) fail(std::string("expected '") + c + "'");
    ++i;
  }
  bool peek(char c) {
    ws();
    return i < s.size() && s[i] == c;
  }
  unsigned hex4() {
    if (i + 4 > s.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s[i++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }
  std::string str() {
    expect('"');
    std::string out;
    while (true) {
      if (i >= s.size()) fail("unterminated string");
      const char c = s[i++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) fail("unterminated escape");
      const char e = s[i++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < s.size() && s[i] == '\\' && s[i + 1] == 'u') {
            i += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          unicode::append_utf8(static_cast<char32_t>(cp), out);
          break;
        }
        default: fail(std::string("bad escape \\") + e);
      }
    }
  }
  double number() {
    ws();
    const char* b = s.c_str() + i;
    char* e = nullptr;
    errno = 0;
    const double v = std::strtod(b, &e);
    if (e == b) fail("expected a number");
    if (!std::isfinite(v) || std::abs(v) > 3.4e38) fail("a number is not finite (or is past float32's range)");
    i += static_cast<size_t>(e - b);
    return v;
  }
  // Skips any JSON value.
  void skip() {
    ws();
    if (i >= s.size()) fail("unexpected end of file");
    const char c = s[i];
    if (c == '"') {
      str();
    } else if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i;
      if (peek(close)) {
        ++i;
        return;
      }
      while (true) {
        if (c == '{') {
          str();
          expect(':');
        }
        skip();
        if (peek(',')) {
          ++i;
          continue;
        }
        expect(close);
        return;
      }
    } else if (s.compare(i, 4, "true") == 0 || s.compare(i, 4, "null") == 0) {
      i += 4;
    } else if (s.compare(i, 5, "false") == 0) {
      i += 5;
    } else {
      number();
    }
  }
};

WordVectors read_wink_json(const std::string& text, const std::string& path,
                           const std::unordered_set<std::string>* wanted) {
  check_json_depth(text, path);  // skip() recurses once per level
  Scanner sc{text, path};
  WordVectors wv;
  bool saw_vectors = false;
  sc.expect('{');
  if (sc.peek('}')) sc.fail("no \"vectors\" object");
  while (true) {
    const std::string key = sc.str();
    sc.expect(':');
    if (key == "dimensions") {
      const double d = sc.number();
      if (d < 1 || d > 100000 || d != static_cast<int>(d)) sc.fail("\"dimensions\" must be a positive integer");
      wv.dim = static_cast<int>(d);
    } else if (key == "vectors") {
      if (wv.dim <= 0) sc.fail("\"vectors\" comes before \"dimensions\"");
      saw_vectors = true;
      sc.expect('{');
      if (!sc.peek('}')) {
        std::vector<float> v;
        while (true) {
          const std::string word = sc.str();
          sc.expect(':');
          const bool keep = !wanted || wanted->count(word);
          sc.expect('[');
          v.clear();
          if (!sc.peek(']')) {
            while (true) {
              const double x = sc.number();
              if (keep) v.push_back(static_cast<float>(x));
              if (sc.peek(',')) {
                ++sc.i;
                continue;
              }
              break;
            }
          }
          sc.expect(']');
          if (keep) {
            // The wink layout appends the L2 norm and an index to each vector.
            if (v.size() < static_cast<size_t>(wv.dim))
              sc.fail("the vector of '" + word + "' has " + std::to_string(v.size()) + " values, fewer than " +
                      std::to_string(wv.dim) + " dimensions");
            v.resize(static_cast<size_t>(wv.dim));
            wv.vectors[word] = v;
          }
          if (sc.peek(',')) {
            ++sc.i;
            continue;
          }
          break;
        }
      }
      sc.expect('}');
    } else {
      sc.skip();
    }
    if (sc.peek(',')) {
      ++sc.i;
      continue;
    }
    sc.expect('}');
    break;
  }
  if (!saw_vectors) throw Error(path + ": no \"vectors\" object (not a wink-embeddings file?)");
  return wv;
}

WordVectors read_glove_text(const std::string& text, const std::string& path,
                            const std::unordered_set<std::string>* wanted) {
  WordVectors wv;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line;
    std::string l = text.substr(pos, end - pos);
    pos = end + 1;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.empty()) continue;
    const size_t sp = l.find(' ');
    if (sp == std::string::npos || sp == 0)
      throw Error(path + ":" + std::to_string(line) + ": expected 'word v1 v2 ...'");
    std::string word = l.substr(0, sp);
    if (wanted && !wanted->count(word)) continue;
    std::vector<float> v;
    const char* p = l.c_str() + sp;
    while (true) {
      while (*p == ' ') ++p;
      if (!*p) break;
      char* e = nullptr;
      const float x = std::strtof(p, &e);
      if (e == p) throw Error(path + ":" + std::to_string(line) + ": '" + word + "': a value is not a number");
      if (!std::isfinite(x))
        throw Error(path + ":" + std::to_string(line) + ": '" + word + "': a value is not finite (NaN or infinity)");
      v.push_back(x);
      p = e;
    }
    if (wv.dim == 0) wv.dim = static_cast<int>(v.size());
    if (static_cast<int>(v.size()) != wv.dim)
      throw Error(path + ":" + std::to_string(line) + ": '" + word + "' has " + std::to_string(v.size()) +
                  " values, the first line " + std::to_string(wv.dim));
    wv.vectors[word] = std::move(v);
  }
  if (wv.dim == 0 && !wanted) throw Error(path + ": no word vectors in the file");
  return wv;
}

}  // namespace

WordVectors load_word_vectors(const std::string& path, const std::unordered_set<std::string>* wanted) {
  const std::string text = slurp(path);
  size_t k = 0;
  while (k < text.size() && (text[k] == ' ' || text[k] == '\n' || text[k] == '\r' || text[k] == '\t')) ++k;
  if (k == text.size()) throw Error(path + ": the word-vector file is empty");
  return text[k] == '{' ? read_wink_json(text, path, wanted) : read_glove_text(text, path, wanted);
}

}  // namespace wordlight
