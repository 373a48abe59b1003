// Multi-head attention: derivatives against finite differences in double
// (with and without padding, with dprobs passed or recomputed), the forward
// against a literal per-head softmax, masked keys getting probability
// exactly 0, the float fast path against the float reference, the pool split
// against one thread, the null-pointer conventions of ops.h, and every error.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "check_util.h"
#include "op_suite.h"
#include "wordlight/error.h"
#include "wordlight/ops.h"
#include "wordlight/thread_pool.h"

namespace {

using namespace wltest::op_suite;

ops::AttentionDims att_dims(int64_t B, int64_t T, int64_t H, int64_t Dh) { return ops::AttentionDims{B, T, H, Dh}; }
std::string att_name(const ops::AttentionDims& d) {
  return "B=" + std::to_string(d.B) + " T=" + std::to_string(d.T) + " H=" + std::to_string(d.H) +
         " Dh=" + std::to_string(d.Dh);
}
int64_t seq_size(const ops::AttentionDims& d) { return d.B * d.T * d.H * d.Dh; }
int64_t probs_size(const ops::AttentionDims& d) { return d.B * d.H * d.T * d.T; }

// Batch item b has its last `b` tokens padded (at least one real token).
std::vector<uint8_t> padding_mask(const ops::AttentionDims& d) {
  std::vector<uint8_t> m(d.B * d.T, 1);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t j = std::max<int64_t>(1, d.T - b); j < d.T; ++j) m[b * d.T + j] = 0;
  return m;
}

// The definition, one query row at a time, sharing no code with the op:
// s_j = <q_i, k_j> / sqrt(Dh) over the real keys, p = softmax(s), out_i = sum_j p_j v_j.
void naive_attention(const ops::AttentionDims& d, const std::vector<double>& q, const std::vector<double>& k,
                     const std::vector<double>& v, const uint8_t* mask, std::vector<double>& probs,
                     std::vector<double>& out) {
  const int64_t HD = d.H * d.Dh;
  probs.assign(probs_size(d), 0.0);
  out.assign(seq_size(d), 0.0);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t i = 0; i < d.T; ++i) {
        std::vector<double> s(d.T);
        double mx = -INFINITY;
        for (int64_t j = 0; j < d.T; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < d.Dh; ++e)
            dot += q[(b * d.T + i) * HD + h * d.Dh + e] * k[(b * d.T + j) * HD + h * d.Dh + e];
          s[j] = dot / std::sqrt(double(d.Dh));
          if (!mask || mask[b * d.T + j]) mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (int64_t j = 0; j < d.T; ++j)
          if (!mask || mask[b * d.T + j]) z += std::exp(s[j] - mx);
        double* p = &probs[((b * d.H + h) * d.T + i) * d.T];
        for (int64_t j = 0; j < d.T; ++j) p[j] = (!mask || mask[b * d.T + j]) ? std::exp(s[j] - mx) / z : 0.0;
        for (int64_t j = 0; j < d.T; ++j)
          for (int64_t e = 0; e < d.Dh; ++e)
            out[(b * d.T + i) * HD + h * d.Dh + e] += p[j] * v[(b * d.T + j) * HD + h * d.Dh + e];
      }
}

