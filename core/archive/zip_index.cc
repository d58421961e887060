#include "core/archive/zip_index.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <numeric>

#include "core/archive/little_endian.h"
#include "core/base/text.h"
#include "core/source/windowed_reader.h"

namespace npzfs::core {
namespace {

// APPNOTE 4.3.16: end of central directory record.
constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kMaxCommentSize = 0xffff;
// APPNOTE 4.3.14/4.3.15: zip64 end of central directory record and locator.
constexpr uint32_t kZip64EocdSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EocdSize = 56;
// APPNOTE 4.3.12: central directory file header.
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr size_t kCentralHeaderSize = 46;
// APPNOTE 4.3.7: local file header.
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr size_t kLocalHeaderSize = 30;
// APPNOTE 4.5.3; Info-ZIP extrafld.txt.
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kExtTimestampId = 0x5455;
constexpr uint16_t kNtfsExtraId = 0x000a;
// FILETIME (100 ns units since 1601-01-01 UTC) of 1970-01-01.
constexpr uint64_t kFileTimeOf1970 = 116444736000000000;

constexpr uint16_t kFlagEncrypted = 1u << 0;
constexpr uint16_t kFlagDataDescriptor = 1u << 3;
constexpr uint16_t kFlagStrongEncryption = 1u << 6;
constexpr uint16_t kFlagUtf8 = 1u << 11;
constexpr uint8_t kMadeByUnix = 3;
constexpr uint32_t k32Max = 0xffffffff;
// What mounting reads of a member after its local header's name: room for
// its extra field, and the first bytes of its data (an npy header).
constexpr uint64_t kLocalSlack = 512;
constexpr uint64_t kPeekData = 4096;

std::string_view AsChars(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

struct EndRecord {
  uint64_t cd_offset = 0;  // as recorded, relative to the zip's start
  uint64_t cd_size = 0;
  uint64_t cd_at = 0;  // where the central directory is in the file
  // zipfile's "concat", the file offset of the zip's start: a stub in
  // front when positive (`prefix`); when negative (`missing`), bytes the
  // recorded offsets count were cut from the front (a self-extractor's stub
  // removed after its offsets were adjusted).
  uint64_t prefix = 0;
  uint64_t missing = 0;
  std::string comment;
};

// Finds the end record as Python's zipfile does (the last signature in the
// final 64 KiB + 22 bytes; junk after it is allowed), follows a zip64
// locator, and, like zipfile, takes the central directory to end where
// that record begins: the difference from its recorded offset is a stub in
// front of the zip whose offsets were not adjusted, or a stub cut off whose
// offsets were.
Result<EndRecord> ReadEndRecord(const ByteSource& src) {
  const uint64_t size = src.size();
  if (size < kEocdSize) return Fail(Corrupt(src.shown_name() + ": not a zip archive"));
  const uint64_t tail_at = size - std::min<uint64_t>(size, kEocdSize + kMaxCommentSize);
  std::vector<std::byte> tail(size - tail_at);
  if (auto r = ReadExactly(src, tail_at, tail); !r) return Fail(std::move(r).error());

  size_t pos = tail.size() - kEocdSize + 1;
  while (pos-- > 0 && Le32(&tail[pos]) != kEocdSignature) {
  }
  if (pos == static_cast<size_t>(-1)) {
    return Fail(
        Corrupt(src.shown_name() + ": not a zip archive (no end of central directory record)"));
  }
  const std::byte* eocd = &tail[pos];
  const uint64_t eocd_at = tail_at + pos;
  EndRecord end;
  end.cd_size = Le32(eocd + 12);
  end.cd_offset = Le32(eocd + 16);
  const size_t comment_len = std::min<size_t>(Le16(eocd + 20), tail.size() - pos - kEocdSize);
  end.comment.assign(reinterpret_cast<const char*>(eocd + kEocdSize), comment_len);
  if (Le16(eocd + 4) != 0 || Le16(eocd + 6) != 0) {
    return Fail(Corrupt(src.shown_name() + ": multi-disk zip archives are not supported"));
  }

  // zipfile takes the zip64 record as lying right before its locator.
  uint64_t record_at = eocd_at;
  if (eocd_at >= kZip64LocatorSize + kZip64EocdSize) {
    std::array<std::byte, kZip64EocdSize + kZip64LocatorSize> z64;
    const uint64_t z64_at = eocd_at - z64.size();
    if (auto r = ReadExactly(src, z64_at, z64); !r) return Fail(std::move(r).error());
    if (Le32(z64.data() + kZip64EocdSize) == kZip64LocatorSignature) {
      if (Le32(&z64[0]) != kZip64EocdSignature) {
        return Fail(
            Corrupt(src.shown_name() + ": zip64 end of central directory record not found"));
      }
      end.cd_size = Le64(&z64[40]);
      end.cd_offset = Le64(&z64[48]);
      record_at = z64_at;
    }
  }
  if (end.cd_size > record_at) {
    return Fail(Corrupt(src.shown_name() + ": central directory (" + std::to_string(end.cd_size) +
                        " bytes at offset " + std::to_string(end.cd_offset) +
                        ") does not fit before its end record at offset " +
                        std::to_string(record_at)));
  }
  end.cd_at = record_at - end.cd_size;
  if (end.cd_offset <= end.cd_at) {
    end.prefix = end.cd_at - end.cd_offset;
  } else {
    end.missing = end.cd_offset - end.cd_at;
  }
  return end;
}

// DOS date and time (APPNOTE 4.4.6) read as local time, like zipfile's
// date_time tuple given to mktime. Cached: archives repeat one timestamp.
int64_t DosToUnix(uint16_t time, uint16_t date) {
  static thread_local uint32_t last_key = 0xffffffff;
  static thread_local int64_t last_value = 0;
  const uint32_t key = uint32_t{date} << 16 | time;
  if (key == last_key) return last_value;
  std::tm tm{};
  tm.tm_year = ((date >> 9) & 0x7f) + 80;
  tm.tm_mon = ((date >> 5) & 0x0f) - 1;
  tm.tm_mday = date & 0x1f;
  tm.tm_hour = (time >> 11) & 0x1f;
  tm.tm_min = (time >> 5) & 0x3f;
  tm.tm_sec = (time & 0x1f) * 2;
  tm.tm_isdst = -1;
  last_key = key;
  last_value = static_cast<int64_t>(std::mktime(&tm));
  return last_value;
}

// Calls fn(id, data) for each well-formed extra field; stops at the first
// one that runs past the end.
template <class Fn>
void ForEachExtra(std::span<const std::byte> extra, Fn fn) {
  size_t p = 0;
  while (extra.size() - p >= 4) {
    const uint16_t id = Le16(&extra[p]);
    const uint16_t len = Le16(&extra[p + 2]);
    if (extra.size() - p - 4 < len) return;
    fn(id, extra.subspan(p + 4, len));
    p += 4 + size_t{len};
  }
}

// The mtime of an NTFS extra field (APPNOTE 4.5.5: 4 reserved bytes, then
// tag/size attributes; tag 1 holds mtime, atime, ctime as FILETIME). Times
// before 1970 are ignored, as mount-zip ignores them.
std::optional<timespec> NtfsMtime(std::span<const std::byte> d) {
  size_t p = 4;
  while (d.size() >= p + 4) {
    const uint16_t tag = Le16(&d[p]);
    const uint16_t len = Le16(&d[p + 2]);
    p += 4;
    if (d.size() - p < len) return std::nullopt;
    if (tag == 1 && len >= 24) {
      const uint64_t t = Le64(&d[p]);
      if (t < kFileTimeOf1970) return std::nullopt;
      const uint64_t since = t - kFileTimeOf1970;
      return timespec{static_cast<time_t>(since / 10000000),
                      static_cast<long>(since % 10000000) * 100};
    }
    p += len;
  }
  return std::nullopt;
}

// Applies the central zip64 extra (APPNOTE 4.5.3: only the fields whose
// 32-bit value is 0xFFFFFFFF, in a fixed order), the extended timestamp and
// NTFS times.
void ApplyCentralExtras(std::span<const std::byte> extra, ZipEntry& e) {
  ForEachExtra(extra, [&e](uint16_t id, std::span<const std::byte> d) {
    if (id == kZip64ExtraId) {
      size_t p = 0;
      auto take = [&](uint64_t& field) {
        if (field != k32Max) return;
        if (d.size() - p < 8) {
          e.local_error = "the zip64 extra field is too short";
          return;
        }
        field = Le64(&d[p]);
        p += 8;
      };
      take(e.size);
      take(e.compressed_size);
      take(e.local_header_offset);
    } else if (id == kExtTimestampId && d.size() >= 5 && (std::to_integer<unsigned>(d[0]) & 1)) {
      e.unix_mtime = static_cast<int32_t>(Le32(&d[1]));
    } else if (id == kNtfsExtraId) {
      if (auto t = NtfsMtime(d)) e.ntfs_mtime = *t;
    }
  });
}

// Decodes the name as zipfile does and decides whether and where the
// member appears.
void ApplyName(std::string_view raw, uint16_t flags, ZipEntry& e) {
  const size_t nul = raw.find('\0');
  const std::string_view shown = raw.substr(0, nul);
  e.utf8_name = (flags & kFlagUtf8) != 0;
  const bool bad_utf8 = e.utf8_name && !IsValidUtf8(shown);
  e.name = e.utf8_name && !bad_utf8 ? std::string(shown) : Cp437ToUtf8(shown);
  e.is_directory = !raw.empty() && raw.back() == '/';
  if (nul != std::string_view::npos) {
    e.skip_reason = "the name contains a NUL byte";
  } else if (bad_utf8) {
    e.skip_reason = "the name is flagged UTF-8 but is not valid UTF-8";
  } else if (auto path = SafeMemberPath(e.name)) {
    e.path = std::move(*path);
  } else {
    e.skip_reason = path.error().message;
  }
}

// Parses one central directory record at `at`; advances `at` past it.
// `raw_name` receives the name's bytes, for the local header check.
Result<ZipEntry> ReadCentralRecord(WindowedReader& cd, const ByteSource& src, uint64_t& at,
                                   uint64_t end, uint64_t index, std::string& raw_name) {
  auto truncated = [&] {
    return Corrupt(src.shown_name() + ": central directory is truncated at entry " +
                   std::to_string(index) + " (offset " + std::to_string(at) + ")");
  };
  if (end - at < kCentralHeaderSize) return Fail(truncated());
  auto fixed_r = cd.Read(at, kCentralHeaderSize);
  if (!fixed_r) return Fail(std::move(fixed_r).error());
  if (fixed_r->size() < kCentralHeaderSize) return Fail(truncated());
  std::array<std::byte, kCentralHeaderSize> h;
  std::copy(fixed_r->begin(), fixed_r->end(), h.begin());
  if (Le32(&h[0]) != kCentralSignature) {
    return Fail(Corrupt(src.shown_name() + ": bad central directory record signature at offset " +
                        std::to_string(at) + " (entry " + std::to_string(index) + ")"));
  }
  const size_t n = Le16(&h[28]), m = Le16(&h[30]), k = Le16(&h[32]);
  if (end - at - kCentralHeaderSize < n + m + k) return Fail(truncated());
  auto var = cd.Read(at + kCentralHeaderSize, n + m);
  if (!var) return Fail(std::move(var).error());
  if (var->size() < n + m) return Fail(truncated());

  ZipEntry e;
  e.index = index;
  const uint16_t flags = Le16(&h[8]);
  e.method = Le16(&h[10]);
  e.dos_mtime = DosToUnix(Le16(&h[12]), Le16(&h[14]));
  e.crc32 = Le32(&h[16]);
  e.compressed_size = Le32(&h[20]);
  e.size = Le32(&h[24]);
  e.local_header_offset = Le32(&h[42]);
  e.encrypted = (flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0;
  e.data_descriptor = (flags & kFlagDataDescriptor) != 0;
  if (std::to_integer<uint8_t>(h[5]) == kMadeByUnix) {
    const uint32_t mode = Le32(&h[38]) >> 16;
    if (mode != 0) e.unix_mode = mode;
    e.is_symlink = S_ISLNK(mode);
  }
  raw_name = AsChars(var->first(n));
  ApplyName(raw_name, flags, e);
  ApplyCentralExtras(var->subspan(n, m), e);
  at += kCentralHeaderSize + n + m + k;
  return e;
}

std::string Mismatch(const char* what, uint64_t local, uint64_t central) {
  return std::string("local header says ") + what + " " + std::to_string(local) +
         ", central directory says " + std::to_string(central);
}

// Reads member e's local header, checks it against the central directory
// (the central directory is the truth) and sets data_offset, or
// local_error. Only an I/O error fails.
// `reader` holds local header k.
Result<void> ResolveLocalHeader(GatherReader& reader, size_t k, uint64_t archive_size,
                                uint64_t prefix, std::string_view central_name, ZipEntry& e) {
  if (!e.local_error.empty()) return {};
  if (e.local_header_offset >= archive_size - prefix) {
    e.local_error = "the local header offset " + std::to_string(e.local_header_offset) +
                    " lies past the end of the archive";
    return {};
  }
  const uint64_t at = prefix + e.local_header_offset;
  auto fixed_r = reader.Read(k, at, kLocalHeaderSize);
  if (!fixed_r) return Fail(std::move(fixed_r).error());
  if (fixed_r->size() < kLocalHeaderSize) {
    e.local_error =
        "the local header at offset " + std::to_string(at) + " lies past the end of the archive";
    return {};
  }
  std::array<std::byte, kLocalHeaderSize> h;
  std::copy(fixed_r->begin(), fixed_r->end(), h.begin());
  if (Le32(&h[0]) != kLocalSignature) {
    e.local_error = "no local header at offset " + std::to_string(at);
    return {};
  }
  const uint16_t method = Le16(&h[8]);
  const uint32_t crc = Le32(&h[14]);
  uint64_t csize = Le32(&h[18]);
  uint64_t usize = Le32(&h[22]);
  const size_t n = Le16(&h[26]), m = Le16(&h[28]);
  auto var = reader.Read(k, at + kLocalHeaderSize, n + m);
  if (!var) return Fail(std::move(var).error());
  if (var->size() < n + m) {
    e.local_error = "the local header at offset " + std::to_string(at) +
                    " is cut off by the end of the archive";
    return {};
  }
  if (AsChars(var->first(n)) != central_name) {
    e.local_error = "the local header's name differs from the central directory's";
    return {};
  }
  if (method != e.method) {
    e.local_error = Mismatch("method", method, e.method);
    return {};
  }
  // With a data descriptor the local CRC and sizes may be zero (APPNOTE
  // 4.4.4 bit 3); the central directory has the real ones.
  if ((Le16(&h[6]) & kFlagDataDescriptor) == 0) {
    ForEachExtra(var->subspan(n), [&](uint16_t id, std::span<const std::byte> d) {
      // A local zip64 extra holds both sizes (APPNOTE 4.5.3); numpy writes
      // it in every local header.
      if (id == kZip64ExtraId && d.size() >= 16 && (usize == k32Max || csize == k32Max)) {
        usize = Le64(&d[0]);
        csize = Le64(&d[8]);
      }
    });
    if (crc != e.crc32) {
      e.local_error = Mismatch("CRC-32", crc, e.crc32);
    } else if (usize != e.size) {
      e.local_error = Mismatch("size", usize, e.size);
    } else if (csize != e.compressed_size) {
      e.local_error = Mismatch("compressed size", csize, e.compressed_size);
    }
    if (!e.local_error.empty()) return {};
  }
  e.data_offset = at + kLocalHeaderSize + n + m;
  if (e.data_offset > archive_size || e.compressed_size > archive_size - e.data_offset) {
    e.local_error = "the data (" + std::to_string(e.compressed_size) + " bytes at offset " +
                    std::to_string(e.data_offset) + ") runs past the end of the archive (" +
                    std::to_string(archive_size) + " bytes)";
  } else if (e.method == kMethodStored && !e.encrypted && e.size != e.compressed_size) {
    // Stored content is the compressed data itself: reading `size` bytes
    // would serve bytes that are not the member's, or stop short.
    e.local_error = "a stored member's size " + std::to_string(e.size) +
                    " differs from its compressed size " + std::to_string(e.compressed_size);
  }
  return {};
}

}  // namespace

Result<std::string> SafeMemberPath(std::string_view name) {
  auto bad = [](std::string why) {
    return Fail(MakeError(Errc::kInvalidArgument, std::move(why)));
  };
  if (name.find('\0') != std::string_view::npos) return bad("the name contains a NUL byte");
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  if (!name.empty() && name.back() == '/') name.remove_suffix(1);
  if (name.empty()) return bad("the name is empty");
  if (name.size() > 4096) return bad("the path is longer than 4096 bytes");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = std::min(name.find('/', start), name.size());
    std::string_view part = name.substr(start, end - start);
    if (part.empty()) return bad("the path has an empty component");
    if (part == "." || part == "..") {
      return bad("the path has a '" + std::string(part) + "' component");
    }
    if (part.size() > 255) return bad("a path component is longer than 255 bytes");
    start = end + 1;
  }
  return std::string(name);
}

namespace {

// SOZip indexes: a deflate member's hidden index entry lies between its
// data and the next local header (or the central directory), so only
// where that gap can hold one is anything read: numpy's archives, with no
// gaps, cost nothing more. `order`: the entries by local header offset.
Result<void> FindSozipIndexes(const ByteSource& src, const std::vector<size_t>& order,
                              const std::vector<std::string>& raw_names, uint64_t cd_at,
                              ZipIndex& index) {
  for (size_t k = 0; k < order.size(); ++k) {
    ZipEntry& e = index.entries[order[k]];
    if (e.method != kMethodDeflate || !e.local_error.empty() || e.size == 0) continue;
    const uint64_t data_end = e.data_offset + e.compressed_size;
    uint64_t limit = cd_at;
    if (k + 1 < order.size()) {
      limit = std::min(limit, index.prefix + index.entries[order[k + 1]].local_header_offset);
    }
    if (limit <= data_end || limit - data_end < SozipMinEntrySize(raw_names[order[k]])) {
      continue;
    }
    auto found = FindSozipIndex(src, raw_names[order[k]], e.size, e.compressed_size, data_end,
                                e.data_descriptor, limit);
    if (found) {
      e.sozip = std::move(*found);
    } else if (found.error().code == Errc::kCorrupt) {
      e.sozip_note = found.error().message;
    } else {
      return Fail(std::move(found).error());
    }
  }
  return {};
}

}  // namespace

Result<ZipIndex> ReadZipIndex(const ByteSource& src) {
  auto end = ReadEndRecord(src);
  if (!end) return Fail(std::move(end).error());
  ZipIndex index;
  index.comment = std::move(end->comment);
  index.prefix = end->prefix;
  index.archive_size = src.size();

  // The whole central directory at once (a remote source has usually
  // fetched it with the end records).
  const ByteRange cd_range{end->cd_at, end->cd_size};
  src.Prefetch({&cd_range, 1});

  // Like zipfile, read records until the declared size is used up; the
  // entry count in the end record is not trusted.
  WindowedReader cd(src);
  std::vector<std::string> raw_names;
  uint64_t at = end->cd_at;
  const uint64_t cd_end = at + end->cd_size;
  // Room for as many records as fit in the central directory (46 bytes
  // each at least), up to 2^18 (the rest grows as usual): growing the
  // vector 17 times for 100,000 members cost a tenth of mounting.
  const uint64_t most =
      std::min<uint64_t>(std::min<uint64_t>(end->cd_size, src.size()) / 46, uint64_t{1} << 18);
  index.entries.reserve(most);
  raw_names.reserve(most);
  while (at < cd_end) {
    std::string raw_name;
    auto e = ReadCentralRecord(cd, src, at, cd_end, index.entries.size(), raw_name);
    if (!e) return Fail(std::move(e).error());
    index.entries.push_back(std::move(*e));
    raw_names.push_back(std::move(raw_name));
  }
  if (end->missing > 0) {
    // The offsets count bytes no longer in front of the zip; zipfile adds
    // its negative "concat" to them the same way.
    for (ZipEntry& e : index.entries) {
      if (!e.local_error.empty()) continue;
      if (e.local_header_offset < end->missing) {
        e.local_error = "the local header offset " + std::to_string(e.local_header_offset) +
                        " lies before the start of the archive (its first " +
                        std::to_string(end->missing) + " bytes are missing)";
      } else {
        e.local_header_offset -= end->missing;
      }
    }
  }

  // A remote source fetches every local header, with the first bytes of
  // each member's data (an npy header), at once: a few requests in
  // parallel instead of a round trip each.
  {
    std::vector<ByteRange> wanted;
    wanted.reserve(index.entries.size());
    for (size_t i = 0; i < index.entries.size(); ++i) {
      const ZipEntry& e = index.entries[i];
      if (!e.local_error.empty() || e.local_header_offset >= index.archive_size) continue;
      wanted.push_back({index.prefix + e.local_header_offset,
                        kLocalHeaderSize + raw_names[i].size() + kLocalSlack +
                            std::min<uint64_t>(e.compressed_size, kPeekData)});
    }
    src.Prefetch(wanted);
  }

  // Local headers in file order. Where headers lie close together (small
  // members) one read covers many of them; the data of large members is
  // never read here.
  std::vector<size_t> order(index.entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto by_offset = [&](size_t a, size_t b) {
    return index.entries[a].local_header_offset < index.entries[b].local_header_offset;
  };
  if (!std::is_sorted(order.begin(), order.end(), by_offset)) {
    std::sort(order.begin(), order.end(), by_offset);
  }
  std::vector<uint64_t> offsets;
  for (size_t i : order) {
    offsets.push_back(index.prefix +
                      std::min(index.entries[i].local_header_offset, index.archive_size));
  }
  GatherReader local(src, std::move(offsets), 1024);
  for (size_t k = 0; k < order.size(); ++k) {
    auto r = ResolveLocalHeader(local, k, index.archive_size, index.prefix, raw_names[order[k]],
                                index.entries[order[k]]);
    if (!r) return Fail(std::move(r).error());
  }
  auto found = FindSozipIndexes(src, order, raw_names, end->cd_at, index);
  if (!found) return Fail(std::move(found).error());
  return index;
}

}  // namespace npzfs::core
