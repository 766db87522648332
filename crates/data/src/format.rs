//! The data file format, version 1 (documented byte by byte in `docs/format.md`).
//!
//! ```text
//! header:  magic "RFSDATA\0" | u16 version | u16 flags | u32 block_size | u32 header_len
//!          | u8 data_shards | u8 parity_shards | u8 shard_index | u8 reserved
//!          | u32 part_number | u16 len + bucket | u16 len + key | u16 len + version_id
//!          | u16 len + upload_id | u64 xxh3 of all preceding header bytes
//! blocks:  block_size bytes (last block shorter) | u64 xxh3(block, seed = block index)
//! ```
//! All integers little-endian.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

pub const MAGIC: &[u8; 8] = b"RFSDATA\0";
pub const FORMAT_VERSION: u16 = 1;
/// Largest block size a reader accepts (writers use [`crate::DEFAULT_BLOCK_SIZE`]).
pub const MAX_BLOCK_SIZE: u32 = 64 << 20;
/// Bytes of checksum after each block.
pub const BLOCK_TRAILER: u64 = 8;
const FIXED: usize = 8 + 2 + 2 + 4 + 4 + 4 + 4;

/// Who a data file belongs to, so the index can be rebuilt from the files alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardHeader {
    pub bucket: String,
    pub key: String,
    /// The object version (or, for a part, the upload's part write id).
    pub version_id: String,
    /// Empty for a simple PUT.
    pub upload_id: String,
    /// 0 for a simple PUT.
    pub part_number: u32,
    pub block_size: u32,
    pub data_shards: u8,
    pub parity_shards: u8,
    pub shard_index: u8,
}

impl ShardHeader {
    pub fn encode(&self) -> Vec<u8> {
        let strings = [&self.bucket, &self.key, &self.version_id, &self.upload_id];
        let len = FIXED + strings.iter().map(|s| 2 + s.len()).sum::<usize>() + 8;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.block_size.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&[self.data_shards, self.parity_shards, self.shard_index, 0]);
        out.extend_from_slice(&self.part_number.to_le_bytes());
        for s in strings {
            // Keys are at most 1024 bytes and bucket/version/upload ids far less: u16 fits.
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Length of the header that starts `prefix`, once at least [`header_probe_len`] bytes are known.
    pub fn declared_len(prefix: &[u8]) -> Result<usize, String> {
        if prefix.len() < FIXED {
            return Err("file shorter than a header".into());
        }
        if &prefix[..8] != MAGIC {
            return Err("bad magic".into());
        }
        let version = u16::from_le_bytes([prefix[8], prefix[9]]);
        if version != FORMAT_VERSION {
            return Err(format!("unsupported format version {version}"));
        }
        Ok(u32::from_le_bytes([prefix[16], prefix[17], prefix[18], prefix[19]]) as usize)
    }

    /// Decodes and verifies a whole header.
    pub fn decode(buf: &[u8]) -> Result<Self, String> {
        let len = Self::declared_len(buf)?;
        if len < FIXED + 8 + 8 || buf.len() < len {
            return Err("truncated header".into());
        }
        let body = &buf[..len - 8];
        let sum = u64::from_le_bytes(buf[len - 8..len].try_into().map_err(|_| "bad checksum")?);
        if xxh3_64(body) != sum {
            return Err("header checksum mismatch".into());
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
        let mut pos = FIXED;
        let mut next_string = || -> Result<String, String> {
            let n = body.get(pos..pos + 2).ok_or("truncated header")?;
            let n = u16::from_le_bytes([n[0], n[1]]) as usize;
            let s = body.get(pos + 2..pos + 2 + n).ok_or("truncated header")?;
            pos += 2 + n;
            String::from_utf8(s.to_vec()).map_err(|_| "header string is not UTF-8".to_string())
        };
        let bucket = next_string()?;
        let key = next_string()?;
        let version_id = next_string()?;
        let upload_id = next_string()?;
        Ok(Self {
            bucket,
            key,
            version_id,
            upload_id,
            part_number: u32_at(24),
            block_size: u32_at(12),
            data_shards: body[20],
            parity_shards: body[21],
            shard_index: body[22],
        })
    }
}

/// How many leading bytes to read to learn a header's length.
pub const fn header_probe_len() -> usize {
    FIXED
}

/// The checksum stored after block `index`.
pub fn block_checksum(index: u64, data: &[u8]) -> u64 {
    xxh3_64_with_seed(data, index)
}

/// Checks block `index`'s bytes `data` against `trailer`, the u64 (little-endian) checksum
/// stored or sent after them; returns the checksum. A mismatch is never data.
pub fn check_block(index: u64, data: &[u8], trailer: &[u8]) -> Result<u64, &'static str> {
    let stored = u64::from_le_bytes(trailer.try_into().map_err(|_| "short block")?);
    if block_checksum(index, data) == stored {
        Ok(stored)
    } else {
        Err("checksum mismatch")
    }
}

/// A data file id: 32 hex digits. Ids name files; they are checked, never trusted as paths.
pub fn is_data_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Payload length of a file whose blocks occupy `body_len` bytes after the header.
pub fn payload_len(body_len: u64, block_size: u32) -> Option<u64> {
    let framed = u64::from(block_size) + BLOCK_TRAILER;
    let full = body_len / framed;
    let rest = body_len % framed;
    match rest {
        0 => Some(full * u64::from(block_size)),
        r if r > BLOCK_TRAILER => Some(full * u64::from(block_size) + r - BLOCK_TRAILER),
        _ => None,
    }
}

/// A header for tests: bucket `b`, key `k`, version `v`, one shard.
#[cfg(test)]
pub(crate) fn test_header(block_size: u32) -> ShardHeader {
    ShardHeader {
        bucket: "b".into(),
        key: "k".into(),
        version_id: "v".into(),
        upload_id: String::new(),
        part_number: 0,
        block_size,
        data_shards: 1,
        parity_shards: 0,
        shard_index: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ShardHeader {
        ShardHeader {
            bucket: "bkt".into(),
            key: "a/ключ/../x".into(),
            version_id: "v1".into(),
            upload_id: "up".into(),
            part_number: 7,
            block_size: 1 << 20,
            data_shards: 1,
            parity_shards: 0,
            shard_index: 0,
        }
    }

    #[test]
    fn header_round_trips() {
        let h = header();
        let bytes = h.encode();
        assert_eq!(ShardHeader::declared_len(&bytes).unwrap(), bytes.len());
        assert_eq!(ShardHeader::decode(&bytes).unwrap(), h);
    }

    #[test]
    fn header_damage_is_detected() {
        let bytes = header().encode();
        for i in [0, 9, 13, 30, bytes.len() - 1] {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(ShardHeader::decode(&b).is_err(), "flip at {i} not caught");
        }
        assert!(ShardHeader::decode(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn payload_length_from_file_length() {
        assert_eq!(payload_len(0, 10), Some(0));
        assert_eq!(payload_len(18, 10), Some(10));
        assert_eq!(payload_len(18 + 9, 10), Some(11));
        assert_eq!(payload_len(18 + 8, 10), None);
        assert_eq!(payload_len(5, 10), None);
    }

    #[test]
    fn block_checksum_depends_on_position() {
        assert_ne!(block_checksum(0, b"abc"), block_checksum(1, b"abc"));
    }
}
