//! The group committer: transactions that commit at the same time share one `SERIALIZABLE`
//! transaction, so they share its round trips and its WAL flush, while each keeps its own
//! outcome.
//!
//! A member arrives with its read set (point reads with the value seen, scanned intervals with
//! the digest of the rows seen; read through the batched reader, scans in the member's own,
//! since rolled back, transaction) and
//! its buffered writes. One task takes whatever members are waiting (up to
//! [`super::PgOptions::max_group`]) and, on one connection:
//! 1. sends `BEGIN` and re-reads every member's read set inside the group's transaction, all
//!    pipelined in one round trip (one `SELECT ... = ANY` per table for the point reads, one
//!    range `SELECT` per scanned interval);
//! 2. in member order, accepts a member if everything it read is unchanged in the database and
//!    untouched by the writes of the members accepted before it (conservatively: any write to
//!    a key it read or into an interval it scanned); the others get [`CommitError::Conflict`]
//!    (nothing of theirs applies; `transact` runs them again);
//! 3. sends the accepted members' writes, merged in member order, and `COMMIT` in one round
//!    trip.
//!
//! Each accepted member's reads hold at the group's commit and its writes apply there, so it
//! is serializable at that point; the group transaction being `SERIALIZABLE` itself, with the
//! re-reads in its read set, keeps this true against other processes sharing the database. A
//! member without reads skips step 1 (`BEGIN`, writes and `COMMIT` go in one round trip).
//! Outcomes: a serialization failure of the group's transaction is a `Conflict` for every
//! member; a connection lost before `COMMIT` was sent is `Failed` (`Unavailable`), during it
//! `Unknown`; a statement the database refuses (not a conflict) runs each accepted member
//! again alone, so one member's bad write fails only that member.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::{Object, Pool};
use tokio::sync::{mpsc, oneshot};

use super::error_ref;
use super::is_conflict;
use super::statements::{BEGIN, Query, in_order, sql, write_and_commit};
use crate::MetaError;
use crate::store::Table;
use crate::txn::{CommitError, Local, Overlay, RangeDigest, in_range};

/// Values and keys a group carries at most (besides [`super::PgOptions::max_group`]): a
/// bound on the memory and the size of one transaction.
const MAX_GROUP_BYTES: usize = 16 << 20;

/// A scanned interval `[start, end)` of a table (an empty end: unbounded) and the digest of
/// the rows the scan saw there.
pub(crate) type Scanned = (Table, Vec<u8>, Vec<u8>, [u8; 32]);

/// A transaction handed to the group committer.
pub(crate) struct Member {
    pub reads: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
    pub scans: Vec<Scanned>,
    pub overlay: Overlay,
}

/// The bytes (keys and values) a transaction writes.
pub(crate) fn written_bytes(overlay: &Overlay) -> usize {
    overlay
        .tables
        .values()
        .map(|w| {
            w.entries
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                .sum::<usize>()
        })
        .sum()
}

impl Member {
    fn bytes(&self) -> usize {
        written_bytes(&self.overlay)
    }
}

struct Pending {
    member: Member,
    done: oneshot::Sender<Result<(), CommitError>>,
}

/// Counters of the group committer (see [`super::PgStore::group_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Groups run.
    pub groups: u64,
    /// Transactions committed or refused in them.
    pub members: u64,
    /// Groups in which some members were refused for a conflict and others committed.
    pub split: u64,
}

#[derive(Default)]
struct Counters {
    groups: AtomicU64,
    members: AtomicU64,
    split: AtomicU64,
}

/// The handle transactions commit through; the task ends when the store is dropped.
pub(crate) struct Committer {
    tx: mpsc::UnboundedSender<Pending>,
    counters: Arc<Counters>,
    max_member_bytes: usize,
}

