//! Crash consistency at every sync point of the commit protocol, the way redb's own crash tests
//! stop syncing at the N-th fsync. A fixed sequence of operations (bucket create, inline and
//! file PUTs, overwrite, multipart, copy, delete, then a versioned overwrite and a delete
//! marker) runs once to count its sync points; then, for
//! each N, it runs again on fresh volumes with the N-th sync failing and every later one too
//! (the machine "stopped" there; metadata writes not yet synced are dropped, a data file whose
//! sync or rename-sync failed is gone). The store is reopened from what reached the disk, and:
//! every acknowledged operation is there, the one in flight is wholly there or wholly absent,
//! every listed object reads back whole, and no data file is left unreferenced after the sweep.
//!
//! Fault injection is process-wide, so this file holds a single test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::TryStreamExt;
use md5::Digest as _;
use rustfs_meta::faults;
use rustfs_object::*;

mod common;
use common::{body, payload};

const BUCKET: &str = "bkt";

fn md5_hex(b: &[u8]) -> String {
    hex(&md5::Md5::digest(b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Expected contents: key -> md5 of its bytes. `None` for the bucket means "no bucket".
type State = Option<BTreeMap<String, String>>;

fn opts() -> PutOptions {
    PutOptions {
        owner: "owner".into(),
        ..Default::default()
    }
}

/// Runs the workload until an operation fails; returns the states after each acknowledged
/// operation (index 0: before any) and whether all operations were acknowledged.
async fn workload(store: &ObjectStore) -> (Vec<State>, bool) {
    let mut states: Vec<State> = vec![None];
    let mut cur: BTreeMap<String, String> = BTreeMap::new();
    macro_rules! step {
        ($fut:expr, $apply:expr) => {{
            match $fut.await {
                Ok(_) => {
                    $apply(&mut cur);
                    states.push(Some(cur.clone()));
                }
                Err(_) => return (states, false),
            }
        }};
    }
    let small = payload(1000, 1);
    let large = payload(300 * 1024, 2);
    let larger = payload(2 * 1024 * 1024 + 5, 3);
    let part = payload(400 * 1024, 4);
    step!(
        store.create_bucket(BUCKET, "owner", "us-east-1"),
        |_: &mut BTreeMap<String, String>| {}
    );
    step!(
        store.put_object(BUCKET, "a", body(&small), opts()),
        |c: &mut BTreeMap<String, String>| {
            c.insert("a".into(), md5_hex(&small));
        }
    );
    step!(
        store.put_object(BUCKET, "b", body(&large), opts()),
        |c: &mut BTreeMap<String, String>| {
            c.insert("b".into(), md5_hex(&large));
        }
    );
    step!(
        store.put_object(BUCKET, "a", body(&larger), opts()),
        |c: &mut BTreeMap<String, String>| {
            c.insert("a".into(), md5_hex(&larger));
        }
    );
    let up = match store
        .create_multipart_upload(BUCKET, "mp", CreateUpload::default())
        .await
    {
        Ok(u) => u.upload_id,
        Err(_) => return (states, false),
    };
    let p = match store
        .upload_part(
            BUCKET,
            "mp",
            &up,
            1,
            body(&part),
            BodyChecks::default(),
            None,
        )
        .await
    {
        Ok(p) => p.part,
        Err(_) => return (states, false),
    };
    let listed = [CompletePart {
        number: 1,
        etag: format!("\"{}\"", p.segment.etag),
        checksum: None,
    }];
    step!(
        store.complete_multipart_upload(
            BUCKET,
            "mp",
            &up,
            &listed,
            &WriteConditions::default(),
            None,
            None
        ),
        |c: &mut BTreeMap<String, String>| {
            c.insert("mp".into(), md5_hex(&part));
        }
    );
    let src = CopySource {
        bucket: BUCKET,
        key: "b",
        version_id: None,
        conditions: ReadConditions::default(),
        range: None,
        sse_customer: None,
    };
    step!(
        store.copy_object(&src, BUCKET, "c", false, opts()),
        |c: &mut BTreeMap<String, String>| {
            let b = c["b"].clone();
            c.insert("c".into(), b);
        }
    );
    step!(store.delete_object(BUCKET, "b"), |c: &mut BTreeMap<
        String,
        String,
    >| {
        c.remove("b");
    });
    // Versioned: an overwrite keeps the old version's file, a delete adds a marker.
    step!(
        store.set_bucket_versioning(BUCKET, Versioning::Enabled),
        |_: &mut BTreeMap<String, String>| {}
    );
    step!(
        store.put_object(BUCKET, "a", body(&large), opts()),
        |c: &mut BTreeMap<String, String>| {
            c.insert("a".into(), md5_hex(&large));
        }
    );
    step!(
        store.delete_version(BUCKET, "a", None, "owner"),
        |c: &mut BTreeMap<String, String>| {
            c.remove("a");
        }
    );
    (states, true)
}

/// What the reopened store holds.
async fn observe(store: &ObjectStore) -> State {
    store.bucket(BUCKET).await.ok()?;
    let page = store
        .list_objects(
            BUCKET,
            &ListQuery {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .expect("listing after a crash");
    let mut out = BTreeMap::new();
    for e in &page.entries {
        let key = e.name().to_string();
        let o = store
            .open_object(BUCKET, &key, &ReadConditions::default(), None, None)
            .await
            .unwrap_or_else(|err| panic!("{key} is listed but cannot be opened: {err}"));
        let chunks: Vec<Bytes> = o
            .body
            .try_collect()
            .await
            .unwrap_or_else(|err| panic!("{key} is listed but cannot be read: {err}"));
        let bytes = chunks.concat();
        assert_eq!(bytes.len() as u64, o.record.size, "{key} read back short");
        out.insert(key, md5_hex(&bytes));
    }
    // Every noncurrent version reads back whole too.
    let versions = store
        .list_object_versions(
            BUCKET,
            &VersionListQuery {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .expect("version listing after a crash");
    for e in &versions.entries {
        let VersionEntry::Version { key, record, .. } = e else {
            continue;
        };
        if record.delete_marker {
            continue;
        }
        let v = record.version_label();
        let o = store
            .open_version(
                BUCKET,
                key,
                &ReadSpec {
                    version: Some(v.to_string()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|err| panic!("{key} version {v} cannot be opened: {err}"));
        let chunks: Vec<Bytes> = o
            .body
            .try_collect()
            .await
            .unwrap_or_else(|err| panic!("{key} version {v} cannot be read: {err}"));
        assert_eq!(chunks.concat().len() as u64, o.record.size);
    }
    Some(out)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Volumes for one run: in memory where possible. The crash model does not depend on real
/// syncs, and hundreds of runs against a disk's fsync latency would take minutes.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::tempdir_in(shm)
    {
        return d;
    }
    tempfile::tempdir().unwrap()
}

async fn crash_at_every_sync_point(volumes: usize) {
    let roots =
        |dir: &Path| -> Vec<PathBuf> { (0..volumes).map(|i| dir.join(format!("v{i}"))).collect() };
    // Count the sync points of a clean run.
    let dir = scratch();
    faults::count_only();
    let store = ObjectStore::open(&roots(dir.path())).unwrap();
    let (clean, finished) = workload(&store).await;
    drop(store);
    let total = faults::disarm();
    assert!(finished && clean.len() == 11, "the clean run completes");
    assert!(total > 10, "{total} sync points");
    let started = std::time::Instant::now();

    for n in 1..=total {
        let dir = scratch();
        faults::crash_at(n);
        let (acked, in_flight_ok) = match ObjectStore::open(&roots(dir.path())) {
            Ok(store) => {
                let (states, done) = workload(&store).await;
                drop(store);
                (states, done)
            }
            Err(_) => (vec![None], false),
        };
        assert!(faults::crashed() || in_flight_ok, "crash {n} happened");
        faults::disarm();
        let store = ObjectStore::open(&roots(dir.path()))
            .unwrap_or_else(|e| panic!("{volumes} volumes, crash at sync {n}: reopen failed: {e}"));
        let got = observe(&store).await;
        let last = acked.len() - 1;
        let mut allowed = vec![acked[last].clone()];
        if let Some(next) = clean.get(last + 1) {
            allowed.push(next.clone());
        }
        assert!(
            allowed.contains(&got),
            "{volumes} volumes, crash at sync {n}/{total}: {} ops acknowledged; found {got:?}, allowed {allowed:?}",
            last
        );
        // Nothing torn is left behind: after the sweep every data file is referenced.
        let report = store
            .sweep_orphans(SystemTime::now() + Duration::from_secs(60))
            .await;
        assert_eq!(
            report.unreadable, 0,
            "crash at sync {n}: unreadable data file"
        );
        let remaining = store
            .sweep_orphans(SystemTime::now() + Duration::from_secs(60))
            .await;
        assert_eq!(remaining.removed, 0);
        drop(store);
        for root in roots(dir.path()) {
            let tmp = files_under(&root.join(".rustfs.sys/tmp"));
            assert!(tmp.is_empty(), "crash at sync {n}: temporary files {tmp:?}");
        }
    }
    eprintln!(
        "{volumes} volumes: crashed at each of {total} sync points in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_sync_point_loses_nothing_acknowledged_and_tears_nothing() {
    crash_at_every_sync_point(1).await;
    crash_at_every_sync_point(4).await;
}
