// Weighted-mean cross-entropy from logits (PyTorch's CrossEntropyLoss with
// `weight`, reduction = mean):
//   loss = sum_r w_r nll_r / W,  w_r = class_w[label_r],  W = sum_r w_r,
//   nll_r = log sum_c exp(x_rc) - x_r,label_r.
// With p the saved softmax and a_r = w_r / W:
//   tangent          dloss = sum_r a_r (<p_r, dx_r> - dx_r,label_r)
//   backward         gx_r += gloss a_r (p_r - e_label_r)
//   backward tangent dgx_r += dgloss a_r (p_r - e_label_r) + gloss a_r dp_r,
//                    dp_r = p_r (dx_r - <p_r, dx_r>)
// Labels and class weights are constants (no derivatives).
//
// Backend::fast (float) uses fast_math's exp and reductions; the loss itself
// is always summed over rows in double.
#include <cmath>
#include <string>
#include <vector>

#include "fast_math.h"
#include "row_scratch.h"
#include "wordlight/error.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

namespace fm = fast_math;

// Validates the labels and returns W = sum_r class_w[label_r] (R if unweighted).
// labels: (R), class_w: (C) or null
template <class T>
double total_weight(const char* fn, int64_t R, int64_t C, const int32_t* labels, const T* class_w) {
  if (R < 0 || C < 1)
    throw Error(std::string(fn) + ": need R >= 0 rows and C >= 1 classes, got (R, C) = (" + std::to_string(R) +
                ", " + std::to_string(C) + ")");
  double W = 0;
  for (int64_t r = 0; r < R; ++r) {
    const int32_t l = labels[r];
    if (l < 0 || l >= C)
      throw Error(std::string(fn) + ": row " + std::to_string(r) + " has label " + std::to_string(l) +
                  ", outside [0, " + std::to_string(C) + ")");
    W += class_w ? static_cast<double>(class_w[l]) : 1.0;
  }
  if (W == 0)
    throw Error(std::string(fn) + ": the labelled rows have total weight 0 (R = " + std::to_string(R) +
                "), so the weighted mean is undefined");
  return W;
}

template <class T>
T row_weight(const int32_t* labels, const T* class_w, int64_t r) {
  return class_w ? class_w[labels[r]] : T(1);
}

}  // namespace

// x, probs: (R, C); labels: (R); class_w: (C) or null; loss: scalar
template <class T>
void cross_entropy_forward(Backend be, int64_t R, int64_t C, const T* x, const int32_t* labels, const T* class_w,
                           T* probs, T* loss) {
  const double W = total_weight("cross_entropy_forward", R, C, labels, class_w);
  T* e = scratch<T>(0, C);
  double total = 0;
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    const T m = fm::row_max(be, C, xr);
    fm::row_exp_shifted(be, C, xr, m, e);  // subtracting the max keeps exp <= 1
    const double s = fm::row_sum(be, C, e);
    if (probs) {
      const T inv = static_cast<T>(1.0 / s);
      for (int64_t c = 0; c < C; ++c) probs[r * C + c] = e[c] * inv;
    }
    const double nll = std::log(s) + static_cast<double>(m) - static_cast<double>(xr[labels[r]]);
    total += static_cast<double>(row_weight(labels, class_w, r)) * nll;
  }
  if (loss) *loss = static_cast<T>(total / W);
}

// probs: (R, C); dx: (K, R, C); dloss: (K)
template <class T>
void cross_entropy_tangent(Backend be, int64_t R, int64_t C, int K, const T* probs, const int32_t* labels,
                           const T* class_w, const T* dx, T* dloss) {
  const double W = total_weight("cross_entropy_tangent", R, C, labels, class_w);
  if (!dloss) return;
  for (int k = 0; k < K; ++k) {
    double acc = 0;
    if (dx) {
      for (int64_t r = 0; r < R; ++r) {
        const T* dxr = dx + (k * R + r) * C;
        const double d = fm::row_dot(be, C, probs + r * C, dxr) - static_cast<double>(dxr[labels[r]]);
        acc += static_cast<double>(row_weight(labels, class_w, r)) * d;
      }
    }
    dloss[k] = static_cast<T>(acc / W);
  }
}

// probs, gx: (R, C)
template <class T>
void cross_entropy_backward(Backend, int64_t R, int64_t C, const T* probs, const int32_t* labels,
                            const T* class_w, T gloss, T* gx) {
  const double W = total_weight("cross_entropy_backward", R, C, labels, class_w);
  if (!gx) return;
  for (int64_t r = 0; r < R; ++r) {
    const T a = static_cast<T>(gloss * row_weight(labels, class_w, r) / W);
    const T* p = probs + r * C;
    T* out = gx + r * C;
    for (int64_t c = 0; c < C; ++c) out[c] += a * p[c];
    out[labels[r]] -= a;
  }
}

// probs: (R, C); dx, dgx: (K, R, C); dgloss: (K) or null
template <class T>
void cross_entropy_backward_tangent(Backend be, int64_t R, int64_t C, int K, const T* probs,
                                    const int32_t* labels, const T* class_w, const T* dx, T gloss,
                                    const T* dgloss, T* dgx) {
  const double W = total_weight("cross_entropy_backward_tangent", R, C, labels, class_w);
  if (!dgx) return;
  for (int k = 0; k < K; ++k) {
    for (int64_t r = 0; r < R; ++r) {
      const double wr = static_cast<double>(row_weight(labels, class_w, r)) / W;
      const T* p = probs + r * C;
      T* out = dgx + (k * R + r) * C;
      if (dgloss) {
        const T a = static_cast<T>(dgloss[k] * wr);
        for (int64_t c = 0; c < C; ++c) out[c] += a * p[c];
        out[labels[r]] -= a;
      }
      if (dx && gloss != T(0)) {
        const T* dxr = dx + (k * R + r) * C;
        const T mean = static_cast<T>(fm::row_dot(be, C, p, dxr));
        const T a = static_cast<T>(gloss * wr);
        for (int64_t c = 0; c < C; ++c) out[c] += a * p[c] * (dxr[c] - mean);
      }
    }
  }
}

#define WL_INSTANTIATE(T)                                                                                       \
  template void cross_entropy_forward<T>(Backend, int64_t, int64_t, const T*, const int32_t*, const T*, T*,    \
                                         T*);                                                                  \
  template void cross_entropy_tangent<T>(Backend, int64_t, int64_t, int, const T*, const int32_t*, const T*,   \
                                         const T*, T*);                                                        \
  template void cross_entropy_backward<T>(Backend, int64_t, int64_t, const T*, const int32_t*, const T*, T,    \
                                          T*);                                                                 \
  template void cross_entropy_backward_tangent<T>(Backend, int64_t, int64_t, int, const T*, const int32_t*,    \
                                                  const T*, const T*, T, const T*, T*);
WL_INSTANTIATE(float)
WL_INSTANTIATE(double)
#undef WL_INSTANTIATE

}  // namespace wordlight::ops
