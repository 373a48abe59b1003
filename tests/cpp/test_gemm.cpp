// GEMM: the fast paths (gemm_fast, pack_b + gemm_packed, pack_linear) against
// gemm_reference, on sizes below, at and past the micro-tile (4 x 8 in wasm)
// and the k-block (256), odd sizes, all transposes, padded leading
// dimensions, alpha != 1, beta in {0, 1, 0.5}, NaN-filled C with beta == 0,
// the GEMV shape (M == 1), K == 0, and with 1 and 2 threads.
//
// Tolerance. The reference accumulates in double, so it is exact to within
// one float rounding of the result. The fast path accumulates K products in
// float: each product and each partial sum is rounded (unit roundoff
// u = 2^-24 ~ 6e-8), so its error is at most ~K*u * S, where
// S = |alpha| * sum_p |a_ip b_pj| + |beta c_ij|, and for rounding errors of
// random sign it grows like sqrt(K)*u * S. We allow
//   |C - C_ref| <= 1e-6 * (sqrt(K) + 2) * S + 1e-30,
// i.e. ~16x the typical sqrt(K)*u growth (the "+2" covers the roundings of
// alpha*acc, beta*C and their sum); the worst error over these tests is
// about 2 * sqrt(K)*u * S, natively and in wasm. Measuring against S rather
// than |C_ref| keeps the test meaningful where the sum cancels to near zero.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check_util.h"
#include "wordlight/gemm.h"
#include "wordlight/thread_pool.h"

