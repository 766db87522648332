"""A full disk is not a failed drive (issue 11, item 2).

A volume is a small tmpfs (64 MiB) that the test fills with PUTs until the server refuses them.
The refusal must be 507 `XMinioStorageFull` (MinIO's answer; S3 has none), answered once (no
client retry loop), while the volume stays online: existing objects keep reading back exactly,
deletes work, nothing is logged offline, no heal pass starts, and once objects are deleted new
PUTs succeed again without a restart. A second test puts the small tmpfs among four volumes
(EC:2): large writes go on with a write quorum of shards, writes that need the full volume get
507, and reads never notice.

Mounting needs root (CI runs as root); elsewhere the tests skip, saying why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness import ANSI_RE, MiB, RustfsProcess, S3Server, raw_request
from pg_cluster import on_postgres

BUCKET = "full"
TMPFS_MIB = 64
# Kept objects: inline (in metadata), one block, several blocks.
KEEP = {"inline": 10 * 1024, "one-block": 700 * 1024, "blocks": 3 * MiB + 12345}
# Fill stages: object size and a bound on attempts (the tmpfs holds 64 MiB).
STAGES = [(4 * MiB, 24), (256 * 1024, 32), (16 * 1024, 400)]


def payload(name: str, size: int) -> bytes:
    return random.Random(name).randbytes(size)


@contextlib.contextmanager
def tmpfs(path: Path, size_mib: int):
    """A tmpfs of `size_mib` MiB mounted at `path`; always unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the disk-full tests run as root in CI)")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {path}: {r.stderr.strip() or r.returncode}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def server_with_tmpfs(base: Path, volumes: int, tmpfs_volume: int, env: dict | None = None):
    """A server whose volume number `tmpfs_volume` (1-based) is a fresh small tmpfs."""
    with tmpfs(base / f"vol{tmpfs_volume}", TMPFS_MIB):
        proc = RustfsProcess(base, volumes=volumes, extra_env=env)
        try:
            proc.start()
            yield proc
        finally:
            proc.stop()  # before the unmount: the server holds files on it


def counting_client(proc: RustfsProcess):
    """A boto3 client with botocore's default retry policy (legacy, 5 attempts), counting the
    attempts each call makes."""
    srv = S3Server(name="full", process=proc, endpoint=proc.url)
    s3 = srv.client(retries={"max_attempts": 5, "mode": "legacy"})
    attempts = []
    s3.meta.events.register("before-send.s3.*", lambda **kw: attempts.append(1))
    return s3, attempts


def admin(proc: RustfsProcess, path: str) -> dict:
    srv = S3Server(name="full", process=proc, endpoint=proc.url)
    r = raw_request(srv, "GET", path)
    assert r.status == 200, r.body
    return json.loads(r.body)


def put_keep(s3) -> dict[str, bytes]:
    s3.create_bucket(Bucket=BUCKET)
    want = {}
    for name, size in KEEP.items():
        want[name] = payload(name, size)
        s3.put_object(Bucket=BUCKET, Key=name, Body=want[name])
    return want


def check_reads(s3, want: dict[str, bytes]) -> None:
    for key, data in want.items():
        got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.md5(got).hexdigest() == hashlib.md5(data).hexdigest(), f"{key} read back wrong"
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ContentLength"] == len(data)


def assert_storage_full(err: ClientError, attempts: list) -> None:
    meta = err.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 507, err.response
    assert err.response["Error"]["Code"] == "XMinioStorageFull", err.response
    msg = err.response["Error"]["Message"].lower()
    assert "delete" in msg and ("drive" in msg or "space" in msg), msg
    assert "volumes" not in msg, "the cause is space, not volumes offline"
    assert len(attempts) == 1, f"the client must not retry a full disk ({len(attempts)} attempts)"
    assert meta.get("RetryAttempts", 0) == 0


def fill(s3, attempts: list, prefix: str) -> tuple[list[str], ClientError | None]:
    """PUTs of shrinking sizes until each size is refused. Returns the keys stored and the first
    refusal (checked on the spot: 507, one attempt)."""
    stored, first = [], None
    for size, bound in STAGES:
        for i in range(bound):
            key = f"{prefix}-{size}-{i}"
            attempts.clear()
            try:
                s3.put_object(Bucket=BUCKET, Key=key, Body=payload(key, size))
            except ClientError as e:
                assert_storage_full(e, attempts)
                first = first or e
                break
            stored.append(key)
        else:
            return stored, first  # never refused: the caller decides whether that is right
    return stored, first


def log_text(proc: RustfsProcess) -> str:
    return proc.log_path.read_text("utf-8", "replace")


