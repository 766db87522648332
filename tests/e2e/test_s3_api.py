"""S3 API behaviour, checked with boto3 (and a few hand-signed raw requests)
against the real server: mostly plain HTTP, HTTPS where the wire format
differs (aws-chunked bodies with checksum trailers).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import gzip
import hashlib
import os
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from harness import (
    MiB,
    STREAMING_UNSIGNED_TRAILER,
    aws_chunked,
    checksum_b64,
    composite_checksum_b64,
    crc32c,
    crc64nvme,
    expect_error,
    md5_b64,
    md5_hex,
    multipart_etag,
    raw_request,
    unique_name,
    xml_error_code,
)

try:  # cross-check our pure-Python CRCs when the CRT is around
    from awscrt import checksums as crt_checksums
except ImportError:  # pragma: no cover - depends on the machine
    crt_checksums = None

ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]
# botocore computes these itself; CRC32C/CRC64NVME need awscrt.
BOTOCORE_ALGORITHMS = ["CRC32", "SHA1", "SHA256"] + (
    ["CRC32C", "CRC64NVME"] if crt_checksums is not None else []
)
PAST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def etag_of(data: bytes) -> str:
    return f'"{md5_hex(data)}"'


def status_of(resp) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def header(resp, name: str):
    return resp["ResponseMetadata"]["HTTPHeaders"].get(name.lower())


def put(s3, bucket, key, body=b"data", **kwargs):
    return s3.put_object(Bucket=bucket, Key=key, Body=body, **kwargs)


def get_body(s3, bucket, key, **kwargs) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()


def exists(s3, bucket, key) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as err:
        assert err.response["Error"]["Code"] == "404", err
        return False


# ==========================================================================
# Buckets
# ==========================================================================


@pytest.mark.parametrize(
    "name", ["AB", "a", "-abc", "a..b", "a" * 64, "192.168.1.1", "abc-", "ab_c"]
)
def test_invalid_bucket_names_rejected(s3, name):
    expect_error(s3.create_bucket, Bucket=name, code="InvalidBucketName", status=400)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_bucket_name_length_limits_accepted(s3):
    for name in ("x1y", "b" * 55 + os.urandom(4).hex()):
        assert len(name) in (3, 63)
        s3.create_bucket(Bucket=name)
        s3.head_bucket(Bucket=name)
        s3.delete_bucket(Bucket=name)
        expect_error(s3.head_bucket, Bucket=name, code="404", status=404)


def test_list_buckets_and_location(s3):
    names = sorted(unique_name("lb") for _ in range(2))
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    for name in names:
        s3.create_bucket(Bucket=name)
    try:
        resp = s3.list_buckets()
        listed = [b["Name"] for b in resp["Buckets"]]
        assert [n for n in listed if n in names] == names
        assert listed == sorted(listed)
        for b in resp["Buckets"]:
            if b["Name"] in names:
                assert before <= b["CreationDate"] <= before + dt.timedelta(minutes=10)
        assert resp["Owner"]["ID"]
        loc = s3.get_bucket_location(Bucket=names[0])
        # us-east-1 is reported as an empty LocationConstraint.
        assert loc.get("LocationConstraint") in (None, "")
        expect_error(s3.get_bucket_location, Bucket=unique_name("missing"),
                     code="NoSuchBucket", status=404)
    finally:
        for name in names:
            s3.delete_bucket(Bucket=name)


def test_bucket_created_with_a_location_reports_it(s3):
    name = unique_name("loc")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    try:
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        head = s3.head_bucket(Bucket=name)
        assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
        listed = {b["Name"]: b for b in s3.list_buckets()["Buckets"]}
        assert listed[name]["BucketRegion"] == "eu-west-1"
    finally:
        s3.delete_bucket(Bucket=name)


def test_delete_bucket_aborts_uploads_in_progress(s3):
    name = unique_name()
    s3.create_bucket(Bucket=name)
    up = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    s3.upload_part(Bucket=name, Key="mp", UploadId=up, PartNumber=1, Body=b"x" * 1000)
    s3.delete_bucket(Bucket=name)
    expect_error(s3.head_bucket, Bucket=name, code="404", status=404)


def test_bucket_not_empty_and_missing(s3, bucket):
    put(s3, bucket, "keep")
    expect_error(s3.delete_bucket, Bucket=bucket, code="BucketNotEmpty", status=409)
    assert get_body(s3, bucket, "keep") == b"data"
    expect_error(s3.delete_bucket, Bucket=unique_name("missing"), code="NoSuchBucket", status=404)
    expect_error(s3.head_bucket, Bucket=unique_name("missing"), code="404", status=404)
    expect_error(s3.list_objects_v2, Bucket=unique_name("missing"), code="NoSuchBucket", status=404)
    expect_error(put, s3, unique_name("missing"), "k", code="NoSuchBucket", status=404)


# ==========================================================================
# Objects: metadata, digests, ranges, conditionals
# ==========================================================================

EXPIRES = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
# The double space also checks SigV4 header canonicalisation (trimall).
META = {"color": "blue", "spaced-out": "value with  spaces"}
STD_HEADERS = {
    "ContentType": "text/plain; charset=utf-8",
    "ContentEncoding": "gzip",
    "ContentDisposition": 'attachment; filename="report.txt"',
    "ContentLanguage": "en-GB",
    "CacheControl": "max-age=3600, private",
}


def test_put_get_head_metadata_roundtrip(s3, bucket):
    body = gzip.compress(b"metadata round trip\n" * 50)
    resp = put(s3, bucket, "dir/meta.txt", body, Metadata=META, Expires=EXPIRES, **STD_HEADERS)
    assert resp["ETag"] == etag_of(body)

    got = s3.get_object(Bucket=bucket, Key="dir/meta.txt")
    head = s3.head_object(Bucket=bucket, Key="dir/meta.txt")
    assert got["Body"].read() == body  # stored as sent, no content decoding
    for r in (got, head):
        assert r["ETag"] == etag_of(body)
        assert r["ContentLength"] == len(body)
        assert r["Metadata"] == META
        for name, value in STD_HEADERS.items():
            assert r[name] == value, name
        assert email.utils.parsedate_to_datetime(header(r, "Expires")) == EXPIRES
        assert isinstance(r["LastModified"], dt.datetime)
        assert abs(r["LastModified"] - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
        assert header(r, "accept-ranges") == "bytes"
        assert header(r, "x-amz-request-id")


def test_default_content_type_and_empty_object(s3, bucket):
    put(s3, bucket, "empty", b"")
    head = s3.head_object(Bucket=bucket, Key="empty")
    assert head["ContentLength"] == 0
    assert head["ETag"] == etag_of(b"")
    assert get_body(s3, bucket, "empty") == b""
    assert head["ContentType"] in ("binary/octet-stream", "application/octet-stream")


def test_overwrite_replaces_content_and_metadata(s3, bucket):
    put(s3, bucket, "k", b"first", Metadata={"v": "1"})
    put(s3, bucket, "k", b"second!", Metadata={"w": "2"})
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second!"
    assert got["Metadata"] == {"w": "2"}
    assert got["ETag"] == etag_of(b"second!")


def test_content_md5_verified(s3, bucket):
    body = b"content-md5 checked"
    assert put(s3, bucket, "good", body, ContentMD5=md5_b64(body))["ETag"] == etag_of(body)
    expect_error(put, s3, bucket, "bad", body, ContentMD5=md5_b64(b"something else"),
                 code="BadDigest", status=400)
    assert not exists(s3, bucket, "bad")
    expect_error(put, s3, bucket, "malformed", body, ContentMD5="not-an-md5!",
                 code="InvalidDigest", status=400)
    expect_error(put, s3, bucket, "short", body, ContentMD5=base64.b64encode(b"short").decode(),
                 code="InvalidDigest", status=400)
    assert not exists(s3, bucket, "malformed")


RANGE_DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.mark.parametrize(
    "spec,start,end",
    [("bytes=0-9", 0, 9), ("bytes=10-", 10, 1023), ("bytes=-5", 1019, 1023),
     ("bytes=1000-5000", 1000, 1023), ("bytes=1023-1023", 1023, 1023)],
)
def test_range_get(s3, bucket, spec, start, end):
    put(s3, bucket, "r", RANGE_DATA)
    resp = s3.get_object(Bucket=bucket, Key="r", Range=spec)
    assert status_of(resp) == 206
    assert resp["ContentRange"] == f"bytes {start}-{end}/1024"
    assert resp["ContentLength"] == end - start + 1
    assert resp["Body"].read() == RANGE_DATA[start : end + 1]
    assert resp["ETag"] == etag_of(RANGE_DATA)


def test_range_not_satisfiable(s3, bucket):
    put(s3, bucket, "r", RANGE_DATA)
    expect_error(s3.get_object, Bucket=bucket, Key="r", Range="bytes=1024-2000",
                 code="InvalidRange", status=416)
    expect_error(s3.get_object, Bucket=bucket, Key="r", Range="bytes=5000-",
                 code="InvalidRange", status=416)


def test_conditional_get_and_head(s3, bucket):
    body = b"conditional"
    etag = put(s3, bucket, "c", body)["ETag"]
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)

    assert get_body(s3, bucket, "c", IfMatch=etag) == body
    expect_error(s3.get_object, Bucket=bucket, Key="c", IfMatch='"0123456789abcdef0123456789abcdef"',
                 code="PreconditionFailed", status=412)
    expect_error(s3.get_object, Bucket=bucket, Key="c", IfNoneMatch=etag, code="304", status=304)
    assert get_body(s3, bucket, "c", IfNoneMatch='"ffffffffffffffffffffffffffffffff"') == body
    expect_error(s3.get_object, Bucket=bucket, Key="c", IfModifiedSince=future, code="304", status=304)
    assert get_body(s3, bucket, "c", IfModifiedSince=PAST) == body
    expect_error(s3.get_object, Bucket=bucket, Key="c", IfUnmodifiedSince=PAST,
                 code="PreconditionFailed", status=412)
    assert get_body(s3, bucket, "c", IfUnmodifiedSince=future) == body

    # HEAD answers the same way, with bare status codes.
    expect_error(s3.head_object, Bucket=bucket, Key="c", IfMatch='"nope"', code="412", status=412)
    expect_error(s3.head_object, Bucket=bucket, Key="c", IfNoneMatch=etag, code="304", status=304)
    assert s3.head_object(Bucket=bucket, Key="c", IfMatch=etag)["ETag"] == etag


def test_response_header_overrides(s3, bucket):
    put(s3, bucket, "o", b"override me", ContentType="text/plain")
    resp = s3.get_object(
        Bucket=bucket, Key="o",
        ResponseContentType="application/x-custom",
        ResponseContentDisposition='attachment; filename="x.bin"',
        ResponseCacheControl="no-cache",
        ResponseContentLanguage="fr-CA",
        ResponseContentEncoding="identity",
        ResponseExpires=EXPIRES,
    )
    assert resp["Body"].read() == b"override me"
    assert resp["ContentType"] == "application/x-custom"
    assert resp["ContentDisposition"] == 'attachment; filename="x.bin"'
    assert resp["CacheControl"] == "no-cache"
    assert resp["ContentLanguage"] == "fr-CA"
    assert resp["ContentEncoding"] == "identity"
    assert email.utils.parsedate_to_datetime(header(resp, "Expires")) == EXPIRES
    # Overrides affect the response only.
    assert s3.head_object(Bucket=bucket, Key="o")["ContentType"] == "text/plain"


def test_delete_object_is_idempotent(s3, bucket):
    put(s3, bucket, "d")
    assert status_of(s3.delete_object(Bucket=bucket, Key="d")) == 204
    expect_error(s3.get_object, Bucket=bucket, Key="d", code="NoSuchKey", status=404)
    assert status_of(s3.delete_object(Bucket=bucket, Key="d")) == 204
    assert status_of(s3.delete_object(Bucket=bucket, Key="never-existed")) == 204


def test_delete_objects_batch_and_quiet(s3, bucket):
    keys = [f"batch/{i}" for i in range(5)]
    for k in keys:
        put(s3, bucket, k)
    resp = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": k} for k in keys[:3] + ["batch/missing"]]},
    )
    assert sorted(d["Key"] for d in resp["Deleted"]) == sorted(keys[:3] + ["batch/missing"])
    assert resp.get("Errors", []) == []
    left = s3.list_objects_v2(Bucket=bucket, Prefix="batch/")
    assert [o["Key"] for o in left["Contents"]] == keys[3:]

    resp = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[3:]], "Quiet": True}
    )
    assert resp.get("Deleted", []) == []
    assert resp.get("Errors", []) == []
    assert s3.list_objects_v2(Bucket=bucket, Prefix="batch/")["KeyCount"] == 0


# ==========================================================================
# CopyObject
# ==========================================================================


def test_copy_object_metadata_directives(s3, bucket):
    body = b"copy source body"
    src_etag = put(s3, bucket, "src", body, ContentType="text/plain", Metadata={"a": "1"})["ETag"]
    src = {"Bucket": bucket, "Key": "src"}

    resp = s3.copy_object(Bucket=bucket, Key="copied", CopySource=src)
    assert resp["CopyObjectResult"]["ETag"] == src_etag
    got = s3.get_object(Bucket=bucket, Key="copied")
    assert got["Body"].read() == body
    assert got["Metadata"] == {"a": "1"}
    assert got["ContentType"] == "text/plain"

    s3.copy_object(Bucket=bucket, Key="replaced", CopySource=src, MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="application/json")
    got = s3.get_object(Bucket=bucket, Key="replaced")
    assert got["Body"].read() == body
    assert got["Metadata"] == {"b": "2"}
    assert got["ContentType"] == "application/json"

    # Across buckets too.
    other = unique_name()
    s3.create_bucket(Bucket=other)
    try:
        s3.copy_object(Bucket=other, Key="x/y", CopySource=src)
        assert get_body(s3, other, "x/y") == body
        s3.delete_object(Bucket=other, Key="x/y")
    finally:
        s3.delete_bucket(Bucket=other)


def test_copy_object_preconditions_and_errors(s3, bucket):
    etag = put(s3, bucket, "src", b"precondition")["ETag"]
    src = {"Bucket": bucket, "Key": "src"}
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource=src,
                 CopySourceIfMatch='"0123456789abcdef0123456789abcdef"',
                 code="PreconditionFailed", status=412)
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource=src,
                 CopySourceIfNoneMatch=etag, code="PreconditionFailed", status=412)
    assert not exists(s3, bucket, "dst")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=src, CopySourceIfMatch=etag)
    assert get_body(s3, bucket, "dst") == b"precondition"
    expect_error(s3.copy_object, Bucket=bucket, Key="dst2",
                 CopySource={"Bucket": bucket, "Key": "missing"}, code="NoSuchKey", status=404)


def test_copy_object_onto_itself(s3, bucket):
    put(s3, bucket, "self", b"same bytes", Metadata={"v": "1"}, ContentType="text/plain")
    src = {"Bucket": bucket, "Key": "self"}
    # Without a change S3 refuses: "copy an object to itself without changing ...".
    expect_error(s3.copy_object, Bucket=bucket, Key="self", CopySource=src,
                 code="InvalidRequest", status=400)
    s3.copy_object(Bucket=bucket, Key="self", CopySource=src, MetadataDirective="REPLACE",
                   Metadata={"v": "2"}, ContentType="text/markdown")
    got = s3.get_object(Bucket=bucket, Key="self")
    assert got["Body"].read() == b"same bytes"
    assert got["Metadata"] == {"v": "2"}
    assert got["ContentType"] == "text/markdown"


# ==========================================================================
# Listing
# ==========================================================================

LIST_KEYS = sorted([
    "a/1.txt", "a/2.txt", "a/b/3.txt", "a/b/4.txt", "b/1.txt", "c.txt",
    "d e.txt", "plus+sign", "zeta/x", "zeta/y", "zz", "ü/ñ.txt",
])
# Top level with delimiter "/": keys and common prefixes, interleaved in order.
TOP_LEVEL = sorted(["a/", "b/", "c.txt", "d e.txt", "plus+sign", "zeta/", "zz", "ü/"])


@pytest.fixture
def listing(s3, bucket):
    for k in LIST_KEYS:
        put(s3, bucket, k, k.encode())
    return bucket


def test_list_v2_all_keys_sizes_etags(s3, listing):
    resp = s3.list_objects_v2(Bucket=listing)
    assert [o["Key"] for o in resp["Contents"]] == LIST_KEYS
    assert resp["KeyCount"] == len(LIST_KEYS)
    assert resp["IsTruncated"] is False
    for o in resp["Contents"]:
        assert o["Size"] == len(o["Key"].encode())
        assert o["ETag"] == etag_of(o["Key"].encode())
        assert "Owner" not in o  # only with FetchOwner


def test_list_v2_prefix_and_delimiter(s3, listing):
    resp = s3.list_objects_v2(Bucket=listing, Prefix="a/")
    assert [o["Key"] for o in resp["Contents"]] == ["a/1.txt", "a/2.txt", "a/b/3.txt", "a/b/4.txt"]
    assert "CommonPrefixes" not in resp

    resp = s3.list_objects_v2(Bucket=listing, Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["c.txt", "d e.txt", "plus+sign", "zz"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["a/", "b/", "zeta/", "ü/"]
    assert resp["KeyCount"] == 8

    resp = s3.list_objects_v2(Bucket=listing, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["a/1.txt", "a/2.txt"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["a/b/"]

    resp = s3.list_objects_v2(Bucket=listing, Prefix="nothing-here/")
    assert resp["KeyCount"] == 0 and "Contents" not in resp


def test_list_v2_pagination_with_continuation_token(s3, listing):
    keys, pages, token = [], 0, None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        resp = s3.list_objects_v2(Bucket=listing, MaxKeys=5, **kwargs)
        pages += 1
        keys += [o["Key"] for o in resp["Contents"]]
        assert resp["MaxKeys"] == 5 and resp["KeyCount"] == len(resp["Contents"]) <= 5
        if not resp["IsTruncated"]:
            assert "NextContinuationToken" not in resp
            break
        token = resp["NextContinuationToken"]
        assert pages < 10
    assert keys == LIST_KEYS
    assert pages == 3


def test_list_v2_pagination_with_delimiter(s3, listing):
    entries, token = [], None
    for _ in range(10):
        kwargs = {"ContinuationToken": token} if token else {}
        resp = s3.list_objects_v2(Bucket=listing, Delimiter="/", MaxKeys=3, **kwargs)
        page = [o["Key"] for o in resp.get("Contents", [])] + [
            p["Prefix"] for p in resp.get("CommonPrefixes", [])
        ]
        assert len(page) == resp["KeyCount"] <= 3
        entries += sorted(page)
        if not resp["IsTruncated"]:
            break
        token = resp["NextContinuationToken"]
    assert entries == TOP_LEVEL


def test_list_v2_start_after(s3, listing):
    resp = s3.list_objects_v2(Bucket=listing, StartAfter="b/1.txt")
    assert [o["Key"] for o in resp["Contents"]] == LIST_KEYS[LIST_KEYS.index("b/1.txt") + 1 :]
    resp = s3.list_objects_v2(Bucket=listing, StartAfter="a/b/", Prefix="a/")
    assert [o["Key"] for o in resp["Contents"]] == ["a/b/3.txt", "a/b/4.txt"]
    resp = s3.list_objects_v2(Bucket=listing, StartAfter="\U0010ffff")
    assert resp["KeyCount"] == 0


def test_list_v1_marker_pagination(s3, listing):
    keys, marker = [], ""
    for _ in range(10):
        resp = s3.list_objects(Bucket=listing, MaxKeys=4, Marker=marker)
        got = [o["Key"] for o in resp["Contents"]]
        keys += got
        if not resp["IsTruncated"]:
            break
        marker = resp.get("NextMarker", got[-1])
    assert keys == LIST_KEYS

    # With a delimiter, NextMarker is returned on truncated pages.
    entries, marker = [], ""
    for _ in range(10):
        resp = s3.list_objects(Bucket=listing, Delimiter="/", MaxKeys=3, Marker=marker)
        entries += sorted([o["Key"] for o in resp.get("Contents", [])]
                          + [p["Prefix"] for p in resp.get("CommonPrefixes", [])])
        if not resp["IsTruncated"]:
            break
        marker = resp["NextMarker"]
        assert marker == entries[-1]
    assert entries == TOP_LEVEL

    resp = s3.list_objects(Bucket=listing, Prefix="zeta/", Marker="zeta/x")
    assert [o["Key"] for o in resp["Contents"]] == ["zeta/y"]
    assert resp["Contents"][0]["Owner"]["ID"]  # v1 always reports the owner


def _check_url_encoded(raw: list[str], expected: list[str]):
    assert [unquote_plus(k) for k in raw] == expected
    for k in raw:
        assert k.isascii() and " " not in k, k
    assert "plus+sign" not in raw  # a literal '+' must be escaped


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_list_encoding_type_url(s3, listing, version):
    call = s3.list_objects_v2 if version == "v2" else s3.list_objects
    # An explicit EncodingType makes botocore hand back the keys as sent.
    resp = call(Bucket=listing, EncodingType="url")
    assert resp["EncodingType"] == "url"
    _check_url_encoded([o["Key"] for o in resp["Contents"]], LIST_KEYS)

    resp = call(Bucket=listing, EncodingType="url", Delimiter="/")
    _check_url_encoded([p["Prefix"] for p in resp["CommonPrefixes"]], ["a/", "b/", "zeta/", "ü/"])
    _check_url_encoded([o["Key"] for o in resp["Contents"]], ["c.txt", "d e.txt", "plus+sign", "zz"])

    resp = call(Bucket=listing, EncodingType="url", Prefix="ü/")
    _check_url_encoded([o["Key"] for o in resp["Contents"]], ["ü/ñ.txt"])


def test_list_v2_fetch_owner(s3, listing):
    resp = s3.list_objects_v2(Bucket=listing, FetchOwner=True, MaxKeys=2)
    owners = {o["Owner"]["ID"] for o in resp["Contents"]}
    assert len(owners) == 1 and owners.pop()
    resp = s3.list_objects_v2(Bucket=listing, MaxKeys=2)
    assert all("Owner" not in o for o in resp["Contents"])


# ==========================================================================
# Multipart uploads
# ==========================================================================

PART = 5 * MiB


def test_list_parts_and_uploads(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mpu/a")["UploadId"]
    up_b = s3.create_multipart_upload(Bucket=bucket, Key="mpu/b")["UploadId"]
    up_other = s3.create_multipart_upload(Bucket=bucket, Key="other")["UploadId"]
    assert len({up, up_b, up_other}) == 3
    bodies = {1: b"one" * 100, 2: b"two" * 200, 3: b"three" * 300}
    for n, body in bodies.items():
        assert s3.upload_part(Bucket=bucket, Key="mpu/a", UploadId=up, PartNumber=n,
                              Body=body)["ETag"] == etag_of(body)

    parts = s3.list_parts(Bucket=bucket, Key="mpu/a", UploadId=up)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts["Parts"]] == [
        (n, etag_of(b), len(b)) for n, b in bodies.items()
    ]
    assert parts["IsTruncated"] is False
    first = s3.list_parts(Bucket=bucket, Key="mpu/a", UploadId=up, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    assert first["IsTruncated"] is True and first["NextPartNumberMarker"] == 2
    rest = s3.list_parts(Bucket=bucket, Key="mpu/a", UploadId=up, PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]

    # Re-uploading a part number replaces it.
    s3.upload_part(Bucket=bucket, Key="mpu/a", UploadId=up, PartNumber=2, Body=b"new two")
    parts = s3.list_parts(Bucket=bucket, Key="mpu/a", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 300), (2, 7), (3, 1500)]

    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert sorted((u["Key"], u["UploadId"]) for u in uploads) == sorted(
        [("mpu/a", up), ("mpu/b", up_b), ("other", up_other)]
    )
    uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix="mpu/")["Uploads"]
    assert sorted(u["Key"] for u in uploads) == ["mpu/a", "mpu/b"]
    # In-progress uploads are not objects.
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_abort_multipart_upload(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=up, PartNumber=1, Body=b"x" * 100)
    assert status_of(s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=up)) == 204
    expect_error(s3.list_parts, Bucket=bucket, Key="gone", UploadId=up, code="NoSuchUpload", status=404)
    expect_error(s3.upload_part, Bucket=bucket, Key="gone", UploadId=up, PartNumber=2, Body=b"y",
                 code="NoSuchUpload", status=404)
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="gone", UploadId=up,
                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag_of(b"x" * 100)}]},
                 code="NoSuchUpload", status=404)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not exists(s3, bucket, "gone")


def _upload_parts(s3, bucket, key, bodies):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=up,
                                                 PartNumber=n, Body=b)["ETag"]}
        for n, b in enumerate(bodies, 1)
    ]
    return up, parts


def test_complete_multipart_validation(s3, bucket):
    big1, big2, small = os.urandom(PART), os.urandom(PART), b"tail"

    up, parts = _upload_parts(s3, bucket, "v", [big1, big2, small])
    wrong = [parts[0], {"PartNumber": 2, "ETag": etag_of(b"not the part")}, parts[2]]
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="v", UploadId=up,
                 MultipartUpload={"Parts": wrong}, code="InvalidPart", status=400)
    missing = parts + [{"PartNumber": 4, "ETag": etag_of(b"never uploaded")}]
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="v", UploadId=up,
                 MultipartUpload={"Parts": missing}, code="InvalidPart", status=400)
    # Sizes are fine in either order (only the last part is small): order is the problem.
    swapped = [parts[1], parts[0], parts[2]]
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="v", UploadId=up,
                 MultipartUpload={"Parts": swapped}, code="InvalidPartOrder", status=400)
    assert not exists(s3, bucket, "v")
    # The upload survives failed completions.
    done = s3.complete_multipart_upload(Bucket=bucket, Key="v", UploadId=up,
                                        MultipartUpload={"Parts": parts})
    assert done["ETag"] == multipart_etag([big1, big2, small])
    assert get_body(s3, bucket, "v") == big1 + big2 + small

    up, parts = _upload_parts(s3, bucket, "small", [b"a" * 1024, b"b" * 1024])
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="small", UploadId=up,
                 MultipartUpload={"Parts": parts}, code="EntityTooSmall", status=400)
    assert not exists(s3, bucket, "small")


def test_complete_multipart_subset_of_parts(s3, bucket):
    p1, p2, p3 = os.urandom(PART), os.urandom(PART), b"end"
    up, parts = _upload_parts(s3, bucket, "subset", [p1, p2, p3])
    s3.complete_multipart_upload(Bucket=bucket, Key="subset", UploadId=up,
                                 MultipartUpload={"Parts": [parts[0], parts[2]]})
    head = s3.head_object(Bucket=bucket, Key="subset")
    assert head["ContentLength"] == len(p1) + len(p3)
    assert head["ETag"] == multipart_etag([p1, p3])
    assert get_body(s3, bucket, "subset") == p1 + p3
    # Parts are addressable with PartNumber.
    part1 = s3.get_object(Bucket=bucket, Key="subset", PartNumber=1)
    assert part1["Body"].read() == p1
    assert part1["PartsCount"] == 2
    assert part1["ContentRange"] == f"bytes 0-{PART - 1}/{PART + 3}"
    # A part number beyond the object's parts: AWS answers 400 InvalidPart.
    expect_error(s3.get_object, Bucket=bucket, Key="subset", PartNumber=3,
                 code="InvalidPart", status=400)


def test_complete_with_a_part_listed_twice(s3, bucket):
    # A client that uploaded part 1 twice and kept both answers: the last entry counts.
    up, parts = _upload_parts(s3, bucket, "twice", [b"first try"])
    again = s3.upload_part(Bucket=bucket, Key="twice", UploadId=up, PartNumber=1,
                           Body=b"second try")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="twice", UploadId=up, MultipartUpload={
        "Parts": [parts[0], {"PartNumber": 1, "ETag": again}]})
    assert get_body(s3, bucket, "twice") == b"second try"


def test_upload_part_copy_with_ranges(s3, bucket):
    source = os.urandom(2 * PART + 12345)
    put(s3, bucket, "source.bin", source)
    up = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    parts = []
    # Two 5 MiB ranges of the source (non-final parts must be >= 5 MiB)...
    for n, (a, b) in enumerate([(PART, 2 * PART - 1), (0, PART - 1)], 1):
        resp = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=up, PartNumber=n,
                                   CopySource={"Bucket": bucket, "Key": "source.bin"},
                                   CopySourceRange=f"bytes={a}-{b}")
        assert resp["CopyPartResult"]["ETag"] == etag_of(source[a : b + 1])
        parts.append({"PartNumber": n, "ETag": resp["CopyPartResult"]["ETag"]})
    # ...and a whole small object as the final part.
    put(s3, bucket, "tail", b"--tail--")
    resp = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=up, PartNumber=3,
                               CopySource={"Bucket": bucket, "Key": "tail"})
    assert resp["CopyPartResult"]["ETag"] == etag_of(b"--tail--")
    parts.append({"PartNumber": 3, "ETag": resp["CopyPartResult"]["ETag"]})
    expect_error(s3.upload_part_copy, Bucket=bucket, Key="assembled", UploadId=up, PartNumber=4,
                 CopySource={"Bucket": bucket, "Key": "source.bin"},
                 CopySourceRange=f"bytes={len(source)}-{len(source) + 10}",
                 code={"InvalidArgument", "InvalidRange"}, status={400, 416})
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=up,
                                 MultipartUpload={"Parts": parts})
    expected = source[PART : 2 * PART] + source[:PART] + b"--tail--"
    assert get_body(s3, bucket, "assembled") == expected


# ==========================================================================
# Conditional writes
# ==========================================================================


def test_put_if_none_match(s3, bucket):
    put(s3, bucket, "once", b"first", IfNoneMatch="*")
    expect_error(put, s3, bucket, "once", b"second", IfNoneMatch="*",
                 code="PreconditionFailed", status=412)
    assert get_body(s3, bucket, "once") == b"first"


def test_put_if_match(s3, bucket):
    etag = put(s3, bucket, "cas", b"v1")["ETag"]
    expect_error(put, s3, bucket, "cas", b"v2", IfMatch=etag_of(b"something else"),
                 code="PreconditionFailed", status=412)
    assert get_body(s3, bucket, "cas") == b"v1"
    assert put(s3, bucket, "cas", b"v2", IfMatch=etag)["ETag"] == etag_of(b"v2")
    assert get_body(s3, bucket, "cas") == b"v2"
    expect_error(put, s3, bucket, "absent", b"v1", IfMatch=etag, code="NoSuchKey", status=404)


def test_complete_multipart_if_none_match(s3, bucket):
    put(s3, bucket, "exists", b"already here")
    up, parts = _upload_parts(s3, bucket, "exists", [b"new content"])
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="exists", UploadId=up,
                 MultipartUpload={"Parts": parts}, IfNoneMatch="*",
                 code="PreconditionFailed", status=412)
    assert get_body(s3, bucket, "exists") == b"already here"

    up, parts = _upload_parts(s3, bucket, "fresh", [b"new content"])
    s3.complete_multipart_upload(Bucket=bucket, Key="fresh", UploadId=up,
                                 MultipartUpload={"Parts": parts}, IfNoneMatch="*")
    assert get_body(s3, bucket, "fresh") == b"new content"


# ==========================================================================
# Checksums (over HTTP: headers; over HTTPS botocore uses aws-chunked trailers)
# ==========================================================================


def test_checksum_helpers_known_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888
    if crt_checksums is not None:
        data = os.urandom(1000)
        assert crc32c(data) == crt_checksums.crc32c(data)
        assert crc64nvme(data) == crt_checksums.crc64nvme(data)


CHECKSUM_BODY = b"checksummed object body\n" * 200


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_put_with_explicit_checksum(http_or_https, make_bucket, algorithm):
    s3, bucket = make_bucket(http_or_https)
    expected = checksum_b64(algorithm, CHECKSUM_BODY)
    resp = put(s3, bucket, "obj", CHECKSUM_BODY, **{f"Checksum{algorithm}": expected})
    assert resp[f"Checksum{algorithm}"] == expected
    head = s3.head_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected
    assert head.get("ChecksumType") == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == expected
    assert got["Body"].read() == CHECKSUM_BODY
    # Not asked for, not sent.
    plain = s3.head_object(Bucket=bucket, Key="obj")
    assert f"Checksum{algorithm}" not in plain


@pytest.mark.parametrize("algorithm", BOTOCORE_ALGORITHMS)
def test_put_with_sdk_computed_checksum(http_or_https, make_bucket, algorithm):
    s3, bucket = make_bucket(http_or_https)
    sent = []
    s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(request))
    put(s3, bucket, "obj", CHECKSUM_BODY, ChecksumAlgorithm=algorithm)
    hdrs = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in sent[0].headers.items()}
    if http_or_https.is_https:
        assert hdrs["x-amz-content-sha256"] == STREAMING_UNSIGNED_TRAILER
        assert hdrs["x-amz-trailer"] == f"x-amz-checksum-{algorithm.lower()}"
    else:
        assert f"x-amz-checksum-{algorithm.lower()}" in hdrs
    expected = checksum_b64(algorithm, CHECKSUM_BODY)
    head = s3.head_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected
    assert get_body(s3, bucket, "obj", ChecksumMode="ENABLED") == CHECKSUM_BODY


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_put_with_wrong_checksum_rejected(s3, bucket, algorithm):
    wrong = checksum_b64(algorithm, b"a different body")
    expect_error(put, s3, bucket, "obj", CHECKSUM_BODY, **{f"Checksum{algorithm}": wrong},
                 code={"BadDigest", "XAmzContentChecksumMismatch"}, status=400)
    assert not exists(s3, bucket, "obj")


@pytest.mark.parametrize("correct", [True, False], ids=["good-trailer", "bad-trailer"])
def test_raw_aws_chunked_trailer(https_server, make_bucket, correct):
    """Hand-built STREAMING-UNSIGNED-PAYLOAD-TRAILER upload, trailer checked."""
    s3, bucket = make_bucket(https_server)
    data = os.urandom(200_000)
    value = checksum_b64("CRC32", data if correct else data[:-1])
    body = aws_chunked(data, "x-amz-checksum-crc32", value)
    resp = raw_request(
        https_server, "PUT", f"/{bucket}/chunked",
        headers={"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                 "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm": "CRC32"},
        body=body, payload_hash=STREAMING_UNSIGNED_TRAILER,
    )
    if correct:
        assert resp.status == 200, resp.body
        assert resp.headers["etag"] == etag_of(data)
        got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
        assert got["Body"].read() == data
        assert got["ChecksumCRC32"] == value
        assert got.get("ContentEncoding") in (None, "")  # aws-chunked is not stored
    else:
        assert resp.status == 400, resp.body
        assert resp.error_code in ("BadDigest", "XAmzContentChecksumMismatch")
        assert not exists(s3, bucket, "chunked")


def test_multipart_composite_crc32(http_or_https, make_bucket):
    s3, bucket = make_bucket(http_or_https)
    bodies = [os.urandom(PART), os.urandom(MiB + 7)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32")["UploadId"]
    parts = []
    for n, body in enumerate(bodies, 1):
        resp = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=n, Body=body,
                              ChecksumAlgorithm="CRC32")
        assert resp["ChecksumCRC32"] == checksum_b64("CRC32", body)
        parts.append({"PartNumber": n, "ETag": resp["ETag"], "ChecksumCRC32": resp["ChecksumCRC32"]})
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=up)["Parts"]
    assert [p.get("ChecksumCRC32") for p in listed] == [p["ChecksumCRC32"] for p in parts]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up,
                                        MultipartUpload={"Parts": parts})
    expected = composite_checksum_b64("CRC32", bodies)
    assert expected.endswith("-2")
    assert done["ChecksumCRC32"] == expected
    head = s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == expected
    assert head.get("ChecksumType") == "COMPOSITE"
    assert head["ETag"] == multipart_etag(bodies)
    assert get_body(s3, bucket, "mp", ChecksumMode="ENABLED") == b"".join(bodies)


def test_multipart_full_object_crc32(http_or_https, make_bucket):
    s3, bucket = make_bucket(http_or_https)
    bodies = [os.urandom(PART), os.urandom(2 * MiB + 3)]
    whole = b"".join(bodies)
    up = s3.create_multipart_upload(Bucket=bucket, Key="fo", ChecksumAlgorithm="CRC32",
                                    ChecksumType="FULL_OBJECT")["UploadId"]
    parts = []
    for n, body in enumerate(bodies, 1):
        resp = s3.upload_part(Bucket=bucket, Key="fo", UploadId=up, PartNumber=n, Body=body,
                              ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": n, "ETag": resp["ETag"], "ChecksumCRC32": resp["ChecksumCRC32"]})
    expected = checksum_b64("CRC32", whole)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="fo", UploadId=up,
                                        MultipartUpload={"Parts": parts},
                                        ChecksumCRC32=expected, ChecksumType="FULL_OBJECT")
    assert done["ChecksumCRC32"] == expected
    head = s3.head_object(Bucket=bucket, Key="fo", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == expected
    assert head.get("ChecksumType") == "FULL_OBJECT"
    assert get_body(s3, bucket, "fo", ChecksumMode="ENABLED") == whole


def test_multipart_full_object_wrong_checksum_rejected(s3, bucket):
    body = os.urandom(1000)
    up = s3.create_multipart_upload(Bucket=bucket, Key="fo", ChecksumAlgorithm="CRC32",
                                    ChecksumType="FULL_OBJECT")["UploadId"]
    resp = s3.upload_part(Bucket=bucket, Key="fo", UploadId=up, PartNumber=1, Body=body,
                          ChecksumAlgorithm="CRC32")
    parts = [{"PartNumber": 1, "ETag": resp["ETag"], "ChecksumCRC32": resp["ChecksumCRC32"]}]
    expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="fo", UploadId=up,
                 MultipartUpload={"Parts": parts}, ChecksumType="FULL_OBJECT",
                 ChecksumCRC32=checksum_b64("CRC32", body + b"!"),
                 code={"BadDigest", "InvalidRequest"}, status=400)
    assert not exists(s3, bucket, "fo")


def test_upload_part_wrong_checksum_rejected(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="p", ChecksumAlgorithm="SHA256")["UploadId"]
    expect_error(s3.upload_part, Bucket=bucket, Key="p", UploadId=up, PartNumber=1, Body=b"part",
                 ChecksumSHA256=checksum_b64("SHA256", b"other"),
                 code={"BadDigest", "XAmzContentChecksumMismatch"}, status=400)
    assert s3.list_parts(Bucket=bucket, Key="p", UploadId=up).get("Parts", []) == []


def test_upload_file_download_file_20mib(http_or_https, make_bucket, tmp_path):
    s3, bucket = make_bucket(http_or_https)
    src, dst = tmp_path / "big.bin", tmp_path / "big.out"
    data = os.urandom(20 * MiB)
    src.write_bytes(data)
    s3.upload_file(str(src), bucket, "big.bin")  # s3transfer: 8 MiB parts, CRC32
    head = s3.head_object(Bucket=bucket, Key="big.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    assert head["ETag"] == multipart_etag([data[:8 * MiB], data[8 * MiB:16 * MiB], data[16 * MiB:]])
    s3.download_file(bucket, "big.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_upload_empty_file_then_another_on_same_connection(server, bucket, tmp_path, caplog):
    """botocore sends ``Expect: 100-continue`` for every file upload. If the
    server answers an empty-bodied one with a final response and no
    ``100 Continue`` first (RFC-legal), botocore keeps that stale status line
    for the pooled connection and misparses the next upload's response
    (urllib3: "Failed to parse headers"); aws-cli then stalls for its read
    timeout (aws s3 sync of a tree with an empty file). S3 sends 100 Continue."""
    s3 = server.client(read_timeout=5)  # one client: the uploads share a pooled connection
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "full").write_bytes(b"x" * 4096)
    with caplog.at_level("WARNING", logger="urllib3.connection"):
        for name in ("empty", "full", "empty", "full"):
            s3.upload_file(str(tmp_path / name), bucket, name)
    bad = [r.getMessage()[:200] for r in caplog.records if "Failed to parse headers" in r.getMessage()]
    assert bad == []
    assert get_body(s3, bucket, "empty") == b""
    assert get_body(s3, bucket, "full") == b"x" * 4096


# ==========================================================================
# Authentication and request ids
# ==========================================================================


def _put_with_headers(server, bucket, headers):
    """PutObject with headers set before botocore signs (as s3-tests' header tests do)."""
    s3 = server.client()
    s3.meta.events.register("before-call.s3.PutObject",
                            lambda params, **_: params["headers"].update(headers))
    return s3.put_object(Bucket=bucket, Key="hdr", Body=b"bar")


def test_sigv4_time_from_the_date_header(server, bucket):
    # botocore then signs `Date` and sends no x-amz-date; SigV4 takes the time from `Date`.
    date = email.utils.formatdate(usegmt=False)
    resp = _put_with_headers(server, bucket, {"Date": date, "X-Amz-Date": date})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert get_body(server.client(), bucket, "hdr") == b"bar"


def test_empty_content_md5_is_invalid(server, bucket):
    expect_error(_put_with_headers, server, bucket, {"Content-MD5": ""},
                 code="InvalidDigest", status=400)


def test_wrong_secret_key(server):
    s3 = server.client(secret_key="not-the-secret")
    expect_error(s3.list_buckets, code="SignatureDoesNotMatch", status=403)


def test_unknown_access_key(server):
    s3 = server.client(access_key="AKIDONTKNOWTHISKEY", secret_key="whatever-secret")
    expect_error(s3.list_buckets, code="InvalidAccessKeyId", status=403)


def test_anonymous_requests_denied(server, s3, bucket):
    put(s3, bucket, "private", b"private bytes")
    anon = server.client(signature_version=UNSIGNED)
    expect_error(anon.list_buckets, code="AccessDenied", status=403)
    expect_error(anon.list_objects_v2, Bucket=bucket, code="AccessDenied", status=403)
    expect_error(anon.get_object, Bucket=bucket, Key="private", code="AccessDenied", status=403)
    expect_error(anon.put_object, Bucket=bucket, Key="anon", Body=b"x", code="AccessDenied", status=403)
    assert not exists(s3, bucket, "anon")


def test_request_id_on_success_and_error(server, s3, bucket):
    put(s3, bucket, "rid", b"request id")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "rid"})
    ok = requests.get(url, timeout=30)
    assert ok.status_code == 200 and ok.content == b"request id"
    assert ok.headers.get("x-amz-request-id")

    denied = requests.get(server.endpoint + "/", timeout=30)
    assert denied.status_code == 403
    assert denied.headers.get("x-amz-request-id")
    assert xml_error_code(denied.content) == "AccessDenied"

    missing = requests.get(
        s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "nope"}), timeout=30
    )
    assert missing.status_code == 404
    assert xml_error_code(missing.content) == "NoSuchKey"
    assert missing.headers.get("x-amz-request-id")
    assert missing.headers["x-amz-request-id"] != ok.headers["x-amz-request-id"]

    err = expect_error(s3.head_object, Bucket=bucket, Key="nope", code="404", status=404)
    assert err.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id")


