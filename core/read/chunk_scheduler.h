// Makes the chunks of compressed members: who decodes which chunk, from
// where, and who waits for whom.
//
//  - A member's first pass (its "frontier") decodes forward from the start,
//    checks the CRC-32 at the end and, for deflate, keeps an access point
//    about every `span` bytes. A chunk at or beyond the frontier continues
//    it.
//  - A chunk behind the frontier that is not cached is made by a decoder
//    started at the nearest access point before it, or by a parked decoder
//    that stopped nearer (sequential reads continue one decoder), so once a
//    region has been reached a read anywhere costs at most one span.
//  - Two readers of one chunk never both decode it: the second waits for
//    the first's chunk (or, behind the frontier, for a running decoder that
//    will stop nearer than any access point).
//  - A SOZip member's chunk starts are access points from its first read
//    on: no first pass, and decoding ahead runs on several threads.
//  - Every chunk's CRC-32 is recorded when it is first made (ChunkCrcs);
//    the same chunk made again, from any access point, must match it or
//    the read fails, and the chunks' CRCs combined must be the member's
//    CRC-32 once all are known, checked before the last one is served.
//  - A reader going forward gets the next chunks decoded ahead on the
//    workers (ReadAhead): a window that doubles on each sequential read up
//    to a cap and resets on a seek. Behind the frontier the window is cut
//    at access points, so that several workers decode it at once.
//  - Any kCorrupt from a member's data fails that read and every later
//    read of the member.
#ifndef NPZFS_CORE_READ_CHUNK_SCHEDULER_H_
#define NPZFS_CORE_READ_CHUNK_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/mutex.h"
#include "core/base/result.h"
#include "core/read/access_points.h"
#include "core/read/chunk_cache.h"
#include "core/read/chunk_crcs.h"
#include "core/read/decoder_pool.h"
#include "core/read/disk_cache.h"
#include "core/read/index_file.h"
#include "core/read/options.h"
#include "core/read/workers.h"

namespace npzfs::core {

struct SchedulerStats {
  uint64_t bytes_decoded = 0;   // uncompressed bytes produced, skipped ones too
  uint64_t chunks_made = 0;     // chunks decoded
  uint64_t resumes = 0;         // decoders started at an access point past 0
  uint64_t waits = 0;           // times a reader waited for another's decoding
  uint64_t ahead_plans = 0;     // decoders started ahead of a reader
  uint64_t crc_mismatches = 0;  // chunks made again that differed
  uint64_t disk_reads = 0;      // chunks served from the disk cache
};

// Thread-safe: any number of threads may ask for chunks of any members.
// Each member has a mutex over its state; decoding runs with no lock held.
// Lock order: a member's mutex, then the decoder pool's, the access point
// index's or the cache's (each a leaf but the index, which calls the
// cache).
class ChunkScheduler {
 public:
  // Every argument must outlive the scheduler; without `workers` nothing
  // is decoded ahead. Chunks missing from `cache` are looked for in `disk`
  // (if any) before they are decoded.
  //
  // With `persisted`, a member it indexes starts with its access points
  // (their windows read when a decoder starts there) and the CRC-32 of its
  // chunks; a chunk that does not match, or a window that cannot be read,
  // discards that member's index (told to `warn`, once) and the member is
  // decoded again from its start.
  using WarnFn = std::function<void(const std::string&)>;
  ChunkScheduler(const Archive& archive, const ContentOptions& options, ChunkCache& cache,
                 DiskCache* disk, AccessPointIndex& points, DecoderPool& pool, Workers* workers,
                 const IndexFile* persisted = nullptr, WarnFn warn = nullptr)
      : archive_(archive),
        options_(options),
        cache_(cache),
        disk_(disk),
        points_(points),
        pool_(pool),
        workers_(workers),
        persisted_(persisted),
        warn_(std::move(warn)) {}
  ChunkScheduler(const ChunkScheduler&) = delete;
  ChunkScheduler& operator=(const ChunkScheduler&) = delete;

  // Chunk `index` of compressed member `member` (uncompressed bytes
  // [index * chunk_size, ...), fewer at the end; member 0 bytes long: an
  // empty chunk, made once so that its stream and CRC are checked).
  // Errors: kCorrupt (lasting for the member), kIo, kUnsupported, each
  // naming the member.
  Result<ChunkRef> Get(size_t member, uint64_t index) EXCLUDES(states_mu_);

  // Tells that bytes [begin, end) of compressed member `member` were just
  // read; when that continues the member's last reads, the chunks after
  // `end` are decoded ahead on the workers, up to the member's window.
  void ReadAhead(size_t member, uint64_t begin, uint64_t end) EXCLUDES(states_mu_);

  // The largest window, in chunks: 8 MiB, and at most a quarter of the
  // cache, so chunks decoded ahead are not evicted before they are read.
  uint64_t max_window() const;

  SchedulerStats stats() const;

  // What to persist: every member decoded this mount (its points at least
  // kPersistedSpan apart, with their windows, and its chunks' CRCs from
  // the start), and the records of `persisted` for the others. `changed`:
  // whether that says more than `persisted` did.
  std::vector<MemberToWrite> Snapshot(bool* changed) EXCLUDES(states_mu_);

  // Called when a member's first pass reaches its end.
  void set_on_pass_done(std::function<void()> fn) { on_pass_done_ = std::move(fn); }

