//! The transaction API every metadata backend implements.
//!
//! A [`Txn`] reads and writes through one handle. Whatever it reads joins its conflict set
//! without hand-written checks: a commit applies only if nothing the transaction read (a point
//! read, or the part of a range a scan actually visited) changed meanwhile, so committed
//! transactions are serializable. Reads see the transaction's own earlier writes. Writes are
//! buffered in the handle and sent at commit, which reports a typed outcome ([`CommitError`]):
//! a conflict (nothing applied; run it again, see [`crate::transact`]), a failure (nothing
//! applied) or an unknown outcome (it may or may not have applied).
//!
//! **What reads see.** Each read sees every commit acknowledged before it began. The reads of
//! one transaction are one consistent state *once it commits* (or once [`Txn::check_reads`]
//! said so): a backend may serve two reads of one transaction from two states (PostgreSQL's
//! batched reads do), and then its commit (or check) reports [`CommitError::Conflict`] and
//! [`crate::transact`] runs the body again. So a body must not act outside the transaction on
//! what it read before that verdict (it cannot anyway: its effects are its writes), and
//! `transact` checks a body's reads before handing back the error the body decided on them.
//!
//! Backends: [`crate::RedbStore`] (embedded; reads from a snapshot, commits its read set as
//! checks through the group committer) and [`crate::PgStore`] (PostgreSQL-wire, SERIALIZABLE).

use std::collections::BTreeMap;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::MetaError;
use crate::redb_store::ReplicaStatus;
use crate::store::{ScanStep, Table};

/// Why a commit did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Something the transaction read changed (or a concurrent transaction won a
    /// serialization conflict): nothing was applied. Run the transaction again.
    #[error("the transaction conflicted with a concurrent one; nothing was applied")]
    Conflict,
    /// The commit failed and nothing was applied (e.g. too few replicas online, the
    /// connection was lost before the commit was sent).
    #[error("commit failed, nothing was applied: {0}")]
    Failed(MetaError),
    /// The commit may or may not have applied (the connection broke during COMMIT, a quorum
    /// write reached only some replicas). Whatever it references must be kept until a later
    /// read tells.
    #[error("commit outcome unknown: {0}")]
    Unknown(MetaError),
}

/// The visitor of [`Txn::scan`]: sees each key and value, says what next.
pub type Visit<'v> = dyn FnMut(&[u8], &[u8]) -> ScanStep + Send + 'v;

/// One transaction. Dropping it without [`Txn::commit`] abandons it (nothing applies).
#[async_trait]
pub trait Txn: Send {
    /// Point read; sees this transaction's own earlier writes.
    async fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError>;

    /// Point reads of several keys at once (one round trip where the backend can), in the
    /// order given; as [`Txn::get`] of each.
    async fn get_many(
        &mut self,
        keys: &[(Table, &[u8])],
    ) -> Result<Vec<Option<Vec<u8>>>, MetaError> {
        let mut out = Vec::with_capacity(keys.len());
        for (t, k) in keys {
            out.push(self.get(*t, k).await?);
        }
        Ok(out)
    }

    /// Visits keys in `[start, end)` in byte order (an empty `end`: unbounded), this
    /// transaction's own writes included. The visitor steers: next, seek forward, or stop; only
    /// the part visited joins the conflict set.
    async fn scan(
        &mut self,
        table: Table,
        start: &[u8],
        end: &[u8],
        visit: &mut Visit<'_>,
    ) -> Result<(), MetaError>;

    /// Sets `key` to `value` (applied at commit).
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>);

    /// Removes `key` (applied at commit).
    fn delete(&mut self, table: Table, key: Vec<u8>);

    /// Removes every key in `[start, end)`; an empty `end` means unbounded.
    fn delete_range(&mut self, table: Table, start: Vec<u8>, end: Vec<u8>);

    /// Applies the writes atomically and durably if nothing read has changed. A transaction
    /// without writes commits at once if its reads were one consistent state (else
    /// [`CommitError::Conflict`], see the module doc).
    async fn commit(self: Box<Self>) -> Result<(), CommitError>;

    /// Ends the transaction without applying anything, saying whether its reads were one
    /// consistent state ([`CommitError::Conflict`] if not): for a body that decided on its
    /// reads to fail. The default says yes (backends reading from one snapshot).
    async fn check_reads(self: Box<Self>) -> Result<(), CommitError> {
        Ok(())
    }
}