def test_payload_hash_mismatch_rejected(server, s3, bucket):
    resp = raw_request(server, "PUT", f"/{bucket}/tampered", body=b"actual body",
                       payload_hash=hashlib.sha256(b"claimed body").hexdigest())
    assert resp.status == 400, resp.body
    assert resp.error_code == "XAmzContentSHA256Mismatch"
    assert not exists(s3, bucket, "tampered")
    # The same signer, honest this time, works (so the failure above is meaningful).
    assert raw_request(server, "PUT", f"/{bucket}/honest", body=b"actual body").status == 200
    assert get_body(s3, bucket, "honest") == b"actual body"


def test_request_time_too_skewed(server, bucket):
    resp = raw_request(server, "GET", f"/{bucket}",
                       now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    assert resp.status == 403
    assert resp.error_code == "RequestTimeTooSkewed"


# ==========================================================================
# Malformed input (the server must answer with 4xx and keep running)
# ==========================================================================


def test_key_too_long(s3, bucket):
    expect_error(put, s3, bucket, "k" * 1025, code="KeyTooLongError", status=400)
    key = "k" * 1024  # the limit itself is fine
    put(s3, bucket, key, b"max")
    assert get_body(s3, bucket, key) == b"max"


def test_nul_in_key_rejected(s3, bucket):
    try:
        put(s3, bucket, "nul\x00byte")
    except ClientError as err:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    else:
        raise AssertionError("a key with a NUL byte was accepted")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_key_with_c1_control_character_is_unparseable(s3, bucket):
    # U+008A is valid UTF-8 but a C1 control character; S3 cannot parse such a URI.
    for call in (s3.get_object, s3.put_object):
        err = expect_error(call, Bucket=bucket, Key="\xae\x8a-", code="InvalidURI", status=400)
        assert err.response["Error"]["Message"] == "Couldn't parse the specified URI."
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_presigned_url_with_negative_expiry_has_expired(s3, bucket):
    put(s3, bucket, "obj", b"x")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "obj"}, ExpiresIn=-7
    )
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 403, resp.text
    assert xml_error_code(resp.content) == "AccessDenied"


