"""Makes the .npz archives the tests read, with numpy and zipfile.

usage: make_npz.py OUTDIR KIND...      (KIND "standard" makes the usual set)
       make_npz.py --dump ARCHIVE OUTDIR

--dump writes what Python's zipfile reads of each member: OUTDIR/N.bin for
member N of the central directory (or OUTDIR/N.err with the reason), and
OUTDIR/index.json with zipfile's view of every member plus, for arrays,
numpy's view of the header.
"""
import io
import json
import os
import struct
import sys
import zipfile
import zlib

import numpy as np


def mixed_arrays():
    """Every dtype kind numpy writes, both orders, odd shapes, nested keys."""
    rng = np.random.default_rng(7)
    a = {}
    a["bool"] = rng.integers(0, 2, 37).astype(bool)
    for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
        a["int_" + t] = rng.integers(0, 100, 29).astype(t)
    a["f2"] = rng.standard_normal(31).astype(np.float16)
    a["f4"] = rng.standard_normal(1000).astype(np.float32)
    a["f8"] = rng.standard_normal(333).astype(np.float64)
    a["longdouble"] = rng.standard_normal(17).astype(np.longdouble)
    a["c8"] = (rng.standard_normal(9) + 1j).astype(np.complex64)
    a["c16"] = (rng.standard_normal(9) + 2j).astype(np.complex128)
    a["clongdouble"] = (rng.standard_normal(5) + 3j).astype(np.clongdouble)
    a["datetime"] = np.arange("2020-01-01", "2020-02-01", dtype="datetime64[D]").astype("M8[ns]")
    a["timedelta"] = np.arange(12).astype("m8[s]")
    a["bytes"] = np.array([b"abc", b"hello", b""], dtype="S5")
    a["unicode"] = np.array(["x", "héllo", "温度"], dtype="U7")
    a["void"] = np.frombuffer(bytes(range(64)), dtype="V8")
    a["big_endian_f8"] = np.arange(10, dtype=">f8")
    a["big_endian_i4"] = np.arange(10, dtype=">i4")
    a["c_order_2d"] = np.arange(60, dtype=np.int32).reshape(6, 10)
    a["fortran_2d"] = np.asfortranarray(np.arange(60, dtype=np.float32).reshape(6, 10))
    a["scalar"] = np.array(3.5)
    a["empty"] = np.zeros((0,), dtype=np.float64)
    a["empty_2d"] = np.zeros((3, 0), dtype=np.int16)
    a["structured"] = np.array([(1.5, 2), (3.5, 4)], dtype=[("x", "<f4"), ("label", "<i4")])
    a["nested"] = np.zeros(4, dtype=[("pos", [("x", "<f8"), ("y", "<f8")]), ("id", "<u2")])
    a["subarray"] = np.ones(3, dtype=[("m", "<f4", (2, 3)), ("n", "|u1")])
    a["objects"] = np.array([1, "two", None], dtype=object)
    a["group/sub/deep"] = np.arange(5, dtype=np.uint8)
    a["group/other"] = np.arange(7, dtype=np.int64)
    # Several inflate input chunks and many deflate blocks.
    a["large"] = np.cumsum(rng.standard_normal(400_000)).astype(np.float32)
    return a


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


class Unseekable(io.RawIOBase):
    """A write-only stream without seek or tell, like a pipe."""

    def __init__(self, f):
        self.f = f

    def writable(self):
        return True

    def write(self, b):
        return self.f.write(b)


