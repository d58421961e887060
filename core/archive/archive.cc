#include "core/archive/archive.h"

#include "core/base/text.h"

namespace npzfs::core {

MemberStream StreamOf(const ZipEntry& e) {
  return {e.method, {e.data_offset, e.compressed_size, e.size}, e.crc32, Quote(e.name)};
}

Result<void> CheckReadable(const ZipEntry& e) {
  if (e.encrypted)
    return Fail(Unsupported(Quote(e.name) + ": encrypted members are not supported"));
  if (!e.local_error.empty()) return Fail(Corrupt(Quote(e.name) + ": " + e.local_error));
  if (e.is_directory) {
    return Fail(MakeError(Errc::kInvalidArgument, Quote(e.name) + ": is a directory"));
  }
  if (FindCodec(e.method) == nullptr) {
    return Fail(Unsupported(Quote(e.name) + ": compression method " + MethodName(e.method) +
                            " is not supported"));
  }
  return {};
}

Result<std::unique_ptr<Archive>> Archive::FromSource(std::unique_ptr<ByteSource> src) {
  auto index = ReadZipIndex(*src);
  if (!index) return Fail(std::move(index).error());
  return std::unique_ptr<Archive>(new Archive(std::move(src), std::move(*index)));
}

Result<std::unique_ptr<MemberDecoder>> Archive::OpenDecoder(size_t i,
                                                            const CodecOptions& options) const {
  const ZipEntry& e = index_.entries.at(i);
  if (auto r = CheckReadable(e); !r) return Fail(std::move(r).error());
  return MemberDecoder::Open(*source_, StreamOf(e), options);
}

}  // namespace npzfs::core
