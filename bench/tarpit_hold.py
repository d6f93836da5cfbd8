#!/usr/bin/env python3
"""Holds N anonymous sessions in a tarpit and reports transportd's RSS per held session, and how long
a legitimate transaction takes meanwhile. Loopback only; bounded in count and time.

usage: bench/tarpit_hold.py --transportd build/transportd/transportd --adminctl build/adminctl/adminctl [--sessions 2000]
"""
import argparse
import asyncio
import os
import resource
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from harness import Daemon, adminctl, free_port, wait_until  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def hold(port, index, source, ready, release):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    await reader.readline()
    for line in (b"HELO load.test\r\n", b"MAIL FROM:<s@remote.test>\r\n"):
        writer.write(line)
        await writer.drain()
        await reader.readline()
    writer.write(b"RCPT TO:<nobody%d@example.com>\r\n" % index)  # answered 550 after the tarpit
    await writer.drain()
    ready.append(index)
    await release.wait()
    writer.close()


async def main_async(args, daemon):
    release = asyncio.Event()
    ready = []
    sources = ["127.0.%d.%d" % (1 + i // 250, 1 + i % 250) for i in range(max(1, args.sessions // 20000 + 8))]
    tasks = [asyncio.create_task(hold(daemon.port, i, sources[i % len(sources)], ready, release))
             for i in range(args.sessions)]
    deadline = time.monotonic() + 60
    while len(ready) < args.sessions and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    held = len(ready)
    rss = rss_kib(daemon.proc.pid)
    loop = asyncio.get_running_loop()
    timings = []
    for _ in range(20):
        begin = time.monotonic()
        await loop.run_in_executor(None, send_one, daemon.port)
        timings.append(time.monotonic() - begin)
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    return held, rss, sorted(timings)


def send_one(port):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("s@remote.test", ["alice@example.com"], b"Subject: bench\r\n\r\nbody\r\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--transportd", required=True)
    parser.add_argument("--adminctl", required=True)
    parser.add_argument("--sessions", type=int, default=2000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.environ["TRANSPORTD_BIN"] = args.transportd
    os.environ["ADMINCTL_BIN"] = args.adminctl
    import harness
    harness.TRANSPORTD, harness.ADMINCTL = args.transportd, args.adminctl
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(os.path.join(tmp, "data"), free_port())
        daemon.start()
        try:
            for cmd in (["new-accepteddomain", "Example", "--domain-name", "example.com"],
                        ["new-mailbox", "alice@example.com"],
                        ["set-receiveconnector", "*", "--tarpit-interval", "00:10:00", "--max-inbound-connection",
                         "unlimited", "--max-inbound-connection-per-source", "unlimited"]):
                r = adminctl(daemon, *cmd)
                assert r.returncode == 0, r.stderr
            baseline = rss_kib(daemon.proc.pid)
            held, rss, timings = asyncio.run(main_async(args, daemon))
            per_session = (rss - baseline) / max(held, 1)
            print("held %d tarpitted sessions: RSS %d KiB (baseline %d KiB), %.1f KiB per session" %
                  (held, rss, baseline, per_session))
            print("legitimate transaction meanwhile: p50 %.1f ms, max %.1f ms over %d" %
                  (timings[len(timings) // 2] * 1000, timings[-1] * 1000, len(timings)))
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
