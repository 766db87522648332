"""Faults of the PostgreSQL-backed server (RUSTFS_TEST_META=postgres only).

* SIGKILL of rustfs under load (16 writers of PUT / overwrite / delete / multipart, a few rounds
  of a few seconds): after a restart on the same volumes and database, every acknowledged write
  reads back exactly, a write in flight left the old or the new state, nothing is torn.
* PostgreSQL stopped under load (``pg_ctl stop -m fast`` and ``-m immediate``) and started
  again: meanwhile requests get 503 (ServiceUnavailable or SlowDown), never a 500, never wrong
  or partial bytes, never silence; once the database is back the server serves again by itself
  (a bounded readiness poll), and every acknowledged write is there.

Each test module run has its own durable cluster (fsync on), so stopping it disturbs no other
server of the session.
"""

from __future__ import annotations

import hashlib
import random
import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError

from crash_load import Ledger, check_against_ledger, client, join_all, run_workers
from harness import MiB, RustfsProcess
from pg_cluster import DURABLE_SETTINGS, PgCluster, meta_url_for, postgres_only, session_cluster

pytestmark = postgres_only("the PostgreSQL fault tests run with RUSTFS_TEST_META=postgres")

BUCKET = "pgfaults"
KILL_ROUNDS = 3
KILL_WRITERS = 16
KILL_KEYS = [f"k{i:03d}" for i in range(128)]

OUTAGE_WRITERS = 4
OUTAGE_READERS = 4
OUTAGE_KEYS = [f"w{i:02d}" for i in range(32)]
SEEDED = {f"r{i:02d}": random.Random(i).randbytes(s) for i, s in enumerate([0, 1, 4096, 200 * 1024, 1536 * 1024] * 3)}
# Statuses a request may get while the database is down: S3's "retry later" (a HEAD answer
# has no body, so botocore names its error by the status).
RETRY_LATER = {("ServiceUnavailable", 503), ("SlowDown", 503), ("503", 503)}
BOUND = 60.0  # seconds: the longest any phase may take


@pytest.fixture(scope="module")
def pg():
    cluster = PgCluster(DURABLE_SETTINGS).start()
    yield cluster
    cluster.destroy()


_STARTED: list[RustfsProcess] = []


@pytest.fixture(autouse=True)
def _stop_servers():
    """Every server a test started is stopped when it ends, however it ends."""
    yield
    while _STARTED:
        _STARTED.pop().stop()


def start_server(tmp_path, pg: PgCluster, url: str | None = None, volumes: int = 1) -> tuple[RustfsProcess, str]:
    url = url or pg.new_database()
    proc = RustfsProcess(tmp_path, volumes=volumes, extra_env={"RUSTFS_META_URL": url})
    _STARTED.append(proc)
    return proc.start(), url


def wait_for(cond, what: str, timeout: float = BOUND) -> None:
    """Polls ``cond`` (bounded) until it holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_suite_servers_keep_their_metadata_in_postgres(server, s3, bucket):
    """A postgres run is one: the session's server writes its records into its database, and
    no redb file appears on its volumes (no silent fallback to the default backend)."""
    s3.put_object(Bucket=bucket, Key="where", Body=b"in the database")
    db = meta_url_for(server.process.base_dir).rsplit("/", 1)[1].split("?")[0]
    count = session_cluster().psql("SELECT count(*) FROM rustfs_buckets", db=db)
    assert int(count.strip()) >= 1
    assert not [p for v in server.volumes for p in v.rglob("*.redb")]


# --------------------------------------------------------------------------
# SIGKILL of rustfs under load
# --------------------------------------------------------------------------


def test_acknowledged_writes_survive_sigkill_of_rustfs(tmp_path, pg):
    proc, url = start_server(tmp_path, pg, volumes=2)
    s3 = client(proc.url)
    s3.create_bucket(Bucket=BUCKET)
    known: dict[str, str | None] = {k: None for k in KILL_KEYS}
    rnd = random.Random(4321)
    for round_no in range(KILL_ROUNDS):
        ledger = Ledger(known)
        stop = threading.Event()
        threads = run_workers(proc.url, BUCKET, KILL_KEYS, ledger, stop, KILL_WRITERS, 1000 + round_no * 100)
        try:
            # Under load for a few seconds, with some writes acknowledged.
            wait_for(lambda: ledger.acks >= 20, "20 acknowledged writes")
            time.sleep(rnd.uniform(1.0, 2.5))
            proc.proc.send_signal(signal.SIGKILL)  # only the process this test started
            proc.proc.wait(10)
        finally:
            stop.set()
        join_all(threads)

        proc, _ = start_server(tmp_path, pg, url, volumes=2)
        s3 = client(proc.url)
        settled = check_against_ledger(s3, BUCKET, ledger, known, f"round {round_no}")
        assert settled > 0


# --------------------------------------------------------------------------
# PostgreSQL stopped under load
# --------------------------------------------------------------------------


class Outcomes:
    """Every answer the load got, and what was wrong with any."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.retry_later = 0
        self.wrong: list[str] = []

    def success(self) -> None:
        with self.lock:
            self.ok += 1

    def error(self, op: str, err: Exception) -> None:
        with self.lock:
            if isinstance(err, ClientError):
                code = err.response.get("Error", {}).get("Code")
                status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if (code, status) in RETRY_LATER:
                    self.retry_later += 1
                    return
                self.wrong.append(f"{op}: {status} {code}")
            else:  # no answer at all: a dropped connection or a hang (read timeout)
                self.wrong.append(f"{op}: no answer: {type(err).__name__}: {err}")

    def bad(self, what: str) -> None:
        with self.lock:
            self.wrong.append(what)


