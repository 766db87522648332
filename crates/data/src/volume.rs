//! Volumes and their layout:
//!
//! ```text
//! VOLUME/.rustfs.sys/format.json    volume identity and layout version
//! VOLUME/.rustfs.sys/meta.redb      metadata replica (every volume holds one)
//! VOLUME/.rustfs.sys/tmp/           files being written; wiped at start
//! VOLUME/.rustfs.sys/data/XX/ID     committed data files (one shard of object data each),
//!                                   XX = first two hex digits of ID; the shards of one
//!                                   object share its ID, one per volume
//! ```
//! Object keys never become paths: a file is named by a random id only.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rustfs_meta::DataRef;

use crate::erasure::{ErasureReader, ErasureWriter, HealQueue};
use crate::format::{ShardHeader, header_probe_len};
use crate::layout::Layout;
use crate::remote::RemoteVolume;
use crate::shard::{ShardInput, ShardOutput};
use crate::space::{CHECK_STEP, Reserve, RoomCheck, Space};
use crate::{BlockReader, BlockWriter, DataError};

const SYS_DIR: &str = ".rustfs.sys";
const LAYOUT_VERSION: u32 = 1;

#[derive(Debug)]
pub(crate) struct Volume {
    pub(crate) root: PathBuf,
    online: AtomicBool,
    /// Whether the last health check found it at its reserve: only to log the change, never
    /// to decide a write (each write asks the filesystem).
    low: AtomicBool,
}

/// What a write probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// It takes durable writes.
    Ok,
    /// It answered "no space": full, but alive (reads and deletes work).
    Full,
    /// Gone, wiped, read-only or failing.
    Failed,
}

impl Volume {
    fn sys(&self) -> PathBuf {
        self.root.join(SYS_DIR)
    }
    fn tmp(&self) -> PathBuf {
        self.sys().join("tmp")
    }
    fn data(&self) -> PathBuf {
        self.sys().join("data")
    }
    pub(crate) fn data_file(&self, id: &str) -> PathBuf {
        self.data().join(id.get(..2).unwrap_or("00")).join(id)
    }
    pub(crate) fn is_online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    /// Opens a writer for one file of data id `id` on this volume; it refuses bytes that would
    /// take the volume into `reserve`.
    pub(crate) fn create_file(
        &self,
        id: &str,
        header: &ShardHeader,
        reserve: Reserve,
    ) -> Result<BlockWriter, DataError> {
        // The tmp name is unique per shard too: a repair may rewrite a shard while its
        // original still exists.
        let tmp = self.tmp().join(format!(
            "{id}.{}.{}",
            header.shard_index,
            uuid::Uuid::new_v4().simple()
        ));
        BlockWriter::create(
            tmp,
            self.data_file(id),
            header,
            RoomCheck::new(&self.root, reserve),
        )
    }

    /// Writes, syncs and removes a small file: proof the volume accepts durable writes. "No
    /// space" is an answer from a live filesystem: the volume is full, not failed.
    fn probe(&self) -> Probe {
        if !self.sys().join("format.json").is_file() {
            return Probe::Failed;
        }
        let probe = self
            .tmp()
            .join(format!("probe-{}", uuid::Uuid::new_v4().simple()));
        let r = write_probe(&probe);
        let _ = fs::remove_file(&probe);
        match r {
            Ok(()) => Probe::Ok,
            Err(e) if crate::space::is_no_space(&e) => Probe::Full,
            Err(_) => Probe::Failed,
        }
    }

    /// Bytes data writes may still use before the reserve (`None`: the size cannot be read).
    fn slack(&self, reserve: Reserve) -> Option<u64> {
        Space::of(&self.root).ok().map(|s| s.slack(reserve))
    }

    /// Logs when the volume reaches its reserve and when it has room again.
    fn note_space(&self, reserve: Reserve, probe: Probe) {
        let low = probe == Probe::Full || self.slack(reserve).is_some_and(|s| s < CHECK_STEP);
        if self.low.swap(low, Ordering::AcqRel) != low {
            if low {
                tracing::warn!(volume = %self.root.display(), %reserve, "volume is full (at its free-space reserve): new data is refused with 507 until space is freed; reads and deletes go on");
            } else {
                tracing::info!(volume = %self.root.display(), "volume has free space again; writes resume");
            }
        }
    }
}

