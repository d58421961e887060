#!/usr/bin/python3
"""Writes broken, hostile and odd .npz archives, each with what npzfs must do.

usage: break_npz.py --list [--json]         the cases, one per line
       break_npz.py --outdir DIR [CASE...]  write cases (all when none named)
                                            and DIR/manifest.json
       break_npz.py --case CASE --output PATH
                                            write one archive; print its
                                            manifest entry

Run it with a Python that has numpy (Debian 12: /usr/bin/python3). Output
is deterministic: fixed timestamps, no randomness without a fixed seed.

Every case is an archive plus an expectation, written to the manifest.
TEXT is a substring the message must contain, or a list of substrings of
which it must contain one:

  {"name": CASE, "file": "CASE.npz", "group": ..., "description": ...,
   "archive": "refused" | "opens",
   "error": TEXT,             # refused: in the one-line message, which
                              # starts with the archive's path
   "member_count": N,         # opens: central directory entries
   "members": [               # opens: every member unless "some_members"
     {"index": I,             # position in the central directory
      "name": NAME,           # as zipfile decodes it (cut at a NUL)
      "path": PATH | null,    # where it appears; null: left out, and
      "skip_reason": TEXT,    #   the index says why
      "local_error": TEXT,    # set: the local header or data cannot be
                              #   trusted; absent: none
      "read": "ok" | "corrupt" | "unsupported" | "directory",
      "read_error": TEXT,     # corrupt/unsupported: the read error, after
                              #   "NAME: "
      "content": FILE,        # the member's true bytes (DIR/FILE): "ok"
                              #   reads return exactly these; bytes that a
                              #   failing read returned first agree with
                              #   them (as far as FILE goes)
      "npy": "ok" | "corrupt" | "unsupported",  # the npy header, if checked
      "npy_error": TEXT,
      "raw": BOOL,            # npy ok: the raw view can serve it (SPEC §2)
      "visible": BOOL}],      # the tree shows it (false when a duplicate
                              #   or a directory wins over it)
   "some_members": BOOL}      # only some members are listed

At the filesystem, "refused" means the mount fails with one line naming the
file; "corrupt" reads fail with EIO, "unsupported" with ENOTSUP;
members with path null are not in the tree.

Where SPEC.md is silent the expectation follows Python's zipfile and numpy
(see the case descriptions).
"""
import bz2
import io
import json
import os
import struct
import sys
import time
import zipfile
import zlib

import numpy as np

FIXED_TIME = (2024, 5, 17, 12, 30, 44)
DOS_TIME = ((FIXED_TIME[3] << 11) | (FIXED_TIME[4] << 5) | (FIXED_TIME[5] // 2),
            ((FIXED_TIME[0] - 1980) << 9) | (FIXED_TIME[1] << 5) | FIXED_TIME[2])

STORED, DEFLATE, BZIP2, LZMA, ZSTD = 0, 8, 12, 14, 93

# ---------------------------------------------------------------------------
# Member contents


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=True)
    else:
        np.lib.format.write_array(buf, arr, version=version, allow_pickle=True)
    return buf.getvalue()


def npy_from_header(text, data=b"", major=1):
    """A .npy with a hand-written header dict, padded as numpy pads."""
    body = text.encode("latin-1" if major < 3 else "utf-8")
    prefix_len = 10 if major == 1 else 12
    pad = -(prefix_len + len(body) + 1) % 64
    body += b" " * pad + b"\n"
    size = struct.pack("<H" if major == 1 else "<I", len(body))
    return b"\x93NUMPY" + bytes([major, 0]) + size + body + data


A = npy_bytes(np.arange(12, dtype="<i4").reshape(3, 4))
B = npy_bytes(np.linspace(0, 1, 50))
TEXT = b"not an array, just text\n" * 20
# Compressible but not trivially so: several deflate blocks' worth.
BIG = npy_bytes(np.repeat(np.arange(20000, dtype="<u2") % 251, 3))

# ---------------------------------------------------------------------------
# A zip writer with every field under control


def deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def compress(method, data):
    if method == STORED:
        return data
    if method == DEFLATE:
        return deflate(data)
    if method == BZIP2:
        return bz2.compress(data)
    if method == LZMA:
        c = zipfile.LZMACompressor()  # zipfile's framing of method 14
        return c.compress(data) + c.flush()
    return data  # methods nothing here decodes: the bytes do not matter


class Member:
    """One member. Fields left None are computed from the data; `local`
    overrides fields of the local header only (name, method, crc, csize,
    usize, flags, signature), `central` of the central record only."""

    def __init__(self, name, data=b"", method=STORED, flags=0, payload=None,
                 crc=None, csize=None, usize=None, local=None, central=None,
                 external=0o100644 << 16, made_by=0x031E, extra_local=b"",
                 extra_central=b"", descriptor=None, zip64_local=False,
                 version_needed=20):
        self.name = name.encode("utf-8") if isinstance(name, str) else name
        if isinstance(name, str) and not name.isascii():
            flags |= 0x800
        self.data = data
        self.method = method
        self.flags = flags
        self.payload = compress(method, data) if payload is None else payload
        self.crc = zlib.crc32(data) if crc is None else crc
        self.csize = len(self.payload) if csize is None else csize
        self.usize = len(data) if usize is None else usize
        self.local = local or {}
        self.central = central or {}
        self.external = external
        self.made_by = made_by
        self.extra_local = extra_local
        self.extra_central = extra_central
        # None, "plain" (no signature) or "signed"; sets flag bit 3 and
        # zeroes the local CRC and sizes.
        self.descriptor = descriptor
        if descriptor:
            self.flags |= 0x8
        self.zip64_local = zip64_local
        self.version_needed = version_needed


class Layout:
    """Where things landed in the written archive."""

    def __init__(self):
        self.local = []      # offset of each local header
        self.data = []       # (start, end) of each member's payload
        self.central = []    # offset of each central record
        self.cd_at = self.cd_end = self.eocd_at = 0


