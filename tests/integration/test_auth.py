"""STARTTLS, SMTP AUTH, permission groups and trusted connectors, end to end: real daemon, real TLS,
swaks and smtplib as clients. Tarpit timings use whole seconds with margins."""
import asyncio
import base64
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time

from harness import HOST, TIME_FACTOR, DaemonTestCase, free_port, wait_until
from relay_peers import queue_entries
from smtp_client import RawSmtp
from test_smtp import DEFAULT, can_connect

PASSWORD = "correct horse battery"


def client_tls_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the server's self-signed default certificate
    return context


def make_pair(directory, name):
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + name],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class AuthTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        self.ctl_ok_stdin("new-mailbox", "alice@example.com", "--password-stdin", stdin=PASSWORD + "\n")
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:02")
        wait_until(lambda: can_connect(self.port), 5, "the SMTP listener")

    def ctl_ok_stdin(self, *args, stdin):
        r = self.ctl(*args, input=stdin)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def smtp(self, port=None, source="127.0.0.1", tls=True):
        client = smtplib.SMTP("127.0.0.1", port or self.port, timeout=60, source_address=(source, 0))
        client.ehlo("client.test")
        if tls:
            client.starttls(context=client_tls_context())
            client.ehlo("client.test")
        return client

    def timed(self, call, *args):
        begin = time.monotonic()
        result = call(*args)
        return result, time.monotonic() - begin


