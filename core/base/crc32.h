// CRC-32 (the zip/gzip one, reflected polynomial 0xEDB88320), with the
// fastest implementation built in: ISA-L's crc32_gzip_refl (about 10 GB/s
// here) when npzfs is built with ISA-L, zlib's crc32_z (about 3 GB/s)
// otherwise. Both continue a running value exactly as zlib's crc32() does.
#ifndef NPZFS_CORE_BASE_CRC32_H_
#define NPZFS_CORE_BASE_CRC32_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace npzfs::core {

// The CRC-32 of `bytes` continuing `crc` (0 to start). Thread-safe.
uint32_t Crc32(uint32_t crc, std::span<const std::byte> bytes);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_BASE_CRC32_H_
