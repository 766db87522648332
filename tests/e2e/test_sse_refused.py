"""Server-side encryption is not implemented yet, so every request asking for it is refused
and nothing is stored (issue 11, item 6): a client told "encrypted" must never hold data that
is stored or served in clear.

- SSE-C over plain HTTP: 400 InvalidRequest, as AWS answers (the key crossed the wire in clear);
- SSE-C over HTTPS: 501 NotImplemented;
- SSE-S3 / SSE-KMS (``x-amz-server-side-encryption`` and its KMS headers): 501 NotImplemented;
- PutBucketEncryption: 501; GetBucketEncryption: 404 ServerSideEncryptionConfigurationNotFoundError.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections import OrderedDict

import pytest
import requests

from harness import expect_error, raw_request, unique_name, xml_error_code
from test_post_object import v4_form

KEY = os.urandom(32)
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
SSE_C_HEADERS = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY).decode(),
    "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(
        hashlib.md5(KEY).digest()
    ).decode(),
}
MANAGED = [
    {"ServerSideEncryption": "AES256"},
    {"ServerSideEncryption": "aws:kms"},
    {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "some-key"},
    {"ServerSideEncryption": "aws:kms:dsse"},
    {"SSEKMSKeyId": "some-key"},
]


def customer_refusal(srv) -> tuple[str, int]:
    """What an SSE-C request gets on this server: 400 over HTTP, 501 over HTTPS."""
    return ("NotImplemented", 501) if srv.is_https else ("InvalidRequest", 400)


def assert_absent(s3, bucket, key):
    expect_error(s3.head_object, Bucket=bucket, Key=key, code="404", status=404)


def test_sse_c_put_is_refused_and_nothing_stored(http_or_https, make_bucket):
    s3, bucket = make_bucket(http_or_https)
    code, status = customer_refusal(http_or_https)
    err = expect_error(
        s3.put_object, Bucket=bucket, Key="secret", Body=b"plaintext", code=code, status=status,
        **SSE_C,
    )
    if not http_or_https.is_https:
        assert "secure connection" in err.response["Error"]["Message"]
    assert_absent(s3, bucket, "secret")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize("args", MANAGED, ids=lambda a: "+".join(f"{k}={v}" for k, v in a.items()))
def test_managed_sse_put_is_not_implemented(http_or_https, make_bucket, args):
    s3, bucket = make_bucket(http_or_https)
    expect_error(
        s3.put_object, Bucket=bucket, Key="k", Body=b"plaintext", code="NotImplemented",
        status=501, **args,
    )
    assert_absent(s3, bucket, "k")


def test_sse_c_reads_are_refused(http_or_https, make_bucket):
    s3, bucket = make_bucket(http_or_https)
    s3.put_object(Bucket=bucket, Key="plain", Body=b"hello")
    code, status = customer_refusal(http_or_https)
    expect_error(s3.get_object, Bucket=bucket, Key="plain", code=code, status=status, **SSE_C)
    # HEAD errors carry no body: botocore reports the status as the code.
    expect_error(s3.head_object, Bucket=bucket, Key="plain", code={code, str(status)},
                 status=status, **SSE_C)
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"hello"


def test_sse_multipart_is_refused(http_or_https, make_bucket):
    s3, bucket = make_bucket(http_or_https)
    code, status = customer_refusal(http_or_https)
    expect_error(s3.create_multipart_upload, Bucket=bucket, Key="mp", code=code, status=status,
                 **SSE_C)
    for args in MANAGED:
        expect_error(s3.create_multipart_upload, Bucket=bucket, Key="mp",
                     code="NotImplemented", status=501, **args)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    # A part sent with a customer key into a plain upload is refused too.
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    expect_error(s3.upload_part, Bucket=bucket, Key="mp", UploadId=up, PartNumber=1,
                 Body=b"part", code=code, status=status, **SSE_C)
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=up).get("Parts", []) == []
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    expect_error(s3.upload_part_copy, Bucket=bucket, Key="mp", UploadId=up, PartNumber=1,
                 CopySource={"Bucket": bucket, "Key": "src"}, code=code, status=status,
                 CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=KEY)
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=up).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=up)


def test_sse_copy_is_refused(http_or_https, make_bucket):
    s3, bucket = make_bucket(http_or_https)
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    src = {"Bucket": bucket, "Key": "src"}
    code, status = customer_refusal(http_or_https)
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource=src, code=code,
                 status=status, **SSE_C)
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource=src, code=code,
                 status=status, CopySourceSSECustomerAlgorithm="AES256",
                 CopySourceSSECustomerKey=KEY)
    for args in MANAGED:
        expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource=src,
                     code="NotImplemented", status=501, **args)
    assert_absent(s3, bucket, "dst")


def test_raw_sse_headers(server, bucket):
    """Hand-signed requests: exactly the headers, nothing an SDK adds or checks."""
    r = raw_request(server, "PUT", f"/{bucket}/c", headers=SSE_C_HEADERS, body=b"plaintext")
    assert (r.status, r.error_code) == (400, "InvalidRequest"), r.body
    only_algorithm = {"x-amz-server-side-encryption-customer-algorithm": "AES256"}
    r = raw_request(server, "PUT", f"/{bucket}/c", headers=only_algorithm, body=b"plaintext")
    assert (r.status, r.error_code) == (400, "InvalidRequest"), r.body
    r = raw_request(server, "PUT", f"/{bucket}/m",
                    headers={"x-amz-server-side-encryption": "AES256"}, body=b"plaintext")
    assert (r.status, r.error_code) == (501, "NotImplemented"), r.body
    r = raw_request(server, "PUT", f"/{bucket}/m",
                    headers={"x-amz-server-side-encryption-bucket-key-enabled": "true"},
                    body=b"plaintext")
    assert (r.status, r.error_code) == (501, "NotImplemented"), r.body
    r = raw_request(server, "PUT", f"/{bucket}/m",
                    headers={"x-amz-server-side-encryption": "rot13"}, body=b"plaintext")
    assert (r.status, r.error_code) == (400, "InvalidArgument"), r.body
    for key in ("c", "m"):
        assert raw_request(server, "HEAD", f"/{bucket}/{key}").status == 404


def _post_form(srv, bucket, field, value):
    conditions = [{"bucket": bucket}, ["starts-with", "$key", ""], {field: value}]
    form = v4_form(srv, bucket, conditions, OrderedDict([("key", "posted"), (field, value)]))
    files = OrderedDict((k, (None, v)) for k, v in form.items())
    files["file"] = b"plaintext"
    return requests.post(f"{srv.endpoint}/{bucket}", files=files, allow_redirects=False,
                         verify=srv.verify)


def test_post_form_sse_fields_are_refused(http_or_https, make_bucket):
    s3, bucket = make_bucket(http_or_https)
    r = _post_form(http_or_https, bucket, "x-amz-server-side-encryption", "AES256")
    assert (r.status_code, xml_error_code(r.content)) == (501, "NotImplemented"), r.content
    code, status = customer_refusal(http_or_https)
    r = _post_form(http_or_https, bucket, "x-amz-server-side-encryption-customer-algorithm",
                   "AES256")
    assert (r.status_code, xml_error_code(r.content)) == (status, code), r.content
    assert_absent(s3, bucket, "posted")


def test_bucket_encryption_is_never_claimed(server, s3, bucket):
    expect_error(
        s3.put_bucket_encryption, Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        code="NotImplemented", status=501,
    )
    expect_error(s3.get_bucket_encryption, Bucket=bucket,
                 code="ServerSideEncryptionConfigurationNotFoundError", status=404)
    s3.delete_bucket_encryption(Bucket=bucket)
    expect_error(s3.get_bucket_encryption, Bucket=unique_name("missing"),
                 code="NoSuchBucket", status=404)
    # Objects written afterwards say nothing about encryption.
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "ServerSideEncryption" not in s3.head_object(Bucket=bucket, Key="k")
