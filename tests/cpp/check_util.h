#pragma once
// Shared test helpers: random data, closeness checks, and a generic
// derivative checker for the four functions of an op (forward, tangent,
// backward, backward tangent), run in double precision against central
// finite differences.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "wordlight/error.h"

namespace wltest {

inline std::vector<double> random_vec(size_t n, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}
inline std::vector<float> random_vecf(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  auto d = random_vec(n, seed, lo, hi);
  return std::vector<float>(d.begin(), d.end());
}
template <class T>
std::vector<float> to_float(const std::vector<T>& v) {
  return std::vector<float>(v.begin(), v.end());
}
template <class T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// max_i |a_i - b_i| / (atol + rtol * |b_i|) <= 1, with a readable failure.
template <class A, class B>
::testing::AssertionResult all_close(const std::vector<A>& a, const std::vector<B>& b, double rtol, double atol) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "size " << a.size() << " vs " << b.size();
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double da = static_cast<double>(a[i]), db = static_cast<double>(b[i]);
    if (std::isnan(da) != std::isnan(db))
      return ::testing::AssertionFailure() << "NaN mismatch at " << i << ": " << da << " vs " << db;
    double r = std::fabs(da - db) / (atol + rtol * std::fabs(db));
    if (r > worst) {
      worst = r;
      wi = i;
    }
  }
  if (worst <= 1.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "worst at index " << wi << ": " << static_cast<double>(a[wi]) << " vs "
                                       << static_cast<double>(b[wi]) << " (ratio to tolerance " << worst << ")";
}

// Tolerance of a float fast path against the reference for outputs that sum
// at most n products of values in [-1, 1]. The reference accumulates in
// double and rounds once; a float GEMM rounds each of its n additions with
// relative error eps on a partial sum, ~sqrt(n) * eps * sqrt(n) = n * eps on
// random data. 2 * n * eps absolute plus 1e-5 relative is several times the
// largest error measured (OpenBLAS natively, the SIMD128 kernel in wasm),
// while a wrong index or a missing term gives an O(1) error.
inline double float_atol(int64_t n) { return 2.0 * double(n) * FLT_EPSILON; }
constexpr double kFloatRtol = 1e-5;

// An op seen as y = f(x_0, ..., x_{m-1}) over double buffers. Each closure
// recomputes whatever the op saves (probs, mean/rstd, argmax) from x itself.
struct OpUnderTest {
  std::vector<size_t> in_sizes;  // sizes of the differentiable inputs
  size_t out_size = 0;
  using Ins = std::vector<const double*>;
  using Outs = std::vector<double*>;
  // y = f(x)
  std::function<void(const Ins& x, double* y)> forward;
  // dy (K, out) from dx[i] (K, in_i)
  std::function<void(const Ins& x, int K, const Ins& dx, double* dy)> tangent;
  // gx[i] += J_i^T gy
  std::function<void(const Ins& x, const double* gy, const Outs& gx)> backward;
  // dgx[i] (K, in_i) += tangent of backward along (dx, dgy)
  std::function<void(const Ins& x, int K, const Ins& dx, const double* gy, const double* dgy, const Outs& dgx)>
      backward_tangent;
};

struct CheckOptions {
  int K = 3;             // tangent directions checked at once
  double h = 1e-5;       // finite-difference step
  double rtol = 1e-6;    // relative tolerance vs finite differences
  double atol = 1e-7;    // absolute tolerance vs finite differences
  uint64_t seed = 1234;  // for directions and cotangents
};

