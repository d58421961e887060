#include "core/base/crc32.h"

#include <zlib.h>

#if NPZFS_HAVE_ISAL
#include <isa-l/crc.h>
#endif

namespace npzfs::core {

uint32_t Crc32(uint32_t crc, std::span<const std::byte> bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
#if NPZFS_HAVE_ISAL
  return crc32_gzip_refl(crc, p, bytes.size());
#else
  return static_cast<uint32_t>(crc32_z(crc, p, bytes.size()));
#endif
}

}  // namespace npzfs::core
