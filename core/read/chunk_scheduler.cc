#include "core/read/chunk_scheduler.h"

#include <algorithm>
#include <cassert>
#include <cerrno>

#include "core/base/text.h"

namespace npzfs::core {
namespace {

uint64_t CeilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

// Records a first pass's access points every `span` bytes (the member's
// current spacing, which thinning may raise), for Publish() to add.
class FrontierSink final : public PointSink {
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

}  // namespace

ChunkScheduler::MemberState& ChunkScheduler::StateOf(size_t member) {
  MutexLock lock(&states_mu_);
  auto& s = states_[member];
  if (!s) s = std::make_unique<MemberState>();
  return *s;
}

Result<ChunkRef> ChunkScheduler::Get(size_t member, uint64_t index) {
  MemberState& m = StateOf(member);
  const uint64_t size = archive_.entries()[member].size;
  m.mu.Lock();
  for (;;) {
    if (m.failure) {
      Error e = *m.failure;
      m.mu.Unlock();
      return Fail(std::move(e));
    }
    if (m.done && size == 0) {
      m.mu.Unlock();
      return ChunkRef(std::make_shared<const Chunk>(0));
    }
    if (ChunkRef hit = cache_.Lookup({member, index})) {
      m.mu.Unlock();
      return hit;
    }
    Plan plan = index * options_.chunk_size >= m.frontier_pos ? PlanFrontier(member, m, index)
                                                              : PlanBehind(member, m, index);
    if (plan.stream) {
      m.mu.Unlock();
      return Run(member, m, std::move(plan), index);
    }
    waits_.fetch_add(1, std::memory_order_relaxed);
    m.waiting.push_back(index);
    m.cv.Wait(&m.mu);
    m.waiting.erase(std::find(m.waiting.begin(), m.waiting.end(), index));
  }
}

// The chunk is at or past the frontier: only the frontier can make it.
ChunkScheduler::Plan ChunkScheduler::PlanFrontier(size_t member, MemberState& m, uint64_t index) {
  for (const Running& r : m.running) {
    if (r.frontier) return {};
  }
  StreamPtr s = pool_.TakeFrontier(member);
  PointRef from;
  if (!s) {
    // A first pass that was dropped resumes at its last access point:
    // the chunks from there on are the frontier's again.
    from = points_.Best(member, m.frontier_pos);
    const uint64_t c = options_.chunk_size;
    m.frontier_pos = std::min(m.frontier_pos, from->out / c * c);
    s = NewStream(member, true, from);
  }
  return Start(m, std::move(s), std::move(from), true, index);
}

// The chunk lies behind the frontier. Start from whatever is nearest before
// it: an access point, a parked decoder, or a running one that will stop
// nearer (then wait for it, rather than decode the same bytes twice).
ChunkScheduler::Plan ChunkScheduler::PlanBehind(size_t member, MemberState& m, uint64_t index) {
  const uint64_t c = options_.chunk_size;
  const uint64_t at = index * c;
  PointRef point = points_.Best(member, at);
  const uint64_t from_point = at - point->out;
  uint64_t from_running = UINT64_MAX;  // the nearest stop of a running decoder before it
  for (const Running& r : m.running) {
    if (r.frontier) continue;
    if (CeilDiv(r.pos, c) <= index && index <= r.target) return {};
    const uint64_t stop = (r.target + 1) * c;
    if (stop <= at) from_running = std::min(from_running, at - stop);
  }
  if (StreamPtr idle = pool_.TakeBehind(member, at, std::min(from_point, from_running))) {
    return Start(m, std::move(idle), nullptr, false, index);
  }
  if (from_running < from_point) return {};
  return Start(m, NewStream(member, false, point), point, false, index);
}

ChunkScheduler::Plan ChunkScheduler::Start(MemberState& m, StreamPtr stream, PointRef seek_to,
                                           bool frontier, uint64_t index) {
  const uint64_t pos = seek_to ? seek_to->out : stream->position();
  m.running.push_front(Running{frontier, pos, index});
  return Plan{std::move(stream), std::move(seek_to), m.running.begin()};
}

StreamPtr ChunkScheduler::NewStream(size_t member, bool frontier, const PointRef& from) {
  auto decoder = archive_.OpenDecoder(member, options_.codec);
  // Content checked that the member can be read, so the decoder opens.
  assert(decoder);
  auto s = std::make_unique<Stream>();
  s->decoder = std::move(*decoder);
  if (frontier) {
    s->sink = std::make_unique<FrontierSink>(points_.Span(member), points_.Last(member));
    s->decoder->set_point_sink(s->sink.get());
  }
  if (from->out > 0) resumes_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

// Decodes chunks from where the stream is up to chunk `index`, publishing
// each one as it is made, so that readers waiting for an earlier chunk go
// on.
Result<ChunkRef> ChunkScheduler::Run(size_t member, MemberState& m, Plan plan, uint64_t index) {
  try {
    return RunOrThrow(member, m, plan, index);
  } catch (...) {
    // std::bad_alloc: the stream must not stay running, or its waiters
    // would wait for ever.
    Abandon(m, plan,
            Error{Errc::kIo, ENOMEM, Quote(archive_.entries()[member].name) + ": out of memory"});
    throw;
  }
}

Result<ChunkRef> ChunkScheduler::RunOrThrow(size_t member, MemberState& m, Plan& plan,
                                            uint64_t index) {
  if (plan.seek_to) {
    if (auto r = plan.stream->decoder->Seek(*plan.seek_to); !r) {
      return Fail(Abandon(m, plan, std::move(r).error()));
    }
  }
  for (;;) {
    auto made = MakeNextChunk(member, *plan.stream);
    if (!made) return Fail(Abandon(m, plan, std::move(made).error()));
    assert(made->index <= index);
    const bool last =
        made->index == index || plan.stream->position() >= archive_.entries()[member].size;
    ChunkRef chunk = made->chunk;
    Publish(member, m, plan, *made, last);
    if (last) return chunk;
  }
}

// The chunk after the stream's position (skipping to its start). The
// decoder checks the declared size and, at the end, the CRC-32. No lock
// held.
Result<ChunkScheduler::Made> ChunkScheduler::MakeNextChunk(size_t member, Stream& s) {
  const uint64_t size = archive_.entries()[member].size;
  const uint64_t c = options_.chunk_size;
  Made made;
  made.index = CeilDiv(s.position(), c);
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
  made.chunk = std::move(chunk);
  return made;
}

Result<void> ChunkScheduler::SkipTo(Stream& s, uint64_t to, std::span<std::byte> scratch) {
  while (s.position() < to) {
    const size_t n = std::min<uint64_t>(scratch.size(), to - s.position());
    auto got = s.decoder->Read(scratch.first(n));
    if (!got) return Fail(std::move(got).error());
    bytes_decoded_.fetch_add(*got, std::memory_order_relaxed);
  }
  return {};
}

void ChunkScheduler::Publish(size_t member, MemberState& m, Plan& plan, const Made& made,
                             bool last) {
  Stream& s = *plan.stream;
  std::vector<PointRef> points;
  if (s.sink) points = static_cast<FrontierSink&>(*s.sink).TakePending();
  std::vector<StreamPtr> dropped;  // freed once the lock is dropped
  bool wake = false;
  {
    MutexLock lock(&m.mu);
    plan.running->pos = s.position();
    if (s.frontier()) {
      m.frontier_pos = std::max(m.frontier_pos, s.position());
      if (s.position() >= archive_.entries()[member].size) m.done = true;
      if (!points.empty()) points_.Add(member, std::move(points));
    }
    cache_.Insert({member, made.index}, made.chunk);
    if (last) {
      m.running.erase(plan.running);
      // A stream that can still serve a later read is parked; one at the
      // end, or a non-frontier one past the frontier (the frontier serves
      // those chunks), is dropped.
      const bool useful = s.frontier() ? !m.done : s.position() < m.frontier_pos;
      if (useful) {
        dropped = pool_.Park(member, std::move(plan.stream));
      } else {
        dropped.push_back(std::move(plan.stream));
      }
    }
    wake = last || std::find(m.waiting.begin(), m.waiting.end(), made.index) != m.waiting.end();
  }
  // Only readers of this chunk, or of a decoder that stopped, need to wake,
  // and after the lock is free: FUSE's threads reading one member in turn
  // spent ~5 % of the daemon's CPU waking for nothing and then blocking on
  // the mutex.
  if (wake) m.cv.NotifyAll();
}

// A decoder failed: drop it; bad data fails the member for good.
Error ChunkScheduler::Abandon(MemberState& m, Plan& plan, Error error) {
  StreamPtr dead = std::move(plan.stream);
  MutexLock lock(&m.mu);
  m.running.erase(plan.running);
  m.cv.NotifyAll();
  if (m.failure) return *m.failure;
  if (error.code == Errc::kCorrupt) m.failure = error;
  return error;
}

SchedulerStats ChunkScheduler::stats() const {
  return {bytes_decoded_.load(), chunks_made_.load(), resumes_.load(), waits_.load()};
}

}  // namespace npzfs::core
