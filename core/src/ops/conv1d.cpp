// Channels-last conv1d (stride 1, zero padding `pad`), see ops.h:
//   y[b, t, o] = b[o] + sum_{j, c} w[o, j, c] * x[b, t + j - pad, c].
//
// Fast path: im2col. Row (b, t) of cols (B*To, W*Cin) holds the window
// x[b, t - pad .. t - pad + W - 1, :] (zeros outside the sequence), and
// w (Cout, W, Cin) is a (Cout, W*Cin) matrix, so the convolution is exactly
// linear(cols, w, b) and all four functions reuse the linear op; gradients
// with respect to cols go back to x by col2im, a scatter-add of the windows.
// With W = 1 and pad = 0, cols is x itself and no copy is made.
//
// Reference: direct loops of the formula, accumulating in double.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

void check_dims(const char* fn, const Conv1dDims& d, int K) {
  if (d.B < 0 || d.T < 0 || d.Cin < 0 || d.Cout < 0 || d.pad < 0 || K < 0)
    throw Error(std::string(fn) + ": negative dimension (B=" + std::to_string(d.B) + ", T=" + std::to_string(d.T) +
                ", Cin=" + std::to_string(d.Cin) + ", Cout=" + std::to_string(d.Cout) +
                ", pad=" + std::to_string(d.pad) + ", K=" + std::to_string(K) + ")");
  if (d.W < 1) throw Error(std::string(fn) + ": window W must be at least 1 (got " + std::to_string(d.W) + ")");
  if (d.W > d.T + 2 * d.pad)
    throw Error(std::string(fn) + ": window W=" + std::to_string(d.W) + " is longer than the padded sequence T + 2*pad = " +
                std::to_string(d.T + 2 * d.pad) + " (T=" + std::to_string(d.T) + ", pad=" + std::to_string(d.pad) + ")");
}

// The im2col matrix is x itself: no copy, no scatter.
bool cols_is_x(const Conv1dDims& d) { return d.W == 1 && d.pad == 0; }

template <class T>
T* grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Per-thread scratch that only grows, so steady-state calls do not allocate.
template <class T>
struct Scratch {
  std::vector<T> cols, dcols, gcols;
};
template <class T>
Scratch<T>& scratch() {
  thread_local Scratch<T> s;
  return s;
}

// x: (n_seq, T, Cin) -> cols: (n_seq * To, W * Cin), zero outside [0, T).
template <class T>
void im2col(const Conv1dDims& d, int64_t n_seq, const T* x, T* cols) {
  const int64_t To = d.t_out(), WC = d.W * d.Cin;
  for (int64_t s = 0; s < n_seq; ++s) {
    const T* xs = x + s * d.T * d.Cin;
    for (int64_t t = 0; t < To; ++t) {
      T* row = cols + (s * To + t) * WC;
      for (int64_t j = 0; j < d.W; ++j) {
        const int64_t src = t + j - d.pad;
        T* dst = row + j * d.Cin;
        if (src < 0 || src >= d.T)
          std::fill(dst, dst + d.Cin, T(0));
        else
          std::copy(xs + src * d.Cin, xs + (src + 1) * d.Cin, dst);
      }
    }
  }
}

// The transpose of im2col: gx (n_seq, T, Cin) += scatter-add of gcols
// (n_seq * To, W * Cin); entries that fell on the padding are dropped.
template <class T>
void col2im_add(const Conv1dDims& d, int64_t n_seq, const T* gcols, T* gx) {
  const int64_t To = d.t_out(), WC = d.W * d.Cin;
  for (int64_t s = 0; s < n_seq; ++s) {
    T* gs = gx + s * d.T * d.Cin;
    for (int64_t t = 0; t < To; ++t) {
      const T* row = gcols + (s * To + t) * WC;
      for (int64_t j = 0; j < d.W; ++j) {
        const int64_t dst = t + j - d.pad;
        if (dst < 0 || dst >= d.T) continue;
        T* g = gs + dst * d.Cin;
        const T* src = row + j * d.Cin;
        for (int64_t c = 0; c < d.Cin; ++c) g[c] += src[c];
      }
    }
  }
}

// ----------------------------------------------------------- reference loops

// y (B, To, Cout) += conv(x, w), no bias.   x: (B, T, Cin), w: (Cout, W, Cin)
template <class T>
void ref_conv_add(const Conv1dDims& d, const T* x, const T* w, T* y) {
  const int64_t To = d.t_out();
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < To; ++t)
      for (int64_t o = 0; o < d.Cout; ++o) {
        double acc = 0;
        for (int64_t j = 0; j < d.W; ++j) {
          const int64_t s = t + j - d.pad;
          if (s < 0 || s >= d.T) continue;
          const T* xr = x + (b * d.T + s) * d.Cin;
          const T* wr = w + (o * d.W + j) * d.Cin;
          for (int64_t c = 0; c < d.Cin; ++c) acc += double(wr[c]) * double(xr[c]);
        }
        T& out = y[(b * To + t) * d.Cout + o];
        out = static_cast<T>(out + acc);
      }
}

