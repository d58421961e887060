#include "core/source/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace npzfs::core {

Result<void> ReadExactly(const ByteSource& src, uint64_t offset, std::span<std::byte> out) {
  auto got = src.ReadAt(offset, out);
  if (!got) return Fail(std::move(got).error());
  if (*got != out.size()) {
    return Corrupt(src.name() + ": unexpected end of file: wanted " + std::to_string(out.size()) +
                   " bytes at offset " + std::to_string(offset) + ", file has " +
                   std::to_string(src.size()));
  }
  return {};
}

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    if (e == ENOENT) return Fail(MakeError(Errc::kNotFound, path + ": No such file or directory"));
    return Fail(IoError(e, path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Fail(IoError(errno, path + ": fstat"));
  if (S_ISDIR(st.st_mode)) return Fail(IoError(EISDIR, path));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return Fail(MakeError(Errc::kInvalidArgument, path + ": not a regular file"));
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd.get(), 0, SEEK_END);
    if (end < 0) return Fail(IoError(errno, path + ": lseek"));
    size = static_cast<uint64_t>(end);
  }
  return std::unique_ptr<FileSource>(
      new FileSource(std::move(fd), size, st.st_mtim, S_ISREG(st.st_mode), path));
}

Result<void> FileSource::CheckUnchanged() const {
  if (!regular_) return {};
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
