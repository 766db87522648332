//! The metadata store. It owns the transaction API every backend implements ([`txn`]: reads
//! and scans with seek, writes and range deletes through one handle, whose reads join its
//! conflict set; typed commit outcomes; one retry rule in [`retry`]), the record
//! types ([`records`]), the key layout ([`keys`]), version order ids ([`order`]), the embedded
//! default backend ([`redb_store`], which group-commits concurrent transactions into one durable
//! write) and the PostgreSQL backend ([`pg`]). It knows nothing of HTTP, S3
//! error codes or where object bytes live on disk: a record only carries an opaque data
//! reference produced by the data layer.

mod backend;
mod commit_metrics;
pub mod error;
pub mod faults;
pub mod keys;
pub mod lifecycle;
pub mod order;
pub mod pg;
#[cfg(feature = "test-support")]
pub mod pg_server;
pub mod records;
pub mod redb_store;
mod redb_txn;
pub mod retry;
pub mod store;
pub mod txn;

pub use error::MetaError;
pub use lifecycle::{LifecycleExpiration, LifecycleFilter, LifecycleRule, NoncurrentExpiration};
pub use pg::PgStore;
pub use records::*;
pub use redb_store::{RedbStore, ReplicaStatus};
pub use retry::{RetryPolicy, Retryable, TxnError, TxnFuture, transact, transact_with};
pub use store::{ScanStep, Table};
pub use txn::{CommitError, ReplicaControl, Txn, TxnStore};
