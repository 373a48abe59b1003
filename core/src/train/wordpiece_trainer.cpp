// Learning a WordPiece vocabulary (pretrain.h): words counted after the
// BERT tokenizer's own normalisation and pre-tokenisation, then BPE merges
// over characters with "##" continuation pieces, as Hugging Face's
// WordPieceTrainer learns them (it wraps its BpeTrainer).
//
// Merge score: the pair's frequency, not the likelihood score
// freq(ab) / (freq(a) freq(b)) of Google's original WordPiece. Frequency is
// what the Hugging Face trainer uses, so a vocabulary here is learned the
// way BERT vocabularies commonly are nowadays; and with a small vocabulary
// (8000 pieces) it spends the pieces on frequent words and affixes, while
// the likelihood score favours pairs that occur almost only together,
// i.e. rare words spelled out whole.
//
// Speed: pair counts are kept up to date incrementally. Each merge visits
// only the words holding the merged pair (an index pair -> words) and
// changes the counts of the pairs around it; the best pair comes from a
// max-heap with lazy deletion (an entry whose count is stale is re-pushed
// with the current count when it reaches the top).
#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "../io/tokenizer_impl.h"
#include "../io/unicode.h"
#include "wordlight/error.h"
#include "wordlight/pretrain.h"

namespace wordlight {

const std::vector<std::string>& bert_special_tokens() {
  static const std::vector<std::string> t = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  return t;
}

void count_bert_words(const std::vector<std::string>& texts, bool lowercase,
                      std::unordered_map<std::string, int64_t>* counts) {
  WordPieceOptions o;
  o.lowercase = lowercase;
  std::string word;
  for (const std::string& text : texts) {
    bert_pre_tokenize(o, text, 0, text.size(), [&](const std::vector<NormChar>& chars) {
      word.clear();
      for (const NormChar& c : chars) unicode::append_utf8(c.cp, word);
      ++(*counts)[word];
    });
  }
}

namespace {

constexpr char kPrefix[] = "##";

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
int32_t pair_left(uint64_t k) { return static_cast<int32_t>(k >> 32); }
int32_t pair_right(uint64_t k) { return static_cast<int32_t>(k & 0xffffffffu); }

// The code points of a UTF-8 word (already valid: it was built by
// append_utf8).
std::vector<char32_t> code_points(const std::string& w) {
  std::vector<char32_t> cps;
  for (size_t i = 0; i < w.size();) {
    const unicode::Decoded d = unicode::decode_utf8(w.data(), w.size(), i);
    cps.push_back(d.cp);
    i += d.len;
  }
  return cps;
}

// The state of the merge loop: symbols (pieces, interned), the words as
// symbol sequences with their counts, pair counts and where pairs occur.
class Merger {
 public:
  Merger() = default;
  Merger(const Merger&) = delete;  // the heap's order refers to this object
  Merger& operator=(const Merger&) = delete;

  // The id of a piece, interning it.
  int32_t symbol(const std::string& s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const int32_t id = static_cast<int32_t>(strings_.size());
    strings_.push_back(s);
    ids_.emplace(s, id);
    return id;
  }
  const std::string& str(int32_t id) const { return strings_[static_cast<size_t>(id)]; }

  void add_word(std::vector<int32_t> syms, int64_t count) {
    const uint32_t w = static_cast<uint32_t>(words_.size());
    for (size_t i = 0; i + 1 < syms.size(); ++i) {
      const uint64_t k = pair_key(syms[i], syms[i + 1]);
      pairs_[k] += count;
      auto& list = where_[k];
      if (list.empty() || list.back() != w) list.push_back(w);
    }
    words_.push_back(std::move(syms));
    counts_.push_back(count);
  }

  // Runs merges until `room` new pieces were added to *tokens or no pair is
  // seen min_frequency times; returns the number of merges.
  size_t run(size_t room, int64_t min_frequency, std::vector<std::string>* tokens,
             std::unordered_set<std::string>* in_vocab) {
    for (const auto& [k, c] : pairs_) heap_.push({c, k});
    size_t merges = 0, added = 0;
    std::unordered_map<uint64_t, int64_t> delta;
    while (added < room && !heap_.empty()) {
      const Entry top = heap_.top();
      heap_.pop();
      const auto it = pairs_.find(top.key);
      const int64_t current = it == pairs_.end() ? 0 : it->second;
      if (current != top.count) {  // stale: re-queue with the current count
        if (current > 0) heap_.push({current, top.key});
        continue;
      }
      if (current < min_frequency) break;
      const int32_t a = pair_left(top.key), b = pair_right(top.key);
      const std::string& right = str(b);
      const std::string merged =
          str(a) + (right.compare(0, 2, kPrefix) == 0 ? right.substr(2) : right);
      const int32_t m = symbol(merged);
      ++merges;
      if (in_vocab->insert(merged).second) {
        tokens->push_back(merged);
        ++added;
      }
      apply_merge(top.key, a, b, m, &delta);
    }
    return merges;
  }

 private:
  struct Entry {
    int64_t count;
    uint64_t key;
  };
  // Max-heap order: the larger count first; on a tie the pair whose
  // strings come first in byte order (deterministic on every platform).
  struct Lower {
    const Merger* m;
    bool operator()(const Entry& x, const Entry& y) const {
      if (x.count != y.count) return x.count < y.count;
      const int c = m->str(pair_left(x.key)).compare(m->str(pair_left(y.key)));
      if (c != 0) return c > 0;
      return m->str(pair_right(x.key)) > m->str(pair_right(y.key));
    }
  };

