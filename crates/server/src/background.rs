//! The server's background work, every piece a worker of `rustfs_object::worker` (reported in
//! the admin status): the maintenance ticks (volume health, replica resync, repair of damage
//! reads found, and the heal passes they start), the start-up orphan sweep, the expiry of
//! stale multipart uploads (when set) and the lifecycle worker.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use rustfs_object::lifecycle_worker::{LifecycleConfig, LifecycleWorker};
use rustfs_object::stale_uploads::StaleUploads;
use rustfs_object::worker::{Step, Worker, WorkerInfo};
use rustfs_object::{HealState, ObjectStore};

/// How often volumes and metadata replicas are checked and reported damage is repaired.
const MAINTENANCE_TICK: Duration = Duration::from_secs(2);
/// Every this many ticks, offline metadata replicas are retried even if no volume came back.
const RESYNC_EVERY: u64 = 15;

/// How long a cluster node waits after its start before sweeping orphaned files (longer than
/// an upload's wait for its shards to be made durable, so commits in flight land first).
const CLUSTER_SWEEP_DELAY: Duration = Duration::from_secs(120);

/// What the background workers need to know of the server.
pub struct BackgroundArgs {
    /// Seconds between deep heal passes of this server's volumes (0: none).
    pub deep_heal_every: u64,
    /// MiB per second a deep heal pass may read.
    pub heal_rate_mib: u64,
    /// Versions per second the lifecycle worker may examine.
    pub lifecycle_rate: u64,
    /// Seconds after which incomplete uploads are aborted in every bucket (0: never).
    pub stale_upload_expiry: u64,
    /// The process start (the orphan sweep leaves younger files alone).
    pub started: SystemTime,
    /// In a cluster, the heartbeat's signal that the others took this node for down.
    pub away: Option<Arc<AtomicU64>>,
    /// This node's id in leases.
    pub node: String,
}

/// Starts every background worker on the store's registry.
pub fn start(store: &Arc<ObjectStore>, args: BackgroundArgs) {
    let workers = store.workers();
    let clustered = args.away.is_some();
    workers.spawn(
        OrphanSweep {
            store: store.clone(),
            before: args.started,
            not_before: tokio::time::Instant::now()
                + if clustered {
                    // Another node may have sent this one a shard just before it stopped and
                    // not yet committed the object's record: give such commits time to land
                    // (or fail) before judging files unreferenced.
                    CLUSTER_SWEEP_DELAY
                } else {
                    Duration::ZERO
                },
            report: None,
        },
        None,
    );
    workers.spawn(Maintenance::new(store.clone(), &args), None);
    if args.stale_upload_expiry > 0 {
        workers.spawn(
            StaleUploads::new(
                store.clone(),
                args.node.clone(),
                Duration::from_secs(args.stale_upload_expiry),
            ),
            None,
        );
    }
    workers.spawn(
        LifecycleWorker::new(
            store.clone(),
            LifecycleConfig::for_node(args.node, args.lifecycle_rate.max(1)),
        ),
        Some(args.lifecycle_rate.max(1)),
    );
}

/// The start-up sweep of orphaned data files (`ObjectStore::sweep_orphans`), once.
struct OrphanSweep {
    store: Arc<ObjectStore>,
    before: SystemTime,
    not_before: tokio::time::Instant,
    report: Option<rustfs_object::SweepReport>,
}

impl Worker for OrphanSweep {
    fn name(&self) -> String {
        "orphan-sweep".into()
    }

    fn step(&mut self) -> BoxFuture<'_, rustfs_object::Result<Step>> {
        Box::pin(async move {
            if tokio::time::Instant::now() < self.not_before {
                return Ok(Step::Idle);
            }
            let r = self.store.sweep_orphans(self.before).await;
            if r.removed > 0 || r.unreadable > 0 {
                tracing::info!(
                    scanned = r.scanned,
                    removed = r.removed,
                    unreadable = r.unreadable,
                    "orphan sweep finished"
                );
            }
            self.report = Some(r);
            Ok(Step::Done)
        })
    }

    fn idle_delay(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn info(&self) -> WorkerInfo {
        let r = self.report.unwrap_or_default();
        WorkerInfo {
            progress: if self.report.is_some() {
                "finished".into()
            } else {
                "waiting".into()
            },
            counters: BTreeMap::from([
                ("scanned", r.scanned as u64),
                ("removed", r.removed as u64),
                ("unreadable", r.unreadable as u64),
            ]),
        }
    }
}

