"""Admin edits end to end: list edits, --what-if and confirmation, exit codes by kind of mistake,
warnings, test-receiveconnector's output, and the transport server's protocol log settings."""
import json
import os
import pty
import select
import subprocess
import time

from harness import ADMINCTL, HOST, DaemonTestCase, free_port

DEFAULT = "Default " + HOST


class ListEditTest(DaemonTestCase):
    def ranges(self, name=DEFAULT):
        rows = json.loads(self.ok("get-receiveconnector", name, "--select", "RemoteIPRanges", "--format", "json"))
        return rows[0]["RemoteIPRanges"]

    def test_add_and_remove_flags_edit_the_list_in_place(self):
        self.ok("set-receiveconnector", DEFAULT, "--remote-ip-ranges", "10.0.0.1,10.0.0.2,10.0.0.3")
        self.ok("set-receiveconnector", DEFAULT, "--add-remote-ip-ranges", "10.0.0.5,10.0.0.6",
                "--remove-remote-ip-ranges", "10.0.0.2")
        self.assertEqual(self.ranges(), ["10.0.0.1", "10.0.0.3", "10.0.0.5", "10.0.0.6"])
        # Exchange spelling, one dash, any case; an entry already there is kept once.
        self.ok("Set-ReceiveConnector", DEFAULT, "-Add-Remote-IP-Ranges", "10.0.0.1")
        self.assertEqual(self.ranges(), ["10.0.0.1", "10.0.0.3", "10.0.0.5", "10.0.0.6"])

    def test_exchange_hashtable_form(self):
        self.ok("set-receiveconnector", DEFAULT, "--remote-ip-ranges", "10.0.0.4,10.0.0.9")
        self.ok("set-receiveconnector", DEFAULT, "-RemoteIPRanges", '@{Add="10.0.0.5","10.0.0.6";Remove="10.0.0.4"}')
        self.assertEqual(self.ranges(), ["10.0.0.9", "10.0.0.5", "10.0.0.6"])
        self.ok("set-receiveconnector", DEFAULT, "--remote-ip-ranges", "@{remove='10.0.0.9'}")
        self.assertEqual(self.ranges(), ["10.0.0.5", "10.0.0.6"])
        self.refused("set-receiveconnector", DEFAULT, "--remote-ip-ranges", '@{Drop="10.0.0.5"}',
                     expect_in=["Add=", "Remove="], code=2)
        self.refused("new-receiveconnector", "X", "--bindings", "127.0.0.1:1",
                     "--remote-ip-ranges", '@{Add="10.0.0.5"}', code=2)

    def test_removing_an_entry_that_is_not_there_changes_nothing_and_warns(self):
        self.ok("set-receiveconnector", DEFAULT, "--remote-ip-ranges", "10.0.0.1")
        r = self.ctl("set-receiveconnector", DEFAULT, "--remove-remote-ip-ranges", "10.0.0.44")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning", r.stderr)
        self.assertIn("10.0.0.44", r.stderr)
        self.assertEqual(self.ranges(), ["10.0.0.1"])
        # Removal and addition in one command: removals first.
        self.ok("set-receiveconnector", DEFAULT, "--add-remote-ip-ranges", "10.0.0.2",
                "--remove-remote-ip-ranges", "10.0.0.1")
        self.assertEqual(self.ranges(), ["10.0.0.2"])

    def test_the_result_is_validated_as_a_whole(self):
        binding = "127.0.0.1:%d" % self.port
        self.ok("new-receiveconnector", "Lan", "--bindings", binding, "--remote-ip-ranges", "10.0.0.0/24")
        self.ok("set-receiveconnector", DEFAULT, "--remote-ip-ranges", "192.0.2.1")
        self.refused("set-receiveconnector", DEFAULT, "--add-remote-ip-ranges", "10.0.0.128-10.0.1.10",
                     expect_in=["Lan"])
        self.refused("set-receiveconnector", DEFAULT, "--add-remote-ip-ranges", "10.0.0.300",
                     expect_in=["RemoteIPRanges"])
        self.assertEqual(self.ranges(), ["192.0.2.1"])
        self.refused("set-receiveconnector", DEFAULT, "--remote-ip-ranges", "10.0.0.1",
                     "--add-remote-ip-ranges", "10.0.0.2", code=2)

    def test_every_list_property_can_be_edited(self):
        self.ok("set-receiveconnector", DEFAULT, "--add-bindings", "127.0.0.1:%d" % free_port())
        self.assertEqual(len(json.loads(self.ok("get-receiveconnector", "--format", "json"))[0]["Bindings"]), 2)
        self.ok("set-receiveconnector", DEFAULT, "--remove-permission-groups", "AnonymousUsers,ExchangeUsers")
        got = json.loads(self.ok("get-receiveconnector", "--format", "json"))[0]
        self.assertEqual(got["PermissionGroups"], ["None"])
        self.ok("set-receiveconnector", DEFAULT, "--add-permission-groups", "Partners")
        got = json.loads(self.ok("get-receiveconnector", "--format", "json"))[0]
        self.assertEqual(got["PermissionGroups"], ["Partners"])
        self.ok("set-receiveconnector", DEFAULT, "--remove-auth-mechanism", "BasicAuthRequireTLS")
        got = json.loads(self.ok("get-receiveconnector", "--format", "json"))[0]
        self.assertEqual(got["AuthMechanism"], ["Tls", "BasicAuth"])

        self.ok("new-mailbox", "alice@example.com", "--email-addresses", "al@example.com")
        self.ok("set-mailbox", "alice@example.com", "--add-email-addresses", "a.l@example.com",
                "--remove-email-addresses", "AL@example.com")
        box = json.loads(self.ok("get-mailbox", "--format", "json"))[0]
        self.assertEqual(box["EmailAddresses"], ["a.l@example.com"])

        self.ok("set-recipientfilterconfig", "--blocked-recipients", "ceo@example.com")
        self.ok("set-recipientfilterconfig", "--BlockedRecipients", '@{Add="cfo@example.com"}')
        cfg = json.loads(self.ok("get-recipientfilterconfig", "--format", "json"))
        self.assertEqual(cfg["BlockedRecipients"], ["ceo@example.com", "cfo@example.com"])


