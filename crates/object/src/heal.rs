//! Keeping redundancy whole: the periodic maintenance tick (volume and metadata-replica health,
//! repair of objects whose reads met damage) and the full heal pass, which visits every stored
//! object and part, checks each shard (with `deep`, every block checksum) and rewrites what is
//! missing or damaged from the others. Progress and the last result are kept for the admin API.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rustfs_meta::{Body, ObjectRecord, PartRecord, ScanStep, Segment, Table, decode};
use serde::Serialize;

use crate::worker::{Step, Worker, WorkerInfo};
use crate::{ObjectStore, now_ms};

/// Rows visited per metadata read during a heal pass (the read snapshot is not held while
/// healing).
const PAGE: usize = 256;
/// Names of unrecoverable objects kept in a report (the count is exact).
const MAX_NAMED: usize = 100;

/// What one heal pass found and did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HealReport {
    pub deep: bool,
    /// Objects and parts whose data was checked.
    pub objects_checked: u64,
    pub bytes_checked: u64,
    pub shards_damaged: u64,
    pub shards_repaired: u64,
    /// Damaged shards on volumes that are offline or full: repaired once they are back (or
    /// have room).
    pub shards_offline: u64,
    pub unrecoverable: u64,
    /// `bucket/key` of the first unrecoverable objects.
    pub unrecoverable_objects: Vec<String>,
    pub replicas_resynced: usize,
}

/// The heal pass as the admin API reports it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HealState {
    #[default]
    Idle,
    Running {
        id: u64,
        started_ms: i64,
        progress: HealReport,
    },
    Done {
        id: u64,
        started_ms: i64,
        finished_ms: i64,
        report: HealReport,
    },
    /// The pass asked for is not known (never started, or too old).
    Unknown { id: u64 },
}

