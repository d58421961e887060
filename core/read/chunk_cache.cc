#include "core/read/chunk_cache.h"

#include <sys/mman.h>

#include <new>
#include <vector>

namespace npzfs::core {
namespace {

constexpr size_t kMapAtLeast = 64 << 10;
constexpr size_t kPage = 4096;
constexpr size_t kMaxFreeBuffers = 32;
constexpr uint64_t kMaxFreeBytes = 8 << 20;

size_t RoundToPage(size_t n) { return (n + kPage - 1) / kPage * kPage; }

// Mapped buffers freed by chunks, kept for the next chunks of the same
// size: most chunks have one size, and reuse saves the page faults of fresh
// pages. Bounded by count and bytes; a leaf lock.
class BufferPool {
 public:
  // A buffer of `mapped` bytes (a multiple of the page size), or nullptr
  // when mmap fails.
  std::byte* Get(size_t mapped) {
    {
      MutexLock lock(&mu_);
      for (auto it = free_.begin(); it != free_.end(); ++it) {
        if (it->second != mapped) continue;
        std::byte* p = it->first;
        free_bytes_ -= mapped;
        free_.erase(it);
        return p;
      }
    }
    // cppcheck-suppress invalidFunctionArg ; MAP_ANONYMOUS takes fd -1
    void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<std::byte*>(p);
  }

  void Put(std::byte* p, size_t mapped) {
    {
      MutexLock lock(&mu_);
      if (free_.size() < kMaxFreeBuffers && free_bytes_ + mapped <= kMaxFreeBytes) {
        free_.emplace_back(p, mapped);
        free_bytes_ += mapped;
        return;
      }
    }
    ::munmap(p, mapped);
  }

  ChunkMemoryStats stats() {
    MutexLock lock(&mu_);
    return {free_.size(), free_bytes_};
  }

 private:
  Mutex mu_;
  std::vector<std::pair<std::byte*, size_t>> free_ GUARDED_BY(mu_);
  uint64_t free_bytes_ GUARDED_BY(mu_) = 0;
};

BufferPool& Pool() {
  static BufferPool* pool = new BufferPool;  // never destroyed: chunks may outlive statics
  return *pool;
}

}  // namespace

Chunk::Chunk(size_t size) : data_(nullptr), size_(size), mapped_(size >= kMapAtLeast) {
  if (mapped_) data_ = Pool().Get(RoundToPage(size));
  // Out of mappings (vm.max_map_count) or address space: malloc may still
  // have room, else it throws std::bad_alloc.
  if (data_ == nullptr) mapped_ = false, data_ = new std::byte[size];
}

Chunk::~Chunk() {
  if (mapped_) {
    Pool().Put(data_, RoundToPage(size_));
  } else {
    delete[] data_;
  }
}

ChunkMemoryStats GetChunkMemoryStats() { return Pool().stats(); }

ChunkRef ChunkCache::Lookup(const ChunkKey& key) {
  MutexLock lock(&mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->chunk;
}

bool ChunkCache::Contains(const ChunkKey& key) const {
  MutexLock lock(&mu_);
  return map_.count(key) != 0;
}

void ChunkCache::EvictLocked(uint64_t incoming, std::vector<Entry>& evicted) {
  while (stats_.bytes + incoming > capacity_ && !lru_.empty()) {
    Entry& victim = lru_.back();
    stats_.bytes -= victim.chunk->size();
    ++stats_.evictions;
    evicted.push_back(std::move(victim));
    map_.erase(evicted.back().key);
    lru_.pop_back();
  }
}

void ChunkCache::Spill(const std::vector<Entry>& evicted) const {
  if (!spill_) return;
  for (const Entry& e : evicted) spill_(e.key, e.chunk);
}

void ChunkCache::Insert(const ChunkKey& key, ChunkRef chunk) {
  if (!chunk) return;
  // Evicted chunks are spilled and released after the lock is dropped:
  // writing them out takes a while, freeing 100 KiB and more may be an
  // munmap.
  std::vector<Entry> evicted;
  {
    MutexLock lock(&mu_);
    if (map_.count(key) != 0) return;
    if (chunk->size() > capacity_) {
      evicted.push_back(Entry{key, std::move(chunk)});
    } else {
      EvictLocked(chunk->size(), evicted);
      stats_.bytes += chunk->size();
      ++stats_.inserts;
      lru_.push_front(Entry{key, std::move(chunk)});
      map_.emplace(key, lru_.begin());
    }
  }
  Spill(evicted);
}

void ChunkCache::EraseMember(uint64_t member) {
  std::vector<ChunkRef> evicted;
  MutexLock lock(&mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->key.member != member) {
      ++it;
      continue;
    }
    stats_.bytes -= it->chunk->size();
    evicted.push_back(std::move(it->chunk));
    map_.erase(it->key);
    it = lru_.erase(it);
  }
}

void ChunkCache::SetCapacity(uint64_t capacity) {
  std::vector<Entry> evicted;
  {
    MutexLock lock(&mu_);
    capacity_ = capacity;
    EvictLocked(0, evicted);
  }
  Spill(evicted);
}

uint64_t ChunkCache::capacity() const {
  MutexLock lock(&mu_);
  return capacity_;
}

ChunkCacheStats ChunkCache::stats() const {
  MutexLock lock(&mu_);
  ChunkCacheStats s = stats_;
  s.chunks = map_.size();
  return s;
}

}  // namespace npzfs::core
