#include "wordlight/arena.h"

namespace wordlight {

static constexpr size_t kAlign = 64;

static uint8_t* align_up(uint8_t* p) {
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + kAlign - 1) & ~(uintptr_t(kAlign) - 1));
}

void* Arena::alloc_bytes(size_t bytes) {
  bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  if (bytes == 0) bytes = kAlign;
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
  c.size = (bytes + kAlign > chunk_bytes_ ? bytes + kAlign : chunk_bytes_);
  c.mem.reset(new uint8_t[c.size]);
  uint8_t* base = align_up(c.mem.get());
  c.used = bytes;
  chunks_.push_back(std::move(c));
  current_ = chunks_.size() - 1;
  return base;
}

void Arena::reset() {
  size_t in_use = bytes_in_use();
  if (in_use > high_water_) high_water_ = in_use;
  if (chunks_.size() > 1) {
    // Several chunks means the pass outgrew the first: replace them by one
    // chunk that holds the whole pass, so the next pass is contiguous.
    chunks_.clear();
    Chunk c;
    c.size = high_water_ + 2 * kAlign;
    if (c.size < chunk_bytes_) c.size = chunk_bytes_;
    c.mem.reset(new uint8_t[c.size]);
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

size_t Arena::bytes_reserved() const {
  size_t n = 0;
  for (auto& c : chunks_) n += c.size;
  return n;
}

}  // namespace wordlight
