// The tape: builds nodes eagerly and runs the derivative passes by calling
// the four functions of each op in ops.h. See graph.h for the passes.
#include "wordlight/graph.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace wordlight {

const char* op_name(OpKind k) {
  switch (k) {
    case OpKind::leaf: return "leaf";
    case OpKind::linear: return "linear";
    case OpKind::matmul: return "matmul";
    case OpKind::embedding: return "embedding";
    case OpKind::conv1d: return "conv1d";
    case OpKind::maxpool: return "maxpool";
    case OpKind::unary: return "unary";
    case OpKind::binary: return "binary";
    case OpKind::scale: return "scale";
    case OpKind::softmax: return "softmax";
    case OpKind::cross_entropy: return "cross_entropy";
    case OpKind::layernorm: return "layernorm";
    case OpKind::attention: return "attention";
    case OpKind::dropout: return "dropout";
    case OpKind::concat: return "concat";
    case OpKind::slice: return "slice";
    case OpKind::reshape: return "reshape";
    case OpKind::sum: return "sum";
    case OpKind::pick: return "pick";
  }
  return "?";
}

void throw_wrong_op_attrs(OpKind k, const OpAttrs& a) {
  throw Error(std::string("graph: the attributes of a ") + op_name(k) + " node (alternative " +
              std::to_string(a.index()) + " of OpAttrs) were read as another op's");
}

namespace {
std::string str(const Shape& s) { return s.str(); }
[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }
}  // namespace

template <class T>
Graph<T>::Graph(Backend be) : be_(be) {
  nodes_.reserve(256);
}

template <class T>
typename Graph<T>::Node& Graph<T>::node(Var v) {
  if (v.id < 0 || v.id >= static_cast<int>(nodes_.size()))
    throw Error("graph: variable " + std::to_string(v.id) + " does not belong to this graph (size " +
                std::to_string(nodes_.size()) + ")");
  return nodes_[v.id];
}
template <class T>
const typename Graph<T>::Node& Graph<T>::node(Var v) const {
  if (v.id < 0 || v.id >= static_cast<int>(nodes_.size()))
    throw Error("graph: variable " + std::to_string(v.id) + " does not belong to this graph (size " +
                std::to_string(nodes_.size()) + ")");
  return nodes_[v.id];
}

template <class T>
std::vector<Var> Graph<T>::inputs(Var v) const {
  const Node& n = node(v);
  std::vector<Var> out;
  if (n.op == OpKind::concat) {
    for (int j = 0; j < n.multi_count; ++j) out.push_back(Var{multi_[n.multi_begin + j]});
    return out;
  }
  int last = -1;
  for (int j = 0; j < 3; ++j)
    if (n.in[j] >= 0) last = j;
  for (int j = 0; j <= last; ++j) out.push_back(Var{n.in[j]});
  return out;
}

template <class T>
void Graph<T>::check_on_host(const char* pass) const {
  if (deferred_)
    throw Error(std::string("graph: ") + pass +
                " on the CPU needs the node values, but this graph's are on a device (gpu::DeviceTape runs its "
                "passes, or brings it to the host first)");
}

template <class T>
void Graph<T>::check_same_graph(Var v, const char* op) const {
  if (v.id < 0 || v.id >= static_cast<int>(nodes_.size()))
    fail(op, "operand " + std::to_string(v.id) + " is not a variable of this graph");
}

template <class T>
Var Graph<T>::push(Node&& n) {
  if (n.op != OpKind::leaf) {
    for (int j = 0; j < 3; ++j)
      if (n.in[j] >= 0 && nodes_[n.in[j]].requires_grad) n.requires_grad = true;
    for (int j = 0; j < n.multi_count; ++j)
      if (nodes_[multi_[n.multi_begin + j]].requires_grad) n.requires_grad = true;
  }
  nodes_.push_back(std::move(n));
  have_grads_ = have_tangents_ = false;
  return Var{static_cast<int>(nodes_.size()) - 1};
}

template <class T>
void Graph<T>::clear() {
  nodes_.clear();
  marks_.clear();
  multi_.clear();
  arena_.reset();
  K_ = 0;
  freed_ = spent_ = false;
  have_grads_ = have_tangents_ = false;
}

// ------------------------------------------------------------------ leaves
template <class T>
Var Graph<T>::input(const Shape& s, const T* data, bool requires_grad) {
  Node n;
  n.shape = s;
  n.value = alloc(s.numel());
  if (s.numel()) {
    if (!data) fail("input", "null data for shape " + str(s));
    std::memcpy(n.value, data, sizeof(T) * s.numel());
  }
  n.requires_grad = requires_grad;
  return push(std::move(n));
}

template <class T>
Var Graph<T>::parameter(const Shape& s, const T* data, const PackedLinear* packed) {
  if (!data && s.numel()) fail("parameter", "null data for shape " + str(s));
  Node n;
  n.shape = s;
  n.value = const_cast<T*>(data);  // never written: parameters are read-only in passes
  n.packed = packed;
  n.external = true;
  n.requires_grad = params_require_grad;
  return push(std::move(n));
}

template <class T>
bool Graph<T>::accumulate_parameter_grad(const T* data, int64_t n, T* out) const {
  bool any = false;
  for (const Node& nd : nodes_) {
    // Parameters are the only leaves that reference external memory, so a
    // leaf whose value lies inside the buffer is one of them.
    if (nd.op != OpKind::leaf || !nd.grad || !nd.value) continue;
    // Compared as addresses: the node may reference an unrelated buffer.
    const uintptr_t lo = reinterpret_cast<uintptr_t>(data), at = reinterpret_cast<uintptr_t>(nd.value);
    const int64_t m = nd.shape.numel();
    if (at < lo || at + sizeof(T) * m > lo + sizeof(T) * n) continue;
    T* dst = out + (at - lo) / sizeof(T);
    for (int64_t i = 0; i < m; ++i) dst[i] += nd.grad[i];
    any = true;
  }
  return any;
}

template <class T>
Var Graph<T>::constant(const Shape& s, const T* data) {
  return input(s, data, false);
}