fn write_probe(path: &Path) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(b"probe")?;
    f.sync_all()
}

/// A committed data file found by [`DataStore::stored_files`].
#[derive(Debug)]
pub struct StoredFile {
    pub volume: u16,
    pub id: String,
    pub path: PathBuf,
    /// `None` when the header cannot be read (a damaged or foreign file).
    pub header: Option<ShardHeader>,
}

/// Health of one volume, for logs, admin reports and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeStatus {
    pub root: PathBuf,
    pub online: bool,
    /// Less than 1 MiB is left above its free-space reserve: new data is refused.
    pub full: bool,
    /// Size of the filesystem holding it (`None`: a volume of another node, or unreadable).
    pub total_bytes: Option<u64>,
    /// Bytes still available on that filesystem (`f_bavail`).
    pub free_bytes: Option<u64>,
    /// The other node holding it (`None`: this node's own).
    pub node: Option<String>,
}

/// What [`DataStore::check_volumes`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeChanges {
    /// Volumes found gone, wiped or failing, now offline.
    pub went_offline: Vec<usize>,
    /// Volumes usable again (re-formatted if they came back empty): need healing.
    pub came_back: Vec<usize>,
}

/// One erasure set: the volumes a new object's shards are spread over, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSet {
    pub layout: Layout,
    /// Volume ids, `layout.shards()` of them.
    pub volumes: Vec<u16>,
}

/// Picks the set (an index below `sets`) for a new object at bucket and key.
pub type SetChooser = fn(bucket: &str, key: &str, sets: usize) -> usize;

/// The volumes shards can go to: this server's own, and in a cluster the other nodes'.
pub(crate) struct Volumes {
    pub(crate) list: Vec<Volume>,
    /// The id of each local volume: its index on a single server, its cluster-wide id in a
    /// cluster (the ids data references name).
    pub(crate) ids: Vec<u16>,
    /// Other nodes' volumes; more join when the cluster's layout grows.
    remote: RwLock<BTreeMap<u16, Arc<dyn RemoteVolume>>>,
    /// Shard files whose removal could not reach their node: for the caller to keep as
    /// deferred deletions.
    unremoved: Arc<Mutex<Vec<(u16, String)>>>,
    /// Whether each remote volume was reachable at the last check, to see it come back.
    remote_seen: Mutex<BTreeMap<u16, bool>>,
    /// Free space each volume keeps for metadata commits and deletes.
    pub(crate) reserve: Reserve,
}

impl Volumes {
    /// Another node's volume `id`.
    fn remote(&self, id: u16) -> Option<Arc<dyn RemoteVolume>> {
        self.remote.read().ok()?.get(&id).cloned()
    }

    fn remotes(&self) -> Vec<(u16, Arc<dyn RemoteVolume>)> {
        self.remote
            .read()
            .map(|r| r.iter().map(|(id, v)| (*id, v.clone())).collect())
            .unwrap_or_default()
    }

    /// The local volume with id `id`.
    pub(crate) fn get(&self, id: u16) -> Option<&Volume> {
        let i = self.ids.iter().position(|&x| x == id)?;
        self.list.get(i)
    }

    pub(crate) fn is_online(&self, id: u16) -> bool {
        match self.get(id) {
            Some(v) => v.is_online(),
            None => self.remote(id).is_some_and(|r| r.is_online()),
        }
    }

    fn unknown(id: u16) -> DataError {
        DataError::Volume {
            path: PathBuf::from(format!("volume {id}")),
            reason: "unknown or offline".into(),
        }
    }

    /// Starts shard file `data_id` on volume `id` (online: the caller checked).
    pub(crate) fn create_shard(
        &self,
        id: u16,
        data_id: &str,
        header: &ShardHeader,
    ) -> Result<ShardOutput, DataError> {
        if let Some(v) = self.get(id) {
            return v
                .create_file(data_id, header, self.reserve)
                .map(ShardOutput::Local);
        }
        match self.remote(id) {
            Some(r) => r.create(data_id, header).map(ShardOutput::Remote),
            None => Err(Self::unknown(id)),
        }
    }

