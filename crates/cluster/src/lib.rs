//! A RustFS cluster's control plane, kept in the metadata store through the
//! [`rustfs_meta::TxnStore`] trait only, so it works on every backend (in practice a
//! PostgreSQL-wire database that every node shares; the embedded store for tests and a
//! one-node "cluster"). The database is the only commit point and the only membership record:
//! no consensus, locks, gossip or leader election of our own. Whatever two nodes could decide
//! differently is decided by one serializable transaction that reads what it decides from.
//!
//! - [`identity`]: a node's id, kept on its volumes.
//! - [`membership`]: a node registers its address and volumes (volume ids allocated in the
//!   same transaction), writes a heartbeat every second, and watches everyone's.
//! - [`layout`]: the stored, versioned layout (pools of erasure sets of volume ids); the first
//!   pool is formed once the expected number of nodes registered, by whichever commits first.
//! - [`sets`]: how volumes grouped by node become erasure sets (node first, drive second).
//! - [`placement`]: which set a new object's shards go to.
//! - [`deferred`]: deletions of data files on volumes that were offline, kept until done.
//!
//! Records are JSON in [`rustfs_meta::Table::Cluster`] ([`records`]); it knows nothing of S3,
//! objects or how shards travel between nodes.

pub mod deferred;
pub mod error;
pub mod identity;
pub mod layout;
pub mod membership;
pub mod placement;
pub mod records;
pub mod sets;

pub use error::ClusterError;
pub use records::{LayoutRecord, NodeRecord, Pool, SetSpec, VolumeEntry};
