//! One shard file, wherever its volume is: on this node (a [`BlockWriter`] or [`BlockReader`]
//! on a local volume) or on another node of the cluster ([`crate::remote`]). The erasure code
//! writes and reads shards through these and does not care which.

use bytes::Bytes;

use crate::remote::{RemoteReader, RemoteWriter};
use crate::{BlockReader, BlockWriter, DataError, ShardHeader};

/// A shard file being written. (One per shard of an upload, moved once: the size difference
/// between the variants costs nothing worth a box.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum ShardOutput {
    Local(BlockWriter),
    Remote(Box<dyn RemoteWriter>),
}

impl ShardOutput {
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), DataError> {
        match self {
            ShardOutput::Local(w) => w.write(data),
            ShardOutput::Remote(w) => w.write(data),
        }
    }

    /// An upload paused: a local file gives its staging buffer back; a remote stream holds no
    /// more than the block it is cutting.
    pub(crate) fn park(&mut self) -> Result<(), DataError> {
        match self {
            ShardOutput::Local(w) => w.park(),
            ShardOutput::Remote(_) => Ok(()),
        }
    }

    pub(crate) fn finish(self) -> Result<(), DataError> {
        match self {
            ShardOutput::Local(w) => w.finish(),
            ShardOutput::Remote(w) => w.finish(),
        }
    }
}

/// A shard file open for verified reads.
pub(crate) enum ShardInput {
    Local(BlockReader),
    Remote(Box<dyn RemoteReader>),
}

impl std::fmt::Debug for ShardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShardInput::Local(r) => f.debug_tuple("Local").field(r).finish(),
            ShardInput::Remote(r) => f.debug_tuple("Remote").field(r.header()).finish(),
        }
    }
}

impl ShardInput {
    pub(crate) fn header(&self) -> &ShardHeader {
        match self {
            ShardInput::Local(r) => r.header(),
            ShardInput::Remote(r) => r.header(),
        }
    }

    pub(crate) fn size(&self) -> u64 {
        match self {
            ShardInput::Local(r) => r.size(),
            ShardInput::Remote(r) => r.size(),
        }
    }

    pub(crate) fn read_block(&self, index: u64) -> Result<Bytes, DataError> {
        match self {
            ShardInput::Local(r) => r.read_block(index),
            ShardInput::Remote(r) => r.read_block(index),
        }
    }
}
