#!/usr/bin/env python3
"""cpustat: where a bench scenario's CPU time went, per component of the stack.

  cpustat.py snap PIDFILE...          print one JSON snapshot on stdout
  cpustat.py diff BEFORE AFTER N      print the per-request figures of N requests
  cpustat.py cost BEFORE AFTER N CLIENT_MS DB0 DB1
                                      the same, plus the load generator's CPU (CLIENT_MS in all)
                                      and the database's counters (Innodb_data_fsyncs,
                                      Innodb_log_writes, Innodb_row_lock_waits,
                                      Innodb_row_lock_time, Com_stmt_execute before and
                                      after, one line per file)

A component is named after its pid file (mysqld.pid -> mysqld, nginx.pid -> nginx, ...).  Its
CPU time is the user + system time of the process in the file and of all its descendants that are
alive, plus the time of the children it has reaped (cutime/cstime of every process in the tree),
so workers retired during the run still count.  "box" is the whole machine (/proc/stat): on a
shared machine it says how busy the cores were, not what the stack used.
"""
import json
import os
import sys

HZ = os.sysconf("SC_CLK_TCK")


def proc_table():
    """pid -> (ppid, ticks of its own, ticks of its reaped children)."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        # fields after the comm: state ppid ... utime(14) stime(15) cutime(16) cstime(17)
        ppid = int(rest[1])
        own = int(rest[11]) + int(rest[12])
        reaped = int(rest[13]) + int(rest[14])
        table[int(d)] = (ppid, own, reaped)
    return table


def tree_ticks(root, table):
    kids = {}
    for pid, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1] + table[pid][2]
        todo.extend(kids.get(pid, []))
    return total


def box_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]), idle


def snap(pidfiles):
    table = proc_table()
    comps = {}
    for pf in pidfiles:
        try:
            with open(pf) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if pid not in table:
            continue
        name = os.path.basename(pf).rsplit(".pid", 1)[0]
        comps[name] = comps.get(name, 0) + tree_ticks(pid, table)
    total, idle = box_ticks()
    return {"hz": HZ, "cpus": os.cpu_count(), "components": comps,
            "box_total": total, "box_idle": idle}


def diff(before, after, n):
    hz = after["hz"]
    out = {}
    for name, t in after["components"].items():
        if name in before["components"]:
            out[name] = round((t - before["components"][name]) * 1000.0 / hz / max(n, 1), 4)
    busy_total = after["box_total"] - before["box_total"]
    busy = busy_total - (after["box_idle"] - before["box_idle"])
    return {"cpu_ms_per_req": out,
            "stack_cpu_ms_per_req": round(sum(out.values()), 4),
            "box_busy_pct": round(100.0 * busy / busy_total, 1) if busy_total else None}


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "snap":
        print(json.dumps(snap(sys.argv[2:])))
    elif len(sys.argv) == 5 and sys.argv[1] == "diff":
        with open(sys.argv[2]) as f:
            b = json.load(f)
        with open(sys.argv[3]) as f:
            a = json.load(f)
        print(json.dumps(diff(b, a, int(sys.argv[4]))))
    elif len(sys.argv) == 8 and sys.argv[1] == "cost":
        with open(sys.argv[2]) as f:
            b = json.load(f)
        with open(sys.argv[3]) as f:
            a = json.load(f)
        n = int(sys.argv[4])
        r = diff(b, a, n)
        r["client_cpu_ms_per_req"] = round(int(sys.argv[5]) / max(n, 1), 4)
        with open(sys.argv[6]) as f:
            d0 = [int(x) for x in f.read().split()]
        with open(sys.argv[7]) as f:
            d1 = [int(x) for x in f.read().split()]
        if len(d0) == 5 and len(d1) == 5:
            per = [(y - x) / max(n, 1) for x, y in zip(d0, d1)]
            r["fsyncs_per_req"] = round(per[0], 3)
            r["log_writes_per_req"] = round(per[1], 3)
            r["row_lock_waits_per_req"] = round(per[2], 4)
            r["row_lock_wait_ms_per_req"] = round(per[3], 3)
            r["statements_per_req"] = round(per[4], 2)
        print(json.dumps(r, separators=(",", ":")))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
