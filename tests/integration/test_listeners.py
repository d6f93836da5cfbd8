"""Listeners, the admin socket and TLS pairs under trouble: descriptor exhaustion (the admin API must
stay reachable), a second daemon on the same port or admin socket, a certificate pair that stops
loading."""
import json
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import ADMINCTL, Daemon, DaemonTestCase, free_port, wait_until
from smtp_client import RawSmtp
from test_auth import client_tls_context, make_pair
from test_operations import scrape
from test_smtp import DEFAULT, can_connect


def ctl_within(daemon, seconds, *args):
    """adminctl with a deadline: a wedged admin API fails the test instead of hanging it."""
    env = dict(os.environ, ADMINCTL_SERVER="unix:" + daemon.socket)
    return subprocess.run([ADMINCTL] + list(args), capture_output=True, text=True, env=env, timeout=seconds)


def binding_status(test, name):
    return json.loads(test.ok("get-receiveconnector", name, "--format", "json"))[0]["BindingStatus"]


def banner(port, host="127.0.0.1"):
    with RawSmtp(port, host=host, timeout=5) as c:
        return c.reply()


class LimitedDaemon(Daemon):
    """A transportd whose open-file table holds only `limit` descriptors (soft and hard)."""

    def __init__(self, data_dir, port, limit):
        super().__init__(data_dir, port)
        self.limit = limit

    def start(self):
        self.log = open(self.log_path, "ab")
        limit = self.limit
        self.proc = subprocess.Popen(
            self.command(), stdout=self.log, stderr=self.log,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
        wait_until(lambda: self.proc.poll() is not None or self.answers(), 15, "transportd's admin API")
        if self.proc.poll() is not None:
            raise AssertionError("transportd exited with %d:\n%s" % (self.proc.returncode, self.read_log()))


class DescriptorExhaustionTest(DaemonTestCase):
    LIMIT = 200
    HELD = 260  # more connections than the daemon has descriptors

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="transportd-it-")
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.port = free_port()
        self.daemon = LimitedDaemon(self.data_dir, self.port, self.LIMIT)
        self.daemon.start()
        # Connection limits above what the descriptor table can hold.
        self.ok("set-receiveconnector", DEFAULT, "--max-inbound-connection", "5000",
                "--max-inbound-connection-per-source", "unlimited",
                "--max-inbound-connection-percentage-per-source", "100")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")

    def hold_connections(self):
        held = []
        for _ in range(self.HELD):
            s = socket.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", self.port))  # the kernel completes it even while accept pauses
            held.append(s)
        return held

    def refused_count(self, held, answers):
        """How many held connections have been answered 421 Too busy (reads what has arrived)."""
        for s in held:
            if answers.get(s, b"").endswith(b"\r\n"):
                continue
            try:
                s.setblocking(False)
                answers[s] = answers.get(s, b"") + s.recv(4096)
            except (BlockingIOError, ConnectionResetError):
                pass
        return sum(1 for answer in answers.values() if answer.startswith(b"421 4.3.2 Too busy"))

    def test_admin_api_works_during_and_after_exhaustion_and_the_warning_is_rate_limited(self):
        held = self.hold_connections()
        try:
            # The listener stops at the descriptor reserve: some connections are served, the rest get
            # 421 or wait in the backlog. Wait until the daemon has refused at least one.
            wait_until(lambda: "file descriptors free" in self.daemon.read_log(), 10,
                       "the listener to reach the descriptor reserve")
            for _ in range(3):
                r = ctl_within(self.daemon, 10, "get-receiveconnector", "--format", "name")
                self.assertEqual(r.returncode, 0, r.stderr)
            # A change rebuilds the snapshot (TLS pairs included) while descriptors are short.
            r = ctl_within(self.daemon, 10, "set-receiveconnector", DEFAULT, "--comment", "during exhaustion")
            self.assertEqual(r.returncode, 0, r.stderr)
            # Several refusals (one per 100 ms pause), for the rate limit below to have something to hold.
            answers = {}
            wait_until(lambda: self.refused_count(held, answers) >= 5, 10, "five connections refused as too busy")
        finally:
            for s in held:
                s.close()
        # Released: the admin API still answers (gRPC's own listener never recovered here), and SMTP
        # serves again.
        for _ in range(3):
            r = ctl_within(self.daemon, 10, "get-receiveconnector", DEFAULT, "--format", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)[0]["Comment"], "during exhaustion")
        wait_until(lambda: can_connect(self.port) and banner(self.port)[0] == 220, 10, "SMTP to serve again")
        # At least five pauses, reported at most once every ten seconds.
        warnings = [line for line in self.daemon.read_log().splitlines() if "component=listener" in line
                    and "level=warn" in line]
        self.assertLessEqual(len(warnings), 2, "\n".join(warnings))


