#pragma once
// A define-by-run tape over the ops of ops.h, with three passes over it:
//
//   build (forward)       each op call computes its value at once and records
//                          a node (plain data: op kind, inputs, attributes,
//                          saved values);
//   backward(y)           reverse mode: grad(x) = dy/dx for every node that
//                          requires a gradient;
//   forward_tangent()     forward mode for K directions at once: tangent(x) =
//                          J dx, seeded with set_tangent on leaves;
//   backward_tangent(y)   forward-over-reverse: the tangent of the backward
//                          pass. After backward(y) and forward_tangent(),
//                          grad_tangent(x) = d/de grad(x)|_(leaves + e dleaves)
//                          which, for a scalar y and a tangent seeded on input
//                          x, is the exact Hessian-vector product H v.
//
// All buffers come from an arena; clear() forgets the tape and keeps the
// memory, so a steady-state pass of the same size does not allocate.
// Every op checks its operands' shapes and throws wordlight::Error naming
// the op and the shapes.
//
// Graph<float> runs Backend::fast by default; Graph<double> always runs the
// scalar reference (used by the tests as the double-precision oracle).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "wordlight/arena.h"
#include "wordlight/backend.h"
#include "wordlight/error.h"
#include "wordlight/gemm.h"
#include "wordlight/op_attrs.h"
#include "wordlight/ops.h"
#include "wordlight/shape.h"

