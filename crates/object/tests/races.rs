//! Read-then-commit paths of the object layer raced against the writes that can change what
//! they read: CompleteMultipartUpload against a re-upload of one of its parts,
//! AbortMultipartUpload against UploadPart, CopyObject and UploadPartCopy against an overwrite
//! of their source, deleting the current version (promotion of the newest noncurrent one)
//! against a PUT and another delete, a DELETE against versioning being enabled,
//! DeleteBucket against a PUT, and an object lock (retention, legal hold) against a DELETE
//! of the version. Every race runs a bounded number of rounds within a time
//! bound; each round checks what must hold whoever wins: an acknowledged object reads back
//! whole, and no data file outlives the records that reference it.
//!
//! Every race runs on both metadata backends: `redb::` (embedded) and `pg::` (a real
//! PostgreSQL, see `rustfs_meta::pg_server`; skipped with a message when it is not installed,
//! a failure under `CI=true`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use rustfs_object::*;

mod common;
use common::{Backend, body, payload};

/// Larger than the inline limit, so each part or object has its own data file.
const FILE_SIZED: usize = 200 * 1024;
/// No race runs longer than this, however many rounds are left.
const TIME_BOUND: Duration = Duration::from_secs(60);

/// A store on a fresh volume with bucket `bkt`, metadata in `backend`; `None`: the backend
/// is not available here (skipped).
async fn setup(backend: Backend) -> Option<(tempfile::TempDir, PathBuf, Arc<ObjectStore>)> {
    let dir = tempfile::tempdir().unwrap();
    let vol = dir.path().join("vol");
    let store = common::open_store(backend, &vol).await?;
    store
        .create_bucket("bkt", "owner", "us-east-1")
        .await
        .unwrap();
    Some((dir, vol, Arc::new(store)))
}

/// Each race as a test on each backend: `redb::NAME` and `pg::NAME`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Redb).await
                }
            )*
        }
        mod pg {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

async fn read(store: &ObjectStore, key: &str, version: Option<&str>) -> Result<Vec<u8>> {
    let spec = ReadSpec {
        version: version.map(str::to_string),
        ..Default::default()
    };
    let o = store.open_version("bkt", key, &spec).await?;
    let chunks: Vec<Bytes> = o.body.try_collect().await?;
    Ok(chunks.concat())
}

async fn put(store: &ObjectStore, key: &str, data: &[u8]) -> Result<ObjectRecord> {
    store
        .put_object(
            "bkt",
            key,
            body(data),
            PutOptions {
                owner: "owner".into(),
                ..Default::default()
            },
        )
        .await
}

async fn upload(store: &ObjectStore, key: &str, up: &str, n: u32, data: &[u8]) -> Result<String> {
    store
        .upload_part("bkt", key, up, n, body(data), BodyChecks::default(), None)
        .await
        .map(|p| p.part.segment.etag)
}

async fn create_upload(store: &ObjectStore, key: &str) -> String {
    store
        .create_multipart_upload("bkt", key, CreateUpload::default())
        .await
        .unwrap()
        .upload_id
}

/// Waits `micros` on the blocking pool (tokio's timer has millisecond resolution), so the
/// two sides of a race start at staggered offsets from round to round.
async fn pause(micros: u64) {
    tokio::task::spawn_blocking(move || std::thread::sleep(Duration::from_micros(micros)))
        .await
        .unwrap();
}

fn data_files(vol: &Path) -> Vec<PathBuf> {
    common::data_files(vol)
}

fn part(number: u32, etag: &str) -> CompletePart {
    CompletePart {
        number,
        etag: format!("\"{etag}\""),
        checksum: None,
    }
}

async fn complete_racing_a_reupload_of_its_part_never_acknowledges_an_unreadable_object(
    backend: Backend,
) {
    let Some((_d, vol, store)) = setup(backend).await else {
        return;
    };
    let p1 = payload(MIN_PART_SIZE as usize, 1);
    let start = Instant::now();
    let (mut completed, mut refused) = (0, 0);
    for round in 0..120u64 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        let up = create_upload(&store, "mp").await;
        let e1 = upload(&store, "mp", &up, 1, &p1).await.unwrap();
        let first = payload(FILE_SIZED, 2 + (round % 100) as u8);
        let second = payload(FILE_SIZED, 200);
        let e2 = upload(&store, "mp", &up, 2, &first).await.unwrap();
        // Part 2 again, with other bytes, while the completion names the first ETags.
        let reupload = {
            let (s, up, second) = (store.clone(), up.clone(), second.clone());
            tokio::spawn(async move { upload(&s, "mp", &up, 2, &second).await })
        };
        pause((round % 12) * 150).await;
        let listed = [part(1, &e1), part(2, &e2)];
        let done = store
            .complete_multipart_upload(
                "bkt",
                "mp",
                &up,
                &listed,
                &WriteConditions::default(),
                None,
                None,
            )
            .await;
        let reuploaded = reupload.await.unwrap();
        match done {
            Ok(rec) => {
                completed += 1;
                let got = read(&store, "mp", None).await.unwrap_or_else(|e| {
                    panic!("round {round}: acknowledged object unreadable: {e}")
                });
                let with = |p2: &[u8]| [p1.as_slice(), p2].concat();
                assert!(
                    got == with(&first) || got == with(&second),
                    "round {round}: the object is neither version"
                );
                assert_eq!(rec.size, got.len() as u64);
            }
            Err(ObjectError::InvalidPart(_)) => refused += 1,
            Err(e) => panic!("round {round}: completion failed with {e:?}"),
        }
        match reuploaded {
            Ok(_) | Err(ObjectError::NoSuchUpload) => {}
            Err(e) => panic!("round {round}: re-upload failed with {e:?}"),
        }
        match store.abort_multipart_upload("bkt", "mp", &up).await {
            Ok(()) | Err(ObjectError::NoSuchUpload) => {}
            Err(e) => panic!("abort: {e:?}"),
        }
    }
    eprintln!("{completed} completed, {refused} refused");
    store.delete_object("bkt", "mp").await.unwrap();
    assert_eq!(data_files(&vol), Vec::<PathBuf>::new(), "leaked data files");
}

