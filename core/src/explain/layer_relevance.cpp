// Neuron and layer relevance: how relevance (or gradient x activation) is
// spread over the layers of the network, and which input words drive one
// chosen neuron of any layer.
//
// Layers are the variables the models mark while building the forward pass
// (Graph::mark): transformers "embeddings" (after the embedding LayerNorm)
// and "layer.0" .. "layer.{L-1}" (each block's output); the CNN
// "embeddings", "conv.{i}" (after the ReLU; window positions, not tokens)
// and "pooled" (the max-pooled features); the BiLSTM "embeddings",
// "lstm.forward" and "lstm.backward" (the state after reading each token).
//
//   layer-relevance   one backward pass from the explained output; for each
//                     layer l with activations a (T, C): the relevance
//                     R_tc = a_tc * G_tc, with G the LRP-modified gradient
//                     (mode=lrp, the rules of the lrp method) or the plain
//                     gradient (mode=gradient-x-activation). Its row over the
//                     tokens is r_t = sum_c R_tc, normalised (option
//                     normalise: l1 divides by sum_t |r_t|, max-abs by
//                     max_t |r_t|) so that the rows of layers whose total
//                     relevance differs (absorbed by biases, or gradient x
//                     activation, which conserves nothing) can be compared:
//                     the cross-layer normalisation of neuron-relevance work
//                     (e.g. Achtibat et al. 2023, "From attribution maps to
//                     human-understandable explanations through concept
//                     relevance propagation", who normalise per layer). A
//                     layer without token positions ("pooled", "conv.i") has
//                     no row. Every layer lists its top-k neurons by |R_c|,
//                     R_c = sum_t R_tc. Token scores: the input layer's r_t.
//                     mode=lrp: each layer's `absorbed` is the relevance
//                     that the ops between the previous layer and this one
//                     absorbed (biases, LayerNorm shifts, softmaxes,
//                     epsilon, position and token-type embeddings; the
//                     records of Graph::lrp_backward), so that on a chain
//                     of layers (transformers) total(l) = total(l - 1) +
//                     absorbed(l), the input's total being the tokens' sum;
//                     the checks absorbed:<kind> sum them by kind over the
//                     whole network, as the lrp method's do.
//   neuron-relevance  the same pass seeded at one neuron c of one layer
//                     instead of the output: seed 1 at (t, c) for the chosen
//                     position t, or every position (the neuron's summed
//                     activation); a recurrent layer's neuron is read at one
//                     position (by default the state the classifier reads).
//                     neuron=-1 picks the most relevant neuron of the layer
//                     for the prediction (one extra pass). Token scores: the
//                     relevance at the word embeddings; with mode=lrp the
//                     check is conservation: their sum minus the neuron's
//                     activation(s).
// Cost: one forward (the prediction's) and one or two backward passes.
#include <algorithm>
#include <cmath>
#include <map>

#include "explain_internal.h"
#include "method_entry.h"
#include "lrp_composites.h"

