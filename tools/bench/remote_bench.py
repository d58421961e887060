"""Part (r) of the npzfs benchmark: remote archives over a link with a
round trip added.

nginx serves the benchmark's archives on 127.0.0.1; a delaying proxy of
our own (tests/remote/fault_proxy.py) in front of it holds every chunk of
bytes 25 ms each way, so that a request on a kept-alive connection costs
one 50 ms round trip (RTT) more (this kernel has no netem). Against:

  - curl fetching the whole object through the same proxy (the link's
    speed);
  - fsspec (HTTP through aiohttp, zip through Python's zipfile): np.load of
    a member via "zip://KEY.npy::http://...".

Figures, each the median of `runs` fresh mounts:
  - mount of a 10,000-member npz, until the mount is live, in RTTs, and
    the ranged GETs it took;
  - np.load of a 40 MB member (np.savez) vs fsspec;
  - random 4 KiB reads of a stored member, and of a deflate member with a
    persisted index and as a SOZip member, in RTTs (one read per fresh
    mount, at a random place);
  - a sequential read (cat) of the 1 GiB stored and deflate members vs
    curl of the whole object;
  - the daemon's peak RSS (VmHWM) after those reads, against
    remote_cache_size + cache_size + 64 MiB.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "remote"))
import servers  # noqa: E402  (tests/remote)
from bench import Mount, cat, log, median, read_at, row, status_mib, timed  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402

MiB = 1 << 20
DELAY_MS = 25
REMOTE_CACHE = 128  # MiB, the default
CACHE = 32  # MiB, the default


def make_shards(path):
    """An np.savez of 10,000 arrays of 100 float32 each."""
    if os.path.exists(path):
        return
    rng = np.random.default_rng(5)
    arrays = {"s%05d" % i: rng.standard_normal(100).astype(np.float32) for i in range(10_000)}
    np.savez(path + ".tmp.npz", **arrays)
    os.rename(path + ".tmp.npz", path)


def _link(root, name, target):
    dst = os.path.join(root, name)
    if not os.path.exists(dst):
        os.symlink(os.path.abspath(target), dst)
    return name


def _curl_whole(url):
    subprocess.run(["curl", "-sf", "-o", "/dev/null", url], check=True)


def _measured_rtt(url):
    """Seconds of a 1-byte range request on a kept-alive connection."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        c.request("GET", u.path, headers={"Range": "bytes=0-0"})
        c.getresponse().read()
        times.append(time.perf_counter() - t)
    c.close()
    return median(times[1:])  # the first one also connects


def _fsspec_load_seconds(url, key, runs):
    code = (
        "import fsspec, numpy as np, sys, time\n"
        "t = time.perf_counter()\n"
        "with fsspec.open('zip://%s.npy::%s', 'rb') as f:\n"
        "    a = np.load(f)\n"
        "print(time.perf_counter() - t)\n" % (key, url))
    times = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if r.returncode != 0:
            log("  fsspec failed: " + r.stderr.strip().splitlines()[-1])
            return None
        times.append(float(r.stdout))
    return median(times)


def _npload_seconds(path, runs_list):
    t = time.perf_counter()
    a = np.load(path)
    runs_list.append(time.perf_counter() - t)
    return a


def bench_r(npzfs, npzinfo, files, runs, data_dir):
    log("(r) remote archives over HTTP, %d ms added each way (a %d ms round trip)"
         % (DELAY_MS, 2 * DELAY_MS))
    shards = os.path.join(data_dir, "shards_10000.npz")
    make_shards(shards)
    root = tempfile.mkdtemp(prefix="npzfs-rbench-www-")
    index_dir = tempfile.mkdtemp(prefix="npzfs-rbench-index-")
    try:
        names = {
            "shards": _link(root, "shards.npz", shards),
            "seed": _link(root, "seed.npz", files["seed_s"]),
            "stored": _link(root, "stored.npz", files["big_s"]),
            "deflate": _link(root, "deflate.npz", files["big_z"]),
            "sozip": _link(root, "sozip.npz", files["big_sozip"]),
        }
        with servers.Nginx(root, tls=False) as web, \
                FaultProxy("127.0.0.1", web.http_port, delay_ms=DELAY_MS) as proxy:
            url = {k: proxy.url("/" + v) for k, v in names.items()}
            _bench_urls(npzfs, npzinfo, url, proxy, runs, index_dir, files)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(index_dir, ignore_errors=True)


