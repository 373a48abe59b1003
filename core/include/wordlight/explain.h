#pragma once
// Explanations: for a text and a classifier, how much each word pushed the
// score of one class. Every method is an entry of one registry (stable
// name, one-line description, typed options with defaults and ranges) and
// gives a result of one shape (Explanation): the prediction, per-token
// scores, per-word scores merged back onto the user's text with byte
// offsets, the method's own check, the number of model evaluations and the
// time taken.
//
//   const MethodInfo& m = method_info("integrated-gradients");   // options, defaults, ranges
//   ExplainRequest r;
//   r.method = "integrated-gradients";
//   r.options = parse_option_list("steps=64,rule=gauss-legendre");
//   Explanation e = explain(model, tokenizer, "a gripping , funny film", r);
//   e.words[i].score, e.words[i].span (bytes into the text), e.checks[0].value
//
// What is explained ("the output"): the target class's logit (default) or
// its softmax probability (option output=probability); the target is any
// class (ExplainRequest::target), by default the predicted one.
//
// Scores of the gradient family, per token t (x_t: its word embedding, D dims):
//   gradient           g_t . x_t / |x_t|  (g_t = df/dx_t; signed: the
//                      derivative along the word's own embedding direction;
//                      option reduce=sum gives sum_d df/dx_td, which is
//                      identically 0 on transformers, LayerNorm being
//                      invariant to a constant added to every dimension;
//                      reduce=l2 gives |g_t|)
//   saliency           sum_d (df/dx_td)^2               (sensitivity analysis,
//                                                        Arras et al. 2016/2017)
//   gradient-x-input   sum_d x_td df/dx_td
//   integrated-gradients  sum_d (x_td - b_td) * integral_0^1 df/dx_td(b + a (x - b)) da
//   smoothgrad         mean_s df/dx_t(x + n_s), reduced per token as by
//                      gradient (n_s Gaussian noise)
//   smoothgrad-squared sum_d mean_s (df/dx_td(x + n_s))^2
//   occlusion          f(x) - f(x with the word occluded), per word
//   integrated-hessians  the interaction matrix Gamma (Janizek et al. 2021)
//                      over tokens and words (Explanation::token_interactions,
//                      word_interactions); token score = row sum = IG
//                      attribution (see integrated_hessians below)
//   lrp                sum_d R_td, the layer-wise relevance reaching the word
//                      embedding (core/src/explain/lrp_method.cpp: CNN epsilon / z+ /
//                      alpha-beta, BiLSTM after Arras et al. 2017, transformers
//                      AttnLRP or CP-LRP); check conservation-gap
// Word scores merge the scores of a word's sub-word tokens (option merge:
// sum, mean or max-abs, the token score of largest magnitude with its sign).
// Special tokens ([CLS], [SEP], <s>, </s>) have token scores but belong to
// no word. Occlusion is word-level: its word scores are computed directly
// and its token scores are the word's score shared evenly by its tokens.
//
// Baselines of the path methods (option baseline) replace the embeddings of
// the text's tokens only; special tokens keep theirs (so they get no
// attribution, and IG's completeness is over the text's tokens):
//   zero          all-zero embeddings
//   pad/mask/unk  the [PAD] / [MASK] / <unk> token's embedding at every position
//   random-words  expected gradients: IG averaged over baseline-samples
//                 baselines of random vocabulary words (seeded)
//
// Long-running methods report progress (done, total, in model evaluations)
// and check a cancel flag between batches; cancelling throws Cancelled.
//
// Adding a method: one file in core/src/explain, one row in the registry
// table (registry.cpp), and its tests. LRP and neuron/layer relevance (part
// 2) fit the same shape: a method computes token scores (and may fill
// Explanation::layers) and its check (LRP's conservation gap).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

// ------------------------------------------------------------------ registry
enum class OptionType { integer, number, boolean, choice };
const char* option_type_name(OptionType t);  // "integer", "number", "boolean", "choice"

