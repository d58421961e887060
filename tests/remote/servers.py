#!/usr/bin/env python3
"""Throw-away servers for the remote-archive tests: nginx (HTTPS and HTTP)
and a one-node Ceph cluster with its S3 gateway (radosgw).

Library use (stdlib only):

    with Nginx(root_dir) as web:
        url = web.https_url("a.npz")      # CA in web.ca_file
    with CephS3("AKEY", "SECRET") as s3:
        s3.make_bucket("b")
        s3.put("b", "dir/a.npz", "/path/to/a.npz")
        # s3.endpoint == "http://127.0.0.1:PORT"

Everything a server writes (configuration, certificates, data, logs,
pid files, sockets) lives in a fresh temporary directory that is removed
when the server stops. Servers listen on 127.0.0.1 only, on ports chosen
below the kernel's ephemeral range (see free_port). Daemons are started in
their own process group with a parent-death signal, are stopped when the
context exits (also when its body raises), and an atexit hook and a
SIGTERM/SIGHUP handler stop any that are still running.

Command line, for benchmarks and manual tests:

    servers.py nginx ROOT [--no-tls] [--no-stdin]
    servers.py ceph [--access-key K] [--secret-key S] [--bucket B] [--no-stdin]

prints the server's addresses as one JSON line on stdout, then runs until
SIGINT, SIGTERM or end of standard input (unless --no-stdin), and tears
the server down.
"""
import argparse
import atexit
import ctypes
import fcntl
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

HOST = "127.0.0.1"
# What a failed start raises, and is retried once with new ports.
START_ERRORS = (RuntimeError, subprocess.SubprocessError, OSError)
LOWEST_PORT = 20000
PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "npzfs-test-ports")

# ---------------------------------------------------------------- ports

_port_locks = {}  # port -> fd of its lock file, held while the port is ours
_port_lock_guard = threading.Lock()


def ephemeral_range():
    """The kernel's ephemeral port range (low, high)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _port_is_bindable(port):
    """True if nothing on this machine holds the port on 127.0.0.1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _lock_port(port):
    """Takes the port's lock file, so that other test processes (ctest -j)
    skip it; returns False if another process holds it."""
    try:
        os.makedirs(PORT_LOCK_DIR, mode=0o777, exist_ok=True)
        fd = os.open(os.path.join(PORT_LOCK_DIR, str(port)), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return True  # no lock directory: rely on the bind test alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    with _port_lock_guard:
        _port_locks[port] = fd
    return True


def release_port(port):
    """Gives back a port that free_port handed out (its server stopped)."""
    with _port_lock_guard:
        fd = _port_locks.pop(port, None)
    if fd is not None:
        os.close(fd)


def free_port():
    """A TCP port on 127.0.0.1 that is free now, below the ephemeral range.

    Below that range no client connection of this machine takes the port
    between this check and the daemon's bind. Concurrent test processes do
    not get the same port: each holds an flock on PORT_LOCK_DIR/PORT until
    release_port or its exit. The port is not held open, so a daemon can
    bind it.
    """
    low, _ = ephemeral_range()
    first, last = LOWEST_PORT, low - 1
    if last - first < 1000:
        first, last = 1024, max(1025, low - 1)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(first, last)
        with _port_lock_guard:
            if port in _port_locks:
                continue
        if not _lock_port(port):
            continue
        if _port_is_bindable(port):
            return port
        release_port(port)
    raise RuntimeError("no free port found in %d..%d" % (first, last))


# ---------------------------------------------------------------- processes

_children = {}  # pid -> Popen of every daemon started here and not yet reaped
_started = []   # (pid, argv) of every daemon started here, for leak checks
_children_guard = threading.Lock()
_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent_of(parent_pid):
    """A preexec_fn: the daemon gets SIGKILL when the thread that started
    it exits, so a test killed by SIGKILL leaves nothing behind."""
    def preexec():
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl
            os._exit(1)
    return preexec


def spawn(args, log_path, cwd=None):
    """Starts a daemon with stdout and stderr to log_path, in its own
    process group, registered for the exit-time safety net.

    The daemon is killed when the thread that called spawn exits (Linux
    parent-death signal): start servers from a thread that outlives them,
    such as the main thread.
    """
    _install_safety_net()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                cwd=cwd, start_new_session=True,
                                preexec_fn=_die_with_parent_of(os.getpid()))
    with _children_guard:
        _children[proc.pid] = proc
        _started.append((proc.pid, list(args)))
    return proc


