"""A four-node cluster on one PostgreSQL database (``cluster_harness.py``): nodes on
127.0.0.2-5, two volumes each, objects erasure-coded across nodes.

Any node answers any request with read-after-write consistency; a node killed under load
loses no acknowledged write and is healed when it returns; a wiped volume is healed; with
parity 2 reads survive two dead nodes; with three dead nodes requests fail cleanly (503),
never with wrong bytes."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

import crash_load
from cluster_harness import Cluster
from harness import ACCESS_KEY, SECRET_KEY, MiB, multipart_etag, rustfs_binary, unique_name, wait_until
from pg_cluster import postgres_only

pytestmark = postgres_only("a cluster shares one PostgreSQL database (RUSTFS_TEST_META=postgres)")

# Above the 128 KiB inline limit, so the bytes are shards on the nodes' volumes.
SIZES = {"tiny": 10, "shards": 300 * 1024, "blocks": 3 * MiB + 12345}
PART = 5 * MiB


def payload(name: str, size: int) -> bytes:
    return random.Random(name).randbytes(size)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path, nodes=4, volumes=2).start()
    try:
        yield c
    finally:
        c.stop()


def upload_all(s3, bucket: str) -> dict[str, str]:
    want = {}
    for name, size in SIZES.items():
        data = payload(name, size)
        s3.put_object(Bucket=bucket, Key=name, Body=data)
        want[name] = md5(data)
    parts = [payload("mp1", PART), payload("mp2", PART + 7)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="multipart")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="multipart", UploadId=up, PartNumber=n, Body=p)["ETag"]
             for n, p in enumerate(parts, 1)]
    s3.complete_multipart_upload(Bucket=bucket, Key="multipart", UploadId=up, MultipartUpload={
        "Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]})
    want["multipart"] = md5(b"".join(parts))
    return want


def check_all(s3, bucket: str, want: dict[str, str]) -> None:
    for key, digest in want.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert md5(body) == digest, f"{key}: wrong bytes"


def data_files(vol: Path) -> list[Path]:
    root = vol / ".rustfs.sys" / "data"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def shards_of(volumes: list[Path], key: str) -> list[Path]:
    """Data files whose self-describing header names ``key`` (u16 length, then the key)."""
    tag = len(key).to_bytes(2, "little") + key.encode()
    out = []
    for v in volumes:
        for f in data_files(v):
            try:
                with open(f, "rb") as fh:
                    if tag in fh.read(512):
                        out.append(f)
            except FileNotFoundError:
                continue  # removed while we looked (what some tests wait for)
    return out


def run_heal(endpoint: str, *extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTFS_")}
    env.update(RUSTFS_ACCESS_KEY=ACCESS_KEY, RUSTFS_SECRET_KEY=SECRET_KEY)
    out = subprocess.run([str(rustfs_binary()), "heal", "--endpoint", endpoint, *extra],
                         env=env, capture_output=True, timeout=180, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def status_of(err: Exception) -> int | None:
    if isinstance(err, ClientError):
        return err.response["ResponseMetadata"]["HTTPStatusCode"]
    return None


def test_any_node_serves_what_another_wrote(cluster):
    """Written through node 1, read, listed, changed and deleted through the others at once."""
    s1, s2, s3_, s4 = (cluster.client(i) for i in range(4))
    bucket = unique_name("cl")
    s1.create_bucket(Bucket=bucket)
    assert bucket in [b["Name"] for b in s3_.list_buckets()["Buckets"]]
    want = upload_all(s1, bucket)
    check_all(s3_, bucket, want)
    listed = [o["Key"] for o in s3_.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(want)
    head = s4.head_object(Bucket=bucket, Key="multipart")
    assert head["ContentLength"] == 2 * PART + 7
    assert head["ETag"] == multipart_etag([payload("mp1", PART), payload("mp2", PART + 7)])
    ranged = s2.get_object(Bucket=bucket, Key="blocks", Range="bytes=1048570-1048600")["Body"].read()
    assert ranged == payload("blocks", SIZES["blocks"])[1048570:1048601]

    # Each write is seen at once by the next read on another node.
    for i in range(20):
        data = payload(f"raw{i}", 200 * 1024 + i)
        cluster.client(i % 4).put_object(Bucket=bucket, Key="hot", Body=data)
        got = cluster.client((i + 1) % 4).get_object(Bucket=bucket, Key="hot")["Body"].read()
        assert got == data

    # Bucket settings are the same everywhere.
    s1.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s4.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s2.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "storage"}]})
    assert s3_.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "storage"}]

    s2.delete_object(Bucket=bucket, Key="shards")
    with pytest.raises(ClientError) as e:
        s1.get_object(Bucket=bucket, Key="shards")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    assert "shards" not in [o["Key"] for o in s4.list_objects_v2(Bucket=bucket)["Contents"]]


def test_shards_spread_over_nodes(cluster):
    s3 = cluster.client(0)
    bucket = unique_name("cl")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="spread", Body=payload("spread", 2 * MiB))
    nodes_with_shards = [i for i in range(4) if shards_of(cluster.volumes(i), "spread")]
    assert len(nodes_with_shards) == 4, f"shards on nodes {nodes_with_shards} only"


def test_nodes_speak_https_when_they_have_certificates(tmp_path, monkeypatch):
    """Node addresses are https://: shard traffic goes over TLS (a plain-HTTP call to a TLS
    port would fail, and writes would fall below quorum), checked against the nodes' CA."""
    c = Cluster(tmp_path, nodes=4, volumes=2, tls=True)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(c.ca))
    c.start()
    try:
        bucket = unique_name("tls")
        c.client(0).create_bucket(Bucket=bucket)
        data = payload("tls", 2 * MiB + 3)
        c.client(0).put_object(Bucket=bucket, Key="over-tls", Body=data)
        assert c.client(2).get_object(Bucket=bucket, Key="over-tls")["Body"].read() == data
        assert all(shards_of(c.volumes(i), "over-tls") for i in range(4))
    finally:
        c.stop()


