//! Metadata transactions on redb (one replica; four replicas with a write quorum of three) and
//! on a real PostgreSQL (started here from the distribution's package, durable settings:
//! `fsync=on`, `synchronous_commit=on`), interleaved A-B-A-B in one session:
//!
//! - `put64`: a PUT-like transaction from 64 concurrent tasks: read one key of the objects
//!   table (absent), write a ~300-byte record there, commit (through [`transact`], which retries
//!   conflicts; the retries are counted);
//! - `get64`: a GET-like point read in a read-only transaction from 64 concurrent tasks;
//! - `get64-readkey`: the same read through [`TxnStore::read_key`] (one statement on
//!   PostgreSQL, no `BEGIN`/`COMMIT`);
//! - `list1000`: a scan of 1,000 keys (a listing page) from a table of `RUSTFS_BENCH_LIST_KEYS`
//!   keys (default 100,000), one at a time (latency);
//! - `put64-grouped16` (PostgreSQL only, raw SQL, not the API): 16 PUTs in one transaction
//!   (one `SELECT ... = ANY` for their keys, one `INSERT` from `unnest`, `COMMIT`), 4 tasks:
//!   the best case of grouping concurrent commits into one transaction.
//!
//! Besides criterion's figures it prints, per run, operations per second, p50/p99 latency and
//! CPU per operation of this process and of PostgreSQL's processes (the postmaster and its
//! children), sampled from `/proc/PID/stat` (utime + stime, 100 ticks/s) around every timed
//! run. Knobs: `RUSTFS_BENCH_ROUNDS` (default 2), `RUSTFS_BENCH_PG_POOL` (pool size, default
//! the store's), `RUSTFS_BENCH_PG_SETTINGS` (extra `name=value` server settings, space
//! separated). Run: `cargo bench -p rustfs-meta --bench txn`. See `docs/benchmarks.md`.

#[path = "../src/pg_server.rs"]
mod pg_server;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rustfs_meta::pg::PgOptions;
use rustfs_meta::{MetaError, PgStore, RedbStore, ScanStep, Table, TxnStore, transact};
use tokio::runtime::Runtime;

const CONCURRENCY: usize = 64;
const RECORD: usize = 300;
const GET_KEYS: u64 = 10_000;
const PAGE: usize = 1000;

fn rounds() -> usize {
    env_or("RUSTFS_BENCH_ROUNDS", 2)
}

fn list_keys() -> u64 {
    env_or("RUSTFS_BENCH_LIST_KEYS", 100_000)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `/proc/PID/stat` utime + stime in ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command name may hold spaces: the fields after it start behind the last ')'.
    let Some(rest) = s.rfind(')').map(|i| &s[i + 2..]) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let get = |n: usize| {
        f.get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

fn parent_of(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// CPU ticks of this process and of PostgreSQL (postmaster and children).
#[derive(Clone, Copy, Default)]
struct Cpu {
    own: u64,
    pg: u64,
}

fn sample(postmaster: Option<u32>) -> Cpu {
    let own = cpu_ticks(std::process::id());
    let pg = postmaster.map_or(0, |pm| {
        let mut t = cpu_ticks(pm);
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok())
                    && parent_of(pid) == Some(pm)
                {
                    t += cpu_ticks(pid);
                }
            }
        }
        t
    });
    Cpu { own, pg }
}

/// What the timed runs of one benchmark id added up to.
#[derive(Default)]
struct Stats {
    ops: u64,
    runs: u64,
    elapsed: Duration,
    cpu_own: u64,
    cpu_pg: u64,
    latencies_us: Vec<u32>,
}

static STATS: Mutex<BTreeMap<String, Stats>> = Mutex::new(BTreeMap::new());

fn record(id: &str, ops: u64, runs: u64, elapsed: Duration, before: Cpu, after: Cpu, lat: &[u32]) {
    let mut all = STATS.lock().expect("stats");
    let s = all.entry(id.to_string()).or_default();
    s.ops += ops;
    s.runs += runs;
    s.elapsed += elapsed;
    s.cpu_own += after.own.saturating_sub(before.own);
    s.cpu_pg += after.pg.saturating_sub(before.pg);
    // A bounded reservoir is enough for percentiles.
    if s.latencies_us.len() < 200_000 {
        s.latencies_us.extend_from_slice(lat);
    }
}

