// wordlight explain  which words pushed a classifier's prediction: a
// coloured heatmap on the terminal, or JSON
//
// Method options go in one comma-separated list, --options k=v,k=v (or
// --option k=v for one; both may be given). Args keeps one value per key,
// so a repeated --option would keep only the last: use the list.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "masked_lm.h"
#include "mpi_explain.h"
#include "mpi_work.h"
#include "wordlight/gpu.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/text_lines.h"
#include "wordlight/thread_pool.h"
#include "wordlight/tokenizer.h"
#include "wordlight/json_limits.h"
#include "wordlight/finite_check.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

using Json = nlohmann::json;

// Texts of a JSON-lines file: each line a JSON string, or an object with a
// string "text"; blank lines are skipped. A line that is neither is kept
// with its error (bad_lines), so the run goes on past it; line numbers are
// the file's own (blank lines counted).
struct InputLine {
  size_t line_no;
  std::string text;
  std::string error;  // not empty: the line could not be read
};

std::vector<InputLine> jsonl_texts(const std::string& content, const std::string& path) {
  std::vector<InputLine> texts;
  const std::vector<std::string> lines = split_lines(content);
  for (size_t line_no = 1; line_no <= lines.size(); ++line_no) {
    const std::string& line = lines[line_no - 1];
    if (blank_line(line)) continue;
    const std::string where = path + ": line " + std::to_string(line_no);
    Json j;
    try {
      check_json_depth(line, where);
      try {
        j = Json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(where + " is not valid JSON (" + e.what() + ")");
      }
      if (j.is_object() && j.contains("text")) j = Json(j["text"]);
      if (!j.is_string()) throw Error(where + " must be a JSON string or an object with a string \"text\"");
      texts.push_back({line_no, j.get<std::string>(), ""});
    } catch (const Error& e) {
      texts.push_back({line_no, "", e.what()});
    }
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
// Unsigned scores (magnitudes: saliency, smoothgrad-squared) get one
// sequential scale, white to dark green, never red/blue for/against.
std::string heat(double s, double max_abs, bool signed_scores) {
  const double a = max_abs > 0 ? std::min(1.0, std::fabs(s) / max_abs) : 0.0;
  const int fade = static_cast<int>(std::lround(255 * (1 - a)));
  int r = s >= 0 ? 255 : fade, g = fade, b = s >= 0 ? fade : 255;
  if (!signed_scores) {
    r = fade;
    g = static_cast<int>(std::lround(255 - 100 * a));
    b = fade;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "\x1b[48;2;%d;%d;%dm\x1b[38;2;0;0;0m", r, g, b);
  return buf;
}

// integrated-hessians: the word pairs of largest |Gamma_ij| (i < j; the
// matrix is symmetric, the pair's whole interaction is 2 Gamma_ij).
void print_top_pairs(const Explanation& e, size_t top) {
  const size_t W = e.words.size();
  if (e.word_interactions.size() != W * W || W < 2) return;
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < W; ++i)
    for (size_t j = i + 1; j < W; ++j) pairs.emplace_back(i, j);
  auto g = [&](const std::pair<size_t, size_t>& p) { return e.word_interactions[p.first * W + p.second]; };
  std::stable_sort(pairs.begin(), pairs.end(),
                   [&](const auto& x, const auto& y) { return std::fabs(g(x)) > std::fabs(g(y)); });
  if (pairs.size() > top) pairs.resize(top);
  std::printf("  top interacting word pairs (Gamma_ij = Gamma_ji):\n");
  for (const auto& p : pairs)
    std::printf("    %-16s x %-16s %s\n", terminal_escape(e.words[p.first].text).c_str(),
                terminal_escape(e.words[p.second].text).c_str(),
                fmt("%+.4g", g(p)).c_str());
}

void print_heatmap(const Explanation& e, const std::vector<std::string>& label_names, bool color) {
  const Prediction& p = e.prediction;
  double max_abs = 0;
  for (const WordScore& w : e.words) max_abs = std::max(max_abs, std::fabs(w.score));
  std::string out;
  size_t pos = 0;
  for (const WordScore& w : e.words) {
    if (w.span.begin < pos) continue;
    // Our own colour codes go around the escaped text, never inside it.
    out += terminal_escape(e.text.substr(pos, w.span.begin - pos));
    if (color)
      out += (w.unknown ? std::string("\x1b[9m") : heat(w.score, max_abs, e.signed_scores)) + terminal_escape(w.text) +
             "\x1b[0m";
    else
      out += "[" + terminal_escape(w.text) + " " + fmt("%+.3g", w.score) + "]";
    pos = w.span.end;
  }
  if (pos < e.text.size()) out += terminal_escape(e.text.substr(pos));
  std::printf("%s\n", out.c_str());
  // The most probable classes first, at most five (20news has 20).
  std::vector<size_t> order(p.probabilities.size());
  for (size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return p.probabilities[x] > p.probabilities[y]; });
  if (order.size() > 5) order.resize(5);
  std::string probs;
  for (size_t c : order)
    probs += (probs.empty() ? "" : " ") + (c < label_names.size() ? terminal_escape(label_names[c]) : std::to_string(c)) + " " +
             fmt("%.3f", p.probabilities[c]);
  const std::string legend = e.explains == "neuron" ? "explains " + terminal_escape(e.unit) + ", not the class"
                             : e.signed_scores       ? "red: for " + terminal_escape(p.target_name) + ", blue: against"
                                                     : "green: importance (a magnitude: neither for nor against)";
  std::printf("  %s\n", terminal_escape(e.title).c_str());
  // Multi-label models (problem_type multi_label_classification): each label
  // has its own probability, several can hold at once, and they need not sum
  // to 1; "predicted X" would hide the others.
  std::string predicted = "predicted " + terminal_escape(p.label_name) + " (p " + probs + ")";
  if (p.multi_label) {
    std::string above;
    for (size_t c = 0; c < p.probabilities.size(); ++c)
      if (p.probabilities[c] > 0.5f)
        above += (above.empty() ? "" : ", ") + (c < label_names.size() ? terminal_escape(label_names[c]) : std::to_string(c));
    predicted = (above.empty() ? "no label above 0.5" : "labels above 0.5: " + above) +
                " (multi-label: each label its own probability, not summing to 1; p " + probs + ")";
  }
  std::printf("  %s   explained: %s of %s = %s   %s\n", predicted.c_str(), p.output.c_str(),
              terminal_escape(p.target_name).c_str(), fmt("%.4g", p.explained_value).c_str(), legend.c_str());
  if (e.unread.unknown_words > 0 || e.unread.truncated_words > 0)
    std::printf("  not read by this model: %d unknown word(s)%s, %d word(s) past the truncation (%s of the text's "
                "words)\n",
                e.unread.unknown_words, color ? " (struck through)" : "", e.unread.truncated_words,
                fmt("%.0f%%", 100 * e.unread.share).c_str());
  if (e.convergence.present)
    std::printf("  convergence: %s after %d steps (tried %s): completeness gap %s, change from the previous steps %s, "
                "tolerance %s\n",
                e.convergence.converged ? "converged" : "NOT converged", e.convergence.steps,
                [&] {
                  std::string t;
                  for (int k : e.convergence.tried) t += (t.empty() ? "" : ", ") + std::to_string(k);
                  return t;
                }()
                    .c_str(),
                fmt("%.2g%%", 100 * e.convergence.gap).c_str(),
                e.convergence.change < 0 ? "not measured" : fmt("%.2g%%", 100 * e.convergence.change).c_str(),
                fmt("%.2g%%", 100 * e.convergence.tolerance).c_str());
  std::string words;
  for (const WordScore& w : e.words)
    words += (words.empty() ? "" : "  ") + terminal_escape(w.text) + " " + fmt("%+.3g", w.score);
  std::printf("  %s: %s\n", e.method.c_str(), words.c_str());
  print_top_pairs(e, 10);
  for (const ExplanationCheck& c : e.checks)
    std::printf("  %s: %s (%s of %s)\n", c.name.c_str(), fmt("%.3g", c.value).c_str(),
                fmt("%.2g%%", 100 * c.relative).c_str(), fmt("%.4g", c.reference).c_str());
  std::printf("  %lld model evaluations, %s s%s%s\n", static_cast<long long>(e.model_evaluations),
              fmt("%.3f", e.seconds).c_str(), e.truncated ? "; " : "", e.truncated ? terminal_escape(e.notice).c_str() : "");
}

