#include "fs/session.h"

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