namespace {

using wordlight::gemm_fast;
using wordlight::gemm_packed;
using wordlight::gemm_reference;
using wordlight::pack_b;
using wordlight::PackedB;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Restores the default pool size when a test ends, even on failure.
struct ThreadsGuard {
  int saved = wordlight::num_threads();
  explicit ThreadsGuard(int n) { wordlight::set_num_threads(n); }
  ~ThreadsGuard() { wordlight::set_num_threads(saved); }
};

struct Spec {
  bool ta = false, tb = false;
  int M = 1, N = 1, K = 1;
  float alpha = 1.f, beta = 0.f;
  int pad = 0;             // extra elements per row of A, B and C (lda, ldb, ldc > row length)
  bool nan_c = false;      // fill C with NaN first (only meaningful with beta == 0)
  std::string name() const {
    return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
           " K=" + std::to_string(K) + " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta) +
           " pad=" + std::to_string(pad) + (nan_c ? " nanC" : "");
  }
};

// Operands of one product, op(A) (M x K) and op(B) (K x N) stored as the
// trans flags say, with leading dimensions padded by spec.pad.
struct Operands {
  Spec s;
  int lda, ldb, ldc;
  std::vector<float> A, B, C0;
  explicit Operands(const Spec& spec, uint64_t seed) : s(spec) {
    const int a_rows = s.ta ? s.K : s.M, a_cols = s.ta ? s.M : s.K;
    const int b_rows = s.tb ? s.N : s.K, b_cols = s.tb ? s.K : s.N;
    // BLAS wants every leading dimension >= 1, even for an empty operand.
    lda = std::max(1, a_cols + s.pad);
    ldb = std::max(1, b_cols + s.pad);
    ldc = std::max(1, s.N + s.pad);
    // Padding holds huge values: reading it would show in the result.
    A = wltest::random_vecf(static_cast<size_t>(std::max(a_rows, 1)) * lda, seed);
    B = wltest::random_vecf(static_cast<size_t>(std::max(b_rows, 1)) * ldb, seed + 1);
    for (int r = 0; r < a_rows; ++r)
      for (int c = a_cols; c < lda; ++c) A[static_cast<size_t>(r) * lda + c] = 1e30f;
    for (int r = 0; r < b_rows; ++r)
      for (int c = b_cols; c < ldb; ++c) B[static_cast<size_t>(r) * ldb + c] = 1e30f;
    C0 = s.nan_c ? std::vector<float>(static_cast<size_t>(std::max(s.M, 1)) * ldc, kNaN)
                 : wltest::random_vecf(static_cast<size_t>(std::max(s.M, 1)) * ldc, seed + 2);
  }
  float a(int i, int p) const { return s.ta ? A[static_cast<size_t>(p) * lda + i] : A[static_cast<size_t>(i) * lda + p]; }
  float b(int p, int j) const { return s.tb ? B[static_cast<size_t>(j) * ldb + p] : B[static_cast<size_t>(p) * ldb + j]; }
  // The reference result and, per element, the scale of its rounding
  // errors S = |alpha| sum_p |a_ip b_pj| + |beta c_ij| (computed once).
  mutable std::vector<float> ref;
  mutable std::vector<double> mag;
  void reference() const {
    if (!ref.empty()) return;
    ref = C0;
    gemm_reference<float>(s.ta, s.tb, s.M, s.N, s.K, s.alpha, A.data(), lda, B.data(), ldb, s.beta, ref.data(), ldc);
    mag.assign(ref.size(), 0.0);
    for (int i = 0; i < s.M; ++i)
      for (int j = 0; j < s.N; ++j) {
        const size_t at = static_cast<size_t>(i) * ldc + j;
        double m = s.beta == 0.f ? 0.0 : std::fabs(static_cast<double>(s.beta) * C0[at]);
        for (int p = 0; p < s.K; ++p) m += std::fabs(static_cast<double>(s.alpha) * a(i, p) * b(p, j));
        mag[at] = m;
      }
  }
};

// Checks got against the reference with the tolerance of the header comment;
// C's padding columns must be untouched.
::testing::AssertionResult matches(const Operands& o, const std::vector<float>& got) {
  const Spec& s = o.s;
  o.reference();
  const double tol = 1e-6 * (std::sqrt(static_cast<double>(s.K)) + 2.0);
  for (int i = 0; i < s.M; ++i) {
    for (int j = 0; j < o.ldc; ++j) {
      const size_t at = static_cast<size_t>(i) * o.ldc + j;
      const float g = got[at];
      if (j >= s.N) {  // padding: bit-identical to what was there
        if (std::memcmp(&g, &o.C0[at], sizeof g) != 0)
          return ::testing::AssertionFailure() << s.name() << ": wrote C padding at (" << i << ", " << j << ")";
        continue;
      }
      const double err = std::fabs(static_cast<double>(g) - o.ref[at]);
      const double bound = tol * o.mag[at] + 1e-30;
      if (!(err <= bound))  // also catches NaN
        return ::testing::AssertionFailure() << s.name() << ": C(" << i << ", " << j << ") = " << g << ", reference "
                                             << o.ref[at] << ", |error| " << err << " > " << bound;
    }
  }
  return ::testing::AssertionSuccess();
}

std::vector<float> run_fast(const Operands& o) {
  std::vector<float> C = o.C0;
  const Spec& s = o.s;
  gemm_fast(s.ta, s.tb, s.M, s.N, s.K, s.alpha, o.A.data(), o.lda, o.B.data(), o.ldb, s.beta, C.data(), o.ldc);
  return C;
}

std::vector<float> run_packed(const Operands& o) {
  std::vector<float> C = o.C0;
  const Spec& s = o.s;
  const PackedB pb = pack_b(s.tb, s.K, s.N, o.B.data(), o.ldb);
  EXPECT_EQ(pb.K, s.K);
  EXPECT_EQ(pb.N, s.N);
  gemm_packed(s.ta, s.M, s.alpha, o.A.data(), o.lda, pb, s.beta, C.data(), o.ldc);
  return C;
}

void check_both(const Spec& s, uint64_t seed) {
  Operands o(s, seed);
  EXPECT_TRUE(matches(o, run_fast(o))) << "gemm_fast";
  EXPECT_TRUE(matches(o, run_packed(o))) << "gemm_packed";
}

const bool kTrans[4][2] = {{false, false}, {false, true}, {true, false}, {true, true}};

TEST(Gemm, FastPathIsNamed) {
  const std::string name = wordlight::gemm_fast_name();
  EXPECT_FALSE(name.empty());
#ifdef __EMSCRIPTEN__
  EXPECT_EQ(name, wordlight::gemm_relaxed_active() ? "wasm-relaxed-simd" : "wasm-simd128");
#else
  EXPECT_FALSE(wordlight::gemm_relaxed_active());
#endif
}

#ifdef __EMSCRIPTEN__
// The relaxed-SIMD kernel (issue 20; core/src/ops/wasm_relaxed/). The wasm
// ctest runs node with --experimental-wasm-relaxed-simd, so a build that
// carries the kernel must be using it there: the other Gemm tests then check
// it, and this one checks both kernels on the odd sizes, against the double
// reference and against each other, and that turning it off is obeyed.
TEST(Gemm, RelaxedSimdKernelAndFallback) {
  const std::string status = wordlight::gemm_relaxed_status();
#ifndef WORDLIGHT_RELAXED_KERNEL
  // A build configured with -DWORDLIGHT_RELAXED_SIMD=OFF: the switch is
  // inert and says so, and SIMD128 runs.
  EXPECT_NE(status.find("no relaxed-SIMD kernel"), std::string::npos) << status;
  wordlight::set_gemm_relaxed(true);
  EXPECT_FALSE(wordlight::gemm_relaxed_active());
  EXPECT_EQ(std::string(wordlight::gemm_fast_name()), "wasm-simd128");
  return;
#endif
  ASSERT_EQ(status, "active") << "run under node --experimental-wasm-relaxed-simd, as the wasm ctest does";
  const int Ms[] = {1, 3, 4, 5, 9, 33, 70}, Ns[] = {1, 7, 8, 9, 17, 40}, Ks[] = {1, 5, 33, 300};
  uint64_t seed = 7;
  for (bool relaxed : {false, true}) {
    wordlight::set_gemm_relaxed(relaxed);
    EXPECT_EQ(std::string(wordlight::gemm_fast_name()), relaxed ? "wasm-relaxed-simd" : "wasm-simd128");
    for (auto& t : kTrans)
      for (int M : Ms)
        for (int N : Ns)
          for (int K : Ks) check_both(Spec{t[0], t[1], M, N, K}, seed++);
  }
  // The same product by each kernel: equal up to the fused roundings.
  Operands o(Spec{false, true, 37, 45, 300}, 99);
  wordlight::set_gemm_relaxed(false);
  const std::vector<float> simd = run_fast(o);
  wordlight::set_gemm_relaxed(true);
  const std::vector<float> fused = run_fast(o);
  double worst = 0;
  for (size_t i = 0; i < simd.size(); ++i) worst = std::max(worst, std::abs(double(simd[i]) - fused[i]));
  EXPECT_LT(worst, 1e-3);
  EXPECT_TRUE(matches(o, fused));
  EXPECT_TRUE(wordlight::set_gemm_relaxed(true));
}
#endif

// Every size from 1 to past two tiles in each dimension, all four transposes.
TEST(Gemm, SmallAndOddSizesAllTransposes) {
  const int Ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 17, 33};
  const int Ns[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33};
  const int Ks[] = {1, 3, 5, 8, 9, 17, 33};
  uint64_t seed = 1;
  for (auto& t : kTrans)
    for (int M : Ms)
      for (int N : Ns)
        for (int K : Ks) {
          check_both(Spec{t[0], t[1], M, N, K}, seed++);
          if (HasFailure()) return;  // one readable failure, not thousands
        }
}