/// Health and healing of a backend that keeps its own replicas (redb on every volume). A
/// database server replicates by itself and has none.
#[async_trait]
pub trait ReplicaControl: Send + Sync {
    /// Online state of each replica.
    fn replica_status(&self) -> Vec<ReplicaStatus>;
    /// Takes offline replicas whose storage vanished; returns how many.
    fn check_replicas(&self) -> usize;
    /// Rebuilds offline replicas whose storage is usable again; returns how many came back.
    async fn resync(&self) -> usize;
}

/// A metadata backend that runs transactions.
#[async_trait]
pub trait TxnStore: Send + Sync {
    /// Starts a transaction.
    async fn begin(&self) -> Result<Box<dyn Txn + '_>, MetaError>;

    /// The latest committed value of one key, read outside any transaction: for a request
    /// that reads this one key and nothing else (a GET or HEAD of a record). The read sees one
    /// committed state, at least every commit acknowledged before the call, and joins no
    /// conflict set. The default runs a read-only transaction; PostgreSQL overrides it with a
    /// statement shared with the reads arriving at the same time (no `BEGIN`/`COMMIT`). A
    /// single point read is serializable by itself (an anomaly needs a reader of two items),
    /// so this is as safe as the transaction it replaces.
    async fn read_key(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        let mut t = self.begin().await?;
        let v = t.get(table, key).await?;
        t.commit().await.map_err(|e| match e {
            CommitError::Conflict => MetaError::TxnConflict,
            CommitError::Failed(e) | CommitError::Unknown(e) => e,
        })?;
        Ok(v)
    }

    /// The latest committed values of several keys, read together outside any transaction
    /// from one consistent state (in the order given). The default runs a read-only
    /// transaction; PostgreSQL reads them with one statement.
    async fn read_keys(&self, keys: &[(Table, &[u8])]) -> Result<Vec<Option<Vec<u8>>>, MetaError> {
        let mut t = self.begin().await?;
        let v = t.get_many(keys).await?;
        t.commit().await.map_err(|e| match e {
            CommitError::Conflict => MetaError::TxnConflict,
            CommitError::Failed(e) | CommitError::Unknown(e) => e,
        })?;
        Ok(v)
    }

    /// `n` new version order ids (32 lower-case hex digits), unique and increasing across
    /// every process sharing the store, so an id drawn after reading a record orders after it
    /// (see `docs/format.md`).
    async fn order_ids(&self, n: usize) -> Result<Vec<String>, MetaError>;

    /// The replica capability, for backends that keep replicas themselves.
    fn replicas(&self) -> Option<&dyn ReplicaControl> {
        None
    }

    /// A short name of the backend (`redb`, `postgres`), for logs.
    fn backend(&self) -> &'static str;

    /// The largest object body (or part) kept in the store's blob table with its record
    /// instead of on the data volumes. The default suits an embedded store (the body shares
    /// the record's commit and sync); a shared database overrides it with less (see
    /// `docs/benchmarks.md`, "Inline bodies in PostgreSQL mode").
    fn inline_body_max(&self) -> usize {
        INLINE_BODY_MAX
    }
}

/// [`TxnStore::inline_body_max`]'s default: 128 KiB.
pub const INLINE_BODY_MAX: usize = 128 * 1024;

/// The digest a [`crate::Check::RangeDigest`] compares: SHA-256 over each pair in key order,
/// each part preceded by its length (u64 LE), so different contents cannot frame alike.
#[derive(Default)]
pub struct RangeDigest {
    hash: Sha256,
}

impl RangeDigest {
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        self.hash.update((key.len() as u64).to_le_bytes());
        self.hash.update(key);
        self.hash.update((value.len() as u64).to_le_bytes());
        self.hash.update(value);
    }

    pub fn finish(self) -> [u8; 32] {
        self.hash.finalize().into()
    }
}

