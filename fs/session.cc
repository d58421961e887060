#include "fs/session.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/base/text.h"

namespace npzfs::fs {

namespace {

// The device of the file system now mounted at `mountpoint`, or 0. The
// session loop does not run yet, so nothing may ask the daemon: with
// AT_STATX_DONT_SYNC the kernel answers from the inode it has (the root's
// st_dev is the superblock's), and the path walk into a mount's root sends
// no LOOKUP. Unlike a search of /proc/self/mountinfo by name, this works
// for every mountpoint name (mountinfo escapes spaces, tabs, newlines and
// backslashes).
dev_t DeviceOf(const std::string& mountpoint) {
  struct statx sx {};
  if (::statx(AT_FDCWD, mountpoint.c_str(), AT_STATX_DONT_SYNC | AT_SYMLINK_NOFOLLOW, STATX_INO,
              &sx) != 0) {
    spdlog::debug("{}: statx: {}", core::Quote(mountpoint), std::strerror(errno));
    return 0;
  }
  return makedev(sx.stx_dev_major, sx.stx_dev_minor);
}

}  // namespace

core::Result<std::unique_ptr<Session>> Session::Create(fuse_args* args,
                                                       const fuse_lowlevel_ops& ops,
                                                       void* userdata) {
  fuse_session* se = fuse_session_new(args, &ops, sizeof ops, userdata);
  if (se == nullptr) {
    return core::Fail(core::MakeError(core::Errc::kInvalidArgument,
                                      "invalid mount options (see the line above)"));
  }
  return std::unique_ptr<Session>(new Session(se));
}

Session::~Session() {
  if (mounted_) fuse_session_unmount(se_);
  if (signals_) fuse_remove_signal_handlers(se_);
  fuse_session_destroy(se_);
}

core::Result<void> Session::Mount(const std::string& mountpoint) {
  if (fuse_set_signal_handlers(se_) != 0) {
    return core::Fail(core::MakeError(core::Errc::kIo, "cannot install signal handlers"));
  }
  signals_ = true;
  if (fuse_session_mount(se_, mountpoint.c_str()) != 0) {
    return core::Fail(core::MakeError(core::Errc::kIo, mountpoint + ": mount failed"));
  }
  mounted_ = true;
  device_ = DeviceOf(mountpoint);
  return {};
}

void RaiseReadahead(const std::string& mountpoint, dev_t device, unsigned kib) {
  const std::string path = "/sys/class/bdi/" + std::to_string(major(device)) + ":" +
                           std::to_string(minor(device)) + "/read_ahead_kb";
  unsigned current = 0;
  if (device == 0 || !(std::ifstream(path) >> current)) {
    spdlog::debug("{}: no read_ahead_kb for this mount", core::Quote(mountpoint));
    return;
  }
  if (current >= kib) return;
  std::ofstream out(path);
  out << kib;
  out.flush();
  if (!out) {
    spdlog::debug("{}: cannot raise {} to {} (not root?)", core::Quote(mountpoint), path, kib);
  }
}

int Session::Run(const Options& options) {
  if (options.single_thread) return fuse_session_loop(se_);
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, options.clone_fd ? 1 : 0);
  fuse_loop_cfg_set_max_threads(config, options.max_threads);
  const int rc = fuse_session_loop_mt(se_, config);
  fuse_loop_cfg_destroy(config);
  return rc;
}

}  // namespace npzfs::fs
