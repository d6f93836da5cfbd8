"""The harvest scenario (issue 10, DESIGN.md §9/§10): one directory harvest attack tried against every
combination of {patient, impatient attacker} × {1 source, 16 sources in one /24} × {transportd with the
harvest defence off (Exchange's fixed tarpit), on}, plus Postfix, all at once, each cell with its own
server instance on its own port and fresh data directory, its own /24s, and a legitimate sender beside
the attack. See bench/README.md ("harvest") for how to read the figures.
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import time

from . import procstat
from .load_clients import Fleet
from .procstat import summary_ms
from .servers import DOMAIN, USERS, Postfix, Transportd, harness, wait_for_banner

mono = time.monotonic


ADDRESSES_PER_MAILBOX = 100


def staff(count):
    """The attacked addresses: thousands, so that no attacker runs out of real addresses to find. They
    belong to count/100 mailboxes of 100 addresses each (a primary address and 99 aliases): adminctl
    creates one object per call, and thousands of calls would make the setup minutes long. To RCPT an
    alias is as valid as a primary address. Returns {mailbox: [its addresses]}."""
    out = {}
    for m in range(max(1, count // ADDRESSES_PER_MAILBOX)):
        addrs = ["staff%02d.%03d@%s" % (m, k, DOMAIN) for k in range(ADDRESSES_PER_MAILBOX)]
        out[addrs[0]] = addrs
    return out


def all_addresses(mailboxes):
    return [a for addrs in mailboxes.values() for a in addrs]


def cells(which, only=None):
    """Every cell of the matrix, in the order of the results table (`only`: those whose name contains one
    of these texts, e.g. to run one cell alone and compare it with the same cell among all the others)."""
    out = []
    if "transportd" in which:
        for defence in (False, True):
            for n in (1, 16):
                for patient in (True, False):
                    out.append({"server": "transportd", "defence": defence, "sources": n, "patient": patient})
    if "postfix" in which:
        for n in (1, 16):
            for patient in (True, False):
                out.append({"server": "Postfix", "defence": None, "sources": n, "patient": patient})
    for i, c in enumerate(out):
        c["index"] = i
        c["name"] = "%s%s, %s, %d source%s" % (
            c["server"], "" if c["defence"] is None else (", defence on" if c["defence"] else ", defence off"),
            "patient" if c["patient"] else "impatient", c["sources"], "" if c["sources"] == 1 else "s")
        # Separate /24s for every cell's attackers and its legitimate sender: nothing one cell does can
        # reach another's reputation records, even if they shared a server.
        c["attack_sources"] = ["127.0.%d.%d" % (20 + i, k) for k in range(1, c["sources"] + 1)]
        c["legit_source"] = "127.0.%d.10" % (120 + i)
    if only:
        out = [c for c in out if any(o.strip() and o.strip() in c["name"] for o in only)]
    return out


# ------------------------------------------------------------------------------------------------ servers

def adminctl_many(srv, argv_list, workers=3):
    """Runs many adminctl commands against one daemon, a few at a time (each is its own process)."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for r in pool.map(lambda argv: srv.ctl(*argv, check=False), argv_list):
            if r.returncode != 0:
                raise RuntimeError("adminctl %s failed: %s" % (" ".join(r.args[1:]), r.stderr.strip()))


def transportd_template(build_dir, tmp, attacked, log):
    """A data directory holding only configuration (domain and mailboxes), copied for every cell: the
    mailboxes are made once instead of once per cell. Its connector is removed; each cell makes its own
    on its own port (a copy would keep the template's port)."""
    base = os.path.join(tmp, "harvest-template")
    os.makedirs(base)
    td = Transportd(build_dir, base)
    t = mono()
    td.start()
    try:
        td.ctl("new-accepteddomain", "ExampleTest", "--domain-name", DOMAIN)
        adminctl_many(td, [("new-mailbox", u) for u in USERS] +
                      [("new-mailbox", m, "--email-addresses", ",".join(a[1:])) for m, a in attacked.items()])
        td.ctl("remove-receiveconnector", "*", "--confirm=false")
    finally:
        td.stop()
    for leftover in ("admin.sock",):
        p = os.path.join(td.data_dir, leftover)
        if os.path.exists(p):
            os.unlink(p)
    log("harvest: template with %d mailboxes in %.0f s" % (len(USERS) + len(attacked), mono() - t))
    return td.data_dir


