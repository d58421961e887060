#include "tools/pack/zip_records.h"

#include <algorithm>
#include <array>

#include "core/archive/little_endian.h"
#include "core/base/crc32.h"

namespace npzfs::tools::pack {
namespace {

using core::Le16;
using core::Le32;
using core::Le64;

// APPNOTE 4.3.12, 4.3.14-4.3.16.
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr uint32_t kZip64EocdSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEocdSize = 22;
constexpr size_t kZip64EocdSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kMaxCommentSize = 0xffff;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint32_t k32Max = 0xffffffff;
constexpr uint16_t kVersionDefault = 20;  // deflate, as numpy writes
constexpr uint16_t kVersionZip64 = 45;
constexpr size_t kMaxExtraSize = 0xffff;

void Put(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>(value >> (8 * i) & 0xff);
}

const std::byte* AsBytes(std::string_view s) {
  return reinterpret_cast<const std::byte*>(s.data());
}

// IN's central extra fields without those OUT writes afresh; a field that
// runs past the end ends the list, as readers take it.
std::string KeptExtras(std::string_view extra) {
  std::string kept;
  for (size_t p = 0; extra.size() - p >= 4;) {
    const uint16_t id = Le16(AsBytes(extra.substr(p)));
    const size_t len = Le16(AsBytes(extra.substr(p + 2)));
    if (extra.size() - p - 4 < len) break;
    if (id != kZip64ExtraId && id != kAlignExtraId) kept += extra.substr(p, 4 + len);
    p += 4 + len;
  }
  return kept;
}

struct EndRecord {
  uint64_t cd_at = 0;
  uint64_t cd_size = 0;
  std::string comment;
};

core::Error NotZip(const core::ByteSource& src, const std::string& why) {
  return core::Corrupt(src.shown_name() + ": " + why);
}

// core/archive/zip_index.cc's ReadEndRecord, reduced to what is needed
// here: where the central directory lies in the file.
core::Result<EndRecord> ReadEndRecord(const core::ByteSource& src) {
  const uint64_t size = src.size();
  if (size < kEocdSize) return core::Fail(NotZip(src, "not a zip archive"));
  const uint64_t tail_at = size - std::min<uint64_t>(size, kEocdSize + kMaxCommentSize);
  std::string tail(size - tail_at, '\0');
  if (auto r =
          core::ReadExactly(src, tail_at, {reinterpret_cast<std::byte*>(tail.data()), tail.size()});
      !r) {
    return core::Fail(std::move(r).error());
  }
  size_t pos = tail.rfind("PK\x05\x06", tail.size() - kEocdSize);
  if (pos == std::string::npos) return core::Fail(NotZip(src, "not a zip archive"));
  const std::byte* eocd = AsBytes(tail) + pos;
  EndRecord end;
  end.cd_size = Le32(eocd + 12);
  const size_t comment_len = std::min<size_t>(Le16(eocd + 20), tail.size() - pos - kEocdSize);
  end.comment = tail.substr(pos + kEocdSize, comment_len);
  uint64_t record_at = tail_at + pos;
  if (record_at >= kZip64LocatorSize + kZip64EocdSize) {
    std::array<std::byte, kZip64EocdSize + kZip64LocatorSize> z64;
    const uint64_t z64_at = record_at - z64.size();
    if (auto r = core::ReadExactly(src, z64_at, z64); !r) return core::Fail(std::move(r).error());
    if (Le32(z64.data() + kZip64EocdSize) == kZip64LocatorSignature) {
      if (Le32(z64.data()) != kZip64EocdSignature) {
        return core::Fail(NotZip(src, "zip64 end of central directory record not found"));
      }
      end.cd_size = Le64(z64.data() + 40);
      record_at = z64_at;
    }
  }
  if (end.cd_size > record_at) return core::Fail(NotZip(src, "central directory is cut off"));
  end.cd_at = record_at - end.cd_size;
  return end;
}

}  // namespace

core::Result<CentralDirectory> ReadCentralDirectory(const core::ByteSource& src,
                                                    size_t expected_count) {
  auto end = ReadEndRecord(src);
  if (!end) return core::Fail(std::move(end).error());
  std::string cd(end->cd_size, '\0');
  if (auto r =
          core::ReadExactly(src, end->cd_at, {reinterpret_cast<std::byte*>(cd.data()), cd.size()});
      !r) {
    return core::Fail(std::move(r).error());
  }
  CentralDirectory out;
  out.comment = std::move(end->comment);
  size_t at = 0;
  for (size_t i = 0; i < expected_count; ++i) {
    if (cd.size() - at < kCentralHeaderSize || Le32(AsBytes(cd) + at) != kCentralSignature) {
      return core::Fail(NotZip(src, "central directory record " + std::to_string(i) +
                                        " not found where the index has it"));
    }
    const std::byte* h = AsBytes(cd) + at;
    const size_t n = Le16(h + 28), m = Le16(h + 30), k = Le16(h + 32);
    if (cd.size() - at - kCentralHeaderSize < n + m + k) {
      return core::Fail(
          NotZip(src, "central directory record " + std::to_string(i) + " is cut off"));
    }
    MemberRecord r;
    r.made_by = Le16(h + 4);
    r.flags = Le16(h + 8);
    r.dos_time = Le16(h + 12);
    r.dos_date = Le16(h + 14);
    r.internal_attrs = Le16(h + 36);
    r.external_attrs = Le32(h + 38);
    const size_t var = at + kCentralHeaderSize;
    r.raw_name = cd.substr(var, n);
    r.extra = KeptExtras(std::string_view(cd).substr(var + n, m));
    r.comment = cd.substr(var + n + m, k);
    out.members.push_back(std::move(r));
    at = var + n + m + k;
  }
  return out;
}

namespace {

// What a local header and a central record share, from the flags to the
// name's length (APPNOTE 4.3.7, 4.3.12); the sizes are 0xffffffff when a
// zip64 extra holds them.
void PutSharedFields(std::string& h, const WrittenMember& m, bool sizes_in_zip64) {
  const MemberRecord& r = *m.record;
  Put(h, r.flags & kFlagUtf8, 2);
  Put(h, m.method, 2);
  Put(h, r.dos_time, 2);
  Put(h, r.dos_date, 2);
  Put(h, m.crc32, 4);
  Put(h, sizes_in_zip64 ? k32Max : m.compressed_size, 4);
  Put(h, sizes_in_zip64 ? k32Max : m.size, 4);
  Put(h, r.raw_name.size(), 2);
}

}  // namespace

size_t LocalHeaderSize(std::string_view raw_name, uint16_t padding) {
  return kLocalHeaderSize + raw_name.size() + kLocalZip64ExtraSize + padding;
}

std::string LocalHeader(const WrittenMember& m, uint16_t padding, uint32_t align) {
  const MemberRecord& r = *m.record;
  const bool zip64 = m.size > kZip64Limit || m.compressed_size > kZip64Limit;
  std::string h;
  Put(h, kLocalSignature, 4);
  Put(h, zip64 ? kVersionZip64 : kVersionDefault, 2);
  PutSharedFields(h, m, zip64);
  Put(h, kLocalZip64ExtraSize + padding, 2);
  h += r.raw_name;
  // APPNOTE 4.5.3: in a local header the zip64 extra holds both sizes.
  Put(h, kZip64ExtraId, 2);
  Put(h, 16, 2);
  Put(h, m.size, 8);
  Put(h, m.compressed_size, 8);
  if (padding > 0) {
    Put(h, kAlignExtraId, 2);
    Put(h, padding - 4u, 2);
    Put(h, align > 0xffff ? 0 : align, 2);  // 65536 does not fit: 0, as "unknown"
    h.append(padding - kMinAlignExtraSize, '\0');
  }
  return h;
}

Placement PlaceStored(uint64_t at, std::string_view raw_name, uint64_t payload, uint32_t align) {
  const uint64_t base = at + LocalHeaderSize(raw_name) + payload;
  const uint64_t need = (align - base % align) % align;
  if (need == 0) return {};
  uint64_t padding = need;
  while (padding < kMinAlignExtraSize) padding += align;
  if (padding <= kMaxExtraSize - kLocalZip64ExtraSize) {
    return {0, static_cast<uint16_t>(padding)};
  }
  return {need, 0};
}

std::string HiddenEntryHeader(const MemberRecord& of, std::string_view name,
                              std::string_view content) {
  std::string h;
  Put(h, kLocalSignature, 4);
  Put(h, kVersionDefault, 2);
  Put(h, of.flags & kFlagUtf8, 2);
  Put(h, kMethodStored, 2);
  Put(h, of.dos_time, 2);
  Put(h, of.dos_date, 2);
  Put(h, core::Crc32(0, {AsBytes(content), content.size()}), 4);
  Put(h, content.size(), 4);
  Put(h, content.size(), 4);
  Put(h, name.size(), 2);
  Put(h, 0, 2);
  h += name;
  return h;
}

std::string CentralRecord(const WrittenMember& m) {
  const MemberRecord& r = *m.record;
  // zipfile's rule: both sizes when either is large, then the offset.
  std::string zip64;
  const bool large_sizes = m.size > kZip64Limit || m.compressed_size > kZip64Limit;
  const bool large_offset = m.local_header_offset > kZip64Limit;
  if (large_sizes) {
    Put(zip64, m.size, 8);
    Put(zip64, m.compressed_size, 8);
  }
  if (large_offset) Put(zip64, m.local_header_offset, 8);
  std::string extra;
  if (!zip64.empty()) {
    Put(extra, kZip64ExtraId, 2);
    Put(extra, zip64.size(), 2);
    extra += zip64;
  }
  if (extra.size() + r.extra.size() <= kMaxExtraSize) extra += r.extra;
  const uint16_t needed = zip64.empty() ? kVersionDefault : kVersionZip64;
  const uint16_t made_by =
      static_cast<uint16_t>((r.made_by & 0xff00) | std::max<uint16_t>(r.made_by & 0xff, needed));
  std::string h;
  Put(h, kCentralSignature, 4);
  Put(h, made_by, 2);
  Put(h, needed, 2);
  PutSharedFields(h, m, large_sizes);
  Put(h, extra.size(), 2);
  Put(h, r.comment.size(), 2);
  Put(h, 0, 2);  // disk
  Put(h, r.internal_attrs, 2);
  Put(h, r.external_attrs, 4);
  Put(h, large_offset ? k32Max : m.local_header_offset, 4);
  h += r.raw_name;
  h += extra;
  h += r.comment;
  return h;
}

std::string EndRecords(uint64_t count, uint64_t offset, uint64_t size, std::string_view comment) {
  std::string e;
  const bool zip64 = count > 0xffff || offset > kZip64Limit || size > kZip64Limit;
  if (zip64) {
    const uint64_t record_at = offset + size;
    Put(e, kZip64EocdSignature, 4);  // APPNOTE 4.3.14
    Put(e, kZip64EocdSize - 12, 8);
    Put(e, kVersionZip64, 2);
    Put(e, kVersionZip64, 2);
    Put(e, 0, 4);
    Put(e, 0, 4);
    Put(e, count, 8);
    Put(e, count, 8);
    Put(e, size, 8);
    Put(e, offset, 8);
    Put(e, kZip64LocatorSignature, 4);  // APPNOTE 4.3.15
    Put(e, 0, 4);
    Put(e, record_at, 8);
    Put(e, 1, 4);
  }
  Put(e, kEocdSignature, 4);  // APPNOTE 4.3.16
  Put(e, 0, 2);
  Put(e, 0, 2);
  Put(e, std::min<uint64_t>(count, 0xffff), 2);
  Put(e, std::min<uint64_t>(count, 0xffff), 2);
  Put(e, std::min<uint64_t>(size, k32Max), 4);
  Put(e, std::min<uint64_t>(offset, k32Max), 4);
  Put(e, comment.size(), 2);
  e += comment;
  return e;
}

}  // namespace npzfs::tools::pack
