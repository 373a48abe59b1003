// Multi-head scaled dot-product attention in the (B, T, H*Dh) layout, see
// ops.h. Per (batch item b, head h), with s = 1/sqrt(Dh):
//   S = s q k^T,  P = softmax(S) over unmasked keys,  O = P v.
// Derivatives (c = rowsum(P*gP), dc = rowsum(dP*gP + P*dgP)):
//   tangent    dS = s (dq k^T + q dk^T);  dP = P*(dS - rowsum(P*dS));  dO = dP v + P dv
//   backward   gP = gO v^T;  gv += P^T gO;  gS = P*(gP - c);  gq += s gS k;  gk += s gS^T q
//   backward tangent
//              dgP = dgO v^T + gO dv^T;  dgv += dP^T gO + P^T dgO
//              dgS = dP*(gP - c) + P*(dgP - dc)
//              dgq += s (dgS k + gS dk);  dgk += s (dgS^T q + gS^T dq)
//
// A head's columns are addressed in place: its (T, Dh) block of q starts at
// q + b*T*H*Dh + h*Dh with leading dimension H*Dh, so every product is one
// gemm<T> call with no transposed copies. The (b, h) pairs are independent
// and are split over default_pool(); each writes only its own head's columns
// and its own (T, T) blocks, and uses per-thread scratch that only grows.
//
// Masking: a masked key gets probability exactly 0 (it is skipped, not
// exp(-inf)'d). The derivatives only see P, so masked keys get zero dP and
// zero gradient through S automatically. Causal attention (decoders) masks
// the keys after each query the same way, in the forward pass alone. A batch
// item whose keys are ALL
// masked has no softmax to take (PyTorch gives NaN): attention_forward
// throws wordlight::Error naming the batch item rather than return NaN or a
// silent zero that would corrupt attributions downstream.
#include <algorithm>
#include <climits>
#include <cmath>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "fast_math.h"
#include "wordlight/error.h"
#include "wordlight/op_profile.h"
#include "wordlight/ops.h"
#include "wordlight/thread_pool.h"

