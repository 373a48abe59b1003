#pragma once
// Shared by the Vulkan backend's files (device.cpp: the device, buffers and
// recorder; ops.cpp: the ops as dispatches). Not a public header.
#include <vulkan/vulkan.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/gpu.h"

namespace wordlight::gpu::detail {

const char* vk_result_name(VkResult r);

struct Core;

struct BufferImpl {
  std::shared_ptr<Core> core;  // keeps the device alive while the buffer is
  VkBuffer buffer = nullptr;
  VkDeviceMemory memory = nullptr;
  void* mapped = nullptr;  // host pointer when the memory is host-visible
  uint64_t bytes = 0;      // counted against the device's limit
  int64_t elements = 0;
  ~BufferImpl();
};

struct BufferAccess {
  static BufferImpl* get(const Buffer& b) { return b.impl_.get(); }
  static std::shared_ptr<BufferImpl> shared(const Buffer& b) { return b.impl_; }
};
inline BufferImpl* buffer_impl(const Buffer& b) { return BufferAccess::get(b); }
inline std::shared_ptr<BufferImpl> b_impl_shared(const Buffer& b) { return BufferAccess::shared(b); }

struct Core : std::enable_shared_from_this<Core> {
  static constexpr uint32_t kBindings = 6;
  static constexpr uint32_t kSetsPerPool = 2048;

  VkInstance instance = nullptr;
  VkPhysicalDevice physical = nullptr;
  VkDevice device = nullptr;
  VkQueue queue = nullptr;
  int family = -1;
  VkCommandPool cmd_pool = nullptr;
  VkCommandBuffer cmd = nullptr;
  VkFence fence = nullptr;
  VkDescriptorSetLayout set_layout = nullptr;
  VkPipelineLayout pipeline_layout = nullptr;
  VkDescriptorPool pool = nullptr;
  std::vector<VkPipeline> pipelines;
  std::shared_ptr<BufferImpl> dummy;
  DeviceInfo info;
  uint64_t allocated = 0, limit = 0;
  bool limit_from_env = false;
  bool recording = false;
  uint32_t sets_used = 0;
  uint64_t dispatches = 0, submissions = 0;
  std::vector<std::shared_ptr<BufferImpl>> in_flight;  // kept alive until the next flush

  static std::shared_ptr<Core> open(int index);
  ~Core();
  void check(VkResult r, const char* call) const;
  std::shared_ptr<BufferImpl> make_buffer(uint64_t bytes, bool host, const char* why);
  VkPipeline pipeline(const char* shader);
  void begin_if_needed();
  void flush();
  // Records one dispatch of `shader` with the buffers at bindings 0.. (null
  // or invalid: the dummy), push constants, and a barrier after it.
  void dispatch(const char* shader, std::initializer_list<const Buffer*> bufs, const void* push, size_t push_bytes,
                uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  void copy(BufferImpl& src, BufferImpl& dst, uint64_t src_off, uint64_t dst_off, uint64_t bytes);
};

struct DeviceImpl {
  std::shared_ptr<Core> core;
  // Scratch for attention's backward (dP, dS), grown as needed.
  Buffer scratch[2];
};

}  // namespace wordlight::gpu::detail