struct OptionSpec {
  std::string name;  // e.g. "steps"
  OptionType type = OptionType::integer;
  std::string default_value;         // as text, e.g. "32", "0.1", "true", "trapezoid"
  double min = 0, max = 0;           // integer / number: the valid range, inclusive
  std::vector<std::string> choices;  // choice: the valid values
  std::string description;           // one line
  // Architecture groups ("cnn", "bilstm", "transformer": architecture_group())
  // the option applies to; empty: every one. An option given explicitly
  // for a model it does not apply to is an error.
  std::vector<std::string> applies_to;
  // Per architecture group: the choices that apply there (a subset of
  // `choices`; empty: all) and the default there (empty: default_value).
  struct PerArchitecture {
    std::vector<std::string> choices;
    std::string default_value;
  };
  std::map<std::string, PerArchitecture> by_architecture;
};

struct MethodInfo {
  std::string name;                 // stable: "gradient", "integrated-gradients", ...
  std::string description;          // one line, for the page and `wordlight explain --list`
  std::vector<OptionSpec> options;  // the method's own, then the common ones (output, merge)
  bool word_level = false;          // scores computed per word (occlusion)
  std::string check;                // name of the method's own check ("completeness-gap"), or ""
  // The facts every view, export and report reads (so that nothing is drawn
  // as what it is not):
  std::string title;                // display name: "Integrated Gradients"
  // Signed scores (evidence for / against the explained output) or
  // magnitudes (importance, never negative: a sequential scale, no
  // for/against). `unsigned_when` lists option values that make a signed
  // method's scores magnitudes (gradient with reduce=l2).
  bool signed_scores = true;
  std::map<std::string, std::string> unsigned_when;
  // What is explained: "output" (the target class's logit or probability),
  // "neuron" (one neuron, neuron-relevance) or "layers" (the output's
  // relevance at every layer, layer-relevance).
  std::string explains = "output";
  std::vector<std::string> applies_to;  // architecture groups; empty: every one
  std::string cost;                     // one line: what one explanation costs, in model passes
  // A learned part the model must carry (Model::parts()) for the method to
  // apply: "diffmask" (probes trained for the model's weights, the files
  // diffmask.safetensors + diffmask.json next to it), "vmask" (the mask
  // layer a VMASK model's config declares); "": none. `part_hint` says how
  // to get it, for the reason method_applies() gives where it is missing.
  std::string requires_part;
  std::string part_hint;
};

// The architecture group of a model for the registry's facts: "cnn",
// "bilstm", "transformer" (BERT, DistilBERT, RoBERTa) or "decoder" (GPT-2).
std::string architecture_group(const ModelConfig& config);

// Every method, in a stable order.
const std::vector<MethodInfo>& explanation_methods();
// Throws Error naming the unknown method and listing the known ones.
const MethodInfo& method_info(const std::string& name);

// Option values by name, as text.
using MethodOptions = std::map<std::string, std::string>;
// Checks `given` against the method's options (unknown name, wrong type,
// out of range, not a valid choice: Error with a clear message) and returns
// every option of the method with its value, defaults filled in, in a
// canonical spelling (numbers re-printed, booleans "true"/"false").
MethodOptions resolve_options(const std::string& method, const MethodOptions& given);
// The same check against any list of option specs (a counterfactual
// generator's too); `owner` names them in the errors.
MethodOptions resolve_option_specs(const std::string& owner, const std::vector<OptionSpec>& specs,
                                   const MethodOptions& given);
// The same for a model of an architecture group: its defaults and choices
// (OptionSpec::by_architecture), and an option given explicitly that does
// not apply to the group is an error. Options that do not apply keep their
// general default in the result (the method reads them but ignores them).
MethodOptions resolve_options(const std::string& method, const MethodOptions& given, const std::string& architecture);
// Whether a method applies to an architecture group; when not, *why says so.
// (Learned parts are not considered: the overload for a model does.)
bool method_applies(const MethodInfo& m, const std::string& architecture, std::string* why = nullptr);
// Whether a method applies to a loaded model: its architecture group and,
// for a method that requires a learned part (MethodInfo::requires_part),
// whether the model carries it; when not, *why says so ("diffmask needs a
// DiffMask file trained for this model: wordlight train-diffmask ...", or
// why the part's file was refused).
bool method_applies(const MethodInfo& m, const Model& model, std::string* why = nullptr);
// Whether the scores of a method run with these (resolved) options are signed.
bool scores_are_signed(const MethodInfo& m, const MethodOptions& resolved);
// "k=v,k=v" -> {k: v, ...}; throws on an entry without '=' or a repeated key.
MethodOptions parse_option_list(const std::string& list);

