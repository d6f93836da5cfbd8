"""The admin API end to end: real transportd, real adminctl, real SQLite file."""
import json
import os
import stat
import subprocess

from harness import HOST, Daemon, DaemonTestCase, adminctl, free_port


def connectors(test, *identities):
    return {c["Name"]: c for c in json.loads(test.ok("get-receiveconnector", *identities, "--format", "json"))}


DEFAULT = "Default " + HOST


class ReceiveConnectorTest(DaemonTestCase):
    def test_default_connector_exists_with_the_documented_defaults(self):
        c = connectors(self)[DEFAULT]
        self.assertEqual(c["Identity"], HOST + "\\" + DEFAULT)
        self.assertEqual(c["TarpitInterval"], "00:00:05")
        self.assertEqual(c["Bindings"], ["127.0.0.1:%d" % self.port])
        self.assertEqual(c["RemoteIPRanges"],
                         ["0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"])
        self.assertIs(c["Enabled"], True)
        self.assertEqual(c["MaxRecipientsPerMessage"], 200)
        self.assertEqual(c["PermissionGroups"], ["AnonymousUsers", "ExchangeUsers"])
        self.assertEqual(c["Fqdn"], HOST.lower())

    def test_tarpit_interval_is_set_and_read_back(self):
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:10")
        self.assertEqual(connectors(self)[DEFAULT]["TarpitInterval"], "00:00:10")
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "0.00:09:00")
        self.assertEqual(connectors(self)[DEFAULT]["TarpitInterval"], "00:09:00")

    def test_invalid_tarpit_intervals_are_refused_naming_the_property(self):
        for bad in ["00:10:01", "1.00:00:00", "5", "-00:00:01", "00:00:01.5"]:
            with self.subTest(value=bad):
                self.refused("set-receiveconnector", DEFAULT, "--tarpit-interval=" + bad,
                             expect_in=["TarpitInterval"])
        self.refused("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:10:01",
                     expect_in=["allowed 00:00:00 to 00:10:00"])
        self.refused("set-receiveconnector", DEFAULT, "--tarpit-interval", "5", expect_in=["00:00:05"])
        self.assertEqual(connectors(self)[DEFAULT]["TarpitInterval"], "00:00:05")

    def test_exchange_spellings_of_flags_are_accepted(self):
        self.ok("Set-ReceiveConnector", DEFAULT, "-TarpitInterval", "00:00:09")
        self.assertEqual(connectors(self)[DEFAULT]["TarpitInterval"], "00:00:09")
        self.ok("set-receiveconnector", DEFAULT, "--TARPITINTERVAL", "00:00:08")
        self.assertEqual(connectors(self)[DEFAULT]["TarpitInterval"], "00:00:08")

    def test_trusted_connector_nested_on_the_same_binding(self):
        binding = "127.0.0.1:%d" % self.port
        self.ok("new-receiveconnector", "Trusted", "--bindings", binding, "--remote-ip-ranges", "127.0.0.2",
                "--tarpit-interval", "00:00:00")
        trusted = connectors(self)["Trusted"]
        self.assertEqual(trusted["RemoteIPRanges"], ["127.0.0.2"])
        self.assertEqual(trusted["TarpitInterval"], "00:00:00")

        out = self.ok("test-receiveconnector", "--remote-ip", "127.0.0.2", "--local", binding)
        self.assertIn(HOST + "\\Trusted", out)
        out = self.ok("test-receiveconnector", "--remote-ip", "127.0.0.1", "--local", binding)
        self.assertIn(HOST + "\\" + DEFAULT, out)

        # Same binding, equal ranges: refused, naming the connector it collides with.
        self.refused("new-receiveconnector", "Copy", "--bindings", binding, "--remote-ip-ranges", "127.0.0.2",
                     expect_in=["Trusted"])
        # Partial overlap with another connector's range: refused.
        self.ok("new-receiveconnector", "Lan", "--bindings", binding, "--remote-ip-ranges", "10.0.0.0/24")
        self.refused("new-receiveconnector", "Bad", "--bindings", binding,
                     "--remote-ip-ranges", "10.0.0.128-10.0.1.10", expect_in=["Lan", "overlap"])
        # A duplicate name (any case) is refused too.
        self.refused("new-receiveconnector", "trusted", "--bindings", "127.0.0.1:1", expect_in=["Trusted"])
        self.assertEqual(sorted(connectors(self)), sorted([DEFAULT, "Trusted", "Lan"]))

    def test_identities_from_stdin_set_every_connector(self):
        self.ok("new-receiveconnector", "Second", "--bindings", "127.0.0.1:%d" % free_port())
        names = self.ok("get-receiveconnector", "--format", "name")
        self.assertEqual(sorted(names.split("\n")[:-1]), sorted([HOST + "\\" + DEFAULT, HOST + "\\Second"]))
        self.ok("set-receiveconnector", "-", "--tarpit-interval", "00:00:07", input=names)
        self.assertEqual({c["TarpitInterval"] for c in connectors(self).values()}, {"00:00:07"})

    def test_globs_and_several_identities(self):
        self.ok("new-receiveconnector", "Partner A", "--bindings", "127.0.0.1:%d" % free_port())
        self.ok("new-receiveconnector", "Partner B", "--bindings", "127.0.0.1:%d" % free_port())
        self.ok("set-receiveconnector", "partner*", "--comment", "partners")
        got = connectors(self)
        self.assertEqual(got["Partner A"]["Comment"], "partners")
        self.assertEqual(got["Partner B"]["Comment"], "partners")
        self.assertEqual(got[DEFAULT]["Comment"], "")
        self.refused("set-receiveconnector", "Nobody*", "--comment", "x", expect_in=["Nobody*"])

    def test_values_survive_a_restart(self):
        self.ok("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:10", "--max-message-size", "25MB",
                "--remote-ip-ranges", "127.0.0.0/8,::1", "--enabled", "false", "--banner", "220 hello there")
        self.ok("new-receiveconnector", "Trusted", "--bindings", "127.0.0.1:%d" % self.port,
                "--remote-ip-ranges", "127.0.0.2", "--tarpit-interval", "00:00:00")
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        before = json.loads(self.ok("get-receiveconnector", "--format", "json"))
        self.restart()
        after = json.loads(self.ok("get-receiveconnector", "--format", "json"))
        self.assertEqual(before, after)
        c = {x["Name"]: x for x in after}[DEFAULT]
        self.assertEqual(c["TarpitInterval"], "00:00:10")
        self.assertEqual(c["MaxMessageSize"], "25MB")
        self.assertEqual(c["RemoteIPRanges"], ["127.0.0.0/8", "::1"])
        self.assertIs(c["Enabled"], False)
        self.assertEqual(c["Banner"], "220 hello there")
        self.assertIn("Example", self.ok("get-accepteddomain", "--format", "name"))

    def test_a_failed_multi_field_set_changes_nothing(self):
        before = connectors(self)[DEFAULT]
        self.refused("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:03",
                     "--max-recipients-per-message", "0", expect_in=["MaxRecipientsPerMessage"])
        # Cross-property rule: ConnectionTimeout below ConnectionInactivityTimeout.
        self.refused("set-receiveconnector", DEFAULT, "--tarpit-interval", "00:00:03",
                     "--connection-timeout", "00:01:00", expect_in=["ConnectionTimeout"])
        self.assertEqual(connectors(self)[DEFAULT], before)

    def test_select_and_output_formats(self):
        rows = json.loads(self.ok("get-receiveconnector", "--select", "Name,TarpitInterval", "--format", "json"))
        self.assertEqual(rows, [{"Name": DEFAULT, "TarpitInterval": "00:00:05"}])
        table = self.ok("get-receiveconnector")
        self.assertIn("TarpitInterval", table.splitlines()[0])
        self.assertIn("00:00:05", table)
        listing = self.ok("get-receiveconnector", "--format", "list")
        self.assertRegex(listing, r"MaxMessageSize\s+: 10MB")
        self.refused("get-receiveconnector", "--select", "NoSuchProperty", code=2)
        self.refused("get-receiveconnector", "--format", "yaml", code=2)

    def test_remove_connector(self):
        self.ok("new-receiveconnector", "Temp", "--bindings", "127.0.0.1:%d" % free_port())
        self.ok("remove-receiveconnector", "Temp", "--confirm=false")  # its Binding's last connector
        self.assertNotIn("Temp", connectors(self))
        self.refused("remove-receiveconnector", "Temp", expect_in=["Temp"])
        self.refused("get-receiveconnector", "Temp", expect_in=["Temp"])


