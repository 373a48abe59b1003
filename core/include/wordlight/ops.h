#pragma once
// The op library: each op as four functions over raw, contiguous, row-major
// buffers, templated on the scalar (float for work, double for reference
// checks). With x the inputs, y the output, and K tangent directions:
//
//   *_forward          y = f(x)
//   *_tangent          (JVP)  dy = J dx               for K directions at once
//   *_backward         (VJP)  gx += J^T gy
//   *_backward_tangent        dgx += d/de [J(x + e dx)^T (gy + e dgy)]
//                             the tangent of the backward pass (forward-over-
//                             reverse), which makes Hessian-vector products
//                             exact.
//
// Conventions every op follows:
// - Tangent buffers hold K directions, k-major: dx is (K, *shape of x*).
//   The primal (x, y, saved values) is shared by all K directions.
// - Forward and tangent functions overwrite their outputs.
// - Backward and backward-tangent functions ACCUMULATE (+=) into their
//   outputs, so a graph can sum over fan-out.
// - A null input tangent or cotangent means zero; a null output pointer
//   means "not needed" and is skipped. (A parameter without tangent passes
//   dw = nullptr; an input that needs no gradient passes gx = nullptr.)
// - Backend::reference runs plain scalar loops; Backend::fast uses the GEMM
//   fast path and vectorised maths. For T = double both run the reference.
// - Shapes are given as dimensions. Shapes in comments: x: (R, C).
// - Scratch memory: functions that need temporary buffers use thread_local
//   vectors that only grow, so steady-state calls do not allocate.
// - Invalid arguments (an id out of range, p outside [0,1), a window larger
//   than the sequence...) throw wordlight::Error naming the op.
#include <cstdint>

#include "wordlight/backend.h"
#include "wordlight/gemm.h"
#include "wordlight/shape.h"

