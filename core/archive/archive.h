// An opened zip archive: its byte source, its member index, and a decoder
// of each member's bytes.
//
// Immutable after FromSource(); every const method is safe from any thread.
#ifndef NPZFS_CORE_ARCHIVE_ARCHIVE_H_
#define NPZFS_CORE_ARCHIVE_ARCHIVE_H_

#include <memory>
#include <vector>

#include "core/archive/zip_index.h"
#include "core/base/result.h"
#include "core/codec/member_decoder.h"
#include "core/codec/registry.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

// Member `e`'s data as the codec layer sees it.
MemberStream StreamOf(const ZipEntry& e);

// Whether member `e` can be read at all: kUnsupported (encrypted, a method
// npzfs cannot decode), kCorrupt (its local header is bad),
// kInvalidArgument (a directory), each naming the member.
Result<void> CheckReadable(const ZipEntry& e);

class Archive {
 public:
  // Reads the index of the zip in `src`. Errors: kIo, kCorrupt (not a
  // zip, truncated central directory), each naming the source.
  static Result<std::unique_ptr<Archive>> FromSource(std::unique_ptr<ByteSource> src);

  const ByteSource& source() const { return *source_; }
  const ZipIndex& index() const { return index_; }
  const std::vector<ZipEntry>& entries() const { return index_.entries; }

  // A decoder of member i from its start. Errors: CheckReadable's.
  Result<std::unique_ptr<MemberDecoder>> OpenDecoder(size_t i,
                                                     const CodecOptions& options = {}) const;

 private:
  Archive(std::unique_ptr<ByteSource> src, ZipIndex index)
      : source_(std::move(src)), index_(std::move(index)) {}

  std::unique_ptr<ByteSource> source_;
  ZipIndex index_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_ARCHIVE_ARCHIVE_H_
