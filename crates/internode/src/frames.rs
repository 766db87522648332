//! The body of a shard upload between nodes:
//!
//! ```text
//! u32 len | header (the data file header, encoded as on disk)
//! u32 len | block bytes | u64 xxh3(block, seed = block index)     one per block, in order;
//!                                                                  every block full but the last
//! u32 0xFFFF_FFFF | u64 payload length                             the end: without it, nothing
//!                                                                  is committed
//! ```
//! All integers little-endian. The receiver checks each block's checksum before writing it,
//! so bytes damaged on the way never reach a volume; the end frame tells a complete upload
//! from one cut at a block boundary.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use rustfs_data::format::{MAX_BLOCK_SIZE, block_checksum, check_block};

const END: u32 = u32::MAX;
/// Largest encoded data file header accepted.
pub const MAX_HEADER: usize = 64 * 1024;

/// One decoded frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Header(Bytes),
    /// A block and its checksum, already checked against it.
    Block {
        data: Bytes,
        sum: u64,
    },
    End(u64),
}

pub fn header_frame(header: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(4 + header.len());
    b.put_u32_le(header.len() as u32);
    b.put_slice(header);
    b.freeze()
}

pub fn block_frame(index: u64, block: &[u8]) -> Bytes {
    let mut b = BlockBuf::with_capacity(block.len());
    b.extend(block);
    b.seal(index)
}

/// A block frame being filled in place: its length prefix reserved, the bytes appended as they
/// come, then sealed with the checksum, so the block is copied once (into it), not again into
/// a frame.
pub struct BlockBuf {
    buf: Vec<u8>,
}

impl BlockBuf {
    pub fn with_capacity(block: usize) -> Self {
        let mut buf = Vec::with_capacity(4 + block + 8);
        buf.extend_from_slice(&[0; 4]);
        Self { buf }
    }

    /// Block bytes so far.
    pub fn len(&self) -> usize {
        self.buf.len() - 4
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The frame of block `index`.
    pub fn seal(mut self, index: u64) -> Bytes {
        let len = self.len() as u32;
        let sum = block_checksum(index, &self.buf[4..]);
        self.buf[..4].copy_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&sum.to_le_bytes());
        Bytes::from(self.buf)
    }
}

pub fn end_frame(size: u64) -> Bytes {
    let mut b = BytesMut::with_capacity(12);
    b.put_u32_le(END);
    b.put_u64_le(size);
    b.freeze()
}

/// Cuts frames out of the bytes received so far, checking each block as it comes.
#[derive(Default)]
pub struct FrameReader {
    buf: BytesMut,
    header_seen: bool,
    /// Block size from the header: every block but the last has exactly this many bytes.
    block_size: Option<usize>,
    blocks: u64,
    short_seen: bool,
    size: u64,
    ended: bool,
}

