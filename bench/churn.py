#!/usr/bin/env python3
"""EndpointSlice changes for the scale benchmark (bench/scale.sh,
bench/scale-vm.sh), in manifests mode, and their match with the proxier's
syncs.

The manifests are `bench/proxier-gen.py manifests DIR N R SPLIT`: Services
0..SPLIT-1 have their EndpointSlice in a file of their own, slice-I.yaml.
Change c rewrites the file of Service I = 7919*c mod SPLIT (a Service
comes back every SPLIT changes when SPLIT is prime to 7919) with its first
endpoint replaced by
10.250.(c >> 8 & 255).(c & 255): one real server added, one deleted. Each
file is written under a temporary name and renamed into place (a new
inode: the proxier's poll sees it).

    churn.py changes DIR N R SPLIT FIRST COUNT LOG OUT [EARLIER...]
        changes FIRST..FIRST+COUNT-1 one at a time: after each, wait for
        the next `sync done` line of the proxier's LOG, then 0.2 s.
    churn.py churn DIR N R SPLIT FIRST RATE SECONDS OUT [EARLIER...]
        RATE changes per second for SECONDS, paced on a schedule.
    Both append `CHANGE c service t_renamed` lines to OUT; EARLIER are the
    OUT files of changes made before (their endpoints are the base).
    churn.py match LOG CHANGES SINCE_LINE [WAIT_S]
        the syncs of LOG after its first SINCE_LINE lines, matched with the
        changes of CHANGES (waiting up to WAIT_S for the last ones): every
        change adds one real server and the changes reach the proxier in
        order, so the running sum of `real_servers_added` says which sync
        carried which change (two changes of one Service in one sync would
        add one: counted as not carried). Prints the count of changes
        carried, the latency percentiles (sync done - renamed, ms) and the
        messages.
    churn.py expect N R CHANGES...
        the sorted `ipvsadm -Sn` lines the kernel must hold after the
        changes of the CHANGES files (on top of the generated manifests).

Order caveat: a poll scans the directory in its own order, so a change
renamed while a poll is scanning can be seen one poll after a later one;
the running sum then assigns it the earlier sync. That blurs latencies by
at most one poll for the few changes written during a scan, and never
changes the count carried.
"""

import importlib.util
import os
import re
import sys
import time
from datetime import datetime

STRIDE = 7919


