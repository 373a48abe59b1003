// ModelTarget: a classifier's target output as a function of a text's word
// embeddings; baselines; random numbers.
#include <algorithm>
#include <cmath>
#include <set>

#include "explain_internal.h"
#include "wordlight/device_tape.h"
#include "wordlight/predict.h"

namespace wordlight::explain_detail {

namespace {

TokenBatch repeat_batch(const std::vector<int32_t>& ids, int N) {
  TokenBatch b;
  b.B = N;
  b.T = static_cast<int>(ids.size());
  b.ids.reserve(static_cast<size_t>(N) * ids.size());
  for (int i = 0; i < N; ++i) b.ids.insert(b.ids.end(), ids.begin(), ids.end());
  b.mask.assign(b.ids.size(), 1);
  return b;
}

// The explained output of every row: pick(logits or probabilities, target),
// the probabilities a softmax, or a multi-label model's sigmoids.
Var target_output(Graph<float>& g, Var logits, int N, int target, bool probability, bool multi_label) {
  std::vector<int32_t> idx(static_cast<size_t>(N), target);
  if (!probability) return g.pick(logits, idx.data());
  return g.pick(multi_label ? g.sigmoid(logits) : g.softmax(logits), idx.data());
}

}  // namespace

ModelTarget::ModelTarget(const Model& model, const Encoding& enc, int target, bool probability,
                         const ExplainControl& control, gpu::DeviceTape* tape)
    : model_(model), probability_(probability), ids_(enc.ids), tape_(tape), control_(control) {
  T_ = static_cast<int>(ids_.size());
  D_ = model.embedding_dim();
  const TokenBatch one = repeat_batch(ids_, 1);
  emb_.resize(static_cast<size_t>(T_) * D_);
  model.embed(one, emb_.data());
  if (tape_) tape_->attach(g0_);
  x0_ = g0_.input(Shape{1, T_, D_}, emb_.data(), true);
  Var logits = model.forward(g0_, x0_, one);
  if (tape_) tape_->forward(g0_, {logits});
  const int C = model.output_dim();
  const float* l = g0_.value(logits);
  pred_.logits.assign(l, l + C);
  pred_.probabilities = label_probabilities(model.config(), l, C);
  pred_.multi_label = is_multi_label(model.config());
  pred_.label = static_cast<int>(std::max_element(pred_.logits.begin(), pred_.logits.end()) - pred_.logits.begin());
  const auto& names = model.config().id2label;
  auto name_of = [&](int c) {
    return c >= 0 && static_cast<size_t>(c) < names.size() ? names[static_cast<size_t>(c)]
                                                           : "LABEL_" + std::to_string(c);
  };
  pred_.label_name = name_of(pred_.label);
  pred_.target = target < 0 ? pred_.label : target;
  pred_.target_name = name_of(pred_.target);
  pred_.output = probability ? "probability" : "logit";
  y0_ = target_output(g0_, logits, 1, pred_.target, probability, is_multi_label(model.config()));
  if (tape_) tape_->forward(g0_, {y0_});
  pred_.explained_value = g0_.value(y0_)[0];
  evaluations_ = 1;
}

const std::vector<float>& ModelTarget::input_gradient() {
  if (!have_grad0_) {
    if (g0_.deferred())
      tape_->backward(g0_, y0_, nullptr, {x0_});
    else
      g0_.backward(y0_);
    const float* gr = g0_.grad(x0_);
    grad0_.assign(gr, gr + static_cast<size_t>(T_) * D_);
    have_grad0_ = true;
  }
  return grad0_;
}

void ModelTarget::eval(int N, const float* x, double* out, float* grad) {
  if (N <= 0) return;
  const TokenBatch batch = repeat_batch(ids_, N);
  g_.clear();
  // Only y's values and x's gradient are read: the tape frees the rest as
  // soon as neither the forward nor the backward needs it (graph.h).
  g_.retain = Graph<float>::Retain::gradients;
  if (tape_) tape_->attach(g_);
  Var xv = g_.input(Shape{N, T_, D_}, x, grad != nullptr);
  Var y = target_output(g_, model_.forward(g_, xv, batch), N, pred_.target, probability_, is_multi_label(model_.config()));
  if (tape_) tape_->forward(g_, {y});
  const float* yv = g_.value(y);
  for (int i = 0; i < N; ++i) out[i] = yv[i];
  if (grad) {
    const Var total = g_.sum(y);
    if (tape_) {
      tape_->forward(g_, {});
      tape_->backward(g_, total, nullptr, {xv});
    } else {
      g_.backward(total);
    }
    const float* gr = g_.grad(xv);
    std::copy(gr, gr + static_cast<size_t>(N) * T_ * D_, grad);
  }
  evaluations_ += N;
}

void ModelTarget::eval_ids(const std::vector<std::vector<int32_t>>& seqs, double* out) {
  if (seqs.empty()) return;
  const int32_t pad = model_.config().pad_token_id;
  TokenBatch b;
  b.B = static_cast<int>(seqs.size());
  b.T = 1;
  for (const auto& s : seqs) b.T = std::max(b.T, static_cast<int>(s.size()));
  for (const auto& s : seqs) {
    for (int t = 0; t < b.T; ++t) {
      const bool real = t < static_cast<int>(s.size());
      b.ids.push_back(real ? s[static_cast<size_t>(t)] : pad);
      b.mask.push_back(real || (s.empty() && t == 0) ? 1 : 0);
    }
  }
  std::vector<float> emb(static_cast<size_t>(b.B) * b.T * D_);
  model_.embed(b, emb.data());
  g_.clear();
  g_.retain = Graph<float>::Retain::gradients;
  if (tape_) tape_->attach(g_);
  Var xv = g_.input(Shape{b.B, b.T, D_}, emb.data(), false);
  Var y = target_output(g_, model_.forward(g_, xv, b), b.B, pred_.target, probability_, is_multi_label(model_.config()));
  if (tape_) tape_->forward(g_, {y});
  const float* yv = g_.value(y);
  for (int i = 0; i < b.B; ++i) out[i] = yv[i];
  evaluations_ += b.B;
}

Graph<float>& ModelTarget::prediction_graph() {
  have_grad0_ = false;
  if (g0_.deferred()) tape_->to_host(g0_);  // layer marks and CPU passes read its values
  return g0_;
}

const float* ModelTarget::lrp_input_gradient(const LrpOptions& o, std::vector<LrpAbsorbed>* absorbed) {
  have_grad0_ = false;
  if (g0_.deferred())
    tape_->lrp_backward(g0_, y0_, o, nullptr, absorbed, {x0_});
  else
    g0_.lrp_backward(y0_, o, nullptr, absorbed);
  return g0_.grad(x0_);
}

std::vector<float> ModelTarget::embed_ids(const std::vector<int32_t>& ids) const {
  const TokenBatch b = repeat_batch(ids, 1);
  std::vector<float> e(ids.size() * static_cast<size_t>(D_));
  model_.embed(b, e.data());
  return e;
}

void ModelTarget::advance(int64_t n) {
  done_ += n;
  if (control_.progress) control_.progress(done_, std::max(total_, done_));
}

void ModelTarget::check_cancel() const {
  if (control_.cancel && control_.cancel->load()) throw Cancelled();
}

std::vector<double> sum_over_dims(const std::vector<double>& map, int T, int D) {
  std::vector<double> s(static_cast<size_t>(T), 0.0);
  for (int t = 0; t < T; ++t)
    for (int d = 0; d < D; ++d) s[static_cast<size_t>(t)] += map[static_cast<size_t>(t) * D + d];
  return s;
}

std::vector<std::vector<float>> make_baselines(const ModelTarget& t, const Tokenizer& tok, const Encoding& enc,
                                               const std::string& kind, int samples, uint64_t seed) {
  const SpecialTokens& sp = tok.special_tokens();
  std::vector<int32_t> ids = t.ids();
  auto is_text = [&](size_t i) { return enc.word_ids[i] >= 0; };
  if (kind == "zero") {
    std::vector<float> b = t.embeddings();
    for (size_t i = 0; i < ids.size(); ++i)
      if (is_text(i))
        std::fill(b.begin() + static_cast<long>(i * t.D()), b.begin() + static_cast<long>((i + 1) * t.D()), 0.f);
    return {b};
  }
  if (kind == "pad" || kind == "mask" || kind == "unk") {
    const int32_t id = kind == "pad"    ? (sp.pad_id >= 0 ? sp.pad_id : t.model().config().pad_token_id)
                       : kind == "mask" ? sp.mask_id
                                        : sp.unk_id;
    if (id < 0) throw Error("baseline=" + kind + " needs a " + kind + " token; this tokenizer has none");
    for (size_t i = 0; i < ids.size(); ++i)
      if (is_text(i)) ids[i] = id;
    return {t.embed_ids(ids)};
  }
  if (kind == "random-words") {
    std::set<int32_t> special{sp.pad_id, sp.unk_id, sp.mask_id, t.model().config().pad_token_id};
    for (int32_t id : sp.prefix_ids) special.insert(id);
    for (int32_t id : sp.suffix_ids) special.insert(id);
    const int32_t V = std::min(tok.vocab_size(), t.model().config().vocab_size);
    if (V <= static_cast<int32_t>(special.size()))
      throw Error("baseline=random-words: the vocabulary has no plain words");
    Rng rng(seed);
    std::vector<std::vector<float>> out;
    for (int s = 0; s < samples; ++s) {
      std::vector<int32_t> r = ids;
      for (size_t i = 0; i < r.size(); ++i) {
        if (!is_text(i)) continue;
        int32_t id;
        do id = static_cast<int32_t>(rng.below(static_cast<uint64_t>(V)));
        while (special.count(id));
        r[i] = id;
      }
      out.push_back(t.embed_ids(r));
    }
    return out;
  }
  throw Error("unknown baseline '" + kind + "'");
}

double Rng::normal() {
  if (have_spare_) {
    have_spare_ = false;
    return spare_;
  }
  double u1;
  do u1 = uniform();
  while (u1 <= 0.0);
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1)), a = 6.283185307179586 * u2;
  spare_ = r * std::sin(a);
  have_spare_ = true;
  return r * std::cos(a);
}

}  // namespace wordlight::explain_detail
