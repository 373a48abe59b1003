// LRP (graph.h LrpOptions, core/src/autodiff/lrp_rules.cpp, core/src/explain/lrp_method.cpp and
// lrp_composites.cpp):
// - each rule of the backward mode against a slow re-implementation that
//   follows the paper's formula literally, on small layers in double
//   precision (as Zennit's tests do): epsilon, z+ and alpha-beta on a dense
//   layer and a convolution, LayerNorm with 1/std held constant, one
//   attention block under AttnLRP and CP-LRP, the identity rule and the
//   product rules;
// - on tiny random models: LRP-0 equals gradient x input on the CNN,
//   conservation on the bias-free CNN for every rule and on the BiLSTM with
//   bias factor 1 (biases not zero), the BiLSTM against a literal
//   re-implementation of Arras et al.'s LRP_for_LSTM, transformers run with
//   both variants, errors for rules a model does not have.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "check_util.h"
#include "wordlight/explain.h"
#include "wordlight/graph.h"
#include "wordlight/model.h"
#include "tiny_models.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;
using wltest::random_vec;

namespace {

double sgn(double v) { return v >= 0 ? 1.0 : -1.0; }
double pos(double v) { return v > 0 ? v : 0.0; }
double neg(double v) { return v < 0 ? v : 0.0; }

// R at a leaf after lrp_backward: value * grad.
std::vector<double> relevance(const Graph<double>& g, Var x) {
  std::vector<double> r(static_cast<size_t>(g.numel(x)), 0.0);
  const double* gr = g.grad(x);
  for (size_t i = 0; i < r.size(); ++i) r[i] = gr ? g.value(x)[i] * gr[i] : 0.0;
  return r;
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol * (1 + std::fabs(b[i]))) << what << " at " << i;
}

// The literal rule for one output unit j with contributions z_ij (inputs i)
// and bias b_j: the relevance that input i gets from R_j.
double literal_share(const std::string& rule, double zij, double zj_sum, double zp, double zn, double Rj, double eps,
                     double alpha, double beta) {
  if (rule == "epsilon") return zij / (zj_sum + eps * sgn(zj_sum)) * Rj;
  double r = 0;
  if (zp != 0) r += alpha * pos(zij) / zp * Rj;
  if (zn != 0) r -= beta * neg(zij) / zn * Rj;
  return r;
}

// ------------------------------------------------------------ rules on small layers
TEST(LrpRules, DenseLayerEpsilonZPlusAlphaBetaMatchTheFormulas) {
  const int R = 3, I = 5, O = 4;
  const std::vector<double> w = random_vec(O * I, 2), b = random_vec(O, 3, -0.3, 0.3), seed = random_vec(R * O, 4);
  for (const bool signed_x : {true, false}) {  // inputs after a ReLU have no negative part
    std::vector<double> x = random_vec(R * I, 1);
    if (!signed_x)
      for (double& v : x) v = std::fabs(v);
    struct Case {
      std::string name;
      LrpRule rule;
      double eps, alpha, beta;
    };
    for (const Case& c : {Case{"epsilon", LrpRule::epsilon, 0.1, 1, 0}, Case{"z-plus", LrpRule::z_plus, 0, 1, 0},
                          Case{"alpha-beta", LrpRule::alpha_beta, 0, 2, 1}}) {
      Graph<double> g;
      Var xv = g.input(Shape{R, I}, x.data());
      Var y = g.linear(xv, g.parameter(Shape{O, I}, w.data()), g.parameter(Shape{O}, b.data()));
      LrpOptions o;
      o.set({OpKind::linear}, c.rule);
      o.epsilon = c.eps;
      o.alpha = c.alpha;
      o.beta = c.beta;
      g.lrp_backward(y, o, seed.data());
      // Literal: R_j = y_j * seed_j, R_i = sum_j share(x_i w_ji).
      std::vector<double> want(R * I, 0.0);
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < O; ++j) {
          double zs = b[j], zp = pos(b[j]), zn = neg(b[j]);
          for (int i = 0; i < I; ++i) {
            const double z = x[r * I + i] * w[j * I + i];
            zs += z;
            zp += pos(z);
            zn += neg(z);
          }
          const double Rj = zs * seed[r * O + j];
          for (int i = 0; i < I; ++i)
            want[r * I + i] +=
                literal_share(c.name, x[r * I + i] * w[j * I + i], zs, zp, zn, Rj, c.eps, c.alpha, c.beta);
        }
      expect_close(relevance(g, xv), want, 1e-10, c.name);
    }
  }
}

TEST(LrpRules, ConvolutionEpsilonZPlusAlphaBetaMatchTheFormulas) {
  const int T = 5, Cin = 3, Cout = 2, W = 3, pad = 2, To = T + 2 * pad - W + 1;
  const std::vector<double> x = random_vec(T * Cin, 5), w = random_vec(Cout * W * Cin, 6),
                            b = random_vec(Cout, 7, -0.3, 0.3), seed = random_vec(To * Cout, 8);
  for (const std::string rule : {"epsilon", "z-plus", "alpha-beta"}) {
    Graph<double> g;
    Var xv = g.input(Shape{1, T, Cin}, x.data());
    Var y = g.conv1d(xv, g.parameter(Shape{Cout, W, Cin}, w.data()), g.parameter(Shape{Cout}, b.data()), pad);
    LrpOptions o;
    o.set({OpKind::conv1d}, rule == "epsilon" ? LrpRule::epsilon : rule == "z-plus" ? LrpRule::z_plus : LrpRule::alpha_beta);
    o.epsilon = 0.05;
    o.alpha = rule == "alpha-beta" ? 3 : 1;
    o.beta = rule == "alpha-beta" ? 2 : 0;
    g.lrp_backward(y, o, seed.data());
    std::vector<double> want(T * Cin, 0.0);
    for (int t = 0; t < To; ++t)
      for (int f = 0; f < Cout; ++f) {
        // y[t, f] = b[f] + sum_{j, c} w[f, j, c] x[t + j - pad, c]
        double zs = b[f], zp = pos(b[f]), zn = neg(b[f]);
        auto each = [&](const std::function<void(int, double)>& fn) {
          for (int j = 0; j < W; ++j) {
            const int s = t + j - pad;
            if (s < 0 || s >= T) continue;
            for (int c = 0; c < Cin; ++c) fn(s * Cin + c, w[(f * W + j) * Cin + c] * x[s * Cin + c]);
          }
        };
        each([&](int, double z) {
          zs += z;
          zp += pos(z);
          zn += neg(z);
        });
        const double Rj = zs * seed[t * Cout + f];
        each([&](int i, double z) { want[i] += literal_share(rule, z, zs, zp, zn, Rj, 0.05, o.alpha, o.beta); });
      }
    expect_close(relevance(g, xv), want, 1e-10, rule);
  }
}

