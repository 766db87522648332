//! Verified reads of one data file, a block at a time with positioned reads (no shared cursor,
//! so one open file can serve many concurrent ranges).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::DataError;
use crate::format::{BLOCK_TRAILER, ShardHeader, check_block, header_probe_len, payload_len};

#[derive(Debug)]
pub struct BlockReader {
    file: File,
    path: PathBuf,
    header: ShardHeader,
    header_len: u64,
    size: u64,
}

impl BlockReader {
    pub(crate) fn open(path: &Path) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut probe = vec![0u8; header_probe_len()];
        file.read_exact_at(&mut probe, 0)
            .map_err(|e| DataError::corrupt(path, format!("cannot read header: {e}")))?;
        let len = ShardHeader::declared_len(&probe).map_err(|r| DataError::corrupt(path, r))?;
        if len > 64 * 1024 {
            return Err(DataError::corrupt(path, "header too long"));
        }
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, 0)
            .map_err(|e| DataError::corrupt(path, format!("cannot read header: {e}")))?;
        let header = ShardHeader::decode(&buf).map_err(|r| DataError::corrupt(path, r))?;
        // Reads allocate one block: never trust a size the format cannot have produced.
        if header.block_size == 0 || header.block_size > crate::format::MAX_BLOCK_SIZE {
            return Err(DataError::corrupt(
                path,
                format!("invalid block size {}", header.block_size),
            ));
        }
        let file_len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        let body = file_len
            .checked_sub(len as u64)
            .ok_or_else(|| DataError::corrupt(path, "truncated"))?;
        let size = payload_len(body, header.block_size)
            .ok_or_else(|| DataError::corrupt(path, "truncated block"))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            header,
            header_len: len as u64,
            size,
        })
    }

    pub fn header(&self) -> &ShardHeader {
        &self.header
    }

    /// Payload length.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn block_size(&self) -> u64 {
        u64::from(self.header.block_size)
    }

    /// Reads and verifies block `index`; a checksum mismatch is an error, never data.
    pub fn read_block(&self, index: u64) -> Result<Bytes, DataError> {
        let framed = self.read_block_framed(index)?;
        Ok(framed.slice(..framed.len() - BLOCK_TRAILER as usize))
    }

    /// Block `index`, verified, followed by its 8-byte checksum as stored: to pass the block on
    /// with its checksum (to another node) without hashing or copying it again.
    pub fn read_block_framed(&self, index: u64) -> Result<Bytes, DataError> {
        let bs = self.block_size();
        let start = index * bs;
        if start >= self.size {
            return Err(DataError::corrupt(
                &self.path,
                format!("block {index} past end"),
            ));
        }
        let len = bs.min(self.size - start) as usize;
        let offset = self.header_len + index * (bs + BLOCK_TRAILER);
        let mut buf = vec![0u8; len + BLOCK_TRAILER as usize];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|e| DataError::io(&self.path, e))?;
        check_block(index, &buf[..len], &buf[len..])
            .map_err(|why| DataError::corrupt(&self.path, format!("block {index}: {why}")))?;
        Ok(Bytes::from(buf))
    }
}

#[cfg(test)]
mod tests {
    use crate::{DataError, DataStore, Layout, ShardHeader};

    fn open1(p: std::path::PathBuf) -> Result<DataStore, DataError> {
        DataStore::open(&[p], Layout { data: 1, parity: 0 })
    }

    fn header(bs: u32) -> ShardHeader {
        crate::format::test_header(bs)
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn write_then_read_every_block() {
        let dir = tempfile::tempdir().unwrap();
        let store = open1(dir.path().to_path_buf()).unwrap();
        for n in [0usize, 1, 99, 100, 101, 1000, 1050] {
            let data = payload(n);
            let mut w = store.create(header(100)).unwrap();
            for chunk in data.chunks(37) {
                w.write(chunk).unwrap();
            }
            let r = w.finish().unwrap();
            assert_eq!(r.size, n as u64);
            let rd = store.open_read(&r).unwrap();
            assert_eq!(rd.size(), n as u64);
            let mut back = Vec::new();
            for i in 0..n.div_ceil(100) as u64 {
                back.extend_from_slice(&rd.read_block(i).unwrap());
            }
            assert_eq!(back, data);
        }
    }

    #[test]
    fn whole_blocks_keep_their_checksums_and_come_only_at_boundaries() {
        use crate::format::block_checksum;
        let dir = tempfile::tempdir().unwrap();
        let store = open1(dir.path().to_path_buf()).unwrap();
        let (a, b) = (payload(100), payload(30));
        let id = "0123456789abcdef0123456789abcdef";
        let mut w = store.local_create(0, id, &header(100)).unwrap();
        w.write_block(&a, block_checksum(0, &a)).unwrap();
        w.write_block(&b, block_checksum(1, &b)).unwrap();
        assert!(
            w.write_block(&a, block_checksum(2, &a)).is_err(),
            "after the short block"
        );
        assert!(w.write(b"x").is_err(), "nothing after the short block");
        w.finish().unwrap();
        let r = store.local_open(0, id).unwrap();
        assert_eq!(r.size(), 130);
        assert_eq!(r.read_block(0).unwrap(), a);
        assert_eq!(r.read_block(1).unwrap(), b);
        let framed = r.read_block_framed(1).unwrap();
        assert_eq!(&framed[30..], &block_checksum(1, &b).to_le_bytes());

        let other = "fedcba9876543210fedcba9876543210";
        let mut w = store.local_create(0, other, &header(100)).unwrap();
        w.write(b"abc").unwrap();
        assert!(
            w.write_block(&a, block_checksum(0, &a)).is_err(),
            "inside a block"
        );
        assert!(store.local_create(0, "../escape", &header(100)).is_err());
    }

    #[test]
    fn bit_rot_is_detected_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = open1(dir.path().to_path_buf()).unwrap();
        let mut w = store.create(header(64)).unwrap();
        w.write(&payload(200)).unwrap();
        let r = w.finish().unwrap();
        let files =
            store.stored_files(std::time::SystemTime::now() + std::time::Duration::from_secs(5));
        assert_eq!(files.len(), 1);
        let path = &files[0].path;
        let mut bytes = std::fs::read(path).unwrap();
        let n = bytes.len();
        bytes[n - 12] ^= 1; // inside the last block (8 data bytes, then 8 checksum bytes)
        std::fs::write(path, &bytes).unwrap();
        let rd = store.open_read(&r).unwrap();
        assert!(rd.read_block(0).is_ok());
        assert!(matches!(
            rd.read_block(3),
            Err(DataError::Unrecoverable { .. })
        ));
    }

    #[test]
    fn dropped_writer_leaves_nothing_and_tmp_is_wiped_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open1(dir.path().to_path_buf()).unwrap();
        let mut w = store.create(header(64)).unwrap();
        w.write(b"partial").unwrap();
        drop(w);
        let tmp = dir.path().join(".rustfs.sys/tmp");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        std::fs::write(tmp.join("leftover"), b"x").unwrap();
        let _store = open1(dir.path().to_path_buf()).unwrap();
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    }

    #[test]
    fn missing_volume_is_created_only_under_an_existing_parent() {
        let dir = tempfile::tempdir().unwrap();
        assert!(open1(dir.path().join("new")).is_ok());
        let r = open1(dir.path().join("unmounted/disk"));
        assert!(matches!(r, Err(DataError::Volume { .. })));
        assert!(!dir.path().join("unmounted").exists());
    }

    #[test]
    fn unusable_volume_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(open1(file), Err(DataError::Volume { .. })));
    }
}
