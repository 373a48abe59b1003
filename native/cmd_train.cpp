// wordlight init      a model directory with fresh random weights
// wordlight train     trains a classifier model directory on labelled data
// (wordlight evaluate lives in cmd_evaluate.cpp)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/safetensors.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"
#include "wordlight/word_vectors.h"
#include "wordlight/json_limits.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

// Lines of a vocab.txt (the last may lack its newline).
int64_t count_lines(const std::string& text) {
  int64_t n = 0;
  for (char c : text) n += c == '\n';
  if (!text.empty() && text.back() != '\n') ++n;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string r = "[";
  for (size_t i = 0; i < shape.size(); ++i) r += (i ? ", " : "") + std::to_string(shape[i]);
  return r + "]";
}

// Copies every tensor of `from_dir`'s checkpoint whose name and shape match
// a parameter of `model` (a masked-LM encoder into a classifier: the
// encoder comes over, the classification head stays fresh).
void copy_matching_tensors(Model& model, const std::string& from_dir) {
  const SafetensorsFile src = load_safetensors_file(from_dir + "/model.safetensors");
  size_t copied = 0;
  std::vector<std::string> fresh;
  for (const ModelParameter& p : model.parameters()) {
    if (!src.has(p.name)) {
      fresh.push_back(p.name);
      continue;
    }
    const LoadedTensor& t = src.get(p.name);
    if (t.shape != p.shape)
      throw Error(from_dir + "/model.safetensors: tensor " + p.name + " has shape " + shape_string(t.shape) +
                  ", the new model's is " + shape_string(p.shape));
    std::copy(t.values.begin(), t.values.end(), p.data);
    ++copied;
  }
  if (copied == 0) throw Error(from_dir + "/model.safetensors: no tensor name matches the new model's");
  std::string list;
  for (const std::string& n : fresh) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "init: %zu tensors from %s; fresh: %s\n", copied, terminal_escape(from_dir).c_str(),
               list.empty() ? "none" : list.c_str());
}

