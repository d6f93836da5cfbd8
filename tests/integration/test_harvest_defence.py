"""Harvest defence (DESIGN §10, docs/harvest-defence.md) against the real daemon on loopback.

Clients bind distinct loopback addresses (127.0.x.y) so each test chooses which source and which /24
prefix its clients belong to. The connector's TarpitInterval is 00:00:01: a held reply takes at least
0.9 s (never less, on any machine), a reply that is not held comes in under FAST seconds (scaled by
TRANSPORTD_TEST_TIME_FACTOR, since only the fast side depends on the machine's speed). State changes are
awaited by polling get-sourcereputation with a deadline; nothing sleeps and hopes.

Counts decay continuously, so a test that needs a threshold crossed crosses it with room to spare
(four hang-ups against a threshold of three) unless the issue names the exact count.
"""
import asyncio
import base64
import datetime
import json
import select
import threading
import time

from harness import TIME_FACTOR, DaemonTestCase, free_port, wait_until
from smtp_client import RawSmtp
from test_smtp import DEFAULT, can_connect

PASSWORD = "correct horse battery"
HELD = 0.9  # a reply held for TarpitInterval 00:00:01
FAST = 0.5 * TIME_FACTOR  # a reply nobody held
STATE_DEADLINE = 10 * TIME_FACTOR  # for the daemon to record what a client did


