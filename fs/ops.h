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

#include "core/archive/archive.h"
#include "core/npy/header_scan.h"
#include "core/read/content.h"
#include "core/view/tree.h"

namespace npzfs::fs {

// Everything the handlers need; the session's userdata. The archive, the
// tree and the array infos are immutable; Content is internally locked.
// Safe to share among the session's threads.
struct Filesystem {
  Filesystem(const core::Archive& a, const core::Tree& t, const std::vector<core::ArrayInfo>& x,
             core::Content& c)
      : archive(a),
        tree(t),
        arrays(x),
        content(c),
        read_error_logged(std::make_unique<std::atomic<bool>[]>(a.entries().size())),
        xattr_note_logged(std::make_unique<std::atomic<bool>[]>(a.entries().size())) {}

  const core::Archive& archive;
  const core::Tree& tree;
  const std::vector<core::ArrayInfo>& arrays;
  core::Content& content;
  std::string archive_path;  // absolute, symlinks resolved
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t umask = 0;
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
