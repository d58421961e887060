#include "core/read/content.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/read/index_store.h"

namespace npzfs::core {
namespace {

uint64_t PointBudget(const ContentOptions& o) {
  return o.access_point_budget != 0 ? o.access_point_budget
                                    : std::max(o.cache_size / 2, kMinPointBudget);
}

size_t Threads(const ContentOptions& o) {
  if (o.threads != ContentOptions::kAllCores) return o.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

ChunkCache::SpillFn SpillTo(DiskCache* disk) {
  if (!disk) return nullptr;
  return [disk](const ChunkKey& key, const ChunkRef& chunk) { disk->PutLater(key, chunk); };
}

}  // namespace

void ReadReply::CopyTo(std::span<std::byte> out) const {
  size_t at = 0;
  for (const auto& piece : pieces_) {
    if (!piece.empty()) std::memcpy(out.data() + at, piece.data(), piece.size());
    at += piece.size();
  }
}

Content::Content(const Archive& archive, const ContentOptions& options,
                 std::unique_ptr<DiskCache> disk, std::unique_ptr<PersistSetup> persist)
    : archive_(archive),
      options_(options),
      disk_(std::move(disk)),
      persist_(std::move(persist)),
      cache_(options.cache_size, SpillTo(disk_.get())),
      points_(options.span, PointBudget(options), options.cache_size, cache_),
      pool_(options.max_idle_decoders),
      stored_(archive),
      scheduler_(archive, options_, cache_, disk_.get(), points_, pool_, &workers_,
                 persist_ ? persist_->loaded.get() : nullptr, persist_ ? persist_->warn : nullptr),
      workers_(Threads(options)) {
  assert(options_.chunk_size > 0 && options_.span > 0);
  if (persist_) {
    scheduler_.set_on_pass_done([this] {
      {
        std::lock_guard<std::mutex> lock(index_mu_);
        index_dirty_ = true;
      }
      index_cv_.notify_all();
    });
    index_writer_ = std::thread([this] { IndexLoop(); });
  }
}

Content::~Content() {
  if (!persist_) return;
  {
    std::lock_guard<std::mutex> lock(index_mu_);
    index_stopping_ = true;
  }
  index_cv_.notify_all();
  index_writer_.join();
  if (auto r = WriteIndex(); !r && persist_->warn) persist_->warn(r.error().message);
}

void Content::IndexLoop() {
  std::unique_lock<std::mutex> lock(index_mu_);
  for (;;) {
    index_cv_.wait(lock, [this] { return index_dirty_ || index_stopping_; });
    if (index_stopping_) return;
    // A second for other passes ending at about the same time.
    if (index_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return index_stopping_; })) {
      return;
    }
    index_dirty_ = false;
    lock.unlock();
    if (auto r = WriteIndex(); !r && persist_->warn) persist_->warn(r.error().message);
    lock.lock();
  }
}

Result<void> Content::WriteIndex() {
  if (!persist_) return {};
  bool changed = false;
  std::vector<MemberToWrite> members = scheduler_.Snapshot(&changed);
  uint64_t size = 0;
  for (const MemberToWrite& w : members) {
    size += w.member.chunk_crcs.size() + (w.member.points.size() << 32);
  }
  {
    std::lock_guard<std::mutex> lock(index_mu_);
    if (!changed || size == index_written_) return {};
    index_written_ = size;
  }
  auto r = WriteIndexFile(persist_->path, persist_->identity, std::move(members));
  if (!r) return r;
  if (!persist_->evict_dir.empty()) EvictIndexes(persist_->evict_dir, kIndexDirMax, persist_->path);
  return {};
}

Result<ReadReply> Content::Read(size_t member, uint64_t offset, size_t size,
                                std::span<std::byte> scratch) {
  if (member >= archive_.entries().size()) {
    return Fail(MakeError(Errc::kInvalidArgument, "no member " + std::to_string(member)));
  }
  const ZipEntry& e = archive_.entries()[member];
  if (auto r = CheckReadable(e); !r) return Fail(std::move(r).error());
  if (e.method != kMethodStored) return ReadChunked(member, offset, size);
  auto got = stored_.Read(member, offset, std::min(size, scratch.size()), scratch);
  if (!got) return Fail(std::move(got).error());
  ReadReply reply;
  reply.Add(*got);
  return reply;
}

Result<size_t> Content::Read(size_t member, uint64_t offset, std::span<std::byte> out) {
  auto reply = Read(member, offset, out.size(), out);
  if (!reply) return Fail(std::move(reply).error());
  // A stored member's bytes are in `out` already.
  if (reply->pieces().size() != 1 || reply->pieces()[0].data() != out.data()) reply->CopyTo(out);
  return reply->size();
}

Result<ReadReply> Content::ReadChunked(size_t member, uint64_t offset, size_t size) {
  const uint64_t member_size = archive_.entries()[member].size;
  const uint64_t c = options_.chunk_size;
  ReadReply reply;
  if (member_size == 0) {
    // Nothing to read, but the stream and its CRC are checked once.
    auto chunk = scheduler_.Get(member, 0);
    if (!chunk) return Fail(std::move(chunk).error());
    return reply;
  }
  if (offset >= member_size) return reply;
  const size_t want = std::min<uint64_t>(size, member_size - offset);
  while (reply.size() < want) {
    const uint64_t at = offset + reply.size();
    auto chunk = scheduler_.Get(member, at / c);
    if (!chunk) return Fail(std::move(chunk).error());
    const auto bytes = (*chunk)->bytes().subspan(at % c);
    reply.Add(bytes.first(std::min(bytes.size(), want - reply.size())));
    reply.chunks_.push_back(std::move(*chunk));
  }
  scheduler_.ReadAhead(member, offset, offset + want);
  return reply;
}

ContentStats Content::stats() {
  ContentStats s;
  static_cast<SchedulerStats&>(s) = scheduler_.stats();
  const AccessPointStats points = points_.stats();
  s.access_points = points.count;
  s.access_point_bytes = points.bytes;
  s.idle_decoders = pool_.idle();
  s.cache = cache_.stats();
  if (disk_) s.disk = disk_->stats();
  return s;
}

}  // namespace npzfs::core
