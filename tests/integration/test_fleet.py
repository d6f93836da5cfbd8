"""Several transportd nodes on one PostgreSQL configuration store (DESIGN §12): what one node is told
is in force on the others (organisation-wide objects), receive connectors stay their own server's."""
import json
import os
import select
import tempfile
import threading
import time
import unittest

from fleet_peers import FleetNode, PostgresCluster, RedisServer, postgres_unavailable, redis_unavailable
from harness import TIME_FACTOR, adminctl, free_port, wait_until
from smtp_client import RawSmtp
from test_operations import samples, scrape


def greeting(port):
    with RawSmtp(port) as s:
        _, text = s.reply()
        s.command("QUIT")
        return text


def rcpt_code(port, address):
    with RawSmtp(port) as s:
        s.reply()
        s.command("EHLO client.test")
        s.command("MAIL FROM:<sender@remote.test>")
        code, _, _ = s.command("RCPT TO:<%s>" % address)
        s.command("QUIT")
        return code


class FleetTestCase(unittest.TestCase):
    """Nodes named NODES on one private PostgreSQL cluster (a database per test), each default
    connector's TarpitInterval set to TARPIT."""
    NODES = ("MAIL01", "MAIL02", "MAIL03")
    TARPIT = "00:00:00"

    @classmethod
    def setUpClass(cls):
        cls.cluster = PostgresCluster()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.destroy()

    def node_args(self):
        """More transportd flags for every node."""
        return []

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="transportd-fleet-")
        store = self.cluster.new_database("%s_%s" % (type(self).__name__.lower(), self._testMethodName.lower()))
        self.nodes = []
        try:
            for name in self.NODES:
                node = FleetNode(os.path.join(self.tmp.name, name), free_port(), name, store, self.node_args())
                node.start()
                self.nodes.append(node)
                self.ok(node, "set-receiveconnector", "Default %s" % name, "--tarpit-interval", self.TARPIT)
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        try:
            for node in self.nodes:
                self.assertEqual(node.stop(), 0, node.read_log())
        finally:
            self.tmp.cleanup()

    def ok(self, node, *args):
        r = adminctl(node, *args)
        self.assertEqual(r.returncode, 0, "adminctl %s on %s: %s" % (" ".join(args), node.name, r.stderr))
        return r.stdout


