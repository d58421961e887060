// Reads of stored members: their bytes straight from the archive (where
// the source has it mapped, from the mapping itself: no copy but the
// kernel's into the reader's pages), and their CRC-32 checked once every
// byte has been read, in any order.
#ifndef NPZFS_CORE_READ_STORED_READS_H_
#define NPZFS_CORE_READ_STORED_READS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "core/archive/archive.h"
#include "core/base/mutex.h"
#include "core/base/result.h"
#include "core/read/crc_intervals.h"

namespace npzfs::core {

// Memory: a few hundred bytes per member read so far (at most 256 CRC
// intervals, about 16 KiB, while a member is read out of order).
//
// Thread-safe: one mutex over every member's CRC bookkeeping, held only to
// look up and record intervals, never while reading or computing a CRC.
class StoredReads {
 public:
  // `archive` must outlive it.
  explicit StoredReads(const Archive& archive) : archive_(archive) {}
  StoredReads(const StoredReads&) = delete;
  StoredReads& operator=(const StoredReads&) = delete;

  // Bytes [offset, offset + size) of stored member i, fewer only at the
  // member's end: where the source holds them in memory (a mapped file),
  // else read into `scratch` (at least `size` bytes). Errors: kIo,
  // kCorrupt (the archive changed; a CRC-32 mismatch, lasting for the
  // member), each naming the member.
  Result<std::span<const std::byte>> Read(size_t member, uint64_t offset, size_t size,
                                          std::span<std::byte> scratch) EXCLUDES(mu_);

 private:
  struct State {
    explicit State(uint64_t size) : crc(size) {}
    std::optional<Error> failure;
    bool verified = false;
    CrcIntervals crc;
  };

  State& StateOf(size_t member) REQUIRES(mu_);
  Result<void> CoverCrc(size_t member, uint64_t offset, std::span<const std::byte> bytes)
      EXCLUDES(mu_);
  Error Changed(size_t member) const;

  const Archive& archive_;
  Mutex mu_;
  std::unordered_map<size_t, std::unique_ptr<State>> states_ GUARDED_BY(mu_);
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_STORED_READS_H_
