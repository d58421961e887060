#include "tools/pack/out_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <csignal>
#include <cstring>

#include "core/base/text.h"

namespace npzfs::tools::pack {
namespace {

constexpr size_t kBufferSize = 1 << 20;
// Temporary names are made of OUT's name, cut to leave room for the rest
// within NAME_MAX (255).
constexpr size_t kMaxBaseInTempName = 200;

// The named file the signal handler removes; empty when there is none.
char g_named[4096];
volatile sig_atomic_t g_have_named = 0;

void RemoveNamedAndDie(int sig) {
  if (g_have_named) ::unlink(g_named);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void RemoveOnSignals(const std::string& path) {
  g_have_named = 0;
  if (path.size() >= sizeof g_named) return;
  std::memcpy(g_named, path.c_str(), path.size() + 1);
  g_have_named = 1;
  struct sigaction sa {};
  sa.sa_handler = RemoveNamedAndDie;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// ".NAME.npzinfo-pack-" in OUT's directory: what a temporary name starts
// with, so that one left behind says what made it.
std::string TempPrefix(const std::string& path, const std::string& dir) {
  const size_t slash = path.rfind('/');
  const std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  return dir + "/." + base.substr(0, kMaxBaseInTempName) + ".npzinfo-pack-";
}

mode_t CreationMode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

OutFile::OutFile(core::UniqueFd fd, std::string path, std::string dir, std::string named)
    : fd_(std::move(fd)), path_(std::move(path)), dir_(std::move(dir)), named_(std::move(named)) {
  buffer_.reserve(kBufferSize);
}

OutFile::~OutFile() {
  if (!committed_ && !named_.empty()) ::unlink(named_.c_str());
  g_have_named = 0;
}

core::Error OutFile::Failed(const std::string& what) const {
  return core::IoError(errno, core::Quote(path_, core::Quoting::kWhenNeeded) + ": " + what);
}

core::Result<std::unique_ptr<OutFile>> OutFile::Create(const std::string& path) {
  const std::string dir = DirOf(path);
  // The mode is applied with the umask, as for any new file.
  core::UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666));
  if (fd.valid() && ::access("/proc/self/fd", X_OK) == 0) {
    return std::unique_ptr<OutFile>(new OutFile(std::move(fd), path, dir, ""));
  }
  // Kernels and file systems without O_TMPFILE say EISDIR or EOPNOTSUPP.
  if (!fd.valid() && errno != EISDIR && errno != EOPNOTSUPP && errno != EINVAL) {
    return core::Fail(core::IoError(errno, core::Quote(path, core::Quoting::kWhenNeeded) +
                                               ": cannot create a file in " +
                                               core::Quote(dir, core::Quoting::kWhenNeeded)));
  }
  std::string named = TempPrefix(path, dir) + "XXXXXX";
  fd = core::UniqueFd(::mkostemp(named.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return core::Fail(core::IoError(errno, core::Quote(named, core::Quoting::kWhenNeeded)));
  }
  ::fchmod(fd.get(), CreationMode());
  RemoveOnSignals(named);
  return std::unique_ptr<OutFile>(new OutFile(std::move(fd), path, dir, std::move(named)));
}

core::Result<void> OutFile::WriteFully(uint64_t offset, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::Fail(Failed("write"));
    bytes = bytes.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

core::Result<void> OutFile::Flush() {
  auto r = WriteFully(position_ - buffer_.size(), buffer_);
  buffer_.clear();
  return r;
}

core::Result<void> OutFile::Append(std::span<const std::byte> bytes) {
  if (buffer_.size() + bytes.size() > kBufferSize) {
    if (auto r = Flush(); !r) return r;
  }
  if (bytes.size() >= kBufferSize) {
    if (auto r = WriteFully(position_, bytes); !r) return r;
  } else {
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  }
  position_ += bytes.size();
  return {};
}

core::Result<void> OutFile::Append(std::string_view bytes) {
  return Append({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
}

core::Result<void> OutFile::WriteAt(uint64_t offset, std::string_view bytes) {
  assert(offset + bytes.size() <= position_);
  if (auto r = Flush(); !r) return r;
  return WriteFully(offset, {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
}

core::Result<void> OutFile::Rewind(uint64_t offset) {
  assert(offset <= position_);
  if (auto r = Flush(); !r) return r;
  position_ = offset;
  return {};
}

core::Result<void> OutFile::Finish() {
  if (auto r = Flush(); !r) return r;
  if (::ftruncate(fd_.get(), static_cast<off_t>(position_)) != 0) {
    return core::Fail(Failed("truncate"));
  }
  if (::fsync(fd_.get()) != 0) return core::Fail(Failed("fsync"));
  return {};
}

std::string OutFile::ReadablePath() const {
  return named_.empty() ? "/proc/self/fd/" + std::to_string(fd_.get()) : named_;
}

// An unnamed file gets a temporary name first: linkat() cannot replace
// OUT, rename() can.
core::Result<void> OutFile::LinkUnnamed(std::string& link) {
  const std::string prefix = TempPrefix(path_, dir_) + std::to_string(::getpid()) + "-";
  for (int attempt = 0;; ++attempt) {
    link = prefix + std::to_string(attempt);
    if (::linkat(AT_FDCWD, ReadablePath().c_str(), AT_FDCWD, link.c_str(), AT_SYMLINK_FOLLOW) ==
        0) {
      return {};
    }
    if (errno != EEXIST || attempt == 100) {
      return core::Fail(core::IoError(errno, core::Quote(link, core::Quoting::kWhenNeeded)));
    }
  }
}

core::Result<void> OutFile::Commit() {
  if (named_.empty()) {
    std::string link;
    if (auto r = LinkUnnamed(link); !r) return r;
    named_ = std::move(link);
    RemoveOnSignals(named_);
  }
  if (::rename(named_.c_str(), path_.c_str()) != 0) return core::Fail(Failed("rename"));
  committed_ = true;
  g_have_named = 0;
  // The rename is durable once the directory is synced; file systems that
  // cannot sync a directory say EINVAL, and then there is nothing to do.
  core::UniqueFd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid() && ::fsync(dir.get()) != 0 && errno != EINVAL) {
    return core::Fail(Failed("fsync of its directory"));
  }
  return {};
}

}  // namespace npzfs::tools::pack