// gx (B, T, Cin) += d conv / dx ^T gy, gathered per input position:
//   gx[b, s, c] += sum_{j, o} gy[b, s - j + pad, o] w[o, j, c]
template <class T>
void ref_grad_x_add(const Conv1dDims& d, const T* gy, const T* w, T* gx) {
  const int64_t To = d.t_out();
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t s = 0; s < d.T; ++s)
      for (int64_t c = 0; c < d.Cin; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < d.W; ++j) {
          const int64_t t = s - j + d.pad;
          if (t < 0 || t >= To) continue;
          const T* gr = gy + (b * To + t) * d.Cout;
          for (int64_t o = 0; o < d.Cout; ++o) acc += double(gr[o]) * double(w[(o * d.W + j) * d.Cin + c]);
        }
        T& g = gx[(b * d.T + s) * d.Cin + c];
        g = static_cast<T>(g + acc);
      }
}

// gw (Cout, W, Cin) += d conv / dw ^T gy:
//   gw[o, j, c] += sum_{b, t} gy[b, t, o] x[b, t + j - pad, c]
template <class T>
void ref_grad_w_add(const Conv1dDims& d, const T* gy, const T* x, T* gw) {
  const int64_t To = d.t_out();
  for (int64_t o = 0; o < d.Cout; ++o)
    for (int64_t j = 0; j < d.W; ++j)
      for (int64_t c = 0; c < d.Cin; ++c) {
        double acc = 0;
        for (int64_t b = 0; b < d.B; ++b)
          for (int64_t t = 0; t < To; ++t) {
            const int64_t s = t + j - d.pad;
            if (s < 0 || s >= d.T) continue;
            acc += double(gy[(b * To + t) * d.Cout + o]) * double(x[(b * d.T + s) * d.Cin + c]);
          }
        T& g = gw[(o * d.W + j) * d.Cin + c];
        g = static_cast<T>(g + acc);
      }
}

// y (R, Cout) += b broadcast over rows
template <class T>
void add_bias(int64_t R, int64_t Cout, const T* b, T* y) {
  for (int64_t r = 0; r < R; ++r)
    for (int64_t o = 0; o < Cout; ++o) y[r * Cout + o] += b[o];
}

// gb (Cout) += column sums of g (R, Cout)
template <class T>
void add_col_sums(int64_t R, int64_t Cout, const T* g, T* gb) {
  for (int64_t r = 0; r < R; ++r)
    for (int64_t o = 0; o < Cout; ++o) gb[o] += g[r * Cout + o];
}

// ----------------------------------------------------------- fast path (im2col + linear)

// Returns the im2col matrix of `n_seq` sequences of x, in `buf` unless it is x.
template <class T>
const T* cols_of(const Conv1dDims& d, int64_t n_seq, const T* x, std::vector<T>& buf) {
  if (cols_is_x(d)) return x;
  T* cols = grow(buf, static_cast<size_t>(n_seq * d.t_out() * d.W * d.Cin));
  im2col(d, n_seq, x, cols);
  return cols;
}

// A zeroed gradient buffer for `n_seq` sequences' cols (or gx itself when
// cols is x: then the linear op accumulates straight into gx).
template <class T>
T* grad_cols(const Conv1dDims& d, int64_t n_seq, T* gx, std::vector<T>& buf) {
  if (cols_is_x(d)) return gx;
  const size_t n = static_cast<size_t>(n_seq * d.t_out() * d.W * d.Cin);
  T* g = grow(buf, n);
  std::fill(g, g + n, T(0));
  return g;
}

}  // namespace

template <class T>
void conv1d_forward(Backend be, const Conv1dDims& d, const T* x, const T* w, const T* b, T* y) {
  check_dims("conv1d_forward", d, 1);
  const int64_t R = d.B * d.t_out();
  if (be == Backend::reference) {
    std::fill(y, y + R * d.Cout, T(0));
    ref_conv_add(d, x, w, y);
    if (b) add_bias(R, d.Cout, b, y);
    return;
  }
  const T* cols = cols_of(d, d.B, x, scratch<T>().cols);
  linear_forward<T>(be, R, d.W * d.Cin, d.Cout, cols, w, b, y);
}

// dx: (K, B, T, Cin), dw: (K, Cout, W, Cin), db: (K, Cout), dy: (K, B, To, Cout)
template <class T>
void conv1d_tangent(Backend be, const Conv1dDims& d, int K, const T* x, const T* w, const T* dx, const T* dw,
                    const T* db, T* dy) {
  check_dims("conv1d_tangent", d, K);
  if (!dy) return;
  const int64_t R = d.B * d.t_out(), ysz = R * d.Cout, xsz = d.B * d.T * d.Cin, wsz = d.Cout * d.W * d.Cin;
  if (be == Backend::reference) {
    std::fill(dy, dy + K * ysz, T(0));
    for (int k = 0; k < K; ++k) {
      T* dyk = dy + k * ysz;
      if (dx) ref_conv_add(d, dx + k * xsz, w, dyk);
      if (dw) ref_conv_add(d, x, dw + k * wsz, dyk);
      if (db) add_bias(R, d.Cout, db + k * d.Cout, dyk);
    }
    return;
  }
  Scratch<T>& s = scratch<T>();
  // The K directions of dx are K * B sequences: one im2col, one stacked GEMM.
  const T* cols = dw ? cols_of(d, d.B, x, s.cols) : nullptr;
  const T* dcols = dx ? cols_of(d, int64_t(K) * d.B, dx, s.dcols) : nullptr;
  linear_tangent<T>(be, R, d.W * d.Cin, d.Cout, K, cols, w, dcols, dw, db, dy);
}

