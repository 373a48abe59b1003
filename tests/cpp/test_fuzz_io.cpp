// Seeded random-mutation fuzzing of the readers: valid safetensors files,
// config.json texts and tokenizer files are mutated (bit flips, byte
// changes, truncation, insertions, deletions, header-length edits, JSON
// edits) and fed back. Each mutant must either parse or throw
// wordlight::Error; a crash, a hang or any other exception fails the test.
// Each test is bounded by a mutant count and a time budget, whichever comes
// first, so the suite stays fast in the wasm build too. The seed is fixed:
// a failure names the mutant index, which reproduces it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "check_util.h"
#include "golden_util.h"
#include "wordlight/error.h"
#include "wordlight/model_config.h"
#include "wordlight/safetensors.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

struct Budget {
  int max_mutants;
  double max_seconds;
};

using wltest::slurp;

// One random edit of `s`. `header_length` marks a safetensors buffer, whose
// first 8 bytes can be rewritten as a whole.
void mutate_once(std::string& s, std::mt19937_64& rng, bool header_length) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  static const char* const kJsonBits[] = {"{", "}", "[", "]", "\"", ":", ",", "null", "true", "-1", "1e999",
                                          "18446744073709551616", "0.5", "\"F16\"", "\"BF16\"", "[]", "{}",
                                          "\"__metadata__\"", "\"\\u0000\"", "\\", "\xC3", "\xFF"};
  switch (rng() % 10) {
    case 0:  // flip one bit
      if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:  // set one byte
      if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
      break;
    case 2:  // truncate
      s.resize(pick(s.size() + 1));
      break;
    case 3: {  // insert random bytes
      std::string ins(1 + rng() % 8, '\0');
      for (char& c : ins) c = static_cast<char>(rng());
      s.insert(pick(s.size() + 1), ins);
      break;
    }
    case 4: {  // delete a range
      const size_t at = pick(s.size() + 1);
      s.erase(at, 1 + rng() % 16);
      break;
    }
    case 5:  // rewrite the safetensors header length
      if (header_length && s.size() >= 8) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(s[i]);
        switch (rng() % 4) {
          case 0: n = rng(); break;
          case 1: n += rng() % 17 - 8; break;
          case 2: n = uint64_t{s.size()} - 8 + rng() % 3; break;
          default: n = UINT64_MAX - rng() % 4; break;
        }
        for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
        break;
      }
      // Not a safetensors buffer: edit a number instead.
      [[fallthrough]];
    case 6: {  // replace a run of digits with another number
      std::vector<size_t> starts;
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] >= '0' && s[i] <= '9' && (i == 0 || s[i - 1] < '0' || s[i - 1] > '9')) starts.push_back(i);
      if (starts.empty()) break;
      const size_t at = starts[pick(starts.size())];
      size_t end = at;
      while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
      static const char* const kNumbers[] = {"0", "1", "7", "-3", "2.5", "4096", "65536", "4294967296",
                                             "9223372036854775807", "18446744073709551615", "1e30", "99999999999"};
      const std::string rep = rng() % 2 ? std::to_string(rng() % 100000) : kNumbers[pick(12)];
      s.replace(at, end - at, rep);
      break;
    }
    case 7: {  // insert a JSON token
      // (One draw per statement: argument evaluation order differs between
      // compilers, and the mutants must be the same natively and in wasm.)
      const size_t at = pick(s.size() + 1);
      s.insert(at, kJsonBits[pick(sizeof kJsonBits / sizeof *kJsonBits)]);
      break;
    }
    case 8: {  // copy a chunk elsewhere (duplicates keys and entries)
      if (s.empty()) break;
      const size_t from = pick(s.size());
      const std::string chunk = s.substr(from, 1 + rng() % 48);
      s.insert(pick(s.size() + 1), chunk);
      break;
    }
    default: {  // replace a quoted string with another value
      std::vector<size_t> quotes;
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == '"') quotes.push_back(i);
      if (quotes.size() < 2) break;
      const size_t q = pick(quotes.size() - 1);
      s.replace(quotes[q], quotes[q + 1] - quotes[q] + 1, kJsonBits[pick(sizeof kJsonBits / sizeof *kJsonBits)]);
      break;
    }
  }
}

