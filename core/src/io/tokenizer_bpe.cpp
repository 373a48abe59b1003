// Byte-level BPE (GPT-2, RoBERTa), as the Hugging Face ByteLevel
// pre-tokenizer and BPE model run it: optional prefix space, the GPT-2
// regex split, bytes mapped to printable code points, merges applied by
// rank (lowest first, leftmost first among equal ranks), offsets trimmed of
// the leading space that "Ġ" stands for.
#include <algorithm>
#include <queue>

#include "tokenizer_impl.h"
#include "unicode.h"
#include "wordlight/error.h"

namespace wordlight {

const char32_t* byte_to_unicode() {
  // Printable Latin-1 bytes stand for themselves; the other 68 bytes are
  // moved to 256 upwards, in byte order, so no token contains white space
  // or control characters.
  static const struct Table {
    char32_t map[256];
    Table() {
      char32_t next = 256;
      for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        map[b] = printable ? static_cast<char32_t>(b) : next++;
      }
    }
  } table;
  return table.map;
}

std::vector<std::pair<size_t, size_t>> gpt2_split(const std::vector<char32_t>& cps) {
  const size_t n = cps.size();
  auto is_l = [&](size_t i) { return unicode::char_class(cps[i]) == unicode::kLetter; };
  auto is_n = [&](size_t i) { return unicode::char_class(cps[i]) == unicode::kNumber; };
  auto is_s = [&](size_t i) { return unicode::is_white_space(cps[i]); };
  auto is_o = [&](size_t i) { return !is_s(i) && !is_l(i) && !is_n(i); };
  static const char* const kContractions[] = {"s", "t", "re", "ve", "m", "ll", "d"};

  std::vector<std::pair<size_t, size_t>> pieces;
  size_t i = 0;
  while (i < n) {
    // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as in GPT-2)
    if (cps[i] == '\'') {
      size_t matched = 0;
      for (const char* c : kContractions) {
        size_t k = 0;
        while (c[k] && i + 1 + k < n && cps[i + 1 + k] == static_cast<char32_t>(c[k])) ++k;
        if (!c[k]) {
          matched = 1 + k;
          break;
        }
      }
      if (matched) {
        pieces.emplace_back(i, i + matched);
        i += matched;
        continue;
      }
    }
    //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
    const size_t j = (cps[i] == ' ' && i + 1 < n) ? i + 1 : i;
    bool done = false;
    for (int which = 0; which < 3 && !done; ++which) {
      auto in_class = [&](size_t k) { return which == 0 ? is_l(k) : which == 1 ? is_n(k) : is_o(k); };
      if (j < n && in_class(j)) {
        size_t k = j;
        while (k < n && in_class(k)) ++k;
        pieces.emplace_back(i, k);
        i = k;
        done = true;
      }
    }
    if (done) continue;
    // \s+(?!\S) | \s+ : a run of white space, less its last character when a
    // non-space follows (that character then prefixes the next word).
    size_t k = i;
    while (k < n && is_s(k)) ++k;
    if (k < n && k - i > 1) --k;
    pieces.emplace_back(i, k);
    i = k;
  }
  return pieces;
}

void ByteLevelBpeTokenizer::set_merges(const std::vector<std::pair<std::string, std::string>>& merges,
                                       const std::string& source) {
  ranks_.clear();
  ranks_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& m = merges[r];
    if (m.first.empty() || m.second.empty())
      throw Error(source + ": merge " + std::to_string(r + 1) + " has an empty side");
    // The first occurrence of a pair keeps its rank, as in the reference.
    ranks_.emplace(m.first + " " + m.second, static_cast<int>(r));
  }
}

int ByteLevelBpeTokenizer::merge_rank(const std::string& left, const std::string& right) const {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key.append(left).append(1, ' ').append(right);
  auto it = ranks_.find(key);
  return it == ranks_.end() ? -1 : it->second;
}

