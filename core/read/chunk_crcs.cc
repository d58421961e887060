#include "core/read/chunk_crcs.h"

#include <zlib.h>

namespace npzfs::core {

uint32_t CrcBetween(uint32_t before, uint32_t after, uint64_t length) {
  // after = shift(before, length) ^ crc(bytes), and crc32_combine(a, b, n)
  // is shift(a, n) ^ b: so crc(bytes) = crc32_combine(before, after, n).
  return static_cast<uint32_t>(crc32_combine(before, after, static_cast<z_off_t>(length)));
}

uint64_t ChunkCrcs::ChunkLength(uint64_t index) const {
  const uint64_t begin = index * chunk_size_;
  return size_ - begin < chunk_size_ ? size_ - begin : chunk_size_;
}

ChunkCrcs::Check ChunkCrcs::Record(uint64_t index, uint32_t crc) {
  if (index >= chunk_count()) return Check::kMismatch;
  if (crcs_.empty()) {
    crcs_.resize(chunk_count());
    known_.resize(chunk_count());
    full_op_ = crc32_combine_gen(static_cast<z_off_t>(chunk_size_));
  }
  if (known_[index]) return crcs_[index] == crc ? Check::kMatches : Check::kMismatch;
  crcs_[index] = crc;
  known_[index] = true;
  while (prefix_ < chunk_count() && known_[prefix_]) {
    const uint64_t length = ChunkLength(prefix_);
    prefix_crc_ = static_cast<uint32_t>(
        length == chunk_size_
            ? crc32_combine_op(prefix_crc_, crcs_[prefix_], full_op_)
            : crc32_combine(prefix_crc_, crcs_[prefix_], static_cast<z_off_t>(length)));
    ++prefix_;
  }
  return Check::kNew;
}

std::optional<uint32_t> ChunkCrcs::Get(uint64_t index) const {
  if (index >= crcs_.size() || !known_[index]) return std::nullopt;
  return crcs_[index];
}

void ChunkCrcs::Clear() {
  crcs_.clear();
  known_.clear();
  prefix_ = 0;
  prefix_crc_ = 0;
}

}  // namespace npzfs::core