// gy: (B, To, Cout); gx: (B, T, Cin), gw: (Cout, W, Cin), gb: (Cout), all accumulated
template <class T>
void conv1d_backward(Backend be, const Conv1dDims& d, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  check_dims("conv1d_backward", d, 1);
  if (!gy) return;
  const int64_t R = d.B * d.t_out();
  if (be == Backend::reference) {
    if (gx) ref_grad_x_add(d, gy, w, gx);
    if (gw) ref_grad_w_add(d, gy, x, gw);
    if (gb) add_col_sums(R, d.Cout, gy, gb);
    return;
  }
  Scratch<T>& s = scratch<T>();
  const T* cols = gw ? cols_of(d, d.B, x, s.cols) : nullptr;
  T* gcols = gx ? grad_cols(d, d.B, gx, s.gcols) : nullptr;
  linear_backward<T>(be, R, d.W * d.Cin, d.Cout, cols, w, gy, gcols, gw, gb);
  if (gx && !cols_is_x(d)) col2im_add(d, d.B, gcols, gx);
}

// dgy: (K, B, To, Cout); dgx: (K, B, T, Cin), dgw: (K, Cout, W, Cin), dgb: (K, Cout), all accumulated
template <class T>
void conv1d_backward_tangent(Backend be, const Conv1dDims& d, int K, const T* x, const T* w, const T* dx,
                             const T* dw, const T* gy, const T* dgy, T* dgx, T* dgw, T* dgb) {
  check_dims("conv1d_backward_tangent", d, K);
  const int64_t R = d.B * d.t_out(), ysz = R * d.Cout, xsz = d.B * d.T * d.Cin, wsz = d.Cout * d.W * d.Cin;
  if (be == Backend::reference) {
    // The conv is bilinear in (x, w): dgx = conv_x^T(dgy, w) + conv_x^T(gy, dw),
    // dgw = conv_w^T(dgy, x) + conv_w^T(gy, dx), dgb = sum dgy.
    for (int k = 0; k < K; ++k) {
      const T* dgyk = dgy ? dgy + k * ysz : nullptr;
      if (dgx && dgyk) ref_grad_x_add(d, dgyk, w, dgx + k * xsz);
      if (dgx && gy && dw) ref_grad_x_add(d, gy, dw + k * wsz, dgx + k * xsz);
      if (dgw && dgyk) ref_grad_w_add(d, dgyk, x, dgw + k * wsz);
      if (dgw && gy && dx) ref_grad_w_add(d, gy, dx + k * xsz, dgw + k * wsz);
      if (dgb && dgyk) add_col_sums(R, d.Cout, dgyk, dgb + k * d.Cout);
    }
    return;
  }
  Scratch<T>& s = scratch<T>();
  const T* cols = (dgw && dgy) ? cols_of(d, d.B, x, s.cols) : nullptr;
  const T* dcols = (dgw && gy && dx) ? cols_of(d, int64_t(K) * d.B, dx, s.dcols) : nullptr;
  T* dgcols = dgx ? grad_cols(d, int64_t(K) * d.B, dgx, s.gcols) : nullptr;
  linear_backward_tangent<T>(be, R, d.W * d.Cin, d.Cout, K, cols, w, dcols, dw, gy, dgy, dgcols, dgw, dgb);
  if (dgx && !cols_is_x(d)) col2im_add(d, int64_t(K) * d.B, dgcols, dgx);
}

#define WL_INSTANTIATE_CONV1D(T)                                                                                  \
  template void conv1d_forward<T>(Backend, const Conv1dDims&, const T*, const T*, const T*, T*);                  \
  template void conv1d_tangent<T>(Backend, const Conv1dDims&, int, const T*, const T*, const T*, const T*,        \
                                  const T*, T*);                                                                  \
  template void conv1d_backward<T>(Backend, const Conv1dDims&, const T*, const T*, const T*, T*, T*, T*);         \
  template void conv1d_backward_tangent<T>(Backend, const Conv1dDims&, int, const T*, const T*, const T*,         \
                                           const T*, const T*, const T*, T*, T*, T*);
WL_INSTANTIATE_CONV1D(float)
WL_INSTANTIATE_CONV1D(double)
#undef WL_INSTANTIATE_CONV1D

}  // namespace wordlight::ops
