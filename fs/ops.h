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

#include "core/mount/dataset.h"
#include "core/mount/mounted_archive.h"
#include "core/view/attributes.h"

namespace npzfs::fs {

// What the handlers say about one archive, for as long as the mount
// lives: its name, and which of its members' problems were logged.
struct ArchiveLog {
  std::string archive_path;  // absolute, symlinks resolved; a URL without secrets
  std::once_flag sized;
  // Set once a member's read failure has been logged: one line per member.
  std::unique_ptr<std::atomic<bool>[]> read_error_logged;
  // Set once a problem with a member's xattrs has been logged.
  std::unique_ptr<std::atomic<bool>[]> xattr_note_logged;
  std::atomic<bool> open_failure_logged{false};

  // Sizes the flags for `members` (once; an archive reopened has the same).
  void Size(size_t members);
};

// Everything the handlers need; the session's userdata. Either one
// archive (`single`) or many (`dataset`, each opened when first used).
// The archives are immutable but for their content, which is internally
// locked. Safe to share among the session's threads.
struct Filesystem {
  // A mount of one archive.
  explicit Filesystem(const core::MountedArchive& m, std::string archive_path);
  // A mount of many.
  explicit Filesystem(core::Dataset& d);

  const core::MountedArchive* single = nullptr;
  core::Dataset* dataset = nullptr;
  std::vector<std::unique_ptr<ArchiveLog>> logs;  // by archive (one for `single`)
  // The source the mount table shows.
  std::string shown_source;
  core::Ownership owner;
  std::string mountpoint;  // absolute
  dev_t device = 0;        // the mount's, for its readahead (Session::device)
  std::once_flag readahead_raised;
  bool no_opendir = false;  // the kernel opens directories by itself (set at init)
};

// The operations table; every handler replies exactly once and lets no
// exception escape into libfuse.
const fuse_lowlevel_ops& Operations();

}  // namespace npzfs::fs

#endif  // NPZFS_FS_OPS_H_