// ------------------------------------------------------------------ result
struct Prediction {
  int label = -1;                    // arg-max class
  std::string label_name;            // config id2label
  std::vector<float> logits;         // (num_labels)
  std::vector<float> probabilities;  // softmax of the logits (multi-label: each its sigmoid)
  bool multi_label = false;          // config problem_type multi_label_classification: the labels are
                                     // independent (each its own probability; several can be above 0.5)
  int target = -1;                   // the class explained
  std::string target_name;
  std::string output = "logit";  // "logit" or "probability"
  double explained_value = 0;    // the target's logit or probability
};

struct TokenScore {
  std::string token;  // vocabulary string ("##ing", "Ġworld", "[CLS]")
  int32_t id = 0;
  Span span;          // bytes into the text; empty for special tokens
  int32_t word = -1;  // index into Explanation::words; -1 for special tokens
  bool special = false;
  bool unknown = false;  // the tokenizer's unknown token: the model did not read what the user typed here
  double score = 0;
};

// input-marginalization: one of the words the masked LM proposed in a
// word's place.
struct WordCandidate {
  std::string text;          // the candidate word (the masked LM's vocabulary entry)
  double weight = 0;         // its share of the marginalization (probability renormalised over the kept candidates)
  double probability = 0;    // the masked LM's probability
  double output = 0;         // the class's probability with the candidate in the word's place
};

struct WordScore {
  std::string text;  // the text's bytes [span.begin, span.end)
  Span span;
  double score = 0;
  std::vector<int32_t> tokens;  // indices into Explanation::tokens
  bool unknown = false;         // one of its tokens is the unknown token: not read by the model as typed
  double standard_error = -1;   // sampling estimators (shapley-sampling): the score's standard error; -1: none
  std::vector<WordCandidate> candidates;  // input-marginalization: the top candidates, most probable first
};

// What of the text the model did not read: words mapped to the unknown
// token, and words past the truncation (not in Explanation::words).
struct Unread {
  int words = 0;            // words read (Explanation::words)
  int unknown_words = 0;    // of which mapped (wholly or partly) to the unknown token
  int truncated_words = 0;  // words past the truncation
  int64_t truncated_from = -1;  // byte of the text where the unread tail starts; -1: nothing cut
  double share = 0;         // (unknown_words + truncated_words) / (words + truncated_words)
};

// How an adaptive path method (IG, Integrated Hessians) converged: steps
// doubled until both the completeness gap and the change of the scores
// from the previous (half as many) steps were below the tolerance, or
// max-steps was reached.
struct Convergence {
  bool present = false;   // the method reports convergence
  bool adaptive = false;  // steps were grown (option adaptive=true)
  int steps = 0;          // steps of the result
  double gap = 0;         // relative completeness gap at `steps`
  double change = -1;     // max |scores(steps) - scores(steps / 2)| / max |scores(steps)|; -1: not measured
  double tolerance = 0;
  bool converged = false;
  std::vector<int> tried;  // the step counts run, in order
};

// Integrated Gradients' integrand, for pictures: the explained output at
// each quadrature point of the result's rule (averaged over the baselines).
struct PathSamples {
  std::vector<double> alphas, weights, f;
  double f_baseline = 0, f_input = 0;
};

// A method's own check of its scores.
struct ExplanationCheck {
  std::string name;         // "completeness-gap"
  double value = 0;         // e.g. sum of scores - (f(x) - f(baseline))
  double reference = 0;     // what it is relative to (|f(x) - f(baseline)|)
  double relative = 0;      // |value| / |reference| (0 when the reference is 0)
  std::string description;  // one line
};

