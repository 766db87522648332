//! Transactions on the redb backend: optimistic, validated by the group committer.
//!
//! A transaction reads from one redb read snapshot (of the replica serving reads) taken at
//! begin, under its own buffered writes. Every point read that reached the snapshot is
//! remembered with the value seen, every scanned interval (the part the visitor walked) is
//! remembered too. At commit they become the checks of one [`Batch`]: `Equals`/`Absent` for the
//! point reads and a `RangeDigest` (SHA-256 of the interval as the snapshot holds it) per
//! interval, followed by the writes. The batch goes through the existing committer thread, so
//! transactions committing together still share one write transaction and one sync per
//! replica, and reach a write quorum of replicas. If any check fails, something the
//! transaction read changed after its snapshot: nothing applies, and the outcome is
//! [`CommitError::Conflict`]. Checks that hold mean the reads are still true at commit time, so
//! committed transactions are serializable in commit order.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadOnlyTable, ReadTransaction, ReadableDatabase};

use crate::MetaError;
use crate::redb_store::{RedbStore, def, digest_of, range};
use crate::store::{Batch, Check, Table};
use crate::txn::{
    CommitError, Local, Overlay, Pages, ReplicaControl, Txn, TxnStore, Visit, merged_scan,
};

type Snapshot = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// Opens `t` in the snapshot; `None` when the file has no such table yet (it is empty).
fn open(snap: &ReadTransaction, t: Table) -> Result<Option<Snapshot>, MetaError> {
    match snap.open_table(def(t)) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) struct RedbTxn<'s> {
    store: &'s RedbStore,
    db: Arc<Database>,
    snap: ReadTransaction,
    overlay: Overlay,
    /// Point reads that reached the snapshot, with what they saw.
    reads: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
    /// Intervals scans covered, `(table, start, end)`, end empty: unbounded.
    scans: Vec<(Table, Vec<u8>, Vec<u8>)>,
}

struct SnapPages<'a>(&'a ReadTransaction);

#[async_trait]
impl Pages for SnapPages<'_> {
    async fn page(
        &mut self,
        table: Table,
        from: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, MetaError> {
        let Some(t) = open(self.0, table)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for item in range(&t, from, end)?.take(limit) {
            let (k, v) = item?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }
}

impl<'s> RedbTxn<'s> {
    fn new(store: &'s RedbStore) -> Result<Self, MetaError> {
        let db = store.reader()?;
        let snap = match db.begin_read() {
            Ok(s) => s,
            Err(e) => {
                let e = MetaError::from(e);
                store.read_failed(&db, &e);
                return Err(e);
            }
        };
        Ok(Self {
            store,
            db,
            snap,
            overlay: Overlay::default(),
            reads: BTreeMap::new(),
            scans: Vec::new(),
        })
    }

    /// A read error: the replica goes offline unless it is the last one.
    fn failed(&self, e: MetaError) -> MetaError {
        if !matches!(e, MetaError::Corrupt(_)) {
            let online = self
                .store
                .replica_status()
                .iter()
                .filter(|r| r.online)
                .count();
            if online > 1 {
                self.store.read_failed(&self.db, &e);
            }
        }
        e
    }

    fn snapshot_get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        let Some(t) = open(&self.snap, table)? else {
            return Ok(None);
        };
        Ok(t.get(key)?.map(|g| g.value().to_vec()))
    }

    fn batch(&self) -> Result<Batch, MetaError> {
        let mut b = Batch::new();
        for ((t, k), v) in &self.reads {
            b.check(match v {
                Some(v) => Check::Equals(*t, k.clone(), v.clone()),
                None => Check::Absent(*t, k.clone()),
            });
        }
        for (t, s, e) in &self.scans {
            let digest = match open(&self.snap, *t)? {
                Some(table) => digest_of(&table, s, e)?,
                None => crate::txn::RangeDigest::default().finish(),
            };
            b.check(Check::RangeDigest(*t, s.clone(), e.clone(), digest));
        }
        for (t, w) in &self.overlay.tables {
            for (s, e) in &w.ranges {
                b.delete_range(*t, s.clone(), e.clone());
            }
            for (k, v) in &w.entries {
                match v {
                    Some(v) => b.put(*t, k.clone(), v.clone()),
                    None => b.delete(*t, k.clone()),
                };
            }
        }
        Ok(b)
    }
}