struct FuzzStats {
  int mutants = 0, accepted = 0, rejected = 0;
  double seconds = 0;
};

// Runs `check` on mutants of the seeds until the budget runs out. `check`
// either returns (accepted) or throws wordlight::Error (rejected).
FuzzStats fuzz(const char* what, const std::vector<std::string>& seeds, bool header_length, uint64_t seed,
               const Budget& budget, const std::function<void(const std::string&)>& check) {
  std::mt19937_64 rng(seed);
  FuzzStats st;
  const auto start = std::chrono::steady_clock::now();
  for (; st.mutants < budget.max_mutants; ++st.mutants) {
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (st.seconds > budget.max_seconds) break;
    std::string m = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits; ++k) mutate_once(m, rng, header_length);
    try {
      check(m);
      ++st.accepted;
    } catch (const Error&) {
      ++st.rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << " mutant " << st.mutants << " (seed " << seed << ") threw a non-wordlight exception: "
                    << e.what();
      return st;
    }
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[fuzz] " << what << ": " << st.mutants << " mutants in " << st.seconds << " s (" << st.accepted
            << " parsed, " << st.rejected << " rejected with wordlight::Error)\n";
  return st;
}

std::string golden(const std::string& rel) { return std::string(WORDLIGHT_SOURCE_DIR) + "/tests/golden/io/" + rel; }

}  // namespace

TEST(FuzzIo, SafetensorsReaderNeverCrashes) {
  std::vector<std::string> seeds;
  const std::vector<float> a = wltest::random_vecf(24, 11), b = wltest::random_vecf(7, 12);
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<TensorToWrite> ts = {{"embeddings.word_embeddings.weight", {4, 6}, a.data(), DType::F32},
                                     {"encoder.layer.0.bias", {7}, b.data(), DType::F16},
                                     {"classifier.weight", {1, 7}, b.data(), DType::BF16},
                                     {"scale", {}, a.data(), DType::F64},
                                     {"empty", {0, 3}, nullptr, DType::F32}};
    ts.resize(static_cast<size_t>(2 + variant));
    const auto bytes = write_safetensors(ts, variant ? std::map<std::string, std::string>{{"format", "pt"}}
                                                     : std::map<std::string, std::string>{});
    seeds.emplace_back(bytes.begin(), bytes.end());
  }
  const FuzzStats st =
      fuzz("safetensors", seeds, true, 20240601, {20000, 5.0}, [](const std::string& m) {
        const auto* p = reinterpret_cast<const uint8_t*>(m.data());
        const SafetensorsView v = parse_safetensors(p, m.size(), "mutant.safetensors");
        for (const auto& e : v.entries) {
          // Whatever was accepted must be readable and consistent.
          ASSERT_LE(e.begin, e.end);
          ASSERT_LE(e.end, m.size());
          if (dtype_converts_to_f32(e.dtype)) {
            ASSERT_EQ(v.read_f32(e.name).size(), e.numel);
          }
        }
        load_safetensors(p, m.size(), "mutant.safetensors");
      });
  EXPECT_GT(st.mutants, 100);
  EXPECT_GT(st.rejected, 0);
  EXPECT_GT(st.accepted, 0);
}

