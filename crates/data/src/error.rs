//! Errors of the data layer.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A volume directory cannot be used (missing, not a directory, not writable).
    #[error("volume {path}: {reason}")]
    Volume { path: PathBuf, reason: String },
    /// Stored bytes failed their checksum or the file is malformed: never served.
    #[error("corrupt data file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// The data file is gone (deleted by a concurrent overwrite, or lost).
    #[error("data file {0} not found")]
    NotFound(PathBuf),
    /// The volume (or the file being written on it) has no room: the filesystem answered
    /// `ENOSPC`/`EDQUOT`, or the write would have used the free-space reserve kept for metadata
    /// commits. The volume is full, not failed: it stays online for reads and deletes.
    #[error("no space left for this write on {}", .0.display())]
    NoSpace(PathBuf),
    /// Too few volumes are online to write with the required redundancy.
    #[error("only {available} volumes can take this write; {needed} are needed")]
    Quorum { needed: usize, available: usize },
    /// More shards are missing or damaged than parity can rebuild: never served.
    #[error("data {id} cannot be read: {reason}")]
    Unrecoverable { id: String, reason: String },
    /// The erasure coder refused its input (a bug or impossible layout).
    #[error("erasure coding failed: {0}")]
    Erasure(String),
    /// Another node's volume did not answer as it should (unreachable, timed out, refused).
    #[error("remote volume {volume}: {reason}")]
    Remote { volume: String, reason: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DataError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound(path.to_path_buf())
        } else if crate::space::is_no_space(&source) {
            DataError::NoSpace(path.to_path_buf())
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
    pub(crate) fn corrupt(path: &std::path::Path, reason: impl Into<String>) -> Self {
        DataError::Corrupt {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
