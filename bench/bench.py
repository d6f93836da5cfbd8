#!/usr/bin/env python3
"""transportd against Postfix, side by side: the scenarios of DESIGN.md §9 / issue 6.

Run through bench/run (which installs Postfix and builds build-bench/); see bench/README.md.
Everything talks to 127.0.0.0/8 only; every client loop is bounded in count and time.
"""
import argparse
import asyncio
import datetime
import json
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from benchlib import procstat, report  # noqa: E402
from benchlib.load_clients import Fleet, legit_run, sources, split  # noqa: E402
from benchlib.procstat import summary_ms  # noqa: E402
from benchlib.servers import Postfix, Transportd, USERS  # noqa: E402
from benchlib import fleet_nodes, harvest_matrix, loadgen, relay  # noqa: E402

mono = time.monotonic
SCENARIOS = ["hold", "harvest", "throughput", "accuracy", "admin", "relay", "queue-restart", "fleet"]
OWN_SERVERS = ("harvest", "relay", "queue-restart", "fleet")  # scenarios that start servers of their own


def log(*parts):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *parts, flush=True)


class Settings:
    """Sizes of each scenario: the issue's numbers, or small ones with --quick."""

    def __init__(self, quick):
        self.quick = quick
        self.tarpit_seconds = 5
        self.hold_levels = [200] if quick else [1000, 5000, 19000]
        self.legit_idle = 20 if quick else 100
        self.legit_held = 20 if quick else 200
        self.legit_budget = 10 if quick else 40
        # harvest: the matrix of benchlib/harvest_matrix.py, every cell at once for harvest_seconds after a
        # baseline in which only the legitimate senders run.
        self.harvest_seconds = 20 if quick else 120
        self.harvest_baseline = 8 if quick else 30
        self.harvest_per_source = 5  # connections per attacking address, as in issue 10's measurement
        self.harvest_patience = 0.5  # the impatient attacker hangs up when a RCPT reply takes longer
        self.harvest_valid = 0.05
        self.harvest_all_at_once = quick  # else cells run in waves of twins (see harvest_matrix.waves)
        self.harvest_addresses = 400 if quick else 4000  # real addresses to find, split between a cell's sources
        self.legit_rate = 2.0  # the legitimate sender's messages per second (1..3 recipients each)
        self.legit_stale = 0.03
        self.legit_held_s = 1.0  # an accepted recipient answered this late was held
        self.legit_added_p99_ms = 20.0  # "no added delay": under the hold scenario's whole-transaction budget
        self.tp_sessions = 4 if quick else 20
        self.tp_messages = 100 if quick else 2000
        self.tp_size = 4096
        self.acc_waits = 300 if quick else 10000
        # RCPTs are sent evenly over the first spread (4 s < the 5 s interval, so every wait overlaps every
        # other one: all are outstanding at once before the first reply), then in a 1 s burst (transportd).
        self.acc_spreads = [2.0, 0.5] if quick else [4.0, 1.0]
        self.admin_reps = 3 if quick else 10
        self.admin_get_runs = 10 if quick else 50
        # relay: each count of sessions relays relay_total messages (split between them) through each server
        # to benchlib/sink.py, after the same load straight to the sink (its capacity alone).
        self.relay_sessions = [4, 16] if quick else [16, 64]
        self.relay_total = 400 if quick else 10000
        self.relay_max_seconds = 300
        # queue-restart: messages queued for a next hop that is down, then a restart (transportd).
        self.qr_messages = 2000 if quick else 100000
        self.qr_sessions = 8 if quick else 50
        self.qr_max_seconds = 900
        self.qr_restart_deadline = 120
        # fleet: changes through one node timed until in force on the others, harvesters discredited on
        # one node timed until discredited on another, RCPT round trips per latency round.
        self.fleet_changes = 10 if quick else 50
        self.fleet_harvesters = 3 if quick else 10
        self.fleet_rcpts = 500 if quick else 5000
        self.fleet_import = 10000 if quick else 100000  # mailboxes imported straight into PostgreSQL


# ---------------------------------------------------------------------------------------------- helpers

def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return None


