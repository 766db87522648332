"""The admin prefixes are reserved (issue 11, item 11): `/rustfs/admin/...` and
`/minio/admin/...` never reach S3 routing, an admin call the server does not have is answered
as MinIO answers it (426 XMinioAdminVersionMismatch, JSON) once the root signature is checked,
and no bucket may be named `rustfs` or `minio`.
"""

from __future__ import annotations

import pytest
import requests

from harness import ALT, EMPTY_SHA256, expect_error, raw_request, sigv4_headers


def admin_call(server, method, path, region="us-east-1", access_key=None, secret_key=None):
    host = f"{server.host}:{server.port}"
    hdrs = sigv4_headers(method, host, path, [], {}, EMPTY_SHA256,
                         access_key or server.access_key, secret_key or server.secret_key,
                         region=region)
    return requests.request(method, f"{server.endpoint}{path}", headers=hdrs,
                            verify=server.verify)


@pytest.mark.parametrize("path", [
    "/minio/admin/v3/no-such-call",
    "/minio/admin/v3/heal",
    "/rustfs/admin/v3/no-such-call",
    "/rustfs/admin/v1/no-such-call",
])
def test_unknown_admin_calls_answer_as_minio(server, path):
    r = admin_call(server, "GET", path)
    assert r.status_code == 426, r.content
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["Code"] == "XMinioAdminVersionMismatch"
    assert body["Message"] == "This 'admin' API is not supported by this server"
    assert body["Resource"] == path


def test_other_admin_versions_are_told_which_to_use(server):
    r = admin_call(server, "GET", "/minio/admin/v4/info")
    assert r.status_code == 426 and "expected 'v3'" in r.json()["Message"]
    r = admin_call(server, "PUT", "/minio/admin/v2/add-user")
    assert r.status_code == 426 and "please upgrade the client" in r.json()["Message"]


def test_admin_clients_sign_with_an_empty_region(server):
    """madmin signs admin calls with an empty region in the credential scope."""
    r = admin_call(server, "GET", "/minio/admin/v3/info", region="")
    assert r.status_code == 200 and r.json()["mode"] == "online", r.content
    r = admin_call(server, "GET", "/rustfs/admin/v1/status", region="")
    assert r.status_code == 200 and "volumes" in r.json()


def test_admin_paths_need_the_root_signature(server, users_server):
    r = requests.get(f"{server.endpoint}/minio/admin/v3/info")
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content, r.content
    r = requests.put(f"{server.endpoint}/rustfs/admin/v3/add-user?accessKey=x", data=b"{}")
    assert r.status_code == 403, r.content
    r = admin_call(users_server, "GET", "/minio/admin/v3/info",
                   access_key=ALT["access_key"], secret_key=ALT["secret_key"])
    assert r.status_code == 403, r.content


@pytest.mark.parametrize("path", ["/minio/admin", "/rustfs/admin/", "/minio/admin/v3/x/y"])
def test_admin_prefixes_never_reach_s3_routing(server, path):
    for method in ("GET", "PUT", "DELETE"):
        r = raw_request(server, method, path)
        assert r.status == 426, (method, path, r.status, r.body)
        assert b"NoSuchBucket" not in r.body


def test_existing_admin_api_still_answers(server):
    r = admin_call(server, "GET", "/rustfs/admin/v1/status")
    assert r.status_code == 200 and "volumes" in r.json()


@pytest.mark.parametrize("name", ["rustfs", "minio"])
def test_reserved_bucket_names_are_refused(server, vhost_server, name):
    for srv in (server, vhost_server):
        s3 = srv.client()
        expect_error(s3.create_bucket, Bucket=name, code="InvalidBucketName", status=400)
        assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    r = raw_request(server, "PUT", f"/{name}")
    assert (r.status, r.error_code) == (400, "InvalidBucketName"), r.body


def test_names_around_the_reserved_ones_are_fine(server):
    s3 = server.client()
    for name in ("rustfs-data", "minio2"):
        s3.create_bucket(Bucket=name)
        s3.delete_bucket(Bucket=name)
