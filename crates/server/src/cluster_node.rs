//! Starting a cluster node (`--node-address`): the node's identity from its volumes, its
//! registration and heartbeat in the shared database, the stored layout (formed once
//! `RUSTFS_CLUSTER_NODES` nodes registered), links to the other nodes' volumes, and the
//! upkeep that follows the others' heartbeats and finishes deferred deletions. Everything two
//! nodes could decide differently is decided in the database (rustfs-cluster); this module
//! only wires it to the data store and the shard service.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustfs_cluster::membership::{self, Liveness};
use rustfs_cluster::{LayoutRecord, deferred, identity, layout};
use rustfs_internode::{NodeLink, RemoteShardVolume, ShardService, Signer};
use rustfs_meta::TxnStore;
use rustfs_object::{DataStore, Layout, Reserve};
use tokio_rustls::rustls;

/// How often a waiting node looks for the layout again.
const LAYOUT_POLL: Duration = Duration::from_millis(500);
/// Deferred deletions recorded per transaction.
const DEFER_BATCH: usize = 1000;
/// Deferred deletions done per volume per upkeep round.
const DRAIN_BATCH: usize = 256;

/// What a node needs to join its cluster.
pub struct ClusterArgs {
    /// `http://host:port`: where the other nodes reach this one.
    pub address: String,
    pub secret: String,
    /// Nodes that must register before the first layout is formed.
    pub expected_nodes: usize,
    pub storage_class: Option<String>,
    /// How this node checks the others' certificates (`https://` node addresses).
    pub tls: Arc<rustls::ClientConfig>,
}

/// A node's place in the cluster once joined.
pub struct Joined {
    pub data: Arc<DataStore>,
    pub service: Arc<ShardService>,
    pub layout: LayoutRecord,
    /// Raised each time this node comes back from being taken for down by the others.
    pub away: Arc<AtomicU64>,
    pub node_id: String,
    links: Vec<(String, Arc<NodeLink>)>,
    peers: Peers,
    local_ids: Vec<u16>,
}

/// What it takes to reach the other nodes.
#[derive(Clone)]
struct Peers {
    me: String,
    signer: Signer,
    tls: Arc<rustls::ClientConfig>,
    handle: tokio::runtime::Handle,
}

type Remote = Vec<(u16, Arc<dyn rustfs_object::RemoteVolume>)>;
type NodeRows = [(
    rustfs_cluster::NodeRecord,
    Option<rustfs_cluster::records::Heartbeat>,
)];

impl Peers {
    /// A link to node `n` and its volumes.
    fn link(&self, n: &rustfs_cluster::NodeRecord) -> Result<(Arc<NodeLink>, Remote), String> {
        let link = NodeLink::new(
            &n.address,
            self.signer.clone(),
            self.tls.clone(),
            self.handle.clone(),
        )
        .map_err(|e| format!("node {}: {e}", n.node_id))?;
        let remote: Remote = n
            .volumes
            .iter()
            .map(|v| {
                (
                    v.id,
                    Arc::new(RemoteShardVolume::new(link.clone(), v.id))
                        as Arc<dyn rustfs_object::RemoteVolume>,
                )
            })
            .collect();
        Ok((link, remote))
    }

    /// Links to the nodes whose registered address is no longer the one `links` uses (a node
    /// restarted elsewhere: a new pod, a new port): replaced in `links`, and their volumes.
    fn moved(
        &self,
        nodes: &NodeRows,
        links: &mut [(String, Arc<NodeLink>)],
    ) -> Result<Remote, String> {
        let mut remote: Remote = Vec::new();
        for (n, _) in nodes {
            let Some(slot) = links.iter_mut().find(|(id, _)| *id == n.node_id) else {
                continue;
            };
            if slot.1.address() == n.address.trim_end_matches('/') {
                continue;
            }
            let (link, volumes) = self.link(n)?;
            tracing::info!(node = %n.node_id, from = %slot.1.address(), to = %n.address, "node moved to a new address");
            slot.1 = link;
            remote.extend(volumes);
        }
        Ok(remote)
    }

    /// Links to the nodes of `nodes` that `links` does not have yet (added to it), and their
    /// volumes.
    fn connect(
        &self,
        nodes: &NodeRows,
        links: &mut Vec<(String, Arc<NodeLink>)>,
    ) -> Result<Remote, String> {
        let mut remote: Remote = Vec::new();
        for (n, _) in nodes {
            if n.node_id == self.me || links.iter().any(|(id, _)| *id == n.node_id) {
                continue;
            }
            let (link, volumes) = self.link(n)?;
            remote.extend(volumes);
            links.push((n.node_id.clone(), link));
        }
        Ok(remote)
    }
}

