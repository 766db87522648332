"""Drive faults on a four-volume server (erasure coded EC:2, metadata on every volume): wiping a
volume, flipping bytes in its files and removing volumes while the server runs. Every object
must still read back exactly; damage is repaired (by reads, by the maintenance tick, and by
`rustfs heal`); writes continue while a write quorum of volumes remains and fail with 503 below
it; a restart after all this finds everything intact."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness import ACCESS_KEY, SECRET_KEY, MiB, RustfsProcess, S3Server, raw_request, rustfs_binary
from pg_cluster import on_postgres

BUCKET = "faults"
# Inline (in metadata), single block, several blocks with a short tail, and multipart.
SIZES = {"tiny": 10, "inline": 100 * 1024, "one-block": 700 * 1024, "blocks": 3 * MiB + 12345}
PART = 5 * MiB


def payload(name: str, size: int) -> bytes:
    rnd = random.Random(name)
    return rnd.randbytes(size)


@pytest.fixture
def cluster(tmp_path):
    proc = RustfsProcess(tmp_path, volumes=4).start()
    try:
        yield proc
    finally:
        proc.stop()


def server_of(proc) -> S3Server:
    return S3Server(name="ec4", process=proc, endpoint=proc.url)


def s3_of(proc):
    return server_of(proc).client()


def upload_all(s3) -> dict[str, str]:
    s3.create_bucket(Bucket=BUCKET)
    want = {}
    for name, size in SIZES.items():
        data = payload(name, size)
        s3.put_object(Bucket=BUCKET, Key=name, Body=data)
        want[name] = hashlib.md5(data).hexdigest()
    # A multipart object: two full parts and a short one.
    parts = [payload(f"mp{i}", n) for i, n in enumerate([PART, PART, 1 * MiB + 7])]
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="multipart")
    etags = [
        s3.upload_part(Bucket=BUCKET, Key="multipart", UploadId=up["UploadId"], PartNumber=i + 1, Body=p)["ETag"]
        for i, p in enumerate(parts)
    ]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="multipart",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": i + 1} for i, e in enumerate(etags)]},
    )
    want["multipart"] = hashlib.md5(b"".join(parts)).hexdigest()
    return want


def check_all(s3, want: dict[str, str]) -> None:
    for key, md5 in want.items():
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == md5, f"{key} read back wrong"
        size = len(body)
        if size > 10:
            lo, hi = size // 3, size // 3 + min(size // 2, 2 * MiB)
            got = s3.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={lo}-{hi - 1}")["Body"].read()
            assert got == body[lo:hi], f"{key} range read back wrong"
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert listed == set(want)


def data_files(vol: Path) -> list[Path]:
    return sorted(p for p in (vol / ".rustfs.sys" / "data").rglob("*") if p.is_file())


def wipe(vol: Path) -> None:
    """What a replaced (empty) drive looks like: the directory is there, its contents are not.
    The server may be re-formatting it meanwhile, so removal is retried (bounded)."""
    for _ in range(20):
        try:
            for child in vol.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"could not wipe {vol}")


def flip_bytes(files: list[Path]) -> int:
    flipped = 0
    for f in files:
        size = f.stat().st_size
        if size < 200:
            continue
        with open(f, "r+b") as fh:
            for off in (size // 2, size - 20):
                fh.seek(off)
                b = fh.read(1)
                fh.seek(off)
                fh.write(bytes([b[0] ^ 0xFF]))
        flipped += 1
    return flipped


def admin_status(proc) -> dict:
    r = raw_request(server_of(proc), "GET", "/rustfs/admin/v1/status")
    assert r.status == 200, r.body
    return json.loads(r.body)


def run_heal(proc, *extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTFS_")}
    env.update(RUSTFS_ACCESS_KEY=ACCESS_KEY, RUSTFS_SECRET_KEY=SECRET_KEY)
    out = subprocess.run(
        [str(rustfs_binary()), "heal", "--endpoint", proc.url, *extra],
        env=env,
        capture_output=True,
        timeout=120,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def wait_until(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_objects_survive_a_wiped_volume_and_bit_rot_and_heal_restores_redundancy(cluster):
    s3 = s3_of(cluster)
    want = upload_all(s3)
    vols = cluster.volumes
    assert all(len(data_files(v)) > 0 for v in vols), "shards are spread over every volume"

    wipe(vols[1])
    check_all(s3, want)
    rotten = flip_bytes(data_files(vols[2]))
    assert rotten > 0
    check_all(s3, want)

    # The wiped volume comes back formatted, its metadata replica is rebuilt.
    wait_until(
        lambda: all(v["online"] for v in admin_status(cluster)["volumes"])
        and all(r["online"] for r in admin_status(cluster)["metadata_replicas"]),
        what="volume and metadata replica back online",
    )
    summary = run_heal(cluster, "--deep")
    assert "0 unrecoverable" in summary, summary
    # The pass ran as a background worker, listed with the others in the admin status with
    # what it counted.
    def heal_workers():
        return [w for w in admin_status(cluster)["workers"] if w["name"] == "heal"]

    wait_until(lambda: [w["state"] for w in heal_workers()] == ["done"], what="the heal worker done")
    assert heal_workers()[0]["counters"]["objects_checked"] > 0, heal_workers()
    # Redundancy is whole again: any two volumes may now go.
    wipe(vols[0])
    wipe(vols[3])
    check_all(s3, want)
    assert "damaged shard; queued for repair" in cluster.log_path.read_text()


def test_writes_need_a_quorum_and_reads_survive_lost_volumes(cluster):
    s3 = s3_of(cluster)
    want = upload_all(s3)
    vols = cluster.volumes
    shutil.rmtree(vols[1])  # the drive vanishes
    wait_until(
        lambda: not admin_status(cluster)["volumes"][1]["online"],
        what="vanished volume marked offline",
    )
    assert "marked offline" in cluster.log_path.read_text()
    check_all(s3, want)
    # 3 of 4 volumes: still a write quorum.
    data = payload("during", 2 * MiB)
    s3.put_object(Bucket=BUCKET, Key="during", Body=data)
    want["during"] = hashlib.md5(data).hexdigest()
    s3.put_object(Bucket=BUCKET, Key="small-during", Body=b"x" * 100)
    want["small-during"] = hashlib.md5(b"x" * 100).hexdigest()
    check_all(s3, want)

    shutil.rmtree(vols[2])
    wait_until(lambda: not admin_status(cluster)["volumes"][2]["online"], what="second volume offline")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=BUCKET, Key="refused", Body=b"y" * (2 * MiB))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    if on_postgres():
        # A small body lives in the database with its record, on no volume: still written.
        s3.put_object(Bucket=BUCKET, Key="small-with-two-volumes", Body=b"y")
        want["small-with-two-volumes"] = hashlib.md5(b"y").hexdigest()
    else:
        # A small body lives in the metadata replicas on the volumes: 2 of 4 is no quorum.
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=BUCKET, Key="refused-small", Body=b"y")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    check_all(s3, want)  # 2 of 4 still read

    # The drives come back (empty): they are formatted, the metadata copied, shards healed.
    vols[1].mkdir()
    vols[2].mkdir()
    wait_until(
        lambda: all(v["online"] for v in admin_status(cluster)["volumes"])
        and all(r["online"] for r in admin_status(cluster)["metadata_replicas"]),
        what="volumes back online",
    )
    summary = run_heal(cluster)
    assert "0 unrecoverable" in summary, summary
    s3.put_object(Bucket=BUCKET, Key="after", Body=b"z" * 1000)
    want["after"] = hashlib.md5(b"z" * 1000).hexdigest()
    wipe(vols[0])
    wipe(vols[3])
    check_all(s3, want)


def shards_of(vols: list[Path], key: str) -> list[Path]:
    """Data files whose self-describing header names ``key`` (u16 length, then the key)."""
    tag = len(key).to_bytes(2, "little") + key.encode()
    out = []
    for v in vols:
        for f in data_files(v):
            with open(f, "rb") as fh:
                if tag in fh.read(256):
                    out.append(f)
    return out


def test_restart_after_a_replaced_volume_and_more_damage_than_parity_is_an_error(tmp_path):
    proc = RustfsProcess(tmp_path, volumes=4).start()
    try:
        want = upload_all(s3_of(proc))
    finally:
        proc.stop()
    vols = proc.volumes
    wipe(vols[0])  # replaced while the server was down: formatted, metadata copied at start
    proc = RustfsProcess(tmp_path, volumes=4).start()
    try:
        s3 = s3_of(proc)
        check_all(s3, want)
        assert all(r["online"] for r in admin_status(proc)["metadata_replicas"])
        # Three of the four shards of one object damaged: more than parity. Reading it must
        # fail, never return wrong bytes; the other objects are unaffected.
        shards = shards_of(vols[1:], "blocks")
        assert len(shards) == 3, shards
        flip_bytes(shards)
        try:
            body = s3.get_object(Bucket=BUCKET, Key="blocks")["Body"].read()
        except Exception:  # an S3 error, or the stream cut short
            body = None
        assert body is None, "bytes served from an object damaged beyond parity"
        del want["blocks"]
        check_all_but(s3, want, "blocks")
    finally:
        proc.stop()


def check_all_but(s3, want: dict[str, str], skip: str) -> None:
    for key, md5 in want.items():
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == md5, key
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert listed == set(want) | {skip}


def test_single_volume_bit_rot_is_an_error_and_a_vanished_volume_refuses_writes(tmp_path):
    """One volume has no parity: damage cannot be repaired, but it is never served, and a
    volume that vanishes makes writes fail cleanly (503) instead of landing elsewhere."""
    proc = RustfsProcess(tmp_path, volumes=1).start()
    try:
        s3 = s3_of(proc)
        s3.create_bucket(Bucket=BUCKET)
        data = payload("rot", 3 * MiB)
        s3.put_object(Bucket=BUCKET, Key="rot", Body=data)
        s3.put_object(Bucket=BUCKET, Key="fine", Body=b"f" * 1000)
        (shard,) = shards_of(proc.volumes, "rot")
        flip_bytes([shard])
        try:
            body = s3.get_object(Bucket=BUCKET, Key="rot")["Body"].read()
        except Exception:  # an S3 error, or the stream cut short
            body = None
        assert body is None or body == data
        assert body is None, "rotten bytes were served"
        assert s3.get_object(Bucket=BUCKET, Key="fine")["Body"].read() == b"f" * 1000

        shutil.rmtree(proc.volumes[0])
        wait_until(lambda: not admin_status(proc)["volumes"][0]["online"], what="volume offline")
        assert "marked offline" in proc.log_path.read_text()
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=BUCKET, Key="nowhere", Body=b"z" * (MiB))
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert proc.alive(), "a lost volume is not fatal"
    finally:
        proc.stop()
