#include "core/source/file_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "core/base/text.h"

namespace npzfs::core {
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

SourceIdentity IdentityOf(const struct stat& st) {
  return {"file:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino),
          static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec,
          static_cast<int32_t>(st.st_mtim.tv_nsec)};
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
  return std::unique_ptr<FileSource>(new FileSource(std::move(fd), IdentityOf(st), path));
}

FileSource::FileSource(UniqueFd fd, SourceIdentity identity, std::string path)
    : fd_(std::move(fd)), identity_(std::move(identity)), path_(std::move(path)) {
  if (identity_.size == 0) return;
  void* p = ::mmap(nullptr, identity_.size, PROT_READ, MAP_SHARED, fd_.get(), 0);
  if (p != MAP_FAILED) mapped_ = {static_cast<const std::byte*>(p), identity_.size};
}

FileSource::~FileSource() {
  if (!mapped_.empty()) ::munmap(const_cast<std::byte*>(mapped_.data()), mapped_.size());
}

Result<void> FileSource::CheckUnchanged() const {
  if (!changed_.load(std::memory_order_relaxed)) {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return Fail(IoError(errno, shown_name() + ": fstat"));
    if (IdentityOf(st) == identity_) return {};
    changed_.store(true, std::memory_order_relaxed);
  }
  return Fail(Corrupt(shown_name() +
                      ": the archive was changed (truncated or written) since it was opened"));
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
      return Fail(
          IoError(errno, shown_name() + ": read at offset " + std::to_string(offset + done)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  // After the read: bytes read while the file changed are not trusted.
  if (auto r = CheckUnchanged(); !r) return Fail(std::move(r).error());
  return done;
}

}  // namespace npzfs::core
