//! Erasure-coded object data: the writer cuts each block into `data` chunks, adds `parity`
//! Reed-Solomon chunks and streams chunk `i` of every block into shard file `i` on its own volume;
//! the reader verifies every chunk it uses and rebuilds missing or damaged data chunks from
//! parity, reporting the damage for repair; [`DataStore::heal`] rewrites damaged shards.
//! With one volume (1 data shard, no parity) this is a plain pass-through to one file.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use rustfs_meta::DataRef;

use crate::format::ShardHeader;
use crate::layout::Layout;
use crate::shard::{ShardInput, ShardOutput};
use crate::volume::{ShardSet, Volumes};
use crate::{DataError, DataStore};

/// Shard `i` of data id `id` lives on the set's volume `(start(id) + i) % n`: shards of
/// different objects start on different volumes, spreading load.
fn placement(id: &str, set: &[u16]) -> Vec<u16> {
    let n = set.len().max(1);
    let start = uuid::Uuid::parse_str(id).map_or(0, |u| (u.as_u128() % n as u128) as usize);
    (0..set.len()).map(|i| set[(start + i) % n]).collect()
}

fn quorum_err(needed: usize, available: usize) -> DataError {
    DataError::Quorum { needed, available }
}

/// Why a write has fewer than `needed` shards: if the volumes that refused for lack of space
/// would have made the quorum, the cause is space (507), not volumes offline (503).
fn shortfall(needed: usize, ok: usize, full: &[DataError]) -> DataError {
    match full.first() {
        Some(DataError::NoSpace(p)) if ok + full.len() >= needed => DataError::NoSpace(p.clone()),
        _ => quorum_err(needed, ok),
    }
}

/// The most memory an [`ErasureWriter`] holds while bytes flow: each shard file's staging
/// buffer, and with erasure coding the block being filled, the parity chunks and about as much
/// again for the encoder's work space (allocated per block).
pub(crate) fn staging_bytes(layout: Layout) -> usize {
    let shards = layout.shards() * crate::sink::CHUNK;
    if layout.data == 1 && layout.parity == 0 {
        return shards;
    }
    let chunk = layout.chunk_size(crate::DEFAULT_BLOCK_SIZE) as usize;
    chunk * usize::from(layout.data) + shards + 2 * chunk * usize::from(layout.parity)
}

struct ShardOut {
    index: usize,
    volume: u16,
    writer: ShardOutput,
}

/// Writes one object's data. Dropping it without [`ErasureWriter::finish`] deletes every
/// partial file.
pub struct ErasureWriter {
    vols: Arc<Volumes>,
    layout: Layout,
    id: String,
    placement: Vec<u16>,
    outs: Vec<ShardOut>,
    /// Shards dropped because their volume is full (each a [`DataError::NoSpace`]).
    full: Vec<DataError>,
    /// Logical block size (chunk size times data shards).
    block_size: usize,
    /// The block being filled (unused with a single data shard and no parity).
    block: Vec<u8>,
    size: u64,
}

impl ErasureWriter {
    pub(crate) fn create(
        vols: Arc<Volumes>,
        set: &ShardSet,
        mut header: ShardHeader,
    ) -> Result<Self, DataError> {
        let layout = set.layout;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let placement = placement(&id, &set.volumes);
        let chunk = layout.chunk_size(header.block_size);
        header.block_size = chunk;
        header.data_shards = layout.data;
        header.parity_shards = layout.parity;
        let mut outs = Vec::with_capacity(layout.shards());
        let mut full = Vec::new();
        for (index, &volume) in placement.iter().enumerate() {
            if !vols.is_online(volume) {
                continue;
            }
            header.shard_index = index as u8;
            match vols.create_shard(volume, &id, &header) {
                Ok(writer) => outs.push(ShardOut {
                    index,
                    volume,
                    writer,
                }),
                Err(e @ DataError::NoSpace(_)) => full.push(e),
                Err(e) => vols.report_error(volume, &e),
            }
        }
        if outs.len() < layout.write_quorum() {
            return Err(shortfall(layout.write_quorum(), outs.len(), &full));
        }
        let block_size = chunk as usize * usize::from(layout.data);
        Ok(Self {
            vols,
            layout,
            id,
            placement,
            outs,
            full,
            block_size,
            block: Vec::new(),
            size: 0,
        })
    }

    fn single(&self) -> bool {
        self.layout.data == 1 && self.layout.parity == 0
    }