TEST(LrpRules, LayerNormWithConstantStdIsEpsilonOnALinearMap) {
  const int R = 2, C = 6;
  const std::vector<double> x = random_vec(R * C, 9, -2, 2), gamma = random_vec(C, 10, 0.5, 1.5),
                            beta = random_vec(C, 11, -0.2, 0.2), seed = random_vec(R * C, 12);
  const double eps = 0.01;
  Graph<double> g;
  Var xv = g.input(Shape{R, C}, x.data());
  Var y = g.layernorm(xv, g.parameter(Shape{C}, gamma.data()), g.parameter(Shape{C}, beta.data()), 1e-5);
  LrpOptions o;
  o.epsilon = eps;
  g.lrp_backward(y, o, seed.data());
  std::vector<double> want(R * C, 0.0);
  for (int r = 0; r < R; ++r) {
    const double* xr = x.data() + r * C;
    double mean = 0, var = 0;
    for (int c = 0; c < C; ++c) mean += xr[c] / C;
    for (int c = 0; c < C; ++c) var += (xr[c] - mean) * (xr[c] - mean) / C;
    const double rstd = 1 / std::sqrt(var + 1e-5);
    // y_c = sum_i A_ci x_i + beta_c, A_ci = gamma_c rstd (delta_ci - 1/C)
    for (int c = 0; c < C; ++c) {
      const double yc = g.value(y)[r * C + c], Rc = yc * seed[r * C + c];
      for (int i = 0; i < C; ++i) {
        const double a = gamma[c] * rstd * ((i == c ? 1.0 : 0.0) - 1.0 / C);
        want[r * C + i] += a * xr[i] / (yc + eps * sgn(yc)) * Rc;
      }
    }
  }
  expect_close(relevance(g, xv), want, 1e-10, "layernorm");
}

TEST(LrpRules, IdentityOnNonLinearitiesAndProductRules) {
  const int n = 7;
  const std::vector<double> a = random_vec(n, 13, -2, 2), b = random_vec(n, 14, -2, 2), seed = random_vec(n, 15);
  for (ops::Unary u : {ops::Unary::gelu, ops::Unary::tanh, ops::Unary::relu}) {
    Graph<double> g;
    Var xv = g.input(Shape{n}, a.data());
    Var y = g.unary(xv, {u, 1.0});
    g.lrp_backward(y, LrpOptions{}, seed.data());
    std::vector<double> want(n);
    for (int i = 0; i < n; ++i) want[i] = g.value(y)[i] * seed[i];  // relevance passes unchanged
    expect_close(relevance(g, xv), want, 1e-12, "identity");
  }
  for (LrpRule p : {LrpRule::uniform, LrpRule::gate}) {
    Graph<double> g;
    Var av = g.input(Shape{n}, a.data()), bv = g.input(Shape{n}, b.data());
    Var y = g.mul(av, bv);
    LrpOptions o;
    o.set({OpKind::binary, OpKind::matmul}, p);
    g.lrp_backward(y, o, seed.data());
    std::vector<double> ra(n), rb(n);
    for (int i = 0; i < n; ++i) {
      const double R = a[i] * b[i] * seed[i];
      ra[i] = p == LrpRule::uniform ? R / 2 : 0.0;  // the gate gets nothing
      rb[i] = p == LrpRule::uniform ? R / 2 : R;    // signal-take-all
    }
    expect_close(relevance(g, av), ra, 1e-12, "product a");
    expect_close(relevance(g, bv), rb, 1e-12, "product b");
  }
}