def make(outdir, kind):
    path = os.path.join(outdir, kind + ".npz")
    arrays = mixed_arrays()
    if kind == "stored":
        np.savez(path, **arrays)
    elif kind == "compressed":
        np.savez_compressed(path, **arrays)
    elif kind in ("descriptor_stored", "descriptor_compressed"):
        small = {k: v for k, v in arrays.items() if k in ("f4", "structured", "scalar", "empty", "group/sub/deep")}
        save = np.savez if kind == "descriptor_stored" else np.savez_compressed
        with open(path, "wb") as f:
            save(Unseekable(f), **small)
    elif kind == "comment":
        np.savez(path, a=np.arange(3))
        with zipfile.ZipFile(path, "a") as z:
            z.comment = b"made for npzfs tests"
    elif kind == "nonnpy":
        np.savez_compressed(path, a=np.arange(3))
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("notes.txt", "not an array\n" * 100)
            z.writestr("README", b"\x00\x01binary")
            z.writestr("dir/", b"")
    elif kind in ("bzip2", "lzma"):
        method = zipfile.ZIP_BZIP2 if kind == "bzip2" else zipfile.ZIP_LZMA
        with zipfile.ZipFile(path, "w", compression=method) as z:
            z.writestr("x.npy", npy_bytes(arrays["large"][:50_000]))
            z.writestr("empty.npy", npy_bytes(arrays["empty"]))
        # A deflate member too, to show the others still read.
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("y.npy", npy_bytes(arrays["f8"]))
    elif kind == "prefix":
        buf = io.BytesIO()
        np.savez_compressed(buf, a=arrays["f4"], b=arrays["structured"])
        with open(path, "wb") as f:
            f.write(b"#!/bin/sh\necho self-extracting stub\nexit 0\n" * 10)
            f.write(buf.getvalue())
    elif kind == "junk_after":
        np.savez(path, a=arrays["f8"])
        with open(path, "ab") as f:
            f.write(b"trailing junk" * 5)
    elif kind == "encrypted":
        np.savez(path, a=np.arange(10), b=np.arange(4))
        set_flag(path, "a.npy", 0x1)
    elif kind == "many":
        # More than 65535 members: zip64 end of central directory.
        with zipfile.ZipFile(path, "w") as z:
            for i in range(70_000):
                z.writestr("m%05d.npy" % i, npy_bytes(np.array([i], dtype="<i4")))
    elif kind == "scan_mix":
        # Thousands of arrays, stored and deflated in turn, with headers of
        # several lengths, object arrays, bad headers and shapes that lie:
        # what Archive::ScanArrays reads on two threads.
        dtypes = ["<f4", "<i8", "|b1",
                  [("x", "<f8"), ("label", "<U30"), ("a" * 60, "<i2"), ("b" * 60, "<i2")]]
        with zipfile.ZipFile(path, "w") as z:
            for i in range(6000):
                method = zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED
                if i % 997 == 0:
                    data = b"\x93NUMPY garbage"
                elif i % 1009 == 0:
                    data = npy_bytes(np.array([None, i], dtype=object))
                elif i % 1013 == 0:
                    data = npy_bytes(np.arange(4, dtype="<i4"))[:-4]
                else:
                    data = npy_bytes(np.zeros(i % 7, dtype=np.dtype(dtypes[i % len(dtypes)])))
                z.writestr("a%05d.npy" % i, data, compress_type=method)
    elif kind == "cp437":
        # 'cafX.npy' without the UTF-8 flag, then X patched to byte 0x82,
        # which zipfile decodes as CP437 'é'; and a flagged UTF-8 name.
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("cafX.npy", npy_bytes(np.arange(2)))
            z.writestr("温度.npy", npy_bytes(np.arange(3)))
        data = open(path, "rb").read().replace(b"cafX.npy", b"caf\x82.npy")
        open(path, "wb").write(data)
    elif kind == "empty":
        np.savez(path)
    elif kind == "zero_size":
        # Members of 0 bytes: stored, and deflated (a deflate stream still).
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("stored.bin", b"")
            z.writestr("deflated.bin", b"", compress_type=zipfile.ZIP_DEFLATED)
            z.writestr("x.npy", npy_bytes(np.arange(3)), compress_type=zipfile.ZIP_DEFLATED)
    elif kind == "big":
        # 64 MiB of float32 that deflates about 4:1 (INFLATE.md's "smooth"),
        # plus a small member. Not in STANDARD: slow to make.
        t = np.arange(16 << 20, dtype=np.float64)
        x = 20 * np.sin(t / 5000) + 5 * np.sin(t / 377) + np.random.default_rng(3).standard_normal(t.size)
        x = (np.round(x * 4) / 4).astype(np.float32)
        np.savez_compressed(path, big=x, small=arrays["f8"])
    else:
        raise SystemExit("unknown kind " + kind)
    return path


