#include "core/read/chunk_scheduler.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>

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
  MemberState* m;
  {
    MutexLock lock(&states_mu_);
    auto& s = states_[member];
    if (s) return *s;
    s = std::make_unique<MemberState>(archive_.entries()[member].size, options_.chunk_size);
    m = s.get();
    // Held until the state is set up: a reader of the member that finds it
    // now waits for that.
    m->mu.Lock();
  }
  SetUp(member, *m);
  m->mu.Unlock();
  return *m;
}

// A SOZip member's chunk starts are access points (no window, at a byte,
// their CRC unknown): every chunk is reached without a first pass. A member
// the persisted index knows starts with its points and chunk CRCs.
void ChunkScheduler::SetUp(size_t member, MemberState& m) {
  const ZipEntry& e = archive_.entries()[member];
  if (e.sozip && e.method == kMethodDeflate) {
    // One allocation for all (32,768 for a 1 GiB member at 32 KiB chunks:
    // one each cost ~5 ms on the member's first read); each PointRef
    // shares it (memory of points thinned away goes with the last of them:
    // 72 bytes a point, without windows).
    auto all = std::make_shared<std::vector<AccessPoint>>(e.sozip->chunk_count() - 1);
    std::vector<PointRef> points;
    points.reserve(all->size());
    for (size_t i = 1; i < e.sozip->chunk_count(); ++i) {
      AccessPoint& p = (*all)[i - 1];
      p.out = i * uint64_t{e.sozip->chunk_size};
      p.in = e.sozip->chunk_start(i);
      p.crc = std::nullopt;
      points.emplace_back(all, &p);
    }
    points_.Seed(member, std::move(points), e.size);
  } else if (const PersistedMember* rec = persisted_ ? persisted_->Find(e) : nullptr;
             rec != nullptr && rec->chunk_size == options_.chunk_size) {
    // Windows stay in the file until a decoder starts at their point.
    auto all = std::make_shared<std::vector<AccessPoint>>(rec->points.size());
    std::vector<PointRef> points;
    points.reserve(all->size());
    for (size_t i = 0; i < rec->points.size(); ++i) {
      const PersistedPoint& pp = rec->points[i];
      AccessPoint& p = (*all)[i];
      p.out = pp.out;
      p.in = pp.in;
      p.bits = pp.bits;
      p.crc = pp.crc_before;
      points.emplace_back(all, &p);
    }
    const uint64_t seeded_to = rec->complete         ? e.size
                               : rec->points.empty() ? 0
                                                     : rec->points.back().out;
    points_.Seed(member, std::move(points), seeded_to);
    for (size_t i = 0; i < rec->chunk_crcs.size(); ++i) m.crcs.Record(i, rec->chunk_crcs[i]);
    m.persisted = rec;
  }
  // Seeded access points reach the chunks before `covered` from the
  // start: those are behind the frontier already.
  const uint64_t covered = std::min(points_.Covered(member), e.size);
  if (covered == e.size && e.size > 0) {
    m.frontier_pos = e.size;
    m.done = true;
  } else {
    m.frontier_pos = covered / options_.chunk_size * options_.chunk_size;
  }
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
    if (disk_ && disk_->Contains({member, index})) {
      // Read back (and checked) without the lock; then look again, as the
      // member may have failed meanwhile.
      m.mu.Unlock();
      ChunkRef back = disk_->Get({member, index});
      m.mu.Lock();
      if (back && !m.failure) {
        m.mu.Unlock();
        disk_reads_.fetch_add(1, std::memory_order_relaxed);
        return back;
      }
      continue;
    }
    Plan plan = index * options_.chunk_size >= m.frontier_pos ? PlanFrontier(member, m, index)
                                                              : PlanBehind(member, m, index);
    if (plan.stream) {
      m.mu.Unlock();
      auto made = Run(member, m, std::move(plan), index);
      if (!made || *made) return made;
      m.mu.Lock();  // it stopped short of the chunk: look again
      continue;
    }
    waits_.fetch_add(1, std::memory_order_relaxed);
    Waiter w;
    w.index = index;
    m.waiting.push_back(&w);
    w.cv.Wait(&m.mu);
    m.waiting.erase(std::find(m.waiting.begin(), m.waiting.end(), &w));
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
  m.running.push_front(Running{frontier, false, pos, index, m.generation});
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
    HintInput(member, *plan.seek_to, index);
    auto sought = SeekTo(member, m, plan);
    if (!sought) return Failed(member, m, plan, std::move(sought).error());
    if (!*sought) {
      // The member's index was discarded: the caller plans again.
      Abandon(m, plan, MakeError(Errc::kIo, "index discarded"));
      return ChunkRef();
    }
  }
  for (;;) {
    auto made = MakeNextChunk(member, *plan.stream);
    if (!made) return Failed(member, m, plan, std::move(made).error());
    ChunkRef chunk = made->chunk;
    bool last = false, stale = false;
    if (auto bad = Publish(member, m, plan, *made, &last, &stale)) {
      return Fail(Abandon(m, plan, *bad));
    }
    if (stale) {
      Abandon(m, plan, MakeError(Errc::kIo, "index discarded"));
      return ChunkRef();
    }
    // A reader's decoder stops at its chunk; one decoding ahead at its
    // target, which may have grown meanwhile.
    if (last) return made->index == index ? chunk : ChunkRef();
  }
}

