"""A raw SMTP client for tests that need what smtplib hides: exact bytes, pipelining, source
addresses, and the time each reply took."""
import socket
import time


class RawSmtp:
    def __init__(self, port, source="127.0.0.1", host="127.0.0.1", timeout=30):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """Reads one (possibly multi-line) reply: returns (code, text) with lines joined by newlines."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection; read so far: %r" % self.buffer)
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text[4:])
            if len(text) < 4 or text[3] != "-":
                return int(text[:3]), "\n".join(lines)

    def command(self, line):
        """Sends one command; returns (code, text, seconds until the reply arrived)."""
        start = time.monotonic()
        self.send(line + "\r\n")
        code, text = self.reply()
        return code, text, time.monotonic() - start

    def closed_by_server(self, timeout=5):
        """True once the server has closed the connection (reads until EOF, within `timeout`)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
