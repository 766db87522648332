"""Metrics and health checks: the Prometheus scrape endpoints (`/minio/v2/metrics/cluster` and
`/node`) with a bearer token as `rustfs prometheus-token` (and MinIO's `mc admin prometheus
generate`) makes it, or public; MinIO's metric names; the per-request counts and bytes; the
admin status' `traffic` totals; the health checks, including `/minio/health/cluster` answering
503 once volumes beyond the write quorum are gone and health answered while 64 uploads run; and
a real Prometheus (Debian's `prometheus`) scraping the server and answering a query of the
request count after a load."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import ACCESS_KEY, SECRET_KEY, RustfsProcess, S3Server, raw_request, rustfs_binary
from pg_cluster import in_ci, postgres_only

SCRAPE_PATHS = ["/minio/v2/metrics/cluster", "/minio/v2/metrics/node"]
HEALTH_PATHS = [
    "/health/live",
    "/health/ready",
    "/minio/health/live",
    "/minio/health/ready",
    "/minio/health/cluster",
    "/minio/health/cluster/read",
]
MINIO_NAMES = [
    "minio_s3_requests_total",
    "minio_s3_requests_errors_total",
    "minio_s3_requests_4xx_errors_total",
    "minio_s3_traffic_received_bytes",
    "minio_s3_traffic_sent_bytes",
    "minio_s3_requests_inflight_total",
    "minio_s3_requests_ttfb_seconds_distribution",
    "minio_cluster_drive_online_total",
    "minio_cluster_drive_offline_total",
    "minio_cluster_drive_total",
    "minio_cluster_nodes_online_total",
    "minio_cluster_capacity_raw_total_bytes",
    "minio_cluster_capacity_usable_free_bytes",
    "minio_cluster_health_status",
    "minio_cluster_write_quorum",
    "minio_node_drive_free_bytes",
    "minio_node_process_uptime_seconds",
]
OUR_NAMES = [
    "rustfs_s3_requests_total",
    "rustfs_s3_request_duration_seconds_bucket",
    "rustfs_s3_ttfb_seconds_bucket",
    "rustfs_meta_commit_seconds_bucket",
    "rustfs_meta_commit_group_size_bucket",
    "rustfs_volume_online",
    "rustfs_volume_free_bytes",
]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs512_token(access_key: str, secret_key: str, exp: int, iss: str = "prometheus") -> str:
    """A JWT as `mc admin prometheus generate` makes it, without a JWT library."""
    header = b64url(json.dumps({"alg": "HS512", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"exp": exp, "sub": access_key, "iss": iss}).encode())
    signing_input = f"{header}.{claims}".encode()
    sig = hmac.new(secret_key.encode(), signing_input, hashlib.sha512).digest()
    return f"{header}.{claims}.{b64url(sig)}"


def cli_token_config(url: str) -> tuple[str, str]:
    """`rustfs prometheus-token`: the token alone, and the sample scrape configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTFS_")}
    env.update(RUSTFS_ACCESS_KEY=ACCESS_KEY, RUSTFS_SECRET_KEY=SECRET_KEY)
    run = lambda *extra: subprocess.run(  # noqa: E731
        [str(rustfs_binary()), "prometheus-token", "--endpoint", url, *extra],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    return run("--token-only").strip(), run()


def get(proc, path: str, *, method: str = "GET", token: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=60)
    try:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def parse(text: str) -> dict[str, float]:
    """Series (name with labels) to value."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            out[series] = float(value)
    return out


def total(series: dict[str, float], name: str, **labels: str) -> float:
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        v for s, v in series.items()
        if s.split("{", 1)[0] == name and all(w in s for w in want)
    )


def admin_status(proc) -> dict:
    server = S3Server(name="metrics", process=proc, endpoint=proc.url)
    r = raw_request(server, "GET", "/rustfs/admin/v1/status")
    assert r.status == 200, r.body
    return json.loads(r.body)


def client(proc):
    return S3Server(name="metrics", process=proc, endpoint=proc.url).client()


@pytest.fixture
def server(tmp_path):
    proc = RustfsProcess(tmp_path, volumes=1).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_scrape_needs_a_token_as_mc_makes_it(server):
    s3 = client(server)
    s3.create_bucket(Bucket="metrics-a")
    s3.put_object(Bucket="metrics-a", Key="k", Body=b"x" * 4096)
    assert s3.get_object(Bucket="metrics-a", Key="k")["Body"].read() == b"x" * 4096
    with pytest.raises(Exception):
        s3.get_object(Bucket="metrics-a", Key="missing")
    token, config = cli_token_config(server.url)
    assert f"bearer_token: {token}" in config
    assert "metrics_path: /minio/v2/metrics/cluster" in config
    now = int(time.time())
    refused = [
        None,
        "not-a-jwt",
        hs512_token(ACCESS_KEY, "wrong-secret", now + 600),
        hs512_token(ACCESS_KEY, SECRET_KEY, now - 10),
        hs512_token(ACCESS_KEY, SECRET_KEY, now + 600, iss="someone"),
        hs512_token("nobody", SECRET_KEY, now + 600),
    ]
    for path in SCRAPE_PATHS:
        for bad in refused:
            status, _, body = get(server, path, token=bad)
            assert status == 403, (path, bad, body)
            assert b"AccessDenied" in body
        for good in [token, hs512_token(ACCESS_KEY, SECRET_KEY, now + 600)]:
            status, headers, body = get(server, path, token=good)
            assert status == 200, body
            assert headers["content-type"].startswith("text/plain")
            text = body.decode()
            for name in MINIO_NAMES + OUR_NAMES:
                assert f"\n{name}{{" in text or f"\n{name} " in text, name
    series = parse(get(server, SCRAPE_PATHS[0], token=token)[2].decode())
    assert total(series, "minio_s3_requests_total", api="putobject") == 1
    assert total(series, "minio_s3_requests_total", api="getobject") == 2
    assert total(series, "minio_s3_requests_4xx_errors_total", api="getobject") == 1
    assert total(series, "rustfs_s3_requests_total", api="GetObject", status="404") == 1
    assert total(series, "rustfs_s3_requests_total", api="GetObject", status="200") == 1
    assert total(series, "minio_s3_traffic_received_bytes") >= 4096
    assert total(series, "minio_s3_traffic_sent_bytes") >= 4096
    assert total(series, "rustfs_s3_received_bytes_total", api="PutObject") == 4096
    assert total(series, "rustfs_s3_sent_bytes_total", api="GetObject") >= 4096
    assert total(series, "minio_cluster_drive_online_total") == 1
    assert total(series, "minio_cluster_health_status") == 1
    assert total(series, "minio_cluster_capacity_raw_total_bytes") > 0


def test_admin_status_reports_traffic_totals(server):
    before = admin_status(server)["traffic"]
    assert set(before) == {"requests", "errors", "bytes_in", "bytes_out"}
    s3 = client(server)
    s3.create_bucket(Bucket="metrics-t")
    s3.put_object(Bucket="metrics-t", Key="k", Body=b"y" * 10_000)
    s3.get_object(Bucket="metrics-t", Key="k")["Body"].read()
    with pytest.raises(Exception):
        s3.head_object(Bucket="metrics-t", Key="missing")
    after = admin_status(server)["traffic"]
    # The status call before and these four (the status call now is counted once it ends).
    assert after["requests"] - before["requests"] >= 5
    assert after["errors"] - before["errors"] >= 1
    assert after["bytes_in"] - before["bytes_in"] >= 10_000
    assert after["bytes_out"] - before["bytes_out"] >= 10_000


@pytest.mark.parametrize("variable", ["RUSTFS_PROMETHEUS_AUTH_TYPE", "MINIO_PROMETHEUS_AUTH_TYPE"])
def test_public_scrape(tmp_path, variable):
    proc = RustfsProcess(tmp_path, volumes=1, extra_env={variable: "public"}).start()
    try:
        for path in SCRAPE_PATHS:
            status, _, body = get(proc, path)
            assert status == 200, body
            assert b"minio_cluster_drive_total" in body
    finally:
        proc.stop()


def test_health_checks_answer_without_credentials(server):
    for path in HEALTH_PATHS:
        for method in ["GET", "HEAD"]:
            status, headers, body = get(server, path, method=method)
            assert status == 200, (path, method, body)
            assert body == b""
            if path.startswith("/minio/health/cluster"):
                assert headers["x-minio-write-quorum"] == "1"
    # Not a health path: S3 answers (unsigned: refused).
    assert get(server, "/health/other")[0] in (400, 403, 404)


def test_virtual_hosted_paths_are_object_keys(tmp_path):
    """On `BUCKET.DOMAIN` the health and metrics paths are keys of that bucket, served by S3."""
    proc = RustfsProcess(tmp_path, volumes=1, domains=["s3.test"]).start()
    try:
        server = S3Server(name="vhost", process=proc, endpoint=proc.url)
        server.client().create_bucket(Bucket="vhost1")
        assert raw_request(server, "PUT", "/vhost1/health/live", body=b"object").status == 200
        for path in ["/health/live", "/minio/v2/metrics/cluster"]:
            conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=60)
            try:
                conn.request("GET", path, headers={"host": f"vhost1.s3.test:{proc.port}"})
                r = conn.getresponse()
                body = r.read()
            finally:
                conn.close()
            # Anonymous GET of an object in a private bucket: S3 refuses it.
            assert r.status == 403, (path, r.status, body)
            assert b"AccessDenied" in body
        assert get(proc, "/health/live")[0] == 200
    finally:
        proc.stop()


def test_cluster_health_is_503_without_write_quorum(tmp_path):
    proc = RustfsProcess(tmp_path, volumes=4).start()
    try:
        status, headers, _ = get(proc, "/minio/health/cluster")
        assert status == 200
        quorum = int(headers["x-minio-write-quorum"])
        assert quorum == 3  # EC 2+2: data == parity needs one more
        for vol in proc.volumes[1:3]:
            # The server may be writing there as the directory goes: retry, bounded.
            for _ in range(50):
                shutil.rmtree(vol, ignore_errors=True)
                if not vol.exists():
                    break
                time.sleep(0.1)
        deadline = time.monotonic() + 60
        while sum(v["online"] for v in admin_status(proc)["volumes"]) > 2:
            assert time.monotonic() < deadline, "volumes never marked offline"
            time.sleep(0.2)
        status, headers, _ = get(proc, "/minio/health/cluster")
        assert status == 503
        assert headers["x-minio-write-quorum"] == "3"
        assert get(proc, "/minio/health/cluster", method="HEAD")[0] == 503
        # Two of four still read (read quorum 2); the process is alive and ready.
        assert get(proc, "/minio/health/cluster/read")[0] == 200
        assert get(proc, "/minio/health/live")[0] == 200
        assert get(proc, "/health/ready")[0] == 200
        series = parse(get(proc, SCRAPE_PATHS[0], token=hs512_token(ACCESS_KEY, SECRET_KEY, int(time.time()) + 60))[2].decode())
        assert total(series, "minio_cluster_health_status") == 0
        assert total(series, "minio_cluster_drive_offline_total") == 2
    finally:
        proc.stop()


def test_health_is_answered_while_64_uploads_run(server):
    s3 = client(server)
    s3.create_bucket(Bucket="metrics-load")
    body = os.urandom(256 * 1024)
    stop = threading.Event()

    def upload(i: int) -> None:
        for j in range(3):
            s3.put_object(Bucket="metrics-load", Key=f"k{i}-{j}", Body=body)

    answered = []

    def probe() -> None:
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline and len(answered) < 2000:
            for path in ["/minio/health/live", "/minio/health/cluster", "/health/ready"]:
                answered.append(get(server, path)[0])
            time.sleep(0.01)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(64) as pool:
            list(pool.map(upload, range(64)))
    finally:
        stop.set()
        prober.join(130)
    assert answered and set(answered) == {200}, answered[:20]
    series = parse(get(server, SCRAPE_PATHS[1], token=hs512_token(ACCESS_KEY, SECRET_KEY, int(time.time()) + 60))[2].decode())
    assert total(series, "minio_s3_requests_total", api="putobject") == 64 * 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if os.path.isfile("/usr/bin/prometheus") else None)
    if found:
        return found
    why = "prometheus (Debian's package) is not installed"
    if in_ci():
        pytest.fail(f"{why}; CI must have it (scripts/install-test-deps.sh)", pytrace=False)
    pytest.skip(f"{why}: the real-Prometheus scrape test is skipped")


def prom_query(port: int, query: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as r:
        answer = json.load(r)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_a_real_prometheus_scrapes_the_request_count(server, tmp_path):
    binary = prometheus_binary()
    _, config = cli_token_config(server.url)
    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    (prom_dir / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n" + config
    )
    port = free_port()
    log = open(prom_dir / "prometheus.log", "wb")
    prom = subprocess.Popen(
        [
            binary,
            f"--config.file={prom_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={prom_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=prom_dir,
    )
    try:
        def wait_for(query, ok, what):
            deadline = time.monotonic() + 90
            last = None
            while time.monotonic() < deadline:
                assert prom.poll() is None, (prom_dir / "prometheus.log").read_text()[-2000:]
                try:
                    last = prom_query(port, query)
                    if ok(last):
                        return last
                except OSError:
                    pass
                time.sleep(0.5)
            raise AssertionError(f"timed out waiting for {what}: {last}")

        wait_for('up{job="rustfs-job"}', lambda r: r and r[0]["value"][1] == "1", "the scrape to be up")
        s3 = client(server)
        s3.create_bucket(Bucket="metrics-prom")
        n = 40
        for i in range(n):
            s3.put_object(Bucket="metrics-prom", Key=f"k{i}", Body=b"z" * 1000)
        for i in range(n):
            s3.get_object(Bucket="metrics-prom", Key=f"k{i}")["Body"].read()
        want = 2 * n + 1
        r = wait_for(
            'sum(minio_s3_requests_total{job="rustfs-job"})',
            lambda r: r and float(r[0]["value"][1]) >= want,
            f"the request count to reach {want}",
        )
        assert float(r[0]["value"][1]) >= want
        r = wait_for(
            'sum(minio_s3_requests_total{job="rustfs-job",api="putobject"})',
            lambda r: r and float(r[0]["value"][1]) == n,
            "the PutObject count",
        )
        up = prom_query(port, 'minio_cluster_drive_online_total{job="rustfs-job"}')
        assert up and up[0]["value"][1] == "1"
    finally:
        prom.terminate()
        try:
            prom.wait(20)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        log.close()


@postgres_only("a cluster shares one PostgreSQL database (RUSTFS_TEST_META=postgres)")
def test_a_cluster_node_reports_the_nodes_and_drives_it_sees(tmp_path):
    from cluster_harness import Cluster

    c = Cluster(tmp_path, nodes=4, volumes=2, extra_env={"RUSTFS_PROMETHEUS_AUTH_TYPE": "public"}).start()
    try:
        host, port = c.hosts[0], c.ports[0]

        def scrape() -> dict[str, float]:
            conn = http.client.HTTPConnection(host, port, timeout=60)
            try:
                conn.request("GET", "/minio/v2/metrics/cluster")
                r = conn.getresponse()
                body = r.read()
            finally:
                conn.close()
            assert r.status == 200, body
            return parse(body.decode())

        def wait_for(ok, what):
            deadline = time.monotonic() + 60
            while True:
                series = scrape()
                if ok(series):
                    return series
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                time.sleep(0.3)

        wait_for(
            lambda m: total(m, "minio_cluster_nodes_online_total") == 4
            and total(m, "minio_cluster_drive_online_total") == 8,
            "four nodes and eight drives online",
        )
        c.kill(3)
        m = wait_for(
            lambda m: total(m, "minio_cluster_nodes_offline_total") == 1,
            "the killed node counted offline",
        )
        assert total(m, "minio_cluster_nodes_online_total") == 3
        assert total(m, "minio_cluster_drive_offline_total") == 2
        assert total(m, "minio_cluster_drive_total") == 8
    finally:
        c.stop()
