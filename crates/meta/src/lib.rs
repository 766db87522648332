//! The metadata store. It owns an ordered, byte-keyed key-value abstraction ([`MetaStore`]) with
//! seekable range scans and atomic compare-and-swap batches, the record types kept in it
//! ([`records`]), the key layout ([`keys`]) and the embedded default backend ([`redb_store`]),
//! which group-commits concurrent batches into one durable transaction. It knows nothing of HTTP,
//! S3 error codes or where object bytes live on disk: a record only carries an opaque data
//! reference produced by the data layer.

mod backend;
pub mod error;
pub mod faults;
pub mod keys;
pub mod records;
pub mod redb_store;
pub mod store;

pub use error::MetaError;
pub use records::*;
pub use redb_store::{RedbStore, ReplicaStatus};
pub use store::{Batch, Check, MetaStore, ScanStep, Table};
