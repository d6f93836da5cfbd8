"""The queue cmdlets end to end (issue #11, DESIGN §11, Exchange 2007's queue viewer): a real transportd
relays through a send connector whose smart host does not answer, so the message waits in a queue in
Retry; adminctl shows the queue and the message, suspends and resumes them, retry-queue delivers it once
a sink listens there, and remove-message drops messages with and without a non-delivery report to the
(local) sender. Every wait has a deadline."""
import datetime
import glob
import json
import os
import smtplib
import unittest

from harness import HOST, TIME_FACTOR, DaemonTestCase, wait_until
from relay_peers import SinkServer, sink_unavailable
from test_smtp import DEFAULT, can_connect

TRUSTED_SOURCE = "127.0.0.2"  # the Apps connector's RemoteIPRanges: relaying is allowed from here
SENDER = "alice@example.com"
DEADLINE = 20 * TIME_FACTOR


@unittest.skipIf(sink_unavailable(), sink_unavailable() or "")
class QueueCmdletsTest(DaemonTestCase):
    """example.com is ours (alice has a mailbox); everything else goes to a smart host where nothing
    listens until a test starts the sink there. A queue in Retry waits an hour, so only retry-queue
    can make it try again within a test."""

    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com", "--default", "true")
        r = self.ctl("new-mailbox", SENDER, "--password-stdin", input="correct horse battery\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.ok("new-receiveconnector", "Apps", "--bindings", "127.0.0.1:%d" % self.port,
                "--remote-ip-ranges", TRUSTED_SOURCE, "--auth-mechanism", "ExternalAuthoritative",
                "--permission-groups", "ExchangeServers")
        self.ok("set-transportserver", "--outbound-connection-failure-retry-interval", "01:00:00")
        # Not started: its port is reserved, and nothing listens there yet.
        self.sink = SinkServer(os.path.join(self.tmp.name, "sink"))
        self.ok("new-sendconnector", "Internet", "--address-spaces", "*",
                "--smart-hosts", "127.0.0.1:%d" % self.sink.port)
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")

    def tearDown(self):
        try:
            self.sink.stop()
        finally:
            super().tearDown()

    # --- helpers

    def send(self, recipients, subject):
        message = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\n\r\nqueued for the queue cmdlets\r\n"
                   % (SENDER, ", ".join("<%s>" % r for r in recipients), subject))
        with smtplib.SMTP("127.0.0.1", self.port, source_address=(TRUSTED_SOURCE, 0), timeout=30) as client:
            refused = client.sendmail(SENDER, recipients, message)
        self.assertEqual(refused, {})

    def json_of(self, *args):
        return json.loads(self.ok(*(list(args) + ["--format", "json"])) or "[]")

    def queues(self):
        return self.json_of("get-queue", "--select", "*")

    def messages(self, *args):
        return self.json_of("get-message", "--select", "*", *args)

    def wait(self, predicate, what, timeout=DEADLINE):
        """wait_until, with the end of transportd's log on timeout."""
        try:
            wait_until(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError("%s\ntransportd's log ends:\n%s" % (e, self.daemon.read_log()[-3000:])) from None

    def wait_for_retry(self, count):
        """The one queue, once it is in Retry with `count` messages."""
        def in_retry():
            queues = self.queues()
            return len(queues) == 1 and queues[0]["Status"] == "Retry" and queues[0]["MessageCount"] == count
        self.wait(in_retry, "the smart host's queue in Retry with %d message(s)" % count)
        return self.queues()[0]

    def maildir(self, address):
        return sorted(glob.glob(os.path.join(self.data_dir, "mailboxes", address, "Maildir", "new", "*")))

    def message_status(self, message_id):
        """The Status of each row of the message: a suspended message leaves its queue for
        HOST\\Submission, so its full identity changes and the bare id is what names it."""
        return [m["Status"] for m in self.messages() if m["Identity"].endswith("\\" + message_id)]

    # --- tests

    def test_a_queue_in_retry_is_shown_acted_on_and_retried_into_delivery(self):
        self.send(["bob@far.example", "carol@far.example"], "retry me")
        queue = self.wait_for_retry(1)
        identity = queue["Identity"]
        self.assertTrue(identity.startswith(HOST + "\\"), queue)
        self.assertEqual(identity, HOST + "\\" + queue["NextHopDomain"])
        self.assertEqual(queue["DeliveryType"], "SmartHostConnectorDelivery", queue)
        error = queue["LastError"].lower()
        self.assertTrue("refused" in error or "connect" in error, queue)
        retry_at = datetime.datetime.strptime(queue["NextRetryTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
        now = datetime.datetime.utcnow()
        self.assertGreater(retry_at, now + datetime.timedelta(minutes=30), "an hour's wait: %s" % queue)

        # The same queue by its bare NextHopDomain and by a glob; an unknown one is refused.
        self.assertEqual(self.ok("get-queue", queue["NextHopDomain"], "--format", "name").strip(), identity)
        self.assertEqual(self.ok("Get-Queue", "-Identity", "*", "--format", "name").strip(), identity)
        self.refused("get-queue", "nowhere.invalid", expect_in=("nowhere.invalid",))
        self.refused("retry-queue", HOST + "\\nowhere.invalid")

        [message] = self.messages()
        self.assertEqual(message["FromAddress"], SENDER)
        self.assertEqual(sorted(message["Recipients"]), ["bob@far.example", "carol@far.example"])
        self.assertEqual(message["Queue"], identity)
        self.assertTrue(message["Identity"].startswith(identity + "\\"), message)
        self.assertNotEqual(message["DateReceived"], "")
        self.assertNotEqual(message["ExpirationTime"], "")
        self.assertEqual(self.messages("--queue", identity), [message])
        self.assertEqual(self.messages("--queue", queue["NextHopDomain"]), [message])
        self.refused("get-message", "--queue", "nowhere.invalid")

        # suspend-/resume-message change its Status (by its full identity, then by its bare id);
        # suspend-/resume-queue the queue's.
        message_id = message["Identity"].rsplit("\\", 1)[1]
        self.ok("suspend-message", message["Identity"])
        self.assertEqual(self.message_status(message_id), ["Suspended"])
        [suspended] = self.messages("--queue", HOST + "\\Submission")
        self.assertEqual(suspended["Identity"], HOST + "\\Submission\\" + message_id)
        self.ok("resume-message", message_id)
        self.assertNotIn("Suspended", self.message_status(message_id))
        self.wait_for_retry(1)  # back in its queue, which tried the next hop again
        self.ok("Suspend-Queue", "-Identity", identity)
        self.assertEqual(self.queues()[0]["Status"], "Suspended")
        self.ok("resume-queue", queue["NextHopDomain"])
        self.assertNotEqual(self.queues()[0]["Status"], "Suspended")
        self.refused("suspend-message", "no-such-message-id")

        # The next hop comes up; retry-queue makes the queue try now instead of in an hour.
        self.sink.start()
        self.ok("retry-queue", identity)
        [delivered] = self.sink.wait_for(1, DEADLINE, "the retried message at the sink")
        self.assertEqual(sorted(delivered["rcpt_tos"]), ["bob@far.example", "carol@far.example"])
        self.assertEqual(len(glob.glob(os.path.join(self.sink.directory, "*.json"))), 1)
        self.wait(lambda: self.messages() == [], "the message to leave the queue")
        self.assertEqual(self.maildir(SENDER), [], "no report to the sender of a delivered message")

    def test_remove_message_with_and_without_a_non_delivery_report(self):
        self.send(["quiet@far.example"], "removed silently")
        self.send(["loud@far.example"], "removed with a report")
        self.wait_for_retry(2)
        by_recipient = {m["Recipients"][0]: m["Identity"] for m in self.messages()}
        self.assertEqual(sorted(by_recipient), ["loud@far.example", "quiet@far.example"])

        # Several at once need a confirmation, and there is no terminal to ask on: nothing goes.
        self.refused("remove-message", "*", code=2, expect_in=("--confirm",))
        self.assertEqual(len(self.messages()), 2)
        # --what-if names them and removes nothing.
        what_if = self.ok("remove-message", "*", "--what-if")
        for identity in by_recipient.values():
            self.assertIn(identity, what_if)
        self.assertEqual(len(self.messages()), 2)

        self.ok("remove-message", by_recipient["quiet@far.example"], "--with-ndr", "false")
        self.assertEqual([m["Identity"] for m in self.messages()], [by_recipient["loud@far.example"]])
        self.ok("Remove-Message", "-Identity", by_recipient["loud@far.example"], "-WithNDR:$true", "-Confirm:$false")
        self.wait(lambda: self.maildir(SENDER), "the non-delivery report in %s's Maildir" % SENDER)
        self.wait(lambda: self.messages() == [], "the queue to empty")
        # Exactly one report, for the message removed with one: the first went silently.
        [report_path] = self.maildir(SENDER)
        with open(report_path, "rb") as f:
            report = f.read()
        self.assertIn(b"loud@far.example", report)
        self.assertNotIn(b"quiet@far.example", report)
        self.assertEqual(glob.glob(os.path.join(self.sink.directory, "*.json")), [])
        self.refused("remove-message", by_recipient["loud@far.example"])


if __name__ == "__main__":
    unittest.main()