@unittest.skipIf(postgres_unavailable(), postgres_unavailable())
class FleetTest(FleetTestCase):
    TARPIT = "00:00:00"  # refusals answer at once: a tarpitted 550 would take 5 s of every wait below

    def test_a_mailbox_made_through_one_node_is_accepted_by_the_others(self):
        a, _, c = self.nodes
        self.ok(a, "new-accepteddomain", "Example", "--domain-name", "example.com")
        self.ok(a, "new-mailbox", "alice@example.com")
        made = time.monotonic()
        wait_until(lambda: rcpt_code(c.port, "alice@example.com") == 250, 5 * TIME_FACTOR,
                   "node MAIL03 to accept the mailbox made through MAIL01")
        print("\nin force on MAIL03 %.3f s after new-mailbox returned on MAIL01" % (time.monotonic() - made))
        # And the other way: removed through the third node, refused by the first.
        self.ok(c, "remove-mailbox", "alice@example.com")
        wait_until(lambda: rcpt_code(a.port, "alice@example.com") == 550, 5 * TIME_FACTOR,
                   "node MAIL01 to refuse the mailbox removed through MAIL03")
        self.assertEqual(self.ok(c, "get-mailbox", "--format", "name").strip(), "")

    def test_two_administrators_taking_one_name_on_two_nodes_at_once(self):
        # Each round, MAIL01 and MAIL02 are asked for the same new send connector at the same moment:
        # exactly one gets it, the other is told the name is taken (validated against the latest state,
        # not against its own older snapshot).
        a, b, c = self.nodes
        for round_ in range(8):
            name = "Smart%d" % round_
            results = [None, None]
            start = threading.Barrier(2)

            def make(i, node):
                start.wait()
                results[i] = adminctl(node, "new-sendconnector", name, "--address-spaces", "r%d.example" % round_)

            threads = [threading.Thread(target=make, args=(i, n)) for i, n in enumerate((a, b))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            codes = sorted(r.returncode for r in results)
            self.assertEqual(codes, [0, 1], [(r.returncode, r.stderr) for r in results])
            refused = next(r for r in results if r.returncode != 0)
            self.assertIn('a send connector named "%s" already exists' % name, refused.stderr)
        wait_until(lambda: len(self.ok(c, "get-sendconnector", "--format", "name").splitlines()) == 8,
                   5 * TIME_FACTOR, "the third node to see the 8 send connectors")

    def test_postgresql_down_nodes_serve_from_their_copy_and_catch_up_when_it_is_back(self):
        a, b, c = self.nodes
        self.ok(a, "new-accepteddomain", "Example", "--domain-name", "example.com")
        self.ok(a, "new-mailbox", "alice@example.com")
        wait_until(lambda: all(rcpt_code(n.port, "alice@example.com") == 250 for n in self.nodes), 5 * TIME_FACTOR,
                   "every node to accept alice")
        version = samples(scrape(a.metrics_port)[1])["transportd_config_version"]
        self.assertGreater(version, 0)
        for node in self.nodes:
            wait_until(lambda: samples(scrape(node.metrics_port)[1])["transportd_config_version"] == version,
                       5 * TIME_FACTOR, "%s to serve configuration version %d" % (node.name, version))
            code, body = scrape(node.metrics_port, "/healthz")
            self.assertEqual(code, 200)
            self.assertIn(" reachable, configuration version %d" % version, body)
        self.cluster.stop()
        try:
            # Healthy still (it takes mail), and says what it serves from.
            for node in self.nodes:
                wait_until(lambda: "unreachable, serving the local copy" in scrape(node.metrics_port, "/healthz")[1],
                           5 * TIME_FACTOR, "%s's /healthz to say the store is unreachable" % node.name)
                self.assertEqual(scrape(node.metrics_port, "/healthz")[0], 200)
                self.assertEqual(samples(scrape(node.metrics_port)[1])["transportd_config_store_reachable"], 0)
            # Every node keeps accepting mail with what it had.
            for node in self.nodes:
                self.assertEqual(rcpt_code(node.port, "alice@example.com"), 250, node.name)
            # A node restarted meanwhile serves from its local copy.
            self.assertEqual(b.stop(), 0, b.read_log())
            b.start()
            self.assertEqual(rcpt_code(b.port, "alice@example.com"), 250)
            self.assertIn("is unreachable: serving the local copy", b.read_log())
            # A change fails, saying why, and changes nothing.
            r = adminctl(a, "new-mailbox", "bob@example.com")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("the configuration store postgresql://transportd@127.0.0.1:%d/" % self.cluster.port, r.stderr)
            self.assertIn("is unreachable", r.stderr)
            self.assertIn("nothing was changed", r.stderr)
            self.assertEqual(rcpt_code(a.port, "bob@example.com"), 550)
        finally:
            self.cluster.start()
        # Back: a change made now reaches every node, the restarted one included.
        wait_until(lambda: adminctl(a, "new-mailbox", "bob@example.com").returncode == 0, 15 * TIME_FACTOR,
                   "an admin change to succeed once PostgreSQL is back")
        wait_until(lambda: all(rcpt_code(n.port, "bob@example.com") == 250 for n in self.nodes), 10 * TIME_FACTOR,
                   "every node to accept bob, made after PostgreSQL came back")

    def test_get_transportserver_lists_the_fleet(self):
        a = self.nodes[0]
        def listed():
            text = self.ok(a, "get-transportserver", "--format", "json")
            server = json.loads(text)[0] if text.strip().startswith("[") else json.loads(text)
            return server
        wait_until(lambda: len(listed().get("FleetNodes", [])) == 3, 5 * TIME_FACTOR, "three fleet nodes listed")
        server = listed()
        self.assertEqual([n.split(" ")[0] for n in server["FleetNodes"]], list(self.NODES))
        self.assertIn("postgresql://transportd@127.0.0.1:%d/" % self.cluster.port, server["ConfigurationStore"])
        self.assertIn("(reachable)", server["ConfigurationStore"])
        self.assertGreater(int(server["ConfigurationVersion"]), 0)

    def test_each_node_keeps_its_own_receive_connectors(self):
        for node in self.nodes:
            names = self.ok(node, "get-receiveconnector", "--format", "name").splitlines()
            self.assertEqual(names, ["%s\\Default %s" % (node.name, node.name)])
        a, b, _ = self.nodes
        self.ok(a, "set-receiveconnector", "Default MAIL01", "--tarpit-interval", "00:00:01")
        self.ok(b, "new-receiveconnector", "Partners", "--bindings", "127.0.0.1:%d" % free_port(),
                "--remote-ip-ranges", "192.0.2.0/24")
        self.assertEqual(self.ok(a, "get-receiveconnector", "--format", "name").splitlines(), ["MAIL01\\Default MAIL01"])
        self.assertIn("MAIL02\\Partners", self.ok(b, "get-receiveconnector", "--format", "name").splitlines())
        self.assertIn("00:00:01", self.ok(a, "get-receiveconnector", "Default MAIL01", "--format", "list"))
        self.assertIn("00:00:00", self.ok(b, "get-receiveconnector", "Default MAIL02", "--format", "list"))

    def test_another_servers_receive_connectors_through_any_node(self):
        a, b, c = self.nodes
        self.ok(b, "new-receiveconnector", "Partners", "--bindings", "127.0.0.1:%d" % free_port(),
                "--remote-ip-ranges", "192.0.2.0/24")
        # Shown through MAIL01, with MAIL02's identities: by --server (any case, a glob) or by HOST\Name.
        self.assertEqual(self.ok(a, "get-receiveconnector", "--server", "mail02", "--format", "name").splitlines(),
                         ["MAIL02\\Default MAIL02", "MAIL02\\Partners"])
        self.assertEqual(self.ok(a, "Get-ReceiveConnector", "-Server", "*", "--format", "name").splitlines(),
                         ["MAIL01\\Default MAIL01", "MAIL02\\Default MAIL02", "MAIL02\\Partners",
                          "MAIL03\\Default MAIL03"])
        self.assertEqual(self.ok(a, "get-receiveconnector", "MAIL02\\Partners", "--select", "RemoteIPRanges",
                                 "--format", "json"), self.ok(b, "get-receiveconnector", "Partners", "--select",
                                                              "RemoteIPRanges", "--format", "json"))
        self.assertIn("on MAIL02 (its listener is known there only)",
                      self.ok(a, "get-receiveconnector", "--server", "MAIL02", "Partners", "--format", "list"))
        self.assertEqual(self.ok(a, "get-receiveconnector", "--format", "name").splitlines(),
                         ["MAIL01\\Default MAIL01"], "without --server: the node talked to")
        unknown = adminctl(a, "get-receiveconnector", "--server", "MAIL09")
        self.assertEqual(unknown.returncode, 1, unknown.stderr)
        self.assertIn('no server matches "MAIL09": the servers are MAIL01, MAIL02, MAIL03', unknown.stderr)
        # After the command, an endpoint is still the endpoint.
        through_c = adminctl(None, "get-receiveconnector", "--server", "unix:" + c.socket, "--format", "name")
        self.assertEqual(through_c.returncode, 0, through_c.stderr)
        self.assertEqual(through_c.stdout.splitlines(), ["MAIL03\\Default MAIL03"])

        # Changed through MAIL01, in force on MAIL02 as soon as it has heard of it; MAIL01 greets as before.
        self.ok(a, "set-receiveconnector", "MAIL02\\Default MAIL02", "--banner", "220 set on MAIL02 through MAIL01")
        wait_until(lambda: greeting(b.port) == "set on MAIL02 through MAIL01", 5 * TIME_FACTOR,
                   "MAIL02 to greet with the banner set through MAIL01")
        self.assertNotIn("through MAIL01", greeting(a.port))
        # Held to MAIL02's connectors: MAIL02's names are taken there, MAIL01's are not.
        taken = adminctl(a, "set-receiveconnector", "MAIL02\\Partners", "--name", "Default MAIL02")
        self.assertEqual(taken.returncode, 1, taken.stderr)
        self.assertIn('a receive connector named "Default MAIL02" already exists', taken.stderr)
        self.ok(a, "set-receiveconnector", "MAIL02\\Partners", "--name", "Default MAIL01")
        # Removed through MAIL03: gone from MAIL02 too.
        self.ok(c, "remove-receiveconnector", "MAIL02\\Default MAIL01", "--confirm:$false")
        wait_until(lambda: self.ok(b, "get-receiveconnector", "--format", "name").splitlines() ==
                   ["MAIL02\\Default MAIL02"], 5 * TIME_FACTOR, "MAIL02 to have lost the connector removed through MAIL03")


def hang_up_during_held_replies(port, source, sessions):
    """`sessions` clients from `source` asking for an unknown recipient, each hanging up while the 550 is
    held: the impatient harvester (3 abandoned holds discredit a source by default)."""
    clients = []
    try:
        for _ in range(sessions):
            c = RawSmtp(port, source=source, timeout=30)
            clients.append(c)
            assert c.reply()[0] == 220
            assert c.command("EHLO harvester.test")[0] == 250
            assert c.command("MAIL FROM:<h@harvester.test>")[0] == 250
            c.send("RCPT TO:<nobody@example.com>\r\n")
        # The 550 is held for 1 s: hang up in the middle of it, once sure it has not come.
        deadline = time.monotonic() + 0.3
        for c in clients:
            readable, _, _ = select.select([c.sock], [], [], max(0.0, deadline - time.monotonic()))
            assert not readable and not c.buffer, "a 550 came within 0.3 s: it was not held"
    finally:
        for c in clients:
            c.close()


def banner_seconds(port, source):
    begin = time.monotonic()
    with RawSmtp(port, source=source, timeout=30) as c:
        code, _ = c.reply()
        took = time.monotonic() - begin
        c.command("QUIT")
    assert code == 220, code
    return took


@unittest.skipIf(postgres_unavailable() or redis_unavailable(), postgres_unavailable() or redis_unavailable())
class FleetReputationTest(FleetTestCase):
    """Two nodes sharing source reputation through a private Redis (DESIGN §12): a harvester spread over
    the MX hosts is one attacker, and Redis going away loses neither node's view."""
    NODES = ("MAIL01", "MAIL02")
    TARPIT = "00:00:01"  # held replies: the defence records only where the connector tarpits

    def node_args(self):
        return ["--reputation-store", self.redis.url]

    def setUp(self):
        self.redis = RedisServer()
        try:
            super().setUp()
            self.ok(self.nodes[0], "new-accepteddomain", "Example", "--domain-name", "example.com")
            for node in self.nodes:
                wait_until(lambda: self.reputation_store_reachable(node), 10 * TIME_FACTOR,
                           "%s to reach Redis" % node.name)
        except BaseException:
            self.redis.destroy()
            raise

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.redis.destroy()

    def reputation_store_reachable(self, node):
        return samples(scrape(node.metrics_port)[1]).get("transportd_reputation_store_reachable") == 1

    def state(self, node, source):
        r = adminctl(node, "get-sourcereputation", source, "--format", "json")
        if r.returncode == 1 and "not found" in r.stderr.lower():
            return "Clean"
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout or "[]")
        rows = [rows] if isinstance(rows, dict) else rows
        return next((row["State"] for row in rows if row.get("Source") == source), "Clean")

    def test_a_harvester_discredited_on_one_node_waits_for_its_banner_on_the_other(self):
        a, b = self.nodes
        source = "127.0.33.7"
        self.assertLess(banner_seconds(b.port, source), 0.5 * TIME_FACTOR)  # Clean on MAIL02 to begin with
        hang_up_during_held_replies(a.port, source, sessions=4)
        wait_until(lambda: self.state(a, source) == "Discredited", 10 * TIME_FACTOR, "MAIL01 to discredit the harvester")
        discredited = time.monotonic()
        wait_until(lambda: self.state(b, source) == "Discredited", 2 * TIME_FACTOR,
                   "MAIL02 to hold the source MAIL01 discredited as Discredited (within 2 s)")
        print("\nDiscredited on MAIL02 %.3f s after MAIL01 said so" % (time.monotonic() - discredited))
        self.assertGreaterEqual(banner_seconds(b.port, source), 0.9)  # MAIL02 now holds its banner
        self.assertLess(banner_seconds(b.port, "127.0.34.1"), 0.5 * TIME_FACTOR)  # and no one else's
        self.assertIn("other nodes reported it", b.read_log())
        server = json.loads(self.ok(b, "get-transportserver", "--format", "json"))
        self.assertEqual(server["ReputationStore"], "%s (reachable)" % self.redis.url)

    def test_redis_away_each_node_keeps_its_own_view_and_they_merge_when_it_is_back(self):
        a, b = self.nodes
        self.redis.stop()
        for node in self.nodes:
            wait_until(lambda: not self.reputation_store_reachable(node), 10 * TIME_FACTOR,
                       "%s to notice Redis is gone" % node.name)
            code, body = scrape(node.metrics_port, "/healthz")
            self.assertEqual(code, 200, body)  # it takes mail
            self.assertIn("reputation store %s unreachable, judging by this node's own view" % self.redis.url, body)
        self.assertIn("judges sources by its own view", a.read_log())
        # Each node still judges by what it saw itself.
        hang_up_during_held_replies(a.port, "127.0.35.7", sessions=4)
        hang_up_during_held_replies(b.port, "127.0.36.7", sessions=4)
        wait_until(lambda: self.state(a, "127.0.35.7") == "Discredited", 10 * TIME_FACTOR, "MAIL01's own view")
        wait_until(lambda: self.state(b, "127.0.36.7") == "Discredited", 10 * TIME_FACTOR, "MAIL02's own view")
        self.assertGreaterEqual(banner_seconds(a.port, "127.0.35.7"), 0.9)
        self.assertEqual(self.state(b, "127.0.35.7"), "Clean")
        self.assertEqual(self.state(a, "127.0.36.7"), "Clean")
        # Back (empty, as a Redis without persistence restarts): what each held reaches the other.
        self.redis.start()
        wait_until(lambda: self.state(b, "127.0.35.7") == "Discredited" and self.state(a, "127.0.36.7") == "Discredited",
                   10 * TIME_FACTOR, "the two views to merge once Redis is back")
        self.assertGreaterEqual(banner_seconds(b.port, "127.0.35.7"), 0.9)
        self.assertIn("again", a.read_log())


if __name__ == "__main__":
    unittest.main()
