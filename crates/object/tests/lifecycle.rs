//! The lifecycle worker on every metadata backend (redb, and PostgreSQL when installed):
//! expiry racing a newer PUT, a pass resuming at its saved cursor, a bucket whose lease
//! another node holds left alone.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Backend, open_store, put};
use rustfs_object::lifecycle_worker::{LifecycleConfig, LifecycleWorker, NAME};
use rustfs_object::worker::{self, Step, Worker};
use rustfs_object::*;

/// 2015-01-01, midnight UTC: every object is past it.
const PAST: i64 = 1_420_070_400;

fn expire_all() -> Vec<LifecycleRule> {
    vec![LifecycleRule {
        id: "past".into(),
        enabled: true,
        expiration: Some(LifecycleExpiration {
            date_secs: Some(PAST),
            ..Default::default()
        }),
        ..Default::default()
    }]
}

async fn keys(store: &ObjectStore) -> Vec<String> {
    let q = ListQuery {
        max_keys: 1000,
        ..Default::default()
    };
    store
        .list_objects("bkt", &q)
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.name().to_string())
        .collect()
}

/// Steps the worker until its pass is over (bounded).
async fn run_pass(w: &mut LifecycleWorker) {
    for _ in 0..200 {
        if w.step().await.unwrap() == Step::Idle {
            return;
        }
    }
    panic!("the pass did not end");
}

fn worker(store: &Arc<ObjectStore>, node: &str) -> LifecycleWorker {
    LifecycleWorker::new(
        store.clone(),
        LifecycleConfig {
            node: node.into(),
            pass_every: Duration::from_secs(3600),
            page: 2,
        },
    )
}

async fn expiry_races_a_newer_put(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(store) = open_store(backend, dir.path()).await else {
        return;
    };
    store
        .create_bucket("bkt", "owner", "us-east-1")
        .await
        .unwrap();
    // Never versioned: the record read by the pass is replaced by a newer PUT first.
    let old = put(&store, "k", b"one").await;
    let new = put(&store, "k", b"two").await;
    assert!(
        !store
            .expire_current("bkt", "k", &old, "owner")
            .await
            .unwrap()
    );
    assert_eq!(store.head_object("bkt", "k").await.unwrap().etag, new.etag);
    assert!(
        store
            .expire_current("bkt", "k", &new, "owner")
            .await
            .unwrap()
    );
    assert!(matches!(
        store.head_object("bkt", "k").await,
        Err(ObjectError::NoSuchKey)
    ));
    // Versioned: the delete marker is committed only over the version read.
    store
        .set_bucket_versioning("bkt", Versioning::Enabled)
        .await
        .unwrap();
    let old = put(&store, "v", b"one").await;
    let new = put(&store, "v", b"two").await;
    assert!(
        !store
            .expire_current("bkt", "v", &old, "owner")
            .await
            .unwrap()
    );
    assert_eq!(store.head_object("bkt", "v").await.unwrap().etag, new.etag);
    assert!(
        store
            .expire_current("bkt", "v", &new, "owner")
            .await
            .unwrap()
    );
    assert!(store.head_object("bkt", "v").await.is_err());
    let versions = store
        .list_object_versions(
            "bkt",
            &VersionListQuery {
                prefix: "v".into(),
                delimiter: None,
                key_marker: None,
                version_id_marker: None,
                max_keys: 100,
            },
        )
        .await
        .unwrap();
    // Both versions kept under the marker.
    assert_eq!(versions.entries.len(), 3);
}

/// A store with `n` objects `k0`.. in `bkt`, under a rule that expires them all.
async fn due_objects(backend: Backend, n: usize) -> Option<(tempfile::TempDir, Arc<ObjectStore>)> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_store(backend, dir.path()).await?);
    store
        .create_bucket("bkt", "owner", "us-east-1")
        .await
        .unwrap();
    for i in 0..n {
        put(&store, &format!("k{i}"), b"x").await;
    }
    store
        .set_bucket_lifecycle("bkt", expire_all())
        .await
        .unwrap();
    Some((dir, store))
}

async fn pass_resumes_at_its_cursor(backend: Backend) {
    let Some((_dir, store)) = due_objects(backend, 6).await else {
        return;
    };
    // A pass that stopped after k2 (its cursor saved) goes on from there.
    let meta = store.meta();
    worker::save_progress(&*meta, NAME, "bkt", Some(b"k2"))
        .await
        .unwrap();
    let mut w = worker(&store, "node-a");
    run_pass(&mut w).await;
    assert_eq!(keys(&store).await, ["k0", "k1", "k2"]);
    // Its end cleared the cursor: the next pass starts at the beginning.
    assert_eq!(
        worker::load_progress(&*meta, NAME, "bkt").await.unwrap(),
        None
    );
    let mut w = worker(&store, "node-a");
    run_pass(&mut w).await;
    assert!(keys(&store).await.is_empty());
}

async fn leased_bucket_is_left_alone(backend: Backend) {
    let Some((_dir, store)) = due_objects(backend, 3).await else {
        return;
    };
    let meta = store.meta();
    assert!(
        lease::acquire(&*meta, "lifecycle/bkt", "node-b", Duration::from_secs(60))
            .await
            .unwrap()
    );
    let mut w = worker(&store, "node-a");
    run_pass(&mut w).await;
    assert_eq!(keys(&store).await.len(), 3);
    assert_eq!(w.info().counters["buckets_leased_elsewhere"], 1);
    lease::release(&*meta, "lifecycle/bkt", "node-b")
        .await
        .unwrap();
    let mut w = worker(&store, "node-a");
    run_pass(&mut w).await;
    assert!(keys(&store).await.is_empty());
    // The pass gave the lease back at its end.
    assert!(
        lease::current(&*meta, "lifecycle/bkt")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn lifecycle_redb() {
    expiry_races_a_newer_put(Backend::Redb).await;
    pass_resumes_at_its_cursor(Backend::Redb).await;
    leased_bucket_is_left_alone(Backend::Redb).await;
}

#[tokio::test]
async fn lifecycle_postgres() {
    expiry_races_a_newer_put(Backend::Postgres).await;
    pass_resumes_at_its_cursor(Backend::Postgres).await;
    leased_bucket_is_left_alone(Backend::Postgres).await;
}
