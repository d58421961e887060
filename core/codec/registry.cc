#include "core/codec/registry.h"

#include <algorithm>
#include <iterator>

#include "core/codec/engines.h"

namespace npzfs::core {
namespace {

// A codec is added by its file, its factory's line in engines.h, its line
// here and its line in the build.
constexpr Codec kCodecs[] = {
    {kMethodStored, "stored", false, &MakeStoredDecoder},
    {kMethodDeflate, "deflate", true, &MakeDeflateDecoder},
    {kMethodBzip2, "bzip2", false, &MakeBzip2Decoder},
    {kMethodLzma, "lzma", false, &MakeLzmaDecoder},
    {kMethodZstd, "zstd", false, &MakeZstdDecoder},
};

}  // namespace

const Codec* FindCodec(uint16_t method) {
  const auto it = std::find_if(std::begin(kCodecs), std::end(kCodecs),
                               [method](const Codec& c) { return c.method == method; });
  return it == std::end(kCodecs) ? nullptr : &*it;
}

std::string MethodName(uint16_t method) {
  if (const Codec* c = FindCodec(method)) return c->name;
  return "unknown(" + std::to_string(method) + ")";
}

bool IsalAvailable() { return NPZFS_HAVE_ISAL != 0; }

InflateEngine DefaultInflateEngine() {
  return IsalAvailable() ? InflateEngine::kIsal : InflateEngine::kZlib;
}

const char* EngineName(InflateEngine engine) {
  return engine == InflateEngine::kIsal && IsalAvailable() ? "isa-l" : "zlib";
}

}  // namespace npzfs::core
