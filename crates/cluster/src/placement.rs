//! Where a new object's shards go: the newest pool (older pools keep what they hold; adding a
//! pool adds room for new objects without moving old ones), and in it the set a stable hash of
//! bucket and key picks, so a key's rewrites land on the same set and keys spread evenly.
//! Reads never use this: a stored object's record names its volumes.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::records::{LayoutRecord, SetSpec};

/// The pool and set index for a new object at `bucket`/`key`, or `None` for an empty layout.
pub fn place(layout: &LayoutRecord, bucket: &str, key: &str) -> Option<(usize, usize)> {
    let pool = layout.pools.len().checked_sub(1)?;
    let sets = layout.pools[pool].sets.len();
    if sets == 0 {
        return None;
    }
    Some((pool, set_index(bucket, key, sets)))
}

/// The set of [`place`].
pub fn set_for<'l>(layout: &'l LayoutRecord, bucket: &str, key: &str) -> Option<&'l SetSpec> {
    place(layout, bucket, key).map(|(p, s)| &layout.pools[p].sets[s])
}

/// `hash(bucket NUL key) mod sets`, with a fixed seed: the same on every node and release.
pub fn set_index(bucket: &str, key: &str, sets: usize) -> usize {
    let mut name = Vec::with_capacity(bucket.len() + 1 + key.len());
    name.extend_from_slice(bucket.as_bytes());
    name.push(0);
    name.extend_from_slice(key.as_bytes());
    (xxh3_64_with_seed(&name, 0x7275_7374_6673) % sets.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Pool;

    fn layout(pools: &[usize]) -> LayoutRecord {
        LayoutRecord {
            version: 1,
            pools: pools
                .iter()
                .map(|&n| Pool {
                    sets: (0..n)
                        .map(|i| SetSpec {
                            data: 2,
                            parity: 2,
                            volumes: vec![i as u16; 4],
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn new_objects_go_to_the_newest_pool_and_a_stable_set() {
        let l = layout(&[2, 3]);
        let (pool, set) = place(&l, "b", "k").unwrap();
        assert_eq!(pool, 1);
        assert!(set < 3);
        assert_eq!(place(&l, "b", "k"), Some((pool, set)), "stable");
        assert_eq!(place(&layout(&[]), "b", "k"), None);
        assert_eq!(place(&layout(&[0]), "b", "k"), None);
    }

    #[test]
    fn keys_spread_evenly_over_sets() {
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            counts[set_index("bucket", &format!("key-{i}"), 4)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
        // Bucket and key are framed: "a"+"bc" and "ab"+"c" are different names.
        let differ = (0..64).any(|s| set_index("a", "bc", 64 + s) != set_index("ab", "c", 64 + s));
        assert!(differ);
    }
}
