#pragma once
// Private to core/src/nn: the dense pieces the transformer encoders
// (transformer.cpp) and GPT-2 (gpt2.cpp) both hold and run on the tape.
#include <vector>

#include "wordlight/gemm.h"
#include "wordlight/graph.h"

namespace wordlight::detail {

// y = x W^T + b; w: (O, I), b: (O), packed once for the GEMM.
struct DenseLinear {
  int O = 0, I = 0;
  std::vector<float> w, b;
  PackedLinear packed;
};

// LayerNorm's scale and shift, (C) each.
struct LayerNormParams {
  std::vector<float> gamma, beta;
};

inline Var apply_linear(Graph<float>& g, Var x, const DenseLinear& l) {
  return g.linear(x, g.parameter(Shape{l.O, l.I}, l.w.data(), &l.packed), g.parameter(Shape{l.O}, l.b.data()));
}

inline Var apply_layer_norm(Graph<float>& g, Var x, const LayerNormParams& n, int C, float eps) {
  return g.layernorm(x, g.parameter(Shape{C}, n.gamma.data()), g.parameter(Shape{C}, n.beta.data()), eps);
}

}  // namespace wordlight::detail
