//! How an object's bytes are spread over the volumes: `data` shards carry the bytes, `parity`
//! shards (Reed-Solomon) let any `parity` of them be lost. Each logical block is cut into `data`
//! equal chunks; shard `i` of every block goes to the same file on one volume.

use std::fmt;

use crate::DataError;

/// Most volumes one erasure set spans (shard counts are stored as `u8`).
pub const MAX_VOLUMES: usize = 32;

/// Shard counts of one erasure set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub data: u8,
    pub parity: u8,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EC:{} ({} data + {} parity)",
            self.parity, self.data, self.parity
        )
    }
}

impl Layout {
    /// Parity by volume count, as upstream chooses it: none for one volume, then about a quarter
    /// to a half of the set, so a set survives the loss of any `parity` volumes.
    pub fn default_for(volumes: usize) -> Result<Self, DataError> {
        let parity = match volumes {
            0 | 1 => 0,
            2 | 3 => 1,
            4 | 5 => 2,
            6 | 7 => 3,
            _ => 4,
        };
        Self::with_parity(volumes, parity)
    }

    /// A layout from a storage-class setting such as `EC:2`.
    pub fn from_storage_class(volumes: usize, class: &str) -> Result<Self, DataError> {
        let parity = class
            .trim()
            .strip_prefix("EC:")
            .and_then(|p| p.parse::<usize>().ok())
            .ok_or_else(|| {
                bad_layout(format!(
                    "storage class {class:?} is not of the form EC:<parity>"
                ))
            })?;
        Self::with_parity(volumes, parity)
    }

    fn with_parity(volumes: usize, parity: usize) -> Result<Self, DataError> {
        if volumes == 0 || volumes > MAX_VOLUMES {
            return Err(bad_layout(format!(
                "{volumes} volumes: between 1 and {MAX_VOLUMES} are supported"
            )));
        }
        if parity > volumes / 2 {
            return Err(bad_layout(format!(
                "parity {parity} is more than half of {volumes} volumes"
            )));
        }
        Ok(Self {
            data: (volumes - parity) as u8,
            parity: parity as u8,
        })
    }

    pub fn shards(&self) -> usize {
        usize::from(self.data) + usize::from(self.parity)
    }

    /// Shards that must be written for a write to succeed: enough to read it back, and more than
    /// the parity, so losing `parity` more volumes never loses an acknowledged write.
    pub fn write_quorum(&self) -> usize {
        let d = usize::from(self.data);
        if self.data == self.parity { d + 1 } else { d }
    }

    /// Shards needed to read.
    pub fn read_quorum(&self) -> usize {
        usize::from(self.data)
    }

    /// Bytes of each shard's chunk of a full block, for blocks of about `target` bytes: a
    /// multiple of 64 (Reed-Solomon needs even chunks; 64 keeps them cache-line aligned).
    pub fn chunk_size(&self, target: u32) -> u32 {
        let d = u32::from(self.data.max(1));
        if d == 1 && self.parity == 0 {
            return target;
        }
        target.div_ceil(d).div_ceil(64) * 64
    }

    /// Chunk length of a block holding `len` bytes (shorter only for the last block).
    pub fn chunk_len(&self, len: u64, block_size: u64) -> u64 {
        let d = u64::from(self.data.max(1));
        if len == block_size {
            return block_size / d;
        }
        let c = len.div_ceil(d);
        if self.parity > 0 {
            c.div_ceil(2) * 2
        } else {
            c
        }
    }

    /// Payload bytes each shard file holds for an object of `size` bytes.
    pub fn shard_payload(&self, size: u64, block_size: u64) -> u64 {
        let full = size / block_size;
        let tail = size % block_size;
        full * self.chunk_len(block_size, block_size)
            + if tail > 0 {
                self.chunk_len(tail, block_size)
            } else {
                0
            }
    }

    /// Validates counts read back from a data reference or file header.
    pub fn from_counts(data: u8, parity: u8) -> Option<Self> {
        let l = Self { data, parity };
        (data >= 1 && l.shards() <= MAX_VOLUMES).then_some(l)
    }
}

fn bad_layout(reason: String) -> DataError {
    DataError::Volume {
        path: std::path::PathBuf::new(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_volume_count() {
        let l = |n| Layout::default_for(n).unwrap();
        assert_eq!(l(1), Layout { data: 1, parity: 0 });
        assert_eq!(l(2), Layout { data: 1, parity: 1 });
        assert_eq!(l(4), Layout { data: 2, parity: 2 });
        assert_eq!(
            l(16),
            Layout {
                data: 12,
                parity: 4
            }
        );
        assert_eq!(l(4).write_quorum(), 3);
        assert_eq!(l(5).write_quorum(), 3);
        assert!(Layout::default_for(0).is_err());
        assert!(Layout::default_for(33).is_err());
    }

    #[test]
    fn storage_class_is_parsed_and_bounded() {
        assert_eq!(
            Layout::from_storage_class(4, "EC:1").unwrap(),
            Layout { data: 3, parity: 1 }
        );
        assert!(Layout::from_storage_class(4, "EC:3").is_err());
        assert!(Layout::from_storage_class(4, "RRS").is_err());
    }

    #[test]
    fn chunks_cover_every_byte() {
        for (d, p) in [(1u8, 0u8), (1, 1), (2, 2), (3, 1), (5, 3)] {
            let l = Layout { data: d, parity: p };
            let chunk = u64::from(l.chunk_size(1 << 20));
            let bs = chunk * u64::from(d);
            assert_eq!(l.chunk_len(bs, bs), chunk);
            for len in [1u64, 2, 3, 63, 1000, bs - 1] {
                let c = l.chunk_len(len, bs);
                assert!(c * u64::from(d) >= len, "{d}+{p} len {len}");
                assert!(p == 0 || c.is_multiple_of(2));
            }
            assert_eq!(
                l.shard_payload(bs * 2 + 10, bs),
                2 * chunk + l.chunk_len(10, bs)
            );
        }
    }
}
