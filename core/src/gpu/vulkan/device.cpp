// The Vulkan side of wordlight/gpu.h: instance and device selection,
// buffers (device memory, host-mapped when the memory type allows it, a
// staging copy otherwise), one compute pipeline per embedded shader, and
// the command recorder (every op appends a dispatch and a barrier to one
// command buffer; flush() submits it and waits).
#include "vulkan_internal.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "shaders.h"

namespace wordlight::gpu {
namespace detail {

const char* vk_result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult";
  }
}

void Core::check(VkResult r, const char* call) const {
  if (r == VK_SUCCESS) return;
  throw Error("vulkan device " + std::to_string(info.index) + " (" + info.name + "): " + call + " failed: " +
              vk_result_name(r) + " (" + std::to_string(static_cast<int>(r)) + ")");
}

Core::~Core() {
  if (device) {
    vkDeviceWaitIdle(device);
    if (dummy) {  // holds no reference to this core (that would be a cycle): freed here
      if (dummy->mapped) vkUnmapMemory(device, dummy->memory);
      if (dummy->buffer) vkDestroyBuffer(device, dummy->buffer, nullptr);
      if (dummy->memory) vkFreeMemory(device, dummy->memory, nullptr);
    }
    for (VkPipeline p : pipelines)
      if (p) vkDestroyPipeline(device, p, nullptr);
    if (pipeline_layout) vkDestroyPipelineLayout(device, pipeline_layout, nullptr);
    if (set_layout) vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
    if (pool) vkDestroyDescriptorPool(device, pool, nullptr);
    if (fence) vkDestroyFence(device, fence, nullptr);
    if (cmd_pool) vkDestroyCommandPool(device, cmd_pool, nullptr);
    vkDestroyDevice(device, nullptr);
  }
  if (instance) vkDestroyInstance(instance, nullptr);
}

BufferImpl::~BufferImpl() {
  if (!core) return;
  if (mapped) vkUnmapMemory(core->device, memory);
  if (buffer) vkDestroyBuffer(core->device, buffer, nullptr);
  if (memory) vkFreeMemory(core->device, memory, nullptr);
  core->allocated -= bytes;
}

namespace {

VkInstance make_instance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "wordlight";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkInstance inst = nullptr;
  const VkResult r = vkCreateInstance(&ci, nullptr, &inst);
  if (r != VK_SUCCESS)
    throw Error(std::string("vulkan: vkCreateInstance failed: ") + vk_result_name(r) +
                " (no Vulkan driver installed? Debian: mesa-vulkan-drivers gives the lavapipe CPU device)");
  return inst;
}

int compute_family(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> q(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q.data());
  for (uint32_t i = 0; i < n; ++i)
    if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return static_cast<int>(i);
  return -1;
}

DeviceInfo describe(VkPhysicalDevice pd, int index) {
  VkPhysicalDeviceProperties p;
  vkGetPhysicalDeviceProperties(pd, &p);
  DeviceInfo d;
  d.index = index;
  d.name = p.deviceName;
  switch (p.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: d.type = "discrete"; break;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: d.type = "integrated"; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: d.type = "virtual"; break;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: d.type = "cpu"; break;
    default: d.type = "other";
  }
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(pd, &mp);
  for (uint32_t h = 0; h < mp.memoryHeapCount; ++h)
    if (mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.memory_bytes = std::max<uint64_t>(d.memory_bytes, mp.memoryHeaps[h].size);
  uint32_t ne = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &ne, nullptr);
  std::vector<VkExtensionProperties> ext(ne);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &ne, ext.data());
  for (const auto& e : ext)
    if (std::strcmp(e.extensionName, "VK_KHR_cooperative_matrix") == 0) d.cooperative_matrix = true;
  return d;
}

int type_rank(const std::string& t) {
  if (t == "discrete") return 0;
  if (t == "integrated") return 1;
  if (t == "virtual") return 2;
  if (t == "cpu") return 3;
  return 4;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance inst) {
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(inst, &n, nullptr);
  std::vector<VkPhysicalDevice> v(n);
  if (n) vkEnumeratePhysicalDevices(inst, &n, v.data());
  v.resize(n);
  std::vector<VkPhysicalDevice> out;
  for (VkPhysicalDevice pd : v)
    if (compute_family(pd) >= 0) out.push_back(pd);
  return out;
}

uint64_t parse_bytes(const char* s) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || !(v >= 0)) throw Error(std::string("WORDLIGHT_VULKAN_MEMORY_LIMIT: not a size: '") + s + "'");
  double m = 1;
  if (*end) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(*end)));
    if (c == 'k') m = 1024.0;
    else if (c == 'm') m = 1024.0 * 1024;
    else if (c == 'g') m = 1024.0 * 1024 * 1024;
    else throw Error(std::string("WORDLIGHT_VULKAN_MEMORY_LIMIT: unknown suffix in '") + s + "' (use k, M or G)");
  }
  return static_cast<uint64_t>(v * m);
}

