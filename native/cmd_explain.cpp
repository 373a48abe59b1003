// wordlight explain  which words pushed a classifier's prediction: a
// coloured heatmap on the terminal, or JSON
//
// Method options go in one comma-separated list, --options k=v,k=v (or
// --option k=v for one; both may be given). Args keeps one value per key,
// so a repeated --option would keep only the last: use the list.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

using Json = nlohmann::json;

// Texts of a JSON-lines file: each line a JSON string, or an object with a
// string "text"; blank lines are skipped.
std::vector<std::string> jsonl_texts(const std::string& content, const std::string& path) {
  std::vector<std::string> texts;
  size_t start = 0, line_no = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    if (nl == std::string::npos) nl = content.size();
    std::string line = content.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ": line " + std::to_string(line_no);
    Json j;
    try {
      j = Json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + " is not valid JSON (" + e.what() + ")");
    }
    if (j.is_object() && j.contains("text")) j = j["text"];
    if (!j.is_string()) throw Error(where + " must be a JSON string or an object with a string \"text\"");
    texts.push_back(j.get<std::string>());
  }
  return texts;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Red for words that push the target up, blue for those that push it down;
// the stronger, the deeper (relative to the largest magnitude in the text).
std::string heat(double s, double max_abs) {
  const double a = max_abs > 0 ? std::min(1.0, std::fabs(s) / max_abs) : 0.0;
  const int fade = static_cast<int>(std::lround(255 * (1 - a)));
  const int r = s >= 0 ? 255 : fade, g = fade, b = s >= 0 ? fade : 255;
  char buf[64];
  std::snprintf(buf, sizeof buf, "\x1b[48;2;%d;%d;%dm\x1b[38;2;0;0;0m", r, g, b);
  return buf;
}

void print_heatmap(const Explanation& e, const std::vector<std::string>& label_names, bool color) {
  const Prediction& p = e.prediction;
  double max_abs = 0;
  for (const WordScore& w : e.words) max_abs = std::max(max_abs, std::fabs(w.score));
  std::string out;
  size_t pos = 0;
  for (const WordScore& w : e.words) {
    if (w.span.begin < pos) continue;
    out += e.text.substr(pos, w.span.begin - pos);
    if (color)
      out += heat(w.score, max_abs) + w.text + "\x1b[0m";
    else
      out += "[" + w.text + " " + fmt("%+.3g", w.score) + "]";
    pos = w.span.end;
  }
  if (pos < e.text.size()) out += e.text.substr(pos);
  std::printf("%s\n", out.c_str());
  // The most probable classes first, at most five (20news has 20).
  std::vector<size_t> order(p.probabilities.size());
  for (size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return p.probabilities[x] > p.probabilities[y]; });
  if (order.size() > 5) order.resize(5);
  std::string probs;
  for (size_t c : order)
    probs += (probs.empty() ? "" : " ") + (c < label_names.size() ? label_names[c] : std::to_string(c)) + " " +
             fmt("%.3f", p.probabilities[c]);
  std::printf("  predicted %s (p %s)   explained: %s of %s = %s   red: for %s, blue: against\n", p.label_name.c_str(),
              probs.c_str(), p.output.c_str(), p.target_name.c_str(), fmt("%.4g", p.explained_value).c_str(),
              p.target_name.c_str());
  std::string words;
  for (const WordScore& w : e.words) words += (words.empty() ? "" : "  ") + w.text + " " + fmt("%+.3g", w.score);
  std::printf("  %s: %s\n", e.method.c_str(), words.c_str());
  for (const ExplanationCheck& c : e.checks)
    std::printf("  %s: %s (%s of %s)\n", c.name.c_str(), fmt("%.3g", c.value).c_str(),
                fmt("%.2g%%", 100 * c.relative).c_str(), fmt("%.4g", c.reference).c_str());
  std::printf("  %lld model evaluations, %s s%s%s\n", static_cast<long long>(e.model_evaluations),
              fmt("%.3f", e.seconds).c_str(), e.truncated ? "; " : "", e.truncated ? e.notice.c_str() : "");
}