impl Committer {
    /// Starts the committer task on the current runtime; `pool` is its own (one connection).
    pub(crate) fn start(pool: Pool, max_group: usize, max_member_bytes: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(pool, rx, max_group.max(1), counters.clone()));
        Self {
            tx,
            counters,
            max_member_bytes,
        }
    }

    /// Whether a transaction writing `overlay` joins a group (else it commits on its own).
    pub(crate) fn takes(&self, overlay: &Overlay) -> bool {
        written_bytes(overlay) <= self.max_member_bytes
    }

    pub(crate) fn stats(&self) -> GroupStats {
        let c = &self.counters;
        GroupStats {
            groups: c.groups.load(Ordering::Relaxed),
            members: c.members.load(Ordering::Relaxed),
            split: c.split.load(Ordering::Relaxed),
        }
    }

    pub(crate) async fn commit(&self, member: Member) -> Result<(), CommitError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending { member, done })
            .map_err(|_| CommitError::Failed(MetaError::Closed))?;
        // The task gone with the member taken: whether it committed is unknown.
        wait.await
            .unwrap_or(Err(CommitError::Unknown(MetaError::Closed)))
    }
}

async fn run(
    pool: Pool,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    max_group: usize,
    counters: Arc<Counters>,
) {
    while let Some(first) = rx.recv().await {
        let mut bytes = first.member.bytes();
        let mut group = vec![first];
        while group.len() < max_group && bytes < MAX_GROUP_BYTES {
            match rx.try_recv() {
                Ok(p) => {
                    bytes += p.member.bytes();
                    group.push(p);
                }
                Err(_) => break,
            }
        }
        let members: Vec<&Member> = group.iter().map(|p| &p.member).collect();
        let began = std::time::Instant::now();
        let outcomes = commit_group(&pool, &members).await;
        crate::commit_metrics::group_committed("postgres", began.elapsed(), members.len());
        let ok = outcomes.iter().filter(|o| o.is_ok()).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Err(CommitError::Conflict)))
            .count();
        counters.groups.fetch_add(1, Ordering::Relaxed);
        counters
            .members
            .fetch_add(outcomes.len() as u64, Ordering::Relaxed);
        if ok > 0 && refused > 0 {
            counters.split.fetch_add(1, Ordering::Relaxed);
        }
        for (p, o) in group.into_iter().zip(outcomes) {
            let _ = p.done.send(o);
        }
    }
}

/// A copy of an outcome for each member sharing it.
fn dup(e: &CommitError) -> CommitError {
    let m = |e: &MetaError| match e {
        MetaError::Unavailable(s) => MetaError::Unavailable(s.clone()),
        MetaError::Closed => MetaError::Closed,
        e => MetaError::Storage(e.to_string()),
    };
    match e {
        CommitError::Conflict => CommitError::Conflict,
        CommitError::Failed(e) => CommitError::Failed(m(e)),
        CommitError::Unknown(e) => CommitError::Unknown(m(e)),
    }
}

/// Ends an open transaction on `client` before it goes back to the pool (or drops the
/// connection when that fails).
async fn rollback(client: Object) {
    if client.batch_execute("ROLLBACK").await.is_err() {
        drop(Object::take(client));
    }
}

async fn commit_group(pool: &Pool, members: &[&Member]) -> Vec<Result<(), CommitError>> {
    let all = |e: CommitError| members.iter().map(|_| Err(dup(&e))).collect();
    let client = match super::take(pool).await {
        Ok(c) => c,
        Err(e) => return all(CommitError::Failed(e)),
    };
    let (unchanged, begun) = match validate(&client, members).await {
        Ok(v) => v,
        Err(e) => {
            rollback(client).await;
            return all(e);
        }
    };
    let mut writes = Overlay::default();
    let accepted: Vec<bool> = members
        .iter()
        .zip(unchanged)
        .map(|(m, unchanged)| {
            let ok = unchanged && !touches(&writes, m);
            if ok {
                merge(&mut writes, &m.overlay);
            }
            ok
        })
        .collect();
    let n = accepted.iter().filter(|a| **a).count();
    let result = if n == 0 {
        if begun {
            rollback(client).await;
        }
        Err(CommitError::Conflict)
    } else {
        let r = write_and_commit(&client, !begun, &writes).await;
        if r.is_err() {
            // A failure before COMMIT was sent leaves the transaction open: end it before the
            // connection goes back (after COMMIT, a ROLLBACK is only a warning).
            rollback(client).await;
        } else {
            drop(client);
        }
        if n > 1 && matches!(&r, Err(CommitError::Failed(MetaError::Storage(_)))) {
            // The database refused a statement (not a conflict, not the connection): find
            // whose by committing each accepted member alone.
            let mut out = Vec::with_capacity(members.len());
            for (m, a) in members.iter().zip(&accepted) {
                out.push(match a {
                    true => Box::pin(commit_group(pool, &[m])).await.remove(0),
                    false => Err(CommitError::Conflict),
                });
            }
            return out;
        }
        r
    };
    accepted
        .iter()
        .map(|a| match (a, &result) {
            (false, _) => Err(CommitError::Conflict),
            (true, Ok(())) => Ok(()),
            (true, Err(e)) => Err(dup(e)),
        })
        .collect()
}

