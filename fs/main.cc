// npzfs: mounts a NumPy .npz archive read-only as a directory of .npy files.
//
// Exit status (RETURN VALUE): 0 mounted and later unmounted cleanly, or
// help/version shown; 1 bad usage or option; 2 the archive cannot be read
// (missing, unreadable, not a zip, truncated central directory); 3 the
// mountpoint is missing or not a directory; 4 mounting failed. Every
// failure prints one line on stderr naming the file and the reason.
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/base/text.h"
#include "core/mount/mounted_archive.h"
#include "core/remote/remote_source.h"
#include "core/remote/url.h"
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
  std::unique_ptr<core::MountedArchive> archive;  // one archive
  std::unique_ptr<core::Dataset> dataset;         // or many
  std::unique_ptr<fs::Filesystem> fs;
};

// Whether the names before the mountpoint make a mount of many archives:
// several, or one directory.
bool ManyArchives(const fs::Options& o) {
  struct stat st {};
  return o.archives.size() > 1 || core::IsS3Prefix(o.archive) ||
         (!core::IsRemoteName(o.archive) && ::stat(o.archive.c_str(), &st) == 0 &&
          S_ISDIR(st.st_mode));
}

std::string AbsolutePath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

// A URL's secrets (user:password@, a presigned query) are overwritten in
// argv, so that /proc/PID/cmdline and ps never show them: the redacted URL,
// then NULs to the old length.
void HideSecrets(int argc, char** argv, const std::string& archive) {
  const std::string shown = core::ShownArchiveName(archive);
  if (shown == archive) return;
  for (int i = 1; i < argc; ++i) {
    if (archive != argv[i]) continue;
    const size_t n = std::strlen(argv[i]);
    std::memset(argv[i], 0, n);
    std::memcpy(argv[i], shown.data(), std::min(n, shown.size()));
  }
}

// Opens the archive and sets up everything the handlers use. Fails only
// when the archive cannot be mounted at all; what is wrong with members is
// logged later (LogNotes), once the log is where it goes.
// The archive's source when it is a remote object, else null.
const core::RemoteSource* RemoteOf(const core::MountedArchive& a) {
  return dynamic_cast<const core::RemoteSource*>(&a.archive().source());
}

core::MountOptions MountOptionsOf(const fs::Options& o) {
  return {o.tree, o.content, o.disk_cache.size > 0 ? std::optional(o.disk_cache) : std::nullopt,
          o.index, [](const std::string& line) { spdlog::warn("{}", line); }};
}

core::Result<std::unique_ptr<Mounted>> OpenArchive(const fs::Options& o) {
  auto m = std::make_unique<Mounted>();
  if (ManyArchives(o)) {
    core::DatasetOptions d{MountOptionsOf(o), o.remote, o.max_open, nullptr};
    d.on_open = [](size_t, const core::MountedArchive& a, bool first) {
      const std::string name = a.archive().source().shown_name();
      spdlog::debug("{}: opened{} ({} members)", name, first ? "" : " again",
                    a.archive().entries().size());
      if (!first) return;
      if (const core::RemoteSource* remote = RemoteOf(a); remote && !remote->disk_note().empty()) {
        spdlog::debug("{}", remote->disk_note());
      }
      for (const auto& line : a.info()) spdlog::debug("{}: {}", name, line);
      for (const auto& line : a.warnings()) spdlog::warn("{}: {}", name, line);
    };
    auto dataset = core::Dataset::List(o.archives, d);
    if (!dataset) return core::Fail(std::move(dataset).error());
    m->dataset = std::move(*dataset);
    m->fs = std::make_unique<fs::Filesystem>(*m->dataset);
  } else {
    auto source = core::OpenArchiveSource(o.archive, o.remote);
    if (!source) return core::Fail(std::move(source).error());
    auto archive = core::MountedArchive::Open(std::move(*source), MountOptionsOf(o));
    if (!archive) return core::Fail(std::move(archive).error());
    m->archive = std::move(*archive);
    m->fs = std::make_unique<fs::Filesystem>(*m->archive, core::ShownArchiveName(o.archive));
  }
  m->fs->owner = {o.uid.value_or(::getuid()), o.gid.value_or(::getgid()), o.umask};
  return m;
}

void LogNotes(const fs::Options& o, const Mounted& m) {
  if (m.dataset) {
    for (const auto& line : m.dataset->warnings()) spdlog::warn("{}", line);
    spdlog::info("{}: {} archives, at most {} open, cache {} MiB each",
                 core::Quote(m.fs->shown_source, core::Quoting::kWhenNeeded), m.dataset->size(),
                 o.max_open, std::max<uint64_t>(8, (o.content.cache_size >> 20) / o.max_open));
    return;
  }
  const core::MountedArchive::Timings& t = m.archive->timings();
  spdlog::debug("index {:.1f} ms, npy headers {:.1f} ms, tree {:.1f} ms", t.index_ms, t.scan_ms,
                t.tree_ms);
  for (const auto& line : m.archive->info()) spdlog::info("{}", line);
  for (const auto& line : m.archive->warnings()) spdlog::warn("{}", line);
  if (const core::RemoteSource* remote = RemoteOf(*m.archive);
      remote && !remote->disk_note().empty()) {
    spdlog::info("{}", remote->disk_note());
  }
  spdlog::info("{}: {} members, cache {} MiB",
               core::Quote(m.fs->shown_source, core::Quoting::kWhenNeeded),
               m.archive->archive().entries().size(), o.content.cache_size >> 20);
}