    /// Opens shard file `data_id` on volume `id`; `Ok(None)` when the volume is offline or
    /// unknown.
    pub(crate) fn open_shard(
        &self,
        id: u16,
        data_id: &str,
        first_block: bool,
    ) -> Result<Option<ShardInput>, DataError> {
        if let Some(v) = self.get(id) {
            if !v.is_online() {
                return Ok(None);
            }
            return BlockReader::open(&v.data_file(data_id)).map(|r| Some(ShardInput::Local(r)));
        }
        match self.remote(id) {
            Some(r) if r.is_online() => r
                .open(data_id, first_block)
                .map(|r| Some(ShardInput::Remote(r))),
            _ => Ok(None),
        }
    }

    /// Removes shard file `data_id` from this server's volume `id` (done when it is not
    /// there).
    pub(crate) fn remove_local(&self, id: u16, data_id: &str) -> Result<(), DataError> {
        let v = self.get(id).ok_or_else(|| Self::unknown(id))?;
        let p = v.data_file(data_id);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DataError::io(&p, e)),
        }
    }

    /// Removes shard file `data_id` from volume `id`: at once on this server's volumes; on
    /// another node's, started and finished in the background, a removal that cannot reach
    /// its node kept in `unremoved` (for deferred deletion). Local failures are logged and
    /// left to the orphan sweep.
    pub(crate) fn remove_shard(&self, id: u16, data_id: &str) {
        let fail = |e: &DataError| {
            tracing::warn!(volume = id, id = %data_id, error = %e, "could not remove data file");
        };
        if self.get(id).is_some() {
            if let Err(e) = self.remove_local(id, data_id) {
                fail(&e);
            }
            return;
        }
        let Some(r) = self.remote(id).filter(|r| r.is_online()) else {
            fail(&Self::unknown(id));
            push_unremoved(&self.unremoved, id, data_id);
            return;
        };
        let unremoved = self.unremoved.clone();
        let data_id = data_id.to_string();
        let file = data_id.clone();
        r.remove(
            &data_id,
            Box::new(move |outcome| {
                if let Err(e) = outcome {
                    tracing::warn!(volume = id, id = %file, error = %e, "could not remove data file on its node; deferred");
                    push_unremoved(&unremoved, id, &file);
                }
            }),
        );
    }

    /// Called on an I/O error on volume `id`: if a local volume no longer takes durable writes
    /// (gone, wiped, read-only, failing), it goes offline and stays so until the monitor sees
    /// it back; a remote volume whose node did not answer goes offline until its node is seen
    /// alive again. A volume out of space is full, not failed: it stays online.
    pub(crate) fn report_error(&self, id: u16, err: &DataError) {
        let Some(v) = self.get(id) else {
            if let Some(r) = self.remote(id) {
                r.report_error(err);
            }
            return;
        };
        if matches!(err, DataError::NoSpace(_)) {
            tracing::debug!(volume = %v.root.display(), error = %err, "volume full; it stays online");
            return;
        }
        if v.is_online() && v.probe() == Probe::Failed {
            v.online.store(false, Ordering::Release);
            tracing::error!(volume = %v.root.display(), error = %err, "volume failed; marked offline");
        }
    }
}

/// The set of volumes this server writes to.
pub struct DataStore {
    pub(crate) vols: Arc<Volumes>,
    /// The layout of new objects' sets (every set of a pool has the same).
    layout: RwLock<Layout>,
    /// The sets of the newest pool (replaced when the cluster's layout grows).
    sets: RwLock<Vec<ShardSet>>,
    choose: Option<SetChooser>,
    pub(crate) queue: Arc<HealQueue>,
}