async fn abort_racing_upload_part_leaves_no_part_behind(backend: Backend) {
    let Some((_d, vol, store)) = setup(backend).await else {
        return;
    };
    let start = Instant::now();
    for round in 0..120u64 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        let up = create_upload(&store, "mp").await;
        upload(&store, "mp", &up, 1, &payload(FILE_SIZED, 1))
            .await
            .unwrap();
        // A new part and a replaced one, both racing the abort.
        let mut writers = Vec::new();
        for n in [1u32, 2] {
            let (s, up) = (store.clone(), up.clone());
            writers.push(tokio::spawn(async move {
                upload(&s, "mp", &up, n, &payload(FILE_SIZED, 10 + n as u8)).await
            }));
        }
        pause((round % 12) * 150).await;
        store
            .abort_multipart_upload("bkt", "mp", &up)
            .await
            .unwrap();
        for w in writers {
            match w.await.unwrap() {
                Ok(_) | Err(ObjectError::NoSuchUpload) => {}
                Err(e) => panic!("round {round}: upload failed with {e:?}"),
            }
        }
        assert!(matches!(
            store.upload("bkt", "mp", &up).await,
            Err(ObjectError::NoSuchUpload)
        ));
        assert_eq!(
            data_files(&vol),
            Vec::<PathBuf>::new(),
            "round {round}: a part outlived its aborted upload"
        );
    }
}

/// A multipart object of more segments than a read opens up front, so a copy reads its last
/// segment's file only after streaming the others.
async fn many_segment_object(store: &ObjectStore, key: &str) -> Vec<u8> {
    let up = create_upload(store, key).await;
    let mut listed = Vec::new();
    let mut all = Vec::new();
    for n in 1..=17u32 {
        let size = if n == 17 {
            FILE_SIZED
        } else {
            MIN_PART_SIZE as usize
        };
        let data = payload(size, n as u8);
        listed.push(part(n, &upload(store, key, &up, n, &data).await.unwrap()));
        all.extend_from_slice(&data);
    }
    store
        .complete_multipart_upload(
            "bkt",
            key,
            &up,
            &listed,
            &WriteConditions::default(),
            None,
            None,
        )
        .await
        .unwrap();
    all
}

fn source(key: &str) -> CopySource<'_> {
    CopySource {
        bucket: "bkt",
        key,
        version_id: None,
        conditions: ReadConditions::default(),
        range: None,
        sse_customer: None,
    }
}

