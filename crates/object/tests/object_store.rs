//! Object layer against real files in a temporary volume: listing order and pagination,
//! ranges over block boundaries, overwrite/delete freeing bytes, multipart rules, digests,
//! conditional writes, the orphan sweep and bit-rot detection.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use rustfs_object::*;

mod common;
use common::{body, payload, put};

async fn setup() -> (tempfile::TempDir, ObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::open(&[dir.path().join("vol")]).unwrap();
    store
        .create_bucket("bkt", "owner", "us-east-1")
        .await
        .unwrap();
    (dir, store)
}

async fn get(store: &ObjectStore, key: &str, range: Option<ByteRange>) -> Vec<u8> {
    let o = store
        .open_object("bkt", key, &ReadConditions::default(), range, None)
        .await
        .unwrap();
    let chunks: Vec<Bytes> = o.body.try_collect().await.unwrap();
    chunks.concat()
}

fn data_files(root: &Path) -> Vec<PathBuf> {
    common::data_files(&root.join("vol"))
}

/// Every page concatenated, as a client following markers would see it.
async fn list_all(
    store: &ObjectStore,
    prefix: &str,
    delimiter: Option<&str>,
    page: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let q = ListQuery {
            prefix: prefix.into(),
            delimiter: delimiter.map(Into::into),
            start_after: after.clone(),
            max_keys: page,
        };
        let p = store.list_objects("bkt", &q).await.unwrap();
        assert!(p.entries.len() <= page);
        out.extend(p.entries.iter().map(|e| e.name().to_string()));
        match p.next_marker() {
            Some(m) => after = Some(m.to_string()),
            None => break,
        }
    }
    out
}

/// The listing S3 defines, computed naively.
fn model(keys: &BTreeSet<String>, prefix: &str, delimiter: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys.iter().filter(|k| k.starts_with(prefix)) {
        let entry = match delimiter.and_then(|d| {
            k[prefix.len()..]
                .find(d)
                .map(|p| &k[..prefix.len() + p + d.len()])
        }) {
            Some(cp) => cp.to_string(),
            None => k.clone(),
        };
        if out.last() != Some(&entry) {
            out.push(entry);
        }
    }
    out
}

#[tokio::test]
async fn listing_matches_the_model_for_every_page_size() {
    let (_d, store) = setup().await;
    let mut keys = BTreeSet::new();
    for k in [
        "a",
        "a/",
        "a/b",
        "a/b/c",
        "a/b/d",
        "a/c",
        "a0",
        "b/x",
        "b/y/z",
        "b//double",
        "c",
        "c/",
        "é/1",
        "z z/1",
        "z+z",
        "photos/2024/jan/1.jpg",
        "photos/2024/feb/2.jpg",
        "photos/2025/x.jpg",
        "photos/readme",
    ] {
        put(&store, k, k.as_bytes()).await;
        keys.insert(k.to_string());
    }
    for (prefix, delim) in [
        ("", None),
        ("", Some("/")),
        ("a", Some("/")),
        ("a/", Some("/")),
        ("photos/", Some("/")),
        ("photos/2024/", Some("/")),
        ("b/", None),
        ("", Some("b")),
        ("nope", Some("/")),
    ] {
        let want = model(&keys, prefix, delim);
        for page in [1, 2, 3, 5, 1000] {
            assert_eq!(
                list_all(&store, prefix, delim, page).await,
                want,
                "prefix={prefix:?} delim={delim:?} page={page}"
            );
        }
    }
}