def _generator():
    """bench/proxier-gen.py, beside this file: the shapes of its objects."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proxier-gen.py")
    spec = importlib.util.spec_from_file_location("proxier_gen", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
vip = GEN.vip
endpoints = GEN.endpoints
slice_yaml = GEN.endpoint_slice


def new_endpoint(c):
    return f"10.250.{(c >> 8) & 255}.{c & 255}"


def service_of(c, split):
    return (STRIDE * c) % split


class Table:
    """The endpoints of every Service after the changes so far."""

    def __init__(self, n, r):
        self.r = r
        self.changed = {}

    def of(self, i):
        return self.changed.get(i) or endpoints(i, self.r)

    def apply(self, c, i):
        self.changed[i] = [new_endpoint(c)] + self.of(i)[1:]
        return self.changed[i]


def done_changes(paths):
    out = []
    for path in paths:
        if os.path.exists(path):
            with open(path) as f:
                out += [line.split() for line in f if line.startswith("CHANGE ")]
    return out


def prepared(directory, n, r, split, first, count, history):
    """The texts of changes first..first+count-1, after those in HISTORY."""
    table = Table(n, r)
    for _, c, i, *_ in done_changes(history):
        table.apply(int(c), int(i))
    out = []
    for c in range(first, first + count):
        i = service_of(c, split)
        path = os.path.join(directory, f"slice-{i}.yaml")
        tmp = os.path.join(directory, f".slice-{i}.yaml.tmp")
        out.append((c, i, path, tmp, slice_yaml(i, table.apply(c, i))))
    return out


def write(tmp, path, text):
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def sync_count(log):
    with open(log, errors="replace") as f:
        return sum(1 for line in f if ": sync done" in line)


def cmd_changes(directory, n, r, split, first, count, log, out, earlier):
    todo = prepared(directory, n, r, split, first, count, [out] + earlier)
    with open(out, "a") as f:
        for c, i, path, tmp, text in todo:
            before = sync_count(log)
            write(tmp, path, text)
            f.write(f"CHANGE {c} {i} {time.time():.6f}\n")
            f.flush()
            deadline = time.time() + 900
            while sync_count(log) <= before:
                if time.time() > deadline:
                    sys.exit(f"churn.py: no sync within 900 s after change {c}")
                time.sleep(0.005)
            time.sleep(0.2)


def cmd_churn(directory, n, r, split, first, rate, seconds, out, earlier):
    total = int(rate * seconds)
    todo = prepared(directory, n, r, split, first, total, [out] + earlier)
    late = 0
    with open(out, "a") as f:
        start = time.time()
        for k, (c, i, path, tmp, text) in enumerate(todo):
            wait = start + k / rate - time.time()
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.1:
                late += 1
            write(tmp, path, text)
            f.write(f"CHANGE {c} {i} {time.time():.6f}\n")
        end = time.time()
    print(f"CHURN changes={total} seconds={end - start:.3f} rate={total / (end - start):.1f}/s "
          f"behind_schedule_over_100ms={late}")


def log_time(line):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", line)
    if not m:
        return None
    base = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return (base - datetime(1970, 1, 1)).total_seconds() + frac


def field(line, name):
    m = re.search(rf"\b{name}=(\d+)", line)
    return int(m.group(1)) if m else 0


def percentile(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def syncs_after(log, since):
    with open(log, errors="replace") as f:
        lines = f.readlines()[since:]
    return [line for line in lines if ": sync done" in line]


def cmd_match(log, changes, since, wait):
    stored = [float(fields[3]) for fields in done_changes([changes])]
    deadline = time.time() + wait
    while True:
        syncs = syncs_after(log, since)
        if sum(field(s, "real_servers_added") for s in syncs) >= len(stored) or time.time() > deadline:
            break
        time.sleep(0.5)
    latencies, carried, used, messages, forks, elapsed, per_sync = [], 0, 0, 0, 0, [], []
    for line in syncs:
        added = field(line, "real_servers_added")
        if added == 0:
            continue
        t = log_time(line)
        used += 1
        messages += field(line, "mutating_messages")
        forks += field(line, "iptables_forks")
        elapsed.append(field(line, "elapsed_ms"))
        per_sync.append(added)
        for c in range(carried, min(len(stored), carried + added)):
            latencies.append((t - stored[c]) * 1000)
        carried += added
    print(f"MATCH changes={len(stored)} carried={min(carried, len(stored))} "
          f"not_carried={max(0, len(stored) - carried)} extra_added={max(0, carried - len(stored))} "
          f"syncs={used} mutating_messages={messages} iptables_forks={forks}")
    if latencies:
        print("LATENCY_MS " + " ".join(
            f"{name}={percentile(latencies, p):.1f}"
            for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)))
            + f" min={min(latencies):.1f}")
        print(f"SYNCS changes_per_sync_p50={percentile(per_sync, 50)} max={max(per_sync)} "
              f"elapsed_ms_p50={percentile(elapsed, 50)} p99={percentile(elapsed, 99)} "
              f"max={max(elapsed)}")


def cmd_expect(n, r, paths):
    table = Table(n, r)
    for _, c, i, *_ in done_changes(paths):
        table.apply(int(c), int(i))
    out = []
    for i in range(n):
        out.append(f"-A -t {vip(i)}:80 -s rr")
        for a in table.of(i):
            out.append(f"-a -t {vip(i)}:80 -r {a}:80 -m -w 1")
    out.sort()
    sys.stdout.write("\n".join(out) + "\n")


def main(argv):
    if not argv:
        sys.exit(__doc__)
    what, a = argv[0], argv[1:]
    try:
        if what == "changes":
            cmd_changes(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), int(a[5]), a[6], a[7], a[8:])
        elif what == "churn":
            cmd_churn(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), float(a[5]), float(a[6]), a[7], a[8:])
        elif what == "match":
            cmd_match(a[0], a[1], int(a[2]), float(a[3]) if len(a) > 3 else 0)
        elif what == "expect":
            cmd_expect(int(a[0]), int(a[1]), a[2:])
        else:
            sys.exit(__doc__)
    except (IndexError, ValueError):
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
