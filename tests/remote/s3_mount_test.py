#!/usr/bin/env python3
"""npzfs and npzinfo on s3:// archives, against a throw-away Ceph S3
gateway (servers.CephS3): signed requests with credentials from the
environment or from ~/.aws, the region from the profile's config, the
endpoint from -o s3_endpoint, --s3-endpoint or AWS_ENDPOINT_URL(_S3),
anonymous requests when there are no credentials, the one-line errors of
a mount that cannot start (403 SignatureDoesNotMatch, 403 AccessDenied,
404 NoSuchKey), and an object replaced while it is mounted.

Each daemon runs with an environment the test builds (HOME a temporary
directory, no AWS_* of the caller).

usage: s3_mount_test.py [-v] [unittest arguments]

Needs ceph-mon, ceph-osd, radosgw, radosgw-admin, curl and fusermount3
(Debian: ceph-mon, ceph-osd, radosgw, ceph-common, curl, fuse3); run as
root. Environment: NPZFS_BIN, NPZINFO_BIN (default BUILD/fs/npzfs and
BUILD/tools/npzinfo of the repository), NPZFS_TEST_TIME_FACTOR (default 1;
multiplies every wait).
"""
import errno
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import servers  # noqa: E402
from npzfs_daemon import (NPZINFO_BIN, Daemon, check_all_stopped, clean_env,  # noqa: E402
                          is_mounted, mount_entry, read_exactly, seconds)

MiB = 1 << 20
ACCESS_KEY = "NPZFSTESTACCESSKEY01"
SECRET_KEY = "npzfs-test-secret-Zq8vR2mK5tW9xB3n"
WRONG_SECRET = "npzfs-wrong-secret-Hk4pL7sD1fG6jQ0c"
BUCKET = "npzfs-test"
STORED_KEY = "dir/a b.npz"        # np.savez
COMPRESSED_KEY = "dir/sub/c.npz"  # np.savez_compressed
PUBLIC_KEY = "public/p.npz"       # readable without credentials (public-read)
ODD_KEY = "odd/a+b=c,d~e;f ü(1)&'[x]@.npz"  # characters that need care when signing

_s3 = None
_data_dir = None
_files = {}  # S3 key -> local path of what was put there


# ---------------------------------------------------------------- the archives


def _arrays(seed):
    rng = np.random.default_rng(seed)
    records = np.zeros(500, dtype=[("x", "<f4"), ("label", "<i4"), ("tag", "S3")])
    records["x"] = rng.standard_normal(500)
    records["label"] = rng.integers(0, 10, 500)
    records["tag"] = [b"abc", b"de", b""] * 166 + [b"z", b"y"]
    return {
        "floats": rng.standard_normal((512, 1024)).astype(np.float32),     # 2 MiB
        "ints": np.arange(200_000, dtype=np.int64) * 3 - 7,                # 1.6 MB
        "fortran": np.asfortranarray(rng.standard_normal((300, 200))),
        "flags": rng.random(1001) > 0.3,
        "complex": (rng.standard_normal(1000)
                    + 1j * rng.standard_normal(1000)).astype(np.complex64),
        "records": records,
        "names": np.array(["alpha", "béta", "", "γάμμα delta"], dtype="<U12"),
        "big endian": np.arange(-500, 500, dtype=">i4"),
        "grp/nested": rng.integers(0, 65535, size=(64, 64), dtype=np.uint16),
        "scalar": np.float64(3.25),
    }


