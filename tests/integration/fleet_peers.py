"""What a fleet test runs besides transportd: a private PostgreSQL cluster (its own directory, port and
socket, never the system's), a private Redis, and transportd nodes that share them."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import Daemon, free_port

PG_BIN = "/usr/lib/postgresql/15/bin"


def postgres_unavailable():
    """Why the fleet tests cannot run here, or None."""
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        return "PostgreSQL 15 is not installed (scripts/deps --tests installs it)"
    return None


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory; as root, run as the postgres user (it refuses root)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="transportd-pg-")
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust", "-U", "transportd", "--no-sync",
                  "-E", "UTF8", "--locale=C.UTF-8"])
        self.start()

    def run(self, command):
        r = subprocess.run(self.as_user + command, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError("%s failed:\n%s%s" % (" ".join(command), r.stdout, r.stderr))
        return r.stdout

    def start(self):
        self.run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-t", "60", "-l", self.log_path, "-o",
                  "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.dir), "start"])

    def stop(self):
        subprocess.run(self.as_user + [os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120)

    def new_database(self, name):
        self.run([os.path.join(PG_BIN, "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "transportd", name])
        return "postgresql://transportd@127.0.0.1:%d/%s?connect_timeout=5" % (self.port, name)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_unavailable():
    """Why the shared reputation tests cannot run here, or None."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (scripts/deps --tests installs it)"
    return None


class RedisServer:
    """Debian's redis-server on a free loopback port, its files in a temporary directory, nothing saved:
    stop() then start() is a Redis restarted with its data gone (the harder case for the nodes)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="transportd-redis-")
        self.port = free_port()
        self.process = None
        self.start()

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("redis-server did not start; see %s/redis.log" % self.dir)
            time.sleep(0.02)

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class FleetNode(Daemon):
    """A transportd of the fleet: its own data dir, port and name, the shared configuration store."""

    def __init__(self, data_dir, port, name, config_store, extra_args=()):
        self.metrics_port = free_port()
        super().__init__(data_dir, port, ["--config-store", config_store,
                                          "--metrics-listen", "127.0.0.1:%d" % self.metrics_port] + list(extra_args))
        self.name = name

    def command(self):
        command = super().command()
        command[command.index("--hostname") + 1] = self.name
        return command