impl HealState {
    fn id(&self) -> Option<u64> {
        match self {
            HealState::Running { id, .. } | HealState::Done { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Finished passes remembered, so a caller following one pass still finds its result after
/// another pass started.
const HISTORY: usize = 16;

#[derive(Default)]
struct Passes {
    next_id: u64,
    current: HealState,
    history: std::collections::VecDeque<HealState>,
}

#[derive(Default)]
pub(crate) struct HealTracker {
    state: Mutex<Passes>,
}

/// What one maintenance tick changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub volumes_offline: Vec<usize>,
    pub volumes_back: Vec<usize>,
    pub replicas_offline: usize,
    pub replicas_resynced: usize,
    pub healed: u64,
}

impl ObjectStore {
    pub fn volume_status(&self) -> Vec<crate::VolumeStatus> {
        self.data.volume_status()
    }

    /// How many volumes are online, of how many, from their state flags (no disk access).
    pub fn volumes_online(&self) -> (usize, usize) {
        self.data.volumes_online()
    }

    /// The fewest online volumes in any erasure set new objects go to.
    pub fn weakest_set_online(&self) -> usize {
        self.data.weakest_set_online()
    }

    /// The metadata replicas' state; empty for a backend that keeps no replicas of its own
    /// (a database server replicates by itself).
    pub fn replica_status(&self) -> Vec<crate::ReplicaStatus> {
        self.meta
            .replicas()
            .map(|r| r.replica_status())
            .unwrap_or_default()
    }

    /// The running or last heal pass, or with `id`, that pass.
    pub fn heal_state(&self, id: Option<u64>) -> HealState {
        let Ok(p) = self.heal.state.lock() else {
            return HealState::Idle;
        };
        match id {
            None => p.current.clone(),
            Some(id) if p.current.id() == Some(id) => p.current.clone(),
            Some(id) => p
                .history
                .iter()
                .find(|s| s.id() == Some(id))
                .cloned()
                .unwrap_or(HealState::Unknown { id }),
        }
    }

    /// One maintenance tick: finds volumes gone or back and vanished metadata replicas,
    /// rebuilds replicas where their volume is usable (`resync`: every tick a volume came back,
    /// and on the caller's slower cadence otherwise), and repairs objects whose reads met
    /// damage.
    pub async fn maintain(&self, resync: bool) -> MaintenanceReport {
        let mut report = self.check_health(resync).await;
        for r in self.data.take_damaged(64) {
            let mut h = HealReport::default();
            self.heal_ref(&r, true, None, "(queued)", &mut h).await;
            report.healed += h.shards_repaired;
        }
        report
    }

    /// Volume probes (a wiped volume goes offline and, its directory being there, comes back
    /// formatted), metadata replica checks, and replica rebuilds when a volume came back or
    /// `resync` asks.
    async fn check_health(&self, resync: bool) -> MaintenanceReport {
        let data = self.data.clone();
        let changes = tokio::task::spawn_blocking(move || data.check_volumes())
            .await
            .unwrap_or_default();
        let mut report = MaintenanceReport {
            volumes_offline: changes.went_offline,
            volumes_back: changes.came_back,
            ..Default::default()
        };
        let Some(replicas) = self.meta.replicas() else {
            return report;
        };
        report.replicas_offline = replicas.check_replicas();
        let any_offline = replicas.replica_status().iter().any(|r| !r.online);
        if any_offline && (resync || !report.volumes_back.is_empty()) {
            report.replicas_resynced = replicas.resync().await;
        }
        report
    }

    /// Starts a heal pass in the background unless one is running; returns the new pass's id.
    pub fn start_heal(self: &std::sync::Arc<Self>, deep: bool, rate: Option<u64>) -> Option<u64> {
        self.start_heal_scoped(deep, rate, None)
    }

    /// [`ObjectStore::start_heal`] of [`ObjectStore::heal_pass_scoped`].
    pub fn start_heal_scoped(
        self: &std::sync::Arc<Self>,
        deep: bool,
        rate: Option<u64>,
        only: Option<Arc<BTreeSet<u16>>>,
    ) -> Option<u64> {
        let started_ms = now_ms();
        let id = {
            let mut p = self.heal.state.lock().ok()?;
            if matches!(p.current, HealState::Running { .. }) {
                return None;
            }
            p.next_id += 1;
            let id = p.next_id;
            let done = std::mem::replace(
                &mut p.current,
                HealState::Running {
                    id,
                    started_ms,
                    progress: HealReport {
                        deep,
                        ..Default::default()
                    },
                },
            );
            if done.id().is_some() {
                if p.history.len() >= HISTORY {
                    p.history.pop_front();
                }
                p.history.push_back(done);
            }
            id
        };
        self.workers.spawn(
            HealPass {
                store: self.clone(),
                id,
                started_ms,
                walk: PassWalk::new(deep, rate, only),
                failed: false,
            },
            None,
        );
        Some(id)
    }

    /// Visits every stored object and part and repairs damaged shards; `rate` bounds the bytes
    /// checked per second (a background pass must not starve client I/O).
    pub async fn heal_pass(&self, deep: bool, rate: Option<u64>) -> HealReport {
        self.heal_pass_scoped(deep, rate, None).await
    }

    /// [`ObjectStore::heal_pass`]; with `only`, only the shards on those volumes are checked
    /// and repaired (a node's own volumes after it was away, a volume that came back).
    pub async fn heal_pass_scoped(
        &self,
        deep: bool,
        rate: Option<u64>,
        only: Option<Arc<BTreeSet<u16>>>,
    ) -> HealReport {
        let mut walk = PassWalk::new(deep, rate, only);
        loop {
            match self.heal_step(&mut walk).await {
                Ok(true) => {}
                Ok(false) => return walk.report,
                Err(e) => {
                    tracing::error!(error = %e, "heal pass cannot read metadata; stopping");
                    return walk.report;
                }
            }
        }
    }

    /// One step of a heal pass: the health check first, then one page of metadata rows and
    /// the segments they name. `Ok(false)` once every table was walked.
    async fn heal_step(&self, walk: &mut PassWalk) -> crate::Result<bool> {
        let started = match walk.started {
            Some(s) => s,
            None => {
                let health = self.check_health(true).await;
                walk.report.replicas_resynced = health.replicas_resynced;
                let now = Instant::now();
                walk.started = Some(now);
                now
            }
        };
        let Some(&table) = PASS_TABLES.get(walk.table) else {
            return Ok(false);
        };
        let page = self.page(table, &walk.cursor).await?;
        if let Some((last, _)) = page.last() {
            walk.cursor = last.clone();
            walk.cursor.push(0);
        }
        for (key, value) in &page {
            let (name, segments) = describe(table, key, value);
            for seg in segments {
                self.heal_segment(&seg, walk.deep, walk.only.clone(), &name, &mut walk.report)
                    .await;
            }
            self.publish(&walk.report);
            if let Some(rate) = walk.rate.filter(|r| *r > 0) {
                let due = Duration::from_secs_f64(walk.report.bytes_checked as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
        if page.len() < PAGE {
            walk.table += 1;
            walk.cursor.clear();
        }
        Ok(walk.table < PASS_TABLES.len())
    }

    /// Up to [`PAGE`] rows of `table` from `from`, in a read-only transaction of their own.
    async fn page(&self, table: Table, from: &[u8]) -> crate::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.transact(|t| {
            Box::pin(async move {
                let mut out = Vec::with_capacity(PAGE);
                t.scan(table, from, b"", &mut |k, v| {
                    out.push((k.to_vec(), v.to_vec()));
                    if out.len() >= PAGE {
                        ScanStep::Stop
                    } else {
                        ScanStep::Next
                    }
                })
                .await?;
                Ok(out)
            })
        })
        .await
    }

    fn publish(&self, progress: &HealReport) {
        if let Ok(mut st) = self.heal.state.lock()
            && let HealState::Running { progress: p, .. } = &mut st.current
        {
            *p = progress.clone();
        }
    }

    async fn heal_segment(
        &self,
        seg: &Segment,
        deep: bool,
        only: Option<Arc<BTreeSet<u16>>>,
        name: &str,
        report: &mut HealReport,
    ) {
        if let Body::Stored(r) = &seg.body {
            self.heal_ref(r, deep, only.clone(), name, report).await;
        }
    }

    async fn heal_ref(
        &self,
        r: &rustfs_meta::DataRef,
        deep: bool,
        only: Option<Arc<BTreeSet<u16>>>,
        name: &str,
        report: &mut HealReport,
    ) {
        let data = self.data.clone();
        let target = r.clone();
        let outcome = tokio::task::spawn_blocking(move || match only.as_deref() {
            Some(volumes) => data.heal_volumes(&target, deep, volumes),
            None => data.heal(&target, deep),
        })
        .await;
        report.objects_checked += 1;
        report.bytes_checked += r.size;
        match outcome {
            Ok(Ok(o)) => {
                report.shards_damaged += o.damaged as u64;
                report.shards_repaired += o.repaired as u64;
                report.shards_offline += o.skipped_offline as u64;
            }
            // Deleted or overwritten since the scan read its record.
            Ok(Err(rustfs_data::DataError::NotFound(_))) => {}
            // Too many shards on volumes that are offline now: repaired once they are back.
            Ok(Err(rustfs_data::DataError::Quorum { needed, available })) => {
                report.shards_offline += (needed - available.min(needed)) as u64;
            }
            Ok(Err(e)) => {
                tracing::error!(object = name, error = %e, "object data cannot be repaired");
                report.unrecoverable += 1;
                if report.unrecoverable_objects.len() < MAX_NAMED {
                    report.unrecoverable_objects.push(name.to_string());
                }
            }
            Err(e) => tracing::error!(object = name, error = %e, "heal task failed"),
        }
    }
}

/// A readable name and the segments of an object or part row.
fn describe(table: Table, key: &[u8], value: &[u8]) -> (String, Vec<Segment>) {
    let name = String::from_utf8_lossy(key).replace('\0', "/");
    let segments = match table {
        Table::Objects | Table::Versions => decode::<ObjectRecord>(value)
            .map(|r| r.segments)
            .unwrap_or_default(),
        _ => decode::<PartRecord>(value)
            .map(|p| vec![p.segment])
            .unwrap_or_default(),
    };
    (name, segments)
}

/// The tables a heal pass walks, in order.
const PASS_TABLES: [Table; 3] = [Table::Objects, Table::Versions, Table::Parts];

/// Where a heal pass is: the table and the key it reached, and what it found so far.
struct PassWalk {
    deep: bool,
    /// Bytes checked per second at most.
    rate: Option<u64>,
    only: Option<Arc<BTreeSet<u16>>>,
    /// Set by the first step, after the health check.
    started: Option<Instant>,
    table: usize,
    cursor: Vec<u8>,
    report: HealReport,
}

impl PassWalk {
    fn new(deep: bool, rate: Option<u64>, only: Option<Arc<BTreeSet<u16>>>) -> Self {
        Self {
            deep,
            rate,
            only,
            started: None,
            table: 0,
            cursor: Vec::new(),
            report: HealReport {
                deep,
                ..Default::default()
            },
        }
    }
}

/// A heal pass started in the background ([`ObjectStore::start_heal_scoped`]): a worker of
/// the store's registry, one page of metadata a step, shown in the admin status beside the
/// other workers; its result is kept for the admin API when it is done.
struct HealPass {
    store: Arc<ObjectStore>,
    id: u64,
    started_ms: i64,
    walk: PassWalk,
    /// A metadata read failed: the pass stopped there.
    failed: bool,
}

impl HealPass {
    fn finish(&self) {
        let report = self.walk.report.clone();
        tracing::info!(?report, "heal pass finished");
        if let Ok(mut p) = self.store.heal.state.lock() {
            p.current = HealState::Done {
                id: self.id,
                started_ms: self.started_ms,
                finished_ms: now_ms(),
                report,
            };
        }
    }
}

impl Worker for HealPass {
    fn name(&self) -> String {
        "heal".into()
    }

    fn step(&mut self) -> BoxFuture<'_, crate::Result<Step>> {
        Box::pin(async move {
            if self.failed {
                return Ok(Step::Done);
            }
            match self.store.heal_step(&mut self.walk).await {
                Ok(true) => Ok(Step::Busy(1)),
                Ok(false) => {
                    self.finish();
                    Ok(Step::Done)
                }
                Err(e) => {
                    tracing::error!(error = %e, "heal pass cannot read metadata; stopping");
                    self.failed = true;
                    self.finish();
                    Err(e)
                }
            }
        })
    }

    fn idle_delay(&self) -> Duration {
        Duration::ZERO
    }

    fn info(&self) -> WorkerInfo {
        let r = &self.walk.report;
        let at = PASS_TABLES
            .get(self.walk.table)
            .map_or("finished".to_string(), |t| format!("walking {t:?}"));
        WorkerInfo {
            progress: format!(
                "pass {}{}: {at}",
                self.id,
                if self.walk.deep { " (deep)" } else { "" }
            ),
            counters: BTreeMap::from([
                ("objects_checked", r.objects_checked),
                ("bytes_checked", r.bytes_checked),
                ("shards_damaged", r.shards_damaged),
                ("shards_repaired", r.shards_repaired),
                ("shards_offline", r.shards_offline),
                ("unrecoverable", r.unrecoverable),
            ]),
        }
    }
}
