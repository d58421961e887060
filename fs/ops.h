// The FUSE low-level operations over an immutable tree.
#ifndef NPZFS_FS_OPS_H_
#define NPZFS_FS_OPS_H_

#include <fuse_lowlevel.h>
#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/archive.h"
#include "core/content.h"
#include "core/tree.h"

namespace npzfs::fs {

// Everything the handlers need; the session's userdata. The archive, the
// tree and the array infos are immutable; Content is internally locked.
// Safe to share among the session's threads.
struct Filesystem {
  const core::Archive& archive;
  const core::Tree& tree;
  const std::vector<core::ArrayInfo>& arrays;
  core::Content& content;
  std::string archive_path;  // absolute, symlinks resolved
  int64_t archive_mtime = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t umask = 0;
  // Set once a member's read failure has been logged: one line per member.
  std::unique_ptr<std::atomic<bool>[]> read_error_logged;
};

// The operations table; every handler replies exactly once and lets no
// exception escape into libfuse.
const fuse_lowlevel_ops& Operations();

}  // namespace npzfs::fs

#endif  // NPZFS_FS_OPS_H_
