"""The built npzfs daemon as the remote-archive tests run it: started in
a subprocess on a mountpoint, waited for until the kernel lists the mount,
unmounted with fusermount3, and never left behind.

Shared by http_mount_test.py, s3_mount_test.py and fault_test.py. Stdlib
only (the tests themselves need numpy; this module does not).

    d = Daemon(test, url, ["noindex"], mnt, os.path.join(tmp, "npzfs.out"),
               env=clean_env(home))
    d.wait_mounted()
    ...                      # read below d.mnt
    assert d.unmount() == 0  # the daemon's exit status
    d.log()                  # what it logged

Every Daemon registers its own cleanup with the test (unmount, lazily if
need be, and end the daemon whatever happened), an exit hook unmounts and
kills whatever a run cut short left, and check_all_stopped() is the
tearDownModule check that none is still running or mounted.

Environment: NPZFS_BIN and NPZINFO_BIN (default build/fs/npzfs and
build/tools/npzinfo of this repository), NPZFS_TEST_TIME_FACTOR (default 1;
every wait is multiplied by it, for sanitizer builds).
"""
import atexit
import os
import re
import signal
import subprocess
import time

import servers  # beside this file (stdlib only): for the parent-death signal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The binaries under test.
NPZFS_BIN = os.environ.get("NPZFS_BIN") or os.path.join(REPO, "build", "fs", "npzfs")
NPZINFO_BIN = os.environ.get("NPZINFO_BIN") or os.path.join(REPO, "build", "tools", "npzinfo")
TIME_FACTOR = float(os.environ.get("NPZFS_TEST_TIME_FACTOR") or 1)

# The daemon's PATH: the system's, nothing of the caller's.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What an instrumented (sanitizer) build reads from its environment.
SANITIZER_VARIABLES = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS",
                       "MSAN_OPTIONS")

_daemons = []  # every Daemon this process started, for check_all_stopped and the exit hook


def seconds(s):
    """A wait of s seconds, scaled by NPZFS_TEST_TIME_FACTOR for slow
    (sanitizer) builds."""
    return s * TIME_FACTOR


def clean_env(home, **extra):
    """The daemon's whole environment: the system PATH, HOME, a UTF-8
    locale, the sanitizer settings of an instrumented build (from the
    caller's environment) and extra (e.g. AWS_PROFILE="p"); nothing else
    of the caller's, so that no AWS_* or proxy variable of the machine
    running the tests reaches the daemon."""
    env = {"PATH": SYSTEM_PATH, "HOME": home, "LANG": "C.UTF-8"}
    for name in SANITIZER_VARIABLES:
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


# ---------------------------------------------------------------- the mount table


def _unescape_mountinfo(field):
    """A /proc/self/mountinfo field with its octal escapes (\\040 for a
    space, ...) decoded."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_table():
    """{mountpoint: (fstype, source)} of every mount in
    /proc/self/mountinfo (the last one where mounts are stacked)."""
    table = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.rstrip("\n").partition(" - ")
            fields, tail = left.split(" "), right.split(" ")
            table[_unescape_mountinfo(fields[4])] = (tail[0], _unescape_mountinfo(tail[1]))
    return table


def _canonical(path):
    """path absolute, with the symbolic links of its parent resolved as
    the mount table shows them. path itself is not looked at: it may be
    the mountpoint of a daemon that died or hangs."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def mount_entry(path, table=None):
    """(fstype, source) of the mount at path, e.g. ("fuse.npzfs", url),
    or None when nothing is mounted there."""
    return (mount_table() if table is None else table).get(_canonical(path))


def is_mounted(path, table=None):
    """True while something is mounted at path."""
    return mount_entry(path, table) is not None