class WhatIfAndConfirmTest(DaemonTestCase):
    def names(self):
        return sorted(self.ok("get-receiveconnector", "--format", "name").split("\n")[:-1])

    def test_what_if_shows_the_change_and_changes_nothing(self):
        before = self.ok("get-receiveconnector", "--format", "json")
        out = self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:09", "--what-if")
        self.assertIn("What if", out)
        self.assertRegex(out, r"TarpitInterval\s+: 00:00:09")
        out = self.ok("new-receiveconnector", "Extra", "--bindings", "127.0.0.1:%d" % free_port(), "-WhatIf")
        self.assertIn("Extra", out)
        out = self.ok("remove-receiveconnector", "*", "--what-if")
        self.assertIn("would remove " + HOST + "\\" + DEFAULT, out)
        self.assertIn("127.0.0.1:%d" % self.port, out)
        self.assertEqual(self.ok("get-receiveconnector", "--format", "json"), before)

    def test_an_invalid_what_if_fails_like_the_real_change(self):
        real = self.refused("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:15:00")
        dry = self.refused("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:15:00", "--what-if")
        self.assertEqual(real.stderr, dry.stderr)
        self.refused("new-receiveconnector", "trusted", "--bindings", "127.0.0.1:%d" % self.port,
                     "--what-if", expect_in=[DEFAULT])  # equal ranges on the same binding
        self.refused("remove-receiveconnector", "Nobody", "--what-if", expect_in=["Nobody"])

    def test_removing_several_needs_confirmation_when_nobody_can_be_asked(self):
        self.ok("new-receiveconnector", "A", "--bindings", "127.0.0.1:%d" % free_port())
        self.ok("new-receiveconnector", "B", "--bindings", "127.0.0.1:%d" % free_port())
        r = self.refused("remove-receiveconnector", "*", code=2, expect_in=["--confirm:$false", "nothing was removed"])
        self.assertIn("3", r.stderr)
        self.assertEqual(len(self.names()), 3)
        self.ok("remove-receiveconnector", "A", "B", "--confirm:$false")
        self.assertEqual(self.names(), [HOST + "\\" + DEFAULT])

    def test_removing_the_last_connector_on_a_binding_needs_confirmation(self):
        self.ok("new-receiveconnector", "Lone", "--bindings", "127.0.0.1:%d" % free_port())
        self.ok("new-receiveconnector", "Nested", "--bindings", "127.0.0.1:%d" % self.port,
                "--remote-ip-ranges", "127.0.0.2")
        self.ok("remove-receiveconnector", "Nested")  # the default connector still listens there
        self.refused("remove-receiveconnector", "Lone", code=2, expect_in=["nothing listening"])
        self.ok("remove-receiveconnector", "Lone", "--confirm=false")
        self.assertEqual(self.names(), [HOST + "\\" + DEFAULT])

    def run_on_terminal(self, args, answer):
        """Runs adminctl with a pseudo-terminal as stdin and stderr; answers the question."""
        master, slave = pty.openpty()
        env = dict(os.environ, ADMINCTL_SERVER="unix:" + self.daemon.socket)
        proc = subprocess.Popen([ADMINCTL] + args, stdin=slave, stderr=slave, stdout=subprocess.DEVNULL, env=env)
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + 20
        try:
            while b"[y/N]" not in seen and time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    seen += os.read(master, 4096)
            self.assertIn(b"[y/N]", seen)
            os.write(master, answer + b"\n")
            proc.wait(timeout=20)
        finally:
            os.close(master)
        return proc.returncode, seen.decode()

    def test_a_terminal_is_asked(self):
        self.ok("new-receiveconnector", "A", "--bindings", "127.0.0.1:%d" % self.port, "--remote-ip-ranges", "10.0.0.1")
        self.ok("new-receiveconnector", "B", "--bindings", "127.0.0.1:%d" % self.port, "--remote-ip-ranges", "10.0.0.2")
        code, question = self.run_on_terminal(["remove-receiveconnector", "A", "B"], b"n")
        self.assertEqual(code, 1)
        self.assertIn(HOST + "\\A", question)
        self.assertEqual(len(self.names()), 3)
        code, _ = self.run_on_terminal(["remove-receiveconnector", "A", "B"], b"y")
        self.assertEqual(code, 0)
        self.assertEqual(self.names(), [HOST + "\\" + DEFAULT])


