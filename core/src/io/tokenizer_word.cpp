// Word-level tokenizer for our CNN and BiLSTM. The training data (SST's
// stsa files) is lower-cased and tokenised like the Penn Treebank:
//   "it 's", "does n't", "ca n't", "`` quoted ''", "-lrb- aside -rrb-",
//   hyphenated words and abbreviations kept whole ("well-made", "mr.").
// A user types "It's (really) \"good\"", so the text is split the same way:
// on white space, then per chunk: a chunk the vocabulary knows stays whole;
// otherwise opening and closing punctuation is peeled off, a trailing
// "n't" / "'s" / "'re" / "'ve" / "'ll" / "'d" / "'m" is split off, and the
// rest is split at punctuation that does not join a word. Brackets and
// double quotes become -lrb- / -rrb- / `` / '' when the vocabulary has those
// forms. Each token is its own word. Unknown words map to <unk> (id 1);
// <pad> is id 0.
#include "tokenizer_impl.h"
#include "unicode.h"
#include "wordlight/error.h"

namespace wordlight {

namespace {

bool is_alnum(char32_t cp) {
  const unicode::CharClass k = unicode::char_class(cp);
  return k == unicode::kLetter || k == unicode::kNumber || k == unicode::kMarkNonspacing ||
         k == unicode::kMarkOther;
}

// Characters that join two word characters into one token: "well-made",
// "o'brien", "u.s", "1,000", "and/or", "at&t".
bool is_joiner(char32_t cp) { return cp == '-' || cp == '\'' || cp == '.' || cp == ',' || cp == '/' || cp == '&'; }

char32_t ascii_lower(char32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool ends_with(const std::vector<NormChar>& c, size_t a, size_t b, const char* suffix) {
  size_t n = 0;
  while (suffix[n]) ++n;
  if (b - a < n) return false;
  for (size_t k = 0; k < n; ++k)
    if (ascii_lower(c[b - n + k].cp) != static_cast<char32_t>(suffix[k])) return false;
  return true;
}

bool starts_with(const std::vector<NormChar>& c, size_t a, size_t b, const char* prefix) {
  size_t n = 0;
  while (prefix[n]) ++n;
  if (b - a < n) return false;
  for (size_t k = 0; k < n; ++k)
    if (c[a + k].cp != static_cast<char32_t>(prefix[k])) return false;
  return true;
}

std::string utf8_of(const std::vector<NormChar>& c, size_t a, size_t b) {
  std::string s;
  for (size_t k = a; k < b; ++k) unicode::append_utf8(c[k].cp, s);
  return s;
}

// A piece of a chunk: chars [a, b) and the vocabulary form it looks up.
struct Piece {
  size_t a, b;
  std::string form;
};

}  // namespace

void WordLevelTokenizer::emit(const std::vector<NormChar>& chars, size_t a, size_t b, const std::string& form,
                              std::vector<RawToken>& out, std::vector<Span>& words) const {
  int32_t id = token_to_id(form);
  std::string tok = form;
  if (id < 0 && !collect_forms) {
    if (special_.unk_id < 0) throw Error(source_ + ": a word is not in the vocabulary and there is no <unk> token");
    id = special_.unk_id;
    tok = special_.unk;
  }
  const Span span{chars[a].begin, chars[b - 1].end};
  out.push_back(RawToken{id, std::move(tok), span, static_cast<int32_t>(words.size())});
  words.push_back(span);
}

void WordLevelTokenizer::split_chunk(const std::vector<NormChar>& c, std::vector<RawToken>& out,
                                     std::vector<Span>& words) const {
  size_t a = 0, b = c.size();
  // Vocabulary words are short; the cap keeps a long run of punctuation
  // (peeled one character at a time) from costing quadratic time.
  auto known = [&](size_t x, size_t y) { return x < y && y - x <= 64 && vocab_.count(utf8_of(c, x, y)) != 0; };
  // The vocabulary's form for a bracket or quote when it has one.
  auto mapped = [&](const char* ptb, const std::string& raw) { return vocab_.count(ptb) ? std::string(ptb) : raw; };

  std::vector<Piece> head, tail;
  // Opening punctuation.
  while (a < b && !known(a, b)) {
    const char32_t ch = c[a].cp;
    if (is_alnum(ch)) break;
    if (starts_with(c, a, b, "``") || starts_with(c, a, b, "...") || starts_with(c, a, b, "--")) {
      const size_t n = c[a].cp == '`' || c[a].cp == '-' ? 2 : 3;
      head.push_back({a, a + n, utf8_of(c, a, a + n)});
      a += n;
      continue;
    }
    std::string form = utf8_of(c, a, a + 1);
    if (ch == '"' || ch == 0x201C) form = mapped("``", "\"");
    else if (ch == 0x2018) form = "`";
    else if (ch == '(') form = mapped("-lrb-", form);
    else if (ch == '[') form = mapped("-lsb-", form);
    else if (ch == '{') form = mapped("-lcb-", form);
    head.push_back({a, a + 1, form});
    ++a;
  }
  // Closing punctuation, peeled from the end.
  while (a < b && !known(a, b)) {
    const char32_t ch = c[b - 1].cp;
    if (is_alnum(ch)) break;
    if (ends_with(c, a, b, "''") || ends_with(c, a, b, "...") || ends_with(c, a, b, "--")) {
      const size_t n = ch == '.' ? 3 : 2;
      tail.push_back({b - n, b, utf8_of(c, b - n, b)});
      b -= n;
      continue;
    }
    std::string form = utf8_of(c, b - 1, b);
    if (ch == '"' || ch == 0x201D) form = mapped("''", "\"");
    else if (ch == ')') form = mapped("-rrb-", form);
    else if (ch == ']') form = mapped("-rsb-", form);
    else if (ch == '}') form = mapped("-rcb-", form);
    tail.push_back({b - 1, b, form});
    --b;
  }
  for (const Piece& p : head) emit(c, p.a, p.b, p.form, out, words);

  if (a < b) {
    if (known(a, b)) {
      emit(c, a, b, utf8_of(c, a, b), out, words);
    } else {
      // Contractions as the treebank splits them: "don't" -> "do" "n't",
      // "can't" -> "ca" "n't", "it's" -> "it" "'s".
      size_t core_end = b;
      if (ends_with(c, a, b, "n't") && b - a > 3) {
        core_end = b - 3;
      } else {
        for (const char* s : {"'s", "'re", "'ve", "'ll", "'d", "'m"}) {
          size_t n = 0;
          while (s[n]) ++n;
          if (b - a > n && ends_with(c, a, b, s)) {
            core_end = b - n;
            break;
          }
        }
      }
      // The rest: runs of word characters, joined by joiners between two
      // word characters (a comma only between digits); every other
      // character is a token of its own ("..." and "--" stay together).
      auto is_digit = [](char32_t x) { return x >= '0' && x <= '9'; };
      size_t i = a;
      while (i < core_end) {
        if (!is_alnum(c[i].cp)) {
          size_t n = 1;
          if (starts_with(c, i, core_end, "...")) n = 3;
          else if (starts_with(c, i, core_end, "--")) n = 2;
          emit(c, i, i + n, utf8_of(c, i, i + n), out, words);
          i += n;
          continue;
        }
        size_t j = i + 1;
        while (j < core_end) {
          if (is_alnum(c[j].cp)) {
            ++j;
          } else if (j + 1 < core_end && is_joiner(c[j].cp) && is_alnum(c[j + 1].cp) &&
                     !(c[j].cp == ',' && !(is_digit(c[j - 1].cp) && is_digit(c[j + 1].cp)))) {
            j += 2;
          } else {
            break;
          }
        }
        // An unknown hyphenated compound falls back to its parts, which the
        // vocabulary is far more likely to know.
        bool split = false;
        if (!known(i, j) && !collect_forms) {
          for (size_t k = i; k < j; ++k)
            if (c[k].cp == '-') split = true;
        }
        if (split) {
          size_t s = i;
          for (size_t k = i; k <= j; ++k) {
            if (k == j || c[k].cp == '-') {
              if (k > s) emit(c, s, k, utf8_of(c, s, k), out, words);
              if (k < j) emit(c, k, k + 1, "-", out, words);
              s = k + 1;
            }
          }
        } else {
          emit(c, i, j, utf8_of(c, i, j), out, words);
        }
        i = j;
      }
      if (core_end < b) emit(c, core_end, b, utf8_of(c, core_end, b), out, words);
    }
  }
  for (size_t k = tail.size(); k-- > 0;) emit(c, tail[k].a, tail[k].b, tail[k].form, out, words);
}

void WordLevelTokenizer::tokenize_segment(const std::string& text, size_t begin, size_t end,
                                          std::vector<RawToken>& out, std::vector<Span>& words) const {
  std::vector<NormChar> chunk;
  std::u32string low;
  for (size_t i = begin; i <= end;) {
    const bool at_end = i == end;
    unicode::Decoded d{' ', 1};
    if (!at_end) d = unicode::decode_utf8(text.data(), end, i);
    if (at_end || unicode::is_white_space(d.cp)) {
      if (!chunk.empty()) split_chunk(chunk, out, words);
      chunk.clear();
      if (at_end) break;
      i += d.len;
      continue;
    }
    char32_t cp = d.cp;
    // Typographic apostrophes as the ASCII one the data uses.
    if (cp == 0x2019 || cp == 0x02BC) cp = '\'';
    // Control and format characters (zero-width space, soft hyphen) carry
    // nothing and would only make a word unknown.
    if (unicode::char_class(cp) == unicode::kOther && cp != 0xFFFD) {
      i += d.len;
      continue;
    }
    low.clear();
    if (opt_.lowercase) {
      unicode::append_lower(cp, low);
    } else {
      low += cp;
    }
    for (char32_t c : low) chunk.push_back(NormChar{c, i, i + d.len});
    i += d.len;
  }
}

std::vector<std::string> word_level_forms(const std::string& text, bool lowercase) {
  // Only the treebank's forms for brackets and quotes are known, so every
  // chunk is split as for an unknown word, except that compounds stay whole.
  static const char* const kVocab = "<pad>\n<unk>\n-lrb-\n-rrb-\n-lsb-\n-rsb-\n-lcb-\n-rcb-\n``\n''\n";
  WordLevelOptions o;
  o.lowercase = lowercase;
  std::unique_ptr<Tokenizer> base = make_word_level_from_vocab(kVocab, o, "word_level_forms");
  auto* t = static_cast<WordLevelTokenizer*>(base.get());
  t->collect_forms = true;
  EncodeOptions eo;
  eo.add_special_tokens = false;
  eo.max_length = 0;
  Encoding e = t->encode(text, eo);
  return std::move(e.tokens);
}

}  // namespace wordlight
