//! S3 versioning on real volumes: versions kept and read by id, delete markers, deleting one
//! version (the previous one becoming current), the suspended state's `null` version,
//! ListObjectVersions order and pagination, and the sweep and heal pass keeping and repairing
//! noncurrent versions' files.

use std::path::PathBuf;

use bytes::Bytes;
use futures::TryStreamExt;
use rustfs_object::*;

mod common;
use common::{data_files, payload, put};

/// Larger than the inline limit, so each version has its own data file.
const BIG: usize = 200 * 1024;

async fn setup(volumes: usize) -> (tempfile::TempDir, Vec<PathBuf>, ObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    let vols: Vec<PathBuf> = (0..volumes)
        .map(|i| dir.path().join(format!("vol{i}")))
        .collect();
    let store = ObjectStore::open(&vols).unwrap();
    store
        .create_bucket("bkt", "owner", "us-east-1")
        .await
        .unwrap();
    (dir, vols, store)
}

async fn get(store: &ObjectStore, key: &str, version: Option<&str>) -> Result<Vec<u8>> {
    let o = store
        .open_version(
            "bkt",
            key,
            &ReadSpec {
                version: version.map(str::to_string),
                ..Default::default()
            },
        )
        .await?;
    let chunks: Vec<Bytes> = o.body.try_collect().await?;
    Ok(chunks.concat())
}

async fn delete(store: &ObjectStore, key: &str, version: Option<&str>) -> DeleteOutcome {
    store
        .delete_version("bkt", key, version, "owner")
        .await
        .unwrap()
}

/// (key, version label, is_latest, delete marker) of every entry, following the markers page
/// by page with `max_keys`.
async fn list_versions(
    store: &ObjectStore,
    prefix: &str,
    max_keys: usize,
) -> Vec<(String, String, bool, bool)> {
    let mut out = Vec::new();
    let mut q = VersionListQuery {
        prefix: prefix.into(),
        max_keys,
        ..Default::default()
    };
    for _ in 0..100 {
        let page = store.list_object_versions("bkt", &q).await.unwrap();
        for e in &page.entries {
            if let VersionEntry::Version {
                key,
                record,
                is_latest,
            } = e
            {
                out.push((
                    key.clone(),
                    record.version_label().to_string(),
                    *is_latest,
                    record.delete_marker,
                ));
            }
        }
        let Some((k, v)) = page.next_markers() else {
            return out;
        };
        q.key_marker = Some(k.to_string());
        q.version_id_marker = v.map(str::to_string);
    }
    panic!("listing did not end");
}

#[tokio::test]
async fn enabled_keeps_every_version_readable_by_id() {
    let (_d, vols, store) = setup(1).await;
    assert_eq!(store.bucket_versioning("bkt").await.unwrap(), None);
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    assert_eq!(
        store.bucket_versioning("bkt").await.unwrap(),
        Some(Versioning::Enabled)
    );
    let one = payload(BIG, 1);
    let two = payload(BIG, 2);
    let v1 = put(&store, "k", &one).await;
    let v2 = put(&store, "k", &two).await;
    let (id1, id2) = (v1.version_id().unwrap(), v2.version_id().unwrap());
    assert!(id2 > id1, "ids sort by time");
    assert_eq!(get(&store, "k", None).await.unwrap(), two);
    assert_eq!(get(&store, "k", Some(id1)).await.unwrap(), one);
    assert_eq!(get(&store, "k", Some(id2)).await.unwrap(), two);
    assert_eq!(
        data_files(&vols[0]).len(),
        2,
        "the old version's file is kept"
    );
    assert!(matches!(
        get(&store, "k", Some(&"0".repeat(32))).await,
        Err(ObjectError::NoSuchVersion)
    ));
    assert!(matches!(
        get(&store, "k", Some("null")).await,
        Err(ObjectError::NoSuchVersion)
    ));
    assert!(matches!(
        get(&store, "k", Some("bogus")).await,
        Err(ObjectError::InvalidVersionId)
    ));
    // Tags address one version.
    store
        .set_version_tags("bkt", "k", Some(id1), vec![("a".into(), "1".into())])
        .await
        .unwrap();
    assert!(store.head_object("bkt", "k").await.unwrap().tags.is_empty());
    assert_eq!(
        store
            .head_version("bkt", "k", Some(id1))
            .await
            .unwrap()
            .tags
            .len(),
        1
    );
    let listed = list_versions(&store, "", 1000).await;
    assert_eq!(
        listed,
        vec![
            ("k".into(), id2.to_string(), true, false),
            ("k".into(), id1.to_string(), false, false),
        ]
    );
}

