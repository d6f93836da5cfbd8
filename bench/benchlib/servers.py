"""The two servers under test, with one interface: start/stop/restart, the SMTP port, what they cost
(memory, CPU) and what they delivered (messages per Maildir).

transportd runs through tests/integration/harness.py's Daemon on a temp data dir. Postfix runs as a private
instance: its own config_directory, queue_directory, data_directory and Maildir tree under a temp dir,
started with `postfix -c DIR start`, listening on 127.0.0.1 only; /etc/postfix is never written.
"""
import os
import pwd
import grp
import shutil
import socket
import subprocess
import sys
import time

from . import procstat

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

DOMAIN = "example.test"
USERS = ["user%d@%s" % (i, DOMAIN) for i in range(1, 101)]


def wait_for_banner(port, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(2)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError("no SMTP banner on 127.0.0.1:%d within %.0f s (%s)" % (port, timeout, last))


def mailbox_list(mailboxes):
    """"user1..user100" (and the rest) for the configuration notes."""
    if list(mailboxes) == USERS:
        return "user1..user100"
    return "%d mailboxes (user1..user100 and %d more)" % (len(mailboxes), len(mailboxes) - len(USERS))


def count_files(path):
    try:
        return len(os.listdir(path))
    except FileNotFoundError:
        return 0


class Transportd:
    name = "transportd"

    def __init__(self, build_dir, tmp, tarpit="00:00:05", threads=None):
        harness.TRANSPORTD = os.path.join(build_dir, "transportd", "transportd")
        harness.ADMINCTL = os.path.join(build_dir, "adminctl", "adminctl")
        self.transportd_bin, self.adminctl_bin = harness.TRANSPORTD, harness.ADMINCTL
        self.tarpit = tarpit
        self.port = harness.free_port()
        self.data_dir = os.path.join(tmp, "transportd-data")
        extra = ["--threads", str(threads)] if threads else []
        self.daemon = harness.Daemon(self.data_dir, self.port, extra)
        self.changes = []

    # -- lifecycle
    def start(self):
        self.daemon.start()
        wait_for_banner(self.port, 15)

    def stop(self):
        if self.daemon.proc is not None and self.daemon.proc.poll() is None:
            self.daemon.stop()

    def restart(self):
        self.stop()
        self.start()

    def ctl(self, *args, check=True):
        r = harness.adminctl(self.daemon, *args)
        if check and r.returncode != 0:
            raise RuntimeError("adminctl %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.strip()))
        return r

    def configure(self):
        """The 100 mailboxes, and the connector that serves the clients: TarpitInterval as asked, and
        MaxInboundConnection raised from 5000 so that the hold scenario can reach 19,000."""
        self.ctl("new-accepteddomain", "ExampleTest", "--domain-name", DOMAIN)
        for u in USERS:
            self.ctl("new-mailbox", u)
        self.ctl("set-receiveconnector", "*", "--tarpit-interval", self.tarpit, "--max-inbound-connection", "20000")
        # hold, accuracy and throughput measure Exchange's tarpit itself: their load refuses thousands of
        # recipients from a few addresses, which the harvest defence would (rightly) discredit and cap.
        # The harvest scenario sets the defence per cell.
        self.ctl("set-harvestdefenceconfig", "--enabled", "false")
        self.changes = [
            "accepted domain example.test (Authoritative), mailboxes user1..user100@example.test (adminctl)",
            "default connector: TarpitInterval %s, MaxInboundConnection 20000 (default 5000 would cap the hold "
            "scenario); every other property at its default (MaxInboundConnectionPerSource 20, "
            "MaxInboundConnectionPercentagePerSource 2, PIPELINING on)" % self.tarpit,
            "harvest defence off (set-harvestdefenceconfig --enabled false): these scenarios measure the fixed "
            "tarpit; the harvest scenario measures the defence",
        ]

    # -- what it costs
    @property
    def pid(self):
        return self.daemon.proc.pid

    def pids(self):
        return [self.pid]

    def memory(self):
        return procstat.memory_of(self.pids())

    def cpu_seconds(self):
        t = procstat.cpu_times(self.pid)
        return t[0] if t else None

    def open_fds(self):
        return procstat.open_fds(self.pid)

    def alive(self):
        return self.daemon.proc is not None and self.daemon.proc.poll() is None

    # -- what it delivered
    def maildir(self, user):
        return os.path.join(self.data_dir, "mailboxes", user, "Maildir")

    def maildir_counts(self):
        return {u: count_files(os.path.join(self.maildir(u), "new")) + count_files(os.path.join(self.maildir(u), "cur"))
                for u in USERS}

    def queue_size(self):
        return 0  # 250 after DATA means the copies are already in the Maildirs

    def version(self):
        r = subprocess.run([self.transportd_bin, "--version"], capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip()

    def describe(self):
        return {"binary": self.transportd_bin, "version": self.version(), "port": self.port,
                "data_dir": self.data_dir, "configuration": self.changes}


MASTER_SERVICES = None  # the Debian master.cf, read once


class Postfix:
    name = "Postfix"

    def __init__(self, tmp, tarpit_seconds, log=False, mailboxes=USERS):
        self.mailboxes = mailboxes
        self.base = os.path.join(tmp, "postfix")
        self.etc = os.path.join(self.base, "etc")
        self.spool = os.path.join(self.base, "spool")
        self.lib = os.path.join(self.base, "lib")
        self.vmail = os.path.join(self.base, "vmail")
        self.port = harness.free_port()
        self.tarpit_seconds = tarpit_seconds
        self.log = log
        self.changes = []
        self.started = False

    def postfix(self, *args, check=True):
        r = subprocess.run(["postfix", "-c", self.etc] + list(args), capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("postfix -c %s %s failed (%d): %s%s" % (self.etc, " ".join(args), r.returncode,
                                                                       r.stdout, r.stderr))
        return r

    def configure(self):
        # Every directory on the way to the queue and the Maildirs must be searchable by the postfix user.
        d = self.base
        while d != "/":
            d = os.path.dirname(d)
            if d.startswith(("/tmp/", "/var/tmp/")) and os.stat(d).st_mode & 0o005 != 0o005:
                os.chmod(d, os.stat(d).st_mode | 0o055)
        for p in (self.base, self.etc, self.spool, self.lib, self.vmail):
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.lib, pwd.getpwnam("postfix").pw_uid, -1)
        os.chown(self.vmail, nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in self.mailboxes:
                f.write("%s %s/%s/\n" % (u, DOMAIN, u.split("@")[0]))  # trailing slash: Maildir
        main = [
            "# bench/run: a private Postfix instance; everything not set here is Postfix's default",
            "compatibility_level = 3.6",
            "config_directory = " + self.etc,
            "queue_directory = " + self.spool,
            "data_directory = " + self.lib,
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "myhostname = bench-postfix.test",
            "mydestination =",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            "virtual_mailbox_domains = " + DOMAIN,
            "virtual_mailbox_base = " + self.vmail,
            "virtual_mailbox_maps = texthash:" + os.path.join(self.etc, "vmailbox"),
            "virtual_uid_maps = static:%d" % nobody.pw_uid,
            "virtual_gid_maps = static:%d" % nobody.pw_gid,
            "smtpd_error_sleep_time = %ds" % self.tarpit_seconds,
            # No reverse DNS of the 127.0.x.y clients: the queries would leave this machine for the
            # resolver (and a lost one costs 5 s); transportd does no such lookup either.
            "smtpd_peername_lookup = no",
        ]
        if self.log:
            main.append("maillog_file = " + os.path.join(self.base, "maillog"))
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("\n".join(main) + "\n")
        # master.cf: Debian's, with the smtp service on 127.0.0.1:PORT and no chroot anywhere (a chroot
        # would need copies of /etc files inside the queue directory, which Debian's init script makes).
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
        self.changes = [
            "private instance: config_directory, queue_directory, data_directory and the Maildirs under %s; "
            "/etc/postfix only read (Debian's master.cf as the template)" % self.base,
            "smtp service on 127.0.0.1:%d (master.cf), inet_interfaces = 127.0.0.1, inet_protocols = ipv4" % self.port,
            "chroot off for every service (Debian's master.cf chroots most; a chroot needs /etc copies in the queue)",
            "virtual delivery: virtual_mailbox_domains = example.test, virtual_mailbox_maps = texthash: with "
            "%s (Maildir, trailing /), owned by nobody; unknown recipients get 550 5.1.1 at RCPT by "
            "default (smtpd_reject_unlisted_recipient = yes)" % mailbox_list(self.mailboxes),
            "smtpd_peername_lookup = no: no reverse DNS lookup of the 127.0.x.y clients (they would go to this "
            "machine's resolver, off the machine, and one lost answer costs 5 s; transportd does no such lookup)",
            "mydestination, alias_maps empty (no local delivery); compatibility_level = 3.6 and biff = no as in "
            "Debian's main.cf; myhostname = bench-postfix.test",
            "smtpd_error_sleep_time = %ds (equal to TarpitInterval). Note that Postfix sleeps before every reply "
            "only once a session has made smtpd_soft_error_limit (default 10) errors: the first 10 rejections "
            "of a session are answered at once" % self.tarpit_seconds,
            "logging: %s" % ("maillog_file in the instance directory (--postfix-log)" if self.log else
                             "syslog (no syslog daemon runs here, so lines are dropped; no logging cost counted)"),
            "all limits at their defaults: default_process_limit = 100, smtpd_client_connection_count_limit = 50, "
            "smtpd_soft_error_limit = 10, smtpd_hard_error_limit = 20, smtpd_timeout = 300s",
        ]

    def start(self):
        self.postfix("check")
        self.postfix("start")
        self.started = True
        wait_for_banner(self.port, 20)

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
        while master and time.monotonic() < deadline and os.path.exists("/proc/%d" % master):
            time.sleep(0.1)
        if master and os.path.exists("/proc/%d" % master):  # last resort: our own instance's processes only
            for pid in [master] + procstat.descendants(master):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
        self.started = False

    def restart(self):
        self.stop()
        self.start()

    @property
    def pid(self):
        return self.master_pid()

    def pids(self):
        m = self.master_pid()
        return [m] + procstat.descendants(m) if m else []

    def memory(self):
        return procstat.memory_of(self.pids())

    def cpu_seconds(self):
        m = self.master_pid()
        return procstat.tree_cpu_seconds(m) if m else None

    def open_fds(self):
        return sum(procstat.open_fds(p) or 0 for p in self.pids())

    def alive(self):
        return self.master_pid() is not None

    def maildir_counts(self):
        out = {}
        for u in USERS:
            d = os.path.join(self.vmail, DOMAIN, u.split("@")[0])
            out[u] = count_files(os.path.join(d, "new")) + count_files(os.path.join(d, "cur"))
        return out

    def queue_size(self):
        n = 0
        for q in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.spool, q)):
                n += len(files)
        return n

    def version(self):
        r = subprocess.run(["postconf", "-h", "-c", self.etc, "mail_version"], capture_output=True, text=True,
                           timeout=10)
        return "Postfix " + r.stdout.strip()

    def describe(self):
        return {"version": self.version(), "port": self.port, "directory": self.base,
                "configuration": self.changes}

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)