// y = out(q, k, v). Each closure recomputes probs (and dprobs) from x.
// pass_dprobs = false exercises the backward tangent's own recomputation.
wltest::OpUnderTest attention_op(Backend be, const ops::AttentionDims& d, const uint8_t* mask, bool pass_dprobs) {
  wltest::OpUnderTest op;
  const size_t n = size_t(seq_size(d)), np = size_t(probs_size(d));
  op.in_sizes = {n, n, n};  // q, k, v
  op.out_size = n;
  auto probs_of = [=](const Ins& x) {
    std::vector<double> P(np), out(n);
    ops::attention_forward<double>(be, d, x[0], x[1], x[2], mask, P.data(), out.data());
    return P;
  };
  op.forward = [=](const Ins& x, double* y) {
    std::vector<double> P(np);
    ops::attention_forward<double>(be, d, x[0], x[1], x[2], mask, P.data(), y);
  };
  op.tangent = [=](const Ins& x, int K, const Ins& dx, double* dy) {
    std::vector<double> dP(K * np);
    ops::attention_tangent<double>(be, d, K, x[0], x[1], x[2], probs_of(x).data(), dx[0], dx[1], dx[2], dP.data(),
                                   dy);
  };
  op.backward = [=](const Ins& x, const double* gy, const Outs& gx) {
    ops::attention_backward<double>(be, d, x[0], x[1], x[2], probs_of(x).data(), gy, gx[0], gx[1], gx[2]);
  };
  op.backward_tangent = [=](const Ins& x, int K, const Ins& dx, const double* gy, const double* dgy,
                            const Outs& dgx) {
    const auto P = probs_of(x);
    std::vector<double> dP;
    if (pass_dprobs) {
      dP.resize(K * np);
      ops::attention_tangent<double>(be, d, K, x[0], x[1], x[2], P.data(), dx[0], dx[1], dx[2], dP.data(),
                                     nullptr);
    }
    ops::attention_backward_tangent<double>(be, d, K, x[0], x[1], x[2], P.data(), dx[0], dx[1], dx[2],
                                            pass_dprobs ? dP.data() : nullptr, gy, dgy, dgx[0], dgx[1], dgx[2]);
  };
  return op;
}

// y = probs(q, k): checks the dprobs that the tangent writes.
wltest::OpUnderTest probs_op(const ops::AttentionDims& d, const uint8_t* mask) {
  wltest::OpUnderTest op;
  const size_t n = size_t(seq_size(d)), np = size_t(probs_size(d));
  op.in_sizes = {n, n, n};
  op.out_size = np;
  op.forward = [=](const Ins& x, double* P) {
    ops::attention_forward<double>(Backend::reference, d, x[0], x[1], x[2], mask, P, nullptr);
  };
  op.tangent = [=](const Ins& x, int K, const Ins& dx, double* dP) {
    std::vector<double> P(np);
    ops::attention_forward<double>(Backend::reference, d, x[0], x[1], x[2], mask, P.data(), nullptr);
    ops::attention_tangent<double>(Backend::reference, d, K, x[0], x[1], x[2], P.data(), dx[0], dx[1], dx[2], dP,
                                   nullptr);
  };
  return op;
}

TEST(OpsAttention, ForwardMatchesLiteralSoftmaxAndMaskedKeysGetZero) {
  for (auto d : {att_dims(1, 1, 1, 1), att_dims(2, 5, 3, 4), att_dims(3, 7, 2, 5), att_dims(2, 13, 4, 16)})
    for (bool masked : {false, true}) {
      SCOPED_TRACE(att_name(d) + (masked ? " masked" : ""));
      const auto mask = padding_mask(d);
      const uint8_t* m = masked ? mask.data() : nullptr;
      auto q = random_vec(seq_size(d), 1, -2, 2), k = random_vec(seq_size(d), 2, -2, 2),
           v = random_vec(seq_size(d), 3);
      std::vector<double> want_p, want_o;
      naive_attention(d, q, k, v, m, want_p, want_o);
      for (Backend be : {Backend::reference, Backend::fast}) {
        std::vector<double> P(probs_size(d)), out(seq_size(d));
        ops::attention_forward<double>(be, d, q.data(), k.data(), v.data(), m, P.data(), out.data());
        EXPECT_TRUE(all_close(P, want_p, 1e-12, 1e-14)) << "probs";
        EXPECT_TRUE(all_close(out, want_o, 1e-12, 1e-14)) << "out";
        // float, both backends, against the same literal computation
        std::vector<float> Pf(P.size()), of(out.size());
        auto qf = wltest::to_float(q), kf = wltest::to_float(k), vf = wltest::to_float(v);
        ops::attention_forward<float>(be, d, qf.data(), kf.data(), vf.data(), m, Pf.data(), of.data());
        EXPECT_TRUE(all_close(Pf, want_p, 1e-4, 1e-5)) << "float probs";
        EXPECT_TRUE(all_close(of, want_o, 1e-4, 1e-5)) << "float out";
        // masked keys: probability exactly 0, in every head and query row
        for (int64_t b = 0; b < d.B; ++b)
          for (int64_t h = 0; h < d.H; ++h)
            for (int64_t i = 0; i < d.T; ++i) {
              double row = 0;
              for (int64_t j = 0; j < d.T; ++j) {
                const int64_t at = ((b * d.H + h) * d.T + i) * d.T + j;
                row += P[at];
                if (m && !m[b * d.T + j]) {
                  EXPECT_EQ(P[at], 0.0);
                  EXPECT_EQ(Pf[at], 0.f);
                }
              }
              EXPECT_NEAR(row, 1.0, 1e-12);
            }
      }
    }
}