def setUpModule():
    global _s3, _data_dir
    _data_dir = tempfile.mkdtemp(prefix="npzfs-s3-test-")
    unittest.addModuleCleanup(shutil.rmtree, _data_dir, True)
    stored = os.path.join(_data_dir, "stored.npz")
    np.savez(stored, **_arrays(1))
    compressed = os.path.join(_data_dir, "compressed.npz")
    np.savez_compressed(compressed, **_arrays(2))
    public = os.path.join(_data_dir, "public.npz")
    np.savez(public, v=np.arange(1000, dtype=np.int16))
    _s3 = servers.CephS3(ACCESS_KEY, SECRET_KEY)
    unittest.addModuleCleanup(_s3.stop)
    _s3.start()
    _s3.make_bucket(BUCKET)
    for key, path in ((STORED_KEY, stored), (COMPRESSED_KEY, compressed),
                      (ODD_KEY, public)):
        _s3.put(BUCKET, key, path)
        _files[key] = path
    status, body = _s3.request("PUT", BUCKET, PUBLIC_KEY, upload=public,
                               extra=["-H", "x-amz-acl: public-read"])
    if status != 200:
        raise RuntimeError("PUT %s (public-read): HTTP %d %r" % (PUBLIC_KEY, status, body))
    _files[PUBLIC_KEY] = public


def tearDownModule():
    check_all_stopped()


# ---------------------------------------------------------------- credentials


def env_credentials(secret=SECRET_KEY):
    return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": secret}


# ---------------------------------------------------------------- a relay that listens