def defence_setting(srv, enabled):
    """Switches the harvest defence; returns what the server says it is now, or why it could not."""
    # Set both ways: the data directory a cell starts from may hold either.
    r = srv.ctl("set-harvestdefenceconfig", "--enabled", "true" if enabled else "false", check=False)
    if r.returncode != 0:
        return {"available": False, "error": (r.stderr or r.stdout).strip()[:300]}
    r = srv.ctl("get-harvestdefenceconfig", "--format", "json", check=False)
    if r.returncode != 0:
        return {"available": False, "error": (r.stderr or r.stdout).strip()[:300]}
    try:
        shown = json.loads(r.stdout)
    except ValueError:
        shown = r.stdout.strip()
    return {"available": True, "config": shown}


def reputation_records(srv, cell):
    """The server's source records at the end, split into the attacker's (its /24 and addresses) and the
    legitimate sender's, each as {State: count}, plus the records themselves."""
    r = srv.ctl("get-sourcereputation", "--format", "json", check=False)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[:300]}
    try:
        records = json.loads(r.stdout)
    except ValueError:
        return {"error": "not JSON: " + r.stdout[:300]}
    if isinstance(records, dict):  # one object, or a wrapper around the list
        records = next((v for v in records.values() if isinstance(v, list)), [records])
    attack_net = cell["attack_sources"][0].rsplit(".", 1)[0] + "."
    legit_net = cell["legit_source"].rsplit(".", 1)[0] + "."
    out = {"attacker": {}, "legit": {}, "other": {}, "records": records}
    for rec in records:
        source = str(rec.get("Source", rec.get("source", "")))
        state = str(rec.get("State", rec.get("state", "?")))
        side = "attacker" if source.startswith(attack_net) else "legit" if source.startswith(legit_net) else "other"
        out[side][state] = out[side].get(state, 0) + 1
    return out


def start_cell_server(cell, cfg, build_dir, tmp, template):
    d = os.path.join(tmp, "harvest-cell-%02d" % cell["index"])
    os.makedirs(d)
    if cell["server"] == "transportd":
        srv = Transportd(build_dir, d, tarpit="00:00:%02d" % cfg.tarpit_seconds)
        shutil.copytree(template, srv.data_dir)  # fresh: configuration only, no reputation.db
        srv.daemon.start()
        # What --default-bindings makes at a first start: every property at its default but the binding.
        srv.ctl("new-receiveconnector", "Default " + harness.HOST, "--bindings", "127.0.0.1:%d" % srv.port,
                "--tarpit-interval", srv.tarpit)
        wait_for_banner(srv.port, 15)
        cell["defence_setting"] = defence_setting(srv, cell["defence"])
    else:
        srv = Postfix(d, cfg.tarpit_seconds, mailboxes=USERS + all_addresses(staff(cfg.harvest_addresses)))
        srv.configure()
        srv.start()
    return srv


# -------------------------------------------------------------------------------------------------- load

def specs_for(cell, cfg, port, valid_pool):
    n = cell["sources"]
    per = len(valid_pool) // n
    seconds = cfg.harvest_seconds
    attack = {"mode": "harvest", "host": "127.0.0.1", "port": port, "cell": cell["index"],
              "sources": cell["attack_sources"], "per_source": cfg.harvest_per_source,
              "patience": None if cell["patient"] else cfg.harvest_patience, "valid_fraction": cfg.harvest_valid,
              "valid": [valid_pool[k * per:(k + 1) * per] for k in range(n)], "seed": 7,
              "delay_seconds": cfg.harvest_baseline, "seconds": seconds,
              "max_seconds": 120 + cfg.harvest_baseline + seconds}
    legit = {"mode": "legit_mail", "host": "127.0.0.1", "port": port, "cell": cell["index"],
             "source": cell["legit_source"], "rate": cfg.legit_rate, "stale_fraction": cfg.legit_stale,
             "mailboxes": USERS, "seed": 11, "seconds": cfg.harvest_baseline + seconds,
             "max_seconds": 120 + cfg.harvest_baseline + seconds}
    return attack, legit