/// The digest of a sequence of pairs (see [`RangeDigest`]).
pub fn range_digest<'a>(items: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> [u8; 32] {
    let mut d = RangeDigest::default();
    for (k, v) in items {
        d.add(k, v);
    }
    d.finish()
}

/// Whether `key` is in `[start, end)` (an empty `end`: unbounded).
pub(crate) fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    key >= start && (end.is_empty() || key < end)
}

/// The smallest key greater than `key`.
pub(crate) fn successor(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.extend_from_slice(key);
    k.push(0);
    k
}

/// A transaction's buffered writes to one table: the ranges deleted, then the keys written
/// after them (`None`: deleted). A range delete drops the entries it covers, so applying the
/// ranges first and the entries after gives the transaction's final effect.
#[derive(Debug, Default)]
pub(crate) struct TableWrites {
    pub ranges: Vec<(Vec<u8>, Vec<u8>)>,
    pub entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl TableWrites {
    fn deleted_by_range(&self, key: &[u8]) -> bool {
        self.ranges.iter().any(|(s, e)| in_range(key, s, e))
    }
}

/// What a transaction's own writes say about a key.
pub(crate) enum Local<'a> {
    Value(&'a [u8]),
    Deleted,
    /// Not written: read the store.
    Unwritten,
}

/// The write buffer of a transaction, readable for read-your-writes.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    pub tables: BTreeMap<Table, TableWrites>,
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    pub fn put(&mut self, t: Table, key: Vec<u8>, value: Vec<u8>) {
        self.tables
            .entry(t)
            .or_default()
            .entries
            .insert(key, Some(value));
    }

    pub fn delete(&mut self, t: Table, key: Vec<u8>) {
        self.tables.entry(t).or_default().entries.insert(key, None);
    }

    pub fn delete_range(&mut self, t: Table, start: Vec<u8>, end: Vec<u8>) {
        if !end.is_empty() && start >= end {
            return;
        }
        let w = self.tables.entry(t).or_default();
        w.entries.retain(|k, _| !in_range(k, &start, &end));
        w.ranges.push((start, end));
    }

    pub fn lookup(&self, t: Table, key: &[u8]) -> Local<'_> {
        let Some(w) = self.tables.get(&t) else {
            return Local::Unwritten;
        };
        match w.entries.get(key) {
            Some(Some(v)) => Local::Value(v),
            Some(None) => Local::Deleted,
            None if w.deleted_by_range(key) => Local::Deleted,
            None => Local::Unwritten,
        }
    }
}

