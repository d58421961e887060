// A remote object (HTTP(S), S3) as a ByteSource: range requests through a
// bounded cache of the bytes fetched, with prefetching for sequential
// readers and hinted ranges, and an optional cache on disk that outlives
// the mount.
#ifndef NPZFS_CORE_REMOTE_REMOTE_SOURCE_H_
#define NPZFS_CORE_REMOTE_REMOTE_SOURCE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/base/mutex.h"
#include "core/base/result.h"
#include "core/remote/http_client.h"
#include "core/remote/piece_files.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

struct RemoteOptions {
  uint64_t cache_size = uint64_t{128} << 20;  // bytes held in memory (remote_cache_size)
  uint64_t block_size = uint64_t{1} << 20;    // what a random read fetches at least, aligned
  uint64_t tail_size = uint64_t{1} << 20;     // the first request: the end of the object
  uint64_t max_window = uint64_t{96} << 20;   // how far a sequential reader is read ahead
  uint64_t max_request = uint64_t{8} << 20;   // one prefetch request at most
  uint64_t merge_gap = uint64_t{256} << 10;   // hinted ranges this close are fetched as one
  unsigned fetchers = 8;                      // prefetch requests in flight at most
  // A directory where fetched bytes are kept across mounts, keyed by the
  // object's identity (remote_cache_dir); "" for none.
  std::string cache_dir;
  uint64_t cache_dir_size = uint64_t{4} << 30;  // the directory holds at most this
};

struct RemoteStats {
  uint64_t requests = 0;    // HTTP requests sent (retries included)
  uint64_t retries = 0;     // of those, after a failed attempt
  uint64_t fetched = 0;     // bytes received as data
  uint64_t disk_bytes = 0;  // bytes read back from the disk cache
  uint64_t hinted = 0;      // bytes fetched because a range was hinted
  uint64_t read_ahead = 0;  // bytes fetched ahead of a sequential reader
  uint64_t held = 0;        // bytes in memory now
  uint64_t evicted = 0;     // bytes dropped to stay within cache_size
};

// Thread-safe. Reads of bytes already held, or under way, never send a
// request; a read of bytes not held fetches the blocks it touches on the
// reading thread; fetching ahead runs on `fetchers` threads of its own.
// Once the object is found replaced every read fails (kCorrupt), so bytes
// of two versions are never mixed.
class RemoteSource final : public ByteSource {
 public:
  // Fetches the end of the object (tail_size bytes, one request), which
  // pins its version, and starts the fetch threads. Errors: the client's
  // (kNotFound, kIo with EACCES, kIo), naming the URL.
  static Result<std::unique_ptr<RemoteSource>> Open(std::unique_ptr<HttpClient> client,
                                                    const RemoteOptions& options);
  ~RemoteSource() override;
  RemoteSource(const RemoteSource&) = delete;
  RemoteSource& operator=(const RemoteSource&) = delete;

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  const SourceIdentity& identity() const override { return identity_; }
  const std::string& name() const override { return client_->shown(); }
  Result<void> Check() const override;
  void Prefetch(std::span<const ByteRange> ranges) const override;

  const ObjectVersion& version() const { return client_->version(); }
  RemoteStats stats() const;
  // A note for the log on the disk cache (where, or why none); "" when none was asked for.
  const std::string& disk_note() const { return disk_note_; }

 private:
  struct Piece;
  using PieceRef = std::shared_ptr<Piece>;
  // A sequential reader: where its next read should start, how far ahead
  // of it is fetched, and how far that has been asked for.
  struct Stream {
    uint64_t begin = 0;  // where it started
    uint64_t next = 0;
    uint64_t window = 0;
    uint64_t ahead = 0;
    uint64_t used = 0;  // when last read, for replacing the oldest
  };
  enum class Why { kDemand, kHint, kAhead };

  RemoteSource(std::unique_ptr<HttpClient> client, const RemoteOptions& options);

  // Pieces covering [begin, end) in order, making the missing ones
  // (kFetching) and adding them to `made`; when `budget` is given, new
  // bytes are taken out of it and it is never overdrawn (then it may cover
  // less). Holes that hold nothing of `need` (default: all of it) are left
  // as they are.
  std::vector<PieceRef> Cover(uint64_t begin, uint64_t end, std::vector<PieceRef>& made,
                              uint64_t* budget, ByteRange need = {}) const REQUIRES(mu_);
  // Groups new pieces into requests of at most max_request contiguous
  // bytes.
  std::vector<std::vector<PieceRef>> Runs(const std::vector<PieceRef>& made) const;
  void Enqueue(std::vector<std::vector<PieceRef>> runs, Why why) const EXCLUDES(mu_);
  // The stream a read of [offset, end) continues, and what of it to fetch
  // ahead ([*from, *to)); null when nothing (a random read, or one that
  // does not go on).
  Stream* ReadAheadFor(uint64_t offset, uint64_t end, uint64_t* from, uint64_t* to) const
      REQUIRES(mu_);
  // A piece fetched ahead was read, evicted or failed: no longer unread.
  void Consumed(Piece& p) const REQUIRES(mu_);
  // Fetches one run of new pieces (from the disk cache, else the server)
  // and marks each ready, or failed, as it completes.
  void Fetch(const std::vector<PieceRef>& run, Why why) const;
  void Complete(const PieceRef& p) const EXCLUDES(mu_);
  void FailPieces(std::span<const PieceRef> pieces, const Error& error) const EXCLUDES(mu_);
  void EvictFor(uint64_t incoming) const REQUIRES(mu_);
  void FetchLoop();

  std::unique_ptr<HttpClient> client_;
  RemoteOptions options_;
  SourceIdentity identity_;
  std::unique_ptr<PieceFiles> disk_;
  std::string disk_note_;

  mutable Mutex mu_;
  mutable CondVar changed_;  // a piece became ready or failed; a job was queued
  mutable std::map<uint64_t, PieceRef> pieces_ GUARDED_BY(mu_);  // by start, disjoint
  mutable std::list<Piece*> lru_ GUARDED_BY(mu_);                // ready pieces, newest first
  mutable uint64_t held_ GUARDED_BY(mu_) = 0;
  mutable uint64_t unread_ahead_ GUARDED_BY(mu_) = 0;  // bytes fetched ahead, not read yet
  mutable std::vector<Stream> streams_ GUARDED_BY(mu_);
  mutable uint64_t clock_ GUARDED_BY(mu_) = 0;
  mutable std::deque<std::pair<std::vector<PieceRef>, Why>> jobs_ GUARDED_BY(mu_);
  mutable bool stopping_ GUARDED_BY(mu_) = false;
  mutable std::atomic<uint64_t> disk_bytes_{0}, hinted_{0}, read_ahead_{0}, evicted_{0};
  std::vector<std::thread> fetchers_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_REMOTE_SOURCE_H_