TEST(OpsAttention, DerivativesMatchFiniteDifferences) {
  for (auto d : {att_dims(1, 1, 1, 1), att_dims(2, 4, 2, 3), att_dims(2, 5, 3, 2)})
    for (bool masked : {false, true})
      for (bool pass_dprobs : {true, false}) {
        SCOPED_TRACE(att_name(d) + (masked ? " masked" : "") + (pass_dprobs ? "" : " dprobs recomputed"));
        const auto mask = padding_mask(d);
        const uint8_t* m = masked ? mask.data() : nullptr;
        const std::vector<std::vector<double>> x = {random_vec(seq_size(d), 51), random_vec(seq_size(d), 52),
                                                    random_vec(seq_size(d), 53)};
        wltest::check_op_derivatives(attention_op(Backend::reference, d, m, pass_dprobs), x);
        if (pass_dprobs) wltest::check_op_derivatives(probs_op(d, m), x);
      }
}

struct AttOut {
  std::vector<float> P, out, dP, dout, gq, gk, gv, dgq, dgk, dgv;
};

AttOut run_attention(Backend be, const ops::AttentionDims& d, const uint8_t* mask, int K, uint64_t seed) {
  const int64_t n = seq_size(d), np = probs_size(d);
  // q, k in [-2, 2]: sharper softmax rows than [-1, 1], closer to a trained model
  auto q = random_vecf(n, seed, -2, 2), k = random_vecf(n, seed + 1, -2, 2), v = random_vecf(n, seed + 2),
       dq = random_vecf(K * n, seed + 3), dk = random_vecf(K * n, seed + 4), dv = random_vecf(K * n, seed + 5),
       gout = random_vecf(n, seed + 6), dgout = random_vecf(K * n, seed + 7);
  AttOut o;
  o.P.resize(np);
  o.out.resize(n);
  o.dP.resize(K * np);
  o.dout.resize(K * n);
  // accumulated outputs start from non-zero values (+= is checked too)
  o.gq = random_vecf(n, seed + 8);
  o.gk = random_vecf(n, seed + 9);
  o.gv = random_vecf(n, seed + 10);
  o.dgq = random_vecf(K * n, seed + 11);
  o.dgk = random_vecf(K * n, seed + 12);
  o.dgv = random_vecf(K * n, seed + 13);
  ops::attention_forward<float>(be, d, q.data(), k.data(), v.data(), mask, o.P.data(), o.out.data());
  ops::attention_tangent<float>(be, d, K, q.data(), k.data(), v.data(), o.P.data(), dq.data(), dk.data(), dv.data(),
                                o.dP.data(), o.dout.data());
  ops::attention_backward<float>(be, d, q.data(), k.data(), v.data(), o.P.data(), gout.data(), o.gq.data(),
                                 o.gk.data(), o.gv.data());
  ops::attention_backward_tangent<float>(be, d, K, q.data(), k.data(), v.data(), o.P.data(), dq.data(), dk.data(),
                                         dv.data(), o.dP.data(), gout.data(), dgout.data(), o.dgq.data(),
                                         o.dgk.data(), o.dgv.data());
  return o;
}