def reader(url: str, out: Outcomes, stop: threading.Event, seed: int) -> None:
    """GET (whole or a range), HEAD and list the seeded objects; a 200 must carry exactly
    the stored bytes."""
    rnd = random.Random(seed)
    s3 = client(url)
    keys = sorted(SEEDED)
    while not stop.is_set():
        key = rnd.choice(keys)
        want = SEEDED[key]
        roll = rnd.random()
        try:
            if roll < 0.5:
                body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                if body != want:
                    out.bad(f"GET {key}: {len(body)} bytes, not the {len(want)} stored")
            elif roll < 0.7 and len(want) > 10:
                a = rnd.randrange(len(want) - 1)
                b = rnd.randrange(a, len(want))
                body = s3.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={a}-{b}")["Body"].read()
                if body != want[a : b + 1]:
                    out.bad(f"GET {key} bytes={a}-{b}: wrong bytes")
            elif roll < 0.85:
                head = s3.head_object(Bucket=BUCKET, Key=key)
                if head["ContentLength"] != len(want) or head["ETag"].strip('"') != hashlib.md5(want).hexdigest():
                    out.bad(f"HEAD {key}: {head['ContentLength']} {head['ETag']}")
            else:
                listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="r")
                got = {o["Key"]: o["Size"] for o in listed.get("Contents", [])}
                if got != {k: len(v) for k, v in SEEDED.items()}:
                    out.bad(f"LIST: {len(got)} seeded objects listed")
            out.success()
        except Exception as err:
            out.error("read", err)
        stop.wait(0.01)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_database_stopped_under_load_gets_503_and_recovers(tmp_path, pg, mode):
    proc, url = start_server(tmp_path, pg)
    s3 = client(proc.url)
    s3.create_bucket(Bucket=BUCKET)
    for key, data in SEEDED.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    known: dict[str, str | None] = {k: None for k in OUTAGE_KEYS}
    known.update({k: hashlib.md5(v).hexdigest() for k, v in SEEDED.items()})
    ledger = Ledger(known)
    out = Outcomes()
    stop = threading.Event()
    threads = run_workers(
        proc.url, BUCKET, OUTAGE_KEYS, ledger, stop, OUTAGE_WRITERS, 7000,
        on_error=lambda e: out.error("write", e),
    )
    threads += [
        threading.Thread(target=reader, args=(proc.url, out, stop, 9000 + i), daemon=True)
        for i in range(OUTAGE_READERS)
    ]
    for t in threads[OUTAGE_WRITERS:]:
        t.start()
    try:
        wait_for(lambda: ledger.acks >= 10 and out.ok >= 20, "load under way")

        pg.stop(mode)
        refused_before = out.retry_later
        # The outage lasts until the load has been refused a fair number of times.
        wait_for(lambda: out.retry_later >= refused_before + 40, "requests refused while the database is down")
        assert proc.alive(), "rustfs exited while its database was down"
        # A request while the database is down, by hand: 503, not a hang.
        probe = client(proc.url)
        with pytest.raises(ClientError) as refused:
            probe.put_object(Bucket=BUCKET, Key="probe", Body=b"x")
        err = refused.value.response
        assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) in RETRY_LATER, err

        pg.start()
        # Readiness: the server serves again by itself (bounded poll; every failure is a 503).
        deadline = time.monotonic() + BOUND
        while True:
            try:
                probe.put_object(Bucket=BUCKET, Key="probe", Body=b"back")
                assert probe.get_object(Bucket=BUCKET, Key="probe")["Body"].read() == b"back"
                break
            except ClientError as e:
                got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
                assert got in RETRY_LATER, f"after the database came back: {got}"
                assert time.monotonic() < deadline, "the server did not recover within the bound"
                time.sleep(0.1)
        acks_back, ok_back = ledger.acks, out.ok
        wait_for(lambda: ledger.acks >= acks_back + 10 and out.ok >= ok_back + 20, "load served again")
        stop.set()
        join_all(threads)

        assert not out.wrong, f"{len(out.wrong)} wrong answers, e.g. {out.wrong[:10]}"
        assert out.retry_later > 0
        # Every acknowledged write is there, exactly; nothing torn; the seeded objects intact.
        known["probe"] = ledger.acked["probe"] = hashlib.md5(b"back").hexdigest()
        check_against_ledger(client(proc.url), BUCKET, ledger, known, "after the outage")
        assert "panicked" not in proc.log_path.read_text("utf-8", "replace")
    finally:
        stop.set()
        join_all(threads)
        if not pg.running:  # a failure mid-outage leaves the next test a running database
            pg.start()
