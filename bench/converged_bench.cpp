// Converged explanations: the time of one explain() call per text, with the
// method's registry defaults (for integrated-gradients: adaptive steps, the
// steps doubling from 16 until the completeness gap and the change of the
// scores are both below 1%) or with the options given, in process (no CLI
// start-up, no model load), at each thread count. bench/converged_captum.py
// runs it and times Captum's default IntegratedGradients on the same texts
// right after (issue 20, target 4).
//
// Usage: converged_bench --model DIR --texts FILE [--threads 1,2] [--repeats 3]
//                        [--method integrated-gradients] [--options k=v,...] [--out FILE.jsonl]
//   --texts    one text per line (a JSON string "..." or the raw line); "-": read them from
//              stdin one at a time, each timed and answered (its JSON line flushed) before the
//              next is read, so that a driver can interleave another peer's calls with ours
//              (one thread count only; the table then goes to stderr)
//   --options  options over the registry's defaults (e.g. adaptive=false,steps=50,batch-size=50
//              for the checks against Captum); none: the defaults, which is what is timed
//   --repeats  timed calls per text (median reported), after one warm-up call per thread count
//   --out      ("-": stdout) appends one JSON object per text and thread count (bench "converged"): seconds,
//              min_seconds, cpu_seconds (the process's CPU time, median), steps, tried, gap,
//              change, converged, evaluations, tokens, the special token ids (unk_id, pad_id,
//              mask_id: the baselines) and the whole explanation
//              (explanation_to_json: token ids, scores, prediction, convergence, options)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench_args.h"
#include "wordlight/explain.h"
#include "wordlight/model_files.h"
#include "wordlight/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace wordlight;

using bench::kImpl;
using bench::kPlatform;

struct Options {
  std::string model, texts, out, options, method = "integrated-gradients";
  std::vector<int> threads{1, 2};
  int repeats = 3;
};

Options parse(int argc, char** argv) {
  Options o;
  bench::BenchArgs args(argc, argv, "converged_bench",
                        "usage: converged_bench --model DIR --texts FILE [--threads 1,2] [--repeats 3] "
                        "[--method NAME] [--options k=v,...] [--out FILE.jsonl]");
  while (args.next()) {
    const std::string& a = args.flag;
    if (a == "--model") o.model = args.value();
    else if (a == "--texts") o.texts = args.value();
    else if (a == "--out") o.out = args.value();
    else if (a == "--options") o.options = args.value();
    else if (a == "--method") o.method = args.value();
    else if (a == "--threads") o.threads = args.ints("threads");
    else if (a == "--repeats") o.repeats = std::max(1, args.ints("repeats").at(0));
    else args.unknown();
  }
  if (o.model.empty() || o.texts.empty()) args.fail("--model DIR and --texts FILE are required");
  return o;
}

// A line "..." is a JSON string in UTF-8 (the escapes \" \\ \/ \n \t \r \b \f,
// and \uXXXX of the Basic Multilingual Plane: write other characters as they
// are, as json.dumps(s, ensure_ascii=False) does); any other line is the text.
std::string read_text_line(const std::string& line) {
  if (line.size() < 2 || line.front() != '"' || line.back() != '"') return line;
  std::string r;
  for (size_t i = 1; i + 1 < line.size(); ++i) {
    char c = line[i];
    if (c != '\\' || i + 2 >= line.size()) {
      r += c;
      continue;
    }
    c = line[++i];
    switch (c) {
      case 'n': r += '\n'; break;
      case 't': r += '\t'; break;
      case 'r': r += '\r'; break;
      case 'b': r += '\b'; break;
      case 'f': r += '\f'; break;
      case 'u': {
        if (i + 5 >= line.size()) throw Error("converged_bench: a \\u escape without its 4 hex digits: " + line);
        const unsigned v = static_cast<unsigned>(std::stoul(line.substr(i + 1, 4), nullptr, 16));
        i += 4;
        if (v < 0x80) r += static_cast<char>(v);
        else if (v < 0x800) r += static_cast<char>(0xC0 | (v >> 6)), r += static_cast<char>(0x80 | (v & 0x3F));
        else
          r += static_cast<char>(0xE0 | (v >> 12)), r += static_cast<char>(0x80 | ((v >> 6) & 0x3F)),
              r += static_cast<char>(0x80 | (v & 0x3F));
        break;
      }
      default: r += c;  // " \ /
    }
  }
  return r;
}

std::string json_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\', r += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      r += buf;
    } else r += c;
  }
  return r;
}

