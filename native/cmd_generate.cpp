// wordlight generate   text from a causal language model (GPT2LMHeadModel),
//                      optionally each generated token explained over the
//                      earlier tokens (generate.h)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cli.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/gpu.h"
#include "wordlight/generate.h"
#include "wordlight/model_files.h"
#include "wordlight/text_escape.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    const size_t e = std::min(s.find(',', b), s.size());
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

int cmd_generate(const Args& a) {
  const std::string dir = a.need("model");
  GenerateOptions o;
  o.max_new_tokens = static_cast<int>(a.integer("max-new-tokens", 20));
  o.sample = a.has("temperature") || a.has("top-k") || a.has("top-p") || a.has("seed") || a.flag("sample");
  o.temperature = a.num("temperature", 1.0);
  o.top_k = static_cast<int>(a.integer("top-k", 0));
  o.top_p = a.num("top-p", 1.0);
  o.seed = static_cast<uint64_t>(a.integer("seed", 0));
  o.prepend_bos = a.boolean("bos", true);
  o.ignore_eos = a.flag("ignore-eos");
  if (a.has("stop")) o.stop = {a.get("stop")};
  for (const std::string& s : split_list(a.get("stop-ids"))) o.stop_ids.push_back(static_cast<int32_t>(std::stoll(s)));
  const bool json = a.flag("json");
  const bool explain = a.has("explain");
  GenerationExplainRequest er;
  if (explain) {
    er.method = a.get("explain");
    er.options = parse_option_list(a.get("options"));
    er.score = a.get("score");
    resolve_options(er.method, er.options);  // fail before loading the model
    // --device, else WORDLIGHT_DEVICE, else cpu (as explain).
    er.device = a.has("device") ? gpu::parse_device(a.get("device"), "--device").str() : gpu::device_from_env().str();
  } else if (a.has("device")) {
    throw Error("option --device applies to --explain (generation itself runs on the CPU)");
  }
  const LoadedModel loaded = load_model_directory(dir);
  const std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
  if (a.has("contrast")) {
    // A token id, or a text that is one token of the vocabulary.
    const std::string c = a.get("contrast");
    const Encoding enc = tok->encode(c);
    if (!c.empty() && c.find_first_not_of("0123456789") == std::string::npos)
      er.contrast_id = static_cast<int32_t>(std::stoll(c));
    else if (enc.size() == 1)
      er.contrast_id = enc.ids[0];
    else
      throw Error("option --contrast: '" + c + "' is not one token (" + std::to_string(enc.size()) +
                  " tokens); give a token id");
  }
  const bool tty = stderr_is_tty();
  if (!json) {
    o.on_token = [&](int, const GeneratedToken& t) {
      std::printf("%s", terminal_escape(t.text).c_str());
      std::fflush(stdout);
      return true;
    };
    std::printf("%s", terminal_escape(a.get("prompt")).c_str());
  }
  const Generation gen = generate(*model, *tok, a.get("prompt"), o);
  if (!json) {
    std::printf("\n");
    std::fflush(stdout);
  }
  std::fprintf(stderr, "generate: %zu tokens in %.3f s (%.1f ms per token), stopped by %s\n", gen.tokens.size(),
               gen.seconds, gen.tokens.empty() ? 0.0 : 1000 * gen.seconds / static_cast<double>(gen.tokens.size()),
               gen.stopped_by.c_str());
  GenerationExplanation ex;
  if (explain) {
    er.progress = [&](int done, int total) {
      if (tty) std::fprintf(stderr, "\rexplaining: %d/%d tokens\033[K", done, total);
    };
    ex = explain_generation(*model, *tok, gen, er);
    if (tty) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "explain: %s of %s, %zu tokens in %.3f s (%.1f ms per token), first token's share %.3f",
                 terminal_escape(ex.method).c_str(), ex.score.c_str(), ex.targets.size(), ex.seconds,
                 ex.targets.empty() ? 0.0 : 1000 * ex.seconds / static_cast<double>(ex.targets.size()),
                 ex.mean_first_share);
    if (ex.device != "cpu") std::fprintf(stderr, ", device %s", terminal_escape(ex.device).c_str());
    if (ex.backward_passes > 0)
      std::fprintf(stderr, ", %d backward passes%s", ex.backward_passes,
                   static_cast<size_t>(ex.backward_passes) < ex.targets.size() ? " (rows batched)" : "");
    std::fprintf(stderr, "\n");
  }
  if (json) {
    std::printf("%s\n", generation_to_json(gen, explain ? &ex : nullptr).c_str());
  } else if (explain) {
    // Each generated token, then its three strongest sources.
    const size_t S = ex.source_tokens.size();
    for (size_t r = 0; r < ex.targets.size(); ++r) {
      const int pos = ex.prompt_length + ex.targets[r];
      std::vector<int> idx;
      for (int i = 0; i < pos; ++i) idx.push_back(i);
      std::sort(idx.begin(), idx.end(), [&](int x, int y) {
        return std::abs(ex.matrix[r * S + static_cast<size_t>(x)]) > std::abs(ex.matrix[r * S + static_cast<size_t>(y)]);
      });
      std::printf("%-16s p=%.3f ", ("'" + terminal_escape(ex.source_texts[static_cast<size_t>(pos)]) + "'").c_str(),
                  gen.tokens[static_cast<size_t>(ex.targets[r])].probability);
      for (size_t k = 0; k < idx.size() && k < 3; ++k)
        std::printf(" '%s' %+.3f", terminal_escape(ex.source_texts[static_cast<size_t>(idx[k])]).c_str(),
                    ex.matrix[r * S + static_cast<size_t>(idx[k])]);
      if (ex.check_relative[r] >= 0) std::printf("   %s %.2g", ex.check_name[r].c_str(), ex.check_relative[r]);
      std::printf("\n");
    }
  }
  return 0;
}

const RegisterCommand reg_generate(
    {"generate",
     "generate --model DIR --prompt TEXT [--max-new-tokens N (20)] [--sample] [--temperature X]\n"
     "[--top-k N] [--top-p X] [--seed N] [--stop TEXT] [--stop-ids ID,ID] [--ignore-eos] [--bos true|false]\n"
     "[--explain METHOD [--options k=v,k=v] [--score log-prob|logit|prob-diff] [--contrast TOKEN|ID]\n"
     "[--device cpu|vulkan|vulkan:N|auto]] [--json]\n"
     "text from a GPT2LMHeadModel directory on the key/value cache: greedy, or sampled when any\n"
     "of --sample/--temperature/--top-k/--top-p/--seed is given; with --explain, each generated\n"
     "token's log-probability (or --score) attributed to every earlier token by METHOD",
     {"model", "prompt", "max-new-tokens", "temperature", "top-k", "top-p", "seed", "stop", "stop-ids", "bos", "explain",
      "options", "score", "contrast", "device"},
     {"json", "sample", "ignore-eos"}, cmd_generate, 22});

}  // namespace
