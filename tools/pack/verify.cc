#include "tools/pack/verify.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/text.h"

namespace npzfs::tools::pack {
namespace {

using core::ZipEntry;

constexpr size_t kCompareBuffer = 1 << 20;

core::Error Differs(const ZipEntry& e, const std::string& what) {
  return core::Corrupt(core::Quote(e.name) + ": " + what);
}

// What the central directories record of a member, compared field by
// field: OUT keeps IN's name bytes, UTF-8 flag, times and attributes.
core::Result<void> CompareRecords(const ZipEntry& e, const MemberRecord& in,
                                  const MemberRecord& out) {
  if (in.raw_name != out.raw_name) return core::Fail(Differs(e, "its name differs from IN's"));
  if ((in.flags & kFlagUtf8) != (out.flags & kFlagUtf8)) {
    return core::Fail(Differs(e, "its UTF-8 flag differs from IN's"));
  }
  if (in.dos_time != out.dos_time || in.dos_date != out.dos_date) {
    return core::Fail(Differs(e, "its time differs from IN's"));
  }
  if (in.external_attrs != out.external_attrs || in.internal_attrs != out.internal_attrs) {
    return core::Fail(Differs(e, "its attributes differ from IN's"));
  }
  return {};
}

// How OUT holds the member, as the options say it must.
core::Result<void> CheckLayout(const ZipEntry& e, const PackOptions& o) {
  if (!e.local_error.empty()) return core::Fail(Differs(e, e.local_error));
  if (e.method != kMethodStored && (o.store || e.method != kMethodDeflate)) {
    return core::Fail(Differs(e, "compressed with " + std::string(core::MethodName(e.method))));
  }
  if (e.method == kMethodDeflate && e.size > o.chunk_size &&
      (!e.sozip || e.sozip->chunk_size != o.chunk_size)) {
    return core::Fail(Differs(e, "no SOZip index of " + std::to_string(o.chunk_size) +
                                     "-byte chunks found" +
                                     (e.sozip_note.empty() ? "" : " (" + e.sozip_note + ")")));
  }
  return {};
}

core::Result<void> CheckAligned(const ZipEntry& e, std::span<const std::byte> head,
                                const PackOptions& o) {
  if (e.method != kMethodStored || e.size == 0 || e.is_directory) return {};
  const uint64_t at = e.data_offset + PayloadOffset(e, head);
  if (at % o.align == 0) return {};
  return core::Fail(Differs(e, "its data at offset " + std::to_string(at) + " is not aligned to " +
                                   std::to_string(o.align) + " bytes"));
}

// Decompresses member i of both archives side by side.
core::Result<void> CompareContent(const core::Archive& in, const core::Archive& out, size_t i,
                                  const PackOptions& o, Progress& progress) {
  const ZipEntry& e = out.entries()[i];
  auto a = in.OpenDecoder(i);
  if (!a) return core::Fail(a.error());
  auto b = out.OpenDecoder(i);
  if (!b) return core::Fail(b.error());
  std::vector<std::byte> x(kCompareBuffer), y(kCompareBuffer);
  for (uint64_t at = 0; at < e.size;) {
    auto got_a = (*a)->Read(x);
    if (!got_a) return core::Fail(got_a.error());
    auto got_b = (*b)->Read(y);
    if (!got_b) return core::Fail(got_b.error());
    if (at == 0) {
      if (auto r = CheckAligned(e, std::span(y).first(*got_b), o); !r) return r;
    }
    const size_t n = std::min(*got_a, *got_b);
    if (*got_a != *got_b || std::memcmp(x.data(), y.data(), n) != 0) {
      const auto k = static_cast<uint64_t>(
          std::mismatch(x.begin(), x.begin() + static_cast<ptrdiff_t>(n), y.begin()).first -
          x.begin());
      return core::Fail(Differs(e, "differs from IN's at byte " + std::to_string(at + k)));
    }
    at += n;
    progress.Add(n);
  }
  return {};
}

}  // namespace

core::Result<void> VerifyPacked(const core::Archive& in, const CentralDirectory& in_cd,
                                const core::Archive& out, const PackOptions& options,
                                Progress& progress) {
  const auto& ins = in.entries();
  const auto& outs = out.entries();
  if (ins.size() != outs.size()) {
    return core::Fail(core::Corrupt("holds " + std::to_string(outs.size()) +
                                    " members where IN holds " + std::to_string(ins.size())));
  }
  auto out_cd = ReadCentralDirectory(out.source(), outs.size());
  if (!out_cd) return core::Fail(std::move(out_cd).error());
  if (out_cd->comment != in_cd.comment) {
    return core::Fail(core::Corrupt("its comment differs from IN's"));
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    const ZipEntry& e = outs[i];
    if (auto r = CompareRecords(e, in_cd.members[i], out_cd->members[i]); !r) return r;
    if (auto r = CheckLayout(e, options); !r) return r;
    if (e.is_directory != ins[i].is_directory) {
      return core::Fail(Differs(e, "directory entry or not, unlike IN's"));
    }
    if (e.is_directory) continue;
    if (e.size != ins[i].size) {
      return core::Fail(Differs(e, "holds " + std::to_string(e.size) + " bytes, not IN's " +
                                       std::to_string(ins[i].size)));
    }
    if (auto r = CompareContent(in, out, i, options, progress); !r) return r;
    if (e.crc32 != ins[i].crc32) return core::Fail(Differs(e, "its CRC-32 differs from IN's"));
  }
  return {};
}

}  // namespace npzfs::tools::pack
