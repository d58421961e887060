#include "core/codec/member_decoder.h"

#include <cstdio>

namespace npzfs::core {
namespace {

Error NotDecodable(const MemberStream& m) {
  return Unsupported(m.label + ": compression method " + MethodName(m.method) +
                     " is not supported");
}

}  // namespace

Result<std::unique_ptr<MemberDecoder>> MemberDecoder::Open(const ByteSource& src,
                                                           const MemberStream& m,
                                                           const CodecOptions& options) {
  const Codec* codec = FindCodec(m.method);
  if (codec == nullptr) return Fail(NotDecodable(m));
  std::unique_ptr<MemberDecoder> d(new MemberDecoder(codec, options));
  if (auto r = d->Reset(src, m); !r) return Fail(std::move(r).error());
  return d;
}

Result<void> MemberDecoder::Reset(const ByteSource& src, const MemberStream& m) {
  if (!engine_ || m.method != codec_->method) {
    const Codec* codec = FindCodec(m.method);
    if (codec == nullptr) return Fail(NotDecodable(m));
    codec_ = codec;
    engine_ = codec->make(options_);
  }
  member_ = m;
  crc_known_ = true;
  engine_->Reset(src, m.span);
  return {};
}

Error MemberDecoder::Failed(const Error& e) const {
  return Error{e.code, e.sys_errno, member_.label + ": " + e.message};
}

Result<void> MemberDecoder::Seek(const AccessPoint& point) {
  if (auto r = engine_->Seek(point); !r) return Fail(Failed(r.error()));
  crc_known_ = point.crc.has_value();
  return {};
}

std::optional<uint32_t> MemberDecoder::crc() const {
  if (!crc_known_) return std::nullopt;
  return engine_->crc();
}

Result<size_t> MemberDecoder::Read(std::span<std::byte> out) {
  const uint64_t size = member_.span.size;
  const size_t want = std::min<uint64_t>(out.size(), size - std::min(position(), size));
  size_t done = 0;
  while (done < want) {
    auto got = engine_->Read(out.subspan(done, want - done));
    if (!got) return Fail(Failed(got.error()));
    if (*got == 0) {
      return Fail(Failed(Corrupt("the data ends before the declared size " + std::to_string(size) +
                                 " (uncompressed offset " + std::to_string(position()) + ")")));
    }
    done += *got;
  }
  if (position() == size) {
    if (auto r = CheckEnd(); !r) return Fail(std::move(r).error());
  }
  return done;
}

// At the declared size the stream must end (one more byte of output is
// what stops a zip bomb there), and its CRC-32 must be the member's.
Result<void> MemberDecoder::CheckEnd() {
  std::byte extra;
  auto more = engine_->Read(std::span(&extra, 1));
  if (!more) return Fail(Failed(more.error()));
  if (*more != 0) {
    return Fail(Failed(Corrupt("the data goes on past the declared size " +
                               std::to_string(member_.span.size) + " (uncompressed offset " +
                               std::to_string(position()) + ")")));
  }
  if (auto c = crc(); c && *c != member_.crc32) {
    char msg[80];
    std::snprintf(msg, sizeof msg, "CRC-32 mismatch: data has %08x, archive says %08x", *c,
                  member_.crc32);
    return Fail(Failed(Corrupt(msg)));
  }
  return {};
}

}  // namespace npzfs::core
