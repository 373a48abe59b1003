// linear, matmul and embedding: derivatives against finite differences in
// double, the float fast path (OpenBLAS natively, the SIMD kernel in wasm,
// and the packed weights) against the float reference on sizes below, at and
// past the SIMD tile, the null-pointer conventions of ops.h, and every error.
#include <gtest/gtest.h>

#include <array>
#include <cfloat>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "check_util.h"
#include "op_suite.h"
#include "wordlight/error.h"
#include "wordlight/gemm.h"
#include "wordlight/ops.h"

namespace {

using namespace wltest::op_suite;
using wordlight::PackedLinear;

// ======================================================================= linear

wltest::OpUnderTest linear_op(Backend be, int64_t R, int64_t I, int64_t O) {
  wltest::OpUnderTest op;
  op.in_sizes = {size_t(R * I), size_t(O * I), size_t(O)};  // x, w, b
  op.out_size = size_t(R * O);
  op.forward = [=](const Ins& x, double* y) { ops::linear_forward<double>(be, R, I, O, x[0], x[1], x[2], y); };
  op.tangent = [=](const Ins& x, int K, const Ins& dx, double* dy) {
    ops::linear_tangent<double>(be, R, I, O, K, x[0], x[1], dx[0], dx[1], dx[2], dy);
  };
  op.backward = [=](const Ins& x, const double* gy, const Outs& gx) {
    ops::linear_backward<double>(be, R, I, O, x[0], x[1], gy, gx[0], gx[1], gx[2]);
  };
  op.backward_tangent = [=](const Ins& x, int K, const Ins& dx, const double* gy, const double* dgy,
                            const Outs& dgx) {
    ops::linear_backward_tangent<double>(be, R, I, O, K, x[0], x[1], dx[0], dx[1], gy, dgy, dgx[0], dgx[1],
                                         dgx[2]);
  };
  return op;
}

TEST(OpsLinear, DerivativesMatchFiniteDifferences) {
  const int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 4}, {7, 2, 9}, {4, 8, 3}};
  for (Backend be : {Backend::reference, Backend::fast})
    for (auto& s : sizes) {
      SCOPED_TRACE("R=" + std::to_string(s[0]) + " I=" + std::to_string(s[1]) + " O=" + std::to_string(s[2]));
      const int64_t R = s[0], I = s[1], O = s[2];
      wltest::CheckOptions opt;
      opt.K = 3;
      wltest::check_op_derivatives(linear_op(be, R, I, O),
                                   {random_vec(R * I, 1), random_vec(O * I, 2), random_vec(O, 3)}, opt);
    }
}

// All inputs of one linear case, in float.
struct LinearData {
  int64_t R, I, O;
  int K;
  std::vector<float> x, w, b, dx, dw, db, gy, dgy;
  // Start values of the accumulated outputs (non-zero: += is checked too).
  std::vector<float> gx0, gw0, gb0, dgx0, dgw0, dgb0;
  LinearData(int64_t R_, int64_t I_, int64_t O_, int K_, uint64_t seed) : R(R_), I(I_), O(O_), K(K_) {
    x = random_vecf(R * I, seed + 1);
    w = random_vecf(O * I, seed + 2);
    b = random_vecf(O, seed + 3);
    dx = random_vecf(K * R * I, seed + 4);
    dw = random_vecf(K * O * I, seed + 5);
    db = random_vecf(K * O, seed + 6);
    gy = random_vecf(R * O, seed + 7);
    dgy = random_vecf(K * R * O, seed + 8);
    gx0 = random_vecf(R * I, seed + 9);
    gw0 = random_vecf(O * I, seed + 10);
    gb0 = random_vecf(O, seed + 11);
    dgx0 = random_vecf(K * R * I, seed + 12);
    dgw0 = random_vecf(K * O * I, seed + 13);
    dgb0 = random_vecf(K * O, seed + 14);
  }
};

struct LinearOut {
  std::vector<float> y, dy, gx, gw, gb, dgx, dgw, dgb;
};