TEST(FuzzIo, ConfigReaderNeverCrashes) {
  const std::vector<std::string> seeds = {
      slurp(golden("bert_tiny/config.json")),
      slurp(golden("roberta_tiny/config.json")),
      slurp(golden("words_tiny/config.json")),
      R"({"activation":"gelu","architectures":["DistilBertForSequenceClassification"],"dim":8,"hidden_dim":16,
          "max_position_embeddings":32,"model_type":"distilbert","n_heads":2,"n_layers":1,"pad_token_id":0,
          "sinusoidal_pos_embds":false,"vocab_size":50,"id2label":{"0":"neg","1":"pos"}})",
      R"({"model_type":"wordlight-bilstm","vocab_size":100,"embedding_dim":8,"hidden_size":4,"num_labels":5,
          "max_length":64,"lowercase":true})",
  };
  ASSERT_FALSE(seeds[0].empty()) << "golden config files not found under " << golden("");
  const FuzzStats st = fuzz("config.json", seeds, false, 777, {20000, 3.0}, [](const std::string& m) {
    const ModelConfig c = parse_model_config(m, "mutant/config.json");
    ASSERT_GT(c.vocab_size, 0);
    ASSERT_GT(c.max_length, 0);
    ASSERT_EQ(static_cast<int>(c.id2label.size()), c.num_labels);
    if (c.is_transformer()) {
      ASSERT_EQ(c.hidden_size % c.num_attention_heads, 0);
    }
  });
  EXPECT_GT(st.mutants, 100);
  EXPECT_GT(st.rejected, 0);
  EXPECT_GT(st.accepted, 0);
}

TEST(FuzzIo, TokenizerFilesAndTextsNeverCrash) {
  const std::vector<std::string> seeds = {slurp(golden("bert_tiny/tokenizer.json")),
                                          slurp(golden("roberta_tiny/tokenizer.json"))};
  const std::vector<std::string> texts = {"Hello, World! naïve café 北京 don't", "hello <mask> world's 12",
                                          "[MASK] ΕΛΛΗΝΙΚΆ 한", std::string("a\0b\xFF\xC3", 5)};
  auto encode_all = [&](const Tokenizer& t) {
    for (const std::string& text : texts) {
      const Encoding e = t.encode(text);
      for (const Span& s : e.offsets) ASSERT_LE(s.end, text.size());
    }
  };
  fuzz("tokenizer.json", seeds, false, 4242, {3000, 2.0},
       [&](const std::string& m) { encode_all(*make_tokenizer_from_json(m, "mutant/tokenizer.json")); });

  // Random byte strings (valid and invalid UTF-8) through the three
  // tokenizers: every token must point inside the text.
  const std::vector<std::unique_ptr<Tokenizer>> toks = [&] {
    std::vector<std::unique_ptr<Tokenizer>> v;
    v.push_back(make_tokenizer_from_json(seeds[0]));
    v.push_back(make_tokenizer_from_json(seeds[1]));
    v.push_back(make_word_level_from_vocab(slurp(golden("words_tiny/vocab.txt")), WordLevelOptions{}));
    return v;
  }();
  const std::vector<std::string> pieces = {"a", "Z", " ", "\t", "\n", "'", "\"", "(", ")", "-", ".", "...", "n't",
                                           "é", "\xCC\x81", "北", "한", "😀", "\xE2\x80\x99", "\xFF", "\xC3", "\x01",
                                           "<mask>", "[MASK]", "[CLS]", "12", "\xE2\x80\x8B", "Σ", "İ"};
  std::mt19937_64 rng(99);
  const auto start = std::chrono::steady_clock::now();
  int n = 0;
  for (; n < 5000; ++n) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > 2.0) break;
    std::string text;
    const int len = static_cast<int>(rng() % 24);
    for (int k = 0; k < len; ++k) text += pieces[rng() % pieces.size()];
    for (const auto& t : toks) {
      EncodeOptions o;
      o.max_length = static_cast<int>(rng() % 2 ? 0 : 3 + rng() % 10);
      o.pad_to = static_cast<int>(rng() % 16);
      const Encoding e = t->encode(text, o);
      for (size_t i = 0; i < e.size(); ++i) {
        ASSERT_LE(e.offsets[i].begin, e.offsets[i].end) << t->kind() << " text #" << n;
        ASSERT_LE(e.offsets[i].end, text.size()) << t->kind() << " text #" << n;
        ASSERT_LT(e.word_ids[i], static_cast<int32_t>(e.words.size()));
      }
      if (o.max_length > 0) {
        ASSERT_LE(e.size(), std::max<size_t>(o.max_length, o.pad_to));
      }
    }
  }
  std::cout << "[fuzz] tokenizer texts: " << n << " random texts x 3 tokenizers\n";
  EXPECT_GT(n, 100);
}

