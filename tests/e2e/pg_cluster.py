"""A real PostgreSQL for the end-to-end suite, from the distribution's package.

``RUSTFS_TEST_META=postgres`` (default ``redb``) makes every server the suite starts keep its
metadata in PostgreSQL: one cluster per pytest session (``initdb`` and ``pg_ctl`` in a
temporary directory, on a free loopback port, as the ``postgres`` user when we are root,
stopped and removed when the session ends), and a fresh database per server instance
(``CREATE DATABASE``). A server restarted on the same directory gets the same database, as a
restarted server on the same volumes would in production.

Without PostgreSQL installed, a postgres run skips its tests, saying why, except under
``CI=true``, where it fails (CI installs PostgreSQL: ``scripts/install-test-deps.sh``).
Mirrors ``crates/meta/tests/support/pg_server.rs``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

META = os.environ.get("RUSTFS_TEST_META", "redb").strip().lower() or "redb"
if META not in ("redb", "postgres"):
    raise RuntimeError(f"RUSTFS_TEST_META must be redb or postgres, not {META!r}")

# The suite checks semantics; rustfs's durability is tested by killing rustfs, not the
# database host, so the shared cluster does not fsync. Many servers may be up at once (16
# pooled connections each).
FAST_SETTINGS = (
    "fsync=off",
    "synchronous_commit=on",
    "max_connections=400",
    "shared_buffers=32MB",
    "deadlock_timeout=100ms",
)
# A durable cluster: what a deployment runs, for the fault tests and the benchmarks.
DURABLE_SETTINGS = (
    "max_connections=200",
    "shared_buffers=128MB",
    "deadlock_timeout=100ms",
)

PG_START_TIMEOUT = 60


def on_postgres() -> bool:
    return META == "postgres"


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, else Debian's newest
    /usr/lib/postgresql/VERSION/bin."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file():
            return Path(d)
    found = []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        for e in root.iterdir():
            b = e / "bin"
            if e.name.isdigit() and (b / "initdb").is_file() and (b / "pg_ctl").is_file():
                found.append((int(e.name), b))
    return max(found)[1] if found else None


def missing_postgres() -> None:
    """Fails under CI=true, skips otherwise: PostgreSQL is not installed."""
    why = "PostgreSQL (initdb, pg_ctl) is not installed"
    if in_ci():
        pytest.fail(f"{why}; CI must have it (scripts/install-test-deps.sh)", pytrace=False)
    pytest.skip(f"{why}: postgres-backed tests skipped")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One PostgreSQL server: data and socket in a temporary directory, listening on a free
    loopback port. ``stop``/``start`` keep the port, so clients reconnect to the same URL."""

    def __init__(self, settings=FAST_SETTINGS):
        bin_dir = find_bin_dir()
        if bin_dir is None:
            missing_postgres()
        # Symlinks on PATH (e.g. /usr/local/bin/initdb) lead to the package's bin directory,
        # which also holds psql.
        self.bin = (bin_dir / "pg_ctl").resolve().parent
        self.settings = tuple(settings)
        self.root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="rustfs-e2e-pg-"))
        if self.root:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = self.dir / "data"
        self.log = self.dir / "log"
        self.port = _free_port()
        self._lock = threading.Lock()
        self._n = 0
        self.running = False
        out = self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
        )
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed: {out.stderr}")
        atexit.register(self.destroy)
        self._watch()

    def _watch(self) -> None:
        """A watcher process stops the server and removes the directory once this process is
        gone, even if it is killed before ``atexit`` runs."""
        runuser = "runuser -u postgres -- " if self.root else ""
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
            f"{runuser}'{self.bin / 'pg_ctl'}' -D '{self.data}' stop -m immediate >/dev/null 2>&1; "
            f"rm -rf '{self.dir}'"
        )
        subprocess.Popen(
            ["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def _run(self, tool: str, *args: str, timeout: float = PG_START_TIMEOUT) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / tool), *args]
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "PgCluster":
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        for s in self.settings:
            options += f" -c {s}"
        out = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(PG_START_TIMEOUT),
            "-o", options, "start",
        )
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {out.stderr}\n{self.log_tail()}")
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE`` (smart, fast or immediate); waits until it is down."""
        if not self.running:
            return
        out = self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(PG_START_TIMEOUT), "-m", mode, "stop")
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {out.stderr}\n{self.log_tail()}")
        self.running = False

    def destroy(self) -> None:
        """Stops the server (immediate) and removes its directory. Idempotent."""
        if self.running and self.data.exists():
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- databases ---------------------------------------------------------

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def psql(self, sql: str, db: str = "postgres") -> str:
        psql = self.bin / "psql"
        cmd = [
            str(psql if psql.is_file() else shutil.which("psql") or "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql,
        ]
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {out.stderr}")
        return out.stdout

    def new_database(self) -> str:
        """Creates an empty database; returns its URL."""
        with self._lock:
            self._n += 1
            name = f"rustfs_{os.getpid()}_{self._n}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    # -- inspection --------------------------------------------------------

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, walwriter, checkpointer, ...)."""
        pm = self.postmaster_pid()
        if pm is None:
            return []
        out = [pm]
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            # Fields after the parenthesised command name: state, ppid, ...
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 1 and fields[1] == str(pm):
                out.append(int(p.name))
        return out

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no PostgreSQL log)"


# --------------------------------------------------------------------------
# The session's cluster and the database of each server directory
# --------------------------------------------------------------------------

_session: PgCluster | None = None
_session_lock = threading.Lock()
_databases: dict[str, str] = {}


def session_cluster() -> PgCluster:
    """The session's shared cluster, started on first use."""
    global _session
    with _session_lock:
        if _session is None:
            _session = PgCluster(FAST_SETTINGS).start()
        return _session


def stop_session_cluster() -> None:
    global _session
    with _session_lock:
        if _session is not None:
            _session.destroy()
            _session = None
        _databases.clear()


def meta_url_for(base_dir: Path) -> str:
    """The database URL of the server whose files live in ``base_dir``: created on first use,
    the same one for every later start on that directory."""
    cluster = session_cluster()
    key = str(Path(base_dir).resolve())
    with _session_lock:
        url = _databases.get(key)
    if url is None:
        url = cluster.new_database()
        with _session_lock:
            url = _databases.setdefault(key, url)
    return url


def meta_env(base_dir: Path) -> dict[str, str]:
    """Environment that selects the metadata backend of this run for a server in
    ``base_dir``: ``RUSTFS_META_URL`` on postgres, nothing on redb (the default)."""
    if not on_postgres():
        return {}
    return {"RUSTFS_META_URL": meta_url_for(base_dir)}


def postgres_only(reason: str = "needs RUSTFS_TEST_META=postgres"):
    return pytest.mark.skipif(not on_postgres(), reason=reason)
