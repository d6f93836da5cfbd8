#!/usr/bin/env python3
"""One load-client process for bench/: a single asyncio loop driving many SMTP sessions with raw lines.

Started by bench.py as `loadgen.py SPEC_JSON`. It talks to its parent through pipes:
  stdout: JSON lines  {"progress": {...}}  {"ready": {...}}  {"result": {...}}
  stdin:  command lines  "go" (start the measured part)  "release" (close every held session)
Every wait has a deadline taken from the spec ("max_seconds" bounds the whole process), and it connects only
to the loopback address it is given (the spec is refused otherwise).
"""
import asyncio
import collections
import json
import os
import random
import resource
import select
import socket
import sys
import time

mono = time.monotonic


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _wake(fut):
    if not fut.done():
        fut.set_result(None)


class Conn(asyncio.Protocol):
    """An SMTP client connection: parses replies as they arrive and stamps each with its arrival time."""

    def __init__(self):
        self.transport = None
        self.buf = b""
        self.replies = collections.deque()  # (code, arrival monotonic time, last line)
        self.waiter = None
        self.lost = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        now = mono()
        buf = self.buf + data if self.buf else data
        start = 0
        while True:
            i = buf.find(b"\r\n", start)
            if i < 0:
                break
            line = buf[start:i]
            start = i + 2
            if len(line) >= 4 and line[3:4] == b"-":
                continue  # a continuation line of a multi-line reply
            try:
                code = int(line[:3])
            except ValueError:
                code = 0
            self.replies.append((code, now, line))
        self.buf = buf[start:]
        if self.replies and self.waiter is not None:
            _wake(self.waiter)

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        self.lost = True
        if self.waiter is not None:
            _wake(self.waiter)

    async def reply(self, deadline):
        """The next reply as (code, time, line), or None when the connection is gone or the deadline passed."""
        loop = asyncio.get_running_loop()
        while not self.replies:
            if self.lost:
                return None
            remaining = deadline - mono()
            if remaining <= 0:
                return None
            fut = self.waiter = loop.create_future()
            handle = loop.call_later(remaining, _wake, fut)
            await fut
            handle.cancel()
            self.waiter = None
        return self.replies.popleft()

    def send(self, data):
        if not self.lost:
            self.transport.write(data)

    def close(self):
        if self.transport is not None and not self.lost:
            self.transport.close()


async def connect(host, port, source, deadline):
    """(Conn, None) or (None, reason). The socket is bound to `source` so load spreads over 127.0.x.y."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.bind((source, 0))
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), max(0.001, deadline - mono()))
        _, conn = await loop.create_connection(Conn, sock=sock)
        return conn, None
    except asyncio.TimeoutError:
        sock.close()
        return None, "connect timeout"
    except OSError as e:
        sock.close()
        return None, "connect: " + (os.strerror(e.errno) if e.errno else str(e))


class Commands:
    """Reads "go" / "release" lines from stdin into events."""

    def __init__(self):
        self.events = {"go": asyncio.Event(), "release": asyncio.Event()}
        self.buf = b""
        asyncio.get_running_loop().add_reader(0, self._readable)

    def _readable(self):
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:  # parent gone: release everything and stop
            asyncio.get_running_loop().remove_reader(0)
            for e in self.events.values():
                e.set()
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            event = self.events.get(line.decode().strip())
            if event is not None:
                event.set()

    async def wait(self, name, deadline):
        try:
            await asyncio.wait_for(self.events[name].wait(), max(0.001, deadline - mono()))
            return True
        except asyncio.TimeoutError:
            return False


class LagMonitor:
    """How late this process's event loop wakes up: the part of any measured delay that is the client's own."""

    def __init__(self, interval=0.005):
        self.interval = interval
        self.samples = []
        self.task = None

    async def _run(self):
        while True:
            t = mono()
            await asyncio.sleep(self.interval)
            self.samples.append(mono() - t - self.interval)

    def start(self):
        self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self):
        if self.task is not None:
            self.task.cancel()
        s = sorted(self.samples)
        if not s:
            return {}
        return {"p50_ms": 1000 * s[len(s) // 2], "p99_ms": 1000 * s[min(len(s) - 1, int(len(s) * 0.99))],
                "max_ms": 1000 * s[-1], "samples": len(s)}


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def greet(conn, deadline, ehlo=b"EHLO load.bench.test\r\n", mail=b"MAIL FROM:<probe@remote.test>\r\n"):
    """Banner, EHLO, MAIL. Returns None when all three were positive, else the failure's name."""
    r = await conn.reply(deadline)
    if r is None:
        return "no banner"
    if r[0] != 220:
        return "banner %d" % r[0]
    for line in (ehlo, mail):
        conn.send(line)
        r = await conn.reply(deadline)
        if r is None:
            return "no reply to " + line.split()[0].decode()
        if r[0] != 250:
            return "%s %d" % (line.split()[0].decode(), r[0])
    return None


