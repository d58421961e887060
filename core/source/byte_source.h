// Positional byte sources: the archive file, or bytes in memory.
//
// ReadAt never moves a shared file position (pread), so one source may be
// read from any number of threads at once. This is the only way core reads
// the archive after the index is built.
#ifndef NPZFS_CORE_SOURCE_BYTE_SOURCE_H_
#define NPZFS_CORE_SOURCE_BYTE_SOURCE_H_

#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"

namespace npzfs::core {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Reads up to out.size() bytes at `offset`. Returns the count, which is
  // smaller than requested only at the end of the source. Thread-safe.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const = 0;

  // The size when the source was opened.
  virtual uint64_t size() const = 0;

  // For messages: the file's path, or a label.
  virtual const std::string& name() const = 0;

  // name() as messages show it: quoted and escaped when it needs to be.
  std::string shown_name() const;

  // The descriptor behind the source, or -1 (memory).
  virtual int fd() const { return -1; }
};

// ReadAt that must fill `out`; a short read is kCorrupt ("unexpected end").
Result<void> ReadExactly(const ByteSource& src, uint64_t offset, std::span<std::byte> out);

// What kind of file `mode` (st_mode) is, for messages: "a regular file",
// "a directory", "a symbolic link", "a FIFO", "a socket", "a character
// device", "a block device".
std::string_view FileTypeName(mode_t mode);

// The archive file, opened read-only once and held for its lifetime.
//
// The file must not change while it is read: after every read the
// file's size and mtime are compared with those at Open(), and once they
// differ (the file was truncated or written in place) every read fails with
// kCorrupt, so that bytes of a changed file are never taken for the
// archive's. Replacing the file (a rename over it) leaves the open one, and
// the reads, as they were.
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
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }
  int fd() const override { return fd_.get(); }

  // kCorrupt once the file is no longer as it was opened. Thread-safe.
  Result<void> CheckUnchanged() const;

 private:
  FileSource(UniqueFd fd, uint64_t size, timespec mtime, std::string path)
      : fd_(std::move(fd)), size_(size), mtime_(mtime), path_(std::move(path)) {}

  UniqueFd fd_;
  uint64_t size_;
  timespec mtime_;
  mutable std::atomic<bool> changed_{false};
  std::string path_;
};

// Bytes held in memory: tests and fuzz targets.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string bytes, std::string name = "<memory>")
      : bytes_(std::move(bytes)), name_(std::move(name)) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  uint64_t size() const override { return bytes_.size(); }
  const std::string& name() const override { return name_; }

 private:
  std::string bytes_;
  std::string name_;
};

// A window [base, base + length) of another source, seen as a source of its
// own. Used to hide a prefix (self-extractor stub) in front of a zip.
class SliceSource final : public ByteSource {
 public:
  SliceSource(const ByteSource& inner, uint64_t base, uint64_t length)
      : inner_(inner), base_(base), length_(length) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  uint64_t size() const override { return length_; }
  const std::string& name() const override { return inner_.name(); }

 private:
  const ByteSource& inner_;
  uint64_t base_;
  uint64_t length_;
};

// Serves many small reads that move forward through a source from one
// buffer refilled in large blocks: reading 100,000 local headers costs a few
// large preads, not 100,000 small ones. Not thread-safe.
class WindowedReader {
 public:
  explicit WindowedReader(const ByteSource& src, size_t window = 1 << 20)
      : src_(src), window_(window) {}

  // Like ReadAt: fewer bytes than asked only at the end of the source. The
  // span stays valid until the next call. When the bytes are not in the
  // buffer, max(length, fill) bytes are loaded from `offset`, where `fill`
  // defaults to the window size: callers that know how far the useful bytes
  // reach pass less, so that nothing of size is read in vain.
  Result<std::span<const std::byte>> Read(uint64_t offset, size_t length, size_t fill = 0);

  // True when [offset, offset + length) is in the buffer.
  bool Contains(uint64_t offset, size_t length) const {
    return offset >= buf_offset_ && offset - buf_offset_ <= buf_.size() &&
           buf_.size() - (offset - buf_offset_) >= length;
  }

 private:
  const ByteSource& src_;
  size_t window_;
  std::vector<std::byte> buf_;
  uint64_t buf_offset_ = 0;
};

// Reads a small piece at each of many known offsets (local headers, npy
// headers) with few large reads: one read covers the pieces that lie close
// together, and the bytes between pieces far apart (large members) are
// never read. Not thread-safe.
class GatherReader {
 public:
  // `offsets`: where the pieces start, ascending; each is about `need`
  // bytes.
  GatherReader(const ByteSource& src, std::vector<uint64_t> offsets, size_t need)
      : window_(src, kWindow), offsets_(std::move(offsets)), need_(need) {}

  // Bytes [offset, offset + length) of piece k, which starts at offsets[k]
  // (offset may lie a little after it). Fewer only at the source's end.
  Result<std::span<const std::byte>> Read(size_t k, uint64_t offset, size_t length);

 private:
  static constexpr size_t kWindow = 1 << 20;
  static constexpr uint64_t kMaxGap = 16 << 10;  // worth reading through

  WindowedReader window_;
  std::vector<uint64_t> offsets_;
  size_t need_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_SOURCE_BYTE_SOURCE_H_
