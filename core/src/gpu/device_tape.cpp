// The tape on the device (wordlight/device_tape.h): walks a deferred
// Graph<float>'s nodes (Graph::op / inputs / attrs, and the node fields a
// friend may read) and records each node's op on a gpu::Device. Only the
// public Device API is used, so this file builds with or without Vulkan
// (without it no Device can be opened, and nothing here is reached).
#include "wordlight/device_tape.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace wordlight::gpu {

// ------------------------------------------------------------ shared devices and parameters
namespace {

std::mutex g_mutex;
std::map<std::string, std::shared_ptr<Device>>& opened() {
  static std::map<std::string, std::shared_ptr<Device>> m;
  return m;
}

// A model's weights on one device: keyed by host address and size, checked
// against a sample of the values so that memory freed and reused by another
// model is not mistaken for the first.
struct ParamEntry {
  Buffer buffer;
  float sample[8];
};
struct ParamCache {
  std::weak_ptr<Device> device;
  std::map<std::pair<const float*, int64_t>, ParamEntry> entries;
};
std::mutex& device_mutex(const Device* d) {
  static std::map<const Device*, std::unique_ptr<std::mutex>> m;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto& p = m[d];
  if (!p) p = std::make_unique<std::mutex>();
  return *p;
}
std::map<const Device*, ParamCache>& param_caches() {
  static std::map<const Device*, ParamCache> m;
  return m;
}
void sample_of(const float* p, int64_t n, float* out) {
  for (int k = 0; k < 8; ++k) out[k] = n ? p[(n - 1) * k / 7] : 0.f;
}

}  // namespace

std::shared_ptr<Device> shared_device(const DeviceRequest& r, std::string* fallback_reason) {
  if (fallback_reason) fallback_reason->clear();
  if (r.kind == DeviceKind::cpu) return nullptr;
  std::lock_guard<std::mutex> lock(g_mutex);
  // The environment that decides what opens (the driver list, the memory
  // limit) is part of the key, so that a test changing it gets a new device.
  std::string key = r.str();
  for (const char* v : {"VK_ICD_FILENAMES", "WORDLIGHT_VULKAN_MEMORY_LIMIT"}) {
    const char* e = std::getenv(v);
    key += std::string("|") + (e ? e : "");
  }
  auto it = opened().find(key);
  if (it != opened().end()) return it->second;
  std::shared_ptr<Device> d;
  try {
    d = open_device(r, fallback_reason);
  } catch (const Error& e) {
    throw DeviceError(e.what());
  }
  if (d) opened()[key] = d;
  return d;
}

namespace {
Buffer cached_parameter(const std::shared_ptr<Device>& dev, const float* host, int64_t n, int64_t* uploads) {
  std::lock_guard<std::mutex> lock(g_mutex);
  ParamCache& c = param_caches()[dev.get()];
  if (c.device.expired() || c.device.lock() != dev) {
    c.entries.clear();
    c.device = dev;
  }
  float s[8];
  sample_of(host, n, s);
  auto it = c.entries.find({host, n});
  if (it != c.entries.end() && std::memcmp(it->second.sample, s, sizeof s) == 0) return it->second.buffer;
  ParamEntry e;
  e.buffer = dev->alloc(std::max<int64_t>(n, 1));
  if (n) dev->upload(e.buffer, host, n);
  std::memcpy(e.sample, s, sizeof s);
  c.entries[{host, n}] = e;
  ++*uploads;
  return e.buffer;
}
}  // namespace

// ------------------------------------------------------------ the tape
struct DeviceTape::State {
  int done = 0;  // nodes run forward
  std::vector<Buffer> value, saved, saved2, ints, grad;
  std::vector<Buffer> taken;  // from the pool, returned at attach()
};

DeviceTape::DeviceTape(std::shared_ptr<Device> device) : device_(std::move(device)) {
  if (!device_) throw Error("DeviceTape: no device");
  lock_ = std::unique_lock<std::mutex>(device_mutex(device_.get()));
}
DeviceTape::~DeviceTape() = default;