namespace wordlight {

namespace gpu {
class DeviceTape;
}

struct Var {
  int id = -1;
  bool valid() const { return id >= 0; }
};

// Layer-wise relevance propagation as a backward mode (Graph::lrp_backward,
// core/src/autodiff/lrp_rules.cpp): the gradient-times-input trick, a
// backward pass in which ops replace their local Jacobian by an LRP rule, so
// that the relevance of any node x is value(x) * grad(x). LrpOptions holds
// one rule per op kind (a composite, in Zennit's word; the named ones are in
// core/src/explain/lrp_composites.h). The rules and the op kinds they apply to:
//   gradient         every op: its ordinary derivative (add, maxpool,
//                    softmax, slice, concat... always)
//   epsilon          linear, conv1d: z_j + eps sign z_j in the denominator;
//                    layernorm: 1/std taken as a constant, then epsilon on
//                    the remaining linear map (Ali et al. 2022, Achtibat et
//                    al. 2024)
//   z_plus,          linear, conv1d: positive / negative parts of x_i w_ij,
//   alpha_beta       the bias's part included in z+ / z- (z-plus is alpha
//                    1, beta 0)
//   identity         unary: relevance passes unchanged (relu, gelu, tanh;
//                    d/dx replaced by f(x)/x)
//   uniform, gate    mul (binary) and matmul of two non-constant factors:
//                    uniform: each factor gets half; gate: the first factor
//                    is a gate and gets nothing, signal-take-all of Arras
//                    et al. 2017 (a product with a constant: gradient)
//   attnlrp, cp_lrp  attention: attnlrp: uniform on q.k and on P v, softmax
//                    by its own gradient rule (AttnLRP); cp_lrp: P detached
//                    (CP-LRP)
enum class LrpRule : uint8_t { gradient, epsilon, z_plus, alpha_beta, identity, uniform, gate, attnlrp, cp_lrp };
constexpr int kLrpRules = static_cast<int>(LrpRule::cp_lrp) + 1;
constexpr int kOpKinds = static_cast<int>(OpKind::pick) + 1;
// "epsilon", "z-plus", "alpha-beta", "identity", "uniform", "gate",
// "attnlrp", "cp-lrp", "gradient"
const char* lrp_rule_name(LrpRule r);
// Whether op kind k has rule r (see above; every kind has gradient).
bool lrp_rule_applies(OpKind k, LrpRule r);
struct LrpOptions {
  // The rules of the default: epsilon on linear, conv1d and layernorm,
  // identity on unary, uniform on products, attnlrp on attention.
  LrpOptions() {
    for (LrpRule& r : rules) r = LrpRule::gradient;
    set({OpKind::linear, OpKind::conv1d, OpKind::layernorm}, LrpRule::epsilon);
    set({OpKind::unary}, LrpRule::identity);
    set({OpKind::binary, OpKind::matmul}, LrpRule::uniform);
    set({OpKind::attention}, LrpRule::attnlrp);
  }
  // Every op kind by its gradient (the table a composite fills in).
  static LrpOptions all_gradient() {
    LrpOptions o;
    for (LrpRule& r : o.rules) r = LrpRule::gradient;
    return o;
  }
  LrpRule operator[](OpKind k) const { return rules[static_cast<int>(k)]; }
  // Sets the rule of each op kind listed; throws wordlight::Error if one of
  // them does not have that rule.
  LrpOptions& set(std::initializer_list<OpKind> ks, LrpRule r) {
    for (OpKind k : ks) {
      if (!lrp_rule_applies(k, r))
        throw Error(std::string("lrp: rule ") + lrp_rule_name(r) + " does not apply to op " + op_name(k));
      rules[static_cast<int>(k)] = r;
    }
    return *this;
  }
  LrpRule rules[kOpKinds];
  double epsilon = 1e-6;       // epsilon rule; 0 = LRP-0 (gradient x input on ReLU nets)
  double alpha = 1, beta = 0;  // alpha-beta
};
// Throws wordlight::Error, as lrp_backward does, when epsilon < 0 or a
// rule is set on an op kind it does not apply to.
void check_lrp_options(const LrpOptions& o);
// Where relevance leaves the LRP pass: an op whose input relevances
// (sum over its inputs x of x * its share of G(x)) sum to less or more
// than its output's relevance y * G(y) absorbed the difference.
//   bias             the bias of a linear / conv1d layer (epsilon rule: b s;
//                    z-plus / alpha-beta: whatever the rule did not pass on)
//   epsilon          the epsilon stabiliser (linear, conv1d, layernorm)
//   layernorm_shift  LayerNorm's beta
//   softmax          the softmax's Taylor remainder: R(p) - R(s) inside an
//                    attention op (AttnLRP) or a softmax op
//   constant_input   an add/mul whose other operand needs no gradient (a
//                    position or token-type embedding): its x * G
//   other            any other op (none in the shipped models)
// The records with the word inputs' relevance sum to the output's
// relevance (sum over y of seed * y).
enum class LrpSink : uint8_t { bias, epsilon, layernorm_shift, softmax, constant_input, other };
struct LrpAbsorbed {
  int node = -1;                   // the op's node id (Var::id)
  OpKind op = OpKind::leaf;        // its kind
  LrpSink sink = LrpSink::other;
  OpKind constant_op = OpKind::leaf;  // constant_input: the kind of the constant operand's node
  double relevance = 0;
};
// Splits what one op absorbed (total: its output's relevance minus what its
// inputs took) into the records above, skipping zeros: eps is the epsilon
// stabiliser's part when the op ran the epsilon rule (eps_rule);
// has_constant: an input took no relevance (constant_op its kind). Used by
// lrp_backward and by the device tape's account (device_tape.h).
void lrp_record_absorbed(int node, OpKind op, double total, double eps, bool eps_rule, OpKind constant_op,
                         bool has_constant, std::vector<LrpAbsorbed>& out);

template <class T>
class Graph {
 public:
  explicit Graph(Backend be = Backend::fast);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  Backend backend() const { return be_; }
  void set_backend(Backend be) { be_ = be; }
  // Dropout is applied only while training.
  bool training = false;
  // > 0: every relu built on this graph is built as softplus of this
  // temperature instead (log(1 + exp(beta x)) / beta). ReLU nets have zero
  // second derivatives almost everywhere; Integrated Hessians smooths them
  // this way at explanation time, without retraining.
  double relu_softplus_beta = 0;
  // Whether parameter() leaves require gradients (training) or not
  // (explanations need gradients w.r.t. inputs only, which is cheaper).
  bool params_require_grad = false;
  // What the tape keeps. all (the default): every value, saved buffer and
  // gradient stays readable until clear(). gradients: for callers that read
  // only values they name and the leaves' gradients after one backward()
  // (Integrated Gradients' batches: ModelTarget::eval): the tape frees each
  // value as soon as no later forward op and no backward rule reads it, as
  // PyTorch's autograd saves only what backward needs (a linear's input
  // when its weight needs no gradient, a residual add: nothing; GELU its
  // input and output, softmax its output, LayerNorm its input and
  // statistics, attention q, k, v and the probabilities), and reuses the
  // memory (Arena::release). Freeing happens at forward_boundary() calls
  // (the models make one after each block) and during backward(), which
  // frees each node's gradient, saved buffers and value once the pass is
  // past it. Afterwards value() and grad() are null for freed nodes, and
  // lrp_backward, the tangent passes and a second backward() throw. The
  // numbers are the same bit for bit: only where buffers live changes. A
  // deferred graph (device tape) ignores this.
  enum class Retain : uint8_t { all, gradients };
  Retain retain = Retain::all;
  // Retain::gradients: no op recorded after this call reads the value of a
  // node recorded before it, except the nodes in `live` (and the caller
  // reads no other value of them): frees every such value that no backward
  // rule of a recorded op reads. Leaves are kept. Retain::all: does nothing.
  void forward_boundary(std::initializer_list<Var> live);
  // Seeds for the dropout ops of a training pass: set_dropout_seed once per
  // step, then each model dropout takes the next one.
  void set_dropout_seed(uint64_t s) { dropout_seed_ = s; }
  uint64_t next_dropout_seed() { return dropout_seed_++; }

