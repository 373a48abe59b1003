// conv1d and max pooling: derivatives against finite differences in double,
// conv1d against a literal loop of its formula, the im2col + GEMM fast path
// against the direct-loop reference on awkward sizes, max pooling's tie and
// NaN rules, the null-pointer conventions of ops.h, and every error. (Max
// pooling has one implementation, no backend and no GEMM, so it has no
// fast-vs-reference test.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "check_util.h"
#include "op_suite.h"
#include "wordlight/error.h"
#include "wordlight/ops.h"

namespace {

using namespace wltest::op_suite;

// ======================================================================= conv1d

std::string conv_name(const ops::Conv1dDims& d) {
  return "B=" + std::to_string(d.B) + " T=" + std::to_string(d.T) + " Cin=" + std::to_string(d.Cin) +
         " Cout=" + std::to_string(d.Cout) + " W=" + std::to_string(d.W) + " pad=" + std::to_string(d.pad);
}

ops::Conv1dDims conv_dims(int64_t B, int64_t T, int64_t Cin, int64_t Cout, int64_t W, int64_t pad) {
  return ops::Conv1dDims{B, T, Cin, Cout, W, pad};
}

int64_t x_size(const ops::Conv1dDims& d) { return d.B * d.T * d.Cin; }
int64_t w_size(const ops::Conv1dDims& d) { return d.Cout * d.W * d.Cin; }
int64_t y_size(const ops::Conv1dDims& d) { return d.B * d.t_out() * d.Cout; }

// The formula of ops.h, written out with no shared code:
//   y[b, t, o] = b[o] + sum_{j, c} w[o, j, c] * x[b, t + j - pad, c]
std::vector<double> naive_conv1d(const ops::Conv1dDims& d, const std::vector<double>& x,
                                 const std::vector<double>& w, const std::vector<double>& bias) {
  const int64_t To = d.T + 2 * d.pad - d.W + 1;
  std::vector<double> y(d.B * To * d.Cout);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < To; ++t)
      for (int64_t o = 0; o < d.Cout; ++o) {
        double acc = bias[o];
        for (int64_t j = 0; j < d.W; ++j)
          for (int64_t c = 0; c < d.Cin; ++c) {
            const int64_t s = t + j - d.pad;
            const double xv = (s >= 0 && s < d.T) ? x[(b * d.T + s) * d.Cin + c] : 0.0;  // zero padding
            acc += w[(o * d.W + j) * d.Cin + c] * xv;
          }
        y[(b * To + t) * d.Cout + o] = acc;
      }
  return y;
}

wltest::OpUnderTest conv_op(Backend be, const ops::Conv1dDims& d) {
  wltest::OpUnderTest op;
  op.in_sizes = {size_t(x_size(d)), size_t(w_size(d)), size_t(d.Cout)};  // x, w, b
  op.out_size = size_t(y_size(d));
  op.forward = [=](const Ins& x, double* y) { ops::conv1d_forward<double>(be, d, x[0], x[1], x[2], y); };
  op.tangent = [=](const Ins& x, int K, const Ins& dx, double* dy) {
    ops::conv1d_tangent<double>(be, d, K, x[0], x[1], dx[0], dx[1], dx[2], dy);
  };
  op.backward = [=](const Ins& x, const double* gy, const Outs& gx) {
    ops::conv1d_backward<double>(be, d, x[0], x[1], gy, gx[0], gx[1], gx[2]);
  };
  op.backward_tangent = [=](const Ins& x, int K, const Ins& dx, const double* gy, const double* dgy,
                            const Outs& dgx) {
    ops::conv1d_backward_tangent<double>(be, d, K, x[0], x[1], dx[0], dx[1], gy, dgy, dgx[0], dgx[1], dgx[2]);
  };
  return op;
}

