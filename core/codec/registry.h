// The zip compression methods, and the one place that says which engine
// decodes which: nothing else in npzfs switches on a method.
#ifndef NPZFS_CORE_CODEC_REGISTRY_H_
#define NPZFS_CORE_CODEC_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "core/codec/decoder.h"

namespace npzfs::core {

// APPNOTE 4.4.5.
inline constexpr uint16_t kMethodStored = 0;
inline constexpr uint16_t kMethodDeflate = 8;
inline constexpr uint16_t kMethodBzip2 = 12;
inline constexpr uint16_t kMethodLzma = 14;
inline constexpr uint16_t kMethodZstd = 93;

// The deflate engines. kIsal exists only in builds with ISA-L
// (IsalAvailable()); asking for it elsewhere gets zlib.
enum class InflateEngine { kZlib, kIsal };
bool IsalAvailable();
// The fastest engine built in: ISA-L (about twice zlib's speed on numpy's
// data) when available, else zlib.
InflateEngine DefaultInflateEngine();
const char* EngineName(InflateEngine engine);

struct CodecOptions {
  InflateEngine deflate = DefaultInflateEngine();
};

struct Codec {
  uint16_t method;
  const char* name;  // as user.zip.method shows it
  // Makes access points while it decodes and starts at them (deflate);
  // the others decode from the start only.
  bool resumable;
  // A new engine; throws std::bad_alloc.
  std::unique_ptr<Decoder> (*make)(const CodecOptions& options);
};

// The codec of `method`, or nullptr when npzfs cannot decode it.
const Codec* FindCodec(uint16_t method);

// "stored", "deflate", "bzip2", "lzma", "zstd", else "unknown(N)".
std::string MethodName(uint16_t method);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_REGISTRY_H_
