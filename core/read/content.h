// Serves members' uncompressed bytes to many threads at once: the read path
// of the filesystem.
//
// Stored members are read straight from the archive. Every other member is
// served in chunks (uncompressed [k * chunk_size, (k + 1) * chunk_size))
// from one LRU cache shared by all members, and made by decoders that run
// without any lock held:
//
//  - The first pass over a member (its "frontier") always decodes forward
//    from the start, computes the CRC-32 and, for deflate, keeps an access
//    point (zran.c) about every `span` bytes. A read beyond the frontier
//    continues it.
//  - A chunk behind the frontier that is not cached is made by a decoder
//    started at the nearest access point before it, or by a parked decoder
//    that stopped nearer (sequential reads continue one decoder), so once a
//    region has been reached a read anywhere costs at most one span.
//  - Two readers of one chunk never both decode it: the second waits for
//    the first's chunk (or, behind the frontier, for a running decoder that
//    will stop nearer than any access point).
//  - Deflate is inflated by ISA-L's igzip where built in, zlib otherwise
//    (ContentOptions::engine; inflater.h). igzip makes access points as it
//    goes, as zlib does, and resumes at them: measured on a 1 GiB member
//    (4.09:1), a first sequential read costs ~0.6 of zlib's CPU time and a
//    random 4 KiB read after it ~0.5.
//
// Memory: cache_size for cached chunks and access points together (points
// take at most half of it, or up to kMinPointBudget when that is more),
// plus a constant: idle decoders (at most max_idle_decoders, about 110 KiB
// each with zlib, 150 KiB with igzip), the decoder and chunk of each
// running read, up to 8 MiB of freed chunk buffers kept for reuse, and a
// few hundred bytes per member read so far (a stored member's CRC
// intervals: at most 256, about 16 KiB). Measured with a 1 GiB member read
// whole (content_bench, igzip): peak RSS 85 MiB at cache_size 64 MiB,
// 307 MiB at the default.
//
// Integrity: any kCorrupt from a member's data (bad deflate data, a size or
// CRC-32 mismatch) fails that read and every later read of the member. The
// CRC-32 is checked when the frontier reaches the end, and for stored
// members once every byte has been read, in any order.
//
// Thread-safe: any number of threads may call Read() on any members.
//
// Lock order: Content::states_mu_ alone; Member::mu, then pool_mu_, the
// cache's mutex, or points_mu_ and then the cache's mutex (points take
// their memory from the cache). No lock is held while decoding, reading
// the archive or copying into the caller's buffer.
#ifndef NPZFS_CORE_READ_CONTENT_H_
#define NPZFS_CORE_READ_CONTENT_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/archive/archive.h"
#include "core/read/chunk_cache.h"
#include "core/codec/inflater.h"
#include "core/base/result.h"

namespace npzfs::core {

// Points get at least this much memory, whatever cache_size: without them
// every read behind the frontier decodes from the member's start.
inline constexpr uint64_t kMinPointBudget = uint64_t{16} << 20;

struct ContentOptions {
  // Budget for decompressed data held in memory (-o cache_size=): chunks,
  // and access points' windows (see access_point_budget). The kernel's
  // page cache keeps what programs read recently; this cache saves
  // re-inflating what it dropped and what several readers share.
  // 256 MiB: a few hundred MiB of an array re-read (epochs over a training
  // set, mmap pages the kernel dropped) without decoding again, and small
  // next to the machines such arrays are read on.
  uint64_t cache_size = uint64_t{256} << 20;

  // Uncompressed bytes per cached chunk, aligned to multiples of it. Half
  // the kernel's usual FUSE read (128 KiB), so aligned reads never share a
  // chunk with their neighbours, and small enough that a random 4 KiB read
  // decodes little past what it needs (measured on a 1 GiB member with
  // zlib: 64 KiB chunks 1.4 ms per random read, 128 KiB 1.5-1.7 ms, 1 MiB
  // 4.2 ms, at the same sequential speed; with igzip 0.41 ms at 64 KiB,
  // 0.60 ms at 128 KiB).
  uint64_t chunk_size = uint64_t{64} << 10;

  // Uncompressed bytes between access points while the budget allows. A
  // read behind the frontier decodes on average span / 2 + chunk_size:
  // with zlib (~350 MB/s here) about 1 ms at 512 KiB, with igzip (~800
  // MB/s) about 0.4 ms. Points cost 32 KiB each: 6 % of the uncompressed
  // size at this span.
  uint64_t span = uint64_t{512} << 10;

  // Budget for all members' access points (their windows). 0 (the
  // default) is half of cache_size, at least kMinPointBudget. What points
  // hold is taken out of cache_size, down to half of it for the chunks.
  // When a new point would exceed the budget, the member with the densest
  // points loses every other one and its span doubles, until the total
  // fits: reads stay correct and cost at most one (larger) span. At the
  // default cache_size (128 MiB of points) the spacing stays 512 KiB for up
  // to 2 GiB of deflated members read; at 64 MiB (32 MiB of points), up to
  // 512 MiB, then 1 MiB up to 1 GiB.
  uint64_t access_point_budget = 0;