# ---------------------------------------------------------------------------------------------- hold

async def run_hold(spec, cmds):
    """C sessions: banner, EHLO, MAIL, one unknown RCPT (tarpitted), then held open until "release"."""
    end = mono() + spec["max_seconds"]
    n, sources = spec["count"], spec["sources"]
    sem = asyncio.Semaphore(spec.get("connect_concurrency", 200))
    c = collections.Counter()
    conns = []
    delays = []

    async def session(i):
        phase = "waiting for a connect slot"
        try:
            async with sem:
                phase = "connecting"
                conn, why = await connect(spec["host"], spec["port"], sources[i % len(sources)], end)
        except asyncio.CancelledError:
            c["still %s at release" % phase] += 1  # e.g. SYNs unanswered: Postfix's listen queue is full
            c["waiting_at_release"] += 1
            raise
        if conn is None:
            c["failed"] += 1
            c["fail: " + why] += 1
            return
        conns.append(conn)
        c["connected"] += 1
        r = await conn.reply(end)
        if r is None:
            if cmds.events["release"].is_set() or not conn.lost:
                c["no banner before release"] += 1  # connected (kernel backlog) but never served
                c["waiting_at_release"] += 1
            else:
                c["failed"] += 1
                c["fail: closed before banner"] += 1
            return
        if r[0] != 220:
            c["failed"] += 1
            c["fail: banner %d" % r[0]] += 1
            return
        c["greeted"] += 1
        why = None
        for line in (b"EHLO load.bench.test\r\n", b"MAIL FROM:<probe@remote.test>\r\n"):
            conn.send(line)
            r = await conn.reply(end)
            if r is None or r[0] != 250:
                why = "%s %s" % (line.split()[0].decode(), "no reply" if r is None else r[0])
                break
        if why is not None:
            c["failed" if not cmds.events["release"].is_set() else "waiting_at_release"] += 1
            c["fail: " + why] += 1
            return
        t = mono()
        conn.send(b"RCPT TO:<nobody%d.%d@example.test>\r\n" % (spec["worker"], i))
        r = await conn.reply(end)
        if r is None:
            c["failed" if not cmds.events["release"].is_set() else "waiting_at_release"] += 1
            c["fail: no RCPT reply"] += 1
            return
        c["served"] += 1
        c["rcpt %d" % r[0]] += 1
        delays.append(r[1] - t)
        r = await conn.reply(end)  # nothing more is expected: this returns when the connection goes away
        if not cmds.events["release"].is_set():
            c["dropped_while_held"] += 1

    tasks = [asyncio.get_running_loop().create_task(session(i)) for i in range(n)]

    async def progress():
        while True:
            emit({"progress": dict(c)})
            await asyncio.sleep(0.5)

    ptask = asyncio.get_running_loop().create_task(progress())
    await cmds.wait("release", end)
    c["open_at_release"] = sum(1 for x in conns if not x.lost)
    for x in conns:
        x.close()
    _, still = await asyncio.wait(tasks, timeout=max(1.0, min(10.0, end - mono())))
    for t in still:
        t.cancel()
    if still:
        await asyncio.wait(still, timeout=5)
    ptask.cancel()
    delays.sort()
    return {"counts": dict(c), "rcpt_delays": delays, "cpu_s": cpu_seconds()}


