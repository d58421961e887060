// Decompressed chunks evicted from memory, kept in a file.
#ifndef NPZFS_CORE_READ_DISK_CACHE_H_
#define NPZFS_CORE_READ_DISK_CACHE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/mutex.h"
#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/read/chunk_cache.h"

namespace npzfs::core {

struct DiskCacheOptions {
  // Where the file is made: unlinked at once (O_TMPFILE), so nothing is
  // left behind, whatever ends the daemon. Empty: $TMPDIR, else /tmp.
  std::string dir;
  // Whether `dir` was asked for (-o disk_cache=): then failing to make the
  // file fails the mount, and a RAM-backed dir is used with a warning.
  // Otherwise the mount goes on without a disk cache, and a RAM-backed
  // $TMPDIR is not used (its pages could not be reclaimed without swap).
  bool dir_given = false;
  // The most chunk bytes the file holds (-o disk_cache_size=; 0: no disk
  // cache), at most half the space free on its filesystem at mount. 1 GiB:
  // a 1 GiB member read whole can then be read again anywhere without
  // decoding, from pages the kernel keeps while it has memory to spare.
  uint64_t size = uint64_t{1} << 30;
};

struct DiskCacheStats {
  uint64_t capacity = 0;  // bytes
  uint64_t bytes = 0;     // chunk bytes held now
  uint64_t puts = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t bad_reads = 0;  // read back short, failed, or not what was put
  uint64_t write_errors = 0;
  uint64_t caller_writes = 0;  // PutLater() written by its caller: the writer was behind
};

// Slots of chunk_size bytes in one unlinked file; the least recently used
// chunk gives its slot to a new one. Each chunk's CRC-32 is kept in memory
// (with its key: about 100 bytes a slot) and checked on every read back:
// a chunk that does not match is dropped and counts as absent, so the
// caller decodes it again. Writes go through the page cache: the kernel
// writes them out and reclaims them as it needs, unlike the daemon's own
// memory.
//
// Thread-safe: one mutex, a leaf, never held during I/O; a slot in use by
// a read or write is pinned and not given away. One thread of its own,
// started by the first PutLater(), writes what it queues.
class DiskCache {
 public:
  // Errors: kIo naming the directory.
  static Result<std::unique_ptr<DiskCache>> Open(const DiskCacheOptions& options,
                                                 uint64_t chunk_size);
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;

  ~DiskCache();

  // Keeps a copy of `bytes` (at most chunk_size) as chunk `key`; a write
  // error only counts.
  void Put(const ChunkKey& key, std::span<const std::byte> bytes) EXCLUDES(mu_);

  // The same, done by the cache's own thread, so that whoever evicts the
  // chunk (a decoder, mostly) does not wait for the write. At most 8 MiB
  // wait to be written; past that the caller writes the chunk itself.
  void PutLater(const ChunkKey& key, ChunkRef chunk) EXCLUDES(mu_);

  // Waits until every chunk given to PutLater() is written (tests).
  void Flush() EXCLUDES(mu_);

  // Chunk `key` read back and checked; nullptr when it is not held or not
  // what was put. Throws std::bad_alloc.
  ChunkRef Get(const ChunkKey& key) EXCLUDES(mu_);

  bool Contains(const ChunkKey& key) EXCLUDES(mu_);

  // Drops every chunk of `member`.
  void EraseMember(uint64_t member) EXCLUDES(mu_);

  DiskCacheStats stats() EXCLUDES(mu_);
  const std::string& dir() const { return dir_; }
  // The file's filesystem keeps its pages in memory (tmpfs, ramfs).
  bool ram_backed() const { return ram_backed_; }

  // For tests: overwrites the stored bytes of chunk `key` at `offset`.
  bool CorruptForTest(const ChunkKey& key, uint64_t offset) EXCLUDES(mu_);

 private:
  struct Slot {
    ChunkKey key;
    uint32_t crc = 0;
    uint32_t length = 0;
    int pins = 0;
    bool held = false;  // key, crc and length are valid
    std::list<uint32_t>::iterator lru;
  };
  struct KeyHash {
    size_t operator()(const ChunkKey& k) const {
      return std::hash<uint64_t>()(k.member * 0x9E3779B97F4A7C15ull ^ k.index);
    }
  };

  DiskCache(UniqueFd fd, std::string dir, bool ram_backed, uint64_t chunk_size, uint64_t slots);
  std::optional<uint32_t> TakeSlotLocked() REQUIRES(mu_);
  void DropLocked(uint32_t slot) REQUIRES(mu_);

  static constexpr uint64_t kMaxQueued = uint64_t{8} << 20;
  void WriteLoop() EXCLUDES(mu_);

  const UniqueFd fd_;
  const std::string dir_;
  const bool ram_backed_;
  const uint64_t chunk_size_;

  Mutex mu_;
  std::vector<Slot> slots_ GUARDED_BY(mu_);
  std::vector<uint32_t> free_ GUARDED_BY(mu_);
  std::list<uint32_t> lru_ GUARDED_BY(mu_);  // held slots, most recently used first
  std::unordered_map<ChunkKey, uint32_t, KeyHash> map_ GUARDED_BY(mu_);
  DiskCacheStats stats_ GUARDED_BY(mu_);

  CondVar queue_cv_;  // a chunk queued, the queue emptied, or stopping
  std::deque<std::pair<ChunkKey, ChunkRef>> queue_ GUARDED_BY(mu_);
  uint64_t queued_bytes_ GUARDED_BY(mu_) = 0;
  bool writing_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> sync_puts_{0};
  std::thread writer_;  // started under mu_; joined by the destructor
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_DISK_CACHE_H_
