//! The embedded default backend on `redb`. Reads go straight to the latest committed snapshot.
//! Writes go through one committer thread that drains every batch queued while the previous
//! commit was syncing and applies them in a single write transaction: N concurrent PUTs cost one
//! fsync (group commit), and each caller is answered only after that commit is durable.

use std::ops::Bound;
use std::path::Path;
use std::pin::Pin;
use std::sync::mpsc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tokio::sync::oneshot;

use crate::MetaError;
use crate::store::{Batch, Check, MetaStore, Op, ScanStep, Table};

type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

fn def(t: Table) -> Def {
    TableDefinition::new(t.name())
}

/// redb's page cache. Its default (1 GiB) let the server's RSS grow with the number of keys
/// touched; the hot set of a metadata index (keys, small records) fits far less.
const CACHE_BYTES: usize = 64 << 20;

/// Most batches folded into one transaction; bounds the latency a single commit adds.
const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<(), MetaError>>;

/// The redb-backed [`MetaStore`].
pub struct RedbStore {
    db: std::sync::Arc<Database>,
    tx: Option<mpsc::Sender<(Batch, Reply)>>,
    committer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RedbStore {
    /// Closes the queue and waits for the committer to finish what was queued, so the database
    /// file is released (and every accepted batch answered) when the store is dropped.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.committer.take() {
            let _ = t.join();
        }
    }
}

impl RedbStore {
    /// Opens (or creates) the database file and starts the committer thread.
    pub fn open(path: &Path) -> Result<Self, MetaError> {
        let db = std::sync::Arc::new(
            redb::Builder::new()
                .set_cache_size(CACHE_BYTES)
                .create(path)?,
        );
        {
            let w = db.begin_write()?;
            for t in Table::ALL {
                w.open_table(def(t))?;
            }
            check_format_version(&w)?;
            w.commit()?;
        }
        let (tx, rx) = mpsc::channel::<(Batch, Reply)>();
        let committer_db = db.clone();
        let handle = std::thread::Builder::new()
            .name("meta-commit".into())
            .spawn(move || committer(&committer_db, &rx))?;
        Ok(Self {
            db,
            tx: Some(tx),
            committer: Some(handle),
        })
    }
}

/// Key in the `system` table holding the layout version of the whole store.
const FORMAT_KEY: &[u8] = b"format_version";
/// Version of the table layout and key encoding (see `docs/format.md`).
pub const STORE_FORMAT_VERSION: u32 = 1;

/// Records the store's format version in a new database; refuses a database written by a
/// newer, unknown layout instead of misreading it.
fn check_format_version(w: &WriteTransaction) -> Result<(), MetaError> {
    let mut system = w.open_table(def(Table::System))?;
    let found = system.get(FORMAT_KEY)?.map(|v| v.value().to_vec());
    match found {
        None => {
            system.insert(FORMAT_KEY, STORE_FORMAT_VERSION.to_le_bytes().as_slice())?;
            Ok(())
        }
        Some(v) if v.as_slice() == STORE_FORMAT_VERSION.to_le_bytes() => Ok(()),
        Some(v) => Err(MetaError::Corrupt(format!(
            "metadata store format {v:?} is not supported by this version (expects {STORE_FORMAT_VERSION})"
        ))),
    }
}

fn committer(db: &Database, rx: &mpsc::Receiver<(Batch, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(item) => group.push(item),
                Err(_) => break,
            }
        }
        let (results, outcome) = apply_group(db, &group);
        for ((_, reply), result) in group.into_iter().zip(results) {
            let answer = match (&outcome, result) {
                (Ok(()), r) => r,
                (Err(e), _) => Err(MetaError::Storage(e.clone())),
            };
            let _ = reply.send(answer);
        }
    }
}

