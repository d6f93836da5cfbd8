"""The admin API against hostile use: a client without permission on the socket, and adminctl input that
is huge, not UTF-8, or 10,000 RemoteIPRanges long. Nothing may crash the daemon, and every change is
applied completely or not at all (docs/adminctl.md: "refused ...; nothing was changed").

Arguments of one command line are limited by the kernel to 128 KiB each (MAX_ARG_STRLEN), so a 1 MiB
input reaches adminctl through standard input (identities with `-`, --password-stdin) or as a list
spread over repeated flags; single values use the largest argument the kernel passes.
"""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import ADMINCTL, TRANSPORTD, Daemon, DaemonTestCase, free_port, wait_until
from smtp_client import RawSmtp
from test_smtp import DEFAULT, can_connect

MiB = 1024 * 1024
LARGEST_ARGUMENT = 128 * 1024 - 1  # MAX_ARG_STRLEN includes the terminating NUL
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def ranges(count, first_octet=10):
    """`count` disjoint single addresses: 10.0.0.0, 10.0.0.1, ..."""
    return ["%d.%d.%d.%d" % (first_octet, i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(count)]


def list_flag(flag, items, per_argument=2000):
    """A long list as the repeated flag, each argument well under the kernel's limit."""
    args = []
    for k in range(0, len(items), per_argument):
        args += [flag, ",".join(items[k:k + per_argument])]
    return args


@unittest.skipUnless(os.geteuid() == 0, "needs root to run adminctl as another user (setpriv)")
class AdminSocketPermissionTest(DaemonTestCase):
    """DESIGN §7: the socket is mode 0600, whoever can open it is an administrator. A user who cannot
    open it gets exit 3 (docs/adminctl.md: the server could not be reached) and the reason."""

    def setUp(self):
        # The socket in a directory anyone may enter, so that only the socket's own mode stands between
        # another user and the API (the data directory itself is 0700).
        self.tmp = tempfile.TemporaryDirectory(prefix="transportd-it-")
        os.chmod(self.tmp.name, 0o755)
        public = os.path.join(self.tmp.name, "public")
        os.mkdir(public, 0o755)
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.port = free_port()
        self.daemon = Daemon(self.data_dir, self.port, ["--admin-socket", os.path.join(public, "admin.sock")])
        self.daemon.socket = os.path.join(public, "admin.sock")
        self.daemon.start()
        self.assertTrue(os.access(ADMINCTL, os.X_OK))
        self.assertTrue(shutil.which("setpriv"), "setpriv (util-linux) is needed")

    def as_nobody(self, *args, socket=None):
        return subprocess.run(NOBODY + [ADMINCTL, "--server", "unix:" + (socket or self.daemon.socket)] + list(args),
                              capture_output=True, text=True, timeout=60, env={"PATH": os.environ.get("PATH", "")})

    def assert_refused(self, r, socket):
        self.assertEqual(r.returncode, 3, "adminctl as nobody: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
        self.assertEqual(r.stdout, "")
        self.assertIn("cannot reach transportd at unix:" + socket, r.stderr)
        self.assertIn("Permission denied", r.stderr)
        self.assertIn("run adminctl as the user transportd runs as, or root", r.stderr)

    def test_a_user_without_permission_is_refused(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.daemon.socket).st_mode), 0o600)
        # nobody can reach the socket's directory entry: what stops it is the socket's mode.
        seen = subprocess.run(NOBODY + ["test", "-S", self.daemon.socket], timeout=30)
        self.assertEqual(seen.returncode, 0, "nobody cannot even see the socket; the test would prove nothing")
        before = self.ok("get-receiveconnector", "--format", "json")
        self.assert_refused(self.as_nobody("get-receiveconnector"), self.daemon.socket)
        self.assert_refused(self.as_nobody("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:00"),
                            self.daemon.socket)
        self.assert_refused(self.as_nobody("new-mailbox", "intruder@example.com"), self.daemon.socket)
        self.assertEqual(self.ok("get-receiveconnector", "--format", "json"), before)
        self.assertEqual(json.loads(self.ok("get-mailbox", "--format", "json")), [])

    def test_the_default_socket_in_the_data_directory_is_refused_too(self):
        other_dir = os.path.join(self.tmp.name, "other")
        other = Daemon(other_dir, free_port())
        other.start()
        try:
            self.assertEqual(stat.S_IMODE(os.stat(other.socket).st_mode), 0o600)
            self.assert_refused(self.as_nobody("get-receiveconnector", socket=other.socket), other.socket)
        finally:
            self.assertEqual(other.stop(), 0)


class AdminInputTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        self.ok("new-mailbox", "alice@example.com", "--display-name", "Alice")

    def run_bytes(self, args, input=b""):
        """adminctl with arguments and standard input as raw bytes (str arguments are encoded with
        surrogateescape, so '\\udcff' is the byte 0xFF)."""
        env = dict(os.environ, ADMINCTL_SERVER="unix:" + self.daemon.socket)
        return subprocess.run([ADMINCTL] + list(args), input=input, capture_output=True, env=env, timeout=60)

    def state(self):
        """Everything an admin can read back, as JSON text."""
        return {command: self.ok(command, "--format", "json")
                for command in ("get-receiveconnector", "get-accepteddomain", "get-mailbox", "get-recipientfilterconfig")}

    def assert_alive(self):
        self.assertIsNone(self.daemon.proc.poll(), "transportd died:\n" + self.daemon.read_log()[-3000:])
        self.assertTrue(self.daemon.answers())

    def assert_refused_and_unchanged(self, args, input=b"", codes=(1,), expect_in=()):
        before = self.state()
        r = self.run_bytes(args, input)
        stderr = r.stderr.decode("utf-8", "replace")
        shown = " ".join(a[:40] + ("...(%d)" % len(a) if len(a) > 40 else "") for a in args)
        self.assertIn(r.returncode, codes, "adminctl %s: exit %d\n%s" % (shown, r.returncode, stderr[:2000]))
        self.assertIn("adminctl: ", stderr, shown)
        for fragment in expect_in:
            self.assertIn(fragment, stderr, shown)
        self.assert_alive()
        self.assertEqual(self.state(), before, "adminctl %s changed something although it was refused" % shown)
        return stderr