void ByteLevelBpeTokenizer::tokenize_segment(const std::string& text, size_t begin, size_t end,
                                             std::vector<RawToken>& out, std::vector<Span>& words) const {
  if (begin >= end) return;
  // Code points with their bytes; a prepended space has no bytes.
  std::vector<char32_t> cps;
  std::vector<Span> spans;
  if (opt_.add_prefix_space && text[begin] != ' ') {
    cps.push_back(' ');
    spans.push_back(Span{begin, begin});
  }
  for (size_t i = begin; i < end;) {
    const unicode::Decoded d = unicode::decode_utf8(text.data(), end, i);
    cps.push_back(d.cp);
    spans.push_back(Span{i, i + d.len});
    i += d.len;
  }
  const char32_t* b2u = byte_to_unicode();

  struct Sym {
    std::string s;  // UTF-8 of the mapped code points
    size_t b, e;    // real bytes covered; b == e when none
    int prev, next;
    bool alive;
  };
  for (const auto& piece : gpt2_split(cps)) {
    std::vector<Sym> syms;
    for (size_t c = piece.first; c < piece.second; ++c) {
      const Span sp = spans[c];
      if (sp.empty()) {
        std::string s;
        unicode::append_utf8(b2u[0x20], s);
        syms.push_back(Sym{s, sp.begin, sp.begin, 0, 0, true});
        continue;
      }
      // Each original byte (even of invalid UTF-8) is one symbol. A symbol
      // keeps the bytes of its whole code point: a token holding part of a
      // character points at that character, so every span slices the text
      // at character boundaries (as the reference's character offsets do).
      for (size_t k = sp.begin; k < sp.end; ++k) {
        std::string s;
        unicode::append_utf8(b2u[static_cast<uint8_t>(text[k])], s);
        syms.push_back(Sym{s, sp.begin, sp.end, 0, 0, true});
      }
    }
    const int m = static_cast<int>(syms.size());
    for (int k = 0; k < m; ++k) {
      syms[k].prev = k - 1;
      syms[k].next = k + 1 < m ? k + 1 : -1;
    }

    bool whole = false;
    if (opt_.ignore_merges) {
      std::string all;
      for (const Sym& s : syms) all += s.s;
      if (vocab_.count(all)) {
        syms[0].s = all;
        syms[0].e = syms[m - 1].e;
        for (int k = 1; k < m; ++k) syms[k].alive = false;
        syms[0].next = -1;
        whole = true;
      }
    }
    if (!whole) {
      // Min-heap of (rank, left position); stale entries are skipped when
      // popped (a side merged away, or the pair no longer has that rank).
      using Item = std::pair<int, int>;
      std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
      for (int k = 0; k + 1 < m; ++k) {
        const int r = merge_rank(syms[k].s, syms[k + 1].s);
        if (r >= 0) heap.emplace(r, k);
      }
      while (!heap.empty()) {
        const Item top = heap.top();
        heap.pop();
        Sym& a = syms[top.second];
        if (!a.alive || a.next < 0) continue;
        Sym& b = syms[a.next];
        if (merge_rank(a.s, b.s) != top.first) continue;
        a.s += b.s;
        if (a.b == a.e) a.b = b.b;
        if (b.b != b.e) a.e = std::max(a.e, b.e);
        b.alive = false;
        a.next = b.next;
        if (b.next >= 0) syms[b.next].prev = top.second;
        if (a.prev >= 0) {
          const int r = merge_rank(syms[a.prev].s, a.s);
          if (r >= 0) heap.emplace(r, a.prev);
        }
        if (a.next >= 0) {
          const int r = merge_rank(a.s, syms[a.next].s);
          if (r >= 0) heap.emplace(r, top.second);
        }
      }
    }

    // The word: the piece's bytes, less the leading spaces "Ġ" stands for.
    Span word{spans[piece.first].begin, spans[piece.second - 1].end};
    if (opt_.trim_offsets) {
      size_t wb = word.begin;
      while (wb < word.end && text[wb] == ' ') ++wb;
      if (wb < word.end) word.begin = wb;
    }
    const int32_t word_index = static_cast<int32_t>(words.size());
    words.push_back(word);

    for (int k = 0; k >= 0 && k < m; k = syms[k].next) {
      const Sym& s = syms[k];
      auto it = vocab_.find(s.s);
      int32_t id;
      std::string tok = s.s;
      if (it != vocab_.end()) {
        id = it->second;
      } else if (special_.unk_id >= 0) {
        id = special_.unk_id;
        tok = special_.unk;
      } else {
        throw Error(source_ + ": the symbol '" + s.s + "' is not in the vocabulary and there is no unknown token");
      }
      Span sp{s.b, s.e};
      if (sp.empty()) sp = Span{word.begin, word.begin};
      if (opt_.trim_offsets) {
        while (sp.begin < sp.end && text[sp.begin] == ' ') ++sp.begin;
        while (sp.end > sp.begin && text[sp.end - 1] == ' ') --sp.end;
      }
      out.push_back(RawToken{id, std::move(tok), sp, word_index});
    }
  }
}

}  // namespace wordlight
