// One FUSE session: create, mount, serve, unmount, destroy.
#ifndef NPZFS_FS_SESSION_H_
#define NPZFS_FS_SESSION_H_

#include <fuse_lowlevel.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "core/base/result.h"
#include "fs/options.h"

namespace npzfs::fs {

class Session {
 public:
  // fuse_session_new over `args` (which it consumes). Errors: bad generic
  // options (libfuse prints its own line too).
  static core::Result<std::unique_ptr<Session>> Create(fuse_args* args,
                                                       const fuse_lowlevel_ops& ops,
                                                       void* userdata);
  ~Session();  // unmounts if mounted, then destroys the session
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Mounts at `mountpoint` and installs SIGINT/SIGTERM/SIGHUP handlers
  // that end the loop (and so unmount).
  core::Result<void> Mount(const std::string& mountpoint);

  // The mount's device number (st_dev inside it), 0 when it could not be
  // learnt; known once Mount() succeeded.
  dev_t device() const { return device_; }

  // Serves requests until unmounted or signalled; returns the loop's
  // status (0 on a clean end).
  int Run(const Options& options);

 private:
  explicit Session(fuse_session* se) : se_(se) {}

  fuse_session* se_;
  bool mounted_ = false;
  bool signals_ = false;
  dev_t device_ = 0;
};

// Lets the kernel read ahead up to `kib` KiB at a time in the mount whose
// device is `device` (FUSE's default is 128), through
// /sys/class/bdi/MAJOR:MINOR. The kernel sets the mount's readahead when it
// handles the reply to INIT, so this must run after that, e.g. from the
// first request. Needs root; best effort (a debug line naming `mountpoint`
// says why not). Makes no request to the mount.
void RaiseReadahead(const std::string& mountpoint, dev_t device, unsigned kib);

}  // namespace npzfs::fs

#endif  // NPZFS_FS_SESSION_H_