// Tells the source which compressed bytes a decoder starting at `point`
// reads to make chunk `index` (a guess from the member's ratio, a little
// over): a remote source fetches them in one go instead of one round trip
// per piece the decoder asks for.
void ChunkScheduler::HintInput(size_t member, const AccessPoint& point, uint64_t index) const {
  const ZipEntry& e = archive_.entries()[member];
  const uint64_t out_end = std::min(e.size, (index + 1) * options_.chunk_size);
  const uint64_t begin = point.in > 0 ? point.in - 1 : 0;
  if (out_end <= point.out || begin >= e.compressed_size) return;
  const double ratio = static_cast<double>(e.compressed_size) / static_cast<double>(e.size);
  const auto guess =
      static_cast<uint64_t>(static_cast<double>(out_end - point.out) * ratio * 1.25) + (64 << 10);
  const ByteRange r{e.data_offset + begin, std::min(guess, e.compressed_size - begin)};
  archive_.source().Prefetch({&r, 1});
}

// Moves the plan's stream to its point, reading the window of a persisted
// one first. False when that window was bad: the member's index is then
// discarded.
Result<bool> ChunkScheduler::SeekTo(size_t member, MemberState& m, Plan& plan) {
  const AccessPoint& point = *plan.seek_to;
  const PersistedPoint* lazy = nullptr;
  if (point.out > 0 && point.window.empty()) {
    MutexLock lock(&m.mu);
    if (m.persisted) {
      const auto& pts = m.persisted->points;
      auto it = std::lower_bound(pts.begin(), pts.end(), point.out,
                                 [](const PersistedPoint& p, uint64_t out) { return p.out < out; });
      if (it != pts.end() && it->out == point.out) lazy = &*it;
    }
  }
  if (!lazy) {
    if (auto r = plan.stream->decoder->Seek(point); !r) return Fail(std::move(r).error());
    return true;
  }
  auto window = persisted_->ReadWindow(*lazy);
  if (!window) {
    MutexLock lock(&m.mu);
    if (m.generation == plan.running->generation) Discard(member, m, window.error().message);
    return false;
  }
  AccessPoint full = point;
  full.window = std::move(*window);
  if (auto r = plan.stream->decoder->Seek(full); !r) return Fail(std::move(r).error());
  return true;
}

