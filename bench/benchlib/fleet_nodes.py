"""The fleet scenario (issue 12, DESIGN §12): three transportd nodes on one private PostgreSQL (their
configuration) and one private Redis (source reputation), all on loopback, and what sharing costs:

1. change propagation: an admin change made through MAIL01 (new-mailbox), and the time until MAIL02 and
   MAIL03 both accept mail for it (a fresh SMTP session per probe: a session keeps the snapshot it began
   with), measured from adminctl's return and from its start;
2. discredit propagation: a harvester hangs up on held replies at MAIL01 until discredited (3 abandoned
   holds by default; it makes 4); the time from its last hang-up until MAIL02 holds it Discredited;
3. RCPT latency on a fleet node (PostgreSQL store, Redis reputation) against a lone node on SQLite:
   the snapshot is local, so no difference is expected; shown.

Reuses tests/integration/fleet_peers.py (the private PostgreSQL, Redis and fleet nodes of the tests).
"""
import json
import os
import select
import socket
import sys
import time
import urllib.request

from . import procstat

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import fleet_peers  # noqa: E402
import harness  # noqa: E402

mono = time.monotonic
DOMAIN = "example.test"


class Smtp:
    """A minimal blocking SMTP client for probes and latency samples."""

    def __init__(self, port, source="127.0.0.1", timeout=30):
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""

    def reply(self):
        while True:
            lines = self.buffer.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) >= 4 and line[3:4] == b" ":
                    self.buffer = b"\r\n".join(lines[i + 1:])
                    return int(line[:3])
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buffer += data

    def command(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def accepts(port, address):
    """Whether a new session on `port` gets 250 for RCPT TO:<address>."""
    c = Smtp(port)
    try:
        c.reply()
        c.command("EHLO probe.test")
        c.command("MAIL FROM:<probe@remote.test>")
        code = c.command("RCPT TO:<%s>" % address)
        c.command("QUIT")
        return code == 250
    finally:
        c.close()


def ctl(node, *args):
    r = harness.adminctl(node, *args)
    if r.returncode != 0:
        raise RuntimeError("adminctl %s on %s failed (%d): %s" % (" ".join(args), getattr(node, "name", "?"),
                                                                  r.returncode, r.stderr.strip()))
    return r.stdout


def state(node, source):
    """The State of `source`'s own record on `node` ("" when it has none)."""
    r = harness.adminctl(node, "get-sourcereputation", source, "--format", "json")
    if r.returncode != 0 or not r.stdout.strip():
        return ""
    rows = json.loads(r.stdout)
    rows = [rows] if isinstance(rows, dict) else rows
    return next((row.get("State", "") for row in rows if row.get("Source") == source), "")


def wait(predicate, timeout, what):
    deadline = mono() + timeout
    while mono() < deadline:
        if predicate():
            return mono()
        time.sleep(0.001)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))


def change_propagation(nodes, count, log):
    a, others = nodes[0], nodes[1:]
    from_return, from_start = [], []
    for i in range(count):
        address = "fleet%d@%s" % (i, DOMAIN)
        started = mono()
        ctl(a, "new-mailbox", address)
        returned = mono()
        pending = list(others)
        while pending:
            pending = [n for n in pending if not accepts(n.port, address)]
            if pending and mono() - returned > 30:
                raise RuntimeError("%s not accepted by %s 30 s after the change" % (address, pending[0].name))
        done = mono()
        from_return.append(done - returned)
        from_start.append(done - started)
    log("fleet: %d changes: in force everywhere p50 %.1f ms after adminctl returned" %
        (count, 1000 * procstat.percentile(sorted(from_return), 50)))
    return {"changes": count, "from_adminctl_return": procstat.summary_ms(from_return),
            "from_adminctl_start": procstat.summary_ms(from_start)}