def minus(a, b):
    return None if a is None or b is None else a - b


def cell_figures(cell, cfg, attack, legit):
    """The per-cell figures from its attacker's and legitimate sender's results."""
    out = {"sources": cell["sources"], "connections_per_source": cfg.harvest_per_source,
           "patience_s": None if cell["patient"] else cfg.harvest_patience}
    if not attack or "sources" not in attack:
        out["error"] = "attacker produced no result"
        return out
    seconds = attack["seconds"]
    half = seconds / 2
    totals = {}
    disc, disc_late, verdicts_late = [], [], 0
    for src in cell["attack_sources"]:
        s = attack["sources"].get(src, {"counts": {}, "discoveries": [], "verdict_times": []})
        for k, v in s["counts"].items():
            totals[k] = totals.get(k, 0) + v
        found = {a for _, a in s["discoveries"]}
        disc.append(len(found))
        disc_late.append(len({a for t, a in s["discoveries"] if t >= half}))
        verdicts_late += sum(1 for t in s["verdict_times"] if t >= half)
    n = cell["sources"]
    verdicts = totals.get("verdicts", 0)
    out.update({
        "attack_seconds": seconds,
        "verdicts": verdicts,
        "verdicts_per_s": verdicts / seconds if seconds else None,
        "verdicts_per_s_per_source": verdicts / seconds / n if seconds else None,
        "verdicts_per_s_second_half": verdicts_late / (seconds - half) if seconds else None,
        "accuracy": totals.get("right", 0) / verdicts if verdicts else None,
        "confusion": {k: totals.get(k, 0) for k in ("valid said valid", "valid said invalid", "invalid said invalid",
                                                    "invalid said valid")},
        "discovered_per_source": sum(disc) / n,
        "discovered_per_source_max": max(disc),
        "discovered_total": sum(disc),
        "discovered_per_source_second_half": sum(disc_late) / n,
        "probes_sent": totals.get("probes sent", 0),
        "gave_up_waiting": totals.get("gave up waiting", 0),
        "replies": {k[6:]: v for k, v in totals.items() if k.startswith("reply ")},
        "connections_opened": totals.get("connections", 0),
        "setup_failures": {k[14:]: v for k, v in totals.items() if k.startswith("setup failed: ")},
        "connect_failures": totals.get("connect failed", 0),
        "probes_lost_to_disconnect": totals.get("probes lost to disconnect", 0),
        "dictionary_exhausted": totals.get("dictionary valid slice exhausted", 0),
        "delay_250": summary_ms(attack["delays"]["2xx"]),
        "delay_5xx": summary_ms(attack["delays"]["5xx"]),
        "setup_delay": summary_ms(attack["setup_delays"]),
        "attacker_cpu_s": attack.get("cpu_s"), "attacker_loop_lag": attack.get("loop_lag"),
    })
    if legit and "accepted" in legit:
        base = sorted(d for t, d in legit["accepted"] if t < cfg.harvest_baseline)
        during = sorted(d for t, d in legit["accepted"] if t >= cfg.harvest_baseline)
        b, a = summary_ms(base), summary_ms(during)
        held = sum(1 for d in during if d >= cfg.legit_held_s)
        stale = sorted(d for t, d in legit["refused"] if t >= cfg.harvest_baseline)
        out["legit"] = {
            "baseline": b, "during_attack": a,
            "added_p50_ms": minus(a.get("p50_ms"), b.get("p50_ms")),
            "added_p99_ms": minus(a.get("p99_ms"), b.get("p99_ms")),
            "accepted_held": held, "stale_refused": summary_ms(stale),
            "counts": legit["counts"], "cpu_s": legit.get("cpu_s"), "loop_lag": legit.get("loop_lag"),
        }
    else:
        out["legit"] = {"error": "legitimate sender produced no result"}
    return out


# ---------------------------------------------------------------------------------------------- targets

def find(figs, server, defence, sources, patient):
    for c in figs:
        if c["server"] == server and c["defence"] == defence and c["sources"] == sources and c["patient"] == patient:
            return c
    return None