def plain_token(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


class HarvestDefenceTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        r = self.ctl("new-mailbox", "alice@example.com", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        # AUTH without TLS, so the raw client can authenticate; the defence does not care about TLS.
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:01", "--auth-mechanism", "Tls,BasicAuth")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")

    # --- what the daemon remembers -------------------------------------------------------------------

    def reputation(self, identity=None, state=None):
        """get-sourcereputation as a list of dicts ([] when nothing matches)."""
        args = ["get-sourcereputation"] + ([identity] if identity else []) + (["--state", state] if state else [])
        r = self.ctl(*args, "--format", "json")
        if r.returncode == 1 and "not found" in r.stderr.lower():
            return []
        self.assertEqual(r.returncode, 0, "adminctl %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        got = json.loads(r.stdout) if r.stdout.strip() else []
        return [got] if isinstance(got, dict) and got else (got or [])

    def record(self, source):
        """The record whose Source is exactly `source` (an address or a prefix), or None."""
        rows = [row for row in self.reputation(source) if row.get("Source") == source]
        return rows[0] if rows else None

    def state(self, source):
        row = self.record(source)
        return row["State"] if row else "Clean"

    def wait_for_state(self, source, state, timeout=STATE_DEADLINE):
        seen = []

        def reached():
            seen.append(self.state(source))
            return seen[-1] == state

        try:
            wait_until(reached, timeout, "%s to be %s" % (source, state))
        except AssertionError:
            self.fail("%s never became %s within %.1fs (last: %s; record %r)"
                      % (source, state, timeout, seen[-1:], self.record(source)))
        return self.record(source)

    def count(self, source, field):
        row = self.record(source)
        return float(row[field]) if row else 0.0

    def assert_nothing_counted(self, identity, fields=("Refused", "Accepted", "Abandoned", "AuthFailures")):
        """No record matching `identity` (an address or a prefix with its addresses) has any count."""
        for row in self.reputation(identity):
            for field in fields:
                self.assertLess(float(row.get(field, 0)), 0.01, "%s counted for an exempt client: %r" % (field, row))

    def open_sessions(self):
        return json.loads(self.ok("get-transportserver", "--format", "json"))["OpenSessions"]

    def wait_for_no_sessions(self):
        wait_until(lambda: self.open_sessions() == 0, STATE_DEADLINE, "every SMTP session to end")

    # --- clients ---------------------------------------------------------------------------------------

    def connect(self, source, port=None):
        """Connects from `source`; returns (client, seconds until the 220 banner)."""
        begin = time.monotonic()
        c = RawSmtp(port or self.port, source=source, timeout=60)
        code, text = c.reply()
        took = time.monotonic() - begin
        if code != 220:
            c.close()
            self.fail("%s got %d %s instead of a banner" % (source, code, text))
        return c, took

    def transaction(self, source, port=None):
        """A client up to MAIL FROM; returns (client, banner seconds)."""
        c, banner = self.connect(source, port)
        self.assertEqual(c.command("EHLO client.test")[0], 250)
        self.assertEqual(c.command("MAIL FROM:<sender@remote.test>")[0], 250)
        return c, banner

    def rcpt(self, c, address):
        """RCPT TO; returns (code, seconds)."""
        code, text, took = c.command("RCPT TO:<%s>" % address)
        return code, took

    def assert_fast_rcpt(self, c, address, expected=250):
        code, took = self.rcpt(c, address)
        self.assertEqual(code, expected, address)
        self.assertLess(took, FAST, "the %d for %s was held %.2fs" % (code, address, took))

    def assert_held_rcpt(self, c, address, expected=250):
        code, took = self.rcpt(c, address)
        self.assertEqual(code, expected, address)
        self.assertGreaterEqual(took, HELD, "the %d for %s came after %.2fs: not held" % (code, address, took))
        return took

    def send_message(self, c):
        self.assertEqual(c.command("DATA")[0], 354)
        c.send("Subject: legitimate\r\n\r\nbody\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)

    def hang_up_during_held_replies(self, source, sessions=1):
        """`sessions` clients from `source`, each asking for an unknown recipient and hanging up while
        the 550 is being held (after 0.3 s without a reply): the impatient harvester."""
        clients = [self.transaction(source)[0] for _ in range(sessions)]
        try:
            for c in clients:
                c.send("RCPT TO:<nobody@example.com>\r\n")
            deadline = time.monotonic() + 0.3
            for c in clients:
                readable, _, _ = select.select([c.sock], [], [], max(0.0, deadline - time.monotonic()))
                self.assertFalse(readable or c.buffer, "a 550 came within 0.3s: it was not held")
        finally:
            for c in clients:
                c.close()

    def discredit(self, source, hang_ups=4):
        """Makes `source` Discredited by default thresholds (3 abandoned holds), with one to spare."""
        self.hang_up_during_held_replies(source, sessions=hang_ups)
        self.wait_for_state(source, "Discredited")
        self.wait_for_no_sessions()  # every hang-up is counted by now
        return self.record(source)

    def set_defence(self, *flags):
        self.ok("set-harvestdefenceconfig", *flags)


class ImpatientHarvesterTest(HarvestDefenceTestCase):
    def test_hang_ups_make_250s_as_slow_as_550s_then_hold_the_banner_and_cap_connections(self):
        source = "127.0.1.1"
        # Clean: Exchange's timing, the oracle the impatient harvester reads.
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST)
            self.assert_fast_rcpt(c, "alice@example.com")
        self.hang_up_during_held_replies(source)
        wait_until(lambda: self.count(source, "Abandoned") >= 0.99, STATE_DEADLINE, "the abandoned hold to be counted")
        self.wait_for_state(source, "Suspect")

        # Suspect: a valid RCPT's 250 is held as long as a 550, so timing tells nothing.
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST, "a Suspect source's banner is not held")
            held_250 = self.assert_held_rcpt(c, "alice@example.com", 250)
            held_550 = self.assert_held_rcpt(c, "nobody@example.com", 550)
            self.assertLess(abs(held_250 - held_550), 0.3 * TIME_FACTOR, (held_250, held_550))

        # Two more hang-ups: three in all, and the source is Discredited.
        for expected in (2, 3):
            self.hang_up_during_held_replies(source)
            wait_until(lambda: self.count(source, "Abandoned") >= expected - 0.01, STATE_DEADLINE,
                       "abandoned hold %d to be counted" % expected)
        self.wait_for_state(source, "Discredited")

        # The banner is held, and two connections at once are all it may have: the third gets 421 4.3.2 at once.
        begin = time.monotonic()
        first = RawSmtp(self.port, source=source, timeout=60)
        second = RawSmtp(self.port, source=source, timeout=60)
        try:
            for c in (first, second):
                self.assertEqual(c.reply()[0], 220)
            self.assertGreaterEqual(time.monotonic() - begin, HELD, "a Discredited source's banners were not held")
            with RawSmtp(self.port, source=source, timeout=60) as third:
                begin = time.monotonic()
                code, text = third.reply()
                took = time.monotonic() - begin
                self.assertEqual((code, text[:5]), (421, "4.3.2"), text)
                self.assertLess(took, FAST, "the 421 was held %.2fs" % took)
                self.assertTrue(third.closed_by_server(), "the refused connection stays open")
            # Another address is not capped.
            with RawSmtp(self.port, source="127.0.9.1", timeout=60) as other:
                self.assertEqual(other.reply()[0], 220)
        finally:
            first.close()
            second.close()

        # A further offence while Discredited doubles the interval per Level: the banner waits longer.
        self.wait_for_no_sessions()
        self.hang_up_during_held_replies(source)
        wait_until(lambda: int(self.record(source)["Level"]) >= 1, STATE_DEADLINE, "the Level to rise")
        row = self.record(source)
        interval = min(2 ** int(row["Level"]), 600)
        self.assertEqual(row["CurrentInterval"], "%02d:%02d:%02d" % (interval // 3600, interval // 60 % 60, interval % 60), row)
        c, banner = self.connect(source)
        with c:
            self.assertGreaterEqual(banner, interval - 0.1, "the banner at Level %s" % row["Level"])


class PrefixTest(HarvestDefenceTestCase):
    def test_addresses_of_one_slash24_sharing_the_abuse_are_one_source(self):
        # Per address: Suspect from 4 refusals; per /24: from 8. Three addresses refuse 3 each: 9 for the
        # prefix, none over its own threshold.
        self.set_defence("--suspect-refused-recipients", "4", "--prefix-threshold-multiplier", "2")
        good = "127.0.2.50"
        c, _ = self.transaction(good)
        with c:  # its own history first: three accepted messages
            for _ in range(3):
                self.assert_fast_rcpt(c, "alice@example.com")
                self.send_message(c)
                self.assertEqual(c.command("MAIL FROM:<sender@remote.test>")[0], 250)

        abusers = ["127.0.2.%d" % i for i in (1, 2, 3)]
        failures = []

        def abuse(source):
            try:
                c, _ = self.transaction(source)
                with c:
                    for i in range(3):
                        code, _ = self.rcpt(c, "nobody%d@example.com" % i)
                        if code != 550:
                            failures.append((source, code))
            except Exception as e:  # reported below, in the test's thread
                failures.append((source, repr(e)))

        threads = [threading.Thread(target=abuse, args=(source,)) for source in abusers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(failures, [])
        self.wait_for_state("127.0.2.0/24", "Suspect")
        for source in abusers:  # each under its own threshold: only the prefix stands out
            self.assertEqual(self.state(source), "Clean", self.record(source))

        # A fresh address of that /24 is judged by its prefix: its 250 is held.
        c, _ = self.transaction("127.0.2.9")
        with c:
            self.assert_held_rcpt(c, "alice@example.com")
        # An address of another /24 is untouched.
        c, banner = self.transaction("127.0.3.9")
        with c:
            self.assertLess(banner, FAST)
            self.assert_fast_rcpt(c, "alice@example.com")
        # The address with its own good history keeps fast replies.
        c, banner = self.transaction(good)
        with c:
            self.assertLess(banner, FAST)
            for _ in range(3):
                self.assert_fast_rcpt(c, "alice@example.com")


class LegitimateSenderTest(HarvestDefenceTestCase):
    def test_one_unknown_recipient_among_ten_holds_only_its_550(self):
        aliases = ",".join("user%d@example.com" % i for i in range(9))
        self.ok("new-mailbox", "bob@example.com", "--email-addresses", aliases)
        source = "127.0.4.1"
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST)
            # The mistake first: a refusal that outnumbers the (still zero) acceptances must not be enough.
            self.assert_held_rcpt(c, "stale@example.com", 550)
            for i in range(9):
                self.assert_fast_rcpt(c, "user%d@example.com" % i)
            begin = time.monotonic()
            self.send_message(c)
            self.assertLess(time.monotonic() - begin, 2 * FAST)
        wait_until(lambda: self.count(source, "Accepted") >= 8.9, STATE_DEADLINE, "the accepted recipients to be counted")
        self.assertEqual(self.state(source), "Clean", self.record(source))
        # ... and its next session is as fast as the first.
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST)
            self.assert_fast_rcpt(c, "user0@example.com")


class DecayTest(HarvestDefenceTestCase):
    def test_a_discredited_source_is_clean_again_after_its_counts_decay(self):
        # Suspect from 1 abandoned hold, Discredited from 2; six hang-ups at once; counts halve every 2 s.
        # Six fall under 1 after 5.2 s and under 0.5 (the half of a threshold a state is kept down to,
        # docs/harvest-defence.md) after 7.2 s: Clean by then, give or take the whole seconds records keep.
        self.set_defence("--half-life", "00:00:02", "--suspect-abandoned-holds", "1", "--discredit-abandoned-holds", "2")
        source = "127.0.5.1"
        self.hang_up_during_held_replies(source, sessions=6)
        hung_up = time.monotonic()
        self.wait_for_state(source, "Discredited", timeout=4)
        self.wait_for_state(source, "Clean", timeout=hung_up + (7.2 + 2.5) * TIME_FACTOR - time.monotonic())
        # ... and not before the counts could have decayed under the Suspect threshold.
        self.assertGreaterEqual(time.monotonic() - hung_up, 4.0)
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST)
            self.assert_fast_rcpt(c, "alice@example.com")


class PersistenceTest(HarvestDefenceTestCase):
    def test_restart_keeps_a_discredited_source_and_clear_forgives_it(self):
        source, prefix = "127.0.6.1", "127.0.6.0/24"
        self.discredit(source)
        self.restart()
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener after the restart")
        self.assertEqual(self.state(source), "Discredited", self.record(source))
        c, banner = self.connect(source)
        with c:
            self.assertGreaterEqual(banner, HELD, "the banner of a source Discredited before the restart")

        self.ok("clear-sourcereputation", source, "--confirm=false")
        self.assertIsNone(self.record(source))
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST, "the banner of a forgiven source")
            # Its /24 still remembers four hang-ups (Suspect at 3): forgiving the prefix frees the 250 too.
            self.assertEqual(self.state(prefix), "Suspect", self.record(prefix))
            self.assert_held_rcpt(c, "alice@example.com")
        self.ok("clear-sourcereputation", prefix, "--confirm=false")
        self.assertEqual(self.reputation(prefix), [])
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST)
            self.assert_fast_rcpt(c, "alice@example.com")


