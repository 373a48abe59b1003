#pragma once
// The tokenizer implementations (internal to core/src/io); the public
// builders in tokenizer.h construct them.
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "wordlight/tokenizer.h"

namespace wordlight {

// One code point of a normalised text with the bytes of the original text
// it came from (several normalised code points may share one source).
struct NormChar {
  char32_t cp;
  size_t begin, end;
};

class WordPieceTokenizer : public Tokenizer {
 public:
  explicit WordPieceTokenizer(WordPieceOptions o) : opt_(std::move(o)) {}
  std::string kind() const override { return "wordpiece"; }
  const WordPieceOptions& options() const { return opt_; }

 protected:
  void tokenize_segment(const std::string& text, size_t begin, size_t end, std::vector<RawToken>& out,
                        std::vector<Span>& words) const override;

 private:
  void word_pieces(const std::vector<NormChar>& word, std::vector<RawToken>& out, int32_t word_index) const;
  WordPieceOptions opt_;
};

class ByteLevelBpeTokenizer : public Tokenizer {
 public:
  explicit ByteLevelBpeTokenizer(ByteLevelBpeOptions o) : opt_(o) {}
  std::string kind() const override { return "bpe"; }
  const ByteLevelBpeOptions& options() const { return opt_; }
  // Merges in rank order, each "left right" with the two symbols in the
  // byte-to-unicode alphabet. `source` names the file for errors.
  void set_merges(const std::vector<std::pair<std::string, std::string>>& merges, const std::string& source);
  void set_unk_token(const std::string& unk) { unk_token_ = unk; }

 protected:
  void tokenize_segment(const std::string& text, size_t begin, size_t end, std::vector<RawToken>& out,
                        std::vector<Span>& words) const override;

 private:
  int merge_rank(const std::string& left, const std::string& right) const;
  ByteLevelBpeOptions opt_;
  std::unordered_map<std::string, int> ranks_;  // "left right" -> rank
  std::string unk_token_;
};

class WordLevelTokenizer : public Tokenizer {
 public:
  explicit WordLevelTokenizer(WordLevelOptions o) : opt_(o) {}
  std::string kind() const override { return "word"; }
  // Vocabulary building (word_level_forms): every token keeps the form it
  // looked up instead of becoming <unk>, and unknown hyphenated compounds
  // stay whole.
  bool collect_forms = false;

 protected:
  void tokenize_segment(const std::string& text, size_t begin, size_t end, std::vector<RawToken>& out,
                        std::vector<Span>& words) const override;

 private:
  void emit(const std::vector<NormChar>& chars, size_t a, size_t b, const std::string& form, std::vector<RawToken>& out,
            std::vector<Span>& words) const;
  void split_chunk(const std::vector<NormChar>& chunk, std::vector<RawToken>& out, std::vector<Span>& words) const;
  WordLevelOptions opt_;
};

// BertNormalizer + BertPreTokenizer (what WordPieceTokenizer runs before
// WordPiece) over text[begin, end): calls on_word with the normalised
// characters of each word, in order. Also used to count words for a new
// WordPiece vocabulary (core/src/train/wordpiece_trainer.cpp).
void bert_pre_tokenize(const WordPieceOptions& opt, const std::string& text, size_t begin, size_t end,
                       const std::function<void(const std::vector<NormChar>&)>& on_word);

// GPT-2's pre-tokenisation regex, by hand:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Returns the [begin, end) index ranges into `cps` of the pieces.
std::vector<std::pair<size_t, size_t>> gpt2_split(const std::vector<char32_t>& cps);

// GPT-2's byte-to-unicode table: the code point standing for each byte.
const char32_t* byte_to_unicode();

}  // namespace wordlight
