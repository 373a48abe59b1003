// Graph::Retain::gradients (graph.h): a tape that frees every value no
// later op and no backward rule reads, and reuses the memory. The gradients
// must be the same bit for bit as with Retain::all, for every op kind (the
// table of what each backward reads, given which operands need gradients),
// on the transformer the explanations run, and the passes that need the
// freed values must refuse.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "check_util.h"
#include "tiny_models.h"
#include "wordlight/graph.h"
#include "wordlight/model.h"

using namespace wordlight;

namespace {

using Retain = Graph<float>::Retain;

std::vector<float> values(size_t n, uint64_t seed, float scale = 0.5f) {
  std::vector<float> v(n);
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (float& f : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    f = scale * (static_cast<float>(s >> 40) / static_cast<float>(1 << 24) * 2.f - 1.f);
  }
  return v;
}

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

// Every op kind on one tape, with a forward_boundary after each step that
// names only what the next steps read: in Retain::gradients each boundary
// frees whatever the table says no backward rule reads.
struct AllOps {
  static constexpr int B = 2, T = 6, C = 8, H = 2, F = 12, L = 3;
  std::vector<float> x = values(B * T * C, 1), w1 = values(C * C, 2), b1 = values(C, 3), w2 = values(F * C, 4),
                     b2 = values(F, 5), w3 = values(C * F, 6), gamma = values(C, 7, 1.f), beta = values(C, 8),
                     wc = values(C * 3 * C, 9), bc = values(C, 10), wl = values(L * C, 11);
  std::vector<uint8_t> mask = std::vector<uint8_t>(B * T, 1);
  std::vector<int32_t> ids = {1, 0, 2}, labels = {2, 0};

  AllOps() { mask[B * T - 1] = 0; }

  // Returns the scalar output; *xv the input.
  Var build(Graph<float>& g, Var* xv_out) {
    Var xv = g.input({B, T, C}, x.data(), true);
    *xv_out = xv;
    Var W1 = g.parameter({C, C}, w1.data()), B1 = g.parameter({C}, b1.data());
    Var W2 = g.parameter({F, C}, w2.data()), B2 = g.parameter({F}, b2.data());
    Var W3 = g.parameter({C, F}, w3.data()), G = g.parameter({C}, gamma.data()), Be = g.parameter({C}, beta.data());
    Var WC = g.parameter({C, 3, C}, wc.data()), BC = g.parameter({C}, bc.data());
    Var WL = g.parameter({L, C}, wl.data());
    Var h = g.layernorm(g.add(xv, g.linear(xv, W1, B1)), G, Be, 1e-5f);
    g.forward_boundary({h});
    Var q = g.linear(h, W1), k = g.tanh(h), v = g.sigmoid(h);
    g.forward_boundary({h, q, k, v});
    Var a = g.attention(q, k, v, H, mask.data());
    g.forward_boundary({h, a});
    Var f = g.linear(g.gelu(g.linear(g.mul(a, h), W2, B2)), W3);  // mul reads both factors
    g.forward_boundary({h, f});
    Var sp = g.softplus(g.scale(f, 0.5f), 2.0);
    Var r = g.relu(g.add(sp, h));
    g.forward_boundary({r});
    Var c = g.conv1d(r, WC, BC, 1);
    g.forward_boundary({c});
    Var m = g.maxpool(c, 2, 2);  // (B, 3, C)
    Var cat = g.concat({m, g.slice(c, 1, 0, 2)}, 1);  // (B, 5, C)
    g.forward_boundary({cat});
    Var s = g.softmax(cat), ls = g.log_softmax(cat);
    g.forward_boundary({s, ls});
    Var mm = g.matmul(s, ls, false, true);  // (B, 5, 5)
    g.forward_boundary({mm});
    Var e = g.embedding(g.reshape(mm, Shape{B * 5, 5}), ids.data(), Shape{3});  // rows of mm
    Var logits = g.linear(g.unary(e, {ops::Unary::gelu_tanh, 1.0}), g.parameter({L, 5}, wl.data()));
    g.forward_boundary({logits});
    Var ce = g.cross_entropy(g.slice(logits, 0, 0, 2), labels.data());
    Var pk = g.sum(g.pick(logits, ids.data()));
    g.forward_boundary({ce, pk});
    return g.add(ce, pk);
  }
};

}  // namespace


// The gradients of x (and of every parameter, when they need one: then a
// linear's backward reads its input) and the output, bit for bit.
TEST(TapeRetain, EveryOpKindSameGradientsBitForBit) {
  for (bool params : {false, true}) {
    AllOps m;
    Graph<float> ga, gg;
    gg.retain = Retain::gradients;
    ga.params_require_grad = gg.params_require_grad = params;
    Var xa, xg;
    Var ya = m.build(ga, &xa), yg = m.build(gg, &xg);
    ASSERT_TRUE(same_bits(ga.value(ya), gg.value(yg), 1));
    ga.backward(ya);
    gg.backward(yg);
    const size_t n = m.x.size();
    ASSERT_NE(gg.grad(xg), nullptr);
    EXPECT_TRUE(same_bits(ga.grad(xa), gg.grad(xg), n)) << "params " << params;
    EXPECT_TRUE(same_bits(ga.value(ya), gg.value(yg), 1));  // the output's value stays
    if (params) {
      for (std::vector<float>* p : {&m.w1, &m.b1, &m.w2, &m.b2, &m.w3, &m.gamma, &m.beta, &m.wc, &m.bc, &m.wl}) {
        std::vector<float> a(p->size(), 0.f), b(p->size(), 0.f);
        EXPECT_TRUE(ga.accumulate_parameter_grad(p->data(), static_cast<int64_t>(p->size()), a.data()));
        EXPECT_TRUE(gg.accumulate_parameter_grad(p->data(), static_cast<int64_t>(p->size()), b.data()));
        EXPECT_TRUE(same_bits(a.data(), b.data(), a.size()));
      }
    }
  }
}