void list_methods() {
  for (const MethodInfo& m : explanation_methods()) {
    std::printf("%s\n    %s\n", m.name.c_str(), m.description.c_str());
    for (const OptionSpec& o : m.options) {
      std::string range;
      if (o.type == OptionType::choice) {
        for (const std::string& c : o.choices) range += (range.empty() ? "" : "|") + c;
      } else if (o.type == OptionType::boolean) {
        range = "true|false";
      } else {
        range = "[" + fmt("%.10g", o.min) + ", " + fmt("%.10g", o.max) + "]";
      }
      std::printf("    %-18s %-8s default %-15s %s\n      %s\n", o.name.c_str(), option_type_name(o.type),
                  o.default_value.c_str(), range.c_str(), o.description.c_str());
    }
  }
}

int cmd_explain(const Args& a) {
  if (a.flag("list")) {
    list_methods();
    return 0;
  }
  const std::string dir = a.need("model");
  ExplainRequest req;
  req.method = a.get("method", "gradient");
  MethodOptions opts = parse_option_list(a.get("options"));
  for (const auto& kv : parse_option_list(a.get("option"))) {
    if (opts.count(kv.first)) throw Error("option '" + kv.first + "' is given twice");
    opts[kv.first] = kv.second;
  }
  req.options = opts;
  resolve_options(req.method, req.options);  // fail before loading the model
  req.max_length = static_cast<int>(a.integer("max-length", -1));
  if (a.has("text") == a.has("input")) throw Error("give either --text or --input");

  auto model = load_model_dir(dir);
  auto tok = load_tokenizer_dir(dir, model->config());
  if (a.has("target")) req.target = parse_target(model->config(), a.get("target"));
  const bool json = a.flag("json");
  const bool color = !a.flag("plain");
  const bool tty = stderr_is_tty();

  if (a.has("text")) {
    if (tty)
      req.control.progress = [&](int64_t done, int64_t total) {
        std::fprintf(stderr, "\r%s: %lld/%lld evaluations", req.method.c_str(), static_cast<long long>(done),
                     static_cast<long long>(total));
        if (done >= total) std::fprintf(stderr, "\r\x1b[K");
      };
    const Explanation e = explain(*model, *tok, a.get("text"), req);
    if (json)
      std::printf("%s\n", explanation_to_json(e, 2).c_str());
    else
      print_heatmap(e, model->config().id2label, color);
    return 0;
  }
  const std::string path = a.get("input");
  const std::vector<std::string> texts = jsonl_texts(read_text(path), path);
  double seconds = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const Explanation e = explain(*model, *tok, texts[i], req);
    seconds += e.seconds;
    if (json) {
      std::printf("%s\n", explanation_to_json(e).c_str());
    } else {
      print_heatmap(e, model->config().id2label, color);
      std::printf("\n");
    }
    std::fflush(stdout);
    if (tty)
      std::fprintf(stderr, "\rexplain: %zu/%zu texts, %.1f s", i + 1, texts.size(), seconds);
    else if ((i + 1) % 100 == 0 || i + 1 == texts.size())
      std::fprintf(stderr, "explain: %zu/%zu texts, %.1f s\n", i + 1, texts.size(), seconds);
  }
  if (tty) std::fprintf(stderr, "\n");
  return 0;
}

const RegisterCommand reg_explain(
    {"explain",
     "explain --model DIR [--method NAME] [--options k=v,k=v] [--option k=v] (--text TEXT | --input FILE.jsonl)\n"
     "[--target LABEL|ID] [--max-length N] [--json] [--plain] | explain --list\n"
     "which words pushed the prediction: a red (for) / blue (against) heatmap, or JSON (one object per\n"
     "text; a line each with --input, whose lines are JSON strings or objects with \"text\"); the target\n"
     "is the predicted class unless given; --list prints every method with its options and ranges",
     {"model", "method", "options", "option", "text", "input", "target", "max-length"},
     {"json", "plain", "list"},
     cmd_explain,
     40});

}  // namespace
