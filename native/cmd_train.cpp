// wordlight init      a model directory with fresh random weights
// wordlight train     trains a classifier model directory on labelled data
// wordlight evaluate  accuracy of a model directory on labelled data (JSON)
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

int cmd_init(const Args& a) {
  const std::string config_path = a.need("config"), vocab = a.need("vocab"), out = a.need("out");
  const std::string text = read_text(config_path);
  const ModelConfig cfg = parse_model_config(text, config_path);
  auto model = make_model(cfg, random_checkpoint(cfg, static_cast<uint64_t>(a.integer("seed", 42))));
  make_directories(out);
  const std::string vocab_text = read_text(vocab);
  write_text(out + "/" + base_name(vocab), vocab_text);
  save_checkpoint(*model, text, {}, "", out, false);
  // The vocabulary must fit the config: loading the tokenizer checks it.
  auto tok = load_tokenizer_dir(out, cfg);
  if (tok->vocab_size() > cfg.vocab_size)
    throw Error(vocab + ": " + std::to_string(tok->vocab_size()) + " tokens but " + config_path + " has vocab_size " +
                std::to_string(cfg.vocab_size));
  std::fprintf(stderr, "wordlight init: %s, %zu tensors, seed %lld -> %s\n", cfg.architecture.c_str(),
               model->parameters().size(), a.integer("seed", 42), out.c_str());
  return 0;
}

// Reads a data SPEC and encodes it with the model's tokenizer.
EncodedSet load_encoded(const std::string& spec, const Tokenizer& tok, const std::vector<std::string>& names,
                        int max_length, const char* what) {
  const TextDataset ds = read_data_spec(spec);
  size_t dropped = 0;
  EncodedSet set = encode_texts(tok, ds.texts, label_ids(ds, names), max_length, &dropped);
  std::fprintf(stderr, "%s: %zu examples from %s", what, set.size(), spec.c_str());
  if (dropped) std::fprintf(stderr, " (%zu without any token left out)", dropped);
  std::fprintf(stderr, "\n");
  return set;
}

int cmd_train(const Args& a) {
  const std::string model_dir = a.need("model"), out = a.need("out");
  const std::string config_text = read_text(model_dir + "/config.json");
  ModelConfig cfg = parse_model_config(config_text, model_dir + "/config.json");
  auto model = load_model_dir(model_dir);
  auto tok = load_tokenizer_dir(model_dir, cfg);
  const TextDataset train_ds = read_data_spec(a.need("train"));
  const std::vector<std::string> names = choose_label_names(train_ds, cfg);
  const int max_length = static_cast<int>(a.integer("max-length", 0));
  size_t dropped = 0;
  const EncodedSet train = encode_texts(*tok, train_ds.texts, label_ids(train_ds, names), max_length, &dropped);
  std::fprintf(stderr, "train: %zu examples from %s", train.size(), a.need("train").c_str());
  if (dropped) std::fprintf(stderr, " (%zu without any token left out)", dropped);
  std::fprintf(stderr, "\n");
  EncodedSet dev;
  const bool have_dev = !a.get("dev").empty();
  if (have_dev) dev = load_encoded(a.get("dev"), *tok, names, max_length, "dev");

  TrainOptions o;
  o.epochs = static_cast<int>(a.integer("epochs", 3));
  o.batch_size = static_cast<int>(a.integer("batch-size", 32));
  o.lr = a.num("lr", cfg.is_transformer() ? 5e-5 : 1e-3);
  o.adamw.weight_decay = a.num("weight-decay", 0.01);
  o.warmup = a.num("warmup", 0.1);
  o.max_grad_norm = a.num("clip", 1.0);
  o.patience = static_cast<int>(a.integer("patience", 0));
  o.seed = static_cast<uint64_t>(a.integer("seed", 42));
  const std::string cw = a.get("class-weights", "none");
  if (cw != "none" && cw != "balanced") throw Error("option --class-weights: '" + cw + "' (balanced or none)");
  o.balanced_class_weights = cw == "balanced";
  const bool f16 = a.flag("f16");
  // On a terminal the progress line redraws in place; in a log, one line
  // every --log-every steps.
  const bool tty = stderr_is_tty();
  const long long log_every = a.integer("log-every", 50);

  TrainCallbacks cb;
  cb.on_step = [&](const TrainProgress& p) {
    if (tty)
      std::fprintf(stderr, "\r%s\033[K", format_progress(p).c_str());
    else if (log_every > 0 && (p.step % log_every == 0 || p.step == p.total_steps))
      std::fprintf(stderr, "%s\n", format_progress(p).c_str());
  };
  cb.on_epoch = [&](const EpochReport& r) {
    if (tty) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "epoch %d: train loss %.4f", r.epoch, r.train_loss);
    if (r.dev_accuracy >= 0) std::fprintf(stderr, ", dev accuracy %.4f", r.dev_accuracy);
    std::fprintf(stderr, " (%.1f s)%s\n", r.seconds, r.best ? ", saved" : "");
    if (r.best) save_checkpoint(*model, config_text, names, model_dir, out, f16);
  };
  const TrainResult res = train_classifier(*model, train, have_dev ? &dev : nullptr, o, cb);
  std::printf("{\"best_epoch\": %d, \"dev_accuracy\": %.6f, \"epochs_run\": %zu, \"stopped_early\": %s, \"out\": \"%s\"}\n",
              res.best_epoch, res.best_dev_accuracy, res.epochs.size(), res.stopped_early ? "true" : "false",
              out.c_str());
  return 0;
}

