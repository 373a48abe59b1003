// The Tokenizer base: added-token matching, special tokens, truncation and
// padding, shared by the three implementations.
#include "wordlight/tokenizer.h"

#include <algorithm>

#include "tokenizer_impl.h"
#include "unicode.h"
#include "wordlight/error.h"

namespace wordlight {

namespace {

bool is_word_char(char32_t cp) {
  const unicode::CharClass k = unicode::char_class(cp);
  return cp == '_' || k == unicode::kLetter || k == unicode::kNumber || k == unicode::kMarkNonspacing ||
         k == unicode::kMarkOther;
}

// The code point that ends just before byte `i` (i > 0).
unicode::Decoded decode_before(const std::string& text, size_t i) {
  size_t start = i - 1;
  // Walk back over at most three continuation bytes to the lead byte.
  while (start > 0 && i - start < 4 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  unicode::Decoded d = unicode::decode_utf8(text.data(), text.size(), start);
  if (start + d.len != i) return {0xFFFD, 1};  // the byte before is not the end of a valid sequence
  return d;
}

}  // namespace

void Tokenizer::set_vocab(std::map<std::string, int32_t> vocab, const std::string& source) {
  source_ = source;
  int32_t max_id = -1;
  for (const auto& kv : vocab) {
    if (kv.second < 0) throw Error(source + ": token '" + kv.first + "' has a negative id");
    max_id = std::max(max_id, kv.second);
  }
  // Ids index a dense table; a sparse vocabulary with a huge id would make
  // that table absurd, so refuse ids far beyond the number of tokens.
  if (static_cast<int64_t>(max_id) >= 16 * static_cast<int64_t>(vocab.size()) + 1024)
    throw Error(source + ": token ids go up to " + std::to_string(max_id) + " for " + std::to_string(vocab.size()) +
                " tokens");
  id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& kv : vocab) id_to_token_[static_cast<size_t>(kv.second)] = kv.first;
  vocab_ = std::move(vocab);
}

int32_t Tokenizer::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size())
    throw Error(source_ + ": token id " + std::to_string(id) + " is outside the vocabulary (" +
                std::to_string(id_to_token_.size()) + " ids)");
  return id_to_token_[static_cast<size_t>(id)];
}

std::vector<RawToken> Tokenizer::tokenize(const std::string& text, std::vector<Span>* words_out) const {
  std::vector<RawToken> out;
  std::vector<Span> words;
  bool first_bytes[256] = {};
  for (const AddedToken& a : added_)
    if (!a.content.empty()) first_bytes[static_cast<uint8_t>(a.content[0])] = true;

  size_t seg_start = 0, pos = 0;
  while (pos < text.size()) {
    const AddedToken* best = nullptr;
    if (first_bytes[static_cast<uint8_t>(text[pos])]) {
      for (const AddedToken& a : added_) {
        if (a.content.empty() || (best && a.content.size() <= best->content.size())) continue;
        if (text.compare(pos, a.content.size(), a.content) != 0) continue;
        if (a.single_word) {
          const size_t after = pos + a.content.size();
          if (pos > 0 && is_word_char(decode_before(text, pos).cp)) continue;
          if (after < text.size() && is_word_char(unicode::decode_utf8(text.data(), text.size(), after).cp)) continue;
        }
        best = &a;
      }
    }
    if (!best) {
      ++pos;
      continue;
    }
    size_t seg_end = pos;
    if (best->lstrip) {
      while (seg_end > seg_start) {
        const unicode::Decoded d = decode_before(text, seg_end);
        if (!unicode::is_white_space(d.cp) || seg_end - d.len < seg_start) break;
        seg_end -= d.len;
      }
    }
    tokenize_segment(text, seg_start, seg_end, out, words);
    RawToken t;
    t.id = best->id;
    t.token = best->content;
    t.span = {pos, pos + best->content.size()};
    t.word = static_cast<int32_t>(words.size());
    words.push_back(t.span);
    out.push_back(std::move(t));
    pos += best->content.size();
    if (best->rstrip) {
      while (pos < text.size()) {
        const unicode::Decoded d = unicode::decode_utf8(text.data(), text.size(), pos);
        if (!unicode::is_white_space(d.cp)) break;
        pos += d.len;
      }
    }
    seg_start = pos;
  }
  tokenize_segment(text, seg_start, text.size(), out, words);
  if (words_out) *words_out = std::move(words);
  return out;
}

