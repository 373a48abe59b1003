#pragma once
// The GPU path (issue 23): a Vulkan compute backend for the ops that carry
// batched explanation (GEMM / linear, softmax, LayerNorm, the element-wise
// non-linearities, embedding gather, attention with a padding mask) and
// their backward (VJP). GLSL compute shaders in core/src/gpu/shaders are
// compiled to SPIR-V at build time and embedded in the library; the code
// that talks to Vulkan is core/src/gpu/vulkan/ (built when CMake's
// WORDLIGHT_VULKAN is on: libvulkan and glslc found). Without it every
// entry point below still exists: Device::open throws an Error saying the
// build has no Vulkan, and list_devices() is empty.
//
// Conventions: buffers hold 32-bit elements (float, or int32 for ids and
// masks); shapes are given as dimensions, as in ops.h, and ops name which
// buffer is which shape in comments. Every op is *recorded* into the
// device's command buffer and runs when the device is flushed (download()
// flushes), so a chain of ops costs one submission, not one per op. Forward
// ops overwrite their outputs; backward ops ACCUMULATE (+=) into theirs, as
// in ops.h. An optional output is a null pointer.
//
// Errors (no Vulkan, no device, a Vulkan call failing, out of device
// memory) throw wordlight::Error naming the device and the call.
// WORDLIGHT_VULKAN_MEMORY_LIMIT=<bytes> (suffixes k, M, G) caps what one
// device may allocate, so that running out of device memory can be tested.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wordlight/ops.h"

namespace wordlight::gpu {

// ------------------------------------------------------------ device choice
// What the user asked for (WORDLIGHT_DEVICE or the CLI's --device):
//   cpu        the CPU (default)
//   vulkan     the best Vulkan device: discrete GPU, then integrated, then
//              virtual, then a CPU implementation (Mesa's lavapipe)
//   vulkan:N   Vulkan device N in list_devices() order
//   auto       the best Vulkan device if one opens, else the CPU (the only
//              choice that falls back silently)
enum class DeviceKind { cpu, vulkan, automatic };
struct DeviceRequest {
  DeviceKind kind = DeviceKind::cpu;
  int index = -1;  // vulkan:N; -1 = best
  std::string str() const;
};
// Throws Error naming `where` (e.g. "--device") for anything else.
DeviceRequest parse_device(const std::string& s, const std::string& where = "device");
// WORDLIGHT_DEVICE, or cpu when unset or empty.
DeviceRequest device_from_env();

bool built_with_vulkan();

struct DeviceInfo {
  int index = -1;         // in list_devices() order (Vulkan's enumeration order)
  std::string name;       // e.g. "NVIDIA H100", "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string type;       // discrete, integrated, virtual, cpu, other
  uint64_t memory_bytes = 0;  // the largest device-local heap
  bool cooperative_matrix = false;  // VK_KHR_cooperative_matrix is offered
};
// Every Vulkan device with a compute queue; empty when the build has no
// Vulkan or the loader finds no device (never throws).
std::vector<DeviceInfo> list_devices();

class Device;
// Opens what `r` asks for: null for cpu; for vulkan / vulkan:N that device
// or an Error naming it; for auto the best device, or null (run on the CPU)
// when none opens, with the reason in *fallback_reason. Only auto falls back.
std::shared_ptr<Device> open_device(const DeviceRequest& r, std::string* fallback_reason = nullptr);

// ------------------------------------------------------------ buffers
namespace detail {
struct BufferImpl;
struct BufferAccess;
}
class Buffer {
 public:
  Buffer() = default;
  bool valid() const { return impl_ != nullptr; }
  int64_t size() const;  // elements of 4 bytes

 private:
  friend class Device;
  friend struct detail::BufferAccess;
  std::shared_ptr<detail::BufferImpl> impl_;
};

// ------------------------------------------------------------ the device
namespace detail {
struct DeviceImpl;
}

// A general strided, batched GEMM: for z in [0, batch), with zb = z / inner,
// zh = z % inner, every matrix element (r, c) of X in {A, B, C} lies at
//   X.offset + zb * X.sb + zh * X.sh + r * X.sr + c * X.sc
// and C = alpha op(A) op(B) + (accumulate ? C : 0) + bias[bias_offset + n].
// A is (M, K), B is (K, N), C is (M, N) in those terms; transposes and head
// slices of a (B, T, H*Dh) layout are just strides.
struct GemmView {
  int64_t offset = 0, sb = 0, sh = 0, sr = 0, sc = 1;
};
struct GemmArgs {
  int64_t M = 0, N = 0, K = 0, batch = 1, inner = 1;
  float alpha = 1;
  bool accumulate = false;
  GemmView a, b, c;
  int64_t bias_offset = 0;
};

class Device {
 public:
  // index -1: the best device (see DeviceKind::vulkan). Throws Error when
  // the build has no Vulkan, no device exists, or index is out of range.
  static std::shared_ptr<Device> open(int index = -1);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceInfo& info() const;
  // Bytes allocated now / the limit (WORDLIGHT_VULKAN_MEMORY_LIMIT or the heap size).
  uint64_t bytes_allocated() const;
  uint64_t memory_limit() const;

