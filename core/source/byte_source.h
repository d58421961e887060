// Positional byte sources: what the rest of core reads archives through.
//
// A ByteSource is a fixed sequence of bytes with a size, a name for
// messages and an identity; ReadAt never moves a shared position, so one
// source may be read from any number of threads at once. The local file
// (file_source.h), bytes in memory (memory_source.h) and, later, remote
// objects are sources alike: nothing above this layer knows which it has.
#ifndef NPZFS_CORE_SOURCE_BYTE_SOURCE_H_
#define NPZFS_CORE_SOURCE_BYTE_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/base/result.h"

namespace npzfs::core {

// What identifies the bytes of a source: two sources with equal identities
// hold the same bytes. What is made from a source and kept (a persisted
// index) is bound to it.
struct SourceIdentity {
  std::string id;         // "file:DEV:INO", "memory:NAME", ...
  uint64_t size = 0;      // bytes
  int64_t mtime_sec = 0;  // the last modification, when known
  int32_t mtime_nsec = 0;
  bool operator==(const SourceIdentity&) const = default;
};

// Bytes [offset, offset + length) of a source.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Reads up to out.size() bytes at `offset`. Returns the count, which is
  // smaller than requested only at the end of the source. Errors: kIo with
  // the errno; kCorrupt once the source is no longer what it was when
  // opened. Thread-safe.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const = 0;

  // The identity when the source was opened (its size included).
  virtual const SourceIdentity& identity() const = 0;

  // For messages: the file's path, or a label.
  virtual const std::string& name() const = 0;

  uint64_t size() const { return identity().size; }

  // The source's bytes where they already are in memory (a mapped file),
  // so that they can be sent without a copy; empty when the source has no
  // such view. Reading a mapped file's bytes raises SIGBUS once the file
  // shrinks under the mapping: they are read with GuardedCrc32
  // (core/base/fault_guard.h) before anything else touches them, and the
  // source checked unchanged (Check()) after.
  virtual std::span<const std::byte> Mapped() const { return {}; }

  // kCorrupt once the source is no longer what it was when opened.
  virtual Result<void> Check() const { return {}; }

  // A hint: these ranges will be read soon. A source whose reads cost a
  // round trip (a remote object) starts fetching them, together and at
  // once, and returns without waiting; reads of them then wait only for
  // what is still under way. Others ignore it. Thread-safe.
  virtual void Prefetch(std::span<const ByteRange> ranges) const { (void)ranges; }

  // name() as messages show it: quoted and escaped when it needs to be.
  std::string shown_name() const;
};

// ReadAt that must fill `out`; a short read is kCorrupt ("unexpected end").
Result<void> ReadExactly(const ByteSource& src, uint64_t offset, std::span<std::byte> out);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_SOURCE_BYTE_SOURCE_H_
