#!/usr/bin/env python3
"""One node against a four-node cluster, interleaved in one session (issue 13, item 6).

A durable PostgreSQL (tests/e2e/pg_cluster.py), then:
  A  one release server with 4 volumes, EC:2 (one 2+2 set), metadata in PostgreSQL;
  B  four release nodes on 127.0.0.2-5 with 2 volumes each (two 2+2 sets across the nodes),
     one database (tests/e2e/cluster_harness.py).
Rounds A-B-A-B per workload. Against B, one `rustfs bench` per node runs at once with a
quarter of the concurrency each: the aggregate is their sum. Everything shares the machine's
cores, so the figure that carries over is the **server CPU per operation**: every rustfs
process plus every PostgreSQL process (utime+stime from /proc, sampled around the run),
divided by the operations done. **Internode bytes per PUT** come from the nodes' shard
services (`/rustfs/internode/v1/stats`, signed with the cluster secret): bytes received plus
bytes sent, over the PUTs done.

    cargo build --release -p rustfs
    python3 scripts/bench-cluster.py --rounds 2
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "scripts"))
os.environ["RUSTFS_TEST_META"] = "postgres"

import pg_cluster  # noqa: E402
from cluster_harness import CLUSTER_SECRET, Cluster  # noqa: E402
from proc_cpu import cpu_seconds  # noqa: E402
from harness import ACCESS_KEY, SECRET_KEY, RustfsProcess, rustfs_binary  # noqa: E402

WORKLOADS = {
    "put4k": ("--op", "put", "--size", "4KiB", "--concurrency", "64", "--duration", "8s", "--keep"),
    "put1m": ("--op", "put", "--size", "1MiB", "--concurrency", "16", "--duration", "8s", "--keep"),
    "get1m": ("--op", "get", "--size", "1MiB", "--concurrency", "16", "--duration", "8s",
              "--objects", "200"),
    "put64m": ("--op", "put", "--size", "64MiB", "--concurrency", "4", "--duration", "10s"),
}


def internode_bytes(endpoints: list[str]) -> int:
    """Bytes the nodes' shard services received and sent so far."""
    total = 0
    path = "/rustfs/internode/v1/stats"
    for ep in endpoints:
        now = str(int(time.time()))
        nonce = secrets.token_hex(16)
        msg = "".join(f"{p}\n" for p in ("rustfs-internode-v1", "GET", path, now, nonce))
        sig = hmac.new(CLUSTER_SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
        req = urllib.request.Request(ep + path, headers={
            "x-rustfs-internode-time": now, "x-rustfs-internode-nonce": nonce,
            "x-rustfs-internode-signature": sig})
        with urllib.request.urlopen(req, timeout=10) as r:
            s = json.loads(r.read())
        total += s["bytes_in"] + s["bytes_out"]
    return total


def scale(args: tuple[str, ...], parts: int) -> tuple[str, ...]:
    """The workload for one of `parts` bench processes: a share of the concurrency and of the
    prefilled objects."""
    out = list(args)
    for flag in ("--concurrency", "--objects"):
        if flag in out:
            i = out.index(flag) + 1
            out[i] = str(max(1, int(out[i]) // parts))
    return tuple(out)


def run_bench(endpoint: str, bucket: str, args: tuple[str, ...]) -> dict:
    cmd = [str(rustfs_binary()), "bench", "--endpoint", endpoint, "--access-key", ACCESS_KEY,
           "--secret-key", SECRET_KEY, "--bucket", bucket, "--json", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"bench {' '.join(args)} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(endpoints: list[str], pids: list[int], pg, bucket: str, args: tuple[str, ...]) -> dict:
    parts = len(endpoints)
    share = scale(args, parts)
    all_pids = pids + pg.pids()
    cpu0 = cpu_seconds(all_pids)
    net0 = internode_bytes(endpoints) if parts > 1 else 0
    with ThreadPoolExecutor(parts) as ex:
        results = list(ex.map(lambda i: run_bench(endpoints[i], f"{bucket}-n{i}", share), range(parts)))
    cpu1 = cpu_seconds(all_pids)
    net1 = internode_bytes(endpoints) if parts > 1 else 0
    ops = [next(iter(r["ops"].values())) for r in results]
    n = sum(o["ops"] for o in ops)
    # The CPU window includes each bench's prefill (GET) and cleanup: count those operations
    # too, so CPU per operation is not inflated. Prefill PUTs are the --objects count.
    extra = sum(int(share[share.index("--objects") + 1]) for _ in results) if "--objects" in share else 0
    return {
        "ops_per_sec": sum(o["ops_per_sec"] for o in ops),
        "mib_per_sec": sum(o["mib_per_sec"] for o in ops),
        "p50_ms": statistics.median(o["p50_ms"] for o in ops),
        "p99_ms": max(o["p99_ms"] for o in ops),
        "errors": sum(o["errors"] for o in ops),
        "ops": n,
        "cpu_us_per_op": (cpu1 - cpu0) * 1e6 / max(1, n + extra),
        "internode_bytes_per_op": (net1 - net0) / max(1, n + extra) if parts > 1 else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    wanted = args.only.split(",")
    base = Path(tempfile.mkdtemp(prefix="rustfs-bench-cluster-"))
    pg = pg_cluster.PgCluster(pg_cluster.DURABLE_SETTINGS).start()
    pg_cluster._session = pg  # the cluster harness takes its database from here
    one = RustfsProcess(base / "one", volumes=4, extra_env={
        "RUSTFS_META_URL": pg.new_database(), "RUSTFS_STORAGE_CLASS_STANDARD": "EC:2"}).start()
    cluster = Cluster(base / "cluster", nodes=4, volumes=2, parity=2).start()
    systems = {
        "one node": ([one.url], [one.proc.pid]),
        "4 nodes": ([cluster.node(i).endpoint for i in range(4)], [p.proc.pid for p in cluster.procs]),
    }
    runs = []
    try:
        for rnd in range(1, args.rounds + 1):
            for w in wanted:
                for name, (eps, pids) in systems.items():
                    r = measure(eps, pids, pg, f"{w}-r{rnd}", WORKLOADS[w])
                    r.update(round=rnd, workload=w, system=name, load=Path("/proc/loadavg").read_text().split()[0])
                    runs.append(r)
                    print(f"r{rnd} {w:7} {name:8} {r['ops_per_sec']:9.1f} ops/s {r['mib_per_sec']:8.1f} MiB/s "
                          f"p50 {r['p50_ms']:7.2f} p99 {r['p99_ms']:7.2f} ms err {r['errors']} "
                          f"cpu {r['cpu_us_per_op']:9.0f} us/op internode {r['internode_bytes_per_op']:11.0f} B/op "
                          f"load {r['load']}", flush=True)
    finally:
        cluster.stop()
        one.stop()
        pg.destroy()
        subprocess.run(["rm", "-rf", str(base)])
        if args.out:
            Path(args.out).write_text(json.dumps(runs, indent=1))
    print("\n| workload | system | ops/s | MiB/s | p50 / p99 ms | server CPU µs/op (all rustfs + PostgreSQL) | internode bytes/op |")
    print("|---|---|---|---|---|---|---|")
    for w in wanted:
        for name in systems:
            rs = [r for r in runs if r["workload"] == w and r["system"] == name]
            med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
            print(f"| {w} | {name} | {med('ops_per_sec'):,.0f} | {med('mib_per_sec'):,.1f} | "
                  f"{med('p50_ms'):.2f} / {med('p99_ms'):.1f} | {med('cpu_us_per_op'):,.0f} | "
                  f"{med('internode_bytes_per_op'):,.0f} |")


if __name__ == "__main__":
    main()