#[async_trait]
impl Txn for RedbTxn<'_> {
    async fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        match self.overlay.lookup(table, key) {
            Local::Value(v) => return Ok(Some(v.to_vec())),
            Local::Deleted => return Ok(None),
            Local::Unwritten => {}
        }
        if let Some(seen) = self.reads.get(&(table, key.to_vec())) {
            return Ok(seen.clone());
        }
        // An injected failure of this record's read (tests of callers' error paths).
        crate::faults::read_point(table, key)?;
        let v = self.snapshot_get(table, key).map_err(|e| self.failed(e))?;
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
        let mut pages = SnapPages(&self.snap);
        let covered = merged_scan(&mut pages, &self.overlay, table, start, end, visit).await;
        let covered = covered.map_err(|e| self.failed(e))?;
        self.scans
            .extend(covered.into_iter().map(|(s, e)| (table, s, e)));
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

    async fn commit(self: Box<Self>) -> Result<(), CommitError> {
        if self.overlay.is_empty() {
            return Ok(());
        }
        let batch = self.batch().map_err(CommitError::Failed)?;
        let store = self.store;
        drop(self);
        let wait = store.submit(batch).map_err(CommitError::Failed)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(MetaError::Conflict(_))) => Err(CommitError::Conflict),
            // Refused before any replica was written.
            Ok(Err(e @ (MetaError::Quorum { .. } | MetaError::Corrupt(_)))) => {
                Err(CommitError::Failed(e))
            }
            // The group's write failed on too many replicas: some may hold it.
            Ok(Err(e)) => Err(CommitError::Unknown(e)),
            Err(_) => Err(CommitError::Unknown(MetaError::Closed)),
        }
    }
}

#[async_trait]
impl ReplicaControl for RedbStore {
    fn replica_status(&self) -> Vec<crate::ReplicaStatus> {
        RedbStore::replica_status(self)
    }
    fn check_replicas(&self) -> usize {
        RedbStore::check_replicas(self)
    }
    async fn resync(&self) -> usize {
        RedbStore::resync(self).await
    }
}

#[async_trait]
impl TxnStore for RedbStore {
    async fn begin(&self) -> Result<Box<dyn Txn + '_>, MetaError> {
        Ok(Box::new(RedbTxn::new(self)?))
    }

    async fn order_ids(&self, n: usize) -> Result<Vec<String>, MetaError> {
        Ok((0..n).map(|_| crate::order::local_order_id()).collect())
    }

    fn replicas(&self) -> Option<&dyn ReplicaControl> {
        Some(self)
    }

    fn backend(&self) -> &'static str {
        "redb"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ScanStep;

    async fn put(s: &RedbStore, k: &[u8]) {
        let mut b = Batch::new();
        b.put(Table::Objects, k.to_vec(), b"v".to_vec());
        RedbStore::commit(s, b).await.unwrap();
    }

    /// Only the part of a range a scan walked joins the conflict set: an insert past the key
    /// where the visitor stopped, or inside a prefix it sought past, does not conflict.
    #[tokio::test]
    async fn only_the_visited_part_of_a_scan_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open(&dir.path().join("m.redb")).unwrap();
        for k in [&b"a/1"[..], b"b", b"c/1", b"d"] {
            put(&s, k).await;
        }
        let run = async |insert: &[u8]| {
            let mut t = s.begin().await.unwrap();
            let mut seen = Vec::new();
            t.scan(Table::Objects, b"", b"", &mut |k, _| {
                seen.push(k.to_vec());
                if k == b"c/1" {
                    return ScanStep::Stop;
                }
                match k.iter().position(|&c| c == b'/') {
                    Some(p) => ScanStep::Seek(crate::keys::prefix_successor(&k[..=p])),
                    None => ScanStep::Next,
                }
            })
            .await
            .unwrap();
            assert_eq!(seen.first().map(Vec::as_slice), Some(&b"a/1"[..]));
            assert_eq!(seen.last().map(Vec::as_slice), Some(&b"c/1"[..]));
            t.put(Table::System, b"x".to_vec(), b"1".to_vec());
            put(&s, insert).await;
            t.commit().await
        };
        run(b"a/2").await.unwrap();
        run(b"c/2").await.unwrap();
        run(b"e").await.unwrap();
        assert!(matches!(run(b"bb").await, Err(CommitError::Conflict)));
        assert!(matches!(run(b"0").await, Err(CommitError::Conflict)));
    }

    #[tokio::test]
    async fn a_commit_without_quorum_applies_nothing_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<_> = (0..2).map(|i| dir.path().join(format!("r{i}"))).collect();
        let s = RedbStore::open_replicated(&paths, 2).unwrap();
        std::fs::remove_file(&paths[1]).unwrap();
        assert_eq!(s.check_replicas(), 1);
        let mut t = s.begin().await.unwrap();
        t.put(Table::Objects, b"k".to_vec(), b"v".to_vec());
        assert!(matches!(
            t.commit().await,
            Err(CommitError::Failed(MetaError::Quorum { .. }))
        ));
        assert!(RedbStore::get(&s, Table::Objects, b"k").unwrap().is_none());
    }
}
