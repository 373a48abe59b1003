#pragma once
// The evaluation as a table of metric families. Each family (deletion,
// eraser, plausibility, ...) lives in its own file under families/ and is
// one row of metric_families() (families/table.cpp):
//
//   name         as the CLI's --metrics takes it and as results.json's key
//   prepare      once per document, before the methods (may be null): what
//                the family needs of the document (other classes to
//                explain, word embeddings)
//   per_method   once per method and document (may be null): fills the
//                family's fields of the MethodRecord; copies of the text
//                with words deleted are asked for with MethodContext::
//                perturb() and the function it returns reads the model's
//                probabilities on them (all families' copies of one method
//                run through the model together, in batches)
//   summarize    the records -> the family's section of results.json and
//                the metrics it contributes to the ranking
//
// The report section of each family is rendered outside the core, by the
// table of the same names in native/report/evaluation_report.cpp.
//
// evaluate_document() (document.cpp) and summarize() (summary.cpp) only
// walk this table; adding a metric family is a file here, a row in the
// table and a section in the report.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wordlight/evaluate.h"

namespace wordlight {
namespace evaluation {

using Json = nlohmann::ordered_json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ------------------------------------------------------------ per document
struct DocumentContext {
  const Model& model;
  const Tokenizer& tokenizer;
  const EvalExample& example;
  const EvalOptions& options;
  const Explanation& base;  // the first method's explanation: words, tokens, prediction
  DocumentRecord& record;   // index, label, predicted, probabilities, words, rationale: set before prepare()
  int classes = 0;
  size_t words = 0;
  bool correct = false;
  // Filled by the families' prepare():
  std::vector<int> other_classes;                    // confidence: the other classes explained
  std::vector<std::vector<double>> word_embeddings;  // docvectors: per word, the mean of its tokens' embeddings

  // The method's explanation of class `target` (-1: the predicted one), with
  // the run's options for it.
  Explanation explain(const std::string& method, int target) const;
  Explanation explain2(const std::string& method, int target) const;  // by options.model2
  bool has(const char* family) const { return options.metrics.count(family) > 0; }
};

// The model's probabilities on the perturbed copies: row(i) is copy i's (C).
using PerturbedRow = std::function<const float*(size_t)>;
using ReadPerturbed = std::function<void(const PerturbedRow&)>;

struct MethodContext {
  DocumentContext& doc;
  const std::string& method;
  bool is_random = false;         // the control: scores drawn per document
  MethodRecord& record;           // scores, seconds, evaluations: set before per_method()
  std::vector<int> decreasing;    // word indices by score, most relevant first
  std::vector<std::vector<uint8_t>>* copies = nullptr;
  // Asks for the model's output on a copy of the text with the words of
  // `deleted` (a 0/1 mask over the words) deleted; returns its row index.
  size_t perturb(std::vector<uint8_t> deleted) {
    copies->push_back(std::move(deleted));
    return copies->size() - 1;
  }
};

// ------------------------------------------------------------ summary
struct RankedMetric {
  std::string name, group, better;  // better: "higher" / "lower"
  std::map<std::string, double> values;
};

struct SummaryContext {
  const std::vector<const DocumentRecord*>& records;  // the good ones, by index
  const EvalOptions& options;
  const SummaryInfo& info;
  int classes = 0;
};

struct MetricFamily {
  const char* name;
  void (*prepare)(DocumentContext&);
  ReadPerturbed (*per_method)(MethodContext&);
  // The family's section of results.json; adds its ranked metrics.
  Json (*summarize)(const SummaryContext&, std::vector<RankedMetric>& ranked);
};

// The table, in the order of results.json's sections.
const std::vector<MetricFamily>& metric_families();

// ------------------------------------------------------------ shared helpers
// Numbers as results.json writes them: 6 significant digits, null for NaN.
inline double round6(double v) {
  if (!std::isfinite(v)) return v;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return std::strtod(buf, nullptr);
}
inline Json num(double v) {
  if (!std::isfinite(v)) return nullptr;
  return round6(v);
}
inline Json nums(const std::vector<double>& v) {
  Json a = Json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}
// The mean of the finite values; NaN when there is none.
inline double mean_of(const std::vector<double>& v) {
  double s = 0;
  size_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) {
      s += x;
      ++n;
    }
  return n ? s / static_cast<double>(n) : kNaN;
}
inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
// At most `cap` of n items, evenly spread (the records are sorted by index
// and data sets are often sorted by class: the first ones would be one class).
inline std::vector<size_t> spread(size_t n, size_t cap) {
  std::vector<size_t> pick;
  if (n <= cap) {
    for (size_t i = 0; i < n; ++i) pick.push_back(i);
  } else {
    for (size_t i = 0; i < cap; ++i) pick.push_back(i * n / cap);
  }
  return pick;
}
// Per word: the scores of an explanation.
std::vector<double> word_scores(const Explanation& e);
// Scores of the random control: uniform in [0, 1), seeded per document
// (and per class for confidence indication: salt).
std::vector<double> random_scores(size_t n, uint64_t seed, int64_t index, int salt);
// A 0/1 mask over W words: the first k of `order`.
std::vector<uint8_t> first_of(const std::vector<int>& order, int k, size_t W);
inline int argmax(const float* p, int C) {
  int b = 0;
  for (int c = 1; c < C; ++c)
    if (p[c] > p[b]) b = c;
  return b;
}

}  // namespace evaluation
}  // namespace wordlight
