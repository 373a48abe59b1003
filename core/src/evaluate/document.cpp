// evaluate_document(): one labelled text explained by every method, then
// the model run on copies of it with words deleted in each method's order
// (batched); DocumentRecord <-> one JSON line.
//
// What each metric family does per document (which copies, which extra
// explanations) is defined in its own file under families/ and walked here
// through the table of metric_family.h; this file holds what they share:
// the explanations of the predicted class, the Perturber that runs the
// copies through the model in batches, and the record's JSON.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "wordlight/error.h"
#include "wordlight/evaluate.h"
#include "wordlight/graph.h"
#include "wordlight/json_limits.h"
#include "wordlight/finite_check.h"
#include "wordlight/memory_budget.h"
#include "metric_family.h"

namespace wordlight {

DeletionMode parse_deletion_mode(const std::string& name, const ModelConfig& config) {
  if (name == "auto" || name.empty()) return config.is_transformer() ? DeletionMode::remove : DeletionMode::zero;
  if (name == "zero") return DeletionMode::zero;
  if (name == "remove") return DeletionMode::remove;
  if (name == "mask") return DeletionMode::mask;
  if (name == "unk") return DeletionMode::unk;
  throw Error("deletion '" + name + "': one of auto, zero, remove, mask, unk");
}

const char* deletion_mode_name(DeletionMode m) {
  switch (m) {
    case DeletionMode::zero: return "zero";
    case DeletionMode::remove: return "remove";
    case DeletionMode::mask: return "mask";
    case DeletionMode::unk: return "unk";
  }
  return "?";
}

const std::vector<std::string>& evaluation_metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const evaluation::MetricFamily& f : evaluation::metric_families()) v.push_back(f.name);
    return v;
  }();
  return names;
}

namespace {

using Json = nlohmann::ordered_json;
using evaluation::round6;

// Runs the model on copies of one encoded text with some words deleted.
class Perturber {
 public:
  Perturber(const Model& model, const Tokenizer& tok, const Explanation& e, DeletionMode mode)
      : model_(model), mode_(mode) {
    for (const TokenScore& t : e.tokens) {
      ids_.push_back(t.id);
      word_of_.push_back(t.word);
    }
    T_ = static_cast<int>(ids_.size());
    D_ = model.embedding_dim();
    if (mode == DeletionMode::zero) {
      TokenBatch one;
      one.B = 1;
      one.T = T_;
      one.ids = ids_;
      one.mask.assign(ids_.size(), 1);
      emb_.resize(static_cast<size_t>(T_) * D_);
      model.embed(one, emb_.data());
    }
    const SpecialTokens& sp = tok.special_tokens();
    if (mode == DeletionMode::mask) {
      replace_ = sp.mask_id;
      if (replace_ < 0) throw Error("deletion=mask: this tokenizer has no [MASK] token");
    } else if (mode == DeletionMode::unk) {
      replace_ = sp.unk_id;
      if (replace_ < 0) throw Error("deletion=unk: this tokenizer has no unknown-word token");
    }
  }

