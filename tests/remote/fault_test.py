#!/usr/bin/env python3
"""Remote reads against a misbehaving HTTP server: npzfs mounts archives
served by nginx through fault_proxy.py, which answers a share of the range
requests with 503, 429, a reset or dropped connection, a short or stalled
body, a wrong Content-Range, the whole object, or another ETag.

Every read through the mount must return exactly the archive's bytes or
fail with EIO: never wrong bytes. Retryable faults are retried, so most
reads succeed; a changed ETag means the object was replaced, and reads
fail from then on. A read that runs out of attempts fails in bounded time,
the mount stays up, and the same read works once the server is healthy.

usage: fault_test.py [-v] [unittest arguments]

Needs nginx and fusermount3 (Debian: nginx-light, fuse3); run as root.
Environment: NPZFS_BIN (default BUILD/fs/npzfs of the repository),
NPZFS_TEST_TIME_FACTOR (default 1; multiplies every wait), NPZFS_TEST_VERBOSE
(set: print what each run's reads came to and which faults were injected).
"""
import errno
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import unittest
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import servers  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402
from npzfs_daemon import (Daemon, check_all_stopped, clean_env, is_mounted,  # noqa: E402
                          read_exactly, remote_stats, seconds)

VERBOSE = bool(os.environ.get("NPZFS_TEST_VERBOSE"))  # print each run's counts

MiB = 1 << 20
BIG_ELEMENTS = 4 * MiB  # float32: 16 MiB of data per big array
CHUNK = MiB
STALL_S = 2.0  # the slow fault's stall, more than stall_timeout below
MOUNT_OPTIONS = ["stall_timeout=1", "connect_timeout=2", "retries=4", "remote_cache_size=4M",
                 "noindex", "disk_cache_size=0"]
# For the runs of one fault kind: no decoding ahead and little decompressed
# data held, so that reads of the deflate member keep fetching whatever the
# machine's speed.
FETCHING_OPTIONS = MOUNT_OPTIONS + ["threads=0", "cache_size=4M"]
RETRYABLE = ("503", "429", "reset", "drop", "short", "slow", "badrange", "longbody")
ARCHIVES = ("stored.npz", "deflated.npz")
BIG_MEMBER = "big.npy"
SEED = 20240611

_root = None
_web = None
_expected = {}  # archive name -> bytes of its big member's .npy file