impl FrameReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The block size the header declared (the caller decodes the header and says it).
    pub fn set_block_size(&mut self, block_size: u32) -> Result<(), String> {
        if block_size == 0 || block_size > MAX_BLOCK_SIZE {
            return Err(format!("invalid block size {block_size}"));
        }
        self.block_size = Some(block_size as usize);
        Ok(())
    }

    /// Whether the end frame arrived.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed. An error is a body
    /// that cannot be right (bad checksum, sizes out of order, bytes after the end).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        if self.ended {
            return if self.buf.is_empty() {
                Ok(None)
            } else {
                Err("bytes after the end frame".into())
            };
        }
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if !self.header_seen {
            let len = len as usize;
            if len > MAX_HEADER {
                return Err("header frame too long".into());
            }
            if self.buf.len() < 4 + len {
                return Ok(None);
            }
            self.buf.advance(4);
            self.header_seen = true;
            return Ok(Some(Frame::Header(self.buf.split_to(len).freeze())));
        }
        let Some(block_size) = self.block_size else {
            return Err("block size unknown".into());
        };
        if len == END {
            if self.buf.len() < 12 {
                return Ok(None);
            }
            self.buf.advance(4);
            let size = self.buf.get_u64_le();
            if size != self.size {
                return Err(format!(
                    "end frame says {size} bytes, {} arrived",
                    self.size
                ));
            }
            self.ended = true;
            return Ok(Some(Frame::End(size)));
        }
        let len = len as usize;
        if len == 0 || len > block_size {
            return Err(format!("block of {len} bytes (block size {block_size})"));
        }
        if self.short_seen {
            return Err("a block after the last (short) block".into());
        }
        if self.buf.len() < 4 + len + 8 {
            return Ok(None);
        }
        self.buf.advance(4);
        let data = self.buf.split_to(len).freeze();
        let trailer = self.buf.split_to(8);
        let sum = check_block(self.blocks, &data, &trailer)
            .map_err(|why| format!("block {}: {why}", self.blocks))?;
        self.blocks += 1;
        self.size += len as u64;
        self.short_seen = len < block_size;
        Ok(Some(Frame::Block { data, sum }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(blocks: &[&[u8]], end: u64) -> Vec<u8> {
        let mut b = header_frame(b"HDR").to_vec();
        for (i, x) in blocks.iter().enumerate() {
            b.extend_from_slice(&block_frame(i as u64, x));
        }
        b.extend_from_slice(&end_frame(end));
        b
    }

    fn block(data: &'static [u8]) -> Frame {
        Frame::Block {
            data: Bytes::from_static(data),
            sum: 0,
        }
    }

    fn read_all(body: &[u8], step: usize) -> Result<Vec<Frame>, String> {
        let mut r = FrameReader::default();
        let mut out = Vec::new();
        for piece in body.chunks(step) {
            r.push(piece);
            while let Some(f) = r.next_frame()? {
                if matches!(f, Frame::Header(_)) {
                    r.set_block_size(4)?;
                }
                // Checksums are checked by the reader; the tests compare the bytes.
                out.push(match f {
                    Frame::Block { data, .. } => Frame::Block { data, sum: 0 },
                    f => f,
                });
            }
        }
        Ok(out)
    }

    #[test]
    fn frames_come_back_whatever_the_pieces() {
        let b = body(&[b"abcd", b"efgh", b"ij"], 10);
        for step in [1, 3, 7, 100] {
            let f = read_all(&b, step).unwrap();
            assert_eq!(
                f,
                vec![
                    Frame::Header(Bytes::from_static(b"HDR")),
                    block(b"abcd"),
                    block(b"efgh"),
                    block(b"ij"),
                    Frame::End(10),
                ]
            );
        }
    }

    #[test]
    fn damage_order_and_truncation_are_refused() {
        let good = body(&[b"abcd", b"efgh"], 8);
        // A flipped bit in a block.
        let mut bad = good.clone();
        bad[4 + 3 + 4 + 1] ^= 1;
        assert!(read_all(&bad, 5).is_err());
        // Blocks swapped: each checksum is seeded with its index.
        let swapped = body(&[b"efgh", b"abcd"], 8);
        let mut r = FrameReader::default();
        r.push(&swapped[..7]);
        assert!(matches!(r.next_frame(), Ok(Some(Frame::Header(_)))));
        r.set_block_size(4).unwrap();
        let mut forged = header_frame(b"HDR").to_vec();
        forged.extend_from_slice(&block_frame(1, b"efgh"));
        assert!(
            read_all(&forged, 100).is_err(),
            "block 1's checksum at index 0"
        );
        // The end frame must match what arrived, and must arrive.
        assert!(read_all(&body(&[b"abcd"], 5), 100).is_err());
        let cut = &good[..good.len() - 12];
        let f = read_all(cut, 100).unwrap();
        assert!(!f.iter().any(|f| matches!(f, Frame::End(_))));
        // A short block must be the last; blocks larger than the block size are refused.
        assert!(read_all(&body(&[b"ab", b"cd"], 4), 100).is_err());
        assert!(read_all(&body(&[b"abcde"], 5), 100).is_err());
        // Nothing after the end.
        let mut extra = good.clone();
        extra.push(0);
        assert!(read_all(&extra, 100).is_err());
    }
}
