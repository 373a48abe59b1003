// Tokenizers: WordPiece (BERT), byte-level BPE (RoBERTa) and our word-level
// tokenizer on the tiny vocabularies in tests/golden/io/ (written by
// make_fixtures.py). The expected tokens are derived by hand from those
// vocabularies and the Hugging Face rules (BertNormalizer +
// BertPreTokenizer + WordPiece; ByteLevel + BPE + RobertaProcessing).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "check_util.h"
#include "golden_util.h"
#include "wordlight/error.h"
#include "wordlight/model_config.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

std::string golden(const std::string& rel) { return std::string(WORDLIGHT_SOURCE_DIR) + "/tests/golden/io/" + rel; }

using wltest::slurp;

// The text each token's offsets cut out.
std::vector<std::string> surfaces(const std::string& text, const Encoding& e) {
  std::vector<std::string> out;
  for (const Span& s : e.offsets) out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

std::vector<std::string> word_texts(const std::string& text, const Encoding& e) {
  std::vector<std::string> out;
  for (const Span& s : e.words) out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

using Strs = std::vector<std::string>;
using Ids = std::vector<int32_t>;

// Invariants every encoding keeps, whatever the text.
void check_invariants(const std::string& text, const Encoding& e) {
  const size_t n = e.ids.size();
  ASSERT_EQ(e.tokens.size(), n);
  ASSERT_EQ(e.offsets.size(), n);
  ASSERT_EQ(e.word_ids.size(), n);
  ASSERT_EQ(e.special_mask.size(), n);
  ASSERT_EQ(e.attention_mask.size(), n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_LE(e.offsets[i].begin, e.offsets[i].end);
    EXPECT_LE(e.offsets[i].end, text.size());
    if (e.special_mask[i]) {
      EXPECT_EQ(e.word_ids[i], -1);
      EXPECT_TRUE(e.offsets[i].empty());
    } else {
      ASSERT_GE(e.word_ids[i], 0);
      ASSERT_LT(static_cast<size_t>(e.word_ids[i]), e.words.size());
      const Span w = e.words[static_cast<size_t>(e.word_ids[i])];
      // A token lies inside its word (empty spans may sit at its edge).
      EXPECT_LE(w.begin, e.offsets[i].begin + (e.offsets[i].empty() ? 1 : 0));
      EXPECT_GE(w.end + (e.offsets[i].empty() ? 1 : 0), e.offsets[i].end);
    }
  }
}

class BertTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    from_json = make_tokenizer_from_json(slurp(golden("bert_tiny/tokenizer.json")), "bert_tiny/tokenizer.json");
    from_vocab = make_wordpiece_from_vocab_txt(slurp(golden("bert_tiny/vocab.txt")), WordPieceOptions{});
  }
  std::unique_ptr<Tokenizer> from_json, from_vocab;
};

}  // namespace

