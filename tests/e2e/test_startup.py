"""Start-up, shutdown and process-level behaviour of the real binary: clear failures (missing
volume, file as volume, port in use, bad certificate, default keys on a public address),
graceful SIGTERM, data surviving a restart, temporary files removed at start, and memory that
stays bounded while a large body streams in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from pg_cluster import meta_env
from harness import ACCESS_KEY, SECRET_KEY, MiB, RustfsProcess, make_tls_material, rustfs_binary

START_TIMEOUT = 30


def run_and_fail(args: list[str], env_extra: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    """Runs the binary expecting it to exit on its own; returns (code, stdout+stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTFS_")}
    # On postgres: a database of its own (keyed by a name no other server uses).
    env.update(meta_env(cwd or Path(f"startup-{uuid.uuid4().hex}")))
    env.update(env_extra or {})
    p = subprocess.run(
        [str(rustfs_binary()), *args], stdin=subprocess.DEVNULL, capture_output=True, env=env, cwd=cwd, timeout=START_TIMEOUT
    )
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


KEYS = {"RUSTFS_ACCESS_KEY": ACCESS_KEY, "RUSTFS_SECRET_KEY": SECRET_KEY}


def test_missing_volume_parent_is_a_clear_error(tmp_path):
    vol = tmp_path / "not-mounted" / "disk1"
    code, out = run_and_fail(["server", str(vol), "--address", "127.0.0.1:0"], KEYS)
    assert code != 0
    assert "does not exist" in out and str(vol) in out
    assert not (tmp_path / "not-mounted").exists(), "nothing created in place of a missing drive"


def test_file_as_volume_is_a_clear_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    code, out = run_and_fail(["server", str(f), "--address", "127.0.0.1:0"], KEYS)
    assert code != 0
    assert "not a directory" in out


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, out = run_and_fail(["server", str(tmp_path / "v"), "--address", f"127.0.0.1:{port}"], KEYS)
    assert code != 0
    assert "cannot listen" in out and str(port) in out


def test_bad_certificate_is_a_clear_error(tmp_path):
    tls = tmp_path / "tls"
    tls.mkdir()
    (tls / "rustfs_cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n")
    (tls / "rustfs_key.pem").write_text("garbage")
    code, out = run_and_fail(["server", str(tmp_path / "v"), "--address", "127.0.0.1:0"], {**KEYS, "RUSTFS_TLS_PATH": str(tls)})
    assert code != 0
    assert "certificate" in out or "private key" in out


def test_missing_certificate_files_are_a_clear_error(tmp_path):
    code, out = run_and_fail(["server", str(tmp_path / "v"), "--address", "127.0.0.1:0"], {**KEYS, "RUSTFS_TLS_PATH": str(tmp_path)})
    assert code != 0
    assert "rustfs_cert.pem" in out


def test_default_credentials_are_refused_on_a_public_address(tmp_path):
    code, out = run_and_fail(["server", str(tmp_path / "v"), "--address", "0.0.0.0:0"])
    assert code != 0
    assert "default credentials" in out


def test_keys_must_come_in_pairs(tmp_path):
    code, out = run_and_fail(["server", str(tmp_path / "v"), "--address", "127.0.0.1:0"], {"RUSTFS_ACCESS_KEY": "onlyme"})
    assert code != 0
    assert "together" in out


def test_volume_expansion_from_environment(tmp_path):
    proc = RustfsProcess(tmp_path, volumes=0, extra_env={"RUSTFS_VOLUMES": f"{tmp_path}/d{{1...3}}"})
    proc.start()
    try:
        for i in (1, 2, 3):
            assert (tmp_path / f"d{i}" / ".rustfs.sys" / "format.json").is_file()
    finally:
        proc.stop()


def _client(proc: RustfsProcess):
    import boto3
    from botocore.client import Config

    return boto3.client(
        "s3",
        endpoint_url=proc.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_sigterm_is_graceful_and_data_survives_restart(tmp_path):
    proc = RustfsProcess(tmp_path).start()
    assert "serving S3 on http://127.0.0.1:" in proc.log_path.read_text()
    s3 = _client(proc)
    s3.create_bucket(Bucket="keep")
    big = os.urandom(3 * MiB + 17)
    s3.put_object(Bucket="keep", Key="big", Body=big)
    s3.put_object(Bucket="keep", Key="small", Body=b"tiny")
    assert proc.stop() == 0, "SIGTERM must end the process cleanly (exit 0)"

    # Leftovers of an interrupted write are removed at start.
    tmp = proc.volumes[0] / ".rustfs.sys" / "tmp"
    (tmp / "deadbeef").write_bytes(b"partial write")

    proc2 = RustfsProcess(tmp_path).start()
    try:
        s3 = _client(proc2)
        assert s3.get_object(Bucket="keep", Key="big")["Body"].read() == big
        assert s3.get_object(Bucket="keep", Key="small")["Body"].read() == b"tiny"
        assert not (tmp / "deadbeef").exists()
    finally:
        proc2.stop()


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def test_memory_stays_bounded_while_a_large_body_streams(tmp_path):
    """A single 1 GiB PUT (streamed, never held by the client either) must not grow the server's
    peak RSS with the body size. Size can be raised with RUSTFS_TEST_BIG_GIB (e.g. 5)."""
    gib = int(os.environ.get("RUSTFS_TEST_BIG_GIB", "1"))
    size = gib * 1024 * MiB
    proc = RustfsProcess(tmp_path).start()
    try:
        s3 = _client(proc)
        s3.create_bucket(Bucket="big")
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "big", "Key": "blob"}, ExpiresIn=600)
        block = os.urandom(MiB)

        class Body:
            """A sized iterable: requests streams it with Content-Length (no chunked coding)."""

            def __len__(self):
                return size

            def __iter__(self):
                for _ in range(size // MiB):
                    yield block

        r = requests.put(url, data=Body(), timeout=600)
        assert r.status_code == 200, r.text
        head = s3.head_object(Bucket="big", Key="blob")
        assert head["ContentLength"] == size
        peak = _peak_rss_mib(proc.proc.pid)
        print(f"server peak RSS {peak:.0f} MiB after a {gib} GiB PUT")
        assert peak < 200, f"server peak RSS {peak:.0f} MiB for a {gib} GiB body"
        # Reading it back streams too.
        got = 0
        with requests.get(s3.generate_presigned_url("get_object", Params={"Bucket": "big", "Key": "blob"}), stream=True, timeout=600) as g:
            for chunk in g.iter_content(4 * MiB):
                got += len(chunk)
        assert got == size
        assert _peak_rss_mib(proc.proc.pid) < 200
    finally:
        proc.stop()


def test_a_sigterm_sent_as_soon_as_it_serves_stops_it_gracefully(tmp_path):
    """The signal handlers are installed before the server prints that it is serving: a SIGTERM
    sent the moment the line appears ends it with status 0 (once the handlers were installed
    only when the serving loop first polled them, and a loaded machine saw the default action,
    death by SIGTERM, -15)."""
    for i in range(5):
        proc = RustfsProcess(tmp_path / f"run{i}").start()
        assert proc.stop() == 0
