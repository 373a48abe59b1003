// wordlight counterfactual  the smallest edits of a text that flip the
// model's decision (core/src/counterfactual): HotFlip, ablation flip, and
// MLM-guided minimal edits; on one text (a list, or JSON) or on the first N
// texts of a data set (one JSON line each with --json, and a summary line:
// flip rate, mean edits, mean model evaluations: the benchmark's numbers).
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "wordlight/counterfactual.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/model_files.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

std::vector<int32_t> parse_locks(const std::string& list) {
  std::vector<int32_t> out;
  size_t start = 0;
  while (start <= list.size() && !list.empty()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string item = list.substr(start, comma - start);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > 1000000)
      throw Error("option --lock: '" + item + "' is not a word index (0, 1, ...)");
    out.push_back(static_cast<int32_t>(v));
    start = comma + 1;
  }
  return out;
}

void print_list() {
  for (const GeneratorInfo& g : counterfactual_generators()) {
    std::printf("%s  (%s)%s\n  %s\n  cost: %s\n", g.name.c_str(), g.title.c_str(), g.needs_mlm ? "  needs --mlm DIR" : "",
                g.description.c_str(), g.cost.c_str());
    for (const OptionSpec& o : g.options) {
      std::string range;
      if (o.type == OptionType::choice) {
        for (const std::string& c : o.choices) range += (range.empty() ? "" : "|") + c;
      } else {
        range = "[" + std::to_string(static_cast<long long>(o.min)) + ", " + std::to_string(static_cast<long long>(o.max)) + "]";
      }
      std::printf("    %-20s %-8s %s  %s\n", o.name.c_str(), o.default_value.c_str(), range.c_str(), o.description.c_str());
    }
  }
}

void print_result(const CounterfactualResult& r) {
  auto esc = [](const std::string& s) { return terminal_escape(s); };
  const Prediction& p = r.prediction;
  std::printf("%s: '%s' (%.3f)\n", generator_info(r.generator).title.c_str(), esc(p.label_name).c_str(),
              p.probabilities[static_cast<size_t>(p.label)]);
  std::printf("words considered (%s):", esc(r.ranking).c_str());
  for (int32_t w : r.positions) std::printf(" %s", esc(r.words[static_cast<size_t>(w)].text).c_str());
  std::printf("\n");
  if (r.counterfactuals.empty()) std::printf("no counterfactual found\n");
  for (size_t i = 0; i < r.counterfactuals.size(); ++i) {
    const Counterfactual& c = r.counterfactuals[i];
    std::string edits;
    for (const CounterfactualEdit& e : c.edits)
      edits += (edits.empty() ? "" : ", ") + esc(e.original) + " -> " + (e.replacement.empty() ? "(deleted)" : esc(e.replacement));
    std::printf("%zu. %s  => '%s' (%.3f)", i + 1, edits.c_str(), esc(c.prediction.label_name).c_str(), c.probability);
    if (c.has_fluency) std::printf("  fluency %.2f", c.fluency);
    std::printf("  after %lld evaluations\n   %s\n", static_cast<long long>(c.evaluations), esc(c.text).c_str());
  }
  std::printf("model evaluations %lld (texts tried %lld of %lld)", static_cast<long long>(r.model_evaluations),
              static_cast<long long>(r.texts_tried), static_cast<long long>(r.search_size));
  if (r.mlm_evaluations) std::printf(", masked-LM evaluations %lld", static_cast<long long>(r.mlm_evaluations));
  std::printf(", %.2f s\n", r.seconds);
  if (!r.notice.empty()) std::printf("%s\n", esc(r.notice).c_str());
}

