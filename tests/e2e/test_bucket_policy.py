"""Bucket policies: Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus, the public access
block, and how a policy combines with ACLs in the access checks (an explicit Deny wins, an
Allow from the policy or the ACL grants), with two users and an anonymous client."""

from __future__ import annotations

import json

import pytest

from harness import ALT, MAIN_ID, expect_error


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(action, resource, effect="Allow", principal="*", condition=None) -> dict:
    s = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def body(resp) -> bytes:
    return resp["Body"].read()


def test_put_get_delete_round_trip(main, alt, new_bucket):
    b = new_bucket(main)
    expect_error(main.get_bucket_policy, Bucket=b, code="NoSuchBucketPolicy", status=404)
    policy = doc(stmt("s3:GetObject", arn(b, "*")))
    resp = main.put_bucket_policy(Bucket=b, Policy=policy)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert main.get_bucket_policy(Bucket=b)["Policy"] == policy
    # Configuration is the owner's.
    expect_error(alt.get_bucket_policy, Bucket=b, code="AccessDenied", status=403)
    expect_error(alt.put_bucket_policy, Bucket=b, Policy=policy, code="AccessDenied", status=403)
    expect_error(alt.delete_bucket_policy, Bucket=b, code="AccessDenied", status=403)
    resp = main.delete_bucket_policy(Bucket=b)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(main.get_bucket_policy, Bucket=b, code="NoSuchBucketPolicy", status=404)
    main.delete_bucket_policy(Bucket=b)


@pytest.mark.parametrize(
    "policy",
    [
        "{not json",
        json.dumps({"Version": "2012-10-17"}),
        doc({"Effect": "Perhaps", "Principal": "*", "Action": "s3:GetObject", "Resource": "R"}),
        doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}),
        doc({"Effect": "Allow", "Principal": "*", "Resource": "arn:aws:s3:::B/*"}),
        doc(stmt("s3:GetObject", "arn:aws:s3:::some-other-bucket/*")),
        doc(stmt("s3:GetObject", "arn:aws:s3:::B/*", condition={"NoSuchOp": {"k": "v"}})),
    ],
    ids=["json", "no-statement", "effect", "principal", "action", "resource", "operator"],
)
def test_malformed_policies_are_refused(main, new_bucket, policy):
    b = new_bucket(main)
    expect_error(main.put_bucket_policy, Bucket=b, Policy=policy.replace("B/", f"{b}/"),
                 code="MalformedPolicy", status=400)
    expect_error(main.get_bucket_policy, Bucket=b, code="NoSuchBucketPolicy", status=404)


def test_public_read_policy_lets_anonymous_read(main, alt, anon, new_bucket):
    b = new_bucket(main)
    main.put_object(Bucket=b, Key="k", Body=b"hello")
    expect_error(anon.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)
    assert main.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is False
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt("s3:GetObject", arn(b, "*"))))
    assert main.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is True
    assert body(anon.get_object(Bucket=b, Key="k")) == b"hello"
    assert body(alt.get_object(Bucket=b, Key="k")) == b"hello"
    # Only what the policy names: no listing, no writes; a missing key is 403 to those who
    # may not list.
    expect_error(anon.list_objects_v2, Bucket=b, code="AccessDenied", status=403)
    expect_error(anon.put_object, Bucket=b, Key="k2", Body=b"x", code="AccessDenied", status=403)
    expect_error(anon.head_object, Bucket=b, Key="missing", code="403", status=403)
    # A replaced or deleted policy applies from the next request (parsed policies are cached).
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt("s3:GetObject", arn(b, "other/*"))))
    expect_error(anon.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt("s3:GetObject", arn(b, "*"))))
    assert body(anon.get_object(Bucket=b, Key="k")) == b"hello"
    main.delete_bucket_policy(Bucket=b)
    expect_error(anon.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)


def test_explicit_deny_beats_acl(main, alt, anon, new_bucket):
    b = new_bucket(main, ACL="public-read")
    main.put_object(Bucket=b, Key="secret/k", Body=b"s", ACL="public-read")
    main.put_object(Bucket=b, Key="open/k", Body=b"o", ACL="public-read")
    main.put_bucket_policy(Bucket=b, Policy=doc(
        stmt("s3:GetObject", arn(b, "secret/*"), effect="Deny", principal={"AWS": "*"}),
        # Denied to everyone: the owner still manages the policy.
        stmt(["s3:GetBucketPolicy", "s3:DeleteBucketPolicy"], arn(b), effect="Deny"),
    ))
    for client in (alt, anon, main):
        expect_error(client.get_object, Bucket=b, Key="secret/k", code="AccessDenied", status=403)
        assert body(client.get_object(Bucket=b, Key="open/k")) == b"o"
    assert alt.list_objects_v2(Bucket=b)["KeyCount"] == 2
    # The owner keeps Get/Put/DeleteBucketPolicy against its own Deny.
    main.get_bucket_policy(Bucket=b)
    main.delete_bucket_policy(Bucket=b)
    assert body(anon.get_object(Bucket=b, Key="secret/k")) == b"s"