fn report() {
    let all = STATS.lock().expect("stats");
    eprintln!();
    eprintln!(
        "{:<34} {:>10} {:>9} {:>9} {:>11} {:>10} {:>10}",
        "benchmark", "ops/s", "p50 us", "p99 us", "retries/op", "own us/op", "pg us/op"
    );
    for (id, s) in all.iter() {
        let mut l = s.latencies_us.clone();
        l.sort_unstable();
        let pct = |p: f64| {
            l.get(((l.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(0)
        };
        let ops = s.ops.max(1) as f64;
        // 100 ticks per second: one tick is 10,000 us.
        eprintln!(
            "{:<34} {:>10.0} {:>9} {:>9} {:>11.3} {:>10.1} {:>10.1}",
            id,
            s.ops as f64 / s.elapsed.as_secs_f64().max(1e-9),
            pct(0.5),
            pct(0.99),
            s.runs.saturating_sub(s.ops) as f64 / ops,
            s.cpu_own as f64 * 10_000.0 / ops,
            s.cpu_pg as f64 * 10_000.0 / ops,
        );
    }
}

/// A store under test and what must outlive it.
struct Backend {
    name: &'static str,
    store: Arc<dyn TxnStore>,
    postmaster: Option<u32>,
    /// For the raw-SQL grouped variant.
    url: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn redb_single() -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(&dir.path().join("meta.redb")).expect("open redb");
    Backend {
        name: "redb",
        store: Arc::new(store),
        postmaster: None,
        url: None,
        _dir: Some(dir),
    }
}

/// Four replicas in four directories, a write quorum of three.
fn redb_replicated() -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths: Vec<_> = (0..4)
        .map(|i| {
            let d = dir.path().join(format!("vol{i}"));
            std::fs::create_dir_all(&d).expect("volume dir");
            d.join("meta.redb")
        })
        .collect();
    let store = RedbStore::open_replicated(&paths, 3).expect("open redb replicas");
    Backend {
        name: "redb4q3",
        store: Arc::new(store),
        postmaster: None,
        url: None,
        _dir: Some(dir),
    }
}

/// Durable settings an operator would also use (see `docs/benchmarks.md`), plus any from
/// `RUSTFS_BENCH_PG_SETTINGS`.
fn pg_settings() -> Vec<String> {
    let mut s: Vec<String> = [
        "fsync=on",
        "synchronous_commit=on",
        "shared_buffers=256MB",
        "max_connections=200",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Ok(extra) = std::env::var("RUSTFS_BENCH_PG_SETTINGS") {
        s.extend(extra.split_whitespace().map(str::to_string));
    }
    s
}

fn postgres(rt: &Runtime, server: &pg_server::PgServer) -> Backend {
    let url = rt.block_on(server.database());
    let defaults = PgOptions::default();
    let options = PgOptions {
        pool_size: env_or("RUSTFS_BENCH_PG_POOL", defaults.pool_size),
        ..defaults
    };
    let store = rt
        .block_on(PgStore::open_with(&url, options))
        .expect("open the PostgreSQL store");
    Backend {
        name: "pg",
        store: Arc::new(store),
        postmaster: server.postmaster_pid(),
        url: Some(url),
        _dir: None,
    }
}

fn value(n: u64) -> Vec<u8> {
    let mut v = vec![0x5a; RECORD];
    v[..8].copy_from_slice(&n.to_be_bytes());
    v
}

fn get_key(n: u64) -> Vec<u8> {
    format!("bench\0get/{n:08}").into_bytes()
}

fn list_key(n: u64) -> Vec<u8> {
    format!("bench\0list/{n:09}").into_bytes()
}

/// Writes `count` keys made by `key`, 5,000 per transaction.
fn load(rt: &Runtime, store: &dyn TxnStore, count: u64, key: fn(u64) -> Vec<u8>) {
    rt.block_on(async {
        let mut at = 0;
        while at < count {
            let end = (at + 5_000).min(count);
            let mut t = store.begin().await.expect("begin");
            for n in at..end {
                t.put(Table::Objects, key(n), value(n));
            }
            t.commit().await.expect("load commit");
            at = end;
        }
    });
}

/// A cheap per-task random sequence (xorshift).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Runs `ops` operations from `tasks` tasks; returns (elapsed, body runs, latencies in us).
fn concurrent<F, Fut>(rt: &Runtime, tasks: usize, ops: u64, op: F) -> (Duration, u64, Vec<u32>)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = u64> + Send,
{
    let op = Arc::new(op);
    let left = Arc::new(AtomicU64::new(0));
    let runs = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let lat = rt.block_on(async {
        let mut handles = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let (op, left, runs) = (op.clone(), left.clone(), runs.clone());
            handles.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let n = left.fetch_add(1, Ordering::Relaxed);
                    if n >= ops {
                        break;
                    }
                    let t = Instant::now();
                    runs.fetch_add(op(n).await, Ordering::Relaxed);
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.expect("bench task"));
        }
        all
    });
    (start.elapsed(), runs.load(Ordering::Relaxed), lat)
}

static PUT_SEQ: AtomicU64 = AtomicU64::new(0);

async fn put_once(store: &dyn TxnStore) -> u64 {
    let n = PUT_SEQ.fetch_add(1, Ordering::Relaxed);
    // Spread over the key space as object names of many clients would be.
    let key = format!("bench\0put/{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)).into_bytes();
    let body_runs = Arc::new(AtomicU64::new(0));
    let runs = body_runs.clone();
    let key = &key;
    transact(store, |t| {
        runs.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let old = t.get(Table::Objects, key).await?;
            assert!(old.is_none(), "PUT keys are new");
            t.put(Table::Objects, key.clone(), value(n));
            Ok::<_, MetaError>(())
        })
    })
    .await
    .expect("PUT transaction");
    body_runs.load(Ordering::Relaxed)
}

