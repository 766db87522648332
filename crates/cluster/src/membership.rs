//! Nodes join by registering their address and volumes; each writes a heartbeat every second;
//! every node watches the others' heartbeats.
//!
//! Liveness is judged on the observer's own monotonic clock: a node is alive while its
//! heartbeat counter was seen to change within [`DEAD_AFTER`] (or, before the observer has
//! watched that long, while it keeps changing). No two machines' clocks are compared.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustfs_meta::{TxnStore, transact};

use crate::ClusterError;
use crate::records::{
    self, Heartbeat, NodeRecord, TABLE, VolumeEntry, VolumeRecord, heartbeat_key, node_key,
    volume_key,
};

/// How often a node writes its heartbeat.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);
/// A node whose heartbeat has not changed for this long is dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(5);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Registers node `node_id` at `address` with volumes `paths` (in argument order), in one
/// transaction: a path the node registered before keeps its id, a new one gets the smallest id
/// no volume uses. Two nodes registering at once read the same volume rows, so one of them
/// conflicts and runs again on the other's result: ids are never handed out twice.
///
/// An address another node registered is taken over only when that node is not `alive` (the
/// caller's judgement from heartbeats: a replaced machine keeps its address).
pub async fn register(
    store: &dyn TxnStore,
    node_id: &str,
    address: &str,
    paths: &[String],
    alive: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<u16>, ClusterError> {
    let r = transact(store, |t| {
        Box::pin(async move {
            let nodes = records::nodes(t).await?;
            if let Some(other) = nodes
                .iter()
                .find(|n| n.node_id != node_id && n.address == address && alive(&n.node_id))
            {
                return Err(ClusterError::AddressInUse {
                    address: address.to_string(),
                    other: other.node_id.clone(),
                });
            }
            let mine = nodes.iter().find(|n| n.node_id == node_id);
            let mut used: Vec<bool> = vec![false; 1 << 16];
            for (k, _) in records::scan_prefix(t, records::VOLUME_PREFIX).await? {
                if let Some(id) = k
                    .get(records::VOLUME_PREFIX.len()..)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                {
                    used[u16::from_be_bytes(id) as usize] = true;
                }
            }
            let mut volumes = Vec::with_capacity(paths.len());
            for path in paths {
                let known = mine.and_then(|n| n.volumes.iter().find(|v| &v.path == path));
                let id = match known {
                    Some(v) => v.id,
                    None => {
                        let id = used
                            .iter()
                            .position(|u| !u)
                            .ok_or(ClusterError::NoVolumeIds)?;
                        used[id] = true;
                        id as u16
                    }
                };
                t.put(
                    TABLE,
                    volume_key(id),
                    records::encode(&VolumeRecord {
                        node_id: node_id.to_string(),
                        path: path.clone(),
                    }),
                );
                volumes.push(VolumeEntry {
                    id,
                    path: path.clone(),
                });
            }
            // Volumes the node no longer lists keep their rows: their ids stay reserved, as
            // the layout and stored objects may name them.
            let mut all = volumes.clone();
            if let Some(n) = mine {
                for v in &n.volumes {
                    if !all.iter().any(|a| a.id == v.id) {
                        all.push(v.clone());
                    }
                }
            }
            let record = NodeRecord {
                node_id: node_id.to_string(),
                address: address.to_string(),
                volumes: all,
                registered_ms: mine.map_or_else(now_ms, |n| n.registered_ms),
            };
            t.put(TABLE, node_key(node_id), records::encode(&record));
            Ok(volumes.iter().map(|v| v.id).collect::<Vec<u16>>())
        })
    })
    .await?;
    Ok(r)
}

/// Raises node `node_id`'s heartbeat counter (one small transaction); returns the new value.
pub async fn beat(store: &dyn TxnStore, node_id: &str) -> Result<u64, ClusterError> {
    let key = heartbeat_key(node_id);
    let key = &key;
    let r = transact(store, |t| {
        Box::pin(async move {
            let last: Option<Heartbeat> = records::get(t, key).await?;
            let counter = last.map_or(0, |h| h.counter) + 1;
            t.put(
                TABLE,
                key.clone(),
                records::encode(&Heartbeat {
                    counter,
                    at_ms: now_ms(),
                }),
            );
            Ok(counter)
        })
    })
    .await?;
    Ok(r)
}

/// Every node record and heartbeat, read together.
pub async fn read_nodes(
    store: &dyn TxnStore,
) -> Result<Vec<(NodeRecord, Option<Heartbeat>)>, ClusterError> {
    let r = transact(store, |t| {
        Box::pin(async move {
            let nodes = records::nodes(t).await?;
            let mut beats = HashMap::new();
            for (k, v) in records::scan_prefix(t, records::HEARTBEAT_PREFIX).await? {
                let name = k.get(records::HEARTBEAT_PREFIX.len()..).unwrap_or_default();
                let id = String::from_utf8_lossy(name).into_owned();
                beats.insert(id, records::decode::<Heartbeat>(&k, &v)?);
            }
            Ok(nodes
                .into_iter()
                .map(|n| {
                    let hb = beats.remove(&n.node_id);
                    (n, hb)
                })
                .collect::<Vec<_>>())
        })
    })
    .await?;
    Ok(r)
}

/// One observer's view of the other nodes' liveness, fed with what [`read_nodes`] returns.
#[derive(Debug)]
pub struct Liveness {
    started: Instant,
    seen: HashMap<String, (u64, Instant)>,
}

impl Default for Liveness {
    fn default() -> Self {
        Self::new(Instant::now())
    }
}

impl Liveness {
    pub fn new(now: Instant) -> Self {
        Self {
            started: now,
            seen: HashMap::new(),
        }
    }

    /// Takes the counters read at `now`.
    pub fn observe(&mut self, now: Instant, beats: impl IntoIterator<Item = (String, u64)>) {
        for (node, counter) in beats {
            match self.seen.get_mut(&node) {
                Some((c, _)) if *c == counter => {}
                Some(entry) => *entry = (counter, now),
                // First sight: it is as fresh as our watch is long.
                None => {
                    self.seen.insert(node, (counter, self.started));
                }
            }
        }
    }

    /// Whether `node`'s counter changed within [`DEAD_AFTER`] of `now` (a node never seen
    /// is dead).
    pub fn alive(&self, node: &str, now: Instant) -> bool {
        self.seen
            .get(node)
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) < DEAD_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_alive_while_its_counter_moves() {
        let t0 = Instant::now();
        let mut l = Liveness::new(t0);
        assert!(!l.alive("a", t0), "never seen: dead");
        l.observe(t0, [("a".into(), 7)]);
        assert!(l.alive("a", t0 + Duration::from_secs(1)));
        l.observe(t0 + Duration::from_secs(3), [("a".into(), 8)]);
        l.observe(t0 + Duration::from_secs(7), [("a".into(), 8)]);
        assert!(l.alive("a", t0 + Duration::from_secs(7)));
        assert!(
            !l.alive("a", t0 + Duration::from_secs(9)),
            "stuck counter: dead"
        );
        l.observe(t0 + Duration::from_secs(10), [("a".into(), 9)]);
        assert!(l.alive("a", t0 + Duration::from_secs(10)), "back");
    }
}
