"""Races of read-then-commit operations over HTTP with boto3 (issue 11, item 1): a
CompleteMultipartUpload racing a re-upload of one of its parts, AbortMultipartUpload racing
UploadPart, CopyObject and UploadPartCopy racing an overwrite of their source, and
DeleteObjects racing versioning being enabled. Each race runs a bounded number of rounds
within a time bound; whoever wins, an acknowledged object must read back whole and no data
file may outlive its upload.

The server is this module's own, on one volume, so its data directory can be inspected.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness import MiB, RustfsProcess, S3Server, purge_bucket, unique_name

TIME_BOUND = 45.0


@pytest.fixture(scope="module")
def race_server(tmp_path_factory):
    proc = RustfsProcess(tmp_path_factory.mktemp("rustfs-races"), volumes=1).start()
    try:
        yield S3Server(name="races", process=proc, endpoint=proc.url)
    finally:
        proc.stop()


@pytest.fixture
def s3r(race_server):
    return race_server.client(max_pool_connections=16)


@pytest.fixture
def rbucket(s3r):
    name = unique_name("race")
    s3r.create_bucket(Bucket=name)
    yield name
    purge_bucket(s3r, name)


def data_files(srv: S3Server) -> list[Path]:
    root = srv.volumes[0] / ".rustfs.sys" / "data"
    return [f for d in root.iterdir() for f in d.iterdir()] if root.is_dir() else []


def pattern(size: int, seed: int) -> bytes:
    return bytes((i * 31 + seed) & 0xFF for i in range(256)) * (size // 256) + bytes(size % 256)


def code_of(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def test_complete_racing_a_part_reupload_never_acknowledges_an_unreadable_object(s3r, rbucket):
    key = "mp"
    p1 = pattern(5 * MiB, 1)
    second = pattern(300 * 1024, 200)
    start = time.monotonic()
    outcomes = {"completed": 0, "refused": 0}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for rnd in range(60):
            if time.monotonic() - start > TIME_BOUND:
                break
            first = pattern(300 * 1024, 2 + rnd)
            up = s3r.create_multipart_upload(Bucket=rbucket, Key=key)["UploadId"]
            e1 = s3r.upload_part(Bucket=rbucket, Key=key, UploadId=up, PartNumber=1, Body=p1)["ETag"]
            e2 = s3r.upload_part(Bucket=rbucket, Key=key, UploadId=up, PartNumber=2, Body=first)["ETag"]

            def reupload():
                try:
                    s3r.upload_part(Bucket=rbucket, Key=key, UploadId=up, PartNumber=2, Body=second)
                except ClientError as err:
                    assert code_of(err) == "NoSuchUpload", err

            def complete():
                time.sleep((rnd % 6) * 0.002)
                try:
                    s3r.complete_multipart_upload(
                        Bucket=rbucket, Key=key, UploadId=up,
                        MultipartUpload={"Parts": [
                            {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2},
                        ]},
                    )
                    return True
                except ClientError as err:
                    assert code_of(err) == "InvalidPart", err
                    return False

            r = pool.submit(reupload)
            done = pool.submit(complete).result()
            r.result()
            if done:
                outcomes["completed"] += 1
                got = s3r.get_object(Bucket=rbucket, Key=key)["Body"].read()
                assert got in (p1 + first, p1 + second), f"round {rnd}: object is neither version"
            else:
                outcomes["refused"] += 1
                s3r.abort_multipart_upload(Bucket=rbucket, Key=key, UploadId=up)
    assert outcomes["completed"] + outcomes["refused"] > 0


def test_abort_racing_upload_part_leaves_no_part_files(race_server, s3r, rbucket):
    key = "mp"
    before = set(data_files(race_server))
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        for rnd in range(40):
            if time.monotonic() - start > TIME_BOUND:
                break
            up = s3r.create_multipart_upload(Bucket=rbucket, Key=key)["UploadId"]
            s3r.upload_part(Bucket=rbucket, Key=key, UploadId=up, PartNumber=1, Body=pattern(300 * 1024, 1))

            def part(n):
                try:
                    s3r.upload_part(
                        Bucket=rbucket, Key=key, UploadId=up, PartNumber=n, Body=pattern(300 * 1024, n + 10)
                    )
                except ClientError as err:
                    assert code_of(err) == "NoSuchUpload", err

            def abort():
                time.sleep((rnd % 6) * 0.002)
                s3r.abort_multipart_upload(Bucket=rbucket, Key=key, UploadId=up)

            futures = [pool.submit(part, 1), pool.submit(part, 2), pool.submit(abort)]
            for f in futures:
                f.result()
            leaked = set(data_files(race_server)) - before
            assert not leaked, f"round {rnd}: part files outlived the aborted upload: {leaked}"
            with pytest.raises(ClientError) as err:
                s3r.list_parts(Bucket=rbucket, Key=key, UploadId=up)
            assert code_of(err.value) == "NoSuchUpload"


def test_copies_racing_an_overwrite_of_their_source_copy_one_whole_version(s3r, rbucket):
    # More parts than a read opens up front: the copy opens the last part's file only after
    # streaming the other 80 MiB, by which time the overwrite has unlinked it.
    up = s3r.create_multipart_upload(Bucket=rbucket, Key="src")["UploadId"]
    parts, original = [], b""
    for n in range(1, 18):
        data = pattern(5 * MiB if n < 17 else 300 * 1024, n)
        etag = s3r.upload_part(Bucket=rbucket, Key="src", UploadId=up, PartNumber=n, Body=data)["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
        original += data
    s3r.complete_multipart_upload(Bucket=rbucket, Key="src", UploadId=up, MultipartUpload={"Parts": parts})
    replacement = pattern(300 * 1024, 99)
    dst_up = s3r.create_multipart_upload(Bucket=rbucket, Key="dst-mp")["UploadId"]
    source = {"Bucket": rbucket, "Key": "src"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        copy = pool.submit(s3r.copy_object, Bucket=rbucket, Key="dst", CopySource=source)
        part_copy = pool.submit(
            s3r.upload_part_copy, Bucket=rbucket, Key="dst-mp", UploadId=dst_up, PartNumber=1,
            CopySource=source,
        )
        time.sleep(0.05)
        s3r.put_object(Bucket=rbucket, Key="src", Body=replacement)
        copy.result()
        etag = part_copy.result()["CopyPartResult"]["ETag"]
    got = s3r.get_object(Bucket=rbucket, Key="dst")["Body"].read()
    assert got in (original, replacement), "the copy mixes versions"
    s3r.complete_multipart_upload(
        Bucket=rbucket, Key="dst-mp", UploadId=dst_up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    got = s3r.get_object(Bucket=rbucket, Key="dst-mp")["Body"].read()
    assert got in (original, replacement), "the part copy mixes versions"


def test_delete_objects_racing_versioning_enabled_never_destroys_a_version(s3r):
    # Missing keys listed first widen the window between the look at the bucket's versioning
    # and the read of the key that matters.
    entries = [{"Key": f"missing/{i}"} for i in range(999)] + [{"Key": "k"}]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for rnd in range(16):
            if time.monotonic() - start > TIME_BOUND:
                break
            name = unique_name("race-ver")
            s3r.create_bucket(Bucket=name)
            try:
                s3r.put_object(Bucket=name, Key="k", Body=b"null version")

                def writer():
                    # Staggered: the delete spends a while on its entries before it reads.
                    time.sleep((rnd % 8) * 0.001)
                    s3r.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
                    return s3r.put_object(Bucket=name, Key="k", Body=b"second")["VersionId"]

                w = pool.submit(writer)
                res = s3r.delete_objects(Bucket=name, Delete={"Objects": entries, "Quiet": True})
                assert not res.get("Errors"), res.get("Errors")
                vid = w.result()
                got = s3r.get_object(Bucket=name, Key="k", VersionId=vid)["Body"].read()
                assert got == b"second", f"round {rnd}"
            finally:
                purge_bucket(s3r, name)


def test_anonymous_writes_racing_the_bucket_creation_are_never_let_in(main, anon):
    """The access check reads the bucket; the owner creates it meanwhile. A check that found
    no bucket must refuse (404 NoSuchBucket) rather than let the write through to a bucket
    that exists by the time the operation runs: no anonymous PUT into the new private bucket
    ever succeeds. Bounded: 10 rounds, 8 writers each, stopping once the bucket exists."""
    import threading

    for _ in range(10):
        name = unique_name("race-create")
        created = threading.Event()
        outcomes: list[str] = []

        def writer(i: int) -> None:
            for n in range(200):
                try:
                    anon.put_object(Bucket=name, Key=f"w{i}-{n}", Body=b"x")
                    outcomes.append("ok")
                except ClientError as e:
                    outcomes.append(e.response["Error"]["Code"])
                if created.is_set() and n > 2:
                    return

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(writer, i) for i in range(8)]
            main.create_bucket(Bucket=name)
            created.set()
            for f in futures:
                f.result()
        assert "ok" not in outcomes, outcomes
        assert set(outcomes) <= {"NoSuchBucket", "AccessDenied"}, set(outcomes)
        listed = main.list_objects_v2(Bucket=name).get("Contents", [])
        assert listed == [], listed
        main.delete_bucket(Bucket=name)
