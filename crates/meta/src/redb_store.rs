//! The embedded default backend on `redb`, replicated: every volume holds a full copy of the
//! database, so metadata survives the loss of any volumes the data's parity survives.
//!
//! Writes go through one committer thread. It drains every batch queued while the previous
//! commit was syncing and applies the group, in the same order, to every online replica (in
//! parallel, one transaction and one sync each): N concurrent PUTs cost one sync per volume
//! (group commit), and each caller is answered only after a write quorum of replicas committed.
//! Each group also bumps a commit sequence number, so at start the replicas that missed commits
//! (a crash between replica syncs, a volume that was offline or replaced) are recognised and
//! replaced by a copy of the newest one. Reads go to the first online replica.

use std::ops::Bound;
use std::path::{Path, PathBuf};
#[cfg(test)]
use std::pin::Pin;
use std::sync::{Arc, RwLock, mpsc};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tokio::sync::oneshot;

use crate::MetaError;
use crate::backend::SyncedFile;
#[cfg(test)]
use crate::store::ScanStep;
use crate::store::{Batch, Check, Op, Table};

type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

pub(crate) fn def(t: Table) -> Def {
    TableDefinition::new(t.name())
}

/// redb's page cache of the replica that serves reads (the first one online). Its default
/// (1 GiB) let the server's RSS grow with the number of keys touched; the hot set of a metadata
/// index (keys, small records) fits far less.
const CACHE_BYTES: usize = 64 << 20;

/// The page cache of every other replica: they only apply commits, so they need the pages a
/// commit modifies, not the read set. (With four volumes and 64 MiB each, the caches filled with
/// written pages and held 256 MiB.) A replica that takes over reads runs with this cache until
/// the next start.
const REPLICA_CACHE_BYTES: usize = 16 << 20;

fn cache_for(replica: usize) -> usize {
    if replica == 0 {
        CACHE_BYTES
    } else {
        REPLICA_CACHE_BYTES
    }
}

/// Most batches folded into one transaction; bounds the latency a single commit adds.
const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<(), MetaError>>;

enum Msg {
    Commit(Batch, Reply),
    /// Copy the newest replica over offline ones whose volume is usable again.
    Resync(oneshot::Sender<usize>),
}

/// One copy of the database.
struct Replica {
    path: PathBuf,
    /// `None` while offline (failed, wiped, or behind).
    db: Option<Arc<Database>>,
    /// Inode of the file opened, to notice the file being deleted or replaced underneath.
    ino: u64,
}

/// Health of one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub path: PathBuf,
    pub online: bool,
}

/// The embedded backend: redb, replicated on every volume, group-committing transactions.
pub struct RedbStore {
    replicas: Arc<RwLock<Vec<Replica>>>,
    tx: Option<mpsc::Sender<Msg>>,
    committer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RedbStore {
    /// Closes the queue and waits for the committer to finish what was queued, so the database
    /// files are released (and every accepted batch answered) when the store is dropped.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.committer.take() {
            let _ = t.join();
        }
    }
}

fn inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.ino())
}

/// Opens a database file, creating it if missing. A new file is built aside and renamed into
/// place once its first commit is durable, so a crash while creating it never leaves a
/// half-initialised database under the real name.
fn open_db(path: &Path, cache: usize) -> Result<Database, MetaError> {
    if !path.exists() {
        let aside = path.with_extension("redb.new");
        let _ = std::fs::remove_file(&aside);
        drop(open_file(&aside, true, REPLICA_CACHE_BYTES)?);
        crate::faults::sync_point()?;
        std::fs::rename(&aside, path)?;
        if let Some(dir) = path.parent() {
            crate::faults::sync_point()?;
            std::fs::File::open(dir)?.sync_all()?;
        }
    }
    open_file(path, false, cache)
}

