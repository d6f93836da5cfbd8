"""bench/results/<date>.md (side-by-side tables) and <date>.json (every figure) from one results dict."""
import json
import os

SERVERS = ["transportd", "Postfix"]


def num(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return "{:,}".format(v)
    return "{:,.{}f}".format(v, digits)


def pair(d, a, b, digits=1, sep=" / "):
    if not d or d.get("n", 1) == 0:
        return "—"
    return num(d.get(a), digits) + sep + num(d.get(b), digits)


def kv(d):
    if not d:
        return "none"
    return ", ".join("%s: %s" % (k, num(v)) for k, v in sorted(d.items()))


def table(rows, cols):
    out = ["| figure | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)


def side(entry, fn, servers):
    return [fn(entry[s]) if s in entry else "not run" for s in servers]


def mib(kib):
    return None if kib is None else kib / 1024.0


def hold_section(entry, servers):
    out = []
    levels = {s: entry[s]["levels"] for s in servers if s in entry}
    n = max(len(v) for v in levels.values())
    for i in range(n):
        lv = {s: levels[s][i] for s in levels if i < len(levels[s])}
        c = next(iter(lv.values()))["sessions"]
        g = lambda f: [f(lv[s]) if s in lv else "not run" for s in servers]  # noqa: E731
        rows = [
            ["client processes / source addresses"] + g(lambda x: "%d / %d" % (x["client_processes"], x["source_addresses"])) + [""],
            ["TCP connected"] + g(lambda x: num(x["connected"])) + [""],
            ["greeted (got the 220 banner)"] + g(lambda x: num(x["greeted"])) + [""],
            ["**served** (got the reply to the rejected RCPT)"] + g(lambda x: "**%s**" % num(x["served"])) + ["all %s" % num(c)],
            ["held open when measured / until release"] + g(lambda x: "%s / %s" % (num(x["held_when_measured"]), num(x["held_until_release"]))) + [""],
            ["connected but never greeted (kernel backlog)"] + g(lambda x: num(x["never_greeted"])) + [""],
            ["TCP connect still pending at release (SYN unanswered) / not yet tried"] + g(lambda x: "%s / %s" % (num(x.get("still_connecting_at_release")), num(x.get("not_yet_attempted_at_release")))) + [""],
            ["failed"] + g(lambda x: kv(x["failed"])) + [""],
            ["RCPT replies"] + g(lambda x: kv(x["rcpt_replies"])) + [""],
            ["RCPT → reply delay p50 / p99 (ms)"] + g(lambda x: pair(x["rcpt_delay"], "p50_ms", "p99_ms")) + [""],
            ["time until every session was served (s)"] + g(lambda x: num(x["all_served_after_s"])) + [""],
            ["server PSS idle → held (MiB)"] + g(lambda x: "%s → %s" % (num(mib(x["memory_idle_kib"]["pss"])), num(mib(x["memory_held_kib"]["pss"])))) + [""],
            ["server processes idle → held"] + g(lambda x: "%d → %d" % (x["memory_idle_kib"]["processes"], x["memory_held_kib"]["processes"])) + [""],
            ["**PSS per held session (KiB)**"] + g(lambda x: "**%s**" % num(x["pss_per_held_session_kib"])) + ["≤ 16"],
            ["RSS per held session (KiB)"] + g(lambda x: num(x["rss_per_held_session_kib"])) + [""],
            ["peak PSS during the run (MiB)"] + g(lambda x: num(mib(x["memory_peak_kib"]["pss"]))) + [""],
            ["server open fds held"] + g(lambda x: num(x["open_fds_held"])) + [""],
            ["kernel TCP buffers, whole machine, held (MiB)"] + g(lambda x: num(mib(x["kernel_tcp_memory_kib_held"]))) + [""],
            ["legitimate transaction, idle: p50 / p99 (ms)"] + g(lambda x: pair(x["legit_idle"]["latency"], "p50_ms", "p99_ms")) + [""],
            ["**legitimate transaction while held: p50 / p99 (ms)**"] + g(lambda x: "**%s**" % pair(x["legit_held"]["latency"], "p50_ms", "p99_ms")) + ["p99 < 20"],
            ["legitimate transactions ok / tried (failures)"] + g(lambda x: "%d / %d%s" % (x["legit_held"]["ok"], x["legit_held"]["attempts"], (" (" + kv(x["legit_held"]["failures"]) + ")") if x["legit_held"]["failures"] else "")) + [""],
            ["client CPU (s)"] + g(lambda x: num(x["client_cpu_s"])) + [""],
        ]
        out.append("### C = %s\n\n%s" % (num(c), table(rows, servers + ["target"])))
    return "\n\n".join(out)


def verdict_of(ok):
    return "—" if ok is None else ("**pass**" if ok else "**FAIL**")


def reputation_summary(rep):
    """"attacker: 2 Discredited; legit: 1 Clean": the states of the server's records at the end."""
    if not rep:
        return "—"
    if "error" in rep:
        return "(%s)" % rep["error"][:60]
    parts = []
    for side in ("attacker", "legit", "other"):
        if rep.get(side):
            parts.append("%s: %s" % (side, ", ".join("%d %s" % (n, s) for s, n in sorted(rep[side].items()))))
    return "; ".join(parts) or "no records"


def harvest_summary(cells):
    """Side by side per attacker: verdicts/s, valid addresses found per source, accuracy, the legitimate
    sender's added p99 — for the fixed tarpit (defence off), transportd's defence, and Postfix."""
    def find(server, defence, n, patient):
        return next((c for c in cells if c["server"] == server and c["defence"] == defence and c["sources"] == n
                     and c["patient"] == patient and "verdicts_per_s" in c), None)

    def cell(c):
        if c is None:
            return "not run"
        return "%s /s; **%s**; %s; %s ms" % (
            num(c["verdicts_per_s"], 2), num(c["discovered_per_source"], 2),
            "—" if c["accuracy"] is None else "%.1f %%" % (100 * c["accuracy"]),
            num((c.get("legit") or {}).get("added_p99_ms"), 1))
    out = ["Each cell: verdicts per second; **valid addresses found per attacking address**; accuracy of the "
           "verdicts; the legitimate sender's added RCPT→250 p99.", "",
           "| attacker | transportd, defence off (Exchange's fixed tarpit) | **transportd, defence on** | Postfix |",
           "|---|---|---|---|"]
    for n in (1, 16):
        for patient in (True, False):
            out.append("| %s, %d source%s | %s | %s | %s |" % (
                "patient" if patient else "impatient", n, "s" if n > 1 else "",
                cell(find("transportd", False, n, patient)), cell(find("transportd", True, n, patient)),
                cell(find("Postfix", None, n, patient))))
    out.append("")
    out.append("Every figure of every cell:")
    out.append("")
    return out


def harvest_matrix_section(m):
    st = m["settings"]
    together = ("all %d cells at once" % len(m["cells"]) if st.get("all_at_once") else
                "in %d waves one after another; in a wave, a defence-off cell and its defence-on twin (same attacker), "
                "or two Postfix cells, run at once" % st.get("waves", 0))
    out = ["Each cell has its own server instance (own port, fresh data directory), its own attacking /24 and a "
           "legitimate sender in another /24; the cells ran %s. TarpitInterval (Postfix: "
           "smtpd_error_sleep_time) %d s; %d s of attack after %d s in which only the legitimate sender runs "
           "(its baseline); %d connections per attacking address; %s of the guesses are real addresses, "
           "drawn without repetition from %s of them split between a cell's sources; the impatient "
           "attacker hangs up when a RCPT reply takes over %s s and counts the silence as \"unknown user\". "
           "Legitimate sender: %s messages/s of 1–3 recipients, %s of them stale. Whole scenario %s s." % (
               together, st["tarpit_seconds"], st["attack_seconds"], st["baseline_seconds"], st["connections_per_source"],
               "%.0f %%" % (100 * st["valid_fraction"]), num(st["attacked_addresses"]), num(st["patience_s"]),
               num(st["legit_messages_per_s"]), "%.0f %%" % (100 * st["legit_stale_fraction"]),
               num(m.get("wall_seconds", m.get("load_wall_seconds")), 0)), ""]
    out.extend(harvest_summary(m["cells"]))
    cols = ["cell", "**verdicts/s**", "**valid found per source** (2nd half)", "**accuracy**",
            "valid read as unknown", "250 / 5xx delay p50 (ms)", "banner+EHLO+MAIL p50 / max (ms)",
            "connections opened / refused", "legit RCPT→250 p50 / p99: baseline → attack (ms)",
            "**legit added p50 / p99 (ms)**", "legit held / messages ok of started", "legit client's own lag p99 (ms)",
            "server / attacker CPU (s)", "wave: load average at start → end", "reputation at the end"]
    rows = []
    for c in m["cells"]:
        if "verdicts_per_s" not in c:
            rows.append([c["name"], c.get("error", "no result")] + [""] * (len(cols) - 2))
            continue
        lg = c.get("legit") or {}
        b, a = lg.get("baseline") or {}, lg.get("during_attack") or {}
        lc = lg.get("counts") or {}
        refused = sum(c["setup_failures"].values()) + c.get("connect_failures", 0)
        defence = c.get("defence_setting") or {}
        name = c["name"] + ("" if c["server"] != "transportd" or not c["defence"] or defence.get("available", True)
                            else " (**defence not in this build**)")
        rows.append([
            name, "**%s**" % num(c["verdicts_per_s"], 2),
            "**%s** (%s)" % (num(c["discovered_per_source"], 2), num(c["discovered_per_source_second_half"], 2)),
            "**%s**" % ("—" if c["accuracy"] is None else "%.1f %%" % (100 * c["accuracy"])),
            "%s of %s" % (num(c["confusion"]["valid said invalid"]),
                          num(c["confusion"]["valid said invalid"] + c["confusion"]["valid said valid"])),
            "%s / %s" % (num(c["delay_250"].get("p50_ms"), 0), num(c["delay_5xx"].get("p50_ms"), 0)),
            pair(c["setup_delay"], "p50_ms", "max_ms", 0),
            "%s / %s" % (num(c["connections_opened"]), num(refused)),
            "%s / %s → %s / %s" % (num(b.get("p50_ms"), 2), num(b.get("p99_ms"), 2), num(a.get("p50_ms"), 2),
                                   num(a.get("p99_ms"), 2)),
            "**%s / %s**" % (num(lg.get("added_p50_ms"), 2), num(lg.get("added_p99_ms"), 2)),
            "%s / %s of %s" % (num(lg.get("accepted_held")), num(lc.get("messages ok", 0)),
                               num(lc.get("messages started", 0))),
            num((lg.get("loop_lag") or {}).get("p99_ms"), 0),
            "%s / %s" % (num(c.get("server_cpu_s"), 1), num(c.get("attacker_cpu_s"), 1)),
            "%s: %s → %s" % (c.get("wave", "—"), c.get("loadavg_at_go") or "?", c.get("loadavg_at_end") or "?"),
            reputation_summary(c.get("reputation_at_end")) if c["server"] == "transportd" else "—",
        ])
    out.append("| " + " | ".join(cols) + " |")
    out.append("|---" * len(cols) + "|")
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    out.append("")
    out.append("**Targets** (DESIGN §9):")
    out.append("")
    out.append("| target | figures | result |")
    out.append("|---|---|---|")
    for t in m["targets"]:
        out.append("| %s | %s | %s |" % (t["target"], t["figures"], verdict_of(t["pass"])))
    out.append("")
    failures = []
    for c in m["cells"]:
        bits = []
        if c.get("setup_failures"):
            bits.append("attacker setup failures: " + kv(c["setup_failures"]))
        lc = (c.get("legit") or {}).get("counts") or {}
        bad = {k: v for k, v in lc.items() if k.startswith(("message failed", "messages skipped"))}
        if bad:
            bits.append("legitimate sender: " + kv(bad))
        if c.get("dictionary_exhausted"):
            bits.append("valid addresses ran out %d times" % c["dictionary_exhausted"])
        if c.get("server_alive_at_end") is False:
            bits.append("**server died**")
        if bits:
            failures.append("- %s: %s" % (c["name"], "; ".join(bits)))
    if failures:
        out.append("Refusals and failures:")
        out.append("")
        out.extend(failures)
        out.append("")
    for note in m.get("server_notes", []):
        out.append(note)
    return "\n".join(out)


def harvest_section(entry, servers):
    if "matrix" in entry:
        return harvest_matrix_section(entry["matrix"])
    g = lambda f: side(entry, f, servers)  # noqa: E731
    rows = [
        ["connections / seconds"] + g(lambda x: "%d / %s" % (x["connections"], num(x["seconds"]))),
        ["**probes answered per second**"] + g(lambda x: "**%s**" % num(x["probes_per_s"], 2)),
        ["hours to try a 15,000-name dictionary at this rate"] + g(lambda x: num(x.get("hours_for_15000_names"), 2)),
        ["probes sent / answered"] + g(lambda x: "%s / %s" % (num(x["probes_sent"]), num(x["probes_answered"]))),
        ["rejections per second"] + g(lambda x: num(x["rejected_per_s"], 2)),
        ["replies"] + g(lambda x: kv(x["replies"])),
        ["5xx delay p50 / p90 / p99 / max (ms)"] + g(lambda x: "%s / %s / %s / %s" % tuple(num(x["delay_5xx"].get(k)) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms"))),
        ["5xx delay min (ms)"] + g(lambda x: num(x["delay_5xx"].get("min_ms"))),
        ["2xx delay p50 / p99 / max (ms)"] + g(lambda x: "%s / %s / %s" % tuple(num(x["delay_2xx"].get(k)) for k in ("p50_ms", "p99_ms", "max_ms"))),
        ["**valid addresses discovered** (of distinct valid ones probed)"] + g(lambda x: "**%d** (of %d)" % (x["valid_discovered"], x["valid_probed"])),
        ["disconnects by the server"] + g(lambda x: num(x["disconnects"])),
        ["connections opened"] + g(lambda x: num(x["connections_opened"])),
        ["other"] + g(lambda x: kv(x["other"])),
    ]
    return table(rows, servers)


def throughput_section(entry, servers):
    g = lambda f: side(entry, f, servers)  # noqa: E731
    rows = [
        ["sessions × messages × bytes"] + g(lambda x: "%d × %s × %s" % (x["sessions"], num(x["messages_per_session"]), num(x["message_bytes"]))) + [""],
        ["accepted (250 after .)"] + g(lambda x: num(x["accepted"])) + [""],
        ["refused / errors"] + g(lambda x: kv(x["refused"])) + [""],
        ["**messages/s** (first MAIL to last 250)"] + g(lambda x: "**%s**" % num(x["messages_per_s"], 0)) + ["≥ 3× Postfix"],
        ["messages/s until all are in the Maildirs"] + g(lambda x: num(x["delivered_per_s"], 0)) + [""],
        ["**latency . → 250 p50 / p99 (ms)**"] + g(lambda x: "**%s**" % pair(x["latency_dot_to_250"], "p50_ms", "p99_ms", 2)) + [""],
        ["latency . → 250 max (ms)"] + g(lambda x: num(x["latency_dot_to_250"].get("max_ms"), 1)) + [""],
        ["**server CPU per message (ms)**"] + g(lambda x: "**%s**" % num(x["server_cpu_ms_per_message"], 3)) + ["≤ ⅓ Postfix"],
        ["server CPU total (s), until last 250 / until delivered"] + g(lambda x: "%s / %s" % (num(x["server_cpu_s_to_last_250"], 2), num(x["server_cpu_s_to_delivered"], 2))) + [""],
        ["client CPU per message (ms)"] + g(lambda x: num(x["client_cpu_ms_per_message"], 3)) + [""],
        ["disk: 4 KiB write + fsync p50 / p99 just before (ms)"] + g(lambda x: pair(x.get("fsync_4k_before"), "p50_ms", "p99_ms", 2)) + [""],
        ["Maildir check: new files = accepted, per mailbox"] + g(lambda x: "%s (%s files)" % ("ok" if x["maildir_verified"] else "**MISMATCH** " + ",".join(x["maildir_mismatched_mailboxes"]), num(x["maildir_new_files"]))) + [""],
    ]
    if all(s in entry for s in ("transportd", "Postfix")):
        t, p = entry["transportd"], entry["Postfix"]
        ratio = (t["messages_per_s"] / p["messages_per_s"]) if t["messages_per_s"] and p["messages_per_s"] else None
        cpu = (t["server_cpu_ms_per_message"] / p["server_cpu_ms_per_message"]) if t["server_cpu_ms_per_message"] and p["server_cpu_ms_per_message"] else None
        rows.append(["transportd ÷ Postfix: messages/s, CPU/message", num(ratio, 2) + "×", num(cpu, 2) + "×", "≥ 3×, ≤ 0.33×"])
    return table(rows, servers + ["target"])


def accuracy_section(entry, servers):
    cols, runs = [], []
    for srv in servers:
        for r in (entry.get(srv) or {}).get("runs", []):
            cols.append("%s, sent over %s s" % (srv, num(r["spread_seconds"])))
            runs.append(r)
    g = lambda f: [f(r) for r in runs]  # noqa: E731
    target = lambda t: [t] + [""] * 0  # noqa: E731
    rows = [
        ["waits asked / ready / measured"] + g(lambda x: "%s / %s / %s" % (num(x["waits_asked"]), num(x["ready"]), num(x["measured"]))) + [""],
        ["**most waits outstanding at one moment**"] + g(lambda x: "**%s**" % num(x.get("peak_concurrent_waits"))) + ["10,000"],
        ["rejections before the measured one, per session"] + g(lambda x: num(x["pre_rejects_per_session"])) + [""],
        ["client processes"] + g(lambda x: num(x["client_processes"])) + [""],
        ["replies"] + g(lambda x: kv(x["replies"])) + [""],
        ["**error of the delay p50 / p99 (ms)**"] + g(lambda x: "**%s**" % pair(x["error"], "p50_ms", "p99_ms", 2)) + target("p99 ≤ 5"),
        ["error max / min (ms)"] + g(lambda x: pair(x["error"], "max_ms", "min_ms", 2)) + [""],
        ["client lateness on its own send slots p99 / max (ms)"] + g(lambda x: "%s / %s" % (num(x["client_loop_lag_p99_ms"], 2), num(x["client_loop_lag_max_ms"], 2))) + [""],
        ["server / client CPU during the waits (s)"] + g(lambda x: "%s / %s" % (num(x.get("server_cpu_s"), 2), num(x["client_cpu_s"], 2))) + [""],
        ["load average before"] + g(lambda x: x.get("loadavg_before") or "—") + [""],
    ]
    return table(rows, cols + ["target"])


def admin_section(entry):
    x = entry.get("transportd")
    if not x:
        return "not run"
    g = x["get_receiveconnector"]
    h = x.get("get_receiveconnector_hyperfine")
    v = x["visible_after_adminctl_start_ms"]
    rows = [
        ["**`adminctl get-receiveconnector` wall time p50 / p99 (ms)**", "**%s**" % pair(g, "p50_ms", "p99_ms"), "< 20"],
        ["… max (ms), runs", "%s, %d" % (num(g.get("max_ms")), g.get("n", 0)), ""],
        ["… of which process start: `adminctl --version` (no RPC) p50 / p99 (ms)", pair(x.get("adminctl_version_only"), "p50_ms", "p99_ms"), ""],
        ["… hyperfine mean ± σ (ms)", "%s ± %s" % (num(h["mean_ms"]), num(h["stddev_ms"])) if h else "—", ""],
        ["**`set-receiveconnector --tarpit-interval` visible to new connections, after adminctl started: p50 / max (ms)**",
         "**%s / %s**" % (num(v["p50_ms"]), num(v["max_ms"])), "< 100"],
        ["… after adminctl exited, max (ms; ≤ 0: before it exited)", num(x["visible_after_adminctl_exit_ms_max"]), ""],
        ["adminctl set wall time p50 / max (ms)", pair(x["adminctl_set_wall_ms"], "p50_ms", "max_ms"), ""],
        ["changes measured, probes each", "%d, ~%d" % (len(x["set_visibility_runs"]), sum(r["probes"] for r in x["set_visibility_runs"]) // max(1, len(x["set_visibility_runs"]))), ""],
    ]
    return table(rows, ["transportd", "target"])


def relay_config(entry):
    out = []
    for name, c in (entry.get("configuration") or {}).items():
        out.append("**%s** (%s), its own instance for this scenario:\n" % (name, c.get("version")))
        out.extend("- " + x for x in c.get("changes", []))
        out.append("")
    return "\n".join(out)


def relay_section(entry, servers):
    servers = [s for s in SERVERS if s in entry]  # this scenario's own instances, whatever the others ran
    out = [relay_config(entry)]
    sink_runs = (entry.get("sink") or {}).get("runs", [])
    if sink_runs:
        rows = [
            ["sessions × messages × bytes"] + [("%d × %s × %s" % (r["sessions"], num(r["messages_per_session"]), num(r["message_bytes"]))) for r in sink_runs],
            ["**messages/s** (first MAIL to the sink's last receipt)"] + ["**%s**" % num(r["messages_per_s"], 0) for r in sink_runs],
            ["received / accepted by the client"] + ["%s / %s" % (num(r["sink_received"]), num(r["accepted"])) for r in sink_runs],
            ["sink / client CPU per message (ms)"] + ["%s / %s" % (num(1000 * r["sink_cpu_s"] / r["accepted"] if r["accepted"] and r.get("sink_cpu_s") is not None else None, 3), num(1000 * r["client_cpu_s"] / r["accepted"] if r["accepted"] else None, 3)) for r in sink_runs],
        ]
        out.append("**The sink alone** (the same load straight to it: what it can take, so that it is not what limits a relay; "
                   "its CPU is cumulative since it started):\n")
        out.append(table(rows, ["%d sessions" % r["sessions"] for r in sink_runs]))
        out.append("")
    runs = {s: (entry.get(s) or {}).get("runs", []) for s in servers}
    n = max([len(v) for v in runs.values()] + [0])
    for i in range(n):
        rv = {s: runs[s][i] for s in servers if i < len(runs[s])}
        first = next(iter(rv.values()))
        g = lambda f: [f(rv[s]) if s in rv else "not run" for s in servers]  # noqa: E731
        rows = [
            ["sessions × messages × bytes"] + g(lambda x: "%d × %s × %s" % (x["sessions"], num(x["messages_per_session"]), num(x["message_bytes"]))) + [""],
            ["accepted (250 after .) / refused"] + g(lambda x: "%s / %s" % (num(x["accepted"]), kv(x["refused"]))) + [""],
            ["**messages/s end to end** (first MAIL to the sink's last receipt)"] + g(lambda x: "**%s**" % num(x["messages_per_s"], 0)) + ["≥ 2× Postfix"],
            ["messages/s accepted (first MAIL to last 250)"] + g(lambda x: num(x["accepted_per_s"], 0)) + [""],
            ["**latency 250 → at the sink p50 / p99 (ms)**"] + g(lambda x: "**%s**" % pair(x["latency_250_to_sink"], "p50_ms", "p99_ms", 1)) + [""],
            ["latency 250 → at the sink max (ms)"] + g(lambda x: num(x["latency_250_to_sink"].get("max_ms"), 1)) + [""],
            ["**server CPU per message (ms)**, first MAIL to queue empty"] + g(lambda x: "**%s**" % num(x["server_cpu_ms_per_message"], 3)) + [""],
            ["server CPU (s) until last 250 / until queue empty"] + g(lambda x: "%s / %s" % (num(x["server_cpu_s_to_last_250"], 2), num(x["server_cpu_s"], 2))) + [""],
            ["client CPU per message (ms)"] + g(lambda x: num(1000 * x["client_cpu_s"] / x["accepted"] if x["accepted"] else None, 3)) + [""],
            ["at the sink: received / missing / duplicates"] + g(lambda x: "%s / %s / %s" % (num(x["sink_received"]), num(x["missing_at_sink"]), num(x["duplicates_at_sink"]))) + ["0 missing"],
            ["left in the queue at the end"] + g(lambda x: num(x["queued_at_end"])) + [""],
        ]
        if all(s in rv for s in ("transportd", "Postfix")):
            t, p = rv["transportd"], rv["Postfix"]
            ratio = t["messages_per_s"] / p["messages_per_s"] if t["messages_per_s"] and p["messages_per_s"] else None
            cpu = (t["server_cpu_ms_per_message"] / p["server_cpu_ms_per_message"]) if t.get("server_cpu_ms_per_message") and p.get("server_cpu_ms_per_message") else None
            rows.append(["transportd ÷ Postfix: messages/s, CPU/message", num(ratio, 2) + "×", num(cpu, 2) + "×", "≥ 2×"])
        out.append("### %d sessions\n\n%s\n" % (first["sessions"], table(rows, servers + ["target"])))
    lp = (entry.get("transportd") or {}).get("log_problems")
    if lp and lp.get("lines"):
        out.append("transportd's log had %d lines naming an error; the first:\n\n```\n%s\n```\n" % (lp["lines"], "\n".join(lp["first"][:10])))
    return "\n".join(out)


def queue_restart_section(entry):
    x = entry.get("transportd")
    if not x:
        return "not run"
    kib = lambda m: num(m.get("rss")) + " / " + num(m.get("pss"))  # noqa: E731
    rows = [
        ["messages sent (sessions × messages × bytes)", "%s (%d × %s × %s)" % (num(x["messages_sent"]), x["sessions"], num(x["messages_sent"] // max(1, x["sessions"])), num(x["message_bytes"])), ""],
        ["accepted / refused", "%s / %s" % (num(x["accepted"]), kv(x["refused"])), ""],
        ["time to queue them all (s), accepted per s", "%s, %s" % (num(x["seconds_to_queue_all"]), num(x["accepted_per_s"], 0)), ""],
        ["server CPU per message at intake (ms)", num(x["server_cpu_ms_per_message_intake"], 3), ""],
        ["RSS / PSS idle, before the load (KiB)", kib(x["memory_idle_kib"]), ""],
        ["RSS / PSS with every message queued (KiB)", kib(x["memory_queued_kib"]), ""],
        ["**RSS per queued message (KiB)**, (queued − idle) ÷ messages", "**%s**" % num(x["rss_per_queued_message_kib"], 2), "≤ 2"],
        ["RSS after the restart, queue loaded (KiB); per message", "%s; %s" % (num(x["memory_after_restart_kib"].get("rss")), num(x["rss_per_queued_message_after_restart_kib"], 2)), "≤ 2"],
        ["SIGTERM → exit (s)", num(x["sigterm_to_exit_s"], 3), ""],
        ["start → SMTP banner (s)", num(x["restart_to_banner_s"], 3), ""],
        ["start → admin API answers (s)", num(x["restart_to_admin_s"], 3), ""],
        ["start → get-queue shows every message (s)" if x["has_get_queue"] else "start → admin API answers (adminctl has no get-queue)", num(x["restart_to_full_queue_s"], 3), ""],
        ["**start → serving** (banner and the whole queue) (s)", "**%s**" % num(x["restart_to_serving_s"], 3), "≤ 2"],
        ["control files queue/*.ctl before / after the restart", "%s / %s" % (num(x["ctl_files_before_restart"]), num(x["ctl_files_after_restart"])), ""],
        ["get-queue MessageCount before / after", "%s / %s" % (num(x["get_queue_before_restart"]), num(x["get_queue_after_restart"])), ""],
        ["**every accepted message kept**", "**%s**" % num(x["all_kept"]), "yes"],
    ]
    out = [relay_config(entry), table(rows, ["transportd", "target"])]
    lp = x.get("log_problems")
    if lp and lp.get("lines"):
        out.append("\ntransportd's log had %d lines naming an error; the first:\n\n```\n%s\n```" % (lp["lines"], "\n".join(lp["first"][:10])))
    return "\n".join(out)


def fleet_section(entry):
    x = entry.get("transportd")
    if not x:
        return "not run"
    ms = lambda d, digits=1: "%s / %s / %s" % (num(d.get("p50_ms"), digits), num(d.get("p99_ms"), digits),  # noqa: E731
                                               num(d.get("max_ms"), digits))
    cp, dp, lat = x["change_propagation"], x["discredit_propagation"], x["rcpt_latency"]
    rows = [
        ["**admin change in force on the other nodes** after `adminctl new-mailbox` returned on MAIL01, over %d changes: p50 / p99 / max (ms)" % cp["changes"],
         "**%s**" % ms(cp["from_adminctl_return"]), "≤ 1,000"],
        ["the same from adminctl's start (its own process and the commit included)", ms(cp["from_adminctl_start"]), ""],
        ["**harvester Discredited on MAIL02** after its last hang-up at MAIL01, over %d harvesters: p50 / p99 / max (ms)" % dp["sources"],
         "**%s**" % ms(dp["hang_up_to_discredited_elsewhere"]), "≤ 2,000"],
        ["RCPT round trip on MAIL02 (PostgreSQL + Redis%s): p50 / p99 / max (ms), best of %d rounds of %s" % (
            ", %s mailboxes" % num(x["large_directory"]["mailboxes"] + 50) if x.get("large_directory") else "",
            len(lat["rounds"]), num(lat["rcpts_per_round"])),
         ms(lat["postgresql_redis"], 3), ""],
        ["RCPT round trip on a lone node on SQLite (50 mailboxes): p50 / p99 / max (ms), best of %d rounds" % len(lat["rounds"]),
         ms(lat["sqlite"], 3), "no difference"],
    ]
    big = x.get("large_directory")
    if big:
        rows += [
            ["%s mailboxes imported straight into PostgreSQL (one transaction): COMMIT → served by every node (s)" % num(big["mailboxes"]),
             num(big["served_everywhere_after_commit_s"], 2), ""],
            ["a node's RSS growth for them (KiB); its RSS then", "%s; %s" % (num(big["rss_growth_kib"]), num(big["rss_after_kib"])), ""],
            ["one admin change with them present: in force on the other nodes, p50 / p99 / max (ms)", ms(big["one_change_after"]), "≤ 1,000"],
        ]
    out = ["Three nodes (MAIL01..MAIL03) on %s for their configuration and %s for source reputation, all on loopback. "
           "A change is in force on a node when a new SMTP session there accepts the new mailbox; a source is "
           "Discredited on MAIL02 when its get-sourcereputation says so (polled; each poll is an adminctl process, "
           "a few ms)." % (x["config_store"], x["reputation_store"]), "", table(rows, ["transportd", "target"])]
    return "\n".join(out)


def markdown(results):
    m = results["machine"]
    servers = [s for s in SERVERS if s in results.get("servers", {})] or SERVERS
    lines = ["# transportd and Postfix side by side — %s%s" % (results["date"], " (quick mode: small numbers)" if results.get("quick") else ""), ""]
    lines.append("Written by `bench/run`; how to read it: [bench/README.md](../README.md). Every figure is also in the JSON beside this file.")
    lines.append("")
    lines.append("**Machine**: %s CPUs, %s GiB, %s, kernel %s, Python %s. **Open files per process: soft %s, hard %s** "
                 "(nr_open %s). Ephemeral ports %s per source address; somaxconn %s. Load average at start: %s. "
                 "Servers and clients share the same 2 cores; the clients are on the same machine." % (
                     m["cpus"], m["memory_gib"], m["os"], m["kernel"], m["python"], num(m["open_files_soft"]),
                     num(m["open_files_hard"]), m["nr_open"], "–".join((m["ephemeral_ports"] or "").split()), m["somaxconn"], m["loadavg_at_start"]))
    f = m.get("fsync_4k")
    if f:
        lines.append("")
        lines.append("**Disk**: 4 KiB write + fsync in the temp directory at the start: p50 %s ms, p99 %s ms, max %s ms "
                     "(100 samples). Durable delivery waits for this." % (num(f.get("p50_ms"), 2), num(f.get("p99_ms"), 2),
                                                                         num(f.get("max_ms"), 2)))
    lines.append("")
    lines.append("**Sources**: commit %s (build-bench/, Release)." % m["commit"])
    lines.append("")
    for name in servers:
        d = results["servers"].get(name)
        if d:
            lines.append("**%s** (%s):" % (name, d["version"]))
            lines.append("")
            for c in d["configuration"]:
                lines.append("- " + c)
            lines.append("")
    sc = results["scenarios"]
    titles = [("hold", "1. hold: concurrent tarpitted sessions"), ("harvest", "2. harvest: directory harvest attack"),
              ("throughput", "3. throughput: durable clean mail"), ("accuracy", "4. tarpit accuracy"),
              ("admin", "5. admin latency (transportd only)"), ("relay", "6. relay: durable relay to a smart host"),
              ("queue-restart", "7. queue-restart: 100,000 messages for a next hop that is down (transportd)"),
              ("fleet", "8. fleet: three nodes sharing PostgreSQL and Redis (transportd)")]
    for key, title in titles:
        if key not in sc:
            continue
        e = sc[key]
        lines.append("## %s\n\nRun at %s on commit %s%s; load average (1 min) at its start: %s.\n" % (
            title, e.get("run_at", "?"), e.get("commit", "?"), " (quick)" if e.get("quick") else "",
            e.get("loadavg_at_start", "?")))
        if key == "hold":
            lines.append(hold_section(e, servers))
        elif key == "harvest":
            lines.append(harvest_section(e, servers))
        elif key == "throughput":
            lines.append(throughput_section(e, servers))
        elif key == "accuracy":
            lines.append(accuracy_section(e, servers))
        elif key == "admin":
            lines.append(admin_section(e))
        elif key == "relay":
            lines.append(relay_section(e, servers))
        elif key == "queue-restart":
            lines.append(queue_restart_section(e))
        elif key == "fleet":
            lines.append(fleet_section(e))
        lines.append("")
    return "\n".join(lines)


def write(results, directory, name):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name + ".json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=False, default=str)
        f.write("\n")
    md = os.path.join(directory, name + ".md")
    with open(md, "w") as f:
        f.write(markdown(results))
    return md
