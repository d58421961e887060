"""Checks a mounted archive with numpy, the way users will use it.

usage: check_mount.py MOUNTPOINT ARCHIVE [RAW_DIR]

For every array of the archive (as np.load lists it): np.load of the
mounted .npy equals the archive's array; np.load(mmap_mode="r") works and
is equal; the raw file's bytes equal arr.tobytes(order="A") and an
np.memmap over it equals the array; every user.npy.* xattr equals what
numpy.lib.format reads from the member's header, and user.zip.* what
zipfile says. Prints one line per failure and exits 1 if there was any.
"""
import io
import os
import sys
import zipfile

import numpy as np

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def same(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.hasobject:
        return all(x == y for x, y in zip(a.ravel().tolist(), b.ravel().tolist()))
    return a.tobytes(order="A") == b.tobytes(order="A") and np.isfortran(a) == np.isfortran(b)


def header_facts(data):
    fp = io.BytesIO(data)
    version = np.lib.format.read_magic(fp)
    shape, fortran, dtype = np.lib.format._read_array_header(fp, version, max_header_size=2**64)
    offset = fp.tell()
    hlen_size = 2 if version == (1, 0) else 4
    text = data[8 + hlen_size:offset].decode("utf8" if version == (3, 0) else "latin1")
    descr = np.lib.format.dtype_to_descr(dtype)
    return {
        "user.npy.descr": descr if isinstance(descr, str) else repr(descr),
        "user.npy.shape": repr(shape),
        "user.npy.fortran_order": repr(fortran),
        "user.npy.version": "%d.%d" % version,
        "user.npy.data_offset": str(offset),
        "user.npy.header": text.rstrip(" \n"),
    }, dtype, shape, fortran, offset


def xattrs(path):
    return {n: os.getxattr(path, n).decode() for n in os.listxattr(path)}


def main(mnt, archive, raw_dir="raw"):
    methods = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
    # NpzFile rather than np.load: np.load sniffs the first bytes and cannot
    # read a zip with a stub in front, which zipfile (and npzfs) can.
    npz = np.lib.npyio.NpzFile(archive, allow_pickle=True)
    with zipfile.ZipFile(archive) as z:
        infos = {i.filename: i for i in z.infolist()}
        member_count = len(z.infolist())
        for key in npz.files:
            name = key + ".npy" if key + ".npy" in infos else key
            info = infos[name]
            path = os.path.join(mnt, name)
            if name.endswith("/"):
                check(os.path.isdir(path), "%s: not a directory" % name)
                continue
            if not name.endswith(".npy"):
                check(open(path, "rb").read() == z.read(info), "%s: bytes differ" % name)
                continue
            want = npz[key]
            data = z.read(info)
            facts, dtype, shape, fortran, offset = header_facts(data)
            got = np.load(path, allow_pickle=True)
            check(same(got, want), "%s: np.load differs" % name)
            zip_x = {"user.zip.method": methods.get(info.compress_type, "?"),
                     "user.zip.size": str(info.file_size),
                     "user.zip.compressed_size": str(info.compress_size),
                     "user.zip.crc32": "%08x" % info.CRC}
            check(xattrs(path) == {**facts, **zip_x},
                  "%s: xattrs %r != %r" % (name, xattrs(path), {**facts, **zip_x}))
            raw = os.path.join(mnt, raw_dir, key)
            if dtype.hasobject:
                check(not os.path.exists(raw), "%s: object array has a raw file" % name)
                continue
            mm = np.load(path, mmap_mode="r")
            check(same(np.asarray(mm), want), "%s: np.load(mmap_mode='r') differs" % name)
            check(isinstance(mm, np.memmap) or mm.size == 0, "%s: not memory-mapped" % name)
            rb = open(raw, "rb").read()
            check(rb == want.tobytes(order="A"), "%s: raw bytes differ" % name)
            check(os.stat(raw).st_size == info.file_size - offset, "%s: raw size" % name)
            check(xattrs(raw) == {**facts, **zip_x}, "%s: raw xattrs differ" % name)
            if len(rb) > 0:
                m = np.memmap(raw, dtype=dtype, mode="r", shape=shape,
                              order="F" if fortran else "C")
                check(same(np.array(m, order="F" if fortran else "C"), want),
                      "%s: np.memmap over the raw file differs" % name)
    root = xattrs(mnt)
    check(root == {"user.npz.archive": os.path.realpath(archive),
                   "user.npz.members": str(member_count)},
          "root xattrs %r" % root)
    for f in failures:
        print(f)
    print("%d arrays checked, %d failures" % (len(npz.files), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