def started_processes():
    """(pid, argv) of every daemon this process started, running or not."""
    with _children_guard:
        return list(_started)


def stop_process(proc, grace_s=2.0):
    """Stops a daemon and its process group: SIGTERM, then SIGKILL after
    grace_s (grace_s=0: SIGKILL at once). Returns when it is reaped."""
    if proc is None:
        return
    try:
        if proc.poll() is None:
            sig = signal.SIGTERM if grace_s > 0 else signal.SIGKILL
            _signal_group(proc, sig)
            try:
                proc.wait(timeout=grace_s if grace_s > 0 else 5)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=5)
        else:
            _signal_group(proc, signal.SIGKILL)  # anything it left in its group
    finally:
        with _children_guard:
            _children.pop(proc.pid, None)


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        proc.send_signal(sig)


def _kill_all_children():
    with _children_guard:
        procs = list(_children.values())
    for proc in procs:
        stop_process(proc, grace_s=0)


_safety_net_installed = False


def _install_safety_net():
    """Once per process: kill every daemon at interpreter exit, and turn
    SIGTERM and SIGHUP (when nobody handles them) into SystemExit so that
    context managers unwind."""
    global _safety_net_installed
    if _safety_net_installed:
        return
    _safety_net_installed = True
    atexit.register(_kill_all_children)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _exit_on_signal)


def _exit_on_signal(signum, _frame):
    _kill_all_children()
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------- temp dirs

def _process_start_time(pid):
    """The start time of a process (clock ticks since boot), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def make_server_dir(prefix):
    """A fresh temporary directory owned by this process. Directories of
    the same prefix whose owner no longer runs (it was SIGKILLed, so no
    cleanup ran) are removed first."""
    _sweep_stale_dirs(prefix)
    d = tempfile.mkdtemp(prefix=prefix)
    with open(os.path.join(d, "owner"), "w") as f:
        f.write("%d %s\n" % (os.getpid(), _process_start_time(os.getpid())))
    return d


def _sweep_stale_dirs(prefix):
    base = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(base) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        d = os.path.join(base, name)
        try:
            with open(os.path.join(d, "owner")) as f:
                pid, start = f.read().split()
        except (OSError, ValueError):
            continue  # being created, or not ours
        if _process_start_time(int(pid)) != start:
            shutil.rmtree(d, ignore_errors=True)


def log_tail(path, lines=30):
    """The last lines of a log file, for error messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "(no log %s: %s)" % (path, e)
    return "\n".join(text.splitlines()[-lines:])


def run(args, timeout=60, check=True, **kwargs):
    """Runs a command to completion, capturing its output as text."""
    res = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=timeout, **kwargs)
    if check and res.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s%s" % (
            " ".join(args), res.returncode, res.stdout[-2000:], res.stderr[-2000:]))
    return res


