#include "core/read/decoder_pool.h"

namespace npzfs::core {

StreamPtr DecoderPool::TakeLocked(List::iterator it) {
  StreamPtr s = std::move(it->stream);
  parked_.erase(it);
  return s;
}

std::vector<StreamPtr> DecoderPool::Park(size_t member, StreamPtr s) {
  std::vector<StreamPtr> dropped;
  MutexLock lock(&mu_);
  parked_.push_front(Entry{member, std::move(s)});
  while (parked_.size() > max_idle_) dropped.push_back(TakeLocked(std::prev(parked_.end())));
  return dropped;
}

StreamPtr DecoderPool::TakeFrontier(size_t member) {
  MutexLock lock(&mu_);
  for (auto it = parked_.begin(); it != parked_.end(); ++it) {
    if (it->member == member && it->stream->frontier()) return TakeLocked(it);
  }
  return nullptr;
}

StreamPtr DecoderPool::TakeBehind(size_t member, uint64_t offset, uint64_t within) {
  MutexLock lock(&mu_);
  auto best = parked_.end();
  uint64_t best_distance = 0;
  for (auto it = parked_.begin(); it != parked_.end(); ++it) {
    if (it->member != member || it->stream->frontier()) continue;
    const uint64_t pos = it->stream->position();
    if (pos > offset || offset - pos > within) continue;
    if (best == parked_.end() || offset - pos < best_distance) {
      best = it;
      best_distance = offset - pos;
    }
  }
  return best == parked_.end() ? nullptr : TakeLocked(best);
}

std::vector<StreamPtr> DecoderPool::TakeAll(size_t member) {
  std::vector<StreamPtr> out;
  MutexLock lock(&mu_);
  for (auto it = parked_.begin(); it != parked_.end();) {
    auto next = std::next(it);
    if (it->member == member) out.push_back(TakeLocked(it));
    it = next;
  }
  return out;
}

size_t DecoderPool::idle() {
  MutexLock lock(&mu_);
  return parked_.size();
}

}  // namespace npzfs::core