// ------------------------------------------------------------------ ops
template <class T>
Var Graph<T>::linear(Var x, Var w, Var b) {
  check_same_graph(x, "linear");
  check_same_graph(w, "linear");
  const Shape xs = node(x).shape, ws = node(w).shape;
  if (ws.rank != 2) fail("linear", "weight must be (O, I), got " + str(ws));
  if (xs.rank < 1 || xs[-1] != ws[1])
    fail("linear", "x " + str(xs) + " and weight " + str(ws) + ": last dim of x must equal I = " +
                       std::to_string(ws[1]));
  if (b.valid()) {
    check_same_graph(b, "linear");
    const Shape bs = node(b).shape;
    if (bs.rank != 1 || bs[0] != ws[0])
      fail("linear", "bias " + str(bs) + " does not match weight " + str(ws) + " (expected (" +
                         std::to_string(ws[0]) + ",))");
  }
  Node n;
  n.op = OpKind::linear;
  n.shape = xs;
  n.shape[-1] = ws[0];
  n.in[0] = x.id;
  n.in[1] = w.id;
  n.in[2] = b.id;
  n.packed = node(w).packed;
  LinearAttrs a;
  a.R = xs[-1] ? xs.numel() / xs[-1] : xs.prod(0, xs.rank - 1);
  a.I = ws[1];
  a.O = ws[0];
  n.attrs = a;
  n.value = alloc(n.shape.numel());
  if (!deferred_)
    ops::linear_forward<T>(be_, a.R, a.I, a.O, node(x).value, node(w).value, b.valid() ? node(b).value : nullptr,
                         n.value, n.packed);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::matmul(Var a, Var b, bool ta, bool tb) {
  check_same_graph(a, "matmul");
  check_same_graph(b, "matmul");
  const Shape as = node(a).shape, bs = node(b).shape;
  if (as.rank < 2 || bs.rank != as.rank)
    fail("matmul", "operands " + str(as) + " and " + str(bs) + " must have the same rank >= 2");
  for (int d = 0; d < as.rank - 2; ++d)
    if (as[d] != bs[d]) fail("matmul", "batch dims of " + str(as) + " and " + str(bs) + " differ");
  ops::MatmulDims md;
  md.batch = as.prod(0, as.rank - 2);
  md.M = ta ? as[-1] : as[-2];
  const int64_t ka = ta ? as[-2] : as[-1];
  const int64_t kb = tb ? bs[-1] : bs[-2];
  md.N = tb ? bs[-2] : bs[-1];
  md.K = ka;
  md.trans_a = ta;
  md.trans_b = tb;
  if (ka != kb)
    fail("matmul", "inner dims differ: " + str(as) + (ta ? "^T" : "") + " x " + str(bs) + (tb ? "^T" : "") + " (" +
                       std::to_string(ka) + " vs " + std::to_string(kb) + ")");
  Node n;
  n.op = OpKind::matmul;
  n.shape = as;
  n.shape[-2] = md.M;
  n.shape[-1] = md.N;
  n.in[0] = a.id;
  n.in[1] = b.id;
  n.attrs = md;
  n.value = alloc(n.shape.numel());
  if (!deferred_) ops::matmul_forward<T>(be_, md, node(a).value, node(b).value, n.value);
  return push(std::move(n));
}


template <class T>
Var Graph<T>::embedding(Var table, const int32_t* ids, const Shape& ids_shape) {
  check_same_graph(table, "embedding");
  const Shape ts = node(table).shape;
  if (ts.rank != 2) fail("embedding", "table must be (V, D), got " + str(ts));
  if (ids_shape.rank >= Shape::kMaxRank) fail("embedding", "ids rank too large: " + str(ids_shape));
  const int64_t n_ids = ids_shape.numel();
  if (n_ids && !ids) fail("embedding", "null ids for shape " + str(ids_shape));
  Node n;
  n.op = OpKind::embedding;
  n.shape = ids_shape;
  n.shape.dims[n.shape.rank++] = ts[1];
  n.in[0] = table.id;
  n.attrs = EmbeddingAttrs{n_ids, ts[0], ts[1]};
  n.ints = arena_.alloc<int32_t>(n_ids);
  if (n_ids) std::memcpy(n.ints, ids, sizeof(int32_t) * n_ids);
  n.value = alloc(n.shape.numel());
  if (!deferred_) ops::embedding_forward<T>(n_ids, n.ints, ts[0], ts[1], node(table).value, n.value);
  return push(std::move(n));
}


template <class T>
Var Graph<T>::conv1d(Var x, Var w, Var b, int64_t pad) {
  check_same_graph(x, "conv1d");
  check_same_graph(w, "conv1d");
  const Shape xs = node(x).shape, ws = node(w).shape;
  if (xs.rank != 3) fail("conv1d", "x must be (B, T, Cin), got " + str(xs));
  if (ws.rank != 3) fail("conv1d", "weight must be (Cout, W, Cin), got " + str(ws));
  if (ws[2] != xs[2]) fail("conv1d", "x " + str(xs) + " has Cin = " + std::to_string(xs[2]) + " but weight " + str(ws) + " expects " + std::to_string(ws[2]));
  if (pad < 0) fail("conv1d", "negative padding " + std::to_string(pad));
  if (ws[1] > xs[1] + 2 * pad)
    fail("conv1d", "kernel width " + std::to_string(ws[1]) + " exceeds the padded sequence length " +
                       std::to_string(xs[1] + 2 * pad) + " of x " + str(xs));
  if (b.valid()) {
    check_same_graph(b, "conv1d");
    const Shape bs = node(b).shape;
    if (bs.rank != 1 || bs[0] != ws[0]) fail("conv1d", "bias " + str(bs) + " does not match weight " + str(ws));
  }
  Node n;
  n.op = OpKind::conv1d;
  n.in[0] = x.id;
  n.in[1] = w.id;
  n.in[2] = b.id;
  ops::Conv1dDims d;
  d.B = xs[0];
  d.T = xs[1];
  d.Cin = xs[2];
  d.Cout = ws[0];
  d.W = ws[1];
  d.pad = pad;
  n.attrs = d;
  n.shape = Shape{xs[0], d.t_out(), ws[0]};
  n.value = alloc(n.shape.numel());
  if (!deferred_)
    ops::conv1d_forward<T>(be_, d, node(x).value, node(w).value, b.valid() ? node(b).value : nullptr, n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::maxpool(Var x, int64_t window, int64_t stride) {
  check_same_graph(x, "maxpool");
  const Shape xs = node(x).shape;
  if (xs.rank != 3) fail("maxpool", "x must be (B, T, C), got " + str(xs));
  if (window < 1 || window > xs[1])
    fail("maxpool", "window " + std::to_string(window) + " must be in [1, T = " + std::to_string(xs[1]) + "] for x " + str(xs));
  if (stride < 1) fail("maxpool", "stride " + std::to_string(stride) + " must be >= 1");
  Node n;
  n.op = OpKind::maxpool;
  n.in[0] = x.id;
  ops::PoolDims d;
  d.B = xs[0];
  d.T = xs[1];
  d.C = xs[2];
  d.window = window;
  d.stride = stride;
  n.attrs = d;
  n.shape = Shape{xs[0], d.t_out(), xs[2]};
  n.value = alloc(n.shape.numel());
  n.ints = arena_.alloc<int32_t>(n.shape.numel());
  if (!deferred_) ops::maxpool_forward<T>(d, node(x).value, n.value, n.ints);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::max_over_time(Var x) {
  check_same_graph(x, "max_over_time");
  const Shape xs = node(x).shape;
  if (xs.rank != 3) fail("max_over_time", "x must be (B, T, C), got " + str(xs));
  return maxpool(x, xs[1], 1);
}

template <class T>
Var Graph<T>::unary(Var x, ops::UnaryParams p) {
  check_same_graph(x, "unary");
  if (p.kind == ops::Unary::relu && relu_softplus_beta > 0) p = {ops::Unary::softplus, relu_softplus_beta};
  if (p.kind == ops::Unary::softplus && !(p.beta > 0))
    fail("softplus", "temperature beta must be > 0, got " + std::to_string(p.beta));
  Node n;
  n.op = OpKind::unary;
  n.attrs = p;
  n.shape = node(x).shape;
  n.in[0] = x.id;
  n.value = alloc(n.shape.numel());
  if (!deferred_) ops::unary_forward<T>(be_, p, n.shape.numel(), node(x).value, n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::binary(Var a, Var b, ops::Binary op) {
  const char* name = op == ops::Binary::add ? "add" : "mul";
  check_same_graph(a, name);
  check_same_graph(b, name);
  Node n;
  n.op = OpKind::binary;
  n.attrs = BinaryAttrs{op};
  n.shape = broadcast_shapes(node(a).shape, node(b).shape, name);
  n.in[0] = a.id;
  n.in[1] = b.id;
  n.value = alloc(n.shape.numel());
  if (!deferred_)
    ops::binary_forward<T>(be_, op, node(a).shape, node(b).shape, node(a).value, node(b).value, n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::scale(Var x, T s) {
  check_same_graph(x, "scale");
  Node n;
  n.op = OpKind::scale;
  n.shape = node(x).shape;
  n.in[0] = x.id;
  n.attrs = ScaleAttrs{static_cast<double>(s)};
  n.value = alloc(n.shape.numel());
  const T* xv = node(x).value;
  if (!deferred_)
    for (int64_t j = 0; j < n.shape.numel(); ++j) n.value[j] = s * xv[j];
  return push(std::move(n));
}

template <class T>
Var Graph<T>::softmax(Var x) {
  check_same_graph(x, "softmax");
  const Shape xs = node(x).shape;
  if (xs.rank < 1 || xs[-1] < 1) fail("softmax", "x must have a non-empty last dim, got " + str(xs));
  Node n;
  n.op = OpKind::softmax;
  n.shape = xs;
  n.in[0] = x.id;
  const SoftmaxAttrs a{false, xs.numel() / xs[-1], xs[-1]};
  n.attrs = a;
  n.value = alloc(xs.numel());
  if (!deferred_) ops::softmax_forward<T>(be_, a.log, a.R, a.C, node(x).value, n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::log_softmax(Var x) {
  check_same_graph(x, "log_softmax");
  const Shape xs = node(x).shape;
  if (xs.rank < 1 || xs[-1] < 1) fail("log_softmax", "x must have a non-empty last dim, got " + str(xs));
  Node n;
  n.op = OpKind::softmax;
  n.shape = xs;
  n.in[0] = x.id;
  const SoftmaxAttrs a{true, xs.numel() / xs[-1], xs[-1]};
  n.attrs = a;
  n.value = alloc(xs.numel());
  if (!deferred_) ops::softmax_forward<T>(be_, a.log, a.R, a.C, node(x).value, n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::cross_entropy(Var logits, const int32_t* labels, const T* class_weights) {
  check_same_graph(logits, "cross_entropy");
  const Shape xs = node(logits).shape;
  if (xs.rank < 1 || xs[-1] < 1) fail("cross_entropy", "logits must be (..., C) with C >= 1, got " + str(xs));
  const int64_t C = xs[-1], R = xs.numel() / C;
  if (R && !labels) fail("cross_entropy", "null labels for logits " + str(xs));
  Node n;
  n.op = OpKind::cross_entropy;
  n.shape = Shape{};
  n.in[0] = logits.id;
  n.attrs = CrossEntropyAttrs{R, C};
  n.ints = arena_.alloc<int32_t>(R);
  if (R) std::memcpy(n.ints, labels, sizeof(int32_t) * R);
  if (class_weights) {
    T* cw = alloc(C);
    std::memcpy(cw, class_weights, sizeof(T) * C);
    n.class_w = cw;
  }
  n.saved = alloc(R * C);
  n.saved_n = R * C;
  n.value = alloc(1);
  if (!deferred_) ops::cross_entropy_forward<T>(be_, R, C, node(logits).value, n.ints, n.class_w, n.saved, n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::layernorm(Var x, Var gamma, Var beta, T eps) {
  check_same_graph(x, "layernorm");
  check_same_graph(gamma, "layernorm");
  const Shape xs = node(x).shape, gs = node(gamma).shape;
  if (xs.rank < 1 || xs[-1] < 1) fail("layernorm", "x must have a non-empty last dim, got " + str(xs));
  if (gs.rank != 1 || gs[0] != xs[-1]) fail("layernorm", "gamma " + str(gs) + " does not match x " + str(xs));
  if (beta.valid()) {
    check_same_graph(beta, "layernorm");
    if (node(beta).shape != gs) fail("layernorm", "beta " + str(node(beta).shape) + " does not match x " + str(xs));
  }
  if (!(eps > 0)) fail("layernorm", "eps must be > 0");
  Node n;
  n.op = OpKind::layernorm;
  n.shape = xs;
  n.in[0] = x.id;
  n.in[1] = gamma.id;
  n.in[2] = beta.id;
  const LayernormAttrs a{xs.numel() / xs[-1], xs[-1], static_cast<double>(eps)};
  n.attrs = a;
  n.value = alloc(xs.numel());
  n.saved = alloc(a.R);
  n.saved2 = alloc(a.R);
  n.saved_n = n.saved2_n = a.R;
  if (!deferred_)
    ops::layernorm_forward<T>(be_, a.R, a.C, eps, node(x).value, node(gamma).value,
                            beta.valid() ? node(beta).value : nullptr, n.value, n.saved, n.saved2);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::attention(Var q, Var k, Var v, int64_t heads, const uint8_t* key_mask, bool causal) {
  check_same_graph(q, "attention");
  check_same_graph(k, "attention");
  check_same_graph(v, "attention");
  const Shape qs = node(q).shape;
  if (qs.rank != 3) fail("attention", "q must be (B, T, H*Dh), got " + str(qs));
  if (node(k).shape != qs || node(v).shape != qs)
    fail("attention", "q " + str(qs) + ", k " + str(node(k).shape) + " and v " + str(node(v).shape) + " must have the same shape");
  if (heads < 1 || qs[2] % heads != 0)
    fail("attention", std::to_string(heads) + " heads do not divide the width " + std::to_string(qs[2]) + " of q " + str(qs));
  Node n;
  n.op = OpKind::attention;
  n.shape = qs;
  n.in[0] = q.id;
  n.in[1] = k.id;
  n.in[2] = v.id;
  ops::AttentionDims d;
  d.B = qs[0];
  d.T = qs[1];
  d.H = heads;
  d.Dh = qs[2] / heads;
  d.causal = causal;
  n.attrs = d;
  if (key_mask) {
    n.bytes = arena_.alloc<uint8_t>(qs[0] * qs[1]);
    std::memcpy(n.bytes, key_mask, qs[0] * qs[1]);
  }
  n.saved_n = qs[0] * heads * qs[1] * qs[1];
  n.saved = alloc(n.saved_n);
  n.value = alloc(qs.numel());
  if (!deferred_)
    ops::attention_forward<T>(be_, d, node(q).value, node(k).value, node(v).value, n.bytes, n.saved,
                            n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::dropout(Var x, double p, uint64_t seed) {
  check_same_graph(x, "dropout");
  if (!(p >= 0 && p < 1)) fail("dropout", "p must be in [0, 1), got " + std::to_string(p));
  if (!training || p == 0) return x;
  Node n;
  n.op = OpKind::dropout;
  n.shape = node(x).shape;
  n.in[0] = x.id;
  n.attrs = DropoutAttrs{p};
  n.bytes = arena_.alloc<uint8_t>(n.shape.numel());
  n.value = alloc(n.shape.numel());
  if (!deferred_) ops::dropout_forward<T>(n.shape.numel(), p, seed, node(x).value, n.value, n.bytes);
  return push(std::move(n));
}

namespace {
thread_local std::vector<Shape> tl_shapes;
}

template <class T>
Var Graph<T>::concat(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) fail("concat", "no inputs");
  for (Var v : xs) check_same_graph(v, "concat");
  const Shape s0 = node(xs[0]).shape;
  if (axis < 0) axis += s0.rank;
  if (axis < 0 || axis >= s0.rank) fail("concat", "axis out of range for shape " + str(s0));
  Shape out = s0;
  out[axis] = 0;
  for (Var v : xs) {
    const Shape s = node(v).shape;
    bool ok = s.rank == s0.rank;
    for (int d = 0; ok && d < s.rank; ++d)
      if (d != axis && s[d] != s0[d]) ok = false;
    if (!ok) fail("concat", "shapes " + str(s0) + " and " + str(s) + " differ outside axis " + std::to_string(axis));
    out[axis] += s[axis];
  }
  Node n;
  n.op = OpKind::concat;
  n.shape = out;
  n.attrs = ConcatAttrs{axis};
  n.multi_begin = static_cast<int>(multi_.size());
  n.multi_count = static_cast<int>(xs.size());
  for (Var v : xs) multi_.push_back(v.id);
  n.value = alloc(out.numel());
  tl_shapes.clear();
  std::vector<const T*> ptrs;
  for (Var v : xs) {
    tl_shapes.push_back(node(v).shape);
    ptrs.push_back(node(v).value);
  }
  if (!deferred_) ops::concat_forward<T>(static_cast<int>(xs.size()), tl_shapes.data(), axis, ptrs.data(), n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::slice(Var x, int axis, int64_t start, int64_t end) {
  check_same_graph(x, "slice");
  const Shape xs = node(x).shape;
  if (axis < 0) axis += xs.rank;
  if (axis < 0 || axis >= xs.rank) fail("slice", "axis out of range for shape " + str(xs));
  if (start < 0 || end > xs[axis] || start > end)
    fail("slice", "range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds for axis " +
                      std::to_string(axis) + " of " + str(xs));
  Node n;
  n.op = OpKind::slice;
  n.shape = xs;
  n.shape[axis] = end - start;
  n.in[0] = x.id;
  n.attrs = SliceAttrs{axis, start, end};
  n.value = alloc(n.shape.numel());
  if (!deferred_) ops::slice_forward<T>(xs, axis, start, end, node(x).value, n.value);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::reshape(Var x, const Shape& s) {
  check_same_graph(x, "reshape");
  if (s.numel() != node(x).shape.numel())
    fail("reshape", "cannot view " + str(node(x).shape) + " as " + str(s) + " (element counts differ)");
  Node n;
  n.op = OpKind::reshape;
  n.shape = s;
  n.in[0] = x.id;
  n.value = node(x).value;  // a view
  return push(std::move(n));
}

template <class T>
Var Graph<T>::sum(Var x) {
  check_same_graph(x, "sum");
  Node n;
  n.op = OpKind::sum;
  n.shape = Shape{};
  n.in[0] = x.id;
  n.value = alloc(1);
  double acc = 0;
  const T* xv = node(x).value;
  if (!deferred_)
    for (int64_t j = 0; j < node(x).shape.numel(); ++j) acc += xv[j];
  n.value[0] = static_cast<T>(acc);
  return push(std::move(n));
}

template <class T>
Var Graph<T>::pick(Var x, const int32_t* index) {
  check_same_graph(x, "pick");
  const Shape xs = node(x).shape;
  if (xs.rank < 1 || xs[-1] < 1) fail("pick", "x must be (..., C) with C >= 1, got " + str(xs));
  const int64_t C = xs[-1], R = xs.numel() / C;
  Node n;
  n.op = OpKind::pick;
  n.shape = xs;
  n.shape.rank -= 1;
  n.in[0] = x.id;
  n.attrs = PickAttrs{R, C};
  n.ints = arena_.alloc<int32_t>(R);
  n.value = alloc(R);
  const T* xv = node(x).value;
  for (int64_t r = 0; r < R; ++r) {
    if (index[r] < 0 || index[r] >= C)
      fail("pick", "index " + std::to_string(index[r]) + " at row " + std::to_string(r) + " is outside [0, " +
                       std::to_string(C) + ") for x " + str(xs));
    n.ints[r] = index[r];
    if (!deferred_) n.value[r] = xv[r * C + index[r]];
  }
  return push(std::move(n));
}

// ------------------------------------------------------------------ passes
template <class T>
T* Graph<T>::ensure_grad(int id) {
  Node& n = nodes_[id];
  if (!n.grad) n.grad = alloc(n.shape.numel(), true);
  return n.grad;
}

template <class T>
T* Graph<T>::ensure_grad_tangent(int id) {
  Node& n = nodes_[id];
  if (!n.grad_tangent) n.grad_tangent = alloc(static_cast<int64_t>(K_) * n.shape.numel(), true);
  return n.grad_tangent;
}

template <class T>
void Graph<T>::backward(Var y, const T* seed) {
  check_on_host("backward");
  if (spent_)
    throw Error("backward: this tape kept only what one backward pass needs (Retain::gradients) and has run it");
  Node& out = node(y);
  if (!out.requires_grad)
    throw Error("backward: the output does not depend on any input or parameter that requires a gradient");
  for (auto& n : nodes_) {
    n.grad = nullptr;
    n.grad_tangent = nullptr;
  }
  T* g = ensure_grad(y.id);
  const int64_t ny = out.shape.numel();
  for (int64_t j = 0; j < ny; ++j) g[j] = seed ? seed[j] : T(1);
  const bool free = retain == Retain::gradients && !deferred_;
  for (int id = y.id; id >= 0; --id) {
    Node& n = nodes_[id];
    if (n.grad && n.op != OpKind::leaf) run_backward(n);
    if (free) free_after_backward(id, y.id);
  }
  if (free) spent_ = freed_ = true;
  have_grads_ = true;
}

// ------------------------------------------------------------------ Retain::gradients
template <class T>
bool Graph<T>::backward_reads_input(const Node& n, int j) const {
  if (!n.requires_grad) return false;  // its backward never runs
  auto rg = [&](int k) { return n.in[k] >= 0 && nodes_[n.in[k]].requires_grad; };
  switch (n.op) {
    case OpKind::linear:  // dx = dy w, dw = dy^T x, db = sum dy
    case OpKind::conv1d:
      return (j == 0 && rg(1)) || (j == 1 && rg(0));
    case OpKind::matmul:
      return (j == 0 && rg(1)) || (j == 1 && rg(0));
    case OpKind::binary:  // add: nothing; mul: the other factor
      if (n.template attr<BinaryAttrs>().op == ops::Binary::add) return false;
      return (j == 0 && rg(1)) || (j == 1 && rg(0));
    case OpKind::unary:  // f'(x)
      return j == 0;
    case OpKind::layernorm:  // x (with the saved mean and rstd) and gamma
      return j == 0 || j == 1;
    case OpKind::attention:  // q, k, v (and the saved probabilities)
      return true;
    case OpKind::leaf:
    case OpKind::embedding:
    case OpKind::maxpool:
    case OpKind::scale:
    case OpKind::softmax:
    case OpKind::cross_entropy:
    case OpKind::dropout:
    case OpKind::concat:
    case OpKind::slice:
    case OpKind::reshape:
    case OpKind::sum:
    case OpKind::pick:
      return false;
  }
  return true;  // an op this table does not know: keep what it may read
}

template <class T>
bool Graph<T>::backward_reads_output(const Node& n) const {
  if (!n.requires_grad) return false;
  switch (n.op) {
    case OpKind::unary:  // the erf GELU's fast backward reads Phi(x) back from y
      return n.template attr<ops::UnaryParams>().kind == ops::Unary::gelu;
    case OpKind::softmax:  // p (log-softmax: exp of its output)
      return true;
    case OpKind::leaf:
    case OpKind::linear:
    case OpKind::conv1d:
    case OpKind::matmul:
    case OpKind::binary:
    case OpKind::layernorm:
    case OpKind::attention:
    case OpKind::embedding:
    case OpKind::maxpool:
    case OpKind::scale:
    case OpKind::cross_entropy:
    case OpKind::dropout:
    case OpKind::concat:
    case OpKind::slice:
    case OpKind::reshape:
    case OpKind::sum:
    case OpKind::pick:
      return false;
  }
  return true;
}

// Frees n's value (a reshape only drops its view: the buffer is its input's).
template <class T>
void Graph<T>::free_value(Node& n) {
  if (!n.value || n.op == OpKind::leaf) return;
  if (n.op != OpKind::reshape) arena_.release(n.value, static_cast<size_t>(n.shape.numel()));
  n.value = nullptr;
  freed_ = true;
}

template <class T>
void Graph<T>::forward_boundary(std::initializer_list<Var> live) {
  for (Var v : live) check_same_graph(v, "forward_boundary");
  if (retain != Retain::gradients || deferred_) return;
  const int N = static_cast<int>(nodes_.size());
  std::vector<char> keep(static_cast<size_t>(N), 0);
  for (Var v : live) keep[static_cast<size_t>(v.id)] = 1;
  for (int i = 0; i < N; ++i) {
    const Node& n = nodes_[i];
    if (n.op == OpKind::leaf) {
      keep[i] = 1;
      continue;
    }
    if (backward_reads_output(n)) keep[i] = 1;
    if (n.op == OpKind::concat) continue;  // reads no input value
    for (int j = 0; j < 3; ++j)
      if (n.in[j] >= 0 && backward_reads_input(n, j)) keep[n.in[j]] = 1;
  }
  // A view keeps the buffer it shows (its input's, at a lower id).
  for (int i = N - 1; i >= 0; --i)
    if (keep[i] && nodes_[i].op == OpKind::reshape) keep[nodes_[i].in[0]] = 1;
  for (int i = 0; i < N; ++i) {
    Node& n = nodes_[i];
    if (!keep[i]) free_value(n);
    if (!n.requires_grad && (n.saved || n.saved2)) {  // never read: no backward runs here
      arena_.release(n.saved, static_cast<size_t>(n.saved_n));
      arena_.release(n.saved2, static_cast<size_t>(n.saved2_n));
      n.saved = n.saved2 = nullptr;
      freed_ = true;
    }
  }
}

// backward() has run node id's rule (or skipped it) and every rule after
// it: nothing reads its gradient, saved buffers or value any more (its
// consumers come later on the tape, views included). Leaves keep both (the
// caller reads their gradients), and so does y's value.
template <class T>
void Graph<T>::free_after_backward(int id, int y) {
  Node& n = nodes_[id];
  if (n.op == OpKind::leaf) return;
  arena_.release(n.grad, static_cast<size_t>(n.shape.numel()));
  n.grad = nullptr;
  arena_.release(n.saved, static_cast<size_t>(n.saved_n));
  arena_.release(n.saved2, static_cast<size_t>(n.saved2_n));
  n.saved = n.saved2 = nullptr;
  if (id != y) free_value(n);
}

template <class T>
void Graph<T>::check_values_kept(const char* pass) const {
  if (freed_)
    throw Error(std::string("graph: ") + pass +
                " reads values that this tape freed (Retain::gradients keeps only what one backward pass needs)");
}

template <class T>
void Graph<T>::set_tangent(Var leaf, int K, const T* d) {
  Node& n = node(leaf);
  if (n.op != OpKind::leaf) throw Error("set_tangent: variable " + std::to_string(leaf.id) + " is not a leaf");
  if (K < 1) throw Error("set_tangent: K must be >= 1, got " + std::to_string(K));
  if (K_ != 0 && K != K_)
    throw Error("set_tangent: all seeded leaves must share K (have " + std::to_string(K_) + ", got " + std::to_string(K) + ")");
  K_ = K;
  const int64_t sz = static_cast<int64_t>(K) * n.shape.numel();
  n.tangent = alloc(sz);
  std::memcpy(n.tangent, d, sizeof(T) * sz);
  have_tangents_ = false;
}

template <class T>
void Graph<T>::clear_tangents() {
  for (auto& n : nodes_) {
    n.tangent = nullptr;
    n.grad_tangent = nullptr;
    n.gt_live = false;
  }
  K_ = 0;
  have_tangents_ = false;
}

template <class T>
void Graph<T>::forward_tangent() {
  check_on_host("forward_tangent");
  check_values_kept("forward_tangent");
  if (K_ == 0) throw Error("forward_tangent: no leaf has a tangent (call set_tangent first)");
  for (auto& n : nodes_) {
    if (n.op == OpKind::leaf) continue;
    n.tangent = nullptr;
    bool any = false;
    for (int j = 0; j < 3; ++j)
      if (n.in[j] >= 0 && nodes_[n.in[j]].tangent) any = true;
    for (int j = 0; j < n.multi_count; ++j)
      if (nodes_[multi_[n.multi_begin + j]].tangent) any = true;
    if (any) run_tangent(n);
  }
  have_tangents_ = true;
}

template <class T>
void Graph<T>::backward_tangent(Var y) {
  check_values_kept("backward_tangent");
  if (!have_grads_) throw Error("backward_tangent: run backward(y) first");
  if (!have_tangents_) throw Error("backward_tangent: run forward_tangent() first");
  node(y);
  for (auto& n : nodes_) {
    n.grad_tangent = nullptr;
    n.gt_live = false;
  }
  ensure_grad_tangent(y.id);  // the seed is constant: its tangent is zero
  for (int id = y.id; id >= 0; --id) {
    Node& n = nodes_[id];
    if (!n.grad || n.op == OpKind::leaf) continue;
    bool inputs_move = false;
    for (int j = 0; j < 3; ++j)
      if (n.in[j] >= 0 && nodes_[n.in[j]].tangent) inputs_move = true;
    for (int j = 0; j < n.multi_count; ++j)
      if (nodes_[multi_[n.multi_begin + j]].tangent) inputs_move = true;
    // Nothing flows: the cotangent's tangent is zero and no input moves.
    if (!n.gt_live && !inputs_move) continue;
    ensure_grad_tangent(id);
    run_backward_tangent(n);
  }
}

// Per-op dispatch. `in(j)` helpers give the input node's buffers or null.
template <class T>
void Graph<T>::run_tangent(Node& n) {
  const int K = K_;
  auto val = [&](int j) -> const T* { return n.in[j] >= 0 ? nodes_[n.in[j]].value : nullptr; };
  auto tan = [&](int j) -> const T* { return n.in[j] >= 0 ? nodes_[n.in[j]].tangent : nullptr; };
  const int64_t ny = n.shape.numel();
  if (n.op == OpKind::reshape) {
    n.tangent = nodes_[n.in[0]].tangent;  // same layout per direction
    return;
  }
  n.tangent = alloc(static_cast<int64_t>(K) * ny);
  T* dy = n.tangent;
  switch (n.op) {
    case OpKind::linear: {
      const auto& a = n.template attr<LinearAttrs>();
      ops::linear_tangent<T>(be_, a.R, a.I, a.O, K, val(0), val(1), tan(0), tan(1), tan(2), dy, n.packed);
      break;
    }
    case OpKind::matmul: {
      const auto& a = n.template attr<ops::MatmulDims>();
      ops::matmul_tangent<T>(be_, a, K, val(0), val(1), tan(0), tan(1), dy);
      break;
    }
    case OpKind::embedding: {
      const auto& a = n.template attr<EmbeddingAttrs>();
      ops::embedding_tangent<T>(a.n_ids, n.ints, a.V, a.D, K, tan(0), dy);
      break;
    }
    case OpKind::conv1d: {
      const auto& a = n.template attr<ops::Conv1dDims>();
      ops::conv1d_tangent<T>(be_, a, K, val(0), val(1), tan(0), tan(1), tan(2), dy);
      break;
    }
    case OpKind::maxpool: {
      const auto& a = n.template attr<ops::PoolDims>();
      ops::maxpool_tangent<T>(a, K, n.ints, tan(0), dy);
      break;
    }
    case OpKind::unary: {
      const auto& a = n.template attr<ops::UnaryParams>();
      ops::unary_tangent<T>(be_, a, ny, K, val(0), n.value, tan(0), dy);
      break;
    }
    case OpKind::binary: {
      const auto& a = n.template attr<BinaryAttrs>();
      ops::binary_tangent<T>(be_, a.op, nodes_[n.in[0]].shape, nodes_[n.in[1]].shape, K, val(0), val(1), tan(0),
                             tan(1), dy);
      break;
    }
    case OpKind::scale: {
      const auto& a = n.template attr<ScaleAttrs>();
      const T* dx = tan(0);
      const T s = static_cast<T>(a.s);
      for (int64_t j = 0; j < K * ny; ++j) dy[j] = s * dx[j];
      break;
    }
    case OpKind::softmax: {
      const auto& a = n.template attr<SoftmaxAttrs>();
      ops::softmax_tangent<T>(be_, a.log, a.R, a.C, K, n.value, tan(0), dy);
      break;
    }
    case OpKind::cross_entropy: {
      const auto& a = n.template attr<CrossEntropyAttrs>();
      ops::cross_entropy_tangent<T>(be_, a.R, a.C, K, n.saved, n.ints, n.class_w, tan(0), dy);
      break;
    }
    case OpKind::layernorm: {
      const auto& a = n.template attr<LayernormAttrs>();
      ops::layernorm_tangent<T>(be_, a.R, a.C, K, val(0), val(1), n.saved, n.saved2, tan(0), tan(1), tan(2), dy);
      break;
    }
    case OpKind::attention: {
      const auto& d = n.template attr<ops::AttentionDims>();
      n.saved2_n = static_cast<int64_t>(K) * d.B * d.H * d.T * d.T;
      n.saved2 = alloc(n.saved2_n);
      ops::attention_tangent<T>(be_, d, K, val(0), val(1), val(2), n.saved, tan(0), tan(1), tan(2), n.saved2, dy);
      break;
    }
    case OpKind::dropout: {
      const auto& a = n.template attr<DropoutAttrs>();
      ops::dropout_apply<T>(ny, K, a.p, n.bytes, tan(0), dy, false);
      break;
    }
    case OpKind::concat: {
      const auto& a = n.template attr<ConcatAttrs>();
      tl_shapes.clear();
      std::vector<const T*> ptrs(n.multi_count);
      int64_t max_in = 0;
      for (int j = 0; j < n.multi_count; ++j) {
        tl_shapes.push_back(nodes_[multi_[n.multi_begin + j]].shape);
        max_in = std::max(max_in, tl_shapes.back().numel());
      }
      const T* zeros = nullptr;
      for (int k = 0; k < K; ++k) {
        for (int j = 0; j < n.multi_count; ++j) {
          const Node& in = nodes_[multi_[n.multi_begin + j]];
          if (in.tangent) {
            ptrs[j] = in.tangent + static_cast<int64_t>(k) * in.shape.numel();
          } else {
            if (!zeros) zeros = alloc(max_in, true);
            ptrs[j] = zeros;
          }
        }
        ops::concat_forward<T>(n.multi_count, tl_shapes.data(), a.axis, ptrs.data(), dy + k * ny);
      }
      break;
    }
    case OpKind::slice: {
      const auto& a = n.template attr<SliceAttrs>();
      const Node& in = nodes_[n.in[0]];
      const int64_t nx = in.shape.numel();
      for (int k = 0; k < K; ++k)
        ops::slice_forward<T>(in.shape, a.axis, a.start, a.end, in.tangent + k * nx, dy + k * ny);
      break;
    }
    case OpKind::sum: {
      const Node& in = nodes_[n.in[0]];
      const int64_t nx = in.shape.numel();
      for (int k = 0; k < K; ++k) {
        double acc = 0;
        for (int64_t j = 0; j < nx; ++j) acc += in.tangent[k * nx + j];
        dy[k] = static_cast<T>(acc);
      }
      break;
    }
    case OpKind::pick: {
      const auto& a = n.template attr<PickAttrs>();
      const T* dx = tan(0);
      const int64_t R = a.R, C = a.C;
      for (int k = 0; k < K; ++k)
        for (int64_t r = 0; r < R; ++r) dy[k * R + r] = dx[(k * R + r) * C + n.ints[r]];
      break;
    }
    case OpKind::leaf:
    case OpKind::reshape:
      break;
  }
}

template <class T>
void Graph<T>::run_backward(Node& n) {
  auto val = [&](int j) -> const T* { return n.in[j] >= 0 ? nodes_[n.in[j]].value : nullptr; };
  // Gradient buffer of input j if it wants one, else null (skipped by ops).
  auto gin = [&](int j) -> T* {
    return (n.in[j] >= 0 && nodes_[n.in[j]].requires_grad) ? ensure_grad(n.in[j]) : nullptr;
  };
  const T* gy = n.grad;
  const int64_t ny = n.shape.numel();
  switch (n.op) {
    case OpKind::linear: {
      const auto& a = n.template attr<LinearAttrs>();
      ops::linear_backward<T>(be_, a.R, a.I, a.O, val(0), val(1), gy, gin(0), gin(1), gin(2), n.packed);
      break;
    }
    case OpKind::matmul: {
      const auto& a = n.template attr<ops::MatmulDims>();
      ops::matmul_backward<T>(be_, a, val(0), val(1), gy, gin(0), gin(1));
      break;
    }
    case OpKind::embedding: {
      const auto& a = n.template attr<EmbeddingAttrs>();
      if (T* g = gin(0)) ops::embedding_backward<T>(a.n_ids, n.ints, a.V, a.D, gy, g);
      break;
    }
    case OpKind::conv1d: {
      const auto& a = n.template attr<ops::Conv1dDims>();
      ops::conv1d_backward<T>(be_, a, val(0), val(1), gy, gin(0), gin(1), gin(2));
      break;
    }
    case OpKind::maxpool: {
      const auto& a = n.template attr<ops::PoolDims>();
      if (T* g = gin(0)) ops::maxpool_backward<T>(a, n.ints, gy, g);
      break;
    }
    case OpKind::unary: {
      const auto& a = n.template attr<ops::UnaryParams>();
      if (T* g = gin(0)) ops::unary_backward<T>(be_, a, ny, val(0), n.value, gy, g);
      break;
    }
    case OpKind::binary: {
      const auto& a = n.template attr<BinaryAttrs>();
      ops::binary_backward<T>(be_, a.op, nodes_[n.in[0]].shape, nodes_[n.in[1]].shape, val(0), val(1), gy, gin(0),
                              gin(1));
      break;
    }
    case OpKind::scale: {
      const auto& a = n.template attr<ScaleAttrs>();
      if (T* g = gin(0)) {
        const T s = static_cast<T>(a.s);
        for (int64_t j = 0; j < ny; ++j) g[j] += s * gy[j];
      }
      break;
    }
    case OpKind::softmax: {
      const auto& a = n.template attr<SoftmaxAttrs>();
      if (T* g = gin(0)) ops::softmax_backward<T>(be_, a.log, a.R, a.C, n.value, gy, g);
      break;
    }
    case OpKind::cross_entropy: {
      const auto& a = n.template attr<CrossEntropyAttrs>();
      if (T* g = gin(0)) ops::cross_entropy_backward<T>(be_, a.R, a.C, n.saved, n.ints, n.class_w, gy[0], g);
      break;
    }
    case OpKind::layernorm: {
      const auto& a = n.template attr<LayernormAttrs>();
      ops::layernorm_backward<T>(be_, a.R, a.C, val(0), val(1), n.saved, n.saved2, gy, gin(0), gin(1), gin(2));
      break;
    }
    case OpKind::attention: {
      const auto& a = n.template attr<ops::AttentionDims>();
      ops::attention_backward<T>(be_, a, val(0), val(1), val(2), n.saved, gy, gin(0), gin(1), gin(2));
      break;
    }
    case OpKind::dropout: {
      const auto& a = n.template attr<DropoutAttrs>();
      if (T* g = gin(0)) ops::dropout_apply<T>(ny, 1, a.p, n.bytes, gy, g, true);
      break;
    }
    case OpKind::concat: {
      const auto& a = n.template attr<ConcatAttrs>();
      tl_shapes.clear();
      std::vector<T*> gptrs(n.multi_count, nullptr);
      for (int j = 0; j < n.multi_count; ++j) {
        const int id = multi_[n.multi_begin + j];
        tl_shapes.push_back(nodes_[id].shape);
        if (nodes_[id].requires_grad) gptrs[j] = ensure_grad(id);
      }
      ops::concat_backward<T>(n.multi_count, tl_shapes.data(), a.axis, gy, gptrs.data());
      break;
    }
    case OpKind::slice: {
      const auto& a = n.template attr<SliceAttrs>();
      if (T* g = gin(0))
        ops::slice_backward<T>(nodes_[n.in[0]].shape, a.axis, a.start, a.end, gy, g);
      break;
    }
    case OpKind::reshape:
      if (T* g = gin(0))
        for (int64_t j = 0; j < ny; ++j) g[j] += gy[j];
      break;
    case OpKind::sum:
      if (T* g = gin(0)) {
        const int64_t nx = nodes_[n.in[0]].shape.numel();
        for (int64_t j = 0; j < nx; ++j) g[j] += gy[0];
      }
      break;
    case OpKind::pick: {
      const auto& a = n.template attr<PickAttrs>();
      if (T* g = gin(0))
        for (int64_t r = 0; r < a.R; ++r) g[r * a.C + n.ints[r]] += gy[r];
      break;
    }
    case OpKind::leaf:
      break;
  }
}

template <class T>
void Graph<T>::run_backward_tangent(Node& n) {
  const int K = K_;
  auto val = [&](int j) -> const T* { return n.in[j] >= 0 ? nodes_[n.in[j]].value : nullptr; };
  auto tan = [&](int j) -> const T* { return n.in[j] >= 0 ? nodes_[n.in[j]].tangent : nullptr; };
  auto gtin = [&](int j) -> T* {
    if (n.in[j] < 0 || !nodes_[n.in[j]].requires_grad) return nullptr;
    nodes_[n.in[j]].gt_live = true;
    return ensure_grad_tangent(n.in[j]);
  };
  const T* gy = n.grad;
  const T* dgy = n.grad_tangent;
  const int64_t ny = n.shape.numel();
  switch (n.op) {
    case OpKind::linear: {
      const auto& a = n.template attr<LinearAttrs>();
      ops::linear_backward_tangent<T>(be_, a.R, a.I, a.O, K, val(0), val(1), tan(0), tan(1), gy, dgy, gtin(0),
                                      gtin(1), gtin(2), n.packed);
      break;
    }
    case OpKind::matmul: {
      const auto& a = n.template attr<ops::MatmulDims>();
      ops::matmul_backward_tangent<T>(be_, a, K, val(0), val(1), tan(0), tan(1), gy, dgy, gtin(0),
                                      gtin(1));
      break;
    }
    case OpKind::embedding: {
      const auto& a = n.template attr<EmbeddingAttrs>();
      if (T* g = gtin(0)) ops::embedding_backward_tangent<T>(a.n_ids, n.ints, a.V, a.D, K, dgy, g);
      break;
    }
    case OpKind::conv1d: {
      const auto& a = n.template attr<ops::Conv1dDims>();
      ops::conv1d_backward_tangent<T>(be_, a, K, val(0), val(1), tan(0), tan(1), gy, dgy, gtin(0),
                                      gtin(1), gtin(2));
      break;
    }
    case OpKind::maxpool: {
      const auto& a = n.template attr<ops::PoolDims>();
      if (T* g = gtin(0)) ops::maxpool_backward_tangent<T>(a, K, n.ints, dgy, g);
      break;
    }
    case OpKind::unary: {
      const auto& a = n.template attr<ops::UnaryParams>();
      if (T* g = gtin(0)) ops::unary_backward_tangent<T>(be_, a, ny, K, val(0), n.value, tan(0), gy, dgy, g);
      break;
    }
    case OpKind::binary: {
      const auto& a = n.template attr<BinaryAttrs>();
      ops::binary_backward_tangent<T>(be_, a.op, nodes_[n.in[0]].shape, nodes_[n.in[1]].shape, K, val(0), val(1),
                                      tan(0), tan(1), gy, dgy, gtin(0), gtin(1));
      break;
    }
    case OpKind::scale: {
      const auto& a = n.template attr<ScaleAttrs>();
      if (T* g = gtin(0)) {
        const T s = static_cast<T>(a.s);
        for (int64_t j = 0; j < K * ny; ++j) g[j] += s * dgy[j];
      }
      break;
    }
    case OpKind::softmax: {
      const auto& a = n.template attr<SoftmaxAttrs>();
      if (T* g = gtin(0)) ops::softmax_backward_tangent<T>(be_, a.log, a.R, a.C, K, n.value, tan(0), gy, dgy, g);
      break;
    }
    case OpKind::cross_entropy: {
      const auto& a = n.template attr<CrossEntropyAttrs>();
      if (T* g = gtin(0))
        ops::cross_entropy_backward_tangent<T>(be_, a.R, a.C, K, n.saved, n.ints, n.class_w, tan(0), gy[0], dgy, g);
      break;
    }
    case OpKind::layernorm: {
      const auto& a = n.template attr<LayernormAttrs>();
      ops::layernorm_backward_tangent<T>(be_, a.R, a.C, K, val(0), val(1), n.saved, n.saved2, tan(0), tan(1), gy,
                                         dgy, gtin(0), gtin(1), gtin(2));
      break;
    }
    case OpKind::attention: {
      const auto& d = n.template attr<ops::AttentionDims>();
      // With no input tangent the forward tangent never ran here: dP = 0.
      const T* dprobs = n.tangent ? n.saved2 : nullptr;
      T* zeros = nullptr;
      if (!dprobs) zeros = alloc(static_cast<int64_t>(K) * d.B * d.H * d.T * d.T, true);
      ops::attention_backward_tangent<T>(be_, d, K, val(0), val(1), val(2), n.saved, tan(0), tan(1), tan(2),
                                         dprobs ? dprobs : zeros, gy, dgy, gtin(0), gtin(1), gtin(2));
      break;
    }
    case OpKind::dropout: {
      const auto& a = n.template attr<DropoutAttrs>();
      if (T* g = gtin(0)) ops::dropout_apply<T>(ny, K, a.p, n.bytes, dgy, g, true);
      break;
    }
    case OpKind::concat: {
      const auto& a = n.template attr<ConcatAttrs>();
      tl_shapes.clear();
      std::vector<T*> gptrs(n.multi_count, nullptr);
      std::vector<T*> base(n.multi_count, nullptr);
      for (int j = 0; j < n.multi_count; ++j) {
        const int id = multi_[n.multi_begin + j];
        tl_shapes.push_back(nodes_[id].shape);
        if (nodes_[id].requires_grad) {
          nodes_[id].gt_live = true;
          base[j] = ensure_grad_tangent(id);
        }
      }
      for (int k = 0; k < K; ++k) {
        for (int j = 0; j < n.multi_count; ++j)
          gptrs[j] = base[j] ? base[j] + static_cast<int64_t>(k) * tl_shapes[j].numel() : nullptr;
        ops::concat_backward<T>(n.multi_count, tl_shapes.data(), a.axis, dgy + k * ny, gptrs.data());
      }
      break;
    }
    case OpKind::slice: {
      const auto& a = n.template attr<SliceAttrs>();
      if (T* g = gtin(0)) {
        const Shape& xs = nodes_[n.in[0]].shape;
        for (int k = 0; k < K; ++k)
          ops::slice_backward<T>(xs, a.axis, a.start, a.end, dgy + k * ny, g + k * xs.numel());
      }
      break;
    }
    case OpKind::reshape:
      if (T* g = gtin(0))
        for (int64_t j = 0; j < K * ny; ++j) g[j] += dgy[j];
      break;
    case OpKind::sum:
      if (T* g = gtin(0)) {
        const int64_t nx = nodes_[n.in[0]].shape.numel();
        for (int k = 0; k < K; ++k)
          for (int64_t j = 0; j < nx; ++j) g[k * nx + j] += dgy[k];
      }
      break;
    case OpKind::pick: {
      const auto& a = n.template attr<PickAttrs>();
      if (T* g = gtin(0)) {
        const int64_t R = a.R, C = a.C;
        for (int k = 0; k < K; ++k)
          for (int64_t r = 0; r < R; ++r) g[(k * R + r) * C + n.ints[r]] += dgy[k * R + r];
      }
      break;
    }
    case OpKind::leaf:
      break;
  }
}

template <class T>
void hessian_vector_products(Graph<T>& g, Var y, Var x, int K, const T* V, T* HV, T* grad) {
  if (g.numel(y) != 1) throw Error("hessian_vector_products: output must be a scalar, got shape " + g.shape(y).str());
  if (!g.requires_grad(x)) throw Error("hessian_vector_products: the input does not require a gradient");
  g.backward(y);
  g.clear_tangents();
  g.set_tangent(x, K, V);
  g.forward_tangent();
  g.backward_tangent(y);
  const int64_t n = g.numel(x);
  const T* gt = g.grad_tangent(x);
  if (gt)
    std::memcpy(HV, gt, sizeof(T) * K * n);
  else
    std::fill(HV, HV + K * n, T(0));
  if (grad) {
    const T* gr = g.grad(x);
    if (gr)
      std::memcpy(grad, gr, sizeof(T) * n);
    else
      std::fill(grad, grad + n, T(0));
  }
}

template class Graph<float>;
template class Graph<double>;
template void hessian_vector_products<float>(Graph<float>&, Var, Var, int, const float*, float*, float*);
template void hessian_vector_products<double>(Graph<double>&, Var, Var, int, const double*, double*, double*);

}  // namespace wordlight