std::string DeviceTape::device_name() const {
  const DeviceInfo& i = device_->info();
  return "vulkan:" + std::to_string(i.index) + " (" + i.name + ")";
}

DeviceTape::State& DeviceTape::state(Graph<float>& g) {
  auto& p = states_[&g];
  if (!p) p = std::make_unique<State>();
  return *p;
}

Buffer DeviceTape::take(int64_t n, bool zero) {
  n = std::max<int64_t>(n, 4);  // a buffer holds at least 16 bytes (Buffer::size() says so)
  auto& free = pool_[n];
  Buffer b;
  if (!free.empty()) {
    b = free.back();
    free.pop_back();
    if (zero) device_->fill(b, n, 0.f);
  } else {
    b = device_->alloc(n, zero);
  }
  return b;
}

void DeviceTape::release(State& s) {
  for (Buffer& b : s.taken) pool_[b.size()].push_back(b);
  s = State{};
}

void DeviceTape::attach(Graph<float>& g) {
  g.clear();
  g.deferred_ = true;
  release(state(g));
}

namespace {
template <class F>
auto on_device(const DeviceTape& t, const char* what, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const DeviceError&) {
    throw;
  } catch (const Error& e) {
    throw DeviceError(std::string(what) + " on " + t.device_name() + ": " + e.what());
  }
}
}  // namespace

void DeviceTape::host_value(Graph<float>& g, State& s, int id) {
  auto& n = g.nodes_[static_cast<size_t>(id)];
  if (n.external || !s.value[id].valid() || !n.value) return;
  device_->download(s.value[id], n.value, n.shape.numel());
  ++stats_.downloads;
}

Buffer& DeviceTape::grad(Graph<float>& g, State& s, int id) {
  if (!s.grad[id].valid()) {
    s.grad[id] = take(g.nodes_[static_cast<size_t>(id)].shape.numel(), true);
    s.taken.push_back(s.grad[id]);
  }
  return s.grad[id];
}

void DeviceTape::forward(Graph<float>& g, const std::vector<Var>& read) {
  on_device(*this, "forward", [&] {
    if (!g.deferred_) throw Error("DeviceTape::forward: the graph is not attached to this tape");
    State& s = state(g);
    const int N = g.size();
    for (auto* v : {&s.value, &s.saved, &s.saved2, &s.ints, &s.grad}) v->resize(static_cast<size_t>(N));
    // Uploads first (each flushes the recorded work), then one recording.
    for (int id = s.done; id < N; ++id) {
      auto& n = g.nodes_[static_cast<size_t>(id)];
      const int64_t m = n.shape.numel();
      if (n.op == OpKind::leaf) {
        if (n.external) {
          s.value[id] = cached_parameter(device_, n.value, m, &stats_.uploads);
        } else {
          s.value[id] = take(m, false);
          s.taken.push_back(s.value[id]);
          if (m) device_->upload(s.value[id], n.value, m);
          ++stats_.uploads;
        }
      } else if (n.op == OpKind::embedding || n.op == OpKind::pick) {
        const int64_t k = n.op == OpKind::pick ? n.template attr<PickAttrs>().R : n.template attr<EmbeddingAttrs>().n_ids;
        s.ints[id] = take(k, false);
        s.taken.push_back(s.ints[id]);
        if (k) device_->upload(s.ints[id], n.ints, k);
        ++stats_.uploads;
      } else if (n.op == OpKind::attention && n.bytes) {
        const auto& d = n.template attr<ops::AttentionDims>();
        std::vector<int32_t> mask(n.bytes, n.bytes + d.B * d.T);
        s.ints[id] = take(d.B * d.T, false);
        s.taken.push_back(s.ints[id]);
        device_->upload(s.ints[id], mask.data(), d.B * d.T);
        ++stats_.uploads;
      }
    }
    for (int id = s.done; id < N; ++id)
      if (g.nodes_[static_cast<size_t>(id)].op != OpKind::leaf) run_forward_node(g, s, id);
    s.done = N;
    for (Var v : read) {
      g.node(v);  // throws for a variable of another graph
      host_value(g, s, v.id);
    }
  });
}

