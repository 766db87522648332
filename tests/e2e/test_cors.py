"""Bucket CORS: the configuration API (boto3), preflight ``OPTIONS`` requests (unsigned, as
browsers send them, also on presigned URLs) and ``Access-Control-*`` headers on actual requests
that carry an ``Origin``.
"""

from __future__ import annotations

import pytest
import requests

from harness import expect_error, xml_error_code

RULES = [
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["*suffix"]},
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["start*end"]},
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["prefix*"]},
    {
        "AllowedMethods": ["PUT", "POST"],
        "AllowedOrigins": ["*.put"],
        "AllowedHeaders": ["x-amz-meta-*", "Content-Type"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
        "MaxAgeSeconds": 600,
        "ID": "writers",
    },
]


def url_of(server, bucket, key=None):
    return f"{server.endpoint}/{bucket}" + (f"/{key}" if key else "")


def acao(resp):
    return resp.headers.get("access-control-allow-origin")


def acam(resp):
    return resp.headers.get("access-control-allow-methods")


def test_cors_configuration_round_trip(s3, bucket):
    expect_error(s3.get_bucket_cors, Bucket=bucket, code="NoSuchCORSConfiguration", status=404)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got == RULES
    resp = s3.delete_bucket_cors(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3.get_bucket_cors, Bucket=bucket, code="NoSuchCORSConfiguration", status=404)
    expect_error(
        s3.get_bucket_cors, Bucket=bucket + "-missing", code="NoSuchBucket", status=404
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]},
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*.a.*"]},
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "AllowedHeaders": ["x-*-*"]},
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "ExposeHeaders": ["*"]},
    ],
)
def test_invalid_cors_rules_are_refused(s3, bucket, rule):
    expect_error(
        s3.put_bucket_cors, Bucket=bucket, CORSConfiguration={"CORSRules": [rule]},
        code="InvalidRequest", status=400,
    )
    expect_error(s3.get_bucket_cors, Bucket=bucket, code="NoSuchCORSConfiguration", status=404)


def test_preflight(server, s3, bucket):
    obj = url_of(server, bucket, "obj")
    # Without Origin, or without a requested method: 400, even before any configuration.
    r = requests.options(obj)
    assert r.status_code == 400 and xml_error_code(r.content) == "BadRequest"
    assert requests.options(obj, headers={"Origin": "foo.suffix"}).status_code == 400
    # No configuration: 403.
    r = requests.options(obj, headers={"Origin": "foo.suffix", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403 and acao(r) is None

    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})

    def preflight(origin, method, headers=None, url=obj):
        h = {"Origin": origin, "Access-Control-Request-Method": method}
        if headers:
            h["Access-Control-Request-Headers"] = headers
        return requests.options(url, headers=h)

    for origin, ok in [
        ("foo.suffix", True), ("foo.bar", False), ("foo.suffix.get", False),
        ("startend", True), ("start12end", True), ("0start12end", False),
        ("prefix", True), ("prefix.suffix", True), ("bla.prefix", False),
    ]:
        r = preflight(origin, "GET", url=url_of(server, bucket))
        assert r.status_code == (200 if ok else 403), origin
        assert acao(r) == (origin if ok else None)
        assert acam(r) == ("GET" if ok else None)

    assert preflight("foo.put", "GET").status_code == 403
    r = preflight("foo.put", "PUT", headers="X-Amz-Meta-A, content-type")
    assert r.status_code == 200
    assert acao(r) == "foo.put" and acam(r) == "PUT, POST"
    assert r.headers["access-control-allow-headers"] == "x-amz-meta-a, content-type"
    assert r.headers["access-control-max-age"] == "600"
    assert r.headers["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert r.headers["access-control-allow-credentials"] == "true"
    # A requested header no rule allows fails the preflight.
    assert preflight("foo.put", "PUT", headers="authorization").status_code == 403

    missing = preflight("foo.suffix", "GET", url=url_of(server, bucket + "-missing", "o"))
    assert missing.status_code == 404


def test_preflight_on_presigned_urls(server, s3, bucket):
    """The preflight carries the URL's query signature (made for GET/PUT); it is not checked."""
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["example"]},
        ]},
    )
    for method, http_method in [("get_object", "GET"), ("put_object", "PUT")]:
        url = s3.generate_presigned_url(
            method, Params={"Bucket": bucket, "Key": "foo"}, ExpiresIn=600, HttpMethod=http_method
        )
        assert requests.options(url).status_code == 400
        r = requests.options(
            url, headers={"Origin": "example", "Access-Control-Request-Method": http_method}
        )
        assert r.status_code == 200
        assert acao(r) == "example" and acam(r) == "GET, PUT"


def test_actual_requests_get_cors_headers(server, s3, bucket):
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "ExposeHeaders": ["x-amz-meta-a"]},
            {"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://*.example.com"]},
        ]},
    )
    s3.put_object(Bucket=bucket, Key="obj", Body=b"hello")
    get = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "obj"})
    r = requests.get(get)
    assert r.status_code == 200 and acao(r) is None

    r = requests.get(get, headers={"Origin": "https://anywhere.test"})
    assert r.status_code == 200 and r.content == b"hello"
    assert acao(r) == "*" and acam(r) == "GET"
    assert r.headers["access-control-expose-headers"] == "x-amz-meta-a"

    put = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    r = requests.put(put, data=b"x", headers={"Origin": "https://app.example.com"})
    assert r.status_code == 200
    assert acao(r) == "https://app.example.com" and acam(r) == "PUT"
    r = requests.put(put, data=b"x", headers={"Origin": "https://example.com"})
    assert r.status_code == 200 and acao(r) is None

    # Error answers carry the headers too (a browser needs them to read the error).
    missing = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "missing"})
    r = requests.get(missing, headers={"Origin": "o"})
    assert r.status_code == 404 and acao(r) == "*"
    r = requests.get(f"{server.endpoint}/{bucket}/obj", headers={"Origin": "o"})
    assert r.status_code == 403 and acao(r) == "*"


def test_virtual_host_preflight(vhost_server, make_bucket):
    s3, bucket = make_bucket(vhost_server)
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    host = vhost_server.endpoint.split("//", 1)[1]
    url = f"http://{bucket}.{host}/key"
    r = requests.options(url, headers={"Origin": "o", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 200 and acao(r) == "*"