// Checks, in double precision:
//  1. tangent(dx_k) == central FD of forward along dx_k, for K directions at once;
//  2. backward(gy) == central FD of <gy, forward> per input coordinate
//     (directional: <backward(gy), dx> == <gy, tangent(dx)> for every k);
//  3. backward_tangent == central FD of backward(x + e dx_k, gy + e dgy_k).
// Any of the closures may be empty to skip that check.
inline void check_op_derivatives(const OpUnderTest& op, const std::vector<std::vector<double>>& x,
                                 const CheckOptions& o = {}) {
  const size_t m = op.in_sizes.size();
  ASSERT_EQ(x.size(), m);
  const int K = o.K;
  std::vector<std::vector<double>> dx(m);
  for (size_t i = 0; i < m; ++i) dx[i] = random_vec(K * op.in_sizes[i], o.seed + 17 * i + 1);
  std::vector<double> gy = random_vec(op.out_size, o.seed + 1001);
  std::vector<double> dgy = random_vec(K * op.out_size, o.seed + 2002);

  auto ptrs = [](const std::vector<std::vector<double>>& v) {
    OpUnderTest::Ins p;
    for (auto& e : v) p.push_back(e.data());
    return p;
  };
  auto shifted = [&](int k, double e) {
    std::vector<std::vector<double>> xs = x;
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < op.in_sizes[i]; ++j) xs[i][j] += e * dx[i][k * op.in_sizes[i] + j];
    return xs;
  };

  // 1. tangent vs FD
  std::vector<double> dy(K * op.out_size);
  if (op.tangent) {
    op.tangent(ptrs(x), K, ptrs(dx), dy.data());
    for (int k = 0; k < K; ++k) {
      std::vector<double> yp(op.out_size), ym(op.out_size), fd(op.out_size);
      op.forward(ptrs(shifted(k, o.h)), yp.data());
      op.forward(ptrs(shifted(k, -o.h)), ym.data());
      for (size_t j = 0; j < op.out_size; ++j) fd[j] = (yp[j] - ym[j]) / (2 * o.h);
      std::vector<double> got(dy.begin() + k * op.out_size, dy.begin() + (k + 1) * op.out_size);
      EXPECT_TRUE(all_close(got, fd, o.rtol, o.atol)) << "tangent vs finite differences, direction " << k;
    }
  }

  // 2. backward: dot-product identity against the FD directional derivative
  std::vector<std::vector<double>> gx(m);
  if (op.backward) {
    for (size_t i = 0; i < m; ++i) gx[i].assign(op.in_sizes[i], 0.0);
    OpUnderTest::Outs gp;
    for (auto& g : gx) gp.push_back(g.data());
    op.backward(ptrs(x), gy.data(), gp);
    for (int k = 0; k < K; ++k) {
      std::vector<double> yp(op.out_size), ym(op.out_size);
      op.forward(ptrs(shifted(k, o.h)), yp.data());
      op.forward(ptrs(shifted(k, -o.h)), ym.data());
      double fd = 0, got = 0;
      for (size_t j = 0; j < op.out_size; ++j) fd += gy[j] * (yp[j] - ym[j]) / (2 * o.h);
      for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < op.in_sizes[i]; ++j) got += gx[i][j] * dx[i][k * op.in_sizes[i] + j];
      EXPECT_NEAR(got, fd, o.atol + o.rtol * std::fabs(fd) + 1e-6 * std::fabs(fd))
          << "<backward(gy), dx> vs <gy, FD of forward>, direction " << k;
    }
    // Accumulation: a second call must add, not overwrite.
    std::vector<std::vector<double>> gx2 = gx;
    OpUnderTest::Outs gp2;
    for (auto& g : gx2) gp2.push_back(g.data());
    op.backward(ptrs(x), gy.data(), gp2);
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < op.in_sizes[i]; ++j)
        ASSERT_NEAR(gx2[i][j], 2 * gx[i][j], 1e-9 * (1 + std::fabs(gx[i][j]))) << "backward must accumulate";
  }

  // 3. backward tangent vs FD of backward
  if (op.backward_tangent && op.backward) {
    std::vector<std::vector<double>> dgx(m);
    for (size_t i = 0; i < m; ++i) dgx[i].assign(K * op.in_sizes[i], 0.0);
    OpUnderTest::Outs dp;
    for (auto& g : dgx) dp.push_back(g.data());
    op.backward_tangent(ptrs(x), K, ptrs(dx), gy.data(), dgy.data(), dp);
    for (int k = 0; k < K; ++k) {
      auto run = [&](double e) {
        std::vector<double> g = gy;
        for (size_t j = 0; j < op.out_size; ++j) g[j] += e * dgy[k * op.out_size + j];
        std::vector<std::vector<double>> out(m);
        OpUnderTest::Outs op_;
        for (size_t i = 0; i < m; ++i) {
          out[i].assign(op.in_sizes[i], 0.0);
          op_.push_back(out[i].data());
        }
        op.backward(ptrs(shifted(k, e)), g.data(), op_);
        return out;
      };
      auto p = run(o.h), q = run(-o.h);
      for (size_t i = 0; i < m; ++i) {
        std::vector<double> fd(op.in_sizes[i]);
        for (size_t j = 0; j < fd.size(); ++j) fd[j] = (p[i][j] - q[i][j]) / (2 * o.h);
        std::vector<double> got(dgx[i].begin() + k * op.in_sizes[i], dgx[i].begin() + (k + 1) * op.in_sizes[i]);
        EXPECT_TRUE(all_close(got, fd, o.rtol, o.atol))
            << "backward tangent vs FD of backward, input " << i << ", direction " << k;
      }
    }
  }
}

// The message of the wordlight::Error that fn throws, or "(no error)" (any
// other exception fails the test).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const wordlight::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Expects `stmt` to throw wordlight::Error whose message contains `needle`.
#define EXPECT_ERROR_CONTAINS(stmt, needle)                                                \
  do {                                                                                     \
    try {                                                                                  \
      stmt;                                                                                \
      ADD_FAILURE() << "expected wordlight::Error containing '" << (needle) << "'";        \
    } catch (const wordlight::Error& e) {                                                  \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();        \
    }                                                                                      \
  } while (0)

}  // namespace wltest
