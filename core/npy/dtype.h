// The dtype an npy header's descr names, checked as numpy 1.24's
// descr_to_dtype and np.dtype would (FORMAT.md §1.3), and its itemsize.
//
// Internal to core/npy/: other layers use core/npy/header.h.
#ifndef NPZFS_CORE_NPY_DTYPE_H_
#define NPZFS_CORE_NPY_DTYPE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "core/base/result.h"
#include "core/npy/py_value.h"

namespace npzfs::core {

// numpy sizes are npy_intp: products beyond this overflow numpy's own checks.
inline constexpr uint64_t kMaxIntp = std::numeric_limits<int64_t>::max();

// a * b, or nullopt when the product exceeds kMaxIntp.
inline std::optional<uint64_t> CheckedMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > kMaxIntp / a) return std::nullopt;
  return a * b;
}

// What the checks need to know of a dtype.
struct DtypeInfo {
  uint64_t itemsize = 0;
  bool has_object = false;
  // numpy's padding test: dt.type is np.void and dt.names is None
  // ('|V3', or any subarray dtype).
  bool plain_void = false;
};

// A non-negative int as numpy spells sizes in typestrs and repr() writes
// it: decimal digits, no sign, no leading zero, no '_'. nullopt for
// anything else and for a value above `max`.
std::optional<uint64_t> ParseDecimal(std::string_view s, uint64_t max);

// A typestr as numpy writes it: an optional byte order ('<', '>', '|',
// '='), a kind and the size ("<f8", "|S5", "<U7", "<M8[ns]", "|O"; also
// "<f12", "<c24", "|O8"). nullopt for anything else (np.dtype may still
// know it: 'float32', '<f').
std::optional<DtypeInfo> ParseTypestr(std::string_view s);

// numpy's descr_to_dtype on the header's descr: a typestr (ASCII), or a
// structured list of (name, format[, shape]) fields, where a name may be a
// (title, name) pair of strs, a format may be a typestr, a nested list or
// a (format, shape) subarray, and ('', '|V<n>') fields are padding. The
// itemsize is the sum of the fields', each size checked against kMaxIntp.
// kUnsupported: a typestr outside numpy's own spelling, a top-level
// (base, shape) (numpy cannot load such a file), a dict descr, non-str
// titles and (base, dtype) unions. kCorrupt: anything else that is not a
// dtype (duplicate field names, bad shapes, overflow). Errors name the
// value's byte offset.
Result<DtypeInfo> CheckDescr(const PyValue& descr);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_NPY_DTYPE_H_
