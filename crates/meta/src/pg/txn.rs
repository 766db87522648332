//! A transaction: reads in a SERIALIZABLE transaction on one pooled connection, writes
//! buffered in the handle.
//!
//! The connection is taken from the pool at the first read (a transaction that only writes
//! never holds one), and `BEGIN` is sent with that read (one round trip). Reads are merged
//! with the transaction's buffered writes (read-your-writes without holding row locks before
//! commit). A transaction without writes commits its read transaction (`SERIALIZABLE`, so even
//! a read-only transaction sees a state some serial order of the commits produced).
//!
//! A transaction with writes commits in one of two ways ([`super::PgOptions::group_commit`]):
//! - **grouped** (the default): every point read is remembered with the value it saw and every
//!   scanned interval too (as redb does; at commit the interval is read again in the same
//!   snapshot for the digest of its rows, so read-only listings never hash); the read
//!   transaction is rolled back (it wrote nothing) and the reads and writes go to the group committer
//!   ([`super::group`]), which validates them inside one `SERIALIZABLE` transaction shared with
//!   the transactions committing at the same time;
//! - **direct** (without group commit, and for a transaction writing more than
//!   [`super::PgOptions::group_max_bytes`]): `BEGIN` (if no read came first), the writes and
//!   `COMMIT` are pipelined in one
//!   round trip on the transaction's own connection, and the database's serializable isolation
//!   decides.

use std::collections::BTreeMap;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::group::{Committer, Member, Scanned};
use super::statements::{BEGIN, in_order, sql, write_and_commit};
use super::{error, is_conflict, is_unavailable};
use crate::MetaError;
use crate::store::Table;
use crate::txn::{CommitError, Local, Overlay, Pages, RangeDigest, Txn, Visit, merged_scan};

/// Why the SQL transaction can no longer commit.
#[derive(Debug, Clone)]
enum Poison {
    Conflict,
    Failed(String),
    Lost(String),
}

impl Poison {
    fn of(e: &tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if is_conflict(db.code()) => Poison::Conflict,
            Some(db) if is_unavailable(db.code()) => Poison::Lost(e.to_string()),
            Some(_) => Poison::Failed(e.to_string()),
            None => Poison::Lost(e.to_string()),
        }
    }

    fn error(&self) -> MetaError {
        match self {
            Poison::Conflict => MetaError::TxnConflict,
            Poison::Failed(m) => MetaError::Storage(m.clone()),
            Poison::Lost(m) => MetaError::Unavailable(m.clone()),
        }
    }
}

/// The connection (once taken) and the state of the SQL transaction on it.
struct Conn<'s> {
    pool: &'s Pool,
    client: Option<Object>,
    /// `BEGIN` was sent and no `COMMIT`/`ROLLBACK` yet.
    open: bool,
    poisoned: Option<Poison>,
}

impl Conn<'_> {
    /// The connection, taken from the pool at the first use.
    async fn client(&mut self) -> Result<&Object, MetaError> {
        if self.client.is_none() {
            self.client = Some(super::take(self.pool).await?);
        }
        self.client.as_ref().ok_or(MetaError::Closed)
    }

    /// One read inside the transaction (with `BEGIN` ahead of it when not begun).
    async fn read(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, MetaError> {
        if let Some(p) = &self.poisoned {
            return Err(p.error());
        }
        let open = self.open;
        let client = self.client().await?;
        let result = match client.prepare_cached(sql).await {
            Err(e) => Err(e),
            Ok(stmt) if open => client.query(&stmt, params).await,
            Ok(stmt) => match client.prepare_cached(BEGIN).await {
                Err(e) => Err(e),
                Ok(begin) => {
                    let mut r = in_order(vec![
                        Box::pin(client.query(&begin, &[])),
                        Box::pin(client.query(&stmt, params)),
                    ])
                    .await
                    .into_iter();
                    self.open = true;
                    match (r.next(), r.next()) {
                        (Some(Ok(_)), Some(read)) => read,
                        (Some(Err(e)), _) => Err(e),
                        _ => return Err(MetaError::Closed),
                    }
                }
            },
        };
        result.map_err(|e| {
            let p = Poison::of(&e);
            self.poisoned = Some(p.clone());
            p.error()
        })
    }

    /// Ends the read transaction (rolled back: it wrote nothing) and hands the connection back
    /// to the pool, without waiting for the database's answer. A connection that cannot be
    /// rolled back is dropped instead.
    fn release(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if matches!(self.poisoned, Some(Poison::Lost(_))) {
            // Broken (the server ended the session, the socket failed): never handed out
            // again. The pool's own check only sees a closed socket once the connection task
            // has noticed, which may be after this connection is back in the pool.
            self.open = false;
            drop(Object::take(client));
            return;
        }
        if !std::mem::take(&mut self.open) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
}

#[async_trait]
impl Pages for Conn<'_> {
    async fn page(
        &mut self,
        table: Table,
        from: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, MetaError> {
        let limit = limit as i64;
        let rows = if end.is_empty() {
            self.read(&sql(table).page_open, &[&from, &limit]).await?
        } else {
            self.read(&sql(table).page, &[&from, &end, &limit]).await?
        };
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(error)
    }
}

pub(crate) struct PgTxn<'s> {
    conn: Conn<'s>,
    /// `None`: commit directly on the transaction's connection.
    committer: Option<&'s Committer>,
    overlay: Overlay,
    /// Point reads that reached the database, with what they saw.
    reads: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
    /// Intervals scans covered (group commit only).
    scans: Vec<(Table, Vec<u8>, Vec<u8>)>,
}

