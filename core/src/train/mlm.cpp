// Language-model pre-training (pretrain.h): segments, BERT's masking or
// every next token (causal), length bucketing, the training step and the loop.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <string>

#include "wordlight/error.h"
#include "wordlight/pretrain.h"
#include "wordlight/splitmix64.h"
#include "wordlight/thread_pool.h"
#include "../io/tokenizer_impl.h"

namespace wordlight {
namespace {


// The documents' segments in order, one list; *empty (when given): how many
// documents gave none.
Segments join_documents(std::vector<Segments>& per_doc, size_t* empty) {
  Segments out;
  size_t n_empty = 0;
  for (Segments& s : per_doc) {
    n_empty += s.empty();
    for (std::vector<int32_t>& seg : s) out.push_back(std::move(seg));
  }
  if (empty) *empty = n_empty;
  return out;
}

// A seed derived from two values (epoch, segment index, ...).
uint64_t mix_seed(uint64_t a, uint64_t b) {
  SplitMix64 r{a ^ (b * 0xd1b54a32d192ed03ull)};
  r.next();
  return r.next();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// ------------------------------------------------------------------ segments
Segments segment_documents(const Tokenizer& tok, const std::vector<std::string>& texts, int max_length,
                           size_t* empty) {
  if (max_length < 3)
    throw Error("segments: max_length must be at least 3 ([CLS], a piece, [SEP]), got " + std::to_string(max_length));
  const SpecialTokens& sp = tok.special_tokens();
  if (sp.prefix_ids.size() != 1 || sp.suffix_ids.size() != 1)
    throw Error(tok.source() + ": masked-LM segments need one start and one end special token ([CLS] ... [SEP])");
  const int32_t cls = sp.prefix_ids[0], sep = sp.suffix_ids[0];
  const size_t limit = static_cast<size_t>(max_length) - 2;

  // Documents are encoded in parallel, each into its own slot, so the
  // result does not depend on the number of threads.
  std::vector<Segments> per_doc(texts.size());
  default_pool().parallel_for(texts.size(), 16, [&](size_t begin, size_t end) {
    for (size_t d = begin; d < end; ++d) {
      const std::vector<RawToken> raw = tok.tokenize(texts[d]);
      const size_t n = raw.size();
      if (n == 0) continue;
      // As few segments as fit, of lengths differing by at most one (no
      // short leftover segment with little context).
      const size_t parts = (n + limit - 1) / limit;
      for (size_t k = 0; k < parts; ++k) {
        const size_t b = n * k / parts, e = n * (k + 1) / parts;
        std::vector<int32_t> seg;
        seg.reserve(e - b + 2);
        seg.push_back(cls);
        for (size_t i = b; i < e; ++i) seg.push_back(raw[i].id);
        seg.push_back(sep);
        per_doc[d].push_back(std::move(seg));
      }
    }
  });
  return join_documents(per_doc, empty);
}

// ------------------------------------------------------------------ masking
TokenMasker::TokenMasker(const Tokenizer& tok, const MaskingOptions& o) : o_(o) {
  auto in_unit = [](double x) { return x >= 0 && x <= 1; };
  if (!(o.mask_prob > 0 && o.mask_prob <= 1))
    throw Error("masking: the mask probability must be in (0, 1], got " + std::to_string(o.mask_prob));
  if (!in_unit(o.mask_token) || !in_unit(o.random_token) || o.mask_token + o.random_token > 1)
    throw Error("masking: the [MASK] and random-token fractions must be in [0, 1] and sum to at most 1, got " +
                std::to_string(o.mask_token) + " and " + std::to_string(o.random_token));
  // Only a WordPiece vocabulary marks the pieces that continue a word.
  if (o.whole_word && !dynamic_cast<const WordPieceTokenizer*>(&tok))
    throw Error(tok.source() + ": whole-word masking needs a WordPiece tokenizer (this one is " + tok.kind() + ")");
  const SpecialTokens& s = tok.special_tokens();
  mask_id_ = s.mask_id;
  if (mask_id_ < 0)
    throw Error(tok.source() + ": the vocabulary has no mask token '" + s.mask + "' (masked-LM training needs one)");
  // Special: the tokens the tokenizer adds, [PAD], [UNK] and [MASK], and
  // every added token (Hugging Face's all_special_ids are never masked).
  special_.assign(static_cast<size_t>(tok.vocab_size()), 0);
  auto mark = [&](int32_t id) {
    if (id >= 0 && id < tok.vocab_size()) special_[static_cast<size_t>(id)] = 1;
  };
  for (int32_t id : s.prefix_ids) mark(id);
  for (int32_t id : s.suffix_ids) mark(id);
  mark(s.pad_id);
  mark(s.unk_id);
  mark(s.mask_id);
  for (const AddedToken& a : tok.added_tokens()) mark(a.id);
  for (int32_t id = 0; id < tok.vocab_size(); ++id)
    if (!special_[static_cast<size_t>(id)]) normal_.push_back(id);
  if (normal_.empty()) throw Error(tok.source() + ": the vocabulary has only special tokens");
  if (o.whole_word) {
    const auto* wp = dynamic_cast<const WordPieceTokenizer*>(&tok);
    const std::string& prefix = wp->options().continuing_subword_prefix;
    continuation_.assign(special_.size(), 0);
    for (int32_t id = 0; id < tok.vocab_size(); ++id)
      if (!special_[static_cast<size_t>(id)] && !prefix.empty() && tok.id_to_token(id).rfind(prefix, 0) == 0)
        continuation_[static_cast<size_t>(id)] = 1;
  }
}

bool TokenMasker::is_special(int32_t id) const {
  return id < 0 || static_cast<size_t>(id) >= special_.size() || special_[static_cast<size_t>(id)] != 0;
}

void TokenMasker::mask(std::vector<int32_t>& ids, uint64_t seed, std::vector<int32_t>* positions,
                       std::vector<int32_t>* targets) const {
  std::vector<int32_t> cand;
  for (size_t i = 0; i < ids.size(); ++i)
    if (!is_special(ids[i])) cand.push_back(static_cast<int32_t>(i));
  const size_t n = cand.size();
  if (n == 0) return;
  const size_t k = std::max<size_t>(1, static_cast<size_t>(std::llround(o_.mask_prob * static_cast<double>(n))));
  SplitMix64 rng{seed};
  if (o_.whole_word) {
    // Words: [first, end) runs of non-special positions, a "##" piece
    // continuing the word of the position before it.
    std::vector<std::pair<int32_t, int32_t>> words;
    for (int32_t p : cand) {
      const bool cont = continuation_[static_cast<size_t>(ids[static_cast<size_t>(p)])] != 0;
      if (cont && !words.empty() && words.back().second == p)
        words.back().second = p + 1;
      else
        words.push_back({p, p + 1});
    }
    const size_t nw = words.size();
    for (size_t j = 0; j + 1 < nw; ++j) std::swap(words[j], words[j + rng.below(nw - j)]);
    std::vector<std::pair<int32_t, int32_t>> chosen;
    size_t taken = 0;
    for (const auto& w : words) {
      const size_t len = static_cast<size_t>(w.second - w.first);
      if (taken > 0 && taken + len > k) continue;
      chosen.push_back(w);
      taken += len;
      if (taken >= k) break;
    }
    std::sort(chosen.begin(), chosen.end());
    for (const auto& w : chosen) {
      const double u = rng.uniform();
      for (int32_t p = w.first; p < w.second; ++p) {
        positions->push_back(p);
        targets->push_back(ids[static_cast<size_t>(p)]);
        if (u < o_.mask_token)
          ids[static_cast<size_t>(p)] = mask_id_;
        else if (u < o_.mask_token + o_.random_token)
          ids[static_cast<size_t>(p)] = normal_[rng.below(normal_.size())];
      }
    }
    return;
  }
  // The first k of a partial Fisher-Yates shuffle: k distinct positions.
  for (size_t j = 0; j < k; ++j) std::swap(cand[j], cand[j + rng.below(n - j)]);
  std::sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(k));
  for (size_t j = 0; j < k; ++j) {
    const int32_t p = cand[j];
    positions->push_back(p);
    targets->push_back(ids[static_cast<size_t>(p)]);
    const double u = rng.uniform();
    if (u < o_.mask_token)
      ids[static_cast<size_t>(p)] = mask_id_;
    else if (u < o_.mask_token + o_.random_token)
      ids[static_cast<size_t>(p)] = normal_[rng.below(normal_.size())];
  }
}

namespace {

// The batch of the segments `members`, right-padded with pad_id to the
// longest, shared by the masked and the causal LM: row(r, offset, mb) gives
// the ids of row r (which starts at `offset` of the flat batch) and appends
// its positions and targets to mb. `what` names the batch in errors.
template <class Row>
MaskedLMBatch padded_lm_batch(const Segments& segments, const std::vector<size_t>& members, int32_t pad_id,
                              const std::string& what, Row row) {
  if (members.empty()) throw Error(what + ": no segment");
  MaskedLMBatch mb;
  TokenBatch& b = mb.batch;
  b.B = static_cast<int>(members.size());
  size_t longest = 0;
  for (size_t i : members) {
    if (i >= segments.size())
      throw Error(what + ": segment " + std::to_string(i) + " of " + std::to_string(segments.size()));
    longest = std::max(longest, segments[i].size());
  }
  if (longest == 0) throw Error(what + ": every segment is empty");
  b.T = static_cast<int>(longest);
  b.ids.assign(members.size() * longest, pad_id);
  b.mask.assign(b.ids.size(), 0);
  for (size_t r = 0; r < members.size(); ++r) {
    const size_t offset = r * longest;
    const std::vector<int32_t> ids = row(r, offset, mb);
    std::copy(ids.begin(), ids.end(), b.ids.begin() + static_cast<std::ptrdiff_t>(offset));
    std::fill(b.mask.begin() + static_cast<std::ptrdiff_t>(offset),
              b.mask.begin() + static_cast<std::ptrdiff_t>(offset + ids.size()), uint8_t{1});
    mb.tokens += static_cast<int64_t>(ids.size());
  }
  return mb;
}

}  // namespace

MaskedLMBatch make_masked_batch(const Segments& segments, const std::vector<size_t>& members, const TokenMasker& masker,
                                uint64_t seed, int32_t pad_id) {
  std::vector<int32_t> pos;
  return padded_lm_batch(segments, members, pad_id, "masked-LM batch", [&](size_t r, size_t offset, MaskedLMBatch& mb) {
    std::vector<int32_t> ids = segments[members[r]];
    pos.clear();
    masker.mask(ids, mix_seed(seed, members[r]), &pos, &mb.targets);
    for (int32_t p : pos) mb.positions.push_back(static_cast<int32_t>(offset) + p);
    return ids;
  });
}

Segments segment_causal_documents(const Tokenizer& tok, const std::vector<std::string>& texts, int max_length,
                                  int32_t eos_id, size_t* empty) {
  if (max_length < 2) throw Error("segments: max_length must be at least 2, got " + std::to_string(max_length));
  if (eos_id < 0 || eos_id >= tok.vocab_size())
    throw Error(tok.source() + ": causal-LM segments need an end-of-text token inside the vocabulary (got id " +
                std::to_string(eos_id) + ")");
  const size_t limit = static_cast<size_t>(max_length);
  std::vector<Segments> per_doc(texts.size());
  default_pool().parallel_for(texts.size(), 16, [&](size_t begin, size_t end) {
    for (size_t d = begin; d < end; ++d) {
      const std::vector<RawToken> raw = tok.tokenize(texts[d]);
      if (raw.empty()) continue;
      // eos, the pieces, eos: the model learns to start a text after an
      // end-of-text token and to end one.
      std::vector<int32_t> all;
      all.reserve(raw.size() + 2);
      all.push_back(eos_id);
      for (const RawToken& r : raw) all.push_back(r.id);
      all.push_back(eos_id);
      const size_t n = all.size(), parts = (n + limit - 1) / limit;
      for (size_t k = 0; k < parts; ++k) {
        const size_t b = n * k / parts, e = n * (k + 1) / parts;
        if (e - b >= 2) per_doc[d].emplace_back(all.begin() + static_cast<std::ptrdiff_t>(b),
                                                all.begin() + static_cast<std::ptrdiff_t>(e));
      }
    }
  });
  return join_documents(per_doc, empty);
}

MaskedLMBatch make_causal_batch(const Segments& segments, const std::vector<size_t>& members, int32_t pad_id) {
  return padded_lm_batch(segments, members, pad_id, "causal-LM batch", [&](size_t r, size_t offset, MaskedLMBatch& mb) {
    const std::vector<int32_t>& ids = segments[members[r]];
    // Position t predicts the token at t + 1.
    for (size_t t = 0; t + 1 < ids.size(); ++t) {
      mb.positions.push_back(static_cast<int32_t>(offset + t));
      mb.targets.push_back(ids[t + 1]);
    }
    return ids;
  });
}

std::vector<std::vector<size_t>> length_bucketed_batches(const Segments& segments, int batch_size, uint64_t seed) {
  if (batch_size < 1) throw Error("batches: batch size must be at least 1, got " + std::to_string(batch_size));
  std::vector<size_t> lengths(segments.size());
  for (size_t i = 0; i < segments.size(); ++i) lengths[i] = segments[i].size();
  const std::vector<size_t> order =
      bucketed_order(shuffled_order(segments.size(), seed), lengths, batch_size, 50, mix_seed(seed, 1));
  std::vector<std::vector<size_t>> batches;
  const size_t bs = static_cast<size_t>(batch_size);
  for (size_t begin = 0; begin < order.size(); begin += bs)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(begin),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), begin + bs)));
  return batches;
}

