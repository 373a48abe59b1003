// The generator table, option checks, the search shared by the generators
// (edited texts, batched predictions, the minimal-set enumeration), whole
// vocabulary words, and the JSON of a result.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "../explain/explain_internal.h"
#include "counterfactual_internal.h"
#include "wordlight/finite_check.h"
#include "wordlight/predict.h"

namespace wordlight {

namespace {

using explain_detail::int_option;

// The explanation methods that rank words for ablation-flip and mlm-edits:
// those that explain the output.
OptionSpec method_opt() {
  OptionSpec o;
  o.name = "method";
  o.type = OptionType::choice;
  o.default_value = "gradient-x-input";
  for (const MethodInfo& m : explanation_methods())
    if (m.explains == "output") o.choices.push_back(m.name);
  o.description = "the explanation method (with its defaults) that ranks the words; signed scores: the words that "
                  "speak most for the prediction first, unsigned: the largest";
  return o;
}

GeneratorInfo generator(const char* name, const char* title, const char* description, std::vector<OptionSpec> options,
                        const char* cost) {
  GeneratorInfo g;
  g.name = name;
  g.title = title;
  g.description = description;
  g.options = std::move(options);
  g.cost = cost;
  return g;
}

std::vector<GeneratorInfo> make_generators() {
  const OptionSpec max_cf = int_option("max-counterfactuals", 5, 1, 50, "stop after this many flips");
  const OptionSpec batch = int_option("batch-size", 32, 1, 4096, "edited texts run through the model at once");
  GeneratorInfo hot = generator(
      "hotflip", "HotFlip",
      "replace words by the vocabulary word the margin's gradient points to (Ebrahimi et al. 2018, as LIT)",
      {int_option("positions", 10, 1, 64, "words considered, by their squared gradient"),
       int_option("max-flips", 3, 1, 5, "most words replaced at once"), max_cf, batch},
      "1 backward pass, then at most sum_{j<=max-flips} C(positions, j) texts (175 with the defaults)");
  GeneratorInfo abl = generator(
      "ablation-flip", "Ablation flip", "delete the fewest of the most relevant words that flips the decision (as LIT)",
      {method_opt(), int_option("positions", 10, 1, 64, "most relevant words considered"),
       int_option("max-deletions", 5, 1, 8, "most words deleted at once"), max_cf, batch},
      "one explanation, then at most sum_{j<=max-deletions} C(positions, j) texts (637 with the defaults)");
  GeneratorInfo mlm = generator(
      "mlm-edits", "MLM-guided minimal edits",
      "replace the most relevant words by a masked LM's fills, fewest first, the fluent ones first",
      {method_opt(), int_option("positions", 4, 1, 10, "most relevant words masked (k)"),
       int_option("fills", 5, 1, 50, "the masked LM's best whole-word fills tried at each (m)"),
       int_option("max-evaluations", 500, 1, 1000000, "cap on edited texts tried (the full search is sum_j C(k, j) m^j)"),
       max_cf,
       int_option("fluency-pool", 20, 1, 1000,
                  "flips of the smallest size whose fluency (pseudo-log-likelihood) is measured to order them"),
       batch},
      "one explanation, one masked-LM pass, min(sum_j C(k, j) m^j, max-evaluations) texts, and one masked-LM pass per "
      "token of each flip whose fluency is measured");
  mlm.needs_mlm = true;
  return {hot, abl, mlm};
}

}  // namespace

const std::vector<GeneratorInfo>& counterfactual_generators() {
  static const std::vector<GeneratorInfo> g = make_generators();
  return g;
}

const GeneratorInfo& generator_info(const std::string& name) {
  std::string known;
  for (const GeneratorInfo& g : counterfactual_generators()) {
    if (g.name == name) return g;
    known += (known.empty() ? "" : ", ") + g.name;
  }
  throw Error("unknown counterfactual generator '" + name + "'; known generators: " + known);
}

MethodOptions resolve_generator_options(const std::string& generator, const MethodOptions& given) {
  return resolve_option_specs(generator, generator_info(generator).options, given);
}

// ------------------------------------------------------------ whole words
namespace {

// GPT-2's byte-level alphabet backwards: code point -> byte (-1: none).
int byte_of_code_point(uint32_t cp) {
  static const std::vector<int> table = [] {
    std::vector<int> t(512, -1);
    std::vector<bool> direct(256, false);
    for (int b = 33; b <= 126; ++b) direct[static_cast<size_t>(b)] = true;
    for (int b = 161; b <= 172; ++b) direct[static_cast<size_t>(b)] = true;
    for (int b = 174; b <= 255; ++b) direct[static_cast<size_t>(b)] = true;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      if (direct[static_cast<size_t>(b)])
        t[static_cast<size_t>(b)] = b;
      else
        t[static_cast<size_t>(256 + n++)] = b;
    }
    return t;
  }();
  return cp < table.size() ? table[cp] : -1;
}

// Byte-level BPE token text -> bytes; "" when a character is not of the alphabet.
std::string byte_level_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    int len;
    if (c < 0x80) cp = c, len = 1;
    else if ((c >> 5) == 6) cp = c & 0x1f, len = 2;
    else return "";  // the alphabet lies below U+0800
    if (i + static_cast<size_t>(len) > s.size()) return "";
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3f);
    const int b = byte_of_code_point(cp);
    if (b < 0) return "";
    out.push_back(static_cast<char>(b));
    i += static_cast<size_t>(len);
  }
  return out;
}

}  // namespace