// K past the k-block (256) and the 4-step unroll: blocks must accumulate.
TEST(Gemm, LongKAcrossBlocks) {
  const int Ks[] = {255, 256, 257, 511, 513, 1000};
  uint64_t seed = 100;
  for (auto& t : kTrans)
    for (int K : Ks)
      for (int MN : {5, 37}) {
        Spec s;
        s.ta = t[0];
        s.tb = t[1];
        s.M = MN;
        s.N = MN + 6;
        s.K = K;
        s.alpha = 0.5f;
        s.beta = 0.5f;
        check_both(s, seed++);
      }
}

// alpha, beta and padded leading dimensions, including beta == 0 over NaN.
TEST(Gemm, AlphaBetaAndLeadingDimensions) {
  uint64_t seed = 200;
  for (auto& t : kTrans)
    for (float alpha : {1.f, -1.5f, 0.25f})
      for (float beta : {0.f, 1.f, 0.5f})
        for (int pad : {0, 3, 16})
          for (int M : {3, 8, 13}) {
            Spec s;
            s.ta = t[0];
            s.tb = t[1];
            s.M = M;
            s.N = 19;
            s.K = 29;
            s.alpha = alpha;
            s.beta = beta;
            s.pad = pad;
            check_both(s, seed++);
          }
}

TEST(Gemm, BetaZeroIgnoresNaNInC) {
  uint64_t seed = 300;
  for (auto& t : kTrans)
    for (int M : {1, 4, 6, 33})
      for (int N : {1, 8, 10, 40})
        for (int K : {0, 1, 7, 300}) {
          // alpha 2, beta 0, rows padded by 2, C filled with NaN first.
          check_both(Spec{t[0], t[1], M, N, K, 2.f, 0.f, 2, true}, seed++);
        }
}

// The GEMV shape: one row of A against a wide B.
TEST(Gemm, SingleRowGemv) {
  uint64_t seed = 400;
  for (auto& t : kTrans)
    for (int N : {1, 7, 8, 9, 100, 768})
      for (int K : {1, 64, 768}) {
        Spec s;
        s.ta = t[0];
        s.tb = t[1];
        s.M = 1;
        s.N = N;
        s.K = K;
        s.beta = N % 2 ? 0.f : 1.f;
        check_both(s, seed++);
      }
}

