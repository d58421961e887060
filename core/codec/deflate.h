// Raw deflate (RFC 1951, zip method 8), with access points for random
// access, by two engines: zlib (always built) and ISA-L's igzip (in builds
// with ISA-L, about twice as fast on numpy's data). Their access points
// are interchangeable. Internal to codec/ (the registry makes them); tests
// reach the engines here.
//
// Random access follows zlib's examples/zran.c: while a stream is inflated,
// an access point is kept at some deflate block boundaries: the
// uncompressed offset, the compressed bit position and the 32 KiB of
// output before it. Decoding can later restart at any access point rather
// than at the start of the stream.
#ifndef NPZFS_CORE_CODEC_DEFLATE_H_
#define NPZFS_CORE_CODEC_DEFLATE_H_

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/codec/decoder.h"
#include "core/codec/registry.h"
#include "core/codec/stream_input.h"

struct inflate_state;

namespace npzfs::core {

// What the deflate engines share: the stream's compressed bytes, fetched
// in pieces from the source; the positions and the running CRC-32; the
// sink that receives access points.
class DeflateDecoder : public Decoder {
 public:
  void Reset(const ByteSource& src, const StreamSpan& span) override;
  uint64_t position() const override { return out_pos_; }
  uint32_t crc() const override { return crc_; }
  void set_point_sink(PointSink* sink) override { sink_ = sink; }

 protected:
  // Back to the stream's start, with no input fetched.
  virtual void Restart() = 0;

  // Checks `point` against the stream and, when it starts mid-byte, reads
  // the byte whose high `bits` bits begin the block. Sets the positions and
  // the CRC-32 from the point and empties the input buffer.
  Result<uint8_t> BeginAt(const AccessPoint& point);

  // The next piece of compressed input (at most 64 KiB); kCorrupt when
  // the compressed data is used up.
  Result<std::span<std::byte>> Fetch();
  bool input_left() const { return input_.left(); }
  // Compressed bytes fetched so far.
  uint64_t fetched() const { return input_.fetched(); }
  const StreamSpan& span() const { return input_.span(); }

  // "what (uncompressed offset N, compressed offset M)", where M counts
  // the `unused` fetched bytes as not yet read.
  Error CorruptAt(const std::string& what, uint64_t unused) const;

  void AddCrc(std::span<const std::byte> bytes);

  PointSink* sink_ = nullptr;
  uint32_t crc_ = 0;
  uint64_t out_pos_ = 0;

 private:
  StreamInput input_;
};

// zlib's inflate.
class ZlibInflater final : public DeflateDecoder {
 public:
  ZlibInflater();  // throws std::bad_alloc
  ~ZlibInflater() override;
  ZlibInflater(const ZlibInflater&) = delete;
  ZlibInflater& operator=(const ZlibInflater&) = delete;

  Result<void> Seek(const AccessPoint& point) override;
  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  void Restart() override;
  Result<void> Step();
  Result<void> Check(int rc);
  void AtBoundary();
  Error CorruptAt(const std::string& what) const {
    return DeflateDecoder::CorruptAt(what, zs_.avail_in);
  }

  z_stream zs_{};
  bool stream_end_ = false;
};

// ISA-L's igzip inflate.
//
// igzip has no Z_BLOCK: it cannot be asked to stop at deflate block
// boundaries. It does say, on return, whether it is about to read a block
// header (block_state ISAL_BLOCK_NEW_HDR, or ISAL_BLOCK_HDR with the part
// of the header it has seen saved in tmp_in_buffer), and its bit buffer
// (read_in, read_in_length) is public. So where an access point is wanted,
// it is fed a few bytes of input per call until a call ends in front of a
// header: there the compressed bit position, the output offset and the
// last 32 KiB of output (its history buffer) make a zran access point, the
// same as zlib's. Decoding elsewhere gets all the input at once, and so
// does the way to a boundary whose position is predicted (zlib's blocks
// have nearly equal compressed lengths). Resuming at a point primes
// read_in with the point's bits and sets the window as the dictionary (the
// way rapidgzip's IsalInflateWrapper does).
class IsalInflater final : public DeflateDecoder {
 public:
  IsalInflater();  // throws std::bad_alloc
  ~IsalInflater() override;
  IsalInflater(const IsalInflater&) = delete;
  IsalInflater& operator=(const IsalInflater&) = delete;

  Result<void> Seek(const AccessPoint& point) override;
  Result<size_t> Read(std::span<std::byte> out) override;

  // Compressed bytes fed per call while looking for a block boundary (the
  // start; it grows while none turns up). Tests set it.
  void set_hunt_step(size_t bytes) { hunt_step_ = bytes; }

 private:
  void Restart() override;
  Result<size_t> Step(std::span<std::byte> out);
  uint64_t BitPosition() const;
  size_t InputFor(bool looking);
  void AtBoundary(bool hunting);
  void Anchor(uint64_t bit);
  bool Finished() const;
  uint64_t Pending() const;
  uint64_t Unused() const;
  Error CorruptAt(const std::string& what) const {
    return DeflateDecoder::CorruptAt(what, Unused());
  }

  std::unique_ptr<inflate_state> state_;  // 87 KB: not on the stack
  const std::byte* in_end_ = nullptr;     // end of the fetched input
  // Looking for block boundaries (InputFor()).
  size_t hunt_step_;
  uint64_t hunted_ = 0;         // input fed in coded blocks while looking
  uint64_t anchor_bit_ = 0;     // compressed bit position of a known boundary
  uint64_t block_bits_ = 0;     // compressed length of a block; 0: unknown
  uint64_t predicted_bit_ = 0;  // where the boundary looked for is expected
  uint64_t margin_bits_ = 0;    // and how far from it it may be
  bool learning_ = false;       // looking for the boundary after anchor_bit_
  int misses_ = 0;              // predictions missed in a row
};

// An engine of `engine` (zlib when that engine is not built in). Throws
// std::bad_alloc.
std::unique_ptr<DeflateDecoder> MakeInflater(InflateEngine engine);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_DEFLATE_H_
