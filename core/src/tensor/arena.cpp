#include "wordlight/arena.h"

#include <map>
#include <mutex>

namespace wordlight {

static constexpr size_t kAlign = 64;

static uint8_t* align_up(uint8_t* p) {
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + kAlign - 1) & ~(uintptr_t(kAlign) - 1));
}

namespace {

// Chunks released by arenas (destroyed, or replaced by the merged chunk on
// reset), kept for the next arena of the process. An explanation builds a
// fresh Graph per call; natively, multi-megabyte blocks come from mmap and go
// back with munmap, so without this every call paid the first-touch page
// faults of its whole working set (IG on a 4-layer, 256-wide BERT: ~550 MB,
// a third of the CPU time of the call, in the kernel). Bounded by
// kCacheBytes; a chunk released past that is freed. In wasm the allocator
// reuses freed memory itself (linear memory only grows), so there is no cache.
#if defined(__EMSCRIPTEN__)
constexpr size_t kCacheBytes = 0;
#else
constexpr size_t kCacheBytes = size_t(1) << 30;
#endif

struct ChunkCache {
  std::mutex m;
  std::multimap<size_t, std::unique_ptr<uint8_t[]>> free;  // by size
  size_t bytes = 0;
};
// Never destroyed: arenas may outlive static destruction (thread_local graphs).
ChunkCache& cache() {
  static ChunkCache* c = new ChunkCache;
  return *c;
}

// A cached chunk of at least `need` bytes and at most twice that (a small
// request must not take a block that a big pass will need), or a new one.
std::unique_ptr<uint8_t[]> cache_acquire(size_t need, size_t* size) {
  if (kCacheBytes > 0) {
    ChunkCache& c = cache();
    std::lock_guard<std::mutex> lock(c.m);
    auto it = c.free.lower_bound(need);
    if (it != c.free.end() && it->first / 2 <= need) {
      *size = it->first;
      std::unique_ptr<uint8_t[]> mem = std::move(it->second);
      c.bytes -= it->first;
      c.free.erase(it);
      return mem;
    }
  }
  *size = need;
  return std::unique_ptr<uint8_t[]>(new uint8_t[need]);
}

void cache_release(std::unique_ptr<uint8_t[]> mem, size_t size) {
  if (!mem || kCacheBytes == 0) return;
  ChunkCache& c = cache();
  std::lock_guard<std::mutex> lock(c.m);
  if (c.bytes + size > kCacheBytes) return;  // freed on return
  c.bytes += size;
  c.free.emplace(size, std::move(mem));
}

}  // namespace

Arena::~Arena() {
  for (auto& c : chunks_) cache_release(std::move(c.mem), c.size);
}

void* Arena::alloc_bytes(size_t bytes) {
  bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  if (bytes == 0) bytes = kAlign;
  if (!free_.empty()) {
    // The smallest released buffer that holds it, unless that wastes more
    // than a quarter (a big buffer stays for the big request that comes
    // next: a tape frees and allocates the same few sizes over and over).
    auto it = free_.lower_bound(bytes);
    if (it != free_.end() && it->first - bytes <= bytes / 4) {
      void* p = it->second;
      free_.erase(it);
      return p;
    }
  }
  while (current_ < chunks_.size()) {
    Chunk& c = chunks_[current_];
    uint8_t* base = align_up(c.mem.get());
    size_t cap = c.size - static_cast<size_t>(base - c.mem.get());
    if (c.used + bytes <= cap) {
      void* p = base + c.used;
      c.used += bytes;
      return p;
    }
    ++current_;
  }
  Chunk c;
  c.mem = cache_acquire(bytes + kAlign > chunk_bytes_ ? bytes + kAlign : chunk_bytes_, &c.size);
  uint8_t* base = align_up(c.mem.get());
  c.used = bytes;
  chunks_.push_back(std::move(c));
  current_ = chunks_.size() - 1;
  return base;
}

void Arena::release_bytes(void* p, size_t bytes) {
  bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  if (bytes == 0) bytes = kAlign;
  free_.emplace(bytes, p);
}

void Arena::reset() {
  free_.clear();
  size_t in_use = bytes_in_use();
  if (in_use > high_water_) high_water_ = in_use;
  if (chunks_.size() > 1) {
    // Several chunks means the pass outgrew the first: replace them by one
    // chunk that holds the whole pass, so the next pass is contiguous.
    for (auto& c : chunks_) cache_release(std::move(c.mem), c.size);
    chunks_.clear();
    Chunk c;
    size_t need = high_water_ + 2 * kAlign;
    if (need < chunk_bytes_) need = chunk_bytes_;
    c.mem = cache_acquire(need, &c.size);
    chunks_.push_back(std::move(c));
  }
  for (auto& c : chunks_) c.used = 0;
  current_ = 0;
}

size_t Arena::bytes_in_use() const {
  size_t n = 0;
  for (auto& c : chunks_) n += c.used;
  return n;
}

size_t Arena::bytes_free() const {
  size_t n = 0;
  for (auto& f : free_) n += f.first;
  return n;
}

size_t Arena::bytes_reserved() const {
  size_t n = 0;
  for (auto& c : chunks_) n += c.size;
  return n;
}

}  // namespace wordlight