// ------------------------------------------------------------ forward, one node
void DeviceTape::run_forward_node(Graph<float>& g, State& s, int id) {
  auto& n = g.nodes_[static_cast<size_t>(id)];
  Device& d = *device_;
  const int64_t m = n.shape.numel();
  auto V = [&](int j) -> const Buffer& { return s.value[static_cast<size_t>(n.in[j])]; };
  auto Vopt = [&](int j) -> const Buffer* { return n.in[j] >= 0 ? &s.value[static_cast<size_t>(n.in[j])] : nullptr; };
  auto shape = [&](int j) { return g.nodes_[static_cast<size_t>(n.in[j])].shape; };
  auto out = [&](int64_t k) {
    Buffer b = take(k, false);
    s.taken.push_back(b);
    return b;
  };
  if (n.op == OpKind::reshape) {  // a view: the same buffer
    s.value[id] = V(0);
    return;
  }
  if (n.op == OpKind::matmul || n.op == OpKind::cross_entropy || n.op == OpKind::dropout) {
    cpu_node(g, s, id, true, nullptr, nullptr);
    return;
  }
  s.value[id] = out(m);
  const Buffer& y = s.value[id];
  ++stats_.device_nodes;
  switch (n.op) {
    case OpKind::linear: {
      const auto& a = n.template attr<LinearAttrs>();
      d.linear_forward(a.R, a.I, a.O, V(0), V(1), Vopt(2), y);
      break;
    }
    case OpKind::embedding: {
      const auto& a = n.template attr<EmbeddingAttrs>();
      d.embedding_forward(a.n_ids, s.ints[id], a.V, a.D, V(0), y);
      break;
    }
    case OpKind::conv1d: d.conv1d_forward(n.template attr<ops::Conv1dDims>(), V(0), V(1), Vopt(2), y); break;
    case OpKind::maxpool:
      s.ints[id] = out(m);
      d.maxpool_forward(n.template attr<ops::PoolDims>(), V(0), y, s.ints[id]);
      break;
    case OpKind::unary: d.unary_forward(n.template attr<ops::UnaryParams>(), m, V(0), y); break;
    case OpKind::binary: d.binary_forward(n.template attr<BinaryAttrs>().op, shape(0), shape(1), V(0), V(1), y); break;
    case OpKind::scale: d.scale_forward(m, static_cast<float>(n.template attr<ScaleAttrs>().s), V(0), y); break;
    case OpKind::softmax: {
      const auto& a = n.template attr<SoftmaxAttrs>();
      d.softmax_forward(a.log, a.R, a.C, V(0), y);
      break;
    }
    case OpKind::layernorm: {
      const auto& a = n.template attr<LayernormAttrs>();
      s.saved[id] = out(a.R);
      s.saved2[id] = out(a.R);
      d.layernorm_forward(a.R, a.C, static_cast<float>(a.eps), V(0), V(1), Vopt(2), y, s.saved[id], s.saved2[id]);
      break;
    }
    case OpKind::attention: {
      const auto& a = n.template attr<ops::AttentionDims>();
      s.saved[id] = out(a.B * a.H * a.T * a.T);
      d.attention_forward(a, V(0), V(1), V(2), n.bytes ? &s.ints[id] : nullptr, s.saved[id], y);
      break;
    }
    case OpKind::concat: {
      std::vector<Shape> shapes;
      std::vector<const Buffer*> xs;
      for (Var v : g.inputs(Var{id})) {
        shapes.push_back(g.shape(v));
        xs.push_back(&s.value[static_cast<size_t>(v.id)]);
      }
      d.concat_forward(shapes, n.template attr<ConcatAttrs>().axis, xs, y);
      break;
    }
    case OpKind::slice: {
      const auto& a = n.template attr<SliceAttrs>();
      d.slice_forward(shape(0), a.axis, a.start, a.end, V(0), y);
      break;
    }
    case OpKind::sum: d.sum_forward(shape(0).numel(), V(0), y); break;
    case OpKind::pick: {
      const auto& a = n.template attr<PickAttrs>();
      d.pick_forward(a.R, a.C, s.ints[id], V(0), y);
      break;
    }
    default: throw Error(std::string("DeviceTape: no device forward for ") + op_name(n.op));
  }
}