// Fast float vs float reference. The two differ only in the GEMMs, which
// reduce over Dh (scores, gP, dgP) and then over T (out, gq, gk, gv); the
// softmax turns an absolute score error e into a relative probability error
// of at most 2e, and probabilities sum to 1, so every output carries the
// rounding of about Dh + T products: ~(Dh + T) * eps on random data. We
// allow 2 * (Dh + T) * eps absolute plus 1e-6 relative: the worst error
// measured over these cases (OpenBLAS natively, the SIMD128 kernel in wasm)
// is about 1/10 of that, while a wrong
// head offset or a missing term gives an O(1) error and a scale off by 1e-4
// fails.
void expect_attention_close(const AttOut& f, const AttOut& r, const ops::AttentionDims& d) {
  const double atol = 2.0 * FLT_EPSILON * double(d.Dh + d.T), rtol = 1e-6;
  EXPECT_TRUE(all_close(f.P, r.P, rtol, atol)) << "probs";
  EXPECT_TRUE(all_close(f.out, r.out, rtol, atol)) << "out";
  EXPECT_TRUE(all_close(f.dP, r.dP, rtol, atol)) << "dprobs";
  EXPECT_TRUE(all_close(f.dout, r.dout, rtol, atol)) << "dout";
  EXPECT_TRUE(all_close(f.gq, r.gq, rtol, atol)) << "gq";
  EXPECT_TRUE(all_close(f.gk, r.gk, rtol, atol)) << "gk";
  EXPECT_TRUE(all_close(f.gv, r.gv, rtol, atol)) << "gv";
  EXPECT_TRUE(all_close(f.dgq, r.dgq, rtol, atol)) << "dgq";
  EXPECT_TRUE(all_close(f.dgk, r.dgk, rtol, atol)) << "dgk";
  EXPECT_TRUE(all_close(f.dgv, r.dgv, rtol, atol)) << "dgv";
}

TEST(OpsAttention, FastMatchesReferenceOnAwkwardSizes) {
  // Below, at and past the SIMD tile in T (the rows and the columns of every
  // (T, T) block) and in Dh, plus a BERT-like block with padding.
  for (auto d : {att_dims(1, 1, 1, 1), att_dims(1, 3, 2, 5), att_dims(2, 4, 1, 8), att_dims(3, 5, 3, 7),
                 att_dims(2, 8, 2, 4), att_dims(1, 9, 4, 3), att_dims(2, 16, 1, 9), att_dims(1, 17, 2, 16),
                 att_dims(1, 33, 3, 17), att_dims(2, 13, 4, 16)})
    for (bool masked : {false, true}) {
      SCOPED_TRACE(att_name(d) + (masked ? " masked" : ""));
      const auto mask = padding_mask(d);
      const uint8_t* m = masked ? mask.data() : nullptr;
      const int K = 3;
      expect_attention_close(run_attention(Backend::fast, d, m, K, 90), run_attention(Backend::reference, d, m, K, 90),
                             d);
    }
}

TEST(OpsAttention, PoolSplitMatchesOneThread) {
  // Enough (b, h) pairs and work per pair that the pool splits them.
  const ops::AttentionDims d = att_dims(2, 64, 4, 16);
  const auto mask = padding_mask(d);
  const int before = wordlight::num_threads();
  wordlight::set_num_threads(1);
  const AttOut one = run_attention(Backend::fast, d, mask.data(), 2, 7);
  wordlight::set_num_threads(2);
  const AttOut two = run_attention(Backend::fast, d, mask.data(), 2, 7);
  wordlight::set_num_threads(before);
  // Each pair's arithmetic is the same whichever thread runs it.
  EXPECT_TRUE(all_close(two.out, one.out, 0, 0));
  EXPECT_TRUE(all_close(two.dout, one.dout, 0, 0));
  EXPECT_TRUE(all_close(two.gq, one.gq, 0, 0));
  EXPECT_TRUE(all_close(two.dgk, one.dgk, 0, 0));
  EXPECT_TRUE(all_close(two.dgv, one.dgv, 0, 0));
}

