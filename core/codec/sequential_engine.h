// What the engines that decode from the start only (bzip2, LZMA, zstd)
// share: the compressed input, the output count and CRC-32, and the rule
// that Seek() goes nowhere but to the start. Internal to codec/.
#ifndef NPZFS_CORE_CODEC_SEQUENTIAL_ENGINE_H_
#define NPZFS_CORE_CODEC_SEQUENTIAL_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/codec/decoder.h"
#include "core/codec/stream_input.h"

namespace npzfs::core {

class SequentialEngine : public Decoder {
 public:
  void Reset(const ByteSource& src, const StreamSpan& span) final;
  Result<void> Seek(const AccessPoint& point) final;
  Result<size_t> Read(std::span<std::byte> out) final;
  uint64_t position() const final { return out_pos_; }
  uint32_t crc() const final { return crc_; }

 protected:
  // Back to the stream's start; false when the library is out of memory.
  virtual bool Restart() = 0;
  // One call of the library into `out`; returns the bytes produced (0 only
  // at the stream's end), using input_ for more compressed bytes.
  virtual Result<size_t> Decode(std::span<std::byte> out) = 0;

  // "what (uncompressed offset N, compressed offset M)".
  Error CorruptAt(const std::string& what, uint64_t unused) const;

  StreamInput input_;
  bool ended_ = false;

 private:
  uint64_t out_pos_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_SEQUENTIAL_ENGINE_H_
