"""Operations end to end: message tracking through adminctl, Prometheus metrics and health over real
HTTP, version and configuration check flags."""
import json
import re
import socket
import subprocess
import urllib.error
import urllib.request

from harness import HOST, TRANSPORTD, DaemonTestCase, free_port, wait_until
from smtp_client import RawSmtp
from test_smtp import DEFAULT, can_connect


def scrape(port, path="/metrics"):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text):
    """Prometheus text format → {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def value(metrics, name, **labels):
    for key, v in metrics.items():
        if key.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', key))
        if all(found.get(k) == v_ for k, v_ in labels.items()):
            return v
    return 0.0


class OperationsTest(DaemonTestCase):
    def daemon_args(self):
        self.metrics_port = free_port()
        return ["--metrics-listen", "127.0.0.1:%d" % self.metrics_port]

    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        self.ok("new-mailbox", "alice@example.com")
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:01")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")

    def transaction(self):
        with RawSmtp(self.port) as c:
            c.reply()
            c.command("EHLO client.test")
            c.command("MAIL FROM:<sender@remote.test>")
            self.assertEqual(c.command("RCPT TO:<nobody@example.com>")[0], 550)
            self.assertEqual(c.command("RCPT TO:<alice@example.com>")[0], 250)
            c.command("DATA")
            c.send("Message-ID: <track-me@remote.test>\r\nSubject: tracked\r\n\r\nbody\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            c.command("QUIT")

    def test_tracking_log_has_fail_for_unknown_and_deliver_for_valid(self):
        self.transaction()
        failed = json.loads(self.ok("get-messagetrackinglog", "--recipient", "nobody@example.com", "--format", "json"))
        self.assertEqual([e["EventId"] for e in failed], ["FAIL"])
        self.assertTrue(failed[0]["RecipientStatus"].startswith("550 5.1.1"), failed[0])
        self.assertEqual(failed[0]["Sender"], "sender@remote.test")
        self.assertEqual(failed[0]["ClientIp"], "127.0.0.1")
        good = json.loads(self.ok("get-messagetrackinglog", "--recipient", "alice@example.com", "--format", "json"))
        self.assertEqual(sorted(e["EventId"] for e in good), ["DELIVER", "RECEIVE"])
        self.assertTrue(all(e["MessageId"].strip("<>") == "track-me@remote.test" for e in good), good)
        self.restart()  # the tracking database outlives the process
        self.assertEqual(len(json.loads(self.ok("get-messagetrackinglog", "--format", "json"))), 3)

    def test_metrics_move_by_the_right_amounts(self):
        # setUp's connection probe is a session too: let it be counted and closed before the first reading.
        def settled():
            m = samples(scrape(self.metrics_port)[1])
            return (value(m, "transportd_sessions_total", connector=DEFAULT) >= 1
                    and value(m, "transportd_sessions_open", connector=DEFAULT) == 0)
        wait_until(settled, 5, "the probe session to be counted and closed")
        status, before_text = scrape(self.metrics_port)
        self.assertEqual(status, 200)
        before = samples(before_text)
        self.transaction()
        after = samples(scrape(self.metrics_port)[1])
        connector = DEFAULT

        def delta(name, **labels):
            return value(after, name, connector=connector, **labels) - value(before, name, connector=connector, **labels)

        self.assertEqual(delta("transportd_sessions_total"), 1)
        self.assertEqual(delta("transportd_tarpit_waits_total"), 1)
        self.assertGreaterEqual(delta("transportd_tarpit_seconds_total"), 0.95)
        self.assertEqual(delta("transportd_rejected_recipients_total", reason="unknown_user"), 1)
        self.assertEqual(delta("transportd_messages_delivered_total"), 1)
        self.assertEqual(delta("transportd_replies_total", **{"class": "5xx"}), 1)
        self.assertIn("transportd_build_info", after_text_names(after))

    def test_healthz_fails_when_a_listener_cannot_bind(self):
        self.assertEqual(scrape(self.metrics_port, "/healthz")[0], 200)
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        try:
            self.ok("new-receiveconnector", "Busy", "--bindings", "127.0.0.1:%d" % blocker.getsockname()[1])
            wait_until(lambda: scrape(self.metrics_port, "/healthz")[0] == 503, 5, "/healthz to report the failure")
            self.ok("remove-receiveconnector", "Busy", "--confirm=false")  # its Binding's last connector
            wait_until(lambda: scrape(self.metrics_port, "/healthz")[0] == 200, 5, "/healthz to recover")
        finally:
            blocker.close()


def after_text_names(metrics):
    return {key.split("{")[0] for key in metrics}


class FlagsTest(DaemonTestCase):
    def test_version_and_check_config(self):
        r = subprocess.run([TRANSPORTD, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^transportd \d+\.\d+\.\d+")
        self.assertEqual(self.daemon.stop(), 0)
        r = subprocess.run([TRANSPORTD, "--data-dir", self.data_dir, "--check-config"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("is valid", r.stdout)
        self.daemon.start()

    def test_get_transportserver_shows_version_listeners_and_counters(self):
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")
        server = json.loads(self.ok("get-transportserver", "--format", "json"))
        self.assertIsInstance(server, dict, server)
        self.assertEqual(server["Name"], HOST)
        self.assertRegex(server["Version"], r"^\d+\.\d+\.\d+")
        self.assertRegex(server["Uptime"], r"^(\d+\.)?\d\d:\d\d:\d\d$")
        self.assertGreaterEqual(server["OpenSessions"], 0)
        self.assertGreaterEqual(server["TarpittedSessions"], 0)
        self.assertIn("127.0.0.1:%d listening" % self.port, server["Listeners"])
        self.assertTrue(any(s.startswith(DEFAULT + ": ") for s in server["ConnectorSessions"]),
                        server["ConnectorSessions"])


class ProtocolLogTest(DaemonTestCase):
    PASSWORD = "never-in-a-log-7"

    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        r = self.ctl("new-mailbox", "alice@example.com", "--password-stdin", input=self.PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:01", "--protocol-logging-level", "Verbose",
                "--auth-mechanism", "Tls,BasicAuth")  # AUTH without TLS, to see it masked in the log
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")

    def log_rows(self):
        import csv
        import glob
        import os
        rows = []
        for path in sorted(glob.glob(os.path.join(self.data_dir, "logs", "protocol", "RECV*.LOG"))):
            with open(path, newline="") as f:
                text = f.read()
            self.assertIn("#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"
                          "remote-endpoint,event,data,context", text)
            rows += [r for r in csv.reader(line for line in text.splitlines() if not line.startswith("#"))]
        return rows

    def test_tarpitted_session_is_logged_without_secrets_or_content(self):
        import base64
        with RawSmtp(self.port) as c:
            c.reply()
            c.command("EHLO client.test")
            token = base64.b64encode(("\0alice@example.com\0" + self.PASSWORD).encode()).decode()
            self.assertEqual(c.command("AUTH PLAIN " + token)[0], 235)
            c.command("RSET")
        with RawSmtp(self.port) as c:
            c.reply()
            c.command("EHLO client.test")
            c.command("MAIL FROM:<s@remote.test>")
            self.assertEqual(c.command("RCPT TO:<nobody@example.com>")[0], 550)
            c.command("RCPT TO:<alice@example.com>")
            c.command("DATA")
            c.send("Subject: secret body\r\n\r\nTOP-SECRET-CONTENT, with \"quotes\"\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            c.command("QUIT")
        def data_session_closed():
            rows = self.log_rows()
            data = {r[2] for r in rows if r[7].startswith("<DATA ")}
            return bool(data) and any(r[2] in data and r[6] == "-" for r in rows)
        wait_until(data_session_closed, 5, "the whole session in the log")
        rows = self.log_rows()
        self.assertTrue(all(len(r) == 9 for r in rows), rows)
        everything = "\n".join(",".join(r) for r in rows)
        self.assertNotIn(self.PASSWORD, everything)
        self.assertNotIn(base64.b64encode(("\0alice@example.com\0" + self.PASSWORD).encode()).decode(), everything)
        self.assertNotIn("TOP-SECRET-CONTENT", everything)
        self.assertIn("AUTH PLAIN ****", everything)
        self.assertTrue(any(r[7].startswith("<DATA ") for r in rows), everything)
        tarpit = [i for i, r in enumerate(rows) if r[6] == "*" and r[7] == "tarpit 00:00:01"]
        self.assertEqual(len(tarpit), 1, everything)
        after = rows[tarpit[0] + 1:]
        delayed = next(r for r in after if r[6] == ">")
        self.assertTrue(delayed[7].startswith("550 5.1.1"), delayed)
        self.assertEqual(rows[tarpit[0]][0][:4], delayed[0][:4])
        self.assertTrue(all(r[1] == HOST + "\\" + DEFAULT for r in rows))
        sessions = {r[2] for r in rows if r[6] == "<"}  # (setUp's connection probe sent nothing)
        self.assertEqual(len(sessions), 2)
        self.assertTrue(all(re.fullmatch(r"[0-9A-F]{16}", s) for s in sessions))