// Sets the word-embedding rows of the words that `vectors_path` has; the
// other rows (but the padding row) are redrawn N(0, s^2) with s the
// standard deviation of the (placed) pre-trained values, so known and
// unknown words start at the same scale.
//
// When the model is wider than the vectors (a 256-wide transformer and
// GloVe's 100 dimensions), each vector v is placed as Q v, with Q a fixed
// random (D x d) matrix of orthonormal columns: norms, dot products and so
// every neighbourhood of GloVe are kept, and the d directions are spread
// over all D dimensions instead of leaving D - d of them at zero. A
// WordPiece vocabulary's continuation pieces ("##ing") never match a GloVe
// word and start random; so do a byte-level BPE vocabulary's pieces inside
// a word, while its word-initial entries ("\u0120good") match "good".
void init_word_vectors(Model& model, const Tokenizer& tok, const std::string& vectors_path, uint64_t seed) {
  const std::string name = model.word_embedding_name();
  ModelParameter table;
  for (const ModelParameter& p : model.parameters())
    if (p.name == name) table = p;
  if (!table.data) throw Error("init --vectors: the model has no word-embedding tensor " + name);
  const int D = model.embedding_dim();
  // The word a vocabulary entry stands for: itself, but a byte-level BPE
  // entry that starts a word ("\u0120good", GPT-2 and RoBERTa's space
  // marker) is looked up without its marker; a cased entry ("Good") in
  // lower case when the cased form is not there (GloVe 6B is lower-cased).
  const std::string kSpaceMark = "\xC4\xA0";
  auto lower = [](std::string w) {
    for (char& c : w)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return w;
  };
  std::vector<std::vector<std::string>> keys(static_cast<size_t>(tok.vocab_size()));
  std::unordered_set<std::string> wanted;
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    std::string t = tok.id_to_token(id);
    std::vector<std::string>& k = keys[static_cast<size_t>(id)];
    if (t.size() > kSpaceMark.size() && t.compare(0, kSpaceMark.size(), kSpaceMark) == 0) t = t.substr(kSpaceMark.size());
    k = {t};
    if (lower(t) != t) k.push_back(lower(t));
    wanted.insert(k.begin(), k.end());
  }
  const WordVectors wv = load_word_vectors(vectors_path, &wanted);
  if (wv.dim > D)
    throw Error(vectors_path + ": vectors of " + std::to_string(wv.dim) + " dimensions, but the model's embeddings have " +
                std::to_string(D) + " (vectors may be narrower than the model, never wider)");
  const int d = wv.dim;
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  // Q: (D, d), orthonormal columns by Gram-Schmidt on Gaussian columns (in
  // double; d <= D, so the columns are independent with probability 1).
  std::vector<double> Q;
  if (d < D) {
    std::normal_distribution<double> g(0.0, 1.0);
    Q.assign(static_cast<size_t>(D) * d, 0.0);
    for (int c = 0; c < d; ++c) {
      std::vector<double> col(D);
      for (double& x : col) x = g(rng);
      for (int pass = 0; pass < 2; ++pass)  // twice, for numerical orthogonality
        for (int prev = 0; prev < c; ++prev) {
          double dot = 0;
          for (int r = 0; r < D; ++r) dot += col[r] * Q[static_cast<size_t>(r) * d + prev];
          for (int r = 0; r < D; ++r) col[r] -= dot * Q[static_cast<size_t>(r) * d + prev];
        }
      double norm = 0;
      for (double x : col) norm += x * x;
      norm = std::sqrt(norm);
      for (int r = 0; r < D; ++r) Q[static_cast<size_t>(r) * d + c] = col[r] / norm;
    }
  }
  auto place = [&](const std::vector<float>& v, float* row) {
    if (d == D) {
      std::copy(v.begin(), v.end(), row);
      return;
    }
    for (int r = 0; r < D; ++r) {
      double acc = 0;
      for (int c = 0; c < d; ++c) acc += Q[static_cast<size_t>(r) * d + c] * v[c];
      row[r] = static_cast<float>(acc);
    }
  };
  // The spread of the placed vectors: the same total variance spread over D
  // entries instead of d.
  double sum = 0, sq = 0;
  size_t n = 0;
  for (const auto& kv : wv.vectors)
    for (float x : kv.second) {
      sum += x;
      sq += double(x) * x;
      ++n;
    }
  const double mean = n ? sum / double(n) : 0;
  const double var_d = n ? std::max(0.0, sq / double(n) - (d == D ? mean * mean : 0.0)) : 1;
  const double sd = n ? std::sqrt(var_d * double(d) / double(D)) : 1;
  std::normal_distribution<double> normal(0.0, sd);
  const int32_t pad = model.config().pad_token_id;
  size_t found = 0;
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    float* row = table.data + static_cast<size_t>(id) * D;
    auto it = wv.vectors.end();
    for (const std::string& k : keys[static_cast<size_t>(id)])
      if ((it = wv.vectors.find(k)) != wv.vectors.end()) break;
    if (id == pad) {
      std::fill(row, row + D, 0.f);
    } else if (it != wv.vectors.end()) {
      place(it->second, row);
      ++found;
    } else {
      for (int c = 0; c < D; ++c) row[c] = static_cast<float>(normal(rng));
    }
  }
  std::fprintf(stderr, "init: vectors for %zu of %d vocabulary entries from %s%s (others N(0, %.3f^2))\n", found,
               tok.vocab_size(), vectors_path.c_str(),
               d < D ? (" (" + std::to_string(d) + " -> " + std::to_string(D) + " dims, orthonormal map)").c_str() : "",
               sd);
}