TEST_F(BertTiny, HelloWorldNaiveCafeBeijingDont) {
  const std::string text = "Hello, World! naïve café 北京 don't";
  for (const Tokenizer* t : {from_json.get(), from_vocab.get()}) {
    const Encoding e = t->encode(text);
    check_invariants(text, e);
    EXPECT_EQ(e.tokens,
              (Strs{"[CLS]", "hello", ",", "world", "!", "na", "##ive", "cafe", "北", "京", "don", "'", "t", "[SEP]"}));
    EXPECT_EQ(e.ids, (Ids{2, 5, 7, 6, 8, 12, 13, 14, 15, 16, 17, 10, 18, 3}));
    EXPECT_EQ(surfaces(text, e),
              (Strs{"", "Hello", ",", "World", "!", "na", "ïve", "café", "北", "京", "don", "'", "t", ""}));
    EXPECT_EQ(e.word_ids, (Ids{-1, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10, -1}));
    EXPECT_EQ(word_texts(text, e), (Strs{"Hello", ",", "World", "!", "naïve", "café", "北", "京", "don", "'", "t"}));
    EXPECT_EQ(e.special_mask, (std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_FALSE(e.truncated);
    EXPECT_EQ(e.kept_bytes, text.size());
  }
}

TEST_F(BertTiny, UnknownWordsSubwordPiecesAndLongWords) {
  const std::string text = "unaffable playing movies zzz";
  const Encoding e = from_json->encode(text);
  EXPECT_EQ(e.tokens, (Strs{"[CLS]", "un", "##aff", "##able", "play", "##ing", "movie", "##s", "[UNK]", "[SEP]"}));
  EXPECT_EQ(surfaces(text, e), (Strs{"", "un", "aff", "able", "play", "ing", "movie", "s", "zzz", ""}));
  EXPECT_EQ(e.word_ids, (Ids{-1, 0, 0, 0, 1, 1, 2, 2, 3, -1}));
  // Greedy longest match: a word that cannot be finished is one [UNK].
  EXPECT_EQ(from_json->encode("unx", {false}).tokens, (Strs{"[UNK]"}));
  // max_input_chars_per_word = 100: a word of 100 characters is split,
  // one of 101 is [UNK].
  const Encoding a100 = from_json->encode(std::string(100, 'a'), {false});
  EXPECT_EQ(a100.size(), 100u);
  EXPECT_EQ(a100.tokens[1], "##a");
  const Encoding a101 = from_json->encode(std::string(101, 'a'), {false});
  EXPECT_EQ(a101.tokens, (Strs{"[UNK]"}));
  EXPECT_EQ(a101.offsets[0].end, 101u);
}

TEST_F(BertTiny, NormalizationLowercaseAccentsGreekHangulControls) {
  // Upper-case Greek with tonos: lower-cased and stripped to ελληνικα.
  // Hangul: NFD gives the three jamo, each pointing at the whole syllable.
  // A combining acute accent disappears; a zero-width space and a soft
  // hyphen are format characters and are removed.
  const std::string text = "ΕΛΛΗΝΙΚΆ 한 cafe\xCC\x81 un\xE2\x80\x8B" "aff\xC2\xAD" "able";
  const Encoding e = from_json->encode(text, {false});
  check_invariants(text, e);
  EXPECT_EQ(e.tokens, (Strs{"ελλ", "##ηνικα", "ᄒ", "##ᅡ", "##ᆫ", "cafe", "un", "##aff", "##able"}));
  EXPECT_EQ(surfaces(text, e), (Strs{"ΕΛΛ", "ΗΝΙΚΆ", "한", "한", "한", "cafe", "un", "aff", "able"}));
  EXPECT_EQ(e.word_ids, (Ids{0, 0, 1, 1, 1, 2, 3, 3, 3}));
  // White space of every kind separates words; control characters vanish.
  const Encoding w = from_json->encode("hello\xC2\xA0world\x01\t\xE3\x80\x80!", {false});
  EXPECT_EQ(w.tokens, (Strs{"hello", "world", "!"}));
}

TEST_F(BertTiny, CasedOptionsKeepCase) {
  WordPieceOptions cased;
  cased.lowercase = false;
  auto t = make_wordpiece_from_vocab_txt(slurp(golden("bert_tiny/vocab.txt")), cased);
  EXPECT_EQ(t->encode("Hello hello café", {false}).tokens, (Strs{"[UNK]", "hello", "[UNK]"}));
  WordPieceOptions strip_only = cased;
  strip_only.strip_accents = 1;
  t = make_wordpiece_from_vocab_txt(slurp(golden("bert_tiny/vocab.txt")), strip_only);
  EXPECT_EQ(t->encode("café", {false}).tokens, (Strs{"cafe"}));
}

TEST_F(BertTiny, SpecialTokensTypedByTheUser) {
  const std::string text = "I love [MASK]!";
  const Encoding e = from_json->encode(text);
  EXPECT_EQ(e.tokens, (Strs{"[CLS]", "i", "love", "[MASK]", "!", "[SEP]"}));
  EXPECT_EQ(e.ids[3], 4);
  EXPECT_EQ(surfaces(text, e)[3], "[MASK]");
  EXPECT_EQ(e.special_mask[3], 0);  // it is part of the text
  EXPECT_EQ(e.word_ids, (Ids{-1, 0, 1, 2, 3, -1}));
  // Lower-case "[mask]" is ordinary text: "[", "mask" (unknown), "]".
  EXPECT_EQ(from_vocab->encode("[mask]", {false}).tokens, (Strs{"[UNK]", "[UNK]", "[UNK]"}));
  EXPECT_EQ(from_vocab->special_tokens().mask_id, 4);
}

TEST_F(BertTiny, TruncationIsNeverSilent) {
  const std::string text = "hello world hello world hello world";
  EncodeOptions o;
  o.max_length = 5;
  const Encoding e = from_json->encode(text, o);
  check_invariants(text, e);
  EXPECT_EQ(e.tokens, (Strs{"[CLS]", "hello", "world", "hello", "[SEP]"}));
  EXPECT_TRUE(e.truncated);
  EXPECT_EQ(e.num_dropped, 3u);
  EXPECT_EQ(e.kept_bytes, 18u);  // "world hello world" is dropped from byte 18 on
  EXPECT_EQ(e.words.size(), 3u);
  EXPECT_NE(e.notice.find("8 tokens long but the model reads at most 5"), std::string::npos) << e.notice;
  EXPECT_NE(e.notice.find("the last 3 tokens"), std::string::npos) << e.notice;

  // The model's own maximum applies by default.
  from_json->set_model_max_length(4);
  const Encoding d = from_json->encode(text);
  EXPECT_EQ(d.size(), 4u);
  EXPECT_TRUE(d.truncated);
  EXPECT_ERROR_CONTAINS(from_json->encode(text, {true, 9}), "max_length 9 exceeds the model's maximum of 4 tokens");
  EXPECT_ERROR_CONTAINS(from_json->encode(text, {true, 2}), "leaves no room for text after the 2 special tokens");
  EncodeOptions unlimited;
  unlimited.max_length = 0;
  from_json->set_model_max_length(0);
  EXPECT_FALSE(from_json->encode(text, unlimited).truncated);
}

TEST_F(BertTiny, PaddingAndEmptyText) {
  EncodeOptions o;
  o.pad_to = 6;
  const Encoding e = from_json->encode("hello", o);
  EXPECT_EQ(e.tokens, (Strs{"[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]", "[PAD]"}));
  EXPECT_EQ(e.ids, (Ids{2, 5, 3, 0, 0, 0}));
  EXPECT_EQ(e.attention_mask, (std::vector<uint8_t>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(e.special_mask, (std::vector<uint8_t>{1, 0, 1, 1, 1, 1}));
  EXPECT_EQ(e.word_ids, (Ids{-1, 0, -1, -1, -1, -1}));
  // Padding never truncates.
  o.pad_to = 2;
  EXPECT_EQ(from_json->encode("hello world", o).size(), 4u);
  const Encoding empty = from_json->encode("");
  EXPECT_EQ(empty.tokens, (Strs{"[CLS]", "[SEP]"}));
  EXPECT_TRUE(empty.words.empty());
  EXPECT_TRUE(from_json->encode("   \t\n", {false}).ids.empty());
}

TEST_F(BertTiny, InvalidUtf8IsReadByteByByte) {
  const std::string text = "hello\xFF\xC3world\xE4\xB8";
  const Encoding e = from_json->encode(text, {false});
  check_invariants(text, e);
  // The bad bytes are U+FFFD, which clean_text removes.
  EXPECT_EQ(e.tokens, (Strs{"[UNK]"}));
  EXPECT_EQ(e.offsets[0].begin, 0u);
  EXPECT_EQ(e.offsets[0].end, 12u);
}

// ---------------------------------------------------------------- byte-level BPE

class RobertaTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    from_json = make_tokenizer_from_json(slurp(golden("roberta_tiny/tokenizer.json")), "roberta_tiny/tokenizer.json");
    from_files = make_bpe_from_files(slurp(golden("roberta_tiny/vocab.json")), slurp(golden("roberta_tiny/merges.txt")),
                                     ByteLevelBpeOptions{});
  }
  std::unique_ptr<Tokenizer> from_json, from_files;
};

TEST_F(RobertaTiny, MergesByRank) {
  for (const Tokenizer* t : {from_json.get(), from_files.get()}) {
    // h e -> he, l l -> ll, he ll -> hell, hell o -> hello; Ġ w -> Ġw,
    // o r -> or, Ġw or -> Ġwor, l d -> ld, Ġwor ld -> Ġworld.
    const std::string text = "hello world";
    const Encoding e = t->encode(text);
    check_invariants(text, e);
    EXPECT_EQ(e.tokens, (Strs{"<s>", "hello", "Ġworld", "</s>"}));
    EXPECT_EQ(e.ids[0], 0);
    EXPECT_EQ(e.ids[3], 2);
    EXPECT_EQ(e.ids[1], t->token_to_id("hello"));
    // Offsets leave out the space that Ġ stands for.
    EXPECT_EQ(surfaces(text, e), (Strs{"", "hello", "world", ""}));
    EXPECT_EQ(word_texts(text, e), (Strs{"hello", "world"}));
    // Capital H has no merge with e: only l l applies.
    EXPECT_EQ(t->encode("Hello", {false}).tokens, (Strs{"H", "e", "ll", "o"}));
  }
}

TEST_F(RobertaTiny, Gpt2SplitContractionsNumbersAndMultibyte) {
  const std::string text = "this is 12 café's";
  const Encoding e = from_json->encode(text, {false});
  check_invariants(text, e);
  // "this" | " is" | " 12" | " café" | "'s": t hi s (no merge joins t+hi
  // without Ġ), Ġis, Ġ12, Ġ + cafÃ© (é is the two bytes Ã ©), 's.
  EXPECT_EQ(e.tokens, (Strs{"t", "hi", "s", "Ġis", "Ġ12", "Ġ", "cafÃ©", "'s"}));
  EXPECT_EQ(surfaces(text, e), (Strs{"t", "hi", "s", "is", "12", "", "café", "'s"}));
  EXPECT_EQ(e.word_ids, (Ids{0, 0, 0, 1, 2, 3, 3, 4}));
  EXPECT_EQ(word_texts(text, e), (Strs{"this", "is", "12", "café", "'s"}));

  // A character without merges is one token per byte, each pointing at the
  // whole character.
  const std::string bei = "北";
  const Encoding b = from_json->encode(bei, {false});
  EXPECT_EQ(b.tokens, (Strs{"å", "Į", "Ĺ"}));
  EXPECT_EQ(surfaces(bei, b), (Strs{"北", "北", "北"}));

  // White space runs: all but the last space form their own piece; \n is Ċ.
  const std::string ws = "I'm  here\n\n ok?!";
  const Encoding w = from_json->encode(ws, {false});
  check_invariants(ws, w);
  EXPECT_EQ(w.tokens, (Strs{"I", "'", "m", "Ġ", "Ġ", "he", "r", "e", "Ċ", "Ċ", "Ġ", "o", "k", "?", "!"}));
  EXPECT_EQ(w.word_ids, (Ids{0, 1, 1, 2, 3, 3, 3, 3, 4, 4, 5, 5, 5, 6, 6}));
}

TEST_F(RobertaTiny, MaskAbsorbsTheSpaceBeforeIt) {
  const std::string text = "hello <mask>";
  const Encoding e = from_json->encode(text);
  EXPECT_EQ(e.tokens, (Strs{"<s>", "hello", "<mask>", "</s>"}));
  EXPECT_EQ(e.ids[2], from_json->token_to_id("<mask>"));
  EXPECT_EQ(surfaces(text, e)[2], "<mask>");
  EXPECT_EQ(from_files->encode(text).tokens, e.tokens);
}

TEST_F(RobertaTiny, AddPrefixSpace) {
  ByteLevelBpeOptions o;
  o.add_prefix_space = true;
  auto t = make_bpe_from_files(slurp(golden("roberta_tiny/vocab.json")), slurp(golden("roberta_tiny/merges.txt")), o);
  const std::string text = "hello world";
  const Encoding e = t->encode(text, {false});
  EXPECT_EQ(e.tokens, (Strs{"Ġ", "hello", "Ġworld"}));  // no merge joins Ġ and h
  EXPECT_EQ(surfaces(text, e), (Strs{"", "hello", "world"}));
}

// ---------------------------------------------------------------- word level

class WordsTiny : public ::testing::Test {
 protected:
  void SetUp() override { t = make_word_level_from_vocab(slurp(golden("words_tiny/vocab.txt")), WordLevelOptions{}); }
  int32_t id(const std::string& w) const { return t->token_to_id(w); }
  std::unique_ptr<Tokenizer> t;
};

TEST_F(WordsTiny, SstStyleTextMapsToItsOwnTokens) {
  // Text as it appears in SST's stsa files: already split and lower-cased.
  const std::string text = "it 's a well-made film , not funny .";
  const Encoding e = t->encode(text);
  EXPECT_EQ(e.tokens, (Strs{"it", "'s", "a", "well-made", "film", ",", "not", "funny", "."}));
  EXPECT_EQ(e.ids, (Ids{7, 6, 22, 20, 21, 12, 25, 26, 13}));
  EXPECT_EQ(e.special_mask, std::vector<uint8_t>(9, 0));
}

TEST_F(WordsTiny, TypedTextIsSplitLikeTheTreebank) {
  const std::string text = "It's (really) \"good\" -- the movie isn't bad... Mr. Well-made, café!";
  const Encoding e = t->encode(text);
  check_invariants(text, e);
  EXPECT_EQ(e.tokens, (Strs{"it", "'s", "-lrb-", "<unk>", "-rrb-", "``", "good", "''", "--", "the", "movie", "is",
                            "n't", "bad", "...", "mr.", "well-made", ",", "café", "!"}));
  EXPECT_EQ(surfaces(text, e), (Strs{"It", "'s", "(", "really", ")", "\"", "good", "\"", "--", "the", "movie", "is",
                                     "n't", "bad", "...", "Mr.", "Well-made", ",", "café", "!"}));
  EXPECT_EQ(e.ids[3], 1);  // <unk>
  for (size_t i = 0; i < e.size(); ++i) EXPECT_EQ(e.word_ids[i], static_cast<int32_t>(i));
}

TEST_F(WordsTiny, ContractionsApostrophesAndCompounds) {
  const std::string text = "Don\xE2\x80\x99t, can't! \xE2\x80\x9Cgood\xE2\x80\x9D super-good";
  const Encoding e = t->encode(text);
  EXPECT_EQ(e.tokens,
            (Strs{"do", "n't", ",", "ca", "n't", "!", "``", "good", "''", "<unk>", "<unk>", "good"}));
  EXPECT_EQ(surfaces(text, e), (Strs{"Do", "n\xE2\x80\x99t", ",", "ca", "n't", "!", "\xE2\x80\x9C", "good",
                                     "\xE2\x80\x9D", "super", "-", "good"}));
}

TEST_F(WordsTiny, PaddingAndTruncation) {
  EncodeOptions o;
  o.pad_to = 5;
  const Encoding e = t->encode("good film", o);
  EXPECT_EQ(e.ids, (Ids{10, 21, 0, 0, 0}));
  EXPECT_EQ(e.tokens[2], "<pad>");
  EXPECT_EQ(e.attention_mask, (std::vector<uint8_t>{1, 1, 0, 0, 0}));
  t->set_model_max_length(3);
  const Encoding c = t->encode("the movie is not good");
  EXPECT_EQ(c.tokens, (Strs{"the", "movie", "is"}));
  EXPECT_TRUE(c.truncated);
  EXPECT_EQ(c.num_dropped, 2u);
}

TEST(WordLevelVocab, MustStartWithPadAndUnk) {
  EXPECT_ERROR_CONTAINS(make_word_level_from_vocab("the\nmovie\n", WordLevelOptions{}, "m/vocab.txt"),
                        "m/vocab.txt: a word vocabulary must start with '<pad>' on line 1 and '<unk>' on line 2");
  EXPECT_ERROR_CONTAINS(make_word_level_from_vocab("", WordLevelOptions{}, "m/vocab.txt"), "m/vocab.txt");
}

// ---------------------------------------------------------------- loading from a model directory

TEST(TokenizerLoader, PicksTokenizerJsonThenTheFamilyFiles) {
  const ModelConfig bert = read_model_config_file(golden("bert_tiny/config.json"));
  auto t = load_tokenizer_dir(golden("bert_tiny"), bert);
  EXPECT_EQ(t->kind(), "wordpiece");
  EXPECT_EQ(t->source(), golden("bert_tiny/tokenizer.json"));
  EXPECT_EQ(t->model_max_length(), 16);  // the config's 16 beats tokenizer_config's 512

  ModelFiles files = read_tokenizer_files(golden("bert_tiny"));
  EXPECT_EQ(files.count("vocab.txt"), 1u);
  files.erase("tokenizer.json");
  auto v = load_tokenizer(files, bert, "bert_tiny");
  EXPECT_EQ(v->source(), "bert_tiny/vocab.txt");
  const std::string text = "Hello, World! naïve café 北京 don't";
  EXPECT_EQ(v->encode(text).ids, t->encode(text).ids);
  EXPECT_EQ(v->special_tokens().pad_id, 0);

  // tokenizer_config.json's do_lower_case decides the vocab.txt route.
  files["tokenizer_config.json"] = R"({"do_lower_case": false, "model_max_length": 8})";
  auto cased = load_tokenizer(files, bert, "bert_tiny");
  EXPECT_EQ(cased->encode("Hello", {false}).tokens, (Strs{"[UNK]"}));
  EXPECT_EQ(cased->model_max_length(), 8);

  const ModelConfig roberta = read_model_config_file(golden("roberta_tiny/config.json"));
  auto r = load_tokenizer_dir(golden("roberta_tiny"), roberta);
  EXPECT_EQ(r->kind(), "bpe");
  EXPECT_EQ(r->model_max_length(), 12);  // 14 positions - 2 offset
  ModelFiles rfiles = read_tokenizer_files(golden("roberta_tiny"));
  rfiles.erase("tokenizer.json");
  auto rv = load_tokenizer(rfiles, roberta, "roberta_tiny");
  EXPECT_EQ(rv->source(), "roberta_tiny/vocab.json");
  EXPECT_EQ(rv->encode("hello world <mask>").ids, r->encode("hello world <mask>").ids);

  const ModelConfig cnn = read_model_config_file(golden("words_tiny/config.json"));
  auto w = load_tokenizer_dir(golden("words_tiny"), cnn);
  EXPECT_EQ(w->kind(), "word");
  EXPECT_EQ(w->model_max_length(), 12);
  EXPECT_EQ(w->encode("the movie isn't good").tokens, (Strs{"the", "movie", "is", "n't", "good"}));
}

TEST(TokenizerLoader, MissingTokenizerNamesTheDirectoryAndTheFiles) {
  const ModelConfig bert = read_model_config_file(golden("bert_tiny/config.json"));
  EXPECT_ERROR_CONTAINS(load_tokenizer({}, bert, "models/sst2"),
                        "models/sst2: no tokenizer found for this bert model: looked for tokenizer.json and vocab.txt");
  EXPECT_ERROR_CONTAINS(load_tokenizer_dir(golden("no_such_model"), bert), "no_such_model: no tokenizer found");
  const ModelConfig roberta = read_model_config_file(golden("roberta_tiny/config.json"));
  EXPECT_ERROR_CONTAINS(load_tokenizer({}, roberta, "r"), "r: no tokenizer found for this roberta model: looked for "
                                                          "tokenizer.json, and vocab.json with merges.txt");
  EXPECT_ERROR_CONTAINS(load_tokenizer({{"vocab.json", "{}"}}, roberta, "r"),
                        "r: vocab.json is there but merges.txt is missing");
  const ModelConfig cnn = read_model_config_file(golden("words_tiny/config.json"));
  EXPECT_ERROR_CONTAINS(load_tokenizer({{"tokenizer.json", "{}"}}, cnn, "cnn"),
                        "cnn: no tokenizer found for this wordlight-cnn model: looked for vocab.txt");
}

TEST(TokenizerLoader, TokenIdsMustFitTheModelVocabulary) {
  ModelConfig bert = read_model_config_file(golden("bert_tiny/config.json"));
  bert.vocab_size = 40;
  EXPECT_ERROR_CONTAINS(load_tokenizer_dir(golden("bert_tiny"), bert),
                        "tokenizer.json: token 'x' has id 41, but " + golden("bert_tiny/config.json") +
                            " says vocab_size is 40");
}

TEST(TokenizerLoader, BadTokenizerFiles) {
  EXPECT_ERROR_CONTAINS(make_tokenizer_from_json("{", "m/tokenizer.json"), "m/tokenizer.json: not valid JSON");
  EXPECT_ERROR_CONTAINS(make_tokenizer_from_json(R"({"model":{"type":"Unigram","vocab":[]}})", "m/tokenizer.json"),
                        "m/tokenizer.json: 'model.vocab' must be an object");
  EXPECT_ERROR_CONTAINS(make_tokenizer_from_json(R"({"model":{"type":"Unigram","vocab":{"a":0}}})", "t.json"),
                        "t.json: 'model.type' is 'Unigram': only WordPiece and BPE models are supported");
  EXPECT_ERROR_CONTAINS(make_tokenizer_from_json(R"({"model":{"type":"WordPiece","vocab":{"a":-1}}})", "t.json"),
                        "'model.vocab' entry 'a' is out of range");
  EXPECT_ERROR_CONTAINS(make_tokenizer_from_json(R"({"model":{"type":"WordPiece","vocab":{"a":0}},
      "pre_tokenizer":{"type":"Whitespace"}})",
                                                 "t.json"),
                        "'pre_tokenizer.type' is 'Whitespace': pre-tokenizer not supported");
  EXPECT_ERROR_CONTAINS(make_tokenizer_from_json(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a"]},
      "pre_tokenizer":{"type":"ByteLevel"}})",
                                                 "t.json"),
                        "'model.merges' entry 0 is not two symbols");
  EXPECT_ERROR_CONTAINS(make_bpe_from_files(R"({"<s>":0,"</s>":1})", "#version: 0.2\na b c\n", {}, "v.json", "m.txt"),
                        "m.txt: line 2 is not two symbols separated by one space");
  EXPECT_ERROR_CONTAINS(make_bpe_from_files(R"({"a":0})", "", {}, "v.json", "m.txt"),
                        "v.json: the vocabulary has no '<s>' token");
  EXPECT_ERROR_CONTAINS(make_wordpiece_from_vocab_txt("a\nb\n", {}, "v.txt"), "v.txt: the vocabulary has no '[CLS]'");
}