// ------------------------------------------------------------ one node on the CPU
// Rebuilds node `id` on a scratch CPU graph from its inputs' values (one
// download each), runs its forward (and, backward, its backward or LRP rule
// seeded with its output's gradient), and uploads the result: the value, or
// the inputs' gradients added to theirs on the device.
void DeviceTape::cpu_node(Graph<float>& g, State& s, int id, bool forward, const LrpOptions* o,
                          std::vector<LrpAbsorbed>* absorbed) {
  auto& n = g.nodes_[static_cast<size_t>(id)];
  ++stats_.cpu_nodes;
  std::string what = op_name(n.op);
  if (o && (*o)[n.op] != LrpRule::gradient) what += std::string(" (") + lrp_rule_name((*o)[n.op]) + ")";
  stats_.cpu_ops.insert(what);
  if (n.op == OpKind::dropout)
    throw Error("dropout (training) has no device path: train on the CPU");
  const std::vector<Var> ins = g.inputs(Var{id});
  Graph<float> sc;
  std::vector<Var> x;
  for (Var v : ins) {
    if (!v.valid()) {
      x.push_back(Var{});
      continue;
    }
    host_value(g, s, v.id);
    auto& in = g.nodes_[static_cast<size_t>(v.id)];
    x.push_back(sc.input(in.shape, in.value, !forward && in.requires_grad));
  }
  auto X = [&](size_t j) { return j < x.size() ? x[j] : Var{}; };
  Var y;
  switch (n.op) {
    case OpKind::linear: y = sc.linear(X(0), X(1), X(2)); break;
    case OpKind::matmul: {
      const auto& md = n.template attr<ops::MatmulDims>();
      y = sc.matmul(X(0), X(1), md.trans_a, md.trans_b);
      break;
    }
    case OpKind::embedding: {
      Shape ids = n.shape;
      ids.rank -= 1;
      y = sc.embedding(X(0), n.ints, ids);
      break;
    }
    case OpKind::conv1d: y = sc.conv1d(X(0), X(1), X(2), n.template attr<ops::Conv1dDims>().pad); break;
    case OpKind::maxpool: {
      const auto& a = n.template attr<ops::PoolDims>();
      y = sc.maxpool(X(0), a.window, a.stride);
      break;
    }
    case OpKind::unary: y = sc.unary(X(0), n.template attr<ops::UnaryParams>()); break;
    case OpKind::binary: y = sc.binary(X(0), X(1), n.template attr<BinaryAttrs>().op); break;
    case OpKind::scale: y = sc.scale(X(0), static_cast<float>(n.template attr<ScaleAttrs>().s)); break;
    case OpKind::softmax: y = n.template attr<SoftmaxAttrs>().log ? sc.log_softmax(X(0)) : sc.softmax(X(0)); break;
    case OpKind::cross_entropy: y = sc.cross_entropy(X(0), n.ints, n.class_w); break;
    case OpKind::layernorm:
      y = sc.layernorm(X(0), X(1), X(2), static_cast<float>(n.template attr<LayernormAttrs>().eps));
      break;
    case OpKind::attention: {
      const auto& a = n.template attr<ops::AttentionDims>();
      y = sc.attention(X(0), X(1), X(2), a.H, n.bytes, a.causal);
      break;
    }
    case OpKind::concat: y = sc.concat(x, n.template attr<ConcatAttrs>().axis); break;
    case OpKind::slice: {
      const auto& a = n.template attr<SliceAttrs>();
      y = sc.slice(X(0), a.axis, a.start, a.end);
      break;
    }
    case OpKind::reshape: y = sc.reshape(X(0), n.shape); break;
    case OpKind::sum: y = sc.sum(X(0)); break;
    case OpKind::pick: y = sc.pick(X(0), n.ints); break;
    default: throw Error(std::string("DeviceTape: cannot run ") + op_name(n.op) + " on the CPU");
  }
  const int64_t m = n.shape.numel();
  if (forward) {
    std::memcpy(n.value, sc.value(y), sizeof(float) * static_cast<size_t>(m));
    s.value[id] = take(m, false);
    s.taken.push_back(s.value[id]);
    device_->upload(s.value[id], n.value, m);
    ++stats_.uploads;
    return;
  }
  std::vector<float> gy(static_cast<size_t>(std::max<int64_t>(m, 1)));
  device_->download(s.grad[id], gy.data(), m);
  ++stats_.downloads;
  if (o) {
    std::vector<LrpAbsorbed> rec;
    sc.lrp_backward(y, *o, gy.data(), absorbed ? &rec : nullptr);
    for (LrpAbsorbed& r : rec) {  // the scratch graph's node ids and leaves -> the tape's
      r.node = id;
      if (r.sink == LrpSink::constant_input)
        for (Var v : ins)
          if (v.valid() && !g.nodes_[static_cast<size_t>(v.id)].requires_grad) {
            r.constant_op = g.nodes_[static_cast<size_t>(v.id)].op;
            break;
          }
      absorbed->push_back(r);
    }
  } else {
    sc.backward(y, gy.data());
  }
  for (size_t j = 0; j < ins.size(); ++j) {
    if (!x[j].valid() || !sc.grad(x[j])) continue;
    const int64_t k = sc.numel(x[j]);
    Buffer t = take(k, false);
    s.taken.push_back(t);
    device_->upload(t, sc.grad(x[j]), k);
    ++stats_.uploads;
    device_->add_to(t, grad(g, s, ins[j].id), k);
  }
}

