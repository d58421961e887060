// A member's bytes as they must be: the one place that enforces a member's
// declared size and CRC-32, over whichever engine the registry gives for
// its method. What npzinfo, the npy header scans and the read path decode
// through.
#ifndef NPZFS_CORE_CODEC_MEMBER_DECODER_H_
#define NPZFS_CORE_CODEC_MEMBER_DECODER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/base/result.h"
#include "core/codec/decoder.h"
#include "core/codec/registry.h"

namespace npzfs::core {

// What the codec layer needs to know of one member.
struct MemberStream {
  uint16_t method = 0;
  StreamSpan span;
  uint32_t crc32 = 0;  // of the uncompressed content
  std::string label;   // the member as messages name it (quoted)
};

// Reads a member forward: from its start, or from an access point its
// codec can start at. Every Read() returns exactly min(asked, size -
// position()) bytes or an error: a stream that ends before the declared
// size or goes on past it is kCorrupt, and so is a CRC-32 mismatch,
// checked when a decoder that started where the CRC was known reaches the
// end. Messages start with the member's label. One per user; not
// thread-safe.
class MemberDecoder {
 public:
  // Errors: kUnsupported when npzfs cannot decode the method. Throws
  // std::bad_alloc.
  static Result<std::unique_ptr<MemberDecoder>> Open(const ByteSource& src, const MemberStream& m,
                                                     const CodecOptions& options = {});

  // Starts over on member `m` of `src`, keeping the engine when the method
  // is the same (scanning 100,000 headers reuses one). Errors: as Open.
  Result<void> Reset(const ByteSource& src, const MemberStream& m);

  // Continues from `point` (AccessPoint{} is the start). Errors: the
  // engine's (kUnsupported where the codec cannot start there).
  Result<void> Seek(const AccessPoint& point);

  Result<size_t> Read(std::span<std::byte> out);

  uint64_t position() const { return engine_->position(); }
  // The CRC-32 of the bytes before position(), when known.
  std::optional<uint32_t> crc() const;
  // The engine's running CRC-32: of the bytes since the start, or since
  // the point it went to (continuing that point's crc, else from 0). Two
  // readings give the CRC-32 of the bytes between them (CrcBetween).
  uint32_t running_crc() const { return engine_->crc(); }
  const MemberStream& member() const { return member_; }
  const Codec& codec() const { return *codec_; }

  // The engine offers access points to `sink` while it is set (codecs
  // that make them).
  void set_point_sink(PointSink* sink) { engine_->set_point_sink(sink); }

 private:
  MemberDecoder(const Codec* codec, const CodecOptions& options)
      : codec_(codec), options_(options) {}
  Result<void> CheckEnd();
  Error Failed(const Error& e) const;

  const Codec* codec_;
  CodecOptions options_;
  std::unique_ptr<Decoder> engine_;
  MemberStream member_;
  bool crc_known_ = true;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_MEMBER_DECODER_H_
