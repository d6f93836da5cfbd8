"""A next hop for the relay tests: Python's aiosmtpd (Debian's python3-aiosmtpd, so run it with
/usr/bin/python3) on a loopback port, writing every message it accepts to DIR as one JSON file
(envelope, parameters, and the DATA octets exactly as received, base64), so that tests can compare
bytes (files are numbered in arrival order, continuing after those already in DIR; mail_from is ""
for the null sender). Behaviour is chosen on the command line:

  --reject ADDRESS     answer 550 5.1.1 to RCPT TO:<ADDRESS> (repeatable)
  --defer ADDRESS      answer 451 4.2.0 to RCPT TO:<ADDRESS> (repeatable)
  --tls CERT KEY       offer STARTTLS with this pair
  --auth USER:PASS     require AUTH (PLAIN/LOGIN) with these credentials before MAIL
  --without KEYWORD    leave this extension out of the EHLO reply (8BITMIME, SMTPUTF8; repeatable)
  --host ADDRESS       listen on this loopback address (default 127.0.0.1): MX tests give each MX
                       host its own address, since DNS names no ports

It prints "ready" on stdout once it listens, and runs until SIGTERM."""
import argparse
import base64
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Recorder:
    def __init__(self, directory, reject, defer, without=()):
        self.without = {k.upper() for k in without}
        self.directory = directory
        self.reject = {a.lower() for a in reject}
        self.defer = {a.lower() for a in defer}
        # Numbered on from what an earlier run left in DIR: a sink restarted on the same directory (a next
        # hop that went down and came back) never overwrites what it accepted before.
        existing = [int(name[:-5]) for name in os.listdir(directory) if name.endswith(".json") and name[:-5].isdigit()]
        self.count = max(existing, default=0)
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [r for r in responses if r[4:].split(" ")[0].upper() not in self.without]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: no such user here" % address
        if address.lower() in self.defer:
            return "451 4.2.0 <%s>: mailbox busy, try later" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        record = {
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,  # "" = the null sender
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "data": base64.b64encode(envelope.original_content or envelope.content).decode("ascii"),
            "tls": session.ssl is not None,
            "authenticated": bool(getattr(session, "authenticated", False)),
        }
        path = os.path.join(self.directory, "%06d.json" % n)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued as sink-%d" % n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--defer", action="append", default=[])
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth")
    parser.add_argument("--without", action="append", default=[])
    args = parser.parse_args()

    kwargs = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls[0], args.tls[1])
        kwargs["tls_context"] = context
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok)

        kwargs["authenticator"] = authenticator
        kwargs["auth_require_tls"] = bool(args.tls)
        kwargs["auth_required"] = True
    recorder = Recorder(args.dir, args.reject, args.defer, args.without)
    controller = Controller(recorder, hostname=args.host, port=args.port,
                            decode_data=False, **kwargs)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
