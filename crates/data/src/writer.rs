//! Streaming writer of one data file: streams each block into the file while hashing it, writes
//! the block's checksum after it, and on `finish` syncs the file, renames it into place and
//! syncs the directory. One writer makes one file: a whole object's bytes on a single volume, or
//! one shard of an erasure-coded object.

use std::fs;
use std::path::PathBuf;

use xxhash_rust::xxh3::Xxh3;

use crate::DataError;
use crate::format::ShardHeader;
use crate::sink::Sink;
use crate::space::RoomCheck;
use crate::volume::sync_dir;

/// Writes a data file. Dropping it without [`BlockWriter::finish`] deletes the partial file.
pub struct BlockWriter {
    tmp: PathBuf,
    dest: PathBuf,
    sink: Option<Sink>,
    /// Refuses bytes that would take the volume into its free-space reserve.
    room: RoomCheck,
    block_size: usize,
    /// Checksum of the block being written, seeded with its index.
    hasher: Xxh3,
    in_block: usize,
    blocks: u64,
    /// A short block was written whole ([`BlockWriter::write_block`]): it was the last.
    ended_short: bool,
    size: u64,
}

impl BlockWriter {
    pub(crate) fn create(
        tmp: PathBuf,
        dest: PathBuf,
        header: &ShardHeader,
        mut room: RoomCheck,
    ) -> Result<Self, DataError> {
        let head = header.encode();
        room.take(head.len() as u64)?;
        let mut sink = Sink::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
        if let Err(e) = sink.write_all(&head) {
            drop(sink);
            let _ = fs::remove_file(&tmp);
            return Err(DataError::io(&tmp, e));
        }
        Ok(Self {
            tmp,
            dest,
            sink: Some(sink),
            room,
            block_size: header.block_size as usize,
            hasher: Xxh3::with_seed(0),
            in_block: 0,
            blocks: 0,
            ended_short: false,
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
        if self.ended_short && !data.is_empty() {
            return Err(DataError::corrupt(&self.tmp, "bytes after the last block"));
        }
        // The bytes and the checksums of the blocks they end.
        let sums = 8 * (data.len() / self.block_size.max(1) + 1);
        self.room.take((data.len() + sums) as u64)?;
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

    /// Appends one whole block whose checksum `sum` the caller already verified against it
    /// (a block that came from another node with its checksum): written with it, not hashed
    /// again. Only at a block boundary; a block shorter than the block size is the last.
    pub fn write_block(&mut self, data: &[u8], sum: u64) -> Result<(), DataError> {
        if self.in_block != 0 || self.ended_short || data.len() > self.block_size {
            return Err(DataError::corrupt(
                &self.tmp,
                "a whole block only at a block boundary, none after a short one",
            ));
        }
        self.room.take(data.len() as u64 + 8)?;
        self.size += data.len() as u64;
        let tmp = self.tmp.clone();
        let sink = self.sink()?;
        sink.write_all(data)
            .and_then(|()| sink.write_all(&sum.to_le_bytes()))
            .map_err(|e| DataError::io(&tmp, e))?;
        self.blocks += 1;
        self.hasher = Xxh3::with_seed(self.blocks);
        self.ended_short = data.len() < self.block_size;
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

    /// The upload paused: gives the staging buffer back (see [`Sink::park`]).
    pub fn park(&mut self) -> Result<(), DataError> {
        let tmp = self.tmp.clone();
        self.sink()?.park().map_err(|e| DataError::io(&tmp, e))
    }

    /// Makes the file durable and visible under its final name (replacing a file of that name,
    /// which is how a repaired shard takes the place of a damaged one).
    pub fn finish(mut self) -> Result<(), DataError> {
        if self.in_block > 0 {
            self.end_block()?;
        }
        let sink = self
            .sink
            .take()
            .ok_or_else(|| DataError::corrupt(&self.tmp, "writer already closed"))?;
        let synced = rustfs_meta::faults::sync_point().and_then(|()| sink.finish());
        if let Err(e) = synced {
            let _ = fs::remove_file(&self.tmp);
            return Err(DataError::io(&self.tmp, e));
        }
        fs::rename(&self.tmp, &self.dest).map_err(|e| DataError::io(&self.dest, e))?;
        if let Some(dir) = self.dest.parent()
            && let Err(e) = sync_dir(dir)
        {
            // The rename may not have reached the disk: the file must not be relied on.
            let _ = fs::remove_file(&self.dest);
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        if self.sink.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
