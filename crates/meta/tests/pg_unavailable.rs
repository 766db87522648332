//! The PostgreSQL backend under a database that stops serving: a session ended by the server
//! while a statement runs (what `pg_ctl stop -m fast` does to every busy session, sent here
//! with `pg_terminate_backend`: SQLSTATE 57P01 `admin_shutdown`) is
//! [`MetaError::Unavailable`] (the S3 edge answers 503), not a storage error (500), on every
//! path: a read in a transaction, a read outside one, and the writes of a commit. A real
//! server (`src/pg_server.rs`); skipped without PostgreSQL except under `CI=true`.

#[path = "../src/pg_server.rs"]
mod pg_server;

use std::time::Duration;

use rustfs_meta::{CommitError, MetaError, PgStore, Table, TxnStore};
use tokio_postgres::{Client, NoTls};

async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test server");
    tokio::spawn(conn);
    client
}

/// Holds an `ACCESS EXCLUSIVE` lock on `rustfs_objects` (every statement on it waits) until
/// the returned client rolls back or is dropped.
async fn lock_objects(url: &str) -> Client {
    let locker = connect(url).await;
    locker
        .batch_execute("BEGIN; LOCK TABLE rustfs_objects IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock the table");
    locker
}

/// Waits (bounded) for a session of this database blocked on the lock, then ends it as a
/// fast shutdown would. Returns how many sessions were ended.
async fn terminate_the_waiting_session(admin: &Client) -> i64 {
    for _ in 0..400 {
        let row = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' \
                 AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .expect("terminate");
        let n: i64 = row.get(0);
        if n > 0 {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no session waited on the lock within 10 s");
}

async fn setup() -> Option<(String, PgStore, Client)> {
    let server = pg_server::server()?;
    let url = server.database().await;
    let store = PgStore::open(&url).await.expect("open the store");
    let admin = connect(&url).await;
    Some((url, store, admin))
}

fn assert_unavailable(e: &MetaError, what: &str) {
    assert!(
        matches!(e, MetaError::Unavailable(_)),
        "{what}: a session ended by the server must be Unavailable, got {e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_in_a_transaction_whose_session_is_ended_is_unavailable() {
    let Some((url, store, admin)) = setup().await else {
        return;
    };
    let locker = lock_objects(&url).await;
    let read = async {
        let mut txn = store.begin().await.expect("begin");
        txn.get(Table::Objects, b"key").await
    };
    let (result, ended) = tokio::join!(read, terminate_the_waiting_session(&admin));
    assert_eq!(ended, 1);
    assert_unavailable(&result.expect_err("the read fails"), "Txn::get");
    drop(locker);
    // The store serves again with a fresh connection.
    let mut txn = store.begin().await.expect("begin");
    assert_eq!(txn.get(Table::Objects, b"key").await.expect("read"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_outside_a_transaction_whose_session_is_ended_is_unavailable() {
    let Some((url, store, admin)) = setup().await else {
        return;
    };
    let locker = lock_objects(&url).await;
    let (result, ended) = tokio::join!(
        store.read_key(Table::Objects, b"key"),
        terminate_the_waiting_session(&admin)
    );
    assert_eq!(ended, 1);
    assert_unavailable(&result.expect_err("the read fails"), "read_key");
    drop(locker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_session_is_ended_during_its_writes_failed_unavailable() {
    let Some((url, store, admin)) = setup().await else {
        return;
    };
    let locker = lock_objects(&url).await;
    let commit = async {
        let mut txn = store.begin().await.expect("begin");
        txn.put(Table::Objects, b"key".to_vec(), b"value".to_vec());
        txn.commit().await
    };
    let (result, ended) = tokio::join!(commit, terminate_the_waiting_session(&admin));
    assert_eq!(ended, 1);
    // The write was refused before COMMIT ran: nothing applied, and the database is
    // unavailable (not a storage error, not an unknown outcome).
    match result {
        Err(CommitError::Failed(e)) => assert_unavailable(&e, "commit"),
        other => panic!("expected Failed(Unavailable), got {other:?}"),
    }
    drop(locker);
    let mut txn = store.begin().await.expect("begin");
    assert_eq!(txn.get(Table::Objects, b"key").await.expect("read"), None);
}