/// Applies every batch of the group in one transaction; returns each batch's own verdict and
/// whether the transaction as a whole committed.
fn apply_group(
    db: &Database,
    group: &[(Batch, Reply)],
) -> (Vec<Result<(), MetaError>>, Result<(), String>) {
    let txn = match db.begin_write() {
        Ok(t) => t,
        Err(e) => return (Vec::new(), Err(e.to_string())),
    };
    let mut results = Vec::with_capacity(group.len());
    for (batch, _) in group {
        match apply_batch(&txn, batch) {
            Ok(r) => results.push(r),
            Err(e) => {
                let _ = txn.abort();
                return (Vec::new(), Err(e.to_string()));
            }
        }
    }
    match txn.commit() {
        Ok(()) => (results, Ok(())),
        Err(e) => (Vec::new(), Err(e.to_string())),
    }
}

/// Ok(Err(Conflict)) when a check fails (nothing applied); Err on a storage failure.
fn apply_batch(txn: &WriteTransaction, batch: &Batch) -> Result<Result<(), MetaError>, MetaError> {
    for (i, check) in batch.checks.iter().enumerate() {
        let holds = match check {
            Check::Absent(t, k) => txn.open_table(def(*t))?.get(k.as_slice())?.is_none(),
            Check::Present(t, k) => txn.open_table(def(*t))?.get(k.as_slice())?.is_some(),
            Check::Equals(t, k, v) => txn
                .open_table(def(*t))?
                .get(k.as_slice())?
                .is_some_and(|g| g.value() == v.as_slice()),
            Check::RangeEmpty(t, s, e) => {
                let table = txn.open_table(def(*t))?;
                let mut it = range(&table, s, e)?;
                it.next().is_none()
            }
        };
        if !holds {
            return Ok(Err(MetaError::Conflict(i)));
        }
    }
    for op in &batch.ops {
        match op {
            Op::Put(t, k, v) => {
                txn.open_table(def(*t))?
                    .insert(k.as_slice(), v.as_slice())?;
            }
            Op::Delete(t, k) => {
                txn.open_table(def(*t))?.remove(k.as_slice())?;
            }
        }
    }
    Ok(Ok(()))
}

type RangeIter<'a> = redb::Range<'a, &'static [u8], &'static [u8]>;

fn range<'a, T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &'a T,
    start: &[u8],
    end: &[u8],
) -> Result<RangeIter<'a>, MetaError> {
    let upper = if end.is_empty() {
        Bound::Unbounded
    } else {
        Bound::Excluded(end)
    };
    Ok(table.range::<&[u8]>((Bound::Included(start), upper))?)
}

