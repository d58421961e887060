#include "core/read/content.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/base/crc32.h"
#include "core/read/crc_intervals.h"
#include "core/archive/member_reader.h"
#include "core/base/text.h"

namespace npzfs::core {
namespace {

uint64_t CeilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

Error CrcMismatch(const ZipEntry& e, uint32_t have) {
  char msg[96];
  std::snprintf(msg, sizeof msg, ": CRC-32 mismatch: data has %08x, archive says %08x", have,
                e.crc32);
  return Corrupt(Quote(e.name) + msg);
}

// Members that libzip decodes (bzip2), through the sequential reader of
// member_reader.h, which checks the size and CRC-32 itself. It can only
// start at the member's start.
class MemberReaderDecoder final : public Decoder {
 public:
  MemberReaderDecoder(std::unique_ptr<MemberReader> reader, const ZipEntry& e)
      : reader_(std::move(reader)), e_(e) {}

  Result<void> Seek(const AccessPoint& point) override {
    if (point.out != 0) {
      return Fail(Unsupported(Quote(e_.name) + ": method " + MethodName(e_.method) +
                              " cannot start in the middle"));
    }
    pos_ = 0;
    return {};
  }

  uint64_t position() const override { return pos_; }

  Result<size_t> Read(std::span<std::byte> out) override {
    out = out.first(std::min<uint64_t>(out.size(), e_.size - pos_));
    auto got = reader_->ReadAt(pos_, out);
    if (!got) return got;
    if (*got != out.size()) {
      return Fail(Corrupt(Quote(e_.name) + ": the data ends at " + std::to_string(pos_ + *got)));
    }
    pos_ += *got;
    return got;
  }

 private:
  std::unique_ptr<MemberReader> reader_;
  const ZipEntry& e_;
  uint64_t pos_ = 0;
};

}  // namespace

// Records the frontier's access points every `span` bytes (the member's
// current spacing, which thinning may raise) for Publish() to add.
class Content::FrontierSink final : public PointSink {
 public:
  FrontierSink(const std::atomic<uint64_t>& span, uint64_t last) : span_(span), last_(last) {}

  bool WantsPoint(uint64_t out) override {
    return out >= last_ + span_.load(std::memory_order_relaxed);
  }
  void AddPoint(AccessPoint point) override {
    last_ = point.out;
    pending_.push_back(std::make_shared<const AccessPoint>(std::move(point)));
  }
  std::vector<PointRef> TakePending() { return std::move(pending_); }

 private:
  const std::atomic<uint64_t>& span_;
  uint64_t last_;
  std::vector<PointRef> pending_;
};

// A decoder in one member, and where it is. Its metadata is guarded by the
// member's mu; while `busy`, only the thread running it touches `decoder`,
// `sink` and `seek_to`.
struct Content::Stream {
  uint64_t id = 0;
  bool frontier = false;
  bool busy = false;
  uint64_t pos = 0;     // the decoder's position as of the last chunk made
  uint64_t target = 0;  // while busy: the last chunk index it makes
  PointRef seek_to;     // where the decoder must go first, if anywhere
  std::unique_ptr<Decoder> decoder;
  DeflateDecoder* inflater = nullptr;  // `decoder` when it inflates
  std::unique_ptr<FrontierSink> sink;
};

struct Content::Member {
  Member(size_t i, const ZipEntry& e, uint64_t span0)
      : index(i), entry(e), crc(e.size), span(span0) {}

  const size_t index;
  const ZipEntry& entry;

  std::mutex mu;
  // Signalled when a chunk a reader waits for is made (see `waiting`), a
  // running decoder stops or is dropped, or the member fails.
  std::condition_variable cv;
  // Guarded by mu:
  std::optional<Error> failure;  // lasting: every read fails with it
  bool failure_reported = false;
  uint64_t frontier_pos = 0;  // chunks starting here or later need the frontier
  bool done = false;          // the frontier reached the end: size and CRC checked
  bool crc_verified = false;  // stored members: CRC checked
  CrcIntervals crc;           // stored members: what has been read
  std::list<Stream> streams;
  Stream* frontier = nullptr;
  uint64_t next_stream_id = 0;
  std::vector<uint64_t> waiting;  // chunks readers wait for, an entry per reader