def _chunked_client(server):
    """A client whose uploads go out with Transfer-Encoding: chunked and no Content-Length."""
    s3 = server.client()

    def add_te(request, **_):
        request.headers.add_header("Transfer-Encoding", "chunked")

    s3.meta.events.register_first("before-sign.s3.PutObject", add_te)
    return s3


def test_put_without_content_length(server, bucket):
    s3 = _chunked_client(server)
    for size in (0, 3, 3 * MiB + 1):
        data = os.urandom(size)
        resp = s3.put_object(Bucket=bucket, Key="te", Body=data)
        assert resp["ETag"] == f'"{md5_hex(data)}"'
        assert get_body(s3, bucket, "te") == data


def test_put_without_content_length_over_the_limit(server, bucket):
    # Bodies of unknown length are read into memory to learn it, up to 16 MiB.
    expect_error(_chunked_client(server).put_object, Bucket=bucket, Key="big",
                 Body=b"\0" * (16 * MiB + 1), code="MissingContentLength", status=411)
    assert server.client().list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def _files_outside_volumes(server, names):
    base = server.volumes[0].parent
    vols = {v.resolve() for v in server.volumes}
    found = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if (Path(dirpath) / d).resolve() not in vols]
        found += [os.path.join(dirpath, f) for f in filenames if f in names]
    return found


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/../../b", "../" * 12 + "tmp/rustfs-e2e-escape"])
def test_dot_dot_keys_do_not_escape(server, s3, bucket, key):
    marker = f"dot-dot-{os.urandom(4).hex()}".encode()
    try:
        put(s3, bucket, key, marker)
    except ClientError as err:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400, err
    else:
        assert get_body(s3, bucket, key) == marker
        assert key in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert _files_outside_volumes(server, {"passwd", "b", "rustfs-e2e-escape"}) == []
    assert not Path("/tmp/rustfs-e2e-escape").exists()
    with open("/etc/passwd", "rb") as f:
        assert marker not in f.read()