namespace wordlight::ops {
namespace {

namespace fm = fast_math;

void check_dims(const char* fn, const AttentionDims& d, int K) {
  if (d.B < 0 || d.T < 0 || K < 0)
    throw Error(std::string(fn) + ": negative dimension (B=" + std::to_string(d.B) + ", T=" + std::to_string(d.T) +
                ", K=" + std::to_string(K) + ")");
  if (d.H < 1) throw Error(std::string(fn) + ": number of heads H must be at least 1 (got " + std::to_string(d.H) + ")");
  if (d.Dh < 1) throw Error(std::string(fn) + ": head size Dh must be at least 1 (got " + std::to_string(d.Dh) + ")");
  if (d.T > INT_MAX || d.H * d.Dh > INT_MAX)
    throw Error(std::string(fn) + ": dimensions too large for GEMM (T=" + std::to_string(d.T) +
                ", H*Dh=" + std::to_string(d.H * d.Dh) + ")");
}

// Where one (b, h) pair's data lives.
struct Layout {
  int64_t T, H, Dh, HD;  // HD = H*Dh: leading dimension of q, k, v, out
  int64_t seq;           // B*T*HD: elements of one direction of dq, dk, dv, dout
  int64_t pairs;         // B*H: (T, T) blocks of one direction of probs / dprobs
  int t, dh, ld;         // the same as gemm ints
  explicit Layout(const AttentionDims& d)
      : T(d.T), H(d.H), Dh(d.Dh), HD(d.H * d.Dh), seq(d.B * d.T * d.H * d.Dh), pairs(d.B * d.H),
        t(static_cast<int>(d.T)), dh(static_cast<int>(d.Dh)), ld(static_cast<int>(d.H * d.Dh)) {}
  // offset of head h of batch item b (pair p = b*H + h) in a (B, T, HD) buffer
  int64_t head(int64_t p) const { return (p / H) * T * HD + (p % H) * Dh; }
  int64_t block(int64_t p) const { return p * T * T; }
};

// Per-thread scratch (T, T) matrices and a (T) row vector, only growing.
template <class T>
struct Scratch {
  std::vector<T> s, gp, gs, dp, dgp;
  std::vector<double> c;
};
template <class T>
Scratch<T>& scratch() {
  thread_local Scratch<T> sc;
  return sc;
}
template <class V>
typename V::value_type* grow(V& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Split the (b, h) pairs over the pool when each chunk has enough work to
// pay for a hand-off (about 2^18 multiply-adds); otherwise run them here.
void for_each_pair(int64_t pairs, double work_per_pair, const std::function<void(int64_t)>& fn) {
  const size_t n = static_cast<size_t>(pairs);
  const size_t grain = static_cast<size_t>(std::max(1.0, std::ceil(262144.0 / std::max(1.0, work_per_pair))));
  ThreadPool& pool = default_pool();
  if (pool.threads() < 2 || n / grain < 2) {
    for (size_t p = 0; p < n; ++p) fn(static_cast<int64_t>(p));
    return;
  }
  pool.parallel_for(n, grain, [&](size_t begin, size_t end) {
    for (size_t p = begin; p < end; ++p) fn(static_cast<int64_t>(p));
  });
}

// ------------------------------------------------------------ row operations on (T, T)

// In place: scores S -> probabilities P, row-wise softmax over the keys
// with mask[j] != 0 (mask null = all) and, when causal, j <= i; the other
// keys get exactly 0, and a row with no key left is all 0.
template <class T>
void masked_softmax(int64_t n, const uint8_t* mask, bool causal, T* S) {
  for (int64_t i = 0; i < n; ++i) {
    T* row = S + i * n;
    const int64_t m = causal ? i + 1 : n;  // keys [0, m) may be attended
    T mx = -INFINITY;
    bool any = false;
    for (int64_t j = 0; j < m; ++j)
      if (!mask || mask[j]) {
        mx = std::max(mx, row[j]);
        any = true;
      }
    if (!any) {
      std::fill(row, row + n, T(0));
      continue;
    }
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j >= m || (mask && !mask[j])) {
        row[j] = T(0);
      } else {
        row[j] = std::exp(row[j] - mx);
        sum += row[j];
      }
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j < m; ++j) row[j] *= inv;
  }
}

// Backend::fast, float: the same with fast_math's exp, max and 8-lane sum
// (the scalar std::exp above was the attention forward's main cost outside
// its GEMMs). Masked keys are set to -inf before the max and to exactly 0
// after the exp, so they enter neither the max nor the sum; causal rows
// only look at their first i + 1 keys.
void masked_softmax_fast(int64_t n, const uint8_t* mask, bool causal, float* S) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = S + i * n;
    const int64_t m = causal ? i + 1 : n;
    std::fill(row + m, row + n, 0.0f);
    if (mask && causal && std::none_of(mask, mask + m, [](uint8_t x) { return x != 0; })) {
      std::fill(row, row + m, 0.0f);
      continue;
    }
    if (mask)
      for (int64_t j = 0; j < m; ++j) row[j] = fm::select(mask[j] != 0, row[j], -INFINITY);
    const float mx = fm::max8(m, row);
    fm::exp_shifted_n(m, row, mx, row);
    if (mask)
      for (int64_t j = 0; j < m; ++j) row[j] = fm::select(mask[j] != 0, row[j], 0.0f);
    const float inv = 1.0f / fm::sum8(m, row);
    for (int64_t j = 0; j < m; ++j) row[j] *= inv;
  }
}

template <class T>
void masked_softmax(Backend be, int64_t n, const uint8_t* mask, bool causal, T* S) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) return masked_softmax_fast(n, mask, causal, S);
  }
  masked_softmax(n, mask, causal, S);
}

