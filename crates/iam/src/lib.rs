//! Identities kept in the metadata store through the [`rustfs_meta::TxnStore`] trait, so every
//! backend (and every node of a cluster sharing one database) has the same ones:
//!
//! - users: access key, secret key, status, attached policies, groups;
//! - groups: members, status, attached policies;
//! - managed policies: IAM policy JSON by name, besides MinIO's canned ones ([`canned`]);
//! - service accounts: own keys under a parent user, an optional inline policy that can only
//!   narrow the parent's, an optional expiry (IAM's access keys are service accounts without
//!   a policy, marked `user_key`);
//! - roles: a trust policy, attached and inline policies;
//! - inline policies of users, groups and roles.
//!
//! Every change is one serializable transaction that reads what it decides from (a group's
//! members and each member's record, a policy and everything attached to it), so concurrent
//! changes never leave a member in a deleted group or a deleted policy attached.
//!
//! Secret keys are sealed at rest ([`seal`]): AES-256-GCM under a key derived with HKDF-SHA256
//! from the server secret, bound to the access key. It knows nothing of requests or of how
//! policies are evaluated (the caller validates a policy document before storing it).

pub mod accounts;
pub mod aws_rules;
pub mod canned;
pub mod error;
pub mod inline;
pub mod records;
pub mod roles;
pub mod seal;
pub mod snapshot;
pub mod store;

pub use accounts::ServiceAccountUpdate;
pub use error::IamError;
pub use records::{
    AccountInfo, GroupRecord, PolicyRecord, RoleRecord, ServiceAccountRecord, Status, UserRecord,
};
pub use roles::RoleSpec;
pub use seal::Sealer;
pub use snapshot::Snapshot;
pub use store::{Credential, CredentialKind, Iam, ServiceAccountSpec};
