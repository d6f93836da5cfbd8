"""Peers for the relay tests (issue #11): the next hops transportd sends to and the DNS server it asks,
all real processes on loopback, each started with a deadline and stopped by its own pid.

- SinkServer: smtp_sink.py (aiosmtpd, run with Debian's /usr/bin/python3, which has it) on a free port
  or a given one; messages() reads the JSON file it writes per accepted message.
- Dnsmasq: dnsmasq on a free UDP port serving the records given (--mx-host=..., --host-record=...),
  answering before start() returns (the same readiness probe as tests/unit/dns/dnsmasq_server.h).
- Helpers to look into DATA_DIR/queue and to take a delivery status notification apart."""
import base64
import email
import email.policy
import functools
import glob
import json
import os
import re
import select
import socket
import struct
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SINK = os.path.join(HERE, "smtp_sink.py")
# The python3 on PATH may be another interpreter; Debian's has python3-aiosmtpd.
SINK_PYTHON = os.environ.get("SINK_PYTHON", "/usr/bin/python3")
DNSMASQ = "/usr/sbin/dnsmasq" if os.access("/usr/sbin/dnsmasq", os.X_OK) else "dnsmasq"


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=None)
def sink_unavailable():
    """Why smtp_sink.py cannot run here, or None."""
    if not os.access(SINK_PYTHON, os.X_OK):
        return "%s is missing" % SINK_PYTHON
    r = subprocess.run([SINK_PYTHON, "-c", "import aiosmtpd"], capture_output=True, timeout=30)
    if r.returncode != 0:
        return "%s has no aiosmtpd (apt-get install python3-aiosmtpd)" % SINK_PYTHON
    return None


class PeerProcess:
    """A peer started by a test: its process, its log file, and the one way they stop and show their log."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except FileNotFoundError:
            return "(no log)"


class SinkServer(PeerProcess):
    """One smtp_sink.py process. The port is chosen once and kept across stop()/start(), so a test can
    take the next hop down and bring it back where transportd expects it."""

    def __init__(self, directory, host="127.0.0.1", port=None, reject=(), defer=(), tls=None, auth=None, without=()):
        self.directory = directory
        self.host = host
        self.port = port or free_port(host)
        self.reject = list(reject)
        self.defer = list(defer)
        self.tls = tls
        self.auth = auth
        self.without = list(without)
        super().__init__(directory.rstrip("/") + ".log")
        os.makedirs(directory, exist_ok=True)

    def command(self):
        cmd = [SINK_PYTHON, SINK, "--host", self.host, "--port", str(self.port), "--dir", self.directory]
        for address in self.reject:
            cmd += ["--reject", address]
        for address in self.defer:
            cmd += ["--defer", address]
        if self.tls:
            cmd += ["--tls", self.tls[0], self.tls[1]]
        if self.auth:
            cmd += ["--auth", self.auth]
        for keyword in self.without:
            cmd += ["--without", keyword]
        return cmd

    def start(self, timeout=20):
        """Returns once the sink printed "ready" (it listens); raises with its log otherwise."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break  # exited
            line += chunk
            if b"ready" in line:
                return self
        self.kill()
        raise AssertionError("smtp_sink.py did not become ready on %s:%d within %ss:\n%s"
                             % (self.host, self.port, timeout, self.read_log()))

    def stop(self):
        running = self.proc is not None and self.proc.poll() is None
        super().stop()
        if running:
            self.proc.stdout.close()

    def messages(self):
        """Every message accepted so far, in order: the JSON record with "data" decoded to bytes."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.directory, "*.json"))):
            with open(path) as f:
                record = json.load(f)
            record["data"] = base64.b64decode(record["data"])
            record["path"] = path
            out.append(record)
        return out

    def recipients(self):
        """Every recipient of every accepted message, one entry per delivery (duplicates kept)."""
        return [r for m in self.messages() for r in m["rcpt_tos"]]

    def wait_for(self, count, timeout, what="messages at the sink"):
        """Waits until at least `count` messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError("timed out after %.1fs waiting for %d %s; got %d" % (timeout, count, what,
                                                                               len(self.messages())))


def dns_query(name, qtype=1, ident=0x1234):
    """A DNS query packet (RD set, one question, class IN)."""
    packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        packet += bytes([len(label)]) + label.encode("ascii")
    return packet + b"\0" + struct.pack(">HH", qtype, 1)


