#pragma once
// Pre-training our own BERT from raw text (no pretrained model can be
// fetched): a WordPiece vocabulary learned from the corpus, and masked
// language modelling (Devlin et al. 2019) on a BertForMaskedLM model.
//
//   count_bert_words + learn_wordpiece   vocab.txt for the WordPiece tokenizer
//   segment_documents                    texts -> [CLS] pieces [SEP] segments,
//                                        long documents split, never cut off
//   TokenMasker, make_masked_batch       BERT's 80/10/10 masking, seeded
//   MaskedLMTrainer, pretrain_masked_lm  the step and the loop (AdamW,
//                                        schedule and clipping of train.h)
//
// Like train.h, nothing here prints: progress goes to callbacks.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "wordlight/model.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

namespace wordlight {

// ------------------------------------------------------------------ WordPiece vocabulary
struct WordPieceTrainerOptions {
  int vocab_size = 8000;  // special tokens + alphabet + learned pieces
  // Characters seen fewer times are left out of the alphabet (words holding
  // one are not learned from: the tokenizer makes them [UNK]); merges stop
  // when the most frequent pair is seen fewer times.
  int64_t min_frequency = 2;
  // Words longer than this are one [UNK] for the tokenizer
  // (WordPieceOptions::max_input_chars_per_word): not learned from.
  int max_input_chars_per_word = 100;
};

// The special tokens a learned vocabulary starts with, ids 0-4:
// [PAD] [UNK] [CLS] [SEP] [MASK].
const std::vector<std::string>& bert_special_tokens();

// Words of texts as the BERT tokenizer pre-tokenizes them (BertNormalizer:
// clean text, lower-case and strip accents when `lowercase`, CJK ideographs
// apart; BertPreTokenizer: white space and each punctuation character),
// with how often each occurs. Adds to *counts.
void count_bert_words(const std::vector<std::string>& texts, bool lowercase,
                      std::unordered_map<std::string, int64_t>* counts);

struct WordPieceVocab {
  std::vector<std::string> tokens;  // in id order
  size_t alphabet = 0;              // characters kept (each gives "c" and "##c")
  size_t merges = 0;                // merges learned
  size_t words_distinct = 0;        // words learned from
  int64_t words_skipped = 0;        // occurrences of words left out (rare character, too long)
};

// Learns a WordPiece vocabulary from word counts the way Hugging Face's
// WordPieceTrainer does: BPE over characters, continuation characters
// written "##c", repeatedly merging the most frequent adjacent pair (ties:
// the pair whose two strings come first in byte order). Tokens: the special
// tokens, the alphabet (code-point order, every "c" then every "##c"), then
// each merge's new piece, until vocab_size tokens or no pair is seen
// min_frequency times. The result is the same on every platform. Throws
// when vocab_size cannot hold the special tokens and the alphabet.
WordPieceVocab learn_wordpiece(const std::unordered_map<std::string, int64_t>& counts,
                               const WordPieceTrainerOptions& o);

// vocab.txt: one token per line, in id order.
std::string vocab_txt(const WordPieceVocab& v);

// ------------------------------------------------------------------ segments
// Encoded documents for masked-LM training: each [CLS] pieces [SEP].
using Segments = std::vector<std::vector<int32_t>>;

// Encodes every text with the tokenizer and splits its word pieces into as
// few segments of at most max_length - 2 pieces as possible, of (nearly)
// equal length, each wrapped in the tokenizer's [CLS] ... [SEP]: every piece
// of every document is kept exactly once. Texts without any piece are
// skipped (counted in *empty). Throws when max_length < 3 or the tokenizer
// has no single prefix and suffix special token.
Segments segment_documents(const Tokenizer& tok, const std::vector<std::string>& texts, int max_length,
                           size_t* empty = nullptr);

// Causal-LM (GPT-2) segments: each text's pieces between two eos_id tokens
// (eos pieces eos), split into as few segments of at most max_length tokens
// as possible, of nearly equal length; nothing is cut off. Texts without a
// piece are skipped (counted in *empty).
Segments segment_causal_documents(const Tokenizer& tok, const std::vector<std::string>& texts, int max_length,
                                  int32_t eos_id, size_t* empty = nullptr);

// ------------------------------------------------------------------ masking
struct MaskingOptions {
  double mask_prob = 0.15;    // fraction of a segment's non-special positions chosen
  double mask_token = 0.8;    // of the chosen: replaced by [MASK]
  double random_token = 0.1;  // of the chosen: replaced by a random non-special token (else unchanged)
  // Whole-word masking (the released BERT's later recipe): the choice is
  // made per word, a word being a piece and the "##" continuation pieces
  // after it, so a masked word never leaves a piece of itself visible. The
  // 80/10/10 draw is one per word. Needs a WordPiece tokenizer.
  bool whole_word = false;
};

// BERT's masking of one segment at a time, deterministic from a seed.
class TokenMasker {
 public:
  // Throws when the tokenizer has no [MASK] token, when the options are
  // outside [0, 1], or when the vocabulary has no non-special token.
  TokenMasker(const Tokenizer& tok, const MaskingOptions& o);

