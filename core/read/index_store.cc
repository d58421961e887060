#include "core/read/index_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/base/text.h"

namespace npzfs::core {
namespace {

std::string DirOf(const IndexOptions& o) {
  if (o.where == IndexOptions::Where::kDir) return o.path.empty() ? DefaultIndexDir() : o.path;
  const size_t slash = o.path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : o.path.substr(0, slash);
}

}  // namespace

std::string DefaultIndexDir() {
  if (::geteuid() == 0) return "/var/cache/npzfs";
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/npzfs";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && home[0] == '/' ? home : "/tmp") + "/.cache/npzfs";
}

std::string IndexPath(const IndexOptions& options, const IndexIdentity& id) {
  if (options.where != IndexOptions::Where::kDir) return options.path;
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t v : {id.size, static_cast<uint64_t>(id.mtime_sec),
                     static_cast<uint64_t>(static_cast<uint32_t>(id.mtime_nsec)), id.cd_hash}) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ull;
  }
  char name[40];
  std::snprintf(name, sizeof name, "%016llx.npzidx", static_cast<unsigned long long>(h));
  return DirOf(options) + "/" + name;
}

Result<void> MakeIndexDir(const IndexOptions& options) {
  const std::string dir = DirOf(options);
  const bool parents = options.where == IndexOptions::Where::kDir && options.path.empty();
  std::vector<std::string> chain{dir};
  if (parents) {
    for (std::string d = dir; d.rfind('/') > 0;) {
      d.resize(d.rfind('/'));
      chain.push_back(d);
    }
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail(Error{
          Errc::kIo, errno,
          "index directory " + Quote(*it, Quoting::kWhenNeeded) + ": " + std::strerror(errno)});
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(MakeError(
        Errc::kIo, "index directory " + Quote(dir, Quoting::kWhenNeeded) + " is not a directory"));
  }
  return {};
}

void EvictIndexes(const std::string& dir, uint64_t max_total, const std::string& keep) {
  struct File {
    std::string path;
    uint64_t size;
    int64_t used;
  };
  std::vector<File> files;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 8 || name.compare(name.size() - 7, 7, ".npzidx") != 0) continue;
    const std::string path = e.path().string();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    files.push_back(
        {path, static_cast<uint64_t>(st.st_size), std::max<int64_t>(st.st_mtime, st.st_atime)});
    total += static_cast<uint64_t>(st.st_size);
  }
  std::sort(files.begin(), files.end(),
            [](const File& a, const File& b) { return a.used < b.used; });
  for (const File& f : files) {
    if (total <= max_total) break;
    if (f.path == keep) continue;
    if (::unlink(f.path.c_str()) == 0) total -= f.size;
  }
}

}  // namespace npzfs::core
