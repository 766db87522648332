#!/usr/bin/env python3
"""S3-level benchmark of the two metadata backends, interleaved in one session.

Starts a durable PostgreSQL (tests/e2e/pg_cluster.py: fsync on, shared_buffers 256MB) and
two release servers, one on redb and one on PostgreSQL, each with one volume under the same
directory, then runs `rustfs bench` rounds A-B-A-B: 4 KiB PUT, GET and HEAD at 64 concurrent,
64 MiB PUT at 4 concurrent, and ListObjectsV2 pages of 1,000 keys from a bucket of
--list-keys keys (filled once per backend, 64 concurrent empty PUTs, timed). Server CPU per
operation is rustfs's (bench --server-pid, measured phase) plus every PostgreSQL process's
(the postmaster and its children, /proc/PID/stat, sampled around the bench process).

    cargo build --release -p rustfs
    python3 scripts/bench-backends.py --rounds 3 --list-keys 1000000 --out /tmp/bench.json

Prints one line per run and a Markdown table (median and range per backend).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "scripts"))
os.environ["RUSTFS_TEST_META"] = "redb"  # each server below names its backend itself

from proc_cpu import cpu_seconds  # noqa: E402
from harness import RustfsProcess, rustfs_binary  # noqa: E402
from pg_cluster import PgCluster  # noqa: E402

ACCESS, SECRET = "bench", "benchsecret"
PG_SETTINGS = ("max_connections=200", "shared_buffers=256MB")

def bench(proc: RustfsProcess, pg: PgCluster | None, *args: str) -> dict:
    cmd = [
        str(rustfs_binary()), "bench", "--endpoint", proc.url, "--access-key", ACCESS,
        "--secret-key", SECRET, "--server-pid", str(proc.proc.pid), "--json", *args,
    ]
    pids = pg.pids() if pg else []
    before = cpu_seconds(pids)
    load = Path("/proc/loadavg").read_text().split()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    after = cpu_seconds(pids)
    if out.returncode != 0:
        raise RuntimeError(f"bench {' '.join(args)} failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ops = sum(v["ops"] for v in result["ops"].values())
    result["pg_cpu_us_per_op"] = (after - before) * 1e6 / ops if pg and ops else None
    result["loadavg_before"] = float(load)
    return result


def start(base: Path, name: str, url: str | None) -> RustfsProcess:
    env = {"RUSTFS_META_URL": url} if url else {}
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    return RustfsProcess(d, volumes=1, extra_env=env, access_key=ACCESS, secret_key=SECRET).start()


WORKLOADS = {
    "put4k": ("--op", "put", "--size", "4KiB", "--concurrency", "64", "--duration", "8s", "--keep"),
    "get4k": ("--bucket", "small", "--prefix", "small/", "--skip-prefill", "--keep", "--objects", "2000",
              "--op", "get", "--size", "4KiB", "--concurrency", "64", "--duration", "8s"),
    "head4k": ("--bucket", "small", "--prefix", "small/", "--skip-prefill", "--keep", "--objects", "2000",
               "--op", "head", "--size", "4KiB", "--concurrency", "64", "--duration", "8s"),
    "put64m": ("--op", "put", "--size", "64MiB", "--concurrency", "4", "--duration", "10s"),
    "list1000": ("--bucket", "list", "--prefix", "L/", "--skip-prefill", "--keep", "--op", "list",
                 "--concurrency", "1", "--duration", "8s"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--list-keys", type=int, default=1_000_000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    args = ap.parse_args()
    wanted = args.only.split(",")
    unknown = [w for w in wanted if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")

    base = Path(tempfile.mkdtemp(prefix="rustfs-bench-backends-"))
    pg = PgCluster(PG_SETTINGS).start()
    servers = {"redb": start(base, "redb", None), "postgres": start(base, "postgres", pg.new_database())}
    results: dict = {"fill": {}, "runs": []}
    try:
        for name, proc in servers.items():
            p = pg if name == "postgres" else None
            bench(proc, p, "--bucket", "small", "--prefix", "small/", "--keep", "--objects", "2000",
                  "--op", "get", "--size", "4KiB", "--concurrency", "64", "--duration", "1s")
            if "list1000" in wanted:
                t = time.monotonic()
                bench(proc, p, "--bucket", "list", "--prefix", "L/", "--keep", "--objects", str(args.list_keys),
                      "--prefixes", "1000", "--op", "list", "--size", "0", "--concurrency", "64", "--duration", "1s")
                secs = time.monotonic() - t - 1.0  # less the 1 s listing run after the fill
                results["fill"][name] = {"keys": args.list_keys, "seconds": secs}
                print(f"fill {name}: {args.list_keys} keys in {secs:.0f} s ({args.list_keys / secs:.0f}/s)", flush=True)
        for rnd in range(1, args.rounds + 1):
            for w in wanted:
                for name, proc in servers.items():
                    extra = ("--bucket", f"{w}-r{rnd}") if w.startswith("put") else ()
                    r = bench(proc, pg if name == "postgres" else None, *WORKLOADS[w], *extra)
                    r.update(round=rnd, workload=w, backend=name)
                    results["runs"].append(r)
                    op = next(iter(r["ops"].values()))
                    print(
                        f"r{rnd} {w:9} {name:9} {op['ops_per_sec']:10.1f} ops/s {op['mib_per_sec']:8.1f} MiB/s "
                        f"p50 {op['p50_ms']:7.2f} p99 {op['p99_ms']:7.2f} ms err {op['errors']} "
                        f"rustfs {r['server_cpu_us_per_op'] or 0:8.1f} pg {r['pg_cpu_us_per_op'] or 0:8.1f} "
                        f"client {r['client_cpu_us_per_op'] or 0:7.1f} us/op load {r['loadavg_before']}",
                        flush=True,
                    )
    finally:
        for proc in servers.values():
            proc.stop()
        pg.destroy()
        subprocess.run(["rm", "-rf", str(base)])
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1))

    print("\n| workload | backend | ops/s | MiB/s | p50 ms | p99 ms | server CPU µs/op (rustfs + PostgreSQL) |")
    print("|---|---|---|---|---|---|---|")
    for w in wanted:
        for name in servers:
            rs = [r for r in results["runs"] if r["workload"] == w and r["backend"] == name]
            if not rs:
                continue
            ops = [next(iter(r["ops"].values())) for r in rs]

            def med(vals, fmt="{:,.0f}"):
                return f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}-{fmt.format(max(vals))})"

            cpu = [(r["server_cpu_us_per_op"] or 0) for r in rs]
            pgc = [(r["pg_cpu_us_per_op"] or 0) for r in rs]
            print(
                f"| {w} | {name} | {med([o['ops_per_sec'] for o in ops])} | {med([o['mib_per_sec'] for o in ops])} "
                f"| {med([o['p50_ms'] for o in ops], '{:.2f}')} | {med([o['p99_ms'] for o in ops], '{:.2f}')} "
                f"| {statistics.median(cpu):,.0f} + {statistics.median(pgc):,.0f} |"
            )


if __name__ == "__main__":
    main()
