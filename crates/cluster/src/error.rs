//! The cluster layer's errors.

use rustfs_meta::{MetaError, Retryable, TxnError};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("metadata store: {0}")]
    Meta(#[from] MetaError),
    /// A record in the cluster table that does not decode: refused, never guessed.
    #[error("cluster record {key} is damaged: {reason}")]
    Damaged { key: String, reason: String },
    #[error("every volume id (0..=65535) is in use")]
    NoVolumeIds,
    #[error("address {address} is registered by node {other}, which is alive")]
    AddressInUse { address: String, other: String },
    #[error("invalid layout: {0}")]
    Layout(String),
    #[error("the transaction conflicted {0} times in a row")]
    Contended(u32),
    #[error("commit outcome unknown: {0}")]
    Unknown(MetaError),
}

impl Retryable for ClusterError {
    fn is_conflict(&self) -> bool {
        matches!(self, ClusterError::Meta(MetaError::TxnConflict))
    }
}

impl From<TxnError<ClusterError>> for ClusterError {
    fn from(e: TxnError<ClusterError>) -> Self {
        match e {
            TxnError::Aborted(e) => e,
            TxnError::Conflict(n) => ClusterError::Contended(n),
            TxnError::Failed(e) => ClusterError::Meta(e),
            TxnError::Unknown(e) => ClusterError::Unknown(e),
        }
    }
}
