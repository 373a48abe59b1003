// predict() and forward_batch(): the model's output without an explanation.
#include "wordlight/predict.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "wordlight/error.h"
#include "wordlight/finite_check.h"

namespace wordlight {

bool is_multi_label(const ModelConfig& config) { return config.problem_type == "multi_label_classification"; }

std::vector<float> label_probabilities(const ModelConfig& config, const float* logits, int C) {
  std::vector<float> p(static_cast<size_t>(C));
  if (is_multi_label(config)) {
    for (int c = 0; c < C; ++c) p[static_cast<size_t>(c)] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logits[c]))));
    return p;
  }
  const float mx = *std::max_element(logits, logits + C);
  double z = 0;
  for (int c = 0; c < C; ++c) z += std::exp(static_cast<double>(logits[c]) - mx);
  for (int c = 0; c < C; ++c) p[static_cast<size_t>(c)] = static_cast<float>(std::exp(static_cast<double>(logits[c]) - mx) / z);
  return p;
}

Prediction prediction_from_logits(const Model& model, const float* logits) {
  Prediction p;
  const int C = model.output_dim();
  p.logits.assign(logits, logits + C);
  p.probabilities = label_probabilities(model.config(), logits, C);
  p.multi_label = is_multi_label(model.config());
  p.label = static_cast<int>(std::max_element(p.logits.begin(), p.logits.end()) - p.logits.begin());
  const auto& names = model.config().id2label;
  p.label_name = static_cast<size_t>(p.label) < names.size() ? names[static_cast<size_t>(p.label)]
                                                             : "LABEL_" + std::to_string(p.label);
  p.target = p.label;
  p.target_name = p.label_name;
  p.output = "logit";
  p.explained_value = p.logits[static_cast<size_t>(p.label)];
  return p;
}

TextPrediction predict(const Model& model, const Tokenizer& tokenizer, const std::string& text, int max_length) {
  if (model.config().head != ModelHead::SequenceClassification)
    throw Error("predict: " + model.config().architecture + " is not a sequence classifier");
  EncodeOptions eo;
  eo.max_length = max_length;
  const Encoding enc = tokenizer.encode(text, eo);
  bool any_text = false;
  for (size_t i = 0; i < enc.size(); ++i) any_text = any_text || enc.word_ids[i] >= 0;
  if (!any_text) throw Error("predict: the text has no tokens");

  TokenBatch batch;
  batch.B = 1;
  batch.T = static_cast<int>(enc.size());
  batch.ids = enc.ids;
  batch.mask.assign(enc.ids.size(), 1);
  const BatchForward f = forward_batch(model, batch);

  TextPrediction out;
  Prediction& p = out.prediction;
  p = prediction_from_logits(model, f.logits.data());
  check_prediction_finite(p, "predict");
  out.num_tokens = batch.T;
  out.truncated = enc.truncated;
  out.notice = enc.notice;
  return out;
}

