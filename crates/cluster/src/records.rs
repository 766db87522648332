//! The records of [`Table::Cluster`] and their keys (JSON values: few, small, rarely written,
//! and readable with `psql`):
//!
//! | key | value |
//! |---|---|
//! | `node/NODE-ID` | [`NodeRecord`]: address and volumes |
//! | `heartbeat/NODE-ID` | [`Heartbeat`]: a counter raised every second |
//! | `volume/ID` (u16 big-endian) | [`VolumeRecord`]: which node and path hold the volume |
//! | `layout` | [`LayoutRecord`]: pools of erasure sets |

use rustfs_meta::{Table, Txn};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::ClusterError;

pub const TABLE: Table = Table::Cluster;
pub const NODE_PREFIX: &[u8] = b"node/";
pub const HEARTBEAT_PREFIX: &[u8] = b"heartbeat/";
pub const VOLUME_PREFIX: &[u8] = b"volume/";
pub const LAYOUT_KEY: &[u8] = b"layout";

pub fn node_key(node_id: &str) -> Vec<u8> {
    [NODE_PREFIX, node_id.as_bytes()].concat()
}

pub fn heartbeat_key(node_id: &str) -> Vec<u8> {
    [HEARTBEAT_PREFIX, node_id.as_bytes()].concat()
}

pub fn volume_key(id: u16) -> Vec<u8> {
    [VOLUME_PREFIX, &id.to_be_bytes()].concat()
}

/// The end of the key range of `prefix` (exclusive).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    rustfs_meta::keys::prefix_successor(prefix)
}

/// One node: where other nodes reach it and its volumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub node_id: String,
    /// The URL other nodes reach it at (`--node-address`).
    pub address: String,
    pub volumes: Vec<VolumeEntry>,
    /// When it first registered (milliseconds since the epoch, its own clock).
    pub registered_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeEntry {
    pub id: u16,
    pub path: String,
}

/// Which node holds a volume id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub node_id: String,
    pub path: String,
}

/// A node's heartbeat: `counter` rises by one each beat. Observers judge liveness by whether
/// it changed lately on their own clock, so clocks across machines need not agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub counter: u64,
    /// The writer's wall clock, for people reading the table.
    pub at_ms: i64,
}

/// The layout: pools in the order they were added; new objects go to the newest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutRecord {
    /// Raised by every change.
    pub version: u64,
    pub pools: Vec<Pool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub sets: Vec<SetSpec>,
}

/// One erasure set: `data + parity` volume ids, in shard order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSpec {
    pub data: u8,
    pub parity: u8,
    pub volumes: Vec<u16>,
}

impl LayoutRecord {
    /// Every volume id some set uses.
    pub fn volumes(&self) -> impl Iterator<Item = u16> + '_ {
        self.pools
            .iter()
            .flat_map(|p| p.sets.iter())
            .flat_map(|s| s.volumes.iter().copied())
    }
}

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, ClusterError> {
    serde_json::from_slice(bytes).map_err(|e| ClusterError::Damaged {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers: serializing cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Reads and decodes one record in `t` (joining its conflict set).
pub(crate) async fn get<T: DeserializeOwned>(
    t: &mut (dyn Txn + '_),
    key: &[u8],
) -> Result<Option<T>, ClusterError> {
    match t.get(TABLE, key).await? {
        Some(v) => Ok(Some(decode(key, &v)?)),
        None => Ok(None),
    }
}

/// Every `(key, value)` under `prefix` in `t`.
pub(crate) async fn scan_prefix(
    t: &mut (dyn Txn + '_),
    prefix: &[u8],
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ClusterError> {
    let mut out = Vec::new();
    t.scan(TABLE, prefix, &prefix_end(prefix), &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        rustfs_meta::ScanStep::Next
    })
    .await?;
    Ok(out)
}

/// Every node record.
pub(crate) async fn nodes(t: &mut (dyn Txn + '_)) -> Result<Vec<NodeRecord>, ClusterError> {
    scan_prefix(t, NODE_PREFIX)
        .await?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}
