#!/usr/bin/python3
"""Writes npy_header_cases.inc: .npy header cases checked against numpy.

Run with a Python that has numpy 1.24 (Debian 12: /usr/bin/python3):

    /usr/bin/python3 tests/core/npy/npy_header_cases.py > tests/core/npy/npy_header_cases.inc

The test npy_header_cases_up_to_date (npy_header_cases_test.cmake) fails
when the committed .inc is not what this script writes.

Three tables for tests/core/npy/header_test.cc:

- kNumpyWritten: prefix and header exactly as numpy's write_array wrote them,
  with what numpy reads back (descr repr, shape, itemsize, hasobject).
- kValidCases: hand-written header dicts that numpy's _read_array_header
  accepts and that make a loadable array, with what numpy reads back.
- kInvalidCases: header dicts numpy refuses (or, for the kUnsupported ones,
  that npzfs does not model), each with the message substring npzfs gives.

The script fails if numpy disagrees with a case's premise, so the tables
cannot drift from numpy's behaviour.
"""

import ast
import io
import sys
import warnings

import numpy as np
from numpy.lib import format as npformat

warnings.simplefilter("ignore")

HEADER_VERSIONS = {1: (1, 0), 2: (2, 0), 3: (3, 0)}


def cpp_bytes(data):
    """A C++ std::string_view literal holding exactly `data` (NULs too)."""
    out = []
    for b in data:
        c = chr(b)
        if c in '\\"':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        elif c == "\n":
            out.append("\\n")
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"sv'


def encode(text, major):
    return text.encode("utf-8" if major == 3 else "latin-1")


def read_header(header_bytes, major):
    """numpy's own header parse: (shape, fortran_order, dtype)."""
    return npformat._read_array_header(io.BytesIO(header_bytes),
                                       HEADER_VERSIONS[major],
                                       max_header_size=1 << 30)


def length_field(header_bytes, major):
    n = len(header_bytes)
    return n.to_bytes(2 if major == 1 else 4, "little")


def numpy_rejects(header_bytes, major):
    """Where numpy fails on this header: 'header', 'array', or None."""
    try:
        shape, fortran, dtype = read_header(
            length_field(header_bytes, major) + header_bytes, major)
    except Exception:  # ValueError, TypeError, SyntaxError, ...
        return "header"
    if dtype.hasobject:
        return None  # the payload would be a pickle
    count = 1
    for d in shape:
        count *= d
    try:
        if 0 <= count * dtype.itemsize < (1 << 24) and min(shape,
                                                             default=0) >= 0:
            npy = (b"\x93NUMPY" + bytes(HEADER_VERSIONS[major]) +
                   length_field(header_bytes, major) + header_bytes +
                   bytes(count * dtype.itemsize))
            np.load(io.BytesIO(npy))
        else:
            np.empty(shape, dtype)  # numpy's size checks, before allocating
    except Exception:
        return "array"
    return None


def descr_of_header(text):
    return ast.literal_eval(text)["descr"]


def expected_descr_repr(descr):
    return descr if isinstance(descr, str) else repr(descr)


