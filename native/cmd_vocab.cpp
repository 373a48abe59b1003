// wordlight vocab   a word vocabulary (vocab.txt) for the CNN and BiLSTM,
//                   counted from training data with the word tokenizer's
//                   own splitting, optionally restricted by word vectors
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cli.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/tokenizer.h"
#include "wordlight/word_vectors.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

int cmd_vocab(const Args& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string out = a.need("out");
  const long long min_count = a.integer("min-count", 2);
  const long long min_count_novec = a.integer("min-count-without-vector", min_count);
  const long long max_size = a.integer("max-size", 0);
  const bool lowercase = a.boolean("lowercase", true);
  if (min_count < 1 || min_count_novec < 1) throw Error("the minimum counts must be at least 1");
  if (max_size != 0 && max_size < 3) throw Error("option --max-size: at least 3 (<pad>, <unk> and a word), or 0");

  std::unordered_map<std::string, long long> counts;
  size_t texts = 0, words = 0;
  const TextDataset ds = read_data_spec(a.need("data"));
  for (const std::string& t : ds.texts) {
    for (std::string& w : word_level_forms(t, lowercase)) {
      ++counts[w];
      ++words;
    }
  }
  texts = ds.size();
  counts.erase("<pad>");
  counts.erase("<unk>");

  WordVectors wv;
  const bool have_vectors = a.has("vectors");
  if (have_vectors) {
    std::unordered_set<std::string> wanted;
    for (const auto& kv : counts) wanted.insert(kv.first);
    wv = load_word_vectors(a.get("vectors"), &wanted);
  }
  std::vector<std::pair<std::string, long long>> kept;
  size_t with_vector = 0;
  long long covered = 0;
  for (const auto& kv : counts) {
    const bool has_vec = have_vectors && wv.vectors.count(kv.first);
    if (kv.second < (has_vec || !have_vectors ? min_count : min_count_novec)) continue;
    kept.push_back(kv);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  if (max_size > 0 && kept.size() > static_cast<size_t>(max_size - 2)) kept.resize(static_cast<size_t>(max_size - 2));
  std::string text = "<pad>\n<unk>\n";
  for (const auto& kv : kept) {
    if (kv.first.find_first_of("\n\r") != std::string::npos) continue;
    text += kv.first + "\n";
    covered += kv.second;
    if (have_vectors && wv.vectors.count(kv.first)) ++with_vector;
  }
  write_text(out, text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "vocab: %zu texts, %zu words, %zu distinct; kept %zu (%.2f%% of running words)", texts, words,
               counts.size(), kept.size() + 2, words ? 100.0 * double(covered) / double(words) : 0.0);
  if (have_vectors) std::fprintf(stderr, ", %zu with a vector", with_vector);
  std::fprintf(stderr, " -> %s (%.1f s)\n", terminal_escape(out).c_str(), s);
  return 0;
}

const RegisterCommand reg_vocab(
    {"vocab",
     "vocab --data SPEC[,SPEC...] --out vocab.txt [--min-count N (2)] [--max-size N] [--lowercase true|false]\n"
     "[--vectors FILE [--min-count-without-vector N]]\n"
     "a word vocabulary for wordlight-cnn / wordlight-bilstm, most frequent first, counted with the\n"
     "word tokenizer's own splitting; words without a vector in FILE (GloVe text or wink JSON) need\n"
     "--min-count-without-vector occurrences",
     {"data", "out", "min-count", "min-count-without-vector", "max-size", "lowercase", "vectors"},
     {},
     cmd_vocab,
     5});

}  // namespace
