// Explanation cost on a transformer: Integrated Gradients (50 steps), a
// plain forward pass and LRP, for a 32-token and a 64-token input (special
// tokens included), at each thread count. The same binary runs natively and
// in wasm (node, pthreads build); bench/torch_ig.py times the same
// computation in PyTorch, and bench/report.mjs puts them side by side.
//
// What is timed (one call each, wall clock):
//   ig          explain(method integrated-gradients, steps=50, batch-size=50):
//               all 50 path points run as one batch. What explain() computes
//               for it: tokenizing, the prediction (forward, batch 1), f at
//               the input and the baseline (forward, batch 2), the 50 path
//               points (forward + backward to the word embeddings, batch
//               50), the attributions and the word merge. Default rule
//               (gauss-legendre) and baseline (zero on the text's tokens,
//               special tokens keep theirs).
//   ig-default  the same with the registry's default batch-size (16: four
//               batches, 16+16+16+2), shown only when that default is not 50
//   forward     embed + Graph + model.forward on batch 1 (no gradients)
//   lrp         explain(method lrp), defaults: the prediction's forward
//               (batch 1, kept for the backward) and one LRP backward
// Each measurement: one warm-up call, then `repeats` repetitions, taken
// round-robin over the measurements of one case and thread count so that
// interference from other work hits them alike; the median is reported.
// forward and lrp are short, so one repetition of them runs enough calls to
// last ~50 ms and reports the time per call.
//
// FLOPs (for GFLOP/s): the matrix products of the encoder and the head,
// forward = L * T * (2 * (4 H^2 + 2 H I) + 4 T H) + 2 H^2 + 2 H C per
// sequence; a backward to the inputs (weights need no gradient) costs the
// same again, so IG counts (1 + 2 + 2 * 50) forwards.
//
// Usage: explain_bench --model DIR [--threads 1,2] [--out FILE.jsonl] [--repeats N]
//                      [--tokens 32,64] [--inputs-out FILE.json] [--device vulkan|vulkan:N]
//   --device      runs ig and lrp there (ExplainRequest::device; impl "ours-vulkan",
//                 the threads are the CPU's, which tokenizes and merges); forward
//                 (a CPU graph) is not timed then
//   --out         appends one JSON object per measurement
//   --inputs-out  writes the texts and their token ids (for bench/torch_ig.py)
//   --measures    only these of ig, ig-default, forward, lrp (default: all)
//   --memory F    instead of timing: the process's peak memory before and after one ig call
//                 (steps 50, batch 50) on the first --tokens length, 1 thread, appended to F
//                 (bench "memory"): natively the peak resident set (getrusage), in wasm
//                 the module's linear memory (it only grows: its size is the peak heap)
//   --profile F   after each case's timing, one forward and one ig call with the per-op
//                 profile on (wordlight/op_profile.h); appends its entries to F as JSON
//                 lines (bench "op_profile", measure, tokens, threads, wall_seconds of the
//                 call) and prints the table
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten/heap.h>
#else
#include <sys/resource.h>
#endif

#include "bench_args.h"
#include "wordlight/explain.h"
#include "wordlight/gemm.h"
#include "wordlight/model_files.h"
#include "wordlight/op_profile.h"
#include "wordlight/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace wordlight;

using bench::kImpl;
using bench::kPlatform;

constexpr int kSteps = 50;

struct Options {
  std::string model, out, inputs_out, profile, memory;
  std::vector<std::string> measures;
  std::vector<int> threads{1, 2};
  std::vector<int> tokens{32, 64};
  int repeats = 5;
  std::string device = "cpu";
};

