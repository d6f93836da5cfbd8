"""Start-up and --check-config end to end: only a missing config.db makes a new one, a broken one
stops the start; --check-config reads without writing (beside a running daemon too) and applies every
rule; the host name is kept from the first start; the default Fqdn is the system's qualified name;
values the store could not use are refused when they are set."""
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import unittest

from harness import HOST, TRANSPORTD, Daemon, DaemonTestCase, adminctl, free_port


def transportd(*args, timeout=30):
    return subprocess.run([TRANSPORTD] + list(args), capture_output=True, text=True, timeout=timeout)


def check_config(data_dir):
    return transportd("--data-dir", data_dir, "--check-config")


class NamedDaemon(Daemon):
    """A daemon started with the given --hostname, or with none (the system's names)."""

    def __init__(self, data_dir, port, host_name=None):
        super().__init__(data_dir, port)
        self.host_name = host_name

    def command(self):
        command = [TRANSPORTD, "--data-dir", self.data_dir, "--default-bindings", "127.0.0.1:%d" % self.port]
        return command + (["--hostname", self.host_name] if self.host_name else [])


def system_names():
    """What transportd documents: gethostname()'s first label, and the resolver's canonical name when it
    qualifies that name (else the short name), lower-cased."""
    host = socket.gethostname()
    short = host.split(".")[0]
    if "." in host:
        return short, host.lower()
    try:
        canonical = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_CANONNAME)[0][3]
    except OSError:
        canonical = ""
    if "." in canonical and canonical.split(".")[0].lower() == host.lower():
        return short, canonical.lower()
    return short, host.lower()


