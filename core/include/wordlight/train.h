#pragma once
// Training a Model (model.h) as a classifier: AdamW with decoupled weight
// decay, a linear warm-up then linear decay schedule, global-norm gradient
// clipping, class-weighted cross-entropy, deterministic shuffling, dev-set
// accuracy each epoch with early stopping, and checkpoints in the Hugging
// Face layout. Nothing here prints: progress goes to callbacks, so the CLI
// decides what reaches the terminal.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

// ------------------------------------------------------------------ pieces
struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.01;
};

// One AdamW update (Loshchilov & Hutter; torch.optim.AdamW) of n values,
// `step` counting from 1:
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
//   p -= lr * wd * p                       (only when `decay`)
//   p -= lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps)
void adamw_update(int64_t n, float* param, const float* grad, float* m, float* v, int64_t step, double lr,
                  const AdamWOptions& o, bool decay);

// Whether a tensor gets weight decay by default: not biases, not LayerNorm
// weights (the usual no_decay list of the BERT recipes).
bool default_weight_decay(const std::string& name);

// The learning rate for 0-based `step` of `total`: rises linearly from 0 to
// base_lr over `warmup` steps, then falls linearly to 0 at `total`
// (transformers' get_linear_schedule_with_warmup).
double linear_schedule(int64_t step, int64_t warmup, int64_t total, double base_lr);

// Scales all gradients together so that their global L2 norm is at most
// max_norm (max_norm <= 0: no clipping). Returns the norm before clipping.
double clip_grad_norm(const std::vector<float*>& grads, const std::vector<int64_t>& sizes, double max_norm);

// n / (C * count_c) per class (scikit-learn's "balanced"); a class absent
// from the labels gets 1. Throws on a label outside [0, C).
std::vector<float> balanced_class_weights(const std::vector<int32_t>& labels, int C);

// Texts already turned into token ids, with their label ids.
struct EncodedSet {
  std::vector<std::vector<int32_t>> ids;
  std::vector<int32_t> labels;
  size_t size() const { return labels.size(); }
};

// Encodes texts with the model's tokenizer (special tokens added, truncated
// at max_length; 0 = the tokenizer's own maximum). Texts that give no token
// at all (an empty post) are left out and counted in *dropped; *kept gets
// the index in `texts` of each example of the set (for per-example output).
EncodedSet encode_texts(const Tokenizer& tok, const std::vector<std::string>& texts,
                        const std::vector<int32_t>& labels, int max_length, size_t* dropped = nullptr,
                        std::vector<size_t>* kept = nullptr);

// 0 .. n-1 shuffled by Fisher-Yates on mt19937_64's raw output (specified
// by the standard), so a seed gives the same order on every platform.
std::vector<size_t> shuffled_order(size_t n, uint64_t seed);

// Length bucketing: `order` (already shuffled) cut into pools of
// pool_batches * batch_size examples, each pool sorted by length (`lengths`
// indexed like the data set), cut into batches, and the batches shuffled
// with `seed`. Every example appears once; consecutive runs of batch_size
// have similar lengths, so batches carry little padding. pool_batches <= 1
// returns `order` unchanged.
std::vector<size_t> bucketed_order(const std::vector<size_t>& order, const std::vector<size_t>& lengths,
                                   int batch_size, int pool_batches, uint64_t seed);

// The examples order[begin, end), padded on the right with pad_id to the
// longest of them.
TokenBatch make_batch(const EncodedSet& set, const std::vector<size_t>& order, size_t begin, size_t end,
                      int32_t pad_id);

// Fraction of `set` whose arg-max logit is the label (explanation mode: no
// dropout). Throws on an empty set. *predicted: each example's arg-max
// class, indexed like `set`.
double evaluate_accuracy(const Model& model, const EncodedSet& set, int batch_size,
                         std::vector<int32_t>* predicted = nullptr);

// ------------------------------------------------------------------ steps
// Gradients and AdamW state for every parameter of a model. A step:
// embeddings -> forward (training mode) -> weighted cross-entropy ->
// backward -> per parameter the sum over the graph's uses, plus, for the
// word-embedding table, the input gradient scattered by token id ->
// clipping -> AdamW -> model.parameters_changed().
class Trainer {
 public:
  struct Slot {
    ModelParameter param;
    bool decay = true;
    std::vector<float> grad, m, v;
  };

  Trainer(Model& model, const AdamWOptions& adamw);
  // A slot per parameter of `model` (weight decay by default_weight_decay,
  // zeroed gradient and moments); *word_slot: the word-embedding table's
  // index. Throws, naming `what`, when the model lists no such table.
  static std::vector<Slot> make_slots(Model& model, const char* what, int* word_slot);

  // Loss of the batch, leaving its gradients in slots() (not applied).
  // class_weights: num_labels values or empty.
  double compute_gradients(const TokenBatch& batch, const std::vector<int32_t>& labels,
                           const std::vector<float>& class_weights, uint64_t dropout_seed);
  // compute_gradients, clipping to max_grad_norm (<= 0: none), then one
  // AdamW update at learning rate lr. Returns the loss before the update.
  double step(const TokenBatch& batch, const std::vector<int32_t>& labels, const std::vector<float>& class_weights,
              double lr, double max_grad_norm, uint64_t dropout_seed);

