// Byte surgery on zip archives held in memory, for tests that break one
// field and assert the exact outcome.
#ifndef NPZFS_TESTS_SUPPORT_ZIP_PATCH_H_
#define NPZFS_TESTS_SUPPORT_ZIP_PATCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace npzfs::testing {

// APPNOTE 4.3.7 / 4.3.12 field offsets.
inline constexpr size_t kLocalMethod = 8, kLocalCrc = 14, kLocalCsize = 18, kLocalUsize = 22,
                        kLocalNameLen = 26;
inline constexpr size_t kCentralMethod = 10, kCentralCrc = 16, kCentralCsize = 20,
                        kCentralUsize = 24, kCentralLocalOffset = 42;

uint32_t GetLe(std::string_view zip, size_t at, int width);
void PutLe(std::string& zip, size_t at, int width, uint64_t value);

// Offset of the central directory record of `name` (npos when absent).
size_t CentralRecord(std::string_view zip, std::string_view name);
// Offset of the local header of `name`, read from its central record.
size_t LocalHeader(std::string_view zip, std::string_view name);
// Offset of the first data byte of `name`.
size_t DataStart(std::string_view zip, std::string_view name);

// Sets a field in both headers of `name`: width 2 or 4 bytes.
void PatchBoth(std::string& zip, std::string_view name, size_t local_field, size_t central_field,
               int width, uint64_t value);

// Extra fields (APPNOTE 4.5.5; Info-ZIP extrafld.txt), as bytes: NTFS times
// (0x000a: 4 reserved bytes, then attribute tag 1, size 24, holding mtime,
// atime and ctime as FILETIME, 100 ns units since 1601-01-01 UTC) and the
// extended timestamp (0x5455, mtime only).
std::string NtfsTimesExtra(uint64_t mtime, uint64_t atime, uint64_t ctime);
std::string ExtendedTimestampExtra(uint32_t mtime);

// The FILETIME of `unix_seconds` + `ticks` 100 ns units.
inline uint64_t FileTime(int64_t unix_seconds, uint32_t ticks = 0) {
  return static_cast<uint64_t>(unix_seconds + 11644473600) * 10000000 + ticks;
}

// Writes a zip at `path` with Python's zipfile: one stored member of one
// byte per (name, extra), the extra bytes in both headers, DOS time
// 1999-12-31 23:59:58. Fails the current test (ADD_FAILURE) on error.
void WriteZipWithExtras(const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace npzfs::testing

#endif  // NPZFS_TESTS_SUPPORT_ZIP_PATCH_H_
