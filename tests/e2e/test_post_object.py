"""POST Object (browser form uploads), sent with requests as a browser form would be: SigV2
and SigV4 policy signatures, policy conditions, form metadata and tags, and the
``success_action_*`` answers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from collections import OrderedDict
from urllib.parse import parse_qs, urlsplit

import requests

from harness import REGION, MiB, xml_error_code


def _expiry(seconds=600):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def v2_form(server, bucket, conditions, fields, *, expires=None, secret=None):
    """Form fields signed with SigV2 (HMAC-SHA1 of the base64 policy)."""
    policy = base64.b64encode(
        json.dumps({"expiration": expires or _expiry(), "conditions": conditions}).encode()
    )
    sig = base64.b64encode(
        hmac.new((secret or server.secret_key).encode(), policy, hashlib.sha1).digest()
    )
    form = OrderedDict(fields)
    form.update(AWSAccessKeyId=server.access_key, policy=policy, signature=sig)
    return form


def v4_form(server, bucket, conditions, fields):
    """Form fields signed with SigV4 (the policy names the credential, date and algorithm)."""
    now = dt.datetime.now(dt.timezone.utc)
    date, amz_date = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{server.access_key}/{date}/{REGION}/s3/aws4_request"
    conditions = conditions + [
        {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        {"x-amz-credential": credential},
        {"x-amz-date": amz_date},
    ]
    policy = base64.b64encode(
        json.dumps({"expiration": _expiry(), "conditions": conditions}).encode()
    ).decode()

    def sign(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = sign(("AWS4" + server.secret_key).encode(), date)
    for part in (REGION, "s3", "aws4_request"):
        key = sign(key, part)
    form = OrderedDict(fields)
    form.update({
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": amz_date,
        "policy": policy,
        "x-amz-signature": hmac.new(key, policy.encode(), hashlib.sha256).hexdigest(),
    })
    return form


def post(server, bucket, form, data=b"bar", filename=None):
    files = OrderedDict((k, (None, v)) for k, v in form.items())
    files["file"] = (filename, data) if filename else data
    return requests.post(f"{server.endpoint}/{bucket}", files=files, allow_redirects=False)


BASE = lambda bucket: [  # noqa: E731
    {"bucket": bucket},
    ["starts-with", "$key", "foo"],
    {"acl": "private"},
    ["starts-with", "$Content-Type", "text/"],
    ["content-length-range", 0, 1024],
]
FIELDS = [("key", "foo.txt"), ("acl", "private"), ("Content-Type", "text/plain")]


def test_sigv2_form_upload(server, s3, bucket):
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), FIELDS))
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket=bucket, Key="foo.txt")
    assert got["Body"].read() == b"bar"
    assert got["ContentType"] == "text/plain"
    assert r.headers["etag"] == got["ETag"]


def test_sigv4_form_upload_with_metadata_and_tags(server, s3, bucket):
    conditions = BASE(bucket) + [
        ["starts-with", "$x-amz-meta-color", ""],
        ["starts-with", "$x-amz-tagging", ""],
    ]
    fields = FIELDS + [("x-amz-meta-color", "blue"), ("x-amz-tagging", "b=2&a=1")]
    r = post(server, bucket, v4_form(server, bucket, conditions, fields))
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket=bucket, Key="foo.txt")
    assert got["Metadata"] == {"color": "blue"}
    tags = s3.get_object_tagging(Bucket=bucket, Key="foo.txt")["TagSet"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("a", "1"), ("b", "2")]


def test_success_action_status(server, s3, bucket):
    conditions = BASE(bucket) + [["starts-with", "$success_action_status", ""]]

    r = post(server, bucket, v2_form(server, bucket, conditions, FIELDS + [("success_action_status", "201")]))
    assert r.status_code == 201
    doc = ET.fromstring(r.content)
    etag = s3.head_object(Bucket=bucket, Key="foo.txt")["ETag"]
    assert doc.find("Key").text == "foo.txt"
    assert doc.find("Bucket").text == bucket
    assert doc.find("ETag").text == etag  # quoted, as S3 writes it

    r = post(server, bucket, v2_form(server, bucket, conditions, FIELDS + [("success_action_status", "200")]))
    assert r.status_code == 200 and r.content == b""
    # Any other value means the default, 204.
    r = post(server, bucket, v2_form(server, bucket, conditions, FIELDS + [("success_action_status", "404")]))
    assert r.status_code == 204 and r.content == b""


def test_success_action_redirect(server, s3, bucket):
    target = "https://example.test/done?x=1"
    conditions = BASE(bucket) + [["eq", "$success_action_redirect", target]]
    fields = FIELDS + [("success_action_redirect", target)]
    r = post(server, bucket, v2_form(server, bucket, conditions, fields))
    assert r.status_code == 303
    loc = urlsplit(r.headers["location"])
    assert (loc.scheme, loc.netloc, loc.path) == ("https", "example.test", "/done")
    q = parse_qs(loc.query)
    etag = s3.head_object(Bucket=bucket, Key="foo.txt")["ETag"]
    assert q == {"x": ["1"], "bucket": [bucket], "key": ["foo.txt"], "etag": [etag]}


def test_policy_is_enforced(server, s3, bucket):
    # Too large for content-length-range.
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), FIELDS), data=b"x" * 2000)
    assert r.status_code == 400 and xml_error_code(r.content) == "EntityTooLarge"
    # Expired policy.
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), FIELDS, expires="2001-01-01T00:00:00Z"))
    assert r.status_code == 403
    # Wrong secret: the signature does not match.
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), FIELDS, secret="wrong-secret"))
    assert r.status_code == 403 and xml_error_code(r.content) == "SignatureDoesNotMatch"
    # A field the policy does not cover.
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), FIELDS + [("x-amz-meta-a", "b")]))
    assert r.status_code == 403
    # The key does not satisfy starts-with.
    fields = [("key", "other.txt")] + FIELDS[1:]
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), fields))
    assert r.status_code == 403 and xml_error_code(r.content) == "AccessDenied", r.content
    # Invalid tags in the form.
    conditions = BASE(bucket) + [["starts-with", "$x-amz-tagging", ""]]
    tagged = FIELDS + [("x-amz-tagging", "&".join(f"k{i}=v" for i in range(11)))]
    r = post(server, bucket, v2_form(server, bucket, conditions, tagged))
    assert r.status_code == 400 and xml_error_code(r.content) == "InvalidTag"
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_form_file_size_is_bounded(server, s3, bucket):
    """s3s holds a form's file in memory: the server caps it (64 MiB) below S3's 5 GB."""
    conditions = BASE(bucket)[:-1] + [["content-length-range", 0, 1 << 30]]
    r = post(server, bucket, v2_form(server, bucket, conditions, FIELDS), data=b"x" * (64 * MiB + 1))
    assert r.status_code == 400 and xml_error_code(r.content) == "EntityTooLarge"
    r = post(server, bucket, v2_form(server, bucket, conditions, FIELDS), data=b"y" * (5 * MiB))
    assert r.status_code == 204
    assert s3.head_object(Bucket=bucket, Key="foo.txt")["ContentLength"] == 5 * MiB


def test_unsigned_form_to_private_bucket_is_refused(server, s3, bucket):
    r = post(server, bucket, OrderedDict(FIELDS))
    assert r.status_code == 403
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_form_acl_and_tagging_fields(server, s3, bucket):
    # S3 reads the canned ACL from an `acl` field and tags from a `tagging` document.
    tagging = "<Tagging><TagSet><Tag><Key>k</Key><Value>v w</Value></Tag></TagSet></Tagging>"
    conditions = BASE(bucket)[:2] + [{"acl": "public-read"}, ["starts-with", "$Content-Type", ""],
                                     ["eq", "$tagging", tagging]]
    fields = [("key", "foo.txt"), ("acl", "public-read"), ("Content-Type", "text/plain"),
              ("tagging", tagging)]
    r = post(server, bucket, v4_form(server, bucket, conditions, fields))
    assert r.status_code == 204, r.text
    anonymous = requests.get(f"{server.endpoint}/{bucket}/foo.txt")
    assert anonymous.status_code == 200 and anonymous.content == b"bar"
    tags = s3.get_object_tagging(Bucket=bucket, Key="foo.txt")["TagSet"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("k", "v w")]


def test_key_from_filename(server, s3, bucket):
    fields = [("key", "foo/${filename}")] + FIELDS[1:]
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), fields), filename="pic.txt")
    assert r.status_code == 204, r.text
    assert s3.get_object(Bucket=bucket, Key="foo/pic.txt")["Body"].read() == b"bar"


def test_checksum_field_needs_no_condition(server, s3, bucket):
    sha = base64.b64encode(hashlib.sha256(b"bar").digest()).decode()
    fields = FIELDS + [("x-amz-checksum-sha256", sha)]
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), fields))
    assert r.status_code == 204, r.text
    head = s3.head_object(Bucket=bucket, Key="foo.txt", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha
    # ... and it is verified.
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    fields = FIELDS + [("x-amz-checksum-sha256", wrong)]
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), fields))
    assert r.status_code == 400 and xml_error_code(r.content) == "BadDigest", r.text


def test_policy_document_rules(server, s3, bucket, make_bucket):
    # The expiration must be ISO 8601 UTC.
    r = post(server, bucket, v2_form(server, bucket, BASE(bucket), FIELDS,
                                     expires="2099-01-01 00:00:00+00:00"))
    assert r.status_code == 400 and xml_error_code(r.content) == "InvalidPolicyDocument"
    # A policy without its signature.
    form = v2_form(server, bucket, BASE(bucket), FIELDS)
    del form["signature"]
    r = post(server, bucket, form)
    assert r.status_code == 400 and xml_error_code(r.content) == "InvalidArgument"
    # A form for another bucket.
    _, other = make_bucket(server)
    form = v2_form(server, bucket, BASE(bucket), FIELDS + [("bucket", bucket)])
    r = post(server, other, form)
    assert r.status_code == 403 and xml_error_code(r.content) == "AccessDenied"
    assert s3.list_objects_v2(Bucket=other).get("KeyCount") == 0