LinearOut run_linear(Backend be, const LinearData& d, const PackedLinear* packed) {
  LinearOut o;
  o.y.resize(d.R * d.O);
  o.dy.resize(d.K * d.R * d.O);
  o.gx = d.gx0;
  o.gw = d.gw0;
  o.gb = d.gb0;
  o.dgx = d.dgx0;
  o.dgw = d.dgw0;
  o.dgb = d.dgb0;
  ops::linear_forward<float>(be, d.R, d.I, d.O, d.x.data(), d.w.data(), d.b.data(), o.y.data(), packed);
  ops::linear_tangent<float>(be, d.R, d.I, d.O, d.K, d.x.data(), d.w.data(), d.dx.data(), d.dw.data(), d.db.data(),
                             o.dy.data(), packed);
  ops::linear_backward<float>(be, d.R, d.I, d.O, d.x.data(), d.w.data(), d.gy.data(), o.gx.data(), o.gw.data(),
                              o.gb.data(), packed);
  ops::linear_backward_tangent<float>(be, d.R, d.I, d.O, d.K, d.x.data(), d.w.data(), d.dx.data(), d.dw.data(),
                                      d.gy.data(), d.dgy.data(), o.dgx.data(), o.dgw.data(), o.dgb.data(), packed);
  return o;
}

// Reduction lengths: y sums I products, dy 2I + 1, gx O (+1 for the start
// value), gw R, gb R, dgx 2O, dgw 2R, dgb R.
void expect_linear_close(const LinearOut& a, const LinearOut& r, const LinearData& d) {
  EXPECT_TRUE(all_close(a.y, r.y, kFloatRtol, float_atol(d.I + 1))) << "forward";
  EXPECT_TRUE(all_close(a.dy, r.dy, kFloatRtol, float_atol(2 * d.I + 1))) << "tangent";
  EXPECT_TRUE(all_close(a.gx, r.gx, kFloatRtol, float_atol(d.O + 1))) << "backward gx";
  EXPECT_TRUE(all_close(a.gw, r.gw, kFloatRtol, float_atol(d.R + 1))) << "backward gw";
  EXPECT_TRUE(all_close(a.gb, r.gb, kFloatRtol, float_atol(d.R + 1))) << "backward gb";
  EXPECT_TRUE(all_close(a.dgx, r.dgx, kFloatRtol, float_atol(2 * d.O + 1))) << "backward tangent dgx";
  EXPECT_TRUE(all_close(a.dgw, r.dgw, kFloatRtol, float_atol(2 * d.R + 1))) << "backward tangent dgw";
  EXPECT_TRUE(all_close(a.dgb, r.dgb, kFloatRtol, float_atol(d.R + 1))) << "backward tangent dgb";
}

TEST(OpsLinear, FastMatchesReferenceOnAwkwardSizes) {
  // Below, at and past the 4x8 SIMD tile in every dimension, and a BERT-base
  // sized layer (R=64 tokens, 768 -> 768).
  const int64_t sizes[][4] = {{1, 1, 1, 1},  {3, 5, 7, 2},   {4, 8, 8, 3},    {5, 9, 16, 2},  {8, 16, 17, 3},
                              {9, 33, 4, 2}, {17, 7, 33, 3}, {16, 17, 9, 1},  {33, 3, 5, 2},  {64, 768, 768, 2}};
  for (auto& s : sizes) {
    SCOPED_TRACE("R=" + std::to_string(s[0]) + " I=" + std::to_string(s[1]) + " O=" + std::to_string(s[2]) +
                 " K=" + std::to_string(s[3]));
    LinearData d(s[0], s[1], s[2], int(s[3]), 100 + s[0] + s[1] + s[2]);
    const LinearOut ref = run_linear(Backend::reference, d, nullptr);
    expect_linear_close(run_linear(Backend::fast, d, nullptr), ref, d);
    const PackedLinear packed = wordlight::pack_linear(int(d.O), int(d.I), d.w.data());
    expect_linear_close(run_linear(Backend::fast, d, &packed), ref, d);
  }
}

