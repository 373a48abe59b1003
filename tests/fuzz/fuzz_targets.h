#pragma once
// Fuzz targets for every reader of untrusted files, and a structure-aware
// mutator for them. Header-only: the in-tree ctest suite
// (tests/cpp/test_fuzz_io.cpp: a bounded count with a fixed seed, every
// `./build.sh test`) and the libFuzzer + ASan/UBSan binaries
// (tests/fuzz/libfuzzer_main.cpp, `./build.sh fuzz`) run the same targets
// with the same mutations.
//
// A target either returns (the input was accepted and everything built from
// it was usable) or throws wordlight::Error (refused with a message). Any
// other exception, a crash, a sanitizer report or a hang is a finding; each
// finding becomes a file under tests/fuzz/corpus/<target>/ that the ctest
// suite replays.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/evaluate.h"
#include "wordlight/model_config.h"
#include "wordlight/safetensors.h"
#include "wordlight/tokenizer.h"

namespace wlfuzz {

using namespace wordlight;

// ------------------------------------------------------------------ targets

enum class Target { safetensors, config, tokenizer_json, vocab_txt, vocab_json_merges, jsonl };

struct TargetInfo {
  Target target;
  const char* name;  // also the corpus folder: tests/fuzz/corpus/<name>/
};

inline const std::vector<TargetInfo>& targets() {
  static const std::vector<TargetInfo> t = {{Target::safetensors, "safetensors"},
                                            {Target::config, "config_json"},
                                            {Target::tokenizer_json, "tokenizer_json"},
                                            {Target::vocab_txt, "vocab_txt"},
                                            {Target::vocab_json_merges, "vocab_json_merges"},
                                            {Target::jsonl, "jsonl"}};
  return t;
}

inline const char* kTexts[] = {"Hello, World! naïve café 北京 don't", "hello <mask> world's 12 [CLS]",
                               "the film is not very good !", "a\xFF\xC3 b\xE2\x80\x8B"};

inline void encode_all(const Tokenizer& t) {
  for (const char* text : kTexts) {
    const std::string s = text;
    EncodeOptions o;
    o.max_length = 16;
    const Encoding e = t.encode(s, o);
    for (size_t i = 0; i < e.size(); ++i) {
      if (e.offsets[i].begin > e.offsets[i].end || e.offsets[i].end > s.size())
        throw std::logic_error("token offsets outside the text");
      if (e.ids[i] < 0 || e.ids[i] >= t.vocab_size()) throw std::logic_error("a token id outside the vocabulary");
    }
  }
}

// vocab.json and merges.txt in one input, split at the first NUL byte.
inline std::pair<std::string, std::string> split_nul(const std::string& s) {
  const size_t z = s.find('\0');
  if (z == std::string::npos) return {s, ""};
  return {s.substr(0, z), s.substr(z + 1)};
}

// A scratch file of this process (the JSONL readers take paths).
inline std::string scratch_path() {
  static const std::string p = [] {
    const char* d = std::getenv("TMPDIR");
    std::string dir = d && *d ? d : (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    return dir + "/wordlight-fuzz-" + std::to_string(getpid()) + ".jsonl";
  }();
  return p;
}

inline void run(Target t, const std::string& in) {
  switch (t) {
    case Target::safetensors: {
      const auto* p = reinterpret_cast<const uint8_t*>(in.data());
      const SafetensorsView v = parse_safetensors(p, in.size(), "fuzz/model.safetensors");
      for (const auto& e : v.entries) {
        if (e.begin > e.end || e.end > in.size()) throw std::logic_error("accepted entry outside the buffer");
        if (dtype_converts_to_f32(e.dtype) && v.read_f32(e.name).size() != e.numel)
          throw std::logic_error("read_f32 size differs from numel");
      }
      const SafetensorsFile f = load_safetensors(p, in.size(), "fuzz/model.safetensors");
      for (const auto& kv : f.tensors)
        for (float x : kv.second.values)
          if (!std::isfinite(x)) throw std::logic_error("a non-finite weight was accepted");
      break;
    }
    case Target::config: {
      const ModelConfig c = parse_model_config(in, "fuzz/config.json");
      if (c.vocab_size <= 0 || c.max_length <= 0 || static_cast<int>(c.id2label.size()) != c.num_labels)
        throw std::logic_error("an inconsistent config was accepted");
      break;
    }
    case Target::tokenizer_json:
      encode_all(*make_tokenizer_from_json(in, "fuzz/tokenizer.json"));
      break;
    case Target::vocab_txt: {
      // Our word-level vocabularies start with <pad> and <unk>; anything
      // else is read as a WordPiece vocab.txt.
      if (in.rfind("<pad>\n<unk>\n", 0) == 0)
        encode_all(*make_word_level_from_vocab(in, WordLevelOptions{}, "fuzz/vocab.txt"));
      else
        encode_all(*make_wordpiece_from_vocab_txt(in, WordPieceOptions{}, "fuzz/vocab.txt"));
      break;
    }
    case Target::vocab_json_merges: {
      const auto vm = split_nul(in);
      encode_all(*make_bpe_from_files(vm.first, vm.second, ByteLevelBpeOptions{}, "fuzz/vocab.json", "fuzz/merges.txt"));
      break;
    }
    case Target::jsonl: {
      {
        std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
        out.write(in.data(), static_cast<std::streamsize>(in.size()));
      }
      // Each reader on its own: one refusing must not hide another's crash.
      // The input counts as refused when the data-set reader refuses it.
      std::string refused;
      try {
        read_jsonl(scratch_path());
      } catch (const Error& e) {
        refused = e.what();
      }
      try {
        read_eval_jsonl(scratch_path());
      } catch (const Error&) {
      }
      read_records(scratch_path());  // (drops bad lines with a warning)
      if (!refused.empty()) throw Error(refused);
      break;
    }
  }
}

// ------------------------------------------------------------------ seeds

inline std::string safetensors_seed(int variant) {
  std::vector<float> a(24), b(7);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.7f * static_cast<float>(i));
  for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(1.3f * static_cast<float>(i));
  std::vector<TensorToWrite> ts = {{"embeddings.word_embeddings.weight", {4, 6}, a.data(), DType::F32},
                                   {"encoder.layer.0.bias", {7}, b.data(), DType::F16},
                                   {"classifier.weight", {1, 7}, b.data(), DType::BF16},
                                   {"scale", {}, a.data(), DType::F64},
                                   {"empty", {0, 3}, nullptr, DType::F32}};
  ts.resize(static_cast<size_t>(2 + variant % 4));
  const auto bytes = write_safetensors(ts, variant % 2 ? std::map<std::string, std::string>{{"format", "pt"}}
                                                       : std::map<std::string, std::string>{});
  return std::string(bytes.begin(), bytes.end());
}

inline std::vector<std::string> seeds(Target t) {
  switch (t) {
    case Target::safetensors:
      return {safetensors_seed(0), safetensors_seed(1), safetensors_seed(2), safetensors_seed(3)};
    case Target::config:
      return {R"({"architectures":["BertForSequenceClassification"],"model_type":"bert","vocab_size":30,"hidden_size":8,
"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":32,
"id2label":{"0":"neg","1":"pos"},"label2id":{"neg":0,"pos":1},"layer_norm_eps":1e-12})",
              R"({"architectures":["RobertaForMaskedLM"],"model_type":"roberta","vocab_size":50,"hidden_size":8,
"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":34,"pad_token_id":1})",
              R"({"activation":"gelu","architectures":["DistilBertForSequenceClassification"],"dim":8,"hidden_dim":16,
