//! A transaction: point reads through the batched reader or in a SERIALIZABLE transaction on
//! one pooled connection, writes buffered in the handle.
//!
//! Reads are merged with the transaction's buffered writes (read-your-writes without holding
//! row locks before commit), and every point read is remembered with the value it saw.
//!
//! **Where reads go.** With group commit (the default), a point read goes through the batched
//! reader ([`super::reader`]): one statement shared with every read arriving at the same time,
//! no connection held, no `BEGIN`. A scan needs a connection: it is taken from the pool at the
//! first scan and `BEGIN` is sent with the first page (one round trip); point reads after that
//! go to the same SQL transaction (its snapshot). Without group commit every read goes to the
//! SQL transaction.
//!
//! **Why this is serializable.** Reads through the reader may come from different snapshots
//! (each batch is its own statement), so before anything is reported the transaction's reads
//! are shown to be one consistent state, by comparing values:
//! - *with writes, grouped* (the default): the group committer ([`super::group`]) reads every
//!   point read again inside the group's `SERIALIZABLE` transaction and accepts the member
//!   only if each is unchanged (scanned intervals: the digest of their rows, read again in the
//!   transaction's own snapshot at commit, compared the same way). All reads then hold in the
//!   state the group commits on, so the member is serializable at that commit;
//! - *read-only, no scan*: one or no point read is consistent by itself; two or more are read
//!   again as **one** reader request (one statement, one snapshot S) and compared. If every
//!   value is unchanged, every read equals S's value, so the transaction saw S (an ABA change
//!   meanwhile does not matter: what it saw is exactly S's state); otherwise
//!   [`CommitError::Conflict`] and `transact` runs it again;
//! - *read-only with a scan*: the point reads made before the scan are read again inside the
//!   scan's SQL transaction, pipelined with its `COMMIT`, and compared: every read then equals
//!   the snapshot's value, and the `SERIALIZABLE` commit vouches for that snapshot;
//! - *with writes, committing on its own connection* (no group commit, or a transaction
//!   writing more than [`super::PgOptions::group_max_bytes`]): the point reads made through the
//!   reader are read again inside the SQL transaction (opened now if no scan did), compared,
//!   and then the writes and `COMMIT` are pipelined in one round trip; the database's
//!   serializable isolation decides over everything read in it;
//! - *a body that fails* (its error decided on its reads): [`Txn::check_reads`] runs the
//!   read-only check, so `transact` never returns an error decided on a torn state.
//!
//! A value compared equal is the same bytes, so a read that saw a key absent is unchanged only
//! if the key is still absent.

use std::collections::BTreeMap;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::group::{Committer, Member, Scanned};
use super::reader::Reader;
use super::statements::{BEGIN, COMMIT, Query, in_order, sql, write_and_commit};
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
    reader: &'s Reader,
    overlay: Overlay,
    /// Point reads that reached the database, with what they saw.
    reads: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
    /// Keys of `reads` read through the batched reader (not in the SQL transaction's
    /// snapshot): what must be shown consistent before anything is reported.
    batched: Vec<(Table, Vec<u8>)>,
    /// Intervals scans covered (group commit only).
    scans: Vec<(Table, Vec<u8>, Vec<u8>)>,
}

impl<'s> PgTxn<'s> {
    pub(crate) fn new(
        pool: &'s Pool,
        committer: Option<&'s Committer>,
        reader: &'s Reader,
    ) -> Self {
        Self {
            conn: Conn {
                pool,
                client: None,
                open: false,
                poisoned: None,
            },
            committer,
            reader,
            overlay: Overlay::default(),
            reads: BTreeMap::new(),
            batched: Vec::new(),
            scans: Vec::new(),
        }
    }

    /// Whether point reads go through the batched reader now: with group commit, until a scan
    /// opened the SQL transaction (then its snapshot serves them).
    fn reads_batched(&self) -> bool {
        self.committer.is_some() && !self.conn.open
    }