def local_header(m):
    lo = m.local
    crc, csize, usize = m.crc, m.csize, m.usize
    if m.descriptor:
        crc = csize = usize = 0
    extra = m.extra_local
    if m.zip64_local:  # numpy's way: sizes only in a local zip64 extra
        extra = struct.pack("<HHQQ", 1, 16, lo.get("usize", usize), lo.get("csize", csize)) + extra
        csize = usize = 0xFFFFFFFF
    name = lo.get("name", m.name)
    return struct.pack("<IHHHHHIIIHH", lo.get("signature", 0x04034B50), m.version_needed,
                       lo.get("flags", m.flags), lo.get("method", m.method), DOS_TIME[0],
                       DOS_TIME[1], lo.get("crc", crc),
                       csize if m.zip64_local else lo.get("csize", csize),
                       usize if m.zip64_local else lo.get("usize", usize),
                       len(name), len(extra)) + name + extra


def central_record(m, offset):
    ce = m.central
    name = ce.get("name", m.name)
    return struct.pack("<IHHHHHHIIIHHHHHII", ce.get("signature", 0x02014B50), m.made_by,
                       m.version_needed, ce.get("flags", m.flags), ce.get("method", m.method),
                       DOS_TIME[0], DOS_TIME[1], ce.get("crc", m.crc), ce.get("csize", m.csize),
                       ce.get("usize", m.usize), len(name), len(m.extra_central), 0, 0, 0,
                       m.external, ce.get("offset", offset)) + name + m.extra_central


def descriptor(m):
    body = struct.pack("<III", m.crc, m.csize, m.usize)
    return (struct.pack("<I", 0x08074B50) + body) if m.descriptor == "signed" else body


def write_zip(members, comment=b"", zip64=False, count=None, prefix=b"", adjusted=False):
    """The archive's bytes and its Layout. zip64: write the zip64 end
    record and locator. count: the entry count the end record states
    (default: the real one, 0xFFFF when zip64). prefix: bytes in front of
    the zip, counted in its offsets when `adjusted` (as zip -A does)."""
    out = bytearray(prefix)
    lay = Layout()
    base = 0 if adjusted else len(prefix)
    for m in members:
        lay.local.append(len(out) - base)
        out += local_header(m)
        start = len(out)
        out += m.payload
        lay.data.append((start, len(out)))
        if m.descriptor:
            out += descriptor(m)
    lay.cd_at = len(out)
    for m, off in zip(members, lay.local):
        lay.central.append(len(out))
        out += central_record(m, off)
    lay.cd_end = len(out)
    n = len(members)
    cd_size, cd_off = lay.cd_end - lay.cd_at, lay.cd_at - base
    if zip64:
        z64_at = len(out) - base
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_off)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64_at, 1)
        n16 = 0xFFFF if count is None else count
    else:
        n16 = (n if count is None else count) & 0xFFFF
    lay.eocd_at = len(out)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n16, n16, cd_size, cd_off, len(comment))
    out += comment
    return bytes(out), lay


