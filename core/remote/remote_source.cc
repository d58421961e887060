#include "core/remote/remote_source.h"

#include <curl/curl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>

#include "core/base/text.h"

namespace npzfs::core {

namespace {

// A piece's memory. Large ones are mapped apart, so that freeing one gives
// its pages back at once: from malloc's arenas (a piece is made on one
// thread, filled on another and freed on a third) the daemon's memory
// grew to twice remote_cache_size.
class PieceBuffer {
 public:
  static constexpr size_t kMapAbove = 64 << 10;
  explicit PieceBuffer(size_t n) : size_(n) {
    if (n >= kMapAbove) {
      // cppcheck-suppress invalidFunctionArg ; MAP_ANONYMOUS takes the descriptor -1
      void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<std::byte*>(p);
    } else {
      data_ = new std::byte[n];
    }
  }
  ~PieceBuffer() {
    if (size_ >= kMapAbove) {
      ::munmap(data_, size_);
    } else {
      delete[] data_;
    }
  }
  PieceBuffer(const PieceBuffer&) = delete;
  PieceBuffer& operator=(const PieceBuffer&) = delete;
  std::byte* get() const { return data_; }

 private:
  std::byte* data_;
  size_t size_;
};

}  // namespace

// Bytes [start, start + length) of the object: fetching until its bytes
// have all arrived, then ready (and read without the lock: its bytes no
// longer change), or failed (and gone from the map, so that a later read
// asks again).
struct RemoteSource::Piece {
  Piece(uint64_t s, uint64_t n) : start(s), length(n), data(n) {}
  uint64_t end() const { return start + length; }

  const uint64_t start;
  const uint64_t length;
  const PieceBuffer data;
  // Guarded by the source's mu_.
  enum class State { kFetching, kReady, kFailed } state = State::kFetching;
  std::optional<Error> error;
  std::list<Piece*>::iterator lru;
  bool in_lru = false;
  bool unread_ahead = false;  // fetched ahead of a reader, not read yet
};

namespace {

constexpr size_t kStreams = 8;

uint64_t AlignDown(uint64_t v, uint64_t a) { return v / a * a; }

// What fetching ahead may hold, unread, of a cache of `size`: three
// quarters. A sequential reader goes as fast as the bytes in flight allow,
// one window per round trip (at 50 ms, 96 MiB is ~2 GB/s); the rest keeps
// what random readers fetched.
uint64_t AheadCap(uint64_t size) { return size / 4 * 3; }

}  // namespace

RemoteSource::RemoteSource(std::unique_ptr<HttpClient> client, const RemoteOptions& options)
    : client_(std::move(client)), options_(options), streams_(kStreams) {
  options_.block_size = std::max<uint64_t>(options_.block_size, 4096);
  options_.max_request = std::max(options_.max_request, options_.block_size);
  options_.max_window = std::min(options_.max_window, AheadCap(options_.cache_size));
  options_.fetchers = std::max(options_.fetchers, 1u);
}

Result<std::unique_ptr<RemoteSource>> RemoteSource::Open(std::unique_ptr<HttpClient> client,
                                                         const RemoteOptions& options) {
  auto tail = client->GetTail(options.tail_size);
  if (!tail) return Fail(std::move(tail).error());
  std::unique_ptr<RemoteSource> s(new RemoteSource(std::move(client), options));
  const ObjectVersion& v = s->client_->version();
  s->identity_.size = v.size;
  s->identity_.id = "url:" + s->client_->shown() + " etag:" + v.etag;
  if (!v.last_modified.empty()) {
    const time_t t = curl_getdate(v.last_modified.c_str(), nullptr);
    if (t > 0) s->identity_.mtime_sec = t;
  }
  if (!options.cache_dir.empty()) {
    const std::string key = PieceKey(s->client_->shown(), v.etag, v.size, v.last_modified);
    if (key.empty()) {
      s->disk_note_ = s->client_->shown() +
                      ": no remote disk cache: the server sends neither an ETag nor a "
                      "Last-Modified date, so versions of the object cannot be told apart";
    } else if (auto files = PieceFiles::Open(options.cache_dir, key, options.cache_dir_size)) {
      s->disk_ = std::move(*files);
      s->disk_note_ = "remote disk cache: " + Quote(s->disk_->dir(), Quoting::kWhenNeeded) + " (" +
                      std::to_string(s->disk_->used() >> 20) + " MiB in use of " +
                      std::to_string(options.cache_dir_size >> 20) + ")";
    } else {
      return Fail(std::move(files).error());
    }
  }
  // The tail is held like any fetched bytes, in block-aligned pieces.
  {
    MutexLock lock(&s->mu_);
    const uint64_t begin = v.size - tail->size();
    std::vector<PieceRef> made;
    s->Cover(begin, v.size, made, nullptr);
    for (const PieceRef& p : made) {
      std::memcpy(p->data.get(), tail->data() + (p->start - begin), p->length);
      p->state = Piece::State::kReady;
      s->lru_.push_front(p.get());
      p->lru = s->lru_.begin();
      p->in_lru = true;
    }
  }
  for (unsigned i = 0; i < s->options_.fetchers; ++i) {
    s->fetchers_.emplace_back([p = s.get()] { p->FetchLoop(); });
  }
  return s;
}

RemoteSource::~RemoteSource() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    jobs_.clear();
  }
  changed_.NotifyAll();
  for (std::thread& t : fetchers_) t.join();
}