TEST(OpsAttention, NullTangentsActAsZeroAndNullOutputsAreSkipped) {
  const ops::AttentionDims d = att_dims(2, 5, 2, 3);
  const auto mask = padding_mask(d);
  const int K = 2;
  const int64_t n = seq_size(d), np = probs_size(d);
  auto q = random_vec(n, 1), k = random_vec(n, 2), v = random_vec(n, 3), dq = random_vec(K * n, 4),
       dv = random_vec(K * n, 5), gout = random_vec(n, 6), dgout = random_vec(K * n, 7);
  const std::vector<double> zero(K * n, 0.0), zg(n, 0.0);
  std::vector<double> P(np), out(n);
  ops::attention_forward<double>(Backend::fast, d, q.data(), k.data(), v.data(), mask.data(), P.data(), out.data());
  for (Backend be : {Backend::reference, Backend::fast}) {
    // tangent: dk = null equals dk = 0; dprobs = null still gives dout
    std::vector<double> dP1(K * np, 3.0), dP2(K * np, -3.0), do1(K * n, 3.0), do2(K * n, -3.0), do3(K * n, 1.0);
    ops::attention_tangent<double>(be, d, K, q.data(), k.data(), v.data(), P.data(), dq.data(), nullptr, dv.data(),
                                   dP1.data(), do1.data());
    ops::attention_tangent<double>(be, d, K, q.data(), k.data(), v.data(), P.data(), dq.data(), zero.data(),
                                   dv.data(), dP2.data(), do2.data());
    ops::attention_tangent<double>(be, d, K, q.data(), k.data(), v.data(), P.data(), dq.data(), nullptr, dv.data(),
                                   nullptr, do3.data());
    EXPECT_TRUE(all_close(dP1, dP2, 1e-12, 1e-14));
    EXPECT_TRUE(all_close(do1, do2, 1e-12, 1e-14));
    EXPECT_TRUE(all_close(do3, do1, 1e-12, 1e-14));
    // all input tangents null: dprobs and dout are zero
    ops::attention_tangent<double>(be, d, K, q.data(), k.data(), v.data(), P.data(), nullptr, nullptr, nullptr,
                                   dP1.data(), do1.data());
    EXPECT_TRUE(all_close(dP1, std::vector<double>(K * np, 0.0), 0, 0));
    EXPECT_TRUE(all_close(do1, std::vector<double>(K * n, 0.0), 0, 0));
    // backward tangent: null dk, dv, gout each act as zeros; dgk = null is skipped
    ops::attention_tangent<double>(be, d, K, q.data(), k.data(), v.data(), P.data(), dq.data(), nullptr, nullptr,
                                   dP2.data(), nullptr);
    for (bool with_gout : {true, false}) {
      std::vector<double> a_q(K * n, 1.0), a_v(K * n, 1.0), b_q = a_q, b_v = a_v, b_k = a_q;
      ops::attention_backward_tangent<double>(be, d, K, q.data(), k.data(), v.data(), P.data(), dq.data(), nullptr,
                                              nullptr, dP2.data(), with_gout ? gout.data() : nullptr, dgout.data(),
                                              a_q.data(), nullptr, a_v.data());
      ops::attention_backward_tangent<double>(be, d, K, q.data(), k.data(), v.data(), P.data(), dq.data(),
                                              zero.data(), zero.data(), dP2.data(),
                                              with_gout ? gout.data() : zg.data(), dgout.data(), b_q.data(),
                                              b_k.data(), b_v.data());
      EXPECT_TRUE(all_close(a_q, b_q, 1e-12, 1e-14));
      EXPECT_TRUE(all_close(a_v, b_v, 1e-12, 1e-14));
    }
  }
}

