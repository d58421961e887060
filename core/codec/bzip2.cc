// bzip2 (zip method 12): one bzip2 stream, with libbz2.
#include <bzlib.h>

#include <algorithm>
#include <climits>
#include <new>

#include "core/codec/engines.h"
#include "core/codec/sequential_engine.h"

namespace npzfs::core {
namespace {

class Bzip2Decoder final : public SequentialEngine {
 public:
  ~Bzip2Decoder() override { End(); }

 private:
  bool Restart() override {
    End();
    strm_ = bz_stream{};
    live_ = BZ2_bzDecompressInit(&strm_, 0, 0) == BZ_OK;
    return live_;
  }

  void End() {
    if (live_) BZ2_bzDecompressEnd(&strm_);
    live_ = false;
  }

  Result<size_t> Decode(std::span<std::byte> out) override {
    if (strm_.avail_in == 0 && input_.left()) {
      auto piece = input_.Fetch("the compressed data ends before the bzip2 stream does");
      if (!piece) return Fail(std::move(piece).error());
      strm_.next_in = reinterpret_cast<char*>(piece->data());
      strm_.avail_in = static_cast<unsigned>(piece->size());
    }
    strm_.next_out = reinterpret_cast<char*>(out.data());
    strm_.avail_out = static_cast<unsigned>(std::min<size_t>(out.size(), UINT_MAX));
    const unsigned before = strm_.avail_out;
    const int rc = BZ2_bzDecompress(&strm_);
    const size_t produced = before - strm_.avail_out;
    switch (rc) {
      case BZ_STREAM_END:
        ended_ = true;
        return produced;
      case BZ_OK:
        if (produced == 0 && strm_.avail_in == 0 && !input_.left()) {
          return Fail(CorruptAt("the compressed data ends before the bzip2 stream does", 0));
        }
        return produced;
      case BZ_MEM_ERROR:
        throw std::bad_alloc();
      default:
        return Fail(CorruptAt("invalid bzip2 data (libbz2 error " + std::to_string(rc) + ")",
                              strm_.avail_in));
    }
  }

  bz_stream strm_{};
  bool live_ = false;
};

}  // namespace

std::unique_ptr<Decoder> MakeBzip2Decoder(const CodecOptions&) {
  return std::make_unique<Bzip2Decoder>();
}

}  // namespace npzfs::core