class ExemptionTest(HarvestDefenceTestCase):
    """Each exemption is shown on a source the defence has Discredited: an exempt session sees only
    Exchange's rule (5xx held, 2xx at once; nothing at all when authenticated) and adds nothing to its
    record."""

    def assert_not_counted(self, source, before):
        """Nothing the exempt sessions did was added to `source`'s record (`before`: the record then)."""
        self.wait_for_no_sessions()
        row = self.record(source)
        for field in ("Refused", "Accepted", "Abandoned", "AuthFailures"):
            self.assertLessEqual(float(row[field]) if row else 0.0, float(before[field]) + 0.01,
                                 "%s counted for an exempt session: before %r, after %r" % (field, before, row))

    def test_an_authenticated_session_is_never_held(self):
        source = "127.0.7.1"
        before = self.discredit(source)
        c, _ = self.connect(source)
        with c:
            self.assertEqual(c.command("EHLO client.test")[0], 250)
            code, text, _ = c.command("AUTH PLAIN " + plain_token("alice@example.com", PASSWORD))
            self.assertEqual(code, 235, text)
            self.assertEqual(c.command("MAIL FROM:<alice@example.com>")[0], 250)
            for i in range(6):
                self.assert_fast_rcpt(c, "nobody%d@example.com" % i, 550)
            self.assert_fast_rcpt(c, "alice@example.com")
            begin = time.monotonic()
            self.send_message(c)
            self.assertLess(time.monotonic() - begin, 2 * FAST)
        self.assert_not_counted(source, before)

    def test_a_trusted_connector_is_exempt(self):
        trusted_port = free_port()
        self.ok("new-receiveconnector", "Trusted", "--usage", "Trusted", "--bindings", "127.0.0.1:%d" % trusted_port,
                "--tarpit-interval", "00:00:01")
        wait_until(lambda: can_connect(trusted_port), 5, "the trusted connector's listener")
        source = "127.0.7.2"
        before = self.discredit(source)
        c, banner = self.transaction(source, port=trusted_port)
        with c:
            self.assertLess(banner, FAST)
            for i in range(6):
                self.assert_fast_rcpt(c, "nobody%d@example.com" % i, 550)
            self.assert_fast_rcpt(c, "alice@example.com")
        # Not capped either: more connections than a Discredited source may hold elsewhere.
        clients = [self.connect(source, port=trusted_port) for _ in range(3)]
        for c, banner in clients:
            self.assertLess(banner, FAST)
            c.close()
        self.assert_not_counted(source, before)

    def test_a_connector_without_tarpit_is_exempt(self):
        open_port = free_port()
        self.ok("new-receiveconnector", "NoTarpit", "--bindings", "127.0.0.1:%d" % open_port, "--tarpit-interval", "00:00:00")
        wait_until(lambda: can_connect(open_port), 5, "the second connector's listener")
        source = "127.0.7.3"
        before = self.discredit(source)
        c, banner = self.transaction(source, port=open_port)
        with c:
            self.assertLess(banner, FAST)
            for i in range(6):
                self.assert_fast_rcpt(c, "nobody%d@example.com" % i, 550)
            self.assert_fast_rcpt(c, "alice@example.com")
        self.assert_not_counted(source, before)

    def test_exempt_remote_ip_ranges(self):
        source = "127.0.7.4"
        before = self.discredit(source)
        self.set_defence("--exempt-remote-ip-ranges", "127.0.7.4,10.0.0.0/8")
        c, banner = self.transaction(source)
        with c:
            self.assertLess(banner, FAST)
            self.assert_fast_rcpt(c, "alice@example.com")
            self.assert_held_rcpt(c, "nobody@example.com", 550)  # Exchange's rule still holds
        self.hang_up_during_held_replies(source)
        self.assert_not_counted(source, before)
        # A neighbour outside the ranges is still judged.
        self.hang_up_during_held_replies("127.0.8.4")
        self.wait_for_state("127.0.8.4", "Suspect")

    def test_a_disabled_defence_is_exchanges_fixed_tarpit(self):
        source = "127.0.7.5"
        before = self.discredit(source)
        self.set_defence("--enabled", "false")
        clients = [self.transaction(source) for _ in range(3)]  # no cap on connections
        for c, banner in clients:
            self.assertLess(banner, FAST)
        with clients[0][0] as c:
            self.assert_fast_rcpt(c, "alice@example.com")
            self.assert_held_rcpt(c, "nobody@example.com", 550)
        for c, _ in clients[1:]:
            c.close()
        self.hang_up_during_held_replies(source)
        self.assert_not_counted(source, before)
        # Nobody new is judged either.
        self.hang_up_during_held_replies("127.0.8.5")
        self.wait_for_no_sessions()
        c, _ = self.transaction("127.0.8.5")
        with c:
            self.assert_fast_rcpt(c, "alice@example.com")
        self.assert_nothing_counted("127.0.8.0/24")


