// Whole-model derivative checks on the tape: small networks composed from the
// ops (a two-layer GELU/softplus net, a transformer block, the Arras CNN, an
// LSTM cell), their gradients and exact Hessian-vector products against
// central finite differences in double precision, and the float fast path
// against the double reference.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "check_util.h"
#include "wordlight/graph.h"

using namespace wordlight;
using wltest::all_close;
using wltest::random_vec;

namespace {

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// A model is anything with `template <class T> Var forward(Graph<T>&, Var x)`
// returning a scalar, plus the input shape.
template <class Model>
double eval(const Model& m, const std::vector<double>& x) {
  Graph<double> g(Backend::reference);
  Var xv = g.input(m.in_shape, x.data());
  return g.value(m.forward(g, xv))[0];
}

template <class Model>
std::vector<double> fd_gradient(const Model& m, const std::vector<double>& x, double h) {
  std::vector<double> grad(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    auto p = x, q = x;
    p[i] += h;
    q[i] -= h;
    grad[i] = (eval(m, p) - eval(m, q)) / (2 * h);
  }
  return grad;
}

template <class T, class Model>
std::vector<T> gradient(const Model& m, const std::vector<T>& x, Backend be) {
  Graph<T> g(be);
  Var xv = g.input(m.in_shape, x.data());
  Var y = m.forward(g, xv);
  g.backward(y);
  return std::vector<T>(g.grad(xv), g.grad(xv) + x.size());
}

template <class T, class Model>
std::vector<T> hvp(const Model& m, const std::vector<T>& x, int K, const std::vector<T>& V, Backend be) {
  Graph<T> g(be);
  Var xv = g.input(m.in_shape, x.data());
  Var y = m.forward(g, xv);
  std::vector<T> out(K * x.size());
  hessian_vector_products(g, y, xv, K, V.data(), out.data());
  return out;
}

// Gradient vs FD, HVP vs FD of the gradient (double), and the float fast
// path vs the double reference.
template <class Model>
void check_model(const Model& m, uint64_t seed, double fd_rtol, double float_rtol, double float_atol) {
  const size_t n = m.in_shape.numel();
  std::vector<double> x = m.make_input(seed);
  ASSERT_EQ(x.size(), n);
  const double h = 1e-5;

  // first order
  auto g = gradient<double>(m, x, Backend::reference);
  auto gfd = fd_gradient(m, x, h);
  EXPECT_TRUE(all_close(g, gfd, fd_rtol, 1e-8)) << "gradient vs finite differences";

  // second order: H v for K directions vs (grad(x + h v) - grad(x - h v)) / 2h
  const int K = 3;
  auto V = random_vec(K * n, seed + 7);
  auto HV = hvp<double>(m, x, K, V, Backend::reference);
  for (int k = 0; k < K; ++k) {
    std::vector<double> xp = x, xm = x;
    for (size_t i = 0; i < n; ++i) {
      xp[i] += h * V[k * n + i];
      xm[i] -= h * V[k * n + i];
    }
    auto gp = gradient<double>(m, xp, Backend::reference), gm = gradient<double>(m, xm, Backend::reference);
    std::vector<double> fd(n), got(HV.begin() + k * n, HV.begin() + (k + 1) * n);
    for (size_t i = 0; i < n; ++i) fd[i] = (gp[i] - gm[i]) / (2 * h);
    EXPECT_TRUE(all_close(got, fd, fd_rtol, 1e-7)) << "Hessian-vector product vs FD of gradients, direction " << k;
  }

  // float fast path vs double reference
  auto xf = cast<float>(x);
  auto gf = gradient<float>(m, xf, Backend::fast);
  EXPECT_TRUE(all_close(gf, g, float_rtol, float_atol)) << "float fast gradient vs double reference";
  auto HVf = hvp<float>(m, xf, K, cast<float>(V), Backend::fast);
  EXPECT_TRUE(all_close(HVf, HV, float_rtol, float_atol)) << "float fast HVP vs double reference";
}

// ------------------------------------------------------------ models
// x (6) -> linear 4 -> gelu -> linear 3 -> softplus(beta=2) -> linear 1 -> sum
struct TwoLayer {
  Shape in_shape{6};
  std::vector<double> w1 = random_vec(24, 1), b1 = random_vec(4, 2), w2 = random_vec(12, 3), b2 = random_vec(3, 4),
                      w3 = random_vec(3, 5);
  std::vector<double> make_input(uint64_t s) const { return random_vec(6, s, -2, 2); }
  template <class T>
  Var forward(Graph<T>& g, Var x) const {
    auto W1 = keep<T>(w1), B1 = keep<T>(b1), W2 = keep<T>(w2), B2 = keep<T>(b2), W3 = keep<T>(w3);
    Var h = g.gelu(g.linear(x, g.parameter({4, 6}, W1->data()), g.parameter({4}, B1->data())));
    h = g.softplus(g.linear(h, g.parameter({3, 4}, W2->data()), g.parameter({3}, B2->data())), 2.0);
    return g.sum(g.linear(h, g.parameter({1, 3}, W3->data())));
  }
  // Parameters reference external memory: keep a typed copy alive for the
  // graph's lifetime (the copies live as long as the model object).
  template <class T>
  std::shared_ptr<std::vector<T>> keep(const std::vector<double>& v) const {
    auto p = std::make_shared<std::vector<T>>(cast<T>(v));
    store.push_back(p);
    return p;
  }
  mutable std::vector<std::shared_ptr<void>> store;
};

// The models below take their parameters from double vectors: p<T>(v) is a
// copy of v in the graph's type, kept alive as long as the model.
struct KeepsParams {
  mutable std::vector<std::shared_ptr<void>> store;
  template <class T_>
  const T_* p(const std::vector<double>& v) const {
    auto sp = std::make_shared<std::vector<T_>>(cast<T_>(v));
    store.push_back(sp);
    return sp->data();
  }
};

// One post-LN transformer encoder block (BERT layout) with padding, then a
// classifier on token 0 and the log-probability of class 1.
struct TransformerBlock : KeepsParams {
  static constexpr int B = 2, T = 5, C = 8, H = 2, F = 12, L = 3;
  Shape in_shape{B, T, C};
  std::vector<double> wq = random_vec(C * C, 11, -.5, .5), bq = random_vec(C, 12, -.1, .1),
                      wk = random_vec(C * C, 13, -.5, .5), bk = random_vec(C, 14, -.1, .1),
                      wv = random_vec(C * C, 15, -.5, .5), bv = random_vec(C, 16, -.1, .1),
                      wo = random_vec(C * C, 17, -.5, .5), bo = random_vec(C, 18, -.1, .1),
                      g1 = random_vec(C, 19, .5, 1.5), be1 = random_vec(C, 20, -.1, .1),
                      wf1 = random_vec(F * C, 21, -.5, .5), bf1 = random_vec(F, 22, -.1, .1),
                      wf2 = random_vec(C * F, 23, -.5, .5), bf2 = random_vec(C, 24, -.1, .1),
                      g2 = random_vec(C, 25, .5, 1.5), be2 = random_vec(C, 26, -.1, .1),
                      wc = random_vec(L * C, 27, -.5, .5), bc = random_vec(L, 28, -.1, .1);
  std::vector<uint8_t> mask{1, 1, 1, 1, 1, 1, 1, 1, 0, 0};  // second sequence has 3 real tokens
  std::vector<double> make_input(uint64_t s) const { return random_vec(B * T * C, s); }
  template <class T_>
  Var forward(Graph<T_>& g, Var x) const {
    auto lin = [&](Var in, const std::vector<double>& w, const std::vector<double>& b, int64_t O, int64_t I) {
      return g.linear(in, g.parameter({O, I}, p<T_>(w)), g.parameter({O}, p<T_>(b)));
    };
    Var q = lin(x, wq, bq, C, C), k = lin(x, wk, bk, C, C), v = lin(x, wv, bv, C, C);
    Var a = lin(g.attention(q, k, v, H, mask.data()), wo, bo, C, C);
    Var h1 = g.layernorm(g.add(x, a), g.parameter({C}, p<T_>(g1)), g.parameter({C}, p<T_>(be1)), T_(1e-12));
    Var f = lin(g.gelu(lin(h1, wf1, bf1, F, C)), wf2, bf2, C, F);
    Var h2 = g.layernorm(g.add(h1, f), g.parameter({C}, p<T_>(g2)), g.parameter({C}, p<T_>(be2)), T_(1e-12));
    Var cls = g.reshape(g.slice(h2, 1, 0, 1), Shape{B, C});
    Var logits = g.tanh(lin(cls, wc, bc, L, C));
    Var lp = g.log_softmax(logits);
    const int32_t target[B] = {1, 2};
    return g.sum(g.pick(lp, target));
  }
};

// The Arras et al. CNN on given embeddings: conv (width 2) -> act -> max over
// time -> linear -> logit of class 0. With softplus it is smooth (what
// Integrated Hessians uses); with ReLU the HVP is zero almost everywhere.
struct TinyCNN : KeepsParams {
  static constexpr int B = 2, T = 6, D = 4, F = 5, L = 3;
  bool smooth = true;
  Shape in_shape{B, T, D};
  std::vector<double> wconv = random_vec(F * 2 * D, 31), bconv = random_vec(F, 32, -.1, .1),
                      wout = random_vec(L * F, 33), bout = random_vec(L, 34, -.1, .1);
  std::vector<double> make_input(uint64_t s) const { return random_vec(B * T * D, s); }
  template <class T_>
  Var forward(Graph<T_>& g, Var x) const {
    Var c = g.conv1d(x, g.parameter({F, 2, D}, p<T_>(wconv)), g.parameter({F}, p<T_>(bconv)), 0);
    c = smooth ? g.softplus(c, 4.0) : g.relu(c);
    Var pooled = g.reshape(g.max_over_time(c), Shape{B, F});
    Var logits = g.linear(pooled, g.parameter({L, F}, p<T_>(wout)), g.parameter({L}, p<T_>(bout)));
    const int32_t target[B] = {0, 0};
    return g.sum(g.pick(logits, target));
  }
};

// One LSTM step over a sequence of 3, gates from a concat of x_t and h.
struct LstmCell : KeepsParams {
  static constexpr int T = 3, D = 3, Hd = 4;
  Shape in_shape{T, D};
  std::vector<double> w = random_vec(4 * Hd * (D + Hd), 41, -.6, .6), b = random_vec(4 * Hd, 42, -.2, .2);
  std::vector<double> make_input(uint64_t s) const { return random_vec(T * D, s); }
  template <class T_>
  Var forward(Graph<T_>& g, Var x) const {
    Var W = g.parameter({4 * Hd, D + Hd}, p<T_>(w)), Bv = g.parameter({4 * Hd}, p<T_>(b));
    std::vector<T_> zeros(Hd, T_(0));
    Var h = g.constant({1, Hd}, zeros.data()), c = g.constant({1, Hd}, zeros.data());
    for (int t = 0; t < T; ++t) {
      Var xt = g.slice(x, 0, t, t + 1);
      Var z = g.linear(g.concat({xt, h}, 1), W, Bv);
      Var i = g.sigmoid(g.slice(z, 1, 0, Hd)), f = g.sigmoid(g.slice(z, 1, Hd, 2 * Hd));
      Var gg = g.tanh(g.slice(z, 1, 2 * Hd, 3 * Hd)), o = g.sigmoid(g.slice(z, 1, 3 * Hd, 4 * Hd));
      c = g.add(g.mul(f, c), g.mul(i, gg));
      h = g.mul(o, g.tanh(c));
    }
    return g.sum(g.scale(h, T_(0.7)));
  }
};

}  // namespace

