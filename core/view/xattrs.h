// The extended attributes (README, "Extended attributes"), as ordered
// (name, value) lists.
// Pure functions: safe from any thread.
#ifndef NPZFS_CORE_VIEW_XATTRS_H_
#define NPZFS_CORE_VIEW_XATTRS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/archive/zip_index.h"
#include "core/npy/header.h"

namespace npzfs::core {

using Xattrs = std::vector<std::pair<std::string, std::string>>;

// The user.npy.* names, in the order MemberXattrs gives them.
inline constexpr const char* kNpyXattrNames[] = {
    "user.npy.descr",   "user.npy.shape",       "user.npy.fortran_order",
    "user.npy.version", "user.npy.data_offset", "user.npy.header",
};

// Linux's limit on one xattr value (XATTR_SIZE_MAX).
inline constexpr size_t kMaxXattrValue = 65536;

// user.zip.* of every member, then user.npy.* when `header` is a valid
// header. A value over kMaxXattrValue is left out and named in `dropped`.
Xattrs MemberXattrs(const ZipEntry& e, const NpyHeader* header,
                    std::vector<std::string>* dropped = nullptr);

// user.npz.* of the mount root.
Xattrs RootXattrs(const std::string& archive_abs_path, uint64_t member_count);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_VIEW_XATTRS_H_