def test_malformed_xml_bodies(server, s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="x")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="x", UploadId=up, PartNumber=1, Body=b"part")
    for body in (b"<CompleteMultipartUpload><Part>", b"not xml at all"):
        resp = raw_request(server, "POST", f"/{bucket}/x", query=[("uploadId", up)], body=body)
        assert resp.status == 400, (body, resp.status, resp.body)
        assert resp.error_code == "MalformedXML", (body, resp.body)
    assert not exists(s3, bucket, "x")

    put(s3, bucket, "survivor")
    for body in (b"<Delete><Object><Key>survivor</Key>", b"{\"json\": true}"):
        resp = raw_request(server, "POST", f"/{bucket}", query=[("delete", "")], body=body,
                           headers={"content-md5": md5_b64(body)})
        assert resp.status == 400, (body, resp.status, resp.body)
        assert resp.error_code == "MalformedXML", (body, resp.body)
    assert exists(s3, bucket, "survivor")


@pytest.mark.parametrize("part_number", [0, 10001, -1])
def test_invalid_part_numbers(server, bucket, part_number):
    s3 = server.client(parameter_validation=False)
    up = s3.create_multipart_upload(Bucket=bucket, Key="pn")["UploadId"]
    expect_error(s3.upload_part, Bucket=bucket, Key="pn", UploadId=up, PartNumber=part_number,
                 Body=b"x", code="InvalidArgument", status=400)
    assert s3.list_parts(Bucket=bucket, Key="pn", UploadId=up).get("Parts", []) == []