def set_flag(path, name, bit):
    """Sets a general purpose flag bit of one member in both headers."""
    data = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    lho = info.header_offset
    struct.pack_into("<H", data, lho + 6, struct.unpack_from("<H", data, lho + 6)[0] | bit)
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + n] == name.encode():
            struct.pack_into("<H", data, pos + 8, struct.unpack_from("<H", data, pos + 8)[0] | bit)
        pos += 4
    open(path, "wb").write(bytes(data))


def make_huge(path, size):
    """A stored member of `size` bytes (> 4 GiB), sparse on disk: zeros,
    with a marker in its last 4 KiB. Written by hand, zip64 everywhere."""
    tail = bytes((i * 7) % 251 for i in range(4096))
    crc = 0
    zeros = bytes(1 << 24)
    left = size - len(tail)
    while left:
        n = min(left, len(zeros))
        crc = zlib.crc32(zeros[:n] if n < len(zeros) else zeros, crc)
        left -= n
    crc = zlib.crc32(tail, crc)
    name = b"huge.bin"
    z64_local = struct.pack("<HHQQ", 1, 16, size, size)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc,
                            0xFFFFFFFF, 0xFFFFFFFF, len(name), len(z64_local)))
        f.write(name + z64_local)
        data_at = f.tell()
        f.seek(data_at + size - len(tail))
        f.write(tail)
        cd_at = f.tell()
        z64_central = struct.pack("<HHQQ", 1, 16, size, size)
        f.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc,
                            0xFFFFFFFF, 0xFFFFFFFF, len(name), len(z64_central), 0, 0, 0, 0, 0))
        f.write(name + z64_central)
        cd_end = f.tell()
        f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1,
                            cd_end - cd_at, cd_at))
        f.write(struct.pack("<IIQI", 0x07064B50, 0, cd_end, 1))
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, 0xFFFFFFFF, 0xFFFFFFFF, 0))


def dump(archive, outdir):
    os.makedirs(outdir, exist_ok=True)
    members = []
    with zipfile.ZipFile(archive) as z:
        for i, info in enumerate(z.infolist()):
            m = {"name": info.filename, "size": info.file_size,
                 "compressed_size": info.compress_size, "crc32": info.CRC,
                 "method": info.compress_type, "flags": info.flag_bits}
            try:
                data = z.read(info)
                with open(os.path.join(outdir, "%d.bin" % i), "wb") as f:
                    f.write(data)
                if info.filename.endswith(".npy") and data[:6] == b"\x93NUMPY":
                    fp = io.BytesIO(data)
                    version = np.lib.format.read_magic(fp)
                    shape, fortran, dtype = np.lib.format._read_array_header(fp, version)
                    descr = np.lib.format.dtype_to_descr(dtype)
                    m["npy"] = {"descr": descr if isinstance(descr, str) else repr(descr),
                                "shape": repr(shape), "fortran_order": fortran,
                                "data_offset": fp.tell(), "version": "%d.%d" % version}
            except Exception as e:  # noqa: BLE001 - any failure is what we record
                m["error"] = str(e)
            members.append(m)
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump(members, f)


STANDARD = ["stored", "compressed", "descriptor_stored", "descriptor_compressed",
            "comment", "nonnpy", "bzip2", "lzma", "prefix", "junk_after",
            "encrypted", "cp437", "empty"]


def main(argv):
    if argv[1] == "--dump":
        dump(argv[2], argv[3])
    elif argv[1] == "--huge":
        make_huge(argv[2], int(argv[3]))
    else:
        outdir = argv[1]
        os.makedirs(outdir, exist_ok=True)
        kinds = []
        for k in argv[2:]:
            kinds += STANDARD if k == "standard" else [k]
        for k in kinds:
            make(outdir, k)


if __name__ == "__main__":
    main(sys.argv)
