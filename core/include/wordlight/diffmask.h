#pragma once
// DiffMask (De Cao, Schlichtkrull, Aziz & Titov, EMNLP 2020, "How do
// decisions emerge across layers in neural models? Interpretation with
// differentiable masking"; nicola-decao/diffmask), the input-attribution
// variant, for the transformer encoders (BERT, DistilBERT, RoBERTa):
//
//   probe i (i = 0 .. L; h_0 the embeddings' output, h_i layer i-1's):
//     log_alpha_i = tanh(wn-Linear(H/4 -> 1)(tanh(wn-Linear(2H -> H/4)([h_0; h_i])))) * 10 + b_i
//     (wn: weight-normed, w = g v / |v| per row; b_i learned, starts at 5:
//     every gate starts at "keep")
//   gate z_i per token: hard concrete (temperature 0.2, stretched to
//     (l, r) = (-0.2, 1.0), clamped to [0, 1]) of log_alpha_i
//   masking at layer l: z = z_0 z_1 ... z_l; the word embeddings become
//     z x + (1 - z) p, p a learned placeholder (starts at [MASK]'s embedding)
//   objective: minimise the expected L0 (P(z != 0) = prod_i P(z_i != 0),
//     averaged over the text's tokens) subject to KL(p(y|x) || p(y|x')) <=
//     eps, by a Lagrangian with one multiplier per layer (gradient ascent,
//     clamped to [0, 200]); the classifier frozen; one layer l per step.
//
// The probes belong to the weights they were trained on: diffmask.json
// holds a hash of the model's weights (diffmask_weights_hash), and loading
// them on another model is refused. The loader (model_files.h) attaches
// them to a model as its learned part "diffmask" (Model::parts()), which
// the `diffmask` explanation method requires.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wordlight/graph.h"
#include "wordlight/model.h"
#include "wordlight/safetensors.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

// ------------------------------------------------------------------ hard concrete
// The stretched, rectified binary concrete of Louizos et al. (2018) with
// location log_alpha: s = sigmoid((log u - log(1 - u) + log_alpha) / beta),
// u ~ U(0, 1); z = clamp(l + (r - l) s, 0, 1).
struct HardConcrete {
  double beta = 0.2;  // temperature
  double l = -0.2, r = 1.0;
};
// z for one uniform draw u in (0, 1).
double hard_concrete_sample(double log_alpha, double u, const HardConcrete& hc = {});
// P(z > 0) = sigmoid(log_alpha - beta log(-l / r)): the expected L0.
double hard_concrete_p_nonzero(double log_alpha, const HardConcrete& hc = {});
// P(z = 0) and P(z = 1) (0 unless r > 1).
double hard_concrete_p_zero(double log_alpha, const HardConcrete& hc = {});
double hard_concrete_p_one(double log_alpha, const HardConcrete& hc = {});
// E[z] = int_0^1 P(z > t) dt (numerical quadrature, in double).
double hard_concrete_mean(double log_alpha, const HardConcrete& hc = {});

// ------------------------------------------------------------------ the probes
struct DiffMaskConfig {
  int layers = 0;        // gates: the embeddings and every encoder layer (num_hidden_layers + 1)
  int hidden_size = 0;   // H
  int probe_hidden = 0;  // H / 4
  HardConcrete gate;
  double max_activation = 10;  // the probe's tanh output is scaled by this
  double eps = 0.1;            // the KL bound it was trained for
  std::string model_hash;      // diffmask_weights_hash of the model it explains
};

// One probe's weights in the layout of the reference implementation
// (torch weight_norm: weight_g (O, 1), weight_v (O, I)).
struct DiffMaskProbe {
  std::vector<float> g1, v1, b1;  // (P, 1), (P, 2H), (P)
  std::vector<float> g2, v2, b2;  // (1, 1), (1, P), (1)
  float bias = 5.f;               // added after the scaled tanh
};

class DiffMask : public ModelPart {
 public:
  DiffMaskConfig config;
  std::vector<DiffMaskProbe> probes;  // config.layers of them
  std::vector<float> placeholder;     // (H)

  // Fresh probes for `model` (PyTorch's Linear initialisation, weight_norm's
  // g = |v|, bias 5, the placeholder = the word embedding of `mask_id`),
  // seeded. Throws for a model that is not a transformer encoder.
  static DiffMask fresh(const Model& model, int32_t mask_id, uint64_t seed);

  // The effective weights w = g v / |v| (rows), for a probe.
  static std::vector<float> weight_normed(const std::vector<float>& g, const std::vector<float>& v, int O, int I);

  // Every tensor, in the file's layout and names ("gate.g_hat.{i}.f.0.weight_v",
  // ..., "gate.placeholder"), pointing into this object.
  std::vector<TensorToWrite> tensors() const;
  // diffmask.json's text (the config; `extra`: a JSON object's members to add,
  // the training record).
  std::string config_json(const std::string& extra_members_json = "") const;
};

// A hash of a model's weights (FNV-1a 64 over every parameter's name, shape
// and values, in Model::parameters() order), as 16 hex digits.
std::string diffmask_weights_hash(Model& model);

