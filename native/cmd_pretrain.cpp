// wordlight wordpiece  learns a WordPiece vocabulary (vocab.txt) from text
// wordlight pretrain   masked-LM pre-training of a BertForMaskedLM directory,
//                      next-token training of a GPT2LMHeadModel one
#include <chrono>
#include <cmath>
#include <memory>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/pretrain.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The texts of a data SPEC (a comma-separated list is read as one set;
// labels are ignored), reported on stderr.
std::vector<std::string> read_texts(const std::string& spec, const char* what) {
  TextDataset ds = read_data_spec(spec);
  std::fprintf(stderr, "%s: %zu texts from %s\n", what, ds.size(), terminal_escape(spec).c_str());
  return std::move(ds.texts);
}

int cmd_wordpiece(const Args& a) {
  const auto t0 = std::chrono::steady_clock::now();
  WordPieceTrainerOptions o;
  const long long size = a.integer("vocab-size", 8000);
  if (size < 1 || size > 1000000) throw Error("option --vocab-size: " + std::to_string(size) + " is not in [1, 1000000]");
  o.vocab_size = static_cast<int>(size);
  o.min_frequency = a.integer("min-frequency", 2);
  const bool lowercase = a.boolean("lowercase", true);
  const std::string out = a.need("out");
  const std::vector<std::string> texts = read_texts(a.need("data"), "data");
  std::unordered_map<std::string, int64_t> counts;
  count_bert_words(texts, lowercase, &counts);
  const double t_count = seconds_since(t0);
  const WordPieceVocab v = learn_wordpiece(counts, o);
  write_text(out, vocab_txt(v));
  const double t_all = seconds_since(t0);
  std::fprintf(stderr,
               "wordpiece: %zu distinct words (%lld occurrences of words with a rare character or too long left out); "
               "%zu characters, %zu merges -> %zu tokens in %s (%.1f s reading and counting, %.1f s merging)\n",
               v.words_distinct, static_cast<long long>(v.words_skipped), v.alphabet, v.merges, v.tokens.size(),
               out.c_str(), t_count, t_all - t_count);
  if (v.tokens.size() < static_cast<size_t>(o.vocab_size))
    std::fprintf(stderr, "wordpiece: no pair is seen %lld times any more: the vocabulary is smaller than %d\n",
                 static_cast<long long>(o.min_frequency), o.vocab_size);
  if (!lowercase)
    std::fprintf(stderr,
                 "wordpiece: cased vocabulary: give the model directory a tokenizer_config.json with "
                 "{\"do_lower_case\": false}\n");
  nlohmann::json j = {{"vocab_size", v.tokens.size()}, {"alphabet", v.alphabet}, {"merges", v.merges},
                      {"seconds", t_all}, {"out", out}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

// Segments of the texts of a data SPEC, reported on stderr. eos >= 0: a
// causal LM's (eos pieces eos), else masked-LM segments ([CLS] ... [SEP]).
Segments load_segments(const std::string& specs, const Tokenizer& tok, int max_length, const char* what,
                       int32_t eos = -1) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<std::string> texts = read_texts(specs, what);
  size_t empty = 0;
  Segments s = eos >= 0 ? segment_causal_documents(tok, texts, max_length, eos, &empty)
                        : segment_documents(tok, texts, max_length, &empty);
  size_t tokens = 0;
  for (const auto& seg : s) tokens += seg.size();
  std::fprintf(stderr, "%s: %zu documents -> %zu segments of at most %d tokens, %zu tokens (%.1f s)", what,
               texts.size() - empty, s.size(), max_length, tokens, seconds_since(t0));
  if (empty) std::fprintf(stderr, "; %zu without any token left out", empty);
  std::fprintf(stderr, "\n");
  if (s.empty()) throw Error(std::string(what) + ": " + specs + " gives no token to train on");
  return s;
}

int cmd_pretrain(const Args& a) {
  const std::string model_dir = a.need("model"), out = a.need("out");
  const std::string config_path = model_dir + "/config.json";
  const std::string config_text = read_text(config_path);
  const ModelConfig cfg = parse_model_config(config_text, config_path);
  const bool causal = cfg.head == ModelHead::CausalLM;
  if (cfg.head != ModelHead::MaskedLM && !causal)
    throw Error(config_path + ": " + cfg.architecture +
                " is not a language model (pretrain needs e.g. BertForMaskedLM or GPT2LMHeadModel; make one with "
                "wordlight init)");
  if (causal && cfg.eos_token_id < 0)
    throw Error(config_path + ": causal-LM pre-training needs an eos_token_id inside the vocabulary");
  LoadedModel loaded = load_model_directory(model_dir);
  std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;

  const long long max_length = a.integer("max-length", 128);
  const int model_max = cfg.max_position_embeddings - cfg.position_offset;
  if (max_length < (causal ? 2 : 3) || max_length > model_max)
    throw Error("option --max-length: " + std::to_string(max_length) + " is not in [" + (causal ? "2" : "3") + ", " + std::to_string(model_max) +
                "] (" + config_path + " has max_position_embeddings " + std::to_string(cfg.max_position_embeddings) +
                ")");
  const int32_t eos = causal ? cfg.eos_token_id : -1;
  const Segments train = load_segments(a.need("data"), *tok, static_cast<int>(max_length), "data", eos);
  Segments dev;
  const bool have_dev = !a.get("dev").empty();
  if (have_dev) dev = load_segments(a.get("dev"), *tok, static_cast<int>(max_length), "dev", eos);

  PretrainOptions o;
  const bool budget = a.has("max-steps") || a.has("max-minutes");
  // Without --epochs, a step or time budget alone decides when to stop.
  o.epochs = static_cast<int>(a.integer("epochs", budget ? 0 : 1));
  o.max_steps = a.integer("max-steps", 0);
  o.max_seconds = 60.0 * a.num("max-minutes", 0);
  o.batch_size = static_cast<int>(a.integer("batch-size", 64));
  o.lr = a.num("lr", 5e-4);
  o.warmup = a.num("warmup", 0.06);
  o.adamw.weight_decay = a.num("weight-decay", 0.01);
  o.max_grad_norm = a.num("clip", 1.0);
  o.masking.mask_prob = a.num("mask-prob", 0.15);
  o.masking.whole_word = a.flag("whole-word");
  if (o.masking.whole_word && causal) throw Error("option --whole-word: a causal LM masks nothing");
  o.seed = static_cast<uint64_t>(a.integer("seed", 42));
  o.save_every = a.integer("save-every", 0);
  if (o.epochs < 0) throw Error("option --epochs: must be >= 0 (0: no epoch limit)");
  if (o.max_steps < 0) throw Error("option --max-steps: must be >= 0");
  if (o.max_seconds < 0) throw Error("option --max-minutes: must be >= 0");
  if (o.save_every < 0) throw Error("option --save-every: must be >= 0");
  std::unique_ptr<TokenMasker> masker;
  if (!causal) masker = std::make_unique<TokenMasker>(*tok, o.masking);
  const bool f16 = a.flag("f16");
  const bool tty = stderr_is_tty();
  const long long log_every = a.integer("log-every", 50);

  PretrainCallbacks cb;
  cb.on_step = [&](const PretrainProgress& p) {
    if (tty)
      std::fprintf(stderr, "\r%s\033[K", format_pretrain_progress(p).c_str());
    else if (log_every > 0 && p.step % log_every == 0)
      std::fprintf(stderr, "%s\n", format_pretrain_progress(p).c_str());
  };
  int64_t saved_step = -1;
  cb.on_save = [&](int64_t step) {
    save_checkpoint(*model, config_text, {}, model_dir, out, f16);
    saved_step = step;
    std::fprintf(stderr, "%ssaved step %lld to %s\n", tty ? "\n" : "", static_cast<long long>(step), terminal_escape(out).c_str());
  };
  cb.on_epoch = [&](const PretrainEpochReport& r) {
    if (tty) std::fprintf(stderr, "\n");
    const auto acc = [](const MaskedLMStats& s) {
      return s.predicted > 0 ? static_cast<double>(s.correct) / static_cast<double>(s.predicted) : 0.0;
    };
    std::fprintf(stderr, "epoch %d%s: train loss %.4f, accuracy %.4f", r.epoch, r.complete ? "" : " (stopped inside)",
                 r.train.loss, acc(r.train));
    if (r.dev.predicted > 0) std::fprintf(stderr, "; dev loss %.4f, accuracy %.4f", r.dev.loss, acc(r.dev));
    std::fprintf(stderr, " (%.1f s)\n", r.seconds);
  };
  const PretrainResult res = causal ? pretrain_causal_lm(*model, train, have_dev ? &dev : nullptr, o, cb)
                                    : pretrain_masked_lm(*model, train, have_dev ? &dev : nullptr, *masker, o, cb);
  if (saved_step != res.steps) save_checkpoint(*model, config_text, {}, model_dir, out, f16);
  std::fprintf(stderr, "pretrain: %lld steps, stopped by %s; saved to %s\n", static_cast<long long>(res.steps),
               res.stopped_by.c_str(), out.c_str());

  nlohmann::json j = {{"steps", res.steps},
                      {"epochs_run", res.epochs.size()},
                      {"stopped_by", res.stopped_by},
                      {"tokens", res.tokens},
                      {"tokens_per_s", res.step_seconds > 0 ? static_cast<double>(res.tokens) / res.step_seconds : 0.0},
                      {"seconds", res.seconds},
                      {"out", out}};
  if (!res.epochs.empty()) {
    const PretrainEpochReport& last = res.epochs.back();
    j["train_loss"] = last.train.loss;
    j["train_accuracy"] = static_cast<double>(last.train.correct) / static_cast<double>(last.train.predicted);
    if (last.dev.predicted > 0) {
      j["dev_loss"] = last.dev.loss;
      j["dev_accuracy"] = static_cast<double>(last.dev.correct) / static_cast<double>(last.dev.predicted);
      if (causal) j["dev_perplexity"] = std::exp(last.dev.loss);
    }
  }
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

const RegisterCommand reg_wordpiece(
    {"wordpiece",
     "wordpiece --data SPEC[,SPEC...] --out vocab.txt [--vocab-size N (8000)] [--min-frequency N (2)]\n"
     "[--lowercase true|false]\n"
     "learns a WordPiece vocabulary ([PAD] [UNK] [CLS] [SEP] [MASK], the characters, then\n"
     "the most frequent merges) from the texts, pre-tokenized as the BERT tokenizer does",
     {"data", "out", "vocab-size", "min-frequency", "lowercase"}, {}, cmd_wordpiece, 15});
const RegisterCommand reg_pretrain(
    {"pretrain",
     "pretrain --model DIR --data SPEC[,SPEC...] --out DIR [--dev SPEC[,SPEC...]] [--epochs N]\n"
     "[--max-steps N] [--max-minutes X] [--batch-size N (64)] [--max-length N (128)] [--lr X (5e-4)]\n"
     "[--warmup X (0.06)] [--weight-decay X] [--clip X] [--mask-prob X (0.15)] [--whole-word] [--seed N] [--f16]\n"
     "[--log-every N] [--save-every N]\n"
     "masked-LM pre-training of a *ForMaskedLM model directory, or next-token training of a\n"
     "GPT2LMHeadModel one (each text between end-of-text tokens); long texts are split into\n"
     "segments, not cut. Stops at the first of --epochs (default 1, or none with --max-steps /\n"
     "--max-minutes), --max-steps and --max-minutes (training time after the data is encoded;\n"
     "the learning-rate schedule is planned for it), then saves to --out. --whole-word masks\n"
     "whole words (a piece and its ## pieces) together, on --dev too (wordlight evaluate masks per piece).\n"
     "To continue a run, give --model the last --out (or the shipped masked-LM twin): the weights\n"
     "go on, the optimizer and the schedule start afresh",
     {"model", "data", "out", "dev", "epochs", "max-steps", "max-minutes", "batch-size", "max-length", "lr", "warmup",
      "weight-decay", "clip", "mask-prob", "seed", "log-every", "save-every"},
     {"f16", "whole-word"}, cmd_pretrain, 25});

}  // namespace
