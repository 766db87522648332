"""Users, owners, ACLs, ownership controls and GetObjectAttributes, with two users (the root
key pair and one from a users file) and an anonymous client against one server process."""

from __future__ import annotations

import http.client
import time

import pytest

from harness import (
    ALT,
    MAIN_ID,
    MAIN_NAME,
    RustfsProcess,
    ServerStartError,
    checksum_b64,
    expect_error,
    purge_bucket,
    unique_name,
)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
MiB = 1024 * 1024


def grants_of(resp):
    return sorted(
        (g["Grantee"]["Type"], g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"])
        for g in resp["Grants"]
    )


def test_each_user_lists_only_its_buckets(main, alt, anon, new_bucket):
    mine = new_bucket(main)
    theirs = new_bucket(alt)
    listed = main.list_buckets()
    assert listed["Owner"] == {"ID": MAIN_ID, "DisplayName": MAIN_NAME}
    names = [b["Name"] for b in listed["Buckets"]]
    assert mine in names and theirs not in names
    listed = alt.list_buckets()
    assert listed["Owner"] == {"ID": ALT["user_id"], "DisplayName": ALT["display_name"]}
    assert [b["Name"] for b in listed["Buckets"]] == [theirs]
    expect_error(anon.list_buckets, code="AccessDenied", status=403)
    expect_error(alt.create_bucket, Bucket=mine, code="BucketAlreadyExists", status=409)
    main.head_bucket(Bucket=mine, ExpectedBucketOwner=MAIN_ID)
    expect_error(main.list_objects_v2, Bucket=mine, ExpectedBucketOwner=ALT["user_id"],
                 code="AccessDenied", status=403)


def test_listings_report_owners(main, new_bucket):
    b = new_bucket(main)
    main.put_object(Bucket=b, Key="k", Body=b"x")
    me = {"ID": MAIN_ID, "DisplayName": MAIN_NAME}
    assert main.list_objects(Bucket=b)["Contents"][0]["Owner"] == me
    assert "Owner" not in main.list_objects_v2(Bucket=b)["Contents"][0]
    assert main.list_objects_v2(Bucket=b, FetchOwner=True)["Contents"][0]["Owner"] == me
    up = main.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
    listed = main.list_multipart_uploads(Bucket=b)["Uploads"][0]
    assert listed["Owner"] == me and listed["Initiator"] == me
    parts = main.list_parts(Bucket=b, Key="mp", UploadId=up)
    assert parts["Owner"] == me and parts["Initiator"] == me
    main.abort_multipart_upload(Bucket=b, Key="mp", UploadId=up)


def test_private_bucket_denies_others(main, alt, anon, new_bucket):
    b = new_bucket(main)
    main.put_object(Bucket=b, Key="k", Body=b"secret")
    for client in (alt, anon):
        expect_error(client.list_objects_v2, Bucket=b, code="AccessDenied", status=403)
        expect_error(client.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)
        expect_error(client.put_object, Bucket=b, Key="n", Body=b"x", code="AccessDenied", status=403)
        expect_error(client.delete_object, Bucket=b, Key="k", code="AccessDenied", status=403)
        expect_error(client.get_bucket_acl, Bucket=b, code="AccessDenied", status=403)
    expect_error(alt.delete_bucket, Bucket=b, code="AccessDenied", status=403)
    # A missing key is not revealed to someone who may not list the bucket.
    expect_error(alt.get_object, Bucket=b, Key="missing", code="AccessDenied", status=403)
    expect_error(main.get_object, Bucket=b, Key="missing", code="NoSuchKey", status=404)
    assert main.get_object(Bucket=b, Key="k")["Body"].read() == b"secret"


def test_public_read_bucket_and_object(main, alt, anon, new_bucket):
    b = new_bucket(main, ACL="public-read")
    acl = main.get_bucket_acl(Bucket=b)
    assert acl["Owner"]["ID"] == MAIN_ID
    assert grants_of(acl) == [
        ("CanonicalUser", MAIN_ID, "FULL_CONTROL"),
        ("Group", ALL_USERS, "READ"),
    ]
    main.put_object(Bucket=b, Key="public", Body=b"p", ACL="public-read")
    main.put_object(Bucket=b, Key="private", Body=b"q")
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=b)["Contents"]] == ["private", "public"]
    assert anon.get_object(Bucket=b, Key="public")["Body"].read() == b"p"
    assert alt.head_object(Bucket=b, Key="public")["ContentLength"] == 1
    expect_error(anon.get_object, Bucket=b, Key="private", code="AccessDenied", status=403)
    expect_error(anon.put_object, Bucket=b, Key="n", Body=b"x", code="AccessDenied", status=403)
    expect_error(alt.put_object, Bucket=b, Key="n", Body=b"x", code="AccessDenied", status=403)
    # Making the object private again takes the grant away.
    main.put_object_acl(Bucket=b, Key="public", ACL="private")
    expect_error(anon.get_object, Bucket=b, Key="public", code="AccessDenied", status=403)