std::string ints_json(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  FILE* out = nullptr;
  const bool from_stdin = o.texts == "-";
  FILE* table = from_stdin ? stderr : stdout;
  if (o.out == "-") out = stdout;
  else if (!o.out.empty() && !(out = std::fopen(o.out.c_str(), "a"))) {
    std::fprintf(stderr, "converged_bench: cannot open %s for appending\n", o.out.c_str());
    return 1;
  }
  try {
    std::vector<std::string> texts;
    if (from_stdin && o.threads.size() != 1) throw Error("converged_bench: --texts - takes one thread count");
    if (!from_stdin) {
      std::ifstream f(o.texts);
      if (!f) throw Error("converged_bench: cannot read " + o.texts);
      std::string line;
      while (std::getline(f, line))
        if (!line.empty()) texts.push_back(read_text_line(line));
    }
    if (texts.empty() && !from_stdin) throw Error("converged_bench: no texts in " + o.texts);
    LoadedModel lm = load_model_directory(o.model);
    const Model& model = *lm.model;
    const Tokenizer& tok = *lm.tokenizer;
    ExplainRequest req;
    req.method = o.method;
    if (!o.options.empty()) req.options = parse_option_list(o.options);
    const SpecialTokens& sp = tok.special_tokens();
    std::fprintf(table, "converged bench (%s): %s on %s, %s, options: %s; median of %d call(s) per text\n",
                 kPlatform, o.method.c_str(), o.model.c_str(),
                 from_stdin ? "texts from stdin" : (std::to_string(texts.size()) + " texts").c_str(),
                 o.options.empty() ? "the registry's defaults" : o.options.c_str(), o.repeats);
    std::fprintf(table, "%4s %7s %7s %6s %12s %9s %9s %5s\n", "#", "tokens", "threads", "steps", "seconds", "gap %",
                 "change %", "conv");
    auto run_text = [&](size_t i, const std::string& text, int threads) {
      std::vector<double> times, cpu;
      Explanation e;
      for (int r = 0; r < o.repeats; ++r) {
        const auto t0 = Clock::now();
        const std::clock_t c0 = std::clock();
        e = explain(model, tok, text, req);
        cpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
        times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
      const Convergence& cv = e.convergence;
      const double s = median(times);
      std::fprintf(table, "%4zu %7zu %7d %6d %12.5f %9.4f %9.4f %5s\n", i, e.tokens.size(), threads, cv.steps, s,
                   100 * cv.gap, 100 * cv.change, cv.converged ? "yes" : "NO");
      std::fflush(table);
      if (!out) return;
      std::fprintf(out,
                   "{\"bench\":\"converged\",\"platform\":\"%s\",\"impl\":\"%s\",\"method\":\"%s\","
                   "\"options_given\":\"%s\",\"threads\":%d,\"index\":%zu,\"tokens\":%zu,\"seconds\":%.6g,"
                   "\"min_seconds\":%.6g,\"cpu_seconds\":%.6g,\"repeats\":%d,\"steps\":%d,\"tried\":%s,"
                   "\"gap\":%.6g,\"change\":%.6g,\"converged\":%s,\"evaluations\":%lld,\"unk_id\":%d,"
                   "\"pad_id\":%d,\"mask_id\":%d,\"explanation\":%s}\n",
                   kPlatform, kImpl, json_escape(o.method).c_str(), json_escape(o.options).c_str(), threads, i,
                   e.tokens.size(), s, *std::min_element(times.begin(), times.end()), median(cpu), o.repeats,
                   cv.steps, ints_json(cv.tried).c_str(), cv.gap, cv.change, cv.converged ? "true" : "false",
                   static_cast<long long>(e.model_evaluations), sp.unk_id,
                   sp.pad_id >= 0 ? sp.pad_id : model.config().pad_token_id, sp.mask_id,
                   explanation_to_json(e).c_str());
      std::fflush(out);
    };
    for (int threads : o.threads) {
      set_num_threads(threads);
      if (num_threads() != threads) {
        std::fprintf(table, "(this build runs %d thread(s); %d threads skipped)\n", num_threads(), threads);
        if (from_stdin) throw Error("converged_bench: this build cannot run " + std::to_string(threads) + " threads");
        continue;
      }
      if (from_stdin) {
        std::string line;
        for (size_t i = 0; std::getline(std::cin, line);) {
          if (line.empty()) continue;
          const std::string text = read_text_line(line);
          if (i == 0) explain(model, tok, text, req);  // warm-up: the thread pool, the allocator
          run_text(i++, text, threads);
        }
        break;
      }
      explain(model, tok, texts[0], req);  // warm-up: the thread pool, the allocator
      for (size_t i = 0; i < texts.size(); ++i) run_text(i, texts[i], threads);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "converged_bench: %s\n", e.what());
    if (out && out != stdout) std::fclose(out);
    return 1;
  }
  set_num_threads(1);
  if (out && out != stdout) std::fclose(out);
  return 0;
}