int cmd_evaluate(const Args& a) {
  const std::string model_dir = a.need("model");
  const ModelConfig cfg = read_model_config_file(model_dir + "/config.json");
  auto model = load_model_dir(model_dir);
  auto tok = load_tokenizer_dir(model_dir, cfg);
  const TextDataset ds = read_data_spec(a.need("data"));
  size_t dropped = 0;
  const EncodedSet set = encode_texts(*tok, ds.texts, label_ids(ds, cfg.id2label),
                                      static_cast<int>(a.integer("max-length", 0)), &dropped);
  const double acc = evaluate_accuracy(*model, set, static_cast<int>(a.integer("batch-size", 64)));
  std::printf("{\"accuracy\": %.6f, \"n\": %zu, \"left_out\": %zu}\n", acc, set.size(), dropped);
  return 0;
}

const RegisterCommand reg_init(
    {"init",
     "init --config FILE --vocab FILE --out DIR [--seed N]\n"
     "a model directory (config.json, model.safetensors, the vocabulary) with\n"
     "random weights; the vocabulary file keeps its name (vocab.txt, tokenizer.json, ...)",
     {"config", "vocab", "out", "seed"}, {}, cmd_init, 10});
const RegisterCommand reg_train(
    {"train",
     "train --model DIR --train SPEC [--dev SPEC] --out DIR [--epochs N] [--batch-size N]\n"
     "[--lr X] [--weight-decay X] [--warmup X] [--clip X] [--patience N] [--seed N]\n"
     "[--class-weights balanced|none] [--max-length N] [--f16] [--log-every N]\n"
     "writes the best dev epoch's checkpoint to --out (the latest without --dev)",
     {"model", "train", "dev", "out", "epochs", "batch-size", "lr", "weight-decay", "warmup", "clip", "patience", "seed",
      "class-weights", "max-length", "log-every"},
     {"f16"}, cmd_train, 20});
const RegisterCommand reg_evaluate({"evaluate",
                                    "evaluate --model DIR --data SPEC [--batch-size N] [--max-length N]\n"
                                    "prints {\"accuracy\": ..., \"n\": ..., \"left_out\": ...}",
                                    {"model", "data", "batch-size", "max-length"}, {}, cmd_evaluate, 30});

}  // namespace
