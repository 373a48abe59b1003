// Layer-wise relevance propagation as a backward mode of the tape: the rules
// that replace an op's local Jacobian (see LrpOptions in graph.h; the named
// tables of rules, the composites, are in explain/lrp_composites.cpp). The "gradient x input" trick (Zennit, LXT): the
// pass carries a modified gradient G, and the relevance of a node x is
// R(x) = value(x) * G(x). An op whose rule is a linear redistribution of its
// output relevance R(y) = y * G(y) onto its inputs then only has to write
// G(x) so that x * G(x) is the rule's R(x):
//
//   epsilon on y = W x + b      G(x) = W^T (G(y) * y / (y + eps sign y))
//   alpha-beta (z-plus: 1, 0)   with z+ = W+ x+ + W- x- + b+, z- = W- x+ + W+ x- + b-,
//                               s+ = alpha R(y) / z+, s- = beta R(y) / z-:
//                               x > 0: G(x) = W+^T s+ - W-^T s-
//                               x < 0: G(x) = W-^T s+ - W+^T s-
//   identity on y = f(x)        G(x) = G(y) * f(x) / x
//   uniform on y = a * b        G(a) = G(y) * b / 2, G(b) = G(y) * a / 2
//   gate (signal-take-all)      G(gate) = 0, G(signal) = G(y) * gate
//
// The ordinary backward() is not touched: this is a separate pass that
// falls back to run_backward() for every op whose rule is `gradient`.
#include <algorithm>
#include <cmath>
#include <vector>

#include "wordlight/graph.h"

