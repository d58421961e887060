#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

Run with a Python that has numpy (Debian 12: /usr/bin/python3):

    /usr/bin/python3 tests/fuzz/make_seeds.py [CORPUS_DIR]

- npy_header_fuzzer/: .npy files numpy wrote (every dtype kind, both
  orders, versions 1.0/2.0/3.0) cut to their header plus a few data bytes,
  and a few hand-written headers in older or odd layouts.
- index_file_fuzzer/: persisted indexes written here from the documented
  format (one or two members, complete or partial, with and without
  points).
- zip/, shared by zip_index_fuzzer and member_fuzzer: small
  archives as numpy and zipfile write them (stored, deflate, data
  descriptors, zip64 records and extras, bzip2, lzma, a stub in front, junk
  after, comments, names in CP437 and UTF-8, directory and symlink entries,
  extended timestamps, encryption flags), and every case of
  tests/support/break_npz.py, each under MAX_ARCHIVE bytes so that
  libFuzzer's -max_len keeps them whole.

Seeds are written as seed-<name>; files not named seed-* (regression inputs
found by fuzzing, in the directory of the target that found them) are left
alone. Output is deterministic.
"""
import io
import os
import struct
import sys
import time
import warnings
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npformat

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import break_npz  # noqa: E402

MAX_ARCHIVE = 24 << 10
NPY_DATA_BYTES = 32
FIXED_TIME = (2024, 5, 17, 12, 30, 44)


def sample_arrays():
    """Small arrays of every dtype kind numpy writes."""
    a = {}
    a["bool"] = np.array([True, False, True])
    for t in ["i1", "<i2", ">i2", "<i4", "<i8", "u1", "<u2", "<u4", ">u8"]:
        a["int_" + t.strip("<>|") + ("_be" if t[0] == ">" else "")] = np.arange(5, dtype=t)
    a["f2"] = np.linspace(0, 1, 4).astype(np.float16)
    a["f4"] = np.linspace(0, 1, 6).astype("<f4")
    a["f8_be"] = np.linspace(0, 1, 3).astype(">f8")
    a["longdouble"] = np.array([1.5, -2.25], dtype=np.longdouble)
    a["c8"] = np.array([1 + 2j], dtype=np.complex64)
    a["c16"] = np.array([3 - 1j, 0], dtype=">c16")
    a["clongdouble"] = np.array([1j], dtype=np.clongdouble)
    a["datetime"] = np.array(["2020-01-01", "NaT"], dtype="M8[D]")
    a["datetime_ns"] = np.array(["2020-01-01T00:00:01"], dtype="M8[ns]")
    a["timedelta"] = np.arange(3).astype("m8[s]")
    a["bytes"] = np.array([b"abc", b""], dtype="S5")
    a["unicode"] = np.array(["x", "h\u00e9llo"], dtype="<U7")
    a["unicode_be"] = np.array(["\u6e29"], dtype=">U2")
    a["void"] = np.frombuffer(bytes(range(16)), dtype="V8")
    a["c_order_2d"] = np.arange(12, dtype=np.int32).reshape(3, 4)
    a["fortran_2d"] = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    a["fortran_3d"] = np.asfortranarray(np.zeros((2, 3, 2), dtype=np.uint16))
    a["scalar"] = np.array(3.5)
    a["empty"] = np.zeros((0,), dtype=np.float64)
    a["empty_2d"] = np.zeros((3, 0), dtype=np.int16)
    a["structured"] = np.array([(1.5, 2)], dtype=[("x", "<f4"), ("label", "<i4")])
    a["nested"] = np.zeros(2, dtype=[("pos", [("x", "<f8"), ("y", "<f8")]), ("id", "<u2")])
    a["subarray"] = np.ones(2, dtype=[("m", "<f4", (2, 3)), ("n", "|u1")])
    a["aligned"] = np.zeros(2, dtype=np.dtype([("a", "u1"), ("b", "<f8")], align=True))
    a["titles"] = np.zeros(2, dtype=[(("Title", "t"), "<i4"), ("u", ">f2")])
    a["objects"] = np.array([1, "two", None], dtype=object)
    a["object_field"] = np.array([(1, None)], dtype=[("n", "<i4"), ("o", "O")])
    return a


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=True)
    else:
        npformat.write_array(buf, arr, version=version, allow_pickle=True)
    return buf.getvalue()


def header_and_some_data(npy, zero_data=False):
    """zero_data: for long doubles, whose padding bytes are whatever was in
    memory (the seeds must not change from run to run)."""
    prefix_len = 10 if npy[6] == 1 else 12
    end = prefix_len + int.from_bytes(npy[8:prefix_len], "little")
    data = npy[end:end + NPY_DATA_BYTES]
    return npy[:end] + (bytes(len(data)) if zero_data else data)


def hand_npy(text, major=1, pad_to=64, newline=True):
    """A .npy prefix and header text written by hand, padded like numpy."""
    body = text.encode("utf-8" if major == 3 else "latin-1")
    prefix_len = 10 if major == 1 else 12
    if newline:
        body += b"\n"
    if pad_to:
        pad = -(prefix_len + len(body)) % pad_to
        body = body[:-1] + b" " * pad + b"\n" if newline else body + b" " * pad
    size = struct.pack("<H" if major == 1 else "<I", len(body))
    return b"\x93NUMPY" + bytes([major, 0]) + size + body + bytes(16)


def npy_seeds():
    seeds = {}
    for name, arr in sample_arrays().items():
        seeds["v1-" + name] = header_and_some_data(npy_bytes(arr), "longdouble" in name)
    arrays = sample_arrays()
    for name in ["f4", "structured", "scalar"]:
        seeds["v2-" + name] = header_and_some_data(npy_bytes(arrays[name], (2, 0)))
    unicode_fields = np.zeros(1, dtype=[("\u6e29\u5ea6", "<f4"), ("caf\u00e9", "u1")])
    seeds["v3-unicode-fields"] = header_and_some_data(npy_bytes(unicode_fields, (3, 0)))
    seeds["hand-py2-long"] = hand_npy(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }")
    seeds["hand-16-aligned"] = hand_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", pad_to=16)
    seeds["hand-no-padding"] = hand_npy("{'descr':'|u1','fortran_order':False,'shape':(3,)}",
                                        pad_to=0, newline=False)
    seeds["hand-double-quotes"] = hand_npy('{"shape": (), "fortran_order": True, "descr": ">c8"}')
    seeds["hand-latin1-field"] = hand_npy(
        "{'descr': [('caf\u00e9', '<u2'), ('', '|V2')], 'fortran_order': False, 'shape': (1,), }")
    seeds["hand-subarray-int"] = hand_npy(
        "{'descr': [('a', '<f4', 3), ('b', ('<i2', (2,)))], 'fortran_order': False, "
        "'shape': (2, 1), }")
    seeds["hand-escapes"] = hand_npy(
        "{'descr': [('t\\x41b\\u00e9\\n', '<i1')], 'fortran_order': False, 'shape': (0x2, 0o1), }")
    seeds["hand-comment-continuation"] = hand_npy(
        "{'descr': '<f4', # a comment\n 'fortran_order': False, \\\n'shape': (+3,), }")
    return seeds


# ---------------------------------------------------------------------------
# Archives


class Unseekable(io.RawIOBase):
    """A write-only stream without seek or tell: zipfile then writes data
    descriptors, as np.savez does to a pipe."""

    def __init__(self):
        self.buf = io.BytesIO()

    def writable(self):
        return True

    def write(self, b):
        return self.buf.write(b)


def zinfo(name, method=zipfile.ZIP_STORED, extra=b"", mode=0o600):
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = method
    info.external_attr = mode << 16
    info.extra = extra
    return info


def zip_bytes(members, method=zipfile.ZIP_STORED, comment=b"", unseekable=False):
    """members: list of (name or ZipInfo, bytes)."""
    target = Unseekable() if unseekable else io.BytesIO()
    with zipfile.ZipFile(target, "w", compression=method) as z:
        for name, data in members:
            info = name if isinstance(name, zipfile.ZipInfo) else zinfo(name, method)
            z.writestr(info, data)
        z.comment = comment
    return (target.buf if unseekable else target).getvalue()


def savez_bytes(arrays, compressed, unseekable=False):
    """np.savez as numpy writes it; timestamps fixed so seeds are stable."""
    target = Unseekable() if unseekable else io.BytesIO()
    real_localtime = time.localtime
    time.localtime = lambda *a: real_localtime(1715949044)
    try:
        (np.savez_compressed if compressed else np.savez)(target, **arrays)
    finally:
        time.localtime = real_localtime
    return (target.buf if unseekable else target).getvalue()


def with_zip64_limits(build):
    """Runs build() with zipfile's zip64 thresholds lowered, so that tiny
    archives carry zip64 end records and zip64 extras in central headers."""
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 60, 1
    try:
        return build()
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved


def set_flag(data, name, bit):
    """Sets a general purpose flag bit in both headers of member `name`."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        lho = z.getinfo(name).header_offset
    data[lho + 6] |= bit
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + n] == name.encode():
            data[pos + 8] |= bit
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(data)


