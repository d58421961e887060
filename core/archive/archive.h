// An opened zip archive: its byte source, its member index, and a reader
// of each member's bytes.
//
// Immutable after Open(); every const method is safe from any thread.
#ifndef NPZFS_CORE_ARCHIVE_ARCHIVE_H_
#define NPZFS_CORE_ARCHIVE_ARCHIVE_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/archive/member_reader.h"
#include "core/archive/zip_index.h"
#include "core/base/result.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

class Archive {
 public:
  // Opens the file and reads its index. Errors: kNotFound, kIo (unreadable),
  // kCorrupt (not a zip, truncated central directory), each naming the
  // file.
  static Result<std::unique_ptr<Archive>> Open(const std::string& path);
  static Result<std::unique_ptr<Archive>> FromSource(std::unique_ptr<ByteSource> src);

  const ByteSource& source() const { return *source_; }
  const ZipIndex& index() const { return index_; }
  const std::vector<ZipEntry>& entries() const { return index_.entries; }

  // A reader for member i (see OpenMemberReader).
  Result<std::unique_ptr<MemberReader>> OpenReader(size_t i) const;

 private:
  Archive(std::unique_ptr<ByteSource> src, ZipIndex index)
      : source_(std::move(src)), index_(std::move(index)) {}

  std::unique_ptr<ByteSource> source_;
  ZipIndex index_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_ARCHIVE_ARCHIVE_H_