Result<void> RemoteSource::Check() const {
  if (client_->replaced()) {
    return Fail(Corrupt(client_->shown() + ": the object changed since it was mounted"));
  }
  return {};
}

RemoteStats RemoteSource::stats() const {
  const HttpStats h = client_->stats();
  RemoteStats s;
  s.requests = h.requests;
  s.retries = h.retries;
  s.fetched = h.bytes;
  s.disk_bytes = disk_bytes_.load(std::memory_order_relaxed);
  s.hinted = hinted_.load(std::memory_order_relaxed);
  s.read_ahead = read_ahead_.load(std::memory_order_relaxed);
  s.evicted = evicted_.load(std::memory_order_relaxed);
  MutexLock lock(&mu_);
  s.held = held_;
  return s;
}

std::vector<RemoteSource::PieceRef> RemoteSource::Cover(uint64_t begin, uint64_t end,
                                                        std::vector<PieceRef>& made,
                                                        uint64_t* budget, ByteRange need) const {
  if (need.length == 0) need = {begin, end - begin};
  std::vector<PieceRef> out;
  auto it = pieces_.upper_bound(begin);
  if (it != pieces_.begin() && std::prev(it)->second->end() > begin) --it;
  uint64_t at = begin;
  while (at < end) {
    if (it != pieces_.end() && it->second->start <= at) {
      out.push_back(it->second);
      at = it->second->end();
      ++it;
      continue;
    }
    // A hole up to the next piece, made of pieces that end at block
    // boundaries (so that the same bytes make the same pieces each time:
    // the disk cache finds them by where they lie); left alone when it
    // holds nothing of what is needed.
    const uint64_t hole_end = std::min(end, it != pieces_.end() ? it->second->start : end);
    if (hole_end <= need.offset || at >= need.offset + need.length) {
      at = hole_end;
      continue;
    }
    while (at < hole_end) {
      const uint64_t piece_end =
          std::min(hole_end, AlignDown(at, options_.block_size) + options_.block_size);
      if (budget != nullptr && piece_end - at > *budget) return out;
      if (budget != nullptr) *budget -= piece_end - at;
      auto p = std::make_shared<Piece>(at, piece_end - at);
      pieces_.emplace(at, p);
      held_ += p->length;
      made.push_back(p);
      out.push_back(std::move(p));
      at = piece_end;
    }
  }
  return out;
}

std::vector<std::vector<RemoteSource::PieceRef>> RemoteSource::Runs(
    const std::vector<PieceRef>& made) const {
  std::vector<std::vector<PieceRef>> runs;
  uint64_t run_bytes = 0;
  for (const PieceRef& p : made) {
    if (runs.empty() || runs.back().back()->end() != p->start ||
        run_bytes + p->length > options_.max_request) {
      runs.emplace_back();
      run_bytes = 0;
    }
    runs.back().push_back(p);
    run_bytes += p->length;
  }
  return runs;
}

void RemoteSource::Enqueue(std::vector<std::vector<PieceRef>> runs, Why why) const {
  if (runs.empty()) return;
  {
    MutexLock lock(&mu_);
    for (auto& run : runs) jobs_.emplace_back(std::move(run), why);
  }
  changed_.NotifyAll();
}

void RemoteSource::Consumed(Piece& p) const {
  if (!p.unread_ahead) return;
  p.unread_ahead = false;
  unread_ahead_ -= p.length;
}

void RemoteSource::EvictFor(uint64_t incoming) const {
  // The least recently used first, but never bytes fetched ahead of a
  // reader that has not read them yet (they are the next it needs; their
  // total is capped apart): evicting those made readers fetch them again.
  auto it = lru_.end();
  while (held_ + incoming > options_.cache_size && it != lru_.begin()) {
    Piece* victim = *--it;
    if (victim->unread_ahead) continue;
    it = lru_.erase(it);
    victim->in_lru = false;
    held_ -= victim->length;
    evicted_.fetch_add(victim->length, std::memory_order_relaxed);
    pieces_.erase(victim->start);  // readers holding it keep its bytes
  }
}

