"""Crash consistency: SIGKILL the server under concurrent PUT / overwrite / delete / multipart
load, restart it on the same volumes, and check that every acknowledged write reads back
exactly (deletes stay deleted), that an operation in flight at the kill left either the old or
the new state (never a mix), and that every listed object reads back whole. Bounded: a few
rounds of a few seconds each."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from crash_load import Ledger, check_against_ledger, client, join_all, run_workers
from harness import RustfsProcess

ROUNDS = int(os.environ.get("RUSTFS_CRASH_ROUNDS", "3"))
KEYS = [f"k{i:03d}" for i in range(64)]
BUCKET = "crash"
WORKERS = 6


@pytest.mark.parametrize("volumes", [1, 4], ids=["1-volume", "4-volumes-ec2"])
def test_acknowledged_writes_survive_sigkill(tmp_path, volumes):
    proc = RustfsProcess(tmp_path, volumes=volumes).start()
    s3 = client(proc.url)
    s3.create_bucket(Bucket=BUCKET)
    known: dict[str, str | None] = {k: None for k in KEYS}
    rnd = random.Random(1234)
    try:
        for round_no in range(ROUNDS):
            ledger = Ledger(known)
            stop = threading.Event()
            threads = run_workers(proc.url, BUCKET, KEYS, ledger, stop, WORKERS, round_no * 100)
            time.sleep(rnd.uniform(1.5, 3.0))
            proc.proc.send_signal(signal.SIGKILL)  # only the process this test started
            proc.proc.wait(10)
            stop.set()
            join_all(threads)

            proc = RustfsProcess(tmp_path, volumes=volumes).start()
            s3 = client(proc.url)
            settled = check_against_ledger(s3, BUCKET, ledger, known, f"round {round_no}")
            assert settled > 0
            for vol in proc.volumes:
                tmp = vol / ".rustfs.sys" / "tmp"
                assert [p.name for p in tmp.iterdir()] == [], "temporary files of killed writes are removed at start"
    finally:
        proc.stop()