  // The inflate engine: ISA-L where built in (about twice zlib's speed on
  // numpy's data), else zlib. Both make and use the same access points.
  InflateEngine engine = DefaultInflateEngine();

  // Parked decoders kept across all members (least recently used dropped;
  // a dropped frontier resumes later from its last access point).
  size_t max_idle_decoders = 16;
};

struct ContentStats {
  uint64_t bytes_decoded = 0;  // uncompressed bytes produced, skipped ones too
  uint64_t chunks_made = 0;    // chunks decoded
  uint64_t resumes = 0;        // decoders started at an access point past 0
  uint64_t waits = 0;          // times a reader waited for another's decoding
  uint64_t access_points = 0;
  uint64_t access_point_bytes = 0;
  uint64_t idle_decoders = 0;
  ChunkCacheStats cache;
};

class Content {
 public:
  // `archive` must outlive the Content.
  explicit Content(const Archive& archive, const ContentOptions& options = {});
  ~Content();
  Content(const Content&) = delete;
  Content& operator=(const Content&) = delete;

  // Reads bytes [offset, offset + out.size()) of member i's content into
  // `out`; returns the count, smaller only at the member's end. Errors:
  // kCorrupt (bad data, size or CRC-32 mismatch: lasting for the member),
  // kUnsupported (encrypted, unknown method), kIo, kInvalidArgument (a
  // directory, no member i), each naming the member.
  //
  // When `already_reported` is given it is set to true if the error is a
  // lasting failure of the member that an earlier Read() already returned,
  // so the caller can log each failure once.
  Result<size_t> Read(size_t member, uint64_t offset, std::span<std::byte> out,
                      bool* already_reported = nullptr);

  const ContentOptions& options() const { return options_; }
  ContentStats stats() const;

  // Uncompressed offsets of member i's access points, in order (tests and
  // the benchmark).
  std::vector<uint64_t> AccessPointOffsets(size_t member) const;

 private:
  struct Member;
  struct Stream;
  class FrontierSink;
  enum class Plan { kWait, kRun };
  struct Made {
    uint64_t index;
    ChunkRef chunk;
  };
  struct IdleEntry {
    size_t member;
    uint64_t stream_id;
  };
  using PointRef = std::shared_ptr<const AccessPoint>;

  Member& MemberAt(size_t i);
  Member* FindMember(size_t i) const;
  Error FailureLocked(Member& m, bool* already_reported);

  Result<size_t> ReadStored(Member& m, uint64_t offset, std::span<std::byte> out,
                            bool* already_reported);
  Result<void> CoverCrc(Member& m, uint64_t offset, std::span<const std::byte> bytes,
                        bool* already_reported);
  Result<size_t> ReadChunked(Member& m, uint64_t offset, std::span<std::byte> out,
                             bool* already_reported);
  Result<ChunkRef> GetChunk(Member& m, uint64_t index, bool* already_reported);

  Plan PlanFrontier(Member& m, uint64_t index, Stream** run);
  Plan PlanBehind(Member& m, uint64_t index, Stream** run);
  Stream& NewStream(Member& m, PointRef from, bool frontier);
  void Take(Member& m, Stream& s, uint64_t index);
  Result<ChunkRef> Run(Member& m, Stream& s, uint64_t index, bool* already_reported);
  Result<ChunkRef> RunOrThrow(Member& m, Stream& s, uint64_t index, bool* already_reported);
  Result<Made> MakeNextChunk(Member& m, Stream& s);
  Result<void> SkipTo(Stream& s, uint64_t to, std::span<std::byte> scratch);
  void Publish(Member& m, Stream& s, const Made& made, bool last);
  Error Abandon(Member& m, Stream& s, Error error, bool* already_reported);
  void Park(Member& m, Stream& s, std::unique_ptr<Decoder>& dead);
  void Erase(Member& m, Stream& s, std::unique_ptr<Decoder>& dead);
  void TrimIdle();

  PointRef BestPointLocked(const Member& m, uint64_t offset) const;
  void AddPoints(Member& m, std::vector<PointRef> points);
  void ThinLocked();

  const Archive& archive_;
  const ContentOptions options_;
  const uint64_t point_budget_;
  ChunkCache cache_;

  mutable std::mutex states_mu_;
  std::vector<std::unique_ptr<Member>> members_;  // by index, made on first read

  mutable std::mutex points_mu_;  // guards every Member's points and these:
  std::vector<Member*> indexed_;  // members with more than the start point
  uint64_t point_bytes_ = 0;
  uint64_t point_count_ = 0;

  mutable std::mutex pool_mu_;
  std::list<IdleEntry> idle_;  // parked decoders, most recently parked first

  std::atomic<uint64_t> bytes_decoded_{0};
  std::atomic<uint64_t> chunks_made_{0};
  std::atomic<uint64_t> resumes_{0};
  std::atomic<uint64_t> waits_{0};
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_CONTENT_H_
