"""The npzfs benchmark: npzfs against numpy, plain .npy files and other
FUSE mounters, as ratios measured in one run, medians of several runs.

usage: bench.py --npzfs BIN [--npzinfo BIN] --data DIR [--runs N] [--only a,b,c,d,e,f,g,h,r,s,p]

Makes its data with numpy in DIR (kept for later runs), mounts with npzfs
and, where installed, fuse-zip and archivemount, and prints:

 (a) sequential read of a ~1 GiB compressed member: npzfs (first read after
     a fresh mount) vs numpy's np.load of it from the npz vs `cat` of the
     plain .npy from the page cache; fuse-zip and archivemount
 (b) after a fresh mount, the first 4 KiB read at 90 % of that member, then
     100 random 4 KiB reads (median, p99); then, after a whole pass and with
     the kernel's cached pages of the file dropped, 100 more
 (c) the daemon's peak RSS (VmHWM) after reading the whole member, at
     cache_size=64M and at the default
 (d) mount time, `find | wc -l` and `ls -l` over a 100,000-member npz (vs
     the same tree of empty files on tmpfs), and the daemon's RSS afterwards
 (e) np.load of a 40 MB array (10000x1000 float32) through the mount (both
     np.savez and np.savez_compressed) vs the plain .npy vs numpy's own read
     of the npz
 (f) a ~1 GiB stored member: first and second sequential read through the
     mount vs `cat` of the plain .npy from the page cache
 (g) mount time of hostile archives: 400,000 members of one name, 400,000
     entries of one directory, 200,000 files each hidden by a directory of
     its name, vs an archive of 400,000 distinct names
 (h) compressed members against their targets: the first sequential read
     vs `igzip -d -c` of the same deflate stream to /dev/null (one core);
     random 4 KiB reads after a pass (the file's pages dropped) vs the same
     reads of the stored copy; the daemon's RSS after reading it whole at
     the defaults, and its disk cache
 (s) a directory of 10,000 shards in one mount: mount time, ls, find (vs the
     same tree on tmpfs), reading every shard, the daemon's memory
 (p) npzinfo pack of the 1 GiB array vs np.savez_compressed: time, size, and
     the first read at 90 % of a fresh mount of what it wrote
 (r) remote archives over HTTP with a 50 ms round trip added: mount time,
     np.load, random and sequential reads against curl and fsspec
     (tools/bench/remote_bench.py)

Every archive and .npy file is read once before timing, so all reads come
from the page cache: the figures are decompression and FUSE, not the disk.
"""
import argparse
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
import zipfile

import numpy as np

MiB = 1 << 20


def log(*a):
    print(*a, flush=True)


def median(xs):
    return statistics.median(xs)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def warm(path):
    with open(path, "rb") as f:
        while f.read(8 * MiB):
            pass


def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def cat(path):
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)


def read_at(path, offset, n=4096):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, n, offset)
    finally:
        os.close(fd)


