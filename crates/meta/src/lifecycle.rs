//! Lifecycle configuration as the bucket record keeps it (PutBucketLifecycleConfiguration),
//! validated by `rustfs-object`'s `lifecycle` module before it is stored.

use serde::{Deserialize, Serialize};

/// One lifecycle rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// The rule id (given, or generated when the request had none); unique in the bucket.
    pub id: String,
    /// `Status` was `Enabled`.
    pub enabled: bool,
    /// Which objects the rule applies to.
    #[serde(default)]
    pub filter: LifecycleFilter,
    /// The rule was given with the legacy top-level `Prefix` (no `Filter`): GET answers it so.
    #[serde(default)]
    pub legacy_prefix: bool,
    /// `Expiration` of current versions.
    #[serde(default)]
    pub expiration: Option<LifecycleExpiration>,
    /// `NoncurrentVersionExpiration`.
    #[serde(default)]
    pub noncurrent: Option<NoncurrentExpiration>,
    /// `AbortIncompleteMultipartUpload`: days after initiation.
    #[serde(default)]
    pub abort_upload_days: Option<u32>,
}

/// The objects a rule selects: all of the conditions hold (an empty filter selects all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleFilter {
    #[serde(default)]
    pub prefix: String,
    /// Tags the object must carry (each key with that value).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub size_greater_than: Option<u64>,
    #[serde(default)]
    pub size_less_than: Option<u64>,
    /// The filter was given with `And` (GET answers it so).
    #[serde(default)]
    pub and: bool,
}

/// `Expiration`: one of `days`, `date` or `expired_object_delete_marker`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleExpiration {
    #[serde(default)]
    pub days: Option<u32>,
    /// Midnight UTC, seconds since the Unix epoch.
    #[serde(default)]
    pub date_secs: Option<i64>,
    /// Remove a delete marker that has no versions left behind it.
    #[serde(default)]
    pub expired_object_delete_marker: bool,
}

/// `NoncurrentVersionExpiration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    pub noncurrent_days: u32,
    /// Keep this many newest noncurrent versions whatever their age.
    #[serde(default)]
    pub newer_noncurrent_versions: Option<u32>,
}