def targets(figs, cfg, memory):
    """DESIGN §9's harvest targets, each with the figures it was judged on."""
    out = []
    for n in (1, 16):
        p, i = find(figs, "transportd", True, n, True), find(figs, "transportd", True, n, False)
        if p and i and "verdicts_per_s" in p and "verdicts_per_s" in i:
            out.append({"target": "impatient ≤ patient verdicts/s, defence on, %d source%s" % (n, "s" if n > 1 else ""),
                        "figures": "impatient %.3f, patient %.3f" % (i["verdicts_per_s"], p["verdicts_per_s"]),
                        "pass": i["verdicts_per_s"] <= p["verdicts_per_s"]})
    for n in (1, 16):
        for patient in (True, False):
            off, on = find(figs, "transportd", False, n, patient), find(figs, "transportd", True, n, patient)
            if not (off and on and "discovered_per_source" in off and "discovered_per_source" in on):
                continue
            a, b = off["discovered_per_source"], on["discovered_per_source"]
            ratio = (a / b) if b else None
            note = ""
            if b == 0 and a < 100:  # "none" is all a run can show then: 100× below a < 100 is under one
                note = " (defence off found fewer than 100 per source in this run, so a 100× reduction shows as none)"
            out.append({"target": "≥ 100× fewer valid addresses discovered per source than defence off, %s, %d source%s" % (
                "patient" if patient else "impatient", n, "s" if n > 1 else ""),
                "figures": "off %.2f, on %.2f per source: %s%s" % (a, b, ("%.1f×" % ratio) if ratio else "none found with the defence on", note),
                "pass": b * 100 <= a and a > 0})
    for c in figs:
        if c["server"] != "transportd" or not c["defence"] or "added_p99_ms" not in c.get("legit", {}):
            continue
        lg = c["legit"]
        ok = lg["accepted_held"] == 0 and lg["added_p99_ms"] is not None and lg["added_p99_ms"] < cfg.legit_added_p99_ms
        out.append({"target": "no added delay for the legitimate sender, against its baseline before the attack "
                              "(%s)" % c["name"],
                    "figures": "accepted RCPT→250 added p50 %s / p99 %s ms; %d held ≥ %.1f s" % (
                        _ms(lg["added_p50_ms"]), _ms(lg["added_p99_ms"]), lg["accepted_held"], cfg.legit_held_s),
                    "pass": ok})
        # The same attack on the same machine at the same moment with the defence off: what the defence
        # itself adds, without the machine's load (other cells, other people's work) that the baseline misses.
        ctl = find(figs, "transportd", False, c["sources"], c["patient"])
        if ctl and "during_attack" in ctl.get("legit", {}):
            d50 = minus(lg["during_attack"].get("p50_ms"), ctl["legit"]["during_attack"].get("p50_ms"))
            d99 = minus(lg["during_attack"].get("p99_ms"), ctl["legit"]["during_attack"].get("p99_ms"))
            out.append({"target": "no added delay for the legitimate sender, against the defence-off cell under the "
                                  "same attack at the same time (%s)" % c["name"],
                        "figures": "accepted RCPT→250 p50 %s / p99 %s ms more than with the defence off; %d held" % (
                            _ms(d50), _ms(d99), lg["accepted_held"]),
                        "pass": lg["accepted_held"] == 0 and d99 is not None and d99 < cfg.legit_added_p99_ms})
    if memory and memory.get("mib") is not None:
        out.append({"target": "1,000,000 source records in ≤ 128 MiB", "figures": "%.1f MiB (%s)" % (memory["mib"], memory["how"]),
                    "pass": memory["mib"] <= 128})
    else:
        out.append({"target": "1,000,000 source records in ≤ 128 MiB",
                    "figures": (memory or {}).get("error", "not measured"), "pass": None})
    return out


def _ms(v):
    return "—" if v is None else "%.2f" % v


# ----------------------------------------------------------------------------------------------- memory

