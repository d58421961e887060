// The archive file on the local disk.
#ifndef NPZFS_CORE_SOURCE_FILE_SOURCE_H_
#define NPZFS_CORE_SOURCE_FILE_SOURCE_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/source/byte_source.h"

namespace npzfs::core {

// What kind of file `mode` (st_mode) is, for messages: "a regular file",
// "a directory", "a symbolic link", "a FIFO", "a socket", "a character
// device", "a block device".
std::string_view FileTypeName(mode_t mode);

// A regular file, opened read-only once and held for its lifetime.
//
// The file must not change while it is read: after every read the file's
// size and mtime are compared with those at Open(), and once they differ
// (the file was truncated or written in place) every read fails with
// kCorrupt, so that bytes of a changed file are never taken for the
// archive's. Replacing the file (a rename over it) leaves the open one, and
// the reads, as they were. Thread-safe.
class FileSource final : public ByteSource {
 public:
  // Opens `path` (a symlink is followed) if it is a regular file: anything
  // else is refused by its type before it is opened, so that a FIFO or a
  // device is never opened at all. Messages name the path as given, quoted
  // only when it needs to be (core::Quote, kWhenNeeded).
  // Errors: kNotFound (ENOENT); kInvalidArgument, "PATH: not a regular
  // file (a FIFO)" (FileTypeName); a directory the same text as kIo with
  // EISDIR; kIo with the errno (EACCES, ...), also when the name was pointed
  // at another file between the check and the open.
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  const SourceIdentity& identity() const override { return identity_; }
  const std::string& name() const override { return path_; }

  // The whole file, mapped read-only at Open() (empty when it could not
  // be).
  std::span<const std::byte> Mapped() const override { return mapped_; }

  // kCorrupt once the file is no longer as it was opened.
  Result<void> Check() const override { return CheckUnchanged(); }
  Result<void> CheckUnchanged() const;

  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

 private:
  FileSource(UniqueFd fd, SourceIdentity identity, std::string path);

  UniqueFd fd_;
  SourceIdentity identity_;
  mutable std::atomic<bool> changed_{false};
  std::string path_;
  std::span<const std::byte> mapped_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_SOURCE_FILE_SOURCE_H_
