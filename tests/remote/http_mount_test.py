#!/usr/bin/env python3
"""Remote archives over HTTP(S), end to end: the built npzfs mounts .npz
archives that nginx serves (tests/remote/servers.py), through the
fault-injecting proxy where requests are counted (fault_proxy.py), and
programs read them with numpy, cat, pread and getfattr. npzinfo reads the
same URLs.

usage: http_mount_test.py [-v] [unittest arguments]

Environment: NPZFS_BIN and NPZINFO_BIN (default build/fs/npzfs and
build/tools/npzinfo of this repository), NPZFS_TEST_TIME_FACTOR (default 1;
every wait is multiplied by it, for sanitizer builds). Needs nginx,
openssl, fusermount3, getfattr (the attr package) and numpy; run as root.
At the end it checks that no npzfs daemon the suite started is alive and
that nothing it mounted is left mounted.
"""
import errno
import gc
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import servers  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402
from npzfs_daemon import (NPZFS_BIN, NPZINFO_BIN, Daemon, check_all_stopped,  # noqa: E402
                          is_mounted, mount_table, seconds)

MiB = 1 << 20
BIG_COUNT = 5 * 1000 * 1000  # float32: 20 MB
MANY_COUNT = 10000
SECRET_PASSWORD = "secret"
SECRET_TOKEN = "s3cr3t"
MOUNT_PREFIX = "npzfs-http-mount-"


# ---------------------------------------------------------------- test data

WEB = None          # the module's nginx (HTTPS and HTTP), serving DATA_DIR
DATA_DIR = None     # what nginx serves
ARRAYS = {}         # archive file name -> {npz key: array}
MEMBERS = {}        # archive file name -> {member name: its bytes}
ARCHIVE_BYTES = {}  # archive file name -> the whole file


def stored_arrays(rng):
    rec = np.zeros(300, dtype=[("x", "<f4"), ("label", "<i4")])
    rec["x"] = rng.standard_normal(300)
    rec["label"] = rng.integers(0, 10, 300)
    return {
        "small": np.arange(1000, dtype=np.int64),
        "fortran": np.asfortranarray(rng.standard_normal((120, 70))),
        "rec": rec,
        "scalar": np.array(3.25),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "a/b": np.arange(500, dtype=np.int16).reshape(20, 25),
        "big": rng.standard_normal(BIG_COUNT).astype(np.float32),
    }


def compressed_arrays(rng):
    return {
        "smooth": np.cumsum(rng.standard_normal(BIG_COUNT)).astype(np.float32),
        "labels": rng.integers(0, 1000, 5000).astype(np.int32),
        "grid": np.asfortranarray(np.arange(60.0).reshape(6, 10)),
        "one": np.array([7], dtype=np.uint8),
    }


def add_archive(name, arrays, compressed=False):
    """Writes DATA_DIR/name with numpy and records what it holds."""
    path = os.path.join(DATA_DIR, name)
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    ARRAYS[name] = arrays
    with zipfile.ZipFile(path) as z:
        MEMBERS[name] = {i.filename: z.read(i) for i in z.infolist()}
    with open(path, "rb") as f:
        ARCHIVE_BYTES[name] = f.read()
    return path


def setUpModule():
    global WEB, DATA_DIR
    DATA_DIR = servers.make_server_dir("npzfs-http-test-")
    unittest.addModuleCleanup(shutil.rmtree, DATA_DIR, True)
    rng = np.random.default_rng(20240607)
    add_archive("stored.npz", stored_arrays(rng))
    add_archive("compressed.npz", compressed_arrays(rng), compressed=True)
    WEB = servers.Nginx(DATA_DIR)
    WEB.start()
    unittest.addModuleCleanup(WEB.stop)


def tearDownModule():
    check_all_stopped()


# ---------------------------------------------------------------- helpers


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def pread_exact(fd, size, offset):
    """size bytes at offset (fewer only at the end of the file)."""
    out = b""
    while len(out) < size:
        chunk = os.pread(fd, size - len(out), offset + len(out))
        if not chunk:
            break
        out += chunk
    return out


def open_random(path):
    """A descriptor with the kernel's readahead off, so that each pread
    reaches the daemon as asked and nothing more."""
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    return fd


def same_array(a, b):
    return (a.dtype == b.dtype and a.shape == b.shape and
            np.isfortran(a) == np.isfortran(b) and
            a.tobytes(order="A") == b.tobytes(order="A"))


