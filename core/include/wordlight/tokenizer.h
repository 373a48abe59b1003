#pragma once
// Tokenizers that keep track of where every token came from in the user's
// text, so explanations can be drawn back onto what the user typed.
//
//   WordPiece       BERT, DistilBERT: vocab.txt (+ tokenizer_config.json) or
//                   tokenizer.json. Behaves as the Hugging Face fast
//                   tokenizer (BertNormalizer + BertPreTokenizer + WordPiece).
//   Byte-level BPE  RoBERTa (GPT-2 style): vocab.json + merges.txt or
//                   tokenizer.json.
//   Word-level      our CNN and BiLSTM: a vocab.txt of words, one per line,
//                   line 0 "<pad>", line 1 "<unk>"; lower-cased, split like
//                   the Penn Treebank tokenisation of the SST data
//                   ("it's" -> "it" "'s", "don't" -> "do" "n't").
//
// Text is UTF-8 and all offsets are byte offsets into it. Invalid UTF-8
// bytes are read as U+FFFD, one byte each, so offsets stay exact.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wordlight {

struct ModelConfig;

// [begin, end) bytes into the text. Special tokens and padding have
// begin == end == 0.
struct Span {
  size_t begin = 0, end = 0;
  bool empty() const { return begin == end; }
};

struct EncodeOptions {
  bool add_special_tokens = true;  // [CLS] ... [SEP] or <s> ... </s>
  // Longest encoding in tokens, special tokens included. -1: the model's own
  // maximum (Tokenizer::model_max_length); 0: no limit. Longer texts are
  // truncated at the end, and the Encoding says so.
  int max_length = -1;
  // Pad with the pad token (on the right) up to this many tokens; 0: no
  // padding. Never truncates.
  int pad_to = 0;
};

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;  // vocabulary strings ("##ing", "Ġworld")
  std::vector<Span> offsets;        // into the text; empty for special tokens and padding
  // Index into `words` per token; -1 for special tokens and padding.
  std::vector<int32_t> word_ids;
  // 1 where the tokenizer inserted the token (special tokens, padding); a
  // special token the user typed ("[MASK]") counts as text and has 0.
  std::vector<uint8_t> special_mask;
  std::vector<uint8_t> attention_mask;  // 0 for padding
  // Words as the pre-tokenizer splits the text (on white space and, for
  // WordPiece, on each punctuation character), only those with at least
  // one token in the encoding.
  std::vector<Span> words;
  // Truncation is never silent: when the text did not fit, `truncated` is
  // set, `num_dropped` counts the text tokens that were cut, `kept_bytes` is
  // where the dropped part of the text starts, and `notice` says it in words.
  bool truncated = false;
  size_t num_dropped = 0;
  size_t kept_bytes = 0;  // == text size when nothing was dropped
  std::string notice;

  size_t size() const { return ids.size(); }
};

// A token from the text, before special tokens, truncation and padding.
struct RawToken {
  int32_t id = 0;
  std::string token;
  Span span;
  int32_t word = -1;
};

// Special tokens the tokenizer adds around a single sequence, and the pad
// and unknown tokens. Ids are -1 where the vocabulary has no such token.
struct SpecialTokens {
  std::vector<std::string> prefix;  // e.g. {"[CLS]"}
  std::vector<int32_t> prefix_ids;
  std::vector<std::string> suffix;  // e.g. {"[SEP]"}
  std::vector<int32_t> suffix_ids;
  std::string pad = "[PAD]", unk = "[UNK]", mask = "[MASK]";
  int32_t pad_id = -1, unk_id = -1, mask_id = -1;
};