    /// The data's id (its file name; `DataRef::id` once finished).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Bytes accepted so far.
    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Appends bytes.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), DataError> {
        self.size += data.len() as u64;
        if self.single() {
            let out = self.outs.first_mut().ok_or_else(|| quorum_err(1, 0))?;
            return match out.writer.write(data) {
                Ok(()) => Ok(()),
                Err(e) => {
                    self.vols.report_error(out.volume, &e);
                    Err(e)
                }
            };
        }
        if self.block.capacity() < self.block_size {
            // New or parked: room for the whole block at once, not by doubling.
            self.block.reserve_exact(self.block_size - self.block.len());
        }
        while !data.is_empty() {
            let n = (self.block_size - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.block.len() == self.block_size {
                self.flush_block()?;
            }
        }
        Ok(())
    }

    /// The upload paused: every shard file gives its staging buffer back, and the block being
    /// filled keeps only its bytes. A stalled upload then holds less than one block.
    pub fn park(&mut self) -> Result<(), DataError> {
        self.block.shrink_to_fit();
        let mut failed = Vec::new();
        for (pos, out) in self.outs.iter_mut().enumerate() {
            if let Err(e) = out.writer.park() {
                self.vols.report_error(out.volume, &e);
                tracing::warn!(error = %e, shard = out.index, "shard write failed; continuing without it");
                failed.push(pos);
            }
        }
        for pos in failed.into_iter().rev() {
            self.outs.remove(pos);
        }
        if self.outs.len() < self.layout.write_quorum() {
            return Err(quorum_err(self.layout.write_quorum(), self.outs.len()));
        }
        Ok(())
    }

    /// Encodes the buffered block and appends each shard's chunk to its file. A shard whose
    /// volume fails is dropped; the write goes on while a write quorum of shards remains.
    fn flush_block(&mut self) -> Result<(), DataError> {
        let d = usize::from(self.layout.data);
        let c = self
            .layout
            .chunk_len(self.block.len() as u64, self.block_size as u64) as usize;
        // The data chunks are slices of the block itself (the last block zero-padded to whole
        // chunks): only parity is new memory.
        self.block.resize(d * c, 0);
        let data: Vec<&[u8]> = self.block.chunks(c.max(1)).take(d).collect();
        let parity = if self.layout.parity > 0 {
            reed_solomon_simd::encode(d, usize::from(self.layout.parity), &data)
                .map_err(|e| DataError::Erasure(e.to_string()))?
        } else {
            Vec::new()
        };
        let mut failed = Vec::new();
        for (pos, out) in self.outs.iter_mut().enumerate() {
            let chunk: &[u8] = if out.index < d {
                data[out.index]
            } else {
                &parity[out.index - d]
            };
            if let Err(e) = out.writer.write(chunk) {
                self.vols.report_error(out.volume, &e);
                tracing::warn!(error = %e, shard = out.index, "shard write failed; continuing without it");
                if matches!(e, DataError::NoSpace(_)) {
                    self.full.push(e);
                }
                failed.push(pos);
            }
        }
        for pos in failed.into_iter().rev() {
            self.outs.remove(pos);
        }
        self.block.clear();
        if self.outs.len() < self.layout.write_quorum() {
            return Err(shortfall(
                self.layout.write_quorum(),
                self.outs.len(),
                &self.full,
            ));
        }
        Ok(())
    }

    /// Makes every shard durable and visible (in parallel: one sync per volume at once) and
    /// returns the reference to store. Fails unless a write quorum of shards made it.
    pub fn finish(mut self) -> Result<DataRef, DataError> {
        if !self.block.is_empty() {
            self.flush_block()?;
        }
        let outs = std::mem::take(&mut self.outs);
        let results: Vec<(u16, Result<(), DataError>)> = if outs.len() == 1 {
            outs.into_iter()
                .map(|o| (o.volume, o.writer.finish()))
                .collect()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = outs
                    .into_iter()
                    .map(|o| (o.volume, s.spawn(move || o.writer.finish())))
                    .collect();
                handles
                    .into_iter()
                    .map(|(v, h)| {
                        let r = h.join().unwrap_or_else(|_| {
                            Err(DataError::Io {
                                path: Default::default(),
                                source: std::io::Error::other("shard writer panicked"),
                            })
                        });
                        (v, r)
                    })
                    .collect()
            })
        };
        let mut ok = 0;
        let mut first_err = None;
        for (volume, r) in results {
            match r {
                Ok(()) => ok += 1,
                Err(e @ DataError::NoSpace(_)) => {
                    tracing::warn!(error = %e, "shard could not be made durable: no space");
                    self.full.push(e);
                }
                Err(e) => {
                    self.vols.report_error(volume, &e);
                    tracing::warn!(error = %e, "shard could not be made durable");
                    first_err.get_or_insert(e);
                }
            }
        }
        let r = DataRef {
            id: std::mem::take(&mut self.id),
            size: self.size,
            block_size: self.block_size as u32,
            data_shards: self.layout.data,
            parity_shards: self.layout.parity,
            volumes: std::mem::take(&mut self.placement),
        };
        if ok < self.layout.write_quorum() {
            // Remove what did land: without a quorum the write is not acknowledged.
            remove_files(&self.vols, &r);
            return Err(match first_err {
                Some(e) if self.layout.shards() == 1 => e,
                _ => shortfall(self.layout.write_quorum(), ok, &self.full),
            });
        }
        Ok(r)
    }
}