  // ------------------------------------------------------------ leaves
  // Copies `data` into the graph.
  Var input(const Shape& s, const T* data, bool requires_grad = true);
  // References external memory (model weights) without copying; `packed`
  // (float only) is the weight packed at load time for linear().
  Var parameter(const Shape& s, const T* data, const PackedLinear* packed = nullptr);
  Var constant(const Shape& s, const T* data);

  // ------------------------------------------------------------ ops
  // x: (..., I), w: (O, I), b: (O) or invalid -> (..., O)
  Var linear(Var x, Var w, Var b = Var{});
  // a: (batch..., M, K) (or (.., K, M) if ta), b: (batch..., K, N) (or (.., N, K) if tb)
  Var matmul(Var a, Var b, bool ta = false, bool tb = false);
  // table: (V, D); ids of shape ids_shape -> ids_shape + (D,)
  Var embedding(Var table, const int32_t* ids, const Shape& ids_shape);
  // x: (B, T, Cin), w: (Cout, W, Cin), b: (Cout) or invalid -> (B, T + 2 pad - W + 1, Cout)
  Var conv1d(Var x, Var w, Var b, int64_t pad = 0);
  // x: (B, T, C) -> (B, (T - window) / stride + 1, C)
  Var maxpool(Var x, int64_t window, int64_t stride);
  Var max_over_time(Var x);  // window = T: (B, T, C) -> (B, 1, C)
  Var unary(Var x, ops::UnaryParams p);
  Var relu(Var x) { return unary(x, {ops::Unary::relu, 1.0}); }
  Var gelu(Var x) { return unary(x, {ops::Unary::gelu, 1.0}); }
  Var tanh(Var x) { return unary(x, {ops::Unary::tanh, 1.0}); }
  Var sigmoid(Var x) { return unary(x, {ops::Unary::sigmoid, 1.0}); }
  Var softplus(Var x, double beta) { return unary(x, {ops::Unary::softplus, beta}); }
  // a op b with numpy broadcasting (add, mul)
  Var binary(Var a, Var b, ops::Binary op);
  Var add(Var a, Var b) { return binary(a, b, ops::Binary::add); }
  Var mul(Var a, Var b) { return binary(a, b, ops::Binary::mul); }
  Var scale(Var x, T s);
  Var softmax(Var x);      // over the last dim
  Var log_softmax(Var x);  // over the last dim
  // logits: (..., C), labels: numel / C of them -> scalar weighted mean
  Var cross_entropy(Var logits, const int32_t* labels, const T* class_weights = nullptr);
  // over the last dim; beta may be invalid
  Var layernorm(Var x, Var gamma, Var beta, T eps);
  // q, k, v: (B, T, H*Dh); key_mask: (B, T) of 1 = real token, or null;
  // causal: query i attends to keys j <= i only (decoders)
  Var attention(Var q, Var k, Var v, int64_t heads, const uint8_t* key_mask = nullptr, bool causal = false);
  Var dropout(Var x, double p, uint64_t seed);
  Var concat(const std::vector<Var>& xs, int axis);
  Var slice(Var x, int axis, int64_t start, int64_t end);
  Var reshape(Var x, const Shape& s);  // a view: shares the value buffer
  Var sum(Var x);                      // -> scalar, shape ()
  // x: (..., C), index: numel / C entries -> (...): y[r] = x[r, index[r]]
  Var pick(Var x, const int32_t* index);

