// CRC-32 of a member whose bytes are read in any order.
#ifndef NPZFS_CORE_READ_CRC_INTERVALS_H_
#define NPZFS_CORE_READ_CRC_INTERVALS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace npzfs::core {

// Disjoint intervals [begin, end) of a member of `size` bytes, each with
// the CRC-32 of its bytes. Adjacent intervals are merged with zlib's
// crc32_combine, so once every byte has been added, in any order, one
// interval [0, size) holds the member's CRC-32.
//
// At most `max_intervals` are kept: past that the shortest is forgotten
// (its bytes count again as unread), so memory stays bounded whatever the
// read pattern, at the price of a CRC that may need those bytes again.
//
// Not thread-safe: its owner locks.
class CrcIntervals {
 public:
  struct Range {
    uint64_t begin = 0;
    uint64_t end = 0;
  };

  explicit CrcIntervals(uint64_t size, size_t max_intervals = 256)
      : size_(size), max_intervals_(max_intervals) {}

  // The parts of [begin, end) not covered yet, in order.
  std::vector<Range> Gaps(uint64_t begin, uint64_t end) const;

  // Adds [begin, end) (within the member, not empty) with the CRC-32 of its
  // bytes. Returns false, changing nothing, when it overlaps a covered
  // byte (someone else added it first).
  bool Add(uint64_t begin, uint64_t end, uint32_t crc);

  // True once one interval covers the whole member; then crc() is its
  // CRC-32. An empty member is complete from the start, with CRC 0.
  bool complete() const;
  uint32_t crc() const;

  size_t count() const { return by_begin_.size(); }

 private:
  struct Interval {
    uint64_t end;
    uint32_t crc;
  };

  void Forget();

  uint64_t size_;
  size_t max_intervals_;
  std::map<uint64_t, Interval> by_begin_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_CRC_INTERVALS_H_
