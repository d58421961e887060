#include "core/archive/archive.h"

namespace npzfs::core {

Result<std::unique_ptr<Archive>> Archive::Open(const std::string& path) {
  auto src = FileSource::Open(path);
  if (!src) return Fail(std::move(src).error());
  return FromSource(std::move(*src));
}

Result<std::unique_ptr<Archive>> Archive::FromSource(std::unique_ptr<ByteSource> src) {
  auto index = ReadZipIndex(*src);
  if (!index) return Fail(std::move(index).error());
  return std::unique_ptr<Archive>(new Archive(std::move(src), std::move(*index)));
}

Result<std::unique_ptr<MemberReader>> Archive::OpenReader(size_t i) const {
  return OpenMemberReader(*source_, index_, index_.entries.at(i));
}

}  // namespace npzfs::core
