"""Turns bench/compare.sh's records into the table and bench/RESULTS.md.

Usage: compare_report.py RECORDS.jsonl META.txt COMMANDS.txt OUT.md ELAPSED_S
Each record is one measurement: {"workload", "server", "rep", "status",
"bench": <netlab bench --json>, "cpu_s", "wall_s"} (syscalls records carry
"syscalls" instead). Every value is a median over the repetitions; every
ratio is the median of per-repetition ratios, so a server is only ever
compared with the limit measured in the same repetition.
"""
import json
import statistics
import sys

NOTES = """\
- Servers: netlab tserv (`--model reactor|thread|fork`), userv and chat-server;
  the limit references in bench/limit/ (single-threaded epoll, plain C++, the
  same bytes on the wire as netlab, one recv and one send per wakeup;
  limit-userv batches with recvmmsg/sendmmsg); redis-server (PING inline for
  rr and idle, SUBSCRIBE/PUBLISH for fanout); the tutorial's designs in Python
  3 (bench/py/: ThreadingTCPServer, asyncio streams, asyncio datagrams,
  asyncio room chat).
- Differences in work done: redis answers `+PONG` to `PING` (no clock, no
  copy of the request); redis pub/sub sends each subscriber a RESP array, not
  a formatted line; limit-chat and chat_asyncio.py speak only the chat subset
  fanout uses (login, reuse, messages, quit, join/leave notices; /commands get
  "unknown command", names are only length-checked).
- Noise: the machine has two CPUs and the run shares them with anything else
  running; interleaving and per-repetition ratios cancel slow drifts, not
  bursts. *server CPU/op* is the steadier figure when the load average is high.
- idle: chat-server connections are logged-in members, each in a room of its
  own (`--payload 'm{n} r{n}'`), so the figure includes a room per member.
- syscalls: one repetition under `strace -c -f` on the server (no warmup), all
  system calls of the whole run (accepts and setup included) divided by the
  requests the generator completed; strace slows the server, not the count.
- tserv-fork CPU: sampled from /proc every 0.25 s while the run lasts, so a
  child's last quarter second is missed.
"""

# The limit reference each workload is measured against.
LIMIT = {"rr": "limit-tserv", "idle": "limit-tserv", "syscalls": "limit-tserv",
         "udp": "limit-userv", "fanout": "limit-chat"}


def family(workload):
    return next(k for k in LIMIT if workload.startswith(k))


def metric(workload, rec):
    """The figure of interest, and whether lower is better."""
    b = rec["bench"]
    if workload == "rr1":
        return b["latency_us"]["p50"], True
    if workload == "idle":
        return b.get("rss_per_conn_kib"), True
    if workload == "syscalls":
        return rec["syscalls"] / max(b["requests"], 1), True
    return b["rate"], False


def cpu_per_op_us(rec):
    """Server CPU per request (or delivery): CPU share / rate."""
    b = rec["bench"]
    if "cpu_s" not in rec or not b.get("rate") or not rec.get("wall_s"):
        return None
    return rec["cpu_s"] / rec["wall_s"] / b["rate"] * 1e6


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Results:
    def __init__(self, records):
        self.ok = {}  # (workload, server) -> {rep: record}
        self.failed = {}  # (workload, server) -> [status]
        self.order = []  # (workload, server) in run order
        for r in records:
            key = (r["workload"], r["server"])
            if key not in self.order:
                self.order.append(key)
            if r["status"] == "ok":
                self.ok.setdefault(key, {})[r["rep"]] = r
            else:
                self.failed.setdefault(key, []).append(r["status"])

    def value(self, wl, server, f=None):
        f = f or (lambda rec: metric(wl, rec)[0])
        return median(f(r) for r in self.ok.get((wl, server), {}).values())

    def ratio(self, wl, server, other):
        """Median over repetitions of server/other, both from the same repetition."""
        mine, theirs = self.ok.get((wl, server), {}), self.ok.get((wl, other), {})
        pairs = []
        for rep in mine.keys() & theirs.keys():
            a, b = metric(wl, mine[rep])[0], metric(wl, theirs[rep])[0]
            if a is not None and b:
                pairs.append(a / b)
        return median(pairs)


def fmt(x, kind):
    if x is None:
        return "n/a"
    if kind == "ratio":
        return f"{x:.2f}×"
    if kind == "ratio3":  # targets: 0.949 must not read as 0.95
        return f"{x:.3f}×"
    if kind == "rate":
        return f"{x:,.0f}/s"
    if kind == "us":
        return f"{x:,.1f} µs" if x < 100 else f"{x:,.0f} µs"
    if kind == "kib":
        return f"{x:.2f} KiB/conn"
    return f"{x:.2f}"