def header_of(arr):
    """What numpy writes in the header of arr: (descr text, shape text,
    fortran_order text), in the notation the xattrs use."""
    d = np.lib.format.header_data_from_array_1_0(arr)
    descr = d["descr"] if isinstance(d["descr"], str) else repr(d["descr"])
    return descr, repr(d["shape"]), repr(d["fortran_order"])


def getfattr_dump(path):
    """getfattr -d PATH as {name: value}."""
    res = subprocess.run(["getfattr", "-d", "--absolute-names", path], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=seconds(30))
    if res.returncode != 0:
        raise AssertionError("getfattr -d %s: %s" % (path, res.stderr))
    out = {}
    for line in res.stdout.splitlines():
        name, sep, value = line.partition("=")
        if not sep or line.startswith("#"):
            continue
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        value = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), value)
        out[name] = value.replace('\\"', '"').replace("\\\\", "\\")
    return out


def binary_is_sanitized(path):
    """True when the binary was built with AddressSanitizer or
    ThreadSanitizer (their shadow memory and quarantine make its RSS
    meaningless)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__tsan_init" in data


class Mount(Daemon):
    """A foreground npzfs (-f) serving url at a fresh mountpoint, started
    in a subprocess and waited for until the mount is in the mount table.

    Every mount logs to its own file (log_file=) and, unless asked for
    otherwise, keeps its persisted index in a directory of its own (never
    the user's cache). The test's cleanup unmounts it (fusermount3 -u,
    else -uz) and stops the daemon whatever happened.
    """

    def __init__(self, test, url, options=()):
        self.dir = tempfile.mkdtemp(prefix=MOUNT_PREFIX)
        test.addCleanup(shutil.rmtree, self.dir, True)
        mnt = os.path.join(self.dir, "mnt")
        os.mkdir(mnt)
        opts = list(options)
        if not any(o == "noindex" or o.startswith("index_dir=") for o in opts):
            opts.append("index_dir=" + os.path.join(self.dir, "index"))
        super().__init__(test, url, opts, mnt, os.path.join(self.dir, "npzfs.out"),
                         log_file=os.path.join(self.dir, "npzfs.log"), die_with_parent=True)
        self.wait_mounted()

    def unmount(self):
        """fusermount3 -u (retried while the mount is busy); returns the
        daemon's exit status."""
        gc.collect()  # memmaps of the mount's files
        return super().unmount(busy_timeout_s=10)

    def vm_hwm_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM for %d" % self.pid)


def run_npzfs_to_failure(test, url, options=(), foreground=True):
    """Runs npzfs on url where it must fail before mounting: returns
    (exit status, stderr). If it mounts instead, it is unmounted and
    killed and the test fails."""
    d = tempfile.mkdtemp(prefix=MOUNT_PREFIX)
    test.addCleanup(shutil.rmtree, d, True)
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    daemon = Daemon(test, url, list(options) + ["noindex"], mnt, os.path.join(d, "stderr"),
                    detach=not foreground)
    deadline = time.monotonic() + seconds(60)
    while daemon.proc.poll() is None:
        if is_mounted(mnt):
            daemon.cleanup()
            test.fail("npzfs mounted %s, which it must refuse" % url)
        if time.monotonic() > deadline:
            daemon.cleanup()
            test.fail("npzfs did not exit within %.0f s for %s" % (seconds(60), url))
        time.sleep(0.02)
    test.assertFalse(is_mounted(mnt), "a failed npzfs left %s mounted" % mnt)
    return daemon.proc.returncode, daemon.output()


def read_tree(mnt):
    """{relative path: bytes} of every file under mnt."""
    out = {}
    for dirpath, _, files in os.walk(mnt):
        for name in files:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, mnt)] = read_file(p)
    return out


def copy_to_server(name, new_name):
    """A copy of a served archive under another name, removed afterwards."""
    dst = os.path.join(DATA_DIR, new_name)
    shutil.copyfile(os.path.join(DATA_DIR, name), dst)
    return dst


def read_at_90(test, index_dir):
    """Mounts compressed.npz with index_dir, preads 4 KiB at 90 % of its big
    deflated member (checked), unmounts; returns the remote statistics."""
    name, member = "compressed.npz", "smooth.npy"
    want = MEMBERS[name][member]
    m = Mount(test, WEB.https_url(name), ["ca_file=" + WEB.ca_file, "index_dir=" + index_dir])
    off = len(want) * 9 // 10
    fd = open_random(m.path(member))
    try:
        got = pread_exact(fd, 4096, off)
    finally:
        os.close(fd)
    test.assertTrue(got == want[off:off + 4096], "4 KiB at 90 % differ")
    test.assertEqual(m.unmount(), 0)
    return m.stats()


