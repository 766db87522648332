"""Object lock (WORM) against the real server with boto3: buckets made with object lock and
their versioning, the lock configuration and its default retention, GOVERNANCE and COMPLIANCE
retention (COMPLIANCE refused to root too), the bypass of GOVERNANCE with and without
``s3:BypassGovernanceRetention`` (an IAM user made through the IAM API), legal holds, the
``x-amz-object-lock-*`` headers on PUT, copy and multipart, DeleteObjects, and a retention or
legal hold racing a DeleteObject of the version.

One server per module: the IAM users it makes, and the COMPLIANCE-locked versions no one can
delete, go with it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import REGION, RustfsProcess, S3Server, ServerStartError, expect_error, unique_name

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    proc = RustfsProcess(tmp_path_factory.mktemp("rustfs-lock"))
    try:
        proc.start()
    except ServerStartError as err:
        pytest.fail(str(err), pytrace=False)
    yield S3Server("lock", proc, proc.url)
    proc.stop()


@pytest.fixture(scope="module")
def s3(srv):
    return srv.client()


@pytest.fixture
def locked(s3):
    """A fresh bucket made with object lock."""
    name = unique_name("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.fixture
def plain(s3):
    name = unique_name("plain")
    s3.create_bucket(Bucket=name)
    return name


def later(seconds: float) -> dt.datetime:
    """A time `seconds` from now, to the second (as S3 keeps it)."""
    return (dt.datetime.now(UTC) + dt.timedelta(seconds=seconds)).replace(microsecond=0)


def retention(mode: str, until: dt.datetime) -> dict:
    return {"Mode": mode, "RetainUntilDate": until}


def iam_client(srv):
    return boto3.client(
        "iam", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=srv.access_key, aws_secret_access_key=srv.secret_key,
        config=Config(retries={"max_attempts": 1}),
    )


def s3_as(srv, ak, sk):
    return boto3.client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=ak, aws_secret_access_key=sk,
        config=Config(signature_version="s3v4", retries={"max_attempts": 1},
                      s3={"addressing_style": "path"}),
    )


def test_lock_bucket_is_versioned_for_good(s3, locked):
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    expect_error(s3.put_bucket_versioning, Bucket=locked,
                 VersioningConfiguration={"Status": "Suspended"},
                 code="InvalidBucketState", status=409)
    # Enabling again is no change, and allowed.
    s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Enabled"})
    conf = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert conf == {"ObjectLockEnabled": "Enabled"}


def test_lock_configuration_and_its_validation(s3, locked):
    for rule in ({"Mode": "GOVERNANCE", "Days": 1}, {"Mode": "COMPLIANCE", "Years": 2}):
        conf = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": rule}}
        s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=conf)
        assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"] == conf
    bad = [
        ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, "MalformedXML"),
        ({"Mode": "governance", "Days": 1}, "MalformedXML"),
        ({"Mode": "abc", "Days": 1}, "MalformedXML"),
        ({"Mode": "GOVERNANCE"}, "MalformedXML"),
        ({"Mode": "GOVERNANCE", "Days": 0}, "InvalidRetentionPeriod"),
        ({"Mode": "GOVERNANCE", "Years": -1}, "InvalidRetentionPeriod"),
        ({"Mode": "GOVERNANCE", "Years": 101}, "InvalidRetentionPeriod"),
    ]
    for rule, code in bad:
        conf = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": rule}}
        expect_error(s3.put_object_lock_configuration, Bucket=locked,
                     ObjectLockConfiguration=conf, code=code, status=400)
    expect_error(s3.put_object_lock_configuration, Bucket=locked,
                 ObjectLockConfiguration={"ObjectLockEnabled": "Disabled"},
                 code="MalformedXML", status=400)
    # The last valid configuration stands; without a rule there is no default any more.
    s3.put_object_lock_configuration(Bucket=locked,
                                     ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled"}


def test_lock_on_an_existing_bucket_needs_versioning(s3, plain):
    expect_error(s3.get_object_lock_configuration, Bucket=plain,
                 code="ObjectLockConfigurationNotFoundError", status=404)
    conf = {"ObjectLockEnabled": "Enabled"}
    expect_error(s3.put_object_lock_configuration, Bucket=plain,
                 ObjectLockConfiguration=conf, code="InvalidBucketState", status=409)
    s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Suspended"})
    expect_error(s3.put_object_lock_configuration, Bucket=plain,
                 ObjectLockConfiguration=conf, code="InvalidBucketState", status=409)
    s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration=conf)
    expect_error(s3.put_bucket_versioning, Bucket=plain,
                 VersioningConfiguration={"Status": "Suspended"},
                 code="InvalidBucketState", status=409)


def test_lock_requests_on_a_bucket_without_lock_are_invalid(s3, plain):
    s3.put_object(Bucket=plain, Key="k", Body=b"x")
    for call, kw in [
        (s3.put_object_retention, {"Retention": retention("GOVERNANCE", later(3600))}),
        (s3.get_object_retention, {}),
        (s3.put_object_legal_hold, {"LegalHold": {"Status": "ON"}}),
        (s3.get_object_legal_hold, {}),
    ]:
        expect_error(call, Bucket=plain, Key="k", code="InvalidRequest", status=400, **kw)
    expect_error(s3.put_object, Bucket=plain, Key="k2", Body=b"x", ObjectLockLegalHoldStatus="ON",
                 code="InvalidRequest", status=400)
    expect_error(s3.put_object, Bucket=plain, Key="k2", Body=b"x", ObjectLockMode="GOVERNANCE",
                 ObjectLockRetainUntilDate=later(3600), code="InvalidRequest", status=400)
    expect_error(s3.create_multipart_upload, Bucket=plain, Key="k2",
                 ObjectLockLegalHoldStatus="ON", code="InvalidRequest", status=400)
    expect_error(s3.head_object, Bucket=plain, Key="k2", code="404", status=404)


def test_lock_headers_are_validated(srv, s3, locked):
    expect_error(s3.put_object, Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                 code="InvalidArgument", status=400)
    expect_error(s3.put_object, Bucket=locked, Key="k", Body=b"x",
                 ObjectLockRetainUntilDate=later(60), code="InvalidArgument", status=400)
    expect_error(s3.put_object, Bucket=locked, Key="k", Body=b"x", ObjectLockMode="governance",
                 ObjectLockRetainUntilDate=later(60), code="InvalidArgument", status=400)
    expect_error(s3.put_object, Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                 ObjectLockRetainUntilDate=later(-60), code="InvalidArgument", status=400)
    expect_error(s3.put_object, Bucket=locked, Key="k", Body=b"x",
                 ObjectLockLegalHoldStatus="MAYBE", code="InvalidArgument", status=400)
    # S3 wants a Content-MD5 or a checksum with lock headers; boto3 sends none when told to
    # compute checksums only where required.
    bare = boto3.client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=srv.access_key, aws_secret_access_key=srv.secret_key,
        config=Config(request_checksum_calculation="when_required",
                      s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    expect_error(bare.put_object, Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON",
                 code="InvalidRequest", status=400)
    expect_error(bare.head_object, Bucket=locked, Key="k", code="404", status=404)
    # With a Content-MD5 it is accepted.
    md5 = base64.b64encode(hashlib.md5(b"x").digest()).decode()
    v = bare.put_object(Bucket=locked, Key="k", Body=b"x", ContentMD5=md5,
                        ObjectLockLegalHoldStatus="OFF")["VersionId"]
    s3.delete_object(Bucket=locked, Key="k", VersionId=v)


def test_retention_is_reported_and_governance_needs_the_bypass(s3, locked):
    v = s3.put_object(Bucket=locked, Key="k", Body=b"abc")["VersionId"]
    expect_error(s3.get_object_retention, Bucket=locked, Key="k",
                 code="NoSuchObjectLockConfiguration", status=404)
    # No legal hold status given yet: none to report, as S3 answers.
    expect_error(s3.get_object_legal_hold, Bucket=locked, Key="k",
                 code="NoSuchObjectLockConfiguration", status=404)
    until = later(3600)
    s3.put_object_retention(Bucket=locked, Key="k", Retention=retention("GOVERNANCE", until))
    assert s3.get_object_retention(Bucket=locked, Key="k", VersionId=v)["Retention"] == \
        retention("GOVERNANCE", until)
    for read in (s3.head_object, s3.get_object):
        got = read(Bucket=locked, Key="k")
        assert got["ObjectLockMode"] == "GOVERNANCE"
        assert got["ObjectLockRetainUntilDate"] == until
        assert "ObjectLockLegalHoldStatus" not in got
    # Extending is allowed; shortening, removing or turning it to COMPLIANCE needs the bypass.
    s3.put_object_retention(Bucket=locked, Key="k", Retention=retention("GOVERNANCE", later(7200)))
    for new in (retention("GOVERNANCE", until), retention("COMPLIANCE", later(7200))):
        expect_error(s3.put_object_retention, Bucket=locked, Key="k", Retention=new,
                     code="AccessDenied", status=403)
    s3.put_object_retention(Bucket=locked, Key="k", Retention=retention("GOVERNANCE", until),
                            BypassGovernanceRetention=True)
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == \
        retention("GOVERNANCE", until)
    # Deleting the version: refused, then allowed to the owner with the bypass. A delete
    # without a version id only adds a delete marker, which is always allowed.
    expect_error(s3.delete_object, Bucket=locked, Key="k", VersionId=v,
                 code="AccessDenied", status=403)
    marker = s3.delete_object(Bucket=locked, Key="k")
    assert marker["DeleteMarker"] is True
    expect_error(s3.delete_object, Bucket=locked, Key="k", VersionId=v,
                 code="AccessDenied", status=403)
    s3.delete_object(Bucket=locked, Key="k", VersionId=v, BypassGovernanceRetention=True)
    expect_error(s3.head_object, Bucket=locked, Key="k", VersionId=v, code="404", status=404)


def test_compliance_binds_root(s3, locked):
    until = later(3600)
    v = s3.put_object(Bucket=locked, Key="k", Body=b"abc", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=until)["VersionId"]
    assert s3.head_object(Bucket=locked, Key="k")["ObjectLockMode"] == "COMPLIANCE"
    for new in (retention("COMPLIANCE", later(1800)), retention("GOVERNANCE", later(7200))):
        for bypass in (False, True):
            expect_error(s3.put_object_retention, Bucket=locked, Key="k", Retention=new,
                         BypassGovernanceRetention=bypass, code="AccessDenied", status=403)
    expect_error(s3.put_object_retention, Bucket=locked, Key="k", Retention={},
                 BypassGovernanceRetention=True, code="AccessDenied", status=403)
    for bypass in (False, True):
        expect_error(s3.delete_object, Bucket=locked, Key="k", VersionId=v,
                     BypassGovernanceRetention=bypass, code="AccessDenied", status=403)
    got = s3.delete_objects(Bucket=locked, BypassGovernanceRetention=True,
                            Delete={"Objects": [{"Key": "k", "VersionId": v}]})
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in got["Errors"]] == [("k", v, "AccessDenied")]
    # Only extended.
    longer = later(7200)
    s3.put_object_retention(Bucket=locked, Key="k", Retention=retention("COMPLIANCE", longer))
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == \
        retention("COMPLIANCE", longer)
    assert s3.get_object(Bucket=locked, Key="k", VersionId=v)["Body"].read() == b"abc"


def test_a_retention_that_passed_no_longer_protects(s3, locked):
    v = s3.put_object(Bucket=locked, Key="k", Body=b"abc", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=later(2))["VersionId"]
    deadline = time.monotonic() + 20
    while True:
        try:
            s3.delete_object(Bucket=locked, Key="k", VersionId=v)
            break
        except ClientError as err:
            assert err.response["Error"]["Code"] == "AccessDenied"
            assert time.monotonic() < deadline, "the retention never passed"
            time.sleep(0.5)
    expect_error(s3.head_object, Bucket=locked, Key="k", VersionId=v, code="404", status=404)


def test_default_retention_applies_to_new_versions_only_without_headers(s3, locked):
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    before = dt.datetime.now(UTC)
    v = s3.put_object(Bucket=locked, Key="d", Body=b"x")["VersionId"]
    r = s3.get_object_retention(Bucket=locked, Key="d")["Retention"]
    assert r["Mode"] == "GOVERNANCE"
    day = dt.timedelta(days=1)
    assert before + day - dt.timedelta(seconds=2) <= r["RetainUntilDate"] <= \
        dt.datetime.now(UTC) + day + dt.timedelta(seconds=2)
    expect_error(s3.delete_object, Bucket=locked, Key="d", VersionId=v,
                 code="AccessDenied", status=403)
    # Explicit headers win over the default.
    until = later(600)
    s3.put_object(Bucket=locked, Key="e", Body=b"x", ObjectLockMode="COMPLIANCE",
                  ObjectLockRetainUntilDate=until)
    assert s3.get_object_retention(Bucket=locked, Key="e")["Retention"] == \
        retention("COMPLIANCE", until)
    # A delete marker gets no retention.
    s3.delete_object(Bucket=locked, Key="d")
    s3.delete_object(Bucket=locked, Key="d", VersionId=v, BypassGovernanceRetention=True)


def test_legal_hold_blocks_every_removal(s3, locked):
    v = s3.put_object(Bucket=locked, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert s3.head_object(Bucket=locked, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"] == {"Status": "ON"}
    for bypass in (False, True):
        expect_error(s3.delete_object, Bucket=locked, Key="h", VersionId=v,
                     BypassGovernanceRetention=bypass, code="AccessDenied", status=403)
    expect_error(s3.put_object_legal_hold, Bucket=locked, Key="h", LegalHold={"Status": "on"},
                 code="MalformedXML", status=400)
    s3.put_object_legal_hold(Bucket=locked, Key="h", VersionId=v, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"] == {"Status": "OFF"}
    assert s3.head_object(Bucket=locked, Key="h")["ObjectLockLegalHoldStatus"] == "OFF"
    s3.delete_object(Bucket=locked, Key="h", VersionId=v)


def test_delete_objects_reports_locked_versions(s3, locked):
    v1 = s3.put_object(Bucket=locked, Key="a", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=locked, Key="b", Body=b"2")["VersionId"]
    v3 = s3.put_object(Bucket=locked, Key="c", Body=b"3", ObjectLockLegalHoldStatus="ON")["VersionId"]
    s3.put_object_retention(Bucket=locked, Key="a", Retention=retention("GOVERNANCE", later(3600)))
    objs = [{"Key": "a", "VersionId": v1}, {"Key": "b", "VersionId": v2},
            {"Key": "c", "VersionId": v3}]
    got = s3.delete_objects(Bucket=locked, Delete={"Objects": objs})
    assert [d["Key"] for d in got["Deleted"]] == ["b"]
    assert sorted((e["Key"], e["Code"]) for e in got["Errors"]) == [
        ("a", "AccessDenied"), ("c", "AccessDenied")]
    got = s3.delete_objects(Bucket=locked, Delete={"Objects": objs[:1] + objs[2:]},
                            BypassGovernanceRetention=True)
    assert [d["Key"] for d in got["Deleted"]] == ["a"]
    assert [e["Key"] for e in got["Errors"]] == ["c"]


def test_multipart_and_copy_carry_their_own_headers(s3, locked):
    until = later(3600)
    up = s3.create_multipart_upload(Bucket=locked, Key="mp", ObjectLockMode="GOVERNANCE",
                                    ObjectLockRetainUntilDate=until,
                                    ObjectLockLegalHoldStatus="ON")
    part = s3.upload_part(Bucket=locked, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"abc")
    done = s3.complete_multipart_upload(
        Bucket=locked, Key="mp", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    head = s3.head_object(Bucket=locked, Key="mp", VersionId=done["VersionId"])
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"],
            head["ObjectLockLegalHoldStatus"]) == ("GOVERNANCE", until, "ON")
    expect_error(s3.delete_object, Bucket=locked, Key="mp", VersionId=done["VersionId"],
                 BypassGovernanceRetention=True, code="AccessDenied", status=403)
    # A copy does not take the source's lock: it has the request's, or none.
    plain_copy = s3.copy_object(Bucket=locked, Key="cp1", CopySource={"Bucket": locked, "Key": "mp"})
    head = s3.head_object(Bucket=locked, Key="cp1")
    assert "ObjectLockMode" not in head and "ObjectLockLegalHoldStatus" not in head
    s3.delete_object(Bucket=locked, Key="cp1", VersionId=plain_copy["VersionId"])
    until2 = later(1800)
    s3.copy_object(Bucket=locked, Key="cp2", CopySource={"Bucket": locked, "Key": "mp"},
                   ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until2)
    head = s3.head_object(Bucket=locked, Key="cp2")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until2)
    s3.put_object_legal_hold(Bucket=locked, Key="mp", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked, Key="mp", VersionId=done["VersionId"],
                     BypassGovernanceRetention=True)


def test_bypass_needs_the_permission(srv, s3, locked):
    iam = iam_client(srv)
    name = unique_name("u")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = s3_as(srv, key["AccessKeyId"], key["SecretAccessKey"])
    base = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
            "s3:PutObjectRetention", "s3:GetObjectRetention", "s3:ListBucket"]

    def grant(actions):
        iam.put_user_policy(UserName=name, PolicyName="lock", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions,
                           "Resource": [f"arn:aws:s3:::{locked}", f"arn:aws:s3:::{locked}/*"]}]}))

    grant(base)
    v = user.put_object(Bucket=locked, Key="g", Body=b"x", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=later(3600))["VersionId"]
    # Asking for the bypass without the permission: treated as not bypassing.
    expect_error(user.delete_object, Bucket=locked, Key="g", VersionId=v,
                 BypassGovernanceRetention=True, code="AccessDenied", status=403)
    expect_error(user.put_object_retention, Bucket=locked, Key="g",
                 Retention=retention("GOVERNANCE", later(60)), BypassGovernanceRetention=True,
                 code="AccessDenied", status=403)
    got = user.delete_objects(Bucket=locked, BypassGovernanceRetention=True,
                              Delete={"Objects": [{"Key": "g", "VersionId": v}]})
    assert [e["Code"] for e in got.get("Errors", [])] == ["AccessDenied"]
    # With it: shortened, then deleted.
    grant(base + ["s3:BypassGovernanceRetention"])
    user.put_object_retention(Bucket=locked, Key="g", Retention=retention("GOVERNANCE", later(60)),
                              BypassGovernanceRetention=True)
    user.delete_object(Bucket=locked, Key="g", VersionId=v, BypassGovernanceRetention=True)
    # The permission never reaches COMPLIANCE.
    v = user.put_object(Bucket=locked, Key="c", Body=b"x", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=later(3600))["VersionId"]
    expect_error(user.delete_object, Bucket=locked, Key="c", VersionId=v,
                 BypassGovernanceRetention=True, code="AccessDenied", status=403)


def test_lock_racing_a_version_delete(s3, locked):
    """A retention or legal hold racing DeleteObject of the same version: the delete never
    removes a version whose lock committed first; a lock that succeeded always finds its
    version still there."""
    rounds = 12
    for i in range(rounds):
        key = f"race{i}"
        v = s3.put_object(Bucket=locked, Key=key, Body=b"x")["VersionId"]
        outcome = {}
        barrier = threading.Barrier(2, timeout=30)

        def lock():
            barrier.wait()
            try:
                if i % 2:
                    s3.put_object_legal_hold(Bucket=locked, Key=key, VersionId=v,
                                             LegalHold={"Status": "ON"})
                else:
                    s3.put_object_retention(Bucket=locked, Key=key, VersionId=v,
                                            Retention=retention("COMPLIANCE", later(3600)))
                outcome["lock"] = "ok"
            except ClientError as err:
                outcome["lock"] = err.response["Error"]["Code"]

        def delete():
            barrier.wait()
            try:
                s3.delete_object(Bucket=locked, Key=key, VersionId=v)
                outcome["delete"] = "ok"
            except ClientError as err:
                outcome["delete"] = err.response["Error"]["Code"]

        threads = [threading.Thread(target=lock), threading.Thread(target=delete)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        # Exactly one order happened: lock first (the delete refused), or delete first (the
        # lock finds no version).
        assert (outcome["lock"], outcome["delete"]) in {("ok", "AccessDenied"),
                                                         ("NoSuchVersion", "ok")}, outcome
        exists = True
        try:
            s3.head_object(Bucket=locked, Key=key, VersionId=v)
        except ClientError:
            exists = False
        assert exists == (outcome["lock"] == "ok"), outcome
