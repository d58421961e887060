#include "core/remote/piece_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>
#include <vector>

#include "core/base/crc32.h"
#include "core/base/text.h"
#include "core/base/unique_fd.h"

namespace npzfs::core {
namespace {

namespace stdfs = std::filesystem;

constexpr char kTag[8] = {'N', 'P', 'Z', 'F', 'S', 'R', 'C', '1'};
constexpr size_t kTrailer = 4 + sizeof kTag;

Result<void> MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Fail(IoError(errno, dir));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return Fail(IoError(errno, dir));
  if (!S_ISDIR(st.st_mode)) return Fail(IoError(ENOTDIR, dir));
  return {};
}

// Bytes held by the regular files directly in `dir`.
uint64_t SizeOf(const stdfs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& f : stdfs::directory_iterator(dir, ec)) {
    if (f.is_regular_file(ec)) total += f.file_size(ec);
  }
  return total;
}

bool WriteAll(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data = data.subspan(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string PieceKey(const std::string& shown_url, const std::string& etag, uint64_t size,
                     const std::string& last_modified) {
  if (etag.empty() && last_modified.empty()) return "";
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull;  // a separator no text holds
  };
  mix(shown_url);
  mix(etag);
  mix(std::to_string(size));
  mix(last_modified);
  char name[17];
  std::snprintf(name, sizeof name, "%016" PRIx64, h);
  return name;
}

Result<std::unique_ptr<PieceFiles>> PieceFiles::Open(const std::string& dir, const std::string& key,
                                                     uint64_t limit) {
  if (auto r = MakeDir(dir); !r) return Fail(std::move(r).error());
  const std::string mine = dir + "/" + key;
  if (auto r = MakeDir(mine); !r) return Fail(std::move(r).error());
  // This object's directory is the newest: its time says when it was last mounted.
  ::utimensat(AT_FDCWD, mine.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);

  struct Other {
    stdfs::path path;
    stdfs::file_time_type time;
    uint64_t size;
  };
  std::vector<Other> others;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& d : stdfs::directory_iterator(dir, ec)) {
    if (!d.is_directory(ec) || d.is_symlink(ec)) continue;
    const uint64_t size = SizeOf(d.path());
    total += size;
    if (d.path().filename() != key) others.push_back({d.path(), d.last_write_time(ec), size});
  }
  std::sort(others.begin(), others.end(),
            [](const Other& a, const Other& b) { return a.time < b.time; });
  for (const Other& o : others) {
    if (total <= limit) break;
    stdfs::remove_all(o.path, ec);
    if (!ec) total -= o.size;
  }
  return std::unique_ptr<PieceFiles>(new PieceFiles(mine, total, limit));
}

std::string PieceFiles::PathOf(uint64_t start, uint64_t length) const {
  char name[40];
  std::snprintf(name, sizeof name, "/%" PRIx64 "-%" PRIx64, start, length);
  return dir_ + name;
}

bool PieceFiles::Load(uint64_t start, std::span<std::byte> out) const {
  const std::string path = PathOf(start, out.size());
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return false;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::array<std::byte, kTrailer> trailer;
  bool good = static_cast<uint64_t>(st.st_size) == out.size() + kTrailer;
  if (good) {
    const ssize_t n = ::pread(fd.get(), out.data(), out.size(), 0);
    const ssize_t t =
        ::pread(fd.get(), trailer.data(), trailer.size(), static_cast<off_t>(out.size()));
    uint32_t crc = 0;
    for (int i = 0; i < 4; ++i) crc |= std::to_integer<uint32_t>(trailer[i]) << (8 * i);
    good = n == static_cast<ssize_t>(out.size()) && t == static_cast<ssize_t>(kTrailer) &&
           std::memcmp(trailer.data() + 4, kTag, sizeof kTag) == 0 && Crc32(0, out) == crc;
  }
  if (!good) ::unlink(path.c_str());
  return good;
}

void PieceFiles::Store(uint64_t start, std::span<const std::byte> data) const {
  const uint64_t size = data.size() + kTrailer;
  if (used_.fetch_add(size, std::memory_order_relaxed) + size > limit_) {
    used_.fetch_sub(size, std::memory_order_relaxed);
    return;
  }
  const std::string path = PathOf(start, data.size());
  thread_local std::minstd_rand rng{std::random_device{}()};
  const std::string tmp = path + ".tmp" + std::to_string(rng());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  std::array<std::byte, kTrailer> trailer;
  const uint32_t crc = Crc32(0, data);
  for (int i = 0; i < 4; ++i) trailer[i] = static_cast<std::byte>(crc >> (8 * i));
  std::memcpy(trailer.data() + 4, kTag, sizeof kTag);
  bool ok = fd.valid() && WriteAll(fd.get(), data) && WriteAll(fd.get(), trailer);
  fd.Reset();
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ::unlink(tmp.c_str());
    used_.fetch_sub(size, std::memory_order_relaxed);
  }
}

}  // namespace npzfs::core