// One attention block, literally: per head, out_id = sum_j P_ij v_jd,
// P = softmax(S), S_ij = sum_d q_id k_jd / sqrt(Dh).
//   AttnLRP: the epsilon-0 rule over the terms of each sum, each product's
//   relevance split evenly between its two factors; the softmax rule
//   R(S_ij) = S_ij (R(P_ij) - P_ij sum_j' R(P_ij')).
//   CP-LRP: P a constant, all of R(out) goes to v.
TEST(LrpRules, AttentionBlockAttnLrpAndCpLrpMatchThePapers) {
  const int T = 4, H = 2, Dh = 3, C = H * Dh;
  const std::vector<double> q = random_vec(T * C, 16), k = random_vec(T * C, 17), v = random_vec(T * C, 18),
                            seed = random_vec(T * C, 19);
  for (LrpRule variant : {LrpRule::attnlrp, LrpRule::cp_lrp}) {
    Graph<double> g;
    Var qv = g.input(Shape{1, T, C}, q.data()), kv = g.input(Shape{1, T, C}, k.data()),
        vv = g.input(Shape{1, T, C}, v.data());
    Var out = g.attention(qv, kv, vv, H);
    LrpOptions o;
    o.set({OpKind::attention}, variant);
    g.lrp_backward(out, o, seed.data());
    std::vector<double> rq(T * C, 0.0), rk(T * C, 0.0), rv(T * C, 0.0);
    const double sc = 1 / std::sqrt(double(Dh));
    for (int h = 0; h < H; ++h) {
      std::vector<double> S(T * T), P(T * T), RP(T * T, 0.0);
      for (int i = 0; i < T; ++i) {
        double mx = -1e300, z = 0;
        for (int j = 0; j < T; ++j) {
          double s = 0;
          for (int d = 0; d < Dh; ++d) s += q[i * C + h * Dh + d] * k[j * C + h * Dh + d] * sc;
          S[i * T + j] = s;
          mx = std::max(mx, s);
        }
        for (int j = 0; j < T; ++j) z += std::exp(S[i * T + j] - mx);
        for (int j = 0; j < T; ++j) P[i * T + j] = std::exp(S[i * T + j] - mx) / z;
      }
      for (int i = 0; i < T; ++i)
        for (int d = 0; d < Dh; ++d) {
          const int id = i * C + h * Dh + d;
          double o_id = 0;
          for (int j = 0; j < T; ++j) o_id += P[i * T + j] * v[j * C + h * Dh + d];
          const double R = o_id * seed[id];
          for (int j = 0; j < T; ++j) {
            const double share = P[i * T + j] * v[j * C + h * Dh + d] / o_id * R;
            if (variant == LrpRule::cp_lrp) {
              rv[j * C + h * Dh + d] += share;
            } else {
              rv[j * C + h * Dh + d] += share / 2;
              RP[i * T + j] += share / 2;
            }
          }
        }
      if (variant == LrpRule::cp_lrp) continue;
      for (int i = 0; i < T; ++i) {
        double sum = 0;
        for (int j = 0; j < T; ++j) sum += RP[i * T + j];
        for (int j = 0; j < T; ++j) {
          const double RS = S[i * T + j] * (RP[i * T + j] - P[i * T + j] * sum);
          for (int d = 0; d < Dh; ++d) {
            const double share = q[i * C + h * Dh + d] * k[j * C + h * Dh + d] * sc / S[i * T + j] * RS;
            rq[i * C + h * Dh + d] += share / 2;
            rk[j * C + h * Dh + d] += share / 2;
          }
        }
      }
    }
    const std::string name = variant == LrpRule::attnlrp ? "attnlrp" : "cp-lrp";
    expect_close(relevance(g, qv), rq, 1e-9, name + " q");
    expect_close(relevance(g, kv), rk, 1e-9, name + " k");
    expect_close(relevance(g, vv), rv, 1e-9, name + " v");
  }
}

TEST(LrpRules, OrdinaryBackwardIsUnchangedAfterAnLrpPass) {
  const std::vector<double> x = random_vec(6, 20), w = random_vec(12, 21);
  Graph<double> g;
  Var xv = g.input(Shape{1, 6}, x.data());
  Var y = g.sum(g.gelu(g.linear(xv, g.parameter(Shape{2, 6}, w.data()))));
  g.backward(y);
  const std::vector<double> g1(g.grad(xv), g.grad(xv) + 6);
  g.lrp_backward(y, LrpOptions{});
  g.backward(y);
  expect_close(std::vector<double>(g.grad(xv), g.grad(xv) + 6), g1, 0, "gradient");
}

// ------------------------------------------------------------ tiny models
const char* kCnnConfig = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2, 3], "num_labels": 3, "max_length": 16})";
const char* kBiLstmConfig = R"({"model_type": "wordlight-bilstm", "vocab_size": 12, "embedding_dim": 8,
  "hidden_size": 6, "num_labels": 3, "max_length": 16})";
const char* kBertConfig = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 2})";
const char* kText = "the film is not very good , a bad film !";

using wltest::Tiny;

// bias: the scale of random biases written over the checkpoint's zeros (0: none).
Tiny tiny(const char* config, uint64_t seed, double bias = 0) {
  Tiny t = wltest::tiny_model(config, seed);
  if (bias > 0) {
    uint64_t s = seed * 100;
    for (ModelParameter& p : t.model->parameters()) {
      const std::string& n = p.name;
      if (n.size() < 4 || n.compare(n.size() - 4, 4, "bias") != 0) continue;
      const std::vector<double> r = random_vec(static_cast<size_t>(p.numel()), ++s, -bias, bias);
      for (int64_t i = 0; i < p.numel(); ++i) p.data[i] = static_cast<float>(r[static_cast<size_t>(i)]);
    }
    t.model->parameters_changed();
  }
  return t;
}

Explanation run(const Tiny& t, const std::string& method, const std::string& options = "", int target = -1,
                const std::string& text = kText) {
  return wltest::explain_text(*t.model, *t.tok, text, method, options, target);
}

std::vector<double> token_scores(const Explanation& e) {
  std::vector<double> s;
  for (const TokenScore& t : e.tokens) s.push_back(t.score);
  return s;
}

double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

using wltest::error_of;

const ExplanationCheck& gap_of(const Explanation& e) {
  for (const ExplanationCheck& c : e.checks)
    if (c.name == "conservation-gap") return c;
  throw Error("no conservation-gap check");
}

TEST(LrpCnn, LrpZeroEqualsGradientTimesInput) {
  const Tiny t = tiny(kCnnConfig, 1);
  for (int target : {0, 1, 2}) {
    const Explanation gxi = run(t, "gradient-x-input", "", target);
    expect_close(token_scores(run(t, "lrp", "epsilon=0", target)), token_scores(gxi), 1e-6, "lrp-0");
    // epsilon -> 0 tends to it
    expect_close(token_scores(run(t, "lrp", "epsilon=1e-7", target)), token_scores(gxi), 1e-4, "lrp-eps");
  }
}

