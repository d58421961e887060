// Serves members' uncompressed bytes to many threads at once: the read path
// of the filesystem, made of four pieces, each with its own lock:
//
//  - StoredReads (stored_reads.h): stored members straight from the
//    archive, their CRC-32 checked once every byte has been read;
//  - ChunkScheduler (chunk_scheduler.h): the chunks of compressed members,
//    who decodes which from where, and who waits;
//  - AccessPointIndex (access_points.h): where decoding can start;
//  - DecoderPool (decoder_pool.h): decoders parked between reads;
//
// over one ChunkCache (chunk_cache.h) of decompressed chunks shared by all
// members. Compressed reads are replied from the cache's chunks
// themselves, with no copy: a ReadReply keeps them alive.
//
// Memory: cache_size for cached chunks and access points together (points
// take at most half of it, or up to kMinPointBudget when that is more),
// plus a constant: idle decoders (at most max_idle_decoders, about 110 KiB
// each with zlib, 150 KiB with igzip), the decoder and chunk of each
// running read, up to 8 MiB of freed chunk buffers kept for reuse, and a
// few hundred bytes per member read so far. Measured with a 1 GiB member
// read whole (content_bench, igzip): peak RSS 85 MiB at cache_size 64 MiB,
// 307 MiB at the default.
//
// Thread-safe: any number of threads may call Read() on any members.
#ifndef NPZFS_CORE_READ_CONTENT_H_
#define NPZFS_CORE_READ_CONTENT_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/result.h"
#include "core/read/access_points.h"
#include "core/read/chunk_cache.h"
#include "core/read/chunk_scheduler.h"
#include "core/read/decoder_pool.h"
#include "core/read/disk_cache.h"
#include "core/read/index_file.h"
#include "core/read/options.h"
#include "core/read/stored_reads.h"
#include "core/read/workers.h"

namespace npzfs::core {

struct ContentStats : SchedulerStats {
  uint64_t access_points = 0;
  uint64_t access_point_bytes = 0;
  uint64_t idle_decoders = 0;
  ChunkCacheStats cache;
  DiskCacheStats disk;  // all zero without a disk cache
};

// The bytes of one read, as pieces of memory that stay valid while the
// reply lives: chunks of the cache (held by the reply), or the caller's
// scratch buffer.
class ReadReply {
 public:
  const std::vector<std::span<const std::byte>>& pieces() const { return pieces_; }
  size_t size() const { return size_; }
  // Copies the bytes to `out` (at least size() bytes).
  void CopyTo(std::span<std::byte> out) const;

 private:
  friend class Content;
  void Add(std::span<const std::byte> piece) {
    pieces_.push_back(piece);
    size_ += piece.size();
  }

  std::vector<std::span<const std::byte>> pieces_;
  std::vector<ChunkRef> chunks_;
  size_t size_ = 0;
};

// Where a Content keeps its persisted index (index_file.h).
struct PersistSetup {
  std::string path;       // the index file, written when passes end and at the end
  std::string evict_dir;  // a directory kept within kIndexDirMax, or empty
  IndexIdentity identity;
  std::unique_ptr<IndexFile> loaded;             // the index found at mount, if any
  std::function<void(const std::string&)> warn;  // problems with it, each said once
};

class Content {
 public:
  // `archive` must outlive the Content. Chunks evicted from memory go to
  // `disk`, when given, and are read back from there.
  // With `persist`, members start from the loaded index and what is
  // learned is written back: a second after a member's first pass ends
  // (several ending together make one write) and when the Content goes.
  explicit Content(const Archive& archive, const ContentOptions& options = {},
                   std::unique_ptr<DiskCache> disk = nullptr,
                   std::unique_ptr<PersistSetup> persist = nullptr);
  ~Content();
  Content(const Content&) = delete;
  Content& operator=(const Content&) = delete;

  // Bytes [offset, offset + size) of member i, fewer only at the member's
  // end. Stored members' bytes are read into `scratch` (at least `size`
  // bytes, which must outlive the reply); compressed ones come from the
  // cache. Errors: kCorrupt (bad data, size or CRC-32 mismatch: lasting
  // for the member), kUnsupported (encrypted, unknown method), kIo,
  // kInvalidArgument (a directory, no member i), each naming the member.
  Result<ReadReply> Read(size_t member, uint64_t offset, size_t size, std::span<std::byte> scratch);

  // The same, copied into `out`; returns the count.
  Result<size_t> Read(size_t member, uint64_t offset, std::span<std::byte> out);

  const ContentOptions& options() const { return options_; }
  DiskCache* disk_cache() const { return disk_.get(); }

  // Writes the index now if it would say more than the file does (no-op
  // without `persist`). Errors: kIo.
  Result<void> WriteIndex();
  ContentStats stats();

  // Uncompressed offsets of member i's access points, in order (tests and
  // the benchmark).
  std::vector<uint64_t> AccessPointOffsets(size_t member) { return points_.Offsets(member); }

 private:
  Result<ReadReply> ReadChunked(size_t member, uint64_t offset, size_t size);
  void IndexLoop();

  const Archive& archive_;
  const ContentOptions options_;
  const std::unique_ptr<DiskCache> disk_;
  const std::unique_ptr<PersistSetup> persist_;
  ChunkCache cache_;
  AccessPointIndex points_;
  DecoderPool pool_;
  StoredReads stored_;
  ChunkScheduler scheduler_;
  // The index writer: woken when a pass ends. Plain std types: the wait
  // is timed, which CondVar does not offer.
  std::mutex index_mu_;
  std::condition_variable index_cv_;
  bool index_dirty_ = false;
  bool index_stopping_ = false;
  uint64_t index_written_ = 0;  // what the last write held, as SnapshotSize()
  std::thread index_writer_;
  // Last: its jobs use the pieces above, so it stops first.
  Workers workers_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_CONTENT_H_