class AuthenticationTest(AuthTestCase):
    def test_authenticated_sessions_are_never_tarpitted_anonymous_ones_are(self):
        for mechanism in ["PLAIN", "LOGIN"]:
            with self.subTest(mechanism=mechanism), self.smtp() as client:
                self.assertIn("AUTH", client.ehlo_resp.decode())
                client.user, client.password = "alice@example.com", PASSWORD
                code, _ = client.auth(mechanism, getattr(client, "auth_" + mechanism.lower()))
                self.assertEqual(code, 235)
                client.mail("s@remote.test")
                (code, text), took = self.timed(client.rcpt, "nobody@example.com")
                self.assertEqual(code, 550)
                self.assertIn(b"5.1.1", text)
                self.assertLess(took, 0.5)
        with self.smtp() as client:
            client.mail("s@remote.test")
            (code, _), took = self.timed(client.rcpt, "nobody@example.com")
            self.assertEqual(code, 550)
            self.assertGreaterEqual(took, 1.9)

    def test_swaks_with_tls_and_auth_delivers(self):
        swaks = shutil.which("swaks")
        for mechanism in ["PLAIN", "LOGIN"]:
            with self.subTest(mechanism=mechanism):
                r = subprocess.run([swaks, "--server", "127.0.0.1", "--port", str(self.port), "--tls",
                                    "--auth", mechanism, "--auth-user", "alice@example.com",
                                    "--auth-password", PASSWORD, "--from", "alice@example.com",
                                    "--to", "alice@example.com", "--header", "Subject: swaks " + mechanism],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("235 2.7.0", r.stdout)
        maildir = os.path.join(self.data_dir, "mailboxes", "alice@example.com", "Maildir", "new")
        self.assertEqual(len(os.listdir(maildir)), 2)

    def test_wrong_passwords_are_tarpitted_then_disconnected_and_unknown_users_look_the_same(self):
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:01")
        timings = {}
        for user in ["alice@example.com", "ghost@example.com"]:
            with self.smtp() as client:
                replies = []
                for attempt in range(4):
                    token = base64.b64encode(("\0%s\0wrong-%d" % (user, attempt)).encode()).decode()
                    begin = time.monotonic()
                    try:
                        replies.append(client.docmd("AUTH", "PLAIN " + token))
                    except smtplib.SMTPServerDisconnected:
                        replies.append((None, b"disconnected"))
                    timings.setdefault(user, []).append(time.monotonic() - begin)
                self.assertEqual([code for code, _ in replies[:3]], [535, 535, 535], replies)
                self.assertIn(b"5.7.8", replies[0][1])
                self.assertEqual(replies[3][0], 421, replies)
                self.assertTrue(min(timings[user][:3]) >= 0.95, timings)
        # Same replies, and the same time within a margin, for a user that exists and one that does not.
        known, unknown = timings["alice@example.com"], timings["ghost@example.com"]
        self.assertLess(abs(sum(known[:3]) / 3 - sum(unknown[:3]) / 3), 0.3 * TIME_FACTOR, timings)

    def test_tls_requirements(self):
        # The default AuthMechanism has BasicAuthRequireTLS: no AUTH before STARTTLS.
        with self.smtp(tls=False) as client:
            self.assertNotIn("AUTH", client.ehlo_resp.decode().upper().replace("STARTTLS", ""))
            code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice@example.com\0x").decode())
            self.assertEqual(code, 538)
        self.ok("set-receiveconnector", DEFAULT, "--require-tls", "true", "--tarpit-interval", "00:00:00")
        with self.smtp(tls=False) as client:
            code, text = client.mail("s@remote.test")
            self.assertEqual(code, 530)
            self.assertIn(b"5.7.0", text)
        with self.smtp(tls=True) as client:
            self.assertEqual(client.mail("s@remote.test")[0], 250)

    def test_commands_pipelined_behind_starttls_are_not_run(self):
        with RawSmtp(self.port) as c:
            c.reply()
            c.command("EHLO client.test")
            c.send("STARTTLS\r\nRSET\r\nHELP\r\n")  # one packet: the injection attempt
            code, _ = c.reply()
            self.assertEqual(code, 220)
            tls = client_tls_context().wrap_socket(c.sock, server_hostname="mail.test")
            tls.settimeout(10)
            tls.sendall(b"EHLO client.test\r\n")
            first = b""
            while b"\r\n" not in first:
                first += tls.recv(4096)
            # If RSET or HELP had run inside TLS, their replies (250 2.0.0 / 214) would come first.
            self.assertTrue(first.startswith(b"250-"), first)
            self.assertNotIn(b"214", first)
            tls.close()


class ConnectorKindsTest(AuthTestCase):
    def test_trusted_connector_never_delays_and_needs_no_auth(self):
        self.ok("new-receiveconnector", "Trusted", "--usage", "Trusted", "--bindings", "127.0.0.1:%d" % self.port,
                "--remote-ip-ranges", "127.0.0.2", "--tarpit-interval", "00:00:02")
        got = json.loads(self.ok("get-receiveconnector", "Trusted", "--format", "json"))[0]
        self.assertIn("ExternalAuthoritative", got["AuthMechanism"])
        # Exactly what the daemon answers a trusted host: authenticated from the start (no AUTH offered,
        # nothing held), allowed to relay, but with no send connector yet a foreign domain has no route:
        # 550 5.4.4 at once, never 250 and parked. Local recipients are checked as for anyone.
        with RawSmtp(self.port, source="127.0.0.2") as c:
            self.assertEqual(c.reply()[0], 220)
            code, text, _ = c.command("EHLO client.test")
            self.assertEqual(code, 250)
            self.assertNotIn("AUTH", text)
            expected = [
                ("MAIL FROM:<s@remote.test>", 250, "2.1.0"),
                ("RCPT TO:<victim@elsewhere.test>", 550, "5.4.4"),
                ("RCPT TO:<nobody@example.com>", 550, "5.1.1"),
                ("RCPT TO:<alice@example.com>", 250, "2.1.5"),
                ("VRFY alice", 252, "2.5.0"),
                ("FROBNICATE", 500, "5.5.1"),
                ("DATA", 354, ""),
            ]
            for line, want_code, want_enhanced in expected:
                code, text, took = c.command(line)
                self.assertEqual((code, text[:len(want_enhanced)]), (want_code, want_enhanced), line + ": " + text)
                self.assertLess(took, 0.5, line)
            c.send("Subject: from a trusted host\r\n\r\nhello\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
        mailboxes = os.path.join(self.data_dir, "mailboxes")
        self.assertEqual(len(os.listdir(os.path.join(mailboxes, "alice@example.com", "Maildir", "new"))), 1)
        self.assertFalse(os.path.exists(os.path.join(mailboxes, "_unroutable")), "nothing parked")
        # Refused at RCPT, so nothing was queued for them and no report is due: the queue (written before
        # the 250 when anything is queued) is empty.
        self.assertEqual(queue_entries(self.data_dir), [])

    def test_connector_without_anonymous_users_refuses_anonymous_mail(self):
        self.ok("set-receiveconnector", DEFAULT, "--permission-groups", "ExchangeUsers", "--tarpit-interval", "00:00:00")
        with self.smtp() as client:
            code, text = client.mail("s@remote.test")
            self.assertEqual(code, 530)
            self.assertIn(b"5.7.1", text)
            client.rset()
            client.user, client.password = "alice@example.com", PASSWORD
            self.assertEqual(client.auth("PLAIN", client.auth_plain)[0], 235)
            self.assertEqual(client.mail("alice@example.com")[0], 250)

    def test_auth_floods_do_not_slow_other_sessions(self):
        self.ok("set-receiveconnector", DEFAULT, "--max-inbound-connection-per-source", "unlimited",
                "--max-inbound-connection", "unlimited", "--tarpit-interval", "00:00:00", "--max-logon-failures", "0")
        count = 200
        started = threading.Event()

        async def attacker(index):
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            await reader.readline()
            writer.write(b"EHLO flood.test\r\n")
            while not (await reader.readline()).startswith(b"250 "):
                pass
            writer.write(b"STARTTLS\r\n")
            await reader.readline()
            await writer.start_tls(client_tls_context())
            token = base64.b64encode(b"\0alice@example.com\0wrong%d" % index)
            writer.write(b"EHLO flood.test\r\nAUTH PLAIN " + token + b"\r\n")
            while not (await reader.readline()).startswith(b"250 "):
                pass
            reply = await reader.readline()
            writer.close()
            return reply[:3]

        async def flood():
            tasks = [asyncio.create_task(attacker(i)) for i in range(count)]
            await asyncio.sleep(1.0)  # the AUTH attempts are queued for verification by now
            started.set()
            return await asyncio.wait_for(asyncio.gather(*tasks), 120)

        outcome = {}
        runner = threading.Thread(target=lambda: outcome.update(replies=asyncio.run(flood())))
        runner.start()
        self.assertTrue(started.wait(60))
        begin = time.monotonic()
        with self.smtp(tls=False) as client:
            client.sendmail("s@remote.test", ["alice@example.com"], b"Subject: during a flood\r\n\r\nbody\r\n")
        took = time.monotonic() - begin
        runner.join(150)
        self.assertLess(took, 1.0 * TIME_FACTOR, "a plain transaction took %.2fs during an AUTH flood" % took)
        # Every attempt is refused: 535 once verified, or 454 4.7.0 (temporary) for the attempts beyond
        # the address's fair share of the verification queue (DESIGN §10).
        replies = outcome["replies"]
        self.assertEqual(len(replies), count)
        self.assertEqual(set(replies) - {b"535", b"454"}, set(), replies)
        self.assertGreaterEqual(replies.count(b"535"), 32, replies)


class CertificateTest(AuthTestCase):
    def presented_certificate(self):
        with RawSmtp(self.port) as c:
            c.reply()
            c.command("EHLO client.test")
            self.assertEqual(c.command("STARTTLS")[0], 220)
            tls = client_tls_context().wrap_socket(c.sock, server_hostname="mail.test")
            der = tls.getpeercert(binary_form=True)
            tls.close()
            return der

    def der_of(self, path):
        with open(path) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def test_default_pair_is_generated_and_a_new_pair_takes_effect_without_restart(self):
        default_cert = os.path.join(self.data_dir, "tls", "default.crt")
        self.assertEqual(self.presented_certificate(), self.der_of(default_cert))
        self.assertIn("self-signed", self.daemon.read_log())

        tmp = os.path.join(self.tmp.name, "certs")
        os.makedirs(tmp)
        alpha_cert, alpha_key = make_pair(tmp, "alpha")
        beta_cert, beta_key = make_pair(tmp, "beta")
        self.ok("set-receiveconnector", DEFAULT, "--tls-certificate-path", alpha_cert, "--tls-key-path", alpha_key)
        self.assertEqual(self.presented_certificate(), self.der_of(alpha_cert))

        # Replace the files in place, then touch the connector: the next session presents the new pair.
        shutil.copy(beta_cert, alpha_cert)
        shutil.copy(beta_key, alpha_key)
        self.ok("set-receiveconnector", DEFAULT, "--tls-certificate-path", alpha_cert, "--tls-key-path", alpha_key)
        self.assertEqual(self.presented_certificate(), self.der_of(beta_cert))

    def test_a_mismatched_or_missing_pair_is_refused_and_nothing_changes(self):
        tmp = os.path.join(self.tmp.name, "certs")
        os.makedirs(tmp)
        alpha_cert, _ = make_pair(tmp, "alpha")
        _, beta_key = make_pair(tmp, "beta")
        self.refused("set-receiveconnector", DEFAULT, "--tls-certificate-path", alpha_cert,
                     "--tls-key-path", beta_key, expect_in=["TlsKeyPath", "does not match"])
        self.refused("set-receiveconnector", DEFAULT, "--tls-certificate-path", os.path.join(tmp, "none.crt"),
                     "--tls-key-path", beta_key, expect_in=["TlsCertificatePath"])
        got = json.loads(self.ok("get-receiveconnector", DEFAULT, "--format", "json"))[0]
        self.assertEqual((got["TlsCertificatePath"], got["TlsKeyPath"]), ("", ""))