Options parse(int argc, char** argv) {
  Options o;
  bench::BenchArgs args(argc, argv, "explain_bench",
                        "usage: explain_bench --model DIR [--threads 1,2] [--out FILE.jsonl] [--repeats N] "
                        "[--tokens 32,64] [--inputs-out FILE.json] [--device vulkan|vulkan:N] [--measures ig,forward,...] "
                        "[--profile FILE.jsonl] [--memory FILE.jsonl]");
  while (args.next()) {
    const std::string& a = args.flag;
    if (a == "--model") o.model = args.value();
    else if (a == "--out") o.out = args.value();
    else if (a == "--inputs-out") o.inputs_out = args.value();
    else if (a == "--threads") o.threads = args.ints("threads");
    else if (a == "--tokens") o.tokens = args.ints("tokens");
    else if (a == "--repeats") o.repeats = args.ints("repeats").at(0);
    else if (a == "--device") o.device = args.value();
    else if (a == "--profile") o.profile = args.value();
    else if (a == "--memory") o.memory = args.value();
    else if (a == "--measures") {
      std::stringstream ss(args.value());
      std::string m;
      while (std::getline(ss, m, ',')) o.measures.push_back(m);
    }
    else args.unknown();
  }
  if (o.model.empty()) args.fail("--model DIR is required");
  return o;
}

// Varied English, so that the text mixes whole words, sub-word pieces and
// punctuation as real input does.
const char* const kSentences[] = {
    "the film is a quiet , thoughtful portrait of a family coming apart at the seams .",
    "its performances are uniformly excellent , but the script never quite finds its footing .",
    "a gripping thriller that keeps you guessing until the very last frame .",
    "despite some clumsy dialogue , the director handles the big set pieces with real flair .",
    "i laughed more than i expected , and the ending caught me completely off guard .",
    "an overlong , muddled mess that wastes a talented cast on a predictable plot .",
    "beautifully shot and scored , though the pacing in the middle act drags badly .",
    "the documentary asks hard questions and refuses to offer easy answers .",
};

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

