"""Bucket versioning against the real server with boto3: the versioning state, versions
kept and read by id, delete markers, deleting one version, the suspended state's ``null``
version, copies of a version, DeleteObjects with version ids, ListObjectVersions and its
pagination, conditional writes against the current version, and DeleteBucket.
"""

from __future__ import annotations

import pytest

from harness import MiB, expect_error


def enable(s3, bucket, status="Enabled"):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def body_of(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


def all_versions(s3, bucket, **kw):
    """(key, version id, is latest, is delete marker) in listing order, all pages."""
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, **kw):
        entries = [(v, False) for v in page.get("Versions", [])]
        entries += [(m, True) for m in page.get("DeleteMarkers", [])]
        # A page lists versions and markers apart; S3 orders them by key, newest first (the
        # latest first; times have only second precision).
        entries.sort(
            key=lambda e: (e[0]["Key"], not e[0]["IsLatest"], -e[0]["LastModified"].timestamp())
        )
        out += [(e["Key"], e["VersionId"], e["IsLatest"], dm) for e, dm in entries]
    return out


def test_state_starts_unset_and_never_returns_to_unversioned(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    enable(s3, bucket)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    enable(s3, bucket, "Suspended")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    expect_error(
        s3.put_bucket_versioning,
        Bucket=bucket,
        VersioningConfiguration={"Status": "Off"},
        code="MalformedXML",
        status=400,
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_versions_are_kept_and_read_by_id(s3, bucket):
    enable(s3, bucket)
    big = b"x" * (MiB + 3)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=big)["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and v1 not in ("", "null")
    assert body_of(s3, bucket, "k") == b"two"
    assert body_of(s3, bucket, "k", VersionId=v1) == big
    head = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
    assert head["VersionId"] == v1 and head["ContentLength"] == len(big)
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == v2
    expect_error(
        s3.get_object, Bucket=bucket, Key="k", VersionId="0" * 32, code="NoSuchVersion", status=404
    )
    # Tags and ACLs address one version.
    s3.put_object_tagging(
        Bucket=bucket, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "a", "Value": "1"}]}
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["TagSet"] == [
        {"Key": "a", "Value": "1"}
    ]
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=v1, ACL="public-read")
    assert len(s3.get_object_acl(Bucket=bucket, Key="k", VersionId=v1)["Grants"]) == 2
    assert len(s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]) == 1
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="k", VersionId=v1, ObjectAttributes=["ObjectSize"]
    )
    assert attrs["ObjectSize"] == len(big) and attrs["VersionId"] == v1
    assert all_versions(s3, bucket) == [("k", v2, True, False), ("k", v1, False, False)]