/// Removes every shard file of `r` (best effort: what is left on a local volume is an orphan
/// for the sweep; what cannot reach another node is kept for deferred deletion).
pub(crate) fn remove_files(vols: &Volumes, r: &DataRef) {
    if !crate::format::is_data_id(&r.id) {
        tracing::warn!(id = %r.id, "not removing a malformed data id");
        return;
    }
    for &vi in &r.volumes {
        vols.remove_shard(vi, &r.id);
    }
}

/// Data references whose reads found damage, waiting for repair. Bounded and de-duplicated:
/// the background scanner finds whatever overflows.
#[derive(Default)]
pub(crate) struct HealQueue {
    inner: Mutex<(VecDeque<DataRef>, HashSet<String>)>,
}

const HEAL_QUEUE_MAX: usize = 10_000;

impl HealQueue {
    pub(crate) fn push(&self, r: &DataRef) {
        let Ok(mut q) = self.inner.lock() else { return };
        let (list, ids) = &mut *q;
        if list.len() < HEAL_QUEUE_MAX && ids.insert(r.id.clone()) {
            list.push_back(r.clone());
        }
        metrics::gauge!("rustfs_heal_queue_length").set(list.len() as f64);
    }

    pub(crate) fn take(&self, max: usize) -> Vec<DataRef> {
        let Ok(mut q) = self.inner.lock() else {
            return Vec::new();
        };
        let (list, ids) = &mut *q;
        let n = max.min(list.len());
        let out: Vec<DataRef> = list.drain(..n).collect();
        for r in &out {
            ids.remove(&r.id);
        }
        if !out.is_empty() {
            metrics::gauge!("rustfs_heal_queue_length").set(list.len() as f64);
        }
        out
    }
}

/// Why a shard cannot be used.
#[derive(Debug)]
enum ShardState {
    Ok(ShardInput),
    /// Its volume is offline or unknown.
    Offline,
    /// Missing, malformed, or not the shard the reference expects.
    Bad(DataError),
}

/// Verified reads of one object's data, rebuilding from parity where a shard fails.
pub struct ErasureReader {
    vols: Arc<Volumes>,
    queue: Arc<HealQueue>,
    r: DataRef,
    layout: Layout,
    block_size: u64,
    /// Opened on first use (data shards at open, parity when a data chunk fails).
    shards: Vec<OnceLock<ShardState>>,
    reported: Mutex<bool>,
}

impl ErasureReader {
    pub(crate) fn open(
        vols: Arc<Volumes>,
        queue: Arc<HealQueue>,
        r: &DataRef,
    ) -> Result<Self, DataError> {
        let (layout, block_size) = check_ref(r)?;
        // Parity shards are opened only when a data shard is unusable: a healthy read touches
        // just the data shards' files.
        let shards: Vec<OnceLock<ShardState>> =
            (0..layout.shards()).map(|_| OnceLock::new()).collect();
        let d = usize::from(layout.data);
        for (i, slot) in shards.iter().enumerate().take(d) {
            let _ = slot.set(open_shard(&vols, r, layout, block_size, i, true));
        }
        let usable_of = |shards: &[OnceLock<ShardState>]| {
            shards
                .iter()
                .filter(|s| matches!(s.get(), Some(ShardState::Ok(_))))
                .count()
        };
        let mut usable = usable_of(&shards);
        let damaged = usable < d;
        if damaged {
            for (i, slot) in shards.iter().enumerate().skip(d) {
                let _ = slot.set(open_shard(&vols, r, layout, block_size, i, true));
            }
            usable = usable_of(&shards);
        }
        if usable < layout.read_quorum() {
            // Every shard gone is what a concurrent overwrite or delete leaves: NotFound lets
            // the caller re-read the metadata.
            let all_gone = shards
                .iter()
                .all(|s| matches!(s.get(), Some(ShardState::Bad(DataError::NotFound(_)))));
            if all_gone {
                return Err(DataError::NotFound(r.id.clone().into()));
            }
            let offline = shards
                .iter()
                .filter(|s| matches!(s.get(), Some(ShardState::Offline)))
                .count();
            if let Some(e) = unavailable(layout, usable, offline) {
                return Err(e);
            }
            queue.push(r);
            return Err(DataError::Unrecoverable {
                id: r.id.clone(),
                reason: format!(
                    "{usable} of {} shards readable, {} needed",
                    layout.shards(),
                    layout.read_quorum()
                ),
            });
        }
        let reader = Self {
            vols,
            queue,
            r: r.clone(),
            layout,
            block_size,
            shards,
            reported: Mutex::new(false),
        };
        if damaged {
            reader.report_damage();
        }
        Ok(reader)
    }