// What a remote archive cost, for the log at unmount.
void LogRemoteStats(const Mounted& m) {
  if (!m.archive) return;
  const core::RemoteSource* remote = RemoteOf(*m.archive);
  if (remote == nullptr) return;
  const core::RemoteStats s = remote->stats();
  spdlog::info(
      "{}: {} requests ({} retries), {} MiB fetched ({} MiB read ahead, {} MiB hinted), {} MiB "
      "from the disk cache, {} MiB evicted",
      m.fs->shown_source, s.requests, s.retries, s.fetched >> 20, s.read_ahead >> 20,
      s.hinted >> 20, s.disk_bytes >> 20, s.evicted >> 20);
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

// Detaching: the daemon forks before it opens the archive, because
// threads (decoders, the index writer, remote fetches) do not survive a
// fork, and the archive's setup starts them. The parent waits until the
// child says the mount is live, or exits with the child's status when it
// fails (the child has printed why on the same stderr), so that
// `npzfs a.npz m && ls m` always works.
class Detached {
 public:
  // In the foreground: does nothing. Else forks; in the parent it never
  // returns.
  static Detached Start(bool foreground) {
    Detached d;
    if (foreground) return d;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      std::exit(Fail(kExitMount, std::string("pipe: ") + std::strerror(errno)));
    }
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) std::exit(Fail(kExitMount, std::string("fork: ") + std::strerror(errno)));
    if (pid > 0) {
      ::close(fds[1]);
      char status = 0;
      ssize_t n;
      do {
        n = ::read(fds[0], &status, 1);
      } while (n < 0 && errno == EINTR);
      if (n == 1) std::_Exit(kExitOk);
      int wstatus = 0;
      while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) std::_Exit(WEXITSTATUS(wstatus));
      std::_Exit(Fail(kExitMount, "the daemon ended before the mount was live"));
    }
    ::close(fds[0]);
    ::setsid();
    d.ready_fd_ = fds[1];
    return d;
  }

  // The mount is live: leaves the working directory (in the foreground
  // too, as fuse_daemonize does) and, detached, the terminal, and lets the
  // parent exit 0.
  void Ready() {
    if (::chdir("/") != 0) {
      // The mountpoint and the log path are absolute: nothing needs the old one.
    }
    if (ready_fd_ < 0) return;
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
      if (null > 2) ::close(null);
    }
    const char ok = 0;
    while (::write(ready_fd_, &ok, 1) < 0 && errno == EINTR) {
    }
    ::close(ready_fd_);
    ready_fd_ = -1;
  }

 private:
  int ready_fd_ = -1;
};

// Mounts, tells the waiting parent (unless in the foreground), serves
// until unmounted or signalled, and unmounts.
int Serve(const fs::Options& o, fuse_args* args, Mounted& m, Detached& detached) {
  auto session = fs::Session::Create(args, fs::Operations(), m.fs.get());
  if (!session) return Fail(kExitUsage, session.error().message);
  if (auto r = (*session)->Mount(m.fs->mountpoint); !r) return Fail(kExitMount, r.error().message);
  m.fs->device = (*session)->device();
  // After Mount(): it replaces the SIGHUP handler libfuse installed there.
  auto hangup = fs::HangupHandler::Install();
  if (!hangup) return Fail(kExitMount, hangup.error().message);
  if (!o.foreground) fs::StopLoggingToStderr();
  detached.Ready();
  (*hangup)->Start();
  const int rc = (*session)->Run(o);
  hangup->reset();   // SIGHUP as libfuse left it, before the session goes
  session->reset();  // unmounts
  spdlog::info("{}: unmounted", core::Quote(m.fs->mountpoint, core::Quoting::kWhenNeeded));
  LogRemoteStats(m);
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
  if (core::IsRemoteName(o.archive)) HideSecrets(argc, argv, o.archive);
  Detached detached = Detached::Start(o.foreground);
  fs::StartLogging(o.log_level, !o.foreground, !o.foreground && o.log_file.empty());
  auto mounted = OpenArchive(o);
  if (!mounted) return Fail(kExitArchive, mounted.error().message);
  auto mountpoint = CheckMountpoint(o.mountpoint);
  if (!mountpoint) return Fail(kExitMountpoint, mountpoint.error().message);
  if (!o.log_file.empty()) {
    if (auto r = fs::OpenLogFile(o.log_file); !r) return Fail(kExitUsage, r.error().message);
  }
  LogNotes(o, **mounted);
  (*mounted)->fs->mountpoint = *mountpoint;
  fs::AddFsname(o, (*mounted)->fs->shown_source, &args);
  return Serve(o, &args, **mounted, detached);
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