// A token matched literally in the text before normalisation (Hugging
// Face's added tokens, e.g. "[MASK]" or "<mask>" typed by the user).
struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool lstrip = false, rstrip = false;  // absorb white space on that side
  bool single_word = false;             // only when not inside a word
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // "wordpiece", "bpe" or "word".
  virtual std::string kind() const = 0;

  Encoding encode(const std::string& text, const EncodeOptions& options = {}) const;
  // Tokens of the text alone (no special tokens, no truncation), plus the
  // words they point into.
  std::vector<RawToken> tokenize(const std::string& text, std::vector<Span>* words = nullptr) const;

  int32_t token_to_id(const std::string& token) const;  // -1 when absent
  const std::string& id_to_token(int32_t id) const;     // throws Error when out of range
  // One past the largest id (ids of added tokens included).
  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }

  const SpecialTokens& special_tokens() const { return special_; }
  // The model's longest input in tokens, special tokens included (0: none).
  int model_max_length() const { return model_max_length_; }
  void set_model_max_length(int n) { model_max_length_ = n; }
  // Where the tokenizer was read from ("dir/tokenizer.json"), for messages.
  const std::string& source() const { return source_; }

  // Construction helpers used by the loaders.
  void set_vocab(std::map<std::string, int32_t> vocab, const std::string& source);
  void set_special_tokens(SpecialTokens s) { special_ = std::move(s); }
  void set_added_tokens(std::vector<AddedToken> t) { added_ = std::move(t); }
  const std::vector<AddedToken>& added_tokens() const { return added_; }

 protected:
  // Tokenizes one stretch of text without added tokens, [begin, end) of
  // `text`; spans are absolute; new words are appended to `words` and
  // tokens refer to them by index.
  virtual void tokenize_segment(const std::string& text, size_t begin, size_t end, std::vector<RawToken>& out,
                                std::vector<Span>& words) const = 0;

  std::map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  SpecialTokens special_;
  std::vector<AddedToken> added_;
  int model_max_length_ = 0;
  std::string source_;
};

// BertNormalizer options (tokenizer.json) / BertTokenizer arguments
// (tokenizer_config.json).
struct WordPieceOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool lowercase = true;
  int strip_accents = -1;  // -1: follow lowercase (Hugging Face's None), 0: no, 1: yes
  std::string continuing_subword_prefix = "##";
  int max_input_chars_per_word = 100;
};

struct ByteLevelBpeOptions {
  bool add_prefix_space = false;
  bool trim_offsets = true;    // offsets leave out the leading space of "Ġword"
  bool ignore_merges = false;  // take a whole word from the vocabulary first
};

struct WordLevelOptions {
  bool lowercase = true;
};

// Builders from the individual files (contents, not paths). `source` names
// the file in errors.
std::unique_ptr<Tokenizer> make_wordpiece_from_vocab_txt(const std::string& vocab_txt, const WordPieceOptions& o,
                                                         const std::string& source = "vocab.txt");
std::unique_ptr<Tokenizer> make_bpe_from_files(const std::string& vocab_json, const std::string& merges_txt,
                                               const ByteLevelBpeOptions& o, const std::string& vocab_source = "vocab.json",
                                               const std::string& merges_source = "merges.txt");
std::unique_ptr<Tokenizer> make_word_level_from_vocab(const std::string& vocab_txt, const WordLevelOptions& o,
                                                      const std::string& source = "vocab.txt");
// The words a word-level tokenizer (make_word_level_from_vocab) would look
// up in `text`, before any vocabulary is known: what a vocabulary for it is
// counted from. Chunks are split as for unknown words (punctuation peeled,
// clitics split off), but hyphenated compounds stay whole.
std::vector<std::string> word_level_forms(const std::string& text, bool lowercase = true);

// A Hugging Face tokenizer.json with a WordPiece or BPE model.
std::unique_ptr<Tokenizer> make_tokenizer_from_json(const std::string& tokenizer_json,
                                                    const std::string& source = "tokenizer.json");

// A model directory's files: file name -> contents. The wasm build fills it
// from ArrayBuffers; read_tokenizer_files fills it from a directory.
using ModelFiles = std::map<std::string, std::string>;

// The tokenizer files of a model directory, in the order they are looked
// for: tokenizer.json, tokenizer_config.json, vocab.txt, vocab.json,
// merges.txt, special_tokens_map.json.
const std::vector<std::string>& tokenizer_file_names();
// Reads those of tokenizer_file_names() that exist in `dir`.
ModelFiles read_tokenizer_files(const std::string& dir);

// Picks the tokenizer for a model: tokenizer.json when present, else by the
// config's family: vocab.txt (WordPiece) for BERT and DistilBERT, vocab.json
// + merges.txt for RoBERTa, vocab.txt (words) for ours. tokenizer_config.json
// refines the vocab.txt / vocab.json routes (do_lower_case, strip_accents,
// tokenize_chinese_chars, add_prefix_space, special tokens). The maximum
// length is the config's (capped by tokenizer_config.json's
// model_max_length when smaller). Throws Error naming `dir_name` and the
// files looked for when none is there, and checks every token id against
// the config's vocab_size.
std::unique_ptr<Tokenizer> load_tokenizer(const ModelFiles& files, const ModelConfig& config,
                                          const std::string& dir_name);
std::unique_ptr<Tokenizer> load_tokenizer_dir(const std::string& dir, const ModelConfig& config);

}  // namespace wordlight