TEST(OpsAttention, ErrorsNameTheOp) {
  const ops::AttentionDims d = att_dims(2, 3, 1, 2);
  std::vector<float> x(seq_size(d), 0.5f), P(probs_size(d)), out(seq_size(d));
  // An item whose keys are all masked has no softmax: an error, not NaN or zeros.
  const std::vector<uint8_t> mask = {1, 0, 1, 0, 0, 0};
  EXPECT_ERROR_CONTAINS(
      ops::attention_forward<float>(Backend::fast, d, x.data(), x.data(), x.data(), mask.data(), P.data(), out.data()),
      "attention_forward: every key of batch item 1 is masked");
  EXPECT_ERROR_CONTAINS(ops::attention_tangent<float>(Backend::fast, att_dims(1, 3, 0, 2), 1, nullptr, nullptr,
                                                      nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr),
                        "attention_tangent: number of heads H must be at least 1 (got 0)");
  EXPECT_ERROR_CONTAINS(ops::attention_backward<double>(Backend::reference, att_dims(1, 3, 2, 0), nullptr, nullptr,
                                                        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr),
                        "attention_backward: head size Dh must be at least 1 (got 0)");
  EXPECT_ERROR_CONTAINS(ops::attention_backward_tangent<double>(Backend::reference, att_dims(1, -3, 2, 2), 1, nullptr,
                                                                nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                                nullptr, nullptr, nullptr, nullptr, nullptr, nullptr),
                        "attention_backward_tangent: negative dimension");
}

}  // namespace

// ---------------------------------------------------------------- causal (decoders)

namespace {
ops::AttentionDims causal_dims(int64_t B, int64_t T, int64_t H, int64_t Dh) {
  ops::AttentionDims d = att_dims(B, T, H, Dh);
  d.causal = true;
  return d;
}
}  // namespace

TEST(OpsAttention, CausalMatchesLiteralSoftmaxOverEarlierKeys) {
  // The literal computation of each query row i over keys j <= i (and real),
  // done by running the non-causal naive attention on the first i + 1
  // positions alone: row i of a causal op must equal the last row there.
  for (auto d : {causal_dims(1, 1, 1, 1), causal_dims(2, 5, 3, 4), causal_dims(3, 9, 2, 5), causal_dims(2, 17, 2, 8)})
    for (bool masked : {false, true}) {
      SCOPED_TRACE(att_name(d) + (masked ? " masked" : ""));
      const auto mask = padding_mask(d);
      const uint8_t* m = masked ? mask.data() : nullptr;
      auto q = random_vec(seq_size(d), 4, -2, 2), k = random_vec(seq_size(d), 5, -2, 2), v = random_vec(seq_size(d), 6);
      const int64_t HD = d.H * d.Dh;
      for (Backend be : {Backend::reference, Backend::fast}) {
        std::vector<double> P(probs_size(d)), out(seq_size(d));
        ops::attention_forward<double>(be, d, q.data(), k.data(), v.data(), m, P.data(), out.data());
        std::vector<float> Pf(P.size()), of(out.size());
        auto qf = wltest::to_float(q), kf = wltest::to_float(k), vf = wltest::to_float(v);
        ops::attention_forward<float>(be, d, qf.data(), kf.data(), vf.data(), m, Pf.data(), of.data());
        for (int64_t b = 0; b < d.B; ++b)
          for (int64_t i = 0; i < d.T; ++i) {
            // positions [0, i] of item b as a batch of one, not causal
            const ops::AttentionDims di = att_dims(1, i + 1, d.H, d.Dh);
            std::vector<double> qi, ki, vi;
            std::vector<uint8_t> mi;
            for (int64_t t = 0; t <= i; ++t) {
              const int64_t at = (b * d.T + t) * HD;
              qi.insert(qi.end(), q.begin() + at, q.begin() + at + HD);
              ki.insert(ki.end(), k.begin() + at, k.begin() + at + HD);
              vi.insert(vi.end(), v.begin() + at, v.begin() + at + HD);
              mi.push_back(m ? m[b * d.T + t] : 1);
            }
            std::vector<double> want_p, want_o;
            naive_attention(di, qi, ki, vi, mi.data(), want_p, want_o);
            for (int64_t h = 0; h < d.H; ++h) {
              for (int64_t j = 0; j < d.T; ++j) {
                const int64_t at = ((b * d.H + h) * d.T + i) * d.T + j;
                if (j > i) {
                  EXPECT_EQ(P[at], 0.0) << "later key " << j << " of query " << i;
                  EXPECT_EQ(Pf[at], 0.f);
                } else {
                  EXPECT_NEAR(P[at], want_p[(h * (i + 1) + i) * (i + 1) + j], 1e-12);
                  EXPECT_NEAR(Pf[at], want_p[(h * (i + 1) + i) * (i + 1) + j], 1e-5);
                }
              }
              for (int64_t e = 0; e < d.Dh; ++e) {
                const double w = want_o[i * HD + h * d.Dh + e];
                EXPECT_NEAR(out[(b * d.T + i) * HD + h * d.Dh + e], w, 1e-12);
                EXPECT_NEAR(of[(b * d.T + i) * HD + h * d.Dh + e], w, 1e-5);
              }
            }
          }
      }
    }
}