  // deleted: one 0/1 mask over the words per copy -> softmax (N, C).
  std::vector<float> run(const std::vector<std::vector<uint8_t>>& deleted, int batch_size) {
    const int C = model_.output_dim();
    std::vector<float> probs(deleted.size() * static_cast<size_t>(C));
    for (size_t first = 0; first < deleted.size(); first += static_cast<size_t>(batch_size)) {
      const size_t n = std::min(static_cast<size_t>(batch_size), deleted.size() - first);
      TokenBatch b;
      b.B = static_cast<int>(n);
      std::vector<float> x;
      if (mode_ == DeletionMode::zero) {
        b.T = T_;
        x.resize(n * static_cast<size_t>(T_) * D_);
        for (size_t j = 0; j < n; ++j) {
          const std::vector<uint8_t>& del = deleted[first + j];
          float* xj = x.data() + j * static_cast<size_t>(T_) * D_;
          std::copy(emb_.begin(), emb_.end(), xj);
          for (int t = 0; t < T_; ++t) {
            const int32_t w = word_of_[static_cast<size_t>(t)];
            if (w >= 0 && del[static_cast<size_t>(w)])
              std::fill(xj + static_cast<size_t>(t) * D_, xj + static_cast<size_t>(t + 1) * D_, 0.f);
          }
          b.ids.insert(b.ids.end(), ids_.begin(), ids_.end());
        }
        b.mask.assign(b.ids.size(), 1);
      } else {
        std::vector<std::vector<int32_t>> seqs(n);
        for (size_t j = 0; j < n; ++j) {
          const std::vector<uint8_t>& del = deleted[first + j];
          for (int t = 0; t < T_; ++t) {
            const int32_t w = word_of_[static_cast<size_t>(t)];
            const bool gone = w >= 0 && del[static_cast<size_t>(w)];
            if (!gone)
              seqs[j].push_back(ids_[static_cast<size_t>(t)]);
            else if (mode_ != DeletionMode::remove)
              seqs[j].push_back(replace_);
          }
        }
        b.T = 1;
        for (const auto& s : seqs) b.T = std::max(b.T, static_cast<int>(s.size()));
        const int32_t pad = model_.config().pad_token_id;
        for (const auto& s : seqs)
          for (int t = 0; t < b.T; ++t) {
            const bool real = t < static_cast<int>(s.size());
            b.ids.push_back(real ? s[static_cast<size_t>(t)] : pad);
            // Everything removed: one padding token stands for the empty text.
            b.mask.push_back(real || (s.empty() && t == 0) ? 1 : 0);
          }
        x.resize(static_cast<size_t>(b.B) * b.T * D_);
        model_.embed(b, x.data());
      }
      Graph<float> g;
      Var xv = g.input(Shape{b.B, b.T, D_}, x.data(), false);
      Var logits = model_.forward(g, xv, b);
      const float* l = g.value(logits);
      for (size_t j = 0; j < n; ++j) {
        const float* row = l + j * static_cast<size_t>(C);
        const float mx = *std::max_element(row, row + C);
        double z = 0;
        for (int c = 0; c < C; ++c) z += std::exp(static_cast<double>(row[c]) - mx);
        for (int c = 0; c < C; ++c)
          probs[(first + j) * static_cast<size_t>(C) + static_cast<size_t>(c)] =
              static_cast<float>(std::exp(static_cast<double>(row[c]) - mx) / z);
      }
    }
    return probs;
  }

 private:
  const Model& model_;
  DeletionMode mode_;
  std::vector<int32_t> ids_, word_of_;
  int T_ = 0, D_ = 0;
  std::vector<float> emb_;
  int32_t replace_ = -1;
};

}  // namespace

namespace evaluation {

namespace {
ExplainRequest explain_request(const EvalOptions& o, const std::string& method, int target) {
  ExplainRequest req;
  req.method = method;
  auto it = o.method_options.find(method);
  if (it != o.method_options.end()) req.options = it->second;
  req.target = target;
  req.max_length = o.max_length;
  req.device = o.device;
  req.masked_lm = o.masked_lm;
  req.masked_lm_tokenizer = o.masked_lm_tokenizer;
  return req;
}
}  // namespace

std::vector<double> word_scores(const Explanation& e) {
  std::vector<double> s;
  s.reserve(e.words.size());
  for (const WordScore& w : e.words) s.push_back(w.score);
  return s;
}

std::vector<double> random_scores(size_t n, uint64_t seed, int64_t index, int salt) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index) * 0xBF58476D1CE4E5B9ULL +
               static_cast<uint64_t>(salt) * 0x94D049BB133111EBULL + 1;
  std::vector<double> s(n);
  for (double& v : s) {
    // splitmix64: the same numbers on every platform.
    x += 0x9E3779B97F4A7C15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    v = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
  }
  return s;
}

std::vector<uint8_t> first_of(const std::vector<int>& order, int k, size_t W) {
  std::vector<uint8_t> m(W, 0);
  for (int i = 0; i < k && i < static_cast<int>(order.size()); ++i) m[static_cast<size_t>(order[static_cast<size_t>(i)])] = 1;
  return m;
}

Explanation DocumentContext::explain(const std::string& method, int target) const {
  return wordlight::explain(model, tokenizer, example.text, explain_request(options, method, target));
}
Explanation DocumentContext::explain2(const std::string& method, int target) const {
  return wordlight::explain(*options.model2, *options.tokenizer2, example.text, explain_request(options, method, target));
}

}  // namespace evaluation

