// What the mount says of each node: its stat, its extended attributes, and
// whether opening it must check its member first. The policy of README's
// "What the mount shows" and "Extended attributes", free of FUSE so that
// unit tests reach it.
#ifndef NPZFS_CORE_VIEW_ATTRIBUTES_H_
#define NPZFS_CORE_VIEW_ATTRIBUTES_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/result.h"
#include "core/npy/header_scan.h"
#include "core/view/dataset_tree.h"
#include "core/view/tree.h"
#include "core/view/xattrs.h"

namespace npzfs::core {

// The longest name a directory can hold (NAME_MAX): a longer lookup is
// ENAMETOOLONG, whatever the archive.
inline constexpr size_t kNameMax = 255;

// st_blksize: larger reads spread each request's fixed cost over more
// bytes, and sequential reads of large arrays are the common case.
inline constexpr blksize_t kBlockSize = 128 << 10;

// Who owns every node, and the permission bits taken away (-o uid=, gid=,
// umask=).
struct Ownership {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t umask = 0;
};

// Files r--r--r--, directories r-xr-xr-x, less the umask; exact sizes;
// the node's mtime (and nanoseconds) as all three times; inode numbers
// from the tree. Pure.
struct stat StatOf(const Tree& tree, const Node& n, const Ownership& owner);

// A node of a mount of many archives: a directory r-xr-xr-x less the
// umask; an archive's directory has nlink 1 (its subdirectories are not
// known before it is opened: `find` then counts on nothing) and the
// archive file's mtime; the others nlink 2 + their subdirectories. Pure.
struct stat StatOf(const DatasetTree& tree, const DatasetNode& n, const Ownership& owner);

// Whether opening `n` must read its member first: a read of an empty file
// never reaches the daemon, so a member that fails to decode (a bad stream
// or CRC with no bytes to show) must fail its open instead.
inline bool CheckedAtOpen(const Node& n) { return n.kind != NodeKind::kDir && n.size == 0; }

// What a node's extended attributes are. The npy ones are read again from
// the member (a few KiB at most) rather than kept for every member.
struct NodeXattrs {
  Xattrs values;
  // Names left out because their value is over kMaxXattrValue.
  std::vector<std::string> dropped;
  // Why the npy ones are missing when the header could not be read again.
  std::optional<Error> header_error;
};

// The root's (archive_path: absolute) and every member's; `with_npy`
// false leaves out the user.npy.* ones, which need the header read.
NodeXattrs XattrsOf(const Archive& archive, const std::vector<ArrayInfo>& arrays, const Tree& tree,
                    const Node& n, std::string_view archive_path, bool with_npy);

// Whether listing `n`'s names needs its header read again: not when the
// header is under 16 KiB, which cannot produce a value over the 64 KiB
// limit (a byte of header text is at most 4 bytes of repr), so that its
// names are known without reading it.
bool ListNeedsHeader(const std::vector<ArrayInfo>& arrays, const Node& n);

// The names listxattr gives: those of `x`, each followed by a NUL, and the
// user.npy.* names when `npy_names` (a header that was not read because
// its names are known).
std::string XattrNameList(const NodeXattrs& x, bool npy_names);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_VIEW_ATTRIBUTES_H_