def fsync_probe(directory, count=100):
    """How long this disk takes to make 4 KiB durable right now (write + fsync), in ms."""
    path = os.path.join(directory, "fsync-probe")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            t = mono()
            os.fsync(fd)
            times.append(mono() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    return summary_ms(times)


def wait_idle(srv, timeout=90):
    """Until the server holds no more client connections (or the timeout): scenarios start from quiet."""
    deadline = mono() + timeout
    while mono() < deadline:
        if procstat.server_sockets(srv.port) == 0:
            return True
        time.sleep(0.2)
    log("warning: %s still holds %d connections" % (srv.name, procstat.server_sockets(srv.port)))
    return False


class Sampler:
    """Samples a server's memory every `interval` seconds in a thread; keeps the peak."""

    def __init__(self, srv, interval=1.0):
        self.srv, self.interval, self.peak = srv, interval, {"pss": 0, "rss": 0}
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag.wait(self.interval):
            m = self.srv.memory()
            for k in ("pss", "rss"):
                self.peak[k] = max(self.peak[k], m[k])

    def stop(self):
        self.stop_flag.set()
        self.thread.join(5)
        return self.peak


def merged(results, key):
    out = []
    for r in results:
        if r:
            out.extend(r.get(key, []))
    out.sort()
    return out


def counts_of(results):
    total = {}
    for r in results:
        for k, v in ((r or {}).get("counts") or {}).items():
            total[k] = total.get(k, 0) + v
    return total


def client_cpu(results):
    return sum((r or {}).get("cpu_s", 0.0) for r in results)


# ------------------------------------------------------------------------------------------------- hold

def scenario_hold(cfg, srv, tmp):
    return {"levels": [hold_level(cfg, srv, tmp, c) for c in cfg.hold_levels]}


def hold_level(cfg, srv, tmp, count):
    log("hold: %s, C=%d" % (srv.name, count))
    srv.restart()  # a clean baseline: memory freed by an earlier level would hide this level's cost
    # Warm-up, one message per mailbox: transportd makes each Maildir's directory entries durable once per
    # process start (extra fsyncs on the first delivery), and Postfix starts its processes on demand.
    legit_run(srv.port, 100, cfg.legit_budget)
    idle = legit_run(srv.port, cfg.legit_idle, cfg.legit_budget)
    time.sleep(0.5)
    mem0, fds0, kmem0 = srv.memory(), srv.open_fds(), procstat.tcp_kernel_memory_kib()
    workers = max(2, math.ceil(count / 5000))
    per_source = 16  # under transportd's MaxInboundConnectionPerSource 20 and Postfix's 50
    srcs = sources(1, math.ceil(count / per_source))
    ramp_limit = 30 + count / 400.0
    specs, first = [], 0
    for n in split(count, workers):
        k = math.ceil(n / per_source)
        specs.append({"mode": "hold", "host": "127.0.0.1", "port": srv.port, "count": n,
                      "sources": srcs[first:first + k] or srcs[:1], "connect_concurrency": 200,
                      "max_seconds": ramp_limit + cfg.legit_budget + 120})
        first += k
    sampler = Sampler(srv)
    fleet = Fleet(specs, tmp)
    t0 = mono()
    last, last_change, all_served_at = None, t0, None
    try:
        while True:
            time.sleep(0.5)
            p = fleet.progress()
            settled = p.get("served", 0) + p.get("failed", 0)
            snapshot = (p.get("connected", 0), p.get("greeted", 0), settled)
            now = mono()
            if snapshot != last:
                last, last_change = snapshot, now
            if settled >= count:
                all_served_at = now - t0
                break
            if now - last_change > 10 or now - t0 > ramp_limit:
                break
        ramp = mono() - t0
        log("hold: %s C=%d settled after %.1f s: %s" % (srv.name, count, ramp, dict(fleet.progress())))
        time.sleep(1.0)
        mem1, fds1, kmem1 = srv.memory(), srv.open_fds(), procstat.tcp_kernel_memory_kib()
        held_progress = fleet.progress()
        legit = legit_run(srv.port, cfg.legit_held, cfg.legit_budget, first=1000)
        mem2 = srv.memory()
        fleet.send("release")
        results = fleet.results(timeout=120)
    finally:
        fleet.kill()
        peak = sampler.stop()
    wait_idle(srv)
    c = counts_of(results)
    served = c.get("served", 0)
    held = served - c.get("dropped_while_held", 0)
    held_now = held_progress.get("served", 0) - held_progress.get("dropped_while_held", 0)
    delays = merged(results, "rcpt_delays")
    per = lambda a, b: (a - b) / held_now if held_now else None  # noqa: E731
    out = {
        "sessions": count, "client_processes": workers, "source_addresses": len(srcs),
        "connected": c.get("connected", 0), "greeted": c.get("greeted", 0), "served": served,
        "held_until_release": held, "held_when_measured": held_now,
        "never_greeted": c.get("no banner before release", 0),
        "never_connected": c.get("still connecting at release", 0) + c.get("still waiting for a connect slot at release", 0),
        "still_connecting_at_release": c.get("still connecting at release", 0),
        "not_yet_attempted_at_release": c.get("still waiting for a connect slot at release", 0),
        "failed": {k[6:]: v for k, v in c.items() if k.startswith("fail: ")},
        "rcpt_replies": {k[5:]: v for k, v in c.items() if k.startswith("rcpt ")},
        "rcpt_delay": summary_ms(delays),
        "ramp_seconds": ramp, "all_served_after_s": all_served_at,
        "memory_idle_kib": mem0, "memory_held_kib": mem1, "memory_after_legit_kib": mem2, "memory_peak_kib": peak,
        "pss_per_held_session_kib": per(mem1["pss"], mem0["pss"]),
        "rss_per_held_session_kib": per(mem1["rss"], mem0["rss"]),
        "open_fds_idle": fds0, "open_fds_held": fds1,
        "kernel_tcp_memory_kib_idle": kmem0, "kernel_tcp_memory_kib_held": kmem1,
        "legit_idle": idle, "legit_held": legit,
        "client_cpu_s": client_cpu(results),
    }
    log("hold: %s C=%d served %d held %d, PSS/session %s KiB, legit held p99 %s ms (%d/%d ok)" % (
        srv.name, count, served, held_now, report.num(out["pss_per_held_session_kib"], 1),
        report.num(legit["latency"].get("p99_ms"), 1), legit["ok"], legit["attempts"]))
    return out


# ------------------------------------------------------------------------------------------- throughput

def scenario_throughput(cfg, srv, tmp):
    wait_idle(srv)
    n, m = cfg.tp_sessions, cfg.tp_messages
    workers = 2
    srcs = sources(210, n)
    specs, first = [], 0
    for k in split(n, workers):
        specs.append({"mode": "throughput", "host": "127.0.0.1", "port": srv.port, "count": k,
                      "sources": srcs[first:first + k], "first_session": first, "messages": m,
                      "size": cfg.tp_size, "max_seconds": 900})
        first += k
    before = srv.maildir_counts()
    fsync = fsync_probe(tmp)
    log("throughput: %s, %d sessions x %d messages of %d bytes" % (srv.name, n, m, cfg.tp_size))
    fleet = Fleet(specs, tmp)
    try:
        ready = fleet.wait_ready(60)
        cpu0 = srv.cpu_seconds()
        t_go = mono()
        fleet.send("go")
        results = fleet.results(timeout=960)
    finally:
        fleet.kill()
    t_accepted = max((r or {}).get("t_end", mono()) for r in results)
    cpu_accepted = srv.cpu_seconds()
    c = counts_of(results)
    accepted = c.get("accepted", 0)
    expected = {}
    for r in results:
        for u, k in ((r or {}).get("per_user") or {}).items():
            expected[u] = expected.get(u, 0) + k
    # Postfix answers 250 once the message is in its queue; it is in the Maildir once delivered. Wait for it.
    deadline = mono() + 900
    while True:
        after = srv.maildir_counts()
        delivered = sum(after[u] - before[u] for u in USERS)
        if (delivered >= accepted and srv.queue_size() == 0) or mono() > deadline:
            break
        time.sleep(0.2)
    t_delivered = mono()
    cpu1 = srv.cpu_seconds()
    mismatched = [u for u in USERS if after[u] - before[u] != expected.get(u, 0)]
    lat = merged(results, "latencies")
    elapsed = t_accepted - t_go
    out = {
        "sessions": n, "messages_per_session": m, "message_bytes": cfg.tp_size, "ready": ready,
        "accepted": accepted, "refused": {k: v for k, v in c.items() if k != "accepted"},
        "seconds_to_last_250": elapsed, "messages_per_s": accepted / elapsed if elapsed > 0 else None,
        "seconds_to_all_in_maildir": t_delivered - t_go,
        "delivered_per_s": delivered / (t_delivered - t_go) if t_delivered > t_go else None,
        "latency_dot_to_250": summary_ms(lat),
        "server_cpu_s_to_last_250": cpu_accepted - cpu0, "server_cpu_s_to_delivered": cpu1 - cpu0,
        "server_cpu_ms_per_message": 1000 * (cpu1 - cpu0) / accepted if accepted else None,
        "client_cpu_s": client_cpu(results),
        "client_cpu_ms_per_message": 1000 * client_cpu(results) / accepted if accepted else None,
        "maildir_new_files": delivered, "maildir_verified": delivered == accepted and not mismatched,
        "maildir_mismatched_mailboxes": mismatched[:10], "fsync_4k_before": fsync,
    }
    log("throughput: %s %d accepted, %.0f msg/s, p99 %s ms, server CPU %s ms/msg, client CPU %s ms/msg, Maildir %s" % (
        srv.name, accepted, out["messages_per_s"] or 0, report.num(out["latency_dot_to_250"].get("p99_ms"), 1),
        report.num(out["server_cpu_ms_per_message"], 3), report.num(out["client_cpu_ms_per_message"], 3),
        "ok" if out["maildir_verified"] else "MISMATCH"))
    return out


# --------------------------------------------------------------------------------------------- accuracy

def peak_concurrency(results):
    events = []
    for r in results:
        for t_send, t_reply in (r or {}).get("intervals", []):
            events.append((t_send, 1))
            events.append((t_reply, -1))
    events.sort()
    peak = now = 0
    for _, d in events:
        now += d
        peak = max(peak, now)
    return peak


def scenario_accuracy(cfg, srv, tmp, is_postfix):
    runs = []
    for spread in cfg.acc_spreads if not is_postfix else cfg.acc_spreads[:1]:
        runs.append(accuracy_run(cfg, srv, tmp, is_postfix, spread))
    return {"runs": runs}


def accuracy_run(cfg, srv, tmp, is_postfix, spread):
    srv.restart()
    n = cfg.acc_waits
    pre = 0
    if is_postfix:
        n = min(n, 100)  # default_process_limit: Postfix serves 100 sessions at once
        pre = 10         # smtpd_soft_error_limit: it sleeps only from the 11th error of a session on
    workers = max(1, math.ceil(n / 2500))
    srcs = sources(1, math.ceil(n / 16))
    setup = 60 + n / 200.0
    specs, first = [], 0
    for k in split(n, workers):
        s = math.ceil(k / 16)
        specs.append({"mode": "accuracy", "host": "127.0.0.1", "port": srv.port, "count": k,
                      "sources": srcs[first:first + s] or srcs[:1], "pre_rejects": pre, "setup_seconds": setup,
                      "spread_seconds": spread, "connect_concurrency": 200,
                      "max_seconds": setup + spread + cfg.tarpit_seconds + 60})
        first += s
    log("accuracy: %s, %d waits, RCPTs sent evenly over %.1f s" % (srv.name, n, spread))
    fleet = Fleet(specs, tmp)
    try:
        ready = fleet.wait_ready(setup + 10)
        time.sleep(0.5)
        cpu0, load0 = srv.cpu_seconds(), loadavg()
        fleet.send("go")
        results = fleet.results(timeout=spread + cfg.tarpit_seconds + 90)
        cpu1 = srv.cpu_seconds()
    finally:
        fleet.kill()
    c = counts_of(results)
    delays = merged(results, "delays")
    lags = [r["loop_lag"] for r in results if r and r.get("loop_lag")]
    out = {
        "waits_asked": n, "ready": sum((r or {}).get("ready", 0) for r in ready), "measured": len(delays),
        "peak_concurrent_waits": peak_concurrency(results),
        "pre_rejects_per_session": pre, "spread_seconds": spread, "client_processes": workers,
        "replies": {k: v for k, v in c.items()},
        "error": summary_ms(delays, offset=cfg.tarpit_seconds),
        "client_loop_lag_p99_ms": max((l["p99_ms"] for l in lags), default=None),
        "client_loop_lag_max_ms": max((l["max_ms"] for l in lags), default=None),
        "client_cpu_s": client_cpu(results), "server_cpu_s": cpu1 - cpu0, "loadavg_before": load0,
    }
    log("accuracy: %s %d measured (peak %d at once), error p50 %s p99 %s max %s ms" % (
        srv.name, len(delays), out["peak_concurrent_waits"], report.num(out["error"].get("p50_ms"), 2),
        report.num(out["error"].get("p99_ms"), 2), report.num(out["error"].get("max_ms"), 2)))
    return out


# ------------------------------------------------------------------------------------------------ admin

async def visibility_once(srv, value, old_interval_s, env):
    """Probe with new connections every 2 ms while `adminctl set-receiveconnector --tarpit-interval value`
    runs; a probe sees the new value when its rejected RCPT is answered within half the old interval."""
    probes = []
    srcs = sources(220, 100)
    stop = asyncio.Event()
    tasks = []
    limit = old_interval_s / 2.0

    async def probe(k):
        end = mono() + old_interval_s + 5
        conn, why = await loadgen.connect("127.0.0.1", srv.port, srcs[k % len(srcs)], end)
        if conn is None:
            return
        try:
            r = await conn.reply(end)
            if r is None or r[0] != 220:
                return
            t_banner = r[1]
            conn.send(b"HELO probe.test\r\n")
            if (await conn.reply(end) or (0,))[0] != 250:
                return
            conn.send(b"MAIL FROM:<p@remote.test>\r\n")
            if (await conn.reply(end) or (0,))[0] != 250:
                return
            t = mono()
            conn.send(b"RCPT TO:<nobody.probe%d@example.test>\r\n" % k)
            r = await conn.reply(t + limit)
            probes.append((t_banner, r is not None))
        finally:
            conn.close()

    async def launcher():
        k = 0
        end = mono() + 10
        while not stop.is_set() and mono() < end:
            tasks.append(asyncio.get_running_loop().create_task(probe(k)))
            k += 1
            await asyncio.sleep(0.002)

    lt = asyncio.get_running_loop().create_task(launcher())
    await asyncio.sleep(0.2)
    t_start = mono()
    proc = await asyncio.create_subprocess_exec(srv.adminctl_bin, "set-receiveconnector", "*", "--tarpit-interval",
                                                value, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    t_exit = mono()
    if proc.returncode != 0:
        raise RuntimeError("adminctl failed: " + err.decode())
    await asyncio.sleep(0.5)
    stop.set()
    await lt
    await asyncio.gather(*tasks)
    probes.sort()
    first_new = None
    for i in range(len(probes)):
        if all(new for _, new in probes[i:]):
            first_new = probes[i][0] if i < len(probes) else None
            break
    old_after = [t for t, new in probes if not new and t > t_start]
    return {"probes": len(probes), "adminctl_s": t_exit - t_start,
            "visible_after_start_ms": None if first_new is None else 1000 * (first_new - t_start),
            "visible_after_exit_ms": None if first_new is None else 1000 * (first_new - t_exit),
            "old_value_seen_after_start": len(old_after)}


def scenario_admin(cfg, srv, tmp):
    wait_idle(srv)
    env = dict(os.environ, ADMINCTL_SERVER="unix:" + srv.daemon.socket)
    times = []
    for i in range(3 + cfg.admin_get_runs):
        t = mono()
        r = subprocess.run([srv.adminctl_bin, "get-receiveconnector"], env=env, capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("get-receiveconnector failed: %s" % r.stderr)
        if i >= 3:
            times.append(mono() - t)
    # The same process start without any RPC: how much of the above is adminctl starting up.
    start_only = []
    for i in range(3 + cfg.admin_get_runs):
        t = mono()
        subprocess.run([srv.adminctl_bin, "--version"], env=env, capture_output=True, timeout=30)
        if i >= 3:
            start_only.append(mono() - t)
    hyper = None
    if not cfg.quick and subprocess.run(["which", "hyperfine"], capture_output=True).returncode == 0:
        path = os.path.join(tmp, "hyperfine.json")
        r = subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(cfg.admin_get_runs), "--export-json",
                            path, "%s get-receiveconnector" % srv.adminctl_bin], env=env, capture_output=True,
                           timeout=300)
        if r.returncode == 0:
            h = json.load(open(path))["results"][0]
            hyper = {"mean_ms": 1000 * h["mean"], "stddev_ms": 1000 * h["stddev"], "min_ms": 1000 * h["min"],
                     "max_ms": 1000 * h["max"], "runs": len(h["times"])}
    reps = []
    try:
        for _ in range(cfg.admin_reps):
            srv.ctl("set-receiveconnector", "*", "--tarpit-interval", "00:00:01")
            time.sleep(0.3)
            reps.append(asyncio.run(visibility_once(srv, "00:00:00", 1.0, env)))
            wait_idle(srv, 10)
    finally:
        srv.ctl("set-receiveconnector", "*", "--tarpit-interval", "00:00:%02d" % cfg.tarpit_seconds)
    vis = [r["visible_after_start_ms"] for r in reps if r["visible_after_start_ms"] is not None]
    out = {
        "get_receiveconnector": summary_ms(times), "get_receiveconnector_hyperfine": hyper,
        "adminctl_version_only": summary_ms(start_only),
        "set_visibility_runs": reps,
        "visible_after_adminctl_start_ms": {"n": len(vis), "p50_ms": sorted(vis)[len(vis) // 2] if vis else None,
                                            "max_ms": max(vis) if vis else None},
        "visible_after_adminctl_exit_ms_max": max((r["visible_after_exit_ms"] for r in reps
                                                   if r["visible_after_exit_ms"] is not None), default=None),
        "adminctl_set_wall_ms": summary_ms([r["adminctl_s"] for r in reps]),
    }
    log("admin: get-receiveconnector p50 %s p99 %s ms; change visible after %s ms (max)" % (
        report.num(out["get_receiveconnector"].get("p50_ms"), 1), report.num(out["get_receiveconnector"].get("p99_ms"), 1),
        report.num(out["visible_after_adminctl_start_ms"]["max_ms"], 1)))
    return out


# ------------------------------------------------------------------------------------------------- main

SOURCE_PATHS = ["transportd", "store", "adminctl", "proto", "CMakeLists.txt"]


def source_state():
    """HEAD plus a hash of any uncommitted change to the daemon's sources: bench/run takes it before the
    build and bench.py again after, so a change made while build-bench was building is noticed."""
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    diff = subprocess.run(["git", "-C", ROOT, "diff", "HEAD", "--"] + SOURCE_PATHS, capture_output=True).stdout
    import hashlib
    return head + ":" + hashlib.sha1(diff).hexdigest()[:12]


def machine_info(clean_commit=None):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def read(p):
        try:
            return open(p).read().strip()
        except OSError:
            return None
    mem = read("/proc/meminfo").splitlines()[0].split()[1]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    # The work tree is shared with people editing the sources: build-bench/ compiles what is there, so
    # say when that differs from the commit.
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "transportd", "store",
                            "adminctl", "proto", "CMakeLists.txt"], capture_output=True, text=True).stdout
    dirty = " ".join(line[3:] for line in dirty.splitlines() if line.strip())
    if clean_commit:  # bench/run --head: built from a clean export of that commit, whatever the work tree holds
        commit, dirty = clean_commit + " (a clean export of it, built by bench/run --head)", ""
    before = os.environ.get("BENCH_SOURCE_STATE")
    if not clean_commit and before and before != source_state():
        commit += " — WARNING: the sources changed while build-bench/ was being built, so the binaries may match neither"
    return {"cpus": os.cpu_count(), "memory_gib": round(int(mem) / 1048576, 1), "kernel": platform.release(),
            "os": (read("/etc/os-release") or "").split("PRETTY_NAME=")[-1].split("\n")[0].strip('"'),
            "open_files_soft": soft, "open_files_hard": hard, "nr_open": read("/proc/sys/fs/nr_open"),
            "ephemeral_ports": read("/proc/sys/net/ipv4/ip_local_port_range"),
            "somaxconn": read("/proc/sys/net/core/somaxconn"), "python": platform.python_version(),
            "commit": commit + (" + uncommitted changes in " + dirty if dirty else ""),
            "loadavg_at_start": read("/proc/loadavg")}