def ext_timestamp(mtime):
    """Info-ZIP extended timestamp extra (0x5455), mtime only."""
    return struct.pack("<HHBi", 0x5455, 5, 1, mtime)


def many_block_seeds():
    """Deflate streams of many blocks, whose boundaries the read path keeps
    access points at: small natural blocks (memLevel 1: boundaries at any
    bit), and full flushes every 6000 bytes (byte-aligned boundaries after
    empty stored blocks). 160 KB of content each, a few KB compressed."""
    content = npy_bytes(np.repeat(np.arange(4000, dtype="<u4") % 97, 10))
    c = zlib.compressobj(6, zlib.DEFLATED, -15, 1)
    small_blocks = c.compress(content) + c.flush()
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    flushed = b"".join(c.compress(content[i:i + 6000]) + c.flush(zlib.Z_FULL_FLUSH)
                       for i in range(0, len(content), 6000)) + c.flush()
    other = break_npz.Member("a.npy", npy_bytes(np.arange(5)), break_npz.DEFLATE)
    seeds = {}
    for name, payload in [("deflate-small-blocks", small_blocks), ("deflate-full-flush", flushed)]:
        member = break_npz.Member("blocks.npy", content, break_npz.DEFLATE, payload=payload)
        seeds[name], _ = break_npz.write_zip([member, other])
    return seeds