def savez(arrays, compressed=False):
    """np.savez output with a fixed timestamp."""
    buf = io.BytesIO()
    real_localtime = time.localtime
    time.localtime = lambda *a: real_localtime(1715949044)
    try:
        (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    finally:
        time.localtime = real_localtime
    return buf.getvalue()


def numpy_layout(data):
    """Local header and data offsets of a zipfile-written archive."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
    out = {}
    for info in infos:
        lho = info.header_offset
        n, m = struct.unpack_from("<HH", data, lho + 26)
        out[info.filename] = (lho, lho + 30 + n + m, info.compress_size)
    return out


def put(data, at, fmt, value):
    data = bytearray(data)
    struct.pack_into(fmt, data, at, value)
    return bytes(data)


# ZipCrypto (APPNOTE 6.1), for a genuinely encrypted member.
def _crc_byte(crc, b):
    return zlib.crc32(bytes([b]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def zipcrypto(data, password, check_byte):
    k0, k1, k2 = 0x12345678, 0x23456789, 0x34567890

    def update(c):
        nonlocal k0, k1, k2
        k0 = _crc_byte(k0, c)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_byte(k2, k1 >> 24)

    for c in password:
        update(c)
    out = bytearray()
    for c in bytes(range(11)) + bytes([check_byte]) + data:
        t = (k2 | 2) & 0xFFFF
        out.append(c ^ (((t * (t ^ 1)) >> 8) & 0xFF))
        update(c)
    return bytes(out)


# ---------------------------------------------------------------------------
# Expectations


def raw_servable(content):
    """SPEC §2: a valid header, no objects, and at least shape x itemsize
    bytes after it."""
    f = io.BytesIO(content)
    version = np.lib.format.read_magic(f)
    shape, _, dtype = np.lib.format._read_array_header(f, version, max_header_size=1 << 30)
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    return not dtype.hasobject and need <= len(content) - f.tell()


def ok(index, name, content, path=None, npy=None, **kw):
    """A member read in full with exactly `content`."""
    m = {"index": index, "name": name, "path": name if path is None else path,
         "read": "ok", "content": content}
    if npy is None and name.endswith(".npy") and content[:6] == b"\x93NUMPY":
        npy = "ok"
    if npy:
        m["npy"] = npy
    if npy == "ok" and "raw" not in kw:
        m["raw"] = raw_servable(content)
    m.update(kw)
    return m


def corrupt(index, name, error, content=None, local_error=None, **kw):
    """A member whose reads fail with kCorrupt; `content`, when known, is a
    prefix of its true bytes that every successful read agrees with."""
    m = {"index": index, "name": name, "path": kw.pop("path", name), "read": "corrupt",
         "read_error": error}
    if content is not None:
        m["content"] = content
    if local_error is not None:
        m["local_error"] = local_error
    m.update(kw)
    return m


def unsupported(index, name, error, **kw):
    m = {"index": index, "name": name, "path": kw.pop("path", name), "read": "unsupported",
         "read_error": error}
    m.update(kw)
    return m


def skipped(index, name, reason, **kw):
    m = {"index": index, "name": name, "path": None, "skip_reason": reason}
    m.update(kw)
    return m


def bad_local(index, name, why, **kw):
    """A member listed as the central directory says, whose local header
    or data cannot be trusted: reads fail with the index's reason."""
    return corrupt(index, name, why, local_error=why, **kw)


CASES = {}


def case(group, description):
    def register(fn):
        CASES[fn.__name__] = (group, description, fn)
        return fn
    return register


def refused(data, error):
    return data, {"archive": "refused", "error": error}


def opens(data, members, some=False, count=None):
    exp = {"archive": "opens", "members": members,
           "member_count": len(members) if count is None else count}
    if some:
        exp["some_members"] = True
    return data, exp


def three(method=STORED):
    """a.npy, b.npy and notes.txt."""
    return [Member("a.npy", A, method), Member("b.npy", B, method),
            Member("notes.txt", TEXT, method)]


def three_ok(skip=()):
    return [m for m in [ok(0, "a.npy", A), ok(1, "b.npy", B), ok(2, "notes.txt", TEXT)]
            if m["index"] not in skip]


# ---------------------------------------------------------------------------
# Truncation

NOT_A_ZIP = "not a zip archive"


def _numpy_archive():
    return savez({"a": np.arange(12, dtype="<i4").reshape(3, 4), "b": np.linspace(0, 1, 50)},
                 compressed=True)


def _cut_end_record(k):
    data = _numpy_archive()
    return refused(data[:data.rfind(b"PK\x05\x06") + k], NOT_A_ZIP)


@case("truncate", "cut right before the end of central directory record")
def trunc_end_record_0():
    return _cut_end_record(0)


@case("truncate", "cut inside the end record, after its signature")
def trunc_end_record_4():
    return _cut_end_record(4)


@case("truncate", "cut inside the end record, in the central directory size")
def trunc_end_record_14():
    return _cut_end_record(14)


@case("truncate", "cut one byte before the end record's end")
def trunc_end_record_21():
    return _cut_end_record(21)


@case("truncate", "cut inside the archive comment: the comment is shorter than the end "
      "record says; zipfile reads such archives, so npzfs does too")
def trunc_comment():
    data, _ = write_zip(three(), comment=b"an archive comment of some length" * 2)
    return opens(data[:-30], three_ok())


def _cut(fraction_of, where):
    data, lay = write_zip(three(DEFLATE))
    start, end = where(lay, len(data))
    return refused(data[:start + (end - start) * fraction_of // 4], NOT_A_ZIP)


@case("truncate", "cut inside the first central directory record")
def trunc_central_directory_start():
    return _cut(1, lambda lay, n: (lay.cd_at, lay.central[1]))


@case("truncate", "cut in the middle of the central directory")
def trunc_central_directory_middle():
    return _cut(2, lambda lay, n: (lay.cd_at, lay.cd_end))


@case("truncate", "cut inside the last central directory record")
def trunc_central_directory_end():
    return _cut(3, lambda lay, n: (lay.central[2], lay.cd_end))


@case("truncate", "cut inside the second member's local header")
def trunc_local_header():
    return _cut(2, lambda lay, n: (lay.local[1], lay.data[1][0]))


@case("truncate", "cut inside the first member's data")
def trunc_member_data():
    return _cut(2, lambda lay, n: lay.data[0])


@case("truncate", "the central directory loses its last 30 bytes, the end record is left "
      "as it was: the directory, taken to end at the end record (as zipfile does), "
      "starts inside the last member's data")
def cd_cut_end_record_kept():
    data, lay = write_zip(three())
    return refused(data[:lay.cd_end - 30] + data[lay.eocd_at:],
                   "bad central directory record signature at offset %d (entry 0)"
                   % (lay.cd_at - 30))


@case("truncate", "the central directory loses its last 30 bytes and the end record's size "
      "is adjusted: the last record is cut short")
def cd_cut_size_adjusted():
    data, lay = write_zip(three())
    eocd = put(data[lay.eocd_at:], 12, "<I", lay.cd_end - 30 - lay.cd_at)
    return refused(data[:lay.cd_end - 30] + eocd, "central directory is truncated at entry 2")


@case("truncate", "the last member's stored data loses 10 bytes (central directory and "
      "end record moved up and adjusted): its declared size now reaches into the central "
      "directory, so the data read fails its CRC-32")
def trunc_data_stored_short():
    members = three()
    members[2].payload = members[2].payload[:-10]
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(2,)) + [
        corrupt(2, "notes.txt", "CRC-32 mismatch", content=TEXT[:-10])])


@case("truncate", "the last member's stored data loses most of its bytes: its data runs "
      "past the end of the archive")
def trunc_data_stored_past_end():
    members = three()
    members[2].payload = members[2].payload[:100]
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(2,)) + [
        bad_local(2, "notes.txt", "runs past the end of the archive")])


@case("truncate", "the last member's deflate data loses 10 bytes: the stream runs into "
      "the central directory")
def trunc_data_deflate_short():
    members = three(DEFLATE)
    members[2].payload = members[2].payload[:-10]
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(2,)) + [
        corrupt(2, "notes.txt", ["deflate", "declared size", "CRC-32"])])


@case("truncate", "the last member's deflate data loses most of its bytes: its data runs "
      "past the end of the archive")
def trunc_data_deflate_past_end():
    members = three(DEFLATE)
    members[1].payload = members[1].payload[:20]
    members = members[:2]
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1, 2)) + [
        bad_local(1, "b.npy", "runs past the end of the archive")])


# ---------------------------------------------------------------------------
# The end record and the central directory


@case("central", "the end record's central directory offset is one too low: zipfile "
      "takes the difference for a stub in front of the zip, so every local header is "
      "looked for one byte too late")
def eocd_cd_offset_low():
    data, lay = write_zip(three())
    data = put(data, lay.eocd_at + 16, "<I", lay.cd_at - 1)
    why = "no local header at offset"
    return opens(data, [bad_local(0, "a.npy", why), bad_local(1, "b.npy", why),
                        bad_local(2, "notes.txt", why)])


@case("central", "the end record's central directory offset is one too high: zipfile "
      "takes the difference for a byte missing in front of the zip, so every local header "
      "is looked for one byte too early")
def eocd_cd_offset_high():
    data, lay = write_zip(three())
    data = put(data, lay.eocd_at + 16, "<I", lay.cd_at + 1)
    why = "no local header at offset"
    return opens(data, [bad_local(0, "a.npy", "offset 0 lies before the start of the archive "
                                  "(its first 1 bytes are missing)"),
                        bad_local(1, "b.npy", why), bad_local(2, "notes.txt", why)])


@case("central", "the central directory is larger than everything before its end record")
def eocd_cd_size_too_large():
    data, lay = write_zip(three())
    return refused(put(data, lay.eocd_at + 12, "<I", lay.eocd_at + 1),
                   "does not fit before its end record")


