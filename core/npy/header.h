// Parsing and validation of the .npy header (numpy/lib/format.py).
//
// Pure functions of a byte span: no I/O, no global state, safe from any
// thread. Bounded: work and memory are linear in the input size, nesting is
// limited, and every size computation is overflow-checked. A malformed or
// hostile header yields an Error with code kCorrupt (or kUnsupported for a
// well-formed header numpy itself could not load, e.g. an unknown dtype
// kind) whose message says what is wrong and at which byte.
#ifndef NPZFS_CORE_NPY_HEADER_H_
#define NPZFS_CORE_NPY_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace npzfs::core {

inline constexpr size_t kNpyMagicSize = 6;       // "\x93NUMPY"
inline constexpr size_t kNpyMinPrefixSize = 10;  // magic, version, 2-byte len
inline constexpr size_t kNpyMaxPrefixSize = 12;  // v2.0/3.0: 4-byte len

// The fixed part of a .npy file: magic, version and header length.
struct NpyPrefix {
  uint8_t major = 0;
  uint8_t minor = 0;
  uint32_t header_len = 0;   // HEADER_LEN: bytes of header text, padding, \n
  uint64_t data_offset = 0;  // prefix size + header_len
};

// Parses the prefix. Needs at least kNpyMaxPrefixSize bytes for v2/v3 and
// kNpyMinPrefixSize for v1 (fewer -> kCorrupt "truncated"). Accepts exactly
// versions 1.0, 2.0 and 3.0, as numpy does.
Result<NpyPrefix> ParseNpyPrefix(std::span<const std::byte> bytes);

// True when `bytes` starts with the 6-byte npy magic.
bool HasNpyMagic(std::span<const std::byte> bytes);

struct NpyHeader {
  uint8_t major = 0;
  uint8_t minor = 0;
  uint64_t data_offset = 0;  // bytes from the start of the .npy to the data

  // The parsed values in numpy's own notation, so that np.dtype() or
  // ast.literal_eval() take them as they are. descr_repr: a plain typestr as
  // the bare string ("<f4", "|S5", "<M8[ns]"); a structured descr as Python's
  // repr() of the parsed list ("[('x', '<f4'), ('label', '<i4', (3,))]").
  // shape_repr: Python's repr() of the tuple ("(3, 4)", "(3,)", "()").
  std::string descr_repr;
  std::string shape_repr;
  bool fortran_order = false;

  std::vector<uint64_t> shape;
  uint64_t element_count = 1;  // product of shape; 1 for ()
  uint64_t itemsize = 0;       // bytes per element (sum of fields)
  bool has_object = false;     // the dtype holds Python objects ('O')
  // element_count * itemsize, overflow-checked; nullopt when has_object
  // (the payload is a pickle, its length is not derivable).
  std::optional<uint64_t> data_size;

  // The header dict exactly as stored, without the trailing padding
  // (spaces) and newline, converted to UTF-8 (v1.0/v2.0 are latin-1).
  std::string header_text;
};

// Parses and validates a whole header. `bytes` starts at the magic and must
// hold at least data_offset bytes (it may hold more: the data that follows
// is ignored). Accepts what numpy 1.24's read_array_header accepts: any
// Python-literal layout of the dict (key order, ' or " quotes, trailing
// comma, whitespace, Python 2 'L' suffixes on ints in v1.0/v2.0), descr in
// every form (typestr, structured list of tuples, nested, subarray shapes,
// (title, name) pairs, '' padding fields). Rejects negative or overflowing
// shapes, shape x itemsize overflow, and header text that is not valid
// latin-1/UTF-8 for its version.
//
// Details, each checked against numpy 1.24:
// - The padding and final '\n' are optional (numpy does not require them).
// - The literal grammar is ast.literal_eval's for str (all quote forms,
//   u/r prefixes, escapes, adjacent literals), int (decimal, 0x/0o/0b, '_',
//   one unary sign), True/False/None, tuple, list and dict, with comments
//   and line continuations. Floats, bytes, sets, names and operators are
//   kCorrupt. Ints beyond +-(2**63 - 1) are kCorrupt. A repeated dict key
//   keeps its last value, as in Python. Nesting deeper than 64 is kCorrupt.
// - Sizes (element count, itemsizes, data size) must fit in int64, numpy's
//   npy_intp; a 0 dimension does not excuse the others from that check.
// - kUnsupported: a typestr outside numpy's own spelling ('float32', '<f'),
//   a top-level (base, shape) descr (numpy cannot load such a file), a dict
//   descr, non-str field titles, (base, dtype) union forms, and \N{name}
//   escapes. '<f12' and '<c24' (32-bit x86 long double) are accepted.
// - descr_repr follows CPython's repr(), except that unassigned code points
//   are treated as printable (CPython escapes them).
// Error messages name the problem and its byte offset from the start of the
// .npy: "npy header: expected ':' after key, found ',' at byte 18".
// Memory: the parse tree takes up to ~50 bytes per header byte, so callers
// reading untrusted archives should bound header_len before reading it.
Result<NpyHeader> ParseNpyHeader(std::span<const std::byte> bytes);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_NPY_HEADER_H_
