// The CRC-32 of every chunk of one member, as first made, and the member's
// CRC-32 folded from them.
#ifndef NPZFS_CORE_READ_CHUNK_CRCS_H_
#define NPZFS_CORE_READ_CHUNK_CRCS_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace npzfs::core {

// CRC-32 of the `length` bytes that follow `before` in a stream whose
// running CRC-32 went from `before` to `after` over them (zlib's
// crc32_combine run backwards: the combination is linear).
uint32_t CrcBetween(uint32_t before, uint32_t after, uint64_t length);

// Chunk i covers bytes [i * chunk_size, ...) of a member of `size` bytes.
// The first CRC recorded for a chunk is kept; a later one is checked
// against it. As chunks become known from the start on, their CRCs are
// combined, so once every chunk is known member_crc() is the member's
// CRC-32, whichever decoders made the chunks and in whatever order.
// Memory: 4 bytes and a bit per chunk (64 KiB for a 1 GiB member at 64 KiB
// chunks), allocated at the first record.
//
// Not thread-safe: its owner locks.
class ChunkCrcs {
 public:
  ChunkCrcs(uint64_t size, uint64_t chunk_size) : size_(size), chunk_size_(chunk_size) {}

  enum class Check {
    kNew,       // recorded now
    kMatches,   // the same as recorded before
    kMismatch,  // differs from the recorded CRC: the chunk's bytes are wrong
  };
  Check Record(uint64_t index, uint32_t crc);

  std::optional<uint32_t> Get(uint64_t index) const;

  // Chunks known contiguously from the start, and the CRC-32 of their bytes.
  uint64_t prefix() const { return prefix_; }
  uint32_t prefix_crc() const { return prefix_crc_; }

  uint64_t chunk_count() const { return size_ / chunk_size_ + (size_ % chunk_size_ != 0); }
  bool complete() const { return prefix_ == chunk_count(); }
  uint32_t member_crc() const { return prefix_crc_; }

  // The CRCs of chunks [0, prefix()).
  std::vector<uint32_t> PrefixCrcs() const {
    return {crcs_.begin(), crcs_.begin() + static_cast<long>(prefix_)};
  }

  // Forgets every chunk (the member's data was found not to be what was
  // recorded).
  void Clear();

 private:
  uint64_t ChunkLength(uint64_t index) const;

  uint64_t size_;
  uint64_t chunk_size_;
  std::vector<uint32_t> crcs_;
  std::vector<bool> known_;
  uint64_t prefix_ = 0;
  uint32_t prefix_crc_ = 0;
  uint64_t full_op_ = 0;  // crc32_combine_gen(chunk_size), once needed
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_CHUNK_CRCS_H_