  // Chooses round(mask_prob * n) of the n non-special positions of `ids`
  // (at least one when n > 0) and replaces them in place as BERT does.
  // With whole_word: whole words in a random order, each taken while the
  // pieces chosen stay within round(mask_prob * n) (the first always).
  // Appends the chosen positions (increasing) to *positions and their
  // original ids to *targets. The same seed gives the same masking on every
  // platform.
  void mask(std::vector<int32_t>& ids, uint64_t seed, std::vector<int32_t>* positions,
            std::vector<int32_t>* targets) const;

  bool is_special(int32_t id) const;
  const MaskingOptions& options() const { return o_; }

 private:
  MaskingOptions o_;
  int32_t mask_id_ = -1;
  std::vector<uint8_t> special_;  // per id of the vocabulary
  std::vector<int32_t> normal_;   // the non-special ids (random replacements)
  std::vector<uint8_t> continuation_;  // per id: a "##" piece (whole_word only)
};

// A batch of masked segments for MaskedLMTrainer.
struct MaskedLMBatch {
  TokenBatch batch;                // ids after masking, padded on the right
  std::vector<int32_t> positions;  // chosen positions, flat b * T + t, increasing
  std::vector<int32_t> targets;    // the original id at each chosen position
  int64_t tokens = 0;              // real (not padding) tokens
};

// The segments `members` (indices into `segments`) masked and padded with
// pad_id to the longest. Segment i is masked with a seed from (seed, i), so
// its masking does not depend on the batch it lands in: a new `seed` each
// epoch gives fresh masks, a fixed one the same masks every time (dev).
MaskedLMBatch make_masked_batch(const Segments& segments, const std::vector<size_t>& members, const TokenMasker& masker,
                                uint64_t seed, int32_t pad_id);

// One epoch's batches of segment indices with length bucketing
// (train.h's bucketed_order: the segments shuffled with `seed`, sorted by
// length within pools of 50 batches, the batches shuffled). Each segment
// lands in exactly one batch; batches hold segments of similar length, so
// little is padding.
std::vector<std::vector<size_t>> length_bucketed_batches(const Segments& segments, int batch_size, uint64_t seed);

// A causal-LM batch of segments padded with pad_id: every position but a
// segment's last is chosen, its target the next token (the same struct as
// the masked batch, nothing masked).
MaskedLMBatch make_causal_batch(const Segments& segments, const std::vector<size_t>& members, int32_t pad_id);

// ------------------------------------------------------------------ step
struct MaskedLMStats {
  double loss = 0;        // mean cross-entropy over the chosen positions
  int64_t correct = 0;    // chosen positions whose arg-max logit is the target
  int64_t predicted = 0;  // chosen positions
};

// Gradients and AdamW state for every parameter of a masked language
// model. A step: embeddings -> encoder (training mode) -> masked-LM head at
// the chosen positions only (Model::forward_masked_lm) -> mean
// cross-entropy -> backward -> per parameter the sum over the graph's uses
// (the decoder tied to the word embeddings included), plus the
// word-embedding input gradient scattered by token id -> clipping -> AdamW
// -> model.parameters_changed().
class MaskedLMTrainer {
 public:
  // Throws unless the model has a masked-LM head.
  MaskedLMTrainer(Model& model, const AdamWOptions& adamw);

  // Loss of the batch, leaving its gradients in slots() (not applied).
  MaskedLMStats compute_gradients(const MaskedLMBatch& b, uint64_t dropout_seed);
  // compute_gradients, clipping to max_grad_norm (<= 0: none), then one
  // AdamW update at learning rate lr. Returns the stats before the update.
  MaskedLMStats step(const MaskedLMBatch& b, double lr, double max_grad_norm, uint64_t dropout_seed);

  const std::vector<Trainer::Slot>& slots() const { return slots_; }
  int64_t steps_done() const { return steps_; }