# ---------------------------------------------------------------- the tests


class ContentTest(unittest.TestCase):
    """What a mounted remote archive serves is what numpy wrote, byte for
    byte, in both views, with its headers as xattrs."""

    def check_archive(self, name):
        m = Mount(self, WEB.https_url(name), ["ca_file=" + WEB.ca_file])
        arrays = ARRAYS[name]
        members = MEMBERS[name]
        self.assertEqual(sorted(members), sorted(k + ".npy" for k in arrays))
        top = {member.split("/")[0] for member in members} | {"raw"}
        self.assertEqual(set(os.listdir(m.mnt)), top)
        for member, want_bytes in members.items():
            key = member[:-len(".npy")]
            arr = arrays[key]
            with self.subTest(archive=name, member=member):
                path = m.path(member)
                self.assertEqual(os.stat(path).st_size, len(want_bytes))
                got = read_file(path)
                self.assertEqual(len(got), len(want_bytes))
                self.assertTrue(got == want_bytes, "%s: bytes differ from the zip member" % member)
                self.assertTrue(same_array(np.load(path), arr), "np.load differs")
                mm = np.load(path, mmap_mode="r")
                self.assertIsInstance(mm, np.memmap)
                self.assertTrue(same_array(np.asarray(mm), arr), "np.load(mmap_mode='r') differs")
                del mm
                raw = m.path("raw", key)
                self.assertEqual(os.stat(raw).st_size, arr.nbytes)
                self.assertTrue(read_file(raw) == arr.tobytes(order="A"),
                                "raw/%s differs from tobytes(order='A')" % key)
                descr, shape, fortran = header_of(arr)
                for view in (path, raw):
                    x = getfattr_dump(view)
                    self.assertEqual(x.get("user.npy.descr"), descr, view)
                    self.assertEqual(x.get("user.npy.shape"), shape, view)
                    self.assertEqual(x.get("user.npy.fortran_order"), fortran, view)
        self.assertEqual(m.unmount(), 0)

    def test_stored_archive(self):
        """np.savez: Fortran order, structured dtype, 0-d, empty, a key
        with a slash and a 20 MB array all read back exactly."""
        self.check_archive("stored.npz")

    def test_compressed_archive(self):
        """np.savez_compressed: the deflated 20 MB array and the small
        ones read back exactly."""
        self.check_archive("compressed.npz")

    def test_random_reads(self):
        """200 preads of 4 KiB at random offsets of each big member (one
        stored, one deflated), on a fresh mount, return the archive's
        bytes."""
        rng = random.Random(7)
        for name, member in (("stored.npz", "big.npy"), ("compressed.npz", "smooth.npy")):
            m = Mount(self, WEB.https_url(name), ["ca_file=" + WEB.ca_file])
            want = MEMBERS[name][member]
            fd = open_random(m.path(member))
            try:
                for _ in range(200):
                    off = rng.randrange(0, len(want) - 1)
                    got = pread_exact(fd, 4096, off)
                    self.assertTrue(got == want[off:off + 4096],
                                    "%s: 4 KiB at %d differ" % (member, off))
            finally:
                os.close(fd)
            self.assertEqual(m.unmount(), 0)

    def test_backwards_reads(self):
        """Reading a big member from its last block to its first, on a
        fresh mount, returns the archive's bytes (stored and deflated)."""
        block = 256 * 1024
        for name, member in (("compressed.npz", "smooth.npy"), ("stored.npz", "big.npy")):
            m = Mount(self, WEB.https_url(name), ["ca_file=" + WEB.ca_file])
            want = MEMBERS[name][member]
            fd = open_random(m.path(member))
            try:
                for off in reversed(range(0, len(want), block)):
                    got = pread_exact(fd, block, off)
                    self.assertTrue(got == want[off:off + block],
                                    "%s: block at %d differs" % (member, off))
            finally:
                os.close(fd)
            self.assertEqual(m.unmount(), 0)