// One neuron (channel) of a layer and its relevance summed over positions.
struct NeuronScore {
  int index = 0;
  double score = 0;
};

// Relevance at one layer (layer-relevance): the row over the tokens,
// normalised as the method's `normalise` option says (empty for a layer
// without token positions), the layer's total relevance before
// normalisation, its width and its most relevant neurons by |score|.
struct LayerScores {
  std::string layer;
  std::vector<double> token_scores;
  double total = 0;
  int neurons = 0;
  std::vector<NeuronScore> top_neurons;
  // mode=lrp: the relevance absorbed by the ops between the previous
  // layer (the input, for the first) and this one (biases, LayerNorm
  // shifts, softmaxes, epsilon, position and token-type embeddings): on a
  // chain of layers, total = previous layer's total + absorbed.
  double absorbed = 0;
};

struct Explanation {
  std::string method;
  MethodOptions options;  // every option with its value (resolve_options)
  bool signed_scores = true;      // false: magnitudes (importance), never for/against
  std::string explains = "output";  // MethodInfo::explains
  std::string title;              // what the result answers: "Why 'positive'?", "What drives layer.3 neuron 17?"
  std::string text;
  Prediction prediction;
  std::vector<TokenScore> tokens;
  std::vector<WordScore> words;
  std::vector<ExplanationCheck> checks;
  std::vector<LayerScores> layers;  // layer-relevance: one entry per layer, input first
  std::string unit;                 // neuron-relevance: the neuron explained ("layer.3 neuron 17 (all positions)")
  // integrated-hessians: the interaction matrices Gamma, row-major, empty
  // for other methods. tokens x tokens (special tokens' rows and columns
  // 0) and words x words, the word matrix merged from the token one as the
  // word scores are (option merge: sum, mean or max-abs over the block of
  // the two words' tokens). Row i sums to token i's score.
  std::vector<double> token_interactions;  // (tokens.size(), tokens.size())
  std::vector<double> word_interactions;   // (words.size(), words.size())
  int64_t model_evaluations = 0;    // examples run through the model (forward, with or without backward)
  double seconds = 0;
  bool truncated = false;  // the text did not fit the model; `notice` says so
  std::string notice;
  // Where the model's passes ran (ExplainRequest::device): "cpu", a Vulkan
  // device ("vulkan:0 (NVIDIA H100 ...)", with the ops that ran on the CPU
  // for their node, if any), or "cpu (auto: <why the device did not serve>)".
  std::string device = "cpu";
  Unread unread;
  Convergence convergence;  // integrated-gradients, integrated-hessians
  PathSamples path;         // integrated-gradients
};

// ------------------------------------------------------------------ running
class Cancelled : public Error {
 public:
  Cancelled() : Error("explanation cancelled") {}
};

struct ExplainControl {
  // done / total model evaluations, called after each batch.
  std::function<void(int64_t done, int64_t total)> progress;
  // Checked between batches: when set, explain() throws Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct ExplainRequest {
  std::string method = "gradient";
  MethodOptions options;  // checked by resolve_options
  int target = -1;        // class to explain; -1: the predicted one
  int max_length = -1;    // tokens, special ones included; -1: the tokenizer's maximum
  ExplainControl control;
  // input-marginalization: the masked language model proposing the
  // candidates, with its tokenizer (not owned; the others ignore them).
  const Model* masked_lm = nullptr;
  const Tokenizer* masked_lm_tokenizer = nullptr;
  // Where the model runs (gpu::parse_device: cpu, vulkan, vulkan:N, auto).
  // On a Vulkan device the passes that go through the explained output
  // (the batched forwards and backwards of gradient, integrated-gradients,
  // smoothgrad, occlusion and the perturbation methods, and LRP's backward
  // mode) run there (wordlight/device_tape.h); layer and neuron relevance
  // and Integrated Hessians' tangents run on the CPU from the device's
  // values. A device error (none there, out of device memory, a failing
  // call) is an Error naming the device; only auto then runs on the CPU.
  std::string device = "cpu";
};

