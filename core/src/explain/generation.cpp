// Explaining generation (generate.h): every generated token's
// log-probability (or logit, or a contrast) attributed to each earlier
// token by any classifier method of the registry.
//
// How: for the generated token at position p, the model seen by the
// method is a "next-token classifier" over the prefix ids[0, p): its output
// is the causal LM's next-token scores after the last real token (the LM
// head run at that position only), and the explained class is the token's
// id. So "log p(token | prefix)" is just another target output and every
// method (gradients, IG with its completeness check, occlusion, LRP with
// AttnLRP's rules, ...) runs unchanged, one explanation per row. The prefix
// never holds the row's own or later tokens, so the matrix is
// lower-triangular by construction; that a position never sees later tokens
// is the model's causal masking (tested on the logits).
//
// Cost: one explanation of the prefix per generated token is the naive cost
// (inseq's: one backward per target position). The methods whose row is one
// backward pass at the input (gradient, saliency, gradient-x-input, and lrp
// on the tape, whose backward mode is the same pass with a few ops' rules
// replaced) batch their rows instead: the rows of one batch are the target
// positions, each the generated sequence masked to its own prefix and read
// at its own last token, so one forward and one backward of the batch give
// every row's gradient (rows never mix in the model). Up to 16 rows per
// pass, fewer under the memory budget (memory-mb): 20 generated tokens take
// 2 backward passes instead of 20. The other methods (IG, occlusion, SHAP,
// ...) run one explanation per row.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "explain_internal.h"  // reduce_gradient, sum_over_dims, ResolvedOptions, lrp_rules_of
#include "wordlight/device_tape.h"
#include "wordlight/error.h"
#include "wordlight/generate.h"
#include "wordlight/memory_budget.h"

namespace wordlight {
namespace {

class NextTokenModel : public Model {
 public:
  NextTokenModel(const Model& lm, const std::string& score, int32_t contrast)
      : lm_(lm), score_(score), contrast_(contrast) {
    config_ = lm.config();
    config_.head = ModelHead::SequenceClassification;
    config_.num_labels = lm.output_dim();
    config_.id2label.clear();
  }
  int embedding_dim() const override { return lm_.embedding_dim(); }
  int output_dim() const override { return lm_.output_dim(); }
  void embed(const TokenBatch& batch, float* out) const override { lm_.embed(batch, out); }
  Var forward(Graph<float>& g, Var word_emb, const TokenBatch& batch) const override {
    thread_local std::vector<int32_t> last;
    last.assign(static_cast<size_t>(batch.B), 0);
    for (int b = 0; b < batch.B; ++b)
      for (int t = 0; t < batch.T; ++t)
        if (batch.mask[static_cast<size_t>(b) * batch.T + t]) last[static_cast<size_t>(b)] = b * batch.T + t;
    Var logits = lm_.forward_masked_lm(g, word_emb, batch, last);  // (B, V)
    if (score_ == "logit") return logits;
    if (score_ == "log-prob") return g.log_softmax(logits);
    // prob-diff: column t holds p(t) - p(contrast).
    Var p = g.softmax(logits);
    std::vector<int32_t> idx(static_cast<size_t>(batch.B), contrast_);
    Var pc = g.reshape(g.pick(p, idx.data()), Shape{batch.B, 1});
    return g.add(p, g.scale(pc, -1.f));
  }
  std::vector<ModelParameter> parameters() override { return {}; }
  std::string word_embedding_name() const override { return lm_.word_embedding_name(); }
  void parameters_changed() override {}