TEST(LrpCnn, ConservationOnTheBiasFreeCnnForEveryRule) {
  const Tiny t = tiny(kCnnConfig, 2);  // random_checkpoint's biases are zero
  for (const std::string opts : {"epsilon=0", "rule=z-plus", "rule=alpha-beta,alpha=2", "rule=alpha-beta,alpha=1.5"})
    for (int target : {0, 1, 2}) {
      const Explanation e = run(t, "lrp", opts, target);
      const double f = e.prediction.explained_value;
      EXPECT_NEAR(sum_of(token_scores(e)), f, 1e-5 * (1 + std::fabs(f))) << opts << " target " << target;
      EXPECT_LT(std::fabs(gap_of(e).value), 1e-5 * (1 + std::fabs(f))) << opts;
    }
  // With biases and epsilon > 0 the biases absorb some: the gap says how much.
  const Tiny tb = tiny(kCnnConfig, 2, 0.5);
  const Explanation e = run(tb, "lrp", "epsilon=0.01");
  EXPECT_GT(std::fabs(gap_of(e).value), 1e-4);
  EXPECT_NEAR(gap_of(e).value, sum_of(token_scores(e)) - e.prediction.explained_value, 1e-9);
}

TEST(LrpCnn, RulesDifferAndScoresAreFinite) {
  const Tiny t = tiny(kCnnConfig, 3);
  const std::vector<double> a = token_scores(run(t, "lrp", "epsilon=0.1")),
                            b = token_scores(run(t, "lrp", "rule=z-plus")),
                            c = token_scores(run(t, "lrp", "rule=alpha-beta"));
  double dab = 0, dac = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(std::isfinite(a[i]) && std::isfinite(b[i]) && std::isfinite(c[i]));
    dab += std::fabs(a[i] - b[i]);
    dac += std::fabs(a[i] - c[i]);
  }
  EXPECT_GT(dab, 1e-3);
  EXPECT_GT(dac, 1e-3);
}

// ------------------------------------------------------------ BiLSTM
// Arras et al.'s LRP_for_LSTM (LSTM_bidi.py, lrp and lrp_linear) written out
// literally, with full (inputs x outputs) message matrices, from the
// model's tensors; the one deviation of ours mirrored: at the first step the
// zero initial state is not among the N inputs.
std::vector<double> literal_lstm_lrp(Model& m, const std::vector<float>& emb, int T, int target, double eps,
                                     double bf) {
  const int D = m.embedding_dim(), H = m.config().lstm_hidden_size;
  auto find = [&](const std::string& n) {
    for (const ModelParameter& p : m.parameters())
      if (p.name == n) return static_cast<const float*>(p.data);
    ADD_FAILURE() << n;
    return static_cast<const float*>(nullptr);
  };
  // lrp_linear(hin, w (D x M: w[i][j]), b, hout, Rout, N, eps, bf)
  auto lrp_linear = [&](const std::vector<double>& hin, const std::function<double(int, int)>& w,
                        const std::vector<double>& b, const std::vector<double>& hout, const std::vector<double>& rout,
                        double N) {
    const size_t Din = hin.size(), M = hout.size();
    std::vector<double> rin(Din, 0.0);
    for (size_t i = 0; i < Din; ++i)
      for (size_t j = 0; j < M; ++j) {
        const double s = hout[j] >= 0 ? 1.0 : -1.0;
        const double numer = w(int(i), int(j)) * hin[i] + bf * (b[j] + eps * s) / N;
        const double denom = hout[j] + eps * s;
        rin[i] += numer / denom * rout[j];
      }
    return rin;
  };
  auto ident = [](int i, int j) { return i == j ? 1.0 : 0.0; };
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  std::vector<double> rx(static_cast<size_t>(T) * D, 0.0);
  // forward pass of both directions, then the output layer
  struct Dir {
    const float *wih, *b, *whh, *cw, *cb;
    std::vector<std::vector<double>> gi, gf, gg, zg, c, h, x;
  } dir[2];
  for (int k = 0; k < 2; ++k) {
    const std::string w = k ? "backward" : "forward";
    Dir& d = dir[k];
    d.wih = find("lstm." + w + ".weight_ih");
    d.b = find("lstm." + w + ".bias");
    d.whh = find("lstm." + w + ".weight_hh");
    d.cw = find("classifier." + w + ".weight");
    d.cb = find("classifier." + w + ".bias");
    std::vector<double> h(H, 0.0), c(H, 0.0);
    for (int n = 0; n < T; ++n) {
      const int t = k ? T - 1 - n : n;
      std::vector<double> x(emb.begin() + t * D, emb.begin() + (t + 1) * D), z(4 * H);
      for (int r = 0; r < 4 * H; ++r) {
        z[r] = d.b[r];
        for (int i = 0; i < D; ++i) z[r] += d.wih[r * D + i] * x[i];
        for (int i = 0; i < H; ++i) z[r] += d.whh[r * H + i] * h[i];
      }
      std::vector<double> gi(H), gf(H), gg(H), zg(H);
      for (int j = 0; j < H; ++j) {
        gi[j] = sig(z[j]);
        gf[j] = sig(z[H + j]);
        zg[j] = z[2 * H + j];
        gg[j] = std::tanh(zg[j]);
        c[j] = gf[j] * c[j] + gi[j] * gg[j];
        h[j] = sig(z[3 * H + j]) * std::tanh(c[j]);
      }
      d.gi.push_back(gi);
      d.gf.push_back(gf);
      d.gg.push_back(gg);
      d.zg.push_back(zg);
      d.c.push_back(c);
      d.h.push_back(h);
      d.x.push_back(x);
    }
  }
  double s = double(dir[0].cb[target]) + dir[1].cb[target];
  const double bsum = s;
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < H; ++j) s += dir[k].cw[target * H + j] * dir[k].h[T - 1][j];
  for (int k = 0; k < 2; ++k) {
    Dir& d = dir[k];
    const float* cw = d.cw;
    std::vector<double> rh = lrp_linear(
        d.h[T - 1], [&](int i, int) { return double(cw[target * H + i]); }, {bsum}, {s}, {s}, 2.0 * H);
    std::vector<double> rc(H, 0.0), bg(H);
    for (int j = 0; j < H; ++j) bg[j] = d.b[2 * H + j];
    for (int n = T - 1; n >= 0; --n) {
      const int t = k ? T - 1 - n : n;
      for (int j = 0; j < H; ++j) rc[j] += rh[j];
      const double Nc = n > 0 ? 2.0 * H : 1.0 * H, Nz = n > 0 ? double(D + H) : double(D);
      std::vector<double> fc(H, 0.0), ig(H);
      for (int j = 0; j < H; ++j) {
        fc[j] = n > 0 ? d.gf[n][j] * d.c[n - 1][j] : 0.0;
        ig[j] = d.gi[n][j] * d.gg[n][j];
      }
      const std::vector<double> zeros(H, 0.0);
      std::vector<double> rc_prev = n > 0 ? lrp_linear(fc, ident, zeros, d.c[n], rc, Nc) : zeros;
      const std::vector<double> rg = lrp_linear(ig, ident, zeros, d.c[n], rc, Nc);
      const float* wih = d.wih;
      const float* whh = d.whh;
      const std::vector<double> r_x = lrp_linear(
          d.x[n], [&](int i, int j) { return double(wih[(2 * H + j) * D + i]); }, bg, d.zg[n], rg, Nz);
      for (int i = 0; i < D; ++i) rx[static_cast<size_t>(t) * D + i] += r_x[i];
      rh = n > 0 ? lrp_linear(
                       d.h[n - 1], [&](int i, int j) { return double(whh[(2 * H + j) * H + i]); }, bg, d.zg[n], rg, Nz)
                 : zeros;
      rc = rc_prev;
    }
  }
  return rx;
}

