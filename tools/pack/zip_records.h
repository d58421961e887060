// The zip records `npzinfo pack` copies and writes: what IN's central
// directory says of each member, byte for byte (core's ZipIndex keeps
// decoded names and times, not the recorded bytes), and the local headers,
// central directory records and end records of OUT.
//
// Pure functions of their arguments, safe from any thread, except
// ReadCentralDirectory, which reads a source (thread-safe itself).
#ifndef NPZFS_TOOLS_PACK_ZIP_RECORDS_H_
#define NPZFS_TOOLS_PACK_ZIP_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/source/byte_source.h"

namespace npzfs::tools::pack {

inline constexpr uint16_t kMethodStored = 0;
inline constexpr uint16_t kMethodDeflate = 8;
inline constexpr uint16_t kFlagUtf8 = 1u << 11;
// zipfile's ZIP64_LIMIT: sizes and offsets past it go into zip64 fields,
// as Python writes them (and as readers with signed 32-bit fields need).
inline constexpr uint64_t kZip64Limit = (uint64_t{1} << 31) - 1;
// Fixed parts of the records (APPNOTE 4.3.7, 4.5.3).
inline constexpr size_t kLocalHeaderSize = 30;
inline constexpr size_t kLocalZip64ExtraSize = 20;
// The alignment extra field of Android's zipalign (FORMAT.md 5.4): id,
// length, a 2-byte alignment, zeros. 6 bytes at least.
inline constexpr uint16_t kAlignExtraId = 0xd935;
inline constexpr size_t kMinAlignExtraSize = 6;

// One member of IN as its central directory records it.
struct MemberRecord {
  std::string raw_name;  // as recorded (UTF-8 when flags has bit 11)
  uint16_t made_by = 0;
  uint16_t flags = 0;
  uint16_t dos_time = 0;
  uint16_t dos_date = 0;
  uint16_t internal_attrs = 0;
  uint32_t external_attrs = 0;
  // The central extra fields but zip64's (0x0001) and alignment's
  // (0xd935), which OUT writes afresh: extended timestamps, NTFS times,
  // Unix ids and the like stay.
  std::string extra;
  std::string comment;
};

struct CentralDirectory {
  std::vector<MemberRecord> members;  // central directory order
  std::string comment;                // the archive's
};

// IN's central directory, found as core::ReadZipIndex finds it (the last
// end record in the final 64 KiB, a zip64 locator right before it, the
// directory right before the records), which `expected_count` records
// from core's index must match. Errors: kIo; kCorrupt naming the source
// when the records cannot be read or are not `expected_count`.
core::Result<CentralDirectory> ReadCentralDirectory(const core::ByteSource& src,
                                                    size_t expected_count);

// What OUT holds of one member, for its central directory record.
struct WrittenMember {
  const MemberRecord* record = nullptr;
  uint16_t method = kMethodStored;
  uint32_t crc32 = 0;
  uint64_t size = 0;
  uint64_t compressed_size = 0;
  uint64_t local_header_offset = 0;
};

// A local header as numpy writes them (always a zip64 extra with both
// sizes, which hold the real values below kZip64Limit and 0xffffffff
// above), the UTF-8 flag kept, no data descriptor; then `padding` bytes of
// alignment extra field (0, or kMinAlignExtraSize up to 65515) that tell
// `align`. Its size is LocalHeaderSize(name, padding) whatever the sizes,
// so that a placeholder can be written first and this over it.
std::string LocalHeader(const WrittenMember& m, uint16_t padding = 0, uint32_t align = 0);
size_t LocalHeaderSize(std::string_view raw_name, uint16_t padding = 0);

// Where a stored member whose local header would start at `at` goes so
// that byte `payload` of its data (the first after an npy header, or 0)
// lands on a multiple of `align` (a power of two up to 65536): `padding`
// bytes of alignment extra field in its local header, and, only when no
// extra field of 6 to 65515 bytes can do it, `gap` zero bytes before the
// header (readers go by the recorded offsets; nothing reads between
// members).
struct Placement {
  uint64_t gap = 0;
  uint16_t padding = 0;
};
Placement PlaceStored(uint64_t at, std::string_view raw_name, uint64_t payload, uint32_t align);

// The local header of a SOZip index entry `name` holding `content`
// (stored, no extra field), with the indexed member's time and UTF-8 flag.
std::string HiddenEntryHeader(const MemberRecord& of, std::string_view name,
                              std::string_view content);

// The central directory record of `m`: IN's attributes, times and other
// extra fields, and a zip64 extra for the values past kZip64Limit.
std::string CentralRecord(const WrittenMember& m);

// The end records after a central directory of `count` records, `size`
// bytes at `offset`: zip64 ones too when a value needs it, as zipfile
// writes them; then the archive comment.
std::string EndRecords(uint64_t count, uint64_t offset, uint64_t size, std::string_view comment);

}  // namespace npzfs::tools::pack

#endif  // NPZFS_TOOLS_PACK_ZIP_RECORDS_H_
