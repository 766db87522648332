//! The IAM layer's errors. Each names the kind of entity, so the edge can answer with IAM's
//! codes (`NoSuchEntity`, `EntityAlreadyExists`, `DeleteConflict`, ...).

use rustfs_meta::{MetaError, Retryable, TxnError};

#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("metadata store: {0}")]
    Meta(#[from] MetaError),
    #[error("{kind} {name} does not exist")]
    NoSuchEntity { kind: &'static str, name: String },
    #[error("{kind} {name} already exists")]
    EntityExists { kind: &'static str, name: String },
    /// Deleting something still in use (a policy attached, a group with members).
    #[error("{0}")]
    DeleteConflict(String),
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A stored secret that does not open with this server's secret: refused, never guessed.
    #[error("the secret key of {0} does not open with this server's secret")]
    Sealed(String),
    #[error("IAM record {key} is damaged: {reason}")]
    Damaged { key: String, reason: String },
    #[error("no randomness: {0}")]
    Random(String),
    #[error("the transaction conflicted {0} times in a row")]
    Contended(u32),
    #[error("commit outcome unknown: {0}")]
    Unknown(MetaError),
}

impl Retryable for IamError {
    fn is_conflict(&self) -> bool {
        matches!(self, IamError::Meta(MetaError::TxnConflict))
    }
}

impl From<TxnError<IamError>> for IamError {
    fn from(e: TxnError<IamError>) -> Self {
        match e {
            TxnError::Aborted(e) => e,
            TxnError::Conflict(n) => IamError::Contended(n),
            TxnError::Failed(e) => IamError::Meta(e),
            TxnError::Unknown(e) => IamError::Unknown(e),
        }
    }
}
