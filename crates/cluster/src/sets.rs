//! How the volumes of a pool's nodes become erasure sets. The node is the first failure
//! domain, the drive the second:
//!
//! - With 4 or more nodes, a set takes at most one volume per node: its size is the largest
//!   divisor of the volume count in 4..=16 that is at most the node count, so a set loses one
//!   shard per dead node and survives as many dead nodes as it has parity (4 nodes of 2
//!   volumes: two sets of 4, each one volume on every node).
//! - With fewer nodes (or no such divisor), the largest divisor in 4..=16 (one set of all
//!   volumes below 4), its volumes spread round-robin over the nodes.
//! - Volumes are dealt node by node (the first volume of every node, then the second, ...),
//!   so each set spans as many nodes as it can.
//!
//! Parity: `EC:N` from `RUSTFS_STORAGE_CLASS_STANDARD` when given, else the default for the
//! set size ([`rustfs_data::Layout::default_for`]).

use rustfs_data::Layout;

use crate::ClusterError;
use crate::records::SetSpec;

/// The set size for `volumes` volumes on `nodes` nodes.
pub fn set_size(volumes: usize, nodes: usize) -> usize {
    if volumes < 4 {
        return volumes;
    }
    let divisors: Vec<usize> = (4..=16)
        .rev()
        .filter(|s| volumes.is_multiple_of(*s))
        .collect();
    if nodes >= 4
        && let Some(&s) = divisors.iter().find(|&&s| s <= nodes)
    {
        return s;
    }
    // No divisor in 4..=16 (a prime count above 16, say): one set of all volumes, which
    // `Layout` allows up to 32 (more is refused by `build_sets`).
    divisors.first().copied().unwrap_or(volumes.min(32))
}

/// Erasure sets from `nodes` (each node's volume ids, in its argument order), with parity from
/// `storage_class` (`EC:N`) or the default for the set size.
pub fn build_sets(
    nodes: &[Vec<u16>],
    storage_class: Option<&str>,
) -> Result<Vec<SetSpec>, ClusterError> {
    let total: usize = nodes.iter().map(Vec::len).sum();
    if total == 0 {
        return Err(ClusterError::Layout("no volumes".into()));
    }
    let size = set_size(total, nodes.iter().filter(|v| !v.is_empty()).count());
    if !total.is_multiple_of(size) {
        return Err(ClusterError::Layout(format!(
            "{total} volumes cannot be cut into equal erasure sets of 4 to 16 volumes"
        )));
    }
    let layout = match storage_class {
        Some(class) => Layout::from_storage_class(size, class),
        None => Layout::default_for(size),
    }
    .map_err(|e| ClusterError::Layout(e.to_string()))?;
    // Deal volumes node by node: every node's first volume, then every node's second, ...
    let depth = nodes.iter().map(Vec::len).max().unwrap_or(0);
    let dealt: Vec<u16> = (0..depth)
        .flat_map(|i| nodes.iter().filter_map(move |v| v.get(i).copied()))
        .collect();
    Ok(dealt
        .chunks(size)
        .map(|c| SetSpec {
            data: layout.data,
            parity: layout.parity,
            volumes: c.to_vec(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize, v: usize) -> Vec<Vec<u16>> {
        (0..n)
            .map(|i| (0..v).map(|j| (i * v + j) as u16).collect())
            .collect()
    }

    fn node_of(nodes: &[Vec<u16>], id: u16) -> usize {
        nodes.iter().position(|v| v.contains(&id)).unwrap()
    }

    /// Every volume in exactly one set; the most shards one node holds in any set.
    fn check(nodes: &[Vec<u16>], sets: &[SetSpec]) -> usize {
        let mut all: Vec<u16> = sets.iter().flat_map(|s| s.volumes.clone()).collect();
        all.sort();
        let mut want: Vec<u16> = nodes.concat();
        want.sort();
        assert_eq!(all, want, "every volume in exactly one set");
        let mut worst = 0;
        for s in sets {
            assert_eq!(s.volumes.len(), (s.data + s.parity) as usize);
            for n in 0..nodes.len() {
                let on = s
                    .volumes
                    .iter()
                    .filter(|&&v| node_of(nodes, v) == n)
                    .count();
                worst = worst.max(on);
            }
        }
        worst
    }

    #[test]
    fn four_nodes_of_two_volumes_make_two_sets_one_volume_per_node() {
        let n = nodes(4, 2);
        let sets = build_sets(&n, None).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(check(&n, &sets), 1);
        assert_eq!((sets[0].data, sets[0].parity), (2, 2));
        let sets = build_sets(&n, Some("EC:1")).unwrap();
        assert_eq!((sets[0].data, sets[0].parity), (3, 1));
    }

    #[test]
    fn sets_spread_over_nodes_for_many_shapes() {
        for (n, v) in [
            (1, 1),
            (1, 4),
            (2, 2),
            (2, 4),
            (3, 2),
            (4, 1),
            (4, 4),
            (5, 2),
            (6, 2),
            (8, 2),
            (16, 1),
            (16, 2),
            (20, 1),
        ] {
            let ns = nodes(n, v);
            let sets = build_sets(&ns, None).unwrap_or_else(|e| panic!("{n}x{v}: {e}"));
            let worst = check(&ns, &sets);
            let size = sets[0].volumes.len();
            // As few shards per node as the set size allows.
            assert_eq!(worst, size.div_ceil(n.min(size)), "{n} nodes x {v} volumes");
            // Whenever one volume per node is possible, a dead node costs one shard per set.
            if n >= 4 {
                assert_eq!(worst, 1, "{n} nodes x {v} volumes");
            }
            // One dead node never takes more shards of a set than its parity, when it can.
            if sets[0].parity as usize >= worst {
                assert!(sets.iter().all(|s| s.parity as usize >= worst));
            }
        }
    }

    #[test]
    fn unequal_nodes_still_cover_every_volume() {
        let ns = vec![vec![0, 1, 2], vec![3], vec![4, 5, 6, 7]];
        let sets = build_sets(&ns, None).unwrap();
        check(&ns, &sets);
    }

    #[test]
    fn no_volumes_or_a_bad_storage_class_is_refused() {
        assert!(build_sets(&[], None).is_err());
        assert!(build_sets(&nodes(4, 1), Some("EC:9")).is_err());
    }
}