def table(res):
    rows = ["| workload | server | value | × limit | p50 | p99 | server CPU/op | notes |",
            "|---|---|---|---|---|---|---|---|"]
    for wl, server in res.order:
        fam = family(wl)
        kind = {"rr1": "us", "idle": "kib", "syscalls": "calls"}.get(wl, "rate")
        value = res.value(wl, server)
        shown = fmt(value, kind) + (" syscalls/req" if kind == "calls" else "")
        ratio = res.ratio(wl, server, LIMIT[fam])
        p50 = res.value(wl, server, lambda r: r["bench"]["latency_us"]["p50"])
        p99 = res.value(wl, server, lambda r: r["bench"]["latency_us"]["p99"])
        cpu = None if fam in ("idle", "syscalls") else res.value(wl, server, cpu_per_op_us)
        notes = []
        runs = res.ok.get((wl, server), {})
        errors = sum(r["bench"].get("errors", 0) for r in runs.values())
        lost = sum(r["bench"].get("lost", 0) for r in runs.values())
        if errors:
            notes.append(f"{errors} errors")
        if lost:
            notes.append(f"{lost} lost")
        most = max(len(v) for (w, _), v in res.ok.items() if w == wl) if runs else 0
        if runs and len(runs) < most:
            notes.append(f"{len(runs)} of {most} repetitions")
        for status in sorted(set(res.failed.get((wl, server), []))):
            notes.append(f"{res.failed[(wl, server)].count(status)}× {status}")
        if wl == "syscalls" and runs:
            notes.append(next(iter(runs.values())).get("top", ""))
        rows.append(f"| {wl} | {server} | {shown} | {fmt(ratio, 'ratio')} | {fmt(p50, 'us')} | "
                    f"{fmt(p99, 'us')} | {fmt(cpu, 'us')} | {'; '.join(notes)} |")
    return "\n".join(rows)


def targets(res):
    """Issue 5's targets: (what, measured, met)."""
    out = []

    def check(what, x, ok, kind="ratio3"):
        out.append((what, fmt(x, kind), "n/a (not measured)" if x is None else
                    ("met" if ok(x) else "**missed**")))

    for wl in ("rr50", "rr500"):
        check(f"{wl}: tserv reactor ≥ 0.95× limit", res.ratio(wl, "tserv-reactor", "limit-tserv"),
              lambda x: x >= 0.95)
        check(f"{wl}: tserv reactor ≥ 1.1× Redis", res.ratio(wl, "tserv-reactor", "redis"),
              lambda x: x >= 1.1)
    check("rr1: tserv reactor p50 latency ≤ 1.05× limit",
          res.ratio("rr1", "tserv-reactor", "limit-tserv"), lambda x: x <= 1.05)
    check("udp50: userv ≥ 0.95× limit", res.ratio("udp50", "userv", "limit-userv"),
          lambda x: x >= 0.95)
    check("fanout1000w16: chat-server ≥ 0.95× limit chat",
          res.ratio("fanout1000w16", "chat-server", "limit-chat"), lambda x: x >= 0.95)
    check("fanout1000w16: chat-server ≥ 1.15× Redis pub/sub",
          res.ratio("fanout1000w16", "chat-server", "redis"), lambda x: x >= 1.15)
    check("idle: tserv RSS ≤ 1.0 KiB/conn", res.value("idle", "tserv-reactor"),
          lambda x: x <= 1.0, "kib")
    check("idle: chat-server RSS ≤ 1.5 KiB/conn (logged-in members, a room each)",
          res.value("idle", "chat-server"),
          lambda x: x <= 1.5, "kib")
    check("rr50 under strace: tserv reactor ≤ 2.1 syscalls/request",
          res.value("syscalls", "tserv-reactor"), lambda x: x <= 2.1, "calls")
    rows = ["| target | measured | |", "|---|---|---|"]
    rows += [f"| {w} | {m} | {s} |" for w, m, s in out]
    return "\n".join(rows)


def main():
    records_path, meta_path, commands_path, out_path, elapsed = sys.argv[1:6]
    records = [json.loads(line) for line in open(records_path) if line.strip()]
    res = Results(records)
    meta = [line.rstrip("\n") for line in open(meta_path)]
    commands = list(dict.fromkeys(line.rstrip("\n") for line in open(commands_path)))
    main_table, target_table = table(res), targets(res)
    print(main_table)
    print()
    print(target_table)
    with open(out_path, "w") as f:
        f.write("# netlab side by side (bench/compare.sh)\n\n")
        with open("/proc/loadavg") as la:
            load = " ".join(la.read().split()[:3])
        f.write("\n".join(f"- {m}" for m in meta) +
                f"\n- load average at the end: {load}\n- run time: {elapsed} s\n\n")
        f.write("## Results\n\n")
        f.write("Medians over the repetitions. *value* is the rate (requests, or deliveries\n"
                "for fanout, per second), except rr1: p50 latency, and idle: server RSS per\n"
                "connection; lower is better for those two. *× limit* is the median of the\n"
                "per-repetition ratios to the limit reference of the same repetition\n"
                "(limit-tserv, limit-userv, limit-chat). *server CPU/op* is the server's CPU\n"
                "share (utime+stime from /proc, children included) divided by the rate.\n\n")
        f.write(main_table + "\n\n## Issue 5 targets\n\n" + target_table + "\n\n")
        f.write("## Notes\n\n" + NOTES + "\n")
        f.write("## Commands\n\n```\n" + "\n".join(commands) + "\n```\n")
    print(f"\nwrote {out_path}")


if __name__ == "__main__":
    main()
