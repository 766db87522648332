"""The audit log (crates/server/src/audit/): one JSON line per request, MinIO's audit entry,
to a file (RUSTFS_AUDIT_FILE) and to a webhook (RUSTFS_AUDIT_WEBHOOK_ENDPOINT, MinIO's
MINIO_AUDIT_WEBHOOK_* names too); a webhook that is down or hangs never fails a request, and
what it drops is counted. The request span: every log line a request causes carries its id,
in text and in JSON logs (RUSTFS_LOG_FORMAT=json).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import REGION, RustfsProcess, S3Server

WAIT = 20.0  # seconds any poll below may take


def poll(what, check, timeout=WAIT):
    """`check()` until it returns something truthy (returned), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Receiver:
    """A webhook endpoint on loopback: keeps each POST's headers and entries."""

    def __init__(self):
        self.posts: list[tuple[dict, list[dict]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                entries = [json.loads(l) for l in body.splitlines() if l.strip()]
                with outer.lock:
                    outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, entries))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/audit"

    def entries(self) -> list[dict]:
        with self.lock:
            return [e for _, es in self.posts for e in es]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def start(tmp_path: Path, env: dict) -> S3Server:
    proc = RustfsProcess(tmp_path, extra_env=env)
    proc.start()
    return S3Server(name="audit", process=proc, endpoint=proc.url)