// Float tolerances: the float fast path differs from the double reference by
// rounding only; through ~10 layers with O(1) activations, relative errors of
// ~1e-5 and absolute ~1e-5 are float's precision, not bugs.
TEST(Graph, TwoLayerGeluSoftplusHessianVectorProduct) { check_model(TwoLayer{}, 100, 1e-6, 1e-4, 1e-5); }

TEST(Graph, TransformerBlockGradientAndHvp) { check_model(TransformerBlock{}, 200, 1e-5, 2e-4, 2e-5); }

TEST(Graph, SmoothCnnGradientAndHvp) { check_model(TinyCNN{}, 300, 1e-6, 1e-4, 1e-5); }

TEST(Graph, ReluCnnGradientAndZeroHvp) {
  // ReLU networks are piecewise linear: the HVP is exactly zero away from
  // kinks. (Random inputs: the chance that a FD step of 1e-5 crosses a kink
  // or a max-pooling tie is negligible; the seed is fixed.)
  TinyCNN m;
  m.smooth = false;
  auto x = m.make_input(301);
  auto g = gradient<double>(m, x, Backend::reference);
  EXPECT_TRUE(all_close(g, fd_gradient(m, x, 1e-5), 1e-6, 1e-8));
  auto V = random_vec(2 * x.size(), 302);
  auto HV = hvp<double>(m, x, 2, V, Backend::reference);
  for (double v : HV) EXPECT_EQ(v, 0.0);
}

