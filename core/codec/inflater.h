// Raw deflate (RFC 1951) decoding of one zip member, pulling its compressed
// bytes from the archive with pread, with access points for random access.
//
// Random access follows zlib's examples/zran.c: while a member is inflated
// from its start, an access point is kept at some deflate block boundaries:
// the uncompressed offset, the compressed bit position and the 32 KiB of
// output before it. Decoding can later restart at any access point rather
// than at the start of the stream.
//
// Two engines implement it: zlib (RawInflater, always built) and ISA-L's
// igzip (IsalInflater in isal_inflater.h, when built with ISA-L), about
// twice as fast on numpy's data. Their access points are interchangeable.
#ifndef NPZFS_CORE_CODEC_INFLATER_H_
#define NPZFS_CORE_CODEC_INFLATER_H_

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/source/byte_source.h"
#include "core/base/result.h"

namespace npzfs::core {

// Where a member's compressed stream lies and what it must inflate to.
struct DeflateSpan {
  uint64_t in_offset = 0;  // first compressed byte in the archive
  uint64_t in_size = 0;    // compressed size
  uint64_t out_size = 0;   // declared uncompressed size
};

// The largest distance a deflate match reaches back: what an access point
// keeps of the output before it.
inline constexpr size_t kDeflateWindow = 32 << 10;

// A place in a deflate stream where decoding can start. The default value
// is the start of the stream. Immutable once made; shared between threads
// through shared_ptr<const AccessPoint>.
struct AccessPoint {
  uint64_t out = 0;  // uncompressed offset of a block start
  uint64_t in = 0;   // first compressed byte wholly after that start,
                     // relative to the stream's first byte
  int bits = 0;      // 0-7: how many high bits of byte in - 1 belong to the block
  uint32_t crc = 0;  // CRC-32 of the output before `out`
  // The last min(out, 32 KiB) bytes of output before `out`.
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

// Forward decoding of one member's content, restartable at access points.
// This is the engine interface of the read path.
//
// Implementations enforce the declared size: a stream that ends before it,
// or goes on past it, is kCorrupt. One per user; not thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;

  // Restarts decoding at `point` (AccessPoint{} is the stream start).
  // Errors: kIo, kCorrupt (the point lies outside the stream);
  // kUnsupported when the engine cannot start there.
  virtual Result<void> Seek(const AccessPoint& point) = 0;

  // Uncompressed bytes before the next one Read() produces.
  virtual uint64_t position() const = 0;

  // Produces the next min(out.size(), size - position()) bytes. When that
  // reaches the declared size, also checks that the stream ends exactly
  // there. Errors: kCorrupt (bad data, early end, too long), kIo.
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
};

// What the deflate engines share: the member's compressed bytes, fetched
// in pieces; a running CRC-32; access points offered to a sink. `src` must
// outlive it.
class DeflateDecoder : public Decoder {
 public:
  // While set, Read() offers deflate block boundaries to `sink` (which
  // must outlive its use here) whenever sink->WantsPoint() says a point
  // would be kept there; nullptr stops that. A point's crc is the running
  // CRC-32 (see set_track_crc), so it is only meaningful when that is on.
  void set_point_sink(PointSink* sink) { sink_ = sink; }

  // Keeps a running CRC-32 of the output from the start (or from the point
  // Seek() went to, which carries its own). Off by default: only a decoder
  // that reaches the end needs it.
  void set_track_crc(bool on) { track_crc_ = on; }
  uint32_t crc() const { return crc_; }

  uint64_t position() const override { return out_pos_; }

 protected:
  DeflateDecoder(const ByteSource& src, const DeflateSpan& span, std::string member)
      : src_(src), span_(span), member_(std::move(member)) {}

  // Checks `point` against the stream and, when it starts mid-byte, reads
  // the byte whose high `bits` bits begin the block. Sets the positions and
  // the CRC-32 from the point and empties the input buffer.
  Result<uint8_t> BeginAt(const AccessPoint& point);

  // The next piece of compressed input (at most 64 KiB), read into the
  // input buffer; kCorrupt when the compressed data is used up.
  Result<std::span<std::byte>> Fetch();
  bool input_left() const { return in_pos_ < span_.in_size; }

  // "member: what (uncompressed offset N, compressed offset M)", where M
  // counts the `unused` fetched bytes as not yet read.
  Error CorruptAt(const std::string& what, uint64_t unused) const;

  void AddCrc(std::span<const std::byte> bytes);

  const ByteSource& src_;
  const DeflateSpan span_;
  const std::string member_;
  PointSink* sink_ = nullptr;
  bool track_crc_ = false;
  uint32_t crc_ = 0;
  uint64_t in_pos_ = 0;  // compressed bytes fetched so far
  uint64_t out_pos_ = 0;

 private:
  std::vector<std::byte> in_buf_;
};

// zlib's inflate over one member.
class RawInflater final : public DeflateDecoder {
 public:
  RawInflater(const ByteSource& src, const DeflateSpan& span, std::string member);
  ~RawInflater() override;
  RawInflater(const RawInflater&) = delete;
  RawInflater& operator=(const RawInflater&) = delete;

  // Back to the start of the stream.
  void Restart();

  Result<void> Seek(const AccessPoint& point) override;
  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  Result<void> ExpectEnd();
  Result<void> Step();
  Result<void> Check(int rc);
  void AtBoundary();
  Error CorruptAt(const std::string& what) const {
    return DeflateDecoder::CorruptAt(what, zs_.avail_in);
  }

  z_stream zs_{};
  bool stream_end_ = false;
};

// The deflate engines. kIsal exists only in builds with ISA-L
// (IsalAvailable()); asking for it elsewhere gets zlib.
enum class InflateEngine { kZlib, kIsal };

// Whether this build has ISA-L's inflate.
bool IsalAvailable();

// The fastest engine built in: ISA-L when available, else zlib.
InflateEngine DefaultInflateEngine();

const char* EngineName(InflateEngine engine);

// A decoder of `engine` (zlib when that engine is not built in) over the
// member's stream. `src` must outlive it. Throws std::bad_alloc.
std::unique_ptr<DeflateDecoder> MakeDeflateDecoder(InflateEngine engine, const ByteSource& src,
                                                   const DeflateSpan& span, std::string member);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_INFLATER_H_
