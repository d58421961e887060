// Python's repr() of a parsed header value (CPython 3.11's rules), for the
// descr_repr the header exposes and for quoting values in messages.
//
// Internal to core/npy/: other layers use core/npy/header.h.
#ifndef NPZFS_CORE_NPY_PY_REPR_H_
#define NPZFS_CORE_NPY_PY_REPR_H_

#include <string>
#include <string_view>

#include "core/npy/py_value.h"

namespace npzfs::core {

// repr(v): str as CPython's unicode_repr writes it (quote choice, escapes
// for what is not printable), ints in decimal, containers with ", " and a
// 1-tuple's trailing comma. Unassigned code points count as printable
// (CPython escapes them).
std::string Repr(const PyValue& v);

// repr(v) short enough to quote in an error message: past 100 bytes it is
// cut (before any UTF-8 sequence the cut would split) and ends in "...".
std::string ShortRepr(const PyValue& v);

// A str's text (not its repr) as UTF-8.
std::string ToUtf8(std::u32string_view s);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_NPY_PY_REPR_H_
