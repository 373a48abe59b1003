// predict() and forward_batch(): the model's output without an explanation.
#include "wordlight/predict.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "wordlight/error.h"
#include "wordlight/finite_check.h"

namespace wordlight {

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
  p.logits = f.logits;
  const float mx = *std::max_element(p.logits.begin(), p.logits.end());
  double z = 0;
  for (float v : p.logits) z += std::exp(static_cast<double>(v) - mx);
  for (float v : p.logits) p.probabilities.push_back(static_cast<float>(std::exp(static_cast<double>(v) - mx) / z));
  p.label = static_cast<int>(std::max_element(p.logits.begin(), p.logits.end()) - p.logits.begin());
  const auto& names = model.config().id2label;
  p.label_name = static_cast<size_t>(p.label) < names.size() ? names[static_cast<size_t>(p.label)]
                                                             : "LABEL_" + std::to_string(p.label);
  p.target = p.label;
  p.target_name = p.label_name;
  p.output = "logit";
  p.explained_value = p.logits[static_cast<size_t>(p.label)];
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
  j["num_tokens"] = tp.num_tokens;
  j["truncated"] = tp.truncated;
  if (tp.truncated) j["notice"] = tp.notice;
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
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
