//! The PostgreSQL-wire backend: metadata in a database server (PostgreSQL, or CockroachDB /
//! YugabyteDB with the same SQL), the commit point shared by every process using it.
//!
//! Client: `tokio-postgres` with `deadpool-postgres` pools, prepared statements cached per
//! connection, and pipelining: statements that do not need each other's answers go out
//! together (`BEGIN` with a scan's first page; the writes with `COMMIT`). Point reads and
//! order-id draws that arrive together share one statement ([`reader`]), so reads never queue
//! one per connection; a scan reads on a pooled connection of its own. Transactions that write
//! commit through the group committer ([`group`]): those committing at the same time share one
//! `SERIALIZABLE` transaction in which each one's reads are checked, so they share round trips
//! and the WAL flush while a conflict of one fails only that one. Transactions are
//! `SERIALIZABLE`; a serialization failure (40001) or a deadlock (40P01) is a conflict, which
//! [`crate::transact`] retries. Only a portable SQL subset is used (see `docs/format.md`): no
//! advisory locks, no LISTEN/NOTIFY, no stored procedures.

mod group;
mod reader;
mod schema;
mod statements;
mod tls;
mod txn;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use crate::MetaError;
use crate::store::Table;
use crate::txn::{Txn, TxnStore};

pub use group::GroupStats;
pub use schema::SCHEMA_VERSION;

/// Settings of [`PgStore::open_with`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections kept open for transactions reading in SQL (scanning, or reading at
    /// all without group commit; the group committer has one more of its own and the batched
    /// reader `read_batches`). 16 by default. Without group commit it is also the
    /// number of commits in flight: enough to share each WAL flush, few enough that
    /// SERIALIZABLE's page-granular predicate locks do not make concurrent inserts into one
    /// fresh key range abort each other over and over (32 tripled the retries of a PUT-like
    /// transaction). With group commit 8, 16 and 32 measured alike (`docs/benchmarks.md`).
    pub pool_size: usize,
    /// Longest wait for a free connection before a request fails as unavailable.
    pub wait_timeout: Duration,
    /// Commit writing transactions through the group committer (one shared transaction per
    /// group, on a connection of its own besides `pool_size`). `false`: each transaction
    /// commits on its own connection (kept for comparison; see `docs/benchmarks.md`).
    pub group_commit: bool,
    /// Most transactions in one group.
    pub max_group: usize,
    /// A transaction writing more than this (keys and values) commits on its own connection,
    /// not in a group: one connection carries all of a group's bytes, so a large write would
    /// hold up every transaction grouped with it, while large writes on their own connections
    /// go in parallel. 32 KiB by default (see `docs/benchmarks.md`).
    pub group_max_bytes: usize,
    /// Batches of point reads (and order-id draws) in flight at once, each on a connection of
    /// the reader's own (see [`reader`]). 2 by default: fewer batches out means larger ones
    /// and less CPU per read (at 64 concurrent GETs, 1 and 2 measured alike, 4 used ~20% more
    /// server CPU per GET, 8 and 16 far more; see `docs/benchmarks.md`), and two keep one slow
    /// batch (a large inline body) from holding up every read.
    pub read_batches: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            wait_timeout: Duration::from_secs(30),
            group_commit: true,
            max_group: 64,
            group_max_bytes: 32 << 10,
            read_batches: 2,
        }
    }
}

/// The PostgreSQL-backed [`TxnStore`].
pub struct PgStore {
    pool: Pool,
    committer: Option<group::Committer>,
    reader: reader::Reader,
}

/// A connection from `pool`; failing to get one is `Unavailable`.
pub(crate) async fn take(pool: &Pool) -> Result<Object, MetaError> {
    pool.get()
        .await
        .map_err(|e| MetaError::Unavailable(format!("metadata database: {e}")))
}

/// Whether a database error is a lost serialization conflict.
pub(crate) fn is_conflict(code: &SqlState) -> bool {
    *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
}

/// Whether a database error says the server cannot serve now rather than that the statement
/// is wrong: a connection exception (class 08), insufficient resources (class 53: too many
/// connections, out of memory or disk), or the server shutting down, crashed or starting up
/// (57P01 `admin_shutdown`, what `pg_ctl stop -m fast` and `pg_terminate_backend` send to a
/// busy session; 57P02, 57P03, 57P05). The request may succeed later: it is unavailable
/// (503), not an internal error.
pub(crate) fn is_unavailable(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08") || c.starts_with("53") || matches!(c, "57P01" | "57P02" | "57P03" | "57P05")
}