TEST(LrpBiLstm, MatchesTheLiteralLrpForLstmAndConservesWithBiasFactorOne) {
  Tiny t = tiny(kBiLstmConfig, 4, 0.5);  // biases not zero
  for (const std::string opts : {"epsilon=0.001,bias-factor=0", "epsilon=0.01,bias-factor=1"})
    for (int target : {0, 2}) {
      const Explanation e = run(t, "lrp", opts, target);
      std::vector<int32_t> ids;
      for (const TokenScore& ts : e.tokens) ids.push_back(ts.id);
      const TokenBatch b = wltest::one_row(ids);
      std::vector<float> emb(ids.size() * 8);
      t.model->embed(b, emb.data());
      const double bf = opts.find("bias-factor=1") != std::string::npos ? 1 : 0;
      const double eps = bf ? 0.01 : 0.001;
      const std::vector<double> rx = literal_lstm_lrp(*t.model, emb, b.T, e.prediction.target, eps, bf);
      std::vector<double> want(ids.size(), 0.0);
      for (size_t i = 0; i < rx.size(); ++i) want[i / 8] += rx[i];
      expect_close(token_scores(e), want, 1e-9, opts);
      const double f = e.prediction.explained_value;
      if (bf) {
        EXPECT_NEAR(sum_of(token_scores(e)), f, 1e-5 * (1 + std::fabs(f))) << opts;
      } else {
        EXPECT_GT(std::fabs(gap_of(e).value), 1e-4) << "biases absorb relevance with bias-factor 0";
      }
    }
}

TEST(LrpBiLstm, ZeroBiasesAndLrpZeroConserve) {
  const Tiny t = tiny(kBiLstmConfig, 5);
  const Explanation e = run(t, "lrp", "epsilon=0");
  EXPECT_NEAR(sum_of(token_scores(e)), e.prediction.explained_value, 1e-5);
}

// One BiLSTM LRP: the tape's rules under composite arras2017-lstm (what
// layer-relevance runs: gate rule on the products, epsilon on the linear
// maps, biases absorbed) agree with the explicit double-precision pass of
// the lrp method at bias-factor 0, which stays as its oracle and its path
// (lrp_method.cpp says why). At epsilon 0 both are gradient x input with the
// gates taking nothing, so they agree to float rounding. At epsilon > 0 they
// are different rules: the tape stabilises W_ih x and W_hh h separately
// where Arras et al. stabilise their sum, and passes the cell update
// c = f c' + i g by its gradient where they apply epsilon to it (measured on
// this model at epsilon 1e-3: up to 10% of the largest token apart).
TEST(LrpBiLstm, TheTapesGateRuleAgreesWithTheExplicitPass) {
  const Tiny t = tiny(kBiLstmConfig, 4, 0.5);
  for (const char* eps : {"0"})
    for (int target : {0, 2}) {
      const std::string o = std::string("epsilon=") + eps;
      const Explanation tape = run(t, "layer-relevance", o, target), oracle = run(t, "lrp", o + ",bias-factor=0", target);
      const std::vector<double> a = token_scores(tape), b = token_scores(oracle);
      ASSERT_EQ(a.size(), b.size());
      double scale = 0, diff = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::fabs(b[i]));
        diff = std::max(diff, std::fabs(a[i] - b[i]));
      }
      ASSERT_GT(scale, 1e-3) << o;
      EXPECT_LT(diff / scale, 1e-5) << o << " target " << target;
    }
}