def hang_up_during_held_replies(port, source, sessions):
    clients = []
    try:
        for _ in range(sessions):
            c = Smtp(port, source=source)
            clients.append(c)
            c.reply()
            c.command("EHLO harvester.test")
            c.command("MAIL FROM:<h@harvester.test>")
            c.sock.sendall(b"RCPT TO:<nobody@example.test>\r\n")
        deadline = mono() + 0.3
        for c in clients:
            readable, _, _ = select.select([c.sock], [], [], max(0.0, deadline - mono()))
            if readable:
                raise RuntimeError("a 550 came within 0.3 s: it was not held")
    finally:
        for c in clients:
            c.close()
    return mono()


def discredit_propagation(nodes, count, log):
    a, b = nodes[0], nodes[1]
    samples = []
    for i in range(count):
        source = "127.%d.0.7" % (60 + i)  # each in a /24 of its own: a shared prefix would be capped
        hung_up = hang_up_during_held_replies(a.port, source, 4)
        seen = wait(lambda: state(b, source) == "Discredited", 30, "%s Discredited on MAIL02" % source)
        samples.append(seen - hung_up)
    log("fleet: %d harvesters: Discredited on MAIL02 p50 %.0f ms after their last hang-up at MAIL01" %
        (count, 1000 * procstat.percentile(sorted(samples), 50)))
    return {"sources": count, "hang_up_to_discredited_elsewhere": procstat.summary_ms(samples)}


def rcpt_latency(port, count):
    """`count` RCPT round trips for a mailbox that exists, in transactions of 50, on one session."""
    c = Smtp(port)
    samples = []
    try:
        c.reply()
        c.command("EHLO latency.test")
        while len(samples) < count:
            c.command("MAIL FROM:<sender@remote.test>")
            for i in range(min(50, count - len(samples))):
                t = mono()
                code = c.command("RCPT TO:<user%d@%s>" % (1 + i, DOMAIN))
                samples.append(mono() - t)
                if code != 250:
                    raise RuntimeError("RCPT answered %d" % code)
            c.command("RSET")
        c.command("QUIT")
    finally:
        c.close()
    return procstat.summary_ms(samples)


def served_version(node):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % node.metrics_port, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("transportd_config_version "):
            return int(float(line.split()[1]))
    return -1