def fusermount(*args):
    """fusermount3 with args (e.g. "-u", mnt; "-uz" unmounts lazily, even
    while busy); the CompletedProcess, its output as text."""
    return subprocess.run(["fusermount3", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=seconds(30))


# ---------------------------------------------------------------- the daemon's log


def _read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def remote_stats(log, url=None):
    """The remote statistics a daemon logs at unmount, from its log (the
    line for url where given, else the first): {"requests", "retries",
    "fetched_mib", "disk_mib", "evicted_mib"}, as ints."""
    pattern = (r"(\d+) requests \((\d+) retries\), (\d+) MiB fetched .*?(\d+) MiB from "
               r"the disk cache, (\d+) MiB evicted")
    if url is not None:
        pattern = re.escape(url) + ": " + pattern
    m = re.search(pattern, log)
    if m is None:
        raise AssertionError("no remote statistics%s in the log:\n%s"
                             % (" for " + url if url else "", log[-4000:]))
    keys = ("requests", "retries", "fetched_mib", "disk_mib", "evicted_mib")
    return dict(zip(keys, (int(g) for g in m.groups())))


# ---------------------------------------------------------------- the daemon


class Daemon:
    """npzfs on url at mnt, in a subprocess of its own process group.

    test: the unittest.TestCase whose cleanup (Daemon.cleanup) unmounts
    and ends the daemon whatever the test did. options: the -o options
    (none: no -o). output_path: the file that gets the daemon's stdout and
    stderr (a one-line error of a mount that cannot start lands there).
    env: its whole environment (see clean_env), None for this process's.
    detach: run without -f, so that npzfs daemonizes and the started
    process exits with the mount's status. log_file: a path for
    -o log_file= (then log() reads it rather than the output).
    die_with_parent: the kernel SIGKILLs the daemon when the thread that
    started it exits, so that a test runner killed with SIGKILL leaves no
    daemon behind (servers.py's preexec_fn, as its spawn uses: best not
    while other threads of the test hold locks).

    It does not wait for the mount: see wait_mounted and wait_exit.
    """

    def __init__(self, test, url, options, mnt, output_path, env=None, detach=False,
                 log_file=None, die_with_parent=False):
        self.url = url
        self.mnt = mnt
        self.output_path = output_path
        self.log_file = log_file
        options = list(options)
        if log_file is not None:
            options.append("log_file=" + log_file)
        self.argv = [NPZFS_BIN] + ([] if detach else ["-f"])
        if options:
            self.argv += ["-o", ",".join(options)]
        self.argv += [url, mnt]
        preexec = servers._die_with_parent_of(os.getpid()) if die_with_parent else None
        with open(output_path, "wb") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=out, env=env, start_new_session=True,
                                         preexec_fn=preexec)
        _daemons.append(self)
        test.addCleanup(self.cleanup)

    @property
    def pid(self):
        return self.proc.pid

    def path(self, *parts):
        """A path below the mountpoint."""
        return os.path.join(self.mnt, *parts)

    def output(self):
        """What the daemon wrote on stdout and stderr so far."""
        return _read_text(self.output_path)

    def log(self):
        """The daemon's log: the log_file given, else its output."""
        return _read_text(self.log_file) if self.log_file is not None else self.output()

    def stats(self, url=None):
        """The remote statistics it logged at unmount (see remote_stats)."""
        return remote_stats(self.log(), url)

    def _what_it_said(self):
        """Its output, and the end of its log file where it has one."""
        said = self.output()
        log = self.log() if self.log_file is not None else ""
        if log:
            said += "\n(the end of %s)\n%s" % (self.log_file, log[-3000:])
        return said

    def wait_mounted(self, timeout_s=30):
        """Returns once mnt is in the mount table; fails (AssertionError,
        with what the daemon said) if it exits first or after timeout_s
        (scaled)."""
        deadline = time.monotonic() + seconds(timeout_s)
        while not is_mounted(self.mnt):
            if self.proc.poll() is not None:
                raise AssertionError("npzfs exited (%s) before mounting %s:\n%s"
                                     % (self.proc.returncode, self.url, self._what_it_said()))
            if time.monotonic() > deadline:
                raise AssertionError("%s not mounted after %.0f s:\n%s"
                                     % (self.url, seconds(timeout_s), self._what_it_said()))
            time.sleep(0.02)

    def wait_exit(self, timeout_s=30):
        """The daemon's exit status; fails if it still runs after
        timeout_s (scaled)."""
        try:
            return self.proc.wait(timeout=seconds(timeout_s))
        except subprocess.TimeoutExpired:
            raise AssertionError("npzfs still running after %.0f s (mounted: %s):\n%s"
                                 % (seconds(timeout_s), is_mounted(self.mnt),
                                    self._what_it_said())) from None

    def unmount(self, busy_timeout_s=0):
        """fusermount3 -u, tried again for busy_timeout_s (scaled) while
        it fails (the mount is busy), then waits for the daemon to exit;
        returns its exit status."""
        deadline = time.monotonic() + seconds(busy_timeout_s)
        while True:
            res = fusermount("-u", self.mnt)
            if res.returncode == 0:
                break
            if time.monotonic() >= deadline:
                raise AssertionError("fusermount3 -u %s failed: %s" % (self.mnt, res.stderr))
            time.sleep(0.1)
        return self.wait_exit()

    def kill(self):
        """SIGKILL to the daemon's process group while the daemon runs
        (once it is reaped, its pid may name another process); returns
        once it is reaped."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def cleanup(self):
        """Always runs (the test's cleanup): unmounts (lazily if need be),
        gives the daemon 10 s (scaled) to exit, then kills it."""
        try:
            if is_mounted(self.mnt):
                if fusermount("-u", self.mnt).returncode != 0:
                    fusermount("-uz", self.mnt)
            if self.proc.poll() is None:
                try:
                    self.proc.wait(timeout=seconds(10))
                except subprocess.TimeoutExpired:
                    pass
        finally:
            self.kill()
            if is_mounted(self.mnt):
                fusermount("-uz", self.mnt)


def check_all_stopped():
    """For tearDownModule: kills every daemon this process started that
    still runs and lazily unmounts every mountpoint of one still mounted,
    then fails (AssertionError) naming them. A test's cleanups should
    have left none."""
    table = mount_table()
    alive = [d.proc.pid for d in _daemons if d.proc.poll() is None]
    left = sorted({d.mnt for d in _daemons if is_mounted(d.mnt, table)})
    for d in _daemons:
        d.kill()
    for mnt in left:
        fusermount("-uz", mnt)
    if alive or left:
        raise AssertionError("left behind: npzfs processes %s, mounts %s" % (alive, left))


@atexit.register
def _unmount_leftovers():
    """If the run is cut short (no cleanups ran): no mount or daemon stays."""
    for d in _daemons:
        if d.proc.poll() is None or is_mounted(d.mnt):
            subprocess.run(["fusermount3", "-uz", d.mnt], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
            d.kill()


# ---------------------------------------------------------------- reading


def read_exactly(fd, offset, length):
    """pread until length bytes, end of file or an error. Returns
    (bytes read, errno or None). A short read is followed by another, so
    a failure after some pages still shows up."""
    parts = []
    got = 0
    while got < length:
        try:
            data = os.pread(fd, length - got, offset + got)
        except OSError as e:
            return b"".join(parts), e.errno
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts), None