/// Whether `writes` touch anything `m` read.
fn touches(writes: &Overlay, m: &Member) -> bool {
    let read = m
        .reads
        .keys()
        .any(|(t, k)| !matches!(writes.lookup(*t, k), Local::Unwritten));
    read || m.scans.iter().any(|(t, s, e, _)| {
        writes.tables.get(t).is_some_and(|w| {
            w.entries
                .range(s.clone()..)
                .next()
                .is_some_and(|(k, _)| in_range(k, s, e))
                || w.ranges
                    .iter()
                    .any(|(a, b)| (b.is_empty() || s < b) && (e.is_empty() || a < e))
        })
    })
}

/// Applies `from` after what `into` holds (range deletes drop earlier writes they cover).
fn merge(into: &mut Overlay, from: &Overlay) {
    for (t, w) in &from.tables {
        for (s, e) in &w.ranges {
            into.delete_range(*t, s.clone(), e.clone());
        }
        for (k, v) in &w.entries {
            match v {
                Some(v) => into.put(*t, k.clone(), v.clone()),
                None => into.delete(*t, k.clone()),
            }
        }
    }
}

/// The outcome of a statement that failed before `COMMIT` was sent: nothing applied.
fn refused(e: &tokio_postgres::Error) -> CommitError {
    match e.as_db_error() {
        Some(db) if is_conflict(db.code()) => CommitError::Conflict,
        _ => CommitError::Failed(error_ref(e)),
    }
}

