// linear: y = x w^T + b, its tangent, backward and backward tangent.
//
// Every dense product goes through gemm<T> (or gemm_packed for float on the
// fast backend). The K tangent directions are k-major, so a direction-stacked
// left operand such as dx (K, R, I) is one (K*R, I) matrix: the products
// against the shared weight (dx w^T, dgy w) are single GEMMs of K*R rows,
// which is what keeps Hessian-vector products for many directions fast.
// Products against a per-direction weight tangent (x dw_k^T, gy dw_k, ...)
// have no such stacking in this layout and run one GEMM per direction.
#include <climits>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/op_profile.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

void check_dims(const char* fn, int64_t R, int64_t I, int64_t O, int K) {
  if (R < 0 || I < 0 || O < 0 || K < 0)
    throw Error(std::string(fn) + ": negative dimension (R=" + std::to_string(R) + ", I=" + std::to_string(I) +
                ", O=" + std::to_string(O) + ", K=" + std::to_string(K) + ")");
  // gemm takes int dimensions; the stacked products have K*R rows.
  const int64_t rows = R * (K > 0 ? K : 1);
  if (rows > INT_MAX || I > INT_MAX || O > INT_MAX)
    throw Error(std::string(fn) + ": dimensions too large for GEMM (K*R=" + std::to_string(rows) +
                ", I=" + std::to_string(I) + ", O=" + std::to_string(O) + ")");
}

template <class T>
bool use_packed(Backend be, const PackedLinear* packed) {
  return std::is_same_v<T, float> && be == Backend::fast && packed != nullptr;
}

// y (M, O) = beta * y + a (M, I) w^T, with w: (O, I).
template <class T>
void times_wt(Backend be, int64_t M, int64_t I, int64_t O, const T* a, const T* w, T beta, T* y,
              const PackedLinear* packed) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_packed<T>(be, packed) && M > 0 && O > 0) {
      gemm_packed(false, static_cast<int>(M), 1.f, a, static_cast<int>(I), packed->nt, beta, y, static_cast<int>(O));
      return;
    }
  }
  gemm<T>(be, false, true, static_cast<int>(M), static_cast<int>(O), static_cast<int>(I), T(1), a,
          static_cast<int>(I), w, static_cast<int>(I), beta, y, static_cast<int>(O));
}

// g_in (M, I) = beta * g_in + g (M, O) w, with w: (O, I).
template <class T>
void times_w(Backend be, int64_t M, int64_t I, int64_t O, const T* g, const T* w, T beta, T* g_in,
             const PackedLinear* packed) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_packed<T>(be, packed) && M > 0 && I > 0) {
      gemm_packed(false, static_cast<int>(M), 1.f, g, static_cast<int>(O), packed->nn, beta, g_in,
                  static_cast<int>(I));
      return;
    }
  }
  gemm<T>(be, false, false, static_cast<int>(M), static_cast<int>(I), static_cast<int>(O), T(1), g,
          static_cast<int>(O), w, static_cast<int>(I), beta, g_in, static_cast<int>(I));
}

// gw (O, I) += g^T x, with g: (R, O), x: (R, I).
template <class T>
void add_gt_x(Backend be, int64_t R, int64_t I, int64_t O, const T* g, const T* x, T* gw) {
  gemm<T>(be, true, false, static_cast<int>(O), static_cast<int>(I), static_cast<int>(R), T(1), g,
          static_cast<int>(O), x, static_cast<int>(I), T(1), gw, static_cast<int>(I));
}

// y (R, O) += b broadcast over rows.
template <class T>
void add_bias(int64_t R, int64_t O, const T* b, T* y) {
  for (int64_t r = 0; r < R; ++r) {
    T* yr = y + r * O;
    for (int64_t o = 0; o < O; ++o) yr[o] += b[o];
  }
}

// gb (O) += column sums of g (R, O).
template <class T>
void add_col_sums(int64_t R, int64_t O, const T* g, T* gb) {
  for (int64_t r = 0; r < R; ++r) {
    const T* gr = g + r * O;
    for (int64_t o = 0; o < O; ++o) gb[o] += gr[o];
  }
}

