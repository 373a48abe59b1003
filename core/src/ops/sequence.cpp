// Concatenation and slicing along any axis. A shape is seen as
// (outer, axis, inner): outer = product of the dims before `axis`, inner =
// product of the dims after it, so both ops are copies of contiguous blocks
// of axis_len * inner elements, once per outer index.
// `axis` may be negative (counted from the end, as numpy).
#include <algorithm>
#include <string>

#include "wordlight/error.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

int normalise_axis(const char* fn, const Shape& s, int axis) {
  if (axis < -s.rank || axis >= s.rank)
    throw Error(std::string(fn) + ": axis " + std::to_string(axis) + " is out of range for shape " + s.str());
  return axis < 0 ? axis + s.rank : axis;
}

struct ConcatLayout {
  int axis = 0;
  int64_t outer = 1, inner = 1, total_axis = 0;  // total_axis: the output's length along axis
};

// Checks that all shapes agree except along axis.
ConcatLayout concat_layout(const char* fn, int n_inputs, const Shape* shapes, int axis) {
  if (n_inputs < 1) throw Error(std::string(fn) + ": needs at least one input, got " + std::to_string(n_inputs));
  const Shape& s0 = shapes[0];
  ConcatLayout L;
  L.axis = normalise_axis(fn, s0, axis);
  for (int i = 0; i < n_inputs; ++i) {
    const Shape& s = shapes[i];
    bool same = s.rank == s0.rank;
    for (int d = 0; same && d < s.rank; ++d) same = d == L.axis || s.dims[d] == s0.dims[d];
    if (!same)
      throw Error(std::string(fn) + ": input " + std::to_string(i) + " has shape " + s.str() + " but input 0 has " +
                  s0.str() + "; all dims but axis " + std::to_string(L.axis) + " must match");
    L.total_axis += s.dims[L.axis];
  }
  L.outer = s0.prod(0, L.axis);
  L.inner = s0.prod(L.axis + 1, s0.rank);
  return L;
}

void check_slice(const char* fn, const Shape& xs, int axis, int64_t start, int64_t end) {
  const int a = normalise_axis(fn, xs, axis);
  if (start < 0 || start > end || end > xs.dims[a])
    throw Error(std::string(fn) + ": [start, end) = [" + std::to_string(start) + ", " + std::to_string(end) +
                ") is out of range for axis " + std::to_string(a) + " of shape " + xs.str());
}

}  // namespace

// xs[i]: shapes[i] (null: zeros); y: the shapes joined along axis
template <class T>
void concat_forward(int n_inputs, const Shape* shapes, int axis, const T* const* xs, T* y) {
  const ConcatLayout L = concat_layout("concat_forward", n_inputs, shapes, axis);
  if (!y) return;
  const int64_t row = L.total_axis * L.inner;  // one outer index of y
  int64_t offset = 0;                          // where input i starts within a row of y
  for (int i = 0; i < n_inputs; ++i) {
    const int64_t block = shapes[i].dims[L.axis] * L.inner;
    for (int64_t o = 0; o < L.outer; ++o) {
      T* dst = y + o * row + offset;
      if (xs[i])
        std::copy(xs[i] + o * block, xs[i] + (o + 1) * block, dst);
      else
        std::fill(dst, dst + block, T(0));
    }
    offset += block;
  }
}

// gy: the joined shape; gxs[i]: shapes[i], accumulated (null: skipped)
template <class T>
void concat_backward(int n_inputs, const Shape* shapes, int axis, const T* gy, T* const* gxs) {
  const ConcatLayout L = concat_layout("concat_backward", n_inputs, shapes, axis);
  if (!gy) return;
  const int64_t row = L.total_axis * L.inner;
  int64_t offset = 0;
  for (int i = 0; i < n_inputs; ++i) {
    const int64_t block = shapes[i].dims[L.axis] * L.inner;
    if (gxs[i]) {
      for (int64_t o = 0; o < L.outer; ++o) {
        const T* src = gy + o * row + offset;
        T* dst = gxs[i] + o * block;
        for (int64_t j = 0; j < block; ++j) dst[j] += src[j];
      }
    }
    offset += block;
  }
}

// x: xs (null: zeros); y: xs with dim axis = end - start
template <class T>
void slice_forward(const Shape& xs, int axis, int64_t start, int64_t end, const T* x, T* y) {
  check_slice("slice_forward", xs, axis, start, end);
  if (!y) return;
  const int a = axis < 0 ? axis + xs.rank : axis;
  const int64_t outer = xs.prod(0, a), inner = xs.prod(a + 1, xs.rank);
  const int64_t block = (end - start) * inner, row = xs.dims[a] * inner;
  for (int64_t o = 0; o < outer; ++o) {
    T* dst = y + o * block;
    if (x)
      std::copy(x + o * row + start * inner, x + o * row + start * inner + block, dst);
    else
      std::fill(dst, dst + block, T(0));
  }
}

// gy: the sliced shape; gx: xs, accumulated into [start, end) along axis
template <class T>
void slice_backward(const Shape& xs, int axis, int64_t start, int64_t end, const T* gy, T* gx) {
  check_slice("slice_backward", xs, axis, start, end);
  if (!gy || !gx) return;
  const int a = axis < 0 ? axis + xs.rank : axis;
  const int64_t outer = xs.prod(0, a), inner = xs.prod(a + 1, xs.rank);
  const int64_t block = (end - start) * inner, row = xs.dims[a] * inner;
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = gy + o * block;
    T* dst = gx + o * row + start * inner;
    for (int64_t j = 0; j < block; ++j) dst[j] += src[j];
  }
}

#define WL_INSTANTIATE(T)                                                                    \
  template void concat_forward<T>(int, const Shape*, int, const T* const*, T*);              \
  template void concat_backward<T>(int, const Shape*, int, const T*, T* const*);             \
  template void slice_forward<T>(const Shape&, int, int64_t, int64_t, const T*, T*);         \
  template void slice_backward<T>(const Shape&, int, int64_t, int64_t, const T*, T*);
WL_INSTANTIATE(float)
WL_INSTANTIATE(double)
#undef WL_INSTANTIATE

}  // namespace wordlight::ops