async fn copies_racing_an_overwrite_of_their_source_copy_one_whole_version(backend: Backend) {
    let Some((_d, vol, store)) = setup(backend).await else {
        return;
    };
    let replacement = payload(FILE_SIZED, 99);
    for round in 0..2u64 {
        let original = many_segment_object(&store, "src").await;
        let copy = {
            let s = store.clone();
            tokio::spawn(async move {
                let opts = PutOptions {
                    owner: "owner".into(),
                    ..Default::default()
                };
                s.copy_object(&source("src"), "bkt", "dst", false, opts)
                    .await
            })
        };
        let part_copy = {
            let s = store.clone();
            tokio::spawn(async move {
                let up = create_upload(&s, "dst-mp").await;
                let r = s
                    .upload_part_copy(&source("src"), "bkt", "dst-mp", &up, 1, None)
                    .await;
                (up, r)
            })
        };
        // Overwrite the source while both copies stream it (tens of MiB take longer than this).
        tokio::time::sleep(Duration::from_millis(20 + 20 * round)).await;
        put(&store, "src", &replacement).await.unwrap();
        let (src_rec, dst_rec) = copy.await.unwrap().expect("copy");
        let got = read(&store, "dst", None).await.unwrap();
        assert!(got == original || got == replacement, "copy mixes versions");
        assert_eq!(src_rec.size, got.len() as u64);
        assert_eq!(dst_rec.size, got.len() as u64);
        let (up, r) = part_copy.await.unwrap();
        let (p, src_rec) = r.expect("part copy");
        assert_eq!(p.part.segment.size, src_rec.size);
        let etag = p.part.segment.etag.clone();
        store
            .complete_multipart_upload(
                "bkt",
                "dst-mp",
                &up,
                &[part(1, &etag)],
                &WriteConditions::default(),
                None,
                None,
            )
            .await
            .unwrap();
        let got = read(&store, "dst-mp", None).await.unwrap();
        assert!(
            got == original || got == replacement,
            "part copy mixes versions"
        );
    }
    for k in ["src", "dst", "dst-mp"] {
        store.delete_object("bkt", k).await.unwrap();
    }
    assert_eq!(data_files(&vol), Vec::<PathBuf>::new(), "leaked data files");
}

async fn deleting_the_current_version_racing_a_put_and_another_delete_keeps_the_versions_whole(
    backend: Backend,
) {
    let Some((_d, vol, store)) = setup(backend).await else {
        return;
    };
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let start = Instant::now();
    for round in 0..60u64 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        let key = format!("k{round}");
        let v1 = put(&store, &key, &payload(FILE_SIZED, 1)).await.unwrap();
        let v2 = put(&store, &key, &payload(FILE_SIZED, 2)).await.unwrap();
        let (v1, v2) = (
            v1.version_label().to_string(),
            v2.version_label().to_string(),
        );
        let del = |v: String| {
            let (s, key) = (store.clone(), key.clone());
            tokio::spawn(async move { s.delete_version("bkt", &key, Some(&v), "owner").await })
        };
        // v2 (current: v1 is promoted) and v1 (the one promoted) deleted while v3 is put.
        let d2 = del(v2.clone());
        let third = payload(FILE_SIZED, 3);
        let v3 = {
            let (s, key, third) = (store.clone(), key.clone(), third.clone());
            tokio::spawn(async move {
                pause((round % 8) * 100).await;
                put(&s, &key, &third).await
            })
        };
        let d1 = del(v1.clone());
        d2.await.unwrap().unwrap();
        d1.await.unwrap().unwrap();
        let v3 = v3.await.unwrap().unwrap();
        // Whatever the order, v1 and v2 are gone and v3 alone is left, current and whole.
        assert_eq!(
            read(&store, &key, None).await.unwrap(),
            third,
            "round {round}"
        );
        for v in [&v1, &v2] {
            assert!(matches!(
                read(&store, &key, Some(v)).await,
                Err(ObjectError::NoSuchVersion)
            ));
        }
        store
            .delete_version("bkt", &key, Some(v3.version_label()), "owner")
            .await
            .unwrap();
        assert!(matches!(
            store.head_object("bkt", &key).await,
            Err(ObjectError::NoSuchKey)
        ));
        assert_eq!(
            data_files(&vol),
            Vec::<PathBuf>::new(),
            "round {round}: leaked"
        );
    }
}

