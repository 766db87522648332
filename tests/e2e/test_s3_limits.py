"""Limits S3 enforces (issue 11, item 10): a body over 5 GiB (EntityTooLarge, decided from
the declared length before any byte is read), user metadata over 2 KB (MetadataTooLarge),
a signature scoped to another region (AuthorizationHeaderMalformed /
AuthorizationQueryParametersError, naming the expected <Region>), and Range positions past
the object or past u64 (clamped to the object, as S3 serves them).
"""

from __future__ import annotations

import hashlib
import socket
import xml.etree.ElementTree as ET
from collections import OrderedDict

import boto3
import pytest
import requests
from botocore.config import Config

from harness import (
    REGION,
    STREAMING_UNSIGNED_TRAILER,
    expect_error,
    sigv4_headers,
    xml_error_code,
)
from test_post_object import v4_form

GiB = 1 << 30
TOO_LARGE = 5 * GiB + 1
UNSIGNED = "UNSIGNED-PAYLOAD"


def error_field(body: bytes, name: str) -> str | None:
    node = ET.fromstring(body).find(name)
    return None if node is None else node.text


def send_head_only(server, method, path, query, headers, prefix: bytes, payload_hash=UNSIGNED):
    """Send a signed request's head and the first bytes of its body, then read the answer
    without sending the rest (the server must answer from the head alone)."""
    host = f"{server.host}:{server.port}"
    signed = sigv4_headers(method, host, path, query, headers, payload_hash,
                           server.access_key, server.secret_key)
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in signed.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode() + prefix)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head_part, _, rest = data.partition(b"\r\n\r\n")
        lines = head_part.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        length = int(hdrs.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, hdrs, rest[:length]


# --------------------------------------------------------------------------
# 5 GiB bodies
# --------------------------------------------------------------------------


def test_put_over_5gib_is_refused_from_its_content_length(server, s3, bucket):
    status, _, body = send_head_only(
        server, "PUT", f"/{bucket}/huge", [], {"content-length": str(TOO_LARGE)}, b"x" * 10)
    assert (status, xml_error_code(body)) == (400, "EntityTooLarge"), body
    expect_error(s3.head_object, Bucket=bucket, Key="huge", code="404", status=404)


def test_put_over_5gib_with_expect_continue_gets_no_100(server, s3, bucket):
    status, _, body = send_head_only(
        server, "PUT", f"/{bucket}/huge",
        [], {"content-length": str(TOO_LARGE), "expect": "100-continue"}, b"")
    assert (status, xml_error_code(body)) == (400, "EntityTooLarge"), body


def test_aws_chunked_put_over_5gib_is_refused_from_its_decoded_length(server, s3, bucket):
    status, _, body = send_head_only(
        server, "PUT", f"/{bucket}/huge", [],
        {
            "content-encoding": "aws-chunked",
            "content-length": str(TOO_LARGE + 1000),
            "x-amz-decoded-content-length": str(TOO_LARGE),
            "x-amz-trailer": "x-amz-checksum-crc32",
        },
        b"10000\r\n" + b"x" * 100, payload_hash=STREAMING_UNSIGNED_TRAILER)
    assert (status, xml_error_code(body)) == (400, "EntityTooLarge"), body
    expect_error(s3.head_object, Bucket=bucket, Key="huge", code="404", status=404)


def test_upload_part_over_5gib_is_refused(server, s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    status, _, body = send_head_only(
        server, "PUT", f"/{bucket}/mp", [("partNumber", "1"), ("uploadId", up)],
        {"content-length": str(TOO_LARGE)}, b"x" * 10)
    assert (status, xml_error_code(body)) == (400, "EntityTooLarge"), body
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=up).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=up)


# --------------------------------------------------------------------------
# 2 KB of user metadata
# --------------------------------------------------------------------------

FITS = {"k": "v" * 2047}  # 1 + 2047 = 2048 bytes: the limit
OVER = {"k": "v" * 2048}
SPREAD = {f"key{i:02d}": "v" * 60 for i in range(33)}  # 33 * 65 = 2145 bytes
HUGE = {f"m{i}": "v" * 9000 for i in range(10)}  # 90 KB, as in the report


def test_put_metadata_limit(s3, bucket):
    s3.put_object(Bucket=bucket, Key="fits", Body=b"x", Metadata=FITS)
    assert s3.head_object(Bucket=bucket, Key="fits")["Metadata"] == FITS
    for n, meta in enumerate([OVER, SPREAD, HUGE]):
        expect_error(s3.put_object, Bucket=bucket, Key=f"over{n}", Body=b"x", Metadata=meta,
                     code="MetadataTooLarge", status=400)
        expect_error(s3.head_object, Bucket=bucket, Key=f"over{n}", code="404", status=404)


