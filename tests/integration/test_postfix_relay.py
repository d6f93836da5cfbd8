"""SMTPUTF8 with a real peer: a private Postfix instance (smtputf8_enable = yes) relays mail with a
UTF-8 address and UTF-8 headers to transportd (relayhost = [127.0.0.1]:PORT), and the messages land in
the Maildir. Without SMTPUTF8 on our side, Postfix bounces such mail with 5.6.7 instead of sending it.

Postfix runs like bench/benchlib/servers.py runs it: its own config, queue and data directories under
a temp dir, smtpd on 127.0.0.1 only, no chroot; /etc/postfix is only read (Debian's master.cf)."""
import glob
import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import unittest

from harness import DaemonTestCase, free_port, wait_until
from test_smtp import DEFAULT, can_connect

SBIN_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
POSTFIX = shutil.which("postfix", path=SBIN_PATH)
DELIVERY_DEADLINE = 60  # seconds; a relayed message normally lands in well under one


def postfix_unavailable():
    if POSTFIX is None:
        return "postfix is not installed (scripts/deps installs it)"
    if not os.path.exists("/etc/postfix/master.cf"):
        return "postfix is installed without /etc/postfix/master.cf"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "the postfix user does not exist"
    return None


class PrivatePostfix:
    """One Postfix instance under `base`, relaying everything to 127.0.0.1:`relay_port`."""

    def __init__(self, base, relay_port):
        self.base = base
        self.etc = os.path.join(base, "etc")
        self.spool = os.path.join(base, "spool")
        self.lib = os.path.join(base, "lib")
        self.port = free_port()
        self.relay_port = relay_port
        self.started = False

    def postfix(self, *args, check=True):
        # Postfix reports errors on standard error only to a terminal (else to syslog, which may not
        # run here): `script` gives it one, so a failure says why.
        command = " ".join([POSTFIX, "-c", self.etc] + list(args))
        r = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("postfix %s failed (%d): %s%s\n%s" % (" ".join(args), r.returncode, r.stdout,
                                                                      r.stderr, self.log()))
        return r

    def configure(self):
        # The postfix user must reach its queue: every directory on the way must be searchable.
        os.makedirs(self.base, exist_ok=True)
        d = self.base
        while d != "/":
            if os.stat(d).st_mode & 0o005 != 0o005 and d.startswith(tempfile.gettempdir()):
                os.chmod(d, os.stat(d).st_mode | 0o055)
            d = os.path.dirname(d)
        for p in (self.etc, self.spool, self.lib):
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o755)
        os.chown(self.lib, pwd.getpwnam("postfix").pw_uid, -1)
        main = [
            "compatibility_level = 3.6",
            "config_directory = " + self.etc,
            "queue_directory = " + self.spool,
            "data_directory = " + self.lib,
            "maillog_file = " + os.path.join(self.base, "maillog"),
            "maillog_file_prefixes = " + self.base,
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "myhostname = relay.postfix.test",
            "mydestination =",
            "alias_maps =",
            "alias_database =",
            "mynetworks = 127.0.0.0/8",
            "relayhost = [127.0.0.1]:%d" % self.relay_port,
            "smtputf8_enable = yes",
            "smtp_tls_security_level = none",
            "smtpd_peername_lookup = no",
            "biff = no",
        ]
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("\n".join(main) + "\n")
        # Debian's master.cf with our smtpd address and no chroot (a chroot needs /etc copies).
        out = []
        with open("/etc/postfix/master.cf") as f:
            for line in f:
                fields = line.split()
                if line[:1].isalpha() and len(fields) >= 8:
                    if fields[0] == "smtp" and fields[1] == "inet":
                        fields[0] = "127.0.0.1:%d" % self.port
                    fields[4] = "n"
                    line = "  ".join(fields) + "\n"
                out.append(line)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.writelines(out)

    def start(self):
        self.configure()
        self.postfix("check")
        self.postfix("start")
        self.started = True
        wait_until(lambda: can_connect(self.port), 20, "Postfix's smtpd on 127.0.0.1:%d" % self.port)

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                pid = int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if os.path.exists("/proc/%d" % pid) else None

    def stop(self):
        if not self.started:
            return
        master = self.master_pid()
        self.postfix("stop", check=False)
        deadline = time.monotonic() + 20
        while master and os.path.exists("/proc/%d" % master) and time.monotonic() < deadline:
            time.sleep(0.05)
        if master and os.path.exists("/proc/%d" % master):
            os.kill(master, signal.SIGKILL)  # our own instance's master only
        if master:
            wait_until(lambda: not os.path.exists("/proc/%d" % master), 10, "Postfix's master to exit")
        self.started = False

    def log(self):
        try:
            with open(os.path.join(self.base, "maillog"), errors="replace") as f:
                return f.read()[-6000:]
        except FileNotFoundError:
            return "(no maillog)"