def status_mib(pid, key="VmHWM"):
    """A memory figure of process `pid` from /proc/PID/status, in MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


class Mount:
    """A FUSE mount of one tool, torn down on exit (always)."""

    def __init__(self, argv_before_mnt, archive, foreground_pid=True, argv_after=()):
        self.dir = tempfile.mkdtemp(prefix="npzfs-bench-")
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        self.argv = list(argv_before_mnt) + [archive, self.mnt] + list(argv_after)
        self.proc = None
        self.foreground = foreground_pid

    def __enter__(self):
        t = time.perf_counter()
        if self.foreground:
            # The daemon's stderr goes to a file: a pipe nobody reads would
            # stop a daemon that writes much.
            self.err = open(os.path.join(self.dir, "stderr"), "w+b")
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=self.err)
            while not is_mounted(self.mnt):
                if self.proc.poll() is not None:
                    self.err.seek(0)
                    raise RuntimeError("%s failed: %s" % (self.argv[0], self.err.read()[-2000:].decode()))
                time.sleep(0.001)
        else:
            r = subprocess.run(self.argv, capture_output=True)
            if r.returncode != 0 or not is_mounted(self.mnt):
                raise RuntimeError("%s failed: %s" % (self.argv[0], r.stderr.decode()))
        self.mount_seconds = time.perf_counter() - t
        return self

    def path(self, rel):
        return os.path.join(self.mnt, rel)

    @property
    def pid(self):
        return self.proc.pid

    def __exit__(self, *exc):
        subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True)
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", "-z", self.mnt], capture_output=True)
        if self.proc:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- data


def make_smooth(path, mib, compressed):
    """One float32 member `smooth` that deflates about 4-5:1, made in pieces."""
    n = mib << 18
    rng = np.random.default_rng(1)
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as z:
        with z.open("smooth.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
            step = 16 << 20
            for start in range(0, n, step):
                t = np.arange(start, min(n, start + step), dtype=np.float64)
                x = 20 * np.sin(t / 5000) + 5 * np.sin(t / 377) + rng.standard_normal(t.size)
                f.write((np.round(x * 4) / 4).astype(np.float32).tobytes())


def write_plain_zip(path, names):
    """Stored members named `names`, each holding 8 bytes: the way to make
    archives of hundreds of thousands of members in seconds."""
    local, central = bytearray(), bytearray()
    for i, name in enumerate(names):
        n = name.encode()
        data = struct.pack("<Q", i) if not name.endswith("/") else b""
        crc = zipfile.crc32(data)
        at = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x21, crc,
                             len(data), len(data), len(n), 0) + n + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 0x314, 20, 0, 0, 0, 0x21, crc,
                               len(data), len(data), len(n), 0, 0, 0, 0, 0o100644 << 16, at) + n
    count = len(names)
    with open(path, "wb") as f:
        f.write(local)
        f.write(central)
        record_at = len(local) + len(central)
        f.write(struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, count, count,
                            len(central), len(local)))
        f.write(struct.pack("<IIQI", 0x07064b50, 0, record_at, 1))
        f.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xffff, 0xffff, len(central),
                            min(len(local), 0xffffffff), 0))


def extract(npz, member, out):
    with zipfile.ZipFile(npz) as z, z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 8 * MiB)


def member_stream(npz, member):
    """(offset, compressed size, CRC-32, size) of a member's data in npz."""
    with zipfile.ZipFile(npz) as z, open(npz, "rb") as f:
        info = z.getinfo(member)
        f.seek(info.header_offset)
        header = f.read(30)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        return (info.header_offset + 30 + name_len + extra_len, info.compress_size, info.CRC,
                info.file_size)


def write_gzip_of_member(npz, member, out):
    """The member's deflate stream as a .gz file: what igzip -d reads."""
    offset, csize, crc, size = member_stream(npz, member)
    with open(npz, "rb") as src, open(out, "wb") as dst:
        dst.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")
        src.seek(offset)
        left = csize
        while left:
            piece = src.read(min(left, 8 * MiB))
            dst.write(piece)
            left -= len(piece)
        dst.write(struct.pack("<II", crc, size & 0xffffffff))