class SecretsTest(unittest.TestCase):
    """A URL's user:password@ and query never show: not in the mount
    table, the xattrs, /proc/PID/cmdline, the log, the daemon's output,
    the persisted index or the remote disk cache."""

    def test_secrets_hidden(self):
        """Mounted with user:password@ and a ?token= query (log_level=debug,
        so that requests are logged; a deflated member read whole, so that
        an index and piece files are written), the daemon shows the bare
        URL everywhere, while its requests still carry both."""
        name = "compressed.npz"
        shown = WEB.https_url(name)
        url = shown.replace("https://", "https://user:%s@" % SECRET_PASSWORD) + \
            "?token=%s#frag" % SECRET_TOKEN
        state = tempfile.mkdtemp(prefix="npzfs-http-state-")
        self.addCleanup(shutil.rmtree, state, True)
        m = Mount(self, url, ["ca_file=" + WEB.ca_file, "log_level=debug",
                              "index_dir=" + os.path.join(state, "index"),
                              "remote_cache_dir=" + os.path.join(state, "pieces")])
        self.assertTrue(read_file(m.path("smooth.npy")) == MEMBERS[name]["smooth.npy"])
        self.assertEqual(mount_table()[m.mnt], ("fuse.npzfs", shown))
        res = subprocess.run(["getfattr", "--only-values", "-n", "user.npz.archive", m.mnt],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=seconds(30))
        self.assertEqual((res.returncode, res.stdout), (0, shown), res.stderr)
        cmdline = read_file("/proc/%d/cmdline" % m.pid)
        self.assertIn(shown.encode(), cmdline)
        for secret in (SECRET_PASSWORD, SECRET_TOKEN):
            self.assertNotIn(secret.encode(), cmdline, "cmdline: %r" % cmdline)
        self.assertEqual(m.unmount(), 0)
        self.assertIn(shown, m.log())
        written = []
        for dirpath, _, files in os.walk(state):
            written += [os.path.join(dirpath, f) for f in files]
        self.assertTrue(any(f.endswith(".npzidx") for f in written), written)
        for secret in (SECRET_PASSWORD, SECRET_TOKEN):
            self.assertNotIn(secret, m.log())
            self.assertNotIn(secret, m.output())
            for f in written:
                self.assertNotIn(secret.encode(), read_file(f), f)
        # Hidden is not dropped: the server got the query and the user.
        access = read_file(os.path.join(WEB.dir, "access.log")).decode("utf-8", "replace")
        self.assertRegex(access, r"\n127\.0\.0\.1 - user \[[^]]*\] \"GET /%s\?token=%s "
                         % (re.escape(name), SECRET_TOKEN))


class FailureTest(unittest.TestCase):
    """Archives that cannot be read are refused before mounting: exit
    status 2, one line on stderr naming the URL (without secrets) and
    nothing left mounted."""

    def assert_one_line(self, stderr, *needles):
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, "stderr: %r" % stderr)
        self.assertTrue(lines[0].startswith("npzfs: "), lines[0])
        for needle in needles:
            self.assertIn(needle, lines[0])
        for secret in (SECRET_PASSWORD, SECRET_TOKEN):
            self.assertNotIn(secret, lines[0])
        return lines[0]

    def test_untrusted_certificate(self):
        """Without ca_file the test CA is not trusted: the mount fails."""
        shown = WEB.https_url("stored.npz")
        url = shown.replace("https://", "https://user:%s@" % SECRET_PASSWORD) + \
            "?token=" + SECRET_TOKEN
        rc, stderr = run_npzfs_to_failure(self, url)
        self.assertEqual(rc, 2, stderr)
        self.assert_one_line(stderr, shown)

    def test_missing_ca_file(self):
        """ca_file=/nonexistent fails the mount and names the file."""
        rc, stderr = run_npzfs_to_failure(self, WEB.https_url("stored.npz"),
                                          ["ca_file=/nonexistent"])
        self.assertNotEqual(rc, 0, stderr)
        self.assert_one_line(stderr, "/nonexistent")

    def test_not_found(self):
        """A 404 fails with exit status 2, in the foreground and detached."""
        url = WEB.https_url("missing.npz")
        for foreground in (True, False):
            with self.subTest(foreground=foreground):
                rc, stderr = run_npzfs_to_failure(self, url, ["ca_file=" + WEB.ca_file],
                                                  foreground=foreground)
                self.assertEqual(rc, 2, stderr)
                self.assert_one_line(stderr, url, "404")

    def test_plain_http_needs_no_ca(self):
        """http:// mounts without any ca_file and reads right."""
        m = Mount(self, WEB.http_url("stored.npz"))
        self.assertEqual(read_file(m.path("a", "b.npy")), MEMBERS["stored.npz"]["a/b.npy"])
        self.assertEqual(m.unmount(), 0)