async fn get_once(store: &dyn TxnStore, n: u64) -> u64 {
    let key = get_key(n % GET_KEYS);
    let mut t = store.begin().await.expect("begin");
    let v = t.get(Table::Objects, &key).await.expect("get");
    assert!(v.is_some(), "preloaded");
    t.commit().await.expect("read-only commit");
    1
}

async fn read_key_once(store: &dyn TxnStore, n: u64) -> u64 {
    let v = store
        .read_key(Table::Objects, &get_key(n % GET_KEYS))
        .await
        .expect("read_key");
    assert!(v.is_some(), "preloaded");
    1
}

async fn list_once(store: &dyn TxnStore, start: u64) -> u64 {
    let mut t = store.begin().await.expect("begin");
    let mut seen = 0usize;
    t.scan(
        Table::Objects,
        &list_key(start),
        b"bench\0list0",
        &mut |_, _| {
            seen += 1;
            if seen >= PAGE {
                ScanStep::Stop
            } else {
                ScanStep::Next
            }
        },
    )
    .await
    .expect("scan");
    assert_eq!(seen, PAGE);
    t.commit().await.expect("read-only commit");
    1
}

/// A raw connection with the grouped variant's statements prepared.
struct Raw {
    client: tokio_postgres::Client,
    begin: tokio_postgres::Statement,
    read: tokio_postgres::Statement,
    write: tokio_postgres::Statement,
}

async fn raw(url: &str) -> Raw {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let begin = client
        .prepare("BEGIN ISOLATION LEVEL SERIALIZABLE")
        .await
        .expect("prepare");
    let read = client
        .prepare("SELECT k FROM rustfs_objects WHERE k = ANY($1::BYTEA[])")
        .await
        .expect("prepare");
    let write = client
        .prepare(
            "INSERT INTO rustfs_objects (k, v) SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[]) \
             ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        )
        .await
        .expect("prepare");
    Raw {
        client,
        begin,
        read,
        write,
    }
}

/// `group` PUTs in one transaction over a raw connection (see the module comment): `BEGIN`
/// with one read of every key, then one write and `COMMIT`, each pair pipelined.
async fn grouped_put(r: &Raw, group: usize) {
    let base = PUT_SEQ.fetch_add(group as u64, Ordering::Relaxed);
    let keys: Vec<Vec<u8>> = (0..group as u64)
        .map(|i| {
            format!(
                "bench\0put/{:016x}",
                (base + i).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            )
            .into_bytes()
        })
        .collect();
    let values: Vec<Vec<u8>> = (0..group as u64).map(|i| value(base + i)).collect();
    loop {
        let c = &r.client;
        let read_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&keys];
        let write_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&keys, &values];
        let (b, found) = tokio::join!(c.query(&r.begin, &[]), c.query(&r.read, &read_params));
        b.expect("begin");
        assert!(found.expect("read").is_empty());
        let (w, done) = tokio::join!(c.query(&r.write, &write_params), c.batch_execute("COMMIT"));
        match (w, done) {
            (Ok(_), Ok(())) => return,
            (Err(e), _) | (_, Err(e))
                if e.code()
                    == Some(&tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE) =>
            {
                let _ = c.batch_execute("ROLLBACK").await;
            }
            (Err(e), _) | (_, Err(e)) => panic!("grouped put: {e}"),
        }
    }
}

struct Setup {
    rt: Runtime,
    backends: Vec<Backend>,
    _server: Option<pg_server::PgServer>,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let settings = pg_settings();
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let server = pg_server::start(&settings);
    let mut backends = vec![redb_single(), redb_replicated()];
    if let Some(s) = &server {
        backends.push(postgres(&rt, s));
    }
    for b in &backends {
        let t = Instant::now();
        load(&rt, &*b.store, GET_KEYS, get_key);
        load(&rt, &*b.store, list_keys(), list_key);
        eprintln!(
            "{}: loaded {} + {} keys in {:.1}s",
            b.name,
            GET_KEYS,
            list_keys(),
            t.elapsed().as_secs_f64()
        );
    }
    Setup {
        rt,
        backends,
        _server: server,
    }
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let rt = &s.rt;