def file_entries(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def by_id(entries, request_id):
    return [e for e in entries if e.get("requestID") == request_id]


def rid(resp) -> str:
    return resp["ResponseMetadata"]["RequestId"]


def err_rid(e: ClientError) -> str:
    return e.response["ResponseMetadata"]["RequestId"]


def test_audit_file_and_webhook_get_one_entry_per_request(tmp_path, receiver):
    audit_file = tmp_path / "audit.log"
    srv = start(
        tmp_path,
        {
            "RUSTFS_AUDIT_FILE": str(audit_file),
            "RUSTFS_AUDIT_WEBHOOK_ENDPOINT": receiver.url,
            "RUSTFS_AUDIT_WEBHOOK_AUTH_TOKEN": "audit-token",
            "RUSTFS_PROMETHEUS_AUTH_TYPE": "public",
        },
    )
    try:
        s3 = srv.client()
        s3.create_bucket(Bucket="audited")
        body = b"a" * 1000
        put = rid(s3.put_object(Bucket="audited", Key="dir/obj", Body=body))
        get_resp = s3.get_object(Bucket="audited", Key="dir/obj")
        assert get_resp["Body"].read() == body
        get = rid(get_resp)
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="audited", Key="missing")
        missing = err_rid(e.value)
        anon = requests.get(f"{srv.endpoint}/audited/dir/obj")
        assert anon.status_code == 403
        anon_id = anon.headers["x-amz-request-id"]
        bad = boto3.client(
            "s3",
            endpoint_url=srv.endpoint,
            aws_access_key_id=srv.access_key,
            aws_secret_access_key="not-the-secret",
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        with pytest.raises(ClientError) as e:
            bad.head_bucket(Bucket="audited")
        bad_sig = err_rid(e.value)
        ids = [put, get, missing, anon_id, bad_sig]

        # The file is flushed at least every second.
        entries = poll("the file's entries", lambda: (
            (es := file_entries(audit_file)) and all(by_id(es, i) for i in ids) and es))
        for i in ids:
            assert len(by_id(entries, i)) == 1, f"one line for {i}"
        e = by_id(entries, put)[0]
        assert e["version"] == "1" and e["trigger"] == "incoming"
        assert e["api"]["name"] == "PutObject"
        assert e["api"]["bucket"] == "audited" and e["api"]["object"] == "dir/obj"
        assert e["api"]["statusCode"] == 200 and e["api"]["status"] == "OK"
        assert e["api"]["rx"] == 1000
        assert e["accessKey"] == srv.access_key
        assert e["remotehost"] == "127.0.0.1"
        assert int(e["api"]["timeToResponseInNS"]) > 0
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", e["time"])
        e = by_id(entries, get)[0]
        assert e["api"]["name"] == "GetObject"
        assert e["api"]["tx"] == 1000 and e["api"]["statusCode"] == 200
        e = by_id(entries, missing)[0]
        assert e["api"]["statusCode"] == 404 and e["api"]["object"] == "missing"
        e = by_id(entries, anon_id)[0]
        assert e["api"]["statusCode"] == 403 and e["api"]["name"] == "GetObject"
        assert "accessKey" not in e
        e = by_id(entries, bad_sig)[0]
        assert e["api"]["statusCode"] == 403

        # The webhook: the same entries, each POST with the bearer token.
        hooked = poll("the webhook's entries", lambda: (
            (es := receiver.entries()) and all(by_id(es, i) for i in ids) and es))
        for i in ids:
            assert len(by_id(hooked, i)) == 1
        assert by_id(hooked, get)[0]["api"]["tx"] == 1000
        with receiver.lock:
            headers = [h for h, _ in receiver.posts]
        assert all(h.get("authorization") == "Bearer audit-token" for h in headers)
        assert all(h.get("content-type") == "application/json" for h in headers)

        # Counted as sent, per target, under our names and MinIO's.
        for name, label in [("rustfs_audit_sent_total", 'target="file"'),
                            ("rustfs_audit_sent_total", 'target="webhook"'),
                            ("minio_audit_total_messages", 'target_id="webhook"')]:
            sent = poll(f"{name}{{{label}}}", lambda: (metric(srv, name, label) or 0) >= len(ids))
            assert sent
        assert (metric(srv, "rustfs_audit_dropped_total", 'target="webhook"') or 0) == 0
    finally:
        srv.process.stop()
    # Every request answered before the stop is in the file, written at shutdown at the latest.
    assert len(file_entries(audit_file)) == len(
        {e["requestID"] for e in file_entries(audit_file)})


def test_minio_webhook_names(tmp_path, receiver):
    srv = start(
        tmp_path,
        {
            "MINIO_AUDIT_WEBHOOK_ENABLE": "on",
            "MINIO_AUDIT_WEBHOOK_ENDPOINT": receiver.url,
            "MINIO_AUDIT_WEBHOOK_AUTH_TOKEN": "minio-token",
            "MINIO_AUDIT_WEBHOOK_BATCH_SIZE": "5",
        },
    )
    try:
        s3 = srv.client()
        s3.create_bucket(Bucket="minionames")
        ids = [rid(s3.put_object(Bucket="minionames", Key=f"k{i}", Body=b"x")) for i in range(10)]
        poll("the webhook's entries",
             lambda: all(by_id(receiver.entries(), i) for i in ids))
        with receiver.lock:
            assert all(h.get("authorization") == "Bearer minio-token" for h, _ in receiver.posts)
            assert all(1 <= len(es) <= 5 for _, es in receiver.posts)
    finally:
        srv.process.stop()


def dropped_in_log(srv: S3Server) -> int:
    """The webhook's drop count the server logged when it stopped."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", srv.log_path.read_text("utf-8", "replace"))
    lines = [l for l in text.splitlines() if "audit log stopped" in l and "webhook" in l]
    assert lines, srv.process.log_tail()
    m = re.search(r"dropped=(\d+)", lines[-1])
    assert m, lines[-1]
    return int(m.group(1))


def metric(srv: S3Server, name: str, label: str) -> float | None:
    """`name{...label...}` from the node metrics endpoint (public), None if absent."""
    try:
        r = requests.get(f"{srv.endpoint}/minio/v2/metrics/node", timeout=10)
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return None
    for line in r.text.splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.parametrize("failure", ["down", "hangs"])
def test_failing_webhook_never_fails_requests_and_drops_are_counted(tmp_path, failure):
    # "down": nothing listens (connections refused); "hangs": a listener that never accepts,
    # so each POST waits for its timeout.
    hold = socket.socket()
    hold.bind(("127.0.0.1", 0))
    port = hold.getsockname()[1]
    if failure == "down":
        hold.close()
    else:
        hold.listen(0)
    srv = start(
        tmp_path,
        {
            "RUSTFS_AUDIT_WEBHOOK_ENDPOINT": f"http://127.0.0.1:{port}/audit",
            "RUSTFS_AUDIT_QUEUE_SIZE": "4",
            "RUSTFS_PROMETHEUS_AUTH_TYPE": "public",
        },
    )
    requests_made = 0
    try:
        s3 = srv.client(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30)
        s3.create_bucket(Bucket="failing")
        requests_made += 1
        for i in range(30):
            s3.put_object(Bucket="failing", Key=f"k{i}", Body=b"x" * 100)
            assert s3.get_object(Bucket="failing", Key=f"k{i}")["Body"].read() == b"x" * 100
            requests_made += 2
        # The queue holds 4 and the poster at most one in hand: most were dropped at once.
        counted = metric(srv, "rustfs_audit_dropped_total", 'target="webhook"')
        assert counted is not None and counted >= requests_made - 5, counted
        failed = metric(srv, "minio_audit_failed_messages", 'target_id="webhook"')
        assert failed is not None and failed >= requests_made - 5, failed
    finally:
        srv.process.stop()
        hold.close()
    # At the stop, whatever was queued was tried within a bound and dropped: all of them,
    # and the metrics request (if any) besides.
    assert dropped_in_log(srv) >= requests_made
    assert srv.process.proc.returncode == 0


def server_log(srv: S3Server) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", srv.log_path.read_text("utf-8", "replace"))


def test_text_log_lines_carry_the_request_id(tmp_path):
    srv = start(tmp_path, {"RUST_LOG": "info,rustfs_s3=debug"})
    try:
        s3 = srv.client()
        s3.create_bucket(Bucket="spans")
        put = rid(s3.put_object(Bucket="spans", Key="k", Body=b"x"))
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="spans", Key="missing")
        missing = err_rid(e.value)

        def line_of(request_id, text):
            return [l for l in server_log(srv).splitlines()
                    if f"request{{request_id={request_id} " in l and text in l]

        # A handler's line (ops/object.rs) and the failure line, inside the request's span.
        stored = poll("the handler's line", lambda: line_of(put, "object stored"))
        assert re.search(r"request\{request_id=" + put + r" method=PUT path=\"/spans/k\"\}", stored[0])
        refused = poll("the failure line", lambda: line_of(missing, "request refused"))
        assert "request{request_id=" + missing in refused[0]
    finally:
        srv.process.stop()


def test_json_log_lines_parse_and_carry_the_request_id(tmp_path):
    srv = start(tmp_path, {"RUST_LOG": "info,rustfs_s3=debug", "RUSTFS_LOG_FORMAT": "json"})
    try:
        s3 = srv.client()
        s3.create_bucket(Bucket="jsonlogs")
        put = rid(s3.put_object(Bucket="jsonlogs", Key="k", Body=b"x"))
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="jsonlogs", Key="missing")
        missing = err_rid(e.value)

        def events():
            out = []
            for line in server_log(srv).splitlines():
                if line.startswith("{"):
                    out.append(json.loads(line))
            return out

        def of(request_id, message):
            return [e for e in events() if e.get("message") == message
                    and e.get("span", {}).get("request_id") == request_id]

        stored = poll("the handler's JSON line", lambda: of(put, "object stored"))[0]
        assert stored["level"] == "DEBUG"
        assert stored["key"] == "k" and stored["size"] == 1
        assert stored["span"]["name"] == "request" and stored["span"]["method"] == "PUT"
        assert stored["spans"][0]["request_id"] == put
        refused = poll("the failure JSON line", lambda: of(missing, "request refused"))[0]
        assert refused["status"] == 404 and refused["code"] == "NoSuchKey"
        assert refused["request_id"] == missing and refused["op"] == "GetObject"
        # Every line on stderr is JSON (the start-up banner goes to stdout, one text line).
        lines = [l for l in server_log(srv).splitlines()
                 if l and not l.startswith("$ ") and "serving S3 on" not in l]
        for l in lines:
            json.loads(l)
    finally:
        srv.process.stop()


class OtlpReceiver:
    """An OTLP/HTTP collector on loopback: keeps the spans posted to /v1/traces (JSON)."""

    def __init__(self):
        self.spans: list[dict] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.paths.append(self.path)
                    doc = json.loads(body)
                    for rs in doc.get("resourceSpans", []):
                        for ss in rs.get("scopeSpans", []):
                            outer.spans.extend(ss.get("spans", []))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def span_with(self, key, value):
        with self.lock:
            for s in self.spans:
                attrs = {a["key"]: a["value"].get("stringValue") for a in s.get("attributes", [])}
                if attrs.get(key) == value:
                    return s, attrs
        return None

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_opentelemetry_export_of_request_spans(tmp_path):
    collector = OtlpReceiver()
    srv = start(tmp_path, {"RUSTFS_OTEL_ENDPOINT": collector.base, "OTEL_BSP_SCHEDULE_DELAY": "200"})
    try:
        if "no OpenTelemetry export" in server_log(srv):
            pytest.skip("this rustfs binary was built without the `otel` feature")
        s3 = srv.client()
        s3.create_bucket(Bucket="traced")
        put = rid(s3.put_object(Bucket="traced", Key="k", Body=b"x"))
        # The SDK batches spans (every 200 ms here); the stop flushes them at the latest.
        found = None
        deadline = time.monotonic() + 8
        while found is None and time.monotonic() < deadline:
            found = collector.span_with("request_id", put)
            time.sleep(0.2)
    finally:
        srv.process.stop()
    found = found or collector.span_with("request_id", put)
    try:
        assert found, f"no span with request_id {put}; posts to {collector.paths}"
        span, attrs = found
        assert span["name"] == "request"
        assert attrs["method"] == "PUT" and attrs["path"] == "/traced/k"
        assert all(p == "/v1/traces" for p in collector.paths)
    finally:
        collector.close()
