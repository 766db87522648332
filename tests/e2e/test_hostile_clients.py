"""Hostile and careless clients: what the server reads, holds and logs for them.

* An anonymous request whose answer does not depend on its body (DeleteObjects, tagging,
  policy, ACL, CORS, completion... on a private bucket) is refused before its body is read:
  the 403 arrives while the client is still sending, and two dozen such requests held open
  do not grow the server's memory.
* Bodies held whole in memory (XML documents, browser forms, uploads without a length) share
  one bound (``RUSTFS_BUFFERED_BODIES_MIB``); past it the answer is 503 SlowDown.
* The log: no ERROR line for a refusal, a malformed document, a client that stops sending or
  an oversized document, and never the body's text; an XML body over 20 MiB is a 400
  (MaxMessageLengthExceeded), not a 500.

Each server here is this module's own, so its log holds only these requests.
"""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import pytest

from harness import ANSI_RE, MiB, RustfsProcess, S3Server, raw_request, unique_name

RESPONSE_TIMEOUT = 10.0


def _start(tmp_path_factory, name: str, **env) -> RustfsProcess:
    proc = RustfsProcess(tmp_path_factory.mktemp(name), extra_env=env)
    proc.start()
    return proc


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    proc = _start(tmp_path_factory, "hostile")
    yield S3Server("http", proc, proc.url)
    proc.stop()


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    """A server that holds at most 2 MiB of buffered bodies at once."""
    proc = _start(tmp_path_factory, "hostile-tight", RUSTFS_BUFFERED_BODIES_MIB="2")
    yield S3Server("http", proc, proc.url)
    proc.stop()


def _private_bucket(server: S3Server) -> str:
    s3 = server.client()
    bucket = unique_name("hostile")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"private")
    return bucket