def large_directory(cluster, database, nodes, count, log):
    """`count` more mailboxes written straight into PostgreSQL in one transaction (as a directory import
    would), then: how long until every node serves them, what a node's memory grows by, and what one
    ordinary change costs to spread at that size (each node loads the whole snapshot per change)."""
    rss_before = procstat.memory_of([nodes[1].proc.pid])["rss"]
    sql = ("BEGIN; INSERT INTO mailboxes (\"PrimarySmtpAddress\", \"EmailAddresses\", \"DisplayName\") "
           "SELECT 'bulk' || g || '@%s', '', 'Bulk ' || g FROM generate_series(1, %d) g; "
           "UPDATE config_version SET version = version + 1 WHERE id = 1; "
           "SELECT pg_notify('transportd_config', version::text) FROM config_version; COMMIT; "
           "SELECT 'version ' || version FROM config_version;" % (DOMAIN, count))
    started = mono()
    out = cluster.run([os.path.join(fleet_peers.PG_BIN, "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                       "transportd", "-d", database, "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
    committed = mono()
    target = int(next(line for line in out.splitlines() if line.startswith("version ")).split()[1])
    last = "bulk%d@%s" % (count, DOMAIN)
    # The version is counted when the snapshot is loaded, the mailboxes are in force once the listeners
    # applied it: wait for both.
    wait(lambda: all(served_version(n) >= target for n in nodes), 300, "every node to load the import")
    wait(lambda: all(accepts(n.port, last) for n in nodes), 300, "every node to accept %s" % last)
    served = mono()
    rss_after = procstat.memory_of([nodes[1].proc.pid])["rss"]
    spread = []
    for i in range(3):
        address = "after-import%d@%s" % (i, DOMAIN)
        ctl(nodes[0], "new-mailbox", address)
        returned = mono()
        wait(lambda: all(accepts(n.port, address) for n in nodes[1:]), 300, "%s on every node" % address)
        spread.append(mono() - returned)
    log("fleet: %d mailboxes imported: served everywhere %.1f s after COMMIT; one change then spreads in %.0f ms" %
        (count, served - committed, 1000 * procstat.percentile(sorted(spread), 50)))
    return {"mailboxes": count, "commit_s": committed - started, "served_everywhere_after_commit_s": served - committed,
            "rss_growth_kib": rss_after - rss_before, "rss_after_kib": rss_after,
            "one_change_after": procstat.summary_ms(spread)}


def run_fleet(cfg, build_dir, tmp, log):
    harness.TRANSPORTD = os.path.join(build_dir, "transportd", "transportd")
    harness.ADMINCTL = os.path.join(build_dir, "adminctl", "adminctl")
    why = fleet_peers.postgres_unavailable() or fleet_peers.redis_unavailable()
    if why:
        raise RuntimeError("fleet: " + why)
    base = os.path.join(tmp, "fleet")
    os.makedirs(base, exist_ok=True)
    cluster = fleet_peers.PostgresCluster()
    redis = fleet_peers.RedisServer()
    nodes, lone = [], None
    try:
        database = "bench"
        store = cluster.new_database(database)
        for name in ("MAIL01", "MAIL02", "MAIL03"):
            node = fleet_peers.FleetNode(os.path.join(base, name), harness.free_port(), name, store,
                                         ["--reputation-store", redis.url])
            node.start()
            nodes.append(node)
        log("fleet: 3 nodes on %s and %s" % (store, redis.url))
        ctl(nodes[0], "new-accepteddomain", "ExampleTest", "--domain-name", DOMAIN)
        for i in range(1, 51):
            ctl(nodes[0], "new-mailbox", "user%d@%s" % (i, DOMAIN))
        # Refusals answer at once while changes are probed (a held 550 would be timed instead).
        for n in nodes:
            ctl(n, "set-receiveconnector", "Default %s" % n.name, "--tarpit-interval", "00:00:00")
        result = {"nodes": 3, "config_store": "PostgreSQL 15 (private cluster, fsync off)",
                  "reputation_store": "Redis (private, no persistence)"}
        result["change_propagation"] = change_propagation(nodes, cfg.fleet_changes, log)
        result["large_directory"] = large_directory(cluster, database, nodes, cfg.fleet_import, log)
        for n in nodes:  # the defence judges only where the connector tarpits
            ctl(n, "set-receiveconnector", "Default %s" % n.name, "--tarpit-interval", "00:00:01")
        result["discredit_propagation"] = discredit_propagation(nodes, cfg.fleet_harvesters, log)

        # RCPT latency: the fleet node against a lone SQLite node with the same mailboxes.
        lone = harness.Daemon(os.path.join(base, "lone"), harness.free_port())
        lone.start()
        ctl(lone, "new-accepteddomain", "ExampleTest", "--domain-name", DOMAIN)
        for i in range(1, 51):
            ctl(lone, "new-mailbox", "user%d@%s" % (i, DOMAIN))
        ctl(lone, "set-receiveconnector", "*", "--tarpit-interval", "00:00:01")
        rounds = []
        for _ in range(3):  # interleaved, so that the machine's moods fall on both alike
            rounds.append({"postgresql_redis": rcpt_latency(nodes[1].port, cfg.fleet_rcpts),
                           "sqlite": rcpt_latency(lone.port, cfg.fleet_rcpts)})
        best = lambda key: min((r[key] for r in rounds), key=lambda s: s["p50_ms"])  # noqa: E731
        result["rcpt_latency"] = {"rcpts_per_round": cfg.fleet_rcpts, "rounds": rounds,
                                  "postgresql_redis": best("postgresql_redis"), "sqlite": best("sqlite")}
        log("fleet: RCPT p50 %.3f ms (PostgreSQL + Redis node) vs %.3f ms (SQLite)" % (
            result["rcpt_latency"]["postgresql_redis"]["p50_ms"], result["rcpt_latency"]["sqlite"]["p50_ms"]))
        return result
    finally:
        for n in nodes + ([lone] if lone else []):
            try:
                n.stop()
            except Exception as e:  # noqa: BLE001
                log("stopping a node: %s" % e)
        redis.destroy()
        cluster.destroy()
