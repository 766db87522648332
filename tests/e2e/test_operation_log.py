"""Each request is classified once into a typed operation (crates/s3/src/operation.rs); the
failed-request log line names it (`op`), whatever refused the request: the access check, the
operation itself, or the admin API's root check. A request refused before s3s routes it has
no operation (`-`).
"""

from __future__ import annotations

import re

import pytest
import requests
from botocore.exceptions import ClientError

from harness import RustfsProcess, S3Server


@pytest.fixture
def debug_server(tmp_path):
    # Refusals (4xx) are logged at debug level.
    proc = RustfsProcess(tmp_path, extra_env={"RUST_LOG": "info,rustfs=debug,rustfs_s3=debug"})
    proc.start()
    yield S3Server(name="debug", process=proc, endpoint=proc.url)
    proc.stop()


def logged_op(proc, request_id):
    """The `op` of the failure line logged for `request_id`."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.log_path.read_text("utf-8", "replace"))
    lines = [l for l in text.splitlines() if request_id in l and "request " in l]
    assert lines, f"no failure line for {request_id}\n{proc.log_tail()}"
    m = re.search(r'\bop="?([A-Za-z-]+)"?', lines[-1])
    assert m, lines[-1]
    return m.group(1)


def test_failures_are_logged_with_their_operation(debug_server):
    proc = debug_server
    s3 = proc.client()
    s3.create_bucket(Bucket="oplog")
    s3.put_object(Bucket="oplog", Key="private", Body=b"x")

    # Refused by the access check: an anonymous read of a private object.
    r = requests.get(f"{proc.endpoint}/oplog/private")
    assert r.status_code == 403, r.content
    assert logged_op(proc, r.headers["x-amz-request-id"]) == "GetObject"

    # Refused by the operation, after access was granted: a version that does not exist.
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket="oplog", Key="private", VersionId="nosuchversion")
    rid = e.value.response["ResponseMetadata"]["RequestId"]
    assert logged_op(proc, rid) == "DeleteObject"

    # An operation s3s routes that this server does not serve keeps s3s' name.
    with pytest.raises(ClientError) as e:
        s3.get_bucket_logging(Bucket="oplog")
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    rid = e.value.response["ResponseMetadata"]["RequestId"]
    assert logged_op(proc, rid) == "GetBucketLogging"

    # The admin API, unsigned.
    r = requests.get(f"{proc.endpoint}/rustfs/admin/v1/status")
    assert r.status_code == 403, r.content
    assert logged_op(proc, r.headers["x-amz-request-id"]) == "AdminStatus"

    # Refused before s3s routes it (no such method in S3): no operation.
    r = requests.request("PATCH", f"{proc.endpoint}/oplog/private")
    assert r.status_code >= 400, r.content
    assert logged_op(proc, r.headers["x-amz-request-id"]) == "-"