@pytest.mark.parametrize("spec", ["bytes=abc", "bytes=5-2", "items=0-1", "bytes=--1"])
def test_unparseable_range_ignored_or_416(s3, bucket, spec):
    put(s3, bucket, "r", RANGE_DATA)
    try:
        resp = s3.get_object(Bucket=bucket, Key="r", Range=spec)
    except ClientError as err:
        # S3 ignores an unparseable Range. RustFS answers 400 InvalidArgument instead: the
        # header is signed, so it cannot be dropped before s3s (which rejects it) parses it.
        status = err.response["ResponseMetadata"]["HTTPStatusCode"]
        code = err.response["Error"]["Code"]
        assert (status, code) in {(416, "InvalidRange"), (400, "InvalidArgument")}, err
    else:
        assert status_of(resp) == 200  # ignored, as S3 does
        assert resp["Body"].read() == RANGE_DATA


def test_unknown_query_and_garbage_requests(server, bucket):
    resp = raw_request(server, "GET", "/%ZZbad-escape")
    assert 400 <= resp.status < 500
    resp = raw_request(server, "POST", f"/{bucket}", body=b"random post")
    # A browser-form POST that is not multipart/form-data: a 4xx, or an honest
    # 501 NotImplemented while POST Object is not supported.
    assert 400 <= resp.status < 500 or (resp.status, resp.error_code) == (501, "NotImplemented"), (
        resp.status, resp.body)
    assert resp.headers.get("x-amz-request-id")