 private:
  const Model& lm_;
  std::string score_;
  int32_t contrast_;
};

// Methods whose row is one backward pass at the input: run as batches of rows
// (lrp on the tape; the BiLSTM's lrp is a pass of its own).
bool batchable(const std::string& method, const MethodOptions& resolved) {
  if (method == "gradient" || method == "saliency" || method == "gradient-x-input") return true;
  return method == "lrp" && resolved.at("composite") != "arras2017-lstm";
}

constexpr int kMaxBatchRows = 16;

void finish(GenerationExplanation& ex, std::chrono::steady_clock::time_point t0) {
  double s = 0;
  for (double f : ex.first_share) s += f;
  ex.mean_first_share = ex.first_share.empty() ? 0 : s / static_cast<double>(ex.first_share.size());
  ex.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The rows of ex.targets in batches (see the top). Fills the matrix, the
// explained values, the first-token shares and the checks (lrp: the
// conservation gap, as the method reports it; the others have none).
void batched_rows(const NextTokenModel& next, const std::vector<int32_t>& ids, int n_prompt, const Generation& gen,
                  const std::string& method, const MethodOptions& resolved, const GenerationExplainRequest& request,
                  GenerationExplanation& ex, gpu::DeviceTape* tape) {
  using explain_detail::ResolvedOptions;
  const ResolvedOptions opts(method, resolved);
  const ModelConfig& cfg = next.config();
  const int D = next.embedding_dim();
  const int S = static_cast<int>(ids.size());
  const int R = static_cast<int>(ex.targets.size());
  const bool lrp = method == "lrp";
  LrpOptions lo;
  if (lrp) lo = explain_detail::lrp_rules_of(opts, family_name(cfg.family));
  int longest = 1;
  for (int t : ex.targets) longest = std::max(longest, n_prompt + t);
  const int cap = rows_that_fit(cfg, longest, RowPass::backward, opts.number("memory-mb"), kMaxBatchRows, method);
  ex.explained.assign(static_cast<size_t>(R), 0.0);
  ex.first_share.assign(static_cast<size_t>(R), 0.0);
  ex.check_name.assign(static_cast<size_t>(R), lrp ? "conservation-gap" : "");
  ex.check_relative.assign(static_cast<size_t>(R), -1.0);
  Graph<float> g;
  for (int r0 = 0; r0 < R; r0 += cap) {
    if (request.cancel && request.cancel->load()) throw Cancelled();
    const int n = std::min(cap, R - r0);
    TokenBatch b;
    b.B = n;
    b.T = 1;
    for (int k = 0; k < n; ++k) b.T = std::max(b.T, n_prompt + ex.targets[static_cast<size_t>(r0 + k)]);
    for (int k = 0; k < n; ++k) {
      const int pos = n_prompt + ex.targets[static_cast<size_t>(r0 + k)];
      for (int t = 0; t < b.T; ++t) {
        b.ids.push_back(ids[static_cast<size_t>(t)]);
        b.mask.push_back(t < pos ? 1 : 0);
      }
    }
    std::vector<float> emb(static_cast<size_t>(n) * b.T * D);
    next.embed(b, emb.data());
    g.clear();
    if (tape) tape->attach(g);  // records only; the passes run on the device
    Var x = g.input(Shape{n, b.T, D}, emb.data(), true);
    std::vector<int32_t> idx(static_cast<size_t>(n));
    for (int k = 0; k < n; ++k)
      idx[static_cast<size_t>(k)] = gen.tokens[static_cast<size_t>(ex.targets[static_cast<size_t>(r0 + k)])].id;
    Var y = g.pick(next.forward(g, x, b), idx.data());
    if (tape) {
      tape->forward(g, {y});
      if (lrp)
        tape->lrp_backward(g, y, lo, nullptr, nullptr, {x});
      else
        tape->backward(g, y, nullptr, {x});
    } else if (lrp) {
      g.lrp_backward(y, lo);
    } else {
      g.backward(y);
    }
    const float* yv = g.value(y);
    const float* G = g.grad(x);
    for (int k = 0; k < n; ++k) {
      const size_t r = static_cast<size_t>(r0 + k);
      const int pos = n_prompt + ex.targets[r];
      const size_t base = static_cast<size_t>(k) * b.T * D;
      std::vector<double> map(static_cast<size_t>(pos) * D);
      for (size_t q = 0; q < map.size(); ++q) {
        const double gd = G ? G[base + q] : 0.0, xd = emb[base + q];
        map[q] = method == "saliency" ? gd * gd : method == "gradient" ? gd : gd * xd;
      }
      std::vector<float> xrow(emb.begin() + static_cast<std::ptrdiff_t>(base),
                              emb.begin() + static_cast<std::ptrdiff_t>(base + map.size()));
      const std::vector<double> s = method == "gradient"
                                        ? explain_detail::reduce_gradient(map, xrow, pos, D, opts.str("reduce"))
                                        : explain_detail::sum_over_dims(map, pos, D);
      double total = 0, abs_total = 0;
      for (int i = 0; i < pos; ++i) {
        ex.matrix[r * static_cast<size_t>(S) + static_cast<size_t>(i)] = s[static_cast<size_t>(i)];
        total += s[static_cast<size_t>(i)];
        abs_total += std::abs(s[static_cast<size_t>(i)]);
      }
      ex.explained[r] = yv[k];
      ex.first_share[r] = abs_total > 0 ? std::abs(s[0]) / abs_total : 0.0;
      if (lrp) ex.check_relative[r] = yv[k] != 0 ? std::abs(total - yv[k]) / std::abs(yv[k]) : 0.0;
    }
    ex.model_evaluations += n;
    ++ex.backward_passes;
    if (request.progress) request.progress(r0 + n, R);
  }
}

}  // namespace

GenerationExplanation explain_generation(const Model& model, const Tokenizer& tok, const Generation& gen,
                                         const GenerationExplainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  if (model.config().head != ModelHead::CausalLM)
    throw Error("explain generation: " + model.config().architecture + " is not a causal language model");
  const int V = model.output_dim();
  // The LRP family explains the token's logit by default (as LXT does):
  // log_softmax would absorb relevance that conservation then misses.
  const bool lrp_family = request.method == "lrp" || request.method == "layer-relevance" ||
                          request.method == "neuron-relevance";
  std::string score = request.score.empty()
                          ? (request.contrast_id >= 0 ? "prob-diff" : lrp_family ? "logit" : "log-prob")
                          : request.score;
  if (score != "log-prob" && score != "logit" && score != "prob-diff")
    throw Error("explain generation: score '" + score + "' is not one of log-prob, logit, prob-diff");
  if (score == "prob-diff" && (request.contrast_id < 0 || request.contrast_id >= V))
    throw Error("explain generation: prob-diff needs a contrast token inside the vocabulary");
  if (request.options.count("output"))
    throw Error("explain generation: the explained output is chosen by the score (log-prob, logit, prob-diff), "
                "not by the option 'output'");
  const std::vector<int32_t> ids = gen.ids();
  const int n_prompt = static_cast<int>(gen.prompt_ids.size());
  const int S = static_cast<int>(ids.size());
  GenerationExplanation ex;
  ex.method = request.method;
  ex.score = score;
  ex.prompt_length = n_prompt;
  ex.bos = gen.bos;
  for (int i = 0; i < S; ++i) {
    ex.source_tokens.push_back(tok.id_to_token(ids[static_cast<size_t>(i)]));
    ex.source_texts.push_back(token_bytes(tok, ids[static_cast<size_t>(i)]));
  }
  ex.targets = request.targets;
  if (ex.targets.empty())
    for (size_t i = 0; i < gen.tokens.size(); ++i) ex.targets.push_back(static_cast<int>(i));
  for (int t : ex.targets)
    if (t < 0 || t >= static_cast<int>(gen.tokens.size()))
      throw Error("explain generation: target " + std::to_string(t) + " is not a generated token (0.." +
                  std::to_string(static_cast<int>(gen.tokens.size()) - 1) + ")");

  const NextTokenModel next(model, score, request.contrast_id);
  MethodOptions given = request.options;
  given["output"] = "logit";
  const MethodOptions resolved = resolve_options(request.method, given, architecture_group(model.config()));
  if (request.batch_rows && batchable(request.method, resolved)) {
    ex.options = resolved;
    ex.options.erase("output");
    ex.signed_scores = scores_are_signed(method_info(request.method), resolved);
    ex.matrix.assign(ex.targets.size() * static_cast<size_t>(S), 0.0);
    // The device as explain() uses it: an error names it, and only auto
    // runs the rows again on the CPU, saying why.
    const std::string where =
        explain_detail::run_on_device(request.device, "explain generation", [&](gpu::DeviceTape* tape) {
          ex.model_evaluations = 0;  // afresh when auto runs again on the CPU
          ex.backward_passes = 0;
          batched_rows(next, ids, n_prompt, gen, request.method, resolved, request, ex, tape);
        });
    ex.device = where;
    finish(ex, t0);
    return ex;
  }
  ExplainRequest er;
  er.method = request.method;
  er.options = request.options;
  er.options["output"] = "logit";  // the wrapper's output is already the score
  er.control.cancel = request.cancel;
  er.device = request.device;  // each row's explain() runs there (and says where)
  ex.matrix.assign(ex.targets.size() * static_cast<size_t>(S), 0.0);
  int done = 0;
  for (size_t r = 0; r < ex.targets.size(); ++r) {
    if (request.cancel && request.cancel->load()) throw Cancelled();
    const int pos = n_prompt + ex.targets[r];  // the token's position; its prefix is ids[0, pos)
    // The prefix as an encoding: each token a word of its own, spans into
    // the concatenated token texts.
    Encoding enc;
    std::string text;
    for (int i = 0; i < pos; ++i) {
      const size_t b = text.size();
      text += ex.source_texts[static_cast<size_t>(i)];
      enc.ids.push_back(ids[static_cast<size_t>(i)]);
      enc.tokens.push_back(ex.source_tokens[static_cast<size_t>(i)]);
      enc.offsets.push_back(Span{b, text.size()});
      enc.word_ids.push_back(i);
      enc.special_mask.push_back(0);
      enc.attention_mask.push_back(1);
      enc.words.push_back(Span{b, text.size()});
    }
    enc.kept_bytes = text.size();
    er.target = gen.tokens[static_cast<size_t>(ex.targets[r])].id;
    const Explanation e = explain_encoded(next, tok, text, enc, er);
    if (r == 0) {
      ex.device = e.device;
      ex.options = e.options;
      ex.options.erase("output");
      ex.signed_scores = e.signed_scores;
    }
    double total = 0;
    for (int i = 0; i < pos && i < static_cast<int>(e.tokens.size()); ++i) {
      ex.matrix[r * static_cast<size_t>(S) + static_cast<size_t>(i)] = e.tokens[static_cast<size_t>(i)].score;
      total += std::abs(e.tokens[static_cast<size_t>(i)].score);
    }
    ex.explained.push_back(e.prediction.explained_value);
    ex.first_share.push_back(total > 0 ? std::abs(e.tokens[0].score) / total : 0.0);
    if (!e.checks.empty()) {
      ex.check_name.push_back(e.checks[0].name);
      ex.check_relative.push_back(e.checks[0].relative);
    } else {
      ex.check_name.push_back("");
      ex.check_relative.push_back(-1);
    }
    ex.model_evaluations += e.model_evaluations;
    if (batchable(request.method, resolved)) ++ex.backward_passes;  // one per row, unbatched
    ++done;
    if (request.progress) request.progress(done, static_cast<int>(ex.targets.size()));
  }
  finish(ex, t0);
  return ex;
}

namespace {
using ojson = nlohmann::ordered_json;
ojson num_or_null(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }
ojson token_json(const GeneratedToken& t) {
  return {{"id", t.id},
          {"token", t.token},
          {"text", t.text},
          {"probability", num_or_null(t.probability)},
          {"logprob", num_or_null(t.logprob)},
          {"entropy", num_or_null(t.entropy)}};
}
}  // namespace

std::string generated_token_to_json(const GeneratedToken& t) {
  return token_json(t).dump(-1, ' ', false, ojson::error_handler_t::replace);
}

std::string generation_to_json(const Generation& gen, const GenerationExplanation* ex, int indent) {
  using json = ojson;
  auto num = num_or_null;
  json j;
  j["prompt"] = gen.prompt;
  j["text"] = gen.text;
  j["stopped_by"] = gen.stopped_by;
  j["bos"] = gen.bos;
  json pt = json::array();
  for (size_t i = 0; i < gen.prompt_ids.size(); ++i) {
    json t = {{"id", gen.prompt_ids[i]}, {"token", gen.prompt_tokens[i]}};
    if (!gen.prompt_spans[i].empty()) t["span"] = {gen.prompt_spans[i].begin, gen.prompt_spans[i].end};
    pt.push_back(t);
  }
  j["prompt_tokens"] = pt;
  json gt = json::array();
  for (const GeneratedToken& t : gen.tokens) gt.push_back(token_json(t));
  j["tokens"] = gt;
  j["seconds"] = gen.seconds;
  if (ex) {
    json e;
    e["method"] = ex->method;
    e["score"] = ex->score;
    json o = json::object();
    for (const auto& kv : ex->options) o[kv.first] = kv.second;
    e["options"] = o;
    e["signed"] = ex->signed_scores;
    e["sources"] = ex->source_texts;
    e["source_tokens"] = ex->source_tokens;
    e["prompt_length"] = ex->prompt_length;
    e["bos"] = ex->bos;
    e["targets"] = ex->targets;
    const size_t S = ex->source_tokens.size();
    json m = json::array();
    for (size_t r = 0; r < ex->targets.size(); ++r) {
      json row = json::array();
      for (size_t c = 0; c < S; ++c) row.push_back(num(ex->matrix[r * S + c]));
      m.push_back(row);
    }
    e["matrix"] = m;
    json ev = json::array(), cv = json::array(), fs = json::array(), cn = json::array();
    for (size_t r = 0; r < ex->targets.size(); ++r) {
      ev.push_back(num(ex->explained[r]));
      cn.push_back(ex->check_name[r]);
      cv.push_back(ex->check_relative[r] < 0 ? json(nullptr) : num(ex->check_relative[r]));
      fs.push_back(num(ex->first_share[r]));
    }
    e["explained"] = ev;
    e["check"] = cn;
    e["check_relative"] = cv;
    e["first_token_share"] = fs;
    e["mean_first_token_share"] = num(ex->mean_first_share);
    e["model_evaluations"] = ex->model_evaluations;
    e["backward_passes"] = ex->backward_passes;
    if (ex->device != "cpu") e["device"] = ex->device;
    e["seconds"] = ex->seconds;
    j["explanation"] = e;
  }
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace wordlight