def write_sozip(npy, member, out, chunk=32 << 10):
    """`npy` as the one member of a SOZip archive (profile 0.5): deflate
    fully flushed every `chunk` bytes, the hidden index entry after it."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    offsets, crc, size, written = [], 0, os.path.getsize(npy), 0
    name = member.encode()
    with open(npy, "rb") as src, open(out, "wb") as dst:
        dst.write(bytes(30 + len(name)))  # the local header, written at the end
        at = 0
        while True:
            piece = src.read(chunk)
            if not piece:
                break
            crc = zlib.crc32(piece, crc)
            data = c.compress(piece)
            at += len(piece)
            if at < size:
                data += c.flush(zlib.Z_SYNC_FLUSH) + c.flush(zlib.Z_FULL_FLUSH)
            else:
                data += c.flush(zlib.Z_FINISH)
            dst.write(data)
            written += len(data)
            if at < size:
                offsets.append(written)
        index = struct.pack("<IIIIQQ", 1, 0, chunk, 8, size, written)
        index += b"".join(struct.pack("<Q", o) for o in offsets)
        hidden = b"." + name + b".sozip.idx"
        dst.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x21, zlib.crc32(index),
                              len(index), len(index), len(hidden), 0) + hidden + index)
        cd_at = dst.tell()
        central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 0x314, 20, 0, 8, 0, 0x21, crc,
                              written, size, len(name), 0, 0, 0, 0, 0o100644 << 16, 0) + name
        dst.write(central)
        dst.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 1, 1, len(central), cd_at, 0))
        dst.seek(0)
        dst.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0x21, crc, written, size,
                              len(name), 0) + name)


# The data each part reads.
NEEDS = {
    "a": ("big_z", "big_npy"), "b": ("big_z", "big_npy"), "c": ("big_z",),
    "d": ("many",), "e": ("seed_npy", "seed_s", "seed_z"), "f": ("big_s", "big_npy"),
    "g": ("distinct", "same", "samedir", "clash"),
    "h": ("big_z", "big_s", "big_gz", "big_sozip"),
    "r": ("big_z", "big_s", "big_npy", "big_sozip", "seed_s"),
    "p": ("big_s", "big_npy"),
}

HOSTILE = {
    "distinct": lambda: ["m%06d.bin" % i for i in range(400_000)],
    "same": lambda: ["same.bin"] * 400_000,
    "samedir": lambda: ["dir/"] * 400_000,
    "clash": lambda: [n for i in range(200_000) for n in ("f%06d" % i, "f%06d/x.bin" % i)],
}


def make_file(key, files, mib):
    """Makes files[key] (and what it is made from), atomically."""
    path = files[key]
    if os.path.exists(path):
        return
    log("making", path)
    tmp = path + ".tmp"
    if key == "big_z":
        make_smooth(tmp, mib, True)
    elif key == "big_npy":
        make_file("big_z", files, mib)
        extract(files["big_z"], "smooth.npy", tmp)
    elif key == "big_s":
        make_file("big_npy", files, mib)
        with zipfile.ZipFile(tmp, "w") as z:
            z.write(files["big_npy"], "smooth.npy")
    elif key == "many":
        arrays = {"a%06d" % i: np.arange(i % 7 + 1, dtype=np.int32) for i in range(100_000)}
        np.savez(tmp + ".npz", **arrays)
        tmp += ".npz"
    elif key == "big_sozip":
        make_file("big_npy", files, mib)
        write_sozip(files["big_npy"], "smooth.npy", tmp)
    elif key == "big_gz":
        make_file("big_z", files, mib)
        write_gzip_of_member(files["big_z"], "smooth.npy", tmp)
    elif key in HOSTILE:
        write_plain_zip(tmp, HOSTILE[key]())
    elif key.startswith("seed"):
        seed = np.random.default_rng(2).standard_normal((10000, 1000)).astype(np.float32)
        np.save(files["seed_npy"] + ".tmp.npy", seed)
        os.rename(files["seed_npy"] + ".tmp.npy", files["seed_npy"])
        np.savez(files["seed_s"] + ".tmp.npz", seed=seed)
        os.rename(files["seed_s"] + ".tmp.npz", files["seed_s"])
        np.savez_compressed(files["seed_z"] + ".tmp.npz", seed=seed)
        os.rename(files["seed_z"] + ".tmp.npz", files["seed_z"])
        return
    os.rename(tmp, path)


def ensure_data(d, mib, only):
    os.makedirs(d, exist_ok=True)
    files = {
        "big_z": os.path.join(d, "smooth_%dM_compressed.npz" % mib),
        "big_s": os.path.join(d, "smooth_%dM_stored.npz" % mib),
        "big_npy": os.path.join(d, "smooth_%dM.npy" % mib),
        "many": os.path.join(d, "many_100000.npz"),
        "distinct": os.path.join(d, "distinct_400000.npz"),
        "same": os.path.join(d, "same_name_400000.npz"),
        "samedir": os.path.join(d, "same_dir_400000.npz"),
        "clash": os.path.join(d, "file_dir_clash_200000.npz"),
        "seed_s": os.path.join(d, "seed_savez.npz"),
        "seed_z": os.path.join(d, "seed_savez_compressed.npz"),
        "seed_npy": os.path.join(d, "seed.npy"),
        "big_gz": os.path.join(d, "smooth_%dM.npy.gz" % mib),
        "big_sozip": os.path.join(d, "smooth_%dM_sozip.npz" % mib),
    }
    needed = sorted({k for part in only for k in NEEDS.get(part, ())})
    for key in needed:
        make_file(key, files, mib)
    for key in needed:
        warm(files[key])
    return files


# ---------------------------------------------------------------- benches

def row(name, value, unit, *ratios):
    """One figure, then `ratio` x `what` for each (ratio, what) given."""
    r = "".join("  %.2fx %s" % (ratio, vs) for ratio, vs in ratios)
    print("  %-46s %10.2f %-5s%s" % (name, value, unit, r), flush=True)


def numpy_load_seconds(npz, key, runs, mmap=False):
    code = ("import numpy as np, sys, time\n"
            "t = time.perf_counter()\n"
            "p = sys.argv[1]\n"
            "a = np.load(p, mmap_mode='r') if sys.argv[3] == '1' else np.load(p)\n"
            "a = a[sys.argv[2]] if sys.argv[2] else a\n"
            "s = float(np.asarray(a).sum(dtype=np.float64))\n"
            "print(time.perf_counter() - t)\n")
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code, npz, key, "1" if mmap else "0"],
                           capture_output=True, text=True, check=True)
        out.append(float(r.stdout))
    return median(out)


def bench_a_b_c(npzfs, files, runs, mib):
    size = os.path.getsize(files["big_npy"])
    mb = size / 1e6
    log("(a) sequential read of a %d MiB deflate member (%.1f:1)" %
        (mib, size / zipfile.ZipFile(files["big_z"]).getinfo("smooth.npy").compress_size))
    plain = median([timed(cat, files["big_npy"]) for _ in range(runs)])
    row("cat plain .npy (page cache)", mb / plain, "MB/s")
    npy_load = numpy_load_seconds(files["big_z"], "smooth", max(1, runs // 2 + 1))
    row("numpy np.load(npz)['smooth']", mb / npy_load, "MB/s")
    first, hwm = [], []
    for _ in range(runs):
        with Mount([npzfs, "-f", "-o", "noindex"], files["big_z"]) as m:
            first.append(timed(cat, m.path("smooth.npy")))
            hwm.append(status_mib(m.pid))
    row("npzfs cat, first read after mount", mb / median(first), "MB/s",
        (npy_load / median(first), "numpy np.load"), (plain / median(first), "cat plain .npy"))
    other_mounters(files, mb, npy_load, runs)

    log("(b) random 4 KiB reads, fresh mount")
    firsts, meds, p99s, pass_meds, pass_p99s = [], [], [], [], []
    for _ in range(runs):
        with Mount([npzfs, "-f", "-o", "noindex"], files["big_z"]) as m:
            p = m.path("smooth.npy")
            firsts.append(timed(read_at, p, int(size * 0.9)))
            rng = random.Random(7)
            lat = [timed(read_at, p, rng.randrange(0, size - 4096)) for _ in range(100)]
            meds.append(median(lat))
            p99s.append(pct(lat, 0.99))
            # After a whole pass, with the kernel's cached pages of the file
            # dropped, so that every read reaches the daemon.
            cat(p)
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
            rng = random.Random(11)
            lat = [timed(read_at, p, rng.randrange(0, size - 4096)) for _ in range(100)]
            pass_meds.append(median(lat))
            pass_p99s.append(pct(lat, 0.99))
    row("npzfs first 4 KiB read at 90%", median(firsts) * 1e3, "ms")
    row("npzfs random 4 KiB after it, median", median(meds) * 1e3, "ms")
    row("npzfs random 4 KiB after it, p99", median(p99s) * 1e3, "ms")
    row("npzfs random 4 KiB after a whole pass, median", median(pass_meds) * 1e3, "ms")
    row("npzfs random 4 KiB after a whole pass, p99", median(pass_p99s) * 1e3, "ms")

    log("(c) daemon peak RSS after reading the whole member")
    row("npzfs VmHWM, default cache_size", median(hwm), "MiB")
    hwm64 = []
    for _ in range(max(1, runs // 2)):
        with Mount([npzfs, "-f", "-o", "cache_size=64M"], files["big_z"]) as m:
            cat(m.path("smooth.npy"))
            hwm64.append(status_mib(m.pid))
    row("npzfs VmHWM, cache_size=64M", median(hwm64), "MiB")


def other_mounters(files, mb, npy_load, runs):
    size = os.path.getsize(files["big_npy"])
    for tool in ("fuse-zip", "archivemount"):
        if not shutil.which(tool):
            log("  %s: not installed" % tool)
            continue
        argv = [tool, "-r", "-f"] if tool == "fuse-zip" else [tool, "-o", "readonly", "-f"]
        try:
            with Mount(argv, files["big_z"]) as m:
                p = m.path("smooth.npy")
                try:
                    os.stat(p)
                except OSError as e:
                    log("  %s: cannot stat smooth.npy: %s" % (tool, e.strerror))
                    continue
                if tool == "archivemount":
                    # Re-inflates from the member's start on every read: a
                    # full read takes hours; time one read at 90 % instead.
                    t = timed(read_at, p, int(size * 0.9))
                    row("archivemount one 4 KiB read at 90%", t * 1e3, "ms")
                    continue
                t = timed(cat, p)
                row("%s cat, first read after mount" % tool, mb / t, "MB/s",
                    (npy_load / t, "numpy np.load"))
        except RuntimeError as e:
            log("  %s: %s" % (tool, str(e).strip()[:200]))


def tmpfs_copy_of_tree(mnt):
    """The mounted tree as empty files on tmpfs (/dev/shm): what `find` and
    `ls -l` cost on this machine with no FUSE in the way."""
    top = tempfile.mkdtemp(prefix="npzfs-bench-tree-", dir="/dev/shm")
    for root, dirs, names in os.walk(mnt):
        rel = os.path.relpath(root, mnt)
        for d in dirs:
            os.makedirs(os.path.join(top, rel, d), exist_ok=True)
        for n in names:
            open(os.path.join(top, rel, n), "wb").close()
    return top


def bench_d(npzfs, files, runs):
    log("(d) 100,000-member npz (np.savez)")
    mounts, finds, lss, ls_fresh, rss = [], [], [], [], []

    def find(top):
        return timed(lambda: subprocess.run(
            "find %s | wc -l" % top, shell=True, check=True, capture_output=True))

    def ls_l(top):
        return timed(lambda: subprocess.run(["ls", "-l", top], check=True,
                                            stdout=subprocess.DEVNULL))

    tree = None
    try:
        for _ in range(runs):
            with Mount([npzfs, "-f", "-o", "noindex"], files["many"]) as m:
                mounts.append(m.mount_seconds)
                finds.append(find(m.mnt))
                lss.append(ls_l(m.mnt))
                rss.append(status_mib(m.pid))
                if tree is None:
                    tree = tmpfs_copy_of_tree(m.mnt)
            with Mount([npzfs, "-f", "-o", "noindex"], files["many"]) as m:
                ls_fresh.append(ls_l(m.mnt))
        tmp_find = median([find(tree) for _ in range(runs)])
        tmp_ls = median([ls_l(tree) for _ in range(runs)])
    finally:
        if tree:
            shutil.rmtree(tree, ignore_errors=True)
    row("npzfs mount (until the mount is live)", median(mounts), "s")
    row("find | wc -l", median(finds), "s", (tmp_find / median(finds), "tmpfs"))
    row("ls -l (after the find)", median(lss), "s", (tmp_ls / median(lss), "tmpfs"))
    row("ls -l (first thing after mounting)", median(ls_fresh), "s",
        (tmp_ls / median(ls_fresh), "tmpfs"))
    row("same tree on tmpfs: find | wc -l", tmp_find, "s")
    row("same tree on tmpfs: ls -l", tmp_ls, "s")
    row("npzfs VmHWM afterwards", median(rss), "MiB")


def make_shards(d, count=10_000):
    """`count` np.savez files of one small array each, in one directory."""
    if os.path.exists(os.path.join(d, "done")):
        return d
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(4)
    for i in range(count):
        np.savez(os.path.join(d, "shard-%05d.npz" % i), x=rng.standard_normal(64).astype(np.float32))
    open(os.path.join(d, "done"), "w").close()
    return d


def bench_s(npzfs, data, runs):
    log("(s) a directory of 10,000 shards (np.savez, one 64-float array each)")
    shards = make_shards(os.path.join(data, "shards_10000"))
    for f in os.listdir(shards):
        warm(os.path.join(shards, f))
    mounts, lss, finds, rss, touch = [], [], [], [], []

    def find(top):
        return timed(lambda: subprocess.run(
            "find %s | wc -l" % top, shell=True, check=True, capture_output=True))

    def touch_all(top):
        for name in os.listdir(top):
            with open(os.path.join(top, name, "raw", "x"), "rb") as f:
                f.read()

    tree = None
    try:
        for _ in range(runs):
            with Mount([npzfs, "-f", "-o", "noindex"], shards) as m:
                mounts.append(m.mount_seconds)
                lss.append(timed(lambda: subprocess.run(["ls", m.mnt], check=True,
                                                        stdout=subprocess.DEVNULL)))
                finds.append(find(m.mnt))
                touch.append(timed(touch_all, m.mnt))
                rss.append(status_mib(m.pid))
                if tree is None:
                    tree = tmpfs_copy_of_tree(m.mnt)
        tmp_find = median([find(tree) for _ in range(runs)])
    finally:
        if tree:
            shutil.rmtree(tree, ignore_errors=True)
    row("mount, until live", median(mounts), "s")
    row("ls of the root", median(lss), "s")
    row("find | wc -l (opens every shard)", median(finds), "s", (median(finds) / tmp_find, "tmpfs's time"))
    row("same tree on tmpfs: find | wc -l", tmp_find, "s")
    row("read raw/x of every shard", median(touch), "s")
    row("daemon VmHWM after touching every shard", median(rss), "MiB")


def bench_p(npzfs, npzinfo, files, runs):
    """npzinfo pack of the 1 GiB float32 array against np.savez_compressed,
    and a fresh mount of what it wrote."""
    npy = files["big_npy"]
    size = os.path.getsize(npy)
    log("(p) npzinfo pack of a %.0f MB float32 array (from the stored npz) vs np.savez_compressed"
        % (size / 1e6))
    out_dir = tempfile.mkdtemp(prefix="npzfs-bench-pack-", dir=os.path.dirname(npy))
    try:
        packed = os.path.join(out_dir, "packed.npz")
        saved = os.path.join(out_dir, "saved.npz")
        code = ("import numpy as np, sys, time\n"
                "a = np.load(sys.argv[1], mmap_mode='r'); a = np.array(a)\n"
                "t = time.perf_counter(); np.savez_compressed(sys.argv[2], smooth=a)\n"
                "print(time.perf_counter() - t)\n")
        t_np = median([float(subprocess.run([sys.executable, "-c", code, npy, saved], check=True,
                                            capture_output=True, text=True).stdout)
                       for _ in range(runs)])
        t_pack = median([timed(lambda: subprocess.run([npzinfo, "pack", files["big_s"], packed],
                                                      check=True, stdout=subprocess.DEVNULL))
                         for _ in range(runs)])
        row("np.savez_compressed", t_np, "s")
        row("npzinfo pack (all cores)", t_pack, "s", (t_np / t_pack, "faster"))
        row("output size", os.path.getsize(packed) / 1e6, "MB",
            (os.path.getsize(packed) / os.path.getsize(saved), "np.savez_compressed's"))
        warm(packed)
        cold = []
        for _ in range(max(runs, 5)):
            with Mount([npzfs, "-f", "-o", "noindex"], packed) as m:
                cold.append(timed(read_at, m.path("smooth.npy"), int(size * 0.9)))
        row("fresh mount of it: first 4 KiB at 90%", median(cold) * 1e3, "ms")
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def bench_e(npzfs, files, runs):
    log("(e) np.load of the 40 MB seed array")
    plain = numpy_load_seconds(files["seed_npy"], "", runs)
    row("np.load plain .npy", plain * 1e3, "ms")
    for kind, key in (("np.savez", "seed_s"), ("np.savez_compressed", "seed_z")):
        own = numpy_load_seconds(files[key], "seed", runs)
        row("numpy np.load of the %s npz" % kind, own * 1e3, "ms")
        mounted = []
        for _ in range(runs):
            with Mount([npzfs, "-f", "-o", "noindex"], files[key]) as m:
                mounted.append(numpy_load_seconds(m.path("seed.npy"), "", 1))
        t = median(mounted)
        row("np.load through npzfs (%s)" % kind, t * 1e3, "ms",
            (own / t, "numpy's npz read"), (plain / t, "plain .npy"))


def bench_f(npzfs, files, runs):
    size = os.path.getsize(files["big_npy"])
    mb = size / 1e6
    log("(f) sequential read of a %d MiB stored member" % (size >> 20))
    plain = median([timed(cat, files["big_npy"]) for _ in range(runs)])
    row("cat plain .npy (page cache)", mb / plain, "MB/s")
    first, second = [], []
    for _ in range(runs):
        with Mount([npzfs, "-f", "-o", "noindex"], files["big_s"]) as m:
            first.append(timed(cat, m.path("smooth.npy")))
            second.append(timed(cat, m.path("smooth.npy")))
    row("npzfs cat, first read after mount", mb / median(first), "MB/s",
        (plain / median(first), "cat plain .npy"))
    row("npzfs cat, second read", mb / median(second), "MB/s",
        (plain / median(second), "cat plain .npy"))
    if shutil.which("fuse-zip"):
        try:
            with Mount(["fuse-zip", "-r", "-f"], files["big_s"]) as m:
                t = timed(cat, m.path("smooth.npy"))
                row("fuse-zip cat, first read", mb / t, "MB/s", (plain / t, "cat plain .npy"))
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            log("  fuse-zip:", str(e)[:200])


def bench_g(npzfs, files, runs):
    log("(g) mount time, hostile archives")

    def mount_time(archive):
        times = []
        for _ in range(runs):
            with Mount([npzfs, "-f", "-o", "noindex"], archive) as m:
                times.append(m.mount_seconds)
        return median(times)

    base = mount_time(files["distinct"])
    row("400,000 distinct names", base, "s")
    for key, what in (("same", "400,000 members of one name"),
                      ("samedir", "400,000 entries of one directory"),
                      ("clash", "200,000 files hidden by directories")):
        t = mount_time(files[key])
        row(what, t, "s", (t / base, "distinct names"))


def drop_pages(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def random_after_pass(npzfs, archive, size, runs, options=()):
    """Median of the medians of 100 random 4 KiB reads after a whole pass,
    each read with the file's cached pages dropped first."""
    meds = []
    for _ in range(runs):
        with Mount([npzfs, "-f", "-o", "noindex", *options], archive) as m:
            p = m.path("smooth.npy")
            cat(p)
            rng = random.Random(11)
            lat = []
            for _ in range(100):
                drop_pages(p)
                lat.append(timed(read_at, p, rng.randrange(0, size - 4096)))
            meds.append(median(lat))
    return median(meds)