void list_methods() {
  for (const MethodInfo& m : explanation_methods()) {
    std::string facts = std::string(m.signed_scores ? "signed scores (for / against)" : "unsigned scores (importance)");
    if (!m.unsigned_when.empty())
      for (const auto& kv : m.unsigned_when) facts += "; unsigned with " + kv.first + "=" + kv.second;
    facts += "; explains " + std::string(m.explains == "output" ? "the class's output" : m.explains == "neuron" ? "one neuron" : "every layer");
    facts += "; cost: " + m.cost;
    if (!m.requires_part.empty()) facts += "; only for models that carry the learned part '" + m.requires_part + "'";
    std::printf("%s  (%s)\n    %s\n    %s\n", m.name.c_str(), m.title.c_str(), m.description.c_str(), facts.c_str());
    for (const OptionSpec& o : m.options) {
      std::string range;
      if (o.type == OptionType::choice) {
        for (const std::string& c : o.choices) range += (range.empty() ? "" : "|") + c;
      } else if (o.type == OptionType::boolean) {
        range = "true|false";
      } else {
        range = "[" + fmt("%.10g", o.min) + ", " + fmt("%.10g", o.max) + "]";
      }
      std::string per;
      if (!o.applies_to.empty()) {
        per += "applies to";
        for (const std::string& g : o.applies_to) per += " " + g;
      }
      for (const auto& kv : o.by_architecture) {
        per += (per.empty() ? "" : "; ") + kv.first + ":";
        if (!kv.second.default_value.empty()) per += " default " + kv.second.default_value;
        if (!kv.second.choices.empty()) {
          std::string c;
          for (const std::string& x : kv.second.choices) c += (c.empty() ? "" : "|") + x;
          per += " " + c;
        }
      }
      std::printf("    %-18s %-8s default %-15s %s\n      %s\n", o.name.c_str(), option_type_name(o.type),
                  o.default_value.c_str(), range.c_str(), o.description.c_str());
      if (!per.empty()) std::printf("      (%s)\n", per.c_str());
    }
  }
}