int cmd_init(const Args& a) {
  const std::string config_path = a.need("config"), vocab = a.need("vocab"), out = a.need("out");
  const uint64_t seed = static_cast<uint64_t>(a.integer("seed", 42));
  const std::string vocab_text = read_text(vocab);
  // "vocab_size" may be left out of the config when the vocabulary is a
  // vocab.txt: it is then the number of lines.
  const std::string config_text = read_text(config_path);
  check_json_depth(config_text, config_path);
  nlohmann::json j = nlohmann::json::parse(config_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(config_path + ": not a JSON object");
  if (!j.contains("vocab_size")) {
    if (base_name(vocab) != "vocab.txt")
      throw Error(config_path + ": no \"vocab_size\" (it can be left out only with a vocab.txt)");
    j["vocab_size"] = count_lines(vocab_text);
  }
  const std::string text = j.dump(2) + "\n";
  const ModelConfig cfg = parse_model_config(text, config_path);
  auto model = make_model(cfg, random_checkpoint(cfg, seed));
  make_directories(out);
  write_text(out + "/" + base_name(vocab), vocab_text);
  // A byte-level BPE vocab.json needs its merges.txt (GPT-2, RoBERTa): the
  // one beside it comes along.
  if (base_name(vocab) == "vocab.json") {
    const std::string merges = vocab.substr(0, vocab.size() - base_name(vocab).size()) + "merges.txt";
    write_text(out + "/merges.txt", read_text(merges));
  }
  // The vocabulary must fit the config: loading the tokenizer checks it.
  auto tok = load_tokenizer(read_tokenizer_files(out), cfg, out);
  if (tok->vocab_size() > cfg.vocab_size)
    throw Error(vocab + ": " + std::to_string(tok->vocab_size()) + " tokens but " + config_path + " has vocab_size " +
                std::to_string(cfg.vocab_size));
  if (a.has("from")) copy_matching_tensors(*model, a.get("from"));
  if (a.has("vectors")) init_word_vectors(*model, *tok, a.get("vectors"), seed);
  model->parameters_changed();
  save_checkpoint(*model, text, {}, "", out, false);
  std::fprintf(stderr, "wordlight init: %s, %zu tensors, seed %llu -> %s\n", terminal_escape(cfg.architecture).c_str(),
               model->parameters().size(), static_cast<unsigned long long>(seed), terminal_escape(out).c_str());
  return 0;
}

// Reads a data SPEC and encodes it with the model's tokenizer.
EncodedSet load_encoded(const std::string& spec, const Tokenizer& tok, const std::vector<std::string>& names,
                        int max_length, const char* what) {
  const TextDataset ds = read_data_spec(spec);
  size_t dropped = 0;
  EncodedSet set = encode_texts(tok, ds.texts, label_ids(ds, names), max_length, &dropped);
  std::fprintf(stderr, "%s: %zu examples from %s", what, set.size(), terminal_escape(spec).c_str());
  if (dropped) std::fprintf(stderr, " (%zu without any token left out)", dropped);
  std::fprintf(stderr, "\n");
  return set;
}

int cmd_train(const Args& a) {
  const std::string model_dir = a.need("model"), out = a.need("out");
  const std::string config_text = read_text(model_dir + "/config.json");
  ModelConfig cfg = parse_model_config(config_text, model_dir + "/config.json");
  LoadedModel loaded = load_model_directory(model_dir);
  std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
  const TextDataset train_ds = read_data_spec(a.need("train"));
  const std::vector<std::string> names = choose_label_names(train_ds, cfg);
  const int max_length = static_cast<int>(a.integer("max-length", 0));
  size_t dropped = 0;
  EncodedSet train = encode_texts(*tok, train_ds.texts, label_ids(train_ds, names), max_length, &dropped);
  std::fprintf(stderr, "train: %zu examples from %s", train.size(), terminal_escape(a.need("train")).c_str());
  if (dropped) std::fprintf(stderr, " (%zu without any token left out)", dropped);
  std::fprintf(stderr, "\n");
  EncodedSet dev;
  const bool have_dev = !a.get("dev").empty() || a.has("dev-fraction");
  if (a.has("dev") && a.has("dev-fraction")) throw Error("give --dev or --dev-fraction, not both");
  if (a.has("dev")) {
    dev = load_encoded(a.get("dev"), *tok, names, max_length, "dev");
  } else if (a.has("dev-fraction")) {
    // A data set without a dev split (20 Newsgroups): hold out a seeded
    // random part of the training data.
    const double f = a.num("dev-fraction", 0.1);
    if (!(f > 0 && f < 0.5)) throw Error("option --dev-fraction: " + a.get("dev-fraction") + " is not in (0, 0.5)");
    const std::vector<size_t> order = shuffled_order(train.size(), static_cast<uint64_t>(a.integer("seed", 42)) + 7);
    const size_t n_dev = std::max<size_t>(1, static_cast<size_t>(f * double(train.size())));
    EncodedSet rest;
    for (size_t k = 0; k < order.size(); ++k) {
      EncodedSet& to = k < n_dev ? dev : rest;
      to.ids.push_back(std::move(train.ids[order[k]]));
      to.labels.push_back(train.labels[order[k]]);
    }
    train = std::move(rest);
    std::fprintf(stderr, "dev: %zu examples held out of the training data (--dev-fraction %g)\n", dev.size(), f);
  }

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
  // VMASK's beta schedule; only a model with the "vmask" config key has a penalty to weigh.
  const bool vmask_options = a.has("vmask-beta") || a.has("vmask-beta-step") || a.has("vmask-beta-every") ||
                             a.has("vmask-beta-min");
  if (vmask_options && !model->vmask())
    throw Error("options --vmask-beta*: " + model_dir + " has no VMASK layer (config key \"vmask\")");
  o.vmask_beta = a.num("vmask-beta", 1.0);
  o.vmask_beta_step = a.num("vmask-beta-step", 0.099);
  o.vmask_beta_every = static_cast<int>(a.integer("vmask-beta-every", 10));
  o.vmask_beta_min = a.num("vmask-beta-min", 0.01);
  if (!(o.vmask_beta >= 0)) throw Error("option --vmask-beta: must be >= 0");
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
    if (r.vmask_beta >= 0) std::fprintf(stderr, ", vmask beta %.3f penalty %.4f", r.vmask_beta, r.vmask_penalty);
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

const RegisterCommand reg_init(
    {"init",
     "init --config FILE --vocab FILE --out DIR [--seed N] [--from DIR] [--vectors FILE]\n"
     "a model directory (config.json, model.safetensors, the vocabulary) with random weights;\n"
     "the vocabulary file keeps its name (vocab.txt, tokenizer.json, ...; a vocab.json brings the\n"
     "merges.txt beside it); without \"vocab_size\"\n"
     "in the config, a vocab.txt's line count; --from copies the tensors of another checkpoint\n"
     "whose names and shapes match (a masked LM's encoder into a classifier); --vectors sets\n"
     "the word embeddings from GloVe vectors (text format or wink-embeddings JSON)",
     {"config", "vocab", "out", "seed", "from", "vectors"}, {}, cmd_init, 10});
const RegisterCommand reg_train(
    {"train",
     "train --model DIR --train SPEC [--dev SPEC | --dev-fraction X] --out DIR [--epochs N] [--batch-size N]\n"
     "[--lr X] [--weight-decay X] [--warmup X] [--clip X] [--patience N] [--seed N]\n"
     "[--class-weights balanced|none] [--max-length N] [--f16] [--log-every N]\n"
     "[--vmask-beta X] [--vmask-beta-step X] [--vmask-beta-every N] [--vmask-beta-min X]\n"
     "writes the best dev epoch's checkpoint to --out (the latest without --dev);\n"
     "a model with a VMASK layer (config \"vmask\") adds beta * mean[p log p + (1-p) log(1-p)]\n"
     "to the loss, beta from --vmask-beta (1) lowered by --vmask-beta-step (0.099) every\n"
     "--vmask-beta-every (10) epochs while above --vmask-beta-min (0.01), as UVa-NLP/VMASK does",
     {"model", "train", "dev", "dev-fraction", "out", "epochs", "batch-size", "lr", "weight-decay", "warmup", "clip", "patience", "seed",
      "class-weights", "max-length", "log-every", "vmask-beta", "vmask-beta-step", "vmask-beta-every",
      "vmask-beta-min"},
     {"f16"}, cmd_train, 20});
}  // namespace