class PasswordGuessingTest(HarvestDefenceTestCase):
    # Seconds: the first lock; the second is twice as long. Locks are kept to the whole second, so one
    # may end up to a second early: the checks below leave more than that.
    LOCKOUT = 4

    def auth(self, source, password, port=None):
        """One session from `source` trying AUTH PLAIN as alice; returns (code, text, seconds for the AUTH)."""
        c, _ = self.connect(source, port)
        with c:
            self.assertEqual(c.command("EHLO client.test")[0], 250)
            return c.command("AUTH PLAIN " + plain_token("alice@example.com", password))

    def guess(self, source, sessions):
        """Wrong passwords from `source`, one session each, all at once; returns when they were sent and
        when the last was answered. The last of them may already find the address locked (454), if the
        others were verified before it came."""
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(self.auth(source, "wrong-%d" % i)[0]))
                   for i in range(sessions)]
        sent = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        answered = time.monotonic()
        self.assertEqual(len(results), sessions, "a guessing session failed")
        self.assertGreaterEqual(results.count(535), sessions - 1, results)
        self.assertEqual(set(results) - {535, 454}, set(), results)
        return sent, answered

    def lock_length(self, source):
        """Seconds from the source's last AUTH failure to the end of its lock, from get-sourcereputation
        (whole seconds; a failure counted after the lock began makes it look shorter, never longer)."""
        row = self.record(source)
        self.assertTrue(row and row["AuthLockedUntil"], row)
        until = datetime.datetime.fromisoformat(row["AuthLockedUntil"].replace("Z", "+00:00"))
        seen = datetime.datetime.fromisoformat(row["LastSeen"].replace("Z", "+00:00"))
        return (until - seen).total_seconds()

    def assert_locked(self, source):
        code, text, _ = self.auth(source, PASSWORD)
        self.assertEqual((code, text[:5]), (454, "4.7.0"), "the right password from a locked address: %d %s" % (code, text))

    def test_guessing_locks_out_one_address_for_a_doubling_time(self):
        self.set_defence("--auth-failure-threshold", "3", "--auth-lockout-interval", "00:00:%02d" % self.LOCKOUT)
        guesser, other = "127.0.10.1", "127.0.10.2"
        # Four wrong passwords, one over the threshold so that decay cannot keep the count under it.
        _, answered = self.guess(guesser, 4)
        self.assert_locked(guesser)
        code, text, took = self.auth(other, PASSWORD)
        self.assertEqual(code, 235, "another address during the lock: " + text)
        self.assertLess(took, 1.0 * TIME_FACTOR)
        first = self.lock_length(guesser)
        self.assertLessEqual(first, self.LOCKOUT)

        # The lock expires: it began before the last failure was answered, so LOCKOUT later it is over.
        time.sleep(max(0.0, answered + self.LOCKOUT + 0.5 - time.monotonic()))
        code, text, _ = self.auth(guesser, PASSWORD)
        self.assertEqual(code, 235, "the right password after the lock: " + text)

        # Guessing again locks it again, twice as long: still locked after LOCKOUT, open after 2 × LOCKOUT.
        sent, answered = self.guess(guesser, 4)
        self.assert_locked(guesser)
        second = self.lock_length(guesser)
        self.assertGreater(second, self.LOCKOUT + 1, "the second lock (%.0fs) is not twice the first (%.0fs)" % (second, first))
        self.assertLessEqual(second, 2 * self.LOCKOUT)
        time.sleep(max(0.0, answered + self.LOCKOUT + 0.5 - time.monotonic()))
        if time.monotonic() < sent + 2 * self.LOCKOUT - 1.3:  # else too late to tell by trying (a loaded machine)
            self.assert_locked(guesser)
        time.sleep(max(0.0, answered + 2 * self.LOCKOUT + 0.5 - time.monotonic()))
        code, text, _ = self.auth(guesser, PASSWORD)
        self.assertEqual(code, 235, "the right password after the doubled lock: " + text)

    def test_many_guessing_sessions_do_not_delay_a_legitimate_auth(self):
        # The guessers are never locked out here (the point is the shared password hashing): each has
        # one attempt in verification or waiting, or is told 454 for being over its source's share.
        self.set_defence("--auth-failure-threshold", "100000")
        self.ok("set-receiveconnector", DEFAULT, "--max-inbound-connection-per-source", "unlimited",
                "--max-inbound-connection", "unlimited", "--max-logon-failures", "0")
        # One verification's cost on this machine now (an argon2id hash: ~0.1 s idle, 0.3 s on a loaded
        # 2-core machine). Taking turns, a legitimate AUTH waits for at most the hashes already running,
        # then its own, all slowed by sharing the cores: about 3 to 4 hashes' time, measured. First come,
        # first served it would wait behind every queued guess (8 per source, 2 running: over 10). So: 1 s
        # (well under, idle), or 6 hashes' time on a machine too loaded for that.
        idle = sorted(self.auth("127.0.12.1", PASSWORD)[2] for _ in range(3))[1]
        limit = max(1.0, 6 * idle) * TIME_FACTOR
        sessions = 48
        answered = []
        stop = threading.Event()
        busy = threading.Event()
        outcome = {}

        async def guesser(index):
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=("127.0.11.1", 0))
            await reader.readline()
            writer.write(b"EHLO guesser.test\r\n")
            while not (await reader.readline()).startswith(b"250 "):
                pass
            attempt = 0
            try:
                while True:  # until cancelled
                    token = plain_token("alice@example.com", "guess-%d-%d" % (index, attempt))
                    writer.write(("AUTH PLAIN %s\r\n" % token).encode())
                    reply = await reader.readline()
                    if not reply:
                        raise ConnectionError("guesser %d: the server closed the connection" % index)
                    answered.append(reply[:3])
                    if len(answered) >= 2 * sessions:
                        busy.set()
                    attempt += 1
            finally:
                writer.close()

        async def guessing():
            tasks = [asyncio.create_task(guesser(i)) for i in range(sessions)]
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            errors = [repr(r) for r in results if not isinstance(r, asyncio.CancelledError)]
            if errors:
                outcome["error"] = errors[:3]

        def run():
            try:
                asyncio.run(guessing())
            except Exception as e:  # reported in the test's thread
                outcome["error"] = repr(e)

        runner = threading.Thread(target=run)
        runner.start()
        try:
            self.assertTrue(busy.wait(60 * TIME_FACTOR), "the guessers never got going: %r" % outcome)
            timings = []
            for _ in range(3):
                code, text, took = self.auth("127.0.12.1", PASSWORD)
                self.assertEqual(code, 235, text)
                timings.append(took)
                if took >= limit:
                    break  # failed already; no need to wait for more
            self.assertLess(max(timings), limit, "a legitimate AUTH took %s while %d sessions guessed (%.2fs without)"
                            % (timings, sessions, idle))
        finally:
            stop.set()
            runner.join(60)
        self.assertNotIn("error", outcome)
        # The guessers' sessions end once their queued attempts are answered.
        wait_until(lambda: self.open_sessions() == 0, 60 * TIME_FACTOR, "the guessers' sessions to end")
        # Wrong passwords, verified (535), or refused for now as over their source's fair share (454).
        self.assertIn(b"535", answered)
        self.assertEqual(set(answered) - {b"535", b"454"}, set())
