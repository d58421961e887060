#include "core/npy/header_scan.h"

#include <algorithm>
#include <array>
#include <new>
#include <optional>
#include <span>
#include <system_error>
#include <thread>
#include <vector>

#include "core/base/text.h"
#include "core/source/memory_source.h"
#include "core/source/windowed_reader.h"

namespace npzfs::core {

bool IsNpyName(std::string_view name) {
  return name.size() >= 4 && name.substr(name.size() - 4) == ".npy";
}

std::string NpzKey(std::string_view name) {
  if (IsNpyName(name)) name.remove_suffix(4);
  return std::string(name);
}

Result<NpyHeader> ReadNpyHeader(const Archive& archive, size_t i) {
  const ZipEntry& e = archive.entries().at(i);
  auto decoder = archive.OpenDecoder(i);
  if (!decoder) return Fail(std::move(decoder).error());
  std::vector<std::byte> buf(std::min<uint64_t>(e.size, 4096));
  auto got = (*decoder)->Read(buf);
  if (!got) return Fail(std::move(got).error());
  auto prefix = ParseNpyPrefix(buf);
  if (!prefix) {
    return Fail(Error{prefix.error().code, 0, Quote(e.name) + ": " + prefix.error().message});
  }
  if (prefix->data_offset > e.size) {
    return Fail(Corrupt(Quote(e.name) + ": npy header (" + std::to_string(prefix->data_offset) +
                        " bytes) runs past the member's end (" + std::to_string(e.size) +
                        " bytes)"));
  }
  if (prefix->data_offset > kMaxNpyHeaderBytes) {
    return Fail(
        Unsupported(Quote(e.name) + ": npy header of " + std::to_string(prefix->data_offset) +
                    " bytes is larger than the limit of " + std::to_string(kMaxNpyHeaderBytes)));
  }
  if (prefix->data_offset > buf.size()) {
    const size_t have = buf.size();
    buf.resize(prefix->data_offset);
    auto more = (*decoder)->Read(std::span(buf).subspan(have));
    if (!more) return Fail(std::move(more).error());
  }
  auto header = ParseNpyHeader(buf);
  if (!header) {
    return Fail(Error{header.error().code, 0, Quote(e.name) + ": " + header.error().message});
  }
  return header;
}

namespace {

// Reads the npy headers of many members at mount time: the first bytes of
// each member's data come from one GatherReader (an archive of 100,000
// small arrays costs a few large reads), and compressed ones are decoded
// by one MemberDecoder, reset for each member, over those bytes. Headers
// it cannot take this way (longer than what it reads, any error) are left
// to ReadNpyHeader, which says what is wrong.
class HeaderScanner {
 public:
  static constexpr size_t kPeek = 4096;  // covers any header numpy writes

  HeaderScanner(const ByteSource& src, std::vector<uint64_t> offsets)
      : reader_(src, std::move(offsets), kPeek), name_(src.name()) {}

  // The header of member e, whose data is piece k; nullopt to fall back.
  std::optional<NpyHeader> Scan(size_t k, const ZipEntry& e) {
    if (!CheckReadable(e)) return std::nullopt;
    const size_t want = std::min<uint64_t>(e.size, kPeek);
    std::span<const std::byte> bytes;
    if (e.method == kMethodStored) {
      auto got = reader_.Read(k, e.data_offset, want);
      if (!got) return std::nullopt;
      bytes = *got;
    } else {
      auto in = reader_.Read(k, e.data_offset, std::min<uint64_t>(e.compressed_size, kPeek));
      if (!in || !Decode(*in, e, want)) return std::nullopt;
      bytes = std::span(out_).first(want);
    }
    auto header = ParseNpyHeader(bytes);
    if (!header) return std::nullopt;
    return std::move(*header);
  }

 private:
  // Decodes the first `want` bytes of member e from `in`, its first
  // compressed bytes, into out_.
  bool Decode(std::span<const std::byte> in, const ZipEntry& e, size_t want) {
    const BorrowedSource src(in, e.data_offset, name_);
    const MemberStream m = StreamOf(e);
    if (decoder_) {
      if (!decoder_->Reset(src, m)) return false;
    } else if (auto d = MemberDecoder::Open(src, m)) {
      decoder_ = std::move(*d);
    } else {
      return false;
    }
    auto got = decoder_->Read(std::span(out_).first(want));
    return got && *got == want;
  }

