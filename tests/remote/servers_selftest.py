#!/usr/bin/env python3
"""Checks the remote-archive test servers (servers.py) and the fault proxy
(fault_proxy.py) with curl, so that the client's tests can trust them.

usage: servers_selftest.py [-v] [unittest arguments]

Needs nginx, openssl, curl, ceph-mon, ceph-osd, radosgw and radosgw-admin
(Debian: nginx-light, ceph-mon, ceph-osd, radosgw, ceph-common). Run as
root. At the end it checks that no daemon the suite started is still alive.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402
import servers  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402

DATA_SIZE = 3 * 1000 * 1000
DELAY_MS = 40
BIG_SIZE = 128 * 1024 * 1024


class Curl:
    """One curl run: rc, body (bytes), headers (dict, lower-case names, of
    the last response), info (list of curl's %{json} dicts, one a URL)."""

    def __init__(self, rc, body, headers, info, stderr):
        self.rc, self.body, self.headers, self.info, self.stderr = rc, body, headers, info, stderr

    @property
    def status(self):
        return self.info[-1]["http_code"] if self.info else 0


def curl(*args, timeout=60):
    """Runs curl with args (URLs among them); the body of every URL goes
    to one file, which is returned."""
    with tempfile.TemporaryDirectory() as d:
        body_file, head_file = os.path.join(d, "body"), os.path.join(d, "head")
        urls = sum(1 for a in args if str(a).startswith("http"))
        outs = []
        for _ in range(max(1, urls)):
            outs += ["-o", body_file + str(len(outs))]
        res = subprocess.run(["curl", "-sS", "-D", head_file, "-w", "%{json}\n", *outs, *args],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        body = b"".join(_read(body_file + str(i)) for i in range(0, len(outs), 2))
        headers = _last_headers(_read(head_file).decode("latin-1"))
    info = [json.loads(line) for line in res.stdout.decode().splitlines() if line.strip()]
    return Curl(res.returncode, body, headers, info, res.stderr.decode(errors="replace"))


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _last_headers(text):
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    headers = {}
    for line in blocks[-1].split("\n")[1:] if blocks else []:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def random_tree(test_case):
    """A temporary directory with a 3 MB random file f; returns (dir, data)."""
    root = tempfile.mkdtemp(prefix="npzfs-selftest-")
    test_case.addClassCleanup(shutil.rmtree, root, True)
    data = os.urandom(DATA_SIZE)
    with open(os.path.join(root, "f"), "wb") as f:
        f.write(data)
    with open(os.path.join(root, "a b+c.bin"), "wb") as f:
        f.write(data[:1000])
    return root, data


# ---------------------------------------------------------------- ports


class FreePortTest(unittest.TestCase):
    def test_below_ephemeral_range_and_distinct(self):
        low, _ = servers.ephemeral_range()
        ports = [servers.free_port() for _ in range(20)]
        try:
            self.assertEqual(len(set(ports)), len(ports))
            for port in ports:
                self.assertLess(port, low)
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                s.close()
        finally:
            for port in ports:
                servers.release_port(port)

    def test_other_process_skips_held_port(self):
        port = servers.free_port()
        try:
            code = ("import sys; sys.path.insert(0, %r); import servers\n"
                    "print(servers._lock_port(%d))" % (os.path.dirname(servers.__file__), port))
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            self.assertEqual(out.stdout.strip(), "False", out.stderr)
        finally:
            servers.release_port(port)


# ---------------------------------------------------------------- nginx


class NginxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root, cls.data = random_tree(cls)
        cls.web = servers.Nginx(cls.root)
        cls.web.start()
        cls.addClassCleanup(cls.web.stop)

    def test_https_range(self):
        r = curl("--cacert", self.web.ca_file, "-r", "100-199", self.web.https_url("f"))
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, self.data[100:200])

    def test_https_is_http2(self):
        r = curl("--cacert", self.web.ca_file, "-r", "0-9", self.web.https_url("f"))
        self.assertEqual(r.info[0]["http_version"], "2")

    def test_certificate_names(self):
        url = self.web.https_url("f").replace("127.0.0.1", "localhost")
        r = curl("--cacert", self.web.ca_file, "-r", "0-9", url)
        self.assertEqual((r.rc, r.body), (0, self.data[:10]), r.stderr)
        r = curl("-r", "0-9", self.web.https_url("f"))  # not trusted without the CA
        self.assertEqual(r.rc, 60)

    def test_http_range_and_quoted_name(self):
        r = curl("-r", "10-19", self.web.http_url("a b+c.bin"))
        self.assertEqual((r.status, r.body), (206, self.data[10:20]))
        self.assertEqual(r.info[0]["http_version"], "1.1")

    def test_if_match(self):
        etag = curl("-I", self.web.https_url("f"), "--cacert", self.web.ca_file).headers["etag"]
        good = curl("--cacert", self.web.ca_file, "-r", "0-9", "-H", "If-Match: " + etag,
                    self.web.https_url("f"))
        self.assertEqual((good.status, good.body), (206, self.data[:10]))
        bad = curl("--cacert", self.web.ca_file, "-r", "0-9", "-H", 'If-Match: "0-0"',
                   self.web.https_url("f"))
        self.assertEqual(bad.status, 412)

    def test_keepalive_reuses_connection(self):
        url = self.web.http_url("f")
        r = curl("-r", "0-9", url, "-r", "0-9", url)
        self.assertEqual([i["num_connects"] for i in r.info], [1, 0])

    def test_missing_root_fails_cleanly(self):
        with self.assertRaises(RuntimeError):
            servers.Nginx(os.path.join(self.root, "nonexistent")).start()


# ---------------------------------------------------------------- fault proxy


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root, cls.data = random_tree(cls)
        cls.web = servers.Nginx(cls.root, tls=False)
        cls.web.start()
        cls.addClassCleanup(cls.web.stop)

    def proxy(self, **kwargs):
        p = FaultProxy("127.0.0.1", self.web.http_port, **kwargs).start()
        self.addCleanup(p.stop)
        return p

    def fault(self, kind, *extra, **kwargs):
        """A ranged GET of 100-199 through a proxy that applies kind."""
        p = self.proxy(**kwargs)
        p.fail_next(kind)
        r = curl("--max-time", "20", *extra, "-r", "100-199", p.url("f"))
        self.assertEqual(p.stats()["faults"], {kind: 1})
        return r

    def test_passes_bytes_unchanged(self):
        p = self.proxy()
        whole = curl(p.url("f"))
        self.assertEqual((whole.status, whole.body), (200, self.data))
        part = curl("-r", "1000-2999999", p.url("f"))
        self.assertEqual((part.status, part.body), (206, self.data[1000:]))
        head = curl("-I", p.url("f"))
        self.assertEqual((head.status, head.headers["content-length"]), (200, str(DATA_SIZE)))

    def test_delay_per_round_trip(self):
        p = self.proxy(delay_ms=DELAY_MS)
        url = p.url("f")
        r = curl("-r", "0-9", url, "-r", "0-9", url, "-r", "0-9", url)
        self.assertEqual([i["num_connects"] for i in r.info], [1, 0, 0])
        d = DELAY_MS / 1000.0
        first, reused = r.info[0]["time_total"], r.info[1]["time_total"]
        self.assertGreaterEqual(first, 2.5 * d)
        self.assertGreaterEqual(reused, 1.5 * d)
        # That reuse skips the connection's delay is num_connects above: no
        # upper bound on a time, which a loaded machine can stretch.
        self.assertEqual(r.body, self.data[:10] * 3)

    def test_503_keeps_connection(self):
        p = self.proxy()
        p.fail_next("503")
        url = p.url("f")
        r = curl("-r", "0-9", url, "-r", "0-9", url)
        self.assertEqual([i["http_code"] for i in r.info], [503, 206])
        self.assertEqual([i["num_connects"] for i in r.info], [1, 0])
        self.assertEqual(p.stats()["faults"], {"503": 1})

    def test_429(self):
        self.assertEqual(self.fault("429").status, 429)

    def test_reset(self):
        r = self.fault("reset")
        self.assertEqual(r.rc, 56, r.stderr)
        self.assertIn("reset", r.stderr)

    def test_drop(self):
        r = self.fault("drop")
        self.assertEqual(r.rc, 52, r.stderr)

    def test_short(self):
        r = self.fault("short")
        self.assertEqual(r.rc, 18, r.stderr)
        self.assertEqual(r.headers["content-length"], "100")
        self.assertEqual(r.body, self.data[100:150])

    def test_slow(self):
        t0 = time.monotonic()
        r = self.fault("slow", stall_s=1.0)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.assertEqual((r.status, r.body), (206, self.data[100:200]))

    def test_slow_trips_client_timeout(self):
        r = self.fault("slow", "--max-time", "1.5", stall_s=4.0)
        self.assertEqual(r.rc, 28, r.stderr)

    def test_badrange(self):
        r = self.fault("badrange")
        self.assertEqual(r.status, 206)
        self.assertEqual(r.headers["content-range"], "bytes 101-200/%d" % DATA_SIZE)
        self.assertEqual(r.body, self.data[100:200])

    def test_longbody(self):
        r = self.fault("longbody")
        self.assertEqual((r.status, r.body), (200, self.data))

    def test_wrongetag(self):
        real = curl("-I", self.web.http_url("f")).headers["etag"]
        r = self.fault("wrongetag")
        self.assertEqual((r.status, r.body), (206, self.data[100:200]))
        self.assertNotEqual(r.headers["etag"], real)

    def test_only_ranged_gets_are_faulted(self):
        p = self.proxy()
        p.fail_next("503")
        self.assertEqual(curl("-I", p.url("f")).status, 200)
        self.assertEqual(curl("-I", "-r", "0-9", p.url("f")).status, 206)
        self.assertEqual(curl(p.url("f")).status, 200)
        self.assertEqual(curl("-r", "0-9", p.url("f")).status, 503)
        stats = p.stats()
        self.assertEqual((stats["requests"], stats["ranged_gets"]), (4, 1))

    def test_fault_schedule_is_seeded(self):
        def run_schedule(seed):
            p = self.proxy(faults={"503": 0.3, "429": 0.3}, seed=seed)
            url = p.url("f")
            r = curl(*[a for _ in range(30) for a in ("-r", "0-9", url)])
            p.stop()
            return [i["http_code"] for i in r.info], p.stats()
        codes, stats = run_schedule(5)
        self.assertEqual(run_schedule(5)[0], codes)
        self.assertEqual(stats["faults"].get("503", 0), codes.count(503))
        self.assertEqual(stats["faults"].get("429", 0), codes.count(429))
        self.assertEqual(codes.count(206) + codes.count(503) + codes.count(429), 30)
        self.assertTrue(0 < codes.count(206) < 30)
        p = self.proxy()
        p.set_faults({"429": 1.0}, seed=1)
        self.assertEqual(curl("-r", "0-9", p.url("f")).status, 429)
        with self.assertRaises(ValueError):
            p.set_faults({"nonsense": 0.1})

    def test_fault_spec(self):
        self.assertEqual(fault_proxy.parse_fault_spec("503:0.2, reset:0.1"),
                         {"503": 0.2, "reset": 0.1})
        for bad in ("503", "boom:0.1", "503:0.7,reset:0.7"):
            with self.assertRaises(ValueError):
                fault_proxy.parse_fault_spec(bad)

    def test_upstream_down(self):
        port = servers.free_port()
        self.addCleanup(servers.release_port, port)
        p = FaultProxy("127.0.0.1", port).start()
        self.addCleanup(p.stop)
        r = curl("--max-time", "5", p.url("f"))
        self.assertEqual(r.rc, 52, r.stderr)

    def test_stop_with_open_connections(self):
        p = self.proxy(delay_ms=DELAY_MS)
        socks = [socket.create_connection(("127.0.0.1", p.port)) for _ in range(3)]
        socks[0].sendall(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        t0 = time.monotonic()
        p.stop()
        # Stopping never waits on the open connections (a generous bound:
        # tests run in parallel with sanitized builds).
        self.assertLess(time.monotonic() - t0, 10.0)
        for s in socks:
            s.close()

    def test_large_body_passes_whole(self):
        big = os.path.join(self.root, "big")
        with open(big, "wb") as f:
            f.truncate(BIG_SIZE)
        self.addCleanup(os.unlink, big)
        direct = curl(self.web.http_url("big"))  # also brings the file into the page cache
        sys.stderr.write("[direct: %.0f MB/s] " % (direct.info[0]["speed_download"] / 1e6))
        for delay in (0, 25):
            p = self.proxy(delay_ms=delay)
            r = curl(p.url("big"))
            speed = r.info[0]["speed_download"] / 1e6
            sys.stderr.write("[proxy delay %d ms: %.0f MB/s] " % (delay, speed))
            # Every byte through; the speed is printed, not asserted: timings
            # belong in the benchmark (tools/bench/remote_bench.py).
            self.assertEqual(r.info[0]["size_download"], BIG_SIZE)

    def test_cli(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_proxy.py")
        proc = subprocess.Popen(
            [sys.executable, script, "--upstream", "127.0.0.1:%d" % self.web.http_port,
             "--faults", "503:1", "--delay-ms", "5"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.addCleanup(_kill, proc)
        port = json.loads(proc.stdout.readline())["port"]
        self.assertEqual(curl("-r", "0-9", "http://127.0.0.1:%d/f" % port).status, 503)
        self.assertEqual(curl("http://127.0.0.1:%d/f" % port).status, 200)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=3)
        self.assertEqual(proc.returncode, 0)
        stats = json.loads(out)["stats"]
        self.assertEqual((stats["requests"], stats["faults"]), (2, {"503": 1}))


class ChunkedFramingTest(unittest.TestCase):
    """The proxy's parser tracks chunked messages without changing them."""

    def test_chunked_then_length(self):
        msgs = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
                b"HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\n"
                b"Content-Range: bytes 0-2/10\r\n\r\nabc")
        for step in (1, 2, 7, len(msgs)):
            out, ends = self.run_stream(msgs, step)
            self.assertEqual(out, msgs)
            self.assertEqual(ends, 2)

    @staticmethod
    def run_stream(data, step):
        out, ends = bytearray(), [0]

        class Collect(fault_proxy.MessageStream):
            def on_head(self, raw):
                out.extend(raw)
                kind, length = fault_proxy.Head(raw).framing()
                self.expect_body(kind, length or 0)

            def on_body(self, chunk):
                out.extend(chunk)

            def on_raw(self, chunk):
                out.extend(chunk)

            def on_end(self):
                ends[0] += 1

        s = Collect()
        for i in range(0, len(data), step):
            s.feed(data[i:i + step])
        return bytes(out), ends[0]


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- Ceph S3


class CephS3Test(unittest.TestCase):
    BUCKET = "npzfs-selftest"
    KEY = "dir/a b+ü.npz"

    @classmethod
    def setUpClass(cls):
        cls.s3 = servers.CephS3("selftestkey", "selftestsecret")
        cls.s3.start()
        cls.addClassCleanup(cls.s3.stop)
        sys.stderr.write("[Ceph started in %.1f s] " % cls.s3.start_seconds)
        cls.data = os.urandom(300000)
        cls.s3.make_bucket(cls.BUCKET)
        cls.s3.put(cls.BUCKET, cls.KEY, cls.data)

    def signed(self, *args, secret=None):
        return curl(*self.s3.curl_sigv4_args(secret_key=secret), *args)

    def test_ranged_get(self):
        r = self.signed("-r", "100-199", self.s3.url(self.BUCKET, self.KEY))
        self.assertEqual((r.status, r.body), (206, self.data[100:200]), r.stderr)
        self.assertTrue(self.s3.endpoint.startswith("http://127.0.0.1:"))

    def test_wrong_secret(self):
        r = self.signed("-r", "0-9", self.s3.url(self.BUCKET, self.KEY), secret="wrong")
        self.assertEqual(r.status, 403)
        self.assertIn(b"SignatureDoesNotMatch", r.body)

    def test_if_match(self):
        etag = self.signed("-I", self.s3.url(self.BUCKET, self.KEY)).headers["etag"]
        good = self.signed("-r", "0-9", "-H", "If-Match: " + etag,
                           self.s3.url(self.BUCKET, self.KEY))
        self.assertEqual(good.status, 206)
        bad = self.signed("-r", "0-9", "-H", 'If-Match: "0123"',
                          self.s3.url(self.BUCKET, self.KEY))
        self.assertEqual(bad.status, 412)

    def test_put_file_and_delete(self):
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"x" * 5000)
            f.flush()
            self.s3.put(self.BUCKET, "tmp/file", f.name)
        r = self.signed("-r", "4990-", self.s3.url(self.BUCKET, "tmp/file"))
        self.assertEqual((r.status, r.body), (206, b"x" * 10))
        self.s3.delete(self.BUCKET, "tmp/file")
        self.assertEqual(self.signed(self.s3.url(self.BUCKET, "tmp/file")).status, 404)

    def test_signed_through_delaying_proxy(self):
        port = int(self.s3.endpoint.rsplit(":", 1)[1])
        with FaultProxy("127.0.0.1", port, delay_ms=10) as p:
            url = p.url(self.BUCKET + "/" + servers.s3_quote_key(self.KEY))
            r = self.signed("-r", "100-199", url, url)  # curl: one range for all URLs
            self.assertEqual([i["http_code"] for i in r.info], [206, 206])
            self.assertEqual([i["num_connects"] for i in r.info], [1, 0])
            self.assertEqual(r.body, self.data[100:200] * 2)
            p.fail_next("badrange")
            r = self.signed("-r", "0-99", url)
            self.assertEqual(r.headers["content-range"], "bytes 1-100/%d" % len(self.data))

    def test_put_and_list_through_proxy(self):
        """A 2 MB PUT (curl sends Expect: 100-continue) and a listing pass
        the proxy unchanged, even with a fault queued for ranged GETs."""
        port = int(self.s3.endpoint.rsplit(":", 1)[1])
        data = os.urandom(2 * 1000 * 1000)
        with FaultProxy("127.0.0.1", port, delay_ms=5) as p, \
                tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            p.fail_next("503")
            url = p.url(self.BUCKET + "/via-proxy")
            put = self.signed("-T", f.name, url)
            self.assertEqual(put.status, 200, put.body)
            listing = self.signed(p.url(self.BUCKET + "?list-type=2&prefix=via-"))
            self.assertIn(b"<Key>via-proxy</Key>", listing.body)
            self.assertEqual(self.signed("-r", "0-9", url).status, 503)
            r = self.signed("-r", "1000000-", url)
            self.assertEqual((r.status, r.body), (206, data[1000000:]))
            self.assertEqual(p.stats()["faults"], {"503": 1})
        self.s3.delete(self.BUCKET, "via-proxy")


class CephS3StartFailureTest(unittest.TestCase):
    def test_failed_start_leaves_nothing(self):
        s3 = servers.CephS3()
        dirs = []
        real = servers.CephS3._create_user

        def failing_create_user(this):
            dirs.append(this.dir)
            real(this)
            raise RuntimeError("injected failure")

        with mock.patch.object(servers.CephS3, "_create_user", failing_create_user):
            with self.assertRaises(RuntimeError) as cm:
                s3.start()
        self.assertIn("injected failure", str(cm.exception))
        self.assertEqual(len(dirs), 2)  # tried twice
        for d in dirs:
            self.assertFalse(os.path.exists(d))
        self.assertEqual(live_daemons(), [])


# ---------------------------------------------------------------- leftovers


def live_daemons():
    """Daemons servers.py started in this process that still run."""
    alive = []
    for pid, argv in servers.started_processes():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().split(b"\0")[0].decode()
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmd == argv[0] and state != "Z":
            alive.append((pid, argv))
    return alive


def tearDownModule():
    leftovers = live_daemons()
    threads = [t.name for t in threading.enumerate() if t.name == "fault-proxy"]
    if leftovers or threads:
        raise AssertionError("still running after the suite: %s %s" % (leftovers, threads))
    sys.stderr.write("\n%d daemons started, none left running\n"
                     % len(servers.started_processes()))


if __name__ == "__main__":
    unittest.main()