impl MetaStore for RedbStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(def(table))?;
        Ok(t.get(key)?.map(|g| g.value().to_vec()))
    }

    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> ScanStep,
    ) -> Result<(), MetaError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(def(table))?;
        let mut it = range(&t, start, end)?;
        while let Some(item) = it.next() {
            let (k, v) = item?;
            match visit(k.value(), v.value()) {
                ScanStep::Next => {}
                ScanStep::Stop => break,
                ScanStep::Seek(to) => {
                    if !end.is_empty() && to.as_slice() >= end {
                        break;
                    }
                    if to.as_slice() > k.value() {
                        it = range(&t, &to, end)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn commit(
        &self,
        batch: Batch,
    ) -> Pin<Box<dyn Future<Output = Result<(), MetaError>> + Send + '_>> {
        let (reply, wait) = oneshot::channel();
        let sent = match &self.tx {
            Some(tx) => tx.send((batch, reply)).map_err(|_| ()),
            None => Err(()),
        };
        Box::pin(async move {
            sent.map_err(|_| MetaError::Closed)?;
            wait.await.map_err(|_| MetaError::Closed)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, RedbStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open(&dir.path().join("meta.redb")).unwrap();
        (dir, s)
    }

    fn keys(s: &RedbStore, t: Table, start: &[u8], end: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        s.scan(t, start, end, &mut |k, _| {
            out.push(k.to_vec());
            ScanStep::Next
        })
        .unwrap();
        out
    }

    #[tokio::test]
    async fn batches_apply_atomically_and_checks_guard_them() {
        let (_d, s) = store();
        let mut b = Batch::new();
        b.check(Check::Absent(Table::Buckets, b"x".to_vec()));
        b.put(Table::Buckets, b"x".to_vec(), b"1".to_vec());
        b.put(Table::Objects, b"x\0k".to_vec(), b"v".to_vec());
        s.commit(b).await.unwrap();
        assert_eq!(
            s.get(Table::Buckets, b"x").unwrap().as_deref(),
            Some(&b"1"[..])
        );

        // A failing check leaves everything as it was.
        let mut b = Batch::new();
        b.put(Table::Objects, b"x\0other".to_vec(), b"v".to_vec());
        b.check(Check::Absent(Table::Buckets, b"x".to_vec()));
        assert!(matches!(s.commit(b).await, Err(MetaError::Conflict(0))));
        assert!(s.get(Table::Objects, b"x\0other").unwrap().is_none());

        let mut b = Batch::new();
        b.check(Check::Equals(Table::Buckets, b"x".to_vec(), b"2".to_vec()));
        assert!(matches!(s.commit(b).await, Err(MetaError::Conflict(0))));
        let mut b = Batch::new();
        b.check(Check::Equals(Table::Buckets, b"x".to_vec(), b"1".to_vec()));
        b.check(Check::RangeEmpty(
            Table::Objects,
            b"x\0".to_vec(),
            b"x\x01".to_vec(),
        ));
        assert!(matches!(s.commit(b).await, Err(MetaError::Conflict(1))));
    }

    #[tokio::test]
    async fn concurrent_commits_are_grouped_and_all_land() {
        let (_d, s) = store();
        let s = std::sync::Arc::new(s);
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut b = Batch::new();
                b.put(Table::Objects, i.to_be_bytes().to_vec(), vec![1]);
                s.commit(b).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(keys(&s, Table::Objects, b"", b"").len(), 200);
    }

    #[tokio::test]
    async fn scan_seeks_forward_and_respects_bounds() {
        let (_d, s) = store();
        let mut b = Batch::new();
        for k in ["a/1", "a/2", "a/3", "b", "c/1", "c/2", "d"] {
            b.put(Table::Objects, k.as_bytes().to_vec(), vec![]);
        }
        s.commit(b).await.unwrap();
        let mut seen = Vec::new();
        s.scan(Table::Objects, b"", b"", &mut |k, _| {
            seen.push(String::from_utf8(k.to_vec()).unwrap());
            match k.iter().position(|&c| c == b'/') {
                Some(p) => ScanStep::Seek(crate::keys::prefix_successor(&k[..=p])),
                None => ScanStep::Next,
            }
        })
        .unwrap();
        assert_eq!(seen, ["a/1", "b", "c/1", "d"]);
        assert_eq!(
            keys(&s, Table::Objects, b"b", b"c/2"),
            vec![b"b".to_vec(), b"c/1".to_vec()]
        );
    }

    #[test]
    fn an_unknown_store_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.redb");
        drop(RedbStore::open(&path).unwrap());
        {
            let db = Database::create(&path).unwrap();
            let w = db.begin_write().unwrap();
            w.open_table(def(Table::System))
                .unwrap()
                .insert(FORMAT_KEY, 99u32.to_le_bytes().as_slice())
                .unwrap();
            w.commit().unwrap();
        }
        assert!(matches!(RedbStore::open(&path), Err(MetaError::Corrupt(_))));
    }

    #[tokio::test]
    async fn data_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.redb");
        {
            let s = RedbStore::open(&path).unwrap();
            let mut b = Batch::new();
            b.put(Table::System, b"k".to_vec(), b"v".to_vec());
            s.commit(b).await.unwrap();
        }
        let s = RedbStore::open(&path).unwrap();
        assert_eq!(
            s.get(Table::System, b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
    }
}
