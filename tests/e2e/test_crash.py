"""Crash consistency: SIGKILL the server under concurrent PUT / overwrite / delete / multipart
load, restart it on the same volumes, and check that every acknowledged write reads back
exactly (deletes stay deleted), that an operation in flight at the kill left either the old or
the new state (never a mix), and that every listed object reads back whole. Bounded: a few
rounds of a few seconds each."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import time

import boto3
import pytest
from botocore.client import Config
from botocore.exceptions import ClientError

from harness import ACCESS_KEY, SECRET_KEY, MiB, RustfsProcess

ROUNDS = int(os.environ.get("RUSTFS_CRASH_ROUNDS", "3"))
KEYS = [f"k{i:03d}" for i in range(64)]
SIZES = [0, 100, 4096, 200 * 1024, 1536 * 1024]
BUCKET = "crash"


def client(url: str):
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=2,
            read_timeout=10,
            max_pool_connections=16,
        ),
    )


class Ledger:
    """What the clients know: acknowledged state per key, and operations in flight."""

    def __init__(self, initial: dict[str, str | None]):
        self.lock = threading.Lock()
        self.acked: dict[str, str | None] = dict(initial)  # key -> md5 hex, None = absent
        self.pending: dict[str, set[str | None]] = {}  # key -> states an unfinished op may leave

    def begin(self, key: str, new: str | None) -> None:
        with self.lock:
            self.pending.setdefault(key, set()).add(new)

    def ack(self, key: str, new: str | None) -> None:
        with self.lock:
            self.acked[key] = new
            self.pending[key].discard(new)
            if not self.pending[key]:
                del self.pending[key]

    def allowed(self, key: str) -> set[str | None]:
        with self.lock:
            return {self.acked.get(key)} | self.pending.get(key, set())


WORKERS = 6


def worker(url: str, ledger: Ledger, stop: threading.Event, seed: int, index: int) -> None:
    """Each worker owns the keys ``KEYS[index::WORKERS]``: one writer per key, so the ledger
    knows the order of a key's writes exactly (acknowledgement order across two writers would
    not be commit order)."""
    rnd = random.Random(seed)
    s3 = client(url)
    mine = KEYS[index::WORKERS]
    while not stop.is_set():
        key = rnd.choice(mine)
        roll = rnd.random()
        try:
            if roll < 0.65:
                data = rnd.randbytes(rnd.choice(SIZES))
                digest = hashlib.md5(data).hexdigest()
                ledger.begin(key, digest)
                s3.put_object(Bucket=BUCKET, Key=key, Body=data)
                ledger.ack(key, digest)
            elif roll < 0.9:
                ledger.begin(key, None)
                s3.delete_object(Bucket=BUCKET, Key=key)
                ledger.ack(key, None)
            else:
                parts = [rnd.randbytes(5 * MiB), rnd.randbytes(rnd.choice([1, 70 * 1024]))]
                digest = hashlib.md5(b"".join(parts)).hexdigest()
                ledger.begin(key, digest)
                up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
                etags = [
                    s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=n, Body=p)["ETag"]
                    for n, p in enumerate(parts, 1)
                ]
                s3.complete_multipart_upload(
                    Bucket=BUCKET,
                    Key=key,
                    UploadId=up,
                    MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]},
                )
                ledger.ack(key, digest)
        except Exception:  # the server was killed mid-request: outcome unknown, stays pending
            if stop.is_set():
                return
            time.sleep(0.05)


def state_of(s3, key: str) -> str | None:
    try:
        return hashlib.md5(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchKey", e
        return None


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
            threads = [
                threading.Thread(target=worker, args=(proc.url, ledger, stop, round_no * 100 + i, i)) for i in range(WORKERS)
            ]
            for t in threads:
                t.start()
            time.sleep(rnd.uniform(1.5, 3.0))
            proc.proc.send_signal(signal.SIGKILL)  # only the process this test started
            proc.proc.wait(10)
            stop.set()
            for t in threads:
                t.join(30)
                assert not t.is_alive()

            proc = RustfsProcess(tmp_path, volumes=volumes).start()
            s3 = client(proc.url)
            acked_count = 0
            for key in KEYS:
                got = state_of(s3, key)
                allowed = ledger.allowed(key)
                assert got in allowed, f"round {round_no}: {key} reads {got}, allowed {allowed}"
                acked_count += key not in ledger.pending
                known[key] = got
            # Nothing listed that cannot be read whole (no torn objects, no dangling entries).
            listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
            for obj in listed:
                body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
                assert len(body) == obj["Size"], obj["Key"]
                if "-" not in obj["ETag"]:
                    assert hashlib.md5(body).hexdigest() == obj["ETag"].strip('"'), obj["Key"]
            assert {o["Key"] for o in listed} == {k for k, v in known.items() if v is not None}
            assert acked_count > 0
            for vol in proc.volumes:
                tmp = vol / ".rustfs.sys" / "tmp"
                assert [p.name for p in tmp.iterdir()] == [], "temporary files of killed writes are removed at start"
    finally:
        proc.stop()