// c[i] = sum_j A[i, j] B[i, j]
template <class T>
void row_dots(int64_t n, const T* A, const T* B, double* c) {
  for (int64_t i = 0; i < n; ++i) {
    double acc = 0;
    for (int64_t j = 0; j < n; ++j) acc += double(A[i * n + j]) * double(B[i * n + j]);
    c[i] = acc;
  }
}

// In place: X -> P*(X - rowsum(P*X)), the softmax Jacobian (transposed or
// not: it is symmetric) applied row-wise.
template <class T>
void softmax_jacobian(int64_t n, const T* P, T* X, double* c) {
  row_dots(n, P, X, c);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) X[i * n + j] = static_cast<T>(P[i * n + j] * (X[i * n + j] - c[i]));
}

// Backend::fast, float: the same with fast_math's 8-lane float dot and a
// float loop that vectorises (the double sums and mixed-precision loop
// above run scalar; in the attention backward of an IG batch they were a
// third of the softmax's share). c still receives the row dots.
template <class T>
void softmax_jacobian(Backend be, int64_t n, const T* P, T* X, double* c) {
  if constexpr (std::is_same_v<T, float>) {
    if (be == Backend::fast) {
      for (int64_t i = 0; i < n; ++i) {
        const float* p = P + i * n;
        float* x = X + i * n;
        const double ci = fm::row_dot(be, n, p, x);
        c[i] = ci;
        const float cf = static_cast<float>(ci);
        for (int64_t j = 0; j < n; ++j) x[j] = p[j] * (x[j] - cf);
      }
      return;
    }
  }
  softmax_jacobian(n, P, X, c);
}

// In place: X = dgP -> dgS = dP*(gP - c) + P*(dgP - dc), the tangent of
// gS = P*(gP - c) with dc = rowsum(dP*gP + P*dgP). dP null means zero (then
// gP and c are not read); has_dgP false means dgP is zero (X is only written).
template <class T>
void softmax_jacobian_tangent(int64_t n, const T* P, const T* dP, const T* gP, const double* c, bool has_dgP, T* X,
                              double* dc) {
  for (int64_t i = 0; i < n; ++i) {
    double acc = 0;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t ij = i * n + j;
      if (dP) acc += double(dP[ij]) * double(gP[ij]);
      if (has_dgP) acc += double(P[ij]) * double(X[ij]);
    }
    dc[i] = acc;
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t ij = i * n + j;
      double x = double(P[ij]) * ((has_dgP ? double(X[ij]) : 0.0) - dc[i]);
      if (dP) x += double(dP[ij]) * (double(gP[ij]) - c[i]);
      X[ij] = static_cast<T>(x);
    }
}

// ------------------------------------------------------------ per-pair pieces

// dP (T, T) = softmax Jacobian of s (dq k^T + q dk^T); dq, dk: one direction's
// head blocks (null = zero). Returns false (dP untouched) when both are null.
template <class T>
bool probs_tangent(Backend be, const Layout& L, T scale, const T* qh, const T* kh, const T* dqh, const T* dkh,
                   const T* P, T* dP, double* c) {
  if (!dqh && !dkh) return false;
  if (dqh) gemm<T>(be, false, true, L.t, L.t, L.dh, scale, dqh, L.ld, kh, L.ld, T(0), dP, L.t);
  if (dkh) gemm<T>(be, false, true, L.t, L.t, L.dh, scale, qh, L.ld, dkh, L.ld, dqh ? T(1) : T(0), dP, L.t);
  softmax_jacobian(be, L.T, P, dP, c);
  return true;
}

}  // namespace

