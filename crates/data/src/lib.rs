//! The data store. It owns the volumes (one directory per drive), their health, the erasure
//! layout across them (Reed-Solomon data + parity shards, one file per shard per volume), and the
//! data file format: a self-describing header naming bucket, key, version, part and shard, then
//! the bytes in fixed-size blocks each followed by its xxh3 checksum, verified on every read;
//! damaged or missing shards are rebuilt from parity on read and rewritten by healing. Files
//! are written under `tmp/`, synced, then renamed into place with a directory sync, so a file
//! is either whole or absent. A volume out of space is full, not failed: data writes stop at
//! a free-space reserve kept for metadata commits ([`space`]). It knows nothing of S3 semantics or of the metadata store's
//! contents beyond the [`rustfs_meta::DataRef`] it hands back.

mod erasure;
pub mod error;
pub mod format;
pub mod layout;
mod reader;
pub mod remote;
mod shard;
mod sink;
pub mod space;
mod volume;
mod writer;

pub use erasure::{ErasureReader, ErasureWriter, HealOutcome};
pub use error::DataError;
pub use format::ShardHeader;
pub use layout::Layout;
pub use reader::BlockReader;
pub use remote::{RemoteReader, RemoteVolume, RemoteWriter, RemoveDone};
pub use space::Reserve;
pub use volume::{DataStore, SetChooser, ShardSet, StoredFile, VolumeChanges, VolumeStatus};
pub use writer::BlockWriter;

/// Default block size: large sequential reads on GET, bounded memory per stream.
pub const DEFAULT_BLOCK_SIZE: u32 = 1 << 20;