std::string whole_word_text(const Tokenizer& tok, int32_t id) {
  if (id < 0 || id >= tok.vocab_size()) return "";
  const SpecialTokens& sp = tok.special_tokens();
  if (id == sp.pad_id || id == sp.unk_id || id == sp.mask_id) return "";
  for (int32_t s : sp.prefix_ids)
    if (s == id) return "";
  for (int32_t s : sp.suffix_ids)
    if (s == id) return "";
  for (const AddedToken& a : tok.added_tokens())
    if (a.id == id) return "";
  const std::string& t = tok.id_to_token(id);
  std::string word = t, probe = t;
  if (tok.kind() == "bpe") {
    const std::string bytes = byte_level_decode(t);
    if (bytes.empty()) return "";
    word = bytes[0] == ' ' ? bytes.substr(1) : bytes;
    probe = bytes;
  }
  bool alnum = false;
  for (unsigned char c : word) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return "";
    alnum = alnum || std::isalnum(c) || c >= 0x80;
  }
  if (!alnum) return "";
  const std::vector<RawToken> raw = tok.tokenize(probe);
  return raw.size() == 1 && raw[0].id == id ? word : "";
}

// ------------------------------------------------------------ the search
namespace cf_detail {

long long Search::integer(const std::string& name) const { return std::stoll(options.at(name)); }
const std::string& Search::str(const std::string& name) const { return options.at(name); }

bool Search::locked(int32_t word) const {
  return std::find(r.locked.begin(), r.locked.end(), word) != r.locked.end();
}

void Search::check_cancel() const {
  if (request.control.cancel && request.control.cancel->load()) throw Cancelled();
}

void Search::progress() const {
  if (request.control.progress) request.control.progress(r.model_evaluations, std::max(planned, r.model_evaluations));
}

std::vector<Prediction> Search::predict(const std::vector<std::string>& texts) {
  if (texts.empty()) return {};
  EncodeOptions eo;
  eo.max_length = request.max_length;
  std::vector<std::vector<int32_t>> seqs;
  for (const std::string& t : texts) seqs.push_back(tokenizer.encode(t, eo).ids);
  const TokenBatch b = pad_batch(model, seqs);
  const BatchForward f = forward_batch(model, b);
  std::vector<Prediction> out;
  const int C = model.output_dim();
  for (int i = 0; i < b.B; ++i) {
    out.push_back(prediction_from_logits(model, f.logits.data() + static_cast<size_t>(i) * C));
    check_prediction_finite(out.back(), "counterfactual");
  }
  r.model_evaluations += b.B;
  return out;
}

bool Search::rank_by_method(const std::string& method) {
  ExplainRequest er;
  er.method = method;
  er.max_length = request.max_length;
  er.control.cancel = request.control.cancel;
  const int64_t before = r.model_evaluations;
  er.control.progress = [this, before](int64_t done, int64_t total) {
    if (request.control.progress) request.control.progress(before + done, std::max(planned, before + total));
  };
  const Explanation e = explain(model, tokenizer, text, er);
  r.model_evaluations += e.model_evaluations;
  const bool signed_scores = e.signed_scores;
  for (size_t w = 0; w < r.words.size() && w < e.words.size(); ++w) r.words[w].score = e.words[w].score;
  r.ranking = method + (signed_scores ? " (signed: for the prediction first)" : " (unsigned: largest first)");
  return signed_scores;
}

std::vector<int32_t> Search::most_relevant_unlocked(const std::string& method, int k) {
  const bool signed_scores = rank_by_method(method);
  std::vector<int32_t> order;
  for (size_t w = 0; w < r.words.size(); ++w)
    if (!locked(static_cast<int32_t>(w))) order.push_back(static_cast<int32_t>(w));
  auto key = [&](int32_t w) {
    const double v = r.words[static_cast<size_t>(w)].score;
    return signed_scores ? v : std::fabs(v);
  };
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return key(a) > key(b); });
  if (order.size() > static_cast<size_t>(k)) order.resize(static_cast<size_t>(k));
  return order;
}