TEST(OpsConv1d, ForwardMatchesLiteralFormula) {
  // Every window 1, 2, 3, 5 with padding 0..2, including W = T + 2 pad
  // (one output step) and padding wider than needed.
  for (int64_t W : {1, 2, 3, 5})
    for (int64_t pad : {0, 1, 2}) {
      for (int64_t t : {std::max<int64_t>(1, W - 2 * pad), int64_t(7)}) {
        const ops::Conv1dDims d = conv_dims(2, t, 3, 4, W, pad);
        if (d.W > d.T + 2 * d.pad) continue;
        SCOPED_TRACE(conv_name(d));
        auto x = random_vec(x_size(d), 1), w = random_vec(w_size(d), 2), b = random_vec(d.Cout, 3);
        const auto want = naive_conv1d(d, x, w, b);
        for (Backend be : {Backend::reference, Backend::fast}) {
          std::vector<double> y(y_size(d));
          ops::conv1d_forward<double>(be, d, x.data(), w.data(), b.data(), y.data());
          EXPECT_TRUE(all_close(y, want, 1e-12, 1e-12));
          // float fast path (im2col + GEMM) against the same formula
          std::vector<float> yf(y.size());
          auto xf = wltest::to_float(x), wf = wltest::to_float(w), bf = wltest::to_float(b);
          ops::conv1d_forward<float>(be, d, xf.data(), wf.data(), bf.data(), yf.data());
          EXPECT_TRUE(all_close(yf, want, kFloatRtol, float_atol(d.W * d.Cin + 1)));
        }
      }
    }
}

TEST(OpsConv1d, DerivativesMatchFiniteDifferences) {
  // The fast backend in double runs the im2col/col2im path through the
  // reference GEMM, so both code paths are checked to double precision.
  for (Backend be : {Backend::reference, Backend::fast})
    for (int64_t W : {1, 2, 3, 5})
      for (int64_t pad : {0, 1, 2}) {
        const ops::Conv1dDims d = conv_dims(2, 5, 3, 2, W, pad);
        SCOPED_TRACE(conv_name(d) + (be == Backend::fast ? " fast" : " reference"));
        wltest::check_op_derivatives(conv_op(be, d),
                                     {random_vec(x_size(d), 21), random_vec(w_size(d), 22), random_vec(d.Cout, 23)});
      }
}

struct ConvOut {
  std::vector<float> y, dy, gx, gw, gb, dgx, dgw, dgb;
};

ConvOut run_conv(Backend be, const ops::Conv1dDims& d, int K, uint64_t seed) {
  const int64_t nx = x_size(d), nw = w_size(d), ny = y_size(d);
  auto x = random_vecf(nx, seed), w = random_vecf(nw, seed + 1), b = random_vecf(d.Cout, seed + 2),
       dx = random_vecf(K * nx, seed + 3), dw = random_vecf(K * nw, seed + 4), db = random_vecf(K * d.Cout, seed + 5),
       gy = random_vecf(ny, seed + 6), dgy = random_vecf(K * ny, seed + 7);
  ConvOut o;
  o.y.resize(ny);
  o.dy.resize(K * ny);
  // accumulated outputs start from non-zero values (+= is checked too)
  o.gx = random_vecf(nx, seed + 8);
  o.gw = random_vecf(nw, seed + 9);
  o.gb = random_vecf(d.Cout, seed + 10);
  o.dgx = random_vecf(K * nx, seed + 11);
  o.dgw = random_vecf(K * nw, seed + 12);
  o.dgb = random_vecf(K * d.Cout, seed + 13);
  ops::conv1d_forward<float>(be, d, x.data(), w.data(), b.data(), o.y.data());
  ops::conv1d_tangent<float>(be, d, K, x.data(), w.data(), dx.data(), dw.data(), db.data(), o.dy.data());
  ops::conv1d_backward<float>(be, d, x.data(), w.data(), gy.data(), o.gx.data(), o.gw.data(), o.gb.data());
  ops::conv1d_backward_tangent<float>(be, d, K, x.data(), w.data(), dx.data(), dw.data(), gy.data(), dgy.data(),
                                      o.dgx.data(), o.dgw.data(), o.dgb.data());
  return o;
}

