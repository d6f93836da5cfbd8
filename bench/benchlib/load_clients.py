"""Load-client processes (loadgen.py) started and steered together, plus the small legitimate client."""
import collections
import json
import os
import socket
import subprocess
import sys
import threading
import time

LOADGEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loadgen.py")
mono = time.monotonic


def sources(first_block, count):
    """`count` client source addresses 127.0.X.Y, X from `first_block` on, Y in 1..250."""
    return ["127.0.%d.%d" % (first_block + i // 250, 1 + i % 250) for i in range(count)]


def split(total, parts):
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class Fleet:
    """Several loadgen processes; each spec is one process."""

    def __init__(self, specs, log_dir):
        self.procs, self.state = [], []
        self.lock = threading.Lock()
        for w, spec in enumerate(specs):
            spec = dict(spec, worker=w)
            err = open(os.path.join(log_dir, "loadgen-%s-%d.log" % (spec["mode"], w)), "ab")
            p = subprocess.Popen([sys.executable, LOADGEN, json.dumps(spec)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
            err.close()
            st = {"progress": {}, "ready": None, "result": None}
            self.procs.append(p)
            self.state.append(st)
            threading.Thread(target=self._read, args=(p, st), daemon=True).start()

    def _read(self, p, st):
        for line in p.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                for k, v in msg.items():
                    st[k] = v

    def send(self, command):
        for p in self.procs:
            try:
                p.stdin.write(command + "\n")
                p.stdin.flush()
            except (BrokenPipeError, OSError):
                pass

    def progress(self):
        total = collections.Counter()
        with self.lock:
            for st in self.state:
                total.update(st["progress"])
        return total

    def wait_ready(self, timeout):
        deadline = mono() + timeout
        while mono() < deadline:
            with self.lock:
                if all(st["ready"] is not None or p.poll() is not None for st, p in zip(self.state, self.procs)):
                    break
            time.sleep(0.05)
        with self.lock:
            return [st["ready"] for st in self.state]

    def results(self, timeout):
        """Each process's result (None for one that had to be killed at the deadline)."""
        deadline = mono() + timeout
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - mono()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        time.sleep(0.1)  # let the reader threads take the last lines
        with self.lock:
            return [st["result"] for st in self.state]

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _reply(sock, buf, deadline):
    """Reads one reply; returns (code, rest of buffer)."""
    while True:
        while b"\r\n" not in buf:
            remaining = deadline - mono()
            if remaining <= 0:
                raise TimeoutError("reply timeout")
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by server")
            buf += chunk
        line, buf = buf.split(b"\r\n", 1)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), buf


LEGIT_BODY = (b"From: <friend@remote.test>\r\nTo: <%s>\r\nSubject: a legitimate message\r\n\r\n"
              + b"Hello, this is a normal message from a normal sender.\r\n" * 20 + b".\r\n")


def legit_transaction(port, source, rcpt, timeout):
    """One full, valid transaction (connect .. 221 to QUIT) from `source`; seconds, or raises."""
    t0 = mono()
    deadline = t0 + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        buf = b""
        steps = [(None, 220), (b"EHLO friend.remote.test\r\n", 250), (b"MAIL FROM:<friend@remote.test>\r\n", 250),
                 (b"RCPT TO:<%s>\r\n" % rcpt.encode(), 250), (b"DATA\r\n", 354),
                 (LEGIT_BODY.replace(b"%s", rcpt.encode()), 250), (b"QUIT\r\n", 221)]
        for data, want in steps:
            if data:
                s.sendall(data)
            code, buf = _reply(s, buf, deadline)
            if code != want:
                raise RuntimeError("%s got %d" % ((data or b"banner").split(b"\r\n")[0][:20].decode(), code))
    return mono() - t0


def legit_run(port, count, budget, timeout=10.0, first=0):
    """Up to `count` legitimate transactions one after another, stopping once `budget` seconds are spent."""
    from .procstat import summary_ms
    srcs = sources(250, 4)
    ok, failures = [], collections.Counter()
    end = mono() + budget
    attempts = 0
    while attempts < count and mono() < end:
        rcpt = "user%d@example.test" % ((first + attempts) % 100 + 1)
        try:
            ok.append(legit_transaction(port, srcs[attempts % len(srcs)], rcpt, min(timeout, max(0.5, end - mono()))))
        except Exception as e:  # noqa: BLE001 - every failure is a figure here
            failures[type(e).__name__ + (": " + str(e) if str(e) else "")] += 1
        attempts += 1
    return {"attempts": attempts, "ok": len(ok), "failures": dict(failures), "latency": summary_ms(ok)}
