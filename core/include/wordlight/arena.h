#pragma once
// A bump allocator: a forward/backward pass takes all its buffers from here,
// and reset() makes the memory reusable without returning it to the system,
// so repeated passes of the same size allocate nothing. A buffer handed back
// with release() goes to a free list that later allocations of (nearly) the
// same size take first: a tape that frees values it no longer needs
// (Graph's Retain::gradients) runs in the memory of its live buffers.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
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
  // Hands back a buffer of n elements of T that alloc<T>(n) returned (not
  // yet released, since the last reset): a later alloc of n' elements, n'
  // <= n <= n' + n'/4 in bytes, may return it.
  template <class T>
  void release(T* p, size_t n) {
    if (p) release_bytes(p, n * sizeof(T));
  }
  // Forget every allocation; keep the chunks for reuse. Chunks that were
  // outgrown are merged into one of the high-water size on the next reset
  // (the outgrown ones go to the process-wide cache).
  void reset();
  size_t bytes_in_use() const;
  size_t bytes_reserved() const;
  size_t bytes_free() const;  // released and not taken again

 private:
  void* alloc_bytes(size_t bytes);
  void release_bytes(void* p, size_t bytes);
  struct Chunk {
    std::unique_ptr<uint8_t[]> mem;
    size_t size = 0, used = 0;
  };
  std::vector<Chunk> chunks_;
  size_t current_ = 0;
  size_t chunk_bytes_;
  size_t high_water_ = 0;
  std::multimap<size_t, void*> free_;  // released buffers by rounded size
};

}  // namespace wordlight
