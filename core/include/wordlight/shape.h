#pragma once
// A tensor shape of fixed capacity: no heap allocation, cheap to copy.
#include <cstdint>
#include <initializer_list>
#include <string>

#include "wordlight/error.h"

namespace wordlight {

struct Shape {
  static constexpr int kMaxRank = 6;
  int rank = 0;
  int64_t dims[kMaxRank] = {0, 0, 0, 0, 0, 0};

  Shape() = default;
  Shape(std::initializer_list<int64_t> d) {
    if (d.size() > static_cast<size_t>(kMaxRank)) throw Error("Shape: rank " + std::to_string(d.size()) + " exceeds 6");
    for (int64_t v : d) {
      if (v < 0) throw Error("Shape: negative dimension " + std::to_string(v));
      dims[rank++] = v;
    }
  }
  int64_t operator[](int i) const { return dims[i < 0 ? rank + i : i]; }
  int64_t& operator[](int i) { return dims[i < 0 ? rank + i : i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
  // Product of dims [from, to).
  int64_t prod(int from, int to) const {
    int64_t n = 1;
    for (int i = from; i < to; ++i) n *= dims[i];
    return n;
  }
  bool operator==(const Shape& o) const {
    if (rank != o.rank) return false;
    for (int i = 0; i < rank; ++i)
      if (dims[i] != o.dims[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + (rank == 1 ? ",)" : ")");
  }
};

// Numpy-style broadcast of two shapes (aligned at the trailing dimension).
// Throws Error naming `op` and both shapes when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace wordlight