/// Begins the group's transaction and re-reads every member's read set in it; returns, per
/// member, whether all it read is unchanged, and whether a transaction was begun (not when
/// no member read anything).
async fn validate(client: &Object, members: &[&Member]) -> Result<(Vec<bool>, bool), CommitError> {
    let mut keys: BTreeMap<Table, BTreeSet<&[u8]>> = BTreeMap::new();
    for m in members {
        for (t, k) in m.reads.keys() {
            keys.entry(*t).or_default().insert(k);
        }
    }
    let scans: Vec<&Scanned> = members.iter().flat_map(|m| m.scans.iter()).collect();
    if keys.is_empty() && scans.is_empty() {
        return Ok((vec![true; members.len()], false));
    }
    let prepare = async |s: &str| client.prepare_cached(s).await.map_err(|e| refused(&e));
    let begin = prepare(BEGIN).await?;
    let mut gets = Vec::with_capacity(keys.len());
    for (t, ks) in &keys {
        gets.push((
            *t,
            prepare(&sql(*t).get_many).await?,
            ks.iter().copied().collect::<Vec<&[u8]>>(),
        ));
    }
    let mut pages = Vec::with_capacity(scans.len());
    for (t, _, e, _) in &scans {
        let s = sql(*t);
        pages.push(prepare(if e.is_empty() { &s.page_open } else { &s.page }).await?);
    }
    let unlimited = i64::MAX;
    let mut queries: Vec<Query<'_>> = vec![Box::pin(client.query(&begin, &[]))];
    for (_, st, ks) in &gets {
        queries.push(Box::pin(async move { client.query(st, &[ks]).await }));
    }
    for ((_, s, e, _), st) in scans.iter().zip(&pages) {
        queries.push(Box::pin(async move {
            if e.is_empty() {
                client.query(st, &[s, &unlimited]).await
            } else {
                client.query(st, &[s, e, &unlimited]).await
            }
        }));
    }
    let mut results = in_order(queries).await.into_iter();
    match results.next() {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(refused(&e)),
        None => return Err(CommitError::Failed(MetaError::Closed)),
    }
    let rows = |r: Option<Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>>| {
        let rows = r.ok_or(CommitError::Failed(MetaError::Closed))?;
        let rows = rows.map_err(|e| refused(&e))?;
        rows.iter()
            .map(|r| Ok((r.try_get::<_, Vec<u8>>(0)?, r.try_get::<_, Vec<u8>>(1)?)))
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(|e| refused(&e))
    };
    let mut current: BTreeMap<(Table, Vec<u8>), Vec<u8>> = BTreeMap::new();
    for (t, _, _) in &gets {
        for (k, v) in rows(results.next())? {
            current.insert((*t, k), v);
        }
    }
    let mut digests = Vec::with_capacity(scans.len());
    for _ in &scans {
        let mut d = RangeDigest::default();
        for (k, v) in rows(results.next())? {
            d.add(&k, &v);
        }
        digests.push(d.finish());
    }
    let mut digests = digests.into_iter();
    let unchanged = members
        .iter()
        .map(|m| {
            let reads = m
                .reads
                .iter()
                .all(|(key, seen)| current.get(key) == seen.as_ref());
            // Every member's digests are consumed, in order, whatever the reads say.
            let scans: Vec<bool> = m
                .scans
                .iter()
                .map(|(.., seen)| digests.next().is_some_and(|now| now == *seen))
                .collect();
            reads && scans.into_iter().all(|b| b)
        })
        .collect();
    Ok((unchanged, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table = Table::Objects;

    fn member(reads: &[&str], scans: &[(&str, &str)]) -> Member {
        Member {
            reads: reads
                .iter()
                .map(|k| ((T, k.as_bytes().to_vec()), None))
                .collect(),
            scans: scans
                .iter()
                .map(|(s, e)| (T, s.as_bytes().to_vec(), e.as_bytes().to_vec(), [0; 32]))
                .collect(),
            overlay: Overlay::default(),
        }
    }

    #[test]
    fn earlier_writes_touch_later_reads_and_scans() {
        let mut w = Overlay::default();
        w.put(T, b"k".to_vec(), b"1".to_vec());
        assert!(touches(&w, &member(&["k"], &[])));
        assert!(!touches(&w, &member(&["j"], &[])));
        assert!(touches(&w, &member(&[], &[("a", "l")])));
        assert!(touches(&w, &member(&[], &[("k", "")])));
        assert!(
            !touches(&w, &member(&[], &[("a", "k")])),
            "end is exclusive"
        );
        assert!(!touches(&w, &member(&[], &[("k\0", "")])));
        // Another table is another key space.
        assert!(!touches(
            &w,
            &Member {
                reads: [((Table::Buckets, b"k".to_vec()), None)].into(),
                scans: Vec::new(),
                overlay: Overlay::default(),
            }
        ));
        // Range deletes: a read key inside, a scan overlapping, unbounded ends.
        let mut w = Overlay::default();
        w.delete_range(T, b"m".to_vec(), b"p".to_vec());
        assert!(touches(&w, &member(&["n"], &[])));
        assert!(!touches(&w, &member(&["p"], &[])));
        assert!(touches(&w, &member(&[], &[("a", "m\0")])));
        assert!(!touches(&w, &member(&[], &[("a", "m")])));
        assert!(touches(&w, &member(&[], &[("o", "")])));
        assert!(!touches(&w, &member(&[], &[("p", "")])));
        let mut w = Overlay::default();
        w.delete_range(T, b"x".to_vec(), Vec::new());
        assert!(touches(&w, &member(&[], &[("a", "")])));
        assert!(touches(&w, &member(&["zz"], &[])));
        assert!(!touches(&w, &member(&[], &[("a", "x")])));
    }

    #[test]
    fn merged_writes_apply_in_member_order() {
        let mut first = Overlay::default();
        first.put(T, b"a".to_vec(), b"1".to_vec());
        first.put(T, b"m".to_vec(), b"1".to_vec());
        let mut second = Overlay::default();
        second.delete_range(T, b"l".to_vec(), b"n".to_vec());
        second.put(T, b"a".to_vec(), b"2".to_vec());
        let mut all = Overlay::default();
        merge(&mut all, &first);
        merge(&mut all, &second);
        assert!(matches!(all.lookup(T, b"a"), Local::Value(b"2")));
        assert!(matches!(all.lookup(T, b"m"), Local::Deleted));
    }
}