// K == 0: C = beta * C (0 where beta == 0, whatever C held).
TEST(Gemm, EmptyInnerDimension) {
  for (auto& t : kTrans)
    for (float beta : {0.f, 1.f, 0.5f}) {
      Spec s;
      s.ta = t[0];
      s.tb = t[1];
      s.M = 5;
      s.N = 9;
      s.K = 0;
      s.beta = beta;
      s.nan_c = beta == 0.f;
      check_both(s, 500);
    }
}

// M == 0 or N == 0: nothing to do, C untouched.
TEST(Gemm, EmptyOutputIsANoOp) {
  std::vector<float> A(64, 1.f), B(64, 1.f), C(64, 7.f);
  gemm_fast(false, false, 0, 4, 4, 1.f, A.data(), 4, B.data(), 4, 0.f, C.data(), 4);
  gemm_fast(false, false, 4, 0, 4, 1.f, A.data(), 4, B.data(), 4, 0.f, C.data(), 4);
  const PackedB empty_n = pack_b(false, 4, 0, B.data(), 4);
  gemm_packed(false, 4, 1.f, A.data(), 4, empty_n, 0.f, C.data(), 4);
  const PackedB pb = pack_b(false, 4, 4, B.data(), 4);
  gemm_packed(false, 0, 1.f, A.data(), 4, pb, 0.f, C.data(), 4);
  for (float c : C) EXPECT_EQ(c, 7.f);
}

// Sizes big enough to be split across threads, in each way the work is
// split (over column panels; over row tiles when N is narrow; the in-place
// B path of a single row tile), with 1 and 2 threads. Our kernel never
// splits K across threads, so in wasm the result is bit-identical.
TEST(Gemm, OneAndTwoThreads) {
  const struct {
    int M, N, K;
  } shapes[] = {{64, 200, 130}, {300, 8, 300}, {257, 20, 129}, {1, 4000, 300}, {4, 1030, 300}, {3, 2001, 257}};
  uint64_t seed = 600;
  for (auto& t : kTrans)
    for (auto& sh : shapes) {
      Spec s;
      s.ta = t[0];
      s.tb = t[1];
      s.M = sh.M;
      s.N = sh.N;
      s.K = sh.K;
      s.alpha = 0.5f;
      s.beta = 1.f;
      s.pad = 1;
      Operands o(s, seed++);
      std::vector<float> fast1, packed1;
      {
        ThreadsGuard g(1);
        fast1 = run_fast(o);
        packed1 = run_packed(o);
      }
      ThreadsGuard g(2);
      const std::vector<float> fast2 = run_fast(o), packed2 = run_packed(o);
      EXPECT_TRUE(matches(o, fast1)) << "gemm_fast, 1 thread";
      EXPECT_TRUE(matches(o, packed1)) << "gemm_packed, 1 thread";
      EXPECT_TRUE(matches(o, fast2)) << "gemm_fast, 2 threads";
      EXPECT_TRUE(matches(o, packed2)) << "gemm_packed, 2 threads";
#ifdef __EMSCRIPTEN__
      EXPECT_EQ(fast1, fast2) << s.name();
      EXPECT_EQ(packed1, packed2) << s.name();
#endif
    }
}

// A packed B is reused across many calls with different A, M and beta.
TEST(Gemm, PackedBIsReusable) {
  const int K = 70, N = 45;
  const auto B = wltest::random_vecf(static_cast<size_t>(K) * N, 700);
  const PackedB pb = pack_b(false, K, N, B.data(), N);
  for (int M : {1, 4, 9, 64}) {
    const auto A = wltest::random_vecf(static_cast<size_t>(M) * K, 701 + M);
    std::vector<float> C(static_cast<size_t>(M) * N, kNaN), R(C.size(), 0.f);
    gemm_packed(false, M, 1.f, A.data(), K, pb, 0.f, C.data(), N);
    gemm_reference<float>(false, false, M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, R.data(), N);
    EXPECT_TRUE(wltest::all_close(C, R, 1e-5, 1e-5)) << "M=" << M;
  }
}

