// A bounded LRU cache of decompressed chunks, shared by all members.
#ifndef NPZFS_CORE_READ_CHUNK_CACHE_H_
#define NPZFS_CORE_READ_CHUNK_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/base/mutex.h"

namespace npzfs::core {

// Uncompressed bytes of one member: [chunk index * chunk size, + size()).
// Immutable once made.
//
// Storage of 64 KiB and more is mapped pages of its own, not malloc's:
// chunks are made by one thread and freed by another, and malloc's
// per-thread arenas would keep freed chunks resident, so the daemon's
// memory could exceed the cache's budget several times over. A few freed
// buffers are kept for reuse (ChunkMemoryStats), the rest unmapped.
class Chunk {
 public:
  // Uninitialised storage for `size` bytes, filled by the maker before it
  // shares the chunk. Throws std::bad_alloc.
  explicit Chunk(size_t size);
  ~Chunk();
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::span<std::byte> mutable_bytes() { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  std::byte* data_;
  size_t size_;
  bool mapped_;
};

// Freed chunk buffers kept for reuse, process-wide.
struct ChunkMemoryStats {
  uint64_t free_buffers = 0;
  uint64_t free_bytes = 0;
};
ChunkMemoryStats GetChunkMemoryStats();

using ChunkRef = std::shared_ptr<const Chunk>;

struct ChunkKey {
  uint64_t member = 0;
  uint64_t index = 0;
  bool operator==(const ChunkKey&) const = default;
};

struct ChunkCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t inserts = 0;
  uint64_t evictions = 0;
  uint64_t bytes = 0;   // chunk bytes held now
  uint64_t chunks = 0;  // chunks held now
};

// Holds at most `capacity` bytes of chunks, evicting the least recently
// used. Chunks are handed out as shared_ptr<const Chunk>: eviction drops
// the cache's reference only, so bytes a reader still copies from stay
// valid (leveldb's reason for ref-counted cache handles). Memory beyond
// capacity is then bounded by the chunks callers hold.
//
// Thread-safe: one internal mutex, held only for the map and list updates,
// never while chunk bytes are made or copied. It is a leaf lock: nothing
// else is locked while it is held.
class ChunkCache {
 public:
  // Told of every chunk evicted to stay within the capacity (not of those
  // EraseMember drops), with no lock of the cache held; called by the
  // thread that inserted or shrank. Must not call back into the cache.
  using SpillFn = std::function<void(const ChunkKey&, const ChunkRef&)>;

  explicit ChunkCache(uint64_t capacity, SpillFn spill = nullptr)
      : spill_(std::move(spill)), capacity_(capacity) {}
  ChunkCache(const ChunkCache&) = delete;
  ChunkCache& operator=(const ChunkCache&) = delete;

  // The chunk, made most recently used; nullptr when absent. Counts a hit
  // or a miss.
  ChunkRef Lookup(const ChunkKey& key);

  // Whether the chunk is held, without touching the order or the counts.
  bool Contains(const ChunkKey& key) const;

  // Adds `chunk` as most recently used unless `key` is already held (the
  // held chunk stays; the bytes are the same). A chunk larger than the
  // whole capacity is not kept (but spilled).
  void Insert(const ChunkKey& key, ChunkRef chunk);

  // Drops every chunk of `member`.
  void EraseMember(uint64_t member);

  // Changes the capacity, evicting the least recently used chunks beyond a
  // smaller one (Content gives what access points take from its budget).
  void SetCapacity(uint64_t capacity);

  uint64_t capacity() const;
  ChunkCacheStats stats() const;

 private:
  struct KeyHash {
    size_t operator()(const ChunkKey& k) const {
      return std::hash<uint64_t>()(k.member * 0x9E3779B97F4A7C15ull ^ k.index);
    }
  };
  struct Entry {
    ChunkKey key;
    ChunkRef chunk;
  };
  using List = std::list<Entry>;

  // Evicts until `incoming` more bytes fit; the chunks dropped go to
  // `evicted`, to be released once mu_ is.
  void EvictLocked(uint64_t incoming, std::vector<Entry>& evicted) REQUIRES(mu_);
  void Spill(const std::vector<Entry>& evicted) const EXCLUDES(mu_);

  const SpillFn spill_;
  mutable Mutex mu_;
  uint64_t capacity_ GUARDED_BY(mu_);
  List lru_ GUARDED_BY(mu_);  // most recently used first
  std::unordered_map<ChunkKey, List::iterator, KeyHash> map_ GUARDED_BY(mu_);
  ChunkCacheStats stats_ GUARDED_BY(mu_);
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_CHUNK_CACHE_H_