class SecondDaemonTest(DaemonTestCase):
    """A second transportd on another data directory."""

    def second(self, extra_args=(), port=None):
        data_dir = os.path.join(self.tmp.name, "second")
        return Daemon(data_dir, port or self.port, list(extra_args))

    def test_same_binding_is_reported_in_use_and_takes_no_connections(self):
        self.ok("set-receiveconnector", DEFAULT, "--banner", "220 first.example ready")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")
        metrics_port = free_port()
        other = self.second(["--metrics-listen", "127.0.0.1:%d" % metrics_port])
        other.start()
        try:
            status = json.loads(ctl_within(other, 10, "get-receiveconnector", "--format", "json").stdout)[0]
            self.assertEqual(len(status["BindingStatus"]), 1)
            self.assertIn("in use", status["BindingStatus"][0])
            code, body = scrape(metrics_port, "/healthz")
            self.assertEqual(code, 503, body)
            self.assertNotIn("listening on 127.0.0.1:%d" % self.port, other.read_log())
            for _ in range(20):
                self.assertEqual(banner(self.port), (220, "first.example ready"))
            self.assertEqual(binding_status(self, DEFAULT), ["127.0.0.1:%d listening" % self.port])
            # The port is retried: once the first daemon is gone the second one takes it.
            self.assertEqual(self.daemon.stop(), 0)
            def listening():
                r = ctl_within(other, 10, "get-receiveconnector", "--format", "json")
                return json.loads(r.stdout)[0]["BindingStatus"] == ["127.0.0.1:%d listening" % self.port]
            wait_until(listening, 10, "the second daemon to take the freed port")
            self.assertEqual(banner(self.port)[0], 220)
        finally:
            self.assertEqual(other.stop(), 0)

    def test_same_admin_socket_is_refused_and_left_alone(self):
        before = os.stat(self.daemon.socket)
        other = self.second(["--admin-socket", self.daemon.socket], port=free_port())
        r = subprocess.run(other.command(), capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("admin socket %s is in use" % self.daemon.socket, r.stderr)
        after = os.stat(self.daemon.socket)
        self.assertEqual((before.st_dev, before.st_ino), (after.st_dev, after.st_ino))
        self.ok("get-receiveconnector", "--format", "name")

    def test_a_stale_socket_is_replaced_and_a_socket_made_by_another_is_not_removed(self):
        path = os.path.join(self.tmp.name, "other.sock")
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)  # bound, never listening, closed: connect() is refused
        stale.close()
        other = self.second(["--admin-socket", path], port=free_port())
        other.socket = path
        other.start()
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        # Someone replaces the file while it runs: at exit the daemon must not remove theirs.
        os.unlink(path)
        replacement = socket.socket(socket.AF_UNIX)
        replacement.bind(path)
        try:
            self.assertEqual(other.stop(), 0)
            self.assertTrue(os.path.exists(path), "the daemon removed a socket it did not create")
        finally:
            replacement.close()

    def test_its_own_socket_is_removed_at_exit(self):
        self.assertEqual(self.daemon.stop(), 0)
        self.assertFalse(os.path.exists(self.daemon.socket))
        self.daemon.start()