// ------------------------------------------------------------ composites
TEST(LrpComposites, NamedTablesTheirDefaultsAndUnknownNames) {
  const Tiny bert = tiny(kBertConfig, 6, 0.1), lstm = tiny(kBiLstmConfig, 8), cnn = tiny(kCnnConfig, 8);
  // Each architecture declares its default composite.
  EXPECT_EQ(resolve_options("lrp", {}, "cnn").at("composite"), "arras2016-cnn");
  EXPECT_EQ(resolve_options("lrp", {}, "bilstm").at("composite"), "arras2017-lstm");
  EXPECT_EQ(resolve_options("lrp", {}, "transformer").at("composite"), "attnlrp");
  EXPECT_EQ(resolve_options("lrp", {}, "decoder").at("composite"), "attnlrp");
  // variant=cp-lrp (the older name) and composite=cp-lrp are the same rules.
  const char* text = "the film is unbelievable good";
  EXPECT_EQ(token_scores(run(bert, "lrp", "composite=cp-lrp", -1, text)),
            token_scores(run(bert, "lrp", "variant=cp-lrp", -1, text)));
  EXPECT_NE(token_scores(run(bert, "lrp", "composite=cp-lrp", -1, text)),
            token_scores(run(bert, "lrp", "composite=attnlrp", -1, text)));
  // A composite of another architecture, an unknown composite or rule name.
  EXPECT_NE(error_of([&] { run(cnn, "lrp", "composite=attnlrp"); }), "(no error)");
  EXPECT_NE(error_of([&] { run(lstm, "lrp", "composite=cp-lrp"); }), "(no error)");
  const std::string unknown = error_of([&] { run(bert, "lrp", "composite=zennit"); });
  EXPECT_NE(unknown.find("zennit"), std::string::npos) << unknown;
  // A rule on an op kind that does not have it, at the table and at the pass.
  EXPECT_NE(error_of([] { LrpOptions().set({OpKind::attention}, LrpRule::gate); }).find("does not apply to op attention"),
            std::string::npos);
  Graph<double> g;
  const double x[2] = {1, 2};
  Var y = g.sum(g.relu(g.input(Shape{2}, x)));
  LrpOptions o;
  o.rules[static_cast<int>(OpKind::unary)] = LrpRule::z_plus;
  EXPECT_NE(error_of([&] { g.lrp_backward(y, o); }).find("rule z-plus does not apply to op unary"), std::string::npos);
}

// ------------------------------------------------------------ transformers
TEST(LrpTransformer, AttnLrpAndCpLrpRunAndDiffer) {
  const Tiny t = tiny(kBertConfig, 6, 0.1);
  const char* text = "the film is unbelievable good";
  const Explanation a = run(t, "lrp", "", -1, text), c = run(t, "lrp", "variant=cp-lrp", -1, text);
  ASSERT_EQ(a.tokens.size(), c.tokens.size());
  double diff = 0, mag = 0;
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    EXPECT_TRUE(std::isfinite(a.tokens[i].score) && std::isfinite(c.tokens[i].score));
    diff += std::fabs(a.tokens[i].score - c.tokens[i].score);
    mag += std::fabs(a.tokens[i].score);
  }
  EXPECT_GT(mag, 0);
  EXPECT_GT(diff, 1e-6 * mag);
  ASSERT_GE(a.checks.size(), 1u);
  EXPECT_EQ(a.checks[0].name, "conservation-gap");  // the method's own check first, then absorbed:*
  EXPECT_TRUE(std::isfinite(a.checks[0].value));
}

// A transformer's relevance counted at every input it reaches: the word
// embeddings, the position-embedding rows and the token-type row. On a model
// with zero biases and LayerNorm beta (random_checkpoint's) and epsilon 0,
// CP-LRP is a chain of linear maps (LayerNorm's 1/std and the attention
// weights held constant, identity on GELU and tanh): the total equals the
// logit exactly. AttnLRP's softmax rule absorbs some.
TEST(LrpTransformer, CpLrpConservesOverAllEmbeddingsOfABiasFreeModel) {
  Tiny t = tiny(kBertConfig, 7);
  Model& m = *t.model;
  const std::vector<int32_t> ids = {2, 5, 6, 7, 11, 3};
  const TokenBatch b = wltest::one_row(ids);
  const int D = m.embedding_dim();
  std::vector<float> emb = wltest::embed_ids(m, ids);
  for (LrpRule variant : {LrpRule::cp_lrp, LrpRule::attnlrp})
    for (int target : {0, 1}) {
      Graph<float> g;
      g.params_require_grad = true;
      Var x = g.input(Shape{1, b.T, D}, emb.data());
      const int32_t idx = target;
      Var y = g.pick(m.forward(g, x, b), &idx);
      LrpOptions o;
      o.epsilon = 0;
      o.set({OpKind::attention}, variant);
      g.lrp_backward(y, o);
      double total = 0, words = 0;
      for (size_t i = 0; i < emb.size(); ++i) words += double(emb[i]) * g.grad(x)[i];
      total = words;
      for (ModelParameter& p : m.parameters()) {
        if (p.name.find("position_embeddings") == std::string::npos &&
            p.name.find("token_type_embeddings") == std::string::npos)
          continue;
        std::vector<float> gr(static_cast<size_t>(p.numel()), 0.f);
        ASSERT_TRUE(g.accumulate_parameter_grad(p.data, p.numel(), gr.data())) << p.name;
        for (int64_t i = 0; i < p.numel(); ++i) total += double(p.data[i]) * gr[static_cast<size_t>(i)];
      }
      const double f = g.value(y)[0];
      if (variant == LrpRule::cp_lrp) {
        EXPECT_NEAR(total, f, 1e-4 * (1 + std::fabs(f))) << "target " << target;
      }
      EXPECT_TRUE(std::isfinite(words));
    }
}

// ------------------------------------------------------------ where the relevance goes
// The absorbed:* checks, special tokens' included or not.
double absorbed_sum(const Explanation& e, bool with_special_tokens = true) {
  double s = 0;
  for (const ExplanationCheck& c : e.checks)
    if (c.name.rfind("absorbed:", 0) == 0 && (with_special_tokens || c.name != "absorbed:special-tokens"))
      s += c.value;
  return s;
}