TEST(OpsLinear, NullTangentsActAsZeroAndNullOutputsAreSkipped) {
  LinearData d(3, 5, 4, 2, 7);
  const std::vector<float> zx(d.K * d.R * d.I, 0.f), zw(d.K * d.O * d.I, 0.f), zb(d.K * d.O, 0.f);
  for (Backend be : {Backend::reference, Backend::fast}) {
    // tangent: each null input tangent equals passing zeros
    std::vector<float> a(d.K * d.R * d.O, 99.f), b(d.K * d.R * d.O, -99.f);
    ops::linear_tangent<float>(be, d.R, d.I, d.O, d.K, d.x.data(), d.w.data(), nullptr, d.dw.data(), nullptr,
                               a.data());
    ops::linear_tangent<float>(be, d.R, d.I, d.O, d.K, d.x.data(), d.w.data(), zx.data(), d.dw.data(), zb.data(),
                               b.data());
    EXPECT_TRUE(all_close(a, b, 1e-6, 1e-6));
    ops::linear_tangent<float>(be, d.R, d.I, d.O, d.K, d.x.data(), d.w.data(), nullptr, nullptr, nullptr, a.data());
    EXPECT_TRUE(all_close(a, std::vector<float>(a.size(), 0.f), 0, 0)) << "all-null tangent is zero";
    // backward: null gx / gb leave everything else as with all outputs
    std::vector<float> gw1 = d.gw0, gw2 = d.gw0, gx2 = d.gx0, gb2 = d.gb0;
    ops::linear_backward<float>(be, d.R, d.I, d.O, d.x.data(), d.w.data(), d.gy.data(), nullptr, gw1.data(), nullptr);
    ops::linear_backward<float>(be, d.R, d.I, d.O, d.x.data(), d.w.data(), d.gy.data(), gx2.data(), gw2.data(),
                                gb2.data());
    EXPECT_TRUE(all_close(gw1, gw2, 0, 0));
    // backward tangent: null dx, dw, gy, dgy each act as zeros
    std::vector<float> e1 = d.dgx0, e2 = d.dgx0, f1 = d.dgw0, f2 = d.dgw0;
    const std::vector<float> zgy(d.R * d.O, 0.f);
    ops::linear_backward_tangent<float>(be, d.R, d.I, d.O, d.K, d.x.data(), d.w.data(), nullptr, nullptr, nullptr,
                                        d.dgy.data(), e1.data(), f1.data(), nullptr);
    ops::linear_backward_tangent<float>(be, d.R, d.I, d.O, d.K, d.x.data(), d.w.data(), zx.data(), zw.data(),
                                        zgy.data(), d.dgy.data(), e2.data(), f2.data(), nullptr);
    EXPECT_TRUE(all_close(e1, e2, 1e-6, 1e-6));
    EXPECT_TRUE(all_close(f1, f2, 1e-6, 1e-6));
  }
}

TEST(OpsLinear, ErrorsNameTheOp) {
  float buf[4] = {0, 0, 0, 0};
  EXPECT_ERROR_CONTAINS(ops::linear_forward<float>(Backend::fast, -1, 2, 2, buf, buf, buf, buf),
                        "linear_forward: negative dimension");
  EXPECT_ERROR_CONTAINS(ops::linear_tangent<float>(Backend::fast, 1, 1, 1, -2, buf, buf, buf, buf, buf, buf),
                        "linear_tangent: negative dimension");
  EXPECT_ERROR_CONTAINS(ops::linear_backward<double>(Backend::reference, 1, -1, 1, nullptr, nullptr, nullptr,
                                                     nullptr, nullptr, nullptr),
                        "linear_backward: negative dimension");
  // K*R rows must fit gemm's int dimensions (checked before any access).
  EXPECT_ERROR_CONTAINS(ops::linear_backward_tangent<float>(Backend::fast, int64_t(1) << 30, 1, 1, 4, nullptr,
                                                            nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                            nullptr, nullptr),
                        "linear_backward_tangent: dimensions too large for GEMM");
}

// ======================================================================= matmul

std::string matmul_name(const ops::MatmulDims& d) {
  return "batch=" + std::to_string(d.batch) + " M=" + std::to_string(d.M) + " N=" + std::to_string(d.N) +
         " K=" + std::to_string(d.K) + " ta=" + std::to_string(d.trans_a) + " tb=" + std::to_string(d.trans_b);
}

wltest::OpUnderTest matmul_op(Backend be, const ops::MatmulDims& d) {
  wltest::OpUnderTest op;
  op.in_sizes = {size_t(d.batch * d.M * d.K), size_t(d.batch * d.K * d.N)};  // A, B
  op.out_size = size_t(d.batch * d.M * d.N);
  op.forward = [=](const Ins& x, double* y) { ops::matmul_forward<double>(be, d, x[0], x[1], y); };
  op.tangent = [=](const Ins& x, int K, const Ins& dx, double* dy) {
    ops::matmul_tangent<double>(be, d, K, x[0], x[1], dx[0], dx[1], dy);
  };
  op.backward = [=](const Ins& x, const double* gy, const Outs& gx) {
    ops::matmul_backward<double>(be, d, x[0], x[1], gy, gx[0], gx[1]);
  };
  op.backward_tangent = [=](const Ins& x, int K, const Ins& dx, const double* gy, const double* dgy,
                            const Outs& dgx) {
    ops::matmul_backward_tangent<double>(be, d, K, x[0], x[1], dx[0], dx[1], gy, dgy, dgx[0], dgx[1]);
  };
  return op;
}

