// The perturbation family's benchmark (issue 15; bench/perturbation.sh runs
// it, bench/perturbation_captum.py is the peer). The same binary runs
// natively and in wasm (node).
//
//   --mode accuracy: texts of --min-words..--max-words words (the model's
//     words), the exact Shapley values by enumeration (kernel-shap with a
//     budget of 2^M - 2: every coalition, flagged exact), then each
//     estimator at each budget (model evaluations): kernel-shap samples=B,
//     shapley-sampling permutations=max(2, B / (M - 1)) (each permutation
//     runs M - 1 new coalitions: f(empty) is shared, f(text) known). Error of a text:
//     |estimate - exact|_2 / |exact|_2 over the words; one JSON line per
//     (method, budget) with the mean over the texts and the mean
//     evaluations actually run. --dump FILE writes the texts, their token
//     ids, word groups, the absent id and the exact values for the Captum
//     peer (same model, same masking).
//   --mode speed: one text of --speed-words words; kernel-shap samples=128
//     (and with absent=remove: absent words deleted, shorter texts),
//     kernel-shap auto, lime samples=1000, input-marginalization (with
//     --mlm) sigma=1e-5: one warm-up, --repeats runs, the median seconds
//     (wall clock, and the process's CPU time: on a machine shared with other
//     work the CPU time is what the computation cost) and the evaluations;
//     1 thread (the pool's default).
// Masking: the registry's default per architecture (transformers [MASK],
// CNN / BiLSTM <pad>); explained output: the predicted class's logit.
//
// Usage: perturbation_bench --model DIR --texts FILE [--mode accuracy|speed]
//          [--name NAME] [--budgets 64,256,1024] [--count 20] [--min-words 8]
//          [--max-words 14] [--speed-words 50] [--mlm DIR] [--repeats 3]
//          [--out FILE.jsonl] [--dump FILE.json] [--dump-only] [--cases LABEL,...]
//   --dump-only  (accuracy mode) only the dump, of the first text of any
//                length, without exact values (the Captum speed run's input)
//   --cases      (speed mode) only these cases, e.g. kernel-shap-128,lime-1000
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_args.h"
#include "wordlight/explain.h"
#include "wordlight/model_files.h"