def test_public_read_write_bucket_objects_belong_to_the_writer(main, alt, anon, new_bucket):
    b = new_bucket(main, ACL="public-read-write")
    alt.put_object(Bucket=b, Key="by-alt", Body=b"a")
    acl = alt.get_object_acl(Bucket=b, Key="by-alt")
    assert acl["Owner"] == {"ID": ALT["user_id"], "DisplayName": ALT["display_name"]}
    # The bucket owner may not read a private object another user wrote...
    expect_error(main.get_object, Bucket=b, Key="by-alt", code="AccessDenied", status=403)
    # ...unless the writer grants it.
    alt.put_object(Bucket=b, Key="shared", Body=b"s", ACL="bucket-owner-full-control")
    assert main.get_object(Bucket=b, Key="shared")["Body"].read() == b"s"
    assert grants_of(main.get_object_acl(Bucket=b, Key="shared")) == [
        ("CanonicalUser", ALT["user_id"], "FULL_CONTROL"),
        ("CanonicalUser", MAIN_ID, "FULL_CONTROL"),
    ]
    anon.put_object(Bucket=b, Key="by-anon", Body=b"n")
    # Deleting is a bucket permission: the bucket owner may delete what others wrote.
    main.delete_object(Bucket=b, Key="by-alt")


def test_acl_bodies_headers_and_errors(main, alt, new_bucket):
    b = new_bucket(main)
    owner = main.get_bucket_acl(Bucket=b)["Owner"]
    main.put_bucket_acl(
        Bucket=b,
        AccessControlPolicy={
            "Owner": owner,
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": MAIN_ID}, "Permission": "FULL_CONTROL"},
                {"Grantee": {"Type": "CanonicalUser", "ID": ALT["user_id"]}, "Permission": "READ"},
            ],
        },
    )
    assert alt.list_objects_v2(Bucket=b)["KeyCount"] == 0
    expect_error(alt.put_object, Bucket=b, Key="k", Body=b"x", code="AccessDenied", status=403)
    main.put_bucket_acl(Bucket=b, GrantWrite=f'emailAddress="{ALT["email"]}"', GrantFullControl=f'id="{MAIN_ID}"')
    alt.put_object(Bucket=b, Key="k", Body=b"x")
    assert grants_of(main.get_bucket_acl(Bucket=b)) == [
        ("CanonicalUser", ALT["user_id"], "WRITE"),
        ("CanonicalUser", MAIN_ID, "FULL_CONTROL"),
    ]
    expect_error(main.put_bucket_acl, Bucket=b, GrantRead='id="nobody"', code="InvalidArgument", status=400)
    expect_error(
        main.put_bucket_acl, Bucket=b, GrantRead='emailAddress="nobody@example.com"',
        code="UnresolvableGrantByEmailAddress", status=400,
    )
    expect_error(main.put_bucket_acl, Bucket=b, ACL="public-read", GrantRead=f'id="{MAIN_ID}"',
                 code="InvalidRequest", status=400)