class OtherObjectsTest(DaemonTestCase):
    PASSWORD = "S3cret-Pa55word!"

    def test_mailbox_password_never_appears_in_any_output(self):
        r = self.ctl("new-mailbox", "alice@example.com", "--display-name", "Alice",
                     "--email-addresses", "al@example.com", "--password-stdin", input=self.PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        outputs = [r.stdout, r.stderr]
        for fmt in ["table", "list", "json", "name"]:
            outputs.append(self.ok("get-mailbox", "--format", fmt))
        box = json.loads(self.ok("get-mailbox", "--format", "json"))[0]
        self.assertEqual(box["PrimarySmtpAddress"], "alice@example.com")
        self.assertEqual(box["EmailAddresses"], ["al@example.com"])
        self.assertIs(box["HasPassword"], True)
        self.restart()
        outputs.append(self.daemon.read_log())
        for out in outputs:
            self.assertNotIn(self.PASSWORD, out)
        with open(os.path.join(self.data_dir, "config.db"), "rb") as f:
            db = f.read()
        self.assertNotIn(self.PASSWORD.encode(), db)

        self.ok("set-mailbox", "alice@example.com", "--clear-password")
        self.assertIs(json.loads(self.ok("get-mailbox", "--format", "json"))[0]["HasPassword"], False)

    def test_mailbox_addresses_are_unique_across_mailboxes(self):
        self.ok("new-mailbox", "alice@example.com", "--email-addresses", "al@example.com")
        self.refused("new-mailbox", "AL@example.com", expect_in=["alice@example.com"])
        self.refused("new-mailbox", "bob@example.com", "--email-addresses", "Alice@Example.com",
                     expect_in=["alice@example.com"])
        self.refused("new-mailbox", "not-an-address", expect_in=["PrimarySmtpAddress"])
        self.ok("remove-mailbox", "alice@example.com")
        self.assertEqual(self.ok("get-mailbox", "--format", "name"), "")

    def test_accepted_domains(self):
        self.ok("new-accepteddomain", "Example", "--domain-name", "Example.COM", "--default", "true")
        self.ok("new-accepteddomain", "Subs", "--domain-name", "*.sub.example.com", "--domain-type", "InternalRelay")
        domains = {d["Name"]: d for d in json.loads(self.ok("get-accepteddomain", "--format", "json"))}
        self.assertEqual(domains["Example"]["DomainName"], "example.com")
        self.assertIs(domains["Example"]["Default"], True)
        self.assertEqual(domains["Subs"]["DomainType"], "InternalRelay")
        self.refused("new-accepteddomain", "Again", "--domain-name", "example.com", expect_in=["example.com"])
        self.refused("new-accepteddomain", "Typo", "--domain-name", "example.com", "--domain-type", "Local",
                     expect_in=["DomainType"])
        self.ok("remove-accepteddomain", "Subs")
        self.assertEqual(self.ok("get-accepteddomain", "--format", "name").split(), ["Example"])

    def test_recipient_filter_config(self):
        cfg = json.loads(self.ok("get-recipientfilterconfig", "--format", "json"))
        self.assertEqual(cfg, {"RecipientValidationEnabled": True, "BlockListEnabled": False, "BlockedRecipients": []})
        self.ok("set-recipientfilterconfig", "--block-list-enabled", "true",
                "--blocked-recipients", "ceo@example.com", "--blocked-recipients", "cfo@example.com")
        cfg = json.loads(self.ok("get-recipientfilterconfig", "--format", "json"))
        self.assertIs(cfg["BlockListEnabled"], True)
        self.assertEqual(cfg["BlockedRecipients"], ["ceo@example.com", "cfo@example.com"])
        self.refused("set-recipientfilterconfig", "--blocked-recipients", "nobody", expect_in=["BlockedRecipients"])


class DaemonLifecycleTest(DaemonTestCase):
    def test_admin_socket_is_private(self):
        mode = stat.S_IMODE(os.stat(self.daemon.socket).st_mode)
        self.assertEqual(mode, 0o600)

    def test_a_second_daemon_on_the_same_data_dir_refuses_to_start(self):
        second = subprocess.run(Daemon(self.data_dir, free_port()).command(), capture_output=True, text=True,
                                timeout=30)
        self.assertNotEqual(second.returncode, 0)
        self.assertIn("already running", second.stderr)
        self.assertIn(str(self.daemon.proc.pid), second.stderr)
        # The first one still serves.
        self.ok("get-receiveconnector", "--format", "name")

    def test_unreachable_server_and_usage_errors_have_their_exit_codes(self):
        missing = "unix:" + os.path.join(self.data_dir, "nope.sock")
        r = adminctl(None, "get-receiveconnector", server=missing)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("nope.sock", r.stderr)
        self.refused("no-such-command", code=2)
        self.refused("set-receiveconnector", DEFAULT, code=2)  # nothing to set
        self.refused("set-receiveconnector", DEFAULT, "--enabled", "perhaps", expect_in=["Enabled"], code=2)
        r = self.ctl("set-receiveconnector", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--tarpit-interval", r.stdout)
        self.assertIn("00:10:00", r.stdout)