template <class T>
void attention_forward(Backend be, const AttentionDims& d, const T* q, const T* k, const T* v,
                       const uint8_t* key_mask, T* probs, T* out) {
  check_dims("attention_forward", d, 1);
  if (key_mask && d.T > 0)
    for (int64_t b = 0; b < d.B; ++b) {
      const uint8_t* m = key_mask + b * d.T;
      if (std::none_of(m, m + d.T, [](uint8_t x) { return x != 0; }))
        throw Error("attention_forward: every key of batch item " + std::to_string(b) +
                    " is masked (key_mask is all zero); at least one key must be real");
    }
  const Layout L(d);
  const T scale = static_cast<T>(1.0 / std::sqrt(double(d.Dh)));
  for_each_pair(L.pairs, 2.0 * L.T * L.T * L.Dh, [&](int64_t p) {
    const int64_t hd = L.head(p);
    T* P = probs ? probs + L.block(p) : grow(scratch<T>().s, size_t(L.T * L.T));
    {
      OpScope prof("attention.fwd.qk", 2.0 * L.T * L.T * L.Dh, L.T, L.Dh, L.T);
      gemm<T>(be, false, true, L.t, L.t, L.dh, scale, q + hd, L.ld, k + hd, L.ld, T(0), P, L.t);
    }
    {
      OpScope prof("attention.fwd.softmax", 0, L.T, L.T);
      masked_softmax(be, L.T, key_mask ? key_mask + (p / L.H) * L.T : nullptr, d.causal, P);
    }
    if (out) {
      OpScope prof("attention.fwd.pv", 2.0 * L.T * L.T * L.Dh, L.T, L.T, L.Dh);
      gemm<T>(be, false, false, L.t, L.dh, L.t, T(1), P, L.t, v + hd, L.ld, T(0), out + hd, L.ld);
    }
  });
}

// dq, dk, dv: (K, B, T, H*Dh) or null; dprobs: (K, B, H, T, T) or null; dout: (K, B, T, H*Dh)
template <class T>
void attention_tangent(Backend be, const AttentionDims& d, int K, const T* q, const T* k, const T* v,
                       const T* probs, const T* dq, const T* dk, const T* dv, T* dprobs, T* dout) {
  check_dims("attention_tangent", d, K);
  if (!dprobs && !dout) return;
  const Layout L(d);
  const T scale = static_cast<T>(1.0 / std::sqrt(double(d.Dh)));
  OpScope prof("attention.tangent", 8.0 * K * L.pairs * L.T * L.T * L.Dh, K * L.pairs, L.T, L.Dh);
  for_each_pair(L.pairs, 4.0 * K * L.T * L.T * L.Dh, [&](int64_t p) {
    Scratch<T>& sc = scratch<T>();
    double* c = grow(sc.c, size_t(L.T));
    const int64_t hd = L.head(p);
    const T* P = probs + L.block(p);
    for (int kd = 0; kd < K; ++kd) {
      const int64_t dir = kd * L.seq;
      T* dP = dprobs ? dprobs + (kd * L.pairs + p) * L.T * L.T : grow(sc.dp, size_t(L.T * L.T));
      const bool has_dP = probs_tangent(be, L, scale, q + hd, k + hd, dq ? dq + dir + hd : nullptr,
                                        dk ? dk + dir + hd : nullptr, P, dP, c);
      if (!has_dP && dprobs) std::fill(dP, dP + L.T * L.T, T(0));
      if (!dout) continue;
      T* dO = dout + dir + hd;
      // dO = dP v + P dv
      if (has_dP) gemm<T>(be, false, false, L.t, L.dh, L.t, T(1), dP, L.t, v + hd, L.ld, T(0), dO, L.ld);
      if (dv)
        gemm<T>(be, false, false, L.t, L.dh, L.t, T(1), P, L.t, dv + dir + hd, L.ld, has_dP ? T(1) : T(0), dO, L.ld);
      if (!has_dP && !dv)
        for (int64_t i = 0; i < L.T; ++i) std::fill(dO + i * L.HD, dO + i * L.HD + L.Dh, T(0));
    }
  });
}