int cmd_counterfactual(const Args& a) {
  if (a.flag("list")) {
    print_list();
    return 0;
  }
  const std::string dir = a.need("model");
  const LoadedModel loaded = load_model_directory(dir);
  const Model* model = loaded.model.get();
  const Tokenizer* tok = loaded.tokenizer.get();
  CounterfactualRequest req;
  req.generator = a.get("generator", "hotflip");
  req.options = parse_option_list(a.get("options", ""));
  req.max_length = static_cast<int>(a.integer("max-length", -1));
  if (a.has("lock")) req.locked = parse_locks(a.get("lock"));
  LoadedModel mlm;
  if (a.has("mlm")) {
    mlm = load_model_directory(a.get("mlm"));
    req.mlm = mlm.model.get();
    req.mlm_tokenizer = mlm.tokenizer.get();
  }
  resolve_generator_options(req.generator, req.options);  // fail before any work
  if (a.has("text") == a.has("data")) throw Error("counterfactual: give --text TEXT or --data SPEC (one of them)");
  if (a.has("text")) {
    const CounterfactualResult r = find_counterfactuals(*model, *tok, a.get("text"), req);
    if (a.flag("json"))
      std::printf("%s\n", counterfactuals_to_json(r, 2).c_str());
    else
      print_result(r);
    return 0;
  }
  if (!req.locked.empty()) throw Error("counterfactual: --lock applies to one --text");
  const TextDataset data = read_data_spec(a.get("data"));
  const long long limit = a.integer("limit", 200);
  const size_t n = std::min<size_t>(data.size(), static_cast<size_t>(std::max(0LL, limit)));
  int flipped = 0, failed = 0;
  double edits = 0, evals = 0, evals_flipped = 0, mlm_evals = 0, seconds = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    CounterfactualResult r;
    try {
      r = find_counterfactuals(*model, *tok, data.texts[i], req);
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& e) {
      ++failed;
      std::fprintf(stderr, "counterfactual: text %zu: %s\n", i + 1, terminal_escape(e.what()).c_str());
      continue;
    }
    evals += static_cast<double>(r.model_evaluations);
    mlm_evals += static_cast<double>(r.mlm_evaluations);
    seconds += r.seconds;
    if (!r.counterfactuals.empty()) {
      ++flipped;
      edits += static_cast<double>(r.counterfactuals.front().edits.size());
      evals_flipped += static_cast<double>(r.counterfactuals.front().evaluations);
    }
    if (a.flag("json")) std::printf("%s\n", counterfactuals_to_json(r).c_str());
    if (stderr_is_tty()) std::fprintf(stderr, "\r%zu / %zu texts", i + 1, n);
  }
  if (stderr_is_tty()) std::fprintf(stderr, "\n");
  const double done = static_cast<double>(n - static_cast<size_t>(failed));
  nlohmann::ordered_json s;
  s["generator"] = req.generator;
  s["model"] = base_name(dir);
  s["texts"] = n;
  s["failed"] = failed;
  s["flip_rate"] = done > 0 ? flipped / done : 0.0;
  s["mean_edits"] = flipped ? edits / flipped : 0.0;  // of the first counterfactual of each flipped text
  s["mean_model_evaluations"] = done > 0 ? evals / done : 0.0;
  s["mean_evaluations_to_first_flip"] = flipped ? evals_flipped / flipped : 0.0;
  s["mean_mlm_evaluations"] = done > 0 ? mlm_evals / done : 0.0;
  s["mean_seconds"] = done > 0 ? seconds / done : 0.0;
  s["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s\n", nlohmann::ordered_json{{"summary", s}}.dump().c_str());
  return failed ? 1 : 0;
}

const RegisterCommand reg_counterfactual(
    {"counterfactual",
     "counterfactual --model DIR (--text TEXT | --data SPEC [--limit N]) [--generator hotflip|ablation-flip|mlm-edits]\n"
     "[--options k=v,k=v] [--lock I,J] [--mlm DIR] [--max-length N] [--json] | counterfactual --list\n"
     "the smallest edits that flip the prediction: HotFlip word replacements, deletions (ablation-flip), or a\n"
     "masked LM's fills (mlm-edits, needs --mlm DIR); --lock keeps those words (indices as in the JSON's \"words\");\n"
     "--data runs the first N texts of a data set (read_data_spec, e.g. sst2:dev.tsv) and ends with a summary line",
     {"model", "text", "data", "limit", "generator", "options", "lock", "mlm", "max-length"},
     {"json", "list"},
     cmd_counterfactual,
     45});

}  // namespace
