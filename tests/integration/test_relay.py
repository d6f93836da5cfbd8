"""Relay end to end (issue #11, DESIGN §5, §6, §11): a real transportd on loopback receives mail,
routes it at RCPT through its send connectors, queues it durably under DATA_DIR/queue and delivers it
to real next hops: smtp_sink.py (aiosmtpd, writes what it accepted as JSON with the exact DATA octets),
Postfix, and MX hosts found through a real DNS server (dnsmasq). Failures come back to the local sender
as RFC 3464 reports, parsed here with Python's email package. Every wait has a deadline; retry and
expiry intervals are whole seconds, so each test takes seconds."""
import datetime
import glob
import json
import os
import re
import signal
import smtplib
import ssl
import threading
import time
import unittest

from harness import HOST, TIME_FACTOR, Daemon, DaemonTestCase, adminctl, wait_until
from relay_peers import (Dnsmasq, SinkServer, free_port, parse_report, queue_entries, queued_messages,
                         sink_unavailable, split_received)
from smtp_client import RawSmtp
from test_auth import make_pair
from test_postfix_relay import PrivatePostfix, postfix_unavailable
from test_smtp import DEFAULT, can_connect

TRUSTED_SOURCE = "127.0.0.2"  # the "application server": the Apps connector's RemoteIPRanges
PASSWORD = "correct horse battery"
DELIVERY_DEADLINE = 20 * TIME_FACTOR  # a relayed message normally reaches the sink in well under a second


