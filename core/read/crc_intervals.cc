#include "core/read/crc_intervals.h"

#include <zlib.h>

#include <algorithm>

namespace npzfs::core {

std::vector<CrcIntervals::Range> CrcIntervals::Gaps(uint64_t begin, uint64_t end) const {
  std::vector<Range> gaps;
  // The first interval that may cover `begin` starts at or before it.
  auto it = by_begin_.upper_bound(begin);
  if (it != by_begin_.begin()) --it;
  uint64_t at = begin;
  for (; it != by_begin_.end() && it->first < end && at < end; ++it) {
    if (it->second.end <= at) continue;
    if (it->first > at) gaps.push_back({at, it->first});
    at = std::max(at, it->second.end);
  }
  if (at < end) gaps.push_back({at, end});
  return gaps;
}

bool CrcIntervals::Add(uint64_t begin, uint64_t end, uint32_t crc) {
  if (begin >= end || end > size_) return false;
  auto next = by_begin_.lower_bound(begin);
  if (next != by_begin_.end() && next->first < end) return false;
  auto prev = next == by_begin_.begin() ? by_begin_.end() : std::prev(next);
  if (prev != by_begin_.end() && prev->second.end > begin) return false;

  Interval merged{end, crc};
  uint64_t merged_begin = begin;
  if (prev != by_begin_.end() && prev->second.end == begin) {
    merged.crc = static_cast<uint32_t>(
        crc32_combine(prev->second.crc, crc, static_cast<z_off_t>(end - begin)));
    merged_begin = prev->first;
    by_begin_.erase(prev);
  }
  if (next != by_begin_.end() && next->first == end) {
    merged.crc = static_cast<uint32_t>(crc32_combine(
        merged.crc, next->second.crc, static_cast<z_off_t>(next->second.end - next->first)));
    merged.end = next->second.end;
    by_begin_.erase(next);
  }
  by_begin_[merged_begin] = merged;
  if (by_begin_.size() > max_intervals_) Forget();
  return true;
}

void CrcIntervals::Forget() {
  auto shortest = by_begin_.begin();
  for (auto it = by_begin_.begin(); it != by_begin_.end(); ++it) {
    if (it->second.end - it->first < shortest->second.end - shortest->first) shortest = it;
  }
  by_begin_.erase(shortest);
}

bool CrcIntervals::complete() const {
  if (size_ == 0) return true;
  return by_begin_.size() == 1 && by_begin_.begin()->first == 0 &&
         by_begin_.begin()->second.end == size_;
}

uint32_t CrcIntervals::crc() const {
  return size_ == 0 || by_begin_.empty() ? 0 : by_begin_.begin()->second.crc;
}

}  // namespace npzfs::core
