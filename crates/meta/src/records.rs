//! Records kept in the metadata store. Each value is one format-version byte followed by a
//! MessagePack map with named fields (see `docs/format.md`), so fields can be added without
//! rewriting old records.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::MetaError;

/// Version byte that prefixes every record.
pub const RECORD_VERSION: u8 = 1;

/// Encodes a record: version byte, then the named-field MessagePack body.
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    // Serializing plain structs of strings, integers and byte buffers into a Vec cannot fail.
    rmp_serde::encode::write_named(&mut out, record).expect("record serialization is infallible");
    out
}

/// Decodes a record written by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MetaError> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, body)) => {
            rmp_serde::from_slice(body).map_err(|e| MetaError::Corrupt(e.to_string()))
        }
        Some((v, _)) => Err(MetaError::Corrupt(format!("unknown record version {v}"))),
        None => Err(MetaError::Corrupt("empty record".into())),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRecord {
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Canonical user id of the owner (records written before user ids: the access key).
    pub owner: String,
    pub region: String,
    /// Bucket tags (PutBucketTagging), sorted by key; `None` when no tag set is configured.
    #[serde(default)]
    pub tags: Option<Vec<(String, String)>>,
    /// CORS rules (PutBucketCors), in the order given; `None` when not configured.
    #[serde(default)]
    pub cors: Option<Vec<CorsRule>>,
    /// The bucket's ACL; `None` is the default (owner `FULL_CONTROL`).
    #[serde(default)]
    pub acl: Option<Vec<Grant>>,
    /// Object ownership controls; `None` when none were set.
    #[serde(default)]
    pub object_ownership: Option<ObjectOwnership>,
    /// The bucket policy document (PutBucketPolicy), verbatim; `None` when none is set.
    #[serde(default)]
    pub policy: Option<String>,
    /// The policy was set with `x-amz-confirm-remove-self-bucket-access`: its Deny statements
    /// bind the owner even for Get/Put/DeleteBucketPolicy.
    #[serde(default)]
    pub policy_locks_owner: bool,
    /// The public access block (PutPublicAccessBlock); `None` when none is set.
    #[serde(default)]
    pub public_access_block: Option<PublicAccessBlock>,
    /// Versioning state (PutBucketVersioning); `None` for a bucket never versioned, which it
    /// can never become again once set.
    #[serde(default)]
    pub versioning: Option<Versioning>,
    /// Object lock (WORM): `Some` once enabled (at creation, or on a versioned bucket by
    /// PutObjectLockConfiguration), which it can never stop being; versioning then stays
    /// enabled. Holds the default retention new versions get.
    #[serde(default)]
    pub object_lock: Option<ObjectLockConfig>,
    /// Default encryption of new objects (PutBucketEncryption); `None` when not configured.
    #[serde(default)]
    pub encryption: Option<BucketEncryption>,
    /// Lifecycle rules (PutBucketLifecycleConfiguration); `None` when not configured.
    #[serde(default)]
    pub lifecycle: Option<Vec<crate::LifecycleRule>>,
}

/// A lock-enabled bucket's object lock configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLockConfig {
    /// The retention a new version gets when its request sets none; `None`: none.
    #[serde(default)]
    pub default_retention: Option<DefaultRetention>,
}

/// A bucket's default retention: a mode and a period counted from each version's creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    pub mode: RetentionMode,
    pub period: RetentionPeriod,
}

/// A default retention period, as S3 gives it: days or years (never both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionPeriod {
    Days(u32),
    Years(u32),
}

/// The two object lock retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionMode {
    /// Shortened or removed only by a caller allowed `s3:BypassGovernanceRetention` who asks
    /// to bypass it.
    Governance,
    /// Never shortened or removed by anyone until it passes; only extended.
    Compliance,
}

impl RetentionMode {
    /// The mode as S3 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }

    /// The mode S3 spells `s` (exactly: S3 refuses other cases).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GOVERNANCE" => Some(Self::Governance),
            "COMPLIANCE" => Some(Self::Compliance),
            _ => None,
        }
    }
}