fn vol_err(path: &Path, reason: impl std::fmt::Display) -> DataError {
    DataError::Volume {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// fsync a directory so a rename or create inside it is durable.
pub(crate) fn sync_dir(path: &Path) -> Result<(), DataError> {
    rustfs_meta::faults::sync_point()
        .and_then(|()| fs::File::open(path))
        .and_then(|d| d.sync_all())
        .map_err(|e| DataError::io(path, e))
}

impl DataStore {
    /// Prepares every volume: creates the layout, proves it writable, and removes temporary
    /// files a crash left behind. `layout` must span exactly the given volumes. Each volume keeps
    /// the default free-space reserve ([`Reserve::Auto`]).
    pub fn open(roots: &[PathBuf], layout: Layout) -> Result<Self, DataError> {
        Self::open_with_reserve(roots, layout, Reserve::Auto)
    }

    /// [`DataStore::open`], with `reserve` kept free on each volume for metadata commits and
    /// deletes: data writes that would use it are refused ([`DataError::NoSpace`]).
    pub fn open_with_reserve(
        roots: &[PathBuf],
        layout: Layout,
        reserve: Reserve,
    ) -> Result<Self, DataError> {
        if roots.is_empty() {
            return Err(vol_err(Path::new(""), "no volume given"));
        }
        if roots.len() != layout.shards() {
            return Err(vol_err(
                Path::new(""),
                format!("layout {layout} does not span {} volumes", roots.len()),
            ));
        }
        let ids: Vec<u16> = (0..roots.len()).map(|i| i as u16).collect();
        let set = ShardSet {
            layout,
            volumes: ids.clone(),
        };
        Self::assemble(roots, ids, vec![set], None, Vec::new(), reserve)
    }

    /// A cluster node's data store: its own volumes `local` (each with its cluster-wide id),
    /// the other nodes' volumes `remote`, and the erasure sets new objects go to (`choose`
    /// picks one from bucket and key). Every set must have the same layout.
    pub fn open_cluster(
        local: &[(u16, PathBuf)],
        remote: Vec<(u16, Arc<dyn RemoteVolume>)>,
        sets: Vec<ShardSet>,
        choose: SetChooser,
        reserve: Reserve,
    ) -> Result<Self, DataError> {
        if local.is_empty() {
            return Err(vol_err(Path::new(""), "no volume given"));
        }
        check_sets(&sets, |v| {
            local.iter().any(|(id, _)| *id == v) || remote.iter().any(|(id, _)| *id == v)
        })?;
        let roots: Vec<PathBuf> = local.iter().map(|(_, p)| p.clone()).collect();
        let ids = local.iter().map(|(id, _)| *id).collect();
        Self::assemble(&roots, ids, sets, Some(choose), remote, reserve)
    }

    fn assemble(
        roots: &[PathBuf],
        ids: Vec<u16>,
        sets: Vec<ShardSet>,
        choose: Option<SetChooser>,
        remote: Vec<(u16, Arc<dyn RemoteVolume>)>,
        reserve: Reserve,
    ) -> Result<Self, DataError> {
        let mut list = Vec::with_capacity(roots.len());
        for root in roots {
            list.push(open_volume(root, reserve)?);
        }
        let layout = sets
            .first()
            .map_or(Layout { data: 1, parity: 0 }, |s| s.layout);
        let remote_seen = remote.iter().map(|(id, r)| (*id, r.is_online())).collect();
        Ok(Self {
            vols: Arc::new(Volumes {
                list,
                ids,
                remote: RwLock::new(remote.into_iter().collect()),
                remote_seen: Mutex::new(remote_seen),
                unremoved: Arc::new(Mutex::new(Vec::new())),
                reserve,
            }),
            layout: RwLock::new(layout),
            sets: RwLock::new(sets),
            choose,
            queue: Arc::new(HealQueue::default()),
        })
    }

    pub fn layout(&self) -> Layout {
        self.layout
            .read()
            .map_or(Layout { data: 1, parity: 0 }, |l| *l)
    }

    /// Where the embedded metadata database's replicas live: one per volume.
    pub fn meta_paths(&self) -> Vec<PathBuf> {
        self.vols
            .list
            .iter()
            .map(|v| v.sys().join("meta.redb"))
            .collect()
    }

    pub fn volume_roots(&self) -> Vec<&Path> {
        self.vols.list.iter().map(|v| v.root.as_path()).collect()
    }

    pub fn volume_status(&self) -> Vec<VolumeStatus> {
        self.vols
            .list
            .iter()
            .map(|v| {
                let space = Space::of(&v.root).ok();
                VolumeStatus {
                    root: v.root.clone(),
                    online: v.is_online(),
                    full: space.is_some_and(|s| s.slack(self.vols.reserve) < CHECK_STEP),
                    total_bytes: space.map(|s| s.total),
                    free_bytes: space.map(|s| s.avail),
                    node: None,
                }
            })
            .chain(self.vols.remotes().into_iter().map(|(_, r)| VolumeStatus {
                root: PathBuf::from(r.describe()),
                online: r.is_online(),
                full: false,
                total_bytes: None,
                free_bytes: None,
                node: Some(r.node()),
            }))
            .collect()
    }

    /// How many volumes are online, of how many: from the volumes' state flags, without
    /// touching a disk (for health checks).
    pub fn volumes_online(&self) -> (usize, usize) {
        let remotes = self.vols.remotes();
        let online = self.vols.list.iter().filter(|v| v.is_online()).count()
            + remotes.iter().filter(|(_, r)| r.is_online()).count();
        (online, self.vols.list.len() + remotes.len())
    }

    /// The fewest online volumes in any erasure set new objects go to (each set's shards are
    /// spread over its own volumes, so a write needs its set's quorum: the weakest set decides
    /// whether every key is writable).
    pub fn weakest_set_online(&self) -> usize {
        let Ok(sets) = self.sets.read() else {
            return 0;
        };
        sets.iter()
            .map(|set| {
                set.volumes
                    .iter()
                    .filter(|&&id| self.vols.is_online(id))
                    .count()
            })
            .min()
            .unwrap_or(0)
    }

    /// The free-space reserve each volume keeps.
    pub fn reserve(&self) -> Reserve {
        self.vols.reserve
    }

    /// Whether `len` more bytes of metadata fit above the reserve on every online volume: a
    /// body stored inline lives in the metadata, which every volume holds a replica of, so
    /// it needs room on each of them.
    pub fn check_room(&self, len: u64) -> Result<(), DataError> {
        for v in self.vols.list.iter().filter(|v| v.is_online()) {
            if v.slack(self.vols.reserve).is_some_and(|s| s < len) {
                return Err(DataError::NoSpace(v.root.clone()));
            }
        }
        Ok(())
    }

    /// Finds volumes that went away (directory gone, `format.json` wiped, no longer writable)
    /// and offline volumes that are usable again; a volume that comes back empty (a replaced
    /// drive) is formatted afresh. A full volume is neither: it stays online (its fill level is
    /// logged when it changes). Called periodically by the server's monitor.
    pub fn check_volumes(&self) -> VolumeChanges {
        let mut changes = VolumeChanges::default();
        for (i, v) in self.vols.list.iter().enumerate() {
            if v.is_online() {
                let probe = v.probe();
                if probe != Probe::Failed {
                    v.note_space(self.vols.reserve, probe);
                    continue;
                }
                v.online.store(false, Ordering::Release);
                tracing::error!(volume = %v.root.display(), "volume is gone or not writable; marked offline");
                changes.went_offline.push(usize::from(self.vols.ids[i]));
            }
            // Offline (or just taken offline): usable again, or replaced by an empty drive?
            if v.root.is_dir() && prepare(v).is_ok() && v.probe() != Probe::Failed {
                v.online.store(true, Ordering::Release);
                tracing::warn!(volume = %v.root.display(), "volume is back online; its shards will be healed");
                changes.came_back.push(usize::from(self.vols.ids[i]));
            }
        }
        // Other nodes' volumes: reachable or not as their nodes' heartbeats and our calls say.
        if let Ok(mut seen) = self.vols.remote_seen.lock() {
            for (id, r) in self.vols.remotes() {
                let now = r.is_online();
                let was = seen.insert(id, now).unwrap_or(now);
                if was && !now {
                    tracing::warn!(volume = %r.describe(), "remote volume unreachable; its shards are rebuilt from parity on read");
                    changes.went_offline.push(usize::from(id));
                } else if !was && now {
                    tracing::info!(volume = %r.describe(), "remote volume reachable again; its shards will be healed");
                    changes.came_back.push(usize::from(id));
                }
            }
        }
        changes
    }

    /// Starts a new object's data: one file per shard, each on its own volume. Fails with
    /// [`DataError::NoSpace`] when full volumes leave fewer than a write quorum of shards.
    pub fn create(&self, header: ShardHeader) -> Result<ErasureWriter, DataError> {
        let set = {
            let sets = self
                .sets
                .read()
                .map_err(|_| vol_err(Path::new(""), "erasure sets unreadable"))?;
            let i = match self.choose {
                Some(choose) if sets.len() > 1 => {
                    choose(&header.bucket, &header.key, sets.len()).min(sets.len() - 1)
                }
                _ => 0,
            };
            sets.get(i)
                .cloned()
                .ok_or_else(|| vol_err(Path::new(""), "no erasure set"))?
        };
        ErasureWriter::create(self.vols.clone(), &set, header)
    }

    /// The most memory one writer from [`DataStore::create`] holds while its bytes flow (see
    /// [`crate::erasure::staging_bytes`]); a parked writer holds almost none of it.
    pub fn staging_bytes(&self) -> usize {
        crate::erasure::staging_bytes(self.layout())
    }

    /// Opens a committed object's data for verified reads.
    pub fn open_read(&self, r: &DataRef) -> Result<ErasureReader, DataError> {
        ErasureReader::open(self.vols.clone(), self.queue.clone(), r)
    }

    /// Data references whose reads met a missing or damaged shard since the last call.
    pub fn take_damaged(&self, max: usize) -> Vec<DataRef> {
        self.queue.take(max)
    }

    /// Removes a data reference's files no longer referenced. Best effort: a leftover is swept
    /// at start.
    pub fn remove(&self, r: &DataRef) {
        crate::erasure::remove_files(&self.vols, r);
    }

    /// The cluster's layout grew: new objects go to `sets` (the newest pool's), and other
    /// nodes' volumes `remote` (the new nodes') join those already known. Objects already
    /// stored stay where their references say.
    pub fn grow(
        &self,
        remote: Vec<(u16, Arc<dyn RemoteVolume>)>,
        sets: Vec<ShardSet>,
    ) -> Result<(), DataError> {
        let layout = {
            let mut known = self
                .vols
                .remote
                .write()
                .map_err(|_| vol_err(Path::new(""), "volume map unwritable"))?;
            for (id, r) in remote {
                if self.vols.get(id).is_none() {
                    known.entry(id).or_insert(r);
                }
            }
            check_sets(&sets, |v| {
                self.vols.get(v).is_some() || known.contains_key(&v)
            })?
        };
        if let Ok(mut seen) = self.vols.remote_seen.lock() {
            for (id, r) in self.vols.remotes() {
                seen.entry(id).or_insert_with(|| r.is_online());
            }
        }
        *self
            .sets
            .write()
            .map_err(|_| vol_err(Path::new(""), "erasure sets unwritable"))? = sets;
        if let Ok(mut l) = self.layout.write() {
            *l = layout;
        }
        Ok(())
    }

    /// Another node's volumes are now reached through `remote` (the node registered a new
    /// address): they replace the ones known under the same ids.
    pub fn replace_remote(&self, remote: Vec<(u16, Arc<dyn RemoteVolume>)>) {
        if let Ok(mut known) = self.vols.remote.write() {
            for (id, r) in remote {
                if self.vols.get(id).is_none() {
                    known.insert(id, r);
                }
            }
        }
    }

    /// Shard files [`DataStore::remove`] could not remove because their volume (another
    /// node's) was unreachable, since the last call: the caller records them as deferred
    /// deletions, done by the volume's node when it is back.
    pub fn take_unremoved(&self) -> Vec<(u16, String)> {
        self.vols
            .unremoved
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default()
    }

    /// The ids of this server's own volumes.
    pub fn local_volume_ids(&self) -> Vec<u16> {
        self.vols.ids.clone()
    }

    fn local(&self, volume: u16) -> Result<&Volume, DataError> {
        self.vols
            .get(volume)
            .filter(|v| v.is_online())
            .ok_or_else(|| Volumes::unknown(volume))
    }

    /// Starts shard file `id` on this node's volume `volume`, for another node's write: the
    /// file is visible only once [`BlockWriter::finish`] made it durable.
    pub fn local_create(
        &self,
        volume: u16,
        id: &str,
        header: &ShardHeader,
    ) -> Result<BlockWriter, DataError> {
        check_id(id)?;
        let v = self.local(volume)?;
        v.create_file(id, header, self.vols.reserve)
            .inspect_err(|e| {
                self.vols.report_error(volume, e);
            })
    }

    /// Opens shard file `id` on this node's volume `volume` for verified reads.
    pub fn local_open(&self, volume: u16, id: &str) -> Result<BlockReader, DataError> {
        check_id(id)?;
        BlockReader::open(&self.local(volume)?.data_file(id))
    }

    /// Removes shard file `id` from this node's volume `volume` (done if it is not there).
    pub fn local_remove(&self, volume: u16, id: &str) -> Result<(), DataError> {
        check_id(id)?;
        self.local(volume)?;
        self.vols.remove_local(volume, id)
    }

    /// Every committed data file last modified before `before`, with its header, for the orphan
    /// sweep and for rebuilding an index from the data.
    pub fn stored_files(&self, before: SystemTime) -> Vec<StoredFile> {
        let mut out = Vec::new();
        for (vi, vol) in self.vols.list.iter().enumerate() {
            let Ok(fanout) = fs::read_dir(vol.data()) else {
                continue;
            };
            for dir in fanout.flatten() {
                let Ok(files) = fs::read_dir(dir.path()) else {
                    continue;
                };
                for f in files.flatten() {
                    let path = f.path();
                    let recent = f
                        .metadata()
                        .and_then(|m| m.modified())
                        .map(|t| t >= before)
                        .unwrap_or(true);
                    if recent {
                        continue;
                    }
                    let id = f.file_name().to_string_lossy().into_owned();
                    let header = read_header(&path).ok();
                    out.push(StoredFile {
                        volume: self.vols.ids[vi],
                        id,
                        path,
                        header,
                    });
                }
            }
        }
        out
    }
}

/// Opens one local volume directory: created if missing (never its parents), formatted and
/// proved writable.
fn open_volume(root: &Path, reserve: Reserve) -> Result<Volume, DataError> {
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(vol_err(root, "not a directory")),
        // Create the volume directory itself, but never its parents: a missing parent
        // usually means a drive that is not mounted, and writing to the root
        // filesystem instead would be silent data loss later.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match root.parent().filter(|p| !p.as_os_str().is_empty()) {
                Some(parent) if !parent.is_dir() => {
                    return Err(vol_err(
                        root,
                        format!(
                            "does not exist, nor does its parent {} (is the drive mounted?)",
                            parent.display()
                        ),
                    ));
                }
                _ => fs::create_dir(root).map_err(|e| {
                    vol_err(root, format!("does not exist and cannot be created: {e}"))
                })?,
            }
        }
        Err(e) => return Err(vol_err(root, e)),
    }
    let v = Volume {
        root: root.to_path_buf(),
        online: AtomicBool::new(true),
        low: AtomicBool::new(false),
    };
    prepare(&v)?;
    v.note_space(reserve, Probe::Ok);
    Ok(v)
}