async fn a_delete_racing_versioning_being_enabled_never_destroys_a_version(backend: Backend) {
    let Some((_d, _vol, store)) = setup(backend).await else {
        return;
    };
    // DeleteObjects reads its entries one by one: missing keys listed first widen the window
    // between its look at the bucket's versioning and its read of the key that matters.
    let mut list: Vec<(String, Option<String>)> =
        (0..1500).map(|i| (format!("missing/{i}"), None)).collect();
    list.push(("k".to_string(), None));
    let start = Instant::now();
    for round in 0..16u64 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        let bucket = format!("ver-{round}");
        store.create_bucket(&bucket, "owner", "r").await.unwrap();
        let opts = || PutOptions {
            owner: "owner".into(),
            ..Default::default()
        };
        store
            .put_object(&bucket, "k", body(b"null version"), opts())
            .await
            .unwrap();
        // Versioning enabled, then a new version put, while the key is deleted.
        let writer = {
            let (s, bucket) = (store.clone(), bucket.clone());
            tokio::spawn(async move {
                s.set_bucket_versioning(&bucket, Versioning::Enabled)
                    .await
                    .unwrap();
                s.put_object(&bucket, "k", body(b"second"), opts())
                    .await
                    .unwrap()
            })
        };
        if round % 4 == 3 {
            pause((round % 8) * 100).await;
            store
                .delete_version(&bucket, "k", None, "owner")
                .await
                .unwrap();
        } else {
            let r = store
                .delete_versions(&bucket, &list, "owner")
                .await
                .unwrap();
            assert!(r.iter().all(Result::is_ok));
        }
        let v = writer.await.unwrap();
        // Deleting without a version id in a versioned bucket only ever adds a marker: the
        // version put after versioning was enabled stays readable.
        let spec = ReadSpec {
            version: Some(v.version_label().to_string()),
            ..Default::default()
        };
        let o = store
            .open_version(&bucket, "k", &spec)
            .await
            .unwrap_or_else(|e| panic!("round {round}: a version was destroyed: {e:?}"));
        let got: Vec<Bytes> = o.body.try_collect().await.unwrap();
        assert_eq!(got.concat(), b"second");
    }
}

async fn a_version_moving_between_current_and_noncurrent_is_never_missing(backend: Backend) {
    let Some((_d, _vol, store)) = setup(backend).await else {
        return;
    };
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let v1 = put(&store, "k", b"one").await.unwrap();
    let v1 = v1.version_label().to_string();
    // A reader names v1 over and over while it is promoted (its successor deleted) and made
    // noncurrent again (a new PUT): it exists throughout, so no read may miss it.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (s, stop, v1) = (store.clone(), stop.clone(), v1.clone());
        tokio::spawn(async move {
            let (mut reads, mut missed) = (0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match s.head_version("bkt", "k", Some(&v1)).await {
                    Ok(r) => assert_eq!(r.version_label(), v1),
                    Err(ObjectError::NoSuchVersion) => missed += 1,
                    Err(e) => panic!("{e:?}"),
                }
                reads += 1;
                tokio::task::yield_now().await;
            }
            (reads, missed)
        })
    };
    let start = Instant::now();
    for _ in 0..100 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        let newer = put(&store, "k", b"newer").await.unwrap();
        store
            .delete_version("bkt", "k", Some(newer.version_label()), "owner")
            .await
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, missed) = reader.await.unwrap();
    assert_eq!(
        missed, 0,
        "{missed} of {reads} reads missed a version that exists"
    );
}

async fn delete_bucket_racing_a_put_leaves_one_consistent_outcome(backend: Backend) {
    let Some((_d, vol, store)) = setup(backend).await else {
        return;
    };
    let start = Instant::now();
    for round in 0..60u64 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        let name = format!("race-{round}");
        store.create_bucket(&name, "owner", "r").await.unwrap();
        let writer = {
            let (s, name) = (store.clone(), name.clone());
            tokio::spawn(async move {
                let opts = PutOptions {
                    owner: "owner".into(),
                    ..Default::default()
                };
                s.put_object(&name, "k", body(&payload(FILE_SIZED, 5)), opts)
                    .await
            })
        };
        pause((round % 10) * 150).await;
        let deleted = store.delete_bucket(&name).await;
        let put = writer.await.unwrap();
        match (&deleted, &put) {
            (Ok(()), Err(ObjectError::NoSuchBucket)) => {
                assert!(matches!(
                    store.bucket(&name).await,
                    Err(ObjectError::NoSuchBucket)
                ));
            }
            (Err(ObjectError::BucketNotEmpty), Ok(_)) => {
                let o = store
                    .open_object(&name, "k", &ReadConditions::default(), None, None)
                    .await
                    .unwrap();
                let got: Vec<Bytes> = o.body.try_collect().await.unwrap();
                assert_eq!(got.concat(), payload(FILE_SIZED, 5));
                store.delete_object(&name, "k").await.unwrap();
                store.delete_bucket(&name).await.unwrap();
            }
            other => panic!("round {round}: {other:?}"),
        }
        assert_eq!(
            data_files(&vol),
            Vec::<PathBuf>::new(),
            "round {round}: leaked"
        );
    }
}