/// One version's retention: its mode and the time until which it is retained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: RetentionMode,
    /// Milliseconds since the Unix epoch.
    pub retain_until_ms: i64,
}

/// Who holds the key an object's data key is sealed under (see `docs/encryption.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SseMode {
    /// SSE-S3 (`AES256`): the server's SSE-S3 master key.
    S3,
    /// SSE-KMS (`aws:kms`): a named key of the built-in KMS.
    Kms,
    /// SSE-C: the customer's key, given on every request and never stored.
    Customer,
}

/// How an object's (or a multipart upload's) bytes are encrypted: the sealed data key and what
/// unseals it. The data key itself is never stored in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEncryption {
    pub mode: SseMode,
    /// SSE-KMS: the KMS key's name.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// SSE-KMS: the encryption context as JSON (bound into the sealing).
    #[serde(default)]
    pub context: Option<String>,
    /// Random 32 bytes that, with the master key, bucket and key, derive the sealing key.
    #[serde(with = "serde_bytes_vec")]
    pub iv: Vec<u8>,
    /// The 32-byte data key sealed with AES-256-GCM (48 bytes: ciphertext and tag).
    #[serde(with = "serde_bytes_vec")]
    pub sealed_key: Vec<u8>,
    /// SSE-C: HMAC-SHA256 of the customer key, keyed by the sealing salt (checks the key
    /// given before anything is unsealed; the key itself is never stored).
    #[serde(default, with = "serde_bytes_vec")]
    pub key_check: Vec<u8>,
}

/// A bucket's default encryption (PutBucketEncryption).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketEncryption {
    /// `S3` or `Kms` (SSE-C cannot be a default).
    pub mode: SseMode,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub bucket_key_enabled: bool,
}

/// Byte vectors as MessagePack binary (not arrays of integers).
mod serde_bytes_vec {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(V)
    }
}

/// A bucket's public access block settings, as S3 names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL.
    pub block_public_acls: bool,
    /// Grants to everyone or to all authenticated users are ignored.
    pub ignore_public_acls: bool,
    /// Refuse a public bucket policy.
    pub block_public_policy: bool,
    /// A public policy grants only the owner.
    pub restrict_public_buckets: bool,
}

/// A bucket's versioning state, as S3 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Versioning {
    /// Every write makes a new version with its own id.
    Enabled,
    /// New writes make the `null` version, replacing any previous `null` version.
    Suspended,
}

/// One CORS rule of a bucket, as PutBucketCors gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

/// Who an ACL grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grantee {
    /// A canonical user id.
    User(String),
    /// A predefined group, by URI (`http://acs.amazonaws.com/groups/global/AllUsers`, ...).
    Group(String),
}

/// The permissions an ACL grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

/// One ACL grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: Permission,
}

/// A bucket's object ownership setting (S3's `ObjectOwnership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectOwnership {
    BucketOwnerEnforced,
    BucketOwnerPreferred,
    ObjectWriter,
}

/// The checksum algorithms S3 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgorithm {
    pub const ALL: [ChecksumAlgorithm; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// Name as S3 spells it in `x-amz-checksum-algorithm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// Only the CRCs can be combined into a full-object checksum of a multipart upload.
    pub fn supports_full_object_combine(self) -> bool {
        matches!(self, Self::Crc32 | Self::Crc32c | Self::Crc64Nvme)
    }
}

/// How a multipart checksum relates to the object's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChecksumType {
    /// Checksum of the whole object's bytes.
    FullObject,
    /// Checksum of the concatenated binary part checksums, reported with a `-N` suffix.
    Composite,
}

impl ChecksumType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullObject => "FULL_OBJECT",
            Self::Composite => "COMPOSITE",
        }
    }
}

/// A stored checksum. `value` is base64 of the raw digest, without any `-N` suffix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecksumValue {
    pub algorithm: ChecksumAlgorithm,
    pub kind: ChecksumType,
    pub value: String,
}

/// Standard and user metadata stored with an object and returned on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    /// `Expires` as an HTTP date string.
    pub expires: Option<String>,
    /// `x-amz-meta-*` pairs, names lower-cased, sorted by name.
    pub user: Vec<(String, String)>,
}

