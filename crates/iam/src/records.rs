//! The records of [`Table::Iam`] (JSON: few, small, readable with `psql`) and their keys:
//! `user/AK`, `group/NAME`, `policy/NAME`, `svcacct/AK`. Secrets are sealed ([`crate::seal`]).

use rustfs_meta::{ScanStep, Table, Txn};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::IamError;

pub const TABLE: Table = Table::Iam;
pub const USER: &str = "user/";
pub const GROUP: &str = "group/";
pub const POLICY: &str = "policy/";
pub const SVCACCT: &str = "svcacct/";

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub name: String,
    /// Member access keys, sorted.
    pub members: Vec<String>,
    pub status: Status,
    pub policies: Vec<String>,
    pub updated_ms: i64,
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
