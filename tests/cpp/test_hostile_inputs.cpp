// Hostile files and outputs (issue 14): each test here failed (crashed or
// accepted silently) before the fix it names.
//  - deeply nested JSON in every reader: refused with a message naming the
//    file, never a stack overflow (nlohmann copies and dumps recursively);
//  - NaN / infinity in a model's weights: refused at load with the tensor's
//    name and the first bad index; non-finite outputs at run time: an error;
//  - bytes of a safetensors data section that belong to no tensor, duplicate
//    token ids, invalid UTF-8 in vocabularies: errors naming file and place;
//  - text for the terminal: control characters escaped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "check_util.h"
#include "tiny_models.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/finite_check.h"
#include "wordlight/json_limits.h"
#include "wordlight/model.h"
#include "wordlight/model_config.h"
#include "wordlight/predict.h"
#include "wordlight/safetensors.h"
#include "wordlight/text_escape.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

using namespace wordlight;

namespace {

std::string nested(size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

// The message of the Error fn throws ("" when it throws none; any other
// exception fails the test).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_ERROR_HAS(stmt, ...)                                                         \
  do {                                                                                      \
    const std::string msg_ = error_of([&] { stmt; });                                       \
    EXPECT_FALSE(msg_.empty()) << #stmt << " was accepted";                                 \
    for (const char* part_ : {__VA_ARGS__}) EXPECT_NE(msg_.find(part_), std::string::npos) \
        << "message '" << msg_ << "' lacks '" << part_ << "'";                              \
  } while (0)

std::vector<uint8_t> file_with_header(const std::string& header, size_t data_bytes, uint8_t fill = 0) {
  std::vector<uint8_t> out;
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data_bytes, fill);
  return out;
}

const char* kCnn = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2], "num_labels": 2, "max_length": 16,
  "id2label": {"0": "neg", "1": "pos"}})";

std::string temp_path(const std::string& name) {
  const char* t = std::getenv("TMPDIR");
  return std::string(t && *t ? t : "/tmp") + "/wordlight_hostile_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

// ------------------------------------------------------------------ nesting

TEST(HostileJson, DepthCheckCountsOnlyStructureOutsideStrings) {
  EXPECT_NO_THROW(check_json_depth(nested(64), "f.json"));
  EXPECT_ERROR_HAS(check_json_depth(nested(65), "f.json"), "f.json", "deeper than 64");
  // Brackets inside strings (escaped quotes included) are text, not nesting.
  const std::string in_string = "{\"a\": \"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
  EXPECT_NO_THROW(check_json_depth(in_string, "f.json"));
  // Objects count like arrays; the byte offset of the first level too deep.
  std::string objs;
  for (int i = 0; i < 70; ++i) objs += "{\"k\":";
  EXPECT_ERROR_HAS(check_json_depth(objs, "g.json"), "g.json", "at byte 320");
}

TEST(HostileJson, ConfigWithDeepArchitecturesIsRefusedNotACrash) {
  // 100,000 levels: a stack overflow in nlohmann's recursive dump() before.
  const std::string cfg = "{\"architectures\": " + nested(100000, "\"BertForSequenceClassification\"") + "}";
  EXPECT_ERROR_HAS(parse_model_config(cfg, "evil/config.json"), "evil/config.json", "deeper than 64");
  // A shallow non-string list still gets a short message, no dump of it.
  EXPECT_ERROR_HAS(parse_model_config("{\"architectures\": [[1, 2]]}", "c.json"), "architectures", "an array");
}

TEST(HostileJson, SafetensorsHeaderWithDeepShapeIsRefusedNotACrash) {
  // The parse callback copied every value: 100,000 nested shapes crashed.
  const std::string header = "{\"w\": {\"dtype\": \"F32\", \"shape\": " + nested(100000) +
                             ", \"data_offsets\": [0, 4]}}";
  const auto bytes = file_with_header(header, 4);
  EXPECT_ERROR_HAS(parse_safetensors(bytes.data(), bytes.size(), "evil/model.safetensors"), "evil/model.safetensors",
                   "deeper than 64");
}

TEST(HostileJson, TokenizerFilesAndDataLinesWithDeepNestingAreRefused) {
  const std::string deep = "{\"model\": {\"vocab\": " + nested(100000, "{}") + "}}";
  EXPECT_ERROR_HAS(make_tokenizer_from_json(deep, "evil/tokenizer.json"), "evil/tokenizer.json", "deeper than 64");
  EXPECT_ERROR_HAS(make_bpe_from_files(nested(100000), "#version: 0.2\n", ByteLevelBpeOptions{}, "evil/vocab.json",
                                       "evil/merges.txt"),
                   "evil/vocab.json", "deeper than 64");
  const std::string path = temp_path("deep.jsonl");
  {
    std::ofstream out(path);
    out << "{\"text\": \"fine\", \"label\": 1}\n\n{\"text\": \"x\", \"label\": " << nested(100000) << "}\n";
  }
  EXPECT_ERROR_HAS(read_jsonl(path), "line 3", "deeper than 64");
  std::remove(path.c_str());
  EXPECT_ERROR_HAS(parse_option_json("{\"steps\": " + nested(100000) + "}"), "options", "deeper than 64");
}

// ------------------------------------------------------------------ numbers

TEST(HostileNumbers, NonFiniteWeightsAreRefusedWithTheTensorAndIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> w(2 * 5000, 0.25f);  // past one 4096-element block of the check
  w[1 * 5000 + 4321] = nan;
  const std::vector<float> b = {0.5f, -inf};
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::F64}) {
    const auto bytes = write_safetensors({{"classifier.weight", {2, 5000}, w.data(), dt}});
    EXPECT_ERROR_HAS(load_safetensors(bytes.data(), bytes.size(), "m/model.safetensors"), "m/model.safetensors",
                     "'classifier.weight'", "NaN", "[1, 4321]", "element 9321");
    const auto bytes_b = write_safetensors({{"classifier.forward.bias", {2}, b.data(), dt}});
    EXPECT_ERROR_HAS(load_safetensors(bytes_b.data(), bytes_b.size(), "m/model.safetensors"),
                     "'classifier.forward.bias'", "-infinity", "[1]");
  }
  // An F64 value past float32's range becomes infinity: refused too.
  const std::string header = "{\"x\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}";
  auto bytes = file_with_header(header, 8);
  const double big = 1e300;
  std::memcpy(bytes.data() + 8 + header.size(), &big, 8);
  EXPECT_ERROR_HAS(load_safetensors(bytes.data(), bytes.size(), "f64.safetensors"), "'x'", "+infinity");
  // Finite extremes load.
  const std::vector<float> edge = {FLT_MAX, -FLT_MAX, FLT_MIN, 0.f, -0.f, 1e-45f};
  const auto ok = write_safetensors({{"edge", {6}, edge.data(), DType::F32}});
  EXPECT_NO_THROW(load_safetensors(ok.data(), ok.size(), "edge.safetensors"));
}