  Buffer alloc(int64_t n, bool zero = false);
  // Copies host data in (flushes recorded work first) / out (flushes).
  void upload(const Buffer& b, const float* data, int64_t n, int64_t offset = 0);
  void upload(const Buffer& b, const int32_t* data, int64_t n, int64_t offset = 0);
  void download(const Buffer& b, float* data, int64_t n, int64_t offset = 0);
  // Runs everything recorded so far and waits for it.
  void flush();
  // Dispatches recorded since open (a measure of round trips saved).
  uint64_t dispatches() const;
  uint64_t submissions() const;

  // ---------------------------------------------------------- ops (recorded)
  void fill(const Buffer& y, int64_t n, float value, int64_t offset = 0);
  // y += x, n elements (at offsets)
  void add_to(const Buffer& x, const Buffer& y, int64_t n, int64_t x_offset = 0, int64_t y_offset = 0);
  void gemm(const GemmArgs& g, const Buffer& A, const Buffer& B, const Buffer& C, const Buffer* bias = nullptr);
  // y[c] += sum_r x[r, c]: x (R, C), y (C)
  void column_sum(int64_t R, int64_t C, const Buffer& x, const Buffer& y);

  // x: (R, I), w: (O, I), b: (O) or null -> y: (R, O)
  void linear_forward(int64_t R, int64_t I, int64_t O, const Buffer& x, const Buffer& w, const Buffer* b,
                      const Buffer& y);
  // gx: (R, I) += gy w; gw: (O, I) += gy^T x; gb: (O) += column sums of gy
  void linear_backward(int64_t R, int64_t I, int64_t O, const Buffer& x, const Buffer& w, const Buffer& gy,
                       const Buffer* gx, const Buffer* gw, const Buffer* gb);
  // y = s x / gx += s gy, n elements
  void scale_forward(int64_t n, float s, const Buffer& x, const Buffer& y);
  void scale_backward(int64_t n, float s, const Buffer& gy, const Buffer& gx);
  // numpy broadcasting as ops::binary_*: y has shape broadcast(as, bs)
  void binary_forward(ops::Binary op, const Shape& as, const Shape& bs, const Buffer& a, const Buffer& b,
                      const Buffer& y);
  void binary_backward(ops::Binary op, const Shape& as, const Shape& bs, const Buffer& a, const Buffer& b,
                       const Buffer& gy, const Buffer* ga, const Buffer* gb);
  // as ops::slice_* / concat_* (axis of xs / of the inputs' shapes)
  void slice_forward(const Shape& xs, int axis, int64_t start, int64_t end, const Buffer& x, const Buffer& y);
  void slice_backward(const Shape& xs, int axis, int64_t start, int64_t end, const Buffer& gy, const Buffer& gx);
  void concat_forward(const std::vector<Shape>& shapes, int axis, const std::vector<const Buffer*>& xs,
                      const Buffer& y);
  void concat_backward(const std::vector<Shape>& shapes, int axis, const Buffer& gy,
                       const std::vector<const Buffer*>& gxs);
  // x: (R, C), index: (R) int32 -> y (R): y[r] = x[r, index[r]]; backward accumulates
  void pick_forward(int64_t R, int64_t C, const Buffer& index, const Buffer& x, const Buffer& y);
  void pick_backward(int64_t R, int64_t C, const Buffer& index, const Buffer& gy, const Buffer& gx);
  // y (1) = sum of x (n); gx += gy[0]
  void sum_forward(int64_t n, const Buffer& x, const Buffer& y);
  void sum_backward(int64_t n, const Buffer& gy, const Buffer& gx);
  // as ops::conv1d_*: x (B, T, Cin), w (Cout, W, Cin), b (Cout) or null -> y (B, To, Cout)
  void conv1d_forward(const ops::Conv1dDims& d, const Buffer& x, const Buffer& w, const Buffer* b, const Buffer& y);
  void conv1d_backward(const ops::Conv1dDims& d, const Buffer& x, const Buffer& w, const Buffer& gy, const Buffer* gx,
                       const Buffer* gw, const Buffer* gb);
  // as ops::maxpool_*: x (B, T, C) -> y, argmax (int32) (B, To, C)
  void maxpool_forward(const ops::PoolDims& d, const Buffer& x, const Buffer& y, const Buffer& argmax);
  void maxpool_backward(const ops::PoolDims& d, const Buffer& argmax, const Buffer& gy, const Buffer& gx);
  // x, y: (n)
  void unary_forward(ops::UnaryParams p, int64_t n, const Buffer& x, const Buffer& y);
  void unary_backward(ops::UnaryParams p, int64_t n, const Buffer& x, const Buffer& gy, const Buffer& gx);
  // over rows of C: x, y: (R, C)
  void softmax_forward(bool log, int64_t R, int64_t C, const Buffer& x, const Buffer& y);
  void softmax_backward(bool log, int64_t R, int64_t C, const Buffer& y, const Buffer& gy, const Buffer& gx);
  // x, y: (R, C); gamma, beta: (C) (beta may be null); mean, rstd: (R) saved
  void layernorm_forward(int64_t R, int64_t C, float eps, const Buffer& x, const Buffer& gamma, const Buffer* beta,
                         const Buffer& y, const Buffer& mean, const Buffer& rstd);
  void layernorm_backward(int64_t R, int64_t C, const Buffer& x, const Buffer& gamma, const Buffer& mean,
                          const Buffer& rstd, const Buffer& gy, const Buffer* gx, const Buffer* ggamma,
                          const Buffer* gbeta);
  // ids: (n) int32 in [0, V) (uploaded with the int32 upload); table (V, D) -> y (n, D).
  // An id out of range gives a zero row (the caller checks ids on the host).
  void embedding_forward(int64_t n, const Buffer& ids, int64_t V, int64_t D, const Buffer& table, const Buffer& y);
  void embedding_backward(int64_t n, const Buffer& ids, int64_t V, int64_t D, const Buffer& gy,
                          const Buffer& gtable);
  // q, k, v, out: (B, T, H*Dh); key_mask: (B, T) int32 1 = real, or null;
  // probs: (B, H, T, T) saved. As ops::attention_forward (a query with no
  // key gets a zero row; the caller refuses an all-masked item on the host).
  void attention_forward(const ops::AttentionDims& d, const Buffer& q, const Buffer& k, const Buffer& v,
                         const Buffer* key_mask, const Buffer& probs, const Buffer& out);
  void attention_backward(const ops::AttentionDims& d, const Buffer& q, const Buffer& k, const Buffer& v,
                          const Buffer& probs, const Buffer& gout, const Buffer* gq, const Buffer* gk,
                          const Buffer* gv);

