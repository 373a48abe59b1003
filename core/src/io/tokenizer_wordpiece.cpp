// BERT's WordPiece, as the Hugging Face fast tokenizer runs it:
//   BertNormalizer: clean text (drop NUL, U+FFFD and control/format
//     characters, white space -> ' '), put spaces around CJK ideographs,
//     strip accents (NFD, drop Mn), lower-case -- each per character;
//   BertPreTokenizer: split on white space, each punctuation character its
//     own word;
//   WordPiece: greedy longest match first, "##" on continuation pieces, a
//     word longer than max_input_chars_per_word or with an unmatched rest is
//     one [UNK].
// Every normalised character remembers the original bytes it came from, so
// pieces map back to the text.
#include <algorithm>

#include "tokenizer_impl.h"
#include "unicode.h"
#include "wordlight/error.h"

namespace wordlight {

namespace {

bool is_control_for_clean(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return unicode::char_class(cp) == unicode::kOther;
}

}  // namespace

void bert_pre_tokenize(const WordPieceOptions& opt, const std::string& text, size_t begin, size_t end,
                       const std::function<void(const std::vector<NormChar>&)>& on_word) {
  const bool strip = opt.strip_accents < 0 ? opt.lowercase : opt.strip_accents == 1;
  std::vector<NormChar> norm;
  std::u32string tmp, tmp2;
  for (size_t i = begin; i < end;) {
    const unicode::Decoded d = unicode::decode_utf8(text.data(), end, i);
    const size_t b = i, e = i + d.len;
    i = e;
    char32_t cp = d.cp;
    if (opt.clean_text) {
      if (cp == 0 || cp == 0xFFFD || is_control_for_clean(cp)) continue;
      if (unicode::is_white_space(cp)) cp = ' ';
    }
    // CJK ideographs are padded with spaces first and then normalised like
    // everything else (NFD maps the compatibility ideographs to unified ones).
    const bool cjk = opt.handle_chinese_chars && unicode::is_cjk_ideograph(cp);
    if (cjk) norm.push_back({' ', b, e});
    tmp.clear();
    if (strip) {
      unicode::append_stripped(cp, tmp);
    } else {
      tmp += cp;
    }
    if (opt.lowercase) {
      tmp2.clear();
      for (char32_t c : tmp) unicode::append_lower(c, tmp2);
      tmp.swap(tmp2);
    }
    for (char32_t c : tmp) norm.push_back({c, b, e});
    if (cjk) norm.push_back({' ', b, e});
  }

  // Pre-tokenize: split on white space, each punctuation character a word.
  std::vector<NormChar> word;
  auto flush = [&]() {
    if (word.empty()) return;
    on_word(word);
    word.clear();
  };
  for (const NormChar& c : norm) {
    if (unicode::is_white_space(c.cp)) {
      flush();
    } else if (unicode::is_bert_punctuation(c.cp)) {
      flush();
      word.push_back(c);
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
}

void WordPieceTokenizer::tokenize_segment(const std::string& text, size_t begin, size_t end,
                                          std::vector<RawToken>& out, std::vector<Span>& words) const {
  bert_pre_tokenize(opt_, text, begin, end, [&](const std::vector<NormChar>& word) {
    const int32_t index = static_cast<int32_t>(words.size());
    words.push_back(Span{word.front().begin, word.back().end});
    word_pieces(word, out, index);
  });
}

void WordPieceTokenizer::word_pieces(const std::vector<NormChar>& word, std::vector<RawToken>& out,
                                     int32_t word_index) const {
  const Span whole{word.front().begin, word.back().end};
  auto unknown = [&]() {
    if (special_.unk_id < 0)
      throw Error(source_ + ": a word is not in the vocabulary and there is no unknown token '" + special_.unk + "'");
    out.push_back(RawToken{special_.unk_id, special_.unk, whole, word_index});
  };
  if (word.size() > static_cast<size_t>(opt_.max_input_chars_per_word)) {
    unknown();
    return;
  }
  // UTF-8 of the word with the byte position of each character, so every
  // candidate piece is a substring.
  std::string utf8;
  std::vector<size_t> pos;
  for (const NormChar& c : word) {
    pos.push_back(utf8.size());
    unicode::append_utf8(c.cp, utf8);
  }
  pos.push_back(utf8.size());

  const size_t first_new = out.size();
  size_t start = 0;
  std::string candidate;
  while (start < word.size()) {
    size_t stop = word.size();
    int32_t found = -1;
    for (; stop > start; --stop) {
      candidate.assign(start > 0 ? opt_.continuing_subword_prefix : std::string());
      candidate.append(utf8, pos[start], pos[stop] - pos[start]);
      auto it = vocab_.find(candidate);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      out.resize(first_new);
      unknown();
      return;
    }
    out.push_back(RawToken{found, candidate, Span{word[start].begin, word[stop - 1].end}, word_index});
    start = stop;
  }
}

}  // namespace wordlight
