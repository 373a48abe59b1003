#pragma once
// Per-thread row buffers that only grow, so steady-state op calls do not
// allocate. Private to core/src/ops.
//
// The anonymous namespace is deliberate: every op file that includes this
// gets its own set of buffers, so one op's scratch can never alias
// another's when ops call each other. `slot` (0..3) picks the buffer; a
// function uses distinct slots for buffers that are alive at once.
#include <cstdint>
#include <vector>

namespace wordlight::ops {
namespace {

template <class T>
T* scratch(int slot, int64_t n) {
  thread_local std::vector<T> bufs[4];
  auto& b = bufs[slot];
  if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
  return b.data();
}

}  // namespace
}  // namespace wordlight::ops
