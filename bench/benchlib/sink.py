#!/usr/bin/env python3
"""A fast, minimal SMTP sink for the relay scenario: the next hop both servers relay to.

Started by bench.py (through benchlib/relay.py) as `sink.py SPEC_JSON`; listens on 127.0.0.1 only. It
accepts every command (EHLO advertises PIPELINING, 8BITMIME and SIZE, nothing else), answers all the
commands of one read in one write, stores nothing and never fsyncs: it must never be what limits a relay.
For every message it records the moment the final "." arrived (time.monotonic(), the same clock as the
load clients on this machine) under the message's Message-ID, so that bench.py can pair it with the
moment the client got its 250 from the relay. aiosmtpd would be too slow for this (a full parser and a
coroutine per command).

Pipes, as loadgen.py: stdout JSON lines {"ready": {"port": P}}, {"progress": {"messages": N}} (every
50 ms while it changes), {"dumped": PATH}; stdin lines "dump PATH" (write every receipt as JSON to
PATH, then forget them), "quit". It stops by itself after spec["max_seconds"] or when stdin closes.
"""
import asyncio
import json
import resource
import sys
import time

mono = time.monotonic

EHLO_REPLY = b"250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n"
REPLIES = {b"HELO": b"250 sink.bench.test\r\n", b"MAIL": b"250 2.1.0 ok\r\n", b"RCPT": b"250 2.1.5 ok\r\n",
           b"RSET": b"250 2.0.0 ok\r\n", b"NOOP": b"250 2.0.0 ok\r\n", b"DATA": b"354 go on\r\n",
           b"QUIT": b"221 2.0.0 bye\r\n", b"EHLO": EHLO_REPLY}
END = b"\r\n.\r\n"


class Stats:
    def __init__(self):
        self.messages = 0        # since the start, never reset
        self.receipts = []       # (message id, arrival) since the last dump
        self.connections = 0
        self.without_id = 0


STATS = Stats()


def message_id(data):
    i = data.find(b"\nMessage-ID: <")
    if i < 0:
        i = data.find(b"\nMessage-Id: <")
    if i < 0:
        return None
    j = data.find(b">", i + 14)
    return data[i + 14:j].decode("ascii", "replace") if j > 0 else None


class SinkSession(asyncio.Protocol):
    def __init__(self):
        self.transport = None
        self.buf = b""
        self.in_data = False
        self.parts = []     # the message so far, while in DATA
        self.tail = b""     # the last 4 bytes of the message so far: the end mark may straddle two reads

    def connection_made(self, transport):
        STATS.connections += 1
        self.transport = transport
        transport.write(b"220 sink.bench.test ESMTP\r\n")

    def data_received(self, data):
        out = []
        while data:
            if self.in_data:
                probe = self.tail + data
                i = probe.find(END)
                if i < 0:
                    self.parts.append(data)
                    self.tail = probe[-4:]
                    return self._flush(out)
                # The message ends inside this read: what follows is the next pipelined commands.
                cut = i + len(END) - len(self.tail)
                self.parts.append(data[:cut])
                data = data[cut:]
                whole = b"".join(self.parts)
                self.parts, self.tail, self.in_data = [], b"", False
                key = message_id(whole)
                if key is None:
                    STATS.without_id += 1
                else:
                    STATS.receipts.append((key, mono()))
                STATS.messages += 1
                out.append(b"250 2.0.0 queued\r\n")
                continue
            buf = self.buf + data if self.buf else data
            data = b""
            while True:
                nl = buf.find(b"\r\n")
                if nl < 0:
                    break
                verb = buf[:4].upper()
                line_end = nl + 2
                if verb == b"QUIT":
                    out.append(REPLIES[b"QUIT"])
                    self._flush(out)
                    self.transport.close()
                    return
                out.append(REPLIES.get(verb, b"500 5.5.2 what?\r\n"))
                if verb == b"DATA":
                    self.in_data, self.tail = True, b"\r\n"  # the DATA line's CRLF starts the end mark
                    data = buf[line_end:]
                    buf = b""
                    break
                buf = buf[line_end:]
            self.buf = buf
        self._flush(out)

    def _flush(self, out):
        if out:
            self.transport.write(b"".join(out))

    def eof_received(self):
        return False


async def commands(stop):
    """stdin: "dump PATH", "quit"; EOF means the parent is gone."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            stop.set()
            return
        words = line.decode().split()
        if words[:1] == ["dump"] and len(words) == 2:
            receipts, STATS.receipts = STATS.receipts, []
            r = resource.getrusage(resource.RUSAGE_SELF)
            with open(words[1], "w") as f:
                json.dump({"receipts": receipts, "messages": STATS.messages, "connections": STATS.connections,
                           "without_message_id": STATS.without_id, "cpu_s": r.ru_utime + r.ru_stime}, f)
            emit({"dumped": words[1]})
        elif words[:1] == ["quit"]:
            stop.set()
            return


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main_async(spec):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkSession, "127.0.0.1", spec.get("port", 0), backlog=1024)
    emit({"ready": {"port": server.sockets[0].getsockname()[1]}})
    stop = asyncio.Event()
    reader = loop.create_task(commands(stop))  # kept: the loop holds tasks only weakly
    end = mono() + spec["max_seconds"]
    last = -1
    while not stop.is_set() and mono() < end:
        if STATS.messages != last:
            last = STATS.messages
            emit({"progress": {"messages": last, "connections": STATS.connections}})
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except asyncio.TimeoutError:
            pass
    server.close()
    reader.cancel()


def main():
    spec = json.loads(sys.argv[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main_async(spec))


if __name__ == "__main__":
    main()
