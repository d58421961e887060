// Reading the npy headers of an archive's members: one at a time, and all
// of them at mount time.
#ifndef NPZFS_CORE_NPY_HEADER_SCAN_H_
#define NPZFS_CORE_NPY_HEADER_SCAN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/archive.h"
#include "core/base/notes.h"
#include "core/base/result.h"
#include "core/npy/header.h"

namespace npzfs::core {

// numpy's rule: a member is an array when its name ends in ".npy".
bool IsNpyName(std::string_view name);

// The npz key of a member: its name without ".npy", as np.load().files
// lists it; other names unchanged.
std::string NpzKey(std::string_view name);

// npy headers larger than this are not read (a v2.0 header is at most
// 4 GiB; numpy itself refuses more than 10,000 characters by default).
inline constexpr uint64_t kMaxNpyHeaderBytes = 1 << 20;

// A member's npy header as far as the tree and the xattrs need it.
struct ArrayInfo {
  bool header_ok = false;  // a .npy member whose header numpy would accept
  // A valid header, no Python objects in the dtype, and at least
  // shape x itemsize bytes after the header: the raw view can serve it.
  bool mappable = false;
  uint64_t data_offset = 0;  // the header's size, when header_ok
};

// The npy header of member i, decompressing only as much of the member as
// the header takes. Errors: those of Archive::OpenReader and
// ParseNpyHeader; kCorrupt when the header runs past the member's end;
// kUnsupported for a header over kMaxNpyHeaderBytes. Thread-safe.
Result<NpyHeader> ReadNpyHeader(const Archive& archive, size_t i);

// What the headers of the .npy members say, read once at mount time:
// element i for member i. `notes` gets one line per .npy member that gets
// no raw file, saying why.
std::vector<ArrayInfo> ScanArrays(const Archive& archive, Notes& notes);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_NPY_HEADER_SCAN_H_