DocumentRecord evaluate_document(const Model& model, const Tokenizer& tokenizer, const EvalExample& example, int label,
                                 int64_t index, const EvalOptions& o) {
  using namespace evaluation;
  DocumentRecord r;
  r.index = index;
  r.id = example.id;
  r.label = label;

  // The explanations, by the real methods, of the predicted class.
  std::map<std::string, Explanation> ex;
  for (const std::string& m : o.methods) {
    if (m == "random") continue;
    ex[m] = wordlight::explain(model, tokenizer, example.text, explain_request(o, m, -1));
    check_explanation_finite(ex[m]);
  }
  // The document's words and prediction (from any explanation; with only
  // the random control, from a gradient explanation, which also gives them).
  const Explanation base =
      ex.empty() ? wordlight::explain(model, tokenizer, example.text, explain_request(o, "gradient", -1)) : ex.begin()->second;
  const Prediction& p = base.prediction;
  check_prediction_finite(p, "evaluate");
  r.predicted = p.label;
  r.probabilities = p.probabilities;
  r.logits = p.logits;
  r.tokens = static_cast<int>(base.tokens.size());
  r.truncated = base.truncated;
  const size_t W = base.words.size();
  for (const WordScore& w : base.words) r.words.push_back(w.text);
  if (!example.rationales.empty()) {
    r.rationale.assign(W, 0);
    for (size_t i = 0; i < W; ++i)
      for (const Span& s : example.rationales)
        if (std::max(s.begin, base.words[i].span.begin) < std::min(s.end, base.words[i].span.end)) r.rationale[i] = 1;
  }

  DocumentContext doc{model, tokenizer, example, o, base, r, model.output_dim(), W, r.predicted == label, {}, {}};
  std::vector<const MetricFamily*> families;
  for (const MetricFamily& f : metric_families())
    if (o.metrics.count(f.name)) families.push_back(&f);
  for (const MetricFamily* f : families)
    if (f->prepare) f->prepare(doc);

  Perturber perturb(model, tokenizer, base, o.deletion);
  for (const std::string& m : o.methods) {
    MethodRecord mr;
    const bool is_random = m == "random";
    if (is_random) {
      mr.scores = random_scores(W, o.seed, index, 0);
    } else {
      const Explanation& e = ex.at(m);
      if (e.words.size() != W) throw Error(m + ": explained " + std::to_string(e.words.size()) + " words, not " + std::to_string(W));
      mr.scores = word_scores(e);
      mr.seconds = e.seconds;
      mr.evaluations = e.model_evaluations;
    }
    // Every family's copies of the text, run through the model together.
    std::vector<std::vector<uint8_t>> copies;
    MethodContext mc{doc, m, is_random, mr, rank_by_score(mr.scores, true), &copies};
    std::vector<ReadPerturbed> readers;
    for (const MetricFamily* f : families)
      if (f->per_method)
        if (ReadPerturbed read = f->per_method(mc)) readers.push_back(std::move(read));
    // As many copies a pass as fit the memory budget (the default: this
    // worker's share of half the free memory); --batch-size is a cap.
    const std::vector<float> probs = perturb.run(copies, rows_that_fit(model.config(), static_cast<int>(base.tokens.size()),
                                                                       RowPass::forward, o.memory_mb, std::max(1, o.batch_size), "evaluate"));
    const size_t C = static_cast<size_t>(doc.classes);
    const PerturbedRow row = [&](size_t i) { return probs.data() + i * C; };
    for (const ReadPerturbed& read : readers) read(row);
    for (double& v : mr.scores) v = round6(v);
    for (double& v : mr.true_scores) v = round6(v);
    for (double& v : mr.scores2) v = round6(v);
    mr.seconds = round6(mr.seconds);
    r.methods[m] = std::move(mr);
  }
  for (float& v : r.probabilities) v = static_cast<float>(round6(v));
  for (float& v : r.logits) v = static_cast<float>(round6(v));
  for (float& v : r.logits2) v = static_cast<float>(round6(v));
  return r;
}

