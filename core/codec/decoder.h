// The codec layer's interface: an engine that decodes one member's
// compressed stream forward, and the access points that let an engine
// start in the middle of its stream.
//
// Engines only decode. What the member's bytes must be (exactly their
// declared size, their CRC-32) is checked in one place above them,
// MemberDecoder (member_decoder.h); which engine decodes which zip method
// is decided in one place, the registry (registry.h).
#ifndef NPZFS_CORE_CODEC_DECODER_H_
#define NPZFS_CORE_CODEC_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/base/result.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

// Where a member's compressed stream lies in its source, and what it must
// decode to.
struct StreamSpan {
  uint64_t offset = 0;           // first compressed byte in the source
  uint64_t compressed_size = 0;  // bytes of compressed data
  uint64_t size = 0;             // declared uncompressed size
};

// The largest distance a deflate match reaches back: what an access point
// keeps of the output before it.
inline constexpr size_t kDeflateWindow = 32 << 10;

// A place in a stream where decoding can start (zlib's examples/zran.c).
// The default value is the stream's start. Immutable once made; shared
// between threads as shared_ptr<const AccessPoint>.
struct AccessPoint {
  uint64_t out = 0;  // uncompressed offset of a block start
  uint64_t in = 0;   // first compressed byte wholly after that start,
                     // relative to the stream's first byte
  int bits = 0;      // 0-7: how many high bits of byte in - 1 belong to the block
  // CRC-32 of the output before `out`, when known (a point a pass made
  // from the start knows it; an index that marks independent chunks does
  // not).
  std::optional<uint32_t> crc = uint32_t{0};
  // The last min(out, 32 KiB) bytes of output before `out` (empty where
  // the block does not reach back, as after a full flush).
  std::vector<std::byte> window;

  // Memory held, for budgets.
  size_t bytes() const { return sizeof(AccessPoint) + window.capacity(); }
};

// Decides where an engine that can stop at block boundaries records access
// points, and receives them. Called by the engine's user thread only.
class PointSink {
 public:
  virtual ~PointSink() = default;
  // Whether to record a point at the block boundary at output offset `out`.
  virtual bool WantsPoint(uint64_t out) = 0;
  virtual void AddPoint(AccessPoint point) = 0;
};

// An engine: forward decoding of one compressed stream, restartable at
// access points where the codec has them. One per user; not thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;

  // Starts on the stream `span` of `src` (which must outlive its use), at
  // the stream's start. An engine is reused this way for many members.
  virtual void Reset(const ByteSource& src, const StreamSpan& span) = 0;

  // Restarts at `point` of the current stream (AccessPoint{} is its
  // start). Errors: kCorrupt (the point lies outside the stream), kIo;
  // kUnsupported when the codec can start only at 0.
  virtual Result<void> Seek(const AccessPoint& point) = 0;

  // Produces the next bytes, up to out.size(); 0 only once the stream has
  // ended. Errors (messages without the member's name, which
  // MemberDecoder adds): kCorrupt (bad data, compressed data used up
  // before the stream ends), kIo.
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;

  // Uncompressed bytes before the next one Read() produces.
  virtual uint64_t position() const = 0;

  // The CRC-32 of the output before position(): of everything produced
  // since the stream's start, or since the point Seek() went to, continuing
  // that point's crc (from 0 when it has none).
  virtual uint32_t crc() const = 0;

  // While set, an engine that can (deflate) offers each block boundary to
  // `sink` where sink->WantsPoint() says so; nullptr stops that.
  virtual void set_point_sink(PointSink* sink) { (void)sink; }
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_DECODER_H_