double words_sum(const Explanation& e) {
  double s = 0;
  for (const WordScore& w : e.words) s += w.score;
  return s;
}

using wltest::find_check;

// The records of lrp_backward on one dense layer y = W x + b: epsilon keeps
// back sum_j G_j y_j eps sign(y_j) / (y_j + eps sign(y_j)), the bias takes
// sum_j b_j G_j y_j / (y_j + eps sign(y_j)); with the input's x . G(x) they
// make up y . G(y). The same for a LayerNorm and its shift.
TEST(LrpAbsorbed, DenseLayerAndLayerNormRecordsAreTheirFormulas) {
  const int R = 3, I = 5, O = 4;
  const std::vector<double> x = random_vec(R * I, 11), w = random_vec(O * I, 12), b = random_vec(O, 13, -0.5, 0.5),
                            seed = random_vec(R * O, 14);
  const double eps = 0.1;
  Graph<double> g;
  Var xv = g.input(Shape{R, I}, x.data());
  Var y = g.linear(xv, g.parameter(Shape{O, I}, w.data()), g.parameter(Shape{O}, b.data()));
  LrpOptions o;
  o.epsilon = eps;
  std::vector<LrpAbsorbed> rec;
  g.lrp_backward(y, o, seed.data(), &rec);
  double want_eps = 0, want_bias = 0, r_out = 0;
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < O; ++j) {
      const double yj = g.value(y)[r * O + j], G = seed[r * O + j], e = yj >= 0 ? eps : -eps;
      want_eps += G * yj * e / (yj + e);
      want_bias += b[j] * G * yj / (yj + e);
      r_out += yj * G;
    }
  double got_eps = 0, got_bias = 0;
  for (const LrpAbsorbed& a : rec) {
    EXPECT_EQ(a.node, y.id);
    EXPECT_EQ(a.op, OpKind::linear);
    if (a.sink == LrpSink::epsilon) got_eps += a.relevance;
    if (a.sink == LrpSink::bias) got_bias += a.relevance;
  }
  EXPECT_NEAR(got_eps, want_eps, 1e-12);
  EXPECT_NEAR(got_bias, want_bias, 1e-12);
  double r_in = 0;
  for (size_t i = 0; i < x.size(); ++i) r_in += x[i] * g.grad(xv)[i];
  EXPECT_NEAR(r_in + got_eps + got_bias, r_out, 1e-12);

  // LayerNorm: gamma * (x - mean) / std + beta, std constant.
  const std::vector<double> gamma = random_vec(I, 15, 0.5, 1.5), beta = random_vec(I, 16, -0.5, 0.5),
                            seed2 = random_vec(R * I, 17);
  Graph<double> h;
  Var xl = h.input(Shape{R, I}, x.data());
  Var yl = h.layernorm(xl, h.parameter(Shape{I}, gamma.data()), h.parameter(Shape{I}, beta.data()), 1e-5);
  rec.clear();
  h.lrp_backward(yl, o, seed2.data(), &rec);
  double want_shift = 0, r_out2 = 0, r_in2 = 0, got_shift = 0, got_eps2 = 0;
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < I; ++c) {
      const double yj = h.value(yl)[r * I + c], G = seed2[r * I + c], e = yj >= 0 ? eps : -eps;
      want_shift += beta[c] * G * yj / (yj + e);
      r_out2 += yj * G;
    }
  for (const LrpAbsorbed& a : rec) {
    if (a.sink == LrpSink::layernorm_shift) got_shift += a.relevance;
    if (a.sink == LrpSink::epsilon) got_eps2 += a.relevance;
  }
  for (size_t i = 0; i < x.size(); ++i) r_in2 += x[i] * h.grad(xl)[i];
  EXPECT_NEAR(got_shift, want_shift, 1e-12);
  EXPECT_NEAR(r_in2 + got_eps2 + got_shift, r_out2, 1e-12);
}

// On every family and rule the words and the absorbed:* checks sum to the
// explained output (the special tokens' share is one of the checks), and
// the conservation gap (all tokens) is minus what the rest absorbed.
TEST(LrpAbsorbed, TokensAndAbsorbedPartsSumToTheExplainedOutputOnEveryModel) {
  struct Case {
    const char* config;
    double bias;
    std::vector<std::string> options;
  };
  const std::vector<Case> cases = {
      {kCnnConfig, 0.5, {"epsilon=0.01", "epsilon=0", "rule=z-plus", "rule=alpha-beta,alpha=2"}},
      {kBiLstmConfig, 0.3, {"", "epsilon=0.1", "bias-factor=1", "bias-factor=1,epsilon=0.1"}},
      {kBertConfig, 0.1, {"", "epsilon=0.1", "variant=cp-lrp", "variant=cp-lrp,epsilon=0.01", "output=probability"}},
  };
  for (const Case& c : cases) {
    const Tiny t = tiny(c.config, 21, c.bias);
    for (const std::string& opts : c.options) {
      SCOPED_TRACE(std::string(c.config).substr(0, 60) + " " + opts);
      const Explanation e = run(t, "lrp", opts);
      const double f = e.prediction.explained_value;
      EXPECT_NEAR(words_sum(e) + absorbed_sum(e), f, 1e-6 * (1 + std::fabs(f)));
      EXPECT_NEAR(sum_of(token_scores(e)) + absorbed_sum(e, false), f, 1e-6 * (1 + std::fabs(f)));
      EXPECT_NEAR(gap_of(e).value, -absorbed_sum(e, false), 1e-6 * (1 + std::fabs(f)));
      const bool bert = std::string(c.config).find("\"bert\"") != std::string::npos;
      EXPECT_EQ(find_check(e, "absorbed:special-tokens") != nullptr, bert) << "[CLS] and [SEP] on BERT only";
      ASSERT_NE(find_check(e, "absorbed:biases"), nullptr);
      ASSERT_NE(find_check(e, "absorbed:epsilon"), nullptr);
      if (opts.find("bias-factor=1") != std::string::npos) {  // Arras et al.'s redistribution absorbs nothing
        EXPECT_NEAR(find_check(e, "absorbed:biases")->value, 0, 1e-9);
        EXPECT_NEAR(find_check(e, "absorbed:epsilon")->value, 0, 1e-9);
        continue;
      }
      EXPECT_GT(std::fabs(find_check(e, "absorbed:biases")->value), 1e-6) << "the biases are not zero";
      if (opts.find("epsilon=0.") != std::string::npos) {
        EXPECT_GT(std::fabs(find_check(e, "absorbed:epsilon")->value), 1e-7);
      }
    }
  }
}