  GatherReader reader_;
  const std::string& name_;
  std::unique_ptr<MemberDecoder> decoder_;  // its source is set for each member
  std::array<std::byte, kPeek> out_;
};

// Archives with this many arrays have their headers scanned on two threads.
constexpr size_t kParallelScanMin = 4096;

// What the mount needs of a header.
struct ScannedHeader {
  bool ok = false;  // false: not scanned, ask ReadNpyHeader
  bool has_object = false;
  uint64_t data_offset = 0;
  uint64_t data_size = 0;  // shape x itemsize; 0 with objects

  static ScannedHeader Of(const NpyHeader& h) {
    return {true, h.has_object, h.data_offset, h.data_size.value_or(0)};
  }
};

// Scans the headers of the members `order` lists (in file order) into the
// same positions of `out`.
void ScanRange(const ByteSource& src, const std::vector<ZipEntry>& entries,
               std::span<const size_t> order, std::span<ScannedHeader> out) {
  std::vector<uint64_t> offsets;
  offsets.reserve(order.size());
  for (size_t i : order) offsets.push_back(entries[i].data_offset);
  HeaderScanner scanner(src, std::move(offsets));
  for (size_t k = 0; k < order.size(); ++k) {
    if (auto h = scanner.Scan(k, entries[order[k]])) out[k] = ScannedHeader::Of(*h);
  }
}

}  // namespace

std::vector<ArrayInfo> ScanArrays(const Archive& archive, Notes& notes) {
  std::vector<size_t> arrays_in_file_order;
  for (size_t i = 0; i < archive.entries().size(); ++i) {
    const ZipEntry& e = archive.entries()[i];
    if (!e.is_directory && e.skip_reason.empty() && IsNpyName(e.path)) {
      arrays_in_file_order.push_back(i);
    }
  }
  auto by_offset = [&archive](size_t a, size_t b) {
    return archive.entries()[a].data_offset < archive.entries()[b].data_offset;
  };
  // Archives are nearly always in file order already.
  if (!std::is_sorted(arrays_in_file_order.begin(), arrays_in_file_order.end(), by_offset)) {
    std::sort(arrays_in_file_order.begin(), arrays_in_file_order.end(), by_offset);
  }

  // Many headers are parsed on two threads, each over its half of the
  // archive (100,000 members: 70 ms -> 50-55 ms here, medians of 7 mounts).
  const std::span<const size_t> order(arrays_in_file_order);
  std::vector<ScannedHeader> scanned(order.size());
  const size_t half = order.size() >= kParallelScanMin && std::thread::hardware_concurrency() > 1
                          ? order.size() / 2
                          : 0;
  {
    std::optional<std::jthread> helper;
    if (half > 0) {
      try {
        helper.emplace([&] {
          try {
            ScanRange(archive.source(), archive.entries(), order.subspan(half),
                      std::span(scanned).subspan(half));
          } catch (const std::bad_alloc&) {
            // What it did not scan is read one header at a time below.
          }
        });
      } catch (const std::system_error&) {
        // No thread: the rest is scanned below, one header at a time.
      }
    }
    ScanRange(archive.source(), archive.entries(), order.first(helper ? half : order.size()),
              scanned);
  }

  // Headers the scanner left, and the notes, in file order on this thread
  // (few: bad headers, and headers longer than the scanner reads).
  std::vector<ArrayInfo> arrays(archive.entries().size());
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const ZipEntry& e = archive.entries()[i];
    ScannedHeader h = scanned[k];
    if (!h.ok) {
      auto slow = ReadNpyHeader(archive, i);
      if (!slow) {
        notes.Add(NoteKind::kNoRawFile, Quote(e.path) + ": no raw file: " + slow.error().message);
        continue;
      }
      h = ScannedHeader::Of(*slow);
    }
    ArrayInfo& a = arrays[i];
    a.header_ok = true;
    a.data_offset = h.data_offset;
    if (h.has_object) {
      notes.Add(NoteKind::kNoRawFile,
                Quote(e.path) + ": no raw file: its dtype holds Python objects");
    } else if (h.data_size > e.size - h.data_offset) {
      notes.Add(NoteKind::kNoRawFile, Quote(e.path) + ": no raw file: shape x itemsize is " +
                                          std::to_string(h.data_size) + " bytes, the member has " +
                                          std::to_string(e.size - h.data_offset) +
                                          " after its header");
    } else {
      a.mappable = true;
    }
  }
  return arrays;
}

}  // namespace npzfs::core