def test_ownership_controls(main, alt, new_bucket):
    b = new_bucket(main, ACL="public-read-write")
    expect_error(main.get_bucket_ownership_controls, Bucket=b,
                 code="OwnershipControlsNotFoundError", status=404)
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    expect_error(main.put_bucket_ownership_controls, Bucket=b, OwnershipControls=enforced,
                 code="InvalidBucketAclWithObjectOwnership", status=400)
    preferred = {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    main.put_bucket_ownership_controls(Bucket=b, OwnershipControls=preferred)
    alt.put_object(Bucket=b, Key="bofc", Body=b"x", ACL="bucket-owner-full-control")
    assert main.get_object_acl(Bucket=b, Key="bofc")["Owner"]["ID"] == MAIN_ID
    alt.put_object(Bucket=b, Key="own", Body=b"x")
    assert alt.get_object_acl(Bucket=b, Key="own")["Owner"]["ID"] == ALT["user_id"]
    expect_error(alt.put_bucket_ownership_controls, Bucket=b, OwnershipControls=preferred,
                 code="AccessDenied", status=403)

    main.put_bucket_acl(Bucket=b, ACL="private")
    main.put_bucket_ownership_controls(Bucket=b, OwnershipControls=enforced)
    got = main.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"]
    assert got == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    main.put_object(Bucket=b, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    expect_error(main.put_object, Bucket=b, Key="k", Body=b"x", ACL="public-read",
                 code="AccessControlListNotSupported", status=400)
    expect_error(main.put_bucket_acl, Bucket=b, ACL="public-read",
                 code="AccessControlListNotSupported", status=400)
    expect_error(main.put_object_acl, Bucket=b, Key="k", ACL="private",
                 code="AccessControlListNotSupported", status=400)
    main.delete_bucket_ownership_controls(Bucket=b)
    expect_error(main.get_bucket_ownership_controls, Bucket=b,
                 code="OwnershipControlsNotFoundError", status=404)

    name = unique_name("acl")
    main.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    try:
        rules = main.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    finally:
        purge_bucket(main, name)
    expect_error(main.create_bucket, Bucket=unique_name("acl"), ACL="public-read",
                 ObjectOwnership="BucketOwnerEnforced",
                 code="InvalidBucketAclWithObjectOwnership", status=400)


ATTRS = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def test_get_object_attributes(main, anon, new_bucket):
    b = new_bucket(main)
    body = b"attributes"
    put = main.put_object(Bucket=b, Key="one", Body=body, ChecksumAlgorithm="SHA256")
    got = main.get_object_attributes(Bucket=b, Key="one", ObjectAttributes=ATTRS)
    assert got["ObjectSize"] == len(body)
    assert got["StorageClass"] == "STANDARD"
    assert got["ETag"] == put["ETag"].strip('"')  # bare, as S3 writes it in this response
    assert got["Checksum"]["ChecksumSHA256"] == checksum_b64("SHA256", body)
    assert "ObjectParts" not in got
    only_size = main.get_object_attributes(Bucket=b, Key="one", ObjectAttributes=["ObjectSize"])
    assert only_size["ObjectSize"] == len(body) and "ETag" not in only_size
    expect_error(main.get_object_attributes, Bucket=b, Key="missing", ObjectAttributes=ATTRS,
                 code="NoSuchKey", status=404)
    expect_error(anon.get_object_attributes, Bucket=b, Key="one", ObjectAttributes=ATTRS,
                 code="AccessDenied", status=403)

    up = main.create_multipart_upload(Bucket=b, Key="mp", ChecksumAlgorithm="CRC32")["UploadId"]
    parts = []
    datas = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"c" * 100]
    for n, data in enumerate(datas, start=1):
        r = main.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=n, Body=data,
                             ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    main.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={"Parts": parts})
    got = main.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=ATTRS,
                                     MaxParts=1, PartNumberMarker=1)
    op = got["ObjectParts"]
    assert op["TotalPartsCount"] == 3 and op["IsTruncated"] and op["NextPartNumberMarker"] == 2
    assert op["Parts"] == [{"PartNumber": 2, "Size": 5 * MiB,
                            "ChecksumCRC32": checksum_b64("CRC32", datas[1])}]
    assert got["ObjectSize"] == sum(len(d) for d in datas)


def test_unsigned_iam_query_is_refused_promptly(users_server):
    conn = http.client.HTTPConnection(users_server.host, users_server.port, timeout=10)
    started = time.monotonic()
    conn.request("POST", "/", body="Action=ListRoles&Version=2010-05-08",
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    resp = conn.getresponse()
    assert resp.status == 403 and b"MissingAuthenticationToken" in resp.read()
    assert time.monotonic() - started < 5
    conn.close()


def test_invalid_users_file_stops_start_up(tmp_path):
    users_file = tmp_path / "users.json"
    users_file.write_text('{"users": [{"access_key": "k1"}]}')
    proc = RustfsProcess(tmp_path / "srv", extra_env={"RUSTFS_USERS_FILE": str(users_file)})
    (tmp_path / "srv").mkdir()
    with pytest.raises(ServerStartError, match="users file"):
        proc.start()


def test_anonymous_requests_to_a_missing_bucket_get_no_such_bucket(main, anon):
    """S3 answers an anonymous object or bucket request for a bucket that does not exist 404
    NoSuchBucket (s3-tests' *_bucket_gone cases); only CreateBucket needs a signature."""
    missing = unique_name("gone")
    expect_error(anon.get_object, Bucket=missing, Key="foo", code="NoSuchBucket", status=404)
    expect_error(anon.delete_object, Bucket=missing, Key="foo", code="NoSuchBucket", status=404)
    expect_error(anon.put_object, Bucket=missing, Key="foo", Body=b"x",
                 code="NoSuchBucket", status=404)
    expect_error(anon.list_objects_v2, Bucket=missing, code="NoSuchBucket", status=404)
    expect_error(anon.create_bucket, Bucket=missing, code="AccessDenied", status=403)
    expect_error(anon.list_buckets, code="AccessDenied", status=403)