@unittest.skipIf(sink_unavailable(), sink_unavailable() or "")
class RelayTestCase(DaemonTestCase):
    """example.com is ours (alice has a mailbox); 127.0.0.2 is a trusted host on the Apps connector
    (ExternalAuthoritative, ExchangeServers); retries are every second."""

    def setUp(self):
        super().setUp()
        self.peers = []
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com", "--default", "true")
        r = self.ctl("new-mailbox", "alice@example.com", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:01")
        self.ok("new-receiveconnector", "Apps", "--bindings", "127.0.0.1:%d" % self.port,
                "--remote-ip-ranges", TRUSTED_SOURCE, "--auth-mechanism", "ExternalAuthoritative",
                "--permission-groups", "ExchangeServers")
        self.ok("set-transportserver", "--transient-failure-retry-interval", "00:00:01",
                "--outbound-connection-failure-retry-interval", "00:00:01")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")

    def tearDown(self):
        try:
            for peer in reversed(self.peers):
                peer.stop()
        finally:
            super().tearDown()

    # --- peers and connectors

    def sink(self, name="sink", start=True, **kwargs):
        """A next hop; not started when start is False (its port is reserved and kept)."""
        sink = SinkServer(os.path.join(self.tmp.name, name), **kwargs)
        self.peers.append(sink)
        if start:
            sink.start()
        return sink

    def send_connector(self, name, address_spaces, sink=None, *more):
        args = ["new-sendconnector", name, "--address-spaces", address_spaces]
        if sink is not None:
            args += ["--smart-hosts", "%s:%d" % (sink.host, sink.port)]
        self.ok(*(args + list(more)))

    # --- sending

    def transaction(self, mail_from, recipients, data, source=TRUSTED_SOURCE, mail_params="", rcpt_params=None):
        """One raw SMTP transaction; `data` is the message as the client means it (CRLF line ends), dot-
        stuffed here. Returns (RCPT replies as (code, text, seconds), the reply to the end of DATA)."""
        with RawSmtp(self.port, source=source) as c:
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.command("EHLO client.test")[0], 250)
            code, text, _ = c.command(("MAIL FROM:<%s> %s" % (mail_from, mail_params)).rstrip())
            self.assertEqual(code, 250, text)
            replies = []
            for rcpt in recipients:
                params = (rcpt_params or {}).get(rcpt, "")
                replies.append(c.command(("RCPT TO:<%s> %s" % (rcpt, params)).rstrip()))
            if not any(code == 250 for code, _, _ in replies):
                return replies, None
            self.assertEqual(c.command("DATA")[0], 354)
            c.send(stuff(data) + b".\r\n")
            end = c.reply()
            c.command("QUIT")
            return replies, end

    def relay(self, mail_from, recipients, data, **kwargs):
        """A transaction whose every recipient must be accepted and whose message must be taken."""
        replies, end = self.transaction(mail_from, recipients, data, **kwargs)
        for rcpt, (code, text, _) in zip(recipients, replies):
            self.assertEqual(code, 250, "RCPT %s: %s" % (rcpt, text))
        self.assertEqual(end[0], 250, end[1])
        return end

    # --- looking at the results

    def maildir(self, address):
        return sorted(glob.glob(os.path.join(self.data_dir, "mailboxes", address, "Maildir", "new", "*")))

    def wait(self, predicate, timeout, what):
        """wait_until, and on timeout the end of transportd's log too (read then, not before)."""
        try:
            wait_until(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError("%s\ntransportd's log ends:\n%s" % (e, self.daemon.read_log()[-3000:])) from None

    def wait_for_maildir(self, address, count, timeout=DELIVERY_DEADLINE):
        self.wait(lambda: len(self.maildir(address)) >= count, timeout,
                  "%d message(s) in %s's Maildir" % (count, address))
        files = self.maildir(address)
        self.assertEqual(len(files), count)
        return files

    def report_for(self, address, count=1, timeout=DELIVERY_DEADLINE):
        """The last DSN in `address`'s Maildir, taken apart (see relay_peers.parse_report)."""
        files = self.wait_for_maildir(address, count, timeout)
        with open(files[-1], "rb") as f:
            raw = f.read()
        return (raw,) + parse_report(raw)

    def wait_for_empty_queue(self, timeout=DELIVERY_DEADLINE):
        self.wait(lambda: queue_entries(self.data_dir) == [], timeout, "the queue to empty")

    def tracking(self, *filters):
        return json.loads(self.ok("get-messagetrackinglog", "--format", "json", *filters) or "[]")

    def wait_for_event(self, event_id, recipient, timeout=DELIVERY_DEADLINE):
        def found():
            return [e for e in self.tracking("--recipient", recipient) if e["EventId"] == event_id]
        self.wait(found, timeout, "a %s tracking event for %s" % (event_id, recipient))
        return found()

    def wait_for_log(self, fragment, timeout=DELIVERY_DEADLINE):
        self.wait(lambda: fragment in self.daemon.read_log(), timeout, "%r in the log" % fragment)


def stuff(data):
    """Dot-stuffing (RFC 5321 §4.5.2) of a message with CRLF line ends."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)


class TrustedRelayTest(RelayTestCase):
    def test_trusted_host_relays_byte_exact_apart_from_our_received_header(self):
        sink = self.sink()
        self.send_connector("Internet", "*", sink)
        original = ("From: App <app@example.com>\r\nTo: good@remote.example\r\nSubject: byte exact\r\n"
                    "X-Spacing:   three  spaces  \r\nX-Folded: first\r\n\tsecond\r\n"
                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n"
                    "Grüße — 8-bit\r\n.leading dot\r\n..two dots\r\n.\tdot tab\r\n\r\n\r\n"
                    "trailing   \r\nlast line\r\n").encode("utf-8")
        self.relay("alice@example.com", ["good@remote.example"], original, mail_params="BODY=8BITMIME")
        got = sink.wait_for(1, DELIVERY_DEADLINE)[0]
        self.assertEqual(got["mail_from"], "alice@example.com")
        self.assertEqual(got["rcpt_tos"], ["good@remote.example"])
        self.assertIn("BODY=8BITMIME", got["mail_options"])
        received, rest = split_received(got["data"])
        self.assertEqual(len(received), 1, got["data"][:600])
        self.assertTrue(received[0].startswith(b"Received: from client.test"), received[0])
        self.assertIn(b"by " + HOST.lower().encode(), received[0].lower())
        self.assertEqual(rest, original)  # every other octet as the client sent it, CRLF line ends
        self.assertNotIn(b"Return-Path:", got["data"])
        self.assertNotIn(b"\n", got["data"].replace(b"\r\n", b""), "bare LF in what we sent")
        self.wait_for_empty_queue()

    def test_a_large_message_and_150_recipients_go_intact(self):
        sink = self.sink()
        self.send_connector("Internet", "*", sink)
        lines = [b"line %06d " % i + b"x" * (i % 900) for i in range(6000)]  # ~2.7 MB, lines up to 912 octets
        original = b"Subject: large\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
        recipients = ["r%03d@remote.example" % i for i in range(150)]  # more than one pipelined batch of 100
        self.relay("alice@example.com", recipients, original)
        sink.wait_for(1, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        got = sink.messages()
        self.assertEqual(sorted(sink.recipients()), recipients)
        for message in got:
            self.assertEqual(split_received(message["data"])[1], original)

    def test_smtputf8_addresses_are_relayed(self):
        sink = self.sink()  # aiosmtpd offers SMTPUTF8
        self.send_connector("Internet", "*", sink)
        original = "From: Jörg <jörg@example.com>\r\nSubject: Grüße\r\n\r\nHallo\r\n".encode("utf-8")
        self.relay("alice@example.com", ["rené@remote.example"], original, mail_params="SMTPUTF8 BODY=8BITMIME")
        got = sink.wait_for(1, DELIVERY_DEADLINE)[0]
        self.assertEqual(got["rcpt_tos"], ["rené@remote.example"])
        self.assertIn("SMTPUTF8", got["mail_options"])
        self.assertEqual(split_received(got["data"])[1], original)
        self.wait_for_empty_queue()

    def test_8bit_and_utf8_mail_to_a_hop_without_the_extensions_comes_back(self):
        # RFC 6152 §3 / RFC 6531 §3.2: not sent to a hop that cannot take it; the sender gets a report.
        sink = self.sink(without=["8BITMIME", "SMTPUTF8"])
        self.send_connector("Internet", "*", sink)
        self.relay("alice@example.com", ["friend@remote.example"], "Subject: 8bit\r\n\r\nGrüße\r\n".encode("utf-8"),
                   mail_params="BODY=8BITMIME")
        _, _, groups, _ = self.report_for("alice@example.com")
        self.assertEqual([(g["final-recipient"].lower(), g["action"], g["status"]) for g in groups],
                         [("rfc822;friend@remote.example", "failed", "5.6.3")])
        self.relay("alice@example.com", ["rené@remote.example"], b"Subject: utf8 address\r\n\r\nhi\r\n",
                   mail_params="SMTPUTF8")
        statuses = []
        for path in self.wait_for_maildir("alice@example.com", 2):  # Maildir names need not sort by time
            with open(path, "rb") as f:
                statuses += [(g["final-recipient"].lower(), g["status"]) for g in parse_report(f.read())[1]]
        self.assertEqual(sorted(statuses), [("rfc822;friend@remote.example", "5.6.3"),
                                            # RFC 6533 §3: a UTF-8 address in ASCII form
                                            ("utf-8;ren\\x{e9}@remote.example", "5.6.7")])
        self.wait_for_empty_queue()
        self.assertEqual(sink.messages(), [])

    def test_no_send_connector_for_the_domain_is_550_5_4_4_at_rcpt(self):
        sink = self.sink()
        self.send_connector("Partner", "remote.example", sink)
        replies, end = self.transaction("alice@example.com", ["x@elsewhere.test", "good@remote.example"],
                                        b"Subject: partly routable\r\n\r\nbody\r\n")
        (code, text, took), (good_code, _, _) = replies
        self.assertEqual((code, text[:5]), (550, "5.4.4"), text)
        self.assertLess(took, 0.5, "a trusted connector is not tarpitted")
        self.assertEqual(good_code, 250)
        self.assertEqual(end[0], 250)
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertEqual(got[0]["rcpt_tos"], ["good@remote.example"])
        self.wait_for_empty_queue()
        self.assertEqual(self.maildir("alice@example.com"), [], "a refusal at RCPT is no report")


class InternalRelayTest(RelayTestCase):
    def test_internal_relay_domain_goes_to_the_internal_server_for_anyone(self):
        internal = self.sink("internal")
        internet = self.sink("internet")
        self.ok("new-accepteddomain", "Corp", "--domain-name", "corp.test", "--domain-type", "InternalRelay")
        self.send_connector("To internal", "corp.test", internal)
        self.send_connector("Internet", "*", internet)
        message = b"From: someone@remote.test\r\nSubject: inbound\r\n\r\nfor the internal server\r\n"
        replies, end = self.transaction("someone@remote.test", ["bob@corp.test", "x@foreign.test"], message,
                                        source="127.0.0.1")  # anonymous, on the Default connector
        (code, text, took), (foreign_code, foreign_text, foreign_took) = replies
        self.assertEqual(code, 250, text)
        # A route exists ("*"), but an anonymous client may not relay to a foreign domain, and waits.
        self.assertEqual((foreign_code, foreign_text[:5]), (550, "5.7.1"), foreign_text)
        self.assertGreaterEqual(foreign_took, 0.95)
        self.assertEqual(end[0], 250)
        got = internal.wait_for(1, DELIVERY_DEADLINE)
        self.assertEqual(got[0]["rcpt_tos"], ["bob@corp.test"])
        self.assertEqual(split_received(got[0]["data"])[1], message)
        self.wait_for_empty_queue()
        self.assertEqual(internet.messages(), [])


class AuthRelayTest(RelayTestCase):
    def test_authenticated_user_relays_through_the_smart_host(self):
        sink = self.sink()
        self.send_connector("Internet", "*", sink)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the daemon's self-signed default certificate
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.ehlo("client.test")
            client.starttls(context=context)
            client.ehlo("client.test")
            # Before AUTH: anonymous, no relay.
            client.mail("alice@example.com")
            self.assertEqual(client.rcpt("friend@remote.example")[0], 550)
            client.rset()
            client.login("alice@example.com", PASSWORD)
            refused = client.sendmail("alice@example.com", ["friend@remote.example", "other@far.test"],
                                      b"Subject: from an authenticated user\r\n\r\nhello\r\n")
            self.assertEqual(refused, {})
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertEqual(len(got), 1)
        self.assertEqual(sorted(got[0]["rcpt_tos"]), ["friend@remote.example", "other@far.test"])
        self.assertEqual(got[0]["mail_from"], "alice@example.com")
        self.assertIn(b"Subject: from an authenticated user\r\n", got[0]["data"])
        self.wait_for_empty_queue()


class SmartHostTlsAndAuthTest(RelayTestCase):
    def tls_sink(self, **kwargs):
        cert, key = make_pair(self.tmp.name, "smarthost")
        return self.sink(tls=(cert, key), **kwargs)

    def test_starttls_is_used_when_the_next_hop_offers_it(self):
        sink = self.tls_sink()
        self.send_connector("Internet", "*", sink)  # RequireTLS false: opportunistic
        self.relay("alice@example.com", ["friend@remote.example"], b"Subject: opportunistic\r\n\r\nbody\r\n")
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertTrue(got[0]["tls"], "sent in clear text although STARTTLS was offered")
        self.wait_for_empty_queue()

    def test_require_tls_never_sends_in_clear_text(self):
        sink = self.sink()  # no STARTTLS
        self.send_connector("Internet", "*", sink, "--require-tls", "true")
        self.relay("alice@example.com", ["friend@remote.example"], b"Subject: must be encrypted\r\n\r\nbody\r\n")
        self.wait_for_log("which RequireTLS needs")  # the attempt failed for want of STARTTLS
        self.assertEqual(sink.messages(), [])
        self.assertEqual(len(queue_entries(self.data_dir)), 1, "kept in the queue, not dropped")
        # Once the next hop offers STARTTLS (same port, same directory), it goes, encrypted.
        sink.stop()
        cert, key = make_pair(self.tmp.name, "smarthost")
        sink.tls = (cert, key)
        sink.start()
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertTrue(got[0]["tls"])
        self.wait_for_empty_queue()

    def test_auth_to_the_smart_host_after_starttls(self):
        sink = self.tls_sink(auth="relay-user:relay secret")
        self.ok("new-sendconnector", "Smarthost", "--address-spaces", "*", "--smart-hosts",
                "127.0.0.1:%d" % sink.port, "--require-tls", "true",
                "--smart-host-auth-mechanism", "BasicAuthRequireTLS", "--authentication-credential", "relay-user",
                "--password-stdin", input="relay secret\n")
        self.relay("alice@example.com", ["friend@remote.example"], b"Subject: with AUTH\r\n\r\nbody\r\n")
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertTrue(got[0]["tls"])
        self.assertTrue(got[0]["authenticated"])
        self.assertNotIn("relay secret", self.daemon.read_log())
        self.wait_for_empty_queue()


class TransientFailureTest(RelayTestCase):
    def test_a_451_is_retried_and_the_rest_is_not_sent_twice(self):
        sink = self.sink(defer=["busy@remote.example"])
        self.send_connector("Internet", "*", sink)
        self.relay("alice@example.com", ["busy@remote.example", "idle@remote.example"],
                   b"Subject: one deferred\r\n\r\nbody\r\n")
        sink.wait_for(1, DELIVERY_DEADLINE)
        deferred = self.wait_for_event("DEFER", "busy@remote.example")
        self.assertIn("451", deferred[0]["RecipientStatus"])
        self.assertEqual(len(queue_entries(self.data_dir)), 1, "busy@ waits for its retry")
        sink.stop()
        sink.defer = []
        sink.start()
        sink.wait_for(2, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        self.assertEqual(sorted(sink.recipients()), ["busy@remote.example", "idle@remote.example"])
        self.assertEqual(self.maildir("alice@example.com"), [], "a 4xx is no failure")

    def test_per_recipient_state_survives_a_restart(self):
        sink = self.sink(defer=["busy@remote.example"])
        self.send_connector("Internet", "*", sink)
        self.relay("alice@example.com", ["busy@remote.example", "idle@remote.example"],
                   b"Subject: half delivered\r\n\r\nbody\r\n")
        self.wait_for_event("DEFER", "busy@remote.example")
        self.assertEqual(sink.recipients(), ["idle@remote.example"])
        sink.stop()
        self.restart()  # SIGTERM and start: the queue is read back from DATA_DIR/queue
        self.assertEqual(len(queue_entries(self.data_dir)), 1)
        self.assertIn("1 message(s) in the queue from before the start", self.daemon.read_log())
        sink.defer = []
        sink.start()
        sink.wait_for(2, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        # idle@ was recorded as delivered before the restart: it is not sent again.
        self.assertEqual(sorted(sink.recipients()), ["busy@remote.example", "idle@remote.example"])


class NextHopDownTest(RelayTestCase):
    def test_messages_wait_in_the_queue_then_go_exactly_once(self):
        sink = self.sink(start=False)
        self.send_connector("Internet", "*", sink)
        recipients = []
        for i in range(3):
            pair = ["r%da@remote.example" % i, "r%db@remote.example" % i]
            recipients += pair
            self.relay("alice@example.com", pair, b"Subject: queued %d\r\n\r\nbody\r\n" % i)
        self.assertEqual(len(queue_entries(self.data_dir)), 3, "durable in the queue before 250")
        self.wait_for_log("unreachable")  # at least one attempt failed while the sink was down
        self.assertEqual(len(queue_entries(self.data_dir)), 3)
        sink.start()
        self.wait_for_empty_queue()
        # The queue is empty: nothing more can be sent, so these counts are final.
        self.assertEqual(sorted(sink.recipients()), sorted(recipients))
        self.assertEqual(self.maildir("alice@example.com"), [], "no report: everything was delivered")

    def test_one_message_for_two_hops_and_a_mailbox_each_part_goes_once(self):
        one = self.sink("one")
        two = self.sink("two", start=False)
        self.send_connector("One", "one.test", one)
        self.send_connector("Two", "two.test", two)
        self.ok("new-mailbox", "bob@example.com")
        self.relay("alice@example.com", ["a@one.test", "b@two.test", "bob@example.com", "c@one.test"],
                   b"Subject: three destinations\r\n\r\nbody\r\n")
        self.wait_for_maildir("bob@example.com", 1)
        one.wait_for(1, DELIVERY_DEADLINE)
        self.wait_for_log("unreachable")  # two.test's hop is down: b@ waits
        self.assertEqual(len(queue_entries(self.data_dir)), 1)
        two.start()
        two.wait_for(1, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        self.assertEqual(sorted(one.recipients()), ["a@one.test", "c@one.test"])
        self.assertEqual(two.recipients(), ["b@two.test"])
        self.assertEqual(len(self.maildir("bob@example.com")), 1)
        self.assertEqual(self.maildir("alice@example.com"), [])

    def test_a_shorter_retry_interval_applies_to_mail_already_waiting(self):
        self.ok("set-transportserver", "--outbound-connection-failure-retry-interval", "00:10:00")
        sink = self.sink(start=False)
        self.send_connector("Internet", "*", sink)
        self.relay("alice@example.com", ["waiting@remote.example"], b"Subject: waiting\r\n\r\nbody\r\n")
        self.wait_for_log("unreachable")  # next try in 10 minutes
        sink.start()
        self.ok("set-transportserver", "--outbound-connection-failure-retry-interval", "00:00:01")
        sink.wait_for(1, DELIVERY_DEADLINE)  # long before the 10 minutes
        self.wait_for_empty_queue()
        self.assertEqual(sink.recipients(), ["waiting@remote.example"])

    def test_a_sink_that_goes_away_and_comes_back(self):
        sink = self.sink()
        self.send_connector("Internet", "*", sink)
        self.relay("alice@example.com", ["first@remote.example"], b"Subject: first\r\n\r\nbody\r\n")
        sink.wait_for(1, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        sink.stop()
        self.relay("alice@example.com", ["second@remote.example"], b"Subject: second\r\n\r\nbody\r\n")
        self.wait_for_log("unreachable")
        self.assertEqual(len(queue_entries(self.data_dir)), 1)
        sink.start()
        self.wait_for_empty_queue()
        self.assertEqual(sorted(sink.recipients()), ["first@remote.example", "second@remote.example"])


class NonDeliveryReportTest(RelayTestCase):
    def test_a_550_from_the_next_hop_comes_back_as_a_report_the_rest_is_delivered(self):
        sink = self.sink(reject=["bad@remote.example"])
        self.send_connector("Internet", "*", sink)
        original = (b"From: alice@example.com\r\nSubject: partly bounced\r\nMessage-ID: <nd-1@example.com>\r\n"
                    b"\r\nbody\r\n")
        self.relay("alice@example.com", ["good@remote.example", "bad@remote.example", "good2@remote.example"],
                   original)
        raw, report, groups, per_message = self.report_for("alice@example.com")
        self.assertEqual(sorted(sink.recipients()), ["good2@remote.example", "good@remote.example"])
        self.assertTrue(raw.startswith(b"Return-Path: <>\n"), raw[:100])
        self.assertEqual(report["To"].strip("<> "), "alice@example.com")
        self.assertIn(HOST.lower(), per_message["reporting-mta"].lower())
        self.assertEqual(len(groups), 1, groups)
        group = groups[0]
        self.assertEqual(group["final-recipient"].lower(), "rfc822;bad@remote.example")
        self.assertEqual(group["action"], "failed")
        self.assertEqual(group["status"], "5.1.1")
        self.assertIn("550", group["diagnostic-code"])
        self.assertIn("no such user here", group["diagnostic-code"])
        # The original's headers come back (RET not given: headers only).
        returned = [p for p in report.walk() if p.get_content_type() in ("text/rfc822-headers", "message/rfc822")]
        self.assertEqual(len(returned), 1)
        self.assertIn("nd-1@example.com", returned[0].as_string())
        self.wait_for_empty_queue()
        # Tracked as DSN (the null sender's test below counts on this event to see that none was made).
        wait_until(lambda: [e for e in self.tracking() if e["EventId"] == "DSN"], 10, "the DSN tracking event")

    def test_expiry_with_the_next_hop_down_gives_a_report(self):
        sink = self.sink(start=False)
        self.send_connector("Internet", "*", sink)
        self.ok("set-transportserver", "--message-expiration-timeout", "00:00:05")
        begin = time.monotonic()
        self.relay("alice@example.com", ["late@remote.example"], b"Subject: never arrives\r\n\r\nbody\r\n")
        self.relay("", ["late-null@remote.example"], b"Subject: a bounce of our own\r\n\r\nbody\r\n")
        raw, report, groups, _ = self.report_for("alice@example.com")
        self.assertGreaterEqual(time.monotonic() - begin, 3.9, "expired before MessageExpirationTimeout")
        self.assertEqual(len(groups), 1, groups)
        self.assertEqual(groups[0]["final-recipient"].lower(), "rfc822;late@remote.example")
        self.assertEqual(groups[0]["action"], "failed")
        self.assertRegex(groups[0]["status"], r"^5\.4\.7$")
        self.assertIn("Subject: never arrives", raw.decode("utf-8", "replace"))
        # The null sender's message expires too, and nothing is sent anywhere for it.
        self.wait_for_empty_queue()
        self.assertEqual(len(self.maildir("alice@example.com")), 1)
        self.assertEqual(sink.messages(), [])

    def test_a_delay_report_after_delay_notification_timeout_then_delivery(self):
        sink = self.sink(start=False)
        self.send_connector("Internet", "*", sink)
        self.ok("set-transportserver", "--delay-notification-timeout", "00:00:01")
        self.relay("alice@example.com", ["slow@remote.example"], b"Subject: delayed\r\n\r\nbody\r\n")
        _, report, groups, _ = self.report_for("alice@example.com")
        self.assertEqual([(g["final-recipient"].lower(), g["action"]) for g in groups],
                         [("rfc822;slow@remote.example", "delayed")])
        self.assertRegex(groups[0]["status"], r"^4\.")
        # The report itself passes through the queue on its way to the mailbox: wait for it to leave.
        self.wait(lambda: len(queue_entries(self.data_dir)) == 1, DELIVERY_DEADLINE, "only the original queued")
        self.assertEqual([m["recipients"] for m in queued_messages(self.data_dir)], [["slow@remote.example"]],
                         "the original is still queued after its delay report")
        sink.start()
        sink.wait_for(1, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        self.assertEqual(len(self.maildir("alice@example.com")), 1, "one delay report, no failure report")

    def test_the_null_sender_never_gets_a_report(self):
        sink = self.sink(reject=["bad@remote.example"])
        self.send_connector("Internet", "*", sink)
        self.relay("", ["good@remote.example", "bad@remote.example"], b"Subject: from <>\r\n\r\nbody\r\n")
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertEqual(got[0]["mail_from"], "")
        self.assertEqual(got[0]["rcpt_tos"], ["good@remote.example"])
        self.wait_for_empty_queue()  # bad@ is settled and nothing (no report) waits
        # bad@'s failure was recorded (so it was decided on, not lost), and no report was made.
        failed = self.wait_for_event("FAIL", "bad@remote.example")
        self.assertIn("550 5.1.1", failed[-1]["RecipientStatus"])
        self.assertEqual([e for e in self.tracking() if e["EventId"] == "DSN"], [])
        self.assertEqual(len(sink.messages()), 1, "no report went out to anyone")
        self.assertEqual(glob.glob(os.path.join(self.data_dir, "mailboxes", "*", "Maildir", "new", "*")), [])


class DsnParameterTest(RelayTestCase):
    def test_notify_never_suppresses_the_report_and_nothing_is_passed_to_a_hop_without_dsn(self):
        sink = self.sink(reject=["bad@remote.example"])
        self.send_connector("Internet", "*", sink)
        with RawSmtp(self.port, source=TRUSTED_SOURCE) as c:
            c.reply()
            self.assertIn("DSN", c.command("EHLO client.test")[1].splitlines())
        self.relay("alice@example.com", ["bad@remote.example", "good@remote.example"],
                   b"Subject: dsn parameters\r\n\r\nbody\r\n", mail_params="RET=HDRS ENVID=abc",
                   rcpt_params={"bad@remote.example": "NOTIFY=NEVER",
                                "good@remote.example": "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y"})
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertEqual(got[0]["rcpt_tos"], ["good@remote.example"])
        # The sink does not advertise DSN: none of NOTIFY, ORCPT, RET, ENVID goes to it.
        self.assertEqual(got[0]["rcpt_options"], [[]])
        self.assertFalse([o for o in got[0]["mail_options"] if o.upper().startswith(("RET=", "ENVID="))],
                         got[0]["mail_options"])
        self.wait_for_empty_queue()
        # bad@ failed with NOTIFY=NEVER: no failure report. (good@ asked for SUCCESS: a "relayed" report
        # is allowed by RFC 3461 §4.2 for a hop without DSN, but never a "failed" one.)
        for path in self.maildir("alice@example.com"):
            with open(path, "rb") as f:
                _, groups, _ = parse_report(f.read())
            self.assertNotIn("failed", [g["action"] for g in groups])
            self.assertNotIn("rfc822;bad@remote.example", [g["final-recipient"].lower() for g in groups])

    def test_envid_orcpt_and_ret_hdrs_appear_in_the_failure_report(self):
        sink = self.sink(reject=["bad@remote.example"])
        self.send_connector("Internet", "*", sink)
        self.relay("alice@example.com", ["bad@remote.example"],
                   b"Subject: returned headers only\r\n\r\nsecret body text\r\n", mail_params="RET=HDRS ENVID=abc",
                   rcpt_params={"bad@remote.example": "NOTIFY=FAILURE ORCPT=rfc822;orig@remote.example"})
        raw, report, groups, per_message = self.report_for("alice@example.com")
        self.assertEqual(per_message.get("original-envelope-id"), "abc")
        self.assertEqual(groups[0]["original-recipient"].lower(), "rfc822;orig@remote.example")
        self.assertEqual(groups[0]["final-recipient"].lower(), "rfc822;bad@remote.example")
        self.assertIn(b"Subject: returned headers only", raw)
        self.assertNotIn(b"secret body text", raw)  # RET=HDRS

    # RFC 3461 §4.2 and §6.2.1: NOTIFY=SUCCESS asks for a "delivered" report on final delivery and a
    # "relayed" one when the message goes on to a hop that does not offer DSN.
    def test_notify_success_on_local_delivery_gives_a_delivered_report(self):
        self.ok("new-mailbox", "bob@example.com")
        self.relay("alice@example.com", ["bob@example.com"], b"Subject: tell me\r\n\r\nbody\r\n",
                   rcpt_params={"bob@example.com": "NOTIFY=SUCCESS"})
        self.wait_for_maildir("bob@example.com", 1)
        _, _, groups, _ = self.report_for("alice@example.com", timeout=5)  # made when bob's copy is
        self.assertEqual([(g["final-recipient"].lower(), g["action"]) for g in groups],
                         [("rfc822;bob@example.com", "delivered")])

    def test_notify_success_to_a_hop_without_dsn_gives_a_relayed_report(self):
        sink = self.sink()
        self.send_connector("Internet", "*", sink)
        self.relay("alice@example.com", ["friend@remote.example"], b"Subject: tell me\r\n\r\nbody\r\n",
                   rcpt_params={"friend@remote.example": "NOTIFY=SUCCESS"})
        sink.wait_for(1, DELIVERY_DEADLINE)
        _, _, groups, _ = self.report_for("alice@example.com", timeout=5)  # made when the sink's 250 is
        self.assertEqual([(g["final-recipient"].lower(), g["action"]) for g in groups],
                         [("rfc822;friend@remote.example", "relayed")])


class NextHopDaemon(Daemon):
    """A second transportd, RELAY02, as our next hop: it advertises DSN, so what we pass on shows in the
    reports it makes."""

    def command(self):
        return ["RELAY02" if a == HOST else a for a in super().command()]


class DsnToADsnCapableHopTest(RelayTestCase):
    def test_dsn_parameters_are_passed_on_and_honoured_by_the_next_hop(self):
        # We (MAIL01) relay remote.example to RELAY02; RELAY02 sends it on to a sink that refuses two of the
        # recipients, and sends its reports for example.com back to us. Only parameters we passed on can
        # show in RELAY02's report.
        sink = self.sink(reject=["bad@remote.example", "quiet@remote.example"])
        hop = NextHopDaemon(os.path.join(self.tmp.name, "relay02"), free_port())
        self.peers.append(hop)
        hop.start()

        def hop_ok(*args):
            r = adminctl(hop, *args)
            self.assertEqual(r.returncode, 0, "RELAY02: adminctl %s: %s" % (" ".join(args), r.stderr))

        hop_ok("new-receiveconnector", "From MAIL01", "--bindings", "127.0.0.1:%d" % hop.port,
               "--remote-ip-ranges", "127.0.0.1", "--auth-mechanism", "ExternalAuthoritative",
               "--permission-groups", "ExchangeServers")
        hop_ok("new-sendconnector", "Onward", "--address-spaces", "remote.example", "--smart-hosts",
               "127.0.0.1:%d" % sink.port)
        hop_ok("new-sendconnector", "Back", "--address-spaces", "example.com", "--smart-hosts",
               "127.0.0.1:%d" % self.port)
        wait_until(lambda: can_connect(hop.port), 5, "RELAY02's listener")
        with RawSmtp(hop.port) as c:
            c.reply()
            self.assertIn("DSN", c.command("EHLO client.test")[1].splitlines(), "RELAY02 advertises DSN")
        self.send_connector("To RELAY02", "remote.example")
        self.ok("set-sendconnector", "To RELAY02", "--smart-hosts", "127.0.0.1:%d" % hop.port)

        self.relay("alice@example.com", ["good@remote.example", "bad@remote.example", "quiet@remote.example"],
                   b"Subject: parameters passed on\r\n\r\nsecret body text\r\n", mail_params="RET=HDRS ENVID=abc",
                   rcpt_params={"bad@remote.example": "NOTIFY=FAILURE ORCPT=rfc822;orig@remote.example",
                                "quiet@remote.example": "NOTIFY=NEVER"})
        raw, report, groups, per_message = self.report_for("alice@example.com")
        self.assertIn("relay02", per_message["reporting-mta"].lower(), "the report is RELAY02's")
        self.assertEqual(per_message.get("original-envelope-id"), "abc")  # ENVID passed on
        # quiet@ (NOTIFY=NEVER passed on) is not reported; bad@ is, with its ORCPT.
        self.assertEqual([g["final-recipient"].lower() for g in groups], ["rfc822;bad@remote.example"])
        self.assertEqual(groups[0]["original-recipient"].lower(), "rfc822;orig@remote.example")
        self.assertEqual(groups[0]["action"], "failed")
        self.assertNotIn(b"secret body text", raw)  # RET=HDRS passed on
        self.assertEqual(sink.recipients(), ["good@remote.example"])
        # Both queues empty: nothing more can come, so exactly one report it stays.
        self.wait_for_empty_queue()
        wait_until(lambda: queue_entries(hop.data_dir) == [], DELIVERY_DEADLINE, "RELAY02's queue to empty")
        self.wait_for_empty_queue()
        self.assertEqual(len(self.maildir("alice@example.com")), 1)


class CrashTest(RelayTestCase):
    def test_sigkill_during_a_stream_of_relayed_messages(self):
        sink = self.sink()
        self.send_connector("Internet", "*", sink)
        connections = 4  # to the sink at once: each holds at most one message in the window below
        self.ok("set-transportserver", "--max-per-domain-outbound-connections", str(connections))
        total, threads_count = 200, 4
        acknowledged = set()
        lock = threading.Lock()

        def client(first, count):
            try:
                with RawSmtp(self.port, source=TRUSTED_SOURCE, timeout=20) as c:
                    c.reply()
                    c.command("EHLO client.test")
                    for n in range(first, first + count):
                        c.command("MAIL FROM:<alice@example.com>")
                        c.command("RCPT TO:<n%d@remote.example>" % n)
                        if c.command("DATA")[0] != 354:
                            return
                        c.send(b"Subject: stream\r\nX-Token: t%d\r\n\r\nmessage %d\r\n.\r\n" % (n, n))
                        if c.reply()[0] == 250:
                            with lock:
                                acknowledged.add(n)
            except (OSError, ConnectionError):
                pass  # the daemon was killed under us: what got 250 is what counts

        per = total // threads_count
        workers = [threading.Thread(target=client, args=(i * per, per)) for i in range(threads_count)]
        for w in workers:
            w.start()
        # Kill once a good part has been acknowledged and some of it is on its way to the sink.
        wait_until(lambda: len(acknowledged) >= total // 3 or not any(w.is_alive() for w in workers), 60,
                   "a third of the stream to be acknowledged")
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait(timeout=15)
        self.daemon.log.close()
        for w in workers:
            w.join(30)
        self.assertLess(len(acknowledged), total, "the kill came too late to test anything")
        self.daemon.start()

        def tokens():
            got = []
            for m in sink.messages():
                match = re.search(rb"X-Token: t(\d+)\r\n", m["data"])
                got.append(int(match.group(1)))
            return got

        wait_until(lambda: acknowledged <= set(tokens()), 60 * TIME_FACTOR,
                   "every acknowledged message at the sink after the restart; missing %s"
                   % sorted(acknowledged - set(tokens()))[:20])
        self.wait_for_empty_queue(60 * TIME_FACTOR)
        delivered = tokens()
        duplicates = len(delivered) - len(set(delivered))
        # DESIGN §11: a duplicate can only come from the window between the next hop's 250 and our
        # record of it. A connection sends its next message only once the last one's outcome is recorded,
        # so at the kill each connection to the sink holds at most one message in that window.
        self.assertLessEqual(duplicates, connections, "%d duplicates" % duplicates)
        print("\nSIGKILL after %d of %d acknowledged; %d delivered, %d duplicates"
              % (len(acknowledged), total, len(delivered), duplicates))
        self.assertTrue(set(delivered) <= set(range(total)))

    def test_sigkill_with_the_next_hop_down_loses_nothing(self):
        sink = self.sink(start=False)
        self.send_connector("Internet", "*", sink)
        recipients = ["k%d@remote.example" % i for i in range(5)]
        for rcpt in recipients:
            self.relay("alice@example.com", [rcpt], b"Subject: before the kill\r\n\r\nbody\r\n")
        self.wait_for_log("unreachable")
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait(timeout=15)
        self.daemon.log.close()
        sink.start()
        self.daemon.start()
        sink.wait_for(len(recipients), DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        # Nothing reached the sink before the kill, so nothing can be a duplicate: exactly once each.
        self.assertEqual(sorted(sink.recipients()), recipients)


class MxRoutingTest(RelayTestCase):
    """mx.test has two MX hosts: mx1 (preference 10) at 127.0.0.3, where nothing listens on the port,
    and mx2 (20) at 127.0.0.4, where the sink listens. DNS names no ports: the connector's Port is the
    sink's. a.test has no MX, only an address: the A fallback."""

    def setUp(self):
        self.dns_log = "/tmp/transportd-it-dnsmasq-%d.log" % os.getpid()
        self.mx_sink_port = None
        self.mx_sink_port = free_port("127.0.0.4")
        self.dns = Dnsmasq(["--mx-host=mx.test,mx1.mx.test,10", "--mx-host=mx.test,mx2.mx.test,20",
                            "--host-record=mx1.mx.test,127.0.0.3", "--host-record=mx2.mx.test,127.0.0.4",
                            "--host-record=a.test,127.0.0.4"], self.dns_log).start()
        try:
            super().setUp()
        except BaseException:
            self.dns.stop()
            raise

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.dns.stop()
            if os.path.exists(self.dns_log):
                os.unlink(self.dns_log)

    def daemon_args(self):
        return ["--dns-server", self.dns.server()]

    def test_the_lower_preference_mx_is_taken_when_the_first_is_down(self):
        sink = self.sink(host="127.0.0.4", port=self.mx_sink_port)
        self.assertFalse(can_connect(sink.port, host="127.0.0.3"), "mx1 must be down for this test")
        self.ok("new-sendconnector", "MX", "--address-spaces", "mx.test", "--port", str(sink.port))
        self.relay("alice@example.com", ["user@mx.test"], b"Subject: via MX\r\n\r\nbody\r\n")
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertEqual(got[0]["rcpt_tos"], ["user@mx.test"])
        self.wait_for_empty_queue()

    def test_a_domain_without_mx_falls_back_to_its_address(self):
        sink = self.sink(host="127.0.0.4", port=self.mx_sink_port)
        self.ok("new-sendconnector", "Direct", "--address-spaces", "a.test", "--port", str(sink.port))
        self.relay("alice@example.com", ["user@a.test"], b"Subject: via A\r\n\r\nbody\r\n")
        got = sink.wait_for(1, DELIVERY_DEADLINE)
        self.assertEqual(got[0]["rcpt_tos"], ["user@a.test"])
        self.wait_for_empty_queue()

    def test_a_domain_that_does_not_exist_fails_with_a_report(self):
        self.ok("new-sendconnector", "Nowhere", "--address-spaces", "nx.test")  # NXDOMAIN from dnsmasq
        self.relay("alice@example.com", ["user@nx.test"], b"Subject: to nowhere\r\n\r\nbody\r\n")
        _, _, groups, _ = self.report_for("alice@example.com")
        self.assertEqual([(g["final-recipient"].lower(), g["action"]) for g in groups],
                         [("rfc822;user@nx.test", "failed")])
        self.assertRegex(groups[0]["status"], r"^5\.")
        self.wait_for_empty_queue()

    def test_every_mx_down_keeps_the_message_queued(self):
        # Nothing listens on the connector's port at 127.0.0.3 or 127.0.0.4: a transient failure.
        self.ok("new-sendconnector", "MX", "--address-spaces", "mx.test", "--port", str(self.mx_sink_port))
        self.relay("alice@example.com", ["user@mx.test"], b"Subject: both MX down\r\n\r\nbody\r\n")
        self.wait_for_log("unreachable")
        self.assertEqual(len(queue_entries(self.data_dir)), 1)
        self.assertEqual(self.maildir("alice@example.com"), [])
        sink = self.sink(host="127.0.0.4", port=self.mx_sink_port)
        sink.wait_for(1, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()


def adminctl_has(command):
    r = adminctl(None, "--help", env_server=False)
    return command in (r.stdout + r.stderr)


@unittest.skipUnless(adminctl_has("get-queue"), "adminctl has no queue cmdlets yet (get-queue, retry-queue, ...)")
class QueueCmdletTest(RelayTestCase):
    """The queue viewer (DESIGN §11, docs/adminctl.md "Queues"). Retries are set ten minutes apart here,
    so only retry-queue (or a resume) can explain a delivery within the test's deadline."""

    def setUp(self):
        super().setUp()
        self.ok("set-transportserver", "--transient-failure-retry-interval", "00:10:00",
                "--outbound-connection-failure-retry-interval", "00:10:00")

    def rows(self, *args):
        return json.loads(self.ok(*(list(args) + ["--format", "json"])) or "[]")

    def relay_queue(self):
        """get-queue's row of the smart host's queue, or None while there is none."""
        rows = [q for q in self.rows("get-queue") if q["DeliveryType"] == "SmartHostConnectorDelivery"]
        return rows[0] if len(rows) == 1 else None

    def message_row(self, recipient):
        rows = [m for m in self.rows("get-message") if recipient in m["Recipients"]]
        self.assertEqual(len(rows), 1, "get-message rows for %s: %s" % (recipient, rows))
        return rows[0]

    def down_with_messages(self, *recipients):
        sink = self.sink(start=False)
        self.send_connector("Internet", "*", sink)
        for rcpt in recipients:
            self.relay("alice@example.com", [rcpt], b"Subject: for " + rcpt.encode() + b"\r\n\r\nbody\r\n")
        self.wait(lambda: (self.relay_queue() or {}).get("Status") == "Retry", DELIVERY_DEADLINE,
                  "the smart host's queue in Retry")
        return sink

    def test_get_queue_shows_retry_and_retry_queue_delivers_once_the_hop_is_back(self):
        sink = self.down_with_messages("q1@remote.example", "q2@remote.example")
        queue = self.relay_queue()
        self.assertEqual(queue["MessageCount"], 2)
        self.assertEqual(queue["Identity"], HOST + "\\" + queue["NextHopDomain"])
        self.assertTrue(queue["LastError"], queue)  # why: the connection to the sink failed
        self.assertRegex(queue["LastError"].lower(), r"refused|connect|unreachable|127\.0\.0\.1")
        retry_at = datetime.datetime.fromisoformat(queue["NextRetryTime"].replace("Z", "+00:00"))
        ahead = (retry_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(500 < ahead <= 605, "NextRetryTime %s is %.0f s ahead" % (queue["NextRetryTime"], ahead))
        for rcpt in ("q1@remote.example", "q2@remote.example"):
            row = self.message_row(rcpt)
            self.assertEqual(row["FromAddress"], "alice@example.com")
            self.assertEqual(row["Queue"], queue["Identity"])
            self.assertEqual(row["Status"], "Retry")
        sink.start()
        self.ok("retry-queue", queue["Identity"])
        sink.wait_for(2, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        self.assertEqual(sorted(sink.recipients()), ["q1@remote.example", "q2@remote.example"])
        self.assertIsNone(self.relay_queue())

    def test_suspend_and_resume_a_message(self):
        sink = self.down_with_messages("held@remote.example", "free@remote.example")
        # A suspended message moves to HOST\\Submission, so its full identity changes: the bare id stays.
        held = self.message_row("held@remote.example")["Identity"].rsplit("\\", 1)[1]
        self.ok("suspend-message", held)
        self.assertEqual(self.message_row("held@remote.example")["Status"], "Suspended")
        sink.start()
        self.ok("retry-queue", self.relay_queue()["Identity"])
        sink.wait_for(1, DELIVERY_DEADLINE)
        self.wait(lambda: len(queue_entries(self.data_dir)) == 1, DELIVERY_DEADLINE, "the free message to go")
        self.assertEqual(sink.recipients(), ["free@remote.example"], "the suspended message stays")
        self.ok("resume-message", held)
        sink.wait_for(2, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()
        self.assertEqual(sorted(sink.recipients()), ["free@remote.example", "held@remote.example"])

    def test_a_suspended_queue_delivers_nothing_until_resumed(self):
        sink = self.down_with_messages("parked@remote.example")
        identity = self.relay_queue()["Identity"]
        self.ok("suspend-queue", identity)
        self.assertEqual(self.relay_queue()["Status"], "Suspended")
        sink.start()
        # "Try now" and a short retry interval: neither may deliver while the queue is suspended.
        self.ok("retry-queue", identity)
        self.ok("set-transportserver", "--outbound-connection-failure-retry-interval", "00:00:01")
        time.sleep(2)  # a bounded window in which a retry would have delivered it
        self.assertEqual(sink.messages(), [])
        self.assertEqual(self.relay_queue()["Status"], "Suspended")
        self.ok("resume-queue", identity)  # then the pending "try now" goes
        sink.wait_for(1, DELIVERY_DEADLINE)
        self.wait_for_empty_queue()

    def test_remove_message_with_and_without_a_report(self):
        self.down_with_messages("silent@remote.example", "reported@remote.example")
        self.ok("remove-message", self.message_row("silent@remote.example")["Identity"], "--with-ndr", "false",
                "--confirm=false")
        self.ok("remove-message", self.message_row("reported@remote.example")["Identity"], "--confirm=false")
        _, report, groups, _ = self.report_for("alice@example.com")
        self.assertEqual([g["final-recipient"].lower() for g in groups], ["rfc822;reported@remote.example"])
        self.assertEqual(groups[0]["action"], "failed")
        self.wait_for_empty_queue()
        self.assertEqual(len(self.maildir("alice@example.com")), 1, "no report for the one removed without")
        self.assertIsNone(self.relay_queue())

    def test_an_unknown_identity_exits_1(self):
        r = self.ctl("retry-queue", HOST + "\\no.such.hop")
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.ctl("suspend-message", "0000000000000000-0")
        self.assertEqual(r.returncode, 1, r.stderr)

class ReceivingPostfix(PrivatePostfix):
    """A private Postfix that receives from us on its loopback port with STARTTLS offered (a self-signed
    pair), and relays what it accepts on to a sink (its relayhost), so the test sees what it took."""

    def __init__(self, base, relay_port, cert, key):
        super().__init__(base, relay_port)
        self.cert, self.key = cert, key

    def configure(self):
        super().configure()
        with open(os.path.join(self.etc, "main.cf"), "a") as f:  # later lines override earlier ones
            f.write("\n".join([
                "smtpd_tls_cert_file = " + self.cert,
                "smtpd_tls_key_file = " + self.key,
                "smtpd_tls_security_level = may",
                "smtpd_tls_loglevel = 1",
                "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
            ]) + "\n")


@unittest.skipIf(postfix_unavailable(), postfix_unavailable() or "")
class PostfixNextHopTest(RelayTestCase):
    def test_postfix_takes_what_we_relay_over_starttls(self):
        final = self.sink("final")  # where Postfix sends what it accepted from us
        cert, key = make_pair(self.tmp.name, "postfix")
        postfix = ReceivingPostfix(os.path.join(self.tmp.name, "postfix"), final.port, cert, key)
        self.peers.append(postfix)
        try:
            postfix.start()
        except BaseException:
            postfix.stop()
            raise
        # RequireTLS: without STARTTLS the message would wait in the queue, never go in clear text.
        self.ok("new-sendconnector", "Via Postfix", "--address-spaces", "*",
                "--smart-hosts", "127.0.0.1:%d" % postfix.port, "--require-tls", "true")
        # Complete headers, so that Postfix adds none of its own (Date:, To:) and the rest is comparable.
        original = (b"From: alice@example.com\r\nTo: friend@remote.example\r\nDate: Mon, 30 Nov 2026 01:00:00 +0000\r\n"
                    b"Subject: through Postfix\r\nMessage-ID: <pf-1@example.com>\r\n\r\nbody\r\n")
        self.relay("alice@example.com", ["friend@remote.example", "other@remote.example"], original)
        try:
            got = final.wait_for(1, 60 * TIME_FACTOR, "messages relayed by Postfix")
        except AssertionError:
            raise AssertionError("Postfix did not pass it on; its log:\n" + postfix.log() + "\nours:\n"
                                 + self.daemon.read_log()[-3000:])
        self.wait_for_empty_queue()
        self.assertEqual(sorted(r for m in got for r in m["rcpt_tos"]),
                         ["friend@remote.example", "other@remote.example"])
        received, rest = split_received(got[0]["data"])
        self.assertEqual(len(received), 2, received)  # Postfix's, then ours
        self.assertIn(b"by relay.postfix.test (Postfix) with ESMTPS", received[0])  # S: over TLS
        self.assertIn(b"by " + HOST.lower().encode(), received[1].lower())
        self.assertEqual(rest, original)
        self.assertRegex(postfix.log(), r"(Anonymous|Untrusted|Trusted) TLS connection established from")


if __name__ == "__main__":
    unittest.main()