#[tokio::test]
async fn delete_markers_hide_keys_and_deleting_a_version_promotes_the_previous() {
    let (_d, vols, store) = setup(1).await;
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let one = payload(BIG, 1);
    let v1 = put(&store, "k", &one).await;
    let v2 = put(&store, "k", &payload(BIG, 2)).await;
    let gone = delete(&store, "k", None).await;
    assert!(gone.delete_marker);
    let marker = gone.version_id.unwrap();
    match store.head_object("bkt", "k").await {
        Err(ObjectError::DeleteMarker {
            version_id,
            addressed: false,
            ..
        }) => assert_eq!(version_id, marker),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.head_version("bkt", "k", Some(&marker)).await,
        Err(ObjectError::DeleteMarker {
            addressed: true,
            ..
        })
    ));
    let listed = store
        .list_objects(
            "bkt",
            &ListQuery {
                max_keys: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(listed.entries.is_empty() && !listed.is_truncated);
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(ObjectError::BucketNotEmpty)
    ));

    // Removing the marker brings v2 back; removing v2 (current) brings v1 back and frees
    // v2's file.
    let undone = delete(&store, "k", Some(&marker)).await;
    assert!(undone.delete_marker);
    assert_eq!(
        store.head_object("bkt", "k").await.unwrap().version_id(),
        v2.version_id()
    );
    delete(&store, "k", v2.version_id()).await;
    assert_eq!(get(&store, "k", None).await.unwrap(), one);
    assert_eq!(data_files(&vols[0]).len(), 1);
    // An unknown version is no error; deleting the last version leaves nothing.
    delete(&store, "k", Some(&"1".repeat(32))).await;
    delete(&store, "k", v1.version_id()).await;
    assert!(list_versions(&store, "", 10).await.is_empty());
    assert!(data_files(&vols[0]).is_empty());
    store.delete_bucket("bkt").await.unwrap();
}

#[tokio::test]
async fn suspended_writes_replace_the_null_version_only() {
    let (_d, vols, store) = setup(1).await;
    // Written before versioning: the null version.
    put(&store, "k", &payload(BIG, 1)).await;
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let v = put(&store, "k", &payload(BIG, 2)).await;
    assert_eq!(data_files(&vols[0]).len(), 2);
    store
        .set_bucket_versioning("bkt", Versioning::Suspended)
        .await
        .unwrap();
    let three = payload(BIG, 3);
    let n = put(&store, "k", &three).await;
    assert_eq!(n.version_id(), None);
    // The old null version (noncurrent) is gone with its file; v is kept.
    let listed = list_versions(&store, "", 100).await;
    let labels: Vec<&str> = listed.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(labels, ["null", v.version_id().unwrap()]);
    assert_eq!(data_files(&vols[0]).len(), 2);
    // Overwriting the current null version frees its file.
    put(&store, "k", &payload(BIG, 4)).await;
    assert_eq!(data_files(&vols[0]).len(), 2);
    // DELETE puts a null delete marker in place of the null version.
    let gone = delete(&store, "k", None).await;
    assert_eq!(gone.version_id.as_deref(), Some("null"));
    let listed = list_versions(&store, "", 100).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], ("k".into(), "null".into(), true, true));
    assert_eq!(data_files(&vols[0]).len(), 1);
    assert_eq!(
        get(&store, "k", v.version_id()).await.unwrap(),
        payload(BIG, 2)
    );
}