namespace wordlight {

namespace {

template <class T>
T safe_div(T a, T b) {
  return b == T(0) ? T(0) : a / b;
}

// A layer y = f(x, W) + b that is linear in x for fixed W (linear, conv1d):
// fwd(x, W, out) overwrites out with f(x, W); bwd(s, W, gx) adds f_x^T s.
template <class T, class Fwd, class Bwd>
void alpha_beta(int64_t nx, int64_t ny, int64_t nw, int64_t ob, const T* x, const T* w, const T* b, const T* y,
                const T* gy, double alpha, double beta, T* gx, Fwd fwd, Bwd bwd) {
  // ob: outputs per bias entry period (the bias index is j % nb, nb = bias length)
  std::vector<T> xp(nx), xn(nx), wp(nw), wn(nw);
  bool any_neg = false;  // inputs after a ReLU have none: half the work goes
  for (int64_t i = 0; i < nx; ++i) {
    xp[i] = std::max(x[i], T(0));
    xn[i] = std::min(x[i], T(0));
    any_neg = any_neg || x[i] < 0;
  }
  for (int64_t i = 0; i < nw; ++i) {
    wp[i] = std::max(w[i], T(0));
    wn[i] = std::min(w[i], T(0));
  }
  std::vector<T> zp(ny), zn(ny), tmp(ny);
  fwd(xp.data(), wp.data(), zp.data());
  if (any_neg) fwd(xn.data(), wn.data(), tmp.data());
  for (int64_t j = 0; j < ny; ++j) zp[j] += (any_neg ? tmp[j] : T(0)) + (b ? std::max(b[j % ob], T(0)) : T(0));
  const bool with_beta = beta != 0;
  if (with_beta) {
    fwd(xp.data(), wn.data(), zn.data());
    if (any_neg) fwd(xn.data(), wp.data(), tmp.data());
    for (int64_t j = 0; j < ny; ++j) zn[j] += (any_neg ? tmp[j] : T(0)) + (b ? std::min(b[j % ob], T(0)) : T(0));
  }
  std::vector<T> sp(ny), sn(ny, T(0));
  for (int64_t j = 0; j < ny; ++j) {
    const T r = y[j] * gy[j];
    sp[j] = static_cast<T>(alpha) * safe_div(r, zp[j]);
    if (with_beta) sn[j] = static_cast<T>(beta) * safe_div(r, zn[j]);
  }
  // x > 0 reads W+^T s+ - W-^T s-, x < 0 reads W-^T s+ - W+^T s-.
  std::vector<T> a(nx, T(0)), c(nx, T(0));
  bwd(sp.data(), wp.data(), a.data());
  if (any_neg) bwd(sp.data(), wn.data(), c.data());
  if (with_beta) {
    for (int64_t j = 0; j < ny; ++j) sn[j] = -sn[j];
    bwd(sn.data(), wn.data(), a.data());
    if (any_neg) bwd(sn.data(), wp.data(), c.data());
  }
  for (int64_t i = 0; i < nx; ++i) gx[i] += x[i] > 0 ? a[i] : x[i] < 0 ? c[i] : T(0);
}

}  // namespace

const char* lrp_rule_name(LrpRule r) {
  switch (r) {
    case LrpRule::gradient: return "gradient";
    case LrpRule::epsilon: return "epsilon";
    case LrpRule::z_plus: return "z-plus";
    case LrpRule::alpha_beta: return "alpha-beta";
    case LrpRule::identity: return "identity";
    case LrpRule::uniform: return "uniform";
    case LrpRule::gate: return "gate";
    case LrpRule::attnlrp: return "attnlrp";
    case LrpRule::cp_lrp: return "cp-lrp";
  }
  return "?";
}

bool lrp_rule_applies(OpKind k, LrpRule r) {
  switch (r) {
    case LrpRule::gradient: return true;
    case LrpRule::epsilon: return k == OpKind::linear || k == OpKind::conv1d || k == OpKind::layernorm;
    case LrpRule::z_plus:
    case LrpRule::alpha_beta: return k == OpKind::linear || k == OpKind::conv1d;
    case LrpRule::identity: return k == OpKind::unary;
    case LrpRule::uniform:
    case LrpRule::gate: return k == OpKind::binary || k == OpKind::matmul;
    case LrpRule::attnlrp:
    case LrpRule::cp_lrp: return k == OpKind::attention;
  }
  return false;
}

void check_lrp_options(const LrpOptions& o) {
  if (!(o.epsilon >= 0)) throw Error("lrp_backward: epsilon must be >= 0");
  for (int k = 0; k < kOpKinds; ++k)
    if (!lrp_rule_applies(static_cast<OpKind>(k), o.rules[k]))
      throw Error(std::string("lrp_backward: rule ") + lrp_rule_name(o.rules[k]) + " does not apply to op " +
                  op_name(static_cast<OpKind>(k)));
}

void lrp_record_absorbed(int node, OpKind op, double total, double eps, bool eps_rule, OpKind constant_op,
                         bool has_constant, std::vector<LrpAbsorbed>& out) {
  auto add = [&](LrpSink sink, double r) {
    LrpAbsorbed a;
    a.node = node;
    a.op = op;
    a.sink = sink;
    a.relevance = r;
    if (sink == LrpSink::constant_input) a.constant_op = constant_op;
    out.push_back(a);
  };
  switch (op) {
    case OpKind::linear:
    case OpKind::conv1d:
    case OpKind::layernorm: {
      const LrpSink rest = op == OpKind::layernorm ? LrpSink::layernorm_shift : LrpSink::bias;
      if (eps_rule) {
        if (eps != 0) add(LrpSink::epsilon, eps);
        if (total - eps != 0) add(rest, total - eps);
      } else if (total != 0) {
        add(rest, total);
      }
      break;
    }
    case OpKind::attention:
    case OpKind::softmax:
      if (total != 0) add(LrpSink::softmax, total);
      break;
    case OpKind::binary:
      if (total != 0) add(has_constant ? LrpSink::constant_input : LrpSink::other, total);
      break;
    default:
      if (total != 0) add(LrpSink::other, total);
      break;
  }
}

template <class T>
void Graph<T>::lrp_backward(Var y, const LrpOptions& o, const T* seed, std::vector<LrpAbsorbed>* absorbed) {
  check_on_host("lrp_backward");
  check_values_kept("lrp_backward");
  Node& out = node(y);
  if (!out.requires_grad)
    throw Error("lrp_backward: the output does not depend on any input or parameter that requires a gradient");
  check_lrp_options(o);
  for (auto& n : nodes_) {
    n.grad = nullptr;
    n.grad_tangent = nullptr;
  }
  T* g = ensure_grad(y.id);
  const int64_t ny = out.shape.numel();
  for (int64_t j = 0; j < ny; ++j) g[j] = seed ? seed[j] : T(1);
  for (int id = y.id; id >= 0; --id) {
    Node& n = nodes_[id];
    if (!n.grad || n.op == OpKind::leaf) continue;
    if (absorbed)
      lrp_account(id, o, *absorbed);
    else
      run_lrp_backward(n, o);
  }
  have_grads_ = false;  // not a derivative: backward_tangent must not build on it
}

template <class T>
void Graph<T>::run_lrp_backward(Node& n, const LrpOptions& o) {
  auto val = [&](int j) -> const T* { return n.in[j] >= 0 ? nodes_[n.in[j]].value : nullptr; };
  auto wants = [&](int j) { return n.in[j] >= 0 && nodes_[n.in[j]].requires_grad; };
  auto gin = [&](int j) -> T* { return wants(j) ? ensure_grad(n.in[j]) : nullptr; };
  const T* gy = n.grad;
  const int64_t ny = n.shape.numel();
  const Backend be = be_;
  // s = G(y) * y / (y + eps sign y)
  auto eps_scaled = [&]() {
    T* s = alloc(ny);
    const T e = static_cast<T>(o.epsilon);
    const T* y = n.value;
    if (o.epsilon == 0)
      std::copy(gy, gy + ny, s);
    else
      for (int64_t j = 0; j < ny; ++j) s[j] = gy[j] * y[j] / (y[j] + (y[j] >= T(0) ? e : -e));
    return s;
  };
  auto halved = [&]() {
    T* s = alloc(ny);
    for (int64_t j = 0; j < ny; ++j) s[j] = gy[j] * T(0.5);
    return s;
  };
  const LrpRule rule = o[n.op];
  if (rule == LrpRule::gradient) {
    run_backward(n);
    return;
  }
  switch (n.op) {
    case OpKind::linear: {
      T* gx = gin(0);
      if (!gx) break;
      const auto& la = n.template attr<LinearAttrs>();
      const int64_t R = la.R, I = la.I, O = la.O;
      if (rule == LrpRule::epsilon) {
        ops::linear_backward<T>(be, R, I, O, val(0), val(1), eps_scaled(), gx, nullptr, nullptr, n.packed);
      } else {
        const double a = rule == LrpRule::z_plus ? 1.0 : o.alpha, b = rule == LrpRule::z_plus ? 0.0 : o.beta;
        alpha_beta<T>(
            R * I, R * O, O * I, O, val(0), val(1), val(2), n.value, gy, a, b, gx,
            [&](const T* x, const T* w, T* out) { ops::linear_forward<T>(be, R, I, O, x, w, nullptr, out); },
            [&](const T* s, const T* w, T* g) {
              ops::linear_backward<T>(be, R, I, O, nullptr, w, s, g, nullptr, nullptr);
            });
      }
      break;
    }
    case OpKind::conv1d: {
      T* gx = gin(0);
      if (!gx) break;
      const auto& d = n.template attr<ops::Conv1dDims>();
      if (rule == LrpRule::epsilon) {
        ops::conv1d_backward<T>(be, d, val(0), val(1), eps_scaled(), gx, nullptr, nullptr);
      } else {
        const double a = rule == LrpRule::z_plus ? 1.0 : o.alpha, b = rule == LrpRule::z_plus ? 0.0 : o.beta;
        const T* x = val(0);
        alpha_beta<T>(
            d.B * d.T * d.Cin, ny, d.Cout * d.W * d.Cin, d.Cout, x, val(1), val(2), n.value, gy, a, b, gx,
            [&](const T* xx, const T* w, T* out) { ops::conv1d_forward<T>(be, d, xx, w, nullptr, out); },
            [&](const T* s, const T* w, T* g) { ops::conv1d_backward<T>(be, d, x, w, s, g, nullptr, nullptr); });
      }
      break;
    }
    case OpKind::unary: {
      T* gx = gin(0);
      if (!gx) break;
      const T* x = val(0);
      const auto& u = n.template attr<ops::UnaryParams>();
      if (u.kind == ops::Unary::relu) {  // relu(x) / x is its derivative
        for (int64_t j = 0; j < ny; ++j) gx[j] += x[j] > T(0) ? gy[j] : T(0);
        break;
      }
      T d0 = 0, d2 = 0;
      ops::unary_derivatives<T>(u, T(0), &d0, &d2);
      for (int64_t j = 0; j < ny; ++j) gx[j] += gy[j] * (x[j] != T(0) ? n.value[j] / x[j] : d0);
      break;
    }
    case OpKind::binary:
      if (n.template attr<BinaryAttrs>().op == ops::Binary::mul && wants(0) && wants(1)) {
        const Shape &as = nodes_[n.in[0]].shape, &bs = nodes_[n.in[1]].shape;
        if (rule == LrpRule::gate)
          ops::binary_backward<T>(be, ops::Binary::mul, as, bs, val(0), val(1), gy, nullptr, gin(1));
        else
          ops::binary_backward<T>(be, ops::Binary::mul, as, bs, val(0), val(1), halved(), gin(0), gin(1));
      } else {
        run_backward(n);
      }
      break;
    case OpKind::matmul:
      if (wants(0) && wants(1)) {
        const auto& md = n.template attr<ops::MatmulDims>();
        if (rule == LrpRule::gate)
          ops::matmul_backward<T>(be, md, val(0), val(1), gy, nullptr, gin(1));
        else
          ops::matmul_backward<T>(be, md, val(0), val(1), halved(), gin(0), gin(1));
      } else {
        run_backward(n);
      }
      break;
    case OpKind::layernorm: {
      // y = gamma * rstd * (x - mean x) + beta with rstd a constant: a linear
      // map, its transpose applied to the epsilon-scaled G(y).
      T* gx = gin(0);
      if (!gx) break;
      const auto& ln = n.template attr<LayernormAttrs>();
      const int64_t R = ln.R, C = ln.C;
      const T* gamma = val(1);
      const T* s = eps_scaled();
      std::vector<T> u(static_cast<size_t>(C));
      for (int64_t r = 0; r < R; ++r) {
        const T rstd = n.saved2[r];
        T mean = 0;
        for (int64_t c = 0; c < C; ++c) {
          u[c] = gamma[c] * rstd * s[r * C + c];
          mean += u[c];
        }
        mean /= static_cast<T>(C);
        for (int64_t c = 0; c < C; ++c) gx[r * C + c] += u[c] - mean;
      }
      break;
    }
    case OpKind::attention: {
      const auto& d = n.template attr<ops::AttentionDims>();
      if (rule == LrpRule::cp_lrp) {
        // P detached: out = P v is linear in v, q and k get nothing.
        ops::attention_backward<T>(be, d, val(0), val(1), val(2), n.saved, gy, nullptr, nullptr, gin(2));
      } else {
        // AttnLRP: half of R(out) to v, half to P; P's share passes the
        // softmax by its gradient rule and splits evenly between q and k.
        T* s = halved();
        ops::attention_backward<T>(be, d, val(0), val(1), val(2), n.saved, s, nullptr, nullptr, gin(2));
        if (wants(0) || wants(1)) {
          for (int64_t j = 0; j < ny; ++j) s[j] *= T(0.5);
          ops::attention_backward<T>(be, d, val(0), val(1), val(2), n.saved, s, gin(0), gin(1), nullptr);
        }
      }
      break;
    }
    default:
      run_backward(n);
      break;
  }
}

// Runs the rule of node `id` and records what it absorbed: R(y) = sum y G(y)
// minus the relevance it hands to its inputs, each input's share measured as
// x . G(x) after the rule minus x . G(x) before (G(x) accumulates over the
// input's consumers). Split by sink: the epsilon part of a linear, conv1d or
// layernorm is sum_j G_j y_j (1 - y_j / (y_j + eps sign y_j)) (what the
// stabiliser keeps back), the rest is the bias (layernorm: its shift).
template <class T>
void Graph<T>::lrp_account(int id, const LrpOptions& o, std::vector<LrpAbsorbed>& out) {
  std::vector<int> ins;
  {
    const Node& n = nodes_[id];
    if (n.op == OpKind::concat) {
      for (int j = 0; j < n.multi_count; ++j) ins.push_back(multi_[n.multi_begin + j]);
    } else {
      for (int j = 0; j < 3; ++j) ins.push_back(n.in[j]);
    }
  }
  std::vector<int> with_grad;  // the distinct inputs that take relevance
  int constant = -1;           // an input that takes none (needs no gradient)
  for (int in : ins) {
    if (in < 0) continue;
    if (!nodes_[in].requires_grad) {
      if (constant < 0) constant = in;
      continue;
    }
    if (std::find(with_grad.begin(), with_grad.end(), in) == with_grad.end()) with_grad.push_back(in);
  }
  auto dot = [&](int k) {
    const Node& x = nodes_[k];
    double s = 0;
    if (x.grad && x.value)
      for (int64_t j = 0, m = x.shape.numel(); j < m; ++j) s += static_cast<double>(x.value[j]) * x.grad[j];
    return s;
  };
  double before = 0;
  for (int k : with_grad) before += dot(k);
  run_lrp_backward(nodes_[id], o);
  double after = 0;
  for (int k : with_grad) after += dot(k);
  const Node& n = nodes_[id];
  const double r_out = dot(id);
  const double total = r_out - (after - before);
  // What the epsilon stabiliser keeps back at this op (epsilon rule only).
  auto eps_part = [&]() {
    if (o.epsilon == 0) return 0.0;
    const double e = o.epsilon;
    double s = 0;
    for (int64_t j = 0, m = n.shape.numel(); j < m; ++j) {
      const double yj = n.value[j], sg = yj >= 0 ? e : -e;
      s += static_cast<double>(n.grad[j]) * yj * sg / (yj + sg);
    }
    return s;
  };
  const bool eps_rule = (n.op == OpKind::linear || n.op == OpKind::conv1d || n.op == OpKind::layernorm) &&
                        o[n.op] == LrpRule::epsilon;
  lrp_record_absorbed(id, n.op, total, eps_rule ? eps_part() : 0.0, eps_rule,
                      constant >= 0 ? nodes_[constant].op : OpKind::leaf, constant >= 0, out);
}

template void Graph<float>::lrp_backward(Var, const LrpOptions&, const float*, std::vector<LrpAbsorbed>*);
template void Graph<double>::lrp_backward(Var, const LrpOptions&, const double*, std::vector<LrpAbsorbed>*);
template void Graph<float>::lrp_account(int, const LrpOptions&, std::vector<LrpAbsorbed>&);
template void Graph<double>::lrp_account(int, const LrpOptions&, std::vector<LrpAbsorbed>&);
template void Graph<float>::run_lrp_backward(Node&, const LrpOptions&);
template void Graph<double>::run_lrp_backward(Node&, const LrpOptions&);

}  // namespace wordlight