// ------------------------------------------------------------ backward, one node
// o null: the ordinary derivative; else the node's LRP rule (graph.h).
void DeviceTape::run_backward_node(Graph<float>& g, State& s, int id, const LrpOptions* o) {
  auto& n = g.nodes_[static_cast<size_t>(id)];
  Device& d = *device_;
  const int64_t m = n.shape.numel();
  const LrpRule rule = o ? (*o)[n.op] : LrpRule::gradient;
  auto V = [&](int j) -> const Buffer& { return s.value[static_cast<size_t>(n.in[j])]; };
  auto wants = [&](int j) { return n.in[j] >= 0 && g.nodes_[static_cast<size_t>(n.in[j])].requires_grad; };
  auto gin = [&](int j) -> const Buffer* { return wants(j) ? &grad(g, s, n.in[j]) : nullptr; };
  auto shape = [&](int j) { return g.nodes_[static_cast<size_t>(n.in[j])].shape; };
  auto temp = [&](int64_t k) {
    Buffer b = take(k, false);
    s.taken.push_back(b);
    return b;
  };
  const Buffer& gy = s.grad[id];
  const Buffer& y = s.value[id];
  const float eps = o ? static_cast<float>(o->epsilon) : 0.f;
  const bool cpu = n.op == OpKind::matmul || n.op == OpKind::cross_entropy || n.op == OpKind::dropout ||
                   rule == LrpRule::z_plus || rule == LrpRule::alpha_beta;
  if (cpu) {
    cpu_node(g, s, id, false, o, nullptr);
    return;
  }
  ++stats_.device_nodes;
  switch (n.op) {
    case OpKind::linear: {
      const auto& a = n.template attr<LinearAttrs>();
      if (rule == LrpRule::epsilon) {
        if (!wants(0)) break;
        Buffer sc = temp(m);
        d.lrp_epsilon_scale(m, eps, y, gy, sc);
        d.linear_backward(a.R, a.I, a.O, V(0), V(1), sc, gin(0), nullptr, nullptr);
      } else {
        d.linear_backward(a.R, a.I, a.O, V(0), V(1), gy, gin(0), gin(1), n.in[2] >= 0 ? gin(2) : nullptr);
      }
      break;
    }
    case OpKind::embedding:
      if (wants(0)) {
        const auto& a = n.template attr<EmbeddingAttrs>();
        d.embedding_backward(a.n_ids, s.ints[id], a.V, a.D, gy, *gin(0));
      }
      break;
    case OpKind::conv1d: {
      const auto& a = n.template attr<ops::Conv1dDims>();
      if (rule == LrpRule::epsilon) {
        if (!wants(0)) break;
        Buffer sc = temp(m);
        d.lrp_epsilon_scale(m, eps, y, gy, sc);
        d.conv1d_backward(a, V(0), V(1), sc, gin(0), nullptr, nullptr);
      } else {
        d.conv1d_backward(a, V(0), V(1), gy, gin(0), gin(1), n.in[2] >= 0 ? gin(2) : nullptr);
      }
      break;
    }
    case OpKind::maxpool:
      if (wants(0)) d.maxpool_backward(n.template attr<ops::PoolDims>(), s.ints[id], gy, *gin(0));
      break;
    case OpKind::unary: {
      if (!wants(0)) break;
      const auto& u = n.template attr<ops::UnaryParams>();
      if (rule == LrpRule::identity) {
        float d0 = 0, d2 = 0;
        ops::unary_derivatives<float>(u, 0.f, &d0, &d2);
        d.lrp_identity(m, u.kind == ops::Unary::relu, d0, V(0), y, gy, *gin(0));
      } else {
        d.unary_backward(u, m, V(0), gy, *gin(0));
      }
      break;
    }
    case OpKind::binary: {
      const ops::Binary op = n.template attr<BinaryAttrs>().op;
      if (rule != LrpRule::gradient && op == ops::Binary::mul && wants(0) && wants(1)) {
        if (rule == LrpRule::gate) {
          d.binary_backward(op, shape(0), shape(1), V(0), V(1), gy, nullptr, gin(1));
        } else {
          Buffer h = temp(m);
          d.scale_forward(m, 0.5f, gy, h);
          d.binary_backward(op, shape(0), shape(1), V(0), V(1), h, gin(0), gin(1));
        }
      } else {
        d.binary_backward(op, shape(0), shape(1), V(0), V(1), gy, gin(0), gin(1));
      }
      break;
    }
    case OpKind::scale:
      if (wants(0)) d.scale_backward(m, static_cast<float>(n.template attr<ScaleAttrs>().s), gy, *gin(0));
      break;
    case OpKind::softmax:
      if (wants(0)) {
        const auto& a = n.template attr<SoftmaxAttrs>();
        d.softmax_backward(a.log, a.R, a.C, y, gy, *gin(0));
      }
      break;
    case OpKind::layernorm: {
      const auto& a = n.template attr<LayernormAttrs>();
      if (rule == LrpRule::epsilon) {
        if (!wants(0)) break;
        Buffer sc = temp(m);
        d.lrp_epsilon_scale(m, eps, y, gy, sc);
        d.lrp_layernorm(a.R, a.C, V(1), s.saved2[id], sc, *gin(0));
      } else {
        d.layernorm_backward(a.R, a.C, V(0), V(1), s.saved[id], s.saved2[id], gy, gin(0), gin(1),
                             n.in[2] >= 0 ? gin(2) : nullptr);
      }
      break;
    }
    case OpKind::attention: {
      const auto& a = n.template attr<ops::AttentionDims>();
      if (rule == LrpRule::cp_lrp) {
        d.attention_backward(a, V(0), V(1), V(2), s.saved[id], gy, nullptr, nullptr, gin(2));
      } else if (rule == LrpRule::attnlrp) {
        Buffer h = temp(m);
        d.scale_forward(m, 0.5f, gy, h);
        d.attention_backward(a, V(0), V(1), V(2), s.saved[id], h, nullptr, nullptr, gin(2));
        if (wants(0) || wants(1)) {
          d.scale_forward(m, 0.25f, gy, h);
          d.attention_backward(a, V(0), V(1), V(2), s.saved[id], h, gin(0), gin(1), nullptr);
        }
      } else {
        d.attention_backward(a, V(0), V(1), V(2), s.saved[id], gy, gin(0), gin(1), gin(2));
      }
      break;
    }
    case OpKind::concat: {
      std::vector<Shape> shapes;
      std::vector<const Buffer*> gx;
      for (Var v : g.inputs(Var{id})) {
        shapes.push_back(g.shape(v));
        gx.push_back(g.requires_grad(v) ? &grad(g, s, v.id) : nullptr);
      }
      d.concat_backward(shapes, n.template attr<ConcatAttrs>().axis, gy, gx);
      break;
    }
    case OpKind::slice:
      if (wants(0)) {
        const auto& a = n.template attr<SliceAttrs>();
        d.slice_backward(shape(0), a.axis, a.start, a.end, gy, *gin(0));
      }
      break;
    case OpKind::reshape:
      if (wants(0)) d.add_to(gy, *gin(0), m);
      break;
    case OpKind::sum:
      if (wants(0)) d.sum_backward(shape(0).numel(), gy, *gin(0));
      break;
    case OpKind::pick:
      if (wants(0)) {
        const auto& a = n.template attr<PickAttrs>();
        d.pick_backward(a.R, a.C, s.ints[id], gy, *gin(0));
      }
      break;
    default: throw Error(std::string("DeviceTape: no device backward for ") + op_name(n.op));
  }
}