// Every transpose combination, with one batch item (where the directions
// stack into one GEMM) and several.
std::vector<ops::MatmulDims> matmul_cases(const std::vector<std::array<int64_t, 4>>& sizes) {
  std::vector<ops::MatmulDims> out;
  for (auto& s : sizes)
    for (int t = 0; t < 4; ++t) {
      ops::MatmulDims d;
      d.batch = s[0];
      d.M = s[1];
      d.N = s[2];
      d.K = s[3];
      d.trans_a = t & 1;
      d.trans_b = t & 2;
      out.push_back(d);
    }
  return out;
}

TEST(OpsMatmul, DerivativesMatchFiniteDifferences) {
  for (const auto& d : matmul_cases({{1, 3, 4, 5}, {3, 2, 5, 4}, {2, 1, 1, 3}})) {
    SCOPED_TRACE(matmul_name(d));
    wltest::check_op_derivatives(matmul_op(Backend::reference, d),
                                 {random_vec(d.batch * d.M * d.K, 5), random_vec(d.batch * d.K * d.N, 6)});
  }
}

TEST(OpsMatmul, ForwardMatchesLiteralProduct) {
  for (const auto& d : matmul_cases({{2, 3, 4, 5}})) {
    SCOPED_TRACE(matmul_name(d));
    auto A = random_vec(d.batch * d.M * d.K, 1), B = random_vec(d.batch * d.K * d.N, 2);
    std::vector<double> C(d.batch * d.M * d.N);
    ops::matmul_forward<double>(Backend::reference, d, A.data(), B.data(), C.data());
    std::vector<double> want(C.size());
    for (int64_t n = 0; n < d.batch; ++n)
      for (int64_t i = 0; i < d.M; ++i)
        for (int64_t j = 0; j < d.N; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < d.K; ++p) {
            double a = d.trans_a ? A[n * d.M * d.K + p * d.M + i] : A[n * d.M * d.K + i * d.K + p];
            double b = d.trans_b ? B[n * d.K * d.N + j * d.K + p] : B[n * d.K * d.N + p * d.N + j];
            acc += a * b;
          }
          want[(n * d.M + i) * d.N + j] = acc;
        }
    EXPECT_TRUE(all_close(C, want, 1e-12, 1e-12));
  }
}

struct MatmulOut {
  std::vector<float> C, dC, gA, gB, dgA, dgB;
};

MatmulOut run_matmul(Backend be, const ops::MatmulDims& d, int Kd, uint64_t seed) {
  const int64_t na = d.batch * d.M * d.K, nb = d.batch * d.K * d.N, nc = d.batch * d.M * d.N;
  auto A = random_vecf(na, seed), B = random_vecf(nb, seed + 1), dA = random_vecf(Kd * na, seed + 2),
       dB = random_vecf(Kd * nb, seed + 3), gC = random_vecf(nc, seed + 4), dgC = random_vecf(Kd * nc, seed + 5);
  MatmulOut o;
  o.C.resize(nc);
  o.dC.resize(Kd * nc);
  o.gA = random_vecf(na, seed + 6);
  o.gB = random_vecf(nb, seed + 7);
  o.dgA = random_vecf(Kd * na, seed + 8);
  o.dgB = random_vecf(Kd * nb, seed + 9);
  ops::matmul_forward<float>(be, d, A.data(), B.data(), o.C.data());
  ops::matmul_tangent<float>(be, d, Kd, A.data(), B.data(), dA.data(), dB.data(), o.dC.data());
  ops::matmul_backward<float>(be, d, A.data(), B.data(), gC.data(), o.gA.data(), o.gB.data());
  ops::matmul_backward_tangent<float>(be, d, Kd, A.data(), B.data(), dA.data(), dB.data(), gC.data(), dgC.data(),
                                      o.dgA.data(), o.dgB.data());
  return o;
}