// ------------------------------------------------------------------ step
namespace {

// Arg-max hits of logits (P, V) against targets.
int64_t count_correct(const float* logits, const std::vector<int32_t>& targets, int V) {
  int64_t correct = 0;
  for (size_t r = 0; r < targets.size(); ++r) {
    const float* row = logits + r * static_cast<size_t>(V);
    correct += (std::max_element(row, row + V) - row) == targets[r];
  }
  return correct;
}

}  // namespace

MaskedLMTrainer::MaskedLMTrainer(Model& model, const AdamWOptions& adamw) : model_(model), adamw_(adamw) {
  if (model.config().head != ModelHead::MaskedLM && model.config().head != ModelHead::CausalLM)
    throw Error("pretrain: " + model.config().architecture +
                " is not a language model (use a *ForMaskedLM or GPT2LMHeadModel config)");
  slots_ = Trainer::make_slots(model, "pretrain", &word_slot_);
}

MaskedLMStats MaskedLMTrainer::compute_gradients(const MaskedLMBatch& b, uint64_t dropout_seed) {
  if (b.positions.empty() || b.positions.size() != b.targets.size())
    throw Error("pretrain: a batch needs chosen positions, one target each (got " + std::to_string(b.positions.size()) +
                " positions, " + std::to_string(b.targets.size()) + " targets)");
  const TokenBatch& batch = b.batch;
  const int D = model_.embedding_dim(), V = model_.output_dim();
  graph_.clear();
  graph_.training = true;
  graph_.params_require_grad = true;
  graph_.set_dropout_seed(dropout_seed);
  word_emb_.resize(static_cast<size_t>(batch.B) * batch.T * D);
  model_.embed(batch, word_emb_.data());
  Var x = graph_.input(Shape{batch.B, batch.T, D}, word_emb_.data(), true);
  Var logits = model_.forward_masked_lm(graph_, x, batch, b.positions);
  Var loss = graph_.cross_entropy(logits, b.targets.data());
  graph_.backward(loss);

  // Each parameter's gradient summed over its uses: the word-embedding
  // slot gets the tied decoder's here...
  for (Trainer::Slot& s : slots_) {
    std::fill(s.grad.begin(), s.grad.end(), 0.f);
    graph_.accumulate_parameter_grad(s.param.data, s.param.numel(), s.grad.data());
  }
  // ...and the input side: embed() copied rows of the table outside the
  // graph, so each row gets the input gradients at its token's positions.
  if (const float* gx = graph_.grad(x)) {
    float* gw = slots_[static_cast<size_t>(word_slot_)].grad.data();
    for (size_t i = 0; i < batch.ids.size(); ++i) {
      float* row = gw + static_cast<size_t>(batch.ids[i]) * D;
      for (int d = 0; d < D; ++d) row[d] += gx[i * D + d];
    }
  }
  MaskedLMStats st;
  st.loss = static_cast<double>(graph_.value(loss)[0]);
  st.predicted = static_cast<int64_t>(b.targets.size());
  st.correct = count_correct(graph_.value(logits), b.targets, V);
  return st;
}