#[tokio::test]
async fn listing_reports_objects_and_truncation() {
    let (_d, store) = setup().await;
    for i in 0..5 {
        put(&store, &format!("k{i}"), b"x").await;
    }
    let q = ListQuery {
        max_keys: 2,
        ..Default::default()
    };
    let p = store.list_objects("bkt", &q).await.unwrap();
    assert!(p.is_truncated);
    assert_eq!(p.next_marker(), Some("k1"));
    let q = ListQuery {
        max_keys: 0,
        ..Default::default()
    };
    assert!(
        store
            .list_objects("bkt", &q)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert!(matches!(
        store.list_objects("nope", &ListQuery::default()).await,
        Err(ObjectError::NoSuchBucket)
    ));
}

#[tokio::test]
async fn large_objects_stream_back_exactly_including_ranges_over_block_edges() {
    let (d, store) = setup().await;
    let mib = 1 << 20;
    let data = payload(3 * mib + 12345, 1);
    let rec = put(&store, "big", &data).await;
    assert_eq!(rec.size, data.len() as u64);
    assert_eq!(rec.etag.len(), 32);
    assert_eq!(data_files(d.path()).len(), 1);
    assert_eq!(get(&store, "big", None).await, data);
    for (first, last) in [
        (0u64, 0u64),
        (mib as u64 - 1, mib as u64),
        (mib as u64 - 10, 2 * mib as u64 + 10),
        (data.len() as u64 - 1, data.len() as u64 + 100),
    ] {
        let got = get(
            &store,
            "big",
            Some(ByteRange::From {
                first,
                last: Some(last),
            }),
        )
        .await;
        let end = (last as usize + 1).min(data.len());
        assert_eq!(got, &data[first as usize..end], "{first}-{last}");
    }
    assert_eq!(
        get(&store, "big", Some(ByteRange::Suffix(7))).await,
        &data[data.len() - 7..]
    );
    let err = store
        .open_object(
            "bkt",
            "big",
            &ReadConditions::default(),
            Some(ByteRange::From {
                first: data.len() as u64,
                last: None,
            }),
            None,
        )
        .await;
    assert!(matches!(err, Err(ObjectError::InvalidRange { .. })));
}

#[tokio::test]
async fn overwrite_and_delete_free_the_old_bytes() {
    let (d, store) = setup().await;
    put(&store, "k", &payload(300_000, 1)).await;
    put(&store, "k", &payload(400_000, 2)).await;
    assert_eq!(
        data_files(d.path()).len(),
        1,
        "the replaced file is removed"
    );
    assert_eq!(get(&store, "k", None).await, payload(400_000, 2));
    put(&store, "k", b"small now").await;
    assert_eq!(data_files(d.path()).len(), 0, "inline objects need no file");
    assert_eq!(get(&store, "k", None).await, b"small now");
    put(&store, "k", &payload(200_000, 3)).await;
    store.delete_object("bkt", "k").await.unwrap();
    assert_eq!(data_files(d.path()).len(), 0);
    assert!(matches!(
        store.head_object("bkt", "k").await,
        Err(ObjectError::NoSuchKey)
    ));
    store
        .delete_object("bkt", "k")
        .await
        .expect("deleting a missing key succeeds");
}

#[tokio::test]
async fn bad_digests_store_nothing() {
    let (d, store) = setup().await;
    for size in [10usize, 500_000] {
        let data = payload(size, 4);
        let checks = BodyChecks {
            content_md5: Some("1B2M2Y8AsgTpgAmY7PhCfg==".into()),
            ..Default::default()
        };
        let r = store
            .put_object(
                "bkt",
                "k",
                body(&data),
                PutOptions {
                    checks,
                    ..Default::default()
                },
            )
            .await;
        assert!(matches!(r, Err(ObjectError::BadDigest)), "{size}");
        let checks = BodyChecks {
            checksum: Some(ChecksumRequest {
                algorithm: ChecksumAlgorithm::Crc32,
                expected: ExpectedChecksum::Given("AAAAAA==".into()),
            }),
            ..Default::default()
        };
        let r = store
            .put_object(
                "bkt",
                "k",
                body(&data),
                PutOptions {
                    checks,
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(r, Err(ObjectError::ChecksumMismatch { .. })),
            "{size}"
        );
        let trailer = ExpectedChecksum::Trailer(Box::new(|| Some("AAAAAAAAAAA=".into())));
        let checks = BodyChecks {
            checksum: Some(ChecksumRequest {
                algorithm: ChecksumAlgorithm::Crc64Nvme,
                expected: trailer,
            }),
            ..Default::default()
        };
        let r = store
            .put_object(
                "bkt",
                "k",
                body(&data),
                PutOptions {
                    checks,
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(r, Err(ObjectError::ChecksumMismatch { .. })),
            "{size}"
        );
        let checks = BodyChecks {
            content_md5: Some("not base64!".into()),
            ..Default::default()
        };
        let r = store
            .put_object(
                "bkt",
                "k",
                body(&data),
                PutOptions {
                    checks,
                    ..Default::default()
                },
            )
            .await;
        assert!(matches!(r, Err(ObjectError::InvalidDigest)));
    }
    assert!(matches!(
        store.head_object("bkt", "k").await,
        Err(ObjectError::NoSuchKey)
    ));
    assert!(data_files(d.path()).is_empty());
    assert_eq!(
        std::fs::read_dir(d.path().join("vol/.rustfs.sys/tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn conditional_writes() {
    let (_d, store) = setup().await;
    let create_only = || PutOptions {
        conditions: WriteConditions {
            if_none_match: Some(EtagMatch::Any),
            if_match: None,
        },
        ..Default::default()
    };
    store
        .put_object("bkt", "k", body(b"one"), create_only())
        .await
        .unwrap();
    let r = store
        .put_object("bkt", "k", body(b"two"), create_only())
        .await;
    assert!(matches!(r, Err(ObjectError::PreconditionFailed)));
    let cur = store.head_object("bkt", "k").await.unwrap();
    let if_match = |e: &str| PutOptions {
        conditions: WriteConditions {
            if_match: Some(EtagMatch::parse(e)),
            if_none_match: None,
        },
        ..Default::default()
    };
    assert!(matches!(
        store
            .put_object("bkt", "k", body(b"x"), if_match("\"nope\""))
            .await,
        Err(ObjectError::PreconditionFailed)
    ));
    store
        .put_object("bkt", "k", body(b"three"), if_match(&cur.etag))
        .await
        .unwrap();
    assert_eq!(get(&store, "k", None).await, b"three");
}

#[tokio::test]
async fn concurrent_create_only_writes_have_exactly_one_winner() {
    let (_d, store) = setup().await;
    let store = std::sync::Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let opts = PutOptions {
                conditions: WriteConditions {
                    if_none_match: Some(EtagMatch::Any),
                    if_match: None,
                },
                ..Default::default()
            };
            s.put_object("bkt", "race", body(&[i; 10]), opts)
                .await
                .is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

async fn part(store: &ObjectStore, up: &str, n: u32, data: &[u8]) -> PartRecord {
    store
        .upload_part("bkt", "mp", up, n, body(data), BodyChecks::default(), None)
        .await
        .unwrap()
        .part
}

#[tokio::test]
async fn multipart_rules_and_etag() {
    let (d, store) = setup().await;
    let up = store
        .create_multipart_upload("bkt", "mp", CreateUpload::default())
        .await
        .unwrap()
        .upload_id;
    let five = 5 << 20;
    let p1 = part(&store, &up, 1, &payload(five, 1)).await;
    let small = part(&store, &up, 2, b"tiny").await;
    let p3 = part(&store, &up, 3, &payload(1000, 3)).await;
    let cp = |n: u32, p: &PartRecord| CompletePart {
        number: n,
        etag: format!("\"{}\"", p.segment.etag),
        checksum: None,
    };
    let none = WriteConditions::default();
    let r = store
        .complete_multipart_upload(
            "bkt",
            "mp",
            &up,
            &[cp(1, &p1), cp(2, &small), cp(3, &p3)],
            &none,
            None,
            None,
        )
        .await;
    assert!(matches!(r, Err(ObjectError::EntityTooSmall)));
    let r = store
        .complete_multipart_upload(
            "bkt",
            "mp",
            &up,
            &[cp(3, &p3), cp(1, &p1)],
            &none,
            None,
            None,
        )
        .await;
    assert!(matches!(r, Err(ObjectError::InvalidPartOrder)));
    let r = store
        .complete_multipart_upload("bkt", "mp", &up, &[cp(1, &p3)], &none, None, None)
        .await;
    assert!(matches!(r, Err(ObjectError::InvalidPart(_))));
    let r = store
        .complete_multipart_upload("bkt", "mp", &up, &[cp(4, &p3)], &none, None, None)
        .await;
    assert!(matches!(r, Err(ObjectError::InvalidPart(_))));
    let r = store
        .complete_multipart_upload("bkt", "mp", &up, &[], &none, None, None)
        .await;
    assert!(matches!(r, Err(ObjectError::NoParts)));
    assert!(matches!(
        store
            .upload_part("bkt", "mp", &up, 0, body(b"x"), BodyChecks::default(), None)
            .await,
        Err(ObjectError::InvalidArgument(_))
    ));
    assert!(matches!(
        store
            .upload_part(
                "bkt",
                "mp",
                &up,
                10_001,
                body(b"x"),
                BodyChecks::default(),
                None
            )
            .await,
        Err(ObjectError::InvalidArgument(_))
    ));

    // A part listed twice: only the last entry counts (here a stale ETag, so refused).
    let r = store
        .complete_multipart_upload(
            "bkt",
            "mp",
            &up,
            &[cp(1, &p1), cp(1, &p3)],
            &none,
            None,
            None,
        )
        .await;
    assert!(matches!(r, Err(ObjectError::InvalidPart(_))));

    // ... and a stale entry before the last one is ignored.
    let listed = [cp(1, &p3), cp(1, &p1), cp(3, &p3)];
    let rec = store
        .complete_multipart_upload("bkt", "mp", &up, &listed, &none, None, None)
        .await
        .unwrap();
    let want = checksum::multipart_etag(&[&p1.segment.etag, &p3.segment.etag]).unwrap();
    assert_eq!(rec.etag, want);
    assert!(rec.etag.ends_with("-2"));
    let mut expected = payload(five, 1);
    expected.extend(payload(1000, 3));
    assert_eq!(get(&store, "mp", None).await, expected);
    let o = store
        .open_object("bkt", "mp", &ReadConditions::default(), None, Some(2))
        .await
        .unwrap();
    assert_eq!((o.start, o.end), (five as u64, five as u64 + 1000));
    assert!(matches!(
        store.upload("bkt", "mp", &up).await,
        Err(ObjectError::NoSuchUpload)
    ));
    // Only the used parts' bytes remain (part 1 as a file; part 3 and the unused part 2 were inline).
    assert_eq!(data_files(d.path()).len(), 1);
}

#[tokio::test]
async fn multipart_checksums_composite_and_full_object() {
    let (_d, store) = setup().await;
    for (kind, algorithm) in [
        (ChecksumType::Composite, ChecksumAlgorithm::Sha256),
        (ChecksumType::FullObject, ChecksumAlgorithm::Crc32c),
    ] {
        let c = CreateUpload {
            checksum_algorithm: Some(algorithm),
            checksum_type: Some(kind),
            ..Default::default()
        };
        let up = store
            .create_multipart_upload("bkt", "mp", c)
            .await
            .unwrap()
            .upload_id;
        let a = payload(5 << 20, 1);
        let b = payload(77, 2);
        let p1 = part(&store, &up, 1, &a).await;
        let p2 = part(&store, &up, 2, &b).await;
        let list = [
            CompletePart {
                number: 1,
                etag: p1.segment.etag.clone(),
                checksum: p1.segment.checksum.clone().map(|v| (algorithm, v)),
            },
            CompletePart {
                number: 2,
                etag: p2.segment.etag.clone(),
                checksum: p2.segment.checksum.clone().map(|v| (algorithm, v)),
            },
        ];
        let rec = store
            .complete_multipart_upload(
                "bkt",
                "mp",
                &up,
                &list,
                &WriteConditions::default(),
                None,
                None,
            )
            .await
            .unwrap();
        let c = rec.checksum.unwrap();
        let whole = [a.as_slice(), b.as_slice()].concat();
        let expected = match kind {
            ChecksumType::FullObject => checksum::compute(algorithm, &whole),
            ChecksumType::Composite => {
                let mut cat = checksum::compute(algorithm, &a);
                cat.extend(checksum::compute(algorithm, &b));
                checksum::compute(algorithm, &cat)
            }
        };
        assert_eq!(c.value, checksum::b64(&expected), "{kind:?}");
        assert_eq!(c.kind, kind);
    }
}

#[tokio::test]
async fn abort_removes_parts_and_bucket_rules_hold() {
    let (d, store) = setup().await;
    let up = store
        .create_multipart_upload("bkt", "mp", CreateUpload::default())
        .await
        .unwrap()
        .upload_id;
    part(&store, &up, 1, &payload(300_000, 1)).await;
    store
        .abort_multipart_upload("bkt", "mp", &up)
        .await
        .unwrap();
    assert!(data_files(d.path()).is_empty());
    assert!(matches!(
        store.abort_multipart_upload("bkt", "mp", &up).await,
        Err(ObjectError::NoSuchUpload)
    ));
    put(&store, "k", b"v").await;
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(ObjectError::BucketNotEmpty)
    ));
    // An object keeps the bucket, and the refusal leaves uploads alone...
    let up = store
        .create_multipart_upload("bkt", "mp", CreateUpload::default())
        .await
        .unwrap()
        .upload_id;
    part(&store, &up, 1, &payload(300_000, 2)).await;
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(ObjectError::BucketNotEmpty)
    ));
    assert!(store.upload("bkt", "mp", &up).await.is_ok());
    // ...but uploads in progress do not: they are aborted with the bucket, as in S3.
    store.delete_object("bkt", "k").await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
    assert!(data_files(d.path()).is_empty());
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(ObjectError::NoSuchBucket)
    ));
    assert!(matches!(
        store.create_bucket("Bad_Name", "o", "r").await,
        Err(ObjectError::InvalidBucketName(_))
    ));
    store.create_bucket("again", "o", "r").await.unwrap();
    assert!(matches!(
        store.create_bucket("again", "o", "r").await,
        Err(ObjectError::BucketAlreadyOwnedByYou)
    ));
    assert!(matches!(
        store.create_bucket("again", "other", "r").await,
        Err(ObjectError::BucketAlreadyExists)
    ));
}

#[tokio::test]
async fn sweep_removes_only_unreferenced_files() {
    let (d, store) = setup().await;
    put(&store, "live", &payload(300_000, 1)).await;
    let live = data_files(d.path());
    assert_eq!(live.len(), 1);
    // A file a crash left behind: committed to data/ but never to metadata.
    let orphan = live[0].parent().unwrap().join("0".repeat(32));
    std::fs::copy(&live[0], &orphan).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let report = store.sweep_orphans(later).await;
    assert_eq!((report.scanned, report.removed), (2, 1));
    assert!(!orphan.exists());
    assert!(live[0].exists());
    assert_eq!(get(&store, "live", None).await, payload(300_000, 1));
}

#[tokio::test]
async fn bit_rot_is_an_error_never_wrong_bytes() {
    let (d, store) = setup().await;
    let data = payload(3 << 20, 9);
    put(&store, "k", &data).await;
    let f = &data_files(d.path())[0];
    let mut bytes = std::fs::read(f).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x01;
    std::fs::write(f, &bytes).unwrap();
    let o = store
        .open_object("bkt", "k", &ReadConditions::default(), None, None)
        .await
        .unwrap();
    let results: Vec<_> = o.body.collect().await;
    assert!(
        results.iter().any(Result::is_err),
        "the damaged block must fail"
    );
    let good: Vec<u8> = results
        .into_iter()
        .take_while(Result::is_ok)
        .flat_map(|r| r.unwrap().to_vec())
        .collect();
    assert_eq!(
        good,
        &data[..good.len()],
        "bytes before the damage are correct"
    );
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let vol = dir.path().join("vol");
    let data = payload(1 << 20, 5);
    {
        let store = ObjectStore::open(std::slice::from_ref(&vol)).unwrap();
        store.create_bucket("bkt", "o", "r").await.unwrap();
        put(&store, "k", &data).await;
        put(&store, "small", b"tiny").await;
    }
    let store = ObjectStore::open(&[vol]).unwrap();
    assert_eq!(get(&store, "k", None).await, data);
    assert_eq!(get(&store, "small", None).await, b"tiny");
}

#[tokio::test]
async fn delete_objects_removes_all_in_one_commit_and_reports_each_key() {
    let (d, store) = setup().await;
    for i in 0..50 {
        put(
            &store,
            &format!("k{i}"),
            &payload(if i % 10 == 0 { 300_000 } else { 10 }, i as u8),
        )
        .await;
    }
    let mut list: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    list.push("missing".into());
    list.push("k1".into());
    list.push("x".repeat(1025));
    let results = store.delete_objects("bkt", &list).await.unwrap();
    assert_eq!(results.len(), list.len());
    assert!(results[..52].iter().all(Result::is_ok));
    assert!(matches!(results[52], Err(ObjectError::KeyTooLong)));
    assert!(
        store
            .list_objects(
                "bkt",
                &ListQuery {
                    max_keys: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert!(data_files(d.path()).is_empty());
    assert!(matches!(
        store.delete_objects("nope", &list).await,
        Err(ObjectError::NoSuchBucket)
    ));
}

#[tokio::test]
async fn upload_part_reports_the_checksum_algorithm_it_used() {
    let (_d, store) = setup().await;
    let c = CreateUpload {
        checksum_algorithm: Some(ChecksumAlgorithm::Crc32c),
        ..Default::default()
    };
    let up = store
        .create_multipart_upload("bkt", "mp", c)
        .await
        .unwrap()
        .upload_id;
    let got = store
        .upload_part(
            "bkt",
            "mp",
            &up,
            1,
            body(b"abc"),
            BodyChecks::default(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(got.checksum_algorithm, Some(ChecksumAlgorithm::Crc32c));
    assert_eq!(
        got.part.segment.checksum.as_deref(),
        Some(checksum::b64(&checksum::compute(ChecksumAlgorithm::Crc32c, b"abc")).as_str())
    );
    let plain = store
        .create_multipart_upload("bkt", "mp2", CreateUpload::default())
        .await
        .unwrap()
        .upload_id;
    let got = store
        .upload_part(
            "bkt",
            "mp2",
            &plain,
            1,
            body(b"abc"),
            BodyChecks::default(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (got.checksum_algorithm, got.part.segment.checksum),
        (None, None)
    );
}

/// A GET may start from the record its access check read; if an overwrite removed that
/// record's bytes in between, it reads the record again and serves the new object.
#[tokio::test]
async fn a_read_starting_from_a_stale_record_serves_the_overwrite() {
    let (_d, store) = setup().await;
    for (size, seed) in [(100usize, 1u8), (300_000, 3)] {
        put(&store, "k", &payload(size, seed)).await;
        let stale = store.head_object("bkt", "k").await.unwrap();
        put(&store, "k", &payload(size + 1, seed + 1)).await;
        let o = store
            .open_version_from("bkt", "k", &ReadSpec::default(), Some(stale.clone()))
            .await
            .unwrap();
        let chunks: Vec<Bytes> = o.body.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), payload(size + 1, seed + 1), "size {size}");
        assert_eq!(
            o.record.etag,
            store.head_object("bkt", "k").await.unwrap().etag
        );

        // Conditions apply to the record the read starts from.
        let spec = ReadSpec {
            conditions: ReadConditions {
                if_match: Some(EtagMatch::Tags(vec![stale.etag.clone()])),
                ..Default::default()
            },
            ..Default::default()
        };
        let fresh = store.head_object("bkt", "k").await.unwrap();
        assert!(matches!(
            store
                .stat_version_from("bkt", "k", &spec, Some(fresh))
                .await,
            Err(ObjectError::PreconditionFailed)
        ));
    }
}