"max_position_embeddings":32,"model_type":"distilbert","n_heads":2,"n_layers":1,"pad_token_id":0,
"sinusoidal_pos_embds":false,"vocab_size":50,"id2label":{"0":"neg","1":"pos"}})",
              R"({"model_type":"wordlight-cnn","vocab_size":100,"embedding_dim":8,"num_filters":4,"kernel_size":[1,2,3],
"num_labels":3,"max_length":64,"lowercase":true})",
              R"({"model_type":"wordlight-bilstm","vocab_size":100,"embedding_dim":8,"hidden_size":4,"num_labels":5,
"max_length":64,"lowercase":true,"problem_type":"single_label_classification"})"};
    case Target::tokenizer_json:
      return {R"({"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##",
"max_input_chars_per_word":100,"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"hello":5,"world":6,
"##s":7,",":8,"!":9,"na":10,"##ive":11}},"normalizer":{"type":"BertNormalizer","lowercase":true,
"strip_accents":null,"clean_text":true,"handle_chinese_chars":true},"pre_tokenizer":{"type":"BertPreTokenizer"},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},
{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],"special_tokens":{
"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},
"added_tokens":[{"id":0,"content":"[PAD]","special":true},{"id":4,"content":"[MASK]","special":true}]})",
              R"({"model":{"type":"BPE","vocab":{"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"<mask>":4,"h":5,"e":6,"l":7,