TEST(Graph, LstmCellGradientAndHvp) { check_model(LstmCell{}, 400, 1e-6, 1e-4, 1e-5); }

TEST(Graph, ParameterGradientsWhenTraining) {
  // d/dw of the two-layer net for one weight matrix, vs FD on that weight.
  TwoLayer m;
  auto x = m.make_input(5);
  Graph<double> g(Backend::reference);
  g.params_require_grad = true;
  Var xv = g.input(m.in_shape, x.data(), false);
  Var W1 = g.parameter({4, 6}, m.w1.data());
  Var h = g.gelu(g.linear(xv, W1, g.parameter({4}, m.b1.data())));
  h = g.softplus(g.linear(h, g.parameter({3, 4}, m.w2.data()), g.parameter({3}, m.b2.data())), 2.0);
  Var y = g.sum(g.linear(h, g.parameter({1, 3}, m.w3.data())));
  g.backward(y);
  ASSERT_EQ(g.grad(xv), nullptr) << "an input that does not require a gradient gets none";
  std::vector<double> got(g.grad(W1), g.grad(W1) + 24), fd(24);
  for (int i = 0; i < 24; ++i) {
    TwoLayer mp = m, mm = m;
    mp.w1[i] += 1e-5;
    mm.w1[i] -= 1e-5;
    fd[i] = (eval(mp, x) - eval(mm, x)) / 2e-5;
  }
  EXPECT_TRUE(all_close(got, fd, 1e-6, 1e-8));
}

