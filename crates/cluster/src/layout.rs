//! The stored layout: pools of erasure sets of volume ids, under one key, versioned.
//!
//! The first pool is formed when the expected number of nodes has registered: each waiting
//! node tries, in a transaction that reads the layout key and every node record; the first to
//! commit writes it, the others conflict (their read of the key changed), run again and find
//! it. A later pool is made of the nodes not yet in any pool ([`add_pool`]), for an operator
//! adding capacity: objects already stored keep their volumes.

use rustfs_meta::{TxnStore, transact};

use crate::records::{self, LAYOUT_KEY, LayoutRecord, NodeRecord, Pool, TABLE};
use crate::{ClusterError, sets};

/// The layout, if formed.
pub async fn read(store: &dyn TxnStore) -> Result<Option<LayoutRecord>, ClusterError> {
    match store.read_key(TABLE, LAYOUT_KEY).await? {
        Some(v) => Ok(Some(records::decode(LAYOUT_KEY, &v)?)),
        None => Ok(None),
    }
}

/// Each node's volume ids (argument order), nodes in registration order (then id).
fn volumes_by_node(nodes: &[&NodeRecord]) -> Vec<Vec<u16>> {
    nodes
        .iter()
        .map(|n| n.volumes.iter().map(|v| v.id).collect())
        .collect()
}

fn in_order(mut nodes: Vec<&NodeRecord>) -> Vec<&NodeRecord> {
    nodes.sort_by(|a, b| (a.registered_ms, &a.node_id).cmp(&(b.registered_ms, &b.node_id)));
    nodes
}

/// The layout: the stored one, or the first pool formed now from every registered node if
/// at least `expected_nodes` have registered; `None` while fewer have.
pub async fn form_first_pool(
    store: &dyn TxnStore,
    expected_nodes: usize,
    storage_class: Option<&str>,
) -> Result<Option<LayoutRecord>, ClusterError> {
    let r = transact(store, |t| {
        Box::pin(async move {
            if let Some(l) = records::get::<LayoutRecord>(t, LAYOUT_KEY).await? {
                return Ok(Some(l));
            }
            let nodes = records::nodes(t).await?;
            if nodes.len() < expected_nodes.max(1) {
                return Ok(None);
            }
            let ordered = in_order(nodes.iter().collect());
            let sets = sets::build_sets(&volumes_by_node(&ordered), storage_class)?;
            let layout = LayoutRecord {
                version: 1,
                pools: vec![Pool { sets }],
            };
            t.put(TABLE, LAYOUT_KEY.to_vec(), records::encode(&layout));
            Ok(Some(layout))
        })
    })
    .await?;
    Ok(r)
}

/// Adds a pool made of every registered volume no pool uses yet (the volumes of nodes that
/// joined after the layout was formed). Returns the new layout; refused when there is none to
/// add or no layout yet.
pub async fn add_pool(
    store: &dyn TxnStore,
    storage_class: Option<&str>,
) -> Result<LayoutRecord, ClusterError> {
    let r = transact(store, |t| {
        Box::pin(async move {
            let Some(mut layout) = records::get::<LayoutRecord>(t, LAYOUT_KEY).await? else {
                return Err(ClusterError::Layout("no layout yet".into()));
            };
            let used: std::collections::HashSet<u16> = layout.volumes().collect();
            let nodes = records::nodes(t).await?;
            let fresh: Vec<NodeRecord> = nodes
                .into_iter()
                .map(|mut n| {
                    n.volumes.retain(|v| !used.contains(&v.id));
                    n
                })
                .filter(|n| !n.volumes.is_empty())
                .collect();
            if fresh.is_empty() {
                return Err(ClusterError::Layout(
                    "every registered volume is in a pool already".into(),
                ));
            }
            let ordered = in_order(fresh.iter().collect());
            let sets = sets::build_sets(&volumes_by_node(&ordered), storage_class)?;
            layout.pools.push(Pool { sets });
            layout.version += 1;
            t.put(TABLE, LAYOUT_KEY.to_vec(), records::encode(&layout));
            Ok(layout)
        })
    })
    .await?;
    Ok(r)
}