namespace wordlight::explain_detail {

namespace {

// One named layer of the prediction graph: its marked variables.
struct LayerVars {
  std::string name;
  std::vector<Graph<float>::Mark> marks;
};

std::vector<LayerVars> layers_of(const Graph<float>& g) {
  std::vector<LayerVars> out;
  std::map<std::string, size_t> at;
  for (const auto& m : g.marks()) {
    auto it = at.find(m.layer);
    if (it == at.end()) {
      at[m.layer] = out.size();
      out.push_back({m.layer, {m}});
    } else {
      out[it->second].marks.push_back(m);
    }
  }
  return out;
}

std::string layer_list(const std::vector<LayerVars>& ls) {
  std::string s;
  for (size_t i = 0; i < ls.size(); ++i) s += (s.empty() ? "" : ", ") + std::to_string(i) + " " + ls[i].name;
  return s;
}

// A marked variable's layout: P positions of C channels. P == T: one per
// token; a single-position mark (recurrent state) has P == 1.
struct Layout {
  int64_t P = 1, C = 1;
};
Layout layout(const Graph<float>& g, Var v) {
  const Shape& s = g.shape(v);  // (1, P, C) or (1, C)
  Layout l;
  if (s.rank == 3) {
    l.P = s[1];
    l.C = s[2];
  } else if (s.rank == 2) {
    l.C = s[1];
  } else {
    l.C = s.numel();
  }
  return l;
}

// The backward pass of `mode` from y with seed (null = ones); with mode=lrp
// and `absorbed`, the pass's absorbed-relevance records.
void run_pass(const Model& model, Graph<float>& g, Var y, const std::string& mode, double eps, const float* seed,
              std::vector<LrpAbsorbed>* absorbed = nullptr) {
  if (mode == "gradient-x-activation") {
    g.backward(y, seed);
    return;
  }
  // The model's default composite (the lrp method's, lrp_composites.h): on
  // the BiLSTM arras2017-lstm, signal-take-all on the gates as the lrp
  // method's explicit pass does, here with the bias absorbed (bias factor 0).
  LrpOptions lo = lrp_options(lrp_composite(default_lrp_composite(architecture_group(model.config()))));
  lo.epsilon = eps;
  g.lrp_backward(y, lo, seed, absorbed);
}

// Sets each layer's `absorbed`: the records of the ops built after the
// previous layer's last mark, up to this layer's (node ids follow the order
// in which the model built its graph). Ops after the last mark (the
// classifier head) belong to no layer; their share is the explained output
// minus the last layer's total.
void absorbed_per_layer(const std::vector<LayerVars>& ls, const std::vector<LrpAbsorbed>& records,
                        std::vector<LayerScores>& out) {
  std::vector<std::pair<int, size_t>> ends;  // (mark's node id, layer index), by id
  for (size_t i = 0; i < ls.size(); ++i)
    for (const auto& m : ls[i].marks) ends.push_back({m.v.id, i});
  std::sort(ends.begin(), ends.end());
  for (const LrpAbsorbed& a : records) {
    auto it = std::lower_bound(ends.begin(), ends.end(), std::make_pair(a.node, size_t(0)));
    if (it != ends.end()) out[it->second].absorbed += a.relevance;
  }
}

// Relevance R = value * grad of one marked variable (zeros when the pass
// did not reach it).
std::vector<double> relevance_of(const Graph<float>& g, Var v) {
  const int64_t n = g.numel(v);
  std::vector<double> r(static_cast<size_t>(n), 0.0);
  const float* a = g.value(v);
  if (const float* gr = g.grad(v))
    for (int64_t k = 0; k < n; ++k) r[static_cast<size_t>(k)] = static_cast<double>(a[k]) * gr[k];
  return r;
}

LayerScores score_layer(const Graph<float>& g, const LayerVars& l, int T, int top_k, const std::string& normalise) {
  LayerScores out;
  out.layer = l.name;
  const Layout first = layout(g, l.marks[0].v);
  out.neurons = static_cast<int>(first.C);
  std::vector<double> per_neuron(static_cast<size_t>(first.C), 0.0);
  std::vector<double> per_token;
  const bool token_axis = l.marks[0].position < 0 && first.P == T && l.marks.size() == 1;
  const bool positional = l.marks[0].position >= 0;
  if (token_axis || positional) per_token.assign(static_cast<size_t>(T), 0.0);
  for (const auto& m : l.marks) {
    const Layout lay = layout(g, m.v);
    const std::vector<double> r = relevance_of(g, m.v);
    for (int64_t p = 0; p < lay.P; ++p)
      for (int64_t c = 0; c < lay.C && c < first.C; ++c) {
        const double v = r[static_cast<size_t>(p * lay.C + c)];
        per_neuron[static_cast<size_t>(c)] += v;
        out.total += v;
        if (token_axis) per_token[static_cast<size_t>(p)] += v;
        if (positional && m.position < T) per_token[static_cast<size_t>(m.position)] += v;
      }
  }
  double norm = 0;
  for (double v : per_token) norm = normalise == "l1" ? norm + std::fabs(v) : std::max(norm, std::fabs(v));
  if (normalise != "none" && norm > 0)
    for (double& v : per_token) v /= norm;
  out.token_scores = std::move(per_token);
  std::vector<int> order(per_neuron.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  const size_t k = std::min(order.size(), static_cast<size_t>(std::max(top_k, 0)));
  std::partial_sort(order.begin(), order.begin() + static_cast<long>(k), order.end(), [&](int a, int b) {
    const double fa = std::fabs(per_neuron[static_cast<size_t>(a)]), fb = std::fabs(per_neuron[static_cast<size_t>(b)]);
    return fa != fb ? fa > fb : a < b;
  });
  for (size_t i = 0; i < k; ++i) out.top_neurons.push_back({order[i], per_neuron[static_cast<size_t>(order[i])]});
  return out;
}

// The input layer's relevance per token: sum over the embedding dims of
// x * G at the prediction's input.
std::vector<double> input_relevance(ModelTarget& t) {
  Graph<float>& g = t.prediction_graph();
  const int T = t.T(), D = t.D();
  std::vector<double> s(static_cast<size_t>(T), 0.0);
  const float* G = g.grad(t.prediction_input());
  const std::vector<float>& x = t.embeddings();
  if (G)
    for (int i = 0; i < T; ++i)
      for (int d = 0; d < D; ++d) s[static_cast<size_t>(i)] += double(x[static_cast<size_t>(i) * D + d]) * G[static_cast<size_t>(i) * D + d];
  return s;
}

void check_lrp_output(const std::string& method, const ResolvedOptions& o, const Model& model) {
  if (o.str("mode") == "lrp" && o.str("output") != "logit" &&
      default_lrp_composite(architecture_group(model.config())) == "arras2017-lstm")
    throw Error(method + ": with mode=lrp on the BiLSTM (composite arras2017-lstm) it explains the logit "
                "(output=logit)");
}

void run_layer_relevance(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  const ResolvedOptions& o = ctx.opts;
  check_lrp_output("layer-relevance", o, ctx.model);
  t.set_total(1);
  Graph<float>& g = t.prediction_graph();
  std::vector<LrpAbsorbed> absorbed;
  run_pass(ctx.model, g, t.prediction_output(), o.str("mode"), o.number("epsilon"), nullptr, &absorbed);
  const std::vector<LayerVars> ls = layers_of(g);
  for (const LayerVars& l : ls)
    e.layers.push_back(score_layer(g, l, t.T(), static_cast<int>(o.integer("top-k")), o.str("normalise")));
  absorbed_per_layer(ls, absorbed, e.layers);
  const std::vector<double> s = input_relevance(t);
  double total = 0;
  for (int i = 0; i < t.T(); ++i) {
    e.tokens[static_cast<size_t>(i)].score = s[static_cast<size_t>(i)];
    total += s[static_cast<size_t>(i)];
  }
  if (o.str("mode") == "lrp") {
    e.checks.push_back(make_check("conservation-gap", total - t.f_input(), std::fabs(t.f_input()),
                                   "sum of the input tokens' relevances minus the explained output: minus the sum "
                                   "of the absorbed:* checks, where the rest went"));
    for (ExplanationCheck& a : absorbed_checks(absorbed, t.f_input(), e.tokens)) e.checks.push_back(std::move(a));
  }
  t.advance(1);
}

void run_neuron_relevance(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  const ResolvedOptions& o = ctx.opts;
  check_lrp_output("neuron-relevance", o, ctx.model);
  const std::string mode = o.str("mode");
  const double eps = o.number("epsilon");
  Graph<float>& g = t.prediction_graph();
  const std::vector<LayerVars> ls = layers_of(g);
  if (ls.empty()) throw Error("neuron-relevance: the model marks no layers");
  const long long li = o.integer("layer");
  if (li >= static_cast<long long>(ls.size()))
    throw Error("neuron-relevance: layer " + std::to_string(li) + " does not exist; this model's layers: " +
                layer_list(ls) + " (-1: the last)");
  const LayerVars& L = ls[static_cast<size_t>(li < 0 ? static_cast<long long>(ls.size()) - 1 : li)];
  const Layout lay = layout(g, L.marks[0].v);
  long long neuron = o.integer("neuron");
  t.set_total(neuron < 0 ? 2 : 1);
  if (neuron >= lay.C)
    throw Error("neuron-relevance: layer " + L.name + " has " + std::to_string(lay.C) + " neurons (0.." +
                std::to_string(lay.C - 1) + "), not " + std::to_string(neuron));
  if (neuron < 0) {  // the layer's most relevant neuron for the prediction
    run_pass(ctx.model, g, t.prediction_output(), mode, eps, nullptr);
    const LayerScores s = score_layer(g, L, t.T(), 1, "none");
    neuron = s.top_neurons.empty() ? 0 : s.top_neurons[0].index;
    t.advance(1);
  }
  // The variable to seed and the positions within it.
  const long long pos = o.integer("position");
  const Graph<float>::Mark* m = &L.marks[0];
  int64_t p_begin = 0, p_end = lay.P;
  std::string where;
  if (L.marks[0].position >= 0) {  // one variable per position (recurrent)
    int want = static_cast<int>(pos);
    if (pos < 0)  // the state the classifier reads: the last one of the direction
      want = L.marks.back().position;
    m = nullptr;
    for (const auto& mk : L.marks)
      if (mk.position == want) m = &mk;
    if (!m)
      throw Error("neuron-relevance: layer " + L.name + " has no state at position " + std::to_string(want) +
                  " (positions 0.." + std::to_string(t.T() - 1) + ")");
    where = "position " + std::to_string(want);
  } else if (pos >= 0) {
    if (pos >= lay.P)
      throw Error("neuron-relevance: layer " + L.name + " has " + std::to_string(lay.P) + " positions (0.." +
                  std::to_string(lay.P - 1) + "), not " + std::to_string(pos));
    p_begin = pos;
    p_end = pos + 1;
    where = "position " + std::to_string(pos);
  } else {
    where = lay.P > 1 ? "all positions" : "";
  }
  const Layout ml = layout(g, m->v);
  std::vector<float> seed(static_cast<size_t>(g.numel(m->v)), 0.f);
  double activation = 0;
  const float* a = g.value(m->v);
  for (int64_t p = (m == &L.marks[0] ? p_begin : 0); p < (m == &L.marks[0] ? p_end : ml.P); ++p) {
    seed[static_cast<size_t>(p * ml.C + neuron)] = 1.f;
    activation += a[p * ml.C + neuron];
  }
  std::vector<LrpAbsorbed> absorbed;
  run_pass(ctx.model, g, m->v, mode, eps, seed.data(), &absorbed);
  const std::vector<double> s = input_relevance(t);
  double total = 0;
  for (int i = 0; i < t.T(); ++i) {
    e.tokens[static_cast<size_t>(i)].score = s[static_cast<size_t>(i)];
    total += s[static_cast<size_t>(i)];
  }
  e.unit = L.name + " neuron " + std::to_string(neuron) + (where.empty() ? "" : " (" + where + ")");
  if (mode == "lrp") {
    e.checks.push_back(make_check("conservation-gap", total - activation, std::fabs(activation),
                                   "sum of the input tokens' relevances minus the activation of " + e.unit +
                                       " (minus the absorbed:* checks)"));
    for (ExplanationCheck& a : absorbed_checks(absorbed, activation, e.tokens)) e.checks.push_back(std::move(a));
  } else {
    e.checks.push_back(make_check("neuron-activation", activation, std::fabs(activation),
                                   "the activation of " + e.unit + " (gradient x activation conserves nothing)", 0));
  }
  t.advance(1);
}

OptionSpec mode_option() {
  return choice_option("mode", "lrp", {"lrp", "gradient-x-activation"},
                       "LRP (the lrp method's rules, epsilon) or the plain gradient times the activation");
}

}  // namespace

std::vector<MethodEntry> layer_relevance_methods() {
  std::vector<MethodEntry> m = {
      method_entry(
          "layer-relevance",
          "relevance at every layer: a layers x tokens matrix (rows normalised) and each layer's most relevant "
          "neurons",
          run_layer_relevance,
          {mode_option(), num_option("epsilon", 1e-3, 0, 1e3, "stabiliser of the epsilon rule"),
           choice_option("normalise", "l1", {"l1", "max-abs", "none"},
                         "per layer row: divide by the sum of |scores| (l1) or the largest |score|"),
           int_option("top-k", 5, 0, 1000, "most relevant neurons listed per layer")},
          "conservation-gap"),
      method_entry(
          "neuron-relevance", "which words drive one neuron (channel) of any layer, by LRP or gradient x activation",
          run_neuron_relevance,
          {mode_option(), num_option("epsilon", 1e-3, 0, 1e3, "stabiliser of the epsilon rule"),
           int_option("layer", -1, -1, 1000, "index of the layer in the model's list (see layer-relevance); -1: the last"),
           int_option("neuron", -1, -1, 1000000, "channel in that layer; -1: the layer's most relevant one"),
           int_option("position", -1, -1, 100000,
                      "token position of the neuron; -1: all positions (recurrent layers: the state the classifier "
                      "reads)")},
          "conservation-gap"),
  };
  // Transformers: the lrp method's default (no stabiliser, LXT's AttnLRP).
  for (MethodEntry& x : m) x.info.options[1].by_architecture["transformer"].default_value = "0";
  return m;
}

}  // namespace wordlight::explain_detail