def note(text):
    if VERBOSE:
        print("\n  " + text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the archives


def _make_archives(root):
    rng = np.random.default_rng(7)
    big = rng.standard_normal(BIG_ELEMENTS, dtype=np.float32)
    small = {"ids": np.arange(1000, dtype=np.int64),
             "mask": rng.random(333) > 0.5,
             "grid": rng.integers(-1000, 1000, size=(37, 41), dtype=np.int16)}
    np.savez(os.path.join(root, "stored.npz"), big=big, **small)
    smooth = np.cumsum(rng.standard_normal(BIG_ELEMENTS, dtype=np.float32), dtype=np.float32)
    np.savez_compressed(os.path.join(root, "deflated.npz"), big=smooth, **small)
    for name in ARCHIVES:
        with zipfile.ZipFile(os.path.join(root, name)) as z:
            info = z.getinfo(BIG_MEMBER)
            want = zipfile.ZIP_STORED if name == "stored.npz" else zipfile.ZIP_DEFLATED
            assert info.compress_type == want, (name, info.compress_type)
            _expected[name] = z.read(BIG_MEMBER)


def setUpModule():
    global _root, _web
    _root = tempfile.mkdtemp(prefix="npzfs-fault-test-")
    unittest.addModuleCleanup(shutil.rmtree, _root, True)
    _make_archives(_root)
    _web = servers.Nginx(_root, tls=False)
    unittest.addModuleCleanup(_web.stop)
    _web.start()


def tearDownModule():
    check_all_stopped()


# ---------------------------------------------------------------- reading


class Tally:
    """What the reads of one run came to."""

    def __init__(self):
        self.ok = 0
        self.eio = 0
        self.wrong = []  # descriptions of reads that returned wrong bytes or another error
        self.order = []  # (archive, "ok"/"eio"/"wrong") in the order of the reads

    @property
    def total(self):
        return self.ok + self.eio

    def __repr__(self):
        return "ok=%d eio=%d wrong=%d %s" % (self.ok, self.eio, len(self.wrong), self.wrong[:5])


def check_read(tally, fd, name, offset, length):
    want = _expected[name][offset:offset + length]
    data, err = read_exactly(fd, offset, length)
    if data != want[:len(data)]:
        first = next((i for i, (a, b) in enumerate(zip(data, want)) if a != b),
                     min(len(data), len(want)))
        tally.wrong.append("%s at %d+%d: wrong bytes from offset %d (%d bytes returned)"
                           % (name, offset, length, offset + first, len(data)))
        tally.order.append((name, "wrong"))
    elif err is None and len(data) == len(want):
        tally.ok += 1
        tally.order.append((name, "ok"))
    elif err == errno.EIO:
        tally.eio += 1
        tally.order.append((name, "eio"))
    elif err is None:
        tally.wrong.append("%s at %d+%d: %d bytes, then end of file"
                           % (name, offset, length, len(data)))
        tally.order.append((name, "wrong"))
    else:
        tally.wrong.append("%s at %d+%d: %s instead of EIO"
                           % (name, offset, length, errno.errorcode.get(err, err)))
        tally.order.append((name, "wrong"))


def read_all_shuffled(paths, seed):
    """Reads the big member of each archive (paths: archive name -> path
    of its mounted big.npy) in full, CHUNK bytes a pread, in a random
    order (the same for a seed)."""
    fds = {}
    tally = Tally()
    try:
        for name, path in paths.items():
            fds[name] = os.open(path, os.O_RDONLY)
        reads = [(name, off) for name in sorted(paths)
                 for off in range(0, len(_expected[name]), CHUNK)]
        random.Random(seed).shuffle(reads)
        for name, off in reads:
            check_read(tally, fds[name], name, off, CHUNK)
    finally:
        for fd in fds.values():
            os.close(fd)
    return tally


# ---------------------------------------------------------------- the tests


class FaultTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="npzfs-fault-run-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)

    def start_proxy(self, upstream_port):
        proxy = FaultProxy("127.0.0.1", upstream_port, stall_s=STALL_S)
        proxy.start()
        self.addCleanup(proxy.stop)
        return proxy

    def mount(self, url, tag, options=MOUNT_OPTIONS):
        mnt = os.path.join(self.tmp, "mnt-" + tag)
        os.mkdir(mnt)
        d = Daemon(self, url, options, mnt, os.path.join(self.tmp, "npzfs-%s.log" % tag),
                   env=clean_env(self.home))
        d.wait_mounted(timeout_s=20)
        return d

    def mount_both(self, proxy, names=ARCHIVES, options=MOUNT_OPTIONS):
        """The archives mounted through the proxy, with no faults while
        mounting (the mount pins the object's version)."""
        proxy.clear_faults()
        daemons = {name: self.mount(proxy.url(name), name[:-4], options) for name in names}
        for name, d in daemons.items():
            st = os.stat(os.path.join(d.mnt, BIG_MEMBER))
            self.assertEqual(st.st_size, len(_expected[name]))
        return daemons

    def unmount_both(self, proxy, daemons):
        """Unmounts; checks exit 0; returns {name: (requests, retries)} and the logs."""
        stats, logs = {}, {}
        for name, d in daemons.items():
            rc = d.unmount()
            logs[name] = d.log()
            self.assertEqual(rc, 0, "npzfs exit status for %s:\n%s" % (name, logs[name]))
            counts = remote_stats(logs[name], proxy.url(name))
            stats[name] = (counts["requests"], counts["retries"])
        return stats, logs

    def run_faults(self, faults, seed=SEED):
        proxy = self.start_proxy(_web.http_port)
        daemons = self.mount_both(proxy, options=FETCHING_OPTIONS)
        paths = {name: os.path.join(d.mnt, BIG_MEMBER) for name, d in daemons.items()}
        proxy.set_faults(faults, seed=seed)
        tally = read_all_shuffled(paths, seed)
        injected = proxy.stats()["faults"]
        proxy.clear_faults()
        stats, logs = self.unmount_both(proxy, daemons)
        return tally, injected, stats, logs

    def check_retried(self, kind):
        tally, injected, stats, logs = self.run_faults({kind: 0.3})
        summary = "%s: %r; injected %s; requests/retries %s" % (kind, tally, injected, stats)
        note(summary)
        self.assertEqual(tally.wrong, [], summary)
        self.assertGreater(injected.get(kind, 0), 0, summary)
        self.assertGreaterEqual(tally.ok, 0.9 * tally.total, summary)
        self.assertGreater(sum(r for _, r in stats.values()), 0,
                           "%s faults were injected but never retried; %s" % (kind, summary))

    def test_503(self):
        self.check_retried("503")

    def test_429(self):
        self.check_retried("429")

    def test_reset(self):
        self.check_retried("reset")

    def test_drop(self):
        self.check_retried("drop")

    def test_short(self):
        self.check_retried("short")

    def test_slow(self):
        self.check_retried("slow")

    def test_badrange(self):
        self.check_retried("badrange")

    def test_longbody(self):
        self.check_retried("longbody")

    def test_stall_longer_than_stall_timeout_is_retried(self):
        # stall_timeout=1: a response that stalls STALL_S seconds halfway
        # is abandoned and asked again.
        proxy = self.start_proxy(_web.http_port)
        daemons = self.mount_both(proxy, names=("stored.npz",))
        before = proxy.stats()["ranged_gets"]
        proxy.fail_next("slow", count=1)
        tally = Tally()
        fd = os.open(os.path.join(daemons["stored.npz"].mnt, BIG_MEMBER), os.O_RDONLY)
        try:
            check_read(tally, fd, "stored.npz", 7 * MiB, CHUNK)
        finally:
            os.close(fd)
        gets = proxy.stats()["ranged_gets"] - before
        self.assertEqual((tally.ok, tally.eio, tally.wrong), (1, 0, []))
        self.assertEqual(proxy.stats()["faults"], {"slow": 1})
        stats, logs = self.unmount_both(proxy, daemons)
        self.assertGreaterEqual(stats["stored.npz"][1], 1,
                                "a %.0f s stall was waited out instead of retried (%d range "
                                "requests for the read):\n%s" % (STALL_S, gets, logs["stored.npz"]))

    def test_wrongetag_means_replaced(self):
        tally, injected, stats, logs = self.run_faults({"wrongetag": 0.3})
        summary = "%r; injected %s" % (tally, injected)
        note(summary)
        self.assertEqual(tally.wrong, [], summary)
        self.assertGreater(injected.get("wrongetag", 0), 0, summary)
        self.assertGreater(tally.eio, 0, summary)
        self.assertTrue(any("changed since it was mounted" in log for log in logs.values()),
                        "no log says the object changed:\n" + "\n".join(logs.values()))
        # The stored member's bytes come straight from the remote object:
        # once a read found it replaced, every later read (of bytes not
        # read before) fails. (The deflate member's reads may still be
        # served from decompressed data held from before.)
        stored = [r for name, r in tally.order if name == "stored.npz"]
        if "eio" in stored:
            after = stored[stored.index("eio"):]
            self.assertEqual(after, ["eio"] * len(after), summary)

    def test_mixed_retryable(self):
        faults = {kind: 0.035 for kind in RETRYABLE}
        tally, injected, stats, logs = self.run_faults(faults, seed=SEED + 1)
        summary = "%r; injected %s; requests/retries %s" % (tally, injected, stats)
        note(summary)
        self.assertEqual(tally.wrong, [], summary)
        self.assertGreaterEqual(len(injected), 4, summary)
        self.assertGreaterEqual(tally.ok, 0.9 * tally.total, summary)
        self.assertGreater(sum(r for _, r in stats.values()), 0, summary)

    def test_mixed_all_kinds(self):
        faults = {kind: 0.03 for kind in RETRYABLE}
        faults["wrongetag"] = 0.01
        tally, injected, stats, logs = self.run_faults(faults, seed=SEED + 2)
        summary = "%r; injected %s; requests/retries %s" % (tally, injected, stats)
        note(summary)
        self.assertEqual(tally.wrong, [], summary)
        self.assertGreaterEqual(len(injected), 4, summary)
        if injected.get("wrongetag"):
            self.assertTrue(any("changed since it was mounted" in log for log in logs.values()),
                            "\n".join(logs.values()))

    def read_concurrently(self, paths, seed):
        """Three threads read the three thirds of each chunk at once (the
        chunks in a random order), so that reads wait for the same fetches
        (and decoding). Returns (ok, total, wrong)."""
        reads = [(name, off) for name in sorted(paths)
                 for off in range(0, len(_expected[name]), CHUNK)]
        random.Random(seed).shuffle(reads)
        third = CHUNK // 3
        barrier = threading.Barrier(3, timeout=seconds(60))
        tallies = [Tally() for _ in range(3)]
        errors = []

        def reader(i):
            fds = {}
            try:
                for name, path in paths.items():
                    fds[name] = os.open(path, os.O_RDONLY)
                for name, off in reads:
                    barrier.wait()
                    start = off + i * third
                    if start < len(_expected[name]):
                        check_read(tallies[i], fds[name], name, start,
                                   third if i < 2 else CHUNK - 2 * third)
            except Exception as e:  # noqa: BLE001 - reported by the test
                errors.append(repr(e))
                barrier.abort()
            finally:
                for fd in fds.values():
                    os.close(fd)

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds(300))
        self.assertFalse(any(t.is_alive() for t in threads), "readers hang")
        self.assertEqual(errors, [])
        return (sum(t.ok for t in tallies), sum(t.total for t in tallies),
                sum((t.wrong for t in tallies), []))

    def test_concurrent_readers(self):
        faults = {kind: 0.04 for kind in RETRYABLE if kind != "slow"}
        proxy = self.start_proxy(_web.http_port)
        daemons = self.mount_both(proxy)
        paths = {name: os.path.join(d.mnt, BIG_MEMBER) for name, d in daemons.items()}
        proxy.set_faults(faults, seed=SEED + 3)
        ok, total, wrong = self.read_concurrently(paths, SEED + 3)
        injected = proxy.stats()["faults"]
        proxy.clear_faults()
        stats, logs = self.unmount_both(proxy, daemons)
        summary = "ok=%d of %d, wrong %s; injected %s; requests/retries %s" % (
            ok, total, wrong[:5], injected, stats)
        note(summary)
        self.assertEqual(wrong, [], summary)
        self.assertGreaterEqual(ok, 0.9 * total, summary)
        self.assertGreater(sum(r for _, r in stats.values()), 0, summary)

    def test_concurrent_readers_failing_then_recover(self):
        # So many 503s (and one retry only) that some fetches run out of
        # attempts while other reads wait for them: those fail with EIO,
        # none hangs or gets wrong bytes, and once the server is healthy
        # every read works.
        proxy = self.start_proxy(_web.http_port)
        options = [o for o in MOUNT_OPTIONS if not o.startswith("retries=")] + ["retries=1"]
        daemons = self.mount_both(proxy, options=options)
        paths = {name: os.path.join(d.mnt, BIG_MEMBER) for name, d in daemons.items()}
        proxy.set_faults({"503": 0.6, "reset": 0.1}, seed=SEED + 4)
        ok, total, wrong = self.read_concurrently(paths, SEED + 4)
        injected = proxy.stats()["faults"]
        proxy.clear_faults()
        summary = "ok=%d of %d, wrong %s; injected %s" % (ok, total, wrong[:5], injected)
        note(summary)
        self.assertEqual(wrong, [], summary)
        self.assertLess(ok, total, "no read failed: " + summary)
        tally = read_all_shuffled(paths, SEED + 5)
        chunks = sum(-(-len(_expected[name]) // CHUNK) for name in ARCHIVES)
        self.assertEqual((tally.ok, tally.eio, tally.wrong), (chunks, 0, []),
                         "after the faults stopped")
        self.unmount_both(proxy, daemons)

    def test_retries_run_out_then_recover(self):
        proxy = self.start_proxy(_web.http_port)
        daemons = self.mount_both(proxy)
        for name in ARCHIVES:
            with self.subTest(archive=name):
                path = os.path.join(daemons[name].mnt, BIG_MEMBER)
                offset = 9 * MiB
                fd = os.open(path, os.O_RDONLY)
                try:
                    before = proxy.stats()["faults"].get("503", 0)
                    proxy.fail_next("503", count=100)
                    t0 = time.monotonic()
                    tally = Tally()
                    check_read(tally, fd, name, offset, CHUNK)
                    elapsed = time.monotonic() - t0
                    self.assertEqual(tally.wrong, [])
                    self.assertEqual((tally.ok, tally.eio), (0, 1),
                                     "the read should fail after its retries")
                    self.assertLess(elapsed, seconds(60))
                    self.assertGreaterEqual(proxy.stats()["faults"].get("503", 0) - before, 5)
                    # The mount is still up and answers.
                    self.assertTrue(is_mounted(daemons[name].mnt))
                    self.assertEqual(os.stat(path).st_size, len(_expected[name]))
                    self.assertIn(BIG_MEMBER, os.listdir(daemons[name].mnt))
                    proxy.clear_faults()
                    check_read(tally, fd, name, offset, CHUNK)
                    self.assertEqual((tally.ok, tally.eio, tally.wrong), (1, 1, []),
                                     "the same read should work once the server is healthy")
                    # Further reads work too.
                    for off in (0, len(_expected[name]) - CHUNK, 3 * MiB):
                        check_read(tally, fd, name, off, CHUNK)
                    self.assertEqual((tally.ok, tally.eio, tally.wrong), (4, 1, []))
                finally:
                    os.close(fd)
        stats, logs = self.unmount_both(proxy, daemons)
        for name in ARCHIVES:
            self.assertGreaterEqual(stats[name][1], 4, logs[name])

    def test_upstream_stopped(self):
        web2 = servers.Nginx(_root, tls=False)
        web2.start()
        self.addCleanup(web2.stop)
        # No decoding ahead, little held: the reads below need the server.
        daemons = {name: self.mount(web2.http_url(name), "down-" + name[:-4], FETCHING_OPTIONS)
                   for name in ARCHIVES}
        paths = {name: os.path.join(d.mnt, BIG_MEMBER) for name, d in daemons.items()}
        # Healthy first: one chunk of each reads right.
        tally = Tally()
        for name in ARCHIVES:
            fd = os.open(paths[name], os.O_RDONLY)
            try:
                check_read(tally, fd, name, 0, CHUNK)
            finally:
                os.close(fd)
        self.assertEqual((tally.ok, tally.wrong), (2, []))
        web2.stop()
        t0 = time.monotonic()
        tally = Tally()
        for name in ARCHIVES:
            fd = os.open(paths[name], os.O_RDONLY)
            try:
                for off in (14 * MiB, 9 * MiB):
                    check_read(tally, fd, name, off, CHUNK)
            finally:
                os.close(fd)
        elapsed = time.monotonic() - t0
        self.assertEqual(tally.wrong, [], repr(tally))
        self.assertEqual(tally.eio, 4, repr(tally))
        self.assertLess(elapsed, seconds(4 * 60))
        for name, d in daemons.items():
            self.assertTrue(is_mounted(d.mnt))
            self.assertEqual(os.stat(paths[name]).st_size, len(_expected[name]))
            self.assertEqual(sorted(os.listdir(d.mnt)),
                             sorted(["big.npy", "grid.npy", "ids.npy", "mask.npy", "raw"]))
        for name, d in daemons.items():
            rc = d.unmount()
            self.assertEqual(rc, 0, d.log())
            self.assertGreater(remote_stats(d.log(), web2.http_url(name))["retries"], 0, d.log())


if __name__ == "__main__":
    unittest.main()