  // ------------------------------------------------------------ layer marks
  // Models mark the outputs of their layers as they build the forward pass,
  // so that neuron and layer relevance can read (and seed) any layer by
  // name. `position` is the token position the variable belongs to when it
  // holds one position only (a recurrent state, (B, H)); -1 when it holds
  // every position along axis 1 ((B, T, C)) or none ((B, C)). Marks cost a
  // name per layer and are dropped by clear().
  struct Mark {
    std::string layer;
    Var v;
    int position = -1;
  };
  void mark(const std::string& layer, Var v, int position = -1) { marks_.push_back({layer, v, position}); }
  const std::vector<Mark>& marks() const { return marks_; }

  // ------------------------------------------------------------ access
  const Shape& shape(Var v) const { return node(v).shape; }
  int64_t numel(Var v) const { return node(v).shape.numel(); }
  // Null for a value that Retain::gradients freed.
  const T* value(Var v) const { return node(v).value; }
  T* mutable_value(Var v) { return node(v).value; }
  // Null when the node has no gradient (does not require one, or backward()
  // has not reached it).
  const T* grad(Var v) const { return node(v).grad; }
  const T* tangent(Var v) const { return node(v).tangent; }
  const T* grad_tangent(Var v) const { return node(v).grad_tangent; }
  bool requires_grad(Var v) const { return node(v).requires_grad; }
  // The node's op, its inputs in order (concat: every part; an absent
  // optional input before a present one is an invalid Var, absent trailing
  // ones, such as a missing bias, are left out) and its named
  // attributes (op_attrs.h): attrs<LinearAttrs>(v) throws unless v is a linear.
  OpKind op(Var v) const { return node(v).op; }
  std::vector<Var> inputs(Var v) const;
  template <class A>
  const A& attrs(Var v) const { return node(v).template attr<A>(); }
  // Training: adds into out (n values) the gradient of every parameter()
  // node whose data lies inside [data, data + n), at its offset there. A
  // weight can appear in several nodes (the masked-LM decoder tied to the
  // word embeddings, a row of a table used as a bias), and the optimiser
  // needs their sum. Returns whether any such node had a gradient. Needs
  // backward() with params_require_grad set before the parameters were made.
  bool accumulate_parameter_grad(const T* data, int64_t n, T* out) const;
  int tangent_directions() const { return K_; }
  int size() const { return static_cast<int>(nodes_.size()); }

  // ------------------------------------------------------------ passes
  // seed: dL/dy, numel(y) values; null = ones. Gradients of earlier passes
  // are discarded.
  void backward(Var y, const T* seed = nullptr);
  // The LRP backward mode (see LrpOptions): afterwards value(x) * grad(x) is
  // the relevance of x for the output y weighted by `seed` (null = ones).
  // With `absorbed`, also appends one record per op and sink that absorbed
  // relevance (see LrpAbsorbed; costs two dot products per op input).
  void lrp_backward(Var y, const LrpOptions& o, const T* seed = nullptr, std::vector<LrpAbsorbed>* absorbed = nullptr);
  // Seeds the K-direction tangent (K, numel(leaf)) of a leaf; all seeded
  // leaves share the same K. Copies `d`.
  void set_tangent(Var leaf, int K, const T* d);
  // Propagates tangents from the seeded leaves to every node after them.
  void forward_tangent();
  // Needs backward(y) and forward_tangent() first; the tangent of the seed
  // is taken as zero (the seed does not depend on the inputs).
  void backward_tangent(Var y);
  // Drops every tangent (and K), so a new set of directions can be seeded
  // on the same forward pass.
  void clear_tangents();