def reputation_memory(build_dir, log):
    """The 1,000,000-record figure from the reputation component's own measurement (target
    reputation_memory), when the build has one; otherwise says so."""
    r = subprocess.run(["ninja", "-C", build_dir, "-t", "targets", "all"], capture_output=True, text=True, timeout=60)
    names = [line.split(":")[0] for line in r.stdout.splitlines()]
    target = next((t for t in names if t == "reputation_memory"), None)
    if target is None:
        return {"mib": None, "error": "no reputation_memory target in this build"}
    b = subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", "reputation_memory"], capture_output=True,
                       text=True, timeout=1800)
    if b.returncode != 0:
        return {"mib": None, "error": "reputation_memory did not build: " + b.stdout[-300:]}
    exe = None
    for root, _, files in os.walk(build_dir):
        if "reputation_memory" in files and os.access(os.path.join(root, "reputation_memory"), os.X_OK):
            exe = os.path.join(root, "reputation_memory")
            break
    if exe is None:
        return {"mib": None, "error": "reputation_memory built but its executable was not found"}
    t = mono()
    r = subprocess.run([exe], capture_output=True, text=True, timeout=600)
    text = r.stdout + r.stderr
    log("harvest: reputation_memory (%.0f s): %s" % (mono() - t, " ".join(text.split())))
    # "name value" lines: records, resident_growth_bytes, bytes_per_record, resident_growth_mib, ...
    figures = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([a-z_]+)\s+(-?[0-9]+(?:\.[0-9]+)?)\s*$", line)
        if m:
            figures[m.group(1)] = float(m.group(2))
    if r.returncode != 0 or "resident_growth_mib" not in figures:
        return {"mib": None, "error": "reputation_memory exited %d: %s" % (r.returncode, text.strip()[-300:]),
                "output": text[-2000:]}
    return {"mib": figures["resident_growth_mib"], "figures": figures,
            "how": "resident memory added by %s records in the reputation table, %.0f bytes each "
                   "(`%s`)" % ("{:,}".format(int(figures.get("records", 0))), figures.get("bytes_per_record", 0),
                               os.path.relpath(exe, build_dir)),
            "output": text[-2000:]}


# -------------------------------------------------------------------------------------------------- run

def server_notes(matrix, servers, cfg):
    """How the cells' servers were set up, for the results file."""
    notes = []
    for c in matrix:
        srv = servers[c["index"]]
        if c["server"] == "transportd" and not any("**transportd**" in n for n in notes):
            notes.append("**transportd** (%s), every cell: a copy of one data directory holding the accepted domain "
                         "example.test and %d mailboxes (user1..user100 for the legitimate sender; %d attacked "
                         "addresses: %d mailboxes of %d addresses each, a primary and its aliases), made with adminctl; the default connector created at the copy's first start, "
                         "TarpitInterval %s, every other property at its default; harvest defence off "
                         "(`set-harvestdefenceconfig --enabled false`) or at its defaults." % (
                             srv.version(), len(USERS) + cfg.harvest_addresses // ADDRESSES_PER_MAILBOX,
                             cfg.harvest_addresses, cfg.harvest_addresses // ADDRESSES_PER_MAILBOX, ADDRESSES_PER_MAILBOX,
                             srv.tarpit))
        if c["server"] == "Postfix" and not any("**Postfix**" in n for n in notes):
            notes.append("**Postfix** (%s), every cell its own private instance, configured as in the other "
                         "scenarios (see bench/README.md) with the same %d addresses in its map: %s" % (
                             srv.version(), len(USERS) + cfg.harvest_addresses, "; ".join(srv.changes[-2:])))
    return [n + "\n" for n in notes]


def waves(matrix, all_at_once):
    """Which cells run together. A cell's own load barely touches another's timers, but the legitimate
    sender's latency and the impatient attacker's reconnect rate are CPU-bound, and twelve cells at once
    on two cores skewed both (measured: an impatient 16-source attack got less than half its verdicts/s
    alone). So by default only a defence-off cell and its defence-on twin (same attacker) run together,
    which also gives each its control at the same moment; Postfix's cells run in pairs of the same
    source count. `all_at_once` (--quick) runs every cell together."""
    if all_at_once:
        return [matrix]
    groups = {}
    for c in matrix:
        key = (c["server"], c["sources"], c["patient"] if c["server"] == "transportd" else None)
        groups.setdefault(key, []).append(c)
    return list(groups.values())