MaskedLMStats MaskedLMTrainer::step(const MaskedLMBatch& b, double lr, double max_grad_norm, uint64_t dropout_seed) {
  const MaskedLMStats st = compute_gradients(b, dropout_seed);
  std::vector<float*> grads;
  std::vector<int64_t> sizes;
  for (Trainer::Slot& s : slots_) {
    grads.push_back(s.grad.data());
    sizes.push_back(static_cast<int64_t>(s.grad.size()));
  }
  const double norm = clip_grad_norm(grads, sizes, max_grad_norm);
  if (!std::isfinite(norm))
    throw Error("pretrain: the gradient is not finite at step " + std::to_string(steps_ + 1) +
                " (lower the learning rate?)");
  ++steps_;
  for (Trainer::Slot& s : slots_)
    adamw_update(s.param.numel(), s.param.data, s.grad.data(), s.m.data(), s.v.data(), steps_, lr, adamw_, s.decay);
  model_.parameters_changed();
  return st;
}

namespace {

// A batch of segments with its chosen positions and targets: masked (BERT)
// or every next token (causal). seed: the epoch's (masking).
using BatchMaker = std::function<MaskedLMBatch(const std::vector<size_t>& members, uint64_t seed)>;

MaskedLMStats evaluate_batches(const Model& model, const Segments& segments, int batch_size, uint64_t seed,
                               const BatchMaker& make_batch) {
  if (segments.empty()) throw Error("evaluate (LM): the data set is empty");
  if (batch_size < 1) throw Error("evaluate (LM): batch size must be at least 1, got " + std::to_string(batch_size));
  std::vector<size_t> order(segments.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return segments[a].size() < segments[b].size(); });
  Graph<float> g;
  std::vector<float> emb;
  double loss_sum = 0;
  MaskedLMStats st;
  const int D = model.embedding_dim();
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const std::vector<size_t> members(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                      order.begin() + static_cast<std::ptrdiff_t>(
                                                          std::min(order.size(), begin + static_cast<size_t>(batch_size))));
    const MaskedLMBatch b = make_batch(members, seed);
    if (b.positions.empty()) continue;  // segments of special tokens only
    g.clear();
    emb.resize(static_cast<size_t>(b.batch.B) * b.batch.T * D);
    model.embed(b.batch, emb.data());
    Var x = g.input(Shape{b.batch.B, b.batch.T, D}, emb.data(), false);
    Var logits = model.forward_masked_lm(g, x, b.batch, b.positions);
    loss_sum += static_cast<double>(g.value(g.cross_entropy(logits, b.targets.data()))[0]) *
                static_cast<double>(b.targets.size());
    st.predicted += static_cast<int64_t>(b.targets.size());
    st.correct += count_correct(g.value(logits), b.targets, model.output_dim());
  }
  if (st.predicted == 0) throw Error("evaluate (LM): no segment has a token to predict");
  st.loss = loss_sum / static_cast<double>(st.predicted);
  return st;
}

}  // namespace

