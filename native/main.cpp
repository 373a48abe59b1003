// wordlight command-line tool. Subcommands grow with the project:
//   wordlight info        what this build uses (GEMM implementation, threads)
//   wordlight selfcheck   runs a small network through every pass of the core
//                         and checks first and second derivatives against
//                         finite differences (the demo until models ship)
//   wordlight init        a model directory with fresh random weights
//   wordlight train       fine-tunes / trains a model directory on labelled data
//   wordlight evaluate    accuracy of a model directory on labelled data (JSON)
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/gemm.h"
#include "wordlight/graph.h"
#include "wordlight/model.h"
#include "wordlight/thread_pool.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

using namespace wordlight;

namespace {

void usage(FILE* f) {
  std::fprintf(f,
               "usage: wordlight <command> [options]\n"
               "  info        print the build's GEMM implementation and thread count\n"
               "  selfcheck   run a small transformer block through forward, gradient and exact\n"
               "              Hessian-vector products; compare with finite differences\n"
               "  init --config FILE --vocab FILE --out DIR [--seed N]\n"
               "              a model directory (config.json, model.safetensors, the vocabulary) with\n"
               "              random weights; the vocabulary file keeps its name (vocab.txt, tokenizer.json, ...)\n"
               "  train --model DIR --train SPEC [--dev SPEC] --out DIR [--epochs N] [--batch-size N]\n"
               "              [--lr X] [--weight-decay X] [--warmup X] [--clip X] [--patience N] [--seed N]\n"
               "              [--class-weights balanced|none] [--max-length N] [--f16] [--log-every N]\n"
               "              writes the best dev epoch's checkpoint to --out (the latest without --dev)\n"
               "  evaluate --model DIR --data SPEC [--batch-size N]   prints {\"accuracy\": ..., \"n\": ...}\n"
               "data SPEC: sst2:PATH (stsa.binary.* or a .tsv), tsv:PATH, jsonl:PATH ({\"text\", \"label\"}),\n"
               "           dir:ROOT (ROOT/<class>/<files>), newsgroups:ROOT (the same, e-mail headers dropped)\n"
               "options: --threads N (default 1)\n");
}

int cmd_info() {
  std::printf("wordlight core\n  gemm fast path: %s\n  threads: %d\n", gemm_fast_name(), num_threads());
  return 0;
}

// A one-block transformer encoder over 12 "word" embeddings of width 32 with
// random weights; the scalar is the log-probability of class 1.
struct Demo {
  static constexpr int T = 12, C = 32, H = 4, F = 64, L = 2;
  std::vector<std::vector<double>> w;
  explicit Demo(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n(0.0, 1.0);
    auto mk = [&](size_t sz, double sd) {
      std::vector<double> v(sz);
      for (auto& x : v) x = n(rng) * sd;
      return v;
    };
    const double s = 1.0 / std::sqrt(double(C));
    w = {mk(C * C, s), mk(C, .02), mk(C * C, s), mk(C, .02), mk(C * C, s), mk(C, .02), mk(C * C, s), mk(C, .02),
         mk(F * C, s), mk(F, .02), mk(C * F, 1.0 / std::sqrt(double(F))), mk(C, .02), mk(L * C, s), mk(L, .02)};
  }
  template <class T_>
  Var forward(Graph<T_>& g, Var x, std::vector<std::vector<T_>>& store) const {
    store.clear();
    for (auto& v : w) store.emplace_back(v.begin(), v.end());
    std::vector<T_> ones(C, T_(1)), zeros(C, T_(0));
    store.push_back(ones);
    store.push_back(zeros);
    auto P = [&](size_t i, Shape s) { return g.parameter(s, store[i].data()); };
    Var q = g.linear(x, P(0, {C, C}), P(1, {C})), k = g.linear(x, P(2, {C, C}), P(3, {C}));
    Var v = g.linear(x, P(4, {C, C}), P(5, {C}));
    Var a = g.linear(g.attention(q, k, v, H), P(6, {C, C}), P(7, {C}));
    Var h = g.layernorm(g.add(x, a), P(14, {C}), P(15, {C}), T_(1e-12));
    Var f = g.linear(g.gelu(g.linear(h, P(8, {F, C}), P(9, {F}))), P(10, {C, F}), P(11, {C}));
    h = g.layernorm(g.add(h, f), P(14, {C}), P(15, {C}), T_(1e-12));
    Var cls = g.reshape(g.slice(h, 1, 0, 1), Shape{1, C});
    Var lp = g.log_softmax(g.linear(cls, P(12, {L, C}), P(13, {L})));
    const int32_t target = 1;
    return g.sum(g.pick(lp, &target));
  }
};

int cmd_selfcheck() {
  Demo demo(7);
  std::mt19937_64 rng(11);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<double> x(Demo::T * Demo::C), v(x.size());
  for (auto& e : x) e = n(rng);
  for (auto& e : v) e = n(rng);
  const Shape xs{1, Demo::T, Demo::C};

  // float, fast path: value, gradient, and H v
  std::vector<float> xf(x.begin(), x.end()), vf(v.begin(), v.end()), hv(x.size()), grad(x.size());
  std::vector<std::vector<float>> storef;
  Graph<float> gf;
  auto t0 = std::chrono::steady_clock::now();
  Var xv = gf.input(xs, xf.data());
  Var y = demo.forward(gf, xv, storef);
  const float fx = gf.value(y)[0];
  hessian_vector_products(gf, y, xv, 1, vf.data(), hv.data(), grad.data());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // double reference: finite differences of the gradient along v
  auto grad_at = [&](const std::vector<double>& at) {
    Graph<double> g(Backend::reference);
    std::vector<std::vector<double>> store;
    Var xi = g.input(xs, at.data());
    Var yi = demo.forward(g, xi, store);
    g.backward(yi);
    return std::vector<double>(g.grad(xi), g.grad(xi) + at.size());
  };
  const double h = 1e-5;
  std::vector<double> xp = x, xm = x;
  for (size_t i = 0; i < x.size(); ++i) {
    xp[i] += h * v[i];
    xm[i] -= h * v[i];
  }
  auto gp = grad_at(xp), gm = grad_at(xm), g0 = grad_at(x);
  double err_h = 0, norm_h = 0, err_g = 0, norm_g = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double fd = (gp[i] - gm[i]) / (2 * h);
    err_h = std::max(err_h, std::fabs(hv[i] - fd));
    norm_h = std::max(norm_h, std::fabs(fd));
    err_g = std::max(err_g, std::fabs(grad[i] - g0[i]));
    norm_g = std::max(norm_g, std::fabs(g0[i]));
  }