def _open(server: S3Server, method: str, target: str, headers: dict[str, str]) -> socket.socket:
    """A connection that has sent the request line and headers (no body yet)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=RESPONSE_TIMEOUT)
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    return sock


def _send_some(sock: socket.socket, total: int, chunk: int = 64 * 1024) -> int:
    """Sends up to ``total`` body bytes, stopping when the server stops taking them."""
    sent = 0
    sock.settimeout(1.0)
    try:
        while sent < total:
            sent += sock.send(b"x" * min(chunk, total - sent))
    except OSError:  # the server answered and closed, or stopped reading
        pass
    sock.settimeout(RESPONSE_TIMEOUT)
    return sent


def _read_status(sock: socket.socket) -> tuple[int, bytes]:
    """The status and what arrived of the answer (headers and some body)."""
    data = b""
    deadline = time.monotonic() + RESPONSE_TIMEOUT
    while b"\r\n\r\n" not in data or b"</Error>" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            got = sock.recv(65536)
        except socket.timeout:
            break
        if not got:
            break
        data += got
    m = re.match(rb"HTTP/1\.1 (\d{3})", data)
    assert m, f"no answer within {RESPONSE_TIMEOUT}s: {data[:200]!r}"
    return int(m.group(1)), data


def _rss_kib(proc: RustfsProcess) -> int:
    for line in Path(f"/proc/{proc.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc status")


def _log_lines(server: S3Server) -> list[str]:
    text = server.log_path.read_text("utf-8", "replace")
    return [ANSI_RE.sub("", line) for line in text.splitlines()]


def _errors_since(server: S3Server, start: int) -> list[str]:
    time.sleep(0.3)  # the server writes its log line after answering
    return [line for line in _log_lines(server)[start:] if " ERROR " in f" {line} "]


# Anonymous requests with a body, to a private bucket: (method, target under the bucket).
BODY_OPERATIONS = [
    ("POST", "?delete"),  # DeleteObjects
    ("PUT", "/k?tagging"),  # PutObjectTagging
    ("PUT", "?tagging"),  # PutBucketTagging
    ("PUT", "?policy"),  # PutBucketPolicy
    ("PUT", "?cors"),  # PutBucketCors
    ("PUT", "?acl"),  # PutBucketAcl
    ("PUT", "/k?acl"),  # PutObjectAcl
    ("POST", "/k?uploadId=0123456789abcdef"),  # CompleteMultipartUpload
]


@pytest.mark.parametrize("method,suffix", BODY_OPERATIONS)
def test_anonymous_body_is_refused_before_it_is_read(plain, method, suffix):
    bucket = _private_bucket(plain)
    sock = _open(plain, method, f"/{bucket}{suffix}", {"Content-Length": "19000000", "Content-Type": "application/xml"})
    try:
        _send_some(sock, 256 * 1024)
        status, answer = _read_status(sock)
    finally:
        sock.close()
    assert status == 403, answer[:300]
    assert b"<Code>AccessDenied</Code>" in answer


def test_held_open_anonymous_bodies_do_not_grow_memory(plain):
    bucket = _private_bucket(plain)
    before = _rss_kib(plain.process)
    socks = []
    try:
        for i in range(24):
            target = f"/{bucket}?delete" if i % 2 else f"/{bucket}/k?tagging"
            method = "POST" if i % 2 else "PUT"
            sock = _open(plain, method, target, {"Content-Length": "19000000"})
            socks.append(sock)
            _send_some(sock, 6 * MiB, chunk=256 * 1024)
        time.sleep(0.5)
        grown = _rss_kib(plain.process) - before
    finally:
        for s in socks:
            s.close()
    # Reading them would hold 24 x 6 MiB; refusing them first holds nothing.
    assert grown < 48 * 1024, f"RSS grew by {grown} KiB holding 24 refused bodies"


def _form(size: int) -> tuple[bytes, str]:
    boundary = "hostileboundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nx\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + b"f" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_buffered_bodies_share_one_bound(tight):
    bucket = _private_bucket(tight)
    form, ctype = _form(3 * MiB)
    # One form over the bound.
    sock = _open(tight, "POST", f"/{bucket}", {"Content-Length": str(len(form)), "Content-Type": ctype})
    try:
        sock.sendall(form)
        status, answer = _read_status(sock)
    finally:
        sock.close()
    assert status == 503 and b"<Code>SlowDown</Code>" in answer, answer[:300]

    # An upload without a length holds 1.5 MiB; a second one of 1 MiB does not fit beside it.
    held = _open(tight, "PUT", f"/{bucket}/held", {"Transfer-Encoding": "chunked"})
    try:
        chunk = b"h" * (MiB // 2)
        for _ in range(3):
            held.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        time.sleep(0.5)
        second = _open(tight, "PUT", f"/{bucket}/second", {"Transfer-Encoding": "chunked"})
        try:
            data = b"s" * MiB
            second.sendall(b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n")
            status, answer = _read_status(second)
        finally:
            second.close()
        assert status == 503 and b"<Code>SlowDown</Code>" in answer, answer[:300]
    finally:
        held.close()
    time.sleep(0.5)
    # Once the first is gone, the bytes are free again: a small form is read (and refused).
    small, ctype = _form(64 * 1024)
    sock = _open(tight, "POST", f"/{bucket}", {"Content-Length": str(len(small)), "Content-Type": ctype})
    try:
        sock.sendall(small)
        status, answer = _read_status(sock)
    finally:
        sock.close()
    assert status == 403, answer[:300]


def _public_delete_bucket(server: S3Server) -> str:
    """A bucket whose policy lets anyone delete objects (so anonymous DeleteObjects is read)."""
    s3 = server.client()
    bucket = unique_name("hostile-pub")
    s3.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return bucket


def test_refusals_and_malformed_documents_are_not_logged_as_errors(plain):
    bucket = _private_bucket(plain)
    public = _public_delete_bucket(plain)
    start = len(_log_lines(plain))
    # An anonymous refusal.
    r = raw_request(plain, "GET", f"/{bucket}/k", sign=False)
    assert r.status == 403
    # A malformed document, signed and not, carrying a marker that must not reach the log.
    marker = b"BODYTEXTMARKER"
    junk = b"<Tagging><TagSet>" + marker * 20000
    r = raw_request(plain, "PUT", f"/{bucket}", query=[("tagging", "")], body=junk)
    assert r.status == 400 and r.error_code == "MalformedXML", r.body[:300]
    r = raw_request(plain, "POST", f"/{public}", query=[("delete", "")], body=b"<Delete>" + marker * 20000, sign=False)
    assert r.status == 400 and r.error_code == "MalformedXML", r.body[:300]
    assert _errors_since(plain, start) == []
    assert not any("BODYTEXTMARKER" in line for line in _log_lines(plain)[start:])


def test_an_oversized_document_is_a_client_error(plain):
    public = _public_delete_bucket(plain)
    start = len(_log_lines(plain))
    # Declared too large: refused without reading it.
    sock = _open(plain, "POST", f"/{public}?delete", {"Content-Length": str(21 * MiB)})
    try:
        _send_some(sock, 256 * 1024)
        status, answer = _read_status(sock)
    finally:
        sock.close()
    assert status == 400 and b"<Code>MaxMessageLengthExceeded</Code>" in answer, answer[:300]
    # Sent without a length and found too large on the way.
    sock = _open(plain, "POST", f"/{public}?delete", {"Transfer-Encoding": "chunked"})
    try:
        chunk = b"d" * MiB
        sock.settimeout(1.0)
        try:
            for _ in range(22):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass
        status, answer = _read_status(sock)
    finally:
        sock.close()
    assert status == 400 and b"<Code>MaxMessageLengthExceeded</Code>" in answer, answer[:300]
    assert _errors_since(plain, start) == []


def test_a_client_that_stops_sending_is_not_a_server_error(plain):
    public = _public_delete_bucket(plain)
    start = len(_log_lines(plain))
    for method, target in (("POST", f"/{public}?delete"), ("PUT", f"/{public}/k")):
        sock = _open(plain, method, target, {"Content-Length": str(4 * MiB)})
        _send_some(sock, 256 * 1024)
        sock.close()
    time.sleep(0.5)
    lines = _log_lines(plain)[start:]
    assert _errors_since(plain, start) == []
    assert not any("InternalError" in line for line in lines), "\n".join(lines)