// The position and token-type checks are those embeddings' x . G: the
// gradient reaching the embedding sum is the word input's (addition passes
// it on), so R(position) = sum_td P_td G_td and R(type) = sum_td t_d G_td.
// CP-LRP's P v is linear in v: no softmax remainder.
TEST(LrpAbsorbed, TransformerEmbeddingsAndSoftmaxAreToldApart) {
  Tiny t = tiny(kBertConfig, 22, 0.1);
  Model& m = *t.model;
  const std::vector<int32_t> ids = {2, 5, 6, 7, 11, 3};
  const TokenBatch b = wltest::one_row(ids);
  const int D = m.embedding_dim();
  std::vector<float> emb = wltest::embed_ids(m, ids);
  const float *pos = nullptr, *type = nullptr;
  for (const ModelParameter& p : m.parameters()) {
    if (p.name.find("position_embeddings") != std::string::npos) pos = p.data;
    if (p.name.find("token_type_embeddings") != std::string::npos) type = p.data;
  }
  ASSERT_TRUE(pos && type);
  for (LrpRule variant : {LrpRule::attnlrp, LrpRule::cp_lrp}) {
    Graph<float> g;
    Var x = g.input(Shape{1, b.T, D}, emb.data());
    const int32_t idx = 1;
    Var y = g.pick(m.forward(g, x, b), &idx);
    LrpOptions o;
    o.epsilon = 0;
    o.set({OpKind::attention}, variant);
    std::vector<LrpAbsorbed> rec;
    g.lrp_backward(y, o, nullptr, &rec);
    double want_pos = 0, want_type = 0, words = 0;
    for (int tk = 0; tk < b.T; ++tk)
      for (int d = 0; d < D; ++d) {
        const double G = g.grad(x)[tk * D + d];
        want_pos += double(pos[tk * D + d]) * G;
        want_type += double(type[d]) * G;
        words += double(emb[static_cast<size_t>(tk * D + d)]) * G;
      }
    double got_pos = 0, got_type = 0, softmax = 0, all = 0;
    for (const LrpAbsorbed& a : rec) {
      all += a.relevance;
      if (a.sink == LrpSink::constant_input && a.constant_op == OpKind::embedding) got_pos += a.relevance;
      if (a.sink == LrpSink::constant_input && a.constant_op == OpKind::leaf) got_type += a.relevance;
      if (a.sink == LrpSink::softmax) softmax += a.relevance;
      EXPECT_NE(a.sink, LrpSink::epsilon) << "epsilon 0 holds nothing back";
    }
    const double f = g.value(y)[0];
    EXPECT_NEAR(got_pos, want_pos, 1e-5 * (1 + std::fabs(want_pos)));
    EXPECT_NEAR(got_type, want_type, 1e-5 * (1 + std::fabs(want_type)));
    EXPECT_NEAR(words + all, f, 1e-5 * (1 + std::fabs(f)));
    if (variant == LrpRule::cp_lrp) {
      EXPECT_NEAR(softmax, 0, 1e-5 * (1 + std::fabs(f)));
    } else {
      EXPECT_GT(std::fabs(softmax), 1e-6);
    }
  }
}

TEST(LrpErrors, RulesAndOptionsAModelDoesNotHave) {
  const Tiny bert = tiny(kBertConfig, 8), lstm = tiny(kBiLstmConfig, 8), cnn = tiny(kCnnConfig, 8);
  EXPECT_NE(error_of([&] { run(bert, "lrp", "rule=z-plus"); }).find("CNN"), std::string::npos);
  EXPECT_NE(error_of([&] { run(lstm, "lrp", "rule=alpha-beta"); }).find("CNN"), std::string::npos);
  EXPECT_NE(error_of([&] { run(cnn, "lrp", "bias-factor=1"); }).find("BiLSTM"), std::string::npos);
  EXPECT_NE(error_of([&] { run(cnn, "lrp", "alpha=0.5"); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { run(cnn, "lrp", "rule=z"); }).find("not one of"), std::string::npos);
  const MethodInfo& m = method_info("lrp");
  EXPECT_EQ(m.check, "conservation-gap");
  const MethodOptions o = resolve_options("lrp", {});
  EXPECT_EQ(o.at("rule"), "epsilon");
  EXPECT_EQ(o.at("variant"), "attnlrp");
  EXPECT_EQ(o.at("bias-factor"), "0");
  // Transformers default to epsilon 0 (LXT's AttnLRP), the others to 1e-3.
  EXPECT_EQ(resolve_options("lrp", {}, "transformer").at("epsilon"), "0");
  EXPECT_EQ(resolve_options("lrp", {}, "cnn").at("epsilon"), o.at("epsilon"));
  EXPECT_EQ(run(bert, "lrp").options.at("epsilon"), "0");
}

}  // namespace