TEST(OpsConv1d, FastMatchesReferenceOnAwkwardSizes) {
  const int64_t cases[][6] = {
      // B, T, Cin, Cout, W, pad
      {1, 1, 1, 1, 1, 0},   {1, 3, 4, 5, 2, 0},  {2, 7, 3, 8, 3, 1},   {1, 9, 8, 9, 5, 2},   {3, 4, 5, 16, 5, 1},
      {2, 17, 9, 4, 1, 2},  {1, 16, 16, 17, 3, 0}, {2, 8, 33, 7, 2, 1}, {1, 33, 7, 33, 5, 0},
      {4, 50, 64, 100, 5, 2},  // a text CNN layer: 50 tokens, 64 -> 100 channels
  };
  for (auto& c : cases) {
    const ops::Conv1dDims d = conv_dims(c[0], c[1], c[2], c[3], c[4], c[5]);
    SCOPED_TRACE(conv_name(d));
    const int K = 3;
    const ConvOut f = run_conv(Backend::fast, d, K, 70), r = run_conv(Backend::reference, d, K, 70);
    const int64_t win = d.W * d.Cin, rows = d.B * d.t_out();
    // reductions: y over W*Cin, dy 2 W*Cin, gx W*Cout, gw/gb B*To, and twice those for the tangents
    EXPECT_TRUE(all_close(f.y, r.y, kFloatRtol, float_atol(win + 1))) << "forward";
    EXPECT_TRUE(all_close(f.dy, r.dy, kFloatRtol, float_atol(2 * win + 1))) << "tangent";
    EXPECT_TRUE(all_close(f.gx, r.gx, kFloatRtol, float_atol(d.W * d.Cout + 1))) << "backward gx";
    EXPECT_TRUE(all_close(f.gw, r.gw, kFloatRtol, float_atol(rows + 1))) << "backward gw";
    EXPECT_TRUE(all_close(f.gb, r.gb, kFloatRtol, float_atol(rows + 1))) << "backward gb";
    EXPECT_TRUE(all_close(f.dgx, r.dgx, kFloatRtol, float_atol(2 * d.W * d.Cout + 1))) << "backward tangent dgx";
    EXPECT_TRUE(all_close(f.dgw, r.dgw, kFloatRtol, float_atol(2 * rows + 1))) << "backward tangent dgw";
    EXPECT_TRUE(all_close(f.dgb, r.dgb, kFloatRtol, float_atol(rows + 1))) << "backward tangent dgb";
  }
}

TEST(OpsConv1d, NullTangentsActAsZero) {
  for (Backend be : {Backend::reference, Backend::fast})
    for (int64_t W : {1, 3}) {
      const ops::Conv1dDims d = conv_dims(2, 6, 3, 4, W, W == 1 ? 0 : 1);
      SCOPED_TRACE(conv_name(d));
      const int K = 2;
      auto x = random_vec(x_size(d), 1), w = random_vec(w_size(d), 2), dw = random_vec(K * w_size(d), 3),
           dgy = random_vec(K * y_size(d), 4);
      std::vector<double> zx(K * x_size(d), 0.0), zb(K * d.Cout, 0.0), zgy(y_size(d), 0.0);
      std::vector<double> a(K * y_size(d), 9.0), b(K * y_size(d), -9.0);
      ops::conv1d_tangent<double>(be, d, K, x.data(), w.data(), nullptr, dw.data(), nullptr, a.data());
      ops::conv1d_tangent<double>(be, d, K, x.data(), w.data(), zx.data(), dw.data(), zb.data(), b.data());
      EXPECT_TRUE(all_close(a, b, 1e-12, 1e-12));
      std::vector<double> gx1(K * x_size(d), 1.0), gx2 = gx1, gw1(K * w_size(d), 1.0), gw2 = gw1;
      ops::conv1d_backward_tangent<double>(be, d, K, x.data(), w.data(), nullptr, dw.data(), nullptr, dgy.data(),
                                           gx1.data(), gw1.data(), nullptr);
      ops::conv1d_backward_tangent<double>(be, d, K, x.data(), w.data(), zx.data(), dw.data(), zgy.data(),
                                           dgy.data(), gx2.data(), gw2.data(), nullptr);
      EXPECT_TRUE(all_close(gx1, gx2, 1e-12, 1e-12));
      EXPECT_TRUE(all_close(gw1, gw2, 1e-12, 1e-12));
    }
}

