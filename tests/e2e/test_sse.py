"""Server-side encryption (issue 15): SSE-S3, SSE-KMS with the built-in KMS, SSE-C, bucket
default encryption, multipart and copy, against a real server over HTTPS (SSE-C needs TLS)
whose KMS has two keys. Data is sealed in 64 KiB packages (docs/format.md), so ranges are
chosen across package and part boundaries; the volume files are grepped to show that no
plaintext reaches the disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading

import pytest
from botocore.exceptions import ClientError

from harness import (
    RustfsProcess,
    S3Server,
    ServerStartError,
    expect_error,
    make_tls_material,
    md5_hex,
    raw_request,
    unique_name,
)

PKG = 64 * 1024
KMS1, KMS2 = "testkey-1", "testkey-2"
KMS_KEYS = ",".join(
    f"{name}:{base64.b64encode(os.urandom(32)).decode()}" for name in (KMS1, KMS2)
)
KEY_A, KEY_B = os.urandom(32), os.urandom(32)
SSE_C_A = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY_A}
SSE_C_B = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY_B}


def b64md5(b: bytes) -> str:
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def data(n: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(f"{seed}".encode()).digest() * 2048
    out = (block * (n // len(block) + 1))[:n]
    return out


@pytest.fixture(scope="module")
def sse_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("rustfs-sse-certs")
    tls_dir, ca = make_tls_material(base)
    proc = RustfsProcess(
        tmp_path_factory.mktemp("rustfs-sse"),
        tls_dir=tls_dir,
        ca_bundle=ca,
        extra_env={"RUSTFS_KMS_SECRET_KEYS": KMS_KEYS},
    )
    try:
        proc.start()
    except ServerStartError as err:
        pytest.fail(str(err), pytrace=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_CA_BUNDLE", str(ca))
    yield S3Server("sse", proc, proc.url)
    mp.undo()
    proc.stop()


@pytest.fixture
def s3b(sse_server, request):
    s3 = sse_server.client()
    name = unique_name("sse")
    s3.create_bucket(Bucket=name)

    def purge():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
        for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
        s3.delete_bucket(Bucket=name)

    request.addfinalizer(purge)
    return s3, name


def get(s3, bucket, key, **kw) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


def check_ranges(s3, bucket, key, body, **kw):
    n = len(body)
    if n == 0:
        return
    spans = [(0, 0), (PKG - 1, PKG), (PKG - 2, PKG + 2), (PKG, 2 * PKG - 1), (1, n - 2),
             (n - 1, n - 1), (3 * PKG + 7, 5 * PKG + 9)]
    for s, e in spans:
        if s > e or e >= n:
            continue
        r = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={s}-{e}", **kw)
        assert r["Body"].read() == body[s:e + 1], (s, e)
        assert r["ContentRange"] == f"bytes {s}-{e}/{n}"
    if n > 10:
        assert s3.get_object(Bucket=bucket, Key=key, Range="bytes=-10", **kw)["Body"].read() \
            == body[-10:]


@pytest.mark.parametrize("size", [0, 1, 13, PKG - 1, PKG, PKG + 1, 200 * 1024, 3 * PKG * 7 + 5])
def test_sse_s3_round_trip_and_ranges(s3b, size):
    s3, bucket = s3b
    body = data(size, size)
    put = s3.put_object(Bucket=bucket, Key="o", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    # SSE-S3: the ETag is the plaintext's MD5, as S3 reports it.
    assert put["ETag"] == f'"{md5_hex(body)}"'
    got = s3.get_object(Bucket=bucket, Key="o")
    assert got["Body"].read() == body
    assert got["ServerSideEncryption"] == "AES256"
    assert got["ContentLength"] == size
    head = s3.head_object(Bucket=bucket, Key="o")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == size
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["Size"] == size and listed["ETag"] == put["ETag"]
    check_ranges(s3, bucket, "o", body)


def test_checksums_are_of_the_plaintext(s3b):
    s3, bucket = s3b
    body = data(300 * 1024, 7)
    put = s3.put_object(Bucket=bucket, Key="c", Body=body, ServerSideEncryption="AES256",
                        ChecksumAlgorithm="SHA256")
    want = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert put["ChecksumSHA256"] == want
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == want
    # A wrong Content-MD5 is refused and nothing stored.
    expect_error(s3.put_object, Bucket=bucket, Key="bad", Body=body, ServerSideEncryption="AES256",
                 ContentMD5=b64md5(b"other"), code="BadDigest", status=400)
    expect_error(s3.head_object, Bucket=bucket, Key="bad", code="404", status=404)


def test_data_on_disk_is_never_plaintext(sse_server, s3b):
    s3, bucket = s3b
    marker = b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    big = marker * (2 * 1024 * 1024 // len(marker))
    small = marker * 10
    s3.put_object(Bucket=bucket, Key="big", Body=big, ServerSideEncryption="AES256")
    s3.put_object(Bucket=bucket, Key="small", Body=small, ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=bucket, Key="cust", Body=big, **SSE_C_A)
    control = b"CONTROL-MARKER-" + os.urandom(8).hex().encode()
    s3.put_object(Bucket=bucket, Key="plain", Body=control * 100000)

    def on_disk(pattern: bytes) -> bool:
        for vol in sse_server.volumes:
            for root, _, files in os.walk(vol):
                for f in files:
                    try:
                        with open(os.path.join(root, f), "rb") as fh:
                            if pattern in fh.read():
                                return True
                    except OSError:
                        continue
        return False

    assert on_disk(control), "the positive control (an unencrypted object) should be found"
    assert not on_disk(marker), "encrypted objects' plaintext was found on a volume"
    assert not on_disk(KEY_A), "an SSE-C key was found on a volume"
    assert get(s3, bucket, "big") == big and get(s3, bucket, "small") == small


def sse_c_headers(key: bytes) -> dict[str, str]:
    return {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-md5": b64md5(key),
    }


def test_sse_c_needs_its_key_on_every_read(sse_server, s3b):
    s3, bucket = s3b
    body = data(5 * PKG + 3, 1)
    put = s3.put_object(Bucket=bucket, Key="c", Body=body, **SSE_C_A)
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == b64md5(KEY_A)
    # Without the key, or with another, reads fail (400, as s3-tests expect).
    expect_error(s3.get_object, Bucket=bucket, Key="c", code="InvalidRequest", status=400)
    expect_error(s3.head_object, Bucket=bucket, Key="c", code="400", status=400)
    expect_error(s3.get_object, Bucket=bucket, Key="c", code="InvalidRequest", status=400,
                 **SSE_C_B)
    got = s3.get_object(Bucket=bucket, Key="c", **SSE_C_A)
    assert got["Body"].read() == body
    assert got["SSECustomerKeyMD5"] == b64md5(KEY_A)
    head = s3.head_object(Bucket=bucket, Key="c", **SSE_C_A)
    assert head["SSECustomerAlgorithm"] == "AES256" and "ServerSideEncryption" not in head
    check_ranges(s3, bucket, "c", body, **SSE_C_A)
    for key, status in ((KEY_A, 200), (KEY_B, 400)):
        h = sse_c_headers(key) | {"x-amz-object-attributes": "ObjectSize"}
        r = raw_request(sse_server, "GET", f"/{bucket}/c", query=[("attributes", "")], headers=h)
        assert r.status == status, r.body
    r = raw_request(sse_server, "GET", f"/{bucket}/c", query=[("attributes", "")],
                    headers={"x-amz-object-attributes": "ObjectSize"})
    assert r.status == 400, r.body
    # A key given for an object that has none.
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    expect_error(s3.get_object, Bucket=bucket, Key="plain", code="InvalidRequest", status=400,
                 **SSE_C_A)


def test_sse_c_request_checks(sse_server, s3b):
    s3, bucket = s3b
    headers = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY_A).decode(),
        "x-amz-server-side-encryption-customer-key-md5": "AAAAAAAAAAAAAAAAAAAAAA==",
    }
    r = raw_request(sse_server, "PUT", f"/{bucket}/k", headers=headers, body=b"x")
    assert (r.status, r.error_code) == (400, "InvalidArgument"), r.body
    del headers["x-amz-server-side-encryption-customer-key-md5"]
    r = raw_request(sse_server, "PUT", f"/{bucket}/k", headers=headers, body=b"x")
    assert (r.status, r.error_code) == (400, "InvalidArgument"), r.body
    headers["x-amz-server-side-encryption-customer-key-md5"] = b64md5(KEY_A)
    headers["x-amz-server-side-encryption"] = "aws:kms"
    r = raw_request(sse_server, "PUT", f"/{bucket}/k", headers=headers, body=b"x")
    assert (r.status, r.error_code) == (400, "InvalidArgument"), r.body
    expect_error(s3.head_object, Bucket=bucket, Key="k", code="404", status=404)


def test_sse_c_over_plain_http_is_refused(server, bucket):
    s3 = server.client()
    expect_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", code="InvalidRequest",
                 status=400, **SSE_C_A)
    expect_error(s3.head_object, Bucket=bucket, Key="k", code="404", status=404)
    # SSE-S3 needs no TLS (the server's master key never travels).
    s3.put_object(Bucket=bucket, Key="s", Body=b"x", ServerSideEncryption="AES256")
    assert s3.head_object(Bucket=bucket, Key="s")["ServerSideEncryption"] == "AES256"


def test_sse_kms_keys_and_context(s3b):
    s3, bucket = s3b
    body = data(3 * PKG, 3)
    put = s3.put_object(Bucket=bucket, Key="k2", Body=body, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=KMS2)
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", KMS2)
    head = s3.head_object(Bucket=bucket, Key="k2")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS2)
    assert get(s3, bucket, "k2") == body
    # No key id: the KMS's default (first) key.
    put = s3.put_object(Bucket=bucket, Key="k1", Body=b"x", ServerSideEncryption="aws:kms")
    assert put["SSEKMSKeyId"] == KMS1
    # An encryption context is kept and bound to the object.
    ctx = base64.b64encode(json.dumps({"project": "x", "a": "b"}).encode()).decode()
    put = s3.put_object(Bucket=bucket, Key="ctx", Body=body, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=KMS1, SSEKMSEncryptionContext=ctx)
    assert json.loads(base64.b64decode(put["SSEKMSEncryptionContext"])) == \
        {"project": "x", "a": "b"}
    assert get(s3, bucket, "ctx") == body
    check_ranges(s3, bucket, "ctx", body)
    # Unknown key ids and bad contexts are refused before anything is stored.
    expect_error(s3.put_object, Bucket=bucket, Key="u", Body=b"x", ServerSideEncryption="aws:kms",
                 SSEKMSKeyId="no-such-key", code="KMS.NotFoundException", status=400)
    expect_error(s3.put_object, Bucket=bucket, Key="u", Body=b"x", ServerSideEncryption="aws:kms",
                 SSEKMSEncryptionContext="bm90IGpzb24=", code="InvalidArgument", status=400)
    expect_error(s3.put_object, Bucket=bucket, Key="u", Body=b"x", SSEKMSKeyId=KMS1,
                 code="InvalidArgument", status=400)
    expect_error(s3.put_object, Bucket=bucket, Key="u", Body=b"x", ServerSideEncryption="AES256",
                 SSEKMSKeyId=KMS1, code="InvalidArgument", status=400)
    expect_error(s3.head_object, Bucket=bucket, Key="u", code="404", status=404)
    # Reads take no managed-encryption headers (400 InvalidArgument, as S3).
    r = raw_request_like_get_with_sse(s3, bucket)
    assert r == 400


def raw_request_like_get_with_sse(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=b"x")

    def add(params, **_):
        params["headers"]["x-amz-server-side-encryption"] = "aws:kms"

    s3.meta.events.register("before-call.s3.GetObject", add)
    try:
        s3.get_object(Bucket=bucket, Key="r")
        return 200
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]
    finally:
        s3.meta.events.unregister("before-call.s3.GetObject", add)


def test_bucket_default_encryption(s3b):
    s3, bucket = s3b
    expect_error(s3.get_bucket_encryption, Bucket=bucket,
                 code="ServerSideEncryptionConfigurationNotFoundError", status=404)
    s3.put_object(Bucket=bucket, Key="before", Body=b"x")
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    put = s3.put_object(Bucket=bucket, Key="after", Body=b"y")
    assert put["ServerSideEncryption"] == "AES256"
    assert "ServerSideEncryption" not in s3.head_object(Bucket=bucket, Key="before")
    # Headers win over the default.
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"z", **SSE_C_A)
    assert "ServerSideEncryption" not in put and put["SSECustomerAlgorithm"] == "AES256"
    # An SSE-KMS default with a named key.
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS2}, "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                         "KMSMasterKeyID": KMS2}
    body = data(PKG * 2 + 1, 9)
    put = s3.put_object(Bucket=bucket, Key="kms", Body=body)
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", KMS2)
    assert get(s3, bucket, "kms") == body
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    assert up["ServerSideEncryption"] == "aws:kms"
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"])
    expect_error(s3.put_bucket_encryption, Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "nope"}}]},
        code="KMS.NotFoundException", status=400)
    s3.delete_bucket_encryption(Bucket=bucket)
    expect_error(s3.get_bucket_encryption, Bucket=bucket,
                 code="ServerSideEncryptionConfigurationNotFoundError", status=404)
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    # Objects written under the default stay readable.
    assert get(s3, bucket, "kms") == body and get(s3, bucket, "after") == b"y"


def test_default_encryption_raced_with_puts(s3b):
    """PUT reads the bucket's default, then commits: whatever it reported is what HEAD says
    and the bytes read back, while the default flips between SSE-S3 and none."""
    s3, bucket = s3b
    stop = threading.Event()
    errors: list[BaseException] = []

    def flip():
        try:
            for i in range(40):
                if stop.is_set():
                    return
                if i % 2 == 0:
                    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                        "Rules": [{"ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "AES256"}}]})
                else:
                    s3.delete_bucket_encryption(Bucket=bucket)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t = threading.Thread(target=flip)
    t.start()
    try:
        for i in range(40):
            body = data(1000 + i * 3000, i)
            put = s3.put_object(Bucket=bucket, Key=f"k{i}", Body=body)
            head = s3.head_object(Bucket=bucket, Key=f"k{i}")
            assert put.get("ServerSideEncryption") == head.get("ServerSideEncryption")
            assert get(s3, bucket, f"k{i}") == body
    finally:
        stop.set()
        t.join(timeout=60)
    assert not errors, errors


def test_multipart_sse_c_and_kms(s3b):
    s3, bucket = s3b
    part1, part2 = data(5 * 1024 * 1024 + 17, 1), data(PKG * 3 + 5, 2)
    up = s3.create_multipart_upload(Bucket=bucket, Key="c", **SSE_C_A)
    uid = up["UploadId"]
    assert up["SSECustomerAlgorithm"] == "AES256"
    # Every part needs the upload's key.
    expect_error(s3.upload_part, Bucket=bucket, Key="c", UploadId=uid, PartNumber=1,
                 Body=part1, code="InvalidRequest", status=400)
    expect_error(s3.upload_part, Bucket=bucket, Key="c", UploadId=uid, PartNumber=1,
                 Body=part1, code="InvalidRequest", status=400, **SSE_C_B)
    p1 = s3.upload_part(Bucket=bucket, Key="c", UploadId=uid, PartNumber=1, Body=part1, **SSE_C_A)
    # A part sent again gets a fresh key (its body id): no key/nonce reuse.
    p1 = s3.upload_part(Bucket=bucket, Key="c", UploadId=uid, PartNumber=1, Body=part1, **SSE_C_A)
    p2 = s3.upload_part(Bucket=bucket, Key="c", UploadId=uid, PartNumber=2, Body=part2, **SSE_C_A)
    listed = {"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]},
                        {"PartNumber": 2, "ETag": p2["ETag"]}]}
    # Completing needs the upload's key too.
    for wrong in ({}, SSE_C_B):
        expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="c", UploadId=uid,
                     MultipartUpload=listed, code="InvalidRequest", status=400, **wrong)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="c", UploadId=uid,
                                        MultipartUpload=listed, **SSE_C_A)
    assert done["ETag"].endswith('-2"')
    body = part1 + part2
    assert get(s3, bucket, "c", **SSE_C_A) == body
    expect_error(s3.get_object, Bucket=bucket, Key="c", code="InvalidRequest", status=400)
    n1 = len(part1)
    r = s3.get_object(Bucket=bucket, Key="c", Range=f"bytes={n1 - 5}-{n1 + PKG + 5}", **SSE_C_A)
    assert r["Body"].read() == body[n1 - 5:n1 + PKG + 6]
    r = s3.get_object(Bucket=bucket, Key="c", PartNumber=2, **SSE_C_A)
    assert r["Body"].read() == part2

    up = s3.create_multipart_upload(Bucket=bucket, Key="k", ServerSideEncryption="aws:kms",
                                    SSEKMSKeyId=KMS2)
    uid = up["UploadId"]
    assert (up["ServerSideEncryption"], up["SSEKMSKeyId"]) == ("aws:kms", KMS2)
    p1 = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=part1)
    assert p1["ServerSideEncryption"] == "aws:kms"
    p2 = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=2, Body=part2)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert done["ServerSideEncryption"] == "aws:kms"
    assert get(s3, bucket, "k") == body
    assert s3.head_object(Bucket=bucket, Key="k")["SSEKMSKeyId"] == KMS2


def test_copy_re_encrypts(s3b):
    s3, bucket = s3b
    body = data(3 * PKG + 11, 4)
    s3.put_object(Bucket=bucket, Key="src", Body=body, **SSE_C_A)
    src = {"Bucket": bucket, "Key": "src"}
    # The source's key is needed.
    expect_error(s3.copy_object, Bucket=bucket, Key="d", CopySource=src,
                 code="InvalidRequest", status=400)
    out = s3.copy_object(Bucket=bucket, Key="d", CopySource=src, ServerSideEncryption="AES256",
                         CopySourceSSECustomerAlgorithm="AES256",
                         CopySourceSSECustomerKey=KEY_A)
    assert out["ServerSideEncryption"] == "AES256"
    assert get(s3, bucket, "d") == body
    # SSE-S3 to SSE-C under another key.
    out = s3.copy_object(Bucket=bucket, Key="e", CopySource={"Bucket": bucket, "Key": "d"},
                         **SSE_C_B)
    assert out["SSECustomerKeyMD5"] == b64md5(KEY_B)
    assert get(s3, bucket, "e", **SSE_C_B) == body
    # An encrypted source copied without encryption headers: stored in clear, as S3 does.
    out = s3.copy_object(Bucket=bucket, Key="p", CopySource={"Bucket": bucket, "Key": "d"})
    assert "ServerSideEncryption" not in out
    assert get(s3, bucket, "p") == body
    # Copy to itself changing the encryption (otherwise an illegal copy).
    out = s3.copy_object(Bucket=bucket, Key="p", CopySource={"Bucket": bucket, "Key": "p"},
                         ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS2)
    assert out["SSEKMSKeyId"] == KMS2
    assert s3.head_object(Bucket=bucket, Key="p")["SSEKMSKeyId"] == KMS2
    assert get(s3, bucket, "p") == body
    # UploadPartCopy from an SSE-C source into an SSE-S3 upload.
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="AES256")
    part = s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1,
                               CopySource=src, CopySourceRange=f"bytes={PKG - 3}-{2 * PKG + 3}",
                               CopySourceSSECustomerAlgorithm="AES256",
                               CopySourceSSECustomerKey=KEY_A)
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [
                                     {"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert get(s3, bucket, "mp") == body[PKG - 3:2 * PKG + 4]


def test_post_form_sse_s3(sse_server, s3b):
    from collections import OrderedDict

    import requests

    from test_post_object import v4_form

    s3, bucket = s3b
    field, value = "x-amz-server-side-encryption", "AES256"
    conditions = [{"bucket": bucket}, ["starts-with", "$key", ""], {field: value}]
    form = v4_form(sse_server, bucket, conditions,
                   OrderedDict([("key", "posted"), (field, value)]))
    files = OrderedDict((k, (None, v)) for k, v in form.items())
    files["file"] = b"posted-bytes"
    r = requests.post(f"{sse_server.endpoint}/{bucket}", files=files, allow_redirects=False,
                      verify=sse_server.verify)
    assert r.status_code in (200, 204), r.content
    assert s3.head_object(Bucket=bucket, Key="posted")["ServerSideEncryption"] == "AES256"
    assert get(s3, bucket, "posted") == b"posted-bytes"
