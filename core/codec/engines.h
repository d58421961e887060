// The engines' factories, one per codec, each defined in the codec's own
// file and listed in the registry (registry.cc). Internal to codec/.
#ifndef NPZFS_CORE_CODEC_ENGINES_H_
#define NPZFS_CORE_CODEC_ENGINES_H_

#include <memory>

#include "core/codec/decoder.h"
#include "core/codec/registry.h"

namespace npzfs::core {

std::unique_ptr<Decoder> MakeStoredDecoder(const CodecOptions& options);   // stored.cc
std::unique_ptr<Decoder> MakeDeflateDecoder(const CodecOptions& options);  // deflate.cc
std::unique_ptr<Decoder> MakeBzip2Decoder(const CodecOptions& options);    // bzip2.cc
std::unique_ptr<Decoder> MakeLzmaDecoder(const CodecOptions& options);     // lzma.cc
std::unique_ptr<Decoder> MakeZstdDecoder(const CodecOptions& options);     // zstd.cc

}  // namespace npzfs::core

#endif  // NPZFS_CORE_CODEC_ENGINES_H_
