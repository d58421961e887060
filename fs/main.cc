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
#include "core/base/text.h"
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

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Opens the archive and reads its index: whether it can be mounted at all.
core::Result<std::unique_ptr<Mounted>> OpenArchive(const fs::Options& o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto archive = core::Archive::Open(o.archive);
  if (!archive) return core::Fail(std::move(archive).error());
  auto m = std::make_unique<Mounted>();
  m->archive = std::move(*archive);
  spdlog::debug("index {:.1f} ms", MsSince(t0));
  return m;
}

// Builds everything the handlers use. Cannot fail: what is wrong with a
// member is logged, and the member left out.
void Build(const fs::Options& o, Mounted& m) {
  const std::string abs = AbsolutePath(o.archive);
  struct stat st {};
  ::fstat(m.archive->source().fd(), &st);
  const auto t0 = std::chrono::steady_clock::now();
  core::Notes notes;
  m.arrays = core::ScanArrays(*m.archive, notes);
  const double scan_ms = MsSince(t0);
  for (const auto& line : notes.Lines()) spdlog::info("{}", line);
  const auto t1 = std::chrono::steady_clock::now();
  core::Notes warnings;
  m.tree = core::Tree::Build(m.archive->index(), m.arrays, st.st_mtime, o.tree, warnings);
  for (const auto& line : warnings.Lines()) spdlog::warn("{}", line);
  spdlog::debug("npy headers {:.1f} ms, tree {:.1f} ms", scan_ms, MsSince(t1));
  m.content = std::make_unique<core::Content>(*m.archive, o.content);
  m.fs = std::make_unique<fs::Filesystem>(*m.archive, m.tree, m.arrays, *m.content);
  m.fs->archive_path = abs;
  m.fs->uid = o.uid.value_or(::getuid());
  m.fs->gid = o.gid.value_or(::getgid());
  m.fs->umask = o.umask;
  spdlog::info("{}: {} members, cache {} MiB", core::Quote(abs, core::Quoting::kWhenNeeded),
               m.archive->entries().size(),
               o.content.cache_size >> 20);
}

// The mountpoint as an absolute path (the daemon leaves its working
// directory, and unmounting needs the path), or why it cannot be one.
core::Result<std::string> CheckMountpoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return core::Fail(core::IoError(errno, path));
  if (!S_ISDIR(st.st_mode)) return core::Fail(core::IoError(ENOTDIR, path));
  return AbsolutePath(path);
}

// The loop's status: 0, or the signal that ended it (SIGINT and SIGTERM
// unmount cleanly; SIGHUP reopens the log file instead).
bool CleanEnd(int loop_status) {
  return loop_status == 0 || loop_status == SIGINT || loop_status == SIGTERM;
}

int ShowHelpOrVersion(const fs::Options& o, const char* program) {
  if (o.show_help) {
    std::fputs(fs::UsageText(program).c_str(), stdout);
    std::fputs("FUSE options:\n", stdout);
    fuse_cmdline_help();
    fuse_lowlevel_help();
  } else {
    std::printf("npzfs version %s\nFUSE library version %s\n", NPZFS_VERSION, fuse_pkgversion());
    fuse_lowlevel_version();
  }
  return kExitOk;
}

// Mounts, detaches (unless in the foreground), serves until unmounted or
// signalled, and unmounts.
int Serve(const fs::Options& o, fuse_args* args, Mounted& m) {
  auto session = fs::Session::Create(args, fs::Operations(), m.fs.get());
  if (!session) return Fail(kExitUsage, session.error().message);
  if (auto r = (*session)->Mount(m.fs->mountpoint); !r) return Fail(kExitMount, r.error().message);
  m.fs->device = (*session)->device();
  // After Mount(): it replaces the SIGHUP handler libfuse installed there.
  auto hangup = fs::HangupHandler::Install();
  if (!hangup) return Fail(kExitMount, hangup.error().message);
  // Returns in the parent only once the mount is live, so that
  // `npzfs a.npz m && ls m` always works.
  fuse_daemonize(o.foreground ? 1 : 0);
  if (!o.foreground) fs::StopLoggingToStderr();
  (*hangup)->Start();
  const int rc = (*session)->Run(o);
  hangup->reset();   // SIGHUP as libfuse left it, before the session goes
  session->reset();  // unmounts
  spdlog::info("{}: unmounted", core::Quote(m.fs->mountpoint, core::Quoting::kWhenNeeded));
  return CleanEnd(rc) ? kExitOk : kExitMount;
}

// Checks in the order that leaves nothing behind on failure: options,
// archive, mountpoint, then the log file (which may be created), then the
// mount.
int Main(int argc, char** argv) {
  fuse_args args;
  auto options = fs::ParseOptions(argc, argv, &args);
  std::unique_ptr<fuse_args, void (*)(fuse_args*)> free_args(&args, fuse_opt_free_args);
  if (!options) return Fail(kExitUsage, options.error().message);
  const fs::Options& o = *options;
  if (o.show_help || o.show_version) return ShowHelpOrVersion(o, argv[0]);
  fs::StartLogging(o.log_level, !o.foreground, !o.foreground && o.log_file.empty());
  auto mounted = OpenArchive(o);
  if (!mounted) return Fail(kExitArchive, mounted.error().message);
  auto mountpoint = CheckMountpoint(o.mountpoint);
  if (!mountpoint) return Fail(kExitMountpoint, mountpoint.error().message);
  if (!o.log_file.empty()) {
    if (auto r = fs::OpenLogFile(o.log_file); !r) return Fail(kExitUsage, r.error().message);
  }
  Build(o, **mounted);
  (*mounted)->fs->mountpoint = *mountpoint;
  fs::AddFsname(o, (*mounted)->fs->archive_path, &args);
  return Serve(o, &args, **mounted);
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