  // VMASK models (Model::vmask()): the loss of a step is cross-entropy +
  // beta * the mask's penalty (VmaskLayer::penalty); beta is set per epoch
  // by train_classifier (vmask_beta_at). last_vmask_penalty(): the
  // penalty of the latest batch (0 without a mask layer).
  void set_vmask_beta(double beta) { vmask_beta_ = beta; }
  double last_vmask_penalty() const { return last_vmask_penalty_; }

  const std::vector<Slot>& slots() const { return slots_; }
  int64_t steps_done() const { return steps_; }
  double last_grad_norm() const { return last_grad_norm_; }

 private:
  Model& model_;
  AdamWOptions adamw_;
  std::vector<Slot> slots_;
  int word_slot_ = -1;
  Graph<float> graph_;
  std::vector<float> word_emb_;
  int64_t steps_ = 0;
  double last_grad_norm_ = 0;
  double vmask_beta_ = 0, last_vmask_penalty_ = 0;
};

// ------------------------------------------------------------------ loop
struct TrainOptions {
  int epochs = 3;
  int batch_size = 32;
  double lr = 1e-3;
  double warmup = 0.1;        // fraction of all steps (< 1) or a number of steps (>= 1)
  double max_grad_norm = 1.0;  // <= 0: no clipping
  int patience = 0;            // epochs without a better dev accuracy before stopping; 0: never stop early
  uint64_t seed = 42;
  bool balanced_class_weights = false;
  int bucket_pool = 50;  // batches per length-bucketing pool (bucketed_order); <= 1: plain shuffling
  AdamWOptions adamw;
  // VMASK's beta schedule (UVa-NLP/VMASK's main.py): beta starts at
  // vmask_beta and after every vmask_beta_every-th epoch falls by
  // vmask_beta_step while it is above vmask_beta_min (never below it). Used only for a
  // model with a VMASK layer.
  double vmask_beta = 1.0, vmask_beta_step = 0.099, vmask_beta_min = 0.01;
  int vmask_beta_every = 10;
};

// The beta of 1-based `epoch` under o's VMASK schedule.
double vmask_beta_at(int epoch, const TrainOptions& o);

struct TrainProgress {
  int epoch = 0, epochs = 0;  // 1-based epoch
  int64_t step = 0, total_steps = 0;  // steps done so far (all epochs)
  double loss = 0;                    // running mean of this epoch's batch losses
  double lr = 0;
  double examples_per_s = 0;
  double eta_s = 0;  // for the remaining steps at the current speed
  // VMASK models only (vmask_beta < 0 otherwise): this epoch's beta and the
  // running mean of the mask's penalty, mean p log p + (1-p) log(1-p).
  double vmask_beta = -1, vmask_penalty = 0;
};

struct EpochReport {
  int epoch = 0;
  double train_loss = 0;     // mean batch loss over the epoch
  double dev_accuracy = -1;  // -1 without a dev set
  bool best = false;         // the best so far (kept)
  double seconds = 0;
  double vmask_beta = -1, vmask_penalty = 0;  // VMASK models: as in TrainProgress, over the epoch
};

struct TrainResult {
  std::vector<EpochReport> epochs;
  int best_epoch = 0;
  double best_dev_accuracy = -1;
  bool stopped_early = false;
};

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_step;  // after every step
  // After every epoch; when report.best, the model holds the new best
  // weights (the CLI writes its checkpoint then).
  std::function<void(const EpochReport&)> on_epoch;
};

// Trains `model` on `train`; with a dev set, ends with the weights of the
// best dev epoch (early stopping after `patience` epochs without
// improvement). Throws on an empty training set or a label outside the
// model's num_labels.
TrainResult train_classifier(Model& model, const EncodedSet& train, const EncodedSet* dev, const TrainOptions& o,
                             const TrainCallbacks& cb = {});

// "1m05s", or "2h03m" from an hour on (progress lines' ETA).
std::string format_duration(double seconds);

// "epoch 1/3  step 120/651  loss 0.5312  lr 9.1e-04  812 ex/s  ETA 1m05s"
std::string format_progress(const TrainProgress& p);

// ------------------------------------------------------------------ checkpoints
// Writes `dir` in the Hugging Face layout: config.json (config_json_text,
// the source model's, with "torch_dtype" set and, when label_names is not
// empty, id2label / label2id / num_labels replaced), model.safetensors (F32,
// or F16 when f16) and the tokenizer files found in tokenizer_dir
// (tokenizer_file_names()). Creates `dir` if needed.
void save_checkpoint(Model& model, const std::string& config_json_text, const std::vector<std::string>& label_names,
                     const std::string& tokenizer_dir, const std::string& dir, bool f16);

// Creates a directory and its missing parents; throws naming it on failure.
void make_directories(const std::string& dir);

}  // namespace wordlight