class BrokenDatabaseTest(unittest.TestCase):
    """Only a missing config.db is a first start; anything else that is not a sound database stops it."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="transportd-it-")
        self.data_dir = os.path.join(self.tmp.name, "data")
        os.mkdir(self.data_dir, 0o700)
        self.db = os.path.join(self.data_dir, "config.db")

    def tearDown(self):
        self.tmp.cleanup()

    def assert_start_refused(self, *fragments):
        r = transportd("--data-dir", self.data_dir, "--default-bindings", "127.0.0.1:%d" % free_port(),
                       "--hostname", HOST)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.db, r.stderr)
        for fragment in fragments:
            self.assertIn(fragment, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "admin.sock")))
        return r

    def test_an_empty_config_db_stops_the_start_and_is_kept(self):
        open(self.db, "wb").close()
        self.assert_start_refused("empty (0 bytes)")
        self.assertEqual(os.path.getsize(self.db), 0)
        r = check_config(self.data_dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("empty (0 bytes)", r.stderr)

    def test_a_file_that_is_not_a_database_stops_the_start(self):
        with open(self.db, "wb") as f:
            f.write(b"this is not SQLite\n" * 500)
        self.assert_start_refused("cannot be read as an SQLite database")
        with open(self.db, "rb") as f:
            self.assertTrue(f.read().startswith(b"this is not SQLite"))

    def test_a_database_that_is_not_ours_stops_the_start(self):
        db = sqlite3.connect(self.db)
        with db:
            db.execute("CREATE TABLE notes (text TEXT)")
        db.close()
        self.assert_start_refused("not a transportd configuration")

    def test_a_missing_database_is_created_and_then_kept(self):
        daemon = Daemon(self.data_dir, free_port())
        daemon.start()
        try:
            self.assertIn("created " + self.db, daemon.read_log())
        finally:
            self.assertEqual(daemon.stop(), 0)
        self.assertEqual(check_config(self.data_dir).returncode, 0)


class CheckConfigTest(DaemonTestCase):
    def test_check_config_works_while_the_daemon_runs(self):
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        r = check_config(self.data_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("is valid", r.stdout)
        self.assertIn("1 accepted domain(s)", r.stdout)
        self.ok("get-receiveconnector")  # the daemon is unaffected

    def test_check_config_on_a_mistyped_directory_fails_and_creates_nothing(self):
        mistyped = os.path.join(self.tmp.name, "dta")
        r = check_config(mistyped)
        self.assertEqual(r.returncode, 1)
        self.assertIn(os.path.join(mistyped, "config.db"), r.stderr)
        self.assertIn("does not exist", r.stderr)
        self.assertFalse(os.path.exists(mistyped))

    def test_a_mistyped_reputation_store_is_refused_before_anything_starts(self):
        data = os.path.join(self.tmp.name, "fleet-node")
        for value, why in (("http://redis:6379", "not a redis:// address"),
                           ("redis://redis:0", "the port must be from 1 to 65535")):
            r = transportd("--data-dir", data, "--reputation-store", value)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("--reputation-store", r.stderr)
            self.assertIn(why, r.stderr)
            self.assertIn("expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]", r.stderr)
        self.assertFalse(os.path.exists(data))

    def test_check_config_reports_connectors_that_break_the_uniqueness_rule(self):
        # Written behind the daemon's back, as a hand edit or a bad restore would: the daemon's own
        # checks never see these rows.
        rest = ", ".join(c for c in self.connector_columns() if c not in ("id", "Name", "Bindings", "RemoteIPRanges"))
        binding = "127.0.0.1:%d" % free_port()
        db = sqlite3.connect(os.path.join(self.data_dir, "config.db"), timeout=10)
        with db:  # one transaction
            for name, ranges in (("HandA", "10.0.0.0/16"), ("HandB", "10.0.255.0-10.1.0.255")):
                db.execute("INSERT INTO receive_connectors (Name, Bindings, RemoteIPRanges, %s) "
                           "SELECT ?, ?, ?, %s FROM receive_connectors ORDER BY id LIMIT 1" % (rest, rest),
                           (name, binding, ranges))
        db.close()
        r = check_config(self.data_dir)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('receive connector "%s\\HandB"' % HOST, r.stderr)
        self.assertIn('partially overlaps 10.0.0.0/16 of connector "HandA"', r.stderr)
        self.assertIn("is not valid: 1 problem(s)", r.stderr)

    def connector_columns(self):
        db = sqlite3.connect(os.path.join(self.data_dir, "config.db"), timeout=10)
        names = [row[1] for row in db.execute("PRAGMA table_info(receive_connectors)")]
        db.close()
        return names


class HostNameTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="transportd-it-")
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.port = free_port()
        self.daemon = None

    def tearDown(self):
        try:
            if self.daemon is not None:
                self.assertEqual(self.daemon.stop(), 0)
        finally:
            self.tmp.cleanup()

    def start(self, host_name):
        if self.daemon is not None:
            self.assertEqual(self.daemon.stop(), 0)
        self.daemon = NamedDaemon(self.data_dir, self.port, host_name)
        self.daemon.start()

    def ctl_json(self, *args):
        r = adminctl(self.daemon, *args, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_a_restart_with_another_name_keeps_the_stored_one_and_warns(self):
        self.start(HOST)
        for later in (None, "RENAMED"):
            self.start(later)
            identity = self.ctl_json("get-receiveconnector")[0]["Identity"]
            self.assertEqual(identity, HOST + "\\Default " + HOST)
            self.assertEqual(self.ctl_json("get-transportserver")["Name"], HOST)
            self.assertEqual(adminctl(self.daemon, "set-receiveconnector", identity, "--enabled", "true").returncode, 0)
        self.assertIn("keeps the name %s" % HOST, self.daemon.read_log())
        self.assertIn("RENAMED given by --hostname", self.daemon.read_log())

    def test_without_hostname_the_fqdn_defaults_to_the_systems_qualified_name(self):
        short, fqdn = system_names()
        self.start(None)
        connector = self.ctl_json("get-receiveconnector")[0]
        self.assertEqual(connector["Identity"], short + "\\Default " + short)
        self.assertEqual(connector["Fqdn"], fqdn)
        r = adminctl(self.daemon, "new-receiveconnector", "Second", "--bindings", "127.0.0.1:%d" % free_port())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ctl_json("get-receiveconnector", "Second")[0]["Fqdn"], fqdn)


class RefusedValuesTest(DaemonTestCase):
    def test_a_mailbox_address_that_cannot_name_a_directory_is_refused(self):
        self.ok("new-accepteddomain", "Example", "--domain-name", "example.com")
        self.refused("new-mailbox", "a/b@example.com", expect_in=("PrimarySmtpAddress", "'/'"))
        self.ok("new-mailbox", "ab@example.com")
        self.refused("set-mailbox", "ab@example.com", "--primary-smtp-address", "a/b@example.com",
                     expect_in=("PrimarySmtpAddress",))
        self.assertEqual(self.ok("get-mailbox", "--format", "name").split(), ["ab@example.com"])

    def test_external_authoritative_is_refused_for_anonymous_users(self):
        self.refused("new-receiveconnector", "Open", "--bindings", "127.0.0.1:%d" % free_port(),
                     "--remote-ip-ranges", "10.9.0.1", "--permission-groups", "ExchangeServers,AnonymousUsers",
                     "--auth-mechanism", "ExternalAuthoritative",
                     expect_in=("AuthMechanism", "PermissionGroups", "without AnonymousUsers"))
        self.ok("new-receiveconnector", "Relay", "--usage", "Trusted", "--bindings", "127.0.0.1:%d" % free_port(),
                "--remote-ip-ranges", "10.9.0.1")
        self.refused("set-receiveconnector", "Relay", "--permission-groups", "ExchangeServers,AnonymousUsers",
                     expect_in=("without AnonymousUsers",))

    def test_text_limits_count_characters(self):
        name = "\u00e9" * 64  # 128 bytes
        self.ok("new-receiveconnector", name, "--bindings", "127.0.0.1:%d" % free_port(), "--remote-ip-ranges",
                "10.9.0.2", "--comment", "\u20ac" * 1024)
        self.refused("set-receiveconnector", name, "--comment", "\u20ac" * 1025,
                     expect_in=("Comment is 1025 characters long: allowed at most 1024",))


if __name__ == "__main__":
    unittest.main()