def sozip_deflate(data, chunk):
    """Raw deflate, fully flushed every `chunk` bytes (the SOZip profile);
    returns the stream and the offsets of chunks 1, 2, ..."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out, offsets = b"", []
    for at in range(0, len(data), chunk):
        out += c.compress(data[at:at + chunk])
        if at + chunk < len(data):
            out += c.flush(zlib.Z_SYNC_FLUSH) + c.flush(zlib.Z_FULL_FLUSH)
            offsets.append(len(out))
    return out + c.flush(zlib.Z_FINISH), offsets


def sozip_bytes(members, chunk=4096, spoil=None):
    """A zip whose deflate members are SOZip-chunked, each followed by its
    hidden index entry (a local header, no central record). `spoil`: a
    function changing the index bytes."""
    local, central = b"", b""
    for name, data in members:
        n = name.encode()
        stream, offsets = sozip_deflate(data, chunk)
        crc = zlib.crc32(data)
        at = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0x21, crc, len(stream),
                             len(data), len(n), 0) + n + stream
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 0x314, 20, 0, 8, 0, 0x21, crc,
                               len(stream), len(data), len(n), 0, 0, 0, 0, 0o100644 << 16,
                               at) + n
        index = struct.pack("<IIIIQQ", 1, 0, chunk, 8, len(data), len(stream))
        index += b"".join(struct.pack("<Q", o) for o in offsets)
        if spoil:
            index = spoil(index)
        slash = name.rfind("/") + 1
        hidden = (name[:slash] + "." + name[slash:] + ".sozip.idx").encode()
        local += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x21, zlib.crc32(index),
                             len(index), len(index), len(hidden), 0) + hidden + index
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(members), len(members), len(central),
                      len(local), 0)
    return local + central + end


def archive_seeds():
    arrays = sample_arrays()
    small = {k: arrays[k] for k in ["f4", "structured", "scalar", "empty"]}
    mixed = {k: arrays[k] for k in ["bool", "int_i2_be", "c16", "unicode", "nested",
                                    "fortran_2d", "objects"]}
    npy = {k: npy_bytes(v) for k, v in arrays.items()}
    compressible = npy_bytes(np.repeat(np.arange(40, dtype="<i4"), 100))  # ~16 KB
    s = {}
    s["savez-small"] = savez_bytes(small, False)
    s["savez-compressed-small"] = savez_bytes(small, True)
    s["savez-mixed"] = savez_bytes(mixed, False)
    s["savez-compressed-mixed"] = savez_bytes(mixed, True)
    s["savez-nested-keys"] = savez_bytes({"a/b": arrays["f4"], "a/c/d": arrays["bool"]}, True)
    s["savez-empty"] = savez_bytes({}, False)
    s["descriptor-stored"] = savez_bytes(small, False, unseekable=True)
    s["descriptor-compressed"] = savez_bytes(small, True, unseekable=True)
    s["deflate-multiblock"] = zip_bytes([("big.npy", compressible), ("f8.npy", npy["f8_be"])],
                                        zipfile.ZIP_DEFLATED)
    s["zip64-records"] = with_zip64_limits(
        lambda: zip_bytes([("a.npy", npy["f4"]), ("b.npy", npy["c_order_2d"])]))
    s["zip64-records-deflate"] = with_zip64_limits(
        lambda: zip_bytes([("a.npy", npy["structured"]), ("b.txt", b"x" * 300)],
                          zipfile.ZIP_DEFLATED))
    s["zip64-descriptor"] = with_zip64_limits(
        lambda: savez_bytes(small, True, unseekable=True))
    s["bzip2"] = zip_bytes([("x.npy", npy["f4"]), ("big.npy", compressible)], zipfile.ZIP_BZIP2)
    s["lzma"] = zip_bytes([("x.npy", npy["f4"])], zipfile.ZIP_LZMA)
    s["mixed-methods"] = zip_bytes([
        (zinfo("stored.npy"), npy["int_i4"]),
        (zinfo("deflate.npy", zipfile.ZIP_DEFLATED), npy["unicode"]),
        (zinfo("bzip2.npy", zipfile.ZIP_BZIP2), npy["bool"]),
        (zinfo("lzma.npy", zipfile.ZIP_LZMA), npy["scalar"]),
    ])
    s["prefix-stub"] = b"#!/bin/sh\nexit 0\n" * 8 + savez_bytes(small, True)
    s["junk-after"] = savez_bytes(small, False) + b"trailing junk" * 4
    s["comment"] = zip_bytes([("a.npy", npy["f4"])], comment=b"archive comment")
    s["non-npy-members"] = zip_bytes([
        (zinfo("notes.txt", zipfile.ZIP_DEFLATED), b"not an array\n" * 20),
        (zinfo("dir/", mode=0o40755), b""),
        (zinfo("dir/a.npy"), npy["int_u1"]),
        (zinfo("link", mode=0o120777), b"dir/a.npy"),
        (zinfo("empty.bin"), b""),
        (zinfo("empty-deflate.bin", zipfile.ZIP_DEFLATED), b""),
    ])
    s["names-odd"] = zip_bytes([
        (zinfo("/abs/a.npy"), npy["bool"]),
        (zinfo("../up.npy"), npy["bool"]),
        (zinfo("a//b.npy"), npy["bool"]),
        (zinfo("back\\slash.npy"), npy["bool"]),
        (zinfo("n" * 300 + ".npy"), npy["bool"]),
        (zinfo("dup.npy"), npy["int_i1"]),
        (zinfo("dup.npy"), npy["int_u1"]),
        (zinfo("x.npy"), npy["bool"]),
        (zinfo("x.npy/y.npy"), npy["bool"]),
    ])
    cp437 = zip_bytes([("cafX.npy", npy["int_i2"]), ("\u6e29\u5ea6.npy", npy["f4"])])
    s["names-cp437-utf8"] = cp437.replace(b"cafX.npy", b"caf\x82.npy")
    s["ext-timestamp"] = zip_bytes([(zinfo("t.npy", extra=ext_timestamp(1700000000)),
                                     npy["f4"])])
    s["encrypted-flag"] = set_flag(zip_bytes([("a.npy", npy["f4"]), ("b.npy", npy["bool"])]),
                                   "a.npy", 0x1)
    s.update(many_block_seeds())
    sozip_data = npy_bytes(np.repeat(np.arange(30, dtype="<i4"), 150))  # ~18 KB, 5 chunks
    s["sozip"] = sozip_bytes([("a.npy", sozip_data), ("d/b.npy", npy["f4"] * 300)])
    s["sozip-offsets-out-of-order"] = sozip_bytes(
        [("a.npy", sozip_data)], spoil=lambda i: i[:32] + i[40:48] + i[32:40] + i[48:])
    s["sozip-index-cut"] = sozip_bytes([("a.npy", sozip_data)], spoil=lambda i: i[:-8])
    return s


# ---------------------------------------------------------------------------
# Persisted indexes (core/read/index_file.h), written here from the format
# as documented, not by npzfs's own writer.

def index_bytes(members, identity=(123456, 1700000000, 7, 0x1122334455667788)):
    """members: dicts of index, crc32, size, csize, data_offset, chunk,
    complete, crcs, points [(out, in, bits, crc_before, window bytes)]."""
    def record(m, windows_at):
        r = struct.pack("<II", 0, 0)
        r += struct.pack("<QHHIQQQQB7x", m["index"], 8, 0, m["crc32"], m["size"], m["csize"],
                         m["data_offset"], m["chunk"], 1 if m["complete"] else 0)
        r += struct.pack("<Q", len(m["crcs"])) + b"".join(struct.pack("<I", c) for c in m["crcs"])
        if len(m["crcs"]) % 2:
            r += bytes(4)
        r += struct.pack("<Q", len(m["points"]))
        for out, inp, bits, crc, window in m["points"]:
            packed = zlib.compress(window, 6)[2:-4]  # raw deflate
            r += struct.pack("<QQB3xIQIII4x", out, inp, bits, crc, windows_at[0], len(packed),
                             len(window), zlib.crc32(window))
            windows_at[0] += len(packed)
            windows_at[1].append(packed)
        r = struct.pack("<I", len(r)) + r[4:]
        return r[:4] + struct.pack("<I", zlib.crc32(r)) + r[8:]
    sizes = sum(len(record(m, [0, []])) for m in members)
    windows_at = [64 + sizes, []]
    records = b"".join(record(m, windows_at) for m in members)
    size, sec, nsec, cd = identity
    header = b"NPZFSIDX" + struct.pack("<II", 1, 0) + struct.pack("<QqiIQ", size, sec, nsec, 0, cd)
    header += struct.pack("<IIQ", len(members), 0, len(records))
    header = header[:12] + struct.pack("<I", zlib.crc32(header)) + header[16:]
    return header + records + b"".join(windows_at[1])


def index_seeds():
    rng = np.random.default_rng(5)
    data = (np.sin(np.arange(300_000) / 50) * 20).astype(np.int8).tobytes()
    chunk = 65536
    crcs = [zlib.crc32(data[i:i + chunk]) for i in range(0, len(data), chunk)]
    window = data[100_000 - 32768:100_000]
    full = {"index": 0, "crc32": zlib.crc32(data), "size": len(data), "csize": 90_000,
            "data_offset": 40, "chunk": chunk, "complete": True, "crcs": crcs,
            "points": [(100_000, 30_000, 5, zlib.crc32(data[:100_000]), window),
                       (2 * chunk, 40_000, 0, zlib.crc32(data[:2 * chunk]), data[2 * chunk - 32768:2 * chunk])]}
    full["points"].sort()
    partial = dict(full, index=1, complete=False, crcs=crcs[:2], points=full["points"][:1])
    s = {}
    s["complete"] = index_bytes([full])
    s["two-members"] = index_bytes([full, partial])
    s["empty"] = index_bytes([])
    s["no-points"] = index_bytes([dict(partial, points=[])])
    s["random-window"] = index_bytes([dict(partial, points=[(5000, 10, 3, 0, bytes(rng.integers(0, 256, 5000, dtype=np.uint8)))])])
    return s


def write(dirpath, seeds, limit=None):
    os.makedirs(dirpath, exist_ok=True)
    for old in os.listdir(dirpath):
        if old.startswith("seed-"):
            os.remove(os.path.join(dirpath, old))
    for name, data in seeds.items():
        if limit is not None and len(data) > limit:
            raise SystemExit("seed %s is %d bytes, over %d" % (name, len(data), limit))
        with open(os.path.join(dirpath, "seed-" + name), "wb") as f:
            f.write(data)


def main(argv):
    warnings.simplefilter("ignore")  # zipfile warns of the duplicate names on purpose
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    write(os.path.join(out, "npy_header_fuzzer"), npy_seeds())
    write(os.path.join(out, "index_file_fuzzer"), index_seeds())
    archives = archive_seeds()
    for name in break_npz.CASES:
        data, _ = break_npz.build(name)
        if len(data) <= MAX_ARCHIVE:
            archives["broken-" + name] = data
    write(os.path.join(out, "zip"), archives, MAX_ARCHIVE)


if __name__ == "__main__":
    main(sys.argv)