class ExitCodeTest(DaemonTestCase):
    def test_the_same_mistake_gets_the_same_code_whatever_its_size(self):
        cases = [
            # (flag, values that are out of range, the allowed range named)
            ("--max-recipients-per-message", ["0", "512001", "99999999999", "-99999999999999999999999"], "1 to 512000"),
            ("--max-logon-failures", ["11", "2147483648", "-1"], "0"),
            ("--max-inbound-connection", ["0", "99999999999", "99999999999999999999999"], "1 to 2147483647"),
            ("--tarpit-interval", ["00:10:01", "999.00:00:00", "99999999.00:00:00"], "00:00:00 to 00:10:00"),
            ("--max-message-size", ["3GB", "99999999999999999999GB"], "64KB to 2GB"),
        ]
        for flag, values, allowed in cases:
            for value in values:
                with self.subTest(flag=flag, value=value):
                    self.refused("set-receiveconnector", DEFAULT, flag, value, code=1, expect_in=[allowed])
        self.refused("get-messagetrackinglog", "--result-size", "99999999999", code=1, expect_in=["1 to 100000"])
        self.refused("get-messagetrackinglog", "--result-size", "0", code=1, expect_in=["1 to 100000"])

    def test_a_value_of_the_wrong_type_is_a_usage_error(self):
        for flag, value in [("--max-recipients-per-message", "many"), ("--max-recipients-per-message", "1.5"),
                            ("--enabled", "perhaps"), ("--enabled", "99999999999")]:
            with self.subTest(flag=flag, value=value):
                self.refused("set-receiveconnector", DEFAULT, flag, value, code=2)
        # A usage error elsewhere wins over a number out of range.
        self.refused("set-receiveconnector", DEFAULT, "--max-recipients-per-message", "99999999999",
                     "--enabled", "perhaps", code=2)


