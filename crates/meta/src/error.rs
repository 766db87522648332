//! Errors of the metadata layer.

/// What can go wrong in the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// A check of the embedded store's commit did not hold (a transaction's read changed);
    /// nothing was applied. Transactions report it as [`crate::CommitError::Conflict`].
    #[error("a batch condition failed (check #{0})")]
    Conflict(usize),
    /// A stored record could not be decoded (corruption or an unknown format version).
    #[error("corrupt metadata record: {0}")]
    Corrupt(String),
    /// The database file could not be opened, read or written.
    #[error("metadata storage error: {0}")]
    Storage(String),
    /// Too few metadata replicas are online to commit durably.
    #[error("only {available} metadata replicas are online; {needed} are needed")]
    Quorum { needed: usize, available: usize },
    /// The committer thread is gone (the server is shutting down).
    #[error("metadata store is closed")]
    Closed,
    /// A transaction's read conflicted with a concurrent transaction (PostgreSQL's
    /// serialization failure or deadlock while reading): nothing was applied; run it again
    /// ([`crate::transact`] does).
    #[error("the transaction conflicted with a concurrent one")]
    TxnConflict,
    /// The metadata database cannot be reached (connection refused or lost, pool exhausted).
    #[error("metadata database unavailable: {0}")]
    Unavailable(String),
    /// The database holds a schema newer than this version knows; it is refused, not misread.
    #[error("metadata schema version {found} is newer than this version supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for MetaError {
            fn from(e: $t) -> Self {
                MetaError::Storage(e.to_string())
            }
        }
    )*};
}
storage_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    std::io::Error
);