def test_principals_name_users(main, alt, anon, new_bucket):
    b = new_bucket(main)
    main.put_object(Bucket=b, Key="k", Body=b"x")
    for principal in (
        {"AWS": f"arn:aws:iam:::user/{ALT['display_name']}"},
        {"AWS": [ALT["user_id"]]},
        {"CanonicalUser": ALT["user_id"]},
    ):
        main.put_bucket_policy(Bucket=b, Policy=doc(stmt("s3:GetObject", arn(b, "k"), principal=principal)))
        assert body(alt.get_object(Bucket=b, Key="k")) == b"x"
        expect_error(anon.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)
        assert main.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is False


def test_prefix_condition_on_listing(main, alt, new_bucket):
    b = new_bucket(main)
    for k in ("public/a", "public/b", "private/c"):
        main.put_object(Bucket=b, Key=k, Body=b"x")
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(
        "s3:ListBucket", arn(b), condition={"StringLike": {"s3:prefix": "public/*"}})))
    keys = [o["Key"] for o in alt.list_objects_v2(Bucket=b, Prefix="public/")["Contents"]]
    assert keys == ["public/a", "public/b"]
    expect_error(alt.list_objects_v2, Bucket=b, code="AccessDenied", status=403)
    expect_error(alt.list_objects, Bucket=b, Prefix="private/", code="AccessDenied", status=403)
    # A missing key is 404 where the caller may list it, 403 elsewhere.
    expect_error(alt.head_object, Bucket=b, Key="public/none", code="404", status=404)
    expect_error(alt.head_object, Bucket=b, Key="private/none", code="403", status=403)


def test_existing_object_tag_condition(main, alt, new_bucket):
    b = new_bucket(main)
    main.put_object(Bucket=b, Key="pub", Body=b"p", Tagging="security=public")
    main.put_object(Bucket=b, Key="priv", Body=b"q", Tagging="security=private")
    main.put_object(Bucket=b, Key="none", Body=b"n")
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(
        "s3:GetObject", arn(b, "*"),
        condition={"StringEquals": {"s3:ExistingObjectTag/security": "public"}})))
    assert body(alt.get_object(Bucket=b, Key="pub")) == b"p"
    for key in ("priv", "none"):
        expect_error(alt.get_object, Bucket=b, Key=key, code="AccessDenied", status=403)


def test_source_ip_condition(main, alt, anon, new_bucket):
    b = new_bucket(main)
    main.put_object(Bucket=b, Key="k", Body=b"x")
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(
        "s3:GetObject", arn(b, "*"), condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert main.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is False
    expect_error(anon.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(
        "s3:GetObject", arn(b, "*"), condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})))
    assert body(anon.get_object(Bucket=b, Key="k")) == b"x"
    # Deny from anywhere but loopback, and the owner is refused too when it comes from there.
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(
        "s3:GetObject", arn(b, "*"), effect="Deny",
        condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    expect_error(main.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)


def test_acl_conditions_on_put(main, alt, new_bucket):
    b = new_bucket(main)
    main.put_bucket_policy(Bucket=b, Policy=doc(
        stmt("s3:PutObject", arn(b, "*")),
        stmt("s3:PutObject", arn(b, "*"), effect="Deny",
             condition={"StringLike": {"s3:x-amz-acl": "public*"}}),
    ))
    alt.put_object(Bucket=b, Key="ok", Body=b"x")
    expect_error(alt.put_object, Bucket=b, Key="no", Body=b"x", ACL="public-read",
                 code="AccessDenied", status=403)
    # Multipart writes are s3:PutObject too.
    up = alt.create_multipart_upload(Bucket=b, Key="mp")
    part = alt.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"y")
    alt.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert sorted(o["Key"] for o in main.list_objects_v2(Bucket=b)["Contents"]) == ["mp", "ok"]