    /// Reads `keys` (none written or read before by this transaction) from the database and
    /// remembers what they saw.
    async fn fetch(
        &mut self,
        keys: Vec<(Table, Vec<u8>)>,
    ) -> Result<Vec<Option<Vec<u8>>>, MetaError> {
        let values = if self.reads_batched() {
            let values = self.reader.read(keys.clone()).await?;
            self.batched.extend(keys.iter().cloned());
            values
        } else {
            let mut values = Vec::with_capacity(keys.len());
            for (t, k) in &keys {
                let rows = self.conn.read(&sql(*t).get, &[k]).await?;
                values.push(match rows.first() {
                    Some(r) => Some(r.try_get::<_, Vec<u8>>(0).map_err(error)?),
                    None => None,
                });
            }
            values
        };
        for (key, v) in keys.into_iter().zip(&values) {
            self.reads.insert(key, v.clone());
        }
        Ok(values)
    }

    /// The batched reads' keys per table (for `get_many` statements).
    fn batched_by_table(&self) -> BTreeMap<Table, Vec<&[u8]>> {
        let mut by: BTreeMap<Table, Vec<&[u8]>> = BTreeMap::new();
        for (t, k) in &self.batched {
            by.entry(*t).or_default().push(k);
        }
        by
    }

    /// Whether each batched read still sees what it saw, given the rows now found for them.
    fn batched_unchanged(&self, now: &BTreeMap<(Table, Vec<u8>), Vec<u8>>) -> bool {
        self.batched.iter().all(|key| {
            self.reads
                .get(key)
                .is_some_and(|seen| now.get(key) == seen.as_ref())
        })
    }

    /// The batched reads read again inside the SQL transaction (opening it if needed);
    /// whether all are unchanged.
    async fn batched_unchanged_in_sql(&mut self) -> Result<bool, MetaError> {
        let by = self
            .batched_by_table()
            .into_iter()
            .map(|(t, ks)| (t, ks.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>()))
            .collect::<Vec<_>>();
        let mut now = BTreeMap::new();
        for (t, ks) in by {
            for r in self.conn.read(&sql(t).get_many, &[&ks]).await? {
                now.insert(
                    (t, r.try_get(0).map_err(error)?),
                    r.try_get(1).map_err(error)?,
                );
            }
        }
        Ok(self.batched_unchanged(&now))
    }