/// Where a stored blob lives: a data-layer file, striped as `layout` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRef {
    /// 128-bit random id, 32 lower-case hex digits; also the file name.
    pub id: String,
    /// Logical (decoded) length in bytes.
    pub size: u64,
    /// Block size used to frame the file(s).
    pub block_size: u32,
    /// Data shards (1 without erasure coding).
    pub data_shards: u8,
    /// Parity shards (0 without erasure coding).
    pub parity_shards: u8,
    /// Volume index of each shard, in shard order.
    pub volumes: Vec<u16>,
}

/// The bytes of one segment: small ones in the metadata store's blob table (so listing never
/// reads object bytes), larger ones in the data layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Key of the bytes in [`crate::Table::Blobs`].
    Inline(String),
    Stored(DataRef),
}

impl Body {
    pub fn data_ref(&self) -> Option<&DataRef> {
        match self {
            Body::Inline(_) => None,
            Body::Stored(r) => Some(r),
        }
    }
}

/// A contiguous piece of an object: the whole body of a simple PUT, or one multipart part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub size: u64,
    /// Hex MD5 of the segment's bytes (the part ETag, unquoted).
    pub etag: String,
    /// Base64 checksum of the segment in the object's checksum algorithm, if any.
    pub checksum: Option<String>,
    pub body: Body,
}

/// One object (the current version of a key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Unique id of this write; names the data files so an overwrite never touches them.
    pub version_id: String,
    pub size: u64,
    /// ETag without quotes: hex MD5, or hex MD5-of-MD5s `-N` for multipart.
    pub etag: String,
    pub last_modified_ms: i64,
    pub owner: String,
    pub meta: ObjectMeta,
    pub checksum: Option<ChecksumValue>,
    /// True when made by CompleteMultipartUpload (then each segment is a part).
    pub multipart: bool,
    pub segments: Vec<Segment>,
    /// Object tags, sorted by key (PutObjectTagging, `x-amz-tagging`).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The object's ACL; `None` is the default (owner `FULL_CONTROL`).
    #[serde(default)]
    pub acl: Option<Vec<Grant>>,
    /// Time-ordered id given when the record was committed (32 hex digits, see
    /// [`crate::keys::version_order`]); `None` on records written before versioning.
    #[serde(default)]
    pub version: Option<String>,
    /// True when `version` is the S3 version id; false for the `null` version.
    #[serde(default)]
    pub versioned: bool,
    /// A delete marker: no body, and GET/HEAD of it answer as if the key were absent.
    #[serde(default)]
    pub delete_marker: bool,
    /// Object lock retention of this version (PutObjectRetention, the `x-amz-object-lock-*`
    /// headers, the bucket's default retention); `None`: none.
    #[serde(default)]
    pub retention: Option<Retention>,
    /// Object lock legal hold of this version (PutObjectLegalHold, the header).
    #[serde(default)]
    pub legal_hold: bool,
    /// A legal hold status (ON or OFF) was given for this version; until one is,
    /// GetObjectLegalHold answers `NoSuchObjectLockConfiguration`, as S3 does.
    #[serde(default)]
    pub legal_hold_set: bool,
    /// Server-side encryption of the bytes; `None` when stored in clear.
    #[serde(default)]
    pub encryption: Option<ObjectEncryption>,
}

impl ObjectRecord {
    /// The S3 version id; `None` is the `null` version.
    pub fn version_id(&self) -> Option<&str> {
        if self.versioned {
            self.version.as_deref()
        } else {
            None
        }
    }

    /// The S3 version id as a client sees it (`null` for the null version).
    pub fn version_label(&self) -> &str {
        self.version_id().unwrap_or("null")
    }

    /// Whether `id` (a version id or `null`) names this record.
    pub fn is_version(&self, id: &str) -> bool {
        self.version_label() == id
    }