 private:
  // A decoder at work in a member, as its member's state sees it.
  struct Running {
    bool frontier = false;
    bool ahead = false;       // run by a worker, for no reader: its target may grow
    uint64_t pos = 0;         // the decoder's position as of the last chunk made
    uint64_t target = 0;      // the last chunk index it makes
    uint64_t generation = 0;  // the member's, when it started
  };
  using RunningList = std::list<Running>;

  struct Waiter {
    uint64_t index = 0;
    CondVar cv;
  };

  struct MemberState {
    MemberState(uint64_t size, uint64_t chunk_size) : crcs(size, chunk_size) {}
    Mutex mu;
    std::optional<Error> failure GUARDED_BY(mu);  // lasting: every read fails with it
    uint64_t frontier_pos GUARDED_BY(mu) = 0;     // chunks from here on need the frontier
    bool done GUARDED_BY(mu) = false;             // the frontier reached the end
    RunningList running GUARDED_BY(mu);
    // Readers waiting, each for one chunk (or for a running decoder to
    // stop, or the member to fail): each has its own condition, so that
    // making a chunk wakes only its readers, not every thread waiting on
    // the member (with decoding ahead, all of them wait, one chunk each).
    std::vector<Waiter*> waiting GUARDED_BY(mu);
    ChunkCrcs crcs GUARDED_BY(mu);
    // The member's persisted record, until it is found wrong; each discard
    // starts a new generation, and what decoders of an older one make is
    // thrown away.
    const PersistedMember* persisted GUARDED_BY(mu) = nullptr;
    uint64_t generation GUARDED_BY(mu) = 0;
    // Decoding ahead: where the last read ended, the window in chunks (0
    // until a read continues another), and the first chunk no decoder was
    // started for yet.
    uint64_t ahead_next GUARDED_BY(mu) = 0;
    uint64_t ahead_window GUARDED_BY(mu) = 0;
    uint64_t ahead_planned GUARDED_BY(mu) = 0;
  };

  // What a reader decided to do under its member's lock.
  struct Plan {
    StreamPtr stream;  // run this, or wait when null
    PointRef seek_to;  // where the stream must go first, if anywhere
    RunningList::iterator running;
  };

  struct Made {
    uint64_t index = 0;
    ChunkRef chunk;
    uint32_t crc = 0;  // of the chunk's bytes
  };

  MemberState& StateOf(size_t member) EXCLUDES(states_mu_);
  void SetUp(size_t member, MemberState& m) REQUIRES(m.mu);
  Plan PlanFrontier(size_t member, MemberState& m, uint64_t index) REQUIRES(m.mu);
  Plan PlanBehind(size_t member, MemberState& m, uint64_t index) REQUIRES(m.mu);
  Plan Start(MemberState& m, StreamPtr stream, PointRef seek_to, bool frontier, uint64_t index)
      REQUIRES(m.mu);
  StreamPtr NewStream(size_t member, bool frontier, const PointRef& from);
  Result<ChunkRef> Run(size_t member, MemberState& m, Plan plan, uint64_t index) EXCLUDES(m.mu);
  Result<ChunkRef> RunOrThrow(size_t member, MemberState& m, Plan& plan, uint64_t index)
      EXCLUDES(m.mu);
  Result<Made> MakeNextChunk(size_t member, Stream& s);
  Result<void> SkipTo(Stream& s, uint64_t to, std::span<std::byte> scratch);
  std::optional<Error> Publish(size_t member, MemberState& m, Plan& plan, const Made& made,
                               bool* last, bool* stale) EXCLUDES(m.mu);
  void Discard(size_t member, MemberState& m, const std::string& why) REQUIRES(m.mu);
  Result<bool> SeekTo(size_t member, MemberState& m, Plan& plan) EXCLUDES(m.mu);
  void HintInput(size_t member, const AccessPoint& point, uint64_t index) const;
  std::optional<Error> CheckCrc(size_t member, MemberState& m, const Made& made) REQUIRES(m.mu);
  std::vector<Plan> PlanAhead(size_t member, MemberState& m, uint64_t from, uint64_t to,
                              uint64_t* planned) REQUIRES(m.mu);
  bool Busy(const MemberState& m, uint64_t index) REQUIRES(m.mu);
  void RunAhead(size_t member, MemberState& m, Plan plan, bool run) EXCLUDES(m.mu);
  Error Abandon(MemberState& m, Plan& plan, Error error) EXCLUDES(m.mu);
  Result<ChunkRef> Failed(size_t member, MemberState& m, Plan& plan, Error error) EXCLUDES(m.mu);

  const Archive& archive_;
  const ContentOptions& options_;
  ChunkCache& cache_;
  DiskCache* const disk_;
  AccessPointIndex& points_;
  DecoderPool& pool_;
  Workers* const workers_;
  const IndexFile* const persisted_;
  const WarnFn warn_;
  std::function<void()> on_pass_done_;

  Mutex states_mu_;
  std::unordered_map<size_t, std::unique_ptr<MemberState>> states_ GUARDED_BY(states_mu_);

  std::atomic<uint64_t> bytes_decoded_{0};
  std::atomic<uint64_t> chunks_made_{0};
  std::atomic<uint64_t> resumes_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> ahead_plans_{0};
  std::atomic<uint64_t> crc_mismatches_{0};
  std::atomic<uint64_t> disk_reads_{0};
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_CHUNK_SCHEDULER_H_