    /// Ends a transaction without applying writes, checking its reads were one consistent
    /// state (see the module doc): `COMMIT` of the SQL transaction if one is open (with the
    /// batched reads read again in it, pipelined), else the batched reads read again as one
    /// request when there are two or more.
    async fn finish_reads(&mut self) -> Result<(), CommitError> {
        if let Some(p) = self.conn.poisoned.clone() {
            return Err(match p {
                Poison::Conflict => CommitError::Conflict,
                p => CommitError::Failed(p.error()),
            });
        }
        if !self.conn.open {
            if self.batched.len() < 2 {
                return Ok(());
            }
            let values = self
                .reader
                .read(self.batched.clone())
                .await
                .map_err(|e| match e {
                    MetaError::TxnConflict => CommitError::Conflict,
                    e => CommitError::Failed(e),
                })?;
            let now = self
                .batched
                .iter()
                .cloned()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            return match self.batched_unchanged(&now) {
                true => Ok(()),
                false => Err(CommitError::Conflict),
            };
        }
        let by: Vec<(Table, Vec<Vec<u8>>)> = self
            .batched_by_table()
            .into_iter()
            .map(|(t, ks)| (t, ks.into_iter().map(<[u8]>::to_vec).collect()))
            .collect();
        let client = self.conn.client().await.map_err(CommitError::Failed)?;
        let prepared = async {
            let mut gets = Vec::with_capacity(by.len());
            for (t, _) in &by {
                gets.push(client.prepare_cached(&sql(*t).get_many).await?);
            }
            Ok::<_, tokio_postgres::Error>((gets, client.prepare_cached(COMMIT).await?))
        }
        .await;
        let results = match &prepared {
            Ok((gets, commit)) => {
                let mut queries: Vec<Query<'_>> = Vec::with_capacity(gets.len() + 1);
                for (st, (_, ks)) in gets.iter().zip(&by) {
                    queries.push(Box::pin(async move { client.query(st, &[ks]).await }));
                }
                queries.push(Box::pin(client.query(commit, &[])));
                Ok(in_order(queries).await)
            }
            Err(e) => Err(Poison::of(e)),
        };
        let mut now = BTreeMap::new();
        let mut failed = None;
        match results {
            Ok(results) => {
                // COMMIT ran (or the connection broke): the SQL transaction is over either way
                // unless a statement before it failed, which COMMIT then rolled back.
                self.conn.open = false;
                for (i, r) in results.into_iter().enumerate() {
                    match r {
                        Ok(rows) if i < by.len() => {
                            for row in rows {
                                match (row.try_get(0), row.try_get(1)) {
                                    (Ok(k), Ok(v)) => {
                                        now.insert((by[i].0, k), v);
                                    }
                                    (Err(e), _) | (_, Err(e)) => {
                                        failed.get_or_insert(Poison::of(&e));
                                    }
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            failed.get_or_insert(Poison::of(&e));
                        }
                    }
                }
            }
            Err(p) => failed = Some(p),
        }
        if let Some(p) = failed {
            let e = match &p {
                Poison::Conflict => CommitError::Conflict,
                p => CommitError::Failed(p.error()),
            };
            self.conn.poisoned = Some(p);
            return Err(e);
        }
        match self.batched_unchanged(&now) {
            true => Ok(()),
            false => Err(CommitError::Conflict),
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
        Ok(self
            .fetch(vec![(table, key.to_vec())])
            .await?
            .pop()
            .flatten())
    }

    /// The keys not answered by the transaction's own writes or earlier reads go to the
    /// database together (one reader request when reads are batched).
    async fn get_many(
        &mut self,
        keys: &[(Table, &[u8])],
    ) -> Result<Vec<Option<Vec<u8>>>, MetaError> {
        let mut out: Vec<Option<Option<Vec<u8>>>> = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for (t, k) in keys {
            out.push(match self.overlay.lookup(*t, k) {
                Local::Value(v) => Some(Some(v.to_vec())),
                Local::Deleted => Some(None),
                Local::Unwritten => match self.reads.get(&(*t, k.to_vec())) {
                    Some(seen) => Some(seen.clone()),
                    None => {
                        if !missing
                            .iter()
                            .any(|(mt, mk): &(Table, Vec<u8>)| mt == t && mk == k)
                        {
                            missing.push((*t, k.to_vec()));
                        }
                        None
                    }
                },
            });
        }
        if !missing.is_empty() {
            self.fetch(missing).await?;
        }
        Ok(keys
            .iter()
            .zip(out)
            .map(|((t, k), v)| match v {
                Some(v) => v,
                None => self.reads.get(&(*t, k.to_vec())).cloned().flatten(),
            })
            .collect())
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
            return self.finish_reads().await;
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
                // Reads made through the batched reader join the SQL transaction first.
                if !self.batched.is_empty() {
                    match self.batched_unchanged_in_sql().await {
                        Ok(true) => {}
                        Ok(false) | Err(MetaError::TxnConflict) => {
                            return Err(CommitError::Conflict);
                        }
                        Err(e) => return Err(CommitError::Failed(e)),
                    }
                }
                let begin = !self.conn.open;
                let client = self.conn.client().await.map_err(CommitError::Failed)?;
                let began = std::time::Instant::now();
                let result = write_and_commit(client, begin, &overlay).await;
                crate::commit_metrics::group_committed("postgres", began.elapsed(), 1);
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

    async fn check_reads(mut self: Box<Self>) -> Result<(), CommitError> {
        self.finish_reads().await
    }
}