TEST(HostileNumbers, OverflowingOutputsAreErrorsNotNaNResults) {
  const ModelConfig cfg = parse_model_config(kCnn, "test config");
  SafetensorsFile w = random_checkpoint(cfg, 3);
  // Finite weights whose products overflow float32 in the first layer.
  for (auto& kv : w.tensors)
    for (float& v : kv.second.values) v = v >= 0 ? 1e30f : -1e30f;
  auto model = make_model(cfg, w);
  auto tok = make_word_level_from_vocab(wltest::kTinyWordVocab, WordLevelOptions{}, "test vocab.txt");
  EXPECT_ERROR_HAS(predict(*model, *tok, "the film is good"), "not finite");
  for (const char* method : {"gradient", "integrated-gradients", "occlusion"}) {
    ExplainRequest req;
    req.method = method;
    const std::string msg = error_of([&] {
      Explanation e = explain(*model, *tok, "the film is good", req);
      check_explanation_finite(e);
    });
    EXPECT_NE(msg.find("not finite"), std::string::npos) << method << ": " << msg;
  }
  // wordlight evaluate's accuracy: an error, not NaN counted as class 0.
  const EncodedSet set = encode_texts(*tok, {"the film is good", "a bad film"}, {1, 0}, 0, nullptr);
  EXPECT_ERROR_HAS(evaluate_accuracy(*model, set, 2), "evaluate", "not finite");
  // A finite explanation passes the check unchanged.
  auto fine = wltest::tiny_model(kCnn, 3);
  Explanation e = explain(*fine.model, *fine.tok, "the film is good", ExplainRequest{});
  EXPECT_NO_THROW(check_explanation_finite(e));
  e.words.at(1).score = std::nan("");
  EXPECT_ERROR_HAS(check_explanation_finite(e), "word 1", "NaN");
}

// ------------------------------------------------------------------ safetensors layout

TEST(HostileSafetensors, TrailingAndUnclaimedBytesAreErrors) {
  const std::string one = "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}";
  const auto exact = file_with_header(one, 4);
  EXPECT_NO_THROW(parse_safetensors(exact.data(), exact.size(), "ok.safetensors"));
  const auto trailing = file_with_header(one, 4 + 3);
  EXPECT_ERROR_HAS(parse_safetensors(trailing.data(), trailing.size(), "t.safetensors"), "t.safetensors",
                   "3 trailing bytes");
  const std::string gap = "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                          " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}";
  const auto g = file_with_header(gap, 12);
  EXPECT_ERROR_HAS(parse_safetensors(g.data(), g.size(), "g.safetensors"), "bytes [4, 8)", "'a'", "'b'",
                   "belong to no tensor");
  const std::string late = "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}";
  const auto l = file_with_header(late, 8);
  EXPECT_ERROR_HAS(parse_safetensors(l.data(), l.size(), "l.safetensors"), "bytes [0, 4)", "before tensor 'a'");
  const std::string overlap = "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                              " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}";
  const auto o = file_with_header(overlap, 8);
  EXPECT_ERROR_HAS(parse_safetensors(o.data(), o.size(), "o.safetensors"), "overlap");
  // What our writer produces (header padding, alignment by dtype) passes.
  const std::vector<float> v = wltest::random_vecf(7, 5);
  const auto written = write_safetensors({{"h", {3}, v.data(), DType::F16}, {"f", {7}, v.data(), DType::F32},
                                          {"d", {2}, v.data(), DType::F64}, {"e", {0}, nullptr, DType::F32}});
  EXPECT_NO_THROW(load_safetensors(written.data(), written.size(), "w.safetensors"));
}