std::string apply_edits(const std::string& text, const std::vector<WordScore>& words, const Choice& choice,
                        std::vector<CounterfactualEdit>* edits) {
  Choice sorted = choice;
  std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
    return words[static_cast<size_t>(a.first)].span.begin < words[static_cast<size_t>(b.first)].span.begin;
  });
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::string out;
  size_t pos = 0;
  for (const auto& [w, rep] : sorted) {
    const WordScore& ws = words[static_cast<size_t>(w)];
    CounterfactualEdit e;
    e.word = w;
    e.span = ws.span;
    e.original = ws.text;
    e.replacement = rep;
    out.append(text, pos, ws.span.begin - pos);
    pos = ws.span.end;
    if (rep.empty()) {
      while (pos < text.size() && space(text[pos])) ++pos;
      if (pos == text.size())
        while (!out.empty() && space(out.back())) out.pop_back();
      e.new_span = {out.size(), out.size()};
    } else {
      e.new_span = {out.size(), out.size() + rep.size()};
      out += rep;
    }
    if (edits) edits->push_back(std::move(e));
  }
  out.append(text, pos, std::string::npos);
  return out;
}

int64_t search_size(int n, int m, int max_size) {
  const int64_t big = int64_t(1) << 60;
  int64_t total = 0, comb = 1, mp = 1;
  for (int j = 1; j <= std::min(n, max_size); ++j) {
    comb = comb * (n - j + 1) / j;
    mp = std::min(big, mp * m);
    const double t = static_cast<double>(comb) * static_cast<double>(mp);
    total = t > static_cast<double>(big - total) ? big : total + static_cast<int64_t>(t);
  }
  return total;
}