TEST(Graph, DropoutOnlyWhileTraining) {
  std::vector<float> x = wltest::random_vecf(100, 9);
  Graph<float> g;
  Var xv = g.input({100}, x.data());
  EXPECT_EQ(g.dropout(xv, 0.5, 1).id, xv.id) << "dropout is the identity at explanation time";
  g.training = true;
  Var y = g.dropout(xv, 0.5, 1);
  int zeros = 0;
  for (int i = 0; i < 100; ++i) {
    const float v = g.value(y)[i];
    if (v == 0.f)
      ++zeros;
    else
      EXPECT_FLOAT_EQ(v, 2 * x[i]);
  }
  EXPECT_GT(zeros, 20);
  EXPECT_LT(zeros, 80);
  g.backward(g.sum(y));
  for (int i = 0; i < 100; ++i) EXPECT_FLOAT_EQ(g.grad(xv)[i], g.value(y)[i] == 0.f ? 0.f : 2.f);
}

TEST(Graph, SteadyStatePassesDoNotGrowTheArena) {
  TransformerBlock m;
  auto x = cast<float>(m.make_input(3));
  Graph<float> g;
  std::vector<float> V(2 * x.size(), 0.5f), HV(2 * x.size());
  size_t reserved[3];
  for (int pass = 0; pass < 3; ++pass) {
    g.clear();
    Var xv = g.input(m.in_shape, x.data());
    Var y = m.forward(g, xv);
    hessian_vector_products(g, y, xv, 2, V.data(), HV.data());
    reserved[pass] = g.arena_bytes_reserved();
  }
  EXPECT_EQ(reserved[1], reserved[2]);
}

TEST(Graph, ShapeErrorsNameTheOpAndShapes) {
  Graph<float> g;
  std::vector<float> buf(64, 0.f);
  Var x = g.input({2, 3}, buf.data());
  Var w = g.parameter({4, 5}, buf.data());
  EXPECT_ERROR_CONTAINS(g.linear(x, w), "linear: x (2, 3) and weight (4, 5)");
  Var b = g.parameter({3}, buf.data());
  Var w2 = g.parameter({4, 3}, buf.data());
  EXPECT_ERROR_CONTAINS(g.linear(x, w2, b), "linear: bias (3,) does not match weight (4, 3)");
  Var a = g.input({2, 3, 4}, buf.data());
  Var c = g.input({2, 5, 4}, buf.data());
  EXPECT_ERROR_CONTAINS(g.matmul(a, c), "matmul: inner dims differ");
  EXPECT_ERROR_CONTAINS(g.add(x, g.input({4}, buf.data())), "add: shapes (2, 3) and (4,) do not broadcast");
  Var q = g.input({1, 2, 6}, buf.data());
  EXPECT_ERROR_CONTAINS(g.attention(q, q, q, 4), "attention: 4 heads do not divide the width 6");
  EXPECT_ERROR_CONTAINS(g.slice(x, 1, 2, 5), "slice: range [2, 5) out of bounds for axis 1 of (2, 3)");
  EXPECT_ERROR_CONTAINS(g.reshape(x, Shape{7}), "reshape: cannot view (2, 3) as (7,)");
  const int32_t bad[2] = {0, 3};
  EXPECT_ERROR_CONTAINS(g.pick(x, bad), "pick: index 3 at row 1 is outside [0, 3)");
  EXPECT_ERROR_CONTAINS(g.layernorm(x, g.parameter({4}, buf.data()), Var{}, 1e-5f), "layernorm: gamma (4,) does not match x (2, 3)");
  EXPECT_ERROR_CONTAINS(g.conv1d(a, g.parameter({2, 9, 4}, buf.data()), Var{}, 0), "conv1d: kernel width 9 exceeds");
  EXPECT_ERROR_CONTAINS(g.softplus(x, 0.0), "softplus: temperature beta must be > 0");
  Var k = g.constant({2, 3}, buf.data());
  EXPECT_ERROR_CONTAINS(g.backward(g.sum(k)), "backward: the output does not depend on any input");
  EXPECT_ERROR_CONTAINS(g.set_tangent(g.sum(x), 1, buf.data()), "set_tangent: variable");
  EXPECT_ERROR_CONTAINS(g.linear(x, Var{999}), "linear: operand 999 is not a variable of this graph");
}