TEST(OpsMatmul, FastMatchesReferenceOnAwkwardSizes) {
  for (const auto& d : matmul_cases({{1, 1, 1, 1},
                                     {1, 5, 9, 7},
                                     {3, 4, 8, 16},
                                     {2, 17, 3, 9},
                                     {1, 33, 17, 8},
                                     {4, 13, 16, 13},
                                     {2, 64, 64, 64}})) {
    SCOPED_TRACE(matmul_name(d));
    const int Kd = 3;
    const MatmulOut f = run_matmul(Backend::fast, d, Kd, 40), r = run_matmul(Backend::reference, d, Kd, 40);
    // reductions: C over K, dC over 2K, gA over N, gB over M, dgA 2N, dgB 2M (+1: start value)
    EXPECT_TRUE(all_close(f.C, r.C, kFloatRtol, float_atol(d.K))) << "forward";
    EXPECT_TRUE(all_close(f.dC, r.dC, kFloatRtol, float_atol(2 * d.K))) << "tangent";
    EXPECT_TRUE(all_close(f.gA, r.gA, kFloatRtol, float_atol(d.N + 1))) << "backward gA";
    EXPECT_TRUE(all_close(f.gB, r.gB, kFloatRtol, float_atol(d.M + 1))) << "backward gB";
    EXPECT_TRUE(all_close(f.dgA, r.dgA, kFloatRtol, float_atol(2 * d.N + 1))) << "backward tangent dgA";
    EXPECT_TRUE(all_close(f.dgB, r.dgB, kFloatRtol, float_atol(2 * d.M + 1))) << "backward tangent dgB";
  }
}

TEST(OpsMatmul, NullTangentsActAsZero) {
  for (const auto& d : matmul_cases({{2, 3, 4, 5}, {1, 3, 4, 5}})) {
    SCOPED_TRACE(matmul_name(d));
    const int Kd = 2;
    const int64_t na = d.batch * d.M * d.K, nb = d.batch * d.K * d.N, nc = d.batch * d.M * d.N;
    auto A = random_vec(na, 1), B = random_vec(nb, 2), dB = random_vec(Kd * nb, 3), dgC = random_vec(Kd * nc, 4);
    std::vector<double> zA(Kd * na, 0.0), zgC(nc, 0.0);
    std::vector<double> c1(Kd * nc, 7.0), c2(Kd * nc, -7.0);
    ops::matmul_tangent<double>(Backend::reference, d, Kd, A.data(), B.data(), nullptr, dB.data(), c1.data());
    ops::matmul_tangent<double>(Backend::reference, d, Kd, A.data(), B.data(), zA.data(), dB.data(), c2.data());
    EXPECT_TRUE(all_close(c1, c2, 1e-12, 1e-12));
    std::vector<double> a1(Kd * na, 1.0), a2 = a1, b1(Kd * nb, 1.0), b2 = b1;
    ops::matmul_backward_tangent<double>(Backend::reference, d, Kd, A.data(), B.data(), nullptr, dB.data(), nullptr,
                                         dgC.data(), a1.data(), b1.data());
    ops::matmul_backward_tangent<double>(Backend::reference, d, Kd, A.data(), B.data(), zA.data(), dB.data(),
                                         zgC.data(), dgC.data(), a2.data(), b2.data());
    EXPECT_TRUE(all_close(a1, a2, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(b1, b2, 1e-12, 1e-12));
  }
}

TEST(OpsMatmul, ErrorsNameTheOp) {
  ops::MatmulDims d;
  d.M = 2;
  d.N = -1;
  d.K = 2;
  EXPECT_ERROR_CONTAINS(ops::matmul_forward<float>(Backend::fast, d, nullptr, nullptr, nullptr),
                        "matmul_forward: negative dimension");
  EXPECT_ERROR_CONTAINS(ops::matmul_backward<double>(Backend::reference, d, nullptr, nullptr, nullptr, nullptr,
                                                     nullptr),
                        "matmul_backward: negative dimension");
  d.N = 2;
  d.batch = -3;
  EXPECT_ERROR_CONTAINS(
      ops::matmul_tangent<float>(Backend::fast, d, 1, nullptr, nullptr, nullptr, nullptr, nullptr),
      "matmul_tangent: negative dimension");
  d.batch = 1;
  d.M = int64_t(1) << 29;
  EXPECT_ERROR_CONTAINS(ops::matmul_backward_tangent<float>(Backend::fast, d, 8, nullptr, nullptr, nullptr, nullptr,
                                                            nullptr, nullptr, nullptr, nullptr),
                        "matmul_backward_tangent: dimensions too large for GEMM");
}

// ======================================================================= embedding

TEST(OpsEmbedding, GathersRowsAndDerivativesMatchFiniteDifferences) {
  const int64_t V = 6, D = 4;
  const std::vector<int32_t> ids = {2, 0, 5, 2, 3, 2};  // repeated ids add up in the backward
  const int64_t n = int64_t(ids.size());
  auto table = random_vec(V * D, 11);
  std::vector<double> y(n * D);
  ops::embedding_forward<double>(n, ids.data(), V, D, table.data(), y.data());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < D; ++j) EXPECT_EQ(y[r * D + j], table[ids[r] * D + j]);

  wltest::OpUnderTest op;
  op.in_sizes = {size_t(V * D)};
  op.out_size = size_t(n * D);
  op.forward = [&](const Ins& x, double* out) { ops::embedding_forward<double>(n, ids.data(), V, D, x[0], out); };
  op.tangent = [&](const Ins&, int K, const Ins& dx, double* dy) {
    ops::embedding_tangent<double>(n, ids.data(), V, D, K, dx[0], dy);
  };
  op.backward = [&](const Ins&, const double* gy, const Outs& gx) {
    ops::embedding_backward<double>(n, ids.data(), V, D, gy, gx[0]);
  };
  op.backward_tangent = [&](const Ins&, int K, const Ins&, const double*, const double* dgy, const Outs& dgx) {
    ops::embedding_backward_tangent<double>(n, ids.data(), V, D, K, dgy, dgx[0]);
  };
  wltest::check_op_derivatives(op, {table});

  // float: the same gather (no fast path to compare: it is a copy)
  auto tf = random_vecf(V * D, 12);
  std::vector<float> yf(n * D), dyf(2 * n * D, 5.f);
  ops::embedding_forward<float>(n, ids.data(), V, D, tf.data(), yf.data());
  for (int64_t r = 0; r < n; ++r) EXPECT_EQ(yf[r * D + 1], tf[ids[r] * D + 1]);
  ops::embedding_tangent<float>(n, ids.data(), V, D, 2, nullptr, dyf.data());
  EXPECT_TRUE(all_close(dyf, std::vector<float>(dyf.size(), 0.f), 0, 0)) << "null dtable means zero";
}

