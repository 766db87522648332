//! Streaming writer of one data file: streams each block into the file while hashing it, writes
//! the block's checksum after it, and on `finish` syncs the file, renames it into place and
//! syncs the directory.

use std::fs;
use std::path::PathBuf;

use xxhash_rust::xxh3::Xxh3;

use rustfs_meta::DataRef;

use crate::DataError;
use crate::format::ShardHeader;
use crate::sink::Sink;
use crate::volume::sync_dir;

/// Writes a data file. Dropping it without [`BlockWriter::finish`] deletes the partial file.
pub struct BlockWriter {
    id: String,
    volume: u16,
    tmp: PathBuf,
    dest: PathBuf,
    sink: Option<Sink>,
    block_size: usize,
    /// Checksum of the block being written, seeded with its index.
    hasher: Xxh3,
    in_block: usize,
    blocks: u64,
    size: u64,
}

impl BlockWriter {
    pub(crate) fn create(
        id: String,
        volume: u16,
        tmp: PathBuf,
        dest: PathBuf,
        header: &ShardHeader,
    ) -> Result<Self, DataError> {
        let mut sink = Sink::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
        sink.write_all(&header.encode())
            .map_err(|e| DataError::io(&tmp, e))?;
        Ok(Self {
            id,
            volume,
            tmp,
            dest,
            sink: Some(sink),
            block_size: header.block_size as usize,
            hasher: Xxh3::with_seed(0),
            in_block: 0,
            blocks: 0,
            size: 0,
        })
    }

    /// Bytes accepted so far.
    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    fn sink(&mut self) -> Result<&mut Sink, DataError> {
        let tmp = &self.tmp;
        self.sink
            .as_mut()
            .ok_or_else(|| DataError::corrupt(tmp, "writer already closed"))
    }

    /// Appends bytes: streamed into the file and the block checksum; at each block boundary
    /// the checksum follows.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), DataError> {
        self.size += data.len() as u64;
        while !data.is_empty() {
            let n = (self.block_size - self.in_block).min(data.len());
            self.hasher.update(&data[..n]);
            let tmp = self.tmp.clone();
            self.sink()?
                .write_all(&data[..n])
                .map_err(|e| DataError::io(&tmp, e))?;
            self.in_block += n;
            data = &data[n..];
            if self.in_block == self.block_size {
                self.end_block()?;
            }
        }
        Ok(())
    }

    fn end_block(&mut self) -> Result<(), DataError> {
        let sum = self.hasher.digest();
        let tmp = self.tmp.clone();
        self.sink()?
            .write_all(&sum.to_le_bytes())
            .map_err(|e| DataError::io(&tmp, e))?;
        self.blocks += 1;
        self.hasher = Xxh3::with_seed(self.blocks);
        self.in_block = 0;
        Ok(())
    }

    /// Makes the file durable and visible under its final name; returns the reference to store.
    pub fn finish(mut self) -> Result<DataRef, DataError> {
        if self.in_block > 0 {
            self.end_block()?;
        }
        let sink = self
            .sink
            .take()
            .ok_or_else(|| DataError::corrupt(&self.tmp, "writer already closed"))?;
        sink.finish().map_err(|e| DataError::io(&self.tmp, e))?;
        fs::rename(&self.tmp, &self.dest).map_err(|e| DataError::io(&self.dest, e))?;
        if let Some(dir) = self.dest.parent() {
            sync_dir(dir)?;
        }
        Ok(DataRef {
            id: std::mem::take(&mut self.id),
            size: self.size,
            block_size: self.block_size as u32,
            data_shards: 1,
            parity_shards: 0,
            volumes: vec![self.volume],
        })
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        if self.sink.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