// ------------------------------------------------------------------ vocabularies

TEST(HostileVocab, DuplicateIdsAndInvalidUtf8AreErrorsNamingFileAndPlace) {
  EXPECT_ERROR_HAS(make_bpe_from_files(R"({"a": 0, "b": 1, "c": 1})", "#version: 0.2\n", ByteLevelBpeOptions{},
                                       "v/vocab.json", "v/merges.txt"),
                   "v/vocab.json", "id 1", "'b'", "'c'");
  const std::string tj =
      R"({"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "b": 4}},
          "pre_tokenizer": {"type": "BertPreTokenizer"}})";
  EXPECT_ERROR_HAS(make_tokenizer_from_json(tj, "t/tokenizer.json"), "t/tokenizer.json", "id 4");
  const std::string added =
      R"({"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4}},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "added_tokens": [{"id": 2, "content": "[CLS]"}, {"id": 4, "content": "<new>"}]})";
  EXPECT_ERROR_HAS(make_tokenizer_from_json(added, "t/tokenizer.json"), "added_tokens[1]", "id 4", "'a'");
  // vocab.txt: the line and the byte within it.
  EXPECT_ERROR_HAS(make_wordpiece_from_vocab_txt("[PAD]\n[UNK]\n[CLS]\n[SEP]\nok\nbad\xC3(\n", WordPieceOptions{},
                                                 "w/vocab.txt"),
                   "w/vocab.txt", "line 6", "not valid UTF-8", "byte 4");
  EXPECT_ERROR_HAS(make_word_level_from_vocab(std::string("<pad>\n<unk>\n\xED\xA0\x80\n"), WordLevelOptions{},
                                              "x/vocab.txt"),
                   "x/vocab.txt", "line 3");
  EXPECT_ERROR_HAS(make_bpe_from_files(R"({"a": 0, "b": 1, "ab": 2})", "#version: 0.2\na b\n\xFF b\n",
                                       ByteLevelBpeOptions{}, "m/vocab.json", "m/merges.txt"),
                   "m/merges.txt", "line 3");
}

TEST(HostileVocab, Utf8ValidatorAgreesWithTheStandard) {
  auto bad = [](const std::string& s) { return first_invalid_utf8(s.data(), s.size()); };
  EXPECT_EQ(bad("plain ascii"), -1);
  EXPECT_EQ(bad("na\xC3\xAFve \xE5\x8C\x97 \xF0\x9F\x98\x80"), -1);
  EXPECT_EQ(bad("\xC0\xAF"), 0);              // overlong '/'
  EXPECT_EQ(bad("ab\xE0\x80\xAF"), 2);        // overlong, 3 bytes
  EXPECT_EQ(bad("\xED\xA0\x80"), 0);          // a UTF-16 surrogate
  EXPECT_EQ(bad("x\xF4\x90\x80\x80"), 1);     // past U+10FFFF
  EXPECT_EQ(bad("abc\xE5\x8C"), 3);           // truncated
  EXPECT_EQ(bad("\x80"), 0);                  // a lone continuation byte
}

// ------------------------------------------------------------------ terminal

TEST(TerminalEscape, ControlCharactersAreShownNotObeyed) {
  // A label that retitles the terminal and clears the screen.
  const std::string label = "pos\x1b]0;pwned\x07\x1b[2J\x1b[H";
  const std::string shown = terminal_escape(label);
  EXPECT_EQ(shown, "pos\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H");
  for (char c : shown) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
  EXPECT_EQ(terminal_escape("tab\there\nnew\r\x7f"), "tab\\x09here\\x0anew\\x0d\\x7f");
  // C1 controls (U+009B is CSI) and stray bytes (0x9B alone is CSI on 8-bit
  // terminals) are escaped; real UTF-8 and backslashes are kept.
  EXPECT_EQ(terminal_escape("a\xC2\x9B" "2J"), "a\\xc2\\x9b2J");
  EXPECT_EQ(terminal_escape("a\x9B" "2J\xC3"), "a\\x9b2J\\xc3");
  EXPECT_EQ(terminal_escape("café 北京 😀 \\x1b \xC2\xA0"), "café 北京 😀 \\x1b \xC2\xA0");
}
