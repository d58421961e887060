// npzfs: mounts a NumPy .npz archive read-only as a directory of .npy files.
//
// Exit status (RETURN VALUE): 0 mounted and later unmounted cleanly, or
// help/version shown; 1 bad usage or option; 2 the archive cannot be read
// (missing, unreadable, not a zip, truncated central directory); 3 the
// mountpoint is missing or not a directory; 4 mounting failed. Every
// failure prints one line on stderr naming the file and the reason.
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/archive/archive.h"
#include "core/npy/header_scan.h"
#include "core/read/content.h"
#include "core/view/tree.h"
#include "fs/log.h"
#include "fs/ops.h"
#include "fs/options.h"
#include "fs/session.h"

#ifndef NPZFS_VERSION
#define NPZFS_VERSION "unknown"
#endif

namespace {

using namespace npzfs;  // NOLINT(google-build-using-namespace): main only

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitArchive = 2;
constexpr int kExitMountpoint = 3;
constexpr int kExitMount = 4;

int Fail(int code, const std::string& line) {
  std::fprintf(stderr, "npzfs: %s\n", line.c_str());
  return code;
}

// What a mount serves; lives until the session ends.
struct Mounted {
  std::unique_ptr<core::Archive> archive;
  std::vector<core::ArrayInfo> arrays;
  core::Tree tree;
  std::unique_ptr<core::Content> content;
  std::unique_ptr<fs::Filesystem> fs;
};

std::string AbsolutePath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

// Opens the archive and builds everything the handlers use.
core::Result<std::unique_ptr<Mounted>> Prepare(const fs::Options& o) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  const auto t0 = Clock::now();
  auto archive = core::Archive::Open(o.archive);
  if (!archive) return core::Fail(std::move(archive).error());
  auto m = std::make_unique<Mounted>();
  m->archive = std::move(*archive);
  const std::string abs = AbsolutePath(o.archive);
  struct stat st {};
  ::fstat(m->archive->source().fd(), &st);

  const auto t1 = Clock::now();
  core::Notes notes;
  m->arrays = core::ScanArrays(*m->archive, notes);
  const auto t2 = Clock::now();
  for (const auto& line : notes.Lines()) spdlog::info("{}", line);
  core::Notes warnings;
  m->tree = core::Tree::Build(m->archive->index(), m->arrays, st.st_mtime, o.tree, warnings);
  for (const auto& line : warnings.Lines()) spdlog::warn("{}", line);
  const auto t3 = Clock::now();
  spdlog::debug("index {:.1f} ms, npy headers {:.1f} ms, tree {:.1f} ms", ms(t0, t1), ms(t1, t2),
                ms(t2, t3));
  m->content = std::make_unique<core::Content>(*m->archive, o.content);
  const size_t members = m->archive->entries().size();
  m->fs = std::make_unique<fs::Filesystem>(*m->archive, m->tree, m->arrays, *m->content);
  m->fs->archive_path = abs;
  m->fs->uid = o.uid.value_or(::getuid());
  m->fs->gid = o.gid.value_or(::getgid());
  m->fs->umask = o.umask;
  spdlog::info("{}: {} members, cache {} MiB", abs, members, o.content.cache_size >> 20);
  return m;
}

// The mountpoint as an absolute path (the daemon leaves its working
// directory, and unmounting needs the path), or why it cannot be one.
core::Result<std::string> CheckMountpoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return core::Fail(core::IoError(errno, path));
  if (!S_ISDIR(st.st_mode)) return core::Fail(core::IoError(ENOTDIR, path));
  return AbsolutePath(path);
}

// The loop's status: 0, or the signal that ended it (SIGINT, SIGTERM and
// SIGHUP unmount cleanly).
bool CleanEnd(int loop_status) {
  return loop_status == 0 || loop_status == SIGINT || loop_status == SIGTERM ||
         loop_status == SIGHUP;
}

int Main(int argc, char** argv) {
  fuse_args args;
  auto options = fs::ParseOptions(argc, argv, &args);
  std::unique_ptr<fuse_args, void (*)(fuse_args*)> free_args(&args, fuse_opt_free_args);
  if (!options) return Fail(kExitUsage, options.error().message);
  const fs::Options& o = *options;
  if (o.show_help) {
    std::fputs(fs::UsageText(argv[0]).c_str(), stdout);
    std::fputs("FUSE options:\n", stdout);
    fuse_cmdline_help();
    fuse_lowlevel_help();
    return kExitOk;
  }
  if (o.show_version) {
    std::printf("npzfs version %s\nFUSE library version %s\n", NPZFS_VERSION, fuse_pkgversion());
    fuse_lowlevel_version();
    return kExitOk;
  }
  if (auto r = fs::StartLogging(o.log_level, o.log_file, !o.foreground); !r) {
    return Fail(kExitUsage, r.error().message);
  }
  auto mounted = Prepare(o);
  if (!mounted) return Fail(kExitArchive, mounted.error().message);
  auto mountpoint = CheckMountpoint(o.mountpoint);
  if (!mountpoint) return Fail(kExitMountpoint, mountpoint.error().message);

  (*mounted)->fs->mountpoint = *mountpoint;
  auto session = fs::Session::Create(&args, fs::Operations(), (*mounted)->fs.get());
  if (!session) return Fail(kExitUsage, session.error().message);
  if (auto r = (*session)->Mount(*mountpoint); !r) return Fail(kExitMount, r.error().message);
  // Returns in the parent only once the mount is live, so that
  // `npzfs a.npz m && ls m` always works.
  fuse_daemonize(o.foreground ? 1 : 0);
  if (!o.foreground) fs::StopLoggingToStderr();
  const int rc = (*session)->Run(o);
  session->reset();  // unmounts
  spdlog::info("{}: unmounted", *mountpoint);
  return CleanEnd(rc) ? kExitOk : kExitMount;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