// pack_linear: the weight of a linear layer, packed for both directions.
//   forward  y  = x w^T  (x: M x I, w: O x I)  with nt
//   backward gx = gy w   (gy: M x O)           with nn
// and the same products with the left operand stored transposed.
TEST(Gemm, PackLinearBothDirections) {
  const struct {
    int M, O, I;
  } shapes[] = {{1, 8, 8}, {7, 13, 5}, {16, 33, 70}, {64, 96, 40}, {3, 300, 257}};
  uint64_t seed = 800;
  for (auto& sh : shapes) {
    const int M = sh.M, O = sh.O, I = sh.I;
    const auto w = wltest::random_vecf(static_cast<size_t>(O) * I, seed++);
    const auto x = wltest::random_vecf(static_cast<size_t>(M) * I, seed++);
    const auto gy = wltest::random_vecf(static_cast<size_t>(M) * O, seed++);
    const wordlight::PackedLinear p = wordlight::pack_linear(O, I, w.data());
    EXPECT_EQ(p.nt.K, I);
    EXPECT_EQ(p.nt.N, O);
    EXPECT_EQ(p.nn.K, O);
    EXPECT_EQ(p.nn.N, I);
    const double rtol = 1e-6 * (std::sqrt(static_cast<double>(std::max(O, I))) + 2.0);

    std::vector<float> y(static_cast<size_t>(M) * O, kNaN), y_ref(y.size(), 0.f);
    gemm_packed(false, M, 1.f, x.data(), I, p.nt, 0.f, y.data(), O);
    gemm_reference<float>(false, true, M, O, I, 1.f, x.data(), I, w.data(), I, 0.f, y_ref.data(), O);
    EXPECT_TRUE(wltest::all_close(y, y_ref, rtol, rtol)) << "forward M=" << M << " O=" << O << " I=" << I;

    std::vector<float> gx(static_cast<size_t>(M) * I, kNaN), gx_ref(gx.size(), 0.f);
    gemm_packed(false, M, 1.f, gy.data(), O, p.nn, 0.f, gx.data(), I);
    gemm_reference<float>(false, false, M, I, O, 1.f, gy.data(), O, w.data(), I, 0.f, gx_ref.data(), I);
    EXPECT_TRUE(wltest::all_close(gx, gx_ref, rtol, rtol)) << "backward M=" << M << " O=" << O << " I=" << I;

    // x stored transposed (I x M): op(A) = x again.
    std::vector<float> xt(static_cast<size_t>(I) * M);
    for (int i = 0; i < M; ++i)
      for (int k = 0; k < I; ++k) xt[static_cast<size_t>(k) * M + i] = x[static_cast<size_t>(i) * I + k];
    std::vector<float> yt(y.size(), kNaN);
    gemm_packed(true, M, 1.f, xt.data(), M, p.nt, 0.f, yt.data(), O);
    EXPECT_TRUE(wltest::all_close(yt, y_ref, rtol, rtol)) << "forward, A transposed, M=" << M;
  }
}

// The dispatch: float + fast -> gemm_fast, the rest -> reference.
TEST(Gemm, DispatchByBackendAndType) {
  const int M = 9, N = 11, K = 13;
  const auto Af = wltest::random_vecf(M * K, 900), Bf = wltest::random_vecf(K * N, 901);
  std::vector<float> Cf(M * N, kNaN), Rf(M * N, kNaN), Ff(M * N, kNaN);
  wordlight::gemm<float>(wordlight::Backend::fast, false, false, M, N, K, 1.f, Af.data(), K, Bf.data(), N, 0.f,
                         Cf.data(), N);
  gemm_fast(false, false, M, N, K, 1.f, Af.data(), K, Bf.data(), N, 0.f, Ff.data(), N);
  wordlight::gemm<float>(wordlight::Backend::reference, false, false, M, N, K, 1.f, Af.data(), K, Bf.data(), N, 0.f,
                         Rf.data(), N);
  EXPECT_EQ(Cf, Ff);
  std::vector<float> R2(M * N, kNaN);
  gemm_reference<float>(false, false, M, N, K, 1.f, Af.data(), K, Bf.data(), N, 0.f, R2.data(), N);
  EXPECT_EQ(Rf, R2);

  const auto Ad = wltest::random_vec(M * K, 902), Bd = wltest::random_vec(K * N, 903);
  std::vector<double> Cd(K * N, 0.0), Rd(K * N, 0.0);  // op(A): (K x M), C: (K x N)
  wordlight::gemm<double>(wordlight::Backend::fast, true, false, K, N, M, 1.0, Ad.data(), K, Bd.data(), N, 0.0,
                          Cd.data(), N);
  gemm_reference<double>(true, false, K, N, M, 1.0, Ad.data(), K, Bd.data(), N, 0.0, Rd.data(), N);
  EXPECT_EQ(Cd, Rd);
}

}  // namespace
