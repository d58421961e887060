#include "fs/session.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace npzfs::fs {

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
  return {};
}

namespace {

// "major:minor" of the file system mounted at `mountpoint`, from
// /proc/self/mountinfo (a stat() would ask the mount, which does not answer
// yet).
std::string DeviceOf(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, device;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, where;
    fields >> id >> parent >> dev >> root >> where;
    if (where == mountpoint) device = dev;  // the last one is on top
  }
  return device;
}

}  // namespace

void RaiseReadahead(const std::string& mountpoint, unsigned kib) {
  const std::string device = DeviceOf(mountpoint);
  const std::string path = "/sys/class/bdi/" + device + "/read_ahead_kb";
  unsigned current = 0;
  if (device.empty() || !(std::ifstream(path) >> current)) {
    spdlog::debug("{}: no read_ahead_kb for this mount", mountpoint);
    return;
  }
  if (current >= kib) return;
  std::ofstream out(path);
  out << kib;
  out.flush();
  if (!out) {
    spdlog::debug("{}: cannot raise {} to {} (not root?)", mountpoint, path, kib);
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
