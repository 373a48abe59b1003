// attention_probabilities() and text_attention(): a transformer's attention
// weights per layer and head, recorded during one ordinary forward.
#include "wordlight/attention.h"

#include <nlohmann/json.hpp>

#include "wordlight/error.h"
#include "wordlight/ops.h"
#include "model_internal.h"

namespace wordlight {

namespace detail {

AttentionSink*& attention_sink() {
  thread_local AttentionSink* sink = nullptr;
  return sink;
}

void record_attention(const Graph<float>& g, Var q, Var k, Var v, int heads, const uint8_t* key_mask, bool causal) {
  AttentionSink* sink = attention_sink();
  if (!sink) return;
  if (g.deferred()) throw Error("attention: the probabilities are read on the CPU; the graph runs on a device");
  const Shape& s = g.shape(q);
  ops::AttentionDims d;
  d.B = s[0];
  d.T = s[1];
  d.H = heads;
  d.Dh = s[2] / heads;
  d.causal = causal;
  // The op's own kernel on the op's own inputs: the probabilities it used.
  std::vector<float> probs(static_cast<size_t>(d.B * d.H * d.T * d.T)), out(static_cast<size_t>(s.numel()));
  ops::attention_forward<float>(g.backend(), d, g.value(q), g.value(k), g.value(v), key_mask, probs.data(),
                                out.data());
  sink->B = static_cast<int>(d.B);
  sink->H = heads;
  sink->T = static_cast<int>(d.T);
  sink->layers.push_back(std::move(probs));
}

}  // namespace detail

namespace {
// Sets the thread's sink for one scope (and clears it on an exception).
struct SinkScope {
  explicit SinkScope(detail::AttentionSink* s) { detail::attention_sink() = s; }
  ~SinkScope() { detail::attention_sink() = nullptr; }
};
}  // namespace

AttentionProbabilities attention_probabilities(const Model& model, const TokenBatch& batch) {
  const ModelConfig& cfg = model.config();
  if (!cfg.is_transformer())
    throw Error("attention: " + cfg.architecture + " has no attention (only transformers: BERT, DistilBERT, RoBERTa, GPT-2)");
  detail::check_token_batch(batch);
  std::vector<float> emb(static_cast<size_t>(batch.B) * batch.T * model.embedding_dim());
  model.embed(batch, emb.data());
  detail::AttentionSink sink;
  {
    SinkScope scope(&sink);
    Graph<float> g;
    Var x = g.input(Shape{batch.B, batch.T, model.embedding_dim()}, emb.data());
    model.forward(g, x, batch);
  }
  if (sink.layers.empty()) throw Error("attention: " + cfg.architecture + " recorded no attention");
  AttentionProbabilities a;
  a.layers = static_cast<int>(sink.layers.size());
  a.B = sink.B;
  a.heads = sink.H;
  a.T = sink.T;
  a.probs.reserve(sink.layers.size() * sink.layers[0].size());
  for (const auto& l : sink.layers) a.probs.insert(a.probs.end(), l.begin(), l.end());
  return a;
}

TextAttention text_attention(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                             int max_length) {
  EncodeOptions eo;
  eo.max_length = max_length;
  const Encoding enc = tokenizer.encode(text, eo);
  bool any_text = false;
  for (size_t i = 0; i < enc.size(); ++i) any_text = any_text || enc.word_ids[i] >= 0;
  if (!any_text) throw Error("attention: the text has no tokens");
  TokenBatch batch;
  batch.B = 1;
  batch.T = static_cast<int>(enc.size());
  batch.ids = enc.ids;
  batch.mask.assign(enc.ids.size(), 1);
  AttentionProbabilities p = attention_probabilities(model, batch);
  TextAttention a;
  a.layers = p.layers;
  a.heads = p.heads;
  a.T = p.T;
  a.probs = std::move(p.probs);
  a.tokens = enc.tokens;
  for (size_t i = 0; i < enc.size(); ++i) {
    const Span sp = i < enc.offsets.size() ? enc.offsets[i] : Span{};
    a.texts.push_back(sp.end > sp.begin ? text.substr(sp.begin, sp.end - sp.begin) : std::string());
    a.special.push_back(i < enc.special_mask.size() ? enc.special_mask[i] : 0);
  }
  a.truncated = enc.truncated;
  a.notice = enc.notice;
  return a;
}

std::string text_attention_to_json(const TextAttention& a, int indent) {
  nlohmann::ordered_json j;
  j["layers"] = a.layers;
  j["heads"] = a.heads;
  j["tokens"] = a.tokens;
  j["texts"] = a.texts;
  j["special"] = a.special;
  nlohmann::ordered_json att = nlohmann::ordered_json::array();
  for (int l = 0; l < a.layers; ++l) {
    nlohmann::ordered_json layer = nlohmann::ordered_json::array();
    for (int h = 0; h < a.heads; ++h) {
      nlohmann::ordered_json head = nlohmann::ordered_json::array();
      for (int i = 0; i < a.T; ++i) {
        const float* row = &a.probs[((static_cast<size_t>(l) * a.heads + h) * a.T + i) * a.T];
        head.push_back(std::vector<float>(row, row + a.T));
      }
      layer.push_back(std::move(head));
    }
    att.push_back(std::move(layer));
  }
  j["attention"] = std::move(att);
  j["truncated"] = a.truncated;
  if (a.truncated) j["notice"] = a.notice;
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace wordlight