/// The sets new objects go to: the newest pool's.
fn sets_of(layout: &LayoutRecord) -> Result<Vec<rustfs_object::ShardSet>, String> {
    let pool = layout
        .pools
        .last()
        .ok_or_else(|| "the stored layout has no pool".to_string())?;
    let mut sets = Vec::new();
    for s in &pool.sets {
        let l = Layout::from_counts(s.data, s.parity)
            .ok_or_else(|| format!("the stored layout has an invalid set {s:?}"))?;
        sets.push(rustfs_object::ShardSet {
            layout: l,
            volumes: s.volumes.clone(),
        });
    }
    Ok(sets)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Joins (or rejoins) the cluster in `meta` with `volumes`; returns once the layout exists.
pub async fn join(
    meta: Arc<dyn TxnStore>,
    volumes: Vec<PathBuf>,
    args: &ClusterArgs,
    reserve: Reserve,
) -> Result<Joined, String> {
    let signer = Signer::new(&args.secret).map_err(|e| format!("RUSTFS_CLUSTER_SECRET: {e}"))?;
    let vols = volumes.clone();
    let node_id = tokio::task::spawn_blocking(move || identity::load_or_create(&vols))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("node identity: {e}"))?;
    let paths: Vec<String> = volumes
        .iter()
        .map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    // An address is taken over only from a node whose heartbeat stopped.
    let beats: HashMap<String, i64> = membership::read_nodes(meta.as_ref())
        .await
        .map_err(|e| format!("cannot read the cluster's nodes: {e}"))?
        .into_iter()
        .filter_map(|(n, hb)| hb.map(|hb| (n.node_id, hb.at_ms)))
        .collect();
    let now = now_ms();
    let alive = move |node: &str| {
        beats
            .get(node)
            .is_some_and(|at| now - at < membership::DEAD_AFTER.as_millis() as i64)
    };
    let ids = membership::register(meta.as_ref(), &node_id, &args.address, &paths, &alive)
        .await
        .map_err(|e| format!("cannot register this node: {e}"))?;
    membership::beat(meta.as_ref(), &node_id)
        .await
        .map_err(|e| format!("cannot write this node's heartbeat: {e}"))?;
    tracing::info!(node = %node_id, address = %args.address, volumes = ?ids, "registered in the cluster");
    let away = Arc::new(AtomicU64::new(0));
    spawn_heartbeat(meta.clone(), node_id.clone(), away.clone());

    let mut waiting_logged = false;
    let layout = loop {
        match layout::form_first_pool(
            meta.as_ref(),
            args.expected_nodes,
            args.storage_class.as_deref(),
        )
        .await
        {
            Ok(Some(l)) => break l,
            Ok(None) => {
                if !waiting_logged {
                    tracing::info!(
                        expected = args.expected_nodes,
                        "waiting for the cluster's nodes to register (RUSTFS_CLUSTER_NODES)"
                    );
                    waiting_logged = true;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read or form the layout; retrying"),
        }
        tokio::time::sleep(LAYOUT_POLL).await;
    };

    let nodes = membership::read_nodes(meta.as_ref())
        .await
        .map_err(|e| format!("cannot read the cluster's nodes: {e}"))?;
    let peers = Peers {
        me: node_id.clone(),
        signer: signer.clone(),
        tls: args.tls.clone(),
        handle: tokio::runtime::Handle::current(),
    };
    let mut links = Vec::new();
    let remote = peers.connect(&nodes, &mut links)?;
    let sets = sets_of(&layout)?;
    let local: Vec<(u16, PathBuf)> = ids.iter().copied().zip(volumes).collect();
    let data = tokio::task::spawn_blocking(move || {
        DataStore::open_cluster(
            &local,
            remote,
            sets,
            rustfs_cluster::placement::set_index,
            reserve,
        )
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot open the volumes: {e}"))?;
    let data = Arc::new(data);
    let service = Arc::new(ShardService::new(data.clone(), signer));
    Ok(Joined {
        data,
        service,
        layout,
        away,
        node_id,
        links,
        peers,
        local_ids: ids,
    })
}

/// Takes layout `l`: links to the nodes not known yet, and the newest pool's sets.
fn grow(
    data: &DataStore,
    peers: &Peers,
    nodes: &NodeRows,
    links: &mut Vec<(String, Arc<NodeLink>)>,
    l: &LayoutRecord,
) -> Result<(), String> {
    let mut added = links.clone();
    let remote = peers.connect(nodes, &mut added)?;
    data.grow(remote, sets_of(l)?).map_err(|e| e.to_string())?;
    *links = added;
    Ok(())
}

/// Writes this node's heartbeat every second. When a beat lands after none did for longer
/// than [`membership::DEAD_AFTER`] (the database was out of reach, or the process was paused),
/// the other nodes took this one for down and wrote without its volumes: `away` is raised so
/// the maintenance loop heals them.
fn spawn_heartbeat(meta: Arc<dyn TxnStore>, node_id: String, away: Arc<AtomicU64>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(membership::BEAT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = Instant::now();
        loop {
            tick.tick().await;
            match membership::beat(meta.as_ref(), &node_id).await {
                Ok(_) => {
                    if last.elapsed() > membership::DEAD_AFTER {
                        tracing::warn!(
                            silent_secs = last.elapsed().as_secs(),
                            "this node's heartbeat was silent long enough for the others to take it for down; healing its volumes"
                        );
                        away.fetch_add(1, Ordering::AcqRel);
                    }
                    last = Instant::now();
                }
                Err(e) => tracing::warn!(error = %e, "heartbeat not written"),
            }
        }
    });
}

impl Joined {
    /// Follows the other nodes' heartbeats (a node whose counter stops for
    /// [`membership::DEAD_AFTER`] is taken as down: its volumes offline, reads rebuilt from
    /// parity, writes on a quorum), and turns removals that could not reach a node into
    /// deferred deletions, which each node does on its own volumes.
    pub fn spawn_upkeep(&self, meta: Arc<dyn TxnStore>) {
        let mut links = self.links.clone();
        let data = self.data.clone();
        let local_ids = self.local_ids.clone();
        let peers = self.peers.clone();
        let mut version = self.layout.version;
        tokio::spawn(async move {
            let mut liveness = Liveness::new(Instant::now());
            let mut tick = tokio::time::interval(membership::BEAT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match membership::read_nodes(meta.as_ref()).await {
                    Ok(nodes) => {
                        // A grown layout (`rustfs cluster add-pool`): new objects go to the
                        // new pool, on nodes this one may not know yet.
                        match layout::read(meta.as_ref()).await {
                            Ok(Some(l)) if l.version > version => {
                                match grow(&data, &peers, &nodes, &mut links, &l) {
                                    Ok(()) => {
                                        version = l.version;
                                        tracing::info!(
                                            version,
                                            pools = l.pools.len(),
                                            "the cluster's layout grew; new objects go to the newest pool"
                                        );
                                    }
                                    Err(e) => {
                                        tracing::error!(error = %e, "cannot take the new layout; retrying")
                                    }
                                }
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "cannot read the layout"),
                        }
                        match peers.moved(&nodes, &mut links) {
                            Ok(moved) if !moved.is_empty() => data.replace_remote(moved),
                            Ok(_) => {}
                            Err(e) => {
                                tracing::error!(error = %e, "cannot reach a node at its new address")
                            }
                        }
                        let now = Instant::now();
                        liveness.observe(
                            now,
                            nodes
                                .into_iter()
                                .filter_map(|(n, hb)| hb.map(|hb| (n.node_id, hb.counter))),
                        );
                        for (id, link) in &links {
                            let alive = liveness.alive(id, now);
                            if alive != link.is_online() && !alive {
                                tracing::warn!(node = %id, address = %link.address(), "node's heartbeat stopped: its volumes are offline");
                            }
                            link.set_alive(alive);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read the cluster's heartbeats"),
                }
                let unremoved = data.take_unremoved();
                for batch in unremoved.chunks(DEFER_BATCH) {
                    if let Err(e) = deferred::defer_many(meta.as_ref(), batch).await {
                        tracing::warn!(files = batch.len(), error = %e, "deferred deletions not recorded; the volumes' orphan sweeps will find the files");
                    }
                }
                for &volume in &local_ids {
                    let d = data.clone();
                    let remove = move |f: &str| d.local_remove(volume, f).is_ok();
                    match deferred::drain(meta.as_ref(), volume, DRAIN_BATCH, &remove).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(volume, files = n, "deferred deletions done"),
                        Err(e) => {
                            tracing::debug!(volume, error = %e, "deferred deletions not read")
                        }
                    }
                }
            }
        });
    }
}