@case("central", "the end record says the archive spans two disks: refused, as libzip "
      "does (zipfile ignores the disk numbers of a plain end record)")
def eocd_multi_disk():
    data, lay = write_zip(three())
    return refused(put(data, lay.eocd_at + 4, "<H", 1),
                   "multi-disk zip archives are not supported")


@case("central", "a zip64 end record locator points at bytes that are not a zip64 end record")
def zip64_locator_without_record():
    data, lay = write_zip(three())
    junk = b"\0" * 56 + struct.pack("<IIQI", 0x07064B50, 0, 12345, 1)
    return refused(data[:lay.eocd_at] + junk + data[lay.eocd_at:],
                   "zip64 end of central directory record not found")


@case("central", "the first central directory record's signature is broken")
def cd_bad_signature():
    data, lay = write_zip(three())
    return refused(put(data, lay.cd_at, "<I", 0x02014B51),
                   "bad central directory record signature at offset %d (entry 0)" % lay.cd_at)


@case("central", "the end record says 9 entries and the central directory holds 3: like "
      "zipfile, npzfs reads records until the directory's size is used up")
def eocd_count_wrong():
    data, _ = write_zip(three(), count=9)
    return opens(data, three_ok())


@case("central", "a central zip64 extra field too short for the sizes it must hold")
def zip64_extra_too_short():
    members = three()
    members[1].central = {"usize": 0xFFFFFFFF}
    members[1].extra_central = struct.pack("<HHI", 1, 4, 0)
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        bad_local(1, "b.npy", "the zip64 extra field is too short")])


@case("central", "zip64 everywhere: end record, locator, central extras for sizes and "
      "offsets, local extras; a valid archive")
def zip64_everything():
    members = three(DEFLATE)
    for m in members:
        m.zip64_local = True
        m.extra_central = struct.pack("<HHQQQ", 1, 24, m.usize, m.csize, 0)
        m.central = {"usize": 0xFFFFFFFF, "csize": 0xFFFFFFFF, "offset": 0xFFFFFFFF}
    data, lay = write_zip(members, zip64=True)
    # Patch the real local header offsets into the central extras.
    for i, at in enumerate(lay.central):
        n = len(members[i].name)
        data = put(data, at + 46 + n + 4 + 16, "<Q", lay.local[i])
    return opens(data, three_ok())


@case("central", "a stub of 500 bytes in front of the zip whose offsets were not adjusted "
      "(a self-extractor): zipfile reads it, so npzfs does too")
def prefix_stub():
    data, _ = write_zip(three(DEFLATE), prefix=b"#!/bin/sh\nexit 0\n" * 29 + b"#" * 7)
    return opens(data, three_ok())


@case("central", "a self-extractor whose offsets count its 500-byte stub, with the stub "
      "cut off: every offset is 500 too high; zipfile reads it, so npzfs does too")
def stub_removed_offsets_adjusted():
    stub = b"#!/bin/sh\nexit 0\n" * 29 + b"#" * 7
    data, _ = write_zip(three(DEFLATE), prefix=stub, adjusted=True)
    return opens(data[len(stub):], three_ok())


@case("central", "junk after the end record: zipfile reads it, so npzfs does too")
def junk_after_end():
    data, _ = write_zip(three())
    return opens(data + b"trailing junk " * 10, three_ok())


# ---------------------------------------------------------------------------
# Local headers that disagree with the central directory


def _mismatch(index, local=None, central=None, method=STORED):
    members = three(method)
    members[index].local = local or {}
    members[index].central = central or {}
    data, lay = write_zip(members)
    return data, lay, members


def _one_bad(index, why, method=STORED, **fields):
    data, _, _ = _mismatch(index, method=method, **fields)
    good = three_ok(skip=(index,))
    names = ["a.npy", "b.npy", "notes.txt"]
    return opens(data, good + [bad_local(index, names[index], why)])


@case("mismatch", "the local header says deflate, the central directory says stored")
def local_method_differs():
    return _one_bad(1, "local header says method 8, central directory says 0",
                    local={"method": DEFLATE})


@case("mismatch", "the central directory says deflate, the local header (and the data) "
      "say stored: the member is listed as deflate and cannot be read")
def central_method_differs():
    data, _, members = _mismatch(1, central={"method": DEFLATE})
    return opens(data, three_ok(skip=(1,)) + [
        bad_local(1, "b.npy", "local header says method 0, central directory says 8")])


@case("mismatch", "the local header holds another name of the same length")
def local_name_differs():
    return _one_bad(1, "the local header's name differs from the central directory's",
                    local={"name": b"x.npy"})


@case("mismatch", "the local header holds a longer name (so the data would start elsewhere)")
def local_name_longer():
    return _one_bad(1, "the local header's name differs from the central directory's",
                    local={"name": b"bbbb.npy"})


@case("mismatch", "the local header's CRC-32 differs")
def local_crc_differs():
    return _one_bad(0, "local header says CRC-32 1234, central directory says %d" % zlib.crc32(A),
                    local={"crc": 1234})


@case("mismatch", "the local header's uncompressed size differs")
def local_size_differs():
    return _one_bad(2, "local header says size 7, central directory says 480",
                    method=DEFLATE, local={"usize": 7})


@case("mismatch", "the local header's compressed size differs")
def local_csize_differs():
    return _one_bad(2, "local header says compressed size 7, central directory says %d"
                    % len(deflate(TEXT)),
                    method=DEFLATE, local={"csize": 7})


@case("mismatch", "numpy-style local zip64 extra whose uncompressed size differs from the "
      "central directory's")
def local_zip64_size_differs():
    members = three()
    for m in members:
        m.zip64_local = True
    members[0].local = {"usize": 99}
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(0,)) + [
        bad_local(0, "a.npy", "local header says size 99, central directory says 176")])


@case("mismatch", "the local header's signature is broken")
def local_signature_bad():
    data, lay, _ = _mismatch(1, local={"signature": 0x04034B51})
    return opens(data, three_ok(skip=(1,)) + [
        bad_local(1, "b.npy", "no local header at offset %d" % lay.local[1])])


@case("mismatch", "the central directory puts a local header past the end of the archive")
def local_offset_past_end():
    return _one_bad(1, "the local header offset 2147483647 lies past the end of the archive",
                    central={"offset": 0x7FFFFFFF})