def test_copy_checks_source_and_destination(main, alt, new_bucket):
    src = new_bucket(main)
    dst = new_bucket(main)
    main.put_object(Bucket=src, Key="public/a", Body=b"a")
    main.put_object(Bucket=src, Key="private/b", Body=b"b")
    main.put_bucket_policy(Bucket=src, Policy=doc(stmt("s3:GetObject", arn(src, "public/*"))))
    main.put_bucket_policy(Bucket=dst, Policy=doc(stmt(
        "s3:PutObject", arn(dst, "*"),
        condition={"StringLike": {"s3:x-amz-copy-source": f"{src}/public/*"}})))
    alt.copy_object(Bucket=dst, Key="c", CopySource={"Bucket": src, "Key": "public/a"})
    expect_error(alt.copy_object, Bucket=dst, Key="d", CopySource={"Bucket": src, "Key": "private/b"},
                 code="AccessDenied", status=403)
    expect_error(alt.put_object, Bucket=dst, Key="e", Body=b"e", code="AccessDenied", status=403)


def test_delete_objects_checks_each_key(main, alt, new_bucket):
    b = new_bucket(main)
    for k in ("tmp/a", "keep/b"):
        main.put_object(Bucket=b, Key=k, Body=b"x")
    main.put_bucket_policy(Bucket=b, Policy=doc(
        stmt("s3:DeleteObject", arn(b, "*"), principal={"AWS": ALT["user_id"]}),
        stmt("s3:DeleteObject", arn(b, "keep/*"), effect="Deny"),
    ))
    resp = alt.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]})
    assert [d["Key"] for d in resp.get("Deleted", [])] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in resp.get("Errors", [])] == [("keep/b", "AccessDenied")]
    assert [o["Key"] for o in main.list_objects_v2(Bucket=b)["Contents"]] == ["keep/b"]


def test_version_actions_are_checked_per_entry(main, alt, new_bucket):
    """An entry or request naming a version is checked as the ...Version action."""
    b = new_bucket(main)
    main.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v1 = main.put_object(Bucket=b, Key="k", Body=b"1")["VersionId"]
    main.put_object(Bucket=b, Key="k", Body=b"2")
    main.put_bucket_policy(Bucket=b, Policy=doc(
        stmt(["s3:DeleteObject", "s3:DeleteObjectVersion"], arn(b, "*"),
             principal={"AWS": ALT["user_id"]}),
        stmt(["s3:DeleteObjectVersion", "s3:PutObjectVersionTagging"], arn(b, "*"),
             effect="Deny", condition={"StringEquals": {"s3:versionid": v1}}),
    ))
    # The same key twice: the entry naming the protected version is refused, the other
    # (a delete marker) goes through.
    resp = alt.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k", "VersionId": v1},
                                                            {"Key": "k"}]})
    assert [(e["Key"], e.get("VersionId"), e["Code"]) for e in resp.get("Errors", [])] == [
        ("k", v1, "AccessDenied")]
    assert [(d["Key"], d.get("DeleteMarker")) for d in resp.get("Deleted", [])] == [("k", True)]
    versions = main.list_object_versions(Bucket=b)["Versions"]
    assert v1 in [v["VersionId"] for v in versions]

    # The key's current version is now a delete marker: the version named is what is checked.
    tags = {"TagSet": [{"Key": "t", "Value": "v"}]}
    expect_error(main.put_object_tagging, Bucket=b, Key="k", VersionId=v1, Tagging=tags,
                 code="AccessDenied", status=403)
    expect_error(alt.delete_object, Bucket=b, Key="k", VersionId=v1,
                 code="AccessDenied", status=403)
    other = next(v["VersionId"] for v in versions if v["VersionId"] != v1)
    main.put_object_tagging(Bucket=b, Key="k", VersionId=other, Tagging=tags)
    assert main.get_object_tagging(Bucket=b, Key="k", VersionId=other)["TagSet"] == tags["TagSet"]


def test_owner_enforced_bucket_keeps_policies(main, alt, new_bucket):
    b = new_bucket(main, ObjectOwnership="BucketOwnerEnforced")
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(["s3:PutObject", "s3:GetObject"], arn(b, "*"))))
    alt.put_object(Bucket=b, Key="k", Body=b"x")
    assert main.get_object_acl(Bucket=b, Key="k")["Owner"]["ID"] == MAIN_ID
    assert body(alt.get_object(Bucket=b, Key="k")) == b"x"


