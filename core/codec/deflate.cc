#include "core/codec/deflate.h"

#include <algorithm>

#include "core/base/crc32.h"
#include "core/codec/engines.h"

namespace npzfs::core {

void DeflateDecoder::Reset(const ByteSource& src, const StreamSpan& span) {
  input_.Reset(src, span);
  out_pos_ = 0;
  crc_ = 0;
  Restart();
}

Result<uint8_t> DeflateDecoder::BeginAt(const AccessPoint& point) {
  if (point.in > span().compressed_size || point.out > span().size || point.bits < 0 ||
      point.bits > 7 || (point.bits > 0 && point.in == 0) || point.window.size() > kDeflateWindow) {
    return Fail(Corrupt("access point at uncompressed offset " + std::to_string(point.out) +
                        " lies outside the stream"));
  }
  input_.MoveTo(point.in);
  out_pos_ = point.out;
  crc_ = point.crc.value_or(0);
  if (point.bits == 0) return uint8_t{0};
  std::byte b;
  if (auto r = ReadExactly(input_.source(), span().offset + point.in - 1, std::span(&b, 1)); !r) {
    return Fail(std::move(r).error());
  }
  return static_cast<uint8_t>(b);
}

Result<std::span<std::byte>> DeflateDecoder::Fetch() {
  if (!input_left()) {
    return Fail(CorruptAt("the compressed data ends before the deflate stream does", 0));
  }
  return input_.Fetch("the compressed data ends before the deflate stream does");
}

Error DeflateDecoder::CorruptAt(const std::string& what, uint64_t unused) const {
  return Corrupt(what + " (uncompressed offset " + std::to_string(out_pos_) +
                 ", compressed offset " + std::to_string(fetched() - unused) + ")");
}

void DeflateDecoder::AddCrc(std::span<const std::byte> bytes) {
  if (!bytes.empty()) crc_ = Crc32(crc_, bytes);
}

std::unique_ptr<DeflateDecoder> MakeInflater(InflateEngine engine) {
#if NPZFS_HAVE_ISAL
  if (engine == InflateEngine::kIsal) return std::make_unique<IsalInflater>();
#else
  (void)engine;
#endif
  return std::make_unique<ZlibInflater>();
}

std::unique_ptr<Decoder> MakeDeflateDecoder(const CodecOptions& options) {
  return MakeInflater(options.deflate);
}

}  // namespace npzfs::core
