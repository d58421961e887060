// LZMA (zip method 14; APPNOTE 5.8.8), with liblzma.
//
// The member's data is a 4-byte header (LZMA SDK major and minor version,
// then the 2-byte length of the properties that follow, 5), the properties
// (lc/lp/pb and the dictionary size) and a raw LZMA1 stream, with or
// without an end-of-stream marker (flag bit 1 says which; both are
// accepted). liblzma's LZMA1EXT filter decodes it to the declared size,
// which it is told, so that a stream without the marker ends there too.
#include <lzma.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <new>

#include "core/codec/engines.h"
#include "core/codec/sequential_engine.h"

namespace npzfs::core {
namespace {

constexpr size_t kHeaderSize = 4;
constexpr size_t kPropertiesSize = 5;
// The dictionary is allocated whole: a hostile header must not make that
// gigabytes. Python writes 8 MiB (preset 6); xz's largest preset 64 MiB.
constexpr uint32_t kMaxDictionary = 256u << 20;

class LzmaDecoder final : public SequentialEngine {
 public:
  ~LzmaDecoder() override { lzma_end(&strm_); }

 private:
  bool Restart() override {
    lzma_end(&strm_);
    strm_ = LZMA_STREAM_INIT;
    started_ = false;
    return true;
  }

  // Reads the zip header and the properties, and starts the raw decoder.
  Result<void> Start() {
    std::array<std::byte, kHeaderSize + kPropertiesSize> head;
    if (input_.span().compressed_size < head.size()) {
      return Fail(CorruptAt("the data is shorter than its LZMA header", 0));
    }
    if (auto r = ReadExactly(input_.source(), input_.span().offset, head); !r) {
      return Fail(std::move(r).error());
    }
    const unsigned props_size =
        std::to_integer<unsigned>(head[2]) | std::to_integer<unsigned>(head[3]) << 8;
    if (props_size != kPropertiesSize) {
      return Fail(CorruptAt(
          "the LZMA properties are " + std::to_string(props_size) + " bytes long, not 5", 0));
    }
    lzma_filter filters[2] = {{LZMA_FILTER_LZMA1, nullptr}, {LZMA_VLI_UNKNOWN, nullptr}};
    const auto* props = reinterpret_cast<const uint8_t*>(head.data() + kHeaderSize);
    if (lzma_properties_decode(&filters[0], nullptr, props, kPropertiesSize) != LZMA_OK) {
      return Fail(CorruptAt("invalid LZMA properties", 0));
    }
    auto* options = static_cast<lzma_options_lzma*>(filters[0].options);
    // Matches never reach before the start: a dictionary larger than the
    // whole output is never used.
    const uint64_t size = input_.span().size;
    const uint64_t dict = std::min<uint64_t>(options->dict_size, size);
    if (dict > kMaxDictionary) {
      std::free(options);
      return Fail(Unsupported("an LZMA dictionary of " + std::to_string(dict) +
                              " bytes is more than npzfs allows (" +
                              std::to_string(kMaxDictionary) + ")"));
    }
    options->dict_size = static_cast<uint32_t>(std::max<uint64_t>(LZMA_DICT_SIZE_MIN, dict));
    filters[0].id = LZMA_FILTER_LZMA1EXT;
    options->ext_flags = LZMA_LZMA1EXT_ALLOW_EOPM;
    lzma_set_ext_size(*options, size);
    const lzma_ret rc = lzma_raw_decoder(&strm_, filters);
    std::free(options);
    if (rc == LZMA_MEM_ERROR) throw std::bad_alloc();
    if (rc != LZMA_OK) return Fail(CorruptAt("invalid LZMA properties", 0));
    input_.MoveTo(head.size());
    started_ = true;
    return {};
  }

  Result<size_t> Decode(std::span<std::byte> out) override {
    if (!started_) {
      if (auto r = Start(); !r) return Fail(std::move(r).error());
    }
    if (strm_.avail_in == 0 && input_.left()) {
      auto piece = input_.Fetch("the compressed data ends before the LZMA stream does");
      if (!piece) return Fail(std::move(piece).error());
      strm_.next_in = reinterpret_cast<const uint8_t*>(piece->data());
      strm_.avail_in = piece->size();
    }
    strm_.next_out = reinterpret_cast<uint8_t*>(out.data());
    strm_.avail_out = out.size();
    const lzma_ret rc = lzma_code(&strm_, input_.left() ? LZMA_RUN : LZMA_FINISH);
    const size_t produced = out.size() - strm_.avail_out;
    switch (rc) {
      case LZMA_STREAM_END:
        ended_ = true;
        return produced;
      case LZMA_OK:
        return produced;
      case LZMA_BUF_ERROR:
        return Fail(CorruptAt("the compressed data ends before the LZMA stream does", 0));
      case LZMA_MEM_ERROR:
        throw std::bad_alloc();
      default:
        return Fail(CorruptAt("invalid LZMA data (liblzma error " + std::to_string(rc) + ")",
                              strm_.avail_in));
    }
  }

  lzma_stream strm_ = LZMA_STREAM_INIT;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<Decoder> MakeLzmaDecoder(const CodecOptions&) {
  return std::make_unique<LzmaDecoder>();
}

}  // namespace npzfs::core