@case("mismatch", "the central directory puts a local header 20 bytes before the end of "
      "the archive, too close for its fixed part")
def local_header_past_end():
    data, lay = write_zip(three())
    at = len(data) - 20
    data = put(data, lay.central[1] + 42, "<I", at)
    return opens(data, three_ok(skip=(1,)) + [
        bad_local(1, "b.npy", "the local header at offset %d lies past the end of the archive"
                  % at)])


@case("mismatch", "two central directory entries point at one local header: the second "
      "one's name is not the local header's")
def cd_entries_share_local_header():
    data, lay = write_zip(three())
    data = put(data, lay.central[1] + 42, "<I", lay.local[0])
    return opens(data, three_ok(skip=(1,)) + [
        bad_local(1, "b.npy", "the local header's name differs from the central directory's")])


@case("mismatch", "data descriptors (flag bit 3) with and without their signature, zero "
      "CRC and sizes in the local headers, as numpy writes to a pipe: valid")
def descriptor_zero_local_sizes():
    members = [Member("a.npy", A, DEFLATE, descriptor="signed"),
               Member("b.npy", B, STORED, descriptor="plain"),
               Member("notes.txt", TEXT, DEFLATE, descriptor="plain")]
    data, _ = write_zip(members)
    return opens(data, three_ok())


@case("mismatch", "flag bit 3 set and the local header's CRC and sizes are wrong rather "
      "than zero: with a data descriptor the central directory alone is used")
def descriptor_local_sizes_wrong():
    members = three(DEFLATE)
    members[0].flags |= 0x8
    members[0].local = {"crc": 1, "csize": 2, "usize": 3}
    data, _ = write_zip(members)
    return opens(data, three_ok())


# ---------------------------------------------------------------------------
# Declared sizes against what the data inflates to


@case("size", "deflate member declared 100 bytes shorter than it inflates to (both headers)")
def size_smaller_deflate():
    members = three(DEFLATE)
    members[1].usize -= 100
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        corrupt(1, "b.npy", "goes on past the declared size %d" % (len(B) - 100), content=B)])


@case("size", "deflate member declared 100 bytes longer than it inflates to")
def size_larger_deflate():
    members = three(DEFLATE)
    members[1].usize += 100
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        corrupt(1, "b.npy", "ends before the declared size %d" % (len(B) + 100), content=B)])


@case("size", "deflate member whose compressed size is 20 bytes short of its stream")
def csize_smaller_deflate():
    members = three(DEFLATE)
    members[1].csize -= 20
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        corrupt(1, "b.npy", "compressed data ends before the deflate stream does", content=B)])


@case("size", "deflate member whose compressed size runs 16 bytes past its stream's end "
      "(into the next header): zipfile reads it, so npzfs does too")
def csize_larger_deflate():
    members = three(DEFLATE)
    members[1].csize += 16
    data, _ = write_zip(members)
    return opens(data, three_ok())


@case("size", "stored member declared 10 bytes shorter (both sizes, both headers)")
def size_smaller_stored():
    members = three()
    members[1].usize -= 10
    members[1].csize -= 10
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        # The header read takes in the whole (short) member: CRC-32 checked.
        corrupt(1, "b.npy", "CRC-32 mismatch", content=B[:-10], npy="corrupt",
                npy_error="CRC-32 mismatch")])


@case("size", "stored member declared 10 bytes longer: it would take in the next local header")
def size_larger_stored():
    members = three()
    members[1].usize += 10
    members[1].csize += 10
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        corrupt(1, "b.npy", "CRC-32 mismatch", content=B)])


@case("size", "stored member whose uncompressed size differs from its compressed size")
def stored_sizes_differ():
    members = three()
    members[1].usize += 1000
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        bad_local(1, "b.npy", "a stored member's size %d differs from its compressed size %d"
                  % (len(B) + 1000, len(B)))])


@case("size", "a zip bomb: 64 MiB of zeros (64 KiB deflated) declared as 1 MiB; inflation "
      "stops at the declared size")
def bomb_declared_small():
    zeros = bytes(64 << 20)
    member = Member("bomb.npy", b"", DEFLATE, payload=deflate(zeros),
                    crc=zlib.crc32(zeros[:1 << 20]), usize=1 << 20)
    data, _ = write_zip([member, Member("a.npy", A)])
    return opens(data, [
        corrupt(0, "bomb.npy", "goes on past the declared size 1048576", npy="corrupt",
                npy_error="bad magic"),
        ok(1, "a.npy", A)])


@case("size", "bzip2 member declared 100 bytes shorter than it decompresses to")
def size_smaller_bzip2():
    members = three(BZIP2)
    members[1].usize -= 100
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        corrupt(1, "b.npy", "goes on past the declared size %d" % (len(B) - 100), content=B)])


@case("size", "bzip2 member declared 100 bytes longer than it decompresses to")
def size_larger_bzip2():
    members = three(BZIP2)
    members[1].usize += 100
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [
        corrupt(1, "b.npy", "data ends", content=B)])


# ---------------------------------------------------------------------------
# CRC-32


def _crc_case(method, index=1):
    members = three(method)
    members[index].crc ^= 0x5A5A5A5A
    data, _ = write_zip(members)
    names, contents = ["a.npy", "b.npy", "notes.txt"], [A, B, TEXT]
    want = "CRC-32 mismatch: data has %08x, archive says %08x" % (
        zlib.crc32(contents[index]), members[index].crc)
    return opens(data, three_ok(skip=(index,)) + [
        corrupt(index, names[index], want, content=contents[index])])


@case("crc", "stored member with a wrong CRC-32 in both headers")
def crc_stored():
    return _crc_case(STORED)


@case("crc", "deflate member with a wrong CRC-32 in both headers")
def crc_deflate():
    return _crc_case(DEFLATE)


@case("crc", "bzip2 member with a wrong CRC-32 in both headers")
def crc_bzip2():
    return _crc_case(BZIP2)


@case("crc", "empty stored and deflate members whose CRC-32 is not 0: zipfile fails "
      "reading them, so npzfs does too")