 private:
  Model& model_;
  AdamWOptions adamw_;
  std::vector<Trainer::Slot> slots_;
  int word_slot_ = -1;
  Graph<float> graph_;
  std::vector<float> word_emb_;
  int64_t steps_ = 0;
};

// Masked-LM loss and accuracy of `segments` (no dropout), masked with
// `seed` (fixed: the same masks at every evaluation). Throws on an empty
// set.
MaskedLMStats evaluate_masked_lm(const Model& model, const Segments& segments, const TokenMasker& masker,
                                 int batch_size, uint64_t seed);

// Next-token loss (mean cross-entropy; exp of it is the perplexity per
// token) and accuracy of a causal LM on `segments`. Throws on an empty set.
MaskedLMStats evaluate_causal_lm(const Model& model, const Segments& segments, int batch_size);

// ------------------------------------------------------------------ loop
struct PretrainOptions {
  // Training stops at the first of: `epochs` epochs (0: no limit),
  // max_steps steps (0: no limit), max_seconds of wall time (0: no limit);
  // at least one must be set.
  int epochs = 1;
  int64_t max_steps = 0;
  double max_seconds = 0;
  int batch_size = 64;  // segments per step
  double lr = 5e-4;
  double warmup = 0.06;        // fraction of the planned steps (< 1) or a number of steps (>= 1)
  double max_grad_norm = 1.0;  // <= 0: no clipping
  uint64_t seed = 42;          // order, masks and dropout
  MaskingOptions masking;
  AdamWOptions adamw;
  int64_t save_every = 0;  // call on_save every this many steps (0: never)
  int window = 50;         // steps the progress loss and accuracy are averaged over
};

struct PretrainProgress {
  int epoch = 0, epochs = 0;  // epochs 0: no epoch limit
  int64_t step = 0;         // steps done
  // Planned; with max_seconds re-estimated from the measured speed (0: not
  // known yet, before the first estimate without an epoch or step limit).
  int64_t total_steps = 0;
  double loss = 0;          // over the last `window` steps
  double accuracy = 0;      // masked-token accuracy over the last `window` steps
  double lr = 0;
  double tokens_per_s = 0;  // real tokens, whole run
  double eta_s = 0;
};

struct PretrainEpochReport {
  int epoch = 0;
  bool complete = true;  // false: training stopped inside this epoch
  MaskedLMStats train;   // over the epoch's steps
  MaskedLMStats dev;     // predicted == 0 without a dev set
  double seconds = 0;
};

struct PretrainResult {
  std::vector<PretrainEpochReport> epochs;
  int64_t steps = 0;
  int64_t tokens = 0;        // real tokens trained on
  double seconds = 0;        // wall time of the loop
  double step_seconds = 0;   // of which in training steps (not dev evaluation or on_save)
  std::string stopped_by;    // "epochs", "max_steps" or "time"
};

struct PretrainCallbacks {
  std::function<void(const PretrainProgress&)> on_step;
  // After each epoch (also the last, incomplete one) with its dev stats.
  std::function<void(const PretrainEpochReport&)> on_epoch;
  // Every save_every steps: the model holds that step's weights.
  std::function<void(int64_t step)> on_save;
};

// Masked-LM training of `model` on `train` (length-bucketed batches, fresh
// masks each epoch, linear warm-up then decay over the planned steps). With
// max_seconds the plan is re-estimated from the measured speed after 3
// steps, 20 and every 50 after, so the learning rate reaches 0 when the
// time is up. With a dev set, dev stats (fixed masks) after each epoch.
// Throws on an empty training set or bad options.
PretrainResult pretrain_masked_lm(Model& model, const Segments& train, const Segments* dev, const TokenMasker& masker,
                                  const PretrainOptions& o, const PretrainCallbacks& cb = {});

// The same loop for a causal LM (GPT2LMHeadModel): next-token
// cross-entropy at every position (MaskedLMTrainer accepts causal heads:
// GPT-2's forward_masked_lm is its LM head at the chosen positions).
PretrainResult pretrain_causal_lm(Model& model, const Segments& train, const Segments* dev, const PretrainOptions& o,
                                  const PretrainCallbacks& cb = {});

// "epoch 1/1  step 120/5000  loss 6.1234  acc 0.121  lr 2.0e-04  5210 tok/s  ETA 1h02m"
std::string format_pretrain_progress(const PretrainProgress& p);

}  // namespace wordlight
