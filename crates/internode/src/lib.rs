//! Traffic between the nodes of a RustFS cluster. Every internode request carries the time,
//! a random nonce and an HMAC-SHA256 over them, its method and its path and query, keyed with
//! the cluster secret (`RUSTFS_CLUSTER_SECRET`, shared by every node and never an S3 key), so
//! no S3 user can make one and a captured one cannot be replayed ([`auth`]). Shard bytes keep
//! the data file format's per-block checksums end to end; HTTPS, when nodes have certificates,
//! keeps them private.

pub mod auth;

pub use auth::{AuthError, ReplayGuard, Signer};