class WildcardAndSpecificTest(DaemonTestCase):
    def test_one_process_serves_a_wildcard_and_a_specific_binding_on_one_port(self):
        port = free_port()
        self.ok("new-receiveconnector", "Loopback", "--bindings", "127.0.0.1:%d" % port,
                "--banner", "220 specific ready")
        wait_until(lambda: can_connect(port), 2, "the specific listener")
        # The wildcard arrives: its socket replaces the specific one.
        self.ok("new-receiveconnector", "Everyone", "--bindings", "0.0.0.0:%d" % port,
                "--banner", "220 wildcard ready")
        wait_until(lambda: can_connect(port, "127.0.0.2"), 2, "the wildcard listener")
        self.assertEqual(binding_status(self, "Everyone"), ["0.0.0.0:%d listening" % port])
        self.assertEqual(binding_status(self, "Loopback"), ["127.0.0.1:%d listening" % port])
        self.assertEqual(banner(port, "127.0.0.1"), (220, "specific ready"))
        self.assertEqual(banner(port, "127.0.0.2"), (220, "wildcard ready"))
        # Without the wildcard the specific Binding gets a socket of its own.
        self.ok("remove-receiveconnector", "Everyone", "--confirm=false")
        wait_until(lambda: not can_connect(port, "127.0.0.2"), 2, "the wildcard socket to close")
        wait_until(lambda: can_connect(port), 2, "the specific socket")
        self.assertEqual(banner(port, "127.0.0.1"), (220, "specific ready"))
        self.assertEqual(binding_status(self, "Loopback"), ["127.0.0.1:%d listening" % port])


class CertificateStopsLoadingTest(DaemonTestCase):
    def daemon_args(self):
        self.metrics_port = free_port()
        return ["--metrics-listen", "127.0.0.1:%d" % self.metrics_port]

    def ehlo_and_starttls(self):
        with RawSmtp(self.port) as c:
            c.reply()
            ehlo = c.command("EHLO client.test")[1]
            return ehlo, c.command("STARTTLS")[:2]

    def test_a_pair_that_stops_loading_stops_starttls_and_is_reported(self):
        certs = os.path.join(self.tmp.name, "certs")
        os.makedirs(certs)
        cert, key = make_pair(certs, "alpha")
        self.ok("set-receiveconnector", DEFAULT, "--tls-certificate-path", cert, "--tls-key-path", key)
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")
        ehlo, (code, _) = self.ehlo_and_starttls()
        self.assertIn("STARTTLS", ehlo)
        self.assertEqual(code, 220)

        saved = cert + ".saved"
        shutil.move(cert, saved)
        # Any change builds a new snapshot, which checks the pair again.
        self.ok("set-receiveconnector", DEFAULT, "--comment", "certificate gone")
        ehlo, (code, text) = self.ehlo_and_starttls()
        self.assertNotIn("STARTTLS", ehlo)
        self.assertEqual((code, text[:5]), (454, "4.7.0"))
        status = binding_status(self, DEFAULT)
        self.assertEqual(len(status), 1)
        self.assertIn("listening; STARTTLS off: TlsCertificatePath " + cert, status[0])
        self.assertIn("STARTTLS is not offered", self.daemon.read_log())
        code, body = scrape(self.metrics_port, "/healthz")
        self.assertEqual(code, 503, body)

        # RequireTLS: MAIL is a temporary failure, not a demand for a STARTTLS we cannot give.
        self.ok("set-receiveconnector", DEFAULT, "--require-tls", "true")
        with RawSmtp(self.port) as c:
            c.reply()
            c.command("EHLO client.test")
            code, text, _ = c.command("MAIL FROM:<s@remote.test>")
            self.assertEqual((code, text[:5]), (454, "4.7.0"))

        # Repaired: the next change offers STARTTLS again, and the handshake works.
        shutil.move(saved, cert)
        self.ok("set-receiveconnector", DEFAULT, "--require-tls", "false")
        with RawSmtp(self.port) as c:
            c.reply()
            self.assertIn("STARTTLS", c.command("EHLO client.test")[1])
            self.assertEqual(c.command("STARTTLS")[0], 220)
            tls = client_tls_context().wrap_socket(c.sock, server_hostname="mail.test")
            tls.close()
        self.assertEqual(binding_status(self, DEFAULT), ["127.0.0.1:%d listening" % self.port])
        self.assertEqual(scrape(self.metrics_port, "/healthz")[0], 200)


if __name__ == "__main__":
    unittest.main()