TEST(OpsConv1d, ErrorsNameTheOp) {
  float buf[64] = {};
  EXPECT_ERROR_CONTAINS(
      ops::conv1d_forward<float>(Backend::fast, conv_dims(1, 2, 1, 1, 5, 1), buf, buf, nullptr, buf),
      "conv1d_forward: window W=5 is longer than the padded sequence T + 2*pad = 4");
  EXPECT_ERROR_CONTAINS(ops::conv1d_tangent<float>(Backend::reference, conv_dims(1, 3, 1, 1, 4, 0), 1, buf, buf, buf,
                                                   buf, buf, buf),
                        "conv1d_tangent: window W=4 is longer than the padded sequence");
  EXPECT_ERROR_CONTAINS(ops::conv1d_backward<float>(Backend::fast, conv_dims(1, 3, 1, 1, 0, 0), buf, buf, buf, buf,
                                                    buf, buf),
                        "conv1d_backward: window W must be at least 1 (got 0)");
  EXPECT_ERROR_CONTAINS(ops::conv1d_backward_tangent<double>(Backend::reference, conv_dims(1, 3, 1, 1, 1, -1), 1,
                                                             nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                             nullptr, nullptr, nullptr),
                        "conv1d_backward_tangent: negative dimension");
}

// ======================================================================= max pooling

std::string pool_name(const ops::PoolDims& d) {
  return "B=" + std::to_string(d.B) + " T=" + std::to_string(d.T) + " C=" + std::to_string(d.C) +
         " window=" + std::to_string(d.window) + " stride=" + std::to_string(d.stride);
}

ops::PoolDims pool_dims(int64_t B, int64_t T, int64_t C, int64_t window, int64_t stride) {
  return ops::PoolDims{B, T, C, window, stride};
}

// Distinct values at least 0.01 apart (a shuffled ladder), so no window has a
// tie and no finite-difference step (h = 1e-5 along directions in [-1, 1])
// can change a winner. This skips exactly the tie points, where max pooling
// is not differentiable; the tie rule itself is tested separately below.
std::vector<double> tie_free(size_t n, uint64_t seed) {
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), 0.0);
  std::mt19937_64 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  for (auto& x : v) x = 0.01 * x - 0.005 * double(n);
  return v;
}

wltest::OpUnderTest pool_op(const ops::PoolDims& d) {
  wltest::OpUnderTest op;
  const size_t ny = size_t(d.B * d.t_out() * d.C);
  op.in_sizes = {size_t(d.B * d.T * d.C)};
  op.out_size = ny;
  // Each closure recomputes argmax from x, as the checker expects.
  auto argmax_of = [=](const double* x) {
    std::vector<int32_t> am(ny);
    std::vector<double> y(ny);
    ops::maxpool_forward<double>(d, x, y.data(), am.data());
    return am;
  };
  op.forward = [=](const Ins& x, double* y) {
    std::vector<int32_t> am(ny);
    ops::maxpool_forward<double>(d, x[0], y, am.data());
  };
  op.tangent = [=](const Ins& x, int K, const Ins& dx, double* dy) {
    ops::maxpool_tangent<double>(d, K, argmax_of(x[0]).data(), dx[0], dy);
  };
  op.backward = [=](const Ins& x, const double* gy, const Outs& gx) {
    ops::maxpool_backward<double>(d, argmax_of(x[0]).data(), gy, gx[0]);
  };
  op.backward_tangent = [=](const Ins& x, int K, const Ins&, const double*, const double* dgy, const Outs& dgx) {
    ops::maxpool_backward_tangent<double>(d, K, argmax_of(x[0]).data(), dgy, dgx[0]);
  };
  return op;
}

TEST(OpsMaxpool, DerivativesMatchFiniteDifferences) {
  const ops::PoolDims cases[] = {
      pool_dims(2, 7, 3, 7, 1),  // over time: window = T
      pool_dims(2, 7, 3, 3, 2),  // overlapping windows
      pool_dims(1, 9, 4, 2, 3),  // gaps between windows
      pool_dims(3, 5, 2, 1, 1),  // identity
  };
  for (const auto& d : cases) {
    SCOPED_TRACE(pool_name(d));
    wltest::check_op_derivatives(pool_op(d), {tie_free(size_t(d.B * d.T * d.C), 31)});
  }
}