/// Most failed remote removals kept for the caller between two calls.
const UNREMOVED_MAX: usize = 100_000;

/// Keeps a removal that could not reach its node. Bounded: what overflows is left to the orphan
/// sweep of the volume's node.
fn push_unremoved(list: &Mutex<Vec<(u16, String)>>, volume: u16, id: &str) {
    if let Ok(mut u) = list.lock()
        && u.len() < UNREMOVED_MAX
    {
        u.push((volume, id.to_string()));
    }
}

/// A data id is 32 hex digits: never a path.
fn check_id(id: &str) -> Result<(), DataError> {
    if crate::format::is_data_id(id) {
        Ok(())
    } else {
        Err(DataError::corrupt(Path::new(id), "malformed data id"))
    }
}

/// Checks a pool's sets: one layout for all, each as many volumes as it has shards, every
/// volume `known`. Returns the layout.
fn check_sets(sets: &[ShardSet], known: impl Fn(u16) -> bool) -> Result<Layout, DataError> {
    let Some(first) = sets.first() else {
        return Err(vol_err(Path::new(""), "the layout has no erasure set"));
    };
    for set in sets {
        if set.layout != first.layout || set.volumes.len() != set.layout.shards() {
            return Err(vol_err(
                Path::new(""),
                format!(
                    "erasure set {:?} does not match layout {}",
                    set.volumes, first.layout
                ),
            ));
        }
        if let Some(v) = set.volumes.iter().find(|v| !known(**v)) {
            return Err(vol_err(
                Path::new(""),
                format!("volume {v} of the layout belongs to no known node"),
            ));
        }
    }
    Ok(first.layout)
}

