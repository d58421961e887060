// Stored members (zip method 0): the content is the compressed data itself.
// Sequential readers (npzinfo, header scans) read them through this engine
// like any other; the read path serves them straight from the source.
#include <algorithm>
#include <cstring>

#include "core/base/crc32.h"
#include "core/codec/engines.h"
#include "core/codec/stream_input.h"

namespace npzfs::core {
namespace {

class StoredDecoder final : public Decoder {
 public:
  void Reset(const ByteSource& src, const StreamSpan& span) override {
    src_ = &src;
    span_ = span;
    pos_ = 0;
    crc_ = 0;
  }

  Result<void> Seek(const AccessPoint& point) override {
    if (point.out > span_.compressed_size) {
      return Fail(Corrupt("offset " + std::to_string(point.out) + " lies outside the data"));
    }
    pos_ = point.out;
    crc_ = point.crc.value_or(0);
    return {};
  }

  Result<size_t> Read(std::span<std::byte> out) override {
    const size_t n = std::min<uint64_t>(out.size(), span_.compressed_size - pos_);
    if (auto r = ReadExactly(*src_, span_.offset + pos_, out.first(n)); !r) {
      return Fail(std::move(r).error());
    }
    crc_ = Crc32(crc_, out.first(n));
    pos_ += n;
    return n;
  }

  uint64_t position() const override { return pos_; }
  uint32_t crc() const override { return crc_; }

 private:
  const ByteSource* src_ = nullptr;
  StreamSpan span_;
  uint64_t pos_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace

std::unique_ptr<Decoder> MakeStoredDecoder(const CodecOptions&) {
  return std::make_unique<StoredDecoder>();
}

}  // namespace npzfs::core