    /// Logical (object) length.
    pub fn size(&self) -> u64 {
        self.r.size
    }

    /// Logical block size: [`Self::read_block`] returns blocks of this many bytes.
    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    fn report_damage(&self) {
        if let Ok(mut done) = self.reported.lock()
            && !*done
        {
            *done = true;
            tracing::warn!(id = %self.r.id, "object data has a missing or damaged shard; queued for repair");
            self.queue.push(&self.r);
        }
    }

    fn read_chunk(&self, shard: usize, index: u64, want: u64) -> Option<Bytes> {
        let state = self.shards[shard].get_or_init(|| {
            open_shard(
                &self.vols,
                &self.r,
                self.layout,
                self.block_size,
                shard,
                true,
            )
        });
        let ShardState::Ok(reader) = state else {
            return None;
        };
        match reader.read_block(index) {
            Ok(b) if b.len() as u64 == want => Some(b),
            Ok(_) => {
                self.report_damage();
                None
            }
            Err(e) => {
                if matches!(e, DataError::Io { .. } | DataError::Remote { .. }) {
                    self.vols.report_error(self.r.volumes[shard], &e);
                }
                tracing::warn!(error = %e, shard, "shard chunk unusable; reading parity");
                self.report_damage();
                None
            }
        }
    }

    /// Reads block `index`: verified data chunks, with missing ones rebuilt from parity. More
    /// damage than parity is an error, never wrong bytes.
    pub fn read_block(&self, index: u64) -> Result<Bytes, DataError> {
        let start = index * self.block_size;
        if start >= self.r.size {
            return Err(DataError::corrupt(
                std::path::Path::new(&self.r.id),
                format!("block {index} past end"),
            ));
        }
        let len = self.block_size.min(self.r.size - start);
        let c = self.layout.chunk_len(len, self.block_size);
        let d = usize::from(self.layout.data);
        if d == 1
            && let Some(b) = self.read_chunk(0, index, c)
        {
            return Ok(b.slice(..len as usize));
        }
        let chunks =
            read_chunks(self.layout, |i| self.read_chunk(i, index, c)).map_err(|reason| {
                DataError::Unrecoverable {
                    id: self.r.id.clone(),
                    reason: format!("block {index}: {reason}"),
                }
            })?;
        let mut out = Vec::with_capacity(len as usize);
        for chunk in chunks.iter().take(d) {
            let room = len as usize - out.len();
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        Ok(Bytes::from(out))
    }
}

/// Validates a data reference's layout; returns it and the logical block size.
fn check_ref(r: &DataRef) -> Result<(Layout, u64), DataError> {
    let bad = |why: &str| DataError::corrupt(std::path::Path::new(&r.id), why.to_string());
    if !crate::format::is_data_id(&r.id) {
        return Err(bad("malformed data id"));
    }
    let layout = Layout::from_counts(r.data_shards, r.parity_shards)
        .ok_or_else(|| bad("invalid shard counts"))?;
    if r.volumes.len() != layout.shards() {
        return Err(bad("shard placement does not match the layout"));
    }
    let bs = u64::from(r.block_size);
    if bs == 0 || bs % u64::from(layout.data) != 0 {
        return Err(bad("invalid block size"));
    }
    Ok((layout, bs))
}

/// Too few usable shards because some are on volumes that are offline now (a node down): the
/// data is not lost but unavailable until enough of them are back, and the client may retry.
fn unavailable(layout: Layout, usable: usize, offline: usize) -> Option<DataError> {
    let needed = layout.read_quorum();
    (usable < needed && offline > 0 && usable + offline >= needed).then_some(DataError::Quorum {
        needed,
        available: usable,
    })
}

/// Opens shard `i` of `r` and checks its header and length against the reference.
/// With `for_read`, a remote shard's first block comes with its header.
fn open_shard(
    vols: &Volumes,
    r: &DataRef,
    layout: Layout,
    block_size: u64,
    i: usize,
    for_read: bool,
) -> ShardState {
    let vi = r.volumes[i];
    let path = std::path::PathBuf::from(format!("volume {vi}/{}", r.id));
    match vols.open_shard(vi, &r.id, for_read) {
        Ok(None) => ShardState::Offline,
        Ok(Some(rd)) => {
            let h = rd.header();
            if usize::from(h.shard_index) != i
                || h.data_shards != layout.data
                || h.parity_shards != layout.parity
                || u64::from(h.block_size) != block_size / u64::from(layout.data)
                || rd.size() != layout.shard_payload(r.size, block_size)
            {
                ShardState::Bad(DataError::corrupt(
                    &path,
                    "shard does not match its data reference",
                ))
            } else {
                ShardState::Ok(rd)
            }
        }
        Err(e) => {
            if matches!(e, DataError::Io { .. } | DataError::Remote { .. }) {
                vols.report_error(vi, &e);
                if !vols.is_online(vi) {
                    return ShardState::Offline;
                }
            }
            ShardState::Bad(e)
        }
    }
}

/// Gathers the chunks of one block: data chunks as read, missing ones decoded from parity.
/// `read(i)` returns shard `i`'s verified chunk or `None`. Returns every data chunk, then the
/// parity chunks that were read (rebuilt parity is not needed for serving).
fn read_chunks(
    layout: Layout,
    read: impl Fn(usize) -> Option<Bytes>,
) -> Result<Vec<Bytes>, String> {
    let d = usize::from(layout.data);
    let n = layout.shards();
    let mut got: Vec<Option<Bytes>> = (0..d).map(&read).collect();
    let mut have = got.iter().filter(|c| c.is_some()).count();
    if have == d {
        return Ok(got.into_iter().flatten().collect());
    }
    let mut parity = Vec::new();
    for i in d..n {
        if have == d {
            break;
        }
        if let Some(c) = read(i) {
            parity.push((i - d, c));
            have += 1;
        }
    }
    if have < d {
        return Err(format!("{have} of {n} shards usable, {d} needed"));
    }
    let originals = got
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().map(|c| (i, c.as_ref())));
    let restored = reed_solomon_simd::decode(
        d,
        usize::from(layout.parity),
        originals,
        parity.iter().map(|(i, c)| (*i, c.as_ref())),
    )
    .map_err(|e| format!("reconstruction failed: {e}"))?;
    for (i, chunk) in restored {
        if let Some(slot) = got.get_mut(i) {
            *slot = Some(Bytes::from(chunk));
        }
    }
    got.into_iter()
        .map(|c| c.ok_or_else(|| "reconstruction left a gap".to_string()))
        .collect()
}

