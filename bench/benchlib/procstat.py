"""What the servers cost, read from /proc: memory (PSS, RSS), CPU time, open sockets; and small statistics."""
import os

TICK = os.sysconf("SC_CLK_TCK")


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def loadavg():
    """The 1-minute load average, as /proc/loadavg writes it."""
    text = _read("/proc/loadavg")
    return text.split()[0] if text else None


def stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (index 0 is field 3, the state)."""
    s = _read("/proc/%d/stat" % pid)
    if not s:
        return None
    return s[s.rindex(")") + 2:].split()


def cpu_times(pid):
    """(own utime+stime, reaped children's cutime+cstime) in seconds, or None if the process is gone."""
    f = stat_fields(pid)
    if f is None:
        return None
    return (int(f[11]) + int(f[12])) / TICK, (int(f[13]) + int(f[14])) / TICK


def ppid(pid):
    f = stat_fields(pid)
    return int(f[1]) if f else None


def descendants(root):
    """Every live process below `root` (not root itself)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            p = ppid(int(name))
            if p is not None:
                children.setdefault(p, []).append(int(name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def tree_cpu_seconds(root):
    """CPU seconds spent by `root` and everything it started, including children that already exited:
    root's own and reaped-children time + each live descendant's own and reaped-children time. Processes that exit
    move their time into their parent's cutime/cstime when reaped, so nothing is lost or counted twice
    (a child that exited but was not reaped yet still shows its own time in /proc)."""
    own = cpu_times(root)
    if own is None:
        return None
    total = own[0] + own[1]
    for pid in descendants(root):
        t = cpu_times(pid)
        if t is not None:
            total += t[0] + t[1]
    return total


def memory_kib(pid):
    """{"pss": KiB, "rss": KiB} of one process (smaps_rollup), or None."""
    text = _read("/proc/%d/smaps_rollup" % pid)
    if not text:
        return None
    out = {"pss": 0, "rss": 0}
    for line in text.splitlines():
        if line.startswith("Pss:"):
            out["pss"] = int(line.split()[1])
        elif line.startswith("Rss:"):
            out["rss"] = int(line.split()[1])
    return out


def memory_of(pids):
    total = {"pss": 0, "rss": 0, "processes": 0}
    for pid in pids:
        m = memory_kib(pid)
        if m:
            total["pss"] += m["pss"]
            total["rss"] += m["rss"]
            total["processes"] += 1
    return total


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except FileNotFoundError:
        return None


def server_sockets(port):
    """TCP sockets on this machine whose local port is `port`, not listening and not in TIME_WAIT: the
    connections a server on that port still holds."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = _read(path)
        for line in text.splitlines()[1:]:
            parts = line.split()
            if len(parts) < 4:
                continue
            local, state = parts[1], parts[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state not in ("0A", "06"):
                n += 1
    return n


def tcp_kernel_memory_kib():
    """Memory the kernel holds for TCP buffers on the whole machine (both ends of every loopback
    connection), from /proc/net/sockstat."""
    for line in _read("/proc/net/sockstat").splitlines():
        if line.startswith("TCP:"):
            f = line.split()
            pages = int(f[f.index("mem") + 1])
            return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    return None


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list (p in 0..100); None when empty."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary_ms(values, offset=0.0):
    """p50/p90/p99/max/min/mean in milliseconds of seconds-valued `values` minus `offset` seconds."""
    v = sorted(x - offset for x in values)
    if not v:
        return {"n": 0}
    return {"n": len(v), "p50_ms": 1000 * percentile(v, 50), "p90_ms": 1000 * percentile(v, 90),
            "p99_ms": 1000 * percentile(v, 99), "max_ms": 1000 * v[-1], "min_ms": 1000 * v[0],
            "mean_ms": 1000 * sum(v) / len(v)}
