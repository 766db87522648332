"""Fixtures for the RustFS end-to-end suite.

Servers are session-scoped, started lazily (only the flavours a run needs):

* ``server``             plain HTTP, two volumes, path-style        ("http")
* ``https_server``       HTTPS with a test CA, path-style           ("https")
* ``vhost_server``       HTTP, RUSTFS_SERVER_DOMAINS, virtual-host  ("virtual")
* ``https_vhost_server`` the HTTPS process, virtual-host            ("https-virtual")

``any_server`` is parametrised over all four. ``cluster_nodes`` (PostgreSQL only) is a
four-node cluster (``cluster_harness.py``); the seed page also runs through its node 1. Each yields a harness.S3Server
(``.endpoint .access_key .secret_key .volumes .log_path .client(**config)``).

``RUSTFS_TEST_META=postgres`` runs every server on PostgreSQL (``pg_cluster.py``): one cluster
per session, a database per server directory.

``users_server`` (one per test module) has two users, the root key pair as MAIN_ID and ALT
from a users file, with ``main``, ``alt`` and ``anon`` (unsigned) clients and ``new_bucket``.
"""

from __future__ import annotations

import json
import os
import socket

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from harness import (
    ALT,
    MAIN_ID,
    MAIN_NAME,
    REGION,
    VHOST_DOMAIN,
    RustfsProcess,
    S3Server,
    ServerStartError,
    make_tls_material,
    purge_bucket,
    unique_name,
)
from pg_cluster import META, stop_session_cluster

FLAVOURS = {
    "http": "server",
    "https": "https_server",
    "virtual": "vhost_server",
    "https-virtual": "https_vhost_server",
}

_PROCESSES: list[RustfsProcess] = []


