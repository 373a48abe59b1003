#pragma once
// A bump allocator: a forward/backward pass takes all its buffers from here,
// and reset() makes the memory reusable without returning it to the system,
// so repeated passes of the same size allocate nothing.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace wordlight {

class Arena {
 public:
  explicit Arena(size_t chunk_bytes = size_t(1) << 20) : chunk_bytes_(chunk_bytes) {}
  // Natively, the chunks go to a process-wide cache that the next arena
  // draws from (see arena.cpp), so a fresh Graph per call does not pay the
  // first-touch page faults of its whole working set again.
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // n elements of T, 64-byte aligned, uninitialised (zeroed if zero = true).
  template <class T>
  T* alloc(size_t n, bool zero = false) {
    void* p = alloc_bytes(n * sizeof(T));
    if (zero && n) std::memset(p, 0, n * sizeof(T));
    return static_cast<T*>(p);
  }
  // Forget every allocation; keep the chunks for reuse. Chunks that were
  // outgrown are merged into one of the high-water size on the next reset
  // (the outgrown ones go to the process-wide cache).
  void reset();
  size_t bytes_in_use() const;
  size_t bytes_reserved() const;

 private:
  void* alloc_bytes(size_t bytes);
  struct Chunk {
    std::unique_ptr<uint8_t[]> mem;
    size_t size = 0, used = 0;
  };
  std::vector<Chunk> chunks_;
  size_t current_ = 0;
  size_t chunk_bytes_;
  size_t high_water_ = 0;
};

}  // namespace wordlight
