#include "core/chunk_cache.h"

#include <vector>

namespace npzfs::core {

ChunkRef ChunkCache::Lookup(const ChunkKey& key) {
  std::lock_guard lock(mu_);
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
  std::lock_guard lock(mu_);
  return map_.count(key) != 0;
}

void ChunkCache::Insert(const ChunkKey& key, ChunkRef chunk) {
  if (!chunk || chunk->size() > capacity_) return;
  // Evicted chunks are released after the lock is dropped: freeing 100 KiB
  // and more may be an munmap.
  std::vector<ChunkRef> evicted;
  {
    std::lock_guard lock(mu_);
    if (map_.count(key) != 0) return;
    while (stats_.bytes + chunk->size() > capacity_ && !lru_.empty()) {
      Entry& victim = lru_.back();
      stats_.bytes -= victim.chunk->size();
      ++stats_.evictions;
      evicted.push_back(std::move(victim.chunk));
      map_.erase(victim.key);
      lru_.pop_back();
    }
    stats_.bytes += chunk->size();
    ++stats_.inserts;
    lru_.push_front(Entry{key, std::move(chunk)});
    map_.emplace(key, lru_.begin());
  }
}

void ChunkCache::EraseMember(uint64_t member) {
  std::vector<ChunkRef> evicted;
  std::lock_guard lock(mu_);
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

ChunkCacheStats ChunkCache::stats() const {
  std::lock_guard lock(mu_);
  ChunkCacheStats s = stats_;
  s.chunks = map_.size();
  return s;
}

}  // namespace npzfs::core
