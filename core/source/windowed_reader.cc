#include "core/source/windowed_reader.h"

#include <algorithm>

namespace npzfs::core {

Result<std::span<const std::byte>> WindowedReader::Read(uint64_t offset, size_t length,
                                                        size_t fill) {
  if (!Contains(offset, length)) {
    // Never more than the source holds from `offset`: a small archive
    // costs a small buffer, not a whole window.
    const uint64_t left = offset < src_.size() ? src_.size() - offset : 0;
    buf_.resize(std::min<uint64_t>(std::max(fill != 0 ? fill : window_, length), left));
    auto got = src_.ReadAt(offset, buf_);
    if (!got) return Fail(std::move(got).error());
    buf_.resize(*got);
    buf_offset_ = offset;
  }
  size_t start = offset - buf_offset_;
  size_t n = std::min(length, buf_.size() - start);
  return std::span<const std::byte>(buf_).subspan(start, n);
}

Result<std::span<const std::byte>> GatherReader::Read(size_t k, uint64_t offset, size_t length) {
  if (window_.Contains(offset, length)) return window_.Read(offset, length);
  // Load this piece and those after it that follow close behind.
  uint64_t fill = std::max<uint64_t>(need_, length);
  for (size_t j = k + 1; j < offsets_.size() && offsets_[j] >= offset; ++j) {
    const uint64_t reach = offsets_[j] - offset + need_;
    if (offsets_[j] - offset > fill + kMaxGap || reach > kWindow) break;
    fill = std::max(fill, reach);
  }
  return window_.Read(offset, length, fill);
}

}  // namespace npzfs::core