// --input FILE --out DIR: explanations.jsonl in DIR, resumable; under
// mpirun the lines are spread over the ranks (mpi_explain.h).
int explain_to_dir(const Args& a, const ExplainRequest& req, const mpi::Session& session) {
  const std::string dir = a.need("model"), path = a.need("input"), out_dir = a.need("out");
  if (!a.has("threads")) set_num_threads(session.default_threads());
  if (a.has("chunk") && !session.distributed())
    throw Error("option --chunk applies to runs under mpirun (more than one rank)");
  const LoadedModel loaded = load_model_directory(dir);
  const std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
  ExplainRequest r = req;
  if (a.has("target")) r.target = parse_target(model->config(), a.get("target"));
  std::vector<mpi::ExplainInput> texts;
  for (const InputLine& in : jsonl_texts(read_text(path), path)) texts.push_back({in.line_no, in.text, in.error});
  const std::string who = session.distributed() ? "explain: rank " + std::to_string(session.rank()) : "explain";
  auto warning = [&](const std::string& w) { std::fprintf(stderr, "%s: warning: %s\n", who.c_str(), terminal_escape(w).c_str()); };
  const bool tty = stderr_is_tty();
  auto last = std::chrono::steady_clock::now();
  bool first = true;
  auto progress = [&](const mpi::WorkProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    const bool end = p.written >= p.total;
    if (!end && !first && std::chrono::duration<double>(now - last).count() < (tty ? 0.2 : 30)) return;
    first = false;
    last = now;
    const double rate = p.seconds > 0 ? static_cast<double>(p.written - p.resumed) / p.seconds : 0;
    const double left = rate > 0 ? static_cast<double>(p.total - p.written) / rate : 0;
    std::fprintf(stderr, "%sexplain: %lld/%lld texts, %.2f texts/s, %.1f s, about %.0f s left%s", tty ? "\r" : "",
                 static_cast<long long>(p.written), static_cast<long long>(p.total), rate, p.seconds, left,
                 tty && !end ? "\x1b[K" : "\n");
  };
  const mpi::ExplainDirResult res =
      mpi::explain_to_dir(session, *model, *tok, r, texts, path, dir, out_dir, a.integer("chunk", 0), warning, progress);
  if (session.rank() != 0) return 0;
  if (!res.finished) {
    std::fprintf(stderr, "wordlight explain: %s\n", terminal_escape(res.failure).c_str());
    if (session.distributed()) session.abort(1);  // a rank declared dead may be hung rather than gone
    return 1;
  }
  nlohmann::ordered_json done;
  done["out"] = out_dir;
  done["explained"] = res.explained;
  done["resumed"] = res.resumed;
  done["failed"] = res.failed;
  done["ranks"] = session.size();
  done["explanations"] = out_dir + "/explanations.jsonl";
  std::printf("%s\n", done.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  if (res.failed)
    std::fprintf(stderr, "wordlight explain: %lld of the %zu texts in %s could not be explained (their lines in "
                 "explanations.jsonl say why)\n", static_cast<long long>(res.failed), texts.size(),
                 terminal_escape(path).c_str());
  return res.failed ? 1 : 0;
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
  // --device, else WORDLIGHT_DEVICE, else cpu; checked before the model loads.
  req.device = a.has("device") ? gpu::parse_device(a.get("device"), "--device").str() : gpu::device_from_env().str();
  const MaskedLm mlm = load_masked_lm(a, dir, req.method == "input-marginalization");
  req.masked_lm = mlm.model.get();
  req.masked_lm_tokenizer = mlm.tokenizer.get();
  if (a.has("text") == a.has("input")) throw Error("give either --text or --input");
  if ((a.has("out") || a.has("chunk")) && !a.has("input")) throw Error("--out and --chunk go with --input");
  if (a.has("out")) {
    mpi::Session session;  // size 1 unless started by mpirun / srun
    if (!session.distributed()) return explain_to_dir(a, req, session);
    try {
      return explain_to_dir(a, req, session);
    } catch (const std::exception& e) {
      // One rank's error ends the whole job, so that no rank waits for it.
      std::fprintf(stderr, "wordlight explain: rank %d: %s\n", session.rank(), terminal_escape(e.what()).c_str());
      session.abort(1);
    }
  }
  if (mpi::Session::launched_size() > 1)
    throw Error("under mpirun, --input needs --out DIR (each rank would print every text)");

  const LoadedModel loaded = load_model_directory(dir);
  const std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
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
    check_explanation_finite(e);
    if (e.device != "cpu" && !json) std::fprintf(stderr, "device: %s\n", terminal_escape(e.device).c_str());
    if (json)
      std::printf("%s\n", explanation_to_json(e, 2).c_str());
    else
      print_heatmap(e, model->config().id2label, color);
    return 0;
  }
  // Many texts: explained several at a time, one text per worker of the
  // pool (--threads); the ops inside each explanation then run inline on
  // that worker (nested pool calls do), so the cores are busy with whole
  // explanations instead of small GEMMs. Results are printed in input order,
  // a chunk at a time.
  const std::string path = a.get("input");
  const std::vector<InputLine> texts = jsonl_texts(read_text(path), path);
  size_t failed = 0;
  ThreadPool& pool = default_pool();
  const size_t chunk = static_cast<size_t>(std::max(1, pool.threads())) * 4;
  const auto t0 = std::chrono::steady_clock::now();
  double seconds = 0;
  for (size_t first = 0; first < texts.size(); first += chunk) {
    const size_t n = std::min(chunk, texts.size() - first);
    std::vector<Explanation> out(n);
    std::vector<std::string> errors(n);
    pool.parallel_for(n, 1, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        ExplainRequest r = req;
        r.control = {};
        const InputLine& in = texts[first + i];
        if (!in.error.empty()) {
          errors[i] = in.error;
          continue;
        }
        try {
          out[i] = explain(*model, *tok, in.text, r);
          check_explanation_finite(out[i]);
        } catch (const Error& err) {
          errors[i] = path + ": line " + std::to_string(in.line_no) + ": " + err.what();
        }
      }
    });
    for (size_t i = 0; i < n; ++i) {
      if (!errors[i].empty()) {
        // Reported and skipped: the other lines still get explained, and
        // the exit status says that some did not.
        std::fflush(stdout);
        std::fprintf(stderr, "%swordlight explain: %s\n", tty ? "\r\x1b[K" : "", terminal_escape(errors[i]).c_str());
        ++failed;
        continue;
      }
      seconds += out[i].seconds;
      if (json) {
        std::printf("%s\n", explanation_to_json(out[i]).c_str());
      } else {
        print_heatmap(out[i], model->config().id2label, color);
        std::printf("\n");
      }
    }
    std::fflush(stdout);
    const size_t done = first + n;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double left = wall / static_cast<double>(done) * static_cast<double>(texts.size() - done);
    if (tty)
      std::fprintf(stderr, "\rexplain: %zu/%zu texts, %.1f s, about %.0f s left   ", done, texts.size(), wall, left);
    else if (done % 100 < n || done == texts.size())
      std::fprintf(stderr, "explain: %zu/%zu texts, %.1f s (%.1f s of explanation time on %d threads)\n", done,
                   texts.size(), wall, seconds, pool.threads());
  }
  if (tty) std::fprintf(stderr, "\n");
  if (failed) {
    std::fprintf(stderr, "wordlight explain: %zu of the %zu texts in %s could not be explained (reported above)\n", failed,
                 texts.size(), terminal_escape(path).c_str());
    return 1;
  }
  return 0;
}

