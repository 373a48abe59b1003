// Explanation -> JSON (the CLI's --json, the JS API's result).
#include <cmath>
#include <nlohmann/json.hpp>

#include "explain_internal.h"

namespace wordlight {

namespace {
// JSON has no NaN / infinity: null.
nlohmann::ordered_json num(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}
}  // namespace

std::string explanation_to_json(const Explanation& e, int indent) {
  using json = nlohmann::ordered_json;
  json j;
  j["method"] = e.method;
  j["options"] = e.options;
  j["title"] = e.title;
  j["scores"] = e.signed_scores ? "signed" : "unsigned";
  j["explains"] = e.explains;
  j["text"] = e.text;
  const Prediction& p = e.prediction;
  json pj;
  pj["label"] = p.label;
  pj["label_name"] = p.label_name;
  pj["logits"] = p.logits;
  pj["probabilities"] = p.probabilities;
  if (p.multi_label) pj["multi_label"] = true;  // absent for single-label models (softmax)
  pj["target"] = p.target;
  pj["target_name"] = p.target_name;
  pj["output"] = p.output;
  pj["explained_value"] = num(p.explained_value);
  j["prediction"] = pj;
  json toks = json::array();
  for (const TokenScore& t : e.tokens)
    toks.push_back({{"token", t.token},
                    {"id", t.id},
                    {"begin", t.span.begin},
                    {"end", t.span.end},
                    {"word", t.word},
                    {"special", t.special},
                    {"unknown", t.unknown},
                    {"score", num(t.score)}});
  j["tokens"] = toks;
  json words = json::array();
  for (const WordScore& w : e.words) {
    words.push_back({{"text", w.text},
                     {"begin", w.span.begin},
                     {"end", w.span.end},
                     {"score", num(w.score)},
                     {"unknown", w.unknown},
                     {"tokens", w.tokens}});
    if (w.standard_error >= 0) words.back()["standard_error"] = num(w.standard_error);
    if (!w.candidates.empty()) {
      json cs = json::array();
      for (const WordCandidate& c : w.candidates)
        cs.push_back({{"text", c.text}, {"weight", num(c.weight)}, {"probability", num(c.probability)},
                      {"output", num(c.output)}});
      words.back()["candidates"] = cs;
    }
  }
  j["words"] = words;
  json checks = json::array();
  for (const ExplanationCheck& c : e.checks)
    checks.push_back({{"name", c.name},
                      {"value", num(c.value)},
                      {"reference", num(c.reference)},
                      {"relative", num(c.relative)},
                      {"description", c.description}});
  j["checks"] = checks;
  if (!e.layers.empty()) {
    json layers = json::array();
    for (const LayerScores& l : e.layers) {
      json s = json::array();
      for (double v : l.token_scores) s.push_back(num(v));
      json top = json::array();
      for (const NeuronScore& n : l.top_neurons) top.push_back({{"neuron", n.index}, {"score", num(n.score)}});
      layers.push_back({{"layer", l.layer},
                        {"token_scores", s},
                        {"total", num(l.total)},
                        {"absorbed", num(l.absorbed)},
                        {"neurons", l.neurons},
                        {"top_neurons", top}});
    }
    j["layers"] = layers;
  }
  if (!e.token_interactions.empty() || !e.word_interactions.empty()) {
    // Row-major matrices as arrays of rows (integrated-hessians).
    auto rows = [&](const std::vector<double>& m, size_t n) {
      json r = json::array();
      for (size_t i = 0; i < n && (i + 1) * n <= m.size(); ++i) {
        json row = json::array();
        for (size_t k = 0; k < n; ++k) row.push_back(num(m[i * n + k]));
        r.push_back(row);
      }
      return r;
    };
    j["interactions"] = {{"tokens", rows(e.token_interactions, e.tokens.size())},
                         {"words", rows(e.word_interactions, e.words.size())}};
  }
  if (!e.unit.empty()) j["unit"] = e.unit;
  j["model_evaluations"] = e.model_evaluations;
  j["seconds"] = e.seconds;
  j["truncated"] = e.truncated;
  if (e.truncated) j["notice"] = e.notice;
  if (e.device != "cpu") j["device"] = e.device;
  const Unread& u = e.unread;
  j["unread"] = {{"words", u.words},
                 {"unknown_words", u.unknown_words},
                 {"truncated_words", u.truncated_words},
                 {"truncated_from", u.truncated_from},
                 {"share", num(u.share)}};
  if (e.convergence.present) {
    const Convergence& c = e.convergence;
    j["convergence"] = {{"adaptive", c.adaptive},   {"steps", c.steps},         {"gap", num(c.gap)},
                        {"change", num(c.change)},  {"tolerance", c.tolerance}, {"converged", c.converged},
                        {"tried", c.tried}};
  }
  if (!e.path.alphas.empty()) {
    json f = json::array();
    for (double v : e.path.f) f.push_back(num(v));
    j["path"] = {{"alphas", e.path.alphas},
                 {"weights", e.path.weights},
                 {"f", f},
                 {"f_baseline", num(e.path.f_baseline)},
                 {"f_input", num(e.path.f_input)}};
  }
  // Invalid UTF-8 in the text (or a token) is replaced rather than thrown on.
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace wordlight