"o":8,"Ġ":9,"w":10,"r":11,"d":12,"he":13,"ll":14,"hell":15,"hello":16,"Ġw":17},"merges":["h e","l l","he ll",
"hell o","Ġ w"]},"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
"post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true,
"add_prefix_space":false},"added_tokens":[{"id":4,"content":"<mask>","lstrip":true}]})"};
    case Target::vocab_txt:
      return {"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n,\n!\nna\n##ive\ncafé\n北\n",
              "<pad>\n<unk>\nthe\nfilm\nis\ngood\nbad\nnot\na\nvery\n,\n!\n"};
    case Target::vocab_json_merges:
      return {std::string(R"({"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"<mask>":4,"h":5,"e":6,"l":7,"o":8,"Ġ":9,"w":10,
"he":11,"ll":12,"hell":13,"hello":14,"Ġw":15})") +
              std::string(1, '\0') + "#version: 0.2\nh e\nl l\nhe ll\nhell o\nĠ w\n"};
    case Target::jsonl:
      return {"{\"text\": \"a fine film\", \"label\": 1}\n\n{\"text\": \"dull\", \"label\": \"negative\"}\n",
              "{\"id\": \"d1\", \"text\": \"the film is good\", \"label\": \"pos\", \"rationales\": [[4, 8]]}\n"
              "{\"id\": \"d2\", \"text\": \"bad\", \"label\": 0}\n",
              "{\"index\": 0, \"id\": \"a\", \"text\": \"the film\", \"label\": 1, \"predicted\": 1, \"words\": [\"the\", \"film\"], "
              "\"methods\": {\"gradient\": {\"scores\": [0.5, -0.25]}}}\n"};
  }
  return {};
}

// ------------------------------------------------------------------ the mutator

using Rng = std::mt19937_64;

inline size_t pick(Rng& rng, size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); }

inline const std::vector<std::string>& json_bits() {
  static const std::vector<std::string> b = {
      "{", "}", "[", "]", "\"", ":", ",", "null", "true", "-1", "1e999", "-1e999", "NaN", "Infinity",
      "18446744073709551616", "9223372036854775807", "0.5", "\"F16\"", "\"BF16\"", "[]", "{}", "\"__metadata__\"",
      "\"\\u0000\"", "\"\\ud800\"", "\"\\u001b]0;x\\u0007\"", "\\", "\xC3", "\xFF", "\xC0\xAF", "\xED\xA0\x80",
      "\xF4\x90\x80\x80", "\xE5\x8C", "\xF0\x9F\x98\x80", "\x1b[2J", "\r\n", "\t"};
  return b;
}

// Positions where a JSON number starts.
inline std::vector<size_t> number_starts(const std::string& s, size_t from = 0, size_t to = std::string::npos) {
  std::vector<size_t> out;
  to = std::min(to, s.size());
  for (size_t i = from; i < to; ++i)
    if ((s[i] >= '0' && s[i] <= '9') && (i == 0 || !((s[i - 1] >= '0' && s[i - 1] <= '9') || s[i - 1] == '.' ||
                                                    s[i - 1] == '-' || s[i - 1] == 'e' || s[i - 1] == '"')))
      out.push_back(i);
  return out;
}

inline size_t number_end(const std::string& s, size_t i) {
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '-' ||
                          s[i] == '+'))
    ++i;
  return i;
}

inline size_t nesting_depth(Rng& rng) {
  static const size_t kDepths[] = {1, 2, 3, 8, 63, 64, 65, 100, 1000, 100000};
  return kDepths[pick(rng, sizeof kDepths / sizeof *kDepths)];
}