def test_new_nodes_become_a_pool_for_new_objects(tmp_path):
    """Four more nodes join the database; `rustfs cluster add-pool` makes their volumes a new
    pool: new objects go there (from old and new nodes alike), old ones stay where they are
    and read from every node."""
    c = Cluster(tmp_path / "first", nodes=4, volumes=2).start()
    more = None
    try:
        bucket = unique_name("pool")
        c.client(0).create_bucket(Bucket=bucket)
        old = payload("old", MiB + 5)
        c.client(0).put_object(Bucket=bucket, Key="old", Body=old)
        more = Cluster(tmp_path / "more", nodes=4, volumes=2, meta_url=c.meta_url, first_host=6).start()
        new_volumes = [v for i in range(4) for v in more.volumes(i)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTFS_")}
        env["RUSTFS_META_URL"] = c.meta_url
        out = subprocess.run([str(rustfs_binary()), "cluster", "add-pool"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "pool 1 added" in out.stdout, out.stdout + out.stderr
        status = subprocess.run([str(rustfs_binary()), "cluster", "status"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert status.stdout.count("node ") == 8 and "pool 1 set 1" in status.stdout, status.stdout
        # Every node takes the new layout within a few heartbeats.
        for writer in (c.client(0), c.client(3), more.client(1)):
            deadline = time.monotonic() + 30
            n = 0
            while True:
                key = f"new-{n}"
                writer.put_object(Bucket=bucket, Key=key, Body=payload(key, MiB))
                if len(shards_of(new_volumes, key)) == 4:
                    break
                assert time.monotonic() < deadline, f"{key} not on the new pool: {c.logs()}"
                n += 1
                time.sleep(0.5)
            # A node that joined seconds ago may not yet have seen the other new nodes'
            # heartbeats move (their volumes count as offline until it has): 503, then served.
            reader = more.client(2)
            body = wait_until(lambda: reader.get_object(Bucket=bucket, Key=key)["Body"].read(),
                              timeout=20, errors=(ClientError,))
            assert body == payload(key, MiB)
            assert c.client(1).get_object(Bucket=bucket, Key=key)["Body"].read() == payload(key, MiB)
        assert shards_of(new_volumes, "old") == [], "stored objects are not moved"
        assert more.client(3).get_object(Bucket=bucket, Key="old")["Body"].read() == old
    finally:
        if more is not None:
            more.stop()
        c.stop()


def test_sigkill_a_node_under_load_loses_no_acknowledged_write_and_heals(cluster):
    bucket = unique_name("load")
    cluster.client(0).create_bucket(Bucket=bucket)
    keys = [f"k{i:03d}" for i in range(128)]
    ledger = crash_load.Ledger({k: None for k in keys})
    stop = threading.Event()
    threads = []
    # 64 connections, 16 per node, each worker with its own keys.
    for n in range(4):
        threads += crash_load.run_workers(cluster.node(n).endpoint, bucket, keys[n::4], ledger, stop,
                                          workers=16, seed=100 * n)
    deadline = time.monotonic() + 20
    while ledger.acks < 100 and time.monotonic() < deadline:
        time.sleep(0.1)
    cluster.kill(1)
    before = ledger.acks
    deadline = time.monotonic() + 20
    while ledger.acks < before + 100 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    crash_load.join_all(threads, timeout=60)
    assert ledger.acks > before, "writes go on while a write quorum of nodes holds"

    reader = crash_load.client(cluster.node(2).endpoint)
    known = {k: None for k in keys}
    crash_load.check_against_ledger(reader, bucket, ledger, known, "through node 3")

    cluster.restart(1)
    summary = run_heal(cluster.node(1).endpoint)
    assert " 0 unrecoverable" in summary, summary
    # Node 1 is online again for node 1 at once; for node 0 once it has seen node 1's
    # heartbeat move (1 s beats, read each second) and any failed call's back-off (3 s) is
    # over. Until then node 0's heal counts node 1's shards as on offline volumes.
    def deep_heal_sees_every_volume():
        out = run_heal(cluster.node(0).endpoint, "--deep")
        assert "0 on offline volumes" in out, out
        return out
    again = wait_until(deep_heal_sees_every_volume, timeout=30)
    assert "0 damaged shards" in again, again
    crash_load.check_against_ledger(crash_load.client(cluster.node(1).endpoint), bucket, ledger, known,
                                    "through the healed node")


def test_a_paused_node_is_passed_over_then_heals_what_it_missed(cluster):
    """A node frozen (SIGSTOP: up to the kernel, silent to everyone) holds writes only until
    its heartbeat is missed; once it runs again it finds it was taken for down and rebuilds
    the shards written without it."""
    s3 = cluster.client(0, read_timeout=60)
    bucket = unique_name("pause")
    s3.create_bucket(Bucket=bucket)
    proc = cluster.procs[1].proc
    keys = [f"while-paused-{i}" for i in range(6)]
    proc.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        for k in keys:
            started = time.monotonic()
            s3.put_object(Bucket=bucket, Key=k, Body=payload(k, 300 * 1024))
            assert time.monotonic() - started < 30, "a write waited for the frozen node's timeouts"
        for k in keys:
            assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == payload(k, 300 * 1024)
        time.sleep(max(0.0, 7 - (time.monotonic() - stopped)))
    finally:
        proc.send_signal(signal.SIGCONT)
    # Each object has one shard per node (two 2+2 sets, one volume per node per set): node 2's
    # comes back by node 2's own heal.
    deadline = time.monotonic() + 60
    while not all(shards_of(cluster.volumes(1), k) for k in keys):
        missing = [k for k in keys if not shards_of(cluster.volumes(1), k)]
        assert time.monotonic() < deadline, f"not healed: {missing}\n{cluster.logs()}"
        time.sleep(0.5)
    for k in keys:
        assert cluster.client(1).get_object(Bucket=bucket, Key=k)["Body"].read() == payload(k, 300 * 1024)


def test_deletions_on_a_dead_node_are_done_when_it_returns(cluster):
    """An object deleted while one of its nodes is down leaves that node's shard behind; the
    removal is kept in the database and done by the node once it is back (well before its
    orphan sweep, which waits two minutes after a start)."""
    s3 = cluster.client(0)
    bucket = unique_name("defer")
    s3.create_bucket(Bucket=bucket)
    keys = [f"gone-{i}" for i in range(4)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=payload(k, 200 * 1024))
    assert all(shards_of(cluster.volumes(3), k) for k in keys)
    cluster.kill(3)
    for k in keys:
        s3.delete_object(Bucket=bucket, Key=k)
    # The live nodes' files go at once (the others' in the background of the DELETE); the
    # dead node's wait.
    deadline = time.monotonic() + 10
    while any(shards_of(cluster.volumes(i), k) for i in range(3) for k in keys):
        assert time.monotonic() < deadline, "live nodes' shards not removed"
        time.sleep(0.1)
    assert all(shards_of(cluster.volumes(3), k) for k in keys), "a dead node's files wait"
    cluster.restart(3)
    deadline = time.monotonic() + 20
    while any(shards_of(cluster.volumes(3), k) for k in keys):
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.2)


def test_a_node_back_at_a_new_address_is_followed(cluster):
    """A node restarted on another port registers its new address; the others send its
    shards there within a heartbeat or two."""
    s3 = cluster.client(0)
    bucket = unique_name("moved")
    s3.create_bucket(Bucket=bucket)
    cluster.move(2)
    deadline = time.monotonic() + 20
    n = 0
    while True:
        key = f"after-move-{n}"
        s3.put_object(Bucket=bucket, Key=key, Body=payload(key, 300 * 1024))
        if shards_of(cluster.volumes(2), key):
            break
        assert time.monotonic() < deadline, f"no shard reached the moved node\n{cluster.logs()}"
        n += 1
        time.sleep(0.5)
    assert cluster.client(2).get_object(Bucket=bucket, Key=key)["Body"].read() == payload(key, 300 * 1024)


def test_a_wiped_volume_is_healed(cluster):
    s3 = cluster.client(0)
    bucket = unique_name("wipe")
    s3.create_bucket(Bucket=bucket)
    want = upload_all(s3, bucket)
    # Objects go to erasure sets by a hash of bucket and key, so a given volume may hold none
    # of this test's shards: wipe node 3's volume that holds the most.
    vol = max(cluster.volumes(2), key=lambda v: len(data_files(v)))
    had = len(data_files(vol))
    assert had > 0
    # A replaced drive: the volume's directory is back, empty. Moved aside in one rename (the
    # server writes into it meanwhile, so an rmtree in place races it: "Directory not empty").
    old = vol.with_name(vol.name + ".replaced")
    vol.rename(old)
    vol.mkdir()
    shutil.rmtree(old, ignore_errors=True)
    check_all(cluster.client(3), bucket, want)
    # Its node formats it afresh within a maintenance tick or two.
    deadline = time.monotonic() + 30
    while not (vol / ".rustfs.sys" / "format.json").exists():
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.2)
    summary = run_heal(cluster.node(0).endpoint, "--deep")
    assert " 0 unrecoverable" in summary, summary
    # The heal pass of node 1 and the one node 3 starts when its volume comes back both
    # rebuild onto it; wait for them to finish.
    deadline = time.monotonic() + 60
    while len(data_files(vol)) < had:
        assert time.monotonic() < deadline, f"{len(data_files(vol))} of {had} shards back"
        time.sleep(0.5)
    assert len(data_files(vol)) == had, "every shard of the wiped volume is back"
    check_all(cluster.client(2), bucket, want)


def test_parity_two_reads_survive_two_dead_nodes(tmp_path):
    c = Cluster(tmp_path, nodes=4, volumes=2, parity=2).start()
    try:
        s3 = c.client(0)
        bucket = unique_name("p2")
        s3.create_bucket(Bucket=bucket)
        want = upload_all(s3, bucket)
        c.kill(1)
        c.kill(3)
        check_all(c.client(0), bucket, want)
        check_all(c.client(2), bucket, want)
    finally:
        c.stop()


def test_three_dead_nodes_answer_503_never_wrong_bytes(cluster):
    s3 = cluster.client(0)
    bucket = unique_name("q")
    s3.create_bucket(Bucket=bucket)
    want = upload_all(s3, bucket)
    for n in (1, 2, 3):
        cluster.kill(n)
    s3 = cluster.client(0, read_timeout=30)
    for key, digest in want.items():
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            assert status_of(err) == 503, err.response
            continue
        except BotoCoreError:
            continue  # a truncated body: the stream ended, never with wrong bytes
        assert md5(body) == digest, f"{key}: wrong bytes"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="refused", Body=payload("refused", MiB))
    assert status_of(e.value) == 503


def test_identities_changed_on_one_node_are_in_force_on_every_node_within_a_second(cluster):
    """A user made, given a policy and then deleted through node 1's IAM API: its key works
    through node 3 once the change is seen there (within a second), and is refused there
    within a second of its deletion."""
    import boto3
    from botocore.config import Config

    n1, n3 = cluster.node(0), cluster.node(2)
    iam = boto3.client("iam", endpoint_url=n1.endpoint, region_name="us-east-1",
                       aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                       config=Config(retries={"max_attempts": 1}))
    bucket = unique_name("cliam")
    cluster.client(0).create_bucket(Bucket=bucket)
    cluster.client(0).put_object(Bucket=bucket, Key="k", Body=b"v")
    name = unique_name("u")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam:::policy/readonly")
    on3 = n3.client(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])

    def within_a_second(check):
        # The poll is every half second; the slack is for a loaded machine.
        return wait_until(check, 2.5, (AssertionError, ClientError))

    within_a_second(lambda: on3.get_object(Bucket=bucket, Key="k"))
    with pytest.raises(ClientError) as e:
        on3.put_object(Bucket=bucket, Key="k2", Body=b"x")
    assert e.value.response["Error"]["Code"] == "AccessDenied"

    iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam:::policy/readonly")
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)

    def refused():
        try:
            on3.get_object(Bucket=bucket, Key="k")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InvalidAccessKeyId", e.response
            return
        raise AssertionError("the deleted user's key still works on node 3")

    within_a_second(refused)