def test_delete_marker_hides_the_key_and_deleting_versions_promotes(s3, bucket):
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    gone = s3.delete_object(Bucket=bucket, Key="k")
    assert gone["DeleteMarker"] is True
    marker = gone["VersionId"]
    err = expect_error(s3.get_object, Bucket=bucket, Key="k", code="NoSuchKey", status=404)
    headers = err.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true"
    assert headers["x-amz-version-id"] == marker
    err = expect_error(s3.head_object, Bucket=bucket, Key="k", code="404", status=404)
    assert err.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    expect_error(
        s3.get_object,
        Bucket=bucket,
        Key="k",
        VersionId=marker,
        code="MethodNotAllowed",
        status=405,
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    expect_error(s3.delete_bucket, Bucket=bucket, code="BucketNotEmpty", status=409)

    # Removing the marker brings v2 back; removing v2 brings v1 back.
    undo = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert undo["DeleteMarker"] is True and undo["VersionId"] == marker
    assert body_of(s3, bucket, "k") == b"two"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert body_of(s3, bucket, "k") == b"one"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    assert all_versions(s3, bucket) == []
    expect_error(s3.get_object, Bucket=bucket, Key="k", code="NoSuchKey", status=404)


def test_suspended_writes_replace_only_the_null_version(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    enable(s3, bucket)
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    assert body_of(s3, bucket, "k", VersionId="null") == b"before"
    enable(s3, bucket, "Suspended")
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"suspended")
    assert "VersionId" not in put
    assert body_of(s3, bucket, "k", VersionId="null") == b"suspended"
    assert [(e[1], e[2]) for e in all_versions(s3, bucket)] == [("null", True), (v, False)]
    gone = s3.delete_object(Bucket=bucket, Key="k")
    assert gone["DeleteMarker"] is True and gone["VersionId"] == "null"
    assert all_versions(s3, bucket) == [("k", "null", True, True), ("k", v, False, False)]
    assert body_of(s3, bucket, "k", VersionId=v) == b"versioned"


def test_multipart_and_copy_make_versions(s3, bucket):
    enable(s3, bucket)
    old = s3.put_object(Bucket=bucket, Key="src", Body=b"old source")["VersionId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"new source")
    copy = s3.copy_object(
        Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": old}
    )
    assert copy["CopySourceVersionId"] == old and copy["VersionId"]
    assert body_of(s3, bucket, "dst") == b"old source"

    up = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    part = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=up,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src", "VersionId": old},
    )
    assert part["CopySourceVersionId"] == old
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )
    assert done["VersionId"] not in (copy["VersionId"], None)
    assert body_of(s3, bucket, "dst") == b"old source"
    assert len([v for v in all_versions(s3, bucket) if v[0] == "dst"]) == 2
    assert body_of(s3, bucket, "dst", VersionId=copy["VersionId"]) == b"old source"


def test_delete_objects_with_version_ids(s3, bucket):
    enable(s3, bucket)
    va = s3.put_object(Bucket=bucket, Key="a", Body=b"a")["VersionId"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    resp = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "a", "VersionId": va}, {"Key": "b"}]},
    )
    deleted = {d["Key"]: d for d in resp["Deleted"]}
    assert deleted["a"]["VersionId"] == va and "DeleteMarker" not in deleted["a"]
    assert deleted["b"]["DeleteMarker"] is True and deleted["b"]["DeleteMarkerVersionId"]
    listed = all_versions(s3, bucket)
    assert [(k, latest, dm) for k, _, latest, dm in listed] == [
        ("b", True, True),
        ("b", False, False),
    ]


def test_list_object_versions_paginates_and_groups_prefixes(s3, bucket):
    enable(s3, bucket)
    for key in ["a", "b", "a", "dir/x", "a", "dir/y"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    full = all_versions(s3, bucket)
    assert [k for k, *_ in full] == ["a", "a", "a", "b", "dir/x", "dir/y"]
    assert [latest for _, _, latest, _ in full] == [True, False, False, True, True, True]
    for max_keys in (1, 2, 4):
        assert all_versions(s3, bucket, PaginationConfig={"PageSize": max_keys}) == full
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=2)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "a"
    assert page["NextVersionIdMarker"] == full[1][1]
    page = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/"]
    assert len(page["Versions"]) == 4
    # botocore decodes the URL-encoded keys again.
    page = s3.list_object_versions(Bucket=bucket, Prefix="dir/", EncodingType="url")
    assert page["EncodingType"] == "url"
    assert [v["Key"] for v in page["Versions"]] == ["dir/x", "dir/y"]


@pytest.mark.parametrize("multipart", [False, True])
def test_conditional_writes_check_the_current_version(s3, bucket, multipart):
    enable(s3, bucket)

    def write(**cond):
        if not multipart:
            return s3.put_object(Bucket=bucket, Key="k", Body=b"v", **cond)
        up = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key="k", UploadId=up, PartNumber=1, Body=b"v")
        return s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            **cond,
        )

    etag = write(IfNoneMatch="*")["ETag"]
    expect_error(write, IfNoneMatch="*", code="PreconditionFailed", status=412)
    write(IfMatch=etag)
    # A delete marker counts as no object.
    s3.delete_object(Bucket=bucket, Key="k")
    write(IfNoneMatch="*")