/// Maps a client error: a lost conflict, a database error, or the connection failing.
pub(crate) fn error(e: tokio_postgres::Error) -> MetaError {
    match e.as_db_error() {
        Some(db) if is_conflict(db.code()) => MetaError::TxnConflict,
        _ => error_ref(&e),
    }
}

/// A client error as a storage or availability error (the caller decides what a conflict
/// means at its step): the server cannot serve now, a refused statement, or the connection
/// failing.
pub(crate) fn error_ref(e: &tokio_postgres::Error) -> MetaError {
    match e.as_db_error() {
        Some(db) if is_unavailable(db.code()) => MetaError::Unavailable(format!(
            "database error {}: {}",
            db.code().code(),
            db.message()
        )),
        Some(db) => MetaError::Storage(format!(
            "database error {}: {}",
            db.code().code(),
            db.message()
        )),
        None => MetaError::Unavailable(e.to_string()),
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://USER:PASS@HOST:PORT/DB[?sslmode=...]`), creating or
    /// migrating the schema.
    pub async fn open(url: &str) -> Result<Self, MetaError> {
        Self::open_with(url, PgOptions::default()).await
    }

    pub async fn open_with(url: &str, options: PgOptions) -> Result<Self, MetaError> {
        let target = tls::parse(url)?;
        let build = |size: usize| {
            let manager_config = ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            };
            let manager = match &target.tls {
                None => Manager::from_config(target.config.clone(), NoTls, manager_config),
                Some(c) => Manager::from_config(
                    target.config.clone(),
                    tokio_postgres_rustls::MakeRustlsConnect::new(c.clone()),
                    manager_config,
                ),
            };
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(options.wait_timeout))
                .create_timeout(Some(Duration::from_secs(10)))
                .recycle_timeout(Some(Duration::from_secs(5)))
                .build()
                .map_err(|e| MetaError::Storage(format!("database pool: {e}")))
        };
        let pool = build(options.pool_size.max(1))?;
        schema::migrate(&take(&pool).await?).await?;
        let committer = match options.group_commit {
            true => Some(group::Committer::start(
                build(1)?,
                options.max_group,
                options.group_max_bytes,
            )),
            false => None,
        };
        let reader =
            reader::Reader::start(build(options.read_batches.max(1))?, options.read_batches);
        Ok(Self {
            pool,
            committer,
            reader,
        })
    }

    /// The group committer's counters; `None` without group commit.
    pub fn group_stats(&self) -> Option<GroupStats> {
        self.committer.as_ref().map(group::Committer::stats)
    }
}

#[async_trait]
impl TxnStore for PgStore {
    async fn begin(&self) -> Result<Box<dyn Txn + '_>, MetaError> {
        Ok(Box::new(txn::PgTxn::new(
            &self.pool,
            self.committer.as_ref(),
            &self.reader,
        )))
    }

    /// Through the batched reader ([`reader`]): one statement shared with the reads that
    /// arrive at the same time, outside any explicit transaction, its snapshot taken after
    /// this call began (so it sees every commit acknowledged before).
    async fn read_key(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        let mut v = self.reader.read(vec![(table, key.to_vec())]).await?;
        Ok(v.pop().flatten())
    }

    /// Several keys from one snapshot: one request to the batched reader.
    async fn read_keys(&self, keys: &[(Table, &[u8])]) -> Result<Vec<Option<Vec<u8>>>, MetaError> {
        self.reader
            .read(keys.iter().map(|(t, k)| (*t, k.to_vec())).collect())
            .await
    }

    /// Drawn from one SEQUENCE through the batched reader (draws arriving together share one
    /// `nextval ... generate_series` statement): unique and increasing across every process
    /// sharing the database (a sequence is not transactional, so drawing never conflicts).
    async fn order_ids(&self, n: usize) -> Result<Vec<String>, MetaError> {
        let ids = self.reader.order_ids(n).await?;
        Ok(ids.into_iter().map(crate::order::order_id).collect())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    /// 4 KiB: a larger body costs the one database every node shares far more than a data
    /// file costs a volume (TOAST rows, WAL; figures in `docs/benchmarks.md`).
    fn inline_body_max(&self) -> usize {
        PG_INLINE_BODY_MAX
    }
}

/// [`PgStore`]'s [`TxnStore::inline_body_max`].
pub const PG_INLINE_BODY_MAX: usize = 4 * 1024;