// gout: (B, T, H*Dh); gq, gk, gv: (B, T, H*Dh) accumulated, each may be null
template <class T>
void attention_backward(Backend be, const AttentionDims& d, const T* q, const T* k, const T* v, const T* probs,
                        const T* gout, T* gq, T* gk, T* gv) {
  check_dims("attention_backward", d, 1);
  if (!gout) return;
  const Layout L(d);
  const T scale = static_cast<T>(1.0 / std::sqrt(double(d.Dh)));
  for_each_pair(L.pairs, 4.0 * L.T * L.T * L.Dh, [&](int64_t p) {
    const int64_t hd = L.head(p);
    const T* P = probs + L.block(p);
    const T* gO = gout + hd;
    const double f = 2.0 * L.T * L.T * L.Dh;
    // gv += P^T gO
    if (gv) {
      OpScope prof("attention.bwd.gemm_ptg", f, L.T, L.T, L.Dh);
      gemm<T>(be, true, false, L.t, L.dh, L.t, T(1), P, L.t, gO, L.ld, T(1), gv + hd, L.ld);
    }
    if (!gq && !gk) return;
    Scratch<T>& sc = scratch<T>();
    T* gS = grow(sc.gs, size_t(L.T * L.T));
    // gS = softmax Jacobian of gP = gO v^T
    {
      OpScope prof("attention.bwd.gemm_gv", f, L.T, L.Dh, L.T);
      gemm<T>(be, false, true, L.t, L.t, L.dh, T(1), gO, L.ld, v + hd, L.ld, T(0), gS, L.t);
    }
    {
      OpScope prof("attention.bwd.softmax", 0, L.T, L.T);
      softmax_jacobian(be, L.T, P, gS, grow(sc.c, size_t(L.T)));
    }
    OpScope prof("attention.bwd.gemm_qk", (gq ? f : 0) + (gk ? f : 0), L.T, L.T, L.Dh);
    if (gq) gemm<T>(be, false, false, L.t, L.dh, L.t, scale, gS, L.t, k + hd, L.ld, T(1), gq + hd, L.ld);
    if (gk) gemm<T>(be, true, false, L.t, L.dh, L.t, scale, gS, L.t, q + hd, L.ld, T(1), gk + hd, L.ld);
  });
}

