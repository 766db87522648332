//! Errors of the object layer: S3 semantics, no HTTP. The S3 edge maps each to a code and status.

use rustfs_data::DataError;
use rustfs_meta::MetaError;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("the specified bucket does not exist")]
    NoSuchBucket,
    #[error("the bucket already exists and is owned by you")]
    BucketAlreadyOwnedByYou,
    #[error("the bucket name is taken by another account")]
    BucketAlreadyExists,
    #[error("the bucket is not empty")]
    BucketNotEmpty,
    #[error("invalid bucket name: {0}")]
    InvalidBucketName(String),
    #[error("the specified key does not exist")]
    NoSuchKey,
    #[error("the specified version does not exist")]
    NoSuchVersion,
    #[error("invalid version id")]
    InvalidVersionId,
    /// The version read is a delete marker: the key's current one (`addressed` false: the key
    /// reads as absent) or one named by its version id (`addressed` true: not readable).
    #[error("the version is a delete marker")]
    DeleteMarker {
        version_id: String,
        addressed: bool,
        last_modified_ms: i64,
    },
    #[error("the key is longer than 1024 bytes")]
    KeyTooLong,
    #[error("invalid object key: {0}")]
    InvalidKey(String),
    #[error("the specified multipart upload does not exist")]
    NoSuchUpload,
    #[error("invalid part: {0}")]
    InvalidPart(String),
    #[error("the list of parts was not in ascending order")]
    InvalidPartOrder,
    #[error("a part other than the last is smaller than the 5 MiB minimum")]
    EntityTooSmall,
    #[error("the body is larger than the 5 GiB a single PUT or part may carry")]
    EntityTooLarge,
    #[error("the requested part number is not valid")]
    InvalidPartNumber,
    #[error("the completion request lists no parts")]
    NoParts,
    #[error("the requested range is not satisfiable")]
    InvalidRange { size: u64 },
    #[error("a precondition failed")]
    PreconditionFailed,
    #[error("not modified")]
    NotModified,
    #[error("the Content-MD5 does not match the body")]
    BadDigest,
    #[error("the Content-MD5 is not valid base64 of 16 bytes")]
    InvalidDigest,
    #[error("the {algorithm} checksum does not match the body")]
    ChecksumMismatch { algorithm: &'static str },
    #[error("invalid checksum: {0}")]
    InvalidChecksum(String),
    #[error("invalid tag: {0}")]
    InvalidTag(String),
    #[error("the tag set does not exist")]
    NoSuchTagSet,
    #[error("the CORS configuration does not exist")]
    NoSuchCorsConfiguration,
    #[error("the lifecycle configuration does not exist")]
    NoSuchLifecycleConfiguration,
    #[error("invalid storage class: {0}")]
    InvalidStorageClass(String),
    #[error("malformed bucket policy: {0}")]
    MalformedPolicy(String),
    #[error("the bucket has no policy")]
    NoSuchBucketPolicy,
    #[error("the bucket has no public access block configuration")]
    NoSuchPublicAccessBlockConfiguration,
    #[error("malformed configuration: {0}")]
    MalformedXml(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// SSE-KMS names a key the KMS does not have (empty: no default key).
    #[error("KMS key not found: {0}")]
    KmsKeyNotFound(String),
    /// The SSE-C key given is not the object's (or the upload's).
    #[error("the customer-provided key does not match the object's")]
    SseCustomerKeyMismatch,
    /// A managed key no longer opens an object's data key (its master key changed or is gone).
    #[error("the object's data key cannot be unsealed with the configured master key")]
    SealedKeyUnreadable,
    #[error("the bucket has no server-side encryption configuration")]
    NoSuchEncryptionConfiguration,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("access denied")]
    AccessDenied,
    /// Object lock refuses to remove the version or to change its retention.
    #[error("the version is protected by object lock: {0:?}")]
    ObjectLocked(crate::retention::LockRefusal),
    /// An object lock operation or header on a bucket without object lock.
    #[error("the bucket does not have object lock enabled")]
    ObjectLockNotEnabled,
    /// GetObjectLockConfiguration of a bucket without object lock.
    #[error("the bucket has no object lock configuration")]
    ObjectLockConfigurationNotFound,
    /// GetObjectRetention of a version without retention.
    #[error("the version has no retention")]
    NoSuchObjectLockConfiguration,
    /// The bucket's state forbids the change (object lock and versioning).
    #[error("{0}")]
    InvalidBucketState(&'static str),
    /// A default retention period out of S3's range.
    #[error(
        "the default retention period must be a positive number of days or years, at most 100 years"
    )]
    InvalidRetentionPeriod,
    #[error("the bucket does not allow ACLs (its object ownership is BucketOwnerEnforced)")]
    AclNotSupported,
    #[error("BucketOwnerEnforced cannot be combined with an ACL that grants others")]
    InvalidBucketAclWithObjectOwnership,
    #[error("the bucket has no ownership controls")]
    OwnershipControlsNotFound,
    #[error("the request body ended before its declared length")]
    IncompleteBody,
    #[error("reading the request body failed: {0}")]
    Body(String),
    #[error("too many concurrent changes to the same key; retry")]
    Contended,
    /// The write needs room that a volume does not have (its filesystem is full, or the write
    /// would use the free-space reserve kept for metadata commits). Not retryable until space
    /// is freed; the volume itself is fine.
    #[error("no space left: {0}")]
    NoSpace(String),
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// A metadata commit whose outcome is unknown (the database connection broke during the
    /// commit, a quorum write reached only some replicas): it may have applied. Whatever it
    /// references is kept; a later read tells.
    #[error("metadata commit outcome unknown: {0}")]
    CommitUnknown(MetaError),
    /// Any data-layer error except "no space", which becomes [`ObjectError::NoSpace`].
    #[error(transparent)]
    Data(DataError),
    #[error("internal task failed: {0}")]
    Task(String),
}

impl From<DataError> for ObjectError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NoSpace(_) => ObjectError::NoSpace(e.to_string()),
            e => ObjectError::Data(e),
        }
    }
}

impl From<tokio::task::JoinError> for ObjectError {
    fn from(e: tokio::task::JoinError) -> Self {
        ObjectError::Task(e.to_string())
    }
}

impl ObjectError {
    /// A metadata commit failed in a way that leaves its outcome unknown (it may have applied):
    /// the files it references must be kept; the orphan sweep reclaims them if the commit did
    /// not land.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ObjectError::CommitUnknown(_))
    }

    /// Too few volumes or metadata replicas are online for the request, or the metadata
    /// database cannot be reached: retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            ObjectError::Meta(MetaError::Quorum { .. } | MetaError::Unavailable(_))
                | ObjectError::Data(DataError::Quorum { .. })
        )
    }
}

pub type Result<T, E = ObjectError> = std::result::Result<T, E>;