const RegisterCommand reg_explain(
    {"explain",
     "explain --model DIR [--method NAME] [--options k=v,k=v] [--option k=v] (--text TEXT | --input FILE.jsonl)\n"
     "[--target LABEL|ID] [--max-length N] [--mlm DIR] [--device cpu|vulkan|vulkan:N|auto] [--json] [--plain]\n"
     "| explain --list\n"
     "which words pushed the prediction: a red (for) / blue (against) heatmap, or JSON (one object per\n"
     "text; a line each with --input, whose lines are JSON strings or objects with \"text\"); the target\n"
     "is the predicted class unless given; --list prints every method with its options and ranges;\n"
     "--input FILE --out DIR [--chunk N]: DIR/explanations.jsonl ({\"line\", \"explanation\" or \"error\"} per input\n"
     "line, resumable), also under mpirun -np N (MPI build; see docs/cluster.md); --mlm DIR: the masked LM of\n"
     "input-marginalization (default models/sst2-bert-mlm); --device: where the model runs (default\n"
     "WORDLIGHT_DEVICE, else cpu; vulkan: the best Vulkan GPU, an error if none; auto: it, else the CPU)",
     {"model", "method", "options", "option", "text", "input", "target", "max-length", "out", "chunk", "mlm",
      "device"},
     {"json", "plain", "list"},
     cmd_explain,
     40});

}  // namespace