def test_copy_replace_and_multipart_metadata_limit(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Metadata=FITS)
    src = {"Bucket": bucket, "Key": "src"}
    expect_error(s3.copy_object, Bucket=bucket, Key="dst", CopySource=src,
                 MetadataDirective="REPLACE", Metadata=OVER, code="MetadataTooLarge", status=400)
    expect_error(s3.head_object, Bucket=bucket, Key="dst", code="404", status=404)
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=src, MetadataDirective="REPLACE",
                   Metadata=FITS)
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=src)
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == FITS
    expect_error(s3.create_multipart_upload, Bucket=bucket, Key="mp", Metadata=OVER,
                 code="MetadataTooLarge", status=400)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_post_form_metadata_limit(server, s3, bucket):
    def post(meta_value):
        field = "x-amz-meta-k"
        conditions = [{"bucket": bucket}, ["starts-with", "$key", ""], {field: meta_value}]
        form = v4_form(server, bucket, conditions,
                       OrderedDict([("key", "posted"), (field, meta_value)]))
        files = OrderedDict((k, (None, v)) for k, v in form.items())
        files["file"] = b"data"
        return requests.post(f"{server.endpoint}/{bucket}", files=files, allow_redirects=False)

    r = post("v" * 2048)
    assert (r.status_code, xml_error_code(r.content)) == (400, "MetadataTooLarge"), r.content
    expect_error(s3.head_object, Bucket=bucket, Key="posted", code="404", status=404)
    r = post("v" * 2047)
    assert r.status_code == 204, r.content


# --------------------------------------------------------------------------
# The region of a signature's scope
# --------------------------------------------------------------------------


def test_header_signature_for_another_region(server, bucket):
    host = f"{server.host}:{server.port}"
    hdrs = sigv4_headers("GET", host, f"/{bucket}", [], {}, hashlib.sha256(b"").hexdigest(),
                         server.access_key, server.secret_key, region="eu-west-1")
    r = requests.get(f"{server.endpoint}/{bucket}", headers=hdrs)
    assert (r.status_code, xml_error_code(r.content)) == (400, "AuthorizationHeaderMalformed")
    assert error_field(r.content, "Message") == (
        "The authorization header is malformed; the region 'eu-west-1' is wrong; "
        "expecting 'us-east-1'")
    assert error_field(r.content, "Region") == REGION
    assert error_field(r.content, "RequestId") == r.headers["x-amz-request-id"]


def test_server_region_is_accepted(server, bucket):
    host = f"{server.host}:{server.port}"
    hdrs = sigv4_headers("GET", host, f"/{bucket}", [], {}, hashlib.sha256(b"").hexdigest(),
                         server.access_key, server.secret_key, region=REGION)
    r = requests.get(f"{server.endpoint}/{bucket}", headers=hdrs)
    assert r.status_code == 200, r.content


def test_boto3_client_in_another_region(server):
    s3 = boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="eu-west-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
        config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
    )
    expect_error(s3.list_buckets, code="AuthorizationHeaderMalformed", status=400)


