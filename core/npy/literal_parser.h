// The Python literal of an npy header, parsed as ast.literal_eval would
// (FORMAT.md §1.3: numpy 1.24 reads the header with it, after
// _filter_header has dropped Python 2 'L' suffixes in v1.0/v2.0).
//
// Internal to core/npy/: other layers use core/npy/header.h.
#ifndef NPZFS_CORE_NPY_LITERAL_PARSER_H_
#define NPZFS_CORE_NPY_LITERAL_PARSER_H_

#include <cstdint>
#include <string_view>

#include "core/base/result.h"
#include "core/npy/py_value.h"

namespace npzfs::core {

// How header text encodes code points: v1.0/v2.0 latin-1, v3.0 UTF-8.
enum class Encoding { kLatin1, kUtf8 };

// Parses `text`, the raw header bytes, as one Python literal expression:
// optional blank and comment lines, one value, trailing space. The grammar
// is the part of ast.literal_eval's that a header can hold: str (all quote
// forms, u/r prefixes, escapes, adjacent literals), int (decimal, 0x/0o/0b,
// '_', one unary sign), True/False/None, tuple, list and dict, with
// comments and line continuations; a repeated dict key keeps its last
// value. Everything else (floats, bytes and f-strings, sets, names,
// operators, non-str dict keys, ints beyond int64, nesting deeper than 64)
// is kCorrupt; \N{name} escapes are kUnsupported.
//
// `text` must be valid in `encoding`, which the caller checks (header.cc
// also refuses NUL bytes, as Python does). `base` is the offset of text[0]
// in the .npy: every position, in the values and in messages, counts from
// the start of the .npy. `strip_long_suffix`: drop a Python 2 'L' after an
// int (v1.0/v2.0). Pure; thread-safe.
Result<PyValue> ParseLiteral(std::string_view text, Encoding encoding, uint64_t base,
                             bool strip_long_suffix);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_NPY_LITERAL_PARSER_H_