namespace wordlight::ops {

// ---------------------------------------------------------------- unary
// Element-wise non-linearities. `beta` is the softplus temperature:
// softplus_beta(x) = log(1 + exp(beta x)) / beta  (-> relu as beta -> inf).
// gelu is the erf form: x * Phi(x). gelu_tanh is GPT-2's "gelu_new" (the tanh
// approximation): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
enum class Unary { relu, softplus, gelu, tanh, sigmoid, gelu_tanh };
struct UnaryParams {
  Unary kind = Unary::relu;
  double beta = 1.0;  // softplus only
};
// x, y: (n); dx, dy: (K, n)
template <class T>
void unary_forward(Backend be, UnaryParams p, int64_t n, const T* x, T* y);
template <class T>
void unary_tangent(Backend be, UnaryParams p, int64_t n, int K, const T* x, const T* y, const T* dx, T* dy);
template <class T>
void unary_backward(Backend be, UnaryParams p, int64_t n, const T* x, const T* y, const T* gy, T* gx);
template <class T>
void unary_backward_tangent(Backend be, UnaryParams p, int64_t n, int K, const T* x, const T* y, const T* dx,
                            const T* gy, const T* dgy, T* dgx);
// f'(x) and f''(x) at one point (used by the tests and by LRP rules later).
template <class T>
void unary_derivatives(UnaryParams p, T x, T* d1, T* d2);

// ---------------------------------------------------------------- binary
// Add / multiply with numpy broadcasting. y has shape broadcast(as, bs).
enum class Binary { add, mul };
template <class T>
void binary_forward(Backend be, Binary op, const Shape& as, const Shape& bs, const T* a, const T* b, T* y);
// da: (K, as) or null, db: (K, bs) or null, dy: (K, ys)
template <class T>
void binary_tangent(Backend be, Binary op, const Shape& as, const Shape& bs, int K, const T* a, const T* b,
                    const T* da, const T* db, T* dy);
template <class T>
void binary_backward(Backend be, Binary op, const Shape& as, const Shape& bs, const T* a, const T* b, const T* gy,
                     T* ga, T* gb);
template <class T>
void binary_backward_tangent(Backend be, Binary op, const Shape& as, const Shape& bs, int K, const T* a,
                             const T* b, const T* da, const T* db, const T* gy, const T* dgy, T* dga, T* dgb);

// ---------------------------------------------------------------- softmax
// Over the last dimension. x, y: (R, C). y = softmax(x) or log_softmax(x).
template <class T>
void softmax_forward(Backend be, bool log, int64_t R, int64_t C, const T* x, T* y);
template <class T>
void softmax_tangent(Backend be, bool log, int64_t R, int64_t C, int K, const T* y, const T* dx, T* dy);
template <class T>
void softmax_backward(Backend be, bool log, int64_t R, int64_t C, const T* y, const T* gy, T* gx);
template <class T>
void softmax_backward_tangent(Backend be, bool log, int64_t R, int64_t C, int K, const T* y, const T* dx,
                              const T* gy, const T* dgy, T* dgx);

// ---------------------------------------------------------------- cross-entropy
// loss = sum_r w[label_r] * (-log_softmax(x_r)[label_r]) / sum_r w[label_r]
// (PyTorch's weighted mean; w = null means all ones). x: (R, C), labels: (R)
// probs: (R, C) saved softmax. loss is a scalar; dloss: (K).
template <class T>
void cross_entropy_forward(Backend be, int64_t R, int64_t C, const T* x, const int32_t* labels, const T* class_w,
                           T* probs, T* loss);
template <class T>
void cross_entropy_tangent(Backend be, int64_t R, int64_t C, int K, const T* probs, const int32_t* labels,
                           const T* class_w, const T* dx, T* dloss);
template <class T>
void cross_entropy_backward(Backend be, int64_t R, int64_t C, const T* probs, const int32_t* labels,
                            const T* class_w, T gloss, T* gx);
// dgloss: (K) or null
template <class T>
void cross_entropy_backward_tangent(Backend be, int64_t R, int64_t C, int K, const T* probs,
                                    const int32_t* labels, const T* class_w, const T* dx, T gloss,
                                    const T* dgloss, T* dgx);

// ---------------------------------------------------------------- layer norm
// Over the last dimension: y = (x - mean) * rstd * gamma + beta,
// rstd = 1 / sqrt(var + eps) (biased variance, as PyTorch).
// x, y: (R, C); gamma, beta: (C) (beta may be null); mean, rstd: (R) saved.
template <class T>
void layernorm_forward(Backend be, int64_t R, int64_t C, T eps, const T* x, const T* gamma, const T* beta, T* y,
                       T* mean, T* rstd);
// dgamma, dbeta: (K, C) or null
template <class T>
void layernorm_tangent(Backend be, int64_t R, int64_t C, int K, const T* x, const T* gamma, const T* mean,
                       const T* rstd, const T* dx, const T* dgamma, const T* dbeta, T* dy);
template <class T>
void layernorm_backward(Backend be, int64_t R, int64_t C, const T* x, const T* gamma, const T* mean, const T* rstd,
                        const T* gy, T* gx, T* ggamma, T* gbeta);
template <class T>
void layernorm_backward_tangent(Backend be, int64_t R, int64_t C, int K, const T* x, const T* gamma,
                                const T* mean, const T* rstd, const T* dx, const T* dgamma, const T* gy,
                                const T* dgy, T* dgx, T* dggamma, T* dgbeta);

// ---------------------------------------------------------------- linear
// y = x w^T + b.  x: (R, I), w: (O, I), b: (O) or null, y: (R, O).
// `packed` (float, fast backend only) is w packed once at model load; it is
// used in place of w when given.
template <class T>
void linear_forward(Backend be, int64_t R, int64_t I, int64_t O, const T* x, const T* w, const T* b, T* y,
                    const PackedLinear* packed = nullptr);
// dx: (K, R, I), dw: (K, O, I), db: (K, O), dy: (K, R, O)
template <class T>
void linear_tangent(Backend be, int64_t R, int64_t I, int64_t O, int K, const T* x, const T* w, const T* dx,
                    const T* dw, const T* db, T* dy, const PackedLinear* packed = nullptr);
template <class T>
void linear_backward(Backend be, int64_t R, int64_t I, int64_t O, const T* x, const T* w, const T* gy, T* gx,
                     T* gw, T* gb, const PackedLinear* packed = nullptr);
// dgx: (K, R, I), dgw: (K, O, I), dgb: (K, O)
template <class T>
void linear_backward_tangent(Backend be, int64_t R, int64_t I, int64_t O, int K, const T* x, const T* w,
                             const T* dx, const T* dw, const T* gy, const T* dgy, T* dgx, T* dgw, T* dgb,
                             const PackedLinear* packed = nullptr);

// ---------------------------------------------------------------- matmul
// Batched: for each of `batch` items, C (M, N) = op(A) op(B) with
// A: (batch, M, K) or (batch, K, M) if trans_a; B: (batch, K, N) or
// (batch, N, K) if trans_b. Tangents (K_dir, batch, ...).
struct MatmulDims {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  bool trans_a = false, trans_b = false;
};
template <class T>
void matmul_forward(Backend be, const MatmulDims& d, const T* A, const T* B, T* C);
template <class T>
void matmul_tangent(Backend be, const MatmulDims& d, int Kdir, const T* A, const T* B, const T* dA, const T* dB,
                    T* dC);
template <class T>
void matmul_backward(Backend be, const MatmulDims& d, const T* A, const T* B, const T* gC, T* gA, T* gB);
template <class T>
void matmul_backward_tangent(Backend be, const MatmulDims& d, int Kdir, const T* A, const T* B, const T* dA,
                             const T* dB, const T* gC, const T* dgC, T* dgA, T* dgB);

// ---------------------------------------------------------------- embedding
// y[r, :] = table[ids[r], :].  table: (V, D), ids: (n), y: (n, D).
// An id outside [0, V) throws. The table's tangent dtable: (K, V, D).
template <class T>
void embedding_forward(int64_t n, const int32_t* ids, int64_t V, int64_t D, const T* table, T* y);
template <class T>
void embedding_tangent(int64_t n, const int32_t* ids, int64_t V, int64_t D, int K, const T* dtable, T* dy);
template <class T>
void embedding_backward(int64_t n, const int32_t* ids, int64_t V, int64_t D, const T* gy, T* gtable);
template <class T>
void embedding_backward_tangent(int64_t n, const int32_t* ids, int64_t V, int64_t D, int K, const T* dgy,
                                T* dgtable);

// ---------------------------------------------------------------- conv1d
// Channels-last 1-D convolution along the sequence, stride 1, zero padding
// `pad` on both ends:  x: (B, T, Cin), w: (Cout, W, Cin), b: (Cout) or null,
// y: (B, T + 2 pad - W + 1, Cout),
//   y[b, t, o] = b[o] + sum_{j, c} w[o, j, c] * x[b, t + j - pad, c].
// (PyTorch's Conv1d weight (Cout, Cin, W) is w transposed in its last two
// dims.) Fast path: im2col + GEMM.
struct Conv1dDims {
  int64_t B = 1, T = 0, Cin = 0, Cout = 0, W = 1, pad = 0;
  int64_t t_out() const { return T + 2 * pad - W + 1; }
};
template <class T>
void conv1d_forward(Backend be, const Conv1dDims& d, const T* x, const T* w, const T* b, T* y);
template <class T>
void conv1d_tangent(Backend be, const Conv1dDims& d, int K, const T* x, const T* w, const T* dx, const T* dw,
                    const T* db, T* dy);
template <class T>
void conv1d_backward(Backend be, const Conv1dDims& d, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb);
template <class T>
void conv1d_backward_tangent(Backend be, const Conv1dDims& d, int K, const T* x, const T* w, const T* dx,
                             const T* dw, const T* gy, const T* dgy, T* dgx, T* dgw, T* dgb);

// ---------------------------------------------------------------- max pooling
// Along the sequence: x: (B, T, C), windows of `window` steps every `stride`:
// y: (B, T_out, C), T_out = (T - window) / stride + 1. Over time: window = T.
// argmax: (B, T_out, C) saved: the winning t (first one on ties). The
// derivative passes through the winner only.
struct PoolDims {
  int64_t B = 1, T = 0, C = 0, window = 1, stride = 1;
  int64_t t_out() const { return (T - window) / stride + 1; }
};
template <class T>
void maxpool_forward(const PoolDims& d, const T* x, T* y, int32_t* argmax);
template <class T>
void maxpool_tangent(const PoolDims& d, int K, const int32_t* argmax, const T* dx, T* dy);
template <class T>
void maxpool_backward(const PoolDims& d, const int32_t* argmax, const T* gy, T* gx);
template <class T>
void maxpool_backward_tangent(const PoolDims& d, int K, const int32_t* argmax, const T* dgy, T* dgx);

// ---------------------------------------------------------------- attention
// Scaled dot-product attention over H heads, inputs in the (B, T, H*Dh)
// layout that the q/k/v linear layers produce (head h = columns
// [h*Dh, (h+1)*Dh)), output in the same layout:
//   S = q k^T / sqrt(Dh) (+ -inf where key_mask[b, j] == 0),
//   P = softmax(S) over keys, out = P v.
// key_mask: (B, T) 1 = real token, 0 = padding; null = all real. Masked
// keys get probability exactly 0; a batch item with every key masked has no
// softmax and throws. causal (decoders, GPT-2): query i also masks every key
// j > i; a query left with no key at all (every key up to it padding) gets
// an all-zero probability row and a zero output.
// probs: (B, H, T, T) saved P. dprobs: (K, B, H, T, T) written by the
// tangent and read by the backward tangent (null there: recomputed from dq, dk).
struct AttentionDims {
  int64_t B = 1, T = 0, H = 1, Dh = 0;
  bool causal = false;
};
template <class T>
void attention_forward(Backend be, const AttentionDims& d, const T* q, const T* k, const T* v,
                       const uint8_t* key_mask, T* probs, T* out);
template <class T>
void attention_tangent(Backend be, const AttentionDims& d, int K, const T* q, const T* k, const T* v,
                       const T* probs, const T* dq, const T* dk, const T* dv, T* dprobs, T* dout);
template <class T>
void attention_backward(Backend be, const AttentionDims& d, const T* q, const T* k, const T* v, const T* probs,
                        const T* gout, T* gq, T* gk, T* gv);
template <class T>
void attention_backward_tangent(Backend be, const AttentionDims& d, int K, const T* q, const T* k, const T* v,
                                const T* probs, const T* dq, const T* dk, const T* dv, const T* dprobs,
                                const T* gout, const T* dgout, T* dgq, T* dgk, T* dgv);

// ---------------------------------------------------------------- dropout
// Training only: y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) drawn from
// a counter-based generator seeded by `seed` (same seed, same mask on every
// platform). mask: (n) saved. p in [0, 1).
template <class T>
void dropout_forward(int64_t n, double p, uint64_t seed, const T* x, T* y, uint8_t* mask);
// dropout is linear: tangent, backward and backward tangent are all the
// same masked scaling (accumulating for the backward ones).
template <class T>
void dropout_apply(int64_t n, int K, double p, const uint8_t* mask, const T* x, T* y, bool accumulate);

// ---------------------------------------------------------------- sequence
// Concatenate along `axis` (all other dims equal) and slice [start, end)
// along `axis`. Both are linear: their tangents are the same op applied to
// each of the K directions; their backward is the transpose (slice of the
// gradient for concat, scatter-add for slice).
template <class T>
void concat_forward(int n_inputs, const Shape* shapes, int axis, const T* const* xs, T* y);
template <class T>
void concat_backward(int n_inputs, const Shape* shapes, int axis, const T* gy, T* const* gxs);
template <class T>
void slice_forward(const Shape& xs, int axis, int64_t start, int64_t end, const T* x, T* y);
template <class T>
void slice_backward(const Shape& xs, int axis, int64_t start, int64_t end, const T* gy, T* gx);

}  // namespace wordlight::ops