# ------------------------------------------------------------------------------------------ accuracy

async def run_accuracy(spec, cmds):
    """Sessions set up to just before RCPT; on "go" each sends one unknown RCPT at its slot in a
    `spread_seconds` window and stamps the write and the reply's arrival."""
    end = mono() + spec["max_seconds"]
    setup_end = mono() + spec["setup_seconds"]
    n, sources, pre = spec["count"], spec["sources"], spec.get("pre_rejects", 0)
    sem = asyncio.Semaphore(spec.get("connect_concurrency", 200))
    c = collections.Counter()
    ready = []

    async def setup(i):
        async with sem:
            conn, why = await connect(spec["host"], spec["port"], sources[i % len(sources)], setup_end)
        if conn is None:
            c["fail: " + why] += 1
            return
        why = await greet(conn, setup_end)
        for k in range(pre):  # Postfix only starts sleeping after smtpd_soft_error_limit errors
            if why is not None:
                break
            conn.send(b"RCPT TO:<pre%d.%d.%d@example.test>\r\n" % (spec["worker"], i, k))
            r = await conn.reply(setup_end)
            if r is None or r[0] < 500:
                why = "pre-reject %s" % (None if r is None else r[0])
        if why is not None:
            c["fail: " + why] += 1
            conn.close()
            return
        ready.append((i, conn))

    await asyncio.gather(*(setup(i) for i in range(n)))
    emit({"ready": {"ready": len(ready), "counts": dict(c)}})
    if not await cmds.wait("go", end):
        return {"counts": dict(c), "delays": [], "error": "no go"}
    # The measured part bypasses asyncio: one epoll loop on the raw sockets, a timestamp right after each
    # write and one right after each wake-up, nothing else in between. The loop also records how late it
    # wakes for its own send slots (its lag), which bounds the error it adds itself.
    spread = spec["spread_seconds"]
    ep = select.epoll()
    fds, lines = [], []
    for i, conn in ready:
        conn.transport.pause_reading()
        fd = conn.transport.get_extra_info("socket").fileno()
        fds.append(fd)
        lines.append(b"RCPT TO:<wait%d.%d@example.test>\r\n" % (spec["worker"], i))
    index = {fd: k for k, fd in enumerate(fds)}
    n_ready = len(fds)
    t_send, t_reply, codes = [0.0] * n_ready, [0.0] * n_ready, [0] * n_ready
    lags = []
    t_go = mono()
    slots = [t_go + spread * k / max(1, n_ready) for k in range(n_ready)]
    j, pending = 0, n_ready
    while (pending or j < n_ready) and mono() < end:
        now = mono()
        if j < n_ready and slots[j] <= now:
            lags.append(now - slots[j])
        while j < n_ready and slots[j] <= mono():
            fd = fds[j]
            t_send[j] = mono()  # before the write: a preemption in between can only add to the error
            os.write(fd, lines[j])
            ep.register(fd, select.EPOLLIN)
            j += 1
        timeout = min(1.0, max(0.0, slots[j] - mono())) if j < n_ready else 1.0
        for fd, _ in ep.poll(timeout):
            t = mono()
            k = index[fd]
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            ep.unregister(fd)
            pending -= 1
            if data:
                t_reply[k] = t
                try:
                    codes[k] = int(data[:3])
                except ValueError:
                    codes[k] = 0
    ep.close()
    delays, detail = [], []
    for k in range(n_ready):
        if t_send[k] and t_reply[k]:
            c["rcpt %d" % codes[k]] += 1
            delays.append(t_reply[k] - t_send[k])
            detail.append((t_send[k], t_reply[k]))
        elif t_send[k]:
            c["no reply"] += 1
        else:
            c["not sent"] += 1
    for _, conn in ready:
        conn.close()
    lags.sort()
    lag = {"p50_ms": 1000 * lags[len(lags) // 2], "p99_ms": 1000 * lags[min(len(lags) - 1, int(len(lags) * 0.99))],
           "max_ms": 1000 * lags[-1], "samples": len(lags)} if lags else {}
    # The most waits outstanding at one moment (CLOCK_MONOTONIC is one clock for every process, so the
    # parent can merge these across workers).
    return {"counts": dict(c), "delays": delays, "loop_lag": lag, "cpu_s": cpu_seconds(), "intervals": detail}


# ------------------------------------------------------------------------------------------- harvest

class Dictionary:
    """One attacking source's guesses, in order: a fraction `valid_fraction` are real mailboxes, taken
    without repetition from the source's own slice of them (so discoveries never saturate and sources of
    one cell never guess the same address), the rest names that exist nowhere. Every connection of the
    source takes its next guess from here, as one harvester working through one list would."""

    def __init__(self, rng, valid_fraction, valid, tag):
        self.rng, self.valid_fraction, self.valid, self.tag = rng, valid_fraction, valid, tag
        self.next_valid = 0
        self.k = 0
        self.exhausted = 0

    def guess(self):
        """(address, really valid?)."""
        self.k += 1
        if self.rng.random() < self.valid_fraction:
            if self.next_valid < len(self.valid):
                self.next_valid += 1
                return self.valid[self.next_valid - 1], True
            self.exhausted += 1  # reported: would mean discoveries saturated
        return "nobody.%s.%d@example.test" % (self.tag, self.k), False


async def run_harvest(spec, cmds):
    """A directory harvester: `per_source` connections from each source address guess recipients one RCPT
    at a time until the time is up. Patient (`patience` null) it waits for every reply; impatient it hangs
    up when a RCPT reply takes longer than `patience` seconds, reads the silence as "unknown user"
    (that is the timing oracle of a fixed tarpit), reconnects and goes on with the next guess. A
    connection the server drops or refuses is reopened after a short backoff, as a harvester would.
    The attack starts `delay_seconds` after "go" (the legitimate sender's baseline runs first)."""
    if not await cmds.wait("go", mono() + spec["max_seconds"]):
        return {"error": "no go"}
    await asyncio.sleep(spec.get("delay_seconds", 0))
    t0 = mono()
    stop_at = t0 + spec["seconds"]
    patience = spec.get("patience")
    rng = random.Random(spec.get("seed", 1))
    per = {}
    for n, src in enumerate(spec["sources"]):
        per[src] = {"counts": collections.Counter(), "discoveries": [], "verdict_times": [],
                    "dictionary": Dictionary(random.Random(spec.get("seed", 1) * 1000 + n), spec["valid_fraction"],
                                             spec["valid"][n], "%d.%d" % (spec.get("cell", 0), n))}
    delays = {"2xx": [], "4xx": [], "5xx": []}
    setup_delays = []  # connect -> banner, EHLO, MAIL answered: shows held banners
    lag = LagMonitor(0.02)
    lag.start()

    def verdict(st, addr, valid, said_valid, t):
        c = st["counts"]
        c["verdicts"] += 1
        c["right" if valid == said_valid else "wrong"] += 1
        c["%s said %s" % ("valid" if valid else "invalid", "valid" if said_valid else "invalid")] += 1
        st["verdict_times"].append(t - t0)
        if valid and said_valid:
            st["discoveries"].append((t - t0, addr))

    async def connection(src):
        st = per[src]
        c = st["counts"]
        backoff = 0.1
        while mono() < stop_at:
            conn, why = await connect(spec["host"], spec["port"], src, stop_at)
            if conn is None:
                c["connect failed"] += 1
                await asyncio.sleep(min(backoff, max(0.0, stop_at - mono())))
                backoff = min(2.0, backoff * 2)
                continue
            c["connections"] += 1
            t_banner = mono()
            why = await greet(conn, stop_at)
            if why is not None:
                if mono() < stop_at:
                    c["setup failed: " + why] += 1
                conn.close()
                await asyncio.sleep(min(backoff, max(0.0, stop_at - mono())))
                backoff = min(2.0, backoff * 2)
                continue
            backoff = 0.1
            c["greeted"] += 1
            setup_delays.append(mono() - t_banner)
            while mono() < stop_at:
                addr, valid = st["dictionary"].guess()
                t = mono()
                conn.send(b"RCPT TO:<%s>\r\n" % addr.encode())
                c["probes sent"] += 1
                limit = stop_at if patience is None else min(stop_at, t + patience)
                r = await conn.reply(limit)
                if r is None:
                    if conn.lost:
                        c["probes lost to disconnect"] += 1
                    elif mono() >= stop_at:
                        c["probes unanswered at end"] += 1
                    else:  # impatient: silence read as "unknown user"; hang up, next guess on a new connection
                        c["gave up waiting"] += 1
                        verdict(st, addr, valid, False, mono())
                    break
                code = r[0]
                c["reply %d" % code] += 1
                delays["%dxx" % (code // 100) if code // 100 in (2, 4, 5) else "5xx"].append(r[1] - t)
                if code == 250 or code == 251:
                    verdict(st, addr, valid, True, r[1])
                elif code >= 500:
                    verdict(st, addr, valid, False, r[1])
                if code == 421:
                    break
                if code == 452:  # too many recipients for this transaction: start a new one
                    conn.send(b"RSET\r\nMAIL FROM:<probe@remote.test>\r\n")
                    await conn.reply(stop_at)
                    await conn.reply(stop_at)
            conn.close()

    await asyncio.gather(*(connection(src) for src in spec["sources"] for _ in range(spec["per_source"])))
    seconds = mono() - t0
    for v in delays.values():
        v.sort()
    setup_delays.sort()
    out = {}
    for src, st in per.items():
        st["counts"]["dictionary valid slice exhausted"] += st["dictionary"].exhausted
        out[src] = {"counts": dict(st["counts"]), "discoveries": st["discoveries"],
                    "verdict_times": st["verdict_times"]}
    return {"sources": out, "delays": delays, "setup_delays": setup_delays, "seconds": seconds, "cpu_s": cpu_seconds(), "loop_lag": lag.stop()}


async def run_legit_mail(spec, cmds):
    """A legitimate MTA sending steady mail from its own address: a message every 1/rate s on its own
    connection, 1..3 recipients each, a fraction `stale_fraction` of them addresses that no longer exist.
    It waits for every reply as real MTAs do. Each accepted recipient's RCPT -> 250 delay is kept with the
    time it was sent, so the parent can split the run into the baseline (no attack yet) and the attack."""
    if not await cmds.wait("go", mono() + spec["max_seconds"]):
        return {"error": "no go"}
    t0 = mono()
    stop_at = t0 + spec["seconds"]
    rng = random.Random(spec.get("seed", 1))
    c = collections.Counter()
    accepted, refused = [], []  # (time since go, delay)
    busy = [0]
    reply_limit = spec.get("reply_timeout", 60.0)
    lag = LagMonitor(0.02)
    lag.start()

    async def message(k, rcpts):
        busy[0] += 1
        try:
            deadline = mono() + reply_limit
            conn, why = await connect(spec["host"], spec["port"], spec["source"], deadline)
            if conn is None:
                c["message failed: " + why] += 1
                return
            try:
                why = await greet(conn, deadline, b"EHLO mta.friend.test\r\n", b"MAIL FROM:<news@friend.test>\r\n")
                if why is not None:
                    c["message failed: " + why] += 1
                    return
                ok = 0
                for addr, stale in rcpts:
                    t = mono()
                    conn.send(b"RCPT TO:<%s>\r\n" % addr.encode())
                    r = await conn.reply(t + reply_limit)
                    if r is None:
                        c["message failed: no RCPT reply"] += 1
                        return
                    c["rcpt %d%s" % (r[0], " (stale)" if stale else "")] += 1
                    if r[0] == 250:
                        ok += 1
                        if not stale:
                            accepted.append((t - t0, r[1] - t))
                    elif stale:
                        refused.append((t - t0, r[1] - t))
                if ok:
                    conn.send(b"DATA\r\n")
                    r = await conn.reply(mono() + reply_limit)
                    if r is None or r[0] != 354:
                        c["message failed: DATA %s" % (r and r[0])] += 1
                        return
                    conn.send(b"From: <news@friend.test>\r\nSubject: steady mail %d\r\n\r\nHello.\r\n.\r\n" % k)
                    r = await conn.reply(mono() + reply_limit)
                    if r is None or r[0] != 250:
                        c["message failed: after . %s" % (r and r[0])] += 1
                        return
                conn.send(b"QUIT\r\n")
                await conn.reply(mono() + 5)
                c["messages ok"] += 1
            finally:
                conn.close()
        finally:
            busy[0] -= 1

    tasks = []
    k = 0
    interval = 1.0 / spec["rate"]
    next_at = mono()
    while next_at < stop_at:
        await asyncio.sleep(max(0.0, next_at - mono()))
        next_at += interval
        k += 1
        rcpts = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < spec["stale_fraction"]:
                rcpts.append(("former%d.%d@example.test" % (spec.get("cell", 0), k), True))
            else:
                rcpts.append((rng.choice(spec["mailboxes"]), False))
        if busy[0] >= spec.get("max_concurrent", 20):
            c["messages skipped: sender busy"] += 1
            continue
        c["messages started"] += 1
        tasks.append(asyncio.get_running_loop().create_task(message(k, rcpts)))
    if tasks:  # messages still in flight get a little while to finish (a stale recipient costs the tarpit)
        await asyncio.wait(tasks, timeout=spec.get("drain_seconds", 15))
    for t in tasks:
        if not t.done():
            c["messages unfinished at the end"] += 1
            t.cancel()
    return {"counts": dict(c), "accepted": accepted, "refused": refused, "seconds": mono() - t0,
            "cpu_s": cpu_seconds(), "loop_lag": lag.stop()}


# ---------------------------------------------------------------------------------------- throughput

def make_message(session, k, size):
    head = ("From: <load@remote.test>\r\nTo: <rcpt@example.test>\r\nSubject: bench %d.%d\r\n"
            "Message-ID: <bench.%d.%d.%d@remote.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
            % (session, k, os.getpid(), session, k)).encode()
    body = bytearray(head)
    line = b"x" * 74 + b"\r\n"
    while len(body) + len(line) <= size:
        body += line
    if len(body) < size:
        body += b"y" * (size - len(body) - 2) + b"\r\n" if size - len(body) >= 2 else b""
    return bytes(body) + b".\r\n"


async def run_throughput(spec, cmds):
    """Sessions sending messages back to back: MAIL, RCPT, DATA pipelined in one write, then the body;
    the latency measured is from writing the final "." to reading the 250."""
    end = mono() + spec["max_seconds"]
    n, m, sources = spec["count"], spec["messages"], spec["sources"]
    # The relay scenario sends to a domain the server relays, and pairs each 250 with the sink's receipt
    # of the same message (by its Message-ID, which make_message builds from pid, session and number).
    domain = spec.get("rcpt_domain", "example.test")
    acks = [] if spec.get("record_acks") else None
    pid = os.getpid()
    c = collections.Counter()
    per_user = collections.Counter()
    latencies = []
    sessions = []

    async def setup(i):
        conn, why = await connect(spec["host"], spec["port"], sources[i % len(sources)], end)
        if conn is None:
            c["fail: " + why] += 1
            return
        r = await conn.reply(end)
        if r is None or r[0] != 220:
            c["fail: banner"] += 1
            return
        conn.send(b"EHLO load.bench.test\r\n")
        r = await conn.reply(end)
        if r is None or r[0] != 250:
            c["fail: EHLO"] += 1
            return
        sessions.append((i, conn))

    await asyncio.gather(*(setup(i) for i in range(n)))
    emit({"ready": {"ready": len(sessions), "counts": dict(c)}})
    if not await cmds.wait("go", end):
        return {"counts": dict(c), "error": "no go"}
    # Like the accuracy loop, the load itself runs on bare sockets and one epoll loop, so that the client
    # spends as little of the shared CPU as it can: per message one write for MAIL+RCPT+DATA (PIPELINING),
    # one for the body and its ".", and the replies parsed from whatever each read returns.
    t_start = mono()
    ep = select.epoll()
    st = {}
    for i, conn in sessions:
        conn.transport.pause_reading()
        fd = conn.transport.get_extra_info("socket").fileno()
        st[fd] = {"gid": spec["first_session"] + i, "k": 0, "phase": None, "codes": [], "buf": b"", "t": 0.0}
        ep.register(fd, select.EPOLLIN)

    def write_all(fd, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                select.select([], [fd], [], 1.0)
                continue
            view = view[n:]

    def next_message(fd, x):
        if x["k"] >= m or mono() > end:
            if x["k"] < m:
                c["stopped at deadline"] += 1
            x["phase"] = "quit"
            write_all(fd, b"QUIT\r\n")
            return
        x["user"] = "user%d@%s" % ((x["gid"] * m + x["k"]) % 100 + 1, domain)
        x["phase"], x["codes"] = "envelope", []
        write_all(fd, b"MAIL FROM:<load@remote.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % x["user"].encode())

    for fd, x in st.items():
        next_message(fd, x)
    open_fds = len(st)
    while open_fds and mono() < end + 5:
        for fd, _ in ep.poll(1.0):
            t = mono()
            x = st[fd]
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                c["closed by server (%s)" % x["phase"]] += 1
                ep.unregister(fd)
                open_fds -= 1
                continue
            buf = x["buf"] + data
            while True:
                nl = buf.find(b"\r\n")
                if nl < 0:
                    break
                line, buf = buf[:nl], buf[nl + 2:]
                if len(line) >= 4 and line[3:4] == b"-":
                    continue
                code = int(line[:3]) if line[:3].isdigit() else 0
                phase = x["phase"]
                if phase == "envelope":
                    x["codes"].append(code)
                    if len(x["codes"]) == 3:
                        if x["codes"] == [250, 250, 354]:
                            write_all(fd, make_message(x["gid"], x["k"], spec["size"]))
                            x["t"], x["phase"] = mono(), "dot"
                        else:
                            c["refused %s" % x["codes"]] += 1
                            x["k"] += 1
                            x["phase"] = "rset"
                            write_all(fd, b"RSET\r\n")
                elif phase == "dot":
                    x["t_end"] = t
                    if code == 250:
                        c["accepted"] += 1
                        per_user[x["user"]] += 1
                        latencies.append(t - x["t"])
                        if acks is not None:
                            acks.append(("bench.%d.%d.%d@remote.test" % (pid, x["gid"], x["k"]), t))
                    else:
                        c["after . %d" % code] += 1
                    x["k"] += 1
                    next_message(fd, x)
                elif phase == "rset":
                    next_message(fd, x)
                elif phase == "quit":
                    x["phase"] = "done"
                    ep.unregister(fd)
                    open_fds -= 1
                    break
            x["buf"] = buf
    ep.close()
    for _, conn in sessions:
        conn.close()
    latencies.sort()
    ends = [x.get("t_end", mono()) for x in st.values()]
    out = {"counts": dict(c), "latencies": latencies, "per_user": dict(per_user), "t_start": t_start,
           "t_end": max(ends) if ends else mono(), "cpu_s": cpu_seconds()}
    if acks is not None:
        out["acks"] = acks
    return out


MODES = {"hold": run_hold, "accuracy": run_accuracy, "harvest": run_harvest, "legit_mail": run_legit_mail,
         "throughput": run_throughput}


async def main_async(spec):
    cmds = Commands()
    return await MODES[spec["mode"]](spec, cmds)


def main():
    spec = json.loads(sys.argv[1])
    if not spec["host"].startswith("127."):
        raise SystemExit("loadgen: only 127.0.0.0/8 targets are allowed")
    for s in spec.get("sources", []) + ([spec["source"]] if "source" in spec else []):
        if not s.startswith("127."):
            raise SystemExit("loadgen: only 127.0.0.0/8 source addresses are allowed")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    result = asyncio.run(main_async(spec))
    emit({"result": result})


if __name__ == "__main__":
    main()
