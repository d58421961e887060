#include "core/source/memory_source.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace npzfs::core {
namespace {

// Copies what of bytes[offset...] fits into `out`.
size_t CopyOut(std::span<const std::byte> bytes, uint64_t offset, std::span<std::byte> out) {
  if (offset >= bytes.size()) return 0;
  const size_t n = std::min<uint64_t>(out.size(), bytes.size() - offset);
  if (n > 0) std::memcpy(out.data(), bytes.data() + offset, n);  // data() may be null
  return n;
}

}  // namespace

MemorySource::MemorySource(std::string bytes, std::string name)
    : bytes_(std::move(bytes)),
      name_(std::move(name)),
      identity_{"memory:" + name_, bytes_.size(), 0, 0} {}

Result<size_t> MemorySource::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  return CopyOut(std::as_bytes(std::span(bytes_)), offset, out);
}

BorrowedSource::BorrowedSource(std::span<const std::byte> bytes, uint64_t base,
                               const std::string& name)
    : bytes_(bytes),
      base_(base),
      name_(name),
      identity_{"borrowed:" + name, base + bytes.size(), 0, 0} {}

Result<size_t> BorrowedSource::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset < base_) return size_t{0};
  return CopyOut(bytes_, offset - base_, out);
}

SliceSource::SliceSource(const ByteSource& inner, uint64_t base, uint64_t length)
    : inner_(inner), base_(base), identity_(inner.identity()) {
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, wrongly)
  // about a string built with operator+ here.
  identity_.id.push_back('@');
  identity_.id.append(std::to_string(base));
  identity_.size = length;
}

Result<size_t> SliceSource::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset >= identity_.size) return size_t{0};
  const size_t n = std::min<uint64_t>(out.size(), identity_.size - offset);
  return inner_.ReadAt(base_ + offset, out.first(n));
}

void SliceSource::Prefetch(std::span<const ByteRange> ranges) const {
  std::vector<ByteRange> inner;
  inner.reserve(ranges.size());
  for (const ByteRange& r : ranges) {
    if (r.offset >= identity_.size) continue;
    inner.push_back({base_ + r.offset, std::min(r.length, identity_.size - r.offset)});
  }
  inner_.Prefetch(inner);
}

}  // namespace npzfs::core
