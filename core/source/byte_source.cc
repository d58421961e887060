#include "core/source/byte_source.h"

#include "core/base/text.h"

namespace npzfs::core {

std::string ByteSource::shown_name() const { return Quote(name(), Quoting::kWhenNeeded); }

Result<void> ReadExactly(const ByteSource& src, uint64_t offset, std::span<std::byte> out) {
  auto got = src.ReadAt(offset, out);
  if (!got) return Fail(std::move(got).error());
  if (*got != out.size()) {
    return Corrupt(src.shown_name() + ": unexpected end of file: wanted " +
                   std::to_string(out.size()) + " bytes at offset " + std::to_string(offset) +
                   ", file has " + std::to_string(src.size()));
  }
  return {};
}

}  // namespace npzfs::core