std::string prediction_to_json(const TextPrediction& tp, int indent) {
  nlohmann::ordered_json j;
  const Prediction& p = tp.prediction;
  j["label"] = p.label;
  j["label_name"] = p.label_name;
  j["logits"] = p.logits;
  j["probabilities"] = p.probabilities;
  if (p.multi_label) j["multi_label"] = true;  // absent for single-label models (softmax)
  j["num_tokens"] = tp.num_tokens;
  j["truncated"] = tp.truncated;
  if (tp.truncated) j["notice"] = tp.notice;
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

TokenBatch pad_batch(const Model& model, const std::vector<std::vector<int32_t>>& seqs) {
  const int32_t pad = model.config().pad_token_id;
  TokenBatch b;
  b.B = static_cast<int>(seqs.size());
  b.T = 1;
  for (const auto& s : seqs) b.T = std::max(b.T, static_cast<int>(s.size()));
  for (const auto& s : seqs)
    for (int t = 0; t < b.T; ++t) {
      const bool real = t < static_cast<int>(s.size());
      b.ids.push_back(real ? s[static_cast<size_t>(t)] : pad);
      b.mask.push_back(real || (s.empty() && t == 0) ? 1 : 0);  // an empty text runs as one padding token
    }
  return b;
}

namespace {
void check_cancel(const ExplainControl& control) {
  if (control.cancel && control.cancel->load()) throw Cancelled();
}
}  // namespace

std::vector<BatchPrediction> predict_batch(const Model& model, const Tokenizer& tokenizer,
                                           const std::vector<std::string>& texts, int max_length, int batch_size,
                                           const ExplainControl& control) {
  if (model.config().head != ModelHead::SequenceClassification)
    throw Error("predict: " + model.config().architecture + " is not a sequence classifier");
  batch_size = std::max(1, batch_size);
  const size_t N = texts.size();
  std::vector<BatchPrediction> out(N);
  std::vector<Encoding> enc(N);
  std::vector<size_t> order;
  EncodeOptions eo;
  eo.max_length = max_length;
  for (size_t i = 0; i < N; ++i) {
    try {
      enc[i] = tokenizer.encode(texts[i], eo);
      bool any_text = false;
      for (size_t t = 0; t < enc[i].size(); ++t) any_text = any_text || enc[i].word_ids[t] >= 0;
      if (!any_text) throw Error("predict: the text has no tokens");
      order.push_back(i);
    } catch (const Error& e) {
      out[i].error = e.what();
    }
  }
  // Similar lengths together: little padding.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return enc[a].size() < enc[b].size(); });
  int64_t done = static_cast<int64_t>(N - order.size());
  const int C = model.output_dim();
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    check_cancel(control);
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<int32_t>> seqs;
    for (size_t k = start; k < end; ++k) seqs.push_back(enc[order[k]].ids);
    const BatchForward f = forward_batch(model, pad_batch(model, seqs));
    for (size_t k = start; k < end; ++k) {
      const size_t i = order[k];
      BatchPrediction& r = out[i];
      r.prediction.prediction = prediction_from_logits(model, f.logits.data() + (k - start) * static_cast<size_t>(C));
      check_prediction_finite(r.prediction.prediction, "predict");
      r.prediction.num_tokens = static_cast<int>(enc[i].size());
      r.prediction.truncated = enc[i].truncated;
      r.prediction.notice = enc[i].notice;
      r.ok = true;
    }
    done += static_cast<int64_t>(end - start);
    if (control.progress) control.progress(done, static_cast<int64_t>(N));
  }
  return out;
}

std::vector<BatchExplanation> explain_batch(const Model& model, const Tokenizer& tokenizer,
                                            const std::vector<std::string>& texts, const ExplainRequest& request,
                                            const ExplainControl& control, bool document_vectors) {
  const int64_t N = static_cast<int64_t>(texts.size());
  std::vector<BatchExplanation> out(texts.size());
  // What explain() refuses for every row alike (the head, the method, its
  // options, the target) is refused once, before any row.
  if (model.config().head != ModelHead::SequenceClassification)
    throw Error("explain: " + model.config().architecture + " is not a sequence classifier");
  resolve_options(method_info(request.method).name, request.options, architecture_group(model.config()));
  if (request.target < -1 || request.target >= model.output_dim())
    throw Error("explain: target class " + std::to_string(request.target) + " is out of range [0, " +
                std::to_string(model.output_dim() - 1) + "]");
  ExplainRequest req = request;
  req.control = ExplainControl();
  req.control.cancel = control.cancel;
  for (int64_t i = 0; i < N; ++i) {
    check_cancel(control);
    BatchExplanation& r = out[static_cast<size_t>(i)];
    try {
      r.explanation = explain(model, tokenizer, texts[static_cast<size_t>(i)], req);
      r.ok = true;
      if (document_vectors) {
        const std::vector<std::vector<double>> xw = word_embeddings(model, r.explanation);
        r.document_vector.assign(static_cast<size_t>(model.embedding_dim()), 0.0);
        for (size_t w = 0; w < xw.size(); ++w)
          for (size_t k = 0; k < xw[w].size(); ++k) r.document_vector[k] += r.explanation.words[w].score * xw[w][k];
      }
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& e) {
      r.error = e.what();
    }
    if (control.progress) control.progress(i + 1, N);
  }
  return out;
}