def test_presigned_url_for_another_region(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    other = boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="eu-west-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url = other.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    r = requests.get(url)
    assert (r.status_code, xml_error_code(r.content)) == (
        400, "AuthorizationQueryParametersError"), r.content
    assert "the region 'eu-west-1' is wrong; expecting 'us-east-1'" in error_field(
        r.content, "Message")
    assert error_field(r.content, "Region") == REGION
    good = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert requests.get(good).content == b"hello"


def test_post_form_for_another_region(server, s3, bucket, monkeypatch):
    import test_post_object

    monkeypatch.setattr(test_post_object, "REGION", "eu-west-1")
    form = v4_form(server, bucket, [{"bucket": bucket}, ["starts-with", "$key", ""]],
                   OrderedDict([("key", "posted")]))
    files = OrderedDict((k, (None, v)) for k, v in form.items())
    files["file"] = b"data"
    r = requests.post(f"{server.endpoint}/{bucket}", files=files, allow_redirects=False)
    assert (r.status_code, xml_error_code(r.content)) == (400, "AuthorizationHeaderMalformed")
    expect_error(s3.head_object, Bucket=bucket, Key="posted", code="404", status=404)


# --------------------------------------------------------------------------
# Range positions past the object and past u64
# --------------------------------------------------------------------------

DATA = bytes(range(100))


CLAMPED = [
    ("bytes=0-18446744073709551615", 0),
    ("bytes=0-9223372036854775808", 0),
    ("bytes=50-99999999999999999999999999", 50),
    ("bytes=99-1000", 99),
    ("bytes=-18446744073709551616", 0),
]
UNSATISFIABLE = [
    "bytes=100-",
    "bytes=18446744073709551616-",
    "bytes=99999999999999999999999999-99999999999999999999999999",
]


@pytest.fixture
def ranged(s3, bucket):
    """A 100-byte object and an unsigned-header way to read it: a presigned URL (SigV4 signs
    only `host` there, so the Range header is the client's own)."""
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    return {
        m: s3.generate_presigned_url(op, Params={"Bucket": bucket, "Key": "r"})
        for m, op in (("GET", "get_object"), ("HEAD", "head_object"))
    }


@pytest.mark.parametrize("spec,start", CLAMPED)
def test_range_past_the_end_is_clamped(ranged, spec, start):
    r = requests.get(ranged["GET"], headers={"range": spec})
    assert r.status_code == 206, r.content
    assert r.content == DATA[start:]
    assert r.headers["content-range"] == f"bytes {start}-99/100"
    r = requests.head(ranged["HEAD"], headers={"range": spec})
    # A HEAD that selects a range is answered 206, as S3 does.
    assert r.status_code == 206
    assert r.headers["content-length"] == str(100 - start)
    assert r.headers["content-range"] == f"bytes {start}-99/100"


@pytest.mark.parametrize("spec", UNSATISFIABLE)
def test_range_starting_past_the_end_is_unsatisfiable(ranged, spec):
    r = requests.get(ranged["GET"], headers={"range": spec})
    assert (r.status_code, xml_error_code(r.content)) == (416, "InvalidRange"), r.content


def test_range_clamped_for_anonymous_reads(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="pub", Body=DATA, ACL="public-read")
    r = requests.get(f"{server.endpoint}/{bucket}/pub",
                     headers={"range": "bytes=10-18446744073709551615"})
    assert (r.status_code, r.content) == (206, DATA[10:])


# A Range the client signed: the edge verifies the signature itself, clamps, and signs the
# clamped request again for s3s (rustfs_s3::sigv4_resign); a bad signature is not re-signed.
SIGNED_CLAMPED = [
    ("bytes=0-18446744073709551615", 0),
    ("bytes=5-18446744073709551615", 5),
    ("bytes=5-99999999999999999999999999", 5),
    ("bytes=-99999999999999999999999999", 0),
]
HUGE_RANGE = "bytes=0-18446744073709551615"


@pytest.mark.parametrize("spec,start", SIGNED_CLAMPED)
def test_signed_range_past_i64_is_clamped(s3, bucket, spec, start):
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    got = s3.get_object(Bucket=bucket, Key="r", Range=spec)
    assert got["Body"].read() == DATA[start:]
    assert got["ContentRange"] == f"bytes {start}-99/100"
    head = s3.head_object(Bucket=bucket, Key="r", Range=spec)
    assert head["ContentLength"] == 100 - start
    assert head["ContentRange"] == f"bytes {start}-99/100"
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_signed_range_starting_past_i64_is_unsatisfiable(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    expect_error(s3.get_object, Bucket=bucket, Key="r", Range="bytes=18446744073709551615-",
                 code="InvalidRange", status=416)


def _signed_headers(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit
    return parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0]


@pytest.mark.parametrize("spec,start", SIGNED_CLAMPED)
def test_presigned_url_signing_a_huge_range(s3, bucket, spec, start):
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    url = s3.generate_presigned_url("get_object",
                                    Params={"Bucket": bucket, "Key": "r", "Range": spec})
    assert "range" in _signed_headers(url).split(";")
    r = requests.get(url, headers={"range": spec})
    assert (r.status_code, r.content) == (206, DATA[start:]), r.content
    assert r.headers["content-range"] == f"bytes {start}-99/100"
    # Another Range than the signed one is still refused, clamped or not.
    for other in ("bytes=0-18446744073709551614", "bytes=1-18446744073709551615"):
        r = requests.get(url, headers={"range": other})
        assert (r.status_code, xml_error_code(r.content)) == (403, "SignatureDoesNotMatch")


def test_presigned_url_with_a_wrong_signature_and_a_huge_range_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    url = s3.generate_presigned_url("get_object",
                                    Params={"Bucket": bucket, "Key": "r", "Range": HUGE_RANGE})
    at = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = "0" if url[at] != "0" else "1"
    r = requests.get(url[:at] + flipped + url[at + 1:], headers={"range": HUGE_RANGE})
    assert (r.status_code, xml_error_code(r.content)) == (403, "SignatureDoesNotMatch")


def test_header_signed_huge_range_from_another_signer(server, bucket, s3):
    """The same request signed by the harness' own SigV4 code: served with the right secret,
    refused (403 SignatureDoesNotMatch, not re-signed) with a wrong one or a Range changed
    after signing."""
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    host = server.endpoint.split("://", 1)[1]
    url = f"{server.endpoint}/{bucket}/r"
    unsigned = "UNSIGNED-PAYLOAD"

    def signed(secret, spec=HUGE_RANGE):
        return sigv4_headers("GET", host, f"/{bucket}/r", [], {"range": spec}, unsigned,
                             server.access_key, secret)

    r = requests.get(url, headers=signed(server.secret_key))
    assert (r.status_code, r.content) == (206, DATA), r.content
    r = requests.get(url, headers=signed("not-the-secret"))
    assert (r.status_code, xml_error_code(r.content)) == (403, "SignatureDoesNotMatch")
    changed = signed(server.secret_key, "bytes=1-18446744073709551615")
    changed["range"] = HUGE_RANGE
    r = requests.get(url, headers=changed)
    assert (r.status_code, xml_error_code(r.content)) == (403, "SignatureDoesNotMatch")


def test_signed_range_past_the_end_is_clamped(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=90-9223372036854775807")
    assert got["Body"].read() == DATA[90:]
    assert got["ContentRange"] == "bytes 90-99/100"