def numpy_written():
    arrays = [
        ("f8_c", np.zeros((3, 4))),
        ("f4_fortran", np.asfortranarray(np.zeros((2, 3), "<f4"))),
        ("f8_0d", np.zeros(())),
        ("i2_be_empty", np.zeros((0,), ">i2")),
        ("u1_3x0", np.zeros((3, 0), "|u1")),
        ("big_1d", np.zeros((1000,), "<i8")),
    ]
    kinds = ["?", "i1", "<i2", "<i4", "<i8", "u1", "<u2", "<u4", "<u8",
             "<f2", "<f4", "<f8", "<f16", "<c8", "<c16", "<c32",
             "<M8[ns]", "<m8[s]", "S5", "<U7", "V8", ">f8", ">i4", ">U7",
             ">c16", ">M8[us]"]
    for k in kinds:
        arrays.append(("dtype_" + np.dtype(k).str, np.zeros((5,), k)))
    arrays.append(("object", np.array([1, "a", None], dtype=object)))
    structs = {
        "struct_subarray": [("x", "<f4"), ("y", "<i4", (2, 3))],
        "struct_nested": [("a", [("b", "<f2"), ("c", "|u1")]), ("d", ">f8")],
        "struct_title": {"names": ["n"], "formats": ["<f8"],
                         "titles": ["title"]},
        "struct_padding": {"names": ["a", "b"], "formats": ["u1", "<i4"],
                           "offsets": [0, 4]},
        "struct_aligned": np.dtype([("a", "u1"), ("b", "<f8")], align=True),
        "struct_object": [("o", "O"), ("x", "<f4")],
        "struct_latin1_name": [("\xe9", "<f4")],
        "struct_utf8_name": [("\u6e29\u5ea6", "<f4")],
        "struct_quote_name": [("it's", "<u2"), ('say "hi"', "|b1")],
        "struct_nested_subarray": [("p", [("q", "<i2", (2,))], (3,))],
    }
    for name, dt in structs.items():
        arrays.append((name, np.zeros((2,), np.dtype(dt))))
    cases = []
    for name, a in arrays:
        cases.append((name, a, None))
    cases.append(("v2_f8", np.zeros((3, 4)), (2, 0)))
    cases.append(("v3_f8", np.zeros((3, 4)), (3, 0)))
    out = []
    for name, a, version in cases:
        buf = io.BytesIO()
        npformat.write_array(buf, a, version=version)
        data = buf.getvalue()
        major = data[6]
        prefix = 10 if major == 1 else 12
        hlen = int.from_bytes(data[8:prefix], "little")
        header = data[:prefix + hlen]
        assert (prefix + hlen) % 64 == 0
        text = data[prefix:prefix + hlen].decode(
            "utf-8" if major == 3 else "latin-1")
        shape, fortran, dtype = read_header(data[8:prefix + hlen], major)
        descr = descr_of_header(text)
        out.append((name, header, repr(descr), fortran, list(shape),
                    expected_descr_repr(descr), repr(tuple(shape)),
                    dtype.itemsize, dtype.hasobject, major))
    return out


# Hand-written dicts numpy accepts. (major, dict text)
VALID = [
    (1, "{'descr': '=i4', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|i1', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '>b1', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|O8', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|O4', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': 'O', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|a5', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|S0', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '<U0', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|V0', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|S', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '<M8', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '<M8[25s]', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '<M8[025s]', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '<m8[generic]', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '|M8[Y]', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '<M8[as]', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': 'f8', 'fortran_order': False, 'shape': (3,)}"),
    # Layout: quotes, key order, commas, whitespace, comments, grouping.
    (1, '{"descr": "<f8", "fortran_order": False, "shape": (3, 4)}'),
    (1, "{'shape': (3, 4), 'fortran_order': True, 'descr': '<f8'}"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4),}"),
    (1, "{'descr':'<f8','fortran_order':False,'shape':(3,4)}"),
    (1, "{\n  'descr': '<f8',\n\t'fortran_order': False,\r\n"
        "  'shape': (\n    3,\n    4,\n  ),\n}"),
    (1, "  {'descr': '<f8', 'fortran_order': False, 'shape': (3,)}"),
    (1, "\n\n{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}"),
    (1, "\n  # a comment\n{'descr': '<f8', 'fortran_order': False, "
        "'shape': (3,)}  # another"),
    (1, "{'descr': '<f8', # why not\n 'fortran_order': False, "
        "'shape': (3,)}"),
    (1, "{'descr': '<f8', \\\n'fortran_order': False, 'shape': (3,)}"),
    (1, "\f{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}\f"),
    (1, "({'descr': ('<f8'), 'fortran_order': (False), 'shape': ((3),)})"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': ()}"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': ( )}"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0,)}"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 0)}"),
    # Repeated key: the last value wins, as in a Python dict display.
    (1, "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), "
        "'descr': '<f8'}"),
    # Python 2 longs, hex/octal/binary, underscores, signs.
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4L)}"),
    (2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4 L,)}"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0x10L,)}"),
    (1, "{'descr': '<f8', 'fortran_order': False, "
        "'shape': (0x1F, 0o17, 0b101, 0X_a, 1_000)}"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (+3, -0, 00)}"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (+ (3),)}"),
    # Strings: prefixes, escapes, concatenation, triple quotes.
    (1, "{'descr': u'<f8', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': R'<f8', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '<' 'f' \"8\", 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '''<f8''', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '\\x3cf\\u0038', 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': '\\74\\U00000066\\\n8', 'fortran_order': False, "
        "'shape': (3,)}"),
    # Structured descrs in every form numpy reads.
    (1, "{'descr': [], 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('x', '<f4'), ('y', '<i4', (2, 3))], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('x', '<f4', 2), ('y', '<i4', [2, 3]), ('z', '<f8', ()),"
        " ('w', '<u2', 1), ('v', '<u2', (0,))], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [['x', '<f4'], ['y', '<i4', (2,)]], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('x', ('<f4', (2,))), ('y', ('<i4', (2,)), (3,))], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [(('the title', 'n'), '<f8'), (('t2', 'm'), '|u1')], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('', '|V3'), ('a', '<f4'), ('', '|V3'), ('', '|V1', (2,))],"
        " 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('', '<f4')], 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('', '<f4', (2,)), ('', ('<i4', (2,)))], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('a', [('b', [('c', [('d', '<f8', (2,))])])])], "
        "'fortran_order': True, 'shape': (2, 3)}"),
    (1, "{'descr': [('o', '|O'), ('s', [('p', '|O8', (2,))])], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [(\"it's\", '<f4'), ('say \"hi\"', '<f4'), "
        "('both \\' \"', '<f4'), ('back\\\\slash', '<f4')], "
        "'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('tab\\there', '<f4'), ('nl\\n', '<f4'), "
        "('ctl\\x01\\x7f\\x85\\xa0\\xad', '<f4'), ('\\xe9\\xff', '<f4')], "
        "'fortran_order': False, 'shape': (3,)}"),
    (3, "{'descr': [('\\u2028\\ud800\\U0001f600\\ue000\\ufeff', '<f4'), "
        "('\u6e29\u5ea6', '<f4')], 'fortran_order': False, 'shape': (3,)}"),
    (1, "{'descr': [('\xe9', '<f4')], 'fortran_order': False, 'shape': (3,)}"),
]