// ------------------------------------------------------------ the passes
namespace {
void seed_output(Device& d, const Buffer& g, int64_t m, const float* seed) {
  if (seed)
    d.upload(g, seed, m);
  else
    d.fill(g, m, 1.f);
}
}  // namespace

void DeviceTape::backward(Graph<float>& g, Var y, const float* seed, const std::vector<Var>& read) {
  on_device(*this, "backward", [&] {
    State& s = state(g);
    auto& out = g.node(y);
    if (!g.deferred_ || s.done != g.size()) throw Error("DeviceTape::backward: run forward() on this graph first");
    if (!out.requires_grad)
      throw Error("backward: the output does not depend on any input or parameter that requires a gradient");
    for (auto& n : g.nodes_) n.grad = nullptr;
    for (Buffer& b : s.grad) b = Buffer{};
    seed_output(*device_, grad(g, s, y.id), out.shape.numel(), seed);
    for (int id = y.id; id >= 0; --id)
      if (s.grad[id].valid() && g.nodes_[static_cast<size_t>(id)].op != OpKind::leaf) run_backward_node(g, s, id, nullptr);
    for (Var v : read) {
      if (!s.grad[v.id].valid()) continue;
      float* h = g.ensure_grad(v.id);
      device_->download(s.grad[v.id], h, g.numel(v));
      ++stats_.downloads;
    }
  });
}