  // ---------------------------------------------------------- LRP rules (graph.h's LrpOptions)
  // The epsilon rule's scaled gradient: s = gy * y / (y + eps sign y) (eps 0: s = gy), n elements.
  void lrp_epsilon_scale(int64_t n, float eps, const Buffer& y, const Buffer& gy, const Buffer& s);
  // The identity rule of y = f(x): gx += gy * (x != 0 ? y / x : d0) (d0 = f'(0)); relu: gx += x > 0 ? gy : 0.
  void lrp_identity(int64_t n, bool relu, float d0, const Buffer& x, const Buffer& y, const Buffer& gy,
                    const Buffer& gx);
  // LayerNorm's epsilon rule with 1/std held constant, per row of (R, C):
  // u = gamma * rstd[r] * s; gx += u - mean(u).
  void lrp_layernorm(int64_t R, int64_t C, const Buffer& gamma, const Buffer& rstd, const Buffer& s,
                     const Buffer& gx);
  // out[slot] += sum_i y_i g_i (eps < 0: a dot product), or, eps >= 0, what
  // the epsilon stabiliser keeps back: sum_i g_i y_i e_i / (y_i + e_i), e_i = eps sign y_i.
  void lrp_sum(int64_t n, const Buffer& y, const Buffer& g, const Buffer& out, int64_t slot, float eps);

 private:
  Device();
  std::unique_ptr<detail::DeviceImpl> impl_;
  friend struct detail::DeviceImpl;
};

}  // namespace wordlight::gpu
