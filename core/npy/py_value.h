// A value of the Python literal an npy header holds, as the literal parser
// builds it and the dtype and header checks read it; and the errors that
// point at one.
//
// Internal to core/npy/: other layers use core/npy/header.h.
#ifndef NPZFS_CORE_NPY_PY_VALUE_H_
#define NPZFS_CORE_NPY_PY_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace npzfs::core {

// One value of the literal, with the byte offset (from the start of the
// .npy) where it begins, for messages. A tree: a value owns its items.
struct PyValue {
  enum class Kind : uint8_t { kNone, kBool, kInt, kStr, kTuple, kList, kDict };

  Kind kind = Kind::kNone;
  bool boolean = false;
  bool is_signed = false;  // kInt written with a unary + or -
  int64_t integer = 0;
  uint64_t pos = 0;
  std::u32string str;
  // kTuple, kList: the elements. kDict: key, value, key, value, ...
  std::vector<PyValue> items;
};

// kCorrupt "npy header: <what> at byte <pos>", pos counted from the start
// of the .npy (a PyValue's pos).
inline Error CorruptAt(uint64_t pos, std::string_view what) {
  return Corrupt("npy header: " + std::string(what) + " at byte " + std::to_string(pos));
}

// The same for what numpy may load but npzfs does not model (kUnsupported).
inline Error UnsupportedAt(uint64_t pos, std::string_view what) {
  return Unsupported("npy header: " + std::string(what) + " at byte " + std::to_string(pos));
}

}  // namespace npzfs::core

#endif  // NPZFS_CORE_NPY_PY_VALUE_H_
