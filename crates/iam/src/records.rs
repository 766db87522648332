//! The records of [`Table::Iam`] (JSON: few, small, readable with `psql`) and their keys:
//! `user/AK`, `group/NAME`, `policy/NAME`, `svcacct/AK`, `role/NAME`. Secrets are sealed
//! ([`crate::seal`]). Fields added after the first release carry `#[serde(default)]`, so older
//! records read unchanged.

use std::collections::BTreeMap;

use rustfs_meta::{ScanStep, Table, Txn};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::IamError;

pub const TABLE: Table = Table::Iam;
pub const USER: &str = "user/";
pub const GROUP: &str = "group/";
pub const POLICY: &str = "policy/";
pub const SVCACCT: &str = "svcacct/";
pub const ROLE: &str = "role/";

/// A user that is an account of its own (the root user, the users of `--users-file`): it owns
/// what it creates and is shown with this identity, instead of acting in the root account
/// with its policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Canonical user id (what S3 shows as owner and grantee).
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
    /// The root user (never removed or changed through the APIs).
    #[serde(default)]
    pub root: bool,
    /// An IAM account (RGW's account root): the users, groups and roles it makes through IAM
    /// are its own, named by ARNs with its id, and act in it; otherwise they are the root
    /// account's.
    #[serde(default)]
    pub iam_account: bool,
}

pub fn key(prefix: &str, name: &str) -> Vec<u8> {
    [prefix.as_bytes(), name.as_bytes()].concat()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub access_key: String,
    pub sealed_secret: String,
    pub status: Status,
    /// Attached managed or canned policies, sorted.
    pub policies: Vec<String>,
    /// Groups it is a member of, sorted (kept with the groups' member lists, in the same
    /// transactions).
    pub groups: Vec<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Inline policies by name (IAM's PutUserPolicy).
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    /// Set for the root user and the users file's users (see [`AccountInfo`]).
    #[serde(default)]
    pub account: Option<AccountInfo>,
    /// IAM's path (`/` unless given).
    #[serde(default = "root_path")]
    pub path: String,
    /// IAM's UserId, made when the user is created (a user made again under the same name
    /// gets another); empty in older records.
    #[serde(default)]
    pub id: String,
    /// The account it belongs to (the access key of a users-file account that made it through
    /// IAM); `None`: the root account.
    #[serde(default)]
    pub owner: Option<String>,
}

fn root_path() -> String {
    "/".to_string()
}

impl UserRecord {
    /// Whether the user signs with its own key pair (a user made by IAM's CreateUser has
    /// none: it signs with its access keys).
    pub fn has_key(&self) -> bool {
        !self.sealed_secret.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub name: String,
    /// Member access keys, sorted.
    pub members: Vec<String>,
    pub status: Status,
    pub policies: Vec<String>,
    pub updated_ms: i64,
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    #[serde(default = "root_path")]
    pub path: String,
    /// IAM's GroupId, made when the group is created; empty in older records.
    #[serde(default)]
    pub id: String,
    /// The account it belongs to (see [`UserRecord::owner`]).
    #[serde(default)]
    pub owner: Option<String>,
}

/// A role (IAM's CreateRole): whom it trusts to assume it, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRecord {
    pub name: String,
    pub path: String,
    /// Stable id (IAM's RoleId, `AROA...`).
    pub id: String,
    /// The trust policy: who may call `sts:AssumeRole` on it.
    pub trust_policy: String,
    pub description: Option<String>,
    pub max_session_secs: u32,
    pub policies: Vec<String>,
    pub inline: BTreeMap<String, String>,
    pub created_ms: i64,
    /// The account it belongs to (see [`UserRecord::owner`]).
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    /// The IAM policy JSON as given.
    pub document: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountRecord {
    pub access_key: String,
    pub sealed_secret: String,
    /// The user whose rights it has at most.
    pub parent: String,
    /// An inline policy that narrows the parent's rights (never widens them).
    pub policy: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// When it stops working (milliseconds since the epoch).
    pub expires_ms: Option<i64>,
    pub status: Status,
    pub created_ms: i64,
    /// An access key of an IAM user (CreateAccessKey): the user's own rights, listed by
    /// ListAccessKeys; otherwise a MinIO service account.
    #[serde(default)]
    pub user_key: bool,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers: serializing cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, IamError> {
    serde_json::from_slice(bytes).map_err(|e| IamError::Damaged {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

pub(crate) async fn get<T: DeserializeOwned>(
    t: &mut (dyn Txn + '_),
    prefix: &str,
    name: &str,
) -> Result<Option<T>, IamError> {
    let k = key(prefix, name);
    match t.get(TABLE, &k).await? {
        Some(v) => Ok(Some(decode(&k, &v)?)),
        None => Ok(None),
    }
}

/// The key of the change counter: raised by every transaction that changes an identity, so
/// a node learns with one small read whether anything changed since it last looked.
pub const VERSION_KEY: &[u8] = b"version";

/// The change counter as read in `t` (0 before the first change).
pub(crate) async fn version(t: &mut (dyn Txn + '_)) -> Result<u64, IamError> {
    Ok(match t.get(TABLE, VERSION_KEY).await? {
        Some(v) => <[u8; 8]>::try_from(v.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| IamError::Damaged {
                key: "version".into(),
                reason: "not 8 bytes".into(),
            })?,
        None => 0,
    })
}

/// Raises the change counter in `t` (every identity change calls it in its transaction).
pub(crate) async fn bump(t: &mut (dyn Txn + '_)) -> Result<(), IamError> {
    let next = version(t).await? + 1;
    t.put(TABLE, VERSION_KEY.to_vec(), next.to_be_bytes().to_vec());
    Ok(())
}

pub(crate) fn put<T: Serialize>(t: &mut (dyn Txn + '_), prefix: &str, name: &str, value: &T) {
    t.put(TABLE, key(prefix, name), encode(value));
}

/// Up to `max` records under `prefix` whose name sorts after `after`.
pub(crate) async fn list<T: DeserializeOwned>(
    t: &mut (dyn Txn + '_),
    prefix: &str,
    after: &str,
    max: usize,
) -> Result<Vec<T>, IamError> {
    let start = if after.is_empty() {
        prefix.as_bytes().to_vec()
    } else {
        let mut k = key(prefix, after);
        k.push(0);
        k
    };
    let end = rustfs_meta::keys::prefix_successor(prefix.as_bytes());
    let mut raw = Vec::new();
    t.scan(TABLE, &start, &end, &mut |k, v| {
        raw.push((k.to_vec(), v.to_vec()));
        if raw.len() >= max {
            ScanStep::Stop
        } else {
            ScanStep::Next
        }
    })
    .await?;
    raw.iter().map(|(k, v)| decode(k, v)).collect()
}
