#pragma once
// What the method files of core/src/explain share: option access, the
// model's explained output as a function of the word embeddings
// (ModelTarget), baselines, and the method table's entry type.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "wordlight/explain.h"
#include "wordlight/graph.h"

namespace wordlight::gpu {
class DeviceTape;
}

namespace wordlight::explain_detail {

// Options after resolve_options: every option present, values valid.
class ResolvedOptions {
 public:
  ResolvedOptions(std::string method, MethodOptions values) : method_(std::move(method)), v_(std::move(values)) {}
  const std::string& str(const std::string& name) const;
  long long integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const MethodOptions& all() const { return v_; }

 private:
  std::string method_;
  MethodOptions v_;
};

// The target output (a logit or a probability) of a classifier on one
// text, as a function of the text's word embeddings (T, D), and of token
// sequences. Construction runs the model once on the text (the prediction)
// and keeps that graph, so the gradient at the input costs no second
// forward pass.
class ModelTarget {
 public:
  // tape: run the model's passes on that device (device_tape.h); null: the CPU.
  ModelTarget(const Model& model, const Encoding& enc, int target, bool probability, const ExplainControl& control,
              gpu::DeviceTape* tape = nullptr);

  const Model& model() const { return model_; }
  int T() const { return T_; }
  int D() const { return D_; }
  const std::vector<int32_t>& ids() const { return ids_; }
  const std::vector<float>& embeddings() const { return emb_; }  // (T, D) of the text
  const Prediction& prediction() const { return pred_; }
  double f_input() const { return pred_.explained_value; }

  // d f / d embeddings at the text (T * D), from the prediction's graph.
  const std::vector<float>& input_gradient();
  // f at N points x (N, T, D), each the text's tokens with other embeddings;
  // grad (N, T, D) when not null.
  void eval(int N, const float* x, double* out, float* grad);
  BatchFunction function() {
    return [this](int N, const float* x, double* out, float* grad) { eval(N, x, out, grad); };
  }
  // f on token sequences of any lengths (each a whole encoding, special
  // tokens included), padded into one batch. An empty sequence is run as a
  // single padding token.
  void eval_ids(const std::vector<std::vector<int32_t>>& seqs, double* out);
  // Word embeddings (T, D) of a token sequence of the text's length.
  std::vector<float> embed_ids(const std::vector<int32_t>& ids) const;

  int64_t evaluations() const { return evaluations_; }
  // Methods that run the model on graphs of their own count those examples here.
  void add_evaluations(int64_t n) { evaluations_ += n; }

  // The prediction's graph, its input (1, T, D) and the explained output,
  // for methods that run their own backward pass on it (LRP). Such a pass
  // overwrites the graph's gradients; input_gradient() redoes its own.
  // On a device, the graph's values are brought to the host first.
  Graph<float>& prediction_graph();
  // LRP's backward mode on the prediction's graph (on the device, if the
  // target has one): the modified gradient at the input (T * D; null when
  // none reached it), with the absorbed records appended when asked.
  const float* lrp_input_gradient(const LrpOptions& o, std::vector<LrpAbsorbed>* absorbed);
  Var prediction_input() const { return x0_; }
  Var prediction_output() const { return y0_; }

  // Progress in evaluations: set the total once, then advance after each
  // batch; check_cancel() before each batch throws Cancelled.
  void set_total(int64_t total) { total_ = total; }
  void advance(int64_t n);
  void check_cancel() const;
  const ExplainControl& control() const { return control_; }
  int64_t done() const { return done_; }
  int64_t total() const { return total_; }