def stop_leftovers():
    """Stops servers that an earlier bench run left behind when it was killed outright (SIGKILL): a
    private Postfix whose MAIL_CONFIG, or a transportd whose --data-dir, is under a transportd-bench-*
    temp directory. Nothing else is touched."""
    prefix = os.path.join(tempfile.gettempdir(), "transportd-bench-")
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % name, "rb").read().split(b"\0")
            env = open("/proc/%s/environ" % name, "rb").read().split(b"\0")
        except OSError:
            continue
        args = [a.decode("utf-8", "replace") for a in cmd]
        if args and args[0].endswith("/postfix/sbin/master"):
            for e in env:
                if e.startswith(b"MAIL_CONFIG=" + prefix.encode()):
                    conf = e.split(b"=", 1)[1].decode()
                    log("stopping a private Postfix left by an earlier run:", conf)
                    subprocess.run(["postfix", "-c", conf, "stop"], capture_output=True, timeout=60)
        elif args and args[0].endswith("/transportd") and "--data-dir" in args:
            data = args[args.index("--data-dir") + 1] if args.index("--data-dir") + 1 < len(args) else ""
            if data.startswith(prefix):
                log("stopping a transportd left by an earlier run: pid %s, %s" % (name, data))
                try:
                    os.kill(int(name), signal.SIGTERM)
                except ProcessLookupError:
                    pass


