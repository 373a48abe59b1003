#pragma once
// The attributes of each op kind of the tape (graph.h), by name: what a
// graph node records besides its inputs, shape and saved buffers. The op
// constructors in core/src/autodiff/graph.cpp fill one struct per node; every
// pass (backward, forward_tangent, backward_tangent, the LRP mode in
// lrp_rules.cpp) and any other reader (a device backend) reads it back with
// Graph::attrs<A>(v) / op_attrs<A>(kind, attrs), which checks that the node
// is of the op the struct belongs to.
//
// Dims that the ops in ops.h already take as a struct (MatmulDims,
// Conv1dDims, PoolDims, AttentionDims, UnaryParams) are used as they are.
//
// Saved buffers per op (Node::saved, saved2, ints, bytes in graph.h):
//   embedding      ints: the ids (n_ids)
//   maxpool        ints: the argmax per output
//   cross_entropy  ints: the labels (R); saved: the probabilities (R, C)
//   layernorm      saved: mean (R); saved2: 1/std (R)
//   attention      saved: probabilities (B, H, T, T); saved2: their tangent
//                  (K, B, H, T, T) after forward_tangent; bytes: key mask (B, T)
//   dropout        bytes: the keep mask
//   pick           ints: the picked index per row (R)
#include <cstdint>
#include <variant>

#include "wordlight/ops.h"

namespace wordlight {

enum class OpKind : uint8_t {
  leaf,
  linear,
  matmul,
  embedding,
  conv1d,
  maxpool,
  unary,
  binary,
  scale,
  softmax,
  cross_entropy,
  layernorm,
  attention,
  dropout,
  concat,
  slice,
  reshape,
  sum,
  pick,
};
const char* op_name(OpKind k);

// Ops without attributes (leaf, reshape, sum).
struct NoAttrs {};
// y (R, O) = x (R, I) W^T (O, I) + b
struct LinearAttrs {
  int64_t R = 0, I = 0, O = 0;
};
// n_ids rows of a (V, D) table
struct EmbeddingAttrs {
  int64_t n_ids = 0, V = 0, D = 0;
};
struct BinaryAttrs {
  ops::Binary op = ops::Binary::add;
};
struct ScaleAttrs {
  double s = 1;
};
// over the last dim C of R rows; log = log_softmax
struct SoftmaxAttrs {
  bool log = false;
  int64_t R = 0, C = 0;
};
struct CrossEntropyAttrs {
  int64_t R = 0, C = 0;  // rows, classes
};
struct LayernormAttrs {
  int64_t R = 0, C = 0;  // rows, normalised width
  double eps = 1e-5;
};
struct DropoutAttrs {
  double p = 0;
};
struct ConcatAttrs {
  int axis = 0;
};
// [start, end) along axis
struct SliceAttrs {
  int axis = 0;
  int64_t start = 0, end = 0;
};
// y[r] = x[r, index[r]] for R rows of C
struct PickAttrs {
  int64_t R = 0, C = 0;
};

// One alternative per op kind (NoAttrs shared by leaf, reshape and sum).
using OpAttrs = std::variant<NoAttrs, LinearAttrs, ops::MatmulDims, EmbeddingAttrs, ops::Conv1dDims, ops::PoolDims,
                             ops::UnaryParams, BinaryAttrs, ScaleAttrs, SoftmaxAttrs, CrossEntropyAttrs,
                             LayernormAttrs, ops::AttentionDims, DropoutAttrs, ConcatAttrs, SliceAttrs, PickAttrs>;

// The attribute struct of each op kind: op_attrs_of<OpKind::linear>::type.
template <OpKind K> struct op_attrs_of { using type = NoAttrs; };
template <> struct op_attrs_of<OpKind::linear> { using type = LinearAttrs; };
template <> struct op_attrs_of<OpKind::matmul> { using type = ops::MatmulDims; };
template <> struct op_attrs_of<OpKind::embedding> { using type = EmbeddingAttrs; };
template <> struct op_attrs_of<OpKind::conv1d> { using type = ops::Conv1dDims; };
template <> struct op_attrs_of<OpKind::maxpool> { using type = ops::PoolDims; };
template <> struct op_attrs_of<OpKind::unary> { using type = ops::UnaryParams; };
template <> struct op_attrs_of<OpKind::binary> { using type = BinaryAttrs; };
template <> struct op_attrs_of<OpKind::scale> { using type = ScaleAttrs; };
template <> struct op_attrs_of<OpKind::softmax> { using type = SoftmaxAttrs; };
template <> struct op_attrs_of<OpKind::cross_entropy> { using type = CrossEntropyAttrs; };
template <> struct op_attrs_of<OpKind::layernorm> { using type = LayernormAttrs; };
template <> struct op_attrs_of<OpKind::attention> { using type = ops::AttentionDims; };
template <> struct op_attrs_of<OpKind::dropout> { using type = DropoutAttrs; };
template <> struct op_attrs_of<OpKind::concat> { using type = ConcatAttrs; };
template <> struct op_attrs_of<OpKind::slice> { using type = SliceAttrs; };
template <> struct op_attrs_of<OpKind::pick> { using type = PickAttrs; };

// The attributes of a node of kind `k` as A; throws wordlight::Error naming
// the op when A is not the struct of that kind.
[[noreturn]] void throw_wrong_op_attrs(OpKind k, const OpAttrs& a);
template <class A>
const A& op_attrs(OpKind k, const OpAttrs& a) {
  const A* p = std::get_if<A>(&a);
  if (!p) throw_wrong_op_attrs(k, a);
  return *p;
}

}  // namespace wordlight