MaskedLMStats evaluate_masked_lm(const Model& model, const Segments& segments, const TokenMasker& masker,
                                 int batch_size, uint64_t seed) {
  const int32_t pad = model.config().pad_token_id;
  return evaluate_batches(model, segments, batch_size, seed, [&](const std::vector<size_t>& m, uint64_t sd) {
    return make_masked_batch(segments, m, masker, sd, pad);
  });
}

MaskedLMStats evaluate_causal_lm(const Model& model, const Segments& segments, int batch_size) {
  const int32_t pad = std::max(0, model.config().pad_token_id);
  return evaluate_batches(model, segments, batch_size, 0, [&](const std::vector<size_t>& m, uint64_t) {
    return make_causal_batch(segments, m, pad);
  });
}

// ------------------------------------------------------------------ loop
namespace {

// Running sums of masked-LM stats (loss weighted by the positions).
struct StatSum {
  double loss = 0;
  int64_t correct = 0, predicted = 0;
  void add(const MaskedLMStats& s, int sign = 1) {
    loss += sign * s.loss * static_cast<double>(s.predicted);
    correct += sign * s.correct;
    predicted += sign * s.predicted;
  }
  MaskedLMStats mean() const {
    MaskedLMStats m;
    m.predicted = predicted;
    m.correct = correct;
    m.loss = predicted > 0 ? loss / static_cast<double>(predicted) : 0;
    return m;
  }
};

}  // namespace