RemoteSource::Stream* RemoteSource::ReadAheadFor(uint64_t offset, uint64_t end, uint64_t* from,
                                                 uint64_t* to) const {
  ++clock_;
  // A read continues a stream when it starts near where that stream's last
  // read ended (FUSE's threads deliver a sequential reader's reads a little
  // out of order).
  Stream* s = nullptr;
  for (Stream& c : streams_) {
    if (c.used != 0 && offset + options_.block_size >= c.next &&
        offset <= c.next + options_.block_size) {
      s = &c;
      break;
    }
  }
  if (s == nullptr) {
    s = &*std::min_element(streams_.begin(), streams_.end(),
                           [](const Stream& a, const Stream& b) { return a.used < b.used; });
    *s = Stream{offset, end, 0, end, clock_};
    return nullptr;
  }
  s->used = clock_;
  if (end <= s->next) return nullptr;  // behind the stream: no progress
  s->next = end;
  // A reader that has gone on for a block is sequential: what it reads
  // ahead doubles with each read that goes on.
  if (s->next - s->begin < options_.block_size) return nullptr;
  s->window =
      s->window == 0 ? 2 * options_.block_size : std::min(2 * s->window, options_.max_window);
  // What is asked for ahead: from where the last ask stopped, if it is
  // still ahead of this read, to a block boundary; only once it is worth
  // a request of its own (a quarter of the window), so that requests stay
  // large however small the reads.
  *from = std::max(s->ahead, end);
  *to = std::min(end + s->window, identity_.size);
  if (*to < identity_.size) *to = AlignDown(*to, options_.block_size);
  const uint64_t worth = std::max(options_.block_size, s->window / 4);
  if (*to <= *from || (*to - *from < worth && *to < identity_.size)) return nullptr;
  return s;
}

Result<size_t> RemoteSource::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset >= identity_.size || out.empty()) return size_t{0};
  if (auto r = Check(); !r) return Fail(std::move(r).error());
  const size_t n = std::min<uint64_t>(out.size(), identity_.size - offset);
  const uint64_t end = offset + n;
  std::vector<PieceRef> covering, mine, ahead;
  {
    MutexLock lock(&mu_);
    const uint64_t aligned_begin = AlignDown(offset, options_.block_size);
    const uint64_t aligned_end =
        std::min(identity_.size, AlignDown(end - 1, options_.block_size) + options_.block_size);
    for (PieceRef& p : Cover(aligned_begin, aligned_end, mine, nullptr, {offset, n})) {
      if (p->end() <= offset || p->start >= end) continue;
      if (p->in_lru) lru_.splice(lru_.begin(), lru_, p->lru);  // used now: the newest
      Consumed(*p);
      covering.push_back(std::move(p));
    }
    EvictFor(0);
    uint64_t from = 0, to = 0;
    if (Stream* st = ReadAheadFor(offset, end, &from, &to)) {
      from = std::max(from, aligned_end);
      // Bytes fetched ahead and not read yet take half the cache at most,
      // whatever the number of readers: more would evict each other's.
      const uint64_t cap = AheadCap(options_.cache_size);
      uint64_t room =
          std::min(to > from ? to - from : 0, cap > unread_ahead_ ? cap - unread_ahead_ : 0);
      EvictFor(room);
      room = std::min(room, options_.cache_size > held_ ? options_.cache_size - held_ : 0);
      if (room > 0) {
        const size_t before = ahead.size();
        std::vector<PieceRef> got = Cover(from, to, ahead, &room);
        for (size_t i = before; i < ahead.size(); ++i) {
          ahead[i]->unread_ahead = true;
          unread_ahead_ += ahead[i]->length;
        }
        st->ahead = got.empty() ? from : std::max(from, got.back()->end());
      }
    }
  }
  Enqueue(Runs(ahead), Why::kAhead);
  for (const auto& run : Runs(mine)) Fetch(run, Why::kDemand);
  {
    MutexLock lock(&mu_);
    for (const PieceRef& p : covering) {
      while (p->state == Piece::State::kFetching) changed_.Wait(&mu_);
      if (p->state == Piece::State::kFailed) return Fail(*p->error);
    }
  }
  // Ready pieces never change: their bytes are copied without the lock.
  for (const PieceRef& p : covering) {
    const uint64_t b = std::max(offset, p->start), e = std::min(end, p->end());
    std::memcpy(out.data() + (b - offset), p->data.get() + (b - p->start), e - b);
  }
  return n;
}

