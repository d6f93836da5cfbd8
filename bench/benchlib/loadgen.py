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

async def run_harvest(spec, cmds):
    """Connections guessing recipients one RCPT at a time (a fraction valid) until the time is up;
    a connection the server drops is reopened, as a harvester would."""
    await cmds.wait("go", mono() + spec["max_seconds"])
    t0 = mono()
    stop_at = t0 + spec["seconds"]
    n, sources = spec["count"], spec["sources"]
    rng = random.Random(spec.get("seed", 1) * 1000 + spec["worker"])
    c = collections.Counter()
    delays = {"2xx": [], "4xx": [], "5xx": []}
    discovered = set()
    valid_probed = set()

    async def connection(i):
        k = 0
        while mono() < stop_at:
            conn, why = await connect(spec["host"], spec["port"], sources[i % len(sources)], stop_at)
            if conn is None:
                c["connect failed"] += 1
                await asyncio.sleep(0.05)
                continue
            c["connections"] += 1
            why = await greet(conn, stop_at)
            if why is not None:
                if mono() < stop_at:
                    c["setup failed: " + why] += 1
                    c["disconnects"] += 1 if conn.lost else 0
                conn.close()
                continue
            while mono() < stop_at:
                k += 1
                if rng.random() < spec["valid_fraction"]:
                    addr = "user%d@example.test" % rng.randint(1, 100)
                    valid_probed.add(addr)
                else:
                    addr = "guess%d.%d.%d@example.test" % (spec["worker"], i, k)
                t = mono()
                conn.send(b"RCPT TO:<%s>\r\n" % addr.encode())
                c["probes sent"] += 1
                r = await conn.reply(stop_at)
                if r is None:
                    if conn.lost:
                        c["disconnects"] += 1
                        c["probes lost to disconnect"] += 1
                    else:
                        c["probes unanswered at end"] += 1
                    break
                code = r[0]
                c["probes answered"] += 1
                c["reply %d" % code] += 1
                delays["%dxx" % (code // 100) if code // 100 in (2, 4, 5) else "5xx"].append(r[1] - t)
                if code == 250:
                    discovered.add(addr)
                if code == 421:
                    c["disconnects"] += 1
                    break
                if code == 452:  # too many recipients for this transaction: start a new one
                    conn.send(b"RSET\r\nMAIL FROM:<probe@remote.test>\r\n")
                    await conn.reply(stop_at)
                    await conn.reply(stop_at)
            conn.close()

    await asyncio.gather(*(connection(i) for i in range(n)))
    for v in delays.values():
        v.sort()
    return {"counts": dict(c), "delays": delays, "discovered": sorted(discovered),
            "valid_probed": sorted(valid_probed), "seconds": mono() - t0, "cpu_s": cpu_seconds()}


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
        x["user"] = "user%d@example.test" % ((x["gid"] * m + x["k"]) % 100 + 1)
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
    return {"counts": dict(c), "latencies": latencies, "per_user": dict(per_user), "t_start": t_start,
            "t_end": max(ends) if ends else mono(), "cpu_s": cpu_seconds()}


MODES = {"hold": run_hold, "accuracy": run_accuracy, "harvest": run_harvest, "throughput": run_throughput}


async def main_async(spec):
    cmds = Commands()
    return await MODES[spec["mode"]](spec, cmds)


def main():
    spec = json.loads(sys.argv[1])
    if not spec["host"].startswith("127."):
        raise SystemExit("loadgen: only 127.0.0.0/8 targets are allowed")
    for s in spec.get("sources", []):
        if not s.startswith("127."):
            raise SystemExit("loadgen: only 127.0.0.0/8 source addresses are allowed")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    result = asyncio.run(main_async(spec))
    emit({"result": result})


if __name__ == "__main__":
    main()