def disk_cache_mib(pid):
    """Bytes the daemon's unlinked disk cache file takes on disk, in MiB."""
    total = 0
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
            if target.endswith("(deleted)"):
                total += os.stat(os.path.join(fd_dir, fd)).st_blocks * 512
        except OSError:
            pass
    return total / MiB


def bench_h(npzfs, files, runs):
    size = os.path.getsize(files["big_npy"]) if os.path.exists(files["big_npy"]) else \
        member_stream(files["big_z"], "smooth.npy")[3]
    mb = size / 1e6
    log("(h) compressed members: a %.0f MB deflate member" % mb)
    igzip = shutil.which("igzip")
    if igzip:
        def run_igzip():
            subprocess.run([igzip, "-d", "-c", files["big_gz"]], stdout=subprocess.DEVNULL,
                           check=True)
        t_igzip = median([timed(run_igzip) for _ in range(runs)])
        row("igzip -d -c member.gz > /dev/null", mb / t_igzip, "MB/s")
    first, hwm, disk = [], [], []
    for _ in range(runs):
        with Mount([npzfs, "-f", "-o", "noindex"], files["big_z"]) as m:
            first.append(timed(cat, m.path("smooth.npy")))
            hwm.append(status_mib(m.pid))
            disk.append(disk_cache_mib(m.pid))
    ratios = [(t_igzip / median(first), "igzip -d")] if igzip else []
    row("npzfs cat, first read after mount", mb / median(first), "MB/s", *ratios)
    for threads in ("1", "0"):
        with Mount([npzfs, "-f", "-o", "noindex,threads=" + threads], files["big_z"]) as m:
            t = median([timed(cat, m.path("smooth.npy"))])
        row("  same, threads=%s (one run)" % threads, mb / t, "MB/s",
            *([(t_igzip / t, "igzip -d")] if igzip else []))
    stored = random_after_pass(npzfs, files["big_s"], size, runs)
    row("random 4 KiB, stored member, after a pass", stored * 1e3, "ms")
    comp = random_after_pass(npzfs, files["big_z"], size, runs)
    row("random 4 KiB, deflate member, after a pass", comp * 1e3, "ms", (comp / stored, "stored"))
    nodisk = random_after_pass(npzfs, files["big_z"], size, runs, ("-o", "disk_cache_size=0"))
    row("  same, disk_cache_size=0", nodisk * 1e3, "ms", (nodisk / stored, "stored"))
    row("daemon VmHWM after reading it whole, defaults", median(hwm), "MiB")
    row("disk cache file after reading it whole", median(disk), "MiB")

    # With a persisted index (made by a first mount), and a SOZip member.
    index_dir = tempfile.mkdtemp(prefix="npzfs-bench-index-")
    try:
        with Mount([npzfs, "-f", "-o", "index_dir=" + index_dir], files["big_z"]) as m:
            cat(m.path("smooth.npy"))
        index_bytes = sum(os.path.getsize(os.path.join(index_dir, f)) for f in os.listdir(index_dir))
        row("index file", index_bytes / MiB, "MiB", (index_bytes / size * 100, "% of the member"))
        cold, seq = [], []
        for _ in range(runs):
            with Mount([npzfs, "-f", "-o", "index_dir=" + index_dir], files["big_z"]) as m:
                cold.append(timed(read_at, m.path("smooth.npy"), int(size * 0.9)))
            with Mount([npzfs, "-f", "-o", "index_dir=" + index_dir], files["big_z"]) as m:
                seq.append(timed(cat, m.path("smooth.npy")))
        row("remount with index: first 4 KiB at 90%", median(cold) * 1e3, "ms")
        row("remount with index: first cat", mb / median(seq), "MB/s",
            *([(t_igzip / median(seq), "igzip -d")] if igzip else []))
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)
    cold, seq = [], []
    for _ in range(runs):
        with Mount([npzfs, "-f", "-o", "noindex"], files["big_sozip"]) as m:
            cold.append(timed(read_at, m.path("smooth.npy"), int(size * 0.9)))
        with Mount([npzfs, "-f", "-o", "noindex"], files["big_sozip"]) as m:
            seq.append(timed(cat, m.path("smooth.npy")))
    row("SOZip member, fresh mount: first 4 KiB at 90%", median(cold) * 1e3, "ms")
    row("SOZip member, fresh mount: first cat", mb / median(seq), "MB/s",
        *([(t_igzip / median(seq), "igzip -d")] if igzip else []))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npzfs", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--npzinfo", help="default: tools/npzinfo beside fs/npzfs's build")
    ap.add_argument("--only", default="a,b,c,d,e,f,g,h,r,s,p")
    args = ap.parse_args()
    only = set(args.only.split(","))
    files = ensure_data(args.data, args.mib, only)
    log("npzfs benchmark: %d runs each, medians; %s" % (args.runs, time.strftime("%Y-%m-%d %H:%M")))
    if only & {"a", "b", "c"}:
        bench_a_b_c(args.npzfs, files, args.runs, args.mib)
    if "d" in only:
        bench_d(args.npzfs, files, args.runs)
    if "e" in only:
        bench_e(args.npzfs, files, args.runs)
    if "f" in only:
        bench_f(args.npzfs, files, args.runs)
    if "g" in only:
        bench_g(args.npzfs, files, args.runs)
    if "h" in only:
        bench_h(args.npzfs, files, args.runs)
    if "s" in only:
        bench_s(args.npzfs, args.data, args.runs)
    npzinfo = args.npzinfo or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(args.npzfs))), "tools", "npzinfo")
    if "p" in only:
        bench_p(args.npzfs, npzinfo, files, args.runs)
    if "r" in only:
        import remote_bench
        remote_bench.bench_r(args.npzfs, npzinfo, files, args.runs, args.data)


if __name__ == "__main__":
    main()
