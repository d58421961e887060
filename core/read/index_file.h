// The persisted index of an archive's compressed members: their access
// points (with compressed windows) and the CRC-32 of every chunk, so that a
// later mount reads anywhere at once and checks every chunk it makes.
//
// Format (all little-endian), version 1:
//
//   header, 64 bytes: "NPZFSIDX", u32 version, u32 CRC-32 of the header
//     (with this field 0), the archive's identity (u64 size, i64 mtime
//     seconds, i32 nanoseconds, u32 0, u64 hash of its central directory),
//     u32 member count, u32 0, u64 bytes of member records;
//   member records, each: u32 record bytes, u32 CRC-32 of the record (this
//     field 0), the member (u64 index, u16 method, u16 0, u32 CRC-32, u64
//     size, u64 compressed size, u64 data offset), u64 chunk size, u8
//     complete, 7 bytes 0, u64 chunk CRC count and the u32 CRCs (padded to
//     8 bytes), u64 point count and the points (48 bytes each: u64 out, u64
//     in, u8 bits, 3 bytes 0, u32 CRC-32 before out, u64 window offset in
//     the file, u32 compressed length, u32 length, u32 CRC-32 of the
//     window, 4 bytes 0);
//   the windows, raw deflate, read only when a decoder starts at their
//     point.
//
// Every count is checked against the bytes that hold it before anything
// is allocated; the records are read whole (they are small: 48 bytes a
// point, 4 a chunk), windows never before they are needed.
#ifndef NPZFS_CORE_READ_INDEX_FILE_H_
#define NPZFS_CORE_READ_INDEX_FILE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/result.h"
#include "core/base/unique_fd.h"

namespace npzfs::core {

// What an index is bound to: a different or changed archive has another.
struct IndexIdentity {
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  int32_t mtime_nsec = 0;
  uint64_t cd_hash = 0;  // of every central directory record's fields
  bool operator==(const IndexIdentity&) const = default;
};
IndexIdentity IdentityOf(const Archive& archive);

// Persisted points are at least this far apart: a window costs at most
// 32 KiB (incompressible) per 2 MiB, 1.6 % of the member, usually far less.
inline constexpr uint64_t kPersistedSpan = uint64_t{2} << 20;

struct PersistedPoint {
  uint64_t out = 0;
  uint64_t in = 0;
  uint8_t bits = 0;
  uint32_t crc_before = 0;  // CRC-32 of the member's bytes before out
  uint64_t window_offset = 0;
  uint32_t window_compressed = 0;
  uint32_t window_length = 0;
  uint32_t window_crc = 0;
};

struct PersistedMember {
  // Which member, as the central directory says: all must match.
  uint64_t index = 0;
  uint16_t method = 0;
  uint32_t crc32 = 0;
  uint64_t size = 0;
  uint64_t compressed_size = 0;
  uint64_t data_offset = 0;

  uint64_t chunk_size = 0;
  // The pass reached the end: chunk_crcs covers every chunk and combines
  // to crc32 (checked when read).
  bool complete = false;
  std::vector<uint32_t> chunk_crcs;  // chunks 0, 1, ... of chunk_size bytes
  std::vector<PersistedPoint> points;

  bool Matches(const ZipEntry& e) const;
};

// A member to write. Per point, its window in memory, or (where `packed`
// has bytes) its window as an index file holds it already, deflated, with
// the point's window_length and window_crc as they were: copied, not
// inflated and deflated again.
struct MemberToWrite {
  PersistedMember member;  // window fields are filled in by the writer
  std::vector<std::vector<std::byte>> windows;
  std::vector<std::string> packed;  // empty, or one per point
};

// Parses `bytes` (a whole index file, or its header and records: windows
// are only checked to lie within `file_size`). Errors: kCorrupt saying
// what does not fit; kNotFound when it is a sound index of another
// identity (stale or foreign).
Result<std::vector<PersistedMember>> ParseIndex(std::span<const std::byte> bytes,
                                                uint64_t file_size, const IndexIdentity& expected);

// An index file opened for a mount: its records parsed, its windows read
// when asked. Thread-safe after Open.
class IndexFile {
 public:
  // Opens `path` without following a symlink and refuses anything but a
  // regular file. Errors: kNotFound (no file, or one of another identity),
  // kCorrupt, kIo.
  static Result<std::unique_ptr<IndexFile>> Open(const std::string& path,
                                                 const IndexIdentity& expected);

  const PersistedMember* Find(const ZipEntry& e) const;
  const std::vector<PersistedMember>& members() const { return members_; }

  // The window of `p`, inflated and checked (length and CRC-32). kCorrupt
  // when it is not what the record says.
  Result<std::vector<std::byte>> ReadWindow(const PersistedPoint& p) const;

  // The window of `p` as stored (deflated), unchecked: to copy it into the
  // next index file, where ReadWindow() checks it when it is used.
  Result<std::string> ReadPackedWindow(const PersistedPoint& p) const;

  const std::string& path() const { return path_; }

 private:
  IndexFile(UniqueFd fd, std::string path, std::vector<PersistedMember> members);

  UniqueFd fd_;
  std::string path_;
  std::vector<PersistedMember> members_;
  // Record of each member index (the first, should a file repeat one):
  // each member's first read looks its record up.
  std::unordered_map<uint64_t, size_t> by_index_;
};

// Writes an index atomically: a temporary file in the same directory,
// fsync, rename over `path`, fsync of the directory. Never leaves a
// half-written file at `path`; the temporary file is removed on failure.
Result<void> WriteIndexFile(const std::string& path, const IndexIdentity& identity,
                            std::vector<MemberToWrite> members);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_INDEX_FILE_H_
