"""Crash safety: transportd is killed with SIGKILL at random moments while mail and configuration changes
stream in, and restarted on the same data directory.

Mail: every message whose 250 the client saw is in each of its recipients' Maildirs exactly once and
intact; a message that got no 250 may be there or not, but never partially; no file in new/ is ever
partial; a restart removes the unfinished deliveries the kill left in tmp/ (and only transportd's own).
Configuration: after each kill the database is valid, and every set-receiveconnector acknowledged with
exit 0 is there (the one in flight at the kill may or may not be).

The kill moments come from a seeded RNG; the seed is printed, and TRANSPORTD_CRASH_SEED=<seed> repeats
the schedule (thread timing still varies from run to run).
"""
import base64
import collections
import glob
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

from harness import HOST, TRANSPORTD, DaemonTestCase, adminctl, wait_until
from smtp_client import RawSmtp
from test_smtp import DEFAULT, can_connect

MAILBOXES = ["user%d@example.com" % i for i in range(6)]
DELIVERY_FILE = re.compile(r"^\d+\.M\d+P\d+Q\d+\..+$")  # transportd's <sec>.M<usec>P<pid>Q<n>.<host>


class Client(RawSmtp):
    """RawSmtp whose socket is closed when the connection is refused (the daemon is restarting)."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""


def seed_from_environment():
    seed = os.environ.get("TRANSPORTD_CRASH_SEED")
    return int(seed) if seed else random.SystemRandom().randrange(1 << 32)


def make_message(seed, message_id):
    """Headers naming the message and the SHA-256 and length of its body (as stored: LF line endings).
    Body lines are base64 text, so none starts with '.' and none is longer than 76 octets."""
    rng = random.Random(seed)
    size = rng.choice([rng.randrange(100, 4000)] * 8 + [rng.randrange(100_000, 600_000)] * 2)  # some big ones
    raw = base64.b64encode(rng.randbytes(size * 3 // 4)).decode()
    lines = [raw[i:i + 76] for i in range(0, len(raw), 76)] + ["END OF " + message_id]
    stored_body = "\n".join(lines) + "\n"
    header = ("Message-ID: <%s>\r\nSubject: crash safety\r\nX-Body-SHA256: %s\r\nX-Body-Length: %d\r\n"
              % (message_id, hashlib.sha256(stored_body.encode()).hexdigest(), len(stored_body)))
    return header + "\r\n" + "\r\n".join(lines) + "\r\n"


def parse_stored(path):
    """A file from new/: (message id, None) when it parses completely and its body matches its checksum,
    (message id or None, what is wrong) otherwise."""
    with open(path, "rb") as f:
        data = f.read()
    if b"\n\n" not in data:
        return None, "no end of header section (%d bytes)" % len(data)
    head, body = data.split(b"\n\n", 1)
    fields = {}
    for line in head.decode("ascii", "replace").split("\n"):
        if ":" in line and not line[0].isspace():
            name, value = line.split(":", 1)
            fields.setdefault(name.lower(), value.strip())
    if not head.startswith(b"Return-Path: <sender@remote.test>\nReceived: "):
        return None, "does not start with Return-Path: and Received:"
    message_id = fields.get("message-id", "").strip("<>") or None
    for name in ("message-id", "x-body-sha256", "x-body-length"):
        if name not in fields:
            return message_id, "no %s header" % name
    if len(body) != int(fields["x-body-length"]):
        return message_id, "body is %d bytes, header says %s" % (len(body), fields["x-body-length"])
    if hashlib.sha256(body).hexdigest() != fields["x-body-sha256"]:
        return message_id, "body does not match its X-Body-SHA256"
    if not body.endswith(("END OF %s\n" % message_id).encode()):
        return message_id, "body does not end with its END OF line"
    return message_id, None


class CrashTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.seed = seed_from_environment()
        print("\n%s: TRANSPORTD_CRASH_SEED=%d" % (self.id(), self.seed))
        self.rng = random.Random(self.seed)
        self.kills = 0

    def kill(self):
        """SIGKILL, then wait for the process to be gone."""
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.assertEqual(self.daemon.proc.wait(timeout=15), -signal.SIGKILL)
        self.daemon.log.close()
        self.kills += 1

    def check_config(self):
        r = subprocess.run([TRANSPORTD, "--data-dir", self.data_dir, "--check-config"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, "the configuration database after SIGKILL #%d:\n%s%s"
                         % (self.kills, r.stdout, r.stderr))


class MailCrashTest(CrashTestCase):
    MESSAGES = 1000
    SESSIONS = 6
    KILLS = 6

    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        for address in MAILBOXES:
            self.ok("new-mailbox", address)
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:00")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")
        self.lock = threading.Lock()
        self.next_attempt = 0
        self.acknowledged = {}  # message id -> recipients, for every 250 seen
        self.unacknowledged = {}  # message id -> recipients, for every message sent without a 250 seen
        self.other_replies = collections.Counter()
        self.failures = []  # client errors that are not the kill (a worker records, the test asserts)

    def maildir(self, address, sub):
        return os.path.join(self.data_dir, "mailboxes", address, "Maildir", sub)

    def files(self, sub):
        return {address: sorted(glob.glob(os.path.join(self.maildir(address, sub), "*"))) for address in MAILBOXES}

    # --- the clients -----------------------------------------------------------------------------------

    def connect(self, deadline):
        """A session past EHLO; while the daemon is down or restarting, retries until `deadline`."""
        while time.monotonic() < deadline:
            try:
                c = Client(self.port, timeout=20)
            except OSError:
                time.sleep(0.02)  # refused: the daemon is restarting
                continue
            try:
                if c.reply()[0] == 220 and c.command("EHLO crash.test")[0] == 250:
                    return c
            except (OSError, ConnectionError):
                pass
            c.close()
            time.sleep(0.02)
        return None

    def take_attempt(self):
        with self.lock:
            if self.next_attempt >= self.MESSAGES:
                return None
            self.next_attempt += 1
            return self.next_attempt

    def client(self, worker):
        rng = random.Random("%d/%d" % (self.seed, worker))
        session = None
        while True:
            if session is None:
                session = self.connect(time.monotonic() + 30)
                if session is None:
                    with self.lock:
                        self.failures.append("worker %d: no session within 30 s" % worker)
                    return
            attempt = self.take_attempt()
            if attempt is None:
                session.close()
                return
            message_id = "m%04d.w%d.%d@crash.test" % (attempt, worker, self.seed)
            recipients = rng.sample(MAILBOXES, rng.choice([1, 1, 2, 3]))
            try:
                outcome = self.send(session, message_id, recipients, rng)
            except (OSError, ConnectionError):
                outcome = None  # the daemon died under us
            with self.lock:
                if outcome == "DATA 250":
                    self.acknowledged[message_id] = recipients
                else:
                    self.unacknowledged[message_id] = recipients
                    if outcome is not None:
                        self.other_replies[outcome] += 1
            if outcome != "DATA 250":
                session.close()
                session = None

    def send(self, c, message_id, recipients, rng):
        """One transaction: "DATA 250" when the message was acknowledged, else the step and the reply
        that refused it; raises when the connection breaks."""
        code = c.command("MAIL FROM:<sender@remote.test>")[0]
        if code != 250:
            return "MAIL %d" % code
        for r in recipients:
            code = c.command("RCPT TO:<%s>" % r)[0]
            if code != 250:
                return "RCPT %d" % code
        code = c.command("DATA")[0]
        if code != 354:
            return "DATA %d" % code
        c.send(make_message(rng.randrange(1 << 32), message_id) + ".\r\n")
        return "DATA %d" % c.reply()[0]

    # --- the checks -------------------------------------------------------------------------------------

    def check_new(self, when):
        """Every file in every new/ parses completely and is one of ours; returns {mailbox: Counter(id)}."""
        problems, found = [], {}
        with self.lock:
            ours = dict(self.acknowledged)
            ours.update(self.unacknowledged)
        for address, paths in self.files("new").items():
            found[address] = collections.Counter()
            for path in paths:
                message_id, problem = parse_stored(path)
                if problem:
                    problems.append("%s: %s" % (path, problem))
                found[address][message_id] += 1
                if message_id is not None and message_id not in ours:
                    # sent by a worker that has not recorded it yet: only possible while clients run
                    if when == "at the end":
                        problems.append("%s: unknown message %s" % (path, message_id))
        self.assertEqual(problems, [], "partial or foreign files in new/ %s" % when)
        return found

    def plant_leftovers(self):
        """What a kill can leave in tmp/: a file of transportd's own name format (removed at start), and a
        file someone else put there (left alone)."""
        name = "%d.M%06dP%dQ%d.%s" % (time.time(), self.kills, 999999, self.kills + 1, socket.gethostname())
        os.makedirs(self.maildir(MAILBOXES[0], "tmp"), exist_ok=True)
        own = os.path.join(self.maildir(MAILBOXES[0], "tmp"), name)
        with open(own, "wb") as f:
            f.write(b"Received: from a delivery that never finish")
        return own

    def test_sigkill_during_deliveries_loses_nothing_acknowledged(self):
        kill_points = sorted(self.rng.sample(range(50, self.MESSAGES - 50), self.KILLS))
        os.makedirs(self.maildir(MAILBOXES[1], "tmp"), exist_ok=True)
        foreign = os.path.join(self.maildir(MAILBOXES[1], "tmp"), "not-transportd.txt")
        with open(foreign, "wb") as f:
            f.write(b"some other program's file")
        began = time.monotonic()
        workers = [threading.Thread(target=self.client, args=(w,)) for w in range(self.SESSIONS)]
        for w in workers:
            w.start()
        leftovers_seen = 0
        try:
            for point in kill_points:
                wait_until(lambda: self.next_attempt >= point or not any(w.is_alive() for w in workers), 60,
                           "message %d to be under way" % point)
                time.sleep(self.rng.uniform(0, 0.01))  # a random moment within the next message or so
                self.kill()
                self.check_new("after SIGKILL #%d" % self.kills)
                self.check_config()
                left = [p for paths in self.files("tmp").values() for p in paths if DELIVERY_FILE.match(os.path.basename(p))]
                leftovers_seen += len(left)
                left.append(self.plant_leftovers())
                self.daemon.start()  # the data directory as the kill left it
                # transportd removes its unfinished deliveries at start, before its admin API answers;
                # deliveries after the restart get new names, so these are exactly the kill's leftovers.
                survivors = [p for p in left if os.path.exists(p)]
                self.assertEqual(survivors, [], "tmp/ files the kill left survived the restart")
        finally:
            for w in workers:
                w.join(120)
        self.assertFalse(any(w.is_alive() for w in workers), "clients still running after 120 s")
        elapsed = time.monotonic() - began
        self.assertEqual(self.failures, [])
        self.assertEqual(self.kills, self.KILLS)
        self.assertEqual(len(self.acknowledged) + len(self.unacknowledged), self.MESSAGES)
        self.assertEqual(dict(self.other_replies), {}, "refusals (only the kills may end a transaction early)")

        found = self.check_new("at the end")
        missing, duplicated, partial_sets = [], [], 0
        for message_id, recipients in self.acknowledged.items():
            for address in recipients:
                count = found[address][message_id]
                if count == 0:
                    missing.append((message_id, address))
                elif count > 1:
                    duplicated.append((message_id, address, count))
        for message_id, recipients in self.unacknowledged.items():
            counts = [found[address][message_id] for address in recipients]
            duplicated += [(message_id, a, n) for a, n in zip(recipients, counts) if n > 1]
            if 0 < sum(1 for n in counts if n) < len(counts):
                partial_sets += 1
        for address in MAILBOXES:  # nothing delivered to a mailbox that was not a recipient
            for message_id in found[address]:
                recipients = self.acknowledged.get(message_id) or self.unacknowledged.get(message_id)
                self.assertIn(address, recipients, "%s delivered to %s, not a recipient" % (message_id, address))
        self.assertEqual(missing[:10], [], "%d acknowledged copies missing" % len(missing))
        self.assertEqual(duplicated[:10], [], "%d copies stored more than once" % len(duplicated))

        # tmp/: at rest, nothing of transportd's own is left; the foreign file is untouched.
        self.assertEqual([p for paths in self.files("tmp").values() for p in paths], [foreign])
        self.assertEqual(self.files("cur"), {a: [] for a in MAILBOXES})
        present = sum(1 for m, rs in self.unacknowledged.items() if any(found[a][m] for a in rs))
        print("%d messages in %.1f s with %d SIGKILLs: %d acknowledged, %d not (%d of those stored anyway, "
              "%d in only some of their mailboxes); %d unfinished tmp/ files left by the kills"
              % (self.MESSAGES, elapsed, self.kills, len(self.acknowledged), len(self.unacknowledged), present,
                 partial_sets, leftovers_seen))


class ConfigCrashTest(CrashTestCase):
    """Streams of set-receiveconnector on several connectors at once, killed at random moments."""

    ROUNDS = 6
    STREAMS = 3

    def setUp(self):
        super().setUp()
        self.connectors = [DEFAULT]
        for i in range(1, self.STREAMS):
            name = "Stream%d" % i
            self.ok("new-receiveconnector", name, "--bindings", "127.0.0.1:%d" % self.port,
                    "--remote-ip-ranges", "127.0.%d.0/24" % i)
            self.connectors.append(name)

    @staticmethod
    def change(round_, n):
        """Change n of a round: several properties in one set, so a half-applied one would show."""
        return ["--comment", "round %d change %d" % (round_, n), "--max-recipients-per-message", str(100 + n),
                "--tarpit-interval", "00:00:%02d" % (n % 60), "--enabled", "true" if n % 2 else "false"]

    @staticmethod
    def as_read(round_, n):
        return {"Comment": "round %d change %d" % (round_, n), "MaxRecipientsPerMessage": 100 + n,
                "TarpitInterval": "00:00:%02d" % (n % 60), "Enabled": bool(n % 2)}

    def stream(self, round_, connector, acknowledged, stop):
        """Sets change 1, 2, ... until one is not acknowledged (the daemon died) or 500 were."""
        for n in range(1, 501):
            if stop.is_set():
                return
            r = adminctl(self.daemon, "set-receiveconnector", connector, *self.change(round_, n))
            if r.returncode != 0:
                return
            acknowledged[connector] = n

    def test_sigkill_during_set_receiveconnector_streams(self):
        keys = list(self.as_read(0, 0))
        acknowledged_total, in_flight_applied = 0, 0
        for round_ in range(1, self.ROUNDS + 1):
            acknowledged = {c: 0 for c in self.connectors}
            before = {c["Name"]: {k: c[k] for k in keys}
                      for c in json.loads(self.ok("get-receiveconnector", "--format", "json"))}
            stop = threading.Event()
            streams = [threading.Thread(target=self.stream, args=(round_, c, acknowledged, stop)) for c in self.connectors]
            for s in streams:
                s.start()
            try:
                after = self.rng.randrange(3, 40)  # acknowledged changes, summed over the streams, before the kill
                wait_until(lambda: sum(acknowledged.values()) >= after or not any(s.is_alive() for s in streams), 60,
                           "%d acknowledged changes" % after)
                time.sleep(self.rng.uniform(0, 0.03))
                self.kill()
            finally:
                stop.set()
                for s in streams:
                    s.join(90)
            self.check_config()
            self.daemon.start()
            now = {c["Name"]: c for c in json.loads(self.ok("get-receiveconnector", "--format", "json"))}
            for connector in self.connectors:
                n = acknowledged[connector]
                got = {k: now[connector][k] for k in keys}
                allowed = [self.as_read(round_, n) if n else before[connector], self.as_read(round_, n + 1)]
                self.assertIn(got, allowed, "round %d, %s: last acknowledged change %d" % (round_, connector, n))
                acknowledged_total += n
                in_flight_applied += got == allowed[1]
        print("%d SIGKILLs during set-receiveconnector streams on %d connectors: %d changes acknowledged, all kept; "
              "%d unacknowledged changes in flight at a kill were applied anyway"
              % (self.kills, len(self.connectors), acknowledged_total, in_flight_applied))


if __name__ == "__main__":
    import unittest
    unittest.main()
