#pragma once
// Text generation with a causal language model (GPT2LMHeadModel) and
// explanations of what it generated.
//
//   generate(model, tok, prompt, options)        greedy or sampled decoding on the
//                                                key/value cache (Model::start_decoding)
//   explain_generation(model, tok, gen, request) for each generated token, an
//                                                attribution of its log-probability to
//                                                every earlier token: a target x source
//                                                matrix (inseq's target_attributions)
//
// Nothing here prints; progress and cancelling go through callbacks.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

struct GeneratedToken {
  int32_t id = 0;
  std::string token;  // the vocabulary string ("Ġworld")
  std::string text;   // its bytes as text (" world"); may be part of a character
  double probability = 0;  // under the model (softmax of the logits, temperature 1)
  double logprob = 0;
  double entropy = 0;      // of the model's next-token distribution, in nats
};

struct GenerateOptions {
  int max_new_tokens = 20;
  // Greedy (the most probable token) unless `sample`; sampling draws from
  // softmax(logits / temperature) restricted to the top_k most probable
  // tokens (0: all) and to the smallest set whose probability reaches top_p
  // (1: all), with a generator seeded by `seed` (the same tokens on every
  // platform).
  bool sample = false;
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  // Generation stops after a token in stop_ids (kept in the output), or
  // when the generated text contains one of `stop` strings (the text is
  // cut before it), or at max_new_tokens, or at the model's last position.
  // The model's eos_token_id stops it too unless ignore_eos.
  std::vector<int32_t> stop_ids;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  // Put the model's bos_token_id before the prompt (GPT-2's <|endoftext|>,
  // how the shipped model saw the start of every text in training).
  bool prepend_bos = true;
  // After each token (index from 0, the token with its step scores, as it
  // will stand in Generation::tokens), for streaming; return false to stop.
  std::function<bool(int index, const GeneratedToken& token)> on_token;
  const std::atomic<bool>* cancel = nullptr;  // checked before each token: stops ("cancelled")
};

struct Generation {
  std::string prompt;
  std::vector<int32_t> prompt_ids;  // the BOS token first when prepended
  std::vector<std::string> prompt_tokens;
  std::vector<Span> prompt_spans;   // into the prompt; empty for the BOS token
  bool bos = false;                 // prompt_ids[0] is the prepended BOS token
  std::vector<GeneratedToken> tokens;
  std::string text;        // the generated text (bytes of the tokens, cut at a stop string)
  std::string stopped_by;  // "max_new_tokens", "eos", "stop_id", "stop", "max_positions", "cancelled", "callback"
  double seconds = 0;
  // All ids: prompt then generated.
  std::vector<int32_t> ids() const;
};

// Throws Error for a model without a causal-LM head, an empty prompt (with
// no BOS token to start from), or bad options.
Generation generate(const Model& model, const Tokenizer& tok, const std::string& prompt, const GenerateOptions& o);

// The logits after every position of `ids` by one full forward pass (no
// cache): (T, V). For tests and for checking the cache.
std::vector<float> full_logits(const Model& model, const std::vector<int32_t>& ids);

// A byte-level BPE token's bytes (GPT-2's byte-to-character map undone);
// other tokenizers' tokens as they are.
std::string token_bytes(const Tokenizer& tok, int32_t id);

// ------------------------------------------------------------------ explaining
struct GenerationExplainRequest {
  std::string method = "gradient";
  MethodOptions options;  // the method's options (resolve_options), "output" excepted
  // What each row explains: "log-prob" (log p(token | prefix), default),
  // "logit" (the token's logit; the LRP family's usual target), or, with a
  // contrast token, "prob-diff": p(token | prefix) - p(contrast | prefix)
  // (inseq's contrast_prob_diff).
  std::string score;  // empty: "prob-diff" with a contrast, "logit" for the LRP family, else "log-prob"
  int32_t contrast_id = -1;
  // Generated tokens to explain (indices into Generation::tokens); empty: all.
  std::vector<int> targets;
  std::function<void(int done, int total)> progress;
  const std::atomic<bool>* cancel = nullptr;  // throws Cancelled between rows
  // Rows of the one-backward methods (gradient, saliency, gradient-x-input,
  // lrp on the tape) in batches of target positions; false: one explanation
  // per row (the naive cost; the tests compare the two).
  bool batch_rows = true;
  // Where the passes run, as ExplainRequest::device: cpu, vulkan[:N], or
  // auto (the device when one works, else the CPU, saying why).
  std::string device = "cpu";
};

struct GenerationExplanation {
  std::string method, score;
  MethodOptions options;
  bool signed_scores = true;
  std::vector<std::string> source_tokens;  // prompt then generated (vocabulary strings)
  std::vector<std::string> source_texts;   // their bytes as text
  int prompt_length = 0;                   // sources [0, prompt_length) are the prompt
  bool bos = false;                        // source 0 is the prepended BOS token
  std::vector<int> targets;                // explained generated tokens (indices into Generation::tokens)
  // (targets.size(), source_tokens.size()) row-major: row r is target r's
  // attribution to every source; sources at or after the target's own
  // position are 0 (the model never sees them: lower-triangular).
  std::vector<double> matrix;
  // Per row: the explained value (f(x)), the method's check (relative; -1
  // when the method has none), and the first source token's share of the
  // row's total |attribution| (the BOS / attention-sink effect).
  std::vector<double> explained, check_relative, first_share;
  std::vector<std::string> check_name;
  double mean_first_share = 0;
  int64_t model_evaluations = 0;
  // The one-backward methods (gradient, saliency, gradient-x-input, lrp on
  // the tape): backward passes run (one per row unbatched, one per batch of
  // rows batched); 0 for the others.
  int backward_passes = 0;
  double seconds = 0;
  std::string device = "cpu";  // where the passes ran (as Explanation::device)
};

GenerationExplanation explain_generation(const Model& model, const Tokenizer& tok, const Generation& gen,
                                         const GenerationExplainRequest& request);

// JSON of a generation (with its explanation when not null), as the CLI's
// --json prints and the JS API returns it.
std::string generation_to_json(const Generation& gen, const GenerationExplanation* ex = nullptr, int indent = -1);
// One generated token as in generation_to_json's "tokens" (streaming: the
// JS API's progress carries it while tokens are generated).
std::string generated_token_to_json(const GeneratedToken& token);

}  // namespace wordlight
