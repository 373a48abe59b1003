// Which device a computation runs on (WORDLIGHT_DEVICE, the CLI's --device):
// parsed the same way in every build, Vulkan or not.
#include <cstdlib>
#include <string>

#include "wordlight/error.h"
#include "wordlight/gpu.h"

namespace wordlight::gpu {

std::string DeviceRequest::str() const {
  switch (kind) {
    case DeviceKind::cpu: return "cpu";
    case DeviceKind::automatic: return "auto";
    case DeviceKind::vulkan: return index < 0 ? "vulkan" : "vulkan:" + std::to_string(index);
  }
  return "?";
}

DeviceRequest parse_device(const std::string& s, const std::string& where) {
  DeviceRequest r;
  if (s == "cpu") return r;
  if (s == "auto") {
    r.kind = DeviceKind::automatic;
    return r;
  }
  if (s == "vulkan" || s == "gpu") {
    r.kind = DeviceKind::vulkan;
    return r;
  }
  if (s.rfind("vulkan:", 0) == 0) {
    const std::string n = s.substr(7);
    bool digits = !n.empty() && n.size() <= 4;
    for (char c : n) digits = digits && c >= '0' && c <= '9';
    if (digits) {
      r.kind = DeviceKind::vulkan;
      r.index = std::stoi(n);
      return r;
    }
  }
  throw Error(where + ": unknown device '" + s + "' (expected cpu, vulkan, vulkan:N or auto)");
}

DeviceRequest device_from_env() {
  const char* e = std::getenv("WORDLIGHT_DEVICE");
  if (!e || !*e) return {};
  return parse_device(e, "WORDLIGHT_DEVICE");
}

std::shared_ptr<Device> open_device(const DeviceRequest& r, std::string* fallback_reason) {
  if (fallback_reason) fallback_reason->clear();
  switch (r.kind) {
    case DeviceKind::cpu: return nullptr;
    case DeviceKind::vulkan: return Device::open(r.index);
    case DeviceKind::automatic:
      try {
        return Device::open(-1);
      } catch (const Error& e) {
        if (fallback_reason) *fallback_reason = e.what();
        return nullptr;
      }
  }
  return nullptr;
}

}  // namespace wordlight::gpu