void search(Search& s, const std::vector<int32_t>& positions, const std::vector<std::vector<std::string>>& options,
            int max_size, int max_found, bool finish_level, int64_t cap) {
  const int n = static_cast<int>(positions.size());
  std::vector<std::set<int32_t>> found;  // word sets that flipped
  std::vector<Choice> pending;
  bool stop = false;
  auto flush = [&] {
    if (pending.empty()) return;
    s.check_cancel();
    std::vector<std::string> texts;
    std::vector<std::vector<CounterfactualEdit>> edits(pending.size());
    for (size_t i = 0; i < pending.size(); ++i) texts.push_back(apply_edits(s.text, s.r.words, pending[i], &edits[i]));
    const std::vector<Prediction> preds = s.predict(texts);
    s.r.texts_tried += static_cast<int64_t>(texts.size());
    for (size_t i = 0; i < pending.size(); ++i) {
      if (preds[i].label == s.r.prediction.label) continue;
      if (!finish_level && static_cast<int>(s.r.counterfactuals.size()) >= max_found) break;
      std::set<int32_t> ws;
      for (const auto& c : pending[i]) ws.insert(c.first);
      found.push_back(ws);
      Counterfactual cf;
      cf.text = texts[i];
      cf.edits = std::move(edits[i]);
      cf.prediction = preds[i];
      cf.probability = preds[i].probabilities[static_cast<size_t>(preds[i].label)];
      cf.evaluations = s.r.model_evaluations;
      s.r.counterfactuals.push_back(std::move(cf));
    }
    pending.clear();
    s.progress();
    if (!finish_level && static_cast<int>(s.r.counterfactuals.size()) >= max_found) stop = true;
  };
  const int batch = static_cast<int>(s.integer("batch-size"));
  for (int j = 1; j <= std::min(n, max_size) && !stop; ++j) {
    std::vector<int> idx(static_cast<size_t>(j));
    for (int i = 0; i < j; ++i) idx[static_cast<size_t>(i)] = i;
    while (!stop) {
      // Skip supersets of a flip found at a smaller size.
      bool superset = false;
      for (const auto& f : found) {
        size_t hit = 0;
        for (int i : idx) hit += f.count(positions[static_cast<size_t>(i)]);
        if (hit == f.size() && f.size() < static_cast<size_t>(j)) superset = true;
      }
      bool any_empty = false;
      for (int i : idx) any_empty = any_empty || options[static_cast<size_t>(i)].empty();
      if (!superset && !any_empty) {
        std::vector<size_t> pick(static_cast<size_t>(j), 0);  // odometer over the positions' options
        while (true) {
          if (s.r.texts_tried + static_cast<int64_t>(pending.size()) >= cap) {
            s.r.capped = true;
            stop = true;
            break;
          }
          Choice c;
          for (int i = 0; i < j; ++i)
            c.push_back({positions[static_cast<size_t>(idx[static_cast<size_t>(i)])],
                         options[static_cast<size_t>(idx[static_cast<size_t>(i)])][pick[static_cast<size_t>(i)]]});
          pending.push_back(std::move(c));
          if (static_cast<int>(pending.size()) >= batch) {
            flush();
            if (stop) break;
          }
          int k = j - 1;
          while (k >= 0 && ++pick[static_cast<size_t>(k)] == options[static_cast<size_t>(idx[static_cast<size_t>(k)])].size())
            pick[static_cast<size_t>(k--)] = 0;
          if (k < 0) break;
        }
      }
      if (stop) break;
      // Next combination of j of the n positions.
      int i = j - 1;
      while (i >= 0 && idx[static_cast<size_t>(i)] == n - j + i) --i;
      if (i < 0) break;
      ++idx[static_cast<size_t>(i)];
      for (int k = i + 1; k < j; ++k) idx[static_cast<size_t>(k)] = idx[static_cast<size_t>(k - 1)] + 1;
    }
    flush();
    if (static_cast<int>(s.r.counterfactuals.size()) >= max_found) stop = true;
  }
  flush();
}

}  // namespace cf_detail

