"""The relay scenarios (issue 11, DESIGN §9 "Relay"): `relay` (transportd and Postfix relaying the same load
to the same sink, both queues durable) and `queue-restart` (100,000 messages queued for a next hop that is
down: memory per queued message, then the time from a restart to serving them all again; transportd).

Both start servers of their own, on fresh directories under TMP/relay*, configured to relay rather than
to deliver locally; the shared servers of the other scenarios are not touched. The next hop is
benchlib/sink.py, a separate process on 127.0.0.1. Every load is bounded in count and time.
"""
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time

from .load_clients import Fleet, sources, split
from .procstat import summary_ms
from .servers import Postfix, Transportd, harness, wait_for_banner

mono = time.monotonic
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sink.py")
RELAY_DOMAIN = "relay.test"  # not ours on either server: every recipient is relayed to the next hop
# Seconds of quiet before each measured run. On an ext4 without a journal (this machine's disk) the inode
# allocator skips every inode freed in the last 30 s (35 while its block is dirty), scanning past each:
# a run that starts right after another pays for the files the other just removed. Both servers wait.
FILESYSTEM_QUIET_S = 36


class Sink:
    """A sink.py process: the next hop. `messages` counts every message it has received since it started."""

    def __init__(self, directory, max_seconds):
        self.directory = directory
        err = open(os.path.join(directory, "sink.log"), "ab")
        self.proc = subprocess.Popen([sys.executable, SINK, json.dumps({"max_seconds": max_seconds})],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        err.close()
        self.port, self.messages, self.dumped = None, 0, None
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait(lambda: self.port is not None, 10, "the sink's port")
        self.dumps = 0

    def _read(self):
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.changed:
                if "ready" in msg:
                    self.port = msg["ready"]["port"]
                if "progress" in msg:
                    self.messages = msg["progress"]["messages"]
                if "dumped" in msg:
                    self.dumped = msg["dumped"]
                self.changed.notify_all()

    def wait(self, predicate, timeout, what=None):
        deadline = mono() + timeout
        with self.changed:
            while not predicate():
                left = deadline - mono()
                if left <= 0 or self.proc.poll() is not None:
                    if what:
                        raise RuntimeError("sink: no %s within %.0f s" % (what, timeout))
                    return False
                self.changed.wait(min(left, 0.5))
        return True

    def dump(self):
        """Every receipt since the last dump: {"receipts": [[message id, monotonic time], ...], "cpu_s": ...}."""
        self.dumps += 1
        path = os.path.join(self.directory, "sink-dump-%d.json" % self.dumps)
        self.proc.stdin.write("dump %s\n" % path)
        self.proc.stdin.flush()
        self.wait(lambda: self.dumped == path, 60, "dump")
        with open(path) as f:
            out = json.load(f)
        os.unlink(path)
        return out

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class RelayPostfix(Postfix):
    """The bench's private Postfix, relaying: mynetworks = 127.0.0.0/8 (every client is trusted, as on
    transportd's Apps connector) and relayhost = [127.0.0.1]:SINK (the smart host; its default `smtp` client
    and queue, which fsyncs before the 250)."""

    name = "Postfix"

    def __init__(self, tmp, next_hop_port, log=False):
        super().__init__(tmp, 5, log=log)
        self.next_hop_port = next_hop_port

    def configure(self):
        super().configure()
        with open(os.path.join(self.etc, "main.cf"), "a") as f:
            f.write("mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:%d\n" % self.next_hop_port)
        self.changes.append("relaying: mynetworks = 127.0.0.0/8 (the clients may relay, like transportd's trusted "
                            "Apps connector), relayhost = [127.0.0.1]:%d (the sink; Postfix's own `smtp` client, "
                            "its defaults: 20 connections per destination, connection cache on demand)"
                            % self.next_hop_port)

    def queued(self):
        return self.queue_size()


class RelayTransportd(Transportd):
    """transportd relaying: a trusted receive connector for 127.0.0.0/8 and one send connector for every
    domain to the smart host."""

    def __init__(self, build_dir, tmp, next_hop_port):
        super().__init__(build_dir, tmp)
        self.next_hop_port = next_hop_port

    def configure(self):
        self.ctl("new-accepteddomain", "ExampleTest", "--domain-name", "example.test")
        self.ctl("new-receiveconnector", "Apps", "--bindings", "127.0.0.1:%d" % self.port, "--remote-ip-ranges",
                 "127.0.0.0/8", "--auth-mechanism", "ExternalAuthoritative", "--permission-groups", "ExchangeServers")
        self.ctl("new-sendconnector", "Sink", "--address-spaces", "*", "--smart-hosts",
                 "127.0.0.1:%d" % self.next_hop_port)
        self.ctl("set-harvestdefenceconfig", "--enabled", "false")
        self.changes = [
            "accepted domain example.test (Authoritative), no mailboxes: every recipient (@%s) is relayed" % RELAY_DOMAIN,
            "receive connector Apps on the default connector's binding 127.0.0.1:%d, RemoteIPRanges 127.0.0.0/8, "
            "AuthMechanism ExternalAuthoritative, PermissionGroups ExchangeServers (a trusted application "
            "server's relay connector; Postfix: mynetworks = 127.0.0.0/8)" % self.port,
            "send connector Sink: AddressSpaces *, SmartHosts 127.0.0.1:%d (Postfix: relayhost); every other "
            "property at its default (SmtpMaxMessagesPerConnection 20, opportunistic STARTTLS: the sink offers "
            "none); transport server defaults (MaxPerDomainOutboundConnections 20, as Postfix's "
            "default_destination_concurrency_limit)" % self.next_hop_port,
            "harvest defence off, as in the other non-harvest scenarios",
        ]

    def queue_dir(self):
        return os.path.join(self.data_dir, "queue")

    def queued(self):
        try:
            return sum(1 for n in os.listdir(self.queue_dir()) if n.endswith(".ctl"))
        except FileNotFoundError:
            return 0

    def log_problems(self, limit=20):
        """Lines of the daemon's log that say something went wrong (for the report, never a verdict)."""
        try:
            text = self.daemon.read_log()
        except OSError:
            return {"lines": 0, "first": []}
        bad = [line for line in text.splitlines()
               if any(w in line.lower() for w in ("error", "fatal", "abort", "exception", "assert", "crash"))]
        return {"lines": len(bad), "first": bad[:limit]}


def load_specs(port, sessions, messages, size, first_block, max_seconds):
    specs, first = [], 0
    srcs = sources(first_block, sessions)
    for k in split(sessions, 2):
        specs.append({"mode": "throughput", "host": "127.0.0.1", "port": port, "count": k,
                      "sources": srcs[first:first + k], "first_session": first, "messages": messages,
                      "size": size, "rcpt_domain": RELAY_DOMAIN, "record_acks": True, "max_seconds": max_seconds})
        first += k
    return specs


def drive(cfg, tmp, sink, port, sessions, srv, log):
    """One load of sessions × messages to `port` (a relay, or the sink itself when srv is None), until the
    sink has every accepted message and the relay's queue is empty. Figures as in README's relay table."""
    m = max(1, cfg.relay_total // sessions)
    sink.dump()  # forget earlier receipts
    fleet = Fleet(load_specs(port, sessions, m, cfg.tp_size, 200, cfg.relay_max_seconds), tmp)
    cpu = lambda: srv.cpu_seconds() if srv else None  # noqa: E731
    try:
        ready = fleet.wait_ready(60)
        count0 = sink.messages
        cpu0, t_go = cpu(), mono()
        fleet.send("go")
        results = fleet.results(timeout=cfg.relay_max_seconds + 60)
    finally:
        fleet.kill()
    c = {}
    acks = []
    for r in results:
        for k, v in ((r or {}).get("counts") or {}).items():
            c[k] = c.get(k, 0) + v
        acks.extend((r or {}).get("acks") or [])
    accepted = c.get("accepted", 0)
    t_last_250 = max(((r or {}).get("t_end") or t_go) for r in results)
    cpu_250 = cpu()
    all_there = sink.wait(lambda: sink.messages - count0 >= accepted, cfg.relay_max_seconds)
    t_sink_all = mono()
    # The relay's work ends when its queue is empty too (both remove the delivered message's files).
    deadline = mono() + 120
    while srv and srv.queued() > 0 and mono() < deadline:
        time.sleep(0.05)
    t_empty = mono()
    cpu1 = cpu()
    left = srv.queued() if srv else 0
    d = sink.dump()
    receipts = {}
    duplicates = 0
    for key, t in d["receipts"]:
        if key in receipts:
            duplicates += 1
        else:
            receipts[key] = t
    lat, missing = [], 0
    for key, t in acks:
        if key in receipts:
            lat.append(receipts[key] - t)
        else:
            missing += 1
    t_last = max(receipts.values()) if receipts else t_sink_all
    e2e = t_last - t_go
    out = {
        "sessions": sessions, "messages_per_session": m, "message_bytes": cfg.tp_size, "ready": ready,
        "accepted": accepted, "refused": {k: v for k, v in c.items() if k != "accepted"},
        "sink_received": len(d["receipts"]), "sink_without_message_id": d.get("without_message_id"),
        "missing_at_sink": missing, "duplicates_at_sink": duplicates, "all_arrived": bool(all_there) and missing == 0,
        "seconds_to_last_250": t_last_250 - t_go, "accepted_per_s": accepted / (t_last_250 - t_go) if t_last_250 > t_go else None,
        "seconds_to_all_at_sink": e2e, "messages_per_s": accepted / e2e if e2e > 0 and accepted else None,
        "seconds_to_queue_empty": t_empty - t_go if srv else None, "queued_at_end": left,
        "latency_250_to_sink": summary_ms(lat),
        "client_cpu_s": sum((r or {}).get("cpu_s", 0.0) for r in results),
        "sink_cpu_s": d.get("cpu_s"),
    }
    if srv:
        out.update({"server_cpu_s_to_last_250": cpu_250 - cpu0, "server_cpu_s": cpu1 - cpu0,
                    "server_cpu_ms_per_message": 1000 * (cpu1 - cpu0) / accepted if accepted else None})
    log("relay: %s, %d sessions: %d accepted, %.0f msg/s end to end (%.0f/s accepted), 250→sink p50 %s p99 %s ms, "
        "server CPU %s ms/msg, missing %d, duplicates %d" % (
            srv.name if srv else "sink alone", sessions, accepted, out["messages_per_s"] or 0, out["accepted_per_s"] or 0,
            _n(out["latency_250_to_sink"].get("p50_ms")), _n(out["latency_250_to_sink"].get("p99_ms")),
            _n(out.get("server_cpu_ms_per_message"), 3), missing, duplicates))
    return out


def _n(v, digits=1):
    return "—" if v is None else "%.*f" % (digits, v)


def warm_up(cfg, tmp, sink, srv, log):
    """A few hundred messages first: Postfix starts its processes on demand, both open their first files."""
    n0 = sink.messages
    fleet = Fleet(load_specs(srv.port, 4, 50, cfg.tp_size, 230, 120), tmp)
    try:
        fleet.wait_ready(30)
        fleet.send("go")
        results = fleet.results(timeout=150)
    finally:
        fleet.kill()
    accepted = sum(((r or {}).get("counts") or {}).get("accepted", 0) for r in results)
    if not sink.wait(lambda: sink.messages - n0 >= accepted, 120):
        log("relay: warning: %s's warm-up did not all reach the sink" % srv.name)


def run_relay(cfg, build_dir, tmp, which, log, postfix_log=False):
    base = os.path.join(tmp, "relay")
    os.makedirs(base, exist_ok=True)
    entry = {"sink": {"runs": []}, "configuration": {}}
    sink = Sink(base, cfg.relay_max_seconds * 20 + 1800)
    servers = []
    try:
        for n in cfg.relay_sessions:
            log("relay: the sink alone, %d sessions" % n)
            entry["sink"]["runs"].append(drive(cfg, base, sink, sink.port, n, None, log))
        if "transportd" in which:
            os.makedirs(os.path.join(base, "td"), exist_ok=True)
            td = RelayTransportd(build_dir, os.path.join(base, "td"), sink.port)
            servers.append(td)
            td.start()
            td.configure()
            wait_for_banner(td.port, 15)
        if "postfix" in which:
            pf = RelayPostfix(os.path.join(base, "pf"), sink.port, log=postfix_log)
            os.makedirs(pf.base, exist_ok=True)
            servers.append(pf)
            pf.configure()
            pf.start()
        for srv in servers:
            entry["configuration"][srv.name] = {"version": srv.version(), "changes": srv.changes}
            entry[srv.name] = {"runs": []}
            warm_up(cfg, base, sink, srv, log)
        for n in cfg.relay_sessions:
            for srv in servers:
                time.sleep(FILESYSTEM_QUIET_S)
                entry[srv.name]["runs"].append(drive(cfg, base, sink, srv.port, n, srv, log))
                if not srv.alive():
                    raise RuntimeError("%s is no longer running after relaying" % srv.name)
        for srv in servers:
            if isinstance(srv, RelayTransportd):
                entry[srv.name]["log_problems"] = srv.log_problems()
    finally:
        for srv in servers:
            try:
                srv.stop()
            except Exception as e:  # noqa: BLE001
                log("stopping %s: %s" % (srv.name, e))
        sink.stop()
    return entry


# ---------------------------------------------------------------------------------------- queue-restart

def get_queue_count(srv):
    """Sum of get-queue's MessageCount, or None when adminctl has no get-queue or does not answer."""
    try:
        r = harness.adminctl(srv.daemon, "get-queue", "--format", "json")
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0:
        return None
    try:
        rows = json.loads(r.stdout or "[]")
    except ValueError:
        return None
    return sum(int(q.get("MessageCount", 0) or 0) for q in rows)


def banner_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(1)
            return s.recv(512).startswith(b"220")
    except OSError:
        return False


def run_queue_restart(cfg, build_dir, tmp, log):
    base = os.path.join(tmp, "relay-queue")
    os.makedirs(base, exist_ok=True)
    dead = harness.free_port()  # nothing listens there: every connection to the next hop is refused
    td = RelayTransportd(build_dir, base, dead)
    n_total = cfg.qr_messages
    sessions = cfg.qr_sessions
    m = math.ceil(n_total / sessions)
    sessions = math.ceil(n_total / m)
    try:
        td.start()
        td.configure()
        wait_for_banner(td.port, 15)
        has_get_queue = get_queue_count(td) is not None
        time.sleep(1.0)
        mem0 = td.memory()
        log("queue-restart: queuing %d messages (%d sessions x %d) for a next hop that is down (127.0.0.1:%d)" % (
            sessions * m, sessions, m, dead))
        specs, first = [], 0
        srcs = sources(200, sessions)
        for k in split(sessions, 2):
            specs.append({"mode": "throughput", "host": "127.0.0.1", "port": td.port, "count": k,
                          "sources": srcs[first:first + k], "first_session": first, "messages": m,
                          "size": cfg.tp_size, "rcpt_domain": RELAY_DOMAIN, "max_seconds": cfg.qr_max_seconds})
            first += k
        cpu0 = td.cpu_seconds()
        fleet = Fleet(specs, base)
        try:
            fleet.wait_ready(60)
            t_go = mono()
            fleet.send("go")
            results = fleet.results(timeout=cfg.qr_max_seconds + 60)
        finally:
            fleet.kill()
        t_in = mono() - t_go
        accepted = sum(((r or {}).get("counts") or {}).get("accepted", 0) for r in results)
        refused = {}
        for r in results:
            for k, v in ((r or {}).get("counts") or {}).items():
                if k != "accepted":
                    refused[k] = refused.get(k, 0) + v
        cpu_in = td.cpu_seconds() - cpu0
        time.sleep(3.0)  # let the first delivery attempts fail and the queue settle
        ctl_before = td.queued()
        count_before = get_queue_count(td) if has_get_queue else None
        mem1 = td.memory()
        log("queue-restart: %d accepted in %.1f s; %d control files, get-queue %s; RSS %d -> %d KiB" % (
            accepted, t_in, ctl_before, count_before, mem0["rss"], mem1["rss"]))
        # Restart: SIGTERM, then start and watch for the banner and the full queue.
        t_stop = mono()
        td.daemon.stop()
        stop_s = mono() - t_stop
        d = td.daemon
        d.log = open(d.log_path, "ab")
        t0 = mono()
        d.proc = subprocess.Popen(d.command(), stdout=d.log, stderr=d.log)
        t_banner = t_admin = t_full = None
        deadline = t0 + cfg.qr_restart_deadline
        last_count = None
        while mono() < deadline and d.proc.poll() is None:
            if t_banner is None and banner_ok(td.port):
                t_banner = mono() - t0
            if t_full is None:
                if has_get_queue:
                    last_count = get_queue_count(td)
                    if last_count is not None and t_admin is None:
                        t_admin = mono() - t0
                    if last_count is not None and last_count >= ctl_before:
                        t_full = mono() - t0
                elif os.path.exists(d.socket) and harness.adminctl(d, "get-transportserver").returncode == 0:
                    t_admin = t_full = mono() - t0
            if t_banner is not None and t_full is not None:
                break
            time.sleep(0.005)
        if d.proc.poll() is not None:
            raise RuntimeError("transportd exited with %s after the restart" % d.proc.returncode)
        time.sleep(2.0)
        mem2 = td.memory()
        ctl_after = td.queued()
        count_after = get_queue_count(td) if has_get_queue else None
        out = {
            "messages_sent": sessions * m, "sessions": sessions, "message_bytes": cfg.tp_size, "accepted": accepted,
            "refused": refused, "seconds_to_queue_all": t_in, "accepted_per_s": accepted / t_in if t_in > 0 else None,
            "server_cpu_ms_per_message_intake": 1000 * cpu_in / accepted if accepted else None,
            "client_cpu_s": sum((r or {}).get("cpu_s", 0.0) for r in results),
            "memory_idle_kib": mem0, "memory_queued_kib": mem1, "memory_after_restart_kib": mem2,
            "rss_per_queued_message_kib": (mem1["rss"] - mem0["rss"]) / ctl_before if ctl_before else None,
            "rss_per_queued_message_after_restart_kib": (mem2["rss"] - mem0["rss"]) / ctl_after if ctl_after else None,
            "ctl_files_before_restart": ctl_before, "get_queue_before_restart": count_before,
            "ctl_files_after_restart": ctl_after, "get_queue_after_restart": count_after,
            "has_get_queue": has_get_queue, "sigterm_to_exit_s": stop_s,
            "restart_to_banner_s": t_banner, "restart_to_admin_s": t_admin, "restart_to_full_queue_s": t_full,
            "restart_to_serving_s": max(t_banner, t_full) if t_banner is not None and t_full is not None else None,
            "last_get_queue_while_waiting": last_count,
            "all_kept": ctl_after == accepted and (count_after is None or count_after == accepted),
            "log_problems": td.log_problems(),
        }
        log("queue-restart: RSS/queued message %s KiB (after restart %s KiB); restart: banner %s s, full queue %s s; "
            "kept %s/%s (get-queue %s)" % (_n(out["rss_per_queued_message_kib"], 2),
                                           _n(out["rss_per_queued_message_after_restart_kib"], 2),
                                           _n(t_banner, 3), _n(t_full, 3), ctl_after, accepted, count_after))
        changes = [c if not c.startswith("send connector Sink") else
                   "send connector Sink: AddressSpaces *, SmartHosts 127.0.0.1:%d, where nothing listens (the next "
                   "hop is down: every connection is refused); transport server defaults (retry after "
                   "OutboundConnectionFailureRetryInterval, 10 minutes)" % dead for c in td.changes]
        return {"transportd": out, "configuration": {"transportd": {"version": td.version(), "changes": changes}}}
    finally:
        try:
            td.stop()
        except Exception as e:  # noqa: BLE001
            log("stopping transportd: %s" % e)