class WarningAndTestConnectorTest(DaemonTestCase):
    def test_a_tarpit_above_five_minutes_is_applied_with_a_warning(self):
        r = self.ctl("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:05:01")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning", r.stderr)
        self.assertIn("300 s", r.stderr)
        self.assertEqual(r.stdout, "")
        got = json.loads(self.ok("get-receiveconnector", "--format", "json"))[0]
        self.assertEqual(got["TarpitInterval"], "00:05:01")
        r = self.ctl("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:05:00")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        r = self.ctl("new-receiveconnector", "Slow", "--bindings", "127.0.0.1:%d" % free_port(),
                     "--tarpit-interval", "00:10:00")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("300 s", r.stderr)

    def test_test_receiveconnector_output_is_aligned_and_ends_with_a_newline(self):
        binding = "127.0.0.1:%d" % self.port
        out = self.ok("test-receiveconnector", "--remote-ip", "127.0.0.9", "--local", binding)
        lines = out.split("\n")
        self.assertEqual(lines[-1], "")
        self.assertEqual([line.index(" : ") for line in lines[:-1]], [12, 12, 12])
        self.assertTrue(lines[0].startswith("Connector    : " + HOST + "\\" + DEFAULT))
        out = self.ok("test-receiveconnector", "--remote-ip", "127.0.0.9", "--local", "127.0.0.1:1")
        self.assertTrue(out.startswith("Connector : (none)\nReason    : "), out)
        self.assertTrue(out.endswith("\n"))

    def test_a_client_and_a_local_endpoint_of_different_families_are_refused(self):
        self.refused("test-receiveconnector", "--remote-ip", "2001:db8::1", "--local", "127.0.0.1:%d" % self.port,
                     code=1, expect_in=["IPv6", "IPv4"])
        self.refused("test-receiveconnector", "--remote-ip", "127.0.0.1", "--local", "[::1]:25",
                     code=1, expect_in=["same family"])
        self.ok("test-receiveconnector", "--remote-ip", "::ffff:127.0.0.9", "--local", "127.0.0.1:%d" % self.port)


class TransportServerSettingsTest(DaemonTestCase):
    def settings(self):
        return json.loads(self.ok("get-transportserver", "--select",
                                  "ReceiveProtocolLogMaxAge,ReceiveProtocolLogMaxDirectorySize", "--format", "json"))

    def test_defaults_set_and_kept_across_a_restart(self):
        self.assertEqual(self.settings(), {"ReceiveProtocolLogMaxAge": "30.00:00:00",
                                           "ReceiveProtocolLogMaxDirectorySize": "250MB"})
        self.ok("set-transportserver", "-ReceiveProtocolLogMaxAge", "7.00:00:00",
                "--receive-protocol-log-max-directory-size", "1GB")
        self.ok("set-transportserver", "--receive-protocol-log-max-age", "1.00:00:00", "--what-if")
        self.restart()
        self.assertEqual(self.settings(), {"ReceiveProtocolLogMaxAge": "7.00:00:00",
                                           "ReceiveProtocolLogMaxDirectorySize": "1GB"})
        self.ok("set-transportserver", "--receive-protocol-log-max-directory-size", "unlimited")
        self.assertEqual(self.settings()["ReceiveProtocolLogMaxDirectorySize"], "unlimited")

    def test_invalid_settings_are_refused_and_read_only_properties_cannot_be_set(self):
        self.refused("set-transportserver", "--receive-protocol-log-max-age", "1000.00:00:00",
                     expect_in=["ReceiveProtocolLogMaxAge"])
        self.refused("set-transportserver", "--receive-protocol-log-max-directory-size", "10KB",
                     expect_in=["1MB to 1024GB"])
        self.refused("set-transportserver", "--uptime", "00:00:09", code=2)  # output only
        self.refused("set-transportserver", code=2)  # nothing to set

    def test_old_protocol_logs_are_deleted(self):
        logs = os.path.join(self.data_dir, "logs", "protocol")
        os.makedirs(logs, exist_ok=True)
        old = os.path.join(logs, "RECV20200101-1.LOG")
        with open(old, "w") as f:
            f.write("x")
        os.utime(old, (time.time() - 3 * 86400, time.time() - 3 * 86400))
        self.ok("set-transportserver", "--receive-protocol-log-max-age", "2.00:00:00")
        deadline = time.monotonic() + 10
        while os.path.exists(old) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(os.path.exists(old))