def _bench_urls(npzfs, npzinfo, url, proxy, runs, index_dir, files):
    rtt = _measured_rtt(url["seed"])
    row("round trip (1-byte range, kept-alive connection)", rtt * 1e3, "ms")

    # Mount time of 10,000 members.
    times, gets = [], []
    for _ in range(runs):
        before = proxy.stats()["ranged_gets"]
        with Mount([npzfs, "-f", "-o", "noindex"], url["shards"]) as m:
            times.append(m.mount_seconds)
            gets.append(proxy.stats()["ranged_gets"] - before)
            assert len(os.listdir(m.mnt)) == 10_001  # and raw/
    t = median(times)
    row("mount of a 10,000-member npz, until live", t * 1e3, "ms",
         (t / rtt, "RTT"), (median(gets), "ranged GETs"))

    # np.load of a 40 MB member.
    ours = []
    for _ in range(runs):
        with Mount([npzfs, "-f", "-o", "noindex"], url["seed"]) as m:
            a = _npload_seconds(m.path("seed.npy"), ours)
    ref = np.load(files["seed_s"])["seed"]
    assert np.array_equal(a, ref)
    t = median(ours)
    fs = _fsspec_load_seconds(url["seed"], "seed", runs)
    row("np.load of a 40 MB member (np.savez), fresh mount", t * 1e3, "ms",
         *([(fs / t, "faster than fsspec zip:// over http (%.0f ms)" % (fs * 1e3))] if fs else []))

    # Random 4 KiB reads, one per fresh mount.
    rng = random.Random(7)
    size = os.path.getsize(files["big_npy"]) if os.path.exists(files["big_npy"]) else None

    def random_reads(u, options, member="smooth.npy"):
        lat = []
        for _ in range(max(runs, 5)):
            with Mount([npzfs, "-f", "-o", ",".join(options)], u) as m:
                p = m.path(member)
                n = os.path.getsize(p)
                lat.append(timed(read_at, p, rng.randrange(0, n - 4096)))
        return median(lat)

    stored = random_reads(url["stored"], ["noindex"])
    row("random 4 KiB, stored member, fresh mount", stored * 1e3, "ms", (stored / rtt, "RTT"))
    subprocess.run([npzinfo, "index", "--index-dir", index_dir, url["deflate"]], check=True,
                   stdout=subprocess.DEVNULL)
    indexed = random_reads(url["deflate"], ["index_dir=" + index_dir])
    row("random 4 KiB, deflate member, persisted index", indexed * 1e3, "ms",
         (indexed / rtt, "RTT"))
    sozip = random_reads(url["sozip"], ["noindex"])
    row("random 4 KiB, SOZip member, fresh mount", sozip * 1e3, "ms", (sozip / rtt, "RTT"))

    # Sequential reads of 1 GiB against curl of the whole object.
    for key in ("stored", "deflate"):
        whole = os.path.getsize(files["big_s" if key == "stored" else "big_z"])
        t_curl = median([timed(_curl_whole, url[key]) for _ in range(runs)])
        row("curl of the whole %s archive (%.0f MB)" % (key, whole / 1e6),
             whole / 1e6 / t_curl, "MB/s")
        seq, hwm = [], []
        for _ in range(runs):
            with Mount([npzfs, "-f", "-o", "noindex"], url[key]) as m:
                p = m.path("smooth.npy")
                seq.append(timed(cat, p))
                hwm.append(status_mib(m.pid))
        member = os.path.getsize(files["big_npy"]) if size else whole
        t = median(seq)
        row("cat of the %s member, fresh mount" % key, member / 1e6 / t, "MB/s",
             (t_curl / t, "curl's time for the whole object"))
        row("  daemon VmHWM after it", median(hwm), "MiB",
             (median(hwm) / (REMOTE_CACHE + CACHE + 64),
              "remote_cache_size + cache_size + 64 MiB"))
