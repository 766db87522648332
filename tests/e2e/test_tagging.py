"""Object and bucket tagging, checked with boto3 against the real server: the tagging
APIs, ``x-amz-tagging`` on PUT / multipart / copy, ``x-amz-tagging-count``, and S3's limits.
"""

from __future__ import annotations

import pytest

from harness import MiB, expect_error


def tagset(pairs):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}


def tags_of(s3, bucket, key):
    return [(t["Key"], t["Value"]) for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]]


def test_put_get_delete_object_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert tags_of(s3, bucket, "k") == []
    head = s3.head_object(Bucket=bucket, Key="k")
    assert "x-amz-tagging-count" not in head["ResponseMetadata"]["HTTPHeaders"]

    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset([("b", "2"), ("a", "1")]))
    # S3 returns tags sorted by key.
    assert tags_of(s3, bucket, "k") == [("a", "1"), ("b", "2")]
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["TagCount"] == 2
    # Tagging is metadata only: the bytes and ETag stay.
    assert got["Body"].read() == b"data"
    assert got["ETag"] == head["ETag"]

    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset([("c", "")]))
    assert tags_of(s3, bucket, "k") == [("c", "")]

    resp = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(s3, bucket, "k") == []


def test_tagging_missing_object_or_bucket(s3, bucket):
    expect_error(s3.get_object_tagging, Bucket=bucket, Key="nope", code="NoSuchKey", status=404)
    expect_error(
        s3.put_object_tagging, Bucket=bucket, Key="nope", Tagging=tagset([("a", "b")]),
        code="NoSuchKey", status=404,
    )
    expect_error(
        s3.get_object_tagging, Bucket=bucket + "-missing", Key="k", code="NoSuchBucket", status=404
    )


def test_tagging_survives_a_large_object(s3, bucket):
    data = b"x" * (3 * MiB)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    s3.put_object_tagging(Bucket=bucket, Key="big", Tagging=tagset([("t", "v")]))
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == data


@pytest.mark.parametrize(
    "pairs",
    [
        [(f"k{i}", "v") for i in range(11)],  # more than 10 tags
        [("k" * 129, "v")],  # key longer than 128
        [("k", "v" * 257)],  # value longer than 256
        [("a", "1"), ("a", "2")],  # duplicate key
        [("aws:reserved", "v")],
    ],
)
def test_invalid_object_tags_are_refused(s3, bucket, pairs):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(
        s3.put_object_tagging, Bucket=bucket, Key="k", Tagging=tagset(pairs),
        code="InvalidTag", status=400,
    )
    assert tags_of(s3, bucket, "k") == []


def test_limits_are_inclusive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    pairs = [(f"{i}" + "é" * 127, "ü" * 256) for i in range(10)]
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset(pairs))
    assert tags_of(s3, bucket, "k") == sorted(pairs)


def test_put_object_with_tagging_header(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="foo=bar&bar&sp%20ace=a+b")
    assert tags_of(s3, bucket, "k") == [("bar", ""), ("foo", "bar"), ("sp ace", "a b")]
    expect_error(
        s3.put_object, Bucket=bucket, Key="bad", Body=b"x", Tagging="a=%zz",
        code="InvalidArgument", status=400,
    )
    expect_error(
        s3.put_object, Bucket=bucket, Key="bad", Body=b"x",
        Tagging="&".join(f"k{i}=v" for i in range(11)), code="InvalidTag", status=400,
    )
    expect_error(s3.head_object, Bucket=bucket, Key="bad", code="404", status=404)


def test_multipart_upload_applies_tags_at_completion(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="Hello=World&foo=bar")
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"p")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert tags_of(s3, bucket, "mp") == [("Hello", "World"), ("foo", "bar")]


def test_copy_tagging_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    src = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=src)
    assert tags_of(s3, bucket, "copied") == [("a", "1")]
    s3.copy_object(
        Bucket=bucket, Key="replaced", CopySource=src, TaggingDirective="REPLACE", Tagging="b=2"
    )
    assert tags_of(s3, bucket, "replaced") == [("b", "2")]
    s3.copy_object(Bucket=bucket, Key="cleared", CopySource=src, TaggingDirective="REPLACE")
    assert tags_of(s3, bucket, "cleared") == []


def test_overwrite_drops_old_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="a=1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    assert tags_of(s3, bucket, "k") == []


def test_bucket_tagging(s3, bucket):
    expect_error(s3.get_bucket_tagging, Bucket=bucket, code="NoSuchTagSet", status=404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tagset([("Hello", "World"), ("a", "")]))
    got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert [(t["Key"], t["Value"]) for t in got] == [("Hello", "World"), ("a", "")]

    s3.put_bucket_tagging(Bucket=bucket, Tagging=tagset([(f"k{i:02}", "v") for i in range(50)]))
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50
    expect_error(
        s3.put_bucket_tagging, Bucket=bucket, Tagging=tagset([(f"k{i}", "v") for i in range(51)]),
        code="InvalidTag", status=400,
    )
    resp = s3.delete_bucket_tagging(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3.get_bucket_tagging, Bucket=bucket, code="NoSuchTagSet", status=404)
    expect_error(
        s3.get_bucket_tagging, Bucket=bucket + "-missing", code="NoSuchBucket", status=404
    )
