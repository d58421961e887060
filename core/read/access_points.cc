#include "core/read/access_points.h"

#include <algorithm>
#include <cassert>

namespace npzfs::core {

AccessPointIndex::Member& AccessPointIndex::At(size_t member) {
  auto& m = members_[member];
  if (!m) m = std::make_unique<Member>(span_);
  return *m;
}

PointRef AccessPointIndex::Best(size_t member, uint64_t offset) {
  MutexLock lock(&mu_);
  const auto& points = At(member).points;
  auto it = std::upper_bound(points.begin(), points.end(), offset,
                             [](uint64_t o, const PointRef& p) { return o < p->out; });
  assert(it != points.begin());
  return *std::prev(it);
}

uint64_t AccessPointIndex::Next(size_t member, uint64_t offset) {
  MutexLock lock(&mu_);
  const auto& points = At(member).points;
  auto it = std::upper_bound(points.begin(), points.end(), offset,
                             [](uint64_t o, const PointRef& p) { return o < p->out; });
  return it == points.end() ? UINT64_MAX : (*it)->out;
}

uint64_t AccessPointIndex::Last(size_t member) {
  MutexLock lock(&mu_);
  return At(member).points.back()->out;
}

const std::atomic<uint64_t>& AccessPointIndex::Span(size_t member) {
  MutexLock lock(&mu_);
  return At(member).span;
}

void AccessPointIndex::Seed(size_t member, std::vector<PointRef> points, uint64_t covered) {
  {
    MutexLock lock(&mu_);
    At(member).covered = covered;
  }
  Add(member, std::move(points));
}

uint64_t AccessPointIndex::Covered(size_t member) {
  MutexLock lock(&mu_);
  return At(member).covered;
}

void AccessPointIndex::Add(size_t member, std::vector<PointRef> points) {
  MutexLock lock(&mu_);
  Member& m = At(member);
  if (m.points.size() == 1 && !points.empty()) indexed_.push_back(&m);
  for (PointRef& p : points) {
    if (p->out <= m.points.back()->out) continue;  // another pass got there first
    stats_.bytes += p->bytes();
    ++stats_.count;
    m.points.push_back(std::move(p));
  }
  ThinLocked();
  // What the points hold comes out of the chunks' share of cache_size, but
  // the chunks keep at least half of it.
  cache_.SetCapacity(cache_size_ - std::min(stats_.bytes, cache_size_ / 2));
}

// While over budget: the member with the densest points keeps every other
// one (the start always), and its span doubles.
void AccessPointIndex::ThinLocked() {
  while (stats_.bytes > budget_) {
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
        stats_.bytes -= densest->points[i]->bytes();
        --stats_.count;
      }
    }
    densest->points = std::move(kept);
    densest->span.store(densest->span * 2, std::memory_order_relaxed);
  }
}

void AccessPointIndex::Reset(size_t member) {
  MutexLock lock(&mu_);
  Member& m = At(member);
  for (size_t i = 1; i < m.points.size(); ++i) {
    stats_.bytes -= m.points[i]->bytes();
    --stats_.count;
  }
  m.points.resize(1);
  m.covered = 0;
  m.span.store(span_, std::memory_order_relaxed);
  std::erase(indexed_, &m);
}

std::vector<PointRef> AccessPointIndex::Points(size_t member) {
  MutexLock lock(&mu_);
  return At(member).points;
}

std::vector<uint64_t> AccessPointIndex::Offsets(size_t member) {
  MutexLock lock(&mu_);
  std::vector<uint64_t> out;
  for (const PointRef& p : At(member).points) out.push_back(p->out);
  return out;
}

AccessPointStats AccessPointIndex::stats() {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace npzfs::core
