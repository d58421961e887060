// Readers of one member's uncompressed bytes at any offset.
#ifndef NPZFS_CORE_ARCHIVE_MEMBER_READER_H_
#define NPZFS_CORE_ARCHIVE_MEMBER_READER_H_

#include <cstdint>
#include <memory>
#include <span>

#include "core/source/byte_source.h"
#include "core/base/result.h"
#include "core/archive/zip_index.h"

namespace npzfs::core {

// Verifies a member's CRC-32 over bytes fed to it in any pieces, counting
// only those that extend the prefix [0, checked()) already covered.
class SequentialCrc {
 public:
  void Feed(uint64_t offset, std::span<const std::byte> data);
  uint64_t checked() const { return checked_; }
  uint32_t value() const { return crc_; }
  void Reset() { checked_ = 0, crc_ = 0; }

 private:
  uint64_t checked_ = 0;
  uint32_t crc_ = 0;
};

// The mismatch error for member `e`, or success: call once all of its
// bytes went through `crc`.
Result<void> VerifyCrc(const ZipEntry& e, const SequentialCrc& crc);

// Reads bytes [offset, offset + n) of one member's content. One per user
// (e.g. per open file); not thread-safe.
class MemberReader {
 public:
  virtual ~MemberReader() = default;

  // Fills `out` from `offset`; returns the count, smaller than out.size()
  // only at the member's end (0 at or past it). Correct for any offset and
  // order of calls. The CRC-32 is checked whenever the member has been read
  // through to its end from its start; a mismatch fails that read.
  // Errors: kCorrupt (bad stream, size or CRC mismatch, archive changed),
  // kIo.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) = 0;
};

// Whether member `e` can be read at all: kUnsupported (encrypted, method
// not decodable here) or kCorrupt (its local header is bad), with the
// member's name in the message.
Result<void> CheckReadable(const ZipEntry& e);

// A reader for member `e` of `archive` (which must outlive it): stored
// members straight from the archive, deflate with zlib, bzip2 through
// libzip. Fails as CheckReadable does.
Result<std::unique_ptr<MemberReader>> OpenMemberReader(const ByteSource& archive,
                                                       const ZipIndex& index, const ZipEntry& e);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_ARCHIVE_MEMBER_READER_H_
