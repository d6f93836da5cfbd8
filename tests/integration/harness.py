"""Test harness: a real transportd on a temp data dir and the real adminctl binary.

Binaries come from TRANSPORTD_BIN / ADMINCTL_BIN (set by ctest), falling back to ../../build.
Every wait has a deadline; nothing sleeps and hopes.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TRANSPORTD = os.environ.get("TRANSPORTD_BIN", os.path.join(ROOT, "build", "transportd", "transportd"))
ADMINCTL = os.environ.get("ADMINCTL_BIN", os.path.join(ROOT, "build", "adminctl", "adminctl"))
HOST = "MAIL01"
# Latency margins are multiplied by this: scripts/test --sanitize sets it, since an ASan + UBSan build
# runs the daemon two to four times slower. Margins only; what must happen still must.
TIME_FACTOR = float(os.environ.get("TRANSPORTD_TEST_TIME_FACTOR", "1"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


class Daemon:
    """One transportd process. start() returns once its admin API answers."""

    def __init__(self, data_dir, port, extra_args=()):
        self.data_dir = data_dir
        self.port = port
        self.extra_args = list(extra_args)
        self.socket = os.path.join(data_dir, "admin.sock")
        self.log_path = data_dir + ".log"  # beside the data dir, which transportd creates itself
        self.proc = None

    def command(self):
        return [TRANSPORTD, "--data-dir", self.data_dir, "--default-bindings", "127.0.0.1:%d" % self.port,
                "--hostname", HOST] + self.extra_args

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=self.log)
        wait_until(lambda: self.proc.poll() is not None or self.answers(), 15, "transportd's admin API")
        if self.proc.poll() is not None:
            raise AssertionError("transportd exited with %d:\n%s" % (self.proc.returncode, self.read_log()))

    def answers(self):
        if not os.path.exists(self.socket):
            return False
        return adminctl(self, "get-receiveconnector", "--format", "name").returncode == 0

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("transportd did not stop within 15 s of SIGTERM")
        self.log.close()
        return code

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def adminctl(daemon, *args, input=None, env_server=True, server=None):
    env = dict(os.environ)
    env.pop("ADMINCTL_SERVER", None)
    if env_server and daemon is not None:
        env["ADMINCTL_SERVER"] = "unix:" + daemon.socket
    cmd = [ADMINCTL]
    if server is not None:
        cmd += ["--server", server]
    cmd += list(args)
    return subprocess.run(cmd, input=input, capture_output=True, text=True, env=env, timeout=60)


class DaemonTestCase(unittest.TestCase):
    """Each test gets its own data dir and daemon."""

    def daemon_args(self):
        """More transportd flags, for test classes that need them."""
        return []

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="transportd-it-")
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.port = free_port()
        self.daemon = Daemon(self.data_dir, self.port, self.daemon_args())
        self.daemon.start()

    def tearDown(self):
        try:
            code = self.daemon.stop()
            self.assertEqual(code, 0, "transportd exit code on SIGTERM\n" + self.daemon.read_log())
        finally:
            self.tmp.cleanup()

    def restart(self):
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon.start()

    def ctl(self, *args, input=None):
        return adminctl(self.daemon, *args, input=input)

    def ok(self, *args, input=None):
        """Runs adminctl and asserts exit 0; returns stdout."""
        r = self.ctl(*args, input=input)
        self.assertEqual(r.returncode, 0, "adminctl %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r.stdout

    def refused(self, *args, expect_in=(), code=1):
        """Runs adminctl, asserts the exit code and that stderr names each expected fragment."""
        r = self.ctl(*args)
        self.assertEqual(r.returncode, code, "adminctl %s: expected exit %d, got %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), code, r.returncode, r.stdout, r.stderr))
        for fragment in expect_in:
            self.assertIn(fragment, r.stderr)
        return r