class Dnsmasq(PeerProcess):
    """dnsmasq on 127.0.0.1 and a free UDP port, serving `records` (dnsmasq options). Every other name
    under .test is NXDOMAIN (--local=/test/), nothing is forwarded anywhere (--no-resolv)."""

    def __init__(self, records, log_path):
        super().__init__(log_path)
        self.records = list(records)
        self.port = None

    def start(self):
        for _ in range(5):  # the free port may be taken between the probe and dnsmasq's bind: try again
            self.port = free_port(kind=socket.SOCK_DGRAM)
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file=",
                 "--listen-address=127.0.0.1", "--bind-interfaces", "--port=%d" % self.port, "--local=/test/",
                 "--host-record=ready.test,127.0.0.1"] + self.records,
                stdout=subprocess.DEVNULL, stderr=log)
            log.close()
            if self.answering(10):
                return self
            self.stop()
        raise AssertionError("dnsmasq did not start:\n" + self.read_log())

    def answering(self, timeout):
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.05)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                s.sendto(dns_query("ready.test"), ("127.0.0.1", self.port))
                try:
                    answer = s.recv(512)
                except socket.timeout:
                    continue
                if answer[:2] == b"\x12\x34":
                    return True
        return False

    def server(self):
        return "127.0.0.1:%d" % self.port


def queue_entries(data_dir):
    """The control files in DATA_DIR/queue: one per message still queued."""
    return sorted(glob.glob(os.path.join(data_dir, "queue", "*.ctl")))


def unescape(text):
    """A control-file field: octets outside the literal set are written +XX (hex)."""
    raw = re.sub(rb"\+([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))
    return raw.decode("utf-8", "replace")


def queued_messages(data_dir):
    """Every message in DATA_DIR/queue as a dict: id, mail_from ("" for the null sender), origin,
    recipients (addresses, in order) and content (the stored .eml octets, LF line ends). Only the
    envelope is read (records appended after it change recipients' states, not who they are)."""
    out = []
    for path in queue_entries(data_dir):
        try:
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            with open(path[:-len(".ctl")] + ".eml", "rb") as f:
                content = f.read()
        except FileNotFoundError:
            continue  # delivered and removed while we looked
        fields, recipients = {}, []
        for line in lines:
            key, _, value = line.partition(" ")
            if key == "rcpt":
                recipients.append(unescape(value.split(" ")[0]))
            else:
                fields.setdefault(key, value)
        out.append({"id": unescape(fields.get("id", "")), "mail_from": unescape(fields.get("from", "")),
                    "origin": unescape(fields.get("origin", "")), "recipients": recipients, "content": content})
    return out


def split_received(data):
    """(the leading Received: fields, the rest) of a message in wire form (CRLF line ends)."""
    received = []
    rest = data
    while rest.lower().startswith(b"received:"):
        end = rest.index(b"\r\n") + 2
        while rest[end:end + 1] in (b" ", b"\t"):  # folded continuation lines
            end = rest.index(b"\r\n", end) + 2
        received.append(rest[:end])
        rest = rest[end:]
    return received, rest


def parse_report(raw):
    """A stored DSN (bytes) taken apart: (message, per-recipient status groups as dicts, the
    per-message group). Raises AssertionError when it is not a multipart/report delivery-status."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if message.get_content_type() != "multipart/report" or message.get_param("report-type") != "delivery-status":
        raise AssertionError("not a delivery-status report: %r" % raw[:500])
    status_parts = [p for p in message.walk() if p.get_content_type() == "message/delivery-status"]
    if len(status_parts) != 1:
        raise AssertionError("%d message/delivery-status parts" % len(status_parts))
    # compat32 parses message/delivery-status into a list of header blocks: the per-message one first.
    blocks = status_parts[0].get_payload()
    groups = [{k.lower(): v.strip() for k, v in block.items()} for block in blocks]
    return message, groups[1:], groups[0]


def wait_for_queued_report(data_dir, timeout):
    """Waits until DATA_DIR/queue holds exactly one message and it is a report we generated (from the
    null sender): what a failure becomes when the sender is remote and no send connector routes the
    report, so it waits in the queue. Returns (that message as queued_messages gives it, its
    per-recipient status groups)."""
    deadline = time.monotonic() + timeout
    queued = []
    while time.monotonic() < deadline:
        queued = queued_messages(data_dir)
        if len(queued) == 1 and queued[0]["mail_from"] == "":
            _, groups, _ = parse_report(queued[0]["content"])
            return queued[0], groups
        time.sleep(0.02)
    raise AssertionError("timed out after %.1fs waiting for a lone report in the queue; it holds %s"
                         % (timeout, [(m["mail_from"], m["recipients"], m["origin"]) for m in queued]))