void RemoteSource::Prefetch(std::span<const ByteRange> ranges) const {
  std::vector<ByteRange> sorted;
  for (const ByteRange& r : ranges) {
    if (r.offset < identity_.size && r.length > 0) {
      sorted.push_back({r.offset, std::min(r.length, identity_.size - r.offset)});
    }
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  // Ranges close together are fetched as one: the bytes between cost less
  // than another request.
  std::vector<ByteRange> merged;
  for (const ByteRange& r : sorted) {
    if (!merged.empty() &&
        r.offset <= merged.back().offset + merged.back().length + options_.merge_gap) {
      ByteRange& m = merged.back();
      m.length = std::max(m.offset + m.length, r.offset + r.length) - m.offset;
    } else {
      merged.push_back(r);
    }
  }
  std::vector<PieceRef> made;
  {
    MutexLock lock(&mu_);
    uint64_t total = 0;
    for (const ByteRange& r : merged) total += r.length;
    EvictFor(std::min(total, options_.cache_size / 2));
    // Hints fill at most half the cache: what does not fit is read when needed.
    uint64_t room = options_.cache_size / 2 > held_ ? options_.cache_size / 2 - held_ : 0;
    for (const ByteRange& r : merged) {
      Cover(r.offset, r.offset + r.length, made, &room);
      if (room == 0) break;
    }
  }
  Enqueue(Runs(made), Why::kHint);
}

void RemoteSource::Complete(const PieceRef& p) const {
  {
    MutexLock lock(&mu_);
    p->state = Piece::State::kReady;
    // A piece evicted from the map while fetching (never: only ready ones
    // are) would not be listed; every piece here is in the map.
    lru_.push_front(p.get());
    p->lru = lru_.begin();
    p->in_lru = true;
  }
  changed_.NotifyAll();
}

void RemoteSource::FailPieces(std::span<const PieceRef> pieces, const Error& error) const {
  {
    MutexLock lock(&mu_);
    for (const PieceRef& p : pieces) {
      if (p->state != Piece::State::kFetching) continue;
      p->state = Piece::State::kFailed;
      p->error = error;
      Consumed(*p);
      held_ -= p->length;
      auto it = pieces_.find(p->start);
      if (it != pieces_.end() && it->second == p) pieces_.erase(it);
    }
  }
  changed_.NotifyAll();
}

void RemoteSource::Fetch(const std::vector<PieceRef>& run, Why why) const {
  // What the disk cache holds needs no request.
  std::vector<PieceRef> left;
  for (const PieceRef& p : run) {
    if (disk_ && disk_->Load(p->start, std::span(p->data.get(), p->length))) {
      disk_bytes_.fetch_add(p->length, std::memory_order_relaxed);
      Complete(p);
    } else {
      left.push_back(p);
    }
  }
  size_t i = 0;
  while (i < left.size()) {
    size_t j = i + 1;
    while (j < left.size() && left[j - 1]->end() == left[j]->start) ++j;
    const std::span<const PieceRef> part(left.data() + i, j - i);
    const uint64_t begin = part.front()->start;
    const uint64_t length = part.back()->end() - begin;
    size_t k = 0;  // the piece the next bytes go to
    auto r = client_->GetRange(begin, length, [&](uint64_t at, std::span<const std::byte> data) {
      while (!data.empty()) {
        const PieceRef& p = part[k];
        const size_t take = std::min<uint64_t>(data.size(), p->end() - at);
        std::memcpy(p->data.get() + (at - p->start), data.data(), take);
        data = data.subspan(take);
        at += take;
        if (at == p->end()) {
          Complete(p);  // readers waiting for it go on while the rest arrives
          ++k;
        }
      }
    });
    if (!r) {
      FailPieces(part.subspan(k), r.error());
    } else if (why == Why::kHint) {
      hinted_.fetch_add(length, std::memory_order_relaxed);
    } else if (why == Why::kAhead) {
      read_ahead_.fetch_add(length, std::memory_order_relaxed);
    }
    if (disk_) {
      for (size_t m = 0; m < k; ++m) {
        disk_->Store(part[m]->start, std::span(part[m]->data.get(), part[m]->length));
      }
    }
    i = j;
  }
}

void RemoteSource::FetchLoop() {
  for (;;) {
    std::pair<std::vector<PieceRef>, Why> job;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && jobs_.empty()) changed_.Wait(&mu_);
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Fetch(job.first, job.second);
  }
}

}  // namespace npzfs::core