  // Guarded by Content::points_mu_ (span also read without it by the
  // frontier's sink). points[0] is the stream start; sorted by out.
  std::vector<PointRef> points;
  std::atomic<uint64_t> span;
};

Content::Content(const Archive& archive, const ContentOptions& options)
    : archive_(archive),
      options_(options),
      point_budget_(options.access_point_budget != 0
                        ? options.access_point_budget
                        : std::max(options.cache_size / 2, kMinPointBudget)),
      cache_(options.cache_size),
      members_(archive.entries().size()) {
  assert(options_.chunk_size > 0 && options_.span > 0);
}

Content::~Content() = default;

Content::Member& Content::MemberAt(size_t i) {
  std::lock_guard lock(states_mu_);
  auto& m = members_[i];
  if (m) return *m;
  const ZipEntry& e = archive_.entries()[i];
  m = std::make_unique<Member>(i, e, options_.span);
  // Not yet visible to any other thread: no points_mu_ needed.
  m->points.push_back(std::make_shared<const AccessPoint>());
  if (auto r = CheckReadable(e); !r) m->failure = std::move(r).error();
  return *m;
}

Content::Member* Content::FindMember(size_t i) const {
  std::lock_guard lock(states_mu_);
  return i < members_.size() ? members_[i].get() : nullptr;
}

Error Content::FailureLocked(Member& m, bool* already_reported) {
  if (already_reported) *already_reported = m.failure_reported;
  m.failure_reported = true;
  return *m.failure;
}

Result<size_t> Content::Read(size_t member, uint64_t offset, std::span<std::byte> out,
                             bool* already_reported) {
  if (already_reported) *already_reported = false;
  if (member >= archive_.entries().size()) {
    return Fail(MakeError(Errc::kInvalidArgument, "no member " + std::to_string(member)));
  }
  Member& m = MemberAt(member);
  if (m.entry.method == kMethodStored) return ReadStored(m, offset, out, already_reported);
  return ReadChunked(m, offset, out, already_reported);
}

// ---------------------------------------------------------------------------
// Stored members: pread, and the CRC-32 of every byte read, in any order.

Result<size_t> Content::ReadStored(Member& m, uint64_t offset, std::span<std::byte> out,
                                   bool* already_reported) {
  const ZipEntry& e = m.entry;
  {
    std::lock_guard lock(m.mu);
    if (m.failure) return Fail(FailureLocked(m, already_reported));
  }
  if (offset >= e.size && e.size != 0) return size_t{0};
  out = out.first(std::min<uint64_t>(out.size(), e.size - std::min(offset, e.size)));
  if (auto r = ReadExactly(archive_.source(), e.data_offset + offset, out); !r) {
    return Fail(Error{r.error().code, r.error().sys_errno, Quote(e.name) + ": " + r.error().message});
  }
  if (auto r = CoverCrc(m, offset, out, already_reported); !r) return Fail(std::move(r).error());
  return out.size();
}

// Adds the CRC-32s of the bytes of [offset, offset + size) no read has
// covered yet, computed without the lock; a part another reader covered in
// the meantime is looked at again.
Result<void> Content::CoverCrc(Member& m, uint64_t offset, std::span<const std::byte> bytes,
                               bool* already_reported) {
  for (;;) {
    std::vector<CrcIntervals::Range> gaps;
    {
      std::lock_guard lock(m.mu);
      if (m.failure) return Fail(FailureLocked(m, already_reported));
      if (m.crc_verified) return {};
      gaps = m.crc.Gaps(offset, offset + bytes.size());
    }
    std::vector<uint32_t> crcs;
    for (const auto& g : gaps) {
      auto part = bytes.subspan(g.begin - offset, g.end - g.begin);
      crcs.push_back(Crc32(0, part));
    }
    std::lock_guard lock(m.mu);
    if (m.failure) return Fail(FailureLocked(m, already_reported));
    bool all = true;
    for (size_t i = 0; i < gaps.size(); ++i) {
      all = m.crc.Add(gaps[i].begin, gaps[i].end, crcs[i]) && all;
    }
    if (!m.crc_verified && m.crc.complete()) {
      if (m.crc.crc() != m.entry.crc32) {
        m.failure = CrcMismatch(m.entry, m.crc.crc());
        return Fail(FailureLocked(m, already_reported));
      }
      m.crc_verified = true;
      m.crc = CrcIntervals(0);
    }
    if (all) return {};
  }
}

// ---------------------------------------------------------------------------
// Chunked members.

Result<size_t> Content::ReadChunked(Member& m, uint64_t offset, std::span<std::byte> out,
                                    bool* already_reported) {
  const uint64_t size = m.entry.size;
  const uint64_t c = options_.chunk_size;
  if (size == 0) {
    // Nothing to read, but the stream and its CRC are checked once.
    auto chunk = GetChunk(m, 0, already_reported);
    if (!chunk) return Fail(std::move(chunk).error());
    return size_t{0};
  }
  if (offset >= size) return size_t{0};
  const size_t want = std::min<uint64_t>(out.size(), size - offset);
  size_t done = 0;
  while (done < want) {
    const uint64_t at = offset + done;
    auto chunk = GetChunk(m, at / c, already_reported);
    if (!chunk) return Fail(std::move(chunk).error());
    const auto bytes = (*chunk)->bytes().subspan(at % c);
    const size_t n = std::min(bytes.size(), want - done);
    std::memcpy(out.data() + done, bytes.data(), n);
    done += n;
  }
  return done;
}

Result<ChunkRef> Content::GetChunk(Member& m, uint64_t index, bool* already_reported) {
  std::unique_lock lock(m.mu);
  for (;;) {
    if (m.failure) return Fail(FailureLocked(m, already_reported));
    if (m.done && m.entry.size == 0) return ChunkRef(std::make_shared<const Chunk>(0));
    if (auto hit = cache_.Lookup({m.index, index})) return hit;
    Stream* run = nullptr;
    const Plan plan = index * options_.chunk_size >= m.frontier_pos
                          ? PlanFrontier(m, index, &run)
                          : PlanBehind(m, index, &run);
    if (plan == Plan::kRun) {
      lock.unlock();
      return Run(m, *run, index, already_reported);
    }
    waits_.fetch_add(1, std::memory_order_relaxed);
    m.waiting.push_back(index);
    m.cv.wait(lock);
    m.waiting.erase(std::find(m.waiting.begin(), m.waiting.end(), index));
  }
}

// The chunk is at or past the frontier: only the frontier can make it.
Content::Plan Content::PlanFrontier(Member& m, uint64_t index, Stream** run) {
  if (m.frontier && m.frontier->busy) return Plan::kWait;
  if (!m.frontier) {
    PointRef from;
    uint64_t last = 0;
    {
      std::lock_guard lock(points_mu_);
      from = BestPointLocked(m, m.frontier_pos);
      last = m.points.back()->out;
    }
    auto sink = std::make_unique<FrontierSink>(m.span, last);
    Stream& s = NewStream(m, from, true);
    s.sink = std::move(sink);
    if (s.inflater) {
      s.inflater->set_track_crc(true);
      s.inflater->set_point_sink(s.sink.get());
    }
    m.frontier = &s;
  }
  Take(m, *m.frontier, index);
  *run = m.frontier;
  return Plan::kRun;
}

// The chunk lies behind the frontier. Start from whatever is nearest before
// it: an access point, a parked decoder, or a running one that will stop
// nearer (then wait for it, rather than decode the same bytes twice).
Content::Plan Content::PlanBehind(Member& m, uint64_t index, Stream** run) {
  const uint64_t c = options_.chunk_size;
  const uint64_t at = index * c;
  PointRef point;
  {
    std::lock_guard lock(points_mu_);
    point = BestPointLocked(m, at);
  }
  uint64_t best = at - point->out;
  Stream* idle = nullptr;
  bool wait = false;
  for (Stream& s : m.streams) {
    if (s.frontier) continue;
    if (s.busy) {
      if (CeilDiv(s.pos, c) <= index && index <= s.target) return Plan::kWait;
      const uint64_t stop = (s.target + 1) * c;
      if (stop <= at && at - stop < best) best = at - stop, wait = true, idle = nullptr;
    } else if (s.pos <= at && at - s.pos <= best) {
      best = at - s.pos, wait = false, idle = &s;
    }
  }
  if (wait) return Plan::kWait;
  if (!idle) idle = &NewStream(m, point, false);
  Take(m, *idle, index);
  *run = idle;
  return Plan::kRun;
}

Content::Stream& Content::NewStream(Member& m, PointRef from, bool frontier) {
  const ZipEntry& e = m.entry;
  // The decoder first: if making it throws, no half-made stream is left.
  std::unique_ptr<Decoder> decoder;
  DeflateDecoder* inflater = nullptr;
  if (e.method == kMethodDeflate) {
    auto z = MakeDeflateDecoder(options_.engine, archive_.source(),
                                DeflateSpan{e.data_offset, e.compressed_size, e.size}, e.name);
    inflater = z.get();
    decoder = std::move(z);
  } else {
    // CheckReadable() passed, so the reader opens.
    auto reader = archive_.OpenReader(m.index);
    assert(reader);
    decoder = std::make_unique<MemberReaderDecoder>(std::move(*reader), e);
  }
  Stream& s = m.streams.emplace_back();
  s.id = m.next_stream_id++;
  s.frontier = frontier;
  s.pos = from->out;
  s.decoder = std::move(decoder);
  s.inflater = inflater;
  if (from->out > 0) resumes_.fetch_add(1, std::memory_order_relaxed);
  s.seek_to = std::move(from);
  return s;
}

void Content::Take(Member& m, Stream& s, uint64_t index) {
  if (!s.busy && !s.seek_to) {
    std::lock_guard lock(pool_mu_);
    idle_.remove_if([&](const IdleEntry& x) { return x.member == m.index && x.stream_id == s.id; });
  }
  s.busy = true;
  s.target = index;
}

// Decodes chunks from where `s` is up to chunk `index`, publishing each one
// as it is made, so that readers waiting for an earlier chunk go on.
Result<ChunkRef> Content::Run(Member& m, Stream& s, uint64_t index, bool* already_reported) {
  try {
    return RunOrThrow(m, s, index, already_reported);
  } catch (...) {
    // std::bad_alloc: the stream must not stay busy, or its waiters would
    // wait for ever.
    Abandon(m, s, Error{Errc::kIo, ENOMEM, m.entry.name + ": out of memory"}, nullptr);
    throw;
  }
}

Result<ChunkRef> Content::RunOrThrow(Member& m, Stream& s, uint64_t index,
                                     bool* already_reported) {
  if (s.seek_to) {
    PointRef point = std::move(s.seek_to);
    if (auto r = s.decoder->Seek(*point); !r) {
      return Fail(Abandon(m, s, std::move(r).error(), already_reported));
    }
  }
  for (;;) {
    auto made = MakeNextChunk(m, s);
    if (!made) return Fail(Abandon(m, s, std::move(made).error(), already_reported));
    assert(made->index <= index);
    const bool last = made->index == index || s.decoder->position() >= m.entry.size;
    Publish(m, s, *made, last);
    if (last) {
      TrimIdle();
      return made->chunk;
    }
  }
}

// The chunk after the decoder's position (skipping to its start), checked
// against the CRC-32 when the frontier reaches the end. No lock held.
Result<Content::Made> Content::MakeNextChunk(Member& m, Stream& s) {
  const uint64_t size = m.entry.size;
  const uint64_t c = options_.chunk_size;
  Made made;
  made.index = CeilDiv(s.decoder->position(), c);
  const uint64_t begin = made.index * c;
  const size_t length = begin < size ? std::min(c, size - begin) : 0;
  auto chunk = std::make_shared<Chunk>(length);
  std::byte scratch[4096];
  const auto skip = length > 0 ? chunk->mutable_bytes() : std::span<std::byte>(scratch);
  if (auto r = SkipTo(s, std::min(begin, size), skip); !r) return Fail(std::move(r).error());
  auto got = s.decoder->Read(chunk->mutable_bytes());
  if (!got) return Fail(std::move(got).error());
  assert(*got == length);
  bytes_decoded_.fetch_add(length, std::memory_order_relaxed);
  chunks_made_.fetch_add(1, std::memory_order_relaxed);
  if (s.frontier && s.inflater && s.decoder->position() == size &&
      s.inflater->crc() != m.entry.crc32) {
    return Fail(CrcMismatch(m.entry, s.inflater->crc()));
  }
  made.chunk = std::move(chunk);
  return made;
}

Result<void> Content::SkipTo(Stream& s, uint64_t to, std::span<std::byte> scratch) {
  while (s.decoder->position() < to) {
    const size_t n = std::min<uint64_t>(scratch.size(), to - s.decoder->position());
    auto got = s.decoder->Read(scratch.first(n));
    if (!got) return Fail(std::move(got).error());
    bytes_decoded_.fetch_add(*got, std::memory_order_relaxed);
  }
  return {};
}

void Content::Publish(Member& m, Stream& s, const Made& made, bool last) {
  std::unique_ptr<Decoder> dead;
  std::vector<PointRef> points;
  if (s.sink) points = s.sink->TakePending();
  bool wake = false;
  {
    std::lock_guard lock(m.mu);
    s.pos = s.decoder->position();
    if (s.frontier) {
      m.frontier_pos = std::max(m.frontier_pos, s.pos);
      if (s.pos >= m.entry.size) m.done = true;
      if (!points.empty()) AddPoints(m, std::move(points));
    }
    cache_.Insert({m.index, made.index}, made.chunk);
    if (last) Park(m, s, dead);
    wake = last || std::find(m.waiting.begin(), m.waiting.end(), made.index) != m.waiting.end();
  }
  // Only readers of this chunk, or of a decoder that stopped, need to wake,
  // and after the lock is free: FUSE's threads reading one member in turn
  // spent ~5 % of the daemon's CPU waking for nothing and then blocking on
  // the mutex.
  if (wake) m.cv.notify_all();
}

// A decoder failed: drop it; bad data fails the member for good.
Error Content::Abandon(Member& m, Stream& s, Error error, bool* already_reported) {
  std::unique_ptr<Decoder> dead;
  std::lock_guard lock(m.mu);
  Erase(m, s, dead);
  m.cv.notify_all();
  if (m.failure) return FailureLocked(m, already_reported);
  if (error.code == Errc::kCorrupt) {
    m.failure = error;
    m.failure_reported = true;
  }
  return error;
}

// Under m.mu. A decoder that can still serve a later read is parked in the
// idle pool; one at the end, or a non-frontier one past the frontier (the
// frontier serves those chunks), is dropped.
void Content::Park(Member& m, Stream& s, std::unique_ptr<Decoder>& dead) {
  s.busy = false;
  const bool useful = s.frontier ? !m.done : s.pos < m.frontier_pos;
  if (!useful) return Erase(m, s, dead);
  std::lock_guard lock(pool_mu_);
  idle_.push_front({m.index, s.id});
}

// Under m.mu. Removes `s`, handing its decoder to `dead` to be freed once
// the lock is dropped. A dropped frontier is later recreated at the last
// access point of a chunk start at or before it.
void Content::Erase(Member& m, Stream& s, std::unique_ptr<Decoder>& dead) {
  if (s.frontier) {
    m.frontier = nullptr;
    if (!m.done) {
      std::lock_guard lock(points_mu_);
      const uint64_t c = options_.chunk_size;
      m.frontier_pos = std::min(m.frontier_pos, m.points.back()->out / c * c);
    }
  }
  {
    std::lock_guard lock(pool_mu_);
    idle_.remove_if([&](const IdleEntry& x) { return x.member == m.index && x.stream_id == s.id; });
  }
  dead = std::move(s.decoder);
  m.streams.remove_if([&](const Stream& x) { return &x == &s; });
}

// Drops the least recently parked decoders past max_idle_decoders. Called
// with no lock held: it locks the pool, then each victim's member.
void Content::TrimIdle() {
  for (;;) {
    IdleEntry victim;
    {
      std::lock_guard lock(pool_mu_);
      if (idle_.size() <= options_.max_idle_decoders) return;
      victim = idle_.back();
      idle_.pop_back();
    }
    Member* m = FindMember(victim.member);
    std::unique_ptr<Decoder> dead;
    std::lock_guard lock(m->mu);
    for (Stream& s : m->streams) {
      if (s.id == victim.stream_id && !s.busy) {
        Erase(*m, s, dead);
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Access points.

Content::PointRef Content::BestPointLocked(const Member& m, uint64_t offset) const {
  auto it = std::upper_bound(m.points.begin(), m.points.end(), offset,
                             [](uint64_t o, const PointRef& p) { return o < p->out; });
  assert(it != m.points.begin());
  return *std::prev(it);
}

// Under m.mu.
void Content::AddPoints(Member& m, std::vector<PointRef> points) {
  std::lock_guard lock(points_mu_);
  if (m.points.size() == 1) indexed_.push_back(&m);
  for (PointRef& p : points) {
    point_bytes_ += p->bytes();
    ++point_count_;
    m.points.push_back(std::move(p));
  }
  ThinLocked();
  // What the points hold comes out of the chunks' share of cache_size, but
  // the chunks keep at least half of it.
  cache_.SetCapacity(options_.cache_size - std::min(point_bytes_, options_.cache_size / 2));
}

// While over budget: the member with the densest points keeps every other
// one (the start always), and its span doubles.
void Content::ThinLocked() {
  while (point_bytes_ > point_budget_) {
    Member* densest = nullptr;
    for (Member* m : indexed_) {
      if (m->points.size() > 1 && (!densest || m->span < densest->span)) densest = m;
    }
    if (!densest) return;
    std::vector<PointRef> kept;
    for (size_t i = 0; i < densest->points.size(); ++i) {
      if (i % 2 == 0) {
        kept.push_back(std::move(densest->points[i]));
      } else {
        point_bytes_ -= densest->points[i]->bytes();
        --point_count_;
      }
    }
    densest->points = std::move(kept);
    densest->span.store(densest->span * 2, std::memory_order_relaxed);
  }
}

ContentStats Content::stats() const {
  ContentStats s;
  s.bytes_decoded = bytes_decoded_.load();
  s.chunks_made = chunks_made_.load();
  s.resumes = resumes_.load();
  s.waits = waits_.load();
  {
    std::lock_guard lock(points_mu_);
    s.access_points = point_count_;
    s.access_point_bytes = point_bytes_;
  }
  {
    std::lock_guard lock(pool_mu_);
    s.idle_decoders = idle_.size();
  }
  s.cache = cache_.stats();
  return s;
}

std::vector<uint64_t> Content::AccessPointOffsets(size_t member) const {
  std::vector<uint64_t> out;
  Member* m = FindMember(member);
  if (!m) return out;
  std::lock_guard lock(points_mu_);
  for (const PointRef& p : m->points) out.push_back(p->out);
  return out;
}

}  // namespace npzfs::core