// A text whose encoding has exactly `n` tokens (specials included): words of
// kSentences appended in order; a word that would overshoot is skipped.
std::string text_with_tokens(const Tokenizer& tok, int n) {
  std::vector<std::string> words;
  for (const char* s : kSentences) {
    std::stringstream ss(s);
    std::string w;
    while (ss >> w) words.push_back(w);
  }
  EncodeOptions eo;
  eo.max_length = 0;  // no truncation: we count
  std::string text;
  for (int pass = 0; pass < 4; ++pass)
    for (const std::string& w : words) {
      const std::string cand = text.empty() ? w : text + " " + w;
      const int size = static_cast<int>(tok.encode(cand, eo).size());
      if (size > n) continue;
      text = cand;
      if (size == n) return text;
    }
  throw Error("explain_bench: cannot build a text of exactly " + std::to_string(n) + " tokens");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Peak memory of the process so far, MB: natively the resident set's high
// water mark, in wasm the linear memory's size (it never shrinks).
double peak_memory_mb() {
#ifdef __EMSCRIPTEN__
  return static_cast<double>(emscripten_get_heap_size()) / (1 << 20);
#else
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024;  // KiB on Linux
#endif
}

double forward_flops(const ModelConfig& c, int T) {
  const double H = c.hidden_size, I = c.intermediate_size, L = c.num_hidden_layers, C = c.num_labels;
  return L * T * (2 * (4 * H * H + 2 * H * I) + 4.0 * T * H) + 2 * H * H + 2 * H * C;
}

struct Measure {
  Measure(std::string n, std::function<std::string()> c, bool s, double f)
      : name(std::move(n)), call(std::move(c)), short_call(s), flops(f) {}
  std::string name;                   // ig, ig-default, forward, lrp
  std::function<std::string()> call;  // returns checks for the JSON line (key:value,...), may be ""
  bool short_call = false;            // run several calls per repetition
  double flops = 0;
  long calls = 1;
  std::vector<double> times;  // per call, one per repetition
  std::string note;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  FILE* out = nullptr;
  if (!o.out.empty() && !(out = std::fopen(o.out.c_str(), "a"))) {
    std::fprintf(stderr, "explain_bench: cannot open %s for appending\n", o.out.c_str());
    return 1;
  }
  try {
    LoadedModel lm = load_model_directory(o.model);
    const Model& model = *lm.model;
    const Tokenizer& tok = *lm.tokenizer;
    const ModelConfig& cfg = model.config();
    const bool on_device = o.device != "cpu";
    const std::string impl = on_device ? "ours-vulkan" : kImpl;
    if (!cfg.is_transformer()) throw Error("explain_bench: " + o.model + " is not a transformer");
    const MethodInfo& ig_info = method_info("integrated-gradients");
    std::string default_batch = "?";
    for (const OptionSpec& s : ig_info.options)
      if (s.name == "batch-size") default_batch = s.default_value;
    std::printf("explain bench (%s, fast path %s): model %s (%s, %d layers, hidden %d, %d heads, ffn %d, vocab %d)\n",
                kPlatform, gemm_fast_name(), o.model.c_str(), cfg.architecture.c_str(), cfg.num_hidden_layers,
                cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size, cfg.vocab_size);
    std::printf("IG: %d steps, rule gauss-legendre (default), zero baseline, batch-size %d (all points in one "
                "batch); the registry's default batch-size is %s%s\n",
                kSteps, kSteps, default_batch.c_str(),
                default_batch != std::to_string(kSteps) ? " (timed too: ig-default)" : "");
    std::printf("median of %d repetitions after a warm-up; seconds per call\n", o.repeats);

    std::vector<std::string> texts;
    std::vector<std::vector<int32_t>> ids;
    for (int n : o.tokens) {
      texts.push_back(text_with_tokens(tok, n));
      ids.push_back(tok.encode(texts.back()).ids);
      if (static_cast<int>(ids.back().size()) != n)
        throw Error("explain_bench: the text of " + std::to_string(n) + " tokens encodes to " +
                    std::to_string(ids.back().size()) + " with the model's maximum length");
    }
    if (!o.inputs_out.empty()) {
      FILE* f = std::fopen(o.inputs_out.c_str(), "w");
      if (!f) throw Error("explain_bench: cannot write " + o.inputs_out);
      std::fprintf(f, "[");
      for (size_t i = 0; i < texts.size(); ++i) {
        std::fprintf(f, "%s\n {\"tokens\": %d, \"text\": \"%s\", \"ids\": [", i ? "," : "", o.tokens[i],
                     json_escape(texts[i]).c_str());
        for (size_t k = 0; k < ids[i].size(); ++k) std::fprintf(f, "%s%d", k ? ", " : "", ids[i][k]);
        std::fprintf(f, "]}");
      }
      std::fprintf(f, "\n]\n");
      std::fclose(f);
    }

    if (!o.memory.empty()) {
      // One ig call (what `ig` times) on the first length, 1 thread: the peak before and after.
      set_num_threads(1);
      const double before = peak_memory_mb();
      ExplainRequest r;
      r.method = "integrated-gradients";
      r.options = {{"steps", std::to_string(kSteps)}, {"batch-size", std::to_string(kSteps)},
                   {"adaptive", "false"}, {"baseline", "zero"}};
      const auto t0 = Clock::now();
      explain(model, tok, texts[0], r);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      const double after = peak_memory_mb();
      std::printf("memory: ig (steps %d, batch %d), %d tokens, 1 thread: peak %.1f MB (%.1f MB before the call, "
                  "+%.1f MB), %.3f s\n",
                  kSteps, kSteps, o.tokens[0], after, before, after - before, s);
      FILE* mf = std::fopen(o.memory.c_str(), "a");
      if (!mf) throw Error("explain_bench: cannot open " + o.memory + " for appending");
      std::fprintf(mf,
                   "{\"bench\":\"memory\",\"platform\":\"%s\",\"impl\":\"%s\",\"case\":\"ig%d t%d\","
                   "\"threads\":1,\"metric\":\"peak_mb\",\"value\":%.2f,\"before_mb\":%.2f,\"added_mb\":%.2f,"
                   "\"what\":\"%s\",\"seconds\":%.4g,\"model\":\"%s\"}\n",
                   kPlatform, kImpl, kSteps, o.tokens[0], after, before, after - before,
#ifdef __EMSCRIPTEN__
                   "wasm linear memory",
#else
                   "peak resident set (getrusage)",
#endif
                   s, json_escape(o.model).c_str());
      std::fclose(mf);
      return 0;
    }

    std::printf("%-10s %7s %7s %12s %10s   %s\n", "measure", "tokens", "threads", "seconds", "GFLOP/s", "check");
    for (int threads : o.threads) {
      set_num_threads(threads);
      if (num_threads() != threads) {
        std::printf("(this build runs %d thread(s); %d threads skipped)\n", num_threads(), threads);
        continue;
      }
      for (size_t c = 0; c < texts.size(); ++c) {
        const std::string& text = texts[c];
        const int T = o.tokens[c];
        const double fwd = forward_flops(cfg, T);
        std::vector<Measure> ms;
        auto ig_call = [&](int batch) {
          return [&, batch]() {
            ExplainRequest r;
            r.method = "integrated-gradients";
            // adaptive=false: exactly kSteps points (the adaptive default would go on to 2 kSteps
            // when the gap is over its tolerance); baseline=zero (transformers default to unk):
            // the computation torch_ig.py times.
            r.options = {{"steps", std::to_string(kSteps)}, {"batch-size", std::to_string(batch)},
                         {"adaptive", "false"}, {"baseline", "zero"}};
            r.device = o.device;
            const Explanation e = explain(model, tok, text, r);
            if (on_device && e.device.rfind("vulkan", 0) != 0) throw Error("explain_bench: ran on " + e.device);
            char buf[160];
            std::snprintf(buf, sizeof buf, "\"completeness_gap\":%.3g,\"logit\":%.6g,\"evaluations\":%lld",
                          e.checks.at(0).value, e.prediction.explained_value,
                          static_cast<long long>(e.model_evaluations));
            return std::string(buf);
          };
        };
        ms.emplace_back("ig", ig_call(kSteps), false, (3 + 2.0 * kSteps) * fwd);
        if (default_batch != std::to_string(kSteps))
          ms.emplace_back("ig-default", ig_call(std::atoi(default_batch.c_str())), false, (3 + 2.0 * kSteps) * fwd);
        const std::vector<int32_t>& seq = ids[c];
        if (!on_device)
        ms.emplace_back("forward",
                      [&]() {
                        TokenBatch b;
                        b.B = 1;
                        b.T = static_cast<int>(seq.size());
                        b.ids = seq;
                        b.mask.assign(seq.size(), 1);
                        std::vector<float> emb(seq.size() * static_cast<size_t>(model.embedding_dim()));
                        model.embed(b, emb.data());
                        Graph<float> g;
                        Var x = g.input(Shape{1, b.T, model.embedding_dim()}, emb.data(), false);
                        Var y = model.forward(g, x, b);
                        char buf[64];
                        std::snprintf(buf, sizeof buf, "\"logit0\":%.6g", g.value(y)[0]);
                        return std::string(buf);
                      },
                      true, fwd);
        ms.emplace_back("lrp",
                      [&]() {
                        ExplainRequest r;
                        r.method = "lrp";
                        r.device = o.device;
                        const Explanation e = explain(model, tok, text, r);
                        char buf[96];
                        std::snprintf(buf, sizeof buf, "\"conservation_gap\":%.3g", e.checks.at(0).value);
                        return std::string(buf);
                      },
                      true, 2 * fwd);
        if (!o.measures.empty())
          ms.erase(std::remove_if(ms.begin(), ms.end(),
                                  [&](const Measure& m) {
                                    return std::find(o.measures.begin(), o.measures.end(), m.name) ==
                                           o.measures.end();
                                  }),
                   ms.end());
        // Warm-up; short calls get a count of calls lasting ~50 ms.
        for (Measure& m : ms) {
          const auto t0 = Clock::now();
          m.note = m.call();
          const double s = std::chrono::duration<double>(Clock::now() - t0).count();
          if (m.short_call) m.calls = std::max(1L, std::min(1000L, static_cast<long>(0.05 / std::max(s, 1e-6))));
        }
        for (int r = 0; r < o.repeats; ++r)
          for (Measure& m : ms) {
            const auto t0 = Clock::now();
            for (long k = 0; k < m.calls; ++k) m.call();
            m.times.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / m.calls);
          }
        for (const Measure& m : ms) {
          const double s = median(m.times);
          const double gflops = m.flops / s / 1e9;
          std::printf("%-10s %7d %7d %12.5f %10.2f   %s\n", m.name.c_str(), T, threads, s, gflops, m.note.c_str());
          if (out)
            std::fprintf(out,
                         "{\"bench\":\"explain\",\"platform\":\"%s\",\"impl\":\"%s\",\"threads\":%d,"
                         "\"case\":\"%s t%d\",\"measure\":\"%s\",\"tokens\":%d,\"seconds\":%.6g,"
                         "\"metric\":\"seconds\",\"value\":%.6g,\"unit\":\"s\",\"gflop\":%.4g,\"gflops\":%.4g,"
                         "\"steps\":%d,\"batch_size\":%s,\"repeats\":%d,\"calls_per_repeat\":%ld,"
                         "\"min_seconds\":%.6g,\"model\":\"%s\",\"fast_path\":\"%s\"%s%s}\n",
                         on_device ? "vulkan" : kPlatform, impl.c_str(), threads, m.name.c_str(), T, m.name.c_str(), T, s, s, m.flops / 1e9,
                         gflops, kSteps,
                         m.name == "ig" ? std::to_string(kSteps).c_str()
                                        : (m.name == "ig-default" ? default_batch.c_str() : "null"),
                         o.repeats, m.calls, *std::min_element(m.times.begin(), m.times.end()),
                         json_escape(o.model).c_str(), gemm_fast_name(), m.note.empty() ? "" : ",",
                         m.note.c_str());
        }
        std::fflush(stdout);
        if (out) std::fflush(out);
        if (!o.profile.empty()) {
          // One call of each, profiled, after the timing (so warm): the time per op kind.
          FILE* pf = std::fopen(o.profile.c_str(), "a");
          if (!pf) throw Error("explain_bench: cannot open " + o.profile + " for appending");
          for (const Measure& m : ms) {
            if (m.name != "forward" && m.name != "ig") continue;
            op_profile_reset();
            op_profile_enable(true);
            const auto t0 = Clock::now();
            m.call();
            const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
            op_profile_enable(false);
            char extra[512];
            std::snprintf(extra, sizeof extra,
                          ",\"bench\":\"op_profile\",\"platform\":\"%s\",\"impl\":\"%s\",\"measure\":\"%s\","
                          "\"tokens\":%d,\"threads\":%d,\"wall_seconds\":%.6g,\"model_gflop\":%.6g,"
                          "\"model\":\"%s\",\"fast_path\":\"%s\"",
                          kPlatform, impl.c_str(), m.name.c_str(), T, threads, wall, m.flops / 1e9,
                          json_escape(o.model).c_str(), gemm_fast_name());
            std::fputs(op_profile_json_lines(extra).c_str(), pf);
            std::printf("-- profile of one %s call, %d tokens, %d thread(s): %.4f s wall\n%s", m.name.c_str(), T,
                        threads, wall, op_profile_table().c_str());
          }
          std::fclose(pf);
          std::fflush(stdout);
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "explain_bench: %s\n", e.what());
    if (out) std::fclose(out);
    return 1;
  }
  set_num_threads(1);
  if (out) std::fclose(out);
  return 0;
}