@pytest.fixture(scope="session", autouse=True)
def _hermetic_aws_env(tmp_path_factory):
    """No ambient AWS config, credentials, CA bundle or proxies leak in."""
    mp = pytest.MonkeyPatch()
    for var in list(os.environ):
        if var.startswith("AWS_") or var.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            mp.delenv(var)
    cfg = tmp_path_factory.mktemp("aws-home")
    mp.setenv("AWS_CONFIG_FILE", str(cfg / "config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(cfg / "credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield
    mp.undo()


def _run(tmp_path_factory, name, **kwargs):
    proc = RustfsProcess(tmp_path_factory.mktemp(name), **kwargs)
    failure = None
    try:
        proc.start()
    except ServerStartError as err:
        failure = str(err)
    if failure:
        pytest.fail(failure, pytrace=False)
    _PROCESSES.append(proc)
    return proc


def _stop(proc: RustfsProcess):
    crashed = not proc.alive()
    code = proc.stop()
    _PROCESSES.remove(proc)
    if crashed:
        pytest.fail(
            f"rustfs exited during the session (code {code})\n"
            f"--- {proc.log_path} ---\n{proc.log_tail()}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def rustfs_http(tmp_path_factory):
    proc = _run(tmp_path_factory, "rustfs-http", volumes=2)
    yield proc
    _stop(proc)


@pytest.fixture(scope="session")
def rustfs_https(tmp_path_factory):
    base = tmp_path_factory.mktemp("rustfs-https-certs")
    tls_dir, ca = make_tls_material(base)
    proc = _run(
        tmp_path_factory, "rustfs-https", tls_dir=tls_dir, ca_bundle=ca, domains=[VHOST_DOMAIN]
    )
    # boto3 (and aws-cli) find the test CA the way users' tools do.
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_CA_BUNDLE", str(ca))
    yield proc
    mp.undo()
    _stop(proc)


@pytest.fixture(scope="session")
def rustfs_vhost(tmp_path_factory):
    proc = _run(tmp_path_factory, "rustfs-vhost", domains=[VHOST_DOMAIN])
    yield proc
    _stop(proc)


@pytest.fixture(scope="session")
def vhost_dns():
    """Resolve s3.rustfs.test and every *.s3.rustfs.test to 127.0.0.1 in-process."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name and (name == VHOST_DOMAIN or name.endswith("." + VHOST_DOMAIN)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def server(rustfs_http) -> S3Server:
    return S3Server("http", rustfs_http, rustfs_http.url)


@pytest.fixture(scope="session")
def https_server(rustfs_https) -> S3Server:
    return S3Server("https", rustfs_https, rustfs_https.url)


@pytest.fixture(scope="session")
def vhost_server(rustfs_vhost, vhost_dns) -> S3Server:
    return S3Server(
        "virtual", rustfs_vhost, f"http://{VHOST_DOMAIN}:{rustfs_vhost.port}", addressing_style="virtual"
    )


@pytest.fixture(scope="session")
def https_vhost_server(rustfs_https, vhost_dns) -> S3Server:
    return S3Server(
        "https-virtual", rustfs_https, f"https://{VHOST_DOMAIN}:{rustfs_https.port}",
        addressing_style="virtual",
    )


@pytest.fixture(scope="session")
def cluster_nodes(tmp_path_factory):
    """Four cluster nodes on 127.0.0.2-5, two volumes each, one PostgreSQL database
    (``cluster_harness.py``)."""
    if META != "postgres":
        pytest.skip("a cluster shares one PostgreSQL database (RUSTFS_TEST_META=postgres)")
    from cluster_harness import Cluster

    cluster = Cluster(tmp_path_factory.mktemp("cluster"), nodes=4, volumes=2).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=list(FLAVOURS))
def any_server(request) -> S3Server:
    return request.getfixturevalue(FLAVOURS[request.param])


@pytest.fixture(params=["http", "https"])
def http_or_https(request) -> S3Server:
    return request.getfixturevalue(FLAVOURS[request.param])


@pytest.fixture
def s3(server):
    return server.client()


@pytest.fixture
def bucket(server, s3):
    """A fresh, empty bucket on the HTTP server; emptied and removed afterwards."""
    name = unique_name()
    s3.create_bucket(Bucket=name)
    yield name
    purge_bucket(s3, name)


def new_bucket_on(srv: S3Server, request) -> tuple[object, str]:
    """(client, bucket) on ``srv``, cleaned up when the test ends."""
    client = srv.client()
    name = unique_name()
    client.create_bucket(Bucket=name)
    request.addfinalizer(lambda: purge_bucket(client, name))
    return client, name


@pytest.fixture
def make_bucket(request):
    return lambda srv: new_bucket_on(srv, request)


@pytest.fixture(scope="module")
def users_server(tmp_path_factory):
    conf = tmp_path_factory.mktemp("users-conf")
    users_file = conf / "users.json"
    users_file.write_text(json.dumps({"users": [ALT]}))
    proc = RustfsProcess(
        tmp_path_factory.mktemp("rustfs-users"),
        extra_env={
            "RUSTFS_USERS_FILE": str(users_file),
            "RUSTFS_ROOT_USER_ID": MAIN_ID,
            "RUSTFS_ROOT_DISPLAY_NAME": MAIN_NAME,
        },
    )
    try:
        proc.start()
    except ServerStartError as err:
        pytest.fail(str(err), pytrace=False)
    yield S3Server("users", proc, proc.url)
    proc.stop()


@pytest.fixture(scope="module")
def main(users_server):
    return users_server.client()


@pytest.fixture(scope="module")
def alt(users_server):
    return users_server.client(access_key=ALT["access_key"], secret_key=ALT["secret_key"])


@pytest.fixture(scope="module")
def anon(users_server):
    return boto3.client(
        "s3",
        endpoint_url=users_server.endpoint,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


@pytest.fixture
def new_bucket(request):
    def make(client, **kwargs):
        name = unique_name("acl")
        client.create_bucket(Bucket=name, **kwargs)
        request.addfinalizer(lambda: purge_bucket(client, name))
        return name

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the tail of every running server's log to failing tests."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or not _PROCESSES:
        return
    used = [v.process for v in getattr(item, "funcargs", {}).values() if isinstance(v, S3Server)]
    for proc in [p for p in _PROCESSES if p in used] or _PROCESSES:
        report.sections.append((f"rustfs log tail ({proc.log_path})", proc.log_tail(25)))


def pytest_report_header(config):
    return f"rustfs metadata backend: {META} (RUSTFS_TEST_META)"


def pytest_sessionfinish(session, exitstatus):
    """The session's PostgreSQL (if one was started) stops once every server has."""
    stop_session_cluster()