fn open_file(path: &Path, create: bool, cache: usize) -> Result<Database, MetaError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)?;
    let db = redb::Builder::new()
        .set_cache_size(cache)
        .create_with_backend(SyncedFile::new(file)?)?;
    {
        let w = db.begin_write()?;
        for t in Table::ALL {
            w.open_table(def(t))?;
        }
        check_format_version(&w)?;
        w.commit()?;
    }
    Ok(db)
}

fn read_seq(db: &Database) -> Result<u64, MetaError> {
    let r = db.begin_read()?;
    let t = r.open_table(def(Table::System))?;
    let v = t.get(SEQ_KEY)?;
    Ok(v.and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
        .map_or(0, u64::from_le_bytes))
}

/// Replaces `dst` with a copy of `src`: written aside, synced, renamed over, directory synced.
fn copy_replica(src: &Path, dst: &Path) -> Result<(), MetaError> {
    let aside = dst.with_extension("redb.resync");
    std::fs::copy(src, &aside)?;
    std::fs::File::open(&aside)?.sync_all()?;
    std::fs::rename(&aside, dst)?;
    if let Some(dir) = dst.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl RedbStore {
    /// Opens (or creates) a single database file.
    pub fn open(path: &Path) -> Result<Self, MetaError> {
        Self::open_replicated(&[path.to_path_buf()], 1)
    }

    /// Opens the replicas at `paths`; a commit succeeds once `write_quorum` of them have it.
    /// Replicas that are missing, unreadable or behind the newest are replaced by a copy of it.
    pub fn open_replicated(paths: &[PathBuf], write_quorum: usize) -> Result<Self, MetaError> {
        if paths.is_empty() || write_quorum == 0 || write_quorum > paths.len() {
            return Err(MetaError::Storage(format!(
                "{} replicas cannot meet a write quorum of {write_quorum}",
                paths.len()
            )));
        }
        // Learn each replica's sequence number, then close them all before copying.
        let mut seqs: Vec<Option<u64>> = Vec::with_capacity(paths.len());
        for p in paths {
            let seq = if p.exists() {
                match open_db(p, REPLICA_CACHE_BYTES).and_then(|db| read_seq(&db)) {
                    Ok(s) => Some(s),
                    Err(MetaError::Corrupt(e)) => return Err(MetaError::Corrupt(e)),
                    Err(e) => {
                        tracing::error!(path = %p.display(), error = %e, "metadata replica unreadable; will be replaced");
                        None
                    }
                }
            } else {
                None
            };
            seqs.push(seq);
        }
        let newest = seqs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (s, std::cmp::Reverse(i))))
            .max()
            .map(|(s, std::cmp::Reverse(i))| (i, s));
        if let Some((src, seq)) = newest {
            for (i, p) in paths.iter().enumerate() {
                if seqs[i] != Some(seq) {
                    tracing::warn!(from = %paths[src].display(), to = %p.display(), "replacing a missing or stale metadata replica");
                    if let Err(e) = copy_replica(&paths[src], p) {
                        tracing::error!(path = %p.display(), error = %e, "cannot write metadata replica; it stays offline");
                    }
                }
            }
        }
        let mut replicas = Vec::with_capacity(paths.len());
        for (i, p) in paths.iter().enumerate() {
            let db = match open_db(p, cache_for(i)) {
                Ok(db) => Some(Arc::new(db)),
                Err(MetaError::Corrupt(e)) => return Err(MetaError::Corrupt(e)),
                Err(e) => {
                    tracing::error!(path = %p.display(), error = %e, "metadata replica offline");
                    None
                }
            };
            replicas.push(Replica {
                path: p.clone(),
                ino: inode(p).unwrap_or(0),
                db,
            });
        }
        let online = replicas.iter().filter(|r| r.db.is_some()).count();
        if online == 0 {
            return Err(MetaError::Storage(
                "no metadata replica could be opened".into(),
            ));
        }
        let seq = match replicas.iter().find_map(|r| r.db.as_ref()) {
            Some(db) => read_seq(db)?,
            None => 0,
        };
        let replicas = Arc::new(RwLock::new(replicas));
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut committer = Committer {
            replicas: replicas.clone(),
            quorum: write_quorum,
            seq,
        };
        let handle = std::thread::Builder::new()
            .name("meta-commit".into())
            .spawn(move || committer.run(&rx))?;
        Ok(Self {
            replicas,
            tx: Some(tx),
            committer: Some(handle),
        })
    }

    /// Online state of each replica.
    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .read()
            .map(|r| {
                r.iter()
                    .map(|x| ReplicaStatus {
                        path: x.path.clone(),
                        online: x.db.is_some(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Takes offline any replica whose file was deleted or replaced underneath it (a wiped
    /// volume): its writes would go nowhere. Returns how many went offline.
    pub fn check_replicas(&self) -> usize {
        let Ok(mut reps) = self.replicas.write() else {
            return 0;
        };
        let mut n = 0;
        for r in reps.iter_mut() {
            if r.db.is_some() && inode(&r.path) != Some(r.ino) {
                tracing::error!(path = %r.path.display(), "metadata replica vanished; marked offline");
                r.db = None;
                n += 1;
            }
        }
        n
    }

    /// Brings offline replicas back as copies of the newest one, where their volume is usable.
    /// Returns how many came back.
    pub async fn resync(&self) -> usize {
        let (reply, wait) = oneshot::channel();
        match &self.tx {
            Some(tx) if tx.send(Msg::Resync(reply)).is_ok() => wait.await.unwrap_or(0),
            _ => 0,
        }
    }

    /// Queues `batch` for the committer; the receiver gets its verdict. An error here means
    /// the batch was not queued (nothing can apply).
    pub(crate) fn submit(
        &self,
        batch: Batch,
    ) -> Result<oneshot::Receiver<Result<(), MetaError>>, MetaError> {
        let (reply, wait) = oneshot::channel();
        match &self.tx {
            Some(tx) if tx.send(Msg::Commit(batch, reply)).is_ok() => Ok(wait),
            _ => Err(MetaError::Closed),
        }
    }

    /// The database reads use: the first online replica.
    pub(crate) fn reader(&self) -> Result<Arc<Database>, MetaError> {
        self.replicas
            .read()
            .map_err(|_| MetaError::Closed)?
            .iter()
            .find_map(|r| r.db.clone())
            .ok_or(MetaError::Quorum {
                needed: 1,
                available: 0,
            })
    }

    /// A read failed on `db`: that replica goes offline (the next read uses another).
    pub(crate) fn read_failed(&self, db: &Arc<Database>, e: &MetaError) {
        if let Ok(mut reps) = self.replicas.write() {
            for r in reps.iter_mut() {
                if r.db.as_ref().is_some_and(|d| Arc::ptr_eq(d, db)) {
                    tracing::error!(path = %r.path.display(), error = %e, "metadata replica failed a read; marked offline");
                    r.db = None;
                }
            }
        }
    }

    #[cfg(test)]
    fn with_reader<T>(
        &self,
        mut f: impl FnMut(&Database) -> Result<T, MetaError>,
    ) -> Result<T, MetaError> {
        loop {
            let db = self.reader()?;
            match f(&db) {
                Ok(v) => return Ok(v),
                Err(e @ (MetaError::Corrupt(_) | MetaError::Conflict(_))) => return Err(e),
                Err(e) => {
                    let others = self
                        .replicas
                        .read()
                        .map_or(0, |r| r.iter().filter(|x| x.db.is_some()).count());
                    if others <= 1 {
                        return Err(e);
                    }
                    self.read_failed(&db, &e);
                }
            }
        }
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

/// Key in the `system` table holding the number of the last committed group.
const SEQ_KEY: &[u8] = b"commit_seq";

/// The single writer of every replica.
struct Committer {
    replicas: Arc<RwLock<Vec<Replica>>>,
    quorum: usize,
    seq: u64,
}

/// One replica's outcome for a group: each batch's verdict, or why the transaction failed.
type GroupOutcome = Result<Vec<Result<(), MetaError>>, String>;

impl Committer {
    fn run(&mut self, rx: &mpsc::Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut group = Vec::new();
            let mut resyncs = Vec::new();
            let mut next = Some(first);
            while let Some(m) = next.take() {
                match m {
                    Msg::Commit(b, r) => group.push((b, r)),
                    Msg::Resync(r) => resyncs.push(r),
                }
                if group.len() < MAX_GROUP {
                    next = rx.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.commit_group(group);
            }
            if !resyncs.is_empty() {
                let n = self.resync();
                for r in resyncs {
                    let _ = r.send(n);
                }
            }
        }
    }

    fn online(&self) -> Vec<(usize, Arc<Database>)> {
        self.replicas
            .read()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter_map(|(i, x)| x.db.clone().map(|d| (i, d)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn take_offline(&self, i: usize, why: &str) {
        if let Ok(mut reps) = self.replicas.write()
            && let Some(r) = reps.get_mut(i)
            && r.db.take().is_some()
        {
            tracing::error!(path = %r.path.display(), reason = why, "metadata replica marked offline");
        }
    }

    fn commit_group(&mut self, group: Vec<(Batch, Reply)>) {
        let online = self.online();
        let answer_all = |group: Vec<(Batch, Reply)>, e: &dyn Fn() -> MetaError| {
            for (_, reply) in group {
                let _ = reply.send(Err(e()));
            }
        };
        if online.len() < self.quorum {
            let (have, need) = (online.len(), self.quorum);
            answer_all(group, &|| MetaError::Quorum {
                needed: need,
                available: have,
            });
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let began = std::time::Instant::now();
        let batches: Vec<&Batch> = group.iter().map(|(b, _)| b).collect();
        let outcomes: Vec<(usize, GroupOutcome)> = if online.len() == 1 {
            online
                .iter()
                .map(|(i, db)| (*i, apply_group(db, &batches, seq)))
                .collect()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = online
                    .iter()
                    .map(|(i, db)| (*i, s.spawn(|| apply_group(db, &batches, seq))))
                    .collect();
                handles
                    .into_iter()
                    .map(|(i, h)| {
                        let r = h
                            .join()
                            .unwrap_or_else(|_| Err("commit thread panicked".to_string()));
                        (i, r)
                    })
                    .collect()
            })
        };
        crate::commit_metrics::group_committed("redb", began.elapsed(), group.len());
        let mut verdicts: Option<Vec<Result<(), MetaError>>> = None;
        let mut committed = 0;
        let mut last_err = String::new();
        for (i, outcome) in outcomes {
            match outcome {
                Ok(v) => {
                    match &verdicts {
                        None => verdicts = Some(v),
                        Some(first) if !same_verdicts(first, &v) => {
                            // Replicas apply the same batches to the same state: a different
                            // verdict means this one diverged. It must not serve reads.
                            self.take_offline(i, "diverged from the other replicas");
                            continue;
                        }
                        Some(_) => {}
                    }
                    committed += 1;
                }
                Err(e) => {
                    self.take_offline(i, &e);
                    last_err = e;
                }
            }
        }
        match verdicts {
            Some(v) if committed >= self.quorum => {
                for ((_, reply), r) in group.into_iter().zip(v) {
                    let _ = reply.send(r);
                }
            }
            _ => {
                let msg = format!(
                    "commit reached {committed} of {} required metadata replicas: {last_err}",
                    self.quorum
                );
                answer_all(group, &|| MetaError::Storage(msg.clone()));
            }
        }
    }

    fn resync(&mut self) -> usize {
        let Some((src_i, _)) = self.online().into_iter().next() else {
            return 0;
        };
        let Ok(reps) = self.replicas.read() else {
            return 0;
        };
        let src = reps[src_i].path.clone();
        let stale: Vec<(usize, PathBuf)> = reps
            .iter()
            .enumerate()
            .filter(|(_, r)| r.db.is_none() && r.path.parent().is_some_and(Path::is_dir))
            .map(|(i, r)| (i, r.path.clone()))
            .collect();
        drop(reps);
        let mut n = 0;
        for (i, dst) in stale {
            // Between groups nothing is being written: the source file is a committed state.
            let opened = copy_replica(&src, &dst).and_then(|()| open_db(&dst, cache_for(i)));
            match opened {
                Ok(db) => {
                    if let Ok(mut reps) = self.replicas.write() {
                        reps[i].ino = inode(&dst).unwrap_or(0);
                        reps[i].db = Some(Arc::new(db));
                        tracing::warn!(path = %dst.display(), "metadata replica rebuilt and back online");
                        n += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(path = %dst.display(), error = %e, "metadata replica still cannot be rebuilt")
                }
            }
        }
        n
    }
}

fn same_verdicts(a: &[Result<(), MetaError>], b: &[Result<(), MetaError>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Ok(()), Ok(())) => true,
            (Err(MetaError::Conflict(i)), Err(MetaError::Conflict(j))) => i == j,
            _ => false,
        })
}

/// Applies every batch of the group in one transaction with the new sequence number; returns
/// each batch's own verdict, or why the transaction as a whole failed.
fn apply_group(db: &Database, group: &[&Batch], seq: u64) -> GroupOutcome {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    let mut results = Vec::with_capacity(group.len());
    for batch in group {
        match apply_batch(&txn, batch) {
            Ok(r) => results.push(r),
            Err(e) => {
                let _ = txn.abort();
                return Err(e.to_string());
            }
        }
    }
    let stamped = txn
        .open_table(def(Table::System))
        .map_err(|e| e.to_string())
        .and_then(|mut t| {
            t.insert(SEQ_KEY, seq.to_le_bytes().as_slice())
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = stamped {
        let _ = txn.abort();
        return Err(e.to_string());
    }
    txn.commit().map_err(|e| e.to_string())?;
    Ok(results)
}

/// Ok(Err(Conflict)) when a check fails (nothing applied); Err on a storage failure.
fn apply_batch(txn: &WriteTransaction, batch: &Batch) -> Result<Result<(), MetaError>, MetaError> {
    for (i, check) in batch.checks.iter().enumerate() {
        let holds = match check {
            Check::Absent(t, k) => txn.open_table(def(*t))?.get(k.as_slice())?.is_none(),
            Check::Equals(t, k, v) => txn
                .open_table(def(*t))?
                .get(k.as_slice())?
                .is_some_and(|g| g.value() == v.as_slice()),
            Check::RangeDigest(t, s, e, want) => {
                let table = txn.open_table(def(*t))?;
                digest_of(&table, s, e)? == *want
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
            Op::DeleteRange(t, s, e) => {
                let mut table = txn.open_table(def(*t))?;
                if e.is_empty() {
                    table.retain_in::<&[u8], _>(s.as_slice().., |_, _| false)?;
                } else if s < e {
                    table.retain_in::<&[u8], _>(s.as_slice()..e.as_slice(), |_, _| false)?;
                }
            }
        }
    }
    Ok(Ok(()))
}

type RangeIter<'a> = redb::Range<'a, &'static [u8], &'static [u8]>;

/// The digest of `[start, end)` of `table` (see [`crate::txn::range_digest`]).
pub(crate) fn digest_of<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    start: &[u8],
    end: &[u8],
) -> Result<[u8; 32], MetaError> {
    let mut d = crate::txn::RangeDigest::default();
    if end.is_empty() || start < end {
        for item in range(table, start, end)? {
            let (k, v) = item?;
            d.add(k.value(), v.value());
        }
    }
    Ok(d.finish())
}

pub(crate) fn range<'a, T: ReadableTable<&'static [u8], &'static [u8]>>(
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

/// Reads and commits outside transactions, for this crate's unit tests of the committer.
#[cfg(test)]
impl RedbStore {
    /// Point read of the latest committed state (outside any transaction).
    pub(crate) fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        crate::faults::read_point(table, key)?;
        self.with_reader(|db| {
            let r = db.begin_read()?;
            let t = r.open_table(def(table))?;
            Ok(t.get(key)?.map(|g| g.value().to_vec()))
        })
    }

    /// Scan of the latest committed state (outside any transaction).
    pub(crate) fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> ScanStep,
    ) -> Result<(), MetaError> {
        // No retry on another replica here: the visitor may have seen keys already.
        let db = self.reader()?;
        let r = db.begin_read()?;
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

    /// Commits one batch (its checks, then its writes) through the group committer.
    pub(crate) fn commit(
        &self,
        batch: Batch,
    ) -> Pin<Box<dyn Future<Output = Result<(), MetaError>> + Send + '_>> {
        let sent = self.submit(batch);
        Box::pin(async move { sent?.await.map_err(|_| MetaError::Closed)? })
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
        b.check(Check::RangeDigest(
            Table::Objects,
            b"x\0".to_vec(),
            b"x\x01".to_vec(),
            crate::txn::range_digest([]),
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

    fn replica_paths(dir: &tempfile::TempDir) -> Vec<std::path::PathBuf> {
        (0..3)
            .map(|i| dir.path().join(format!("r{i}.redb")))
            .collect()
    }

    fn put(k: &[u8]) -> Batch {
        let mut b = Batch::new();
        b.put(Table::Objects, k.to_vec(), b"v".to_vec());
        b
    }

    #[tokio::test]
    async fn replicas_all_commit_and_missing_or_stale_ones_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let paths = replica_paths(&dir);
        {
            let s = RedbStore::open_replicated(&paths, 2).unwrap();
            s.commit(put(b"a")).await.unwrap();
        }
        // r1 misses a commit (kept aside and put back), r2 is lost.
        std::fs::copy(&paths[1], dir.path().join("old")).unwrap();
        {
            let s = RedbStore::open_replicated(&paths, 2).unwrap();
            s.commit(put(b"b")).await.unwrap();
        }
        std::fs::rename(dir.path().join("old"), &paths[1]).unwrap();
        std::fs::remove_file(&paths[2]).unwrap();
        drop(RedbStore::open_replicated(&paths, 2).unwrap());
        // Every replica alone now has both commits.
        for p in &paths {
            let s = RedbStore::open(p).unwrap();
            assert!(s.get(Table::Objects, b"a").unwrap().is_some());
            assert!(
                s.get(Table::Objects, b"b").unwrap().is_some(),
                "{}",
                p.display()
            );
        }
    }

    #[tokio::test]
    async fn a_vanished_replica_goes_offline_quorum_guards_writes_and_resync_restores() {
        let dir = tempfile::tempdir().unwrap();
        let paths = replica_paths(&dir);
        let s = RedbStore::open_replicated(&paths, 2).unwrap();
        s.commit(put(b"a")).await.unwrap();
        std::fs::remove_file(&paths[0]).unwrap();
        assert_eq!(s.check_replicas(), 1);
        s.commit(put(b"b")).await.unwrap();
        assert!(s.get(Table::Objects, b"b").unwrap().is_some());
        std::fs::remove_file(&paths[1]).unwrap();
        assert_eq!(s.check_replicas(), 1);
        assert!(matches!(
            s.commit(put(b"c")).await,
            Err(MetaError::Quorum {
                needed: 2,
                available: 1
            })
        ));
        assert!(s.get(Table::Objects, b"c").unwrap().is_none());
        assert_eq!(s.resync().await, 2);
        assert!(s.replica_status().iter().all(|r| r.online));
        s.commit(put(b"c")).await.unwrap();
        drop(s);
        let s = RedbStore::open(&paths[0]).unwrap();
        for k in [b"a", b"b", b"c"] {
            assert!(s.get(Table::Objects, k).unwrap().is_some());
        }
    }
}
