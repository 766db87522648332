//! The data store. It owns the volumes (one directory per drive), their on-disk layout, and the
//! data file format: a self-describing header naming bucket, key, version and part, then the
//! bytes in fixed-size blocks each followed by its xxh3 checksum, verified on every read. Files
//! are written under `tmp/`, synced, then renamed into place with a directory sync, so a file
//! is either whole or absent. It knows nothing of S3 semantics or of the metadata store's
//! contents beyond the [`rustfs_meta::DataRef`] it hands back.

pub mod error;
pub mod format;
mod reader;
mod sink;
mod volume;
mod writer;

pub use error::DataError;
pub use format::ShardHeader;
pub use reader::BlockReader;
pub use volume::{DataStore, StoredFile};
pub use writer::BlockWriter;

/// Default block size: large sequential reads on GET, bounded memory per stream.
pub const DEFAULT_BLOCK_SIZE: u32 = 1 << 20;
