// Little-endian fields of zip records, read from bytes already in memory.
#ifndef NPZFS_CORE_ARCHIVE_LITTLE_ENDIAN_H_
#define NPZFS_CORE_ARCHIVE_LITTLE_ENDIAN_H_

#include <cstddef>
#include <cstdint>

namespace npzfs::core {

inline uint16_t Le16(const std::byte* p) {
  return static_cast<uint16_t>(std::to_integer<unsigned>(p[0]) | std::to_integer<unsigned>(p[1])
                                                                     << 8);
}
inline uint32_t Le32(const std::byte* p) {
  return static_cast<uint32_t>(Le16(p)) | static_cast<uint32_t>(Le16(p + 2)) << 16;
}
inline uint64_t Le64(const std::byte* p) {
  return static_cast<uint64_t>(Le32(p)) | static_cast<uint64_t>(Le32(p + 4)) << 32;
}

}  // namespace npzfs::core

#endif  // NPZFS_CORE_ARCHIVE_LITTLE_ENDIAN_H_