TEST(OpsAttention, CausalDerivativesMatchFiniteDifferencesAndFastPath) {
  for (auto d : {causal_dims(1, 1, 1, 1), causal_dims(2, 4, 2, 3), causal_dims(2, 5, 3, 2)})
    for (bool masked : {false, true})
      for (bool pass_dprobs : {true, false}) {
        SCOPED_TRACE(att_name(d) + (masked ? " masked" : "") + (pass_dprobs ? "" : " dprobs recomputed"));
        const auto mask = padding_mask(d);
        const uint8_t* m = masked ? mask.data() : nullptr;
        const std::vector<std::vector<double>> x = {random_vec(seq_size(d), 61), random_vec(seq_size(d), 62),
                                                    random_vec(seq_size(d), 63)};
        wltest::check_op_derivatives(attention_op(Backend::reference, d, m, pass_dprobs), x);
        if (pass_dprobs) wltest::check_op_derivatives(probs_op(d, m), x);
      }
  for (auto d : {causal_dims(1, 3, 2, 5), causal_dims(3, 5, 3, 7), causal_dims(1, 17, 2, 16), causal_dims(1, 33, 3, 17)})
    for (bool masked : {false, true}) {
      SCOPED_TRACE(att_name(d) + (masked ? " masked" : "") + " fast");
      const auto mask = padding_mask(d);
      expect_attention_close(run_attention(Backend::fast, d, masked ? mask.data() : nullptr, 3, 91),
                             run_attention(Backend::reference, d, masked ? mask.data() : nullptr, 3, 91), d);
    }
}

TEST(OpsAttention, CausalQueryWithNoKeyGetsZeros) {
  // Key 0 is padding: query 0 has no key at or before it. Its probability
  // row and output are zero (no NaN), its derivatives zero; query 1 on.
  const ops::AttentionDims d = causal_dims(1, 3, 1, 2);
  const std::vector<uint8_t> mask = {0, 1, 1};
  const auto q = random_vec(seq_size(d), 71), k = random_vec(seq_size(d), 72), v = random_vec(seq_size(d), 73);
  for (Backend be : {Backend::reference, Backend::fast}) {
    std::vector<float> P(probs_size(d)), out(seq_size(d));
    auto qf = wltest::to_float(q), kf = wltest::to_float(k), vf = wltest::to_float(v);
    ops::attention_forward<float>(be, d, qf.data(), kf.data(), vf.data(), mask.data(), P.data(), out.data());
    for (int j = 0; j < 3; ++j) EXPECT_EQ(P[j], 0.f);
    EXPECT_EQ(out[0], 0.f);
    EXPECT_EQ(out[1], 0.f);
    EXPECT_FLOAT_EQ(P[3 + 1], 1.f);  // query 1 sees key 1 only
    for (float x : out) EXPECT_TRUE(std::isfinite(x));
  }
  wltest::check_op_derivatives(attention_op(Backend::reference, d, mask.data(), true), {q, k, v});
}
