"""Concurrent write load with a ledger of what the clients know, for the crash tests
(``test_crash.py``: SIGKILL on redb or PostgreSQL; ``test_pg_faults.py``: SIGKILL with 16
writers, the database stopped under load).

Each worker owns a slice of the keys (one writer per key, so the ledger knows the order of a
key's writes exactly) and loops PUT / DELETE / multipart upload until told to stop. A write
the server acknowledged is ``acked``; one in flight when the server (or its database) went
away is ``pending``: after recovery the key must read as the acknowledged state or one of the
pending ones, never anything else."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from typing import Callable

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

from harness import ACCESS_KEY, SECRET_KEY, MiB

SIZES = [0, 100, 4096, 200 * 1024, 1536 * 1024]


def client(url: str, *, pool: int = 16, read_timeout: int = 10):
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
            read_timeout=read_timeout,
            max_pool_connections=pool,
        ),
    )


class Ledger:
    """What the clients know: acknowledged state per key, and operations in flight."""

    def __init__(self, initial: dict[str, str | None]):
        self.lock = threading.Lock()
        self.acked: dict[str, str | None] = dict(initial)  # key -> md5 hex, None = absent
        self.pending: dict[str, set[str | None]] = {}  # key -> states an unfinished op may leave
        self.acks = 0

    def begin(self, key: str, new: str | None) -> None:
        with self.lock:
            self.pending.setdefault(key, set()).add(new)

    def ack(self, key: str, new: str | None) -> None:
        with self.lock:
            self.acked[key] = new
            self.acks += 1
            self.pending[key].discard(new)
            if not self.pending[key]:
                del self.pending[key]

    def allowed(self, key: str) -> set[str | None]:
        with self.lock:
            return {self.acked.get(key)} | self.pending.get(key, set())


def worker(
    url: str,
    bucket: str,
    keys: list[str],
    ledger: Ledger,
    stop: threading.Event,
    seed: int,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Writes ``keys`` (this worker's own) until ``stop``: 65% PUT of a random size, 25%
    DELETE, 10% a two-part multipart upload. A failed request leaves its write pending and is
    passed to ``on_error`` (which may raise to fail the test)."""
    rnd = random.Random(seed)
    s3 = client(url)
    while not stop.is_set():
        key = rnd.choice(keys)
        roll = rnd.random()
        try:
            if roll < 0.65:
                data = rnd.randbytes(rnd.choice(SIZES))
                digest = hashlib.md5(data).hexdigest()
                ledger.begin(key, digest)
                s3.put_object(Bucket=bucket, Key=key, Body=data)
                ledger.ack(key, digest)
            elif roll < 0.9:
                ledger.begin(key, None)
                s3.delete_object(Bucket=bucket, Key=key)
                ledger.ack(key, None)
            else:
                parts = [rnd.randbytes(5 * MiB), rnd.randbytes(rnd.choice([1, 70 * 1024]))]
                digest = hashlib.md5(b"".join(parts)).hexdigest()
                ledger.begin(key, digest)
                up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
                etags = [
                    s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=p)["ETag"]
                    for n, p in enumerate(parts, 1)
                ]
                s3.complete_multipart_upload(
                    Bucket=bucket,
                    Key=key,
                    UploadId=up,
                    MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]},
                )
                ledger.ack(key, digest)
        except Exception as err:  # the server (or its database) went away: outcome unknown
            if on_error is not None:
                on_error(err)
            if stop.is_set():
                return
            stop.wait(0.05)


def state_of(s3, bucket: str, key: str) -> str | None:
    try:
        return hashlib.md5(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchKey", e
        return None


def check_against_ledger(s3, bucket: str, ledger: Ledger, known: dict[str, str | None], what: str) -> int:
    """Every key reads as acknowledged (or as a write in flight left it); every listed object
    reads back whole; nothing listed that no write left. Updates ``known``; returns how many
    keys had no write in flight."""
    settled = 0
    for key in list(known):
        got = state_of(s3, bucket, key)
        allowed = ledger.allowed(key)
        assert got in allowed, f"{what}: {key} reads {got}, allowed {allowed}"
        settled += key not in ledger.pending
        known[key] = got
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        listed += page.get("Contents", [])
    for obj in listed:
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        assert len(body) == obj["Size"], f"{what}: {obj['Key']} is torn"
        if "-" not in obj["ETag"]:
            assert hashlib.md5(body).hexdigest() == obj["ETag"].strip('"'), f"{what}: {obj['Key']}"
    assert {o["Key"] for o in listed} == {k for k, v in known.items() if v is not None}, what
    return settled


def run_workers(url: str, bucket: str, keys: list[str], ledger: Ledger, stop: threading.Event,
                workers: int, seed: int, on_error=None) -> list[threading.Thread]:
    threads = [
        threading.Thread(
            target=worker, args=(url, bucket, keys[i::workers], ledger, stop, seed + i, on_error), daemon=True
        )
        for i in range(workers)
    ]
    for t in threads:
        t.start()
    return threads


def join_all(threads: list[threading.Thread], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
        assert not t.is_alive(), "a load worker did not stop"
