// The member list of a zip archive: what the central directory says of each
// member, plus the offset of its data taken from its own local header.
//
// The central directory is parsed here rather than through libzip: libzip
// 1.7.3 exposes no member's local header offset (no public API gives it) and
// refuses archives with a stub in front whose offsets were not adjusted,
// which Python's zipfile, and so numpy, read. The parser follows zipfile's
// rules (end record search, zip64, the stub "concat", name decoding) and is
// bounded by the archive's size.
//
// Built once; immutable afterwards and safe to read from any thread.
#ifndef NPZFS_CORE_ARCHIVE_ZIP_INDEX_H_
#define NPZFS_CORE_ARCHIVE_ZIP_INDEX_H_

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/sozip.h"
#include "core/base/result.h"
#include "core/codec/registry.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

struct ZipEntry {
  uint64_t index = 0;  // position in the central directory

  // The name as Python's zipfile decodes it: UTF-8 when the member has the
  // UTF-8 flag (bit 11), else CP437, in both cases returned as UTF-8.
  std::string name;
  // The safe relative path under the mount root (README, "What the mount
  // shows"): no leading '/', no trailing '/' for directories. Empty when
  // the member is left out, and then skip_reason says why.
  std::string path;
  std::string skip_reason;

  uint16_t method = 0;
  uint64_t size = 0;             // uncompressed, from the central directory
  uint64_t compressed_size = 0;  // from the central directory
  uint32_t crc32 = 0;
  int64_t dos_mtime = 0;              // DOS date and time read as local time
  std::optional<int64_t> unix_mtime;  // extended timestamp (0x5455), if any
  // NTFS times (0x000a), if any and not before 1970: seconds since 1970 and
  // nanoseconds (100 ns steps).
  std::optional<timespec> ntfs_mtime;
  std::optional<uint32_t> unix_mode;  // st_mode bits, when made by Unix
  bool encrypted = false;
  bool data_descriptor = false;  // flag bit 3
  bool utf8_name = false;        // flag bit 11
  bool is_directory = false;     // name ends in '/'
  bool is_symlink = false;       // Unix mode says S_IFLNK

  // As recorded, from the zip's start (ZipIndex::prefix bytes into the
  // file); when the recorded offsets count bytes cut from the front of the
  // file, already moved back by their count, as zipfile does.
  uint64_t local_header_offset = 0;
  // First byte of the member's stored (compressed) data in the archive
  // file, from the local header's own name and extra lengths.
  uint64_t data_offset = 0;
  // Non-empty when the data cannot be trusted: the local header is missing,
  // contradicts the central directory, the data runs past the end of the
  // archive, or a stored member's two sizes differ. Reads of such a member
  // fail with kCorrupt and this text.
  std::string local_error;

  // A deflate member's SOZip index (sozip.h), when it has a valid one;
  // sozip_note says why one found does not fit (the member is then read
  // as any other).
  std::optional<SozipIndex> sozip;
  std::string sozip_note;

  // The member's time as mount-zip takes it: NTFS times over the extended
  // timestamp over the DOS time.
  int64_t mtime() const { return ntfs_mtime ? ntfs_mtime->tv_sec : unix_mtime.value_or(dos_mtime); }
  uint32_t mtime_nsec() const {
    return ntfs_mtime ? static_cast<uint32_t>(ntfs_mtime->tv_nsec) : 0;
  }
};

struct ZipIndex {
  std::vector<ZipEntry> entries;  // central directory order
  std::string comment;
  uint64_t prefix = 0;  // bytes of stub before the zip (offsets not adjusted)
  uint64_t archive_size = 0;
};

// Reads the central directory and every local header. Fails only when the
// archive as a whole cannot be read (kCorrupt: not a zip, truncated or
// inconsistent central directory; kIo); a bad single member is kept, with
// local_error or skip_reason set.
Result<ZipIndex> ReadZipIndex(const ByteSource& archive);

// The name rules of the README ("What the mount shows"). Returns the cleaned relative path (leading
// '/' dropped, a trailing '/' of a directory entry dropped), or an Error (kInvalidArgument) saying
// why the name is left out: empty, a '.', '..' or empty component, a NUL, a component over 255
// bytes, over 4096 bytes.
Result<std::string> SafeMemberPath(std::string_view name);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_ARCHIVE_ZIP_INDEX_H_