@unittest.skipIf(postfix_unavailable(), postfix_unavailable() or "")
class PostfixRelayTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        self.ok("new-mailbox", "jörg@example.com")
        self.ok("new-mailbox", "alice@example.com")
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:00")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")
        self.postfix = PrivatePostfix(os.path.join(self.tmp.name, "postfix"), self.port)
        try:
            self.postfix.start()
        except BaseException:  # tearDown does not run after a failed setUp: leave nothing running
            self.postfix.stop()
            super().tearDown()
            raise

    def tearDown(self):
        # Before the temp dir goes: Postfix finds its master's pid there.
        self.postfix.stop()
        super().tearDown()

    def maildir(self, address):
        return sorted(glob.glob(os.path.join(self.data_dir, "mailboxes", address, "Maildir", "new", "*")))

    def submit(self, sender, recipient, message):
        with smtplib.SMTP("127.0.0.1", self.postfix.port, timeout=30) as client:
            client.ehlo("submitter.test")
            self.assertTrue(client.has_extn("smtputf8"), "Postfix offers SMTPUTF8")
            client.sendmail(sender, [recipient], message, mail_options=["SMTPUTF8", "BODY=8BITMIME"])

    def landed(self, address, count):
        def check():
            return len(self.maildir(address)) >= count
        try:
            wait_until(check, DELIVERY_DEADLINE, "the relayed message in %s's Maildir" % address)
        except AssertionError:
            raise AssertionError("not delivered; Postfix's log:\n" + self.postfix.log())
        files = self.maildir(address)
        self.assertEqual(len(files), count)
        with open(files[-1], "rb") as f:
            return f.read()

    def test_utf8_address_and_subject_relayed_by_postfix(self):
        message = ("From: René <rené@remote.test>\r\nTo: Jörg <jörg@example.com>\r\n"
                   "Subject: Grüße aus Köln — 你好\r\nMessage-ID: <utf8-1@remote.test>\r\n\r\n"
                   "Hallo Jörg\r\n").encode("utf-8")
        self.submit("rené@remote.test", "jörg@example.com", message)
        stored = self.landed("jörg@example.com", 1)
        self.assertIn("Subject: Grüße aus Köln — 你好\n".encode("utf-8"), stored)
        self.assertIn("Hallo Jörg\n".encode("utf-8"), stored)
        # Postfix's own Received: line sits below ours: it really came through Postfix.
        self.assertIn(b"by relay.postfix.test (Postfix)", stored)

    def test_utf8_header_with_ascii_envelope_relayed_by_postfix(self):
        # The case Postfix bounced with 5.6.7 while we did not offer SMTPUTF8.
        message = ("From: sender@remote.test\r\nTo: alice@example.com\r\n"
                   "Subject: Überweisung bestätigt\r\n\r\nok\r\n").encode("utf-8")
        self.submit("sender@remote.test", "alice@example.com", message)
        stored = self.landed("alice@example.com", 1)
        self.assertIn("Subject: Überweisung bestätigt\n".encode("utf-8"), stored)


if __name__ == "__main__":
    unittest.main()