// dy (M, O) = dx (M, I) w^T when at least a quarter of dx's rows are zero:
// the product of the gathered nonzero rows, scattered, and zero rows
// elsewhere (exactly what the full product gives them, weights being
// finite). Returns false, having written nothing, when more rows are
// nonzero. The cases: a tangent direction that moves one token, seen by a
// projection of every token at once (Integrated Hessians' directions through
// the BiLSTM's input projection: 1 row in T nonzero), and a recurrence that
// has not reached the moved token yet (the BiLSTM's h W_hh at step t: the
// directions of tokens after t are still zero, half the rows on average).
// A row costs I + O copies against 2 I O flops of the product. Finding a row
// nonzero stops at its first nonzero element, so a dense dx costs few reads.
template <class T>
bool sparse_rows_times_wt(Backend be, int64_t M, int64_t I, int64_t O, const T* dx, const T* w, T* dy,
                          const PackedLinear* packed) {
  if (M < 64 || I == 0) return false;
  thread_local std::vector<int64_t> rows;
  rows.clear();
  {
    OpScope prof("linear.tangent.scan", 0, M, I);
    const int64_t most = M - M / 4;
    for (int64_t r = 0; r < M; ++r) {
      const T* xr = dx + r * I;
      int64_t i = 0;
      while (i < I && xr[i] == T(0)) ++i;
      if (i < I) {
        rows.push_back(r);
        if (static_cast<int64_t>(rows.size()) > most) return false;
      }
    }
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  OpScope prof("linear.tangent.rows", 2.0 * n * I * O, n, I, O);
  std::memset(dy, 0, sizeof(T) * static_cast<size_t>(M * O));
  if (n == 0) return true;
  thread_local std::vector<T> xs, ys;
  xs.resize(static_cast<size_t>(n * I));
  ys.resize(static_cast<size_t>(n * O));
  for (int64_t j = 0; j < n; ++j) std::memcpy(xs.data() + j * I, dx + rows[j] * I, sizeof(T) * static_cast<size_t>(I));
  times_wt(be, n, I, O, xs.data(), w, T(0), ys.data(), packed);
  for (int64_t j = 0; j < n; ++j) std::memcpy(dy + rows[j] * O, ys.data() + j * O, sizeof(T) * static_cast<size_t>(O));
  return true;
}

}  // namespace

template <class T>
void linear_forward(Backend be, int64_t R, int64_t I, int64_t O, const T* x, const T* w, const T* b, T* y,
                    const PackedLinear* packed) {
  check_dims("linear_forward", R, I, O, 1);
  if (R == 0 || O == 0) return;
  if (b && use_packed<T>(be, packed)) {
    // The bias enters the GEMM as its C (beta = 1): the rows are written with
    // b once and the product is added where its tile is stored, instead of a
    // second pass that reads and writes all of y (issue 20's profile: the
    // bias adds were 1-2% of an IG call).
    {
      OpScope prof("linear.fwd.bias", 0, R, O);
      for (int64_t r = 0; r < R; ++r) std::memcpy(y + r * O, b, sizeof(T) * static_cast<size_t>(O));
    }
    OpScope prof("linear.fwd.gemm", 2.0 * R * I * O, R, I, O);
    times_wt(be, R, I, O, x, w, T(1), y, packed);
    return;
  }
  {
    OpScope prof("linear.fwd.gemm", 2.0 * R * I * O, R, I, O);
    times_wt(be, R, I, O, x, w, T(0), y, packed);
  }
  if (b) {
    OpScope prof("linear.fwd.bias", 0, R, O);
    add_bias(R, O, b, y);
  }
}

template <class T>
void linear_tangent(Backend be, int64_t R, int64_t I, int64_t O, int K, const T* x, const T* w, const T* dx,
                    const T* dw, const T* db, T* dy, const PackedLinear* packed) {
  check_dims("linear_tangent", R, I, O, K);
  if (!dy || R == 0 || O == 0 || K == 0) return;
  // dy (K*R, O) = dx (K*R, I) w^T: one GEMM for all directions, on the
  // nonzero rows only where most are zero (its own profile entries).
  const bool rows_done = dx && sparse_rows_times_wt(be, int64_t(K) * R, I, O, dx, w, dy, packed);
  OpScope prof("linear.tangent", 2.0 * K * R * I * O * ((dx && !rows_done ? 1 : 0) + (dw ? 1 : 0)),
               int64_t(K) * R, I, O);
  const int64_t ysz = R * O;
  if (dx) {
    if (!rows_done) times_wt(be, int64_t(K) * R, I, O, dx, w, T(0), dy, packed);
  } else
    std::memset(dy, 0, sizeof(T) * static_cast<size_t>(K * ysz));
  for (int k = 0; k < K; ++k) {
    T* dyk = dy + k * ysz;
    // dy_k += x dw_k^T
    if (dw)
      gemm<T>(be, false, true, static_cast<int>(R), static_cast<int>(O), static_cast<int>(I), T(1), x,
              static_cast<int>(I), dw + k * O * I, static_cast<int>(I), T(1), dyk, static_cast<int>(O));
    if (db) add_bias(R, O, db + k * O, dyk);
  }
}

