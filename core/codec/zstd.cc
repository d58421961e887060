// Zstandard (zip method 93): one or more zstd frames (RFC 8878), with
// libzstd.
#include <zstd.h>
#include <zstd_errors.h>

#include <new>

#include "core/codec/engines.h"
#include "core/codec/sequential_engine.h"

namespace npzfs::core {
namespace {

class ZstdDecoder final : public SequentialEngine {
 public:
  ZstdDecoder() : ctx_(ZSTD_createDCtx()) {
    if (ctx_ == nullptr) throw std::bad_alloc();
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(ctx_); }
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;

 private:
  bool Restart() override {
    in_ = ZSTD_inBuffer{nullptr, 0, 0};
    frame_done_ = true;
    return !ZSTD_isError(ZSTD_DCtx_reset(ctx_, ZSTD_reset_session_only));
  }

  // The stream ends where the compressed data does, at the end of a
  // frame; frames follow each other until then.
  Result<size_t> Decode(std::span<std::byte> out) override {
    if (in_.pos == in_.size) {
      if (!input_.left()) {
        if (frame_done_) {
          ended_ = true;
          return size_t{0};
        }
        return Fail(CorruptAt("the compressed data ends inside a zstd frame", 0));
      }
      auto piece = input_.Fetch("the compressed data ends inside a zstd frame");
      if (!piece) return Fail(std::move(piece).error());
      in_ = ZSTD_inBuffer{piece->data(), piece->size(), 0};
    }
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    const size_t rc = ZSTD_decompressStream(ctx_, &o, &in_);
    if (ZSTD_isError(rc)) {
      if (ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation) throw std::bad_alloc();
      return Fail(CorruptAt(std::string("invalid zstd data: ") + ZSTD_getErrorName(rc),
                            in_.size - in_.pos));
    }
    frame_done_ = rc == 0;
    return o.pos;
  }

  ZSTD_DCtx* ctx_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool frame_done_ = true;
};

}  // namespace

std::unique_ptr<Decoder> MakeZstdDecoder(const CodecOptions&) {
  return std::make_unique<ZstdDecoder>();
}

}  // namespace npzfs::core