def assert_no_failure_logged(proc: RustfsProcess) -> None:
    log = log_text(proc)
    for bad in ("offline", "heal pass", "back online", "InternalError", "internal error"):
        assert bad not in log, f"{bad!r} in the log of a server whose disk is merely full"
    # A full volume is the operator's to fix, not a server fault: warn, never ERROR.
    errors = [
        line
        for line in ANSI_RE.sub("", log).splitlines()
        if " ERROR " in f" {line} " and "XMinioStorageFull" in line
    ]
    assert not errors, f"507s logged as errors: {errors[:3]}"
    assert all(v["online"] for v in admin(proc, "/rustfs/admin/v1/status")["volumes"])
    assert all(r["online"] for r in admin(proc, "/rustfs/admin/v1/status")["metadata_replicas"])
    assert admin(proc, "/rustfs/admin/v1/heal")["state"] == "idle", "no heal pass may start"


def test_full_disk_refuses_writes_with_507_and_keeps_serving(tmp_path):
    with server_with_tmpfs(tmp_path, volumes=1, tmpfs_volume=1) as proc:
        s3, attempts = counting_client(proc)
        want = put_keep(s3)

        stored, refused = fill(s3, attempts, "fill")
        assert refused is not None, "a 64 MiB volume never refused a PUT"
        assert len(stored) >= 5, "the volume refused writes long before it was full"

        # Right after the refusal and across several maintenance ticks (2 s each): every read
        # answers 200 with the exact bytes, never a 500 window.
        for _ in range(10):
            check_reads(s3, want)
            time.sleep(0.5)
        status = admin(proc, "/rustfs/admin/v1/status")["volumes"]
        assert status[0]["online"] and status[0]["full"], status

        # Still refused: an inline PUT (on redb its bytes would go into the metadata's reserve
        # on the volume; on PostgreSQL they go to the database, which has room) and a
        # multipart part; no sticky state either way.
        inline = b"x" * 1000
        if on_postgres():
            s3.put_object(Bucket=BUCKET, Key="inline", Body=inline)
            want["inline"] = inline
        for body in (payload("again", 2 * MiB),) if on_postgres() else (inline, payload("again", 2 * MiB)):
            attempts.clear()
            with pytest.raises(ClientError) as e:
                s3.put_object(Bucket=BUCKET, Key="refused", Body=body)
            assert_storage_full(e.value, attempts)
        up = s3.create_multipart_upload(Bucket=BUCKET, Key="mp")
        attempts.clear()
        with pytest.raises(ClientError) as e:
            s3.upload_part(
                Bucket=BUCKET, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=payload("p", 6 * MiB)
            )
        assert_storage_full(e.value, attempts)
        s3.abort_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=up["UploadId"])

        # Metadata-only changes still work (they may use the reserve): tagging, a delete.
        s3.put_object_tagging(Bucket=BUCKET, Key="blocks", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        check_reads(s3, want)
        assert_no_failure_logged(proc)

        # Deleting frees space; writes resume without a restart.
        for key in stored:
            s3.delete_object(Bucket=BUCKET, Key=key)
        big = payload("after", 4 * MiB)
        s3.put_object(Bucket=BUCKET, Key="after", Body=big)
        s3.put_object(Bucket=BUCKET, Key="after-inline", Body=b"small")
        want["after"] = big
        want["after-inline"] = b"small"
        check_reads(s3, want)
        status = admin(proc, "/rustfs/admin/v1/status")["volumes"]
        assert status[0]["online"] and not status[0]["full"], status

        # Full again and freed again: the same answers, the volume never offline.
        stored, refused = fill(s3, attempts, "refill")
        assert refused is not None
        check_reads(s3, want)
        for key in stored:
            s3.delete_object(Bucket=BUCKET, Key=key)
        s3.put_object(Bucket=BUCKET, Key="after2", Body=big)
        assert s3.get_object(Bucket=BUCKET, Key="after2")["Body"].read() == big
        assert_no_failure_logged(proc)


def test_concurrent_writers_filling_the_disk(tmp_path):
    """Four writers race each other into the reserve: every answer is 200 or 507 (never a 500
    from a metadata commit that found no room), every acknowledged object reads back. Each
    writer may run up to 1 MiB past the last free-space check, so the reserve (8 MiB here) must
    exceed writers x 1 MiB; see docs/durability.md."""
    env = {"RUSTFS_VOLUME_RESERVE": "8MiB"}
    with server_with_tmpfs(tmp_path, volumes=1, tmpfs_volume=1, env=env) as proc:
        s3, _ = counting_client(proc)
        want = put_keep(s3)
        lock = threading.Lock()
        answers, stored = [], {}

        def writer(w: int) -> None:
            c, _ = counting_client(proc)
            for i in range(24):  # 4 x 24 x 2 MiB is far more than the tmpfs holds
                key = f"w{w}-{i}"
                data = payload(key, 2 * MiB + w)
                try:
                    c.put_object(Bucket=BUCKET, Key=key, Body=data)
                except ClientError as e:
                    with lock:
                        answers.append((e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]))
                    return
                with lock:
                    answers.append((200, None))
                    stored[key] = data

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        refused = [a for a in answers if a[0] != 200]
        assert refused and all(a == (507, "XMinioStorageFull") for a in refused), answers
        want.update(stored)
        check_reads(s3, want)
        assert_no_failure_logged(proc)
        for key in stored:
            s3.delete_object(Bucket=BUCKET, Key=key)
        s3.put_object(Bucket=BUCKET, Key="after", Body=payload("after", 2 * MiB))