namespace {

PretrainResult pretrain_loop(Model& model, const Segments& train, const Segments* dev, const BatchMaker& make_train,
                             const BatchMaker& make_dev, const PretrainOptions& o, const PretrainCallbacks& cb) {
  if (train.empty()) throw Error("pretrain: the training set is empty");
  if (o.epochs < 0) throw Error("pretrain: epochs must be >= 0, got " + std::to_string(o.epochs));
  if (o.batch_size < 1) throw Error("pretrain: batch size must be at least 1, got " + std::to_string(o.batch_size));
  if (!(o.lr > 0)) throw Error("pretrain: the learning rate must be positive, got " + std::to_string(o.lr));
  if (!(o.warmup >= 0)) throw Error("pretrain: warm-up must be >= 0, got " + std::to_string(o.warmup));
  if (o.max_steps < 0 || o.max_seconds < 0) throw Error("pretrain: max steps and max seconds must be >= 0");
  if (o.epochs == 0 && o.max_steps == 0 && o.max_seconds == 0)
    throw Error("pretrain: no limit on epochs, steps or time: training would not stop");

  // The most steps the limits allow (without an epoch or step limit,
  // `unbounded`: the time budget decides).
  const int64_t unbounded = int64_t{1} << 50;
  const int64_t per_epoch = static_cast<int64_t>((train.size() + o.batch_size - 1) / o.batch_size);
  int64_t cap = o.epochs > 0 ? per_epoch * o.epochs : unbounded;
  if (o.max_steps > 0) cap = std::min(cap, o.max_steps);
  int64_t planned = cap;
  auto warmup_steps = [&]() {
    return o.warmup < 1 ? static_cast<int64_t>(std::llround(o.warmup * static_cast<double>(planned)))
                        : static_cast<int64_t>(o.warmup);
  };
  int64_t warmup = warmup_steps();
  const uint64_t dev_seed = mix_seed(o.seed, 0xde5);

  MaskedLMTrainer trainer(model, o.adamw);
  PretrainResult result;
  const auto t_start = std::chrono::steady_clock::now();
  std::deque<MaskedLMStats> window;
  StatSum window_sum;
  bool stop = false;
  for (int epoch = 1; (o.epochs == 0 || epoch <= o.epochs) && !stop; ++epoch) {
    const auto t_epoch = std::chrono::steady_clock::now();
    // A new order and new masks each epoch, fixed by the seed. Masks depend
    // on the epoch and the segment, never on the batching.
    const uint64_t epoch_seed = mix_seed(o.seed, static_cast<uint64_t>(epoch));
    const uint64_t mask_seed = mix_seed(epoch_seed, 2);
    const std::vector<std::vector<size_t>> batches = length_bucketed_batches(train, o.batch_size, epoch_seed);
    StatSum epoch_sum;
    PretrainEpochReport rep;
    rep.epoch = epoch;
    for (const std::vector<size_t>& members : batches) {
      const int64_t step = trainer.steps_done();
      // Inside an epoch the plan can only end early: cut by the time
      // budget, or by max_steps.
      if (step >= planned) {
        result.stopped_by = planned < cap ? "time" : "max_steps";
        stop = true;
        break;
      }
      if (o.max_seconds > 0 && seconds_since(t_start) >= o.max_seconds) {
        result.stopped_by = "time";
        stop = true;
        break;
      }
      const auto t_step = std::chrono::steady_clock::now();
      const MaskedLMBatch b = make_train(members, mask_seed);
      const double lr = linear_schedule(step, warmup, planned, o.lr);
      const MaskedLMStats st =
          trainer.step(b, lr, o.max_grad_norm, o.seed ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(step + 1)));
      result.step_seconds += seconds_since(t_step);
      result.tokens += b.tokens;
      epoch_sum.add(st);
      window.push_back(st);
      window_sum.add(st);
      if (static_cast<int>(window.size()) > std::max(1, o.window)) {
        window_sum.add(window.front(), -1);
        window.pop_front();
      }
      const int64_t done = trainer.steps_done();
      const double elapsed = seconds_since(t_start);
      // With a time budget, plan the schedule for the steps that fit: from
      // the speed measured so far, after 3 steps (a first guess), 20, and
      // every 50 after.
      if (o.max_seconds > 0 && (done == 3 || done == 20 || (done > 20 && done % 50 == 0))) {
        const double per_step = elapsed / static_cast<double>(done);
        const int64_t fit = done + static_cast<int64_t>(std::max(0.0, (o.max_seconds - elapsed) / per_step));
        planned = std::max(done, std::min(cap, fit));
        warmup = warmup_steps();
      }
      if (o.save_every > 0 && done % o.save_every == 0 && cb.on_save) cb.on_save(done);
      if (cb.on_step) {
        PretrainProgress p;
        p.epoch = epoch;
        p.epochs = o.epochs;
        p.step = done;
        p.total_steps = planned < unbounded ? planned : 0;
        const MaskedLMStats w = window_sum.mean();
        p.loss = w.loss;
        p.accuracy = w.predicted > 0 ? static_cast<double>(w.correct) / static_cast<double>(w.predicted) : 0;
        p.lr = lr;
        p.tokens_per_s = result.step_seconds > 0 ? static_cast<double>(result.tokens) / result.step_seconds : 0;
        p.eta_s = elapsed / static_cast<double>(done) * static_cast<double>(planned - done);
        if (o.max_seconds > 0) p.eta_s = std::min(p.eta_s, std::max(0.0, o.max_seconds - elapsed));
        cb.on_step(p);
      }
    }
    if (epoch_sum.predicted == 0) break;  // stopped before the epoch's first step
    rep.complete = !stop;
    rep.train = epoch_sum.mean();
    if (dev) rep.dev = evaluate_batches(model, *dev, std::max(o.batch_size, 64), dev_seed, make_dev);
    rep.seconds = seconds_since(t_epoch);
    result.epochs.push_back(rep);
    if (cb.on_epoch) cb.on_epoch(rep);
  }
  if (result.stopped_by.empty()) result.stopped_by = "epochs";
  result.steps = trainer.steps_done();
  result.seconds = seconds_since(t_start);
  return result;
}

}  // namespace