class HugeInputTest(AdminInputTestCase):
    def test_huge_single_values_are_refused_whole(self):
        big = "x" * LARGEST_ARGUMENT
        port = "127.0.0.1:%d" % free_port()
        cases = [
            ["set-receiveconnector", DEFAULT, "--comment", big],
            ["set-receiveconnector", DEFAULT, "--banner", "220 " + big[4:]],
            ["set-receiveconnector", DEFAULT, "--fqdn", big],
            ["set-receiveconnector", DEFAULT, "--tarpit-interval", big],
            ["set-receiveconnector", DEFAULT, "--max-message-size", big],
            ["set-receiveconnector", DEFAULT, "--tls-certificate-path", big, "--tls-key-path", big],
            ["set-receiveconnector", DEFAULT, "--bindings", big],
            ["set-receiveconnector", DEFAULT, "--remote-ip-ranges", big],
            ["set-receiveconnector", DEFAULT, "--comment", "fine", "--fqdn", big],  # one bad property: none set
            ["set-receiveconnector", big, "--comment", "x"],
            ["new-receiveconnector", big, "--bindings", port],
            ["new-accepteddomain", big, "--domain-name", "big.example.com"],
            ["new-accepteddomain", "Big", "--domain-name", big],
            ["new-mailbox", big[:LARGEST_ARGUMENT - 12] + "@example.com"],
            ["set-mailbox", "alice@example.com", "--display-name", big],
            ["set-mailbox", "alice@example.com", "--email-addresses", big],
            ["set-recipientfilterconfig", "--blocked-recipients", big],
            ["remove-mailbox", big],
        ]
        for args in cases:
            with self.subTest(args=[a[:30] for a in args]):
                stderr = self.assert_refused_and_unchanged(args)
                # The refusal is one line, not an echo of the megabyte, and it still gives the reason:
                # quoted input is shortened ("xxx…" (131072 characters)) so gRPC does not drop it.
                self.assertLess(len(stderr), 8192)
                self.assertNotIn("metadata size exceeds limit", stderr)
                self.assertIn("characters", stderr)

    def test_one_mebibyte_through_standard_input_is_refused_whole(self):
        huge = b"y" * MiB
        for args in (["set-receiveconnector", "-", "--comment", "x"], ["remove-receiveconnector", "-"],
                     ["set-mailbox", "-", "--display-name", "x"], ["remove-mailbox", "-"],
                     ["set-accepteddomain", "-", "--default", "true"], ["remove-accepteddomain", "-"]):
            with self.subTest(args=args):
                self.assert_refused_and_unchanged(args, input=huge + b"\n")
        # A known identity followed by a megabyte-long unknown one: neither is changed.
        with self.subTest("known and huge identity"):
            self.assert_refused_and_unchanged(["set-mailbox", "-", "--display-name", "Changed"],
                                              input=b"alice@example.com\n" + huge + b"\n")
        with self.subTest("1 MiB password"):
            self.assert_refused_and_unchanged(["set-mailbox", "alice@example.com", "--password-stdin"],
                                              input=huge + b"\n", expect_in=["Password"])

    def test_a_one_mebibyte_list_is_stored_whole_or_refused_whole(self):
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:00")
        # BlockedRecipients: 55,000 valid addresses (1 MiB) are accepted and read back complete ...
        addresses = ["u%06d@example.com" % i for i in range(MiB // 19)]
        self.assertGreater(len(",".join(addresses)), MiB - 20)
        self.ok("set-recipientfilterconfig", "--block-list-enabled", "true",
                *list_flag("--blocked-recipients", addresses, per_argument=5000))
        stored = json.loads(self.ok("get-recipientfilterconfig", "--format", "json"))
        self.assertEqual(stored["BlockedRecipients"], addresses)
        # ... and a megabyte list with one bad address at the very end is refused as a whole.
        self.assert_refused_and_unchanged(
            ["set-recipientfilterconfig", *list_flag("--blocked-recipients", addresses[:-1] + ["not-an-address"],
                                                     per_argument=5000)],
            expect_in=["BlockedRecipients"])
        self.restart()  # stored, not only in the snapshot
        self.assertEqual(json.loads(self.ok("get-recipientfilterconfig", "--format", "json"))["BlockedRecipients"],
                         addresses)
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")
        with RawSmtp(self.port) as c:  # and the SMTP side uses it
            self.assertEqual(c.reply()[0], 220)
            c.command("EHLO client.test")
            c.command("MAIL FROM:<s@remote.test>")
            self.assertEqual(c.command("RCPT TO:<alice@example.com>")[0], 250)
            code, text, _ = c.command("RCPT TO:<%s>" % addresses[-1])
            self.assertEqual((code, text[:5]), (550, "5.1.1"))


class InvalidUtf8Test(AdminInputTestCase):
    """Protocol-buffer strings must be UTF-8: adminctl refuses anything else before sending (exit 2, a
    message naming the property), the daemon is not harmed and nothing changes."""

    BAD = "bad\udcff\udcfe"  # the bytes 62 61 64 FF FE

    def test_invalid_utf8_arguments_change_nothing(self):
        port = "127.0.0.1:%d" % free_port()
        cases = [
            ["set-receiveconnector", DEFAULT, "--comment", self.BAD],
            ["set-receiveconnector", DEFAULT, "--fqdn", self.BAD],
            ["set-receiveconnector", DEFAULT, "--remote-ip-ranges", "127.0.0.1," + self.BAD],
            ["set-receiveconnector", DEFAULT, "--comment", "fine", "--banner", "220 " + self.BAD],
            ["set-receiveconnector", self.BAD, "--comment", "x"],
            ["new-receiveconnector", self.BAD, "--bindings", port],
            ["new-accepteddomain", "Bad", "--domain-name", self.BAD + ".example.com"],
            ["new-mailbox", self.BAD + "@example.com"],
            ["set-mailbox", "alice@example.com", "--display-name", self.BAD],
            ["get-receiveconnector", self.BAD],
            ["get-messagetrackinglog", "--sender", self.BAD + "@example.com"],
        ]
        for args in cases:
            with self.subTest(args=args):
                self.assert_refused_and_unchanged(args, codes=(2,), expect_in=["UTF-8"])
        with self.subTest("identity from standard input"):
            self.assert_refused_and_unchanged(["set-mailbox", "-", "--display-name", "x"],
                                              input=b"alice@example.com\nbad\xff\xfe@example.com\n", codes=(2,),
                                              expect_in=["UTF-8"])
        with self.subTest("password from standard input"):
            # A password is bytes to the daemon's hash, but travels in a string field.
            self.assert_refused_and_unchanged(["set-mailbox", "alice@example.com", "--password-stdin"],
                                              input=b"secret\xff\xfe\n", codes=(2,), expect_in=["UTF-8"])

    def test_valid_utf8_is_kept_exactly(self):
        comment = "Grüße aus Köln — 日本語 ✓"
        self.ok("set-receiveconnector", DEFAULT, "--comment", comment)
        self.ok("set-mailbox", "alice@example.com", "--display-name", "Ålice Ñandú")
        self.assertEqual(json.loads(self.ok("get-receiveconnector", "--format", "json"))[0]["Comment"], comment)
        self.restart()
        self.assertEqual(json.loads(self.ok("get-receiveconnector", "--format", "json"))[0]["Comment"], comment)
        self.assertEqual(json.loads(self.ok("get-mailbox", "--format", "json"))[0]["DisplayName"], "Ålice Ñandú")


class TenThousandRangesTest(AdminInputTestCase):
    """10,000 RemoteIPRanges in one set: transportd accepts them (the docs set no count limit), so the
    test asserts they are stored completely, and that a 10,000-entry list with one bad entry is refused
    completely with a message naming RemoteIPRanges."""

    COUNT = 10000

    def setUp(self):
        super().setUp()
        self.big_port = free_port()
        self.ok("new-receiveconnector", "Big", "--bindings", "127.0.0.1:%d" % self.big_port,
                "--remote-ip-ranges", "192.0.2.0/24", "--tarpit-interval", "00:00:00")

    def stored_ranges(self, name="Big"):
        return json.loads(self.ok("get-receiveconnector", name, "--format", "json"))[0]["RemoteIPRanges"]

    def test_ten_thousand_ranges_are_stored_whole_or_refused_whole(self):
        wanted = ranges(self.COUNT - 1) + ["127.0.0.1"]
        self.ok("set-receiveconnector", "Big", *list_flag("--remote-ip-ranges", wanted))
        self.assertEqual(self.stored_ranges(), wanted)

        bad_lists = {
            "the last entry overlaps the first": ranges(self.COUNT - 1) + ["10.0.0.0/30"],
            "the last entry is not an address": ranges(self.COUNT - 1) + ["10.0.300.1"],
            "an entry in the middle is a reversed range": ranges(5000) + ["11.0.0.9-11.0.0.1"] + ranges(4999, 12),
        }
        for what, bad in bad_lists.items():
            with self.subTest(what):
                self.assertEqual(len(bad), self.COUNT)
                self.assert_refused_and_unchanged(["set-receiveconnector", "Big", *list_flag("--remote-ip-ranges", bad)],
                                                  expect_in=["RemoteIPRanges"])
        with self.subTest("a new connector whose 10,000th range equals one of Big's on the same binding"):
            clash = ranges(self.COUNT - 1, 20) + ["10.0.0.5"]
            stderr = self.assert_refused_and_unchanged(
                ["new-receiveconnector", "Clash", "--bindings", "127.0.0.1:%d" % self.big_port,
                 *list_flag("--remote-ip-ranges", clash)])
            self.assertIn("Big", stderr)

        # The accepted list is used, survives a restart, and the configuration is still valid.
        r = self.ok("test-receiveconnector", "--remote-ip", "10.0.39.14", "--local", "127.0.0.1:%d" % self.big_port)
        self.assertIn("MAIL01\\Big", r)
        self.assertIn("MatchedRange : 10.0.39.14", r)
        wait_until(lambda: can_connect(self.big_port), 5, "Big's listener")
        with RawSmtp(self.big_port) as c:
            self.assertEqual(c.reply()[0], 220)  # 127.0.0.1 is the 10,000th entry
        with RawSmtp(self.big_port, source="127.0.0.2") as c:
            self.assertEqual(c.reply()[0], 421)  # in none of them
        self.assertEqual(self.daemon.stop(), 0)
        check = subprocess.run([TRANSPORTD, "--data-dir", self.data_dir, "--check-config"], capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.daemon.start()
        self.assertEqual(self.stored_ranges(), wanted)


if __name__ == "__main__":
    unittest.main()
