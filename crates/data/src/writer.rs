//! Streaming writer of one data file: buffers one block, frames it with its checksum, and on
//! `finish` syncs the file, renames it into place and syncs the directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;

use rustfs_meta::DataRef;

use crate::DataError;
use crate::format::{ShardHeader, block_checksum};
use crate::volume::sync_dir;

/// Writes a data file. Dropping it without [`BlockWriter::finish`] deletes the partial file.
pub struct BlockWriter {
    id: String,
    volume: u16,
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<std::io::BufWriter<File>>,
    block_size: usize,
    buf: Vec<u8>,
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
        let file = File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
        let block_size = header.block_size as usize;
        let mut file = std::io::BufWriter::with_capacity(block_size + 64 * 1024, file);
        file.write_all(&header.encode())
            .map_err(|e| DataError::io(&tmp, e))?;
        Ok(Self {
            id,
            volume,
            tmp,
            dest,
            file: Some(file),
            block_size,
            buf: Vec::with_capacity(block_size),
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

    /// Appends bytes; full blocks are framed and written out.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), DataError> {
        self.size += data.len() as u64;
        while !data.is_empty() {
            if self.buf.is_empty() && data.len() >= self.block_size {
                let (block, rest) = data.split_at(self.block_size);
                self.emit(Some(block))?;
                data = rest;
                continue;
            }
            let take = (self.block_size - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == self.block_size {
                self.emit(None)?;
            }
        }
        Ok(())
    }

    /// Writes `block`, or the internal buffer when `None`.
    fn emit(&mut self, block: Option<&[u8]>) -> Result<(), DataError> {
        let bytes = block.unwrap_or(&self.buf);
        let sum = block_checksum(self.blocks, bytes);
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| DataError::corrupt(&self.tmp, "writer already closed"))?;
        file.write_all(bytes)
            .and_then(|()| file.write_all(&sum.to_le_bytes()))
            .map_err(|e| DataError::io(&self.tmp, e))?;
        self.blocks += 1;
        if block.is_none() {
            self.buf.clear();
        }
        Ok(())
    }

    /// Makes the file durable and visible under its final name; returns the reference to store.
    pub fn finish(mut self) -> Result<DataRef, DataError> {
        if !self.buf.is_empty() {
            self.emit(None)?;
        }
        let file = self
            .file
            .take()
            .ok_or_else(|| DataError::corrupt(&self.tmp, "writer already closed"))?;
        let file = file
            .into_inner()
            .map_err(|e| DataError::io(&self.tmp, e.into_error()))?;
        file.sync_data().map_err(|e| DataError::io(&self.tmp, e))?;
        drop(file);
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
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
