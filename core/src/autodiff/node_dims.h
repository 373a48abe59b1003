#pragma once
// How a graph node stores the dimensions of its op in its int64 slots
// (Node::i), read back by the ordinary backward passes (graph.cpp) and the
// LRP pass (lrp.cpp). The writers are the op constructors in graph.cpp.
#include <cstdint>

#include "wordlight/ops.h"

namespace wordlight::node_dims {

inline ops::MatmulDims matmul(const int64_t* i) {
  ops::MatmulDims md;
  md.batch = i[0];
  md.M = i[1];
  md.N = i[2];
  md.K = i[3];
  md.trans_a = i[4] != 0;
  md.trans_b = i[5] != 0;
  return md;
}

inline ops::Conv1dDims conv(const int64_t* i) {
  ops::Conv1dDims d;
  d.B = i[0];
  d.T = i[1];
  d.Cin = i[2];
  d.Cout = i[3];
  d.W = i[4];
  d.pad = i[5];
  return d;
}

inline ops::PoolDims pool(const int64_t* i) {
  ops::PoolDims d;
  d.B = i[0];
  d.T = i[1];
  d.C = i[2];
  d.window = i[3];
  d.stride = i[4];
  return d;
}

inline ops::AttentionDims attention(const int64_t* i) {
  ops::AttentionDims d;
  d.B = i[0];
  d.T = i[1];
  d.H = i[2];
  d.Dh = i[3];
  d.causal = i[4] != 0;
  return d;
}

}  // namespace wordlight::node_dims