// ------------------------------------------------------------ entry
CounterfactualResult find_counterfactuals(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                          const CounterfactualRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  const GeneratorInfo& info = generator_info(request.generator);
  if (model.config().head != ModelHead::SequenceClassification)
    throw Error("counterfactual: " + model.config().architecture + " is not a sequence classifier");
  if (model.output_dim() < 2) throw Error("counterfactual: the model has one output; a decision needs two classes");
  if (info.needs_mlm && (!request.mlm || !request.mlm_tokenizer))
    throw Error(info.name + " needs a masked language model (the CLI's --mlm DIR, the page's MLM)");
  if (info.needs_mlm && request.mlm->config().head != ModelHead::MaskedLM)
    throw Error(info.name + ": " + request.mlm->config().architecture + " is not a masked language model");
  const MethodOptions opts = resolve_generator_options(info.name, request.options);
  EncodeOptions eo;
  eo.max_length = request.max_length;
  const Encoding enc = tokenizer.encode(text, eo);
  CounterfactualResult r;
  r.generator = info.name;
  r.options = opts;
  r.text = text;
  r.words = words_of(enc, text);
  if (r.words.empty()) throw Error("counterfactual: the text has no words");
  if (enc.truncated) r.notice = enc.notice;
  for (int32_t w : request.locked) {
    if (w < 0 || static_cast<size_t>(w) >= r.words.size())
      throw Error("counterfactual: locked word " + std::to_string(w) + " is out of range [0, " +
                  std::to_string(r.words.size() - 1) + "]");
    if (std::find(r.locked.begin(), r.locked.end(), w) == r.locked.end()) r.locked.push_back(w);
  }
  std::sort(r.locked.begin(), r.locked.end());
  if (request.control.cancel && request.control.cancel->load()) throw Cancelled();
  cf_detail::Search s{model, tokenizer, text, request, opts, enc, r};
  s.r.prediction = s.predict({text})[0];
  s.r.texts_tried = 0;
  if (info.name == "hotflip") cf_detail::run_hotflip(s);
  else if (info.name == "ablation-flip") cf_detail::run_ablation_flip(s);
  else cf_detail::run_mlm_edits(s);
  if (r.capped)
    r.notice += std::string(r.notice.empty() ? "" : " ") + "The search stopped at the cap of " +
                opts.at("max-evaluations") + " edited texts (the full search: " + std::to_string(r.search_size) + ").";
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// ------------------------------------------------------------ JSON
namespace {
using json = nlohmann::ordered_json;

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json prediction_json(const Prediction& p) {
  json j;
  j["label"] = p.label;
  j["label_name"] = p.label_name;
  j["logits"] = p.logits;
  j["probabilities"] = p.probabilities;
  if (p.multi_label) j["multi_label"] = true;
  return j;
}

json option_json(const OptionSpec& o) {
  json j;
  j["name"] = o.name;
  j["type"] = option_type_name(o.type);
  if (o.type == OptionType::integer) j["default"] = std::stoll(o.default_value);
  else if (o.type == OptionType::number) j["default"] = std::strtod(o.default_value.c_str(), nullptr);
  else j["default"] = o.default_value;
  if (o.type == OptionType::integer || o.type == OptionType::number) {
    j["min"] = o.min;
    j["max"] = o.max;
  }
  if (o.type == OptionType::choice) j["choices"] = o.choices;
  j["description"] = o.description;
  return j;
}
}  // namespace

std::string counterfactuals_to_json(const CounterfactualResult& r, int indent) {
  json j;
  j["generator"] = r.generator;
  j["title"] = generator_info(r.generator).title;
  j["options"] = r.options;
  j["text"] = r.text;
  j["prediction"] = prediction_json(r.prediction);
  json words = json::array();
  for (const WordScore& w : r.words)
    words.push_back({{"text", w.text}, {"begin", w.span.begin}, {"end", w.span.end}, {"score", num(w.score)}});
  j["words"] = words;
  j["ranking"] = r.ranking;
  j["positions"] = r.positions;
  j["candidates"] = r.candidates;
  j["locked"] = r.locked;
  json cfs = json::array();
  for (const Counterfactual& c : r.counterfactuals) {
    json cj;
    cj["text"] = c.text;
    json edits = json::array();
    for (const CounterfactualEdit& e : c.edits)
      edits.push_back({{"word", e.word},
                       {"begin", e.span.begin},
                       {"end", e.span.end},
                       {"original", e.original},
                       {"replacement", e.replacement},
                       {"deleted", e.replacement.empty()},
                       {"new_begin", e.new_span.begin},
                       {"new_end", e.new_span.end}});
    cj["edits"] = edits;
    cj["prediction"] = prediction_json(c.prediction);
    cj["probability"] = num(c.probability);
    if (c.has_fluency) {
      cj["fluency"] = num(c.fluency);
      cj["fluency_per_token"] = num(c.fluency_per_token);
    }
    cj["evaluations"] = c.evaluations;
    cfs.push_back(std::move(cj));
  }
  j["counterfactuals"] = cfs;
  j["model_evaluations"] = r.model_evaluations;
  j["mlm_evaluations"] = r.mlm_evaluations;
  j["texts_tried"] = r.texts_tried;
  j["search_size"] = r.search_size;
  j["capped"] = r.capped;
  if (r.has_fluency) {
    j["fluency"] = num(r.fluency);
    j["fluency_per_token"] = num(r.fluency_per_token);
  }
  if (!r.notice.empty()) j["notice"] = r.notice;
  j["seconds"] = r.seconds;
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string counterfactual_generators_to_json(int indent) {
  json out = json::array();
  for (const GeneratorInfo& g : counterfactual_generators()) {
    json opts = json::array();
    for (const OptionSpec& o : g.options) opts.push_back(option_json(o));
    out.push_back({{"name", g.name},
                   {"title", g.title},
                   {"description", g.description},
                   {"cost", g.cost},
                   {"needs_mlm", g.needs_mlm},
                   {"options", opts}});
  }
  return out.dump(indent);
}

}  // namespace wordlight