// One structure-aware edit of JSON-ish text (or of text lines).
inline void mutate_text(std::string& s, Rng& rng) {
  static const char* const kNumbers[] = {"0", "1", "7", "-3", "2.5", "4096", "65536", "4294967296",
                                         "9223372036854775807", "18446744073709551615", "1e30", "99999999999",
                                         "-0", "1e-400", "NaN", "-1e999"};
  static const char* const kDtypes[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL",
                                        "F8_E4M3", "F8_E5M2", "F4", "", "f32", "F32\\u0000"};
  switch (rng() % 12) {
    case 0: {  // nesting: a number becomes [[[...n...]]] (or {"k": ...})
      const auto nums = number_starts(s);
      if (nums.empty()) break;
      const size_t at = nums[pick(rng, nums.size())], end = number_end(s, at);
      const size_t depth = nesting_depth(rng);
      const bool objects = rng() % 3 == 0;
      std::string open, close;
      open.reserve(depth * 6);
      for (size_t k = 0; k < depth; ++k) {
        open += objects ? "{\"k\":" : "[";
        close += objects ? "}" : "]";
      }
      s = s.substr(0, at) + open + s.substr(at, end - at) + close + s.substr(end);
      break;
    }
    case 1: {  // a number (an offset, a dimension, an id, a size) becomes another
      const auto nums = number_starts(s);
      if (nums.empty()) break;
      const size_t at = nums[pick(rng, nums.size())], end = number_end(s, at);
      const std::string rep = rng() % 2 ? std::to_string(rng() % 100000) : kNumbers[pick(rng, 16)];
      s.replace(at, end - at, rep);
      break;
    }
    case 2: {  // a dtype becomes another
      const size_t d = s.find("\"dtype\"");
      if (d == std::string::npos) break;
      const size_t q1 = s.find('"', s.find(':', d) + 1);
      const size_t q2 = q1 == std::string::npos ? q1 : s.find('"', q1 + 1);
      if (q2 == std::string::npos) break;
      s.replace(q1 + 1, q2 - q1 - 1, kDtypes[pick(rng, sizeof kDtypes / sizeof *kDtypes)]);
      break;
    }
    case 3: {  // a shape gains, loses or zeroes a dimension
      const size_t d = s.find("\"shape\"", pick(rng, s.size()));
      const size_t at = d == std::string::npos ? s.find("\"shape\"") : d;
      if (at == std::string::npos) break;
      const size_t open = s.find('[', at), close = open == std::string::npos ? open : s.find(']', open);
      if (close == std::string::npos) break;
      static const char* const kShapes[] = {"[]", "[0]", "[1]", "[2,3]", "[3,2]", "[1,1,1,1,1,1,1,1]",
                                            "[4294967296,4294967296]", "[-1]", "[1.5]", "[\"2\"]", "[null]"};
      s.replace(open, close - open + 1, kShapes[pick(rng, sizeof kShapes / sizeof *kShapes)]);
      break;
    }
    case 4: {  // non-finite numbers where numbers are
      const auto nums = number_starts(s);
      if (nums.empty()) break;
      const size_t at = nums[pick(rng, nums.size())], end = number_end(s, at);
      static const char* const kNonFinite[] = {"NaN", "Infinity", "-Infinity", "1e999", "-1e999", "nan", "inf"};
      s.replace(at, end - at, kNonFinite[pick(rng, 7)]);
      break;
    }
    case 5: {  // invalid (or unusual) UTF-8 inside a string
      static const char* const kUtf8[] = {"\xC3", "\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE5\x8C",
                                          "\xC2\x9B", "\x1b[2J", "\xEF\xBB\xBF", "\xF0\x9F\x98\x80", "\xCC\x81"};
      size_t at = pick(rng, s.size() + 1);
      const size_t q = s.find('"', at);
      if (q != std::string::npos && rng() % 2) at = q + 1;
      s.insert(at, kUtf8[pick(rng, sizeof kUtf8 / sizeof *kUtf8)]);
      break;
    }
    case 6: {  // duplicate a "key": value pair or a line (duplicate ids, keys, tokens)
      const size_t q = s.find('"', pick(rng, s.size()));
      if (q == std::string::npos) break;
      const size_t comma = s.find_first_of(",}\n", q + 1);
      if (comma == std::string::npos) break;
      const std::string chunk = s.substr(q, comma - q);
      s.insert(comma, (s[comma] == '\n' ? "\n" : ",") + chunk);
      break;
    }
    case 7: {  // swap two lines (vocabularies, merges, JSONL)
      std::vector<size_t> nl;
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == '\n') nl.push_back(i);
      if (nl.size() < 3) break;
      const size_t a = pick(rng, nl.size() - 1);
      const size_t a0 = a == 0 ? 0 : nl[a - 1] + 1, a1 = nl[a];
      const std::string line = s.substr(a0, a1 - a0 + 1);
      s.erase(a0, a1 - a0 + 1);
      s.insert(pick(rng, s.size() + 1), line);
      break;
    }
    case 8: {  // a JSON token anywhere (one draw per statement: argument
               // order differs between compilers, the mutants must not)
      const size_t at = pick(rng, s.size() + 1);
      s.insert(at, json_bits()[pick(rng, json_bits().size())]);
      break;
    }
    case 9:  // truncate
      s.resize(pick(rng, s.size() + 1));
      break;
    case 10: {  // a quoted string becomes another JSON value
      std::vector<size_t> quotes;
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == '"') quotes.push_back(i);
      if (quotes.size() < 2) break;
      const size_t q = pick(rng, quotes.size() - 1);
      s.replace(quotes[q], quotes[q + 1] - quotes[q] + 1, json_bits()[pick(rng, json_bits().size())]);
      break;
    }
    default: {  // raw bytes: flip, set, insert, delete
      if (s.empty()) break;
      const size_t at = pick(rng, s.size());
      switch (rng() % 4) {
        case 0: s[at] ^= static_cast<char>(1u << (rng() % 8)); break;
        case 1: s[at] = static_cast<char>(rng()); break;
        case 2: s.insert(at, 1, static_cast<char>(rng())); break;
        default: s.erase(at, 1 + rng() % 16); break;
      }
      break;
    }
  }
}

