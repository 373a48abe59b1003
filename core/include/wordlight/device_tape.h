#pragma once
// The tape on the device (issue 23): runs a whole pass of a Graph<float> on
// a gpu::Device without a round trip per op. The model builds its forward
// pass on a graph attached to the tape as usual; the builders only record
// the nodes (Graph::deferred()), and forward() records every node's op on
// the device and submits once. Parameters (the model's weights, leaves made
// by Graph::parameter) are uploaded once per device and kept (keyed by their
// host memory, see Device::cached_parameter); inputs, embedding ids and
// attention masks are uploaded; activations stay on the device; only the
// values and gradients asked for are downloaded. backward() and
// lrp_backward() replay the graph's reverse passes on the device, LRP's
// modified backward included (the rules of graph.h: epsilon on linear,
// conv1d and LayerNorm, identity on the non-linearities, uniform / gate on
// products, attnlrp / cp-lrp on attention) and its record of what each op
// absorbed.
//
// An op or rule without a device kernel (matmul, cross-entropy, dropout;
// the z-plus and alpha-beta rules) runs on the CPU for that node alone: its
// inputs (and, backward, its output's gradient) are downloaded, the node is
// rebuilt and run on a scratch CPU graph, and its result uploaded: one
// transfer each way. stats() says which ops did.
//
// Forward-mode tangents and Hessian-vector products (Integrated Hessians)
// stay on the CPU: to_host() brings a graph's values to the host, after
// which it is an ordinary CPU graph.
//
// Errors from the device (a Vulkan call failing, out of device memory)
// throw DeviceError, an Error whose message names the device.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "wordlight/gpu.h"
#include "wordlight/graph.h"

namespace wordlight::gpu {

struct DeviceError : Error {
  using Error::Error;
};

// A device opened once per process for each request (cpu: null), so that
// its cached parameters serve every explanation of a run. auto falls back
// to the CPU (null) with the reason in *fallback_reason; vulkan[:N] throws
// DeviceError when the device does not open.
std::shared_ptr<Device> shared_device(const DeviceRequest& r, std::string* fallback_reason = nullptr);

// A device records one command stream: a tape holds its device's lock for
// its lifetime, so that threads explaining texts at once (evaluate, explain
// --input) take turns on it, one explanation at a time.
class DeviceTape {
 public:
  explicit DeviceTape(std::shared_ptr<Device> device);
  ~DeviceTape();
  Device& device() { return *device_; }
  // "vulkan:0 (llvmpipe ...)"
  std::string device_name() const;

  // Makes g record on this tape from now on: clears g, and the device
  // buffers of its last pass return to the tape's pool.
  void attach(Graph<float>& g);
  // Runs on the device every node recorded since the last call and submits
  // once; then downloads the values of `read` into the graph (value(v)).
  void forward(Graph<float>& g, const std::vector<Var>& read);
  // Reverse mode on the device (as Graph::backward; seed null = ones);
  // downloads the gradients of `read` (grad(v)).
  void backward(Graph<float>& g, Var y, const float* seed, const std::vector<Var>& read);
  // The LRP backward mode on the device (as Graph::lrp_backward).
  void lrp_backward(Graph<float>& g, Var y, const LrpOptions& o, const float* seed,
                    std::vector<LrpAbsorbed>* absorbed, const std::vector<Var>& read);
  // Downloads every value and saved buffer of g; g is then an ordinary CPU
  // graph (not deferred) until the next attach().
  void to_host(Graph<float>& g);

  struct Stats {
    int64_t device_nodes = 0;     // node passes run on the device
    int64_t cpu_nodes = 0;        // node passes run on the CPU (one transfer each)
    std::set<std::string> cpu_ops;  // which: "matmul", "linear (z-plus)", ...
    int64_t uploads = 0, downloads = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct State;
  std::shared_ptr<Device> device_;
  std::unique_lock<std::mutex> lock_;
  std::map<const void*, std::unique_ptr<State>> states_;
  std::map<int64_t, std::vector<Buffer>> pool_;
  Stats stats_;
  State& state(Graph<float>& g);
  Buffer take(int64_t n, bool zero);
  void release(State& s);
  void run_forward_node(Graph<float>& g, State& s, int id);
  void run_backward_node(Graph<float>& g, State& s, int id, const LrpOptions* o);
  void cpu_node(Graph<float>& g, State& s, int id, bool forward, const LrpOptions* o,
                std::vector<LrpAbsorbed>* absorbed);
  void host_value(Graph<float>& g, State& s, int id);
  Buffer& grad(Graph<float>& g, State& s, int id);
};

}  // namespace wordlight::gpu
