//! Traffic between the nodes of a RustFS cluster. Every internode request carries the time,
//! a random nonce and an HMAC-SHA256 over them, its method and its path and query, keyed with
//! the cluster secret (`RUSTFS_CLUSTER_SECRET`, shared by every node and never an S3 key), so
//! no S3 user can make one and a captured mutation cannot be replayed ([`auth`]).
//!
//! - [`service`]: the shard service a node serves on its S3 port under `/rustfs/internode/v1/`.
//! - [`client`]: other nodes' volumes as `rustfs_data::RemoteVolume`s.
//! - [`frames`]: the framed, block-checksummed body of a shard upload.
//!
//! Shard bytes keep the data file format's per-block checksums end to end: checked by the
//! receiving node before a block is written, and by the reading node on arrival.

pub mod auth;
pub mod client;
pub mod frames;
pub mod service;

pub use auth::{AuthError, ReplayGuard, Signer};
pub use client::{NodeLink, RemoteShardVolume, http_client, tls_config};
pub use service::ShardService;
