//! Leases (`rustfs_object::lease`) and workers' persisted progress on every metadata backend:
//! redb, and PostgreSQL (the shared test server of `rustfs_meta::pg_server`; skipped with a
//! message when it is not installed).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Backend, open_store};
use rustfs_object::{lease, worker};

const TTL: Duration = Duration::from_secs(30);

async fn take_renew_expire_release(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(store) = open_store(backend, dir.path()).await else {
        return;
    };
    let meta = store.meta();
    let m = &*meta;
    let now = 1_000_000;
    assert!(
        lease::acquire_at(m, "lc/b", "node-a", TTL, now)
            .await
            .unwrap()
    );
    // Another holder waits while it runs; the holder renews it.
    assert!(
        !lease::acquire_at(m, "lc/b", "node-b", TTL, now + 1)
            .await
            .unwrap()
    );
    assert!(
        lease::acquire_at(m, "lc/b", "node-a", TTL, now + 10_000)
            .await
            .unwrap()
    );
    assert_eq!(
        lease::current(m, "lc/b").await.unwrap().unwrap().expires_ms,
        now + 10_000 + 30_000
    );
    // Other leases are independent.
    assert!(
        lease::acquire_at(m, "lc/c", "node-b", TTL, now)
            .await
            .unwrap()
    );
    // Expired: another node takes it over.
    assert!(
        lease::acquire_at(m, "lc/b", "node-b", TTL, now + 40_001)
            .await
            .unwrap()
    );
    assert!(
        !lease::acquire_at(m, "lc/b", "node-a", TTL, now + 40_002)
            .await
            .unwrap()
    );
    // Release by a non-holder does nothing; by the holder frees it at once.
    lease::release(m, "lc/b", "node-a").await.unwrap();
    assert!(
        !lease::acquire_at(m, "lc/b", "node-a", TTL, now + 40_003)
            .await
            .unwrap()
    );
    lease::release(m, "lc/b", "node-b").await.unwrap();
    assert!(
        lease::acquire_at(m, "lc/b", "node-a", TTL, now + 40_004)
            .await
            .unwrap()
    );
}

/// Contenders racing for one free lease: exactly one wins each round.
async fn contenders_race(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(store) = open_store(backend, dir.path()).await else {
        return;
    };
    let meta = store.meta();
    for round in 0..10 {
        let name = format!("race/{round}");
        let mut tasks = Vec::new();
        for node in 0..4 {
            let meta = Arc::clone(&meta);
            let name = name.clone();
            tasks.push(tokio::spawn(async move {
                // A contended transaction is retried; give up only on a real error.
                lease::acquire(&*meta, &name, &format!("node-{node}"), TTL).await
            }));
        }
        let mut winners = 0;
        for t in tasks {
            if t.await.unwrap().unwrap() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

async fn progress_round_trip(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(store) = open_store(backend, dir.path()).await else {
        return;
    };
    let meta = store.meta();
    let m = &*meta;
    assert_eq!(
        worker::load_progress(m, "lifecycle", "b").await.unwrap(),
        None
    );
    worker::save_progress(m, "lifecycle", "b", Some(b"key-7"))
        .await
        .unwrap();
    assert_eq!(
        worker::load_progress(m, "lifecycle", "b")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"key-7"[..])
    );
    worker::save_progress(m, "lifecycle", "b", None)
        .await
        .unwrap();
    assert_eq!(
        worker::load_progress(m, "lifecycle", "b").await.unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_redb() {
    take_renew_expire_release(Backend::Redb).await;
    contenders_race(Backend::Redb).await;
    progress_round_trip(Backend::Redb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_postgres() {
    take_renew_expire_release(Backend::Postgres).await;
    contenders_race(Backend::Postgres).await;
    progress_round_trip(Backend::Postgres).await;
}
