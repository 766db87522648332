//! Tags and bucket configuration on real volumes: tagging rewrites only the record (same
//! version, segments and bytes), concurrent changes never lose each other, and copies and
//! multipart completions carry tags as S3 says. Each test runs on both metadata backends
//! (`redb::*`, `pg::*`; see `races.rs`).

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use rustfs_object::*;

mod common;
use common::Backend;

fn body(data: &[u8]) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
    futures::stream::iter(vec![Ok(Bytes::copy_from_slice(data))])
}

/// A store with bucket `bkt`; `None`: `backend` is not available here (skipped).
async fn setup(backend: Backend) -> Option<(tempfile::TempDir, Arc<ObjectStore>)> {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(backend, &dir.path().join("vol")).await?;
    store.create_bucket("bkt", "o", "us-east-1").await.unwrap();
    Some((dir, Arc::new(store)))
}

/// Each test on each backend: `redb::NAME` and `pg::NAME`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Redb).await
                }
            )*
        }
        mod pg {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

fn tags(pairs: &[(&str, &str)]) -> TagSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn put(store: &ObjectStore, key: &str, data: &[u8], t: Option<TagSet>) -> ObjectRecord {
    let opts = PutOptions {
        tags: t,
        ..Default::default()
    };
    store
        .put_object("bkt", key, body(data), opts)
        .await
        .unwrap()
}

async fn tagging_changes_only_the_record(backend: Backend) {
    let Some((_dir, store)) = setup(backend).await else {
        return;
    };
    let data = vec![7u8; 300 * 1024]; // a data file, not an inline blob
    let before = put(&store, "k", &data, None).await;
    store
        .set_object_tags("bkt", "k", tags(&[("a", "1")]))
        .await
        .unwrap();
    let after = store.head_object("bkt", "k").await.unwrap();
    assert_eq!(after.tags, tags(&[("a", "1")]));
    assert_eq!(
        (
            &after.version_id,
            &after.segments,
            &after.etag,
            after.last_modified_ms
        ),
        (
            &before.version_id,
            &before.segments,
            &before.etag,
            before.last_modified_ms
        )
    );
    let o = store
        .open_object("bkt", "k", &ReadConditions::default(), None, None)
        .await
        .unwrap();
    let read: Vec<Bytes> = o.body.try_collect().await.unwrap();
    assert_eq!(read.concat(), data);

    // An inline (blob) object keeps its blob too.
    put(&store, "small", b"tiny", None).await;
    store
        .set_object_tags("bkt", "small", tags(&[("x", "")]))
        .await
        .unwrap();
    store
        .set_object_tags("bkt", "small", TagSet::new())
        .await
        .unwrap();
    let o = store
        .open_object("bkt", "small", &ReadConditions::default(), None, None)
        .await
        .unwrap();
    let read: Vec<Bytes> = o.body.try_collect().await.unwrap();
    assert_eq!(read.concat(), b"tiny");
    assert!(store.object_tags("bkt", "small").await.unwrap().is_empty());
}

async fn tagging_a_missing_object_or_bucket_fails(backend: Backend) {
    let Some((_dir, store)) = setup(backend).await else {
        return;
    };
    assert!(matches!(
        store.set_object_tags("bkt", "nope", TagSet::new()).await,
        Err(ObjectError::NoSuchKey)
    ));
    assert!(matches!(
        store.set_object_tags("nob", "k", TagSet::new()).await,
        Err(ObjectError::NoSuchBucket)
    ));
}

async fn concurrent_tagging_and_overwrites_stay_consistent(backend: Backend) {
    let Some((_dir, store)) = setup(backend).await else {
        return;
    };
    put(&store, "k", b"v0", None).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 4 == 0 {
                put(&s, "k", format!("v{i}").as_bytes(), None).await;
            } else {
                let t = vec![("n".to_string(), i.to_string())];
                s.set_object_tags("bkt", "k", t).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rec = store.head_object("bkt", "k").await.unwrap();
    assert!(rec.tags.len() <= 1);
    let o = store
        .open_object("bkt", "k", &ReadConditions::default(), None, None)
        .await
        .unwrap();
    let read: Vec<Bytes> = o.body.try_collect().await.unwrap();
    assert!(read.concat().starts_with(b"v"));
}

async fn copies_and_multipart_uploads_carry_tags(backend: Backend) {
    let Some((_dir, store)) = setup(backend).await else {
        return;
    };
    put(&store, "src", b"data", Some(tags(&[("a", "1")]))).await;
    let src = CopySource {
        bucket: "bkt",
        key: "src",
        version_id: None,
        conditions: ReadConditions::default(),
        range: None,
        sse_customer: None,
    };
    let (_, kept) = store
        .copy_object(&src, "bkt", "kept", false, PutOptions::default())
        .await
        .unwrap();
    assert_eq!(kept.tags, tags(&[("a", "1")]));
    let replaced = PutOptions {
        tags: Some(tags(&[("b", "2")])),
        ..Default::default()
    };
    let (_, rec) = store
        .copy_object(&src, "bkt", "replaced", false, replaced)
        .await
        .unwrap();
    assert_eq!(rec.tags, tags(&[("b", "2")]));

    let c = CreateUpload {
        tags: tags(&[("m", "p")]),
        ..Default::default()
    };
    let up = store.create_multipart_upload("bkt", "mp", c).await.unwrap();
    let part = store
        .upload_part(
            "bkt",
            "mp",
            &up.upload_id,
            1,
            body(b"part"),
            BodyChecks::default(),
            None,
        )
        .await
        .unwrap();
    let done = store
        .complete_multipart_upload(
            "bkt",
            "mp",
            &up.upload_id,
            &[CompletePart {
                number: 1,
                etag: part.part.segment.etag,
                checksum: None,
            }],
            &WriteConditions::default(),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(done.tags, tags(&[("m", "p")]));
}

async fn bucket_settings_do_not_overwrite_each_other(backend: Backend) {
    let Some((_dir, store)) = setup(backend).await else {
        return;
    };
    assert!(matches!(
        store.bucket_tags("bkt").await,
        Err(ObjectError::NoSuchTagSet)
    ));
    assert!(matches!(
        store.bucket_cors("bkt").await,
        Err(ObjectError::NoSuchCorsConfiguration)
    ));
    let rule = CorsRule {
        allowed_methods: vec!["GET".into()],
        allowed_origins: vec!["*".into()],
        ..Default::default()
    };
    let (a, b) = (store.clone(), store.clone());
    let r = rule.clone();
    let t1 = tokio::spawn(async move {
        for i in 0..20 {
            a.set_bucket_tags("bkt", vec![("i".into(), i.to_string())])
                .await
                .unwrap();
        }
    });
    let t2 = tokio::spawn(async move {
        for _ in 0..20 {
            b.set_bucket_cors("bkt", vec![r.clone()]).await.unwrap();
        }
    });
    t1.await.unwrap();
    t2.await.unwrap();
    assert_eq!(
        store.bucket_tags("bkt").await.unwrap(),
        tags(&[("i", "19")])
    );
    assert_eq!(store.bucket_cors("bkt").await.unwrap(), vec![rule]);
    store.delete_bucket_cors("bkt").await.unwrap();
    store.delete_bucket_tags("bkt").await.unwrap();
    assert!(store.bucket_tags("bkt").await.is_err() && store.bucket_cors("bkt").await.is_err());
    assert!(matches!(
        store.set_bucket_tags("nob", TagSet::new()).await,
        Err(ObjectError::NoSuchBucket)
    ));
}

on_every_backend!(
    tagging_changes_only_the_record,
    tagging_a_missing_object_or_bucket_fails,
    concurrent_tagging_and_overwrites_stay_consistent,
    copies_and_multipart_uploads_carry_tags,
    bucket_settings_do_not_overwrite_each_other,
);