def crc_empty_members():
    members = [Member("empty_stored.bin", b"", STORED, crc=1),
               Member("empty_deflate.bin", b"", DEFLATE, crc=1), Member("a.npy", A)]
    data, _ = write_zip(members)
    want = "CRC-32 mismatch: data has 00000000, archive says 00000001"
    return opens(data, [corrupt(0, "empty_stored.bin", want, content=b""),
                        corrupt(1, "empty_deflate.bin", want, content=b""),
                        ok(2, "a.npy", A)])


# ---------------------------------------------------------------------------
# Bad .npy headers: the member's bytes read fine, its header is refused (no
# raw file, no npy xattrs) or its shape does not match its data.


def _npy_case(content, npy, npy_error=None, raw=None, method=DEFLATE):
    members = [Member("x.npy", content, method), Member("a.npy", A, method)]
    data, _ = write_zip(members)
    m = ok(0, "x.npy", content, npy=npy)
    if npy_error:
        m["npy_error"] = npy_error
    if raw is not None:
        m["raw"] = raw
    return opens(data, [m, ok(1, "a.npy", A, raw=True)])


@case("npy", "an .npy member holding random bytes")
def npy_garbage():
    rng = np.random.default_rng(5)
    return _npy_case(rng.integers(0, 256, 300, dtype=np.uint8).tobytes(), "corrupt", "bad magic")


@case("npy", "an .npy member of 7 bytes: the prefix is cut short")
def npy_truncated_prefix():
    return _npy_case(b"\x93NUMPY\x01", "corrupt", "truncated")


@case("npy", "an empty .npy member")
def npy_empty_member():
    return _npy_case(b"", "corrupt", "truncated")


@case("npy", "version 4.0, which no numpy writes")
def npy_bad_version():
    return _npy_case(b"\x93NUMPY\x04\x00" + A[8:], "corrupt", "unsupported npy version 4.0")


@case("npy", "the header length says 60000 bytes in a 176-byte member")
def npy_header_len_past_member():
    return _npy_case(put(A, 8, "<H", 60000), "corrupt", "runs past the member's end")


@case("npy", "an overlong header: version 2.0, 2 MiB of padding, over the limit npzfs "
      "reads (numpy refuses headers over 10,000 bytes unless told otherwise)")
def npy_overlong_header():
    text = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"
    npy = npy_from_header(text + " " * (2 << 20), np.arange(3, dtype="<i4").tobytes(), major=2)
    return _npy_case(npy, "unsupported", "larger than the limit")


@case("npy", "a lying shape: (1000000000,) float64 over 400 bytes of data; the header is "
      "valid but the raw view cannot serve it")
def npy_lying_shape():
    npy = npy_from_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }",
                          bytes(400))
    return _npy_case(npy, "ok", raw=False)


@case("npy", "a shape whose element count overflows")
def npy_shape_overflow():
    npy = npy_from_header("{'descr': '<f8', 'fortran_order': False, "
                          "'shape': (4611686018427387904, 16), }", bytes(16))
    return _npy_case(npy, "corrupt", "overflows")


@case("npy", "shape x itemsize is 52 bytes and 48 follow the header: too few for the raw view")
def npy_data_short():
    npy = npy_from_header("{'descr': '<i4', 'fortran_order': False, 'shape': (13,), }",
                          bytes(48))
    return _npy_case(npy, "ok", raw=False)


@case("npy", "shape x itemsize is 44 bytes and 48 follow the header: the raw view serves "
      "all 48 (SPEC: at least shape x itemsize)")
def npy_data_long():
    npy = npy_from_header("{'descr': '<i4', 'fortran_order': False, 'shape': (11,), }",
                          bytes(48))
    return _npy_case(npy, "ok", raw=True)


@case("npy", "a negative dimension")
def npy_negative_dim():
    npy = npy_from_header("{'descr': '<i4', 'fortran_order': False, 'shape': (-1,), }", bytes(8))
    return _npy_case(npy, "corrupt", "negative dimension")


@case("npy", "the header dict lacks 'fortran_order'")
def npy_missing_key():
    npy = npy_from_header("{'descr': '<i4', 'shape': (2,), }", bytes(8))
    return _npy_case(npy, "corrupt", "missing key 'fortran_order'")


@case("npy", "a NUL byte inside the header")
def npy_nul_in_header():
    npy = npy_from_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\0",
                          bytes(8))
    return _npy_case(npy, "corrupt", "NUL byte")


@case("npy", "a header that is not a Python literal")
def npy_header_garbage():
    npy = npy_from_header("{'descr': <i4, fortran_order: no", bytes(8))
    return _npy_case(npy, "corrupt", "npy header")


@case("npy", "an unknown dtype '<q9'")
def npy_unknown_dtype():
    npy = npy_from_header("{'descr': '<q9', 'fortran_order': False, 'shape': (2,), }", bytes(8))
    return _npy_case(npy, "unsupported", "unsupported dtype descr")


@case("npy", "an object array (a pickle): valid header, no raw view")
def npy_object_array():
    return _npy_case(npy_bytes(np.array([1, "two", None], dtype=object)), "ok", raw=False)


# ---------------------------------------------------------------------------
# Names


def _names_case(names_and_expect, method=STORED):
    """names_and_expect: (name or bytes, flags, expectation builder)."""
    members, exps = [], []
    for i, (name, flags, build) in enumerate(names_and_expect):
        members.append(Member(name, A, method, flags=flags))
        exps.append(build(i))
    data, _ = write_zip(members)
    return opens(data, exps)


def _okp(name, path=None, **kw):
    return lambda i: ok(i, name, A, path=path, raw=True, **kw)


def _skip(name, why):
    return lambda i: skipped(i, name, why)


@case("names", "'..' components: left out")
def name_dotdot():
    return _names_case([("../evil.npy", 0, _skip("../evil.npy", "'..' component")),
                        ("a/../../b.npy", 0, _skip("a/../../b.npy", "'..' component")),
                        ("c/..", 0, _skip("c/..", "'..' component")),
                        ("fine.npy", 0, _okp("fine.npy"))])


@case("names", "'.' components: left out")
def name_dot():
    return _names_case([("./a.npy", 0, _skip("./a.npy", "'.' component")),
                        ("d/./b.npy", 0, _skip("d/./b.npy", "'.' component")),
                        ("fine.npy", 0, _okp("fine.npy"))])


