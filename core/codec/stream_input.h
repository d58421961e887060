// A stream's compressed bytes, fetched from its source in pieces: what
// every engine reads. Internal to codec/.
#ifndef NPZFS_CORE_CODEC_STREAM_INPUT_H_
#define NPZFS_CORE_CODEC_STREAM_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/codec/decoder.h"

namespace npzfs::core {

// Not thread-safe: one per engine.
class StreamInput {
 public:
  // The stream `span` of `src` (which must outlive its use), from its start.
  void Reset(const ByteSource& src, const StreamSpan& span);

  // The next fetch starts at compressed offset `in` (relative to the
  // stream's first byte); nothing fetched before is kept.
  void MoveTo(uint64_t in);

  // The next piece (at most 64 KiB), valid until the next call; kCorrupt
  // "`what` (compressed offset N)" when the compressed data is used up.
  Result<std::span<std::byte>> Fetch(const char* what);

  // Compressed bytes fetched so far, from the stream's first byte.
  uint64_t fetched() const { return pos_; }
  bool left() const { return pos_ < span_.compressed_size; }
  const StreamSpan& span() const { return span_; }
  const ByteSource& source() const { return *src_; }

 private:
  const ByteSource* src_ = nullptr;
  StreamSpan span_;
  uint64_t pos_ = 0;
  std::vector<std::byte> buf_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_STREAM_INPUT_H_