def interrupted(signum, frame):
    raise KeyboardInterrupt()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", help="any of %s (default: all)" % ", ".join(SCENARIOS))
    ap.add_argument("--quick", action="store_true", help="small numbers, a couple of minutes in all")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--servers", default="transportd,postfix", help="which servers (default both)")
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-write", action="store_true", help="print figures only; write no results files")
    ap.add_argument("--postfix-log", action="store_true", help="keep a Postfix maillog (costs Postfix CPU)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory (data, Maildirs, logs)")
    ap.add_argument("--hold", metavar="C,C,...", help="hold: session counts instead of 1000,5000,19000")
    ap.add_argument("--waits", type=int, help="accuracy: concurrent waits instead of 10000")
    ap.add_argument("--messages", metavar="SESSIONS,MESSAGES", help="throughput: instead of 20,2000")
    ap.add_argument("--harvest-seconds", type=int, help="harvest: attack seconds per cell instead of 120")
    ap.add_argument("--harvest-all-at-once", action="store_true", help="harvest: every cell at once (as --quick does) "
                    "instead of in waves of twins")
    ap.add_argument("--harvest-cells", metavar="TEXT;TEXT", help="harvest: only the cells whose name contains one "
                    "of these, e.g. 'defence on, impatient, 16' (names as in the results table)")
    ap.add_argument("--relay-sessions", metavar="N,N", help="relay: session counts instead of 16,64")
    ap.add_argument("--relay-messages", type=int, help="relay: messages per run (split between the sessions) "
                    "instead of 10000")
    ap.add_argument("--queue-messages", type=int, help="queue-restart: messages queued instead of 100000")
    ap.add_argument("--source-state", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--clean-commit", help=argparse.SUPPRESS)  # bench/run --head: the commit build-dir was built from
    args = ap.parse_args()
    if args.source_state:
        print(source_state())
        return 0
    scenarios = args.scenarios or SCENARIOS
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error("unknown scenario %r; choose from %s" % (s, ", ".join(SCENARIOS)))
    which = [s.strip().lower() for s in args.servers.split(",") if s.strip()]
    cfg = Settings(args.quick)
    if args.hold:
        cfg.hold_levels = [int(x) for x in args.hold.split(",")]
    if args.waits:
        cfg.acc_waits = args.waits
    if args.messages:
        cfg.tp_sessions, cfg.tp_messages = (int(x) for x in args.messages.split(","))
    if args.harvest_seconds:
        cfg.harvest_seconds = args.harvest_seconds
    if args.harvest_all_at_once:
        cfg.harvest_all_at_once = True
    if args.relay_sessions:
        cfg.relay_sessions = [int(x) for x in args.relay_sessions.split(",")]
    if args.relay_messages:
        cfg.relay_total = args.relay_messages
    if args.queue_messages:
        cfg.qr_messages = args.queue_messages

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the daemons inherit it
    # SIGTERM/SIGHUP end the run like Ctrl-C does, so that the finally below stops both servers.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)

    stop_leftovers()
    tmp = tempfile.mkdtemp(prefix="transportd-bench-")
    log("temp directory", tmp)
    servers = []
    today = datetime.date.today().isoformat()
    name = today + ("-quick" if args.quick else "")
    json_path = os.path.join(args.results_dir, name + ".json")
    results = {"scenarios": {}}
    if os.path.exists(json_path) and not args.no_write:
        with open(json_path) as f:
            results = json.load(f)  # scenarios run separately on one day land in one table
    earlier_servers = results.get("servers") or {}
    results.update({"date": today, "quick": args.quick, "machine": machine_info(args.clean_commit), "servers": {}})
    results["machine"]["fsync_4k"] = fsync_probe(tmp)
    status = 0
    try:
        # The harvest matrix starts servers of its own (one per cell); the others share these two.
        shared = [s for s in scenarios if s not in OWN_SERVERS]
        if not shared:
            results["servers"] = earlier_servers  # the day's other scenarios keep their servers' description
        if shared and "transportd" in which:
            td = Transportd(args.build_dir, tmp, tarpit="00:00:%02d" % cfg.tarpit_seconds)
            servers.append(td)
            td.start()
            td.configure()
        if shared and "postfix" in which:
            pf = Postfix(tmp, cfg.tarpit_seconds, log=args.postfix_log)
            servers.append(pf)
            pf.configure()
            pf.start()
        for srv in servers:
            results["servers"][srv.name] = srv.describe()
            log("%s on 127.0.0.1:%d (%s)" % (srv.name, srv.port, results["servers"][srv.name]["version"]))
        # Timing-sensitive scenarios run before throughput, whose disk load (Postfix's delivery processes
        # waiting for fsync) lingers in the machine for a while; the results files keep the order.
        order = [s for s in ("hold", "harvest", "accuracy", "admin", "fleet", "throughput", "relay", "queue-restart")
                 if s in scenarios]
        for scen in order:
            entry = {"run_at": datetime.datetime.now().isoformat(timespec="seconds"),
                     "commit": results["machine"]["commit"], "quick": args.quick, "loadavg_at_start": loadavg()}
            if scen == "harvest":
                t = mono()
                entry["matrix"] = harvest_matrix.run(cfg, args.build_dir, tmp, which, log,
                                                     args.harvest_cells.split(";") if args.harvest_cells else None)
                entry["matrix"]["scenario_seconds"] = mono() - t
            if scen == "relay":
                t = mono()
                entry.update(relay.run_relay(cfg, args.build_dir, tmp, which, log, args.postfix_log))
                entry["scenario_seconds"] = mono() - t
            if scen == "fleet" and "transportd" in which:
                t = mono()
                entry["transportd"] = fleet_nodes.run_fleet(cfg, args.build_dir, tmp, log)
                entry["scenario_seconds"] = mono() - t
            if scen == "queue-restart" and "transportd" in which:
                t = mono()
                entry.update(relay.run_queue_restart(cfg, args.build_dir, tmp, log))
                entry["scenario_seconds"] = mono() - t
            for srv in servers if scen not in OWN_SERVERS else []:
                if scen == "admin" and srv.name != "transportd":
                    continue
                t = mono()
                if scen == "hold":
                    entry[srv.name] = scenario_hold(cfg, srv, tmp)
                elif scen == "throughput":
                    entry[srv.name] = scenario_throughput(cfg, srv, tmp)
                elif scen == "accuracy":
                    entry[srv.name] = scenario_accuracy(cfg, srv, tmp, isinstance(srv, Postfix))
                elif scen == "admin":
                    entry[srv.name] = scenario_admin(cfg, srv, tmp)
                entry[srv.name]["scenario_seconds"] = mono() - t
                if not srv.alive():
                    raise RuntimeError("%s is no longer running after %s" % (srv.name, scen))
            results["scenarios"][scen] = entry
            if not args.no_write:
                report.write(results, args.results_dir, name)
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    except Exception:
        import traceback
        traceback.print_exc()
        status = 1
    finally:
        for srv in servers:
            try:
                srv.stop()
            except Exception as e:  # noqa: BLE001
                log("stopping %s: %s" % (srv.name, e))
        if not args.keep and status == 0:
            log("removing %s (the Maildirs hold every message sent; this can take a few minutes)" % tmp)
            subprocess.run(["rm", "-rf", tmp])
        else:
            log("kept %s (daemon log: transportd-data.log, client logs: loadgen-*.log)" % tmp)
    if not args.no_write and results["scenarios"]:
        md = report.write(results, args.results_dir, name)
        log("results:", md, json_path)
    return status


if __name__ == "__main__":
    sys.exit(main())