TEST(OpsMaxpool, ForwardMatchesLiteralMaxAndFirstMaxWinsTies) {
  const ops::PoolDims d = pool_dims(2, 8, 3, 3, 2);
  auto x = random_vecf(d.B * d.T * d.C, 41);
  // ties: channel 0 of batch 0 is constant; the first step of each window must win
  for (int64_t t = 0; t < d.T; ++t) x[t * d.C] = 0.5f;
  const int64_t To = d.t_out(), ny = d.B * To * d.C;
  std::vector<float> y(ny);
  std::vector<int32_t> am(ny);
  ops::maxpool_forward<float>(d, x.data(), y.data(), am.data());
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < To; ++t)
      for (int64_t c = 0; c < d.C; ++c) {
        float best = -INFINITY;
        int64_t best_t = -1;
        for (int64_t s = t * d.stride; s < t * d.stride + d.window; ++s)
          if (x[(b * d.T + s) * d.C + c] > best) {
            best = x[(b * d.T + s) * d.C + c];
            best_t = s;
          }
        EXPECT_EQ(y[(b * To + t) * d.C + c], best);
        EXPECT_EQ(am[(b * To + t) * d.C + c], best_t);
      }
  for (int64_t t = 0; t < To; ++t) EXPECT_EQ(am[t * d.C], t * d.stride) << "first max wins on a tie";
  // the gradient of a tied window goes to the winner only
  std::vector<float> gy(ny, 1.f), gx(d.B * d.T * d.C, 0.f);
  ops::maxpool_backward<float>(d, am.data(), gy.data(), gx.data());
  EXPECT_EQ(gx[0 * d.C], 1.f);  // t = 0 wins window 0
  EXPECT_EQ(gx[1 * d.C], 0.f);
  EXPECT_EQ(gx[2 * d.C], 1.f);  // t = 2 wins window 1 (and not window 0)
}

TEST(OpsMaxpool, NaNPropagatesAndNullsAreSkipped) {
  const ops::PoolDims d = pool_dims(1, 4, 1, 4, 1);
  const float x[4] = {1.f, NAN, 3.f, 2.f};
  float y = 0;
  int32_t am = -1;
  ops::maxpool_forward<float>(d, x, &y, &am);
  EXPECT_TRUE(std::isnan(y));
  EXPECT_EQ(am, 1);
  float dy[2] = {5.f, 5.f};
  ops::maxpool_tangent<float>(d, 2, &am, nullptr, dy);
  EXPECT_EQ(dy[0], 0.f);
  EXPECT_EQ(dy[1], 0.f);
  float gx[4] = {1.f, 1.f, 1.f, 1.f};
  ops::maxpool_backward<float>(d, &am, nullptr, gx);                   // null cotangent: nothing added
  ops::maxpool_backward_tangent<float>(d, 1, &am, nullptr, gx);
  for (float g : gx) EXPECT_EQ(g, 1.f);
}

TEST(OpsMaxpool, ErrorsNameTheOp) {
  float buf[16] = {};
  int32_t am[16] = {};
  EXPECT_ERROR_CONTAINS(ops::maxpool_forward<float>(pool_dims(1, 3, 1, 4, 1), buf, buf, am),
                        "maxpool_forward: window 4 is longer than the sequence (T=3)");
  EXPECT_ERROR_CONTAINS(ops::maxpool_forward<float>(pool_dims(1, 3, 1, 0, 1), buf, buf, am),
                        "maxpool_forward: window must be at least 1 (got 0)");
  EXPECT_ERROR_CONTAINS(ops::maxpool_tangent<float>(pool_dims(1, 3, 1, 2, 0), 1, am, buf, buf),
                        "maxpool_tangent: stride must be at least 1 (got 0)");
  EXPECT_ERROR_CONTAINS(ops::maxpool_backward<double>(pool_dims(-1, 3, 1, 2, 1), am, nullptr, nullptr),
                        "maxpool_backward: negative dimension");
  EXPECT_ERROR_CONTAINS(ops::maxpool_backward_tangent<double>(pool_dims(1, 2, 1, 3, 1), 1, am, nullptr, nullptr),
                        "maxpool_backward_tangent: window 3 is longer than the sequence (T=2)");
}

}  // namespace