/// Background upkeep, one tick a step: volume health, replica resync, repair of damage reads
/// found, heal passes for volumes that missed writes, and a rate-limited deep pass of this
/// server's own volumes every `deep_heal_every` seconds.
///
/// A pass covers the volumes that came back (a replaced drive, another node seen alive
/// again) and, in a cluster (`away` is the heartbeat's signal), this node's own volumes: at
/// start, when the others took it for down (its heartbeat was silent), and when the ticks
/// themselves were held up longer than the others wait (the process was paused). Writes went
/// on without those volumes meanwhile.
struct Maintenance {
    store: Arc<ObjectStore>,
    deep_every: u64,
    rate_mib: u64,
    away: Option<Arc<AtomicU64>>,
    n: u64,
    last_deep: tokio::time::Instant,
    own: BTreeSet<u16>,
    wanted: BTreeSet<u16>,
    seen_away: u64,
    last_tick: tokio::time::Instant,
    heal_passes: u64,
    healed: u64,
}

impl Maintenance {
    fn new(store: Arc<ObjectStore>, args: &BackgroundArgs) -> Self {
        let own: BTreeSet<u16> = store.local_volume_ids().into_iter().collect();
        let wanted = if args.away.is_some() {
            own.clone()
        } else {
            BTreeSet::new()
        };
        Self {
            store,
            deep_every: args.deep_heal_every,
            rate_mib: args.heal_rate_mib,
            away: args.away.clone(),
            n: 0,
            last_deep: tokio::time::Instant::now(),
            own,
            wanted,
            seen_away: 0,
            last_tick: tokio::time::Instant::now(),
            heal_passes: 0,
            healed: 0,
        }
    }

    async fn tick(&mut self) {
        self.n += 1;
        let clustered = self.away.is_some();
        // A tick comes every MAINTENANCE_TICK; one much later means the process was held up.
        if clustered && self.last_tick.elapsed() > rustfs_cluster::membership::DEAD_AFTER {
            tracing::warn!(
                held_secs = self.last_tick.elapsed().as_secs(),
                "this node was held up long enough for the others to take it for down; healing its volumes"
            );
            self.wanted.extend(self.own.iter().copied());
        }
        self.last_tick = tokio::time::Instant::now();
        if let Some(a) = &self.away {
            let now = a.load(Ordering::Acquire);
            if now != self.seen_away {
                self.seen_away = now;
                self.wanted.extend(self.own.iter().copied());
            }
        }
        let report = self
            .store
            .maintain(self.n.is_multiple_of(RESYNC_EVERY))
            .await;
        self.healed += report.healed;
        self.wanted.extend(
            report
                .volumes_back
                .iter()
                .filter_map(|&v| u16::try_from(v).ok()),
        );
        if !self.wanted.is_empty()
            && self
                .store
                .start_heal_scoped(false, None, Some(Arc::new(self.wanted.clone())))
                .is_some()
        {
            self.wanted.clear();
            self.heal_passes += 1;
        }
        if self.deep_every > 0 && self.last_deep.elapsed() >= Duration::from_secs(self.deep_every) {
            self.last_deep = tokio::time::Instant::now();
            if self
                .store
                .start_heal_scoped(
                    true,
                    Some(self.rate_mib.saturating_mul(1 << 20)),
                    Some(Arc::new(self.own.clone())),
                )
                .is_some()
            {
                self.heal_passes += 1;
            }
        }
    }
}

impl Worker for Maintenance {
    fn name(&self) -> String {
        "maintenance".into()
    }

    fn step(&mut self) -> BoxFuture<'_, rustfs_object::Result<Step>> {
        Box::pin(async move {
            self.tick().await;
            Ok(Step::Idle)
        })
    }

    fn idle_delay(&self) -> Duration {
        MAINTENANCE_TICK
    }

    fn info(&self) -> WorkerInfo {
        let heal = match self.store.heal_state(None) {
            HealState::Running { id, .. } => format!("heal pass {id} running"),
            HealState::Done { id, .. } => format!("heal pass {id} done"),
            _ => "no heal pass".into(),
        };
        WorkerInfo {
            progress: format!("tick {}; {heal}", self.n),
            counters: BTreeMap::from([
                ("ticks", self.n),
                ("heal_passes_started", self.heal_passes),
                ("repaired", self.healed),
            ]),
        }
    }
}