def test_public_access_block(main, alt, anon, new_bucket):
    b = new_bucket(main)
    expect_error(main.get_public_access_block, Bucket=b,
                 code="NoSuchPublicAccessBlockConfiguration", status=404)
    main.put_object(Bucket=b, Key="k", Body=b"x")
    public = doc(stmt("s3:GetObject", arn(b, "*")))
    conf = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False}
    main.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=conf)
    assert main.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"] == conf
    expect_error(main.put_bucket_policy, Bucket=b, Policy=public, code="AccessDenied", status=403)
    expect_error(main.put_bucket_acl, Bucket=b, ACL="public-read", code="AccessDenied", status=403)
    expect_error(main.put_object, Bucket=b, Key="p", Body=b"", ACL="public-read",
                 code="AccessDenied", status=403)
    conf = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True}
    main.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=conf)
    main.put_bucket_policy(Bucket=b, Policy=public)
    expect_error(anon.get_object, Bucket=b, Key="k", code="AccessDenied", status=403)
    assert body(main.get_object(Bucket=b, Key="k")) == b"x"
    main.delete_public_access_block(Bucket=b)
    assert body(anon.get_object(Bucket=b, Key="k")) == b"x"


def test_request_tag_condition_on_put_object_tagging(main, alt, new_bucket):
    b = new_bucket(main)
    main.put_object(Bucket=b, Key="k", Body=b"x")
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(
        "s3:PutObjectTagging", arn(b, "*"),
        condition={"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team", "env"]},
                   "StringEquals": {"s3:RequestObjectTag/env": "dev"}})))
    tags = {"TagSet": [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}]}
    alt.put_object_tagging(Bucket=b, Key="k", Tagging=tags)
    for bad in ([{"Key": "env", "Value": "prod"}],
                [{"Key": "env", "Value": "dev"}, {"Key": "owner", "Value": "x"}]):
        expect_error(alt.put_object_tagging, Bucket=b, Key="k", Tagging={"TagSet": bad},
                     code="AccessDenied", status=403)
    stored = main.get_object_tagging(Bucket=b, Key="k")["TagSet"]
    assert sorted(t["Key"] for t in stored) == ["env", "team"]


def test_owner_can_lock_itself_out_of_the_policy(main, new_bucket):
    b = new_bucket(main)
    policy = doc(stmt(["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
                      arn(b), effect="Deny"))
    main.put_bucket_policy(Bucket=b, Policy=policy, ConfirmRemoveSelfBucketAccess=True)
    expect_error(main.get_bucket_policy, Bucket=b, code="AccessDenied", status=403)
    expect_error(main.delete_bucket_policy, Bucket=b, code="AccessDenied", status=403)
    expect_error(main.put_bucket_policy, Bucket=b, Policy=policy, code="AccessDenied", status=403)


def test_policy_variables(main, alt, new_bucket):
    b = new_bucket(main)
    mine, other = f"home/{ALT['display_name']}/a", "home/someone/a"
    for k in (mine, other):
        main.put_object(Bucket=b, Key=k, Body=b"x")
    main.put_bucket_policy(Bucket=b, Policy=doc(stmt(
        "s3:GetObject", arn(b, "home/${aws:username}/*"), principal={"AWS": ALT["user_id"]})))
    assert body(alt.get_object(Bucket=b, Key=mine)) == b"x"
    expect_error(alt.get_object, Bucket=b, Key=other, code="AccessDenied", status=403)


def test_encryption_configuration_actions_are_aws_names(main, alt, new_bucket):
    """GetBucketEncryption is `s3:GetEncryptionConfiguration` and DeleteBucketEncryption
    `s3:PutEncryptionConfiguration`, as in AWS's action list: a policy granting those lets
    another user in (who then learns there is no configuration), the operation names do not."""
    b = new_bucket(main)
    for action in ("s3:GetBucketEncryption", "s3:DeleteBucketEncryption"):
        main.put_bucket_policy(Bucket=b, Policy=doc(stmt(action, arn(b))))
        expect_error(alt.get_bucket_encryption, Bucket=b, code="AccessDenied", status=403)
        expect_error(alt.delete_bucket_encryption, Bucket=b, code="AccessDenied", status=403)
    main.put_bucket_policy(Bucket=b, Policy=doc(
        stmt(["s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"], arn(b))))
    expect_error(alt.get_bucket_encryption, Bucket=b,
                 code="ServerSideEncryptionConfigurationNotFoundError", status=404)
    resp = alt.delete_bucket_encryption(Bucket=b)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