 private:
  const Model& model_;
  int T_ = 0, D_ = 0;
  bool probability_ = false;
  std::vector<int32_t> ids_;
  std::vector<float> emb_;
  Prediction pred_;
  Graph<float> g0_;  // the prediction's graph (input requires a gradient)
  Var x0_, y0_;
  std::vector<float> grad0_;
  bool have_grad0_ = false;
  Graph<float> g_;  // reused for batches
  gpu::DeviceTape* tape_ = nullptr;
  int64_t evaluations_ = 0, done_ = 0, total_ = 0;
  const ExplainControl& control_;
};

// Per-token scores from a (T, D) map: sum over the embedding dimensions.
std::vector<double> sum_over_dims(const std::vector<double>& map, int T, int D);
// Per-token signed reading of a gradient map g (T, D) at embeddings x:
// "along-input" g_t . x_t / |x_t|, "sum" sum_d g_td, "l2" |g_t|.
std::vector<double> reduce_gradient(const std::vector<double>& g, const std::vector<float>& x, int T, int D,
                                    const std::string& reduce);
OptionSpec reduce_option();

// Baselines (T, D) for path methods: the text tokens' embeddings replaced
// (zero, pad, mask, unk, random-words), special tokens kept. random-words
// gives `samples` of them, the others one.
std::vector<std::vector<float>> make_baselines(const ModelTarget& t, const Tokenizer& tok, const Encoding& enc,
                                               const std::string& kind, int samples, uint64_t seed);

// Platform-independent random numbers (std::*_distribution differ between
// libstdc++ and libc++, i.e. native and wasm).
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t next() { return g_(); }
  double uniform() { return static_cast<double>(g_() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double normal();                                                                           // Box-Muller
  uint64_t below(uint64_t n) { return g_() % n; }

 private:
  std::mt19937_64 g_;
  bool have_spare_ = false;
  double spare_ = 0;
};

struct MethodContext {
  const Model& model;
  const Tokenizer& tokenizer;
  const Encoding& enc;
  const std::string& text;
  const ResolvedOptions& opts;
  ModelTarget& target;
  const Model* masked_lm = nullptr;  // ExplainRequest::masked_lm
  const Tokenizer* masked_lm_tokenizer = nullptr;
};

// A method sets e.tokens[i].score for every token (and, word-level ones,
// e.words[i].score) and appends its checks.
using MethodFn = void (*)(MethodContext& ctx, Explanation& e);

struct MethodEntry {
  MethodInfo info;  // the method's own options; the common ones are added by the registry
  MethodFn run = nullptr;
};

// The entries of each method file.
std::vector<MethodEntry> gradient_methods();
std::vector<MethodEntry> integrated_gradients_methods();
std::vector<MethodEntry> integrated_hessians_methods();
std::vector<MethodEntry> smoothgrad_methods();
std::vector<MethodEntry> occlusion_methods();
std::vector<MethodEntry> lrp_methods();
std::vector<MethodEntry> layer_relevance_methods();
std::vector<MethodEntry> kernel_shap_methods();
std::vector<MethodEntry> shapley_sampling_methods();
std::vector<MethodEntry> lime_methods();
std::vector<MethodEntry> partition_shap_methods();
std::vector<MethodEntry> input_marginalization_methods();
std::vector<MethodEntry> diffmask_methods();
std::vector<MethodEntry> vmask_methods();

// LRP's absorbed relevance (lrp_method.cpp): the records of Graph::lrp_backward
// summed by kind into checks named "absorbed:<kind>" (biases, epsilon,
// layernorm-shift, softmax, position-embeddings, token-type-embeddings,
// constants, other), each relative to |explained|; with the input tokens'
// relevances they sum to the explained output. When `tokens` (their scores
// set) has special tokens, "absorbed:special-tokens" holds their sum, so
// that the checks with the words' relevances (merge=sum) make it up too.
std::vector<ExplanationCheck> absorbed_checks(const std::vector<LrpAbsorbed>& records, double explained,
                                              const std::vector<TokenScore>& tokens);

// Adaptive path methods: whether a rule's points at the next step count
// (ig_next_steps: 2 n, or 2 n - 1 for the trapezoid) include the current
// ones, and max_i |a_i - b_i| / max(max_i |b_i|, scale_floor).
bool ig_rule_nests(IgRule rule);
int ig_next_steps(IgRule rule, int steps);
double relative_change(const std::vector<double>& a, const std::vector<double>& b, double scale_floor);

// Option spec helpers.
OptionSpec int_option(const std::string& name, long long def, long long min, long long max, const std::string& desc);
OptionSpec num_option(const std::string& name, double def, double min, double max, const std::string& desc);
OptionSpec bool_option(const std::string& name, bool def, const std::string& desc);
OptionSpec choice_option(const std::string& name, const std::string& def, std::vector<std::string> choices,
                         const std::string& desc);

// The LRP rules of one lrp call on the tape (its composite with the options
// that override it; lrp_method.cpp): explain_generation's batched rows use
// them too.
LrpOptions lrp_rules_of(const ResolvedOptions& o, const std::string& architecture);

// Runs run(tape) on the device a request names (ExplainRequest::device):
// a tape on it when one is chosen, else run(nullptr) on the CPU. A device
// error is an Error naming the device ("<who>: device vulkan:0: ..."); only
// auto runs again on the CPU (run(nullptr): run must start afresh). Returns
// where it ran: "cpu", "vulkan:0 (name)[; on the CPU node by node: ops]" or
// "cpu (auto: why)". explain() and explain_generation() share it.
std::string run_on_device(const std::string& device, const std::string& who,
                          const std::function<void(gpu::DeviceTape*)>& run);

}  // namespace wordlight::explain_detail
