"""The web console's port (RUSTFS_CONSOLE_ENABLE): the embedded front-end with its headers,
/api/config, and /api/s3 forwarded to the S3 edge without its prefix (a request signed for the
unprefixed path and the console's host passes, one signed for the prefixed path is refused);
the same TLS as the S3 port; off by default; both ports stop on SIGTERM.
The browser walk-through is in console/tests (Playwright)."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import uuid
import http.client
from urllib.parse import urlsplit

import pytest
import requests

from harness import ACCESS_KEY, SECRET_KEY, RustfsProcess, make_tls_material, sigv4_headers

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path, **kwargs) -> tuple[RustfsProcess, str]:
    port = free_port()
    env = {"RUSTFS_CONSOLE_ENABLE": "true", "RUSTFS_CONSOLE_ADDRESS": f"127.0.0.1:{port}"}
    env.update(kwargs.pop("extra_env", {}))
    proc = RustfsProcess(tmp_path, extra_env=env, **kwargs).start()
    return proc, f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    proc, host = start(tmp_path_factory.mktemp("console"), extra_env={"RUSTFS_SERVER_URL": "https://s3.example.test"})
    yield proc, host
    assert proc.stop() == 0


def signed(method: str, host: str, path: str, query=(), body: bytes = b"", sign_path: str | None = None, tls_ctx=None):
    """A SigV4 request to the console at `host`, sent to `/api/s3` + `path`, signed for
    `sign_path` (default: the unprefixed `path`, as the browser signs)."""
    payload = hashlib.sha256(body).hexdigest()
    headers = sigv4_headers(method, host, sign_path or path, list(query), {}, payload, ACCESS_KEY, SECRET_KEY)
    qs = "&".join(f"{k}={v}" for k, v in query)
    conn = http.client.HTTPSConnection(host, context=tls_ctx, timeout=30) if tls_ctx else http.client.HTTPConnection(host, timeout=30)
    try:
        conn.request(method, "/api/s3" + path + (f"?{qs}" if qs else ""), body=body or None, headers=headers)
        r = conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        conn.close()


def test_config_names_the_s3_endpoint(console):
    proc, host = console
    r = requests.get(f"http://{host}/api/config", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    cfg = r.json()
    assert cfg["s3_url"] == "https://s3.example.test"
    assert cfg["s3_port"] == urlsplit(proc.url).port
    assert cfg["region"] == "us-east-1"
    assert cfg["version"]


def test_the_app_and_its_assets(console):
    _, host = console
    index = requests.get(f"http://{host}/", timeout=10)
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]
    # A single-page app: any other path is the same page.
    deep = requests.get(f"http://{host}/browse/some/where", timeout=10)
    assert deep.status_code == 200 and deep.text == index.text
    script = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
    assert script, index.text
    js = requests.get(f"http://{host}{script.group(1)}", timeout=10)
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "immutable" in js.headers["cache-control"]
    again = requests.get(f"http://{host}{script.group(1)}", headers={"If-None-Match": js.headers["etag"]}, timeout=10)
    assert again.status_code == 304
    assert requests.get(f"http://{host}/assets/missing-0000.js", timeout=10).status_code == 404
    assert requests.get(f"http://{host}/api/nothing", timeout=10).status_code == 404
    assert requests.post(f"http://{host}/", timeout=10).status_code == 405


def test_api_s3_reaches_the_edge_without_its_prefix(console):
    _, host = console
    bucket = f"console-{uuid.uuid4().hex[:12]}"
    status, _, body = signed("PUT", host, f"/{bucket}")
    assert status == 200, body
    status, _, body = signed("PUT", host, f"/{bucket}/a%20b.txt", body=b"hello console")
    assert status == 200, body
    status, _, body = signed("GET", host, f"/{bucket}/a%20b.txt")
    assert (status, body) == (200, b"hello console")
    status, _, body = signed("GET", host, f"/{bucket}", query=[("list-type", "2")])
    assert status == 200 and b"<Key>a b.txt</Key>" in body
    # Signed for the path the browser sent (with the prefix): not what the edge verifies.
    status, _, body = signed("GET", host, f"/{bucket}/a%20b.txt", sign_path=f"/api/s3/{bucket}/a%20b.txt")
    assert status == 403 and b"SignatureDoesNotMatch" in body
    # Unsigned: the edge decides, as on the S3 port.
    r = requests.get(f"http://{host}/api/s3/{bucket}/a%20b.txt", timeout=10)
    assert r.status_code == 403 and b"AccessDenied" in r.content


def test_the_console_is_off_by_default(tmp_path):
    port = free_port()
    proc = RustfsProcess(tmp_path, extra_env={"RUSTFS_CONSOLE_ADDRESS": f"127.0.0.1:{port}"}).start()
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    finally:
        assert proc.stop() == 0


def test_the_console_uses_the_s3_ports_tls(tmp_path):
    tls_dir, ca = make_tls_material(tmp_path / "certs")
    proc, host = start(tmp_path / "srv", tls_dir=tls_dir, ca_bundle=ca)
    try:
        r = requests.get(f"https://{host}/api/config", verify=str(ca), timeout=10)
        assert r.status_code == 200 and r.json()["s3_url"] is None
        ctx = ssl.create_default_context(cafile=str(ca))
        status, _, body = signed("GET", host, "/", tls_ctx=ctx)
        assert status == 200 and b"ListAllMyBucketsResult" in body
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://{host}/api/config", timeout=5)
    finally:
        assert proc.stop() == 0