def test_restart_with_a_full_volume_serves(tmp_path):
    """The start-up write probe finds the volume full: the server starts and serves reads."""
    with tmpfs(tmp_path / "vol1", TMPFS_MIB):
        proc = RustfsProcess(tmp_path, volumes=1)
        try:
            proc.start()
            s3, attempts = counting_client(proc)
            want = put_keep(s3)
            _, refused = fill(s3, attempts, "fill")
            assert refused is not None
        finally:
            proc.stop()
        proc = RustfsProcess(tmp_path, volumes=1)  # a new process: a new port
        try:
            proc.start()
            s3, attempts = counting_client(proc)
            check_reads(s3, want)
            attempts.clear()
            with pytest.raises(ClientError) as e:
                s3.put_object(Bucket=BUCKET, Key="refused", Body=payload("again", 2 * MiB))
            assert_storage_full(e.value, attempts)
            assert_no_failure_logged(proc)
        finally:
            proc.stop()


def test_one_full_volume_among_four(tmp_path):
    """EC:2 on four volumes, the fourth a small tmpfs: once it is full, large writes go on with
    three shards (the write quorum), small ones (whose bytes go into every volume's metadata
    replica; on PostgreSQL into the database, so they are not) are refused with 507, every
    object reads back exactly, nothing goes offline."""
    with server_with_tmpfs(tmp_path, volumes=4, tmpfs_volume=4) as proc:
        s3, attempts = counting_client(proc)
        want = put_keep(s3)
        # Each 4 MiB object puts a 2 MiB shard on every volume: ~30 fill the tmpfs, then the
        # shards go to the three others (the write quorum) and nothing is refused.
        written = {}
        for i in range(40):
            key = f"big-{i}"
            written[key] = payload(key, 4 * MiB)
            s3.put_object(Bucket=BUCKET, Key=key, Body=written[key])
        vols = admin(proc, "/rustfs/admin/v1/status")["volumes"]
        assert vols[3]["full"] and not any(v["full"] for v in vols[:3]), vols
        # Small bodies go into every volume's metadata replica: refused once the last of the
        # tmpfs' room above its reserve is used.
        inline_refused = None
        for i in range(40):
            attempts.clear()
            try:
                s3.put_object(Bucket=BUCKET, Key=f"small-{i}", Body=payload(f"small-{i}", 64 * 1024))
            except ClientError as e:
                assert_storage_full(e, attempts)
                inline_refused = e
                break
            written[f"small-{i}"] = payload(f"small-{i}", 64 * 1024)
        if on_postgres():
            # Bodies over 4 KiB are shards on PostgreSQL (only up to 4 KiB go to the database):
            # the full volume is one of four, the three others are a write quorum.
            assert inline_refused is None, inline_refused
        else:
            assert inline_refused is not None, "small writes never refused on a full volume"
        for i in range(3):
            key = f"more-{i}"
            written[key] = payload(key, 4 * MiB)
            s3.put_object(Bucket=BUCKET, Key=key, Body=written[key])
        want.update(written)
        for _ in range(6):
            check_reads(s3, want)
            time.sleep(0.5)
        log = log_text(proc)
        for bad in ("marked offline", "heal pass", "back online", "internal error"):
            assert bad not in log, f"{bad!r} in the log"
        vols = admin(proc, "/rustfs/admin/v1/status")["volumes"]
        assert all(v["online"] for v in vols), vols
        assert vols[3]["full"], vols

        # Freed: small writes succeed again.
        for key in written:
            s3.delete_object(Bucket=BUCKET, Key=key)
            want.pop(key)
        s3.put_object(Bucket=BUCKET, Key="small-after", Body=b"s" * 100)
        check_reads(s3, want)