/// Pages of the state a transaction reads under its own writes (a snapshot, or the database
/// inside the transaction).
#[async_trait]
pub(crate) trait Pages: Send {
    /// Up to `limit` pairs with keys in `[from, end)` (an empty `end`: unbounded), in order.
    async fn page(
        &mut self,
        table: Table,
        from: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, MetaError>;
}

/// First page of a scan; pages double up to [`MAX_PAGE`] while the visitor walks on, and
/// start small again after a seek past the page.
const FIRST_PAGE: usize = 16;
const MAX_PAGE: usize = 1024;

/// Scans `[start, end)` of `base` under the transaction's own writes, steered by `visit`.
/// Returns the intervals of `base` the scan covered (what a backend that validates reads
/// must check at commit): from the start or a seek target to the key where the visitor
/// sought or stopped (inclusive), or to `end`.
pub(crate) async fn merged_scan(
    base: &mut dyn Pages,
    overlay: &Overlay,
    table: Table,
    start: &[u8],
    end: &[u8],
    visit: &mut Visit<'_>,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, MetaError> {
    let mut covered = Vec::new();
    if !end.is_empty() && start >= end {
        return Ok(covered);
    }
    let writes = overlay.tables.get(&table);
    let mut pos = start.to_vec();
    let mut from = start.to_vec();
    let mut limit = FIRST_PAGE;
    loop {
        let page = base.page(table, &pos, end, limit).await?;
        let full = page.len() >= limit;
        // This round emits keys in [pos, upper): the base is complete there.
        let upper = match (full, page.last()) {
            (true, Some((k, _))) => successor(k),
            _ => end.to_vec(),
        };
        let locals: Vec<(&[u8], Option<&[u8]>)> = match writes {
            Some(w) => w
                .entries
                .range(pos.clone()..)
                .take_while(|(k, _)| upper.is_empty() || k.as_slice() < upper.as_slice())
                .map(|(k, v)| (k.as_slice(), v.as_deref()))
                .collect(),
            None => Vec::new(),
        };
        let mut bi = page.iter().peekable();
        let mut li = locals.into_iter().peekable();
        let mut skip_below: Option<Vec<u8>> = None;
        loop {
            let (k, v): (&[u8], Option<&[u8]>) = match (bi.peek(), li.peek()) {
                (None, None) => break,
                (Some(_), None) => {
                    let Some((k, v)) = bi.next() else { break };
                    (k, Some(v))
                }
                (None, Some(_)) => {
                    let Some(l) = li.next() else { break };
                    l
                }
                (Some((bk, _)), Some((lk, _))) => match bk.as_slice().cmp(lk) {
                    std::cmp::Ordering::Less => {
                        let Some((k, v)) = bi.next() else { break };
                        (k, Some(v))
                    }
                    std::cmp::Ordering::Greater => {
                        let Some(l) = li.next() else { break };
                        l
                    }
                    std::cmp::Ordering::Equal => {
                        bi.next();
                        let Some(l) = li.next() else { break };
                        l
                    }
                },
            };
            // A base key that the transaction's range deletes cover is gone (a key written
            // after the delete comes from `locals`, which win on ties).
            let v = match v {
                Some(v) if writes.is_some_and(|w| w.deleted_by_range(k)) => {
                    if writes.is_some_and(|w| w.entries.contains_key(k)) {
                        Some(v)
                    } else {
                        None
                    }
                }
                v => v,
            };
            let Some(v) = v else { continue };
            if skip_below.as_deref().is_some_and(|s| k < s) {
                continue;
            }
            match visit(k, v) {
                ScanStep::Next => {}
                ScanStep::Stop => {
                    covered.push((from, successor(k)));
                    return Ok(covered);
                }
                ScanStep::Seek(to) => {
                    if to.as_slice() > k {
                        covered.push((std::mem::take(&mut from), successor(k)));
                        if !end.is_empty() && to.as_slice() >= end {
                            return Ok(covered);
                        }
                        from.clone_from(&to);
                        skip_below = Some(to);
                    }
                }
            }
        }
        if !full {
            covered.push((from, end.to_vec()));
            return Ok(covered);
        }
        match skip_below {
            Some(s) if s > upper => {
                pos = s;
                limit = FIRST_PAGE;
            }
            _ => {
                pos = upper;
                limit = (limit * 2).min(MAX_PAGE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_delete_hides_earlier_writes_and_later_ones_win() {
        let mut o = Overlay::default();
        o.put(Table::Objects, b"a".to_vec(), b"1".to_vec());
        o.put(Table::Objects, b"c".to_vec(), b"1".to_vec());
        o.delete_range(Table::Objects, b"a".to_vec(), b"b".to_vec());
        assert!(matches!(o.lookup(Table::Objects, b"a"), Local::Deleted));
        assert!(matches!(o.lookup(Table::Objects, b"ab"), Local::Deleted));
        assert!(matches!(o.lookup(Table::Objects, b"c"), Local::Value(b"1")));
        assert!(matches!(o.lookup(Table::Objects, b"b"), Local::Unwritten));
        o.put(Table::Objects, b"a".to_vec(), b"2".to_vec());
        assert!(matches!(o.lookup(Table::Objects, b"a"), Local::Value(b"2")));
        // An empty range is no range.
        o.delete_range(Table::Objects, b"z".to_vec(), b"c".to_vec());
        assert!(matches!(o.lookup(Table::Objects, b"c"), Local::Value(b"1")));
    }

    #[test]
    fn digests_frame_their_parts() {
        let a = range_digest([(&b"ab"[..], &b"c"[..])]);
        let b = range_digest([(&b"a"[..], &b"bc"[..])]);
        assert_ne!(a, b);
        assert_eq!(a, range_digest([(&b"ab"[..], &b"c"[..])]));
    }
}
