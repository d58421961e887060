// Many small reads of one source served by few large ones: central
// directories, local headers, npy headers at mount time.
#ifndef NPZFS_CORE_SOURCE_WINDOWED_READER_H_
#define NPZFS_CORE_SOURCE_WINDOWED_READER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/base/result.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

// Serves many small reads that move forward through a source from one
// buffer refilled in large blocks: reading 100,000 local headers costs a few
// large preads, not 100,000 small ones. Not thread-safe.
class WindowedReader {
 public:
  explicit WindowedReader(const ByteSource& src, size_t window = 1 << 20)
      : src_(src), window_(window) {}

  // Like ReadAt: fewer bytes than asked only at the end of the source. The
  // span stays valid until the next call. When the bytes are not in the
  // buffer, max(length, fill) bytes are loaded from `offset`, where `fill`
  // defaults to the window size: callers that know how far the useful bytes
  // reach pass less, so that nothing of size is read in vain.
  Result<std::span<const std::byte>> Read(uint64_t offset, size_t length, size_t fill = 0);

  // True when [offset, offset + length) is in the buffer.
  bool Contains(uint64_t offset, size_t length) const {
    return offset >= buf_offset_ && offset - buf_offset_ <= buf_.size() &&
           buf_.size() - (offset - buf_offset_) >= length;
  }

 private:
  const ByteSource& src_;
  size_t window_;
  std::vector<std::byte> buf_;
  uint64_t buf_offset_ = 0;
};

// Reads a small piece at each of many known offsets (local headers, npy
// headers) with few large reads: one read covers the pieces that lie close
// together, and the bytes between pieces far apart (large members) are
// never read. Not thread-safe.
class GatherReader {
 public:
  // `offsets`: where the pieces start, ascending; each is about `need`
  // bytes.
  GatherReader(const ByteSource& src, std::vector<uint64_t> offsets, size_t need)
      : window_(src, kWindow), offsets_(std::move(offsets)), need_(need) {}

  // Bytes [offset, offset + length) of piece k, which starts at offsets[k]
  // (offset may lie a little after it). Fewer only at the source's end.
  Result<std::span<const std::byte>> Read(size_t k, uint64_t offset, size_t length);

 private:
  static constexpr size_t kWindow = 1 << 20;
  static constexpr uint64_t kMaxGap = 16 << 10;  // worth reading through

  WindowedReader window_;
  std::vector<uint64_t> offsets_;
  size_t need_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_SOURCE_WINDOWED_READER_H_