def _http_answers(port, timeout=0.5, tls_ca=None, path="/"):
    """True if an HTTP(S) server answers a GET of path on 127.0.0.1:port."""
    if tls_ca:
        ctx = ssl.create_default_context(cafile=tls_ca)
        conn = http.client.HTTPSConnection(HOST, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _wait_until(ready, proc, timeout_s, what, log_path, interval=0.05):
    """Polls ready() until it is true; raises with the log's tail if proc
    exits first or timeout_s passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited (%s) while starting; %s:\n%s" % (
                what, proc.returncode, log_path, log_tail(log_path)))
        if time.monotonic() > deadline:
            raise RuntimeError("%s not ready after %.0f s; %s:\n%s" % (
                what, timeout_s, log_path, log_tail(log_path)))
        time.sleep(interval)


# ---------------------------------------------------------------- certificates

def make_certificates(directory):
    """Writes a certificate authority and a server certificate for
    127.0.0.1 and localhost, signed by it, with the openssl CLI.
    Returns (ca_file, cert_file, key_file)."""
    p = lambda name: os.path.join(directory, name)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.pem"),
         "-days", "30", "-subj", "/CN=npzfs test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req", "-new", *ec, "-keyout", p("server.key"), "-out", p("server.csr"),
         "-subj", "/CN=127.0.0.1"])
    with open(p("server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n")
    run(["openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"),
         "-CAkey", p("ca.key"), "-CAcreateserial", "-days", "30", "-sha256",
         "-extfile", p("server.ext"), "-out", p("server.pem")])
    return p("ca.pem"), p("server.pem"), p("server.key")


# ---------------------------------------------------------------- nginx

def _nginx_missing_modules():
    """Names of the standard http modules this nginx was built without."""
    res = run(["nginx", "-V"], check=False)
    text = res.stdout + res.stderr
    return {m for m in ("fastcgi", "uwsgi", "scgi", "proxy")
            if "--without-http_%s_module" % m in text}


class Nginx:
    """nginx serving the files of root_dir on 127.0.0.1: HTTPS with HTTP/2
    (when tls) on https_port, plain HTTP/1.1 on http_port.

    Static files only, with nginx's own ETag ("mtime-size"), Range,
    If-Match and If-Range handling. One process (master_process off), its
    configuration, certificates, logs and temp paths in a temporary
    directory removed on exit.
    """

    START_TIMEOUT_S = 10

    def __init__(self, root_dir, tls=True):
        self.root_dir = os.path.abspath(root_dir)
        self.tls = tls
        self.dir = None
        self.proc = None
        self.ca_file = None
        self.https_port = None
        self.http_port = None

    def https_url(self, name=""):
        """https://127.0.0.1:PORT/name (name relative to root_dir)."""
        if not self.tls:
            raise RuntimeError("this Nginx was started without TLS")
        return "https://%s:%d/%s" % (HOST, self.https_port, _quote_path(name))

    def http_url(self, name=""):
        """http://127.0.0.1:PORT/name (name relative to root_dir)."""
        return "http://%s:%d/%s" % (HOST, self.http_port, _quote_path(name))

    @property
    def error_log(self):
        return os.path.join(self.dir, "error.log")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Starts nginx and waits until both ports answer; retries once
        with new ports if the first start fails."""
        if not os.path.isdir(self.root_dir):
            raise RuntimeError("not a directory: %s" % self.root_dir)
        self.dir = make_server_dir("npzfs-nginx-")
        try:
            if self.tls:
                self.ca_file, cert, key = make_certificates(self.dir)
            else:
                cert = key = None
            try:
                self._start_once(cert, key)
            except START_ERRORS:
                self._stop_daemon()
                self._start_once(cert, key)
        except BaseException:
            self.stop()
            raise

    def _start_once(self, cert, key):
        self.http_port = free_port()
        self.https_port = free_port() if self.tls else None
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(self._config(cert, key))
        log = os.path.join(self.dir, "nginx.out")
        self.proc = spawn(["nginx", "-p", self.dir + "/", "-c", conf, "-e", self.error_log],
                          log, cwd=self.dir)
        probe = "/npzfs-readiness-probe"  # a 404, not logged (log_not_found off)
        ready = lambda: (_http_answers(self.http_port, path=probe) and  # noqa: E731
                         (not self.tls or
                          _http_answers(self.https_port, tls_ca=self.ca_file, path=probe)))
        try:
            _wait_until(ready, self.proc, self.START_TIMEOUT_S, "nginx", self.error_log)
        except RuntimeError as e:
            raise RuntimeError("%s\n%s:\n%s" % (e, log, log_tail(log))) from None

    def _config(self, cert, key):
        d = self.dir
        temp_paths = "".join("    %s_temp_path %s/%s_temp;\n" % (m, d, m)
                             for m in ("proxy", "fastcgi", "uwsgi", "scgi")
                             if m not in _nginx_missing_modules())
        tls = ""
        if self.tls:
            tls = ("        listen %s:%d ssl http2;\n"
                   "        ssl_certificate %s;\n"
                   "        ssl_certificate_key %s;\n"
                   "        ssl_protocols TLSv1.2 TLSv1.3;\n" % (HOST, self.https_port, cert, key))
        return """\
user root;
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    default_type application/octet-stream;
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body_temp;
{temp_paths}    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    log_not_found off;
    server {{
        listen {host}:{http_port};
{tls}        server_name localhost 127.0.0.1;
        root {root};
        autoindex off;
    }}
}}
""".format(d=d, temp_paths=temp_paths, host=HOST, http_port=self.http_port, tls=tls,
           root=self.root_dir)

    def _stop_daemon(self):
        stop_process(self.proc, grace_s=2.0)
        self.proc = None
        for port in (self.http_port, self.https_port):
            if port:
                release_port(port)

    def stop(self):
        """Stops nginx (SIGTERM, SIGKILL after 2 s) and removes its directory."""
        try:
            self._stop_daemon()
        finally:
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None


def _quote_path(name):
    return urllib.parse.quote(name.lstrip("/"), safe="/-._~")


# ---------------------------------------------------------------- Ceph S3

def s3_quote_key(key):
    """A key percent-encoded for a path-style URL: RFC 3986 unreserved
    characters and '/' kept, everything else %XX (UTF-8)."""
    return urllib.parse.quote(key, safe="/-._~")


class CephS3:
    """A throw-away Ceph cluster (one monitor, one memstore OSD, auth off)
    with radosgw serving S3 on endpoint http://127.0.0.1:PORT, and an S3
    user with the given keys.

    Starting takes about 2-4 s. All state is in memory and in a temporary
    directory; stop() kills the three daemons and removes it.
    """

    RGW_NAME = "client.rgw.test"
    STEP_TIMEOUT_S = 30

    def __init__(self, access_key="npzfstestkey", secret_key="npzfstestsecret"):
        self.access_key = access_key
        self.secret_key = secret_key
        self.endpoint = None
        self.start_seconds = None
        self.dir = None
        self.conf = None
        self._procs = {}
        self._ports = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- start and stop

    def start(self):
        """Starts the cluster; on failure cleans up and tries once more
        with new ports and a new directory, then raises."""
        t0 = time.monotonic()
        errors = []
        for _ in range(2):
            try:
                self._start_once()
                break
            except START_ERRORS as e:
                errors.append("%s: %s" % (type(e).__name__, e))
                self.stop()
            except BaseException:
                self.stop()
                raise
        else:
            raise RuntimeError("Ceph did not start (2 attempts):\n%s"
                               % "\n--- retry:\n".join(errors))
        self.start_seconds = time.monotonic() - t0

    def stop(self):
        """Kills radosgw, the OSD and the monitor, removes the directory."""
        try:
            for name in ("rgw", "osd", "mon"):
                stop_process(self._procs.pop(name, None), grace_s=0)
        finally:
            for port in self._ports:
                release_port(port)
            self._ports = []
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None

    def _start_once(self):
        self.dir = make_server_dir("npzfs-ceph-")
        for sub in ("run", "log", "mon", "osd", "rgw", "crash"):
            os.mkdir(os.path.join(self.dir, sub))
        mon_port, rgw_port = free_port(), free_port()
        self._ports = [mon_port, rgw_port]
        fsid = str(uuid.uuid4())
        self.conf = os.path.join(self.dir, "ceph.conf")
        with open(self.conf, "w") as f:
            f.write(self._config(fsid, mon_port, rgw_port))
        self.endpoint = "http://%s:%d" % (HOST, rgw_port)
        self._start_mon(fsid, mon_port)
        self._start_osd()
        self._create_user()
        self._start_rgw(rgw_port)

    def _config(self, fsid, mon_port, rgw_port):
        d = self.dir
        return """\
