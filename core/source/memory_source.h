// Sources over bytes already in memory, and a window onto another source.
#ifndef NPZFS_CORE_SOURCE_MEMORY_SOURCE_H_
#define NPZFS_CORE_SOURCE_MEMORY_SOURCE_H_

#include <cstdint>
#include <span>
#include <string>

#include "core/source/byte_source.h"

namespace npzfs::core {

// Bytes held by the source: tests and fuzz targets. Immutable; thread-safe.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string bytes, std::string name = "<memory>");

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  const SourceIdentity& identity() const override { return identity_; }
  const std::string& name() const override { return name_; }

 private:
  std::string bytes_;
  std::string name_;
  SourceIdentity identity_;
};

// Bytes someone else holds, seen as the stretch [base, base + size) of a
// larger source named `name`: the stream of one member inside bytes read
// ahead in bulk (npy header scans). The bytes must outlive it; reads
// outside the stretch see nothing. Thread-safe.
class BorrowedSource final : public ByteSource {
 public:
  BorrowedSource(std::span<const std::byte> bytes, uint64_t base, const std::string& name);

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  const SourceIdentity& identity() const override { return identity_; }
  const std::string& name() const override { return name_; }

 private:
  std::span<const std::byte> bytes_;
  uint64_t base_;
  const std::string& name_;
  SourceIdentity identity_;
};

// A window [base, base + length) of another source (which must outlive
// it), seen as a source of its own: a zip with a stub in front, as libzip
// or a test sees it. Thread-safe.
class SliceSource final : public ByteSource {
 public:
  SliceSource(const ByteSource& inner, uint64_t base, uint64_t length);

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  const SourceIdentity& identity() const override { return identity_; }
  const std::string& name() const override { return inner_.name(); }
  void Prefetch(std::span<const ByteRange> ranges) const override;

 private:
  const ByteSource& inner_;
  uint64_t base_;
  SourceIdentity identity_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_SOURCE_MEMORY_SOURCE_H_
