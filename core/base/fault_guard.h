// Reading memory that a mapped file backs, safely: when the file shrinks
// under the mapping, touching a page past its new end raises SIGBUS, which
// must fail the read, not end the process.
#ifndef NPZFS_CORE_BASE_FAULT_GUARD_H_
#define NPZFS_CORE_BASE_FAULT_GUARD_H_

#include <cstdint>
#include <optional>
#include <span>

namespace npzfs::core {

// The CRC-32 of `bytes` continuing `crc`, or nullopt when reading them
// raised SIGBUS (and only then). Thread-safe.
std::optional<uint32_t> GuardedCrc32(uint32_t crc, std::span<const std::byte> bytes);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_BASE_FAULT_GUARD_H_
