//! Identities kept in the metadata store through the [`rustfs_meta::TxnStore`] trait, so every
//! backend (and every node of a cluster sharing one database) has the same ones:
//!
//! - users: access key, secret key, status, attached policies, groups;
//! - groups: members, status, attached policies;
//! - managed policies: IAM policy JSON by name, besides MinIO's canned ones ([`canned`]);
//! - service accounts: own keys under a parent user, an optional inline policy that can only
//!   narrow the parent's, an optional expiry.
//!
//! Every change is one serializable transaction that reads what it decides from (a group's
//! members and each member's record, a policy and everything attached to it), so concurrent
//! changes never leave a member in a deleted group or a deleted policy attached.
//!
//! Secret keys are sealed at rest ([`seal`]): AES-256-GCM under a key derived with HKDF-SHA256
//! from the server secret, bound to the access key. It knows nothing of requests or of how
//! policies are evaluated (the caller validates a policy document before storing it).

pub mod canned;
pub mod error;
pub mod records;
pub mod seal;
pub mod store;

pub use error::IamError;
pub use records::{GroupRecord, PolicyRecord, ServiceAccountRecord, Status, UserRecord};
pub use seal::Sealer;
pub use store::{Credential, CredentialKind, Iam, ServiceAccountSpec};
