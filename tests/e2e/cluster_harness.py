"""A RustFS cluster for the e2e tests: one PostgreSQL database (the session's server, a
database of its own), and N ``rustfs server`` nodes on distinct loopback addresses
(127.0.0.2, 127.0.0.3, ...), each with its own volumes, all pointed at that database with
``RUSTFS_META_URL``, ``RUSTFS_NODE_ADDRESS`` and one ``RUSTFS_CLUSTER_SECRET``.

Nodes start at once (the first pool waits for ``RUSTFS_CLUSTER_NODES`` of them), and the
cluster is ready when every node answers a signed ListBuckets."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from harness import RustfsProcess, S3Server, ServerStartError, make_tls_material
from pg_cluster import session_cluster

CLUSTER_SECRET = "e2e-cluster-secret-0123456789abcdef"
READY_TIMEOUT = 90.0


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Cluster:
    """``nodes`` nodes with ``volumes`` volumes each; ``parity`` sets
    ``RUSTFS_STORAGE_CLASS_STANDARD=EC:parity`` (else the layout's default)."""

    def __init__(self, base: Path, *, nodes: int = 4, volumes: int = 2,
                 parity: int | None = None, extra_env: dict[str, str] | None = None,
                 tls: bool = False, meta_url: str | None = None, first_host: int = 2):
        self.base = base
        self.count = nodes
        # With ``tls``, every node serves HTTPS (S3 and internode) with one certificate from a
        # test CA, and the nodes reach each other at https:// addresses.
        tls_dir, ca = make_tls_material(base / "tls") if tls else (None, None)
        self.scheme = "https" if tls else "http"
        self.ca = ca
        # ``meta_url`` of another Cluster: more nodes for that cluster (on hosts from
        # 127.0.0.``first_host``).
        self.meta_url = meta_url or session_cluster().new_database()
        self.hosts = [f"127.0.0.{i + first_host}" for i in range(nodes)]
        self.ports = [free_port(h) for h in self.hosts]
        env = {
            "RUSTFS_META_URL": self.meta_url,
            "RUSTFS_CLUSTER_SECRET": CLUSTER_SECRET,
            "RUSTFS_CLUSTER_NODES": str(nodes),
            **(extra_env or {}),
        }
        if parity is not None:
            env["RUSTFS_STORAGE_CLASS_STANDARD"] = f"EC:{parity}"
        self.procs: list[RustfsProcess] = []
        for i, (host, port) in enumerate(zip(self.hosts, self.ports)):
            node_env = dict(env, RUSTFS_NODE_ADDRESS=f"{self.scheme}://{host}:{port}")
            self.procs.append(RustfsProcess(
                base / f"node{i + 1}", volumes=volumes, address=f"{host}:{port}",
                extra_env=node_env, tls_dir=tls_dir, ca_bundle=ca))

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "Cluster":
        self._start_nodes(range(self.count))
        self.wait_ready(range(self.count))
        return self

    def _start_nodes(self, which) -> None:
        errors: list[str] = []

        def run(i: int) -> None:
            try:
                self.procs[i].start()
            except ServerStartError as err:
                errors.append(f"node {i + 1}: {err}")

        threads = [threading.Thread(target=run, args=(i,)) for i in which]
        for t in threads:
            t.start()
        for t in threads:
            t.join(READY_TIMEOUT + 30)
        if errors:
            self.stop()
            raise ServerStartError("\n".join(errors))

    def wait_ready(self, which, timeout: float = READY_TIMEOUT) -> None:
        """Until each node in ``which`` answers ListBuckets (its layout is known)."""
        deadline = time.monotonic() + timeout
        for i in which:
            s3 = self.node(i).client(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5)
            while True:
                try:
                    s3.list_buckets()
                    break
                except (ClientError, BotoCoreError) as err:
                    if time.monotonic() > deadline:
                        raise ServerStartError(
                            f"node {i + 1} not ready within {timeout:.0f}s: {err}\n"
                            f"--- {self.procs[i].log_path} ---\n{self.procs[i].log_tail()}")
                    time.sleep(0.2)

    def kill(self, i: int) -> None:
        """SIGKILL node ``i`` (0-based), a process this harness started."""
        p = self.procs[i].proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)

    def restart(self, i: int) -> None:
        proc = self.procs[i]
        proc.stop()
        proc.url = None
        proc._ready.clear()
        self._start_nodes([i])
        self.wait_ready([i])

    def move(self, i: int) -> None:
        """Restart node ``i`` on a new port (a machine or pod that came back elsewhere): it
        registers its new address; the others must follow."""
        proc = self.procs[i]
        proc.stop()
        port = free_port(self.hosts[i])
        self.ports[i] = port
        proc.address = f"{self.hosts[i]}:{port}"
        proc.extra_env["RUSTFS_NODE_ADDRESS"] = f"{self.scheme}://{self.hosts[i]}:{port}"
        proc.url = None
        proc._ready.clear()
        self._start_nodes([i])
        self.wait_ready([i])

    def stop(self) -> None:
        for p in self.procs:
            p.stop()

    # -- access --------------------------------------------------------------

    def node(self, i: int) -> S3Server:
        return S3Server(f"node{i + 1}", self.procs[i], f"{self.scheme}://{self.hosts[i]}:{self.ports[i]}")

    def client(self, i: int, **config):
        return self.node(i).client(**config)

    def volumes(self, i: int) -> list[Path]:
        return self.procs[i].volumes

    def logs(self) -> str:
        return "\n".join(f"--- node {i + 1} ---\n{p.log_tail(20)}" for i, p in enumerate(self.procs))