// Retain::all (the default) frees nothing: a boundary is a no-op and every
// value and gradient stays readable.
TEST(TapeRetain, DefaultKeepsEverything) {
  AllOps m;
  Graph<float> g;
  Var x;
  Var y = m.build(g, &x);
  g.backward(y);
  for (int id = 0; id < g.size(); ++id) EXPECT_NE(g.value(Var{id}), nullptr) << id;
  EXPECT_NO_THROW(g.backward(y));
}

// A transformer: the model's boundaries free the blocks' values during the
// forward, backward frees the rest; the gradient is the same bit for bit,
// the live memory after the forward is a fraction, and the passes that read
// freed values refuse.
TEST(TapeRetain, TransformerFreesWhatBackwardDoesNotRead) {
  const char* cfg = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
    "vocab_size": 12, "hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4,
    "intermediate_size": 128, "max_position_embeddings": 16, "num_labels": 2})";
  const wltest::Tiny t = wltest::tiny_model(cfg, 5);
  const int N = 8, T = 10, D = t.model->embedding_dim();
  TokenBatch b;
  b.B = N;
  b.T = T;
  for (int i = 0; i < N * T; ++i) b.ids.push_back(2 + i % 9);
  b.mask.assign(b.ids.size(), 1);
  const std::vector<float> x = values(static_cast<size_t>(N) * T * D, 12);
  const std::vector<int32_t> idx(N, 1);
  size_t live_after_forward[2], used[2];
  std::vector<float> grads[2], outs[2];
  for (int mode = 0; mode < 2; ++mode) {
    Graph<float> g;
    g.retain = mode ? Retain::gradients : Retain::all;
    Var xv = g.input(Shape{N, T, D}, x.data(), true);
    Var y = g.pick(t.model->forward(g, xv, b), idx.data());
    live_after_forward[mode] = g.arena_bytes_live();
    outs[mode].assign(g.value(y), g.value(y) + N);
    g.backward(g.sum(y));
    used[mode] = g.arena_bytes_used();
    grads[mode].assign(g.grad(xv), g.grad(xv) + x.size());
    if (mode == 1) {
      const auto& marks = g.marks();
      ASSERT_FALSE(marks.empty());
      EXPECT_EQ(g.value(marks.back().v), nullptr);  // a layer's output: freed
      EXPECT_EQ(g.grad(marks.back().v), nullptr);
      EXPECT_NE(g.value(xv), nullptr);  // leaves stay
      EXPECT_NE(wltest::error_of([&] { g.lrp_backward(y, LrpOptions{}); }).find("freed"), std::string::npos);
      EXPECT_NE(wltest::error_of([&] { g.backward(y); }).find("Retain::gradients"), std::string::npos);
      std::vector<float> V(x.size(), 1.f);
      g.set_tangent(xv, 1, V.data());
      EXPECT_NE(wltest::error_of([&] { g.forward_tangent(); }).find("freed"), std::string::npos);
      // clear() makes a fresh tape: a second pass runs (and reuses the memory).
      g.clear();
      Var xv2 = g.input(Shape{N, T, D}, x.data(), true);
      Var y2 = g.pick(t.model->forward(g, xv2, b), idx.data());
      g.backward(g.sum(y2));
      EXPECT_TRUE(same_bits(g.grad(xv2), grads[1].data(), x.size()));
    }
  }
  EXPECT_TRUE(same_bits(outs[0].data(), outs[1].data(), N));
  EXPECT_TRUE(same_bits(grads[0].data(), grads[1].data(), x.size()));
  // After the forward, q, k, v, the probabilities, the GELU's input and
  // output and the LayerNorms' inputs stay: about 3/4 of the values here
  // (the feed-forward is most of them). The whole pass's footprint, with
  // the gradients freed as backward goes, is under half.
  EXPECT_LT(static_cast<double>(live_after_forward[1]), 0.8 * static_cast<double>(live_after_forward[0]))
      << live_after_forward[1] << " of " << live_after_forward[0];
  EXPECT_LT(static_cast<double>(used[1]), 0.5 * static_cast<double>(used[0])) << used[1] << " of " << used[0];
}

// The arena's free list: a released buffer goes to the next request of
// (nearly) its size, not to a much smaller or a larger one.
TEST(TapeRetain, ArenaReusesReleasedBuffers) {
  Arena a;
  float* p = a.alloc<float>(1000);
  const size_t used = a.bytes_in_use();
  a.release(p, 1000);
  EXPECT_EQ(a.bytes_free(), 4032u);  // 4000 bytes, rounded up to 64
  EXPECT_EQ(a.alloc<float>(900), p);  // within a quarter: reused
  EXPECT_EQ(a.bytes_in_use(), used);
  a.release(p, 900);
  EXPECT_NE(a.alloc<float>(100), p);  // far smaller: a new buffer
  EXPECT_NE(a.alloc<float>(1200), p);  // larger: a new buffer
  a.reset();
  EXPECT_EQ(a.bytes_free(), 0u);
}
