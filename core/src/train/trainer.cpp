// The training step (Trainer) and loop (train_classifier) of train.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "wordlight/error.h"
#include "wordlight/train.h"
#include "wordlight/vmask.h"

namespace wordlight {

EncodedSet encode_texts(const Tokenizer& tok, const std::vector<std::string>& texts,
                        const std::vector<int32_t>& labels, int max_length, size_t* dropped,
                        std::vector<size_t>* kept) {
  if (texts.size() != labels.size())
    throw Error("encode: " + std::to_string(texts.size()) + " texts but " + std::to_string(labels.size()) + " labels");
  EncodedSet set;
  size_t n_dropped = 0;
  if (kept) kept->clear();
  EncodeOptions eo;
  eo.max_length = max_length > 0 ? max_length : -1;
  for (size_t i = 0; i < texts.size(); ++i) {
    Encoding e = tok.encode(texts[i], eo);
    // A text of special tokens only has nothing to classify.
    const bool has_text = std::any_of(e.special_mask.begin(), e.special_mask.end(), [](uint8_t m) { return m == 0; });
    if (!has_text) {
      ++n_dropped;
      continue;
    }
    set.ids.push_back(std::move(e.ids));
    set.labels.push_back(labels[i]);
    if (kept) kept->push_back(i);
  }
  if (dropped) *dropped = n_dropped;
  return set;
}

std::vector<size_t> shuffled_order(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) {
    // The modulo bias is below 2^-40 for any data set that fits in memory.
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

std::vector<size_t> bucketed_order(const std::vector<size_t>& order, const std::vector<size_t>& lengths,
                                   int batch_size, int pool_batches, uint64_t seed) {
  if (batch_size < 1) throw Error("bucketed_order: batch size must be at least 1");
  if (pool_batches <= 1 || order.size() <= static_cast<size_t>(batch_size)) return order;
  const size_t B = static_cast<size_t>(batch_size), pool = B * static_cast<size_t>(pool_batches);
  std::vector<size_t> sorted = order;
  for (size_t p0 = 0; p0 < sorted.size(); p0 += pool) {
    const auto first = sorted.begin() + static_cast<std::ptrdiff_t>(p0);
    const auto last = sorted.begin() + static_cast<std::ptrdiff_t>(std::min(sorted.size(), p0 + pool));
    std::stable_sort(first, last, [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  }
  // Batches in a random order, so that an epoch does not run from short to
  // long texts within each pool.
  const size_t n_batches = (sorted.size() + B - 1) / B;
  const std::vector<size_t> batch_order = shuffled_order(n_batches, seed);
  std::vector<size_t> out;
  out.reserve(sorted.size());
  for (size_t b : batch_order)
    for (size_t k = b * B; k < std::min(sorted.size(), (b + 1) * B); ++k) out.push_back(sorted[k]);
  return out;
}

TokenBatch make_batch(const EncodedSet& set, const std::vector<size_t>& order, size_t begin, size_t end,
                      int32_t pad_id) {
  if (begin >= end || end > order.size())
    throw Error("make_batch: range [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " +
                std::to_string(order.size()) + " examples");
  TokenBatch b;
  b.B = static_cast<int>(end - begin);
  size_t longest = 0;
  for (size_t k = begin; k < end; ++k) longest = std::max(longest, set.ids[order[k]].size());
  if (longest == 0) throw Error("make_batch: every text of the batch has no token");
  b.T = static_cast<int>(longest);
  b.ids.assign(static_cast<size_t>(b.B) * b.T, pad_id);
  b.mask.assign(b.ids.size(), 0);
  for (size_t k = begin; k < end; ++k) {
    const std::vector<int32_t>& ids = set.ids[order[k]];
    const size_t row = (k - begin) * longest;
    std::copy(ids.begin(), ids.end(), b.ids.begin() + row);
    std::fill(b.mask.begin() + row, b.mask.begin() + row + ids.size(), uint8_t{1});
  }
  return b;
}

namespace {

void check_labels(const EncodedSet& set, int C, const char* what) {
  if (set.ids.size() != set.labels.size())
    throw Error(std::string(what) + ": " + std::to_string(set.ids.size()) + " texts but " +
                std::to_string(set.labels.size()) + " labels");
  for (size_t i = 0; i < set.labels.size(); ++i) {
    if (set.labels[i] < 0 || set.labels[i] >= C)
      throw Error(std::string(what) + ": label " + std::to_string(set.labels[i]) + " of example " +
                  std::to_string(i) + " is outside the model's " + std::to_string(C) + " labels");
    if (set.ids[i].empty()) throw Error(std::string(what) + ": example " + std::to_string(i) + " has no token");
  }
}

}  // namespace

double evaluate_accuracy(const Model& model, const EncodedSet& set, int batch_size, std::vector<int32_t>* predicted) {
  if (set.size() == 0) throw Error("evaluate: the data set is empty");
  if (batch_size < 1) throw Error("evaluate: batch size must be at least 1, got " + std::to_string(batch_size));
  const int C = model.output_dim();
  check_labels(set, C, "evaluate");
  std::vector<size_t> order(set.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Sorting by length keeps padding (and time) low; accuracy does not
  // depend on the order.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return set.ids[a].size() < set.ids[b].size(); });
  Graph<float> g;
  std::vector<float> emb;
  size_t correct = 0;
  if (predicted) predicted->assign(set.size(), -1);
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    const TokenBatch batch = make_batch(set, order, begin, end, model.config().pad_token_id);
    g.clear();
    emb.resize(static_cast<size_t>(batch.B) * batch.T * model.embedding_dim());
    model.embed(batch, emb.data());
    Var x = g.input(Shape{batch.B, batch.T, model.embedding_dim()}, emb.data(), false);
    const float* logits = g.value(model.forward(g, x, batch));
    for (int r = 0; r < batch.B; ++r) {
      const float* row = logits + static_cast<size_t>(r) * C;
      // NaN would compare false and count as class 0: an accuracy from a
      // broken model must be an error, not a number (issue 14).
      for (int c = 0; c < C; ++c)
        if (!std::isfinite(row[c]))
          throw Error("evaluate: the model's output for example " + std::to_string(order[begin + r]) +
                      " is not finite (logit " + std::to_string(c) + "); its weights or this text overflow float32");
      const int pred = static_cast<int>(std::max_element(row, row + C) - row);
      correct += pred == set.labels[order[begin + r]];
      if (predicted) (*predicted)[order[begin + r]] = pred;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(set.size());
}

Trainer::Trainer(Model& model, const AdamWOptions& adamw) : model_(model), adamw_(adamw) {
  if (model.config().head != ModelHead::SequenceClassification)
    throw Error("train: " + model.config().architecture + " is not a sequence classifier");
  slots_ = Trainer::make_slots(model, "train", &word_slot_);
}

std::vector<Trainer::Slot> Trainer::make_slots(Model& model, const char* what, int* word_slot) {
  const std::string word = model.word_embedding_name();
  std::vector<Slot> slots;
  *word_slot = -1;
  for (const ModelParameter& p : model.parameters()) {
    Slot s;
    s.param = p;
    s.decay = default_weight_decay(p.name);
    const size_t n = static_cast<size_t>(p.numel());
    s.grad.assign(n, 0.f);
    s.m.assign(n, 0.f);
    s.v.assign(n, 0.f);
    if (p.name == word) *word_slot = static_cast<int>(slots.size());
    slots.push_back(std::move(s));
  }
  if (*word_slot < 0)
    throw Error(std::string(what) + ": the model lists no parameter named '" + word + "' (its word embeddings)");
  return slots;
}

double Trainer::compute_gradients(const TokenBatch& batch, const std::vector<int32_t>& labels,
                                  const std::vector<float>& class_weights, uint64_t dropout_seed) {
  const int D = model_.embedding_dim(), C = model_.output_dim();
  if (labels.size() != static_cast<size_t>(batch.B))
    throw Error("train: " + std::to_string(labels.size()) + " labels for a batch of " + std::to_string(batch.B));
  if (!class_weights.empty() && class_weights.size() != static_cast<size_t>(C))
    throw Error("train: " + std::to_string(class_weights.size()) + " class weights for " + std::to_string(C) +
                " labels");
  graph_.clear();
  graph_.training = true;
  graph_.params_require_grad = true;
  graph_.set_dropout_seed(dropout_seed);
  word_emb_.resize(static_cast<size_t>(batch.B) * batch.T * D);
  model_.embed(batch, word_emb_.data());
  Var x = graph_.input(Shape{batch.B, batch.T, D}, word_emb_.data(), true);
  Var logits = model_.forward(graph_, x, batch);
  Var loss = graph_.cross_entropy(logits, labels.data(), class_weights.empty() ? nullptr : class_weights.data());
  last_vmask_penalty_ = 0;
  if (const VmaskLayer* mask = model_.vmask()) {
    // The information-bottleneck term of VMASK on the same embeddings (the
    // mask network runs a second time here: a small MLP per token).
    Var pen = mask->penalty(graph_, x, batch);
    last_vmask_penalty_ = static_cast<double>(graph_.value(pen)[0]);
    if (vmask_beta_ != 0) loss = graph_.add(loss, graph_.scale(pen, static_cast<float>(vmask_beta_)));
  }
  graph_.backward(loss);

  for (Slot& s : slots_) {
    std::fill(s.grad.begin(), s.grad.end(), 0.f);
    graph_.accumulate_parameter_grad(s.param.data, s.param.numel(), s.grad.data());
  }
  // embed() copied rows of the table outside the graph: each row's gradient
  // is the sum of the input gradients at the positions of its token.
  if (const float* gx = graph_.grad(x)) {
    float* gw = slots_[word_slot_].grad.data();
    for (size_t i = 0; i < batch.ids.size(); ++i) {
      float* row = gw + static_cast<size_t>(batch.ids[i]) * D;
      for (int d = 0; d < D; ++d) row[d] += gx[i * D + d];
    }
  }
  return static_cast<double>(graph_.value(loss)[0]);
}

double Trainer::step(const TokenBatch& batch, const std::vector<int32_t>& labels,
                     const std::vector<float>& class_weights, double lr, double max_grad_norm,
                     uint64_t dropout_seed) {
  const double loss = compute_gradients(batch, labels, class_weights, dropout_seed);
  std::vector<float*> grads;
  std::vector<int64_t> sizes;
  for (Slot& s : slots_) {
    grads.push_back(s.grad.data());
    sizes.push_back(static_cast<int64_t>(s.grad.size()));
  }
  last_grad_norm_ = clip_grad_norm(grads, sizes, max_grad_norm);
  if (!std::isfinite(last_grad_norm_))
    throw Error("train: the gradient is not finite at step " + std::to_string(steps_ + 1) +
                " (lower the learning rate?)");
  ++steps_;
  for (Slot& s : slots_)
    adamw_update(s.param.numel(), s.param.data, s.grad.data(), s.m.data(), s.v.data(), steps_, lr, adamw_, s.decay);
  model_.parameters_changed();
  return loss;
}

namespace {

std::vector<std::vector<float>> copy_weights(Model& model) {
  std::vector<std::vector<float>> w;
  for (const ModelParameter& p : model.parameters()) w.emplace_back(p.data, p.data + p.numel());
  return w;
}

void restore_weights(Model& model, const std::vector<std::vector<float>>& w) {
  const std::vector<ModelParameter> ps = model.parameters();
  for (size_t k = 0; k < ps.size(); ++k) std::copy(w[k].begin(), w[k].end(), ps[k].data);
  model.parameters_changed();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TrainResult train_classifier(Model& model, const EncodedSet& train, const EncodedSet* dev, const TrainOptions& o,
                             const TrainCallbacks& cb) {
  if (train.size() == 0) throw Error("train: the training set is empty");
  if (o.epochs < 1) throw Error("train: epochs must be at least 1, got " + std::to_string(o.epochs));
  if (o.batch_size < 1) throw Error("train: batch size must be at least 1, got " + std::to_string(o.batch_size));
  if (!(o.lr > 0)) throw Error("train: the learning rate must be positive, got " + std::to_string(o.lr));
  if (!(o.warmup >= 0)) throw Error("train: warm-up must be >= 0, got " + std::to_string(o.warmup));
  const int C = model.output_dim();
  check_labels(train, C, "train");
  if (dev) check_labels(*dev, C, "dev");

  const int64_t per_epoch = static_cast<int64_t>((train.size() + o.batch_size - 1) / o.batch_size);
  const int64_t total = per_epoch * o.epochs;
  const int64_t warmup =
      o.warmup < 1 ? static_cast<int64_t>(std::llround(o.warmup * static_cast<double>(total))) : static_cast<int64_t>(o.warmup);
  const std::vector<float> cw = o.balanced_class_weights ? balanced_class_weights(train.labels, C) : std::vector<float>{};

  Trainer trainer(model, o.adamw);
  const bool vmask = model.vmask() != nullptr;
  TrainResult result;
  std::vector<std::vector<float>> best;
  int bad_epochs = 0;
  const auto t_start = std::chrono::steady_clock::now();
  int64_t examples_done = 0;
  std::vector<int32_t> labels;
  std::vector<size_t> lengths(train.size());
  for (size_t i = 0; i < train.size(); ++i) lengths[i] = train.ids[i].size();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto t_epoch = std::chrono::steady_clock::now();
    // A different order each epoch, fixed by the seed, with texts of
    // similar length batched together (less padding).
    const uint64_t epoch_seed = o.seed * 1000003ull + static_cast<uint64_t>(epoch);
    const std::vector<size_t> order =
        bucketed_order(shuffled_order(train.size(), epoch_seed), lengths, o.batch_size, o.bucket_pool, epoch_seed + 1);
    double loss_sum = 0, penalty_sum = 0;
    int64_t batches = 0;
    const double beta = vmask ? vmask_beta_at(epoch, o) : 0;
    trainer.set_vmask_beta(beta);
    for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(o.batch_size)) {
      const size_t end = std::min(order.size(), begin + static_cast<size_t>(o.batch_size));
      const TokenBatch batch = make_batch(train, order, begin, end, model.config().pad_token_id);
      labels.clear();
      for (size_t k = begin; k < end; ++k) labels.push_back(train.labels[order[k]]);
      const int64_t step = trainer.steps_done();
      const double lr = linear_schedule(step, warmup, total, o.lr);
      loss_sum += trainer.step(batch, labels, cw, lr, o.max_grad_norm, o.seed ^ (0x9e3779b97f4a7c15ull * (step + 1)));
      penalty_sum += trainer.last_vmask_penalty();
      ++batches;
      examples_done += static_cast<int64_t>(end - begin);
      if (cb.on_step) {
        TrainProgress p;
        p.epoch = epoch;
        p.epochs = o.epochs;
        p.step = trainer.steps_done();
        p.total_steps = total;
        p.loss = loss_sum / static_cast<double>(batches);
        p.lr = lr;
        const double el = seconds_since(t_start);
        p.examples_per_s = el > 0 ? static_cast<double>(examples_done) / el : 0;
        p.eta_s = p.step > 0 ? el / static_cast<double>(p.step) * static_cast<double>(total - p.step) : 0;
        if (vmask) {
          p.vmask_beta = beta;
          p.vmask_penalty = penalty_sum / static_cast<double>(batches);
        }
        cb.on_step(p);
      }
    }
    EpochReport rep;
    rep.epoch = epoch;
    rep.train_loss = loss_sum / static_cast<double>(batches);
    if (vmask) {
      rep.vmask_beta = beta;
      rep.vmask_penalty = penalty_sum / static_cast<double>(batches);
    }
    if (dev) {
      rep.dev_accuracy = evaluate_accuracy(model, *dev, std::max(o.batch_size, 64));
      rep.best = rep.dev_accuracy > result.best_dev_accuracy;
    } else {
      rep.best = true;  // without a dev set the latest weights are kept
    }
    rep.seconds = seconds_since(t_epoch);
    if (rep.best) {
      result.best_epoch = epoch;
      result.best_dev_accuracy = rep.dev_accuracy;
      if (dev) best = copy_weights(model);
      bad_epochs = 0;
    } else {
      ++bad_epochs;
    }
    result.epochs.push_back(rep);
    if (cb.on_epoch) cb.on_epoch(rep);
    if (o.patience > 0 && bad_epochs >= o.patience && epoch < o.epochs) {
      result.stopped_early = true;
      break;
    }
  }
  if (dev && result.best_epoch != result.epochs.back().epoch) restore_weights(model, best);
  return result;
}

double vmask_beta_at(int epoch, const TrainOptions& o) {
  double beta = o.vmask_beta;
  // The reference loop lowers beta at the end of epochs every, 2 every, ...
  // while it is above the minimum. It can step below the minimum (1 - 10 x
  // 0.099 = 0.0100000000000001 > 0.01 in double, so its 11th step would
  // give -0.089, after its last epoch); here a step stops at the minimum,
  // which gives the reference's betas for all of its 100 epochs.
  if (o.vmask_beta_every > 0)
    for (int e = o.vmask_beta_every; e < epoch; e += o.vmask_beta_every)
      if (beta > o.vmask_beta_min) beta = std::max(o.vmask_beta_min, beta - o.vmask_beta_step);
  return beta;
}

std::string format_duration(double seconds) {
  const long t = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

std::string format_progress(const TrainProgress& p) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "epoch %d/%d  step %lld/%lld  loss %.4f  lr %.1e  %.0f ex/s  ETA %s", p.epoch,
                p.epochs, static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.loss, p.lr,
                p.examples_per_s, format_duration(p.eta_s).c_str());
  std::string line = buf;
  if (p.vmask_beta >= 0) {
    std::snprintf(buf, sizeof buf, "  vmask beta %.3f penalty %.4f", p.vmask_beta, p.vmask_penalty);
    line += buf;
  }
  return line;
}

}  // namespace wordlight