namespace {

using namespace wordlight;
using Clock = std::chrono::steady_clock;

#ifdef __EMSCRIPTEN__
const char* const kImpl = "ours-wasm";
#else
const char* const kImpl = "ours-native";
#endif

struct Options {
  std::string model, texts, mode = "accuracy", name, mlm, out, dump, cases;  // cases: speed labels to run, "" = all
  std::vector<int> budgets{64, 256, 1024};
  int count = 20, min_words = 8, max_words = 14, speed_words = 50, repeats = 3;
  bool dump_only = false;  // accuracy mode: write --dump for the first text, no exact values, no runs
};

const char* const kUsage =
    "usage: perturbation_bench --model DIR --texts FILE [--mode accuracy|speed] [--name NAME] "
    "[--budgets 64,256,1024] [--count 20] [--min-words 8] [--max-words 14] [--speed-words 50] [--mlm DIR] "
    "[--repeats 3] [--out FILE.jsonl] [--dump FILE.json] [--dump-only] [--cases LABEL,...]";

[[noreturn]] void usage(const std::string& msg) { bench::BenchArgs(0, nullptr, "perturbation_bench", kUsage).fail(msg); }

Options parse(int argc, char** argv) {
  Options o;
  bench::BenchArgs args(argc, argv, "perturbation_bench", kUsage);
  while (args.next()) {
    const std::string& a = args.flag;
    if (a == "--model") o.model = args.value();
    else if (a == "--texts") o.texts = args.value();
    else if (a == "--mode") o.mode = args.value();
    else if (a == "--name") o.name = args.value();
    else if (a == "--mlm") o.mlm = args.value();
    else if (a == "--out") o.out = args.value();
    else if (a == "--dump") o.dump = args.value();
    else if (a == "--count") o.count = args.integer();
    else if (a == "--min-words") o.min_words = args.integer();
    else if (a == "--max-words") o.max_words = args.integer();
    else if (a == "--speed-words") o.speed_words = args.integer();
    else if (a == "--repeats") o.repeats = args.integer();
    else if (a == "--dump-only") o.dump_only = true;
    else if (a == "--cases") o.cases = "," + args.value() + ",";
    else if (a == "--budgets") o.budgets = args.ints("budgets");
    else args.unknown();
  }
  if (o.model.empty() || o.texts.empty()) usage("--model and --texts are required");
  if (o.mode != "accuracy" && o.mode != "speed") usage("--mode is accuracy or speed");
  if (o.name.empty()) o.name = o.model;
  return o;
}

// One JSON line on stdout and appended to --out (nlohmann escapes every
// text: model names and texts come from the user's files).
void emit(const Options& o, const nlohmann::json& row) {
  const std::string line = row.dump();
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (!o.out.empty()) {
    std::ofstream f(o.out, std::ios::app);
    f << line << "\n";
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  if (!f) usage("cannot read " + path);
  std::vector<std::string> v;
  std::string l;
  while (std::getline(f, l))
    if (!l.empty()) v.push_back(l);
  return v;
}

Explanation run(const LoadedModel& m, const std::string& text, const std::string& method, const std::string& opts,
                const LoadedModel* mlm = nullptr) {
  ExplainRequest r;
  r.method = method;
  r.options = parse_option_list(opts);
  if (mlm) {
    r.masked_lm = mlm->model.get();
    r.masked_lm_tokenizer = mlm->tokenizer.get();
  }
  return explain(*m.model, *m.tokenizer, text, r);
}

double check(const Explanation& e, const std::string& name) {
  for (const ExplanationCheck& c : e.checks)
    if (c.name == name) return c.value;
  return -1;
}

std::vector<double> scores(const Explanation& e) {
  std::vector<double> v;
  for (const WordScore& w : e.words) v.push_back(w.score);
  return v;
}

double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

int accuracy(const Options& o, const LoadedModel& m) {
  std::vector<std::string> texts;
  std::vector<Explanation> exact;
  nlohmann::json dump = {{"model", o.name}, {"texts", nlohmann::json::array()}};
  for (const std::string& t : read_lines(o.texts)) {
    if (static_cast<int>(texts.size()) >= o.count) break;
    Explanation probe;
    try {
      probe = run(m, t, "occlusion", "");
    } catch (const Error&) {
      continue;
    }
    const int M = static_cast<int>(probe.words.size());
    if (!o.dump_only && (M < o.min_words || M > o.max_words || probe.truncated)) continue;
    const auto t0 = Clock::now();
    Explanation ex = run(m, t, "kernel-shap", "samples=" + std::to_string(o.dump_only ? 2 : (1 << M) - 2) + ",batch-size=128");
    if (!o.dump_only && check(ex, "exact-shapley") != 1) continue;
    std::fprintf(stderr, "%s: text %zu (%d words): exact in %.1f s\n", o.name.c_str(), texts.size() + 1, M,
                 std::chrono::duration<double>(Clock::now() - t0).count());
    // For the Captum peer: the token ids, each token's word (-1: special, kept), the absent id, target, exact.
    const std::string absent = ex.options.at("absent");
    const SpecialTokens& sp = m.tokenizer->special_tokens();
    const int32_t absent_id = absent == "mask" ? sp.mask_id : (sp.pad_id >= 0 ? sp.pad_id : m.model->config().pad_token_id);
    nlohmann::json row = {{"text", t}, {"absent", absent}, {"absent_id", absent_id},
                          {"target", ex.prediction.target}, {"f", ex.prediction.explained_value}};
    for (const TokenScore& tk : ex.tokens) {
      row["ids"].push_back(tk.id);
      row["word_of_token"].push_back(tk.word);
    }
    for (const WordScore& w : ex.words) row["exact"].push_back(w.score);
    dump["texts"].push_back(std::move(row));
    texts.push_back(t);
    exact.push_back(std::move(ex));
  }
  if (!o.dump.empty()) std::ofstream(o.dump) << dump.dump() << "\n";
  if (o.dump_only) return 0;
  if (texts.empty()) usage("no text of " + std::to_string(o.min_words) + "-" + std::to_string(o.max_words) + " words in " + o.texts);
  int wmin = 1000, wmax = 0;
  for (const Explanation& e : exact) {
    wmin = std::min(wmin, static_cast<int>(e.words.size()));
    wmax = std::max(wmax, static_cast<int>(e.words.size()));
  }
  for (const char* method : {"kernel-shap", "shapley-sampling"}) {
    for (int B : o.budgets) {
      double err = 0, evals = 0;
      int n_exact = 0;
      for (size_t i = 0; i < texts.size(); ++i) {
        const int M = static_cast<int>(exact[i].words.size());
        const std::string opts = std::string(method) == "kernel-shap"
                                     ? "samples=" + std::to_string(B)
                                     : "permutations=" + std::to_string(std::max(2, B / std::max(1, M - 1)));
        const Explanation e = run(m, texts[i], method, opts + ",batch-size=128");
        err += rel_error(scores(e), scores(exact[i]));
        evals += static_cast<double>(e.model_evaluations);
        n_exact += check(e, "exact-shapley") == 1 ? 1 : 0;
      }
      const double n = static_cast<double>(texts.size());
      emit(o, {{"bench", "perturbation"}, {"kind", "accuracy"}, {"impl", kImpl}, {"model", o.name},
               {"method", method}, {"budget", B}, {"texts", texts.size()}, {"words", {wmin, wmax}},
               {"evaluations", evals / n}, {"rel_error", err / n}, {"exact_runs", n_exact}});
    }
  }
  return 0;
}

int speed(const Options& o, const LoadedModel& m) {
  std::string text;
  int words = 0;
  for (const std::string& l : read_lines(o.texts)) {
    std::stringstream ss(l);
    std::string w;
    while (ss >> w && words < o.speed_words) {
      text += (text.empty() ? "" : " ") + w;
      ++words;
    }
    if (words >= o.speed_words) break;
  }
  std::unique_ptr<LoadedModel> mlm;
  if (!o.mlm.empty()) mlm = std::make_unique<LoadedModel>(load_model_directory(o.mlm));
  struct Case {
    const char* label;
    const char* method;
    const char* options;
  };
  std::vector<Case> cases = {{"kernel-shap-128", "kernel-shap", "samples=128"},
                             {"kernel-shap-128-remove", "kernel-shap", "samples=128,absent=remove"},
                             {"kernel-shap-auto", "kernel-shap", ""},
                             {"lime-1000", "lime", "samples=1000"}};
  if (mlm) cases.push_back({"input-marginalization", "input-marginalization", "sigma=1e-5"});
  for (const Case& c : cases) {
    if (!o.cases.empty() && o.cases.find("," + std::string(c.label) + ",") == std::string::npos) continue;
    const Explanation warm = run(m, text, c.method, c.options, mlm.get());
    std::vector<double> secs, cpu;
    for (int r = 0; r < std::max(1, o.repeats); ++r) {
      const auto t0 = Clock::now();
      const std::clock_t c0 = std::clock();
      run(m, text, c.method, c.options, mlm.get());
      cpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
      secs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::sort(secs.begin(), secs.end());
    std::sort(cpu.begin(), cpu.end());
    emit(o, {{"bench", "perturbation"}, {"kind", "speed"}, {"impl", kImpl}, {"model", o.name}, {"case", c.label},
             {"words", warm.words.size()}, {"tokens", warm.tokens.size()}, {"evaluations", warm.model_evaluations},
             {"seconds", secs[secs.size() / 2]}, {"cpu_seconds", cpu[cpu.size() / 2]}, {"threads", 1}});
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    const LoadedModel m = load_model_directory(o.model);
    return o.mode == "accuracy" ? accuracy(o, m) : speed(o, m);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "perturbation_bench: %s\n", e.what());
    return 1;
  }
}