class ReplacedObjectTest(unittest.TestCase):
    """An object replaced on the server while mounted makes reads of what
    was not fetched yet fail with EIO: never bytes of the new version,
    never a mix. What was read before may still read, as it was. The log
    says the object changed, the mount stays up and unmounts cleanly."""

    def replace_and_read(self, source, member, other, replace):
        """Mounts a copy of source, reads 64 KiB at the start of member,
        replaces the copy on the server (replace(path, arrays) writes the
        new version at path), then reads member at 12 MiB and other."""
        served = "replaced-%s" % self.id().rsplit(".", 1)[-1]
        path = copy_to_server(source, served)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        old = MEMBERS[source][member]
        url = WEB.https_url(served)
        m = Mount(self, url, ["ca_file=" + WEB.ca_file])
        fd = open_random(m.path(member))
        try:
            self.assertEqual(pread_exact(fd, 65536, 0), old[:65536])
            replace(path, dict(ARRAYS[source]))
            with zipfile.ZipFile(path) as z:
                new = z.read(member)
            # A part not read yet (nor in the tail fetched at mount).
            off = 12 * MiB
            self.assertNotEqual(new[off:off + 65536], old[off:off + 65536])
            try:
                got = pread_exact(fd, 65536, off)
            except OSError as e:
                self.assertEqual(e.errno, errno.EIO, e)
            else:
                self.assertNotEqual(got, new[off:off + 65536],
                                    "a read after the replacement gave the NEW version's bytes")
                self.fail("a read after the replacement succeeded (the old version's bytes: %s)"
                          % (got == old[off:off + 65536]))
            # What was read before: EIO, or the old bytes.
            for where, length in ((0, 65536), (100, 4096)):
                try:
                    got = pread_exact(fd, length, where)
                except OSError as e:
                    self.assertEqual(e.errno, errno.EIO, e)
                else:
                    self.assertEqual(got, old[where:where + length],
                                     "bytes read at %d after the replacement are not the old "
                                     "version's" % where)
        finally:
            os.close(fd)
        # Another member, not read before: EIO, or the old bytes.
        try:
            got = read_file(m.path(other))
        except OSError as e:
            self.assertEqual(e.errno, errno.EIO, e)
        else:
            self.assertEqual(got, MEMBERS[source][other])
        os.stat(m.mnt)
        self.assertIn(member, os.listdir(m.mnt))
        self.assertRegex(m.log(), re.escape(url) + r".*the object changed")
        self.assertEqual(m.unmount(), 0)

    @staticmethod
    def write_version(path, arrays, compressed=False, same_size=False):
        """Writes arrays as the new version of path: a temporary file in
        the served directory, renamed over it."""
        tmp = path + ".new.npz"
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
        st = os.stat(path)
        if same_size:
            if os.stat(tmp).st_size != st.st_size:
                raise AssertionError("the same-size replacement has another size")
            # nginx's ETag is "mtime-size": a replacement of the same size
            # needs another mtime, or no client could tell the versions
            # apart.
            os.utime(tmp, (st.st_atime, st.st_mtime + 10))
        os.rename(tmp, path)

    def test_replaced_by_other_size(self):
        """A stored member; the new version has another size (and ETag)."""
        def replace(path, arrays):
            arrays["big"] = arrays["big"] + np.float32(1)
            arrays["extra"] = np.arange(10)
            self.write_version(path, arrays)
        self.replace_and_read("stored.npz", "big.npy", "small.npy", replace)

    def test_replaced_by_same_size(self):
        """A stored member; the new version has the same size and layout,
        other bytes (and another mtime, so another ETag)."""
        def replace(path, arrays):
            arrays["big"] = -arrays["big"]
            self.write_version(path, arrays, same_size=True)
        self.replace_and_read("stored.npz", "big.npy", "small.npy", replace)

    def test_replaced_deflated(self):
        """A deflated member, decoded ahead on worker threads."""
        def replace(path, arrays):
            arrays["smooth"] = arrays["smooth"] * np.float32(2)
            self.write_version(path, arrays, compressed=True)
        self.replace_and_read("compressed.npz", "smooth.npy", "labels.npy", replace)