  // Replaces (a, b) by m in every word holding it, updating the pair counts
  // by the difference before / after in each changed word.
  void apply_merge(uint64_t key, int32_t a, int32_t b, int32_t m, std::unordered_map<uint64_t, int64_t>* delta) {
    std::vector<uint32_t> list = std::move(where_[key]);
    where_.erase(key);
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    delta->clear();
    std::vector<int32_t> merged;
    for (const uint32_t w : list) {
      std::vector<int32_t>& syms = words_[w];
      const int64_t c = counts_[w];
      merged.clear();
      bool changed = false;
      for (size_t i = 0; i < syms.size();) {
        if (i + 1 < syms.size() && syms[i] == a && syms[i + 1] == b) {
          merged.push_back(m);
          i += 2;
          changed = true;
        } else {
          merged.push_back(syms[i]);
          ++i;
        }
      }
      if (!changed) continue;  // a stale entry of the index
      for (size_t i = 0; i + 1 < syms.size(); ++i) (*delta)[pair_key(syms[i], syms[i + 1])] -= c;
      for (size_t i = 0; i + 1 < merged.size(); ++i) {
        const uint64_t k = pair_key(merged[i], merged[i + 1]);
        (*delta)[k] += c;
        // Every new pair holds the new symbol: index the word under it.
        if (merged[i] == m || merged[i + 1] == m) {
          auto& l = where_[k];
          if (l.empty() || l.back() != w) l.push_back(w);
        }
      }
      syms.swap(merged);
    }
    for (const auto& [k, d] : *delta) {
      if (d == 0) continue;
      const int64_t now = (pairs_[k] += d);
      if (now <= 0)
        pairs_.erase(k);
      else if (d > 0)
        heap_.push({now, k});  // a raised count must be seen; lowered ones are re-queued lazily
    }
  }

  std::vector<std::string> strings_;
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::vector<int32_t>> words_;
  std::vector<int64_t> counts_;
  std::unordered_map<uint64_t, int64_t> pairs_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;
  std::priority_queue<Entry, std::vector<Entry>, Lower> heap_{Lower{this}};
};

}  // namespace

WordPieceVocab learn_wordpiece(const std::unordered_map<std::string, int64_t>& counts,
                               const WordPieceTrainerOptions& o) {
  if (o.vocab_size < 1) throw Error("wordpiece: the vocabulary size must be positive, got " + std::to_string(o.vocab_size));
  if (o.max_input_chars_per_word < 1)
    throw Error("wordpiece: max_input_chars_per_word must be positive, got " + std::to_string(o.max_input_chars_per_word));
  const int64_t min_freq = std::max<int64_t>(1, o.min_frequency);
  WordPieceVocab v;

  // Words in byte order (the hash map's order is not deterministic), as
  // code points; too long ones are left out.
  std::vector<std::pair<std::string, int64_t>> words(counts.begin(), counts.end());
  std::sort(words.begin(), words.end());
  std::vector<std::vector<char32_t>> cps(words.size());
  std::unordered_map<char32_t, int64_t> char_counts;
  for (size_t i = 0; i < words.size(); ++i) {
    cps[i] = code_points(words[i].first);
    if (cps[i].size() > static_cast<size_t>(o.max_input_chars_per_word)) continue;
    for (char32_t c : cps[i]) char_counts[c] += words[i].second;
  }

  // The alphabet: characters seen min_frequency times.
  std::vector<char32_t> alphabet;
  for (const auto& [c, n] : char_counts)
    if (n >= min_freq) alphabet.push_back(c);
  std::sort(alphabet.begin(), alphabet.end());
  v.alphabet = alphabet.size();
  const size_t fixed = bert_special_tokens().size() + 2 * alphabet.size();
  if (static_cast<size_t>(o.vocab_size) < fixed)
    throw Error("wordpiece: a vocabulary of " + std::to_string(o.vocab_size) + " cannot hold the " +
                std::to_string(bert_special_tokens().size()) + " special tokens and the " +
                std::to_string(alphabet.size()) + " characters seen at least " + std::to_string(min_freq) +
                " times (twice each: 'c' and '##c'); raise the vocabulary size or the minimum frequency");

  Merger merger;
  v.tokens = bert_special_tokens();
  std::unordered_set<std::string> in_vocab(v.tokens.begin(), v.tokens.end());
  for (int pass = 0; pass < 2; ++pass) {
    for (char32_t c : alphabet) {
      std::string s = pass == 0 ? "" : kPrefix;
      unicode::append_utf8(c, s);
      merger.symbol(s);
      if (in_vocab.insert(s).second) v.tokens.push_back(s);
    }
  }

  // Words as symbol sequences: the first character plain, the rest "##c".
  std::string s;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::vector<char32_t>& w = cps[i];
    const bool usable = w.size() <= static_cast<size_t>(o.max_input_chars_per_word) &&
                        std::all_of(w.begin(), w.end(), [&](char32_t c) { return char_counts[c] >= min_freq; });
    if (!usable) {
      v.words_skipped += words[i].second;
      continue;
    }
    std::vector<int32_t> syms;
    for (size_t j = 0; j < w.size(); ++j) {
      s.assign(j == 0 ? "" : kPrefix);
      unicode::append_utf8(w[j], s);
      syms.push_back(merger.symbol(s));
    }
    merger.add_word(std::move(syms), words[i].second);
    ++v.words_distinct;
  }

  v.merges = merger.run(static_cast<size_t>(o.vocab_size) - v.tokens.size(), min_freq, &v.tokens, &in_vocab);
  return v;
}

std::string vocab_txt(const WordPieceVocab& v) {
  std::string out;
  for (const std::string& t : v.tokens) {
    out += t;
    out += '\n';
  }
  return out;
}

}  // namespace wordlight