// dq, dk, dv, dgout: (K, B, T, H*Dh) or null; dprobs: (K, B, H, T, T) from the
// tangent, or null to recompute it from dq and dk; dgq, dgk, dgv: (K, B, T,
// H*Dh) accumulated, each may be null.
template <class T>
void attention_backward_tangent(Backend be, const AttentionDims& d, int K, const T* q, const T* k, const T* v,
                                const T* probs, const T* dq, const T* dk, const T* dv, const T* dprobs,
                                const T* gout, const T* dgout, T* dgq, T* dgk, T* dgv) {
  check_dims("attention_backward_tangent", d, K);
  if (!dgq && !dgk && !dgv) return;
  const Layout L(d);
  const T scale = static_cast<T>(1.0 / std::sqrt(double(d.Dh)));
  const size_t TT = static_cast<size_t>(L.T * L.T);
  OpScope prof("attention.bwd_tangent", 20.0 * K * L.pairs * L.T * L.T * L.Dh, K * L.pairs, L.T, L.Dh);
  for_each_pair(L.pairs, 10.0 * K * L.T * L.T * L.Dh, [&](int64_t p) {
    Scratch<T>& sc = scratch<T>();
    const int64_t hd = L.head(p);
    const T* P = probs + L.block(p);
    const T* gO = gout ? gout + hd : nullptr;
    T* gP = grow(sc.gp, TT);
    T* gS = grow(sc.gs, TT);
    T* dgS = grow(sc.dgp, TT);
    double* c = grow(sc.c, size_t(2 * L.T));  // c: rowsum(P*gP); c + T: dc
    double* dc = c + L.T;
    // Shared by all directions: gP = gO v^T, c, gS = P*(gP - c).
    if (gO) {
      gemm<T>(be, false, true, L.t, L.t, L.dh, T(1), gO, L.ld, v + hd, L.ld, T(0), gP, L.t);
      row_dots(L.T, P, gP, c);
      for (size_t i = 0; i < TT; ++i) gS[i] = static_cast<T>(P[i] * (gP[i] - c[i / L.T]));
    }
    for (int kd = 0; kd < K; ++kd) {
      const int64_t dir = kd * L.seq;
      const T* dqh = dq ? dq + dir + hd : nullptr;
      const T* dkh = dk ? dk + dir + hd : nullptr;
      const T* dvh = dv ? dv + dir + hd : nullptr;
      const T* dgO = dgout ? dgout + dir + hd : nullptr;
      const T* dP = nullptr;
      if (dprobs) {
        dP = dprobs + (kd * L.pairs + p) * L.T * L.T;
      } else {
        T* buf = grow(sc.dp, TT);
        if (probs_tangent(be, L, scale, q + hd, k + hd, dqh, dkh, P, buf, dc)) dP = buf;
      }
      // dgv += dP^T gO + P^T dgO
      if (dgv && dP && gO) gemm<T>(be, true, false, L.t, L.dh, L.t, T(1), dP, L.t, gO, L.ld, T(1), dgv + dir + hd, L.ld);
      if (dgv && dgO) gemm<T>(be, true, false, L.t, L.dh, L.t, T(1), P, L.t, dgO, L.ld, T(1), dgv + dir + hd, L.ld);
      if (!dgq && !dgk) continue;
      // dgP = dgO v^T + gO dv^T, built in dgS's buffer
      const bool has_dgP = dgO || (gO && dvh);
      if (dgO) gemm<T>(be, false, true, L.t, L.t, L.dh, T(1), dgO, L.ld, v + hd, L.ld, T(0), dgS, L.t);
      if (gO && dvh) gemm<T>(be, false, true, L.t, L.t, L.dh, T(1), gO, L.ld, dvh, L.ld, dgO ? T(1) : T(0), dgS, L.t);
      // dgS: zero when neither dP (with gO) nor dgP is there.
      const bool has_dP_term = dP && gO;
      const bool has_dgS = has_dgP || has_dP_term;
      if (has_dgS) softmax_jacobian_tangent(L.T, P, has_dP_term ? dP : nullptr, gP, c, has_dgP, dgS, dc);
      // dgq += s (dgS k + gS dk);  dgk += s (dgS^T q + gS^T dq)
      if (dgq) {
        T* o = dgq + dir + hd;
        if (has_dgS) gemm<T>(be, false, false, L.t, L.dh, L.t, scale, dgS, L.t, k + hd, L.ld, T(1), o, L.ld);
        if (gO && dkh) gemm<T>(be, false, false, L.t, L.dh, L.t, scale, gS, L.t, dkh, L.ld, T(1), o, L.ld);
      }
      if (dgk) {
        T* o = dgk + dir + hd;
        if (has_dgS) gemm<T>(be, true, false, L.t, L.dh, L.t, scale, dgS, L.t, q + hd, L.ld, T(1), o, L.ld);
        if (gO && dqh) gemm<T>(be, true, false, L.t, L.dh, L.t, scale, gS, L.t, dqh, L.ld, T(1), o, L.ld);
      }
    }
  });
}

#define WL_INSTANTIATE_ATTENTION(T)                                                                               \
  template void attention_forward<T>(Backend, const AttentionDims&, const T*, const T*, const T*,                 \
                                     const uint8_t*, T*, T*);                                                     \
  template void attention_tangent<T>(Backend, const AttentionDims&, int, const T*, const T*, const T*, const T*,  \
                                     const T*, const T*, const T*, T*, T*);                                       \
  template void attention_backward<T>(Backend, const AttentionDims&, const T*, const T*, const T*, const T*,      \
                                      const T*, T*, T*, T*);                                                      \
  template void attention_backward_tangent<T>(Backend, const AttentionDims&, int, const T*, const T*, const T*,   \
                                              const T*, const T*, const T*, const T*, const T*, const T*,         \
                                              const T*, T*, T*, T*);
WL_INSTANTIATE_ATTENTION(float)
WL_INSTANTIATE_ATTENTION(double)
#undef WL_INSTANTIATE_ATTENTION

}  // namespace wordlight::ops