PretrainResult pretrain_masked_lm(Model& model, const Segments& train, const Segments* dev, const TokenMasker& masker,
                                  const PretrainOptions& o, const PretrainCallbacks& cb) {
  if (model.config().head != ModelHead::MaskedLM)
    throw Error("pretrain: " + model.config().architecture + " is not a masked language model (use a *ForMaskedLM config)");
  const int32_t pad = model.config().pad_token_id;
  return pretrain_loop(
      model, train, dev,
      [&](const std::vector<size_t>& m, uint64_t sd) { return make_masked_batch(train, m, masker, sd, pad); },
      [&](const std::vector<size_t>& m, uint64_t sd) { return make_masked_batch(*dev, m, masker, sd, pad); }, o, cb);
}

PretrainResult pretrain_causal_lm(Model& model, const Segments& train, const Segments* dev, const PretrainOptions& o,
                                  const PretrainCallbacks& cb) {
  if (model.config().head != ModelHead::CausalLM)
    throw Error("pretrain: " + model.config().architecture + " is not a causal language model (GPT2LMHeadModel)");
  const int32_t pad = std::max(0, model.config().pad_token_id);
  return pretrain_loop(
      model, train, dev, [&](const std::vector<size_t>& m, uint64_t) { return make_causal_batch(train, m, pad); },
      [&](const std::vector<size_t>& m, uint64_t) { return make_causal_batch(*dev, m, pad); }, o, cb);
}

std::string format_pretrain_progress(const PretrainProgress& p) {
  const std::string epoch =
      p.epochs > 0 ? std::to_string(p.epoch) + "/" + std::to_string(p.epochs) : std::to_string(p.epoch);
  const std::string total = p.total_steps > 0 ? std::to_string(p.total_steps) : "?";
  char buf[200];
  std::snprintf(buf, sizeof buf, "epoch %s  step %lld/%s  loss %.4f  acc %.3f  lr %.1e  %.0f tok/s  ETA %s",
                epoch.c_str(), static_cast<long long>(p.step), total.c_str(), p.loss, p.accuracy, p.lr,
                p.tokens_per_s, format_duration(p.eta_s).c_str());
  return buf;
}

}  // namespace wordlight