// ------------------------------------------------------------------ JSON
std::string record_to_json(const DocumentRecord& r) {
  Json j;
  j["index"] = r.index;
  j["id"] = r.id;
  if (!r.error.empty()) {
    j["error"] = r.error;
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  j["label"] = r.label;
  j["predicted"] = r.predicted;
  j["probabilities"] = r.probabilities;
  j["logits"] = r.logits;
  if (!r.logits2.empty()) j["logits2"] = r.logits2;
  j["tokens"] = r.tokens;
  j["truncated"] = r.truncated;
  j["words"] = r.words;
  if (!r.rationale.empty()) j["rationale"] = r.rationale;
  if (!r.uniform_docvec.empty()) j["uniform_docvec"] = r.uniform_docvec;
  Json ms = Json::object();
  for (const auto& kv : r.methods) {
    const MethodRecord& m = kv.second;
    Json o;
    o["scores"] = m.scores;
    if (!m.true_scores.empty()) o["true_scores"] = m.true_scores;
    o["seconds"] = m.seconds;
    o["evaluations"] = m.evaluations;
    if (!m.deletion.empty()) o["deletion"] = m.deletion;
    if (!m.comprehensiveness.empty()) o["comprehensiveness"] = m.comprehensiveness;
    if (!m.sufficiency.empty()) o["sufficiency"] = m.sufficiency;
    if (!m.faithfulness.empty()) o["faithfulness"] = m.faithfulness;
    if (!m.confidence_features.empty()) o["confidence_features"] = m.confidence_features;
    if (!m.docvec.empty()) o["docvec"] = m.docvec;
    if (!m.scores2.empty()) o["scores2"] = m.scores2;
    ms[kv.first] = o;
  }
  j["methods"] = ms;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {
// Integers from an untrusted line: nlohmann's get<int>() of 1e30 is
// undefined behaviour and of 2^40 wraps (the fuzzer found the first), so
// integer fields must be JSON integers within the type's range.
template <class T>
T checked_int(const Json& v, const char* key) {
  using L = std::numeric_limits<T>;
  if (!v.is_number_integer()) throw Error(std::string("\"") + key + "\" must hold integers");
  const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(L::max())
                                               : v.get<int64_t>() >= static_cast<int64_t>(L::min()) &&
                                                     v.get<int64_t>() <= static_cast<int64_t>(L::max());
  if (!in_range) throw Error(std::string("\"") + key + "\" holds an integer out of range");
  return static_cast<T>(v.get<int64_t>());
}
template <class T>
void get_ints(const Json& v, const char* key, std::vector<T>& out) {
  if (!v.is_array()) throw Error(std::string("\"") + key + "\" must be an array");
  out.clear();
  for (const Json& x : v) out.push_back(checked_int<T>(x, key));
}
template <class T>
void get_opt(const Json& j, const char* key, T& out) {
  if (j.contains(key)) out = j.at(key).get<T>();
}
void get_opt(const Json& j, const char* key, std::vector<int>& out) {
  if (j.contains(key)) get_ints(j.at(key), key, out);
}
void get_opt(const Json& j, const char* key, std::vector<uint8_t>& out) {
  if (j.contains(key)) get_ints(j.at(key), key, out);
}
}  // namespace

DocumentRecord record_from_json(const std::string& line) {
  Json j;
  check_json_depth(line, "a results line");
  try {
    j = Json::parse(line);
  } catch (const Json::exception& e) {
    throw Error(std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("index") ||
      (!j.contains("error") && (!j.contains("methods") || !j["methods"].is_object())))
    throw Error("not a result record (needs \"index\" and \"methods\")");
  DocumentRecord r;
  try {
    r.index = checked_int<int64_t>(j.at("index"), "index");
    r.id = j.at("id").get<std::string>();
    if (j.contains("error")) {
      r.error = j.at("error").get<std::string>();
      return r;
    }
    r.label = checked_int<int>(j.at("label"), "label");
    r.predicted = checked_int<int>(j.at("predicted"), "predicted");
    r.probabilities = j.at("probabilities").get<std::vector<float>>();
    r.logits = j.at("logits").get<std::vector<float>>();
    get_opt(j, "logits2", r.logits2);
    r.tokens = checked_int<int>(j.at("tokens"), "tokens");
    r.truncated = j.at("truncated").get<bool>();
    r.words = j.at("words").get<std::vector<std::string>>();
    get_opt(j, "rationale", r.rationale);
    get_opt(j, "uniform_docvec", r.uniform_docvec);
    for (const auto& kv : j["methods"].items()) {
      const Json& o = kv.value();
      MethodRecord m;
      m.scores = o.at("scores").get<std::vector<double>>();
      get_opt(o, "true_scores", m.true_scores);
      m.seconds = o.at("seconds").get<double>();
      m.evaluations = checked_int<int64_t>(o.at("evaluations"), "evaluations");
      get_opt(o, "deletion", m.deletion);
      get_opt(o, "comprehensiveness", m.comprehensiveness);
      get_opt(o, "sufficiency", m.sufficiency);
      get_opt(o, "faithfulness", m.faithfulness);
      get_opt(o, "confidence_features", m.confidence_features);
      get_opt(o, "docvec", m.docvec);
      get_opt(o, "scores2", m.scores2);
      if (m.scores.size() != r.words.size()) throw Error("method " + kv.key() + " has a score count unlike the words'");
      r.methods[kv.key()] = std::move(m);
    }
  } catch (const Json::exception& e) {
    throw Error(std::string("a field is missing or of the wrong type (") + e.what() + ")");
  }
  return r;
}

RecordFile read_records(const std::string& path) {
  RecordFile f;
  std::ifstream in(path, std::ios::binary);
  if (!in) return f;  // no file yet: nothing done
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      f.records.push_back(record_from_json(line));
    } catch (const Error& e) {
      f.errors.push_back(path + ": line " + std::to_string(line_no) + ": " + e.what());
    }
  }
  return f;
}

}  // namespace wordlight