Encoding Tokenizer::encode(const std::string& text, const EncodeOptions& o) const {
  if (o.max_length < -1) throw Error("encode: max_length must be -1 (the model's), 0 (no limit) or positive");
  if (o.pad_to < 0) throw Error("encode: pad_to must not be negative");
  if (o.max_length > 0 && model_max_length_ > 0 && o.max_length > model_max_length_)
    throw Error("encode: max_length " + std::to_string(o.max_length) + " exceeds the model's maximum of " +
                std::to_string(model_max_length_) + " tokens");
  Encoding e;
  std::vector<Span> words;
  std::vector<RawToken> raw = tokenize(text, &words);

  const size_t n_special = o.add_special_tokens ? special_.prefix_ids.size() + special_.suffix_ids.size() : 0;
  const int limit = o.max_length == -1 ? model_max_length_ : o.max_length;
  e.kept_bytes = text.size();
  if (limit > 0) {
    if (static_cast<size_t>(limit) <= n_special)
      throw Error("encode: max_length " + std::to_string(limit) + " leaves no room for text after the " +
                  std::to_string(n_special) + " special tokens");
    const size_t room = static_cast<size_t>(limit) - n_special;
    if (raw.size() > room) {
      e.truncated = true;
      e.num_dropped = raw.size() - room;
      e.kept_bytes = raw[room].span.begin;
      e.notice = "The text is " + std::to_string(raw.size() + n_special) + " tokens long but the model reads at most " +
                 std::to_string(limit) + " (" + std::to_string(n_special) +
                 " of them special tokens): the last " + std::to_string(e.num_dropped) +
                 " tokens, from byte " + std::to_string(e.kept_bytes) + " of the text on, were left out.";
      raw.resize(room);
    }
  }

  auto push_special = [&](const std::string& tok, int32_t id) {
    e.ids.push_back(id);
    e.tokens.push_back(tok);
    e.offsets.push_back(Span{});
    e.word_ids.push_back(-1);
    e.special_mask.push_back(1);
    e.attention_mask.push_back(1);
  };
  if (o.add_special_tokens)
    for (size_t i = 0; i < special_.prefix_ids.size(); ++i) push_special(special_.prefix[i], special_.prefix_ids[i]);
  int32_t last_word = -1;
  for (RawToken& t : raw) {
    e.ids.push_back(t.id);
    e.tokens.push_back(std::move(t.token));
    e.offsets.push_back(t.span);
    e.word_ids.push_back(t.word);
    e.special_mask.push_back(0);
    e.attention_mask.push_back(1);
    last_word = std::max(last_word, t.word);
  }
  if (o.add_special_tokens)
    for (size_t i = 0; i < special_.suffix_ids.size(); ++i) push_special(special_.suffix[i], special_.suffix_ids[i]);
  // Words appear in text order and every word has a token, so the kept
  // words are a prefix of the list.
  words.resize(static_cast<size_t>(last_word + 1));
  e.words = std::move(words);

  if (static_cast<size_t>(o.pad_to) > e.ids.size()) {
    if (special_.pad_id < 0) throw Error(source_ + ": cannot pad: the vocabulary has no pad token");
    while (e.ids.size() < static_cast<size_t>(o.pad_to)) {
      push_special(special_.pad, special_.pad_id);
      e.attention_mask.back() = 0;
    }
  }
  return e;
}

}  // namespace wordlight