[global]
fsid = {fsid}
mon host = [v2:{host}:{mon_port}]
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms bind ipv6 = false
ms bind msgr1 = false
public addr = {host}
cluster addr = {host}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mgr initial modules =
run dir = {d}/run
admin socket = {d}/run/$name.asok
pid file = {d}/run/$name.pid
keyring = {d}/keyring
crash dir = {d}/crash
log to stderr = false
err to stderr = false

[mon]
mon data = {d}/mon/$name
log file = {d}/log/$name.log
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd data = {d}/osd/$name
log file = {d}/log/$name.log
osd objectstore = memstore
memstore device bytes = 2147483648

[{rgw}]
log file = {d}/log/$name.log
rgw frontends = beast endpoint={host}:{rgw_port} tcp_nodelay=1
rgw data = {d}/rgw
""".format(fsid=fsid, host=HOST, mon_port=mon_port, rgw_port=rgw_port, d=d,
           rgw=self.RGW_NAME)

    def _log(self, name):
        return os.path.join(self.dir, "log", name + ".log")

    def _out(self, name):
        return os.path.join(self.dir, "log", name + ".out")

    def _ceph(self, *args, timeout=STEP_TIMEOUT_S):
        return run(["ceph", "-c", self.conf, "--connect-timeout", str(timeout), *args],
                   timeout=timeout + 5)

    def _start_mon(self, fsid, mon_port):
        monmap = os.path.join(self.dir, "monmap")
        run(["monmaptool", "--create", "--fsid", fsid,
             "--addv", "a", "[v2:%s:%d]" % (HOST, mon_port), monmap])
        run(["ceph-mon", "-c", self.conf, "-i", "a", "--mkfs", "--monmap", monmap])
        self._procs["mon"] = spawn(["ceph-mon", "-c", self.conf, "-i", "a", "-f"],
                                   self._out("mon.a"))

    def _start_osd(self):
        osd_uuid = str(uuid.uuid4())
        try:
            osd_id = self._ceph("osd", "new", osd_uuid).stdout.strip()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            raise self._failure("monitor", "mon.a", e) from None
        os.mkdir(os.path.join(self.dir, "osd", "osd." + osd_id))
        run(["ceph-osd", "-c", self.conf, "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid])
        self._procs["osd"] = spawn(["ceph-osd", "-c", self.conf, "-i", osd_id, "-f"],
                                   self._out("osd." + osd_id))
        _wait_until(self._osd_up, self._procs["osd"], self.STEP_TIMEOUT_S, "ceph-osd",
                    self._log("osd." + osd_id), interval=0.02)

    def _osd_up(self):
        if self._procs["mon"].poll() is not None:
            raise self._failure("ceph-mon (exited)", "mon.a", "while the OSD started")
        stat = json.loads(self._ceph("osd", "stat", "-f", "json", timeout=5).stdout)
        return stat.get("num_up_osds", 0) >= 1

    def _create_user(self):
        try:
            run(["radosgw-admin", "-c", self.conf, "-n", self.RGW_NAME, "user", "create",
                 "--uid", "npzfs-test", "--display-name", "npzfs test",
                 "--access-key", self.access_key, "--secret-key", self.secret_key],
                timeout=self.STEP_TIMEOUT_S)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            raise self._failure("radosgw-admin user create", self.RGW_NAME, e) from None

    def _start_rgw(self, rgw_port):
        self._procs["rgw"] = spawn(["radosgw", "-c", self.conf, "-n", self.RGW_NAME, "-f"],
                                   self._out(self.RGW_NAME))
        _wait_until(lambda: _http_answers(rgw_port), self._procs["rgw"], self.STEP_TIMEOUT_S,
                    "radosgw", self._log(self.RGW_NAME))

    def _failure(self, what, log_name, err):
        return RuntimeError("%s failed: %s\n%s:\n%s" % (
            what, err, self._log(log_name), log_tail(self._log(log_name))))

    # -- S3 requests with curl

    def url(self, bucket, key=""):
        """Path-style URL ENDPOINT/bucket[/key], the key percent-encoded."""
        u = "%s/%s" % (self.endpoint, bucket)
        return u + "/" + s3_quote_key(key) if key else u

    def curl_sigv4_args(self, access_key=None, secret_key=None):
        """curl arguments that sign a request with SigV4 for these keys."""
        return ["--aws-sigv4", "aws:amz:us-east-1:s3",
                "--user", "%s:%s" % (access_key or self.access_key,
                                     secret_key or self.secret_key),
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]

    def request(self, method, bucket, key="", upload=None, extra=()):
        """A signed request with curl; returns (http status, body bytes)."""
        args = ["curl", "-sS", "-X", method, *self.curl_sigv4_args(), *extra,
                "-w", "\n%{http_code}", self.url(bucket, key)]
        if upload is not None:
            args[1:1] = ["--upload-file", upload]
        res = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError("curl %s %s failed (exit %d): %s" % (
                method, self.url(bucket, key), res.returncode, res.stderr.decode(errors="replace")))
        body, _, code = res.stdout.rpartition(b"\n")
        return int(code), body

    def _checked(self, method, bucket, key="", upload=None, ok=(200,)):
        status, body = self.request(method, bucket, key, upload)
        if status not in ok:
            raise RuntimeError("%s %s: HTTP %d %s" % (
                method, self.url(bucket, key), status, body.decode(errors="replace")[:500]))
        return body

    def make_bucket(self, name):
        """Creates a bucket."""
        self._checked("PUT", name)

    def put(self, bucket, key, path_or_bytes):
        """Stores an object from a file path or from bytes."""
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix="put-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(path_or_bytes)
                self._checked("PUT", bucket, key, upload=tmp)
            finally:
                os.unlink(tmp)
        else:
            self._checked("PUT", bucket, key, upload=os.fspath(path_or_bytes))

    def delete(self, bucket, key):
        """Deletes an object."""
        self._checked("DELETE", bucket, key, ok=(200, 204))


# ---------------------------------------------------------------- command line

def _wait_for_end(watch_stdin):
    """Blocks until SIGINT, SIGTERM or (if watch_stdin) end of stdin."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: done.set())
    if watch_stdin:
        def read_stdin():
            try:
                while sys.stdin.buffer.read1(65536):
                    pass
            except (OSError, ValueError):
                pass
            done.set()
        threading.Thread(target=read_stdin, daemon=True).start()
    while not done.wait(0.5):
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="server", required=True)
    p_nginx = sub.add_parser("nginx", help="serve ROOT over HTTPS (HTTP/2) and HTTP")
    p_nginx.add_argument("root")
    p_nginx.add_argument("--no-tls", action="store_true")
    p_ceph = sub.add_parser("ceph", help="a Ceph radosgw S3 endpoint")
    p_ceph.add_argument("--access-key", default="npzfstestkey")
    p_ceph.add_argument("--secret-key", default="npzfstestsecret")
    p_ceph.add_argument("--bucket", action="append", default=[],
                        help="create this bucket (repeatable)")
    for p in (p_nginx, p_ceph):
        p.add_argument("--no-stdin", action="store_true",
                       help="do not stop at end of standard input")
    args = parser.parse_args(argv)

    if args.server == "nginx":
        server = Nginx(args.root, tls=not args.no_tls)
    else:
        server = CephS3(args.access_key, args.secret_key)
    with server:
        if args.server == "nginx":
            info = {"http_port": server.http_port, "http_url": server.http_url(""),
                    "https_port": server.https_port, "ca_file": server.ca_file,
                    "https_url": server.https_url("") if server.tls else None}
        else:
            for bucket in args.bucket:
                server.make_bucket(bucket)
            info = {"endpoint": server.endpoint, "access_key": server.access_key,
                    "secret_key": server.secret_key, "buckets": args.bucket,
                    "start_seconds": round(server.start_seconds, 3)}
        print(json.dumps(info), flush=True)
        _wait_for_end(not args.no_stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
