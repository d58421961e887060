// Where decoding can start in each member: the access points that passes
// over members made, within one memory budget.
#ifndef NPZFS_CORE_READ_ACCESS_POINTS_H_
#define NPZFS_CORE_READ_ACCESS_POINTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/base/mutex.h"
#include "core/codec/decoder.h"
#include "core/read/chunk_cache.h"

namespace npzfs::core {

using PointRef = std::shared_ptr<const AccessPoint>;

struct AccessPointStats {
  uint64_t count = 0;  // points held, every member's start excluded
  uint64_t bytes = 0;
};

// Every member's points, sorted by offset, each member's start first.
// Points hold their windows (32 KiB each); together they may hold at most
// `budget` bytes: when a new point would exceed it, the member with the
// densest points loses every other one and its span doubles, until the
// total fits, so reads stay correct and cost at most one (larger) span.
// What the points hold is taken out of the chunk cache's capacity, which
// keeps at least half of `cache_size`.
//
// Thread-safe: one mutex for all members, held only to look up and add,
// never while decoding. It is taken before the cache's own (SetCapacity).
class AccessPointIndex {
 public:
  AccessPointIndex(uint64_t span, uint64_t budget, uint64_t cache_size, ChunkCache& cache)
      : span_(span), budget_(budget), cache_size_(cache_size), cache_(cache) {}
  AccessPointIndex(const AccessPointIndex&) = delete;
  AccessPointIndex& operator=(const AccessPointIndex&) = delete;

  // The last point of `member` at or before `offset` (its start when no
  // other).
  PointRef Best(size_t member, uint64_t offset) EXCLUDES(mu_);

  // The offset of the first point of `member` after `offset`; UINT64_MAX
  // when there is none.
  uint64_t Next(size_t member, uint64_t offset) EXCLUDES(mu_);

  // The offset of the last point of `member`.
  uint64_t Last(size_t member) EXCLUDES(mu_);

  // The spacing new points of `member` are kept at: read without the lock
  // by the member's first pass, and raised when the member is thinned.
  // The reference stays valid for the index's life.
  const std::atomic<uint64_t>& Span(size_t member) EXCLUDES(mu_);

  // Points known before any pass over `member` (the chunk starts of a
  // SOZip index, a persisted index): sorted by offset, past its start,
  // before any Add(). A decoder may start at each of them, so the chunks
  // before `covered` need no first pass to reach them.
  void Seed(size_t member, std::vector<PointRef> points, uint64_t covered) EXCLUDES(mu_);

  // The `covered` given to Seed() (0 when not seeded).
  uint64_t Covered(size_t member) EXCLUDES(mu_);

  // Adds points that lie past `member`'s last one, in order.
  void Add(size_t member, std::vector<PointRef> points) EXCLUDES(mu_);

  // Forgets every point of `member` but its start (its persisted index
  // was found wrong); Covered() is 0 again.
  void Reset(size_t member) EXCLUDES(mu_);

  // `member`'s points, its start included, in order.
  std::vector<PointRef> Points(size_t member) EXCLUDES(mu_);

  // The offsets of `member`'s points, its start included (tests).
  std::vector<uint64_t> Offsets(size_t member) EXCLUDES(mu_);

  AccessPointStats stats() EXCLUDES(mu_);

 private:
  struct Member {
    explicit Member(uint64_t span0) : points{std::make_shared<const AccessPoint>()}, span(span0) {}
    std::vector<PointRef> points;
    std::atomic<uint64_t> span;
    uint64_t covered = 0;
  };

  Member& At(size_t member) REQUIRES(mu_);
  void ThinLocked() REQUIRES(mu_);

  const uint64_t span_;
  const uint64_t budget_;
  const uint64_t cache_size_;
  ChunkCache& cache_;

  Mutex mu_;
  std::unordered_map<size_t, std::unique_ptr<Member>> members_ GUARDED_BY(mu_);
  std::vector<Member*> indexed_ GUARDED_BY(mu_);  // members with more than their start
  AccessPointStats stats_ GUARDED_BY(mu_);
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_ACCESS_POINTS_H_