// Reads diffmask.safetensors + diffmask.json (bytes) for `model`: the
// shapes must fit the model and the weights hash must be the model's, else
// Error naming `where` and what differs ("... was trained for another
// model (weights hash ...); train one for this model: wordlight
// train-diffmask ...").
std::shared_ptr<DiffMask> read_diffmask(const std::string& safetensors_bytes, const std::string& json_text,
                                        Model& model, const std::string& where);
// The same from a model directory's files DIR/diffmask.safetensors and
// DIR/diffmask.json; and attaching them to the model as its part
// "diffmask".
std::shared_ptr<DiffMask> read_diffmask_files(const std::string& safetensors_path, const std::string& json_path,
                                              Model& model);
void write_diffmask_files(const DiffMask& dm, const std::string& safetensors_path, const std::string& extra_json = "");

// ------------------------------------------------------------------ running them
// The hidden states the probes read: h_0 (the embeddings' output) and each
// encoder layer's output, as the graph's marks after model.forward()
// ("embeddings", "layer.0", ...). Throws naming what is missing.
std::vector<Var> diffmask_hidden_states(const Graph<float>& g, int layers);

// Builds on `g` the log_alpha (B, T, 1) of probes 0 .. last from the hidden
// states. The probes' weights enter as g.input() leaves (with gradients when
// `params` is given: the trainer reads them back), else as constants.
struct DiffMaskLeaves {
  std::vector<Var> w1, b1, w2, b2, bias;  // per probe (w1, w2: the effective weight-normed weights)
  Var placeholder;
};
std::vector<Var> diffmask_log_alphas(Graph<float>& g, const DiffMask& dm, const std::vector<Var>& hidden, int last,
                                     DiffMaskLeaves* params = nullptr);

// For one text (B = 1): keep[i][t] = prod_{j <= i} P(z_j(t) > 0), the
// expected keep probability of token t's input embedding when the decision
// is read at layer i (row 0: the embeddings' gate alone; the last row: all
// gates). Runs the model once.
std::vector<std::vector<double>> diffmask_keep_probabilities(const Model& model, const DiffMask& dm,
                                                             const std::vector<int32_t>& ids);

// ------------------------------------------------------------------ training
struct DiffMaskTrainOptions {
  int batch_size = 32;
  double lr = 3e-4;               // the probes (Adam)
  double lr_placeholder = 1e-3;   // the placeholder (Adam)
  double lr_lambda = 0.3;         // the multipliers (RMSprop ascent, as the reference)
  double eps = 0.1;               // KL bound
  int64_t warmup = 100;           // steps of linear warm-up of the learning rates
  int64_t max_steps = 1000;
  double max_seconds = 0;         // 0: no time bound
  uint64_t seed = 1;
  int log_every = 20;             // on_step is called every so many steps
  int checkpoint_every = 200;     // on_checkpoint: steps
};

// The state a run saves in its checkpoints and resumes from.
struct DiffMaskTrainState {
  int64_t step = 0;
  std::vector<double> lambdas, lambda_sq;  // per layer: multiplier, RMSprop's square average
  std::vector<std::vector<float>> m, v;    // Adam moments per parameter tensor (DiffMask::tensors() order)
  // Running means per layer (0.9 / 0.1, as the reference logs them).
  std::vector<double> run_kl, run_l0, run_agree;
  std::vector<int64_t> layer_steps;
};

struct DiffMaskProgress {
  int64_t step = 0, total = 0;
  int layer = 0;
  double kl = 0, l0 = 0, agreement = 0, lambda = 0;
  double seconds = 0;
};

struct DiffMaskTrainCallbacks {
  std::function<void(const DiffMaskProgress&, const DiffMaskTrainState&)> on_step;
  std::function<void(const DiffMask&, const DiffMaskTrainState&)> on_checkpoint;
};

// Trains dm (fresh or resumed with `state`) on the token sequences `texts`
// (whole encodings, special tokens included) with the model frozen. Stops
// at max_steps or max_seconds; returns with `state` at the last step.
void train_diffmask(const Model& model, DiffMask& dm, const std::vector<std::vector<int32_t>>& texts,
                    int32_t pad_id, const DiffMaskTrainOptions& o, DiffMaskTrainState& state,
                    const DiffMaskTrainCallbacks& cb = {});

// The paper's selection criteria on a data set, per layer l (gates 0 .. l
// sampled, seeded, as in training): the mean KL(p_orig || p_masked), the
// mean expected L0 (P(z > 0), over the texts' tokens), the fraction of
// sampled gates that kept their token (z > 0), and the agreement of the
// masked and unmasked predictions (arg-max).
struct DiffMaskEvalLayer {
  double kl = 0, l0 = 0, kept = 0, agreement = 0;
};
std::vector<DiffMaskEvalLayer> evaluate_diffmask(const Model& model, const DiffMask& dm,
                                                 const std::vector<std::vector<int32_t>>& texts, int32_t pad_id,
                                                 int batch_size = 32);

}  // namespace wordlight