def run_wave(wave, number, cfg, build_dir, tmp, template, valid_pool, log):
    """Starts the wave's servers, runs baseline and attack, collects each cell's figures, stops them."""
    servers = {}
    figs = []
    t_start = mono()
    try:
        for c in wave:
            servers[c["index"]] = start_cell_server(c, cfg, build_dir, tmp, template)
            c["port"] = servers[c["index"]].port
        notes = server_notes(wave, servers, cfg)
        log("harvest wave %d: %s up after %.0f s; %.0f s of baseline, then %d s of attack" % (
            number, " + ".join(c["name"] for c in wave), mono() - t_start, cfg.harvest_baseline, cfg.harvest_seconds))
        specs = []
        for c in wave:
            specs.extend(specs_for(c, cfg, c["port"], valid_pool))
        fleet = Fleet(specs, tmp)
        load0 = procstat.loadavg()
        try:
            time.sleep(0.5)
            cpu0 = {k: srv.cpu_seconds() for k, srv in servers.items()}
            fleet.send("go")
            t_go = mono()
            results = fleet.results(timeout=cfg.harvest_baseline + cfg.harvest_seconds + 60)
            cpu1 = {k: srv.cpu_seconds() for k, srv in servers.items()}
        finally:
            fleet.kill()
        wave_info = {"wave": number, "load_seconds": mono() - t_go, "setup_seconds": t_go - t_start,
                     "loadavg_at_go": load0, "loadavg_at_end": procstat.loadavg(), "cells_together": len(wave)}
        for k, c in enumerate(wave):
            f = cell_figures(c, cfg, results[2 * k], results[2 * k + 1])
            srv = servers[c["index"]]
            if c["server"] == "transportd":
                f["defence_setting"] = c.get("defence_setting")
                f["reputation_at_end"] = reputation_records(srv, c)
            f["server_alive_at_end"] = srv.alive()
            f["server_cpu_s"] = minus(cpu1[c["index"]], cpu0[c["index"]])
            f.update(wave_info)
            figs.append(dict(c, **f))
            log("harvest: %-48s %7.2f verdicts/s, %6.2f found/source, accuracy %s, legit added p99 %s ms" % (
                c["name"], f.get("verdicts_per_s") or 0, f.get("discovered_per_source") or 0,
                "—" if f.get("accuracy") is None else "%.3f" % f["accuracy"],
                _ms(f.get("legit", {}).get("added_p99_ms"))))
    finally:
        for srv in servers.values():
            try:
                srv.stop()
            except Exception as e:  # noqa: BLE001
                log("stopping a harvest cell's server: %s" % e)
    return figs, notes


def run(cfg, build_dir, tmp, which, log, only=None):
    matrix = cells(which, only)
    if not matrix:
        raise RuntimeError("no harvest cell matches %s" % only)
    attacked = staff(cfg.harvest_addresses)
    valid_pool = all_addresses(attacked)
    t_start = mono()
    template = None
    if any(c["server"] == "transportd" for c in matrix):
        template = transportd_template(build_dir, tmp, attacked, log)
    figs, notes = [], []
    plan = waves(matrix, cfg.harvest_all_at_once)
    for number, wave in enumerate(plan, 1):
        f, n = run_wave(wave, number, cfg, build_dir, tmp, template, valid_pool, log)
        figs.extend(f)
        notes.extend(x for x in n if not any(x[:20] == y[:20] for y in notes))
    figs.sort(key=lambda c: c["index"])
    memory = reputation_memory(build_dir, log) if "transportd" in which else None
    return {
        "cells": figs, "targets": targets(figs, cfg, memory), "reputation_memory": memory, "server_notes": notes,
        "settings": {"tarpit_seconds": cfg.tarpit_seconds, "attack_seconds": cfg.harvest_seconds,
                     "baseline_seconds": cfg.harvest_baseline, "connections_per_source": cfg.harvest_per_source,
                     "patience_s": cfg.harvest_patience, "valid_fraction": cfg.harvest_valid,
                     "attacked_addresses": cfg.harvest_addresses, "legit_messages_per_s": cfg.legit_rate,
                     "legit_stale_fraction": cfg.legit_stale, "legit_held_s": cfg.legit_held_s,
                     "legit_added_p99_ms_limit": cfg.legit_added_p99_ms, "waves": len(plan),
                     "all_at_once": cfg.harvest_all_at_once},
        "wall_seconds": mono() - t_start,
    }