def test_server_still_answers(server, s3):
    """Runs after the malformed-input tests (file order)."""
    assert server.process.alive()
    assert status_of(s3.list_buckets()) == 200


def test_signed_streaming_chunks_are_verified(server, s3, bucket):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD (what the Java SDK v1 and others send over HTTP):
    good chunk signatures store the object; one altered chunk is refused and stores nothing."""
    from harness import signed_chunked_put

    data = os.urandom(200 * 1024 + 5)
    ok = signed_chunked_put(server, f"/{bucket}/signed-chunks", data)
    assert ok.status == 200, ok.body
    assert ok.headers["etag"].strip('"') == hashlib.md5(data).hexdigest()
    assert s3.get_object(Bucket=bucket, Key="signed-chunks")["Body"].read() == data

    bad = signed_chunked_put(server, f"/{bucket}/tampered-chunks", data, tamper_chunk=1)
    assert bad.status == 403, bad.body
    assert bad.error_code == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="tampered-chunks")
    assert e.value.response["Error"]["Code"] == "404"


def test_versioning_is_reported_off_and_objects_list_as_null_versions(s3, bucket):
    """Tools (and the s3-tests teardown) ask for versioning state and list versions even on
    unversioned buckets: S3 answers no Status, and each object as its one version "null"."""
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    for k in ["a/1", "a/2", "b", "c/x/y"]:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    r = s3.list_object_versions(Bucket=bucket)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in r["Versions"]] == [
        (k, "null", True) for k in ["a/1", "a/2", "b", "c/x/y"]
    ]
    assert r["Versions"][2]["Size"] == 1 and r["Versions"][2]["ETag"].strip('"') == hashlib.md5(b"b").hexdigest()
    r = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [v["Key"] for v in r["Versions"]] == ["b"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "c/"]
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=2)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "a/2" and page["NextVersionIdMarker"] == "null"
    rest = s3.list_object_versions(Bucket=bucket, KeyMarker=page["NextKeyMarker"], VersionIdMarker="null")
    assert [v["Key"] for v in rest["Versions"]] == ["b", "c/x/y"]
    # The s3-tests teardown: delete every listed version with VersionId null.
    objs = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    s3.delete_objects(Bucket=bucket, Delete={"Objects": objs})
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_versioning(Bucket="no-such-bucket-here")
    assert e.value.response["Error"]["Code"] == "NoSuchBucket"