inline uint64_t read_u64(const std::string& s) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
  return n;
}

inline void write_u64(std::string& s, uint64_t n) {
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
}

// One edit of a safetensors buffer: its header as JSON (the length field
// kept right, mostly, so the edit reaches the parser), its data (NaN,
// infinities, subnormals written over values), or its framing.
inline void mutate_safetensors(std::string& s, Rng& rng) {
  if (s.size() < 8 || rng() % 8 == 0) {
    mutate_text(s, rng);
    return;
  }
  uint64_t n = read_u64(s);
  if (n > s.size() - 8) n = s.size() - 8;
  std::string header = s.substr(8, static_cast<size_t>(n));
  std::string data = s.substr(8 + static_cast<size_t>(n));
  switch (rng() % 6) {
    case 0:
    case 1:
    case 2:
      mutate_text(header, rng);
      break;
    case 3: {  // non-finite or odd values into the data, at an aligned offset
      if (data.size() < 2) break;
      static const uint32_t kF32[] = {0x7FC00000u, 0x7F800000u, 0xFF800000u, 0x7F800001u, 0x00000001u, 0x80000000u};
      static const uint16_t kF16[] = {0x7E00, 0x7C00, 0xFC00, 0x7C01, 0x0001, 0x7F80, 0xFF80, 0x7FC0};
      if (rng() % 2 && data.size() >= 4) {
        const size_t at = 4 * pick(rng, data.size() / 4);
        const uint32_t v = kF32[pick(rng, 6)];
        for (int k = 0; k < 4; ++k) data[at + static_cast<size_t>(k)] = static_cast<char>(v >> (8 * k));
      } else {
        const size_t at = 2 * pick(rng, data.size() / 2);
        const uint16_t v = kF16[pick(rng, 8)];
        data[at] = static_cast<char>(v);
        data[at + 1] = static_cast<char>(v >> 8);
      }
      break;
    }
    case 4:  // trailing bytes, or a shorter data section
      if (rng() % 2) {
        const size_t n_bytes = 1 + rng() % 16;
        data.append(n_bytes, static_cast<char>(rng()));
      } else {
        data.resize(pick(rng, data.size() + 1));
      }
      break;
    default: {  // the header's length field
      std::string out = std::string(8, '\0') + header + data;
      const uint64_t choices[] = {rng(), n + rng() % 17 - 8, uint64_t{out.size()} - 8 + rng() % 3,
                                  UINT64_MAX - rng() % 4, 0, 1};
      write_u64(out, choices[pick(rng, 6)]);
      s = out;
      return;
    }
  }
  s = std::string(8, '\0') + header + data;
  write_u64(s, rng() % 16 == 0 ? n : header.size());
}

inline std::string mutate(Target t, const std::string& in, Rng& rng, int edits) {
  std::string s = in;
  for (int k = 0; k < edits; ++k) {
    if (t == Target::safetensors) mutate_safetensors(s, rng);
    else mutate_text(s, rng);
    // Keep inputs bounded (a 100,000-deep nesting is 200 KB; more is no use).
    if (s.size() > (1u << 20)) s.resize(1u << 20);
  }
  return s;
}

}  // namespace wlfuzz