fn read_header(path: &Path) -> Result<ShardHeader, DataError> {
    use std::io::Read;
    let mut f = fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut probe = vec![0u8; header_probe_len()];
    f.read_exact(&mut probe)
        .map_err(|e| DataError::io(path, e))?;
    let len = ShardHeader::declared_len(&probe).map_err(|r| DataError::corrupt(path, r))?;
    if len > 64 * 1024 {
        return Err(DataError::corrupt(path, "header too long"));
    }
    let mut buf = probe;
    buf.resize(len, 0);
    f.read_exact(&mut buf[header_probe_len()..])
        .map_err(|e| DataError::io(path, e))?;
    ShardHeader::decode(&buf).map_err(|r| DataError::corrupt(path, r))
}

fn prepare(v: &Volume) -> Result<(), DataError> {
    let sys = v.sys();
    let mkdir = |p: &Path| {
        fs::create_dir_all(p)
            .map_err(|e| vol_err(&v.root, format!("cannot create {}: {e}", p.display())))
    };
    mkdir(&sys)?;
    // Temporary files of writes a crash interrupted: never referenced, safe to drop.
    let tmp = v.tmp();
    if tmp.exists() {
        fs::remove_dir_all(&tmp)
            .map_err(|e| vol_err(&v.root, format!("cannot clear {}: {e}", tmp.display())))?;
    }
    mkdir(&tmp)?;
    let data = v.data();
    mkdir(&data)?;
    for i in 0..=255u8 {
        mkdir(&data.join(format!("{i:02x}")))?;
    }
    // Prove the volume writable and syncable now rather than on the first PUT. A formatted
    // volume that is merely full is usable: it serves reads and deletes (which free space).
    let format = sys.join("format.json");
    let probe = tmp.join("write-probe");
    let probed = write_probe(&probe);
    let _ = fs::remove_file(&probe);
    match probed {
        Ok(()) => {}
        Err(e) if crate::space::is_no_space(&e) && format.is_file() => {
            tracing::warn!(volume = %v.root.display(), "volume is full: it serves reads and deletes; new data is refused until space is freed");
        }
        Err(e) => return Err(vol_err(&v.root, format!("not writable: {e}"))),
    }
    if !format.exists() {
        let body = format!(
            "{{\"layout_version\":{LAYOUT_VERSION},\"volume_id\":\"{}\"}}\n",
            uuid::Uuid::new_v4()
        );
        let tmpf = tmp.join("format.json");
        fs::File::create(&tmpf)
            .and_then(|mut f| {
                f.write_all(body.as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| fs::rename(&tmpf, &format))
            .map_err(|e| vol_err(&v.root, format!("cannot write format.json: {e}")))?;
    }
    for d in [&data, &sys, &v.root] {
        sync_dir(d).map_err(|e| vol_err(&v.root, e))?;
    }
    Ok(())
}
