// The GPU entry points of a build without Vulkan (WORDLIGHT_VULKAN=OFF, or
// wasm): nothing to list, and opening a device says why not. Compiled only
// when core/src/gpu/vulkan/ is not. No Device can exist here, so its
// methods (defined so that callers link) are never reached.
#include "wordlight/error.h"
#include "wordlight/gpu.h"

namespace wordlight::gpu {
namespace detail {
struct DeviceImpl {};
struct BufferImpl {};
}  // namespace detail

namespace {
[[noreturn]] void no_vulkan() {
  throw Error(
      "vulkan: this build of wordlight has no Vulkan backend (configured without libvulkan and glslc: "
      "run ./build.sh setup, then rebuild with -DWORDLIGHT_VULKAN=ON)");
}
}  // namespace

bool built_with_vulkan() { return false; }
std::vector<DeviceInfo> list_devices() { return {}; }
int64_t Buffer::size() const { return 0; }

std::shared_ptr<Device> Device::open(int) { no_vulkan(); }
Device::Device() = default;
Device::~Device() = default;
const DeviceInfo& Device::info() const { no_vulkan(); }
uint64_t Device::bytes_allocated() const { return 0; }
uint64_t Device::memory_limit() const { return 0; }
Buffer Device::alloc(int64_t, bool) { no_vulkan(); }
void Device::upload(const Buffer&, const float*, int64_t, int64_t) { no_vulkan(); }
void Device::upload(const Buffer&, const int32_t*, int64_t, int64_t) { no_vulkan(); }
void Device::download(const Buffer&, float*, int64_t, int64_t) { no_vulkan(); }
void Device::flush() {}
uint64_t Device::dispatches() const { return 0; }
uint64_t Device::submissions() const { return 0; }
void Device::fill(const Buffer&, int64_t, float, int64_t) { no_vulkan(); }
void Device::add_to(const Buffer&, const Buffer&, int64_t, int64_t, int64_t) { no_vulkan(); }
void Device::gemm(const GemmArgs&, const Buffer&, const Buffer&, const Buffer&, const Buffer*) { no_vulkan(); }
void Device::column_sum(int64_t, int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::linear_forward(int64_t, int64_t, int64_t, const Buffer&, const Buffer&, const Buffer*, const Buffer&) {
  no_vulkan();
}
void Device::linear_backward(int64_t, int64_t, int64_t, const Buffer&, const Buffer&, const Buffer&, const Buffer*,
                             const Buffer*, const Buffer*) {
  no_vulkan();
}
void Device::unary_forward(ops::UnaryParams, int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::unary_backward(ops::UnaryParams, int64_t, const Buffer&, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::softmax_forward(bool, int64_t, int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::softmax_backward(bool, int64_t, int64_t, const Buffer&, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::layernorm_forward(int64_t, int64_t, float, const Buffer&, const Buffer&, const Buffer*, const Buffer&,
                               const Buffer&, const Buffer&) {
  no_vulkan();
}
void Device::layernorm_backward(int64_t, int64_t, const Buffer&, const Buffer&, const Buffer&, const Buffer&,
                                const Buffer&, const Buffer*, const Buffer*, const Buffer*) {
  no_vulkan();
}
void Device::embedding_forward(int64_t, const Buffer&, int64_t, int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::embedding_backward(int64_t, const Buffer&, int64_t, int64_t, const Buffer&, const Buffer&) {
  no_vulkan();
}
void Device::attention_forward(const ops::AttentionDims&, const Buffer&, const Buffer&, const Buffer&, const Buffer*,
                               const Buffer&, const Buffer&) {
  no_vulkan();
}
void Device::attention_backward(const ops::AttentionDims&, const Buffer&, const Buffer&, const Buffer&,
                                const Buffer&, const Buffer&, const Buffer*, const Buffer*, const Buffer*) {
  no_vulkan();
}
void Device::scale_forward(int64_t, float, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::scale_backward(int64_t, float, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::binary_forward(ops::Binary, const Shape&, const Shape&, const Buffer&, const Buffer&, const Buffer&) {
  no_vulkan();
}
void Device::binary_backward(ops::Binary, const Shape&, const Shape&, const Buffer&, const Buffer&, const Buffer&,
                             const Buffer*, const Buffer*) {
  no_vulkan();
}
void Device::slice_forward(const Shape&, int, int64_t, int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::slice_backward(const Shape&, int, int64_t, int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::concat_forward(const std::vector<Shape>&, int, const std::vector<const Buffer*>&, const Buffer&) {
  no_vulkan();
}
void Device::concat_backward(const std::vector<Shape>&, int, const Buffer&, const std::vector<const Buffer*>&) {
  no_vulkan();
}
void Device::pick_forward(int64_t, int64_t, const Buffer&, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::pick_backward(int64_t, int64_t, const Buffer&, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::sum_forward(int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::sum_backward(int64_t, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::conv1d_forward(const ops::Conv1dDims&, const Buffer&, const Buffer&, const Buffer*, const Buffer&) {
  no_vulkan();
}
void Device::conv1d_backward(const ops::Conv1dDims&, const Buffer&, const Buffer&, const Buffer&, const Buffer*,
                             const Buffer*, const Buffer*) {
  no_vulkan();
}
void Device::maxpool_forward(const ops::PoolDims&, const Buffer&, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::maxpool_backward(const ops::PoolDims&, const Buffer&, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::lrp_epsilon_scale(int64_t, float, const Buffer&, const Buffer&, const Buffer&) { no_vulkan(); }
void Device::lrp_identity(int64_t, bool, float, const Buffer&, const Buffer&, const Buffer&, const Buffer&) {
  no_vulkan();
}
void Device::lrp_layernorm(int64_t, int64_t, const Buffer&, const Buffer&, const Buffer&, const Buffer&) {
  no_vulkan();
}
void Device::lrp_sum(int64_t, const Buffer&, const Buffer&, const Buffer&, int64_t, float) { no_vulkan(); }

}  // namespace wordlight::gpu
