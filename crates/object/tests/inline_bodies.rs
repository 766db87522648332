//! Where a body's bytes go: into the metadata store's blob table with the record (up to the
//! backend's `inline_body_max`: 128 KiB on redb, 4 KiB on PostgreSQL, the one database every
//! node shares) or into data files on the volumes. Each test runs on both metadata backends
//! (`redb::*`, `pg::*`; see `races.rs`).

use bytes::Bytes;
use futures::TryStreamExt;
use rustfs_object::*;

mod common;
use common::{Backend, body, payload};

/// Whether each segment of the record is inline.
fn inline(r: &ObjectRecord) -> Vec<bool> {
    r.segments
        .iter()
        .map(|s| matches!(s.body, rustfs_meta::Body::Inline(_)))
        .collect()
}

async fn bodies_inline_up_to_the_backends_limit(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(store) = common::open_store(backend, &dir.path().join("vol")).await else {
        return;
    };
    store.create_bucket("bkt", "o", "us-east-1").await.unwrap();
    let limit = match backend {
        Backend::Redb => 128 * 1024,
        Backend::Postgres => 4 * 1024,
    };
    for (i, size) in [0, 1, 4096, 4097, 64 * 1024, 128 * 1024, 128 * 1024 + 1]
        .into_iter()
        .enumerate()
    {
        let data = payload(size, i as u8);
        let key = format!("k{size}");
        let r = store
            .put_object("bkt", &key, body(&data), PutOptions::default())
            .await
            .unwrap();
        if size > 0 {
            assert_eq!(
                inline(&r),
                vec![size <= limit],
                "{size} bytes on {backend:?}"
            );
        }
        let o = store
            .open_object("bkt", &key, &ReadConditions::default(), None, None)
            .await
            .unwrap();
        let read: Vec<Bytes> = o.body.try_collect().await.unwrap();
        assert_eq!(read.concat(), data, "{size} bytes read back");
    }
}

mod redb {
    #[tokio::test]
    async fn bodies_inline_up_to_the_backends_limit() {
        super::bodies_inline_up_to_the_backends_limit(super::Backend::Redb).await
    }
}

mod pg {
    #[tokio::test]
    async fn bodies_inline_up_to_the_backends_limit() {
        super::bodies_inline_up_to_the_backends_limit(super::Backend::Postgres).await
    }
}
