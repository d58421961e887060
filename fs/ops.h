// The FUSE low-level operations over an immutable tree.
#ifndef NPZFS_FS_OPS_H_
#define NPZFS_FS_OPS_H_

#include <fuse_lowlevel.h>
#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/mount/mounted_archive.h"
#include "core/view/attributes.h"

namespace npzfs::fs {

// Everything the handlers need; the session's userdata. The mounted
// archive is immutable but for its content, which is internally locked.
// Safe to share among the session's threads.
struct Filesystem {
  explicit Filesystem(const core::MountedArchive& m)
      : mounted(m),
        archive(m.archive()),
        tree(m.tree()),
        read_error_logged(std::make_unique<std::atomic<bool>[]>(archive.entries().size())),
        xattr_note_logged(std::make_unique<std::atomic<bool>[]>(archive.entries().size())) {}

  const core::MountedArchive& mounted;
  const core::Archive& archive;
  const core::Tree& tree;
  std::string archive_path;  // absolute, symlinks resolved
  core::Ownership owner;
  // Set once a member's read failure has been logged: one line per member.
  std::unique_ptr<std::atomic<bool>[]> read_error_logged;
  // Set once a problem with a member's xattrs has been logged.
  std::unique_ptr<std::atomic<bool>[]> xattr_note_logged;
  std::string mountpoint;  // absolute
  dev_t device = 0;        // the mount's, for its readahead (Session::device)
  std::once_flag readahead_raised;
};

// The operations table; every handler replies exactly once and lets no
// exception escape into libfuse.
const fuse_lowlevel_ops& Operations();

}  // namespace npzfs::fs

#endif  // NPZFS_FS_OPS_H_