int find_memory_type(const VkPhysicalDeviceMemoryProperties& mp, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return static_cast<int>(i);
  return -1;
}

}  // namespace

std::shared_ptr<BufferImpl> Core::make_buffer(uint64_t bytes, bool host, const char* why) {
  bytes = std::max<uint64_t>(bytes, 16);
  if (!host && allocated + bytes > limit)
    throw Error("vulkan device " + std::to_string(info.index) + " (" + info.name + "): out of device memory in " +
                why + ": " + std::to_string(bytes) + " bytes asked, " + std::to_string(allocated) + " of " +
                std::to_string(limit) + " in use" +
                (limit_from_env ? " (WORDLIGHT_VULKAN_MEMORY_LIMIT)" : ""));
  auto b = std::make_shared<BufferImpl>();
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = bytes;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device, &bi, nullptr, &b->buffer), "vkCreateBuffer");
  b->core = shared_from_this();  // from here on the destructor frees what exists
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device, b->buffer, &req);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(physical, &mp);
  const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = -1;
  if (host) {
    type = find_memory_type(mp, req.memoryTypeBits, hv);
  } else {
    // Device memory the host can map (lavapipe, integrated GPUs, resizable
    // BAR) saves the staging copy; otherwise plain device-local memory.
    type = find_memory_type(mp, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | hv);
    if (type < 0) type = find_memory_type(mp, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  }
  if (type < 0) type = find_memory_type(mp, req.memoryTypeBits, 0);
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = static_cast<uint32_t>(type);
  const VkResult r = vkAllocateMemory(device, &ai, nullptr, &b->memory);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    throw Error("vulkan device " + std::to_string(info.index) + " (" + info.name + "): out of device memory in " +
                why + " (vkAllocateMemory of " + std::to_string(req.size) + " bytes: " + vk_result_name(r) + ")");
  check(r, "vkAllocateMemory");
  b->bytes = host ? 0 : bytes;  // staging buffers do not count against the device limit
  allocated += b->bytes;
  check(vkBindBufferMemory(device, b->buffer, b->memory, 0), "vkBindBufferMemory");
  if ((mp.memoryTypes[type].propertyFlags & hv) == hv)
    check(vkMapMemory(device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped), "vkMapMemory");
  b->elements = static_cast<int64_t>(bi.size / 4);
  return b;
}

// ------------------------------------------------------------ recorder
void Core::begin_if_needed() {
  if (recording) return;
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
  recording = true;
}

void Core::flush() {
  if (!recording) return;
  recording = false;
  check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  check(vkQueueSubmit(queue, 1, &si, fence), "vkQueueSubmit");
  const VkResult w = vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX);
  ++submissions;
  vkResetFences(device, 1, &fence);
  vkResetCommandBuffer(cmd, 0);
  vkResetDescriptorPool(device, pool, 0);
  sets_used = 0;
  in_flight.clear();
  check(w, "vkWaitForFences (running the recorded ops)");
}