  // Forget the tape; keep the arena's memory for the next pass.
  void clear();

  // Whether the nodes' values live on a device (gpu::DeviceTape, wordlight/
  // device_tape.h, sets this): the op builders then record nodes without
  // computing them, the tape runs the passes, and the CPU passes refuse the
  // graph until the tape brings it to the host.
  bool deferred() const { return deferred_; }
  size_t arena_bytes_reserved() const { return arena_.bytes_reserved(); }
  // Bytes of the arena handed out since clear() (a released buffer that
  // was taken again counts once: the pass's footprint), and of those the
  // ones that hold live buffers (not released).
  size_t arena_bytes_used() const { return arena_.bytes_in_use(); }
  size_t arena_bytes_live() const { return arena_.bytes_in_use() - arena_.bytes_free(); }

 private:
  struct Node {
    OpKind op = OpKind::leaf;
    Shape shape;
    int in[3] = {-1, -1, -1};
    int multi_begin = 0, multi_count = 0;  // concat inputs in multi_
    bool requires_grad = false;
    bool gt_live = false;  // grad_tangent may be nonzero
    T* value = nullptr;
    T* grad = nullptr;
    T* tangent = nullptr;
    T* grad_tangent = nullptr;
    // saved for the derivative passes
    T* saved = nullptr;   // softmax/probs, layernorm mean, attention probs
    T* saved2 = nullptr;  // layernorm rstd, attention dprobs
    int64_t saved_n = 0, saved2_n = 0;  // their sizes (Retain::gradients frees them)
    int32_t* ints = nullptr;  // argmax, labels, ids, index
    uint8_t* bytes = nullptr;  // dropout mask, attention key mask
    const T* class_w = nullptr;
    const PackedLinear* packed = nullptr;
    bool external = false;  // a parameter(): value references memory the graph does not own
    OpAttrs attrs;  // the op's struct (op_attrs.h)
    template <class A>
    const A& attr() const { return op_attrs<A>(op, attrs); }
  };

  Node& node(Var v);
  const Node& node(Var v) const;
  Var push(Node&& n);
  T* alloc(int64_t n, bool zero = false) { return arena_.alloc<T>(static_cast<size_t>(n), zero); }
  void check_same_graph(Var v, const char* op) const;
  void check_on_host(const char* pass) const;
  void run_tangent(Node& n);
  void run_backward(Node& n);
  void run_lrp_backward(Node& n, const LrpOptions& o);  // lrp_rules.cpp
  void lrp_account(int id, const LrpOptions& o, std::vector<LrpAbsorbed>& out);  // lrp_rules.cpp
  void run_backward_tangent(Node& n);
  T* ensure_grad(int id);
  // Retain::gradients: what op n's backward reads (its input j's value, its
  // own value), given which of its operands require a gradient.
  bool backward_reads_input(const Node& n, int j) const;
  bool backward_reads_output(const Node& n) const;
  void free_value(Node& n);
  void free_after_backward(int id, int y);
  void check_values_kept(const char* pass) const;
  T* ensure_grad_tangent(int id);

  Backend be_;
  Arena arena_;
  std::vector<Node> nodes_;
  std::vector<Mark> marks_;
  std::vector<int> multi_;
  int K_ = 0;
  uint64_t dropout_seed_ = 0;
  bool have_grads_ = false, have_tangents_ = false;
  bool deferred_ = false;
  bool freed_ = false;   // Retain::gradients freed some value
  bool spent_ = false;   // ... and ran its one backward()
  friend class gpu::DeviceTape;  // runs the passes of a deferred graph on a device
};

// Exact Hessian-vector products of a scalar output y with respect to a leaf
// x for K directions V (K, numel(x)), by forward-over-reverse on a graph
// that already holds the forward pass. Writes HV (K, numel(x)) and, if
// given, the gradient (numel(x)).
template <class T>
void hessian_vector_products(Graph<T>& g, Var y, Var x, int K, const T* V, T* HV, T* grad = nullptr);

}  // namespace wordlight