// Explains a sequence classifier's prediction on `text`. Throws Error for a
// masked-LM head, an unknown method or option, a target out of range, or a
// text without tokens.
Explanation explain(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                    const ExplainRequest& request);

// The same for a text already encoded (enc: ids, tokens, offsets into
// `text` and words, as Tokenizer::encode gives them); explaining a
// generated sequence uses it with the ids the model generated.
Explanation explain_encoded(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                            const Encoding& enc, const ExplainRequest& request);

// A label name (id2label) or a class id -> the class id; throws naming the
// labels when it is neither.
int parse_target(const ModelConfig& config, const std::string& label_or_id);

// The result as JSON text (what the CLI's --json prints and the JS API returns).
std::string explanation_to_json(const Explanation& e, int indent = -1);
// The registry as JSON (the JS API's methods()): [{"name", "description",
// "word_level", "check", "options": [{"name", "type", "default" (typed),
// "min", "max" (integer / number), "choices" (choice), "description"}]}].
std::string explanation_methods_to_json(int indent = -1);
// The registry resolved for one architecture group (a loaded model): each
// method with "applicable" (and "why" when not), only the options that
// apply, with the group's choices and default.
std::string explanation_methods_to_json(const std::string& architecture, int indent = -1);
// The same for a loaded model: its architecture group and its learned
// parts ("applicable" false, with "why", for a method whose part it lacks).
std::string explanation_methods_to_json(const Model& model, int indent = -1);
// A JSON object of option values ({"steps": 32, "baseline": "zero",
// "smooth": true}) -> MethodOptions (numbers, booleans and strings as text);
// throws Error on anything else (not an object, nested values, null).
MethodOptions parse_option_json(const std::string& json_text);

// Per-word scores from per-token scores: words[i].score merges the scores of
// words[i].tokens by `rule` ("sum", "mean", "max-abs").
void merge_word_scores(const std::vector<TokenScore>& tokens, std::vector<WordScore>& words, const std::string& rule);
// The words of an encoding with their tokens (score 0), for merge_word_scores.
std::vector<WordScore> words_of(const Encoding& enc, const std::string& text);

// ------------------------------------------------------------------ building blocks
// A scalar function of N points at once, each of n values: x (N, n) ->
// out (N) and, when grad is not null, grad (N, n) = d out_i / d x_i. The
// model's target output as a function of the word embeddings is one; tests
// use analytic ones.
using BatchFunction = std::function<void(int N, const float* x, double* out, float* grad)>;

enum class IgRule { left, right, midpoint, trapezoid, gauss_legendre };
IgRule parse_ig_rule(const std::string& name);  // "left", ..., "gauss-legendre"

// Points a_k in [0, 1] and weights w_k with sum_k w_k g(a_k) ~ integral_0^1 g.
// `steps` is the number of points (gradient evaluations) for every rule;
// trapezoid needs at least 2.
struct Quadrature {
  std::vector<double> alphas, weights;
};
Quadrature ig_quadrature(IgRule rule, int steps);

struct IgResult {
  std::vector<double> attributions;  // (n): (x - b) * weighted mean gradient
  double f_input = 0, f_baseline = 0;
  double gap = 0;  // sum(attributions) - (f_input - f_baseline)
  int64_t evaluations = 0;
};
// Integrated Gradients of f from baseline to input (n values each), the
// path points run through f in batches of at most batch_size. Progress is
// reported in evaluations of f on top of `progress_offset`, out of
// `progress_total` (0: this call's own total).
IgResult integrated_gradients(const BatchFunction& f, int64_t n, const float* input, const float* baseline, IgRule rule,
                              int steps, int batch_size, const ExplainControl& control = {},
                              int64_t progress_offset = 0, int64_t progress_total = 0);