template <class T>
void linear_backward(Backend be, int64_t R, int64_t I, int64_t O, const T* x, const T* w, const T* gy, T* gx,
                     T* gw, T* gb, const PackedLinear* packed) {
  check_dims("linear_backward", R, I, O, 1);
  if (!gy || R == 0) return;
  if (gx) {
    OpScope prof("linear.bwd.gemm_dx", 2.0 * R * I * O, R, O, I);
    times_w(be, R, I, O, gy, w, T(1), gx, packed);  // gx (R, I) += gy w
  }
  if (gw) {
    OpScope prof("linear.bwd.gemm_dw", 2.0 * R * I * O, O, R, I);
    add_gt_x(be, R, I, O, gy, x, gw);  // gw (O, I) += gy^T x
  }
  if (gb) {
    OpScope prof("linear.bwd.bias", 0, R, O);
    add_col_sums(R, O, gy, gb);  // gb (O) += sum_r gy
  }
}

template <class T>
void linear_backward_tangent(Backend be, int64_t R, int64_t I, int64_t O, int K, const T* x, const T* w,
                             const T* dx, const T* dw, const T* gy, const T* dgy, T* dgx, T* dgw, T* dgb,
                             const PackedLinear* packed) {
  check_dims("linear_backward_tangent", R, I, O, K);
  if (R == 0 || K == 0) return;
  OpScope prof("linear.bwd_tangent",
               2.0 * K * R * I * O * ((dgx && dgy ? 1 : 0) + (dgx && gy && dw ? 1 : 0) + (dgw && dgy ? 1 : 0) +
                                      (dgw && gy && dx ? 1 : 0)),
               int64_t(K) * R, I, O);
  const int64_t xsz = R * I, ysz = R * O, wsz = O * I;
  // dgx (K*R, I) += dgy (K*R, O) w: one GEMM for all directions.
  if (dgx && dgy) times_w(be, int64_t(K) * R, I, O, dgy, w, T(1), dgx, packed);
  for (int k = 0; k < K; ++k) {
    const T* dgyk = dgy ? dgy + k * ysz : nullptr;
    // dgx_k += gy dw_k
    if (dgx && gy && dw)
      gemm<T>(be, false, false, static_cast<int>(R), static_cast<int>(I), static_cast<int>(O), T(1), gy,
              static_cast<int>(O), dw + k * wsz, static_cast<int>(I), T(1), dgx + k * xsz, static_cast<int>(I));
    if (dgw) {
      // dgw_k += dgy_k^T x + gy^T dx_k
      if (dgyk) add_gt_x(be, R, I, O, dgyk, x, dgw + k * wsz);
      if (gy && dx) add_gt_x(be, R, I, O, gy, dx + k * xsz, dgw + k * wsz);
    }
    if (dgb && dgyk) add_col_sums(R, O, dgyk, dgb + k * O);
  }
}

#define WL_INSTANTIATE_LINEAR(T)                                                                                  \
  template void linear_forward<T>(Backend, int64_t, int64_t, int64_t, const T*, const T*, const T*, T*,           \
                                  const PackedLinear*);                                                           \
  template void linear_tangent<T>(Backend, int64_t, int64_t, int64_t, int, const T*, const T*, const T*,          \
                                  const T*, const T*, T*, const PackedLinear*);                                   \
  template void linear_backward<T>(Backend, int64_t, int64_t, int64_t, const T*, const T*, const T*, T*, T*, T*,  \
                                   const PackedLinear*);                                                          \
  template void linear_backward_tangent<T>(Backend, int64_t, int64_t, int64_t, int, const T*, const T*,           \
                                           const T*, const T*, const T*, const T*, T*, T*, T*,                    \
                                           const PackedLinear*);
WL_INSTANTIATE_LINEAR(float)
WL_INSTANTIATE_LINEAR(double)
#undef WL_INSTANTIATE_LINEAR

}  // namespace wordlight::ops