/// What [`DataStore::heal`] found and did for one data reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealOutcome {
    /// Shards found missing or damaged.
    pub damaged: usize,
    /// Shards rewritten.
    pub repaired: usize,
    /// Damaged shards left alone because their volume is offline (or full): repaired later.
    pub skipped_offline: usize,
}

impl DataStore {
    /// Checks every shard of `r` (with `deep`, every block's checksum too) and rewrites missing
    /// or damaged shards from the others. Fails if more shards are damaged than parity allows.
    pub fn heal(&self, r: &DataRef, deep: bool) -> Result<HealOutcome, DataError> {
        self.heal_in(r, deep, None)
    }

    /// [`DataStore::heal`] for the shards of `r` on `volumes` only (this node's or other
    /// nodes'): the others are read to rebuild, never checked or rewritten. Without `deep`, an
    /// object whose shards on `volumes` all open is done without touching the others.
    pub fn heal_volumes(
        &self,
        r: &DataRef,
        deep: bool,
        volumes: &std::collections::BTreeSet<u16>,
    ) -> Result<HealOutcome, DataError> {
        self.heal_in(r, deep, Some(volumes))
    }

    fn heal_in(
        &self,
        r: &DataRef,
        deep: bool,
        only: Option<&std::collections::BTreeSet<u16>>,
    ) -> Result<HealOutcome, DataError> {
        let (layout, block_size) = check_ref(r)?;
        let vols = &self.vols;
        let mine = |i: usize| only.is_none_or(|o| o.contains(&r.volumes[i]));
        let n = r.volumes.len();
        // The shards in scope first, opened (with `deep`, read through); when they are all
        // sound the others are never touched.
        let mut scoped: Vec<Option<ShardState>> = (0..n)
            .map(|i| mine(i).then(|| open_shard(vols, r, layout, block_size, i, false)))
            .collect();
        let blocks = r.size.div_ceil(block_size);
        if deep {
            for s in scoped.iter_mut().flatten() {
                if let ShardState::Ok(rd) = s
                    && let Some(e) = (0..blocks).find_map(|b| rd.read_block(b).err())
                {
                    *s = ShardState::Bad(e);
                }
            }
        }
        if only.is_some()
            && scoped
                .iter()
                .flatten()
                .all(|s| matches!(s, ShardState::Ok(_)))
        {
            return Ok(HealOutcome::default());
        }
        let shards: Vec<ShardState> = scoped
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.unwrap_or_else(|| open_shard(vols, r, layout, block_size, i, false)))
            .collect();
        let mut outcome = HealOutcome::default();
        let mut targets = Vec::new();
        let mut header = None;
        for (i, s) in shards.iter().enumerate() {
            match s {
                ShardState::Ok(rd) => {
                    header.get_or_insert_with(|| rd.header().clone());
                }
                // Another node's shard that is missing: its node repairs it.
                _ if !mine(i) => {}
                ShardState::Offline => {
                    outcome.damaged += 1;
                    outcome.skipped_offline += 1;
                }
                ShardState::Bad(_) => {
                    outcome.damaged += 1;
                    targets.push(i);
                }
            }
        }
        if outcome.damaged == 0 {
            return Ok(outcome);
        }
        if shards
            .iter()
            .all(|s| matches!(s, ShardState::Bad(DataError::NotFound(_))))
        {
            // Every shard gone: the object was deleted or overwritten since it was listed.
            return Err(DataError::NotFound(r.id.clone().into()));
        }
        let usable = shards
            .iter()
            .filter(|s| matches!(s, ShardState::Ok(_)))
            .count();
        let offline = shards
            .iter()
            .filter(|s| matches!(s, ShardState::Offline))
            .count();
        if let Some(e) = unavailable(layout, usable, offline) {
            return Err(e);
        }
        let Some(mut header) = header.filter(|_| usable >= layout.read_quorum()) else {
            return Err(DataError::Unrecoverable {
                id: r.id.clone(),
                reason: format!("{usable} of {} shards usable", layout.shards()),
            });
        };
        if targets.is_empty() {
            return Ok(outcome);
        }
        let mut writers = Vec::new();
        for &i in &targets {
            let vi = r.volumes[i];
            if !vols.is_online(vi) {
                outcome.skipped_offline += 1;
                continue;
            }
            header.shard_index = i as u8;
            match vols.create_shard(vi, &r.id, &header) {
                Ok(w) => writers.push((i, vi, w)),
                Err(e) => {
                    // The target volume cannot take the shard now (failing, or full); it is
                    // retried later.
                    vols.report_error(vi, &e);
                    outcome.skipped_offline += 1;
                }
            }
        }
        if writers.is_empty() {
            return Ok(outcome);
        }
        let ok_shards: Vec<Option<&ShardInput>> = shards
            .iter()
            .map(|s| match s {
                ShardState::Ok(rd) => Some(rd),
                _ => None,
            })
            .collect();
        for b in 0..blocks {
            let len = block_size.min(r.size - b * block_size);
            let c = layout.chunk_len(len, block_size);
            let read = |i: usize| {
                ok_shards[i]
                    .and_then(|rd| rd.read_block(b).ok())
                    .filter(|x| x.len() as u64 == c)
            };
            let data = read_chunks(layout, read).map_err(|reason| DataError::Unrecoverable {
                id: r.id.clone(),
                reason: format!("block {b}: {reason}"),
            })?;
            let d = usize::from(layout.data);
            let needs_parity = writers.iter().any(|(i, _, _)| *i >= d);
            let parity = if needs_parity {
                reed_solomon_simd::encode(d, usize::from(layout.parity), &data[..d])
                    .map_err(|e| DataError::Erasure(e.to_string()))?
            } else {
                Vec::new()
            };
            let mut full = Vec::new();
            for (pos, (i, vi, w)) in writers.iter_mut().enumerate() {
                let chunk: &[u8] = if *i < d { &data[*i] } else { &parity[*i - d] };
                match w.write(chunk) {
                    Ok(()) => {}
                    // A full volume takes the repaired shard once it has room again.
                    Err(DataError::NoSpace(_)) => full.push(pos),
                    Err(e) => {
                        vols.report_error(*vi, &e);
                        return Err(DataError::Unrecoverable {
                            id: r.id.clone(),
                            reason: format!("writing the repaired shard {i} failed: {e}"),
                        });
                    }
                }
            }
            for pos in full.into_iter().rev() {
                writers.remove(pos);
                outcome.skipped_offline += 1;
            }
            if writers.is_empty() {
                return Ok(outcome);
            }
        }
        for (_, vi, w) in writers {
            match w.finish() {
                Ok(()) => outcome.repaired += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "repaired shard could not be made durable");
                    vols.report_error(vi, &e);
                    outcome.skipped_offline += 1;
                }
            }
        }
        tracing::info!(id = %r.id, repaired = outcome.repaired, "healed object data");
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    fn header() -> ShardHeader {
        crate::format::test_header(1000)
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 131 % 251) as u8).collect()
    }

    fn store(n: usize, parity: &str) -> (tempfile::TempDir, DataStore) {
        let dir = tempfile::tempdir().unwrap();
        let roots: Vec<_> = (0..n).map(|i| dir.path().join(format!("d{i}"))).collect();
        let layout = Layout::from_storage_class(n, parity).unwrap();
        let s = DataStore::open(&roots, layout).unwrap();
        (dir, s)
    }

    fn write(s: &DataStore, data: &[u8]) -> DataRef {
        let mut w = s.create(header()).unwrap();
        for piece in data.chunks(333) {
            w.write(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn read_all(s: &DataStore, r: &DataRef) -> Result<Vec<u8>, DataError> {
        let rd = s.open_read(r)?;
        let mut out = Vec::new();
        for b in 0..r.size.div_ceil(rd.block_size()) {
            out.extend_from_slice(&rd.read_block(b)?);
        }
        Ok(out)
    }

    fn shard_path(s: &DataStore, r: &DataRef, shard: usize) -> std::path::PathBuf {
        s.vols.get(r.volumes[shard]).unwrap().data_file(&r.id)
    }

    #[test]
    fn round_trips_in_every_layout() {
        for (n, class) in [
            (1, "EC:0"),
            (2, "EC:1"),
            (4, "EC:2"),
            (4, "EC:1"),
            (5, "EC:2"),
        ] {
            let (_d, s) = store(n, class);
            for len in [1usize, 999, 1000, 1001, 4321] {
                let data = payload(len);
                let r = write(&s, &data);
                assert_eq!(read_all(&s, &r).unwrap(), data, "{n} {class} {len}");
            }
        }
    }

    #[test]
    fn lost_and_rotten_shards_are_rebuilt_then_healed() {
        let (_d, s) = store(4, "EC:2");
        let data = payload(5000);
        let r = write(&s, &data);
        std::fs::remove_file(shard_path(&s, &r, 0)).unwrap();
        let p = shard_path(&s, &r, 3);
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 20] ^= 0x55;
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(read_all(&s, &r).unwrap(), data);
        let queued = s.take_damaged(10);
        assert_eq!(queued.len(), 1);
        let out = s.heal(&queued[0], true).unwrap();
        assert_eq!((out.damaged, out.repaired), (2, 2));
        assert_eq!(s.heal(&r, true).unwrap(), HealOutcome::default());
        // With every shard sound again, any two may now go.
        std::fs::remove_file(shard_path(&s, &r, 1)).unwrap();
        std::fs::remove_file(shard_path(&s, &r, 2)).unwrap();
        assert_eq!(read_all(&s, &r).unwrap(), data);
    }

    #[test]
    fn more_damage_than_parity_is_an_error_not_data() {
        let (_d, s) = store(4, "EC:1");
        let data = payload(3000);
        let r = write(&s, &data);
        for shard in [0, 1] {
            let p = shard_path(&s, &r, shard);
            let mut bytes = std::fs::read(&p).unwrap();
            let n = bytes.len();
            bytes[n - 20] ^= 1;
            std::fs::write(&p, bytes).unwrap();
        }
        let rd = s.open_read(&r).unwrap();
        let last = r.size.div_ceil(rd.block_size()) - 1;
        assert!(matches!(
            rd.read_block(last),
            Err(DataError::Unrecoverable { .. })
        ));
        assert!(s.heal(&r, true).is_err());
    }

    #[test]
    fn writes_continue_on_a_quorum_and_fail_below_it() {
        let (dir, s) = store(4, "EC:2");
        std::fs::remove_dir_all(dir.path().join("d1")).unwrap();
        let changes = s.check_volumes();
        assert_eq!(changes.went_offline, vec![1]);
        let data = payload(2500);
        let r = write(&s, &data);
        assert_eq!(read_all(&s, &r).unwrap(), data);
        std::fs::remove_dir_all(dir.path().join("d2")).unwrap();
        s.check_volumes();
        assert!(matches!(
            s.create(header()),
            Err(DataError::Quorum {
                needed: 3,
                available: 2
            })
        ));
        assert_eq!(
            read_all(&s, &r).unwrap(),
            data,
            "still readable from 2 of 4"
        );
        std::fs::create_dir(dir.path().join("d1")).unwrap();
        assert_eq!(s.check_volumes().came_back, vec![1]);
        let out = s.heal(&r, false).unwrap();
        assert_eq!(out.repaired, 1);
    }

    #[test]
    fn a_full_volume_refuses_data_with_no_space_and_stays_online() {
        let dir = tempfile::tempdir().unwrap();
        let roots: Vec<_> = (0..2).map(|i| dir.path().join(format!("d{i}"))).collect();
        let layout = Layout::from_storage_class(2, "EC:1").unwrap();
        let s = DataStore::open(&roots, layout).unwrap();
        let data = payload(5000);
        let r = write(&s, &data);
        // The same volumes with a reserve larger than any filesystem: every data write would
        // use it.
        drop(s);
        let s =
            DataStore::open_with_reserve(&roots, layout, crate::Reserve::Bytes(u64::MAX)).unwrap();
        assert!(
            matches!(s.create(header()), Err(DataError::NoSpace(_))),
            "no space, not 'not enough volumes online'"
        );
        assert!(matches!(s.check_room(1), Err(DataError::NoSpace(_))));
        assert_eq!(
            s.check_volumes(),
            crate::VolumeChanges::default(),
            "full is not offline"
        );
        assert!(s.volume_status().iter().all(|v| v.online && v.full));
        assert_eq!(read_all(&s, &r).unwrap(), data, "reads go on");
        // An ENOSPC from the filesystem itself is classified the same way, and never takes
        // the volume offline.
        let enospc = DataError::io(
            &roots[0].join("x"),
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert!(matches!(enospc, DataError::NoSpace(_)));
        s.vols.report_error(0, &enospc);
        assert!(s.vols.list[0].is_online());
        let eio = DataError::io(
            &roots[0].join("x"),
            std::io::Error::from_raw_os_error(libc::EIO),
        );
        assert!(matches!(eio, DataError::Io { .. }));
        // Without the reserve, writes resume: nothing about the earlier refusals is kept.
        drop(s);
        let s = DataStore::open_with_reserve(&roots, layout, crate::Reserve::Bytes(0)).unwrap();
        assert!(s.volume_status().iter().all(|v| v.online && !v.full));
        s.check_room(1000).unwrap();
        let r2 = write(&s, &data);
        assert_eq!(read_all(&s, &r2).unwrap(), data);
    }

    #[test]
    fn a_quorum_lost_to_full_volumes_is_no_space() {
        let full = || DataError::NoSpace("/v".into());
        // 4 volumes, quorum 3: two written, one full: space is what is missing.
        assert!(matches!(shortfall(3, 2, &[full()]), DataError::NoSpace(_)));
        assert!(matches!(shortfall(1, 0, &[full()]), DataError::NoSpace(_)));
        // Even with the full volume the quorum is out of reach: volumes are missing.
        assert!(matches!(
            shortfall(3, 1, &[full()]),
            DataError::Quorum {
                needed: 3,
                available: 1
            }
        ));
        assert!(matches!(shortfall(3, 2, &[]), DataError::Quorum { .. }));
    }

    #[test]
    fn placement_spreads_and_covers_every_volume() {
        let p = placement("0123456789abcdef0123456789abcdef", &[0, 1, 2, 3]);
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        let p = placement("0123456789abcdef0123456789abcdef", &[9, 4, 7, 12]);
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, vec![4, 7, 9, 12], "only the set's volumes");
    }
}