void DeviceTape::lrp_backward(Graph<float>& g, Var y, const LrpOptions& o, const float* seed,
                              std::vector<LrpAbsorbed>* absorbed, const std::vector<Var>& read) {
  on_device(*this, "lrp_backward", [&] {
    State& s = state(g);
    auto& out = g.node(y);
    if (!g.deferred_ || s.done != g.size()) throw Error("DeviceTape::lrp_backward: run forward() on this graph first");
    if (!out.requires_grad)
      throw Error("lrp_backward: the output does not depend on any input or parameter that requires a gradient");
    check_lrp_options(o);
    for (auto& n : g.nodes_) n.grad = nullptr;
    for (Buffer& b : s.grad) b = Buffer{};
    seed_output(*device_, grad(g, s, y.id), out.shape.numel(), seed);
    // With `absorbed`, each op's account (as Graph::lrp_account) from four
    // sums per node, kept on the device and downloaded once at the end:
    // x . G(x) over its inputs before and after its rule, y . G(y), and
    // what the epsilon stabiliser kept back.
    struct Account {
      int id;
      std::vector<int> with_grad;
      int constant = -1;
      bool cpu = false;
      std::vector<LrpAbsorbed> cpu_records;
    };
    std::vector<Account> acc;
    Buffer sums;
    if (absorbed) {
      sums = take(4 * (y.id + 1), true);
      s.taken.push_back(sums);
    }
    for (int id = y.id; id >= 0; --id) {
      auto& n = g.nodes_[static_cast<size_t>(id)];
      if (!s.grad[id].valid() || n.op == OpKind::leaf) continue;
      const LrpRule rule = o[n.op];
      const bool cpu = n.op == OpKind::matmul || n.op == OpKind::cross_entropy || n.op == OpKind::dropout ||
                       rule == LrpRule::z_plus || rule == LrpRule::alpha_beta;
      if (!absorbed) {
        run_backward_node(g, s, id, &o);
        continue;
      }
      Account a;
      a.id = id;
      a.cpu = cpu;
      if (cpu) {  // the scratch graph keeps its own account
        cpu_node(g, s, id, false, &o, &a.cpu_records);
        acc.push_back(std::move(a));
        continue;
      }
      for (Var v : g.inputs(Var{id})) {
        if (!v.valid()) continue;
        if (!g.requires_grad(v)) {
          if (a.constant < 0) a.constant = v.id;
          continue;
        }
        if (std::find(a.with_grad.begin(), a.with_grad.end(), v.id) == a.with_grad.end()) a.with_grad.push_back(v.id);
      }
      auto dots = [&](int slot) {
        for (int k : a.with_grad)
          if (s.grad[k].valid()) device_->lrp_sum(g.nodes_[static_cast<size_t>(k)].shape.numel(), s.value[k], s.grad[k], sums, 4 * id + slot, -1.f);
      };
      dots(0);
      run_backward_node(g, s, id, &o);
      dots(1);
      const int64_t m = n.shape.numel();
      device_->lrp_sum(m, s.value[id], s.grad[id], sums, 4 * id + 2, -1.f);
      const bool eps_rule = (n.op == OpKind::linear || n.op == OpKind::conv1d || n.op == OpKind::layernorm) &&
                            rule == LrpRule::epsilon;
      if (eps_rule && o.epsilon != 0)
        device_->lrp_sum(m, s.value[id], s.grad[id], sums, 4 * id + 3, static_cast<float>(o.epsilon));
      acc.push_back(std::move(a));
    }
    if (absorbed) {
      std::vector<float> h(static_cast<size_t>(4 * (y.id + 1)));
      device_->download(sums, h.data(), static_cast<int64_t>(h.size()));
      ++stats_.downloads;
      for (Account& a : acc) {
        if (a.cpu) {
          for (LrpAbsorbed& r : a.cpu_records) absorbed->push_back(r);
          continue;
        }
        const OpKind op = g.nodes_[static_cast<size_t>(a.id)].op;
        const double before = h[4 * a.id], after = h[4 * a.id + 1], r_out = h[4 * a.id + 2], e = h[4 * a.id + 3];
        const bool eps_rule =
            (op == OpKind::linear || op == OpKind::conv1d || op == OpKind::layernorm) && o[op] == LrpRule::epsilon;
        lrp_record_absorbed(a.id, op, r_out - (after - before), eps_rule ? e : 0.0, eps_rule,
                            a.constant >= 0 ? g.nodes_[static_cast<size_t>(a.constant)].op : OpKind::leaf,
                            a.constant >= 0, *absorbed);
      }
    }
    for (Var v : read) {
      if (!s.grad[v.id].valid()) continue;
      float* hg = g.ensure_grad(v.id);
      device_->download(s.grad[v.id], hg, g.numel(v));
      ++stats_.downloads;
    }
  });
}

void DeviceTape::to_host(Graph<float>& g) {
  on_device(*this, "to_host", [&] {
    State& s = state(g);
    if (!g.deferred_) return;
    if (s.done != g.size()) forward(g, {});
    for (int id = 0; id < g.size(); ++id) {
      auto& n = g.nodes_[static_cast<size_t>(id)];
      if (n.op == OpKind::reshape) continue;
      host_value(g, s, id);
      if (n.op == OpKind::layernorm) {
        const int64_t R = n.template attr<LayernormAttrs>().R;
        device_->download(s.saved[id], n.saved, R);
        device_->download(s.saved2[id], n.saved2, R);
      } else if (n.op == OpKind::attention) {
        const auto& a = n.template attr<ops::AttentionDims>();
        device_->download(s.saved[id], n.saved, a.B * a.H * a.T * a.T);
      }
      if (n.op == OpKind::maxpool)
        device_->download(s.ints[id], reinterpret_cast<float*>(n.ints), n.shape.numel());
    }
    for (auto& n : g.nodes_) n.grad = nullptr;
    g.deferred_ = false;
  });
}

}  // namespace wordlight::gpu