    /// The id that orders this record among the versions of its key (newer is greater):
    /// its commit id, or for a record written before versioning one made from its time.
    pub fn order_id(&self) -> String {
        match &self.version {
            Some(v) => v.clone(),
            None => format!(
                "{:016x}{:016x}",
                (self.last_modified_ms.max(0) as u64) * 1000,
                0
            ),
        }
    }
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub initiated_ms: i64,
    pub owner: String,
    pub meta: ObjectMeta,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub checksum_type: Option<ChecksumType>,
    /// Tags given at creation, applied to the object at completion.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The ACL the completed object gets.
    #[serde(default)]
    pub acl: Option<Vec<Grant>>,
    /// Retention asked for at creation (`x-amz-object-lock-*`), given to the object at
    /// completion; `None`: the bucket's default retention then applies.
    #[serde(default)]
    pub retention: Option<Retention>,
    /// Legal hold status asked for at creation (`None`: none given), given to the object at
    /// completion.
    #[serde(default)]
    pub legal_hold: Option<bool>,
    /// The upload's encryption: every part is sealed under its data key.
    #[serde(default)]
    pub encryption: Option<ObjectEncryption>,
}

/// One uploaded part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub number: u32,
    pub last_modified_ms: i64,
    pub segment: Segment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_record_round_trips() {
        let rec = ObjectRecord {
            version_id: "v".into(),
            size: 3,
            etag: "abc".into(),
            last_modified_ms: 1_700_000_000_000,
            owner: "o".into(),
            meta: ObjectMeta {
                content_type: Some("text/plain".into()),
                user: vec![("a".into(), "b".into())],
                ..Default::default()
            },
            checksum: Some(ChecksumValue {
                algorithm: ChecksumAlgorithm::Crc32,
                kind: ChecksumType::FullObject,
                value: "AAAAAA==".into(),
            }),
            multipart: false,
            segments: vec![Segment {
                size: 3,
                etag: "abc".into(),
                checksum: None,
                body: Body::Inline("blob".into()),
            }],
            tags: vec![("k".into(), "v".into())],
            acl: Some(vec![Grant {
                grantee: Grantee::Group("g".into()),
                permission: Permission::Read,
            }]),
            version: Some("0".repeat(32)),
            versioned: true,
            delete_marker: false,
            retention: Some(Retention {
                mode: RetentionMode::Compliance,
                retain_until_ms: 5,
            }),
            legal_hold: true,
            legal_hold_set: true,
            encryption: Some(ObjectEncryption {
                mode: SseMode::Kms,
                kms_key_id: Some("k".into()),
                context: None,
                iv: vec![1; 32],
                sealed_key: vec![2; 48],
                key_check: Vec::new(),
            }),
        };
        let bytes = encode(&rec);
        assert_eq!(bytes[0], RECORD_VERSION);
        assert_eq!(decode::<ObjectRecord>(&bytes).unwrap(), rec);
    }

    #[test]
    fn records_written_before_tags_and_cors_still_decode() {
        #[derive(Serialize)]
        struct OldBucket {
            created_ms: i64,
            owner: String,
            region: String,
        }
        let old = OldBucket {
            created_ms: 5,
            owner: "o".into(),
            region: "r".into(),
        };
        let rec: BucketRecord = decode(&encode(&old)).unwrap();
        assert_eq!((rec.created_ms, rec.tags, rec.cors), (5, None, None));
    }

    #[test]
    fn unknown_version_is_corrupt() {
        let mut bytes = encode(&BucketRecord {
            created_ms: 1,
            owner: "o".into(),
            region: "r".into(),
            ..Default::default()
        });
        bytes[0] = 99;
        assert!(matches!(
            decode::<BucketRecord>(&bytes),
            Err(MetaError::Corrupt(_))
        ));
        assert!(matches!(
            decode::<BucketRecord>(&[]),
            Err(MetaError::Corrupt(_))
        ));
    }

    #[test]
    fn algorithm_names_parse_case_insensitively() {
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(
                ChecksumAlgorithm::parse(&a.as_str().to_lowercase()),
                Some(a)
            );
        }
        assert_eq!(ChecksumAlgorithm::parse("md5"), None);
    }
}