// The member's persisted index was found wrong: everything learned from it
// goes, and the member is read as if it had none.
void ChunkScheduler::Discard(size_t member, MemberState& m, const std::string& why) {
  const ZipEntry& e = archive_.entries()[member];
  if (warn_) {
    warn_(Quote(e.name) + ": the persisted index is discarded (" + why +
          "); decoding from the start");
  }
  m.persisted = nullptr;
  ++m.generation;
  m.crcs.Clear();
  m.frontier_pos = 0;
  m.done = false;
  m.ahead_window = 0;
  m.ahead_planned = 0;
  points_.Reset(member);
  std::vector<StreamPtr> dropped = pool_.TakeAll(member);
  cache_.EraseMember(member);
  if (disk_) disk_->EraseMember(member);
  for (Waiter* w : m.waiting) w->cv.NotifyAll();
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
  const uint32_t before = s.decoder->running_crc();
  auto got = s.decoder->Read(chunk->mutable_bytes());
  if (!got) return Fail(std::move(got).error());
  assert(*got == length);
  made.crc = CrcBetween(before, s.decoder->running_crc(), length);
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

// Records the chunk's CRC-32, or checks it against the one recorded; when
// the chunks now cover the member, their combination must be its CRC-32.
std::optional<Error> ChunkScheduler::CheckCrc(size_t member, MemberState& m, const Made& made) {
  const ZipEntry& e = archive_.entries()[member];
  if (e.size == 0) return std::nullopt;
  switch (m.crcs.Record(made.index, made.crc)) {
    case ChunkCrcs::Check::kMatches:
      return std::nullopt;
    case ChunkCrcs::Check::kMismatch:
      crc_mismatches_.fetch_add(1, std::memory_order_relaxed);
      return MakeError(Errc::kCorrupt,
                       Quote(e.name) + ": the bytes at " +
                           std::to_string(made.index * options_.chunk_size) +
                           " decoded differently than before (CRC-32 of the chunk differs)");
    case ChunkCrcs::Check::kNew:
      break;
  }
  if (m.crcs.complete() && m.crcs.member_crc() != e.crc32) {
    char text[64];
    std::snprintf(text, sizeof text, "CRC-32 mismatch (got %08x, expected %08x)",
                  m.crcs.member_crc(), e.crc32);
    return MakeError(Errc::kCorrupt, Quote(e.name) + ": " + text);
  }
  return std::nullopt;
}

std::optional<Error> ChunkScheduler::Publish(size_t member, MemberState& m, Plan& plan,
                                             const Made& made, bool* last_out, bool* stale) {
  Stream& s = *plan.stream;
  std::vector<PointRef> points;
  if (s.sink) points = static_cast<FrontierSink&>(*s.sink).TakePending();
  std::vector<StreamPtr> dropped;  // freed once the lock is dropped
  {
    MutexLock lock(&m.mu);
    if (plan.running->generation != m.generation) {
      *stale = true;  // made from an index since discarded
      return std::nullopt;
    }
    if (auto bad = CheckCrc(member, m, made)) {
      if (!m.persisted) return bad;
      Discard(member, m, bad->message);
      *stale = true;
      return std::nullopt;
    }
    plan.running->pos = s.position();
    const bool last =
        made.index >= plan.running->target || s.position() >= archive_.entries()[member].size;
    *last_out = last;
    if (s.frontier()) {
      m.frontier_pos = std::max(m.frontier_pos, s.position());
      if (s.position() >= archive_.entries()[member].size && !m.done) {
        m.done = true;
        if (on_pass_done_) on_pass_done_();
      }
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
    // Under the lock: a waiter leaves (and its condition with it) only
    // once it holds the lock again.
    for (Waiter* w : m.waiting) {
      if (last || w->index == made.index) w->cv.NotifyAll();
    }
  }
  return std::nullopt;
}

// A decoder failed. Bad data from where a persisted index sent it (or
// sends no more) discards the index and the caller plans again (null);
// otherwise bad data fails the member for good.
Result<ChunkRef> ChunkScheduler::Failed(size_t member, MemberState& m, Plan& plan, Error error) {
  if (error.code == Errc::kCorrupt) {
    bool again = false;
    {
      MutexLock lock(&m.mu);
      if (plan.running->generation != m.generation) {
        again = true;
      } else if (m.persisted) {
        Discard(member, m, error.message);
        again = true;
      }
    }
    if (again) {
      Abandon(m, plan, MakeError(Errc::kIo, "index discarded"));
      return ChunkRef();
    }
  }
  return Fail(Abandon(m, plan, std::move(error)));
}

// A decoder failed: drop it; bad data fails the member for good.
Error ChunkScheduler::Abandon(MemberState& m, Plan& plan, Error error) {
  StreamPtr dead = std::move(plan.stream);
  MutexLock lock(&m.mu);
  m.running.erase(plan.running);
  for (Waiter* w : m.waiting) w->cv.NotifyAll();
  if (m.failure) return *m.failure;
  if (error.code == Errc::kCorrupt) m.failure = error;
  return error;
}

std::vector<MemberToWrite> ChunkScheduler::Snapshot(bool* changed) {
  *changed = false;
  std::vector<std::pair<size_t, MemberState*>> states;
  {
    MutexLock lock(&states_mu_);
    for (auto& [member, state] : states_) states.emplace_back(member, state.get());
  }
  std::vector<MemberToWrite> out;
  std::vector<bool> seen(archive_.entries().size());
  for (auto [member, m] : states) {
    const ZipEntry& e = archive_.entries()[member];
    if (e.method != kMethodDeflate || e.sozip) continue;
    seen[member] = true;
    MemberToWrite w;
    PersistedMember& pm = w.member;
    pm.index = e.index;
    pm.method = e.method;
    pm.crc32 = e.crc32;
    pm.size = e.size;
    pm.compressed_size = e.compressed_size;
    pm.data_offset = e.data_offset;
    pm.chunk_size = options_.chunk_size;
    const PersistedMember* rec;
    {
      MutexLock lock(&m->mu);
      if (m->failure) continue;
      pm.chunk_crcs = m->crcs.PrefixCrcs();
      pm.complete = m->crcs.complete() && m->crcs.member_crc() == e.crc32;
      rec = m->persisted;
      if (!rec && persisted_ && persisted_->Find(e)) *changed = true;  // discarded
    }
    uint64_t last = 0;
    for (const PointRef& p : points_.Points(member)) {
      if (p->out == 0 || !p->crc || p->out < last + kPersistedSpan) continue;
      PersistedPoint point{p->out, p->in, static_cast<uint8_t>(p->bits), *p->crc, 0, 0, 0, 0};
      std::string packed;
      if (p->window.empty()) {
        // A point the index gave: its window is copied as the file holds it.
        if (!rec) continue;
        auto it = std::lower_bound(rec->points.begin(), rec->points.end(), p->out,
                                   [](const PersistedPoint& q, uint64_t o) { return q.out < o; });
        if (it == rec->points.end() || it->out != p->out) continue;
        auto stored = persisted_->ReadPackedWindow(*it);
        if (!stored) continue;
        packed = std::move(*stored);
        point = *it;
      }
      pm.points.push_back(point);
      w.windows.push_back(p->window);
      w.packed.push_back(std::move(packed));
      last = p->out;
    }
    if (pm.points.empty() && pm.chunk_crcs.empty()) continue;
    if (!rec || pm.chunk_crcs.size() > rec->chunk_crcs.size() ||
        pm.points.size() > rec->points.size()) {
      *changed = true;
    }
    out.push_back(std::move(w));
  }
  // Members not read this time keep what the index said of them.
  if (persisted_) {
    for (const PersistedMember& rec : persisted_->members()) {
      if (rec.index >= seen.size() || seen[rec.index] ||
          !rec.Matches(archive_.entries()[rec.index])) {
        continue;
      }
      MemberToWrite w;
      w.member = rec;
      w.member.points.clear();
      for (const PersistedPoint& p : rec.points) {
        auto stored = persisted_->ReadPackedWindow(p);
        if (!stored) continue;
        w.member.points.push_back(p);
        w.windows.emplace_back();
        w.packed.push_back(std::move(*stored));
      }
      out.push_back(std::move(w));
    }
  }
  return out;
}

uint64_t ChunkScheduler::max_window() const {
  const uint64_t bytes = std::min<uint64_t>(uint64_t{8} << 20, cache_.capacity() / 4);
  return bytes / options_.chunk_size;
}

void ChunkScheduler::ReadAhead(size_t member, uint64_t begin, uint64_t end) {
  if (!workers_ || workers_->threads() == 0 || begin >= end) return;
  const uint64_t c = options_.chunk_size;
  const uint64_t chunks = CeilDiv(archive_.entries()[member].size, c);
  MemberState& m = StateOf(member);
  std::vector<Plan> plans;
  {
    MutexLock lock(&m.mu);
    if (m.failure) return;
    // Several kernel threads read one file ahead in parallel, so reads of
    // one sequential reader arrive slightly out of order: a read near the
    // last one's end continues it.
    const uint64_t slack = std::max<uint64_t>(m.ahead_window * c, uint64_t{1} << 20);
    const bool near = begin <= m.ahead_next + slack && begin + slack >= m.ahead_next;
    // Bytes before the last read's end, read again or late: no step.
    if (near && end <= m.ahead_next) return;
    m.ahead_next = end;
    if (!near) {
      m.ahead_window = 0;
      m.ahead_planned = 0;
      return;
    }
    const uint64_t cap = max_window();
    m.ahead_window = std::min(std::max<uint64_t>(m.ahead_window * 2, 4), cap);
    const uint64_t first = CeilDiv(end, c);  // the first chunk not read yet, about
    const uint64_t last = std::min(first + m.ahead_window, chunks);
    const uint64_t from = std::max(first, m.ahead_planned);
    // Top up once half of the window is left.
    if (from >= last || from - first > m.ahead_window / 2) return;
    plans = PlanAhead(member, m, from, last, &m.ahead_planned);
  }
  for (Plan& plan : plans) {
    ahead_plans_.fetch_add(1, std::memory_order_relaxed);
    auto shared = std::make_shared<Plan>(std::move(plan));
    workers_->Submit(
        [this, member, &m, shared](bool run) { RunAhead(member, m, std::move(*shared), run); });
  }
}

// Whether chunk `index` is cached or a running decoder will make it.
bool ChunkScheduler::Busy(const MemberState& m, uint64_t index) {
  for (const Running& r : m.running) {
    if (CeilDiv(r.pos, options_.chunk_size) <= index && index <= r.target) return true;
  }
  return false;
}

// Decoders for the chunks in [from, to) that nobody makes: one from the
// frontier on; behind it one per stretch between access points.
std::vector<ChunkScheduler::Plan> ChunkScheduler::PlanAhead(size_t member, MemberState& m,
                                                            uint64_t from, uint64_t to,
                                                            uint64_t* planned) {
  const uint64_t c = options_.chunk_size;
  std::vector<Plan> plans;
  uint64_t i = from;
  while (i < to) {
    if (i * c >= m.frontier_pos) {
      // A frontier decoding ahead already just goes on further.
      auto ahead = std::find_if(m.running.begin(), m.running.end(),
                                [](const Running& r) { return r.frontier && r.ahead; });
      if (ahead != m.running.end()) {
        ahead->target = std::max(ahead->target, to - 1);
        i = to;
        break;
      }
    }
    if (cache_.Contains({member, i}) || (disk_ && disk_->Contains({member, i})) || Busy(m, i)) {
      ++i;
      continue;
    }
    uint64_t stop = to;  // one past the last chunk of this decoder
    Plan plan;
    if (i * c >= m.frontier_pos) {
      plan = PlanFrontier(member, m, i);
    } else {
      // Up to the chunk the next access point can start: from there on
      // another decoder can run at the same time.
      // Stretches of at least a span: each decoder costs its setup.
      const uint64_t next = points_.Next(member, i * c + std::max(options_.span, c) - 1);
      if (next != UINT64_MAX) stop = std::max(i + 1, std::min(stop, CeilDiv(next, c)));
      stop = std::min(stop, CeilDiv(m.frontier_pos, c));
      plan = PlanBehind(member, m, i);
    }
    if (!plan.stream) break;  // it would wait: the running decoder goes on
    plan.running->target = stop - 1;
    plan.running->ahead = true;
    plans.push_back(std::move(plan));
    i = stop;
  }
  *planned = i;
  return plans;
}

void ChunkScheduler::RunAhead(size_t member, MemberState& m, Plan plan, bool run) {
  if (!run) {
    Abandon(m, plan, MakeError(Errc::kIo, "stopping"));
    return;
  }
  const uint64_t target = plan.running->target;
  try {
    // Its errors reach the readers: a lasting one through the member's
    // failure, any other when they decode the chunk themselves.
    (void)Run(member, m, std::move(plan), target);
  } catch (...) {
    // Out of memory: Run() released the decoder; the readers decode.
  }
}

SchedulerStats ChunkScheduler::stats() const {
  return {bytes_decoded_.load(), chunks_made_.load(),    resumes_.load(),   waits_.load(),
          ahead_plans_.load(),   crc_mismatches_.load(), disk_reads_.load()};
}

}  // namespace npzfs::core
