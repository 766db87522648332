//! The transaction API's conformance suite (`suite.rs`), run on every backend: redb in a
//! temporary directory, and PostgreSQL (a real server from the distribution's package, one per
//! test binary, a new database per test; see `src/pg_server.rs`, also
//! the `test-support` feature's `rustfs_meta::pg_server`).

#[path = "../../src/pg_server.rs"]
mod pg_server;
mod suite;

use std::sync::Arc;

use rustfs_meta::{PgStore, RedbStore, TxnStore};

/// A store and what must outlive it.
pub struct Fixture {
    pub store: Arc<dyn TxnStore>,
    _keep: Option<tempfile::TempDir>,
}

pub async fn redb() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("meta.redb")).unwrap();
    Some(Fixture {
        store: Arc::new(store),
        _keep: Some(dir),
    })
}

/// Three replicas with a write quorum of two: transactions go through the replicated commit.
pub async fn redb_replicated() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("r{i}.redb")))
        .collect();
    let store = RedbStore::open_replicated(&paths, 2).unwrap();
    Some(Fixture {
        store: Arc::new(store),
        _keep: Some(dir),
    })
}

pub async fn pg() -> Option<Fixture> {
    let server = pg_server::server()?;
    let url = server.database().await;
    let store = PgStore::open(&url).await.unwrap();
    Some(Fixture {
        store: Arc::new(store),
        _keep: None,
    })
}

macro_rules! conformance {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(f) = crate::$backend().await else { return };
                    crate::suite::$test(f.store.clone()).await;
                }
            )*
        }
    };
}

macro_rules! every_backend {
    ($($backend:ident),*) => {$(
        conformance!($backend:
            point_reads_writes_and_deletes,
            read_key_sees_the_latest_commit,
            reads_see_the_transactions_own_writes,
            scans_seek_stop_and_respect_bounds,
            range_deletes_remove_exactly_their_range,
            two_writers_of_a_read_key_one_commits,
            write_skew_is_refused,
            a_phantom_insert_into_a_scanned_range_conflicts,
            reads_are_one_consistent_state,
            concurrent_counters_reach_the_exact_total,
            transact_commits_once_and_passes_errors_through,
            order_ids_are_unique_and_increasing,
            abandoned_transactions_leave_the_store_usable,
            random_transactions_match_a_model,
        );
    )*};
}

every_backend!(redb, redb_replicated, pg);

mod pg_only {
    use rustfs_meta::{MetaError, PgStore, TxnStore};

    /// The schema is created at the first open, kept at the next, and a newer one is refused.
    #[tokio::test]
    async fn the_schema_is_versioned_and_a_newer_one_refused() {
        let Some(server) = crate::pg_server::server() else {
            return;
        };
        let url = server.database().await;
        let s = PgStore::open(&url).await.unwrap();
        let mut t = s.begin().await.unwrap();
        t.put(rustfs_meta::Table::Buckets, b"b".to_vec(), b"1".to_vec());
        t.commit().await.unwrap();
        drop(s);
        let s = PgStore::open(&url).await.unwrap();
        let mut t = s.begin().await.unwrap();
        assert!(
            t.get(rustfs_meta::Table::Buckets, b"b")
                .await
                .unwrap()
                .is_some()
        );
        drop(t);
        drop(s);
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let version: i64 = client
            .query_one("SELECT version FROM rustfs_schema WHERE id = 1", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(version, rustfs_meta::pg::SCHEMA_VERSION);
        client
            .execute("UPDATE rustfs_schema SET version = 99 WHERE id = 1", &[])
            .await
            .unwrap();
        assert!(matches!(
            PgStore::open(&url).await,
            Err(MetaError::SchemaTooNew { found: 99, .. })
        ));
    }

    /// Processes sharing one database draw order ids from one sequence.
    #[tokio::test]
    async fn two_stores_on_one_database_share_order() {
        let Some(server) = crate::pg_server::server() else {
            return;
        };
        let url = server.database().await;
        let (a, b) = tokio::join!(PgStore::open(&url), PgStore::open(&url));
        let (a, b) = (a.unwrap(), b.unwrap());
        let x = a.order_ids(1).await.unwrap();
        let y = b.order_ids(1).await.unwrap();
        let z = a.order_ids(1).await.unwrap();
        assert!(x[0] < y[0] && y[0] < z[0]);
    }

    /// A database that cannot be reached is `Unavailable`, not a panic or a hang.
    #[tokio::test]
    async fn an_unreachable_database_is_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = PgStore::open(&format!(
            "postgres://u:p@127.0.0.1:{port}/db?sslmode=disable"
        ))
        .await;
        assert!(matches!(r, Err(MetaError::Unavailable(_))), "{:?}", r.err());
    }
}