    let mut g = c.benchmark_group("put64");
    g.throughput(Throughput::Elements(1));
    for round in 1..=rounds() {
        for b in &s.backends {
            let id = format!("put64/{}/r{round}", b.name);
            g.bench_function(format!("{}/r{round}", b.name), |bn| {
                bn.iter_custom(|iters| {
                    let store = b.store.clone();
                    let before = sample(b.postmaster);
                    let (el, runs, lat) = concurrent(rt, CONCURRENCY, iters, move |_| {
                        let store = store.clone();
                        async move { put_once(&*store).await }
                    });
                    record(&id, iters, runs, el, before, sample(b.postmaster), &lat);
                    el
                })
            });
        }
        for b in s.backends.iter().filter(|b| b.url.is_some()) {
            let id = format!("put64/{}-grouped16/r{round}", b.name);
            let url = b.url.clone().expect("url");
            let clients: Vec<Arc<Raw>> = rt.block_on(async {
                let mut v = Vec::new();
                for _ in 0..4 {
                    v.push(Arc::new(raw(&url).await));
                }
                v
            });
            g.bench_function(format!("{}-grouped16/r{round}", b.name), |bn| {
                bn.iter_custom(|iters| {
                    let groups = iters.div_ceil(16);
                    let before = sample(b.postmaster);
                    let start = Instant::now();
                    rt.block_on(async {
                        let left = Arc::new(AtomicU64::new(0));
                        let hs: Vec<_> = clients
                            .iter()
                            .map(|c| {
                                let (c, left) = (c.clone(), left.clone());
                                tokio::spawn(async move {
                                    while left.fetch_add(1, Ordering::Relaxed) < groups {
                                        grouped_put(&c, 16).await;
                                    }
                                })
                            })
                            .collect();
                        for h in hs {
                            h.await.expect("task");
                        }
                    });
                    let el = start.elapsed();
                    let ops = groups * 16;
                    record(&id, ops, ops, el, before, sample(b.postmaster), &[]);
                    // Criterion's time per iteration: scale to the iterations asked for.
                    el.mul_f64(iters as f64 / ops as f64)
                })
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("get64");
    g.throughput(Throughput::Elements(1));
    for round in 1..=rounds() {
        for b in &s.backends {
            let id = format!("get64/{}/r{round}", b.name);
            g.bench_function(format!("{}/r{round}", b.name), |bn| {
                bn.iter_custom(|iters| {
                    let store = b.store.clone();
                    let before = sample(b.postmaster);
                    let (el, runs, lat) = concurrent(rt, CONCURRENCY, iters, move |n| {
                        let store = store.clone();
                        async move {
                            let mut r = n.wrapping_add(1) | 1;
                            get_once(&*store, next(&mut r)).await
                        }
                    });
                    record(&id, iters, runs, el, before, sample(b.postmaster), &lat);
                    el
                })
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("get64-readkey");
    g.throughput(Throughput::Elements(1));
    for round in 1..=rounds() {
        for b in &s.backends {
            let id = format!("get64-readkey/{}/r{round}", b.name);
            g.bench_function(format!("{}/r{round}", b.name), |bn| {
                bn.iter_custom(|iters| {
                    let store = b.store.clone();
                    let before = sample(b.postmaster);
                    let (el, runs, lat) = concurrent(rt, CONCURRENCY, iters, move |n| {
                        let store = store.clone();
                        async move {
                            let mut r = n.wrapping_add(3) | 1;
                            read_key_once(&*store, next(&mut r)).await
                        }
                    });
                    record(&id, iters, runs, el, before, sample(b.postmaster), &lat);
                    el
                })
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("list1000");
    g.throughput(Throughput::Elements(1));
    let span = list_keys().saturating_sub(PAGE as u64).max(1);
    for round in 1..=rounds() {
        for b in &s.backends {
            let id = format!("list1000/{}/r{round}", b.name);
            g.bench_function(format!("{}/r{round}", b.name), |bn| {
                bn.iter_custom(|iters| {
                    let store = b.store.clone();
                    let before = sample(b.postmaster);
                    let (el, runs, lat) = concurrent(rt, 1, iters, move |n| {
                        let store = store.clone();
                        async move {
                            let mut r = n.wrapping_add(7) | 1;
                            list_once(&*store, next(&mut r) % span).await
                        }
                    });
                    record(&id, iters, runs, el, before, sample(b.postmaster), &lat);
                    el
                })
            });
        }
    }
    g.finish();
    report();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
