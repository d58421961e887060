#include "core/source/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/text.h"

namespace npzfs::core {

std::string ByteSource::shown_name() const { return Quote(name(), Quoting::kWhenNeeded); }

Result<void> ReadExactly(const ByteSource& src, uint64_t offset, std::span<std::byte> out) {
  auto got = src.ReadAt(offset, out);
  if (!got) return Fail(std::move(got).error());
  if (*got != out.size()) {
    return Corrupt(src.shown_name() + ": unexpected end of file: wanted " + std::to_string(out.size()) +
                   " bytes at offset " + std::to_string(offset) + ", file has " +
                   std::to_string(src.size()));
  }
  return {};
}

namespace {

Error OpenError(int e, const std::string& shown) {
  if (e == ENOENT) return MakeError(Errc::kNotFound, shown + ": No such file or directory");
  return IoError(e, shown);
}

Error NotRegular(const std::string& shown, mode_t mode) {
  Error e = MakeError(Errc::kInvalidArgument,
                      shown + ": not a regular file (" + std::string(FileTypeName(mode)) + ")");
  if (S_ISDIR(mode)) e = Error{Errc::kIo, EISDIR, std::move(e.message)};
  return e;
}

}  // namespace

std::string_view FileTypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFLNK:
      return "a symbolic link";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    default:
      return "a file of unknown type";
  }
}

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  const std::string shown = Quote(path, Quoting::kWhenNeeded);
  // Look before opening: opening a FIFO waits for a writer, and opening a
  // device can act on it (a tape rewinds, a terminal becomes ours).
  struct stat seen;
  if (::stat(path.c_str(), &seen) != 0) return Fail(OpenError(errno, shown));
  if (!S_ISREG(seen.st_mode)) return Fail(NotRegular(shown, seen.st_mode));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return Fail(OpenError(errno, shown));
  // The name may have been pointed elsewhere between stat and open.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Fail(IoError(errno, shown + ": fstat"));
  if (!S_ISREG(st.st_mode)) return Fail(NotRegular(shown, st.st_mode));
  if (st.st_dev != seen.st_dev || st.st_ino != seen.st_ino) {
    return Fail(MakeError(Errc::kIo, shown + ": replaced by another file while being opened"));
  }
  return std::unique_ptr<FileSource>(
      new FileSource(std::move(fd), static_cast<uint64_t>(st.st_size), st.st_mtim, path));
}

Result<void> FileSource::CheckUnchanged() const {
  if (!changed_.load(std::memory_order_relaxed)) {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return Fail(IoError(errno, path_ + ": fstat"));
    if (static_cast<uint64_t>(st.st_size) == size_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
        st.st_mtim.tv_nsec == mtime_.tv_nsec) {
      return {};
    }
    changed_.store(true, std::memory_order_relaxed);
  }
  return Fail(
      Corrupt(path_ + ": the archive was changed (truncated or written) since it was opened"));
}

Result<size_t> FileSource::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  size_t done = 0;
  while (done < out.size()) {
    // pread takes a signed offset; past INT64_MAX nothing can be read.
    if (offset + done > static_cast<uint64_t>(INT64_MAX)) break;
    ssize_t n =
        ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(IoError(errno, path_ + ": read at offset " + std::to_string(offset + done)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  // After the read: bytes read while the file changed are not trusted.
  if (auto r = CheckUnchanged(); !r) return Fail(std::move(r).error());
  return done;
}

Result<size_t> MemorySource::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset >= bytes_.size()) return size_t{0};
  size_t n = std::min<uint64_t>(out.size(), bytes_.size() - offset);
  if (n > 0) std::memcpy(out.data(), bytes_.data() + offset, n);  // data() may be null
  return n;
}

Result<size_t> SliceSource::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset >= length_) return size_t{0};
  size_t n = std::min<uint64_t>(out.size(), length_ - offset);
  return inner_.ReadAt(base_ + offset, out.first(n));
}

Result<std::span<const std::byte>> WindowedReader::Read(uint64_t offset, size_t length,
                                                        size_t fill) {
  if (!Contains(offset, length)) {
    // Never more than the source holds from `offset`: a small archive
    // costs a small buffer, not a whole window.
    const uint64_t left = offset < src_.size() ? src_.size() - offset : 0;
    buf_.resize(std::min<uint64_t>(std::max(fill != 0 ? fill : window_, length), left));
    auto got = src_.ReadAt(offset, buf_);
    if (!got) return Fail(std::move(got).error());
    buf_.resize(*got);
    buf_offset_ = offset;
  }
  size_t start = offset - buf_offset_;
  size_t n = std::min(length, buf_.size() - start);
  return std::span<const std::byte>(buf_).subspan(start, n);
}

Result<std::span<const std::byte>> GatherReader::Read(size_t k, uint64_t offset, size_t length) {
  if (window_.Contains(offset, length)) return window_.Read(offset, length);
  // Load this piece and those after it that follow close behind.
  uint64_t fill = std::max<uint64_t>(need_, length);
  for (size_t j = k + 1; j < offsets_.size() && offsets_[j] >= offset; ++j) {
    const uint64_t reach = offsets_[j] - offset + need_;
    if (offsets_[j] - offset > fill + kMaxGap || reach > kWindow) break;
    fill = std::max(fill, reach);
  }
  return window_.Read(offset, length, fill);
}

}  // namespace npzfs::core