impl<'s> PgTxn<'s> {
    pub(crate) fn new(pool: &'s Pool, committer: Option<&'s Committer>) -> Self {
        Self {
            conn: Conn {
                pool,
                client: None,
                open: false,
                poisoned: None,
            },
            committer,
            overlay: Overlay::default(),
            reads: BTreeMap::new(),
            scans: Vec::new(),
        }
    }

    /// Each scanned interval with the digest of its rows, read again in the transaction's
    /// snapshot (so they are the rows the scan saw). Only a transaction that writes pays for
    /// this, at commit: a read-only listing neither keeps nor hashes what it read.
    async fn digested_scans(&mut self) -> Result<Vec<Scanned>, MetaError> {
        let unlimited = i64::MAX;
        let mut out = Vec::with_capacity(self.scans.len());
        for (t, s, e) in std::mem::take(&mut self.scans) {
            let rows = if e.is_empty() {
                self.conn.read(&sql(t).page_open, &[&s, &unlimited]).await?
            } else {
                self.conn.read(&sql(t).page, &[&s, &e, &unlimited]).await?
            };
            let mut d = RangeDigest::default();
            for r in &rows {
                let (k, v): (&[u8], &[u8]) =
                    (r.try_get(0).map_err(error)?, r.try_get(1).map_err(error)?);
                d.add(k, v);
            }
            out.push((t, s, e, d.finish()));
        }
        Ok(out)
    }
}

impl Drop for PgTxn<'_> {
    /// An abandoned transaction is rolled back before its connection goes back to the pool
    /// (or the connection is dropped when that cannot be done).
    fn drop(&mut self) {
        self.conn.release();
    }
}

#[async_trait]
impl Txn for PgTxn<'_> {
    async fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        match self.overlay.lookup(table, key) {
            Local::Value(v) => return Ok(Some(v.to_vec())),
            Local::Deleted => return Ok(None),
            Local::Unwritten => {}
        }
        if let Some(seen) = self.reads.get(&(table, key.to_vec())) {
            return Ok(seen.clone());
        }
        let rows = self.conn.read(&sql(table).get, &[&key]).await?;
        let v = match rows.first() {
            Some(r) => Some(r.try_get::<_, Vec<u8>>(0).map_err(error)?),
            None => None,
        };
        self.reads.insert((table, key.to_vec()), v.clone());
        Ok(v)
    }

    async fn scan(
        &mut self,
        table: Table,
        start: &[u8],
        end: &[u8],
        visit: &mut Visit<'_>,
    ) -> Result<(), MetaError> {
        let covered = merged_scan(&mut self.conn, &self.overlay, table, start, end, visit).await?;
        if self.committer.is_some() {
            self.scans
                .extend(covered.into_iter().map(|(s, e)| (table, s, e)));
        }
        Ok(())
    }

    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.overlay.put(table, key, value);
    }

    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.overlay.delete(table, key);
    }

    fn delete_range(&mut self, table: Table, start: Vec<u8>, end: Vec<u8>) {
        self.overlay.delete_range(table, start, end);
    }

    async fn commit(mut self: Box<Self>) -> Result<(), CommitError> {
        if let Some(p) = self.conn.poisoned.clone() {
            // Drop rolls the aborted transaction back.
            return Err(match p {
                Poison::Conflict => CommitError::Conflict,
                p => CommitError::Failed(p.error()),
            });
        }
        let overlay = std::mem::take(&mut self.overlay);
        if overlay.is_empty() {
            if !self.conn.open {
                return Ok(());
            }
            // A read-only transaction: COMMIT, so SERIALIZABLE vouches for what it read.
            let client = self.conn.client().await.map_err(CommitError::Failed)?;
            let result = write_and_commit(client, false, &overlay).await;
            // See below.
            self.conn.open = result.is_err();
            return result;
        }
        match self.committer.filter(|c| c.takes(&overlay)) {
            Some(committer) => {
                let scans = match self.digested_scans().await {
                    Ok(s) => s,
                    Err(MetaError::TxnConflict) => return Err(CommitError::Conflict),
                    Err(e) => return Err(CommitError::Failed(e)),
                };
                self.conn.release();
                committer
                    .commit(Member {
                        reads: std::mem::take(&mut self.reads),
                        scans,
                        overlay,
                    })
                    .await
            }
            None => {
                let begin = !self.conn.open;
                let client = self.conn.client().await.map_err(CommitError::Failed)?;
                let result = write_and_commit(client, begin, &overlay).await;
                if let Err(
                    CommitError::Unknown(MetaError::Unavailable(m))
                    | CommitError::Failed(MetaError::Unavailable(m)),
                ) = &result
                {
                    // The connection is broken: releasing it discards it.
                    self.conn.poisoned = Some(Poison::Lost(m.clone()));
                }
                // COMMIT ended the transaction. After a failure it may not have been sent (a
                // statement could not be prepared): dropping the handle rolls back before the
                // connection goes back to the pool (only a warning if nothing is open, and a
                // broken connection is dropped instead).
                self.conn.open = result.is_err();
                result
            }
        }
    }
}