#[tokio::test]
async fn versions_list_by_key_newest_first_across_pages() {
    let (_d, _vols, store) = setup(1).await;
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    for key in ["a", "b", "a", "c/x", "a", "c/y", "b"] {
        put(&store, key, key.as_bytes()).await;
    }
    delete(&store, "b", None).await;
    let all = list_versions(&store, "", 1000).await;
    let keys: Vec<&str> = all.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(keys, ["a", "a", "a", "b", "b", "b", "c/x", "c/y"]);
    for w in all.windows(2) {
        if w[0].0 == w[1].0 {
            assert!(w[0].1 > w[1].1, "newest first: {w:?}");
        }
    }
    let latest: Vec<bool> = all.iter().map(|e| e.2).collect();
    assert_eq!(latest, [true, false, false, true, false, false, true, true]);
    assert!(all[3].3, "b's latest is the delete marker");
    for max in [1, 2, 3, 5] {
        assert_eq!(list_versions(&store, "", max).await, all, "max_keys {max}");
    }
    assert_eq!(list_versions(&store, "c/", 1).await.len(), 2);
    // Delimiter: c/ rolls up.
    let page = store
        .list_object_versions(
            "bkt",
            &VersionListQuery {
                delimiter: Some("/".into()),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(page.entries.last(), Some(VersionEntry::Prefix(p)) if p == "c/"));
    assert_eq!(page.entries.len(), 7);
    // ListObjects shows only current versions that are not delete markers.
    let listed = store
        .list_objects(
            "bkt",
            &ListQuery {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = listed.entries.iter().map(ListEntry::name).collect();
    assert_eq!(names, ["a", "c/x", "c/y"]);
    // A common prefix holding only delete markers is not listed; max_keys counts no marker.
    delete(&store, "c/x", None).await;
    delete(&store, "c/y", None).await;
    let listed = store
        .list_objects(
            "bkt",
            &ListQuery {
                delimiter: Some("/".into()),
                max_keys: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = listed.entries.iter().map(ListEntry::name).collect();
    assert_eq!((names, listed.is_truncated), (vec!["a"], false));
}

#[tokio::test]
async fn sweep_keeps_noncurrent_versions_files() {
    let (_d, vols, store) = setup(1).await;
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let v1 = put(&store, "k", &payload(BIG, 1)).await;
    put(&store, "k", &payload(BIG, 2)).await;
    delete(&store, "k", None).await;
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let report = store.sweep_orphans(later).await;
    assert_eq!((report.scanned, report.removed), (2, 0));
    assert_eq!(data_files(&vols[0]).len(), 2);
    assert_eq!(
        get(&store, "k", v1.version_id()).await.unwrap(),
        payload(BIG, 1)
    );
}

#[tokio::test]
async fn heal_repairs_a_noncurrent_version_on_four_volumes() {
    let (_d, vols, store) = setup(4).await;
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let one = payload(3 * 1024 * 1024 + 5, 1);
    let v1 = put(&store, "k", &one).await;
    put(&store, "k", &payload(BIG, 2)).await;
    let id = match &v1.segments[0].body {
        rustfs_meta::Body::Stored(r) => r.id.clone(),
        other => panic!("{other:?}"),
    };
    let shard = vols
        .iter()
        .flat_map(|v| data_files(v))
        .find(|p| p.file_name().is_some_and(|n| n == id.as_str()))
        .unwrap();
    std::fs::remove_file(&shard).unwrap();
    let report = store.heal_pass(false, None).await;
    assert!(report.shards_repaired >= 1, "{report:?}");
    assert!(shard.exists(), "the lost shard is rebuilt");
    assert_eq!(get(&store, "k", v1.version_id()).await.unwrap(), one);
}

#[tokio::test]
async fn delete_objects_with_versions_reports_each_entry() {
    let (_d, _vols, store) = setup(1).await;
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let a1 = put(&store, "a", b"1").await;
    put(&store, "a", b"2").await;
    put(&store, "b", b"b").await;
    let a1 = a1.version_id().unwrap().to_string();
    let list = vec![
        ("a".to_string(), Some(a1.clone())),
        ("b".to_string(), None),
        ("a".to_string(), Some(a1.clone())),
        ("c".to_string(), Some("bad".to_string())),
    ];
    let done = store.delete_versions("bkt", &list, "owner").await.unwrap();
    let a = done[0].as_ref().unwrap();
    assert_eq!(
        (a.version_id.as_deref(), a.delete_marker),
        (Some(a1.as_str()), false)
    );
    assert!(done[1].as_ref().unwrap().delete_marker);
    assert_eq!(done[2].as_ref().unwrap(), a);
    assert!(matches!(done[3], Err(ObjectError::InvalidVersionId)));
    let listed = list_versions(&store, "", 100).await;
    let summary: Vec<(&str, bool, bool)> = listed
        .iter()
        .map(|(k, _, latest, dm)| (k.as_str(), *latest, *dm))
        .collect();
    assert_eq!(
        summary,
        [("a", true, false), ("b", true, true), ("b", false, false)]
    );
}