TEST(OpsEmbedding, IdOutOfRangeThrowsWithPositionAndId) {
  const int64_t V = 5, D = 2;
  std::vector<float> table(V * D, 1.f), y(3 * D), g(3 * D, 1.f), gt(V * D, 0.f);
  const std::vector<int32_t> too_big = {1, 4, 5}, negative = {-1, 0, 0};
  EXPECT_ERROR_CONTAINS(ops::embedding_forward<float>(3, too_big.data(), V, D, table.data(), y.data()),
                        "embedding_forward: id 5 at position 2 is outside the vocabulary [0, 5)");
  EXPECT_ERROR_CONTAINS(ops::embedding_forward<float>(3, negative.data(), V, D, table.data(), y.data()),
                        "embedding_forward: id -1 at position 0");
  EXPECT_ERROR_CONTAINS(ops::embedding_tangent<float>(3, too_big.data(), V, D, 1, table.data(), y.data()),
                        "embedding_tangent: id 5 at position 2");
  EXPECT_ERROR_CONTAINS(ops::embedding_backward<float>(3, negative.data(), V, D, g.data(), gt.data()),
                        "embedding_backward: id -1 at position 0");
  EXPECT_ERROR_CONTAINS(ops::embedding_backward_tangent<float>(3, too_big.data(), V, D, 1, g.data(), gt.data()),
                        "embedding_backward_tangent: id 5 at position 2");
  // A rejected id leaves the gradient untouched (checked before writing).
  EXPECT_TRUE(all_close(gt, std::vector<float>(V * D, 0.f), 0, 0));
  EXPECT_ERROR_CONTAINS(ops::embedding_forward<float>(3, too_big.data(), V, -1, table.data(), y.data()),
                        "embedding_forward: negative dimension");
}

}  // namespace
