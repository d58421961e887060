#include "core/archive/sozip.h"

#include <algorithm>
#include <cstring>

#include "core/archive/little_endian.h"
#include "core/base/crc32.h"

namespace npzfs::core {
namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kIndexHeaderSize = 32;
// Offsets past this many are not believed: 2^24 chunks of the smallest
// sensible chunk (4 KiB) index 64 GiB, and take 128 MiB of memory.
constexpr uint64_t kMaxOffsets = uint64_t{1} << 24;
constexpr uint32_t kMinChunk = 4096;

Error Bad(const std::string& why) { return Corrupt("SOZip index " + why); }

// Exactly `n` bytes at `offset` (kCorrupt when the source ends first).
Result<std::vector<std::byte>> ReadBytes(const ByteSource& src, uint64_t offset, size_t n) {
  std::vector<std::byte> out(n);
  if (auto r = ReadExactly(src, offset, out); !r) return Fail(std::move(r).error());
  return out;
}

}  // namespace

std::string SozipIndexName(std::string_view name) {
  const size_t slash = name.rfind('/');
  const size_t base = slash == std::string_view::npos ? 0 : slash + 1;
  return std::string(name.substr(0, base)) + "." + std::string(name.substr(base)) + ".sozip.idx";
}

uint64_t SozipMinEntrySize(std::string_view raw_name) {
  return kLocalHeaderSize + SozipIndexName(raw_name).size() + kIndexHeaderSize;
}

Result<SozipIndex> ParseSozipIndex(std::span<const std::byte> content, uint64_t size,
                                   uint64_t compressed_size) {
  if (content.size() < kIndexHeaderSize) return Fail(Bad("shorter than its header"));
  const std::byte* h = content.data();
  const uint32_t version = Le32(h), skip = Le32(h + 4), chunk = Le32(h + 8),
                 offset_size = Le32(h + 12);
  const uint64_t usize = Le64(h + 16), csize = Le64(h + 24);
  if (version != 1) return Fail(Bad("version " + std::to_string(version) + " (1 is known)"));
  if (offset_size != 8) return Fail(Bad("offset size " + std::to_string(offset_size)));
  if (chunk < kMinChunk) return Fail(Bad("chunk size " + std::to_string(chunk)));
  if (usize != size || csize != compressed_size) {
    return Fail(Bad("sizes " + std::to_string(usize) + "/" + std::to_string(csize) +
                    " are not the member's " + std::to_string(size) + "/" +
                    std::to_string(compressed_size)));
  }
  if (usize <= chunk) return Fail(Bad("for a member of one chunk"));
  const uint64_t count = (usize - 1) / chunk;
  if (count > kMaxOffsets) return Fail(Bad("of " + std::to_string(count) + " chunks"));
  if (skip > content.size() - kIndexHeaderSize ||
      count * 8 != content.size() - kIndexHeaderSize - skip) {
    return Fail(Bad("holds " + std::to_string(content.size()) + " bytes, not the " +
                    std::to_string(kIndexHeaderSize + skip + count * 8) + " its header says"));
  }
  SozipIndex index;
  index.chunk_size = chunk;
  index.starts.reserve(count);
  const std::byte* p = content.data() + kIndexHeaderSize + skip;
  uint64_t last = 0;
  for (uint64_t i = 0; i < count; ++i, p += 8) {
    const uint64_t at = Le64(p);
    if (at <= last || at >= compressed_size) {
      return Fail(Bad("offset " + std::to_string(i + 1) + " (" + std::to_string(at) +
                      ") is not after the one before and inside the stream"));
    }
    index.starts.push_back(at);
    last = at;
  }
  return index;
}

Result<std::optional<SozipIndex>> FindSozipIndex(const ByteSource& src, std::string_view raw_name,
                                                 uint64_t size, uint64_t compressed_size,
                                                 uint64_t data_end, bool descriptor,
                                                 uint64_t limit) {
  const std::string name = SozipIndexName(raw_name);
  // Right after the data, or after a data descriptor: 12 or 20 bytes
  // (32- or 64-bit sizes), 4 more with its optional signature.
  std::vector<uint64_t> candidates{data_end};
  if (descriptor) {
    for (uint64_t d : {12, 16, 20, 24}) candidates.push_back(data_end + d);
  }
  for (uint64_t at : candidates) {
    if (at > limit || limit - at < SozipMinEntrySize(raw_name)) continue;
    auto head = ReadBytes(src, at, kLocalHeaderSize + name.size());
    if (!head) return Fail(std::move(head).error());
    const std::byte* h = head->data();
    if (Le32(h) != kLocalSignature || Le16(h + 26) != name.size() ||
        std::memcmp(h + kLocalHeaderSize, name.data(), name.size()) != 0) {
      continue;
    }
    const uint16_t method = Le16(h + 8);
    const uint32_t crc = Le32(h + 14), stored = Le32(h + 18), declared = Le32(h + 22);
    const uint64_t content_at = at + kLocalHeaderSize + name.size() + Le16(h + 28);
    if (method != 0) return Fail(Bad("entry is not stored"));
    if (stored != declared) return Fail(Bad("entry's sizes differ"));
    if (content_at > limit || stored > limit - content_at) {
      return Fail(Bad("entry runs into what follows it"));
    }
    // No index of this member is larger (a skip of up to 64 KiB allowed):
    // nothing more is read or allocated.
    const uint64_t largest =
        kIndexHeaderSize + (64 << 10) + 8 * std::min(kMaxOffsets, size / kMinChunk + 1);
    if (stored > largest) return Fail(Bad("entry is larger than any index of this member"));
    auto content = ReadBytes(src, content_at, stored);
    if (!content) return Fail(std::move(content).error());
    if (Crc32(0, *content) != crc) return Fail(Bad("entry fails its CRC-32"));
    auto index = ParseSozipIndex(*content, size, compressed_size);
    if (!index) return Fail(std::move(index).error());
    return std::optional<SozipIndex>(std::move(*index));
  }
  return std::optional<SozipIndex>();
}

}  // namespace npzfs::core