# Dicts npzfs refuses: (major, dict text, code, message substring, where
# numpy fails: 'header', 'array', or None when numpy loads the header).
INVALID = [
    (1, "", "kCorrupt", "expected a value", "header"),
    (1, "   ", "kCorrupt", "expected a value", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False}", "kCorrupt",
     "missing key 'shape'", "header"),
    (1, "{'fortran_order': False, 'shape': (3,)}", "kCorrupt",
     "missing key 'descr'", "header"),
    (1, "{'descr': '<f8', 'shape': (3,)}", "kCorrupt",
     "missing key 'fortran_order'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
     "kCorrupt", "unexpected key 'x'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 1: 2}",
     "kCorrupt", "dict key 1 is not a str", "header"),
    (1, "{}", "kCorrupt", "missing key", "header"),
    (1, "['descr', 'fortran_order', 'shape']", "kCorrupt",
     "header is not a dict", "header"),
    (1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}", "kCorrupt",
     "fortran_order 0 is not a bool", "header"),
    (1, "{'descr': '<f8', 'fortran_order': 1, 'shape': (3,)}", "kCorrupt",
     "fortran_order 1 is not a bool", "header"),
    (1, "{'descr': '<f8', 'fortran_order': None, 'shape': (3,)}", "kCorrupt",
     "fortran_order None is not a bool", "header"),
    (1, "{'descr': '<f8', 'fortran_order': 'False', 'shape': (3,)}",
     "kCorrupt", "is not a bool", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': [3, 4]}",
     "kCorrupt", "shape [3, 4] is not a tuple of ints", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': 3}", "kCorrupt",
     "shape 3 is not a tuple of ints", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': ('3',)}",
     "kCorrupt", "shape entry '3' is not an int", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (True, 2)}",
     "kCorrupt", "shape entry True is not an int", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (None,)}",
     "kCorrupt", "shape entry None is not an int", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': ((3,),)}",
     "kCorrupt", "shape entry (3,) is not an int", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1)}",
     "kCorrupt", "negative dimension -1 in shape", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-(3),)}",
     "kCorrupt", "negative dimension -3", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, "
        "'shape': (9223372036854775808,)}",
     "kCorrupt", "int literal does not fit in int64", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, "
        "'shape': (-9223372036854775808,)}",
     "kCorrupt", "int literal does not fit in int64", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, "
        "'shape': (4611686018427387904, 4611686018427387904)}",
     "kCorrupt", "element count of shape", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, "
        "'shape': (3000000000, 3000000000, 3000000000, 0)}",
     "kCorrupt", "element count of shape", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, "
        "'shape': (2305843009213693952,)}",
     "kCorrupt", "data size of shape (2305843009213693952,) with itemsize 8 "
     "overflows", "array"),
    (1, "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (3000000000, 3000000000, 0)}",
     "kCorrupt", "data size of shape", "array"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3.0,)}",
     "kCorrupt", "float and complex literals are not allowed", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1e3,)}",
     "kCorrupt", "float and complex literals are not allowed", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (.5,)}",
     "kCorrupt", "float literals are not allowed", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3j,)}",
     "kCorrupt", "float and complex literals are not allowed", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (03,)}",
     "kCorrupt", "leading zeros", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1__0,)}",
     "kCorrupt", "invalid int literal", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0b12,)}",
     "kCorrupt", "invalid int literal", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0x,)}",
     "kCorrupt", "invalid int literal", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3_,)}",
     "kCorrupt", "invalid int literal", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (--3,)}",
     "kCorrupt", "unary '-' applied to something other than a number",
     "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-(-3),)}",
     "kCorrupt", "unary '-'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-True,)}",
     "kCorrupt", "unary '-'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2**62,)}",
     "kCorrupt", "found '*'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3l,)}",
     "kCorrupt", "invalid int literal", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3Lx,)}",
     "kCorrupt", "invalid int literal", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)L}",
     "kCorrupt", "expected ',' or '}' to close the '{' at byte 10, "
     "found 'L' at byte 64", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3\nL,)}",
     "kCorrupt", "found 'L'", "header"),
    (3, "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,)}",
     "kCorrupt", "invalid int literal", "header"),
    (1, "{'descr': '<f8', 'fortran_order': false, 'shape': (3,)}",
     "kCorrupt", "unexpected name 'false'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': Trueish, 'shape': (3,)}",
     "kCorrupt", "unexpected name 'Trueish'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': not True, 'shape': (3,)}",
     "kCorrupt", "unexpected name 'not'", "header"),
    # '<f8' 'fortran_order' is one string; then comes a ':'.
    (1, "{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "expected ',' or '}' to close the '{' at byte 10, "
     "found ':' at byte 41", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)",
     "kCorrupt", "expected ',' or '}' to close the '{' at byte 10", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,}",
     "kCorrupt", "expected a value or ')' to close the '(' at byte 60, "
     "found '}' at byte 63", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)]",
     "kCorrupt", "expected ',' or '}' to close the '{' at byte 10, "
     "found ']' at byte 64", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,", "kCorrupt",
     "expected a value or ')' to close the '(' at byte 60, found the end",
     "header"),
    (1, "{'descr': [", "kCorrupt",
     "expected a value or ']' to close the '[' at byte 20", "header"),
    (1, "{'descr': ", "kCorrupt", "expected a value, found the end",
     "header"),
    (1, "{'descr': [('a', '<f8'), 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "expected ',' or ']' to close the '['", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}}",
     "kCorrupt", "unexpected '}' after the value", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}, 1",
     "kCorrupt", "unexpected ',' after the value", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,,)}",
     "kCorrupt", "unexpected ','", "header"),
    (1, "{'descr': '<f8',, 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "unexpected ','", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,) 'x': 1}",
     "kCorrupt", "expected ',' or '}'", "header"),
    (1, "{'descr': '<f8, 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "found 'f' at byte 27", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}'",
     "kCorrupt", "unexpected \"'\" after the value at byte 65", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} + 'x",
     "kCorrupt", "unexpected '+' after the value at byte 66", "header"),
    (1, "{'descr': '<f8\n', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "unterminated string at byte 20", "header"),
    (1, "{'descr': '''<f8', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "unterminated string", "header"),
    (1, "{'descr': '<f8\\", "kCorrupt", "unterminated string", "header"),
    # In a raw string \' keeps the quote from ending it.
    (1, "{'descr': r'<f8\\', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "found 'f' at byte 30", "header"),
    (1, "{'descr': r'<f8\\", "kCorrupt", "unterminated string at byte 20",
     "header"),
    (1, "{'descr': b'<f8', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "bytes literals are not allowed", "header"),
    (1, "{'descr': '<f8' b'', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "bytes literals are not allowed", "header"),
    (1, "{'descr': f'<f8', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "f-strings are not allowed", "header"),
    (1, "{'descr': ur'<f8', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "unexpected name 'ur'", "header"),
    (1, "{'descr': '<f\\x8', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "truncated \\x escape", "header"),
    (1, "{'descr': '<f\\u008', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "truncated \\u escape", "header"),
    (1, "{'descr': '<f\\U00110000', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "escape beyond U+10FFFF", "header"),
    (1, "\n  {'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "unexpected indent", "header"),
    (1, "\v{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "unexpected U+000B", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}\\",
     "kCorrupt", "unexpected '\\' after the value", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': {3}}",
     "kCorrupt", "expected ':' after key", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (*(3,),)}",
     "kCorrupt", "unexpected '*'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, **{'shape': (3,)}}",
     "kCorrupt", "unexpected '*'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (...,)}",
     "kCorrupt", "unexpected '.'", "header"),
    (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (\xe9,)}",
     "kCorrupt", "unexpected name '\xe9'", "header"),
    # descr
    (1, "{'descr': 3, 'fortran_order': False, 'shape': (3,)}", "kCorrupt",
     "descr 3 is not a valid dtype descriptor", "header"),
    (1, "{'descr': None, 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "descr None is not a valid dtype descriptor", "header"),
    (1, "{'descr': [('x',)], 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "struct field ('x',) is not (name, format[, shape])",
     "header"),
    (1, "{'descr': [('x', '<f4', (2,), 1)], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "is not (name, format[, shape])",
     "header"),
    (1, "{'descr': ['<f4'], 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "struct field '<f4' is not", "header"),
    (1, "{'descr': [(3, '<f4')], 'fortran_order': False, 'shape': (3,)}",
     "kCorrupt", "field name 3 is not a str", "header"),
    (1, "{'descr': [(('a', 3), '<f4')], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "field name ('a', 3) is not a str",
     "header"),
    (1, "{'descr': [(('a', 'b', 'c'), '<f4')], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "is not a str or a (title, name) pair",
     "header"),
    (1, "{'descr': [('x', '<f4'), ('x', '<i4')], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "duplicate field name 'x'", "header"),
    (1, "{'descr': [('', '<f4'), ('', '<i4')], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "duplicate field name ''", "header"),
    (1, "{'descr': [(('t', 'x'), '<f4'), ('t', '<i4')], "
        "'fortran_order': False, 'shape': (3,)}", "kCorrupt",
     "duplicate field name 't'", "header"),
    (1, "{'descr': [(('x', 'x'), '<f4')], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "duplicate field title 'x'", "header"),
    (1, "{'descr': [('x', '<f4', -1)], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "invalid subarray shape -1", "header"),
    (1, "{'descr': [('x', '<f4', (2, -1))], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "invalid subarray shape (2, -1)",
     "header"),
    (1, "{'descr': [('x', '<f4', (True,))], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "invalid subarray shape (True,)",
     "header"),
    (1, "{'descr': [('x', '<f4', 2.5)], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "float", "header"),
    (1, "{'descr': [('x', '<f4', None)], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "invalid subarray shape None",
     "header"),
    (1, "{'descr': [('x', ('<f4',))], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "is not (format, shape)", "header"),
    (1, "{'descr': [('x', '<f4', (4611686018427387904, 4))], "
        "'fortran_order': False, 'shape': (3,)}", "kCorrupt",
     "subarray shape (4611686018427387904, 4) overflows", "header"),
    (1, "{'descr': [('x', '<f8', (2305843009213693952,))], "
        "'fortran_order': False, 'shape': (3,)}", "kCorrupt",
     "subarray itemsize overflows", "header"),
    # numpy 1.24 loads this only because it truncates each size to a C int
    # (2**62 -> 0).
    (1, "{'descr': [('x', '|S4611686018427387904'), "
        "('y', '|S4611686018427387904')], 'fortran_order': False, "
        "'shape': (3,)}", "kCorrupt", "struct itemsize overflows", None),
    (1, "{'descr': 'float32', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr 'float32'", None),
    (1, "{'descr': '<f', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr '<f'", None),
    (1, "{'descr': '<f04', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr '<f04'", None),
    (1, "{'descr': '|b', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr '|b'", None),
    (1, "{'descr': '<M8[s/2]', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr '<M8[s/2]'", None),
    (1, "{'descr': [('a', 'int32')], 'fortran_order': False, "
        "'shape': (3,)}", "kUnsupported", "unsupported dtype descr 'int32'",
     None),
    (1, "{'descr': '!i4', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr '!i4'", "header"),
    (1, "{'descr': '<i3', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr '<i3'", "header"),
    (1, "{'descr': '<M8[2147483648s]', 'fortran_order': False, "
        "'shape': (3,)}", "kUnsupported", "unsupported dtype descr",
     "header"),
    (1, "{'descr': '<M8[xs]', 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr", "header"),
    (1, "{'descr': '|S99999999999999999999', 'fortran_order': False, "
        "'shape': (3,)}", "kUnsupported", "unsupported dtype descr", "array"),
    (1, "{'descr': ('<f4', (2,)), 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr ('<f4', (2,))", "array"),
    (1, "{'descr': {'ab': 1}, 'fortran_order': False, 'shape': (3,)}",
     "kUnsupported", "unsupported dtype descr {'ab': 1}", None),
    (1, "{'descr': [('a', ('<i4', '<u4'))], 'fortran_order': False, "
        "'shape': (3,)}", "kUnsupported", "unsupported (base, dtype) descr",
     None),
    (1, "{'descr': [((None, 'a'), '<f4')], 'fortran_order': False, "
        "'shape': (3,)}", "kUnsupported", "unsupported field title None",
     None),
    (1, "{'descr': '<f\\N{DIGIT EIGHT}', 'fortran_order': False, "
        "'shape': (3,)}", "kUnsupported", "\\N{...} escapes are not supported",
     None),
]


def check_valid(major, text):
    header = encode(text, major) + b"\n"
    shape, fortran, dtype = read_header(length_field(header, major) + header,
                                        major)
    where = numpy_rejects(header, major)
    if where is not None:
        sys.exit("numpy cannot load valid case %r (%s)" % (text, where))
    descr = descr_of_header(npformat._filter_header(text)
                            if major < 3 else text)
    return (shape, fortran, dtype, descr)


def check_invalid(major, text, where):
    header = encode(text, major) + b"\n"
    got = numpy_rejects(header, major)
    if got != where:
        sys.exit("numpy premise wrong for %r: expected %s, got %s"
                 % (text, where, got))


def main():
    print("// Generated by npy_header_cases.py with numpy %s; do not edit."
          % np.__version__)
    print("// clang-format off")
    print("const NumpyWrittenCase kNumpyWritten[] = {")
    for (name, header, descr_text, fortran, shape, descr_repr, shape_repr,
         itemsize, hasobject, major) in numpy_written():
        print("    {%s, %s,\n     %s, %s, {%s},\n     %s, %s, %d, %s, %d},"
              % (cpp_bytes(name.encode()), cpp_bytes(header),
                 cpp_bytes(encode(descr_text, major)),
                 "true" if fortran else "false",
                 ", ".join(str(d) for d in shape),
                 cpp_bytes(descr_repr.encode("utf-8")),
                 cpp_bytes(shape_repr.encode()), itemsize,
                 "true" if hasobject else "false", major))
    print("};")
    print()
    print("const ValidCase kValidCases[] = {")
    for major, text in VALID:
        shape, fortran, dtype, descr = check_valid(major, text)
        print("    {%d, %s,\n     %s, %s, %d, %s, %s}," % (
            major, cpp_bytes(encode(text, major)),
            cpp_bytes(repr(tuple(shape)).encode()),
            "true" if fortran else "false", dtype.itemsize,
            "true" if dtype.hasobject else "false",
            cpp_bytes(expected_descr_repr(descr).encode("utf-8"))))
    print("};")
    print()
    print("const InvalidCase kInvalidCases[] = {")
    for major, text, code, substring, where in INVALID:
        check_invalid(major, text, where)
        print("    {%d, %s,\n     Errc::%s, %s}," % (
            major, cpp_bytes(encode(text, major)), code,
            cpp_bytes(substring.encode("utf-8"))))
    print("};")
    print("// clang-format on")


if __name__ == "__main__":
    main()