// ---- Integrated Hessians (Janizek, Sturmfels & Lee, JMLR 2021), features
// grouped (for text: the embedding dims of one token), Delta = x - x':
//   Gamma_IJ = sum_{i in I, j in J} Delta_i Delta_j int_0^1 int_0^1 a b d2f/dx_i dx_j (x' + a b Delta) da db
//            + [I == J] sum_{i in I} Delta_i int_0^1 int_0^1 df/dx_i (x' + a b Delta) da db
// Row I sums to IG_I (IG of IG_I, whose value at x' is 0), so the matrix sums
// to f(x) - f(x'). The integrands depend on a and b only through t = a b,
// whose density on [0, 1] is -ln t: the two terms are single integrals
//   int_0^1 g(t) (-ln t) dt  (first order)   int_0^1 h(t) (-t ln t) dt  (second order).
// f with exact Hessian-vector products at N points at once: x (N, n); V
// (K, n) directions shared by every point -> out (N), grad (N, n),
// hv (K, N, n) = H f(x_p) V_k. With K = 0, V and hv are null (gradient
// only); grad may be null when hv is too.
using BatchHvpFunction =
    std::function<void(int N, const float* x, int K, const float* V, double* out, float* grad, float* hv)>;

// gauss: Gauss rules for the weights -ln t (gradient points) and -t ln t
// (Hessian points), `steps` points each (exact for polynomials of degree
// 2 steps - 1); riemann: the paper's grid, a midpoint rule over (a, b) with
// m = round(sqrt(steps)) points per axis (products a b that coincide are
// evaluated once); monte-carlo: `steps` pairs (a, b) drawn uniformly
// (seeded), as path_explain's expected-Hessians sampling.
enum class IhRule { gauss, riemann, monte_carlo };
IhRule parse_ih_rule(const std::string& name);  // "gauss", "riemann", "monte-carlo"

// Gauss rule with n points for the weight t^power (-ln t) on [0, 1]
// (power 0 or 1): sum_k w_k g(t_k) ~ int_0^1 g(t) t^power (-ln t) dt, exact
// for polynomials g of degree 2n - 1. Golub-Welsch on the recurrence that a
// Stieltjes procedure gives from a discrete measure with the same moments
// (a product Gauss-Legendre rule in (a, b)), in double.
Quadrature log_weight_gauss(int n, int power);

// The path points of a rule: at t, the gradient is weighted by w_first
// (first-order term) and the Hessian-vector products by w_second (0: no
// Hessian needed there).
struct IhPathPoint {
  double t = 0, w_first = 0, w_second = 0;
};
std::vector<IhPathPoint> ih_path_points(IhRule rule, int steps, uint64_t seed);

struct IhOptions {
  IhRule rule = IhRule::gauss;
  int steps = 16;
  int batch_size = 8;      // path points per pass
  int max_directions = 0;  // directions per pass (0: all groups at once); more passes cost more forwards
  uint64_t seed = 1;       // monte-carlo
};

struct IhResult {
  int groups = 0;
  std::vector<double> interactions;  // (groups, groups): Gamma_IJ
  std::vector<double> row_sums;      // (groups): the IG attributions up to the quadrature error
  double f_input = 0, f_baseline = 0;
  double gap = 0;                 // sum of the matrix - (f_input - f_baseline)
  int64_t evaluations = 0;        // points run through f (ends, gradient and Hessian points)
  int64_t hessian_points = 0;     // of which with Hessian-vector products
};
// group: n entries, the group of each feature in [0, groups) or -1 (not
// explained: no direction, no row). Progress is reported in evaluations on
// top of progress_offset out of progress_total (0: this call's own total).
IhResult integrated_hessians(const BatchHvpFunction& f, int64_t n, const float* input, const float* baseline,
                             const std::vector<int32_t>& group, int groups, const IhOptions& options,
                             const ExplainControl& control = {}, int64_t progress_offset = 0,
                             int64_t progress_total = 0);
// Evaluations integrated_hessians() makes for these options (for progress totals).
int64_t ih_evaluations(const IhOptions& options);

}  // namespace wordlight