VkPipeline Core::pipeline(const char* shader) {
  int id = -1;
  for (int i = 0; i < kShaderCount; ++i)
    if (std::strcmp(kShaders[i].name, shader) == 0) id = i;
  if (id < 0) throw Error(std::string("vulkan: no embedded shader named ") + shader);
  if (pipelines.size() < static_cast<size_t>(kShaderCount)) pipelines.resize(kShaderCount, nullptr);
  if (pipelines[id]) return pipelines[id];
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = static_cast<size_t>(kShaders[id].n_words) * 4;
  mi.pCode = kShaders[id].words;
  VkShaderModule mod = nullptr;
  check(vkCreateShaderModule(device, &mi, nullptr, &mod), (std::string("vkCreateShaderModule ") + shader).c_str());
  VkComputePipelineCreateInfo pi{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  pi.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  pi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pi.stage.module = mod;
  pi.stage.pName = "main";
  pi.layout = pipeline_layout;
  const VkResult r = vkCreateComputePipelines(device, nullptr, 1, &pi, nullptr, &pipelines[id]);
  vkDestroyShaderModule(device, mod, nullptr);
  check(r, (std::string("vkCreateComputePipelines ") + shader).c_str());
  return pipelines[id];
}

void Core::dispatch(const char* shader, std::initializer_list<const Buffer*> bufs, const void* push,
                    size_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  if (gx == 0 || gy == 0 || gz == 0) return;
  if (bufs.size() > kBindings) throw Error("vulkan: too many buffers for one dispatch");
  if (push_bytes > 128) throw Error("vulkan: push constants over 128 bytes");
  VkPipeline p = pipeline(shader);
  if (sets_used >= kSetsPerPool) flush();
  begin_if_needed();
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pool;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &set_layout;
  VkDescriptorSet set = nullptr;
  check(vkAllocateDescriptorSets(device, &ai, &set), "vkAllocateDescriptorSets");
  ++sets_used;
  VkDescriptorBufferInfo infos[kBindings];
  VkWriteDescriptorSet writes[kBindings];
  int j = 0;
  for (const Buffer* b : bufs) {
    const BufferImpl* impl = b && b->valid() ? buffer_impl(*b) : dummy.get();
    infos[j] = {impl->buffer, 0, VK_WHOLE_SIZE};
    if (b && b->valid()) in_flight.push_back(b_impl_shared(*b));
    ++j;
  }
  for (; j < static_cast<int>(kBindings); ++j) infos[j] = {dummy->buffer, 0, VK_WHOLE_SIZE};
  for (uint32_t k = 0; k < kBindings; ++k) {
    writes[k] = VkWriteDescriptorSet{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[k].dstSet = set;
    writes[k].dstBinding = k;
    writes[k].descriptorCount = 1;
    writes[k].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[k].pBufferInfo = &infos[k];
  }
  vkUpdateDescriptorSets(device, kBindings, writes, 0, nullptr);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_layout, 0, 1, &set, 0, nullptr);
  if (push_bytes) vkCmdPushConstants(cmd, pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vkCmdDispatch(cmd, gx, gy, gz);
  // Every op reads what the one before wrote.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0,
                       nullptr, 0, nullptr);
  ++dispatches;
}

void Core::copy(BufferImpl& src, BufferImpl& dst, uint64_t src_off, uint64_t dst_off, uint64_t bytes) {
  flush();
  begin_if_needed();
  VkBufferCopy c{src_off, dst_off, bytes};
  vkCmdCopyBuffer(cmd, src.buffer, dst.buffer, 1, &c);
  flush();
}

// ------------------------------------------------------------ opening
std::shared_ptr<Core> Core::open(int index) {
  auto c = std::make_shared<Core>();
  c->instance = make_instance();
  const std::vector<VkPhysicalDevice> pds = physical_devices(c->instance);
  if (pds.empty())
    throw Error(
        "vulkan: no Vulkan device with a compute queue (a GPU driver, or Debian's mesa-vulkan-drivers for the "
        "lavapipe CPU device, must be installed)");
  int pick = index;
  if (index < 0) {
    pick = 0;
    for (int i = 1; i < static_cast<int>(pds.size()); ++i)
      if (type_rank(describe(pds[i], i).type) < type_rank(describe(pds[pick], pick).type)) pick = i;
  } else if (index >= static_cast<int>(pds.size())) {
    throw Error("vulkan:" + std::to_string(index) + ": no such device (" + std::to_string(pds.size()) +
                " Vulkan device" + (pds.size() == 1 ? "" : "s") + ", numbered from 0)");
  }
  c->physical = pds[pick];
  c->info = describe(c->physical, pick);
  c->family = compute_family(c->physical);
  const float prio = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = static_cast<uint32_t>(c->family);
  qi.queueCount = 1;
  qi.pQueuePriorities = &prio;
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  c->check(vkCreateDevice(c->physical, &di, nullptr, &c->device), "vkCreateDevice");
  vkGetDeviceQueue(c->device, static_cast<uint32_t>(c->family), 0, &c->queue);

  VkCommandPoolCreateInfo cp{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  cp.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  cp.queueFamilyIndex = static_cast<uint32_t>(c->family);
  c->check(vkCreateCommandPool(c->device, &cp, nullptr, &c->cmd_pool), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo ca{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ca.commandPool = c->cmd_pool;
  ca.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ca.commandBufferCount = 1;
  c->check(vkAllocateCommandBuffers(c->device, &ca, &c->cmd), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  c->check(vkCreateFence(c->device, &fi, nullptr, &c->fence), "vkCreateFence");

  VkDescriptorSetLayoutBinding binds[kBindings];
  for (uint32_t k = 0; k < kBindings; ++k)
    binds[k] = {k, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo sl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  sl.bindingCount = kBindings;
  sl.pBindings = binds;
  c->check(vkCreateDescriptorSetLayout(c->device, &sl, nullptr, &c->set_layout), "vkCreateDescriptorSetLayout");
  VkPushConstantRange pr{VK_SHADER_STAGE_COMPUTE_BIT, 0, 128};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &c->set_layout;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &pr;
  c->check(vkCreatePipelineLayout(c->device, &pl, nullptr, &c->pipeline_layout), "vkCreatePipelineLayout");
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kBindings};
  VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp.maxSets = kSetsPerPool;
  dp.poolSizeCount = 1;
  dp.pPoolSizes = &ps;
  c->check(vkCreateDescriptorPool(c->device, &dp, nullptr, &c->pool), "vkCreateDescriptorPool");

  c->limit = c->info.memory_bytes;
  if (const char* e = std::getenv("WORDLIGHT_VULKAN_MEMORY_LIMIT"); e && *e) {
    c->limit = std::min<uint64_t>(c->limit, parse_bytes(e));
    c->limit_from_env = true;
  }
  c->dummy = c->make_buffer(16, true, "the dummy binding");
  c->dummy->core.reset();
  return c;
}

}  // namespace detail

// ------------------------------------------------------------ public API
bool built_with_vulkan() { return true; }

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkInstance inst = nullptr;
  if (vkCreateInstance(&ci, nullptr, &inst) != VK_SUCCESS) return out;
  const auto pds = detail::physical_devices(inst);
  for (int i = 0; i < static_cast<int>(pds.size()); ++i) out.push_back(detail::describe(pds[i], i));
  vkDestroyInstance(inst, nullptr);
  return out;
}

int64_t Buffer::size() const { return impl_ ? impl_->elements : 0; }

Device::Device() : impl_(std::make_unique<detail::DeviceImpl>()) {}
Device::~Device() {
  if (impl_ && impl_->core) {
    try {
      impl_->core->flush();
    } catch (...) {
    }
  }
}

std::shared_ptr<Device> Device::open(int index) {
  std::shared_ptr<Device> d(new Device());
  d->impl_->core = detail::Core::open(index);
  return d;
}

const DeviceInfo& Device::info() const { return impl_->core->info; }
uint64_t Device::bytes_allocated() const { return impl_->core->allocated; }
uint64_t Device::memory_limit() const { return impl_->core->limit; }
uint64_t Device::dispatches() const { return impl_->core->dispatches; }
uint64_t Device::submissions() const { return impl_->core->submissions; }
void Device::flush() { impl_->core->flush(); }

Buffer Device::alloc(int64_t n, bool zero) {
  if (n < 0) throw Error("vulkan alloc: negative size " + std::to_string(n));
  Buffer b;
  b.impl_ = impl_->core->make_buffer(static_cast<uint64_t>(n) * 4, false, "alloc");
  if (zero) fill(b, n, 0.0f);
  return b;
}

namespace {
void check_range(const Buffer& b, int64_t n, int64_t offset, const char* what) {
  if (!b.valid()) throw Error(std::string("vulkan ") + what + ": invalid buffer");
  if (n < 0 || offset < 0 || offset + n > b.size())
    throw Error(std::string("vulkan ") + what + ": " + std::to_string(n) + " elements at " + std::to_string(offset) +
                " do not fit a buffer of " + std::to_string(b.size()));
}
}  // namespace

void Device::upload(const Buffer& b, const float* data, int64_t n, int64_t offset) {
  check_range(b, n, offset, "upload");
  if (!n) return;
  detail::Core& c = *impl_->core;
  c.flush();  // the buffer may be in use by recorded work
  detail::BufferImpl& bi = *b.impl_;
  if (bi.mapped) {
    std::memcpy(static_cast<char*>(bi.mapped) + offset * 4, data, static_cast<size_t>(n) * 4);
    return;
  }
  auto st = c.make_buffer(static_cast<uint64_t>(n) * 4, true, "upload (staging)");
  std::memcpy(st->mapped, data, static_cast<size_t>(n) * 4);
  c.copy(*st, bi, 0, static_cast<uint64_t>(offset) * 4, static_cast<uint64_t>(n) * 4);
}

void Device::upload(const Buffer& b, const int32_t* data, int64_t n, int64_t offset) {
  static_assert(sizeof(int32_t) == sizeof(float), "4-byte elements");
  upload(b, reinterpret_cast<const float*>(data), n, offset);
}

void Device::download(const Buffer& b, float* data, int64_t n, int64_t offset) {
  check_range(b, n, offset, "download");
  detail::Core& c = *impl_->core;
  c.flush();
  if (!n) return;
  detail::BufferImpl& bi = *b.impl_;
  if (bi.mapped) {
    std::memcpy(data, static_cast<const char*>(bi.mapped) + offset * 4, static_cast<size_t>(n) * 4);
    return;
  }
  auto st = c.make_buffer(static_cast<uint64_t>(n) * 4, true, "download (staging)");
  c.copy(bi, *st, static_cast<uint64_t>(offset) * 4, 0, static_cast<uint64_t>(n) * 4);
  std::memcpy(data, st->mapped, static_cast<size_t>(n) * 4);
}

}  // namespace wordlight::gpu
