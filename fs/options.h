// The npzfs command line: ARCHIVE MOUNTPOINT, npzfs's own -o options, and
// whatever libfuse's session takes.
#ifndef NPZFS_FS_OPTIONS_H_
#define NPZFS_FS_OPTIONS_H_

#include <fuse_lowlevel.h>
#include <spdlog/common.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/read/disk_cache.h"
#include "core/read/index_store.h"
#include "core/read/options.h"
#include "core/remote/open_remote.h"
#include "core/view/tree.h"

namespace npzfs::fs {

struct Options {
  std::string archive;                // as given: the first of `archives`
  std::vector<std::string> archives;  // every name before the mountpoint
  std::string mountpoint;             // as given
  size_t max_open = 8;                // many archives: how many are kept open
  core::ContentOptions content;
  core::DiskCacheOptions disk_cache;  // size 0: none
  core::IndexOptions index;
  core::TreeOptions tree;
  core::RemoteSettings remote;  // for a URL
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  mode_t umask = 0;
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::string log_file;
  bool fsname_given = false;  // -o fsname= on the command line
  // From libfuse's own command line parsing.
  bool foreground = false;
  bool debug = false;
  bool single_thread = false;
  bool show_help = false;
  bool show_version = false;
  bool clone_fd = false;
  unsigned max_threads = 10;
};

// Parses argv. On success, `session_args` holds the arguments for
// fuse_session_new (generic mount options, with ro, default_permissions
// and subtype=npzfs added, fsname added by AddFsname); the caller frees it
// with fuse_opt_free_args.
// Errors (kInvalidArgument) carry one line for the user.
core::Result<Options> ParseOptions(int argc, char** argv, fuse_args* session_args);

// Adds fsname=`archive` (the mount table's source: the archive's absolute
// path, once it is known to be one) to `session_args`, unless the command
// line gave an fsname.
void AddFsname(const Options& options, const std::string& archive, fuse_args* session_args);

// "256M" -> 268435456. K, M, G, T suffixes (powers of 1024), optional B/iB.
core::Result<uint64_t> ParseSize(const std::string& text);

// The usage text for -h.
std::string UsageText(const char* program);

}  // namespace npzfs::fs

#endif  // NPZFS_FS_OPTIONS_H_