// ------------------------------------------------------------------ every reader, structure-aware
// The targets and mutator of tests/fuzz/fuzz_targets.h (the same ones the
// libFuzzer + ASan/UBSan binaries of `./build.sh fuzz` run for longer):
// deep nesting, offsets, dtypes, shapes, NaN and infinities, invalid UTF-8,
// duplicated keys and lines, over every reader of untrusted files, a
// bounded count with a fixed seed. Then every committed regression input
// under tests/fuzz/corpus/ (each one crashed or was wrongly accepted once).
#include <dirent.h>

#include "../fuzz/fuzz_targets.h"

namespace {

void fuzz_reader(const wlfuzz::TargetInfo& ti, int max_mutants, double max_seconds) {
  const std::vector<std::string> seeds = wlfuzz::seeds(ti.target);
  // The seeds themselves are good files.
  for (const std::string& s : seeds) ASSERT_NO_THROW(wlfuzz::run(ti.target, s)) << ti.name << " seed";
  wlfuzz::Rng rng(20260101 + static_cast<uint64_t>(ti.target));
  int n = 0, accepted = 0, rejected = 0;
  const auto start = std::chrono::steady_clock::now();
  for (; n < max_mutants; ++n) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > max_seconds) break;
    const std::string& seed = seeds[rng() % seeds.size()];
    const std::string m = wlfuzz::mutate(ti.target, seed, rng, 1 + static_cast<int>(rng() % 3));
    try {
      wlfuzz::run(ti.target, m);
      ++accepted;
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << ti.name << " mutant " << n << " threw a non-wordlight exception: " << e.what()
                    << " (save it under tests/fuzz/corpus/" << ti.name << "/)";
      return;
    }
  }
  std::cout << "[fuzz] " << ti.name << " (structure-aware): " << n << " mutants, " << accepted << " accepted, "
            << rejected << " refused with wordlight::Error\n";
  EXPECT_GT(n, 100) << ti.name;
  EXPECT_GT(rejected, 0) << ti.name;
  EXPECT_GT(accepted, 0) << ti.name << ": the mutator never produced a readable file";
}

const wlfuzz::TargetInfo& target_named(const char* name) {
  for (const auto& ti : wlfuzz::targets())
    if (std::string(ti.name) == name) return ti;
  throw std::logic_error(name);
}

}  // namespace

TEST(FuzzReaders, Safetensors) { fuzz_reader(target_named("safetensors"), 4000, 3.0); }
TEST(FuzzReaders, ConfigJson) { fuzz_reader(target_named("config_json"), 4000, 3.0); }
TEST(FuzzReaders, TokenizerJson) { fuzz_reader(target_named("tokenizer_json"), 3000, 3.0); }
TEST(FuzzReaders, VocabTxt) { fuzz_reader(target_named("vocab_txt"), 3000, 2.0); }
TEST(FuzzReaders, VocabJsonAndMerges) { fuzz_reader(target_named("vocab_json_merges"), 3000, 2.0); }
TEST(FuzzReaders, JsonlDataAndResults) { fuzz_reader(target_named("jsonl"), 2000, 2.0); }

TEST(FuzzReaders, CommittedRegressionInputs) {
  const std::string root = std::string(WORDLIGHT_SOURCE_DIR) + "/tests/fuzz/corpus/";
  int files = 0;
  for (const auto& ti : wlfuzz::targets()) {
    DIR* d = opendir((root + ti.name).c_str());
    if (!d) continue;
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
    for (const std::string& n : names) {
      const std::string input = slurp(root + ti.name + "/" + n);
      ++files;
      try {
        wlfuzz::run(ti.target, input);
      } catch (const Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << ti.name << "/" << n << ": " << e.what();
      }
    }
  }
  std::cout << "[fuzz] " << files << " committed corpus inputs replayed\n";
  EXPECT_GE(files, 8) << "no corpus under " << root;
}