std::vector<std::vector<double>> word_embeddings(const Model& model, const Explanation& e) {
  const int D = model.embedding_dim();
  TokenBatch one;
  one.B = 1;
  one.T = static_cast<int>(e.tokens.size());
  for (const TokenScore& t : e.tokens) one.ids.push_back(t.id);
  one.mask.assign(one.ids.size(), 1);
  std::vector<float> emb(static_cast<size_t>(one.T) * D);
  if (one.T > 0) model.embed(one, emb.data());
  std::vector<std::vector<double>> xw(e.words.size(), std::vector<double>(static_cast<size_t>(D), 0.0));
  for (size_t w = 0; w < e.words.size(); ++w) {
    const auto& toks = e.words[w].tokens;
    for (int32_t t : toks)
      for (int k = 0; k < D; ++k) xw[w][static_cast<size_t>(k)] += emb[static_cast<size_t>(t) * D + k];
    for (double& v : xw[w]) v /= static_cast<double>(std::max<size_t>(1, toks.size()));
  }
  return xw;
}

BatchForward forward_batch(const Model& model, const TokenBatch& batch, const std::vector<int32_t>& targets) {
  if (batch.B < 1 || batch.T < 1 || batch.ids.size() != static_cast<size_t>(batch.B) * batch.T ||
      batch.mask.size() != batch.ids.size())
    throw Error("forward: a batch of " + std::to_string(batch.B) + " x " + std::to_string(batch.T) + " needs " +
                "B * T ids and mask entries, got " + std::to_string(batch.ids.size()) + " and " +
                std::to_string(batch.mask.size()));
  const bool want_grad = !targets.empty();
  if (want_grad) {
    if (model.config().head != ModelHead::SequenceClassification)
      throw Error("forward: input gradients are for sequence classifiers; " + model.config().architecture +
                  " is not one");
    if (targets.size() != static_cast<size_t>(batch.B))
      throw Error("forward: " + std::to_string(targets.size()) + " targets for a batch of " + std::to_string(batch.B));
    for (int32_t t : targets)
      if (t < 0 || t >= model.output_dim())
        throw Error("forward: target class " + std::to_string(t) + " is out of range [0, " +
                    std::to_string(model.output_dim() - 1) + "]");
  }
  const int D = model.embedding_dim();
  std::vector<float> emb(static_cast<size_t>(batch.B) * batch.T * D);
  model.embed(batch, emb.data());
  Graph<float> g;
  Var x = g.input(Shape{batch.B, batch.T, D}, emb.data(), want_grad);
  Var logits = model.forward(g, x, batch);
  BatchForward out;
  const Shape& s = g.shape(logits);
  for (int i = 0; i < s.rank; ++i) out.logits_shape.push_back(s[i]);
  out.logits.assign(g.value(logits), g.value(logits) + g.numel(logits));
  for (size_t i = 0; i < out.logits.size(); ++i)
    if (!std::isfinite(out.logits[i]))
      throw Error("forward: output " + std::to_string(i) + " is not finite; the weights or the input overflow float32");
  if (want_grad) {
    g.backward(g.sum(g.pick(logits, targets.data())));
    const float* gr = g.grad(x);
    if (gr)
      out.input_gradient.assign(gr, gr + g.numel(x));
    else
      out.input_gradient.assign(static_cast<size_t>(g.numel(x)), 0.f);
  }
  return out;
}

}  // namespace wordlight