@case("names", "absolute paths: the leading '/' is dropped (SPEC §2)")
def name_absolute():
    return _names_case([("/abs/x.npy", 0, _okp("/abs/x.npy", "abs/x.npy")),
                        ("//double.npy", 0, _okp("//double.npy", "double.npy")),
                        ("fine.npy", 0, _okp("fine.npy"))])


@case("names", "empty components: left out")
def name_empty_component():
    return _names_case([("a//b.npy", 0, _skip("a//b.npy", "empty component")),
                        ("fine.npy", 0, _okp("fine.npy"))])


@case("names", "empty names, and '/' alone: left out")
def name_empty():
    return _names_case([("", 0, _skip("", "the name is empty")),
                        ("/", 0, _skip("/", "the name is empty")),
                        ("fine.npy", 0, _okp("fine.npy"))])


@case("names", "a NUL byte in a name: left out; the name is shown cut at the NUL, as "
      "zipfile does")
def name_nul():
    return _names_case([(b"a\0b.npy", 0, _skip("a", "NUL byte")),
                        ("fine.npy", 0, _okp("fine.npy"))])


@case("names", "a 300-character name: left out (components are at most 255 bytes); a "
      "255-character one is fine")
def name_300_chars():
    long_name, max_name = "n" * 296 + ".npy", "m" * 251 + ".npy"
    return _names_case([(long_name, 0, _skip(long_name, "component is longer than 255 bytes")),
                        (max_name, 0, _okp(max_name))])


@case("names", "a 5,000-character path of short components: left out (paths are at most "
      "4096 bytes); a 4096-byte one is fine")
def name_5000_chars():
    long_path = "dd/" * 1665 + "x.npy"
    max_path = "dd/" * 1363 + "x.npy"
    assert len(long_path) == 5000 and len(max_path) == 4094
    max_path = "d" * 2 + max_path
    return _names_case([(long_path, 0, _skip(long_path, "longer than 4096 bytes")),
                        (max_path, 0, _okp(max_path))])


@case("names", "a member 1,000 directories deep")
def name_deep():
    deep = "d/" * 1000 + "x.npy"
    return _names_case([(deep, 0, _okp(deep)), ("d/y.npy", 0, _okp("d/y.npy"))])


@case("names", "backslashes are ordinary characters")
def name_backslash():
    return _names_case([("back\\slash.npy", 0, _okp("back\\slash.npy")),
                        ("..\\up.npy", 0, _okp("..\\up.npy"))])


@case("names", "a name flagged UTF-8 that is not valid UTF-8: left out (zipfile cannot "
      "open such an archive at all; npzfs keeps the rest); the name is shown as CP437")
def name_bad_utf8():
    return _names_case([(b"\xff\xfe.npy", 0x800, _skip(b"\xff\xfe.npy".decode("cp437"),
                                                     "not valid UTF-8")),
                        ("fine.npy", 0, _okp("fine.npy"))])


@case("names", "names without the UTF-8 flag are CP437, with it UTF-8 (as zipfile reads "
      "them, so paths equal numpy's keys)")
def name_encodings():
    return _names_case([(b"caf\x82.npy", 0, _okp("caf\u00e9.npy")),
                        ("\u6e29\u5ea6.npy", 0, _okp("\u6e29\u5ea6.npy"))])


@case("names", "two members named dup.npy: both are in the index; the tree shows the last, "
      "as zipfile and np.load do")
def name_duplicates():
    members = [Member("dup.npy", A), Member("b.npy", B), Member("dup.npy", BIG, DEFLATE)]
    data, _ = write_zip(members)
    return opens(data, [ok(0, "dup.npy", A, visible=False), ok(1, "b.npy", B),
                        ok(2, "dup.npy", BIG)])


@case("names", "x.npy and x.npy/y.npy: the directory wins, the file is left out of the "
      "tree (SPEC §2)")
def name_file_dir_conflict():
    members = [Member("x.npy", A), Member("x.npy/y.npy", B)]
    data, _ = write_zip(members)
    return opens(data, [ok(0, "x.npy", A, visible=False), ok(1, "x.npy/y.npy", B)])


@case("names", "a directory entry holding data: it is a directory")
def name_directory_with_data():
    members = [Member("d/", b"hello", external=0o40755 << 16), Member("d/a.npy", A)]
    data, _ = write_zip(members)
    return opens(data, [{"index": 0, "name": "d/", "path": "d", "read": "directory"},
                        ok(1, "d/a.npy", A)])


@case("names", "a top-level 'raw' member: archive members win, the raw view is left out")
def name_raw_collision():
    members = [Member("raw", TEXT), Member("a.npy", A)]
    data, _ = write_zip(members)
    return opens(data, [ok(0, "raw", TEXT), ok(1, "a.npy", A)])


# ---------------------------------------------------------------------------
# Encryption and methods

ENCRYPTED = "encrypted members are not supported"


@case("encrypted", "a stored member encrypted with traditional PKWARE encryption "
      "(password 'npzfs')")
def encrypted_zipcrypto():
    crc = zlib.crc32(B)
    payload = zipcrypto(B, b"npzfs", crc >> 24)
    members = [Member("a.npy", A), Member("b.npy", B, STORED, flags=0x1, payload=payload)]
    data, _ = write_zip(members)
    return opens(data, [ok(0, "a.npy", A), unsupported(1, "b.npy", ENCRYPTED)])


@case("encrypted", "a deflate member with the encryption flag")
def encrypted_deflate():
    members = three(DEFLATE)
    members[0].flags |= 0x1
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(0,)) + [unsupported(0, "a.npy", ENCRYPTED)])


@case("encrypted", "strong encryption (flag bits 0 and 6)")
def encrypted_strong():
    members = three()
    members[2].flags |= 0x41
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(2,)) + [unsupported(2, "notes.txt", ENCRYPTED)])


@case("encrypted", "WinZip AES: method 99 with its 0x9901 extra field, flag bit 0")
def encrypted_aes():
    aes = struct.pack("<HHHHBH", 0x9901, 7, 2, 0x4541, 3, DEFLATE)
    members = [Member("a.npy", A, 99, flags=0x1, payload=bytes(200), extra_local=aes,
                      extra_central=aes), Member("b.npy", B)]
    data, _ = write_zip(members)
    return opens(data, [unsupported(0, "a.npy", ENCRYPTED), ok(1, "b.npy", B)])


