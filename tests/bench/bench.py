#!/usr/bin/env python3
"""hostgate against direct MariaDB and HAProxy (send-proxy-v2), side by side, on loopback.

Runs sysbench oltp_point_select and oltp_read_only at several thread counts and a connection-rate
test against each target, alternating targets in every round, and prints medians: QPS, p95
latency, connections/s, CPU seconds of the proxy process per 100k queries, and the ratios
hostgate/direct and hostgate/HAProxy.

Each round also streams a --bulk-mib MiB result through each proxy to the mariadb CLI, once in
rows of 1 KiB (copied by hostgate's relay) and once in rows of 1 MiB (spliced), and reports the
proxy's CPU seconds per GiB relayed.

Then holds --idle-sessions idle sessions open through hostgate at once and reports its resident
memory per session (VmRSS after minus before, divided by the count).

    tests/bench/run.sh [--seconds N] [--rounds N] [--threads 1,8,64] [--bulk-mib N]
                       [--idle-sessions N]
"""
import argparse
import concurrent.futures
import os
import pathlib
import re
import resource
import statistics
import subprocess
import sys
import time

import pymysql

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from support.servers import HAProxy, Hostgate, MariaDB  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    if pid is None:
        return 0.0
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def sysbench(port, test, threads, seconds, extra=()):
    args = ["sysbench", test, "--db-driver=mysql", "--mysql-host=127.0.0.1", f"--mysql-port={port}",
            "--mysql-user=sbtest", "--mysql-password=sbtest-secret", "--mysql-db=sbtest", "--tables=4",
            "--table-size=10000", f"--threads={threads}", f"--time={seconds}", "--report-interval=0",
            "--percentile=95", "--mysql-ssl=off", *extra, "run"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=seconds * 4 + 120)
    if r.returncode != 0:
        raise RuntimeError(f"sysbench failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    queries = float(re.search(r"queries:\s+(\d+)", r.stdout).group(1))
    qps = float(re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", r.stdout).group(1))
    events = float(re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", r.stdout).group(1))
    total_events = float(re.search(r"transactions:\s+(\d+)", r.stdout).group(1))
    p95 = float(re.search(r"95th percentile:\s+([\d.]+)", r.stdout).group(1))
    return {"queries": queries, "events": total_events, "qps": qps, "eps": events, "p95_ms": p95}


class SyscallCount:
    """Counts the system calls a process (all its threads) makes while the block runs, with
    `perf stat -e raw_syscalls:sys_enter`: a counter in the kernel, which slows the process far
    less than strace would. `count` is None where perf cannot count (no permission)."""

    def __init__(self, pid):
        self.pid, self.count, self.perf = pid, None, None

    def __enter__(self):
        if self.pid:
            self.perf = subprocess.Popen(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter",
                                          "-p", str(self.pid)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True)
            time.sleep(0.3)  # perf attaches
        return self

    def __exit__(self, *exc):
        if not self.perf:
            return
        self.perf.send_signal(2)
        _, err = self.perf.communicate(timeout=30)
        for line in err.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2] == "raw_syscalls:sys_enter" and fields[0].isdigit():
                self.count = int(fields[0])


def resident_kib(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def idle_sessions(hg, count):
    """Opens `count` sessions through hostgate, each logged in and idle, and measures hostgate's
    resident memory per session. Every session runs one query at the end, so a session hostgate
    lost counts as an error."""
    def login(_):
        return pymysql.connect(host="127.0.0.1", port=hg.port, user="sbtest", password="sbtest-secret",
                               database="sbtest", connect_timeout=60, read_timeout=60)

    warm = [login(i) for i in range(20)]  # buffers and pools settle before the first reading
    for c in warm:
        c.close()
    before = resident_kib(hg.process.pid)
    sessions, errors = [], 0
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(login, i) for i in range(count)]:
            try:
                sessions.append(f.result())
            except pymysql.MySQLError:
                errors += 1
    time.sleep(1)  # let the last sessions reach the relay
    after = resident_kib(hg.process.pid)
    for c in sessions:
        try:
            with c.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
            c.close()
        except pymysql.MySQLError:
            errors += 1
    return {"sessions": len(sessions), "errors": errors, "before_kib": before, "after_kib": after,
            "kib_per_session": (after - before) / max(len(sessions), 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,8,64")
    ap.add_argument("--bulk-mib", type=int, default=512)
    ap.add_argument("--idle-sessions", type=int, default=10000)
    ap.add_argument("--hostgate", default=str(HERE.parents[1] / "build" / "src" / "hostgate"))
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    # Each idle session is two sockets in hostgate: raise the file limit as far as allowed, and
    # hold fewer sessions if even the hard limit is too low.
    _, files = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    if args.idle_sessions > (files - 200) // 2:
        print(f"file limit {files}: holding {(files - 200) // 2} idle sessions, not {args.idle_sessions}")
        args.idle_sessions = (files - 200) // 2
    db = MariaDB(extra_args=[f"--max-connections={args.idle_sessions + 1000}",
                             f"--open-files-limit={files}", "--innodb-buffer-pool-size=128M"]).start()
    hg = haproxy = None
    try:
        db.execute("CREATE DATABASE sbtest", "CREATE USER 'sbtest'@'127.0.0.1' IDENTIFIED BY 'sbtest-secret'",
                   "GRANT ALL ON sbtest.* TO 'sbtest'@'127.0.0.1'")
        subprocess.run(["sysbench", "oltp_read_only", "--db-driver=mysql", "--mysql-host=127.0.0.1",
                        f"--mysql-port={db.port}", "--mysql-user=sbtest", "--mysql-password=sbtest-secret",
                        "--mysql-db=sbtest", "--tables=4", "--table-size=10000", "--mysql-ssl=off", "prepare"],
                       check=True, capture_output=True, timeout=600)
        hg = Hostgate(args.hostgate, "'sbtest'@'127.0.0.1'\n",
                      backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                      server={"max_connections": args.idle_sessions + 1000}).start()
        haproxy = HAProxy(db.port, send_proxy="send-proxy-v2").start()
        targets = {"direct": (db.port, None), "haproxy": (haproxy.port, haproxy.process.pid),
                   "hostgate": (hg.port, hg.process.pid)}
        tests = [(t, n, ()) for t in ("oltp_point_select", "oltp_read_only") for n in threads]
        tests.append(("connect", 8, ()))
        results = {}  # (test, threads, target) -> list of samples
        for round_no in range(args.rounds):
            for test, n, extra in tests:
                order = list(targets.items())
                if round_no % 2:
                    order.reverse()  # alternate who goes first
                for name, (port, pid) in order:
                    script = str(HERE / "connect.lua") if test == "connect" else test
                    before = cpu_seconds(pid)
                    with SyscallCount(pid) as calls:
                        r = sysbench(port, script, n, args.seconds, extra)
                    r["cpu_per_100k"] = (cpu_seconds(pid) - before) / max(r["queries"], 1) * 1e5 if pid else None
                    # Per query, or per connection in the connect test.
                    per = r["queries"] if test != "connect" else r["events"]
                    r["syscalls"] = calls.count / max(per, 1) if calls.count is not None else None
                    results.setdefault((test, n, name), []).append(r)
                    calls = f" {r['syscalls']:.2f} syscalls" if r["syscalls"] is not None else ""
                    print(f"round {round_no + 1} {test} {n:>2} threads {name:>8}: {r['qps']:10.0f} qps "
                          f"{r['eps']:9.0f} events/s p95 {r['p95_ms']:.2f} ms{calls}", flush=True)
            if args.bulk_mib:
                for row_kib in BULK_ROWS_KIB:
                    for name, (port, pid) in targets.items():
                        if pid:
                            cpu = bulk_cpu_per_gib(port, pid, args.bulk_mib, row_kib)
                            results.setdefault(("bulk", row_kib, name), []).append(cpu)
                            print(f"round {round_no + 1} bulk {args.bulk_mib} MiB, {row_kib} KiB rows, "
                                  f"{name:>8}: {cpu:.2f} CPU s/GiB", flush=True)
        if args.rounds:
            report(results, tests, args)
        if args.idle_sessions:
            r = idle_sessions(hg, args.idle_sessions)
            print(f"\nidle sessions: {r['sessions']} held, {r['errors']} errors; hostgate resident "
                  f"{r['before_kib']} KiB before, {r['after_kib']} KiB with them: "
                  f"{r['kib_per_session']:.1f} KiB per idle session")
    finally:
        for s in (haproxy, hg, db):
            if s:
                s.stop()


BULK_ROWS_KIB = (1, 1024)  # rows the relay copies, rows whose rest it splices


def bulk_cpu_per_gib(port, pid, mib, row_kib=1):
    """The proxy's CPU seconds per GiB while the mariadb CLI reads a `mib` MiB result of rows of
    `row_kib` KiB through it."""
    rows = mib * 1024 // row_kib
    before = cpu_seconds(pid)
    r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", "-usbtest", "-psbtest-secret",
                        "--ssl=0", "--quick", "-N", "-e",
                        f"SELECT REPEAT('a', {row_kib * 1024 - 1}) FROM sbtest.seq_1_to_{rows}"],
                       stdout=subprocess.PIPE, check=True, timeout=600)
    return (cpu_seconds(pid) - before) / (len(r.stdout) / 2**30)


def report(results, tests, args):
    def med(test, n, target, key):
        values = [r[key] for r in results[(test, n, target)] if r[key] is not None]
        return statistics.median(values) if values else None

    print()
    print(f"Medians of {args.rounds} alternating rounds of {args.seconds} s; "
          f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print()
    print("| test | threads | direct | HAProxy | hostgate | hostgate/direct | hostgate/HAProxy "
          "| p95 ms direct / HAProxy / hostgate | CPU s per 100k queries HAProxy / hostgate "
          "| system calls per query (per connection) HAProxy / hostgate |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    def number(value, digits=2):
        return "n/a" if value is None else f"{value:.{digits}f}"

    for test, n, _ in tests:
        key = "eps" if test == "connect" else "qps"
        d, h, g = (med(test, n, t, key) for t in ("direct", "haproxy", "hostgate"))
        p = [med(test, n, t, "p95_ms") for t in ("direct", "haproxy", "hostgate")]
        c = [med(test, n, t, "cpu_per_100k") for t in ("haproxy", "hostgate")]
        calls = [med(test, n, t, "syscalls") for t in ("haproxy", "hostgate")]
        unit = "conn/s" if test == "connect" else "qps"
        print(f"| {test} | {n} | {d:.0f} {unit} | {h:.0f} | {g:.0f} | {g / d:.2f} | {g / h:.2f} "
              f"| {p[0]:.2f} / {p[1]:.2f} / {p[2]:.2f} | {c[0]:.2f} / {c[1]:.2f} "
              f"| {number(calls[0], 1)} / {number(calls[1], 1)} |")
    if args.bulk_mib:
        print()
        for row_kib in BULK_ROWS_KIB:
            h, g = (statistics.median(results[("bulk", row_kib, t)]) for t in ("haproxy", "hostgate"))
            print(f"Bulk result, {args.bulk_mib} MiB in rows of {row_kib} KiB to the mariadb CLI: proxy CPU s "
                  f"per GiB HAProxy {h:.2f}, hostgate {g:.2f} (hostgate/HAProxy {g / h:.2f})")


if __name__ == "__main__":
    main()