class DiskCacheTest(unittest.TestCase):
    """remote_cache_dir keeps fetched bytes across mounts: a second mount
    reads the archive again with almost no requests, and a damaged piece
    file is fetched again rather than served."""

    def test_remote_cache_dir(self):
        """Three mounts of one URL (through the counting proxy) with the
        same remote_cache_dir, each reading every file: the second sends
        only the request for the tail, the third refetches the piece
        whose file was damaged; every piece file holds the archive's bytes
        and every read is right."""
        name = "stored.npz"
        archive = ARCHIVE_BYTES[name]
        cache = tempfile.mkdtemp(prefix="npzfs-http-rcache-")
        self.addCleanup(shutil.rmtree, cache, True)
        proxy = FaultProxy("127.0.0.1", WEB.http_port)
        proxy.start()
        self.addCleanup(proxy.stop)
        url = proxy.url(name)
        opts = ["remote_cache_dir=" + cache, "noindex"]
        want = None

        def mount_and_read():
            nonlocal want
            before = proxy.stats()["ranged_gets"]
            m = Mount(self, url, opts)
            tree = read_tree(m.mnt)
            self.assertEqual(m.unmount(), 0)
            if want is None:
                want = tree
            self.assertEqual(sorted(tree), sorted(want))
            for path, data in tree.items():
                self.assertTrue(data == want[path], "%s differs" % path)
            return proxy.stats()["ranged_gets"] - before, m.stats()

        first, stats1 = mount_and_read()
        # The first mount's view against the archive itself.
        for member, data in MEMBERS[name].items():
            self.assertTrue(want[member] == data, member)
        self.assertGreater(first, 2)
        self.assertEqual(stats1["disk_mib"], 0)

        keys = [d for d in os.listdir(cache) if os.path.isdir(os.path.join(cache, d))]
        self.assertEqual(len(keys), 1, keys)
        piece_dir = os.path.join(cache, keys[0])
        pieces = self.check_pieces(piece_dir, archive)
        self.assertGreaterEqual(sum(pieces.values()), len(archive) - 2 * MiB)

        second, stats2 = mount_and_read()
        self.assertLessEqual(second, 2, "ranged GETs: %d first, %d with the disk cache"
                             % (first, second))
        self.assertLessEqual(3 * second, first)
        self.assertGreaterEqual(stats2["disk_mib"], (len(archive) >> 20) - 2)

        # Damage the piece in the middle of the big member.
        start = sorted(pieces)[len(pieces) // 2]
        victim = os.path.join(piece_dir, "%x-%x" % (start, pieces[start]))
        with open(victim, "r+b") as f:
            f.seek(pieces[start] // 2)
            b = f.read(1)
            f.seek(pieces[start] // 2)
            f.write(bytes([b[0] ^ 0x5A]))
        third, stats3 = mount_and_read()
        self.assertGreaterEqual(third, 2, "the damaged piece was not fetched again")
        self.assertGreater(stats3["disk_mib"], 0, stats3)
        # It was written again, right.
        self.check_pieces(piece_dir, archive)
        self.assertTrue(os.path.exists(victim))

    def check_pieces(self, piece_dir, archive):
        """Every piece file holds the archive's bytes where its name says;
        returns {start: length}."""
        pieces = {}
        for fname in os.listdir(piece_dir):
            m = re.fullmatch(r"([0-9a-f]+)-([0-9a-f]+)", fname)
            if not m:
                continue
            start, length = int(m.group(1), 16), int(m.group(2), 16)
            data = read_file(os.path.join(piece_dir, fname))
            self.assertEqual(len(data), length + 12, fname)
            self.assertTrue(data[:length] == archive[start:start + length],
                            "piece %s holds other bytes" % fname)
            pieces[start] = length
        self.assertTrue(pieces, "no piece files in " + piece_dir)
        return pieces


class PersistedIndexTest(unittest.TestCase):
    """The persisted index of a remote deflate member: written at unmount,
    and on a remount a read at 90 % of the member fetches a little around
    it instead of everything before it."""

    def test_index_used_on_remount(self):
        """A full read writes one *.npzidx at unmount; with it a remount
        reads 4 KiB at 90 % with a few requests and a small fraction of
        the member's compressed bytes, where a mount without it fetches
        nearly all of them."""
        name, member = "compressed.npz", "smooth.npy"
        with zipfile.ZipFile(os.path.join(DATA_DIR, name)) as z:
            csize_mib = z.getinfo(member).compress_size / MiB
        index_dir = tempfile.mkdtemp(prefix="npzfs-http-index-")
        self.addCleanup(shutil.rmtree, index_dir, True)

        # Without an index, the same read needs a pass from the start: the
        # measure below can tell the two apart.
        empty_dir = tempfile.mkdtemp(prefix="npzfs-http-noindex-")
        self.addCleanup(shutil.rmtree, empty_dir, True)
        cold = read_at_90(self, empty_dir)
        self.assertGreaterEqual(cold["fetched_mib"], 0.8 * csize_mib, cold)

        m = Mount(self, WEB.https_url(name), ["ca_file=" + WEB.ca_file, "index_dir=" + index_dir])
        self.assertTrue(read_file(m.path(member)) == MEMBERS[name][member])
        self.assertEqual(m.unmount(), 0)
        written = [f for f in os.listdir(index_dir) if f.endswith(".npzidx")]
        self.assertEqual(len(written), 1, os.listdir(index_dir))

        warm = read_at_90(self, index_dir)
        self.assertLessEqual(warm["requests"], 6, warm)
        self.assertLessEqual(warm["fetched_mib"], csize_mib / 3, warm)


class NpzinfoTest(unittest.TestCase):
    """npzinfo lists, describes and indexes remote archives."""

    def npzinfo(self, *args):
        return subprocess.run([NPZINFO_BIN, *args], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=seconds(60))

    def test_list(self):
        """The table names every key."""
        res = self.npzinfo("--ca-file", WEB.ca_file, WEB.https_url("stored.npz"))
        self.assertEqual(res.returncode, 0, res.stderr)
        listed = {line.split()[0] for line in res.stdout.splitlines()[1:] if line.strip()}
        self.assertEqual(listed, set(ARRAYS["stored.npz"]))

    def test_json(self):
        """--json: the archive named without secrets, every member's dtype
        and shape as numpy wrote them."""
        shown = WEB.https_url("compressed.npz")
        url = shown.replace("https://", "https://user:%s@" % SECRET_PASSWORD) + \
            "?token=" + SECRET_TOKEN
        res = self.npzinfo("list", "--ca-file", WEB.ca_file, "--json", url)
        self.assertEqual(res.returncode, 0, res.stderr)
        doc = json.loads(res.stdout)
        self.assertEqual(doc["archive"], shown)
        for secret in (SECRET_PASSWORD, SECRET_TOKEN):
            self.assertNotIn(secret, res.stdout + res.stderr)
        members = {x["key"]: x for x in doc["members"]}
        self.assertEqual(set(members), set(ARRAYS["compressed.npz"]))
        for key, arr in ARRAYS["compressed.npz"].items():
            descr, _, fortran = header_of(arr)
            self.assertEqual(members[key]["descr"], descr, key)
            self.assertEqual(list(members[key]["shape"]), list(arr.shape), key)
            self.assertEqual(members[key]["fortran_order"], fortran == "True", key)
            self.assertEqual(members[key]["method"], "deflate", key)

    def test_missing(self):
        """A 404 exits 1 with one line naming the URL."""
        url = WEB.http_url("missing.npz")
        res = self.npzinfo(url)
        self.assertEqual(res.returncode, 1, res.stderr)
        lines = res.stderr.splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        self.assertTrue(lines[0].startswith("npzinfo: "), lines[0])
        self.assertIn(url, lines[0])
        self.assertEqual(res.stdout, "")

    def test_index(self):
        """npzinfo index writes the index file a later mount uses: a read
        at 90 % of the deflated member then fetches little."""
        index_dir = tempfile.mkdtemp(prefix="npzfs-http-index-")
        self.addCleanup(shutil.rmtree, index_dir, True)
        url = WEB.https_url("compressed.npz")
        res = self.npzinfo("index", "--ca-file", WEB.ca_file, "--index-dir", index_dir, url)
        self.assertEqual(res.returncode, 0, res.stderr)
        written = [f for f in os.listdir(index_dir) if f.endswith(".npzidx")]
        self.assertEqual(len(written), 1, os.listdir(index_dir))
        stats = read_at_90(self, index_dir)
        with zipfile.ZipFile(os.path.join(DATA_DIR, "compressed.npz")) as z:
            csize_mib = z.getinfo("smooth.npy").compress_size / MiB
        self.assertLessEqual(stats["fetched_mib"], csize_mib / 3, stats)


class ManyMembersTest(unittest.TestCase):
    """An archive of 10,000 small arrays mounts with a handful of ranged
    requests, not one per member."""

    @classmethod
    def setUpClass(cls):
        rng = np.random.default_rng(5)
        cls.name = "many.npz"
        arrays = {"arr_%05d" % i: rng.standard_normal(100).astype(np.float32)
                  for i in range(MANY_COUNT)}
        cls.path = add_archive(cls.name, arrays)
        cls.addClassCleanup(os.unlink, cls.path)

    def test_mount_requests_and_reads(self):
        """At most 3 ranged GETs until the mount is live, none more for
        listing both views and stat-ing every raw file; 10,000 .npy
        files listed; 50 random members read right."""
        proxy = FaultProxy("127.0.0.1", WEB.http_port)
        proxy.start()
        self.addCleanup(proxy.stop)
        m = Mount(self, proxy.url(self.name), ["noindex"])
        at_mount = proxy.stats()["ranged_gets"]
        self.assertLessEqual(at_mount, 3, proxy.stats())
        names = os.listdir(m.mnt)
        npy = [n for n in names if n.endswith(".npy")]
        self.assertEqual(len(npy), MANY_COUNT)
        self.assertEqual(set(npy), set(MEMBERS[self.name]))
        raw = os.listdir(m.path("raw"))
        self.assertEqual(len(raw), MANY_COUNT)
        arrays = ARRAYS[self.name]
        for key in raw:
            self.assertEqual(os.stat(m.path("raw", key)).st_size, arrays[key].nbytes)
        self.assertLessEqual(proxy.stats()["ranged_gets"], 3, proxy.stats())
        for key in random.Random(3).sample(sorted(arrays), 50):
            path = m.path(key + ".npy")
            self.assertEqual(read_file(path), MEMBERS[self.name][key + ".npy"], key)
            self.assertTrue(same_array(np.load(path), arrays[key]), key)
        self.assertEqual(m.unmount(), 0)


class MemoryTest(unittest.TestCase):
    """The daemon's peak memory while reading remote members whole stays
    within remote_cache_size + cache_size + 64 MiB: the 20 MB members, and
    members of 96 MB (one stored, one deflated) that would not fit if
    either cache ignored its bound."""

    OPTIONS = ["remote_cache_size=8M", "cache_size=8M"]
    BOUND_MIB = 8 + 8 + 64

    @classmethod
    def setUpClass(cls):
        rng = np.random.default_rng(11)
        count = 24 * 1000 * 1000  # float32: 96 MB
        noise = rng.random(count, dtype=np.float32)
        steps = np.repeat(rng.standard_normal(count // 64).astype(np.float32), 64)
        for name, arrays, compressed in (("memory.npz", {"noise": noise}, False),
                                         ("memory-z.npz", {"steps": steps}, True)):
            path = os.path.join(DATA_DIR, name)
            cls.addClassCleanup(lambda p=path: os.path.exists(p) and os.unlink(p))
            (np.savez_compressed if compressed else np.savez)(path, **arrays)

    def test_peak_rss(self):
        """remote_cache_size=8M, cache_size=8M: cat of each big member,
        then VmHWM (from /proc/PID/status) below 80 MiB."""
        if binary_is_sanitized(NPZFS_BIN):
            self.skipTest("a sanitizer build's memory use is not the daemon's")
        for name, member in (("stored.npz", "big.npy"), ("compressed.npz", "smooth.npy"),
                             ("memory.npz", "noise.npy"), ("memory-z.npz", "steps.npy")):
            with self.subTest(archive=name):
                m = Mount(self, WEB.https_url(name), ["ca_file=" + WEB.ca_file] + self.OPTIONS)
                res = subprocess.run(["cat", m.path(member)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     timeout=seconds(120))
                self.assertEqual(res.returncode, 0, res.stderr)
                peak_kib = m.vm_hwm_kib()
                self.assertEqual(m.unmount(), 0)
                self.assertLess(peak_kib, self.BOUND_MIB * 1024,
                                "%s: VmHWM %d KiB after reading %s" % (name, peak_kib, member))
                if os.path.getsize(os.path.join(DATA_DIR, name)) > 16 * MiB:
                    # Fetched bytes were dropped to stay within remote_cache_size.
                    self.assertGreater(m.stats()["evicted_mib"], 0, m.stats())


if __name__ == "__main__":
    unittest.main()
