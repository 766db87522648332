//! Identities at run time: the keyring's snapshot built from the identity store ([`build`]),
//! temporary credentials ([`sts`]), and how a member's policies decide ([`evaluate`]).
//!
//! ARNs name identities of the root account with an empty account id, as MinIO and Ceph RGW
//! (without tenants) do: `arn:aws:iam:::user/NAME`, `arn:aws:iam:::role/NAME`,
//! `arn:aws:sts:::assumed-role/ROLE/SESSION`; those of another account (a users-file account
//! that made them through IAM) with its canonical id: `arn:aws:iam::ACCOUNT:user/NAME`.

pub mod build;
pub mod evaluate;
pub mod live;
pub mod sts;

pub use live::Identities;

use std::sync::Arc;

use rustfs_object::policy::Policy;

/// The account id ARNs name (see the module doc).
pub const ACCOUNT: &str = "";

pub fn user_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user{}{name}", norm_path(path))
}

pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{}{name}", norm_path(path))
}

pub fn group_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:group{}{name}", norm_path(path))
}

/// A managed policy's ARN (an AWS managed one's: `arn:aws:iam::aws:policy/NAME`).
pub fn policy_arn(name: &str) -> String {
    if rustfs_iam::canned::is_aws_managed(name) {
        return format!("arn:aws:iam::aws:policy/{name}");
    }
    format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
}

pub fn session_arn(account: &str, role: &str, session: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
}

/// `/` or `/a/b/`.
fn norm_path(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.to_string()
    }
}

/// A role as sessions use it.
#[derive(Debug, Clone)]
pub struct RoleGrants {
    pub name: String,
    /// The canonical id of the account it belongs to (its sessions act in it).
    pub account_id: String,
    /// The id ARNs show for that account (empty for the root account).
    pub arn_account: String,
    pub arn: String,
    pub id: String,
    /// Who may assume it (`None`: its trust policy does not parse, so nobody).
    pub trust: Option<Arc<Policy>>,
    pub policies: Vec<Arc<Policy>>,
    pub max_session_secs: u32,
}