class RecordingRelay:
    """A TCP relay on 127.0.0.1 to the S3 gateway that keeps every byte
    clients send, so that tests can see how requests were signed."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self._sent = bytearray()
        self._lock = threading.Lock()
        self._socks = []
        self._stopping = False
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        while not self._stopping:
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            with self._lock:
                self._socks += [client, upstream]
            for src, dst, record in ((client, upstream, True), (upstream, client, False)):
                t = threading.Thread(target=self._pipe, args=(src, dst, record), daemon=True)
                t.start()
                self._threads.append(t)

    def _pipe(self, src, dst, record):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                if record:
                    with self._lock:
                        self._sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def sent(self):
        with self._lock:
            return bytes(self._sent)

    def requests(self):
        """The request lines clients sent, e.g. b'GET /bucket/key HTTP/1.1'."""
        return re.findall(rb"(?:^|\r\n)((?:GET|HEAD|PUT|POST|DELETE) [^\r\n]*)", self.sent())

    def authorizations(self):
        """The Authorization header of every request, b'' where it had none."""
        out = []
        for head in re.split(rb"\r\n\r\n", self.sent()):
            if not re.match(rb"(?:GET|HEAD) ", head):
                continue
            m = re.search(rb"\r\nauthorization:\s*([^\r\n]*)", head, re.I)
            out.append(m.group(1) if m else b"")
        return out

    def scopes(self):
        """(access key, region, service) of every signed request."""
        return [tuple(x.decode() for x in m.groups()) for a in self.authorizations()
                for m in [re.search(rb"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)"
                                    rb"/aws4_request", a)] if m]

    def stop(self):
        self._stopping = True
        self.listener.close()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(5)


# ---------------------------------------------------------------- checks


def same_array(a, b):
    return (a.dtype == b.dtype and a.shape == b.shape and
            a.tobytes(order="A") == b.tobytes(order="A") and
            np.isfortran(a) == np.isfortran(b))


class S3MountTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="npzfs-s3-run-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = self.make_dir("home")
        self._count = 0

    def make_dir(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path)
        return path

    def write(self, path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def relay(self):
        r = RecordingRelay(int(_s3.endpoint.rsplit(":", 1)[1]))
        self.addCleanup(r.stop)
        return r

    def start(self, url, env, options=(), detach=False):
        """Starts npzfs on a fresh mountpoint (not waiting for the mount)."""
        self._count += 1
        mnt = self.make_dir("mnt%d" % self._count)
        return Daemon(self, url, ["noindex", *options], mnt,
                      os.path.join(self.tmp, "npzfs%d.log" % self._count), env=env,
                      detach=detach)

    def mount(self, url, env, options=()):
        d = self.start(url, env, options)
        d.wait_mounted()
        return d

    def unmount(self, d):
        rc = d.unmount()
        self.assertEqual(rc, 0, "npzfs exit status:\n" + d.log())
        self.assertFalse(is_mounted(d.mnt))

    def assert_fails_to_mount(self, d, *words, secret=None):
        """The daemon exits 2 with exactly one stderr line 'npzfs: ...'
        holding every word, and leaves nothing mounted; returns the line."""
        rc = d.wait_exit()
        log = d.log()
        lines = log.splitlines()
        self.assertEqual(rc, 2, log)
        self.assertEqual(len(lines), 1, log)
        self.assertTrue(lines[0].startswith("npzfs: "), log)
        for w in words:
            self.assertIn(w, lines[0])
        if secret is not None:
            self.assertNotIn(secret, log)
        self.assertFalse(is_mounted(d.mnt))
        self.assertEqual(os.listdir(d.mnt), [])
        return lines[0]

    def check_archive(self, mnt, key):
        """Every member's bytes equal zipfile's; np.load of each .npy (and
        the raw view) equals numpy's."""
        local = _files[key]
        with zipfile.ZipFile(local) as z, np.load(local) as npz:
            names = [i.filename for i in z.infolist()]
            self.assertGreater(len(names), 0)
            for name in names:
                path = os.path.join(mnt, name)
                with open(path, "rb") as f:
                    got = f.read()
                self.assertEqual(got, z.read(name), "%s: bytes differ" % name)
            for k in npz.files:
                want = npz[k]
                got = np.load(os.path.join(mnt, k + ".npy"))
                self.assertTrue(same_array(got, want), "%s: np.load differs" % k)
                with open(os.path.join(mnt, "raw", k), "rb") as f:
                    self.assertEqual(f.read(), want.tobytes(order="A"), "raw/%s differs" % k)

    def read_some(self, mnt, key):
        """Reads one member in full and compares it with zipfile's."""
        with zipfile.ZipFile(_files[key]) as z:
            name = z.infolist()[0].filename
            with open(os.path.join(mnt, name), "rb") as f:
                self.assertEqual(f.read(), z.read(name))

    # ------------------------------------------------------------ signed

    def check_signed_env_mount(self, key):
        url = "s3://%s/%s" % (BUCKET, key)
        env = clean_env(self.home, **env_credentials())
        d = self.mount(url, env, ["s3_endpoint=" + _s3.endpoint])
        self.assertEqual(mount_entry(d.mnt), ("fuse.npzfs", url))
        self.assertEqual(sorted(os.listdir(os.path.join(d.mnt, "grp"))), ["nested.npy"])
        self.check_archive(d.mnt, key)
        self.unmount(d)
        log = d.log()
        self.assertNotIn(SECRET_KEY, log)
        m = re.search(re.escape(url) + r": (\d+) requests \((\d+) retries\)", log)
        self.assertIsNotNone(m, log)
        self.assertGreater(int(m.group(1)), 0)

    def test_prefix_mounts_every_archive_under_it(self):
        """s3://bucket/prefix/ is a mount of many: a directory per *.npz
        object below the prefix (keys without .npz, at their paths), each
        what a mount of that object alone shows; other objects ignored."""
        prefix_dir = "dir/"
        url = "s3://%s/%s" % (BUCKET, prefix_dir)
        env = clean_env(self.home, **env_credentials())
        d = self.mount(url, env, ["s3_endpoint=" + _s3.endpoint])
        self.assertEqual(mount_entry(d.mnt), ("fuse.npzfs", url))
        want = {k[len(prefix_dir):-len(".npz")] for k in _files
                if k.startswith(prefix_dir) and k.endswith(".npz")}
        found = set()
        for root, dirs, files in os.walk(d.mnt):
            if "raw" in dirs:  # an archive's directory
                found.add(os.path.relpath(root, d.mnt))
                dirs[:] = []
        self.assertEqual(found, want)
        for rel in want:
            self.check_archive(os.path.join(d.mnt, rel), prefix_dir + rel + ".npz")
            value = os.getxattr(os.path.join(d.mnt, rel), "user.npz.archive").decode()
            self.assertEqual(value, "s3://%s/%s%s.npz" % (BUCKET, prefix_dir, rel))
        self.unmount(d)
        self.assertNotIn(SECRET_KEY, d.log())

    def test_prefix_with_a_wrong_secret_fails_to_mount(self):
        d = self.start("s3://%s/dir/" % BUCKET, clean_env(self.home, **env_credentials("nope")),
                       ["s3_endpoint=" + _s3.endpoint])
        self.assert_fails_to_mount(d, "403", "SignatureDoesNotMatch", secret="nope")

    def test_signed_env_credentials_stored(self):
        self.check_signed_env_mount(STORED_KEY)

    def test_signed_env_credentials_compressed(self):
        self.check_signed_env_mount(COMPRESSED_KEY)

    def test_profile_from_credentials_file(self):
        # [default] has wrong keys: only the named profile can work.
        self.write(os.path.join(self.home, ".aws", "credentials"),
                   "[default]\naws_access_key_id = WRONGKEYWRONGKEY0000\n"
                   "aws_secret_access_key = %s\n\n"
                   "[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                   % (WRONG_SECRET, ACCESS_KEY, SECRET_KEY))
        self.write(os.path.join(self.home, ".aws", "config"),
                   "[default]\nregion = us-west-2\n\n[profile other]\nregion = eu-central-1\n")
        relay = self.relay()
        env = clean_env(self.home, AWS_PROFILE="other")
        d = self.mount("s3://%s/%s" % (BUCKET, STORED_KEY), env,
                       ["s3_endpoint=" + relay.endpoint])
        self.check_archive(d.mnt, STORED_KEY)
        self.unmount(d)
        scopes = relay.scopes()
        self.assertGreater(len(scopes), 0, relay.requests())
        self.assertEqual(len(scopes), len(relay.authorizations()), "unsigned requests")
        self.assertEqual(set(scopes), {(ACCESS_KEY, "eu-central-1", "s3")})
        self.assertNotIn(SECRET_KEY, d.log())

    def test_default_profile_wrong_keys_fail(self):
        # The same files without AWS_PROFILE: [default]'s wrong keys are used.
        self.write(os.path.join(self.home, ".aws", "credentials"),
                   "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n"
                   "[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                   % (ACCESS_KEY, WRONG_SECRET, ACCESS_KEY, SECRET_KEY))
        d = self.start("s3://%s/%s" % (BUCKET, STORED_KEY), clean_env(self.home),
                       ["s3_endpoint=" + _s3.endpoint])
        self.assert_fails_to_mount(d, "403", "SignatureDoesNotMatch", secret=WRONG_SECRET)

    def test_credentials_in_config_file(self):
        # No credentials file: the profile's keys in ~/.aws/config.
        self.write(os.path.join(self.home, ".aws", "config"),
                   "[profile cfg]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                   "region = eu-west-3\n" % (ACCESS_KEY, SECRET_KEY))
        relay = self.relay()
        d = self.mount("s3://%s/%s" % (BUCKET, STORED_KEY),
                       clean_env(self.home, AWS_PROFILE="cfg"), ["s3_endpoint=" + relay.endpoint])
        self.read_some(d.mnt, STORED_KEY)
        self.unmount(d)
        self.assertEqual(set(relay.scopes()), {(ACCESS_KEY, "eu-west-3", "s3")})

    def test_missing_profile(self):
        self.write(os.path.join(self.home, ".aws", "credentials"),
                   "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                   % (ACCESS_KEY, SECRET_KEY))
        d = self.start("s3://%s/%s" % (BUCKET, STORED_KEY),
                       clean_env(self.home, AWS_PROFILE="nosuchprofile"),
                       ["s3_endpoint=" + _s3.endpoint])
        self.assert_fails_to_mount(d, "nosuchprofile", secret=SECRET_KEY)

    def test_session_token_sent_and_signed(self):
        token = "npzfs-session-token-0123456789"
        relay = self.relay()
        env = clean_env(self.home, **env_credentials(), AWS_SESSION_TOKEN=token)
        d = self.mount("s3://%s/%s" % (BUCKET, STORED_KEY), env,
                       ["s3_endpoint=" + relay.endpoint])
        self.read_some(d.mnt, STORED_KEY)
        self.unmount(d)
        heads = [h for h in re.split(rb"\r\n\r\n", relay.sent()) if h.startswith(b"GET ")]
        self.assertGreater(len(heads), 0)
        for head in heads:
            self.assertRegex(head, rb"(?i)\r\nx-amz-security-token: " + token.encode() + rb"\r\n")
            signed = re.search(rb"(?i)SignedHeaders=([^,\s]+)", head)
            self.assertIsNotNone(signed, head)
            self.assertIn(b"x-amz-security-token", signed.group(1).split(b";"))
        self.assertNotIn(token, d.log())

    def test_key_with_odd_characters(self):
        url = "s3://%s/%s" % (BUCKET, ODD_KEY)
        d = self.mount(url, clean_env(self.home, **env_credentials()),
                       ["s3_endpoint=" + _s3.endpoint])
        self.check_archive(d.mnt, ODD_KEY)
        self.unmount(d)

    def test_profile_files_from_env_paths(self):
        # AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, not ~/.aws (which
        # holds wrong keys here).
        self.write(os.path.join(self.home, ".aws", "credentials"),
                   "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                   % (ACCESS_KEY, WRONG_SECRET))
        creds = os.path.join(self.tmp, "elsewhere", "creds.ini")
        config = os.path.join(self.tmp, "elsewhere", "config.ini")
        self.write(creds, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                   % (ACCESS_KEY, SECRET_KEY))
        self.write(config, "[default]\nregion = ap-southeast-2\n")
        relay = self.relay()
        env = clean_env(self.home, AWS_SHARED_CREDENTIALS_FILE=creds, AWS_CONFIG_FILE=config)
        d = self.mount("s3://%s/%s" % (BUCKET, COMPRESSED_KEY), env,
                       ["s3_endpoint=" + relay.endpoint])
        self.read_some(d.mnt, COMPRESSED_KEY)
        self.unmount(d)
        self.assertEqual(set(relay.scopes()), {(ACCESS_KEY, "ap-southeast-2", "s3")})

    def test_region_precedence(self):
        # s3_region= over AWS_REGION over AWS_DEFAULT_REGION over the
        # profile's config, else us-east-1.
        self.write(os.path.join(self.home, ".aws", "config"), "[default]\nregion = sa-east-1\n")
        cases = [
            ({}, [], "sa-east-1"),
            ({"AWS_DEFAULT_REGION": "ca-central-1"}, [], "ca-central-1"),
            ({"AWS_DEFAULT_REGION": "ca-central-1", "AWS_REGION": "eu-north-1"}, [],
             "eu-north-1"),
            ({"AWS_REGION": "eu-north-1"}, ["s3_region=me-south-1"], "me-south-1"),
        ]
        for extra, options, region in cases:
            with self.subTest(env=extra, options=options):
                relay = self.relay()
                env = clean_env(self.home, **env_credentials(), **extra)
                d = self.mount("s3://%s/%s" % (BUCKET, STORED_KEY), env,
                               ["s3_endpoint=" + relay.endpoint, *options])
                self.read_some(d.mnt, STORED_KEY)
                self.unmount(d)
                self.assertEqual(set(relay.scopes()), {(ACCESS_KEY, region, "s3")})
        with self.subTest("no region anywhere"):
            home = self.make_dir("home-without-config")
            relay = self.relay()
            d = self.mount("s3://%s/%s" % (BUCKET, STORED_KEY),
                           clean_env(home, **env_credentials()),
                           ["s3_endpoint=" + relay.endpoint])
            self.read_some(d.mnt, STORED_KEY)
            self.unmount(d)
            self.assertEqual(set(relay.scopes()), {(ACCESS_KEY, "us-east-1", "s3")})

    # ------------------------------------------------------------ refused

    def test_wrong_secret(self):
        env = clean_env(self.home, **env_credentials(WRONG_SECRET))
        d = self.start("s3://%s/%s" % (BUCKET, STORED_KEY), env,
                       ["s3_endpoint=" + _s3.endpoint])
        line = self.assert_fails_to_mount(d, "403", "SignatureDoesNotMatch", secret=WRONG_SECRET)
        self.assertNotIn(SECRET_KEY, line)

    def test_anonymous_private_object(self):
        relay = self.relay()
        d = self.start("s3://%s/%s" % (BUCKET, STORED_KEY), clean_env(self.home),
                       ["s3_endpoint=" + relay.endpoint])
        self.assert_fails_to_mount(d, "403", "AccessDenied")
        auth = relay.authorizations()
        self.assertGreater(len(auth), 0, "no request reached the endpoint")
        self.assertEqual(set(auth), {b""}, "requests were signed without credentials")

    def test_anonymous_public_object(self):
        relay = self.relay()
        d = self.mount("s3://%s/%s" % (BUCKET, PUBLIC_KEY), clean_env(self.home),
                       ["s3_endpoint=" + relay.endpoint])
        self.check_archive(d.mnt, PUBLIC_KEY)
        self.unmount(d)
        self.assertEqual(set(relay.authorizations()), {b""})

    def test_missing_key(self):
        # Detached (no -f): the parent exits with the daemon's status.
        env = clean_env(self.home, **env_credentials())
        d = self.start("s3://%s/dir/no such.npz" % BUCKET, env,
                       ["s3_endpoint=" + _s3.endpoint], detach=True)
        self.assert_fails_to_mount(d, "404", "NoSuchKey")

    def test_missing_bucket(self):
        env = clean_env(self.home, **env_credentials())
        d = self.start("s3://npzfs-no-such-bucket/%s" % STORED_KEY, env,
                       ["s3_endpoint=" + _s3.endpoint])
        self.assert_fails_to_mount(d, "404", "NoSuchBucket")

    # ------------------------------------------------------------ endpoints

    def test_endpoint_from_environment(self):
        closed = "http://127.0.0.1:%d" % _closed_port()
        cases = [
            ("AWS_ENDPOINT_URL", {"AWS_ENDPOINT_URL": _s3.endpoint}, STORED_KEY),
            ("AWS_ENDPOINT_URL_S3 first", {"AWS_ENDPOINT_URL_S3": _s3.endpoint,
                                           "AWS_ENDPOINT_URL": closed}, COMPRESSED_KEY),
        ]
        for what, extra, key in cases:
            with self.subTest(what):
                env = clean_env(self.home, **env_credentials(), **extra)
                d = self.mount("s3://%s/%s" % (BUCKET, key), env)
                self.check_archive(d.mnt, key)
                self.unmount(d)
        with self.subTest("s3_endpoint= over the environment"):
            env = clean_env(self.home, **env_credentials(), AWS_ENDPOINT_URL=closed)
            d = self.mount("s3://%s/%s" % (BUCKET, STORED_KEY), env,
                           ["s3_endpoint=" + _s3.endpoint])
            self.read_some(d.mnt, STORED_KEY)
            self.unmount(d)

    def test_npzinfo_lists_keys(self):
        for key in (STORED_KEY, COMPRESSED_KEY):
            with self.subTest(key=key):
                with np.load(_files[key]) as npz:
                    want = sorted(npz.files)
                env = clean_env(self.home, **env_credentials())
                url = "s3://%s/%s" % (BUCKET, key)
                for args in ([url, "--json"], ["list", url, "--json"]):
                    res = subprocess.run([NPZINFO_BIN, *args, "--s3-endpoint", _s3.endpoint],
                                         env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                         text=True, timeout=seconds(60))
                    self.assertEqual(res.returncode, 0, res.stderr)
                    info = json.loads(res.stdout)
                    self.assertEqual(sorted(m["key"] for m in info["members"]), want)
                    self.assertEqual(info["archive"], url)
                res = subprocess.run([NPZINFO_BIN, url, "--s3-endpoint", _s3.endpoint],
                                     env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                     text=True, timeout=seconds(60))
                self.assertEqual(res.returncode, 0, res.stderr)
                for k in want:
                    self.assertIn(k, res.stdout)
        with self.subTest("wrong secret"):
            env = clean_env(self.home, **env_credentials(WRONG_SECRET))
            res = subprocess.run([NPZINFO_BIN, "s3://%s/%s" % (BUCKET, STORED_KEY),
                                  "--s3-endpoint", _s3.endpoint], env=env,
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=seconds(60))
            self.assertNotEqual(res.returncode, 0)
            self.assertIn("SignatureDoesNotMatch", res.stderr)
            self.assertNotIn(WRONG_SECRET, res.stdout + res.stderr)

    # ------------------------------------------------------------ replaced

    def test_object_replaced_while_mounted(self):
        key = "replace/r.npz"
        rng = np.random.default_rng(5)
        old_x = rng.standard_normal(3 * MiB).astype(np.float32)  # 12 MiB
        old_y = np.arange(5000, dtype=np.int32)
        paths = {}
        for version, (x, y) in (("old", (old_x, old_y)), ("new", (old_x + 1, old_y + 1))):
            paths[version] = os.path.join(self.tmp, version + ".npz")
            np.savez(paths[version], x=x, y=y)
        self.assertEqual(os.path.getsize(paths["old"]), os.path.getsize(paths["new"]))
        members = {}
        for version, path in paths.items():
            with zipfile.ZipFile(path) as z:
                members[version] = {n: z.read(n) for n in ("x.npy", "y.npy")}
        _s3.put(BUCKET, key, paths["old"])
        self.addCleanup(_s3.delete, BUCKET, key)
        env = clean_env(self.home, **env_credentials())
        url = "s3://%s/%s" % (BUCKET, key)
        d = self.mount(url, env, ["s3_endpoint=" + _s3.endpoint, "remote_cache_size=4M"])
        x_path = os.path.join(d.mnt, "x.npy")
        fd = os.open(x_path, os.O_RDONLY)
        try:
            data, err = read_exactly(fd, 0, MiB)
            self.assertEqual((data, err), (members["old"]["x.npy"][:MiB], None))
            _s3.put(BUCKET, key, paths["new"])
            size = len(members["old"]["x.npy"])
            # Bytes never read before: EIO, first in the middle, then the rest.
            offsets = [6 * MiB] + [o for o in range(0, size, MiB) if o != 6 * MiB]
            for off in offsets:
                data, err = read_exactly(fd, off, MiB)
                old = members["old"]["x.npy"][off:off + MiB]
                new = members["new"]["x.npy"][off:off + MiB]
                where = "x.npy at %d: %d bytes, %s" % (off, len(data), errno.errorcode.get(err))
                if data:
                    self.assertNotEqual(data, new[:len(data)], where + ": new bytes")
                    self.assertEqual(data, old[:len(data)], where + ": wrong bytes")
                if off >= 3 * MiB:
                    self.assertEqual((data, err), (b"", errno.EIO), where)
                else:
                    self.assertTrue(err == errno.EIO or data == old, where)
        finally:
            os.close(fd)
        with open(os.path.join(d.mnt, "y.npy"), "rb") as f:
            try:
                data = f.read()
            except OSError as e:
                self.assertEqual(e.errno, errno.EIO)
            else:
                self.assertEqual(data, members["old"]["y.npy"], "y.npy: not the old bytes")
        # The mount stays up; the log says why reads fail.
        self.assertTrue(is_mounted(d.mnt))
        self.assertEqual(os.stat(x_path).st_size, len(members["old"]["x.npy"]))
        self.unmount(d)
        self.assertIn("changed since it was mounted", d.log())
        # A new mount sees the new object.
        d = self.mount(url, env, ["s3_endpoint=" + _s3.endpoint])
        for name, want in members["new"].items():
            with open(os.path.join(d.mnt, name), "rb") as f:
                self.assertEqual(f.read(), want, name)
        self.unmount(d)


def _closed_port():
    """A port on 127.0.0.1 nothing listens on (taken, then released)."""
    port = servers.free_port()
    servers.release_port(port)
    return port


if __name__ == "__main__":
    unittest.main()
