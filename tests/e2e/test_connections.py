"""Connection limits of the real binary: a slow request head (slowloris) and an idle kept-alive
connection are closed after their timeouts; connections that send nothing cannot starve new
clients (the cap closes the idle ones to make room) nor take the file handles the volumes need;
the soft open-file limit is raised to the hard one at start."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest

import harness
from harness import RustfsProcess

# Bounds on how long we wait for the server to act: generous, never a speed assertion.
CLOSE_WAIT = 15.0


def _client(proc: RustfsProcess):
    return harness.S3Server("conn", proc, proc.url).client(connect_timeout=5, read_timeout=20)


def _connect(proc: RustfsProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proc.port), timeout=CLOSE_WAIT)


def _closed_within(s: socket.socket, limit: float) -> float | None:
    """Seconds until the server closes `s` (EOF or reset), or None if still open at `limit`."""
    start = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - start
        if data == b"":
            return time.monotonic() - start
    return None


def _request(host_port: str, path: str = "/") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host_port}\r\n\r\n".encode()


def _read_response(s: socket.socket) -> bytes:
    """Reads one response whose body has a Content-Length."""
    buf = b""
    s.settimeout(CLOSE_WAIT)
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, f"connection closed mid-response: {buf!r}"
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk
        body += chunk
    return head


@pytest.fixture
def short_timeouts(tmp_path):
    proc = RustfsProcess(
        tmp_path,
        extra_env={"RUSTFS_HTTP1_HEADER_READ_TIMEOUT": "2", "RUSTFS_HTTP_IDLE_TIMEOUT": "4"},
    ).start()
    yield proc
    proc.stop()


def test_slowloris_head_is_dropped_after_the_header_timeout(short_timeouts):
    proc = short_timeouts
    s = _connect(proc)
    request = _request(f"127.0.0.1:{proc.port}")
    start = time.monotonic()
    sent = 0
    closed_at = None
    # One byte every 0.5 s: the whole head would take ~20 s.
    for b in request:
        try:
            s.sendall(bytes([b]))
        except OSError:
            closed_at = time.monotonic() - start
            break
        sent += 1
        t = _closed_within(s, 0.5)
        if t is not None:
            closed_at = time.monotonic() - start
            break
    s.close()
    assert closed_at is not None, "a head sent byte by byte was never cut off"
    assert sent < len(request), "the head was complete before the cut"
    assert 1.5 <= closed_at <= CLOSE_WAIT, f"closed after {closed_at:.1f}s, the timeout is 2s"


def test_silent_new_connection_is_dropped_after_the_header_timeout(short_timeouts):
    s = _connect(short_timeouts)
    t = _closed_within(s, CLOSE_WAIT)
    s.close()
    assert t is not None and t >= 1.5, t


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(short_timeouts):
    proc = short_timeouts
    host = f"127.0.0.1:{proc.port}"
    s = _connect(proc)
    s.sendall(_request(host))
    assert _read_response(s).startswith(b"HTTP/1.1 ")
    # Idle longer than the header timeout (2 s) but less than the idle timeout (4 s): the
    # connection still serves the next request.
    time.sleep(2.8)
    s.sendall(_request(host))
    assert _read_response(s).startswith(b"HTTP/1.1 ")
    start = time.monotonic()
    t = _closed_within(s, CLOSE_WAIT)
    s.close()
    assert t is not None, "an idle kept-alive connection was never closed"
    assert time.monotonic() - start >= 3.0, "closed before the idle timeout"


def _open_silent(proc: RustfsProcess, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", proc.port))
        socks.append(s)
    return socks


def _assert_serves_and_stays_online(proc: RustfsProcess, bucket: str):
    s3 = _client(proc)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"still served")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"still served"
    # Two maintenance ticks (volume health checks) pass while the connections are held.
    time.sleep(4.5)
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x" * 300_000)
    assert s3.head_object(Bucket=bucket, Key="k2")["ContentLength"] == 300_000
    log = proc.log_path.read_text("utf-8", "replace").lower()
    assert "offline" not in log and "too many open files" not in log, proc.log_tail()


def test_idle_connections_beyond_the_cap_do_not_starve_clients(tmp_path):
    """Cap 64, 100 connections that send nothing (long header timeout, so the cap and not a
    timeout makes room): a normal client is still served and the volume stays online."""
    proc = RustfsProcess(
        tmp_path,
        extra_env={"RUSTFS_MAX_CONNECTIONS": "64", "RUSTFS_HTTP1_HEADER_READ_TIMEOUT": "120"},
    ).start()
    socks = []
    try:
        socks = _open_silent(proc, 100)
        _assert_serves_and_stays_online(proc, "capped")
        assert proc.alive()
    finally:
        for s in socks:
            s.close()
        proc.stop()


def _wrapper(tmp_path: Path, ulimit: str) -> Path:
    """A script that starts the real binary under a different open-file limit."""
    w = tmp_path / "rustfs-limited"
    w.write_text(f"#!/bin/sh\n{ulimit}\nexec {harness.rustfs_binary()} \"$@\"\n")
    w.chmod(w.stat().st_mode | stat.S_IXUSR)
    return w


def _limits(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc")


def test_low_file_limit_keeps_handles_for_the_volume(tmp_path, monkeypatch):
    """Soft and hard limit 256: the cap derived from it keeps handles for the volume, so 300
    silent connections neither stop new clients nor make the health check fail."""
    w = _wrapper(tmp_path, "ulimit -n 256")
    monkeypatch.setattr(harness, "rustfs_binary", lambda: w)
    proc = RustfsProcess(tmp_path / "srv", extra_env={"RUSTFS_HTTP1_HEADER_READ_TIMEOUT": "120"}).start()
    socks = []
    try:
        assert _limits(proc.proc.pid) == (256, 256)
        socks = _open_silent(proc, 300)
        _assert_serves_and_stays_online(proc, "lowlimit")
    finally:
        for s in socks:
            s.close()
        proc.stop()


def test_soft_file_limit_is_raised_to_the_hard_limit(tmp_path, monkeypatch):
    _, hard = _limits(os.getpid())
    if hard < 512:
        pytest.skip(f"hard open-file limit {hard} leaves nothing to raise")
    w = _wrapper(tmp_path, "ulimit -S -n 256")
    monkeypatch.setattr(harness, "rustfs_binary", lambda: w)
    proc = RustfsProcess(tmp_path / "srv").start()
    try:
        soft, got_hard = _limits(proc.proc.pid)
        assert got_hard == hard and soft == hard, (soft, got_hard)
    finally:
        proc.stop()
