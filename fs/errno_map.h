// The one table from core errors to errno values at the FUSE edge.
#ifndef NPZFS_FS_ERRNO_MAP_H_
#define NPZFS_FS_ERRNO_MAP_H_

#include "core/base/result.h"

namespace npzfs::fs {

// kNotFound -> ENOENT, kCorrupt -> EIO, kUnsupported -> ENOTSUP,
// kInvalidArgument -> EINVAL, kIo -> its errno (EIO when it has none).
int ToErrno(const core::Error& error);

}  // namespace npzfs::fs

#endif  // NPZFS_FS_ERRNO_MAP_H_