async fn delete_objects_racing_puts_of_the_same_keys(backend: Backend) {
    let Some((_d, vol, store)) = setup(backend).await else {
        return;
    };
    let keys: Vec<String> = (0..4).map(|i| format!("k{i}")).collect();
    let start = Instant::now();
    for round in 0..60u64 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        for k in &keys {
            put(&store, k, &payload(FILE_SIZED, 1)).await.unwrap();
        }
        let writers: Vec<_> = keys
            .iter()
            .map(|k| {
                let (s, k) = (store.clone(), k.clone());
                tokio::spawn(async move { put(&s, &k, &payload(FILE_SIZED, 2)).await.unwrap() })
            })
            .collect();
        pause((round % 10) * 150).await;
        for r in store.delete_objects("bkt", &keys).await.unwrap() {
            r.unwrap();
        }
        for w in writers {
            w.await.unwrap();
        }
        // Each key is gone or holds the second PUT whole.
        for k in &keys {
            match read(&store, k, None).await {
                Ok(got) => assert_eq!(got, payload(FILE_SIZED, 2), "round {round}"),
                Err(ObjectError::NoSuchKey) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
            store.delete_object("bkt", k).await.unwrap();
        }
        assert_eq!(
            data_files(&vol),
            Vec::<PathBuf>::new(),
            "round {round}: leaked"
        );
    }
}

/// A retention or legal hold racing DeleteObject of the same version: whichever commits first
/// wins, and the other sees it. A lock that succeeded finds the version still there, and the
/// delete refused by it is `ObjectLocked`; a delete that succeeded leaves the lock
/// `NoSuchVersion`. Never both.
async fn a_lock_racing_a_version_delete_never_loses_a_locked_version(backend: Backend) {
    let Some((_d, _vol, store)) = setup(backend).await else {
        return;
    };
    store
        .create_bucket_with("locked", "owner", "r", &AclRequest::Default, None, true)
        .await
        .unwrap();
    let start = Instant::now();
    for round in 0..24u64 {
        if start.elapsed() > TIME_BOUND {
            break;
        }
        let key = format!("k{round}");
        let opts = PutOptions {
            owner: "owner".into(),
            ..Default::default()
        };
        let v = store
            .put_object("locked", &key, body(b"x"), opts)
            .await
            .unwrap()
            .version_label()
            .to_string();
        let locker = {
            let (s, key, v) = (store.clone(), key.clone(), v.clone());
            tokio::spawn(async move {
                pause((round % 6) * 150).await;
                if round % 2 == 0 {
                    s.set_version_legal_hold("locked", &key, Some(&v), true)
                        .await
                        .map(|_| ())
                } else {
                    let r = Retention {
                        mode: RetentionMode::Compliance,
                        retain_until_ms: i64::MAX / 2,
                    };
                    s.set_version_retention("locked", &key, Some(&v), Some(r), true)
                        .await
                        .map(|_| ())
                }
            })
        };
        pause((round % 4) * 200).await;
        let deleted = store
            .delete_version_with("locked", &key, Some(&v), "owner", true)
            .await;
        let locked = locker.await.unwrap();
        let exists = store.head_version("locked", &key, Some(&v)).await.is_ok();
        match (&locked, &deleted) {
            (Ok(()), Err(ObjectError::ObjectLocked(_))) => assert!(exists, "round {round}"),
            (Err(ObjectError::NoSuchVersion), Ok(_)) => assert!(!exists, "round {round}"),
            other => panic!("round {round}: {other:?}"),
        }
    }
}

on_every_backend!(
    complete_racing_a_reupload_of_its_part_never_acknowledges_an_unreadable_object,
    abort_racing_upload_part_leaves_no_part_behind,
    copies_racing_an_overwrite_of_their_source_copy_one_whole_version,
    deleting_the_current_version_racing_a_put_and_another_delete_keeps_the_versions_whole,
    a_delete_racing_versioning_being_enabled_never_destroys_a_version,
    a_version_moving_between_current_and_noncurrent_is_never_missing,
    delete_bucket_racing_a_put_leaves_one_consistent_outcome,
    delete_objects_racing_puts_of_the_same_keys,
    a_lock_racing_a_version_delete_never_loses_a_locked_version,
);
