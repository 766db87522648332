//! The transaction API's conformance suite (`suite.rs`), run on every backend: redb in a
//! temporary directory, and PostgreSQL (a real server from the distribution's package, one per
//! test binary, a new database per test; see `src/pg_server.rs`, also
//! the `test-support` feature's `rustfs_meta::pg_server`).

#[path = "../support/pg_proxy.rs"]
mod pg_proxy;
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

/// PostgreSQL with group commit (the default).
pub async fn pg() -> Option<Fixture> {
    let server = pg_server::server()?;
    let url = server.database().await;
    let store = PgStore::open(&url).await.unwrap();
    Some(Fixture {
        store: Arc::new(store),
        _keep: None,
    })
}

/// PostgreSQL, each transaction committing on its own connection.
pub async fn pg_direct() -> Option<Fixture> {
    let server = pg_server::server()?;
    let url = server.database().await;
    let options = rustfs_meta::pg::PgOptions {
        group_commit: false,
        ..Default::default()
    };
    let store = PgStore::open_with(&url, options).await.unwrap();
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
            every_table_keeps_its_own_keys,
            read_key_sees_the_latest_commit,
            reads_see_the_transactions_own_writes,
            scans_seek_stop_and_respect_bounds,
            range_deletes_remove_exactly_their_range,
            two_writers_of_a_read_key_one_commits,
            write_skew_is_refused,
            a_phantom_insert_into_a_scanned_range_conflicts,
            reads_are_one_consistent_state,
            a_read_after_an_acknowledged_commit_sees_it,
            readers_never_see_a_torn_move,
            concurrent_counters_reach_the_exact_total,
            transact_commits_once_and_passes_errors_through,
            order_ids_are_unique_and_increasing,
            abandoned_transactions_leave_the_store_usable,
            random_transactions_match_a_model,
        );
    )*};
}

every_backend!(redb, redb_replicated, pg, pg_direct);

/// Tests that need commits not to refuse each other falsely (see each test).
mod grouped {
    conformance!(redb: a_conflicting_commit_fails_alone);
    conformance!(redb_replicated: a_conflicting_commit_fails_alone);
    conformance!(pg: a_conflicting_commit_fails_alone);
}

mod pg_only {
    use rustfs_meta::{MetaError, PgStore, TxnStore};

    /// A new database whose store has committed bucket `b` = `1` and is closed again.
    async fn database_with_a_bucket() -> Option<String> {
        let url = crate::pg_server::server()?.database().await;
        let s = PgStore::open(&url).await.unwrap();
        let mut t = s.begin().await.unwrap();
        t.put(rustfs_meta::Table::Buckets, b"b".to_vec(), b"1".to_vec());
        t.commit().await.unwrap();
        Some(url)
    }

    /// A plain SQL connection to `url`.
    async fn sql(url: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }

    /// The schema is created at the first open, kept at the next, and a newer one is refused.
    #[tokio::test]
    async fn the_schema_is_versioned_and_a_newer_one_refused() {
        let Some(url) = database_with_a_bucket().await else {
            return;
        };
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
        let client = sql(&url).await;
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

    /// A version-1 database (before the cluster tables) is migrated at open: its data kept,
    /// the new tables created, the version raised.
    #[tokio::test]
    async fn a_version_one_database_is_migrated() {
        let Some(url) = database_with_a_bucket().await else {
            return;
        };
        let client = sql(&url).await;
        client
            .batch_execute(
                "DROP TABLE rustfs_cluster; DROP TABLE rustfs_deferred; DROP TABLE rustfs_iam; \
                 UPDATE rustfs_schema SET version = 1 WHERE id = 1",
            )
            .await
            .unwrap();
        let s = PgStore::open(&url).await.unwrap();
        let mut t = s.begin().await.unwrap();
        assert_eq!(
            t.get(rustfs_meta::Table::Buckets, b"b").await.unwrap(),
            Some(b"1".to_vec())
        );
        t.put(
            rustfs_meta::Table::Cluster,
            b"node/x".to_vec(),
            b"{}".to_vec(),
        );
        t.put(
            rustfs_meta::Table::Deferred,
            b"\0\x01f".to_vec(),
            Vec::new(),
        );
        t.commit().await.unwrap();
        let version: i64 = client
            .query_one("SELECT version FROM rustfs_schema WHERE id = 1", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(version, 2);
        assert_eq!(
            s.read_key(rustfs_meta::Table::Cluster, b"node/x")
                .await
                .unwrap(),
            Some(b"{}".to_vec())
        );
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

    /// Open `url` with or without group commit.
    async fn open(url: &str, group_commit: bool) -> PgStore {
        let options = rustfs_meta::pg::PgOptions {
            group_commit,
            ..Default::default()
        };
        PgStore::open_with(url, options).await.unwrap()
    }

    /// Transactions committing together go as one group, in which the one whose read changed
    /// is refused and the others commit. On one thread, every commit is handed over before
    /// the committer runs, so they form exactly one group.
    #[tokio::test(flavor = "current_thread")]
    async fn commits_arriving_together_form_one_group_and_conflicts_stay_apart() {
        let Some(server) = crate::pg_server::server() else {
            return;
        };
        let s = open(&server.database().await, true).await;
        let t = rustfs_meta::Table::Objects;
        let mut w = s.begin().await.unwrap();
        w.put(t, b"x".to_vec(), b"0".to_vec());
        w.commit().await.unwrap();
        let mut a = s.begin().await.unwrap();
        assert_eq!(a.get(t, b"x").await.unwrap().as_deref(), Some(&b"0"[..]));
        a.put(t, b"x".to_vec(), b"a".to_vec());
        let mut bs = Vec::new();
        for i in 0..8u8 {
            let mut b = s.begin().await.unwrap();
            assert_eq!(b.get(t, &[b'b', i]).await.unwrap(), None);
            b.put(t, vec![b'b', i], b"b".to_vec());
            bs.push(b);
        }
        let mut c = s.begin().await.unwrap();
        c.put(t, b"x".to_vec(), b"c".to_vec());
        c.commit().await.unwrap();
        let before = s.group_stats().unwrap();
        let results =
            futures::future::join_all(std::iter::once(a).chain(bs).map(|t| t.commit())).await;
        let after = s.group_stats().unwrap();
        assert!(
            matches!(results[0], Err(rustfs_meta::CommitError::Conflict)),
            "{results:?}"
        );
        assert!(results[1..].iter().all(|r| r.is_ok()), "{results:?}");
        assert_eq!(after.groups - before.groups, 1, "{before:?} {after:?}");
        assert_eq!(after.members - before.members, 9);
        assert_eq!(after.split - before.split, 1);
        assert_eq!(
            s.read_key(t, b"x").await.unwrap().as_deref(),
            Some(&b"c"[..])
        );
    }

    /// The connection breaks after the database ran `COMMIT` and before its answer arrives:
    /// the outcome is `Unknown` (and here the write did apply), with group commit and
    /// without.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_lost_during_commit_is_an_unknown_outcome() {
        let Some(server) = crate::pg_server::server() else {
            return;
        };
        let t = rustfs_meta::Table::Objects;
        for group_commit in [true, false] {
            let proxy = crate::pg_proxy::Proxy::start(server.port()).await;
            let url = proxy.url(&server.database().await, server.port());
            let s = open(&url, group_commit).await;
            let mut txn = s.begin().await.unwrap();
            assert_eq!(txn.get(t, b"k").await.unwrap(), None);
            txn.put(t, b"k".to_vec(), b"v".to_vec());
            proxy.cut_at_next_commit();
            let r = txn.commit().await;
            assert!(
                matches!(r, Err(rustfs_meta::CommitError::Unknown(_))),
                "group_commit {group_commit}: {r:?}"
            );
            // The store carries on with new connections, and the commit did apply.
            assert_eq!(
                s.read_key(t, b"k").await.unwrap().as_deref(),
                Some(&b"v"[..]),
                "group_commit {group_commit}"
            );
        }
    }

    /// While the database cannot be reached, reads are `Unavailable` and commits fail with
    /// nothing applied (`Unavailable`), never a panic or a hang; once it is back the same
    /// store serves again by itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_database_is_unavailable_and_the_store_recovers() {
        let Some(server) = crate::pg_server::server() else {
            return;
        };
        let t = rustfs_meta::Table::Objects;
        for group_commit in [true, false] {
            let proxy = crate::pg_proxy::Proxy::start(server.port()).await;
            let url = proxy.url(&server.database().await, server.port());
            let s = open(&url, group_commit).await;
            let mut w = s.begin().await.unwrap();
            w.put(t, b"a".to_vec(), b"1".to_vec());
            w.commit().await.unwrap();
            proxy.set_down(true);
            let r = s.read_key(t, b"a").await;
            assert!(matches!(r, Err(MetaError::Unavailable(_))), "{r:?}");
            let mut txn = s.begin().await.unwrap();
            let r = txn.get(t, b"a").await;
            assert!(matches!(r, Err(MetaError::Unavailable(_))), "{r:?}");
            drop(txn);
            let mut txn = s.begin().await.unwrap();
            txn.put(t, b"b".to_vec(), b"2".to_vec());
            let r = txn.commit().await;
            assert!(
                matches!(
                    r,
                    Err(rustfs_meta::CommitError::Failed(MetaError::Unavailable(_)))
                ),
                "group_commit {group_commit}: {r:?}"
            );
            proxy.set_down(false);
            let mut txn = s.begin().await.unwrap();
            assert_eq!(txn.get(t, b"b").await.unwrap(), None, "nothing applied");
            txn.put(t, b"b".to_vec(), b"3".to_vec());
            txn.commit().await.unwrap();
            assert_eq!(
                s.read_key(t, b"b").await.unwrap().as_deref(),
                Some(&b"3"[..])
            );
        }
    }

    /// A large transaction commits on its own connection, beside the groups: against a
    /// grouped writer of the key it read, exactly one of the two commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_writer_and_a_grouped_writer_of_one_key_one_commits() {
        let Some(server) = crate::pg_server::server() else {
            return;
        };
        let s = open(&server.database().await, true).await;
        let t = rustfs_meta::Table::Objects;
        for round in 0..5u8 {
            let n = vec![b'n', round];
            let mut w = s.begin().await.unwrap();
            w.put(t, n.clone(), b"0".to_vec());
            w.commit().await.unwrap();
            let mut large = s.begin().await.unwrap();
            let mut small = s.begin().await.unwrap();
            assert!(large.get(t, &n).await.unwrap().is_some());
            assert!(small.get(t, &n).await.unwrap().is_some());
            large.put(t, n.clone(), b"large".to_vec());
            large.put(rustfs_meta::Table::Blobs, n.clone(), vec![7; 256 << 10]);
            small.put(t, n.clone(), b"small".to_vec());
            let before = s.group_stats().unwrap();
            let (rl, rs) = tokio::join!(large.commit(), small.commit());
            let after = s.group_stats().unwrap();
            assert_eq!(
                after.members - before.members,
                1,
                "only the small one grouped"
            );
            let won = match (&rl, &rs) {
                (Ok(()), Err(rustfs_meta::CommitError::Conflict)) => &b"large"[..],
                (Err(rustfs_meta::CommitError::Conflict), Ok(())) => &b"small"[..],
                _ => panic!("round {round}: {rl:?} {rs:?}"),
            };
            assert_eq!(s.read_key(t, &n).await.unwrap().as_deref(), Some(won));
        }
    }
}