  std::printf("wordlight selfcheck: one transformer block (T=%d, width %d, %d heads), random weights\n", Demo::T,
              Demo::C, Demo::H);
  std::printf("  gemm fast path          %s, %d thread(s)\n", gemm_fast_name(), num_threads());
  std::printf("  log p(class 1)          %.6f\n", fx);
  std::printf("  gradient x input per token (float, fast path):\n   ");
  for (int t = 0; t < Demo::T; ++t) {
    double s = 0;
    for (int c = 0; c < Demo::C; ++c) s += grad[t * Demo::C + c] * xf[t * Demo::C + c];
    std::printf(" %+.4f", s);
  }
  std::printf("\n  gradient: max |float fast - double reference| = %.2e (max |grad| %.2e)\n", err_g, norm_g);
  std::printf("  H v exact (forward-over-reverse) vs FD of gradients in double: max error %.2e (max |Hv| %.2e)\n",
              err_h, norm_h);
  std::printf("  forward + gradient + H v took %.2f ms\n", ms);
  const bool ok = err_g <= 1e-4 * (1 + norm_g) && err_h <= 1e-3 * (1 + norm_h);
  std::printf("  %s\n", ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}

// Options of the form --name value (and bare flags), in order.
struct Args {
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = values.find(k);
    return it == values.end() ? def : it->second;
  }
  std::string need(const std::string& k) const {
    auto it = values.find(k);
    if (it == values.end()) throw Error("missing option --" + k);
    return it->second;
  }
  double num(const std::string& k, double def) const {
    auto it = values.find(k);
    if (it == values.end()) return def;
    try {
      size_t used = 0;
      const double v = std::stod(it->second, &used);
      if (used != it->second.size()) throw std::invalid_argument("trailing");
      return v;
    } catch (const std::exception&) {
      throw Error("option --" + k + ": '" + it->second + "' is not a number");
    }
  }
  long long integer(const std::string& k, long long def) const {
    const double v = num(k, static_cast<double>(def));
    if (v != std::floor(v)) throw Error("option --" + k + ": '" + get(k) + "' is not an integer");
    return static_cast<long long>(v);
  }
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int cmd_init(const Args& a) {
  const std::string config_path = a.need("config"), vocab = a.need("vocab"), out = a.need("out");
  const std::string text = read_text(config_path);
  const ModelConfig cfg = parse_model_config(text, config_path);
  auto model = make_model(cfg, random_checkpoint(cfg, static_cast<uint64_t>(a.integer("seed", 42))));
  make_directories(out);
  const std::string vocab_text = read_text(vocab);
  std::ofstream(out + "/" + base_name(vocab), std::ios::binary) << vocab_text;
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
  const bool f16 = a.flags.count("f16") > 0;
  // On a terminal the progress line redraws in place; in a log, one line
  // every --log-every steps.
  const bool tty = ::isatty(2) != 0;
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  try {
    Args args;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) throw Error("unexpected argument '" + a + "'");
      const std::string key = a.substr(2);
      if (key == "f16") {
        args.flags.insert(key);
      } else if (i + 1 < argc) {
        args.values[key] = argv[++i];
      } else {
        throw Error("option '" + a + "' needs a value");
      }
    }
    static const std::map<std::string, std::set<std::string>> known = {
        {"info", {}},
        {"selfcheck", {}},
        {"init", {"config", "vocab", "out", "seed"}},
        {"train", {"model", "train", "dev", "out", "epochs", "batch-size", "lr", "weight-decay", "warmup", "clip",
                   "patience", "seed", "class-weights", "max-length", "f16", "log-every"}},
        {"evaluate", {"model", "data", "batch-size", "max-length"}},
    };
    auto k = known.find(cmd);
    if (k != known.end()) {
      for (const auto& kv : args.values)
        if (kv.first != "threads" && !k->second.count(kv.first)) throw Error("unknown option '--" + kv.first + "' for " + cmd);
      for (const auto& f : args.flags)
        if (!k->second.count(f)) throw Error("unknown option '--" + f + "' for " + cmd);
    }
    if (args.values.count("threads")) set_num_threads(static_cast<int>(args.integer("threads", 1)));
    if (cmd == "info") return cmd_info();
    if (cmd == "selfcheck") return cmd_selfcheck();
    if (cmd == "init") return cmd_init(args);
    if (cmd == "train") return cmd_train(args);
    if (cmd == "evaluate") return cmd_evaluate(args);
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      usage(stdout);
      return 0;
    }
    std::fprintf(stderr, "wordlight: unknown command '%s'\n", cmd.c_str());
    usage(stderr);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wordlight: %s\n", e.what());
    return 1;
  }
}