@case("method", "bzip2 members (method 12), which zipfile writes: readable")
def method_bzip2():
    members = three(BZIP2) + [Member("big.npy", BIG, BZIP2)]
    data, _ = write_zip(members)
    return opens(data, three_ok() + [ok(3, "big.npy", BIG)])


@case("method", "an LZMA member (method 14, as zipfile writes it)")
def method_lzma():
    members = [Member("a.npy", A, LZMA), Member("b.npy", B, DEFLATE)]
    data, _ = write_zip(members)
    return opens(data, [ok(0, "a.npy", A), ok(1, "b.npy", B)])


@case("method", "a Zstandard member (method 93) whose frame is cut after its magic")
def method_zstd_corrupt():
    members = [Member("a.npy", A, ZSTD, payload=b"\x28\xb5\x2f\xfd" + bytes(60)),
               Member("b.npy", B)]
    data, _ = write_zip(members)
    return opens(data, [corrupt(0, "a.npy", "zstd"), ok(1, "b.npy", B)])


@case("method", "deflate64 (method 9): listed, not readable")
def method_deflate64():
    members = [Member("a.npy", A, 9, payload=deflate(A)), Member("b.npy", B)]
    data, _ = write_zip(members)
    return opens(data, [unsupported(0, "a.npy", "compression method unknown(9) is not "
                                    "supported"), ok(1, "b.npy", B)])


@case("method", "an unknown method id (77): listed, not readable")
def method_unknown():
    members = [Member("a.npy", A, 77, payload=bytes(50)), Member("b.npy", B)]
    data, _ = write_zip(members)
    return opens(data, [unsupported(0, "a.npy", "compression method unknown(77) is not "
                                    "supported"), ok(1, "b.npy", B)])


@case("method", "a bzip2 member whose stream is damaged in the middle")
def method_bzip2_corrupt():
    members = three(BZIP2)
    p = bytearray(members[1].payload)
    for i in range(len(p) // 2, len(p) // 2 + 8):
        p[i] ^= 0xFF
    members[1].payload = bytes(p)
    data, _ = write_zip(members)
    return opens(data, three_ok(skip=(1,)) + [corrupt(1, "b.npy", "")])


@case("method", "a deflate member whose stream is damaged in the middle")
def method_deflate_corrupt():
    members = three(DEFLATE) + [Member("big.npy", BIG, DEFLATE)]
    p = bytearray(members[3].payload)
    for i in range(len(p) // 2, len(p) // 2 + 8):
        p[i] ^= 0xFF
    members[3].payload = bytes(p)
    data, _ = write_zip(members)
    return opens(data, three_ok() + [corrupt(3, "big.npy", ["deflate", "CRC-32", "declared size"])])


# ---------------------------------------------------------------------------
# Empty and many


@case("empty", "np.savez with no arrays: an end record and nothing else")
def empty_numpy():
    return opens(savez({}), [])


@case("empty", "an empty archive with an archive comment")
def empty_with_comment():
    data, _ = write_zip([], comment=b"nothing here")
    return opens(data, [])


@case("empty", "a file of zero bytes")
def empty_file():
    return refused(b"", NOT_A_ZIP)


@case("empty", "a file of 21 bytes, one short of an end record")
def empty_short_file():
    data, _ = write_zip([])
    return refused(data[:21], NOT_A_ZIP)


def _many(n, zip64, count=None):
    template = npy_bytes(np.array([0], dtype="<i4"))[:-4]
    members = []
    for i in range(n):
        members.append(Member("m%06d.npy" % i, template + struct.pack("<i", i)))
    data, _ = write_zip(members, zip64=zip64, count=count)
    sample = [0, 1, 65535, 65536, n - 1]
    return opens(data, [ok(i, "m%06d.npy" % i, members[i].data, raw=True) for i in sample],
                 some=True, count=n)


@case("many", "100,000 members: zip64 end record and locator")
def many_members():
    return _many(100000, True)


@case("many", "100,000 members and no zip64 records: the end record's count wrapped to "
      "34464; like zipfile, npzfs reads records until the directory's size is used up")
def many_members_count_wrapped():
    return _many(100000, False)


# ---------------------------------------------------------------------------
# Output


def build(name):
    group, description, fn = CASES[name]
    data, expect = fn()
    entry = {"name": name, "file": name + ".npz", "group": group,
             "description": description}
    entry.update(expect)
    if "members" in entry:
        entry["members"].sort(key=lambda m: m["index"])
    return data, entry


def write_case(name, path, content_dir, rel_dir):
    """Writes the archive to `path` and the true member contents under
    content_dir (named in the manifest relative to rel_dir)."""
    data, entry = build(name)
    entry["file"] = os.path.relpath(path, rel_dir)
    with open(path, "wb") as f:
        f.write(data)
    os.makedirs(content_dir, exist_ok=True)
    for m in entry.get("members", []):
        if "content" in m:
            blob = os.path.join(content_dir, "%d.bin" % m["index"])
            with open(blob, "wb") as f:
                f.write(m["content"])
            m["content"] = os.path.relpath(blob, rel_dir)
    return entry


def main(argv):
    args = argv[1:]
    if args[:1] == ["--list"]:
        if "--json" in args:
            print(json.dumps([{"name": n, "group": g, "description": d}
                              for n, (g, d, _) in CASES.items()], indent=1))
        else:
            for n, (g, d, _) in CASES.items():
                print("%-34s %-10s %s" % (n, g, d))
        return 0
    if args[:1] == ["--case"] and len(args) == 4 and args[2] == "--output":
        name, path = args[1], args[3]
        out = os.path.dirname(os.path.abspath(path))
        entry = write_case(name, path, path + ".expected", out)
        print(json.dumps(entry, indent=1))
        return 0
    if args[:1] == ["--outdir"] and len(args) >= 2:
        out = args[1]
        names = args[2:] or list(CASES)
        unknown = [n for n in names if n not in CASES]
        if unknown:
            print("unknown case(s): " + " ".join(unknown), file=sys.stderr)
            return 2
        os.makedirs(out, exist_ok=True)
        manifest = [write_case(n, os.path.join(out, n + ".npz"),
                               os.path.join(out, n + ".expected"), out) for n in names]
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump({"cases": manifest}, f, indent=1)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
